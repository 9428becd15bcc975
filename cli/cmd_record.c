/* The clinical and stock records: one table-driven command per record type.
 * Options come from the record type's fields (ledger/records.h); values are
 * parsed and validated there; the sequencing checks come from policy/. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ledger/patients.h"
#include "ledger/records.h"
#include "policy/policy.h"

#define MAX_OPTS      40
#define MAX_WITNESSES 2
#define MAX_SETS      16

enum { OPT_KEY = 1000, OPT_PASS, OPT_AT, OPT_WKEY, OPT_WPASS, OPT_HELP, OPT_FIELD0 = 2000 };

typedef struct record_cmd {
    const char *name; /* as typed: "stock receive" */
    const char *type; /* entry type */
    const char *summary;
} record_cmd;

static const record_cmd record_cmds[] = {
    {"setting certify", "setting.certify",
     "record the site's REMS healthcare-setting certification"},
    {"registration", "registration", "record the site's DEA registration"},
    {"patient enroll", "patient.enroll",
     "record a patient's REMS enrollment; prints the patient ref"},
    {"stock receive", "stock.receive", "record a receipt of controlled-substance stock"},
    {"session open", "session.open", "open a treatment session; prints the session id last"},
    {"vitals", "vitals", "record vital signs in a session"},
    {"dose", "dose", "record a dose administered in a session"},
    {"waste", "waste", "record wasted drug, co-signed by a witness"},
    {"discharge", "discharge", "the observer's sign-off; closes the session"},
    {"pmf", "pmf", "record the REMS patient monitoring form as submitted"},
    {"stock count", "stock.count", "record a physical count of one NDC and lot"},
    {"stock loss", "stock.loss", "record a theft or loss of stock"},
    {"stock report-loss", "stock.report-loss", "record the DEA notice and Form 106 for a loss"},
    {"stock destroy", "stock.destroy", "record destruction of stock, co-signed by two witnesses"},
    {"amend", "amend", "correct an entry: a new entry naming it; the original stays"},
};

typedef struct parsed {
    const char *value[MAX_OPTS];
    const char *sets[MAX_SETS];
    size_t nsets;
    const char *keypath, *passfile, *at;
    const char *wkey[MAX_WITNESSES], *wpass[MAX_WITNESSES];
    size_t nwkey, nwpass;
} parsed;

static void usage_of(const record_cmd *rc, const ledger_rtype *rt, FILE *f)
{
    fprintf(f, "usage: rxledger %s%s [options] --key KEY\n\n%s.\n\noptions:\n", rc->name,
            strcmp(rc->type, "amend") == 0 ? " SEQ" : "", rc->summary);
    for (size_t i = 0; i < rt->nfields; i++) {
        const ledger_field *fl = &rt->fields[i];
        char opt[64];
        if (fl->flags & LEDGER_FIELD_INTERNAL)
            continue;
        if (fl->kind == LEDGER_F_FLAG)
            (void)snprintf(opt, sizeof(opt), "--%s", fl->name);
        else if (fl->kind == LEDGER_F_CHOICE)
            (void)snprintf(opt, sizeof(opt), "--%s %s", fl->name, fl->choices);
        else
            (void)snprintf(opt, sizeof(opt), "--%s VALUE", fl->name);
        fprintf(f, "  %-34s %s%s\n", opt, fl->help,
                (fl->flags & LEDGER_FIELD_REQUIRED) ? " (required)" : "");
    }
    fprintf(f, "  %-34s %s\n", "--at TIME", "when it happened: RFC 3339 or 'now' (default)");
    fprintf(f, "  %-34s %s\n", "--key KEY", "the signer's key file (required)");
    fprintf(f, "  %-34s %s\n", "--passphrase-file F", "the signer's passphrase");
    if (rt->witnesses > 0) {
        fprintf(f, "  %-34s %s (%u needed)\n", "--witness-key KEY",
                "a witness's key file, repeatable", rt->witnesses);
        fprintf(f, "  %-34s %s\n", "--witness-passphrase-file F",
                "a witness's passphrase, in the same order");
    }
    fputs("\nTIME is RFC 3339 (2026-11-22T14:05:00-07:00) or 'now'; DATE is YYYY-MM-DD.\n", f);
}

static int parse_args(const record_cmd *rc, const ledger_rtype *rt, int argc, char **argv,
                      parsed *p, const char **positional, bool batch_line)
{
    struct option opts[MAX_OPTS + 8];
    size_t n = 0;
    int c;
    memset(p, 0, sizeof(*p));
    optind = 0; /* glibc: restart getopt for this command's arguments */
    opterr = 0;
    for (size_t i = 0; i < rt->nfields && n < MAX_OPTS; i++) {
        const ledger_field *fl = &rt->fields[i];
        if (fl->flags & LEDGER_FIELD_INTERNAL)
            continue;
        opts[n].name = fl->name;
        opts[n].has_arg = fl->kind == LEDGER_F_FLAG ? no_argument : required_argument;
        opts[n].flag = NULL;
        opts[n].val = OPT_FIELD0 + (int)i;
        n++;
    }
    const struct option common[] = {{"key", required_argument, NULL, OPT_KEY},
                                    {"passphrase-file", required_argument, NULL, OPT_PASS},
                                    {"at", required_argument, NULL, OPT_AT},
                                    {"witness-key", required_argument, NULL, OPT_WKEY},
                                    {"witness-passphrase-file", required_argument, NULL, OPT_WPASS},
                                    {"help", no_argument, NULL, OPT_HELP},
                                    {NULL, 0, NULL, 0}};
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        if (rt->witnesses == 0 && (common[i].val == OPT_WKEY || common[i].val == OPT_WPASS))
            continue;
        opts[n++] = common[i];
    }
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h' || c == OPT_HELP) {
            usage_of(rc, rt, stdout);
            return -1;
        }
        if (c == OPT_KEY || c == OPT_PASS || c == OPT_AT) {
            const char **slot = c == OPT_KEY ? &p->keypath : c == OPT_PASS ? &p->passfile : &p->at;
            if (*slot != NULL)
                return cli_usage(rc->name, "option '%s' given twice", argv[optind - 1]);
            *slot = optarg;
        } else if (c == OPT_WKEY || c == OPT_WPASS) {
            if ((c == OPT_WKEY ? p->nwkey : p->nwpass) == rt->witnesses)
                return cli_usage(rc->name, "at most %u witness%s", rt->witnesses,
                                 rt->witnesses > 1 ? "es" : "");
            if (c == OPT_WKEY)
                p->wkey[p->nwkey++] = optarg;
            else
                p->wpass[p->nwpass++] = optarg;
        } else if (c >= OPT_FIELD0 && c < OPT_FIELD0 + MAX_OPTS) {
            size_t i = (size_t)(c - OPT_FIELD0);
            const ledger_field *fl = &rt->fields[i];
            if (fl->kind == LEDGER_F_FIELDS) {
                if (p->nsets == MAX_SETS)
                    return cli_usage(rc->name, "at most %d --%s", MAX_SETS, fl->name);
                p->sets[p->nsets++] = optarg;
                p->value[i] = "";
                continue;
            }
            if (p->value[i] != NULL)
                return cli_usage(rc->name, "option '--%s' given twice", fl->name);
            p->value[i] = fl->kind == LEDGER_F_FLAG ? "true" : optarg;
        } else {
            return cli_bad_opt(rc->name, c, argv);
        }
    }
    if (positional != NULL) {
        if (optind != argc - 1)
            return cli_usage(rc->name, "expected one SEQ");
        *positional = argv[optind];
    } else if (optind < argc) {
        return cli_usage(rc->name, "unexpected argument '%s'", argv[optind]);
    }
    if (p->keypath == NULL && !batch_line)
        return cli_usage(rc->name, "--key is required");
    for (size_t i = 0; i < rt->nfields; i++) {
        const ledger_field *fl = &rt->fields[i];
        if ((fl->flags & LEDGER_FIELD_REQUIRED) && !(fl->flags & LEDGER_FIELD_INTERNAL) &&
            p->value[i] == NULL)
            return cli_usage(rc->name, "--%s is required", fl->name);
    }
    return 0;
}

typedef struct kid_match {
    const char *prefix;
    size_t hits;
    ledger_keyinfo info;
} kid_match;

static int kid_seen(const ledger_keyinfo *k, void *ud)
{
    kid_match *m = ud;
    char hex[2 * KEYS_KID_BYTES + 1];
    ledger_hex(hex, k->kid, sizeof(k->kid));
    if (strncmp(hex, m->prefix, strlen(m->prefix)) == 0) {
        m->hits++;
        m->info = *k;
    }
    return 0;
}

int cli_resolve_kid(ledger *l, const char *flag, const char *text, ledger_keyinfo *out)
{
    char lower[2 * KEYS_KID_BYTES + 1];
    size_t n = strlen(text);
    if (n < 8 || n > 2 * KEYS_KID_BYTES) {
        cli_err("bad %s '%s': a key id of 8 to 32 hex digits", flag, text);
        return RX_EXIT_USAGE;
    }
    for (size_t i = 0; i <= n; i++) {
        char ch = text[i];
        if (i < n &&
            !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'))) {
            cli_err("bad %s '%s': a key id of 8 to 32 hex digits", flag, text);
            return RX_EXIT_USAGE;
        }
        lower[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
    }
    kid_match m;
    memset(&m, 0, sizeof(m));
    m.prefix = lower;
    if (ledger_keys_list(l, kid_seen, &m) != 0) {
        cli_err("cannot read keys: %s", ledger_errmsg(l));
        return RX_EXIT_ERROR;
    }
    if (m.hits != 1) {
        cli_err(m.hits == 0 ? "bad %s '%s': no enrolled key matches"
                            : "bad %s '%s': matches several keys",
                flag, text);
        return RX_EXIT_USAGE;
    }
    *out = m.info;
    return RX_EXIT_OK;
}

/* Field value -> body, with the kinds that need the ledger or the identity store. */
typedef struct ctx {
    const record_cmd *rc;
    const ledger_rtype *rt;
    parsed p;
    ledger *l;
    ledger_ids *ids;
    ledger_body *b;
    int64_t event_ms;
    /* what the checks need */
    uint64_t session;
    bool has_session;
    uint8_t patient[LEDGER_COMMIT_BYTES];
    bool new_patient;
    bool committed; /* new identifiers written to the identity store */
    char patient_id[LEDGER_PATIENT_ID_MAX + 1];
    const char *override;
    bool overridden;                    /* a check refused and --override carried it */
    char ref_type[LEDGER_TYPE_MAX + 1]; /* amend: the type of the corrected entry */
    uint8_t actor[KEYS_KID_BYTES];
} ctx;

static int put_field(ctx *c, const ledger_field *fl, const char *text)
{
    char why[POLICY_WHY_MAX], flag[64];
    int rc;
    (void)snprintf(flag, sizeof(flag), "--%s", fl->name);
    if (fl->kind == LEDGER_F_KID) {
        ledger_keyinfo k;
        if ((rc = cli_resolve_kid(c->l, flag, text, &k)) != 0)
            return rc;
        if (strcmp(fl->name, "prescriber") == 0 && k.role != LEDGER_ROLE_PRESCRIBER) {
            cli_err("bad --prescriber: %s is enrolled as %s, not prescriber", k.name,
                    ledger_role_name(k.role));
            return RX_EXIT_USAGE;
        }
        if (strcmp(fl->name, "observer") == 0 && !ledger_role_observer(k.role)) {
            cli_err("bad --observer: %s is enrolled as %s, not an observer-capable role "
                    "(prescriber, nurse)",
                    k.name, ledger_role_name(k.role));
            return RX_EXIT_USAGE;
        }
        if (k.revoked) {
            cli_err("bad %s: the key of %s is revoked", flag, k.name);
            return RX_EXIT_USAGE;
        }
        return ledger_body_put_bytes(c->b, fl->name, k.kid, sizeof(k.kid)) == 0 ? 0 : RX_EXIT_ERROR;
    }
    if (fl->kind == LEDGER_F_COMMIT) {
        if (ledger_id_check(text, why, sizeof(why)) != 0) {
            cli_err("bad %s: %s", flag, why);
            return RX_EXIT_USAGE;
        }
        return 0; /* committed once everything else has been checked */
    }
    if (fl->kind == LEDGER_F_FIELDS) {
        ledger_body *set = NULL;
        rc = ledger_body_new(&set) == 0 ? 0 : RX_EXIT_ERROR;
        const ledger_rtype *target = ledger_rtype_find(c->ref_type);
        for (size_t i = 0; rc == 0 && i < c->p.nsets; i++) {
            /* The corrected value must be one the corrected entry's type accepts. */
            const char *eq = strchr(c->p.sets[i], '=');
            char key[33];
            size_t kn = eq != NULL ? (size_t)(eq - c->p.sets[i]) : 0;
            const ledger_field *tf = NULL;
            if (eq != NULL && kn > 0 && kn < sizeof(key)) {
                memcpy(key, c->p.sets[i], kn);
                key[kn] = '\0';
                tf = target != NULL && target->fields != NULL ? ledger_rtype_field(target, key)
                                                              : NULL;
            }
            ledger_body *probe = NULL;
            if (eq == NULL || kn == 0) {
                cli_err("bad --set '%s': must be FIELD=VALUE", c->p.sets[i]);
                rc = RX_EXIT_USAGE;
            } else if (tf == NULL || (tf->flags & LEDGER_FIELD_INTERNAL) ||
                       tf->kind == LEDGER_F_KID || tf->kind == LEDGER_F_COMMIT ||
                       tf->kind == LEDGER_F_FIELDS) {
                cli_err("bad --set '%s': not a correctable field of a %s entry", c->p.sets[i],
                        c->ref_type);
                rc = RX_EXIT_USAGE;
            } else if (ledger_body_new(&probe) != 0) {
                rc = RX_EXIT_ERROR;
            } else if (ledger_field_parse(tf, eq + 1, probe, why, sizeof(why)) != 0) {
                cli_err("bad --set '%s': %s", c->p.sets[i], why);
                rc = RX_EXIT_USAGE;
            } else if (ledger_field_parse(fl, c->p.sets[i], set, why, sizeof(why)) != 0) {
                cli_err("bad --set '%s': %s", c->p.sets[i], why);
                rc = RX_EXIT_USAGE;
            }
            ledger_body_free(probe);
        }
        if (rc == 0 && ledger_body_put_map(c->b, fl->name, set) != 0)
            rc = RX_EXIT_ERROR;
        ledger_body_free(set);
        return rc;
    }
    if (fl->kind == LEDGER_F_TIME) {
        int64_t t;
        if ((rc = cli_parse_event_time(&t, flag, text)) != 0)
            return rc;
    }
    why[0] = '\0';
    rc = ledger_field_parse(fl, text, c->b, why, sizeof(why));
    if (rc != 0) {
        cli_err("bad %s '%s': %s", flag, text, why[0] ? why : ledger_strerror(rc));
        return RX_EXIT_USAGE;
    }
    if (fl->kind == LEDGER_F_SEQ && strcmp(fl->name, "session") == 0) {
        c->has_session = true;
        (void)cli_parse_u64(&c->session, "--session", text, 0, UINT64_MAX);
    }
    if (strcmp(fl->name, "override") == 0)
        c->override = text;
    return 0;
}

/* The commitments. @p lookup: only find the stored ones (a patient not yet
 * known gets all zeros, which matches no enrollment), for the checks; the new
 * ones are made (written to the identity store) only once every check has
 * passed, so that a refused command leaves the store as it was. */
static int put_commitments(ctx *c, bool lookup)
{
    uint8_t commit[LEDGER_COMMIT_BYTES], mrn_commit[LEDGER_COMMIT_BYTES];
    bool have_mrn = false;
    const bool enroll = strcmp(c->rt->type, "patient.enroll") == 0;
    for (size_t i = 0; i < c->rt->nfields; i++) {
        const ledger_field *fl = &c->rt->fields[i];
        if (fl->kind != LEDGER_F_COMMIT || c->p.value[i] == NULL)
            continue;
        ledger_idkind kind = strcmp(fl->name, "patient") == 0 ? LEDGER_ID_MRN : LEDGER_ID_REMS;
        if (lookup) {
            int frc = c->ids != NULL ? ledger_ids_commit(c->ids, kind, c->p.value[i], false, commit)
                                     : LEDGER_ENOTFOUND;
            if (frc == LEDGER_ENOTFOUND) {
                memset(commit, 0, sizeof(commit));
                c->new_patient |= kind == LEDGER_ID_MRN;
            } else if (frc != 0) {
                cli_err("cannot look up the identifier: %s", ledger_ids_errmsg(c->ids));
                return RX_EXIT_ERROR;
            }
            if (kind == LEDGER_ID_MRN) {
                memcpy(c->patient, commit, sizeof(commit));
                (void)snprintf(c->patient_id, sizeof(c->patient_id), "%s", c->p.value[i]);
            }
            continue;
        }
        if (kind == LEDGER_ID_MRN &&
            ledger_ids_commit(c->ids, kind, c->p.value[i], false, commit) == LEDGER_ENOTFOUND)
            c->new_patient = true;
        /* Any patient gets a commitment on first sight; the REMS check is separate. */
        if (ledger_ids_commit(c->ids, kind, c->p.value[i], true, commit) != 0) {
            cli_err("cannot record the identifier: %s", ledger_ids_errmsg(c->ids));
            return RX_EXIT_ERROR;
        }
        c->committed = true;
        if (kind == LEDGER_ID_MRN) {
            memcpy(mrn_commit, commit, sizeof(commit));
            memcpy(c->patient, commit, sizeof(commit));
            (void)snprintf(c->patient_id, sizeof(c->patient_id), "%s", c->p.value[i]);
            have_mrn = true;
        } else if (have_mrn && enroll && ledger_ids_link(c->ids, mrn_commit, commit) != 0) {
            cli_err("cannot link the REMS id: %s", ledger_ids_errmsg(c->ids));
            return RX_EXIT_ERROR;
        }
        if (ledger_body_put_bytes(c->b, fl->name, commit, sizeof(commit)) != 0)
            return RX_EXIT_ERROR;
    }
    return 0;
}

/* DOMAIN's operational checks. Refusals can be overridden where the type allows. */
static int sequencing(ctx *c)
{
    char why[POLICY_WHY_MAX] = "";
    policy_session s;
    int rc = 0;
    memset(&s, 0, sizeof(s));
    const char *ty = c->rt->type;
    if (c->has_session) {
        rc = policy_session_load(c->l, c->session, &s, NULL, NULL, why, sizeof(why));
        if (rc != 0) {
            cli_err("bad --session %llu: %s", (unsigned long long)c->session, why);
            return rc == POLICY_ENOSESSION ? RX_EXIT_USAGE : RX_EXIT_ERROR;
        }
    }
    int64_t at = c->event_ms != 0 ? c->event_ms : cli_now_ms();
    if (strcmp(ty, "session.open") == 0) {
        char d[16] = "", st[16] = "";
        for (size_t i = 0; i < c->rt->nfields; i++) {
            if (strcmp(c->rt->fields[i].name, "drug") == 0 && c->p.value[i])
                (void)snprintf(d, sizeof(d), "%s", c->p.value[i]);
            if (strcmp(c->rt->fields[i].name, "setting") == 0 && c->p.value[i])
                (void)snprintf(st, sizeof(st), "%s", c->p.value[i]);
        }
        rc = policy_check_session_open(c->l, c->patient, d, st, at, why, sizeof(why));
    } else if (strcmp(ty, "dose") == 0) {
        rc = policy_check_dose(&s, at, why, sizeof(why));
    } else if (strcmp(ty, "discharge") == 0) {
        policy_profile prof;
        if ((rc = policy_profile_in_force(&prof, c->l, s.drug, s.opened_ms, why, sizeof(why))) !=
            0) {
            cli_err("%s", why);
            return RX_EXIT_ERROR;
        }
        rc = policy_check_discharge(&s, &prof, at, why, sizeof(why));
        /* MON-OBSERVER: the sign-off is the session's monitoring observer's. */
        if (rc == 0 && memcmp(c->actor, s.observer, KEYS_KID_BYTES) != 0) {
            char obs[2 * KEYS_KID_BYTES + 1];
            ledger_hex(obs, s.observer, sizeof(s.observer));
            (void)snprintf(why, sizeof(why),
                           "the discharge is signed by someone other than the session's "
                           "observer (key %.8s)",
                           obs);
            rc = POLICY_ESEQUENCE;
        }
    } else if (c->has_session && strcmp(ty, "pmf") != 0) {
        rc = policy_check_open(&s, why, sizeof(why));
    }
    if (rc == 0)
        return 0;
    if (rc != POLICY_ESEQUENCE && rc != POLICY_ECLOSED) {
        cli_err("cannot check the sequence: %s", why[0] ? why : policy_strerror(rc));
        return RX_EXIT_ERROR;
    }
    if (c->override != NULL && rc == POLICY_ESEQUENCE) {
        cli_err("override recorded: %s", why);
        c->overridden = true;
        return 0;
    }
    if (ledger_rtype_field(c->rt, "override") != NULL && rc == POLICY_ESEQUENCE)
        cli_err("refused: %s (give --override REASON to record it anyway)", why);
    else
        cli_err("refused: %s", why);
    return RX_EXIT_ERROR;
}

typedef struct txn_work {
    ctx *c;
    keys_key *actor;
    keys_key *witness[MAX_WITNESSES];
    size_t nwitness;
    ledger_appended act, wit[MAX_WITNESSES];
} txn_work;

/* The act and its witnesses commit together or not at all. */
static int append_all(ledger_txn *t, void *ud)
{
    txn_work *w = ud;
    ledger_append_opts o = LEDGER_APPEND_INIT;
    int rc;
    o.type = w->c->rt->type;
    o.body = w->c->b;
    o.event_ms = w->c->event_ms;
    if ((rc = ledger_txn_append(t, w->actor, &o, &w->act)) != 0)
        return rc;
    for (size_t i = 0; i < w->nwitness; i++) {
        ledger_body *wb = NULL;
        ledger_append_opts wo = LEDGER_APPEND_INIT;
        rc = ledger_body_new(&wb);
        if (rc == 0)
            rc = ledger_body_put_uint(wb, "ref", w->act.seq);
        if (rc == 0)
            rc = ledger_body_put_bytes(wb, "ref-hash", w->act.hash, LEDGER_HASH_BYTES);
        wo.type = "witness";
        wo.meaning = w->c->rt->witness_meaning;
        wo.body = wb;
        wo.event_ms = w->c->event_ms;
        if (rc == 0)
            rc = ledger_txn_append(t, w->witness[i], &wo, &w->wit[i]);
        ledger_body_free(wb);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Witnesses: licensed, enrolled, not the actor, not each other. */
static int check_witnesses(ctx *c, txn_work *w)
{
    uint8_t pub[KEYS_PUB_BYTES], kids[MAX_WITNESSES + 1][KEYS_KID_BYTES];
    keys_key_pub(w->actor, pub);
    keys_kid(kids[0], pub);
    for (size_t i = 0; i < w->nwitness; i++) {
        ledger_keyinfo k;
        keys_key_pub(w->witness[i], pub);
        keys_kid(kids[i + 1], pub);
        for (size_t j = 0; j <= i; j++)
            if (memcmp(kids[j], kids[i + 1], KEYS_KID_BYTES) == 0) {
                cli_err(j == 0 ? "the witness must be someone other than the signer"
                               : "the two witnesses must be different people");
                return RX_EXIT_USAGE;
            }
        if (ledger_key_get(c->l, kids[i + 1], &k) != 0) {
            cli_err("witness key %s is not enrolled", c->p.wkey[i]);
            return RX_EXIT_ERROR;
        }
        if (!ledger_role_licensed(k.role)) {
            cli_err("witness %s is enrolled as %s, not a licensed role", k.name,
                    ledger_role_name(k.role));
            return RX_EXIT_ERROR;
        }
    }
    return 0;
}

static int run_record(const record_cmd *rcmd, int argc, char **argv, cli_batch_ctx *bc)
{
    const ledger_rtype *rt = ledger_rtype_find(rcmd->type);
    const bool amend = strcmp(rcmd->type, "amend") == 0;
    const char *target = NULL;
    char why[LEDGER_ERRMSG_MAX];
    ctx c;
    txn_work w;
    int rc;
    memset(&c, 0, sizeof(c));
    memset(&w, 0, sizeof(w));
    c.rc = rcmd;
    c.rt = rt;
    rc = parse_args(rcmd, rt, argc, argv, &c.p, amend ? &target : NULL, bc != NULL);
    if (rc != 0)
        return rc < 0 ? RX_EXIT_OK : rc;
    if (c.p.at != NULL && (rc = cli_parse_event_time(&c.event_ms, "--at", c.p.at)) != 0)
        return rc;
    if (rt->witnesses > 0 && c.p.nwpass > c.p.nwkey)
        return cli_usage(rcmd->name, "more --witness-passphrase-file than --witness-key");
    if (bc != NULL) {
        if (c.p.keypath != NULL || c.p.passfile != NULL)
            return cli_usage("batch", "a line may not name a key: the batch's --key signs");
        c.l = bc->l;
        c.ids = *bc->ids;
    } else if ((rc = cli_open(&c.l, rcmd->name, false)) != 0) {
        return rc;
    }
    if (ledger_body_new(&c.b) != 0) {
        rc = RX_EXIT_ERROR;
        goto done;
    }
    if (amend) {
        /* An amendment names the exact bytes it corrects. */
        uint64_t ref;
        uint8_t *buf = malloc(LEDGER_MAX_ENTRY_BYTES);
        ledger_entry e;
        rc = cli_parse_u64(&ref, "SEQ", target, 0, UINT64_MAX);
        if (rc == 0 && buf == NULL)
            rc = RX_EXIT_ERROR;
        if (rc == 0 && ledger_read_entry(c.l, ref, buf, LEDGER_MAX_ENTRY_BYTES, &e) != 0) {
            cli_err("bad SEQ: %s", ledger_errmsg(c.l));
            rc = RX_EXIT_USAGE;
        }
        if (rc == 0)
            cli_copy(c.ref_type, sizeof(c.ref_type), e.type);
        if (rc == 0 && (ledger_body_put_uint(c.b, "ref", ref) != 0 ||
                        ledger_body_put_bytes(c.b, "ref-hash", e.hash, LEDGER_HASH_BYTES) != 0))
            rc = RX_EXIT_ERROR;
        free(buf);
        if (rc != 0)
            goto done;
    }
    for (size_t i = 0; i < rt->nfields; i++)
        if (c.p.value[i] != NULL && (rc = put_field(&c, &rt->fields[i], c.p.value[i])) != 0)
            goto done;
    const ledger_field *ff = ledger_rtype_field(rt, "from"), *fu = ledger_rtype_field(rt, "until");
    if (ff != NULL && fu != NULL && c.p.value[ff - rt->fields] != NULL &&
        c.p.value[fu - rt->fields] != NULL &&
        strcmp(c.p.value[fu - rt->fields], c.p.value[ff - rt->fields]) < 0) {
        /* both are validated YYYY-MM-DD dates, so text order is date order */
        rc = cli_usage(rcmd->name, "--until must not be before --from");
        goto done;
    }
    if (strcmp(rcmd->type, "stock.report-loss") == 0) {
        uint64_t ref = 0;
        uint8_t *buf = malloc(LEDGER_MAX_ENTRY_BYTES);
        ledger_entry e;
        for (size_t i = 0; i < rt->nfields; i++)
            if (strcmp(rt->fields[i].name, "ref") == 0)
                (void)cli_parse_u64(&ref, "--ref", c.p.value[i], 0, UINT64_MAX);
        rc = buf == NULL || ledger_read_entry(c.l, ref, buf, LEDGER_MAX_ENTRY_BYTES, &e) != 0 ||
                     strcmp(e.type, "stock.loss") != 0
                 ? RX_EXIT_USAGE
                 : 0;
        free(buf);
        if (rc != 0) {
            cli_err("bad --ref: entry %llu is not a stock loss", (unsigned long long)ref);
            goto done;
        }
    }
    /* Every value is good: unlock the keys, then check the sequence. */
    if (bc != NULL)
        w.actor = bc->actor;
    else if ((rc = cli_load_key(&w.actor, c.p.keypath, c.p.passfile)) != 0)
        goto done;
    uint8_t actor_pub[KEYS_PUB_BYTES];
    ledger_keyinfo actor_info;
    keys_key_pub(w.actor, actor_pub);
    keys_kid(c.actor, actor_pub);
    /* The signer comes first: no sequencing advice for someone who may not sign
     * this, and nothing written to the identity store for a refused append. */
    int krc = ledger_key_get(c.l, c.actor, &actor_info);
    char kidhex[2 * KEYS_KID_BYTES + 1];
    ledger_hex(kidhex, c.actor, sizeof(c.actor));
    if (krc == LEDGER_ENOTFOUND) {
        cli_err("cannot append: key %s is not enrolled in this ledger", kidhex);
        rc = RX_EXIT_ERROR;
        goto done;
    }
    if (krc == 0 && actor_info.revoked) {
        cli_err("cannot append: signer key %s was revoked at seq %llu", kidhex,
                (unsigned long long)actor_info.revoked_seq);
        rc = RX_EXIT_ERROR;
        goto done;
    }
    if (krc == 0 && !ledger_rtype_allows(rt, actor_info.role)) {
        cli_err("cannot append: role '%s' may not sign '%s' entries",
                ledger_role_name(actor_info.role), rt->type);
        rc = RX_EXIT_ERROR;
        goto done;
    }
    for (size_t i = 0; i < c.p.nwkey; i++) {
        if ((rc = cli_load_key(&w.witness[i], c.p.wkey[i], i < c.p.nwpass ? c.p.wpass[i] : NULL)) !=
            0)
            goto done;
        w.nwitness++;
    }
    if (w.nwitness > 0 && (rc = check_witnesses(&c, &w)) != 0)
        goto done;
    bool needs_ids = false;
    for (size_t i = 0; i < rt->nfields; i++)
        needs_ids |= rt->fields[i].kind == LEDGER_F_COMMIT && c.p.value[i] != NULL;
    if (needs_ids) {
        /* Not created here: a ledger with no patient yet has no store. */
        int orc = c.ids != NULL ? 0
                                : ledger_ids_open(&c.ids, cli_ledger_dir(rcmd->name), false, why,
                                                  sizeof(why));
        if (orc != 0 && orc != LEDGER_ENOTFOUND) {
            cli_err("cannot open the identity store: %s", why);
            rc = RX_EXIT_ERROR;
            goto done;
        }
        if ((rc = put_commitments(&c, true)) != 0)
            goto done;
    }
    if ((rc = sequencing(&c)) != 0)
        goto done;
    if (w.nwitness < rt->witnesses) {
        char need[96];
        (void)snprintf(need, sizeof(need), "%s needs %u witness%s (--witness-key)", rcmd->name,
                       rt->witnesses, rt->witnesses > 1 ? "es" : "");
        if (c.override == NULL) {
            cli_err("refused: %s (give --override REASON to record it anyway)", need);
            rc = RX_EXIT_ERROR;
            goto done;
        }
        cli_err("override recorded: %s", need);
        c.overridden = true;
    }
    if (c.override != NULL && !c.overridden) {
        rc = cli_usage(rcmd->name, "--override given, but no check refused this step");
        goto done;
    }
    /* Every check passed: now the identifiers are found or made for good. */
    if (needs_ids) {
        if (c.ids == NULL &&
            ledger_ids_open(&c.ids, cli_ledger_dir(rcmd->name), true, why, sizeof(why)) != 0) {
            cli_err("cannot open the identity store: %s", why);
            rc = RX_EXIT_ERROR;
            goto done;
        }
        if ((rc = put_commitments(&c, false)) != 0)
            goto done;
    }
    w.c = &c;
    if (bc != NULL) {
        if (append_all(bc->txn, &w) != 0) {
            cli_err("cannot append: %s", ledger_errmsg(c.l));
            rc = RX_EXIT_ERROR;
            goto done;
        }
        bc->act = w.act;
        bc->nwitness = w.nwitness;
        if (c.new_patient)
            cli_copy(bc->new_patient, sizeof(bc->new_patient), c.patient_id);
        rc = RX_EXIT_OK;
        goto done;
    }
    if (ledger_transact(c.l, append_all, &w) != 0) {
        cli_err("cannot append: %s", ledger_errmsg(c.l));
        rc = RX_EXIT_ERROR;
        goto done;
    }
    char hash[2 * LEDGER_HASH_BYTES + 1];
    ledger_hex(hash, w.act.hash, sizeof(w.act.hash));
    printf("appended seq %llu %s\n", (unsigned long long)w.act.seq, hash);
    for (size_t i = 0; i < w.nwitness; i++) {
        ledger_hex(hash, w.wit[i].hash, sizeof(w.wit[i].hash));
        printf("witnessed seq %llu %s\n", (unsigned long long)w.wit[i].seq, hash);
    }
    if (strcmp(rcmd->type, "patient.enroll") == 0) {
        ledger_hex(hash, c.patient, sizeof(c.patient));
        printf("patient ref %s\n", hash);
    }
    if (strcmp(rcmd->type, "session.open") == 0)
        printf("session %llu\n", (unsigned long long)w.act.seq);
    rc = RX_EXIT_OK;
done:
    /* A patient first seen by a refused command leaves no identity behind. */
    if (rc != RX_EXIT_OK && c.new_patient && c.committed && c.ids != NULL)
        (void)ledger_ids_forget(c.ids, c.patient_id, NULL);
    for (size_t i = 0; i < MAX_WITNESSES; i++)
        keys_free(w.witness[i]);
    ledger_body_free(c.b);
    if (bc != NULL) {
        *bc->ids = c.ids; /* the batch keeps its signer, ledger and store */
        return rc;
    }
    keys_free(w.actor);
    ledger_ids_close(c.ids);
    ledger_close(c.l);
    return rc;
}

const char *cli_record_name(const char *type)
{
    for (size_t i = 0; i < sizeof(record_cmds) / sizeof(record_cmds[0]); i++)
        if (strcmp(record_cmds[i].type, type) == 0 || strcmp(record_cmds[i].name, type) == 0)
            return record_cmds[i].name;
    return NULL;
}

int cli_record_in_batch(const char *name, int argc, char **argv, cli_batch_ctx *bc)
{
    for (size_t i = 0; i < sizeof(record_cmds) / sizeof(record_cmds[0]); i++)
        if (strcmp(record_cmds[i].name, name) == 0)
            return run_record(&record_cmds[i], argc, argv, bc);
    return cli_usage("batch", "unknown type '%s'", name);
}

int cli_record(const char *name, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(record_cmds) / sizeof(record_cmds[0]); i++)
        if (strcmp(record_cmds[i].name, name) == 0)
            return run_record(&record_cmds[i], argc, argv, NULL);
    cli_err("unknown command '%s' (see 'rxledger --help')", name);
    return RX_EXIT_USAGE;
}
