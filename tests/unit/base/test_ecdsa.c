/* Tests for src/base/ecdsa.c: the RFC 6979 A.2.5 P-256/SHA-256 signature of
 * "sample" verifies in raw r||s form (a known answer from outside ccai); a
 * flipped bit of message or signature, r or s of zero, and r || s equal to
 * the group order are refused; signatures made here verify, including the
 * many whose r or s has leading zero bytes (fixed 32-byte halves). */
#include "testutil.h"

#include <openssl/evp.h>
#include <string.h>

#include "base/codec.h"
#include "base/ecdsa.h"
#include "verifier/jwt.h"

static EVP_PKEY *rfc6979_key(void)
{
    uint8_t x[32], y[32];
    assert_int_equal(ccai_hex_decode_exact(
        "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6", x, 32, NULL), CCAI_OK);
    assert_int_equal(ccai_hex_decode_exact(
        "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299", y, 32, NULL), CCAI_OK);
    char *bx = ccai_b64_encode(x, 32, CCAI_B64_URL), *by = ccai_b64_encode(y, 32, CCAI_B64_URL);
    json_t *jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", bx, "y", by);
    EVP_PKEY *k = NULL;
    assert_int_equal(ccai_jwk_to_pkey(jwk, &k, NULL), CCAI_OK);
    json_decref(jwk);
    free(bx);
    free(by);
    return k;
}

static void test_known_answer(void **state)
{
    (void)state;
    EVP_PKEY *k = rfc6979_key();
    uint8_t sig[64];
    assert_int_equal(ccai_hex_decode_exact(
        "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
        "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8", sig, 64, NULL),
        CCAI_OK);
    assert_true(ccai_p256_verify_raw(k, "sample", 6, sig));
    assert_false(ccai_p256_verify_raw(k, "samplf", 6, sig));
    assert_false(ccai_p256_verify_raw(k, "sample", 5, sig));
    for (int bit = 0; bit < 512; bit += 37) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_false(ccai_p256_verify_raw(k, "sample", 6, sig));
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_true(ccai_p256_verify_raw(k, "sample", 6, sig));
    uint8_t bad[64];
    memcpy(bad, sig, 64);
    memset(bad, 0, 32); /* r = 0 */
    assert_false(ccai_p256_verify_raw(k, "sample", 6, bad));
    memcpy(bad, sig, 64);
    memset(bad + 32, 0, 32); /* s = 0 */
    assert_false(ccai_p256_verify_raw(k, "sample", 6, bad));
    /* r = n, the group order */
    assert_int_equal(ccai_hex_decode_exact(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", bad, 32, NULL),
        CCAI_OK);
    assert_false(ccai_p256_verify_raw(k, "sample", 6, bad));
    assert_false(ccai_p256_verify_raw(NULL, "sample", 6, sig));
    EVP_PKEY_free(k);
}

static void test_sign_round_trip(void **state)
{
    (void)state;
    EVP_PKEY *k = NULL;
    assert_int_equal(ccai_p256_generate(&k, NULL), CCAI_OK);
    int short_half = 0;
    /* until a signature with a short half has been seen (about 2 in 256 have
     * one; 20000 tries miss with probability e^-156) */
    for (int i = 0; i < 20000 && (i < 300 || !short_half); i++) {
        uint8_t msg[4] = {(uint8_t)i, (uint8_t)(i >> 8), 7, 9}, sig[64];
        assert_int_equal(ccai_p256_sign_raw(k, msg, sizeof msg, sig, NULL), CCAI_OK);
        assert_true(ccai_p256_verify_raw(k, msg, sizeof msg, sig));
        msg[0] ^= 1;
        assert_false(ccai_p256_verify_raw(k, msg, sizeof msg, sig));
        short_half += sig[0] == 0 || sig[32] == 0;
    }
    assert_true(short_half > 0);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_sign_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
