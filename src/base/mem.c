/* Allocation, buffers and wiping: see mem.h. */
#include "base/mem.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t n)
{
    fprintf(stderr, "ccai: out of memory allocating %zu bytes\n", n);
    abort();
}

void *ccai_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *ccai_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *ccai_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *ccai_xstrdup(const char *s)
{
    return ccai_xmemdup(s, strlen(s) + 1);
}

char *ccai_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = ccai_xmalloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void *ccai_xmemdup(const void *p, size_t n)
{
    void *d = ccai_xmalloc(n);
    if (n)
        memcpy(d, p, n);
    return d;
}

char *ccai_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory(0);
    char *s = ccai_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void ccai_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

bool ccai_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void ccai_buf_reserve(ccai_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        out_of_memory(SIZE_MAX);
    size_t need = b->len + extra;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->data = ccai_xrealloc(b->data, cap);
    b->cap = cap;
}

void ccai_buf_append(ccai_buf *b, const void *p, size_t n)
{
    if (!n)
        return;
    ccai_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void ccai_buf_append_str(ccai_buf *b, const char *s)
{
    ccai_buf_append(b, s, strlen(s));
}

void ccai_buf_zeros(ccai_buf *b, size_t n)
{
    ccai_buf_reserve(b, n);
    memset(b->data + b->len, 0, n);
    b->len += n;
}

void ccai_buf_u8(ccai_buf *b, uint8_t v)
{
    ccai_buf_append(b, &v, 1);
}

void ccai_buf_u16le(ccai_buf *b, uint16_t v)
{
    uint8_t t[2];
    ccai_put_le16(t, v);
    ccai_buf_append(b, t, 2);
}

void ccai_buf_u32le(ccai_buf *b, uint32_t v)
{
    uint8_t t[4];
    ccai_put_le32(t, v);
    ccai_buf_append(b, t, 4);
}

void ccai_buf_u64le(ccai_buf *b, uint64_t v)
{
    uint8_t t[8];
    ccai_put_le64(t, v);
    ccai_buf_append(b, t, 8);
}

uint8_t *ccai_buf_steal(ccai_buf *b, size_t *len)
{
    uint8_t *d = b->data ? b->data : ccai_xmalloc(1);
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void ccai_buf_free(ccai_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
