/* Entries decoded and leaf-hashed one batch ahead: while the caller checks
 * batch k in order (rules, keys, links, the tree), a helper thread decodes and
 * hashes batch k+1, so on two cores verify costs about the larger of the two
 * halves instead of their sum. With one thread wanted (RXLEDGER_THREADS=1)
 * the caller does each batch itself when it starts. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/records.h"
#include "ledger_int.h"

struct ledger__hasher {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    pthread_t thread;
    bool threaded, stop, busy;
    bool check_bodies; /* verify's chain walk skips bodies found sound here */
    ledger__hbatch *b;
    int rc;
};

static int hash_all(const ledger__hasher *h, ledger__hbatch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        int rc = ledger__leaf_hash(b->leaf[i], b->span[i].p, b->span[i].n);
        if (rc != 0)
            return rc;
        ledger_entry *e = &b->e[i];
        b->rc[i] = ledger__entry_decode_hashed(e, b->span[i].p, b->span[i].n, b->leaf[i], NULL, 0);
        if (!h->check_bodies)
            continue;
        /* the body against its record type: pure, so done here too (a
         * failure is left for the caller to find again, in chain order) */
        const ledger_rtype *rt = b->rc[i] == 0 ? ledger_rtype_find(e->type) : NULL;
        e->body_checked = rt != NULL && ledger_rtype_check_body(rt, e, NULL, 0) == 0;
    }
    return 0;
}

static void *hasher_main(void *ud)
{
    ledger__hasher *h = ud;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->stop && !h->busy)
            pthread_cond_wait(&h->go, &h->mu);
        if (h->stop)
            break;
        pthread_mutex_unlock(&h->mu);
        int rc = hash_all(h, h->b);
        pthread_mutex_lock(&h->mu);
        h->rc = rc;
        h->busy = false;
        pthread_cond_signal(&h->done);
    }
    pthread_mutex_unlock(&h->mu);
    ledger__sha256_thread_end();
    return NULL;
}

int ledger__hasher_new(ledger__hasher **out, bool threaded, bool check_bodies)
{
    ledger__hasher *h = calloc(1, sizeof(*h));
    *out = NULL;
    if (h == NULL)
        return LEDGER_ENOMEM;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->go, NULL);
    pthread_cond_init(&h->done, NULL);
    h->check_bodies = check_bodies;
    if (threaded && ledger__threads_wanted() > 1)
        h->threaded = pthread_create(&h->thread, NULL, hasher_main, h) == 0;
    *out = h;
    return 0;
}

void ledger__hasher_start(ledger__hasher *h, ledger__hbatch *b)
{
    if (!h->threaded) {
        h->rc = hash_all(h, b);
        return;
    }
    pthread_mutex_lock(&h->mu);
    h->b = b;
    h->busy = true;
    pthread_cond_signal(&h->go);
    pthread_mutex_unlock(&h->mu);
}

int ledger__hasher_wait(ledger__hasher *h)
{
    if (!h->threaded)
        return h->rc;
    pthread_mutex_lock(&h->mu);
    while (h->busy)
        pthread_cond_wait(&h->done, &h->mu);
    int rc = h->rc;
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void ledger__hasher_free(ledger__hasher *h)
{
    if (h == NULL)
        return;
    if (h->threaded) {
        (void)ledger__hasher_wait(h);
        pthread_mutex_lock(&h->mu);
        h->stop = true;
        pthread_cond_signal(&h->go);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->go);
    pthread_cond_destroy(&h->done);
    free(h);
}
