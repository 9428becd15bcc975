/* rxledger show: one entry in full, with its signature manifestation. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ledger/patients.h"
#include "ledger/records.h"

static const char show_help[] =
    "usage: rxledger show SEQ [--raw]\n\n"
    "Show one entry in full: hashes, times, the signer as enrolled, the signature\n"
    "manifestation (printed name, date and time, meaning) and every field.\n"
    "--raw writes the entry's exact stored bytes (a COSE_Sign1) to stdout instead.\n";

int cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"raw", no_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool raw = false;
    uint64_t seq;
    uint8_t *buf = NULL;
    size_t len = 0;
    ledger *l = NULL;
    ledger_entry e;
    ledger_keyinfo signer;
    char why[LEDGER_ERRMSG_MAX], body[8192];
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            raw = true;
            break;
        case 'h':
            fputs(show_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("show", c, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage("show", "expected one SEQ");
    if ((rc = cli_parse_u64(&seq, "SEQ", argv[optind], 0, UINT64_MAX)) != 0)
        return rc;
    if ((rc = cli_open(&l, "show", true)) != 0)
        return rc;
    rc = RX_EXIT_ERROR;
    buf = malloc(LEDGER_MAX_ENTRY_BYTES);
    if (buf == NULL) {
        cli_err("out of memory");
        goto done;
    }
    if (ledger_get(l, seq, buf, LEDGER_MAX_ENTRY_BYTES, &len) != 0) {
        cli_err("%s", ledger_errmsg(l));
        goto done;
    }
    if (raw) {
        rc = fwrite(buf, 1, len, stdout) == len ? RX_EXIT_OK : RX_EXIT_ERROR;
        goto done;
    }
    if (ledger_entry_decode(&e, buf, len, why, sizeof(why)) != 0) {
        cli_err("entry %llu cannot be decoded: %s", (unsigned long long)seq, why);
        goto done;
    }
    char hash[2 * LEDGER_HASH_BYTES + 1], prev[2 * LEDGER_HASH_BYTES + 1];
    char kid[2 * KEYS_KID_BYTES + 1], rt[LEDGER_TIME_TEXT_BYTES], et[LEDGER_TIME_TEXT_BYTES];
    ledger_hex(hash, e.hash, sizeof(e.hash));
    ledger_hex(prev, e.prev, sizeof(e.prev));
    ledger_hex(kid, e.kid, sizeof(e.kid));
    cli_time(rt, e.recorded_ms);
    cli_time(et, e.event_ms);
    char name[4 * LEDGER_NAME_MAX + 1], meaning[4 * LEDGER_MEANING_MAX + 1];
    cli_safe(name, sizeof(name), e.name);
    cli_safe(meaning, sizeof(meaning), e.meaning);
    const char *role = "unknown";
    if (ledger_key_get(l, e.kid, &signer) == 0)
        role = ledger_role_name(signer.role);
    printf("seq       %llu\n"
           "type      %s\n"
           "hash      %s\n"
           "prev      %s\n"
           "recorded  %s\n"
           "event     %s\n"
           "signer    %s (%s), kid %s\n"
           "signature signed by %s on %s, meaning: %s\n"
           "size      %zu bytes\n",
           (unsigned long long)e.seq, e.type, hash, prev, rt, et, name, role, kid, name, rt,
           meaning, e.len);
    ledger_entry_format_body(&e, body, sizeof(body));
    printf("body\n");
    if (body[0] != '\0') {
        /* indent each body line by two spaces */
        fputs("  ", stdout);
        for (const char *p = body; *p; p++) {
            fputc(*p, stdout);
            if (*p == '\n')
                fputs("  ", stdout);
        }
        fputc('\n', stdout);
    }
    const ledger_rtype *rty = ledger_rtype_find(e.type);
    for (size_t i = 0; rty != NULL && rty->fields != NULL && i < rty->nfields; i++) {
        const uint8_t *p;
        size_t n;
        char who[LEDGER_PATIENT_ID_MAX + 16];
        if (rty->fields[i].kind != LEDGER_F_COMMIT ||
            ledger_entry_get_bytes(&e, rty->fields[i].name, &p, &n) != 0 || n != 32)
            continue;
        cli_patient_name(p, who, sizeof(who));
        printf("%-9s %s\n", rty->fields[i].name, who);
    }
    cli_print_amendments(l, e.seq, "");
    rc = RX_EXIT_OK;
done:
    free(buf);
    ledger_close(l);
    return rc;
}
