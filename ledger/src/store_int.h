/* The LMDB side of the ledger handle, shared by store.c and verify.c. */
#ifndef LEDGER_STORE_INT_H
#define LEDGER_STORE_INT_H

#include <lmdb.h>

#include "ledger_int.h"

#define LEDGER__RA_MAX_WORKERS 8 /* read-ahead worker threads at most */

/* Named databases inside the one LMDB environment. */
#define LEDGER__DB_ENTRIES     "entries" /* u64 BE seq -> COSE_Sign1 bytes (MDB_APPEND only) */
#define LEDGER__DB_META        "meta"    /* "format" -> u32 BE; "head" -> see ledger__head */
#define LEDGER__DB_KEYS        "keys"    /* kid -> u64 BE enrolled seq || u64 BE revoked seq */
#define LEDGER__DB_INDEX       "index"   /* tag || key -> u64 BE seq (dupsort): derived lookups */
#define LEDGER__DB_MERKLE      "merkle"  /* level (1) || index u64 BE -> perfect subtree hash */
#define LEDGER__DB_CHECKPOINTS "checkpoints" /* size u64 BE || time u64 BE -> COSE_Sign1 */
#define LEDGER__NO_SEQ         UINT64_MAX
#define LEDGER__HEAD_BYTES     (8 + LEDGER_HASH_BYTES + 8)
#define LEDGER__KEYREC_BYTES   16

/* Initial LMDB map size for new handles (tests lower it to force growth). */
extern size_t ledger__initial_map_bytes;

struct ledger {
    MDB_env *env;
    MDB_dbi entries, meta, keys, index, merkle, checkpoints;
    bool rdonly;
    MDB_txn *wtxn; /* the write transaction of ledger_transact() while its callback runs */
    /* ledger_snapshot_begin(): the read transaction every read uses until the
     * end, and more on the same snapshot that read-ahead workers borrow */
    MDB_txn *pin, *pin_w[LEDGER__RA_MAX_WORKERS];
    unsigned pin_nw;
    bool pin_lent[LEDGER__RA_MAX_WORKERS];
    char err[LEDGER_ERRMSG_MAX];
};

/* The stored head: number of entries, hash of the last, its recorded time. */
typedef struct ledger__head {
    uint64_t count;
    uint8_t hash[LEDGER_HASH_BYTES];
    int64_t rt;
} ledger__head;

int ledger__head_read(ledger *l, MDB_txn *txn, ledger__head *h);
/* ---- the chain read ahead in batches on worker threads (readahead.c) ---- */
typedef struct ledger__span {
    const uint8_t *p;
    size_t n;
} ledger__span;
#define LEDGER__HBATCH_LEVELS 10 /* a full batch is one perfect Merkle subtree of this height */
#define LEDGER__HBATCH        (1u << LEDGER__HBATCH_LEVELS)
/* A batch of entries read in seq order from the first key at or after seq
 * @p first: each one's stored seq (UINT64_MAX: a damaged key), its leaf hash
 * (LEDGER__RA_HASH) and the entry decoded (e[i], or the decoder's code in
 * rc[i]: decode again for the reason). The spans stay valid until
 * ledger__ra_free. */
typedef struct ledger__hbatch {
    uint64_t first;
    size_t want, n;
    int end;        /* what ended the read before @p want: MDB_NOTFOUND, an LMDB code */
    int err;        /* hashing failed (LEDGER_ENOMEM, LEDGER_EIO) */
    int merkle_mrc; /* LMDB code reading the Merkle tree */
    /* LEDGER__RA_VERIFY: the first stored Merkle node inside the batch that
     * disagrees with its leaves, by the entry that completes it; and the
     * batch's own subtree root when it holds all LEDGER__HBATCH leaves. */
    bool mfail, has_root;
    unsigned mfail_level;
    uint64_t mfail_seq, mfail_index;
    uint8_t root[LEDGER_HASH_BYTES];
    uint64_t seq[LEDGER__HBATCH];
    ledger__span span[LEDGER__HBATCH];
    ledger_entry e[LEDGER__HBATCH];
    int rc[LEDGER__HBATCH];
    uint8_t leaf[LEDGER__HBATCH][LEDGER_HASH_BYTES];
} ledger__hbatch;
typedef struct ledger__ra ledger__ra;
#define LEDGER__RA_HASH   0x1u /* leaf hashes (else e.hash is zero) */
#define LEDGER__RA_VERIFY 0x2u /* bodies against record types, Merkle nodes in the batch */
#define LEDGER__RA_ONE    0x4u /* one entry per batch, on the caller's thread */
#define LEDGER__RA_LIGHT  0x8u /* one worker at most: the cores have other work */
/* Read @p txn (the caller's snapshot) from seq @p from, the first batch
 * @p first_want entries, doubling to LEDGER__HBATCH. */
int ledger__ra_open(ledger__ra **out, ledger *l, MDB_txn *txn, uint64_t from, unsigned flags,
                    size_t first_want);
/* The next batch in order (valid until the next call): 0, 1 after the last,
 * or an error (text in l->err). A batch may be empty. */
int ledger__ra_next(ledger__ra *r, ledger__hbatch **out);
void ledger__ra_free(ledger__ra *r);

/* Map an LMDB or errno code to a LEDGER_E* code, keeping its text in l->err. */
int ledger__mdb_err(ledger *l, int rc, const char *what);
/* Begin a read transaction (handles MDB_MAP_RESIZED). */
int ledger__read_txn(ledger *l, MDB_txn **out);
/* End a read begun by ledger__read_txn (inside ledger_transact: nothing to end). */
void ledger__end_read(ledger *l, MDB_txn *txn);
/* The site key (kid and raw public key) from the genesis entry. */
int ledger__site_of(ledger *l, MDB_txn *txn, uint8_t kid[KEYS_KID_BYTES],
                    uint8_t pub[KEYS_PUB_BYTES]);
/* Index record of a key: enrolled seq and revoked seq (LEDGER__NO_SEQ if not revoked). */
int ledger__keyrec_get(ledger *l, MDB_txn *txn, const uint8_t kid[KEYS_KID_BYTES],
                       uint64_t *enrolled, uint64_t *revoked);

/* A stored perfect-subtree hash, read inside @p txn. */
int ledger__merkle_get(ledger *l, MDB_txn *txn, unsigned level, uint64_t index,
                       uint8_t out[LEDGER_HASH_BYTES]);

/* Store leaf @p seq and the perfect subtrees it completes. */
int ledger__merkle_append(ledger *l, MDB_txn *txn, uint64_t seq,
                          const uint8_t leaf[LEDGER_HASH_BYTES]);

/* The derived-index record of an entry: 1 and its key (tag || key), or 0 when
 * the entry is not indexed, or a negative code. */
int ledger__index_key(const ledger_entry *e, const ledger__effect *eff, uint8_t key[33],
                      size_t *keylen);

#endif
