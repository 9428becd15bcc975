/* The audit pass: one stream over the entries, state that grows with open
 * sessions, patients and lots, and the integrity, key and site rules. The
 * session rules live in audit_session.c, the stock rules in audit_stock.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"
#include "ledger/ident.h"
#include "ledger/records.h"

static const policy_rule_info rules[] = {
    {"CHAIN", POLICY_FAIL, "the hash chain, a signature, or an index does not verify"},
    {"SET-CERT", POLICY_FAIL,
     "esketamine session with no REMS setting certification valid that day"},
    {"SET-DEA", POLICY_FAIL,
     "controlled-substance entry while the DEA registration is expired or lacks Schedule III"},
    {"PAT-ENROLL", POLICY_FAIL,
     "outpatient esketamine session before the patient's REMS enrollment"},
    {"STAFF-PRESCRIBER", POLICY_FAIL, "esketamine session with no prescriber on site"},
    {"KEY-ROLE", POLICY_FAIL,
     "entry signed by a key whose role, validity or revocation forbids it"},
    {"DOSE-UNIT", POLICY_FAIL, "esketamine mg differs from 28 x devices"},
    {"DOSE-ALLOWED", POLICY_FAIL, "esketamine session total not an allowed total (28 mg: FLAG)"},
    {"DOSE-FIRST", POLICY_FAIL, "first esketamine session of a patient above 56 mg"},
    {"DOSE-SPACING", POLICY_FLAG, "less than 5 min between consecutive devices"},
    {"DOSE-IV-RANGE", POLICY_FLAG, "IV ketamine outside the mg/kg range, too fast, or no weight"},
    {"SCHED-FREQ", POLICY_FLAG,
     "more esketamine sessions in 7 days than the treatment phase allows"},
    {"SCHED-GAP", POLICY_FLAG, "two esketamine sessions less than 48 h apart"},
    {"MON-DURATION", POLICY_FAIL,
     "discharge sooner than the minimum monitoring time after the last device"},
    {"MON-OBSERVER", POLICY_FAIL,
     "no observer sign-off, or by someone who may not observe, or too early"},
    {"MON-DISCHARGE", POLICY_FAIL,
     "discharge without attesting sedation, dissociation and respiration resolved"},
    {"MON-TRANSPORT", POLICY_FLAG, "discharge without attesting transport arranged"},
    {"VIT-BP", POLICY_FAIL,
     "a blood pressure missing before dosing, at about 40 min, or before discharge"},
    {"VIT-BP-HIGH", POLICY_FLAG,
     "pre-dose blood pressure above the limit without a clinician note"},
    {"VIT-SPO2", POLICY_FAIL, "esketamine session with no pulse-oximetry reading"},
    {"REMS-PMF", POLICY_FLAG, "patient monitoring form not recorded as submitted within 7 days"},
    {"WASTE-WITNESS", POLICY_FAIL, "waste without a licensed witness other than the actor"},
    {"STOCK-BALANCE", POLICY_FAIL, "a physical count differs from the ledger's balance"},
    {"STOCK-NEGATIVE", POLICY_FAIL, "a dose or waste from an NDC+lot with no stock on hand"},
    {"STOCK-EXPIRED", POLICY_FLAG, "a dose from a lot past its expiry date"},
    {"INV-BIENNIAL", POLICY_FAIL, "no complete inventory within 24 months (FLAG from 21)"},
    {"LOSS-REPORT", POLICY_FAIL,
     "a theft or loss without DEA notice in 1 business day or Form 106 in 45 days"},
    {"TIME-ORDER", POLICY_FAIL, "a recorded time earlier than its predecessor's"},
    {"TIME-LATE", POLICY_FLAG, "an entry recorded more than 24 h after its event"},
    {"TIME-FUTURE", POLICY_FAIL, "an event time later than its recorded time plus 5 min"},
    {"OVERRIDE", POLICY_FLAG, "a sequencing check overridden at entry time, with its reason"},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

const policy_rule_info *policy_rule_at(size_t i)
{
    return i < NRULES ? &rules[i] : NULL;
}

const policy_rule_info *policy_rule_find(const char *id)
{
    for (size_t i = 0; id != NULL && i < NRULES; i++)
        if (strcmp(rules[i].id, id) == 0)
            return &rules[i];
    return NULL;
}

/* ---- helpers shared by the rule files ---- */

void *audit__push(void *vec_v, size_t *n, size_t *cap, size_t elem)
{
    void **vec = vec_v;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *nv = realloc(*vec, ncap * elem);
        if (nv == NULL)
            return NULL;
        *vec = nv;
        *cap = ncap;
    }
    void *p = (char *)*vec + *n * elem;
    memset(p, 0, elem);
    (*n)++;
    return p;
}

bool audit__in_window(const audit *a, int64_t ms)
{
    return (a->o->from_ms == 0 || ms >= a->o->from_ms) && (a->o->to_ms == 0 || ms < a->o->to_ms);
}

void audit__hm(char out[24], int64_t ms)
{
    char t[LEDGER_TIME_TEXT_BYTES];
    ledger_time_format(t, ms);
    /* "2026-11-22T14:12:00.000Z" -> "2026-11-22 14:12Z" */
    (void)snprintf(out, 24, "%.10s %.5sZ", t, t + 11);
}

static int u64cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

void audit__emit(audit *a, const char *rule, policy_severity sev, asession *s, const char *ndc,
                 const char *lot, const uint64_t *ev, size_t nev, int64_t when, const char *fmt,
                 ...)
{
    policy_finding f;
    va_list ap;
    if (a->stop != 0)
        return;
    /* Filters: rule, patient (session findings only), time window. */
    if (a->o->rule != NULL && strcmp(a->o->rule, rule) != 0)
        return;
    if (a->o->has_patient && (s == NULL || !s->selected))
        return;
    if (s != NULL ? !s->selected : !audit__in_window(a, when))
        return;
    memset(&f, 0, sizeof(f));
    (void)snprintf(f.rule, sizeof(f.rule), "%s", rule);
    f.severity = sev;
    if (s != NULL) {
        f.has_session = true;
        f.session = s->id;
        s->findings++;
    }
    if (ndc != NULL)
        (void)snprintf(f.ndc, sizeof(f.ndc), "%s", ndc);
    if (lot != NULL)
        (void)snprintf(f.lot, sizeof(f.lot), "%s", lot);
    for (size_t i = 0; i < nev && f.nevidence < POLICY_EVIDENCE_MAX; i++) {
        bool dup = false;
        for (size_t j = 0; j < f.nevidence; j++)
            dup |= f.evidence[j] == ev[i];
        if (!dup)
            f.evidence[f.nevidence++] = ev[i];
    }
    qsort(f.evidence, f.nevidence, sizeof(f.evidence[0]), u64cmp);
    f.when_ms = when;
    va_start(ap, fmt);
    (void)vsnprintf(f.message, sizeof(f.message), fmt, ap);
    va_end(ap);
    if (sev == POLICY_FAIL)
        a->sum->fails++;
    else
        a->sum->flags++;
    if (a->fn(&f, a->ud) != 0)
        a->stop = 1;
}

akey *audit__key(audit *a, const uint8_t kid[KEYS_KID_BYTES])
{
    for (size_t i = 0; i < a->keys.n; i++)
        if (memcmp(a->keys.v[i].kid, kid, KEYS_KID_BYTES) == 0)
            return &a->keys.v[i];
    return NULL;
}

/* Patients by commitment: an open-addressing table of positions in
 * a->patients (0: empty, else position + 1), probed from the commitment's
 * first 8 bytes (a hash already), kept at most half full. */
static uint64_t probe_start(const uint8_t commit[LEDGER_COMMIT_BYTES], size_t mask)
{
    uint64_t h;
    memcpy(&h, commit, sizeof(h));
    return h & mask;
}

static int patient_table_grow(audit *a)
{
    size_t cap = a->ptab_cap ? a->ptab_cap * 2 : 1024;
    uint32_t *t = calloc(cap, sizeof(*t));
    if (t == NULL)
        return LEDGER_ENOMEM;
    for (size_t i = 0; i < a->patients.n; i++) {
        size_t j = probe_start(a->patients.v[i].commit, cap - 1);
        while (t[j] != 0)
            j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)(i + 1);
    }
    free(a->ptab);
    a->ptab = t;
    a->ptab_cap = cap;
    return 0;
}

apatient *audit__patient(audit *a, const uint8_t commit[LEDGER_COMMIT_BYTES], bool create)
{
    size_t j = 0;
    if (a->ptab_cap != 0) {
        for (j = probe_start(commit, a->ptab_cap - 1); a->ptab[j] != 0;
             j = (j + 1) & (a->ptab_cap - 1)) {
            apatient *p = &a->patients.v[a->ptab[j] - 1];
            if (memcmp(p->commit, commit, LEDGER_COMMIT_BYTES) == 0)
                return p;
        }
    }
    if (!create || a->patients.n >= UINT32_MAX - 1)
        return NULL;
    if (2 * (a->patients.n + 1) > a->ptab_cap) {
        if (patient_table_grow(a) != 0)
            return NULL;
        j = probe_start(commit, a->ptab_cap - 1);
        while (a->ptab[j] != 0)
            j = (j + 1) & (a->ptab_cap - 1);
    }
    apatient *v = AUDIT_PUSH(a, a->patients);
    if (v == NULL)
        return NULL;
    memset(v, 0, sizeof(*v));
    memcpy(v->commit, commit, LEDGER_COMMIT_BYTES);
    a->ptab[j] = (uint32_t)a->patients.n;
    return v;
}

const policy_profile *audit__profile(audit *a, const char *drug, int64_t ms)
{
    const policy_profile *best = NULL;
    int64_t best_eff = INT64_MIN;
    if (a->o->what_if != NULL)
        return a->o->what_if;
    for (size_t i = 0; i < a->adopted.n; i++) {
        const aprofile *ap = &a->adopted.v[i];
        if (strcmp(ap->p.drug, drug) == 0 && ap->effective_ms <= ms &&
            ap->effective_ms >= best_eff) {
            best = &ap->p;
            best_eff = ap->effective_ms;
        }
    }
    if (best != NULL)
        return best;
    return strcmp(drug, "esketamine") == 0 ? &a->shipped_esk : &a->shipped_ket;
}

/* ---- per-entry helpers ---- */

static void text_of(const ledger_entry *e, const char *k, char *buf, size_t cap)
{
    if (ledger_entry_get_text(e, k, buf, cap) != 0)
        buf[0] = '\0';
}

static uint64_t uint_of(const ledger_entry *e, const char *k)
{
    uint64_t v = 0;
    (void)ledger_entry_get_uint(e, k, &v);
    return v;
}

static bool bytes_of(const ledger_entry *e, const char *k, uint8_t *out, size_t n)
{
    const uint8_t *p;
    size_t len;
    if (ledger_entry_get_bytes(e, k, &p, &len) != 0 || len != n)
        return false;
    memcpy(out, p, n);
    return true;
}

static bool flag_of(const ledger_entry *e, const char *k)
{
    bool b = false;
    return ledger_entry_get_bool(e, k, &b) == 0 && b;
}

static asession *open_session(audit *a, uint64_t id)
{
    for (size_t i = 0; i < a->sessions.n; i++)
        if (a->sessions.v[i].id == id)
            return &a->sessions.v[i];
    return NULL;
}

static void close_session(audit *a, asession *s)
{
    audit__session_judge(a, s);
    a->sum->sessions += s->selected ? 1 : 0;
    a->sum->sessions_passed += s->selected && s->findings == 0 ? 1 : 0;
    size_t i = (size_t)(s - a->sessions.v);
    memmove(&a->sessions.v[i], &a->sessions.v[i + 1], (a->sessions.n - i - 1) * sizeof(*s));
    a->sessions.n--;
}

/* KEY-ROLE: the signer's state at this point (verify refuses these too; an
 * export or a partially trusted ledger still gets them named). */
static void check_signer(audit *a, const ledger_entry *e)
{
    const ledger_rtype *rt = ledger_rtype_find(e->type);
    akey *k = audit__key(a, e->kid);
    if (e->seq == 0 || rt == NULL)
        return;
    if (k == NULL)
        audit__emit(a, "KEY-ROLE", POLICY_FAIL, NULL, NULL, NULL, &e->seq, 1, e->event_ms,
                    "entry %llu (%s) is signed by a key that was never enrolled",
                    (unsigned long long)e->seq, e->type);
    else if (k->revoked && k->revoked_seq < e->seq)
        audit__emit(a, "KEY-ROLE", POLICY_FAIL, NULL, NULL, NULL,
                    (uint64_t[]){e->seq, k->revoked_seq}, 2, e->event_ms,
                    "entry %llu (%s) is signed by %s after the key was revoked",
                    (unsigned long long)e->seq, e->type, k->name);
    else if (e->recorded_ms < k->from_ms || (k->until_ms != 0 && e->recorded_ms >= k->until_ms))
        audit__emit(a, "KEY-ROLE", POLICY_FAIL, NULL, NULL, NULL, &e->seq, 1, e->event_ms,
                    "entry %llu (%s) is signed by %s outside the key's validity",
                    (unsigned long long)e->seq, e->type, k->name);
    else if (!ledger_rtype_allows(rt, k->role))
        audit__emit(a, "KEY-ROLE", POLICY_FAIL, NULL, NULL, NULL, &e->seq, 1, e->event_ms,
                    "entry %llu (%s) is signed by %s, enrolled as %s, who may not sign it",
                    (unsigned long long)e->seq, e->type, k->name, ledger_role_name(k->role));
}

/* SET-DEA: controlled-substance handling needs a current Schedule III registration. */
static void check_dea(audit *a, const ledger_entry *e)
{
    const areg *cur = NULL;
    char day[11];
    /* The registration on record at this point of the chain (the latest recorded). */
    for (size_t i = 0; i < a->regs.n; i++)
        if (cur == NULL || a->regs.v[i].seq > cur->seq)
            cur = &a->regs.v[i];
    ledger_date_format(day, e->event_ms);
    if (cur == NULL)
        audit__emit(a, "SET-DEA", POLICY_FAIL, NULL, NULL, NULL, &e->seq, 1, e->event_ms,
                    "%s on %s with no DEA registration recorded", e->type, day);
    else if (cur->expires_ms < e->event_ms - DAY_MS + 1)
        audit__emit(a, "SET-DEA", POLICY_FAIL, NULL, NULL, NULL, (uint64_t[]){e->seq, cur->seq}, 2,
                    e->event_ms, "%s on %s after the DEA registration expired", e->type, day);
    else if (!cur->sched3)
        audit__emit(a, "SET-DEA", POLICY_FAIL, NULL, NULL, NULL, (uint64_t[]){e->seq, cur->seq}, 2,
                    e->event_ms, "%s on %s: the DEA registration lacks Schedule III", e->type, day);
}

static void timing(audit *a, const ledger_entry *e, int64_t *prev_rt, uint64_t *prev_seq)
{
    const policy_profile *p = audit__profile(a, "esketamine", e->event_ms);
    char et[24], rt[24];
    if (e->seq > 0 && e->recorded_ms < *prev_rt)
        audit__emit(a, "TIME-ORDER", POLICY_FAIL, NULL, NULL, NULL, (uint64_t[]){*prev_seq, e->seq},
                    2, e->event_ms,
                    "entry %llu was recorded before entry %llu: the clock went back",
                    (unsigned long long)e->seq, (unsigned long long)*prev_seq);
    *prev_rt = e->recorded_ms;
    *prev_seq = e->seq;
    bool future = e->event_ms > e->recorded_ms + (int64_t)p->future_tolerance_min * MIN_MS;
    bool late = !future && e->recorded_ms - e->event_ms > (int64_t)p->late_hours * HOUR_MS;
    if (!future && !late)
        return;
    audit__hm(et, e->event_ms);
    audit__hm(rt, e->recorded_ms);
    if (future)
        audit__emit(a, "TIME-FUTURE", POLICY_FAIL, NULL, NULL, NULL, &e->seq, 1, e->event_ms,
                    "entry %llu (%s) claims an event at %s, after it was recorded at %s",
                    (unsigned long long)e->seq, e->type, et, rt);
    else
        audit__emit(a, "TIME-LATE", POLICY_FLAG, NULL, NULL, NULL, &e->seq, 1, e->event_ms,
                    "entry %llu (%s) was recorded %lld h after its event (%s)",
                    (unsigned long long)e->seq, e->type,
                    (long long)((e->recorded_ms - e->event_ms) / HOUR_MS), et);
}

static bool controlled(const char *type)
{
    return strcmp(type, "stock.receive") == 0 || strcmp(type, "dose") == 0 ||
           strcmp(type, "waste") == 0 || strcmp(type, "stock.destroy") == 0 ||
           strcmp(type, "stock.count") == 0;
}

static void on_session_open(audit *a, const ledger_entry *e)
{
    asession *s = AUDIT_PUSH(a, a->sessions);
    if (s == NULL) {
        a->stop = LEDGER_ENOMEM;
        return;
    }
    s->id = e->seq;
    s->open_ms = e->event_ms;
    memcpy(s->opener, e->kid, KEYS_KID_BYTES);
    (void)bytes_of(e, "patient", s->patient, sizeof(s->patient));
    (void)bytes_of(e, "prescriber", s->prescriber, sizeof(s->prescriber));
    (void)bytes_of(e, "observer", s->observer, sizeof(s->observer));
    text_of(e, "drug", s->drug, sizeof(s->drug));
    text_of(e, "route", s->route, sizeof(s->route));
    text_of(e, "setting", s->setting, sizeof(s->setting));
    s->weight_g = uint_of(e, "weight-kg");
    s->profile = audit__profile(a, s->drug, s->open_ms);
    s->selected =
        audit__in_window(a, s->open_ms) &&
        (!a->o->has_patient || memcmp(a->o->patient, s->patient, LEDGER_COMMIT_BYTES) == 0);
}

static void on_session_step(audit *a, const ledger_entry *e)
{
    uint64_t sid;
    if (ledger_entry_get_uint(e, "session", &sid) != 0)
        return;
    asession *s = open_session(a, sid);
    if (s == NULL)
        return; /* closed or unknown: the entry-time checks refuse these */
    if (strcmp(e->type, "vitals") == 0 && s->nvitals < AUDIT_VITALS_MAX) {
        avital *v = &s->vitals[s->nvitals++];
        const uint8_t *p;
        size_t n;
        v->seq = e->seq;
        v->ms = e->event_ms;
        text_of(e, "phase", v->phase, sizeof(v->phase));
        v->has_spo2 = ledger_entry_get_uint(e, "spo2", &(uint64_t){0}) == 0;
        v->has_note = ledger_entry_get_bytes(e, "note", &p, &n) != LEDGER_ENOTFOUND;
        uint64_t sys, dia;
        if (ledger_entry_get_uint_pair(e, "bp", &sys, &dia) == 0 && sys <= UINT32_MAX &&
            dia <= UINT32_MAX) {
            v->has_bp = true;
            v->sys = (uint32_t)sys;
            v->dia = (uint32_t)dia;
        }
    } else if (strcmp(e->type, "dose") == 0) {
        if (s->ndoses == AUDIT_DOSES_MAX) {
            s->doses_overflow = true;
            return;
        }
        adose *d = &s->doses[s->ndoses++];
        d->seq = e->seq;
        d->ms = e->event_ms;
        d->mg = audit__qty(a, e, "mg");
        d->device = uint_of(e, "device");
        d->ml_ul = uint_of(e, "ml");
        d->conc_ug_ml = uint_of(e, "concentration");
        d->infusion_min = uint_of(e, "infusion-min");
        text_of(e, "ndc", d->ndc, sizeof(d->ndc));
        text_of(e, "lot", d->lot, sizeof(d->lot));
    } else if (strcmp(e->type, "discharge") == 0) {
        s->discharged = true;
        s->discharge_seq = e->seq;
        s->discharge_ms = e->event_ms;
        memcpy(s->discharge_kid, e->kid, KEYS_KID_BYTES);
        s->sedation = flag_of(e, "sedation-resolved");
        s->dissociation = flag_of(e, "dissociation-resolved");
        s->respiration = flag_of(e, "respiration-stable");
        s->transport = flag_of(e, "transport-arranged");
        close_session(a, s);
    }
}

static void on_entry(audit *a, const ledger_entry *e)
{
    char text[LEDGER_REASON_MAX + 1];
    if (strcmp(e->type, "genesis") == 0 || strcmp(e->type, "key.enroll") == 0) {
        akey *k = AUDIT_PUSH(a, a->keys);
        uint8_t pub[KEYS_PUB_BYTES];
        if (k == NULL) {
            a->stop = LEDGER_ENOMEM;
            return;
        }
        bool genesis = e->seq == 0;
        (void)bytes_of(e, genesis ? "site_pub" : "pub", pub, sizeof(pub));
        keys_kid(k->kid, pub);
        text_of(e, genesis ? "site_name" : "name", k->name, sizeof(k->name));
        text_of(e, "role", text, sizeof(text));
        k->role = genesis ? LEDGER_ROLE_SITE : ledger_role_parse(text);
        k->from_ms = genesis ? e->recorded_ms : (int64_t)uint_of(e, "valid_from");
        k->until_ms = (int64_t)uint_of(e, "valid_until");
        return;
    }
    if (strcmp(e->type, "key.revoke") == 0) {
        uint8_t kid[KEYS_KID_BYTES];
        akey *k = bytes_of(e, "kid", kid, sizeof(kid)) ? audit__key(a, kid) : NULL;
        if (k != NULL && !k->revoked) {
            k->revoked = true;
            k->revoked_seq = e->seq;
        }
        return;
    }
    if (strcmp(e->type, "registration") == 0) {
        areg *r = AUDIT_PUSH(a, a->regs);
        char sched[64];
        if (r == NULL)
            return;
        r->seq = e->seq;
        r->from_ms = e->event_ms;
        r->expires_ms = (int64_t)uint_of(e, "expires");
        ledger_entry_format_body(e, sched, sizeof(sched));
        const char *sp = strstr(sched, "schedules: [");
        /* ketamine and esketamine are Schedule III non-narcotic: 3 or 3N */
        r->sched3 = sp != NULL && (strstr(sp, "\"3\"") != NULL || strstr(sp, "\"3N\"") != NULL);
        return;
    }
    if (strcmp(e->type, "setting.certify") == 0) {
        acert *c = AUDIT_PUSH(a, a->certs);
        if (c == NULL)
            return;
        c->seq = e->seq;
        text_of(e, "kind", c->kind, sizeof(c->kind));
        c->from_ms = (int64_t)uint_of(e, "from");
        c->until_ms = (int64_t)uint_of(e, "until");
        return;
    }
    if (strcmp(e->type, "policy.adopt") == 0) {
        char why[POLICY_WHY_MAX], name[POLICY_NAME_MAX + 1];
        static char body[LEDGER_TEXT_MAX + 1];
        aprofile ap;
        text_of(e, "name", name, sizeof(name));
        text_of(e, "text", body, sizeof(body));
        if (policy_profile_parse(&ap.p, body, strlen(body), name, why, sizeof(why)) == 0) {
            aprofile *slot = AUDIT_PUSH(a, a->adopted);
            if (slot != NULL) {
                *slot = ap;
                slot->effective_ms = (int64_t)uint_of(e, "effective");
                slot->seq = e->seq;
            }
        }
        return;
    }
    if (strcmp(e->type, "patient.enroll") == 0) {
        uint8_t commit[LEDGER_COMMIT_BYTES];
        apatient *p =
            bytes_of(e, "patient", commit, sizeof(commit)) ? audit__patient(a, commit, true) : NULL;
        int64_t on = (int64_t)uint_of(e, "on");
        if (p != NULL && (p->enrolled_ms == 0 || on < p->enrolled_ms)) {
            p->enrolled_ms = on;
            p->enroll_seq = e->seq;
        }
        return;
    }
    if (strcmp(e->type, "session.open") == 0) {
        on_session_open(a, e);
        return;
    }
    if (strcmp(e->type, "pmf") == 0) {
        audit__pmf_seen(a, uint_of(e, "session"), e->seq, (int64_t)uint_of(e, "submitted"));
        return;
    }
    if (strcmp(e->type, "vitals") == 0 || strcmp(e->type, "dose") == 0 ||
        strcmp(e->type, "discharge") == 0)
        on_session_step(a, e);
}

static void note_override(audit *a, const ledger_entry *e)
{
    char reason[LEDGER_REASON_MAX + 1];
    uint64_t sid = 0;
    if (ledger_entry_get_text(e, "override", reason, sizeof(reason)) != 0)
        return;
    asession *s = ledger_entry_get_uint(e, "session", &sid) == 0 ? open_session(a, sid)
                  : strcmp(e->type, "session.open") == 0         ? open_session(a, e->seq)
                                                                 : NULL;
    audit__emit(a, "OVERRIDE", POLICY_FLAG, s, NULL, NULL, &e->seq, 1, e->event_ms,
                "%s recorded over a sequencing check by %s: \"%s\"", e->type, e->name, reason);
}

int policy_audit(const policy_source *src, const policy_audit_opts *opts, policy_finding_fn fn,
                 void *ud, policy_audit_summary *out, char *why, size_t whylen)
{
    audit a;
    ledger_entry e;
    int64_t prev_rt = 0;
    uint64_t prev_seq = 0;
    int rc;
    memset(&a, 0, sizeof(a));
    memset(out, 0, sizeof(*out));
    a.o = opts;
    a.fn = fn;
    a.ud = ud;
    a.sum = out;
    a.l = src->l;
    a.src = src;
    if ((rc = policy_profile_for_drug(&a.shipped_esk, "esketamine", why, whylen)) != 0 ||
        (rc = policy_profile_for_drug(&a.shipped_ket, "ketamine", why, whylen)) != 0)
        goto done;
    while (a.stop == 0 && (rc = src->next(src->ud, &e)) <= 0) {
        if (e.seq >= opts->trusted) {
            rc = 1; /* the chain is broken here: nothing after it is read or judged */
            break;
        }
        if (rc < 0)
            break;
        out->entries++;
        if (e.event_ms > a.last_ms)
            a.last_ms = e.event_ms;
        timing(&a, &e, &prev_rt, &prev_seq);
        check_signer(&a, &e);
        if (controlled(e.type))
            check_dea(&a, &e);
        /* An override belongs to its session: note it while the session is open. */
        bool opens = strcmp(e.type, "session.open") == 0;
        if (!opens)
            note_override(&a, &e);
        audit__stock_entry(&a, &e); /* before a discharge can close the session */
        on_entry(&a, &e);
        if (opens)
            note_override(&a, &e);
        if (opts->progress != NULL && out->entries % 4096 == 0)
            opts->progress(out->entries, 0, opts->progress_ud);
    }
    if (rc < 0) {
        (void)snprintf(why, whylen, "cannot read entries");
        goto done;
    }
    rc = a.stop < 0 ? a.stop : 0;
    /* Sessions never discharged are judged as they stand (MON-OBSERVER). */
    while (a.stop == 0 && a.sessions.n > 0)
        close_session(&a, &a.sessions.v[0]);
    audit__pmf_end(&a);
    audit__stock_end(&a);
    if (rc == 0 && a.stop < 0)
        rc = a.stop;
done:
    audit__stock_free(&a);
    free(a.keys.v);
    free(a.patients.v);
    free(a.ptab);
    free(a.sessions.v);
    free(a.lots.v);
    free(a.losses.v);
    free(a.regs.v);
    free(a.certs.v);
    free(a.adopted.v);
    free(a.pmf_due.v);
    return rc;
}

/* ---- a source over a ledger ---- */

static int ledger_next(void *ud, ledger_entry *out)
{
    int rc = ledger_iter_next(ud, out);
    return rc;
}

static int source_open(policy_source *out, ledger *l, unsigned flags)
{
    ledger_iter *it = NULL;
    int rc = ledger_iter_open_flags(&it, l, 0, flags);
    memset(out, 0, sizeof(*out));
    if (rc != 0)
        return rc;
    out->next = ledger_next;
    out->ud = it;
    out->l = l;
    return 0;
}

int policy_source_ledger(policy_source *out, ledger *l)
{
    return source_open(out, l, 0);
}

int policy_source_ledger_verified(policy_source *out, ledger *l)
{
    return source_open(out, l, LEDGER_ITER_NO_HASH);
}

void policy_source_ledger_close(policy_source *src)
{
    if (src != NULL && src->ud != NULL)
        ledger_iter_free(src->ud);
}

int policy__broken_chain(uint64_t bad_seq, const char *reason, int cause, policy_finding_fn fn,
                         void *ud)
{
    policy_finding f;
    /* Integrity first: nothing from the first bad entry on is trusted or judged. */
    const char *rule = cause == LEDGER_EROLE || cause == LEDGER_EREVOKED ||
                               cause == LEDGER_ENOTVALID || cause == LEDGER_ESIGNER
                           ? "KEY-ROLE"
                       : cause == LEDGER_ECLOCK ? "TIME-ORDER"
                                                : "CHAIN";
    memset(&f, 0, sizeof(f));
    (void)snprintf(f.rule, sizeof(f.rule), "%s", rule);
    f.severity = POLICY_FAIL;
    f.evidence[0] = bad_seq;
    f.nevidence = 1;
    (void)snprintf(f.message, sizeof(f.message),
                   "entry %llu: %.200s; entries from %llu on are not trusted and were not audited",
                   (unsigned long long)bad_seq, reason, (unsigned long long)bad_seq);
    /* Reported whatever --rule says: every other finding rests on it. */
    return fn(&f, ud);
}

int policy_audit_ledger(ledger *l, const policy_audit_opts *opts, policy_finding_fn fn, void *ud,
                        policy_audit_summary *out, char *why, size_t whylen)
{
    ledger_verify_result vr;
    policy_audit_opts o = *opts;
    policy_source src;
    bool broken = false;
    memset(out, 0, sizeof(*out));
    /* one snapshot: the audit judges exactly the entries verify checked */
    int rc = ledger_snapshot_begin(l);
    if (rc != 0) {
        (void)snprintf(why, whylen, "cannot read the ledger: %s", ledger_errmsg(l));
        return rc;
    }
    rc = ledger_verify(l, 0, o.progress, o.progress_ud, &vr);
    if (rc != 0 && rc != LEDGER_EVERIFY) {
        (void)snprintf(why, whylen, "cannot verify: %s", ledger_errmsg(l));
        goto done;
    }
    if (rc == LEDGER_EVERIFY) {
        broken = true;
        if (policy__broken_chain(vr.bad_seq, vr.reason, vr.cause, fn, ud) != 0) {
            rc = 0;
            goto done;
        }
        o.trusted = vr.bad_seq;
    }
    if ((rc = policy_source_ledger_verified(&src, l)) != 0) {
        (void)snprintf(why, whylen, "cannot read the ledger: %s", ledger_errmsg(l));
        goto done;
    }
    rc = policy_audit(&src, &o, fn, ud, out, why, whylen);
    policy_source_ledger_close(&src);
    if (broken)
        out->fails++;
done:
    ledger_snapshot_end(l);
    return rc;
}
