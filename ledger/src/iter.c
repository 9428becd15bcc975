/* Reading the chain in order (audit, export, log): entries are read ahead in
 * batches that grow from 32 to LEDGER__HBATCH, read, decoded and hashed by
 * worker threads (readahead.c) while the caller works on the batch before, so
 * a caller that reads a few entries pays for a few, and one that reads them
 * all pays about the larger of its own work and the reading. Inside
 * ledger_transact() the iterator reads the write transaction, whose pages the
 * caller may change between calls: there it reads one entry at a time, on the
 * caller's thread. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define FIRST_BATCH 32

struct ledger_iter {
    ledger *l;
    MDB_txn *txn;
    ledger__ra *ra;
    ledger__hbatch *b; /* the batch being read by the caller */
    size_t pos;
    uint64_t bad_seq; /* the undecodable entry's */
};

int ledger_iter_open_flags(ledger_iter **out, ledger *l, uint64_t from, unsigned flags)
{
    ledger_iter *it = calloc(1, sizeof(*it));
    int rc;
    *out = NULL;
    if (it == NULL)
        return LEDGER_ENOMEM;
    it->l = l;
    rc = ledger__read_txn(l, &it->txn);
    if (rc == 0) {
        bool inside = it->txn == l->wtxn;
        unsigned raf = ((flags & LEDGER_ITER_NO_HASH) != 0 ? 0 : LEDGER__RA_HASH) |
                       (inside ? LEDGER__RA_ONE : 0);
        rc = ledger__ra_open(&it->ra, l, it->txn, from, raf, inside ? 1 : FIRST_BATCH);
    }
    if (rc != 0)
        ledger_iter_free(it);
    else
        *out = it;
    return rc;
}

int ledger_iter_open(ledger_iter **out, ledger *l, uint64_t from)
{
    return ledger_iter_open_flags(out, l, from, 0);
}

static int at(ledger_iter *it, const ledger_entry **out)
{
    char why[LEDGER_ERRMSG_MAX];
    int rc;
    while (it->b == NULL || it->pos >= it->b->n) {
        it->b = NULL;
        if ((rc = ledger__ra_next(it->ra, &it->b)) != 0)
            return rc;
        it->pos = 0;
    }
    ledger__hbatch *b = it->b;
    size_t i = it->pos++;
    if (b->seq[i] == UINT64_MAX) {
        ledger__errf(it->l->err, sizeof(it->l->err), "entry key is damaged");
        return LEDGER_EENCODING;
    }
    if ((rc = b->rc[i]) != 0) { /* decode again for the reason */
        ledger_entry e;
        (void)ledger__entry_decode_hashed(&e, b->span[i].p, b->span[i].n, b->leaf[i], why,
                                          sizeof(why));
        ledger__errf(it->l->err, sizeof(it->l->err), "entry %llu: %s",
                     (unsigned long long)b->seq[i], why);
        it->bad_seq = b->seq[i];
        return rc;
    }
    *out = &b->e[i];
    return 0;
}

int ledger_iter_next(ledger_iter *it, ledger_entry *out)
{
    const ledger_entry *e = NULL;
    int rc = at(it, &e);
    if (rc == 0)
        *out = *e;
    else if (rc == LEDGER_EENCODING)
        out->seq = it->bad_seq;
    return rc;
}

int ledger_iter_next_ref(ledger_iter *it, const ledger_entry **out)
{
    *out = NULL;
    return at(it, out);
}

void ledger_iter_free(ledger_iter *it)
{
    if (it == NULL)
        return;
    ledger__ra_free(it->ra); /* waits for batches still being read */
    if (it->txn != NULL)
        ledger__end_read(it->l, it->txn);
    free(it);
}
