/* libFuzzer harness: the policy profile parser (INI text through libinih), as
 * `rxledger policy check FILE` and `policy adopt` run it. A profile that
 * parses must hold every value in its declared range.
 * Corpus: tests/fuzz/corpus/policy (the shipped profiles and variants). */
#include <string.h>

#include "fuzz.h"
#include "policy/policy.h"

static void check_list(const uint32_t *v, size_t n)
{
    FUZZ_CHECK(n <= POLICY_LIST_MAX);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(v[i] >= 1 && v[i] <= 10000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    policy_profile p;
    char why[POLICY_WHY_MAX];
    int rc = policy_profile_parse(&p, (const char *)data, size, "fuzz.ini", why, sizeof(why));
    if (rc != 0) {
        FUZZ_CHECK(rc == POLICY_EPROFILE || rc == LEDGER_ENOMEM);
        FUZZ_CHECK(strlen(why) < sizeof(why));
        return 0;
    }
    FUZZ_CHECK(size <= POLICY_PROFILE_MAX_BYTES && memchr(data, 0, size) == NULL);
    FUZZ_CHECK(p.name[0] != '\0' && strlen(p.name) <= POLICY_NAME_MAX);
    FUZZ_CHECK(strcmp(p.drug, "esketamine") == 0 || strcmp(p.drug, "ketamine") == 0);
    FUZZ_CHECK(p.monitor_min >= 1 && p.monitor_min <= 1440);
    FUZZ_CHECK(p.complete_months >= 1 && p.complete_months <= 120);
    FUZZ_CHECK(p.dea_notice_business_days >= 1 && p.dea_notice_business_days <= 30);
    FUZZ_CHECK(p.form106_days >= 1 && p.form106_days <= 365);
    FUZZ_CHECK(p.late_hours >= 1 && p.late_hours <= 8760);
    FUZZ_CHECK(p.future_tolerance_min <= 1440);
    FUZZ_CHECK(p.device_mg <= 1000 && p.min_device_spacing_min <= 120);
    FUZZ_CHECK(p.iv_min_ug_per_kg <= 100000 && p.iv_max_ug_per_kg <= 100000);
    FUZZ_CHECK(p.bp_high_systolic == 0 || (p.bp_high_systolic >= 50 && p.bp_high_systolic <= 300));
    FUZZ_CHECK(p.induction_max_per_7d <= 14 && p.min_gap_hours <= 720 && p.pmf_days <= 365);
    check_list(p.allowed_total_mg, p.n_allowed_total);
    check_list(p.flag_total_mg, p.n_flag_total);
    return 0;
}
