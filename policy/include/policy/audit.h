/**
 * @file audit.h
 * @brief The compliance audit: every rule of DOMAIN.md's "Audit rules",
 *        judged in one streaming pass over the entries.
 *
 * The engine reads entries through one source interface (a ledger today, an
 * export file later). Memory grows with the number of open sessions, patients
 * and lots, never with the number of entries. Each session is judged by the
 * profile in force on its date (the latest `policy.adopt` for its drug whose
 * effective date is not after the session's, else the shipped profile), unless
 * the caller gives one profile for a what-if audit.
 */
#ifndef POLICY_AUDIT_H
#define POLICY_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ledger/ledger.h"
#include "policy/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POLICY_EVIDENCE_MAX 8   /**< entry seqs quoted per finding */
#define POLICY_MESSAGE_MAX  320 /**< one sentence */
#define POLICY_RULE_MAX     24  /**< longest rule id */

/** Severity of a finding. */
typedef enum policy_severity {
    POLICY_FLAG = 1, /**< needs a human look */
    POLICY_FAIL = 2  /**< violates a regulation or label requirement */
} policy_severity;

/** One finding. */
typedef struct policy_finding {
    char rule[POLICY_RULE_MAX + 1]; /**< e.g. "MON-DURATION" */
    policy_severity severity;
    bool has_session;
    uint64_t session; /**< the session id (seq of its session.open) */
    char ndc[16];     /**< for stock findings, else "" */
    char lot[65];
    uint64_t evidence[POLICY_EVIDENCE_MAX]; /**< entry seqs, ascending */
    size_t nevidence;
    int64_t when_ms; /**< the event time the finding is about */
    char message[POLICY_MESSAGE_MAX];
} policy_finding;

/** Called for each finding, in the order they are made. Non-zero stops the audit. */
typedef int (*policy_finding_fn)(const policy_finding *f, void *ud);

/** Where entries come from: next() returns 0 with an entry, 1 at the end, <0 on error. */
typedef struct policy_source {
    int (*next)(void *ud, ledger_entry *out);
    void *ud;
    ledger *l; /**< when the source is a ledger: for corrections (amendments); may be NULL */
    /** Otherwise, optionally: @p key of @p e as corrected by later amendments. */
    uint64_t (*quantity)(void *ud, const ledger_entry *e, const char *key);
} policy_source;

/** What to audit. Fill with POLICY_AUDIT_INIT. */
typedef struct policy_audit_opts {
    int64_t from_ms, to_ms; /**< judge sessions and events in [from, to); 0: open */
    bool has_patient;
    uint8_t patient[LEDGER_COMMIT_BYTES]; /**< only this patient's sessions */
    const char *rule;                     /**< only findings of this rule id; NULL: all */
    const policy_profile *what_if; /**< judge every session by this profile; NULL: as adopted */
    int64_t now_ms;                /**< "today" for clocks still running (inventory, PMF, loss) */
    ledger_progress_fn progress;   /**< optional */
    void *progress_ud;
    uint64_t trusted; /**< entries before this seq are trusted (after verify) */
} policy_audit_opts;
#define POLICY_AUDIT_INIT                                                                          \
    {                                                                                              \
        0, 0, false, {0}, NULL, NULL, 0, NULL, NULL, UINT64_MAX                                    \
    }

/** Totals of an audit. */
typedef struct policy_audit_summary {
    uint64_t entries;         /**< entries read */
    uint64_t sessions;        /**< sessions judged */
    uint64_t sessions_passed; /**< judged sessions without any FAIL or FLAG */
    uint64_t fails, flags;    /**< findings by severity */
} policy_audit_summary;

/** Every rule id the audit knows, with its severity and one line: for --rule checks and docs. */
typedef struct policy_rule_info {
    const char *id;
    policy_severity severity; /**< the usual one; some rules also FLAG early */
    const char *summary;
} policy_rule_info;

/** The @p i-th rule, NULL past the end. */
const policy_rule_info *policy_rule_at(size_t i);
/** The rule with id @p id, or NULL. */
const policy_rule_info *policy_rule_find(const char *id);

/**
 * Audit the entries of @p src. Integrity (CHAIN) is the caller's first step:
 * run ledger_verify() and pass the first untrusted seq in opts->trusted.
 * @return 0, or an error code (with @p why) when the audit could not run.
 */
int policy_audit(const policy_source *src, const policy_audit_opts *opts, policy_finding_fn fn,
                 void *ud, policy_audit_summary *out, char *why, size_t whylen);

/**
 * Verify the ledger, then audit what verified: a failure of verification is
 * itself the first finding (CHAIN; KEY-ROLE when the cause is a signer's
 * role, validity or revocation; TIME-ORDER for a clock rollback), and entries
 * from the first bad one on are not judged. @p opts->trusted is ignored.
 */
int policy_audit_ledger(ledger *l, const policy_audit_opts *opts, policy_finding_fn fn, void *ud,
                        policy_audit_summary *out, char *why, size_t whylen);

/**
 * The same audit over an export file (docs/format.md 5c): the file is verified
 * first with the trusted site key fingerprint @p fpr (a problem is the first
 * finding: CHAIN, KEY-ROLE or TIME-ORDER, and nothing from there on is judged),
 * then its context and entries are audited with corrections applied.
 * @p in must be seekable. @return as policy_audit_ledger(); LEDGER_EIO when the
 * file cannot be read.
 */
int policy_audit_export(FILE *in, const uint8_t fpr[KEYS_FPR_BYTES], const policy_audit_opts *opts,
                        policy_finding_fn fn, void *ud, policy_audit_summary *out, char *why,
                        size_t whylen);

/** A source over a ledger, from seq 0. Free with policy_source_ledger_close(). */
int policy_source_ledger(policy_source *out, ledger *l);
/** The same over entries this snapshot's ledger_verify() just checked (see
 * ledger_snapshot_begin()): they are not hashed again (entry hashes zero). */
int policy_source_ledger_verified(policy_source *out, ledger *l);
void policy_source_ledger_close(policy_source *src);

#ifdef __cplusplus
}
#endif
#endif
