/* Unit tests of the identity store (ledger/patients.h): commitments, lookups,
 * links and erasure. Real LMDB in fresh temp directories and real OpenSSL;
 * erasure is checked on the bytes of the data file itself. */
/* cmocka needs these headers before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/ledger.h"
#include "ledger/patients.h"

/* patients.c: initial map size of new handles (lowered to exercise growth) */
extern size_t ledger__ids_initial_map_bytes;

#define C LEDGER_COMMIT_BYTES

/* Distinctive identifiers: erasure tests search the data file for them. */
static const char mrn_zebra[] = "MRN-ZEBRA-771234";
static const char rems_zebra[] = "REMS-QUOKKA-90817";
static const char mrn_okapi[] = "MRN-OKAPI-552310";
static const char rems_okapi[] = "REMS-NARWHAL-66120";

typedef struct fx {
    char dir[64];
    char data[128]; /* <dir>/identities/data.mdb */
    ledger_ids *s;
} fx;

static void rm_rf(const char *dir)
{
    assert_int_equal(rxt_rm_rf(dir), 0);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char err[LEDGER_ERRMSG_MAX];
    assert_non_null(f);
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/rxl-ids-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    (void)snprintf(f->data, sizeof(f->data), "%s/identities/data.mdb", f->dir);
    assert_int_equal(ledger_ids_open(&f->s, f->dir, true, err, sizeof(err)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ledger_ids_close(f->s);
    rm_rf(f->dir);
    free(f);
    return 0;
}

static void reopen(fx *f)
{
    char err[LEDGER_ERRMSG_MAX];
    ledger_ids_close(f->s);
    f->s = NULL;
    assert_int_equal(ledger_ids_open(&f->s, f->dir, false, err, sizeof(err)), 0);
}

static void commit_new(fx *f, ledger_idkind kind, const char *id, uint8_t out[C])
{
    assert_int_equal(ledger_ids_commit(f->s, kind, id, true, out), 0);
}

/* An MRN and a REMS id, linked. */
static void patient(fx *f, const char *mrn, const char *rems, uint8_t mc[C], uint8_t rc[C])
{
    commit_new(f, LEDGER_ID_MRN, mrn, mc);
    commit_new(f, LEDGER_ID_REMS, rems, rc);
    assert_int_equal(ledger_ids_link(f->s, mc, rc), 0);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *p;
    long n;
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n > 0);
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    p = malloc((size_t)n);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return p;
}

static bool bytes_have(const uint8_t *p, size_t n, const char *s)
{
    size_t m = strlen(s);
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(p + i, s, m) == 0)
            return true;
    return false;
}

static bool file_has(const char *path, const char *s)
{
    size_t n;
    uint8_t *p = slurp(path, &n);
    bool found = bytes_have(p, n, s);
    free(p);
    return found;
}

static void expect_gone(fx *f, ledger_idkind kind, const char *id, const uint8_t commit[C])
{
    uint8_t c[C];
    char got[LEDGER_PATIENT_ID_MAX + 1];
    ledger_idkind k;
    assert_int_equal(ledger_ids_commit(f->s, kind, id, false, c), LEDGER_ENOTFOUND);
    assert_int_equal(ledger_ids_lookup(f->s, commit, got, &k), LEDGER_ENOTFOUND);
    assert_string_equal(got, "");
}

static void expect_known(fx *f, ledger_idkind kind, const char *id, const uint8_t commit[C])
{
    uint8_t c[C];
    char got[LEDGER_PATIENT_ID_MAX + 1];
    ledger_idkind k = 0;
    assert_int_equal(ledger_ids_commit(f->s, kind, id, false, c), 0);
    assert_memory_equal(c, commit, C);
    assert_int_equal(ledger_ids_lookup(f->s, commit, got, &k), 0);
    assert_string_equal(got, id);
    assert_int_equal(k, kind);
}

/* ledger_ids_each collector: salt and commitment of one identifier. */
typedef struct seen {
    ledger_idkind kind;
    const char *id;
    uint8_t salt[LEDGER_SALT_BYTES];
    uint8_t commit[C];
    int matches;
    int visited;
    int stop_after;
} seen;

static int seen_fn(ledger_idkind kind, const char *id, const uint8_t salt[LEDGER_SALT_BYTES],
                   const uint8_t commit[C], void *ud)
{
    seen *w = ud;
    w->visited++;
    if (kind == w->kind && strcmp(id, w->id) == 0) {
        memcpy(w->salt, salt, LEDGER_SALT_BYTES);
        memcpy(w->commit, commit, C);
        w->matches++;
    }
    return w->stop_after != 0 && w->visited >= w->stop_after;
}

/* ------------------------------------------------------------------------ */

static void test_patients_open_absent_is_not_found(void **state)
{
    fx *f = *state;
    char dir[128], err[LEDGER_ERRMSG_MAX];
    ledger_ids *s = (ledger_ids *)1;
    struct stat st;
    (void)snprintf(dir, sizeof(dir), "/tmp/rxl-ids-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(ledger_ids_open(&s, dir, false, err, sizeof(err)), LEDGER_ENOTFOUND);
    assert_null(s);
    assert_true(strlen(err) > 0);
    rm_rf(dir);
    /* the store setup() created is private to its owner */
    (void)snprintf(dir, sizeof(dir), "%s/identities", f->dir);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(f->data, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0);
}

static void test_patients_commit_is_stable(void **state)
{
    fx *f = *state;
    uint8_t a[C], b[C], c[C];
    commit_new(f, LEDGER_ID_MRN, mrn_zebra, a);
    commit_new(f, LEDGER_ID_MRN, mrn_zebra, b);
    assert_memory_equal(a, b, C);
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_MRN, mrn_zebra, false, c), 0);
    assert_memory_equal(a, c, C);
    reopen(f);
    memset(c, 0, C);
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_MRN, mrn_zebra, false, c), 0);
    assert_memory_equal(a, c, C);
    commit_new(f, LEDGER_ID_MRN, mrn_zebra, c);
    assert_memory_equal(a, c, C);
}

static void test_patients_commit_differs_by_id_and_kind(void **state)
{
    fx *f = *state;
    uint8_t a[C], b[C], m[C], r[C];
    commit_new(f, LEDGER_ID_MRN, "MRN-1", a);
    commit_new(f, LEDGER_ID_MRN, "MRN-2", b);
    assert_memory_not_equal(a, b, C);
    /* the same string as an MRN and as a REMS id: two identifiers, two salts */
    commit_new(f, LEDGER_ID_MRN, "X-1", m);
    commit_new(f, LEDGER_ID_REMS, "X-1", r);
    assert_memory_not_equal(m, r, C);
    expect_known(f, LEDGER_ID_MRN, "X-1", m);
    expect_known(f, LEDGER_ID_REMS, "X-1", r);
}

static void test_patients_commit_is_salted_sha256(void **state)
{
    fx *f = *state;
    uint8_t got[C], again[C], unsalted[LEDGER_SALT_BYTES] = {0};
    seen w = {LEDGER_ID_REMS, rems_zebra, {0}, {0}, 0, 0, 0};
    commit_new(f, LEDGER_ID_MRN, mrn_zebra, got);
    commit_new(f, LEDGER_ID_REMS, rems_zebra, got);
    assert_int_equal(ledger_ids_each(f->s, seen_fn, &w), 0);
    assert_int_equal(w.visited, 2);
    assert_int_equal(w.matches, 1);
    assert_memory_equal(w.commit, got, C);
    ledger_id_commit(again, w.salt, rems_zebra);
    assert_memory_equal(again, got, C);
    /* the salt matters: a zero salt gives another value */
    ledger_id_commit(again, unsalted, rems_zebra);
    assert_memory_not_equal(again, got, C);
    assert_memory_not_equal(w.salt, unsalted, LEDGER_SALT_BYTES);
}

static void test_patients_each_stops_on_nonzero(void **state)
{
    fx *f = *state;
    uint8_t c[C];
    seen w = {LEDGER_ID_MRN, "none", {0}, {0}, 0, 0, 1};
    commit_new(f, LEDGER_ID_MRN, "MRN-1", c);
    commit_new(f, LEDGER_ID_MRN, "MRN-2", c);
    commit_new(f, LEDGER_ID_MRN, "MRN-3", c);
    assert_int_equal(ledger_ids_each(f->s, seen_fn, &w), 0);
    assert_int_equal(w.visited, 1);
}

static void test_patients_unknown_is_not_found(void **state)
{
    fx *f = *state;
    uint8_t c[C], known[C], unknown[C];
    char got[LEDGER_PATIENT_ID_MAX + 1] = "junk";
    ledger_idkind k;
    commit_new(f, LEDGER_ID_MRN, mrn_okapi, known);
    memset(c, 0xa5, C);
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_MRN, mrn_zebra, false, c), LEDGER_ENOTFOUND);
    /* an MRN is not found as a REMS id */
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_REMS, mrn_okapi, false, c),
                     LEDGER_ENOTFOUND);
    memset(unknown, 0x5a, C);
    assert_int_equal(ledger_ids_lookup(f->s, unknown, got, &k), LEDGER_ENOTFOUND);
    assert_string_equal(got, "");
    assert_true(strlen(ledger_ids_errmsg(f->s)) > 0);
    /* create=false stored nothing */
    reopen(f);
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_MRN, mrn_zebra, false, c), LEDGER_ENOTFOUND);
}

static void test_patients_lookup_round_trip(void **state)
{
    fx *f = *state;
    uint8_t m[C], r[C];
    char longest[LEDGER_PATIENT_ID_MAX + 1];
    memset(longest, '~', LEDGER_PATIENT_ID_MAX);
    longest[LEDGER_PATIENT_ID_MAX] = '\0';
    patient(f, mrn_zebra, rems_zebra, m, r);
    expect_known(f, LEDGER_ID_MRN, mrn_zebra, m);
    expect_known(f, LEDGER_ID_REMS, rems_zebra, r);
    commit_new(f, LEDGER_ID_MRN, longest, m);
    reopen(f);
    expect_known(f, LEDGER_ID_MRN, longest, m);
    commit_new(f, LEDGER_ID_REMS, "!", r);
    expect_known(f, LEDGER_ID_REMS, "!", r);
}

static void test_patients_id_check(void **state)
{
    fx *f = *state;
    static const char *const bad[] = {"",        "MRN 1",        " MRN1", "MRN1\t",    "MRN\n1",
                                      "MRN\x7f", "MRN-\xc3\xa9", "\x01",  "MRN\x1b[2J"};
    char longer[LEDGER_PATIENT_ID_MAX + 2], longest[LEDGER_PATIENT_ID_MAX + 1], why[128];
    uint8_t c[C];
    memset(longer, 'A', LEDGER_PATIENT_ID_MAX + 1);
    longer[LEDGER_PATIENT_ID_MAX + 1] = '\0';
    memset(longest, 'A', LEDGER_PATIENT_ID_MAX);
    longest[LEDGER_PATIENT_ID_MAX] = '\0';
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(ledger_id_check(bad[i], why, sizeof(why)), LEDGER_EINVAL);
        assert_non_null(strstr(why, "printable characters without spaces"));
        assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_MRN, bad[i], true, c), LEDGER_EINVAL);
    }
    assert_int_equal(ledger_id_check(longer, why, sizeof(why)), LEDGER_EINVAL);
    assert_int_equal(ledger_id_check(NULL, why, sizeof(why)), LEDGER_EINVAL);
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_MRN, longer, true, c), LEDGER_EINVAL);
    assert_int_equal(ledger_ids_forget(f->s, "MRN 1", NULL), LEDGER_EINVAL);
    /* the message about a bad identifier does not repeat it */
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_MRN, "SECRET 1", true, c), LEDGER_EINVAL);
    assert_null(strstr(ledger_ids_errmsg(f->s), "SECRET"));
    assert_int_equal(ledger_ids_commit(f->s, (ledger_idkind)3, "MRN-1", true, c), LEDGER_EINVAL);
    assert_int_equal(ledger_id_check(longest, why, sizeof(why)), 0);
    assert_string_equal(why, "");
    assert_int_equal(ledger_id_check("!~", why, sizeof(why)), 0);
    /* nothing was stored by the rejected calls */
    seen w = {LEDGER_ID_MRN, "none", {0}, {0}, 0, 0, 0};
    assert_int_equal(ledger_ids_each(f->s, seen_fn, &w), 0);
    assert_int_equal(w.visited, 0);
}

static void test_patients_link_checks_kinds(void **state)
{
    fx *f = *state;
    uint8_t m[C], m2[C], r[C], unknown[C], extra[C], extra31[C];
    char id[32];
    commit_new(f, LEDGER_ID_MRN, mrn_zebra, m);
    commit_new(f, LEDGER_ID_MRN, mrn_okapi, m2);
    commit_new(f, LEDGER_ID_REMS, rems_zebra, r);
    memset(unknown, 0x11, C);
    assert_int_equal(ledger_ids_link(f->s, unknown, r), LEDGER_ENOTFOUND);
    assert_int_equal(ledger_ids_link(f->s, m, unknown), LEDGER_ENOTFOUND);
    assert_int_equal(ledger_ids_link(f->s, r, m), LEDGER_EINVAL);
    assert_int_equal(ledger_ids_link(f->s, m, m2), LEDGER_EINVAL);
    assert_int_equal(ledger_ids_link(f->s, m, r), 0);
    assert_int_equal(ledger_ids_link(f->s, m, r), 0); /* idempotent */
    /* bounded: 32 identifiers per MRN */
    for (int i = 1; i < 32; i++) {
        (void)snprintf(id, sizeof(id), "REMS-EXTRA-%d", i);
        commit_new(f, LEDGER_ID_REMS, id, extra);
        assert_int_equal(ledger_ids_link(f->s, m, extra), 0);
    }
    memcpy(extra31, extra, C);
    commit_new(f, LEDGER_ID_REMS, "REMS-EXTRA-32", extra);
    assert_int_equal(ledger_ids_link(f->s, m, extra), LEDGER_ETOOBIG);
    /* forgetting the MRN takes all 32 linked ids, and leaves the unlinked one */
    assert_int_equal(ledger_ids_forget(f->s, mrn_zebra, NULL), 0);
    expect_gone(f, LEDGER_ID_REMS, rems_zebra, r);
    expect_gone(f, LEDGER_ID_REMS, "REMS-EXTRA-31", extra31);
    expect_known(f, LEDGER_ID_REMS, "REMS-EXTRA-32", extra);
    expect_known(f, LEDGER_ID_MRN, mrn_okapi, m2);
}

static void test_patients_forget_erases_bytes(void **state)
{
    fx *f = *state;
    uint8_t zm[C], zr[C], om[C], ore[C], out[C];
    struct stat st;
    patient(f, mrn_zebra, rems_zebra, zm, zr);
    patient(f, mrn_okapi, rems_okapi, om, ore);
    assert_true(file_has(f->data, mrn_zebra));
    assert_true(file_has(f->data, rems_zebra));
    memset(out, 0, C);
    assert_int_equal(ledger_ids_forget(f->s, mrn_zebra, out), 0);
    assert_memory_equal(out, zm, C);
    expect_gone(f, LEDGER_ID_MRN, mrn_zebra, zm);
    expect_gone(f, LEDGER_ID_REMS, rems_zebra, zr);
    expect_known(f, LEDGER_ID_MRN, mrn_okapi, om);
    expect_known(f, LEDGER_ID_REMS, rems_okapi, ore);
    /* the key property: the bytes are gone from the file, not only from the tree */
    assert_false(file_has(f->data, mrn_zebra));
    assert_false(file_has(f->data, rems_zebra));
    assert_true(file_has(f->data, mrn_okapi));
    assert_true(file_has(f->data, rems_okapi));
    assert_int_equal(stat(f->data, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0);
    /* and stay gone across a reopen; the survivor's link still works */
    reopen(f);
    expect_gone(f, LEDGER_ID_MRN, mrn_zebra, zm);
    assert_int_equal(ledger_ids_forget(f->s, mrn_zebra, NULL), LEDGER_ENOTFOUND);
    assert_int_equal(ledger_ids_forget(f->s, mrn_okapi, NULL), 0);
    expect_gone(f, LEDGER_ID_REMS, rems_okapi, ore);
    assert_false(file_has(f->data, rems_okapi));
}

static void test_patients_forget_unknown_changes_nothing(void **state)
{
    fx *f = *state;
    uint8_t zm[C], zr[C], out[C], *before, *after;
    size_t nb, na;
    struct stat s1, s2;
    patient(f, mrn_zebra, rems_zebra, zm, zr);
    before = slurp(f->data, &nb);
    assert_int_equal(stat(f->data, &s1), 0);
    memset(out, 0x77, C);
    assert_int_equal(ledger_ids_forget(f->s, mrn_okapi, out), LEDGER_ENOTFOUND);
    /* a REMS id is not an MRN */
    assert_int_equal(ledger_ids_forget(f->s, rems_zebra, out), LEDGER_ENOTFOUND);
    after = slurp(f->data, &na);
    assert_int_equal(stat(f->data, &s2), 0);
    assert_int_equal(s1.st_ino, s2.st_ino);
    assert_int_equal(nb, na);
    assert_memory_equal(before, after, nb);
    free(before);
    free(after);
    expect_known(f, LEDGER_ID_MRN, mrn_zebra, zm);
    expect_known(f, LEDGER_ID_REMS, rems_zebra, zr);
}

static void test_patients_forget_among_many(void **state)
{
    fx *f = *state;
    enum { N = 2000, VICTIM = 1234 };
    uint8_t(*mc)[C] = calloc(N, C);
    uint8_t rc[C], vr[C];
    char id[32];
    size_t saved = ledger__ids_initial_map_bytes;
    assert_non_null(mc);
    /* a small map, so that both ordinary writes and the rebuild must grow it */
    ledger__ids_initial_map_bytes = (size_t)64 << 10;
    reopen(f);
    for (int i = 0; i < N; i++) {
        (void)snprintf(id, sizeof(id), "MRN-%06d", i);
        commit_new(f, LEDGER_ID_MRN, id, mc[i]);
    }
    patient(f, "MRN-VICTIM-424242", "REMS-VICTIM-989898", mc[VICTIM], vr);
    for (int i = 0; i < N; i += 100) {
        (void)snprintf(id, sizeof(id), "REMS-%06d", i);
        commit_new(f, LEDGER_ID_REMS, id, rc);
        assert_int_equal(ledger_ids_link(f->s, mc[i], rc), 0);
    }
    assert_true(file_has(f->data, "MRN-VICTIM-424242"));
    assert_int_equal(ledger_ids_forget(f->s, "MRN-VICTIM-424242", NULL), 0);
    assert_false(file_has(f->data, "MRN-VICTIM-424242"));
    assert_false(file_has(f->data, "REMS-VICTIM-989898"));
    reopen(f);
    ledger__ids_initial_map_bytes = saved;
    for (int i = 0; i < N; i++) {
        (void)snprintf(id, sizeof(id), "MRN-%06d", i);
        if (i != VICTIM)
            expect_known(f, LEDGER_ID_MRN, id, mc[i]);
    }
    expect_gone(f, LEDGER_ID_MRN, "MRN-VICTIM-424242", mc[VICTIM]);
    expect_gone(f, LEDGER_ID_REMS, "REMS-VICTIM-989898", vr);
    /* links of the others survived the rebuild: forgetting one still takes its REMS id */
    assert_int_equal(ledger_ids_forget(f->s, "MRN-000500", NULL), 0);
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_REMS, "REMS-000500", false, rc),
                     LEDGER_ENOTFOUND);
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_REMS, "REMS-000600", false, rc), 0);
    free(mc);
}

static void test_patients_forget_twice_keeps_handle_usable(void **state)
{
    fx *f = *state;
    uint8_t zm[C], zr[C], om[C], ore[C], nm[C];
    patient(f, mrn_zebra, rems_zebra, zm, zr);
    patient(f, mrn_okapi, rems_okapi, om, ore);
    assert_int_equal(ledger_ids_forget(f->s, mrn_zebra, NULL), 0);
    assert_int_equal(ledger_ids_forget(f->s, mrn_okapi, NULL), 0);
    expect_gone(f, LEDGER_ID_MRN, mrn_zebra, zm);
    expect_gone(f, LEDGER_ID_MRN, mrn_okapi, om);
    expect_gone(f, LEDGER_ID_REMS, rems_okapi, ore);
    /* the same handle still writes, and the write is durable */
    commit_new(f, LEDGER_ID_MRN, "MRN-AFTER-1", nm);
    expect_known(f, LEDGER_ID_MRN, "MRN-AFTER-1", nm);
    reopen(f);
    expect_known(f, LEDGER_ID_MRN, "MRN-AFTER-1", nm);
    assert_false(file_has(f->data, mrn_zebra));
    assert_false(file_has(f->data, rems_okapi));
    /* an identifier can be committed again after erasure: a new salt, a new commitment */
    commit_new(f, LEDGER_ID_MRN, mrn_zebra, nm);
    assert_memory_not_equal(nm, zm, C);
}

static void test_patients_forget_ignores_stale_temp_file(void **state)
{
    fx *f = *state;
    uint8_t zm[C], zr[C];
    char path[160];
    FILE *fp;
    patient(f, mrn_zebra, rems_zebra, zm, zr);
    /* left behind by an interrupted forget */
    (void)snprintf(path, sizeof(path), "%s/identities/data.mdb.new", f->dir);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fputs("garbage", fp) >= 0, 1);
    fclose(fp);
    assert_int_equal(ledger_ids_forget(f->s, mrn_zebra, NULL), 0);
    expect_gone(f, LEDGER_ID_MRN, mrn_zebra, zm);
    assert_int_equal(access(path, F_OK), -1);
}

typedef struct nested {
    ledger_ids *s;
    int forget_rc;
    int commit_rc;
} nested;

static int nested_fn(ledger_idkind kind, const char *id, const uint8_t salt[LEDGER_SALT_BYTES],
                     const uint8_t commit[C], void *ud)
{
    nested *n = ud;
    uint8_t c[C];
    (void)kind;
    (void)salt;
    (void)commit;
    n->forget_rc = ledger_ids_forget(n->s, id, NULL);
    n->commit_rc = ledger_ids_commit(n->s, LEDGER_ID_MRN, "MRN-NESTED", true, c);
    return 1;
}

static void test_patients_each_callback_cannot_forget(void **state)
{
    fx *f = *state;
    uint8_t zm[C], c[C];
    nested n = {f->s, 0, -1};
    commit_new(f, LEDGER_ID_MRN, mrn_zebra, zm);
    /* erasing replaces the file the iteration reads: refused, not deadlocked */
    assert_int_equal(ledger_ids_each(f->s, nested_fn, &n), 0);
    assert_int_equal(n.forget_rc, LEDGER_EBUSY);
    assert_int_equal(n.commit_rc, 0);
    expect_known(f, LEDGER_ID_MRN, mrn_zebra, zm);
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_MRN, "MRN-NESTED", false, c), 0);
    /* and the lock was released: erasing works afterwards */
    assert_int_equal(ledger_ids_forget(f->s, mrn_zebra, NULL), 0);
}

/* Child side of the two-process test; returns an exit status (0 = all as expected). */
static int child_run(const char *dir, int rd, int wr, const uint8_t zm[C])
{
    ledger_ids *s = NULL;
    char err[LEDGER_ERRMSG_MAX], got[LEDGER_PATIENT_ID_MAX + 1];
    uint8_t c[C];
    ledger_idkind k;
    char b;
    int status = 0;
    if (ledger_ids_open(&s, dir, false, err, sizeof(err)) != 0)
        return 10;
    if (ledger_ids_commit(s, LEDGER_ID_MRN, mrn_zebra, false, c) != 0 || memcmp(c, zm, C) != 0)
        status = 11;
    else if (write(wr, "r", 1) != 1)
        status = 12;
    else if (read(rd, &b, 1) != 1)
        status = 13;
    /* the other process erased the patient while this handle had the store open */
    else if (ledger_ids_commit(s, LEDGER_ID_MRN, mrn_zebra, false, c) != LEDGER_ENOTFOUND)
        status = 14;
    else if (ledger_ids_lookup(s, zm, got, &k) != LEDGER_ENOTFOUND)
        status = 15;
    else if (ledger_ids_commit(s, LEDGER_ID_MRN, "MRN-FROM-CHILD", true, c) != 0)
        status = 16;
    else if (ledger_ids_commit(s, LEDGER_ID_MRN, mrn_okapi, false, c) != 0)
        status = 17;
    ledger_ids_close(s);
    return status;
}

static void test_patients_forget_seen_by_other_process(void **state)
{
    fx *f = *state;
    uint8_t zm[C], zr[C], om[C], ore[C], c[C];
    int to_child[2], to_parent[2], status = -1;
    char b;
    pid_t pid;
    patient(f, mrn_zebra, rems_zebra, zm, zr);
    patient(f, mrn_okapi, rems_okapi, om, ore);
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(to_parent), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child opens a handle of its own and never touches the parent's */
        close(to_child[1]);
        close(to_parent[0]);
        _exit(child_run(f->dir, to_child[0], to_parent[1], zm));
    }
    close(to_child[0]);
    close(to_parent[1]);
    assert_int_equal(read(to_parent[0], &b, 1), 1);
    assert_int_equal(ledger_ids_forget(f->s, mrn_zebra, NULL), 0);
    assert_int_equal(write(to_child[1], "f", 1), 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(to_child[1]);
    close(to_parent[0]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the child's write after the swap went to the new file, not the replaced one */
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_MRN, "MRN-FROM-CHILD", false, c), 0);
    reopen(f);
    assert_int_equal(ledger_ids_commit(f->s, LEDGER_ID_MRN, "MRN-FROM-CHILD", false, c), 0);
    expect_gone(f, LEDGER_ID_REMS, rems_zebra, zr);
    assert_false(file_has(f->data, mrn_zebra));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_patients_open_absent_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_commit_is_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_commit_differs_by_id_and_kind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_patients_commit_is_salted_sha256, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_each_stops_on_nonzero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_unknown_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_lookup_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_id_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_link_checks_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_forget_erases_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_forget_unknown_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_patients_forget_among_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_forget_twice_keeps_handle_usable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_patients_forget_ignores_stale_temp_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_patients_each_callback_cannot_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patients_forget_seen_by_other_process, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
