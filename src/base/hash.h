/* SHA-2 helpers over OpenSSL's EVP interface. Digest sizes are fixed. */
#ifndef CCAI_BASE_HASH_H
#define CCAI_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum { CCAI_SHA256_LEN = 32, CCAI_SHA384_LEN = 48, CCAI_SHA512_LEN = 64 };

void ccai_sha256(const void *data, size_t len, uint8_t out[32]);
void ccai_sha384(const void *data, size_t len, uint8_t out[48]);
void ccai_sha512(const void *data, size_t len, uint8_t out[64]);

/* The measurement-register extend: reg = SHA-384(reg || digest). */
void ccai_sha384_extend(uint8_t reg[48], const uint8_t digest[48]);

/* SHA-256 of a whole file, streamed (model files are many GiB). */
ccai_code ccai_sha256_file(const char *path, uint8_t out[32], ccai_err *err);

#endif
