/**
 * @file keys.h
 * @brief Ed25519 signing keys for rxledger: encrypted key files, key ids,
 *        fingerprints, signing and verification.
 *
 * Private keys live in encrypted PKCS#8 PEM files (PBES2: scrypt + AES-256-CBC),
 * mode 0600, never written unencrypted. A public key file (".pub") holds the
 * SubjectPublicKeyInfo PEM. Both files may carry a first line
 * "rxledger-name: <printed name>" before the PEM block; OpenSSL ignores text
 * outside the PEM boundaries.
 *
 * Errors: functions return 0 or a negative KEYS_E* code (range -2xx). Functions
 * that touch files take an optional error buffer (@p err, @p errlen) that receives
 * a one-line lower-case detail message without trailing period; it may be NULL.
 */
#ifndef KEYS_KEYS_H
#define KEYS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KEYS_PUB_BYTES  32   /**< raw Ed25519 public key */
#define KEYS_SEED_BYTES 32   /**< raw Ed25519 private key (RFC 8032 seed) */
#define KEYS_SIG_BYTES  64   /**< Ed25519 signature */
#define KEYS_KID_BYTES  16   /**< key id: SHA-256(raw public key) truncated */
#define KEYS_FPR_BYTES  32   /**< fingerprint: SHA-256(raw public key) */
#define KEYS_NAME_MAX   128  /**< longest printed name, in bytes */
#define KEYS_PASS_MAX   1024 /**< longest passphrase, in bytes */
#define KEYS_PASS_MIN   8    /**< shortest passphrase accepted for a new key */
/** Text form of a fingerprint: 16 groups of 4 hex digits joined by ':' + NUL. */
#define KEYS_FPR_TEXT_BYTES (KEYS_FPR_BYTES * 2 + KEYS_FPR_BYTES / 2)
/** Default scrypt cost (log2 N) for new key files; r = 8, p = 1: 16 MiB, the
 *  largest the stock `openssl pkcs8` tool (OpenSSL 3.0) can still decrypt. */
#define KEYS_KDF_COST_DEFAULT 14
#define KEYS_KDF_COST_MIN     10
#define KEYS_KDF_COST_MAX     20

/* Error codes: only ever added, never renumbered. */
#define KEYS_EIO      -201 /**< file could not be read or written */
#define KEYS_ENOMEM   -202 /**< out of memory */
#define KEYS_EINVAL   -203 /**< bad argument (e.g. short passphrase, bad text) */
#define KEYS_EPASS    -204 /**< wrong passphrase */
#define KEYS_ECORRUPT -205 /**< file is not a valid key file */
#define KEYS_EPERM    -206 /**< private key file readable by group or others */
#define KEYS_ECRYPTO  -207 /**< OpenSSL failure */
#define KEYS_EEXIST   -208 /**< output file already exists */
#define KEYS_EBADSIG  -209 /**< signature does not verify */
#define KEYS_EKEYTYPE -210 /**< key is not Ed25519 */

/** A private key (opaque). */
typedef struct keys_key keys_key;
/** A public key prepared for fast repeated verification (opaque). */
typedef struct keys_pub keys_pub;

/** Text for any KEYS_E* code (static string); "unknown error" otherwise. */
const char *keys_strerror(int code);

/**
 * Generate a fresh Ed25519 key.
 * @param out receives the key; *out set to NULL on entry; free with keys_free().
 * @return 0, KEYS_ENOMEM or KEYS_ECRYPTO.
 */
int keys_generate(keys_key **out);

/**
 * Write @p k to @p path as encrypted PKCS#8 PEM (mode 0600, created exclusively)
 * and its public key to @p pub_path (mode 0644, created exclusively).
 * @param name printed name stored as the "rxledger-name:" line (may be NULL);
 *        at most KEYS_NAME_MAX bytes, no control characters.
 * @param pass passphrase, KEYS_PASS_MIN..KEYS_PASS_MAX bytes.
 * @param kdf_cost scrypt log2 N, KEYS_KDF_COST_MIN..KEYS_KDF_COST_MAX.
 * Nothing is left behind on failure.
 * @return 0, KEYS_EEXIST, KEYS_EIO, KEYS_EINVAL, KEYS_ECRYPTO, KEYS_ENOMEM.
 */
int keys_save(const keys_key *k, const char *path, const char *pub_path, const char *name,
              const char *pass, size_t passlen, unsigned kdf_cost, char *err, size_t errlen);

/**
 * Load an encrypted private key file.
 * Refuses a file readable or writable by group or others (KEYS_EPERM).
 * @param out receives the key; free with keys_free().
 * @return 0, KEYS_EIO, KEYS_EPERM, KEYS_EPASS, KEYS_ECORRUPT, KEYS_EKEYTYPE, KEYS_ENOMEM.
 */
int keys_load(keys_key **out, const char *path, const char *pass, size_t passlen, char *err,
              size_t errlen);

/**
 * Make a key from a raw 32-byte Ed25519 private key (RFC 8032 seed). For
 * known-answer tests and key recovery; normal keys come from keys_generate().
 * @return 0, KEYS_EINVAL, KEYS_ECRYPTO, KEYS_ENOMEM.
 */
int keys_from_seed(keys_key **out, const uint8_t seed[KEYS_SEED_BYTES]);

/** Free a key, wiping its secret material. Accepts NULL. */
void keys_free(keys_key *k);

/** Copy the raw public key of @p k into @p pub. */
void keys_key_pub(const keys_key *k, uint8_t pub[KEYS_PUB_BYTES]);

/** The printed name stored in the key file, or "" if none (borrowed, lives as long as @p k). */
const char *keys_key_name(const keys_key *k);

/**
 * Read a public key: a ".pub" PEM file, or a private key file's leading name line
 * is not needed. @p name_out (may be NULL, KEYS_NAME_MAX + 1 bytes) receives the
 * "rxledger-name:" line's value or "".
 * @return 0, KEYS_EIO, KEYS_ECORRUPT, KEYS_EKEYTYPE.
 */
int keys_read_pub(uint8_t pub[KEYS_PUB_BYTES], char *name_out, const char *path, char *err,
                  size_t errlen);

/**
 * Write the public key PEM of raw key @p pub (with an optional name line) to a
 * NUL-terminated string in @p buf.
 * @return 0, or KEYS_EINVAL when @p cap is too small, KEYS_ECRYPTO.
 */
int keys_pub_pem(char *buf, size_t cap, const uint8_t pub[KEYS_PUB_BYTES], const char *name);

/**
 * Sign @p msg with @p k (pure Ed25519, RFC 8032).
 * @return 0 or KEYS_ECRYPTO.
 */
int keys_sign(const keys_key *k, uint8_t sig[KEYS_SIG_BYTES], const uint8_t *msg, size_t msglen);

/**
 * Prepare a raw Ed25519 public key for verification.
 * @return 0, KEYS_ENOMEM, KEYS_ECRYPTO (not a valid point encoding).
 */
int keys_pub_new(keys_pub **out, const uint8_t pub[KEYS_PUB_BYTES]);

/** Free a prepared public key. Accepts NULL. */
void keys_pub_free(keys_pub *p);

/**
 * Verify @p sig over @p msg with @p p.
 * @return 0 when the signature is valid, KEYS_EBADSIG otherwise.
 */
__attribute__((warn_unused_result)) int keys_pub_verify(const keys_pub *p,
                                                        const uint8_t sig[KEYS_SIG_BYTES],
                                                        const uint8_t *msg, size_t msglen);

/** One-shot verification with a raw public key. 0 valid, KEYS_EBADSIG otherwise. */
__attribute__((warn_unused_result)) int keys_verify(const uint8_t pub[KEYS_PUB_BYTES],
                                                    const uint8_t sig[KEYS_SIG_BYTES],
                                                    const uint8_t *msg, size_t msglen);

/** Key id: the first KEYS_KID_BYTES of SHA-256(pub). */
void keys_kid(uint8_t kid[KEYS_KID_BYTES], const uint8_t pub[KEYS_PUB_BYTES]);

/** Fingerprint: SHA-256(pub). */
void keys_fingerprint(uint8_t fpr[KEYS_FPR_BYTES], const uint8_t pub[KEYS_PUB_BYTES]);

/** Format a fingerprint as "abcd:ef01:..." (lower-case hex, groups of 4) into @p out. */
void keys_fpr_format(char out[KEYS_FPR_TEXT_BYTES], const uint8_t fpr[KEYS_FPR_BYTES]);

/**
 * Parse a fingerprint given as 64 hex digits, with or without separators
 * (':', ' ', '-'), either case.
 * @return 0 or KEYS_EINVAL.
 */
int keys_fpr_parse(uint8_t fpr[KEYS_FPR_BYTES], const char *text);

/** Constant-time equality of two byte strings of length @p n: 1 equal, 0 not. */
int keys_equal(const void *a, const void *b, size_t n);

/** Wipe @p n bytes at @p p in a way the compiler will not elide. */
void keys_wipe(void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
