/**
 * @file merkle.h
 * @brief The RFC 9162 Merkle tree over the ledger's entries.
 *
 * Leaves are the entry hashes (SHA-256(0x00 || entry bytes)); an interior node
 * is SHA-256(0x01 || left || right). The ledger stores every perfect subtree
 * (level k, index i covers leaves [i*2^k, (i+1)*2^k)) as entries are appended,
 * in the same transaction, so the root of any size and every proof take
 * O(log^2 n) reads at worst and no rescan. The algorithms here work over any
 * node source; the verification functions are pure.
 */
#ifndef LEDGER_MERKLE_H
#define LEDGER_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LEDGER_PROOF_MAX 64 /**< longest proof path (2 x 32 levels covers 2^32 entries) */

/** Where perfect-subtree hashes come from: level, index -> hash. 0 or a LEDGER_E* code. */
typedef int (*ledger_node_fn)(void *ud, unsigned level, uint64_t index,
                              uint8_t out[LEDGER_HASH_BYTES]);

/** MTH of the first @p size leaves (size >= 1). */
int ledger_merkle_root_of(ledger_node_fn get, void *ud, uint64_t size,
                          uint8_t root[LEDGER_HASH_BYTES]);
/** RFC 9162 2.1.3.1 inclusion proof of leaf @p index in the tree of @p size leaves. */
int ledger_merkle_inclusion_of(ledger_node_fn get, void *ud, uint64_t index, uint64_t size,
                               uint8_t path[][LEDGER_HASH_BYTES], size_t *npath);
/** RFC 9162 2.1.4.1 consistency proof between sizes @p size1 <= @p size2. */
int ledger_merkle_consistency_of(ledger_node_fn get, void *ud, uint64_t size1, uint64_t size2,
                                 uint8_t path[][LEDGER_HASH_BYTES], size_t *npath);

/** The same over a ledger's stored tree. @return 0, LEDGER_EINVAL (size out of range), storage
 * errors. */
int ledger_merkle_root(ledger *l, uint64_t size, uint8_t root[LEDGER_HASH_BYTES]);
int ledger_merkle_inclusion(ledger *l, uint64_t index, uint64_t size,
                            uint8_t path[][LEDGER_HASH_BYTES], size_t *npath);
int ledger_merkle_consistency(ledger *l, uint64_t size1, uint64_t size2,
                              uint8_t path[][LEDGER_HASH_BYTES], size_t *npath);

/** Interior node: SHA-256(0x01 || left || right). */
void ledger_merkle_node(uint8_t out[LEDGER_HASH_BYTES], const uint8_t left[LEDGER_HASH_BYTES],
                        const uint8_t right[LEDGER_HASH_BYTES]);

/**
 * RFC 9162 2.1.3.2: check that @p leaf (a leaf hash) is at @p index in the tree
 * of @p size leaves whose root is @p root.
 * @return 0 when it verifies, LEDGER_EVERIFY otherwise.
 */
__attribute__((warn_unused_result)) int
ledger_merkle_verify_inclusion(const uint8_t leaf[LEDGER_HASH_BYTES], uint64_t index, uint64_t size,
                               const uint8_t path[][LEDGER_HASH_BYTES], size_t npath,
                               const uint8_t root[LEDGER_HASH_BYTES]);

/**
 * RFC 9162 2.1.4.2: check that the tree of @p size2 leaves (root @p root2)
 * extends the tree of @p size1 leaves (root @p root1).
 * @return 0 when it verifies, LEDGER_EVERIFY otherwise.
 */
__attribute__((warn_unused_result)) int ledger_merkle_verify_consistency(
    uint64_t size1, uint64_t size2, const uint8_t root1[LEDGER_HASH_BYTES],
    const uint8_t root2[LEDGER_HASH_BYTES], const uint8_t path[][LEDGER_HASH_BYTES], size_t npath);

/**
 * The root that @p leaf at @p index with @p path implies for a tree of @p size
 * leaves (RFC 9162 2.1.3.2 without the final comparison): what a receipt with a
 * detached payload is checked with.
 * @return 0, LEDGER_EVERIFY (index out of range, path of the wrong length).
 */
__attribute__((warn_unused_result)) int
ledger_merkle_inclusion_root(const uint8_t leaf[LEDGER_HASH_BYTES], uint64_t index, uint64_t size,
                             const uint8_t path[][LEDGER_HASH_BYTES], size_t npath,
                             uint8_t root[LEDGER_HASH_BYTES]);

/**
 * RFC 9162 2.1.4.2 without the final comparison of the new root: checks that
 * @p path leads to @p root1 for @p size1 and returns the root of @p size2 it implies.
 * @return 0, LEDGER_EVERIFY.
 */
__attribute__((warn_unused_result)) int ledger_merkle_consistency_root(
    uint64_t size1, uint64_t size2, const uint8_t root1[LEDGER_HASH_BYTES],
    const uint8_t path[][LEDGER_HASH_BYTES], size_t npath, uint8_t root2[LEDGER_HASH_BYTES]);

/** A signed checkpoint: the site key's statement of the tree at one size. */
typedef struct ledger_checkpoint {
    uint8_t site[KEYS_KID_BYTES];           /**< the site key's kid (the genesis signer) */
    uint64_t size;                          /**< tree size: entries 0..size-1 */
    uint8_t root[LEDGER_HASH_BYTES];        /**< RFC 9162 root of that tree */
    uint8_t head[LEDGER_HASH_BYTES];        /**< entry hash of entry size-1 (the chain head) */
    int64_t time_ms;                        /**< when it was made (system clock, UTC) */
    bool has_export;                        /**< an export's trailer: it also signs the header */
    uint8_t export_hash[LEDGER_HASH_BYTES]; /**< SHA-256 of that export's header item */
} ledger_checkpoint;

#define LEDGER_CHECKPOINT_MAX 512 /**< largest encoded checkpoint */

/**
 * Make a checkpoint of the whole ledger now, signed by @p site_key (which must
 * be the ledger's site key), and store it beside the chain (nothing is
 * appended to the chain). @p out receives the COSE_Sign1 bytes.
 * @return 0, LEDGER_EROLE (not the site key), LEDGER_ENOTINIT, storage errors.
 */
int ledger_checkpoint_make(ledger *l, const keys_key *site_key, uint8_t *out, size_t cap,
                           size_t *outlen, ledger_checkpoint *cp);

/**
 * Decode a checkpoint and check its signature with @p site_pub (the raw site
 * public key; the caller checks its fingerprint against the trusted one).
 * @return 0, LEDGER_EENCODING (detail in @p why), LEDGER_EVERIFY (bad signature or
 *         not signed by that key).
 */
__attribute__((warn_unused_result)) int
ledger_checkpoint_decode(ledger_checkpoint *out, const uint8_t *p, size_t n,
                         const uint8_t site_pub[KEYS_PUB_BYTES], char *why, size_t whylen);

/** Callback for ledger_checkpoint_each(): the bytes and the decoded checkpoint. */
typedef int (*ledger_checkpoint_fn)(const uint8_t *p, size_t n, const ledger_checkpoint *cp,
                                    void *ud);

/** Every stored checkpoint, oldest first (each verified against the site key). */
int ledger_checkpoint_each(ledger *l, ledger_checkpoint_fn fn, void *ud);

/**
 * The stored checkpoint of tree size @p size (the latest made at that size), or
 * with @p size 0 the latest of all. @return 0, LEDGER_ENOTFOUND, storage errors.
 */
int ledger_checkpoint_get(ledger *l, uint64_t size, uint8_t *out, size_t cap, size_t *outlen,
                          ledger_checkpoint *cp);

/* ---- receipts (RFC 9942 COSE Receipts, verifiable data structure RFC9162_SHA256) ---- */

#define LEDGER_RECEIPT_MAX 4096 /**< largest encoded receipt */

/** What a receipt proves. */
typedef enum ledger_receipt_kind {
    LEDGER_RECEIPT_INCLUSION = 1,  /**< an entry is leaf `index` of the signed tree */
    LEDGER_RECEIPT_CONSISTENCY = 2 /**< the signed tree extends the tree of size `index` */
} ledger_receipt_kind;

/** A verified receipt. */
typedef struct ledger_receipt_info {
    ledger_receipt_kind kind;
    ledger_checkpoint cp;  /**< the signed tree head, root recomputed from the proof */
    uint64_t index;        /**< inclusion: the leaf index; consistency: the old size */
    ledger_checkpoint old; /**< consistency: the earlier checkpoint it extends */
} ledger_receipt_info;

/**
 * Inclusion receipt of entry @p seq under the stored checkpoint of size @p size
 * (0: the latest checkpoint): the checkpoint's protected header and signature,
 * the RFC 9162 path in the unprotected header, the payload detached.
 * @return 0, LEDGER_ENOTFOUND (no such checkpoint), LEDGER_EINVAL (seq not below
 *         the size), LEDGER_ETOOBIG, storage errors.
 */
int ledger_receipt_inclusion(ledger *l, uint64_t seq, uint64_t size, uint8_t *out, size_t cap,
                             size_t *outlen, ledger_checkpoint *cp);

/** Consistency receipt: the checkpoint of size @p size (0: latest) extends size @p old. */
int ledger_receipt_consistency(ledger *l, uint64_t old, uint64_t size, uint8_t *out, size_t cap,
                               size_t *outlen, ledger_checkpoint *cp);

/**
 * Verify a receipt offline against the trusted site key fingerprint @p fpr.
 * For an inclusion receipt @p subject is the entry's bytes; for a consistency
 * receipt it is the earlier checkpoint. One answer: the proof, the subject and
 * the signature all check, or not.
 * @return 0, LEDGER_EENCODING (malformed; detail in @p why), LEDGER_EVERIFY.
 */
__attribute__((warn_unused_result)) int ledger_receipt_verify(const uint8_t *receipt, size_t rlen,
                                                              const uint8_t *subject, size_t slen,
                                                              const uint8_t fpr[KEYS_FPR_BYTES],
                                                              ledger_receipt_info *out, char *why,
                                                              size_t whylen);

#ifdef __cplusplus
}
#endif
#endif
