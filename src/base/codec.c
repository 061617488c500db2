/* Hex and base64 codecs: see codec.h. */
#include "base/codec.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static const char hexdig[] = "0123456789abcdef";

void ccai_hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[in[i] >> 4];
        out[2 * i + 1] = hexdig[in[i] & 15];
    }
    out[2 * n] = '\0';
}

char *ccai_hex_dup(const uint8_t *in, size_t n)
{
    char *s = ccai_xmalloc(2 * n + 1);
    ccai_hex_encode(in, n, s);
    return s;
}

int ccai_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static ccai_code hex_decode(const char *s, size_t slen, uint8_t *out, ccai_err *err)
{
    for (size_t i = 0; i < slen / 2; i++) {
        int hi = ccai_hex_digit(s[2 * i]), lo = ccai_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ccai_fail(err, CCAI_ERR_PARSE, "not a hex digit at position %zu",
                             hi < 0 ? 2 * i : 2 * i + 1);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return CCAI_OK;
}

ccai_code ccai_hex_decode_exact(const char *s, uint8_t *out, size_t want, ccai_err *err)
{
    size_t slen = strlen(s);
    if (slen != 2 * want)
        return ccai_fail(err, CCAI_ERR_PARSE, "expected %zu hex digits (%zu bytes), found %zu",
                         2 * want, want, slen);
    return hex_decode(s, slen, out, err);
}

ccai_code ccai_hex_decode_alloc(const char *s, size_t slen, uint8_t **out, size_t *outlen,
                                ccai_err *err)
{
    if (slen % 2)
        return ccai_fail(err, CCAI_ERR_PARSE, "odd number of hex digits (%zu)", slen);
    uint8_t *b = ccai_xmalloc(slen / 2);
    ccai_code rc = hex_decode(s, slen, b, err);
    if (rc) {
        free(b);
        return rc;
    }
    *out = b;
    *outlen = slen / 2;
    return CCAI_OK;
}

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *ccai_b64_encode(const uint8_t *in, size_t n, ccai_b64_alphabet alpha)
{
    const char *tab = alpha == CCAI_B64_URL ? b64url : b64std;
    char *out = ccai_xmalloc((n + 2) / 3 * 4 + 1);
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i) {
        uint32_t v = (uint32_t)in[i] << 16 | (n - i == 2 ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        if (n - i == 2)
            out[o++] = tab[(v >> 6) & 63];
        if (alpha == CCAI_B64_STD) {
            if (n - i == 1)
                out[o++] = '=';
            out[o++] = '=';
        }
    }
    out[o] = '\0';
    return out;
}

static int b64val(char c, ccai_b64_alphabet alpha)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (alpha == CCAI_B64_STD ? c == '+' : c == '-')
        return 62;
    if (alpha == CCAI_B64_STD ? c == '/' : c == '_')
        return 63;
    return -1;
}

ccai_code ccai_b64_decode(const char *s, size_t slen, ccai_b64_alphabet alpha, uint8_t **out,
                          size_t *outlen, ccai_err *err)
{
    size_t n = slen;
    while (n > 0 && s[n - 1] == '=' && slen - n < 2)
        n--;
    if (n != slen && slen % 4)
        return ccai_fail(err, CCAI_ERR_PARSE, "base64: padded length %zu is not a multiple of 4",
                         slen);
    if (n % 4 == 1)
        return ccai_fail(err, CCAI_ERR_PARSE, "base64: impossible length %zu", n);
    uint8_t *b = ccai_xmalloc(n / 4 * 3 + 3);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i], alpha);
        if (v < 0) {
            free(b);
            return ccai_fail(err, CCAI_ERR_PARSE, "base64%s: invalid character 0x%02x at position %zu",
                             alpha == CCAI_B64_URL ? "url" : "", (unsigned char)s[i], i);
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, or two encodings would decode alike. */
    if (bits && (acc & ((1u << bits) - 1))) {
        free(b);
        return ccai_fail(err, CCAI_ERR_PARSE, "base64: non-zero padding bits");
    }
    *out = b;
    *outlen = o;
    return CCAI_OK;
}
