/* Signed checkpoints: the site key's COSE_Sign1 over the tree root, with
 * {size, head, time} in its protected header, laid out as an RFC 9942 receipt
 * signature so that receipts reuse it; stored beside the chain (never in it),
 * checked by verify. */
#include <string.h>

#include "ledger/merkle.h"
#include "store_int.h"

int ledger__site_of(ledger *l, MDB_txn *txn, uint8_t kid[KEYS_KID_BYTES],
                    uint8_t pub[KEYS_PUB_BYTES])
{
    uint8_t kb[8];
    MDB_val k = {sizeof(kb), kb}, v;
    ledger_entry e;
    const uint8_t *p;
    size_t n;
    ledger__u64be(kb, 0);
    int rc = mdb_get(txn, l->entries, &k, &v);
    if (rc == MDB_NOTFOUND) {
        ledger__errf(l->err, sizeof(l->err), "ledger has no genesis entry");
        return LEDGER_ENOTINIT;
    }
    if ((rc = ledger__mdb_err(l, rc, "cannot read the genesis entry")) != 0)
        return rc;
    if ((rc = ledger_entry_decode(&e, v.mv_data, v.mv_size, NULL, 0)) != 0 ||
        ledger_entry_get_bytes(&e, "site_pub", &p, &n) != 0 || n != KEYS_PUB_BYTES) {
        ledger__errf(l->err, sizeof(l->err), "the genesis entry is damaged");
        return LEDGER_EENCODING;
    }
    memcpy(kid, e.kid, KEYS_KID_BYTES);
    memcpy(pub, p, KEYS_PUB_BYTES);
    return 0;
}

/* The protected header of a signed tree head (checkpoint and receipts share it):
 * {1: -8, 4: kid, 15: {"head", "size", "time"}, 395: 1}, keys in canonical order. */
static void tree_head_protected(ledger__buf *out, const ledger_checkpoint *cp)
{
    static const char *const claim[] = {"head", "size", "time", "export"};
    ledger__cbor_map(out, 4);
    ledger__cbor_uint(out, 1); /* alg */
    ledger__cbor_int(out, LEDGER__ALG_EDDSA);
    ledger__cbor_uint(out, 4); /* kid */
    ledger__cbor_bytes(out, cp->site, KEYS_KID_BYTES);
    ledger__cbor_uint(out, LEDGER__HDR_CWT_CLAIMS);
    ledger__cbor_map(out, cp->has_export ? 4 : 3);
    ledger__cbor_text(out, claim[0], 4);
    ledger__cbor_bytes(out, cp->head, LEDGER_HASH_BYTES);
    ledger__cbor_text(out, claim[1], 4);
    ledger__cbor_uint(out, cp->size);
    ledger__cbor_text(out, claim[2], 4);
    ledger__cbor_uint(out, (uint64_t)cp->time_ms);
    if (cp->has_export) { /* a longer key: sorts last */
        ledger__cbor_text(out, claim[3], 6);
        ledger__cbor_bytes(out, cp->export_hash, LEDGER_HASH_BYTES);
    }
    ledger__cbor_uint(out, LEDGER__HDR_VDS);
    ledger__cbor_uint(out, LEDGER__VDS_RFC9162_SHA256);
}

int ledger__tree_head_sign(ledger__buf *out, const keys_key *site_key, const ledger_checkpoint *cp)
{
    uint8_t sig[KEYS_SIG_BYTES];
    ledger__buf prot, tbs;
    int rc;
    ledger__buf_init(&prot, LEDGER_CHECKPOINT_MAX);
    ledger__buf_init(&tbs, 2 * LEDGER_CHECKPOINT_MAX);
    tree_head_protected(&prot, cp);
    ledger__sig_structure(&tbs, prot.p, prot.len, cp->root, LEDGER_HASH_BYTES);
    if ((rc = prot.err != 0 ? prot.err : tbs.err) == 0 &&
        (rc = keys_sign(site_key, sig, tbs.p, tbs.len)) == 0) {
        ledger__cbor_tag(out, LEDGER__COSE_TAG);
        ledger__cbor_array(out, 4);
        ledger__cbor_bytes(out, prot.p, prot.len);
        ledger__cbor_map(out, 0);
        ledger__cbor_bytes(out, cp->root, LEDGER_HASH_BYTES); /* attached in a checkpoint */
        ledger__cbor_bytes(out, sig, sizeof(sig));
        rc = out->err;
    }
    ledger__buf_release(&prot);
    ledger__buf_release(&tbs);
    return rc;
}

int ledger__checkpoint_sign(ledger *l, const keys_key *site_key, uint8_t *out, size_t cap,
                            size_t *outlen, ledger_checkpoint *cp)
{
    MDB_txn *txn = NULL;
    ledger__head h;
    ledger__buf cose;
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES], site_pub[KEYS_PUB_BYTES];
    int rc;
    ledger__buf_init(&cose, LEDGER_CHECKPOINT_MAX);
    memset(cp, 0, sizeof(*cp));
    if ((rc = ledger__read_txn(l, &txn)) != 0)
        goto done;
    if ((rc = ledger__head_read(l, txn, &h)) != 0 ||
        (rc = ledger__site_of(l, txn, cp->site, site_pub)) != 0)
        goto done;
    ledger__end_read(l, txn);
    txn = NULL;
    keys_key_pub(site_key, pub);
    keys_kid(kid, pub);
    if (!keys_equal(kid, cp->site, KEYS_KID_BYTES)) {
        ledger__errf(l->err, sizeof(l->err), "only the site key signs checkpoints");
        rc = LEDGER_EROLE;
        goto done;
    }
    cp->size = h.count;
    memcpy(cp->head, h.hash, LEDGER_HASH_BYTES);
    cp->time_ms = ledger__now_ms();
    if ((rc = ledger_merkle_root(l, cp->size, cp->root)) != 0 ||
        (rc = ledger__tree_head_sign(&cose, site_key, cp)) != 0)
        goto done;
    if (cose.len > cap) {
        rc = LEDGER_ETOOBIG;
        goto done;
    }
    memcpy(out, cose.p, cose.len);
    *outlen = cose.len;
done:
    if (txn != NULL)
        ledger__end_read(l, txn);
    ledger__buf_release(&cose);
    return rc;
}

int ledger__checkpoint_store(ledger *l, const uint8_t *cose, size_t len,
                             const ledger_checkpoint *cp)
{
    /* Stored beside the chain: a checkpoint is a statement about it, not an entry. */
    MDB_txn *txn = NULL;
    uint8_t kb[16];
    MDB_val k = {sizeof(kb), kb}, v = {len, (void *)(uintptr_t)cose};
    int rc;
    ledger__u64be(kb, cp->size);
    ledger__u64be(kb + 8, (uint64_t)cp->time_ms);
    if ((rc = ledger__mdb_err(l, mdb_txn_begin(l->env, NULL, 0, &txn), "cannot begin")) != 0)
        return rc;
    if ((rc = ledger__mdb_err(l, mdb_put(txn, l->checkpoints, &k, &v, 0),
                              "cannot store the checkpoint")) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return ledger__mdb_err(l, mdb_txn_commit(txn), "cannot store the checkpoint");
}

int ledger_checkpoint_make(ledger *l, const keys_key *site_key, uint8_t *out, size_t cap,
                           size_t *outlen, ledger_checkpoint *cp)
{
    int rc = ledger__checkpoint_sign(l, site_key, out, cap, outlen, cp);
    if (rc == 0 && (rc = ledger__checkpoint_store(l, out, *outlen, cp)) != 0)
        *outlen = 0;
    return rc;
}

static int want_item(ledger__rd *r, ledger__cbitem *it, ledger__cbkind kind, uint64_t u,
                     const char *what)
{
    if (ledger__rd_next(r, it) != 0 || it->kind != kind ||
        ((kind == LEDGER__CB_UINT || kind == LEDGER__CB_NINT || kind == LEDGER__CB_MAP ||
          kind == LEDGER__CB_ARRAY || kind == LEDGER__CB_TAG) &&
         u != UINT64_MAX && it->u != u))
        return ledger__rd_fail(r, what);
    return 0;
}

static int want_text(ledger__rd *r, const char *key, const char *what)
{
    ledger__cbitem it;
    if (ledger__rd_next(r, &it) != 0 || it.kind != LEDGER__CB_TEXT || it.n != strlen(key) ||
        memcmp(it.p, key, it.n) != 0)
        return ledger__rd_fail(r, what);
    return 0;
}

/* The protected header: exactly alg, kid, the three claims, vds. */
static int tree_head_claims(const uint8_t *p, size_t n, ledger_checkpoint *cp, char *why,
                            size_t whylen)
{
    ledger__rd r;
    ledger__cbitem it;
    const char *bad =
        "protected header is not {1: -8, 4: kid, 15: {head, size, time, ? export}, 395: 1}";
    ledger__rd_init(&r, p, n, why, whylen);
    if (want_item(&r, &it, LEDGER__CB_MAP, 4, bad) || want_item(&r, &it, LEDGER__CB_UINT, 1, bad) ||
        want_item(&r, &it, LEDGER__CB_NINT, (uint64_t)(-1 - LEDGER__ALG_EDDSA), bad) ||
        want_item(&r, &it, LEDGER__CB_UINT, 4, bad) ||
        want_item(&r, &it, LEDGER__CB_BYTES, 0, bad) || it.n != KEYS_KID_BYTES)
        return ledger__rd_fail(&r, bad);
    memcpy(cp->site, it.p, KEYS_KID_BYTES);
    if (want_item(&r, &it, LEDGER__CB_UINT, LEDGER__HDR_CWT_CLAIMS, bad) ||
        want_item(&r, &it, LEDGER__CB_MAP, UINT64_MAX, bad) || it.u < 3 || it.u > 4)
        return ledger__rd_fail(&r, bad);
    cp->has_export = it.u == 4;
    if (want_text(&r, "head", bad) || want_item(&r, &it, LEDGER__CB_BYTES, 0, bad) ||
        it.n != LEDGER_HASH_BYTES)
        return ledger__rd_fail(&r, bad);
    memcpy(cp->head, it.p, LEDGER_HASH_BYTES);
    if (want_text(&r, "size", bad) || want_item(&r, &it, LEDGER__CB_UINT, UINT64_MAX, bad) ||
        it.u == 0)
        return ledger__rd_fail(&r, "checkpoint size must be at least 1");
    cp->size = it.u;
    if (want_text(&r, "time", bad) || want_item(&r, &it, LEDGER__CB_UINT, UINT64_MAX, bad) ||
        it.u > (uint64_t)INT64_MAX)
        return ledger__rd_fail(&r, bad);
    cp->time_ms = (int64_t)it.u;
    if (cp->has_export) {
        if (want_text(&r, "export", bad) || want_item(&r, &it, LEDGER__CB_BYTES, 0, bad) ||
            it.n != LEDGER_HASH_BYTES)
            return ledger__rd_fail(&r, bad);
        memcpy(cp->export_hash, it.p, LEDGER_HASH_BYTES);
    }
    if (want_item(&r, &it, LEDGER__CB_UINT, LEDGER__HDR_VDS, bad) ||
        want_item(&r, &it, LEDGER__CB_UINT, LEDGER__VDS_RFC9162_SHA256, bad))
        return ledger__rd_fail(&r, bad);
    if (r.off != r.len)
        return ledger__rd_fail(&r, "trailing bytes in the protected header");
    return 0;
}

int ledger__tree_head_open(ledger__sth *out, const uint8_t *p, size_t n, char *why, size_t whylen)
{
    ledger__rd r;
    ledger__cbitem it;
    size_t start;
    int rc;
    memset(out, 0, sizeof(*out));
    if (n > LEDGER_RECEIPT_MAX) {
        ledger__errf(why, whylen, "larger than %d bytes", LEDGER_RECEIPT_MAX);
        return LEDGER_EENCODING;
    }
    ledger__rd_init(&r, p, n, why, whylen);
    if (want_item(&r, &it, LEDGER__CB_TAG, LEDGER__COSE_TAG, "not a tagged COSE_Sign1 (tag 18)") ||
        want_item(&r, &it, LEDGER__CB_ARRAY, 4, "COSE_Sign1 must be an array of 4") ||
        want_item(&r, &it, LEDGER__CB_BYTES, 0, "protected header is not a byte string"))
        return LEDGER_EENCODING;
    out->prot = it.p;
    out->protlen = it.n;
    /* the unprotected header: any canonical map; its meaning is the caller's */
    if ((rc = ledger__rd_value(&r, 0, &start)) != 0)
        return rc;
    if (p[start] < 0xa0 || p[start] > 0xbb)
        return ledger__rd_fail(&r, "unprotected header is not a map");
    out->unprot = p + start;
    out->unprotlen = r.off - start;
    if (ledger__rd_next(&r, &it) != 0)
        return LEDGER_EENCODING;
    if (it.kind == LEDGER__CB_BYTES && it.n == LEDGER_HASH_BYTES) {
        out->attached = true;
        memcpy(out->cp.root, it.p, LEDGER_HASH_BYTES);
    } else if (it.kind != LEDGER__CB_NULL) {
        return ledger__rd_fail(&r, "payload is neither a 32-byte root nor nil (detached)");
    }
    if (want_item(&r, &it, LEDGER__CB_BYTES, 0, "signature is not a byte string") ||
        it.n != KEYS_SIG_BYTES)
        return ledger__rd_fail(&r, "signature is not 64 bytes");
    out->sig = it.p;
    if (r.off != r.len)
        return ledger__rd_fail(&r, "trailing bytes after COSE_Sign1");
    char sub[LEDGER_ERRMSG_MAX] = "";
    if ((rc = tree_head_claims(out->prot, out->protlen, &out->cp, sub, sizeof(sub))) != 0)
        ledger__errf(why, whylen, "%s", sub);
    return rc;
}

int ledger__tree_head_verify(const ledger__sth *sth, const uint8_t root[LEDGER_HASH_BYTES],
                             const uint8_t site_pub[KEYS_PUB_BYTES], char *why, size_t whylen)
{
    uint8_t want[KEYS_KID_BYTES];
    ledger__buf tbs;
    int rc;
    keys_kid(want, site_pub);
    if (!keys_equal(sth->cp.site, want, KEYS_KID_BYTES)) {
        ledger__errf(why, whylen, "not signed by the site key (kid differs)");
        return LEDGER_EVERIFY;
    }
    ledger__buf_init(&tbs, 2 * LEDGER_CHECKPOINT_MAX);
    ledger__sig_structure(&tbs, sth->prot, sth->protlen, root, LEDGER_HASH_BYTES);
    rc = tbs.err != 0 ? tbs.err : keys_verify(site_pub, sth->sig, tbs.p, tbs.len);
    ledger__buf_release(&tbs);
    if (rc != 0) {
        ledger__errf(why, whylen,
                     "the site key's signature over the tree of size %llu does not "
                     "verify",
                     (unsigned long long)sth->cp.size);
        return LEDGER_EVERIFY;
    }
    return 0;
}

int ledger_checkpoint_decode(ledger_checkpoint *out, const uint8_t *p, size_t n,
                             const uint8_t site_pub[KEYS_PUB_BYTES], char *why, size_t whylen)
{
    ledger__sth sth;
    char sub[LEDGER_ERRMSG_MAX] = "";
    int rc;
    memset(out, 0, sizeof(*out));
    if (n > LEDGER_CHECKPOINT_MAX) {
        ledger__errf(why, whylen, "checkpoint larger than %d bytes", LEDGER_CHECKPOINT_MAX);
        return LEDGER_EENCODING;
    }
    if ((rc = ledger__tree_head_open(&sth, p, n, sub, sizeof(sub))) != 0) {
        ledger__errf(why, whylen, "not a checkpoint: %s", sub);
        return rc;
    }
    if (!sth.attached || sth.unprotlen != 1) {
        ledger__errf(why, whylen, "not a checkpoint: a checkpoint carries its root and no proofs");
        return LEDGER_EENCODING;
    }
    if ((rc = ledger__tree_head_verify(&sth, sth.cp.root, site_pub, sub, sizeof(sub))) != 0) {
        ledger__errf(why, whylen, "checkpoint %s", sub);
        return rc;
    }
    *out = sth.cp;
    return 0;
}

int ledger_checkpoint_each(ledger *l, ledger_checkpoint_fn fn, void *ud)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t kid[KEYS_KID_BYTES], pub[KEYS_PUB_BYTES];
    char why[LEDGER_ERRMSG_MAX];
    int rc = ledger__read_txn(l, &txn), mrc;
    if (rc != 0)
        goto done;
    if ((rc = ledger__site_of(l, txn, kid, pub)) != 0)
        goto done;
    if ((rc = ledger__mdb_err(l, mdb_cursor_open(txn, l->checkpoints, &cur),
                              "cannot read checkpoints")) != 0)
        goto done;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ledger_checkpoint cp;
        if ((rc = ledger_checkpoint_decode(&cp, v.mv_data, v.mv_size, pub, why, sizeof(why))) !=
            0) {
            ledger__errf(l->err, sizeof(l->err), "stored checkpoint: %s", why);
            goto done;
        }
        if (fn(v.mv_data, v.mv_size, &cp, ud) != 0)
            break;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = ledger__mdb_err(l, mrc, "cannot read checkpoints");
done:
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        ledger__end_read(l, txn);
    return rc;
}

int ledger_checkpoint_get(ledger *l, uint64_t size, uint8_t *out, size_t cap, size_t *outlen,
                          ledger_checkpoint *cp)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t kid[KEYS_KID_BYTES], pub[KEYS_PUB_BYTES];
    char why[LEDGER_ERRMSG_MAX];
    bool found = false;
    int rc = ledger__read_txn(l, &txn), mrc;
    if (rc != 0)
        goto done;
    if ((rc = ledger__site_of(l, txn, kid, pub)) != 0 ||
        (rc = ledger__mdb_err(l, mdb_cursor_open(txn, l->checkpoints, &cur),
                              "cannot read checkpoints")) != 0)
        goto done;
    /* keys are size || time, big-endian: the last match is the latest */
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        if (k.mv_size != 16 || (size != 0 && ledger__get_u64be(k.mv_data) != size))
            continue;
        if ((rc = ledger_checkpoint_decode(cp, v.mv_data, v.mv_size, pub, why, sizeof(why))) != 0) {
            ledger__errf(l->err, sizeof(l->err), "stored checkpoint: %s", why);
            goto done;
        }
        if (v.mv_size > cap) {
            rc = LEDGER_ETOOBIG;
            goto done;
        }
        memcpy(out, v.mv_data, v.mv_size);
        *outlen = v.mv_size;
        found = true;
        break;
    }
    if (!found) {
        if (size == 0)
            ledger__errf(l->err, sizeof(l->err),
                         "no checkpoint yet: make one with "
                         "'rxledger checkpoint --key SITE.key'");
        else
            ledger__errf(l->err, sizeof(l->err), "no checkpoint of size %llu",
                         (unsigned long long)size);
        rc = LEDGER_ENOTFOUND;
    }
done:
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        ledger__end_read(l, txn);
    return rc;
}
