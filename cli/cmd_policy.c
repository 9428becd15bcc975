/* rxledger policy: check, show, list and adopt policy profiles. */
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy/policy.h"

static const char policy_help[] =
    "usage: rxledger policy <subcommand>\n\n"
    "  check FILE          validate a profile (errors name file, line and key)\n"
    "  show NAME           print a shipped profile (spravato-rems, ketamine-iv), or the\n"
    "                      latest adopted profile of that name in the ledger\n"
    "  list                the shipped profiles and every adoption in the ledger\n"
    "  adopt FILE --effective DATE --key SITE.key [--passphrase-file F]\n"
    "                      record the profile's full text and SHA-256 in the ledger;\n"
    "                      the audit judges sessions from DATE on (today or later) by it\n\n"
    "Every threshold the checks and the audit use is a profile parameter: docs/policy.md.\n";

static int load(const char *path, policy_profile *p, char **text, size_t *len)
{
    char why[POLICY_WHY_MAX];
    int rc = cli_read_file(path, text, len, POLICY_PROFILE_MAX_BYTES);
    if (rc != 0)
        return rc;
    if (policy_profile_parse(p, *text, *len, path, why, sizeof(why)) != 0) {
        cli_err("%s", why);
        free(*text);
        *text = NULL;
        return RX_EXIT_ERROR;
    }
    return RX_EXIT_OK;
}

static int only_help(const char *cmd, int argc, char **argv, int want_args)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(policy_help, stdout);
            return -1;
        }
        return cli_bad_opt(cmd, c, argv);
    }
    if (argc - optind != want_args)
        return cli_usage(cmd, want_args ? "expected one argument" : "unexpected argument");
    return 0;
}

/* Each policy.adopt entry in the ledger, in chain order. */
typedef int (*adopt_fn)(const ledger_entry *e, void *ud);

static int each_adoption(ledger *l, adopt_fn fn, void *ud)
{
    ledger_iter *it = NULL;
    ledger_entry e;
    int rc = ledger_iter_open(&it, l, 0);
    while (rc == 0 && (rc = ledger_iter_next(it, &e)) == 0)
        if (strcmp(e.type, "policy.adopt") == 0 && fn(&e, ud) != 0)
            break;
    ledger_iter_free(it);
    return rc < 0 ? rc : 0;
}

typedef struct find_name {
    const char *name;
    char *text; /* latest found, LEDGER_TEXT_MAX + 1 */
    bool found;
} find_name;

static int match_name(const ledger_entry *e, void *ud)
{
    find_name *fn = ud;
    char name[POLICY_NAME_MAX + 1];
    if (ledger_entry_get_text(e, "name", name, sizeof(name)) == 0 && strcmp(name, fn->name) == 0 &&
        ledger_entry_get_text(e, "text", fn->text, LEDGER_TEXT_MAX + 1) == 0)
        fn->found = true;
    return 0;
}

static int list_one(const ledger_entry *e, void *ud)
{
    char name[POLICY_NAME_MAX + 1] = "", drug[16] = "", day[11], hex[65];
    const uint8_t *h;
    size_t n;
    uint64_t eff = 0;
    (void)ud;
    (void)ledger_entry_get_text(e, "name", name, sizeof(name));
    (void)ledger_entry_get_text(e, "drug", drug, sizeof(drug));
    (void)ledger_entry_get_uint(e, "effective", &eff);
    ledger_date_format(day, (int64_t)eff);
    hex[0] = '\0';
    if (ledger_entry_get_bytes(e, "sha256", &h, &n) == 0 && n == 32)
        ledger_hex(hex, h, 32);
    printf("adopted  %-16s %-10s effective %s  seq %llu  sha256 %.16s\n", name, drug, day,
           (unsigned long long)e->seq, hex);
    return 0;
}

static int policy_adopt(int argc, char **argv)
{
    static const struct option opts[] = {{"effective", required_argument, NULL, 'e'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *effective = NULL, *keypath = NULL, *passfile = NULL;
    char why[128], *text = NULL;
    size_t len = 0;
    int64_t eff;
    policy_profile p;
    ledger_body *b = NULL;
    ledger_appended ap;
    uint8_t digest[32];
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            effective = optarg;
            break;
        case 'k':
            keypath = optarg;
            break;
        case 'P':
            passfile = optarg;
            break;
        case 'h':
            fputs(policy_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("policy adopt", c, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage("policy adopt", "expected one profile FILE");
    if (effective == NULL || keypath == NULL)
        return cli_usage("policy adopt", "--effective and --key are required");
    if (ledger_date_parse(&eff, effective, why, sizeof(why)) != 0)
        return cli_usage("policy adopt", "bad --effective '%s': %s", effective, why);
    /* Rules are never changed retroactively: a session is judged by what was
     * adopted before it, so an audit of the past stays reproducible. */
    int64_t today = cli_now_ms() / 86400000 * 86400000;
    if (eff < today)
        return cli_usage("policy adopt",
                         "bad --effective '%s': in the past (rules are not "
                         "changed retroactively)",
                         effective);
    if ((rc = load(argv[optind], &p, &text, &len)) != 0)
        return rc;
    rc = RX_EXIT_ERROR;
    if (len > LEDGER_TEXT_MAX) {
        cli_err("'%s' is larger than %d bytes, the most one entry records", argv[optind],
                LEDGER_TEXT_MAX);
        goto done;
    }
    if (EVP_Digest(text, len, digest, NULL, EVP_sha256(), NULL) != 1 || ledger_body_new(&b) != 0 ||
        ledger_body_put_text(b, "name", p.name) != 0 ||
        ledger_body_put_text(b, "drug", p.drug) != 0 ||
        ledger_body_put_text(b, "text", text) != 0 ||
        ledger_body_put_bytes(b, "sha256", digest, sizeof(digest)) != 0 ||
        ledger_body_put_uint(b, "effective", (uint64_t)eff) != 0) {
        cli_err("cannot record '%s': its text must be printable UTF-8", argv[optind]);
        goto done;
    }
    if ((rc = cli_append("policy adopt", keypath, passfile, "policy.adopt", b, 0, &ap)) != 0)
        goto done;
    char hex[65];
    ledger_hex(hex, digest, sizeof(digest));
    printf("adopted %s (%s) effective %s at seq %llu, sha256 %s\n", p.name, p.drug, effective,
           (unsigned long long)ap.seq, hex);
    rc = RX_EXIT_OK;
done:
    ledger_body_free(b);
    free(text);
    return rc;
}

int cmd_policy(int argc, char **argv)
{
    char *text = NULL;
    size_t len = 0;
    policy_profile p;
    int rc;
    if (argc < 2)
        return cli_usage("policy", "no subcommand given: check, show, list or adopt");
    const char *sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        fputs(policy_help, stdout);
        return RX_EXIT_OK;
    }
    if (strcmp(sub, "adopt") == 0)
        return policy_adopt(argc - 1, argv + 1);
    if (strcmp(sub, "check") == 0) {
        if ((rc = only_help("policy check", argc - 1, argv + 1, 1)) != 0)
            return rc < 0 ? RX_EXIT_OK : rc;
        if ((rc = load(argv[argc - 1], &p, &text, &len)) != 0)
            return rc;
        printf("ok: %s (%s), %zu bytes\n", p.name, p.drug, len);
        free(text);
        return RX_EXIT_OK;
    }
    if (strcmp(sub, "show") == 0) {
        if ((rc = only_help("policy show", argc - 1, argv + 1, 1)) != 0)
            return rc < 0 ? RX_EXIT_OK : rc;
        const char *name = argv[argc - 1], *builtin = policy_builtin_text(name);
        if (builtin != NULL) {
            fputs(builtin, stdout);
            return RX_EXIT_OK;
        }
        ledger *l = NULL;
        char *buf = malloc(LEDGER_TEXT_MAX + 1);
        find_name fn = {name, buf, false};
        rc = buf == NULL ? RX_EXIT_ERROR : cli_open(&l, "policy show", true);
        if (rc == 0 && each_adoption(l, match_name, &fn) != 0)
            rc = RX_EXIT_ERROR;
        if (rc == 0 && !fn.found) {
            cli_err("no profile named '%s' (shipped or adopted)", name);
            rc = RX_EXIT_ERROR;
        }
        if (rc == 0)
            fputs(buf, stdout);
        free(buf);
        ledger_close(l);
        return rc;
    }
    if (strcmp(sub, "list") == 0) {
        if ((rc = only_help("policy list", argc - 1, argv + 1, 0)) != 0)
            return rc < 0 ? RX_EXIT_OK : rc;
        for (size_t i = 0; policy_builtin_name(i) != NULL; i++)
            printf("shipped  %s\n", policy_builtin_name(i));
        const char *dir = cli_g.dir != NULL ? cli_g.dir : getenv("RXLEDGER_DIR");
        if (dir == NULL)
            return RX_EXIT_OK;
        ledger *l = NULL;
        if ((rc = cli_open(&l, "policy list", true)) != 0)
            return rc;
        rc = each_adoption(l, list_one, NULL) == 0 ? RX_EXIT_OK : RX_EXIT_ERROR;
        ledger_close(l);
        return rc;
    }
    return cli_usage("policy", "unknown subcommand '%s'", sub);
}
