/* JWS/JWT with ES256 and JWK (RFC 7515, 7517, 7518 §3.4, 7519, 7638), written
 * on OpenSSL + jansson for the attestation tokens (blueprint "Choices": no
 * algorithm-confusion surface).
 *
 * The algorithm is fixed by the caller's expectation, never read from the
 * input: a token whose header says anything but "ES256" is rejected before
 * any key is touched. Headers are parsed strictly: exactly the members alg,
 * kid and (optionally) typ = "JWT"; no jku/jwk/x5u/crit. Each segment must be
 * canonical unpadded base64url; JSON with duplicate keys is rejected; the
 * signature is exactly 64 bytes, r||s (RFC 7518 §3.4), not DER. */
#ifndef CCAI_VERIFIER_JWT_H
#define CCAI_VERIFIER_JWT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <time.h>

#include "base/err.h"

enum { CCAI_JWT_MAX_TOKEN = 1 << 20 };

/* The RFC 7638 thumbprint of a public JWK (EC: crv,kty,x,y; RSA: e,kty,n;
 * OKP: crv,kty,x) as unpadded base64url of its SHA-256 (43 characters + NUL). */
ccai_code ccai_jwk_thumbprint(const json_t *jwk, char out[44], ccai_err *err);

/* The public half of a P-256 key as a JWK {"kty":"EC","crv":"P-256","x","y",
 * "kid":<thumbprint>,"use":"sig","alg":"ES256"}. The caller owns the result. */
ccai_code ccai_jwk_from_pkey(EVP_PKEY *key, json_t **out, ccai_err *err);

/* A P-256 public key from an EC JWK (point checked to be on the curve). The
 * caller frees *out with EVP_PKEY_free. */
ccai_code ccai_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, ccai_err *err);

/* A fresh P-256 key pair. */
ccai_code ccai_p256_generate(EVP_PKEY **out, ccai_err *err);

/* header {"alg":"ES256","kid":kid,"typ":"JWT"} . claims (compact JSON) .
 * ES256 signature. *token is fresh; the caller frees it. */
ccai_code ccai_jwt_sign(EVP_PKEY *key, const char *kid, const json_t *claims, char **token,
                        ccai_err *err);

/* Verifies token against the keys of jwks ({"keys":[...]}) selected by the
 * header's kid. With now != 0 also requires nbf <= now < exp (60 s leeway for
 * nbf/iat clock skew, none for exp) where present, and exp to be present.
 * *claims is the payload object (the caller owns it). Errors start with
 * "token: " and say which check failed. */
ccai_code ccai_jwt_verify(const char *token, const json_t *jwks, time_t now, json_t **claims,
                          ccai_err *err);

#endif
