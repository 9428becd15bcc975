/* Receipts (RFC 9942): a stored checkpoint's protected header and signature
 * with an RFC 9162 proof in the unprotected header and the root detached, so
 * one site signature per checkpoint serves every proof at that size. */
#include <stdlib.h>
#include <string.h>

#include "ledger/merkle.h"
#include "store_int.h"

/* The unprotected header: {396: {label: [bstr .cbor proof]}, -65537: site pub}. */
static void receipt_unprotected(ledger__buf *out, int64_t label, const ledger__buf *proof,
                                const uint8_t pub[KEYS_PUB_BYTES])
{
    ledger__cbor_map(out, 2);
    ledger__cbor_uint(out, LEDGER__HDR_VDP);
    ledger__cbor_map(out, 1);
    ledger__cbor_int(out, label);
    ledger__cbor_array(out, 1);
    ledger__cbor_bytes(out, proof->p, proof->len);
    ledger__cbor_int(out, LEDGER__HDR_SITE_PUB);
    ledger__cbor_bytes(out, pub, KEYS_PUB_BYTES);
}

typedef int (*path_fn)(ledger *l, uint64_t a, uint64_t b, uint8_t path[][LEDGER_HASH_BYTES],
                       size_t *npath);

static int build(ledger *l, int64_t label, uint64_t a, uint64_t size, path_fn pf, uint8_t *out,
                 size_t cap, size_t *outlen, ledger_checkpoint *cp)
{
    uint8_t cpb[LEDGER_CHECKPOINT_MAX], kid[KEYS_KID_BYTES], pub[KEYS_PUB_BYTES];
    uint8_t path[LEDGER_PROOF_MAX][LEDGER_HASH_BYTES];
    size_t cpn = 0, npath = 0;
    ledger__sth sth;
    ledger__buf proof, rc_buf;
    MDB_txn *txn = NULL;
    char why[LEDGER_ERRMSG_MAX];
    int rc;
    if ((rc = ledger_checkpoint_get(l, size, cpb, sizeof(cpb), &cpn, cp)) != 0)
        return rc;
    if (label == -1 ? a >= cp->size : (a == 0 || a > cp->size)) {
        ledger__errf(
            l->err, sizeof(l->err), "%s %llu is out of range for the checkpoint of size %llu",
            label == -1 ? "seq" : "old size", (unsigned long long)a, (unsigned long long)cp->size);
        return LEDGER_EINVAL;
    }
    if ((rc = ledger__read_txn(l, &txn)) != 0)
        return rc;
    rc = ledger__site_of(l, txn, kid, pub);
    ledger__end_read(l, txn);
    if (rc != 0 || (rc = pf(l, a, cp->size, path, &npath)) != 0)
        return rc;
    if ((rc = ledger__tree_head_open(&sth, cpb, cpn, why, sizeof(why))) != 0) {
        ledger__errf(l->err, sizeof(l->err), "stored checkpoint: %s", why);
        return rc;
    }
    ledger__buf_init(&proof, LEDGER_RECEIPT_MAX);
    ledger__buf_init(&rc_buf, LEDGER_RECEIPT_MAX);
    ledger__cbor_array(&proof, 3);
    if (label == -1) { /* [tree-size, leaf-index, path] */
        ledger__cbor_uint(&proof, cp->size);
        ledger__cbor_uint(&proof, a);
    } else { /* [tree-size-1, tree-size-2, path] */
        ledger__cbor_uint(&proof, a);
        ledger__cbor_uint(&proof, cp->size);
    }
    ledger__cbor_array(&proof, npath);
    for (size_t i = 0; i < npath; i++)
        ledger__cbor_bytes(&proof, path[i], LEDGER_HASH_BYTES);
    ledger__cbor_tag(&rc_buf, LEDGER__COSE_TAG);
    ledger__cbor_array(&rc_buf, 4);
    ledger__cbor_bytes(&rc_buf, sth.prot, sth.protlen);
    receipt_unprotected(&rc_buf, label, &proof, pub);
    ledger__buf_put(&rc_buf, (const uint8_t[]){0xf6}, 1); /* payload: nil (detached root) */
    ledger__cbor_bytes(&rc_buf, sth.sig, KEYS_SIG_BYTES);
    rc = proof.err != 0 ? proof.err : rc_buf.err;
    if (rc == 0 && rc_buf.len > cap)
        rc = LEDGER_ETOOBIG;
    if (rc == 0) {
        memcpy(out, rc_buf.p, rc_buf.len);
        *outlen = rc_buf.len;
    }
    ledger__buf_release(&proof);
    ledger__buf_release(&rc_buf);
    return rc;
}

static int incl_path(ledger *l, uint64_t a, uint64_t size, uint8_t path[][LEDGER_HASH_BYTES],
                     size_t *npath)
{
    return ledger_merkle_inclusion(l, a, size, path, npath);
}

static int cons_path(ledger *l, uint64_t a, uint64_t size, uint8_t path[][LEDGER_HASH_BYTES],
                     size_t *npath)
{
    return ledger_merkle_consistency(l, a, size, path, npath);
}

int ledger_receipt_inclusion(ledger *l, uint64_t seq, uint64_t size, uint8_t *out, size_t cap,
                             size_t *outlen, ledger_checkpoint *cp)
{
    return build(l, -1, seq, size, incl_path, out, cap, outlen, cp);
}

int ledger_receipt_consistency(ledger *l, uint64_t old, uint64_t size, uint8_t *out, size_t cap,
                               size_t *outlen, ledger_checkpoint *cp)
{
    return build(l, -2, old, size, cons_path, out, cap, outlen, cp);
}

/* ---- verification ---- */

typedef struct proof {
    int64_t label; /* -1 inclusion, -2 consistency */
    uint64_t a, b; /* as encoded: [size, index] or [size1, size2] */
    uint8_t path[LEDGER_PROOF_MAX][LEDGER_HASH_BYTES];
    size_t npath;
    uint8_t pub[KEYS_PUB_BYTES];
} proof;

static int bad(ledger__rd *r, const char *what)
{
    return ledger__rd_fail(r, what);
}

static int parse_proof(const uint8_t *p, size_t n, proof *pr, char *why, size_t whylen)
{
    ledger__rd r;
    ledger__cbitem it, a, b;
    int rc;
    ledger__rd_init(&r, p, n, why, whylen);
    if ((rc = ledger__rd_value(&r, 0, NULL)) != 0)
        return rc; /* canonical, well-formed */
    if (r.off != r.len)
        return bad(&r, "trailing bytes after the proof");
    ledger__rd_init(&r, p, n, why, whylen);
    if (ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_ARRAY || it.u != 3 ||
        ledger__rd_next(&r, &a) != 0 || a.kind != LEDGER__CB_UINT || ledger__rd_next(&r, &b) != 0 ||
        b.kind != LEDGER__CB_UINT || ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_ARRAY ||
        it.u > LEDGER_PROOF_MAX)
        return bad(&r, "proof is not [uint, uint, [* bstr .size 32]] of at most 64 hashes");
    pr->a = a.u;
    pr->b = b.u;
    pr->npath = (size_t)it.u;
    for (size_t i = 0; i < pr->npath; i++) {
        if (ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_BYTES ||
            it.n != LEDGER_HASH_BYTES)
            return bad(&r, "a proof hash is not 32 bytes");
        memcpy(pr->path[i], it.p, LEDGER_HASH_BYTES);
    }
    return 0;
}

/* {396: {-1 or -2: [bstr]}, -65537: bstr .size 32}, nothing else. */
static int parse_unprotected(const uint8_t *p, size_t n, proof *pr, char *why, size_t whylen)
{
    ledger__rd r;
    ledger__cbitem it;
    const char *shape = "unprotected header is not {396: {-1 or -2: [proof]}, -65537: site key}";
    ledger__rd_init(&r, p, n, why, whylen);
    if (ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_MAP || it.u != 2 ||
        ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_UINT || it.u != LEDGER__HDR_VDP ||
        ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_MAP || it.u != 1 ||
        ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_NINT || it.u > 1)
        return bad(&r, shape);
    pr->label = -1 - (int64_t)it.u;
    if (ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_ARRAY || it.u != 1 ||
        ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_BYTES)
        return bad(&r, "a receipt carries exactly one proof");
    char sub[LEDGER_ERRMSG_MAX] = "";
    if (parse_proof(it.p, it.n, pr, sub, sizeof(sub)) != 0) {
        ledger__errf(why, whylen, "%s", sub);
        return LEDGER_EENCODING;
    }
    if (ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_NINT ||
        it.u != (uint64_t)(-1 - LEDGER__HDR_SITE_PUB) || ledger__rd_next(&r, &it) != 0 ||
        it.kind != LEDGER__CB_BYTES || it.n != KEYS_PUB_BYTES)
        return bad(&r, shape);
    memcpy(pr->pub, it.p, KEYS_PUB_BYTES);
    if (r.off != r.len)
        return bad(&r, shape);
    return 0;
}

int ledger_receipt_verify(const uint8_t *receipt, size_t rlen, const uint8_t *subject, size_t slen,
                          const uint8_t fpr[KEYS_FPR_BYTES], ledger_receipt_info *out, char *why,
                          size_t whylen)
{
    ledger__sth sth;
    proof *pr = NULL;
    uint8_t got[KEYS_FPR_BYTES], root[LEDGER_HASH_BYTES];
    char sub[LEDGER_ERRMSG_MAX] = "";
    int rc;
    memset(out, 0, sizeof(*out));
    if ((rc = ledger__tree_head_open(&sth, receipt, rlen, sub, sizeof(sub))) != 0) {
        ledger__errf(why, whylen, "not a receipt: %s", sub);
        return rc;
    }
    if (sth.attached) {
        ledger__errf(why, whylen, "not a receipt: the payload (root) must be detached (nil)");
        return LEDGER_EENCODING;
    }
    if ((pr = calloc(1, sizeof(*pr))) == NULL)
        return LEDGER_ENOMEM;
    if ((rc = parse_unprotected(sth.unprot, sth.unprotlen, pr, sub, sizeof(sub))) != 0) {
        ledger__errf(why, whylen, "not a receipt: %s", sub);
        goto done;
    }
    rc = LEDGER_EVERIFY;
    keys_fingerprint(got, pr->pub);
    if (!keys_equal(got, fpr, KEYS_FPR_BYTES)) {
        ledger__errf(why, whylen, "the receipt's site key does not have the trusted fingerprint");
        goto done;
    }
    out->cp = sth.cp;
    if (pr->label == -1) {
        ledger_entry e;
        uint8_t leaf[LEDGER_HASH_BYTES];
        out->kind = LEDGER_RECEIPT_INCLUSION;
        out->index = pr->b;
        if (pr->a != sth.cp.size) {
            ledger__errf(why, whylen, "proof is for size %llu but the signed tree has %llu",
                         (unsigned long long)pr->a, (unsigned long long)sth.cp.size);
            goto done;
        }
        if (ledger_entry_decode(&e, subject, slen, sub, sizeof(sub)) != 0) {
            ledger__errf(why, whylen, "the entry file is not an entry: %s", sub);
            goto done;
        }
        if (e.seq != pr->b) {
            ledger__errf(why, whylen, "the entry is seq %llu but the proof is for leaf %llu",
                         (unsigned long long)e.seq, (unsigned long long)pr->b);
            goto done;
        }
        if (ledger__leaf_hash(leaf, subject, slen) != 0 ||
            ledger_merkle_inclusion_root(leaf, pr->b, pr->a,
                                         (const uint8_t(*)[LEDGER_HASH_BYTES])pr->path, pr->npath,
                                         root) != 0) {
            ledger__errf(why, whylen, "the inclusion path does not fit leaf %llu of %llu",
                         (unsigned long long)pr->b, (unsigned long long)pr->a);
            goto done;
        }
    } else {
        out->kind = LEDGER_RECEIPT_CONSISTENCY;
        out->index = pr->a;
        if (pr->b != sth.cp.size) {
            ledger__errf(why, whylen, "proof is for size %llu but the signed tree has %llu",
                         (unsigned long long)pr->b, (unsigned long long)sth.cp.size);
            goto done;
        }
        if (ledger_checkpoint_decode(&out->old, subject, slen, pr->pub, sub, sizeof(sub)) != 0) {
            ledger__errf(why, whylen, "the earlier checkpoint: %s", sub);
            goto done;
        }
        if (out->old.size != pr->a) {
            ledger__errf(why, whylen,
                         "the proof starts at size %llu but the earlier checkpoint has %llu",
                         (unsigned long long)pr->a, (unsigned long long)out->old.size);
            goto done;
        }
        if (ledger_merkle_consistency_root(pr->a, pr->b, out->old.root,
                                           (const uint8_t(*)[LEDGER_HASH_BYTES])pr->path, pr->npath,
                                           root) != 0) {
            ledger__errf(why, whylen,
                         "the consistency path does not lead from the tree of size %llu",
                         (unsigned long long)pr->a);
            goto done;
        }
    }
    if ((rc = ledger__tree_head_verify(&sth, root, pr->pub, sub, sizeof(sub))) != 0) {
        ledger__errf(why, whylen, "%s", sub);
        goto done;
    }
    memcpy(out->cp.root, root, LEDGER_HASH_BYTES);
    rc = 0;
done:
    free(pr);
    return rc;
}
