/* rxledger prove / consistency / verify-proof: RFC 9942 receipts made from
 * the stored checkpoints, and checked offline with the site key fingerprint. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ledger/merkle.h"

static const char prove_help[] =
    "usage: rxledger prove SEQ [--size N] --out RECEIPT.cbor\n\n"
    "Write an inclusion receipt (RFC 9942, RFC9162_SHA256): entry SEQ is leaf SEQ of\n"
    "the tree the site signed in its checkpoint of size N (default: the latest\n"
    "checkpoint). Make checkpoints with 'rxledger checkpoint --key SITE.key'.\n"
    "Check it with: rxledger verify-proof RECEIPT.cbor ENTRY.cbor --site-key FPR\n"
    "(the entry's bytes: rxledger show SEQ --raw > ENTRY.cbor).\n";

static const char consistency_help[] =
    "usage: rxledger consistency --old N [--new M] --out RECEIPT.cbor\n\n"
    "Write a consistency receipt (RFC 9942, RFC9162_SHA256): the tree the site\n"
    "signed at size M (a stored checkpoint; default: the latest) extends the tree\n"
    "of size N, so nothing in the first N entries was rewritten in between.\n"
    "Check it against the earlier checkpoint file (rxledger checkpoint --size N\n"
    "--out OLD.cbor, or the trailer a regulator kept):\n"
    "  rxledger verify-proof RECEIPT.cbor OLD.cbor --site-key FPR\n";

static const char verify_proof_help[] =
    "usage: rxledger verify-proof RECEIPT.cbor SUBJECT.cbor --site-key FINGERPRINT\n\n"
    "Check a receipt offline, trusting only the site key's fingerprint. For an\n"
    "inclusion receipt SUBJECT is the entry (its stored bytes); for a consistency\n"
    "receipt it is the earlier checkpoint. Needs no ledger.\n"
    "Exit status: 0 the receipt proves it, 3 it does not (the reason is printed),\n"
    "1 a file cannot be read, 2 usage.\n";

typedef struct popts {
    const char *out;
    uint64_t size, old;
    bool has_old;
} popts;

static int parse(const char *cmd, const char *help, int argc, char **argv, popts *o, int *nargs)
{
    static const struct option opts[] = {
        {"size", required_argument, NULL, 's'}, {"new", required_argument, NULL, 's'},
        {"old", required_argument, NULL, 'o'},  {"out", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (cli_parse_u64(&o->size, "--size", optarg, 1, UINT64_MAX - 1) != 0)
                return RX_EXIT_USAGE;
            break;
        case 'o':
            if (cli_parse_u64(&o->old, "--old", optarg, 1, UINT64_MAX - 1) != 0)
                return RX_EXIT_USAGE;
            o->has_old = true;
            break;
        case 'w':
            o->out = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            return -1;
        default:
            return cli_bad_opt(cmd, c, argv);
        }
    }
    *nargs = argc - optind;
    if (o->out == NULL)
        return cli_usage(cmd, "--out FILE is required");
    return 0;
}

static int write_receipt(const char *cmd, bool inclusion, uint64_t a, const popts *o)
{
    ledger *l = NULL;
    uint8_t buf[LEDGER_RECEIPT_MAX];
    size_t len = 0;
    ledger_checkpoint cp;
    int rc = cli_open(&l, cmd, true);
    if (rc != 0)
        return rc;
    rc = inclusion ? ledger_receipt_inclusion(l, a, o->size, buf, sizeof(buf), &len, &cp)
                   : ledger_receipt_consistency(l, a, o->size, buf, sizeof(buf), &len, &cp);
    if (rc != 0) {
        cli_err("%s: %s", cmd, ledger_errmsg(l));
        ledger_close(l);
        return rc == LEDGER_EINVAL ? RX_EXIT_USAGE : RX_EXIT_ERROR;
    }
    ledger_close(l);
    if ((rc = cli_write_file(o->out, buf, len)) != 0)
        return rc;
    printf("receipt: %s of %s %llu in the tree of size %llu signed at checkpoint time ",
           inclusion ? "inclusion" : "consistency", inclusion ? "entry" : "size",
           (unsigned long long)a, (unsigned long long)cp.size);
    char when[LEDGER_TIME_TEXT_BYTES];
    cli_time(when, cp.time_ms);
    printf("%s\n", when);
    return RX_EXIT_OK;
}

int cmd_prove(int argc, char **argv)
{
    popts o = {NULL, 0, 0, false};
    uint64_t seq;
    int n = 0, rc = parse("prove", prove_help, argc, argv, &o, &n);
    if (rc != 0)
        return rc < 0 ? RX_EXIT_OK : rc;
    if (n != 1)
        return cli_usage("prove", "give exactly one SEQ");
    if (o.has_old)
        return cli_usage("prove", "--old belongs to 'rxledger consistency'");
    if (cli_parse_u64(&seq, "SEQ", argv[optind], 0, UINT64_MAX - 1) != 0)
        return RX_EXIT_USAGE;
    return write_receipt("prove", true, seq, &o);
}

int cmd_consistency(int argc, char **argv)
{
    popts o = {NULL, 0, 0, false};
    int n = 0, rc = parse("consistency", consistency_help, argc, argv, &o, &n);
    if (rc != 0)
        return rc < 0 ? RX_EXIT_OK : rc;
    if (n != 0)
        return cli_usage("consistency", "unexpected argument '%s'", argv[optind]);
    if (!o.has_old)
        return cli_usage("consistency", "--old N is required");
    return write_receipt("consistency", false, o.old, &o);
}

int cmd_verify_proof(int argc, char **argv)
{
    static const struct option opts[] = {{"site-key", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    uint8_t fpr[KEYS_FPR_BYTES];
    bool have_fpr = false;
    char *receipt = NULL, *subject = NULL, why[LEDGER_ERRMSG_MAX];
    size_t rlen = 0, slen = 0;
    ledger_receipt_info info;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (cli_parse_fpr(fpr, "verify-proof", optarg) != 0)
                return RX_EXIT_USAGE;
            have_fpr = true;
            break;
        case 'h':
            fputs(verify_proof_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("verify-proof", c, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage("verify-proof", "give RECEIPT and SUBJECT files");
    if (!have_fpr)
        return cli_usage("verify-proof", "--site-key FINGERPRINT is required");
    if (cli_read_file(argv[optind], &receipt, &rlen, LEDGER_RECEIPT_MAX) != 0 ||
        cli_read_file(argv[optind + 1], &subject, &slen, LEDGER_MAX_ENTRY_BYTES) != 0) {
        free(receipt);
        free(subject);
        return RX_EXIT_ERROR;
    }
    rc = ledger_receipt_verify((const uint8_t *)receipt, rlen, (const uint8_t *)subject, slen, fpr,
                               &info, why, sizeof(why));
    free(receipt);
    free(subject);
    if (rc != 0) {
        cli_err("verify-proof: %s", why);
        return RX_EXIT_FINDINGS;
    }
    char root[2 * LEDGER_HASH_BYTES + 1], when[LEDGER_TIME_TEXT_BYTES];
    ledger_hex(root, info.cp.root, LEDGER_HASH_BYTES);
    cli_time(when, info.cp.time_ms);
    if (info.kind == LEDGER_RECEIPT_INCLUSION)
        printf("ok: entry %llu is in the tree of size %llu, root %s, signed by the site key at "
               "%s\n",
               (unsigned long long)info.index, (unsigned long long)info.cp.size, root, when);
    else
        printf("ok: the tree of size %llu (root %s, signed at %s) extends the tree of size %llu\n",
               (unsigned long long)info.cp.size, root, when, (unsigned long long)info.index);
    return RX_EXIT_OK;
}
