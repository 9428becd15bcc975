/* Unit tests of the ledger library: encoding, rules, storage, verification.
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

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/ident.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "store_int.h"

#define T0 1795381500000 /* 2026-11-22T21:05:00Z */

typedef struct fx {
    char dir[64];
    ledger *l;
    keys_key *site, *pharm, *nurse;
} fx;

static void rm_rf(const char *dir)
{
    assert_int_equal(rxt_rm_rf(dir), 0);
}

static void enroll(fx *f, keys_key *k, const char *name, const char *role, int64_t rt, int64_t from,
                   int64_t until, int expect)
{
    assert_int_equal(rxt_enroll(f->l, f->site, k, name, role, from, until, rt), expect);
}

static int note(fx *f, keys_key *k, int64_t rt, const char *text)
{
    ledger_body *b = NULL;
    int rc;
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_text(b, "text", text), 0);
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "note";
    o.body = b;
    o.recorded_ms = rt;
    rc = ledger_append(f->l, k, &o, NULL);
    ledger_body_free(b);
    return rc;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char err[256];
    assert_non_null(f);
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/rxl-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(keys_generate(&f->site), 0);
    assert_int_equal(keys_generate(&f->pharm), 0);
    assert_int_equal(keys_generate(&f->nurse), 0);
    assert_int_equal(ledger_open(&f->l, f->dir, LEDGER_OPEN_CREATE, err, sizeof(err)), 0);
    *state = f;
    return 0;
}

/* setup + genesis + a pharmacist and a nurse enrolled */
static int setup_enrolled(void **state)
{
    fx *f;
    setup(state);
    f = *state;
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "BJ6125341", NULL), 0);
    ledger_close(f->l);
    char err[256];
    assert_int_equal(ledger_open(&f->l, f->dir, 0, err, sizeof(err)), 0);
    /* genesis got the real clock; later entries use fixed times after it */
    enroll(f, f->pharm, "Jane Roe, PharmD", "pharmacist", ledger__now_ms(), T0 - 1000000000000, 0,
           0);
    enroll(f, f->nurse, "Ann Lee, RN", "nurse", ledger__now_ms(), T0 - 1000000000000, 0, 0);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ledger_close(f->l);
    keys_free(f->site);
    keys_free(f->pharm);
    keys_free(f->nurse);
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

/* ---- encoding ---- */

static void hexdecode(uint8_t *out, size_t *n, const char *hex)
{
    size_t len = strlen(hex);
    *n = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        unsigned v;
        assert_int_equal(sscanf(hex + i, "%2x", &v), 1);
        out[(*n)++] = (uint8_t)v;
    }
}

static int decode_value(const char *hex)
{
    uint8_t buf[256];
    size_t n;
    ledger__rd r;
    size_t start;
    hexdecode(buf, &n, hex);
    ledger__rd_init(&r, buf, n, NULL, 0);
    int rc = ledger__rd_value(&r, 0, &start);
    if (rc == 0 && r.off != n)
        rc = LEDGER_EENCODING;
    return rc;
}

static void test_ledger_reader_accepts_canonical(void **state)
{
    (void)state;
    assert_int_equal(decode_value("00"), 0);
    assert_int_equal(decode_value("1818"), 0);
    assert_int_equal(decode_value("190100"), 0);
    assert_int_equal(decode_value("a2616101616202"), 0);          /* {"a":1,"b":2} */
    assert_int_equal(decode_value("a201020a616b"), 0);            /* {1:2, 10:"k"} */
    assert_int_equal(decode_value("a261620162616101"), 0);        /* {"b":1,"aa":1} */
    assert_int_equal(decode_value("6449c3a9"), LEDGER_EENCODING); /* length wrong */
    assert_int_equal(decode_value("6349c3a9"), 0);                /* "Ié" */
}

static void test_ledger_reader_rejects_noncanonical(void **state)
{
    (void)state;
    assert_int_equal(decode_value("1805"), LEDGER_EENCODING);             /* 5 in two bytes */
    assert_int_equal(decode_value("190018"), LEDGER_EENCODING);           /* 24 in three bytes */
    assert_int_equal(decode_value("5800"), LEDGER_EENCODING);             /* bstr len in 2 bytes */
    assert_int_equal(decode_value("bf616101ff"), LEDGER_EENCODING);       /* indefinite map */
    assert_int_equal(decode_value("9f01ff"), LEDGER_EENCODING);           /* indefinite array */
    assert_int_equal(decode_value("5f4101ff"), LEDGER_EENCODING);         /* indefinite bstr */
    assert_int_equal(decode_value("a2616201616101"), LEDGER_EENCODING);   /* unsorted */
    assert_int_equal(decode_value("a2616101616102"), LEDGER_EENCODING);   /* duplicate */
    assert_int_equal(decode_value("a261616101620102"), LEDGER_EENCODING); /* "aa" before "b" */
    assert_int_equal(decode_value("f93c00"), LEDGER_EENCODING);           /* half float */
    assert_int_equal(decode_value("fb3ff0000000000000"), LEDGER_EENCODING);
    assert_int_equal(decode_value("f7"), LEDGER_EENCODING);                 /* undefined */
    assert_int_equal(decode_value("62c328"), LEDGER_EENCODING);             /* bad utf-8 */
    assert_int_equal(decode_value("62c0af"), LEDGER_EENCODING);             /* overlong utf-8 */
    assert_int_equal(decode_value("63eda080"), LEDGER_EENCODING);           /* surrogate */
    assert_int_equal(decode_value("c101"), LEDGER_EENCODING);               /* tag in a value */
    assert_int_equal(decode_value("0001"), LEDGER_EENCODING);               /* trailing byte */
    assert_int_equal(decode_value("9b00000000ffffffff"), LEDGER_EENCODING); /* huge count */
    assert_int_equal(decode_value("818181818181818181818100"), LEDGER_EENCODING); /* deep */
    assert_int_equal(decode_value("63616263"), 0);
    assert_int_equal(decode_value("6461626364"), 0);
    assert_int_equal(decode_value("646162"), LEDGER_EENCODING); /* truncated */
}

static void test_ledger_body_sorts_keys(void **state)
{
    ledger_body *b = NULL;
    ledger__buf out;
    (void)state;
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_uint(b, "zz", 1), 0);
    assert_int_equal(ledger_body_put_uint(b, "b", 2), 0);
    assert_int_equal(ledger_body_put_uint(b, "aaa", 3), 0);
    assert_int_equal(ledger_body_put_uint(b, "a", 4), 0);
    assert_int_equal(ledger_body_put_uint(b, "a", 5), LEDGER_EEXIST);
    assert_int_equal(ledger_body_put_text(b, "bad", "\xff"), LEDGER_EINVAL);
    ledger__buf_init(&out, 1024);
    ledger__body_encode(b, &out);
    /* {"a":4, "b":2, "zz":1, "aaa":3}: shorter keys first, then bytewise */
    static const uint8_t want[] = {0xa4, 0x61, 'a',  0x04, 0x61, 'b', 0x02, 0x62,
                                   'z',  'z',  0x01, 0x63, 'a',  'a', 'a',  0x03};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.p, want, sizeof(want));
    ledger__buf_release(&out);
    ledger_body_free(b);
}

static void test_ledger_writer_shortest_forms(void **state)
{
    ledger__buf b;
    (void)state;
    ledger__buf_init(&b, 64);
    ledger__cbor_uint(&b, 23);
    ledger__cbor_uint(&b, 24);
    ledger__cbor_uint(&b, 65536);
    ledger__cbor_int(&b, -8);
    ledger__cbor_int(&b, -500);
    static const uint8_t want[] = {0x17, 0x18, 0x18, 0x1a, 0x00, 0x01,
                                   0x00, 0x00, 0x27, 0x39, 0x01, 0xf3};
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.p, want, sizeof(want));
    ledger__buf_release(&b);
}

/* ---- known-answer vectors (tests/data, documented in docs/format.md) ---- */

static size_t read_file(const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    (void)snprintf(path, sizeof(path), "%s/%s", RX_TEST_DATA, name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap, fp);
    fclose(fp);
    return n;
}

static void hexfile(const char *name, uint8_t *buf, size_t *n)
{
    char text[8192];
    size_t len = read_file(name, (uint8_t *)text, sizeof(text) - 1);
    text[len] = '\0';
    /* strip whitespace */
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != '\n' && text[i] != ' ' && text[i] != '\r')
            text[w++] = text[i];
    text[w] = '\0';
    hexdecode(buf, n, text);
}

static void kat_key(keys_key **k)
{
    uint8_t seed[KEYS_SEED_BYTES], n;
    size_t len;
    hexfile("kat-seed.hex", seed, &len);
    assert_int_equal(len, KEYS_SEED_BYTES);
    (void)n;
    assert_int_equal(keys_from_seed(k, seed), 0);
}

static void kat_payload(ledger__buf *out, const uint8_t kid[KEYS_KID_BYTES])
{
    ledger_body *b = NULL;
    uint8_t prev[LEDGER_HASH_BYTES];
    for (size_t i = 0; i < sizeof(prev); i++)
        prev[i] = (uint8_t)i;
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_text(b, "text", "opened controlled-substance safe"), 0);
    ledger__buf_init(out, LEDGER_MAX_ENTRY_BYTES);
    assert_int_equal(ledger__payload_build(out, 2, prev, "note", T0, T0 - 60000, kid,
                                           "Jane Roe, PharmD", "authored", b),
                     0);
    ledger_body_free(b);
}

static void test_ledger_kat_payload_sig_structure_entry(void **state)
{
    keys_key *k = NULL;
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
    uint8_t want[4096], hash[LEDGER_HASH_BYTES];
    size_t wn;
    ledger__buf payload, tbs, entry, prot;
    ledger_entry e;
    (void)state;
    kat_key(&k);
    keys_key_pub(k, pub);
    keys_kid(kid, pub);

    kat_payload(&payload, kid);
    hexfile("kat-payload.hex", want, &wn);
    assert_int_equal(payload.len, wn);
    assert_memory_equal(payload.p, want, wn);

    ledger__buf_init(&entry, LEDGER_MAX_ENTRY_BYTES);
    assert_int_equal(ledger__entry_build(&entry, k, payload.p, payload.len), 0);
    assert_int_equal(ledger_entry_decode(&e, entry.p, entry.len, NULL, 0), 0);
    const uint8_t *pp, *pl;
    size_t ppn, pln;
    assert_int_equal(ledger__entry_spans(&e, &pp, &ppn, &pl, &pln), 0);
    ledger__buf_init(&prot, 64);
    ledger__buf_put(&prot, pp, ppn);
    hexfile("kat-protected.hex", want, &wn);
    assert_int_equal(prot.len, wn);
    assert_memory_equal(prot.p, want, wn);

    ledger__buf_init(&tbs, LEDGER_MAX_ENTRY_BYTES + 128);
    ledger__sig_structure(&tbs, pp, ppn, pl, pln);
    hexfile("kat-sig-structure.hex", want, &wn);
    assert_int_equal(tbs.len, wn);
    assert_memory_equal(tbs.p, want, wn);
    assert_int_equal(keys_verify(pub, e.sig, tbs.p, tbs.len), 0);

    hexfile("kat-entry.hex", want, &wn);
    assert_int_equal(entry.len, wn);
    assert_memory_equal(entry.p, want, wn);

    hexfile("kat-entry-hash.hex", hash, &wn);
    assert_int_equal(wn, LEDGER_HASH_BYTES);
    assert_memory_equal(e.hash, hash, LEDGER_HASH_BYTES);
    assert_int_equal(e.seq, 2);
    assert_string_equal(e.type, "note");
    assert_string_equal(e.name, "Jane Roe, PharmD");
    assert_int_equal(e.recorded_ms, T0);
    assert_int_equal(e.event_ms, T0 - 60000);

    ledger__buf_release(&payload);
    ledger__buf_release(&tbs);
    ledger__buf_release(&entry);
    ledger__buf_release(&prot);
    keys_free(k);
}

static void test_ledger_decode_rejects_every_flip(void **state)
{
    /* Any single-bit change of an entry must fail decoding or the signature. */
    keys_key *k = NULL;
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
    ledger__buf payload, entry;
    (void)state;
    kat_key(&k);
    keys_key_pub(k, pub);
    keys_kid(kid, pub);
    kat_payload(&payload, kid);
    ledger__buf_init(&entry, LEDGER_MAX_ENTRY_BYTES);
    assert_int_equal(ledger__entry_build(&entry, k, payload.p, payload.len), 0);
    for (size_t i = 0; i < entry.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            ledger_entry e;
            entry.p[i] ^= (uint8_t)(1u << bit);
            int rc = ledger_entry_decode(&e, entry.p, entry.len, NULL, 0);
            if (rc == 0) {
                ledger__buf tbs;
                const uint8_t *pp, *pl;
                size_t ppn, pln;
                assert_int_equal(ledger__entry_spans(&e, &pp, &ppn, &pl, &pln), 0);
                ledger__buf_init(&tbs, LEDGER_MAX_ENTRY_BYTES + 128);
                ledger__sig_structure(&tbs, pp, ppn, pl, pln);
                rc = keys_verify(pub, e.sig, tbs.p, tbs.len);
                ledger__buf_release(&tbs);
            }
            assert_int_not_equal(rc, 0);
            entry.p[i] ^= (uint8_t)(1u << bit);
        }
    }
    ledger__buf_release(&payload);
    ledger__buf_release(&entry);
    keys_free(k);
}

/* ---- storage and rules ---- */

static void test_ledger_init_append_verify(void **state)
{
    fx *f = *state;
    uint64_t count;
    uint8_t head[LEDGER_HASH_BYTES];
    ledger_appended ap;
    ledger_body *b = NULL;
    int64_t now = ledger__now_ms();
    assert_int_equal(note(f, f->pharm, now, "one"), 0);
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_text(b, "text", "two"), 0);
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "note";
    o.body = b;
    assert_int_equal(ledger_append(f->l, f->nurse, &o, &ap), 0);
    ledger_body_free(b);
    assert_int_equal(ap.seq, 4);
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(count, 5);
    assert_memory_equal(head, ap.hash, LEDGER_HASH_BYTES);
    verify_ok(f, 5);

    /* the iterator returns every entry in order, chained */
    ledger_iter *it = NULL;
    ledger_entry e;
    uint8_t prev[LEDGER_HASH_BYTES] = {0};
    uint64_t n = 0;
    assert_int_equal(ledger_iter_open(&it, f->l, 0), 0);
    while (ledger_iter_next(it, &e) == 0) {
        assert_int_equal(e.seq, n);
        assert_memory_equal(e.prev, prev, LEDGER_HASH_BYTES);
        memcpy(prev, e.hash, LEDGER_HASH_BYTES);
        n++;
    }
    ledger_iter_free(it);
    assert_int_equal(n, 5);
    assert_memory_equal(prev, head, LEDGER_HASH_BYTES);
}

static void test_ledger_init_twice_refused(void **state)
{
    fx *f = *state;
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "BJ6125341", NULL),
                     LEDGER_EEXIST);
    verify_ok(f, 3);
}

static void test_ledger_init_bad_dea_refused(void **state)
{
    fx *f = *state;
    uint64_t count;
    uint8_t head[LEDGER_HASH_BYTES];
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "AB4523763", NULL),
                     LEDGER_EINVAL);
    assert_non_null(strstr(ledger_errmsg(f->l), "check digit"));
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(count, 0);
}

static void assert_head_unchanged(fx *f, uint64_t count, const uint8_t *head)
{
    uint64_t c2;
    uint8_t h2[LEDGER_HASH_BYTES];
    assert_int_equal(ledger_head(f->l, &c2, h2), 0);
    assert_int_equal(c2, count);
    assert_memory_equal(h2, head, LEDGER_HASH_BYTES);
}

static void test_ledger_append_refusals(void **state)
{
    fx *f = *state;
    keys_key *stranger = NULL;
    uint64_t count;
    uint8_t head[LEDGER_HASH_BYTES];
    int64_t now = ledger__now_ms();
    assert_int_equal(keys_generate(&stranger), 0);
    assert_int_equal(ledger_head(f->l, &count, head), 0);

    /* not enrolled */
    assert_int_equal(note(f, stranger, now, "x"), LEDGER_ESIGNER);
    /* role: a pharmacist may not enroll */
    ledger_body *b = NULL;
    uint8_t pub[KEYS_PUB_BYTES];
    keys_key_pub(stranger, pub);
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_bytes(b, "pub", pub, sizeof(pub)), 0);
    assert_int_equal(ledger_body_put_text(b, "name", "S"), 0);
    assert_int_equal(ledger_body_put_text(b, "role", "admin"), 0);
    assert_int_equal(ledger_body_put_uint(b, "valid_from", 1), 0);
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "key.enroll";
    o.body = b;
    assert_int_equal(ledger_append(f->l, f->pharm, &o, NULL), LEDGER_EROLE);
    ledger_body_free(b);
    /* clock rollback */
    assert_int_equal(note(f, f->pharm, 1000, "x"), LEDGER_ECLOCK);
    /* event time in the future */
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_text(b, "text", "x"), 0);
    ledger_append_opts o2 = LEDGER_APPEND_INIT;
    o2.type = "note";
    o2.body = b;
    o2.event_ms = now + 10 * 60 * 1000;
    assert_int_equal(ledger_append(f->l, f->pharm, &o2, NULL), LEDGER_EFUTURE);
    /* unknown type, missing body field */
    o2.type = "dance";
    assert_int_equal(ledger_append(f->l, f->pharm, &o2, NULL), LEDGER_EINVAL);
    o2.type = "note";
    o2.event_ms = 0;
    ledger_body_free(b);
    assert_int_equal(ledger_body_new(&b), 0);
    o2.body = b;
    assert_int_equal(ledger_append(f->l, f->pharm, &o2, NULL), LEDGER_EINVAL);
    ledger_body_free(b);
    /* enrolling the same key twice */
    enroll(f, f->pharm, "Jane Roe, PharmD", "pharmacist", now, 1, 0, LEDGER_EEXIST);
    assert_head_unchanged(f, count, head);
    verify_ok(f, count);
    keys_free(stranger);
}

static void test_ledger_validity_window(void **state)
{
    fx *f = *state;
    keys_key *temp = NULL;
    int64_t now = ledger__now_ms();
    assert_int_equal(keys_generate(&temp), 0);
    /* valid from an hour after now, until two hours after */
    enroll(f, temp, "Temp, RN", "nurse", now, now + 3600000, now + 7200000, 0);
    assert_int_equal(note(f, temp, now + 1000, "too early"), LEDGER_ENOTVALID);
    assert_int_equal(note(f, temp, now + 3600000, "in window"), 0);
    assert_int_equal(note(f, temp, now + 7200000, "too late"), LEDGER_ENOTVALID);
    verify_ok(f, 5);
    keys_free(temp);
}

static void test_ledger_revocation(void **state)
{
    fx *f = *state;
    ledger_body *b = NULL;
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
    ledger_keyinfo info;
    int64_t now = ledger__now_ms();
    keys_key_pub(f->pharm, pub);
    keys_kid(kid, pub);
    assert_int_equal(note(f, f->pharm, now, "before"), 0);
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_bytes(b, "kid", kid, sizeof(kid)), 0);
    assert_int_equal(ledger_body_put_text(b, "reason", "left the clinic"), 0);
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "key.revoke";
    o.body = b;
    o.recorded_ms = now + 1;
    assert_int_equal(ledger_append(f->l, f->nurse, &o, NULL), LEDGER_EROLE);
    assert_int_equal(ledger_append(f->l, f->site, &o, NULL), 0);
    assert_int_equal(ledger_append(f->l, f->site, &o, NULL), LEDGER_EEXIST); /* twice */
    ledger_body_free(b);
    assert_int_equal(note(f, f->pharm, now + 2, "after"), LEDGER_EREVOKED);
    assert_int_equal(ledger_key_get(f->l, kid, &info), 0);
    assert_true(info.revoked);
    assert_int_equal(info.revoked_seq, 4);
    assert_string_equal(info.revoke_reason, "left the clinic");
    /* the site key cannot be revoked */
    keys_key_pub(f->site, pub);
    keys_kid(kid, pub);
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_bytes(b, "kid", kid, sizeof(kid)), 0);
    assert_int_equal(ledger_body_put_text(b, "reason", "x"), 0);
    o.body = b;
    assert_int_equal(ledger_append(f->l, f->site, &o, NULL), LEDGER_EROLE);
    ledger_body_free(b);
    verify_ok(f, 5);
}

/* Plant a raw record under the library, as an attacker with file access could. */
static void plant(fx *f, uint64_t seq, const uint8_t *p, size_t n)
{
    MDB_txn *txn;
    uint8_t kb[8];
    ledger__u64be(kb, seq);
    MDB_val k = {8, kb}, v = {n, (void *)p};
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->l->entries, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
}

/* Sign @p payload properly with @p k and plant it as entry @p seq; verify must refuse it. */
static void plant_signed_payload(fx *f, keys_key *k, uint64_t seq, const uint8_t *payload, size_t n,
                                 const char *expect_why)
{
    ledger__buf entry;
    ledger_verify_result r;
    ledger__buf_init(&entry, LEDGER_MAX_ENTRY_BYTES);
    assert_int_equal(ledger__entry_build(&entry, k, payload, n), 0);
    plant(f, seq, entry.p, entry.len);
    assert_int_equal(ledger_verify(f->l, 0, NULL, NULL, &r), LEDGER_EVERIFY);
    assert_int_equal(r.bad_seq, seq);
    if (strstr(r.reason, expect_why) == NULL)
        fprintf(stderr, "reason: %s\n", r.reason);
    assert_non_null(strstr(r.reason, expect_why));
    ledger__buf_release(&entry);
}

static uint8_t *find(uint8_t *p, size_t n, const void *pat, size_t pn)
{
    for (size_t i = 0; i + pn <= n; i++)
        if (memcmp(p + i, pat, pn) == 0)
            return p + i;
    return NULL;
}

static void test_ledger_verify_rejects_noncanonical_payloads(void **state)
{
    /* Validly signed re-encodings of a valid payload: the same values, other bytes. */
    fx *f = *state;
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES], pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
    uint8_t orig[LEDGER_MAX_ENTRY_BYTES], bad[LEDGER_MAX_ENTRY_BYTES];
    size_t n, pn;
    ledger_entry e;
    const uint8_t *pp, *pl;
    size_t ppn, pln;
    assert_int_equal(note(f, f->pharm, ledger__now_ms(), "canonical"), 0);
    verify_ok(f, 4);
    assert_int_equal(ledger_get(f->l, 3, buf, sizeof(buf), &n), 0);
    assert_int_equal(ledger_entry_decode(&e, buf, n, NULL, 0), 0);
    assert_int_equal(ledger__entry_spans(&e, &pp, &ppn, &pl, &pln), 0);
    memcpy(orig, pl, pln);
    pn = pln;
    keys_key_pub(f->pharm, pub);
    keys_kid(kid, pub);

    /* 1. seq 3 written as 0x18 0x03 */
    uint8_t *q = find(orig, pn, "\x63seq\x03", 5);
    assert_non_null(q);
    size_t off = (size_t)(q - orig) + 4;
    memcpy(bad, orig, off);
    bad[off] = 0x18;
    bad[off + 1] = 0x03;
    memcpy(bad + off + 2, orig + off + 1, pn - off - 1);
    plant_signed_payload(f, f->pharm, 3, bad, pn + 1, "non-shortest");

    /* 2. "et" and "rt" swapped (both "xx" keys with 9-byte values) */
    uint8_t *et = find(orig, pn,
                       "\x62"
                       "et\x1b",
                       4),
            *rt = find(orig, pn,
                       "\x62"
                       "rt\x1b",
                       4);
    assert_non_null(et);
    assert_non_null(rt);
    assert_true(rt == et + 12);
    memcpy(bad, orig, pn);
    memcpy(bad + (et - orig), rt, 12);
    memcpy(bad + (rt - orig), et, 12);
    plant_signed_payload(f, f->pharm, 3, bad, pn, "canonical order");

    /* 3. duplicate key: "rt" renamed "et" */
    memcpy(bad, orig, pn);
    bad[(rt - orig) + 1] = 'e';
    plant_signed_payload(f, f->pharm, 3, bad, pn, "canonical order or duplicated");

    /* 4. body as an indefinite-length map: a1 ... -> bf ... ff */
    uint8_t *body = find(orig, pn,
                         "\x64"
                         "body\xa1",
                         6);
    assert_non_null(body);
    off = (size_t)(body - orig) + 5;
    uint8_t *next = find(orig, pn,
                         "\x64"
                         "name",
                         5);
    assert_non_null(next);
    size_t end = (size_t)(next - orig);
    memcpy(bad, orig, end);
    bad[off] = 0xbf;
    bad[end] = 0xff;
    memcpy(bad + end + 1, orig + end, pn - end);
    plant_signed_payload(f, f->pharm, 3, bad, pn + 1, "indefinite");

    /* the original bytes, planted back, verify again */
    plant(f, 3, buf, n);
    verify_ok(f, 4);
}

static void test_ledger_verify_names_bad_entry(void **state)
{
    fx *f = *state;
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES];
    size_t n;
    ledger_verify_result r;
    int64_t now = ledger__now_ms();
    for (int i = 0; i < 5; i++)
        assert_int_equal(note(f, f->pharm, now + i, "n"), 0);
    assert_int_equal(ledger_get(f->l, 5, buf, sizeof(buf), &n), 0);
    buf[n - 1] ^= 0x80; /* signature */
    plant(f, 5, buf, n);
    assert_int_equal(ledger_verify(f->l, 0, NULL, NULL, &r), LEDGER_EVERIFY);
    assert_true(r.failed);
    assert_int_equal(r.bad_seq, 5);
    assert_int_equal(r.entries, 5);
    assert_non_null(strstr(r.reason, "signature"));
    /* without signatures the flipped entry still differs from its Merkle leaf */
    assert_int_equal(ledger_verify(f->l, LEDGER_VERIFY_NO_SIGNATURES, NULL, NULL, &r),
                     LEDGER_EVERIFY);
    assert_int_equal(r.bad_seq, 5);
    assert_non_null(strstr(r.reason, "Merkle"));
}

/* Signatures are checked by several threads in batches: the finding is still the
 * first bad entry, whichever kind of problem comes first. */
static void test_ledger_parallel_verify_reports_first(void **state)
{
    fx *f = *state;
    enum { N = 1300 }; /* more than two batches of 512 */
    uint8_t a[LEDGER_MAX_ENTRY_BYTES], b[LEDGER_MAX_ENTRY_BYTES];
    size_t an, bn;
    ledger_verify_result r;
    int64_t now = ledger__now_ms();
    for (int i = 0; i < N; i++)
        assert_int_equal(note(f, f->pharm, now, "parallel"), 0);
    for (const char *threads = "1"; threads != NULL;
         threads = strcmp(threads, "1") == 0 ? "3" : NULL) {
        setenv("RXLEDGER_THREADS", threads, 1);
        verify_ok(f, N + 3);
        /* bad signatures at 700 and 1100: 700 is reported */
        assert_int_equal(ledger_get(f->l, 700, a, sizeof(a), &an), 0);
        assert_int_equal(ledger_get(f->l, 1100, b, sizeof(b), &bn), 0);
        a[an - 1] ^= 0x01;
        b[bn - 1] ^= 0x01;
        plant(f, 1100, b, bn);
        plant(f, 700, a, an);
        assert_int_equal(ledger_verify(f->l, 0, NULL, NULL, &r), LEDGER_EVERIFY);
        assert_int_equal(r.bad_seq, 700);
        assert_int_equal(r.entries, 700);
        assert_non_null(strstr(r.reason, "signature"));
        /* 700 restored: a bad signature at 1100 comes before the broken link at 1200 */
        a[an - 1] ^= 0x01;
        plant(f, 700, a, an);
        uint8_t c[LEDGER_MAX_ENTRY_BYTES];
        size_t cn;
        assert_int_equal(ledger_get(f->l, 1200, c, sizeof(c), &cn), 0);
        assert_int_equal(ledger_get(f->l, 1201, a, sizeof(a), &an), 0);
        plant(f, 1200, a, an); /* entry 1201's bytes at 1200: wrong seq */
        assert_int_equal(ledger_verify(f->l, 0, NULL, NULL, &r), LEDGER_EVERIFY);
        assert_int_equal(r.bad_seq, 1100);
        assert_non_null(strstr(r.reason, "signature"));
        /* 1100 restored: the broken link is the finding */
        b[bn - 1] ^= 0x01;
        plant(f, 1100, b, bn);
        assert_int_equal(ledger_verify(f->l, 0, NULL, NULL, &r), LEDGER_EVERIFY);
        assert_int_equal(r.bad_seq, 1200);
        assert_null(strstr(r.reason, "signature"));
        plant(f, 1200, c, cn);
    }
    unsetenv("RXLEDGER_THREADS");
    verify_ok(f, N + 3);
}

/* A pinned snapshot: every read through the handle sees the ledger as it was
 * at the begin while another handle appends; no appends through it until the
 * end; an iterator over it can leave hashes out (verify just made them). */
static void test_ledger_snapshot_pins_reads(void **state)
{
    fx *f = *state;
    ledger *other = NULL;
    ledger_verify_result r;
    ledger_iter *it = NULL;
    const ledger_entry *e;
    uint8_t head[LEDGER_HASH_BYTES], leaf[LEDGER_HASH_BYTES], zero[LEDGER_HASH_BYTES] = {0};
    uint64_t count = 0, n = 0;
    char err[256];
    int rc;
    int64_t now = ledger__now_ms();
    for (int i = 0; i < 40; i++)
        assert_int_equal(note(f, f->pharm, now, "before"), 0);
    assert_int_equal(ledger_open(&other, f->dir, 0, err, sizeof(err)), 0);
    assert_int_equal(ledger_snapshot_begin(f->l), 0);
    assert_int_equal(ledger_snapshot_begin(f->l), LEDGER_EBUSY);
    fx g = *f;
    g.l = other;
    assert_int_equal(note(&g, f->pharm, now, "after the pin"), 0);
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(count, 43);
    assert_int_equal(ledger_verify(f->l, LEDGER_VERIFY_NO_SIGNATURES, NULL, NULL, &r), 0);
    assert_int_equal(r.entries, 43);
    assert_int_equal(note(f, f->pharm, now, "refused"), LEDGER_EBUSY);
    assert_non_null(strstr(ledger_errmsg(f->l), "snapshot"));
    for (unsigned flags = 0; flags <= LEDGER_ITER_NO_HASH; flags += LEDGER_ITER_NO_HASH) {
        assert_int_equal(ledger_iter_open_flags(&it, f->l, 0, flags), 0);
        for (n = 0; (rc = ledger_iter_next_ref(it, &e)) == 0; n++) {
            assert_int_equal(e->seq, n);
            assert_int_equal(ledger__leaf_hash(leaf, e->bytes, e->len), 0);
            assert_memory_equal(e->hash, flags != 0 ? zero : leaf, LEDGER_HASH_BYTES);
        }
        assert_int_equal(rc, 1);
        assert_int_equal(n, 43);
        ledger_iter_free(it);
    }
    ledger_snapshot_end(f->l);
    ledger_snapshot_end(f->l); /* nothing pinned: nothing done */
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(count, 44);
    verify_ok(f, 44);
    assert_int_equal(note(f, f->pharm, now, "after the end"), 0);
    ledger_close(other);
}

static void test_ledger_concurrent_processes(void **state)
{
    /* Two processes append 500 notes each at once: all land, one chain. */
    fx *f = *state;
    enum { PER = 500 };
    pid_t pids[2];
    ledger_close(f->l);
    f->l = NULL;
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            fx child = *f;
            char err[256];
            int bad = 0;
            if (ledger_open(&child.l, f->dir, 0, err, sizeof(err)) != 0)
                _exit(10);
            for (int i = 0; i < PER; i++) {
                char text[32];
                (void)snprintf(text, sizeof(text), "p%d-%d", p, i);
                ledger_body *b = NULL;
                if (ledger_body_new(&b) != 0 || ledger_body_put_text(b, "text", text) != 0)
                    _exit(11);
                ledger_append_opts o = LEDGER_APPEND_INIT;
                o.type = "note";
                o.body = b;
                if (ledger_append(child.l, p == 0 ? f->pharm : f->nurse, &o, NULL) != 0)
                    bad++;
                ledger_body_free(b);
            }
            ledger_close(child.l);
            _exit(bad == 0 ? 0 : 12);
        }
    }
    for (int p = 0; p < 2; p++) {
        int st;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    char err[256];
    assert_int_equal(ledger_open(&f->l, f->dir, 0, err, sizeof(err)), 0);
    verify_ok(f, 3 + 2 * PER);
    /* every note exactly once */
    static unsigned char seen[2][PER];
    memset(seen, 0, sizeof(seen));
    ledger_iter *it = NULL;
    ledger_entry e;
    assert_int_equal(ledger_iter_open(&it, f->l, 3), 0);
    while (ledger_iter_next(it, &e) == 0) {
        char text[32];
        int p, i;
        assert_int_equal(ledger_entry_get_text(&e, "text", text, sizeof(text)), 0);
        assert_int_equal(sscanf(text, "p%d-%d", &p, &i), 2);
        assert_true(p >= 0 && p < 2 && i >= 0 && i < PER);
        seen[p][i]++;
    }
    ledger_iter_free(it);
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < PER; i++)
            assert_int_equal(seen[p][i], 1);
}

static void test_ledger_map_grows(void **state)
{
    /* Start with a map far too small: appends grow it and nothing is lost. */
    fx *f = *state;
    char err[256];
    size_t saved = ledger__initial_map_bytes;
    char big[LEDGER_TEXT_MAX + 1];
    memset(big, 'x', LEDGER_TEXT_MAX);
    big[LEDGER_TEXT_MAX] = '\0';
    ledger_close(f->l);
    ledger__initial_map_bytes = 64 * 1024;
    assert_int_equal(ledger_open(&f->l, f->dir, 0, err, sizeof(err)), 0);
    ledger__initial_map_bytes = saved;
    MDB_envinfo before, after;
    assert_int_equal(mdb_env_info(f->l->env, &before), 0);
    int64_t now = ledger__now_ms();
    for (int i = 0; i < 200; i++)
        assert_int_equal(note(f, f->pharm, now + i, big), 0);
    assert_int_equal(mdb_env_info(f->l->env, &after), 0);
    assert_true(after.me_mapsize > before.me_mapsize);
    verify_ok(f, 203);
}

static void test_ledger_open_errors(void **state)
{
    fx *f = *state;
    ledger *l = NULL;
    char err[256], path[128];
    (void)snprintf(path, sizeof(path), "%s/nothing-here", f->dir);
    assert_int_equal(ledger_open(&l, path, 0, err, sizeof(err)), LEDGER_ENOTFOUND);
    assert_null(l);
    assert_non_null(strstr(err, "no ledger"));
    /* a newer format version is refused */
    MDB_txn *txn;
    uint8_t fv[4] = {0, 0, 0, 9};
    MDB_val k = {6, "format"}, v = {4, fv};
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->l->meta, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(ledger_open(&l, f->dir, LEDGER_OPEN_RDONLY, err, sizeof(err)),
                     LEDGER_EVERSION);
    assert_non_null(strstr(err, "newer"));
    /* read-only handles refuse appends */
    fv[3] = 1;
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->l->meta, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(ledger_open(&l, f->dir, LEDGER_OPEN_RDONLY, err, sizeof(err)), 0);
    ledger_body *b = NULL;
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_text(b, "text", "x"), 0);
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "note";
    o.body = b;
    assert_int_equal(ledger_append(l, f->pharm, &o, NULL), LEDGER_ERDONLY);
    ledger_body_free(b);
    ledger_close(l);
}

static void test_ledger_oversized_entry_refused(void **state)
{
    fx *f = *state;
    ledger_body *b = NULL;
    uint64_t count;
    uint8_t head[LEDGER_HASH_BYTES];
    char text[LEDGER_TEXT_MAX + 1];
    memset(text, 'y', LEDGER_TEXT_MAX);
    text[LEDGER_TEXT_MAX] = '\0';
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_text(b, "text", text), 0);
    for (int i = 0; i < 16; i++) {
        char key[8];
        (void)snprintf(key, sizeof(key), "x%d", i);
        assert_int_equal(ledger_body_put_text(b, key, text), 0);
    }
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "note";
    o.body = b;
    assert_int_equal(ledger_append(f->l, f->pharm, &o, NULL), LEDGER_ETOOBIG);
    ledger_body_free(b);
    assert_head_unchanged(f, count, head);
    /* a field over the text bound is refused when it is added */
    char big[LEDGER_TEXT_MAX + 2];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_text(b, "text", big), LEDGER_ETOOBIG);
    ledger_body_free(b);
}

typedef struct two_notes {
    fx *f;
    keys_key *second_signer;
    ledger_appended a, b;
    uint64_t seen_count; /* ledger_head between the two appends */
    bool read_first;     /* the first entry could be read back before commit */
} two_notes;

static int two_notes_fn(ledger_txn *t, void *ud)
{
    two_notes *tn = ud;
    ledger_body *b = NULL;
    int rc = ledger_body_new(&b);
    if (rc == 0)
        rc = ledger_body_put_text(b, "text", "in one transaction");
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "note";
    o.body = b;
    if (rc == 0)
        rc = ledger_txn_append(t, tn->f->pharm, &o, &tn->a);
    if (rc == 0) {
        /* reads through the ledger inside the transaction see its own appends */
        uint8_t head[LEDGER_HASH_BYTES], buf[LEDGER_MAX_ENTRY_BYTES];
        ledger_entry e;
        rc = ledger_head(tn->f->l, &tn->seen_count, head);
        tn->read_first = rc == 0 &&
                         ledger_read_entry(tn->f->l, tn->a.seq, buf, sizeof(buf), &e) == 0 &&
                         memcmp(e.hash, tn->a.hash, LEDGER_HASH_BYTES) == 0 &&
                         memcmp(head, tn->a.hash, LEDGER_HASH_BYTES) == 0;
    }
    if (rc == 0)
        rc = ledger_txn_append(t, tn->second_signer, &o, &tn->b);
    ledger_body_free(b);
    return rc;
}

static void test_ledger_transaction_all_or_nothing(void **state)
{
    fx *f = *state;
    keys_key *stranger = NULL;
    uint64_t count;
    uint8_t head[LEDGER_HASH_BYTES];
    assert_int_equal(keys_generate(&stranger), 0);
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    /* the second append fails (unknown signer): the first must not land either */
    two_notes tn = {f, stranger, {0}, {0}, 0, false};
    assert_int_equal(ledger_transact(f->l, two_notes_fn, &tn), LEDGER_ESIGNER);
    assert_head_unchanged(f, count, head);
    assert_true(tn.read_first); /* seen inside the transaction, gone after the abort */
    assert_int_equal(tn.seen_count, count + 1);
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES];
    ledger_entry gone;
    assert_int_not_equal(ledger_read_entry(f->l, count, buf, sizeof(buf), &gone), 0);
    /* both good: consecutive seqs, committed together */
    tn.second_signer = f->nurse;
    assert_int_equal(ledger_transact(f->l, two_notes_fn, &tn), 0);
    assert_int_equal(tn.a.seq, count);
    assert_int_equal(tn.b.seq, count + 1);
    verify_ok(f, count + 2);
    keys_free(stranger);
}

static void test_ledger_verify_checks_derived_index(void **state)
{
    fx *f = *state;
    ledger_body *b = NULL;
    uint8_t commit[32], other[32];
    ledger_verify_result r;
    memset(commit, 0xab, sizeof(commit));
    memset(other, 0xcd, sizeof(other));
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_bytes(b, "patient", commit, sizeof(commit)), 0);
    assert_int_equal(ledger_body_put_bytes(b, "rems-patient-id", other, sizeof(other)), 0);
    assert_int_equal(ledger_body_put_uint(b, "on", 1793491200000), 0);
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "patient.enroll";
    o.body = b;
    assert_int_equal(ledger_append(f->l, f->pharm, &o, NULL), 0);
    ledger_body_free(b);
    verify_ok(f, 4);

    /* a record the chain does not imply */
    MDB_txn *txn;
    uint8_t kb[33], vb[8];
    kb[0] = LEDGER_INDEX_PATIENT;
    memcpy(kb + 1, other, 32);
    ledger__u64be(vb, 3);
    MDB_val k = {sizeof(kb), kb}, v = {sizeof(vb), vb};
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->l->index, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(ledger_verify(f->l, 0, NULL, NULL, &r), LEDGER_EVERIFY);
    assert_non_null(strstr(r.reason, "index"));

    /* the planted record gone and the real one deleted: the entry is named */
    memcpy(kb + 1, commit, 32);
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_drop(txn, f->l->index, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(ledger_verify(f->l, 0, NULL, NULL, &r), LEDGER_EVERIFY);
    assert_int_equal(r.bad_seq, 3);
    assert_non_null(strstr(r.reason, "index lacks"));
    /* put it back: verify passes again */
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->l->index, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    verify_ok(f, 4);
}

static void test_ledger_checkpoint(void **state)
{
    fx *f = *state;
    uint8_t buf[LEDGER_CHECKPOINT_MAX], pub[KEYS_PUB_BYTES], other[KEYS_PUB_BYTES];
    uint8_t root[LEDGER_HASH_BYTES], head[LEDGER_HASH_BYTES];
    size_t n = 0;
    uint64_t count;
    ledger_checkpoint cp, back;
    ledger_verify_result r;
    char why[256];
    assert_int_equal(note(f, f->pharm, ledger__now_ms(), "before"), 0);
    /* only the site key signs checkpoints */
    assert_int_equal(ledger_checkpoint_make(f->l, f->pharm, buf, sizeof(buf), &n, &cp),
                     LEDGER_EROLE);
    assert_int_equal(ledger_checkpoint_make(f->l, f->site, buf, sizeof(buf), &n, &cp), 0);
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(cp.size, count);
    assert_memory_equal(cp.head, head, LEDGER_HASH_BYTES);
    assert_int_equal(ledger_merkle_root(f->l, count, root), 0);
    assert_memory_equal(cp.root, root, LEDGER_HASH_BYTES);
    /* it decodes with the site key only, and any flipped bit is refused */
    keys_key_pub(f->site, pub);
    keys_key_pub(f->pharm, other);
    assert_int_equal(ledger_checkpoint_decode(&back, buf, n, pub, why, sizeof(why)), 0);
    assert_memory_equal(&back, &cp, sizeof(cp));
    assert_int_equal(ledger_checkpoint_decode(&back, buf, n, other, why, sizeof(why)),
                     LEDGER_EVERIFY);
    for (size_t i = 0; i < n; i++) {
        buf[i] ^= 0x04;
        assert_int_not_equal(ledger_checkpoint_decode(&back, buf, n, pub, NULL, 0), 0);
        buf[i] ^= 0x04;
    }
    /* nothing was appended to the chain, and verify checks the stored checkpoint */
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(count, cp.size);
    assert_int_equal(note(f, f->pharm, ledger__now_ms() + 1, "after"), 0);
    verify_ok(f, count + 1);

    /* a checkpoint validly signed by the site key over a root the chain never had */
    ledger__buf cose;
    ledger_checkpoint forged = cp;
    uint8_t kb[16];
    memset(forged.root, 0x77, sizeof(forged.root));
    forged.time_ms = cp.time_ms + 1;
    ledger__buf_init(&cose, LEDGER_CHECKPOINT_MAX);
    assert_int_equal(ledger__tree_head_sign(&cose, f->site, &forged), 0);
    assert_int_equal(ledger_checkpoint_decode(&back, cose.p, cose.len, pub, why, sizeof(why)), 0);
    ledger__u64be(kb, cp.size);
    ledger__u64be(kb + 8, (uint64_t)forged.time_ms);
    MDB_val k = {sizeof(kb), kb}, v = {cose.len, cose.p};
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->l->checkpoints, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(ledger_verify(f->l, 0, NULL, NULL, &r), LEDGER_EVERIFY);
    assert_int_equal(r.bad_seq, cp.size - 1);
    assert_non_null(strstr(r.reason, "checkpoint"));
    /* a corrupted stored checkpoint is reported too */
    cose.p[cose.len - 1] ^= 1;
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->l->checkpoints, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(ledger_verify(f->l, 0, NULL, NULL, &r), LEDGER_EVERIFY);
    assert_non_null(strstr(r.reason, "invalid"));
    ledger__buf_release(&cose);
}

static void test_ledger_format_body_escapes(void **state)
{
    fx *f = *state;
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES];
    size_t n;
    ledger_entry e;
    char out[256];
    assert_int_equal(note(f, f->pharm, ledger__now_ms(), "say \"hi\"\ttab"), 0);
    assert_int_equal(ledger_get(f->l, 3, buf, sizeof(buf), &n), 0);
    assert_int_equal(ledger_entry_decode(&e, buf, n, NULL, 0), 0);
    ledger_entry_format_body(&e, out, sizeof(out));
    assert_string_equal(out, "text: \"say \\\"hi\\\"\\x09tab\"");
    ledger_entry_format_body(&e, out, 12);
    assert_int_equal(strlen(out), 11);
    assert_non_null(strstr(out, "..."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_reader_accepts_canonical),
        cmocka_unit_test(test_ledger_reader_rejects_noncanonical),
        cmocka_unit_test(test_ledger_body_sorts_keys),
        cmocka_unit_test(test_ledger_writer_shortest_forms),
        cmocka_unit_test(test_ledger_kat_payload_sig_structure_entry),
        cmocka_unit_test(test_ledger_decode_rejects_every_flip),
        cmocka_unit_test_setup_teardown(test_ledger_init_append_verify, setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_init_twice_refused, setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_init_bad_dea_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_append_refusals, setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_validity_window, setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_revocation, setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_verify_rejects_noncanonical_payloads,
                                        setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_parallel_verify_reports_first, setup_enrolled,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ledger_verify_names_bad_entry, setup_enrolled,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ledger_concurrent_processes, setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_map_grows, setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_open_errors, setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_oversized_entry_refused, setup_enrolled,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ledger_transaction_all_or_nothing, setup_enrolled,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ledger_verify_checks_derived_index, setup_enrolled,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ledger_checkpoint, setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_snapshot_pins_reads, setup_enrolled, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_format_body_escapes, setup_enrolled, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
