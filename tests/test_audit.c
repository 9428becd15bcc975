/* Audit engine: the integrity, key, site, timing and override rules, filters,
 * and the scenario fixture itself. Real LMDB, real OpenSSL. */
/* cmocka needs these headers before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "audit_fixture.h"
#include "ledger/records.h"
#include "ledger_int.h"
#include "store_int.h"

static const uint8_t P1[32] = {1, 1, 1};

static void test_audit_clean_session_has_no_findings(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_receive(f, "50458-028-02", "LOTA", 4, 2, 28, FX_T0 + 365 * FX_DAY, FX_T0 - 2 * FX_DAY);
    ledger_body *b = fx_body(); /* the initial inventory, the day handling began */
    assert_int_equal(ledger_field_parse(ledger_rtype_field(ledger_rtype_find("stock.count"), "ndc"),
                                        "50458-028-02", b, NULL, 0),
                     0);
    (void)ledger_body_put_text(b, "lot", "LOTA");
    (void)ledger_body_put_uint(b, "on-hand", 8);
    (void)ledger_body_put_text(b, "when", "close");
    (void)ledger_body_put_bool(b, "complete", true);
    fx_add(f, f->pharm, "stock.count", FX_T0 - 2 * FX_DAY + FX_MIN, b);
    ledger_body_free(b);
    fx_enroll_patient(f, P1, FX_T0 - 10 * FX_DAY, FX_T0 - FX_DAY);
    fx_good_esk_session(f, P1, FX_T0, 2);
    assert_int_equal(fx_audit(f, NULL), 0);
    for (size_t i = 0; i < f->nfound; i++)
        fprintf(stderr, "unexpected: %s %s\n", f->found[i].rule, f->found[i].message);
    assert_int_equal(fx_count(f, NULL), 0);
    assert_int_equal(f->sum.sessions, 1);
    assert_int_equal(f->sum.sessions_passed, 1);
    fx_free(f);
}

static void test_audit_rule_table(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "SET-CERT",      "SET-DEA",       "PAT-ENROLL",     "STAFF-PRESCRIBER", "KEY-ROLE",
        "DOSE-UNIT",     "DOSE-ALLOWED",  "DOSE-FIRST",     "DOSE-SPACING",     "DOSE-IV-RANGE",
        "SCHED-FREQ",    "SCHED-GAP",     "MON-DURATION",   "MON-OBSERVER",     "MON-DISCHARGE",
        "MON-TRANSPORT", "VIT-BP",        "VIT-BP-HIGH",    "VIT-SPO2",         "REMS-PMF",
        "WASTE-WITNESS", "STOCK-BALANCE", "STOCK-NEGATIVE", "STOCK-EXPIRED",    "INV-BIENNIAL",
        "LOSS-REPORT",   "CHAIN",         "TIME-ORDER",     "TIME-LATE",        "TIME-FUTURE"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        assert_non_null(policy_rule_find(ids[i]));
    assert_null(policy_rule_find("NOPE"));
}

static uint64_t add_note(fx *f, keys_key *k, int64_t at, const char *override)
{
    ledger_body *b = fx_body();
    (void)ledger_body_put_text(b, "text", "a note");
    uint64_t seq;
    if (override == NULL) {
        seq = fx_add(f, k, "note", at, b);
    } else {
        /* a stock count carries an override field? no: use a dose-free record that has one */
        seq = fx_add(f, k, "note", at, b);
    }
    ledger_body_free(b);
    return seq;
}

static uint64_t add_count(fx *f, const char *lot, uint64_t units, int64_t at)
{
    ledger_body *b = fx_body();
    const ledger_rtype *rt = ledger_rtype_find("stock.count");
    assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, "ndc"), "50458-028-02", b, NULL, 0),
                     0);
    (void)ledger_body_put_text(b, "lot", lot);
    (void)ledger_body_put_uint(b, "on-hand", units);
    (void)ledger_body_put_text(b, "when", "close");
    uint64_t seq = fx_add(f, f->pharm, "stock.count", at, b);
    ledger_body_free(b);
    return seq;
}

static void registration(fx *f, const char *schedules, int64_t expires, int64_t at)
{
    ledger_body *b = fx_body();
    const ledger_rtype *rt = ledger_rtype_find("registration");
    assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, "schedules"), schedules, b, NULL, 0),
                     0);
    (void)ledger_body_put_text(b, "dea", "BJ6125341");
    (void)ledger_body_put_uint(b, "expires", (uint64_t)(expires / FX_DAY * FX_DAY));
    fx_add(f, f->site, "registration", at, b);
    ledger_body_free(b);
}

static void test_audit_set_dea(void **state)
{
    (void)state;
    /* none recorded */
    fx *f = fx_new_bare();
    uint64_t c = add_count(f, "L1", 0, FX_T0);
    assert_int_equal(fx_audit(f, NULL), 0);
    assert_int_equal(fx_count(f, "SET-DEA"), 1);
    assert_true(fx_evidence(f, "SET-DEA", c));
    assert_int_equal(fx_first(f, "SET-DEA")->severity, POLICY_FAIL);
    fx_free(f);
    /* expired */
    f = fx_new_bare();
    registration(f, "3,4,5", FX_T0 - 2 * FX_DAY, FX_T0 - 10 * FX_DAY);
    c = add_count(f, "L1", 0, FX_T0);
    assert_int_equal(fx_audit(f, NULL), 0);
    assert_int_equal(fx_count(f, "SET-DEA"), 1);
    assert_non_null(strstr(fx_first(f, "SET-DEA")->message, "expired"));
    fx_free(f);
    /* lacks Schedule III */
    f = fx_new_bare();
    registration(f, "2,4,5", FX_T0 + 100 * FX_DAY, FX_T0 - 10 * FX_DAY);
    c = add_count(f, "L1", 0, FX_T0);
    assert_int_equal(fx_audit(f, NULL), 0);
    assert_int_equal(fx_count(f, "SET-DEA"), 1);
    assert_non_null(strstr(fx_first(f, "SET-DEA")->message, "Schedule III"));
    fx_free(f);
    /* twin: current with Schedule III */
    f = fx_new_bare();
    registration(f, "3,4,5", FX_T0 + 100 * FX_DAY, FX_T0 - 10 * FX_DAY);
    add_count(f, "L1", 0, FX_T0);
    assert_int_equal(fx_audit(f, NULL), 0);
    assert_int_equal(fx_count(f, "SET-DEA"), 0);
    fx_free(f);
}

static void test_audit_time_late_and_twin(void **state)
{
    (void)state;
    fx *f = fx_new();
    uint64_t ontime = add_note(f, f->pharm, FX_T0, NULL);
    /* the clock moves 2 days on; a note about something 2 days old */
    add_note(f, f->pharm, FX_T0 + 2 * FX_DAY, NULL);
    uint64_t late = add_note(f, f->pharm, FX_T0 + FX_DAY - FX_MIN, NULL);
    assert_int_equal(fx_audit(f, NULL), 0);
    assert_int_equal(fx_count(f, "TIME-LATE"), 1);
    assert_true(fx_evidence(f, "TIME-LATE", late));
    assert_false(fx_evidence(f, "TIME-LATE", ontime));
    assert_int_equal(fx_first(f, "TIME-LATE")->severity, POLICY_FLAG);
    fx_free(f);
}

/* Plant an entry with a chosen recorded and event time, validly signed and chained. */
static uint64_t plant_note(fx *f, keys_key *k, int64_t rt, int64_t et)
{
    ledger__head h;
    ledger__buf payload, entry;
    ledger_entry e;
    MDB_txn *txn;
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES], kb[8], hb[LEDGER__HEAD_BYTES];
    ledger_body *b = fx_body();
    ledger_keyinfo info;
    (void)ledger_body_put_text(b, "text", "planted");
    keys_key_pub(k, pub);
    keys_kid(kid, pub);
    assert_int_equal(ledger_key_get(f->l, kid, &info), 0);
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(ledger__head_read(f->l, txn, &h), 0);
    ledger__buf_init(&payload, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&entry, LEDGER_MAX_ENTRY_BYTES);
    assert_int_equal(ledger__payload_build(&payload, h.count, h.hash, "note", rt, et, kid,
                                           info.name, "authored", b),
                     0);
    assert_int_equal(ledger__entry_build(&entry, k, payload.p, payload.len), 0);
    assert_int_equal(ledger_entry_decode(&e, entry.p, entry.len, NULL, 0), 0);
    ledger__u64be(kb, h.count);
    MDB_val key = {8, kb}, val = {entry.len, entry.p};
    assert_int_equal(mdb_put(txn, f->l->entries, &key, &val, 0), 0);
    assert_int_equal(ledger__merkle_append(f->l, txn, h.count, e.hash), 0);
    ledger__u64be(hb, h.count + 1);
    memcpy(hb + 8, e.hash, LEDGER_HASH_BYTES);
    ledger__u64be(hb + 8 + LEDGER_HASH_BYTES, (uint64_t)rt);
    MDB_val hk = {4, "head"}, hv = {sizeof(hb), hb};
    assert_int_equal(mdb_put(txn, f->l->meta, &hk, &hv, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    ledger__buf_release(&payload);
    ledger__buf_release(&entry);
    ledger_body_free(b);
    return h.count;
}

static void test_audit_time_future_and_twin(void **state)
{
    (void)state;
    fx *f = fx_new();
    uint64_t ok = plant_note(f, f->pharm, FX_T0, FX_T0 + 4 * FX_MIN);
    uint64_t bad = plant_note(f, f->pharm, FX_T0 + 1, FX_T0 + 6 * FX_MIN);
    assert_int_equal(fx_audit(f, NULL), 0);
    assert_int_equal(fx_count(f, "CHAIN"), 0);
    assert_int_equal(fx_count(f, "TIME-FUTURE"), 1);
    assert_true(fx_evidence(f, "TIME-FUTURE", bad));
    assert_false(fx_evidence(f, "TIME-FUTURE", ok));
    assert_int_equal(fx_first(f, "TIME-FUTURE")->severity, POLICY_FAIL);
    fx_free(f);
}

static void test_audit_time_order_and_twin(void **state)
{
    (void)state;
    fx *f = fx_new();
    uint64_t last = add_note(f, f->pharm, FX_T0, NULL);
    uint64_t back = plant_note(f, f->pharm, FX_T0 - FX_DAY, FX_T0 - FX_DAY);
    assert_int_equal(fx_audit_ledger(f, NULL), 0);
    assert_int_equal(fx_count(f, "TIME-ORDER"), 1);
    assert_true(fx_evidence(f, "TIME-ORDER", back));
    (void)last;
    fx_free(f);
    f = fx_new();
    add_note(f, f->pharm, FX_T0, NULL);
    plant_note(f, f->pharm, FX_T0 + FX_MIN, FX_T0 + FX_MIN);
    assert_int_equal(fx_audit_ledger(f, NULL), 0);
    assert_int_equal(fx_count(f, "TIME-ORDER"), 0);
    fx_free(f);
}

static void test_audit_key_role_revoked_signer(void **state)
{
    (void)state;
    fx *f = fx_new();
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
    keys_key_pub(f->pharm2, pub);
    keys_kid(kid, pub);
    ledger_body *b = fx_body();
    (void)ledger_body_put_bytes(b, "kid", kid, sizeof(kid));
    (void)ledger_body_put_text(b, "reason", "left");
    fx_add(f, f->site, "key.revoke", FX_T0, b);
    ledger_body_free(b);
    uint64_t bad = plant_note(f, f->pharm2, FX_T0 + FX_MIN, FX_T0 + FX_MIN);
    assert_int_equal(fx_audit_ledger(f, NULL), 0);
    assert_int_equal(fx_count(f, "KEY-ROLE"), 1);
    assert_true(fx_evidence(f, "KEY-ROLE", bad));
    assert_int_equal(fx_count(f, "CHAIN"), 0);
    fx_free(f);
    /* twin: the same note by a key still enrolled */
    f = fx_new();
    plant_note(f, f->pharm2, FX_T0 + FX_MIN, FX_T0 + FX_MIN);
    assert_int_equal(fx_audit_ledger(f, NULL), 0);
    assert_int_equal(fx_count(f, "KEY-ROLE"), 0);
    fx_free(f);
}

static void test_audit_chain_broken(void **state)
{
    (void)state;
    fx *f = fx_new();
    add_note(f, f->pharm, FX_T0, NULL);
    uint64_t victim = add_note(f, f->pharm, FX_T0 + FX_MIN, NULL);
    add_note(f, f->pharm, FX_T0 + 2 * FX_MIN, NULL);
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES];
    size_t n;
    assert_int_equal(ledger_get(f->l, victim, buf, sizeof(buf), &n), 0);
    buf[n - 1] ^= 1;
    MDB_txn *txn;
    uint8_t kb[8];
    ledger__u64be(kb, victim);
    MDB_val k = {8, kb}, v = {n, buf};
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->l->entries, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(fx_audit_ledger(f, NULL), 0);
    assert_int_equal(fx_count(f, "CHAIN"), 1);
    assert_true(fx_evidence(f, "CHAIN", victim));
    assert_non_null(strstr(fx_first(f, "CHAIN")->message, "not trusted"));
    assert_int_equal(f->sum.entries, victim); /* nothing from the bad entry on was read */
    fx_free(f);
    f = fx_new();
    add_note(f, f->pharm, FX_T0, NULL);
    assert_int_equal(fx_audit_ledger(f, NULL), 0);
    assert_int_equal(fx_count(f, "CHAIN"), 0);
    fx_free(f);
}

static void test_audit_override_listed_with_reason(void **state)
{
    (void)state;
    fx *f = fx_new();
    uint8_t p[32] = {7};
    uint64_t s = fx_session(f, p, "ketamine", "iv", "outpatient", FX_T0, 72000);
    ledger_body *b = fx_body();
    (void)ledger_body_put_uint(b, "session", s);
    assert_int_equal(ledger_field_parse(ledger_rtype_field(ledger_rtype_find("dose"), "ndc"),
                                        "42023-113-10", b, NULL, 0),
                     0);
    (void)ledger_body_put_text(b, "lot", "K1");
    (void)ledger_body_put_uint(b, "mg", 36);
    (void)ledger_body_put_text(b, "override", "BP cuff broken; manual reading charted on paper");
    uint64_t d = fx_add(f, f->nurse, "dose", FX_T0 + 5 * FX_MIN, b);
    ledger_body_free(b);
    fx_dose(f, s, "42023-113-10", "K1", 1, FX_T0 + 6 * FX_MIN); /* no override */
    assert_int_equal(fx_audit(f, NULL), 0);
    assert_int_equal(fx_count(f, "OVERRIDE"), 1);
    const policy_finding *o = fx_first(f, "OVERRIDE");
    assert_true(fx_evidence(f, "OVERRIDE", d));
    assert_true(o->has_session);
    assert_int_equal(o->session, s);
    assert_non_null(strstr(o->message, "BP cuff broken"));
    fx_free(f);
}

static uint64_t overridden_dose(fx *f, uint64_t s, int64_t at)
{
    ledger_body *b = fx_body();
    (void)ledger_body_put_uint(b, "session", s);
    assert_int_equal(ledger_field_parse(ledger_rtype_field(ledger_rtype_find("dose"), "ndc"),
                                        "42023-113-10", b, NULL, 0),
                     0);
    (void)ledger_body_put_text(b, "lot", "K1");
    (void)ledger_body_put_uint(b, "mg", 36);
    (void)ledger_body_put_text(b, "override", "reason");
    uint64_t seq = fx_add(f, f->nurse, "dose", at, b);
    ledger_body_free(b);
    return seq;
}

static void test_audit_filters(void **state)
{
    (void)state;
    fx *f = fx_new_bare();
    uint8_t pa[32] = {1}, pb[32] = {2};
    uint64_t c1 = add_count(f, "L1", 0, FX_T0);              /* SET-DEA, day 0 */
    uint64_t c2 = add_count(f, "L1", 0, FX_T0 + 5 * FX_DAY); /* SET-DEA, day 5 */
    uint64_t sa = fx_session(f, pa, "ketamine", "iv", "inpatient", FX_T0 + 6 * FX_DAY, 70000);
    uint64_t da = overridden_dose(f, sa, FX_T0 + 6 * FX_DAY + FX_MIN);
    uint64_t sb = fx_session(f, pb, "ketamine", "iv", "inpatient", FX_T0 + 7 * FX_DAY, 70000);
    uint64_t db = overridden_dose(f, sb, FX_T0 + 7 * FX_DAY + FX_MIN);
    policy_audit_opts o = POLICY_AUDIT_INIT;

    o.rule = "SET-DEA"; /* only that rule */
    assert_int_equal(fx_audit(f, &o), 0);
    assert_int_equal(fx_count(f, NULL), fx_count(f, "SET-DEA"));
    assert_true(fx_count(f, "SET-DEA") >= 2);

    o = (policy_audit_opts)POLICY_AUDIT_INIT; /* a window: day 3 up to day 6 */
    o.rule = "SET-DEA";
    o.from_ms = FX_T0 + 3 * FX_DAY;
    o.to_ms = FX_T0 + 6 * FX_DAY;
    assert_int_equal(fx_audit(f, &o), 0);
    assert_int_equal(fx_count(f, "SET-DEA"), 1);
    assert_true(fx_evidence(f, "SET-DEA", c2));
    assert_false(fx_evidence(f, "SET-DEA", c1));

    o = (policy_audit_opts)POLICY_AUDIT_INIT; /* one patient: only their session's findings */
    o.has_patient = true;
    memcpy(o.patient, pb, sizeof(pb));
    o.rule = "OVERRIDE";
    assert_int_equal(fx_audit(f, &o), 0);
    assert_int_equal(fx_count(f, "OVERRIDE"), 1);
    assert_true(fx_evidence(f, "OVERRIDE", db));
    assert_false(fx_evidence(f, "OVERRIDE", da));
    assert_int_equal(fx_first(f, "OVERRIDE")->session, sb);
    fx_free(f);
}

static void test_audit_policy_adoption_changes_judgement(void **state)
{
    (void)state;
    fx *f = fx_new();
    uint8_t p1[32] = {1}, p2[32] = {2};
    fx_receive(f, "50458-028-02", "LOTA", 10, 2, 28, FX_T0 + 365 * FX_DAY, FX_T0 - 2 * FX_DAY);
    fx_enroll_patient(f, p1, FX_T0 - 10 * FX_DAY, FX_T0 - 2 * FX_DAY);
    fx_enroll_patient(f, p2, FX_T0 - 10 * FX_DAY, FX_T0 - 2 * FX_DAY);
    /* a stricter profile: 150 minutes of monitoring, in force from day 10 */
    const char *base = policy_builtin_text("spravato-rems");
    char text[4096];
    const char *mm = strstr(base, "min_minutes = 120");
    assert_non_null(mm);
    (void)snprintf(text, sizeof(text), "%.*smin_minutes = 150%s", (int)(mm - base), base,
                   mm + strlen("min_minutes = 120"));
    ledger_body *b = fx_body();
    uint8_t digest[32];
    assert_int_equal(EVP_Digest(text, strlen(text), digest, NULL, EVP_sha256(), NULL), 1);
    (void)ledger_body_put_text(b, "name", "strict-rems");
    (void)ledger_body_put_text(b, "drug", "esketamine");
    (void)ledger_body_put_text(b, "text", text);
    (void)ledger_body_put_bytes(b, "sha256", digest, sizeof(digest));
    (void)ledger_body_put_uint(b, "effective", (uint64_t)((FX_T0 + 10 * FX_DAY) / FX_DAY * FX_DAY));
    fx_add(f, f->site, "policy.adopt", FX_T0 - FX_DAY, b);
    ledger_body_free(b);
    /* both sessions monitored 130 min after the last device */
    uint64_t before = fx_good_esk_session(f, p1, FX_T0, 2);
    uint64_t after = fx_good_esk_session(f, p2, FX_T0 + 12 * FX_DAY, 2);
    assert_int_equal(fx_audit(f, NULL), 0);
    assert_int_equal(fx_count(f, "MON-DURATION"), 1);
    assert_int_equal(fx_first(f, "MON-DURATION")->session, after);
    assert_non_null(strstr(fx_first(f, "MON-DURATION")->message, "150"));
    /* a what-if audit with the shipped profile judges both as fine */
    policy_profile shipped;
    char why[256];
    assert_int_equal(policy_profile_for_drug(&shipped, "esketamine", why, sizeof(why)), 0);
    policy_audit_opts o = POLICY_AUDIT_INIT;
    o.what_if = &shipped;
    assert_int_equal(fx_audit(f, &o), 0);
    assert_int_equal(fx_count(f, "MON-DURATION"), 0);
    (void)before;
    fx_free(f);
}

/* Patients are found by commitment among many (the audit's table grows past
 * its first sizes): each session is judged against its own patient's
 * enrollment, whatever order the patients came in. */
static void test_audit_many_patients(void **state)
{
    (void)state;
    enum { N = 1100 };
    fx *f = fx_new();
    uint8_t p[32], never[32] = {0xee, 0xee};
    fx_receive(f, "50458-028-02", "LOTA", 10, 2, 28, FX_T0 + 365 * FX_DAY, FX_T0 - 2 * FX_DAY);
    for (unsigned i = 0; i < N; i++) {
        memset(p, 0, sizeof(p));
        p[0] = (uint8_t)(i * 37); /* the table probes from the first bytes */
        p[1] = (uint8_t)(i >> 8);
        p[31] = 1;
        /* the last one enrolled only after its session day */
        fx_enroll_patient(f, p, i == N - 1 ? FX_T0 + 3 * FX_DAY : FX_T0 - 10 * FX_DAY,
                          FX_T0 - FX_DAY);
    }
    uint64_t late = fx_good_esk_session(f, p, FX_T0, 2);
    uint64_t none = fx_good_esk_session(f, never, FX_T0 + 240 * FX_MIN, 2);
    static const unsigned ok[] = {0, 511, 512, 1023, 1098};
    for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
        memset(p, 0, sizeof(p));
        p[0] = (uint8_t)(ok[k] * 37);
        p[1] = (uint8_t)(ok[k] >> 8);
        p[31] = 1;
        fx_good_esk_session(f, p, FX_T0 + FX_DAY + (int64_t)k * 240 * FX_MIN, 2);
    }
    assert_int_equal(fx_audit_ledger(f, NULL), 0);
    assert_int_equal(fx_count(f, "PAT-ENROLL"), 2);
    bool seen_late = false, seen_none = false;
    for (size_t i = 0; i < f->nfound; i++)
        if (strcmp(f->found[i].rule, "PAT-ENROLL") == 0) {
            seen_late |= f->found[i].session == late &&
                         strstr(f->found[i].message, "before the patient's REMS enrollment");
            seen_none |= f->found[i].session == none &&
                         strstr(f->found[i].message, "no REMS enrollment recorded");
        }
    assert_true(seen_late);
    assert_true(seen_none);
    assert_int_equal(f->sum.sessions, 7);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_clean_session_has_no_findings),
        cmocka_unit_test(test_audit_rule_table),
        cmocka_unit_test(test_audit_many_patients),
        cmocka_unit_test(test_audit_set_dea),
        cmocka_unit_test(test_audit_time_late_and_twin),
        cmocka_unit_test(test_audit_time_future_and_twin),
        cmocka_unit_test(test_audit_time_order_and_twin),
        cmocka_unit_test(test_audit_key_role_revoked_signer),
        cmocka_unit_test(test_audit_chain_broken),
        cmocka_unit_test(test_audit_override_listed_with_reason),
        cmocka_unit_test(test_audit_filters),
        cmocka_unit_test(test_audit_policy_adoption_changes_judgement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
