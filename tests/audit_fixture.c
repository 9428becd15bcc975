/* Shared fixture for audit scenario tests (see audit_fixture.h). */
#include "audit_fixture.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ident.h"
#include "ledger/records.h"
#include "ledger_int.h"

/* The fixture's clock: every entry is recorded at its event time, in order. */
static int64_t fx_clock_ms;
static int64_t fx_clock(void)
{
    return fx_clock_ms;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "audit fixture: %s failed: %s\n", what, ledger_strerror(rc));
    abort();
}

static keys_key *newkey(void)
{
    keys_key *k = NULL;
    int rc = keys_generate(&k);
    if (rc != 0)
        die("keys_generate", rc);
    return k;
}

ledger_body *fx_body(void)
{
    ledger_body *b = NULL;
    if (ledger_body_new(&b) != 0)
        die("ledger_body_new", LEDGER_ENOMEM);
    return b;
}

int fx_try(fx *f, keys_key *k, const char *type, int64_t at, ledger_body *body, uint64_t *seq)
{
    ledger_append_opts o = LEDGER_APPEND_INIT;
    ledger_appended ap;
    if (at > fx_clock_ms)
        fx_clock_ms = at;
    else
        fx_clock_ms += 1;
    o.type = type;
    o.body = body;
    o.event_ms = at;
    int rc = ledger_append(f->l, k, &o, &ap);
    if (rc == 0 && seq != NULL)
        *seq = ap.seq;
    return rc;
}

uint64_t fx_add(fx *f, keys_key *k, const char *type, int64_t at, ledger_body *body)
{
    uint64_t seq = 0;
    int rc = fx_try(f, k, type, at, body, &seq);
    if (rc != 0) {
        fprintf(stderr, "audit fixture: append %s: %s\n", type, ledger_errmsg(f->l));
        abort();
    }
    return seq;
}

static void enroll(fx *f, keys_key *k, const char *name, const char *role, uint8_t *kid_out)
{
    uint8_t pub[KEYS_PUB_BYTES];
    int rc;
    keys_key_pub(k, pub);
    if (kid_out != NULL)
        keys_kid(kid_out, pub);
    fx_clock_ms += 1; /* recorded in order, like every fixture append */
    if ((rc = rxt_enroll(f->l, f->site, k, name, role, 1, 0, 0)) != 0)
        die("enroll", rc);
}

static fx *make(bool with_site_records)
{
    fx *f = calloc(1, sizeof(*f));
    char err[256];
    int rc;
    if (f == NULL)
        abort();
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/rxl-audit-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        abort();
    f->site = newkey();
    f->pharm = newkey();
    f->pharm2 = newkey();
    f->presc = newkey();
    f->nurse = newkey();
    f->nurse2 = newkey();
    f->admin = newkey();
    ledger__test_clock = fx_clock;
    fx_clock_ms = FX_T0 - 60 * FX_DAY;
    if ((rc = ledger_open(&f->l, f->dir, LEDGER_OPEN_CREATE, err, sizeof(err))) != 0)
        die("ledger_open", rc);
    if ((rc = ledger_init(f->l, f->site, "Test Clinic", "BJ6125341", NULL)) != 0)
        die("ledger_init", rc);
    enroll(f, f->pharm, "Pat Pharm", "pharmacist", f->kid_pharm);
    enroll(f, f->pharm2, "Quinn Pharm", "pharmacist", NULL);
    enroll(f, f->presc, "Dr Presc", "prescriber", f->kid_presc);
    enroll(f, f->nurse, "Nora Nurse", "nurse", f->kid_nurse);
    enroll(f, f->nurse2, "Ned Nurse", "nurse", NULL);
    enroll(f, f->admin, "Ada Admin", "admin", NULL);
    if (with_site_records) {
        ledger_body *b = fx_body();
        const ledger_rtype *reg = ledger_rtype_find("registration");
        if (ledger_field_parse(ledger_rtype_field(reg, "schedules"), "3,4,5", b, NULL, 0) != 0)
            die("schedules", LEDGER_EINVAL);
        (void)ledger_body_put_text(b, "dea", "BJ6125341");
        (void)ledger_body_put_uint(b, "expires",
                                   (uint64_t)(FX_T0 / FX_DAY * FX_DAY + 730 * FX_DAY));
        fx_add(f, f->site, "registration", FX_T0 - 30 * FX_DAY, b);
        ledger_body_free(b);
        b = fx_body();
        (void)ledger_body_put_text(b, "rems-id", "SET-1");
        (void)ledger_body_put_text(b, "kind", "outpatient");
        (void)ledger_body_put_uint(b, "from", (uint64_t)(FX_T0 / FX_DAY * FX_DAY - 30 * FX_DAY));
        fx_add(f, f->site, "setting.certify", FX_T0 - 30 * FX_DAY, b);
        ledger_body_free(b);
    }
    return f;
}

fx *fx_new(void)
{
    return make(true);
}

fx *fx_new_bare(void)
{
    return make(false);
}

void fx_free(fx *f)
{
    if (f == NULL)
        return;
    ledger_close(f->l);
    keys_free(f->site);
    keys_free(f->pharm);
    keys_free(f->pharm2);
    keys_free(f->presc);
    keys_free(f->nurse);
    keys_free(f->nurse2);
    keys_free(f->admin);
    if (rxt_rm_rf(f->dir) != 0)
        fprintf(stderr, "audit fixture: cannot remove %s\n", f->dir);
    free(f);
}

uint64_t fx_enroll_patient(fx *f, const uint8_t patient[32], int64_t on_ms, int64_t at)
{
    ledger_body *b = fx_body();
    uint8_t rems[32];
    memset(rems, 0x5a, sizeof(rems));
    rems[0] = patient[0];
    (void)ledger_body_put_bytes(b, "patient", patient, 32);
    (void)ledger_body_put_bytes(b, "rems-patient-id", rems, sizeof(rems));
    (void)ledger_body_put_uint(b, "on", (uint64_t)(on_ms / FX_DAY * FX_DAY));
    uint64_t seq = fx_add(f, f->presc, "patient.enroll", at, b);
    ledger_body_free(b);
    return seq;
}

uint64_t fx_session(fx *f, const uint8_t patient[32], const char *drug, const char *route,
                    const char *setting, int64_t at, uint64_t weight_g)
{
    ledger_body *b = fx_body();
    (void)ledger_body_put_bytes(b, "patient", patient, 32);
    (void)ledger_body_put_text(b, "drug", drug);
    (void)ledger_body_put_text(b, "route", route);
    (void)ledger_body_put_text(b, "setting", setting);
    (void)ledger_body_put_bytes(b, "prescriber", f->kid_presc, KEYS_KID_BYTES);
    (void)ledger_body_put_bytes(b, "observer", f->kid_nurse, KEYS_KID_BYTES);
    if (weight_g != 0)
        (void)ledger_body_put_uint(b, "weight-kg", weight_g);
    uint64_t seq = fx_add(f, f->nurse, "session.open", at, b);
    ledger_body_free(b);
    return seq;
}

uint64_t fx_vitals(fx *f, uint64_t s, const char *phase, unsigned sys, unsigned dia, int spo2,
                   int64_t at)
{
    ledger_body *b = fx_body();
    char bp[16];
    (void)ledger_body_put_uint(b, "session", s);
    (void)ledger_body_put_text(b, "phase", phase);
    if (sys != 0) {
        const ledger_rtype *rt = ledger_rtype_find("vitals");
        (void)snprintf(bp, sizeof(bp), "%u/%u", sys, dia);
        if (ledger_field_parse(ledger_rtype_field(rt, "bp"), bp, b, NULL, 0) != 0)
            die("bp", LEDGER_EINVAL);
    }
    if (spo2 >= 0)
        (void)ledger_body_put_uint(b, "spo2", (uint64_t)spo2);
    if (sys == 0 && spo2 < 0)
        (void)ledger_body_put_uint(b, "hr", 70);
    uint64_t seq = fx_add(f, f->nurse, "vitals", at, b);
    ledger_body_free(b);
    return seq;
}

static void put_ndc(ledger_body *b, const char *ndc)
{
    const ledger_rtype *rt = ledger_rtype_find("dose");
    if (ledger_field_parse(ledger_rtype_field(rt, "ndc"), ndc, b, NULL, 0) != 0)
        die("ndc", LEDGER_EINVAL);
}

uint64_t fx_dose(fx *f, uint64_t s, const char *ndc, const char *lot, uint64_t mg, int64_t at)
{
    ledger_body *b = fx_body();
    (void)ledger_body_put_uint(b, "session", s);
    put_ndc(b, ndc);
    (void)ledger_body_put_text(b, "lot", lot);
    (void)ledger_body_put_uint(b, "mg", mg);
    uint64_t seq = fx_add(f, f->nurse, "dose", at, b);
    ledger_body_free(b);
    return seq;
}

uint64_t fx_discharge(fx *f, uint64_t s, bool all_attested, bool transport, int64_t at)
{
    ledger_body *b = fx_body();
    (void)ledger_body_put_uint(b, "session", s);
    if (all_attested) {
        (void)ledger_body_put_bool(b, "sedation-resolved", true);
        (void)ledger_body_put_bool(b, "dissociation-resolved", true);
        (void)ledger_body_put_bool(b, "respiration-stable", true);
    }
    if (transport)
        (void)ledger_body_put_bool(b, "transport-arranged", true);
    uint64_t seq = fx_add(f, f->nurse, "discharge", at, b);
    ledger_body_free(b);
    return seq;
}

uint64_t fx_receive(fx *f, const char *ndc, const char *lot, uint64_t containers, uint64_t per,
                    uint64_t unit_mg, int64_t expires_ms, int64_t at)
{
    ledger_body *b = fx_body();
    put_ndc(b, ndc);
    (void)ledger_body_put_text(b, "lot", lot);
    (void)ledger_body_put_uint(b, "expires", (uint64_t)(expires_ms / FX_DAY * FX_DAY));
    (void)ledger_body_put_text(b, "substance", unit_mg == 28 ? "esketamine" : "ketamine");
    (void)ledger_body_put_text(b, "form", "unit");
    (void)ledger_body_put_uint(b, "unit-mg", unit_mg);
    (void)ledger_body_put_uint(b, "containers", containers);
    (void)ledger_body_put_uint(b, "units-per-container", per);
    (void)ledger_body_put_text(b, "supplier", "Supplier");
    (void)ledger_body_put_text(b, "supplier-address", "1 Main St");
    (void)ledger_body_put_text(b, "supplier-dea", "AP5836727");
    uint64_t seq = fx_add(f, f->pharm, "stock.receive", at, b);
    ledger_body_free(b);
    return seq;
}

uint64_t fx_good_esk_session(fx *f, const uint8_t patient[32], int64_t t, uint64_t devices)
{
    uint64_t s = fx_session(f, patient, "esketamine", "intranasal", "outpatient", t, 0);
    fx_vitals(f, s, "pre", 128, 82, 98, t + 2 * FX_MIN);
    int64_t last = t;
    for (uint64_t i = 0; i < devices; i++) {
        last = t + (int64_t)(5 + 5 * i) * FX_MIN;
        fx_dose(f, s, "50458-028-02", "LOTA", 28, last);
    }
    fx_vitals(f, s, "post40", 130, 84, 97, t + 5 * FX_MIN + 40 * FX_MIN);
    fx_vitals(f, s, "discharge", 124, 80, 98, last + 125 * FX_MIN);
    fx_discharge(f, s, true, true, last + 130 * FX_MIN);
    ledger_body *b = fx_body();
    (void)ledger_body_put_uint(b, "session", s);
    (void)ledger_body_put_uint(b, "submitted", (uint64_t)((t + FX_DAY) / FX_DAY * FX_DAY));
    fx_add(f, f->presc, "pmf", t + FX_DAY, b);
    ledger_body_free(b);
    return s;
}

static int collect(const policy_finding *pf, void *ud)
{
    fx *f = ud;
    if (f->nfound < FX_FINDINGS_MAX)
        f->found[f->nfound++] = *pf;
    return 0;
}

int fx_audit(fx *f, const policy_audit_opts *opts)
{
    policy_audit_opts o = POLICY_AUDIT_INIT;
    policy_source src;
    ledger_verify_result vr;
    char why[256];
    int rc;
    if (opts != NULL)
        o = *opts;
    f->nfound = 0;
    if (ledger_verify(f->l, 0, NULL, NULL, &vr) == LEDGER_EVERIFY)
        o.trusted = vr.bad_seq;
    if ((rc = policy_source_ledger(&src, f->l)) != 0)
        return rc;
    rc = policy_audit(&src, &o, collect, f, &f->sum, why, sizeof(why));
    policy_source_ledger_close(&src);
    return rc;
}

size_t fx_count(const fx *f, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nfound; i++)
        n += rule == NULL || strcmp(f->found[i].rule, rule) == 0;
    return n;
}

const policy_finding *fx_first(const fx *f, const char *rule)
{
    for (size_t i = 0; i < f->nfound; i++)
        if (strcmp(f->found[i].rule, rule) == 0)
            return &f->found[i];
    return NULL;
}

bool fx_evidence(const fx *f, const char *rule, uint64_t seq)
{
    const policy_finding *pf = fx_first(f, rule);
    for (size_t i = 0; pf != NULL && i < pf->nevidence; i++)
        if (pf->evidence[i] == seq)
            return true;
    return false;
}

int fx_audit_ledger(fx *f, const policy_audit_opts *opts)
{
    policy_audit_opts o = POLICY_AUDIT_INIT;
    char why[256];
    if (opts != NULL)
        o = *opts;
    f->nfound = 0;
    return policy_audit_ledger(f->l, &o, collect, f, &f->sum, why, sizeof(why));
}
