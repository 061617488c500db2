/* Channel binding of ccai-attest/1 (blueprint "Trust protocol"):
 *
 *   report_data = SHA-512("ccai-attest/1" || 0x00 || nonce(32) ||
 *                         SHA-256(TLS SPKI DER)(32) || E(32))
 *
 * where E is the SHA-256 of the end-to-end public key, or 32 zero bytes while
 * there is none: 110 bytes hashed. A relying party recomputes it from what it
 * saw itself and compares. */
#ifndef CCAI_TEE_BINDING_H
#define CCAI_TEE_BINDING_H

#include <stdint.h>

#define CCAI_ATTEST_VERSION "ccai-attest/1"

/* spki_sha256 and e2e_sha256 may be NULL (32 zero bytes). */
void tee_report_data_bind(const uint8_t nonce[32], const uint8_t *spki_sha256,
                          const uint8_t *e2e_sha256, uint8_t out[64]);

#endif
