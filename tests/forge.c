/* Forging under the library for the adversarial tests (see forge.h). */
#include "forge.h"

#include <stdlib.h>
#include <string.h>

#include "ledger/export.h"
#include "ledger/merkle.h"
#include "store_int.h"

#define PAIRS_MAX   32
#define CANON_DEPTH 24

static int failf(char *why, size_t whylen, int rc, const char *what)
{
    ledger__errf(why, whylen, "%s", what);
    return rc;
}

/* ---- heads of any width ---- */

static unsigned shortest(uint64_t v)
{
    return v < 24 ? 1u : v <= 0xff ? 2u : v <= 0xffff ? 3u : v <= 0xffffffffu ? 5u : 9u;
}

static unsigned longer(unsigned width)
{
    return width == 1 ? 2u : width == 2 ? 3u : width == 3 ? 5u : width == 5 ? 9u : 0u;
}

/* A head of @p major and argument @p arg written in @p width bytes (1, 2, 3, 5, 9). */
static void head_w(ledger__buf *b, unsigned major, uint64_t arg, unsigned width)
{
    uint8_t h[9];
    size_t extra = width - 1;
    h[0] = (uint8_t)(major << 5);
    if (width == 1)
        h[0] = (uint8_t)(h[0] | arg);
    else
        h[0] = (uint8_t)(h[0] | (width == 2 ? 24u : width == 3 ? 25u : width == 5 ? 26u : 27u));
    for (size_t i = 0; i < extra; i++)
        h[1 + i] = (uint8_t)(arg >> (8 * (extra - 1 - i)));
    ledger__buf_put(b, h, width);
}

static void head(ledger__buf *b, unsigned major, uint64_t arg)
{
    head_w(b, major, arg, shortest(arg));
}

static void put_byte(ledger__buf *b, uint8_t c)
{
    ledger__buf_put(b, &c, 1);
}

/* ---- the parts of a canonical map ---- */

typedef struct pairs {
    size_t n;
    size_t ks[PAIRS_MAX], kn[PAIRS_MAX], vs[PAIRS_MAX], vn[PAIRS_MAX]; /* offsets into the map */
} pairs;

static int pairs_parse(pairs *m, const uint8_t *p, size_t n)
{
    ledger__rd r;
    ledger__cbitem it;
    ledger__rd_init(&r, p, n, NULL, 0);
    if (ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_MAP || it.u > PAIRS_MAX)
        return LEDGER_EINVAL;
    m->n = (size_t)it.u;
    for (size_t i = 0; i < m->n; i++) {
        size_t s;
        if (ledger__rd_value(&r, 1, &s) != 0)
            return LEDGER_EINVAL;
        m->ks[i] = s;
        m->kn[i] = r.off - s;
        if (ledger__rd_value(&r, 1, &s) != 0)
            return LEDGER_EINVAL;
        m->vs[i] = s;
        m->vn[i] = r.off - s;
    }
    return r.off == n ? 0 : LEDGER_EINVAL;
}

/* The pair whose key is @p field: "#N" an integer label, else a text key. */
static int pair_find(const pairs *m, const uint8_t *p, const char *field)
{
    ledger__buf k;
    int at = -1;
    ledger__buf_init(&k, 64);
    if (field[0] == '#')
        head(&k, 0, strtoull(field + 1, NULL, 10));
    else
        ledger__cbor_text(&k, field, strlen(field));
    for (size_t i = 0; k.err == 0 && i < m->n; i++)
        if (m->kn[i] == k.len && memcmp(p + m->ks[i], k.p, k.len) == 0)
            at = (int)i;
    ledger__buf_release(&k);
    return at;
}

/* ---- re-encodings ---- */

enum vt {
    V_NONE,
    V_LONG, /* the head one size longer (integer, string, array or map) */
    V_W3,   /* the head in 3, 5, 9 bytes */
    V_W5,
    V_W9,
    V_INDEF, /* string in two chunks, or container, of indefinite length */
    V_F16,   /* an unsigned integer as a float of 2, 4, 8 bytes */
    V_F32,
    V_F64,
    V_BIGNUM,       /* an unsigned integer as a tag-2 bignum */
    V_TAG1,         /* wrapped in tag 1 (epoch time) */
    V_TAG_SD,       /* wrapped in tag 55799 (self-described CBOR) */
    V_TAG24,        /* wrapped in tag 24 (encoded CBOR data item) */
    V_ELEM_LONG,    /* an array's first element, its head one size longer */
    V_MAP_SWAP,     /* a map's first two pairs swapped */
    V_MAP_DUP,      /* a map's first pair twice */
    V_MAPVAL_INDEF, /* a map's first value, a string, in chunks */
};

enum op {
    O_NONE,
    /* the envelope */
    E_TAG_LONG,
    E_TAG_WRAP,
    E_ARRAY_LONG,
    E_ARRAY_INDEF,
    E_TRAILING,
    E_PROT,   /* the protected header's byte string, by vt */
    E_UNPROT, /* the unprotected map, by vt */
    E_PAYLOAD,
    E_SIG,
    /* a map (protected header, payload, body) */
    M_HEAD_LONG,
    M_INDEF,
    M_SWAP,    /* the field's pair and the next one swapped */
    M_LEXSORT, /* keys sorted by their text, not by their encoding */
    M_DUP,     /* the field's pair twice */
    M_KEY_LONG,
    M_KEY_INDEF,
    M_VALUE, /* the field's value, by vt */
    M_TRAILING,
    M_TAG_WRAP,
};

static int map_emit(ledger__buf *out, const uint8_t *p, const pairs *m, int op, int at, int vt,
                    const uint8_t *repl, size_t repln);

/* Half-precision bits of a small unsigned integer (exact up to 2048). */
static int half_of(uint64_t v, uint16_t *out)
{
    unsigned e = 0;
    if (v == 0) {
        *out = 0;
        return 0;
    }
    if (v > 2048)
        return 1;
    while ((v >> (e + 1)) != 0)
        e++;
    uint64_t mant = e <= 10 ? (v << (10 - e)) - 1024 : (v >> (e - 10)) - 1024;
    *out = (uint16_t)(((e + 15) << 10) | mant);
    return 0;
}

static void put_be(ledger__buf *b, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_byte(b, (uint8_t)(v >> (8 * (n - 1 - i))));
}

/* Write value @p v (canonical) re-encoded by @p vt. 0, 1 (not applicable), <0. */
static int xform(ledger__buf *out, const uint8_t *v, size_t vn, int vt)
{
    ledger__rd r;
    ledger__cbitem it;
    ledger__rd_init(&r, v, vn, NULL, 0);
    if (ledger__rd_next(&r, &it) != 0)
        return LEDGER_EINVAL;
    const unsigned major = v[0] >> 5;
    const bool str = it.kind == LEDGER__CB_BYTES || it.kind == LEDGER__CB_TEXT;
    const bool cont = it.kind == LEDGER__CB_ARRAY || it.kind == LEDGER__CB_MAP;
    const bool num = it.kind == LEDGER__CB_UINT || it.kind == LEDGER__CB_NINT;
    const size_t hl = str ? r.off - it.n : r.off; /* head length */
    switch (vt) {
    case V_LONG:
    case V_W3:
    case V_W5:
    case V_W9: {
        unsigned w = vt == V_LONG ? longer((unsigned)hl) : vt == V_W3 ? 3u : vt == V_W5 ? 5u : 9u;
        if (!(str || cont || num) || w == 0 || w <= hl)
            return 1;
        head_w(out, major, it.u, w);
        ledger__buf_put(out, v + hl, vn - hl);
        return 0;
    }
    case V_INDEF:
        if (str) {
            size_t a = it.n / 2;
            if (it.kind == LEDGER__CB_TEXT)
                while (a > 0 && (it.p[a] & 0xc0) == 0x80)
                    a--;
            put_byte(out, (uint8_t)((major << 5) | 31));
            if (it.n > 0) {
                head(out, major, a);
                ledger__buf_put(out, it.p, a);
                head(out, major, it.n - a);
                ledger__buf_put(out, it.p + a, it.n - a);
            }
            put_byte(out, 0xff);
            return 0;
        }
        if (!cont)
            return 1;
        put_byte(out, (uint8_t)((major << 5) | 31));
        ledger__buf_put(out, v + hl, vn - hl);
        put_byte(out, 0xff);
        return 0;
    case V_F16:
    case V_F32:
    case V_F64: {
        if (it.kind != LEDGER__CB_UINT)
            return 1;
        if (vt == V_F16) {
            uint16_t h;
            if (half_of(it.u, &h) != 0)
                return 1;
            put_byte(out, 0xf9);
            put_be(out, h, 2);
        } else if (vt == V_F32) {
            float f = (float)it.u;
            uint32_t bits;
            if ((uint64_t)f != it.u)
                return 1;
            memcpy(&bits, &f, sizeof(bits));
            put_byte(out, 0xfa);
            put_be(out, bits, 4);
        } else {
            double d = (double)it.u;
            uint64_t bits;
            if ((uint64_t)d != it.u)
                return 1;
            memcpy(&bits, &d, sizeof(bits));
            put_byte(out, 0xfb);
            put_be(out, bits, 8);
        }
        return 0;
    }
    case V_BIGNUM: {
        size_t n = 1;
        if (it.kind != LEDGER__CB_UINT)
            return 1;
        while (n < 8 && (it.u >> (8 * n)) != 0)
            n++;
        put_byte(out, 0xc2);
        head(out, 2, n);
        put_be(out, it.u, n);
        return 0;
    }
    case V_TAG1:
    case V_TAG_SD:
    case V_TAG24:
        if ((vt == V_TAG1 && it.kind != LEDGER__CB_UINT) ||
            (vt == V_TAG24 && it.kind != LEDGER__CB_BYTES))
            return 1;
        head(out, 6, vt == V_TAG1 ? 1u : vt == V_TAG24 ? 24u : 55799u);
        ledger__buf_put(out, v, vn);
        return 0;
    case V_ELEM_LONG: {
        size_t s;
        if (it.kind != LEDGER__CB_ARRAY || it.u == 0)
            return 1;
        if (ledger__rd_value(&r, 1, &s) != 0)
            return LEDGER_EINVAL;
        ledger__buf_put(out, v, hl);
        int rc = xform(out, v + s, r.off - s, V_LONG);
        if (rc != 0)
            return rc;
        ledger__buf_put(out, v + r.off, vn - r.off);
        return 0;
    }
    case V_MAP_SWAP:
    case V_MAP_DUP:
    case V_MAPVAL_INDEF: {
        pairs m;
        if (it.kind != LEDGER__CB_MAP || pairs_parse(&m, v, vn) != 0 || m.n == 0)
            return 1;
        return map_emit(out, v, &m,
                        vt == V_MAP_SWAP  ? M_SWAP
                        : vt == V_MAP_DUP ? M_DUP
                                          : M_VALUE,
                        0, V_INDEF, NULL, 0);
    }
    default:
        return 1;
    }
}

/* The text of an encoded text key, for M_LEXSORT. */
static int key_text_cmp(const uint8_t *p, const pairs *m, size_t a, size_t b)
{
    ledger__rd ra, rb;
    ledger__cbitem ia, ib;
    ledger__rd_init(&ra, p + m->ks[a], m->kn[a], NULL, 0);
    ledger__rd_init(&rb, p + m->ks[b], m->kn[b], NULL, 0);
    if (ledger__rd_next(&ra, &ia) != 0 || ledger__rd_next(&rb, &ib) != 0)
        return 0;
    size_t n = ia.n < ib.n ? ia.n : ib.n;
    int c = memcmp(ia.p, ib.p, n);
    return c != 0 ? c : (ia.n > ib.n) - (ia.n < ib.n);
}

/* Write the map of @p m (inside @p p) with @p op applied to pair @p at; @p repl,
 * when given, replaces that pair's value. 0, 1 (not applicable), <0. */
static int map_emit(ledger__buf *out, const uint8_t *p, const pairs *m, int op, int at, int vt,
                    const uint8_t *repl, size_t repln)
{
    size_t idx[PAIRS_MAX];
    size_t count = m->n + (op == M_DUP ? 1 : 0);
    int rc;
    for (size_t i = 0; i < m->n; i++)
        idx[i] = i;
    if ((op == M_SWAP || op == M_DUP || op == M_KEY_LONG || op == M_KEY_INDEF || op == M_VALUE) &&
        (at < 0 || (size_t)at >= m->n))
        return 1;
    if (op == M_SWAP) {
        if ((size_t)at + 1 >= m->n)
            return 1;
        idx[at] = (size_t)at + 1;
        idx[at + 1] = (size_t)at;
    }
    if (op == M_LEXSORT) {
        bool moved = false;
        for (size_t i = 1; i < m->n; i++)
            for (size_t j = i; j > 0 && key_text_cmp(p, m, idx[j - 1], idx[j]) > 0; j--) {
                size_t t = idx[j];
                idx[j] = idx[j - 1];
                idx[j - 1] = t;
                moved = true;
            }
        if (!moved)
            return 1;
    }
    if (op == M_TAG_WRAP)
        head(out, 6, 55799);
    if (op == M_HEAD_LONG)
        head_w(out, 5, count, longer(shortest(count)));
    else if (op == M_INDEF)
        put_byte(out, 0xbf);
    else
        head(out, 5, count);
    for (size_t j = 0; j < m->n; j++) {
        size_t i = idx[j];
        for (int twice = 0; twice < (op == M_DUP && (int)i == at ? 2 : 1); twice++) {
            const uint8_t *k = p + m->ks[i], *v = p + m->vs[i];
            if ((int)i == at && (op == M_KEY_LONG || op == M_KEY_INDEF)) {
                if ((rc = xform(out, k, m->kn[i], op == M_KEY_LONG ? V_LONG : V_INDEF)) != 0)
                    return rc;
            } else {
                ledger__buf_put(out, k, m->kn[i]);
            }
            if ((int)i == at && op == M_VALUE) {
                if ((rc = xform(out, v, m->vn[i], vt)) != 0)
                    return rc;
            } else if ((int)i == at && repl != NULL) {
                ledger__buf_put(out, repl, repln);
            } else {
                ledger__buf_put(out, v, m->vn[i]);
            }
        }
    }
    if (op == M_INDEF)
        put_byte(out, 0xff);
    if (op == M_TRAILING)
        put_byte(out, 0x00);
    return out->err;
}

/* The envelope around @p prot and @p payload, with @p op (E_*) applied. */
static int env_emit(ledger__buf *out, const uint8_t *prot, size_t protlen, const uint8_t *payload,
                    size_t plen, const uint8_t sig[KEYS_SIG_BYTES], int op, int vt)
{
    int rc;
    if (op == E_TAG_WRAP)
        head(out, 6, 55799);
    if (op == E_TAG_LONG)
        head_w(out, 6, LEDGER__COSE_TAG, 2);
    else
        head(out, 6, LEDGER__COSE_TAG);
    if (op == E_ARRAY_LONG)
        head_w(out, 4, 4, 2);
    else if (op == E_ARRAY_INDEF)
        put_byte(out, 0x9f);
    else
        head(out, 4, 4);
    for (int i = 0; i < 4; i++) {
        ledger__buf el;
        ledger__buf_init(&el, LEDGER_MAX_ENTRY_BYTES + 16);
        if (i == 0)
            ledger__cbor_bytes(&el, prot, protlen);
        else if (i == 1)
            ledger__cbor_map(&el, 0);
        else if (i == 2)
            ledger__cbor_bytes(&el, payload, plen);
        else
            ledger__cbor_bytes(&el, sig, KEYS_SIG_BYTES);
        rc = el.err;
        if (rc == 0 && op == E_PROT + i)
            rc = xform(out, el.p, el.len, vt);
        else if (rc == 0)
            ledger__buf_put(out, el.p, el.len);
        ledger__buf_release(&el);
        if (rc != 0)
            return rc;
    }
    if (op == E_ARRAY_INDEF)
        put_byte(out, 0xff);
    if (op == E_TRAILING)
        put_byte(out, 0x00);
    return out->err;
}

/* ---- the kinds ---- */

#define NS  "non-shortest"
#define IND "indefinite"
#define ORD "canonical order"
#define DUP "duplicated"
#define FLT "floating-point"

static const rxf_kind kinds[] = {
    /* the envelope: the signature covers none of it, so it stays valid as it is */
    {"env-tag-long", RXF_ENVELOPE, "tag 18 in two bytes (d8 12)", NS, NULL, E_TAG_LONG, 0, false},
    {"env-tag-wrap", RXF_ENVELOPE, "the entry inside tag 55799 (self-described CBOR)", "tag 18",
     NULL, E_TAG_WRAP, 0, false},
    {"env-array-long", RXF_ENVELOPE, "the array head in two bytes (98 04)", NS, NULL, E_ARRAY_LONG,
     0, false},
    {"env-array-indef", RXF_ENVELOPE, "the array of indefinite length", IND, NULL, E_ARRAY_INDEF, 0,
     false},
    {"env-prot-long", RXF_ENVELOPE, "the protected header's length one size longer", NS, NULL,
     E_PROT, V_LONG, false},
    {"env-prot-indef", RXF_ENVELOPE, "the protected header in two chunks", IND, NULL, E_PROT,
     V_INDEF, false},
    {"env-prot-tag24", RXF_ENVELOPE, "the protected header inside tag 24",
     "protected header is not a byte string", NULL, E_PROT, V_TAG24, false},
    {"env-unprot-long", RXF_ENVELOPE, "the empty unprotected map as b8 00", NS, NULL, E_UNPROT,
     V_LONG, false},
    {"env-unprot-indef", RXF_ENVELOPE, "the empty unprotected map as bf ff", IND, NULL, E_UNPROT,
     V_INDEF, false},
    {"env-payload-long", RXF_ENVELOPE, "the payload's length one size longer", NS, NULL, E_PAYLOAD,
     V_LONG, false},
    {"env-payload-indef", RXF_ENVELOPE, "the payload in two chunks", IND, NULL, E_PAYLOAD, V_INDEF,
     false},
    {"env-payload-tag24", RXF_ENVELOPE, "the payload inside tag 24", "payload is not a byte string",
     NULL, E_PAYLOAD, V_TAG24, false},
    {"env-sig-long", RXF_ENVELOPE, "the signature's length in three bytes", NS, NULL, E_SIG, V_LONG,
     false},
    {"env-sig-indef", RXF_ENVELOPE, "the signature in two chunks", IND, NULL, E_SIG, V_INDEF,
     false},
    {"env-trailing", RXF_ENVELOPE, "a byte after the COSE_Sign1", "trailing bytes", NULL,
     E_TRAILING, 0, true},
    /* the protected header: re-signed */
    {"hdr-map-long", RXF_PROTECTED, "the map head in two bytes (b8 02)", NS, NULL, M_HEAD_LONG, 0,
     false},
    {"hdr-map-indef", RXF_PROTECTED, "the map of indefinite length", IND, NULL, M_INDEF, 0, false},
    {"hdr-unsorted", RXF_PROTECTED, "kid (4) before alg (1)", "expected alg", "#1", M_SWAP, 0,
     false},
    {"hdr-dup", RXF_PROTECTED, "alg twice (a map of 3)", "exactly alg and kid", "#1", M_DUP, 0,
     false},
    {"hdr-label-long", RXF_PROTECTED, "the label 1 in two bytes (18 01)", NS, "#1", M_KEY_LONG, 0,
     false},
    {"hdr-alg-long", RXF_PROTECTED, "alg -8 in two bytes (38 07)", NS, "#1", M_VALUE, V_LONG,
     false},
    {"hdr-kid-long", RXF_PROTECTED, "the kid's length in two bytes (58 10)", NS, "#4", M_VALUE,
     V_LONG, false},
    {"hdr-kid-indef", RXF_PROTECTED, "the kid in two chunks", IND, "#4", M_VALUE, V_INDEF, false},
    {"hdr-trailing", RXF_PROTECTED, "a byte after the map", "trailing bytes", NULL, M_TRAILING, 0,
     false},
    {"hdr-tag-wrap", RXF_PROTECTED, "the map inside tag 55799", "protected header is not a map",
     NULL, M_TAG_WRAP, 0, false},
    /* the payload map: re-signed */
    {"pay-map-long", RXF_PAYLOAD, "the map head in two bytes (b8 0a)", NS, NULL, M_HEAD_LONG, 0,
     false},
    {"pay-map-indef", RXF_PAYLOAD, "the map of indefinite length", IND, NULL, M_INDEF, 0, false},
    {"pay-unsorted", RXF_PAYLOAD, "\"rt\" before \"et\"", ORD, "et", M_SWAP, 0, false},
    {"pay-lexsort", RXF_PAYLOAD, "keys sorted by their text, not their encoding", ORD, NULL,
     M_LEXSORT, 0, false},
    {"pay-dup", RXF_PAYLOAD, "\"v\": 1 twice", DUP, "v", M_DUP, 0, false},
    {"pay-dup-last", RXF_PAYLOAD, "\"meaning\" twice, at the end", DUP, "meaning", M_DUP, 0, false},
    {"pay-key-long", RXF_PAYLOAD, "the key \"v\" with its length in two bytes (78 01)", NS, "v",
     M_KEY_LONG, 0, false},
    {"pay-key-indef", RXF_PAYLOAD, "the key \"meaning\" in two chunks", IND, "meaning", M_KEY_INDEF,
     0, false},
    {"pay-v-long", RXF_PAYLOAD, "\"v\": 1 in two bytes (18 01)", NS, "v", M_VALUE, V_LONG, false},
    {"pay-v-half", RXF_PAYLOAD, "\"v\": 1.0 as a half float", FLT, "v", M_VALUE, V_F16, false},
    {"pay-v-single", RXF_PAYLOAD, "\"v\": 1.0 as a single float (non-shortest float)", FLT, "v",
     M_VALUE, V_F32, false},
    {"pay-v-double", RXF_PAYLOAD, "\"v\": 1.0 as a double float (non-shortest float)", FLT, "v",
     M_VALUE, V_F64, false},
    {"pay-v-bignum", RXF_PAYLOAD, "\"v\": 1 as a tag-2 bignum", "version is not an integer", "v",
     M_VALUE, V_BIGNUM, false},
    {"pay-seq-long", RXF_PAYLOAD, "\"seq\" one size longer", NS, "seq", M_VALUE, V_LONG, false},
    {"pay-seq-w3", RXF_PAYLOAD, "\"seq\" in three bytes", NS, "seq", M_VALUE, V_W3, false},
    {"pay-seq-w5", RXF_PAYLOAD, "\"seq\" in five bytes", NS, "seq", M_VALUE, V_W5, false},
    {"pay-seq-w9", RXF_PAYLOAD, "\"seq\" in nine bytes", NS, "seq", M_VALUE, V_W9, false},
    {"pay-seq-bignum", RXF_PAYLOAD, "\"seq\" as a tag-2 bignum", "seq is not an integer", "seq",
     M_VALUE, V_BIGNUM, false},
    {"pay-seq-tag-sd", RXF_PAYLOAD, "\"seq\" inside tag 55799", "seq is not an integer", "seq",
     M_VALUE, V_TAG_SD, false},
    {"pay-et-long", RXF_PAYLOAD, "the event time one size longer", NS, "et", M_VALUE, V_LONG,
     false},
    {"pay-et-w9", RXF_PAYLOAD, "the event time in nine bytes", NS, "et", M_VALUE, V_W9, false},
    {"pay-et-tag1", RXF_PAYLOAD, "the event time inside tag 1 (epoch)", "time is not", "et",
     M_VALUE, V_TAG1, false},
    {"pay-kid-long", RXF_PAYLOAD, "the signer kid's length in two bytes", NS, "kid", M_VALUE,
     V_LONG, false},
    {"pay-prev-long", RXF_PAYLOAD, "prev's length in three bytes", NS, "prev", M_VALUE, V_LONG,
     false},
    {"pay-prev-indef", RXF_PAYLOAD, "prev in two chunks", IND, "prev", M_VALUE, V_INDEF, false},
    {"pay-name-long", RXF_PAYLOAD, "the printed name's length one size longer", NS, "name", M_VALUE,
     V_LONG, false},
    {"pay-type-indef", RXF_PAYLOAD, "the type in two chunks", IND, "type", M_VALUE, V_INDEF, false},
    {"pay-meaning-long", RXF_PAYLOAD, "the meaning's length one size longer", NS, "meaning",
     M_VALUE, V_LONG, false},
    {"pay-trailing", RXF_PAYLOAD, "a byte after the map", "trailing bytes", NULL, M_TRAILING, 0,
     false},
    {"pay-tag-wrap", RXF_PAYLOAD, "the map inside tag 55799", "payload is not a map", NULL,
     M_TAG_WRAP, 0, false},
    /* the body map and what nests in it: re-signed */
    {"body-map-long", RXF_BODY, "the body map head one size longer", NS, NULL, M_HEAD_LONG, 0,
     false},
    {"body-map-indef", RXF_BODY, "the body map of indefinite length", IND, NULL, M_INDEF, 0, false},
    {"body-unsorted", RXF_BODY, "the body's first two keys swapped", ORD, "", M_SWAP, 0, false},
    {"body-lexsort", RXF_BODY, "body keys sorted by their text", ORD, NULL, M_LEXSORT, 0, false},
    {"body-dup", RXF_BODY, "the body's first pair twice", DUP, "", M_DUP, 0, false},
    {"body-text-long", RXF_BODY, "the note's text length one size longer", NS, "text", M_VALUE,
     V_LONG, false},
    {"body-text-indef", RXF_BODY, "the note's text in two chunks", IND, "text", M_VALUE, V_INDEF,
     false},
    {"body-pub-long", RXF_BODY, "the enrolled key's length in three bytes", NS, "pub", M_VALUE,
     V_LONG, false},
    {"body-name-indef", RXF_BODY, "the enrolled name in two chunks", IND, "name", M_VALUE, V_INDEF,
     false},
    {"body-int-long", RXF_BODY, "valid_from one size longer", NS, "valid_from", M_VALUE, V_LONG,
     false},
    {"body-int-w5", RXF_BODY, "valid_from in five bytes", NS, "valid_from", M_VALUE, V_W5, false},
    {"body-int-w9", RXF_BODY, "valid_from in nine bytes", NS, "valid_from", M_VALUE, V_W9, false},
    {"body-int-half", RXF_BODY, "valid_from as a half float", FLT, "valid_from", M_VALUE, V_F16,
     false},
    {"body-int-single", RXF_BODY, "valid_from as a single float", FLT, "valid_from", M_VALUE, V_F32,
     false},
    {"body-int-double", RXF_BODY, "valid_from as a double float", FLT, "valid_from", M_VALUE, V_F64,
     false},
    {"body-int-bignum", RXF_BODY, "valid_from as a tag-2 bignum", "unexpected tag", "valid_from",
     M_VALUE, V_BIGNUM, false},
    {"body-int-tag1", RXF_BODY, "valid_from inside tag 1 (epoch)", "unexpected tag", "valid_from",
     M_VALUE, V_TAG1, false},
    {"body-array-long", RXF_BODY, "the blood pressure array head in two bytes", NS, "bp", M_VALUE,
     V_LONG, false},
    {"body-array-indef", RXF_BODY, "the blood pressure array of indefinite length", IND, "bp",
     M_VALUE, V_INDEF, false},
    {"body-array-elem-long", RXF_BODY, "the systolic value one size longer", NS, "bp", M_VALUE,
     V_ELEM_LONG, false},
    {"body-nested-long", RXF_BODY, "the amendment's \"set\" map head one size longer", NS, "set",
     M_VALUE, V_LONG, false},
    {"body-nested-indef", RXF_BODY, "the \"set\" map of indefinite length", IND, "set", M_VALUE,
     V_INDEF, false},
    {"body-nested-unsorted", RXF_BODY, "the \"set\" map's keys swapped", ORD, "set", M_VALUE,
     V_MAP_SWAP, false},
    {"body-nested-dup", RXF_BODY, "the \"set\" map's first pair twice", DUP, "set", M_VALUE,
     V_MAP_DUP, false},
    {"body-nested-str-indef", RXF_BODY, "a \"set\" value in two chunks (level 3)", IND, "set",
     M_VALUE, V_MAPVAL_INDEF, false},
};

const rxf_kind *rxf_kind_at(size_t i)
{
    return i < sizeof(kinds) / sizeof(kinds[0]) ? &kinds[i] : NULL;
}

const rxf_kind *rxf_kind_find(const char *name)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

/* A map at @p p re-encoded by the kind; @p field "" means the first pair. */
static int map_kind(ledger__buf *out, const uint8_t *p, size_t n, const rxf_kind *kd)
{
    pairs m;
    int at = 0;
    if (pairs_parse(&m, p, n) != 0)
        return LEDGER_EINVAL;
    if (kd->field != NULL && kd->field[0] != '\0' && (at = pair_find(&m, p, kd->field)) < 0)
        return 1;
    return map_emit(out, p, &m, kd->op, at, kd->vt, NULL, 0);
}

int rxf_reencode(ledger__buf *out, const uint8_t *e, size_t n, const rxf_kind *kd,
                 const keys_key *k)
{
    ledger_entry en;
    const uint8_t *prot, *payload;
    size_t protlen, plen;
    ledger__buf p2, y2, body, tbs;
    uint8_t sig[KEYS_SIG_BYTES];
    int rc;
    if ((rc = ledger_entry_decode(&en, e, n, NULL, 0)) != 0 ||
        (rc = ledger__entry_spans(&en, &prot, &protlen, &payload, &plen)) != 0)
        return rc;
    ledger__buf_init(&p2, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&y2, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&body, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&tbs, 2 * LEDGER_MAX_ENTRY_BYTES);
    if (kd->level == RXF_PROTECTED)
        rc = map_kind(&p2, prot, protlen, kd);
    else
        ledger__buf_put(&p2, prot, protlen);
    if (rc == 0 && kd->level == RXF_PAYLOAD) {
        rc = map_kind(&y2, payload, plen, kd);
    } else if (rc == 0 && kd->level == RXF_BODY) {
        pairs m;
        int at;
        if (pairs_parse(&m, payload, plen) != 0 || (at = pair_find(&m, payload, "body")) < 0)
            rc = LEDGER_EINVAL;
        if (rc == 0)
            rc = map_kind(&body, payload + m.vs[at], m.vn[at], kd);
        if (rc == 0)
            rc = map_emit(&y2, payload, &m, O_NONE, at, 0, body.p, body.len);
    } else if (rc == 0) {
        ledger__buf_put(&y2, payload, plen);
    }
    if (rc == 0)
        rc = p2.err != 0 ? p2.err : y2.err;
    if (rc != 0)
        goto done;
    /* the signature over exactly the bytes the entry carries */
    ledger__sig_structure(&tbs, p2.p, p2.len, y2.p, y2.len);
    if ((rc = tbs.err) != 0 || (rc = keys_sign(k, sig, tbs.p, tbs.len)) != 0)
        goto done;
    rc = env_emit(out, p2.p, p2.len, y2.p, y2.len, sig, kd->level == RXF_ENVELOPE ? kd->op : O_NONE,
                  kd->vt);
done:
    ledger__buf_release(&p2);
    ledger__buf_release(&y2);
    ledger__buf_release(&body);
    ledger__buf_release(&tbs);
    return rc;
}

/* ---- the lenient reader (the oracle) ---- */

typedef struct lrd {
    const uint8_t *p;
    size_t n, off;
} lrd;

static int lhead(lrd *r, unsigned *major, unsigned *ai, uint64_t *arg)
{
    if (r->off >= r->n)
        return -1;
    uint8_t ib = r->p[r->off++];
    *major = ib >> 5;
    *ai = ib & 31u;
    *arg = *ai < 24 ? *ai : 0;
    if (*ai < 24 || *ai == 31)
        return 0;
    if (*ai > 27)
        return -1;
    size_t w = (size_t)1 << (*ai - 24);
    if (r->n - r->off < w)
        return -1;
    for (size_t i = 0; i < w; i++)
        *arg = (*arg << 8) | r->p[r->off++];
    return 0;
}

/* A float's bits as a non-negative integer, when it is one. */
static int float_int(unsigned ai, uint64_t bits, uint64_t *out)
{
    if (ai == 25) {
        unsigned e = (unsigned)(bits >> 10) & 0x1f;
        uint64_t mant = bits & 0x3ff;
        if ((bits & 0x8000) != 0 || e == 31)
            return -1;
        if (e == 0) {
            *out = 0;
            return mant == 0 ? 0 : -1;
        }
        mant += 1024;
        if (e >= 25) {
            *out = mant << (e - 25);
            return 0;
        }
        if ((mant & ((UINT64_C(1) << (25 - e)) - 1)) != 0)
            return -1;
        *out = mant >> (25 - e);
        return 0;
    }
    double d;
    if (ai == 26) {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof(f));
        d = f;
    } else {
        memcpy(&d, &bits, sizeof(d));
    }
    if (!(d >= 0 && d < 18446744073709551616.0) || (double)(uint64_t)d != d)
        return -1;
    *out = (uint64_t)d;
    return 0;
}

typedef struct kv {
    ledger__buf k, v;
} kv;

static int lcanon(lrd *r, ledger__buf *out, unsigned depth);

static int lcanon_map(lrd *r, ledger__buf *out, unsigned depth, bool indef, uint64_t count)
{
    kv *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (uint64_t i = 0; rc == 0 && (indef || i < count); i++) {
        if (indef && r->off < r->n && r->p[r->off] == 0xff) {
            r->off++;
            break;
        }
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            kv *nv = realloc(v, nc * sizeof(*nv));
            if (nv == NULL) {
                rc = -1;
                break;
            }
            v = nv;
            cap = nc;
        }
        ledger__buf_init(&v[n].k, LEDGER_MAX_ENTRY_BYTES);
        ledger__buf_init(&v[n].v, LEDGER_MAX_ENTRY_BYTES);
        n++;
        if (lcanon(r, &v[n - 1].k, depth + 1) != 0 || lcanon(r, &v[n - 1].v, depth + 1) != 0)
            rc = -1;
    }
    /* sort by the encoded keys; an identical repeated pair is one pair */
    for (size_t i = 1; rc == 0 && i < n; i++)
        for (size_t j = i;
             j > 0 && ledger__key_cmp(v[j - 1].k.p, v[j - 1].k.len, v[j].k.p, v[j].k.len) > 0;
             j--) {
            kv t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    size_t keep = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0 && ledger__key_cmp(v[i - 1].k.p, v[i - 1].k.len, v[i].k.p, v[i].k.len) == 0) {
            if (v[i - 1].v.len != v[i].v.len || memcmp(v[i - 1].v.p, v[i].v.p, v[i].v.len) != 0)
                rc = -1; /* one key, two values: not one map */
            continue;
        }
        keep++;
    }
    if (rc == 0) {
        head(out, 5, keep);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && ledger__key_cmp(v[i - 1].k.p, v[i - 1].k.len, v[i].k.p, v[i].k.len) == 0)
                continue;
            ledger__buf_put(out, v[i].k.p, v[i].k.len);
            ledger__buf_put(out, v[i].v.p, v[i].v.len);
        }
    }
    for (size_t i = 0; i < n; i++) {
        ledger__buf_release(&v[i].k);
        ledger__buf_release(&v[i].v);
    }
    free(v);
    return rc;
}

/* Read one item leniently and write it in deterministic encoding. */
static int lcanon(lrd *r, ledger__buf *out, unsigned depth)
{
    unsigned major, ai;
    uint64_t arg;
    int rc = 0;
    if (depth > CANON_DEPTH || lhead(r, &major, &ai, &arg) != 0)
        return -1;
    if (ai == 31 && (major == 0 || major == 1 || major == 6 || major == 7))
        return -1;
    switch (major) {
    case 0:
    case 1:
        head(out, major, arg);
        return 0;
    case 2:
    case 3: {
        ledger__buf s;
        ledger__buf_init(&s, LEDGER_MAX_ENTRY_BYTES + 64);
        if (ai != 31) {
            if (arg > r->n - r->off)
                rc = -1;
            else
                ledger__buf_put(&s, r->p + r->off, (size_t)arg);
            r->off += rc == 0 ? (size_t)arg : 0;
        }
        while (rc == 0 && ai == 31) {
            unsigned m2, a2;
            uint64_t len;
            if (r->off < r->n && r->p[r->off] == 0xff) {
                r->off++;
                break;
            }
            if (lhead(r, &m2, &a2, &len) != 0 || m2 != major || a2 == 31 || len > r->n - r->off) {
                rc = -1;
                break;
            }
            ledger__buf_put(&s, r->p + r->off, (size_t)len);
            r->off += (size_t)len;
        }
        if (rc == 0 && s.err == 0) {
            head(out, major, s.len);
            ledger__buf_put(out, s.p, s.len);
        }
        rc = rc != 0 ? rc : s.err;
        ledger__buf_release(&s);
        return rc;
    }
    case 4: {
        ledger__buf s;
        uint64_t count = 0;
        ledger__buf_init(&s, LEDGER_MAX_ENTRY_BYTES + 64);
        if (ai != 31 && arg > r->n - r->off)
            rc = -1;
        for (uint64_t i = 0; rc == 0 && (ai == 31 || i < arg); i++) {
            if (ai == 31 && r->off < r->n && r->p[r->off] == 0xff) {
                r->off++;
                break;
            }
            rc = lcanon(r, &s, depth + 1);
            count++;
        }
        if (rc == 0) {
            head(out, 4, count);
            ledger__buf_put(out, s.p, s.len);
        }
        ledger__buf_release(&s);
        return rc;
    }
    case 5:
        if (ai != 31 && arg > r->n - r->off)
            return -1;
        return lcanon_map(r, out, depth, ai == 31, arg);
    case 6: {
        ledger__buf s;
        ledger__buf_init(&s, LEDGER_MAX_ENTRY_BYTES + 64);
        rc = lcanon(r, &s, depth + 1);
        if (rc == 0 && (arg == 55799 || arg == 24 || arg == 1)) {
            ledger__buf_put(out, s.p, s.len); /* no meaning of its own here */
        } else if (rc == 0 && (arg == 2 || arg == 3)) {
            lrd b = {s.p, s.len, 0};
            unsigned bm, ba;
            uint64_t bn, v = 0;
            if (lhead(&b, &bm, &ba, &bn) != 0 || bm != 2 || bn > 8 || bn != s.len - b.off)
                rc = -1;
            for (size_t i = 0; rc == 0 && i < bn; i++)
                v = (v << 8) | s.p[b.off + i];
            if (rc == 0)
                head(out, arg == 2 ? 0u : 1u, v);
        } else if (rc == 0) {
            head(out, 6, arg);
            ledger__buf_put(out, s.p, s.len);
        }
        ledger__buf_release(&s);
        return rc;
    }
    default:
        if (ai >= 20 && ai <= 22) {
            put_byte(out, (uint8_t)(0xe0 | ai));
            return 0;
        }
        if (ai >= 25 && ai <= 27) {
            uint64_t v;
            if (float_int(ai, arg, &v) != 0)
                return -1;
            head(out, 0, v);
            return 0;
        }
        return -1;
    }
}

/* The envelope read leniently: the spans of what it carries, in @p outer. */
static int lopen(ledger__buf *outer, const uint8_t *e, size_t n, const uint8_t **prot,
                 size_t *protlen, const uint8_t **payload, size_t *plen, const uint8_t **sig)
{
    lrd r = {e, n, 0};
    ledger__rd rd;
    ledger__cbitem it;
    if (lcanon(&r, outer, 0) != 0 || outer->err != 0)
        return -1;
    ledger__rd_init(&rd, outer->p, outer->len, NULL, 0);
    if (ledger__rd_next(&rd, &it) != 0 || it.kind != LEDGER__CB_TAG || it.u != LEDGER__COSE_TAG ||
        ledger__rd_next(&rd, &it) != 0 || it.kind != LEDGER__CB_ARRAY || it.u != 4 ||
        ledger__rd_next(&rd, &it) != 0 || it.kind != LEDGER__CB_BYTES)
        return -1;
    *prot = it.p;
    *protlen = it.n;
    if (ledger__rd_next(&rd, &it) != 0 || it.kind != LEDGER__CB_MAP || it.u != 0 ||
        ledger__rd_next(&rd, &it) != 0 || it.kind != LEDGER__CB_BYTES)
        return -1;
    *payload = it.p;
    *plen = it.n;
    if (ledger__rd_next(&rd, &it) != 0 || it.kind != LEDGER__CB_BYTES || it.n != KEYS_SIG_BYTES)
        return -1;
    *sig = it.p;
    return 0;
}

int rxf_canonical(ledger__buf *out, const uint8_t *e, size_t n)
{
    ledger__buf outer, p2, y2;
    const uint8_t *prot, *payload, *sig;
    size_t protlen, plen;
    int rc = -1;
    ledger__buf_init(&outer, 2 * LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&p2, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&y2, LEDGER_MAX_ENTRY_BYTES);
    if (lopen(&outer, e, n, &prot, &protlen, &payload, &plen, &sig) == 0) {
        lrd rp = {prot, protlen, 0}, ry = {payload, plen, 0};
        if (lcanon(&rp, &p2, 0) == 0 && lcanon(&ry, &y2, 0) == 0) {
            ledger__cbor_tag(out, LEDGER__COSE_TAG);
            ledger__cbor_array(out, 4);
            ledger__cbor_bytes(out, p2.p, p2.len);
            ledger__cbor_map(out, 0);
            ledger__cbor_bytes(out, y2.p, y2.len);
            ledger__cbor_bytes(out, sig, KEYS_SIG_BYTES);
            rc = out->err == 0 && p2.err == 0 && y2.err == 0 ? 0 : -1;
        }
    }
    ledger__buf_release(&outer);
    ledger__buf_release(&p2);
    ledger__buf_release(&y2);
    return rc;
}

int rxf_sig_ok(const uint8_t *e, size_t n, const uint8_t pub[KEYS_PUB_BYTES])
{
    ledger__buf outer, tbs;
    const uint8_t *prot, *payload, *sig;
    size_t protlen, plen;
    int rc = -1;
    ledger__buf_init(&outer, 2 * LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&tbs, 2 * LEDGER_MAX_ENTRY_BYTES);
    if (lopen(&outer, e, n, &prot, &protlen, &payload, &plen, &sig) == 0) {
        ledger__sig_structure(&tbs, prot, protlen, payload, plen);
        rc = tbs.err == 0 ? keys_verify(pub, sig, tbs.p, tbs.len) : -1;
    }
    ledger__buf_release(&outer);
    ledger__buf_release(&tbs);
    return rc;
}

/* ---- building and planting ---- */

int rxf_build(ledger__buf *out, const keys_key *k, const char *name, uint64_t seq,
              const uint8_t prev[LEDGER_HASH_BYTES], const char *type, int64_t rt, int64_t et,
              const char *meaning, const uint8_t *body, size_t bodylen)
{
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
    ledger__buf y;
    int rc;
    keys_key_pub(k, pub);
    keys_kid(kid, pub);
    ledger__buf_init(&y, LEDGER_MAX_ENTRY_BYTES);
    ledger__cbor_map(&y, 10); /* the keys in their canonical order (docs/format.md 2) */
    ledger__cbor_text(&y, "v", 1);
    ledger__cbor_uint(&y, LEDGER_FORMAT_VERSION);
    ledger__cbor_text(&y, "et", 2);
    ledger__cbor_uint(&y, (uint64_t)et);
    ledger__cbor_text(&y, "rt", 2);
    ledger__cbor_uint(&y, (uint64_t)rt);
    ledger__cbor_text(&y, "kid", 3);
    ledger__cbor_bytes(&y, kid, sizeof(kid));
    ledger__cbor_text(&y, "seq", 3);
    ledger__cbor_uint(&y, seq);
    ledger__cbor_text(&y, "body", 4);
    ledger__buf_put(&y, body, bodylen);
    ledger__cbor_text(&y, "name", 4);
    ledger__cbor_text(&y, name, strlen(name));
    ledger__cbor_text(&y, "prev", 4);
    ledger__cbor_bytes(&y, prev, LEDGER_HASH_BYTES);
    ledger__cbor_text(&y, "type", 4);
    ledger__cbor_text(&y, type, strlen(type));
    ledger__cbor_text(&y, "meaning", 7);
    ledger__cbor_text(&y, meaning, strlen(meaning));
    rc = y.err != 0 ? y.err : ledger__entry_build(out, k, y.p, y.len);
    ledger__buf_release(&y);
    return rc;
}

static const keys_key *key_of(const rxf_keys *keys, const uint8_t kid[KEYS_KID_BYTES])
{
    for (size_t i = 0; keys != NULL && i < keys->n; i++) {
        uint8_t pub[KEYS_PUB_BYTES], k2[KEYS_KID_BYTES];
        keys_key_pub(keys->k[i], pub);
        keys_kid(k2, pub);
        if (memcmp(k2, kid, KEYS_KID_BYTES) == 0)
            return keys->k[i];
    }
    return NULL;
}

/* A malloc'd copy of stored entry @p seq. */
static int get_copy(ledger *l, MDB_txn *txn, uint64_t seq, uint8_t **out, size_t *n)
{
    uint8_t kb[8];
    MDB_val k = {sizeof(kb), kb}, v;
    ledger__u64be(kb, seq);
    if (mdb_get(txn, l->entries, &k, &v) != 0)
        return LEDGER_ENOTFOUND;
    if ((*out = malloc(v.mv_size)) == NULL)
        return LEDGER_ENOMEM;
    memcpy(*out, v.mv_data, v.mv_size);
    *n = v.mv_size;
    return 0;
}

static int put_entry(ledger *l, MDB_txn *txn, uint64_t seq, const uint8_t *p, size_t n)
{
    uint8_t kb[8];
    MDB_val k = {sizeof(kb), kb}, v = {n, (void *)p};
    ledger__u64be(kb, seq);
    return mdb_put(txn, l->entries, &k, &v, 0) == 0 ? 0 : LEDGER_EIO;
}

static int put_head(ledger *l, MDB_txn *txn, const ledger__head *h)
{
    uint8_t hb[LEDGER__HEAD_BYTES];
    ledger__u64be(hb, h->count);
    memcpy(hb + 8, h->hash, LEDGER_HASH_BYTES);
    ledger__u64be(hb + 8 + LEDGER_HASH_BYTES, (uint64_t)h->rt);
    MDB_val k = {4, "head"}, v = {sizeof(hb), hb};
    return mdb_put(txn, l->meta, &k, &v, 0) == 0 ? 0 : LEDGER_EIO;
}

static void swap_hashes(uint8_t *p, size_t n, const uint8_t (*from)[LEDGER_HASH_BYTES],
                        const uint8_t (*to)[LEDGER_HASH_BYTES], size_t nh)
{
    for (size_t i = 0; i + LEDGER_HASH_BYTES <= n; i++)
        for (size_t j = 0; j < nh; j++)
            if (memcmp(p + i, from[j], LEDGER_HASH_BYTES) == 0) {
                memcpy(p + i, to[j], LEDGER_HASH_BYTES);
                break;
            }
}

int rxf_replace(ledger *l, uint64_t seq, const uint8_t *p, size_t n, const rxf_keys *keys,
                char *why, size_t whylen)
{
    MDB_txn *txn = NULL;
    ledger__head h;
    uint8_t(*from)[LEDGER_HASH_BYTES] = NULL, (*to)[LEDGER_HASH_BYTES] = NULL;
    uint8_t *old = NULL;
    size_t oldn = 0, nh = 0;
    int rc;
    if (mdb_txn_begin(l->env, NULL, 0, &txn) != 0)
        return failf(why, whylen, LEDGER_EIO, "cannot begin a write transaction");
    if ((rc = ledger__head_read(l, txn, &h)) != 0 || seq >= h.count) {
        rc = failf(why, whylen, rc != 0 ? rc : LEDGER_ENOTFOUND, "no such entry");
        goto done;
    }
    from = malloc((size_t)(h.count - seq) * LEDGER_HASH_BYTES);
    to = malloc((size_t)(h.count - seq) * LEDGER_HASH_BYTES);
    if (from == NULL || to == NULL) {
        rc = LEDGER_ENOMEM;
        goto done;
    }
    if ((rc = get_copy(l, txn, seq, &old, &oldn)) != 0 ||
        (rc = ledger__leaf_hash(from[0], old, oldn)) != 0 ||
        (rc = ledger__leaf_hash(to[0], p, n)) != 0 || (rc = put_entry(l, txn, seq, p, n)) != 0)
        goto done;
    nh = 1;
    for (uint64_t j = seq + 1; j < h.count; j++) {
        uint8_t *e = NULL, *y = NULL;
        size_t en = 0;
        ledger_entry d;
        const uint8_t *prot, *payload;
        size_t protlen, plen;
        ledger__buf nb;
        const keys_key *k;
        ledger__buf_init(&nb, LEDGER_MAX_ENTRY_BYTES);
        if ((rc = get_copy(l, txn, j, &e, &en)) == 0 &&
            ((rc = ledger_entry_decode(&d, e, en, why, whylen)) != 0 ||
             (rc = ledger__entry_spans(&d, &prot, &protlen, &payload, &plen)) != 0))
            rc = failf(why, whylen, rc, "a later entry does not decode: cannot re-chain it");
        if (rc == 0 && (k = key_of(keys, d.kid)) == NULL)
            rc = failf(why, whylen, LEDGER_ESIGNER, "no key for the signer of a later entry");
        if (rc == 0 && (y = malloc(plen)) == NULL)
            rc = LEDGER_ENOMEM;
        if (rc == 0) {
            memcpy(y, payload, plen);
            swap_hashes(y, plen, (const uint8_t(*)[LEDGER_HASH_BYTES])from,
                        (const uint8_t(*)[LEDGER_HASH_BYTES])to, nh);
            memcpy(from[nh], d.hash, LEDGER_HASH_BYTES);
            if ((rc = ledger__entry_build(&nb, k, y, plen)) == 0 &&
                (rc = ledger__leaf_hash(to[nh], nb.p, nb.len)) == 0)
                rc = put_entry(l, txn, j, nb.p, nb.len);
            nh++;
        }
        free(e);
        free(y);
        ledger__buf_release(&nb);
        if (rc != 0)
            goto done;
    }
    for (uint64_t j = seq; j < h.count; j++)
        if ((rc = ledger__merkle_append(l, txn, j, to[j - seq])) != 0)
            goto done;
    memcpy(h.hash, to[nh - 1], LEDGER_HASH_BYTES);
    if ((rc = put_head(l, txn, &h)) != 0 || mdb_drop(txn, l->checkpoints, 0) != 0) {
        rc = failf(why, whylen, LEDGER_EIO, "cannot write the head");
        goto done;
    }
    rc = mdb_txn_commit(txn) == 0 ? 0 : failf(why, whylen, LEDGER_EIO, "cannot commit");
    txn = NULL;
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    free(old);
    free(from);
    free(to);
    return rc;
}

int rxf_append_raw(ledger *l, const uint8_t *p, size_t n, uint64_t *seq, char *why, size_t whylen)
{
    MDB_txn *txn = NULL;
    ledger__head h;
    ledger_entry e;
    uint8_t leaf[LEDGER_HASH_BYTES];
    int rc;
    if (mdb_txn_begin(l->env, NULL, 0, &txn) != 0)
        return failf(why, whylen, LEDGER_EIO, "cannot begin a write transaction");
    if ((rc = ledger__head_read(l, txn, &h)) != 0 || (rc = ledger__leaf_hash(leaf, p, n)) != 0 ||
        (rc = put_entry(l, txn, h.count, p, n)) != 0 ||
        (rc = ledger__merkle_append(l, txn, h.count, leaf)) != 0)
        goto done;
    if (ledger_entry_decode(&e, p, n, NULL, 0) == 0) {
        ledger__effect eff;
        char sub[LEDGER_ERRMSG_MAX];
        uint8_t ik[33], iv[8];
        size_t ikn = 0;
        if (e.recorded_ms > h.rt)
            h.rt = e.recorded_ms;
        if (ledger__effect_of(&e, &eff, sub, sizeof(sub)) == 0) {
            /* the key records as an append would leave them */
            uint8_t rec[LEDGER__KEYREC_BYTES];
            MDB_val k = {KEYS_KID_BYTES, eff.key.kid}, v = {sizeof(rec), rec};
            if (eff.kind == LEDGER__EFF_ENROLL) {
                ledger__u64be(rec, h.count);
                ledger__u64be(rec + 8, LEDGER__NO_SEQ);
                rc = mdb_put(txn, l->keys, &k, &v, MDB_NOOVERWRITE);
                rc = rc == MDB_KEYEXIST ? 0 : rc;
            } else if (eff.kind == LEDGER__EFF_REVOKE) {
                MDB_val cur;
                k.mv_data = eff.target;
                if (mdb_get(txn, l->keys, &k, &cur) == 0 && cur.mv_size == sizeof(rec)) {
                    memcpy(rec, cur.mv_data, 8);
                    ledger__u64be(rec + 8, h.count);
                    rc = mdb_put(txn, l->keys, &k, &v, 0);
                }
            }
            if (rc == 0 && ledger__index_key(&e, &eff, ik, &ikn) == 1) {
                MDB_val xk = {ikn, ik}, xv = {sizeof(iv), iv};
                ledger__u64be(iv, h.count);
                rc = mdb_put(txn, l->index, &xk, &xv, 0);
            }
            if (rc != 0) {
                rc = failf(why, whylen, LEDGER_EIO, "cannot write the key or index records");
                goto done;
            }
        }
    }
    if (seq != NULL)
        *seq = h.count;
    h.count++;
    memcpy(h.hash, leaf, LEDGER_HASH_BYTES);
    if ((rc = put_head(l, txn, &h)) != 0)
        goto done;
    rc = mdb_txn_commit(txn) == 0 ? 0 : failf(why, whylen, LEDGER_EIO, "cannot commit");
    txn = NULL;
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return rc;
}

/* Read and decode entry @p seq into a malloc'd buffer. */
static int read_entry(ledger *l, uint64_t seq, uint8_t **buf, ledger_entry *e, char *why,
                      size_t whylen)
{
    int rc;
    if ((*buf = malloc(LEDGER_MAX_ENTRY_BYTES)) == NULL)
        return LEDGER_ENOMEM;
    if ((rc = ledger_read_entry(l, seq, *buf, LEDGER_MAX_ENTRY_BYTES, e)) != 0)
        ledger__errf(why, whylen, "entry %llu: %s", (unsigned long long)seq, ledger_errmsg(l));
    return rc;
}

int rxf_append_copy(ledger *l, uint64_t src, const keys_key *k, const char *name, int64_t rt,
                    uint64_t *seq, char *why, size_t whylen)
{
    uint8_t *buf = NULL, head[LEDGER_HASH_BYTES];
    uint64_t count;
    ledger_entry e;
    ledger__buf out;
    MDB_txn *txn = NULL;
    ledger__head h;
    int rc;
    ledger__buf_init(&out, LEDGER_MAX_ENTRY_BYTES);
    if ((rc = read_entry(l, src, &buf, &e, why, whylen)) != 0 ||
        (rc = ledger_head(l, &count, head)) != 0 || (rc = ledger__read_txn(l, &txn)) != 0)
        goto done;
    rc = ledger__head_read(l, txn, &h);
    ledger__end_read(l, txn);
    if (rc != 0)
        goto done;
    if (rt == 0)
        rt = ledger__now_ms() > h.rt ? ledger__now_ms() : h.rt;
    if ((rc = rxf_build(&out, k, name != NULL ? name : keys_key_name(k), count, head, e.type, rt,
                        e.event_ms, e.meaning, e.body, e.body_len)) != 0)
        goto done;
    rc = rxf_append_raw(l, out.p, out.len, seq, why, whylen);
done:
    free(buf);
    ledger__buf_release(&out);
    return rc;
}

int rxf_resign(ledger *l, uint64_t seq, const keys_key *k, const char *name, const rxf_keys *keys,
               char *why, size_t whylen)
{
    uint8_t *buf = NULL;
    ledger_entry e;
    ledger__buf out;
    int rc;
    ledger__buf_init(&out, LEDGER_MAX_ENTRY_BYTES);
    if ((rc = read_entry(l, seq, &buf, &e, why, whylen)) == 0 &&
        (rc = rxf_build(&out, k, name != NULL ? name : keys_key_name(k), e.seq, e.prev, e.type,
                        e.recorded_ms, e.event_ms, e.meaning, e.body, e.body_len)) == 0)
        rc = rxf_replace(l, seq, out.p, out.len, keys, why, whylen);
    free(buf);
    ledger__buf_release(&out);
    return rc;
}

int rxf_swap_payload(ledger *l, uint64_t seq, const char *text, const rxf_keys *keys, char *why,
                     size_t whylen)
{
    uint8_t *buf = NULL;
    ledger_entry e;
    ledger__buf body, y, out;
    ledger_body *b = NULL;
    const uint8_t *prot, *payload;
    size_t protlen, plen;
    pairs m;
    int at, rc;
    ledger__buf_init(&body, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&y, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&out, LEDGER_MAX_ENTRY_BYTES);
    if ((rc = read_entry(l, seq, &buf, &e, why, whylen)) != 0 ||
        (rc = ledger__entry_spans(&e, &prot, &protlen, &payload, &plen)) != 0 ||
        (rc = ledger_body_new(&b)) != 0 || (rc = ledger_body_put_text(b, "text", text)) != 0)
        goto done;
    ledger__body_encode(b, &body);
    if (pairs_parse(&m, payload, plen) != 0 || (at = pair_find(&m, payload, "body")) < 0) {
        rc = failf(why, whylen, LEDGER_EINVAL, "not an entry with a body");
        goto done;
    }
    /* the new payload, the old protected header and the old signature */
    if ((rc = map_emit(&y, payload, &m, O_NONE, at, 0, body.p, body.len)) != 0 ||
        (rc = env_emit(&out, prot, protlen, y.p, y.len, e.sig, O_NONE, 0)) != 0)
        goto done;
    rc = rxf_replace(l, seq, out.p, out.len, keys, why, whylen);
done:
    free(buf);
    ledger_body_free(b);
    ledger__buf_release(&body);
    ledger__buf_release(&y);
    ledger__buf_release(&out);
    return rc;
}

/* ---- exports ---- */

static void put_node(ledger__buf *h, ledger *l, MDB_txn *txn, unsigned level, uint64_t index,
                     int *rc)
{
    uint8_t node[LEDGER_HASH_BYTES];
    if (*rc == 0 && (*rc = ledger__merkle_get(l, txn, level, index, node)) == 0)
        ledger__cbor_bytes(h, node, LEDGER_HASH_BYTES);
}

int rxf_export(ledger *l, const keys_key *site, uint64_t from, const uint64_t *ctx, size_t nctx,
               unsigned flags, FILE *out, char *why, size_t whylen)
{
    MDB_txn *txn = NULL;
    ledger__head hd;
    ledger__buf v[8], hdr, tr;
    static const char *const keys8[8] = {"from",  "left",   "size",    "count",
                                         "right", "format", "context", "version"};
    uint8_t pub[KEYS_PUB_BYTES];
    ledger_checkpoint cp;
    int rc;
    for (int i = 0; i < 8; i++)
        ledger__buf_init(&v[i], LEDGER_EXPORT_HEADER_MAX);
    ledger__buf_init(&hdr, LEDGER_EXPORT_HEADER_MAX);
    ledger__buf_init(&tr, LEDGER_CHECKPOINT_MAX + 16);
    memset(&cp, 0, sizeof(cp));
    if ((rc = ledger__read_txn(l, &txn)) != 0 || (rc = ledger__head_read(l, txn, &hd)) != 0)
        goto done;
    const uint64_t size = hd.count;
    if (from >= size) {
        rc = failf(why, whylen, LEDGER_EINVAL, "the range starts past the end");
        goto done;
    }
    /* the header's values, in the order of keys8 */
    ledger__cbor_uint(&v[0], from);
    ledger__cbor_array(&v[1], (size_t)__builtin_popcountll(from));
    uint64_t m = 0;
    for (int k = 63; rc == 0 && k >= 0; k--)
        if ((from & ((uint64_t)1 << k)) != 0) {
            put_node(&v[1], l, txn, (unsigned)k, m >> k, &rc);
            m += (uint64_t)1 << k;
        }
    ledger__cbor_uint(&v[2], size);
    ledger__cbor_uint(&v[3], size - from);
    ledger__cbor_array(&v[4], 0); /* the range runs to the end: nothing on the right */
    ledger__cbor_text(&v[5], LEDGER_EXPORT_FORMAT, strlen(LEDGER_EXPORT_FORMAT));
    ledger__cbor_array(&v[6], nctx);
    for (size_t i = 0; rc == 0 && i < nctx; i++) {
        uint8_t *e = NULL, path[LEDGER_PROOF_MAX][LEDGER_HASH_BYTES];
        size_t en = 0, np = 0;
        if ((rc = get_copy(l, txn, ctx[i], &e, &en)) != 0 ||
            (rc = ledger_merkle_inclusion(l, ctx[i], size, path, &np)) != 0) {
            free(e);
            break;
        }
        ledger__cbor_array(&v[6], 3);
        ledger__cbor_uint(&v[6], ctx[i]);
        if ((flags & RXF_X_CTX_BSTR_LONG) != 0 && i == nctx - 1) {
            head_w(&v[6], 2, en, longer(shortest(en)));
            ledger__buf_put(&v[6], e, en);
        } else {
            ledger__cbor_bytes(&v[6], e, en);
        }
        ledger__cbor_array(&v[6], np);
        for (size_t j = 0; j < np; j++)
            ledger__cbor_bytes(&v[6], path[j], LEDGER_HASH_BYTES);
        free(e);
    }
    if ((flags & RXF_X_HDR_INT_LONG) != 0)
        head_w(&v[7], 0, LEDGER_EXPORT_VERSION, 2);
    else
        ledger__cbor_uint(&v[7], LEDGER_EXPORT_VERSION);
    if (rc != 0)
        goto done;
    /* the header map */
    size_t order[9] = {0, 1, 2, 3, 4, 5, 6, 7, 5}, npairs = 8;
    if ((flags & RXF_X_HDR_UNSORTED) != 0) {
        order[0] = 1;
        order[1] = 0;
    }
    if ((flags & RXF_X_HDR_DUP) != 0)
        npairs = 9;
    if ((flags & RXF_X_HDR_INDEF) != 0)
        put_byte(&hdr, 0xbf);
    else
        ledger__cbor_map(&hdr, npairs);
    for (size_t i = 0; i < npairs; i++) {
        ledger__cbor_text(&hdr, keys8[order[i]], strlen(keys8[order[i]]));
        ledger__buf_put(&hdr, v[order[i]].p, v[order[i]].len);
    }
    if ((flags & RXF_X_HDR_INDEF) != 0)
        put_byte(&hdr, 0xff);
    if ((rc = hdr.err) != 0)
        goto done;
    /* the trailer: the stored tree's root, signed with the header's hash */
    keys_key_pub(site, pub);
    keys_kid(cp.site, pub);
    cp.size = size;
    memcpy(cp.head, hd.hash, LEDGER_HASH_BYTES);
    cp.time_ms = ledger__now_ms();
    cp.has_export = true;
    if ((rc = ledger__sha256_2(cp.export_hash, hdr.p, hdr.len, NULL, 0)) != 0)
        goto done;
    ledger__end_read(l, txn);
    txn = NULL;
    if ((rc = ledger_merkle_root(l, size, cp.root)) != 0 ||
        (rc = ledger__tree_head_sign(&tr, site, &cp)) != 0)
        goto done;
    if ((flags & RXF_X_TRAILER_TAG) != 0) {
        ledger__buf t2;
        ledger__buf_init(&t2, LEDGER_CHECKPOINT_MAX + 16);
        head_w(&t2, 6, LEDGER__COSE_TAG, 2);
        ledger__buf_put(&t2, tr.p + 1, tr.len - 1);
        ledger__buf_release(&tr);
        tr = t2;
    }
    if ((flags & RXF_X_TRAILER_ARRAY) != 0) {
        ledger__buf t2;
        ledger__buf_init(&t2, LEDGER_CHECKPOINT_MAX + 16);
        ledger__buf_put(&t2, tr.p, 1);
        head_w(&t2, 4, 4, 2);
        ledger__buf_put(&t2, tr.p + 2, tr.len - 2);
        ledger__buf_release(&tr);
        tr = t2;
    }
    if ((rc = tr.err) != 0)
        goto done;
    /* write: header, the stored entries, trailer */
    if ((rc = ledger__read_txn(l, &txn)) != 0)
        goto done;
    if (fwrite(hdr.p, 1, hdr.len, out) != hdr.len)
        rc = LEDGER_EIO;
    for (uint64_t s = from; rc == 0 && s < size; s++) {
        uint8_t *e = NULL;
        size_t en = 0;
        if ((rc = get_copy(l, txn, s, &e, &en)) == 0 && fwrite(e, 1, en, out) != en)
            rc = LEDGER_EIO;
        free(e);
    }
    if (rc == 0 && fwrite(tr.p, 1, tr.len, out) != tr.len)
        rc = LEDGER_EIO;
    if (rc != 0)
        ledger__errf(why, whylen, "cannot write the export");
done:
    if (txn != NULL)
        ledger__end_read(l, txn);
    for (int i = 0; i < 8; i++)
        ledger__buf_release(&v[i]);
    ledger__buf_release(&hdr);
    ledger__buf_release(&tr);
    return rc;
}
