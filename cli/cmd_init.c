/* rxledger init: create a ledger with its genesis entry. */
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"

static const char init_help[] =
    "usage: rxledger -l DIR init --site-name NAME --dea DEA --key SITE.key [--passphrase-file "
    "F]\n\n"
    "Create the ledger in DIR: the genesis entry (seq 0), self-signed by the site key,\n"
    "carrying the site name, its DEA registration number and the site public key.\n"
    "The site key's fingerprint ('rxledger key fingerprint SITE.pub') is what a\n"
    "regulator trusts out of band.\n";

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {{"site-name", required_argument, NULL, 's'},
                                         {"dea", required_argument, NULL, 'd'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *site = NULL, *dea = NULL, *keypath = NULL, *passfile = NULL, *dir;
    char why[128], path[4096];
    struct stat st;
    keys_key *k = NULL;
    ledger *l = NULL;
    ledger_appended ap;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            site = optarg;
            break;
        case 'd':
            dea = optarg;
            break;
        case 'k':
            keypath = optarg;
            break;
        case 'P':
            passfile = optarg;
            break;
        case 'h':
            fputs(init_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("init", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage("init", "unexpected argument '%s'", argv[optind]);
    if (site == NULL || dea == NULL || keypath == NULL)
        return cli_usage("init", "--site-name, --dea and --key are required");
    if ((rc = cli_check_text("--site-name", site, LEDGER_NAME_MAX)) != 0)
        return rc;
    if (ledger_dea_check(dea, why, sizeof(why)) != 0) {
        cli_err("bad --dea '%s': %s", dea, why);
        return RX_EXIT_USAGE;
    }
    if ((dir = cli_ledger_dir("init")) == NULL)
        return RX_EXIT_USAGE;
    /* Everything is checked and the key unlocked before anything is created. */
    (void)snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (stat(path, &st) == 0) {
        cli_err("a ledger already exists in '%s'", dir);
        return RX_EXIT_ERROR;
    }
    if ((rc = cli_load_key(&k, keypath, passfile)) != 0)
        return rc;
    if (ledger_open(&l, dir, LEDGER_OPEN_CREATE, why, sizeof(why)) != 0) {
        cli_err("%s", why);
        rc = RX_EXIT_ERROR;
        goto done;
    }
    if (ledger_init(l, k, site, dea, &ap) != 0) {
        cli_err("cannot initialise: %s", ledger_errmsg(l));
        rc = RX_EXIT_ERROR;
        goto done;
    }
    char hash[2 * LEDGER_HASH_BYTES + 1];
    uint8_t pub[KEYS_PUB_BYTES], fpr[KEYS_FPR_BYTES];
    char fprtext[KEYS_FPR_TEXT_BYTES];
    ledger_hex(hash, ap.hash, sizeof(ap.hash));
    keys_key_pub(k, pub);
    keys_fingerprint(fpr, pub);
    keys_fpr_format(fprtext, fpr);
    printf("initialised %s: genesis %s\nsite key fingerprint %s\n", dir, hash, fprtext);
done:
    keys_free(k);
    ledger_close(l);
    return rc;
}
