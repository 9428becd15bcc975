/* rxl-bench: rxledger measured against the limits of the machine it runs on,
 * each limit measured in the same run (docs/performance.md).
 *
 * usage: rxl-bench DIR [N]     (N entries for the large figures; default 1,000,000)
 *        rxl-bench --clinic DIR N   (only write the clinic ledger of N entries into DIR,
 *                                    site key seeded 1: for profiling the audit by hand)
 *
 * Prints one row per figure: the figure, the limit it is compared with, and
 * the ratio. Timings are wall-clock medians or totals; nothing is asserted:
 * the table is the result. */
#define _DEFAULT_SOURCE 1 /* wait4 */
#include <fcntl.h>
#include <lmdb.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clinic.h"
#include "keys/keys.h"
#include "ledger/export.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "policy/audit.h"
#include "test_util.h"

#define SAMPLES     200
#define BATCH_LINES 20000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_d);
    return v[n / 2];
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "rxl-bench: %s failed (%d: %s)\n", what, rc, ledger_strerror(rc));
    exit(1);
}

static void row(const char *figure, double value, const char *unit, const char *limit,
                double limit_value, double ratio, const char *target)
{
    printf("| %-44s | %12.1f %-9s | %-44s | %12.1f | %6.2f | %-10s |\n", figure, value, unit, limit,
           limit_value, ratio, target);
    fflush(stdout);
}

static EVP_MD_CTX *md;

/* The RFC 9162 leaf hash, with one reused digest context. */
static void sha256_leaf(uint8_t out[32], const uint8_t *p, size_t n)
{
    static const uint8_t zero = 0;
    unsigned int len = 0;
    if (md == NULL && (md = EVP_MD_CTX_new()) == NULL)
        die("sha256", -1);
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(md, &zero, 1) != 1 ||
        EVP_DigestUpdate(md, p, n) != 1 || EVP_DigestFinal_ex(md, out, &len) != 1)
        die("sha256", -1);
}

static int ignore_finding(const policy_finding *f, void *ud)
{
    (void)f;
    (void)ud;
    return 0;
}

/* ---- keys and ledgers ---- */

static keys_key *seeded(uint8_t b)
{
    uint8_t seed[KEYS_SEED_BYTES];
    keys_key *k = NULL;
    memset(seed, b, sizeof(seed));
    if (keys_from_seed(&k, seed) != 0)
        die("key", -1);
    return k;
}

static keys_key *site_k, *pharm_k;

static ledger *empty_ledger(const char *dir)
{
    char err[256];
    ledger *l = NULL;
    int rc;
    (void)rxt_rm_rf(dir);
    if ((rc = ledger_open(&l, dir, LEDGER_OPEN_CREATE, err, sizeof(err))) != 0)
        die(err, rc);
    return l;
}

static ledger *open_ledger(const char *dir, bool rdonly)
{
    char err[256];
    ledger *l = NULL;
    int rc = ledger_open(&l, dir, rdonly ? LEDGER_OPEN_RDONLY : 0, err, sizeof(err));
    if (rc != 0)
        die(err, rc);
    return l;
}

/* A ledger of at least @p n entries for proofs at that size: kept between
 * runs (only the tree size matters, not what the entries say), else made of
 * notes, 10,000 to a transaction. */
typedef struct notes_fill {
    ledger_append_opts o;
    uint64_t count;
} notes_fill;

static int notes_fn(ledger_txn *t, void *ud)
{
    notes_fill *nf = ud;
    int rc = 0;
    for (int i = 0; i < 10000 && rc == 0; i++)
        rc = ledger_txn_append(t, pharm_k, &nf->o, NULL);
    return rc;
}

static ledger *proof_ledger(const char *dir, uint64_t n)
{
    char err[256];
    ledger *l = NULL;
    uint64_t have = 0;
    uint8_t head[LEDGER_HASH_BYTES];
    if (ledger_open(&l, dir, LEDGER_OPEN_RDONLY, err, sizeof(err)) == 0) {
        ledger_head(l, &have, head);
        if (have >= n)
            return l;
        ledger_close(l);
    }
    fprintf(stderr, "rxl-bench: writing a ledger of %llu notes for proofs (kept in %s)\n",
            (unsigned long long)n, dir);
    l = empty_ledger(dir);
    int rc;
    if ((rc = ledger_init(l, site_k, "Bench Clinic", "BJ6125341", NULL)) != 0 ||
        (rc = rxt_enroll(l, site_k, pharm_k, "Pat Pharm", "pharmacist", 0, 0, 0)) != 0)
        die("init", rc);
    notes_fill nf = {LEDGER_APPEND_INIT, 0};
    ledger_body *b = NULL;
    if (ledger_body_new(&b) != 0 || ledger_body_put_text(b, "text", "fridge checked") != 0)
        die("body", -1);
    nf.o.type = "note";
    nf.o.body = b;
    while (have < n) {
        if ((rc = ledger_transact(l, notes_fn, &nf)) != 0)
            die("notes", rc);
        ledger_head(l, &have, head);
    }
    ledger_body_free(b);
    return l;
}

/* Read a ledger's file once, so what is timed next is the ledger in the page
 * cache (a proof server's state), not this disk's seek time. */
static void cache_file(const char *dir)
{
    char file[4096];
    static char chunk[1 << 20];
    snprintf(file, sizeof(file), "%.4000s/data.mdb", dir);
    FILE *f = fopen(file, "rb");
    if (f == NULL)
        return;
    while (fread(chunk, 1, sizeof(chunk), f) == sizeof(chunk))
        ;
    fclose(f);
}

/* Median time of an inclusion proof at tree size @p size, and of one entry
 * read, at random leaves (different ones each run). */
static void proof_times(ledger *l, uint64_t size, double *proof, double *get)
{
    uint8_t path_h[LEDGER_PROOF_MAX][LEDGER_HASH_BYTES], buf[LEDGER_MAX_ENTRY_BYTES];
    size_t npath, len;
    double pt[SAMPLES], gt[SAMPLES];
    int rc;
    for (int i = 0; i < SAMPLES; i++) {
        uint64_t idx = ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % size;
        double t0 = now_s();
        if ((rc = ledger_merkle_inclusion(l, idx, size, path_h, &npath)) != 0)
            die("proof", rc);
        pt[i] = now_s() - t0;
        t0 = now_s();
        if ((rc = ledger_get(l, idx, buf, sizeof(buf), &len)) != 0)
            die("get", rc);
        gt[i] = now_s() - t0;
    }
    *proof = median(pt, SAMPLES);
    *get = median(gt, SAMPLES);
}

/* ---- the limits ---- */

/* One durable LMDB put (its own transaction, synced), median of SAMPLES. */
static double durable_put(const char *dir)
{
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    uint8_t val[400];
    double t[SAMPLES];
    (void)rxt_rm_rf(dir);
    mkdir(dir, 0700);
    memset(val, 0x5a, sizeof(val));
    if (mdb_env_create(&env) != 0 || mdb_env_set_mapsize(env, 64u << 20) != 0 ||
        mdb_env_open(env, dir, 0, 0600) != 0 || mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
        mdb_dbi_open(txn, NULL, 0, &dbi) != 0 || mdb_txn_commit(txn) != 0)
        die("lmdb baseline", -1);
    for (uint64_t i = 0; i < SAMPLES; i++) {
        uint64_t key = __builtin_bswap64(i);
        MDB_val k = {sizeof(key), &key}, v = {sizeof(val), val};
        double t0 = now_s();
        if (mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_put(txn, dbi, &k, &v, MDB_APPEND) != 0 ||
            mdb_txn_commit(txn) != 0)
            die("lmdb put", -1);
        t[i] = now_s() - t0;
    }
    mdb_env_close(env);
    return median(t, SAMPLES);
}

static double lib_append(const char *dir)
{
    ledger *l = empty_ledger(dir);
    int irc;
    if ((irc = ledger_init(l, site_k, "Bench Clinic", "BJ6125341", NULL)) != 0 ||
        (irc = rxt_enroll(l, site_k, pharm_k, "Pat Pharm", "pharmacist", 0, 0, 0)) != 0)
        die("init", irc);
    ledger_body *b = NULL;
    double t[SAMPLES];
    if (ledger_body_new(&b) != 0 || ledger_body_put_text(b, "text", "fridge checked") != 0)
        die("body", -1);
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "note";
    o.body = b;
    for (int i = 0; i < SAMPLES; i++) {
        double t0 = now_s();
        int rc = ledger_append(l, pharm_k, &o, NULL);
        t[i] = now_s() - t0;
        if (rc != 0)
            die("append", rc);
    }
    ledger_body_free(b);
    ledger_close(l);
    return median(t, SAMPLES);
}

/* Ed25519 signatures (or verifications) per second on one core, ~1 s. */
static double ed25519_rate(bool verify)
{
    uint8_t msg[420], sig[KEYS_SIG_BYTES], pub[KEYS_PUB_BYTES];
    keys_pub *p = NULL;
    uint64_t n = 0;
    memset(msg, 0x33, sizeof(msg));
    keys_key_pub(pharm_k, pub);
    if (keys_sign(pharm_k, sig, msg, sizeof(msg)) != 0 || keys_pub_new(&p, pub) != 0)
        die("ed25519", -1);
    double t0 = now_s(), dt;
    do {
        for (int i = 0; i < 64; i++, n++)
            if ((verify ? keys_pub_verify(p, sig, msg, sizeof(msg))
                        : keys_sign(pharm_k, sig, msg, sizeof(msg))) != 0)
                die("ed25519", -1);
        dt = now_s() - t0;
    } while (dt < 1.0);
    keys_pub_free(p);
    return (double)n / dt;
}

/* A cursor scan over the entries with SHA-256 of each (the hash-only limit). */
static double scan_and_hash(const char *dir, uint64_t *bytes)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t out[32];
    uint64_t n = 0;
    *bytes = 0;
    if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 16) != 0 ||
        mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) != 0 ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
        mdb_dbi_open(txn, "entries", 0, &dbi) != 0 || mdb_cursor_open(txn, dbi, &cur) != 0)
        die("raw scan", -1);
    double t0 = now_s();
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        sha256_leaf(out, v.mv_data, v.mv_size);
        *bytes += v.mv_size;
        n++;
    }
    double dt = now_s() - t0;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return (double)n / dt;
}

/* ---- peak memory of a child doing one job ---- */

typedef enum job { JOB_VERIFY, JOB_AUDIT, JOB_EXPORT } job;

/* Start argv[0] with its output discarded. */
static pid_t spawn_in(char *const argv[], const char *in)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = in != NULL ? open(in, O_RDONLY) : -1;
        if (fd >= 0)
            dup2(fd, STDIN_FILENO);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static pid_t spawn_quiet(char *const argv[])
{
    return spawn_in(argv, NULL);
}

static long status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    long v = -1;
    size_t fl = strlen(field);
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, fl) == 0 && line[fl] == ':')
            v = strtol(line + fl + 1, NULL, 10);
    fclose(f);
    return v;
}

/* Peak memory of `rxledger` doing one job, in a fresh process, sampled every
 * 2 ms once it runs rxledger: its own (anonymous) memory, and its RSS high-water
 * mark, which also counts the pages of the memory-mapped ledger file the kernel
 * keeps resident (page cache, reclaimable). */
static void peak_kib(const char *dir, job j, const char *file, const char *keyfile, long *anon,
                     long *rss)
{
    char *verify[] = {RXLEDGER_BIN, "-l", (char *)dir, "verify", NULL};
    char *audit[] = {RXLEDGER_BIN, "-l", (char *)dir, "audit", "--format", "csv", NULL};
    char *exp[] = {RXLEDGER_BIN,    "-l",    (char *)dir,  "export", "--key",
                   (char *)keyfile, "--out", (char *)file, NULL};
    char *const *argv = j == JOB_VERIFY ? verify : j == JOB_AUDIT ? audit : exp;
    unlink(file);
    pid_t pid = spawn_quiet(argv);
    int status;
    struct rusage ru;
    if (pid < 0)
        die("fork", -1);
    *anon = 0;
    *rss = 0;
    while (wait4(pid, &status, WNOHANG, &ru) == 0) {
        /* only once the child runs rxledger: before exec it is a copy of this process */
        char comm[64] = "", cpath[64];
        snprintf(cpath, sizeof(cpath), "/proc/%d/comm", (int)pid);
        FILE *c = fopen(cpath, "r");
        if (c != NULL) {
            if (fgets(comm, sizeof(comm), c) == NULL)
                comm[0] = '\0';
            fclose(c);
        }
        if (strncmp(comm, "rxledger", 8) == 0) {
            long a = status_kib(pid, "RssAnon"), h = status_kib(pid, "VmHWM");
            if (a > *anon)
                *anon = a;
            if (h > *rss)
                *rss = h;
        }
        usleep(2000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 3)
        die("child job", -1);
}

/* ---- rxledger note end to end ---- */

static double run_cli_in(char *const argv[], const char *in)
{
    double t0 = now_s();
    pid_t pid = spawn_in(argv, in);
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "rxl-bench: %s %s failed\n", argv[0], argv[1]);
        exit(1);
    }
    return now_s() - t0;
}

static double run_cli(char *const argv[])
{
    return run_cli_in(argv, NULL);
}

/* `rxledger note` end to end, split into process start, key unlock and the rest. */
static void note_end_to_end(const char *base, double signs)
{
    enum { RUNS = 50, UNLOCKS = 20 };
    char dir[4096], site[4096], ph[4096], pub[4096], spub[4096];
    double t[RUNS];
    static const char pass[] = "bench passphrase, default cost";
    setenv("RXLEDGER_PASSPHRASE", pass, 1);
    snprintf(dir, sizeof(dir), "%s/note", base);
    snprintf(site, sizeof(site), "%s/site.key", base);
    snprintf(ph, sizeof(ph), "%s/ph.key", base);
    snprintf(pub, sizeof(pub), "%s/ph.pub", base);
    snprintf(spub, sizeof(spub), "%s/site.pub", base);
    (void)rxt_rm_rf(dir);
    unlink(site);
    unlink(ph);
    unlink(pub);
    unlink(spub);
    char *kn1[] = {RXLEDGER_BIN, "key", "new", "--out", site, "--name", "Bench Site", NULL};
    char *kn2[] = {RXLEDGER_BIN, "key", "new", "--out", ph, "--name", "Pat Pharm", NULL};
    char *init[] = {RXLEDGER_BIN, "-l",        dir,     "init", "--site-name", "Bench Site",
                    "--dea",      "BJ6125341", "--key", site,   NULL};
    char *enr[] = {RXLEDGER_BIN, "-l",         dir,         "key",   "enroll", "--pub", pub,
                   "--role",     "pharmacist", "--license", "RPH-1", "--key",  site,    NULL};
    char *ver[] = {RXLEDGER_BIN, "--version", NULL};
    char *note[] = {RXLEDGER_BIN, "-l", dir, "note", "--text", "fridge checked", "--key", ph, NULL};
    run_cli(kn1);
    run_cli(kn2);
    run_cli(init);
    run_cli(enr);
    for (int i = 0; i < RUNS; i++)
        t[i] = run_cli(ver);
    double start = median(t, RUNS);
    for (int i = 0; i < UNLOCKS; i++) {
        keys_key *k = NULL;
        char err[256];
        double t0 = now_s();
        if (keys_load(&k, ph, pass, strlen(pass), err, sizeof(err)) != 0)
            die(err, -1);
        t[i] = now_s() - t0;
        keys_free(k);
    }
    double unlock = median(t, UNLOCKS);
    for (int i = 0; i < RUNS; i++)
        t[i] = run_cli(note);
    double total = median(t, RUNS);
    double rest = total - start - unlock;
    row("rxledger note end to end (median of 50)", total * 1e3, "ms", "(the three parts below)",
        total * 1e3, 1.0, "");
    row("  process start (rxledger --version)", start * 1e3, "ms", "share of the note", total * 1e3,
        start / total, "");
    row("  key unlock (scrypt N=2^14, default)", unlock * 1e3, "ms", "share of the note",
        total * 1e3, unlock / total, "");
    row("  open, sign, durable append (rest)", rest * 1e3, "ms", "share of the note", total * 1e3,
        rest / total, "");

    /* bulk: `rxledger batch` of BATCH_LINES notes (one key unlock, group commit) */
    char jl[4096];
    snprintf(jl, sizeof(jl), "%s/batch.jsonl", base);
    FILE *f = fopen(jl, "w");
    if (f == NULL)
        die("batch.jsonl", -1);
    for (int i = 0; i < BATCH_LINES; i++)
        fprintf(f,
                "{\"type\":\"note\",\"text\":\"Controlled-substance cabinet reconciled, "
                "round %d: counts match, seals intact.\"}\n",
                i);
    fclose(f);
    char *batch[] = {RXLEDGER_BIN, "-l", dir, "batch", "--key", ph, NULL};
    double tb = run_cli_in(batch, jl);
    char bfig[80];
    snprintf(bfig, sizeof(bfig), "bulk append, rxledger batch of %d notes", BATCH_LINES);
    row(bfig, BATCH_LINES / tb, "entries/s", "Ed25519 signs/s, one core", signs,
        BATCH_LINES / tb / signs, "");
    unlink(jl);
    unsetenv("RXLEDGER_PASSPHRASE");
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    char path[4096], small[4096], big[4096], file[4096];
    clinic_stats cs_small;
    uint64_t n = 1000000, bytes = 0;
    if (argc == 4 && strcmp(argv[1], "--clinic") == 0) {
        clinic_stats cs;
        site_k = seeded(1);
        pharm_k = seeded(2);
        ledger *l = empty_ledger(argv[2]);
        int rc = clinic_fill(l, site_k, pharm_k, strtoull(argv[3], NULL, 10),
                             (int64_t)(time(NULL) - 60) * 1000, &cs);
        ledger_close(l);
        if (rc != 0)
            die("clinic ledger", rc);
        printf("%llu entries, %llu sessions, %llu patients, %llu days\n",
               (unsigned long long)cs.entries, (unsigned long long)cs.sessions,
               (unsigned long long)cs.patients, (unsigned long long)cs.days);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--passes") == 0) { /* hash-only verify + audit pass */
        ledger *l = open_ledger(argv[2], true);
        ledger_verify_result r;
        policy_source src;
        policy_audit_opts ao = POLICY_AUDIT_INIT;
        policy_audit_summary sum;
        char why[256];
        int rc = ledger_snapshot_begin(l);
        double t0 = now_s();
        if (rc == 0)
            rc = ledger_verify(l, LEDGER_VERIFY_NO_SIGNATURES, NULL, NULL, &r);
        double dh = now_s() - t0;
        t0 = now_s();
        if (rc == 0 && (rc = policy_source_ledger_verified(&src, l)) == 0) {
            rc = policy_audit(&src, &ao, ignore_finding, NULL, &sum, why, sizeof(why));
            policy_source_ledger_close(&src);
        }
        double da = now_s() - t0;
        ledger_close(l);
        if (rc != 0)
            die("passes", rc);
        printf("verify --no-signatures %.0f entries/s, audit pass %.0f entries/s\n",
               (double)r.entries / dh, (double)r.entries / da);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "--proofs") == 0) { /* only the proof row's ledger */
        uint64_t pn = strtoull(argv[3], NULL, 10);
        double proof, one_read;
        site_k = seeded(1);
        pharm_k = seeded(2);
        srand((unsigned)time(NULL));
        ledger *l = proof_ledger(argv[2], pn);
        ledger_close(l);
        cache_file(argv[2]);
        l = open_ledger(argv[2], true);
        proof_times(l, pn, &proof, &one_read);
        ledger_close(l);
        printf("inclusion proof at size %llu: %.1f us (one read %.2f us)\n", (unsigned long long)pn,
               proof * 1e6, one_read * 1e6);
        return 0;
    }
    if (argc < 2 || argc > 3) {
        fprintf(stderr,
                "usage: rxl-bench DIR [N] | --clinic DIR N | --proofs DIR N | --passes DIR\n");
        return 2;
    }
    if (argc == 3)
        n = strtoull(argv[2], NULL, 10);
    if (n < 10000) {
        fprintf(stderr, "rxl-bench: N must be at least 10000\n");
        return 2;
    }
    mkdir(argv[1], 0700);
    site_k = seeded(1);
    pharm_k = seeded(2);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("rxl-bench: N = %llu entries, %ld cores\n\n", (unsigned long long)n, cores);
    printf("| %-44s | %-22s | %-44s | %12s | %6s | %-10s |\n", "figure", "value", "limit", "limit",
           "ratio", "target");
    printf("|%s|%s|%s|%s|%s|%s|\n", "----------------------------------------------",
           "------------------------", "----------------------------------------------",
           "--------------", "--------", "------------");

    /* durable single append */
    snprintf(path, sizeof(path), "%s/put", argv[1]);
    double put = durable_put(path);
    snprintf(path, sizeof(path), "%s/append", argv[1]);
    double app = lib_append(path);
    row("library append, durable (median of 200)", app * 1e6, "us", "minimal durable LMDB put",
        put * 1e6, app / put, "<= 1.3");
    double signs = ed25519_rate(false), verifies = ed25519_rate(true);
    note_end_to_end(argv[1], signs);

    /* the large ledger: a clinic's years (clinic.c), one transaction a day */
    snprintf(big, sizeof(big), "%s/big", argv[1]);
    clinic_stats cs;
    ledger *l = empty_ledger(big);
    double t0 = now_s();
    int rc = clinic_fill(l, site_k, pharm_k, n, (int64_t)(time(NULL) - 60) * 1000, &cs);
    double gen = now_s() - t0;
    if (rc != 0)
        die("clinic ledger", rc);
    ledger_close(l);
    n = cs.entries;
    struct stat sst;
    snprintf(file, sizeof(file), "%.4000s/data.mdb", big);
    double store_mb = stat(file, &sst) == 0 ? (double)sst.st_size / 1e6 : 0;
    row("bulk append, library (a day per txn)", (double)n / gen, "entries/s",
        "Ed25519 signs/s, one core", signs, (double)n / gen / signs, "");

    /* verify */
    l = open_ledger(big, true);
    ledger_verify_result r;
    t0 = now_s();
    rc = ledger_verify(l, 0, NULL, NULL, &r);
    double dv = now_s() - t0;
    if (rc != 0)
        die("verify", rc);
    const char *te = getenv("RXLEDGER_THREADS");
    long used = te != NULL ? strtol(te, NULL, 10) : cores;
    char vfig[80], vlim[80];
    snprintf(vfig, sizeof(vfig), "verify (signatures), %ld threads", used);
    snprintf(vlim, sizeof(vlim), "Ed25519 verifies/s (one core) x %ld", used);
    row(vfig, (double)n / dv, "entries/s", vlim, verifies * (double)used,
        (double)n / dv / (verifies * (double)used), ">= 0.8");
    /* hash-only verify, then the audit pass over the same snapshot, as
     * policy_audit_ledger (rxledger audit) does after its verify */
    if ((rc = ledger_snapshot_begin(l)) != 0)
        die("snapshot", rc);
    t0 = now_s();
    rc = ledger_verify(l, LEDGER_VERIFY_NO_SIGNATURES, NULL, NULL, &r);
    double dh = now_s() - t0;
    if (rc != 0)
        die("verify --no-signatures", rc);
    policy_source src;
    policy_audit_opts ao = POLICY_AUDIT_INIT;
    policy_audit_summary sum;
    char why[256];
    t0 = now_s();
    if ((rc = policy_source_ledger_verified(&src, l)) != 0 ||
        (rc = policy_audit(&src, &ao, ignore_finding, NULL, &sum, why, sizeof(why))) != 0)
        die("audit", rc);
    double da = now_s() - t0;
    policy_source_ledger_close(&src);
    ledger_snapshot_end(l);
    ledger_close(l);
    double scan = scan_and_hash(big, &bytes);
    row("verify --no-signatures", (double)n / dh, "entries/s", "LMDB cursor scan + SHA-256", scan,
        (double)n / dh / scan, ">= 1M/s");
    row("audit pass (after verify)", (double)n / da, "entries/s", "verify --no-signatures rate",
        (double)n / dh, dh / da, ">= 1M/s");
    l = open_ledger(big, true);

    /* proofs: at N on the clinic, at BENCH_PROOF_N (10M) on a kept ledger of notes */
    double proof, one_read;
    srand((unsigned)time(NULL));
    proof_times(l, n, &proof, &one_read);
    double reads = 1.0 + log2((double)n);
    row("inclusion proof at size N (median of 200)", proof * 1e6, "us", "1 + log2(N) LMDB reads",
        reads * one_read * 1e6, proof / (reads * one_read), "< 1 ms");
    ledger_close(l);
    const char *pn = getenv("BENCH_PROOF_N");
    uint64_t big_n = pn != NULL ? strtoull(pn, NULL, 10) : 10000000;
    if (big_n > 0) {
        const char *pd = getenv("BENCH_PROOF_DIR"); /* kept between runs by make bench */
        if (pd != NULL && *pd != '\0')
            snprintf(path, sizeof(path), "%s", pd);
        else
            snprintf(path, sizeof(path), "%s/proofs", argv[1]);
        l = proof_ledger(path, big_n);
        ledger_close(l);
        cache_file(path);
        l = open_ledger(path, true);
        proof_times(l, big_n, &proof, &one_read);
        reads = 1.0 + log2((double)big_n);
        char fig[80];
        snprintf(fig, sizeof(fig), "inclusion proof at size %lluM, file in page cache",
                 (unsigned long long)(big_n / 1000000));
        row(fig, proof * 1e6, "us", "1 + log2(size) LMDB reads", reads * one_read * 1e6,
            proof / (reads * one_read), "< 1 ms");
        ledger_close(l);
    }

    /* export and verify-export */
    snprintf(file, sizeof(file), "%s/export.cbor", argv[1]);
    l = open_ledger(big, false);
    FILE *f = fopen(file, "wb");
    ledger_export_opts eo = LEDGER_EXPORT_INIT;
    ledger_export_info info;
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    t0 = now_s();
    if ((rc = ledger_export_write(l, site_k, &eo, f, &info)) != 0)
        die("export", rc);
    fflush(f);
    fsync(fileno(f));
    double de = now_s() - t0;
    long fsize = ftell(f);
    fclose(f);
    ledger_close(l);
    /* the limit: writing and reading the same number of bytes */
    snprintf(path, sizeof(path), "%s/plain.bin", argv[1]);
    f = fopen(path, "wb");
    static uint8_t chunk[1 << 20];
    memset(chunk, 7, sizeof(chunk));
    t0 = now_s();
    for (long w = 0; w < fsize; w += (long)sizeof(chunk))
        fwrite(chunk, 1, sizeof(chunk), f);
    fflush(f);
    fsync(fileno(f));
    double dw = now_s() - t0;
    fclose(f);
    double mb = (double)fsize / 1e6;
    row("export (MB/s)", mb / de, "MB/s", "write + fsync of the same bytes", mb / dw, dw / de, "");
    uint8_t fpr[KEYS_FPR_BYTES], pub[KEYS_PUB_BYTES];
    keys_key_pub(site_k, pub);
    keys_fingerprint(fpr, pub);
    f = fopen(file, "rb");
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    ledger_export_reader *rd = NULL;
    ledger_entry e;
    t0 = now_s();
    rc = ledger_export_open(&rd, f, fpr);
    while (rc == 0)
        rc = ledger_export_next(rd, &e);
    double dx = now_s() - t0;
    if (rc != 1)
        die(ledger_export_why(rd), rc);
    ledger_export_close(rd);
    fclose(f);
    f = fopen(path, "rb");
    t0 = now_s();
    while (fread(chunk, 1, sizeof(chunk), f) == sizeof(chunk))
        ;
    double dr = now_s() - t0;
    fclose(f);
    row("verify-export (MB/s), signature pool", mb / dx, "MB/s", "reading the same bytes", mb / dr,
        dr / dx, "");

    /* flat memory: the same jobs at N/10 */
    snprintf(small, sizeof(small), "%s/small", argv[1]);
    l = empty_ledger(small);
    if ((rc = clinic_fill(l, site_k, pharm_k, n / 10, (int64_t)(time(NULL) - 60) * 1000,
                          &cs_small)) != 0)
        die("small clinic ledger", rc);
    ledger_close(l);
    const char *names[] = {"verify", "audit", "export"};
    char keyfile[4096], err[256];
    snprintf(keyfile, sizeof(keyfile), "%s/bench-site.key", argv[1]);
    unlink(keyfile);
    snprintf(path, sizeof(path), "%s/bench-site.pub", argv[1]);
    unlink(path);
    setenv("RXLEDGER_PASSPHRASE", "bench passphrase, cheap", 1);
    if (keys_save(site_k, keyfile, path, "Bench Clinic", "bench passphrase, cheap", 23, 10, err,
                  sizeof(err)) != 0)
        die(err, -1);
    for (job j = JOB_VERIFY; j <= JOB_EXPORT; j++) {
        char fig[80];
        long as, rs, ab, rb;
        peak_kib(small, j, file, keyfile, &as, &rs);
        peak_kib(big, j, file, keyfile, &ab, &rb);
        snprintf(fig, sizeof(fig), "peak own memory of rxledger %s at N (KiB)", names[j]);
        row(fig, (double)ab, "KiB", "the same at N/10", (double)as, (double)ab / (double)as,
            "~ 1.0");
        snprintf(fig, sizeof(fig), "peak RSS of %s at N, mapped file incl.", names[j]);
        row(fig, (double)rb, "KiB", "the same at N/10", (double)rs, (double)rb / (double)rs, "");
    }
    printf("\nledger: %llu entries, %llu sessions, %llu patients over %llu days; the audit "
           "judged %llu sessions (%llu without findings), %llu FAIL and %llu FLAG findings\n",
           (unsigned long long)n, (unsigned long long)cs.sessions, (unsigned long long)cs.patients,
           (unsigned long long)cs.days, (unsigned long long)sum.sessions,
           (unsigned long long)sum.sessions_passed, (unsigned long long)sum.fails,
           (unsigned long long)sum.flags);
    printf("export: %.1f MB for %llu entries (%.0f bytes/entry); store: %.1f MB of data.mdb "
           "(%.0f bytes/entry)\n",
           mb, (unsigned long long)n, (double)fsize / (double)n, store_mb,
           store_mb * 1e6 / (double)n);
    return 0;
}
