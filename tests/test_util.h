/* Helpers every ledger test needs: temp directories, enrolment, verify.
 * They return codes; each test asserts on them in its own framework. */
#ifndef RX_TEST_UTIL_H
#define RX_TEST_UTIL_H

#include <stdint.h>

#include "keys/keys.h"
#include "ledger/ledger.h"

/* Remove a test's temp directory and all in it. 0 on success. */
int rxt_rm_rf(const char *dir);

/* Enroll @p k with @p role, signed by @p site, valid from @p from_ms (until
 * @p until_ms, 0: no end), recorded at @p recorded_ms (0: the ledger's clock).
 * Returns ledger_append()'s code. */
int rxt_enroll(ledger *l, keys_key *site, keys_key *k, const char *name, const char *role,
               int64_t from_ms, int64_t until_ms, int64_t recorded_ms);

/* ledger_verify() with a line on stderr naming the bad entry when it fails. */
int rxt_verify(ledger *l, ledger_verify_result *r);

#endif
