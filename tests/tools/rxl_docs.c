/* rxl-docs: print docs/records.md from the record-type table, so the document
 * can never disagree with the code (ctest compares the two). */
#include <stdio.h>
#include <string.h>

#include "ledger/records.h"

static const char *kind_name(ledger_fkind k)
{
    switch (k) {
    case LEDGER_F_TEXT: return "text";
    case LEDGER_F_UINT: return "integer";
    case LEDGER_F_FLAG: return "flag (true)";
    case LEDGER_F_TIME: return "time (ms, UTC)";
    case LEDGER_F_DATE: return "date (ms at 00:00Z)";
    case LEDGER_F_NDC: return "NDC 5-4-2 (+ `-written`)";
    case LEDGER_F_DEA: return "DEA number";
    case LEDGER_F_CHOICE: return "one of";
    case LEDGER_F_KID: return "key id (16 bytes)";
    case LEDGER_F_SEQ: return "entry seq";
    case LEDGER_F_COMMIT: return "patient commitment (32 bytes)";
    case LEDGER_F_BP: return "[systolic, diastolic]";
    case LEDGER_F_MILLI: return "thousandths";
    case LEDGER_F_CONC: return "ug/mL";
    case LEDGER_F_SCHEDULES: return "[schedules]";
    case LEDGER_F_HASH: return "entry hash (32 bytes)";
    case LEDGER_F_FIELDS: return "{field: text}";
    }
    return "?";
}

static void roles(unsigned mask, char *out, size_t cap)
{
    size_t w = 0;
    out[0] = '\0';
    for (int r = LEDGER_ROLE_SITE; r <= LEDGER_ROLE_ADMIN; r++) {
        if ((mask & (1u << r)) == 0)
            continue;
        int n = snprintf(out + w, cap - w, "%s%s", w ? ", " : "", ledger_role_name((ledger_role)r));
        if (n < 0 || (size_t)n >= cap - w)
            return;
        w += (size_t)n;
    }
}

int main(void)
{
    char rs[128];
    puts("# Record types\n");
    puts("Generated from `ledger/src/records.c` by `tests/tools/rxl_docs.c`; `make test`");
    puts("fails if this page and the table disagree. Every entry's body is checked against");
    puts("this table when it is appended and again by `rxledger verify`. The CLI takes one");
    puts("long option per field (`--units-per-container`); internal fields are filled by the");
    puts("program. Roles: `pharmacist`, `prescriber`, `nurse` are licensed; `prescriber` and");
    puts("`nurse` can be monitoring observers; `admin` is clerical; `site` is the site key.\n");
    puts("## Who may sign what\n");
    puts("| type | meaning of the signature | may be signed by | witnesses |");
    puts("|---|---|---|---|");
    for (size_t i = 0; ledger_rtype_at(i) != NULL; i++) {
        const ledger_rtype *rt = ledger_rtype_at(i);
        roles(rt->roles, rs, sizeof(rs));
        printf("| `%s` | %s | %s | %u%s%s%s |\n", rt->type, rt->meaning, rs, rt->witnesses,
               rt->witnesses ? " (licensed, not the signer: \"" : "",
               rt->witnesses ? rt->witness_meaning : "", rt->witnesses ? "\")" : "");
    }
    puts("\nThe bodies of `genesis`, `key.enroll`, `key.revoke` and `note` are described in");
    puts("docs/format.md section 4.\n");
    puts("## Fields\n");
    for (size_t i = 0; ledger_rtype_at(i) != NULL; i++) {
        const ledger_rtype *rt = ledger_rtype_at(i);
        if (rt->fields == NULL)
            continue;
        printf("### `%s`\n\n", rt->type);
        puts("| field | kind | required | range or values | meaning |");
        puts("|---|---|---|---|---|");
        for (size_t j = 0; j < rt->nfields; j++) {
            const ledger_field *f = &rt->fields[j];
            char range[96] = "";
            if (f->kind == LEDGER_F_CHOICE)
                (void)snprintf(range, sizeof(range), "%s", f->choices);
            else if (f->kind == LEDGER_F_TEXT)
                (void)snprintf(range, sizeof(range), "1..%llu bytes", (unsigned long long)f->max);
            else if (f->kind == LEDGER_F_UINT || f->kind == LEDGER_F_MILLI ||
                     f->kind == LEDGER_F_CONC)
                (void)snprintf(range, sizeof(range), "%llu..%llu", (unsigned long long)f->min,
                               (unsigned long long)f->max);
            else if (f->kind == LEDGER_F_BP)
                (void)snprintf(range, sizeof(range), "50..300 / 20..200, dia < sys");
            else if (f->kind == LEDGER_F_SCHEDULES)
                (void)snprintf(range, sizeof(range), "2 2N 3 3N 4 5");
            printf("| `%s` | %s | %s | %s | %s |\n", f->name, kind_name(f->kind),
                   (f->flags & LEDGER_FIELD_REQUIRED) ? "yes" : "",
                   range[0] ? range : "", f->help);
        }
        puts("");
    }
    puts("`override` (where present) records the reason a sequencing check was overridden;");
    puts("the audit lists every override as a finding.");
    return 0;
}
