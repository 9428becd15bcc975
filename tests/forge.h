/* Forging under the library, for the adversarial tests (test_malleable,
 * test_keymisuse) and the rxl-forge tool: what someone who can write the LMDB
 * files and holds the legitimate keys can do, done thoroughly, so that the one
 * defect a test plants is the only one. Nothing in rxledger uses this.
 *
 * - rxf_reencode(): a non-canonical re-encoding of a valid entry (the same
 *   values, other bytes), re-signed over exactly the bytes it carries;
 * - rxf_canonical() and rxf_sig_ok(): an independent, lenient reader that shows
 *   such a re-encoding is the same entry and validly signed;
 * - rxf_replace(), rxf_append_raw() and the helpers built on them: plant entries
 *   with every later entry re-chained and re-signed, and the Merkle nodes, the
 *   head, the key records and the derived index kept consistent;
 * - rxf_export(): an export of the stored bytes with a trailer the site key signs.
 */
#ifndef RX_FORGE_H
#define RX_FORGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keys/keys.h"
#include "ledger/ledger.h"
#include "ledger_int.h"

#define RXF_KEYS_MAX 16

/* The keys the forger holds: later entries are re-signed by their own signer. */
typedef struct rxf_keys {
    const keys_key *k[RXF_KEYS_MAX];
    size_t n;
} rxf_keys;

/* Where a re-encoding happens. */
typedef enum rxf_level {
    RXF_ENVELOPE,  /* the tagged COSE_Sign1 array */
    RXF_PROTECTED, /* the protected header map, inside its byte string */
    RXF_PAYLOAD,   /* the payload map, inside its byte string */
    RXF_BODY       /* the body map (and what nests in it) */
} rxf_level;

/* One kind of non-canonical re-encoding. */
typedef struct rxf_kind {
    const char *name; /* e.g. "env-array-indef" */
    rxf_level level;
    const char *what;   /* one line: what is written otherwise */
    const char *reason; /* a substring of the reason the strict decoder gives */
    const char *field;  /* the payload or body key it needs, NULL: none */
    int op;             /* internal */
    int vt;             /* internal */
    bool own_item;      /* in an export the extra bytes are an item of their own */
} rxf_kind;

/* The @p i-th kind, NULL past the end. */
const rxf_kind *rxf_kind_at(size_t i);
const rxf_kind *rxf_kind_find(const char *name);

/*
 * Re-encode the canonical entry @p e as @p kind, signed by @p k over the
 * protected header and payload bytes the result carries (an envelope-only
 * change keeps the signature valid as it is: it is recomputed, identical).
 * @return 0; 1 when the entry has nothing the kind applies to (no such field,
 *         or the value already in its longest form); <0 a LEDGER_E* code.
 */
int rxf_reencode(ledger__buf *out, const uint8_t *e, size_t n, const rxf_kind *kind,
                 const keys_key *k);

/*
 * The oracle: read @p e leniently (longer heads, indefinite lengths, any key
 * order, repeated identical pairs, tags 24 and 55799 and epoch tag 1 around a
 * value, bignums, integral floats, trailing bytes after an item all accepted)
 * and write it in deterministic encoding, the protected header and payload
 * inside the envelope included. For a re-encoding of a canonical entry this
 * gives back the original bytes but for the signature.
 * @return 0, or -1 when @p e is not readable even so.
 */
int rxf_canonical(ledger__buf *out, const uint8_t *e, size_t n);

/* 0 when the signature of @p e verifies with @p pub over the Sig_structure of
 * exactly the protected header and payload bytes @p e carries (leniently read). */
int rxf_sig_ok(const uint8_t *e, size_t n, const uint8_t pub[KEYS_PUB_BYTES]);

/* Build an entry signed by @p k (its kid), with no checks. @p body is an encoded map. */
int rxf_build(ledger__buf *out, const keys_key *k, const char *name, uint64_t seq,
              const uint8_t prev[LEDGER_HASH_BYTES], const char *type, int64_t rt, int64_t et,
              const char *meaning, const uint8_t *body, size_t bodylen);

/*
 * Replace stored entry @p seq by @p p and re-chain: in every later entry each
 * hash that changed (prev, ref-hash) is replaced by the new one and the entry
 * re-signed by its signer from @p keys; the Merkle nodes from @p seq on and the
 * head follow; stored checkpoints (statements about the old chain) are dropped.
 * Replacing with the original bytes restores the ledger exactly (Ed25519 is
 * deterministic). @return 0, or a negative code with @p why.
 */
int rxf_replace(ledger *l, uint64_t seq, const uint8_t *p, size_t n, const rxf_keys *keys,
                char *why, size_t whylen);

/* Append @p p at the head with no checks: Merkle nodes, head, and for an entry
 * that decodes its key record (enrolment, revocation) and derived-index record.
 * @p seq (optional) receives its seq. */
int rxf_append_raw(ledger *l, const uint8_t *p, size_t n, uint64_t *seq, char *why, size_t whylen);

/* Append a copy of entry @p src (type, body, meaning, event time) signed by
 * @p k under @p name (NULL: the key file's name), recorded at @p rt (0: the
 * ledger's clock, not before the head). */
int rxf_append_copy(ledger *l, uint64_t src, const keys_key *k, const char *name, int64_t rt,
                    uint64_t *seq, char *why, size_t whylen);

/* Sign entry @p seq anew as @p k under @p name (same seq, links, times, type,
 * body), then re-chain as rxf_replace(). */
int rxf_resign(ledger *l, uint64_t seq, const keys_key *k, const char *name, const rxf_keys *keys,
               char *why, size_t whylen);

/* The right key over a different payload: note @p seq gets the text @p text
 * but keeps the signature made over its own payload; then re-chain. */
int rxf_swap_payload(ledger *l, uint64_t seq, const char *text, const rxf_keys *keys, char *why,
                     size_t whylen);

/* Non-canonical export items (the site signs the header's hash as written). */
#define RXF_X_HDR_UNSORTED  0x01u /* "left" before "from" */
#define RXF_X_HDR_INT_LONG  0x02u /* "version" 1 in two bytes */
#define RXF_X_HDR_DUP       0x04u /* "format" twice */
#define RXF_X_CTX_BSTR_LONG 0x08u /* a context entry's byte string head one size longer */
#define RXF_X_TRAILER_TAG   0x10u /* the trailer's tag 18 in two bytes */
#define RXF_X_TRAILER_ARRAY 0x20u /* the trailer's array head in two bytes */
#define RXF_X_HDR_INDEF     0x40u /* the header map of indefinite length */

/*
 * Write an export (docs/format.md 5c) of the stored bytes of entries
 * from..size-1, with the context entries @p ctx (seqs below @p from, in
 * order), the compact range from the stored tree and a trailer signed by
 * @p site over the stored tree's root, with the export claim. Nothing is
 * decoded or checked; @p flags add non-canonical encodings (RXF_X_*).
 */
int rxf_export(ledger *l, const keys_key *site, uint64_t from, const uint64_t *ctx, size_t nctx,
               unsigned flags, FILE *out, char *why, size_t whylen);

#endif
