/* Memory: allocation that never returns NULL, growable byte buffers,
 * little-endian loads and stores, and wiping of secrets.
 *
 * Allocation failure aborts the process with a message (like Redis's
 * zmalloc): every caller would otherwise need a path it can never test. */
#ifndef CCAI_BASE_MEM_H
#define CCAI_BASE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *ccai_xmalloc(size_t n);
void *ccai_xcalloc(size_t count, size_t size);
void *ccai_xrealloc(void *p, size_t n);
char *ccai_xstrdup(const char *s);
char *ccai_xstrndup(const char *s, size_t n);
void *ccai_xmemdup(const void *p, size_t n);
/* printf into a fresh allocation; the caller frees. */
char *ccai_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Overwrites n bytes so the compiler cannot drop it (OPENSSL_cleanse). */
void ccai_wipe(void *p, size_t n);
/* Constant-time equality of two n-byte regions. */
bool ccai_ct_equal(const void *a, const void *b, size_t n);

/* A growable byte buffer. Owns data; free with ccai_buf_free. */
typedef struct ccai_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} ccai_buf;

void ccai_buf_reserve(ccai_buf *b, size_t extra);
void ccai_buf_append(ccai_buf *b, const void *p, size_t n);
void ccai_buf_append_str(ccai_buf *b, const char *s);
void ccai_buf_zeros(ccai_buf *b, size_t n);
void ccai_buf_u8(ccai_buf *b, uint8_t v);
void ccai_buf_u16le(ccai_buf *b, uint16_t v);
void ccai_buf_u32le(ccai_buf *b, uint32_t v);
void ccai_buf_u64le(ccai_buf *b, uint64_t v);
/* Hands the bytes to the caller (who frees them) and resets the buffer. */
uint8_t *ccai_buf_steal(ccai_buf *b, size_t *len);
void ccai_buf_free(ccai_buf *b);

static inline uint16_t ccai_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ccai_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t ccai_le64(const uint8_t *p)
{
    return (uint64_t)ccai_le32(p) | ((uint64_t)ccai_le32(p + 4) << 32);
}
static inline void ccai_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void ccai_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ccai_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#endif
