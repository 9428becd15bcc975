/* rxledger log: one line per entry. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char log_help[] =
    "usage: rxledger log [--from SEQ] [--limit N]\n\n"
    "One line per entry: seq, recorded time (UTC), type, printed name of the signer,\n"
    "meaning of the signature, and a summary of the record.\n";

int cmd_log(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"limit", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    uint64_t from = 0, limit = UINT64_MAX, shown = 0;
    ledger *l = NULL;
    ledger_iter *it = NULL;
    ledger_entry e;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if ((rc = cli_parse_u64(&from, "--from", optarg, 0, UINT64_MAX - 1)) != 0)
                return rc;
            break;
        case 'n':
            if ((rc = cli_parse_u64(&limit, "--limit", optarg, 1, UINT64_MAX)) != 0)
                return rc;
            break;
        case 'h':
            fputs(log_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("log", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage("log", "unexpected argument '%s'", argv[optind]);
    if ((rc = cli_open(&l, "log", true)) != 0)
        return rc;
    if (ledger_iter_open(&it, l, from) != 0) {
        cli_err("cannot read the ledger: %s", ledger_errmsg(l));
        rc = RX_EXIT_ERROR;
        goto done;
    }
    while (shown < limit && (rc = ledger_iter_next(it, &e)) == 0) {
        char t[LEDGER_TIME_TEXT_BYTES], sum[100];
        cli_time(t, e.recorded_ms);
        char name[4 * LEDGER_NAME_MAX + 1], meaning[4 * LEDGER_MEANING_MAX + 1];
        cli_summary(&e, sum, sizeof(sum));
        cli_safe(name, sizeof(name), e.name);
        cli_safe(meaning, sizeof(meaning), e.meaning);
        printf("%6llu  %s  %-12s  %-24s  %-20s  %s\n", (unsigned long long)e.seq, t, e.type, name,
               meaning, sum);
        shown++;
    }
    if (rc < 0) {
        cli_err("%s (run 'rxledger verify')", ledger_errmsg(l));
        rc = RX_EXIT_ERROR;
    } else {
        rc = RX_EXIT_OK;
    }
done:
    ledger_iter_free(it);
    ledger_close(l);
    return rc;
}
