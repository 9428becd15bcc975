/* The regulator export (docs/format.md section 5c): writing it from the
 * ledger, and reading it back item by item with every check a regulator
 * needs, trusting only the site key's fingerprint. Both directions stream. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ledger/export.h"
#include "ledger/records.h"
#include "store_int.h"

#define ITEM_MAX    (LEDGER_MAX_ENTRY_BYTES + 64) /* an entry or the trailer */
#define MAX_NESTING 16

static const char *const context_types[] = {"genesis",        "key.enroll",      "key.revoke",
                                            "policy.adopt",   "setting.certify", "registration",
                                            "patient.enroll", "stock.receive"};

static bool is_context_type(const char *t)
{
    for (size_t i = 0; i < sizeof(context_types) / sizeof(context_types[0]); i++)
        if (strcmp(t, context_types[i]) == 0)
            return true;
    return false;
}

/* ---- small sorted sets ---- */

typedef struct u64set {
    uint64_t *v;
    size_t n, cap;
} u64set;

static int u64set_add(u64set *s, uint64_t x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        uint64_t *nv = realloc(s->v, cap * sizeof(*nv));
        if (nv == NULL)
            return LEDGER_ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool u64set_has(const u64set *s, uint64_t x)
{
    return s->n != 0 && bsearch(&x, s->v, s->n, sizeof(x), u64_cmp) != NULL;
}

/* ---- compact range (shared by writer and reader) ---- */

/* Width of the next right-side subtree at position m of a tree of size n (m < n). */
static uint64_t right_width(uint64_t m, uint64_t n)
{
    uint64_t k = m & (~m + 1); /* lowest set bit; m >= 1 here */
    while (k > n - m)          /* m + k > n, which wraps past 2^64 for a forged header */
        k >>= 1;
    return k;
}

static unsigned log2u(uint64_t k)
{
    return (unsigned)(63 - __builtin_clzll(k));
}

typedef struct crange {
    uint8_t h[65][LEDGER_HASH_BYTES];
    uint64_t w[65];
    size_t sp;
} crange;

static void crange_push(crange *c, uint64_t width, const uint8_t hash[LEDGER_HASH_BYTES])
{
    memcpy(c->h[c->sp], hash, LEDGER_HASH_BYTES);
    c->w[c->sp++] = width;
    while (c->sp >= 2 && c->w[c->sp - 1] == c->w[c->sp - 2]) {
        ledger_merkle_node(c->h[c->sp - 2], c->h[c->sp - 2], c->h[c->sp - 1]);
        c->w[c->sp - 2] *= 2;
        c->sp--;
    }
}

static void crange_root(const crange *c, uint8_t root[LEDGER_HASH_BYTES])
{
    memcpy(root, c->h[c->sp - 1], LEDGER_HASH_BYTES);
    for (size_t i = c->sp - 1; i-- > 0;)
        ledger_merkle_node(root, c->h[i], root);
}

/* ---- writer ---- */

typedef struct ident {
    uint8_t commit[LEDGER_COMMIT_BYTES], salt[LEDGER_SALT_BYTES];
    ledger_idkind kind;
    char id[LEDGER_PATIENT_ID_MAX + 1];
    bool used;
} ident;

typedef struct idlist {
    ident *v;
    size_t n, cap;
} idlist;

static int ident_cmp(const void *a, const void *b)
{
    return memcmp(((const ident *)a)->commit, ((const ident *)b)->commit, LEDGER_COMMIT_BYTES);
}

static int collect_id(ledger_idkind kind, const char *id, const uint8_t salt[LEDGER_SALT_BYTES],
                      const uint8_t commit[LEDGER_COMMIT_BYTES], void *ud)
{
    idlist *l = ud;
    if (strlen(id) > LEDGER_PATIENT_ID_MAX)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        ident *nv = realloc(l->v, cap * sizeof(*nv));
        if (nv == NULL)
            return 1;
        l->v = nv;
        l->cap = cap;
    }
    ident *x = &l->v[l->n++];
    memcpy(x->commit, commit, LEDGER_COMMIT_BYTES);
    memcpy(x->salt, salt, LEDGER_SALT_BYTES);
    x->kind = kind;
    memcpy(x->id, id, strlen(id) + 1);
    x->used = false;
    return 0;
}

/* Mark the identities an entry commits to (its patient fields). */
static void mark_ids(idlist *ids, const ledger_entry *e)
{
    const ledger_rtype *t = ledger_rtype_find(e->type);
    if (ids->n == 0 || t == NULL || t->fields == NULL)
        return;
    for (size_t i = 0; i < t->nfields; i++) {
        const uint8_t *p;
        size_t n;
        ident key, *hit;
        if (t->fields[i].kind != LEDGER_F_COMMIT ||
            ledger_entry_get_bytes(e, t->fields[i].name, &p, &n) != 0 || n != LEDGER_COMMIT_BYTES)
            continue;
        memcpy(key.commit, p, LEDGER_COMMIT_BYTES);
        if ((hit = bsearch(&key, ids->v, ids->n, sizeof(ident), ident_cmp)) != NULL)
            hit->used = true;
    }
}

typedef struct wctx {
    ledger *l;
    ledger__buf ctx; /* the encoded context entries */
    uint64_t nctx;
    u64set refs; /* entries before the range that the range names */
    idlist ids;
} wctx;

/* Pass 1 over the range: what it names before the range, whose identities it holds. */
static int scan_range(wctx *w, uint64_t from, uint64_t count)
{
    ledger_iter *it = NULL;
    ledger_entry e;
    int rc = ledger_iter_open(&it, w->l, from);
    for (uint64_t i = 0; rc == 0 && i < count; i++) {
        ledger__effect eff;
        char why[LEDGER_ERRMSG_MAX];
        if ((rc = ledger_iter_next(it, &e)) != 0) {
            rc = rc == 1 ? LEDGER_EIO : rc;
            break;
        }
        if (ledger__effect_of(&e, &eff, why, sizeof(why)) == 0 && eff.kind == LEDGER__EFF_REF &&
            eff.ref < from)
            rc = u64set_add(&w->refs, eff.ref);
        mark_ids(&w->ids, &e);
    }
    ledger_iter_free(it);
    if (rc == 0 && w->refs.n != 0)
        qsort(w->refs.v, w->refs.n, sizeof(uint64_t), u64_cmp);
    return rc;
}

/* The context: earlier entries that define keys, policies, settings,
 * enrolments, or that the range names; each with its inclusion path. */
static int build_context(wctx *w, uint64_t from, uint64_t size)
{
    ledger_iter *it = NULL;
    ledger_entry e;
    uint8_t path[LEDGER_PROOF_MAX][LEDGER_HASH_BYTES];
    size_t npath;
    int rc = from == 0 ? 0 : ledger_iter_open(&it, w->l, 0);
    for (uint64_t seq = 0; rc == 0 && seq < from; seq++) {
        if ((rc = ledger_iter_next(it, &e)) != 0) {
            rc = rc == 1 ? LEDGER_EIO : rc;
            break;
        }
        if (!is_context_type(e.type) && !u64set_has(&w->refs, seq))
            continue;
        mark_ids(&w->ids, &e);
        if ((rc = ledger_merkle_inclusion(w->l, seq, size, path, &npath)) != 0)
            break;
        ledger__cbor_array(&w->ctx, 3);
        ledger__cbor_uint(&w->ctx, seq);
        ledger__cbor_bytes(&w->ctx, e.bytes, e.len);
        ledger__cbor_array(&w->ctx, npath);
        for (size_t i = 0; i < npath; i++)
            ledger__cbor_bytes(&w->ctx, path[i], LEDGER_HASH_BYTES);
        w->nctx++;
        if ((rc = w->ctx.err) != 0)
            ledger__errf(w->l->err, sizeof(w->l->err), "the export header would exceed %u bytes",
                         LEDGER_EXPORT_HEADER_MAX);
    }
    ledger_iter_free(it);
    return rc;
}

static int put_nodes(ledger *l, ledger__buf *h, uint64_t from, uint64_t end, uint64_t size)
{
    MDB_txn *txn = NULL;
    uint8_t node[LEDGER_HASH_BYTES];
    uint64_t n = 0, m;
    int rc = ledger__read_txn(l, &txn);
    if (rc != 0)
        return rc;
    /* left: one perfect subtree per set bit of from, largest first */
    ledger__cbor_array(h, (size_t)__builtin_popcountll(from));
    m = 0;
    for (int k = 63; rc == 0 && k >= 0; k--) {
        uint64_t width = (uint64_t)1 << k;
        if ((from & width) == 0)
            continue;
        if ((rc = ledger__merkle_get(l, txn, (unsigned)k, m >> k, node)) == 0)
            ledger__cbor_bytes(h, node, LEDGER_HASH_BYTES);
        m += width;
    }
    /* size, count */
    ledger__cbor_text(h, "size", 4);
    ledger__cbor_uint(h, size);
    ledger__cbor_text(h, "count", 5);
    ledger__cbor_uint(h, end - from);
    /* right: greedy aligned subtrees covering [end, size) */
    for (m = end; m < size; m += right_width(m, size))
        n++;
    ledger__cbor_text(h, "right", 5);
    ledger__cbor_array(h, n);
    for (m = end; rc == 0 && m < size;) {
        uint64_t k = right_width(m, size);
        if ((rc = ledger__merkle_get(l, txn, log2u(k), m / k, node)) == 0)
            ledger__cbor_bytes(h, node, LEDGER_HASH_BYTES);
        m += k;
    }
    ledger__end_read(l, txn);
    if (rc != 0)
        ledger__errf(l->err, sizeof(l->err), "the Merkle tree is missing a node: run verify");
    return rc;
}

static int write_header(wctx *w, FILE *out, uint64_t from, uint64_t end, uint64_t size,
                        bool with_ids, uint8_t hash[LEDGER_HASH_BYTES])
{
    ledger__buf h;
    size_t nused = 0;
    int rc;
    ledger__buf_init(&h, LEDGER_EXPORT_HEADER_MAX);
    for (size_t i = 0; i < w->ids.n; i++)
        nused += w->ids.v[i].used;
    ledger__cbor_map(&h, with_ids ? 9 : 8);
    ledger__cbor_text(&h, "from", 4);
    ledger__cbor_uint(&h, from);
    ledger__cbor_text(&h, "left", 4);
    if ((rc = put_nodes(w->l, &h, from, end, size)) != 0)
        goto done;
    ledger__cbor_text(&h, "format", 6);
    ledger__cbor_text(&h, LEDGER_EXPORT_FORMAT, strlen(LEDGER_EXPORT_FORMAT));
    ledger__cbor_text(&h, "context", 7);
    ledger__cbor_array(&h, w->nctx);
    ledger__buf_put(&h, w->ctx.p, w->ctx.len);
    ledger__cbor_text(&h, "version", 7);
    ledger__cbor_uint(&h, LEDGER_EXPORT_VERSION);
    if (with_ids) {
        ledger__cbor_text(&h, "identities", 10);
        ledger__cbor_array(&h, nused);
        for (size_t i = 0; i < w->ids.n; i++) {
            const ident *x = &w->ids.v[i];
            if (!x->used)
                continue;
            ledger__cbor_array(&h, 4);
            ledger__cbor_bytes(&h, x->commit, LEDGER_COMMIT_BYTES);
            ledger__cbor_bytes(&h, x->salt, LEDGER_SALT_BYTES);
            ledger__cbor_text(&h, x->kind == LEDGER_ID_MRN ? "mrn" : "rems",
                              x->kind == LEDGER_ID_MRN ? 3 : 4);
            ledger__cbor_text(&h, x->id, strlen(x->id));
        }
    }
    if ((rc = h.err) != 0) {
        ledger__errf(w->l->err, sizeof(w->l->err), "the export header would exceed %u bytes",
                     LEDGER_EXPORT_HEADER_MAX);
        goto done;
    }
    if (EVP_Digest(h.p, h.len, hash, NULL, EVP_sha256(), NULL) != 1) {
        rc = LEDGER_ENOMEM;
        goto done;
    }
    if (fwrite(h.p, 1, h.len, out) != h.len) {
        ledger__errf(w->l->err, sizeof(w->l->err), "cannot write the export");
        rc = LEDGER_EIO;
    }
done:
    ledger__buf_release(&h);
    return rc;
}

int ledger_export_write(ledger *l, const keys_key *site_key, const ledger_export_opts *o, FILE *out,
                        ledger_export_info *info)
{
    uint8_t cpb[LEDGER_CHECKPOINT_MAX], plainb[LEDGER_CHECKPOINT_MAX];
    size_t cpn = 0, plainn = 0;
    ledger_iter *it = NULL;
    ledger_entry e;
    wctx w;
    int rc;
    memset(info, 0, sizeof(*info));
    memset(&w, 0, sizeof(w));
    w.l = l;
    ledger__buf_init(&w.ctx, LEDGER_EXPORT_HEADER_MAX / 2);
    /* the range is checked before anything is signed or stored */
    uint8_t headh[LEDGER_HASH_BYTES];
    uint64_t count = 0;
    if ((rc = ledger_head(l, &count, headh)) != 0)
        goto done;
    if (count == 0 || o->from_seq > o->to_seq || o->from_seq >= count) {
        ledger__errf(l->err, sizeof(l->err),
                     "the range starts at seq %llu but the ledger's last entry is seq %llu",
                     (unsigned long long)o->from_seq, (unsigned long long)(count - 1));
        rc = LEDGER_EINVAL;
        goto done;
    }
    /* the trailer first: it fixes the size everything else is read at; the
     * plain checkpoint is stored only once every entry was read and written */
    ledger_checkpoint plain;
    if ((rc = ledger__checkpoint_sign(l, site_key, cpb, sizeof(cpb), &cpn, &info->trailer)) != 0)
        goto done;
    plain = info->trailer;
    memcpy(plainb, cpb, cpn);
    plainn = cpn;
    const uint64_t size = info->trailer.size;
    const uint64_t from = o->from_seq;
    const uint64_t to = o->to_seq < size - 1 ? o->to_seq : size - 1;
    info->from = from;
    info->count = to - from + 1;
    info->size = size;
    if (o->identities != NULL) {
        if (ledger_ids_each(o->identities, collect_id, &w.ids) != 0) {
            ledger__errf(l->err, sizeof(l->err), "cannot read the identity store");
            rc = LEDGER_EIO;
            goto done;
        }
        if (w.ids.n != 0)
            qsort(w.ids.v, w.ids.n, sizeof(ident), ident_cmp);
    }
    if ((rc = scan_range(&w, from, info->count)) != 0 ||
        (rc = build_context(&w, from, size)) != 0 ||
        (rc = write_header(&w, out, from, to + 1, size, o->identities != NULL,
                           info->trailer.export_hash)) != 0)
        goto done;
    info->context = w.nctx;
    for (size_t i = 0; i < w.ids.n; i++)
        info->identities += w.ids.v[i].used;
    if ((rc = ledger_iter_open(&it, l, from)) != 0)
        goto done;
    for (uint64_t i = 0; i < info->count; i++) {
        if ((rc = ledger_iter_next(it, &e)) != 0) {
            rc = rc == 1 ? LEDGER_EIO : rc;
            goto done;
        }
        if (fwrite(e.bytes, 1, e.len, out) != e.len) {
            ledger__errf(l->err, sizeof(l->err), "cannot write the export");
            rc = LEDGER_EIO;
            goto done;
        }
        if (o->progress != NULL && (i + 1) % 4096 == 0)
            o->progress(i + 1, info->count, o->progress_ud);
    }
    /* the trailer: the checkpoint's statement, plus the header's hash, signed */
    ledger__buf tb;
    ledger__buf_init(&tb, LEDGER_CHECKPOINT_MAX);
    info->trailer.has_export = true;
    rc = ledger__tree_head_sign(&tb, site_key, &info->trailer);
    if (rc == 0 && tb.len <= sizeof(cpb)) {
        memcpy(cpb, tb.p, tb.len);
        cpn = tb.len;
    }
    ledger__buf_release(&tb);
    if (rc != 0)
        goto done;
    if (fwrite(cpb, 1, cpn, out) != cpn) {
        ledger__errf(l->err, sizeof(l->err), "cannot write the export");
        rc = LEDGER_EIO;
        goto done;
    }
    if ((rc = ledger__checkpoint_store(l, plainb, plainn, &plain)) != 0)
        goto done;
    if (o->progress != NULL)
        o->progress(info->count, info->count, o->progress_ud);
    uint8_t pub[KEYS_PUB_BYTES];
    keys_key_pub(site_key, pub);
    keys_fingerprint(info->site_fpr, pub);
done:
    ledger_iter_free(it);
    ledger__buf_release(&w.ctx);
    free(w.refs.v);
    if (w.ids.v != NULL) {
        keys_wipe(w.ids.v, w.ids.cap * sizeof(ident));
        free(w.ids.v);
    }
    return rc;
}

/* ---- reader ---- */

typedef struct cx {
    uint64_t seq;
    const uint8_t *p; /* the entry, inside the header buffer */
    size_t n;
    uint8_t hash[LEDGER_HASH_BYTES];
} cx;

struct ledger_export_reader {
    FILE *in;
    uint8_t fpr[KEYS_FPR_BYTES];
    char why[LEDGER_ERRMSG_MAX];
    int state; /* 0 entries, 1 done, -1 failed */
    int cause; /* the LEDGER_E* behind a failed entry check */
    ledger_export_info info;
    ledger__buf header, item;
    cx *ctx;
    const uint8_t *right; /* the "right" array's content, inside the header */
    size_t rightlen;
    ledger__ktab keys;
    crange cr;
    uint8_t ctx_root[LEDGER_HASH_BYTES];
    uint8_t prev[LEDGER_HASH_BYTES];
    int64_t prev_rt;
    uint64_t done;                          /* range entries read */
    uint64_t item_no;                       /* items read, from 1 */
    FILE *hashes;                           /* leaf hashes of the range, for references into it */
    uint8_t header_hash[LEDGER_HASH_BYTES]; /* SHA-256 of the header item */
    ledger__sigpool *pool;                  /* the range's signature checks, in parallel */
    bool trust_sigs;                        /* signatures verified by an earlier pass */
    bool failed_sig;                        /* the failure is a signature ... */
    uint64_t failed_seq;                    /* ... of this entry */
};

static int fail(ledger_export_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(ledger_export_reader *r, const char *fmt, ...)
{
    va_list ap;
    uint64_t bad;
    r->state = -1;
    /* a signature of an earlier entry, still being checked, may be the first problem */
    if (r->pool != NULL && ledger__sigpool_flush(r->pool, &bad)) {
        r->failed_sig = true;
        r->failed_seq = bad;
        r->cause = KEYS_EBADSIG;
        snprintf(r->why, sizeof(r->why), "entry seq %llu (item %llu): signature does not verify",
                 (unsigned long long)bad, (unsigned long long)(bad - r->info.from + 2));
        return LEDGER_EVERIFY;
    }
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
    return LEDGER_EVERIFY;
}

/* ---- one CBOR item from the stream, byte for byte ---- */

static int take(ledger_export_reader *r, ledger__buf *b, size_t n)
{
    uint8_t chunk[4096];
    while (n > 0) {
        size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
        size_t got = fread(chunk, 1, k, r->in);
        ledger__buf_put(b, chunk, got);
        if (b->err != 0)
            return LEDGER_ETOOBIG;
        if (got != k)
            return ferror(r->in) ? LEDGER_EIO : 1; /* 1: the file ends here */
        n -= k;
    }
    return 0;
}

static int read_value(ledger_export_reader *r, ledger__buf *b, unsigned depth)
{
    uint8_t ib;
    uint64_t arg = 0;
    int rc;
    if (depth > MAX_NESTING)
        return LEDGER_EENCODING;
    if ((rc = take(r, b, 1)) != 0)
        return rc;
    ib = b->p[b->len - 1];
    unsigned major = ib >> 5, ai = ib & 31u;
    if (ai < 24) {
        arg = ai;
    } else if (ai <= 27) {
        size_t n = (size_t)1 << (ai - 24);
        if ((rc = take(r, b, n)) != 0)
            return rc;
        for (size_t i = 0; i < n; i++)
            arg = (arg << 8) | b->p[b->len - n + i];
    } else {
        return LEDGER_EENCODING; /* indefinite length or reserved */
    }
    switch (major) {
    case 2:
    case 3:
        if (arg > b->max - b->len)
            return LEDGER_ETOOBIG;
        return take(r, b, (size_t)arg);
    case 4:
    case 5:
        if (arg > b->max - b->len)
            return LEDGER_ETOOBIG;
        for (uint64_t i = 0; i < (major == 5 ? 2 * arg : arg); i++)
            if ((rc = read_value(r, b, depth + 1)) != 0)
                return rc;
        return 0;
    case 6:
        return read_value(r, b, depth + 1);
    default:
        return 0;
    }
}

/* 0: an item in b; 1: the file ended cleanly before it; else a problem. */
static int read_item(ledger_export_reader *r, ledger__buf *b, const char *what)
{
    b->len = 0;
    b->err = 0;
    int c = fgetc(r->in);
    if (c == EOF)
        return ferror(r->in) ? LEDGER_EIO : 1;
    ungetc(c, r->in);
    r->item_no++;
    int rc = read_value(r, b, 0);
    if (rc == 1)
        return fail(r, "item %llu (%s) is cut short: the file is truncated",
                    (unsigned long long)r->item_no, what);
    if (rc == LEDGER_ETOOBIG)
        return fail(r, "item %llu (%s) is larger than any valid one",
                    (unsigned long long)r->item_no, what);
    if (rc == LEDGER_EENCODING)
        return fail(r,
                    "item %llu (%s) is not well-formed CBOR (indefinite length, reserved "
                    "value or nesting too deep)",
                    (unsigned long long)r->item_no, what);
    return rc;
}

/* ---- the header ---- */

static bool get_uint(const uint8_t *h, size_t hn, const char *key, uint64_t *out)
{
    ledger__cbitem it;
    if (ledger__map_find(h, hn, key, &it, NULL, NULL) != 0 || it.kind != LEDGER__CB_UINT)
        return false;
    *out = it.u;
    return true;
}

/* The array under @p key: a reader positioned after its head, and its length. */
static bool get_array(const uint8_t *h, size_t hn, const char *key, ledger__rd *rd, uint64_t *n)
{
    ledger__cbitem it;
    const uint8_t *vs;
    size_t vl;
    if (ledger__map_find(h, hn, key, &it, &vs, &vl) != 0 || it.kind != LEDGER__CB_ARRAY)
        return false;
    ledger__rd_init(rd, vs, vl, NULL, 0);
    if (ledger__rd_next(rd, &it) != 0)
        return false;
    *n = it.u;
    return true;
}

static bool next_hash(ledger__rd *rd, uint8_t out[LEDGER_HASH_BYTES])
{
    ledger__cbitem it;
    if (ledger__rd_next(rd, &it) != 0 || it.kind != LEDGER__CB_BYTES || it.n != LEDGER_HASH_BYTES)
        return false;
    memcpy(out, it.p, LEDGER_HASH_BYTES);
    return true;
}

static int check_site(ledger_export_reader *r)
{
    uint8_t got[KEYS_FPR_BYTES];
    keys_fingerprint(got, r->keys.v[0].info.pub);
    memcpy(r->info.site_fpr, got, sizeof(got));
    if (!keys_equal(got, r->fpr, KEYS_FPR_BYTES))
        return fail(r, "the export's site key (in its genesis entry) does not have the trusted "
                       "fingerprint: it is another site's, or altered");
    return 0;
}

static int check_ref(ledger_export_reader *r, const ledger__effect *eff, uint64_t seq)
{
    uint8_t h[LEDGER_HASH_BYTES];
    bool found = false;
    if (eff->ref >= seq)
        return fail(r, "entry seq %llu names entry %llu, which is not earlier",
                    (unsigned long long)seq, (unsigned long long)eff->ref);
    if (eff->ref >= r->info.from && r->hashes != NULL) {
        if (fseeko(r->hashes, (off_t)((eff->ref - r->info.from) * LEDGER_HASH_BYTES), SEEK_SET) !=
                0 ||
            fread(h, 1, sizeof(h), r->hashes) != sizeof(h) || fseeko(r->hashes, 0, SEEK_END) != 0)
            return LEDGER_EIO;
        found = true;
    } else {
        for (uint64_t i = 0; i < r->info.context && !found; i++)
            if (r->ctx[i].seq == eff->ref) {
                memcpy(h, r->ctx[i].hash, sizeof(h));
                found = true;
            }
    }
    if (!found)
        return seq < r->info.from
                   ? 0 /* context naming outside the context: the site's verify judges it */
                   : fail(r,
                          "entry seq %llu names entry %llu, which the export does "
                          "not carry",
                          (unsigned long long)seq, (unsigned long long)eff->ref);
    if (!keys_equal(h, eff->ref_hash, LEDGER_HASH_BYTES))
        return fail(r, "entry seq %llu: ref-hash does not match entry %llu",
                    (unsigned long long)seq, (unsigned long long)eff->ref);
    return 0;
}

static int read_context(ledger_export_reader *r, ledger__rd *rd)
{
    uint8_t path[LEDGER_PROOF_MAX][LEDGER_HASH_BYTES], root[LEDGER_HASH_BYTES];
    char sub[LEDGER_ERRMSG_MAX];
    uint64_t n = r->info.context;
    int rc;
    if (n > r->header.len / 8 || (r->ctx = calloc(n ? n : 1, sizeof(cx))) == NULL)
        return n > r->header.len / 8 ? fail(r, "the header's context is malformed") : LEDGER_ENOMEM;
    if (r->info.from > 0 && n == 0)
        return fail(r, "the header's context lacks the genesis entry");
    for (uint64_t i = 0; i < n; i++) {
        ledger__cbitem a, s, b, p;
        ledger_entry e;
        ledger__effect eff;
        size_t npath;
        if (ledger__rd_next(rd, &a) != 0 || a.kind != LEDGER__CB_ARRAY || a.u != 3 ||
            ledger__rd_next(rd, &s) != 0 || s.kind != LEDGER__CB_UINT ||
            ledger__rd_next(rd, &b) != 0 || b.kind != LEDGER__CB_BYTES ||
            ledger__rd_next(rd, &p) != 0 || p.kind != LEDGER__CB_ARRAY || p.u > LEDGER_PROOF_MAX)
            return fail(r, "context entry %llu of the header is not [seq, entry, path]",
                        (unsigned long long)i);
        if (s.u >= r->info.from || (i > 0 && s.u <= r->ctx[i - 1].seq) || (i == 0 && s.u != 0))
            return fail(r,
                        "context entry %llu of the header has seq %llu: out of order, not "
                        "before the range, or not starting at the genesis entry",
                        (unsigned long long)i, (unsigned long long)s.u);
        npath = (size_t)p.u;
        for (size_t j = 0; j < npath; j++)
            if (!next_hash(rd, path[j]))
                return fail(r, "context entry seq %llu: a path hash is not 32 bytes",
                            (unsigned long long)s.u);
        r->ctx[i].seq = s.u;
        r->ctx[i].p = b.p;
        r->ctx[i].n = b.n;
        if (ledger_entry_decode(&e, b.p, b.n, sub, sizeof(sub)) != 0)
            return fail(r, "context entry seq %llu: %s", (unsigned long long)s.u, sub);
        memcpy(r->ctx[i].hash, e.hash, LEDGER_HASH_BYTES);
        if ((rc = ledger__chain_step(&r->keys, &e, s.u, NULL, r->prev_rt, true, &eff, sub,
                                     sizeof(sub))) != 0)
            return rc == LEDGER_ENOMEM
                       ? rc
                       : fail(r, "context entry seq %llu: %s", (unsigned long long)s.u, sub);
        if (s.u == 0 && (rc = check_site(r)) != 0)
            return rc;
        if (eff.kind == LEDGER__EFF_REF && (rc = check_ref(r, &eff, s.u)) != 0)
            return rc;
        r->prev_rt = e.recorded_ms;
        if (ledger_merkle_inclusion_root(e.hash, s.u, r->info.size,
                                         (const uint8_t(*)[LEDGER_HASH_BYTES])path, npath,
                                         root) != 0 ||
            (i > 0 && !keys_equal(root, r->ctx_root, LEDGER_HASH_BYTES)))
            return fail(r,
                        "context entry seq %llu is not in the tree the export describes: its "
                        "inclusion path does not lead to the same root",
                        (unsigned long long)s.u);
        memcpy(r->ctx_root, root, LEDGER_HASH_BYTES);
    }
    return 0;
}

static int read_identities(ledger_export_reader *r)
{
    const uint8_t *h = r->header.p;
    size_t hn = r->header.len;
    ledger__rd rd;
    uint64_t n;
    uint8_t last[LEDGER_COMMIT_BYTES], c[LEDGER_COMMIT_BYTES];
    char id[LEDGER_PATIENT_ID_MAX + 1];
    if (!get_array(h, hn, "identities", &rd, &n))
        return fail(r, "the header's identities are not an array");
    for (uint64_t i = 0; i < n; i++) {
        ledger__cbitem a, cm, salt, kind, t;
        if (ledger__rd_next(&rd, &a) != 0 || a.kind != LEDGER__CB_ARRAY || a.u != 4 ||
            ledger__rd_next(&rd, &cm) != 0 || cm.kind != LEDGER__CB_BYTES ||
            cm.n != LEDGER_COMMIT_BYTES || ledger__rd_next(&rd, &salt) != 0 ||
            salt.kind != LEDGER__CB_BYTES || salt.n != LEDGER_SALT_BYTES ||
            ledger__rd_next(&rd, &kind) != 0 || kind.kind != LEDGER__CB_TEXT ||
            !((kind.n == 3 && memcmp(kind.p, "mrn", 3) == 0) ||
              (kind.n == 4 && memcmp(kind.p, "rems", 4) == 0)) ||
            ledger__rd_next(&rd, &t) != 0 || t.kind != LEDGER__CB_TEXT || t.n == 0 ||
            t.n > LEDGER_PATIENT_ID_MAX)
            return fail(r, "identity %llu of the header is not [commitment, salt, kind, id]",
                        (unsigned long long)i);
        memcpy(id, t.p, t.n);
        id[t.n] = '\0';
        ledger_id_commit(c, salt.p, id);
        if (!keys_equal(c, cm.p, LEDGER_COMMIT_BYTES))
            return fail(r, "identity %llu of the header does not match its commitment",
                        (unsigned long long)i);
        if (i > 0 && memcmp(last, cm.p, LEDGER_COMMIT_BYTES) >= 0)
            return fail(r, "the header's identities are not sorted by commitment or repeat one");
        memcpy(last, cm.p, LEDGER_COMMIT_BYTES);
    }
    keys_wipe(id, sizeof(id));
    r->info.identities = n;
    return 0;
}

static int parse_header(ledger_export_reader *r)
{
    const uint8_t *h = r->header.p;
    size_t hn = r->header.len;
    char sub[LEDGER_ERRMSG_MAX] = "";
    ledger__rd rd;
    ledger__cbitem it;
    uint64_t version, n, pairs;
    int rc;
    ledger__rd_init(&rd, h, hn, sub, sizeof(sub));
    if (ledger__rd_value(&rd, 0, NULL) != 0 || rd.off != hn)
        return fail(r, "the header (item 1) is not deterministic CBOR: %s", sub);
    ledger__rd_init(&rd, h, hn, NULL, 0);
    if (ledger__rd_next(&rd, &it) != 0 || it.kind != LEDGER__CB_MAP ||
        ledger__map_find(h, hn, "format", &it, NULL, NULL) != 0 || it.kind != LEDGER__CB_TEXT ||
        it.n != strlen(LEDGER_EXPORT_FORMAT) || memcmp(it.p, LEDGER_EXPORT_FORMAT, it.n) != 0)
        return fail(r, "the first item is not an rxledger export header");
    ledger__rd_init(&rd, h, hn, NULL, 0);
    (void)ledger__rd_next(&rd, &it);
    pairs = it.u;
    if (!get_uint(h, hn, "version", &version) || version != LEDGER_EXPORT_VERSION)
        return fail(r, "export format version is not %d (this program reads version %d only)",
                    LEDGER_EXPORT_VERSION, LEDGER_EXPORT_VERSION);
    bool has_ids = ledger__map_find(h, hn, "identities", &it, NULL, NULL) == 0;
    if (!get_uint(h, hn, "from", &r->info.from) || !get_uint(h, hn, "size", &r->info.size) ||
        !get_uint(h, hn, "count", &r->info.count) || pairs != 8u + has_ids)
        return fail(r, "the header does not hold exactly from, left, size, count, right, format, "
                       "context, version (and identities)");
    if (r->info.count == 0 || r->info.from > r->info.size ||
        r->info.count > r->info.size - r->info.from)
        return fail(r, "the header's range (from %llu, count %llu) does not fit a ledger of %llu",
                    (unsigned long long)r->info.from, (unsigned long long)r->info.count,
                    (unsigned long long)r->info.size);
    /* left: the compact range's start */
    if (!get_array(h, hn, "left", &rd, &n) || n != (uint64_t)__builtin_popcountll(r->info.from))
        return fail(r, "the header's left side does not have one hash per set bit of from");
    for (int k = 63; k >= 0; k--) {
        uint8_t node[LEDGER_HASH_BYTES];
        if ((r->info.from & ((uint64_t)1 << k)) == 0)
            continue;
        if (!next_hash(&rd, node))
            return fail(r, "the header's left side holds a value that is not a 32-byte hash");
        crange_push(&r->cr, (uint64_t)1 << k, node);
    }
    /* right: checked when the trailer comes */
    uint64_t want = 0;
    for (uint64_t m = r->info.from + r->info.count; m < r->info.size;
         m += right_width(m, r->info.size))
        want++;
    if (!get_array(h, hn, "right", &rd, &n) || n != want)
        return fail(r, "the header's right side does not have the %llu hashes a tree of %llu needs",
                    (unsigned long long)want, (unsigned long long)r->info.size);
    r->right = rd.p + rd.off;
    r->rightlen = rd.len - rd.off;
    if (!get_array(h, hn, "context", &rd, &r->info.context))
        return fail(r, "the header's context is not an array");
    if ((rc = read_context(r, &rd)) != 0)
        return rc;
    return has_ids ? read_identities(r) : 0;
}

int ledger_export_open(ledger_export_reader **out, FILE *in, const uint8_t fpr[KEYS_FPR_BYTES])
{
    ledger_export_reader *r = calloc(1, sizeof(*r));
    int rc;
    *out = r;
    if (r == NULL)
        return LEDGER_ENOMEM;
    r->in = in;
    memcpy(r->fpr, fpr, KEYS_FPR_BYTES);
    ledger__buf_init(&r->header, LEDGER_EXPORT_HEADER_MAX);
    ledger__buf_init(&r->item, ITEM_MAX);
    rc = read_item(r, &r->header, "header");
    if (rc == 1)
        return fail(r, "the file is empty");
    if (rc == LEDGER_EIO) {
        snprintf(r->why, sizeof(r->why), "cannot read the file");
        return rc;
    }
    if (rc != 0)
        return rc;
    if (EVP_Digest(r->header.p, r->header.len, r->header_hash, NULL, EVP_sha256(), NULL) != 1)
        return LEDGER_ENOMEM;
    if ((rc = parse_header(r)) != 0)
        return rc;
    if ((rc = ledger__sigpool_new(&r->pool)) != 0)
        return rc;
    if ((r->hashes = tmpfile()) == NULL) {
        snprintf(r->why, sizeof(r->why), "cannot create a temporary file");
        return LEDGER_EIO;
    }
    return 0;
}

static int read_trailer(ledger_export_reader *r)
{
    uint64_t bad;
    if (ledger__sigpool_flush(r->pool, &bad))
        return fail(r, "a signature does not verify"); /* fail() names the entry */
    ledger_checkpoint cp;
    uint8_t root[LEDGER_HASH_BYTES], node[LEDGER_HASH_BYTES];
    char sub[LEDGER_ERRMSG_MAX] = "";
    ledger__rd rd;
    int rc = read_item(r, &r->item, "trailer");
    if (rc == 1)
        return fail(r,
                    "the file ends after its %llu entries, without the trailer checkpoint "
                    "(truncated)",
                    (unsigned long long)r->info.count);
    if (rc != 0)
        return rc;
    if (ledger_checkpoint_decode(&cp, r->item.p, r->item.len, r->keys.v[0].info.pub, sub,
                                 sizeof(sub)) != 0)
        return fail(r,
                    "the item after the last entry (item %llu) is not a checkpoint signed by "
                    "the site key: %s",
                    (unsigned long long)r->item_no, sub);
    if (!cp.has_export || !keys_equal(cp.export_hash, r->header_hash, LEDGER_HASH_BYTES))
        return fail(r,
                    "the header is not the one the site signed: the trailer's export claim "
                    "is %s",
                    cp.has_export ? "another header's hash" : "missing");
    if (cp.size != r->info.size)
        return fail(r, "the trailer signs a ledger of %llu entries but the header says %llu",
                    (unsigned long long)cp.size, (unsigned long long)r->info.size);
    ledger__rd_init(&rd, r->right, r->rightlen, NULL, 0);
    for (uint64_t m = r->info.from + r->info.count; m < r->info.size;) {
        uint64_t k = right_width(m, r->info.size);
        if (!next_hash(&rd, node))
            return fail(r, "the header's right side holds a value that is not a 32-byte hash");
        crange_push(&r->cr, k, node);
        m += k;
    }
    crange_root(&r->cr, root);
    if (!keys_equal(root, cp.root, LEDGER_HASH_BYTES))
        return fail(r, "the entries and the header's Merkle hashes do not lead to the root the "
                       "site signed: an entry is missing, added, altered or out of place");
    if (r->info.context != 0 && !keys_equal(r->ctx_root, cp.root, LEDGER_HASH_BYTES))
        return fail(r, "the header's context entries are not in the tree the site signed");
    if (r->info.from + r->info.count == r->info.size &&
        !keys_equal(r->prev, cp.head, LEDGER_HASH_BYTES))
        return fail(r, "the trailer's head is not the last entry's hash");
    int c = fgetc(r->in);
    if (c != EOF)
        return fail(r, "data follows the trailer checkpoint (from item %llu)",
                    (unsigned long long)r->item_no + 1);
    if (ferror(r->in))
        return LEDGER_EIO;
    r->info.trailer = cp;
    r->state = 1;
    return 1;
}

int ledger_export_next(ledger_export_reader *r, ledger_entry *out)
{
    char sub[LEDGER_ERRMSG_MAX] = "";
    ledger__effect eff;
    int rc;
    if (r->state != 0)
        return r->state == 1 ? 1 : LEDGER_EVERIFY;
    if (r->done == r->info.count)
        return read_trailer(r);
    const uint64_t seq = r->info.from + r->done;
    if ((rc = read_item(r, &r->item, "entry")) == 1)
        return fail(r, "the file ends after %llu of its %llu entries (truncated)",
                    (unsigned long long)r->done, (unsigned long long)r->info.count);
    if (rc != 0)
        return rc;
    if (ledger_entry_decode(out, r->item.p, r->item.len, sub, sizeof(sub)) != 0)
        return fail(r, "entry seq %llu (item %llu): %s", (unsigned long long)seq,
                    (unsigned long long)r->item_no, sub);
    rc = ledger__chain_step(&r->keys, out, seq, r->done > 0 || seq == 0 ? r->prev : NULL,
                            r->prev_rt, false, &eff, sub, sizeof(sub));
    if (rc == 0 && !r->trust_sigs) { /* to the pool; a bad one is reported by a later call */
        const ledger__vkey *signer =
            seq == 0 ? &r->keys.v[0] : ledger__ktab_find(&r->keys, out->kid);
        const uint8_t *prot = NULL, *payload = NULL;
        size_t protlen = 0, plen = 0;
        if ((rc = ledger__entry_spans(out, &prot, &protlen, &payload, &plen)) == 0)
            rc = ledger__sigpool_add(r->pool, signer->pub, out->sig, prot, protlen, payload, plen,
                                     seq);
    }
    if (rc == LEDGER_ENOMEM)
        return rc;
    if (rc != 0) {
        r->cause = rc;
        return fail(r, "entry seq %llu (item %llu): %s", (unsigned long long)seq,
                    (unsigned long long)r->item_no, sub);
    }
    if (seq == 0 && (rc = check_site(r)) != 0)
        return rc;
    if (eff.kind == LEDGER__EFF_REF && (rc = check_ref(r, &eff, seq)) != 0)
        return rc;
    if (fwrite(out->hash, 1, LEDGER_HASH_BYTES, r->hashes) != LEDGER_HASH_BYTES) {
        snprintf(r->why, sizeof(r->why), "cannot write a temporary file");
        return LEDGER_EIO;
    }
    crange_push(&r->cr, 1, out->hash);
    memcpy(r->prev, out->hash, LEDGER_HASH_BYTES);
    r->prev_rt = out->recorded_ms;
    r->done++;
    return 0;
}

void ledger_export_trust_signatures(ledger_export_reader *r)
{
    r->trust_sigs = true;
}

int ledger_export_cause(const ledger_export_reader *r)
{
    return r->cause;
}

uint64_t ledger_export_position(const ledger_export_reader *r)
{
    return r->failed_sig ? r->failed_seq : r->info.from + r->done;
}

const char *ledger_export_why(const ledger_export_reader *r)
{
    return r != NULL ? r->why : "out of memory";
}

void ledger_export_get_info(const ledger_export_reader *r, ledger_export_info *out)
{
    *out = r->info;
}

int ledger_export_context(const ledger_export_reader *r, uint64_t i, ledger_entry *out)
{
    if (i >= r->info.context)
        return LEDGER_ENOTFOUND;
    return ledger_entry_decode(out, r->ctx[i].p, r->ctx[i].n, NULL, 0);
}

void ledger_export_close(ledger_export_reader *r)
{
    if (r == NULL)
        return;
    if (r->hashes != NULL)
        fclose(r->hashes);
    ledger__sigpool_free(r->pool);
    ledger__ktab_release(&r->keys);
    free(r->ctx);
    if (r->header.p != NULL)
        keys_wipe(r->header.p, r->header.len); /* may hold identities */
    ledger__buf_release(&r->header);
    ledger__buf_release(&r->item);
    free(r);
}

int ledger_seq_at_time(ledger *l, int64_t t_ms, uint64_t *seq)
{
    uint8_t head[LEDGER_HASH_BYTES], *buf = malloc(LEDGER_MAX_ENTRY_BYTES);
    uint64_t lo = 0, hi = 0;
    ledger_entry e;
    int rc = buf == NULL ? LEDGER_ENOMEM : ledger_head(l, &hi, head);
    /* recorded times never decrease along the chain: binary search */
    while (rc == 0 && lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if ((rc = ledger_read_entry(l, mid, buf, LEDGER_MAX_ENTRY_BYTES, &e)) != 0)
            break;
        if (e.recorded_ms < t_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    free(buf);
    *seq = lo;
    return rc;
}
