/* Module-internal interfaces of the policy library. */
#ifndef POLICY_INT_H
#define POLICY_INT_H

#include <stdarg.h>

typedef struct policy__builtin_profile {
    const char *name;
    const char *text;
} policy__builtin_profile;

/* The shipped profiles, embedded at build time (profiles.c, generated). */
extern const policy__builtin_profile policy__builtin[];

void policy__errf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#include "ledger/ledger.h"

/* @p key of entry @p e as corrected by any amendment naming the entry. */
uint64_t policy__quantity(ledger *l, const ledger_entry *e, const char *key);

#endif
