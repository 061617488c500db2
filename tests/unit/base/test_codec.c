/* Tests for src/base/codec.c: hex and base64 against known vectors (RFC 4648
 * §10 for base64, both alphabets, padded and unpadded), and every rejection
 * with its exact message. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/codec.h"

static void test_hex_encode(void **state)
{
    (void)state;
    char out[9];
    ccai_hex_encode((const uint8_t *)"\x00\x01\xab\xff", 4, out);
    assert_string_equal(out, "0001abff");
    ccai_hex_encode(NULL, 0, out);
    assert_string_equal(out, "");
    char *d = ccai_hex_dup((const uint8_t *)"\xde\xad\xbe\xef", 4);
    assert_string_equal(d, "deadbeef");
    free(d);
}

static void test_hex_decode_exact(void **state)
{
    (void)state;
    uint8_t out[4];
    ccai_err err = {0};
    assert_int_equal(ccai_hex_decode_exact("DEADbeef", out, 4, &err), CCAI_OK);
    assert_memory_equal(out, "\xde\xad\xbe\xef", 4);

    assert_int_equal(ccai_hex_decode_exact("deadbee", out, 4, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "expected 8 hex digits (4 bytes), found 7");
    assert_int_equal(ccai_hex_decode_exact("deadbeef00", out, 4, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "expected 8 hex digits (4 bytes), found 10");
    assert_int_equal(ccai_hex_decode_exact("deaxbeef", out, 4, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "not a hex digit at position 3");
    assert_int_equal(ccai_hex_decode_exact("de adbee", out, 4, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "not a hex digit at position 2");
    /* A byte >= 0x80 (negative char) is not a digit either. */
    assert_int_equal(ccai_hex_decode_exact("dead\xc3\xa9" "ef", out, 4, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "not a hex digit at position 4");
    assert_int_equal(ccai_hex_decode_exact("", out, 0, &err), CCAI_OK);
}

static void test_hex_decode_alloc(void **state)
{
    (void)state;
    uint8_t *out = NULL;
    size_t len = 99;
    ccai_err err = {0};
    /* slen bounds the input: the trailing "zz" is not looked at. */
    assert_int_equal(ccai_hex_decode_alloc("00FF10zz", 6, &out, &len, &err), CCAI_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(out, "\x00\xff\x10", 3);
    free(out);

    assert_int_equal(ccai_hex_decode_alloc("", 0, &out, &len, &err), CCAI_OK);
    assert_int_equal(len, 0);
    free(out);

    out = NULL;
    assert_int_equal(ccai_hex_decode_alloc("abc", 3, &out, &len, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "odd number of hex digits (3)");
    assert_null(out);
    assert_int_equal(ccai_hex_decode_alloc("0g", 2, &out, &len, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "not a hex digit at position 1");
    assert_null(out);
}

/* RFC 4648 §10. */
static const struct {
    const char *raw, *std, *url;
} rfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

static void check_decode(const char *s, ccai_b64_alphabet alpha, const void *want, size_t n)
{
    uint8_t *out = NULL;
    size_t len = 0;
    ccai_err err = {0};
    if (ccai_b64_decode(s, strlen(s), alpha, &out, &len, &err) != CCAI_OK)
        fail_msg("decoding \"%s\": %s", s, err.msg);
    assert_int_equal(len, n);
    if (n)
        assert_memory_equal(out, want, n);
    free(out);
}

static void test_b64_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        const char *raw = rfc4648[i].raw;
        size_t n = strlen(raw);
        char *s = ccai_b64_encode((const uint8_t *)raw, n, CCAI_B64_STD);
        assert_string_equal(s, rfc4648[i].std);
        free(s);
        s = ccai_b64_encode((const uint8_t *)raw, n, CCAI_B64_URL);
        assert_string_equal(s, rfc4648[i].url);
        free(s);
        /* Padding is optional on input, in either alphabet. */
        check_decode(rfc4648[i].std, CCAI_B64_STD, raw, n);
        check_decode(rfc4648[i].url, CCAI_B64_STD, raw, n);
        check_decode(rfc4648[i].std, CCAI_B64_URL, raw, n);
        check_decode(rfc4648[i].url, CCAI_B64_URL, raw, n);
    }
}

static void test_b64_alphabets_differ(void **state)
{
    (void)state;
    /* 0xfb 0xef 0xbe is 62 62 62 62; 0xff 0xff 0xff is 63 63 63 63. */
    static const uint8_t hi[] = {0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff, 0xfb, 0xff};
    char *s = ccai_b64_encode(hi, sizeof hi, CCAI_B64_STD);
    assert_string_equal(s, "++++////+/8=");
    free(s);
    s = ccai_b64_encode(hi, sizeof hi, CCAI_B64_URL);
    assert_string_equal(s, "----____-_8");
    free(s);
    check_decode("++++////+/8=", CCAI_B64_STD, hi, sizeof hi);
    check_decode("----____-_8", CCAI_B64_URL, hi, sizeof hi);
}

static void test_b64_round_trip_all_bytes(void **state)
{
    (void)state;
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    for (size_t n = 0; n <= sizeof all; n += 37) {
        for (int a = 0; a < 2; a++) {
            ccai_b64_alphabet alpha = a ? CCAI_B64_URL : CCAI_B64_STD;
            char *s = ccai_b64_encode(all + (256 - n), n, alpha);
            assert_int_equal(strlen(s), alpha == CCAI_B64_STD ? (n + 2) / 3 * 4 : (n * 4 + 2) / 3);
            check_decode(s, alpha, all + (256 - n), n);
            free(s);
        }
    }
}

static void check_reject(const char *s, ccai_b64_alphabet alpha, const char *msg)
{
    uint8_t *out = NULL;
    size_t len = 0;
    ccai_err err = {0};
    assert_int_equal(ccai_b64_decode(s, strlen(s), alpha, &out, &len, &err), CCAI_ERR_PARSE);
    assert_int_equal(err.code, CCAI_ERR_PARSE);
    assert_string_equal(err.msg, msg);
    assert_null(out);
}

static void test_b64_rejections(void **state)
{
    (void)state;
    /* Characters of the other alphabet, with their position. */
    check_reject("Zm9-", CCAI_B64_STD, "base64: invalid character 0x2d at position 3");
    check_reject("Zm9_", CCAI_B64_STD, "base64: invalid character 0x5f at position 3");
    check_reject("Zm+v", CCAI_B64_URL, "base64url: invalid character 0x2b at position 2");
    check_reject("/m9v", CCAI_B64_URL, "base64url: invalid character 0x2f at position 0");
    /* White space and padding in the middle are not base64. */
    check_reject("Zm9v\nYg=", CCAI_B64_STD, "base64: invalid character 0x0a at position 4");
    check_reject("Zg==Zg==", CCAI_B64_STD, "base64: invalid character 0x3d at position 2");
    check_reject("Zm9v====", CCAI_B64_STD, "base64: invalid character 0x3d at position 4");
    check_reject("====", CCAI_B64_STD, "base64: invalid character 0x3d at position 0");
    /* Padding that does not complete a quantum. */
    check_reject("Zg=", CCAI_B64_STD, "base64: padded length 3 is not a multiple of 4");
    check_reject("Zm9vYg=", CCAI_B64_URL, "base64: padded length 7 is not a multiple of 4");
    check_reject("=", CCAI_B64_STD, "base64: padded length 1 is not a multiple of 4");
    /* One character left over cannot hold a byte. */
    check_reject("Zm9vY", CCAI_B64_STD, "base64: impossible length 5");
    check_reject("Z", CCAI_B64_URL, "base64: impossible length 1");
    /* Non-zero bits after the last byte: "Zh==" would otherwise decode as "f". */
    check_reject("Zh==", CCAI_B64_STD, "base64: non-zero padding bits");
    check_reject("Zh", CCAI_B64_URL, "base64: non-zero padding bits");
    check_reject("Zm9=", CCAI_B64_STD, "base64: non-zero padding bits");
    check_reject("Zm9vYmF", CCAI_B64_URL, "base64: non-zero padding bits");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_hex_decode_exact),
        cmocka_unit_test(test_hex_decode_alloc),
        cmocka_unit_test(test_b64_rfc4648_vectors),
        cmocka_unit_test(test_b64_alphabets_differ),
        cmocka_unit_test(test_b64_round_trip_all_bytes),
        cmocka_unit_test(test_b64_rejections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
