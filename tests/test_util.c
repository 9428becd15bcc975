/* Helpers every ledger test needs (see test_util.h). */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

int rxt_rm_rf(const char *dir)
{
    char cmd[512];
    int n = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (n < 0 || (size_t)n >= sizeof(cmd))
        return -1;
    return system(cmd);
}

int rxt_enroll(ledger *l, keys_key *site, keys_key *k, const char *name, const char *role,
               int64_t from_ms, int64_t until_ms, int64_t recorded_ms)
{
    ledger_body *b = NULL;
    uint8_t pub[KEYS_PUB_BYTES];
    int rc;
    keys_key_pub(k, pub);
    if ((rc = ledger_body_new(&b)) != 0)
        return rc;
    if ((rc = ledger_body_put_bytes(b, "pub", pub, sizeof(pub))) == 0 &&
        (rc = ledger_body_put_text(b, "name", name)) == 0 &&
        (rc = ledger_body_put_text(b, "role", role)) == 0 &&
        (rc = ledger_body_put_text(b, "license", "LIC-1")) == 0 &&
        (rc = ledger_body_put_uint(b, "valid_from", (uint64_t)from_ms)) == 0 &&
        (until_ms == 0 || (rc = ledger_body_put_uint(b, "valid_until", (uint64_t)until_ms)) == 0)) {
        ledger_append_opts o = LEDGER_APPEND_INIT;
        o.type = "key.enroll";
        o.body = b;
        o.recorded_ms = recorded_ms;
        rc = ledger_append(l, site, &o, NULL);
    }
    ledger_body_free(b);
    return rc;
}

int rxt_verify(ledger *l, ledger_verify_result *r)
{
    int rc = ledger_verify(l, 0, NULL, NULL, r);
    if (rc != 0)
        fprintf(stderr, "verify: entry %llu: %s\n", (unsigned long long)r->bad_seq, r->reason);
    return rc;
}
