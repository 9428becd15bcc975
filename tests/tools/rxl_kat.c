/* rxl-kat: print the known-answer vectors of docs/format.md (tests/data/kat-*.hex).
 * Run once to make the files; test_ledger checks the library still produces them
 * and tests/interop/check_kat.py checks them with an independent CBOR/Ed25519 stack. */
#include <stdio.h>
#include <string.h>

#include "ledger_int.h"

#define T0 1795381500000 /* 2026-11-22T21:05:00Z */

static void put_hex(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    (void)snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x%s", p[i], (i % 32 == 31 || i + 1 == n) ? "\n" : "");
    fclose(f);
}

int main(int argc, char **argv)
{
    /* RFC 8032 section 7.1 test 1 secret key, so anyone can redo the signature. */
    static const uint8_t seed[KEYS_SEED_BYTES] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
                                                  0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
                                                  0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
                                                  0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
    keys_key *k = NULL;
    ledger_body *b = NULL;
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES], prev[LEDGER_HASH_BYTES];
    ledger__buf payload, entry, tbs;
    ledger_entry e;
    const uint8_t *pp, *pl;
    size_t ppn, pln;
    if (argc != 2) {
        fputs("usage: rxl-kat OUTDIR\n", stderr);
        return 2;
    }
    for (size_t i = 0; i < sizeof(prev); i++)
        prev[i] = (uint8_t)i;
    ledger__buf_init(&payload, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&entry, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&tbs, LEDGER_MAX_ENTRY_BYTES + 128);
    if (keys_from_seed(&k, seed) != 0 || ledger_body_new(&b) != 0 ||
        ledger_body_put_text(b, "text", "opened controlled-substance safe") != 0)
        return 1;
    keys_key_pub(k, pub);
    keys_kid(kid, pub);
    if (ledger__payload_build(&payload, 2, prev, "note", T0, T0 - 60000, kid, "Jane Roe, PharmD",
                              "authored", b) != 0 ||
        ledger__entry_build(&entry, k, payload.p, payload.len) != 0 ||
        ledger_entry_decode(&e, entry.p, entry.len, NULL, 0) != 0 ||
        ledger__entry_spans(&e, &pp, &ppn, &pl, &pln) != 0)
        return 1;
    ledger__sig_structure(&tbs, pp, ppn, pl, pln);
    put_hex(argv[1], "kat-pub.hex", pub, sizeof(pub));
    put_hex(argv[1], "kat-payload.hex", payload.p, payload.len);
    put_hex(argv[1], "kat-protected.hex", pp, ppn);
    put_hex(argv[1], "kat-sig-structure.hex", tbs.p, tbs.len);
    put_hex(argv[1], "kat-entry.hex", entry.p, entry.len);
    put_hex(argv[1], "kat-entry-hash.hex", e.hash, sizeof(e.hash));
    ledger__buf_release(&payload);
    ledger__buf_release(&entry);
    ledger__buf_release(&tbs);
    ledger_body_free(b);
    keys_free(k);
    return 0;
}
