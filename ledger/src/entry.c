/* Entries: the COSE_Sign1 envelope, the payload, the type table and the rules
 * every entry obeys (shared by append and verify so they can never disagree). */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ident.h"
#include "ledger/records.h"
#include "ledger_int.h"

/* ---- roles ---- */

static const char *const role_names[] = {NULL,         "site",  "pharmacist",
                                         "prescriber", "nurse", "admin"};
#define ROLE_COUNT (sizeof(role_names) / sizeof(role_names[0]))

const char *ledger_role_name(ledger_role r)
{
    return (unsigned)r < ROLE_COUNT ? role_names[r] : NULL;
}

ledger_role ledger_role_parse(const char *name)
{
    for (unsigned i = 1; name != NULL && i < ROLE_COUNT; i++)
        if (strcmp(name, role_names[i]) == 0)
            return (ledger_role)i;
    return LEDGER_ROLE_NONE;
}

bool ledger_role_licensed(ledger_role r)
{
    return r == LEDGER_ROLE_PHARMACIST || r == LEDGER_ROLE_PRESCRIBER || r == LEDGER_ROLE_NURSE;
}

/* ---- strerror ---- */

const char *ledger_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case LEDGER_EIO:
        return "storage i/o error";
    case LEDGER_ENOMEM:
        return "out of memory";
    case LEDGER_EINVAL:
        return "invalid value";
    case LEDGER_ENOTFOUND:
        return "not found";
    case LEDGER_EEXIST:
        return "already exists";
    case LEDGER_ESIGNER:
        return "signer key not enrolled";
    case LEDGER_EREVOKED:
        return "signer key revoked";
    case LEDGER_ENOTVALID:
        return "signer key not valid at this time";
    case LEDGER_EROLE:
        return "role not allowed to sign this entry";
    case LEDGER_ECLOCK:
        return "clock went backwards";
    case LEDGER_ETOOBIG:
        return "too large";
    case LEDGER_EENCODING:
        return "malformed or non-canonical encoding";
    case LEDGER_EVERIFY:
        return "verification failed";
    case LEDGER_EFULL:
        return "disk full";
    case LEDGER_EVERSION:
        return "ledger format newer than this program";
    case LEDGER_EACCES:
        return "permission denied";
    case LEDGER_ENOTINIT:
        return "ledger not initialised";
    case LEDGER_EFUTURE:
        return "event time in the future";
    case LEDGER_ERDONLY:
        return "ledger opened read-only";
    case LEDGER_EBUSY:
        return "ledger busy";
    default:
        break;
    }
    if (code <= -200 && code > -300)
        return keys_strerror(code);
    return "unknown error";
}

/* ---- hashing and the envelope ---- */

/* SHA-256 with the digest fetched once and a context per thread: an implicit
 * fetch per call (EVP_sha256() in EVP_DigestInit_ex) costs more than hashing
 * a small entry. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static _Thread_local EVP_MD_CTX *sha256_ctx;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int ledger__sha256_2(uint8_t out[LEDGER_HASH_BYTES], const void *a, size_t an, const void *b,
                     size_t bn)
{
    unsigned int len = 0;
    (void)pthread_once(&sha256_once, sha256_fetch);
    if (sha256_md == NULL || (sha256_ctx == NULL && (sha256_ctx = EVP_MD_CTX_new()) == NULL))
        return LEDGER_ENOMEM;
    return EVP_DigestInit_ex(sha256_ctx, sha256_md, NULL) == 1 &&
                   EVP_DigestUpdate(sha256_ctx, a, an) == 1 &&
                   (bn == 0 || EVP_DigestUpdate(sha256_ctx, b, bn) == 1) &&
                   EVP_DigestFinal_ex(sha256_ctx, out, &len) == 1 && len == LEDGER_HASH_BYTES
               ? 0
               : LEDGER_EIO;
}

void ledger__sha256_thread_end(void)
{
    EVP_MD_CTX_free(sha256_ctx);
    sha256_ctx = NULL;
}

int ledger__leaf_hash(uint8_t out[LEDGER_HASH_BYTES], const uint8_t *p, size_t n)
{
    static const uint8_t leaf_prefix = 0x00;
    return ledger__sha256_2(out, &leaf_prefix, 1, p, n);
}

void ledger__sig_structure(ledger__buf *out, const uint8_t *prot, size_t protlen,
                           const uint8_t *payload, size_t plen)
{
    static const char context[] = "Signature1";
    ledger__cbor_array(out, 4);
    ledger__cbor_text(out, context, sizeof(context) - 1);
    ledger__cbor_bytes(out, prot, protlen);
    ledger__cbor_bytes(out, NULL, 0); /* external_aad: empty */
    ledger__cbor_bytes(out, payload, plen);
}

static void protected_header(ledger__buf *out, const uint8_t kid[KEYS_KID_BYTES])
{
    ledger__cbor_map(out, 2);
    ledger__cbor_uint(out, 1); /* alg */
    ledger__cbor_int(out, LEDGER__ALG_EDDSA);
    ledger__cbor_uint(out, 4); /* kid */
    ledger__cbor_bytes(out, kid, KEYS_KID_BYTES);
}

int ledger__entry_build(ledger__buf *out, const keys_key *k, const uint8_t *payload, size_t plen)
{
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES], sig[KEYS_SIG_BYTES];
    ledger__buf prot, tbs;
    int rc;
    keys_key_pub(k, pub);
    keys_kid(kid, pub);
    ledger__buf_init(&prot, 64);
    ledger__buf_init(&tbs, LEDGER_MAX_ENTRY_BYTES + 128);
    protected_header(&prot, kid);
    ledger__sig_structure(&tbs, prot.p, prot.len, payload, plen);
    rc = prot.err != 0 ? prot.err : tbs.err;
    if (rc != 0)
        goto done;
    rc = keys_sign(k, sig, tbs.p, tbs.len);
    if (rc != 0)
        goto done;
    ledger__cbor_tag(out, LEDGER__COSE_TAG);
    ledger__cbor_array(out, 4);
    ledger__cbor_bytes(out, prot.p, prot.len);
    ledger__cbor_map(out, 0); /* unprotected header: empty */
    ledger__cbor_bytes(out, payload, plen);
    ledger__cbor_bytes(out, sig, sizeof(sig));
    rc = out->err;
done:
    ledger__buf_release(&prot);
    ledger__buf_release(&tbs);
    return rc;
}

/* ---- decoding ---- */

static int expect(ledger__rd *r, ledger__cbitem *it, ledger__cbkind kind, const char *what)
{
    int rc = ledger__rd_next(r, it);
    if (rc != 0)
        return rc;
    if (it->kind != kind)
        return ledger__rd_fail(r, what);
    return 0;
}

/* Copy a text item into a fixed C string: bounded, no embedded NUL. */
static int copy_text(ledger__rd *r, const ledger__cbitem *it, char *dst, size_t cap,
                     const char *what)
{
    if (it->kind != LEDGER__CB_TEXT || it->n >= cap || memchr(it->p, 0, it->n) != NULL)
        return ledger__rd_fail(r, what);
    memcpy(dst, it->p, it->n);
    dst[it->n] = '\0';
    return 0;
}

/* "protected header: " and the detail, unless the detail already says so. */
static void protected_why(char *why, size_t whylen, const char *sub)
{
    if (strncmp(sub, "protected header", 16) == 0)
        ledger__errf(why, whylen, "%s", sub);
    else
        ledger__errf(why, whylen, "protected header: %s", sub);
}

static int decode_protected(const uint8_t *p, size_t n, uint8_t kid[KEYS_KID_BYTES], char *why,
                            size_t whylen)
{
    /* {1: -8, 4: h'<16 bytes>'}, as our writer makes it: taken as is */
    static const uint8_t shape[5] = {0xa2, 0x01, 0x27, 0x04, 0x50};
    ledger__rd r;
    ledger__cbitem it;
    int rc;
    if (n == sizeof(shape) + KEYS_KID_BYTES && memcmp(p, shape, sizeof(shape)) == 0) {
        memcpy(kid, p + sizeof(shape), KEYS_KID_BYTES);
        return 0;
    }
    ledger__rd_init(&r, p, n, why, whylen);
    if ((rc = expect(&r, &it, LEDGER__CB_MAP, "protected header is not a map")) != 0)
        return rc;
    if (it.u != 2)
        return ledger__rd_fail(&r, "must hold exactly alg and kid (labels 1 and 4)");
    if ((rc = expect(&r, &it, LEDGER__CB_UINT, "expected alg (1) first")) != 0)
        return rc;
    if (it.u != 1)
        return ledger__rd_fail(&r, "expected alg (1) first, then kid (4)");
    if ((rc = expect(&r, &it, LEDGER__CB_NINT, "alg is not EdDSA")) != 0)
        return rc;
    if (it.u != (uint64_t)(-1 - LEDGER__ALG_EDDSA))
        return ledger__rd_fail(&r, "alg is not EdDSA (-8)");
    if ((rc = expect(&r, &it, LEDGER__CB_UINT, "expected kid (4) after alg")) != 0)
        return rc;
    if (it.u != 4)
        return ledger__rd_fail(&r, "expected kid (4) after alg (1)");
    if ((rc = expect(&r, &it, LEDGER__CB_BYTES, "kid is not a byte string")) != 0)
        return rc;
    if (it.n != KEYS_KID_BYTES)
        return ledger__rd_fail(&r, "kid is not 16 bytes");
    memcpy(kid, it.p, KEYS_KID_BYTES);
    if (r.off != r.len)
        return ledger__rd_fail(&r, "trailing bytes");
    return 0;
}

static int uint_time(ledger__rd *r, const ledger__cbitem *it, int64_t *out)
{
    if (it->kind != LEDGER__CB_UINT || it->u > (uint64_t)INT64_MAX)
        return ledger__rd_fail(r, "time is not a non-negative integer");
    *out = (int64_t)it->u;
    return 0;
}

static bool type_name_ok(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
            return false;
    return true;
}

/* The payload's keys in canonical order (shorter first, then bytewise): every
 * one is required, so a valid payload holds exactly these, in this order. */
static const char *const payload_keys[] = {"v",    "et",   "rt",   "kid",  "seq",
                                           "body", "name", "prev", "type", "meaning"};
#define PAYLOAD_KEYS (sizeof(payload_keys) / sizeof(payload_keys[0]))

static const uint8_t payload_key_len[] = {1, 2, 2, 3, 3, 4, 4, 4, 4, 7};
_Static_assert(sizeof(payload_key_len) == PAYLOAD_KEYS, "a length per payload key");

/* The payload key @p k names, or -1; tried from @p from on first (in a sound
 * payload the key after the last one seen). */
static int payload_key(const ledger__cbitem *k, size_t from)
{
    for (size_t i = 0; i < PAYLOAD_KEYS; i++) {
        size_t j = (from + i) % PAYLOAD_KEYS;
        if (payload_key_len[j] == k->n && memcmp(payload_keys[j], k->p, k->n) == 0)
            return (int)j;
    }
    return -1;
}

/* The body: a map read strictly (sorted unique keys, every value checked), its
 * keys' and values' places noted on the way for the field lookups. */
static int read_body(ledger__rd *r, ledger_entry *e)
{
    ledger__cbitem it;
    size_t start = r->off, pk = 0, pkn = 0;
    int rc;
    if (r->off < r->len && r->p[r->off] >> 5 != 5)
        return ledger__rd_fail(r, "body is not a map");
    if ((rc = ledger__rd_next(r, &it)) != 0)
        return rc;
    bool index = it.u <= LEDGER_FIELDS_INDEXED;
    for (uint64_t i = 0; i < it.u; i++) {
        size_t ks = r->off;
        if ((rc = ledger__rd_value(r, 2, NULL)) != 0)
            return rc;
        if (i > 0 && ledger__key_cmp(r->p + pk, pkn, r->p + ks, r->off - ks) >= 0) {
            r->off = ks;
            return ledger__rd_fail(r, "map keys not in canonical order or duplicated");
        }
        pk = ks;
        pkn = r->off - ks;
        if (index && r->off - start <= UINT16_MAX) {
            e->field_key[i] = (uint16_t)(ks - start);
            e->field_val[i] = (uint16_t)(r->off - start);
        } else {
            index = false;
        }
        if ((rc = ledger__rd_value(r, 2, NULL)) != 0)
            return rc;
    }
    e->body = r->p + start;
    e->body_len = r->off - start;
    e->nfields = index && e->body_len <= UINT16_MAX ? (uint8_t)it.u : 0;
    return 0;
}

static int decode_payload(ledger_entry *e, const uint8_t *p, size_t n, char *why, size_t whylen)
{
    ledger__rd r;
    ledger__cbitem it, v;
    unsigned seen = 0;
    int last = -1;
    int rc;
    ledger__rd_init(&r, p, n, why, whylen);
    if ((rc = expect(&r, &it, LEDGER__CB_MAP, "payload is not a map")) != 0)
        return rc;
    uint64_t pairs = it.u;
    for (uint64_t i = 0; i < pairs; i++) {
        size_t ks = r.off;
        if ((rc = expect(&r, &it, LEDGER__CB_TEXT, "payload key is not text")) != 0)
            return rc;
        int j = payload_key(&it, (size_t)(last + 1));
        if (j < 0) {
            r.off = ks;
            return ledger__rd_fail(&r, "unknown payload field");
        }
        if (j <= last) {
            r.off = ks;
            return ledger__rd_fail(&r, "payload keys not in canonical order or duplicated");
        }
        last = j;
        seen |= 1u << j;
        if (j == 5) { /* body */
            if ((rc = read_body(&r, e)) != 0)
                return rc;
            continue;
        }
        if ((rc = ledger__rd_next(&r, &v)) != 0)
            return rc;
        switch (j) {
        case 0: /* v */
            if (v.kind != LEDGER__CB_UINT)
                return ledger__rd_fail(&r, "version is not an integer");
            if (v.u > LEDGER_FORMAT_VERSION) {
                ledger__errf(why, whylen, "entry format version %llu is newer than %d",
                             (unsigned long long)v.u, LEDGER_FORMAT_VERSION);
                return LEDGER_EVERSION;
            }
            if (v.u != LEDGER_FORMAT_VERSION)
                return ledger__rd_fail(&r, "unsupported entry format version");
            break;
        case 1: /* et */
            if ((rc = uint_time(&r, &v, &e->event_ms)) != 0)
                return rc;
            break;
        case 2: /* rt */
            if ((rc = uint_time(&r, &v, &e->recorded_ms)) != 0)
                return rc;
            break;
        case 3: /* kid */
            if (v.kind != LEDGER__CB_BYTES || v.n != KEYS_KID_BYTES)
                return ledger__rd_fail(&r, "signer kid is not 16 bytes");
            memcpy(e->kid, v.p, KEYS_KID_BYTES);
            break;
        case 4: /* seq */
            if (v.kind != LEDGER__CB_UINT)
                return ledger__rd_fail(&r, "seq is not an integer");
            e->seq = v.u;
            break;
        case 6: /* name */
            if ((rc = copy_text(&r, &v, e->name, sizeof(e->name), "bad printed name")) != 0)
                return rc;
            if (e->name[0] == '\0')
                return ledger__rd_fail(&r, "empty printed name");
            break;
        case 7: /* prev */
            if (v.kind != LEDGER__CB_BYTES || v.n != LEDGER_HASH_BYTES)
                return ledger__rd_fail(&r, "prev is not a 32-byte hash");
            memcpy(e->prev, v.p, LEDGER_HASH_BYTES);
            break;
        case 8: /* type */
            if ((rc = copy_text(&r, &v, e->type, sizeof(e->type), "bad entry type")) != 0)
                return rc;
            if (!type_name_ok(e->type))
                return ledger__rd_fail(&r, "bad entry type");
            break;
        default: /* meaning */
            if ((rc = copy_text(&r, &v, e->meaning, sizeof(e->meaning), "bad meaning")) != 0)
                return rc;
            if (e->meaning[0] == '\0')
                return ledger__rd_fail(&r, "empty meaning");
            break;
        }
    }
    if (seen != (1u << PAYLOAD_KEYS) - 1)
        return ledger__rd_fail(&r, "payload lacks a required field");
    if (r.off != r.len)
        return ledger__rd_fail(&r, "trailing bytes after payload");
    return 0;
}

/* The one shape our writer makes, byte for byte: tag 18, an array of 4, a
 * 21-byte protected header, an empty map, the payload (its length in the
 * shortest 1- or 2-byte form), a 64-byte signature, nothing after. Anything
 * else takes the item-by-item reader below, which says what is wrong. */
static bool envelope_fast(const uint8_t *b, size_t len, const uint8_t **prot, size_t *protlen,
                          const uint8_t **payload, size_t *plen, const uint8_t **sig)
{
    size_t n, at;
    if (len < 27 || b[0] != 0xd2 || b[1] != 0x84 || b[2] != 0x55 || b[24] != 0xa0)
        return false;
    if (b[25] == 0x58 && b[26] >= 24) {
        n = b[26];
        at = 27;
    } else if (b[25] == 0x59 && len >= 28 && ((size_t)b[26] << 8 | b[27]) > 0xff) {
        n = (size_t)b[26] << 8 | b[27];
        at = 28;
    } else {
        return false;
    }
    if (len - at < 2 + KEYS_SIG_BYTES || n != len - at - 2 - KEYS_SIG_BYTES || b[at + n] != 0x58 ||
        b[at + n + 1] != KEYS_SIG_BYTES)
        return false;
    *prot = b + 3;
    *protlen = 21;
    *payload = b + at;
    *plen = n;
    *sig = b + at + n + 2;
    return true;
}

/* Walk the envelope; report the spans the signature covers. */
static int envelope(const uint8_t *bytes, size_t len, const uint8_t **prot, size_t *protlen,
                    const uint8_t **payload, size_t *plen, const uint8_t **sig, char *why,
                    size_t whylen)
{
    ledger__rd r;
    ledger__cbitem it;
    int rc;
    if (envelope_fast(bytes, len, prot, protlen, payload, plen, sig))
        return 0;
    ledger__rd_init(&r, bytes, len, why, whylen);
    if ((rc = expect(&r, &it, LEDGER__CB_TAG, "not a tagged COSE_Sign1")) != 0)
        return rc;
    if (it.u != LEDGER__COSE_TAG)
        return ledger__rd_fail(&r, "not a COSE_Sign1 (tag 18)");
    if ((rc = expect(&r, &it, LEDGER__CB_ARRAY, "COSE_Sign1 is not an array")) != 0)
        return rc;
    if (it.u != 4)
        return ledger__rd_fail(&r, "COSE_Sign1 must have 4 elements");
    if ((rc = expect(&r, &it, LEDGER__CB_BYTES, "protected header is not a byte string")) != 0)
        return rc;
    *prot = it.p;
    *protlen = it.n;
    if ((rc = expect(&r, &it, LEDGER__CB_MAP, "unprotected header is not a map")) != 0)
        return rc;
    if (it.u != 0)
        return ledger__rd_fail(&r, "unprotected header must be empty");
    if ((rc = expect(&r, &it, LEDGER__CB_BYTES, "payload is not a byte string")) != 0)
        return rc;
    *payload = it.p;
    *plen = it.n;
    if ((rc = expect(&r, &it, LEDGER__CB_BYTES, "signature is not a byte string")) != 0)
        return rc;
    if (it.n != KEYS_SIG_BYTES)
        return ledger__rd_fail(&r, "signature is not 64 bytes");
    *sig = it.p;
    if (r.off != r.len)
        return ledger__rd_fail(&r, "trailing bytes after COSE_Sign1");
    return 0;
}

int ledger__cose_open(const uint8_t *bytes, size_t len, const uint8_t **prot, size_t *protlen,
                      const uint8_t **payload, size_t *plen, const uint8_t **sig,
                      uint8_t kid[KEYS_KID_BYTES], char *why, size_t whylen)
{
    char sub[LEDGER_ERRMSG_MAX] = "";
    int rc = envelope(bytes, len, prot, protlen, payload, plen, sig, why, whylen);
    if (rc == 0 && (rc = decode_protected(*prot, *protlen, kid, sub, sizeof(sub))) != 0)
        protected_why(why, whylen, sub);
    return rc;
}

int ledger__entry_spans(const ledger_entry *e, const uint8_t **prot, size_t *protlen,
                        const uint8_t **payload, size_t *plen)
{
    const uint8_t *sig;
    return envelope(e->bytes, e->len, prot, protlen, payload, plen, &sig, NULL, 0);
}

static int decode(ledger_entry *out, const uint8_t *bytes, size_t len, const uint8_t *hash,
                  char *why, size_t whylen)
{
    const uint8_t *prot = NULL, *payload = NULL, *sig = NULL;
    size_t protlen = 0, plen = 0;
    uint8_t hkid[KEYS_KID_BYTES];
    char sub[LEDGER_ERRMSG_MAX] = "";
    int rc;
    memset(out, 0, sizeof(*out));
    if (len > LEDGER_MAX_ENTRY_BYTES) {
        ledger__errf(why, whylen, "entry of %zu bytes exceeds %d", len, LEDGER_MAX_ENTRY_BYTES);
        return LEDGER_ETOOBIG;
    }
    rc = envelope(bytes, len, &prot, &protlen, &payload, &plen, &sig, why, whylen);
    if (rc != 0)
        return rc;
    rc = decode_protected(prot, protlen, hkid, sub, sizeof(sub));
    if (rc != 0) {
        protected_why(why, whylen, sub);
        return rc;
    }
    rc = decode_payload(out, payload, plen, sub, sizeof(sub));
    if (rc != 0) {
        ledger__errf(why, whylen, "payload: %s", sub);
        return rc;
    }
    if (!keys_equal(hkid, out->kid, KEYS_KID_BYTES)) {
        ledger__errf(why, whylen, "kid in protected header differs from signer kid in payload");
        return LEDGER_EENCODING;
    }
    memcpy(out->sig, sig, KEYS_SIG_BYTES);
    out->bytes = bytes;
    out->len = len;
    if (hash != NULL) {
        memcpy(out->hash, hash, LEDGER_HASH_BYTES);
        return 0;
    }
    return ledger__leaf_hash(out->hash, bytes, len);
}

int ledger_entry_decode(ledger_entry *out, const uint8_t *bytes, size_t len, char *why,
                        size_t whylen)
{
    return decode(out, bytes, len, NULL, why, whylen);
}

int ledger__entry_decode_hashed(ledger_entry *out, const uint8_t *bytes, size_t len,
                                const uint8_t hash[LEDGER_HASH_BYTES], char *why, size_t whylen)
{
    return decode(out, bytes, len, hash, why, whylen);
}

/* ---- body access ---- */

/* The value of body field @p key: through the decoder's index when there is
 * one (the body was checked then, so the value is read without re-checking),
 * else by walking the map. */
static int field_find(const ledger_entry *e, const char *key, ledger__cbitem *out,
                      const uint8_t **vstart, size_t *vlen)
{
    size_t klen = strlen(key);
    if (e->nfields == 0)
        return ledger__map_find(e->body, e->body_len, key, out, vstart, vlen);
    for (size_t i = 0; i < e->nfields; i++) {
        const uint8_t *k = e->body + e->field_key[i];
        size_t hl = e->field_val[i] - e->field_key[i];
        /* a text key of klen bytes: its head is 1 byte below 24, else 2 */
        if (klen >= 24 ? hl != klen + 2 || k[0] != 0x78 || k[1] != klen
                       : hl != klen + 1 || k[0] != (0x60 | klen))
            continue;
        if (memcmp(k + hl - klen, key, klen) != 0)
            continue;
        ledger__rd r;
        size_t end = i + 1 < e->nfields ? e->field_key[i + 1] : e->body_len;
        ledger__rd_init(&r, e->body, end, NULL, 0);
        r.off = e->field_val[i];
        r.lax = true;
        if (ledger__rd_next(&r, out) != 0)
            return LEDGER_EENCODING;
        if (vstart != NULL)
            *vstart = e->body + e->field_val[i];
        if (vlen != NULL)
            *vlen = end - e->field_val[i];
        return 0;
    }
    return LEDGER_ENOTFOUND;
}

/* A text item as a C string: bounded, no embedded NUL. */
static int text_out(const ledger__cbitem *it, char *buf, size_t cap)
{
    if (it->kind != LEDGER__CB_TEXT || it->n >= cap || memchr(it->p, 0, it->n) != NULL)
        return LEDGER_EINVAL;
    memcpy(buf, it->p, it->n);
    buf[it->n] = '\0';
    return 0;
}

int ledger_entry_get_text(const ledger_entry *e, const char *key, char *buf, size_t cap)
{
    ledger__cbitem it;
    int rc = field_find(e, key, &it, NULL, NULL);
    if (rc != 0)
        return rc == LEDGER_ENOTFOUND ? rc : LEDGER_EINVAL;
    return text_out(&it, buf, cap);
}

int ledger_entry_get_uint(const ledger_entry *e, const char *key, uint64_t *out)
{
    ledger__cbitem it;
    int rc = field_find(e, key, &it, NULL, NULL);
    if (rc != 0)
        return rc == LEDGER_ENOTFOUND ? rc : LEDGER_EINVAL;
    if (it.kind != LEDGER__CB_UINT)
        return LEDGER_EINVAL;
    *out = it.u;
    return 0;
}

int ledger_entry_get_int(const ledger_entry *e, const char *key, int64_t *out)
{
    ledger__cbitem it;
    int rc = field_find(e, key, &it, NULL, NULL);
    if (rc != 0)
        return rc == LEDGER_ENOTFOUND ? rc : LEDGER_EINVAL;
    if (it.kind == LEDGER__CB_UINT && it.u <= (uint64_t)INT64_MAX)
        *out = (int64_t)it.u;
    else if (it.kind == LEDGER__CB_NINT && it.u <= (uint64_t)INT64_MAX)
        *out = -1 - (int64_t)it.u;
    else
        return LEDGER_EINVAL;
    return 0;
}

int ledger_entry_get_bool(const ledger_entry *e, const char *key, bool *out)
{
    ledger__cbitem it;
    int rc = field_find(e, key, &it, NULL, NULL);
    if (rc != 0)
        return rc == LEDGER_ENOTFOUND ? rc : LEDGER_EINVAL;
    if (it.kind != LEDGER__CB_BOOL)
        return LEDGER_EINVAL;
    *out = it.b;
    return 0;
}

int ledger_entry_get_bytes(const ledger_entry *e, const char *key, const uint8_t **out,
                           size_t *outlen)
{
    ledger__cbitem it;
    int rc = field_find(e, key, &it, NULL, NULL);
    if (rc != 0)
        return rc == LEDGER_ENOTFOUND ? rc : LEDGER_EINVAL;
    if (it.kind != LEDGER__CB_BYTES)
        return LEDGER_EINVAL;
    *out = it.p;
    *outlen = it.n;
    return 0;
}

int ledger_entry_get_uint_pair(const ledger_entry *e, const char *key, uint64_t *a, uint64_t *b)
{
    ledger__cbitem it, x, y;
    const uint8_t *v;
    size_t vlen;
    ledger__rd r;
    int rc = field_find(e, key, &it, &v, &vlen);
    if (rc != 0)
        return rc == LEDGER_ENOTFOUND ? rc : LEDGER_EINVAL;
    ledger__rd_init(&r, v, vlen, NULL, 0);
    if (it.kind != LEDGER__CB_ARRAY || it.u != 2 || ledger__rd_next(&r, &it) != 0 ||
        ledger__rd_next(&r, &x) != 0 || ledger__rd_next(&r, &y) != 0 || x.kind != LEDGER__CB_UINT ||
        y.kind != LEDGER__CB_UINT)
        return LEDGER_EINVAL;
    *a = x.u;
    *b = y.u;
    return 0;
}

int ledger_entry_get_map_text(const ledger_entry *e, const char *map, const char *key, char *buf,
                              size_t cap)
{
    ledger__cbitem it;
    const uint8_t *v;
    size_t vlen;
    int rc = field_find(e, map, &it, &v, &vlen);
    if (rc != 0)
        return rc == LEDGER_ENOTFOUND ? rc : LEDGER_EINVAL;
    if (it.kind != LEDGER__CB_MAP)
        return LEDGER_EINVAL;
    rc = ledger__map_find(v, vlen, key, &it, NULL, NULL);
    if (rc != 0)
        return rc == LEDGER_ENOTFOUND ? rc : LEDGER_EINVAL;
    return text_out(&it, buf, cap);
}

/* ---- rendering the body for people ---- */

typedef struct sb {
    char *p;
    size_t cap, len;
    bool cut;
} sb;

static void sb_put(sb *s, const char *t, size_t n)
{
    if (s->cut)
        return;
    if (s->len + n + 4 > s->cap) {
        size_t room = s->cap > s->len + 4 ? s->cap - s->len - 4 : 0;
        memcpy(s->p + s->len, t, room);
        s->len += room;
        memcpy(s->p + s->len, "...", 4);
        s->cut = true;
        return;
    }
    memcpy(s->p + s->len, t, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static void sb_str(sb *s, const char *t)
{
    sb_put(s, t, strlen(t));
}

static int render(sb *s, ledger__rd *r, unsigned indent, unsigned depth);

static void render_text(sb *s, const uint8_t *p, size_t n)
{
    sb_put(s, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char esc[8];
        if (p[i] == '"' || p[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char)p[i];
            sb_put(s, esc, 2);
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            /* control characters never reach a terminal raw */
            (void)snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
            sb_str(s, esc);
        } else if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
            /* C1 controls (U+0080-U+009F) include the one-byte escape CSI */
            (void)snprintf(esc, sizeof(esc), "\\u%04x", p[i + 1]);
            sb_str(s, esc);
            i++;
        } else {
            sb_put(s, (const char *)&p[i], 1);
        }
    }
    sb_put(s, "\"", 1);
}

/* A key printed as it is: printable ASCII without spaces, quotes or backslashes. */
static bool plain_key(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '"' || p[i] == '\\')
            return false;
    return n > 0;
}

static int render(sb *s, ledger__rd *r, unsigned indent, unsigned depth)
{
    ledger__cbitem it;
    char num[32];
    int rc;
    if (depth > LEDGER_MAX_DEPTH)
        return LEDGER_EENCODING;
    if ((rc = ledger__rd_next(r, &it)) != 0)
        return rc;
    switch (it.kind) {
    case LEDGER__CB_UINT:
        (void)snprintf(num, sizeof(num), "%llu", (unsigned long long)it.u);
        sb_str(s, num);
        break;
    case LEDGER__CB_NINT:
        (void)snprintf(num, sizeof(num), "-%llu", (unsigned long long)it.u + 1ull);
        sb_str(s, num);
        break;
    case LEDGER__CB_TEXT:
        render_text(s, it.p, it.n);
        break;
    case LEDGER__CB_BYTES:
        sb_str(s, "h'");
        for (size_t i = 0; i < it.n; i++) {
            char h[3];
            ledger_hex(h, &it.p[i], 1);
            sb_put(s, h, 2);
        }
        sb_str(s, "'");
        break;
    case LEDGER__CB_BOOL:
        sb_str(s, it.b ? "true" : "false");
        break;
    case LEDGER__CB_NULL:
        sb_str(s, "null");
        break;
    case LEDGER__CB_ARRAY:
        sb_str(s, "[");
        for (uint64_t i = 0; i < it.u; i++) {
            if (i > 0)
                sb_str(s, ", ");
            if ((rc = render(s, r, indent, depth + 1)) != 0)
                return rc;
        }
        sb_str(s, "]");
        break;
    case LEDGER__CB_MAP:
        for (uint64_t i = 0; i < it.u; i++) {
            ledger__cbitem k;
            if (depth > 0 || i > 0)
                sb_str(s, "\n");
            for (unsigned j = 0; j < indent; j++)
                sb_str(s, "  ");
            size_t save = r->off;
            if (ledger__rd_next(r, &k) == 0 && k.kind == LEDGER__CB_TEXT) {
                if (plain_key(k.p, k.n))
                    sb_put(s, (const char *)k.p, k.n);
                else
                    render_text(s, k.p, k.n); /* quoted, control characters escaped */
            } else {
                r->off = save;
                if ((rc = render(s, r, indent, depth + 1)) != 0)
                    return rc;
            }
            sb_str(s, ": ");
            if ((rc = render(s, r, indent + 1, depth + 1)) != 0)
                return rc;
        }
        break;
    case LEDGER__CB_TAG:
        return LEDGER_EENCODING;
    }
    return 0;
}

void ledger_entry_format_body(const ledger_entry *e, char *buf, size_t cap)
{
    sb s = {buf, cap, 0, false};
    ledger__rd r;
    if (cap == 0)
        return;
    buf[0] = '\0';
    if (cap < 8)
        return;
    ledger__rd_init(&r, e->body, e->body_len, NULL, 0);
    if (render(&s, &r, 0, 0) != 0)
        sb_str(&s, "<undecodable body>");
}

/* ---- the rules ---- */

static int body_text(const ledger_entry *e, const char *key, char *buf, size_t cap, bool required,
                     char *why, size_t whylen)
{
    int rc = ledger_entry_get_text(e, key, buf, cap);
    if (rc == LEDGER_ENOTFOUND && !required) {
        buf[0] = '\0';
        return 0;
    }
    if (rc != 0 || (required && buf[0] == '\0')) {
        ledger__errf(why, whylen, "%s: field '%s' missing, empty or invalid", e->type, key);
        return LEDGER_EINVAL;
    }
    return 0;
}

static int body_pub(const ledger_entry *e, const char *key, uint8_t pub[KEYS_PUB_BYTES], char *why,
                    size_t whylen)
{
    const uint8_t *p;
    size_t n;
    if (ledger_entry_get_bytes(e, key, &p, &n) != 0 || n != KEYS_PUB_BYTES) {
        ledger__errf(why, whylen, "%s: field '%s' is not a 32-byte public key", e->type, key);
        return LEDGER_EINVAL;
    }
    memcpy(pub, p, KEYS_PUB_BYTES);
    return 0;
}

int ledger__effect_of(const ledger_entry *e, ledger__effect *eff, char *why, size_t whylen)
{
    ledger_keyinfo *k = &eff->key;
    char role[LEDGER_ROLE_MAX + 1], dea[LEDGER_DEA_MAX + 1], dwhy[128];
    uint64_t from = 0, until = 0;
    int rc;
    memset(eff, 0, sizeof(*eff));
    if (strcmp(e->type, "genesis") == 0) {
        eff->kind = LEDGER__EFF_ENROLL;
        if ((rc = body_pub(e, "site_pub", k->pub, why, whylen)) != 0 ||
            (rc = body_text(e, "site_name", k->name, sizeof(k->name), true, why, whylen)) != 0 ||
            (rc = body_text(e, "dea", dea, sizeof(dea), true, why, whylen)) != 0)
            return rc;
        if (ledger_dea_check(dea, dwhy, sizeof(dwhy)) != 0) {
            ledger__errf(why, whylen, "genesis: dea number '%s': %s", dea, dwhy);
            return LEDGER_EINVAL;
        }
        k->role = LEDGER_ROLE_SITE;
        k->valid_from_ms = e->recorded_ms;
    } else if (strcmp(e->type, "key.enroll") == 0) {
        eff->kind = LEDGER__EFF_ENROLL;
        if ((rc = body_pub(e, "pub", k->pub, why, whylen)) != 0 ||
            (rc = body_text(e, "name", k->name, sizeof(k->name), true, why, whylen)) != 0 ||
            (rc = body_text(e, "role", role, sizeof(role), true, why, whylen)) != 0 ||
            (rc = body_text(e, "license", k->license, sizeof(k->license), false, why, whylen)) != 0)
            return rc;
        k->role = ledger_role_parse(role);
        if (k->role == LEDGER_ROLE_NONE || k->role == LEDGER_ROLE_SITE) {
            ledger__errf(why, whylen, "key.enroll: unknown role '%s'", role);
            return LEDGER_EINVAL;
        }
        if (ledger_role_licensed(k->role) && k->license[0] == '\0') {
            ledger__errf(why, whylen, "key.enroll: role '%s' needs a license", role);
            return LEDGER_EINVAL;
        }
        if (ledger_entry_get_uint(e, "valid_from", &from) != 0 || from > (uint64_t)INT64_MAX) {
            ledger__errf(why, whylen, "key.enroll: field 'valid_from' missing or invalid");
            return LEDGER_EINVAL;
        }
        rc = ledger_entry_get_uint(e, "valid_until", &until);
        if ((rc != 0 && rc != LEDGER_ENOTFOUND) || (rc == 0 && until <= from) ||
            until > (uint64_t)INT64_MAX) {
            ledger__errf(why, whylen, "key.enroll: 'valid_until' must come after 'valid_from'");
            return LEDGER_EINVAL;
        }
        k->valid_from_ms = (int64_t)from;
        k->valid_until_ms = (int64_t)until;
    } else if (strcmp(e->type, "key.revoke") == 0) {
        const uint8_t *p;
        size_t n;
        eff->kind = LEDGER__EFF_REVOKE;
        if (ledger_entry_get_bytes(e, "kid", &p, &n) != 0 || n != KEYS_KID_BYTES) {
            ledger__errf(why, whylen, "key.revoke: field 'kid' is not a 16-byte key id");
            return LEDGER_EINVAL;
        }
        memcpy(eff->target, p, KEYS_KID_BYTES);
        if ((rc = body_text(e, "reason", eff->reason, sizeof(eff->reason), true, why, whylen)) != 0)
            return rc;
        return 0;
    } else if (strcmp(e->type, "note") == 0) {
        char text[LEDGER_TEXT_MAX + 1];
        eff->kind = LEDGER__EFF_NONE;
        return body_text(e, "text", text, sizeof(text), true, why, whylen);
    } else if (strcmp(e->type, "amend") == 0 || strcmp(e->type, "witness") == 0) {
        const uint8_t *p;
        size_t n;
        eff->kind = LEDGER__EFF_REF;
        if (ledger_entry_get_uint(e, "ref", &eff->ref) != 0 ||
            ledger_entry_get_bytes(e, "ref-hash", &p, &n) != 0 || n != LEDGER_HASH_BYTES) {
            ledger__errf(why, whylen, "%s: needs 'ref' and 'ref-hash'", e->type);
            return LEDGER_EINVAL;
        }
        memcpy(eff->ref_hash, p, LEDGER_HASH_BYTES);
        if (eff->ref >= e->seq || (strcmp(e->type, "witness") == 0 && e->seq - eff->ref > 2)) {
            ledger__errf(why, whylen, "%s: 'ref' must name an earlier entry%s", e->type,
                         e->type[0] == 'w' ? " at most 2 before it" : "");
            return LEDGER_EINVAL;
        }
        return 0;
    } else {
        eff->kind = LEDGER__EFF_NONE;
        return 0;
    }
    keys_kid(k->kid, k->pub);
    k->enrolled_seq = e->seq;
    return 0;
}

/* The signer's key id in hex, for a message (made only when one is). */
static const char *kid_text(char out[2 * KEYS_KID_BYTES + 1], const ledger_entry *e)
{
    ledger_hex(out, e->kid, KEYS_KID_BYTES);
    return out;
}

int ledger__check_rules(const ledger_entry *e, const ledger_keyinfo *signer, ledger__effect *eff,
                        char *why, size_t whylen)
{
    char kidhex[2 * KEYS_KID_BYTES + 1];
    const ledger_rtype *t = ledger_rtype_find(e->type);
    int rc;
    if (t == NULL) {
        ledger__errf(why, whylen, "unknown entry type '%s'", e->type);
        return LEDGER_EINVAL;
    }
    if ((e->seq == 0) != (strcmp(e->type, "genesis") == 0)) {
        ledger__errf(why, whylen,
                     e->seq == 0 ? "first entry is not a genesis entry"
                                 : "genesis entry after the start of the chain");
        return LEDGER_EINVAL;
    }
    if ((rc = ledger__effect_of(e, eff, why, whylen)) != 0)
        return rc;
    if (!e->body_checked && (rc = ledger_rtype_check_body(t, e, why, whylen)) != 0)
        return rc;
    if (strcmp(e->type, "setting.certify") == 0) {
        uint64_t from, until;
        if (ledger_entry_get_uint(e, "until", &until) == 0 &&
            ledger_entry_get_uint(e, "from", &from) == 0 && until < from) {
            ledger__errf(why, whylen, "setting.certify: 'until' is before 'from'");
            return LEDGER_EINVAL;
        }
    }
    if (strcmp(e->type, "policy.adopt") == 0) {
        /* The recorded hash must be the text's: what was adopted is exactly what is judged. */
        char *text = malloc(LEDGER_TEXT_MAX + 1);
        const uint8_t *h;
        size_t n;
        uint8_t digest[32];
        bool ok = text != NULL &&
                  ledger_entry_get_text(e, "text", text, LEDGER_TEXT_MAX + 1) == 0 &&
                  ledger_entry_get_bytes(e, "sha256", &h, &n) == 0 && n == 32 &&
                  EVP_Digest(text, strlen(text), digest, NULL, EVP_sha256(), NULL) == 1 &&
                  keys_equal(digest, h, 32);
        free(text);
        if (!ok) {
            ledger__errf(why, whylen, "policy.adopt: sha256 is not the hash of the text");
            return LEDGER_EINVAL;
        }
    }
    if (strcmp(e->type, "vitals") == 0) {
        uint64_t v;
        const uint8_t *p;
        size_t n;
        if (ledger_entry_get_bytes(e, "bp", &p, &n) == LEDGER_ENOTFOUND &&
            ledger_entry_get_uint(e, "hr", &v) == LEDGER_ENOTFOUND &&
            ledger_entry_get_uint(e, "spo2", &v) == LEDGER_ENOTFOUND) {
            ledger__errf(why, whylen, "vitals: at least one of bp, hr, spo2");
            return LEDGER_EINVAL;
        }
    }
    if (e->seq == 0) {
        /* Self-signed: the key in the body is the signer. */
        if (!keys_equal(eff->key.kid, e->kid, KEYS_KID_BYTES)) {
            ledger__errf(why, whylen, "genesis is not signed by the site key it carries");
            return LEDGER_ESIGNER;
        }
        if (strcmp(e->name, eff->key.name) != 0) {
            ledger__errf(why, whylen, "genesis printed name differs from the site name");
            return LEDGER_EINVAL;
        }
        return 0;
    }
    if (signer == NULL) {
        ledger__errf(why, whylen, "signer key %s is not enrolled", kid_text(kidhex, e));
        return LEDGER_ESIGNER;
    }
    if (signer->revoked && signer->revoked_seq < e->seq) {
        ledger__errf(why, whylen, "signer key %s was revoked at seq %llu", kid_text(kidhex, e),
                     (unsigned long long)signer->revoked_seq);
        return LEDGER_EREVOKED;
    }
    if (e->recorded_ms < signer->valid_from_ms ||
        (signer->valid_until_ms != 0 && e->recorded_ms >= signer->valid_until_ms)) {
        char from[LEDGER_TIME_TEXT_BYTES], now[LEDGER_TIME_TEXT_BYTES];
        ledger_time_format(from, signer->valid_from_ms);
        ledger_time_format(now, e->recorded_ms);
        ledger__errf(why, whylen, "signer key %s is not valid at %s (valid from %s%s)",
                     kid_text(kidhex, e), now, from,
                     signer->valid_until_ms != 0 ? ", with an end date" : "");
        return LEDGER_ENOTVALID;
    }
    if (!ledger_rtype_allows(t, signer->role)) {
        ledger__errf(why, whylen, "role '%s' may not sign '%s' entries",
                     ledger_role_name(signer->role), e->type);
        return LEDGER_EROLE;
    }
    if (strcmp(e->name, signer->name) != 0) {
        ledger__errf(why, whylen, "printed name '%s' differs from the enrolled name '%s'", e->name,
                     signer->name);
        return LEDGER_EINVAL;
    }
    return 0;
}
