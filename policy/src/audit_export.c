/* The audit over an export file: verify it (the first problem is the first
 * finding), then audit its context and entries, corrections applied from the
 * amendments collected while verifying. */
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"
#include "ledger/export.h"
#include "policy/audit.h"

typedef struct amend {
    uint64_t ref;
    uint8_t *bytes;
    size_t n;
} amend;

typedef struct xsrc {
    ledger_export_reader *r;
    uint64_t next_ctx; /* context entries are read first */
    amend *v;          /* amendments in seq order */
    size_t n, cap;
} xsrc;

static int keep_amend(xsrc *x, const ledger_entry *e)
{
    uint64_t ref;
    if (strcmp(e->type, "amend") != 0 || ledger_entry_get_uint(e, "ref", &ref) != 0)
        return 0;
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 16;
        amend *nv = realloc(x->v, cap * sizeof(*nv));
        if (nv == NULL)
            return LEDGER_ENOMEM;
        x->v = nv;
        x->cap = cap;
    }
    if ((x->v[x->n].bytes = malloc(e->len)) == NULL)
        return LEDGER_ENOMEM;
    memcpy(x->v[x->n].bytes, e->bytes, e->len);
    x->v[x->n].n = e->len;
    x->v[x->n++].ref = ref;
    return 0;
}

/* As policy__quantity: the last amendment setting @p key of @p e wins. */
static uint64_t quantity(void *ud, const ledger_entry *e, const char *key)
{
    xsrc *x = ud;
    uint64_t v = 0;
    (void)ledger_entry_get_uint(e, key, &v);
    for (size_t i = 0; i < x->n; i++) {
        ledger_entry a;
        char text[32], *end = NULL;
        if (x->v[i].ref != e->seq ||
            ledger_entry_decode(&a, x->v[i].bytes, x->v[i].n, NULL, 0) != 0 ||
            ledger_entry_get_map_text(&a, "set", key, text, sizeof(text)) != 0 || text[0] < '0' ||
            text[0] > '9')
            continue;
        unsigned long long q = strtoull(text, &end, 10);
        if (*end == '\0')
            v = q;
    }
    return v;
}

static int next(void *ud, ledger_entry *out)
{
    xsrc *x = ud;
    ledger_export_info info;
    ledger_export_get_info(x->r, &info);
    if (x->next_ctx < info.context)
        return ledger_export_context(x->r, x->next_ctx++, out) == 0 ? 0 : LEDGER_EENCODING;
    int rc = ledger_export_next(x->r, out);
    return rc == LEDGER_EVERIFY ? 1 : rc; /* judged up to where pass 1 stopped trusting */
}

int policy_audit_export(FILE *in, const uint8_t fpr[KEYS_FPR_BYTES], const policy_audit_opts *opts,
                        policy_finding_fn fn, void *ud, policy_audit_summary *out, char *why,
                        size_t whylen)
{
    xsrc x;
    ledger_entry e;
    policy_audit_opts o = *opts;
    policy_source src;
    bool broken = false;
    uint64_t done = 0, total;
    int rc;
    memset(&x, 0, sizeof(x));
    memset(out, 0, sizeof(*out));
    o.trusted = UINT64_MAX;
    /* pass 1: verify, and collect the amendments */
    rc = ledger_export_open(&x.r, in, fpr);
    const bool header_ok = rc == 0;
    if (rc == 0) {
        ledger_export_info info;
        ledger_export_get_info(x.r, &info);
        total = info.count;
        for (uint64_t i = 0; rc == 0 && i < info.context; i++)
            if ((rc = ledger_export_context(x.r, i, &e)) == 0)
                rc = keep_amend(&x, &e);
        while (rc == 0 && (rc = ledger_export_next(x.r, &e)) == 0) {
            rc = keep_amend(&x, &e);
            if (opts->progress != NULL && ++done % 4096 == 0)
                opts->progress(done, total, opts->progress_ud);
        }
        rc = rc == 1 ? 0 : rc;
    }
    if (rc == LEDGER_EVERIFY) {
        broken = true;
        o.trusted = x.r != NULL ? ledger_export_position(x.r) : 0;
        if (policy__broken_chain(o.trusted, ledger_export_why(x.r),
                                 x.r != NULL ? ledger_export_cause(x.r) : 0, fn, ud) != 0) {
            rc = 0;
            goto done;
        }
        rc = 0;
        if (!header_ok)
            goto done; /* nothing in the file can be trusted */
    }
    if (rc != 0) {
        (void)snprintf(why, whylen, "%s", x.r != NULL ? ledger_export_why(x.r) : "out of memory");
        goto done;
    }
    /* pass 2: the audit itself, over what verified */
    ledger_export_close(x.r);
    x.r = NULL;
    if (fseeko(in, 0, SEEK_SET) != 0) {
        (void)snprintf(why, whylen, "cannot read the export again (not a seekable file)");
        rc = LEDGER_EIO;
        goto done;
    }
    if ((rc = ledger_export_open(&x.r, in, fpr)) != 0) {
        (void)snprintf(why, whylen, "%s", ledger_export_why(x.r));
        goto done;
    }
    /* pass 1 checked every signature before the point it trusts: not again */
    ledger_export_trust_signatures(x.r);
    memset(&src, 0, sizeof(src));
    src.next = next;
    src.ud = &x;
    src.quantity = quantity;
    rc = policy_audit(&src, &o, fn, ud, out, why, whylen);
done:
    if (broken)
        out->fails++;
    ledger_export_close(x.r);
    for (size_t i = 0; i < x.n; i++)
        free(x.v[i].bytes);
    free(x.v);
    return rc;
}
