/* rxledger batch: many entries from JSON lines, appended in transactions of
 * many entries (group commit). Each line is turned into the arguments of the
 * single command and runs through exactly its validation and sequencing
 * checks, inside the transaction, so a line sees the lines before it. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ledger/patients.h"

#define LINE_MAX_BYTES (256u * 1024) /* a line: one entry's fields */
#define MAX_ARGS       CLI_BATCH_MAX_ARGS
#define GROUP_DEFAULT  500

static const char batch_help[] =
    "usage: rxledger batch --key KEY [--passphrase-file F] [--group N] < ENTRIES.jsonl\n\n"
    "Append one entry per input line, each a JSON object: the entry type in \"type\"\n"
    "(\"note\", \"vitals\", \"stock.receive\" or \"stock receive\", ...) and its fields\n"
    "named as the single command's long options, e.g.\n"
    "  {\"type\":\"note\",\"text\":\"fridge checked\"}\n"
    "  {\"type\":\"vitals\",\"session\":\"@3\",\"phase\":\"pre\",\"bp\":\"128/82\",\"hr\":72}\n"
    "Values are strings or integers; true for a flag; an array repeats an option\n"
    "(\"set\":[\"mg=56\"]); an amendment names its entry in \"seq\". \"@N\" stands for the\n"
    "seq of the entry line N appended (an earlier line of this batch). KEY signs\n"
    "every line; witnesses come per line (\"witness-key\", with their passphrase from\n"
    "RXLEDGER_PASSPHRASE or \"witness-passphrase-file\"). Every line is checked exactly\n"
    "as the single command checks it, against the ledger as the lines before it left\n"
    "it. Lines are appended in transactions of N lines (default 500): all or nothing\n"
    "per transaction. The first bad line is reported by number; its transaction and\n"
    "everything after it are not appended. Blank lines are skipped.\n"
    "Exit status: 0 all appended; 1 or 2 as the bad line's command would exit.\n";

typedef struct line {
    char *text;
    unsigned long no;
} line;

typedef struct batch {
    cli_batch_ctx bc;
    line *lines;
    size_t n;
    uint64_t *seq_of; /* per input line: the act's seq (0 until appended) */
    size_t seq_cap;
    unsigned long bad_line;
    int bad_rc;
    char patients[GROUP_DEFAULT][80]; /* MRNs first seen in this transaction */
    size_t npatients;
    uint64_t first_seq, last_seq;
} batch;

static int put_arg(char **argv, int *argc, char *s)
{
    if (s == NULL || *argc >= MAX_ARGS - 1) {
        free(s);
        return -1;
    }
    argv[(*argc)++] = s;
    return 0;
}

/* "--" + an option name. */
static char *opt_of(const char *name)
{
    size_t n = strlen(name);
    char *s = malloc(n + 3);
    if (s != NULL) {
        memcpy(s, "--", 2);
        memcpy(s + 2, name, n + 1);
    }
    return s;
}

/* One JSON value as option text: strings as they are ("@N" resolved), integers. */
static char *value_text(const uint64_t *seq_of, size_t nseq, const char *key, json_t *v,
                        unsigned long no)
{
    char num[32];
    if (json_is_integer(v)) {
        (void)snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        return strdup(num);
    }
    if (!json_is_string(v)) {
        cli_usage("batch", "field '%s': give a string or an integer (decimals as strings)", key);
        return NULL;
    }
    const char *s = json_string_value(v);
    if (s[0] == '@' && s[1] >= '1' && s[1] <= '9') {
        char *end = NULL;
        errno = 0;
        unsigned long ref = strtoul(s + 1, &end, 10);
        if (errno != 0 || *end != '\0' || ref >= no || ref >= nseq || seq_of[ref] == 0) {
            cli_usage("batch",
                      "field '%s': '%s' is not an earlier line of this batch that "
                      "appended an entry",
                      key, s);
            return NULL;
        }
        (void)snprintf(num, sizeof(num), "%llu", (unsigned long long)seq_of[ref]);
        return strdup(num);
    }
    return strdup(s);
}

/* The JSON object of a line as the arguments of its command. */
int cli_batch_args(json_t *obj, unsigned long no, const uint64_t *seq_of, size_t nseq,
                   const char **cmd, char **argv, int *argc)
{
    const char *key;
    json_t *v, *type = json_object_get(obj, "type");
    char *seqpos = NULL;
    int rc = 0;
    *argc = 0;
    if (!json_is_string(type))
        return cli_usage("batch", "no \"type\" (a string) in the line");
    *cmd = strcmp(json_string_value(type), "note") == 0 ? "note"
                                                        : cli_record_name(json_string_value(type));
    if (*cmd == NULL)
        return cli_usage("batch",
                         "type '%s' cannot be written in a batch (record types and "
                         "notes can; see 'rxledger batch --help')",
                         json_string_value(type));
    if (put_arg(argv, argc, strdup(*cmd)) != 0)
        return RX_EXIT_ERROR;
    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "type") == 0)
            continue;
        if (strcmp(key, "key") == 0 || strcmp(key, "passphrase-file") == 0 ||
            strcmp(key, "help") == 0) {
            rc = cli_usage("batch", "field '%s' is not allowed in a line", key);
            goto done;
        }
        if (strcmp(key, "seq") == 0) { /* amend SEQ */
            if ((seqpos = value_text(seq_of, nseq, key, v, no)) == NULL)
                return RX_EXIT_USAGE;
            continue;
        }
        json_t *items = json_is_array(v) ? v : NULL;
        size_t nitems = items != NULL ? json_array_size(items) : 1;
        for (size_t i = 0; i < nitems; i++) {
            json_t *item = items != NULL ? json_array_get(items, i) : v;
            if (json_is_true(item)) {
                if (put_arg(argv, argc, opt_of(key)) != 0) {
                    rc = cli_usage("batch", "too many fields");
                    goto done;
                }
                continue;
            }
            if (json_is_false(item))
                continue;
            char *text = value_text(seq_of, nseq, key, item, no);
            if (text == NULL) {
                rc = RX_EXIT_USAGE;
                goto done;
            }
            if (put_arg(argv, argc, opt_of(key)) != 0) {
                free(text);
                rc = cli_usage("batch", "too many fields");
                goto done;
            }
            if (put_arg(argv, argc, text) != 0) {
                rc = cli_usage("batch", "too many fields");
                goto done;
            }
        }
    }
    if (seqpos != NULL) {
        char *last = seqpos;
        seqpos = NULL; /* put_arg takes it, also when it fails */
        if (put_arg(argv, argc, last) != 0)
            rc = cli_usage("batch", "too many fields");
    }
done:
    free(seqpos); /* still ours when a field after it was refused */
    argv[*argc] = NULL;
    return rc;
}

/* A note: the same checks as 'rxledger note'. */
static int note_line(cli_batch_ctx *bc, json_t *obj)
{
    json_t *text = json_object_get(obj, "text"), *at = json_object_get(obj, "at");
    const char *key;
    json_t *v;
    int64_t event_ms = 0;
    ledger_body *body = NULL;
    int rc;
    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "type") != 0 && strcmp(key, "text") != 0 && strcmp(key, "at") != 0)
            return cli_usage("note", "unknown field '%s'", key);
    }
    if (!json_is_string(text))
        return cli_usage("note", "--text is required");
    if ((rc = cli_check_text("--text", json_string_value(text), LEDGER_TEXT_MAX)) != 0)
        return rc;
    if (at != NULL && (!json_is_string(at) ||
                       cli_parse_event_time(&event_ms, "--at", json_string_value(at)) != 0))
        return RX_EXIT_USAGE;
    if (ledger_body_new(&body) != 0 ||
        ledger_body_put_text(body, "text", json_string_value(text)) != 0) {
        ledger_body_free(body);
        return RX_EXIT_ERROR;
    }
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "note";
    o.body = body;
    o.event_ms = event_ms;
    rc = ledger_txn_append(bc->txn, bc->actor, &o, &bc->act);
    ledger_body_free(body);
    bc->nwitness = 0;
    if (rc != 0) {
        cli_err("cannot append: %s", ledger_errmsg(bc->l));
        return RX_EXIT_ERROR;
    }
    return 0;
}

static int run_line(batch *b, const line *ln)
{
    json_error_t jerr;
    json_t *obj = json_loads(ln->text, JSON_REJECT_DUPLICATES, &jerr);
    char *argv[MAX_ARGS] = {NULL};
    const char *cmd = NULL;
    int argc = 0, rc;
    if (obj == NULL || !json_is_object(obj)) {
        json_decref(obj);
        return cli_usage("batch", "not a JSON object: %s", obj == NULL ? jerr.text : "");
    }
    b->bc.new_patient[0] = '\0';
    rc = cli_batch_args(obj, ln->no, b->seq_of, b->seq_cap, &cmd, argv, &argc);
    if (rc == 0)
        rc = strcmp(cmd, "note") == 0 ? note_line(&b->bc, obj)
                                      : cli_record_in_batch(cmd, argc, argv, &b->bc);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    json_decref(obj);
    if (rc == 0 && b->bc.new_patient[0] != '\0' && b->npatients < GROUP_DEFAULT)
        cli_copy(b->patients[b->npatients++], sizeof(b->patients[0]), b->bc.new_patient);
    return rc;
}

/* One transaction: every line of the group, or none. May run again (map growth). */
static int group_fn(ledger_txn *t, void *ud)
{
    batch *b = ud;
    char ctx[64];
    b->bc.txn = t;
    for (size_t i = 0; i < b->n; i++) {
        const line *ln = &b->lines[i];
        (void)snprintf(ctx, sizeof(ctx), "line %lu: ", ln->no);
        cli_err_context(ctx);
        int rc = run_line(b, ln);
        cli_err_context(NULL);
        if (rc != 0) {
            b->bad_line = ln->no;
            b->bad_rc = rc;
            return rc;
        }
        b->seq_of[ln->no] = b->bc.act.seq;
        if (i == 0)
            b->first_seq = b->bc.act.seq;
        b->last_seq = b->bc.act.seq + b->bc.nwitness;
    }
    return 0;
}

static int grow_seqs(batch *b, unsigned long no)
{
    if (no < b->seq_cap)
        return 0;
    size_t cap = b->seq_cap ? b->seq_cap : 1024;
    while (cap <= no)
        cap *= 2;
    uint64_t *nv = realloc(b->seq_of, cap * sizeof(*nv));
    if (nv == NULL)
        return -1;
    memset(nv + b->seq_cap, 0, (cap - b->seq_cap) * sizeof(*nv));
    b->seq_of = nv;
    b->seq_cap = cap;
    return 0;
}

static void free_lines(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->lines[i].text);
    b->n = 0;
}

int cmd_batch(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"group", required_argument, NULL, 'g'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *keypath = NULL, *passfile = NULL;
    uint64_t group = GROUP_DEFAULT;
    ledger_ids *ids = NULL;
    batch b;
    char *buf = NULL;
    size_t cap = 0;
    unsigned long no = 0, committed_lines = 0;
    uint64_t entries = 0, txns = 0, first = 0, last = 0;
    bool eof = false;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keypath = optarg;
            break;
        case 'P':
            passfile = optarg;
            break;
        case 'g':
            if (cli_parse_u64(&group, "--group", optarg, 1, GROUP_DEFAULT) != 0)
                return RX_EXIT_USAGE;
            break;
        case 'h':
            fputs(batch_help, stdout);
            return RX_EXIT_OK;
        default:
            return cli_bad_opt("batch", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage("batch", "unexpected argument '%s'", argv[optind]);
    if (keypath == NULL)
        return cli_usage("batch", "--key KEY is required");
    memset(&b, 0, sizeof(b));
    b.bc.ids = &ids;
    if ((b.lines = calloc(group, sizeof(line))) == NULL)
        return RX_EXIT_ERROR;
    if ((rc = cli_load_key(&b.bc.actor, keypath, passfile)) != 0 ||
        (rc = cli_open(&b.bc.l, "batch", false)) != 0)
        goto done;
    while (!eof) {
        /* read a group of lines */
        while (b.n < group) {
            ssize_t got = getline(&buf, &cap, stdin);
            if (got < 0) {
                eof = true;
                break;
            }
            no++;
            if ((size_t)got > LINE_MAX_BYTES) {
                cli_err("line %lu: longer than %u bytes", no, LINE_MAX_BYTES);
                rc = RX_EXIT_USAGE;
                goto report;
            }
            while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
                buf[--got] = '\0';
            if (got == 0)
                continue;
            if (grow_seqs(&b, no) != 0 || (b.lines[b.n].text = strdup(buf)) == NULL) {
                cli_err("out of memory");
                rc = RX_EXIT_ERROR;
                goto report;
            }
            b.lines[b.n++].no = no;
        }
        if (b.n == 0)
            break;
        b.npatients = 0;
        rc = ledger_transact(b.bc.l, group_fn, &b);
        if (rc != 0) {
            /* nothing of this transaction stays: not its entries, not its new patients */
            for (size_t i = 0; i < b.npatients && ids != NULL; i++)
                (void)ledger_ids_forget(ids, b.patients[i], NULL);
            for (size_t i = 0; i < b.n; i++)
                b.seq_of[b.lines[i].no] = 0;
            if (b.bad_line == 0)
                cli_err("cannot append: %s", ledger_errmsg(b.bc.l));
            rc = b.bad_rc != 0 ? b.bad_rc : RX_EXIT_ERROR;
            goto report;
        }
        if (txns == 0)
            first = b.first_seq;
        txns++;
        entries += b.last_seq - b.first_seq + 1;
        last = b.last_seq;
        committed_lines = b.lines[b.n - 1].no;
        free_lines(&b);
    }
    if (ferror(stdin)) {
        cli_err("cannot read standard input: %s", strerror(errno));
        rc = RX_EXIT_ERROR;
    }
report:
    if (txns > 0)
        /* another process may append between two of the batch's transactions */
        printf("appended %llu entries (seq %llu..%llu%s) from lines 1..%lu in %llu transaction%s\n",
               (unsigned long long)entries, (unsigned long long)first, (unsigned long long)last,
               last - first + 1 == entries ? "" : ", with other appends among them",
               committed_lines, (unsigned long long)txns, txns == 1 ? "" : "s");
    else if (rc == 0)
        printf("appended nothing: no lines\n");
    if (rc != 0 && b.n > 0)
        printf("not appended: lines %lu..%lu (the transaction of line %lu) and any after\n",
               b.lines[0].no, b.lines[b.n - 1].no, b.bad_line != 0 ? b.bad_line : b.lines[0].no);
done:
    free_lines(&b);
    free(b.lines);
    free(b.seq_of);
    free(buf);
    ledger_ids_close(ids);
    keys_free(b.bc.actor);
    ledger_close(b.bc.l);
    return rc;
}
