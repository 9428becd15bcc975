/* Deterministic CBOR (RFC 8949 section 4.2.1) over libcbor's low-level
 * encoders and streaming decoder: the writer emits shortest heads and definite
 * lengths only; the reader rejects anything else, so decode(x) succeeding
 * means x is already in deterministic form. Map key order is the caller's
 * duty on write (ledger_body sorts) and checked here on read. */
#include <cbor.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger_int.h"

void ledger__errf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (buf == NULL || cap == 0)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

int64_t (*ledger__test_clock)(void);

int64_t ledger__now_ms(void)
{
    struct timespec ts;
    if (ledger__test_clock != NULL)
        return ledger__test_clock();
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ledger__u64be(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

uint64_t ledger__get_u64be(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

void ledger_hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    out[2 * n] = '\0';
}

/* ---- buffer ---- */

void ledger__buf_init(ledger__buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void ledger__buf_release(ledger__buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void ledger__buf_put(ledger__buf *b, const void *p, size_t n)
{
    if (b->err != 0 || n == 0)
        return;
    if (n > b->max - b->len) {
        b->err = LEDGER_ETOOBIG;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        uint8_t *np = realloc(b->p, cap);
        if (np == NULL) {
            b->err = LEDGER_ENOMEM;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* ---- writer: libcbor's encoders choose the shortest head ---- */

#define HEAD_MAX 9

void ledger__cbor_uint(ledger__buf *b, uint64_t v)
{
    unsigned char h[HEAD_MAX];
    ledger__buf_put(b, h, cbor_encode_uint(v, h, sizeof(h)));
}

void ledger__cbor_int(ledger__buf *b, int64_t v)
{
    unsigned char h[HEAD_MAX];
    if (v >= 0)
        ledger__buf_put(b, h, cbor_encode_uint((uint64_t)v, h, sizeof(h)));
    else
        ledger__buf_put(b, h, cbor_encode_negint((uint64_t)(-(v + 1)), h, sizeof(h)));
}

void ledger__cbor_bytes(ledger__buf *b, const uint8_t *p, size_t n)
{
    unsigned char h[HEAD_MAX];
    ledger__buf_put(b, h, cbor_encode_bytestring_start(n, h, sizeof(h)));
    ledger__buf_put(b, p, n);
}

void ledger__cbor_text(ledger__buf *b, const char *p, size_t n)
{
    unsigned char h[HEAD_MAX];
    ledger__buf_put(b, h, cbor_encode_string_start(n, h, sizeof(h)));
    ledger__buf_put(b, p, n);
}

void ledger__cbor_array(ledger__buf *b, size_t n)
{
    unsigned char h[HEAD_MAX];
    ledger__buf_put(b, h, cbor_encode_array_start(n, h, sizeof(h)));
}

void ledger__cbor_map(ledger__buf *b, size_t n)
{
    unsigned char h[HEAD_MAX];
    ledger__buf_put(b, h, cbor_encode_map_start(n, h, sizeof(h)));
}

void ledger__cbor_tag(ledger__buf *b, uint64_t tag)
{
    unsigned char h[HEAD_MAX];
    ledger__buf_put(b, h, cbor_encode_tag(tag, h, sizeof(h)));
}

void ledger__cbor_bool(ledger__buf *b, bool v)
{
    unsigned char h[HEAD_MAX];
    ledger__buf_put(b, h, cbor_encode_bool(v, h, sizeof(h)));
}

/* ---- reader ---- */

/* Length of the shortest head carrying argument @p v. */
static size_t head_len(uint64_t v)
{
    if (v < 24)
        return 1;
    if (v <= 0xff)
        return 2;
    if (v <= 0xffff)
        return 3;
    if (v <= 0xffffffffu)
        return 5;
    return 9;
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t w;
        if (n - i >= sizeof(w)) { /* ASCII runs, a word at a time */
            memcpy(&w, s + i, sizeof(w));
            if ((w & UINT64_C(0x8080808080808080)) == 0) {
                i += sizeof(w);
                continue;
            }
        }
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1;
            cp = c & 0x1fu;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            cp = c & 0x0fu;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3fu);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

void ledger__rd_init(ledger__rd *r, const uint8_t *p, size_t len, char *why, size_t whylen)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->why = why;
    r->whylen = whylen;
    r->lax = false;
}

int ledger__rd_fail(ledger__rd *r, const char *what)
{
    ledger__errf(r->why, r->whylen, "%s at byte %zu", what, r->off);
    return LEDGER_EENCODING;
}

/* One head, read here rather than through libcbor's callback decoder: this is
 * the innermost loop of verify and audit, and the strict rules (shortest
 * form, definite lengths, no floats or simple values but false/true/null)
 * are simplest to state on the raw bytes. */
int ledger__rd_next(ledger__rd *r, ledger__cbitem *it)
{
    static const uint8_t extra_of[32] = {[24] = 1, [25] = 2, [26] = 4, [27] = 8};
    it->u = 0;
    it->p = NULL;
    it->n = 0;
    it->b = false;
    if (r->off >= r->len)
        return ledger__rd_fail(r, "truncated cbor");
    const uint8_t *p = r->p + r->off;
    size_t left = r->len - r->off;
    unsigned major = p[0] >> 5, ai = p[0] & 0x1fu;
    if (ai == 31)
        return ledger__rd_fail(r, major == 7 ? "unexpected break" : "indefinite length");
    if (ai >= 28)
        return ledger__rd_fail(r, "malformed cbor");
    if (major == 7) {
        if (ai >= 25)
            return ledger__rd_fail(r, "floating-point value");
        if (ai == 20 || ai == 21) {
            it->kind = LEDGER__CB_BOOL;
            it->b = ai == 21;
        } else if (ai == 22) {
            it->kind = LEDGER__CB_NULL;
        } else {
            return ledger__rd_fail(r, ai == 23 ? "undefined value" : "simple value");
        }
        r->off++;
        return 0;
    }
    size_t extra = extra_of[ai];
    uint64_t v = ai < 24 ? ai : 0;
    if (left < 1 + extra)
        return ledger__rd_fail(r, "truncated cbor");
    for (size_t i = 1; i <= extra; i++)
        v = (v << 8) | p[i];
    if (1 + extra != head_len(v))
        return ledger__rd_fail(r, "non-shortest integer or length encoding");
    size_t hl = 1 + extra, rest = left - hl;
    it->u = v;
    switch (major) {
    case 0:
        it->kind = LEDGER__CB_UINT;
        break;
    case 1:
        it->kind = LEDGER__CB_NINT;
        break;
    case 2:
    case 3:
        if (v > rest)
            return ledger__rd_fail(r, "truncated cbor");
        it->kind = major == 2 ? LEDGER__CB_BYTES : LEDGER__CB_TEXT;
        it->p = p + hl;
        it->n = (size_t)v;
        if (major == 3 && !r->lax && !utf8_valid(it->p, it->n))
            return ledger__rd_fail(r, "invalid utf-8 in text string");
        r->off += hl + it->n;
        return 0;
    case 4:
    case 5:
        /* A count can never exceed the bytes left: bounds the work of any loop. */
        if (v > rest)
            return ledger__rd_fail(r, "collection longer than its input");
        it->kind = major == 4 ? LEDGER__CB_ARRAY : LEDGER__CB_MAP;
        break;
    default:
        it->kind = LEDGER__CB_TAG;
        break;
    }
    r->off += hl;
    return 0;
}

int ledger__key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = memcmp(a, b, m);
    if (c != 0)
        return c;
    return an < bn ? -1 : (an > bn ? 1 : 0);
}

int ledger__rd_value(ledger__rd *r, unsigned depth, size_t *start)
{
    ledger__cbitem it;
    size_t s = r->off;
    int rc;
    if (start != NULL)
        *start = s;
    if (depth > LEDGER_MAX_DEPTH)
        return ledger__rd_fail(r, "nesting too deep");
    rc = ledger__rd_next(r, &it);
    if (rc != 0)
        return rc;
    switch (it.kind) {
    case LEDGER__CB_ARRAY:
        for (uint64_t i = 0; i < it.u; i++) {
            rc = ledger__rd_value(r, depth + 1, NULL);
            if (rc != 0)
                return rc;
        }
        break;
    case LEDGER__CB_MAP: {
        size_t pk = 0, pkn = 0;
        for (uint64_t i = 0; i < it.u; i++) {
            size_t ks;
            rc = ledger__rd_value(r, depth + 1, &ks);
            if (rc != 0)
                return rc;
            if (i > 0 && !r->lax && ledger__key_cmp(r->p + pk, pkn, r->p + ks, r->off - ks) >= 0) {
                r->off = ks;
                return ledger__rd_fail(r, "map keys not in canonical order or duplicated");
            }
            pk = ks;
            pkn = r->off - ks;
            rc = ledger__rd_value(r, depth + 1, NULL);
            if (rc != 0)
                return rc;
        }
        break;
    }
    case LEDGER__CB_TAG:
        r->off = s;
        return ledger__rd_fail(r, "unexpected tag");
    default:
        break;
    }
    return 0;
}

int ledger__map_find(const uint8_t *map, size_t maplen, const char *key, ledger__cbitem *out,
                     const uint8_t **vstart, size_t *vlen)
{
    ledger__rd r;
    ledger__cbitem it;
    size_t klen = strlen(key);
    ledger__rd_init(&r, map, maplen, NULL, 0);
    if (ledger__rd_next(&r, &it) != 0 || it.kind != LEDGER__CB_MAP)
        return LEDGER_EENCODING;
    for (uint64_t i = 0; i < it.u; i++) {
        ledger__cbitem k;
        size_t vs;
        if (ledger__rd_next(&r, &k) != 0)
            return LEDGER_EENCODING;
        int order = k.kind != LEDGER__CB_TEXT ? -1
                    : k.n != klen             ? (k.n < klen ? -1 : 1)
                                              : memcmp(k.p, key, klen);
        if (order > 0)
            return LEDGER_ENOTFOUND; /* keys are sorted: it would have come by now */
        bool match = order == 0;
        if (match) {
            size_t save = r.off;
            if (ledger__rd_next(&r, out) != 0)
                return LEDGER_EENCODING;
            r.off = save;
        }
        r.lax = true;
        if (ledger__rd_value(&r, 1, &vs) != 0)
            return LEDGER_EENCODING;
        r.lax = false;
        if (match) {
            if (vstart != NULL)
                *vstart = map + vs;
            if (vlen != NULL)
                *vlen = r.off - vs;
            return 0;
        }
    }
    return LEDGER_ENOTFOUND;
}
