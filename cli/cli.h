/* Shared helpers of the rxledger command-line tool. */
#ifndef RX_CLI_H
#define RX_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keys/keys.h"
#include "ledger/ident.h"
#include "ledger/ledger.h"

/* Exit codes (documented in docs/rxledger.1). */
#define RX_EXIT_OK       0
#define RX_EXIT_ERROR    1
#define RX_EXIT_USAGE    2
#define RX_EXIT_FINDINGS 3

/* Global options, set by main() before a command runs. */
typedef struct cli_globals {
    const char *dir; /* ledger directory: -l, else RXLEDGER_DIR, else NULL */
} cli_globals;

extern cli_globals cli_g;

/* Copy @p src into @p out, cut to fit (callers accept a cut). */
void cli_copy(char *out, size_t cap, const char *src);
/* One line on stderr: "rxledger: <message>". */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A prefix for every following error line ("line 7: "); NULL clears it. */
void cli_err_context(const char *prefix);
/* Usage error: message plus a hint, returns RX_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report a getopt failure ('?' or ':'), returns RX_EXIT_USAGE. */
int cli_bad_opt(const char *cmd, int c, char **argv);

/* Ledger directory from -l / RXLEDGER_DIR; prints a usage error when absent. */
const char *cli_ledger_dir(const char *cmd);
/* Open the ledger (read-only or read-write); prints the error. */
int cli_open(ledger **out, const char *cmd, bool rdonly);

/* Get a passphrase: --passphrase-file, RXLEDGER_PASSPHRASE, or the terminal. */
int cli_passphrase(char *buf, size_t cap, size_t *len, const char *passfile, const char *prompt,
                   bool confirm);
/* Load a private key file, asking for its passphrase; prints errors. */
int cli_load_key(keys_key **out, const char *path, const char *passfile);

/* Unlock @p keypath, open the ledger and append one @p type entry with @p body;
 * prints any error. @p event_ms 0: same as the recorded time. */
int cli_append(const char *cmd, const char *keypath, const char *passfile, const char *type,
               const ledger_body *body, int64_t event_ms, ledger_appended *out);

/* Parse "now" or an RFC 3339 time; prints "bad --flag ..." on failure. */
int cli_parse_time(int64_t *out, const char *flag, const char *text);
/* The same for when something happened: refuses more than 5 minutes ahead. */
int cli_parse_event_time(int64_t *out, const char *flag, const char *text);
/* Parse a decimal unsigned integer in [min, max]; prints on failure. */
int cli_parse_u64(uint64_t *out, const char *flag, const char *text, uint64_t min, uint64_t max);
/* Parse a hex string of exactly n bytes. */
int cli_parse_hex(uint8_t *out, size_t n, const char *text);
/* Reject text that is empty, too long, has control characters or bad UTF-8. */
int cli_check_text(const char *flag, const char *text, size_t max);

/* The system clock in ms since the epoch. */
int64_t cli_now_ms(void);
/* Time as "2026-11-22T21:05:00.000Z". */
void cli_time(char out[LEDGER_TIME_TEXT_BYTES], int64_t ms);

/* Progress on stderr when it is a terminal. */
void cli_progress(uint64_t done, uint64_t total, void *ud);
void cli_progress_end(void);

/* Copy @p src with control characters (C0, DEL, C1) shown as escapes. */
void cli_safe(char *dst, size_t cap, const char *src);
/* One-line summary of an entry's body, for `log`. */
void cli_summary(const ledger_entry *e, char *buf, size_t cap);

/* One line of an entry's fields for timelines and the log: patients shown by
 * MRN (or "erased"), internal fields left out. */
void cli_body_line(const ledger_entry *e, char *buf, size_t cap);
/* A patient commitment as its MRN, or "erased" (identity store of -l DIR). */
void cli_patient_name(const uint8_t commit[32], char *buf, size_t cap);
/* Print the amendments and witnesses naming @p seq, each line after @p indent. */
void cli_print_amendments(ledger *l, uint64_t seq, const char *indent);
/* Resolve a key id (8..32 hex digits, a unique prefix) among enrolled keys. */
int cli_resolve_kid(ledger *l, const char *flag, const char *text, ledger_keyinfo *out);
/* Run the record command @p name ("stock receive", "dose", ...). */
int cli_record(const char *name, int argc, char **argv);

/* One line of a batch: a record command run inside the batch's transaction,
 * with the batch's ledger, signer and identity store (see cmd_batch.c). */
typedef struct cli_batch_ctx {
    ledger *l;
    keys_key *actor;         /* the batch's signer, unlocked once */
    struct ledger_ids **ids; /* opened on first need, kept open */
    struct ledger_txn *txn;  /* the transaction the entries go into */
    ledger_appended act;     /* out: the act appended */
    size_t nwitness;         /* out: witness entries appended after it */
    char new_patient[80];    /* out: an MRN first seen by this line ("" if none) */
} cli_batch_ctx;
/* The record command for entry type or command name @p type, or NULL. */
const char *cli_record_name(const char *type);
int cli_record_in_batch(const char *name, int argc, char **argv, cli_batch_ctx *bc);

/* The arguments of one batch line, a JSON object (jansson's json_t): argv[0]
 * the command (also in *cmd), the fields as options, argv[*argc] NULL. "@N"
 * stands for seq_of[N] (0: line N appended nothing), N < @p no and < @p nseq.
 * @p argv holds CLI_BATCH_MAX_ARGS; the caller frees argv[0..*argc), also on
 * failure. Prints usage errors; 0, RX_EXIT_USAGE or RX_EXIT_ERROR. */
#define CLI_BATCH_MAX_ARGS 128
struct json_t;
int cli_batch_args(struct json_t *obj, unsigned long no, const uint64_t *seq_of, size_t nseq,
                   const char **cmd, char **argv, int *argc);

/* Read a whole file of at most @p max bytes, NUL-terminated; prints errors. */
int cli_read_file(const char *path, char **out, size_t *len, size_t max);

/* Write a file safely: to PATH.tmp (created exclusively), then fsync and
 * rename over PATH. Errors are printed; abort removes the temporary file. */
FILE *cli_out_open(const char *path, char *tmp, size_t cap);
int cli_out_commit(FILE *f, const char *tmp, const char *path);
void cli_out_abort(FILE *f, const char *tmp);
int cli_write_file(const char *path, const uint8_t *p, size_t n);

/* Parse the trusted site key fingerprint of --site-key; a usage error otherwise. */
int cli_parse_fpr(uint8_t fpr[KEYS_FPR_BYTES], const char *cmd, const char *text);

/* Commands. */
int cmd_audit(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_prove(int argc, char **argv);
int cmd_consistency(int argc, char **argv);
int cmd_verify_proof(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify_export(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_setting(int argc, char **argv);
int cmd_registration(int argc, char **argv);
int cmd_patient(int argc, char **argv);
int cmd_stock(int argc, char **argv);
int cmd_session(int argc, char **argv);
int cmd_vitals(int argc, char **argv);
int cmd_dose(int argc, char **argv);
int cmd_waste(int argc, char **argv);
int cmd_discharge(int argc, char **argv);
int cmd_pmf(int argc, char **argv);
int cmd_amend(int argc, char **argv);
int cmd_inventory(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_note(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
