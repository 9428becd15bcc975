/* rxledger note: append a signed free-text note. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char note_help[] =
    "usage: rxledger note --text TEXT --key KEY [--at TIME] [--passphrase-file F]\n\n"
    "Append a note signed by KEY (meaning \"authored\"). --at sets the event time\n"
    "(RFC 3339 or 'now', the default); the recorded time is always the system clock.\n";

int cmd_note(int argc, char **argv)
{
    static const struct option opts[] = {
        {"text", required_argument, NULL, 't'}, {"key", required_argument, NULL, 'k'},
        {"at", required_argument, NULL, 'a'},   {"passphrase-file", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *text = NULL, *keypath = NULL, *passfile = NULL;
    int64_t at = 0;
    ledger_body *b = NULL;
    ledger_appended ap;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            text = optarg;
            break;
        case 'k':
            keypath = optarg;
            break;
        case 'P':
            passfile = optarg;
            break;
        case 'a':
            if ((rc = cli_parse_event_time(&at, "--at", optarg)) != 0)
                return rc;
            break;
        case 'h':
            fputs(note_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("note", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage("note", "unexpected argument '%s'", argv[optind]);
    if (text == NULL || keypath == NULL)
        return cli_usage("note", "--text and --key are required");
    if ((rc = cli_check_text("--text", text, LEDGER_TEXT_MAX)) != 0)
        return rc;
    if (ledger_body_new(&b) != 0 || ledger_body_put_text(b, "text", text) != 0) {
        cli_err("cannot build the note");
        rc = RX_EXIT_ERROR;
        goto done;
    }
    if ((rc = cli_append("note", keypath, passfile, "note", b, at, &ap)) != 0)
        goto done;
    char hash[2 * LEDGER_HASH_BYTES + 1];
    ledger_hex(hash, ap.hash, sizeof(ap.hash));
    printf("appended seq %llu %s\n", (unsigned long long)ap.seq, hash);
    rc = RX_EXIT_OK;
done:
    ledger_body_free(b);
    return rc;
}
