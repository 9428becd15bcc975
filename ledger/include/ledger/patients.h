/**
 * @file patients.h
 * @brief The unchained identity store: patient identifiers in clear, apart
 *        from the chain, so they can be withheld from exports and erased.
 *
 * Chained entries never hold a patient identifier in clear, only a salted
 * commitment: SHA-256(salt || identifier) with a random 32-byte salt. The
 * clear identifier and its salt live here, in a separate LMDB environment in
 * the ledger directory's "identities" subdirectory. Erasing a patient
 * (crypto-shredding) removes the identifier and salt and then rewrites the
 * store compacted, so the bytes are gone from the data file, not only
 * unlinked from the tree; the chain, its hashes and signatures are untouched
 * and the commitments can no longer be linked to anyone.
 *
 * Return codes are LEDGER_E* values from ledger/ledger.h.
 */
#ifndef LEDGER_PATIENTS_H
#define LEDGER_PATIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LEDGER_COMMIT_BYTES   32 /**< SHA-256 commitment */
#define LEDGER_SALT_BYTES     32 /**< random salt per identifier */
#define LEDGER_PATIENT_ID_MAX 64 /**< longest MRN or REMS patient id */

/** Which identifier of a patient. */
typedef enum ledger_idkind {
    LEDGER_ID_MRN = 1, /**< the clinic's medical record number */
    LEDGER_ID_REMS = 2 /**< the REMS patient id */
} ledger_idkind;

/** The identity store of one ledger directory (opaque). */
typedef struct ledger_ids ledger_ids;

/**
 * Open (creating if @p create) the identity store of ledger directory @p dir.
 * @return 0, LEDGER_ENOTFOUND (absent and not @p create), LEDGER_EACCES, LEDGER_EIO.
 */
int ledger_ids_open(ledger_ids **out, const char *dir, bool create, char *errbuf, size_t errlen);

/** Close. Accepts NULL. */
void ledger_ids_close(ledger_ids *s);

/** Detail of the last failure. */
const char *ledger_ids_errmsg(const ledger_ids *s);

/**
 * Check an identifier: 1..LEDGER_PATIENT_ID_MAX printable ASCII characters
 * (0x21..0x7e), no spaces. @return 0 or LEDGER_EINVAL.
 */
int ledger_id_check(const char *id, char *why, size_t whylen);

/** The commitment SHA-256(salt || id) (pure function, for verifiers and tests). */
void ledger_id_commit(uint8_t out[LEDGER_COMMIT_BYTES], const uint8_t salt[LEDGER_SALT_BYTES],
                      const char *id);

/**
 * The commitment for identifier @p id of kind @p kind: the stored one, or, when
 * @p create is true and none exists, a new one with a fresh random salt
 * (stored durably before returning).
 * @return 0, LEDGER_ENOTFOUND (absent and not @p create), LEDGER_EINVAL, storage errors.
 */
int ledger_ids_commit(ledger_ids *s, ledger_idkind kind, const char *id, bool create,
                      uint8_t out[LEDGER_COMMIT_BYTES]);

/**
 * Look a commitment up: the clear identifier and its kind.
 * @param id_out LEDGER_PATIENT_ID_MAX + 1 bytes.
 * @return 0, LEDGER_ENOTFOUND (never known, or erased).
 */
int ledger_ids_lookup(ledger_ids *s, const uint8_t commit[LEDGER_COMMIT_BYTES], char *id_out,
                      ledger_idkind *kind_out);

/**
 * Link a REMS id commitment to the patient's MRN commitment (so erasing the
 * MRN erases the REMS id too). @return 0 or storage errors.
 */
int ledger_ids_link(ledger_ids *s, const uint8_t mrn_commit[LEDGER_COMMIT_BYTES],
                    const uint8_t rems_commit[LEDGER_COMMIT_BYTES]);

/**
 * Erase the patient with MRN @p mrn: the MRN, its salt, and every identifier
 * linked to it; then compact the store so no freed page keeps the bytes.
 * @param commit_out optional: the MRN's commitment (for reporting).
 * @return 0, LEDGER_ENOTFOUND (no such MRN), storage errors.
 */
int ledger_ids_forget(ledger_ids *s, const char *mrn, uint8_t commit_out[LEDGER_COMMIT_BYTES]);

/** Callback for ledger_ids_each(): one identifier with its salt. Non-zero stops. */
typedef int (*ledger_ids_fn)(ledger_idkind kind, const char *id,
                             const uint8_t salt[LEDGER_SALT_BYTES],
                             const uint8_t commit[LEDGER_COMMIT_BYTES], void *ud);

/** Every stored identifier (for exports that include identities). */
int ledger_ids_each(ledger_ids *s, ledger_ids_fn fn, void *ud);

#ifdef __cplusplus
}
#endif
#endif
