/**
 * @file policy.h
 * @brief Policy profiles, sessions, the entry-time sequencing checks and the
 *        inventory, computed from the ledger.
 *
 * Every threshold is a profile parameter (policy/profiles/NAME.ini, embedded in
 * the program). Errors: 0 or a negative code; POLICY_E* (-3xx) are this
 * module's, LEDGER_E* and KEYS_E* pass through unchanged.
 */
#ifndef POLICY_POLICY_H
#define POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"
#include "ledger/patients.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POLICY_EINVAL     -301 /**< bad argument */
#define POLICY_EPROFILE   -302 /**< bad profile text (detail names line and key) */
#define POLICY_ESEQUENCE  -303 /**< a sequencing check refused the step */
#define POLICY_ENOSESSION -304 /**< no such session */
#define POLICY_ECLOSED    -305 /**< the session is already discharged */

#define POLICY_NAME_MAX          63
#define POLICY_LIST_MAX          8
#define POLICY_PROFILE_MAX_BYTES 65536 /**< largest profile file */
#define POLICY_WHY_MAX           512

/** Text for any POLICY_E* code (others: ledger_strerror()). */
const char *policy_strerror(int code);

/** A policy profile: every number the checks and the audit use. 0: not applied. */
typedef struct policy_profile {
    char name[POLICY_NAME_MAX + 1];
    char drug[16]; /**< "esketamine" or "ketamine" */
    uint32_t monitor_min;
    uint32_t device_mg;
    uint32_t allowed_total_mg[POLICY_LIST_MAX];
    size_t n_allowed_total;
    uint32_t flag_total_mg[POLICY_LIST_MAX];
    size_t n_flag_total;
    uint32_t first_session_max_mg;
    uint32_t min_device_spacing_min;
    uint32_t iv_min_ug_per_kg, iv_max_ug_per_kg, iv_min_infusion_min, weight_max_age_days;
    uint32_t bp_post_from_min, bp_post_until_min, bp_high_systolic, bp_high_diastolic;
    uint32_t induction_weeks, induction_max_per_7d, continuation_weeks, continuation_max_per_7d,
        maintenance_max_per_7d, min_gap_hours;
    uint32_t pmf_days;
    uint32_t complete_months, complete_flag_months;
    uint32_t dea_notice_business_days, form106_days;
    uint32_t late_hours, future_tolerance_min;
} policy_profile;

/**
 * Parse profile text (INI). Unknown sections or keys, bad values and missing
 * required keys are errors; @p why names the file, line and key.
 * @return 0 or POLICY_EPROFILE.
 */
int policy_profile_parse(policy_profile *out, const char *text, size_t len, const char *fname,
                         char *why, size_t whylen);

/** The shipped profile named @p name ("spravato-rems", "ketamine-iv"), or NULL. */
const char *policy_builtin_text(const char *name);
/** The @p i-th shipped profile name, NULL past the end. */
const char *policy_builtin_name(size_t i);
/** The shipped profile for @p drug ("esketamine" or "ketamine"). */
int policy_profile_for_drug(policy_profile *out, const char *drug, char *why, size_t whylen);

/**
 * The profile in force for @p drug on @p date_ms: the latest adopted one
 * (policy.adopt) whose effective date is not after it, else the shipped one.
 * @return 0, POLICY_EPROFILE, storage errors.
 */
int policy_profile_in_force(policy_profile *out, ledger *l, const char *drug, int64_t date_ms,
                            char *why, size_t whylen);

/** A session as the ledger records it so far. */
typedef struct policy_session {
    uint64_t id; /**< seq of its session.open entry */
    int64_t opened_ms;
    uint8_t patient[LEDGER_COMMIT_BYTES];
    char drug[16], route[16], setting[16];
    uint8_t prescriber[KEYS_KID_BYTES], observer[KEYS_KID_BYTES];
    uint64_t weight_g; /**< 0 if not recorded */
    bool pre_bp;       /**< a pre-dose blood pressure is recorded */
    int64_t pre_bp_ms;
    uint32_t doses;
    uint64_t total_mg;
    int64_t first_dose_ms, last_dose_ms;
    bool discharged;
    uint64_t discharge_seq;
    int64_t discharge_ms;
    uint64_t entries; /**< entries belonging to it, the open included */
} policy_session;

/** Called for each entry of a session, in chain order (witnesses of its acts included). */
typedef int (*policy_entry_fn)(const ledger_entry *e, void *ud);

/**
 * Load session @p id: its open entry and every later entry naming it.
 * @param fn optional, called per entry (the open included).
 * @return 0, POLICY_ENOSESSION, storage errors.
 */
int policy_session_load(ledger *l, uint64_t id, policy_session *out, policy_entry_fn fn, void *ud,
                        char *why, size_t whylen);

/**
 * Entry-time sequencing checks (DOMAIN "operational checks"). Each returns 0
 * when the step may go ahead, POLICY_ESEQUENCE with a one-line reason when it
 * must be refused unless the user overrides, or POLICY_ECLOSED.
 */
int policy_check_session_open(ledger *l, const uint8_t patient[LEDGER_COMMIT_BYTES],
                              const char *drug, const char *setting, int64_t event_ms, char *why,
                              size_t whylen);
int policy_check_dose(const policy_session *s, int64_t event_ms, char *why, size_t whylen);
int policy_check_discharge(const policy_session *s, const policy_profile *p, int64_t event_ms,
                           char *why, size_t whylen);
/** Vitals, waste and other steps that need an open (not discharged) session. */
int policy_check_open(const policy_session *s, char *why, size_t whylen);

/** Stock of one NDC and lot. */
typedef struct policy_lot {
    char ndc[16];
    char lot[65];
    char substance[16];
    int64_t expires_ms;
    uint64_t unit_mg;
    uint64_t received_units;
    uint64_t administered_mg, wasted_mg;
    uint64_t destroyed_units, lost_units;
    int64_t on_hand_mg; /**< received - administered - wasted - destroyed - lost, in mg */
    bool counted;
    uint64_t count_units, count_seq;
    int64_t count_ms;
} policy_lot;

typedef int (*policy_lot_fn)(const policy_lot *lot, void *ud);

/**
 * The inventory from the ledger: every NDC+lot as of @p until_ms (event
 * times before it; 0: everything), corrections applied, in NDC, lot order.
 * Memory grows with the number of lots, not entries.
 */
int policy_inventory(ledger *l, int64_t until_ms, policy_lot_fn fn, void *ud, char *why,
                     size_t whylen);

#ifdef __cplusplus
}
#endif
#endif
