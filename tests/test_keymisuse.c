/* Key misuse: an entry signed by a revoked key, by a key not yet valid or
 * enrolled only after it, by the right key over another payload, by a role that
 * may not sign it (an observer acting as pharmacist, a pharmacist as observer,
 * other roles acting as the site), by a key never enrolled. Each is refused at
 * append with the ledger unchanged; forged (tests/forge.c) and planted in LMDB
 * with the chain, Merkle tree, head, key and index records consistent, so the
 * misuse is its only defect, it is caught by verify, by the audit (KEY-ROLE, or
 * CHAIN for a signature), and in an export of that ledger, whole or starting at
 * it, by the export reader and the export audit. A nurse witnessing her own
 * waste is the audit's rule (WASTE-WITNESS), not the chain's. Real LMDB and
 * OpenSSL. */
/* cmocka needs these headers before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "audit_fixture.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge.h"
#include "ledger/export.h"
#include "ledger/records.h"
#include "ledger_int.h"
#include "policy/audit.h"

static int setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

static rxf_keys keyring(fx *f)
{
    rxf_keys k = {{f->site, f->pharm, f->pharm2, f->presc, f->nurse, f->nurse2, f->admin}, 7};
    return k;
}

typedef struct mark {
    uint64_t count;
    uint8_t head[LEDGER_HASH_BYTES];
} mark;

static mark head_now(fx *f)
{
    mark m;
    assert_int_equal(ledger_head(f->l, &m.count, m.head), 0);
    return m;
}

/* An append was refused with @p want and nothing was written. */
static void refused(fx *f, const mark *before, int rc, int want)
{
    mark after = head_now(f);
    if (rc != want)
        print_error("append: %d (%s), expected %d\n", rc, ledger_errmsg(f->l), want);
    assert_int_equal(rc, want);
    assert_int_equal(after.count, before->count);
    assert_memory_equal(after.head, before->head, LEDGER_HASH_BYTES);
}

static ledger_body *note_body(const char *text)
{
    ledger_body *b = fx_body();
    assert_int_equal(ledger_body_put_text(b, "text", text), 0);
    return b;
}

/* Plant an entry of @p type with @p body signed by @p k as @p name at the head,
 * recorded at @p rt (0: a millisecond after the ledger's clock); its seq. */
static uint64_t plant_at(fx *f, const keys_key *k, const char *name, const char *type,
                         ledger_body *body, int64_t rt)
{
    ledger__buf enc, entry;
    mark m = head_now(f);
    char why[LEDGER_ERRMSG_MAX] = "";
    uint64_t seq = 0;
    int64_t now = rt != 0 ? rt : ledger__now_ms() + 1;
    const ledger_rtype *t = ledger_rtype_find(type);
    assert_non_null(t);
    ledger__buf_init(&enc, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&entry, LEDGER_MAX_ENTRY_BYTES);
    ledger__body_encode(body, &enc);
    assert_int_equal(enc.err, 0);
    assert_int_equal(
        rxf_build(&entry, k, name, m.count, m.head, type, now, now, t->meaning, enc.p, enc.len), 0);
    int rc = rxf_append_raw(f->l, entry.p, entry.len, &seq, why, sizeof(why));
    if (rc != 0)
        print_error("plant: %s\n", why);
    assert_int_equal(rc, 0);
    assert_int_equal(seq, m.count);
    ledger__buf_release(&enc);
    ledger__buf_release(&entry);
    ledger_body_free(body);
    return seq;
}

static uint64_t plant(fx *f, const keys_key *k, const char *name, const char *type,
                      ledger_body *body)
{
    return plant_at(f, k, name, type, body, 0);
}

static int collect(const policy_finding *pf, void *ud)
{
    fx *f = ud;
    if (f->nfound < FX_FINDINGS_MAX)
        f->found[f->nfound++] = *pf;
    return 0;
}

static void site_fpr(fx *f, uint8_t fpr[KEYS_FPR_BYTES])
{
    uint8_t pub[KEYS_PUB_BYTES];
    keys_key_pub(f->site, pub);
    keys_fingerprint(fpr, pub);
}

/* The first finding is @p rule about entry @p seq. */
static void first_finding(const fx *f, const char *rule, uint64_t seq)
{
    if (f->nfound == 0 || strcmp(f->found[0].rule, rule) != 0)
        print_error("first finding: %s\n", f->nfound ? f->found[0].message : "(none)");
    assert_true(f->nfound >= 1);
    assert_string_equal(f->found[0].rule, rule);
    assert_int_equal(f->found[0].evidence[0], seq);
    assert_int_equal(f->found[0].severity, POLICY_FAIL);
    assert_true(f->sum.fails >= 1);
}

/* An export of the ledger from @p from is written (the writer checks no signer);
 * its reader refuses entry @p seq with @p cause and @p reason, and its audit
 * makes @p rule the first finding. */
static void caught_in_export(fx *f, uint64_t from, uint64_t seq, int cause, const char *reason,
                             const char *rule)
{
    ledger_export_opts o = LEDGER_EXPORT_INIT;
    ledger_export_info info;
    ledger_export_reader *r = NULL;
    ledger_entry e;
    uint8_t fpr[KEYS_FPR_BYTES];
    char name[64], why[256] = "";
    FILE *t = tmpfile();
    assert_non_null(t);
    site_fpr(f, fpr);
    o.from_seq = from;
    assert_int_equal(ledger_export_write(f->l, f->site, &o, t, &info), 0);
    rewind(t);
    int rc = ledger_export_open(&r, t, fpr);
    while (rc == 0)
        rc = ledger_export_next(r, &e);
    if (rc != LEDGER_EVERIFY || strstr(ledger_export_why(r), reason) == NULL)
        print_error("export from %llu: rc %d: %s\n", (unsigned long long)from, rc,
                    ledger_export_why(r));
    assert_int_equal(rc, LEDGER_EVERIFY);
    assert_int_equal(ledger_export_position(r), seq);
    assert_int_equal(ledger_export_cause(r), cause);
    (void)snprintf(name, sizeof(name), "entry seq %llu ", (unsigned long long)seq);
    assert_non_null(strstr(ledger_export_why(r), name));
    assert_non_null(strstr(ledger_export_why(r), reason));
    ledger_export_close(r);
    /* the export audit: the same first finding */
    policy_audit_opts ao = POLICY_AUDIT_INIT;
    rewind(t);
    f->nfound = 0;
    assert_int_equal(policy_audit_export(t, fpr, &ao, collect, f, &f->sum, why, sizeof(why)), 0);
    first_finding(f, rule, seq);
    fclose(t);
}

/* The planted entry @p seq is caught: by verify (@p cause, @p reason), by the
 * audit (@p rule first), and in exports from 0 and from @p seq. */
static void caught(fx *f, uint64_t seq, int cause, const char *reason, const char *rule)
{
    ledger_verify_result r;
    int rc = ledger_verify(f->l, 0, NULL, NULL, &r);
    if (rc != LEDGER_EVERIFY || r.bad_seq != seq || strstr(r.reason, reason) == NULL)
        print_error("verify: rc %d at %llu: %s\n", rc, (unsigned long long)r.bad_seq, r.reason);
    assert_int_equal(rc, LEDGER_EVERIFY);
    assert_int_equal(r.bad_seq, seq);
    assert_int_equal(r.entries, seq);
    assert_int_equal(r.cause, cause);
    assert_non_null(strstr(r.reason, reason));
    assert_int_equal(fx_audit_ledger(f, NULL), 0);
    first_finding(f, rule, seq);
    caught_in_export(f, 0, seq, cause, reason, rule);
    caught_in_export(f, seq, seq, cause, reason, rule);
}

static void verify_ok(fx *f)
{
    ledger_verify_result r;
    assert_int_equal(rxt_verify(f->l, &r), 0);
}

/* ---- a revoked key ---- */

static void test_keymisuse_revoked_key(void **state)
{
    fx *f = *state;
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
    keys_key_pub(f->pharm2, pub);
    keys_kid(kid, pub);
    ledger_body *b = fx_body();
    assert_int_equal(ledger_body_put_bytes(b, "kid", kid, sizeof(kid)), 0);
    assert_int_equal(ledger_body_put_text(b, "reason", "left the clinic"), 0);
    uint64_t revoked = fx_add(f, f->site, "key.revoke", 0, b);
    ledger_body_free(b);
    mark m = head_now(f);
    b = note_body("after my revocation");
    refused(f, &m, fx_try(f, f->pharm2, "note", 0, b, NULL), LEDGER_EREVOKED);
    uint64_t seq = plant(f, f->pharm2, "Quinn Pharm", "note", b);
    assert_int_equal(seq, revoked + 1);
    caught(f, seq, LEDGER_EREVOKED, "revoked", "KEY-ROLE");
}

/* ---- a key not yet valid, and a key enrolled only after the entry ---- */

static void test_keymisuse_not_yet_valid(void **state)
{
    fx *f = *state;
    keys_key *late = NULL;
    assert_int_equal(keys_generate(&late), 0);
    assert_int_equal(
        rxt_enroll(f->l, f->site, late, "Lou Late, RN", "nurse", ledger__now_ms() + FX_DAY, 0, 0),
        0);
    mark m = head_now(f);
    ledger_body *b = note_body("before my key is valid");
    refused(f, &m, fx_try(f, late, "note", 0, b, NULL), LEDGER_ENOTVALID);
    uint64_t seq = plant(f, late, "Lou Late, RN", "note", b);
    caught(f, seq, LEDGER_ENOTVALID, "not valid at", "KEY-ROLE");
    keys_free(late);
}

static void test_keymisuse_past_valid_until(void **state)
{
    fx *f = *state;
    keys_key *temp = NULL;
    int64_t now = ledger__now_ms();
    assert_int_equal(keys_generate(&temp), 0);
    assert_int_equal(rxt_enroll(f->l, f->site, temp, "Tim Temp, RN", "nurse", 1, now + 3600000, 0),
                     0);
    ledger_body *b = note_body("within my hour");
    assert_int_equal(fx_try(f, temp, "note", now + 1800000, b, NULL), 0);
    ledger_body_free(b);
    mark m = head_now(f);
    b = note_body("after my hour");
    refused(f, &m, fx_try(f, temp, "note", now + 7200000, b, NULL), LEDGER_ENOTVALID);
    uint64_t seq = plant_at(f, temp, "Tim Temp, RN", "note", b, now + 7200000);
    caught(f, seq, LEDGER_ENOTVALID, "not valid at", "KEY-ROLE");
    keys_free(temp);
}

static void test_keymisuse_signed_before_enrolment(void **state)
{
    fx *f = *state;
    keys_key *x = NULL;
    uint8_t pub[KEYS_PUB_BYTES];
    assert_int_equal(keys_generate(&x), 0);
    mark m = head_now(f);
    ledger_body *b = note_body("before my enrolment");
    refused(f, &m, fx_try(f, x, "note", 0, b, NULL), LEDGER_ESIGNER);
    uint64_t seq = plant(f, x, "Xena Early, RN", "note", b);
    /* the enrolment follows it, signed by the site, with its key record */
    keys_key_pub(x, pub);
    b = fx_body();
    assert_int_equal(ledger_body_put_bytes(b, "pub", pub, sizeof(pub)), 0);
    assert_int_equal(ledger_body_put_text(b, "name", "Xena Early, RN"), 0);
    assert_int_equal(ledger_body_put_text(b, "role", "nurse"), 0);
    assert_int_equal(ledger_body_put_text(b, "license", "RN-9"), 0);
    assert_int_equal(ledger_body_put_uint(b, "valid_from", 1), 0);
    assert_int_equal(plant(f, f->site, "Test Clinic", "key.enroll", b), seq + 1);
    ledger_keyinfo info;
    uint8_t kid[KEYS_KID_BYTES];
    keys_kid(kid, pub);
    assert_int_equal(ledger_key_get(f->l, kid, &info), 0);
    assert_int_equal(info.enrolled_seq, seq + 1);
    caught(f, seq, LEDGER_ESIGNER, "not enrolled", "KEY-ROLE");
    keys_free(x);
}

/* ---- the right key over a different payload ---- */

static void test_keymisuse_signature_over_other_payload(void **state)
{
    fx *f = *state;
    rxf_keys keys = keyring(f);
    char why[LEDGER_ERRMSG_MAX] = "";
    ledger_body *b = note_body("counted the safe: 12");
    uint64_t seq = fx_add(f, f->pharm, "note", 0, b);
    ledger_body_free(b);
    b = note_body("checked the fridge");
    fx_add(f, f->nurse, "note", 0, b); /* after it: re-chained and re-signed by the nurse */
    ledger_body_free(b);
    /* No append takes a signature from outside: the library signs what it stores.
     * Planted: the pharmacist's signature over "12", the payload saying "11". */
    int rc = rxf_swap_payload(f->l, seq, "counted the safe: 11", &keys, why, sizeof(why));
    if (rc != 0)
        print_error("swap: %s\n", why);
    assert_int_equal(rc, 0);
    /* the signature is the only defect */
    ledger_verify_result r;
    assert_int_equal(ledger_verify(f->l, LEDGER_VERIFY_NO_SIGNATURES, NULL, NULL, &r), 0);
    caught(f, seq, KEYS_EBADSIG, "signature does not verify", "CHAIN");
}

/* ---- roles ---- */

static ledger_body *receive_body(void)
{
    const ledger_rtype *rt = ledger_rtype_find("stock.receive");
    ledger_body *b = fx_body();
    assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, "ndc"), "50458-028-02", b, NULL, 0),
                     0);
    assert_int_equal(ledger_body_put_text(b, "lot", "LOTN"), 0);
    assert_int_equal(ledger_body_put_uint(b, "expires", (uint64_t)(FX_T0 / FX_DAY + 300) * FX_DAY),
                     0);
    assert_int_equal(ledger_body_put_text(b, "substance", "esketamine"), 0);
    assert_int_equal(ledger_body_put_text(b, "form", "28 mg device"), 0);
    assert_int_equal(ledger_body_put_uint(b, "unit-mg", 28), 0);
    assert_int_equal(ledger_body_put_uint(b, "containers", 1), 0);
    assert_int_equal(ledger_body_put_uint(b, "units-per-container", 2), 0);
    assert_int_equal(ledger_body_put_text(b, "supplier", "McKesson"), 0);
    assert_int_equal(ledger_body_put_text(b, "supplier-address", "1 Main St"), 0);
    assert_int_equal(ledger_body_put_text(b, "supplier-dea", "AP5836727"), 0);
    return b;
}

static void test_keymisuse_observer_as_pharmacist(void **state)
{
    fx *f = *state;
    mark m = head_now(f);
    ledger_body *b = receive_body();
    refused(f, &m, fx_try(f, f->nurse, "stock.receive", 0, b, NULL), LEDGER_EROLE);
    assert_non_null(strstr(ledger_errmsg(f->l), "role 'nurse' may not sign 'stock.receive'"));
    uint64_t seq = plant(f, f->nurse, "Nora Nurse", "stock.receive", b);
    caught(f, seq, LEDGER_EROLE, "role 'nurse' may not sign 'stock.receive'", "KEY-ROLE");
}

static void test_keymisuse_pharmacist_as_observer(void **state)
{
    /* the rule book's example: an observer sign-off by a pharmacist-only key */
    fx *f = *state;
    static const uint8_t patient[32] = {7};
    uint64_t s = fx_session(f, patient, "esketamine", "intranasal", "outpatient", 0, 0);
    mark m = head_now(f);
    ledger_body *b = fx_body();
    assert_int_equal(ledger_body_put_uint(b, "session", s), 0);
    assert_int_equal(ledger_body_put_bool(b, "sedation-resolved", true), 0);
    refused(f, &m, fx_try(f, f->pharm, "discharge", 0, b, NULL), LEDGER_EROLE);
    uint64_t seq = plant(f, f->pharm, "Pat Pharm", "discharge", b);
    caught(f, seq, LEDGER_EROLE, "role 'pharmacist' may not sign 'discharge'", "KEY-ROLE");
}

static void test_keymisuse_admin_as_site(void **state)
{
    fx *f = *state;
    const ledger_rtype *reg = ledger_rtype_find("registration");
    mark m = head_now(f);
    ledger_body *b = fx_body();
    assert_int_equal(ledger_field_parse(ledger_rtype_field(reg, "schedules"), "3", b, NULL, 0), 0);
    assert_int_equal(ledger_body_put_text(b, "dea", "BJ6125341"), 0);
    assert_int_equal(ledger_body_put_uint(b, "expires", (uint64_t)(FX_T0 / FX_DAY + 900) * FX_DAY),
                     0);
    refused(f, &m, fx_try(f, f->admin, "registration", 0, b, NULL), LEDGER_EROLE);
    uint64_t seq = plant(f, f->admin, "Ada Admin", "registration", b);
    caught(f, seq, LEDGER_EROLE, "role 'admin' may not sign 'registration'", "KEY-ROLE");
}

static void test_keymisuse_pharmacist_enrolling(void **state)
{
    /* a person's key acting as the site: enrolling a key, with its key record */
    fx *f = *state;
    keys_key *x = NULL;
    uint8_t pub[KEYS_PUB_BYTES];
    assert_int_equal(keys_generate(&x), 0);
    keys_key_pub(x, pub);
    mark m = head_now(f);
    ledger_body *b = fx_body();
    assert_int_equal(ledger_body_put_bytes(b, "pub", pub, sizeof(pub)), 0);
    assert_int_equal(ledger_body_put_text(b, "name", "Pal Friend"), 0);
    assert_int_equal(ledger_body_put_text(b, "role", "pharmacist"), 0);
    assert_int_equal(ledger_body_put_text(b, "license", "RPH-0"), 0);
    assert_int_equal(ledger_body_put_uint(b, "valid_from", 1), 0);
    refused(f, &m, fx_try(f, f->pharm, "key.enroll", 0, b, NULL), LEDGER_EROLE);
    uint64_t seq = plant(f, f->pharm, "Pat Pharm", "key.enroll", b);
    caught(f, seq, LEDGER_EROLE, "role 'pharmacist' may not sign 'key.enroll'", "KEY-ROLE");
    keys_free(x);
}

/* ---- a key never enrolled ---- */

static void test_keymisuse_never_enrolled(void **state)
{
    fx *f = *state;
    keys_key *eve = NULL;
    assert_int_equal(keys_generate(&eve), 0);
    mark m = head_now(f);
    ledger_body *b = note_body("hello from outside");
    refused(f, &m, fx_try(f, eve, "note", 0, b, NULL), LEDGER_ESIGNER);
    uint64_t seq = plant(f, eve, "Eve Outsider", "note", b);
    caught(f, seq, LEDGER_ESIGNER, "not enrolled", "KEY-ROLE");
    keys_free(eve);
}

/* ---- an enrolled key under another person's printed name ---- */

static void test_keymisuse_other_printed_name(void **state)
{
    /* validly signed by an enrolled pharmacist, but the signature manifestation
     * (Part 11: printed name, time, meaning) names the prescriber */
    fx *f = *state;
    uint64_t seq = plant(f, f->pharm, "Dr Presc", "note", note_body("prescribed nothing"));
    caught(f, seq, LEDGER_EINVAL, "differs from the enrolled name", "CHAIN");
}

/* ---- a nurse witnessing her own waste ---- */

static void test_keymisuse_self_witnessed_waste(void **state)
{
    fx *f = *state;
    const ledger_rtype *waste = ledger_rtype_find("waste");
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES], fpr[KEYS_FPR_BYTES];
    ledger_entry e;
    ledger_body *b = fx_body();
    assert_int_equal(
        ledger_field_parse(ledger_rtype_field(waste, "ndc"), "50458-028-02", b, NULL, 0), 0);
    assert_int_equal(ledger_body_put_text(b, "lot", "LOTA"), 0);
    assert_int_equal(ledger_body_put_uint(b, "mg", 10), 0);
    assert_int_equal(ledger_body_put_text(b, "manner", "sink"), 0);
    uint64_t w = plant(f, f->nurse, "Nora Nurse", "waste", b);
    assert_int_equal(ledger_read_entry(f->l, w, buf, sizeof(buf), &e), 0);
    b = fx_body();
    assert_int_equal(ledger_body_put_uint(b, "ref", w), 0);
    assert_int_equal(ledger_body_put_bytes(b, "ref-hash", e.hash, LEDGER_HASH_BYTES), 0);
    assert_int_equal(plant(f, f->nurse, "Nora Nurse", "witness", b), w + 1);
    /* every entry is a valid entry by an enrolled licensed key: the chain holds
     * (the rule book puts the witness's identity in the audit, WASTE-WITNESS) */
    verify_ok(f);
    assert_int_equal(fx_audit_ledger(f, NULL), 0);
    const policy_finding *pf = fx_first(f, "WASTE-WITNESS");
    assert_non_null(pf);
    assert_int_equal(pf->severity, POLICY_FAIL);
    assert_true(fx_evidence(f, "WASTE-WITNESS", w));
    assert_non_null(strstr(pf->message, "witnessed it themself"));
    /* an export verifies, and its audit finds the same */
    ledger_export_opts o = LEDGER_EXPORT_INIT;
    ledger_export_info info;
    policy_audit_opts ao = POLICY_AUDIT_INIT;
    char why[256] = "";
    FILE *t = tmpfile();
    assert_non_null(t);
    site_fpr(f, fpr);
    assert_int_equal(ledger_export_write(f->l, f->site, &o, t, &info), 0);
    rewind(t);
    f->nfound = 0;
    assert_int_equal(policy_audit_export(t, fpr, &ao, collect, f, &f->sum, why, sizeof(why)), 0);
    assert_true(fx_evidence(f, "WASTE-WITNESS", w));
    assert_int_equal(fx_count(f, "CHAIN") + fx_count(f, "KEY-ROLE"), 0);
    fclose(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keymisuse_revoked_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_not_yet_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_past_valid_until, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_signed_before_enrolment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_signature_over_other_payload, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_observer_as_pharmacist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_pharmacist_as_observer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_admin_as_site, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_pharmacist_enrolling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_never_enrolled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_other_printed_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keymisuse_self_witnessed_waste, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
