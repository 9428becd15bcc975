/* Unit tests of the record-type table (ledger/records.h): parsing every field
 * kind into its exact stored CBOR, checking bodies at append, the role table,
 * and the binding of witnesses and amendments to the entries they name.
 * Real LMDB in fresh temp directories and real OpenSSL. */
/* cmocka needs these headers before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ident.h"
#include "ledger/ledger.h"
#include "ledger/records.h"
#include "ledger_int.h"

#define DAY_MS   INT64_C(86400000)
#define T_FAR    INT64_C(800000000000) /* 1995: keys are valid from here */
#define NDC_NORM "50458-0028-02"

/* ---- parsing a single field ---- */

typedef struct parsed {
    int rc;
    char why[LEDGER_ERRMSG_MAX];
    size_t count; /* fields in the body afterwards */
    uint8_t bytes[1024];
    size_t len;
    char hex[2049]; /* the body's canonical CBOR */
} parsed;

static const ledger_field *field(const char *type, const char *name)
{
    const ledger_rtype *rt = ledger_rtype_find(type);
    assert_non_null(rt);
    const ledger_field *f = ledger_rtype_field(rt, name);
    assert_non_null(f);
    return f;
}

/* Parse @p text as field @p name of @p type into a fresh body and encode it. */
static void parse(parsed *p, const char *type, const char *name, const char *text)
{
    ledger_body *b = NULL;
    ledger__buf out;
    memset(p, 0, sizeof(*p));
    assert_int_equal(ledger_body_new(&b), 0);
    p->rc = ledger_field_parse(field(type, name), text, b, p->why, sizeof(p->why));
    p->count = ledger__body_count(b);
    ledger__buf_init(&out, sizeof(p->bytes));
    ledger__body_encode(b, &out);
    assert_int_equal(out.err, 0);
    memcpy(p->bytes, out.p, out.len);
    p->len = out.len;
    ledger_hex(p->hex, out.p, out.len);
    ledger__buf_release(&out);
    ledger_body_free(b);
}

/* The text parses and the body is exactly @p want (hex of canonical CBOR). */
static void parses_to(const char *type, const char *name, const char *text, const char *want)
{
    parsed p;
    parse(&p, type, name, text);
    if (p.rc != 0)
        fprintf(stderr, "%s --%s '%s': %s\n", type, name, text, p.why);
    assert_int_equal(p.rc, 0);
    if (strcmp(p.hex, want) != 0)
        fprintf(stderr, "%s --%s '%s': got %s\n", type, name, text, p.hex);
    assert_string_equal(p.hex, want);
}

/* The text is refused with a reason and nothing is added to the body. */
static void refused(const char *type, const char *name, const char *text)
{
    parsed p;
    parse(&p, type, name, text);
    if (p.rc != LEDGER_EINVAL)
        fprintf(stderr, "%s --%s '%s' not refused: rc %d, %s\n", type, name, text, p.rc, p.hex);
    assert_int_equal(p.rc, LEDGER_EINVAL);
    assert_true(p.why[0] != '\0');
    assert_int_equal(p.count, 0);
}

/* The single uint value of a one-field body. */
static uint64_t only_uint(const parsed *p)
{
    ledger__rd r;
    ledger__cbitem it;
    ledger__rd_init(&r, p->bytes, p->len, NULL, 0);
    assert_int_equal(ledger__rd_next(&r, &it), 0);
    assert_int_equal(it.kind, LEDGER__CB_MAP);
    assert_int_equal(it.u, 1);
    assert_int_equal(ledger__rd_next(&r, &it), 0); /* key */
    assert_int_equal(ledger__rd_next(&r, &it), 0);
    assert_int_equal(it.kind, LEDGER__CB_UINT);
    assert_int_equal(r.off, p->len);
    return it.u;
}

static void test_records_text(void **state)
{
    char max[65], over[66];
    parsed p;
    (void)state;
    parses_to("stock.receive", "lot", "AB12", "a1636c6f746441423132");
    memset(max, 'L', 64);
    max[64] = '\0';
    parse(&p, "stock.receive", "lot", max);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.count, 1);
    memset(over, 'L', 65);
    over[65] = '\0';
    refused("stock.receive", "lot", over);
    refused("stock.receive", "lot", "");
    refused("stock.receive", "lot", "A\tB");
    refused("stock.receive", "lot", "A\nB");
    refused("stock.receive", "lot", "A\x1b[31m");
    refused("stock.receive", "lot", "A\x7f");
    refused("stock.receive", "lot",
            "A\xc2\x9b"
            "31m"); /* U+009B, the C1 CSI */
    refused("stock.receive", "lot", "A\xc2\x80");
    /* U+00A0 and U+00E9 follow the C1 range and are printable */
    parses_to("stock.receive", "lot",
              "A\xc2\xa0"
              "B",
              "a1636c6f746441c2a042");
    parses_to("stock.receive", "lot", "\xc3\xa9", "a1636c6f7462c3a9");
    /* not UTF-8: refused by the body */
    parse(&p, "stock.receive", "lot", "A\xff");
    assert_int_equal(p.rc, LEDGER_EINVAL);
    assert_int_equal(p.count, 0);
    /* a long text field has its own bound (512) */
    char addr[514];
    memset(addr, 'a', 513);
    addr[513] = '\0';
    refused("stock.receive", "supplier-address", addr);
    addr[512] = '\0';
    parse(&p, "stock.receive", "supplier-address", addr);
    assert_int_equal(p.rc, 0);
}

static void test_records_uint(void **state)
{
    (void)state;
    /* vitals hr is 20..250 */
    parses_to("vitals", "hr", "20", "a162687214");
    parses_to("vitals", "hr", "250", "a162687218fa");
    refused("vitals", "hr", "19");
    refused("vitals", "hr", "251");
    /* dose mg is 1..100000 */
    parses_to("dose", "mg", "100000", "a1626d671a000186a0");
    refused("dose", "mg", "100001");
    refused("dose", "mg", "0");
    /* leading zeros are decimal, not octal */
    parses_to("dose", "mg", "012", "a1626d670c");
    refused("dose", "mg", "");
    refused("dose", "mg", "12a");
    refused("dose", "mg", "1.5");
    refused("dose", "mg", "-1");
    refused("dose", "mg", "+1");
    refused("dose", "mg", " 1");
    refused("dose", "mg", "1 ");
    refused("dose", "mg", "0x10");
    /* 20 digits are refused outright (even ones that fit in 64 bits) */
    refused("stock.count", "on-hand", "10000000000000000000");
    refused("stock.count", "on-hand", "99999999999999999999");
    /* 19 digits parse, then fail the range */
    refused("stock.count", "on-hand", "9999999999999999999");
    parses_to("stock.count", "on-hand", "0", "a1676f6e2d68616e6400");
    parses_to("stock.count", "on-hand", "10000000", "a1676f6e2d68616e641a00989680");
    refused("stock.count", "on-hand", "10000001");
}

static void test_records_milli(void **state)
{
    (void)state;
    /* dose ml is 0.001..1000 mL, stored in uL */
    parses_to("dose", "ml", "72.5", "a1626d6c1a00011b34");
    parses_to("dose", "ml", "0.72", "a1626d6c1902d0");
    parses_to("dose", "ml", "0.001", "a1626d6c01");
    parses_to("dose", "ml", "1000", "a1626d6c1a000f4240");
    parses_to("dose", "ml", "1000.000", "a1626d6c1a000f4240");
    refused("dose", "ml", "1000.001");
    refused("dose", "ml", "0");
    refused("dose", "ml", "0.0001");
    refused("dose", "ml", "1.2345");
    refused("dose", "ml", ".");
    refused("dose", "ml", ".5");
    refused("dose", "ml", "5.");
    refused("dose", "ml", "");
    refused("dose", "ml", "1,5");
    refused("dose", "ml", "1.5.1");
    refused("dose", "ml", "-1");
    refused("dose", "ml", "12345678901234");
    /* weight-kg is 1..500 kg, stored in g */
    parses_to("session.open", "weight-kg", "72.5", "a1697765696768742d6b671a00011b34");
    refused("session.open", "weight-kg", "0.72");
    refused("session.open", "weight-kg", "0.999");
    refused("session.open", "weight-kg", "500.001");
    parsed p;
    parse(&p, "session.open", "weight-kg", "1");
    assert_int_equal(p.rc, 0);
    assert_int_equal(only_uint(&p), 1000);
    parse(&p, "session.open", "weight-kg", "500");
    assert_int_equal(p.rc, 0);
    assert_int_equal(only_uint(&p), 500000);
}

static void test_records_conc(void **state)
{
    (void)state;
    parses_to("dose", "concentration", "50mg/ml", "a16d636f6e63656e74726174696f6e19c350");
    parses_to("dose", "concentration", "50 mg/mL", "a16d636f6e63656e74726174696f6e19c350");
    parses_to("dose", "concentration", "0.5mg/ml", "a16d636f6e63656e74726174696f6e1901f4");
    parses_to("dose", "concentration", "1000mg/ml", "a16d636f6e63656e74726174696f6e1a000f4240");
    refused("dose", "concentration", "1000.001mg/ml");
    refused("dose", "concentration", "0mg/ml");
    refused("dose", "concentration", "50mg");
    refused("dose", "concentration", "50");
    refused("dose", "concentration", "mg/ml");
    refused("dose", "concentration", "50mcg/ml");
    refused("dose", "concentration", "50MG/ML");
    refused("dose", "concentration", "50mg/ml ");
    refused("dose", "concentration", "0.5555mg/ml");
    refused("dose", "concentration", "");
    refused("dose", "concentration", "123456789012345678901234567890mg/ml");
}

static void test_records_time(void **state)
{
    parsed p;
    (void)state;
    /* 2026-11-22T14:05:00-07:00 is 21:05:00Z */
    parses_to("stock.loss", "discovered", "2026-11-22T14:05:00-07:00",
              "a16a646973636f76657265641b000001a205139860");
    parses_to("stock.loss", "discovered", "2026-11-22T21:05:00Z",
              "a16a646973636f76657265641b000001a205139860");
    int64_t before = ledger__now_ms();
    parse(&p, "stock.loss", "discovered", "now");
    int64_t after = ledger__now_ms();
    assert_int_equal(p.rc, 0);
    uint64_t v = only_uint(&p);
    assert_true(v >= (uint64_t)before && v <= (uint64_t)after);
    refused("stock.loss", "discovered", "");
    refused("stock.loss", "discovered", "yesterday");
    refused("stock.loss", "discovered", "2026-11-22");
    refused("stock.loss", "discovered", "2026-02-30T10:00:00Z");
    refused("stock.loss", "discovered", "2026-11-22T24:00:00Z");
}

static void test_records_date(void **state)
{
    parsed p;
    (void)state;
    parses_to("stock.receive", "expires", "2027-01-31", "a167657870697265731b000001a3690a9c00");
    parse(&p, "stock.receive", "expires", "2028-02-29");
    assert_int_equal(p.rc, 0);
    uint64_t v = only_uint(&p);
    assert_int_equal(v % (uint64_t)DAY_MS, 0);
    int64_t want;
    assert_int_equal(ledger_time_parse(&want, "2028-02-29T00:00:00Z", NULL, 0), 0);
    assert_int_equal(v, (uint64_t)want);
    refused("stock.receive", "expires", "2027-02-29");
    refused("stock.receive", "expires", "2027-1-31");
    refused("stock.receive", "expires", "2027-01-31T00:00:00Z");
    refused("stock.receive", "expires", "");
}

static void test_records_ndc(void **state)
{
    parsed p;
    (void)state;
    /* normalized 5-4-2 under "ndc", the original under "ndc-written" */
    parses_to("dose", "ndc", "50458-028-02",
              "a2636e64636d35303435382d303032382d30326b6e64632d7772697474656e6c35303435382d303"
              "2382d3032");
    parses_to("dose", "ndc", "0002-7597-01",
              "a2636e64636d30303030322d373539372d30316b6e64632d7772697474656e6c303030322d37353"
              "9372d3031");
    parse(&p, "stock.receive", "ndc", "60575-4112-1");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.count, 2);
    assert_non_null(strstr(p.hex, "36303537352d343131322d3031")); /* "60575-4112-01" */
    refused("dose", "ndc", "5045802802"); /* 10 digits without hyphens: ambiguous */
    refused("dose", "ndc", "50458-28-02");
    refused("dose", "ndc", "50458-0028-02-1");
    refused("dose", "ndc", "50458-O28-02");
    refused("dose", "ndc", "");
}

static void test_records_dea(void **state)
{
    (void)state;
    parses_to("stock.receive", "supplier-dea", "AP5836727",
              "a16c737570706c6965722d64656169415035383336373237");
    parsed p;
    parse(&p, "stock.receive", "supplier-dea", "AJ5184279");
    assert_int_equal(p.rc, 0);
    parse(&p, "registration", "dea", "AP5836727-X1");
    assert_int_equal(p.rc, 0);
    refused("stock.receive", "supplier-dea", "AB4523763"); /* check digit */
    refused("stock.receive", "supplier-dea", "AP5836728");
    refused("stock.receive", "supplier-dea", "ap5836727");
    refused("stock.receive", "supplier-dea", "AP583672");
    refused("stock.receive", "supplier-dea", "");
}

static void test_records_choice(void **state)
{
    (void)state;
    parses_to("stock.receive", "substance", "esketamine",
              "a1697375627374616e63656a65736b6574616d696e65");
    parsed p;
    parse(&p, "stock.receive", "substance", "ketamine");
    assert_int_equal(p.rc, 0);
    parse(&p, "session.open", "route", "oral");
    assert_int_equal(p.rc, 0);
    refused("stock.receive", "substance", "Ketamine");
    refused("stock.receive", "substance", "keta");
    refused("stock.receive", "substance", "ketamine ");
    refused("stock.receive", "substance", "esketamine|ketamine");
    refused("stock.receive", "substance", "");
    refused("session.open", "route", "rectal");
}

static void test_records_kid(void **state)
{
    (void)state;
    parses_to("session.open", "prescriber", "000102030405060708090a0b0c0d0e0f",
              "a16a7072657363726962657250000102030405060708090a0b0c0d0e0f");
    refused("session.open", "prescriber", "000102030405060708090a0b0c0d0e0");
    refused("session.open", "prescriber", "000102030405060708090a0b0c0d0e0f0");
    refused("session.open", "prescriber", "000102030405060708090a0b0c0d0e0g");
    refused("session.open", "prescriber", "");
}

static void test_records_seq(void **state)
{
    (void)state;
    parses_to("dose", "session", "42", "a16773657373696f6e182a");
    /* 19 digits are the most a number may have */
    parses_to("dose", "session", "1000000000000000000", "a16773657373696f6e1b0de0b6b3a7640000");
    refused("dose", "session", "10000000000000000000");
    refused("dose", "session", "x");
    refused("dose", "session", "-1");
    refused("dose", "session", "");
}

static void test_records_commit_hash(void **state)
{
    char hex[65];
    (void)state;
    for (int i = 0; i < 32; i++)
        (void)snprintf(hex + 2 * i, 3, "%02x", i);
    parses_to("session.open", "patient", hex,
              "a16770617469656e745820000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c"
              "1d1e1f");
    parses_to("witness", "ref-hash", hex,
              "a168726566" /* "ref-hash" */
              "2d686173685820000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    refused("witness", "ref-hash", "00");
    hex[63] = '\0';
    refused("session.open", "patient", hex);
    refused("witness", "ref-hash", hex);
    hex[63] = 'z';
    refused("witness", "ref-hash", hex);
}

static void test_records_bp(void **state)
{
    (void)state;
    parses_to("vitals", "bp", "128/82", "a16262708218801852");
    parses_to("vitals", "bp", "300/200", "a16262708219012c18c8");
    parses_to("vitals", "bp", "50/20", "a162627082183214");
    refused("vitals", "bp", "301/80");
    refused("vitals", "bp", "49/30");
    refused("vitals", "bp", "120/201");
    refused("vitals", "bp", "120/19");
    refused("vitals", "bp", "80/80");
    refused("vitals", "bp", "80/90");
    refused("vitals", "bp", "128-82");
    refused("vitals", "bp", "/82");
    refused("vitals", "bp", "128/");
    refused("vitals", "bp", "128/82/70");
    refused("vitals", "bp", "12345678/82");
    refused("vitals", "bp", "");
}

static void test_records_schedules(void **state)
{
    (void)state;
    parses_to("registration", "schedules", "3,4,5", "a1697363686564756c657383613361346135");
    parses_to("registration", "schedules", "2N,3N", "a1697363686564756c65738262324e62334e");
    parsed p;
    parse(&p, "registration", "schedules", "2,2N,3,3N,4,5");
    assert_int_equal(p.rc, 0);
    refused("registration", "schedules", "6");
    refused("registration", "schedules", "3,3");
    refused("registration", "schedules", "");
    refused("registration", "schedules", "3,");
    refused("registration", "schedules", ",3");
    refused("registration", "schedules", "3, 4");
    refused("registration", "schedules", "3n");
    refused("registration", "schedules", "2,2N,3,3N,4,5,2");
}

static void test_records_fields(void **state)
{
    const ledger_field *f = field("amend", "set");
    ledger_body *b = NULL;
    ledger__buf out;
    char why[256] = "";
    char hex[256];
    (void)state;
    assert_int_equal(f->kind, LEDGER_F_FIELDS);
    assert_int_equal(ledger_body_new(&b), 0);
    /* the body given is the nested map itself */
    assert_int_equal(ledger_field_parse(f, "mg=56", b, why, sizeof(why)), 0);
    assert_int_equal(ledger__body_count(b), 1);
    ledger__buf_init(&out, 256);
    ledger__body_encode(b, &out);
    ledger_hex(hex, out.p, out.len);
    ledger__buf_release(&out);
    assert_string_equal(hex, "a1626d67623536");
    /* the same field twice */
    why[0] = '\0';
    assert_int_equal(ledger_field_parse(f, "mg=57", b, why, sizeof(why)), LEDGER_EEXIST);
    assert_non_null(strstr(why, "mg"));
    /* malformed pairs */
    const char *bad[] = {"=5",   "mg",        "",
                         "lot=", "lot=A\x01", "x234567890123456789012345678901234=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(ledger_field_parse(f, bad[i], b, why, sizeof(why)), LEDGER_EINVAL);
        assert_true(why[0] != '\0');
    }
    /* the value may itself contain '=' */
    assert_int_equal(ledger_field_parse(f, "note=a=b", b, why, sizeof(why)), 0);
    assert_int_equal(ledger__body_count(b), 2);
    ledger_body_free(b);
}

static void test_records_flag(void **state)
{
    (void)state;
    parses_to("stock.count", "complete", NULL, "a168636f6d706c657465f5");
}

/* ---- the table ---- */

static void test_records_table_has_domain_types(void **state)
{
    static const char *const needed[] = {
        "setting.certify",   "registration",  "patient.enroll", "stock.receive",
        "session.open",      "vitals",        "dose",           "waste",
        "discharge",         "pmf",           "stock.count",    "stock.loss",
        "stock.report-loss", "stock.destroy", "amend",          "witness"};
    (void)state;
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        const ledger_rtype *rt = ledger_rtype_find(needed[i]);
        if (rt == NULL)
            fprintf(stderr, "missing record type %s\n", needed[i]);
        assert_non_null(rt);
        assert_string_equal(rt->type, needed[i]);
        assert_non_null(rt->fields);
        assert_true(rt->nfields > 0);
        assert_non_null(rt->meaning);
        assert_true(rt->roles != 0);
        /* every type listed by index too */
        bool listed = false;
        for (size_t j = 0; ledger_rtype_at(j) != NULL; j++)
            listed = listed || ledger_rtype_at(j) == rt;
        assert_true(listed);
    }
    assert_null(ledger_rtype_find("dance"));
    assert_null(ledger_rtype_find(NULL));
    assert_null(ledger_rtype_field(ledger_rtype_find("dose"), "colour"));
    assert_int_equal(ledger_rtype_find("waste")->witnesses, 1);
    assert_non_null(ledger_rtype_find("waste")->witness_meaning);
    assert_int_equal(ledger_rtype_find("stock.destroy")->witnesses, 2);
    assert_non_null(ledger_rtype_find("stock.destroy")->witness_meaning);
    assert_int_equal(ledger_rtype_find("dose")->witnesses, 0);
    assert_int_equal(ledger_rtype_find("stock.loss")->witnesses, 0);
    /* the observer sign-off meaning is spelled out */
    assert_non_null(strstr(ledger_rtype_find("discharge")->meaning, "observer"));
    /* roles */
    const ledger_rtype *dis = ledger_rtype_find("discharge");
    assert_true(ledger_rtype_allows(dis, LEDGER_ROLE_NURSE));
    assert_true(ledger_rtype_allows(dis, LEDGER_ROLE_PRESCRIBER));
    assert_false(ledger_rtype_allows(dis, LEDGER_ROLE_PHARMACIST));
    assert_false(ledger_rtype_allows(dis, LEDGER_ROLE_ADMIN));
    assert_false(ledger_rtype_allows(dis, LEDGER_ROLE_NONE));
    assert_false(ledger_rtype_allows(dis, (ledger_role)9));
    const ledger_rtype *wit = ledger_rtype_find("witness");
    assert_false(ledger_rtype_allows(wit, LEDGER_ROLE_ADMIN)); /* witnesses are licensed */
    assert_true(ledger_rtype_allows(wit, LEDGER_ROLE_PHARMACIST));
    assert_true(ledger_rtype_allows(ledger_rtype_find("setting.certify"), LEDGER_ROLE_SITE));
    assert_false(ledger_rtype_allows(ledger_rtype_find("stock.receive"), LEDGER_ROLE_NURSE));
    assert_true(ledger_role_observer(LEDGER_ROLE_NURSE));
    assert_true(ledger_role_observer(LEDGER_ROLE_PRESCRIBER));
    assert_false(ledger_role_observer(LEDGER_ROLE_PHARMACIST));
    assert_false(ledger_role_observer(LEDGER_ROLE_ADMIN));
    /* the fields the sequencing and stock checks read are required */
    assert_true((field("dose", "mg")->flags & LEDGER_FIELD_REQUIRED) != 0);
    assert_true((field("dose", "session")->flags & LEDGER_FIELD_REQUIRED) != 0);
    assert_true((field("witness", "ref-hash")->flags & LEDGER_FIELD_REQUIRED) != 0);
    assert_true((field("witness", "ref-hash")->flags & LEDGER_FIELD_INTERNAL) != 0);
}

/* ---- bodies checked at append ---- */

typedef struct fx {
    char dir[64];
    ledger *l;
    keys_key *site, *pharm, *nurse, *presc;
} fx;

static void rm_rf(const char *dir)
{
    assert_int_equal(rxt_rm_rf(dir), 0);
}

static void enroll(fx *f, keys_key *k, const char *name, const char *role)
{
    assert_int_equal(rxt_enroll(f->l, f->site, k, name, role, T_FAR, 0, 0), 0);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char err[256];
    assert_non_null(f);
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/rxl-rec-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(keys_generate(&f->site), 0);
    assert_int_equal(keys_generate(&f->pharm), 0);
    assert_int_equal(keys_generate(&f->nurse), 0);
    assert_int_equal(keys_generate(&f->presc), 0);
    assert_int_equal(ledger_open(&f->l, f->dir, LEDGER_OPEN_CREATE, err, sizeof(err)), 0);
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "BJ6125341", NULL), 0);
    enroll(f, f->pharm, "Jane Roe, PharmD", "pharmacist");
    enroll(f, f->nurse, "Ann Lee, RN", "nurse");
    enroll(f, f->presc, "Sam Poe, MD", "prescriber");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ledger_close(f->l);
    keys_free(f->site);
    keys_free(f->pharm);
    keys_free(f->nurse);
    keys_free(f->presc);
    rm_rf(f->dir);
    free(f);
    return 0;
}

static void verify_ok(fx *f, uint64_t entries)
{
    ledger_verify_result r;
    assert_int_equal(rxt_verify(f->l, &r), 0);
    assert_false(r.failed);
    assert_int_equal(r.entries, entries);
}

static uint64_t count_of(fx *f)
{
    uint64_t n;
    uint8_t head[LEDGER_HASH_BYTES];
    assert_int_equal(ledger_head(f->l, &n, head), 0);
    return n;
}

/* Append @p b (freed) as @p type signed by @p k. */
static int append(fx *f, keys_key *k, const char *type, ledger_body *b, ledger_appended *out)
{
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = type;
    o.body = b;
    int rc = ledger_append(f->l, k, &o, out);
    ledger_body_free(b);
    return rc;
}

static ledger_body *new_body(void)
{
    ledger_body *b = NULL;
    assert_int_equal(ledger_body_new(&b), 0);
    return b;
}

/* A dose body; @p skip names a field to leave out. */
static ledger_body *dose_body(const char *skip, uint64_t mg)
{
    ledger_body *b = new_body();
    if (strcmp(skip, "session") != 0)
        assert_int_equal(ledger_body_put_uint(b, "session", 5), 0);
    if (strcmp(skip, "ndc") != 0)
        assert_int_equal(ledger_body_put_text(b, "ndc", NDC_NORM), 0);
    if (strcmp(skip, "lot") != 0)
        assert_int_equal(ledger_body_put_text(b, "lot", "L1"), 0);
    if (strcmp(skip, "mg") != 0)
        assert_int_equal(ledger_body_put_uint(b, "mg", mg), 0);
    return b;
}

static ledger_body *receive_body(const char *skip)
{
    static const char *const texts[][2] = {{"ndc", NDC_NORM},
                                           {"lot", "L1"},
                                           {"substance", "esketamine"},
                                           {"form", "nasal spray 28 mg/device"},
                                           {"supplier", "Acme Wholesale"},
                                           {"supplier-address", "1 Main St, Springfield"},
                                           {"supplier-dea", "AP5836727"}};
    static const char *const uints[] = {"unit-mg", "containers", "units-per-container"};
    static const uint64_t uvals[] = {28, 3, 2};
    ledger_body *b = new_body();
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (strcmp(skip, texts[i][0]) != 0)
            assert_int_equal(ledger_body_put_text(b, texts[i][0], texts[i][1]), 0);
    for (size_t i = 0; i < 3; i++)
        if (strcmp(skip, uints[i]) != 0)
            assert_int_equal(ledger_body_put_uint(b, uints[i], uvals[i]), 0);
    if (strcmp(skip, "expires") != 0)
        assert_int_equal(ledger_body_put_uint(b, "expires", (uint64_t)(20800 * DAY_MS)), 0);
    return b;
}

static ledger_body *waste_body(void)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_text(b, "ndc", NDC_NORM), 0);
    assert_int_equal(ledger_body_put_text(b, "lot", "L1"), 0);
    assert_int_equal(ledger_body_put_uint(b, "mg", 28), 0);
    assert_int_equal(ledger_body_put_text(b, "manner", "sharps container, rendered unusable"), 0);
    return b;
}

static ledger_body *vitals_body(const char *phase)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "session", 5), 0);
    assert_int_equal(ledger_body_put_text(b, "phase", phase), 0);
    return b;
}

static void put_bp(ledger_body *b, uint64_t sys, uint64_t dia)
{
    uint8_t raw[16];
    ledger__buf v;
    ledger__buf_init(&v, sizeof(raw));
    ledger__cbor_array(&v, 2);
    ledger__cbor_uint(&v, sys);
    ledger__cbor_uint(&v, dia);
    assert_int_equal(v.err, 0);
    assert_int_equal(ledger__body_put_raw(b, "bp", v.p, v.len), 0);
    ledger__buf_release(&v);
}

/* An append refused with LEDGER_EINVAL whose message contains @p what. */
static void append_refused(fx *f, keys_key *k, const char *type, ledger_body *b, const char *what)
{
    uint64_t before = count_of(f);
    int rc = append(f, k, type, b, NULL);
    if (rc != LEDGER_EINVAL || strstr(ledger_errmsg(f->l), what) == NULL)
        fprintf(stderr, "%s: rc %d, '%s' (wanted '%s')\n", type, rc, ledger_errmsg(f->l), what);
    assert_int_equal(rc, LEDGER_EINVAL);
    assert_non_null(strstr(ledger_errmsg(f->l), what));
    assert_int_equal(count_of(f), before);
}

static void test_records_append_missing_required_refused(void **state)
{
    fx *f = *state;
    static const char *const dose_req[] = {"session", "ndc", "lot", "mg"};
    static const char *const recv_req[] = {"ndc",         "lot",
                                           "expires",     "substance",
                                           "form",        "unit-mg",
                                           "containers",  "units-per-container",
                                           "supplier",    "supplier-address",
                                           "supplier-dea"};
    char want[64];
    for (size_t i = 0; i < sizeof(dose_req) / sizeof(dose_req[0]); i++) {
        (void)snprintf(want, sizeof(want), "'%s' missing", dose_req[i]);
        append_refused(f, f->nurse, "dose", dose_body(dose_req[i], 28), want);
    }
    for (size_t i = 0; i < sizeof(recv_req) / sizeof(recv_req[0]); i++) {
        (void)snprintf(want, sizeof(want), "'%s' missing", recv_req[i]);
        append_refused(f, f->pharm, "stock.receive", receive_body(recv_req[i]), want);
    }
    /* vitals without its phase */
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "session", 5), 0);
    assert_int_equal(ledger_body_put_uint(b, "hr", 70), 0);
    append_refused(f, f->nurse, "vitals", b, "'phase' missing");
    /* an empty body for a type with required fields */
    append_refused(f, f->nurse, "dose", new_body(), "missing");
    /* the complete bodies are accepted, and optional fields may be left out */
    assert_int_equal(append(f, f->nurse, "dose", dose_body("", 28), NULL), 0);
    assert_int_equal(append(f, f->pharm, "stock.receive", receive_body(""), NULL), 0);
    verify_ok(f, 6);
}

static void test_records_append_unknown_field_refused(void **state)
{
    fx *f = *state;
    ledger_body *b = dose_body("", 28);
    assert_int_equal(ledger_body_put_text(b, "colour", "blue"), 0);
    append_refused(f, f->nurse, "dose", b, "unknown field 'colour'");
    /* only NDC fields carry a "-written" companion */
    b = dose_body("", 28);
    assert_int_equal(ledger_body_put_text(b, "lot-written", "L1"), 0);
    append_refused(f, f->nurse, "dose", b, "unknown field");
    b = dose_body("", 28);
    assert_int_equal(ledger_body_put_text(b, "colour-written", "L1"), 0);
    append_refused(f, f->nurse, "dose", b, "unknown field");
    /* "ndc-written" is allowed next to an NDC field */
    b = dose_body("", 28);
    assert_int_equal(ledger_body_put_text(b, "ndc-written", "50458-028-02"), 0);
    assert_int_equal(append(f, f->nurse, "dose", b, NULL), 0);
    /* a field of another type */
    b = dose_body("", 28);
    assert_int_equal(ledger_body_put_uint(b, "spo2", 97), 0);
    append_refused(f, f->nurse, "dose", b, "spo2");
    verify_ok(f, 5);
}

static void test_records_append_bad_values_refused(void **state)
{
    fx *f = *state;
    ledger_body *b;
    /* a uint past its range, put directly */
    b = vitals_body("pre");
    assert_int_equal(ledger_body_put_uint(b, "spo2", 101), 0);
    append_refused(f, f->nurse, "vitals", b, "spo2");
    b = vitals_body("pre");
    assert_int_equal(ledger_body_put_uint(b, "hr", 19), 0);
    append_refused(f, f->nurse, "vitals", b, "hr");
    append_refused(f, f->nurse, "dose", dose_body("", 0), "mg");
    append_refused(f, f->nurse, "dose", dose_body("", 100001), "mg");
    /* the wrong CBOR type */
    b = vitals_body("pre");
    assert_int_equal(ledger_body_put_text(b, "spo2", "97"), 0);
    append_refused(f, f->nurse, "vitals", b, "spo2");
    b = dose_body("mg", 0);
    assert_int_equal(ledger_body_put_int(b, "mg", -28), 0);
    append_refused(f, f->nurse, "dose", b, "mg");
    /* a choice outside its list */
    b = vitals_body("during");
    assert_int_equal(ledger_body_put_uint(b, "hr", 70), 0);
    append_refused(f, f->nurse, "vitals", b, "phase");
    /* blood pressures the parser would refuse */
    b = vitals_body("pre");
    put_bp(b, 80, 90);
    append_refused(f, f->nurse, "vitals", b, "bp");
    b = vitals_body("pre");
    put_bp(b, 80, 80);
    append_refused(f, f->nurse, "vitals", b, "bp");
    b = vitals_body("pre");
    put_bp(b, 120, 201);
    append_refused(f, f->nurse, "vitals", b, "bp");
    b = vitals_body("pre");
    put_bp(b, 49, 30);
    append_refused(f, f->nurse, "vitals", b, "bp");
    b = vitals_body("pre");
    put_bp(b, 301, 80);
    append_refused(f, f->nurse, "vitals", b, "bp");
    b = vitals_body("pre");
    assert_int_equal(ledger_body_put_uint(b, "bp", 128), 0);
    append_refused(f, f->nurse, "vitals", b, "bp");
    /* an NDC stored as written rather than normalized */
    b = dose_body("ndc", 28);
    assert_int_equal(ledger_body_put_text(b, "ndc", "50458-028-02"), 0);
    append_refused(f, f->nurse, "dose", b, "ndc");
    /* a date that is not midnight UTC */
    b = receive_body("expires");
    assert_int_equal(ledger_body_put_uint(b, "expires", (uint64_t)(20800 * DAY_MS + 1)), 0);
    append_refused(f, f->pharm, "stock.receive", b, "expires");
    /* a DEA number with a bad check digit */
    b = receive_body("supplier-dea");
    assert_int_equal(ledger_body_put_text(b, "supplier-dea", "AB4523763"), 0);
    append_refused(f, f->pharm, "stock.receive", b, "supplier-dea");
    /* text with a control character */
    b = receive_body("lot");
    assert_int_equal(ledger_body_put_text(b, "lot", "L1\x1b[2J"), 0);
    append_refused(f, f->pharm, "stock.receive", b, "lot");
    /* a key id of the wrong length */
    uint8_t id[32] = {1};
    b = new_body();
    assert_int_equal(ledger_body_put_bytes(b, "patient", id, 32), 0);
    assert_int_equal(ledger_body_put_text(b, "drug", "esketamine"), 0);
    assert_int_equal(ledger_body_put_text(b, "route", "intranasal"), 0);
    assert_int_equal(ledger_body_put_text(b, "setting", "outpatient"), 0);
    assert_int_equal(ledger_body_put_bytes(b, "prescriber", id, KEYS_KID_BYTES - 1), 0);
    assert_int_equal(ledger_body_put_bytes(b, "observer", id, KEYS_KID_BYTES), 0);
    append_refused(f, f->nurse, "session.open", b, "prescriber");
    /* a commitment of the wrong length */
    b = new_body();
    assert_int_equal(ledger_body_put_bytes(b, "patient", id, 31), 0);
    assert_int_equal(ledger_body_put_text(b, "drug", "esketamine"), 0);
    assert_int_equal(ledger_body_put_text(b, "route", "intranasal"), 0);
    assert_int_equal(ledger_body_put_text(b, "setting", "outpatient"), 0);
    assert_int_equal(ledger_body_put_bytes(b, "prescriber", id, KEYS_KID_BYTES), 0);
    assert_int_equal(ledger_body_put_bytes(b, "observer", id, KEYS_KID_BYTES), 0);
    append_refused(f, f->nurse, "session.open", b, "patient");
    /* text where the type wants a boolean flag, a flag that is false */
    b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "session", 5), 0);
    assert_int_equal(ledger_body_put_text(b, "phase", "pre"), 0);
    assert_int_equal(ledger_body_put_uint(b, "hr", 70), 0);
    assert_int_equal(ledger_body_put_bool(b, "note", true), 0);
    append_refused(f, f->nurse, "vitals", b, "note");
    b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "session", 5), 0);
    assert_int_equal(ledger_body_put_bool(b, "sedation-resolved", false), 0);
    append_refused(f, f->nurse, "discharge", b, "sedation-resolved");
    /* the upper ends are accepted */
    b = vitals_body("pre");
    assert_int_equal(ledger_body_put_uint(b, "spo2", 100), 0);
    put_bp(b, 300, 200);
    assert_int_equal(append(f, f->nurse, "vitals", b, NULL), 0);
    verify_ok(f, 5);
}

static void test_records_vitals_need_a_measurement(void **state)
{
    fx *f = *state;
    ledger_body *b = vitals_body("pre");
    assert_int_equal(ledger_body_put_text(b, "note", "patient calm"), 0);
    append_refused(f, f->nurse, "vitals", b, "bp, hr, spo2");
    append_refused(f, f->nurse, "vitals", vitals_body("other"), "bp, hr, spo2");
    /* any one of the three will do */
    b = vitals_body("pre");
    assert_int_equal(ledger_body_put_uint(b, "hr", 72), 0);
    assert_int_equal(append(f, f->nurse, "vitals", b, NULL), 0);
    b = vitals_body("post40");
    assert_int_equal(ledger_body_put_uint(b, "spo2", 97), 0);
    assert_int_equal(append(f, f->nurse, "vitals", b, NULL), 0);
    b = vitals_body("discharge");
    put_bp(b, 128, 82);
    assert_int_equal(append(f, f->presc, "vitals", b, NULL), 0);
    verify_ok(f, 7);
}

static void test_records_roles_enforced(void **state)
{
    fx *f = *state;
    uint64_t before = count_of(f);
    ledger_body *b;
    /* a valid receipt, but a nurse may not receive stock */
    assert_int_equal(append(f, f->nurse, "stock.receive", receive_body(""), NULL), LEDGER_EROLE);
    assert_non_null(strstr(ledger_errmsg(f->l), "nurse"));
    /* a valid discharge, but a pharmacist is no monitoring observer */
    b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "session", 5), 0);
    assert_int_equal(ledger_body_put_bool(b, "sedation-resolved", true), 0);
    assert_int_equal(append(f, f->pharm, "discharge", b, NULL), LEDGER_EROLE);
    /* nor may the site key administer */
    assert_int_equal(append(f, f->site, "dose", dose_body("", 28), NULL), LEDGER_EROLE);
    assert_int_equal(count_of(f), before);
    /* the site key records its own certification */
    b = new_body();
    assert_int_equal(ledger_body_put_text(b, "rems-id", "HCS-000123"), 0);
    assert_int_equal(ledger_body_put_text(b, "kind", "outpatient"), 0);
    assert_int_equal(ledger_body_put_uint(b, "from", (uint64_t)(20400 * DAY_MS)), 0);
    ledger_body *copy = new_body();
    assert_int_equal(ledger_body_put_text(copy, "rems-id", "HCS-000123"), 0);
    assert_int_equal(ledger_body_put_text(copy, "kind", "outpatient"), 0);
    assert_int_equal(ledger_body_put_uint(copy, "from", (uint64_t)(20400 * DAY_MS)), 0);
    assert_int_equal(append(f, f->site, "setting.certify", b, NULL), 0);
    assert_int_equal(append(f, f->pharm, "setting.certify", copy, NULL), LEDGER_EROLE);
    /* the right roles succeed */
    assert_int_equal(append(f, f->pharm, "stock.receive", receive_body(""), NULL), 0);
    b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "session", 5), 0);
    assert_int_equal(ledger_body_put_bool(b, "sedation-resolved", true), 0);
    assert_int_equal(append(f, f->nurse, "discharge", b, NULL), 0);
    verify_ok(f, before + 3);
}

typedef struct seqs {
    uint64_t v[8];
    size_t n;
} seqs;

static int collect(uint64_t seq, void *ud)
{
    seqs *s = ud;
    if (s->n < 8)
        s->v[s->n] = seq;
    s->n++;
    return 0;
}

/* A witness or amend body naming @p ref with hash @p hash. */
static ledger_body *ref_body(uint64_t ref, const uint8_t *hash)
{
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "ref", ref), 0);
    assert_int_equal(ledger_body_put_bytes(b, "ref-hash", hash, LEDGER_HASH_BYTES), 0);
    return b;
}

static void test_records_witness_bound_to_hash(void **state)
{
    fx *f = *state;
    ledger_appended waste, other, wit;
    uint8_t zero[LEDGER_HASH_BYTES] = {0};
    ledger_body *nb = new_body();
    assert_int_equal(ledger_body_put_text(nb, "text", "before"), 0);
    assert_int_equal(append(f, f->nurse, "note", nb, &other), 0);
    assert_int_equal(append(f, f->nurse, "waste", waste_body(), &waste), 0);
    uint64_t before = count_of(f);
    /* the hash of another entry, or of nothing */
    append_refused(f, f->pharm, "witness", ref_body(waste.seq, other.hash), "ref-hash");
    append_refused(f, f->pharm, "witness", ref_body(waste.seq, zero), "ref-hash");
    /* the right hash, but "ref" naming the other entry */
    append_refused(f, f->pharm, "witness", ref_body(other.seq, waste.hash), "ref-hash");
    /* no ref-hash at all */
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_uint(b, "ref", waste.seq), 0);
    append_refused(f, f->pharm, "witness", b, "ref-hash");
    /* naming itself or a later entry */
    append_refused(f, f->pharm, "witness", ref_body(before, waste.hash), "earlier");
    assert_int_equal(count_of(f), before);
    /* the right hash */
    assert_int_equal(append(f, f->pharm, "witness", ref_body(waste.seq, waste.hash), &wit), 0);
    assert_int_equal(wit.seq, waste.seq + 1);
    verify_ok(f, wit.seq + 1);
    /* the derived index files the witness under the waste, and only there */
    seqs got = {{0}, 0};
    uint8_t kb[8];
    ledger__u64be(kb, waste.seq);
    assert_int_equal(ledger_index_each(f->l, LEDGER_INDEX_WITNESS, kb, sizeof(kb), collect, &got),
                     0);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.v[0], wit.seq);
    got.n = 0;
    ledger__u64be(kb, other.seq);
    assert_int_equal(ledger_index_each(f->l, LEDGER_INDEX_WITNESS, kb, sizeof(kb), collect, &got),
                     0);
    assert_int_equal(got.n, 0);
}

static void test_records_witness_within_two_entries(void **state)
{
    fx *f = *state;
    ledger_appended destroy, n1, n2;
    ledger_body *b = new_body();
    assert_int_equal(ledger_body_put_text(b, "ndc", NDC_NORM), 0);
    assert_int_equal(ledger_body_put_text(b, "lot", "L1"), 0);
    assert_int_equal(ledger_body_put_uint(b, "units", 2), 0);
    assert_int_equal(ledger_body_put_text(b, "method", "reverse distributor"), 0);
    assert_int_equal(append(f, f->pharm, "stock.destroy", b, &destroy), 0);
    /* two witnesses: one entry after it, then two after it */
    assert_int_equal(append(f, f->nurse, "witness", ref_body(destroy.seq, destroy.hash), NULL), 0);
    assert_int_equal(append(f, f->presc, "witness", ref_body(destroy.seq, destroy.hash), NULL), 0);
    /* a third, three entries after it, is refused even with the right hash */
    append_refused(f, f->nurse, "witness", ref_body(destroy.seq, destroy.hash), "at most 2");
    b = new_body();
    assert_int_equal(ledger_body_put_text(b, "text", "n1"), 0);
    assert_int_equal(append(f, f->nurse, "note", b, &n1), 0);
    b = new_body();
    assert_int_equal(ledger_body_put_text(b, "text", "n2"), 0);
    assert_int_equal(append(f, f->nurse, "note", b, &n2), 0);
    append_refused(f, f->pharm, "witness", ref_body(destroy.seq, destroy.hash), "at most 2");
    /* exactly two before is still allowed */
    assert_int_equal(append(f, f->pharm, "witness", ref_body(n1.seq, n1.hash), NULL), 0);
    verify_ok(f, n2.seq + 2);
}

static void test_records_amend_bound_to_hash(void **state)
{
    fx *f = *state;
    ledger_appended dose, am;
    assert_int_equal(append(f, f->nurse, "dose", dose_body("", 28), &dose), 0);
    /* amendments may name any earlier entry, however far back */
    for (int i = 0; i < 4; i++) {
        ledger_body *b = new_body();
        assert_int_equal(ledger_body_put_text(b, "text", "filler"), 0);
        assert_int_equal(append(f, f->nurse, "note", b, NULL), 0);
    }
    ledger_body *set = new_body();
    assert_int_equal(ledger_body_put_text(set, "mg", "56"), 0);
    uint8_t bad[LEDGER_HASH_BYTES];
    memcpy(bad, dose.hash, sizeof(bad));
    bad[31] ^= 1;
    ledger_body *b = ref_body(dose.seq, bad);
    assert_int_equal(ledger_body_put_text(b, "reason", "two devices, not one"), 0);
    assert_int_equal(ledger_body_put_map(b, "set", set), 0);
    append_refused(f, f->presc, "amend", b, "ref-hash");
    /* a reason is required */
    b = ref_body(dose.seq, dose.hash);
    assert_int_equal(ledger_body_put_map(b, "set", set), 0);
    append_refused(f, f->presc, "amend", b, "reason");
    /* an empty set is refused */
    ledger_body *empty = new_body();
    b = ref_body(dose.seq, dose.hash);
    assert_int_equal(ledger_body_put_text(b, "reason", "two devices, not one"), 0);
    assert_int_equal(ledger_body_put_map(b, "set", empty), 0);
    ledger_body_free(empty);
    append_refused(f, f->presc, "amend", b, "set");
    /* a reference to an entry that does not exist */
    b = ref_body(dose.seq + 100, dose.hash);
    assert_int_equal(ledger_body_put_text(b, "reason", "x"), 0);
    append_refused(f, f->presc, "amend", b, "earlier");
    b = ref_body(dose.seq, dose.hash);
    assert_int_equal(ledger_body_put_text(b, "reason", "two devices, not one"), 0);
    assert_int_equal(ledger_body_put_map(b, "set", set), 0);
    assert_int_equal(append(f, f->presc, "amend", b, &am), 0);
    ledger_body_free(set);
    verify_ok(f, am.seq + 1);
    /* the stored amendment reads back */
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES];
    size_t n;
    ledger_entry e;
    char text[16];
    uint64_t ref;
    assert_int_equal(ledger_get(f->l, am.seq, buf, sizeof(buf), &n), 0);
    assert_int_equal(ledger_entry_decode(&e, buf, n, NULL, 0), 0);
    assert_int_equal(ledger_entry_get_uint(&e, "ref", &ref), 0);
    assert_int_equal(ref, dose.seq);
    assert_int_equal(ledger_entry_get_map_text(&e, "set", "mg", text, sizeof(text)), 0);
    assert_string_equal(text, "56");
}

/* Every field of a dose and a receipt parsed from command-line text appends
 * and reads back as the typed values. */
static void test_records_parsed_body_appends(void **state)
{
    fx *f = *state;
    static const char *const dose_text[][2] = {{"session", "5"},
                                               {"ndc", "50458-028-02"},
                                               {"lot", "L1"},
                                               {"mg", "56"},
                                               {"device", "2"},
                                               {"ml", "0.72"},
                                               {"concentration", "50 mg/mL"},
                                               {"override", "protocol deviation approved"}};
    ledger_body *b = new_body();
    char why[256], text[64];
    ledger_appended ap;
    uint64_t v;
    const ledger_rtype *rt = ledger_rtype_find("dose");
    for (size_t i = 0; i < sizeof(dose_text) / sizeof(dose_text[0]); i++) {
        why[0] = '\0';
        int rc = ledger_field_parse(ledger_rtype_field(rt, dose_text[i][0]), dose_text[i][1], b,
                                    why, sizeof(why));
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", dose_text[i][0], why);
        assert_int_equal(rc, 0);
    }
    assert_int_equal(append(f, f->nurse, "dose", b, &ap), 0);
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES];
    size_t n;
    ledger_entry e;
    assert_int_equal(ledger_get(f->l, ap.seq, buf, sizeof(buf), &n), 0);
    assert_int_equal(ledger_entry_decode(&e, buf, n, NULL, 0), 0);
    assert_int_equal(ledger_entry_get_text(&e, "ndc", text, sizeof(text)), 0);
    assert_string_equal(text, NDC_NORM);
    assert_int_equal(ledger_entry_get_text(&e, "ndc-written", text, sizeof(text)), 0);
    assert_string_equal(text, "50458-028-02");
    assert_int_equal(ledger_entry_get_uint(&e, "ml", &v), 0);
    assert_int_equal(v, 720);
    assert_int_equal(ledger_entry_get_uint(&e, "concentration", &v), 0);
    assert_int_equal(v, 50000);
    assert_int_equal(ledger_entry_get_uint(&e, "mg", &v), 0);
    assert_int_equal(v, 56);
    assert_string_equal(e.meaning, "administered");

    /* a registration: DEA, schedules, date */
    static const char *const reg_text[][2] = {
        {"dea", "AP5836727"}, {"schedules", "2N,3,3N"}, {"expires", "2028-02-29"}};
    rt = ledger_rtype_find("registration");
    b = new_body();
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, reg_text[i][0]), reg_text[i][1],
                                            b, why, sizeof(why)),
                         0);
    assert_int_equal(append(f, f->site, "registration", b, &ap), 0);
    /* a vitals entry with a parsed BP */
    rt = ledger_rtype_find("vitals");
    b = new_body();
    assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, "session"), "5", b, why, 256), 0);
    assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, "phase"), "pre", b, why, 256), 0);
    assert_int_equal(ledger_field_parse(ledger_rtype_field(rt, "bp"), "128/82", b, why, 256), 0);
    assert_int_equal(append(f, f->nurse, "vitals", b, &ap), 0);
    verify_ok(f, ap.seq + 1);
}

/* Regression (fixed): an unknown key ending in "-written" is reported without its suffix:
 * "dose: unknown field 'lot'" for a key "lot-written" (records.c cuts the
 * suffix off the key before it writes the message), naming a field that is
 * present and valid. */
static void test_records_unknown_written_field_named(void **state)
{
    fx *f = *state;
    ledger_body *b = dose_body("", 28);
    assert_int_equal(ledger_body_put_text(b, "lot-written", "L1"), 0);
    append_refused(f, f->nurse, "dose", b, "unknown field 'lot-written'");
}

/* Regression (fixed): the stored "schedules" of a registration are only checked to be short
 * texts: append and verify accept ["7"] (no such DEA schedule), "" and
 * duplicates, which ledger_field_parse refuses. */
static void test_records_stored_schedules_checked(void **state)
{
    fx *f = *state;
    static const char *const bad[][3] = {{"7", NULL, NULL}, {"", NULL, NULL}, {"3", "3", NULL}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ledger__buf v;
        size_t n = bad[i][1] != NULL ? 2 : 1;
        ledger__buf_init(&v, 64);
        ledger__cbor_array(&v, n);
        for (size_t j = 0; j < n; j++)
            ledger__cbor_text(&v, bad[i][j], strlen(bad[i][j]));
        ledger_body *b = new_body();
        assert_int_equal(ledger_body_put_text(b, "dea", "AP5836727"), 0);
        assert_int_equal(ledger__body_put_raw(b, "schedules", v.p, v.len), 0);
        assert_int_equal(ledger_body_put_uint(b, "expires", (uint64_t)(20800 * DAY_MS)), 0);
        ledger__buf_release(&v);
        append_refused(f, f->site, "registration", b, "schedules");
    }
}

/* Regression (fixed): an amendment's "set" ({* tstr => tstr}) is only checked to be a
 * non-empty map: a uint value ({"mg": 56}) is accepted at append, and the
 * inventory, which reads the corrections as text, silently ignores it. */
static void test_records_stored_fields_values_are_text(void **state)
{
    fx *f = *state;
    ledger_appended dose;
    assert_int_equal(append(f, f->nurse, "dose", dose_body("", 28), &dose), 0);
    ledger_body *set = new_body();
    assert_int_equal(ledger_body_put_uint(set, "mg", 56), 0);
    ledger_body *b = ref_body(dose.seq, dose.hash);
    assert_int_equal(ledger_body_put_text(b, "reason", "two devices"), 0);
    assert_int_equal(ledger_body_put_map(b, "set", set), 0);
    ledger_body_free(set);
    append_refused(f, f->presc, "amend", b, "set");
}

int main(void)
{
#define FX(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_text),
        cmocka_unit_test(test_records_uint),
        cmocka_unit_test(test_records_milli),
        cmocka_unit_test(test_records_conc),
        cmocka_unit_test(test_records_time),
        cmocka_unit_test(test_records_date),
        cmocka_unit_test(test_records_ndc),
        cmocka_unit_test(test_records_dea),
        cmocka_unit_test(test_records_choice),
        cmocka_unit_test(test_records_kid),
        cmocka_unit_test(test_records_seq),
        cmocka_unit_test(test_records_commit_hash),
        cmocka_unit_test(test_records_bp),
        cmocka_unit_test(test_records_schedules),
        cmocka_unit_test(test_records_fields),
        cmocka_unit_test(test_records_flag),
        cmocka_unit_test(test_records_table_has_domain_types),
        FX(test_records_append_missing_required_refused),
        FX(test_records_append_unknown_field_refused),
        FX(test_records_append_bad_values_refused),
        FX(test_records_vitals_need_a_measurement),
        FX(test_records_roles_enforced),
        FX(test_records_witness_bound_to_hash),
        FX(test_records_witness_within_two_entries),
        FX(test_records_amend_bound_to_hash),
        FX(test_records_parsed_body_appends),
        FX(test_records_unknown_written_field_named),
        FX(test_records_stored_schedules_checked),
        FX(test_records_stored_fields_values_are_text),
    };
#undef FX
    return cmocka_run_group_tests(tests, NULL, NULL);
}
