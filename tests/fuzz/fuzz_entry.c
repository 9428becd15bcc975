/* libFuzzer harness: a stored entry's bytes (what `rxledger show N --raw`
 * prints) through the strict CBOR reader, the COSE_Sign1 envelope, the entry
 * decoder, every body accessor, the body renderer, the record-type body check
 * and the rules of a chain step (a genesis entry's self-signature included).
 * Corpus: tests/fuzz/corpus/entry (entries of a demo ledger). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "ledger/ledger.h"
#include "ledger/records.h"
#include "ledger_int.h"

static bool inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    return p >= data && n <= size && (size_t)(p - data) <= size - n;
}

/* What `rxledger show` prints reaches a terminal: no control character but
 * the line breaks, C1 controls (U+0080-U+009F) included. */
static bool terminal_safe(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f ||
            (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            return false;
    return true;
}

/* Every accessor on every field the entry's type declares, and a few more. */
static void read_body(const ledger_entry *e)
{
    static const char *const extra[] = {"text",     "pub", "kid", "ref", "ref-hash",
                                        "site_pub", "set", "mg",  "",    "a"};
    const ledger_rtype *rt = ledger_rtype_find(e->type);
    char text[LEDGER_TEXT_MAX + 1], tiny[4], why[LEDGER_ERRMSG_MAX], shown[2048], small[12];
    size_t nkeys = (rt != NULL ? rt->nfields : 0) + sizeof(extra) / sizeof(extra[0]);
    for (size_t i = 0; i < nkeys; i++) {
        const char *key = rt != NULL && i < rt->nfields ? rt->fields[i].name
                                                        : extra[i - (rt != NULL ? rt->nfields : 0)];
        uint64_t u;
        int64_t s;
        bool b;
        const uint8_t *p;
        size_t n;
        if (ledger_entry_get_text(e, key, text, sizeof(text)) == 0)
            FUZZ_CHECK(strlen(text) < sizeof(text));
        if (ledger_entry_get_text(e, key, tiny, sizeof(tiny)) == 0)
            FUZZ_CHECK(strlen(tiny) < sizeof(tiny));
        (void)ledger_entry_get_uint(e, key, &u);
        (void)ledger_entry_get_int(e, key, &s);
        (void)ledger_entry_get_bool(e, key, &b);
        if (ledger_entry_get_bytes(e, key, &p, &n) == 0)
            FUZZ_CHECK(inside(p, n, e->body, e->body_len));
        (void)ledger_entry_get_map_text(e, key, "mg", text, sizeof(text));
        (void)ledger_entry_get_map_text(e, "set", key, tiny, sizeof(tiny));
    }
    if (rt != NULL)
        (void)ledger_rtype_check_body(rt, e, why, sizeof(why));
    ledger_entry_format_body(e, shown, sizeof(shown));
    FUZZ_CHECK(strlen(shown) < sizeof(shown) && terminal_safe(shown));
    ledger_entry_format_body(e, small, sizeof(small));
    FUZZ_CHECK(strlen(small) < sizeof(small) && terminal_safe(small));
}

/* The rules with a signer as enrolled (role by seq, so every role is tried),
 * without one, and the first step of a chain walk for a genesis entry. */
static void rules(const ledger_entry *e)
{
    char why[LEDGER_ERRMSG_MAX];
    ledger_keyinfo signer;
    ledger__effect eff;
    ledger__ktab t;
    memset(&signer, 0, sizeof(signer));
    memcpy(signer.kid, e->kid, KEYS_KID_BYTES);
    signer.role = (ledger_role)(1 + e->seq % 5);
    memcpy(signer.name, e->name, sizeof(signer.name));
    (void)ledger__effect_of(e, &eff, why, sizeof(why));
    (void)ledger__check_rules(e, &signer, &eff, why, sizeof(why));
    (void)ledger__check_rules(e, NULL, &eff, why, sizeof(why));
    if (e->seq == 0) {
        memset(&t, 0, sizeof(t));
        if (ledger__chain_step(&t, e, 0, NULL, 0, true, &eff, why, sizeof(why)) == 0)
            FUZZ_CHECK(t.n == 1 && t.v[0].info.role == LEDGER_ROLE_SITE);
        ledger__ktab_release(&t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[LEDGER_ERRMSG_MAX];
    ledger__rd r;
    size_t start = 0;
    const uint8_t *prot = NULL, *payload = NULL, *sig = NULL;
    size_t protlen = 0, plen = 0;
    uint8_t kid[KEYS_KID_BYTES];
    ledger_entry e;

    /* the generic strict reader over the whole input */
    ledger__rd_init(&r, data, size, why, sizeof(why));
    if (ledger__rd_value(&r, 0, &start) == 0)
        FUZZ_CHECK(r.off <= size && start <= r.off);
    /* the envelope alone, as checkpoints and receipts open it */
    if (ledger__cose_open(data, size, &prot, &protlen, &payload, &plen, &sig, kid, why,
                          sizeof(why)) == 0)
        FUZZ_CHECK(inside(prot, protlen, data, size) && inside(payload, plen, data, size) &&
                   inside(sig, KEYS_SIG_BYTES, data, size));

    if (ledger_entry_decode(&e, data, size, why, sizeof(why)) != 0)
        return 0;
    FUZZ_CHECK(e.bytes == data && e.len == size);
    FUZZ_CHECK(inside(e.body, e.body_len, data, size) && e.body_len > 0);
    FUZZ_CHECK(e.type[0] != '\0' && e.name[0] != '\0' && e.meaning[0] != '\0');
    FUZZ_CHECK(e.recorded_ms >= 0 && e.event_ms >= 0);
    FUZZ_CHECK(ledger__entry_spans(&e, &prot, &protlen, &payload, &plen) == 0);
    read_body(&e);
    rules(&e);
    return 0;
}
