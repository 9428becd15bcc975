/* Module-internal interfaces of the ledger library. Not installed. */
#ifndef LEDGER_INT_H
#define LEDGER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"
#include "ledger/merkle.h"

/* ---- growable output buffer with sticky error ---- */
typedef struct ledger__buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max; /* hard bound; exceeding it sets LEDGER_ETOOBIG */
    int err;
} ledger__buf;

void ledger__buf_init(ledger__buf *b, size_t max);
void ledger__buf_release(ledger__buf *b);
void ledger__buf_put(ledger__buf *b, const void *p, size_t n);

/* ---- deterministic CBOR writer (shortest heads, definite lengths) ---- */
void ledger__cbor_uint(ledger__buf *b, uint64_t v);
void ledger__cbor_int(ledger__buf *b, int64_t v);
void ledger__cbor_bytes(ledger__buf *b, const uint8_t *p, size_t n);
void ledger__cbor_text(ledger__buf *b, const char *p, size_t n);
void ledger__cbor_array(ledger__buf *b, size_t n);
void ledger__cbor_map(ledger__buf *b, size_t n);
void ledger__cbor_tag(ledger__buf *b, uint64_t tag);
void ledger__cbor_bool(ledger__buf *b, bool v);

/* ---- strict deterministic CBOR reader (zero-copy) ---- */
typedef enum ledger__cbkind {
    LEDGER__CB_UINT,
    LEDGER__CB_NINT, /* value = -1 - u */
    LEDGER__CB_BYTES,
    LEDGER__CB_TEXT,
    LEDGER__CB_ARRAY,
    LEDGER__CB_MAP,
    LEDGER__CB_TAG,
    LEDGER__CB_BOOL,
    LEDGER__CB_NULL
} ledger__cbkind;

typedef struct ledger__cbitem {
    ledger__cbkind kind;
    uint64_t u;       /* uint/nint argument, array/map count, tag number */
    const uint8_t *p; /* bytes/text content */
    size_t n;         /* bytes/text length */
    bool b;
} ledger__cbitem;

typedef struct ledger__rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    char *why; /* optional detail buffer */
    size_t whylen;
    bool lax; /* skipping already-checked bytes: no UTF-8 or key-order checks */
} ledger__rd;

void ledger__rd_init(ledger__rd *r, const uint8_t *p, size_t len, char *why, size_t whylen);
/* Read one head (strings include their content). Rejects non-shortest heads,
 * indefinite lengths, floats, undefined, simple values, invalid UTF-8. */
int ledger__rd_next(ledger__rd *r, ledger__cbitem *it);
/* Read one complete value (nested content checked: sorted unique map keys,
 * depth <= LEDGER_MAX_DEPTH, no tags). The value's span is [*start, r->off). */
int ledger__rd_value(ledger__rd *r, unsigned depth, size_t *start);
/* Read the head of a value known to be a map, then each key/value in turn with
 * the order check; helper used by typed decoders. */
int ledger__rd_fail(ledger__rd *r, const char *what);
/* Bytewise order of two encoded keys: <0, 0, >0. */
int ledger__key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* Find @p key in a canonical map (span @p map, @p maplen) and return its value item.
 * For bytes already checked (an entry's body after ledger_entry_decode, a
 * checked export header): the values skipped over are bounded but not
 * re-checked; the value returned is read strictly. */
int ledger__map_find(const uint8_t *map, size_t maplen, const char *key, ledger__cbitem *out,
                     const uint8_t **vstart, size_t *vlen);

/* ---- body (sorted map builder) ---- */
int ledger__body_put_raw(ledger_body *b, const char *key, const uint8_t *val, size_t len);
/* Serialize as a canonical map into @p out. */
void ledger__body_encode(const ledger_body *b, ledger__buf *out);
size_t ledger__body_count(const ledger_body *b);

/* ---- entries ---- */
#define LEDGER__COSE_TAG  18
#define LEDGER__ALG_EDDSA (-8)
/* COSE header labels of signed tree heads and receipts (RFC 9597, RFC 9942) */
#define LEDGER__HDR_CWT_CLAIMS     15
#define LEDGER__HDR_VDS            395
#define LEDGER__HDR_VDP            396
#define LEDGER__VDS_RFC9162_SHA256 1
#define LEDGER__HDR_SITE_PUB       (-65537) /* private use: the site's raw public key */

/* Encode a payload map (deterministic) for the given header fields and body. */
int ledger__payload_build(ledger__buf *out, uint64_t seq, const uint8_t prev[LEDGER_HASH_BYTES],
                          const char *type, int64_t rt, int64_t et,
                          const uint8_t kid[KEYS_KID_BYTES], const char *name, const char *meaning,
                          const ledger_body *body);
/* Build the COSE_Sign1 for a payload, signing with @p k. */
int ledger__entry_build(ledger__buf *out, const keys_key *k, const uint8_t *payload, size_t plen);
/* Sig_structure for protected header @p prot and payload. */
void ledger__sig_structure(ledger__buf *out, const uint8_t *prot, size_t protlen,
                           const uint8_t *payload, size_t plen);
/* SHA-256 of a || b (b may be empty). 0, LEDGER_ENOMEM, LEDGER_EIO. */
int ledger__sha256_2(uint8_t out[LEDGER_HASH_BYTES], const void *a, size_t an, const void *b,
                     size_t bn);
/* RFC 9162 leaf hash of entry bytes. */
int ledger__leaf_hash(uint8_t out[LEDGER_HASH_BYTES], const uint8_t *p, size_t n);
/* Free the calling thread's hashing context (helper threads, before they end). */
void ledger__sha256_thread_end(void);
/* ledger_entry_decode with the leaf hash already computed (@p hash, from the
 * same bytes): verify hashes one batch ahead on another thread. */
int ledger__entry_decode_hashed(ledger_entry *out, const uint8_t *bytes, size_t len,
                                const uint8_t hash[LEDGER_HASH_BYTES], char *why, size_t whylen);
/* Open any of our COSE_Sign1 envelopes (entries, checkpoints): the spans the
 * signature covers, the signature and the protected kid, all strictly checked. */
int ledger__cose_open(const uint8_t *bytes, size_t len, const uint8_t **prot, size_t *protlen,
                      const uint8_t **payload, size_t *plen, const uint8_t **sig,
                      uint8_t kid[KEYS_KID_BYTES], char *why, size_t whylen);
/* Spans of the protected header and payload inside a decoded entry (for Sig_structure). */
int ledger__entry_spans(const ledger_entry *e, const uint8_t **prot, size_t *protlen,
                        const uint8_t **payload, size_t *plen);

/* A signed tree head (checkpoint or receipt) as opened: spans and claims. */
typedef struct ledger__sth {
    const uint8_t *prot, *unprot, *sig;
    size_t protlen, unprotlen;
    bool attached;        /* the payload carries the root (a checkpoint) */
    ledger_checkpoint cp; /* claims; root only when attached */
} ledger__sth;
/* Sign @p cp (site, size, head, time, root) as a checkpoint. */
int ledger__tree_head_sign(ledger__buf *out, const keys_key *site_key, const ledger_checkpoint *cp);
/* Parse strictly (no signature check). */
int ledger__tree_head_open(ledger__sth *out, const uint8_t *p, size_t n, char *why, size_t whylen);
/* Check the site key's signature over @p root with the head's protected header. */
int ledger__tree_head_verify(const ledger__sth *sth, const uint8_t root[LEDGER_HASH_BYTES],
                             const uint8_t site_pub[KEYS_PUB_BYTES], char *why, size_t whylen);

/* What an entry does to the ledger's state. */
typedef enum ledger__effkind {
    LEDGER__EFF_NONE,
    LEDGER__EFF_ENROLL, /* a key joins */
    LEDGER__EFF_REVOKE, /* a key is revoked */
    LEDGER__EFF_REF     /* binds to an earlier entry by its hash (amend, witness) */
} ledger__effkind;
typedef struct ledger__effect {
    ledger__effkind kind;
    ledger_keyinfo key;                  /* ENROLL: the new key */
    uint8_t target[KEYS_KID_BYTES];      /* REVOKE: whose key */
    char reason[LEDGER_REASON_MAX + 1];  /* REVOKE */
    uint64_t ref;                        /* REF: the seq it names */
    uint8_t ref_hash[LEDGER_HASH_BYTES]; /* REF: that entry's hash */
} ledger__effect;

/*
 * The rules every entry obeys, shared by append and verify: type known, signer
 * status and role at the entry's recorded time, printed name as enrolled, body
 * valid for the type. @p signer is the signer's state before this entry (for
 * genesis: ignored, the site key in the body is the signer). Fills @p eff.
 */
int ledger__check_rules(const ledger_entry *e, const ledger_keyinfo *signer, ledger__effect *eff,
                        char *why, size_t whylen);

/* Fill @p out from a key.enroll or genesis entry (kind ENROLL). */
int ledger__effect_of(const ledger_entry *e, ledger__effect *eff, char *why, size_t whylen);

/* ---- the key table of a chain walk, and one step of it (chain.c) ---- */
typedef struct ledger__vkey {
    ledger_keyinfo info;
    keys_pub *pub;
} ledger__vkey;
typedef struct ledger__ktab {
    ledger__vkey *v; /* v[0] is the site key once genesis is read */
    size_t n, cap;
} ledger__ktab;
ledger__vkey *ledger__ktab_find(ledger__ktab *t, const uint8_t kid[KEYS_KID_BYTES]);
void ledger__ktab_release(ledger__ktab *t);
/* Check @p e at position @p expect: seq, link to @p prev (NULL: not checked),
 * recorded time >= @p prev_rt, the rules, the signature (when @p check_sig);
 * then apply its effect (enrol, revoke) to @p t. Fills @p eff. */
int ledger__chain_step(ledger__ktab *t, const ledger_entry *e, uint64_t expect, const uint8_t *prev,
                       int64_t prev_rt, bool check_sig, ledger__effect *eff, char *why,
                       size_t whylen);

/* ---- parallel signature checks (sigpool.c) ---- */
typedef struct ledger__sigpool ledger__sigpool;
/* Workers: RXLEDGER_THREADS, else one per online core (the caller is one). */
int ledger__sigpool_new(ledger__sigpool **out);
unsigned ledger__sigpool_threads(const ledger__sigpool *p);
/* Queue the check of @p sig over the Sig_structure of @p prot and @p payload. */
int ledger__sigpool_add(ledger__sigpool *p, const keys_pub *pub, const uint8_t sig[KEYS_SIG_BYTES],
                        const uint8_t *prot, size_t protlen, const uint8_t *payload, size_t plen,
                        uint64_t seq);
/* Check everything queued; true with the lowest bad seq when a signature failed. */
bool ledger__sigpool_flush(ledger__sigpool *p, uint64_t *bad_seq);
void ledger__sigpool_free(ledger__sigpool *p);

/* ledger_checkpoint_make in two steps: sign (nothing stored), then store; the
 * export stores its checkpoint only once every entry has been written. */
int ledger__checkpoint_sign(ledger *l, const keys_key *site_key, uint8_t *out, size_t cap,
                            size_t *outlen, ledger_checkpoint *cp);
int ledger__checkpoint_store(ledger *l, const uint8_t *cose, size_t len,
                             const ledger_checkpoint *cp);

/* Threads a parallel job may use: RXLEDGER_THREADS, else one per online core. */
unsigned ledger__threads_wanted(void);

/* ---- misc ---- */
void ledger__errf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int64_t ledger__now_ms(void);
/* Tests only: when set, the ledger's clock (scenarios with chosen times). */
extern int64_t (*ledger__test_clock)(void);
void ledger__u64be(uint8_t out[8], uint64_t v);
uint64_t ledger__get_u64be(const uint8_t in[8]);

#endif
