/* Verification: walk the chain in one read transaction with flat memory
 * (the only state is the key table, which grows with enrolled people, not
 * with entries) and report the first bad entry with its reason. */
#include <stdlib.h>
#include <string.h>

#include "ledger/ident.h"
#include "ledger/merkle.h"
#include "store_int.h"

#define PROGRESS_EVERY 4096

static int finding(ledger_verify_result *out, uint64_t seq, const char *why)
{
    out->failed = true;
    out->bad_seq = seq;
    ledger__errf(out->reason, sizeof(out->reason), "%s", why);
    return LEDGER_EVERIFY;
}

/* Check one decoded entry against the chain state; apply its effect. */
typedef struct vstate {
    ledger *l;
    MDB_txn *txn;
    MDB_cursor *idx;                         /* over the derived index */
    uint64_t indexed;                        /* index records the chain implies */
    uint8_t frontier[64][LEDGER_HASH_BYTES]; /* left siblings still open, per level */
    ledger__sigpool *pool;                   /* signature checks; NULL: not checked */
    MDB_cursor *levels[64];                  /* per tree level, at the last node checked */
} vstate;

/* The stored node (level, index): the nodes of one level are checked in index
 * order, so each level keeps a cursor that steps to the next key instead of
 * searching the tree again. */
static int stored_node(vstate *vs, unsigned level, uint64_t index, uint8_t out[LEDGER_HASH_BYTES])
{
    MDB_cursor **c = &vs->levels[level];
    uint8_t kb[9];
    MDB_val k = {sizeof(kb), kb}, v;
    int mrc;
    kb[0] = (uint8_t)level;
    ledger__u64be(kb + 1, index);
    if (*c == NULL) {
        if ((mrc = mdb_cursor_open(vs->txn, vs->l->merkle, c)) != 0)
            return ledger__mdb_err(vs->l, mrc, "cannot read the Merkle tree");
        mrc = mdb_cursor_get(*c, &k, &v, MDB_SET_KEY);
    } else {
        mrc = mdb_cursor_get(*c, &k, &v, MDB_NEXT);
        if (mrc == 0 && (k.mv_size != sizeof(kb) || memcmp(k.mv_data, kb, sizeof(kb)) != 0))
            mrc = MDB_NOTFOUND;
    }
    if (mrc == MDB_NOTFOUND || (mrc == 0 && v.mv_size != LEDGER_HASH_BYTES))
        return LEDGER_EENCODING;
    if (mrc != 0)
        return ledger__mdb_err(vs->l, mrc, "cannot read the Merkle tree");
    memcpy(out, v.mv_data, LEDGER_HASH_BYTES);
    return 0;
}

/* The perfect subtrees above a full batch: its root (the worker that read the
 * batch checked the nodes inside it) joined with the frontier of left
 * siblings still open, at most 64 hashes, so memory stays flat. */
static int merkle_up(vstate *vs, unsigned level, uint64_t index,
                     const uint8_t root[LEDGER_HASH_BYTES], char *why, size_t whylen)
{
    uint8_t node[LEDGER_HASH_BYTES], stored[LEDGER_HASH_BYTES];
    memcpy(node, root, LEDGER_HASH_BYTES);
    for (;;) {
        if ((index & 1) == 0) {
            memcpy(vs->frontier[level], node, LEDGER_HASH_BYTES);
            return 0;
        }
        ledger_merkle_node(node, vs->frontier[level], node);
        level++;
        index >>= 1;
        int rc = stored_node(vs, level, index, stored);
        if (rc != 0 && rc != LEDGER_EENCODING)
            return rc;
        if (rc != 0 || !keys_equal(stored, node, LEDGER_HASH_BYTES)) {
            ledger__errf(why, whylen, "Merkle tree node %u/%llu disagrees with the chain", level,
                         (unsigned long long)index);
            return LEDGER_EINVAL;
        }
    }
}

static int check_entry(vstate *vs, ledger__ktab *t, const ledger_entry *e, uint64_t expect,
                       const uint8_t *prev, const uint8_t *prev2, int64_t prev_rt, char *why,
                       size_t whylen)
{
    ledger__effect eff;
    /* the signature is queued for the pool; everything else is checked here, in order */
    int rc = ledger__chain_step(t, e, expect, prev, prev_rt, false, &eff, why, whylen);
    if (rc == 0 && vs->pool != NULL) {
        const ledger__vkey *signer = e->seq == 0 ? &t->v[0] : ledger__ktab_find(t, e->kid);
        const uint8_t *prot = NULL, *payload = NULL;
        size_t protlen = 0, plen = 0;
        if ((rc = ledger__entry_spans(e, &prot, &protlen, &payload, &plen)) == 0)
            rc = ledger__sigpool_add(vs->pool, signer->pub, e->sig, prot, protlen, payload, plen,
                                     e->seq);
    }
    if (rc != 0 || (eff.kind == LEDGER__EFF_ENROLL && e->seq != 0))
        return rc;
    /* The derived index must hold this entry's record. */
    uint8_t ik[33], iv[8];
    size_t ikn = 0;
    if ((rc = ledger__index_key(e, &eff, ik, &ikn)) < 0)
        return rc;
    if (rc == 1) {
        MDB_val k = {ikn, ik}, v = {sizeof(iv), iv};
        ledger__u64be(iv, e->seq);
        if (mdb_cursor_get(vs->idx, &k, &v, MDB_GET_BOTH) != 0) {
            ledger__errf(why, whylen, "the derived index lacks this entry");
            return LEDGER_EINVAL;
        }
        vs->indexed++;
    }
    if (eff.kind == LEDGER__EFF_REF) {
        /* An amendment or witness is bound to the exact bytes of the entry it
         * names: the hash of one of the two before it is at hand (a witness is
         * never further back), any other is read and hashed again. */
        uint8_t h[LEDGER_HASH_BYTES];
        const uint8_t *known = eff.ref + 1 == expect ? prev : eff.ref + 2 == expect ? prev2 : NULL;
        if (known != NULL) {
            memcpy(h, known, LEDGER_HASH_BYTES);
        } else {
            uint8_t kb[8];
            MDB_val k = {sizeof(kb), kb}, v;
            ledger__u64be(kb, eff.ref);
            if (mdb_get(vs->txn, vs->l->entries, &k, &v) != 0 ||
                ledger__leaf_hash(h, v.mv_data, v.mv_size) != 0)
                memset(h, 0, sizeof(h)); /* matches no real hash */
        }
        if (!keys_equal(h, eff.ref_hash, LEDGER_HASH_BYTES)) {
            ledger__errf(why, whylen, "ref-hash does not match entry %llu",
                         (unsigned long long)eff.ref);
            return LEDGER_EINVAL;
        }
    }
    return 0;
}

/* Check every queued signature; a bad one becomes the finding (lowest seq). */
static bool bad_signature(vstate *vs, ledger_verify_result *out)
{
    uint64_t bad;
    if (vs->pool == NULL || !ledger__sigpool_flush(vs->pool, &bad))
        return false;
    (void)finding(out, bad, "signature does not verify");
    out->cause = KEYS_EBADSIG;
    out->entries = bad; /* the good ones: those before it */
    return true;
}

static int snapshot_node(void *ud, unsigned level, uint64_t index, uint8_t out[LEDGER_HASH_BYTES])
{
    const vstate *vs = ud;
    return ledger__merkle_get(vs->l, vs->txn, level, index, out);
}

/* Every stored checkpoint: signed by the site key, and its root and head are
 * the chain's at its size (read in the same snapshot as the chain). */
static int check_checkpoints(vstate *vs, const ledger__ktab *t, uint64_t count,
                             ledger_verify_result *out)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    char why[LEDGER_ERRMSG_MAX], msg[LEDGER_ERRMSG_MAX];
    int rc = ledger__mdb_err(vs->l, mdb_cursor_open(vs->txn, vs->l->checkpoints, &cur),
                             "cannot read checkpoints"),
        mrc;
    if (rc != 0 || t->n == 0)
        goto done;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ledger_checkpoint cp;
        uint8_t root[LEDGER_HASH_BYTES], kb[8], head[LEDGER_HASH_BYTES];
        MDB_val ek = {sizeof(kb), kb}, ev;
        why[0] = '\0';
        if (ledger_checkpoint_decode(&cp, v.mv_data, v.mv_size, t->v[0].info.pub, why,
                                     sizeof(why)) != 0) {
            ledger__errf(msg, sizeof(msg), "a stored checkpoint is invalid: %s", why);
            rc = finding(out, count - 1, msg);
            break;
        }
        if (cp.size > count)
            continue; /* made after this snapshot: judged by the next verify */
        ledger__u64be(kb, cp.size - 1);
        if (ledger_merkle_root_of(snapshot_node, vs, cp.size, root) != 0 ||
            mdb_get(vs->txn, vs->l->entries, &ek, &ev) != 0 ||
            ledger__leaf_hash(head, ev.mv_data, ev.mv_size) != 0 ||
            !keys_equal(root, cp.root, LEDGER_HASH_BYTES) ||
            !keys_equal(head, cp.head, LEDGER_HASH_BYTES)) {
            ledger__errf(msg, sizeof(msg),
                         "the signed checkpoint of size %llu does not match the chain",
                         (unsigned long long)cp.size);
            rc = finding(out, cp.size - 1, msg);
        }
    }
done:
    if (cur != NULL)
        mdb_cursor_close(cur);
    return rc;
}

/* The key index must say exactly what the chain says. */
static int check_index(ledger *l, MDB_txn *txn, ledger__ktab *t, ledger_verify_result *out)
{
    MDB_stat st;
    char why[LEDGER_ERRMSG_MAX];
    int rc = ledger__mdb_err(l, mdb_stat(txn, l->keys, &st), "cannot read key index");
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t enrolled = 0, revoked = 0;
        const ledger_keyinfo *k = &t->v[i].info;
        rc = ledger__keyrec_get(l, txn, k->kid, &enrolled, &revoked);
        if (rc == LEDGER_ENOTFOUND ||
            (rc == 0 && (enrolled != k->enrolled_seq ||
                         revoked != (k->revoked ? k->revoked_seq : LEDGER__NO_SEQ)))) {
            ledger__errf(why, sizeof(why),
                         "key index disagrees with the chain for the key "
                         "enrolled at seq %llu",
                         (unsigned long long)k->enrolled_seq);
            return finding(out, k->enrolled_seq, why);
        }
        if (rc != 0)
            return rc;
    }
    if (st.ms_entries != t->n)
        return finding(out, out->entries, "key index holds keys the chain never enrolled");
    return 0;
}

int ledger_verify(ledger *l, unsigned flags, ledger_progress_fn progress, void *ud,
                  ledger_verify_result *out)
{
    MDB_txn *txn = NULL;
    ledger__ra *ra = NULL;
    ledger__ktab t = {NULL, 0, 0};
    static vstate vs_zero;
    vstate vs = vs_zero;
    vs.l = l;
    ledger__head h;
    uint8_t prev[LEDGER_HASH_BYTES] = {0}, prev2[LEDGER_HASH_BYTES] = {0};
    int64_t prev_rt = 0;
    uint64_t expect = 0;
    char why[LEDGER_ERRMSG_MAX];
    int rc;

    memset(out, 0, sizeof(*out));
    if ((flags & LEDGER_VERIFY_NO_SIGNATURES) == 0 && (rc = ledger__sigpool_new(&vs.pool)) != 0)
        goto done;
    if ((rc = ledger__read_txn(l, &txn)) != 0)
        goto done;
    vs.txn = txn;
    if ((rc = ledger__mdb_err(l, mdb_cursor_open(txn, l->index, &vs.idx), "cannot open index")) !=
        0)
        goto done;
    if ((rc = ledger__head_read(l, txn, &h)) != 0) {
        rc = finding(out, 0, l->err);
        goto done;
    }
    /* With signatures the cores check signatures: one reader is enough (more
     * only take the cores from the signature pool). */
    if ((rc = ledger__ra_open(&ra, l, txn, 0,
                              LEDGER__RA_HASH | LEDGER__RA_VERIFY |
                                  (vs.pool != NULL ? LEDGER__RA_LIGHT : 0),
                              LEDGER__HBATCH)) != 0)
        goto done;
    /* Batch k is checked in order while workers read the batches after it. */
    ledger__hbatch *b;
    while ((rc = ledger__ra_next(ra, &b)) == 0) {
        for (size_t i = 0; i < b->n; i++) {
            ledger_entry *e = &b->e[i];
            if (b->seq[i] == UINT64_MAX) {
                rc = finding(out, expect, "entry key is damaged");
                goto done;
            }
            if (b->seq[i] != expect) {
                ledger__errf(why, sizeof(why), "entry %llu is missing (next stored is %llu)",
                             (unsigned long long)expect, (unsigned long long)b->seq[i]);
                rc = finding(out, expect, why);
                goto done;
            }
            if ((rc = b->rc[i]) != 0) /* decode again for the reason */
                (void)ledger__entry_decode_hashed(e, b->span[i].p, b->span[i].n, b->leaf[i], why,
                                                  sizeof(why));
            if (rc == 0)
                rc = check_entry(&vs, &t, e, expect, prev, prev2, prev_rt, why, sizeof(why));
            if (rc == 0 && b->mfail && b->mfail_seq == expect) {
                ledger__errf(why, sizeof(why), "Merkle tree node %u/%llu disagrees with the chain",
                             b->mfail_level, (unsigned long long)b->mfail_index);
                rc = LEDGER_EINVAL;
            }
            if (rc == 0 && b->has_root && i == b->n - 1)
                rc = merkle_up(&vs, LEDGER__HBATCH_LEVELS, expect >> LEDGER__HBATCH_LEVELS, b->root,
                               why, sizeof(why));
            if (rc == LEDGER_ENOMEM)
                goto done;
            if (rc != 0) {
                int cause = rc;
                if (bad_signature(&vs, out)) {
                    rc =
                        LEDGER_EVERIFY; /* an earlier entry's signature failed: the first problem */
                    goto done;
                }
                rc = finding(out, expect, why);
                out->cause = cause;
                goto done;
            }
            memcpy(prev2, prev, LEDGER_HASH_BYTES);
            memcpy(prev, e->hash, LEDGER_HASH_BYTES);
            prev_rt = e->recorded_ms;
            expect++;
            out->entries = expect;
            memcpy(out->head, prev, LEDGER_HASH_BYTES);
            if (progress != NULL && expect % PROGRESS_EVERY == 0)
                progress(expect, h.count, ud);
        }
    }
    if (rc != 1)
        goto done;
    rc = 0;
    if (bad_signature(&vs, out)) {
        rc = LEDGER_EVERIFY;
        goto done;
    }
    if (progress != NULL)
        progress(expect, h.count, ud);
    if (expect == 0) {
        rc = finding(out, 0, "ledger is empty: no genesis entry");
        goto done;
    }
    if (h.count != expect) {
        ledger__errf(why, sizeof(why), "stored head records %llu entries but the chain has %llu",
                     (unsigned long long)h.count, (unsigned long long)expect);
        rc = finding(out, h.count > expect ? expect : h.count, why);
        goto done;
    }
    if (!keys_equal(h.hash, prev, LEDGER_HASH_BYTES)) {
        rc = finding(out, expect - 1, "stored head hash differs from the last entry's hash");
        goto done;
    }
    rc = check_index(l, txn, &t, out);
    if (rc == 0)
        rc = check_checkpoints(&vs, &t, expect, out);
    if (rc == 0) {
        /* exactly the 2n - popcount(n) perfect subtrees of n leaves, nothing more */
        MDB_stat ms;
        uint64_t want = 2 * expect - (uint64_t)__builtin_popcountll(expect);
        if ((rc = ledger__mdb_err(l, mdb_stat(txn, l->merkle, &ms), "cannot read the tree")) == 0 &&
            ms.ms_entries != want)
            rc = finding(out, expect - 1, "the Merkle tree holds nodes the chain does not imply");
    }
    if (rc == 0) {
        /* batches are read by seq: a record under any other key is found here */
        MDB_stat st;
        if ((rc = ledger__mdb_err(l, mdb_stat(txn, l->entries, &st), "cannot read entries")) == 0 &&
            st.ms_entries != expect)
            rc = finding(out, expect - 1, "the ledger holds records outside the chain");
    }
    if (rc == 0) {
        MDB_stat st;
        if ((rc = ledger__mdb_err(l, mdb_stat(txn, l->index, &st), "cannot read index")) == 0 &&
            st.ms_entries != vs.indexed)
            rc = finding(out, expect - 1,
                         "the derived index holds records the chain does not imply");
    }
done:
    ledger__ra_free(ra); /* waits for batches still being read */
    for (size_t i = 0; i < sizeof(vs.levels) / sizeof(vs.levels[0]); i++)
        if (vs.levels[i] != NULL)
            mdb_cursor_close(vs.levels[i]);
    if (vs.idx != NULL)
        mdb_cursor_close(vs.idx);
    if (txn != NULL)
        ledger__end_read(l, txn);
    ledger__sigpool_free(vs.pool);
    ledger__ktab_release(&t);
    return rc;
}
