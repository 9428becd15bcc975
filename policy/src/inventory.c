/* The inventory per NDC+lot, computed from the ledger in one streaming pass.
 * Memory grows with the number of lots, never with the number of entries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy_int.h"

typedef struct lots {
    policy_lot *v;
    size_t n, cap;
} lots;

static int lot_cmp(const char *ndc, const char *lot, const policy_lot *b)
{
    int c = strcmp(ndc, b->ndc);
    return c != 0 ? c : strcmp(lot, b->lot);
}

/* Find or insert (kept sorted by NDC, lot). */
static policy_lot *lot_get(lots *t, const char *ndc, const char *lot)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = lot_cmp(ndc, lot, &t->v[mid]);
        if (c == 0)
            return &t->v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        policy_lot *nv = realloc(t->v, cap * sizeof(*nv));
        if (nv == NULL)
            return NULL;
        t->v = nv;
        t->cap = cap;
    }
    memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof(*t->v));
    policy_lot *p = &t->v[lo];
    memset(p, 0, sizeof(*p));
    (void)snprintf(p->ndc, sizeof(p->ndc), "%s", ndc);
    (void)snprintf(p->lot, sizeof(p->lot), "%s", lot);
    t->n++;
    return p;
}

int policy_inventory(ledger *l, int64_t until_ms, policy_lot_fn fn, void *ud, char *why,
                     size_t whylen)
{
    ledger_iter *it = NULL;
    ledger_entry e;
    lots t = {NULL, 0, 0};
    int rc;
    if ((rc = ledger_iter_open(&it, l, 0)) != 0)
        goto done;
    while ((rc = ledger_iter_next(it, &e)) == 0) {
        char ndc[16], lot[65];
        const char *ty = e.type;
        bool stock = strcmp(ty, "stock.receive") == 0 || strcmp(ty, "dose") == 0 ||
                     strcmp(ty, "waste") == 0 || strcmp(ty, "stock.destroy") == 0 ||
                     strcmp(ty, "stock.loss") == 0 || strcmp(ty, "stock.count") == 0;
        if (!stock || (until_ms != 0 && e.event_ms >= until_ms))
            continue;
        if (ledger_entry_get_text(&e, "ndc", ndc, sizeof(ndc)) != 0 ||
            ledger_entry_get_text(&e, "lot", lot, sizeof(lot)) != 0)
            continue;
        policy_lot *p = lot_get(&t, ndc, lot);
        if (p == NULL) {
            rc = LEDGER_ENOMEM;
            goto done;
        }
        if (strcmp(ty, "stock.receive") == 0) {
            uint64_t unit = policy__quantity(l, &e, "unit-mg");
            if (p->unit_mg == 0)
                p->unit_mg = unit;
            p->received_units += policy__quantity(l, &e, "containers") *
                                 policy__quantity(l, &e, "units-per-container");
            uint64_t exp;
            if (ledger_entry_get_uint(&e, "expires", &exp) == 0)
                p->expires_ms = (int64_t)exp;
            (void)ledger_entry_get_text(&e, "substance", p->substance, sizeof(p->substance));
        } else if (strcmp(ty, "dose") == 0) {
            p->administered_mg += policy__quantity(l, &e, "mg");
        } else if (strcmp(ty, "waste") == 0) {
            p->wasted_mg += policy__quantity(l, &e, "mg");
        } else if (strcmp(ty, "stock.destroy") == 0) {
            p->destroyed_units += policy__quantity(l, &e, "units");
        } else if (strcmp(ty, "stock.loss") == 0) {
            p->lost_units += policy__quantity(l, &e, "units");
        } else {
            p->counted = true;
            p->count_units = policy__quantity(l, &e, "on-hand");
            p->count_seq = e.seq;
            p->count_ms = e.event_ms;
        }
    }
    if (rc < 0) {
        policy__errf(why, whylen, "%s", ledger_errmsg(l));
        goto done;
    }
    rc = 0;
    for (size_t i = 0; i < t.n && rc == 0; i++) {
        policy_lot *p = &t.v[i];
        p->on_hand_mg = (int64_t)(p->received_units * p->unit_mg) - (int64_t)p->administered_mg -
                        (int64_t)p->wasted_mg -
                        (int64_t)((p->destroyed_units + p->lost_units) * p->unit_mg);
        rc = fn(p, ud);
    }
done:
    ledger_iter_free(it);
    free(t.v);
    return rc;
}
