/* libFuzzer harness: the export reader, as `rxledger verify-export` drives it.
 * Input: the trusted site key fingerprint (KEYS_FPR_BYTES), then the export
 * file. The file is read through a memory stream, entry by entry to the
 * trailer; when that verifies, or fails at a signature, a second pass trusts
 * the signatures, as the audit's second pass does. Corpus: tests/fuzz/corpus/export (exports of a
 * demo ledger, each after its site key's fingerprint). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ledger/export.h"

/* One reading; true when a second pass trusting the signatures is worth a try. */
static bool read_export(uint8_t *file, size_t n, const uint8_t fpr[KEYS_FPR_BYTES], bool trust)
{
    ledger_export_reader *r = NULL;
    ledger_export_info info;
    ledger_entry e;
    memset(&info, 0, sizeof(info));
    uint64_t entries = 0;
    FILE *in = fmemopen(file, n, "rb");
    bool again = false;
    int rc;
    if (in == NULL)
        return false;
    rc = ledger_export_open(&r, in, fpr);
    if (r == NULL)
        goto done;
    if (rc == 0) {
        if (trust)
            ledger_export_trust_signatures(r);
        ledger_export_get_info(r, &info);
        FUZZ_CHECK(info.count > 0 && info.from <= info.size && info.count <= info.size - info.from);
        for (uint64_t i = 0; i < info.context; i++)
            FUZZ_CHECK(ledger_export_context(r, i, &e) == 0 && e.seq < info.from);
        FUZZ_CHECK(ledger_export_context(r, info.context, &e) == LEDGER_ENOTFOUND);
        while ((rc = ledger_export_next(r, &e)) == 0) {
            FUZZ_CHECK(e.seq == info.from + entries && entries < info.count);
            entries++;
        }
        if (rc == 1) {
            FUZZ_CHECK(entries == info.count);
            ledger_export_get_info(r, &info);
            FUZZ_CHECK(info.trailer.size == info.size && info.trailer.has_export);
            FUZZ_CHECK(ledger_export_next(r, &e) == 1);
        } else {
            FUZZ_CHECK(rc == LEDGER_EVERIFY || rc == LEDGER_EIO || rc == LEDGER_ENOMEM);
            FUZZ_CHECK(ledger_export_next(r, &e) != 0);
        }
    }
    if (rc != 0 && rc != 1)
        FUZZ_CHECK(strlen(ledger_export_why(r)) < LEDGER_ERRMSG_MAX);
    /* a bad signature is reported naming its entry, one of the range */
    if (rc != 1 && ledger_export_cause(r) == KEYS_EBADSIG) {
        FUZZ_CHECK(ledger_export_position(r) >= info.from &&
                   ledger_export_position(r) - info.from < info.count);
        again = true;
    }
    again = again || rc == 1;
done:
    ledger_export_close(r);
    fclose(in);
    return again;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    uint8_t fpr[KEYS_FPR_BYTES], *file;
    size_t n;
    if (!once) {
        /* no signature threads: one process, one core per input */
        (void)setenv("RXLEDGER_THREADS", "1", 0);
        once = true;
    }
    if (size < KEYS_FPR_BYTES)
        return 0;
    memcpy(fpr, data, KEYS_FPR_BYTES);
    n = size - KEYS_FPR_BYTES;
    /* a private copy: the stream is opened on writable memory */
    if ((file = malloc(n != 0 ? n : 1)) == NULL)
        return 0;
    memcpy(file, data + KEYS_FPR_BYTES, n);
    if (read_export(file, n, fpr, false))
        (void)read_export(file, n, fpr, true);
    free(file);
    return 0;
}
