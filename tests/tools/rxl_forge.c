/* rxl-forge: plant what the adversarial CLI tests need (tests/forge.c does the
 * work): non-canonical re-encodings and misused keys, re-signed with the
 * legitimate keys and re-chained so the planted defect is the only one, and
 * exports of the stored bytes signed by the site key. It writes underneath the
 * library on purpose; nothing in rxledger uses it. Key files are unlocked with
 * RXLEDGER_PASSPHRASE. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge.h"

static const char usage[] =
    "usage: rxl-forge DIR reencode SEQ KIND [-k KEY]...  entry SEQ re-encoded as KIND, re-signed\n"
    "       rxl-forge DIR append SRC KEY [-k KEY]...     a copy of entry SRC signed by KEY\n"
    "       rxl-forge DIR resign SEQ KEY [-k KEY]...     entry SEQ signed anew by KEY\n"
    "       rxl-forge DIR payload SEQ TEXT [-k KEY]...   note SEQ with TEXT, its signature kept\n"
    "       rxl-forge DIR export OUT SITE.KEY [FROM]     an export of the stored bytes\n"
    "       rxl-forge kinds                              the re-encodings KIND can name\n"
    "Entries after the one changed are re-chained and re-signed by their signers,\n"
    "whose key files are given with -k.\n";

static int die(const char *msg, const char *detail)
{
    fprintf(stderr, "rxl-forge: %s%s%s\n", msg, detail[0] != '\0' ? ": " : "", detail);
    return 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int load(keys_key **k, const char *path)
{
    const char *pass = getenv("RXLEDGER_PASSPHRASE");
    char err[256] = "";
    if (pass == NULL)
        return die("set RXLEDGER_PASSPHRASE", "");
    if (keys_load(k, path, pass, strlen(pass), err, sizeof(err)) != 0)
        return die(path, err);
    return 0;
}

static int reencode(ledger *l, uint64_t seq, const char *name, const rxf_keys *keys)
{
    const rxf_kind *kd = rxf_kind_find(name);
    uint8_t *buf = malloc(LEDGER_MAX_ENTRY_BYTES);
    const keys_key *signer = NULL;
    char why[LEDGER_ERRMSG_MAX] = "";
    ledger__buf out;
    ledger_entry e;
    size_t n = 0;
    int rc = 1;
    ledger__buf_init(&out, 2 * LEDGER_MAX_ENTRY_BYTES);
    if (kd == NULL || buf == NULL) {
        rc = die("no such kind (see 'rxl-forge kinds')", name);
        goto done;
    }
    if (ledger_get(l, seq, buf, LEDGER_MAX_ENTRY_BYTES, &n) != 0 ||
        ledger_entry_decode(&e, buf, n, why, sizeof(why)) != 0) {
        rc = die("entry does not decode", why);
        goto done;
    }
    for (size_t i = 0; i < keys->n; i++) {
        uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
        keys_key_pub(keys->k[i], pub);
        keys_kid(kid, pub);
        if (memcmp(kid, e.kid, KEYS_KID_BYTES) == 0)
            signer = keys->k[i];
    }
    if (signer == NULL) {
        rc = die("give the entry's signer with -k", "");
        goto done;
    }
    int r = rxf_reencode(&out, buf, n, kd, signer);
    if (r == 1) {
        rc = die("the kind does not apply to this entry", name);
        goto done;
    }
    if (r != 0 || rxf_replace(l, seq, out.p, out.len, keys, why, sizeof(why)) != 0) {
        rc = die("cannot plant", why);
        goto done;
    }
    printf("planted %s at seq %llu\n", name, (unsigned long long)seq);
    rc = 0;
done:
    free(buf);
    ledger__buf_release(&out);
    return rc;
}

static int export_file(ledger *l, const char *path, const keys_key *site, uint64_t from)
{
    uint64_t count, *ctx = NULL;
    uint8_t head[LEDGER_HASH_BYTES];
    char why[LEDGER_ERRMSG_MAX] = "";
    FILE *f;
    int rc;
    if (ledger_head(l, &count, head) != 0 || from >= count)
        return die("the range starts past the last entry", "");
    /* the context: every entry before the range (a superset of what it needs) */
    if (from > 0 && (ctx = malloc((size_t)from * sizeof(*ctx))) == NULL)
        return die("out of memory", "");
    for (uint64_t i = 0; i < from; i++)
        ctx[i] = i;
    if ((f = fopen(path, "wb")) == NULL) {
        free(ctx);
        return die(path, strerror(errno));
    }
    rc = rxf_export(l, site, from, ctx, (size_t)from, 0, f, why, sizeof(why));
    if (fclose(f) != 0 && rc == 0)
        rc = LEDGER_EIO;
    free(ctx);
    if (rc != 0)
        return die("cannot export", why);
    printf("exported entries %llu..%llu to %s\n", (unsigned long long)from,
           (unsigned long long)(count - 1), path);
    return 0;
}

int main(int argc, char **argv)
{
    ledger *l = NULL;
    keys_key *k = NULL, *owned[RXF_KEYS_MAX];
    rxf_keys keys = {{NULL}, 0};
    char err[512] = "", why[LEDGER_ERRMSG_MAX] = "";
    uint64_t a = 0, seq = 0;
    int rc = 2, fixed;
    if (argc == 2 && strcmp(argv[1], "kinds") == 0) {
        for (size_t i = 0; rxf_kind_at(i) != NULL; i++)
            printf("%-22s %s\n", rxf_kind_at(i)->name, rxf_kind_at(i)->what);
        return 0;
    }
    if (argc < 4) {
        fputs(usage, stderr);
        return 2;
    }
    const char *op = argv[2];
    fixed = strcmp(op, "export") == 0 ? (argc > 5 ? 6 : 5) : 5;
    if (argc < fixed || (argc - fixed) % 2 != 0) {
        fputs(usage, stderr);
        return 2;
    }
    for (int i = fixed; i < argc; i += 2) {
        if (strcmp(argv[i], "-k") != 0 || keys.n == RXF_KEYS_MAX) {
            fputs(usage, stderr);
            return 2;
        }
        if (load(&owned[keys.n], argv[i + 1]) != 0) {
            rc = 1;
            goto done;
        }
        keys.k[keys.n] = owned[keys.n];
        keys.n++;
    }
    if (ledger_open(&l, argv[1], 0, err, sizeof(err)) != 0) {
        rc = die(argv[1], err);
        goto done;
    }
    if (strcmp(op, "reencode") == 0 && parse_u64(argv[3], &a) == 0) {
        rc = reencode(l, a, argv[4], &keys);
    } else if (strcmp(op, "append") == 0 && parse_u64(argv[3], &a) == 0) {
        if ((rc = load(&k, argv[4])) == 0) {
            rc = rxf_append_copy(l, a, k, NULL, 0, &seq, why, sizeof(why)) == 0
                     ? 0
                     : die("cannot append", why);
            if (rc == 0)
                printf("forged seq %llu\n", (unsigned long long)seq);
        }
    } else if (strcmp(op, "resign") == 0 && parse_u64(argv[3], &a) == 0) {
        if ((rc = load(&k, argv[4])) == 0) {
            rc = rxf_resign(l, a, k, NULL, &keys, why, sizeof(why)) == 0
                     ? 0
                     : die("cannot re-sign", why);
            if (rc == 0)
                printf("re-signed seq %llu\n", (unsigned long long)a);
        }
    } else if (strcmp(op, "payload") == 0 && parse_u64(argv[3], &a) == 0) {
        rc = rxf_swap_payload(l, a, argv[4], &keys, why, sizeof(why)) == 0
                 ? 0
                 : die("cannot swap the payload", why);
        if (rc == 0)
            printf("swapped the payload of seq %llu\n", (unsigned long long)a);
    } else if (strcmp(op, "export") == 0 && (argc == 5 || parse_u64(argv[5], &a) == 0)) {
        if ((rc = load(&k, argv[4])) == 0)
            rc = export_file(l, argv[3], k, argc == 5 ? 0 : a);
    } else {
        fputs(usage, stderr);
        rc = 2;
    }
done:
    ledger_close(l);
    keys_free(k);
    for (size_t i = 0; i < keys.n; i++)
        keys_free(owned[i]);
    return rc;
}
