/* What the harnesses share: libFuzzer's entry point (also called by
 * replay_main.c) and the check that turns a broken invariant into a crash. */
#ifndef RX_FUZZ_H
#define RX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Run one input. Always returns 0; a finding is a crash, a sanitizer report or a leak. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: report and abort when it does not hold. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
