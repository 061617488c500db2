/* Tests for src/base/timeutil.c: RFC 3339 parsing (leap years, offsets,
 * fractions, leap seconds, and what is rejected, with the message) and UTC
 * formatting. Expected epoch values were computed with Python's
 * calendar.timegm. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"

static time_t parse_ok(const char *s)
{
    time_t t = 0;
    ccai_err err = {0};
    if (ccai_time_parse(s, &t, &err) != CCAI_OK)
        fail_msg("\"%s\": %s", s, err.msg);
    return t;
}

static void test_parse_valid(void **state)
{
    (void)state;
    assert_true(parse_ok("1970-01-01T00:00:00Z") == 0);
    assert_true(parse_ok("2025-07-19T10:00:35Z") == 1752919235);
    assert_true(parse_ok("2025-07-01T00:00:00Z") == 1751328000);
    assert_true(parse_ok("1969-12-31T23:59:59Z") == -1);
    assert_true(parse_ok("9999-12-31T23:59:59Z") == 253402300799LL);
    assert_true(parse_ok("1600-03-01T00:00:00Z") == -11670912000LL);
    /* RFC 3339 §5.6 allows lower-case t and z, and a space for T (§5.6 NOTE). */
    assert_true(parse_ok("2025-07-19t10:00:35z") == 1752919235);
    assert_true(parse_ok("2025-07-19 10:00:35Z") == 1752919235);
}

static void test_parse_leap_years(void **state)
{
    (void)state;
    assert_true(parse_ok("2024-02-29T12:34:56Z") == 1709210096);
    assert_true(parse_ok("2000-02-29T00:00:00Z") == 951782400); /* divisible by 400 */
    /* The day after Feb 28 in a common year is Mar 1. */
    assert_true(parse_ok("2023-03-01T00:00:00Z") - parse_ok("2023-02-28T00:00:00Z") == 86400);
    assert_true(parse_ok("2024-03-01T00:00:00Z") - parse_ok("2024-02-28T00:00:00Z") == 2 * 86400);
}

static void test_parse_offsets_and_fractions(void **state)
{
    (void)state;
    time_t utc = parse_ok("2025-07-01T00:00:00Z");
    assert_true(parse_ok("2025-07-01T02:00:00+02:00") == utc);
    assert_true(parse_ok("2025-06-30T18:30:00-05:30") == utc);
    assert_true(parse_ok("2025-07-01T00:00:00+00:00") == utc);
    assert_true(parse_ok("2025-07-01T00:00:00-00:00") == utc);
    /* Crossing a year boundary through the offset. */
    assert_true(parse_ok("2025-01-01T00:30:00+01:00") == parse_ok("2024-12-31T23:30:00Z"));
    /* Fractions are accepted and dropped (whole seconds, truncated). */
    assert_true(parse_ok("2025-07-01T00:00:00.999999999Z") == utc);
    assert_true(parse_ok("2025-07-01T00:00:00.5+00:00") == utc);
    /* A leap second reads as the first second of the next minute. */
    assert_true(parse_ok("2016-12-31T23:59:60Z") == parse_ok("2017-01-01T00:00:00Z"));
}

static void parse_bad(const char *s)
{
    time_t t = 12345;
    ccai_err err = {0};
    assert_int_equal(ccai_time_parse(s, &t, &err), CCAI_ERR_PARSE);
    assert_true(t == 12345); /* untouched on failure */
    char want[160];
    snprintf(want, sizeof want,
             "time \"%.40s\" is not RFC 3339 (expected like 2025-07-01T00:00:00Z)", s);
    assert_string_equal(err.msg, want);
}

static void test_parse_invalid(void **state)
{
    (void)state;
    parse_bad("");
    parse_bad("2025-07-01");
    parse_bad("2025-07-01T00:00:00");        /* no zone */
    parse_bad("2025-07-01T00:00Z");          /* no seconds */
    parse_bad("2025-13-01T00:00:00Z");
    parse_bad("2025-00-01T00:00:00Z");
    parse_bad("2025-04-31T00:00:00Z");
    parse_bad("2025-07-00T00:00:00Z");
    parse_bad("2023-02-29T00:00:00Z");       /* not a leap year */
    parse_bad("1900-02-29T00:00:00Z");       /* divisible by 100, not by 400 */
    parse_bad("2100-02-29T00:00:00Z");
    parse_bad("2025-07-01T24:00:00Z");
    parse_bad("2025-07-01T00:60:00Z");
    parse_bad("2025-07-01T00:00:61Z");
    parse_bad("2025-07-01X00:00:00Z");
    parse_bad("2025/07/01T00:00:00Z");
    parse_bad("2025-7-01T00:00:00Z");
    parse_bad("+2025-07-01T00:00:00Z");
    parse_bad("2025-07-01T00:00:00.Z");      /* a fraction needs a digit */
    parse_bad("2025-07-01T00:00:00,5Z");
    parse_bad("2025-07-01T00:00:00Zjunk");
    parse_bad("2025-07-01T00:00:00 Z");
    parse_bad("2025-07-01T00:00:00+0200");
    parse_bad("2025-07-01T00:00:00+02");
    parse_bad("2025-07-01T00:00:00+24:00");
    parse_bad("2025-07-01T00:00:00+02:60");
    parse_bad("2025-07-01T00:00:00+02:00:00");
    parse_bad("2025-07-01T00:00:00UTC");
    /* The message quotes at most 40 characters of the input. */
    parse_bad("2025-07-01T00:00:00Z and then a very long tail of junk text");
}

static void test_format(void **state)
{
    (void)state;
    char out[32];
    ccai_time_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    ccai_time_format(1752919235, out);
    assert_string_equal(out, "2025-07-19T10:00:35Z");
    ccai_time_format(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    ccai_time_format(951782400, out);
    assert_string_equal(out, "2000-02-29T00:00:00Z");
    ccai_time_format((time_t)253402300799LL, out);
    assert_string_equal(out, "9999-12-31T23:59:59Z");
    assert_int_equal(strlen(out), 20);
    /* Round trip over a spread of times, four years apart plus a bit. */
    for (long long t = -2208988800LL; t < 4102444800LL; t += 126230401LL) {
        ccai_time_format((time_t)t, out);
        assert_true(parse_ok(out) == (time_t)t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_leap_years),
        cmocka_unit_test(test_parse_offsets_and_fractions),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
