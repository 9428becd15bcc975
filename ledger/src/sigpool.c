/* Parallel signature checking for verify: the chain is walked in order on the
 * calling thread; Ed25519 checks are queued in batches and shared between
 * worker threads and the caller. The first bad signature (lowest seq) is what
 * a flush reports, so the result is the sequential walk's. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger_int.h"

#define BATCH      512
#define THREAD_MAX 16

typedef struct job {
    const keys_pub *pub;
    uint8_t sig[KEYS_SIG_BYTES];
    size_t off, len; /* the Sig_structure in the arena */
    uint64_t seq;
    int bad;
} job;

struct ledger__sigpool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    pthread_t threads[THREAD_MAX];
    unsigned nthreads;
    job jobs[BATCH];
    size_t njobs, next, finished;
    uint8_t *arena;
    size_t used, cap;
    unsigned long generation;
    bool stop;
    uint64_t bad_seq;
    bool have_bad;
};

/* Take and run jobs of the current batch until none is left. */
static void work(ledger__sigpool *p)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->next < p->njobs ? p->next++ : SIZE_MAX;
        pthread_mutex_unlock(&p->mu);
        if (i == SIZE_MAX)
            return;
        job *j = &p->jobs[i];
        j->bad = keys_pub_verify(j->pub, j->sig, p->arena + j->off, j->len) != 0;
        pthread_mutex_lock(&p->mu);
        if (++p->finished == p->njobs)
            pthread_cond_broadcast(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void *worker(void *ud)
{
    ledger__sigpool *p = ud;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->go, &p->mu);
        bool stop = p->stop;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            return NULL;
        work(p);
    }
}

unsigned ledger__threads_wanted(void)
{
    const char *env = getenv("RXLEDGER_THREADS");
    long n = env != NULL ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > THREAD_MAX + 1 ? THREAD_MAX + 1 : (unsigned)n;
}

int ledger__sigpool_new(ledger__sigpool **out)
{
    ledger__sigpool *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (p == NULL)
        return LEDGER_ENOMEM;
    p->cap = 1u << 20;
    if ((p->arena = malloc(p->cap)) == NULL) {
        free(p);
        return LEDGER_ENOMEM;
    }
    p->next = BATCH;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    /* the caller is one of the workers */
    unsigned want = ledger__threads_wanted() - 1;
    for (unsigned i = 0; i < want; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
            break; /* fewer threads: slower, still correct */
        p->nthreads++;
    }
    *out = p;
    return 0;
}

unsigned ledger__sigpool_threads(const ledger__sigpool *p)
{
    return p->nthreads + 1;
}

/* Run the queued batch on every thread and record its first bad signature. */
static void run_batch(ledger__sigpool *p)
{
    if (p->njobs == 0)
        return;
    pthread_mutex_lock(&p->mu);
    p->next = 0;
    p->finished = 0;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    work(p);
    pthread_mutex_lock(&p->mu);
    while (p->finished < p->njobs)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->njobs; i++)
        if (p->jobs[i].bad && (!p->have_bad || p->jobs[i].seq < p->bad_seq)) {
            p->bad_seq = p->jobs[i].seq;
            p->have_bad = true;
        }
    pthread_mutex_lock(&p->mu);
    p->next = BATCH; /* a late worker finds nothing to take while the next batch fills */
    p->njobs = 0;
    pthread_mutex_unlock(&p->mu);
    p->used = 0;
}

int ledger__sigpool_add(ledger__sigpool *p, const keys_pub *pub, const uint8_t sig[KEYS_SIG_BYTES],
                        const uint8_t *prot, size_t protlen, const uint8_t *payload, size_t plen,
                        uint64_t seq)
{
    ledger__buf tbs;
    int rc;
    if (p->njobs == BATCH || p->cap - p->used < plen + protlen + 64)
        run_batch(p);
    if (p->cap - p->used < plen + protlen + 64) { /* a single huge entry: grow */
        size_t cap = p->cap;
        while (cap - p->used < plen + protlen + 64)
            cap *= 2;
        uint8_t *na = realloc(p->arena, cap);
        if (na == NULL)
            return LEDGER_ENOMEM;
        p->arena = na;
        p->cap = cap;
    }
    ledger__buf_init(&tbs, LEDGER_MAX_ENTRY_BYTES + 128);
    ledger__sig_structure(&tbs, prot, protlen, payload, plen);
    if ((rc = tbs.err) == 0) {
        job *j = &p->jobs[p->njobs];
        j->pub = pub;
        memcpy(j->sig, sig, KEYS_SIG_BYTES);
        j->off = p->used;
        j->len = tbs.len;
        j->seq = seq;
        j->bad = 0;
        memcpy(p->arena + p->used, tbs.p, tbs.len);
        p->used += tbs.len;
        pthread_mutex_lock(&p->mu);
        p->njobs++;
        pthread_mutex_unlock(&p->mu);
    }
    ledger__buf_release(&tbs);
    return rc;
}

bool ledger__sigpool_flush(ledger__sigpool *p, uint64_t *bad_seq)
{
    run_batch(p);
    if (p->have_bad)
        *bad_seq = p->bad_seq;
    return p->have_bad;
}

void ledger__sigpool_free(ledger__sigpool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->arena);
    free(p);
}
