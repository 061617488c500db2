/* Tests for ES256 JWT and JWK (src/verifier/jwt.c): the round trip, the
 * exact header, the RFC 7638 known answer, and every tampering failing
 * closed with its own reason. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/mem.h"
#include "verifier/jwt.h"

typedef struct fx {
    EVP_PKEY *key, *other;
    char kid[44];
    json_t *jwks, *claims;
    char *token;
} fx;

static int setup(void **state)
{
    fx *f = ccai_xcalloc(1, sizeof *f);
    assert_int_equal(ccai_p256_generate(&f->key, NULL), CCAI_OK);
    assert_int_equal(ccai_p256_generate(&f->other, NULL), CCAI_OK);
    json_t *jwk = NULL;
    assert_int_equal(ccai_jwk_from_pkey(f->key, &jwk, NULL), CCAI_OK);
    snprintf(f->kid, sizeof f->kid, "%s", json_string_value(json_object_get(jwk, "kid")));
    f->jwks = json_pack("{s:[o]}", "keys", jwk);
    f->claims = json_pack("{s:s, s:i, s:i, s:b}", "iss", "https://v", "iat", 1000, "exp", 2000,
                          "pass", 1);
    assert_int_equal(ccai_jwt_sign(f->key, f->kid, f->claims, &f->token, NULL), CCAI_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    EVP_PKEY_free(f->key);
    EVP_PKEY_free(f->other);
    json_decref(f->jwks);
    json_decref(f->claims);
    free(f->token);
    free(f);
    return 0;
}

static char *b64u(const char *s)
{
    return ccai_b64_encode((const uint8_t *)s, strlen(s), CCAI_B64_URL);
}

/* token with segment i (0 header, 1 payload, 2 signature) replaced by repl. */
static char *replace_segment(const char *tok, int i, const char *repl)
{
    char *copy = ccai_xstrdup(tok);
    char *parts[3];
    parts[0] = copy;
    parts[1] = strchr(copy, '.') + 1;
    parts[2] = strchr(parts[1], '.') + 1;
    parts[1][-1] = parts[2][-1] = '\0';
    parts[i] = (char *)(uintptr_t)repl;
    char *out = ccai_xasprintf("%s.%s.%s", parts[0], parts[1], parts[2]);
    free(copy);
    return out;
}

static void expect_fail(const fx *f, const char *tok, ccai_code code, const char *msg)
{
    json_t *c = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_jwt_verify(tok, f->jwks, 0, &c, &err), code);
    assert_null(c);
    assert_string_equal(err.msg, msg);
}

static void test_round_trip(void **state)
{
    fx *f = *state;
    json_t *c = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_jwt_verify(f->token, f->jwks, 1500, &c, &err), CCAI_OK);
    assert_true(json_equal(c, f->claims));
    json_decref(c);
    /* the header is exactly the fixed one */
    char hdr[256];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", f->kid);
    char *h = b64u(hdr);
    assert_memory_equal(f->token, h, strlen(h));
    assert_int_equal(f->token[strlen(h)], '.');
    free(h);
    /* the signature is 64 bytes: 86 base64url characters */
    assert_int_equal(strlen(strrchr(f->token, '.') + 1), 86);
}

static void test_times(void **state)
{
    fx *f = *state;
    json_t *c = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_jwt_verify(f->token, f->jwks, 2000, &c, &err), CCAI_ERR_VERIFY);
    assert_string_equal(err.msg, "token: expired at 2000 (now 2000)");
}

static void test_alg_none_and_hs256(void **state)
{
    fx *f = *state;
    char hdr[256];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"none\",\"kid\":\"%s\",\"typ\":\"JWT\"}", f->kid);
    char *h = b64u(hdr);
    char *t = replace_segment(f->token, 0, h);
    expect_fail(f, t, CCAI_ERR_VERIFY, "token: header alg: expected \"ES256\", found \"none\"");
    free(t);
    /* alg none with the signature stripped */
    char *p = strchr(f->token, '.') + 1;
    char *stripped = ccai_xasprintf("%s.%.*s.", h, (int)(strchr(p, '.') - p), p);
    expect_fail(f, stripped, CCAI_ERR_VERIFY,
                "token: header alg: expected \"ES256\", found \"none\"");
    free(stripped);
    free(h);
    snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", f->kid);
    h = b64u(hdr);
    t = replace_segment(f->token, 0, h);
    expect_fail(f, t, CCAI_ERR_VERIFY, "token: header alg: expected \"ES256\", found \"HS256\"");
    free(t);
    free(h);
    /* a header that smuggles a key */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"jwk\":{},\"kid\":\"%s\"}", f->kid);
    h = b64u(hdr);
    t = replace_segment(f->token, 0, h);
    expect_fail(f, t, CCAI_ERR_VERIFY,
                "token: header member \"jwk\" is not allowed (expected only alg, kid, typ)");
    free(t);
    free(h);
}

static void test_kid_unknown(void **state)
{
    fx *f = *state;
    char *t = NULL;
    assert_int_equal(ccai_jwt_sign(f->key, "nope", f->claims, &t, NULL), CCAI_OK);
    expect_fail(f, t, CCAI_ERR_VERIFY, "token: kid \"nope\" is not in the JWKS");
    free(t);
}

static void test_signature_bit_flip(void **state)
{
    fx *f = *state;
    const char *s = strrchr(f->token, '.') + 1;
    uint8_t *raw = NULL;
    size_t n = 0;
    assert_int_equal(ccai_b64_decode(s, strlen(s), CCAI_B64_URL, &raw, &n, NULL), CCAI_OK);
    assert_int_equal(n, 64);
    raw[17] ^= 0x04;
    char *s2 = ccai_b64_encode(raw, n, CCAI_B64_URL);
    char *t = replace_segment(f->token, 2, s2);
    char want[160];
    snprintf(want, sizeof want, "token: ES256 signature does not verify with key \"%s\"", f->kid);
    expect_fail(f, t, CCAI_ERR_VERIFY, want);
    free(t);
    /* DER instead of r||s */
    free(raw);
    raw = ccai_xcalloc(1, 70);
    char *der = ccai_b64_encode(raw, 70, CCAI_B64_URL);
    t = replace_segment(f->token, 2, der);
    expect_fail(f, t, CCAI_ERR_VERIFY, "token: signature: expected 64 bytes (r||s), found 70");
    free(t);
    free(der);
    free(s2);
    free(raw);
}

static void test_truncated(void **state)
{
    fx *f = *state;
    char *t = ccai_xstrdup(f->token);
    /* 86 characters carry 64 bytes and 4 spare bits, which must be zero (the
     * decoder refuses them; the re-encoding check backs it up) */
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *last = t + strlen(t) - 1;
    *last = abc[(strchr(abc, *last) - abc) | 1];
    expect_fail(f, t, CCAI_ERR_PARSE, "token: signature: expected unpadded base64url");
    *last = '\0'; /* 85 characters: not base64 at all */
    expect_fail(f, t, CCAI_ERR_PARSE, "token: signature: expected unpadded base64url");
    *(last - 1) = '\0'; /* 84 characters: 63 bytes */
    expect_fail(f, t, CCAI_ERR_VERIFY, "token: signature: expected 64 bytes (r||s), found 63");
    *(strrchr(t, '.') + 1) = '\0';
    expect_fail(f, t, CCAI_ERR_PARSE, "token: signature: expected unpadded base64url");
    *strrchr(t, '.') = '\0';
    expect_fail(f, t, CCAI_ERR_PARSE, "token: expected three base64url segments separated by '.'");
    expect_fail(f, "", CCAI_ERR_PARSE, "token: expected 1 to 1048576 characters");
    free(t);
    char *padded = ccai_xasprintf("%s=", f->token);
    expect_fail(f, padded, CCAI_ERR_PARSE, "token: signature: expected unpadded base64url");
    free(padded);
}

static void test_payload_changed(void **state)
{
    fx *f = *state;
    char *p = b64u("{\"iss\":\"https://v\",\"iat\":1000,\"exp\":2000,\"pass\":false}");
    char *t = replace_segment(f->token, 1, p);
    char want[160];
    snprintf(want, sizeof want, "token: ES256 signature does not verify with key \"%s\"", f->kid);
    expect_fail(f, t, CCAI_ERR_VERIFY, want);
    free(t);
    free(p);
    p = b64u("{\"a\":1,\"a\":2}");
    t = replace_segment(f->token, 1, p);
    json_t *c = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_jwt_verify(t, f->jwks, 0, &c, &err), CCAI_ERR_PARSE);
    assert_memory_equal(err.msg, "token: payload: expected a JSON object: ", 40);
    free(t);
    free(p);
}

static void test_wrong_key(void **state)
{
    fx *f = *state;
    char *t = NULL;
    /* signed by another key under the trusted key's kid */
    assert_int_equal(ccai_jwt_sign(f->other, f->kid, f->claims, &t, NULL), CCAI_OK);
    char want[160];
    snprintf(want, sizeof want, "token: ES256 signature does not verify with key \"%s\"", f->kid);
    expect_fail(f, t, CCAI_ERR_VERIFY, want);
    free(t);
}

static void test_thumbprint_rfc7638(void **state)
{
    (void)state;
    /* RFC 7638 §3.1 */
    json_t *k = json_pack(
        "{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n",
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
        "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
        "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e", "AQAB", "alg", "RS256", "kid", "2011-04-29");
    char tp[44];
    assert_int_equal(ccai_jwk_thumbprint(k, tp, NULL), CCAI_OK);
    assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    json_object_del(k, "e");
    ccai_err err = {0};
    assert_int_equal(ccai_jwk_thumbprint(k, tp, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "jwk: member \"e\": expected a string, found nothing");
    json_decref(k);
}

static void test_jwk_bad_point(void **state)
{
    fx *f = *state;
    json_t *jwk = json_deep_copy(json_array_get(json_object_get(f->jwks, "keys"), 0));
    /* y replaced: (x, 0) is not on P-256 */
    json_object_set_new(jwk, "y", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    EVP_PKEY *k = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_jwk_to_pkey(jwk, &k, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "jwk: the point is not on P-256");
    json_t *jwks = json_pack("{s:[O]}", "keys", jwk);
    json_t *c = NULL;
    assert_int_equal(ccai_jwt_verify(f->token, jwks, 0, &c, &err), CCAI_ERR_PARSE);
    char want[160];
    snprintf(want, sizeof want, "token: key \"%s\": jwk: the point is not on P-256", f->kid);
    assert_string_equal(err.msg, want);
    json_decref(jwks);
    json_decref(jwk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alg_none_and_hs256, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kid_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_bit_flip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thumbprint_rfc7638, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwk_bad_point, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
