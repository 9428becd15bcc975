/* Sessions as the ledger records them, and the entry-time sequencing checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ident.h"
#include "policy/policy.h"
#include "policy_int.h"

#define MIN_MS 60000

static void text_field(const ledger_entry *e, const char *key, char *buf, size_t cap)
{
    if (ledger_entry_get_text(e, key, buf, cap) != 0)
        buf[0] = '\0';
}

static void bytes_field(const ledger_entry *e, const char *key, uint8_t *out, size_t n)
{
    const uint8_t *p;
    size_t len;
    if (ledger_entry_get_bytes(e, key, &p, &len) == 0 && len == n)
        memcpy(out, p, n);
}

/* Fold one entry of the session into its state. */
static void apply(ledger *l, policy_session *s, const ledger_entry *e)
{
    char phase[16];
    const uint8_t *p;
    size_t n;
    uint64_t mg;
    if (strcmp(e->type, "vitals") == 0) {
        text_field(e, "phase", phase, sizeof(phase));
        if (strcmp(phase, "pre") == 0 &&
            ledger_entry_get_bytes(e, "bp", &p, &n) != LEDGER_ENOTFOUND &&
            (!s->pre_bp || e->event_ms < s->pre_bp_ms)) {
            s->pre_bp = true;
            s->pre_bp_ms = e->event_ms;
        }
    } else if (strcmp(e->type, "dose") == 0 && ledger_entry_get_uint(e, "mg", &mg) == 0) {
        uint64_t infusion = 0;
        mg = policy__quantity(l, e, "mg"); /* as corrected */
        (void)ledger_entry_get_uint(e, "infusion-min", &infusion);
        /* monitoring runs from the end of the dose: an infusion ends later */
        int64_t end = e->event_ms + (int64_t)infusion * 60000;
        s->doses++;
        s->total_mg += mg;
        if (s->doses == 1 || e->event_ms < s->first_dose_ms)
            s->first_dose_ms = e->event_ms;
        if (end > s->last_dose_ms)
            s->last_dose_ms = end;
    } else if (strcmp(e->type, "discharge") == 0 && !s->discharged) {
        s->discharged = true;
        s->discharge_seq = e->seq;
        s->discharge_ms = e->event_ms;
    }
}

int policy_session_load(ledger *l, uint64_t id, policy_session *out, policy_entry_fn fn, void *ud,
                        char *why, size_t whylen)
{
    ledger_iter *it = NULL;
    ledger_entry e;
    uint64_t acts[2] = {UINT64_MAX, UINT64_MAX}; /* the last two acts, for their witnesses */
    int rc;
    memset(out, 0, sizeof(*out));
    if ((rc = ledger_iter_open(&it, l, id)) != 0) {
        policy__errf(why, whylen, "%s", ledger_errmsg(l));
        goto done;
    }
    rc = ledger_iter_next(it, &e);
    if (rc != 0 || e.seq != id || strcmp(e.type, "session.open") != 0) {
        policy__errf(why, whylen, "no session %llu (entry %llu is not a session.open)",
                     (unsigned long long)id, (unsigned long long)id);
        rc = rc < 0 ? rc : POLICY_ENOSESSION;
        goto done;
    }
    out->id = id;
    out->opened_ms = e.event_ms;
    bytes_field(&e, "patient", out->patient, sizeof(out->patient));
    bytes_field(&e, "prescriber", out->prescriber, sizeof(out->prescriber));
    bytes_field(&e, "observer", out->observer, sizeof(out->observer));
    text_field(&e, "drug", out->drug, sizeof(out->drug));
    text_field(&e, "route", out->route, sizeof(out->route));
    text_field(&e, "setting", out->setting, sizeof(out->setting));
    if (ledger_entry_get_uint(&e, "weight-kg", &out->weight_g) != 0)
        out->weight_g = 0;
    out->entries = 1;
    if (fn != NULL && (rc = fn(&e, ud)) != 0)
        goto done;
    while ((rc = ledger_iter_next(it, &e)) == 0) {
        uint64_t sid, ref;
        bool mine = ledger_entry_get_uint(&e, "session", &sid) == 0 && sid == id;
        if (!mine && strcmp(e.type, "witness") == 0 && ledger_entry_get_uint(&e, "ref", &ref) == 0)
            mine = ref == acts[0] || ref == acts[1];
        if (!mine)
            continue;
        if (strcmp(e.type, "witness") != 0) {
            acts[1] = acts[0];
            acts[0] = e.seq;
        }
        apply(l, out, &e);
        out->entries++;
        if (fn != NULL && (rc = fn(&e, ud)) != 0)
            goto done;
    }
    if (rc < 0) {
        policy__errf(why, whylen, "%s", ledger_errmsg(l));
        goto done;
    }
    rc = 0;
done:
    ledger_iter_free(it);
    return rc;
}

/* ---- sequencing checks ---- */

typedef struct enroll_search {
    ledger *l;
    int64_t by_ms;
    bool found;
    int64_t earliest_ms;
} enroll_search;

static int enroll_seen(uint64_t seq, void *ud)
{
    enroll_search *es = ud;
    uint8_t *buf = malloc(LEDGER_MAX_ENTRY_BYTES);
    ledger_entry e;
    uint64_t on;
    if (buf == NULL)
        return 1;
    if (ledger_read_entry(es->l, seq, buf, LEDGER_MAX_ENTRY_BYTES, &e) == 0 &&
        ledger_entry_get_uint(&e, "on", &on) == 0) {
        if (!es->found || (int64_t)on < es->earliest_ms)
            es->earliest_ms = (int64_t)on;
        es->found = true;
    }
    free(buf);
    return 0;
}

int policy_check_session_open(ledger *l, const uint8_t patient[LEDGER_COMMIT_BYTES],
                              const char *drug, const char *setting, int64_t event_ms, char *why,
                              size_t whylen)
{
    enroll_search es = {l, event_ms, false, 0};
    char date[11];
    int rc;
    /* PAT-ENROLL: outpatient esketamine needs the patient's REMS enrollment first. */
    if (strcmp(drug, "esketamine") != 0 || strcmp(setting, "outpatient") != 0)
        return 0;
    if ((rc = ledger_index_each(l, LEDGER_INDEX_PATIENT, patient, LEDGER_COMMIT_BYTES, enroll_seen,
                                &es)) != 0)
        return rc;
    if (!es.found) {
        policy__errf(why, whylen, "patient is not enrolled in the SPRAVATO REMS");
        return POLICY_ESEQUENCE;
    }
    if (es.earliest_ms > event_ms) {
        ledger_date_format(date, es.earliest_ms);
        policy__errf(why, whylen, "patient's REMS enrollment (%s) is after the session date", date);
        return POLICY_ESEQUENCE;
    }
    return 0;
}

int policy_check_open(const policy_session *s, char *why, size_t whylen)
{
    if (s->discharged) {
        policy__errf(why, whylen, "session %llu was discharged at entry %llu",
                     (unsigned long long)s->id, (unsigned long long)s->discharge_seq);
        return POLICY_ECLOSED;
    }
    return 0;
}

int policy_check_dose(const policy_session *s, int64_t event_ms, char *why, size_t whylen)
{
    int rc = policy_check_open(s, why, whylen);
    if (rc != 0)
        return rc;
    if (!s->pre_bp || s->pre_bp_ms > event_ms) {
        policy__errf(why, whylen, "no pre-dose blood pressure recorded for session %llu",
                     (unsigned long long)s->id);
        return POLICY_ESEQUENCE;
    }
    return 0;
}

int policy_check_discharge(const policy_session *s, const policy_profile *p, int64_t event_ms,
                           char *why, size_t whylen)
{
    char at[LEDGER_TIME_TEXT_BYTES];
    int rc = policy_check_open(s, why, whylen);
    if (rc != 0)
        return rc;
    int64_t from = s->doses > 0 ? s->last_dose_ms : s->opened_ms;
    int64_t minutes = (event_ms - from) / MIN_MS;
    if (event_ms < from || minutes < (int64_t)p->monitor_min) {
        ledger_time_format(at, from);
        policy__errf(why, whylen,
                     "monitoring %lld min, below %u min (profile %s) measured from %s at %s",
                     (long long)(event_ms < from ? 0 : minutes), p->monitor_min, p->name,
                     s->doses > 0 ? "the last dose" : "the session's start", at);
        return POLICY_ESEQUENCE;
    }
    return 0;
}
