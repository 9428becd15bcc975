/* Reading the chain ahead in batches on worker threads (verify, iterators).
 *
 * Batch k holds the entries from seq first_k on: a worker reads it in its own
 * read transaction on the caller's snapshot (same LMDB txn id, checked when it
 * starts), decodes and leaf-hashes every entry and, for verify, checks each
 * body against its record type and the stored Merkle nodes inside the batch.
 * The caller takes the batches in order and does what needs the chain state
 * (links, keys, rules), so the scan, the decoding and the hashing spread over
 * every core while the chain is still walked in order. When the next batch
 * has not been started yet the caller reads it itself rather than wait; with
 * one thread wanted, or no worker on the same snapshot, it reads them all.
 *
 * Positional batches (first_k = first_{k-1} + size) are exact while the keys
 * are the consecutive 8-byte seqs a sound chain has; the iterator falls back
 * to one cursor read in order after a batch that is not (a gap or a damaged
 * key), and verify reports it as a finding. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/merkle.h"
#include "ledger/records.h"
#include "store_int.h"

typedef struct ra_ctx { /* what one thread reads with */
    MDB_txn *txn;
    bool own; /* the context began txn and ends it */
    MDB_cursor *entries, *merkle;
    uint8_t (*nodes)[LEDGER_HASH_BYTES]; /* a batch's subtree level by level (merkle) */
} ra_ctx;

enum { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE };

struct ledger__ra {
    ledger *l;
    unsigned flags;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    bool stop;
    unsigned nw;
    pthread_t th[LEDGER__RA_MAX_WORKERS];
    ra_ctx wctx[LEDGER__RA_MAX_WORKERS];
    int borrowed[LEDGER__RA_MAX_WORKERS]; /* the pinned snapshot's txn used, or -1 */
    ra_ctx mine;                          /* the caller's transaction */
    unsigned nslots;                      /* batch k lives in slot k % nslots */
    ledger__hbatch *b;                    /* nslots batches */
    int *state;                           /* per slot, under mu */
    uint64_t taken;                       /* batches handed to the caller */
    uint64_t dispatched;                  /* batches queued */
    bool lent;                            /* the caller holds batch taken - 1 */
    bool positional;                      /* batches may be queued ahead at guessed seqs */
    bool ended;                           /* no batch after the last one dispatched */
    int finished;                         /* what ended the reading (1: the end), returned again */
    uint64_t next_first;                  /* seq the next positional batch starts at */
    size_t want, max;                     /* its size, growing to max */
    MDB_cursor_op seq_op;                 /* in order on the caller's cursor: the next read's op */
};

static int ctx_open(ra_ctx *c, ledger *l, MDB_txn *txn, bool own, bool merkle)
{
    int mrc;
    memset(c, 0, sizeof(*c));
    c->txn = txn;
    c->own = own;
    if ((mrc = mdb_cursor_open(txn, l->entries, &c->entries)) != 0 ||
        (merkle && (mrc = mdb_cursor_open(txn, l->merkle, &c->merkle)) != 0))
        return ledger__mdb_err(l, mrc, "cannot open cursor");
    if (merkle && (c->nodes = malloc(LEDGER__HBATCH * sizeof(*c->nodes))) == NULL)
        return LEDGER_ENOMEM;
    return 0;
}

static void ctx_end(ra_ctx *c)
{
    if (c->merkle != NULL)
        mdb_cursor_close(c->merkle);
    if (c->entries != NULL)
        mdb_cursor_close(c->entries);
    if (c->own && c->txn != NULL)
        mdb_txn_abort(c->txn);
    free(c->nodes);
    memset(c, 0, sizeof(*c));
}

/* Worker @p i's context, and its transaction back to the pinned snapshot. */
static void ctx_close(ledger__ra *r, unsigned i)
{
    ctx_end(&r->wctx[i]);
    if (r->borrowed[i] >= 0)
        r->l->pin_lent[r->borrowed[i]] = false;
    r->borrowed[i] = -1;
}

/* The stored Merkle nodes of every perfect subtree inside the batch's leading
 * run of consecutive seqs, against the nodes its leaves imply. The first
 * disagreement in chain order (the entry that completes the node, then the
 * lowest level) is left for the caller to report when it gets there. */
static int merkle_batch(ra_ctx *c, ledger__hbatch *b)
{
    size_t m = 0;
    while (m < b->n && b->seq[m] == b->first + m)
        m++;
    b->mfail = false;
    b->has_root = false;
    if (b->first % LEDGER__HBATCH != 0)
        return 0; /* not aligned: never a positional verify batch */
    memcpy(c->nodes, b->leaf, m * sizeof(*c->nodes));
    for (unsigned level = 0; level <= LEDGER__HBATCH_LEVELS && m >> level > 0; level++) {
        size_t count = m >> level; /* whole nodes of this level in the run */
        uint64_t base = b->first >> level;
        MDB_cursor_op op = MDB_SET_KEY;
        if (level > 0) /* in place: node j reads 2j and 2j + 1, at or after j */
            for (size_t j = 0; j < count; j++)
                ledger_merkle_node(c->nodes[j], c->nodes[2 * j], c->nodes[2 * j + 1]);
        for (size_t j = 0; j < count; j++) {
            uint8_t kb[9];
            MDB_val k = {sizeof(kb), kb}, v;
            kb[0] = (uint8_t)level;
            ledger__u64be(kb + 1, base + j);
            int mrc = mdb_cursor_get(c->merkle, &k, &v, op);
            if (mrc != 0 && mrc != MDB_NOTFOUND)
                return mrc;
            bool bad = mrc != 0 || k.mv_size != sizeof(kb) ||
                       memcmp(k.mv_data, kb, sizeof(kb)) != 0 || v.mv_size != LEDGER_HASH_BYTES ||
                       !keys_equal(v.mv_data, c->nodes[j], LEDGER_HASH_BYTES);
            /* after a miss the cursor is not where the next node is */
            op = mrc == 0 && !bad ? MDB_NEXT : MDB_SET_KEY;
            uint64_t at = ((base + j + 1) << level) - 1; /* the entry completing it */
            if (bad && (!b->mfail || at < b->mfail_seq)) {
                b->mfail = true;
                b->mfail_seq = at;
                b->mfail_level = level;
                b->mfail_index = base + j;
            }
        }
    }
    if (m == LEDGER__HBATCH) {
        b->has_root = true;
        memcpy(b->root, c->nodes[0], LEDGER_HASH_BYTES);
    }
    return 0;
}

/* Read one batch with @p c and decode (and hash) what it read. */
static void run(const ledger__ra *r, ra_ctx *c, ledger__hbatch *b, MDB_cursor_op op)
{
    static const uint8_t unhashed[LEDGER_HASH_BYTES];
    uint8_t kb[8];
    MDB_val k = {sizeof(kb), kb}, v;
    ledger__u64be(kb, b->first);
    b->n = 0;
    b->err = 0;
    b->end = 0;
    b->merkle_mrc = 0;
    b->mfail = false;
    b->has_root = false;
    while (b->n < b->want) {
        int mrc = mdb_cursor_get(c->entries, &k, &v, op);
        if (mrc != 0) {
            b->end = mrc;
            break;
        }
        op = MDB_NEXT;
        b->seq[b->n] = k.mv_size == 8 ? ledger__get_u64be(k.mv_data) : UINT64_MAX;
        b->span[b->n].p = v.mv_data;
        b->span[b->n].n = v.mv_size;
        b->n++;
    }
    for (size_t i = 0; i < b->n && b->err == 0; i++) {
        const uint8_t *leaf = unhashed;
        if ((r->flags & LEDGER__RA_HASH) != 0) {
            if ((b->err = ledger__leaf_hash(b->leaf[i], b->span[i].p, b->span[i].n)) != 0)
                break;
            leaf = b->leaf[i];
        }
        ledger_entry *e = &b->e[i];
        b->rc[i] = ledger__entry_decode_hashed(e, b->span[i].p, b->span[i].n, leaf, NULL, 0);
        if ((r->flags & LEDGER__RA_VERIFY) == 0)
            continue;
        /* the body against its record type: pure, so done here (a failure is
         * left for the caller to find again, in chain order) */
        const ledger_rtype *rt = b->rc[i] == 0 ? ledger_rtype_find(e->type) : NULL;
        e->body_checked = rt != NULL && ledger_rtype_check_body(rt, e, NULL, 0) == 0;
    }
    if (b->err == 0 && (r->flags & LEDGER__RA_VERIFY) != 0)
        b->merkle_mrc = merkle_batch(c, b); /* mapped by the caller: l->err is its */
}

static void *worker(void *ud)
{
    ledger__ra *r = ((void **)ud)[0];
    ra_ctx *c = ((void **)ud)[1];
    free(ud);
    pthread_mutex_lock(&r->mu);
    for (;;) {
        unsigned s = r->nslots;
        for (uint64_t k = r->taken; k < r->dispatched && s == r->nslots; k++)
            if (r->state[k % r->nslots] == SLOT_QUEUED)
                s = (unsigned)(k % r->nslots);
        if (r->stop)
            break;
        if (s == r->nslots || !r->positional) {
            pthread_cond_wait(&r->work, &r->mu);
            continue;
        }
        r->state[s] = SLOT_RUNNING;
        pthread_mutex_unlock(&r->mu);
        run(r, c, &r->b[s], MDB_SET_RANGE);
        pthread_mutex_lock(&r->mu);
        r->state[s] = SLOT_DONE;
        pthread_cond_broadcast(&r->done);
    }
    pthread_mutex_unlock(&r->mu);
    ledger__sha256_thread_end();
    return NULL;
}

/* Queue batches while slots are free (caller holds mu when threaded). */
static void dispatch(ledger__ra *r)
{
    bool any = false;
    while (!r->ended && r->dispatched < r->taken + r->nslots - (r->lent ? 1 : 0) &&
           (r->positional || r->dispatched == r->taken)) {
        unsigned s = (unsigned)(r->dispatched % r->nslots);
        ledger__hbatch *b = &r->b[s];
        b->first = r->next_first;
        b->want = r->want;
        r->state[s] = SLOT_QUEUED;
        r->dispatched++;
        r->next_first += r->want;
        if (r->want < r->max)
            r->want = r->want * 2 < r->max ? r->want * 2 : r->max;
        any = true;
    }
    if (any && r->nw > 0)
        pthread_cond_broadcast(&r->work);
}

static void lock(ledger__ra *r)
{
    if (r->nw > 0)
        pthread_mutex_lock(&r->mu);
}

static void unlock(ledger__ra *r)
{
    if (r->nw > 0)
        pthread_mutex_unlock(&r->mu);
}

/* Workers on the caller's snapshot: each reads with a transaction borrowed
 * from a pinned snapshot (ledger_snapshot_begin), or begun here and kept when
 * its txn id is the caller's (nothing was committed between). */
static MDB_txn *worker_txn(ledger__ra *r, MDB_txn *txn, unsigned i, bool *own)
{
    MDB_txn *wt = NULL;
    ledger *l = r->l;
    *own = false;
    if (txn == l->pin) {
        for (unsigned j = 0; j < l->pin_nw; j++)
            if (!l->pin_lent[j]) {
                l->pin_lent[j] = true;
                r->borrowed[i] = (int)j;
                return l->pin_w[j];
            }
        return NULL;
    }
    if (mdb_txn_begin(l->env, NULL, MDB_RDONLY, &wt) != 0)
        return NULL;
    if (mdb_txn_id(wt) != mdb_txn_id(txn)) {
        mdb_txn_abort(wt);
        return NULL;
    }
    *own = true;
    return wt;
}

static void start_workers(ledger__ra *r, MDB_txn *txn, unsigned want)
{
    for (unsigned i = 0; i < want && i < LEDGER__RA_MAX_WORKERS; i++) {
        bool own;
        void **arg;
        r->borrowed[i] = -1;
        MDB_txn *wt = worker_txn(r, txn, i, &own);
        if (wt == NULL)
            break;
        if (ctx_open(&r->wctx[i], r->l, wt, own, (r->flags & LEDGER__RA_VERIFY) != 0) != 0 ||
            (arg = malloc(2 * sizeof(*arg))) == NULL) {
            ctx_close(r, i);
            break;
        }
        arg[0] = r;
        arg[1] = &r->wctx[i];
        if (pthread_create(&r->th[i], NULL, worker, arg) != 0) {
            free(arg);
            ctx_close(r, i);
            break;
        }
        r->nw++;
    }
}

int ledger__ra_open(ledger__ra **out, ledger *l, MDB_txn *txn, uint64_t from, unsigned flags,
                    size_t first_want)
{
    ledger__ra *r = calloc(1, sizeof(*r));
    int rc;
    *out = NULL;
    if (r == NULL)
        return LEDGER_ENOMEM;
    r->l = l;
    r->flags = flags;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work, NULL);
    pthread_cond_init(&r->done, NULL);
    r->positional = true;
    r->next_first = from;
    r->max = (flags & LEDGER__RA_ONE) != 0 ? 1 : LEDGER__HBATCH;
    r->want = first_want < r->max ? first_want : r->max;
    if (r->want == 0)
        r->want = 1;
    if ((rc = ctx_open(&r->mine, l, txn, false, (flags & LEDGER__RA_VERIFY) != 0)) != 0)
        goto fail;
    /* A write transaction's pages are its own: read it on the caller's thread. */
    unsigned workers = ledger__threads_wanted();
    if (txn == l->wtxn || (flags & LEDGER__RA_ONE) != 0 || workers < 2)
        workers = 0;
    else if ((flags & LEDGER__RA_LIGHT) != 0)
        workers = 1; /* the cores are busy with other work (signatures) */
    if (workers > LEDGER__RA_MAX_WORKERS)
        workers = LEDGER__RA_MAX_WORKERS;
    /* a batch per worker, one queued, the caller's */
    size_t slots = workers > 0 ? workers + 2 : 1;
    if ((r->b = calloc(slots, sizeof(*r->b))) == NULL ||
        (r->state = calloc(slots, sizeof(*r->state))) == NULL) {
        rc = LEDGER_ENOMEM;
        goto fail;
    }
    pthread_mutex_lock(&r->mu); /* workers wait for the slots to be set */
    if (workers > 0)
        start_workers(r, txn, workers);
    r->nslots = r->nw > 0 ? r->nw + 2 : 1;
    dispatch(r);
    pthread_mutex_unlock(&r->mu);
    *out = r;
    return 0;
fail:
    ledger__ra_free(r);
    return rc;
}

/* After a batch that is not exactly the seqs it was asked for: drop what was
 * queued after it and read on in order from its last key, on this thread. */
static int to_sequential(ledger__ra *r, const ledger__hbatch *last)
{
    lock(r);
    for (uint64_t k = r->taken; k < r->dispatched; k++) {
        unsigned s = (unsigned)(k % r->nslots);
        while (r->state[s] == SLOT_RUNNING)
            pthread_cond_wait(&r->done, &r->mu);
        r->state[s] = SLOT_FREE;
    }
    r->dispatched = r->taken;
    r->positional = false;
    unlock(r);
    /* position the caller's cursor on the last entry read */
    MDB_val k, v;
    uint64_t seq = last->seq[last->n - 1];
    uint8_t kb[8];
    int mrc;
    if (seq != UINT64_MAX) {
        ledger__u64be(kb, seq);
        k.mv_size = sizeof(kb);
        k.mv_data = kb;
        mrc = mdb_cursor_get(r->mine.entries, &k, &v, MDB_SET_KEY);
    } else {
        /* a damaged key: its bytes are not kept; the iterator stops at it */
        mrc = MDB_NOTFOUND;
        r->ended = true;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return ledger__mdb_err(r->l, mrc, "cannot read entry");
    r->seq_op = MDB_NEXT;
    return 0;
}

static bool exact(const ledger__hbatch *b)
{
    if (b->n != b->want)
        return false;
    for (size_t i = 0; i < b->n; i++)
        if (b->seq[i] != b->first + i)
            return false;
    return true;
}

int ledger__ra_next(ledger__ra *r, ledger__hbatch **out)
{
    int rc;
    *out = NULL;
    if (r->finished != 0)
        return r->finished;
    if (r->lent) {
        ledger__hbatch *prev = &r->b[(r->taken - 1) % r->nslots];
        lock(r);
        r->state[(r->taken - 1) % r->nslots] = SLOT_FREE;
        r->lent = false;
        unlock(r);
        if (prev->err != 0)
            return r->finished = prev->err;
        if (prev->merkle_mrc != 0)
            return r->finished =
                       ledger__mdb_err(r->l, prev->merkle_mrc, "cannot read the Merkle tree");
        if (prev->end != 0)
            return r->finished = prev->end == MDB_NOTFOUND
                                     ? 1
                                     : ledger__mdb_err(r->l, prev->end, "cannot read entries");
        if (r->positional && !exact(prev) && (rc = to_sequential(r, prev)) != 0)
            return rc;
        lock(r);
        dispatch(r);
        unlock(r);
    }
    if (r->ended && r->dispatched == r->taken)
        return r->finished = 1;
    unsigned s = (unsigned)(r->taken % r->nslots);
    lock(r);
    if (r->state[s] == SLOT_QUEUED) {
        r->state[s] = SLOT_RUNNING;
        unlock(r);
        if (r->positional) {
            run(r, &r->mine, &r->b[s], MDB_SET_RANGE);
        } else {
            run(r, &r->mine, &r->b[s], r->seq_op);
            r->seq_op = MDB_NEXT;
        }
        lock(r);
        r->state[s] = SLOT_DONE;
    }
    while (r->state[s] == SLOT_RUNNING)
        pthread_cond_wait(&r->done, &r->mu);
    r->taken++;
    r->lent = true;
    unlock(r);
    *out = &r->b[s];
    return 0;
}

void ledger__ra_free(ledger__ra *r)
{
    if (r == NULL)
        return;
    if (r->nw > 0) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_broadcast(&r->work);
        pthread_mutex_unlock(&r->mu);
        for (unsigned i = 0; i < r->nw; i++)
            pthread_join(r->th[i], NULL);
    }
    for (unsigned i = 0; i < r->nw; i++)
        ctx_close(r, i);
    ctx_end(&r->mine);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->work);
    pthread_cond_destroy(&r->done);
    free(r->b);
    free(r->state);
    free(r);
}
