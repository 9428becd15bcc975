/* Reading the chain in order (audit, export, log): entries are read ahead in
 * batches that grow from 32 to LEDGER__HBATCH and decoded and hashed on the
 * hasher's helper thread while the caller works on the batch before, so a
 * caller that reads a few entries pays for a few, and one that reads them all
 * pays about the larger of its own work and the decoding. Inside
 * ledger_transact() the iterator reads the write transaction, whose pages the
 * caller may change between calls: there it reads one entry at a time, on the
 * caller's thread, as it always did. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define FIRST_BATCH 32

struct ledger_iter {
    ledger *l;
    MDB_txn *txn;
    MDB_cursor *cur;
    ledger__hasher *hs;
    ledger__hbatch *bt; /* two: one being read by the caller, one being decoded */
    int end[2];         /* what ended each batch's fill: 0 (full), MDB_NOTFOUND, an error */
    unsigned cb;        /* the caller's batch */
    size_t pos, want;
    bool started, ahead;
    uint64_t from;
};

int ledger__hbatch_fill(MDB_cursor *cur, ledger__hbatch *b, MDB_cursor_op op, MDB_val *start,
                        size_t max)
{
    MDB_val k = {0, NULL}, v;
    if (start != NULL)
        k = *start;
    if (max > LEDGER__HBATCH)
        max = LEDGER__HBATCH;
    b->n = 0;
    while (b->n < max) {
        int mrc = mdb_cursor_get(cur, &k, &v, op);
        if (mrc != 0)
            return mrc;
        op = MDB_NEXT;
        b->seq[b->n] = k.mv_size == 8 ? ledger__get_u64be(k.mv_data) : UINT64_MAX;
        b->span[b->n].p = v.mv_data;
        b->span[b->n].n = v.mv_size;
        b->n++;
    }
    return 0;
}

int ledger_iter_open(ledger_iter **out, ledger *l, uint64_t from)
{
    ledger_iter *it = calloc(1, sizeof(*it));
    int rc;
    *out = NULL;
    if (it == NULL)
        return LEDGER_ENOMEM;
    it->l = l;
    it->from = from;
    rc = ledger__read_txn(l, &it->txn);
    if (rc == 0)
        rc = ledger__mdb_err(l, mdb_cursor_open(it->txn, l->entries, &it->cur),
                             "cannot open cursor");
    it->ahead = it->txn != l->wtxn;
    it->want = it->ahead ? FIRST_BATCH : 1;
    if (rc == 0 && (it->bt = malloc(2 * sizeof(*it->bt))) == NULL)
        rc = LEDGER_ENOMEM;
    if (rc == 0)
        rc = ledger__hasher_new(&it->hs, it->ahead, false);
    if (rc != 0)
        ledger_iter_free(it);
    else
        *out = it;
    return rc;
}

/* Move to the next batch: 0, 1 at the end, or an error. */
static int advance(ledger_iter *it)
{
    int rc;
    if (!it->started) {
        uint8_t kb[8];
        MDB_val k = {sizeof(kb), kb};
        ledger__u64be(kb, it->from);
        it->started = true;
        it->cb = 0;
        it->end[0] = ledger__hbatch_fill(it->cur, &it->bt[0], MDB_SET_RANGE, &k, it->want);
        ledger__hasher_start(it->hs, &it->bt[0]);
    } else {
        if (it->end[it->cb] != 0)
            return it->end[it->cb] == MDB_NOTFOUND
                       ? 1
                       : ledger__mdb_err(it->l, it->end[it->cb], "cannot read entry");
        it->cb ^= 1;
    }
    if ((rc = ledger__hasher_wait(it->hs)) != 0)
        return rc;
    it->pos = 0;
    if (it->end[it->cb] == 0) { /* read the next batch while this one is used */
        unsigned nb = it->cb ^ 1;
        if (it->ahead && it->want < LEDGER__HBATCH)
            it->want *= 2;
        it->end[nb] = ledger__hbatch_fill(it->cur, &it->bt[nb], MDB_NEXT, NULL, it->want);
        ledger__hasher_start(it->hs, &it->bt[nb]);
    }
    return 0;
}

int ledger_iter_next(ledger_iter *it, ledger_entry *out)
{
    char why[LEDGER_ERRMSG_MAX];
    int rc;
    while (!it->started || it->pos >= it->bt[it->cb].n)
        if ((rc = advance(it)) != 0)
            return rc;
    ledger__hbatch *b = &it->bt[it->cb];
    size_t i = it->pos++;
    if (b->seq[i] == UINT64_MAX) {
        ledger__errf(it->l->err, sizeof(it->l->err), "entry key is damaged");
        return LEDGER_EENCODING;
    }
    if ((rc = b->rc[i]) != 0) { /* decode again for the reason */
        (void)ledger__entry_decode_hashed(out, b->span[i].p, b->span[i].n, b->leaf[i], why,
                                          sizeof(why));
        out->seq = b->seq[i];
        ledger__errf(it->l->err, sizeof(it->l->err), "entry %llu: %s",
                     (unsigned long long)b->seq[i], why);
        return rc;
    }
    *out = b->e[i];
    return 0;
}

void ledger_iter_free(ledger_iter *it)
{
    if (it == NULL)
        return;
    ledger__hasher_free(it->hs); /* waits for a batch still being decoded */
    free(it->bt);
    if (it->cur != NULL)
        mdb_cursor_close(it->cur);
    if (it->txn != NULL)
        ledger__end_read(it->l, it->txn);
    free(it);
}
