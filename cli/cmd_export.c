/* rxledger export / verify-export: the regulator's file, written from the
 * ledger and checked offline with the site key fingerprint alone. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ledger/export.h"
#include "ledger/patients.h"

static const char export_help[] =
    "usage: rxledger export --key SITE.key --out FILE.cbor [--passphrase-file F]\n"
    "                       [--from-seq A] [--to-seq B | --since DATE --until DATE]\n"
    "                       [--include-identities]\n\n"
    "Write the regulator export: a CBOR sequence of a header (format, version, the\n"
    "earlier entries needed to check the range: genesis, key enrolments and\n"
    "revocations, policies, settings, patient enrolments, each with its inclusion\n"
    "path; the Merkle hashes around the range), the entries exactly as stored, and\n"
    "a fresh checkpoint signed by the site key over the whole ledger.\n"
    "  --from-seq/--to-seq  entries A..B (inclusive); default: all\n"
    "  --since/--until      entries recorded from DATE (YYYY-MM-DD or RFC 3339) up to\n"
    "                       the end of DATE (a date) or before the time\n"
    "  --include-identities also carry the patient identifiers (MRN, REMS id) the\n"
    "                       entries commit to, with their salts; left out by default\n"
    "The file is written to FILE.cbor.tmp, synced, then renamed. Check it with:\n"
    "  rxledger verify-export FILE.cbor --site-key FINGERPRINT\n";

static const char verify_export_help[] =
    "usage: rxledger verify-export FILE.cbor --site-key FINGERPRINT\n\n"
    "Check an export offline, trusting only the site key's fingerprint: the header,\n"
    "every entry (encoding, position, link, signer enrolled with the role for its\n"
    "type, signature, references), the context entries' inclusion paths, and the\n"
    "trailer checkpoint's signature over the Merkle root the entries lead to.\n"
    "Reads the file once, in constant memory. Needs no ledger.\n"
    "Exit status: 0 verified; 3 a problem (the first one is named); 1 the file\n"
    "cannot be read; 2 usage.\n";

static int parse_bound(int64_t *out, const char *flag, const char *text, bool end)
{
    char why[128];
    if (strlen(text) == 10) { /* a date: its start, or the start of the next day */
        if (ledger_date_parse(out, text, why, sizeof(why)) != 0) {
            cli_err("bad %s '%s': %s", flag, text, why);
            return RX_EXIT_USAGE;
        }
        if (end)
            *out += 86400000;
        return RX_EXIT_OK;
    }
    return cli_parse_time(out, flag, text);
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},    {"passphrase-file", required_argument, NULL, 'P'},
        {"out", required_argument, NULL, 'o'},    {"from-seq", required_argument, NULL, 'a'},
        {"to-seq", required_argument, NULL, 'b'}, {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},  {"include-identities", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *keypath = NULL, *passfile = NULL, *outpath = NULL;
    bool has_seq = false, has_since = false, has_until = false, ids = false;
    int64_t since = 0, until = 0;
    ledger_export_opts o = LEDGER_EXPORT_INIT;
    ledger_export_info info;
    keys_key *k = NULL;
    ledger *l = NULL;
    ledger_ids *store = NULL;
    FILE *f = NULL;
    char tmp[4096];
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keypath = optarg;
            break;
        case 'P':
            passfile = optarg;
            break;
        case 'o':
            outpath = optarg;
            break;
        case 'a':
            if (cli_parse_u64(&o.from_seq, "--from-seq", optarg, 0, UINT64_MAX - 1) != 0)
                return RX_EXIT_USAGE;
            has_seq = true;
            break;
        case 'b':
            if (cli_parse_u64(&o.to_seq, "--to-seq", optarg, 0, UINT64_MAX - 1) != 0)
                return RX_EXIT_USAGE;
            has_seq = true;
            break;
        case 's':
            if (parse_bound(&since, "--since", optarg, false) != 0)
                return RX_EXIT_USAGE;
            has_since = true;
            break;
        case 'u':
            if (parse_bound(&until, "--until", optarg, true) != 0)
                return RX_EXIT_USAGE;
            has_until = true;
            break;
        case 'i':
            ids = true;
            break;
        case 'h':
            fputs(export_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("export", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage("export", "unexpected argument '%s'", argv[optind]);
    if (keypath == NULL || outpath == NULL)
        return cli_usage("export", "--key SITE.key and --out FILE are required");
    if (has_seq && (has_since || has_until))
        return cli_usage("export", "give --from-seq/--to-seq or --since/--until, not both");
    if (o.from_seq > o.to_seq)
        return cli_usage("export", "--from-seq is after --to-seq");
    if (has_since && has_until && since >= until)
        return cli_usage("export", "--since is not before --until");
    if ((rc = cli_load_key(&k, keypath, passfile)) != 0)
        return rc;
    if ((rc = cli_open(&l, "export", false)) != 0)
        goto done;
    rc = RX_EXIT_ERROR;
    if (has_since || has_until) {
        uint64_t a = 0, b = UINT64_MAX;
        if ((has_since && ledger_seq_at_time(l, since, &a) != 0) ||
            (has_until && ledger_seq_at_time(l, until, &b) != 0)) {
            cli_err("cannot read the ledger: %s", ledger_errmsg(l));
            goto done;
        }
        if (has_until && b == 0) {
            cli_err("export: no entry was recorded before --until");
            rc = RX_EXIT_USAGE;
            goto done;
        }
        o.from_seq = a;
        o.to_seq = has_until ? b - 1 : UINT64_MAX;
        if (o.from_seq > o.to_seq) {
            cli_err("export: no entry was recorded in that period");
            rc = RX_EXIT_USAGE;
            goto done;
        }
    }
    if (ids) {
        char why[LEDGER_ERRMSG_MAX];
        if (ledger_ids_open(&store, cli_ledger_dir("export"), false, why, sizeof(why)) != 0) {
            cli_err("cannot open the identity store: %s", why);
            goto done;
        }
        o.identities = store;
    }
    if ((f = cli_out_open(outpath, tmp, sizeof(tmp))) == NULL)
        goto done;
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    o.progress = cli_progress;
    o.progress_ud = "exporting";
    int erc = ledger_export_write(l, k, &o, f, &info);
    cli_progress_end();
    if (erc != 0) {
        cli_err("export: %s", erc == LEDGER_EIO && ledger_errmsg(l)[0] == '\0'
                                  ? "cannot write the file"
                                  : ledger_errmsg(l));
        cli_out_abort(f, tmp);
        rc = erc == LEDGER_EINVAL ? RX_EXIT_USAGE : RX_EXIT_ERROR;
        goto done;
    }
    if ((rc = cli_out_commit(f, tmp, outpath)) != 0)
        goto done;
    char fpr[KEYS_FPR_TEXT_BYTES], when[LEDGER_TIME_TEXT_BYTES];
    keys_fpr_format(fpr, info.site_fpr);
    cli_time(when, info.trailer.time_ms);
    printf("exported entries %llu..%llu (%llu) of %llu, %llu context entries, %llu identities, "
           "checkpoint at %s\n",
           (unsigned long long)info.from, (unsigned long long)(info.from + info.count - 1),
           (unsigned long long)info.count, (unsigned long long)info.size,
           (unsigned long long)info.context, (unsigned long long)info.identities, when);
    printf("site key fingerprint %s\n", fpr);
    rc = RX_EXIT_OK;
done:
    ledger_ids_close(store);
    keys_free(k);
    ledger_close(l);
    return rc;
}

int cmd_verify_export(int argc, char **argv)
{
    static const struct option opts[] = {{"site-key", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    uint8_t fpr[KEYS_FPR_BYTES];
    bool have_fpr = false;
    ledger_export_reader *r = NULL;
    ledger_export_info info;
    ledger_entry e;
    uint64_t done = 0;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (cli_parse_fpr(fpr, "verify-export", optarg) != 0)
                return RX_EXIT_USAGE;
            have_fpr = true;
            break;
        case 'h':
            fputs(verify_export_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("verify-export", c, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage("verify-export", "give exactly one export FILE");
    if (!have_fpr)
        return cli_usage("verify-export", "--site-key FINGERPRINT is required");
    FILE *f = fopen(argv[optind], "rb");
    if (f == NULL) {
        cli_err("cannot open '%s': %s", argv[optind], strerror(errno));
        return RX_EXIT_ERROR;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    rc = ledger_export_open(&r, f, fpr);
    if (rc == 0) {
        ledger_export_get_info(r, &info);
        while ((rc = ledger_export_next(r, &e)) == 0)
            if (++done % 4096 == 0 || done == info.count)
                cli_progress(done, info.count, "verifying export");
        cli_progress_end();
    }
    if (rc == 1) {
        char fp[KEYS_FPR_TEXT_BYTES], when[LEDGER_TIME_TEXT_BYTES];
        char root[2 * LEDGER_HASH_BYTES + 1];
        ledger_export_get_info(r, &info);
        keys_fpr_format(fp, info.site_fpr);
        cli_time(when, info.trailer.time_ms);
        ledger_hex(root, info.trailer.root, LEDGER_HASH_BYTES);
        printf("ok: entries %llu..%llu (%llu) of a ledger of %llu, complete and unaltered, "
               "signed by enrolled keys\n",
               (unsigned long long)info.from, (unsigned long long)(info.from + info.count - 1),
               (unsigned long long)info.count, (unsigned long long)info.size);
        printf("checkpoint %s root %s\nsite key %s\n", when, root, fp);
        rc = RX_EXIT_OK;
    } else if (rc == LEDGER_EVERIFY) {
        cli_err("verify-export: %s", ledger_export_why(r));
        rc = RX_EXIT_FINDINGS;
    } else {
        cli_err("verify-export: %s", r != NULL && ledger_export_why(r)[0] != '\0'
                                         ? ledger_export_why(r)
                                         : ledger_strerror(rc));
        rc = RX_EXIT_ERROR;
    }
    ledger_export_close(r);
    fclose(f);
    return rc;
}
