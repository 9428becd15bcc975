/* ledger_body: a map whose keys are sorted bytewise by their encoding when
 * serialized, as deterministic CBOR requires (libcbor does not sort). */
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"

#define BODY_KEY_MAX    32
#define BODY_FIELDS_MAX 64

typedef struct field {
    uint8_t key[BODY_KEY_MAX + 2]; /* encoded key: 1-2 byte head + text */
    size_t keylen;
    uint8_t *val; /* encoded value */
    size_t vallen;
} field;

struct ledger_body {
    field f[BODY_FIELDS_MAX];
    size_t n;
};

int ledger_body_new(ledger_body **out)
{
    *out = calloc(1, sizeof(ledger_body));
    return *out == NULL ? LEDGER_ENOMEM : 0;
}

void ledger_body_free(ledger_body *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->f[i].val);
    free(b);
}

size_t ledger__body_count(const ledger_body *b)
{
    return b->n;
}

static bool text_ok(const char *s, size_t n)
{
    /* The strict reader is the single judge of UTF-8. */
    ledger__buf t;
    ledger__rd r;
    ledger__cbitem it;
    bool ok;
    if (memchr(s, '\0', n) != NULL)
        return false;
    ledger__buf_init(&t, LEDGER_TEXT_MAX + 16);
    ledger__cbor_text(&t, s, n);
    ledger__rd_init(&r, t.p, t.len, NULL, 0);
    ok = t.err == 0 && ledger__rd_next(&r, &it) == 0;
    ledger__buf_release(&t);
    return ok;
}

int ledger__body_put_raw(ledger_body *b, const char *key, const uint8_t *val, size_t len)
{
    size_t kn = key != NULL ? strlen(key) : 0;
    ledger__buf k;
    int rc = 0;
    if (kn == 0 || kn > BODY_KEY_MAX || !text_ok(key, kn) || val == NULL || len == 0)
        return LEDGER_EINVAL;
    if (b->n == BODY_FIELDS_MAX)
        return LEDGER_ETOOBIG;
    if (len > LEDGER_MAX_ENTRY_BYTES)
        return LEDGER_ETOOBIG;
    ledger__buf_init(&k, BODY_KEY_MAX + 2);
    ledger__cbor_text(&k, key, kn);
    if (k.err != 0) {
        rc = k.err;
        goto done;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->f[i].keylen == k.len && memcmp(b->f[i].key, k.p, k.len) == 0) {
            rc = LEDGER_EEXIST;
            goto done;
        }
    }
    field *f = &b->f[b->n];
    f->val = malloc(len);
    if (f->val == NULL) {
        rc = LEDGER_ENOMEM;
        goto done;
    }
    memcpy(f->val, val, len);
    f->vallen = len;
    memcpy(f->key, k.p, k.len);
    f->keylen = k.len;
    b->n++;
done:
    ledger__buf_release(&k);
    return rc;
}

/* Encode one scalar with the writer, then store it. */
static int put_encoded(ledger_body *b, const char *key, ledger__buf *v)
{
    int rc = v->err != 0 ? v->err : ledger__body_put_raw(b, key, v->p, v->len);
    ledger__buf_release(v);
    return rc;
}

int ledger_body_put_text(ledger_body *b, const char *key, const char *val)
{
    ledger__buf v;
    size_t n = val != NULL ? strlen(val) : 0;
    if (val == NULL)
        return LEDGER_EINVAL;
    if (n > LEDGER_TEXT_MAX)
        return LEDGER_ETOOBIG;
    if (!text_ok(val, n))
        return LEDGER_EINVAL;
    ledger__buf_init(&v, LEDGER_TEXT_MAX + 16);
    ledger__cbor_text(&v, val, n);
    return put_encoded(b, key, &v);
}

int ledger_body_put_uint(ledger_body *b, const char *key, uint64_t val)
{
    ledger__buf v;
    ledger__buf_init(&v, 16);
    ledger__cbor_uint(&v, val);
    return put_encoded(b, key, &v);
}

int ledger_body_put_int(ledger_body *b, const char *key, int64_t val)
{
    ledger__buf v;
    ledger__buf_init(&v, 16);
    ledger__cbor_int(&v, val);
    return put_encoded(b, key, &v);
}

int ledger_body_put_bool(ledger_body *b, const char *key, bool val)
{
    ledger__buf v;
    ledger__buf_init(&v, 16);
    ledger__cbor_bool(&v, val);
    return put_encoded(b, key, &v);
}

int ledger_body_put_bytes(ledger_body *b, const char *key, const uint8_t *val, size_t len)
{
    ledger__buf v;
    if (val == NULL && len > 0)
        return LEDGER_EINVAL;
    if (len > LEDGER_TEXT_MAX)
        return LEDGER_ETOOBIG;
    ledger__buf_init(&v, LEDGER_TEXT_MAX + 16);
    ledger__cbor_bytes(&v, val, len);
    return put_encoded(b, key, &v);
}

int ledger_body_put_map(ledger_body *b, const char *key, const ledger_body *val)
{
    ledger__buf v;
    if (val == NULL)
        return LEDGER_EINVAL;
    ledger__buf_init(&v, LEDGER_MAX_ENTRY_BYTES);
    ledger__body_encode(val, &v);
    return put_encoded(b, key, &v);
}

static int field_cmp(const void *a, const void *b)
{
    const field *x = a, *y = b;
    return ledger__key_cmp(x->key, x->keylen, y->key, y->keylen);
}

void ledger__body_encode(const ledger_body *b, ledger__buf *out)
{
    /* Sort a copy of the index so the body stays const and reusable. */
    field sorted[BODY_FIELDS_MAX];
    memcpy(sorted, b->f, b->n * sizeof(field));
    qsort(sorted, b->n, sizeof(field), field_cmp);
    ledger__cbor_map(out, b->n);
    for (size_t i = 0; i < b->n; i++) {
        ledger__buf_put(out, sorted[i].key, sorted[i].keylen);
        ledger__buf_put(out, sorted[i].val, sorted[i].vallen);
    }
}
