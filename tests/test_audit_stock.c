/* Audit engine: the stock, inventory and loss rules (WASTE-WITNESS, STOCK-BALANCE,
 * STOCK-NEGATIVE, STOCK-EXPIRED, INV-BIENNIAL, LOSS-REPORT). Each rule has a
 * scenario that breaks it exactly once and a twin that keeps it. Real LMDB,
 * real OpenSSL. */
/* cmocka needs these headers before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_fixture.h"
#include "ledger/ident.h"
#include "ledger/records.h"

static const uint8_t P1[32] = {7, 7, 7};

#define NDC    "50458-028-02"
#define NDC11  "50458-0028-02"
#define HOUR   (60 * FX_MIN)
#define T_EXP  (FX_T0 + 365 * FX_DAY)
#define MONDAY FX_T0 /* 2026-09-21T14:13:20Z is a Monday */

static const char *const stock_rules[] = {"WASTE-WITNESS", "STOCK-BALANCE", "STOCK-NEGATIVE",
                                          "STOCK-EXPIRED", "INV-BIENNIAL",  "LOSS-REPORT"};

/* ---- records ---- */

static void put_ndc(ledger_body *b, const char *ndc)
{
    const ledger_rtype *rt = ledger_rtype_find("dose");
    assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, "ndc"), ndc, b, NULL, 0), 0);
}

static void entry_hash(fx *f, uint64_t seq, uint8_t hash[LEDGER_HASH_BYTES])
{
    uint8_t *buf = malloc(LEDGER_MAX_ENTRY_BYTES);
    ledger_entry e;
    assert_non_null(buf);
    assert_int_equal(ledger_read_entry(f->l, seq, buf, LEDGER_MAX_ENTRY_BYTES, &e), 0);
    memcpy(hash, e.hash, LEDGER_HASH_BYTES);
    free(buf);
}

static ledger_body *witness_body(fx *f, uint64_t ref)
{
    ledger_body *b = fx_body();
    uint8_t h[LEDGER_HASH_BYTES];
    entry_hash(f, ref, h);
    assert_int_equal(ledger_body_put_uint(b, "ref", ref), 0);
    assert_int_equal(ledger_body_put_bytes(b, "ref-hash", h, sizeof(h)), 0);
    return b;
}

static uint64_t witness(fx *f, keys_key *k, uint64_t ref, int64_t at)
{
    ledger_body *b = witness_body(f, ref);
    uint64_t seq = fx_add(f, k, "witness", at, b);
    ledger_body_free(b);
    return seq;
}

static uint64_t waste(fx *f, keys_key *k, uint64_t session, const char *lot, uint64_t mg,
                      int64_t at)
{
    ledger_body *b = fx_body();
    if (session != 0)
        assert_int_equal(ledger_body_put_uint(b, "session", session), 0);
    put_ndc(b, NDC);
    assert_int_equal(ledger_body_put_text(b, "lot", lot), 0);
    assert_int_equal(ledger_body_put_uint(b, "mg", mg), 0);
    assert_int_equal(ledger_body_put_text(b, "manner", "sink, with a witness"), 0);
    uint64_t seq = fx_add(f, k, "waste", at, b);
    ledger_body_free(b);
    return seq;
}

static uint64_t destroy(fx *f, const char *lot, uint64_t units, int64_t at)
{
    ledger_body *b = fx_body();
    put_ndc(b, NDC);
    assert_int_equal(ledger_body_put_text(b, "lot", lot), 0);
    assert_int_equal(ledger_body_put_uint(b, "units", units), 0);
    assert_int_equal(ledger_body_put_text(b, "method", "reverse distributor"), 0);
    uint64_t seq = fx_add(f, f->pharm, "stock.destroy", at, b);
    ledger_body_free(b);
    return seq;
}

static uint64_t count(fx *f, const char *lot, uint64_t on_hand, bool complete, int64_t at)
{
    ledger_body *b = fx_body();
    put_ndc(b, NDC);
    assert_int_equal(ledger_body_put_text(b, "lot", lot), 0);
    assert_int_equal(ledger_body_put_uint(b, "on-hand", on_hand), 0);
    assert_int_equal(ledger_body_put_text(b, "when", "close"), 0);
    if (complete)
        assert_int_equal(ledger_body_put_bool(b, "complete", true), 0);
    uint64_t seq = fx_add(f, f->pharm, "stock.count", at, b);
    ledger_body_free(b);
    return seq;
}

static uint64_t loss(fx *f, const char *lot, uint64_t units, int64_t discovered)
{
    ledger_body *b = fx_body();
    put_ndc(b, NDC);
    assert_int_equal(ledger_body_put_text(b, "lot", lot), 0);
    assert_int_equal(ledger_body_put_uint(b, "units", units), 0);
    assert_int_equal(ledger_body_put_text(b, "kind", "theft"), 0);
    assert_int_equal(ledger_body_put_uint(b, "discovered", (uint64_t)discovered), 0);
    uint64_t seq = fx_add(f, f->pharm, "stock.loss", discovered, b);
    ledger_body_free(b);
    return seq;
}

/* A stock.report-loss at @p at; @p notified / @p filed 0: field absent. */
static uint64_t report(fx *f, uint64_t ref, int64_t notified, int64_t filed, int64_t at)
{
    ledger_body *b = fx_body();
    assert_int_equal(ledger_body_put_uint(b, "ref", ref), 0);
    assert_int_equal(ledger_body_put_uint(b, "dea-notified", (uint64_t)notified), 0);
    if (filed != 0)
        assert_int_equal(ledger_body_put_uint(b, "form106-filed", (uint64_t)filed), 0);
    uint64_t seq = fx_add(f, f->pharm, "stock.report-loss", at, b);
    ledger_body_free(b);
    return seq;
}

static uint64_t note(fx *f, int64_t at)
{
    ledger_body *b = fx_body();
    assert_int_equal(ledger_body_put_text(b, "text", "end of day"), 0);
    uint64_t seq = fx_add(f, f->pharm, "note", at, b);
    ledger_body_free(b);
    return seq;
}

/* LOTA received at @p at: 4 kits of 2 devices of 28 mg (224 mg), with the
 * initial complete inventory right after it. */
static uint64_t stock_up(fx *f, int64_t at)
{
    uint64_t r = fx_receive(f, NDC, "LOTA", 4, 2, 28, T_EXP, at);
    count(f, "LOTA", 8, true, at + FX_MIN);
    return r;
}

static int64_t date(const char *text)
{
    int64_t ms = 0;
    assert_int_equal(ledger_date_parse(&ms, text, NULL, 0), 0);
    return ms;
}

static int audit_now(fx *f, int64_t now)
{
    policy_audit_opts o = POLICY_AUDIT_INIT;
    o.now_ms = now;
    return fx_audit(f, &o);
}

/* ---- assertions ---- */

static void dump(const fx *f)
{
    for (size_t i = 0; i < f->nfound; i++)
        fprintf(stderr, "  finding: %s %s [%s %s] %s\n", f->found[i].rule,
                f->found[i].severity == POLICY_FAIL ? "FAIL" : "FLAG", f->found[i].ndc,
                f->found[i].lot, f->found[i].message);
}

static size_t stock_findings(const fx *f)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(stock_rules) / sizeof(stock_rules[0]); i++)
        n += fx_count(f, stock_rules[i]);
    return n;
}

/* Exactly one finding of @p rule, with @p sev, NDC+lot (NULL: none) and exactly the evidence
 * @p ev (ascending). */
static const policy_finding *one(const fx *f, const char *rule, policy_severity sev,
                                 const char *lot, const uint64_t *ev, size_t nev)
{
    if (fx_count(f, rule) != 1)
        dump(f);
    assert_int_equal(fx_count(f, rule), 1);
    const policy_finding *pf = fx_first(f, rule);
    assert_int_equal(pf->severity, sev);
    assert_string_equal(pf->ndc, lot != NULL ? NDC11 : "");
    assert_string_equal(pf->lot, lot != NULL ? lot : "");
    assert_int_equal(pf->nevidence, nev);
    for (size_t i = 0; i < nev; i++)
        assert_int_equal(pf->evidence[i], ev[i]);
    assert_true(strlen(pf->message) > 20);
    return pf;
}

static void none(const fx *f, const char *rule)
{
    if (fx_count(f, rule) != 0)
        dump(f);
    assert_int_equal(fx_count(f, rule), 0);
}

/* ---- a clean day ---- */

/* Receipt with its initial inventory, doses, a witnessed waste, a matching complete count:
 * nothing for the stock rules to report. */
static void test_audit_stock_clean_day_has_no_stock_findings(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    fx_enroll_patient(f, P1, FX_T0 - 10 * FX_DAY, FX_T0 + 2 * FX_MIN);
    fx_good_esk_session(f, P1, FX_T0 + 10 * FX_MIN, 2);
    uint64_t w = waste(f, f->pharm, 0, "LOTA", 28, FX_T0 + FX_DAY + HOUR);
    witness(f, f->nurse, w, FX_T0 + FX_DAY + HOUR);
    count(f, "LOTA", 5, true, FX_T0 + FX_DAY + 4 * HOUR);
    assert_int_equal(audit_now(f, FX_T0 + 2 * FX_DAY), 0);
    if (stock_findings(f) != 0)
        dump(f);
    assert_int_equal(stock_findings(f), 0);
    fx_free(f);
}

/* ---- WASTE-WITNESS ---- */

static void test_audit_stock_waste_without_witness(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t w = waste(f, f->pharm, 0, "LOTA", 14, FX_T0 + HOUR);
    note(f, FX_T0 + 2 * HOUR);
    note(f, FX_T0 + 3 * HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "WASTE-WITNESS", POLICY_FAIL, "LOTA", &w, 1);
    assert_non_null(strstr(pf->message, "no witness"));
    assert_non_null(strstr(pf->message, "Pat Pharm"));
    assert_false(pf->has_session);
    fx_free(f);
}

static void test_audit_stock_waste_witnessed(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t w = waste(f, f->pharm, 0, "LOTA", 14, FX_T0 + HOUR);
    witness(f, f->nurse, w, FX_T0 + HOUR);
    note(f, FX_T0 + 2 * HOUR);
    note(f, FX_T0 + 3 * HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    none(f, "WASTE-WITNESS");
    fx_free(f);
}

/* The last entry of the stream: judged at the end. */
static void test_audit_stock_waste_at_end_without_witness(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t w = waste(f, f->pharm, 0, "LOTA", 14, FX_T0 + HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    one(f, "WASTE-WITNESS", POLICY_FAIL, "LOTA", &w, 1);
    fx_free(f);
}

static void test_audit_stock_waste_witnessed_by_actor(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t s = fx_session(f, P1, "esketamine", "intranasal", "outpatient", FX_T0 + HOUR, 0);
    uint64_t w = waste(f, f->nurse, s, "LOTA", 14, FX_T0 + 2 * HOUR);
    uint64_t wi = witness(f, f->nurse, w, FX_T0 + 2 * HOUR);
    note(f, FX_T0 + 3 * HOUR);
    note(f, FX_T0 + 3 * HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "WASTE-WITNESS", POLICY_FAIL, "LOTA", (uint64_t[]){w, wi}, 2);
    assert_non_null(strstr(pf->message, "the signer witnessed it"));
    assert_true(pf->has_session);
    assert_int_equal(pf->session, s);
    fx_free(f);
}

/* Witnesses must hold a licensed role: the chain itself refuses an admin's witness entry. */
static void test_audit_stock_unlicensed_witness_refused(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t w = waste(f, f->pharm, 0, "LOTA", 14, FX_T0 + HOUR);
    ledger_body *b = witness_body(f, w);
    uint64_t seq = 0;
    assert_int_not_equal(fx_try(f, f->admin, "witness", FX_T0 + HOUR, b, &seq), 0);
    ledger_body_free(b);
    witness(f, f->pharm2, w, FX_T0 + HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    none(f, "WASTE-WITNESS");
    fx_free(f);
}

/* Two acts then their witnesses: each witness names an act within 2 entries. */
static void test_audit_stock_interleaved_witnesses(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t w1 = waste(f, f->pharm, 0, "LOTA", 14, FX_T0 + HOUR);
    uint64_t w2 = waste(f, f->pharm, 0, "LOTA", 14, FX_T0 + HOUR);
    witness(f, f->nurse, w1, FX_T0 + HOUR);
    witness(f, f->nurse, w2, FX_T0 + HOUR);
    note(f, FX_T0 + 2 * HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    none(f, "WASTE-WITNESS");
    fx_free(f);
}

static void test_audit_stock_destroy_one_witness(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t d = destroy(f, "LOTA", 2, FX_T0 + HOUR);
    uint64_t w1 = witness(f, f->nurse, d, FX_T0 + HOUR);
    note(f, FX_T0 + 2 * HOUR);
    note(f, FX_T0 + 2 * HOUR);
    count(f, "LOTA", 6, false, FX_T0 + 3 * HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "WASTE-WITNESS", POLICY_FAIL, "LOTA", (uint64_t[]){d, w1}, 2);
    assert_non_null(strstr(pf->message, "destruction of 2 units"));
    assert_non_null(strstr(pf->message, "1 of the 2"));
    none(f, "STOCK-BALANCE");
    fx_free(f);
}

static void test_audit_stock_destroy_same_witness_twice(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t d = destroy(f, "LOTA", 2, FX_T0 + HOUR);
    uint64_t w1 = witness(f, f->nurse, d, FX_T0 + HOUR);
    uint64_t w2 = witness(f, f->nurse, d, FX_T0 + HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf =
        one(f, "WASTE-WITNESS", POLICY_FAIL, "LOTA", (uint64_t[]){d, w1, w2}, 3);
    assert_non_null(strstr(pf->message, "twice"));
    fx_free(f);
}

static void test_audit_stock_destroy_two_witnesses(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t d = destroy(f, "LOTA", 2, FX_T0 + HOUR);
    witness(f, f->nurse, d, FX_T0 + HOUR);
    witness(f, f->pharm2, d, FX_T0 + HOUR);
    count(f, "LOTA", 6, false, FX_T0 + 3 * HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    none(f, "WASTE-WITNESS");
    none(f, "STOCK-BALANCE");
    fx_free(f);
}

/* ---- STOCK-NEGATIVE ---- */

static void test_audit_stock_dose_from_lot_never_received(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t s = fx_session(f, P1, "esketamine", "intranasal", "outpatient", FX_T0 + HOUR, 0);
    fx_dose(f, s, NDC, "LOTA", 28, FX_T0 + HOUR + 5 * FX_MIN);
    uint64_t d = fx_dose(f, s, NDC, "LOTZ", 28, FX_T0 + HOUR + 10 * FX_MIN);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "STOCK-NEGATIVE", POLICY_FAIL, "LOTZ", &d, 1);
    assert_non_null(strstr(pf->message, "never received"));
    assert_true(pf->has_session);
    assert_int_equal(pf->session, s);
    fx_free(f);
}

static void test_audit_stock_draw_beyond_balance(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_receive(f, NDC, "LOTB", 1, 1, 28, T_EXP, FX_T0);
    count(f, "LOTB", 1, true, FX_T0 + FX_MIN);
    uint64_t w = waste(f, f->pharm, 0, "LOTB", 14, FX_T0 + HOUR);
    witness(f, f->nurse, w, FX_T0 + HOUR);
    uint64_t s = fx_session(f, P1, "esketamine", "intranasal", "outpatient", FX_T0 + 2 * HOUR, 0);
    uint64_t d = fx_dose(f, s, NDC, "LOTB", 28, FX_T0 + 2 * HOUR + 5 * FX_MIN);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "STOCK-NEGATIVE", POLICY_FAIL, "LOTB", (uint64_t[]){w, d}, 2);
    assert_non_null(strstr(pf->message, "14 mg on hand"));
    fx_free(f);
}

static void test_audit_stock_draw_to_zero(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_receive(f, NDC, "LOTB", 1, 1, 28, T_EXP, FX_T0);
    count(f, "LOTB", 1, true, FX_T0 + FX_MIN);
    uint64_t w = waste(f, f->pharm, 0, "LOTB", 14, FX_T0 + HOUR);
    witness(f, f->nurse, w, FX_T0 + HOUR);
    uint64_t s = fx_session(f, P1, "esketamine", "intranasal", "outpatient", FX_T0 + 2 * HOUR, 0);
    fx_dose(f, s, NDC, "LOTB", 14, FX_T0 + 2 * HOUR + 5 * FX_MIN);
    count(f, "LOTB", 0, false, FX_T0 + 4 * HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    none(f, "STOCK-NEGATIVE");
    none(f, "STOCK-BALANCE");
    fx_free(f);
}

/* ---- STOCK-EXPIRED ---- */

static void test_audit_stock_dose_after_expiry(void **state)
{
    (void)state;
    fx *f = fx_new();
    /* expires on FX_T0's date: usable until its end */
    fx_receive(f, NDC, "LOTE", 4, 2, 28, FX_T0, FX_T0 - 2 * FX_DAY);
    count(f, "LOTE", 8, true, FX_T0 - 2 * FX_DAY + FX_MIN);
    uint64_t s = fx_session(f, P1, "esketamine", "intranasal", "outpatient", FX_T0 + FX_DAY, 0);
    uint64_t d = fx_dose(f, s, NDC, "LOTE", 28, FX_T0 + FX_DAY + 5 * FX_MIN);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "STOCK-EXPIRED", POLICY_FLAG, "LOTE", &d, 1);
    assert_non_null(strstr(pf->message, "expired on 2026-09-21"));
    assert_int_equal(pf->session, s);
    none(f, "STOCK-NEGATIVE");
    fx_free(f);
}

static void test_audit_stock_dose_on_expiry_day(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_receive(f, NDC, "LOTE", 4, 2, 28, FX_T0, FX_T0 - 2 * FX_DAY);
    count(f, "LOTE", 8, true, FX_T0 - 2 * FX_DAY + FX_MIN);
    uint64_t s = fx_session(f, P1, "esketamine", "intranasal", "outpatient", FX_T0 + 9 * HOUR, 0);
    fx_dose(f, s, NDC, "LOTE", 28, FX_T0 + 9 * HOUR + 5 * FX_MIN); /* 23:18Z, same date */
    assert_int_equal(fx_audit(f, NULL), 0);
    none(f, "STOCK-EXPIRED");
    fx_free(f);
}

/* ---- STOCK-BALANCE ---- */

static void test_audit_stock_count_short(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t s = fx_session(f, P1, "esketamine", "intranasal", "outpatient", FX_T0 + HOUR, 0);
    fx_dose(f, s, NDC, "LOTA", 28, FX_T0 + HOUR + 5 * FX_MIN);
    uint64_t d2 = fx_dose(f, s, NDC, "LOTA", 28, FX_T0 + HOUR + 10 * FX_MIN);
    uint64_t c = count(f, "LOTA", 5, false, FX_T0 + 5 * HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "STOCK-BALANCE", POLICY_FAIL, "LOTA", (uint64_t[]){d2, c}, 2);
    assert_non_null(strstr(pf->message, "count of 5 units (140 mg)"));
    assert_non_null(strstr(pf->message, "ledger balance 6 units (168 mg)"));
    assert_false(pf->has_session);
    fx_free(f);
}

static void test_audit_stock_count_matches(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t s = fx_session(f, P1, "esketamine", "intranasal", "outpatient", FX_T0 + HOUR, 0);
    fx_dose(f, s, NDC, "LOTA", 28, FX_T0 + HOUR + 5 * FX_MIN);
    fx_dose(f, s, NDC, "LOTA", 28, FX_T0 + HOUR + 10 * FX_MIN);
    loss(f, "LOTA", 1, FX_T0 + 4 * HOUR);
    count(f, "LOTA", 5, false, FX_T0 + 5 * HOUR);
    assert_int_equal(audit_now(f, FX_T0 + 5 * HOUR), 0);
    none(f, "STOCK-BALANCE");
    fx_free(f);
}

/* The count is amended from 5 to 6: the corrected value is the one judged. */
static void test_audit_stock_count_amended(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t s = fx_session(f, P1, "esketamine", "intranasal", "outpatient", FX_T0 + HOUR, 0);
    fx_dose(f, s, NDC, "LOTA", 28, FX_T0 + HOUR + 5 * FX_MIN);
    fx_dose(f, s, NDC, "LOTA", 28, FX_T0 + HOUR + 10 * FX_MIN);
    uint64_t c = count(f, "LOTA", 5, false, FX_T0 + 5 * HOUR);
    ledger_body *b = witness_body(f, c), *set = fx_body();
    const ledger_rtype *rt = ledger_rtype_find("amend");
    assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, "set"), "on-hand=6", set, NULL, 0),
                     0);
    assert_int_equal(ledger_body_put_map(b, "set", set), 0);
    assert_int_equal(ledger_body_put_text(b, "reason", "miscounted"), 0);
    fx_add(f, f->pharm, "amend", FX_T0 + 6 * HOUR, b);
    ledger_body_free(b);
    ledger_body_free(set);
    assert_int_equal(fx_audit(f, NULL), 0);
    none(f, "STOCK-BALANCE");
    fx_free(f);
}

static void test_audit_stock_count_of_lot_never_received(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t c = count(f, "LOTQ", 2, false, FX_T0 + HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "STOCK-BALANCE", POLICY_FAIL, "LOTQ", &c, 1);
    assert_non_null(strstr(pf->message, "never received"));
    fx_free(f);
}

/* ---- INV-BIENNIAL ---- */

static void test_audit_stock_initial_inventory_late(void **state)
{
    (void)state;
    fx *f = fx_new();
    uint64_t r = fx_receive(f, NDC, "LOTA", 4, 2, 28, T_EXP, FX_T0);
    uint64_t c = count(f, "LOTA", 8, true, FX_T0 + FX_DAY);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "INV-BIENNIAL", POLICY_FAIL, NULL, (uint64_t[]){r, c}, 2);
    assert_non_null(strstr(pf->message, "2026-09-21"));
    assert_non_null(strstr(pf->message, "2026-09-22"));
    fx_free(f);
}

static void test_audit_stock_initial_inventory_same_day(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_receive(f, NDC, "LOTA", 4, 2, 28, T_EXP, FX_T0);
    count(f, "LOTA", 8, true, FX_T0 + 9 * HOUR); /* 23:13Z, the same date */
    assert_int_equal(fx_audit(f, NULL), 0);
    none(f, "INV-BIENNIAL");
    fx_free(f);
}

static void test_audit_stock_no_inventory_ever(void **state)
{
    (void)state;
    fx *f = fx_new();
    uint64_t r = fx_receive(f, NDC, "LOTA", 4, 2, 28, T_EXP, FX_T0);
    count(f, "LOTA", 8, false, FX_T0 + HOUR); /* not complete */
    assert_int_equal(fx_audit(f, NULL), 0);
    one(f, "INV-BIENNIAL", POLICY_FAIL, NULL, &r, 1);
    fx_free(f);
}

/* 2026-09-21 to 2028-09-22 is one day more than 24 months; 2028-09-21 is exactly 24. */
static void test_audit_stock_inventories_too_far_apart(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_receive(f, NDC, "LOTA", 4, 2, 28, T_EXP, FX_T0);
    uint64_t c1 = count(f, "LOTA", 8, true, FX_T0 + FX_MIN);
    uint64_t c2 = count(f, "LOTA", 8, true, date("2028-09-22") + HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "INV-BIENNIAL", POLICY_FAIL, NULL, (uint64_t[]){c1, c2}, 2);
    assert_non_null(strstr(pf->message, "24 months and 1 day apart, more than 24 months"));
    fx_free(f);
}

static void test_audit_stock_inventories_24_months_apart(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_receive(f, NDC, "LOTA", 4, 2, 28, T_EXP, FX_T0);
    count(f, "LOTA", 8, true, FX_T0 + FX_MIN);
    count(f, "LOTA", 8, true, date("2028-09-21") + 20 * HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    none(f, "INV-BIENNIAL");
    fx_free(f);
}

/* As of "now": FLAG after 21 months, FAIL after 24 (the shipped profile). */
static void test_audit_stock_inventory_overdue_at_end(void **state)
{
    (void)state;
    fx *f = fx_new();
    uint64_t cseq = stock_up(f, FX_T0) + 1; /* the complete count follows the receipt */
    assert_int_equal(audit_now(f, date("2028-06-21")), 0);
    none(f, "INV-BIENNIAL");
    assert_int_equal(audit_now(f, date("2028-06-22")), 0);
    const policy_finding *pf = one(f, "INV-BIENNIAL", POLICY_FLAG, NULL, &cseq, 1);
    assert_non_null(strstr(pf->message, "21 months and 1 day before 2028-06-22"));
    assert_int_equal(audit_now(f, date("2028-09-21")), 0);
    one(f, "INV-BIENNIAL", POLICY_FLAG, NULL, &cseq, 1);
    assert_int_equal(audit_now(f, date("2028-09-22")), 0);
    pf = one(f, "INV-BIENNIAL", POLICY_FAIL, NULL, &cseq, 1);
    assert_non_null(strstr(pf->message, "more than 24 months"));
    fx_free(f);
}

/* ---- LOSS-REPORT ---- */

/* Discovered on a Friday: the one business day runs to the end of Monday. */
static void test_audit_stock_dea_notice_late(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    int64_t friday = MONDAY + 4 * FX_DAY;
    uint64_t lo = loss(f, "LOTA", 2, friday);
    uint64_t rp = report(f, lo, MONDAY + 8 * FX_DAY, MONDAY + 8 * FX_DAY, MONDAY + 8 * FX_DAY);
    count(f, "LOTA", 6, false, MONDAY + 8 * FX_DAY + HOUR);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "LOSS-REPORT", POLICY_FAIL, "LOTA", (uint64_t[]){lo, rp}, 2);
    assert_non_null(strstr(pf->message, "DEA notified"));
    assert_non_null(strstr(pf->message, "due by 2026-09-28"));
    none(f, "STOCK-BALANCE");
    fx_free(f);
}

static void test_audit_stock_dea_notice_next_business_day(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    int64_t friday = MONDAY + 4 * FX_DAY;
    uint64_t lo = loss(f, "LOTA", 2, friday);
    report(f, lo, MONDAY + 7 * FX_DAY + 9 * HOUR, MONDAY + 10 * FX_DAY,
           MONDAY + 7 * FX_DAY + 9 * HOUR);
    assert_int_equal(audit_now(f, friday + 90 * FX_DAY), 0);
    none(f, "LOSS-REPORT");
    fx_free(f);
}

/* Form 106 in its own report, one day past the 45. */
static void test_audit_stock_form106_late(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t lo = loss(f, "LOTA", 1, FX_T0 + HOUR);
    report(f, lo, FX_T0 + 2 * HOUR, 0, FX_T0 + 2 * HOUR);
    uint64_t r2 = report(f, lo, FX_T0 + 2 * HOUR, FX_T0 + 46 * FX_DAY, FX_T0 + 46 * FX_DAY);
    assert_int_equal(fx_audit(f, NULL), 0);
    const policy_finding *pf = one(f, "LOSS-REPORT", POLICY_FAIL, "LOTA", (uint64_t[]){lo, r2}, 2);
    assert_non_null(strstr(pf->message, "Form 106"));
    fx_free(f);
}

static void test_audit_stock_form106_on_day_45(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t lo = loss(f, "LOTA", 1, FX_T0 + HOUR);
    report(f, lo, FX_T0 + 2 * HOUR, 0, FX_T0 + 2 * HOUR);
    report(f, lo, FX_T0 + 2 * HOUR, FX_T0 + 45 * FX_DAY, FX_T0 + 45 * FX_DAY);
    assert_int_equal(fx_audit(f, NULL), 0);
    none(f, "LOSS-REPORT");
    fx_free(f);
}

/* Never reported: both clocks have run out by "now", one finding each. */
static void test_audit_stock_loss_never_reported(void **state)
{
    (void)state;
    fx *f = fx_new();
    stock_up(f, FX_T0);
    uint64_t lo = loss(f, "LOTA", 1, FX_T0 + HOUR);
    assert_int_equal(audit_now(f, FX_T0 + 60 * FX_DAY), 0);
    assert_int_equal(fx_count(f, "LOSS-REPORT"), 2);
    for (size_t i = 0; i < f->nfound; i++) {
        if (strcmp(f->found[i].rule, "LOSS-REPORT") != 0)
            continue;
        assert_int_equal(f->found[i].severity, POLICY_FAIL);
        assert_string_equal(f->found[i].lot, "LOTA");
        assert_int_equal(f->found[i].nevidence, 1);
        assert_int_equal(f->found[i].evidence[0], lo);
    }
    /* the same ledger the day after discovery: the DEA clock ran out, Form 106 has not */
    assert_int_equal(audit_now(f, FX_T0 + FX_DAY + 10 * HOUR), 0);
    const policy_finding *pf = one(f, "LOSS-REPORT", POLICY_FAIL, "LOTA", &lo, 1);
    assert_non_null(strstr(pf->message, "no DEA notice"));
    /* and on the day of discovery nothing is due yet */
    assert_int_equal(audit_now(f, FX_T0 + 2 * HOUR), 0);
    none(f, "LOSS-REPORT");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_stock_clean_day_has_no_stock_findings),
        cmocka_unit_test(test_audit_stock_waste_without_witness),
        cmocka_unit_test(test_audit_stock_waste_witnessed),
        cmocka_unit_test(test_audit_stock_waste_at_end_without_witness),
        cmocka_unit_test(test_audit_stock_waste_witnessed_by_actor),
        cmocka_unit_test(test_audit_stock_unlicensed_witness_refused),
        cmocka_unit_test(test_audit_stock_interleaved_witnesses),
        cmocka_unit_test(test_audit_stock_destroy_one_witness),
        cmocka_unit_test(test_audit_stock_destroy_same_witness_twice),
        cmocka_unit_test(test_audit_stock_destroy_two_witnesses),
        cmocka_unit_test(test_audit_stock_dose_from_lot_never_received),
        cmocka_unit_test(test_audit_stock_draw_beyond_balance),
        cmocka_unit_test(test_audit_stock_draw_to_zero),
        cmocka_unit_test(test_audit_stock_dose_after_expiry),
        cmocka_unit_test(test_audit_stock_dose_on_expiry_day),
        cmocka_unit_test(test_audit_stock_count_short),
        cmocka_unit_test(test_audit_stock_count_matches),
        cmocka_unit_test(test_audit_stock_count_amended),
        cmocka_unit_test(test_audit_stock_count_of_lot_never_received),
        cmocka_unit_test(test_audit_stock_initial_inventory_late),
        cmocka_unit_test(test_audit_stock_initial_inventory_same_day),
        cmocka_unit_test(test_audit_stock_no_inventory_ever),
        cmocka_unit_test(test_audit_stock_inventories_too_far_apart),
        cmocka_unit_test(test_audit_stock_inventories_24_months_apart),
        cmocka_unit_test(test_audit_stock_inventory_overdue_at_end),
        cmocka_unit_test(test_audit_stock_dea_notice_late),
        cmocka_unit_test(test_audit_stock_dea_notice_next_business_day),
        cmocka_unit_test(test_audit_stock_form106_late),
        cmocka_unit_test(test_audit_stock_form106_on_day_45),
        cmocka_unit_test(test_audit_stock_loss_never_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
