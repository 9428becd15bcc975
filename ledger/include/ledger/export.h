/**
 * @file export.h
 * @brief The regulator export: a CBOR sequence (RFC 8742) of a header, the
 *        entries as stored and a fresh signed checkpoint, checked offline with
 *        the site key's fingerprint alone (docs/format.md section 5c).
 *
 * Writing and reading both stream: memory is bounded by the header (the
 * context entries and identities), never by the number of entries.
 * Return codes are LEDGER_E* values from ledger/ledger.h.
 */
#ifndef LEDGER_EXPORT_H
#define LEDGER_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "keys/keys.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/patients.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LEDGER_EXPORT_FORMAT     "rxledger-export"
#define LEDGER_EXPORT_VERSION    1
#define LEDGER_EXPORT_HEADER_MAX (64u << 20) /**< largest header a reader accepts */

/** What to export. Fill with LEDGER_EXPORT_INIT. */
typedef struct ledger_export_opts {
    uint64_t from_seq;           /**< first entry */
    uint64_t to_seq;             /**< last entry, inclusive; UINT64_MAX: the last there is */
    ledger_ids *identities;      /**< non-NULL: include the identities the entries commit to */
    ledger_progress_fn progress; /**< optional */
    void *progress_ud;
} ledger_export_opts;
#define LEDGER_EXPORT_INIT                                                                         \
    {                                                                                              \
        0, UINT64_MAX, NULL, NULL, NULL                                                            \
    }

/** What an export holds. */
typedef struct ledger_export_info {
    uint64_t from, count, size; /**< entries from..from+count-1 of a ledger of size */
    uint64_t context;           /**< earlier entries carried in the header */
    uint64_t identities;        /**< identities carried in the header */
    ledger_checkpoint trailer;  /**< the signed checkpoint at the end */
    uint8_t site_fpr[KEYS_FPR_BYTES];
} ledger_export_info;

/**
 * Write an export of entries from..to to @p out (the caller flushes and syncs):
 * signs a fresh checkpoint with @p site_key (stored like any checkpoint) and
 * writes header, entries and that checkpoint as the trailer.
 * @return 0, LEDGER_EROLE (not the site key), LEDGER_EINVAL (range outside the
 *         ledger; detail in ledger_errmsg()), LEDGER_EIO (write failed), storage errors.
 */
int ledger_export_write(ledger *l, const keys_key *site_key, const ledger_export_opts *opts,
                        FILE *out, ledger_export_info *info);

/** An export being read and verified (opaque). */
typedef struct ledger_export_reader ledger_export_reader;

/**
 * Open an export and check its header and context against the trusted site
 * key fingerprint @p fpr.
 * @return 0; LEDGER_EVERIFY (a problem: ledger_export_why(), and the reader is
 *         still returned so the caller can read the detail); LEDGER_ENOMEM.
 */
int ledger_export_open(ledger_export_reader **out, FILE *in, const uint8_t fpr[KEYS_FPR_BYTES]);

/**
 * The next entry of the range, checked (decoding, position, link, signer,
 * role, references). Signatures are checked in parallel batches: a bad one is
 * reported by a later call, naming its entry, and always before the end is
 * returned, so the file is verified only when 1 comes back. @p out is valid
 * until the next call.
 * @return 0 with an entry; 1 at the end, once the trailer is verified and
 *         nothing follows it; LEDGER_EVERIFY (the first problem: ledger_export_why());
 *         LEDGER_EIO (the file cannot be read); LEDGER_ENOMEM.
 */
int ledger_export_next(ledger_export_reader *r, ledger_entry *out);

/**
 * A second pass over a file whose signatures an earlier reader verified (up to
 * where it failed): skip the range's Ed25519 checks, which dominate the cost;
 * every other check still runs.
 */
void ledger_export_trust_signatures(ledger_export_reader *r);

/** The first problem found, one line naming the entry or item. */
const char *ledger_export_why(const ledger_export_reader *r);

/** After a failure: the LEDGER_E* code of a failed entry check (EROLE, EREVOKED,
 *  ENOTVALID, ESIGNER: authority; ECLOCK: time order), 0 for anything else. */
int ledger_export_cause(const ledger_export_reader *r);

/** The seq of the next range entry (where a failure happened). */
uint64_t ledger_export_position(const ledger_export_reader *r);

/** The header's figures (valid after a successful open; trailer after the end). */
void ledger_export_get_info(const ledger_export_reader *r, ledger_export_info *out);

/** Context entries (from the header) in seq order: @p i < info.context. Borrowed. */
int ledger_export_context(const ledger_export_reader *r, uint64_t i, ledger_entry *out);

/** Close. Accepts NULL. */
void ledger_export_close(ledger_export_reader *r);

/** The first seq recorded at or after @p t_ms (the ledger's count when none). */
int ledger_seq_at_time(ledger *l, int64_t t_ms, uint64_t *seq);

#ifdef __cplusplus
}
#endif
#endif
