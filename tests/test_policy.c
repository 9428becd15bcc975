/* Unit tests of the policy library (policy/policy.h): profiles, sessions, the
 * entry-time sequencing checks and the inventory, computed from a real ledger.
 * Real LMDB in fresh temp directories and real OpenSSL. */
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

#include "ledger/ident.h"
#include "ledger/ledger.h"
#include "ledger/patients.h"
#include "ledger_int.h"
#include "policy/policy.h"

#define MIN_MS  INT64_C(60000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)
#define T_FAR   INT64_C(800000000000) /* 1995: keys are valid from here */
#define ESK_NDC "50458-0028-02"       /* SPRAVATO 56 mg kit */
#define KET_NDC "00409-2051-05"       /* ketamine 50 mg/mL, 10 mL vial */

/* ---- profiles ---- */

/* Every required key and nothing else: 13 lines. */
static const char minimal[] = "[profile]\n"
                              "name = test\n"
                              "drug = ketamine\n"
                              "[monitoring]\n"
                              "min_minutes = 60\n"
                              "[inventory]\n"
                              "complete_months = 24\n"
                              "[loss]\n"
                              "dea_notice_business_days = 1\n"
                              "form106_days = 45\n"
                              "[timing]\n"
                              "late_hours = 24\n"
                              "future_tolerance_min = 5\n";

static int parse_text(policy_profile *p, const char *text, char *why, size_t whylen)
{
    why[0] = '\0';
    return policy_profile_parse(p, text, strlen(text), "t.ini", why, whylen);
}

/* minimal with @p extra appended */
static int parse_extra(policy_profile *p, const char *extra, char *why, size_t whylen)
{
    char text[4096];
    (void)snprintf(text, sizeof(text), "%s%s", minimal, extra);
    return parse_text(p, text, why, whylen);
}

/* minimal with its line @p from replaced by @p to */
static int parse_replaced(policy_profile *p, const char *from, const char *to, char *why,
                          size_t whylen)
{
    char text[4096];
    const char *at = strstr(minimal, from);
    assert_non_null(at);
    (void)snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - minimal), minimal, to,
                   at + strlen(from));
    return parse_text(p, text, why, whylen);
}

/* A refusal whose message contains every one of the NULL-terminated @p parts. */
static void says(const char *why, ...)
{
    va_list ap;
    va_start(ap, why);
    for (const char *part = va_arg(ap, const char *); part != NULL;
         part = va_arg(ap, const char *)) {
        if (strstr(why, part) == NULL)
            fprintf(stderr, "'%s' does not say '%s'\n", why, part);
        assert_non_null(strstr(why, part));
    }
    va_end(ap);
}

static void test_policy_builtin_profiles_parse(void **state)
{
    policy_profile p;
    char why[POLICY_WHY_MAX];
    size_t n = 0;
    (void)state;
    for (const char *name; (name = policy_builtin_name(n)) != NULL; n++) {
        const char *text = policy_builtin_text(name);
        assert_non_null(text);
        why[0] = '\0';
        int rc = policy_profile_parse(&p, text, strlen(text), name, why, sizeof(why));
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", name, why);
        assert_int_equal(rc, 0);
        assert_string_equal(p.name, name);
    }
    assert_int_equal(n, 2);
    assert_null(policy_builtin_text("no-such-profile"));

    const char *text = policy_builtin_text("spravato-rems");
    assert_non_null(text);
    assert_int_equal(
        policy_profile_parse(&p, text, strlen(text), "spravato-rems.ini", why, sizeof(why)), 0);
    assert_string_equal(p.drug, "esketamine");
    assert_int_equal(p.monitor_min, 120);
    assert_int_equal(p.device_mg, 28);
    assert_int_equal(p.n_allowed_total, 2);
    assert_int_equal(p.allowed_total_mg[0], 56);
    assert_int_equal(p.allowed_total_mg[1], 84);
    assert_int_equal(p.n_flag_total, 1);
    assert_int_equal(p.flag_total_mg[0], 28);
    assert_int_equal(p.first_session_max_mg, 56);
    assert_int_equal(p.min_device_spacing_min, 5);
    assert_int_equal(p.bp_post_from_min, 35);
    assert_int_equal(p.bp_post_until_min, 50);
    assert_int_equal(p.bp_high_systolic, 140);
    assert_int_equal(p.bp_high_diastolic, 90);
    assert_int_equal(p.induction_max_per_7d, 2);
    assert_int_equal(p.min_gap_hours, 48);
    assert_int_equal(p.pmf_days, 7);
    assert_int_equal(p.complete_months, 24);
    assert_int_equal(p.complete_flag_months, 21);
    assert_int_equal(p.dea_notice_business_days, 1);
    assert_int_equal(p.form106_days, 45);
    assert_int_equal(p.late_hours, 24);
    assert_int_equal(p.future_tolerance_min, 5);

    text = policy_builtin_text("ketamine-iv");
    assert_non_null(text);
    assert_int_equal(
        policy_profile_parse(&p, text, strlen(text), "ketamine-iv.ini", why, sizeof(why)), 0);
    assert_string_equal(p.drug, "ketamine");
    assert_int_equal(p.monitor_min, 60);
    assert_int_equal(p.device_mg, 0);
    assert_int_equal(p.n_allowed_total, 0);
    assert_int_equal(p.iv_min_ug_per_kg, 100);
    assert_int_equal(p.iv_max_ug_per_kg, 750);
    assert_int_equal(p.iv_min_infusion_min, 40);

    /* the profile for each drug */
    assert_int_equal(policy_profile_for_drug(&p, "esketamine", why, sizeof(why)), 0);
    assert_string_equal(p.name, "spravato-rems");
    assert_int_equal(policy_profile_for_drug(&p, "ketamine", why, sizeof(why)), 0);
    assert_string_equal(p.name, "ketamine-iv");
}

static void test_policy_profile_minimal(void **state)
{
    policy_profile p;
    char why[POLICY_WHY_MAX];
    (void)state;
    assert_int_equal(parse_text(&p, minimal, why, sizeof(why)), 0);
    assert_string_equal(p.name, "test");
    assert_int_equal(p.monitor_min, 60);
    assert_int_equal(p.form106_days, 45);
    assert_int_equal(p.future_tolerance_min, 5);
    assert_int_equal(p.device_mg, 0); /* optional keys left out are 0: not applied */
    /* lists: spaces around items are allowed */
    assert_int_equal(parse_extra(&p, "[dose]\nallowed_total_mg = 56 , 84,112\n", why, sizeof(why)),
                     0);
    assert_int_equal(p.n_allowed_total, 3);
    assert_int_equal(p.allowed_total_mg[2], 112);
    /* comments, inline comments and blank lines */
    assert_int_equal(parse_extra(&p, "\n; a comment\n[dose]\n# another\ndevice_mg = 28 ; inline\n",
                                 why, sizeof(why)),
                     0);
    assert_int_equal(p.device_mg, 28);
    /* the range ends */
    assert_int_equal(parse_replaced(&p, "min_minutes = 60", "min_minutes = 1440", why, sizeof(why)),
                     0);
    assert_int_equal(p.monitor_min, 1440);
    assert_int_equal(parse_replaced(&p, "future_tolerance_min = 5", "future_tolerance_min = 0", why,
                                    sizeof(why)),
                     0);
}

static void test_policy_profile_unknown_key(void **state)
{
    policy_profile p;
    char why[POLICY_WHY_MAX];
    (void)state;
    assert_int_equal(parse_extra(&p, "[dose]\nfoo = 1\n", why, sizeof(why)), POLICY_EPROFILE);
    says(why, "t.ini", ":15", "foo", "unknown", NULL);
    /* a known key in the wrong section */
    assert_int_equal(parse_extra(&p, "[dose]\nmin_minutes = 60\n", why, sizeof(why)),
                     POLICY_EPROFILE);
    says(why, "t.ini:15", "min_minutes", NULL);
    /* an unknown section: named at its own header line */
    assert_int_equal(parse_extra(&p, "[bogus]\nname = x\n", why, sizeof(why)), POLICY_EPROFILE);
    says(why, "t.ini:14", "unknown section [bogus]", NULL);
    /* an empty unknown section is refused too */
    assert_int_equal(parse_extra(&p, "[bogus]\n", why, sizeof(why)), POLICY_EPROFILE);
    says(why, "t.ini:14", "bogus", NULL);
    /* keys are case-sensitive */
    assert_int_equal(parse_extra(&p, "[dose]\nDevice_mg = 28\n", why, sizeof(why)),
                     POLICY_EPROFILE);
    says(why, ":15", "Device_mg", NULL);
    /* the first error is the one reported */
    assert_int_equal(parse_extra(&p, "[dose]\nfoo = 1\nbar = 2\n", why, sizeof(why)),
                     POLICY_EPROFILE);
    says(why, ":15", "foo", NULL);
    assert_null(strstr(why, "bar"));
}

static void test_policy_profile_bad_values(void **state)
{
    static const char *const bad[] = {
        "min_minutes = abc", "min_minutes = 0",    "min_minutes = 1441", "min_minutes = -5",
        "min_minutes = +5",  "min_minutes = 60m",  "min_minutes = 6 0",  "min_minutes = 4294967356",
        "min_minutes = ",    "min_minutes = 0x3c", "min_minutes = 60.5",
    };
    policy_profile p;
    char why[POLICY_WHY_MAX];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse_replaced(&p, "min_minutes = 60", bad[i], why, sizeof(why));
        if (rc != POLICY_EPROFILE)
            fprintf(stderr, "'%s' accepted\n", bad[i]);
        assert_int_equal(rc, POLICY_EPROFILE);
        says(why, "t.ini:5", "min_minutes", "bad value", NULL);
    }
    assert_int_equal(parse_replaced(&p, "drug = ketamine", "drug = aspirin", why, sizeof(why)),
                     POLICY_EPROFILE);
    says(why, "t.ini:3", "drug", NULL);
    assert_int_equal(parse_replaced(&p, "drug = ketamine", "drug = Ketamine", why, sizeof(why)),
                     POLICY_EPROFILE);
    assert_int_equal(parse_replaced(&p, "name = test", "name = ", why, sizeof(why)),
                     POLICY_EPROFILE);
    says(why, "t.ini:2", "name", NULL);
    char line[128];
    (void)snprintf(line, sizeof(line), "name = %064d", 0); /* 64 characters: one too many */
    assert_int_equal(parse_replaced(&p, "name = test", line, why, sizeof(why)), POLICY_EPROFILE);
    says(why, "t.ini:2", "name", NULL);
    (void)snprintf(line, sizeof(line), "name = %063d", 0);
    assert_int_equal(parse_replaced(&p, "name = test", line, why, sizeof(why)), 0);
    assert_int_equal(strlen(p.name), 63);
    /* lists: empty items, items out of range, more than POLICY_LIST_MAX */
    static const char *const lists[] = {"[dose]\nallowed_total_mg = 56,,84\n",
                                        "[dose]\nallowed_total_mg = 56,\n",
                                        "[dose]\nallowed_total_mg = 0,56\n",
                                        "[dose]\nallowed_total_mg = 56,10001\n",
                                        "[dose]\nallowed_total_mg = 1,2,3,4,5,6,7,8,9\n",
                                        "[dose]\nallowed_total_mg = 56;84\n"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        int rc = parse_extra(&p, lists[i], why, sizeof(why));
        if (rc != POLICY_EPROFILE)
            fprintf(stderr, "'%s' accepted\n", lists[i]);
        assert_int_equal(rc, POLICY_EPROFILE);
        says(why, "t.ini:15", "allowed_total_mg", NULL);
    }
    assert_int_equal(
        parse_extra(&p, "[dose]\nallowed_total_mg = 1,2,3,4,5,6,7,8\n", why, sizeof(why)), 0);
    assert_int_equal(p.n_allowed_total, POLICY_LIST_MAX);
    /* other ranges come from the table */
    assert_int_equal(parse_extra(&p, "[vitals]\nbp_high_systolic = 49\n", why, sizeof(why)),
                     POLICY_EPROFILE);
    says(why, ":15", "bp_high_systolic", NULL);
}

static void test_policy_profile_key_twice(void **state)
{
    policy_profile p;
    char why[POLICY_WHY_MAX];
    (void)state;
    assert_int_equal(parse_extra(&p, "[monitoring]\nmin_minutes = 90\n", why, sizeof(why)),
                     POLICY_EPROFILE);
    says(why, "t.ini:15", "min_minutes", "twice", NULL);
    /* the same value twice is no better */
    assert_int_equal(parse_replaced(&p, "min_minutes = 60", "min_minutes = 60\nmin_minutes = 60",
                                    why, sizeof(why)),
                     POLICY_EPROFILE);
    says(why, "t.ini:6", "min_minutes", "twice", NULL);
}

static void test_policy_profile_missing_key(void **state)
{
    static const char *const required[][2] = {
        {"name = test\n", "name"},
        {"drug = ketamine\n", "drug"},
        {"min_minutes = 60\n", "min_minutes"},
        {"complete_months = 24\n", "complete_months"},
        {"dea_notice_business_days = 1\n", "dea_notice_business_days"},
        {"form106_days = 45\n", "form106_days"},
        {"late_hours = 24\n", "late_hours"},
        {"future_tolerance_min = 5\n", "future_tolerance_min"},
    };
    policy_profile p;
    char why[POLICY_WHY_MAX];
    (void)state;
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        assert_int_equal(parse_replaced(&p, required[i][0], "", why, sizeof(why)), POLICY_EPROFILE);
        says(why, "t.ini", required[i][1], "missing", NULL);
    }
    assert_int_equal(parse_text(&p, "", why, sizeof(why)), POLICY_EPROFILE);
    says(why, "t.ini", "missing", NULL);
}

static void test_policy_profile_syntax_error(void **state)
{
    policy_profile p;
    char why[POLICY_WHY_MAX];
    (void)state;
    assert_int_equal(parse_extra(&p, "this is not ini\n", why, sizeof(why)), POLICY_EPROFILE);
    says(why, "t.ini:14", "syntax", NULL);
    assert_int_equal(parse_extra(&p, "\n\n[unterminated\n", why, sizeof(why)), POLICY_EPROFILE);
    says(why, "t.ini:16", NULL);
    assert_int_equal(parse_replaced(&p, "[loss]", "[loss", why, sizeof(why)), POLICY_EPROFILE);
    says(why, "t.ini:8", NULL);
}

static void test_policy_profile_size_and_nul(void **state)
{
    policy_profile p;
    char why[POLICY_WHY_MAX];
    size_t cap = POLICY_PROFILE_MAX_BYTES + 2;
    char *text = malloc(cap);
    (void)state;
    assert_non_null(text);
    /* exactly POLICY_PROFILE_MAX_BYTES: the minimal profile and comment lines */
    size_t len = strlen(minimal);
    memcpy(text, minimal, len);
    while (len < POLICY_PROFILE_MAX_BYTES) {
        size_t n = POLICY_PROFILE_MAX_BYTES - len;
        if (n > 100)
            n = 100;
        memset(text + len, 'x', n);
        text[len] = ';';
        text[len + n - 1] = '\n';
        len += n;
    }
    assert_int_equal(len, POLICY_PROFILE_MAX_BYTES);
    why[0] = '\0';
    int rc = policy_profile_parse(&p, text, len, "big.ini", why, sizeof(why));
    if (rc != 0)
        fprintf(stderr, "%s\n", why);
    assert_int_equal(rc, 0);
    assert_int_equal(p.monitor_min, 60);
    /* one byte more */
    text[len] = '\n';
    assert_int_equal(policy_profile_parse(&p, text, len + 1, "big.ini", why, sizeof(why)),
                     POLICY_EPROFILE);
    says(why, "big.ini", "larger", NULL);
    free(text);

    /* a NUL byte inside the given length */
    char nul[sizeof(minimal) + 8];
    memcpy(nul, minimal, sizeof(minimal));
    nul[4] = '\0';
    assert_int_equal(
        policy_profile_parse(&p, nul, sizeof(minimal) - 1, "nul.ini", why, sizeof(why)),
        POLICY_EPROFILE);
    says(why, "nul.ini", "NUL", NULL);
    /* the length given is honoured: text after it is not read */
    memcpy(nul, minimal, sizeof(minimal) - 1);
    memcpy(nul + sizeof(minimal) - 1, "foo = 1", 8);
    assert_int_equal(policy_profile_parse(&p, nul, sizeof(minimal) - 1, "n.ini", why, sizeof(why)),
                     0);
}

/* Regression (fixed): lines longer than libinih's INI_MAX_LINE (200) are split, and the rest
 * is parsed as a line of its own: a long comment in [monitoring] whose tail is
 * "min_minutes = 1" sets the monitoring minimum to 1 minute instead of failing
 * for the missing key. */
static void test_policy_profile_long_line_hides_key(void **state)
{
    policy_profile p;
    char why[POLICY_WHY_MAX], comment[256], text[4096];
    (void)state;
    memset(comment, 'x', 199);
    comment[0] = ';';
    memcpy(comment + 199, "min_minutes = 1", 16); /* the tail, NUL included */
    const char *at = strstr(minimal, "min_minutes = 60");
    (void)snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - minimal), minimal, comment,
                   at + strlen("min_minutes = 60"));
    int rc = parse_text(&p, text, why, sizeof(why));
    if (rc == 0)
        fprintf(stderr, "accepted with monitor_min %u\n", p.monitor_min);
    assert_int_equal(rc, POLICY_EPROFILE);
}

/* Regression (fixed): a comment line longer than 199 bytes, and nothing else wrong, is
 * refused as "t.ini:15: syntax error": the line number is off by one (the
 * comment is line 14) and the reason does not say the line is too long. Either
 * accepting it or naming line 14 as too long would do. */
static void test_policy_profile_long_comment_line(void **state)
{
    policy_profile p;
    char why[POLICY_WHY_MAX], comment[320];
    (void)state;
    memset(comment, 'x', 300);
    comment[0] = ';';
    comment[300] = '\0';
    int rc = parse_extra(&p, comment, why, sizeof(why));
    if (rc != 0) {
        assert_int_equal(rc, POLICY_EPROFILE);
        says(why, "t.ini:14", "long", NULL);
    }
}

/* Regression (fixed): policy_profile_for_drug() hands out the ketamine-iv profile for any
 * drug that is not "esketamine" (a typo, "", "Esketamine"), although its
 * "no shipped profile" error exists for exactly that case. */
static void test_policy_profile_for_unknown_drug(void **state)
{
    policy_profile p;
    char why[POLICY_WHY_MAX] = "";
    (void)state;
    assert_int_not_equal(policy_profile_for_drug(&p, "aspirin", why, sizeof(why)), 0);
    assert_int_not_equal(policy_profile_for_drug(&p, "Esketamine", why, sizeof(why)), 0);
}

static void test_policy_strerror(void **state)
{
    static const int codes[] = {POLICY_EINVAL, POLICY_EPROFILE, POLICY_ESEQUENCE, POLICY_ENOSESSION,
                                POLICY_ECLOSED};
    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *m = policy_strerror(codes[i]);
        assert_non_null(m);
        assert_true(m[0] != '\0');
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(m, policy_strerror(codes[j]));
    }
    /* other modules' codes pass through */
    assert_string_equal(policy_strerror(LEDGER_EROLE), ledger_strerror(LEDGER_EROLE));
    assert_string_equal(policy_strerror(KEYS_EBADSIG), ledger_strerror(KEYS_EBADSIG));
}

/* ---- sessions and checks through a real ledger ---- */

typedef struct fx {
    char dir[64];
    ledger *l;
    keys_key *site, *presc, *nurse, *pharm, *pharm2;
    uint8_t presc_kid[KEYS_KID_BYTES], nurse_kid[KEYS_KID_BYTES];
    int64_t day; /* 2026-10-05T00:00Z: all event times are in the past */
    policy_profile spravato, ketamine;
} fx;

static void rm_rf(const char *dir)
{
    assert_int_equal(rxt_rm_rf(dir), 0);
}

static void enroll(fx *f, keys_key *k, const char *name, const char *role)
{
    assert_int_equal(rxt_enroll(f->l, f->site, k, name, role, T_FAR, 0, 0), 0);
}

static void kid_of(const keys_key *k, uint8_t kid[KEYS_KID_BYTES])
{
    uint8_t pub[KEYS_PUB_BYTES];
    keys_key_pub(k, pub);
    keys_kid(kid, pub);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char err[256];
    assert_non_null(f);
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/rxl-pol-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(keys_generate(&f->site), 0);
    assert_int_equal(keys_generate(&f->presc), 0);
    assert_int_equal(keys_generate(&f->nurse), 0);
    assert_int_equal(keys_generate(&f->pharm), 0);
    assert_int_equal(keys_generate(&f->pharm2), 0);
    kid_of(f->presc, f->presc_kid);
    kid_of(f->nurse, f->nurse_kid);
    assert_int_equal(ledger_open(&f->l, f->dir, LEDGER_OPEN_CREATE, err, sizeof(err)), 0);
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "BJ6125341", NULL), 0);
    enroll(f, f->presc, "Sam Poe, MD", "prescriber");
    enroll(f, f->nurse, "Ann Lee, RN", "nurse");
    enroll(f, f->pharm, "Jane Roe, PharmD", "pharmacist");
    enroll(f, f->pharm2, "Raj Das, PharmD", "pharmacist");
    assert_int_equal(ledger_date_parse(&f->day, "2026-10-05", NULL, 0), 0);
    assert_true(f->day + 30 * DAY_MS < ledger__now_ms());
    char why[POLICY_WHY_MAX];
    assert_int_equal(policy_profile_for_drug(&f->spravato, "esketamine", why, sizeof(why)), 0);
    assert_int_equal(policy_profile_for_drug(&f->ketamine, "ketamine", why, sizeof(why)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ledger_close(f->l);
    keys_free(f->site);
    keys_free(f->presc);
    keys_free(f->nurse);
    keys_free(f->pharm);
    keys_free(f->pharm2);
    rm_rf(f->dir);
    free(f);
    return 0;
}

static void verify_ok(fx *f)
{
    ledger_verify_result r;
    assert_int_equal(rxt_verify(f->l, &r), 0);
}

static ledger_body *new_body(void)
{
    ledger_body *b = NULL;
    assert_int_equal(ledger_body_new(&b), 0);
    return b;
}

/* Append @p b (freed) as @p type at event time @p et; must succeed. */
static ledger_appended add(fx *f, keys_key *k, const char *type, ledger_body *b, int64_t et)
{
    ledger_appended ap;
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = type;
    o.body = b;
    o.event_ms = et;
    int rc = ledger_append(f->l, k, &o, &ap);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", type, ledger_errmsg(f->l));
    assert_int_equal(rc, 0);
    ledger_body_free(b);
    return ap;
}

static void patient_id(uint8_t out[LEDGER_COMMIT_BYTES], uint8_t n)
{
    for (size_t i = 0; i < LEDGER_COMMIT_BYTES; i++)
        out[i] = (uint8_t)(n * 31 + i);
}

static uint64_t open_session(fx *f, const uint8_t patient[LEDGER_COMMIT_BYTES], const char *drug,
                             const char *route, const char *setting, int64_t et)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_bytes(b, "patient", patient, LEDGER_COMMIT_BYTES), 0);
    assert_int_equal(ledger_body_put_text(b, "drug", drug), 0);
    assert_int_equal(ledger_body_put_text(b, "route", route), 0);
    assert_int_equal(ledger_body_put_text(b, "setting", setting), 0);
    assert_int_equal(ledger_body_put_bytes(b, "prescriber", f->presc_kid, KEYS_KID_BYTES), 0);
    assert_int_equal(ledger_body_put_bytes(b, "observer", f->nurse_kid, KEYS_KID_BYTES), 0);
    if (strcmp(drug, "ketamine") == 0)
        assert_int_equal(ledger_body_put_uint(b, "weight-kg", 70000), 0);
    return add(f, f->presc, "session.open", b, et).seq;
}

static uint64_t esk_session(fx *f, uint8_t patient_no, int64_t et)
{
    uint8_t p[LEDGER_COMMIT_BYTES];
    patient_id(p, patient_no);
    return open_session(f, p, "esketamine", "intranasal", "outpatient", et);
}

/* Vitals; sys == 0: no blood pressure (a heart rate instead). */
static uint64_t vitals(fx *f, uint64_t sid, const char *phase, uint64_t sys, uint64_t dia,
                       int64_t et)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "session", sid), 0);
    assert_int_equal(ledger_body_put_text(b, "phase", phase), 0);
    if (sys != 0) {
        ledger__buf v;
        ledger__buf_init(&v, 16);
        ledger__cbor_array(&v, 2);
        ledger__cbor_uint(&v, sys);
        ledger__cbor_uint(&v, dia);
        assert_int_equal(ledger__body_put_raw(b, "bp", v.p, v.len), 0);
        ledger__buf_release(&v);
    } else {
        assert_int_equal(ledger_body_put_uint(b, "hr", 72), 0);
    }
    return add(f, f->nurse, "vitals", b, et).seq;
}

static ledger_appended dose(fx *f, uint64_t sid, const char *ndc, const char *lot, uint64_t mg,
                            int64_t et)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "session", sid), 0);
    assert_int_equal(ledger_body_put_text(b, "ndc", ndc), 0);
    assert_int_equal(ledger_body_put_text(b, "lot", lot), 0);
    assert_int_equal(ledger_body_put_uint(b, "mg", mg), 0);
    return add(f, f->nurse, "dose", b, et);
}

static uint64_t discharge(fx *f, uint64_t sid, int64_t et)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "session", sid), 0);
    assert_int_equal(ledger_body_put_bool(b, "sedation-resolved", true), 0);
    assert_int_equal(ledger_body_put_bool(b, "dissociation-resolved", true), 0);
    assert_int_equal(ledger_body_put_bool(b, "respiration-stable", true), 0);
    assert_int_equal(ledger_body_put_bool(b, "transport-arranged", true), 0);
    return add(f, f->nurse, "discharge", b, et).seq;
}

static ledger_body *ref_body(const ledger_appended *act)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "ref", act->seq), 0);
    assert_int_equal(ledger_body_put_bytes(b, "ref-hash", act->hash, LEDGER_HASH_BYTES), 0);
    return b;
}

/* A waste by the pharmacist, witnessed by @p witness; sid 0: no session. */
static ledger_appended waste(fx *f, uint64_t sid, const char *ndc, const char *lot, uint64_t mg,
                             int64_t et, keys_key *witness)
{
    ledger_body *b = new_body();
    if (sid != 0)
        assert_int_equal(ledger_body_put_uint(b, "session", sid), 0);
    assert_int_equal(ledger_body_put_text(b, "ndc", ndc), 0);
    assert_int_equal(ledger_body_put_text(b, "lot", lot), 0);
    assert_int_equal(ledger_body_put_uint(b, "mg", mg), 0);
    assert_int_equal(ledger_body_put_text(b, "manner", "drawn into a sharps container"), 0);
    ledger_appended w = add(f, f->pharm, "waste", b, et);
    (void)add(f, witness, "witness", ref_body(&w), et);
    return w;
}

static void patient_enroll(fx *f, const uint8_t patient[LEDGER_COMMIT_BYTES], int64_t on)
{
    uint8_t rems[LEDGER_COMMIT_BYTES];
    memset(rems, 0x5a, sizeof(rems));
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_bytes(b, "patient", patient, LEDGER_COMMIT_BYTES), 0);
    assert_int_equal(ledger_body_put_bytes(b, "rems-patient-id", rems, sizeof(rems)), 0);
    assert_int_equal(ledger_body_put_uint(b, "on", (uint64_t)on), 0);
    (void)add(f, f->nurse, "patient.enroll", b, on);
}

static void note(fx *f, const char *text)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_text(b, "text", text), 0);
    (void)add(f, f->nurse, "note", b, 0);
}

static void load(fx *f, uint64_t sid, policy_session *s)
{
    char why[POLICY_WHY_MAX] = "";
    int rc = policy_session_load(f->l, sid, s, NULL, NULL, why, sizeof(why));
    if (rc != 0)
        fprintf(stderr, "load %llu: %s\n", (unsigned long long)sid, why);
    assert_int_equal(rc, 0);
}

static void test_policy_session_load_reports(void **state)
{
    fx *f = *state;
    policy_session s;
    uint8_t patient[LEDGER_COMMIT_BYTES];
    int64_t t = f->day + 9 * HOUR_MS;
    patient_id(patient, 1);
    uint64_t sid = open_session(f, patient, "esketamine", "intranasal", "outpatient", t);
    uint64_t other = esk_session(f, 2, t + MIN_MS);
    vitals(f, sid, "pre", 128, 82, t + 5 * MIN_MS);
    note(f, "unrelated");
    dose(f, sid, ESK_NDC, "A1", 28, t + 10 * MIN_MS);
    dose(f, other, ESK_NDC, "A1", 28, t + 11 * MIN_MS); /* another session's */
    dose(f, sid, ESK_NDC, "A1", 28, t + 16 * MIN_MS);
    vitals(f, sid, "post40", 132, 84, t + 50 * MIN_MS);
    load(f, sid, &s);
    assert_int_equal(s.id, sid);
    assert_int_equal(s.opened_ms, t);
    assert_memory_equal(s.patient, patient, LEDGER_COMMIT_BYTES);
    assert_string_equal(s.drug, "esketamine");
    assert_string_equal(s.route, "intranasal");
    assert_string_equal(s.setting, "outpatient");
    assert_memory_equal(s.prescriber, f->presc_kid, KEYS_KID_BYTES);
    assert_memory_equal(s.observer, f->nurse_kid, KEYS_KID_BYTES);
    assert_int_equal(s.weight_g, 0);
    assert_true(s.pre_bp);
    assert_int_equal(s.pre_bp_ms, t + 5 * MIN_MS);
    assert_int_equal(s.doses, 2);
    assert_int_equal(s.total_mg, 56);
    assert_int_equal(s.first_dose_ms, t + 10 * MIN_MS);
    assert_int_equal(s.last_dose_ms, t + 16 * MIN_MS);
    assert_false(s.discharged);
    assert_int_equal(s.entries, 5);
    /* the other session saw only its own dose */
    load(f, other, &s);
    assert_int_equal(s.doses, 1);
    assert_int_equal(s.total_mg, 28);
    assert_false(s.pre_bp);
    assert_int_equal(s.entries, 2);
    /* a ketamine session records the weight */
    uint64_t ket = open_session(f, patient, "ketamine", "iv", "inpatient", t + HOUR_MS);
    load(f, ket, &s);
    assert_string_equal(s.drug, "ketamine");
    assert_string_equal(s.route, "iv");
    assert_string_equal(s.setting, "inpatient");
    assert_int_equal(s.weight_g, 70000);
    assert_int_equal(s.doses, 0);
    assert_int_equal(s.entries, 1);
    verify_ok(f);
}

static void test_policy_session_load_not_a_session(void **state)
{
    fx *f = *state;
    policy_session s;
    char why[POLICY_WHY_MAX];
    int64_t t = f->day + 9 * HOUR_MS;
    uint64_t sid = esk_session(f, 1, t);
    ledger_appended d = dose(f, sid, ESK_NDC, "A1", 28, t + 10 * MIN_MS);
    uint64_t bad[] = {0, 1, d.seq, d.seq + 1, 1000};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(policy_session_load(f->l, bad[i], &s, NULL, NULL, why, sizeof(why)),
                         POLICY_ENOSESSION);
        assert_true(why[0] != '\0');
    }
    assert_int_equal(policy_session_load(f->l, sid, &s, NULL, NULL, why, sizeof(why)), 0);
}

typedef struct seen {
    size_t n;
    uint64_t seq[16];
    char type[16][LEDGER_TYPE_MAX + 1];
} seen;

static int on_entry(const ledger_entry *e, void *ud)
{
    seen *s = ud;
    if (s->n < 16) {
        s->seq[s->n] = e->seq;
        (void)snprintf(s->type[s->n], sizeof(s->type[0]), "%s", e->type);
    }
    s->n++;
    return 0;
}

static void test_policy_session_entry_callback(void **state)
{
    fx *f = *state;
    policy_session s;
    seen got;
    char why[POLICY_WHY_MAX];
    int64_t t = f->day + 9 * HOUR_MS;
    uint64_t sid = esk_session(f, 1, t);
    uint64_t other = esk_session(f, 2, t);
    vitals(f, sid, "pre", 128, 82, t + 5 * MIN_MS);
    dose(f, sid, ESK_NDC, "A1", 28, t + 10 * MIN_MS);
    /* another session's waste and its witness are not this session's */
    waste(f, other, ESK_NDC, "A1", 28, t + 12 * MIN_MS, f->nurse);
    ledger_appended w = waste(f, sid, ESK_NDC, "A1", 28, t + 15 * MIN_MS, f->presc);
    waste(f, 0, ESK_NDC, "A1", 28, t + 16 * MIN_MS, f->nurse); /* no session */
    note(f, "unrelated");
    uint64_t dis = discharge(f, sid, t + 3 * HOUR_MS);
    /* the other session: a waste, a dose, then the waste's witness (two after it) */
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "session", other), 0);
    assert_int_equal(ledger_body_put_text(b, "ndc", ESK_NDC), 0);
    assert_int_equal(ledger_body_put_text(b, "lot", "A1"), 0);
    assert_int_equal(ledger_body_put_uint(b, "mg", 28), 0);
    assert_int_equal(ledger_body_put_text(b, "manner", "sharps"), 0);
    ledger_appended w2 = add(f, f->pharm, "waste", b, t + 20 * MIN_MS);
    dose(f, other, ESK_NDC, "A1", 28, t + 21 * MIN_MS);
    (void)add(f, f->presc, "witness", ref_body(&w2), t + 21 * MIN_MS);
    memset(&got, 0, sizeof(got));
    assert_int_equal(policy_session_load(f->l, sid, &s, on_entry, &got, why, sizeof(why)), 0);
    static const char *const want[] = {"session.open", "vitals",  "dose",
                                       "waste",        "witness", "discharge"};
    assert_int_equal(got.n, 6);
    assert_int_equal(s.entries, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(got.type[i], want[i]);
    assert_int_equal(got.seq[0], sid);
    assert_int_equal(got.seq[3], w.seq);
    assert_int_equal(got.seq[4], w.seq + 1);
    assert_int_equal(got.seq[5], dis);
    for (size_t i = 1; i < 6; i++)
        assert_true(got.seq[i] > got.seq[i - 1]);
    /* the other session: open, waste, witness, waste, dose, witness */
    memset(&got, 0, sizeof(got));
    assert_int_equal(policy_session_load(f->l, other, &s, on_entry, &got, why, sizeof(why)), 0);
    static const char *const want2[] = {"session.open", "waste", "witness",
                                        "waste",        "dose",  "witness"};
    assert_int_equal(got.n, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(got.type[i], want2[i]);
    assert_int_equal(got.seq[5], w2.seq + 2);
    assert_int_equal(s.doses, 1);
    verify_ok(f);
}

static void test_policy_check_dose_needs_pre_bp(void **state)
{
    fx *f = *state;
    policy_session s;
    char why[POLICY_WHY_MAX];
    int64_t t = f->day + 9 * HOUR_MS;
    uint64_t sid = esk_session(f, 1, t);
    uint64_t other = esk_session(f, 2, t);
    load(f, sid, &s);
    why[0] = '\0';
    assert_int_equal(policy_check_dose(&s, t + 10 * MIN_MS, why, sizeof(why)), POLICY_ESEQUENCE);
    says(why, "pre-dose", NULL);
    /* none of these is a pre-dose BP of this session */
    vitals(f, other, "pre", 128, 82, t + 2 * MIN_MS);
    vitals(f, sid, "post40", 128, 82, t + 3 * MIN_MS);
    vitals(f, sid, "other", 128, 82, t + 3 * MIN_MS);
    vitals(f, sid, "pre", 0, 0, t + 4 * MIN_MS); /* heart rate only */
    load(f, sid, &s);
    assert_false(s.pre_bp);
    assert_int_equal(policy_check_dose(&s, t + 10 * MIN_MS, why, sizeof(why)), POLICY_ESEQUENCE);
    /* a pre-dose BP at t+5 */
    vitals(f, sid, "pre", 128, 82, t + 5 * MIN_MS);
    load(f, sid, &s);
    assert_true(s.pre_bp);
    assert_int_equal(s.pre_bp_ms, t + 5 * MIN_MS);
    assert_int_equal(policy_check_dose(&s, t + 10 * MIN_MS, why, sizeof(why)), 0);
    assert_int_equal(policy_check_dose(&s, t + 5 * MIN_MS, why, sizeof(why)), 0);
    /* a dose before the BP was taken */
    why[0] = '\0';
    assert_int_equal(policy_check_dose(&s, t + 5 * MIN_MS - 1, why, sizeof(why)), POLICY_ESEQUENCE);
    says(why, "pre-dose", NULL);
    /* an earlier pre-dose BP recorded later counts from its event time */
    vitals(f, sid, "pre", 126, 80, t + MIN_MS);
    load(f, sid, &s);
    assert_int_equal(s.pre_bp_ms, t + MIN_MS);
    assert_int_equal(policy_check_dose(&s, t + 2 * MIN_MS, why, sizeof(why)), 0);
    /* a later one does not move it */
    vitals(f, sid, "pre", 130, 84, t + 20 * MIN_MS);
    load(f, sid, &s);
    assert_int_equal(s.pre_bp_ms, t + MIN_MS);
    assert_int_equal(policy_check_dose(&s, t + 2 * MIN_MS, why, sizeof(why)), 0);
}

static void test_policy_check_discharge_monitoring_time(void **state)
{
    fx *f = *state;
    policy_session s;
    char why[POLICY_WHY_MAX];
    int64_t t = f->day + 9 * HOUR_MS;
    uint64_t sid = esk_session(f, 1, t);
    /* without doses the time counts from the session's start */
    load(f, sid, &s);
    assert_int_equal(policy_check_discharge(&s, &f->spravato, t + 119 * MIN_MS, why, sizeof(why)),
                     POLICY_ESEQUENCE);
    assert_int_equal(policy_check_discharge(&s, &f->spravato, t + 120 * MIN_MS, why, sizeof(why)),
                     0);
    vitals(f, sid, "pre", 128, 82, t + 5 * MIN_MS);
    int64_t first = t + 10 * MIN_MS, last = t + 16 * MIN_MS;
    dose(f, sid, ESK_NDC, "A1", 28, first);
    dose(f, sid, ESK_NDC, "A1", 28, last);
    load(f, sid, &s);
    why[0] = '\0';
    assert_int_equal(
        policy_check_discharge(&s, &f->spravato, last + 119 * MIN_MS, why, sizeof(why)),
        POLICY_ESEQUENCE);
    says(why, "119", "120", "spravato-rems", NULL);
    assert_int_equal(
        policy_check_discharge(&s, &f->spravato, last + 120 * MIN_MS - 1, why, sizeof(why)),
        POLICY_ESEQUENCE);
    assert_int_equal(
        policy_check_discharge(&s, &f->spravato, last + 120 * MIN_MS, why, sizeof(why)), 0);
    assert_int_equal(policy_check_discharge(&s, &f->spravato, last + 6 * HOUR_MS, why, sizeof(why)),
                     0);
    /* measured from the last device, not the first */
    assert_int_equal(
        policy_check_discharge(&s, &f->spravato, first + 120 * MIN_MS, why, sizeof(why)),
        POLICY_ESEQUENCE);
    /* before the last dose at all */
    assert_int_equal(policy_check_discharge(&s, &f->spravato, first, why, sizeof(why)),
                     POLICY_ESEQUENCE);
    /* the threshold is the profile's */
    assert_int_equal(policy_check_discharge(&s, &f->ketamine, last + 59 * MIN_MS, why, sizeof(why)),
                     POLICY_ESEQUENCE);
    says(why, "ketamine-iv", NULL);
    assert_int_equal(policy_check_discharge(&s, &f->ketamine, last + 60 * MIN_MS, why, sizeof(why)),
                     0);
}

static void test_policy_discharged_session_is_closed(void **state)
{
    fx *f = *state;
    policy_session s;
    char why[POLICY_WHY_MAX];
    int64_t t = f->day + 9 * HOUR_MS;
    uint64_t sid = esk_session(f, 1, t);
    vitals(f, sid, "pre", 128, 82, t + 5 * MIN_MS);
    dose(f, sid, ESK_NDC, "A1", 28, t + 10 * MIN_MS);
    load(f, sid, &s);
    assert_int_equal(policy_check_open(&s, why, sizeof(why)), 0);
    uint64_t dis = discharge(f, sid, t + 3 * HOUR_MS);
    load(f, sid, &s);
    assert_true(s.discharged);
    assert_int_equal(s.discharge_seq, dis);
    assert_int_equal(s.discharge_ms, t + 3 * HOUR_MS);
    why[0] = '\0';
    assert_int_equal(policy_check_open(&s, why, sizeof(why)), POLICY_ECLOSED);
    assert_true(why[0] != '\0');
    assert_int_equal(policy_check_dose(&s, t + 4 * HOUR_MS, why, sizeof(why)), POLICY_ECLOSED);
    assert_int_equal(policy_check_discharge(&s, &f->spravato, t + 4 * HOUR_MS, why, sizeof(why)),
                     POLICY_ECLOSED);
    /* a second discharge does not move the first */
    discharge(f, sid, t + 4 * HOUR_MS);
    load(f, sid, &s);
    assert_int_equal(s.discharge_seq, dis);
    assert_int_equal(s.discharge_ms, t + 3 * HOUR_MS);
}

static void test_policy_check_session_open_enrollment(void **state)
{
    fx *f = *state;
    char why[POLICY_WHY_MAX];
    uint8_t p[LEDGER_COMMIT_BYTES], q[LEDGER_COMMIT_BYTES], r[LEDGER_COMMIT_BYTES];
    int64_t session = f->day + 9 * HOUR_MS;
    patient_id(p, 1);
    patient_id(q, 2);
    patient_id(r, 3);
    why[0] = '\0';
    assert_int_equal(
        policy_check_session_open(f->l, p, "esketamine", "outpatient", session, why, sizeof(why)),
        POLICY_ESEQUENCE);
    says(why, "not enrolled", NULL);
    /* ketamine, and inpatient esketamine, are never refused */
    assert_int_equal(
        policy_check_session_open(f->l, p, "ketamine", "outpatient", session, why, sizeof(why)), 0);
    assert_int_equal(
        policy_check_session_open(f->l, p, "ketamine", "inpatient", session, why, sizeof(why)), 0);
    assert_int_equal(
        policy_check_session_open(f->l, p, "esketamine", "inpatient", session, why, sizeof(why)),
        0);
    /* another patient's enrollment does not count */
    patient_enroll(f, q, f->day - 10 * DAY_MS);
    assert_int_equal(
        policy_check_session_open(f->l, p, "esketamine", "outpatient", session, why, sizeof(why)),
        POLICY_ESEQUENCE);
    assert_int_equal(
        policy_check_session_open(f->l, q, "esketamine", "outpatient", session, why, sizeof(why)),
        0);
    /* enrolled the day after the session */
    patient_enroll(f, p, f->day + DAY_MS);
    why[0] = '\0';
    assert_int_equal(
        policy_check_session_open(f->l, p, "esketamine", "outpatient", session, why, sizeof(why)),
        POLICY_ESEQUENCE);
    says(why, "2026-10-06", NULL);
    /* but fine for a session on that day or later */
    assert_int_equal(policy_check_session_open(f->l, p, "esketamine", "outpatient", f->day + DAY_MS,
                                               why, sizeof(why)),
                     0);
    assert_int_equal(policy_check_session_open(f->l, p, "esketamine", "outpatient",
                                               f->day + DAY_MS - 1, why, sizeof(why)),
                     POLICY_ESEQUENCE);
    /* enrolled on the session's date: the earliest enrollment counts */
    patient_enroll(f, p, f->day);
    assert_int_equal(
        policy_check_session_open(f->l, p, "esketamine", "outpatient", session, why, sizeof(why)),
        0);
    /* enrolled well before */
    patient_enroll(f, r, f->day - 30 * DAY_MS);
    assert_int_equal(
        policy_check_session_open(f->l, r, "esketamine", "outpatient", session, why, sizeof(why)),
        0);
    verify_ok(f);
}

/* ---- inventory ---- */

typedef struct lots {
    size_t n;
    policy_lot v[8];
} lots;

static int on_lot(const policy_lot *lot, void *ud)
{
    lots *l = ud;
    if (l->n < 8)
        l->v[l->n] = *lot;
    l->n++;
    return 0;
}

typedef struct lot_keys {
    size_t n;
    char key[40][96];
    uint64_t units[40];
} lot_keys;

static int on_any_lot(const policy_lot *lot, void *ud)
{
    lot_keys *k = ud;
    if (k->n < 40) {
        (void)snprintf(k->key[k->n], sizeof(k->key[0]), "%s/%s", lot->ndc, lot->lot);
        k->units[k->n] = lot->count_units;
    }
    k->n++;
    return 0;
}

static void inventory(fx *f, int64_t until, lots *out)
{
    char why[POLICY_WHY_MAX] = "";
    memset(out, 0, sizeof(*out));
    int rc = policy_inventory(f->l, until, on_lot, out, why, sizeof(why));
    if (rc != 0)
        fprintf(stderr, "inventory: %s\n", why);
    assert_int_equal(rc, 0);
}

static ledger_appended receive(fx *f, const char *ndc, const char *lot, const char *substance,
                               uint64_t unit_mg, uint64_t containers, uint64_t per, int64_t expires,
                               int64_t et)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_text(b, "ndc", ndc), 0);
    assert_int_equal(ledger_body_put_text(b, "lot", lot), 0);
    assert_int_equal(ledger_body_put_uint(b, "expires", (uint64_t)expires), 0);
    assert_int_equal(ledger_body_put_text(b, "substance", substance), 0);
    assert_int_equal(ledger_body_put_text(b, "form", "as labelled"), 0);
    assert_int_equal(ledger_body_put_uint(b, "unit-mg", unit_mg), 0);
    assert_int_equal(ledger_body_put_uint(b, "containers", containers), 0);
    assert_int_equal(ledger_body_put_uint(b, "units-per-container", per), 0);
    assert_int_equal(ledger_body_put_text(b, "supplier", "Acme Wholesale"), 0);
    assert_int_equal(ledger_body_put_text(b, "supplier-address", "1 Main St, Springfield"), 0);
    assert_int_equal(ledger_body_put_text(b, "supplier-dea", "AP5836727"), 0);
    return add(f, f->pharm, "stock.receive", b, et);
}

static ledger_body *stock_body(const char *ndc, const char *lot, const char *qkey, uint64_t q)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_text(b, "ndc", ndc), 0);
    assert_int_equal(ledger_body_put_text(b, "lot", lot), 0);
    assert_int_equal(ledger_body_put_uint(b, qkey, q), 0);
    return b;
}

typedef struct scenario {
    int64_t t, exp_a, exp_b;
    ledger_appended recv_a, recv_b, dose_a1, count;
} scenario;

/*
 * Lot A1: SPRAVATO, 5 kits of 2 devices of 28 mg = 10 devices, 280 mg.
 *   doses 28 + 28 + 28, 2 devices destroyed, counted 5 devices.
 *   on hand 280 - 84 - 2 * 28 = 140 mg.
 * Lot K7: ketamine, 2 boxes of 10 vials of 500 mg = 20 vials, 10000 mg.
 *   dose 35, waste 465, 1 vial lost.
 *   on hand 10000 - 35 - 465 - 500 = 9000 mg.
 */
static void build_scenario(fx *f, scenario *sc)
{
    sc->t = f->day + 8 * HOUR_MS;
    assert_int_equal(ledger_date_parse(&sc->exp_a, "2027-06-30", NULL, 0), 0);
    assert_int_equal(ledger_date_parse(&sc->exp_b, "2028-01-31", NULL, 0), 0);
    int64_t t = sc->t;
    sc->recv_a = receive(f, ESK_NDC, "A1", "esketamine", 28, 5, 2, sc->exp_a, t);
    sc->recv_b = receive(f, KET_NDC, "K7", "ketamine", 500, 2, 10, sc->exp_b, t + HOUR_MS);
    uint64_t s1 = esk_session(f, 1, t + 2 * HOUR_MS);
    vitals(f, s1, "pre", 128, 82, t + 2 * HOUR_MS + MIN_MS);
    sc->dose_a1 = dose(f, s1, ESK_NDC, "A1", 28, t + 2 * HOUR_MS + 5 * MIN_MS);
    dose(f, s1, ESK_NDC, "A1", 28, t + 2 * HOUR_MS + 10 * MIN_MS);
    uint8_t p[LEDGER_COMMIT_BYTES];
    patient_id(p, 2);
    uint64_t s2 = open_session(f, p, "ketamine", "iv", "outpatient", t + 3 * HOUR_MS);
    dose(f, s2, KET_NDC, "K7", 35, t + 3 * HOUR_MS + 40 * MIN_MS);
    waste(f, s2, KET_NDC, "K7", 465, t + 3 * HOUR_MS + 41 * MIN_MS, f->nurse);
    uint64_t s3 = esk_session(f, 3, t + 4 * HOUR_MS);
    dose(f, s3, ESK_NDC, "A1", 28, t + 4 * HOUR_MS + 5 * MIN_MS);
    /* destruction of 2 devices with two witnesses */
    ledger_body *b = stock_body(ESK_NDC, "A1", "units", 2);
    assert_int_equal(ledger_body_put_text(b, "method", "reverse distributor"), 0);
    ledger_appended d = add(f, f->pharm, "stock.destroy", b, t + 5 * HOUR_MS);
    (void)add(f, f->pharm2, "witness", ref_body(&d), t + 5 * HOUR_MS);
    (void)add(f, f->nurse, "witness", ref_body(&d), t + 5 * HOUR_MS);
    /* one vial stolen */
    b = stock_body(KET_NDC, "K7", "units", 1);
    assert_int_equal(ledger_body_put_text(b, "kind", "theft"), 0);
    assert_int_equal(ledger_body_put_uint(b, "discovered", (uint64_t)(t + 6 * HOUR_MS)), 0);
    (void)add(f, f->pharm, "stock.loss", b, t + 6 * HOUR_MS);
    /* a count of lot A1 at close of business */
    b = stock_body(ESK_NDC, "A1", "on-hand", 5);
    assert_int_equal(ledger_body_put_text(b, "when", "close"), 0);
    assert_int_equal(ledger_body_put_bool(b, "complete", true), 0);
    sc->count = add(f, f->pharm, "stock.count", b, t + 7 * HOUR_MS);
}

static void test_policy_inventory_two_lots(void **state)
{
    fx *f = *state;
    scenario sc;
    lots got;
    build_scenario(f, &sc);
    inventory(f, 0, &got);
    assert_int_equal(got.n, 2);
    /* in NDC order: 00409-... before 50458-... */
    const policy_lot *k = &got.v[0], *a = &got.v[1];
    assert_string_equal(k->ndc, KET_NDC);
    assert_string_equal(k->lot, "K7");
    assert_string_equal(k->substance, "ketamine");
    assert_int_equal(k->expires_ms, sc.exp_b);
    assert_int_equal(k->unit_mg, 500);
    assert_int_equal(k->received_units, 20);
    assert_int_equal(k->administered_mg, 35);
    assert_int_equal(k->wasted_mg, 465);
    assert_int_equal(k->destroyed_units, 0);
    assert_int_equal(k->lost_units, 1);
    assert_int_equal(k->on_hand_mg, 9000);
    assert_false(k->counted);

    assert_string_equal(a->ndc, ESK_NDC);
    assert_string_equal(a->lot, "A1");
    assert_string_equal(a->substance, "esketamine");
    assert_int_equal(a->expires_ms, sc.exp_a);
    assert_int_equal(a->unit_mg, 28);
    assert_int_equal(a->received_units, 10);
    assert_int_equal(a->administered_mg, 84);
    assert_int_equal(a->wasted_mg, 0);
    assert_int_equal(a->destroyed_units, 2);
    assert_int_equal(a->lost_units, 0);
    assert_int_equal(a->on_hand_mg, 140);
    assert_true(a->counted);
    assert_int_equal(a->count_units, 5);
    assert_int_equal(a->count_seq, sc.count.seq);
    assert_int_equal(a->count_ms, sc.t + 7 * HOUR_MS);
    /* the computed balance agrees with the physical count */
    assert_int_equal(a->on_hand_mg, (int64_t)(a->count_units * a->unit_mg));
    verify_ok(f);
}

static void test_policy_inventory_until(void **state)
{
    fx *f = *state;
    scenario sc;
    lots got;
    build_scenario(f, &sc);
    /* event times strictly before until_ms */
    inventory(f, sc.t, &got);
    assert_int_equal(got.n, 0);
    inventory(f, sc.t + 1, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.v[0].lot, "A1");
    assert_int_equal(got.v[0].received_units, 10);
    assert_int_equal(got.v[0].on_hand_mg, 280);
    /* after the second receipt, before any dose */
    inventory(f, sc.t + HOUR_MS + 1, &got);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.v[0].on_hand_mg, 10000);
    assert_int_equal(got.v[1].on_hand_mg, 280);
    /* after the first session's two doses */
    inventory(f, sc.t + 2 * HOUR_MS + 11 * MIN_MS, &got);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.v[1].administered_mg, 56);
    assert_int_equal(got.v[1].on_hand_mg, 224);
    assert_false(got.v[1].counted);
    /* until the end: as with 0 */
    inventory(f, ledger__now_ms() + HOUR_MS, &got);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.v[1].on_hand_mg, 140);
}

static void test_policy_inventory_amendment(void **state)
{
    fx *f = *state;
    scenario sc;
    lots got;
    build_scenario(f, &sc);
    /* the first dose was 56 mg, not 28: corrected by an amendment */
    ledger_body *set = new_body();
    assert_int_equal(ledger_body_put_text(set, "mg", "56"), 0);
    ledger_body *b = ref_body(&sc.dose_a1);
    assert_int_equal(ledger_body_put_text(b, "reason", "two devices given, one recorded"), 0);
    assert_int_equal(ledger_body_put_map(b, "set", set), 0);
    ledger_body_free(set);
    (void)add(f, f->nurse, "amend", b, 0);
    inventory(f, 0, &got);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.v[1].administered_mg, 112);
    assert_int_equal(got.v[1].on_hand_mg, 280 - 112 - 56);
    assert_int_equal(got.v[0].administered_mg, 35); /* the other lot is untouched */
    /* a later correction wins */
    set = new_body();
    assert_int_equal(ledger_body_put_text(set, "mg", "84"), 0);
    b = ref_body(&sc.dose_a1);
    assert_int_equal(ledger_body_put_text(b, "reason", "three devices"), 0);
    assert_int_equal(ledger_body_put_map(b, "set", set), 0);
    ledger_body_free(set);
    (void)add(f, f->nurse, "amend", b, 0);
    inventory(f, 0, &got);
    assert_int_equal(got.v[1].administered_mg, 140);
    /* a correction of the receipt's quantities */
    set = new_body();
    assert_int_equal(ledger_body_put_text(set, "containers", "6"), 0);
    b = ref_body(&sc.recv_a);
    assert_int_equal(ledger_body_put_text(b, "reason", "miscounted kits"), 0);
    assert_int_equal(ledger_body_put_map(b, "set", set), 0);
    ledger_body_free(set);
    (void)add(f, f->pharm, "amend", b, 0);
    inventory(f, 0, &got);
    assert_int_equal(got.v[1].received_units, 12);
    assert_int_equal(got.v[1].on_hand_mg, 12 * 28 - 140 - 56);
    verify_ok(f);
}

static void test_policy_inventory_never_received(void **state)
{
    fx *f = *state;
    lots got;
    int64_t t = f->day + 9 * HOUR_MS;
    /* no stock entries yet: no lots */
    inventory(f, 0, &got);
    assert_int_equal(got.n, 0);
    uint64_t sid = esk_session(f, 1, t);
    dose(f, sid, ESK_NDC, "NOPE", 28, t + 10 * MIN_MS);
    inventory(f, 0, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.v[0].lot, "NOPE");
    assert_int_equal(got.v[0].received_units, 0);
    assert_int_equal(got.v[0].administered_mg, 28);
    assert_int_equal(got.v[0].on_hand_mg, -28);
}

static void test_policy_inventory_many_lots_sorted(void **state)
{
    /* more lots than the first allocation holds, met in no particular order */
    fx *f = *state;
    enum { N = 40 };
    int64_t t = f->day + 9 * HOUR_MS;
    for (unsigned i = 0; i < N; i++) {
        unsigned k = (i * 17) % N; /* 17 is prime to 40: each k once */
        char lot[8];
        (void)snprintf(lot, sizeof(lot), "L%02u", k);
        ledger_body *b = stock_body(k % 2 ? KET_NDC : ESK_NDC, lot, "on-hand", k);
        assert_int_equal(ledger_body_put_text(b, "when", "open"), 0);
        (void)add(f, f->pharm, "stock.count", b, t + (int64_t)i * MIN_MS);
    }
    char why[POLICY_WHY_MAX];
    lot_keys *keys = calloc(1, sizeof(*keys));
    assert_non_null(keys);
    assert_int_equal(policy_inventory(f->l, 0, on_any_lot, keys, why, sizeof(why)), 0);
    assert_int_equal(keys->n, N);
    for (size_t i = 0; i < N; i++) {
        /* odd k: ketamine (00409-...) first, then even k under 50458-... */
        unsigned k = i < N / 2 ? (unsigned)(2 * i + 1) : (unsigned)(2 * (i - N / 2));
        char want[96];
        (void)snprintf(want, sizeof(want), "%s/L%02u", k % 2 ? KET_NDC : ESK_NDC, k);
        assert_string_equal(keys->key[i], want);
        assert_int_equal(keys->units[i], k);
    }
    free(keys);
}

int main(void)
{
#define FX(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_builtin_profiles_parse),
        cmocka_unit_test(test_policy_profile_minimal),
        cmocka_unit_test(test_policy_profile_unknown_key),
        cmocka_unit_test(test_policy_profile_bad_values),
        cmocka_unit_test(test_policy_profile_key_twice),
        cmocka_unit_test(test_policy_profile_missing_key),
        cmocka_unit_test(test_policy_profile_syntax_error),
        cmocka_unit_test(test_policy_profile_size_and_nul),
        cmocka_unit_test(test_policy_profile_long_line_hides_key),
        cmocka_unit_test(test_policy_profile_long_comment_line),
        cmocka_unit_test(test_policy_profile_for_unknown_drug),
        cmocka_unit_test(test_policy_strerror),
        FX(test_policy_session_load_reports),
        FX(test_policy_session_load_not_a_session),
        FX(test_policy_session_entry_callback),
        FX(test_policy_check_dose_needs_pre_bp),
        FX(test_policy_check_discharge_monitoring_time),
        FX(test_policy_discharged_session_is_closed),
        FX(test_policy_check_session_open_enrollment),
        FX(test_policy_inventory_two_lots),
        FX(test_policy_inventory_until),
        FX(test_policy_inventory_amendment),
        FX(test_policy_inventory_never_received),
        FX(test_policy_inventory_many_lots_sorted),
    };
#undef FX
    return cmocka_run_group_tests(tests, NULL, NULL);
}
