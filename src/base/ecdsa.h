/* ECDSA P-256 with SHA-256 in the raw r||s form (32 + 32 bytes, big-endian)
 * that TDX quotes, QE reports, collateral signatures and ES256 JWTs all use,
 * over OpenSSL's DER form. One implementation for the verifier of quotes,
 * the simulated TD that signs them, and the JWT signer and checker. */
#ifndef CCAI_BASE_ECDSA_H
#define CCAI_BASE_ECDSA_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* True when sig is key's signature of data. Any malformed input is false;
 * OpenSSL's error queue is left empty. */
bool ccai_p256_verify_raw(EVP_PKEY *key, const void *data, size_t len, const uint8_t sig[64]);

/* Signs data with key into sig (halves zero-padded to 32 bytes). */
ccai_code ccai_p256_sign_raw(EVP_PKEY *key, const void *data, size_t len, uint8_t sig[64],
                             ccai_err *err);

#endif
