/* rxledger audit: verify, then judge every session, lot and clock by the rules
 * of the profile in force; findings as text, JSON or CSV. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ledger/patients.h"
#include "policy/audit.h"

static const char audit_help[] =
    "usage: rxledger audit [--from DATE] [--to DATE] [--patient MRN] [--rule ID]\n"
    "                      [--format text|json|csv] [--policy FILE] [--now TIME]\n"
    "                      [--export FILE.cbor --site-key FINGERPRINT]\n\n"
    "Verify the chain, then judge every session by the policy profile in force on\n"
    "its date (or by --policy FILE, a what-if), and the stock, inventory, loss,\n"
    "key and timing rules. Each finding: rule id, FAIL or FLAG, the session or\n"
    "NDC+lot, the entries that are the evidence, and a sentence. --from/--to keep\n"
    "sessions and events on those days (UTC, --to inclusive); --patient keeps one\n"
    "patient's sessions; --rule one rule (a broken chain is always reported);\n"
    "--now is the time running clocks are judged at (RFC 3339; default: now).\n"
    "Verify and audit read one snapshot: entries appended meanwhile wait for the\n"
    "next audit. Exit 0 when nothing FAILs (FLAGs alone: 0), 3 when anything\n"
    "FAILs, 1 on error. Rules: docs/policy.md.\n"
    "--export audits an export file instead of the ledger (no ledger needed): it\n"
    "is verified first against the site key fingerprint, and a problem is the\n"
    "first finding (CHAIN, KEY-ROLE or TIME-ORDER), as for the ledger.\n";

typedef struct found {
    policy_finding *v;
    size_t n, cap;
    bool stream; /* CSV: each finding printed as it comes, none kept (flat memory) */
    bool header; /* the CSV header is out */
} found;

static const char csv_header[] = "rule,severity,session,ndc,lot,evidence,when,message";

static void csv_row(const policy_finding *f);

static int keep(const policy_finding *f, void *ud)
{
    found *fs = ud;
    if (fs->stream) {
        if (!fs->header)
            puts(csv_header);
        fs->header = true;
        csv_row(f);
        return 0;
    }
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 64;
        policy_finding *nv = realloc(fs->v, cap * sizeof(*nv));
        if (nv == NULL)
            return 1;
        fs->v = nv;
        fs->cap = cap;
    }
    fs->v[fs->n++] = *f;
    return 0;
}

static void evidence_text(const policy_finding *f, char *out, size_t cap, const char *sep)
{
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < f->nevidence; i++) {
        int n =
            snprintf(out + w, cap - w, "%s%llu", i ? sep : "", (unsigned long long)f->evidence[i]);
        if (n < 0 || (size_t)n >= cap - w)
            return;
        w += (size_t)n;
    }
}

static int by_session(const void *x, const void *y)
{
    const policy_finding *a = x, *b = y;
    if (a->has_session != b->has_session)
        return a->has_session ? -1 : 1;
    if (a->session != b->session)
        return a->session < b->session ? -1 : 1;
    int c = strcmp(a->ndc, b->ndc);
    if (c == 0)
        c = strcmp(a->lot, b->lot);
    return c != 0 ? c : (a->when_ms < b->when_ms ? -1 : a->when_ms > b->when_ms);
}

static void session_title(ledger *l, uint64_t id, char *out, size_t cap)
{
    uint8_t *buf = malloc(LEDGER_MAX_ENTRY_BYTES);
    ledger_entry e;
    char drug[16] = "", setting[16] = "", who[LEDGER_PATIENT_ID_MAX + 16] = "?", day[11];
    const uint8_t *p;
    size_t n;
    (void)snprintf(out, cap, "session %llu", (unsigned long long)id);
    if (buf != NULL && l != NULL &&
        ledger_read_entry(l, id, buf, LEDGER_MAX_ENTRY_BYTES, &e) == 0) {
        (void)ledger_entry_get_text(&e, "drug", drug, sizeof(drug));
        (void)ledger_entry_get_text(&e, "setting", setting, sizeof(setting));
        if (ledger_entry_get_bytes(&e, "patient", &p, &n) == 0 && n == 32)
            cli_patient_name(p, who, sizeof(who));
        ledger_date_format(day, e.event_ms);
        (void)snprintf(out, cap, "session %llu: %s %s, %s, patient %s", (unsigned long long)id,
                       drug, setting, day, who);
    }
    free(buf);
}

static void print_text(ledger *l, found *fs, const policy_audit_summary *sum)
{
    char title[256], ev[128];
    if (fs->n > 0)
        qsort(fs->v, fs->n, sizeof(*fs->v), by_session);
    for (size_t i = 0; i < fs->n; i++) {
        const policy_finding *f = &fs->v[i];
        bool new_group =
            i == 0 ||
            by_session(&(policy_finding){.has_session = f->has_session, .session = f->session},
                       &(policy_finding){.has_session = fs->v[i - 1].has_session,
                                         .session = fs->v[i - 1].session}) != 0;
        if (f->has_session && new_group) {
            session_title(l, f->session, title, sizeof(title));
            printf("\n%s\n", title);
        } else if (!f->has_session && (i == 0 || fs->v[i - 1].has_session)) {
            printf("\nstock, keys, clocks and records\n");
        }
        evidence_text(f, ev, sizeof(ev), ",");
        char msg[4 * POLICY_MESSAGE_MAX];
        cli_safe(msg, sizeof(msg), f->message);
        if (f->ndc[0] != '\0')
            printf("  %-4s %-16s %s lot %s: %s [entries %s]\n",
                   f->severity == POLICY_FAIL ? "FAIL" : "FLAG", f->rule, f->ndc, f->lot, msg, ev);
        else
            printf("  %-4s %-16s %s [entries %s]\n", f->severity == POLICY_FAIL ? "FAIL" : "FLAG",
                   f->rule, msg, ev);
    }
    printf("\nsummary: %llu entries read, %llu sessions audited, %llu passed; %llu FAIL, %llu "
           "FLAG\n",
           (unsigned long long)sum->entries, (unsigned long long)sum->sessions,
           (unsigned long long)sum->sessions_passed, (unsigned long long)sum->fails,
           (unsigned long long)sum->flags);
    printf("%-18s %5s %5s\n", "rule", "FAIL", "FLAG");
    for (size_t r = 0; policy_rule_at(r) != NULL; r++) {
        size_t fail = 0, flag = 0;
        for (size_t i = 0; i < fs->n; i++)
            if (strcmp(fs->v[i].rule, policy_rule_at(r)->id) == 0) {
                if (fs->v[i].severity == POLICY_FAIL)
                    fail++;
                else
                    flag++;
            }
        if (fail + flag > 0)
            printf("%-18s %5zu %5zu\n", policy_rule_at(r)->id, fail, flag);
    }
}

static int print_json(found *fs, const policy_audit_summary *sum)
{
    json_t *root = json_object(), *arr = json_array(), *counts = json_object();
    char when[LEDGER_TIME_TEXT_BYTES];
    int rc = RX_EXIT_ERROR;
    if (root == NULL || arr == NULL || counts == NULL)
        goto done;
    for (size_t i = 0; i < fs->n; i++) {
        const policy_finding *f = &fs->v[i];
        json_t *o = json_object(), *ev = json_array();
        for (size_t j = 0; j < f->nevidence; j++)
            json_array_append_new(ev, json_integer((json_int_t)f->evidence[j]));
        ledger_time_format(when, f->when_ms);
        json_object_set_new(o, "rule", json_string(f->rule));
        json_object_set_new(o, "severity",
                            json_string(f->severity == POLICY_FAIL ? "FAIL" : "FLAG"));
        json_object_set_new(o, "session",
                            f->has_session ? json_integer((json_int_t)f->session) : json_null());
        json_object_set_new(o, "ndc", f->ndc[0] ? json_string(f->ndc) : json_null());
        json_object_set_new(o, "lot", f->ndc[0] ? json_string(f->lot) : json_null());
        json_object_set_new(o, "evidence", ev);
        json_object_set_new(o, "when", f->when_ms != 0 ? json_string(when) : json_null());
        json_object_set_new(o, "message", json_string(f->message));
        json_array_append_new(arr, o);
        json_t *c = json_object_get(counts, f->rule);
        if (c == NULL) {
            c = json_pack("{s:i,s:i}", "FAIL", 0, "FLAG", 0);
            json_object_set_new(counts, f->rule, c);
        }
        const char *sev = f->severity == POLICY_FAIL ? "FAIL" : "FLAG";
        json_object_set_new(c, sev, json_integer(json_integer_value(json_object_get(c, sev)) + 1));
    }
    json_object_set_new(root, "summary",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "entries", (json_int_t)sum->entries,
                                  "sessions", (json_int_t)sum->sessions, "sessions_passed",
                                  (json_int_t)sum->sessions_passed, "fail", (json_int_t)sum->fails,
                                  "flag", (json_int_t)sum->flags));
    json_object_set_new(root, "rules", counts);
    counts = NULL;
    json_object_set_new(root, "findings", arr);
    arr = NULL;
    if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) == 0) {
        fputc('\n', stdout);
        rc = RX_EXIT_OK;
    }
done:
    json_decref(arr);
    json_decref(counts);
    json_decref(root);
    return rc;
}

static void csv_field(const char *s)
{
    fputc('"', stdout);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', stdout);
        fputc(*s, stdout);
    }
    fputc('"', stdout);
}

static void csv_row(const policy_finding *f)
{
    char ev[128], when[LEDGER_TIME_TEXT_BYTES];
    evidence_text(f, ev, sizeof(ev), " ");
    if (f->when_ms != 0)
        ledger_time_format(when, f->when_ms);
    else
        when[0] = '\0';
    printf("%s,%s,", f->rule, f->severity == POLICY_FAIL ? "FAIL" : "FLAG");
    if (f->has_session)
        printf("%llu", (unsigned long long)f->session);
    printf(",%s,", f->ndc);
    csv_field(f->lot);
    printf(",%s,%s,", ev, when);
    csv_field(f->message);
    fputc('\n', stdout);
}

int cli_read_file(const char *path, char **out, size_t *len, size_t max)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    *out = NULL;
    if (f == NULL) {
        cli_err("cannot open '%s': %s", path, strerror(errno));
        return RX_EXIT_ERROR;
    }
    buf = malloc(max + 1);
    if (buf != NULL)
        n = fread(buf, 1, max + 1, f);
    if (buf != NULL && ferror(f)) { /* a directory opens, then reads EISDIR */
        cli_err("cannot read '%s': %s", path, strerror(errno));
        fclose(f);
        free(buf);
        return RX_EXIT_ERROR;
    }
    fclose(f);
    if (buf == NULL || n > max) {
        cli_err(buf == NULL ? "out of memory" : "'%s' is larger than %zu bytes", path, max);
        free(buf);
        return RX_EXIT_ERROR;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return RX_EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"patient", required_argument, NULL, 'p'},
                                         {"rule", required_argument, NULL, 'r'},
                                         {"format", required_argument, NULL, 'F'},
                                         {"policy", required_argument, NULL, 'P'},
                                         {"now", required_argument, NULL, 'n'},
                                         {"export", required_argument, NULL, 'x'},
                                         {"site-key", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    policy_audit_opts o = POLICY_AUDIT_INIT;
    policy_audit_summary sum;
    policy_profile what_if;
    const char *format = "text", *patient = NULL, *policy_file = NULL, *export_file = NULL;
    uint8_t fpr[KEYS_FPR_BYTES];
    bool have_fpr = false;
    char why[POLICY_WHY_MAX];
    found fs = {NULL, 0, 0, false, false};
    ledger *l = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
        case 't':
            if (ledger_date_parse(c == 'f' ? &o.from_ms : &o.to_ms, optarg, why, sizeof(why)) != 0)
                return cli_usage("audit", "bad --%s '%s': %s", c == 'f' ? "from" : "to", optarg,
                                 why);
            if (c == 't')
                o.to_ms += 86400000; /* inclusive */
            break;
        case 'p':
            patient = optarg;
            break;
        case 'r':
            if (policy_rule_find(optarg) == NULL)
                return cli_usage("audit", "bad --rule '%s': no such rule (see docs/policy.md)",
                                 optarg);
            o.rule = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0 &&
                strcmp(optarg, "csv") != 0)
                return cli_usage("audit", "bad --format '%s': text, json or csv", optarg);
            format = optarg;
            break;
        case 'P':
            policy_file = optarg;
            break;
        case 'n':
            if ((rc = cli_parse_time(&o.now_ms, "--now", optarg)) != 0)
                return rc;
            break;
        case 'x':
            export_file = optarg;
            break;
        case 'k':
            if (cli_parse_fpr(fpr, "audit", optarg) != 0)
                return RX_EXIT_USAGE;
            have_fpr = true;
            break;
        case 'h':
            fputs(audit_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("audit", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage("audit", "unexpected argument '%s'", argv[optind]);
    if ((export_file != NULL) != have_fpr)
        return cli_usage("audit", "--export FILE and --site-key FINGERPRINT go together");
    if (export_file != NULL && patient != NULL)
        return cli_usage("audit", "--patient needs the ledger's identity store: not with --export");
    if (o.from_ms != 0 && o.to_ms != 0 && o.to_ms <= o.from_ms)
        return cli_usage("audit", "--to must not be before --from");
    if (policy_file != NULL) {
        char *text = NULL;
        size_t len = 0;
        if ((rc = cli_read_file(policy_file, &text, &len, POLICY_PROFILE_MAX_BYTES)) != 0)
            return rc;
        rc = policy_profile_parse(&what_if, text, len, policy_file, why, sizeof(why));
        free(text);
        if (rc != 0) {
            cli_err("%s", why);
            return RX_EXIT_ERROR;
        }
        o.what_if = &what_if;
    }
    if (o.now_ms == 0)
        o.now_ms = cli_now_ms();
    fs.stream = strcmp(format, "csv") == 0;
    if (export_file != NULL) {
        FILE *f = fopen(export_file, "rb");
        if (f == NULL) {
            cli_err("cannot open '%s': %s", export_file, strerror(errno));
            return RX_EXIT_ERROR;
        }
        setvbuf(f, NULL, _IOFBF, 1 << 20);
        o.progress = cli_progress;
        o.progress_ud = "auditing export";
        rc = policy_audit_export(f, fpr, &o, keep, &fs, &sum, why, sizeof(why));
        fclose(f);
        goto audited;
    }
    if ((rc = cli_open(&l, "audit", true)) != 0)
        return rc;
    if (patient != NULL) {
        ledger_ids *ids = NULL;
        rc = ledger_ids_open(&ids, cli_ledger_dir("audit"), false, why, sizeof(why)) == 0 &&
                     ledger_ids_commit(ids, LEDGER_ID_MRN, patient, false, o.patient) == 0
                 ? 0
                 : RX_EXIT_ERROR;
        ledger_ids_close(ids);
        if (rc != 0) {
            cli_err("bad --patient '%s': no such patient (or erased)", patient);
            goto done;
        }
        o.has_patient = true;
    }
    o.progress = cli_progress;
    o.progress_ud = "auditing";
    rc = policy_audit_ledger(l, &o, keep, &fs, &sum, why, sizeof(why));
audited:
    cli_progress_end();
    if (rc != 0) {
        cli_err("cannot audit: %s", why);
        rc = RX_EXIT_ERROR;
        goto done;
    }
    if (strcmp(format, "json") == 0)
        rc = print_json(&fs, &sum);
    else if (strcmp(format, "text") == 0)
        print_text(l, &fs, &sum);
    else if (!fs.header)
        puts(csv_header); /* no findings: the header alone */
    if (rc == RX_EXIT_OK && sum.fails > 0)
        rc = RX_EXIT_FINDINGS;
done:
    free(fs.v);
    ledger_close(l);
    return rc;
}
