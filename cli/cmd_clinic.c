/* Clinic commands: dispatch of the record commands, and the views computed
 * from the ledger (session show, inventory) and patient forget. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ledger/patients.h"
#include "ledger/records.h"
#include "policy/policy.h"

/* "stock receive ..." -> the record command "stock receive" */
static int group(const char *grp, const char *const *subs, int argc, char **argv,
                 int (*other)(const char *sub, int argc, char **argv))
{
    char name[64];
    if (argc < 2) {
        char list[64] = "";
        for (size_t i = 0, w = 0; subs[i] != NULL && w < sizeof(list); i++) {
            int n = snprintf(list + w, sizeof(list) - w, "%s%s", i ? ", " : "", subs[i]);
            w += n > 0 ? (size_t)n : 0;
        }
        return cli_usage(grp, "no subcommand given: %s", list);
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        printf("usage: rxledger %s <subcommand> [options]\n\nsubcommands:", grp);
        for (size_t i = 0; subs[i] != NULL; i++)
            printf(" %s", subs[i]);
        printf("\n'rxledger %s <subcommand> --help' describes one.\n", grp);
        return RX_EXIT_OK;
    }
    for (size_t i = 0; subs[i] != NULL; i++) {
        if (strcmp(argv[1], subs[i]) != 0)
            continue;
        (void)snprintf(name, sizeof(name), "%s %s", grp, subs[i]);
        if (other != NULL) {
            int rc = other(subs[i], argc - 1, argv + 1);
            if (rc >= 0)
                return rc;
        }
        return cli_record(name, argc - 1, argv + 1);
    }
    return cli_usage(grp, "unknown subcommand '%s'", argv[1]);
}

int cmd_setting(int argc, char **argv)
{
    static const char *const subs[] = {"certify", NULL};
    return group("setting", subs, argc, argv, NULL);
}

int cmd_registration(int argc, char **argv)
{
    return cli_record("registration", argc, argv);
}
int cmd_vitals(int argc, char **argv)
{
    return cli_record("vitals", argc, argv);
}
int cmd_dose(int argc, char **argv)
{
    return cli_record("dose", argc, argv);
}
int cmd_waste(int argc, char **argv)
{
    return cli_record("waste", argc, argv);
}
int cmd_discharge(int argc, char **argv)
{
    return cli_record("discharge", argc, argv);
}
int cmd_pmf(int argc, char **argv)
{
    return cli_record("pmf", argc, argv);
}
int cmd_amend(int argc, char **argv)
{
    return cli_record("amend", argc, argv);
}

int cmd_stock(int argc, char **argv)
{
    static const char *const subs[] = {"receive", "count", "loss", "report-loss", "destroy", NULL};
    return group("stock", subs, argc, argv, NULL);
}

/* ---- patient forget ---- */

static int patient_forget(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    char why[LEDGER_ERRMSG_MAX];
    uint8_t commit[LEDGER_COMMIT_BYTES];
    ledger_ids *ids = NULL;
    ledger *l = NULL;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs("usage: rxledger patient forget MRN\n\n"
                  "Erase a patient's identifiers (MRN, REMS id) and their salts from the\n"
                  "identity store, and rewrite the store so the bytes are gone from its file.\n"
                  "The chain is untouched and still verifies; its entries then show the\n"
                  "patient as \"erased\". This cannot be undone.\n",
                  stdout);
            return RX_EXIT_OK;
        }
        return cli_bad_opt("patient forget", c, argv);
    }
    if (optind != argc - 1)
        return cli_usage("patient forget", "expected one MRN");
    if (ledger_id_check(argv[optind], why, sizeof(why)) != 0)
        return cli_usage("patient forget", "bad MRN: %s", why);
    if ((rc = cli_open(&l, "patient forget", true)) != 0)
        return rc;
    ledger_close(l);
    rc = RX_EXIT_ERROR;
    if (ledger_ids_open(&ids, cli_ledger_dir("patient forget"), false, why, sizeof(why)) != 0) {
        cli_err("no patient '%s' is known", argv[optind]);
        goto done;
    }
    int frc = ledger_ids_forget(ids, argv[optind], commit);
    if (frc == LEDGER_ENOTFOUND) {
        cli_err("no patient '%s' is known", argv[optind]);
        goto done;
    }
    if (frc != 0) {
        cli_err("cannot erase: %s", ledger_ids_errmsg(ids));
        goto done;
    }
    char hex[2 * LEDGER_COMMIT_BYTES + 1];
    ledger_hex(hex, commit, sizeof(commit));
    printf("erased patient ref %s\n", hex);
    rc = RX_EXIT_OK;
done:
    ledger_ids_close(ids);
    return rc;
}

static int patient_other(const char *sub, int argc, char **argv)
{
    return strcmp(sub, "forget") == 0 ? patient_forget(argc, argv) : -1;
}

int cmd_patient(int argc, char **argv)
{
    static const char *const subs[] = {"enroll", "forget", NULL};
    return group("patient", subs, argc, argv, patient_other);
}

/* ---- session show ---- */

typedef struct timeline {
    ledger *l;
    bool header;
} timeline;

static int timeline_line(const ledger_entry *e, void *ud)
{
    timeline *t = ud;
    if (!t->header) {
        printf("  seq  event time                type          signed by              record\n");
        t->header = true;
    }
    char when[LEDGER_TIME_TEXT_BYTES], line[600], name[4 * LEDGER_NAME_MAX + 1];
    cli_time(when, e->event_ms);
    cli_body_line(e, line, sizeof(line));
    cli_safe(name, sizeof(name), e->name);
    printf("%6llu  %s  %-13s %-22s %s\n", (unsigned long long)e->seq, when, e->type, name, line);
    cli_print_amendments(t->l, e->seq, "                                  ");
    return 0;
}

static int session_show(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    char why[POLICY_WHY_MAX], t1[LEDGER_TIME_TEXT_BYTES], t2[LEDGER_TIME_TEXT_BYTES];
    uint64_t id;
    policy_session s;
    ledger *l = NULL;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs("usage: rxledger session show S\n\n"
                  "The session as a timeline: every step with its event time, who signed it\n"
                  "and what it recorded, corrections under the entry they correct, and the\n"
                  "monitoring minutes from the first and the last dose to discharge.\n",
                  stdout);
            return RX_EXIT_OK;
        }
        return cli_bad_opt("session show", c, argv);
    }
    if (optind != argc - 1)
        return cli_usage("session show", "expected one session id");
    if ((rc = cli_parse_u64(&id, "S", argv[optind], 0, UINT64_MAX)) != 0)
        return rc;
    if ((rc = cli_open(&l, "session show", true)) != 0)
        return rc;
    timeline t = {l, false};
    rc = policy_session_load(l, id, &s, timeline_line, &t, why, sizeof(why));
    if (rc != 0) {
        cli_err("%s", why);
        rc = rc == POLICY_ENOSESSION ? RX_EXIT_USAGE : RX_EXIT_ERROR;
        goto done;
    }
    char patient[LEDGER_PATIENT_ID_MAX + 16];
    cli_patient_name(s.patient, patient, sizeof(patient));
    printf("\nsession %llu: %s %s, %s, patient %s; %u dose%s, %llu mg in all\n",
           (unsigned long long)s.id, s.drug, s.route, s.setting, patient, s.doses,
           s.doses == 1 ? "" : "s", (unsigned long long)s.total_mg);
    if (s.discharged && s.doses > 0) {
        cli_time(t1, s.first_dose_ms);
        cli_time(t2, s.last_dose_ms);
        printf("monitoring: %lld min from the last dose (%s), %lld min from the first (%s), "
               "to discharge at entry %llu\n",
               (long long)((s.discharge_ms - s.last_dose_ms) / 60000), t2,
               (long long)((s.discharge_ms - s.first_dose_ms) / 60000), t1,
               (unsigned long long)s.discharge_seq);
    } else if (!s.discharged) {
        printf("open: not yet discharged\n");
    }
    rc = RX_EXIT_OK;
done:
    ledger_close(l);
    return rc;
}

static int session_other(const char *sub, int argc, char **argv)
{
    return strcmp(sub, "show") == 0 ? session_show(argc, argv) : -1;
}

int cmd_session(int argc, char **argv)
{
    static const char *const subs[] = {"open", "show", NULL};
    return group("session", subs, argc, argv, session_other);
}

/* ---- inventory ---- */

static int inventory_line(const policy_lot *p, void *ud)
{
    char exp[11] = "-", count[48] = "-", onhand[48];
    (void)ud;
    if (p->expires_ms != 0)
        ledger_date_format(exp, p->expires_ms);
    if (p->counted)
        (void)snprintf(count, sizeof(count), "%llu (seq %llu)", (unsigned long long)p->count_units,
                       (unsigned long long)p->count_seq);
    if (p->unit_mg > 0 && p->on_hand_mg >= 0)
        (void)snprintf(onhand, sizeof(onhand), "%lld + %lld mg",
                       (long long)(p->on_hand_mg / (int64_t)p->unit_mg),
                       (long long)(p->on_hand_mg % (int64_t)p->unit_mg));
    else
        (void)snprintf(onhand, sizeof(onhand), "%lld mg", (long long)p->on_hand_mg);
    printf("%-13s  %-12s  %-10s  %-10s  %6llu  %8llu  %9llu  %6llu  %9llu  %4llu  %-16s  %s\n",
           p->ndc, p->lot, p->substance[0] ? p->substance : "-", exp,
           (unsigned long long)p->unit_mg, (unsigned long long)p->received_units,
           (unsigned long long)p->administered_mg, (unsigned long long)p->wasted_mg,
           (unsigned long long)p->destroyed_units, (unsigned long long)p->lost_units, onhand,
           count);
    return 0;
}

int cmd_inventory(int argc, char **argv)
{
    static const struct option opts[] = {
        {"at", required_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int64_t until = 0;
    char why[POLICY_WHY_MAX];
    ledger *l = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs("usage: rxledger inventory [--at DATE]\n\n"
                  "On hand per NDC and lot, computed from the ledger: received -\n"
                  "administered - wasted - destroyed - lost, with corrections applied, and the\n"
                  "last physical count. --at DATE: as at the end of that day (UTC).\n"
                  "Units are the received units (devices, vials); \"3 + 12 mg\" is three\n"
                  "whole units and 12 mg of an opened one.\n",
                  stdout);
            return RX_EXIT_OK;
        }
        if (c == 'a') {
            if (ledger_date_parse(&until, optarg, why, sizeof(why)) != 0)
                return cli_usage("inventory", "bad --at '%s': %s", optarg, why);
            until += 86400000;
            continue;
        }
        return cli_bad_opt("inventory", c, argv);
    }
    if (optind < argc)
        return cli_usage("inventory", "unexpected argument '%s'", argv[optind]);
    if ((rc = cli_open(&l, "inventory", true)) != 0)
        return rc;
    printf("%-13s  %-12s  %-10s  %-10s  %6s  %8s  %9s  %6s  %9s  %4s  %-16s  %s\n", "ndc", "lot",
           "substance", "expires", "unit", "received", "admin mg", "waste", "destroyed", "lost",
           "on hand (units)", "last count");
    if (policy_inventory(l, until, inventory_line, NULL, why, sizeof(why)) != 0) {
        cli_err("cannot compute the inventory: %s", why);
        rc = RX_EXIT_ERROR;
    }
    ledger_close(l);
    return rc;
}
