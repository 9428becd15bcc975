/* Stock, inventory and loss rules: WASTE-WITNESS, STOCK-BALANCE, STOCK-NEGATIVE,
 * STOCK-EXPIRED, INV-BIENNIAL, LOSS-REPORT.
 *
 * A running balance per NDC+lot in mg, with the arithmetic of inventory.c: a
 * receipt adds containers x units-per-container x unit-mg (unit-mg of the
 * lot's first receipt), doses and waste subtract mg, destruction and loss
 * subtract units x unit-mg, quantities as corrected by amendments. A count
 * that disagrees is reported and does not reset the balance (as in
 * inventory.c): the discrepancy is resolved in the record by a stock.loss or
 * an amendment, not by the count itself.
 *
 * Dates and deadlines are UTC calendar days, as the ledger stores dates.
 * Months are exact calendar months (2024-08-31 + 1 month = 2024-09-30).
 * Business days skip Saturday and Sunday; public holidays are not modelled. */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "audit_int.h"
#include "ledger/ident.h"
#include "ledger/records.h"

/* A witness names an act at most this many entries before it (the chain rule
 * of entry.c), so an act is judged once the stream is further along. */
#define WITNESS_WINDOW 2
#define PENDING_MAX    (WITNESS_WINDOW + 1)

/* A waste or destruction waiting for its witness entries. */
typedef struct pact {
    uint64_t seq;
    int64_t ms;
    const char *type; /* "waste" or "stock.destroy" (static strings) */
    uint64_t amount;  /* mg for waste, units for destruction */
    bool has_session;
    uint64_t session;
    uint8_t actor[KEYS_KID_BYTES];
    char actor_name[LEDGER_NAME_MAX + 1];
    char ndc[16], lot[65];
    uint8_t wkid[WITNESS_WINDOW][KEYS_KID_BYTES];
    uint64_t wseq[WITNESS_WINDOW];
    size_t nw;
} pact;

/* Acts awaiting their witnesses (a witness follows within WITNESS_WINDOW
 * entries); fixed size, owned by the audit (a->pending). */
struct audit_pending {
    pact v[PENDING_MAX];
    size_t n;
};

/* ---- calendar ---- */

static int64_t day_of(int64_t ms)
{
    return ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

/* @p day plus @p months calendar months, the day of month clamped to the month's end. */
static int64_t add_months(int64_t day, uint32_t months)
{
    int64_t y, m, d;
    civil_from_days(day, &y, &m, &d);
    int64_t mm = m - 1 + (int64_t)months;
    y += mm / 12;
    m = mm % 12 + 1;
    int64_t dim =
        days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - days_from_civil(y, m, 1);
    return days_from_civil(y, m, d < dim ? d : dim);
}

/* Whole calendar months from day @p from to day @p to (for messages). */
static int64_t months_between(int64_t from, int64_t to)
{
    int64_t y1, m1, d1, y2, m2, d2;
    if (to <= from)
        return 0;
    civil_from_days(from, &y1, &m1, &d1);
    civil_from_days(to, &y2, &m2, &d2);
    int64_t n = (y2 - y1) * 12 + (m2 - m1);
    if (n > 0 && add_months(from, (uint32_t)n) > to)
        n--;
    return n;
}

/* "24 months and 1 day": the calendar distance from day @p from to day @p to. */
static void fmt_span(char *out, size_t cap, int64_t from, int64_t to)
{
    int64_t n = months_between(from, to), d = to - add_months(from, (uint32_t)n);
    if (d == 0)
        (void)snprintf(out, cap, "%lld month%s", (long long)n, n == 1 ? "" : "s");
    else
        (void)snprintf(out, cap, "%lld month%s and %lld day%s", (long long)n, n == 1 ? "" : "s",
                       (long long)d, d == 1 ? "" : "s");
}

/* 0 Sunday .. 6 Saturday; 1970-01-01 was a Thursday. */
static int weekday(int64_t day)
{
    int64_t w = (day + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

/* The last day on which the DEA may be notified: @p n business days after discovery. */
static int64_t business_deadline(int64_t discovered_ms, uint32_t n)
{
    int64_t day = day_of(discovered_ms);
    while (n > 0) {
        day++;
        if (weekday(day) != 0 && weekday(day) != 6)
            n--;
    }
    return day;
}

/* ---- helpers ---- */

static int64_t as_of(const audit *a)
{
    return a->o->now_ms != 0 ? a->o->now_ms : a->last_ms;
}

uint64_t audit__qty(audit *a, const ledger_entry *e, const char *key)
{
    uint64_t v = 0;
    if (a->l != NULL)
        return policy__quantity(a->l, e, key);
    if (a->src != NULL && a->src->quantity != NULL)
        return a->src->quantity(a->src->ud, e, key);
    (void)ledger_entry_get_uint(e, key, &v);
    return v;
}

/* @p units x @p unit_mg, saturated (amended quantities are unbounded). */
static int64_t mg_of(uint64_t units, uint64_t unit_mg)
{
    if (units != 0 && unit_mg > (uint64_t)INT64_MAX / units)
        return INT64_MAX;
    return (int64_t)(units * unit_mg);
}

static int64_t sat_add(int64_t x, int64_t y)
{
    if (y > 0 && x > INT64_MAX - y)
        return INT64_MAX;
    if (y < 0 && x < INT64_MIN - y)
        return INT64_MIN;
    return x + y;
}

static int64_t sat_sub(int64_t x, uint64_t y)
{
    return sat_add(x, y > (uint64_t)INT64_MAX ? -INT64_MAX : -(int64_t)y);
}

/* "5 units (140 mg)", "1 unit (28 mg)", "98 mg (3 units and 14 mg)", "14 mg" */
static void fmt_qty(char *out, size_t cap, int64_t mg, uint64_t unit_mg)
{
    if (unit_mg == 0 || unit_mg > (uint64_t)INT64_MAX) {
        (void)snprintf(out, cap, "%lld mg", (long long)mg);
        return;
    }
    long long u = (long long)(mg / (int64_t)unit_mg), r = (long long)(mg % (int64_t)unit_mg);
    if (r == 0)
        (void)snprintf(out, cap, "%lld unit%s (%lld mg)", u, u == 1 || u == -1 ? "" : "s",
                       (long long)mg);
    else if (u > 0)
        (void)snprintf(out, cap, "%lld mg (%lld unit%s and %lld mg)", (long long)mg, u,
                       u == 1 ? "" : "s", r);
    else
        (void)snprintf(out, cap, "%lld mg", (long long)mg);
}

static bool is_type(const ledger_entry *e, const char *t)
{
    return strcmp(e->type, t) == 0;
}

/* Controlled-substance handling (the entries SET-DEA checks in audit.c). */
static bool handling(const ledger_entry *e)
{
    return is_type(e, "stock.receive") || is_type(e, "dose") || is_type(e, "waste") ||
           is_type(e, "stock.destroy") || is_type(e, "stock.count");
}

static asession *session_by_id(audit *a, uint64_t id)
{
    for (size_t i = 0; i < a->sessions.n; i++)
        if (a->sessions.v[i].id == id)
            return &a->sessions.v[i];
    return NULL;
}

/* The entry's session when it names one that is still open, else NULL. */
static asession *session_of(audit *a, const ledger_entry *e)
{
    uint64_t id;
    return ledger_entry_get_uint(e, "session", &id) == 0 ? session_by_id(a, id) : NULL;
}

/* Find or insert the lot (kept sorted by NDC, lot as in inventory.c). */
static alot *lot_get(audit *a, const char *ndc, const char *lot)
{
    size_t lo = 0, hi = a->lots.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ndc, a->lots.v[mid].ndc);
        if (c == 0)
            c = strcmp(lot, a->lots.v[mid].lot);
        if (c == 0)
            return &a->lots.v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (AUDIT_PUSH(a, a->lots) == NULL) {
        a->stop = LEDGER_ENOMEM;
        return NULL;
    }
    alot *v = a->lots.v;
    memmove(&v[lo + 1], &v[lo], (a->lots.n - 1 - lo) * sizeof(*v));
    memset(&v[lo], 0, sizeof(*v));
    (void)snprintf(v[lo].ndc, sizeof(v[lo].ndc), "%s", ndc);
    (void)snprintf(v[lo].lot, sizeof(v[lo].lot), "%s", lot);
    return &v[lo];
}

/* ---- WASTE-WITNESS ---- */

static void judge_act(audit *a, const pact *p)
{
    const ledger_rtype *rt = ledger_rtype_find(p->type);
    unsigned need = rt != NULL ? rt->witnesses : 1;
    const uint8_t *valid[WITNESS_WINDOW];
    size_t nvalid = 0;
    char reason[LEDGER_NAME_MAX + 96] = "", tally[48] = "", when[24];
    uint64_t ev[1 + WITNESS_WINDOW];
    bool destroy = strcmp(p->type, "stock.destroy") == 0;
    for (size_t i = 0; i < p->nw; i++) {
        const akey *k = audit__key(a, p->wkid[i]);
        bool dup = false;
        for (size_t j = 0; j < nvalid; j++)
            dup |= memcmp(valid[j], p->wkid[i], KEYS_KID_BYTES) == 0;
        if (memcmp(p->wkid[i], p->actor, KEYS_KID_BYTES) == 0) {
            if (reason[0] == '\0')
                (void)snprintf(reason, sizeof(reason), "the signer witnessed it themself");
        } else if (k == NULL) {
            if (reason[0] == '\0')
                (void)snprintf(reason, sizeof(reason),
                               "a witness signed with a key that was never enrolled");
        } else if (!ledger_role_licensed(k->role)) {
            if (reason[0] == '\0') {
                const char *role = ledger_role_name(k->role);
                (void)snprintf(reason, sizeof(reason),
                               "witness %s is enrolled as %s, not a licensed role", k->name,
                               role != NULL ? role : "an unknown role");
            }
        } else if (dup) {
            if (reason[0] == '\0')
                (void)snprintf(reason, sizeof(reason), "%s witnessed it twice", k->name);
        } else {
            valid[nvalid++] = p->wkid[i];
        }
    }
    if (nvalid >= need)
        return;
    if (p->nw == 0)
        (void)snprintf(reason, sizeof(reason), "no witness signed it");
    else if (reason[0] == '\0')
        (void)snprintf(reason, sizeof(reason),
                       "only %zu of the %u licensed witnesses needed (other than the signer)",
                       nvalid, need);
    else if (need > 1)
        (void)snprintf(tally, sizeof(tally), " (%zu of %u witnesses valid)", nvalid, need);
    ev[0] = p->seq;
    for (size_t i = 0; i < p->nw; i++)
        ev[1 + i] = p->wseq[i];
    audit__hm(when, p->ms);
    audit__emit(a, "WASTE-WITNESS", POLICY_FAIL,
                p->has_session ? session_by_id(a, p->session) : NULL, p->ndc, p->lot, ev, 1 + p->nw,
                p->ms, "%s of %llu %s of %s lot %s at %s by %s: %s%s",
                destroy ? "destruction" : "waste", (unsigned long long)p->amount,
                destroy ? (p->amount == 1 ? "unit" : "units") : "mg", p->ndc, p->lot, when,
                p->actor_name, reason, tally);
}

/* Judge the acts no witness can name any more (all of them when @p all). */
static void flush_acts(audit *a, uint64_t seq, bool all)
{
    size_t keep = 0;
    for (size_t i = 0; i < a->pending->n; i++) {
        if (all || a->pending->v[i].seq + WITNESS_WINDOW < seq)
            judge_act(a, &a->pending->v[i]);
        else
            a->pending->v[keep++] = a->pending->v[i];
    }
    a->pending->n = keep;
}

static void await_witness(audit *a, const ledger_entry *e, const alot *lt, uint64_t amount)
{
    if (a->pending->n == PENDING_MAX) /* cannot happen: older acts were flushed */
        flush_acts(a, 0, true);
    pact *p = &a->pending->v[a->pending->n++];
    memset(p, 0, sizeof(*p));
    p->seq = e->seq;
    p->ms = e->event_ms;
    p->type = is_type(e, "waste") ? "waste" : "stock.destroy";
    p->amount = amount;
    p->has_session = ledger_entry_get_uint(e, "session", &p->session) == 0;
    memcpy(p->actor, e->kid, KEYS_KID_BYTES);
    (void)snprintf(p->actor_name, sizeof(p->actor_name), "%s", e->name);
    (void)snprintf(p->ndc, sizeof(p->ndc), "%s", lt->ndc);
    (void)snprintf(p->lot, sizeof(p->lot), "%s", lt->lot);
}

static void on_witness(audit *a, const ledger_entry *e)
{
    uint64_t ref;
    if (ledger_entry_get_uint(e, "ref", &ref) != 0)
        return;
    for (size_t i = 0; i < a->pending->n; i++) {
        pact *p = &a->pending->v[i];
        if (p->seq == ref && p->nw < WITNESS_WINDOW) {
            memcpy(p->wkid[p->nw], e->kid, KEYS_KID_BYTES);
            p->wseq[p->nw++] = e->seq;
        }
    }
}

/* ---- STOCK-NEGATIVE, STOCK-EXPIRED ---- */

static void draw(audit *a, const ledger_entry *e, alot *lt, uint64_t mg)
{
    char when[24], have[64];
    uint64_t ev[2] = {e->seq, lt->last_seq};
    size_t nev = lt->last_seq != 0 ? 2 : 1;
    bool dose = is_type(e, "dose");
    audit__hm(when, e->event_ms);
    if (!lt->received)
        audit__emit(a, "STOCK-NEGATIVE", POLICY_FAIL, session_of(a, e), lt->ndc, lt->lot, ev, nev,
                    e->event_ms, "%s of %llu mg at %s from %s lot %s, a lot never received",
                    dose ? "dose" : "waste", (unsigned long long)mg, when, lt->ndc, lt->lot);
    else if (lt->on_hand_mg < 0 || (uint64_t)lt->on_hand_mg < mg) {
        fmt_qty(have, sizeof(have), lt->on_hand_mg, lt->unit_mg);
        audit__emit(a, "STOCK-NEGATIVE", POLICY_FAIL, session_of(a, e), lt->ndc, lt->lot, ev, nev,
                    e->event_ms, "%s of %llu mg at %s from %s lot %s with %s on hand",
                    dose ? "dose" : "waste", (unsigned long long)mg, when, lt->ndc, lt->lot, have);
    }
    /* The lot is usable through the end of its expiry date. */
    if (dose && lt->received && e->event_ms >= sat_add(lt->expires_ms, DAY_MS)) {
        char exp[11];
        ledger_date_format(exp, lt->expires_ms);
        audit__emit(a, "STOCK-EXPIRED", POLICY_FLAG, session_of(a, e), lt->ndc, lt->lot, &e->seq, 1,
                    e->event_ms, "dose of %llu mg at %s from %s lot %s, which expired on %s",
                    (unsigned long long)mg, when, lt->ndc, lt->lot, exp);
    }
    lt->on_hand_mg = sat_sub(lt->on_hand_mg, mg);
    lt->last_seq = e->seq;
}

/* ---- STOCK-BALANCE, INV-BIENNIAL ---- */

static void on_count(audit *a, const ledger_entry *e, alot *lt)
{
    uint64_t units = audit__qty(a, e, "on-hand");
    char when[24], day[11], day2[11];
    audit__hm(when, e->event_ms);
    if (!lt->received ? (units != 0 || lt->on_hand_mg != 0)
                      : mg_of(units, lt->unit_mg) != lt->on_hand_mg) {
        char counted[64], bal[64];
        uint64_t ev[2] = {e->seq, lt->last_seq};
        fmt_qty(counted, sizeof(counted), mg_of(units, lt->unit_mg), lt->unit_mg);
        fmt_qty(bal, sizeof(bal), lt->on_hand_mg, lt->unit_mg);
        if (!lt->received)
            (void)snprintf(counted, sizeof(counted), "%llu unit%s", (unsigned long long)units,
                           units == 1 ? "" : "s");
        audit__emit(a, "STOCK-BALANCE", POLICY_FAIL, NULL, lt->ndc, lt->lot, ev,
                    lt->last_seq != 0 ? 2 : 1, e->event_ms,
                    "count of %s of %s lot %s at %s, ledger balance %s%s", counted, lt->ndc,
                    lt->lot, when, bal, lt->received ? "" : " (the lot was never received)");
    }
    bool complete = false;
    if (ledger_entry_get_bool(e, "complete", &complete) != 0 || !complete)
        return;
    const policy_profile *p = audit__profile(a, "esketamine", e->event_ms);
    int64_t today = day_of(e->event_ms);
    if (!a->any_complete_inventory) {
        /* The initial inventory is due on the first day of handling. */
        if (a->first_stock_ms != 0 && today > day_of(a->first_stock_ms)) {
            ledger_date_format(day, a->first_stock_ms);
            ledger_date_format(day2, e->event_ms);
            audit__emit(a, "INV-BIENNIAL", POLICY_FAIL, NULL, NULL, NULL,
                        (uint64_t[]){a->first_stock_seq, e->seq}, 2, a->first_stock_ms,
                        "no initial inventory on the first day of handling (%s): the first "
                        "complete inventory was taken on %s",
                        day, day2);
        }
    } else if (e->event_ms > a->last_complete_ms && p->complete_months != 0) {
        int64_t prev = day_of(a->last_complete_ms);
        if (today > add_months(prev, p->complete_months)) {
            char span[48];
            fmt_span(span, sizeof(span), prev, today);
            ledger_date_format(day, a->last_complete_ms);
            ledger_date_format(day2, e->event_ms);
            audit__emit(a, "INV-BIENNIAL", POLICY_FAIL, NULL, NULL, NULL,
                        (uint64_t[]){a->last_complete_seq, e->seq}, 2, e->event_ms,
                        "complete inventories on %s and %s are %s apart, more than %u months", day,
                        day2, span, p->complete_months);
        }
    }
    if (!a->any_complete_inventory || e->event_ms >= a->last_complete_ms) {
        a->last_complete_ms = e->event_ms;
        a->last_complete_seq = e->seq;
    }
    a->any_complete_inventory = true;
}

static void inventory_end(audit *a)
{
    int64_t now = as_of(a);
    char day[11], day2[11], span[48];
    if (!a->any_complete_inventory) {
        if (a->first_stock_ms == 0)
            return;
        ledger_date_format(day, a->first_stock_ms);
        audit__emit(a, "INV-BIENNIAL", POLICY_FAIL, NULL, NULL, NULL, &a->first_stock_seq, 1,
                    a->first_stock_ms, "no complete inventory recorded since handling began on %s",
                    day);
        return;
    }
    const policy_profile *p = audit__profile(a, "esketamine", now);
    int64_t last = day_of(a->last_complete_ms), today = day_of(now);
    policy_severity sev;
    uint32_t limit;
    if (p->complete_months != 0 && today > add_months(last, p->complete_months)) {
        sev = POLICY_FAIL;
        limit = p->complete_months;
    } else if (p->complete_flag_months != 0 && today > add_months(last, p->complete_flag_months)) {
        sev = POLICY_FLAG;
        limit = p->complete_flag_months;
    } else {
        return;
    }
    fmt_span(span, sizeof(span), last, today);
    ledger_date_format(day, a->last_complete_ms);
    ledger_date_format(day2, now);
    audit__emit(a, "INV-BIENNIAL", sev, NULL, NULL, NULL, &a->last_complete_seq, 1, now,
                "last complete inventory on %s, %s before %s: more than %u months", day, span, day2,
                limit);
}

/* ---- LOSS-REPORT ---- */

static void on_report(audit *a, const ledger_entry *e)
{
    uint64_t ref, t;
    aloss *lo = NULL;
    char disc[24], got[24], due[11];
    if (ledger_entry_get_uint(e, "ref", &ref) != 0)
        return;
    for (size_t i = 0; i < a->losses.n && lo == NULL; i++)
        if (a->losses.v[i].seq == ref)
            lo = &a->losses.v[i];
    if (lo == NULL)
        return;
    const policy_profile *p = audit__profile(a, "esketamine", lo->discovered_ms);
    lo->report_seq = e->seq;
    audit__hm(disc, lo->discovered_ms);
    if (!lo->notified && ledger_entry_get_uint(e, "dea-notified", &t) == 0 &&
        t <= (uint64_t)INT64_MAX) {
        lo->notified = true;
        lo->notified_ms = (int64_t)t;
        int64_t last = business_deadline(lo->discovered_ms, p->dea_notice_business_days);
        if (p->dea_notice_business_days != 0 && day_of(lo->notified_ms) > last) {
            audit__hm(got, lo->notified_ms);
            ledger_date_format(due, last * DAY_MS);
            audit__emit(a, "LOSS-REPORT", POLICY_FAIL, NULL, lo->ndc, lo->lot,
                        (uint64_t[]){lo->seq, e->seq}, 2, lo->discovered_ms,
                        "loss of %s lot %s discovered %s: DEA notified %s, after the %u "
                        "business day%s allowed (due by %s)",
                        lo->ndc, lo->lot, disc, got, p->dea_notice_business_days,
                        p->dea_notice_business_days == 1 ? "" : "s", due);
        }
    }
    if (!lo->filed && ledger_entry_get_uint(e, "form106-filed", &t) == 0 &&
        t <= (uint64_t)INT64_MAX) {
        lo->filed = true;
        lo->filed_ms = (int64_t)t;
        int64_t last = day_of(lo->discovered_ms) + p->form106_days;
        if (p->form106_days != 0 && day_of(lo->filed_ms) > last) {
            audit__hm(got, lo->filed_ms);
            ledger_date_format(due, last * DAY_MS);
            audit__emit(a, "LOSS-REPORT", POLICY_FAIL, NULL, lo->ndc, lo->lot,
                        (uint64_t[]){lo->seq, e->seq}, 2, lo->discovered_ms,
                        "loss of %s lot %s discovered %s: DEA Form 106 filed %s, after the %u "
                        "days allowed (due by %s)",
                        lo->ndc, lo->lot, disc, got, p->form106_days, due);
        }
    }
}

static void loss_end(audit *a)
{
    int64_t today = day_of(as_of(a));
    char disc[24], due[11];
    for (size_t i = 0; i < a->losses.n; i++) {
        const aloss *lo = &a->losses.v[i];
        const policy_profile *p = audit__profile(a, "esketamine", lo->discovered_ms);
        uint64_t ev[2] = {lo->seq, lo->report_seq};
        size_t nev = lo->report_seq != 0 ? 2 : 1;
        audit__hm(disc, lo->discovered_ms);
        int64_t last = business_deadline(lo->discovered_ms, p->dea_notice_business_days);
        if (!lo->notified && p->dea_notice_business_days != 0 && today > last) {
            ledger_date_format(due, last * DAY_MS);
            audit__emit(a, "LOSS-REPORT", POLICY_FAIL, NULL, lo->ndc, lo->lot, ev, nev,
                        lo->discovered_ms,
                        "loss of %s lot %s discovered %s: no DEA notice recorded (due by %s)",
                        lo->ndc, lo->lot, disc, due);
        }
        last = day_of(lo->discovered_ms) + p->form106_days;
        if (!lo->filed && p->form106_days != 0 && today > last) {
            ledger_date_format(due, last * DAY_MS);
            audit__emit(a, "LOSS-REPORT", POLICY_FAIL, NULL, lo->ndc, lo->lot, ev, nev,
                        lo->discovered_ms,
                        "loss of %s lot %s discovered %s: no DEA Form 106 recorded (due by %s)",
                        lo->ndc, lo->lot, disc, due);
        }
    }
}

/* ---- the pass ---- */

void audit__stock_entry(audit *a, const ledger_entry *e)
{
    char ndc[16], lot[65];
    if (a->pending == NULL && (a->pending = calloc(1, sizeof(*a->pending))) == NULL) {
        a->stop = LEDGER_ENOMEM;
        return;
    }
    flush_acts(a, e->seq, false);
    if (is_type(e, "witness")) {
        on_witness(a, e);
        return;
    }
    if (is_type(e, "stock.report-loss")) {
        on_report(a, e);
        return;
    }
    if (handling(e) && a->first_stock_ms == 0) {
        a->first_stock_ms = e->event_ms;
        a->first_stock_seq = e->seq;
    }
    if (!handling(e) && !is_type(e, "stock.loss"))
        return;
    if (ledger_entry_get_text(e, "ndc", ndc, sizeof(ndc)) != 0 ||
        ledger_entry_get_text(e, "lot", lot, sizeof(lot)) != 0)
        return;
    alot *lt = lot_get(a, ndc, lot);
    if (lt == NULL)
        return;
    if (is_type(e, "stock.receive")) {
        uint64_t exp;
        if (lt->unit_mg == 0)
            lt->unit_mg = audit__qty(a, e, "unit-mg");
        uint64_t c = audit__qty(a, e, "containers"), per = audit__qty(a, e, "units-per-container");
        uint64_t units = per != 0 && c > UINT64_MAX / per ? UINT64_MAX : c * per;
        if (ledger_entry_get_uint(e, "expires", &exp) == 0 && exp <= (uint64_t)INT64_MAX)
            lt->expires_ms = (int64_t)exp;
        lt->received = true;
        lt->on_hand_mg = sat_add(lt->on_hand_mg, mg_of(units, lt->unit_mg));
        lt->last_seq = e->seq;
    } else if (is_type(e, "dose")) {
        draw(a, e, lt, audit__qty(a, e, "mg"));
    } else if (is_type(e, "waste")) {
        uint64_t mg = audit__qty(a, e, "mg");
        draw(a, e, lt, mg);
        await_witness(a, e, lt, mg);
    } else if (is_type(e, "stock.destroy")) {
        uint64_t units = audit__qty(a, e, "units");
        lt->on_hand_mg = sat_add(lt->on_hand_mg, -mg_of(units, lt->unit_mg));
        lt->last_seq = e->seq;
        await_witness(a, e, lt, units);
    } else if (is_type(e, "stock.loss")) {
        aloss *lo = AUDIT_PUSH(a, a->losses);
        uint64_t disc;
        if (lo == NULL) {
            a->stop = LEDGER_ENOMEM;
            return;
        }
        lt->on_hand_mg = sat_add(lt->on_hand_mg, -mg_of(audit__qty(a, e, "units"), lt->unit_mg));
        lt->last_seq = e->seq;
        lo->seq = e->seq;
        lo->discovered_ms =
            ledger_entry_get_uint(e, "discovered", &disc) == 0 && disc <= (uint64_t)INT64_MAX
                ? (int64_t)disc
                : e->event_ms;
        (void)snprintf(lo->ndc, sizeof(lo->ndc), "%s", lt->ndc);
        (void)snprintf(lo->lot, sizeof(lo->lot), "%s", lt->lot);
    } else {
        on_count(a, e, lt);
    }
}

void audit__stock_end(audit *a)
{
    if (a->pending != NULL)
        flush_acts(a, 0, true);
    inventory_end(a);
    loss_end(a);
}

void audit__stock_free(audit *a)
{
    free(a->pending);
    a->pending = NULL;
}
