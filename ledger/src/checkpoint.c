/* Signed checkpoints: the site key's COSE_Sign1 over {site, size, root, head,
 * time}, stored beside the chain (never in it), checked by verify. */
#include <string.h>

#include "ledger/merkle.h"
#include "store_int.h"

#define CHECKPOINT_VERSION 1

static int site_of(ledger *l, MDB_txn *txn, uint8_t kid[KEYS_KID_BYTES],
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

int ledger_checkpoint_make(ledger *l, const keys_key *site_key, uint8_t *out, size_t cap,
                           size_t *outlen, ledger_checkpoint *cp)
{
    MDB_txn *txn = NULL;
    ledger__head h;
    ledger_body *b = NULL;
    ledger__buf payload, cose;
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES], site_pub[KEYS_PUB_BYTES];
    int rc;
    ledger__buf_init(&payload, LEDGER_CHECKPOINT_MAX);
    ledger__buf_init(&cose, LEDGER_CHECKPOINT_MAX);
    memset(cp, 0, sizeof(*cp));
    if ((rc = ledger__read_txn(l, &txn)) != 0)
        goto done;
    if ((rc = ledger__head_read(l, txn, &h)) != 0 ||
        (rc = site_of(l, txn, cp->site, site_pub)) != 0)
        goto done;
    mdb_txn_abort(txn);
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
    if ((rc = ledger_merkle_root(l, cp->size, cp->root)) != 0)
        goto done;
    if ((rc = ledger_body_new(&b)) != 0 ||
        (rc = ledger_body_put_uint(b, "v", CHECKPOINT_VERSION)) != 0 ||
        (rc = ledger_body_put_bytes(b, "site", cp->site, KEYS_KID_BYTES)) != 0 ||
        (rc = ledger_body_put_uint(b, "size", cp->size)) != 0 ||
        (rc = ledger_body_put_bytes(b, "root", cp->root, LEDGER_HASH_BYTES)) != 0 ||
        (rc = ledger_body_put_bytes(b, "head", cp->head, LEDGER_HASH_BYTES)) != 0 ||
        (rc = ledger_body_put_uint(b, "time", (uint64_t)cp->time_ms)) != 0)
        goto done;
    ledger__body_encode(b, &payload);
    if ((rc = payload.err) != 0 ||
        (rc = ledger__entry_build(&cose, site_key, payload.p, payload.len)) != 0)
        goto done;
    if (cose.len > cap) {
        rc = LEDGER_ETOOBIG;
        goto done;
    }
    /* Stored beside the chain: a checkpoint is a statement about it, not an entry. */
    uint8_t kb[16];
    MDB_val k = {sizeof(kb), kb}, v = {cose.len, cose.p};
    ledger__u64be(kb, cp->size);
    ledger__u64be(kb + 8, (uint64_t)cp->time_ms);
    if ((rc = ledger__mdb_err(l, mdb_txn_begin(l->env, NULL, 0, &txn), "cannot begin")) != 0)
        goto done;
    if ((rc = ledger__mdb_err(l, mdb_put(txn, l->checkpoints, &k, &v, 0),
                              "cannot store the checkpoint")) != 0)
        goto done;
    rc = ledger__mdb_err(l, mdb_txn_commit(txn), "cannot store the checkpoint");
    txn = NULL;
    if (rc == 0) {
        memcpy(out, cose.p, cose.len);
        *outlen = cose.len;
    }
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    ledger_body_free(b);
    ledger__buf_release(&payload);
    ledger__buf_release(&cose);
    return rc;
}

static int field(const uint8_t *map, size_t n, const char *key, ledger__cbkind kind, size_t len,
                 ledger__cbitem *it)
{
    if (ledger__map_find(map, n, key, it, NULL, NULL) != 0 || it->kind != kind ||
        (kind == LEDGER__CB_BYTES && it->n != len))
        return LEDGER_EENCODING;
    return 0;
}

int ledger_checkpoint_decode(ledger_checkpoint *out, const uint8_t *p, size_t n,
                             const uint8_t site_pub[KEYS_PUB_BYTES], char *why, size_t whylen)
{
    const uint8_t *prot, *payload, *sig;
    size_t protlen, plen;
    uint8_t kid[KEYS_KID_BYTES], want[KEYS_KID_BYTES];
    ledger__rd r;
    ledger__cbitem it, v, s, z, ro, h, t;
    ledger__buf tbs;
    int rc;
    memset(out, 0, sizeof(*out));
    if (n > LEDGER_CHECKPOINT_MAX) {
        ledger__errf(why, whylen, "checkpoint larger than %d bytes", LEDGER_CHECKPOINT_MAX);
        return LEDGER_EENCODING;
    }
    if ((rc = ledger__cose_open(p, n, &prot, &protlen, &payload, &plen, &sig, kid, why, whylen)) !=
        0)
        return rc;
    /* canonical, a map, exactly the six fields */
    ledger__rd_init(&r, payload, plen, why, whylen);
    if ((rc = ledger__rd_value(&r, 0, NULL)) != 0)
        return rc;
    ledger__rd_init(&r, payload, plen, NULL, 0);
    if (r.len == 0 || ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_MAP || it.u != 6 ||
        field(payload, plen, "v", LEDGER__CB_UINT, 0, &v) != 0 || v.u != CHECKPOINT_VERSION ||
        field(payload, plen, "site", LEDGER__CB_BYTES, KEYS_KID_BYTES, &s) != 0 ||
        field(payload, plen, "size", LEDGER__CB_UINT, 0, &z) != 0 ||
        field(payload, plen, "root", LEDGER__CB_BYTES, LEDGER_HASH_BYTES, &ro) != 0 ||
        field(payload, plen, "head", LEDGER__CB_BYTES, LEDGER_HASH_BYTES, &h) != 0 ||
        field(payload, plen, "time", LEDGER__CB_UINT, 0, &t) != 0 || t.u > (uint64_t)INT64_MAX ||
        z.u == 0) {
        ledger__errf(why, whylen, "not a version 1 checkpoint");
        return LEDGER_EENCODING;
    }
    keys_kid(want, site_pub);
    if (!keys_equal(kid, want, KEYS_KID_BYTES) || !keys_equal(s.p, want, KEYS_KID_BYTES)) {
        ledger__errf(why, whylen, "checkpoint is not signed by the site key");
        return LEDGER_EVERIFY;
    }
    ledger__buf_init(&tbs, LEDGER_CHECKPOINT_MAX + 64);
    ledger__sig_structure(&tbs, prot, protlen, payload, plen);
    rc = tbs.err != 0 ? tbs.err : keys_verify(site_pub, sig, tbs.p, tbs.len);
    ledger__buf_release(&tbs);
    if (rc != 0) {
        ledger__errf(why, whylen, "checkpoint signature does not verify");
        return LEDGER_EVERIFY;
    }
    memcpy(out->site, s.p, KEYS_KID_BYTES);
    out->size = z.u;
    memcpy(out->root, ro.p, LEDGER_HASH_BYTES);
    memcpy(out->head, h.p, LEDGER_HASH_BYTES);
    out->time_ms = (int64_t)t.u;
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
    if ((rc = site_of(l, txn, kid, pub)) != 0)
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
        mdb_txn_abort(txn);
    return rc;
}
