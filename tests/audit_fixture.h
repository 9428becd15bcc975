/* Shared fixture for audit scenario tests: a ledger in a temp directory with a
 * site, staff, a DEA registration and a REMS certification, appends with chosen
 * event times, and an audit whose findings are collected for assertions. */
#ifndef RX_AUDIT_FIXTURE_H
#define RX_AUDIT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "keys/keys.h"
#include "ledger/ledger.h"
#include "policy/audit.h"

#define FX_FINDINGS_MAX 256
#define FX_MIN          INT64_C(60000)
#define FX_DAY          (24 * 60 * FX_MIN)
/* Scenario times: the fixture's clock records each entry at its event time, so
 * appends must come in time order (an earlier event is recorded 1 ms later). */
#define FX_T0 INT64_C(1790000000000) /* 2026-09-21T14:13:20Z */

typedef struct fx {
    char dir[64];
    ledger *l;
    keys_key *site, *pharm, *pharm2, *presc, *nurse, *nurse2, *admin;
    uint8_t kid_presc[KEYS_KID_BYTES], kid_nurse[KEYS_KID_BYTES], kid_pharm[KEYS_KID_BYTES];
    policy_finding found[FX_FINDINGS_MAX];
    size_t nfound;
    policy_audit_summary sum;
} fx;

/* A new ledger: genesis, a pharmacist (and a second one), a prescriber, two nurses, an admin,
 * a DEA registration (schedules 3,4,5, expiring FX_T0 + 2 years, effective FX_T0 - 30 days)
 * and an outpatient REMS certification from FX_T0 - 30 days. */
fx *fx_new(void);
/* The same without the registration and certification (SET-* tests). */
fx *fx_new_bare(void);
void fx_free(fx *f);

/* Append @p type signed by @p k at event time @p at (0: just after the last) with
 * @p body; returns the seq (aborts on failure). */
uint64_t fx_add(fx *f, keys_key *k, const char *type, int64_t at, ledger_body *body);
/* The same, returning the append's code instead of asserting success. */
int fx_try(fx *f, keys_key *k, const char *type, int64_t at, ledger_body *body, uint64_t *seq);
/* A body; free with ledger_body_free() (fx_add does not take it). */
ledger_body *fx_body(void);

/* Common records. Each returns the entry's seq. */
uint64_t fx_enroll_patient(fx *f, const uint8_t patient[32], int64_t on_ms, int64_t at);
uint64_t fx_session(fx *f, const uint8_t patient[32], const char *drug, const char *route,
                    const char *setting, int64_t at, uint64_t weight_g);
uint64_t fx_vitals(fx *f, uint64_t s, const char *phase, unsigned sys, unsigned dia, int spo2,
                   int64_t at);
uint64_t fx_dose(fx *f, uint64_t s, const char *ndc, const char *lot, uint64_t mg, int64_t at);
uint64_t fx_discharge(fx *f, uint64_t s, bool all_attested, bool transport, int64_t at);
uint64_t fx_receive(fx *f, const char *ndc, const char *lot, uint64_t containers, uint64_t per,
                    uint64_t unit_mg, int64_t expires_ms, int64_t at);

/* A complete esketamine session for @p patient at @p t: pre BP, 3 devices of 28 mg 5 min
 * apart, BP at +40, discharge BP and sign-off at +2h10 after the last device, pmf. */
uint64_t fx_good_esk_session(fx *f, const uint8_t patient[32], int64_t t, uint64_t devices);

/* Run the audit (after verify) with @p opts (NULL: defaults); findings land in f->found. */
int fx_audit(fx *f, const policy_audit_opts *opts);
/* The same through policy_audit_ledger(): a verify failure becomes a finding. */
int fx_audit_ledger(fx *f, const policy_audit_opts *opts);
/* Number of findings of @p rule (NULL: all). */
size_t fx_count(const fx *f, const char *rule);
/* The first finding of @p rule, or NULL. */
const policy_finding *fx_first(const fx *f, const char *rule);
/* Whether the first finding of @p rule quotes @p seq as evidence. */
bool fx_evidence(const fx *f, const char *rule, uint64_t seq);

#endif
