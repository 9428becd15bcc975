/* A clinic's years for the bench: the ledger the audit figure is about.
 *
 * Every day: stock received for the day's sessions, new patients enrolled,
 * yesterday's esketamine monitoring forms filed, then SESSIONS_PER_DAY
 * sessions in time order. Each patient comes every fourth day for a course (7
 * SPRAVATO induction sessions, 6 IV ketamine infusions), then a new patient
 * takes the place. 45% of patients are on SPRAVATO (pre-dose blood pressure, two or
 * three 28 mg devices five minutes apart, blood pressure at 40 min and at
 * discharge, the observer's sign-off two hours after the last device, the
 * monitoring form the next day); 55% are IV ketamine (weight, pre-dose vitals,
 * a 40-minute infusion from a 500 mg vial, the rest of the vial wasted with a
 * pharmacist's witness, discharge vitals and sign-off an hour later). About 8
 * entries a session. Entries are recorded at their event times (the ledger's
 * test clock), the last day ending now. */
#include "clinic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/records.h"
#include "ledger_int.h"

#define MIN_MS           INT64_C(60000)
#define DAY_MS           (24 * 60 * MIN_MS)
#define SESSIONS_PER_DAY 48
#define CYCLE_DAYS       4 /* a patient comes every 4 days: twice a week */
#define SLOTS            (SESSIONS_PER_DAY * CYCLE_DAYS)
#define ESK_COURSE       7 /* SPRAVATO induction: twice a week for four weeks */
#define KET_COURSE       6 /* an IV ketamine series */
#define ENTRIES_PER_DAY  (SESSIONS_PER_DAY * 8 + 8) /* a little over: the clock starts early */
#define ESK_NDC          "50458-028-02"
#define KET_NDC          "0143-9508-10"

static int64_t clock_ms;
static int64_t clinic_clock(void)
{
    return clock_ms;
}

typedef struct gen {
    ledger *l;
    keys_key *site, *pharm, *presc, *nurse;
    uint8_t kid_presc[KEYS_KID_BYTES], kid_nurse[KEYS_KID_BYTES];
    uint64_t sessions, patients, esk_yesterday[SESSIONS_PER_DAY];
    struct slot {
        uint64_t patient, done;
        bool esk, used;
    } slot[SLOTS];
    size_t n_esk_yesterday;
    uint64_t days; /* days written */
    int64_t day;   /* 00:00 of the day being written */
    unsigned rng;
    int err;
} gen;

static unsigned next_rand(gen *g)
{
    g->rng = g->rng * 1103515245u + 12345u;
    return g->rng >> 16;
}

/* Append @p type by @p k at event time @p at; its seq and hash in the out-params. */
static void add(gen *g, ledger_txn *t, keys_key *k, const char *type, int64_t at, ledger_body *b,
                uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES])
{
    ledger_append_opts o = LEDGER_APPEND_INIT;
    ledger_appended ap;
    if (g->err != 0)
        return;
    clock_ms = at > clock_ms ? at : clock_ms + 1;
    o.type = type;
    o.body = b;
    o.event_ms = at;
    g->err = ledger_txn_append(t, k, &o, &ap);
    if (g->err == 0 && seq != NULL)
        *seq = ap.seq;
    if (g->err == 0 && hash != NULL)
        memcpy(hash, ap.hash, LEDGER_HASH_BYTES);
    if (g->err != 0)
        fprintf(stderr, "clinic: %s: %s\n", type, ledger_errmsg(g->l));
}

static ledger_body *body(gen *g)
{
    ledger_body *b = NULL;
    if (ledger_body_new(&b) != 0)
        g->err = LEDGER_ENOMEM;
    return b;
}

static void put_field(gen *g, ledger_body *b, const char *type, const char *field, const char *text)
{
    const ledger_rtype *rt = ledger_rtype_find(type);
    if (g->err == 0 && ledger_field_parse(ledger_rtype_field(rt, field), text, b, NULL, 0) != 0)
        g->err = LEDGER_EINVAL;
}

static void patient_of(uint64_t no, uint8_t out[32])
{
    memset(out, 0, 32);
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(no >> (8 * i));
    out[31] = 0xa5;
}

static void receive(gen *g, ledger_txn *t, bool esk, uint64_t units, const char *lot, int64_t at)
{
    ledger_body *b = body(g);
    put_field(g, b, "stock.receive", "ndc", esk ? ESK_NDC : KET_NDC);
    (void)ledger_body_put_text(b, "lot", lot);
    (void)ledger_body_put_uint(b, "expires", (uint64_t)((g->day / DAY_MS + 365) * DAY_MS));
    (void)ledger_body_put_text(b, "substance", esk ? "esketamine" : "ketamine");
    (void)ledger_body_put_text(b, "form", "unit");
    (void)ledger_body_put_uint(b, "unit-mg", esk ? 28 : 500);
    (void)ledger_body_put_uint(b, "containers", esk ? (units + 1) / 2 : units);
    (void)ledger_body_put_uint(b, "units-per-container", esk ? 2 : 1);
    (void)ledger_body_put_text(b, "supplier", "Cardinal Health");
    (void)ledger_body_put_text(b, "supplier-address", "7000 Cardinal Pl, Dublin OH");
    (void)ledger_body_put_text(b, "supplier-dea", "AP5836727");
    add(g, t, g->pharm, "stock.receive", at, b, NULL, NULL);
    ledger_body_free(b);
}

static void vitals(gen *g, ledger_txn *t, uint64_t s, const char *phase, const char *bp, int64_t at)
{
    ledger_body *b = body(g);
    (void)ledger_body_put_uint(b, "session", s);
    (void)ledger_body_put_text(b, "phase", phase);
    put_field(g, b, "vitals", "bp", bp);
    (void)ledger_body_put_uint(b, "hr", 72);
    (void)ledger_body_put_uint(b, "spo2", 98);
    add(g, t, g->nurse, "vitals", at, b, NULL, NULL);
    ledger_body_free(b);
}

static void discharge(gen *g, ledger_txn *t, uint64_t s, int64_t at)
{
    ledger_body *b = body(g);
    (void)ledger_body_put_uint(b, "session", s);
    (void)ledger_body_put_bool(b, "sedation-resolved", true);
    (void)ledger_body_put_bool(b, "dissociation-resolved", true);
    (void)ledger_body_put_bool(b, "respiration-stable", true);
    (void)ledger_body_put_bool(b, "transport-arranged", true);
    add(g, t, g->nurse, "discharge", at, b, NULL, NULL);
    ledger_body_free(b);
}

static void session(gen *g, ledger_txn *t, size_t i, const char *lot_e, const char *lot_k)
{
    uint8_t patient[32], hash[LEDGER_HASH_BYTES];
    int64_t t0 = g->day + 8 * 60 * MIN_MS + (int64_t)i * 10 * MIN_MS;
    struct slot *sl = &g->slot[(size_t)(g->day / DAY_MS % CYCLE_DAYS) * SESSIONS_PER_DAY + i];
    bool esk = sl->esk;
    uint64_t s = 0, w = 0;
    patient_of(sl->patient, patient);
    ledger_body *b = body(g);
    (void)ledger_body_put_bytes(b, "patient", patient, 32);
    (void)ledger_body_put_text(b, "drug", esk ? "esketamine" : "ketamine");
    (void)ledger_body_put_text(b, "route", esk ? "intranasal" : "iv");
    (void)ledger_body_put_text(b, "setting", "outpatient");
    (void)ledger_body_put_bytes(b, "prescriber", g->kid_presc, KEYS_KID_BYTES);
    (void)ledger_body_put_bytes(b, "observer", g->kid_nurse, KEYS_KID_BYTES);
    if (!esk)
        (void)ledger_body_put_uint(b, "weight-kg", 60000 + next_rand(g) % 40000);
    add(g, t, g->nurse, "session.open", t0, b, &s, NULL);
    ledger_body_free(b);
    vitals(g, t, s, "pre", "128/82", t0 + 2 * MIN_MS);
    int64_t first = t0 + 5 * MIN_MS, last = first;
    size_t devices = !esk ? 1 : sl->done == 0 ? 2 : 2 + next_rand(g) % 2; /* 56 mg first */
    for (size_t d = 0; d < devices; d++) {
        last = first + (int64_t)d * 5 * MIN_MS;
        b = body(g);
        (void)ledger_body_put_uint(b, "session", s);
        put_field(g, b, "dose", "ndc", esk ? ESK_NDC : KET_NDC);
        (void)ledger_body_put_text(b, "lot", esk ? lot_e : lot_k);
        (void)ledger_body_put_uint(b, "mg", esk ? 28 : 35);
        if (esk) {
            (void)ledger_body_put_uint(b, "device", d + 1);
        } else {
            (void)ledger_body_put_uint(b, "ml", 700); /* 0.7 mL at 50 mg/mL, in uL */
            (void)ledger_body_put_uint(b, "concentration", 50000);
            (void)ledger_body_put_uint(b, "infusion-min", 40);
        }
        add(g, t, g->nurse, "dose", last, b, NULL, NULL);
        ledger_body_free(b);
    }
    if (esk) {
        vitals(g, t, s, "post40", "130/84", first + 40 * MIN_MS);
        vitals(g, t, s, "discharge", "124/80", last + 125 * MIN_MS);
        discharge(g, t, s, last + 130 * MIN_MS);
        g->esk_yesterday[g->n_esk_yesterday++] = s;
    } else {
        b = body(g);
        (void)ledger_body_put_uint(b, "session", s);
        put_field(g, b, "waste", "ndc", KET_NDC);
        (void)ledger_body_put_text(b, "lot", lot_k);
        (void)ledger_body_put_uint(b, "mg", 465);
        (void)ledger_body_put_text(b, "manner", "sharps container with deactivation pouch");
        add(g, t, g->nurse, "waste", last + 41 * MIN_MS, b, &w, hash);
        ledger_body_free(b);
        b = body(g);
        (void)ledger_body_put_uint(b, "ref", w);
        (void)ledger_body_put_bytes(b, "ref-hash", hash, LEDGER_HASH_BYTES);
        add(g, t, g->pharm, "witness", last + 42 * MIN_MS, b, NULL, NULL);
        ledger_body_free(b);
        vitals(g, t, s, "discharge", "124/80", last + 100 * MIN_MS);
        discharge(g, t, s, last + 105 * MIN_MS);
    }
    sl->done++;
    g->sessions++;
}

/* The DEA registration, for three years from today (renewed every two). */
static void registration(gen *g, ledger_txn *t)
{
    ledger_body *b = body(g);
    put_field(g, b, "registration", "schedules", "3,4,5");
    (void)ledger_body_put_text(b, "dea", "BJ6125341");
    (void)ledger_body_put_uint(b, "expires", (uint64_t)((g->day / DAY_MS + 3 * 365) * DAY_MS));
    add(g, t, g->site, "registration", g->day + 60 * MIN_MS, b, NULL, NULL);
    ledger_body_free(b);
}

/* One day in one transaction. */
static int day_fn(ledger_txn *t, void *ud)
{
    gen *g = ud;
    char lot_e[16], lot_k[16];
    int64_t dayno = g->day / DAY_MS;
    (void)snprintf(lot_e, sizeof(lot_e), "E%lld", (long long)dayno);
    (void)snprintf(lot_k, sizeof(lot_k), "K%lld", (long long)dayno);
    if (++g->days % (2 * 365) == 0)
        registration(g, t);
    receive(g, t, true, SESSIONS_PER_DAY * 3, lot_e, g->day + 7 * 60 * MIN_MS);
    receive(g, t, false, SESSIONS_PER_DAY, lot_k, g->day + 7 * 60 * MIN_MS + 1);
    /* today's places whose patient finished a course (or never had one): new patients */
    for (size_t i = 0; i < SESSIONS_PER_DAY; i++) {
        struct slot *sl = &g->slot[(size_t)(dayno % CYCLE_DAYS) * SESSIONS_PER_DAY + i];
        if (sl->used && sl->done < (sl->esk ? ESK_COURSE : KET_COURSE))
            continue;
        uint8_t patient[32], rems[32];
        sl->used = true;
        sl->patient = g->patients++;
        sl->done = 0;
        sl->esk = next_rand(g) % 100 < 45;
        ledger_body *b = body(g);
        patient_of(sl->patient, patient);
        memcpy(rems, patient, 32);
        rems[0] ^= 0x5a;
        (void)ledger_body_put_bytes(b, "patient", patient, 32);
        (void)ledger_body_put_bytes(b, "rems-patient-id", rems, 32);
        (void)ledger_body_put_uint(b, "on", (uint64_t)(dayno * DAY_MS));
        add(g, t, g->presc, "patient.enroll", g->day + 7 * 60 * MIN_MS + 10 * MIN_MS, b, NULL,
            NULL);
        ledger_body_free(b);
    }
    for (size_t i = 0; i < g->n_esk_yesterday; i++) {
        ledger_body *b = body(g);
        (void)ledger_body_put_uint(b, "session", g->esk_yesterday[i]);
        (void)ledger_body_put_uint(b, "submitted", (uint64_t)(dayno * DAY_MS));
        add(g, t, g->presc, "pmf", g->day + 7 * 60 * MIN_MS + 30 * MIN_MS, b, NULL, NULL);
        ledger_body_free(b);
    }
    g->n_esk_yesterday = 0;
    for (size_t i = 0; i < SESSIONS_PER_DAY && g->err == 0; i++)
        session(g, t, i, lot_e, lot_k);
    return g->err;
}

static int site_fn(ledger_txn *t, void *ud)
{
    gen *g = ud;
    registration(g, t);
    ledger_body *b = body(g);
    (void)ledger_body_put_text(b, "rems-id", "SET-1");
    (void)ledger_body_put_text(b, "kind", "outpatient");
    (void)ledger_body_put_uint(b, "from", (uint64_t)(g->day / DAY_MS * DAY_MS));
    add(g, t, g->site, "setting.certify", g->day + 61 * MIN_MS, b, NULL, NULL);
    ledger_body_free(b);
    return g->err;
}

int clinic_fill(ledger *l, keys_key *site, keys_key *pharm, uint64_t n, int64_t now_ms,
                clinic_stats *st)
{
    static gen g; /* large: not on the stack */
    int rc;
    memset(&g, 0, sizeof(g));
    g.l = l;
    g.site = site;
    g.pharm = pharm;
    g.rng = 12345;
    if ((rc = keys_generate(&g.presc)) != 0 || (rc = keys_generate(&g.nurse)) != 0)
        goto done;
    uint8_t pub[KEYS_PUB_BYTES];
    keys_key_pub(g.presc, pub);
    keys_kid(g.kid_presc, pub);
    keys_key_pub(g.nurse, pub);
    keys_kid(g.kid_nurse, pub);
    /* the first day: far enough back that the last one ends before now */
    uint64_t days = n / ENTRIES_PER_DAY + 2;
    g.day = (now_ms / DAY_MS - (int64_t)days) * DAY_MS;
    clock_ms = g.day;
    ledger__test_clock = clinic_clock;
    if ((rc = ledger_init(l, site, "Bench Clinic", "BJ6125341", NULL)) != 0 ||
        (rc = rxt_enroll(l, site, pharm, "Pat Pharm", "pharmacist", 0, 0, 0)) != 0 ||
        (rc = rxt_enroll(l, site, g.presc, "Dr Rae Presc", "prescriber", 0, 0, 0)) != 0 ||
        (rc = rxt_enroll(l, site, g.nurse, "Nia Nurse, RN", "nurse", 0, 0, 0)) != 0 ||
        (rc = ledger_transact(l, site_fn, &g)) != 0)
        goto done;
    uint64_t have = 0;
    uint8_t head[LEDGER_HASH_BYTES];
    ledger_head(l, &have, head);
    while (have < n) {
        g.day += DAY_MS;
        if ((rc = ledger_transact(l, day_fn, &g)) != 0)
            goto done;
        ledger_head(l, &have, head);
    }
    st->entries = have;
    st->sessions = g.sessions;
    st->patients = g.patients;
    st->days = (uint64_t)((g.day - (now_ms / DAY_MS - (int64_t)days) * DAY_MS) / DAY_MS);
done:
    ledger__test_clock = NULL;
    keys_free(g.presc);
    keys_free(g.nurse);
    return rc;
}
