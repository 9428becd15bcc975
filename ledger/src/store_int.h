/* The LMDB side of the ledger handle, shared by store.c and verify.c. */
#ifndef LEDGER_STORE_INT_H
#define LEDGER_STORE_INT_H

#include <lmdb.h>

#include "ledger_int.h"

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
    char err[LEDGER_ERRMSG_MAX];
};

/* The stored head: number of entries, hash of the last, its recorded time. */
typedef struct ledger__head {
    uint64_t count;
    uint8_t hash[LEDGER_HASH_BYTES];
    int64_t rt;
} ledger__head;

int ledger__head_read(ledger *l, MDB_txn *txn, ledger__head *h);
/* Read up to @p max (at most LEDGER__HBATCH) entries into @p b, the first with
 * @p op (at key @p start for MDB_SET_RANGE). Returns 0 when @p max were read,
 * else what ended the scan (MDB_NOTFOUND at the end). The spans stay valid
 * while the read transaction lasts. */
int ledger__hbatch_fill(MDB_cursor *cur, ledger__hbatch *b, MDB_cursor_op op, MDB_val *start,
                        size_t max);
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
