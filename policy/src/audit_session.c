/* Session rules (DOMAIN.md "Audit rules": setting and people, dose, schedule,
 * monitoring and sign-off, vitals, REMS-PMF). A session is judged once, when
 * it is discharged or when the stream ends. Every threshold comes from the
 * session's profile, where 0 means "not applied".
 *
 * A session without any dose was opened but nothing was administered: only the
 * rules about the session itself (SET-CERT, PAT-ENROLL, STAFF-PRESCRIBER) and
 * the sign-off (MON-OBSERVER, MON-DISCHARGE, MON-TRANSPORT) apply to it; it
 * does not count as a treatment session for DOSE-FIRST or the schedule, and
 * needs no monitoring form. */
#include <stdio.h>
#include <string.h>

#include "audit_int.h"
#include "ledger/ident.h"
#include "ledger/records.h"

#define WEEK_MS        (7 * DAY_MS)
#define RECENT_KEEP_MS (8 * WEEK_MS) /* schedule history kept per patient */

/* What the rules need to know about a session, worked out once. */
typedef struct facts {
    bool esk, ket, outpatient;
    const char *unit;                  /* "device" (esketamine) or "dose" */
    const adose *ord[AUDIT_DOSES_MAX]; /* doses by event time, then seq */
    size_t n;                          /* doses */
    const adose *first, *last;         /* NULL without doses */
    uint64_t total_mg;
    char day[11]; /* session date */
    char first_hm[24], last_hm[24], discharge_hm[24];
} facts;

/* Evidence lists: the session's open entry first, then what the rule names. */
typedef struct evl {
    uint64_t v[POLICY_EVIDENCE_MAX];
    size_t n;
} evl;

static void ev_add(evl *e, uint64_t seq)
{
    if (e->n < POLICY_EVIDENCE_MAX)
        e->v[e->n++] = seq;
}

static evl ev_of(uint64_t a, uint64_t b)
{
    evl e = {{0}, 0};
    ev_add(&e, a);
    if (b != 0)
        ev_add(&e, b);
    return e;
}

static bool is(const char *x, const char *y)
{
    return strcmp(x, y) == 0;
}

/* Calendar day number (UTC); event times are never before 1970, but be exact. */
static int64_t day_of(int64_t ms)
{
    return ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
}

static const char *key_name(audit *a, const uint8_t kid[KEYS_KID_BYTES])
{
    akey *k = audit__key(a, kid);
    return k != NULL ? k->name : "a key never enrolled";
}

/* "56, 84" */
static void mg_list(char *out, size_t cap, const uint32_t *v, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++) {
        int w = snprintf(out + used, cap - used, "%s%u", i > 0 ? ", " : "", v[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static bool in_list(uint64_t x, const uint32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x == v[i])
            return true;
    return false;
}

static void facts_of(facts *fc, const asession *s)
{
    memset(fc, 0, sizeof(*fc));
    fc->esk = is(s->drug, "esketamine");
    fc->ket = is(s->drug, "ketamine");
    fc->outpatient = is(s->setting, "outpatient");
    fc->unit = fc->esk ? "device" : "dose";
    ledger_date_format(fc->day, s->open_ms);
    for (size_t i = 0; i < s->ndoses && i < AUDIT_DOSES_MAX; i++) {
        const adose *d = &s->doses[i];
        size_t j = fc->n++;
        while (j > 0 && (fc->ord[j - 1]->ms > d->ms ||
                         (fc->ord[j - 1]->ms == d->ms && fc->ord[j - 1]->seq > d->seq))) {
            fc->ord[j] = fc->ord[j - 1];
            j--;
        }
        fc->ord[j] = d;
        fc->total_mg += d->mg;
    }
    if (fc->n > 0) {
        fc->first = fc->ord[0];
        fc->last = fc->ord[fc->n - 1];
        audit__hm(fc->first_hm, fc->first->ms);
        audit__hm(fc->last_hm, fc->last->ms);
    }
    if (s->discharged)
        audit__hm(fc->discharge_hm, s->discharge_ms);
}

/* ---- setting and people ---- */

/* SET-CERT: a certification of the session's setting kind valid on its date. */
static void rule_cert(audit *a, asession *s, const facts *fc)
{
    const acert *near = NULL;
    int64_t d = day_of(s->open_ms);
    for (size_t i = 0; i < a->certs.n; i++) {
        const acert *c = &a->certs.v[i];
        if (!is(c->kind, s->setting))
            continue;
        if (day_of(c->from_ms) <= d && (c->until_ms == 0 || day_of(c->until_ms) >= d))
            return;
        if (near == NULL || c->seq > near->seq)
            near = c;
    }
    if (near == NULL) {
        audit__emit(a, "SET-CERT", POLICY_FAIL, s, NULL, NULL, &s->id, 1, s->open_ms,
                    "esketamine session on %s (%s setting) with no %s REMS setting "
                    "certification recorded",
                    fc->day, s->setting, s->setting);
    } else {
        char from[11], until[11];
        evl e = ev_of(s->id, near->seq);
        ledger_date_format(from, near->from_ms);
        if (near->until_ms != 0)
            ledger_date_format(until, near->until_ms);
        audit__emit(a, "SET-CERT", POLICY_FAIL, s, NULL, NULL, e.v, e.n, s->open_ms,
                    "esketamine session on %s outside the %s REMS setting certification "
                    "(valid from %s%s%s)",
                    fc->day, s->setting, from, near->until_ms != 0 ? " until " : "",
                    near->until_ms != 0 ? until : "");
    }
}

/* PAT-ENROLL: an outpatient esketamine session needs the patient enrolled by its date. */
static void rule_enroll(audit *a, asession *s, const facts *fc, const apatient *pt)
{
    if (pt == NULL || pt->enrolled_ms == 0) {
        audit__emit(a, "PAT-ENROLL", POLICY_FAIL, s, NULL, NULL, &s->id, 1, s->open_ms,
                    "outpatient esketamine session on %s for a patient with no REMS enrollment "
                    "recorded",
                    fc->day);
    } else if (day_of(pt->enrolled_ms) > day_of(s->open_ms)) {
        char on[11];
        evl e = ev_of(s->id, pt->enroll_seq);
        ledger_date_format(on, pt->enrolled_ms);
        audit__emit(a, "PAT-ENROLL", POLICY_FAIL, s, NULL, NULL, e.v, e.n, s->open_ms,
                    "outpatient esketamine session on %s, before the patient's REMS enrollment "
                    "on %s",
                    fc->day, on);
    }
}

/* STAFF-PRESCRIBER: the prescriber named on site is an enrolled, current prescriber. */
static void rule_prescriber(audit *a, asession *s, const facts *fc)
{
    akey *k = audit__key(a, s->prescriber);
    if (k == NULL) {
        audit__emit(a, "STAFF-PRESCRIBER", POLICY_FAIL, s, NULL, NULL, &s->id, 1, s->open_ms,
                    "esketamine session on %s names as prescriber a key that was never enrolled",
                    fc->day);
    } else if (k->role != LEDGER_ROLE_PRESCRIBER) {
        const char *role = ledger_role_name(k->role);
        audit__emit(a, "STAFF-PRESCRIBER", POLICY_FAIL, s, NULL, NULL, &s->id, 1, s->open_ms,
                    "esketamine session on %s names %s as prescriber, who is enrolled as %s, "
                    "not as a prescriber",
                    fc->day, k->name, role != NULL ? role : "an unknown role");
    } else if (k->revoked && k->revoked_seq < s->id) {
        evl e = ev_of(s->id, k->revoked_seq);
        audit__emit(a, "STAFF-PRESCRIBER", POLICY_FAIL, s, NULL, NULL, e.v, e.n, s->open_ms,
                    "esketamine session on %s names %s as prescriber, whose key was revoked "
                    "(entry %llu) before the session",
                    fc->day, k->name, (unsigned long long)k->revoked_seq);
    } else if (s->open_ms < k->from_ms || (k->until_ms != 0 && s->open_ms >= k->until_ms)) {
        audit__emit(a, "STAFF-PRESCRIBER", POLICY_FAIL, s, NULL, NULL, &s->id, 1, s->open_ms,
                    "esketamine session on %s names %s as prescriber, whose key was not valid "
                    "at the session",
                    fc->day, k->name);
    }
}

/* ---- dose ---- */

/* DOSE-UNIT, DOSE-ALLOWED, DOSE-FIRST, DOSE-SPACING (esketamine, with doses). */
static void rules_esk_dose(audit *a, asession *s, const facts *fc, const apatient *pt)
{
    const policy_profile *p = s->profile;
    char list[64];
    /* Each dose entry is one device, so a session is device_mg x devices exactly
     * when every dose is device_mg: one finding names the doses that are not. */
    if (p->device_mg != 0) {
        evl e = ev_of(s->id, 0);
        size_t bad = 0;
        const adose *first_bad = NULL;
        for (size_t i = 0; i < fc->n; i++)
            if (fc->ord[i]->mg != p->device_mg) {
                if (first_bad == NULL)
                    first_bad = fc->ord[i];
                bad++;
                ev_add(&e, fc->ord[i]->seq);
            }
        if (bad > 0)
            audit__emit(a, "DOSE-UNIT", POLICY_FAIL, s, NULL, NULL, e.v, e.n, first_bad->ms,
                        "dose entry %llu gives %llu mg, not one %u mg device (%zu of %zu "
                        "entries); the session's %llu mg is not %u mg per device",
                        (unsigned long long)first_bad->seq, (unsigned long long)first_bad->mg,
                        p->device_mg, bad, fc->n, (unsigned long long)fc->total_mg, p->device_mg);
    }

    if (!in_list(fc->total_mg, p->allowed_total_mg, p->n_allowed_total)) {
        bool flag = in_list(fc->total_mg, p->flag_total_mg, p->n_flag_total);
        evl e = ev_of(s->id, 0);
        for (size_t i = 0; i < fc->n; i++)
            ev_add(&e, fc->ord[i]->seq);
        mg_list(list, sizeof(list), p->allowed_total_mg, p->n_allowed_total);
        if (flag)
            audit__emit(a, "DOSE-ALLOWED", POLICY_FLAG, s, NULL, NULL, e.v, e.n, fc->last->ms,
                        "esketamine session total %llu mg: not a US-label total (%s mg), only "
                        "used under other labels",
                        (unsigned long long)fc->total_mg, list);
        else if (p->n_allowed_total > 0)
            audit__emit(a, "DOSE-ALLOWED", POLICY_FAIL, s, NULL, NULL, e.v, e.n, fc->last->ms,
                        "esketamine session total %llu mg is not an allowed total (%s mg)%s",
                        (unsigned long long)fc->total_mg, list,
                        s->doses_overflow ? "; more doses were recorded than the audit counts"
                                          : "");
    }

    if (pt != NULL && pt->esk_sessions == 0 && p->first_session_max_mg != 0 &&
        fc->total_mg > p->first_session_max_mg) {
        evl e = ev_of(s->id, 0);
        for (size_t i = 0; i < fc->n; i++)
            ev_add(&e, fc->ord[i]->seq);
        audit__emit(a, "DOSE-FIRST", POLICY_FAIL, s, NULL, NULL, e.v, e.n, s->open_ms,
                    "the patient's first esketamine session (%s) gave %llu mg, above the %u mg "
                    "allowed for a first session",
                    fc->day, (unsigned long long)fc->total_mg, p->first_session_max_mg);
    }

    if (p->min_device_spacing_min != 0)
        for (size_t i = 1; i < fc->n; i++) {
            const adose *x = fc->ord[i - 1], *y = fc->ord[i];
            int64_t gap = y->ms - x->ms;
            if (gap >= (int64_t)p->min_device_spacing_min * MIN_MS)
                continue;
            char xt[24], yt[24];
            evl e = ev_of(s->id, x->seq);
            ev_add(&e, y->seq);
            audit__hm(xt, x->ms);
            audit__hm(yt, y->ms);
            audit__emit(a, "DOSE-SPACING", POLICY_FLAG, s, NULL, NULL, e.v, e.n, y->ms,
                        "devices at %s and %s are %lld min %02lld s apart, less than %u min", xt,
                        yt, (long long)(gap / MIN_MS), (long long)(gap % MIN_MS / 1000),
                        p->min_device_spacing_min);
        }
}

/* DOSE-IV-RANGE: IV ketamine by body weight and infusion time. */
static void rule_iv(audit *a, asession *s, const facts *fc)
{
    const policy_profile *p = s->profile;
    if (s->weight_g == 0) {
        audit__emit(a, "DOSE-IV-RANGE", POLICY_FLAG, s, NULL, NULL, &s->id, 1, s->open_ms,
                    "IV ketamine session on %s with no body weight recorded: the mg/kg dose "
                    "cannot be checked",
                    fc->day);
    } else {
        /* ug/kg = mg * 1000 (ug/mg) / (g / 1000 (g/kg)) */
        uint64_t ugkg = fc->total_mg * 1000 * 1000 / s->weight_g;
        if ((p->iv_min_ug_per_kg != 0 && ugkg < p->iv_min_ug_per_kg) ||
            (p->iv_max_ug_per_kg != 0 && ugkg > p->iv_max_ug_per_kg)) {
            evl e = ev_of(s->id, 0);
            for (size_t i = 0; i < fc->n; i++)
                ev_add(&e, fc->ord[i]->seq);
            audit__emit(a, "DOSE-IV-RANGE", POLICY_FLAG, s, NULL, NULL, e.v, e.n, fc->first->ms,
                        "IV ketamine %llu mg for %llu.%03llu kg is %llu.%03llu mg/kg, outside "
                        "%u.%03u-%u.%03u mg/kg",
                        (unsigned long long)fc->total_mg, (unsigned long long)(s->weight_g / 1000),
                        (unsigned long long)(s->weight_g % 1000), (unsigned long long)(ugkg / 1000),
                        (unsigned long long)(ugkg % 1000), p->iv_min_ug_per_kg / 1000,
                        p->iv_min_ug_per_kg % 1000, p->iv_max_ug_per_kg / 1000,
                        p->iv_max_ug_per_kg % 1000);
        }
    }
    if (p->iv_min_infusion_min == 0)
        return;
    for (size_t i = 0; i < fc->n; i++) {
        const adose *d = fc->ord[i];
        char at[24];
        evl e = ev_of(s->id, d->seq);
        audit__hm(at, d->ms);
        if (d->infusion_min == 0)
            audit__emit(a, "DOSE-IV-RANGE", POLICY_FLAG, s, NULL, NULL, e.v, e.n, d->ms,
                        "IV ketamine dose at %s has no infusion time recorded: at least %u min "
                        "cannot be shown",
                        at, p->iv_min_infusion_min);
        else if (d->infusion_min < p->iv_min_infusion_min)
            audit__emit(a, "DOSE-IV-RANGE", POLICY_FLAG, s, NULL, NULL, e.v, e.n, d->ms,
                        "IV ketamine dose at %s was infused over %llu min, under %u min", at,
                        (unsigned long long)d->infusion_min, p->iv_min_infusion_min);
    }
}

/* ---- schedule ---- */

/* SCHED-GAP and SCHED-FREQ against the patient's earlier esketamine sessions. */
static void rules_schedule(audit *a, asession *s, const apatient *pt)
{
    const policy_profile *p = s->profile;
    int64_t t = s->open_ms;
    char at[24];
    if (pt == NULL || pt->esk_sessions == 0)
        return;
    audit__hm(at, t);
    if (p->min_gap_hours != 0) {
        size_t best = SIZE_MAX;
        int64_t best_d = 0;
        for (size_t i = 0; i < pt->nrecent; i++) {
            int64_t d = t - pt->recent_ms[i];
            d = d < 0 ? -d : d;
            if (pt->recent_seq[i] != s->id && d < (int64_t)p->min_gap_hours * HOUR_MS &&
                (best == SIZE_MAX || d < best_d)) {
                best = i;
                best_d = d;
            }
        }
        if (best != SIZE_MAX) {
            char other[24];
            evl e = ev_of(s->id, pt->recent_seq[best]);
            audit__hm(other, pt->recent_ms[best]);
            audit__emit(a, "SCHED-GAP", POLICY_FLAG, s, NULL, NULL, e.v, e.n, t,
                        "esketamine sessions at %s and %s are %lld h %02lld min apart, less than "
                        "%u h",
                        other, at, (long long)(best_d / HOUR_MS),
                        (long long)(best_d % HOUR_MS / MIN_MS), p->min_gap_hours);
        }
    }
    /* The phase by weeks since the first session: week 1 is its first 7 days. */
    int64_t since = t - pt->first_esk_ms;
    int64_t week = (since < 0 ? 0 : since) / WEEK_MS + 1;
    uint32_t max;
    const char *phase;
    if (week <= (int64_t)p->induction_weeks) {
        max = p->induction_max_per_7d;
        phase = "induction";
    } else if (week <= (int64_t)p->induction_weeks + (int64_t)p->continuation_weeks) {
        max = p->continuation_max_per_7d;
        phase = "continuation";
    } else {
        max = p->maintenance_max_per_7d;
        phase = "maintenance";
    }
    if (max == 0)
        return;
    evl e = ev_of(s->id, 0);
    uint32_t count = 1; /* this session */
    for (size_t i = 0; i < pt->nrecent; i++)
        if (pt->recent_seq[i] != s->id && pt->recent_ms[i] > t - WEEK_MS && pt->recent_ms[i] <= t) {
            count++;
            ev_add(&e, pt->recent_seq[i]);
        }
    if (count > max)
        audit__emit(a, "SCHED-FREQ", POLICY_FLAG, s, NULL, NULL, e.v, e.n, t,
                    "%u esketamine sessions in the 7 days up to %s, more than the %u allowed in "
                    "week %lld of treatment (%s)",
                    count, at, max, (long long)week, phase);
}

/* Record a judged treatment session in the patient's history (newest last). */
static void remember(apatient *pt, const asession *s)
{
    int64_t t = s->open_ms;
    size_t keep = 0;
    for (size_t i = 0; i < pt->nrecent; i++)
        if (t - pt->recent_ms[i] <= RECENT_KEEP_MS) {
            pt->recent_ms[keep] = pt->recent_ms[i];
            pt->recent_seq[keep] = pt->recent_seq[i];
            keep++;
        }
    pt->nrecent = keep;
    if (pt->nrecent == AUDIT_RECENT_MAX) { /* drop the oldest */
        memmove(&pt->recent_ms[0], &pt->recent_ms[1], (AUDIT_RECENT_MAX - 1) * sizeof(int64_t));
        memmove(&pt->recent_seq[0], &pt->recent_seq[1], (AUDIT_RECENT_MAX - 1) * sizeof(uint64_t));
        pt->nrecent--;
    }
    size_t j = pt->nrecent;
    while (j > 0 && pt->recent_ms[j - 1] > t) {
        pt->recent_ms[j] = pt->recent_ms[j - 1];
        pt->recent_seq[j] = pt->recent_seq[j - 1];
        j--;
    }
    pt->recent_ms[j] = t;
    pt->recent_seq[j] = s->id;
    pt->nrecent++;
    if (pt->esk_sessions == 0 || t < pt->first_esk_ms)
        pt->first_esk_ms = t;
    pt->esk_sessions++;
}

/* ---- monitoring and sign-off ---- */

static void rules_monitoring(audit *a, asession *s, const facts *fc)
{
    const policy_profile *p = s->profile;
    if (!s->discharged) {
        char at[24];
        audit__hm(at, s->open_ms);
        audit__emit(a, "MON-OBSERVER", POLICY_FAIL, s, NULL, NULL, &s->id, 1, s->open_ms,
                    "%s session opened at %s was never discharged: no observer sign-off", s->drug,
                    at);
        return;
    }
    evl dis = ev_of(s->id, s->discharge_seq);
    akey *k = audit__key(a, s->discharge_kid);
    if (k == NULL || !ledger_role_observer(k->role)) {
        const char *role = k != NULL ? ledger_role_name(k->role) : NULL;
        audit__emit(a, "MON-OBSERVER", POLICY_FAIL, s, NULL, NULL, dis.v, dis.n, s->discharge_ms,
                    "the discharge at %s is signed by %s%s%s, who may not sign off as monitoring "
                    "observer",
                    fc->discharge_hm, key_name(a, s->discharge_kid),
                    role != NULL ? ", enrolled as " : "", role != NULL ? role : "");
    } else if (memcmp(s->discharge_kid, s->observer, KEYS_KID_BYTES) != 0) {
        audit__emit(a, "MON-OBSERVER", POLICY_FAIL, s, NULL, NULL, dis.v, dis.n, s->discharge_ms,
                    "the discharge at %s is signed by %s, not by the session's observer %s",
                    fc->discharge_hm, k->name, key_name(a, s->observer));
    }

    if (fc->n > 0 && p->monitor_min != 0 &&
        s->discharge_ms - fc->last->ms < (int64_t)p->monitor_min * MIN_MS) {
        int64_t from_last = s->discharge_ms - fc->last->ms;
        int64_t from_first = s->discharge_ms - fc->first->ms;
        evl e = ev_of(s->id, fc->last->seq);
        ev_add(&e, fc->first->seq);
        ev_add(&e, s->discharge_seq);
        if (from_last < 0)
            audit__emit(a, "MON-DURATION", POLICY_FAIL, s, NULL, NULL, e.v, e.n, s->discharge_ms,
                        "discharge at %s comes before the last %s at %s; %u min of monitoring "
                        "are required after it",
                        fc->discharge_hm, fc->unit, fc->last_hm, p->monitor_min);
        else
            audit__emit(a, "MON-DURATION", POLICY_FAIL, s, NULL, NULL, e.v, e.n, s->discharge_ms,
                        "monitoring %lld min, below %u min measured from the last %s at %s "
                        "(%lld min from the first)",
                        (long long)(from_last / MIN_MS), p->monitor_min, fc->unit, fc->last_hm,
                        (long long)(from_first / MIN_MS));
        evl o = ev_of(s->id, s->discharge_seq);
        ev_add(&o, fc->last->seq);
        audit__emit(a, "MON-OBSERVER", POLICY_FAIL, s, NULL, NULL, o.v, o.n, s->discharge_ms,
                    "observer sign-off at %s, before the minimum monitoring time of %u min after "
                    "the last %s at %s had passed",
                    fc->discharge_hm, p->monitor_min, fc->unit, fc->last_hm);
    }

    if (!s->sedation || !s->dissociation || !s->respiration) {
        const char *miss[3];
        size_t n = 0;
        char text[96];
        if (!s->sedation)
            miss[n++] = "sedation";
        if (!s->dissociation)
            miss[n++] = "dissociation";
        if (!s->respiration)
            miss[n++] = "respiratory depression";
        (void)snprintf(text, sizeof(text), "%s%s%s%s%s", miss[0],
                       n == 3   ? ", "
                       : n == 2 ? " and "
                                : "",
                       n > 1 ? miss[1] : "", n == 3 ? " and " : "", n == 3 ? miss[2] : "");
        audit__emit(a, "MON-DISCHARGE", POLICY_FAIL, s, NULL, NULL, dis.v, dis.n, s->discharge_ms,
                    "the discharge at %s does not attest that %s resolved", fc->discharge_hm, text);
    }
    if (!s->transport)
        audit__emit(a, "MON-TRANSPORT", POLICY_FLAG, s, NULL, NULL, dis.v, dis.n, s->discharge_ms,
                    "the discharge at %s does not attest that transport was arranged (no "
                    "driving until the next day)",
                    fc->discharge_hm);
}

/* ---- vitals ---- */

/* The latest blood pressure of phase "pre" taken no later than the first dose. */
static const avital *pre_bp(const asession *s, const facts *fc)
{
    const avital *best = NULL;
    for (size_t i = 0; i < s->nvitals; i++) {
        const avital *v = &s->vitals[i];
        if (v->has_bp && is(v->phase, "pre") && v->ms <= fc->first->ms &&
            (best == NULL || v->ms >= best->ms))
            best = v;
    }
    return best;
}

static void rules_vitals(audit *a, asession *s, const facts *fc)
{
    const policy_profile *p = s->profile;
    const avital *pre = pre_bp(s, fc);
    if (fc->esk) {
        evl e = ev_of(s->id, fc->first->seq);
        if (pre == NULL)
            audit__emit(a, "VIT-BP", POLICY_FAIL, s, NULL, NULL, e.v, e.n, fc->first->ms,
                        "no blood pressure recorded before the first device at %s", fc->first_hm);
        if (p->bp_post_until_min != 0) {
            int64_t lo = fc->first->ms + (int64_t)p->bp_post_from_min * MIN_MS;
            int64_t hi = fc->first->ms + (int64_t)p->bp_post_until_min * MIN_MS;
            bool seen = false;
            for (size_t i = 0; i < s->nvitals; i++)
                seen |= s->vitals[i].has_bp && s->vitals[i].ms >= lo && s->vitals[i].ms <= hi;
            if (!seen) {
                char lot[24], hit[24];
                audit__hm(lot, lo);
                audit__hm(hit, hi);
                audit__emit(a, "VIT-BP", POLICY_FAIL, s, NULL, NULL, e.v, e.n, lo,
                            "no blood pressure recorded between %s and %s (%u-%u min after the "
                            "first device)",
                            lot, hit, p->bp_post_from_min, p->bp_post_until_min);
            }
        }
        if (s->discharged) {
            bool seen = false;
            for (size_t i = 0; i < s->nvitals; i++)
                seen |= s->vitals[i].has_bp && is(s->vitals[i].phase, "discharge") &&
                        s->vitals[i].ms <= s->discharge_ms;
            if (!seen) {
                evl d = ev_of(s->id, s->discharge_seq);
                audit__emit(a, "VIT-BP", POLICY_FAIL, s, NULL, NULL, d.v, d.n, s->discharge_ms,
                            "no discharge blood pressure recorded before the discharge at %s",
                            fc->discharge_hm);
            }
        }
        bool spo2 = false;
        for (size_t i = 0; i < s->nvitals; i++)
            spo2 |= s->vitals[i].has_spo2;
        if (!spo2)
            audit__emit(a, "VIT-SPO2", POLICY_FAIL, s, NULL, NULL, &s->id, 1, s->open_ms,
                        "esketamine session on %s has no pulse-oximetry reading", fc->day);
    }
    if (pre != NULL && !pre->has_note &&
        ((p->bp_high_systolic != 0 && pre->sys > p->bp_high_systolic) ||
         (p->bp_high_diastolic != 0 && pre->dia > p->bp_high_diastolic))) {
        char at[24];
        evl e = ev_of(s->id, pre->seq);
        audit__hm(at, pre->ms);
        audit__emit(a, "VIT-BP-HIGH", POLICY_FLAG, s, NULL, NULL, e.v, e.n, pre->ms,
                    "pre-dose blood pressure %u/%u at %s is above %u/%u and has no clinician note",
                    pre->sys, pre->dia, at, p->bp_high_systolic, p->bp_high_diastolic);
    }
}

/* ---- REMS patient monitoring form ---- */

/* A pmf_due record with open_seq 0 marks a form that arrived while its session
 * was still open (judged later): the judge then files nothing as pending. */
static size_t pmf_find(const audit *a, uint64_t session)
{
    for (size_t i = 0; i < a->pmf_due.n; i++)
        if (a->pmf_due.v[i].session == session)
            return i;
    return SIZE_MAX;
}

static void pmf_drop(audit *a, size_t i)
{
    memmove(&a->pmf_due.v[i], &a->pmf_due.v[i + 1], (a->pmf_due.n - i - 1) * sizeof(apmf));
    a->pmf_due.n--;
}

static bool pmf_applies(const asession *s)
{
    return is(s->drug, "esketamine") && is(s->setting, "outpatient");
}

static void pmf_late(audit *a, asession *s, uint64_t open_seq, int64_t session_ms,
                     uint32_t pmf_days, uint64_t seq, int64_t submitted_ms)
{
    int64_t days = day_of(submitted_ms) - day_of(session_ms);
    if (pmf_days == 0 || days <= (int64_t)pmf_days)
        return;
    char on[11], sub[11];
    evl e = ev_of(open_seq, seq);
    ledger_date_format(on, session_ms);
    ledger_date_format(sub, submitted_ms);
    audit__emit(a, "REMS-PMF", POLICY_FLAG, s, NULL, NULL, e.v, e.n, session_ms,
                "the monitoring form for the session of %s was submitted on %s, %lld days after "
                "it, later than the %u days allowed",
                on, sub, (long long)days, pmf_days);
}

/* A session that is no longer open, for naming it in a finding. */
static void ghost(asession *g, const apmf *r)
{
    memset(g, 0, sizeof(*g));
    g->id = r->session;
    g->open_ms = r->session_ms;
    g->selected = r->selected;
}

void audit__pmf_seen(audit *a, uint64_t session, uint64_t seq, int64_t submitted_ms)
{
    size_t i = pmf_find(a, session);
    if (i != SIZE_MAX) {
        apmf r = a->pmf_due.v[i];
        if (r.open_seq == 0)
            return; /* a second form for a session still open */
        asession g;
        ghost(&g, &r);
        pmf_drop(a, i);
        pmf_late(a, &g, r.open_seq, r.session_ms,
                 audit__profile(a, "esketamine", r.session_ms)->pmf_days, seq, submitted_ms);
        return;
    }
    for (size_t j = 0; j < a->sessions.n; j++) {
        asession *s = &a->sessions.v[j];
        if (s->id != session || !pmf_applies(s))
            continue;
        apmf *m = AUDIT_PUSH(a, a->pmf_due);
        if (m == NULL) {
            a->stop = LEDGER_ENOMEM;
            return;
        }
        m->session = session; /* open_seq 0: seen before judged */
        pmf_late(a, s, s->id, s->open_ms, s->profile->pmf_days, seq, submitted_ms);
        return;
    }
    /* otherwise: a form for a session already judged and filed, or not one that needs it */
}

/* At judging: the form may have come already; else it is due within pmf_days. */
static void pmf_due(audit *a, asession *s, const facts *fc)
{
    size_t i = pmf_find(a, s->id);
    if (i != SIZE_MAX) {
        if (a->pmf_due.v[i].open_seq == 0)
            pmf_drop(a, i);
        return;
    }
    if (fc->n == 0 || !pmf_applies(s) || s->profile->pmf_days == 0)
        return;
    apmf *r = AUDIT_PUSH(a, a->pmf_due);
    if (r == NULL) {
        a->stop = LEDGER_ENOMEM;
        return;
    }
    r->session = s->id;
    r->open_seq = s->id;
    r->session_ms = s->open_ms;
    r->selected = s->selected;
}

void audit__pmf_end(audit *a)
{
    int64_t now = a->o->now_ms != 0 ? a->o->now_ms : a->last_ms;
    for (size_t i = 0; i < a->pmf_due.n && a->stop == 0; i++) {
        const apmf *r = &a->pmf_due.v[i];
        uint32_t days = audit__profile(a, "esketamine", r->session_ms)->pmf_days;
        if (r->open_seq == 0 || days == 0 || day_of(now) <= day_of(r->session_ms) + days)
            continue;
        char on[11], due[11];
        asession g;
        ghost(&g, r);
        ledger_date_format(on, r->session_ms);
        ledger_date_format(due, r->session_ms + (int64_t)days * DAY_MS);
        audit__emit(a, "REMS-PMF", POLICY_FLAG, &g, NULL, NULL, &r->open_seq, 1, r->session_ms,
                    "no monitoring form recorded as submitted for the outpatient session of %s, "
                    "due by %s",
                    on, due);
    }
    a->pmf_due.n = 0;
}

/* ---- the judge ---- */

void audit__session_judge(audit *a, asession *s)
{
    facts fc;
    apatient *pt = NULL;
    facts_of(&fc, s);
    if (fc.esk) {
        /* The patient's history is kept whatever the caller's filters. */
        pt = audit__patient(a, s->patient, true);
        if (pt == NULL) {
            a->stop = LEDGER_ENOMEM;
            return;
        }
        rule_cert(a, s, &fc);
        if (fc.outpatient)
            rule_enroll(a, s, &fc, pt);
        rule_prescriber(a, s, &fc);
        if (fc.n > 0) {
            rules_esk_dose(a, s, &fc, pt);
            rules_schedule(a, s, pt);
        }
    }
    if (fc.ket && is(s->route, "iv") && fc.n > 0)
        rule_iv(a, s, &fc);
    rules_monitoring(a, s, &fc);
    if (fc.n > 0)
        rules_vitals(a, s, &fc);
    pmf_due(a, s, &fc);
    if (pt != NULL && fc.n > 0)
        remember(pt, s);
}
