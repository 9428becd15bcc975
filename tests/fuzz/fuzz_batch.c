/* libFuzzer harness: one line of `rxledger batch` input, a JSON object,
 * through jansson and cli_batch_args() into the arguments of its command
 * (cli/cmd_batch.c). As the batch reads it: one line (cut at the first
 * newline, a trailing CR dropped), duplicate keys refused. Lines 1..7 of the
 * batch appended entries 40..46, except line 3. Usage errors print to stderr
 * (libFuzzer runs with -close_fd_mask=3).
 * Corpus: tests/fuzz/corpus/batch (lines of tests/cli/test_batch.sh). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzz.h"

static const uint64_t seq_of[8] = {0, 40, 41, 0, 43, 44, 45, 46};
#define LINE_NO 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n = nl != NULL ? (size_t)(nl - data) : size;
    char *line = malloc(n + 1), *argv[CLI_BATCH_MAX_ARGS] = {NULL};
    const char *cmd = NULL;
    json_error_t jerr;
    json_t *obj;
    int argc = 0, rc;
    if (line == NULL)
        return 0;
    memcpy(line, data, n);
    while (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    obj = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
    if (obj != NULL && json_is_object(obj)) {
        rc = cli_batch_args(obj, LINE_NO, seq_of, sizeof(seq_of) / sizeof(seq_of[0]), &cmd, argv,
                            &argc);
        FUZZ_CHECK(argc >= 0 && argc < CLI_BATCH_MAX_ARGS);
        if (rc == 0) {
            FUZZ_CHECK(cmd != NULL && argc >= 1 && strcmp(argv[0], cmd) == 0);
            FUZZ_CHECK(argv[argc] == NULL);
            for (int i = 1; i < argc; i++)
                FUZZ_CHECK(argv[i] != NULL);
        } else {
            FUZZ_CHECK(rc == RX_EXIT_USAGE || rc == RX_EXIT_ERROR);
        }
        for (int i = 0; i < argc; i++)
            free(argv[i]);
    }
    json_decref(obj);
    free(line);
    return 0;
}
