/**
 * @file records.h
 * @brief The table of record types: for every entry type its fields, who may
 *        sign it, and how many witnesses must co-sign it.
 *
 * This table is the one place that says which role may sign which entry type
 * (docs/records.md is generated from the same facts). Append and verify check
 * every body against it; the CLI takes one long option per field and parses
 * it with ledger_field_parse(); batch input uses the same field names.
 */
#ifndef LEDGER_RECORDS_H
#define LEDGER_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a field is written on the command line and stored in the body. */
typedef enum ledger_fkind {
    LEDGER_F_TEXT = 1,  /**< tstr, printable UTF-8, at most max bytes */
    LEDGER_F_UINT,      /**< uint in [min, max] */
    LEDGER_F_FLAG,      /**< true when given (CLI: a flag without value) */
    LEDGER_F_TIME,      /**< uint ms since epoch; CLI: RFC 3339 or "now" */
    LEDGER_F_DATE,      /**< uint ms at 00:00Z; CLI: YYYY-MM-DD */
    LEDGER_F_NDC,       /**< tstr 5-4-2; "<name>-written" keeps the original form */
    LEDGER_F_DEA,       /**< tstr, a valid DEA number */
    LEDGER_F_CHOICE,    /**< tstr, one of choices ("a|b|c") */
    LEDGER_F_KID,       /**< bstr 16: an enrolled key; CLI: 32 hex digits */
    LEDGER_F_SEQ,       /**< uint: an earlier entry (a session is its session.open seq) */
    LEDGER_F_COMMIT,    /**< bstr 32: a patient commitment; CLI: the identifier */
    LEDGER_F_BP,        /**< [systolic, diastolic] mmHg; CLI: "128/82" */
    LEDGER_F_MILLI,     /**< uint thousandths (mL -> uL, kg -> g); CLI: decimal */
    LEDGER_F_CONC,      /**< uint ug/mL; CLI: "50mg/ml" */
    LEDGER_F_SCHEDULES, /**< [+ tstr] DEA schedules: 2 2N 3 3N 4 5; CLI: "3,4,5" */
    LEDGER_F_HASH,      /**< bstr 32: an entry hash */
    LEDGER_F_FIELDS     /**< {* tstr => tstr}: corrected values; CLI: FIELD=VALUE */
} ledger_fkind;

#define LEDGER_FIELD_REQUIRED 0x1u /**< must be present */
#define LEDGER_FIELD_INTERNAL 0x2u /**< filled by the program, not a CLI option */
#define LEDGER_FIELD_MULTILINE 0x4u /**< TEXT may hold newlines and tabs (a document) */

/** One field of a record type. */
typedef struct ledger_field {
    const char *name; /**< body key, and the CLI's long option */
    ledger_fkind kind;
    unsigned flags;
    uint64_t min, max;   /**< UINT/MILLI/CONC range (stored units); TEXT: max bytes */
    const char *choices; /**< CHOICE: "a|b|c" */
    const char *help;    /**< one line for --help */
} ledger_field;

/** A record type. */
typedef struct ledger_rtype {
    const char *type;    /**< entry type, e.g. "stock.receive" */
    const char *meaning; /**< default meaning of the signature */
    unsigned roles;      /**< bit (1u << ledger_role) per role allowed to sign */
    unsigned witnesses;  /**< witness entries required after it (0, 1 or 2) */
    const char *witness_meaning;
    const ledger_field *fields; /**< NULL: the body is checked by dedicated code */
    size_t nfields;
} ledger_rtype;

/** The record type named @p type, or NULL. */
const ledger_rtype *ledger_rtype_find(const char *type);
/** The @p i-th record type (0-based), NULL past the end. */
const ledger_rtype *ledger_rtype_at(size_t i);
/** The field named @p name of @p rt, or NULL. */
const ledger_field *ledger_rtype_field(const ledger_rtype *rt, const char *name);
/** Whether role @p r may sign entries of type @p rt. */
bool ledger_rtype_allows(const ledger_rtype *rt, ledger_role r);
/** Whether role @p r can be a monitoring observer (signs discharges). */
bool ledger_role_observer(ledger_role r);

/**
 * Parse the command-line text of field @p f and add it to @p b. Kinds that
 * need the ledger (KID prefixes, SEQ existence, COMMIT) take their final form
 * here too: KID 32 hex digits, SEQ a number, COMMIT 64 hex digits. A FIELDS
 * value "FIELD=VALUE" adds FIELD -> VALUE to @p b, which is then the nested map
 * itself (call once per pair, then put that map under the field name).
 * @param why receives "must be ..." style reasons.
 * @return 0, LEDGER_EINVAL, LEDGER_EEXIST (given twice), LEDGER_ETOOBIG.
 */
int ledger_field_parse(const ledger_field *f, const char *text, ledger_body *b, char *why,
                       size_t whylen);

/**
 * Check an entry's body against its record type: every field known, of its
 * kind and range, the required ones present. Entries of types with dedicated
 * code (genesis, keys, note) are checked there.
 * @return 0 or LEDGER_EINVAL with @p why.
 */
int ledger_rtype_check_body(const ledger_rtype *rt, const ledger_entry *e, char *why,
                            size_t whylen);

#ifdef __cplusplus
}
#endif
#endif
