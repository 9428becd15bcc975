/* Corrections: the value of a quantity once every amendment naming its entry
 * is applied (later amendments win). Used wherever quantities are summed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy_int.h"

typedef struct amend_search {
    ledger *l;
    const char *key;
    uint64_t value;
    bool found;
} amend_search;

static int amend_seen(uint64_t seq, void *ud)
{
    amend_search *as = ud;
    uint8_t *buf = malloc(LEDGER_MAX_ENTRY_BYTES);
    ledger_entry e;
    char text[32], *end = NULL;
    if (buf == NULL)
        return 1;
    if (ledger_read_entry(as->l, seq, buf, LEDGER_MAX_ENTRY_BYTES, &e) == 0 &&
        ledger_entry_get_map_text(&e, "set", as->key, text, sizeof(text)) == 0 && text[0] >= '0' &&
        text[0] <= '9') {
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno == 0 && *end == '\0') {
            as->value = v; /* later corrections win: the index is in seq order */
            as->found = true;
        }
    }
    free(buf);
    return 0;
}

/* A quantity as corrected by any amendment naming this entry. */
uint64_t policy__quantity(ledger *l, const ledger_entry *e, const char *key)
{
    uint64_t v = 0;
    uint8_t kb[8];
    amend_search as = {l, key, 0, false};
    (void)ledger_entry_get_uint(e, key, &v);
    for (int i = 7, j = 0; i >= 0; i--, j++)
        kb[j] = (uint8_t)(e->seq >> (8 * i));
    if (ledger_index_each(l, LEDGER_INDEX_AMEND, kb, sizeof(kb), amend_seen, &as) == 0 && as.found)
        v = as.value;
    return v;
}
