/* Audit session rules: for each rule a scenario that breaks it once and a twin
 * that does not, asserted by rule id, severity, session and evidence seqs.
 * Real LMDB, real OpenSSL. */
/* cmocka needs these headers before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <string.h>

#include "audit_fixture.h"
#include "ledger/records.h"

static const uint8_t P1[32] = {1, 1, 1};
static const uint8_t P2[32] = {2, 2, 2};

#define ESK_NDC "50458-028-02"
#define KET_NDC "0143-9508-10"
#define MIN     FX_MIN
#define DAY     FX_DAY
#define HOUR    (60 * FX_MIN)

/* ---- scenario helpers ---- */

/* One session, step by step. The esk() defaults are fx_good_esk_session()'s
 * with two devices; the ket() defaults a clean IV ketamine infusion. */
typedef struct sx {
    const uint8_t *patient;
    const char *drug, *route, *setting;
    int64_t t;
    uint64_t weight_g;
    const uint8_t *prescriber; /* NULL: the fixture's prescriber */
    size_t devices;
    uint64_t mg[4];            /* per dose */
    int64_t spacing_min;       /* between doses */
    uint64_t infusion_min;     /* 0: not recorded */
    unsigned pre_sys, pre_dia; /* 0: no pre-dose blood pressure */
    bool pre_note, spo2;
    int64_t post_min;      /* blood pressure this long after the first dose; <0: none */
    bool discharge_bp;     /* a "discharge" blood pressure 5 min before the discharge */
    int64_t discharge_min; /* discharge this long after the last dose; <0: never */
    bool attested, transport;
    keys_key *discharger; /* NULL: the session's observer */
    int pmf_days;         /* monitoring form submitted this many days later; <0: none */
} sx;

typedef struct sxs {
    uint64_t open, pre, dose[4], post, discharge_bp, discharge, pmf;
} sxs;

static sx esk(const uint8_t *patient, int64_t t)
{
    sx x = {.patient = patient,
            .drug = "esketamine",
            .route = "intranasal",
            .setting = "outpatient",
            .t = t,
            .devices = 2,
            .mg = {28, 28, 28, 28},
            .spacing_min = 5,
            .pre_sys = 128,
            .pre_dia = 82,
            .spo2 = true,
            .post_min = 40,
            .discharge_bp = true,
            .discharge_min = 130,
            .attested = true,
            .transport = true,
            .pmf_days = 1};
    return x;
}

static sx ket(const uint8_t *patient, int64_t t)
{
    sx x = esk(patient, t);
    x.drug = "ketamine";
    x.route = "iv";
    x.weight_g = 70000;
    x.devices = 1;
    x.mg[0] = 35; /* 0.5 mg/kg */
    x.infusion_min = 40;
    x.post_min = -1;
    x.discharge_min = 105; /* 40 min infusion, 65 min observation */
    x.pmf_days = -1;
    return x;
}

static ledger_body *vitals_body(uint64_t s, const char *phase, unsigned sys, unsigned dia,
                                bool spo2, bool note)
{
    ledger_body *b = fx_body();
    const ledger_rtype *rt = ledger_rtype_find("vitals");
    char bp[16];
    (void)ledger_body_put_uint(b, "session", s);
    (void)ledger_body_put_text(b, "phase", phase);
    if (sys != 0) {
        (void)snprintf(bp, sizeof(bp), "%u/%u", sys, dia);
        assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, "bp"), bp, b, NULL, 0), 0);
    }
    (void)ledger_body_put_uint(b, "hr", 72);
    if (spo2)
        (void)ledger_body_put_uint(b, "spo2", 98);
    if (note)
        (void)ledger_body_put_text(b, "note", "rechecked after 10 min rest; cleared to dose");
    return b;
}

static uint64_t add_vitals(fx *f, uint64_t s, const char *phase, unsigned sys, unsigned dia,
                           bool spo2, bool note, int64_t at)
{
    ledger_body *b = vitals_body(s, phase, sys, dia, spo2, note);
    uint64_t seq = fx_add(f, f->nurse, "vitals", at, b);
    ledger_body_free(b);
    return seq;
}

static uint64_t add_discharge(fx *f, keys_key *k, uint64_t s, bool attested, bool transport,
                              int64_t at)
{
    ledger_body *b = fx_body();
    (void)ledger_body_put_uint(b, "session", s);
    if (attested) {
        (void)ledger_body_put_bool(b, "sedation-resolved", true);
        (void)ledger_body_put_bool(b, "dissociation-resolved", true);
        (void)ledger_body_put_bool(b, "respiration-stable", true);
    }
    if (transport)
        (void)ledger_body_put_bool(b, "transport-arranged", true);
    uint64_t seq = fx_add(f, k, "discharge", at, b);
    ledger_body_free(b);
    return seq;
}

static uint64_t add_pmf(fx *f, uint64_t s, int64_t at)
{
    ledger_body *b = fx_body();
    (void)ledger_body_put_uint(b, "session", s);
    (void)ledger_body_put_uint(b, "submitted", (uint64_t)(at / DAY * DAY));
    uint64_t seq = fx_add(f, f->presc, "pmf", at, b);
    ledger_body_free(b);
    return seq;
}

static sxs run(fx *f, const sx *x)
{
    sxs o;
    ledger_body *b = fx_body();
    const ledger_rtype *dose = ledger_rtype_find("dose");
    bool is_esk = strcmp(x->drug, "esketamine") == 0;
    memset(&o, 0, sizeof(o));
    (void)ledger_body_put_bytes(b, "patient", x->patient, 32);
    (void)ledger_body_put_text(b, "drug", x->drug);
    (void)ledger_body_put_text(b, "route", x->route);
    (void)ledger_body_put_text(b, "setting", x->setting);
    (void)ledger_body_put_bytes(b, "prescriber", x->prescriber ? x->prescriber : f->kid_presc,
                                KEYS_KID_BYTES);
    (void)ledger_body_put_bytes(b, "observer", f->kid_nurse, KEYS_KID_BYTES);
    if (x->weight_g != 0)
        (void)ledger_body_put_uint(b, "weight-kg", x->weight_g);
    o.open = fx_add(f, f->nurse, "session.open", x->t, b);
    ledger_body_free(b);

    o.pre =
        add_vitals(f, o.open, "pre", x->pre_sys, x->pre_dia, x->spo2, x->pre_note, x->t + 2 * MIN);
    int64_t first = x->t + 5 * MIN, last = first;
    for (size_t i = 0; i < x->devices; i++) {
        last = first + (int64_t)i * x->spacing_min * MIN;
        b = fx_body();
        (void)ledger_body_put_uint(b, "session", o.open);
        assert_int_equal(ledger_field_parse(ledger_rtype_field(dose, "ndc"),
                                            is_esk ? ESK_NDC : KET_NDC, b, NULL, 0),
                         0);
        (void)ledger_body_put_text(b, "lot", is_esk ? "LOTA" : "LOTK");
        (void)ledger_body_put_uint(b, "mg", x->mg[i]);
        if (!is_esk) {
            (void)ledger_body_put_uint(b, "ml", x->mg[i] * 1000 / 50); /* uL at 50 mg/mL */
            (void)ledger_body_put_uint(b, "concentration", 50000);
            if (x->infusion_min != 0)
                (void)ledger_body_put_uint(b, "infusion-min", x->infusion_min);
        }
        o.dose[i] = fx_add(f, f->nurse, "dose", last, b);
        ledger_body_free(b);
    }
    if (x->post_min >= 0)
        o.post =
            add_vitals(f, o.open, "post40", 130, 84, x->spo2, false, first + x->post_min * MIN);
    if (x->discharge_min >= 0) {
        if (x->discharge_bp)
            o.discharge_bp = add_vitals(f, o.open, "discharge", 124, 80, x->spo2, false,
                                        last + (x->discharge_min - 5) * MIN);
        o.discharge = add_discharge(f, x->discharger ? x->discharger : f->nurse, o.open,
                                    x->attested, x->transport, last + x->discharge_min * MIN);
    }
    if (x->pmf_days >= 0)
        o.pmf = add_pmf(f, o.open, x->t + x->pmf_days * DAY);
    return o;
}

/* A complete-inventory count of one lot. */
static void count(fx *f, const char *ndc, const char *lot, uint64_t units, int64_t at)
{
    ledger_body *b = fx_body();
    const ledger_rtype *rt = ledger_rtype_find("stock.count");
    assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, "ndc"), ndc, b, NULL, 0), 0);
    (void)ledger_body_put_text(b, "lot", lot);
    (void)ledger_body_put_uint(b, "on-hand", units);
    (void)ledger_body_put_text(b, "when", "close");
    (void)ledger_body_put_bool(b, "complete", true);
    fx_add(f, f->pharm, "stock.count", at, b);
    ledger_body_free(b);
}

/* A ledger with stock of both drugs, counted on the day it came in (the
 * initial inventory), and patients P1 and P2 enrolled (unless not @p enroll). */
static fx *setup(bool enroll)
{
    fx *f = fx_new();
    fx_receive(f, ESK_NDC, "LOTA", 20, 2, 28, FX_T0 + 365 * DAY, FX_T0 - 2 * DAY);
    fx_receive(f, KET_NDC, "LOTK", 10, 1, 500, FX_T0 + 365 * DAY, FX_T0 - 2 * DAY);
    count(f, ESK_NDC, "LOTA", 40, FX_T0 - 2 * DAY + 60 * MIN);
    count(f, KET_NDC, "LOTK", 10, FX_T0 - 2 * DAY + 61 * MIN);
    if (enroll) {
        fx_enroll_patient(f, P1, FX_T0 - 10 * DAY, FX_T0 - DAY);
        fx_enroll_patient(f, P2, FX_T0 - 10 * DAY, FX_T0 - DAY);
    }
    return f;
}

static void audit_ok(fx *f, const policy_audit_opts *o)
{
    assert_int_equal(fx_audit(f, o), 0);
}

/* Findings counted by expect_total(): all but the stock rules, whose
 * bookkeeping (partial vials, waste) these scenarios do not model. */
static bool counted(const char *id)
{
    static const char *const stock[] = {"WASTE-WITNESS", "STOCK-BALANCE", "STOCK-NEGATIVE",
                                        "STOCK-EXPIRED", "INV-BIENNIAL",  "LOSS-REPORT"};
    for (size_t i = 0; i < sizeof(stock) / sizeof(stock[0]); i++)
        if (strcmp(stock[i], id) == 0)
            return false;
    return true;
}

/* Exactly @p n findings in all, stock rules aside (all are printed when not). */
static void expect_total(const fx *f, size_t n)
{
    size_t got = 0;
    for (size_t i = 0; i < f->nfound; i++)
        got += counted(f->found[i].rule);
    if (got != n)
        for (size_t i = 0; i < f->nfound; i++)
            fprintf(stderr, "finding: %s %s\n", f->found[i].rule, f->found[i].message);
    assert_int_equal(got, n);
}

/* Exactly one finding of @p rule: its severity, session and evidence (0-terminated). */
static const policy_finding *one(const fx *f, const char *rule, policy_severity sev,
                                 uint64_t session, const uint64_t *ev)
{
    const policy_finding *pf = fx_first(f, rule);
    if (fx_count(f, rule) != 1)
        for (size_t i = 0; i < f->nfound; i++)
            fprintf(stderr, "finding: %s %s\n", f->found[i].rule, f->found[i].message);
    assert_int_equal(fx_count(f, rule), 1);
    assert_non_null(pf);
    assert_int_equal(pf->severity, sev);
    assert_true(pf->has_session);
    assert_int_equal(pf->session, session);
    assert_true(pf->message[0] != '\0');
    for (size_t i = 0; ev[i] != 0; i++) {
        if (!fx_evidence(f, rule, ev[i]))
            fprintf(stderr, "%s: seq %llu not in the evidence of \"%s\"\n", rule,
                    (unsigned long long)ev[i], pf->message);
        assert_true(fx_evidence(f, rule, ev[i]));
    }
    return pf;
}
#define ONE(f, rule, sev, session, ...)                                                            \
    one(f, rule, sev, session, (const uint64_t[]){__VA_ARGS__, 0})

/* ---- clean sessions ---- */

static void test_audit_session_clean_sessions_have_no_findings(void **state)
{
    (void)state;
    fx *f = setup(true);
    fx_good_esk_session(f, P1, FX_T0, 2);
    sx k = ket(P2, FX_T0 + 2 * DAY);
    run(f, &k);
    audit_ok(f, NULL);
    for (size_t i = 0; i < f->nfound; i++)
        fprintf(stderr, "unexpected: %s %s\n", f->found[i].rule, f->found[i].message);
    assert_int_equal(fx_count(f, NULL), 0);
    assert_int_equal(f->sum.sessions, 2);
    assert_int_equal(f->sum.sessions_passed, 2);
    fx_free(f);
}

/* The step-by-step builder's defaults are a clean session too (the twins below rely on it). */
static void test_audit_session_builder_baseline_is_clean(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    run(f, &x);
    audit_ok(f, NULL);
    expect_total(f, 0);
    assert_int_equal(f->sum.sessions_passed, 1);
    fx_free(f);
}

/* Opened, nothing given, discharged: only the session and sign-off rules apply,
 * and it is not the patient's first treatment (the 84 mg session after it is). */
static void test_audit_session_without_dose(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.devices = 0;
    x.post_min = -1;
    x.discharge_bp = false;
    x.spo2 = false;
    x.pmf_days = -1;
    run(f, &x);
    uint64_t s = fx_good_esk_session(f, P1, FX_T0 + 3 * DAY, 3);
    policy_audit_opts o = POLICY_AUDIT_INIT;
    o.now_ms = FX_T0 + 30 * DAY;
    audit_ok(f, &o);
    ONE(f, "DOSE-FIRST", POLICY_FAIL, s, s);
    expect_total(f, 1);
    fx_free(f);
}

/* A session outside the caller's window is not reported, but it is history:
 * the next session in the window is still too close to it. */
static void test_audit_session_history_kept_outside_window(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.transport = false; /* would be a MON-TRANSPORT, but it is outside the window */
    sxs a = run(f, &x);
    uint64_t b = fx_good_esk_session(f, P1, FX_T0 + DAY + HOUR, 2);
    policy_audit_opts o = POLICY_AUDIT_INIT;
    o.from_ms = FX_T0 + DAY;
    audit_ok(f, &o);
    ONE(f, "SCHED-GAP", POLICY_FLAG, b, a.open, b);
    expect_total(f, 1);
    fx_free(f);
}

/* ---- setting and people ---- */

static uint64_t certify(fx *f, const char *kind, int64_t from, int64_t until, int64_t at)
{
    ledger_body *b = fx_body();
    (void)ledger_body_put_text(b, "rems-id", "SET-2");
    (void)ledger_body_put_text(b, "kind", kind);
    (void)ledger_body_put_uint(b, "from", (uint64_t)(from / DAY * DAY));
    if (until != 0)
        (void)ledger_body_put_uint(b, "until", (uint64_t)(until / DAY * DAY));
    uint64_t seq = fx_add(f, f->site, "setting.certify", at, b);
    ledger_body_free(b);
    return seq;
}

static void test_audit_session_set_cert_missing(void **state)
{
    (void)state;
    fx *f = setup(true); /* certified outpatient only */
    sx x = esk(P1, FX_T0);
    x.setting = "inpatient";
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "SET-CERT", POLICY_FAIL, s.open, s.open);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_set_cert_twin(void **state)
{
    (void)state;
    fx *f = setup(false); /* inpatient: no REMS patient enrollment needed */
    certify(f, "inpatient", FX_T0 - 5 * DAY, 0, FX_T0 - DAY);
    sx x = esk(P1, FX_T0);
    x.setting = "inpatient";
    run(f, &x);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_set_cert_expired(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint64_t c = certify(f, "inpatient", FX_T0 - 20 * DAY, FX_T0 - DAY, FX_T0 - DAY);
    sx x = esk(P1, FX_T0);
    x.setting = "inpatient";
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "SET-CERT", POLICY_FAIL, s.open, s.open, c);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_set_cert_until_session_day(void **state)
{
    (void)state;
    fx *f = setup(true);
    certify(f, "inpatient", FX_T0 - 20 * DAY, FX_T0, FX_T0 - DAY); /* until that very date */
    sx x = esk(P1, FX_T0);
    x.setting = "inpatient";
    run(f, &x);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_pat_enroll_none(void **state)
{
    (void)state;
    fx *f = setup(false);
    uint64_t s = fx_good_esk_session(f, P1, FX_T0, 2);
    audit_ok(f, NULL);
    ONE(f, "PAT-ENROLL", POLICY_FAIL, s, s);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_pat_enroll_after_session(void **state)
{
    (void)state;
    fx *f = setup(false);
    uint64_t e = fx_enroll_patient(f, P1, FX_T0 + DAY, FX_T0 - DAY);
    uint64_t s = fx_good_esk_session(f, P1, FX_T0, 2);
    audit_ok(f, NULL);
    ONE(f, "PAT-ENROLL", POLICY_FAIL, s, s, e);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_pat_enroll_same_day_twin(void **state)
{
    (void)state;
    fx *f = setup(false);
    fx_enroll_patient(f, P1, FX_T0, FX_T0 - DAY);
    fx_good_esk_session(f, P1, FX_T0, 2);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_prescriber_not_a_prescriber(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.prescriber = f->kid_nurse;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "STAFF-PRESCRIBER", POLICY_FAIL, s.open, s.open);
    expect_total(f, 1);
    fx_free(f);
}

/* A second prescriber, enrolled now; returns its key id in @p kid. */
static keys_key *second_prescriber(fx *f, uint8_t kid[KEYS_KID_BYTES])
{
    keys_key *k = NULL;
    uint8_t pub[KEYS_PUB_BYTES];
    ledger_body *b = fx_body();
    assert_int_equal(keys_generate(&k), 0);
    keys_key_pub(k, pub);
    keys_kid(kid, pub);
    (void)ledger_body_put_bytes(b, "pub", pub, sizeof(pub));
    (void)ledger_body_put_text(b, "name", "Dr Gone");
    (void)ledger_body_put_text(b, "role", "prescriber");
    (void)ledger_body_put_text(b, "license", "LIC-2");
    (void)ledger_body_put_uint(b, "valid_from", 1);
    fx_add(f, f->site, "key.enroll", 0, b);
    ledger_body_free(b);
    return k;
}

static uint64_t revoke(fx *f, const uint8_t kid[KEYS_KID_BYTES], int64_t at)
{
    ledger_body *b = fx_body();
    (void)ledger_body_put_bytes(b, "kid", kid, KEYS_KID_BYTES);
    (void)ledger_body_put_text(b, "reason", "left the clinic");
    uint64_t seq = fx_add(f, f->site, "key.revoke", at, b);
    ledger_body_free(b);
    return seq;
}

static void test_audit_session_prescriber_revoked(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint8_t kid[KEYS_KID_BYTES];
    keys_key *k = second_prescriber(f, kid);
    uint64_t r = revoke(f, kid, FX_T0 - HOUR);
    sx x = esk(P1, FX_T0);
    x.prescriber = kid;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "STAFF-PRESCRIBER", POLICY_FAIL, s.open, s.open, r);
    expect_total(f, 1);
    keys_free(k);
    fx_free(f);
}

/* Revoked while the session was under way: on site when it started. */
static void test_audit_session_prescriber_revoked_later_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint8_t kid[KEYS_KID_BYTES];
    keys_key *k = second_prescriber(f, kid);
    sx x = esk(P1, FX_T0);
    x.prescriber = kid;
    x.discharge_min = -1;
    x.pmf_days = -1;
    sxs s = run(f, &x);
    int64_t last = FX_T0 + 10 * MIN;
    revoke(f, kid, last + 60 * MIN);
    fx_vitals(f, s.open, "discharge", 124, 80, 98, last + 125 * MIN);
    fx_discharge(f, s.open, true, true, last + 130 * MIN);
    add_pmf(f, s.open, FX_T0 + DAY);
    audit_ok(f, NULL);
    expect_total(f, 0);
    keys_free(k);
    fx_free(f);
}

/* ---- dose ---- */

static void test_audit_session_dose_unit(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.devices = 1;
    x.mg[0] = 56; /* one entry claiming two devices' worth */
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "DOSE-UNIT", POLICY_FAIL, s.open, s.open, s.dose[0]);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_dose_allowed_28_flags(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint64_t s = fx_good_esk_session(f, P1, FX_T0, 1);
    audit_ok(f, NULL);
    ONE(f, "DOSE-ALLOWED", POLICY_FLAG, s, s, s + 2);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_dose_allowed_112_fails(void **state)
{
    (void)state;
    fx *f = setup(true);
    fx_good_esk_session(f, P1, FX_T0, 2);
    uint64_t s = fx_good_esk_session(f, P1, FX_T0 + 3 * DAY, 4);
    audit_ok(f, NULL);
    ONE(f, "DOSE-ALLOWED", POLICY_FAIL, s, s, s + 2, s + 3, s + 4, s + 5);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_dose_allowed_84_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    fx_good_esk_session(f, P1, FX_T0, 2);
    fx_good_esk_session(f, P1, FX_T0 + 3 * DAY, 3);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_dose_first(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint64_t s = fx_good_esk_session(f, P1, FX_T0, 3);
    audit_ok(f, NULL);
    ONE(f, "DOSE-FIRST", POLICY_FAIL, s, s, s + 2, s + 3, s + 4);
    expect_total(f, 1);
    fx_free(f);
}

/* The same 84 mg as a second session; the other patient's first is not this one's. */
static void test_audit_session_dose_first_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    fx_good_esk_session(f, P2, FX_T0, 2);
    fx_good_esk_session(f, P1, FX_T0 + 2 * DAY, 2);
    fx_good_esk_session(f, P1, FX_T0 + 5 * DAY, 3);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_dose_spacing(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.spacing_min = 3;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "DOSE-SPACING", POLICY_FLAG, s.open, s.dose[0], s.dose[1]);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_dose_spacing_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    /* 84 mg would be a DOSE-FIRST: make it the patient's second session */
    sx first = esk(P1, FX_T0);
    run(f, &first);
    sx x = esk(P1, FX_T0 + 3 * DAY);
    x.devices = 3;
    x.spacing_min = 5; /* exactly the minimum */
    run(f, &x);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_iv_no_weight(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = ket(P1, FX_T0);
    x.weight_g = 0;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "DOSE-IV-RANGE", POLICY_FLAG, s.open, s.open);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_iv_above_range(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = ket(P1, FX_T0);
    x.mg[0] = 70; /* 1.0 mg/kg at 70 kg */
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "DOSE-IV-RANGE", POLICY_FLAG, s.open, s.open, s.dose[0]);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_iv_below_range(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = ket(P1, FX_T0);
    x.mg[0] = 6; /* 0.086 mg/kg at 70 kg */
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "DOSE-IV-RANGE", POLICY_FLAG, s.open, s.open, s.dose[0]);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_iv_too_fast(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = ket(P1, FX_T0);
    x.infusion_min = 30;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "DOSE-IV-RANGE", POLICY_FLAG, s.open, s.open, s.dose[0]);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_iv_infusion_not_recorded(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = ket(P1, FX_T0);
    x.infusion_min = 0;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "DOSE-IV-RANGE", POLICY_FLAG, s.open, s.open, s.dose[0]);
    expect_total(f, 1);
    fx_free(f);
}

/* Both ends of the range exactly: 0.75 mg/kg and 0.1 mg/kg, infused over 40 min. */
static void test_audit_session_iv_range_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx hi = ket(P1, FX_T0);
    hi.weight_g = 80000;
    hi.mg[0] = 60;
    run(f, &hi);
    sx lo = ket(P2, FX_T0 + DAY);
    lo.weight_g = 70000;
    lo.mg[0] = 7;
    run(f, &lo);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

/* ---- schedule ---- */

/* Sessions of P1 on the given days after FX_T0; returns their open seqs in @p out. */
static void sessions_on(fx *f, const int *days, size_t n, uint64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = fx_good_esk_session(f, P1, FX_T0 + days[i] * DAY, 2);
}

static void test_audit_session_sched_freq_induction(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint64_t s[3];
    sessions_on(f, (const int[]){0, 2, 4}, 3, s); /* 3 in 7 days, 48 h apart */
    audit_ok(f, NULL);
    ONE(f, "SCHED-FREQ", POLICY_FLAG, s[2], s[0], s[1], s[2]);
    expect_total(f, 1);
    fx_free(f);
}

/* The 7 days are (t - 7 d, t]: a session exactly a week before is out of the window. */
static void test_audit_session_sched_freq_induction_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint64_t s[3];
    sessions_on(f, (const int[]){0, 2, 7}, 3, s);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_sched_freq_continuation(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint64_t s[3];
    sessions_on(f, (const int[]){0, 30, 33}, 3, s); /* week 5: one a week */
    audit_ok(f, NULL);
    ONE(f, "SCHED-FREQ", POLICY_FLAG, s[2], s[1], s[2]);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_sched_freq_continuation_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint64_t s[3];
    sessions_on(f, (const int[]){0, 30, 37}, 3, s);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_sched_freq_maintenance(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint64_t s[3];
    sessions_on(f, (const int[]){0, 60, 63}, 3, s); /* week 10 */
    audit_ok(f, NULL);
    ONE(f, "SCHED-FREQ", POLICY_FLAG, s[2], s[1], s[2]);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_sched_freq_maintenance_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint64_t s[3];
    sessions_on(f, (const int[]){0, 60, 67}, 3, s);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_sched_gap(void **state)
{
    (void)state;
    fx *f = setup(true);
    uint64_t a = fx_good_esk_session(f, P1, FX_T0, 2);
    uint64_t b = fx_good_esk_session(f, P1, FX_T0 + DAY + HOUR, 2); /* 25 h later */
    audit_ok(f, NULL);
    ONE(f, "SCHED-GAP", POLICY_FLAG, b, a, b);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_sched_gap_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    fx_good_esk_session(f, P1, FX_T0, 2);
    fx_good_esk_session(f, P2, FX_T0 + DAY, 2);     /* another patient's */
    fx_good_esk_session(f, P1, FX_T0 + 2 * DAY, 2); /* exactly 48 h */
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

/* ---- monitoring and sign-off ---- */

static void test_audit_session_mon_duration(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.discharge_min = 100;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "MON-DURATION", POLICY_FAIL, s.open, s.dose[1], s.dose[0], s.discharge);
    /* DOMAIN: signing off before the minimum time is also an observer failure */
    ONE(f, "MON-OBSERVER", POLICY_FAIL, s.open, s.discharge);
    expect_total(f, 2);
    fx_free(f);
}

static void test_audit_session_mon_duration_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.discharge_min = 120; /* exactly the minimum */
    run(f, &x);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_mon_duration_ketamine(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = ket(P1, FX_T0);
    x.discharge_min = 50; /* the ketamine protocol asks 60 */
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "MON-DURATION", POLICY_FAIL, s.open, s.dose[0], s.discharge);
    ONE(f, "MON-OBSERVER", POLICY_FAIL, s.open, s.discharge);
    expect_total(f, 2);
    fx_free(f);
}

/* Never discharged; its monitoring form came in while it was open. */
static void test_audit_session_mon_observer_never_discharged(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.discharge_min = -1;
    sxs s = run(f, &x);
    assert_true(s.pmf != 0);
    policy_audit_opts o = POLICY_AUDIT_INIT;
    o.now_ms = FX_T0 + 30 * DAY;
    audit_ok(f, &o);
    ONE(f, "MON-OBSERVER", POLICY_FAIL, s.open, s.open);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_mon_observer_not_the_observer(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.discharger = f->presc; /* observer-capable, but the session named Nora Nurse */
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    const policy_finding *pf = ONE(f, "MON-OBSERVER", POLICY_FAIL, s.open, s.discharge);
    assert_int_equal(pf->when_ms, FX_T0 + 10 * MIN + 130 * MIN);
    expect_total(f, 1);
    fx_free(f);
}

/* A source that shows one entry as signed by another key: what an export
 * could carry (the ledger itself refuses such an append). */
typedef struct rekey {
    ledger_iter *it;
    uint64_t seq;
    const uint8_t *kid;
} rekey;

static int rekey_next(void *ud, ledger_entry *out)
{
    rekey *r = ud;
    int rc = ledger_iter_next(r->it, out);
    if (rc == 0 && out->seq == r->seq)
        memcpy(out->kid, r->kid, KEYS_KID_BYTES);
    return rc;
}

static int collect(const policy_finding *pf, void *ud)
{
    fx *f = ud;
    if (f->nfound < FX_FINDINGS_MAX)
        f->found[f->nfound++] = *pf;
    return 0;
}

static void test_audit_session_mon_observer_role(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    sxs s = run(f, &x);
    rekey r = {NULL, s.discharge, f->kid_pharm};
    policy_source src = {rekey_next, &r, f->l, NULL};
    policy_audit_opts o = POLICY_AUDIT_INIT;
    char why[256];
    assert_int_equal(ledger_iter_open(&r.it, f->l, 0), 0);
    f->nfound = 0;
    assert_int_equal(policy_audit(&src, &o, collect, f, &f->sum, why, sizeof(why)), 0);
    ledger_iter_free(r.it);
    ONE(f, "MON-OBSERVER", POLICY_FAIL, s.open, s.discharge);
    assert_int_equal(fx_count(f, "KEY-ROLE"), 1); /* the engine's own rule says so too */
    expect_total(f, 2);
    fx_free(f);
}

static void test_audit_session_mon_observer_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.discharger = f->nurse;
    run(f, &x);
    audit_ok(f, NULL);
    assert_int_equal(fx_count(f, "MON-OBSERVER"), 0);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_mon_discharge(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.attested = false;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "MON-DISCHARGE", POLICY_FAIL, s.open, s.discharge);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_mon_discharge_partial(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.discharge_min = -1;
    x.pmf_days = -1;
    sxs s = run(f, &x);
    fx_vitals(f, s.open, "discharge", 124, 80, 98, FX_T0 + 135 * MIN);
    ledger_body *b = fx_body();
    (void)ledger_body_put_uint(b, "session", s.open);
    (void)ledger_body_put_bool(b, "sedation-resolved", true);
    (void)ledger_body_put_bool(b, "respiration-stable", true);
    (void)ledger_body_put_bool(b, "transport-arranged", true);
    uint64_t d = fx_add(f, f->nurse, "discharge", FX_T0 + 140 * MIN, b);
    ledger_body_free(b);
    add_pmf(f, s.open, FX_T0 + DAY);
    audit_ok(f, NULL);
    ONE(f, "MON-DISCHARGE", POLICY_FAIL, s.open, d);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_mon_transport(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.transport = false;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "MON-TRANSPORT", POLICY_FLAG, s.open, s.discharge);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_mon_attested_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.attested = true;
    x.transport = true;
    run(f, &x);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

/* ---- vitals ---- */

static void test_audit_session_vit_bp_pre_missing(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.pre_sys = 0; /* pulse oximetry and heart rate only */
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "VIT-BP", POLICY_FAIL, s.open, s.dose[0]);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_vit_bp_post_outside_window(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.post_min = 55;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "VIT-BP", POLICY_FAIL, s.open, s.dose[0]);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_vit_bp_discharge_missing(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.discharge_bp = false;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "VIT-BP", POLICY_FAIL, s.open, s.discharge);
    expect_total(f, 1);
    fx_free(f);
}

/* The post-dose reading at either edge of its window. */
static void test_audit_session_vit_bp_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.post_min = 50;
    run(f, &x);
    sx y = esk(P1, FX_T0 + 3 * DAY);
    y.post_min = 35;
    run(f, &y);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_vit_bp_high(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.pre_sys = 150;
    x.pre_dia = 85;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "VIT-BP-HIGH", POLICY_FLAG, s.open, s.pre);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_vit_bp_high_diastolic(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = ket(P1, FX_T0); /* the ketamine protocol has the same limit */
    x.pre_sys = 130;
    x.pre_dia = 95;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "VIT-BP-HIGH", POLICY_FLAG, s.open, s.pre);
    expect_total(f, 1);
    fx_free(f);
}

/* High but explained by a note; and exactly at the limit. */
static void test_audit_session_vit_bp_high_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.pre_sys = 150;
    x.pre_dia = 85;
    x.pre_note = true;
    run(f, &x);
    sx y = esk(P1, FX_T0 + 3 * DAY);
    y.pre_sys = 140;
    y.pre_dia = 90;
    run(f, &y);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_vit_spo2(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.spo2 = false;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "VIT-SPO2", POLICY_FAIL, s.open, s.open);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_vit_spo2_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.spo2 = true;
    run(f, &x);
    audit_ok(f, NULL);
    expect_total(f, 0);
    assert_int_equal(fx_count(f, "VIT-SPO2"), 0);
    fx_free(f);
}

/* ---- REMS patient monitoring form ---- */

static void test_audit_session_pmf_late(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.pmf_days = 8;
    sxs s = run(f, &x);
    audit_ok(f, NULL);
    ONE(f, "REMS-PMF", POLICY_FLAG, s.open, s.open, s.pmf);
    expect_total(f, 1);
    fx_free(f);
}

static void test_audit_session_pmf_on_time_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.pmf_days = 7;
    run(f, &x);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

static void test_audit_session_pmf_never(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.pmf_days = -1;
    sxs s = run(f, &x);
    policy_audit_opts o = POLICY_AUDIT_INIT;
    o.now_ms = FX_T0 + 8 * DAY;
    audit_ok(f, &o);
    ONE(f, "REMS-PMF", POLICY_FLAG, s.open, s.open);
    expect_total(f, 1);
    fx_free(f);
}

/* Not yet due: at day 7 by the caller's clock, or by the last entry's time. */
static void test_audit_session_pmf_not_yet_due_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.pmf_days = -1;
    run(f, &x);
    policy_audit_opts o = POLICY_AUDIT_INIT;
    o.now_ms = FX_T0 + 7 * DAY;
    audit_ok(f, &o);
    expect_total(f, 0);
    audit_ok(f, NULL);
    expect_total(f, 0);
    fx_free(f);
}

/* Forms for a session still open (never discharged): the first one counts. */
static void test_audit_session_pmf_while_open_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    sx x = esk(P1, FX_T0);
    x.discharge_min = -1;
    sxs s = run(f, &x);
    add_pmf(f, s.open, FX_T0 + 9 * DAY);
    policy_audit_opts o = POLICY_AUDIT_INIT;
    o.now_ms = FX_T0 + 30 * DAY;
    audit_ok(f, &o);
    ONE(f, "MON-OBSERVER", POLICY_FAIL, s.open, s.open);
    assert_int_equal(fx_count(f, "REMS-PMF"), 0);
    expect_total(f, 1);
    fx_free(f);
}

/* Inpatient sessions need no form. */
static void test_audit_session_pmf_inpatient_twin(void **state)
{
    (void)state;
    fx *f = setup(true);
    certify(f, "inpatient", FX_T0 - 5 * DAY, 0, FX_T0 - DAY);
    sx x = esk(P1, FX_T0);
    x.setting = "inpatient";
    x.pmf_days = -1;
    run(f, &x);
    policy_audit_opts o = POLICY_AUDIT_INIT;
    o.now_ms = FX_T0 + 30 * DAY;
    audit_ok(f, &o);
    expect_total(f, 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_session_clean_sessions_have_no_findings),
        cmocka_unit_test(test_audit_session_builder_baseline_is_clean),
        cmocka_unit_test(test_audit_session_without_dose),
        cmocka_unit_test(test_audit_session_history_kept_outside_window),
        cmocka_unit_test(test_audit_session_set_cert_missing),
        cmocka_unit_test(test_audit_session_set_cert_twin),
        cmocka_unit_test(test_audit_session_set_cert_expired),
        cmocka_unit_test(test_audit_session_set_cert_until_session_day),
        cmocka_unit_test(test_audit_session_pat_enroll_none),
        cmocka_unit_test(test_audit_session_pat_enroll_after_session),
        cmocka_unit_test(test_audit_session_pat_enroll_same_day_twin),
        cmocka_unit_test(test_audit_session_prescriber_not_a_prescriber),
        cmocka_unit_test(test_audit_session_prescriber_revoked),
        cmocka_unit_test(test_audit_session_prescriber_revoked_later_twin),
        cmocka_unit_test(test_audit_session_dose_unit),
        cmocka_unit_test(test_audit_session_dose_allowed_28_flags),
        cmocka_unit_test(test_audit_session_dose_allowed_112_fails),
        cmocka_unit_test(test_audit_session_dose_allowed_84_twin),
        cmocka_unit_test(test_audit_session_dose_first),
        cmocka_unit_test(test_audit_session_dose_first_twin),
        cmocka_unit_test(test_audit_session_dose_spacing),
        cmocka_unit_test(test_audit_session_dose_spacing_twin),
        cmocka_unit_test(test_audit_session_iv_no_weight),
        cmocka_unit_test(test_audit_session_iv_above_range),
        cmocka_unit_test(test_audit_session_iv_below_range),
        cmocka_unit_test(test_audit_session_iv_too_fast),
        cmocka_unit_test(test_audit_session_iv_infusion_not_recorded),
        cmocka_unit_test(test_audit_session_iv_range_twin),
        cmocka_unit_test(test_audit_session_sched_freq_induction),
        cmocka_unit_test(test_audit_session_sched_freq_induction_twin),
        cmocka_unit_test(test_audit_session_sched_freq_continuation),
        cmocka_unit_test(test_audit_session_sched_freq_continuation_twin),
        cmocka_unit_test(test_audit_session_sched_freq_maintenance),
        cmocka_unit_test(test_audit_session_sched_freq_maintenance_twin),
        cmocka_unit_test(test_audit_session_sched_gap),
        cmocka_unit_test(test_audit_session_sched_gap_twin),
        cmocka_unit_test(test_audit_session_mon_duration),
        cmocka_unit_test(test_audit_session_mon_duration_twin),
        cmocka_unit_test(test_audit_session_mon_duration_ketamine),
        cmocka_unit_test(test_audit_session_mon_observer_never_discharged),
        cmocka_unit_test(test_audit_session_mon_observer_not_the_observer),
        cmocka_unit_test(test_audit_session_mon_observer_role),
        cmocka_unit_test(test_audit_session_mon_observer_twin),
        cmocka_unit_test(test_audit_session_mon_discharge),
        cmocka_unit_test(test_audit_session_mon_discharge_partial),
        cmocka_unit_test(test_audit_session_mon_transport),
        cmocka_unit_test(test_audit_session_mon_attested_twin),
        cmocka_unit_test(test_audit_session_vit_bp_pre_missing),
        cmocka_unit_test(test_audit_session_vit_bp_post_outside_window),
        cmocka_unit_test(test_audit_session_vit_bp_discharge_missing),
        cmocka_unit_test(test_audit_session_vit_bp_twin),
        cmocka_unit_test(test_audit_session_vit_bp_high),
        cmocka_unit_test(test_audit_session_vit_bp_high_diastolic),
        cmocka_unit_test(test_audit_session_vit_bp_high_twin),
        cmocka_unit_test(test_audit_session_vit_spo2),
        cmocka_unit_test(test_audit_session_vit_spo2_twin),
        cmocka_unit_test(test_audit_session_pmf_late),
        cmocka_unit_test(test_audit_session_pmf_on_time_twin),
        cmocka_unit_test(test_audit_session_pmf_never),
        cmocka_unit_test(test_audit_session_pmf_not_yet_due_twin),
        cmocka_unit_test(test_audit_session_pmf_while_open_twin),
        cmocka_unit_test(test_audit_session_pmf_inpatient_twin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
