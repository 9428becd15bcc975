/*
 * Tests for ledger/ident.h: DEA numbers, NDCs, RFC 3339 times and dates.
 * Expected epoch values were computed independently with `date -u -d ... +%s`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ledger/ident.h"
#include "ledger/ledger.h"

#define WHY_BYTES 128
/* 2026-11-22T21:05:00Z */
#define T_2026_11_22_2105 INT64_C(1795381500000)
/* 9999-12-31T23:59:59.999Z */
#define T_MAX      INT64_C(253402300799999)
#define MS_PER_DAY INT64_C(86400000)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                    */

static void dea_ok(const char *dea)
{
    char why[WHY_BYTES];

    memset(why, 'x', sizeof why);
    assert_int_equal(ledger_dea_check(dea, why, sizeof why), 0);
    assert_string_equal(why, "");
}

static void dea_bad(const char *dea, const char *reason)
{
    char why[WHY_BYTES];

    assert_int_equal(ledger_dea_check(dea, why, sizeof why), LEDGER_EINVAL);
    assert_string_equal(why, reason);
}

static void ndc_ok(const char *ndc, const char *want)
{
    char out[LEDGER_NDC_BYTES];
    char why[WHY_BYTES];

    memset(out, 'x', sizeof out);
    assert_int_equal(ledger_ndc_normalize(out, ndc, why, sizeof why), 0);
    assert_string_equal(out, want);
    assert_string_equal(why, "");
}

static void ndc_bad(const char *ndc, const char *reason)
{
    char out[LEDGER_NDC_BYTES];
    char why[WHY_BYTES];

    memset(out, 'x', sizeof out);
    assert_int_equal(ledger_ndc_normalize(out, ndc, why, sizeof why), LEDGER_EINVAL);
    assert_string_equal(out, "");
    assert_string_equal(why, reason);
}

static void time_ok(const char *text, int64_t want)
{
    int64_t ms = -1;
    char why[WHY_BYTES];

    assert_int_equal(ledger_time_parse(&ms, text, why, sizeof why), 0);
    assert_int_equal(ms, want);
    assert_string_equal(why, "");
}

/* Reject @p text; when @p reason is not NULL the reason must match it. */
static void time_bad(const char *text, const char *reason)
{
    int64_t ms = -1;
    char why[WHY_BYTES];

    assert_int_equal(ledger_time_parse(&ms, text, why, sizeof why), LEDGER_EINVAL);
    assert_int_equal(ms, 0);
    assert_true(why[0] != '\0');
    if (reason != NULL)
        assert_string_equal(why, reason);
}

static void date_bad(const char *text, const char *reason)
{
    int64_t ms = -1;
    char why[WHY_BYTES];

    assert_int_equal(ledger_date_parse(&ms, text, why, sizeof why), LEDGER_EINVAL);
    assert_int_equal(ms, 0);
    assert_string_equal(why, reason);
}

static void time_fmt(int64_t ms, const char *want)
{
    char out[LEDGER_TIME_TEXT_BYTES];

    memset(out, 'x', sizeof out);
    ledger_time_format(out, ms);
    assert_string_equal(out, want);
}

static int test_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int test_mdays(int y, int m)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && test_leap(y) ? 29 : mdays[m - 1];
}

/* ------------------------------------------------------------------------ */
/* DEA                                                                        */

static void test_ident_dea_valid_examples(void **state)
{
    (void)state;
    dea_ok("AP5836727");
    dea_ok("AJ5184279");
    dea_ok("BJ6125341");
}

static void test_ident_dea_every_type_letter(void **state)
{
    static const char types[] = "ABFGMPRX";
    char dea[10];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof types - 1; i++) {
        (void)snprintf(dea, sizeof dea, "%cP5836727", types[i]);
        dea_ok(dea);
    }
}

static void test_ident_dea_business_nine(void **state)
{
    (void)state;
    /* (1+3+5) + 2*(2+4+6) = 33 -> 3 */
    dea_ok("A91234563");
    dea_bad("A81234563", "second character must be a letter or 9");
    dea_bad("A#1234563", "second character must be a letter or 9");
}

static void test_ident_dea_check_digit(void **state)
{
    (void)state;
    /* (4+2+7) + 2*(5+3+6) = 41 -> expected 1 */
    dea_bad("AB4523763", "check digit is 3, expected 1");
    dea_bad("AP5836728", "check digit is 8, expected 7");
}

static void test_ident_dea_length(void **state)
{
    (void)state;
    dea_bad("", "must be 2 letters and 7 digits");
    dea_bad("AP583672", "must be 2 letters and 7 digits");
    dea_bad("AP58367270", "must be 2 letters and 7 digits");
    dea_bad("A5836727", "must be 2 letters and 7 digits");
    dea_bad("AP58367A7", "must be 2 letters and 7 digits");
    dea_bad("1P5836727", "must be 2 letters and 7 digits");
    dea_bad("-AP5836727", "must be 2 letters and 7 digits");
}

static void test_ident_dea_lower_case(void **state)
{
    (void)state;
    dea_bad("ap5836727", "letters must be upper case");
    dea_bad("aP5836727", "letters must be upper case");
    dea_bad("Ap5836727", "letters must be upper case");
    dea_bad("AP5836727-ab1", "letters must be upper case");
}

static void test_ident_dea_unknown_type(void **state)
{
    (void)state;
    dea_bad("QP5836727", "unknown registrant type 'Q'");
    dea_bad("CP5836727", "unknown registrant type 'C'");
    dea_bad("ZP5836727", "unknown registrant type 'Z'");
}

static void test_ident_dea_suffix(void **state)
{
    (void)state;
    dea_ok("AP5836727-1");
    dea_ok("AP5836727-AB12345678");
    dea_bad("AP5836727-", "suffix must be 1-10 letters or digits");
    dea_bad("AP5836727-AB_1", "suffix must be 1-10 letters or digits");
    dea_bad("AP5836727-AB-1", "suffix must be 1-10 letters or digits");
    dea_bad("AP5836727 ", "must be 2 letters and 7 digits");
    /* A bad suffix is reported even when the check digit is wrong too. */
    dea_bad("AB4523763-", "suffix must be 1-10 letters or digits");
    /* The check digit is still verified when a suffix is present. */
    dea_bad("AB4523763-ABC", "check digit is 3, expected 1");
}

static void test_ident_dea_too_long(void **state)
{
    char buf[LEDGER_DEA_MAX + 1];

    (void)state;
    dea_bad("AP5836727-AB123456789", "longer than 20 characters");
    dea_bad("AP5836727AP5836727AP5836727", "longer than 20 characters");
    /* Not NUL-terminated: the check must not read past LEDGER_DEA_MAX + 1 bytes. */
    memset(buf, 'A', sizeof buf);
    assert_int_equal(ledger_dea_check(buf, NULL, 0), LEDGER_EINVAL);
}

static void test_ident_dea_why_optional(void **state)
{
    char why[8];

    (void)state;
    assert_int_equal(ledger_dea_check("AP5836727", NULL, 0), 0);
    assert_int_equal(ledger_dea_check("AB4523763", NULL, 0), LEDGER_EINVAL);
    assert_int_equal(ledger_dea_check(NULL, NULL, 0), LEDGER_EINVAL);
    /* A short buffer is truncated and still terminated. */
    assert_int_equal(ledger_dea_check("AB4523763", why, sizeof why), LEDGER_EINVAL);
    assert_string_equal(why, "check d");
    why[0] = 'x';
    assert_int_equal(ledger_dea_check("AB4523763", why, 0), LEDGER_EINVAL);
    assert_int_equal(why[0], 'x');
}

/* ------------------------------------------------------------------------ */
/* NDC                                                                        */

static void test_ident_ndc_domain_examples(void **state)
{
    (void)state;
    ndc_ok("0002-7597-01", "00002-7597-01");  /* 4-4-2 */
    ndc_ok("50242-040-62", "50242-0040-62");  /* 5-3-2 */
    ndc_ok("60575-4112-1", "60575-4112-01");  /* 5-4-1 */
    ndc_ok("50458-028-02", "50458-0028-02");  /* 5-3-2 */
    ndc_ok("50458-0028-02", "50458-0028-02"); /* 5-4-2 */
}

static void test_ident_ndc_unhyphenated_11(void **state)
{
    (void)state;
    ndc_ok("50458002802", "50458-0028-02");
    ndc_ok("00002759701", "00002-7597-01");
}

static void test_ident_ndc_unhyphenated_10_ambiguous(void **state)
{
    (void)state;
    ndc_bad("5045802802", "unhyphenated 10-digit ndc is ambiguous; use the hyphenated form");
    ndc_bad("0002759701", "unhyphenated 10-digit ndc is ambiguous; use the hyphenated form");
}

static void test_ident_ndc_12_digit_not_supported(void **state)
{
    (void)state;
    ndc_bad("123456-7890-12", "12-digit ndc (6-4-2) not yet supported");
    ndc_bad("123456789012", "12-digit ndc not yet supported");
}

static void test_ident_ndc_letters(void **state)
{
    (void)state;
    ndc_bad("5045A-028-02", "ndc may contain only digits and hyphens");
    ndc_bad("50458-0028-02 ", "ndc may contain only digits and hyphens");
    ndc_bad(" 50458-0028-02", "ndc may contain only digits and hyphens");
    ndc_bad("50458 0028 02", "ndc may contain only digits and hyphens");
    ndc_bad("50458+0028+02", "ndc may contain only digits and hyphens");
}

static void test_ident_ndc_wrong_groups(void **state)
{
    static const char reason[] = "must be 4-4-2, 5-3-2, 5-4-1 or 5-4-2 digits";

    (void)state;
    ndc_bad("123-4567-89", reason);    /* 3-4-2 */
    ndc_bad("1234-567-89", reason);    /* 4-3-2 */
    ndc_bad("1234-5678-9", reason);    /* 4-4-1 */
    ndc_bad("12345-678-9", reason);    /* 5-3-1 */
    ndc_bad("12345-6789-012", reason); /* 5-4-3 */
    ndc_bad("12345-67890-1", reason);  /* 5-5-1 */
    ndc_bad("12345-678901", reason);   /* one hyphen */
    ndc_bad("1-2-3-4", reason);        /* three hyphens */
    ndc_bad("123456789", reason);      /* 9 digits */
    ndc_bad("1", reason);
}

static void test_ident_ndc_empty_groups(void **state)
{
    (void)state;
    ndc_bad("50458--02", "empty digit group");
    ndc_bad("-0028-02", "empty digit group");
    ndc_bad("50458-0028-", "empty digit group");
    ndc_bad("--", "empty digit group");
    ndc_bad("", "empty ndc");
    ndc_bad("-", "must be 4-4-2, 5-3-2, 5-4-1 or 5-4-2 digits");
}

static void test_ident_ndc_too_long(void **state)
{
    char out[LEDGER_NDC_BYTES];
    char buf[LEDGER_NDC_MAX + 1];

    (void)state;
    ndc_bad("12345-6789-01-2345", "longer than 16 characters");
    ndc_bad("00000000000000000", "longer than 16 characters");
    /* Not NUL-terminated: must not read past LEDGER_NDC_MAX + 1 bytes. */
    memset(buf, '1', sizeof buf);
    assert_int_equal(ledger_ndc_normalize(out, buf, NULL, 0), LEDGER_EINVAL);
    assert_string_equal(out, "");
}

static void test_ident_ndc_null_args(void **state)
{
    char out[LEDGER_NDC_BYTES];
    char why[WHY_BYTES];

    (void)state;
    assert_int_equal(ledger_ndc_normalize(out, NULL, why, sizeof why), LEDGER_EINVAL);
    assert_string_equal(out, "");
    assert_int_equal(ledger_ndc_normalize(NULL, "50458-0028-02", why, sizeof why), LEDGER_EINVAL);
    assert_int_equal(ledger_ndc_normalize(out, "50458-028-02", NULL, 0), 0);
    assert_string_equal(out, "50458-0028-02");
}

/* ------------------------------------------------------------------------ */
/* RFC 3339 times                                                             */

static void test_ident_time_utc(void **state)
{
    (void)state;
    time_ok("2026-11-22T21:05:00Z", T_2026_11_22_2105);
    time_ok("2026-11-22t21:05:00z", T_2026_11_22_2105);
    time_ok("2026-11-22 21:05:00Z", T_2026_11_22_2105);
    time_ok("2026-11-22T21:05:00+00:00", T_2026_11_22_2105);
    time_ok("2026-11-22T21:05:00-00:00", T_2026_11_22_2105);
    time_ok("1970-01-01T00:00:00Z", 0);
    time_ok("2016-12-31T23:59:59Z", INT64_C(1483228799000));
}

static void test_ident_time_negative_offset(void **state)
{
    (void)state;
    time_ok("2026-11-22T14:05:00-07:00", T_2026_11_22_2105);
    time_ok("2026-11-22T20:35:00-00:30", T_2026_11_22_2105);
    /* Offset pushes the UTC instant into the next day. */
    time_ok("2026-11-21T23:05:00-22:00", T_2026_11_22_2105);
    time_ok("1970-01-01T00:00:00-01:00", INT64_C(3600000));
}

static void test_ident_time_positive_offset(void **state)
{
    (void)state;
    time_ok("2026-11-23T02:35:00+05:30", T_2026_11_22_2105);
    time_ok("2026-11-23T21:04:00+23:59", T_2026_11_22_2105);
    /* 2025-12-31T23:30:00Z: the offset crosses a year boundary. */
    time_ok("2026-01-01T00:30:00+01:00", INT64_C(1767223800000));
}

static void test_ident_time_fraction(void **state)
{
    (void)state;
    time_ok("2026-11-22T21:05:00.5Z", T_2026_11_22_2105 + 500);
    time_ok("2026-11-22T21:05:00.05Z", T_2026_11_22_2105 + 50);
    time_ok("2026-11-22T21:05:00.123Z", T_2026_11_22_2105 + 123);
    /* Digits beyond milliseconds are truncated, not rounded. */
    time_ok("2026-11-22T21:05:00.9999Z", T_2026_11_22_2105 + 999);
    time_ok("2026-11-22T21:05:00.123456789Z", T_2026_11_22_2105 + 123);
    time_ok("2026-11-22T14:05:00.250-07:00", T_2026_11_22_2105 + 250);
    time_bad("2026-11-22T21:05:00.1234567890Z", "fraction longer than 9 digits");
    time_bad("2026-11-22T21:05:00.Z", "missing digits after '.'");
    time_bad("2026-11-22T21:05:00,5Z", "missing offset (Z or +hh:mm)");
}

static void test_ident_time_leap_day(void **state)
{
    (void)state;
    time_ok("2024-02-29T00:00:00Z", INT64_C(1709164800000));
    time_ok("2000-02-29T00:00:00Z", INT64_C(951782400000));
    time_bad("2026-02-29T00:00:00Z", "invalid day 29 for 2026-02");
    time_bad("2100-02-29T00:00:00Z", "invalid day 29 for 2100-02");
    time_bad("2024-02-30T00:00:00Z", "invalid day 30 for 2024-02");
}

static void test_ident_time_invalid_calendar(void **state)
{
    (void)state;
    time_bad("2026-13-01T00:00:00Z", "invalid month 13");
    time_bad("2026-00-01T00:00:00Z", "invalid month 00");
    time_bad("2026-01-00T00:00:00Z", "invalid day 00 for 2026-01");
    time_bad("2026-01-32T00:00:00Z", "invalid day 32 for 2026-01");
    time_bad("2026-04-31T00:00:00Z", "invalid day 31 for 2026-04");
    time_bad("2026-1-01T00:00:00Z", "date must be YYYY-MM-DD");
    time_bad("2026-1a-01T00:00:00Z", "date must be YYYY-MM-DD");
    time_bad("26-11-22T21:05:00Z", "date must be YYYY-MM-DD");
}

static void test_ident_time_invalid_clock(void **state)
{
    (void)state;
    time_bad("2026-11-22T24:00:00Z", "invalid hour 24");
    time_bad("2026-11-22T23:60:00Z", "invalid minute 60");
    time_bad("2026-11-22T23:59:61Z", "invalid second 61");
    time_bad("2026-11-22T2:05:00Z", "time must be HH:MM:SS");
    time_bad("2026-11-22T21:05Z", "time must be HH:MM:SS");
    time_bad("2026-11-22X21:05:00Z", "expected 'T' between date and time");
    time_bad("2026-11-22", "expected 'T' between date and time");
}

static void test_ident_time_leap_second(void **state)
{
    (void)state;
    /* 23:59:60 reads as 23:59:59.999 */
    time_ok("2016-12-31T23:59:60Z", INT64_C(1483228799999));
    time_ok("2016-12-31T23:59:60.5Z", INT64_C(1483228799999));
}

static void test_ident_time_bad_offset(void **state)
{
    static const char reason[] = "offset must be Z or +hh:mm/-hh:mm up to 23:59";

    (void)state;
    time_bad("2026-11-22T21:05:00+24:00", reason);
    time_bad("2026-11-22T21:05:00-05:60", reason);
    time_bad("2026-11-22T21:05:00+0530", reason);
    time_bad("2026-11-22T21:05:00+5:30", reason);
    time_bad("2026-11-22T21:05:00+05", reason);
    time_bad("2026-11-22T21:05:00+", reason);
    time_bad("2026-11-22T21:05:00", "missing offset (Z or +hh:mm)");
    time_bad("2026-11-22T21:05:00UTC", "missing offset (Z or +hh:mm)");
}

static void test_ident_time_trailing_garbage(void **state)
{
    static const char reason[] = "trailing characters after time";

    (void)state;
    time_bad("2026-11-22T21:05:00Zjunk", reason);
    time_bad("2026-11-22T21:05:00Z ", reason);
    time_bad("2026-11-22T21:05:00+05:30x", reason);
    time_bad("2026-11-22T21:05:00ZZ", reason);
}

static void test_ident_time_empty(void **state)
{
    int64_t ms = -1;

    (void)state;
    time_bad("", "empty time");
    time_bad(" ", "date must be YYYY-MM-DD");
    assert_int_equal(ledger_time_parse(&ms, NULL, NULL, 0), LEDGER_EINVAL);
    assert_int_equal(ms, 0);
    assert_int_equal(ledger_time_parse(NULL, "2026-11-22T21:05:00Z", NULL, 0), LEDGER_EINVAL);
}

static void test_ident_time_overlong(void **state)
{
    char buf[LEDGER_TIME_MAX + 1];
    int64_t ms = -1;

    (void)state;
    /* 41 characters, otherwise well formed. */
    time_bad("2026-11-22T21:05:00.123456789+00:00      ", "longer than 40 characters");
    /* 40 characters: within the bound, so the real defect is reported. */
    time_bad("2026-11-22T21:05:00.123456789+00:00     ", "trailing characters after time");
    /* Not NUL-terminated: must not read past LEDGER_TIME_MAX + 1 bytes. */
    memset(buf, '2', sizeof buf);
    assert_int_equal(ledger_time_parse(&ms, buf, NULL, 0), LEDGER_EINVAL);
}

static void test_ident_time_range(void **state)
{
    (void)state;
    time_ok("9999-12-31T23:59:59.999Z", T_MAX);
    time_ok("9999-12-31T23:59:59.999999999+00:00", T_MAX);
    time_bad("1969-12-31T23:59:59Z", "year 1969 is before 1970");
    time_bad("0000-01-01T00:00:00Z", "year 0000 is before 1970");
    time_bad("1970-01-01T00:00:00+00:01", "time is before 1970-01-01T00:00:00Z");
    time_bad("9999-12-31T23:00:00-01:00", "time is after 9999-12-31T23:59:59.999Z");
}

static void test_ident_time_format_known(void **state)
{
    (void)state;
    time_fmt(0, "1970-01-01T00:00:00.000Z");
    time_fmt(1, "1970-01-01T00:00:00.001Z");
    time_fmt(T_2026_11_22_2105, "2026-11-22T21:05:00.000Z");
    time_fmt(T_2026_11_22_2105 + 123, "2026-11-22T21:05:00.123Z");
    time_fmt(INT64_C(1709164800000), "2024-02-29T00:00:00.000Z");
    time_fmt(INT64_C(951868799999), "2000-02-29T23:59:59.999Z");
    time_fmt(INT64_C(1483228799000), "2016-12-31T23:59:59.000Z");
    time_fmt(INT64_C(4107542400000), "2100-03-01T00:00:00.000Z");
    time_fmt(T_MAX, "9999-12-31T23:59:59.999Z");
}

static void test_ident_time_format_clamps(void **state)
{
    char date[11];

    (void)state;
    time_fmt(-1, "1970-01-01T00:00:00.000Z");
    time_fmt(INT64_MIN, "1970-01-01T00:00:00.000Z");
    time_fmt(T_MAX + 1, "9999-12-31T23:59:59.999Z");
    time_fmt(INT64_MAX, "9999-12-31T23:59:59.999Z");
    ledger_date_format(date, INT64_MAX);
    assert_string_equal(date, "9999-12-31");
    ledger_date_format(date, -MS_PER_DAY);
    assert_string_equal(date, "1970-01-01");
}

static void test_ident_time_round_trip(void **state)
{
    char text[LEDGER_TIME_TEXT_BYTES];
    uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
    int64_t ms, back;
    int i;

    (void)state;
    for (i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ms = (int64_t)(x % (uint64_t)(T_MAX + 1));
        ledger_time_format(text, ms);
        assert_int_equal(strlen(text), LEDGER_TIME_TEXT_BYTES - 1);
        assert_int_equal(ledger_time_parse(&back, text, NULL, 0), 0);
        assert_int_equal(back, ms);
    }
}

/* ------------------------------------------------------------------------ */
/* Dates                                                                      */

static void test_ident_date_parse_known(void **state)
{
    int64_t ms = -1;
    char why[WHY_BYTES];

    (void)state;
    assert_int_equal(ledger_date_parse(&ms, "2026-11-22", why, sizeof why), 0);
    assert_int_equal(ms, INT64_C(1795305600000));
    assert_string_equal(why, "");
    assert_int_equal(ledger_date_parse(&ms, "1970-01-01", NULL, 0), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(ledger_date_parse(&ms, "2024-02-29", NULL, 0), 0);
    assert_int_equal(ms, INT64_C(1709164800000));
    assert_int_equal(ledger_date_parse(&ms, "9999-12-31", NULL, 0), 0);
    assert_int_equal(ms, T_MAX + 1 - MS_PER_DAY);
}

static void test_ident_date_strict(void **state)
{
    static const char form[] = "date must be YYYY-MM-DD";

    (void)state;
    date_bad("", form);
    date_bad("2026-11-2", form);
    date_bad("2026-11-222", form);
    date_bad("2026-11-22 ", form);
    date_bad("2026-11-22T00:00:00Z", form);
    date_bad("2026/11/22", form);
    date_bad("+2026-11-22", form);
    date_bad("20261122", form);
    date_bad("2026-11-2a", form);
    date_bad("2026-02-29", "invalid day 29 for 2026-02");
    date_bad("2026-13-01", "invalid month 13");
    date_bad("1969-12-31", "year 1969 is before 1970");
}

/* Every day 1970-01-01 .. 2100-12-31: format, parse back, compare with a calendar walk. */
static void test_ident_date_every_day_1970_2100(void **state)
{
    char want[48], got[11], tgot[LEDGER_TIME_TEXT_BYTES], twant[64];
    int y = 1970, m = 1, d = 1;
    int64_t day, ms, back;

    (void)state;
    for (day = 0; y <= 2100; day++) {
        ms = day * MS_PER_DAY;
        (void)snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
        ledger_date_format(got, ms);
        assert_string_equal(got, want);
        assert_int_equal(ledger_date_parse(&back, want, NULL, 0), 0);
        assert_int_equal(back, ms);
        /* Last millisecond of the same day still formats as that day. */
        ledger_date_format(got, ms + MS_PER_DAY - 1);
        assert_string_equal(got, want);
        (void)snprintf(twant, sizeof twant, "%sT00:00:00.000Z", want);
        ledger_time_format(tgot, ms);
        assert_string_equal(tgot, twant);
        if (++d > test_mdays(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    /* 2101-01-01 is day 47847 (4133980800 s). */
    assert_int_equal(day * MS_PER_DAY, INT64_C(4133980800000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ident_dea_valid_examples),
        cmocka_unit_test(test_ident_dea_every_type_letter),
        cmocka_unit_test(test_ident_dea_business_nine),
        cmocka_unit_test(test_ident_dea_check_digit),
        cmocka_unit_test(test_ident_dea_length),
        cmocka_unit_test(test_ident_dea_lower_case),
        cmocka_unit_test(test_ident_dea_unknown_type),
        cmocka_unit_test(test_ident_dea_suffix),
        cmocka_unit_test(test_ident_dea_too_long),
        cmocka_unit_test(test_ident_dea_why_optional),
        cmocka_unit_test(test_ident_ndc_domain_examples),
        cmocka_unit_test(test_ident_ndc_unhyphenated_11),
        cmocka_unit_test(test_ident_ndc_unhyphenated_10_ambiguous),
        cmocka_unit_test(test_ident_ndc_12_digit_not_supported),
        cmocka_unit_test(test_ident_ndc_letters),
        cmocka_unit_test(test_ident_ndc_wrong_groups),
        cmocka_unit_test(test_ident_ndc_empty_groups),
        cmocka_unit_test(test_ident_ndc_too_long),
        cmocka_unit_test(test_ident_ndc_null_args),
        cmocka_unit_test(test_ident_time_utc),
        cmocka_unit_test(test_ident_time_negative_offset),
        cmocka_unit_test(test_ident_time_positive_offset),
        cmocka_unit_test(test_ident_time_fraction),
        cmocka_unit_test(test_ident_time_leap_day),
        cmocka_unit_test(test_ident_time_invalid_calendar),
        cmocka_unit_test(test_ident_time_invalid_clock),
        cmocka_unit_test(test_ident_time_leap_second),
        cmocka_unit_test(test_ident_time_bad_offset),
        cmocka_unit_test(test_ident_time_trailing_garbage),
        cmocka_unit_test(test_ident_time_empty),
        cmocka_unit_test(test_ident_time_overlong),
        cmocka_unit_test(test_ident_time_range),
        cmocka_unit_test(test_ident_time_format_known),
        cmocka_unit_test(test_ident_time_format_clamps),
        cmocka_unit_test(test_ident_time_round_trip),
        cmocka_unit_test(test_ident_date_parse_known),
        cmocka_unit_test(test_ident_date_strict),
        cmocka_unit_test(test_ident_date_every_day_1970_2100),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
