/* The audit engine's state, shared by audit.c (the pass and the integrity,
 * key and site rules), audit_session.c (session rules) and audit_stock.c
 * (stock, inventory and loss rules). */
#ifndef POLICY_AUDIT_INT_H
#define POLICY_AUDIT_INT_H

#include "ledger/patients.h"
#include "policy/audit.h"
#include "policy_int.h"

#define AUDIT_DOSES_MAX  16
#define AUDIT_VITALS_MAX 24
#define AUDIT_RECENT_MAX 16 /* per patient: recent esketamine sessions for the schedule */
#define MIN_MS           INT64_C(60000)
#define HOUR_MS          (60 * MIN_MS)
#define DAY_MS           (24 * HOUR_MS)

typedef struct adose {
    uint64_t seq;
    int64_t ms;
    uint64_t mg, device, ml_ul, conc_ug_ml, infusion_min;
    char ndc[16], lot[65];
} adose;

typedef struct avital {
    uint64_t seq;
    int64_t ms;
    char phase[12];
    bool has_bp, has_spo2, has_note;
    uint32_t sys, dia;
} avital;

typedef struct asession {
    uint64_t id;
    int64_t open_ms; /* event time of session.open */
    uint8_t patient[LEDGER_COMMIT_BYTES];
    char drug[16], route[16], setting[16];
    uint8_t opener[KEYS_KID_BYTES], prescriber[KEYS_KID_BYTES], observer[KEYS_KID_BYTES];
    uint64_t weight_g;
    adose doses[AUDIT_DOSES_MAX];
    size_t ndoses;
    bool doses_overflow;
    avital vitals[AUDIT_VITALS_MAX];
    size_t nvitals;
    bool discharged;
    uint64_t discharge_seq;
    int64_t discharge_ms;
    uint8_t discharge_kid[KEYS_KID_BYTES];
    bool sedation, dissociation, respiration, transport;
    const policy_profile *profile; /* in force on the session's date */
    bool selected;                 /* inside the caller's filters */
    uint32_t findings;             /* made against it so far */
} asession;

typedef struct akey {
    uint8_t kid[KEYS_KID_BYTES];
    ledger_role role;
    char name[LEDGER_NAME_MAX + 1];
    int64_t from_ms, until_ms;
    bool revoked;
    uint64_t revoked_seq;
} akey;

typedef struct apatient {
    uint8_t commit[LEDGER_COMMIT_BYTES];
    int64_t enrolled_ms; /* earliest REMS enrollment date; 0: none */
    uint64_t enroll_seq;
    uint32_t esk_sessions; /* esketamine sessions so far */
    int64_t first_esk_ms;
    int64_t recent_ms[AUDIT_RECENT_MAX]; /* newest last */
    uint64_t recent_seq[AUDIT_RECENT_MAX];
    size_t nrecent;
} apatient;

typedef struct alot {
    char ndc[16], lot[65];
    uint64_t unit_mg;
    int64_t expires_ms;
    bool received;
    int64_t on_hand_mg; /* running balance */
    uint64_t last_seq;  /* last entry that moved it */
} alot;

typedef struct aloss {
    uint64_t seq;
    int64_t discovered_ms;
    char ndc[16], lot[65];
    bool notified, filed;
    int64_t notified_ms, filed_ms;
    uint64_t report_seq;
} aloss;

typedef struct areg {
    uint64_t seq;
    int64_t from_ms, expires_ms;
    bool sched3;
} areg;

typedef struct acert {
    uint64_t seq;
    char kind[16];
    int64_t from_ms, until_ms; /* until 0: open */
} acert;

typedef struct aprofile {
    int64_t effective_ms;
    uint64_t seq;
    policy_profile p;
} aprofile;

typedef struct apmf {
    uint64_t session, open_seq;
    int64_t session_ms;
    bool selected;
} apmf;

/* A growable array of T. */
#define AVEC(T)                                                                                    \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }

struct audit_pending; /* audit_stock.c: acts awaiting their witnesses */

typedef struct audit {
    const policy_audit_opts *o;
    policy_finding_fn fn;
    void *ud;
    policy_audit_summary *sum;
    ledger *l; /* for corrections, may be NULL */
    const policy_source *src;
    int stop; /* non-zero: the callback asked to stop, or an error */
    policy_profile shipped_esk, shipped_ket;
    AVEC(akey) keys;
    AVEC(apatient) patients; /* in order of first sight; found through ptab */
    uint32_t *ptab;          /* see audit__patient */
    size_t ptab_cap;
    AVEC(asession) sessions; /* open (not yet discharged) */
    AVEC(alot) lots;         /* sorted by ndc, lot */
    AVEC(aloss) losses;
    AVEC(areg) regs;
    AVEC(acert) certs;
    AVEC(aprofile) adopted;
    AVEC(apmf) pmf_due;
    bool any_complete_inventory;
    int64_t last_complete_ms;
    uint64_t last_complete_seq;
    int64_t first_stock_ms; /* first controlled-substance handling; 0: none */
    uint64_t first_stock_seq;
    int64_t last_ms; /* latest event time seen */
    struct audit_pending *pending;
} audit;

/* Grow @p vec by one zeroed element; NULL when out of memory. */
void *audit__push(void *vec_v, size_t *n, size_t *cap, size_t elem);
#define AUDIT_PUSH(a, vec) audit__push(&(vec).v, &(vec).n, &(vec).cap, sizeof(*(vec).v))

/* Emit a finding, unless the caller's filters exclude it. @p s may be NULL. */
void audit__emit(audit *a, const char *rule, policy_severity sev, asession *s, const char *ndc,
                 const char *lot, const uint64_t *ev, size_t nev, int64_t when, const char *fmt,
                 ...) __attribute__((format(printf, 10, 11)));

/* Whether event time @p ms is inside the caller's --from/--to window. */
bool audit__in_window(const audit *a, int64_t ms);
akey *audit__key(audit *a, const uint8_t kid[KEYS_KID_BYTES]);
apatient *audit__patient(audit *a, const uint8_t commit[LEDGER_COMMIT_BYTES], bool create);
const policy_profile *audit__profile(audit *a, const char *drug, int64_t ms);
/* "2026-11-22 14:12Z" */
void audit__hm(char out[24], int64_t ms);

/* audit_session.c: judge a session once it is discharged or the stream ends. */
void audit__session_judge(audit *a, asession *s);
/* audit_session.c: a pmf entry arrived, or the stream ended (REMS-PMF). */
void audit__pmf_seen(audit *a, uint64_t session, uint64_t seq, int64_t submitted_ms);
void audit__pmf_end(audit *a);

/* audit_stock.c: stock-moving and loss entries as they come, and the end. */
void audit__stock_entry(audit *a, const ledger_entry *e);
void audit__stock_end(audit *a);
void audit__stock_free(audit *a);

/* Report a broken chain (verify or verify-export) as the first finding. */
int policy__broken_chain(uint64_t bad_seq, const char *reason, int cause, policy_finding_fn fn,
                         void *ud);

/* A quantity as corrected by amendments (ledger or source hook). */
uint64_t audit__qty(audit *a, const ledger_entry *e, const char *key);

#endif
