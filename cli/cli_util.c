/* Helpers shared by the commands: messages, passphrases, parsing, progress. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ledger/ident.h"
#include "ledger/patients.h"
#include "ledger/records.h"

cli_globals cli_g;

void cli_copy(char *out, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, src, n);
    out[n] = '\0';
}

/* Every diagnostic is one line: values quoted in it may hold anything a user
 * typed, so control characters are escaped before they reach the terminal. */
static char err_context[64]; /* "line 7: " while batch runs a line */

void cli_err_context(const char *prefix)
{
    cli_copy(err_context, sizeof(err_context), prefix != NULL ? prefix : "");
}

static void say(const char *fmt, va_list ap, const char *tail)
    __attribute__((format(printf, 1, 0)));
static void say(const char *fmt, va_list ap, const char *tail)
{
    char raw[2048], safe[4 * sizeof(raw)];
    (void)vsnprintf(raw, sizeof(raw), fmt, ap);
    cli_safe(safe, sizeof(safe), raw);
    fprintf(stderr, "rxledger: %s%s%s\n", err_context, safe, tail);
}

void cli_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap, "");
    va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char tail[96];
    va_list ap;
    (void)snprintf(tail, sizeof(tail), " (see 'rxledger %s --help')", cmd);
    va_start(ap, fmt);
    say(fmt, ap, tail);
    va_end(ap);
    return RX_EXIT_USAGE;
}

const char *cli_ledger_dir(const char *cmd)
{
    const char *d = cli_g.dir;
    if (d == NULL || *d == '\0')
        d = getenv("RXLEDGER_DIR");
    if (d == NULL || *d == '\0') {
        cli_usage(cmd, "no ledger directory: give -l DIR or set RXLEDGER_DIR");
        return NULL;
    }
    return d;
}

int cli_open(ledger **out, const char *cmd, bool rdonly)
{
    char err[LEDGER_ERRMSG_MAX];
    const char *dir = cli_ledger_dir(cmd);
    *out = NULL;
    if (dir == NULL)
        return RX_EXIT_USAGE;
    if (ledger_open(out, dir, rdonly ? LEDGER_OPEN_RDONLY : 0, err, sizeof(err)) != 0) {
        cli_err("%s", err);
        return RX_EXIT_ERROR;
    }
    return RX_EXIT_OK;
}

/* Read one line (without its newline) from fd into buf; bounded. */
static int read_line(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        if (n + 1 >= cap) {
            keys_wipe(buf, cap);
            return -1;
        }
        buf[n++] = c;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *len = n;
    return 0;
}

static int tty_ask(int fd, const char *prompt, char *buf, size_t cap, size_t *len)
{
    struct termios old, quiet;
    int rc;
    if (tcgetattr(fd, &old) != 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    /* Echo off before the prompt shows, so nothing typed after it is echoed. */
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
        return -1;
    if (write(fd, prompt, strlen(prompt)) < 0) {
        (void)tcsetattr(fd, TCSAFLUSH, &old);
        return -1;
    }
    rc = read_line(fd, buf, cap, len);
    (void)tcsetattr(fd, TCSAFLUSH, &old);
    return rc;
}

int cli_passphrase(char *buf, size_t cap, size_t *len, const char *passfile, const char *prompt,
                   bool confirm)
{
    const char *env = getenv("RXLEDGER_PASSPHRASE");
    int rc = RX_EXIT_ERROR;
    if (passfile != NULL) {
        int fd = open(passfile, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cli_err("cannot open passphrase file '%s': %s", passfile, strerror(errno));
            return RX_EXIT_ERROR;
        }
        if (read_line(fd, buf, cap, len) != 0)
            cli_err("passphrase in '%s' is longer than %d bytes", passfile, KEYS_PASS_MAX);
        else
            rc = RX_EXIT_OK;
        close(fd);
        return rc;
    }
    if (env != NULL) {
        size_t n = strlen(env);
        if (n + 1 > cap) {
            cli_err("RXLEDGER_PASSPHRASE is longer than %d bytes", KEYS_PASS_MAX);
            return RX_EXIT_ERROR;
        }
        memcpy(buf, env, n + 1);
        *len = n;
        return RX_EXIT_OK;
    }
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        cli_err("no passphrase: no terminal; use --passphrase-file or RXLEDGER_PASSPHRASE");
        return RX_EXIT_ERROR;
    }
    if (tty_ask(fd, prompt, buf, cap, len) != 0) {
        cli_err("cannot read the passphrase from the terminal");
        goto done;
    }
    if (confirm) {
        char again[KEYS_PASS_MAX + 1];
        size_t alen = 0;
        if (tty_ask(fd, "repeat passphrase: ", again, sizeof(again), &alen) != 0 || alen != *len ||
            !keys_equal(again, buf, alen)) {
            cli_err("passphrases do not match");
            keys_wipe(again, sizeof(again));
            keys_wipe(buf, cap);
            goto done;
        }
        keys_wipe(again, sizeof(again));
    }
    rc = RX_EXIT_OK;
done:
    close(fd);
    return rc;
}

int cli_load_key(keys_key **out, const char *path, const char *passfile)
{
    char pass[KEYS_PASS_MAX + 1], err[512], prompt[600];
    size_t plen = 0;
    int rc;
    *out = NULL;
    (void)snprintf(prompt, sizeof(prompt), "passphrase for %s: ", path);
    rc = cli_passphrase(pass, sizeof(pass), &plen, passfile, prompt, false);
    if (rc != RX_EXIT_OK)
        return rc;
    if (keys_load(out, path, pass, plen, err, sizeof(err)) != 0) {
        cli_err("%s", err);
        rc = RX_EXIT_ERROR;
    }
    keys_wipe(pass, sizeof(pass));
    return rc;
}

int cli_parse_time(int64_t *out, const char *flag, const char *text)
{
    char why[128];
    if (strcmp(text, "now") == 0) {
        *out = cli_now_ms();
        return RX_EXIT_OK;
    }
    if (ledger_time_parse(out, text, why, sizeof(why)) != 0) {
        cli_err("bad %s '%s': %s", flag, text, why);
        return RX_EXIT_USAGE;
    }
    return RX_EXIT_OK;
}

int cli_parse_event_time(int64_t *out, const char *flag, const char *text)
{
    int rc = cli_parse_time(out, flag, text);
    /* Nothing that happened may be dated beyond the clock's tolerance (TIME-FUTURE). */
    if (rc == RX_EXIT_OK && *out > cli_now_ms() + LEDGER_FUTURE_TOLERANCE_MS) {
        cli_err("bad %s '%s': more than 5 minutes in the future", flag, text);
        rc = RX_EXIT_USAGE;
    }
    return rc;
}

int cli_parse_u64(uint64_t *out, const char *flag, const char *text, uint64_t min, uint64_t max)
{
    char *end = NULL;
    unsigned long long v;
    if (text[0] < '0' || text[0] > '9') {
        cli_err("bad %s '%s': not a whole number", flag, text);
        return RX_EXIT_USAGE;
    }
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        cli_err("bad %s '%s': not a whole number", flag, text);
        return RX_EXIT_USAGE;
    }
    if (v < min || v > max) {
        cli_err("bad %s '%s': must be from %llu to %llu", flag, text, (unsigned long long)min,
                (unsigned long long)max);
        return RX_EXIT_USAGE;
    }
    *out = v;
    return RX_EXIT_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cli_parse_hex(uint8_t *out, size_t n, const char *text)
{
    if (strlen(text) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int cli_check_text(const char *flag, const char *text, size_t max)
{
    size_t n = strlen(text);
    if (n == 0) {
        cli_err("bad %s: must not be empty", flag);
        return RX_EXIT_USAGE;
    }
    if (n > max) {
        cli_err("bad %s: longer than %zu bytes", flag, max);
        return RX_EXIT_USAGE;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i], d = (unsigned char)text[i + 1];
        /* C0, DEL, and C1 (U+0080-U+009F, encoded c2 80-c2 9f) */
        if (c < 0x20 || c == 0x7f || (c == 0xc2 && d >= 0x80 && d <= 0x9f)) {
            cli_err("bad %s: contains a control character", flag);
            return RX_EXIT_USAGE;
        }
    }
    /* UTF-8 validity: let the body encoder be the single judge. */
    ledger_body *b = NULL;
    int rc = ledger_body_new(&b);
    if (rc == 0)
        rc = ledger_body_put_text(b, "t", text);
    ledger_body_free(b);
    if (rc != 0) {
        cli_err("bad %s: not valid UTF-8 text", flag);
        return RX_EXIT_USAGE;
    }
    return RX_EXIT_OK;
}

void cli_time(char out[LEDGER_TIME_TEXT_BYTES], int64_t ms)
{
    ledger_time_format(out, ms);
}

static bool progress_shown;

void cli_progress(uint64_t done, uint64_t total, void *ud)
{
    const char *what = ud;
    if (!isatty(STDERR_FILENO))
        return;
    fprintf(stderr, "\r%s %llu/%llu entries", what, (unsigned long long)done,
            (unsigned long long)total);
    fflush(stderr);
    progress_shown = true;
}

void cli_progress_end(void)
{
    if (progress_shown)
        fputs("\r\033[K", stderr);
    progress_shown = false;
}

/* The length of the valid UTF-8 sequence (2 to 4 bytes) at @p s, or 0: no
 * overlong form, no surrogate, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s)
{
    size_t n = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
               : s[0] >= 0xe0 && s[0] <= 0xef ? 3
               : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                              : 0;
    for (size_t k = 1; k < n; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

void cli_safe(char *dst, size_t cap, const char *src)
{
    /* Entries may have been planted by someone else, and messages quote what a
     * user typed: never send control characters (C0, DEL, C1) to a terminal,
     * nor bytes that are not UTF-8 (a lone 0x9b is CSI to an 8-bit terminal);
     * show them as \xNN (C1 as \u00NN) instead. */
    size_t w = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; src[i] != '\0'; i++) {
        const unsigned char *u = (const unsigned char *)src + i;
        char esc[12];
        size_t n, seq = u[0] >= 0x80 ? utf8_seq(u) : 0;
        if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f) {
            n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", u[1]);
            i++;
        } else if (u[0] < 0x20 || u[0] == 0x7f || (u[0] >= 0x80 && seq == 0)) {
            n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", u[0]);
        } else if (seq > 0) {
            memcpy(esc, u, seq);
            n = seq;
            i += seq - 1;
        } else {
            esc[0] = (char)u[0];
            n = 1;
        }
        if (w + n >= cap)
            break;
        memcpy(dst + w, esc, n);
        w += n;
    }
    dst[w] = '\0';
}

void cli_summary(const ledger_entry *e, char *buf, size_t cap)
{
    char a[LEDGER_TEXT_MAX + 1], b[LEDGER_NAME_MAX + 1];
    const uint8_t *p;
    size_t n;
    buf[0] = '\0';
    if (strcmp(e->type, "genesis") == 0 &&
        ledger_entry_get_text(e, "site_name", a, sizeof(a)) == 0 &&
        ledger_entry_get_text(e, "dea", b, sizeof(b)) == 0) {
        (void)snprintf(buf, cap, "site \"%s\", DEA %s", a, b);
    } else if (strcmp(e->type, "key.enroll") == 0 &&
               ledger_entry_get_text(e, "name", a, sizeof(a)) == 0 &&
               ledger_entry_get_text(e, "role", b, sizeof(b)) == 0) {
        (void)snprintf(buf, cap, "%s as %s", a, b);
    } else if (strcmp(e->type, "key.revoke") == 0 &&
               ledger_entry_get_bytes(e, "kid", &p, &n) == 0 && n == KEYS_KID_BYTES &&
               ledger_entry_get_text(e, "reason", a, sizeof(a)) == 0) {
        char kid[2 * KEYS_KID_BYTES + 1];
        ledger_hex(kid, p, n);
        (void)snprintf(buf, cap, "key %.8s: %s", kid, a);
    } else if (strcmp(e->type, "note") == 0 &&
               ledger_entry_get_text(e, "text", a, sizeof(a)) == 0) {
        cli_copy(buf, cap, a);
    } else {
        cli_body_line(e, buf, cap);
    }
    char raw[LEDGER_TEXT_MAX + 1];
    (void)snprintf(raw, sizeof(raw), "%s", buf);
    cli_safe(buf, cap, raw);
    /* A long summary is cut at a character boundary, marked with "...". */
    size_t len = strlen(buf);
    if (len >= cap - 1 && cap > 4) {
        size_t cut = cap - 4;
        while (cut > 0 && ((unsigned char)buf[cut] & 0xc0) == 0x80)
            cut--;
        memcpy(buf + cut, "...", 4);
    }
}

int cli_bad_opt(const char *cmd, int c, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return cli_usage(cmd, "option '%s' needs a value", arg);
    return cli_usage(cmd, "unknown option '%s'", arg);
}

int64_t cli_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cli_append(const char *cmd, const char *keypath, const char *passfile, const char *type,
               const ledger_body *body, int64_t event_ms, ledger_appended *out)
{
    keys_key *k = NULL;
    ledger *l = NULL;
    int rc;
    /* Unlock first: a wrong passphrase never gets as far as the ledger. */
    if ((rc = cli_load_key(&k, keypath, passfile)) != 0)
        goto done;
    if ((rc = cli_open(&l, cmd, false)) != 0)
        goto done;
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = type;
    o.body = body;
    o.event_ms = event_ms;
    if (ledger_append(l, k, &o, out) != 0) {
        cli_err("cannot append: %s", ledger_errmsg(l));
        rc = RX_EXIT_ERROR;
    }
done:
    keys_free(k);
    ledger_close(l);
    return rc;
}

static ledger_ids *ids_handle;
static bool ids_tried, ids_broken;

static void ids_close(void)
{
    ledger_ids_close(ids_handle);
}

void cli_patient_name(const uint8_t commit[32], char *buf, size_t cap)
{
    char id[LEDGER_PATIENT_ID_MAX + 1];
    ledger_idkind kind;
    if (!ids_tried) {
        char why[256];
        const char *dir = cli_g.dir != NULL ? cli_g.dir : getenv("RXLEDGER_DIR");
        ids_tried = true;
        int rc = dir != NULL ? ledger_ids_open(&ids_handle, dir, false, why, sizeof(why))
                             : LEDGER_ENOTFOUND;
        if (rc == 0)
            (void)atexit(ids_close);
        /* no store: no patient was ever recorded, or all erased; any other
         * failure must not pass for an erasure */
        ids_broken = rc != 0 && rc != LEDGER_ENOTFOUND;
    }
    if (ids_handle != NULL && ledger_ids_lookup(ids_handle, commit, id, &kind) == 0)
        cli_copy(buf, cap, id);
    else
        (void)snprintf(buf, cap, ids_broken ? "unknown (identity store unreadable)" : "erased");
}

/* One field of a record, in the units a person reads. */
static void render_field(const ledger_entry *e, const ledger_field *f, char *out, size_t cap)
{
    uint64_t v;
    const uint8_t *p;
    size_t n;
    char text[LEDGER_TEXT_MAX + 1];
    out[0] = '\0';
    switch (f->kind) {
    case LEDGER_F_TEXT:
    case LEDGER_F_DEA:
    case LEDGER_F_CHOICE:
    case LEDGER_F_NDC:
        if (ledger_entry_get_text(e, f->name, text, sizeof(text)) == 0)
            cli_copy(out, cap, text);
        break;
    case LEDGER_F_UINT:
    case LEDGER_F_SEQ:
        if (ledger_entry_get_uint(e, f->name, &v) == 0)
            (void)snprintf(out, cap, "%llu", (unsigned long long)v);
        break;
    case LEDGER_F_MILLI:
    case LEDGER_F_CONC:
        if (ledger_entry_get_uint(e, f->name, &v) == 0) {
            int w = snprintf(out, cap, "%llu.%03llu", (unsigned long long)(v / 1000),
                             (unsigned long long)(v % 1000));
            /* trim trailing zeros of the fraction */
            while (w > 0 && (size_t)w < cap && out[w - 1] == '0')
                out[--w] = '\0';
            if (w > 0 && (size_t)w < cap && out[w - 1] == '.')
                out[--w] = '\0';
            if (f->kind == LEDGER_F_CONC && w > 0 && (size_t)w + 6 < cap)
                memcpy(out + w, "mg/ml", 6);
        }
        break;
    case LEDGER_F_FLAG:
        if (ledger_entry_get_bytes(e, f->name, &p, &n) != LEDGER_ENOTFOUND)
            (void)snprintf(out, cap, "yes");
        break;
    case LEDGER_F_TIME:
        if (ledger_entry_get_uint(e, f->name, &v) == 0) {
            char t[LEDGER_TIME_TEXT_BYTES];
            cli_time(t, (int64_t)v);
            cli_copy(out, cap, t);
        }
        break;
    case LEDGER_F_DATE:
        if (ledger_entry_get_uint(e, f->name, &v) == 0) {
            char d[11];
            ledger_date_format(d, (int64_t)v);
            cli_copy(out, cap, d);
        }
        break;
    case LEDGER_F_KID:
        if (ledger_entry_get_bytes(e, f->name, &p, &n) == 0 && n == KEYS_KID_BYTES) {
            char hex[2 * KEYS_KID_BYTES + 1];
            ledger_hex(hex, p, n);
            (void)snprintf(out, cap, "%.8s", hex);
        }
        break;
    case LEDGER_F_COMMIT:
        if (ledger_entry_get_bytes(e, f->name, &p, &n) == 0 && n == LEDGER_COMMIT_BYTES)
            cli_patient_name(p, out, cap);
        break;
    case LEDGER_F_HASH:
        break;
    case LEDGER_F_BP:
    case LEDGER_F_SCHEDULES:
    case LEDGER_F_FIELDS: {
        /* small arrays and maps: the generic rendering, compacted */
        char all[2048];
        ledger_entry_format_body(e, all, sizeof(all));
        size_t kl = strlen(f->name);
        for (char *line = all; line != NULL && *line;) {
            char *nl = strchr(line, '\n');
            if (nl != NULL)
                *nl = '\0';
            if (strncmp(line, f->name, kl) == 0 && line[kl] == ':') {
                const char *val = line + kl + 2;
                if (f->kind == LEDGER_F_BP) {
                    unsigned sys = 0, dia = 0;
                    if (sscanf(val, "[%u, %u]", &sys, &dia) == 2)
                        (void)snprintf(out, cap, "%u/%u", sys, dia);
                } else if (f->kind == LEDGER_F_FIELDS) {
                    /* nested lines follow, indented */
                    size_t w = 0;
                    for (char *sub = nl ? nl + 1 : NULL; sub != NULL && sub[0] == ' ';) {
                        char *snl = strchr(sub, '\n');
                        if (snl != NULL)
                            *snl = '\0';
                        while (*sub == ' ')
                            sub++;
                        int k = snprintf(out + w, cap - w, "%s%s", w ? ", " : "", sub);
                        if (k < 0 || (size_t)k >= cap - w)
                            break;
                        w += (size_t)k;
                        sub = snl != NULL ? snl + 1 : NULL;
                    }
                } else {
                    cli_copy(out, cap, val);
                }
                break;
            }
            line = nl != NULL ? nl + 1 : NULL;
        }
        break;
    }
    }
}

void cli_body_line(const ledger_entry *e, char *buf, size_t cap)
{
    const ledger_rtype *rt = ledger_rtype_find(e->type);
    char out[4096] = "", val[1024];
    size_t w = 0;
    if (rt == NULL || rt->fields == NULL) {
        ledger_entry_format_body(e, out, sizeof(out));
        for (char *c = out; *c; c++)
            if (*c == '\n')
                *c = ' ';
        cli_safe(buf, cap, out);
        return;
    }
    for (size_t i = 0; i < rt->nfields; i++) {
        const ledger_field *f = &rt->fields[i];
        if (strcmp(f->name, "session") == 0 || f->kind == LEDGER_F_HASH)
            continue;
        render_field(e, f, val, sizeof(val));
        if (val[0] == '\0')
            continue;
        int n = f->kind == LEDGER_F_FLAG
                    ? snprintf(out + w, sizeof(out) - w, "%s%s", w ? "  " : "", f->name)
                    : snprintf(out + w, sizeof(out) - w, "%s%s=%s", w ? "  " : "", f->name, val);
        if (n < 0 || (size_t)n >= sizeof(out) - w)
            break;
        w += (size_t)n;
    }
    cli_safe(buf, cap, out);
}

typedef struct amend_print {
    ledger *l;
    const char *indent;
    const char *what;
} amend_print;

static int amend_line(uint64_t seq, void *ud)
{
    amend_print *ap = ud;
    uint8_t *buf = malloc(LEDGER_MAX_ENTRY_BYTES);
    ledger_entry e;
    if (buf == NULL)
        return 1;
    if (ledger_read_entry(ap->l, seq, buf, LEDGER_MAX_ENTRY_BYTES, &e) == 0) {
        char line[1024], name[4 * LEDGER_NAME_MAX + 1], when[LEDGER_TIME_TEXT_BYTES];
        cli_body_line(&e, line, sizeof(line));
        cli_safe(name, sizeof(name), e.name);
        cli_time(when, e.recorded_ms);
        printf("%s%s by seq %llu: %s, %s (%s): %s\n", ap->indent, ap->what, (unsigned long long)seq,
               name, when, e.meaning, line);
    }
    free(buf);
    return 0;
}

void cli_print_amendments(ledger *l, uint64_t seq, const char *indent)
{
    uint8_t kb[8];
    for (int i = 0; i < 8; i++)
        kb[i] = (uint8_t)(seq >> (56 - 8 * i));
    amend_print w = {l, indent, "witnessed"};
    (void)ledger_index_each(l, LEDGER_INDEX_WITNESS, kb, sizeof(kb), amend_line, &w);
    amend_print a = {l, indent, "corrected"};
    (void)ledger_index_each(l, LEDGER_INDEX_AMEND, kb, sizeof(kb), amend_line, &a);
}

FILE *cli_out_open(const char *path, char *tmp, size_t cap)
{
    struct stat st;
    size_t len = strlen(path);
    /* Refused up front, before a command that writes its ledger first (checkpoint)
     * has changed anything: rename() would fail at the end. */
    if (len == 0 || path[len - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        cli_err("cannot write '%s': not a file name", path);
        return NULL;
    }
    int n = snprintf(tmp, cap, "%s.tmp", path);
    FILE *f = NULL;
    errno = ENAMETOOLONG; /* what a path that does not fit is told */
    if (n > 0 && (size_t)n < cap)
        f = fopen(tmp, "wbx");
    if (f == NULL)
        cli_err("cannot create '%s.tmp': %s", path,
                errno == EEXIST ? "it exists (a previous run was interrupted? remove it)"
                                : strerror(errno));
    return f;
}

int cli_out_commit(FILE *f, const char *tmp, const char *path)
{
    bool ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    int err = errno;
    ok = fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) != 0) {
        err = errno;
        ok = false;
    }
    if (!ok) {
        cli_err("cannot write '%s': %s", path, strerror(err));
        remove(tmp);
        return RX_EXIT_ERROR;
    }
    return RX_EXIT_OK;
}

void cli_out_abort(FILE *f, const char *tmp)
{
    if (f != NULL)
        fclose(f);
    remove(tmp);
}

int cli_write_file(const char *path, const uint8_t *p, size_t n)
{
    char tmp[4096];
    FILE *f = cli_out_open(path, tmp, sizeof(tmp));
    if (f == NULL)
        return RX_EXIT_ERROR;
    if (fwrite(p, 1, n, f) != n) {
        cli_err("cannot write '%s': %s", path, strerror(errno));
        cli_out_abort(f, tmp);
        return RX_EXIT_ERROR;
    }
    return cli_out_commit(f, tmp, path);
}

int cli_parse_fpr(uint8_t fpr[KEYS_FPR_BYTES], const char *cmd, const char *text)
{
    if (keys_fpr_parse(fpr, text) != 0)
        return cli_usage(cmd, "bad --site-key '%.80s': not a fingerprint (64 hex digits)", text);
    return RX_EXIT_OK;
}
