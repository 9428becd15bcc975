/* One step of a chain walk, shared by verify (over LMDB) and verify-export
 * (over a file): the entry's position, link, time order, the rules of its type
 * and signer, its signature, and its effect on the key table. */
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"

ledger__vkey *ledger__ktab_find(ledger__ktab *t, const uint8_t kid[KEYS_KID_BYTES])
{
    for (size_t i = 0; i < t->n; i++)
        if (memcmp(t->v[i].info.kid, kid, KEYS_KID_BYTES) == 0)
            return &t->v[i];
    return NULL;
}

static int ktab_add(ledger__ktab *t, const ledger_keyinfo *info)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        ledger__vkey *nv = realloc(t->v, cap * sizeof(*nv));
        if (nv == NULL)
            return LEDGER_ENOMEM;
        t->v = nv;
        t->cap = cap;
    }
    ledger__vkey *k = &t->v[t->n];
    k->info = *info;
    k->pub = NULL;
    int rc = keys_pub_new(&k->pub, info->pub);
    if (rc != 0)
        return rc;
    t->n++;
    return 0;
}

void ledger__ktab_release(ledger__ktab *t)
{
    for (size_t i = 0; i < t->n; i++)
        keys_pub_free(t->v[i].pub);
    free(t->v);
    memset(t, 0, sizeof(*t));
}

int ledger__chain_step(ledger__ktab *t, const ledger_entry *e, uint64_t expect, const uint8_t *prev,
                       int64_t prev_rt, bool check_sig, ledger__effect *eff, char *why,
                       size_t whylen)
{
    ledger__vkey *signer;
    const uint8_t *prot = NULL, *payload = NULL;
    size_t protlen = 0, plen = 0;
    int rc;
    if (e->seq != expect) {
        ledger__errf(why, whylen, "payload says seq %llu but is stored at seq %llu",
                     (unsigned long long)e->seq, (unsigned long long)expect);
        return LEDGER_EINVAL;
    }
    if (prev != NULL && !keys_equal(e->prev, prev, LEDGER_HASH_BYTES)) {
        ledger__errf(why, whylen, "prev does not match the hash of entry %llu",
                     (unsigned long long)(expect - 1));
        return LEDGER_EINVAL;
    }
    if (e->recorded_ms < prev_rt) {
        ledger__errf(why, whylen, "recorded time earlier than the previous entry's");
        return LEDGER_ECLOCK;
    }
    signer = e->seq == 0 ? NULL : ledger__ktab_find(t, e->kid);
    rc = ledger__check_rules(e, signer != NULL ? &signer->info : NULL, eff, why, whylen);
    if (rc != 0)
        return rc;
    if (e->seq == 0) {
        if (t->n != 0) {
            ledger__errf(why, whylen, "a second genesis entry");
            return LEDGER_EINVAL;
        }
        if ((rc = ktab_add(t, &eff->key)) != 0)
            return rc;
        signer = &t->v[t->n - 1];
    }
    if (check_sig) {
        ledger__buf tbs;
        if ((rc = ledger__entry_spans(e, &prot, &protlen, &payload, &plen)) != 0)
            return rc;
        ledger__buf_init(&tbs, LEDGER_MAX_ENTRY_BYTES + 128);
        ledger__sig_structure(&tbs, prot, protlen, payload, plen);
        rc = tbs.err != 0 ? tbs.err : keys_pub_verify(signer->pub, e->sig, tbs.p, tbs.len);
        ledger__buf_release(&tbs);
        if (rc != 0) {
            ledger__errf(why, whylen, "signature does not verify");
            return rc;
        }
    }
    if (eff->kind == LEDGER__EFF_ENROLL && e->seq != 0) {
        if (ledger__ktab_find(t, eff->key.kid) != NULL) {
            ledger__errf(why, whylen, "enrols a key that is already enrolled");
            return LEDGER_EEXIST;
        }
        return ktab_add(t, &eff->key);
    }
    if (eff->kind == LEDGER__EFF_REVOKE) {
        ledger__vkey *target = ledger__ktab_find(t, eff->target);
        if (target == NULL || target->info.enrolled_seq == 0 || target->info.revoked) {
            ledger__errf(why, whylen,
                         "revokes a key that is not enrolled, already revoked, "
                         "or the site key");
            return LEDGER_EINVAL;
        }
        target->info.revoked = true;
        target->info.revoked_seq = e->seq;
        target->info.revoked_ms = e->recorded_ms;
    }
    return 0;
}
