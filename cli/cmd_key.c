/* rxledger key: new, pub, fingerprint, enroll, list, revoke. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char key_help[] =
    "usage: rxledger key <subcommand> [options]\n\n"
    "  new --out FILE.key --name NAME [--pub FILE.pub] [--kdf-cost N] [--passphrase-file F]\n"
    "      make an Ed25519 key: FILE.key (encrypted, mode 0600) and FILE.pub beside it;\n"
    "      --kdf-cost is scrypt's log2 N (10-20, default 14)\n"
    "  pub FILE [--passphrase-file F]\n"
    "      print the public key PEM of a .pub file, or of a key file (unlocked)\n"
    "  fingerprint FILE [--passphrase-file F]\n"
    "      print the key id and fingerprint of a .pub file or a key file\n"
    "  enroll --pub FILE.pub --role ROLE [--license TEXT] [--name NAME]\n"
    "         [--from TIME] [--until TIME] --key SITE.key [--passphrase-file F]\n"
    "      enroll a person's key; roles: pharmacist, prescriber, nurse, admin\n"
    "      (licensed roles need --license); only the site key may enroll\n"
    "  list                  enrolled keys: kid, role, valid from, status, valid until,\n"
    "                        license, name\n"
    "  revoke KID --reason TEXT --key SITE.key [--passphrase-file F]\n"
    "      revoke a key (KID: full 32 hex digits or a unique prefix of 8 or more)\n\n"
    "TIME is RFC 3339 (2026-11-22T14:05:00-07:00) or 'now'.\n"
    "Passphrases come from --passphrase-file, $RXLEDGER_PASSPHRASE or the terminal.\n";

static void print_ids(const uint8_t pub[KEYS_PUB_BYTES])
{
    uint8_t kid[KEYS_KID_BYTES], fpr[KEYS_FPR_BYTES];
    char kidhex[2 * KEYS_KID_BYTES + 1], fprtext[KEYS_FPR_TEXT_BYTES];
    keys_kid(kid, pub);
    keys_fingerprint(fpr, pub);
    ledger_hex(kidhex, kid, sizeof(kid));
    keys_fpr_format(fprtext, fpr);
    printf("kid          %s\nfingerprint  %s\n", kidhex, fprtext);
}

static int key_new(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"pub", required_argument, NULL, 'p'},
                                         {"kdf-cost", required_argument, NULL, 'k'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL, *name = NULL, *pubpath = NULL, *passfile = NULL;
    uint64_t cost = KEYS_KDF_COST_DEFAULT;
    char pubbuf[4096], pass[KEYS_PASS_MAX + 1], err[512];
    size_t plen = 0;
    keys_key *k = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'p':
            pubpath = optarg;
            break;
        case 'P':
            passfile = optarg;
            break;
        case 'k':
            if ((rc = cli_parse_u64(&cost, "--kdf-cost", optarg, KEYS_KDF_COST_MIN,
                                    KEYS_KDF_COST_MAX)) != 0)
                return rc;
            break;
        case 'h':
            fputs(key_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("key new", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage("key new", "unexpected argument '%s'", argv[optind]);
    if (out == NULL || name == NULL)
        return cli_usage("key new", "--out and --name are required");
    if ((rc = cli_check_text("--name", name, KEYS_NAME_MAX)) != 0)
        return rc;
    if (pubpath == NULL) {
        size_t n = strlen(out);
        int w = n > 4 && strcmp(out + n - 4, ".key") == 0
                    ? snprintf(pubbuf, sizeof(pubbuf), "%.*s.pub", (int)(n - 4), out)
                    : snprintf(pubbuf, sizeof(pubbuf), "%s.pub", out);
        if (w < 0 || (size_t)w >= sizeof(pubbuf)) {
            cli_err("bad --out: path too long");
            return RX_EXIT_USAGE;
        }
        pubpath = pubbuf;
    }
    rc = cli_passphrase(pass, sizeof(pass), &plen, passfile, "new passphrase: ", true);
    if (rc != 0)
        goto done;
    if (plen < KEYS_PASS_MIN) {
        cli_err("passphrase too short: at least %d bytes", KEYS_PASS_MIN);
        rc = RX_EXIT_USAGE;
        goto done;
    }
    if (keys_generate(&k) != 0) {
        cli_err("cannot generate a key");
        rc = RX_EXIT_ERROR;
        goto done;
    }
    if (keys_save(k, out, pubpath, name, pass, plen, (unsigned)cost, err, sizeof(err)) != 0) {
        cli_err("%s", err);
        rc = RX_EXIT_ERROR;
        goto done;
    }
    uint8_t pub[KEYS_PUB_BYTES];
    keys_key_pub(k, pub);
    printf("wrote %s and %s\n", out, pubpath);
    print_ids(pub);
    rc = RX_EXIT_OK;
done:
    keys_wipe(pass, sizeof(pass));
    keys_free(k);
    return rc;
}

/* The public key of FILE: a .pub file as is, or a private key file unlocked. */
static int pub_of(const char *path, const char *passfile, uint8_t pub[KEYS_PUB_BYTES],
                  char name[KEYS_NAME_MAX + 1])
{
    char err[512];
    keys_key *k = NULL;
    int rc;
    if (keys_read_pub(pub, name, path, err, sizeof(err)) == 0)
        return RX_EXIT_OK;
    rc = cli_load_key(&k, path, passfile);
    if (rc != 0)
        return rc;
    keys_key_pub(k, pub);
    (void)snprintf(name, KEYS_NAME_MAX + 1, "%s", keys_key_name(k));
    keys_free(k);
    return RX_EXIT_OK;
}

static int key_show(int argc, char **argv, bool pem)
{
    static const struct option opts[] = {{"passphrase-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *cmd = pem ? "key pub" : "key fingerprint", *passfile = NULL;
    uint8_t pub[KEYS_PUB_BYTES];
    char name[KEYS_NAME_MAX + 1], buf[1024];
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            passfile = optarg;
            break;
        case 'h':
            fputs(key_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt(cmd, c, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, "expected one key file");
    if ((rc = pub_of(argv[optind], passfile, pub, name)) != 0)
        return rc;
    if (!pem) {
        print_ids(pub);
        return RX_EXIT_OK;
    }
    if (keys_pub_pem(buf, sizeof(buf), pub, name[0] ? name : NULL) != 0) {
        cli_err("cannot encode the public key");
        return RX_EXIT_ERROR;
    }
    fputs(buf, stdout);
    return RX_EXIT_OK;
}

static int key_enroll(int argc, char **argv)
{
    static const struct option opts[] = {{"pub", required_argument, NULL, 'p'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"license", required_argument, NULL, 'L'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"until", required_argument, NULL, 'u'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *pubpath = NULL, *role = NULL, *license = NULL, *name = NULL, *from = NULL,
               *until = NULL, *keypath = NULL, *passfile = NULL;
    uint8_t pub[KEYS_PUB_BYTES];
    char filename[KEYS_NAME_MAX + 1], err[512];
    int64_t from_ms = 0, until_ms = 0;
    ledger_body *b = NULL;
    ledger_appended ap;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            pubpath = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'L':
            license = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 'u':
            until = optarg;
            break;
        case 'k':
            keypath = optarg;
            break;
        case 'P':
            passfile = optarg;
            break;
        case 'h':
            fputs(key_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("key enroll", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage("key enroll", "unexpected argument '%s'", argv[optind]);
    if (pubpath == NULL || role == NULL || keypath == NULL)
        return cli_usage("key enroll", "--pub, --role and --key are required");
    ledger_role r = ledger_role_parse(role);
    if (r == LEDGER_ROLE_NONE || r == LEDGER_ROLE_SITE)
        return cli_usage("key enroll",
                         "bad --role '%s': one of pharmacist, prescriber, nurse, admin", role);
    if (ledger_role_licensed(r) && license == NULL)
        return cli_usage("key enroll", "role '%s' needs --license", role);
    if (license != NULL && (rc = cli_check_text("--license", license, LEDGER_LICENSE_MAX)) != 0)
        return rc;
    if (name != NULL && (rc = cli_check_text("--name", name, LEDGER_NAME_MAX)) != 0)
        return rc;
    if (from != NULL && (rc = cli_parse_time(&from_ms, "--from", from)) != 0)
        return rc;
    if (until != NULL && (rc = cli_parse_time(&until_ms, "--until", until)) != 0)
        return rc;
    if (keys_read_pub(pub, filename, pubpath, err, sizeof(err)) != 0) {
        cli_err("%s", err);
        return RX_EXIT_ERROR;
    }
    if (name == NULL)
        name = filename;
    if (*name == '\0')
        return cli_usage("key enroll", "%s carries no name: give --name", pubpath);
    if (from_ms == 0)
        from_ms = cli_now_ms();
    if (until_ms != 0 && until_ms <= from_ms)
        return cli_usage("key enroll", "--until must come after --from");
    rc = RX_EXIT_ERROR;
    if (ledger_body_new(&b) != 0 || ledger_body_put_bytes(b, "pub", pub, sizeof(pub)) != 0 ||
        ledger_body_put_text(b, "name", name) != 0 || ledger_body_put_text(b, "role", role) != 0 ||
        (license != NULL && ledger_body_put_text(b, "license", license) != 0) ||
        ledger_body_put_uint(b, "valid_from", (uint64_t)from_ms) != 0 ||
        (until_ms != 0 && ledger_body_put_uint(b, "valid_until", (uint64_t)until_ms) != 0)) {
        cli_err("cannot build the enrolment");
        goto done;
    }
    if ((rc = cli_append("key enroll", keypath, passfile, "key.enroll", b, 0, &ap)) != 0)
        goto done;
    uint8_t kid[KEYS_KID_BYTES];
    char kidhex[2 * KEYS_KID_BYTES + 1];
    keys_kid(kid, pub);
    ledger_hex(kidhex, kid, sizeof(kid));
    printf("enrolled %s (%s, %s) at seq %llu\n", kidhex, name, role, (unsigned long long)ap.seq);
    rc = RX_EXIT_OK;
done:
    ledger_body_free(b);
    return rc;
}

static int list_one(const ledger_keyinfo *k, void *ud)
{
    char kid[2 * KEYS_KID_BYTES + 1], from[LEDGER_TIME_TEXT_BYTES], until[LEDGER_TIME_TEXT_BYTES];
    char status[64];
    (void)ud;
    ledger_hex(kid, k->kid, sizeof(k->kid));
    cli_time(from, k->valid_from_ms);
    if (k->valid_until_ms != 0)
        cli_time(until, k->valid_until_ms);
    else
        (void)snprintf(until, sizeof(until), "-");
    if (k->revoked)
        (void)snprintf(status, sizeof(status), "revoked@%llu", (unsigned long long)k->revoked_seq);
    else
        (void)snprintf(status, sizeof(status), "active");
    printf("%s  %-10s  %-24s  %-12s  %-24s  %-12s  %s\n", kid, ledger_role_name(k->role), from,
           status, until, k->license[0] ? k->license : "-", k->name);
    return 0;
}

static int key_list(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    ledger *l = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(key_help, stdout);
            return RX_EXIT_OK;
        }
        return cli_bad_opt("key list", c, argv);
    }
    if (optind < argc)
        return cli_usage("key list", "unexpected argument '%s'", argv[optind]);
    if ((rc = cli_open(&l, "key list", true)) != 0)
        return rc;
    printf("%-32s  %-10s  %-24s  %-12s  %-24s  %-12s  %s\n", "kid", "role", "valid from", "status",
           "valid until", "license", "name");
    if (ledger_keys_list(l, list_one, NULL) != 0) {
        cli_err("cannot list keys: %s", ledger_errmsg(l));
        rc = RX_EXIT_ERROR;
    }
    ledger_close(l);
    return rc;
}

typedef struct prefix_match {
    const char *prefix;
    size_t hits;
    uint8_t kid[KEYS_KID_BYTES];
} prefix_match;

static int match_prefix(const ledger_keyinfo *k, void *ud)
{
    prefix_match *m = ud;
    char hex[2 * KEYS_KID_BYTES + 1];
    ledger_hex(hex, k->kid, sizeof(k->kid));
    if (strncmp(hex, m->prefix, strlen(m->prefix)) == 0) {
        m->hits++;
        memcpy(m->kid, k->kid, sizeof(m->kid));
    }
    return 0;
}

static int key_revoke(int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *reason = NULL, *keypath = NULL, *passfile = NULL;
    ledger *l = NULL;
    ledger_body *b = NULL;
    ledger_appended ap;
    char lower[2 * KEYS_KID_BYTES + 1];
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            reason = optarg;
            break;
        case 'k':
            keypath = optarg;
            break;
        case 'P':
            passfile = optarg;
            break;
        case 'h':
            fputs(key_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("key revoke", c, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage("key revoke", "expected one KID");
    if (reason == NULL || keypath == NULL)
        return cli_usage("key revoke", "--reason and --key are required");
    if ((rc = cli_check_text("--reason", reason, LEDGER_REASON_MAX)) != 0)
        return rc;
    const char *kidarg = argv[optind];
    size_t n = strlen(kidarg);
    if (n < 8 || n > 2 * KEYS_KID_BYTES)
        return cli_usage("key revoke", "bad KID '%s': 8 to 32 hex digits", kidarg);
    for (size_t i = 0; i <= n; i++) {
        char ch = kidarg[i];
        if (i < n &&
            !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return cli_usage("key revoke", "bad KID '%s': 8 to 32 hex digits", kidarg);
        lower[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
    }
    if ((rc = cli_open(&l, "key revoke", true)) != 0)
        goto done;
    prefix_match m = {lower, 0, {0}};
    rc = RX_EXIT_ERROR;
    if (ledger_keys_list(l, match_prefix, &m) != 0) {
        cli_err("cannot read keys: %s", ledger_errmsg(l));
        goto done;
    }
    if (m.hits != 1) {
        cli_err(m.hits == 0 ? "no enrolled key matches '%s'" : "'%s' matches several keys", kidarg);
        goto done;
    }
    ledger_close(l); /* the append opens it again, after the key is unlocked */
    l = NULL;
    rc = RX_EXIT_ERROR;
    if (ledger_body_new(&b) != 0 || ledger_body_put_bytes(b, "kid", m.kid, sizeof(m.kid)) != 0 ||
        ledger_body_put_text(b, "reason", reason) != 0) {
        cli_err("cannot build the revocation");
        goto done;
    }
    if ((rc = cli_append("key revoke", keypath, passfile, "key.revoke", b, 0, &ap)) != 0)
        goto done;
    ledger_hex(lower, m.kid, sizeof(m.kid));
    printf("revoked %s at seq %llu\n", lower, (unsigned long long)ap.seq);
    rc = RX_EXIT_OK;
done:
    ledger_body_free(b);
    ledger_close(l);
    return rc;
}

int cmd_key(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("key", "no subcommand given: new, pub, fingerprint, enroll, list or "
                                "revoke");
    const char *sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        fputs(key_help, stdout);
        return RX_EXIT_OK;
    }
    if (strcmp(sub, "new") == 0)
        return key_new(argc - 1, argv + 1);
    if (strcmp(sub, "pub") == 0)
        return key_show(argc - 1, argv + 1, true);
    if (strcmp(sub, "fingerprint") == 0)
        return key_show(argc - 1, argv + 1, false);
    if (strcmp(sub, "enroll") == 0)
        return key_enroll(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return key_list(argc - 1, argv + 1);
    if (strcmp(sub, "revoke") == 0)
        return key_revoke(argc - 1, argv + 1);
    return cli_usage("key", "unknown subcommand '%s'", sub);
}
