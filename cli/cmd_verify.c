/* rxledger verify: the whole chain, streaming. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char verify_help[] =
    "usage: rxledger verify [--no-signatures]\n\n"
    "Verify the whole chain: canonical encoding of every entry, sequence numbers,\n"
    "hash links, recorded-time order, every signature, the signer's enrolment,\n"
    "validity period, role and revocation status at that point of the chain, that\n"
    "witnesses and corrections name their entry's exact hash, every node of the\n"
    "RFC 9162 Merkle tree, the stored head, the key index and the derived index.\n"
    "--no-signatures checks everything but the signatures.\n\n"
    "Prints \"ok: N entries, head HASH\" and exits 0, or names the first bad entry\n"
    "and exits 3.\n";

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"no-signatures", no_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    unsigned flags = 0;
    ledger *l = NULL;
    ledger_verify_result res;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            flags |= LEDGER_VERIFY_NO_SIGNATURES;
            break;
        case 'h':
            fputs(verify_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("verify", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage("verify", "unexpected argument '%s'", argv[optind]);
    if ((rc = cli_open(&l, "verify", true)) != 0)
        return rc;
    rc = ledger_verify(l, flags, cli_progress, "verifying", &res);
    cli_progress_end();
    if (rc == 0) {
        char head[2 * LEDGER_HASH_BYTES + 1];
        ledger_hex(head, res.head, sizeof(res.head));
        printf("ok: %llu entries, head %s\n", (unsigned long long)res.entries, head);
        rc = RX_EXIT_OK;
    } else if (rc == LEDGER_EVERIFY) {
        printf("FAIL: entry %llu: %s\n", (unsigned long long)res.bad_seq, res.reason);
        cli_err("verification failed at entry %llu", (unsigned long long)res.bad_seq);
        rc = RX_EXIT_FINDINGS;
    } else {
        cli_err("cannot verify: %s", ledger_errmsg(l));
        rc = RX_EXIT_ERROR;
    }
    ledger_close(l);
    return rc;
}
