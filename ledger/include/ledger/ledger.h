/**
 * @file ledger.h
 * @brief The append-only, hash-chained, signed ledger of rxledger, stored in LMDB.
 *
 * Every entry is a tagged COSE_Sign1 (RFC 9052) whose payload is a CBOR map in
 * deterministic encoding (RFC 8949 section 4.2.1). Entry hash = SHA-256(0x00 ||
 * entry bytes) (the RFC 9162 leaf hash); each entry's "prev" is its
 * predecessor's entry hash. docs/format.md gives the byte-exact format.
 *
 * Errors: functions return 0 or a negative code. LEDGER_E* (range -1xx) are the
 * ledger's own; KEYS_E* (-2xx) pass through unchanged. ledger_strerror() names
 * any of them; ledger_errmsg() gives the detail of the last failure on a handle.
 * Entries are never updated or deleted: there is no such function.
 */
#ifndef LEDGER_LEDGER_H
#define LEDGER_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LEDGER_HASH_BYTES      32            /**< SHA-256 */
#define LEDGER_FORMAT_VERSION  1             /**< payload "v" and on-disk format */
#define LEDGER_MAX_ENTRY_BYTES 65536         /**< largest encoded entry */
#define LEDGER_FIELDS_INDEXED  24            /**< body keys a decoded entry indexes */
#define LEDGER_MAX_DEPTH       8             /**< deepest CBOR nesting in a payload */
#define LEDGER_TYPE_MAX        32            /**< longest entry type name */
#define LEDGER_NAME_MAX        KEYS_NAME_MAX /**< longest printed name */
#define LEDGER_MEANING_MAX     128           /**< longest signature meaning */
#define LEDGER_ROLE_MAX        16            /**< longest role name */
#define LEDGER_LICENSE_MAX     64            /**< longest license text */
#define LEDGER_REASON_MAX      512           /**< longest reason text */
#define LEDGER_TEXT_MAX        4096          /**< longest free text field */
#define LEDGER_ERRMSG_MAX      512           /**< detail message buffer */
/** Tolerance for event times ahead of the recorded time (TIME-FUTURE), ms. */
#define LEDGER_FUTURE_TOLERANCE_MS (5 * 60 * 1000)

/* Error codes: only ever added, never renumbered. */
#define LEDGER_EIO       -101 /**< storage I/O failure */
#define LEDGER_ENOMEM    -102 /**< out of memory */
#define LEDGER_EINVAL    -103 /**< invalid argument or value */
#define LEDGER_ENOTFOUND -104 /**< no such ledger, entry, key or field */
#define LEDGER_EEXIST    -105 /**< ledger already initialised / key already enrolled */
#define LEDGER_ESIGNER   -106 /**< signer key not enrolled */
#define LEDGER_EREVOKED  -107 /**< signer key revoked */
#define LEDGER_ENOTVALID -108 /**< signer key not valid at this time */
#define LEDGER_EROLE     -109 /**< signer's role may not perform this act */
#define LEDGER_ECLOCK    -110 /**< clock went backwards */
#define LEDGER_ETOOBIG   -111 /**< entry or field larger than allowed */
#define LEDGER_EENCODING -112 /**< malformed or non-canonical encoding */
#define LEDGER_EVERIFY   -113 /**< verification failed (see ledger_verify_result) */
#define LEDGER_EFULL     -114 /**< disk full */
#define LEDGER_EVERSION  -115 /**< ledger written by a newer format version */
#define LEDGER_EACCES    -116 /**< permission denied */
#define LEDGER_ENOTINIT  -117 /**< ledger has no genesis entry */
#define LEDGER_EFUTURE   -118 /**< event time too far in the future */
#define LEDGER_ERDONLY   -119 /**< handle opened read-only */
#define LEDGER_EBUSY     -120 /**< resource busy (too many readers, lock) */

/** Roles a key may be enrolled with. */
typedef enum ledger_role {
    LEDGER_ROLE_NONE = 0,
    LEDGER_ROLE_SITE = 1,       /**< the site key (genesis signer) */
    LEDGER_ROLE_PHARMACIST = 2, /**< licensed */
    LEDGER_ROLE_PRESCRIBER = 3, /**< licensed; observer-capable */
    LEDGER_ROLE_NURSE = 4,      /**< licensed; observer-capable */
    LEDGER_ROLE_ADMIN = 5       /**< clerical; not licensed */
} ledger_role;

/** Name of a role ("pharmacist"), or NULL for an unknown value. */
const char *ledger_role_name(ledger_role r);
/** Role by name; LEDGER_ROLE_NONE when unknown. */
ledger_role ledger_role_parse(const char *name);
/** Whether role @p r holds a professional license (may witness waste). */
bool ledger_role_licensed(ledger_role r);

/** The ledger handle (opaque). */
typedef struct ledger ledger;

/** Flags for ledger_open(). */
#define LEDGER_OPEN_CREATE 0x1u /**< create the directory and database if missing */
#define LEDGER_OPEN_RDONLY 0x2u /**< read-only: append fails with LEDGER_ERDONLY */

/**
 * Open the ledger in directory @p dir.
 * @param out receives the handle (NULL on failure); close with ledger_close().
 * @param errbuf optional buffer for the failure detail (the handle does not exist
 *        when open fails).
 * @return 0, LEDGER_ENOTFOUND, LEDGER_EACCES, LEDGER_EVERSION, LEDGER_EIO,
 *         LEDGER_ENOMEM.
 */
int ledger_open(ledger **out, const char *dir, unsigned flags, char *errbuf, size_t errlen);

/** Close a handle. Accepts NULL. */
void ledger_close(ledger *l);

/** Detail message of the last failure on @p l ("" if none). Borrowed. */
const char *ledger_errmsg(const ledger *l);

/** Text for any LEDGER_E* or KEYS_E* code (static). */
const char *ledger_strerror(int code);

/** A map of typed fields, the body of an entry (opaque). Keys are unique text. */
typedef struct ledger_body ledger_body;

/** New empty body. @return 0 or LEDGER_ENOMEM. Free with ledger_body_free(). */
int ledger_body_new(ledger_body **out);
/** Free a body. Accepts NULL. */
void ledger_body_free(ledger_body *b);
/**
 * Add a field. Keys are at most 32 bytes; adding a key twice is LEDGER_EEXIST.
 * Text must be valid UTF-8 without NUL, at most LEDGER_TEXT_MAX bytes.
 * @return 0, LEDGER_EINVAL, LEDGER_EEXIST, LEDGER_ETOOBIG, LEDGER_ENOMEM.
 */
int ledger_body_put_text(ledger_body *b, const char *key, const char *val);
int ledger_body_put_uint(ledger_body *b, const char *key, uint64_t val);
int ledger_body_put_int(ledger_body *b, const char *key, int64_t val);
int ledger_body_put_bool(ledger_body *b, const char *key, bool val);
int ledger_body_put_bytes(ledger_body *b, const char *key, const uint8_t *val, size_t len);
/** Add a nested map (copied). */
int ledger_body_put_map(ledger_body *b, const char *key, const ledger_body *val);

/** What to append. Fill with LEDGER_APPEND_INIT, then set fields. */
typedef struct ledger_append_opts {
    const char *type;        /**< entry type, e.g. "note" (required) */
    const char *meaning;     /**< signature meaning; NULL: the type's default */
    int64_t event_ms;        /**< event time; 0: same as recorded time */
    const ledger_body *body; /**< type-specific fields; NULL: empty */
    int64_t recorded_ms;     /**< 0: system clock (tests may fix it) */
} ledger_append_opts;
#define LEDGER_APPEND_INIT                                                                         \
    {                                                                                              \
        NULL, NULL, 0, NULL, 0                                                                     \
    }

/** What an append produced. */
typedef struct ledger_appended {
    uint64_t seq;
    uint8_t hash[LEDGER_HASH_BYTES];
    int64_t recorded_ms;
} ledger_appended;

/**
 * Create the genesis entry (seq 0), self-signed by @p site_key, carrying the
 * site name, DEA number and site public key.
 * @return 0, LEDGER_EEXIST (already initialised), LEDGER_EINVAL (bad DEA or
 *         name), storage errors.
 */
int ledger_init(ledger *l, const keys_key *site_key, const char *site_name, const char *dea,
                ledger_appended *out);

/**
 * Append one entry signed by @p signer in its own write transaction.
 * Refuses a signer not enrolled, revoked or not valid now, a role not allowed
 * to sign the type, an invalid body for the type, a recorded time earlier than
 * the previous entry's, an event time beyond LEDGER_FUTURE_TOLERANCE_MS ahead.
 * On failure nothing is written.
 * @param out optional; receives seq, hash and recorded time.
 */
int ledger_append(ledger *l, const keys_key *signer, const ledger_append_opts *opts,
                  ledger_appended *out);

/** A write transaction in progress (opaque); see ledger_transact(). */
typedef struct ledger_txn ledger_txn;

/** Work done inside ledger_transact(); return 0 to commit, non-zero to abort. */
typedef int (*ledger_txn_fn)(ledger_txn *t, void *ud);

/**
 * Run @p fn inside one write transaction: all of its appends commit together,
 * or none does (used for an act and its witnesses, and for batches). When the
 * map must grow, the transaction is aborted and @p fn runs again from the
 * start, so @p fn must have no effects other than its appends and its own
 * out-parameters. Concurrent processes serialize on LMDB's writer lock.
 * While @p fn runs, every read through @p l (ledger_head, ledger_read_entry,
 * ledger_key_get, ledger_index_each, ...) sees the entries appended so far in
 * this transaction, so checks on a later entry can rest on earlier ones (a
 * batch). Iterators must not be left open across an append.
 * @return 0, the code @p fn returned, or a storage error.
 */
int ledger_transact(ledger *l, ledger_txn_fn fn, void *ud);

/**
 * Append one entry inside a transaction, with the checks of ledger_append().
 * A later append in the same transaction sees this one (its seq, its hash,
 * its effect on keys).
 */
int ledger_txn_append(ledger_txn *t, const keys_key *signer, const ledger_append_opts *opts,
                      ledger_appended *out);

/**
 * Pin one read snapshot: until ledger_snapshot_end(), every read through @p l
 * (verify, iterators, gets, the head) sees the ledger as it was at the begin,
 * so an audit judges exactly the entries its verify checked, whatever other
 * processes append meanwhile. Not inside ledger_transact(); no appends
 * through @p l until the end.
 * @return 0, LEDGER_EBUSY (already pinned, or inside a transaction), LEDGER_EIO.
 */
int ledger_snapshot_begin(ledger *l);
/** End the pinned snapshot (nothing pinned: nothing done). */
void ledger_snapshot_end(ledger *l);

/** Count and head hash as of the transaction's appends so far. */
int ledger_txn_head(ledger_txn *t, uint64_t *out_count, uint8_t head[LEDGER_HASH_BYTES]);

/** Number of entries and head hash (zero hash when empty). */
int ledger_head(ledger *l, uint64_t *out_count, uint8_t head[LEDGER_HASH_BYTES]);

/** A decoded entry. Strings are NUL-terminated copies; bytes/body are borrowed. */
typedef struct ledger_entry {
    uint64_t seq;
    int64_t recorded_ms;
    int64_t event_ms;
    uint8_t prev[LEDGER_HASH_BYTES];
    uint8_t hash[LEDGER_HASH_BYTES];
    uint8_t kid[KEYS_KID_BYTES];
    uint8_t sig[KEYS_SIG_BYTES];
    char type[LEDGER_TYPE_MAX + 1];
    char name[LEDGER_NAME_MAX + 1];
    char meaning[LEDGER_MEANING_MAX + 1];
    const uint8_t *bytes; /**< the COSE_Sign1 as stored */
    size_t len;
    const uint8_t *body; /**< canonical CBOR map of the type's fields */
    size_t body_len;
    /** Where the body's keys and values start (offsets into body), filled by the
     * decoder so field lookups need not walk the map; nfields 0: not indexed. */
    uint8_t nfields;
    uint16_t field_key[LEDGER_FIELDS_INDEXED], field_val[LEDGER_FIELDS_INDEXED];
    /** Set by the library when the body was already found to match its record
     * type (verify checks bodies ahead on a helper thread); false: check it. */
    bool body_checked;
} ledger_entry;

/**
 * Decode and strictly check the encoding of one stored entry (no signature or
 * chain check). @p out borrows @p bytes.
 * @return 0, LEDGER_EENCODING (detail in @p why), LEDGER_ETOOBIG, LEDGER_EVERSION.
 */
int ledger_entry_decode(ledger_entry *out, const uint8_t *bytes, size_t len, char *why,
                        size_t whylen);

/** Body field lookups. @return 0, LEDGER_ENOTFOUND, LEDGER_EINVAL (wrong type/too long). */
int ledger_entry_get_text(const ledger_entry *e, const char *key, char *buf, size_t cap);
int ledger_entry_get_uint(const ledger_entry *e, const char *key, uint64_t *out);
int ledger_entry_get_int(const ledger_entry *e, const char *key, int64_t *out);
int ledger_entry_get_bool(const ledger_entry *e, const char *key, bool *out);
/** A two-integer array value (e.g. a blood pressure [systolic, diastolic]). */
int ledger_entry_get_uint_pair(const ledger_entry *e, const char *key, uint64_t *a, uint64_t *b);
/** Text value @p key inside the nested map @p map (e.g. an amendment's "set"). */
int ledger_entry_get_map_text(const ledger_entry *e, const char *map, const char *key, char *buf,
                              size_t cap);
/** @p out points into the entry (borrowed). */
int ledger_entry_get_bytes(const ledger_entry *e, const char *key, const uint8_t **out,
                           size_t *outlen);

/**
 * Render the body as "key: value" lines (text quoted, bytes in hex, nested maps
 * indented) into @p buf, NUL-terminated, truncated with "..." if @p cap is small.
 */
void ledger_entry_format_body(const ledger_entry *e, char *buf, size_t cap);

/** A read iterator over entries in seq order inside one read transaction. */
typedef struct ledger_iter ledger_iter;

/**
 * Start iterating at seq @p from.
 * @return 0, LEDGER_ENOMEM, LEDGER_EBUSY, LEDGER_EIO.
 */
int ledger_iter_open(ledger_iter **out, ledger *l, uint64_t from);

/** Leave each entry's hash zero: for a pass over entries this snapshot's
 * ledger_verify() just hashed (see ledger_snapshot_begin()). */
#define LEDGER_ITER_NO_HASH 0x1u

/** ledger_iter_open() with LEDGER_ITER_* @p flags. */
int ledger_iter_open_flags(ledger_iter **out, ledger *l, uint64_t from, unsigned flags);

/**
 * Next entry. @p out is valid until the next call or ledger_iter_free().
 * @return 0 with an entry, 1 at the end, LEDGER_EENCODING for an undecodable
 *         entry (its seq in @p out->seq, detail in ledger_errmsg()).
 */
int ledger_iter_next(ledger_iter *it, ledger_entry *out);

/** ledger_iter_next() without the copy: @p *out points into the iterator and
 * is valid until the next call or ledger_iter_free(). */
int ledger_iter_next_ref(ledger_iter *it, const ledger_entry **out);

/** End the iteration. Accepts NULL. */
void ledger_iter_free(ledger_iter *it);

/** Read one entry by seq into a caller buffer of LEDGER_MAX_ENTRY_BYTES. */
int ledger_get(ledger *l, uint64_t seq, uint8_t *buf, size_t cap, size_t *outlen);

/**
 * Read and decode entry @p seq into @p out, which borrows @p buf (a caller
 * buffer of LEDGER_MAX_ENTRY_BYTES).
 * @return 0, LEDGER_ENOTFOUND, LEDGER_EENCODING (detail in ledger_errmsg()).
 */
int ledger_read_entry(ledger *l, uint64_t seq, uint8_t *buf, size_t cap, ledger_entry *out);

/** An enrolled key as the ledger knows it now. */
typedef struct ledger_keyinfo {
    uint8_t kid[KEYS_KID_BYTES];
    uint8_t pub[KEYS_PUB_BYTES];
    ledger_role role;
    char name[LEDGER_NAME_MAX + 1];
    char license[LEDGER_LICENSE_MAX + 1];
    int64_t valid_from_ms;
    int64_t valid_until_ms; /**< 0: no end */
    uint64_t enrolled_seq;
    bool revoked;
    uint64_t revoked_seq;
    int64_t revoked_ms;
    char revoke_reason[LEDGER_REASON_MAX + 1];
} ledger_keyinfo;

/** Callback for ledger_keys_list(); return non-zero to stop. */
typedef int (*ledger_key_fn)(const ledger_keyinfo *k, void *ud);

/** Call @p fn for every enrolled key (site key included), in kid order. */
int ledger_keys_list(ledger *l, ledger_key_fn fn, void *ud);

/** Look up one key by kid. @return 0 or LEDGER_ENOTFOUND. */
int ledger_key_get(ledger *l, const uint8_t kid[KEYS_KID_BYTES], ledger_keyinfo *out);

/** Tags of the derived index (lookups rebuilt from the chain, never the record). */
#define LEDGER_INDEX_PATIENT 'P' /**< patient commitment -> patient.enroll seqs */
#define LEDGER_INDEX_AMEND   'A' /**< u64 BE seq -> amend seqs naming it */
#define LEDGER_INDEX_WITNESS 'W' /**< u64 BE seq -> witness seqs naming it */
#define LEDGER_INDEX_POLICY  'D' /**< drug name -> policy.adopt seqs for it */

/** Callback for ledger_index_each(): one seq; return non-zero to stop. */
typedef int (*ledger_index_fn)(uint64_t seq, void *ud);

/**
 * Call @p fn for each seq filed under @p tag and @p key (at most 32 bytes), in
 * ascending order. @return 0 (also when none), storage errors.
 */
int ledger_index_each(ledger *l, char tag, const uint8_t *key, size_t keylen, ledger_index_fn fn,
                      void *ud);

/** Progress callback: @p done of @p total entries. */
typedef void (*ledger_progress_fn)(uint64_t done, uint64_t total, void *ud);

/** Flags for ledger_verify(). */
#define LEDGER_VERIFY_NO_SIGNATURES 0x1u /**< hash chain and encoding only */

/** Outcome of a verification. */
typedef struct ledger_verify_result {
    uint64_t entries;                /**< entries checked (good ones) */
    uint8_t head[LEDGER_HASH_BYTES]; /**< hash of the last good entry */
    bool failed;                     /**< a finding was made */
    uint64_t bad_seq;                /**< the first bad entry (valid when failed) */
    char reason[LEDGER_ERRMSG_MAX];  /**< why, one line */
    int cause; /**< LEDGER_E* behind it: EROLE/EREVOKED/ENOTVALID/ESIGNER (authority),
                    ECLOCK (time order), else a broken chain or encoding */
} ledger_verify_result;

/**
 * Verify the whole chain in one read transaction, streaming with flat memory:
 * encoding, seq, links, recorded-time order, signatures, signer status and role
 * at that point of the chain, the stored head and the key index.
 * @return 0 when valid, LEDGER_EVERIFY with @p out describing the first bad
 *         entry, or another code when verification could not run.
 */
int ledger_verify(ledger *l, unsigned flags, ledger_progress_fn progress, void *ud,
                  ledger_verify_result *out);

/** Hex-encode @p n bytes into @p out (2n+1 bytes). */
void ledger_hex(char *out, const uint8_t *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
