/* Text encodings of bytes: hex (either case in, lower case out) and base64
 * (standard and URL-safe alphabets, padded or not on input). Decoders reject
 * any character outside the alphabet and say where it was. */
#ifndef CCAI_BASE_CODEC_H
#define CCAI_BASE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Writes 2n lower-case hex digits and a NUL to out (2n+1 bytes). */
void ccai_hex_encode(const uint8_t *in, size_t n, char *out);
/* Returns a fresh lower-case hex string; the caller frees. */
char *ccai_hex_dup(const uint8_t *in, size_t n);
/* The value of one hex digit (either case), or -1. */
int ccai_hex_digit(char c);
/* Decodes exactly want bytes from s (which must hold exactly 2*want digits). */
ccai_code ccai_hex_decode_exact(const char *s, uint8_t *out, size_t want, ccai_err *err);
/* Decodes any even-length hex string into a fresh buffer; the caller frees *out. */
ccai_code ccai_hex_decode_alloc(const char *s, size_t slen, uint8_t **out, size_t *outlen,
                                ccai_err *err);

typedef enum { CCAI_B64_STD, CCAI_B64_URL } ccai_b64_alphabet;

/* Returns a fresh NUL-terminated string. STD is padded, URL is not (RFC 4648 §5
 * as used by JOSE); the caller frees. */
char *ccai_b64_encode(const uint8_t *in, size_t n, ccai_b64_alphabet alpha);
/* Decodes s (padding optional, no white space) in the given alphabet into a
 * fresh buffer; the caller frees *out. */
ccai_code ccai_b64_decode(const char *s, size_t slen, ccai_b64_alphabet alpha, uint8_t **out,
                          size_t *outlen, ccai_err *err);

#endif
