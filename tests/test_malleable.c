/* Malleability: a non-canonical re-encoding of a valid entry is the same entry
 * in other bytes. Each kind of re-encoding (forge.c's table: longer heads,
 * indefinite lengths, unsorted and repeated keys, floats, tags, trailing
 * bytes) at every level (the COSE_Sign1 array, the protected header, the
 * payload map, the body and what nests in it) is re-signed with the legitimate
 * key, checked to be the same entry validly signed by an independent lenient
 * reader, planted in LMDB with every later entry re-chained and re-signed and
 * the Merkle tree and head kept consistent, and must be refused by verify, by
 * the export writer, and by the export reader in a forged export whose trailer
 * the site key signs over the stored tree. Real LMDB and OpenSSL. */
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

#include "forge.h"
#include "ledger/export.h"
#include "ledger/merkle.h"
#include "ledger/records.h"
#include "ledger_int.h"

#define T0 1795381500000 /* 2026-11-22T21:05:00Z */
#define N  8             /* entries of the fixture */

/* The ledger's clock: each entry a second after the last. */
static int64_t clock_ms;
static int64_t test_clock(void)
{
    return clock_ms;
}

/*  0 genesis (site)                 4 vitals, bp [128, 82] (nurse)
 *  1 enroll pharmacist, valid_from 1   5 amend of 3, "set" {lot, text} (pharmacist)
 *  2 enroll nurse, valid_from 1        6 note (nurse)
 *  3 note, event time 1000 ms (pharmacist)  7 note (pharmacist): the head */
typedef struct mfx {
    char dir[64];
    ledger *l;
    keys_key *site, *pharm, *nurse;
    rxf_keys keys;
    uint8_t fpr[KEYS_FPR_BYTES];
    const keys_key *signer[N];
    uint8_t *orig[N];
    size_t len[N];
    uint8_t head[LEDGER_HASH_BYTES];
} mfx;

static const uint64_t ctx3[] = {0, 1, 2}; /* the context of an export from seq 3 */

static void append(mfx *f, keys_key *k, const char *type, int64_t et, ledger_body *b)
{
    ledger_append_opts o = LEDGER_APPEND_INIT;
    clock_ms += 1000;
    o.type = type;
    o.body = b;
    o.event_ms = et;
    int rc = ledger_append(f->l, k, &o, NULL);
    if (rc != 0)
        print_error("append %s: %s\n", type, ledger_errmsg(f->l));
    assert_int_equal(rc, 0);
    ledger_body_free(b);
}

static ledger_body *text_body(const char *text)
{
    ledger_body *b = NULL;
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_text(b, "text", text), 0);
    return b;
}

static int setup(void **state)
{
    mfx *f = calloc(1, sizeof(*f));
    char err[256];
    uint8_t pub[KEYS_PUB_BYTES];
    ledger_body *b = NULL, *set = NULL;
    assert_non_null(f);
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/rxl-mal-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(keys_generate(&f->site), 0);
    assert_int_equal(keys_generate(&f->pharm), 0);
    assert_int_equal(keys_generate(&f->nurse), 0);
    f->keys.k[0] = f->site;
    f->keys.k[1] = f->pharm;
    f->keys.k[2] = f->nurse;
    f->keys.n = 3;
    keys_key_pub(f->site, pub);
    keys_fingerprint(f->fpr, pub);
    ledger__test_clock = test_clock;
    clock_ms = T0;
    assert_int_equal(ledger_open(&f->l, f->dir, LEDGER_OPEN_CREATE, err, sizeof(err)), 0);
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "BJ6125341", NULL), 0);
    clock_ms += 1000;
    assert_int_equal(rxt_enroll(f->l, f->site, f->pharm, "Jane Roe, PharmD", "pharmacist", 1, 0, 0),
                     0);
    clock_ms += 1000;
    assert_int_equal(rxt_enroll(f->l, f->site, f->nurse, "Ann Lee, RN", "nurse", 1, 0, 0), 0);
    append(f, f->pharm, "note", 1000, text_body("opened the controlled-substance safe"));
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_uint(b, "session", 3), 0);
    assert_int_equal(ledger_body_put_text(b, "phase", "pre"), 0);
    const ledger_rtype *vit = ledger_rtype_find("vitals");
    assert_int_equal(ledger_field_parse(ledger_rtype_field(vit, "bp"), "128/82", b, NULL, 0), 0);
    append(f, f->nurse, "vitals", 0, b);
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES];
    ledger_entry e3;
    assert_int_equal(ledger_read_entry(f->l, 3, buf, sizeof(buf), &e3), 0);
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_new(&set), 0);
    assert_int_equal(ledger_body_put_text(set, "lot", "A1"), 0);
    assert_int_equal(ledger_body_put_text(set, "text", "opened safe 2"), 0);
    assert_int_equal(ledger_body_put_uint(b, "ref", 3), 0);
    assert_int_equal(ledger_body_put_bytes(b, "ref-hash", e3.hash, LEDGER_HASH_BYTES), 0);
    assert_int_equal(ledger_body_put_text(b, "reason", "wrong safe"), 0);
    assert_int_equal(ledger_body_put_map(b, "set", set), 0);
    ledger_body_free(set);
    append(f, f->pharm, "amend", 0, b);
    append(f, f->nurse, "note", 0, text_body("checked the fridge"));
    append(f, f->pharm, "note", 0, text_body("closed the safe"));
    const keys_key *signers[N] = {f->site,  f->site,  f->site,  f->pharm,
                                  f->nurse, f->pharm, f->nurse, f->pharm};
    for (uint64_t s = 0; s < N; s++) {
        size_t n = 0;
        f->signer[s] = signers[s];
        assert_non_null(f->orig[s] = malloc(LEDGER_MAX_ENTRY_BYTES));
        assert_int_equal(ledger_get(f->l, s, f->orig[s], LEDGER_MAX_ENTRY_BYTES, &n), 0);
        f->len[s] = n;
    }
    uint64_t count;
    assert_int_equal(ledger_head(f->l, &count, f->head), 0);
    assert_int_equal(count, N);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    mfx *f = *state;
    ledger_close(f->l);
    keys_free(f->site);
    keys_free(f->pharm);
    keys_free(f->nurse);
    for (int s = 0; s < N; s++)
        free(f->orig[s]);
    assert_int_equal(rxt_rm_rf(f->dir), 0);
    ledger__test_clock = NULL;
    free(f);
    return 0;
}

static void verify_ok(mfx *f)
{
    ledger_verify_result r;
    assert_int_equal(rxt_verify(f->l, &r), 0);
    assert_int_equal(r.entries, N);
}

/* Read an export back to its end: 1 when it verifies, else LEDGER_EVERIFY
 * with the reader left open in @p out for the detail. */
static int read_export(FILE *t, const uint8_t fpr[KEYS_FPR_BYTES], ledger_export_reader **out)
{
    ledger_entry e;
    rewind(t);
    int rc = ledger_export_open(out, t, fpr);
    while (rc == 0)
        rc = ledger_export_next(*out, &e);
    return rc;
}

static FILE *forged_export(mfx *f, uint64_t from, unsigned flags)
{
    char why[256] = "";
    FILE *t = tmpfile();
    assert_non_null(t);
    int rc = rxf_export(f->l, f->site, from, from == 0 ? NULL : ctx3, from == 0 ? 0 : 3, flags, t,
                        why, sizeof(why));
    if (rc != 0)
        print_error("rxf_export: %s\n", why);
    assert_int_equal(rc, 0);
    return t;
}

static void restore(mfx *f, uint64_t seq)
{
    char why[256] = "";
    uint64_t count;
    uint8_t head[LEDGER_HASH_BYTES];
    int rc = rxf_replace(f->l, seq, f->orig[seq], f->len[seq], &f->keys, why, sizeof(why));
    if (rc != 0)
        print_error("restore: %s\n", why);
    assert_int_equal(rc, 0);
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_memory_equal(head, f->head, LEDGER_HASH_BYTES);
}

/* ---- the forging itself is faithful ---- */

static void test_malleable_forgery_is_faithful(void **state)
{
    mfx *f = *state;
    char why[256] = "";
    verify_ok(f);
    /* the forged export of an untouched ledger is byte for byte the library's */
    for (uint64_t from = 0; from <= 3; from += 3) {
        ledger_export_opts o = LEDGER_EXPORT_INIT;
        ledger_export_info info;
        FILE *lib = tmpfile(), *forged = forged_export(f, from, 0);
        assert_non_null(lib);
        o.from_seq = from;
        assert_int_equal(ledger_export_write(f->l, f->site, &o, lib, &info), 0);
        assert_int_equal(info.context, from == 0 ? 0 : 3);
        long n1 = ftell(lib), n2 = ftell(forged);
        assert_true(n1 > 0);
        assert_int_equal(n1, n2);
        uint8_t *a = malloc((size_t)n1), *b = malloc((size_t)n1);
        assert_non_null(a);
        assert_non_null(b);
        rewind(lib);
        rewind(forged);
        assert_int_equal(fread(a, 1, (size_t)n1, lib), (size_t)n1);
        assert_int_equal(fread(b, 1, (size_t)n1, forged), (size_t)n1);
        assert_memory_equal(a, b, (size_t)n1);
        free(a);
        free(b);
        fclose(lib);
        fclose(forged);
    }
    /* a different canonical note planted mid-chain, everything after it re-chained
     * (the amendment's ref-hash included): the ledger and its exports verify */
    ledger_entry e;
    uint8_t buf[LEDGER_MAX_ENTRY_BYTES];
    ledger__buf other, body;
    ledger_body *b = text_body("opened the other safe");
    ledger__buf_init(&other, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&body, LEDGER_MAX_ENTRY_BYTES);
    ledger__body_encode(b, &body);
    ledger_body_free(b);
    assert_int_equal(ledger_read_entry(f->l, 3, buf, sizeof(buf), &e), 0);
    assert_int_equal(rxf_build(&other, f->pharm, e.name, 3, e.prev, "note", e.recorded_ms,
                               e.event_ms, e.meaning, body.p, body.len),
                     0);
    assert_int_equal(rxf_replace(f->l, 3, other.p, other.len, &f->keys, why, sizeof(why)), 0);
    verify_ok(f);
    uint64_t count;
    uint8_t head[LEDGER_HASH_BYTES];
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_memory_not_equal(head, f->head, LEDGER_HASH_BYTES);
    for (uint64_t from = 0; from <= 3; from += 3) {
        ledger_export_reader *r = NULL;
        FILE *t = forged_export(f, from, 0);
        int rc = read_export(t, f->fpr, &r);
        if (rc != 1)
            print_error("export from %llu: %s\n", (unsigned long long)from, ledger_export_why(r));
        assert_int_equal(rc, 1);
        ledger_export_close(r);
        fclose(t);
    }
    /* the original back: the very same bytes, head and all */
    restore(f, 3);
    verify_ok(f);
    ledger__buf_release(&other);
    ledger__buf_release(&body);
}

/* ---- every kind at every place it can occur ---- */

typedef struct tally {
    unsigned planted[4]; /* by level */
    unsigned per_kind[128];
} tally;

/* The export reader refuses the file, naming the planted entry. */
static void export_refused(mfx *f, uint64_t from, uint64_t seq, const rxf_kind *kd)
{
    ledger_export_reader *r = NULL;
    FILE *t = forged_export(f, from, 0);
    char name[64], item[64];
    int rc = read_export(t, f->fpr, &r);
    const char *why = ledger_export_why(r);
    if (rc != LEDGER_EVERIFY || (!kd->own_item && strstr(why, kd->reason) == NULL))
        print_error("%s at %llu, export from %llu: rc %d: %s\n", kd->name, (unsigned long long)seq,
                    (unsigned long long)from, rc, why);
    assert_int_equal(rc, LEDGER_EVERIFY);
    if (seq < from) {
        /* in the header's context: refused when the file is opened */
        (void)snprintf(name, sizeof(name), "context entry seq %llu", (unsigned long long)seq);
        assert_non_null(strstr(why, name));
        assert_non_null(strstr(why, kd->reason));
    } else if (kd->own_item) {
        /* the extra bytes are the next item: refused there */
        assert_int_equal(ledger_export_position(r), seq + 1);
    } else {
        assert_int_equal(ledger_export_position(r), seq);
        (void)snprintf(name, sizeof(name), "entry seq %llu ", (unsigned long long)seq);
        (void)snprintf(item, sizeof(item), "item %llu ", (unsigned long long)(seq - from + 2));
        assert_true(strstr(why, name) != NULL || strstr(why, item) != NULL);
        assert_non_null(strstr(why, kd->reason));
    }
    ledger_export_close(r);
    fclose(t);
}

/* Plant @p kd at @p seq and check everything refuses it; false when the kind
 * does not apply to that entry. */
static bool plant_one(mfx *f, uint64_t seq, const rxf_kind *kd)
{
    ledger__buf bad, canon;
    uint8_t pub[KEYS_PUB_BYTES], buf[LEDGER_MAX_ENTRY_BYTES];
    char why[LEDGER_ERRMSG_MAX] = "";
    ledger_entry e;
    ledger_verify_result r;
    ledger__buf_init(&bad, 2 * LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&canon, 2 * LEDGER_MAX_ENTRY_BYTES);
    int rc = rxf_reencode(&bad, f->orig[seq], f->len[seq], kd, f->signer[seq]);
    if (rc == 1) {
        ledger__buf_release(&bad);
        ledger__buf_release(&canon);
        return false;
    }
    assert_int_equal(rc, 0);
    /* the oracle: other bytes, the same entry, validly signed over what it carries */
    assert_false(bad.len == f->len[seq] && memcmp(bad.p, f->orig[seq], bad.len) == 0);
    assert_int_equal(rxf_canonical(&canon, bad.p, bad.len), 0);
    assert_int_equal(canon.len, f->len[seq]);
    assert_memory_equal(canon.p, f->orig[seq], f->len[seq] - KEYS_SIG_BYTES);
    keys_key_pub(f->signer[seq], pub);
    assert_int_equal(rxf_sig_ok(bad.p, bad.len, pub), 0);
    /* the strict decoder refuses it */
    assert_int_equal(ledger_entry_decode(&e, bad.p, bad.len, why, sizeof(why)), LEDGER_EENCODING);
    if (strstr(why, kd->reason) == NULL)
        print_error("%s at %llu: decode says '%s'\n", kd->name, (unsigned long long)seq, why);
    assert_non_null(strstr(why, kd->reason));
    /* planted, re-chained: the only defect of the ledger */
    rc = rxf_replace(f->l, seq, bad.p, bad.len, &f->keys, why, sizeof(why));
    if (rc != 0)
        print_error("plant: %s\n", why);
    assert_int_equal(rc, 0);
    for (unsigned flags = 0; flags <= LEDGER_VERIFY_NO_SIGNATURES; flags++) {
        rc = ledger_verify(f->l, flags, NULL, NULL, &r);
        if (rc != LEDGER_EVERIFY || r.bad_seq != seq || strstr(r.reason, kd->reason) == NULL)
            print_error("%s at %llu: verify rc %d at %llu: %s\n", kd->name, (unsigned long long)seq,
                        rc, (unsigned long long)r.bad_seq, r.reason);
        assert_int_equal(rc, LEDGER_EVERIFY);
        assert_int_equal(r.bad_seq, seq);
        assert_int_equal(r.entries, seq);
        assert_int_equal(r.cause, LEDGER_EENCODING);
        assert_non_null(strstr(r.reason, kd->reason));
    }
    /* readers refuse it too */
    assert_int_equal(ledger_read_entry(f->l, seq, buf, sizeof(buf), &e), LEDGER_EENCODING);
    /* the export writer will not write it */
    ledger_export_opts o = LEDGER_EXPORT_INIT;
    ledger_export_info info;
    FILE *t = tmpfile();
    assert_non_null(t);
    assert_int_not_equal(ledger_export_write(f->l, f->site, &o, t, &info), 0);
    fclose(t);
    /* a forged export carrying it, signed by the site key, is refused by the reader:
     * from 0, and from 3 (seqs 0 to 2 are then the header's context) */
    export_refused(f, 0, seq, kd);
    export_refused(f, 3, seq, kd);
    restore(f, seq);
    ledger__buf_release(&bad);
    ledger__buf_release(&canon);
    return true;
}

static void test_malleable_every_kind_everywhere(void **state)
{
    mfx *f = *state;
    static tally t;
    static const uint64_t generic[] = {0, 3, N - 1};     /* genesis, mid-chain, head */
    static const uint64_t bodies[] = {0, 1, 3, 4, 5, 7}; /* every kind of body */
    unsigned total = 0;
    memset(&t, 0, sizeof(t));
    for (size_t i = 0; rxf_kind_at(i) != NULL; i++) {
        const rxf_kind *kd = rxf_kind_at(i);
        const uint64_t *at = kd->level == RXF_BODY ? bodies : generic;
        size_t nat = kd->level == RXF_BODY ? sizeof(bodies) / sizeof(bodies[0])
                                           : sizeof(generic) / sizeof(generic[0]);
        assert_true(i < sizeof(t.per_kind) / sizeof(t.per_kind[0]));
        for (size_t j = 0; j < nat; j++)
            if (plant_one(f, at[j], kd)) {
                t.planted[kd->level]++;
                t.per_kind[i]++;
                total++;
            }
        /* every kind of the table applies somewhere in this ledger */
        if (t.per_kind[i] == 0)
            print_error("kind %s applies nowhere\n", kd->name);
        assert_true(t.per_kind[i] > 0);
    }
    print_message("planted %u non-canonical entries: %u envelope, %u protected header, "
                  "%u payload, %u body\n",
                  total, t.planted[0], t.planted[1], t.planted[2], t.planted[3]);
    verify_ok(f);
}

/* ---- the export's own items: the site signs the header as written ---- */

static void test_malleable_export_items(void **state)
{
    mfx *f = *state;
    static const struct {
        unsigned flag;
        uint64_t from;
        const char *reason;
    } cases[] = {
        {RXF_X_HDR_UNSORTED, 0, "not deterministic CBOR"},
        {RXF_X_HDR_INT_LONG, 0, "not deterministic CBOR"},
        {RXF_X_HDR_DUP, 0, "not deterministic CBOR"},
        {RXF_X_HDR_INDEF, 0, "indefinite length"},
        {RXF_X_CTX_BSTR_LONG, 3, "not deterministic CBOR"},
        {RXF_X_TRAILER_TAG, 0, "not a checkpoint"},
        {RXF_X_TRAILER_ARRAY, 3, "not a checkpoint"},
    };
    for (uint64_t from = 0; from <= 3; from += 3) {
        ledger_export_reader *r = NULL;
        FILE *t = forged_export(f, from, 0);
        assert_int_equal(read_export(t, f->fpr, &r), 1);
        ledger_export_close(r);
        fclose(t);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ledger_export_reader *r = NULL;
        FILE *t = forged_export(f, cases[i].from, cases[i].flag);
        int rc = read_export(t, f->fpr, &r);
        if (rc != LEDGER_EVERIFY || strstr(ledger_export_why(r), cases[i].reason) == NULL)
            print_error("export flag %#x: rc %d: %s\n", cases[i].flag, rc, ledger_export_why(r));
        assert_int_equal(rc, LEDGER_EVERIFY);
        assert_non_null(strstr(ledger_export_why(r), cases[i].reason));
        ledger_export_close(r);
        fclose(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_malleable_forgery_is_faithful, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malleable_every_kind_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malleable_export_items, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
