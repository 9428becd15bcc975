/* Unit tests of the regulator export, receipts and ledger_seq_at_time: every
 * range of a small ledger written and read back, truncated at every length,
 * altered at every byte; receipts for every entry under every checkpoint and
 * every pair of checkpoints. Real LMDB in temp directories and real OpenSSL. */
/* cmocka needs these headers before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "test_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/export.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger_int.h"

#define HB     LEDGER_HASH_BYTES
#define T0     1795381500000 /* 2026-11-22T21:05:00Z */
#define N_MAX  64            /* most entries a fixture holds */
#define N_CPS  6             /* checkpoints of the receipt fixture */
#define NONE   UINT64_MAX    /* an entry naming no other */
#define T_STEP 1000          /* ms between the range fixture's entries */
#define P_FROM 4             /* the partial export of the small ledger: context, */
#define P_TO   9             /* left and right hashes, an amendment naming the context */

/* The ledger's clock in these tests: every entry is recorded at a chosen time. */
static int64_t clock_ms;
static int64_t test_clock(void)
{
    return clock_ms;
}

typedef struct efx {
    char dir[64];
    ledger *l;
    keys_key *site, *pharm, *nurse, *admin, *presc;
    uint8_t fpr[KEYS_FPR_BYTES];
    uint64_t n; /* entries */
    char type[N_MAX][LEDGER_TYPE_MAX + 1];
    uint64_t ref[N_MAX]; /* the entry an amend names, or NONE */
    int64_t rt[N_MAX];   /* recorded times */
    uint8_t hash[N_MAX][HB];
    uint8_t *bytes[N_MAX]; /* as ledger_get() returns them */
    size_t len[N_MAX];
    /* the receipt fixture: checkpoints made along the way */
    const uint64_t *cp_at; /* sizes to checkpoint at */
    size_t ncp;
    uint8_t cp[N_CPS][LEDGER_CHECKPOINT_MAX];
    size_t cplen[N_CPS];
    ledger_checkpoint cpinfo[N_CPS];
} efx;

static keys_key *seeded(uint8_t tag)
{
    uint8_t seed[KEYS_SEED_BYTES];
    keys_key *k = NULL;
    for (size_t i = 0; i < sizeof(seed); i++)
        seed[i] = (uint8_t)(tag + 7 * i);
    assert_int_equal(keys_from_seed(&k, seed), 0);
    return k;
}

static ledger_body *new_body(void)
{
    ledger_body *b = NULL;
    assert_int_equal(ledger_body_new(&b), 0);
    return b;
}

/* After an append: record what was written, checkpoint when the size is one asked for. */
static void appended(efx *f, const char *type, uint64_t ref)
{
    uint64_t count = 0;
    uint8_t head[HB];
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(count, f->n + 1);
    assert_true(f->n < N_MAX);
    (void)snprintf(f->type[f->n], sizeof(f->type[f->n]), "%s", type);
    f->ref[f->n] = ref;
    f->rt[f->n] = clock_ms;
    memcpy(f->hash[f->n], head, HB);
    f->n++;
    for (size_t i = 0; i < f->ncp; i++) {
        if (f->cp_at[i] != f->n)
            continue;
        assert_int_equal(ledger_checkpoint_make(f->l, f->site, f->cp[i], sizeof(f->cp[i]),
                                                &f->cplen[i], &f->cpinfo[i]),
                         0);
        assert_int_equal(f->cpinfo[i].size, f->n);
    }
}

static void add(efx *f, keys_key *k, const char *type, ledger_body *b, uint64_t ref)
{
    ledger_append_opts o = LEDGER_APPEND_INIT;
    ledger_appended ap;
    clock_ms += T_STEP;
    o.type = type;
    o.body = b;
    int rc = ledger_append(f->l, k, &o, &ap);
    if (rc != 0)
        print_error("append %s: %s\n", type, ledger_errmsg(f->l));
    assert_int_equal(rc, 0);
    assert_int_equal(ap.recorded_ms, clock_ms);
    ledger_body_free(b);
    appended(f, type, ref);
}

static void add_note(efx *f, keys_key *k, const char *text)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_text(b, "text", text), 0);
    add(f, k, "note", b, NONE);
}

static void add_enroll(efx *f, keys_key *k, const char *name, const char *role)
{
    clock_ms += T_STEP;
    assert_int_equal(rxt_enroll(f->l, f->site, k, name, role, T0 - 1000000, 0, 0), 0);
    appended(f, "key.enroll", NONE);
}

static void add_revoke(efx *f, keys_key *k)
{
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
    ledger_body *b = new_body();
    keys_key_pub(k, pub);
    keys_kid(kid, pub);
    assert_int_equal(ledger_body_put_bytes(b, "kid", kid, sizeof(kid)), 0);
    assert_int_equal(ledger_body_put_text(b, "reason", "left the clinic"), 0);
    add(f, f->site, "key.revoke", b, NONE);
}

/* An amendment of entry @p ref (its text corrected). */
static void add_amend(efx *f, keys_key *k, uint64_t ref)
{
    ledger_body *b = new_body(), *set = new_body();
    assert_int_equal(ledger_body_put_uint(b, "ref", ref), 0);
    assert_int_equal(ledger_body_put_bytes(b, "ref-hash", f->hash[ref], HB), 0);
    assert_int_equal(ledger_body_put_text(b, "reason", "wrong room written"), 0);
    assert_int_equal(ledger_body_put_text(set, "text", "room 2"), 0);
    assert_int_equal(ledger_body_put_map(b, "set", set), 0);
    ledger_body_free(set);
    add(f, k, "amend", b, ref);
}

static efx *fixture_new(void)
{
    efx *f = calloc(1, sizeof(*f));
    char err[256];
    uint8_t pub[KEYS_PUB_BYTES];
    assert_non_null(f);
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/rxl-export-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->site = seeded(1);
    f->pharm = seeded(2);
    f->nurse = seeded(3);
    f->admin = seeded(4);
    f->presc = seeded(5);
    keys_key_pub(f->site, pub);
    keys_fingerprint(f->fpr, pub);
    ledger__test_clock = test_clock;
    clock_ms = T0;
    assert_int_equal(ledger_open(&f->l, f->dir, LEDGER_OPEN_CREATE, err, sizeof(err)), 0);
    return f;
}

static void genesis(efx *f)
{
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "BJ6125341", NULL), 0);
    appended(f, "genesis", NONE);
    assert_int_equal(f->rt[0], T0);
}

static void load_bytes(efx *f)
{
    for (uint64_t s = 0; s < f->n; s++) {
        f->bytes[s] = malloc(LEDGER_MAX_ENTRY_BYTES);
        assert_non_null(f->bytes[s]);
        assert_int_equal(ledger_get(f->l, s, f->bytes[s], LEDGER_MAX_ENTRY_BYTES, &f->len[s]), 0);
    }
}

static void verify_ok(efx *f)
{
    ledger_verify_result r;
    assert_int_equal(rxt_verify(f->l, &r), 0);
    assert_false(r.failed);
    assert_int_equal(r.entries, f->n);
}

/* 12 entries: enrolments, a key enrolled, used and revoked, notes by four
 * signers (the site's too), and an amendment naming an entry six back.
 * Checkpoints at f->cp_at's sizes. */
static void build_12(efx *f)
{
    genesis(f);                                                /* 0 */
    add_enroll(f, f->pharm, "Jane Roe, PharmD", "pharmacist"); /* 1 */
    add_enroll(f, f->nurse, "Ann Lee, RN", "nurse");           /* 2 */
    add_note(f, f->nurse, "patient in room 3");                /* 3 */
    add_enroll(f, f->admin, "Bo Clerk", "admin");              /* 4 */
    add_note(f, f->admin, "front desk staffed");               /* 5 */
    add_revoke(f, f->admin);                                   /* 6 */
    add_note(f, f->site, "site note");                         /* 7 */
    add_note(f, f->pharm, "safe counted");                     /* 8 */
    add_amend(f, f->nurse, 3);                                 /* 9 */
    add_note(f, f->pharm, "fridge 4C");                        /* 10 */
    add_note(f, f->nurse, "vitals taken");                     /* 11 */
    assert_int_equal(f->n, 12);
}

/* 22: the 12, then an amendment naming an entry two before it and a key
 * enrolled late. */
static void build_22(efx *f)
{
    build_12(f);
    add_note(f, f->pharm, "second count");           /* 12 */
    add_note(f, f->site, "inspection booked");       /* 13 */
    add_note(f, f->nurse, "discharged at noon");     /* 14 */
    add_note(f, f->pharm, "lot L7 opened");          /* 15 */
    add_amend(f, f->pharm, 14);                      /* 16 */
    add_note(f, f->nurse, "handover");               /* 17 */
    add_enroll(f, f->presc, "Dr Kim", "prescriber"); /* 18 */
    add_note(f, f->presc, "plan reviewed");          /* 19 */
    add_note(f, f->pharm, "closing count");          /* 20 */
    add_note(f, f->nurse, "closing note");           /* 21 */
    assert_int_equal(f->n, 22);
}

static int setup_range(void **state)
{
    efx *f = fixture_new();
    build_22(f);
    load_bytes(f);
    verify_ok(f);
    *state = f;
    return 0;
}

/* The smaller ledger the tests that read an export thousands of times use. */
static int setup_small(void **state)
{
    efx *f = fixture_new();
    build_12(f);
    load_bytes(f);
    verify_ok(f);
    *state = f;
    return 0;
}

static const uint64_t receipt_sizes[N_CPS] = {1, 2, 5, 8, 13, 22};

static int setup_receipts(void **state)
{
    efx *f = fixture_new();
    f->cp_at = receipt_sizes;
    f->ncp = N_CPS;
    build_22(f);
    load_bytes(f);
    verify_ok(f);
    *state = f;
    return 0;
}

static int setup_bare(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    efx *f = *state;
    ledger_close(f->l);
    keys_free(f->site);
    keys_free(f->pharm);
    keys_free(f->nurse);
    keys_free(f->admin);
    keys_free(f->presc);
    for (uint64_t s = 0; s < f->n; s++)
        free(f->bytes[s]);
    assert_int_equal(rxt_rm_rf(f->dir), 0);
    free(f);
    ledger__test_clock = NULL;
    return 0;
}

/* ---- writing and reading exports ---- */

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static int export_to(efx *f, uint64_t from, uint64_t to, blob *out, ledger_export_info *info)
{
    ledger_export_opts o = LEDGER_EXPORT_INIT;
    FILE *fp = tmpfile();
    assert_non_null(fp);
    o.from_seq = from;
    o.to_seq = to;
    out->p = NULL;
    out->n = 0;
    int rc = ledger_export_write(f->l, f->site, &o, fp, info);
    if (rc == 0) {
        assert_int_equal(fflush(fp), 0);
        assert_int_equal(fseek(fp, 0, SEEK_END), 0);
        long end = ftell(fp);
        assert_true(end > 0);
        out->n = (size_t)end;
        out->p = malloc(out->n);
        assert_non_null(out->p);
        rewind(fp);
        assert_int_equal(fread(out->p, 1, out->n, fp), out->n);
    }
    fclose(fp);
    return rc;
}

static void export_ok(efx *f, uint64_t from, uint64_t to, blob *out, ledger_export_info *info)
{
    int rc = export_to(f, from, to, out, info);
    if (rc != 0)
        print_error("export %llu..%llu: %s\n", (unsigned long long)from, (unsigned long long)to,
                    ledger_errmsg(f->l));
    assert_int_equal(rc, 0);
}

/* A read stream over @p n bytes at @p p (which must outlive it). */
static FILE *stream(uint8_t *p, size_t n)
{
    FILE *fp = n == 0 ? tmpfile() : fmemopen(p, n, "rb");
    assert_non_null(fp);
    return fp;
}

typedef struct run {
    int open_rc;      /* ledger_export_open's */
    int rc;           /* the last call's: 1 when the export checked to its end */
    uint64_t entries; /* entries returned */
    char why[LEDGER_ERRMSG_MAX];
    ledger_export_info info;
} run;

/* Read an export to its end or its first problem. */
static void read_export(uint8_t *p, size_t n, const uint8_t fpr[KEYS_FPR_BYTES], run *out)
{
    ledger_export_reader *r = NULL;
    ledger_entry e;
    FILE *fp = stream(p, n);
    memset(out, 0, sizeof(*out));
    out->open_rc = out->rc = ledger_export_open(&r, fp, fpr);
    assert_non_null(r);
    if (out->rc == 0) {
        while ((out->rc = ledger_export_next(r, &e)) == 0)
            out->entries++;
    }
    (void)snprintf(out->why, sizeof(out->why), "%s", ledger_export_why(r));
    ledger_export_get_info(r, &out->info);
    ledger_export_close(r);
    fclose(fp);
}

static bool is_context_type(const char *t)
{
    return strcmp(t, "genesis") == 0 || strcmp(t, "key.enroll") == 0 ||
           strcmp(t, "key.revoke") == 0;
}

/* docs/format.md 5c: before the range, every entry that defines keys, and every
 * entry an amendment in the range names. */
static size_t want_context(const efx *f, uint64_t from, uint64_t to, uint64_t *seqs)
{
    size_t n = 0;
    for (uint64_t s = 0; s < from; s++) {
        bool named = false;
        for (uint64_t a = from; a <= to; a++)
            named = named || f->ref[a] == s;
        if (is_context_type(f->type[s]) || named)
            seqs[n++] = s;
    }
    return n;
}

static void check_trailer(efx *f, const ledger_checkpoint *cp)
{
    uint8_t root[HB], kid[KEYS_KID_BYTES], pub[KEYS_PUB_BYTES];
    keys_key_pub(f->site, pub);
    keys_kid(kid, pub);
    assert_int_equal(cp->size, f->n);
    assert_int_equal(ledger_merkle_root(f->l, f->n, root), 0);
    assert_memory_equal(cp->root, root, HB);
    assert_memory_equal(cp->head, f->hash[f->n - 1], HB);
    assert_memory_equal(cp->site, kid, KEYS_KID_BYTES);
    assert_int_equal(cp->time_ms, clock_ms);
}

/* One export read back: the right entries, byte for byte, the right context, the end. */
static void check_range(efx *f, uint64_t from, uint64_t to)
{
    blob x;
    ledger_export_info wi, ri;
    ledger_export_reader *r = NULL;
    ledger_entry e;
    uint64_t want_ctx[N_MAX];
    size_t nctx = want_context(f, from, to, want_ctx);
    export_ok(f, from, to, &x, &wi);
    assert_int_equal(wi.from, from);
    assert_int_equal(wi.count, to - from + 1);
    assert_int_equal(wi.size, f->n);
    assert_int_equal(wi.context, nctx);
    assert_int_equal(wi.identities, 0);
    assert_memory_equal(wi.site_fpr, f->fpr, KEYS_FPR_BYTES);
    check_trailer(f, &wi.trailer);

    FILE *fp = stream(x.p, x.n);
    int rc = ledger_export_open(&r, fp, f->fpr);
    if (rc != 0)
        print_error("export %llu..%llu: open: %s\n", (unsigned long long)from,
                    (unsigned long long)to, ledger_export_why(r));
    assert_int_equal(rc, 0);
    ledger_export_get_info(r, &ri);
    assert_int_equal(ri.from, from);
    assert_int_equal(ri.count, to - from + 1);
    assert_int_equal(ri.size, f->n);
    assert_int_equal(ri.context, nctx);
    assert_int_equal(ri.identities, 0);
    if (from > 0) /* from the genesis entry in the header; from 0, once it is read */
        assert_memory_equal(ri.site_fpr, f->fpr, KEYS_FPR_BYTES);
    for (uint64_t i = 0; i < nctx; i++) {
        assert_int_equal(ledger_export_context(r, i, &e), 0);
        assert_true(e.seq < from);
        assert_int_equal(e.seq, want_ctx[i]);
        assert_int_equal(e.len, f->len[e.seq]);
        assert_memory_equal(e.bytes, f->bytes[e.seq], e.len);
    }
    if (from > 0) {
        assert_true(nctx >= 1);
        assert_int_equal(ledger_export_context(r, 0, &e), 0);
        assert_int_equal(e.seq, 0);
        assert_string_equal(e.type, "genesis");
    }
    assert_int_equal(ledger_export_context(r, nctx, &e), LEDGER_ENOTFOUND);
    for (uint64_t s = from; s <= to; s++) {
        assert_int_equal(ledger_export_position(r), s);
        rc = ledger_export_next(r, &e);
        if (rc != 0)
            print_error("export %llu..%llu: entry %llu: %s\n", (unsigned long long)from,
                        (unsigned long long)to, (unsigned long long)s, ledger_export_why(r));
        assert_int_equal(rc, 0);
        assert_int_equal(e.seq, s);
        assert_string_equal(e.type, f->type[s]);
        assert_int_equal(e.len, f->len[s]);
        assert_memory_equal(e.bytes, f->bytes[s], e.len);
        assert_memory_equal(e.hash, f->hash[s], HB);
    }
    rc = ledger_export_next(r, &e);
    if (rc != 1)
        print_error("export %llu..%llu: end: %s\n", (unsigned long long)from,
                    (unsigned long long)to, ledger_export_why(r));
    assert_int_equal(rc, 1);
    assert_int_equal(ledger_export_next(r, &e), 1); /* and stays at the end */
    assert_int_equal(ledger_export_position(r), to + 1);
    ledger_export_get_info(r, &ri);
    assert_memory_equal(ri.site_fpr, f->fpr, KEYS_FPR_BYTES);
    check_trailer(f, &ri.trailer);
    assert_memory_equal(&ri.trailer, &wi.trailer, sizeof(ri.trailer));
    ledger_export_close(r);
    fclose(fp);
    free(x.p);
}

static void test_export_every_range(void **state)
{
    efx *f = *state;
    unsigned ranges = 0;
    for (uint64_t from = 0; from < f->n; from++) {
        for (uint64_t to = from; to < f->n; to++) {
            check_range(f, from, to);
            ranges++;
        }
    }
    assert_int_equal(ranges, f->n * (f->n + 1) / 2);
    verify_ok(f); /* the checkpoints the exports stored are good ones */
}

static int count_cp(const uint8_t *p, size_t n, const ledger_checkpoint *cp, void *ud)
{
    (void)p;
    (void)n;
    (void)cp;
    (*(unsigned *)ud)++;
    return 0;
}

static unsigned stored_checkpoints(efx *f)
{
    unsigned n = 0;
    assert_int_equal(ledger_checkpoint_each(f->l, count_cp, &n), 0);
    return n;
}

static void test_export_range_bounds(void **state)
{
    efx *f = *state;
    blob x;
    ledger_export_info wi;
    run got;
    /* outside the ledger: refused before anything is signed or stored */
    unsigned before = stored_checkpoints(f);
    assert_int_equal(export_to(f, f->n, f->n, &x, &wi), LEDGER_EINVAL);
    assert_int_equal(export_to(f, f->n, NONE, &x, &wi), LEDGER_EINVAL);
    assert_int_equal(export_to(f, 7, 6, &x, &wi), LEDGER_EINVAL);
    assert_int_equal(export_to(f, NONE, NONE, &x, &wi), LEDGER_EINVAL);
    assert_int_equal(stored_checkpoints(f), before);
    /* past the end: up to the last entry there is */
    export_ok(f, 9, f->n + 40, &x, &wi);
    assert_int_equal(wi.count, f->n - 9);
    assert_int_equal(stored_checkpoints(f), before + 1);
    read_export(x.p, x.n, f->fpr, &got);
    assert_int_equal(got.rc, 1);
    assert_int_equal(got.entries, f->n - 9);
    free(x.p);
    /* the default options: everything */
    ledger_export_opts o = LEDGER_EXPORT_INIT;
    assert_int_equal(o.from_seq, 0);
    assert_int_equal(o.to_seq, NONE);
    export_ok(f, 0, NONE, &x, &wi);
    assert_int_equal(wi.count, f->n);
    assert_int_equal(wi.context, 0);
    read_export(x.p, x.n, f->fpr, &got);
    assert_int_equal(got.rc, 1);
    assert_int_equal(got.entries, f->n);
    free(x.p);
}

/* ---- truncation and alteration ---- */

static void expect_refused(uint8_t *p, size_t n, const uint8_t fpr[KEYS_FPR_BYTES],
                           const char *what, size_t at)
{
    run got;
    read_export(p, n, fpr, &got);
    if (got.rc != LEDGER_EVERIFY || got.why[0] == '\0')
        print_error("%s %zu of %zu: rc %d after %llu entries, why \"%s\"\n", what, at, n, got.rc,
                    (unsigned long long)got.entries, got.why);
    assert_int_equal(got.rc, LEDGER_EVERIFY);
    assert_true(got.why[0] != '\0');
}

static void test_export_truncated_anywhere_fails(void **state)
{
    efx *f = *state;
    blob x;
    ledger_export_info wi;
    run got;
    export_ok(f, P_FROM, P_TO, &x, &wi);
    assert_int_equal(wi.context, 4); /* genesis, two enrolments, the entry 9 amends */
    read_export(x.p, x.n, f->fpr, &got);
    assert_int_equal(got.rc, 1);
    assert_int_equal(got.entries, P_TO - P_FROM + 1);
    for (size_t len = 0; len < x.n; len++)
        expect_refused(x.p, len, f->fpr, "prefix of length", len);
    /* and one byte more than the export: data after the trailer */
    uint8_t *longer = malloc(x.n + 1);
    assert_non_null(longer);
    memcpy(longer, x.p, x.n);
    longer[x.n] = 0x00;
    expect_refused(longer, x.n + 1, f->fpr, "one byte appended, length", x.n + 1);
    /* two exports back to back */
    uint8_t *twice = malloc(2 * x.n);
    assert_non_null(twice);
    memcpy(twice, x.p, x.n);
    memcpy(twice + x.n, x.p, x.n);
    expect_refused(twice, 2 * x.n, f->fpr, "doubled, length", 2 * x.n);
    free(twice);
    free(longer);
    free(x.p);
}

static void flip_every_byte(efx *f, uint64_t from, uint64_t to)
{
    blob x;
    ledger_export_info wi;
    run got;
    char what[64];
    export_ok(f, from, to, &x, &wi);
    read_export(x.p, x.n, f->fpr, &got);
    assert_int_equal(got.rc, 1);
    (void)snprintf(what, sizeof(what), "export %llu..%llu, bit 0 flipped at byte",
                   (unsigned long long)from, (unsigned long long)to);
    for (size_t i = 0; i < x.n; i++) {
        x.p[i] ^= 0x01;
        expect_refused(x.p, x.n, f->fpr, what, i);
        x.p[i] ^= 0x01;
    }
    /* unaltered again: still good */
    read_export(x.p, x.n, f->fpr, &got);
    assert_int_equal(got.rc, 1);
    free(x.p);
}

static void test_export_every_byte_flip_fails(void **state)
{
    efx *f = *state;
    flip_every_byte(f, P_FROM, P_TO);
    flip_every_byte(f, 0, f->n - 1);
}

static void test_export_wrong_fingerprint_fails(void **state)
{
    efx *f = *state;
    blob x;
    ledger_export_info wi;
    run got;
    uint8_t other[KEYS_FPR_BYTES], pub[KEYS_PUB_BYTES];
    export_ok(f, P_FROM, P_TO, &x, &wi);
    for (size_t i = 0; i < KEYS_FPR_BYTES; i += 7) {
        memcpy(other, f->fpr, sizeof(other));
        other[i] ^= 0x80;
        read_export(x.p, x.n, other, &got);
        assert_int_equal(got.open_rc, LEDGER_EVERIFY); /* the genesis is in the header */
        assert_int_equal(got.entries, 0);
        assert_non_null(strstr(got.why, "fingerprint"));
    }
    /* another key's fingerprint (a key the site enrolled) */
    keys_key_pub(f->pharm, pub);
    keys_fingerprint(other, pub);
    read_export(x.p, x.n, other, &got);
    assert_int_equal(got.open_rc, LEDGER_EVERIFY);
    free(x.p);
    /* a full export carries its genesis as the first entry: refused there */
    export_ok(f, 0, f->n - 1, &x, &wi);
    memcpy(other, f->fpr, sizeof(other));
    other[KEYS_FPR_BYTES - 1] ^= 0x01;
    read_export(x.p, x.n, other, &got);
    assert_int_equal(got.rc, LEDGER_EVERIFY);
    assert_int_equal(got.entries, 0);
    assert_non_null(strstr(got.why, "fingerprint"));
    free(x.p);
}

/* An export cut into its items: header, the range's entries (as stored), trailer. */
typedef struct items {
    uint64_t from, to;
    size_t hdr;     /* header length */
    size_t tr, trn; /* trailer offset and length */
} items;

static void split(const efx *f, const blob *x, uint64_t from, uint64_t to, items *it)
{
    size_t body = 0;
    for (uint64_t s = from; s <= to; s++)
        body += f->len[s];
    it->from = from;
    it->to = to;
    it->hdr = 0;
    while (it->hdr + f->len[from] <= x->n &&
           memcmp(x->p + it->hdr, f->bytes[from], f->len[from]) != 0)
        it->hdr++;
    assert_true(it->hdr + body < x->n);
    it->tr = it->hdr + body;
    it->trn = x->n - it->tr;
    /* the entries follow one another, byte for byte as stored */
    size_t off = it->hdr;
    for (uint64_t s = from; s <= to; s++) {
        assert_memory_equal(x->p + off, f->bytes[s], f->len[s]);
        off += f->len[s];
    }
}

/* Header of @p hx, then the entries @p seqs[0..n), then the trailer of @p tx. */
static blob splice(const efx *f, const blob *hx, const items *hi, const uint64_t *seqs, size_t n,
                   const blob *tx, const items *ti)
{
    blob b;
    size_t len = hi->hdr + ti->trn;
    for (size_t i = 0; i < n; i++)
        len += f->len[seqs[i]];
    b.p = malloc(len);
    assert_non_null(b.p);
    memcpy(b.p, hx->p, hi->hdr);
    b.n = hi->hdr;
    for (size_t i = 0; i < n; i++) {
        memcpy(b.p + b.n, f->bytes[seqs[i]], f->len[seqs[i]]);
        b.n += f->len[seqs[i]];
    }
    memcpy(b.p + b.n, tx->p + ti->tr, ti->trn);
    b.n += ti->trn;
    assert_int_equal(b.n, len);
    return b;
}

static void expect_splice(const efx *f, const blob *hx, const items *hi, const uint64_t *seqs,
                          size_t n, const blob *tx, const items *ti, int want, const char *what)
{
    run got;
    blob b = splice(f, hx, hi, seqs, n, tx, ti);
    read_export(b.p, b.n, f->fpr, &got);
    if (got.rc != want)
        print_error("%s: rc %d after %llu entries (%s)\n", what, got.rc,
                    (unsigned long long)got.entries, got.why);
    assert_int_equal(got.rc, want);
    if (want == LEDGER_EVERIFY)
        assert_true(got.why[0] != '\0');
    free(b.p);
}

static size_t range_seqs(uint64_t *v, uint64_t from, uint64_t to)
{
    size_t n = 0;
    for (uint64_t s = from; s <= to; s++)
        v[n++] = s;
    return n;
}

static void test_export_spliced_items_fail(void **state)
{
    efx *f = *state;
    blob a, b, full, grown;
    items ia, ib, ifull, igrown;
    ledger_export_info wi;
    uint64_t v[N_MAX + 1];
    char what[96];
    export_ok(f, P_FROM, P_TO, &a, &wi);
    split(f, &a, P_FROM, P_TO, &ia);
    export_ok(f, P_FROM + 1, P_TO + 1, &b, &wi);
    split(f, &b, P_FROM + 1, P_TO + 1, &ib);
    export_ok(f, 0, f->n - 1, &full, &wi);
    split(f, &full, 0, f->n - 1, &ifull);

    /* put back together unchanged: good (the splicing itself is sound) */
    size_t n = range_seqs(v, P_FROM, P_TO);
    expect_splice(f, &a, &ia, v, n, &a, &ia, 1, "the partial export as written");
    n = range_seqs(v, 0, f->n - 1);
    expect_splice(f, &full, &ifull, v, n, &full, &ifull, 1, "full as written");

    /* an entry dropped, duplicated, swapped with the next, or replaced by another */
    for (uint64_t k = P_FROM; k <= P_TO; k++) {
        uint64_t src[N_MAX + 1];
        size_t m = 0;
        for (uint64_t s = P_FROM; s <= P_TO; s++)
            if (s != k)
                src[m++] = s;
        (void)snprintf(what, sizeof(what), "the partial export without %llu",
                       (unsigned long long)k);
        expect_splice(f, &a, &ia, src, m, &a, &ia, LEDGER_EVERIFY, what);
        m = 0;
        for (uint64_t s = P_FROM; s <= P_TO; s++) {
            src[m++] = s;
            if (s == k)
                src[m++] = s;
        }
        (void)snprintf(what, sizeof(what), "the partial export with %llu twice",
                       (unsigned long long)k);
        expect_splice(f, &a, &ia, src, m, &a, &ia, LEDGER_EVERIFY, what);
        n = range_seqs(src, P_FROM, P_TO);
        if (k < P_TO) {
            src[k - P_FROM] = k + 1;
            src[k - P_FROM + 1] = k;
            (void)snprintf(what, sizeof(what), "the partial export with %llu and %llu swapped",
                           (unsigned long long)k, (unsigned long long)k + 1);
            expect_splice(f, &a, &ia, src, n, &a, &ia, LEDGER_EVERIFY, what);
        }
        for (uint64_t o = 0; o < f->n; o++) {
            if (o == k)
                continue;
            n = range_seqs(src, P_FROM, P_TO);
            src[k - P_FROM] = o;
            (void)snprintf(what, sizeof(what), "the partial export with %llu in place of %llu",
                           (unsigned long long)o, (unsigned long long)k);
            expect_splice(f, &a, &ia, src, n, &a, &ia, LEDGER_EVERIFY, what);
        }
    }
    /* the full export without its genesis, or with two */
    n = range_seqs(v, 1, f->n - 1);
    expect_splice(f, &full, &ifull, v, n, &full, &ifull, LEDGER_EVERIFY, "full without 0");
    v[0] = 0;
    n = range_seqs(v + 1, 0, f->n - 1) + 1;
    expect_splice(f, &full, &ifull, v, n, &full, &ifull, LEDGER_EVERIFY, "full with 0 twice");

    /* a header taken from another export of as many entries */
    n = range_seqs(v, P_FROM, P_TO);
    expect_splice(f, &b, &ib, v, n, &a, &ia, LEDGER_EVERIFY, "the next range's header");
    n = range_seqs(v, P_FROM + 1, P_TO + 1);
    expect_splice(f, &a, &ia, v, n, &b, &ib, LEDGER_EVERIFY,
                  "the header on the next range's entries");
    /* two trailers */
    n = range_seqs(v, P_FROM, P_TO);
    blob twice = splice(f, &a, &ia, v, n, &a, &ia);
    uint8_t *p = realloc(twice.p, twice.n + ia.trn);
    assert_non_null(p);
    memcpy(p + twice.n, a.p + ia.tr, ia.trn);
    run got;
    read_export(p, twice.n + ia.trn, f->fpr, &got);
    assert_int_equal(got.rc, LEDGER_EVERIFY);
    free(p);

    /* the ledger grows: the old export still verifies on its own, but its
     * trailer and a new export's cannot be exchanged */
    add_note(f, f->pharm, "after the export");
    f->bytes[f->n - 1] = malloc(LEDGER_MAX_ENTRY_BYTES);
    assert_non_null(f->bytes[f->n - 1]);
    assert_int_equal(
        ledger_get(f->l, f->n - 1, f->bytes[f->n - 1], LEDGER_MAX_ENTRY_BYTES, &f->len[f->n - 1]),
        0);
    read_export(a.p, a.n, f->fpr, &got);
    assert_int_equal(got.rc, 1);
    assert_int_equal(got.info.size, f->n - 1);
    export_ok(f, P_FROM, P_TO, &grown, &wi);
    assert_int_equal(wi.size, f->n);
    split(f, &grown, P_FROM, P_TO, &igrown);
    n = range_seqs(v, P_FROM, P_TO);
    expect_splice(f, &grown, &igrown, v, n, &grown, &igrown, 1,
                  "the partial export of the grown ledger");
    expect_splice(f, &a, &ia, v, n, &grown, &igrown, LEDGER_EVERIFY, "old header, new trailer");
    expect_splice(f, &grown, &igrown, v, n, &a, &ia, LEDGER_EVERIFY, "new header, old trailer");
    free(a.p);
    free(b.p);
    free(full.p);
    free(grown.p);
}

/* A ledger of one entry exports and reads back; an empty one cannot export. */
static void test_export_tiny_ledgers(void **state)
{
    efx *f = *state;
    blob x;
    ledger_export_info wi;
    run got;
    ledger_entry e;
    ledger_export_reader *r = NULL;
    assert_int_equal(export_to(f, 0, NONE, &x, &wi), LEDGER_EINVAL);
    genesis(f);
    load_bytes(f);
    export_ok(f, 0, NONE, &x, &wi);
    assert_int_equal(wi.count, 1);
    assert_int_equal(wi.size, 1);
    check_trailer(f, &wi.trailer);
    FILE *fp = stream(x.p, x.n);
    assert_int_equal(ledger_export_open(&r, fp, f->fpr), 0);
    assert_int_equal(ledger_export_next(r, &e), 0);
    assert_int_equal(e.seq, 0);
    assert_int_equal(e.len, f->len[0]);
    assert_memory_equal(e.bytes, f->bytes[0], e.len);
    assert_int_equal(ledger_export_next(r, &e), 1);
    ledger_export_close(r);
    fclose(fp);
    for (size_t i = 0; i < x.n; i++) {
        x.p[i] ^= 0x01;
        expect_refused(x.p, x.n, f->fpr, "one-entry export, bit 0 flipped at byte", i);
        x.p[i] ^= 0x01;
    }
    for (size_t len = 0; len < x.n; len++)
        expect_refused(x.p, len, f->fpr, "one-entry export cut to length", len);
    read_export(x.p, x.n, f->fpr, &got);
    assert_int_equal(got.rc, 1);
    free(x.p);
}

/* ---- receipts ---- */

/* Flip each byte's bit 0 in turn: the receipt never verifies. */
static void receipt_flips_fail(uint8_t *rcpt, size_t n, const uint8_t *subj, size_t slen,
                               const uint8_t fpr[KEYS_FPR_BYTES], const char *what)
{
    ledger_receipt_info info;
    char why[LEDGER_ERRMSG_MAX];
    for (size_t i = 0; i < n; i++) {
        rcpt[i] ^= 0x01;
        int rc = ledger_receipt_verify(rcpt, n, subj, slen, fpr, &info, why, sizeof(why));
        if (rc == 0)
            print_error("%s: verifies with bit 0 of byte %zu of %zu flipped\n", what, i, n);
        assert_int_not_equal(rc, 0);
        assert_true(rc == LEDGER_EVERIFY || rc == LEDGER_EENCODING);
        rcpt[i] ^= 0x01;
    }
}

static void test_export_receipts_inclusion(void **state)
{
    efx *f = *state;
    uint8_t rcpt[LEDGER_RECEIPT_MAX], root[HB], other[KEYS_FPR_BYTES];
    size_t rn = 0;
    ledger_checkpoint cp;
    ledger_receipt_info info;
    char why[LEDGER_ERRMSG_MAX], what[64];
    unsigned receipts = 0;
    for (size_t c = 0; c < f->ncp; c++) {
        const uint64_t size = f->cp_at[c];
        assert_int_equal(ledger_merkle_root(f->l, size, root), 0);
        for (uint64_t seq = 0; seq < size; seq++) {
            assert_int_equal(
                ledger_receipt_inclusion(f->l, seq, size, rcpt, sizeof(rcpt), &rn, &cp), 0);
            assert_true(rn > 0 && rn <= sizeof(rcpt));
            assert_int_equal(cp.size, size);
            assert_memory_equal(&cp, &f->cpinfo[c], sizeof(cp));
            int rc = ledger_receipt_verify(rcpt, rn, f->bytes[seq], f->len[seq], f->fpr, &info, why,
                                           sizeof(why));
            if (rc != 0)
                print_error("receipt %llu in %llu: %s\n", (unsigned long long)seq,
                            (unsigned long long)size, why);
            assert_int_equal(rc, 0);
            assert_int_equal(info.kind, LEDGER_RECEIPT_INCLUSION);
            assert_int_equal(info.index, seq);
            assert_int_equal(info.cp.size, size);
            assert_memory_equal(info.cp.root, root, HB);
            assert_memory_equal(info.cp.head, f->hash[size - 1], HB);
            assert_int_equal(info.cp.time_ms, f->cpinfo[c].time_ms);
            /* any other entry of the ledger: refused */
            for (uint64_t o = 0; o < f->n; o++) {
                if (o == seq)
                    continue;
                rc = ledger_receipt_verify(rcpt, rn, f->bytes[o], f->len[o], f->fpr, &info, why,
                                           sizeof(why));
                assert_int_equal(rc, LEDGER_EVERIFY);
            }
            /* the entry altered, or not an entry at all */
            f->bytes[seq][f->len[seq] - 1] ^= 0x01;
            rc = ledger_receipt_verify(rcpt, rn, f->bytes[seq], f->len[seq], f->fpr, &info, why,
                                       sizeof(why));
            f->bytes[seq][f->len[seq] - 1] ^= 0x01;
            assert_int_equal(rc, LEDGER_EVERIFY);
            rc = ledger_receipt_verify(rcpt, rn, f->cp[c], f->cplen[c], f->fpr, &info, why,
                                       sizeof(why));
            assert_int_equal(rc, LEDGER_EVERIFY);
            /* another fingerprint */
            memcpy(other, f->fpr, sizeof(other));
            other[seq % KEYS_FPR_BYTES] ^= 0x04;
            rc = ledger_receipt_verify(rcpt, rn, f->bytes[seq], f->len[seq], other, &info, why,
                                       sizeof(why));
            assert_int_equal(rc, LEDGER_EVERIFY);
            /* any byte of the receipt altered */
            (void)snprintf(what, sizeof(what), "inclusion receipt %llu in %llu",
                           (unsigned long long)seq, (unsigned long long)size);
            receipt_flips_fail(rcpt, rn, f->bytes[seq], f->len[seq], f->fpr, what);
            receipts++;
        }
    }
    assert_int_equal(receipts, 1 + 2 + 5 + 8 + 13 + 22);

    /* 0: the latest checkpoint (the largest size here) */
    assert_int_equal(ledger_receipt_inclusion(f->l, 3, 0, rcpt, sizeof(rcpt), &rn, &cp), 0);
    assert_int_equal(cp.size, f->n);
    assert_int_equal(
        ledger_receipt_verify(rcpt, rn, f->bytes[3], f->len[3], f->fpr, &info, why, sizeof(why)),
        0);
    assert_int_equal(info.cp.size, f->n);

    /* no checkpoint of that size; seq not below the size; no room */
    assert_int_equal(ledger_receipt_inclusion(f->l, 0, 3, rcpt, sizeof(rcpt), &rn, &cp),
                     LEDGER_ENOTFOUND);
    assert_int_equal(ledger_receipt_inclusion(f->l, 0, f->n + 1, rcpt, sizeof(rcpt), &rn, &cp),
                     LEDGER_ENOTFOUND);
    for (size_t c = 0; c < f->ncp; c++) {
        const uint64_t size = f->cp_at[c];
        assert_int_equal(ledger_receipt_inclusion(f->l, size, size, rcpt, sizeof(rcpt), &rn, &cp),
                         LEDGER_EINVAL);
        assert_int_equal(
            ledger_receipt_inclusion(f->l, size + 1, size, rcpt, sizeof(rcpt), &rn, &cp),
            LEDGER_EINVAL);
        assert_int_equal(ledger_receipt_inclusion(f->l, NONE, size, rcpt, sizeof(rcpt), &rn, &cp),
                         LEDGER_EINVAL);
    }
    assert_int_equal(ledger_receipt_inclusion(f->l, 0, 22, rcpt, 16, &rn, &cp), LEDGER_ETOOBIG);
}

static void test_export_receipts_consistency(void **state)
{
    efx *f = *state;
    uint8_t rcpt[LEDGER_RECEIPT_MAX], old_cp[LEDGER_CHECKPOINT_MAX], root[HB], oldroot[HB];
    size_t rn = 0, on = 0;
    ledger_checkpoint cp, ocp;
    ledger_receipt_info info;
    char why[LEDGER_ERRMSG_MAX], what[64];
    unsigned pairs = 0;
    for (size_t c = 0; c < f->ncp; c++) {
        /* the stored checkpoint is the one made at that size */
        assert_int_equal(
            ledger_checkpoint_get(f->l, f->cp_at[c], old_cp, sizeof(old_cp), &on, &ocp), 0);
        assert_int_equal(on, f->cplen[c]);
        assert_memory_equal(old_cp, f->cp[c], on);
        assert_memory_equal(&ocp, &f->cpinfo[c], sizeof(ocp));
    }
    for (size_t cn = 0; cn < f->ncp; cn++) {
        const uint64_t size = f->cp_at[cn];
        assert_int_equal(ledger_merkle_root(f->l, size, root), 0);
        for (size_t co = 0; co <= cn; co++) {
            const uint64_t old = f->cp_at[co];
            assert_int_equal(ledger_merkle_root(f->l, old, oldroot), 0);
            assert_int_equal(
                ledger_receipt_consistency(f->l, old, size, rcpt, sizeof(rcpt), &rn, &cp), 0);
            assert_int_equal(cp.size, size);
            assert_int_equal(ledger_checkpoint_get(f->l, old, old_cp, sizeof(old_cp), &on, &ocp),
                             0);
            int rc = ledger_receipt_verify(rcpt, rn, old_cp, on, f->fpr, &info, why, sizeof(why));
            if (rc != 0)
                print_error("consistency %llu -> %llu: %s\n", (unsigned long long)old,
                            (unsigned long long)size, why);
            assert_int_equal(rc, 0);
            assert_int_equal(info.kind, LEDGER_RECEIPT_CONSISTENCY);
            assert_int_equal(info.index, old);
            assert_int_equal(info.cp.size, size);
            assert_memory_equal(info.cp.root, root, HB);
            assert_memory_equal(info.cp.head, f->hash[size - 1], HB);
            assert_int_equal(info.old.size, old);
            assert_memory_equal(info.old.root, oldroot, HB);
            /* against any other checkpoint: refused */
            for (size_t k = 0; k < f->ncp; k++) {
                if (k == co)
                    continue;
                rc = ledger_receipt_verify(rcpt, rn, f->cp[k], f->cplen[k], f->fpr, &info, why,
                                           sizeof(why));
                if (rc != LEDGER_EVERIFY)
                    print_error("consistency %llu -> %llu against checkpoint %llu: rc %d\n",
                                (unsigned long long)old, (unsigned long long)size,
                                (unsigned long long)f->cp_at[k], rc);
                assert_int_equal(rc, LEDGER_EVERIFY);
            }
            /* against an entry, and with another fingerprint */
            rc = ledger_receipt_verify(rcpt, rn, f->bytes[0], f->len[0], f->fpr, &info, why,
                                       sizeof(why));
            assert_int_equal(rc, LEDGER_EVERIFY);
            uint8_t other[KEYS_FPR_BYTES];
            memcpy(other, f->fpr, sizeof(other));
            other[0] ^= 0x01;
            rc = ledger_receipt_verify(rcpt, rn, old_cp, on, other, &info, why, sizeof(why));
            assert_int_equal(rc, LEDGER_EVERIFY);
            (void)snprintf(what, sizeof(what), "consistency receipt %llu -> %llu",
                           (unsigned long long)old, (unsigned long long)size);
            receipt_flips_fail(rcpt, rn, old_cp, on, f->fpr, what);
            /* the old checkpoint altered */
            old_cp[on - 1] ^= 0x01;
            rc = ledger_receipt_verify(rcpt, rn, old_cp, on, f->fpr, &info, why, sizeof(why));
            assert_int_equal(rc, LEDGER_EVERIFY);
            pairs++;
        }
    }
    assert_int_equal(pairs, N_CPS * (N_CPS + 1) / 2);

    /* no checkpoint of that size; old size 0 or beyond the checkpoint */
    assert_int_equal(ledger_receipt_consistency(f->l, 1, 4, rcpt, sizeof(rcpt), &rn, &cp),
                     LEDGER_ENOTFOUND);
    assert_int_equal(ledger_receipt_consistency(f->l, 0, 8, rcpt, sizeof(rcpt), &rn, &cp),
                     LEDGER_EINVAL);
    assert_int_equal(ledger_receipt_consistency(f->l, 9, 8, rcpt, sizeof(rcpt), &rn, &cp),
                     LEDGER_EINVAL);
    assert_int_equal(ledger_receipt_consistency(f->l, NONE, 8, rcpt, sizeof(rcpt), &rn, &cp),
                     LEDGER_EINVAL);
    assert_int_equal(ledger_checkpoint_get(f->l, 4, old_cp, sizeof(old_cp), &on, &ocp),
                     LEDGER_ENOTFOUND);
}

static void test_export_receipts_need_a_checkpoint(void **state)
{
    efx *f = *state;
    uint8_t rcpt[LEDGER_RECEIPT_MAX];
    size_t rn = 0;
    ledger_checkpoint cp;
    genesis(f);
    add_enroll(f, f->pharm, "Jane Roe, PharmD", "pharmacist");
    add_note(f, f->pharm, "first");
    /* none made yet: not even "the latest" */
    assert_int_equal(ledger_receipt_inclusion(f->l, 0, 0, rcpt, sizeof(rcpt), &rn, &cp),
                     LEDGER_ENOTFOUND);
    assert_int_equal(ledger_receipt_inclusion(f->l, 0, 3, rcpt, sizeof(rcpt), &rn, &cp),
                     LEDGER_ENOTFOUND);
    assert_int_equal(ledger_receipt_consistency(f->l, 1, 0, rcpt, sizeof(rcpt), &rn, &cp),
                     LEDGER_ENOTFOUND);
}

/* ---- ledger_seq_at_time ---- */

static uint64_t linear_seq_at(const efx *f, int64_t t)
{
    uint64_t s = 0;
    while (s < f->n && f->rt[s] < t)
        s++;
    return s;
}

static void check_times(efx *f)
{
    uint64_t seq = 12345;
    /* before the first, at every recorded time and around it, after the last */
    assert_int_equal(ledger_seq_at_time(f->l, INT64_MIN, &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(ledger_seq_at_time(f->l, T0 - 1, &seq), 0);
    assert_int_equal(seq, 0);
    for (uint64_t s = 0; s < f->n; s++) {
        for (int64_t d = -1; d <= 1; d++) {
            int64_t t = f->rt[s] + d;
            seq = 12345;
            assert_int_equal(ledger_seq_at_time(f->l, t, &seq), 0);
            if (seq != linear_seq_at(f, t))
                print_error("t = T0%+lld: got seq %llu\n", (long long)(t - T0),
                            (unsigned long long)seq);
            assert_int_equal(seq, linear_seq_at(f, t));
        }
    }
    assert_int_equal(ledger_seq_at_time(f->l, f->rt[f->n - 1] + 1, &seq), 0);
    assert_int_equal(seq, f->n);
    assert_int_equal(ledger_seq_at_time(f->l, INT64_MAX, &seq), 0);
    assert_int_equal(seq, f->n);
}

static void note_at(efx *f, int64_t t, const char *text)
{
    ledger_body *b = new_body();
    ledger_append_opts o = LEDGER_APPEND_INIT;
    ledger_appended ap;
    assert_int_equal(ledger_body_put_text(b, "text", text), 0);
    clock_ms = t;
    o.type = "note";
    o.body = b;
    assert_int_equal(ledger_append(f->l, f->pharm, &o, &ap), 0);
    assert_int_equal(ap.recorded_ms, t);
    ledger_body_free(b);
    appended(f, "note", NONE);
}

static void test_export_seq_at_time(void **state)
{
    efx *f = *state;
    uint64_t seq = 12345;
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES];
    ledger_entry e;
    /* an empty ledger: its count, 0 */
    assert_int_equal(ledger_seq_at_time(f->l, T0, &seq), 0);
    assert_int_equal(seq, 0);
    genesis(f); /* 0 at T0 */
    clock_ms = T0;
    assert_int_equal(
        rxt_enroll(f->l, f->site, f->pharm, "Jane Roe, PharmD", "pharmacist", T0 - 1000, 0, 0), 0);
    appended(f, "key.enroll", NONE); /* 1 at T0 too */
    check_times(f);
    /* runs of equal times: the first of each run */
    static const int64_t at[] = {5, 5, 5, 17, 18, 1000, 1000, 86400000, 86400001, 86400001};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        note_at(f, T0 + at[i], "timed");
        check_times(f);
    }
    assert_int_equal(f->n, 12);
    /* the times the answers rely on are the recorded ones */
    for (uint64_t s = 0; s < f->n; s++) {
        assert_int_equal(ledger_read_entry(f->l, s, buf, sizeof(buf), &e), 0);
        assert_int_equal(e.recorded_ms, f->rt[s]);
    }
    assert_int_equal(ledger_seq_at_time(f->l, T0, &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(ledger_seq_at_time(f->l, T0 + 1, &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(ledger_seq_at_time(f->l, T0 + 5, &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(ledger_seq_at_time(f->l, T0 + 6, &seq), 0);
    assert_int_equal(seq, 5);
    assert_int_equal(ledger_seq_at_time(f->l, T0 + 999, &seq), 0);
    assert_int_equal(seq, 7);
    assert_int_equal(ledger_seq_at_time(f->l, T0 + 1001, &seq), 0);
    assert_int_equal(seq, 9);
    assert_int_equal(ledger_seq_at_time(f->l, T0 + 86400001, &seq), 0);
    assert_int_equal(seq, 10);
    assert_int_equal(ledger_seq_at_time(f->l, T0 + 86400002, &seq), 0);
    assert_int_equal(seq, 12);
    /* every ms of the first second, against a scan */
    for (int64_t t = T0 - 2; t <= T0 + 1002; t++) {
        assert_int_equal(ledger_seq_at_time(f->l, t, &seq), 0);
        assert_int_equal(seq, linear_seq_at(f, t));
    }
    /* read-only handles answer the same */
    char err[256];
    ledger_close(f->l);
    assert_int_equal(ledger_open(&f->l, f->dir, LEDGER_OPEN_RDONLY, err, sizeof(err)), 0);
    check_times(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_export_every_range, setup_range, teardown),
        cmocka_unit_test_setup_teardown(test_export_range_bounds, setup_range, teardown),
        cmocka_unit_test_setup_teardown(test_export_truncated_anywhere_fails, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_export_every_byte_flip_fails, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_export_wrong_fingerprint_fails, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_export_spliced_items_fail, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_export_tiny_ledgers, setup_bare, teardown),
        cmocka_unit_test_setup_teardown(test_export_receipts_inclusion, setup_receipts, teardown),
        cmocka_unit_test_setup_teardown(test_export_receipts_consistency, setup_receipts, teardown),
        cmocka_unit_test_setup_teardown(test_export_receipts_need_a_checkpoint, setup_bare,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_export_seq_at_time, setup_bare, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
