/* rxledger checkpoint: sign the tree's state with the site key; list them. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ledger/merkle.h"

static const char checkpoint_help[] =
    "usage: rxledger checkpoint --key SITE.key [--passphrase-file F] [--out FILE]\n"
    "       rxledger checkpoint --list\n"
    "       rxledger checkpoint --size N --out FILE\n\n"
    "Make a checkpoint: a COSE_Sign1 by the site key over the RFC 9162 Merkle root,\n"
    "with the tree size, the chain head hash and the time in its protected header\n"
    "(the signature RFC 9942 receipts reuse: see prove and consistency). It is\n"
    "stored beside the chain (nothing is appended to it) and verify checks every\n"
    "stored one; --out also writes its bytes to FILE. --list shows the stored\n"
    "checkpoints; --size N --out FILE writes the latest stored one of size N.\n";

static void print_cp(const ledger_checkpoint *cp)
{
    char root[2 * LEDGER_HASH_BYTES + 1], head[2 * LEDGER_HASH_BYTES + 1];
    char when[LEDGER_TIME_TEXT_BYTES];
    ledger_hex(root, cp->root, sizeof(cp->root));
    ledger_hex(head, cp->head, sizeof(cp->head));
    cli_time(when, cp->time_ms);
    printf("checkpoint size %llu time %s root %s head %s\n", (unsigned long long)cp->size, when,
           root, head);
}

static int list_one(const uint8_t *p, size_t n, const ledger_checkpoint *cp, void *ud)
{
    (void)p;
    (void)n;
    (void)ud;
    print_cp(cp);
    return 0;
}

int cmd_checkpoint(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"list", no_argument, NULL, 'l'},
                                         {"size", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *keypath = NULL, *passfile = NULL, *outpath = NULL;
    bool list = false;
    uint64_t size = 0;
    keys_key *k = NULL;
    ledger *l = NULL;
    uint8_t buf[LEDGER_CHECKPOINT_MAX];
    size_t len = 0;
    ledger_checkpoint cp;
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
        case 'l':
            list = true;
            break;
        case 's':
            if (cli_parse_u64(&size, "--size", optarg, 1, UINT64_MAX - 1) != 0)
                return RX_EXIT_USAGE;
            break;
        case 'h':
            fputs(checkpoint_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("checkpoint", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage("checkpoint", "unexpected argument '%s'", argv[optind]);
    if (list + (keypath != NULL) + (size != 0) != 1)
        return cli_usage("checkpoint", "give one of --key, --list, --size");
    if (size != 0) {
        if (outpath == NULL)
            return cli_usage("checkpoint", "--size N needs --out FILE");
        if ((rc = cli_open(&l, "checkpoint", true)) != 0)
            return rc;
        rc = ledger_checkpoint_get(l, size, buf, sizeof(buf), &len, &cp);
        if (rc != 0) {
            cli_err("checkpoint: %s", ledger_errmsg(l));
            ledger_close(l);
            return RX_EXIT_ERROR;
        }
        ledger_close(l);
        if ((rc = cli_write_file(outpath, buf, len)) == 0)
            print_cp(&cp);
        return rc;
    }
    if (list) {
        if ((rc = cli_open(&l, "checkpoint", true)) != 0)
            return rc;
        if (ledger_checkpoint_each(l, list_one, NULL) != 0) {
            cli_err("cannot list checkpoints: %s", ledger_errmsg(l));
            rc = RX_EXIT_ERROR;
        }
        ledger_close(l);
        return rc;
    }
    if ((rc = cli_load_key(&k, keypath, passfile)) != 0)
        return rc;
    if ((rc = cli_open(&l, "checkpoint", false)) != 0)
        goto done;
    /* --out is created before the checkpoint is stored: a path that cannot be
     * written refuses the command with the ledger left as it was. */
    if (outpath != NULL && (f = cli_out_open(outpath, tmp, sizeof(tmp))) == NULL) {
        rc = RX_EXIT_ERROR;
        goto done;
    }
    rc = RX_EXIT_ERROR;
    if (ledger_checkpoint_make(l, k, buf, sizeof(buf), &len, &cp) != 0) {
        cli_err("cannot make a checkpoint: %s", ledger_errmsg(l));
        goto done;
    }
    if (f != NULL) {
        if (fwrite(buf, 1, len, f) != len) {
            cli_err("cannot write '%s': %s", outpath, strerror(errno));
            goto done;
        }
        rc = cli_out_commit(f, tmp, outpath);
        f = NULL;
        if (rc != 0)
            goto done;
    }
    print_cp(&cp);
    rc = RX_EXIT_OK;
done:
    if (f != NULL)
        cli_out_abort(f, tmp);
    keys_free(k);
    ledger_close(l);
    return rc;
}
