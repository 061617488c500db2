/* GGUF v3 writer: see gguf_write.h. Each metadata value is encoded when it is
 * set, so writing is concatenation: header, key/values, tensor infos, zero
 * padding to the alignment, tensor data. The writer checks what the parser
 * checks (keys, names, shapes, sizes), so its output always parses. */
#include "llm/gguf_write.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "llm/ggml_types.h"

enum {
    MAX_KEY_LEN = 65535, /* the GGUF spec's limit, as the parser enforces */
    MAX_NAME_LEN = 255,  /* the parser's limit on tensor names */
    DEFAULT_ALIGNMENT = 32,
};

typedef struct wkv {
    char *key;
    gguf_type type;
    ccai_buf val; /* the value's encoding, without its type */
} wkv;

typedef struct wtensor {
    char *name;
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[4];
    uint8_t *data;
    size_t size;
} wtensor;

struct gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
    ccai_err err; /* the first misuse; code CCAI_OK while there is none */
};

static void misuse(gguf_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void misuse(gguf_writer *w, const char *fmt, ...)
{
    if (w->err.code != CCAI_OK)
        return;
    w->err.code = CCAI_ERR_ARG;
    int n = snprintf(w->err.msg, sizeof w->err.msg, "gguf writer: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err.msg + n, sizeof w->err.msg - (size_t)n, fmt, ap);
    va_end(ap);
}

gguf_writer *gguf_writer_new(void)
{
    return ccai_xcalloc(1, sizeof(gguf_writer));
}

void gguf_writer_free(gguf_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        ccai_buf_free(&w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->kv);
    free(w->t);
    free(w);
}

/* The value buffer for key, emptied: an existing key keeps its position. NULL
 * (and a recorded misuse) for a key the parser would reject. */
static ccai_buf *slot(gguf_writer *w, const char *key, gguf_type type)
{
    size_t kl = key ? strlen(key) : 0;
    if (kl == 0 || kl > MAX_KEY_LEN) {
        misuse(w, "key length %zu, expected 1 to %d", kl, MAX_KEY_LEN);
        return NULL;
    }
    for (size_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0) {
            w->kv[i].type = type;
            w->kv[i].val.len = 0;
            return &w->kv[i].val;
        }
    if (w->n_kv == w->cap_kv) {
        w->cap_kv = w->cap_kv ? 2 * w->cap_kv : 16;
        w->kv = ccai_xrealloc(w->kv, w->cap_kv * sizeof *w->kv);
    }
    wkv *kv = &w->kv[w->n_kv++];
    *kv = (wkv){ccai_xstrdup(key), type, {0}};
    return &kv->val;
}

static void put_str(ccai_buf *b, const char *s, size_t n)
{
    ccai_buf_u64le(b, n);
    ccai_buf_append(b, s, n);
}

void gguf_writer_set_u8(gguf_writer *w, const char *key, uint8_t v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_UINT8);
    if (b)
        ccai_buf_u8(b, v);
}

void gguf_writer_set_i8(gguf_writer *w, const char *key, int8_t v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_INT8);
    if (b)
        ccai_buf_u8(b, (uint8_t)v);
}

void gguf_writer_set_u16(gguf_writer *w, const char *key, uint16_t v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_UINT16);
    if (b)
        ccai_buf_u16le(b, v);
}

void gguf_writer_set_i16(gguf_writer *w, const char *key, int16_t v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_INT16);
    if (b)
        ccai_buf_u16le(b, (uint16_t)v);
}

void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_UINT32);
    if (b)
        ccai_buf_u32le(b, v);
}

void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_INT32);
    if (b)
        ccai_buf_u32le(b, (uint32_t)v);
}

void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_UINT64);
    if (b)
        ccai_buf_u64le(b, v);
}

void gguf_writer_set_i64(gguf_writer *w, const char *key, int64_t v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_INT64);
    if (b)
        ccai_buf_u64le(b, (uint64_t)v);
}

static uint32_t f32_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static uint64_t f64_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

void gguf_writer_set_f32(gguf_writer *w, const char *key, float v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_FLOAT32);
    if (b)
        ccai_buf_u32le(b, f32_bits(v));
}

void gguf_writer_set_f64(gguf_writer *w, const char *key, double v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_FLOAT64);
    if (b)
        ccai_buf_u64le(b, f64_bits(v));
}

void gguf_writer_set_bool(gguf_writer *w, const char *key, bool v)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_BOOL);
    if (b)
        ccai_buf_u8(b, v ? 1 : 0);
}

void gguf_writer_set_str(gguf_writer *w, const char *key, const char *s)
{
    gguf_writer_set_strn(w, key, s, strlen(s));
}

void gguf_writer_set_strn(gguf_writer *w, const char *key, const char *s, size_t n)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_STRING);
    if (b)
        put_str(b, s, n);
}

/* Elements of a native C array, little-endian. memcpy reads each one, so the
 * caller's array may be unaligned. */
static bool encode_elems(ccai_buf *b, gguf_type t, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        switch (t) {
        case GGUF_TYPE_UINT8:
        case GGUF_TYPE_INT8: ccai_buf_u8(b, p[i]); break;
        case GGUF_TYPE_BOOL: {
            bool v;
            memcpy(&v, p + i * sizeof v, sizeof v);
            ccai_buf_u8(b, v ? 1 : 0);
            break;
        }
        case GGUF_TYPE_UINT16:
        case GGUF_TYPE_INT16: {
            uint16_t v;
            memcpy(&v, p + 2 * i, 2);
            ccai_buf_u16le(b, v);
            break;
        }
        case GGUF_TYPE_UINT32:
        case GGUF_TYPE_INT32:
        case GGUF_TYPE_FLOAT32: {
            uint32_t v;
            memcpy(&v, p + 4 * i, 4);
            ccai_buf_u32le(b, v);
            break;
        }
        case GGUF_TYPE_UINT64:
        case GGUF_TYPE_INT64:
        case GGUF_TYPE_FLOAT64: {
            uint64_t v;
            memcpy(&v, p + 8 * i, 8);
            ccai_buf_u64le(b, v);
            break;
        }
        case GGUF_TYPE_STRING: {
            const char *const *s = data;
            put_str(b, s[i], strlen(s[i]));
            break;
        }
        default: return false;
        }
    }
    return true;
}

static bool elem_type_ok(gguf_type t)
{
    return t <= GGUF_TYPE_FLOAT64 && t != GGUF_TYPE_ARRAY;
}

bool gguf_writer_encode_arr(ccai_buf *b, gguf_type elem_type, const void *data, size_t n)
{
    if (!elem_type_ok(elem_type))
        return false;
    ccai_buf_u32le(b, elem_type);
    ccai_buf_u64le(b, n);
    return encode_elems(b, elem_type, data, n);
}

void gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_type elem_type, const void *data,
                         size_t n)
{
    if (!elem_type_ok(elem_type)) {
        misuse(w, "metadata '%s': gguf_writer_set_arr cannot write elements of type %u (nested "
                  "arrays go through gguf_writer_set_arr_raw)",
               key ? key : "(null)", (unsigned)elem_type);
        return;
    }
    ccai_buf *b = slot(w, key, GGUF_TYPE_ARRAY);
    if (b)
        gguf_writer_encode_arr(b, elem_type, data, n);
}

void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs, size_t n)
{
    gguf_writer_set_arr(w, key, GGUF_TYPE_STRING, strs, n);
}

void gguf_writer_set_arr_strn(gguf_writer *w, const char *key, const char *const *strs,
                              const size_t *lens, size_t n)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_ARRAY);
    if (!b)
        return;
    ccai_buf_u32le(b, GGUF_TYPE_STRING);
    ccai_buf_u64le(b, n);
    for (size_t i = 0; i < n; i++)
        put_str(b, strs[i], lens[i]);
}

void gguf_writer_set_arr_raw(gguf_writer *w, const char *key, gguf_type elem_type,
                             uint64_t count, const void *elems, size_t len)
{
    ccai_buf *b = slot(w, key, GGUF_TYPE_ARRAY);
    if (!b)
        return;
    ccai_buf_u32le(b, elem_type);
    ccai_buf_u64le(b, count);
    ccai_buf_append(b, elems, len);
}

static bool tensor_size(uint32_t type, uint32_t n_dims, const uint64_t *ne, size_t *size)
{
    uint64_t rows = 1;
    for (uint32_t d = 1; d < n_dims; d++)
        if (__builtin_mul_overflow(rows, ne[d], &rows))
            return false;
    size_t row;
    uint64_t total;
    if (!ggml_row_bytes(type, ne[0], &row) || __builtin_mul_overflow((uint64_t)row, rows, &total) ||
        total > SIZE_MAX)
        return false;
    *size = (size_t)total;
    return true;
}

void gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                            const uint64_t *ne, const void *data, size_t size)
{
    size_t nl = name ? strlen(name) : 0;
    if (nl == 0 || nl > MAX_NAME_LEN) {
        misuse(w, "tensor name length %zu, expected 1 to %d", nl, MAX_NAME_LEN);
        return;
    }
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0) {
            misuse(w, "tensor '%s' added twice", name);
            return;
        }
    if (n_dims < 1 || n_dims > 4) {
        misuse(w, "tensor '%s': n_dims %" PRIu32 ", expected 1 to 4", name, n_dims);
        return;
    }
    for (uint32_t d = 0; d < n_dims; d++)
        if (ne[d] == 0) {
            misuse(w, "tensor '%s': dimension %" PRIu32 " is 0", name, d);
            return;
        }
    size_t want;
    if (!ggml_type_known(type) || !tensor_size(type, n_dims, ne, &want)) {
        misuse(w, "tensor '%s': no byte size for type %" PRIu32 " (%s) with row length %" PRIu64,
               name, type, ggml_type_name(type), ne[0]);
        return;
    }
    if (size != want) {
        misuse(w, "tensor '%s': %zu bytes of data, expected %zu for its %s shape", name, size,
               want, ggml_type_name(type));
        return;
    }
    if (w->n_t == w->cap_t) {
        w->cap_t = w->cap_t ? 2 * w->cap_t : 16;
        w->t = ccai_xrealloc(w->t, w->cap_t * sizeof *w->t);
    }
    wtensor *t = &w->t[w->n_t++];
    *t = (wtensor){ccai_xstrdup(name), type, n_dims, {1, 1, 1, 1},
                   data ? ccai_xmemdup(data, size) : ccai_xcalloc(1, size), size};
    memcpy(t->ne, ne, n_dims * sizeof *ne);
}

/* general.alignment when set, which must then be a u32 power of two. */
static ccai_code alignment(const gguf_writer *w, size_t *out, ccai_err *err)
{
    *out = DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, "general.alignment") != 0)
            continue;
        if (w->kv[i].type != GGUF_TYPE_UINT32)
            return ccai_fail(err, CCAI_ERR_ARG,
                             "gguf writer: general.alignment must be a uint32, found %s",
                             gguf_type_name(w->kv[i].type));
        uint32_t a = ccai_le32(w->kv[i].val.data);
        if (a == 0 || (a & (a - 1)) != 0)
            return ccai_fail(err, CCAI_ERR_ARG,
                             "gguf writer: general.alignment must be a power of two, found %" PRIu32,
                             a);
        *out = a;
    }
    return CCAI_OK;
}

static void pad_to(ccai_buf *b, size_t align)
{
    ccai_buf_zeros(b, (align - b->len % align) % align);
}

ccai_code gguf_writer_to_buffer(gguf_writer *w, uint8_t **out, size_t *len, ccai_err *err)
{
    *out = NULL;
    *len = 0;
    if (w->err.code != CCAI_OK)
        return ccai_fail(err, w->err.code, "%s", w->err.msg);
    size_t align;
    if (alignment(w, &align, err))
        return CCAI_ERR_ARG;
    ccai_buf b = {0};
    ccai_buf_append(&b, "GGUF", 4);
    ccai_buf_u32le(&b, 3);
    ccai_buf_u64le(&b, w->n_t);
    ccai_buf_u64le(&b, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_str(&b, w->kv[i].key, strlen(w->kv[i].key));
        ccai_buf_u32le(&b, w->kv[i].type);
        ccai_buf_append(&b, w->kv[i].val.data, w->kv[i].val.len);
    }
    size_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        off += (align - off % align) % align;
        put_str(&b, t->name, strlen(t->name));
        ccai_buf_u32le(&b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            ccai_buf_u64le(&b, t->ne[d]);
        ccai_buf_u32le(&b, t->type);
        ccai_buf_u64le(&b, off);
        off += t->size;
    }
    /* No padding after the last tensor, nor after the infos of a file
     * without tensors: nothing follows, and the parser accepts both. */
    if (w->n_t > 0)
        pad_to(&b, align);
    size_t data_start = b.len;
    for (size_t i = 0; i < w->n_t; i++) {
        ccai_buf_zeros(&b, (align - (b.len - data_start) % align) % align);
        ccai_buf_append(&b, w->t[i].data, w->t[i].size);
    }
    *out = ccai_buf_steal(&b, len);
    return CCAI_OK;
}

ccai_code gguf_writer_write(gguf_writer *w, const char *path, ccai_err *err)
{
    uint8_t *data;
    size_t len;
    ccai_code rc = gguf_writer_to_buffer(w, &data, &len, err);
    if (rc)
        return rc;
    rc = ccai_write_file_atomic(path, data, len, 0644, err);
    free(data);
    if (!rc)
        ccai_drop_cached(path); /* read back in 2 MiB pages (gguf_open) */
    return rc;
}
