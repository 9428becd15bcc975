/* Policy profiles: INI text (libinih) into a policy_profile, every key known,
 * every value range-checked, the required ones present. */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy_int.h"

void policy__errf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (buf == NULL || cap == 0)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

/* libinih's line buffer (INI_MAX_LINE in its default build) */
#define PROFILE_LINE_MAX 200

typedef enum pkind { P_TEXT, P_DRUG, P_U32, P_LIST } pkind;

typedef struct param {
    const char *section, *key;
    pkind kind;
    size_t off, count_off; /* count_off: P_LIST element count */
    uint32_t min, max;
    bool required;
} param;

#define OFF(f) offsetof(policy_profile, f)
#define U32(s, k, f, lo, hi, req)                                                                  \
    {                                                                                              \
        s, k, P_U32, OFF(f), 0, lo, hi, req                                                        \
    }

static const param params[] = {
    {"profile", "name", P_TEXT, OFF(name), 0, 1, POLICY_NAME_MAX, true},
    {"profile", "drug", P_DRUG, OFF(drug), 0, 0, 0, true},
    U32("monitoring", "min_minutes", monitor_min, 1, 1440, true),
    U32("dose", "device_mg", device_mg, 1, 1000, false),
    {"dose", "allowed_total_mg", P_LIST, OFF(allowed_total_mg), OFF(n_allowed_total), 1, 10000,
     false},
    {"dose", "flag_total_mg", P_LIST, OFF(flag_total_mg), OFF(n_flag_total), 1, 10000, false},
    U32("dose", "first_session_max_mg", first_session_max_mg, 1, 10000, false),
    U32("dose", "min_device_spacing_min", min_device_spacing_min, 1, 120, false),
    U32("dose", "iv_min_ug_per_kg", iv_min_ug_per_kg, 1, 100000, false),
    U32("dose", "iv_max_ug_per_kg", iv_max_ug_per_kg, 1, 100000, false),
    U32("dose", "iv_min_infusion_min", iv_min_infusion_min, 1, 1440, false),
    U32("dose", "weight_max_age_days", weight_max_age_days, 1, 3650, false),
    U32("vitals", "bp_post_from_min", bp_post_from_min, 1, 1440, false),
    U32("vitals", "bp_post_until_min", bp_post_until_min, 1, 1440, false),
    U32("vitals", "bp_high_systolic", bp_high_systolic, 50, 300, false),
    U32("vitals", "bp_high_diastolic", bp_high_diastolic, 20, 200, false),
    U32("schedule", "induction_weeks", induction_weeks, 1, 52, false),
    U32("schedule", "induction_max_per_7d", induction_max_per_7d, 1, 14, false),
    U32("schedule", "continuation_weeks", continuation_weeks, 1, 52, false),
    U32("schedule", "continuation_max_per_7d", continuation_max_per_7d, 1, 14, false),
    U32("schedule", "maintenance_max_per_7d", maintenance_max_per_7d, 1, 14, false),
    U32("schedule", "min_gap_hours", min_gap_hours, 1, 720, false),
    U32("rems", "pmf_days", pmf_days, 1, 365, false),
    U32("inventory", "complete_months", complete_months, 1, 120, true),
    U32("inventory", "complete_flag_months", complete_flag_months, 1, 120, false),
    U32("loss", "dea_notice_business_days", dea_notice_business_days, 1, 30, true),
    U32("loss", "form106_days", form106_days, 1, 365, true),
    U32("timing", "late_hours", late_hours, 1, 8760, true),
    U32("timing", "future_tolerance_min", future_tolerance_min, 0, 1440, true),
};
#define NPARAMS (sizeof(params) / sizeof(params[0]))

typedef struct pstate {
    policy_profile *p;
    bool seen[NPARAMS];
    bool failed;
    char why[POLICY_WHY_MAX];
} pstate;

static int parse_u32(const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end = NULL;
    if (v[0] < '0' || v[0] > '9')
        return -1;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < lo || n > hi)
        return -1;
    *out = (uint32_t)n;
    return 0;
}

static int set_param(pstate *st, const param *pr, const char *v)
{
    uint8_t *base = (uint8_t *)st->p;
    size_t n = strlen(v);
    switch (pr->kind) {
    case P_TEXT:
        if (n < pr->min || n > pr->max)
            return -1;
        memcpy(base + pr->off, v, n + 1);
        return 0;
    case P_DRUG:
        if (strcmp(v, "esketamine") != 0 && strcmp(v, "ketamine") != 0)
            return -1;
        memcpy(base + pr->off, v, n + 1);
        return 0;
    case P_U32:
        return parse_u32(v, pr->min, pr->max, (uint32_t *)(void *)(base + pr->off));
    case P_LIST: {
        uint32_t *arr = (uint32_t *)(void *)(base + pr->off);
        size_t *cnt = (size_t *)(void *)(base + pr->count_off);
        char item[16];
        const char *s = v;
        *cnt = 0;
        for (;;) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            while (len > 0 && *s == ' ') {
                s++;
                len--;
            }
            while (len > 0 && s[len - 1] == ' ')
                len--;
            if (len == 0 || len >= sizeof(item) || *cnt == POLICY_LIST_MAX)
                return -1;
            memcpy(item, s, len);
            item[len] = '\0';
            if (parse_u32(item, pr->min, pr->max, &arr[*cnt]) != 0)
                return -1;
            (*cnt)++;
            if (comma == NULL)
                return 0;
            s = comma + 1;
        }
    }
    }
    return -1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    pstate *st = user;
    for (size_t i = 0; i < NPARAMS; i++) {
        if (strcmp(params[i].section, section) != 0 || strcmp(params[i].key, name) != 0)
            continue;
        if (st->seen[i]) {
            if (!st->failed)
                policy__errf(st->why, sizeof(st->why), "[%s] %s given twice", section, name);
            st->failed = true;
            return 0;
        }
        st->seen[i] = true;
        if (set_param(st, &params[i], value) != 0) {
            if (!st->failed)
                policy__errf(st->why, sizeof(st->why), "[%s] %s: bad value '%.40s'", section, name,
                             value);
            st->failed = true;
            return 0;
        }
        return 1;
    }
    if (!st->failed)
        policy__errf(st->why, sizeof(st->why), "[%s] %s: unknown key", section, name);
    st->failed = true;
    return 0;
}

int policy_profile_parse(policy_profile *out, const char *text, size_t len, const char *fname,
                         char *why, size_t whylen)
{
    pstate st;
    char *copy = NULL;
    int rc = POLICY_EPROFILE, line;
    memset(out, 0, sizeof(*out));
    memset(&st, 0, sizeof(st));
    st.p = out;
    if (len > POLICY_PROFILE_MAX_BYTES) {
        policy__errf(why, whylen, "%s: larger than %d bytes", fname, POLICY_PROFILE_MAX_BYTES);
        goto done;
    }
    if (memchr(text, '\0', len) != NULL) {
        policy__errf(why, whylen, "%s: contains a NUL byte", fname);
        goto done;
    }
    /* libinih reads at most PROFILE_LINE_MAX characters of a line and parses the
     * rest as a new line: a long comment could smuggle a key in. Refuse long
     * lines, and sections we do not know (inih never reports empty ones). */
    size_t line_no = 1, col = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            line_no++;
            col = 0;
            continue;
        }
        col++;
        if (col + 1 >= PROFILE_LINE_MAX) {
            policy__errf(why, whylen, "%s:%zu: line longer than %d characters", fname, line_no,
                         PROFILE_LINE_MAX - 2);
            goto done;
        }
        if (col == 1 && text[i] == '[') {
            const char *end = memchr(text + i, ']', len - i);
            const char *nl = memchr(text + i, '\n', len - i);
            bool known = false;
            if (end != NULL && (nl == NULL || end < nl)) {
                size_t nlen = (size_t)(end - (text + i)) - 1;
                for (size_t k = 0; k < NPARAMS && !known; k++)
                    known = strlen(params[k].section) == nlen &&
                            strncmp(params[k].section, text + i + 1, nlen) == 0;
            }
            if (!known) {
                const char *nl2 = memchr(text + i, '\n', len - i);
                int shown = (int)((nl2 != NULL ? (size_t)(nl2 - (text + i)) : len - i) > 40
                                      ? 40
                                      : (nl2 != NULL ? (size_t)(nl2 - (text + i)) : len - i));
                policy__errf(why, whylen, "%s:%zu: unknown section %.*s", fname, line_no, shown,
                             text + i);
                goto done;
            }
        }
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        rc = LEDGER_ENOMEM;
        goto done;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    line = ini_parse_string(copy, handler, &st);
    if (line != 0) {
        policy__errf(why, whylen, "%s:%d: %s", fname, line, st.failed ? st.why : "syntax error");
        goto done;
    }
    for (size_t i = 0; i < NPARAMS; i++)
        if (params[i].required && !st.seen[i]) {
            policy__errf(why, whylen, "%s: required key [%s] %s missing", fname, params[i].section,
                         params[i].key);
            goto done;
        }
    rc = 0;
done:
    free(copy);
    return rc;
}

const char *policy_builtin_text(const char *name)
{
    for (size_t i = 0; policy__builtin[i].name != NULL; i++)
        if (strcmp(policy__builtin[i].name, name) == 0)
            return policy__builtin[i].text;
    return NULL;
}

const char *policy_builtin_name(size_t i)
{
    for (size_t j = 0; policy__builtin[j].name != NULL; j++)
        if (j == i)
            return policy__builtin[j].name;
    return NULL;
}

int policy_profile_for_drug(policy_profile *out, const char *drug, char *why, size_t whylen)
{
    const char *name = strcmp(drug, "esketamine") == 0 ? "spravato-rems"
                       : strcmp(drug, "ketamine") == 0 ? "ketamine-iv"
                                                       : NULL;
    const char *text = name != NULL ? policy_builtin_text(name) : NULL;
    if (text == NULL) {
        policy__errf(why, whylen, "no shipped profile for '%s'", drug);
        return POLICY_EPROFILE;
    }
    return policy_profile_parse(out, text, strlen(text), name, why, whylen);
}

const char *policy_strerror(int code)
{
    switch (code) {
    case POLICY_EINVAL:
        return "invalid argument";
    case POLICY_EPROFILE:
        return "bad policy profile";
    case POLICY_ESEQUENCE:
        return "refused by a sequencing check";
    case POLICY_ENOSESSION:
        return "no such session";
    case POLICY_ECLOSED:
        return "session already discharged";
    default:
        return ledger_strerror(code);
    }
}

typedef struct in_force {
    ledger *l;
    int64_t date;
    int64_t best_eff;
    policy_profile *out;
    bool found;
    int rc;
    char *why;
    size_t whylen;
} in_force;

static int adoption_seen(uint64_t seq, void *ud)
{
    in_force *f = ud;
    uint8_t *buf = malloc(LEDGER_MAX_ENTRY_BYTES);
    char *text = malloc(LEDGER_TEXT_MAX + 1), name[POLICY_NAME_MAX + 1];
    ledger_entry e;
    uint64_t eff;
    if (buf != NULL && text != NULL &&
        ledger_read_entry(f->l, seq, buf, LEDGER_MAX_ENTRY_BYTES, &e) == 0 &&
        ledger_entry_get_uint(&e, "effective", &eff) == 0 && (int64_t)eff <= f->date &&
        (int64_t)eff >= f->best_eff &&
        ledger_entry_get_text(&e, "text", text, LEDGER_TEXT_MAX + 1) == 0 &&
        ledger_entry_get_text(&e, "name", name, sizeof(name)) == 0) {
        /* later adoptions (higher seq) with the same effective date win */
        f->rc = policy_profile_parse(f->out, text, strlen(text), name, f->why, f->whylen);
        f->found = f->rc == 0;
        f->best_eff = (int64_t)eff;
    }
    free(buf);
    free(text);
    return 0;
}

int policy_profile_in_force(policy_profile *out, ledger *l, const char *drug, int64_t date_ms,
                            char *why, size_t whylen)
{
    in_force f = {l, date_ms, INT64_MIN, out, false, 0, why, whylen};
    int rc = ledger_index_each(l, LEDGER_INDEX_POLICY, (const uint8_t *)drug, strlen(drug),
                               adoption_seen, &f);
    if (rc != 0)
        return rc;
    if (f.found)
        return 0;
    return policy_profile_for_drug(out, drug, why, whylen);
}
