/* Tests for src/llm/unicode.c and the table tools/gen_unicode.c generates:
 * category spot checks (letters, numbers, the First>/Last> ranges,
 * emoji), every code point against UnicodeData.txt read here
 * independently, the White_Space set, strict UTF-8 decoding that never
 * reads past its input, and encoding. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "llm/unicode.h"

static void test_spot_checks(void **state)
{
    (void)state;
    static const struct {
        uint32_t cp;
        unicode_cat cat;
    } cases[] = {
        {'A', UCAT_Lu},     {'z', UCAT_Ll},      {'5', UCAT_Nd},      {' ', UCAT_Zs},
        {'\n', UCAT_Cc},    {'!', UCAT_Po},      {0x00E9, UCAT_Ll},   {0x01C5, UCAT_Lt},
        {0x02B0, UCAT_Lm},  {0x05D0, UCAT_Lo},   {0x0663, UCAT_Nd},   {0x2167, UCAT_Nl},
        {0x00BD, UCAT_No},  {0x0301, UCAT_Mn},   {0x00AD, UCAT_Cf},   {0x3000, UCAT_Zs},
        {0x4E00, UCAT_Lo},  {0x9FA5, UCAT_Lo},   {0xAC00, UCAT_Lo},   {0xD7A3, UCAT_Lo},
        {0x20000, UCAT_Lo}, {0xE000, UCAT_Co},   {0xD800, UCAT_Cs},   {0x0378, UCAT_Cn},
        {0x1F600, UCAT_So}, {0x2581, UCAT_So},   {0xFF5C, UCAT_Sm},   {0x10FFFF, UCAT_Cn},
        {0x110000, UCAT_Cn}, {UNICODE_RAW_BYTE(0xFF), UCAT_Cn},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unicode_cat got = unicode_category(cases[i].cp);
        if (got != cases[i].cat)
            fail_msg("U+%04X: want %s got %s", cases[i].cp, unicode_cat_name(cases[i].cat),
                     unicode_cat_name(got));
    }
    assert_true(unicode_is_letter(0x00E9));
    assert_true(unicode_is_letter(0x4E2D));
    assert_true(unicode_is_number(0x0663));
    assert_true(unicode_is_number(0x00BD));
    assert_false(unicode_is_letter(0x1F600));
    assert_false(unicode_is_number(0x1F600));
    assert_false(unicode_is_letter(0x0301));
    assert_false(unicode_is_letter('_'));
    assert_false(unicode_is_number(UNICODE_RAW_BYTE(0x35)));
    assert_string_equal(unicode_cat_name(UCAT_Nd), "Nd");
}

static void test_white_space(void **state)
{
    (void)state;
    static const uint32_t yes[] = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
                                   0x2000, 0x2005, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
    static const uint32_t no[] = {0x08, 0x0E, 0x1C, 0x1F, 0x21, 0x180E, 0x200B, 0x2060, 0xFEFF,
                                  'a', UNICODE_RAW_BYTE(0x20)};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(unicode_is_space(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(unicode_is_space(no[i]));
}

/* The generated table agrees with UnicodeData.txt for every code point. */
static void test_table_matches_ucd(void **state)
{
    (void)state;
    FILE *f = fopen(unicode_data_source, "r");
    if (!f) {
        print_message("%s absent: skipped\n", unicode_data_source);
        skip();
    }
    uint8_t *cats = ccai_xcalloc(0x110000, 1);
    char line[1024];
    long first = -1;
    size_t entries = 0;
    while (fgets(line, sizeof line, f)) {
        char *name = strchr(line, ';');
        char *cat = name ? strchr(name + 1, ';') : NULL;
        assert_non_null(cat);
        unsigned long cp = strtoul(line, NULL, 16);
        int c = -1;
        for (int k = 0; k < UCAT_COUNT; k++)
            if (strncmp(cat + 1, unicode_cat_name((unicode_cat)k), 2) == 0 && cat[3] == ';')
                c = k;
        assert_true(c >= 0 && cp <= 0x10FFFF);
        entries++;
        if (strstr(name, ", First>;"))
            first = (long)cp;
        else if (strstr(name, ", Last>;"))
            for (unsigned long k = (unsigned long)first; k <= cp; k++)
                cats[k] = (uint8_t)c;
        else
            cats[cp] = (uint8_t)c;
    }
    fclose(f);
    assert_int_equal(entries, unicode_data_entries);
    size_t letters = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (unicode_category(cp) != (unicode_cat)cats[cp])
            fail_msg("U+%04X: table says %s, %s says %s", cp, unicode_cat_name(unicode_category(cp)),
                     unicode_data_source, unicode_cat_name((unicode_cat)cats[cp]));
        letters += unicode_is_letter(cp);
    }
    print_message("%zu entries, %zu ranges, %zu letters\n", entries, unicode_cat_n_ranges, letters);
    assert_true(letters > 130000); /* the CJK and Hangul ranges are filled in */
    free(cats);
}

/* Decodes s (given with its exact length in a heap copy, so ASan catches
 * any read past it) into code points. */
static size_t decode_all(const char *s, size_t len, uint32_t *out)
{
    char *copy = ccai_xmemdup(s, len);
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t k = unicode_decode(copy + i, len - i, &out[n++]);
        assert_true(k >= 1 && k <= len - i);
        i += k;
    }
    free(copy);
    return n;
}

static void test_decode(void **state)
{
    (void)state;
    uint32_t cp[16];
    assert_int_equal(decode_all("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10, cp), 4);
    assert_int_equal(cp[0], 'a');
    assert_int_equal(cp[1], 0xE9);
    assert_int_equal(cp[2], 0x20AC);
    assert_int_equal(cp[3], 0x1F600);
    /* Ill-formed: each byte that starts no complete character stands alone. */
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"\xc0\x80", 2},         /* overlong NUL */
        {"\xe0\x80\x80", 3},     /* overlong */
        {"\xed\xa0\x80", 3},     /* surrogate */
        {"\xf4\x90\x80\x80", 4}, /* above U+10FFFF */
        {"\xf5\x80\x80\x80", 4},
        {"\xff", 1},
        {"\x80", 1},
        {"\xe2\x82", 2},         /* cut short at the end */
        {"\xf0\x9f\x98", 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = decode_all(bad[i].s, bad[i].len, cp);
        assert_true(n >= 1);
        assert_int_equal(cp[0], UNICODE_RAW_BYTE(bad[i].s[0]));
        assert_true(unicode_is_raw_byte(cp[0]));
        assert_false(unicode_valid(bad[i].s, bad[i].len));
    }
    /* The byte after a broken sequence is read afresh. */
    assert_int_equal(decode_all("\xe2" "A", 2, cp), 2);
    assert_int_equal(cp[1], 'A');
    assert_int_equal(unicode_decode("x", 0, cp), 0);

    size_t n;
    assert_int_equal(unicode_check((const uint8_t *)"\xe2\x82", 2, &n), UNICODE_SEQ_SHORT);
    assert_int_equal(unicode_check((const uint8_t *)"\xe2\x82\xac", 3, &n), UNICODE_SEQ_OK);
    assert_int_equal(n, 3);
    assert_int_equal(unicode_check((const uint8_t *)"\xe2\x82" "A", 3, &n), UNICODE_SEQ_BAD);
    assert_int_equal(n, 2);
    assert_int_equal(unicode_check((const uint8_t *)"\xe0\x80", 2, &n), UNICODE_SEQ_BAD);
    assert_int_equal(n, 1);
}

static void test_encode_round_trip(void **state)
{
    (void)state;
    char buf[4];
    for (uint32_t c = 0; c <= UNICODE_MAX; c++) {
        size_t k = unicode_encode(c, buf);
        if (c >= 0xD800 && c <= 0xDFFF) {
            assert_int_equal(k, 0);
            continue;
        }
        uint32_t back;
        assert_true(k >= 1 && k <= 4);
        assert_true(unicode_valid(buf, k));
        assert_int_equal(unicode_decode(buf, k, &back), k);
        if (back != c)
            fail_msg("U+%04X decodes back as U+%04X", c, back);
    }
    assert_int_equal(unicode_encode(0x110000, buf), 0);
    assert_int_equal(unicode_encode(UNICODE_RAW_BYTE(0x41), buf), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spot_checks),
        cmocka_unit_test(test_white_space),
        cmocka_unit_test(test_table_matches_ucd),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_encode_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
