/* A realistic clinic ledger for the bench (clinic.c). */
#ifndef RXL_BENCH_CLINIC_H
#define RXL_BENCH_CLINIC_H

#include <stdint.h>

#include "keys/keys.h"
#include "ledger/ledger.h"
#include "test_util.h"

typedef struct clinic_stats {
    uint64_t entries, sessions, patients, days;
} clinic_stats;

/* Write a clinic's years into the empty ledger @p l until it holds at least
 * @p n entries: genesis by @p site, @p pharm and two more staff enrolled, a
 * DEA registration and a REMS certification, then one transaction a day.
 * The last day ends before @p now_ms. */
int clinic_fill(ledger *l, keys_key *site, keys_key *pharm, uint64_t n, int64_t now_ms,
                clinic_stats *st);

#endif
