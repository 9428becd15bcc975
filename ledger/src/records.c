/* The record-type table and the parsing and checking of fields. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ident.h"
#include "ledger/records.h"
#include "ledger_int.h"

#define R(x)      (1u << (x))
#define SITE      R(LEDGER_ROLE_SITE)
#define PHARM     R(LEDGER_ROLE_PHARMACIST)
#define PRESC     R(LEDGER_ROLE_PRESCRIBER)
#define NURSE     R(LEDGER_ROLE_NURSE)
#define ADMIN     R(LEDGER_ROLE_ADMIN)
#define LICENSED  (PHARM | PRESC | NURSE)
#define PEOPLE    (LICENSED | ADMIN)
#define CLINICAL  (PRESC | NURSE)
#define REQ       LEDGER_FIELD_REQUIRED
#define INTERNAL  LEDGER_FIELD_INTERNAL
#define MULTILINE LEDGER_FIELD_MULTILINE

#define TEXT_SHORT 64
#define TEXT_LONG  512
#define DAY_MS     UINT64_C(86400000)

/* Fields shared by several record types. */
#define F_NDC                                                                                      \
    {                                                                                              \
        "ndc", LEDGER_F_NDC, REQ, 0, 0, NULL, "NDC, e.g. 50458-028-02"                             \
    }
#define F_LOT                                                                                      \
    {                                                                                              \
        "lot", LEDGER_F_TEXT, REQ, 0, TEXT_SHORT, NULL, "lot number"                               \
    }
#define F_SESSION                                                                                  \
    {                                                                                              \
        "session", LEDGER_F_SEQ, REQ, 0, 0, NULL, "session id"                                     \
    }
#define F_OVERRIDE                                                                                 \
    {                                                                                              \
        "override", LEDGER_F_TEXT, 0, 0, TEXT_LONG, NULL,                                          \
            "go on despite a sequencing check; the reason is recorded"                             \
    }

static const ledger_field setting_fields[] = {
    {"rems-id", LEDGER_F_TEXT, REQ, 0, TEXT_SHORT, NULL, "REMS healthcare setting id"},
    {"kind", LEDGER_F_CHOICE, REQ, 0, 0, "outpatient|inpatient", "setting kind"},
    {"from", LEDGER_F_DATE, REQ, 0, 0, NULL, "certified from (date)"},
    {"until", LEDGER_F_DATE, 0, 0, 0, NULL, "certified until (date)"},
};

static const ledger_field registration_fields[] = {
    {"dea", LEDGER_F_DEA, REQ, 0, 0, NULL, "DEA registration number"},
    {"schedules", LEDGER_F_SCHEDULES, REQ, 0, 0, NULL, "schedules, e.g. 3,4,5"},
    {"expires", LEDGER_F_DATE, REQ, 0, 0, NULL, "registration expiry (date)"},
};

static const ledger_field patient_fields[] = {
    {"patient", LEDGER_F_COMMIT, REQ, 0, 0, NULL, "the clinic's patient id (MRN)"},
    {"rems-patient-id", LEDGER_F_COMMIT, REQ, 0, 0, NULL, "REMS patient id"},
    {"on", LEDGER_F_DATE, REQ, 0, 0, NULL, "REMS enrollment date"},
};

static const ledger_field receive_fields[] = {
    F_NDC,
    F_LOT,
    {"expires", LEDGER_F_DATE, REQ, 0, 0, NULL, "lot expiry (date)"},
    {"substance", LEDGER_F_CHOICE, REQ, 0, 0, "esketamine|ketamine", "controlled substance"},
    {"form", LEDGER_F_TEXT, REQ, 0, TEXT_SHORT, NULL, "finished form and strength"},
    {"unit-mg", LEDGER_F_UINT, REQ, 1, 100000, NULL, "mg of substance in one unit"},
    {"containers", LEDGER_F_UINT, REQ, 1, 100000, NULL, "number of containers"},
    {"units-per-container", LEDGER_F_UINT, REQ, 1, 10000, NULL, "units in one container"},
    {"supplier", LEDGER_F_TEXT, REQ, 0, TEXT_SHORT * 2, NULL, "supplier name"},
    {"supplier-address", LEDGER_F_TEXT, REQ, 0, TEXT_LONG, NULL, "supplier address"},
    {"supplier-dea", LEDGER_F_DEA, REQ, 0, 0, NULL, "supplier DEA number"},
};

static const ledger_field session_fields[] = {
    {"patient", LEDGER_F_COMMIT, REQ, 0, 0, NULL, "the clinic's patient id (MRN)"},
    {"drug", LEDGER_F_CHOICE, REQ, 0, 0, "esketamine|ketamine", "drug"},
    {"route", LEDGER_F_CHOICE, REQ, 0, 0, "intranasal|iv|im|oral", "route"},
    {"setting", LEDGER_F_CHOICE, REQ, 0, 0, "outpatient|inpatient", "setting"},
    {"prescriber", LEDGER_F_KID, REQ, 0, 0, NULL, "key id of the prescriber on site"},
    {"observer", LEDGER_F_KID, REQ, 0, 0, NULL, "key id of the monitoring observer"},
    {"weight-kg", LEDGER_F_MILLI, 0, 1000, 500000, NULL, "body weight in kg (stored in g)"},
    F_OVERRIDE,
};

static const ledger_field vitals_fields[] = {
    F_SESSION,
    {"phase", LEDGER_F_CHOICE, REQ, 0, 0, "pre|post40|discharge|other", "phase"},
    {"bp", LEDGER_F_BP, 0, 0, 0, NULL, "blood pressure, e.g. 128/82"},
    {"hr", LEDGER_F_UINT, 0, 20, 250, NULL, "heart rate per minute"},
    {"spo2", LEDGER_F_UINT, 0, 0, 100, NULL, "oxygen saturation, %"},
    {"note", LEDGER_F_TEXT, 0, 0, TEXT_LONG, NULL, "clinician note"},
};

static const ledger_field dose_fields[] = {
    F_SESSION,
    F_NDC,
    F_LOT,
    {"mg", LEDGER_F_UINT, REQ, 1, 100000, NULL, "dose in mg"},
    {"device", LEDGER_F_UINT, 0, 1, 10, NULL, "device number within the session"},
    {"ml", LEDGER_F_MILLI, 0, 1, 1000000, NULL, "volume in mL (stored in uL)"},
    {"concentration", LEDGER_F_CONC, 0, 1, 1000000, NULL, "e.g. 50mg/ml (stored in ug/mL)"},
    {"infusion-min", LEDGER_F_UINT, 0, 1, 1440, NULL, "infusion duration in minutes (IV)"},
    F_OVERRIDE,
};

static const ledger_field waste_fields[] = {
    {"session", LEDGER_F_SEQ, 0, 0, 0, NULL, "session id"},
    F_NDC,
    F_LOT,
    {"mg", LEDGER_F_UINT, REQ, 1, 100000, NULL, "wasted mg"},
    {"manner", LEDGER_F_TEXT, REQ, 0, TEXT_LONG, NULL, "how it was wasted"},
    F_OVERRIDE,
};

static const ledger_field discharge_fields[] = {
    F_SESSION,
    {"sedation-resolved", LEDGER_F_FLAG, 0, 0, 0, NULL, "sedation resolved"},
    {"dissociation-resolved", LEDGER_F_FLAG, 0, 0, 0, NULL, "dissociation resolved"},
    {"respiration-stable", LEDGER_F_FLAG, 0, 0, 0, NULL, "no respiratory depression"},
    {"transport-arranged", LEDGER_F_FLAG, 0, 0, 0, NULL,
     "transport arranged; no driving until the next day"},
    F_OVERRIDE,
};

static const ledger_field pmf_fields[] = {
    F_SESSION,
    {"submitted", LEDGER_F_DATE, REQ, 0, 0, NULL, "date the monitoring form was submitted"},
};

static const ledger_field count_fields[] = {
    F_NDC,
    F_LOT,
    {"on-hand", LEDGER_F_UINT, REQ, 0, 10000000, NULL, "units counted"},
    {"when", LEDGER_F_CHOICE, REQ, 0, 0, "open|close", "opening or close of business"},
    {"complete", LEDGER_F_FLAG, 0, 0, 0, NULL, "part of a complete inventory"},
};

static const ledger_field loss_fields[] = {
    F_NDC,
    F_LOT,
    {"units", LEDGER_F_UINT, REQ, 1, 10000000, NULL, "units lost"},
    {"kind", LEDGER_F_CHOICE, REQ, 0, 0, "theft|loss", "theft or loss"},
    {"discovered", LEDGER_F_TIME, REQ, 0, 0, NULL, "when it was discovered"},
};

static const ledger_field report_fields[] = {
    {"ref", LEDGER_F_SEQ, REQ, 0, 0, NULL, "seq of the stock loss entry"},
    {"dea-notified", LEDGER_F_TIME, REQ, 0, 0, NULL, "when the DEA was notified"},
    {"form106-filed", LEDGER_F_TIME, 0, 0, 0, NULL, "when DEA Form 106 was filed"},
};

static const ledger_field destroy_fields[] = {
    F_NDC,
    F_LOT,
    {"units", LEDGER_F_UINT, REQ, 1, 10000000, NULL, "units destroyed"},
    {"method", LEDGER_F_TEXT, REQ, 0, TEXT_LONG, NULL, "method of destruction"},
    F_OVERRIDE,
};

static const ledger_field adopt_fields[] = {
    {"name", LEDGER_F_TEXT, REQ, 0, TEXT_SHORT - 1, NULL, "profile name"},
    {"drug", LEDGER_F_CHOICE, REQ, 0, 0, "esketamine|ketamine", "the drug it governs"},
    {"text", LEDGER_F_TEXT, REQ | INTERNAL | MULTILINE, 0, LEDGER_TEXT_MAX, NULL,
     "the profile's full text"},
    {"sha256", LEDGER_F_HASH, REQ | INTERNAL, 0, 0, NULL, "SHA-256 of the text"},
    {"effective", LEDGER_F_DATE, REQ, 0, 0, NULL, "in force for sessions from this date"},
};

static const ledger_field amend_fields[] = {
    {"ref", LEDGER_F_SEQ, REQ | INTERNAL, 0, 0, NULL, "seq of the corrected entry"},
    {"ref-hash", LEDGER_F_HASH, REQ | INTERNAL, 0, 0, NULL, "hash of the corrected entry"},
    {"reason", LEDGER_F_TEXT, REQ, 0, TEXT_LONG, NULL, "why it is corrected"},
    {"set", LEDGER_F_FIELDS, 0, 0, 0, NULL, "corrected value, FIELD=VALUE (repeatable)"},
};

static const ledger_field witness_fields[] = {
    {"ref", LEDGER_F_SEQ, REQ | INTERNAL, 0, 0, NULL, "seq of the witnessed entry"},
    {"ref-hash", LEDGER_F_HASH, REQ | INTERNAL, 0, 0, NULL, "hash of the witnessed entry"},
};

#define FIELDS(a) a, sizeof(a) / sizeof(a[0])

static const ledger_rtype rtypes[] = {
    {"genesis", "established ledger", SITE, 0, NULL, NULL, 0},
    {"key.enroll", "enrolled key", SITE, 0, NULL, NULL, 0},
    {"key.revoke", "revoked key", SITE, 0, NULL, NULL, 0},
    {"note", "authored", PEOPLE | SITE, 0, NULL, NULL, 0},
    {"setting.certify", "certified setting recorded", SITE, 0, NULL, FIELDS(setting_fields)},
    {"registration", "registration recorded", SITE, 0, NULL, FIELDS(registration_fields)},
    {"patient.enroll", "patient REMS enrollment recorded", PEOPLE, 0, NULL, FIELDS(patient_fields)},
    {"stock.receive", "received stock", PHARM, 0, NULL, FIELDS(receive_fields)},
    {"session.open", "opened session", LICENSED, 0, NULL, FIELDS(session_fields)},
    {"vitals", "recorded vital signs", CLINICAL, 0, NULL, FIELDS(vitals_fields)},
    {"dose", "administered", LICENSED, 0, NULL, FIELDS(dose_fields)},
    {"waste", "wasted", LICENSED, 1, "witnessed waste", FIELDS(waste_fields)},
    {"discharge", "monitoring observer: discharge approved", CLINICAL, 0, NULL,
     FIELDS(discharge_fields)},
    {"pmf", "monitoring form submission recorded", PEOPLE, 0, NULL, FIELDS(pmf_fields)},
    {"stock.count", "counted stock", PHARM, 0, NULL, FIELDS(count_fields)},
    {"stock.loss", "reported theft or loss", PHARM, 0, NULL, FIELDS(loss_fields)},
    {"stock.report-loss", "recorded loss reporting", PHARM | SITE, 0, NULL, FIELDS(report_fields)},
    {"stock.destroy", "destroyed stock", PHARM, 2, "witnessed destruction", FIELDS(destroy_fields)},
    {"policy.adopt", "adopted policy profile", SITE, 0, NULL, FIELDS(adopt_fields)},
    {"amend", "corrected", PEOPLE, 0, NULL, FIELDS(amend_fields)},
    {"witness", "witnessed", LICENSED, 0, NULL, FIELDS(witness_fields)},
};
#define NTYPES (sizeof(rtypes) / sizeof(rtypes[0]))

const ledger_rtype *ledger_rtype_find(const char *type)
{
    /* the first letter before the call: this runs for every entry verify reads */
    for (size_t i = 0; type != NULL && i < NTYPES; i++)
        if (rtypes[i].type[0] == type[0] && strcmp(rtypes[i].type, type) == 0)
            return &rtypes[i];
    return NULL;
}

const ledger_rtype *ledger_rtype_at(size_t i)
{
    return i < NTYPES ? &rtypes[i] : NULL;
}

const ledger_field *ledger_rtype_field(const ledger_rtype *rt, const char *name)
{
    for (size_t i = 0; rt->fields != NULL && i < rt->nfields; i++)
        if (rt->fields[i].name[0] == name[0] && strcmp(rt->fields[i].name, name) == 0)
            return &rt->fields[i];
    return NULL;
}

bool ledger_rtype_allows(const ledger_rtype *rt, ledger_role r)
{
    return r > LEDGER_ROLE_NONE && r <= LEDGER_ROLE_ADMIN && (rt->roles & (1u << r)) != 0;
}

bool ledger_role_observer(ledger_role r)
{
    return r == LEDGER_ROLE_PRESCRIBER || r == LEDGER_ROLE_NURSE;
}

/* ---- parsing command-line text ---- */

static bool is_control(const unsigned char *s, size_t i)
{
    return s[i] < 0x20 || s[i] == 0x7f || (s[i] == 0xc2 && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f);
}

static int parse_text(const char *text, uint64_t max, bool multiline, char *why, size_t whylen)
{
    size_t n = strlen(text);
    if (n == 0) {
        ledger__errf(why, whylen, "must not be empty");
        return LEDGER_EINVAL;
    }
    if (n > max) {
        ledger__errf(why, whylen, "longer than %llu bytes", (unsigned long long)max);
        return LEDGER_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (is_control((const unsigned char *)text, i) &&
            !(multiline && (text[i] == '\n' || text[i] == '\t'))) {
            ledger__errf(why, whylen, "contains a control character");
            return LEDGER_EINVAL;
        }
    return 0;
}

static int parse_uint(const char *text, uint64_t *out, char *why, size_t whylen)
{
    char *end = NULL;
    if (text[0] < '0' || text[0] > '9' || strlen(text) > 19) {
        ledger__errf(why, whylen, "must be a whole number");
        return LEDGER_EINVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        ledger__errf(why, whylen, "must be a whole number");
        return LEDGER_EINVAL;
    }
    *out = v;
    return 0;
}

/* Decimal with up to 3 places, as thousandths: "72.5" -> 72500. */
static int parse_milli(const char *text, uint64_t *out, char *why, size_t whylen)
{
    uint64_t whole = 0, frac = 0;
    size_t i = 0, places = 0;
    if (text[0] < '0' || text[0] > '9')
        goto bad;
    for (; text[i] >= '0' && text[i] <= '9'; i++) {
        if (whole > UINT64_C(1000000000))
            goto bad;
        whole = whole * 10 + (uint64_t)(text[i] - '0');
    }
    if (text[i] == '.') {
        i++;
        for (; text[i] >= '0' && text[i] <= '9'; i++) {
            if (++places > 3) {
                ledger__errf(why, whylen, "at most 3 decimal places");
                return LEDGER_EINVAL;
            }
            frac = frac * 10 + (uint64_t)(text[i] - '0');
        }
        if (places == 0)
            goto bad;
    }
    if (text[i] != '\0')
        goto bad;
    for (; places < 3; places++)
        frac *= 10;
    *out = whole * 1000 + frac;
    return 0;
bad:
    ledger__errf(why, whylen, "must be a number like 72.5");
    return LEDGER_EINVAL;
}

static int range(uint64_t v, const ledger_field *f, bool milli, char *why, size_t whylen)
{
    if (v < f->min || v > f->max) {
        if (milli)
            ledger__errf(why, whylen, "must be from %llu.%03llu to %llu.%03llu",
                         (unsigned long long)(f->min / 1000), (unsigned long long)(f->min % 1000),
                         (unsigned long long)(f->max / 1000), (unsigned long long)(f->max % 1000));
        else
            ledger__errf(why, whylen, "must be from %llu to %llu", (unsigned long long)f->min,
                         (unsigned long long)f->max);
        return LEDGER_EINVAL;
    }
    return 0;
}

static bool choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return true;
        p += len + (bar ? 1 : 0);
    }
    return false;
}

static int hexbytes(const char *text, uint8_t *out, size_t n)
{
    if (strlen(text) != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = text[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return 0;
}

static int put_array_uints(ledger_body *b, const char *key, const uint64_t *v, size_t n)
{
    ledger__buf buf;
    int rc;
    ledger__buf_init(&buf, 64);
    ledger__cbor_array(&buf, n);
    for (size_t i = 0; i < n; i++)
        ledger__cbor_uint(&buf, v[i]);
    rc = buf.err != 0 ? buf.err : ledger__body_put_raw(b, key, buf.p, buf.len);
    ledger__buf_release(&buf);
    return rc;
}

static int parse_bp(const char *text, uint64_t bp[2], char *why, size_t whylen)
{
    char sys[8], dia[8];
    const char *slash = strchr(text, '/');
    size_t a = slash ? (size_t)(slash - text) : 0, b = slash ? strlen(slash + 1) : 0;
    if (slash == NULL || a == 0 || b == 0 || a >= sizeof(sys) || b >= sizeof(dia)) {
        ledger__errf(why, whylen, "must be systolic/diastolic, e.g. 128/82");
        return LEDGER_EINVAL;
    }
    memcpy(sys, text, a);
    sys[a] = '\0';
    memcpy(dia, slash + 1, b);
    dia[b] = '\0';
    if (parse_uint(sys, &bp[0], why, whylen) != 0 || parse_uint(dia, &bp[1], why, whylen) != 0) {
        ledger__errf(why, whylen, "must be systolic/diastolic, e.g. 128/82");
        return LEDGER_EINVAL;
    }
    if (bp[0] < 50 || bp[0] > 300) {
        ledger__errf(why, whylen, "systolic must be from 50 to 300");
        return LEDGER_EINVAL;
    }
    if (bp[1] < 20 || bp[1] > 200) {
        ledger__errf(why, whylen, "diastolic must be from 20 to 200");
        return LEDGER_EINVAL;
    }
    if (bp[1] >= bp[0]) {
        ledger__errf(why, whylen, "diastolic must be below systolic");
        return LEDGER_EINVAL;
    }
    return 0;
}

/* "50mg/ml", "50 mg/mL", "0.5mg/ml" -> ug/mL */
static int parse_conc(const char *text, uint64_t *out, char *why, size_t whylen)
{
    char num[24];
    size_t i = 0;
    while (text[i] && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.') && i + 1 < sizeof(num))
        i++;
    memcpy(num, text, i);
    num[i] = '\0';
    const char *unit = text + i;
    while (*unit == ' ')
        unit++;
    if (i == 0 || parse_milli(num, out, why, whylen) != 0 ||
        !(strcmp(unit, "mg/ml") == 0 || strcmp(unit, "mg/mL") == 0)) {
        ledger__errf(why, whylen, "must be like 50mg/ml");
        return LEDGER_EINVAL;
    }
    return 0;
}

static int parse_schedules(const char *text, ledger_body *b, const char *key, char *why,
                           size_t whylen)
{
    static const char *const known[] = {"2", "2N", "3", "3N", "4", "5"};
    const char *items[6];
    size_t lens[6], n = 0;
    const char *p = text;
    ledger__buf buf;
    int rc;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        size_t k;
        for (k = 0; k < 6; k++)
            if (strlen(known[k]) == len && strncmp(known[k], p, len) == 0)
                break;
        if (k == 6 || n == 6) {
            ledger__errf(why, whylen, "must be a list of 2, 2N, 3, 3N, 4, 5");
            return LEDGER_EINVAL;
        }
        for (size_t j = 0; j < n; j++)
            if (lens[j] == len && strncmp(items[j], p, len) == 0) {
                ledger__errf(why, whylen, "lists a schedule twice");
                return LEDGER_EINVAL;
            }
        items[n] = p;
        lens[n++] = len;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    ledger__buf_init(&buf, 64);
    ledger__cbor_array(&buf, n);
    for (size_t i = 0; i < n; i++)
        ledger__cbor_text(&buf, items[i], lens[i]);
    rc = buf.err != 0 ? buf.err : ledger__body_put_raw(b, key, buf.p, buf.len);
    ledger__buf_release(&buf);
    return rc;
}

int ledger_field_parse(const ledger_field *f, const char *text, ledger_body *b, char *why,
                       size_t whylen)
{
    uint64_t v = 0, bp[2];
    int64_t t;
    char norm[LEDGER_NDC_BYTES];
    uint8_t bytes[32];
    int rc;
    if (text == NULL)
        text = "";
    switch (f->kind) {
    case LEDGER_F_TEXT:
        if ((rc = parse_text(text, f->max, (f->flags & LEDGER_FIELD_MULTILINE) != 0, why,
                             whylen)) != 0)
            return rc;
        return ledger_body_put_text(b, f->name, text);
    case LEDGER_F_UINT:
        if ((rc = parse_uint(text, &v, why, whylen)) != 0 ||
            (rc = range(v, f, false, why, whylen)) != 0)
            return rc;
        return ledger_body_put_uint(b, f->name, v);
    case LEDGER_F_MILLI:
        if ((rc = parse_milli(text, &v, why, whylen)) != 0 ||
            (rc = range(v, f, true, why, whylen)) != 0)
            return rc;
        return ledger_body_put_uint(b, f->name, v);
    case LEDGER_F_CONC:
        if ((rc = parse_conc(text, &v, why, whylen)) != 0)
            return rc;
        if (v < f->min || v > f->max) {
            ledger__errf(why, whylen, "out of range");
            return LEDGER_EINVAL;
        }
        return ledger_body_put_uint(b, f->name, v);
    case LEDGER_F_FLAG:
        return ledger_body_put_bool(b, f->name, true);
    case LEDGER_F_TIME:
        if (strcmp(text, "now") == 0)
            t = ledger__now_ms();
        else if ((rc = ledger_time_parse(&t, text, why, whylen)) != 0)
            return rc;
        return ledger_body_put_uint(b, f->name, (uint64_t)t);
    case LEDGER_F_DATE:
        if ((rc = ledger_date_parse(&t, text, why, whylen)) != 0)
            return rc;
        return ledger_body_put_uint(b, f->name, (uint64_t)t);
    case LEDGER_F_NDC: {
        char written[LEDGER_NDC_MAX + 16];
        if ((rc = ledger_ndc_normalize(norm, text, why, whylen)) != 0)
            return rc;
        (void)snprintf(written, sizeof(written), "%s-written", f->name);
        if ((rc = ledger_body_put_text(b, f->name, norm)) != 0)
            return rc;
        return ledger_body_put_text(b, written, text);
    }
    case LEDGER_F_DEA:
        if ((rc = ledger_dea_check(text, why, whylen)) != 0)
            return rc;
        return ledger_body_put_text(b, f->name, text);
    case LEDGER_F_CHOICE:
        if (!choice_ok(f->choices, text)) {
            ledger__errf(why, whylen, "must be one of %s", f->choices);
            return LEDGER_EINVAL;
        }
        return ledger_body_put_text(b, f->name, text);
    case LEDGER_F_KID:
        if (hexbytes(text, bytes, KEYS_KID_BYTES) != 0) {
            ledger__errf(why, whylen, "must be a key id of 32 hex digits");
            return LEDGER_EINVAL;
        }
        return ledger_body_put_bytes(b, f->name, bytes, KEYS_KID_BYTES);
    case LEDGER_F_SEQ:
        if ((rc = parse_uint(text, &v, why, whylen)) != 0)
            return rc;
        return ledger_body_put_uint(b, f->name, v);
    case LEDGER_F_COMMIT:
    case LEDGER_F_HASH:
        if (hexbytes(text, bytes, 32) != 0) {
            ledger__errf(why, whylen, "must be 64 hex digits");
            return LEDGER_EINVAL;
        }
        return ledger_body_put_bytes(b, f->name, bytes, 32);
    case LEDGER_F_BP:
        if ((rc = parse_bp(text, bp, why, whylen)) != 0)
            return rc;
        return put_array_uints(b, f->name, bp, 2);
    case LEDGER_F_SCHEDULES:
        return parse_schedules(text, b, f->name, why, whylen);
    case LEDGER_F_FIELDS: {
        const char *eq = strchr(text, '=');
        char key[33];
        size_t kn = eq ? (size_t)(eq - text) : 0;
        if (eq == NULL || kn == 0 || kn >= sizeof(key)) {
            ledger__errf(why, whylen, "must be FIELD=VALUE");
            return LEDGER_EINVAL;
        }
        memcpy(key, text, kn);
        key[kn] = '\0';
        if ((rc = parse_text(eq + 1, TEXT_LONG, false, why, whylen)) != 0)
            return rc;
        rc = ledger_body_put_text(b, key, eq + 1);
        if (rc == LEDGER_EEXIST)
            ledger__errf(why, whylen, "sets '%s' twice", key);
        return rc;
    }
    }
    ledger__errf(why, whylen, "unknown field kind");
    return LEDGER_EINVAL;
}

/* ---- checking a stored body ---- */

static int check_value(const ledger_field *f, ledger__rd *r, char *why, size_t whylen)
{
    ledger__cbitem it;
    size_t start = r->off;
    int rc = ledger__rd_next(r, &it);
    if (rc != 0)
        return rc;
    switch (f->kind) {
    case LEDGER_F_TEXT:
    case LEDGER_F_DEA:
    case LEDGER_F_CHOICE:
    case LEDGER_F_NDC: {
        char buf[LEDGER_TEXT_MAX + 1];
        if (it.kind != LEDGER__CB_TEXT || it.n >= sizeof(buf))
            break;
        memcpy(buf, it.p, it.n);
        buf[it.n] = '\0';
        char sub[128];
        if (f->kind == LEDGER_F_TEXT)
            return parse_text(buf, f->max, (f->flags & LEDGER_FIELD_MULTILINE) != 0, why, whylen);
        if (f->kind == LEDGER_F_DEA)
            return ledger_dea_check(buf, why, whylen);
        if (f->kind == LEDGER_F_CHOICE)
            return choice_ok(f->choices, buf) ? 0 : LEDGER_EINVAL;
        char norm[LEDGER_NDC_BYTES];
        /* stored normalized: normalizing again must give the same text */
        if (ledger_ndc_normalize(norm, buf, sub, sizeof(sub)) != 0 || strcmp(norm, buf) != 0)
            break;
        return 0;
    }
    case LEDGER_F_UINT:
    case LEDGER_F_MILLI:
    case LEDGER_F_CONC:
        if (it.kind != LEDGER__CB_UINT || it.u < f->min || it.u > f->max)
            break;
        return 0;
    case LEDGER_F_TIME:
    case LEDGER_F_DATE:
    case LEDGER_F_SEQ:
        if (it.kind != LEDGER__CB_UINT || it.u > (uint64_t)INT64_MAX ||
            (f->kind == LEDGER_F_DATE && it.u % DAY_MS != 0))
            break;
        return 0;
    case LEDGER_F_FLAG:
        if (it.kind != LEDGER__CB_BOOL || !it.b)
            break;
        return 0;
    case LEDGER_F_KID:
        if (it.kind != LEDGER__CB_BYTES || it.n != KEYS_KID_BYTES)
            break;
        return 0;
    case LEDGER_F_COMMIT:
    case LEDGER_F_HASH:
        if (it.kind != LEDGER__CB_BYTES || it.n != 32)
            break;
        return 0;
    case LEDGER_F_BP: {
        ledger__cbitem s, d;
        if (it.kind != LEDGER__CB_ARRAY || it.u != 2 || ledger__rd_next(r, &s) != 0 ||
            ledger__rd_next(r, &d) != 0 || s.kind != LEDGER__CB_UINT || d.kind != LEDGER__CB_UINT ||
            s.u < 50 || s.u > 300 || d.u < 20 || d.u > 200 || d.u >= s.u)
            break;
        return 0;
    }
    case LEDGER_F_SCHEDULES: {
        /* the same rules as parsing: known schedules, each once */
        char list[32] = "";
        size_t w = 0;
        if (it.kind != LEDGER__CB_ARRAY || it.u == 0 || it.u > 6)
            break;
        for (uint64_t i = 0; i < it.u; i++) {
            ledger__cbitem sc;
            if (ledger__rd_next(r, &sc) != 0 || sc.kind != LEDGER__CB_TEXT || sc.n == 0 || sc.n > 2)
                goto bad;
            memcpy(list + w, sc.p, sc.n);
            w += sc.n;
            list[w++] = ',';
        }
        list[w - 1] = '\0';
        ledger_body *tmp = NULL;
        int prc = ledger_body_new(&tmp);
        if (prc == 0)
            prc = parse_schedules(list, tmp, "s", why, whylen);
        ledger_body_free(tmp);
        if (prc != 0)
            return LEDGER_EINVAL;
        return 0;
    }
    case LEDGER_F_FIELDS:
        if (it.kind != LEDGER__CB_MAP || it.u == 0)
            break;
        r->off = start;
        if (ledger__rd_value(r, 1, NULL) != 0) /* canonical order, then the kinds */
            break;
        {
            ledger__rd m;
            ledger__cbitem h;
            ledger__rd_init(&m, r->p + start, r->off - start, NULL, 0);
            (void)ledger__rd_next(&m, &h);
            for (uint64_t i = 0; i < 2 * h.u; i++) {
                ledger__cbitem kv;
                if (ledger__rd_next(&m, &kv) != 0 || kv.kind != LEDGER__CB_TEXT || kv.n == 0 ||
                    kv.n > TEXT_LONG)
                    goto bad;
            }
        }
        return 0;
    }
bad:
    ledger__errf(why, whylen, "field '%s' has a bad value", f->name);
    return LEDGER_EINVAL;
}

/* The field named by the @p n bytes at @p p (not NUL-terminated; may hold a NUL). */
static const ledger_field *field_n(const ledger_rtype *rt, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < rt->nfields; i++) {
        const char *name = rt->fields[i].name;
        size_t j = 0;
        while (j < n && name[j] != '\0' && (uint8_t)name[j] == p[j])
            j++;
        if (j == n && name[n] == '\0')
            return &rt->fields[i];
    }
    return NULL;
}

/* One body field: key @p k just read from @p r, its value next in @p r.
 * 1 for a malformed body, else 0 or LEDGER_EINVAL with the reason. */
static int check_field(const ledger_rtype *rt, const ledger_entry *e, ledger__rd *r,
                       const ledger__cbitem *k, bool seen[32], char *why, size_t whylen)
{
    char key[48], sub[LEDGER_ERRMSG_MAX];
    if (k->kind != LEDGER__CB_TEXT || k->n >= sizeof(key))
        return 1;
    const ledger_field *f = field_n(rt, k->p, k->n);
    if (f == NULL) {
        memcpy(key, k->p, k->n);
        key[k->n] = '\0';
        /* "<ndc>-written": the NDC as the user wrote it; it must normalize to the NDC */
        size_t n = k->n;
        char base[48];
        memcpy(base, key, n + 1);
        if (n > 8 && strcmp(key + n - 8, "-written") == 0) {
            base[n - 8] = '\0';
            f = ledger_rtype_field(rt, base);
            if (f != NULL && f->kind == LEDGER_F_NDC) {
                ledger__cbitem v;
                char written[LEDGER_NDC_MAX + 1], norm[LEDGER_NDC_BYTES], stored[32];
                if (ledger__rd_next(r, &v) != 0 || v.kind != LEDGER__CB_TEXT ||
                    v.n > LEDGER_NDC_MAX)
                    return 1;
                memcpy(written, v.p, v.n);
                written[v.n] = '\0';
                if (ledger_ndc_normalize(norm, written, NULL, 0) != 0 ||
                    ledger_entry_get_text(e, base, stored, sizeof(stored)) != 0 ||
                    strcmp(norm, stored) != 0) {
                    ledger__errf(why, whylen, "%s: '%s' does not normalize to '%s'", rt->type, key,
                                 base);
                    return LEDGER_EINVAL;
                }
                return 0;
            }
        }
        ledger__errf(why, whylen, "%s: unknown field '%s'", rt->type, key);
        return LEDGER_EINVAL;
    }
    seen[f - rt->fields] = true;
    sub[0] = '\0';
    if (check_value(f, r, sub, sizeof(sub)) != 0) {
        ledger__errf(why, whylen, "%s: field '%s': %s", rt->type, f->name,
                     sub[0] ? sub : "bad value");
        return LEDGER_EINVAL;
    }
    return 0;
}

int ledger_rtype_check_body(const ledger_rtype *rt, const ledger_entry *e, char *why, size_t whylen)
{
    ledger__rd r;
    ledger__cbitem it;
    bool seen[32] = {false};
    int rc;
    if (rt->fields == NULL)
        return 0;
    if (e->nfields > 0) {
        /* decoded strictly (UTF-8, canonical) with its fields indexed: read each
         * key and value where the decoder found it, without checking again */
        for (size_t i = 0; i < e->nfields; i++) {
            size_t end = i + 1 < e->nfields ? e->field_key[i + 1] : e->body_len;
            ledger__rd_init(&r, e->body, end, NULL, 0);
            r.lax = true;
            r.off = e->field_key[i];
            if (ledger__rd_next(&r, &it) != 0)
                goto bad;
            if ((rc = check_field(rt, e, &r, &it, seen, why, whylen)) != 0)
                goto out;
        }
    } else {
        ledger__rd_init(&r, e->body, e->body_len, NULL, 0);
        if (ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_MAP)
            goto bad;
        for (uint64_t i = 0; i < it.u; i++) {
            ledger__cbitem k;
            if (ledger__rd_next(&r, &k) != 0)
                goto bad;
            if ((rc = check_field(rt, e, &r, &k, seen, why, whylen)) != 0)
                goto out;
        }
    }
    for (size_t i = 0; i < rt->nfields; i++)
        if ((rt->fields[i].flags & LEDGER_FIELD_REQUIRED) != 0 && !seen[i]) {
            ledger__errf(why, whylen, "%s: required field '%s' missing", rt->type,
                         rt->fields[i].name);
            return LEDGER_EINVAL;
        }
    return 0;
out:
    if (rc != 1)
        return rc;
bad:
    ledger__errf(why, whylen, "%s: malformed body", rt->type);
    return LEDGER_EINVAL;
}
