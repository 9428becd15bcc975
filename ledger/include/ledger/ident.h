/**
 * @file ident.h
 * @brief Validation and normalization of the identifiers and times rxledger
 *        records: DEA registration numbers, NDCs, RFC 3339 times and dates.
 *
 * All functions are pure (no I/O, no global state). Untrusted text is bounded:
 * inputs longer than the documented maximum are rejected.
 * Return codes are LEDGER_E* values from ledger/ledger.h (0 on success).
 */
#ifndef LEDGER_IDENT_H
#define LEDGER_IDENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest DEA number text accepted: 9 characters + "-" + suffix of up to 10. */
#define LEDGER_DEA_MAX 20
/** Normalized NDC: 11 digits as 5-4-2 with hyphens, plus NUL. */
#define LEDGER_NDC_BYTES 14
/** Longest NDC text accepted (room for the 12-digit 6-4-2 form). */
#define LEDGER_NDC_MAX 16
/** Longest RFC 3339 time text accepted. */
#define LEDGER_TIME_MAX 40
/** Buffer size for ledger_time_format(): "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL. */
#define LEDGER_TIME_TEXT_BYTES 25

/**
 * Check a DEA registration number: 2 letters + 7 digits, first letter a known
 * registrant type (A B F G M P R X), second letter A-Z or '9', check digit
 * (d1+d3+d5 + 2*(d2+d4+d6)) mod 10 == d7; an optional "-SUFFIX" (1-10
 * alphanumerics) may follow. Letters must be upper case.
 * @param why optional buffer for a lower-case reason ("check digit is 3, expected 7").
 * @return 0 or LEDGER_EINVAL.
 */
int ledger_dea_check(const char *dea, char *why, size_t whylen);

/**
 * Normalize an NDC to the 11-digit 5-4-2 hyphenated form.
 * Accepts hyphenated 4-4-2, 5-3-2, 5-4-1 and 5-4-2. Rejects an unhyphenated
 * 10-digit NDC (ambiguous) and anything else, including the 12-digit 6-4-2 form
 * (reported as "not yet supported").
 * @param out receives e.g. "50458-0028-02" (NUL-terminated).
 * @return 0 or LEDGER_EINVAL.
 */
int ledger_ndc_normalize(char out[LEDGER_NDC_BYTES], const char *ndc, char *why, size_t whylen);

/**
 * Parse an RFC 3339 date-time ("2026-11-22T14:05:00-07:00", "…Z", optional
 * fraction of up to 9 digits, 'T' or 't' or ' ' separator) into milliseconds
 * since the Unix epoch, UTC. Rejects invalid calendar dates, hours > 23,
 * minutes > 59, seconds > 60 (a leap second 60 is read as 59.999), offsets
 * beyond +-23:59, and years before 1970 or after 9999.
 * @return 0 or LEDGER_EINVAL.
 */
int ledger_time_parse(int64_t *out_ms, const char *text, char *why, size_t whylen);

/**
 * Parse a date "YYYY-MM-DD" into milliseconds since the epoch at 00:00:00 UTC.
 * @return 0 or LEDGER_EINVAL.
 */
int ledger_date_parse(int64_t *out_ms, const char *text, char *why, size_t whylen);

/** Format @p ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC). */
void ledger_time_format(char out[LEDGER_TIME_TEXT_BYTES], int64_t ms);

/** Format @p ms since the epoch as "YYYY-MM-DD" (UTC) into @p out (11 bytes). */
void ledger_date_format(char out[11], int64_t ms);

#ifdef __cplusplus
}
#endif
#endif
