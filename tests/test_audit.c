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

#include <stdio.h>
#include <string.h>

#include "audit_fixture.h"
#include "ledger/records.h"

static const uint8_t P1[32] = {1, 1, 1};

static void test_audit_clean_session_has_no_findings(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_receive(f, "50458-028-02", "LOTA", 4, 2, 28, FX_T0 + 365 * FX_DAY, FX_T0 - 2 * FX_DAY);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_clean_session_has_no_findings),
        cmocka_unit_test(test_audit_rule_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
