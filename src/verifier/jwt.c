/* ES256 JWS/JWT and JWK on OpenSSL + jansson (jwt.h). Signing converts
 * OpenSSL's DER ECDSA signature to the fixed 64-byte r||s of RFC 7518 §3.4;
 * verification goes the other way and refuses any other length, so no DER
 * signature (or an algorithm named by the token) ever reaches OpenSSL. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/ecdsa.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "verifier/jwt.h"

enum { JWT_LEEWAY_S = 60 };

/* ---- JWK -------------------------------------------------------------------------- */

ccai_code ccai_jwk_thumbprint(const json_t *jwk, char out[44], ccai_err *err)
{
    static const char *const ec[] = {"crv", "kty", "x", "y", NULL};
    static const char *const rsa[] = {"e", "kty", "n", NULL};
    static const char *const okp[] = {"crv", "kty", "x", NULL};
    const json_t *kty = json_object_get(jwk, "kty");
    const char *k = json_is_string(kty) ? json_string_value(kty) : "";
    const char *const *req = !strcmp(k, "EC") ? ec : !strcmp(k, "RSA") ? rsa
                           : !strcmp(k, "OKP") ? okp : NULL;
    if (!req)
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED, "jwk: expected kty EC, RSA or OKP, found %s",
                         json_is_string(kty) ? k : ccai_json_kind(kty));
    /* RFC 7638 §3.2: only the required members, keys sorted, no white space:
     * exactly the canonical form. */
    json_t *o = json_object();
    for (size_t i = 0; req[i]; i++) {
        const json_t *v = json_object_get(jwk, req[i]);
        if (!json_is_string(v)) {
            json_decref(o);
            return ccai_fail(err, CCAI_ERR_PARSE, "jwk: member \"%s\": expected a string, found %s",
                             req[i], ccai_json_kind(v));
        }
        json_object_set(o, req[i], (json_t *)(uintptr_t)v);
    }
    char *canon = ccai_json_canonical(o);
    json_decref(o);
    uint8_t h[32];
    ccai_sha256(canon, strlen(canon), h);
    free(canon);
    char *b = ccai_b64_encode(h, 32, CCAI_B64_URL);
    memcpy(out, b, 44);
    free(b);
    return CCAI_OK;
}

ccai_code ccai_p256_generate(EVP_PKEY **out, ccai_err *err)
{
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!*out) {
        ERR_clear_error();
        return ccai_fail(err, CCAI_ERR_CRYPTO, "generating a P-256 key failed");
    }
    return CCAI_OK;
}

/* The uncompressed point of an EC P-256 key. */
static ccai_code p256_point(EVP_PKEY *key, uint8_t pt[65], ccai_err *err)
{
    char group[32] = "";
    size_t n = 0;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        NULL) ||
        strcmp(group, "prime256v1") != 0 ||
        !EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, 65, &n) || n != 65 ||
        pt[0] != 0x04) {
        ERR_clear_error();
        return ccai_fail(err, CCAI_ERR_ARG, "jwk: expected a P-256 key (uncompressed point)");
    }
    return CCAI_OK;
}

ccai_code ccai_jwk_from_pkey(EVP_PKEY *key, json_t **out, ccai_err *err)
{
    uint8_t pt[65];
    if (p256_point(key, pt, err))
        return CCAI_ERR_ARG;
    char *x = ccai_b64_encode(pt + 1, 32, CCAI_B64_URL), *y = ccai_b64_encode(pt + 33, 32,
                                                                              CCAI_B64_URL);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x, "y", y);
    free(x);
    free(y);
    char kid[44];
    ccai_jwk_thumbprint(j, kid, NULL);
    json_object_set_new(j, "kid", json_string(kid));
    json_object_set_new(j, "use", json_string("sig"));
    json_object_set_new(j, "alg", json_string("ES256"));
    *out = j;
    return CCAI_OK;
}

/* A 32-byte coordinate, canonical unpadded base64url. */
static ccai_code coord(const json_t *jwk, const char *name, uint8_t out[32], ccai_err *err)
{
    const json_t *v = json_object_get(jwk, name);
    uint8_t *raw = NULL;
    size_t n = 0;
    if (!json_is_string(v) || json_string_length(v) != 43 ||
        ccai_b64_decode(json_string_value(v), 43, CCAI_B64_URL, &raw, &n, NULL) || n != 32) {
        free(raw);
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "jwk: \"%s\": expected 32 bytes in unpadded base64url", name);
    }
    memcpy(out, raw, 32);
    free(raw);
    return CCAI_OK;
}

ccai_code ccai_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, ccai_err *err)
{
    *out = NULL;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    if (!kty || strcmp(kty, "EC") || !crv || strcmp(crv, "P-256"))
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED, "jwk: expected kty \"EC\" and crv \"P-256\"");
    uint8_t pt[65];
    pt[0] = 0x04;
    if (coord(jwk, "x", pt + 1, err) || coord(jwk, "y", pt + 33, err))
        return CCAI_ERR_PARSE;
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    /* Importing decodes the point and so checks that it lies on the curve. */
    if (!pctx || EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
    EVP_PKEY_CTX_free(pctx);
    ERR_clear_error();
    return *out ? CCAI_OK : ccai_fail(err, CCAI_ERR_PARSE, "jwk: the point is not on P-256");
}

/* ---- sign --------------------------------------------------------------------------- */

static char *b64u_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *b = ccai_b64_encode((const uint8_t *)s, strlen(s), CCAI_B64_URL);
    free(s);
    return b;
}

ccai_code ccai_jwt_sign(EVP_PKEY *key, const char *kid, const json_t *claims, char **token,
                        ccai_err *err)
{
    *token = NULL;
    if (!json_is_object(claims))
        return ccai_fail(err, CCAI_ERR_ARG, "token: claims must be a JSON object");
    /* The header is fixed here; nothing from the input chooses the algorithm. */
    json_t *hdr = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid", kid, "typ", "JWT");
    char *h = b64u_json(hdr), *p = b64u_json(claims);
    json_decref(hdr);
    char *input = ccai_xasprintf("%s.%s", h, p);
    free(h);
    free(p);
    uint8_t sig[64];
    ccai_code rc = ccai_p256_sign_raw(key, input, strlen(input), sig, err);
    if (!rc) {
        char *s = ccai_b64_encode(sig, 64, CCAI_B64_URL);
        *token = ccai_xasprintf("%s.%s", input, s);
        free(s);
    }
    free(input);
    return rc;
}

/* ---- verify ------------------------------------------------------------------------- */

/* A segment: canonical unpadded base64url (re-encoding gives the same text). */
static ccai_code segment(const char *s, size_t n, const char *what, uint8_t **out, size_t *len,
                         ccai_err *err)
{
    *out = NULL;
    if (n == 0 || memchr(s, '=', n) ||
        ccai_b64_decode(s, n, CCAI_B64_URL, out, len, NULL) != CCAI_OK)
        return ccai_fail(err, CCAI_ERR_PARSE, "token: %s: expected unpadded base64url", what);
    char *again = ccai_b64_encode(*out, *len, CCAI_B64_URL);
    bool same = strlen(again) == n && memcmp(again, s, n) == 0;
    free(again);
    if (!same) {
        free(*out);
        *out = NULL;
        return ccai_fail(err, CCAI_ERR_PARSE, "token: %s: non-canonical base64url", what);
    }
    return CCAI_OK;
}

static ccai_code json_segment(const char *s, size_t n, const char *what, json_t **out,
                              ccai_err *err)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    *out = NULL;
    ccai_code rc = segment(s, n, what, &raw, &len, err);
    if (rc)
        return rc;
    ccai_err je = {0};
    rc = ccai_json_parse((const char *)raw, len, out, &je);
    free(raw);
    if (rc || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return ccai_fail(err, CCAI_ERR_PARSE, "token: %s: expected a JSON object%s%s", what,
                         rc ? ": " : "", rc ? je.msg : "");
    }
    return CCAI_OK;
}

/* Exactly alg = "ES256", kid, and optionally typ = "JWT". */
static ccai_code check_header(const json_t *h, const char **kid, ccai_err *err)
{
    const json_t *alg = json_object_get(h, "alg");
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "ES256") != 0)
        return ccai_fail(err, CCAI_ERR_VERIFY, "token: header alg: expected \"ES256\", found %s%s%s",
                         json_is_string(alg) ? "\"" : "",
                         json_is_string(alg) ? json_string_value(alg) : ccai_json_kind(alg),
                         json_is_string(alg) ? "\"" : "");
    const json_t *k = json_object_get(h, "kid"), *typ = json_object_get(h, "typ");
    if (!json_is_string(k))
        return ccai_fail(err, CCAI_ERR_VERIFY, "token: header kid: expected a string, found %s",
                         ccai_json_kind(k));
    if (typ && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0))
        return ccai_fail(err, CCAI_ERR_VERIFY, "token: header typ: expected \"JWT\"");
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)h, name, v) {
        if (strcmp(name, "alg") && strcmp(name, "kid") && strcmp(name, "typ"))
            return ccai_fail(err, CCAI_ERR_VERIFY,
                             "token: header member \"%.64s\" is not allowed (expected only alg, "
                             "kid, typ)", name);
    }
    *kid = json_string_value(k);
    return CCAI_OK;
}

static ccai_code find_key(const json_t *jwks, const char *kid, EVP_PKEY **key, ccai_err *err)
{
    const json_t *keys = json_object_get(jwks, "keys");
    if (!json_is_array(keys))
        return ccai_fail(err, CCAI_ERR_ARG, "token: JWKS: expected {\"keys\": [...]}");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *k = json_array_get(keys, i);
        const char *kk = json_string_value(json_object_get(k, "kid"));
        if (!kk || strcmp(kk, kid) != 0)
            continue;
        const char *alg = json_string_value(json_object_get(k, "alg"));
        const char *use = json_string_value(json_object_get(k, "use"));
        if ((alg && strcmp(alg, "ES256")) || (use && strcmp(use, "sig")))
            return ccai_fail(err, CCAI_ERR_VERIFY, "token: key \"%.64s\" is not an ES256 "
                             "signing key", kid);
        ccai_code rc = ccai_jwk_to_pkey(k, key, err);
        if (rc)
            ccai_err_prefix(err, "token: key \"%.64s\"", kid);
        return rc;
    }
    return ccai_fail(err, CCAI_ERR_VERIFY, "token: kid \"%.64s\" is not in the JWKS", kid);
}

static ccai_code check_times(const json_t *c, time_t now, ccai_err *err)
{
    const json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
    if (!json_is_integer(exp))
        return ccai_fail(err, CCAI_ERR_VERIFY, "token: exp: expected an integer, found %s",
                         ccai_json_kind(exp));
    if ((json_int_t)now >= json_integer_value(exp))
        return ccai_fail(err, CCAI_ERR_VERIFY, "token: expired at %lld (now %lld)",
                         (long long)json_integer_value(exp), (long long)now);
    if (nbf && !json_is_integer(nbf))
        return ccai_fail(err, CCAI_ERR_VERIFY, "token: nbf: expected an integer, found %s",
                         ccai_json_kind(nbf));
    if (nbf && json_integer_value(nbf) > (json_int_t)now + JWT_LEEWAY_S)
        return ccai_fail(err, CCAI_ERR_VERIFY, "token: not valid before %lld (now %lld)",
                         (long long)json_integer_value(nbf), (long long)now);
    return CCAI_OK;
}

ccai_code ccai_jwt_verify(const char *token, const json_t *jwks, time_t now, json_t **claims,
                          ccai_err *err)
{
    *claims = NULL;
    size_t n = token ? strnlen(token, CCAI_JWT_MAX_TOKEN + 1) : 0;
    if (n == 0 || n > CCAI_JWT_MAX_TOKEN)
        return ccai_fail(err, CCAI_ERR_PARSE, "token: expected 1 to %d characters",
                         CCAI_JWT_MAX_TOKEN);
    const char *d1 = memchr(token, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - token)))
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "token: expected three base64url segments separated by '.'");
    json_t *hdr = NULL, *payload = NULL;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    const char *kid = NULL;
    EVP_PKEY *key = NULL;
    ccai_code rc = json_segment(token, (size_t)(d1 - token), "header", &hdr, err);
    if (!rc)
        rc = check_header(hdr, &kid, err);
    if (!rc)
        rc = json_segment(d1 + 1, (size_t)(d2 - d1 - 1), "payload", &payload, err);
    if (!rc)
        rc = segment(d2 + 1, n - (size_t)(d2 + 1 - token), "signature", &sig, &sig_len, err);
    if (!rc && sig_len != 64)
        rc = ccai_fail(err, CCAI_ERR_VERIFY, "token: signature: expected 64 bytes (r||s), "
                       "found %zu", sig_len);
    if (!rc)
        rc = find_key(jwks, kid, &key, err);
    if (!rc && !ccai_p256_verify_raw(key, token, (size_t)(d2 - token), sig))
        rc = ccai_fail(err, CCAI_ERR_VERIFY, "token: ES256 signature does not verify with key "
                       "\"%.64s\"", kid);
    if (!rc && now)
        rc = check_times(payload, now, err);
    EVP_PKEY_free(key);
    free(sig);
    json_decref(hdr);
    if (rc)
        json_decref(payload);
    else
        *claims = payload;
    return rc;
}
