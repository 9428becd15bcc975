/**
 * @file ident.c
 * @brief DEA numbers, NDCs, RFC 3339 times and dates: validation, normalization,
 *        formatting.
 *
 * Everything is parsed by hand on bytes: no <ctype.h> (locale-dependent), no
 * strptime/timegm/mktime (TZ-dependent). Calendar arithmetic uses the
 * proleptic Gregorian days-from-civil algorithm (H. Hinnant).
 */
#include "ledger/ident.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ledger/ledger.h"

#define MS_PER_SEC  INT64_C(1000)
#define MS_PER_MIN  (60 * MS_PER_SEC)
#define MS_PER_HOUR (60 * MS_PER_MIN)
#define MS_PER_DAY  (24 * MS_PER_HOUR)
/** Days from 1970-01-01 to 10000-01-01. */
#define DAYS_TO_YEAR_10000 INT64_C(2932897)
/** Last representable instant: 9999-12-31T23:59:59.999Z. */
#define MS_MAX (DAYS_TO_YEAR_10000 * MS_PER_DAY - 1)

#define YEAR_MIN        1970
#define DEA_BASE_LEN    9
#define DEA_SUFFIX_MAX  10
#define DATE_TEXT_LEN   10 /* "YYYY-MM-DD" */
#define FRAC_DIGITS_MAX 9

#if defined(__GNUC__) || defined(__clang__)
#define RX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RX_PRINTF(f, a)
#endif

/* Write a reason into the optional @p why buffer; always NUL-terminated. */
RX_PRINTF(3, 4) static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && whylen > 0) {
        va_start(ap, fmt);
        /* Truncation is acceptable for a diagnostic; vsnprintf always terminates. */
        (void)vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static int digit_value(char c)
{
    return c - '0';
}

/* Length of @p s, scanning at most @p max bytes (returns @p max if no NUL before). */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n] != '\0')
        n++;
    return n;
}

/* ------------------------------------------------------------------------ */
/* DEA                                                                        */

static int dea_type_known(char c)
{
    return c != '\0' && strchr("ABFGMPRX", c) != NULL;
}

int ledger_dea_check(const char *dea, char *why, size_t whylen)
{
    int rc = LEDGER_EINVAL;
    size_t len, base, i;
    int odd, even, expected;

    set_why(why, whylen, "%s", "");
    if (dea == NULL) {
        set_why(why, whylen, "missing dea number");
        goto done;
    }
    len = bounded_len(dea, LEDGER_DEA_MAX + 1);
    if (len > LEDGER_DEA_MAX) {
        set_why(why, whylen, "longer than %d characters", LEDGER_DEA_MAX);
        goto done;
    }
    base = 0;
    while (base < len && dea[base] != '-')
        base++;
    if (base != DEA_BASE_LEN) {
        set_why(why, whylen, "must be 2 letters and 7 digits");
        goto done;
    }
    for (i = 2; i < DEA_BASE_LEN; i++) {
        if (!is_digit(dea[i])) {
            set_why(why, whylen, "must be 2 letters and 7 digits");
            goto done;
        }
    }
    if (is_lower(dea[0]) || is_lower(dea[1])) {
        set_why(why, whylen, "letters must be upper case");
        goto done;
    }
    if (!is_upper(dea[0])) {
        set_why(why, whylen, "must be 2 letters and 7 digits");
        goto done;
    }
    if (!dea_type_known(dea[0])) {
        set_why(why, whylen, "unknown registrant type '%c'", dea[0]);
        goto done;
    }
    if (!is_upper(dea[1]) && dea[1] != '9') {
        set_why(why, whylen, "second character must be a letter or 9");
        goto done;
    }
    if (base < len) {
        size_t slen = len - base - 1;

        if (slen == 0 || slen > DEA_SUFFIX_MAX) {
            set_why(why, whylen, "suffix must be 1-%d letters or digits", DEA_SUFFIX_MAX);
            goto done;
        }
        for (i = base + 1; i < len; i++) {
            if (is_lower(dea[i])) {
                set_why(why, whylen, "letters must be upper case");
                goto done;
            }
            if (!is_upper(dea[i]) && !is_digit(dea[i])) {
                set_why(why, whylen, "suffix must be 1-%d letters or digits", DEA_SUFFIX_MAX);
                goto done;
            }
        }
    }
    odd = digit_value(dea[2]) + digit_value(dea[4]) + digit_value(dea[6]);
    even = digit_value(dea[3]) + digit_value(dea[5]) + digit_value(dea[7]);
    expected = (odd + 2 * even) % 10;
    if (digit_value(dea[8]) != expected) {
        set_why(why, whylen, "check digit is %d, expected %d", digit_value(dea[8]), expected);
        goto done;
    }
    rc = 0;
done:
    return rc;
}

/* ------------------------------------------------------------------------ */
/* NDC                                                                        */

#define NDC_GROUPS_MAX 3

/* Copy @p n digits into @p dst right-aligned in a field of @p width, zero-padded. */
static void put_padded(char *dst, size_t width, const char *src, size_t n)
{
    size_t pad = width - n;

    memset(dst, '0', pad);
    memcpy(dst + pad, src, n);
}

int ledger_ndc_normalize(char out[LEDGER_NDC_BYTES], const char *ndc, char *why, size_t whylen)
{
    int rc = LEDGER_EINVAL;
    size_t len, i, ngroups;
    size_t start[NDC_GROUPS_MAX], glen[NDC_GROUPS_MAX];

    set_why(why, whylen, "%s", "");
    if (out != NULL)
        out[0] = '\0';
    if (out == NULL || ndc == NULL) {
        set_why(why, whylen, "missing ndc");
        goto done;
    }
    len = bounded_len(ndc, LEDGER_NDC_MAX + 1);
    if (len == 0) {
        set_why(why, whylen, "empty ndc");
        goto done;
    }
    if (len > LEDGER_NDC_MAX) {
        set_why(why, whylen, "longer than %d characters", LEDGER_NDC_MAX);
        goto done;
    }
    ngroups = 1;
    start[0] = 0;
    glen[0] = 0;
    for (i = 0; i < len; i++) {
        if (ndc[i] == '-') {
            if (ngroups == NDC_GROUPS_MAX) {
                set_why(why, whylen, "must be 4-4-2, 5-3-2, 5-4-1 or 5-4-2 digits");
                goto done;
            }
            start[ngroups] = i + 1;
            glen[ngroups] = 0;
            ngroups++;
        } else if (is_digit(ndc[i])) {
            glen[ngroups - 1]++;
        } else {
            set_why(why, whylen, "ndc may contain only digits and hyphens");
            goto done;
        }
    }
    if (ngroups == 1) {
        if (len == 10) {
            set_why(why, whylen, "unhyphenated 10-digit ndc is ambiguous; use the hyphenated form");
            goto done;
        }
        if (len == 12) {
            set_why(why, whylen, "12-digit ndc not yet supported");
            goto done;
        }
        if (len != 11) {
            set_why(why, whylen, "must be 4-4-2, 5-3-2, 5-4-1 or 5-4-2 digits");
            goto done;
        }
        /* Unhyphenated 11 digits can only be 5-4-2. */
        start[0] = 0;
        glen[0] = 5;
        start[1] = 5;
        glen[1] = 4;
        start[2] = 9;
        glen[2] = 2;
    } else if (ngroups != NDC_GROUPS_MAX) {
        set_why(why, whylen, "must be 4-4-2, 5-3-2, 5-4-1 or 5-4-2 digits");
        goto done;
    }
    if (glen[0] == 0 || glen[1] == 0 || glen[2] == 0) {
        set_why(why, whylen, "empty digit group");
        goto done;
    }
    if (glen[0] == 6 && glen[1] == 4 && glen[2] == 2) {
        set_why(why, whylen, "12-digit ndc (6-4-2) not yet supported");
        goto done;
    }
    if (!((glen[0] == 4 && glen[1] == 4 && glen[2] == 2) ||
          (glen[0] == 5 && glen[1] == 3 && glen[2] == 2) ||
          (glen[0] == 5 && glen[1] == 4 && glen[2] == 1) ||
          (glen[0] == 5 && glen[1] == 4 && glen[2] == 2))) {
        set_why(why, whylen, "must be 4-4-2, 5-3-2, 5-4-1 or 5-4-2 digits");
        goto done;
    }
    put_padded(out, 5, ndc + start[0], glen[0]);
    out[5] = '-';
    put_padded(out + 6, 4, ndc + start[1], glen[1]);
    out[10] = '-';
    put_padded(out + 11, 2, ndc + start[2], glen[2]);
    out[13] = '\0';
    rc = 0;
done:
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Calendar                                                                   */

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && is_leap(y))
        return 29;
    return mdays[m - 1];
}

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil(). */
static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

/* Read exactly @p n digits at *@p p; advance on success. */
static int take_digits(const char **p, int n, int *val)
{
    const char *s = *p;
    int v = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + digit_value(s[i]);
    }
    *val = v;
    *p = s + n;
    return 0;
}

static int take_char(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

/*
 * Parse "YYYY-MM-DD" at *@p p into days since the epoch; advance past it.
 * Writes a reason on failure.
 */
static int parse_date_part(const char **p, int64_t *days, char *why, size_t whylen)
{
    int rc = LEDGER_EINVAL;
    int y, m, d;

    if (take_digits(p, 4, &y) != 0 || take_char(p, '-') != 0 || take_digits(p, 2, &m) != 0 ||
        take_char(p, '-') != 0 || take_digits(p, 2, &d) != 0) {
        set_why(why, whylen, "date must be YYYY-MM-DD");
        goto done;
    }
    if (y < YEAR_MIN) {
        set_why(why, whylen, "year %04d is before %d", y, YEAR_MIN);
        goto done;
    }
    if (m < 1 || m > 12) {
        set_why(why, whylen, "invalid month %02d", m);
        goto done;
    }
    if (d < 1 || d > days_in_month(y, m)) {
        set_why(why, whylen, "invalid day %02d for %04d-%02d", d, y, m);
        goto done;
    }
    *days = days_from_civil(y, m, d);
    rc = 0;
done:
    return rc;
}

int ledger_time_parse(int64_t *out_ms, const char *text, char *why, size_t whylen)
{
    int rc = LEDGER_EINVAL;
    const char *p;
    size_t len;
    int64_t days, ms, frac_ms, offset_min;
    int hh, mi, ss, oh, om, nfrac, sign;

    set_why(why, whylen, "%s", "");
    if (out_ms != NULL)
        *out_ms = 0;
    if (out_ms == NULL || text == NULL) {
        set_why(why, whylen, "missing time");
        goto done;
    }
    len = bounded_len(text, LEDGER_TIME_MAX + 1);
    if (len == 0) {
        set_why(why, whylen, "empty time");
        goto done;
    }
    if (len > LEDGER_TIME_MAX) {
        set_why(why, whylen, "longer than %d characters", LEDGER_TIME_MAX);
        goto done;
    }
    p = text;
    if (parse_date_part(&p, &days, why, whylen) != 0)
        goto done;
    if (*p != 'T' && *p != 't' && *p != ' ') {
        set_why(why, whylen, "expected 'T' between date and time");
        goto done;
    }
    p++;
    if (take_digits(&p, 2, &hh) != 0 || take_char(&p, ':') != 0 || take_digits(&p, 2, &mi) != 0 ||
        take_char(&p, ':') != 0 || take_digits(&p, 2, &ss) != 0) {
        set_why(why, whylen, "time must be HH:MM:SS");
        goto done;
    }
    if (hh > 23) {
        set_why(why, whylen, "invalid hour %02d", hh);
        goto done;
    }
    if (mi > 59) {
        set_why(why, whylen, "invalid minute %02d", mi);
        goto done;
    }
    if (ss > 60) {
        set_why(why, whylen, "invalid second %02d", ss);
        goto done;
    }
    frac_ms = 0;
    if (*p == '.') {
        p++;
        nfrac = 0;
        while (is_digit(*p)) {
            /* Keep milliseconds; further digits are truncated. */
            if (nfrac < 3)
                frac_ms = frac_ms * 10 + digit_value(*p);
            nfrac++;
            p++;
        }
        if (nfrac == 0) {
            set_why(why, whylen, "missing digits after '.'");
            goto done;
        }
        if (nfrac > FRAC_DIGITS_MAX) {
            set_why(why, whylen, "fraction longer than %d digits", FRAC_DIGITS_MAX);
            goto done;
        }
        for (; nfrac < 3; nfrac++)
            frac_ms *= 10;
    }
    if (ss == 60) {
        /* A leap second is read as the last millisecond of the minute. */
        ss = 59;
        frac_ms = 999;
    }
    offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
        if (take_digits(&p, 2, &oh) != 0 || take_char(&p, ':') != 0 ||
            take_digits(&p, 2, &om) != 0 || oh > 23 || om > 59) {
            set_why(why, whylen, "offset must be Z or +hh:mm/-hh:mm up to 23:59");
            goto done;
        }
        offset_min = sign * (oh * 60 + om);
    } else {
        set_why(why, whylen, "missing offset (Z or +hh:mm)");
        goto done;
    }
    if (*p != '\0') {
        set_why(why, whylen, "trailing characters after time");
        goto done;
    }
    ms = days * MS_PER_DAY + hh * MS_PER_HOUR + mi * MS_PER_MIN + ss * MS_PER_SEC + frac_ms -
         offset_min * MS_PER_MIN;
    if (ms < 0) {
        set_why(why, whylen, "time is before 1970-01-01T00:00:00Z");
        goto done;
    }
    if (ms > MS_MAX) {
        set_why(why, whylen, "time is after 9999-12-31T23:59:59.999Z");
        goto done;
    }
    *out_ms = ms;
    rc = 0;
done:
    return rc;
}

int ledger_date_parse(int64_t *out_ms, const char *text, char *why, size_t whylen)
{
    int rc = LEDGER_EINVAL;
    const char *p;
    int64_t days;

    set_why(why, whylen, "%s", "");
    if (out_ms != NULL)
        *out_ms = 0;
    if (out_ms == NULL || text == NULL) {
        set_why(why, whylen, "missing date");
        goto done;
    }
    if (bounded_len(text, DATE_TEXT_LEN + 1) != DATE_TEXT_LEN) {
        set_why(why, whylen, "date must be YYYY-MM-DD");
        goto done;
    }
    p = text;
    if (parse_date_part(&p, &days, why, whylen) != 0)
        goto done;
    *out_ms = days * MS_PER_DAY;
    rc = 0;
done:
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Formatting                                                                 */

/* Write @p v as exactly @p width decimal digits, zero-padded (v < 10^width). */
static void put_digits(char *dst, int64_t v, int width)
{
    int i;

    for (i = width - 1; i >= 0; i--) {
        dst[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/*
 * Write "YYYY-MM-DD" (no NUL) for @p ms and return the milliseconds into the
 * day. Values outside [0, MS_MAX] are clamped to the nearest end so the text
 * keeps its fixed shape and fits its buffer.
 */
static int64_t put_date(char *dst, int64_t ms)
{
    int64_t y, mo, d;

    if (ms < 0)
        ms = 0;
    if (ms > MS_MAX)
        ms = MS_MAX;
    civil_from_days(ms / MS_PER_DAY, &y, &mo, &d);
    put_digits(dst, y, 4);
    dst[4] = '-';
    put_digits(dst + 5, mo, 2);
    dst[7] = '-';
    put_digits(dst + 8, d, 2);
    return ms % MS_PER_DAY;
}

void ledger_time_format(char out[LEDGER_TIME_TEXT_BYTES], int64_t ms)
{
    int64_t rem = put_date(out, ms);

    out[10] = 'T';
    put_digits(out + 11, rem / MS_PER_HOUR, 2);
    out[13] = ':';
    put_digits(out + 14, rem / MS_PER_MIN % 60, 2);
    out[16] = ':';
    put_digits(out + 17, rem / MS_PER_SEC % 60, 2);
    out[19] = '.';
    put_digits(out + 20, rem % MS_PER_SEC, 3);
    out[23] = 'Z';
    out[24] = '\0';
}

void ledger_date_format(char out[11], int64_t ms)
{
    (void)put_date(out, ms);
    out[10] = '\0';
}
