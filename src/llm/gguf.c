/* GGUF loader (llm-facts §1): see gguf.h for the contract.
 *
 * The file is untrusted. Every read goes through a cursor that knows how many
 * bytes are left, and every count is compared with those bytes before anything
 * is allocated or walked, so a header that claims 2^60 entries fails at once
 * with a message instead of trying to allocate. Sizes derived from tensor
 * shapes are computed with overflow checks. Every rejection names the field,
 * key or tensor and the byte offset where it was found. */
#include "llm/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "llm/ggml_types.h"

enum {
    MAX_ARRAY_DEPTH = 4,   /* an array of arrays nests at most this deep */
    MAX_KEY_LEN = 65535,   /* the GGUF spec's limit on keys */
    MAX_NAME_LEN = 255,    /* ggml caps tensor names at 63 bytes; leave room */
    MIN_KV_BYTES = 13,     /* key length, value type and a 1-byte value */
    MIN_TENSOR_BYTES = 32, /* name length, n_dims, one dim, type, offset */
    DEFAULT_ALIGNMENT = 32,
    WHAT_LEN = 128,
};

/* Reads from the buffer, never past its end. */
typedef struct cursor {
    const uint8_t *p;
    size_t len;
    size_t pos;
    ccai_err *err;
} cursor;

static size_t left(const cursor *c)
{
    return c->len - c->pos;
}

static ccai_code need(cursor *c, size_t n, const char *what)
{
    if (left(c) < n)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: %s at offset %zu: need %zu bytes, only %zu left in the %zu-byte file",
                         what, c->pos, n, left(c), c->len);
    return CCAI_OK;
}

static ccai_code rd_u32(cursor *c, const char *what, uint32_t *v)
{
    if (need(c, 4, what))
        return CCAI_ERR_PARSE;
    *v = ccai_le32(c->p + c->pos);
    c->pos += 4;
    return CCAI_OK;
}

static ccai_code rd_u64(cursor *c, const char *what, uint64_t *v)
{
    if (need(c, 8, what))
        return CCAI_ERR_PARSE;
    *v = ccai_le64(c->p + c->pos);
    c->pos += 8;
    return CCAI_OK;
}

/* A u64 length and that many bytes, at most max of them. */
static ccai_code rd_str(cursor *c, const char *what, uint64_t max, gguf_str *s)
{
    size_t at = c->pos;
    uint64_t n;
    if (rd_u64(c, what, &n))
        return CCAI_ERR_PARSE;
    if (n > left(c))
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: %s at offset %zu: string length %" PRIu64
                         " exceeds the %zu bytes left",
                         what, at, n, left(c));
    if (n > max)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: %s at offset %zu: string length %" PRIu64
                         " exceeds the limit of %" PRIu64,
                         what, at, n, max);
    s->ptr = (const char *)(c->p + c->pos);
    s->len = n;
    c->pos += (size_t)n;
    return CCAI_OK;
}

/* Names and keys come from the file: show at most 64 bytes of them in a
 * message, with anything unprintable replaced, so an error cannot carry
 * terminal escapes or run on for kilobytes. */
static const char *printable(gguf_str s, char buf[72])
{
    size_t n = s.len < 64 ? (size_t)s.len : 64, o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        buf[o++] = ch >= 0x20 && ch < 0x7f && ch != '\'' ? (char)ch : '?';
    }
    if (s.len > 64) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* Bytes of one element of a fixed-size type; 0 for strings and arrays. */
static size_t scalar_size(uint32_t t)
{
    static const uint8_t size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < sizeof size ? size[t] : 0;
}

static ccai_code check_type(cursor *c, size_t at, uint32_t t, const char *role, const char *what)
{
    if (t > GGUF_TYPE_FLOAT64)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: %s at offset %zu: unknown %s type %" PRIu32 " (expected 0 to 12)",
                         what, at, role, t);
    return CCAI_OK;
}

static ccai_code check_bool(cursor *c, size_t at, uint8_t b, const char *what)
{
    if (b > 1)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: %s at offset %zu: bool byte is %u, expected 0 or 1", what, at, b);
    return CCAI_OK;
}

/* A fixed-size value already known to fit. */
static void decode_scalar(const uint8_t *p, gguf_type t, gguf_value *v)
{
    v->type = t;
    switch (t) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_BOOL: v->u = p[0]; break;
    case GGUF_TYPE_INT8: v->i = (int8_t)p[0]; break;
    case GGUF_TYPE_UINT16: v->u = ccai_le16(p); break;
    case GGUF_TYPE_INT16: v->i = (int16_t)ccai_le16(p); break;
    case GGUF_TYPE_UINT32: v->u = ccai_le32(p); break;
    case GGUF_TYPE_INT32: v->i = (int32_t)ccai_le32(p); break;
    case GGUF_TYPE_UINT64: v->u = ccai_le64(p); break;
    case GGUF_TYPE_INT64: v->i = (int64_t)ccai_le64(p); break;
    case GGUF_TYPE_FLOAT32: {
        uint32_t bits = ccai_le32(p);
        float x;
        memcpy(&x, &bits, sizeof x);
        v->f = x;
        break;
    }
    case GGUF_TYPE_FLOAT64: {
        uint64_t bits = ccai_le64(p);
        memcpy(&v->f, &bits, sizeof v->f);
        break;
    }
    default: break;
    }
}

/* The body of an array value (element type, count, elements). depth counts
 * the arrays around the elements, 1 for a top-level array. No allocation:
 * the elements are walked in place after their count has been bounded. */
static ccai_code parse_array(cursor *c, int depth, gguf_value *v, const char *what)
{
    size_t at = c->pos;
    uint32_t et;
    uint64_t count;
    if (rd_u32(c, what, &et) || check_type(c, at, et, "array element", what))
        return CCAI_ERR_PARSE;
    if (et == GGUF_TYPE_ARRAY && depth >= MAX_ARRAY_DEPTH)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: %s at offset %zu: arrays nested deeper than %d levels", what, at,
                         MAX_ARRAY_DEPTH);
    size_t count_at = c->pos;
    if (rd_u64(c, what, &count))
        return CCAI_ERR_PARSE;
    /* The smallest an element can be: a string is at least its length, an
     * array at least its type and count. */
    size_t min = scalar_size(et) ? scalar_size(et) : et == GGUF_TYPE_STRING ? 8 : 12;
    if (count > left(c) / min)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: %s at offset %zu: array count %" PRIu64
                         " of %s elements exceeds the %zu bytes left (at most %zu fit)",
                         what, count_at, count, gguf_type_name((gguf_type)et), left(c),
                         left(c) / min);
    size_t start = c->pos;
    if (scalar_size(et)) {
        if (et == GGUF_TYPE_BOOL)
            for (size_t i = 0; i < count; i++)
                if (check_bool(c, start + i, c->p[start + i], what))
                    return CCAI_ERR_PARSE;
        c->pos += (size_t)count * min;
    } else {
        for (uint64_t i = 0; i < count; i++) {
            gguf_value inner;
            gguf_str s;
            ccai_code rc = et == GGUF_TYPE_STRING ? rd_str(c, what, UINT64_MAX, &s)
                                                  : parse_array(c, depth + 1, &inner, what);
            if (rc)
                return rc;
        }
    }
    v->type = GGUF_TYPE_ARRAY;
    v->arr.elem_type = (gguf_type)et;
    v->arr.count = count;
    v->arr.data = c->p + start;
    v->arr.data_len = c->pos - start;
    return CCAI_OK;
}

static ccai_code parse_value(cursor *c, gguf_type t, gguf_value *v, const char *what)
{
    if (t == GGUF_TYPE_STRING) {
        v->type = t;
        return rd_str(c, what, UINT64_MAX, &v->s);
    }
    if (t == GGUF_TYPE_ARRAY)
        return parse_array(c, 1, v, what);
    size_t n = scalar_size(t);
    if (need(c, n, what))
        return CCAI_ERR_PARSE;
    if (t == GGUF_TYPE_BOOL && check_bool(c, c->pos, c->p[c->pos], what))
        return CCAI_ERR_PARSE;
    decode_scalar(c->p + c->pos, t, v);
    c->pos += n;
    return CCAI_OK;
}

/* Offset of a string's length field, for messages about what it names. */
static size_t str_offset(const gguf_file *f, gguf_str s)
{
    return (size_t)((const uint8_t *)s.ptr - f->base) - 8;
}

/* A name and where it came from, for finding duplicates by sorting. */
typedef struct name_ref {
    gguf_str s;
    uint64_t idx;
} name_ref;

static int cmp_name_ref(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    size_t n = x->s.len < y->s.len ? (size_t)x->s.len : (size_t)y->s.len;
    int r = n ? memcmp(x->s.ptr, y->s.ptr, n) : 0;
    if (r)
        return r;
    if (x->s.len != y->s.len)
        return x->s.len < y->s.len ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Whether two of the n names first[0], first[stride bytes on], ... (the key
 * or name field of an entry array) are equal; if so, *a < *b index one such
 * pair. Sorting keeps this O(n log n): a file may hold 10^5 keys. */
static bool find_duplicate(const gguf_str *first, size_t stride, uint64_t n, uint64_t *a,
                           uint64_t *b)
{
    name_ref *refs = ccai_xmalloc((size_t)n * sizeof *refs);
    for (uint64_t i = 0; i < n; i++)
        refs[i] = (name_ref){*(const gguf_str *)((const uint8_t *)first + i * stride), i};
    qsort(refs, (size_t)n, sizeof *refs, cmp_name_ref);
    bool dup = false;
    for (uint64_t i = 1; i < n && !dup; i++) {
        dup = refs[i].s.len == refs[i - 1].s.len &&
              (refs[i].s.len == 0 || memcmp(refs[i].s.ptr, refs[i - 1].s.ptr, refs[i].s.len) == 0);
        *a = refs[i - 1].idx;
        *b = refs[i].idx;
    }
    free(refs);
    return dup;
}

static ccai_code parse_header(cursor *c, gguf_file *f)
{
    if (need(c, 4, "magic"))
        return CCAI_ERR_PARSE;
    const uint8_t *m = c->p;
    if (memcmp(m, "GGUF", 4) != 0)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: magic at offset 0: expected \"GGUF\" (47 47 55 46), found "
                         "%02x %02x %02x %02x",
                         m[0], m[1], m[2], m[3]);
    c->pos = 4;
    if (rd_u32(c, "version", &f->version))
        return CCAI_ERR_PARSE;
    if (f->version != 2 && f->version != 3) {
        /* A big-endian file shows its version byte-swapped. */
        bool swapped = f->version == 0x02000000u || f->version == 0x03000000u;
        return ccai_fail(c->err, CCAI_ERR_UNSUPPORTED,
                         "gguf: version at offset 4: expected 2 or 3, found %" PRIu32 "%s",
                         f->version, swapped ? " (a big-endian file, not supported)" : "");
    }
    if (rd_u64(c, "tensor count", &f->n_tensors) || rd_u64(c, "metadata count", &f->n_kv))
        return CCAI_ERR_PARSE;
    /* Fail fast on absurd counts; the exact bounds are applied again when
     * each table is allocated, against the bytes left at that point. */
    if (f->n_kv > left(c) / MIN_KV_BYTES)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: metadata count at offset 16: %" PRIu64
                         " entries cannot fit in the %zu bytes left (at most %zu)",
                         f->n_kv, left(c), left(c) / MIN_KV_BYTES);
    if (f->n_tensors > left(c) / MIN_TENSOR_BYTES)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: tensor count at offset 8: %" PRIu64
                         " tensors cannot fit in the %zu bytes left (at most %zu)",
                         f->n_tensors, left(c), left(c) / MIN_TENSOR_BYTES);
    return CCAI_OK;
}

static ccai_code parse_kvs(cursor *c, gguf_file *f)
{
    f->kv = ccai_xcalloc((size_t)f->n_kv, sizeof *f->kv);
    char what[WHAT_LEN], name[72];
    for (uint64_t i = 0; i < f->n_kv; i++) {
        gguf_kv *kv = &f->kv[i];
        size_t at = c->pos;
        snprintf(what, sizeof what, "key of metadata %" PRIu64, i);
        if (rd_str(c, what, MAX_KEY_LEN, &kv->key))
            return CCAI_ERR_PARSE;
        if (kv->key.len == 0)
            return ccai_fail(c->err, CCAI_ERR_PARSE, "gguf: %s at offset %zu: empty key", what,
                             at);
        snprintf(what, sizeof what, "metadata '%s'", printable(kv->key, name));
        size_t type_at = c->pos;
        uint32_t t;
        if (rd_u32(c, what, &t) || check_type(c, type_at, t, "value", what) ||
            parse_value(c, (gguf_type)t, &kv->val, what))
            return CCAI_ERR_PARSE;
    }
    uint64_t a, b;
    if (find_duplicate(&f->kv[0].key, sizeof *f->kv, f->n_kv, &a, &b))
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: duplicate key '%s' at offset %zu (metadata %" PRIu64
                         " repeats metadata %" PRIu64 ")",
                         printable(f->kv[b].key, name), str_offset(f, f->kv[b].key), b, a);
    return CCAI_OK;
}

static ccai_code parse_alignment(cursor *c, gguf_file *f)
{
    f->alignment = DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find(f, "general.alignment");
    if (!kv)
        return CCAI_OK;
    uint32_t a;
    ccai_code rc = gguf_get_u32(f, "general.alignment", &a, c->err);
    if (rc)
        return rc;
    if (a == 0 || (a & (a - 1)) != 0)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: metadata 'general.alignment' at offset %zu: expected a power of "
                         "two, found %" PRIu32,
                         str_offset(f, kv->key), a);
    f->alignment = a;
    return CCAI_OK;
}

/* The shape: 1 to 4 dimensions, none zero, and an element count that fits
 * int64 (ggml's ne type). */
static ccai_code parse_shape(cursor *c, gguf_tensor *t, const char *what)
{
    size_t at = c->pos;
    if (rd_u32(c, what, &t->n_dims))
        return CCAI_ERR_PARSE;
    if (t->n_dims < 1 || t->n_dims > 4)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: %s at offset %zu: n_dims is %" PRIu32 ", expected 1 to 4", what,
                         at, t->n_dims);
    uint64_t n = 1;
    for (uint32_t d = 0; d < 4; d++)
        t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        at = c->pos;
        if (rd_u64(c, what, &t->ne[d]))
            return CCAI_ERR_PARSE;
        if (t->ne[d] == 0)
            return ccai_fail(c->err, CCAI_ERR_PARSE,
                             "gguf: %s at offset %zu: dimension %" PRIu32 " is 0", what, at, d);
        if (__builtin_mul_overflow(n, t->ne[d], &n) || n > INT64_MAX)
            return ccai_fail(c->err, CCAI_ERR_PARSE,
                             "gguf: %s at offset %zu: element count overflows at dimension %" PRIu32
                             " (%" PRIu64 ")",
                             what, at, d, t->ne[d]);
    }
    t->n_elements = n;
    return CCAI_OK;
}

/* The ggml type and the byte size it gives the shape. A known type the
 * engine cannot compute with (Q2_K, ...) is kept: the model layer decides. */
static ccai_code parse_type(cursor *c, gguf_tensor *t, const char *what)
{
    size_t at = c->pos;
    if (rd_u32(c, what, &t->type))
        return CCAI_ERR_PARSE;
    if (!ggml_type_known(t->type))
        return ccai_fail(c->err, CCAI_ERR_UNSUPPORTED,
                         "gguf: %s at offset %zu: unknown ggml type %" PRIu32, what, at, t->type);
    size_t row;
    if (t->ne[0] % ggml_blck_size(t->type) != 0)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: %s at offset %zu: row length %" PRIu64
                         " is not a multiple of the %s block size %" PRIu32,
                         what, at, t->ne[0], ggml_type_name(t->type), ggml_blck_size(t->type));
    uint64_t size;
    if (!ggml_row_bytes(t->type, t->ne[0], &row) ||
        __builtin_mul_overflow((uint64_t)row, t->n_elements / t->ne[0], &size) || size > SIZE_MAX)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: %s at offset %zu: byte size of %" PRIu64 " %s elements overflows",
                         what, at, t->n_elements, ggml_type_name(t->type));
    t->size = (size_t)size;
    return CCAI_OK;
}

static ccai_code parse_tensor_infos(cursor *c, gguf_file *f)
{
    if (f->n_tensors > left(c) / MIN_TENSOR_BYTES)
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: tensor infos at offset %zu: %" PRIu64
                         " tensors cannot fit in the %zu bytes left (at most %zu)",
                         c->pos, f->n_tensors, left(c), left(c) / MIN_TENSOR_BYTES);
    f->tensors = ccai_xcalloc((size_t)f->n_tensors, sizeof *f->tensors);
    char what[WHAT_LEN], name[72];
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        size_t at = c->pos;
        snprintf(what, sizeof what, "name of tensor %" PRIu64, i);
        if (rd_str(c, what, MAX_NAME_LEN, &t->name))
            return CCAI_ERR_PARSE;
        if (t->name.len == 0)
            return ccai_fail(c->err, CCAI_ERR_PARSE, "gguf: %s at offset %zu: empty name", what,
                             at);
        snprintf(what, sizeof what, "tensor '%s'", printable(t->name, name));
        ccai_code rc = parse_shape(c, t, what);
        if (!rc)
            rc = parse_type(c, t, what);
        if (rc)
            return rc;
        at = c->pos;
        if (rd_u64(c, what, &t->offset))
            return CCAI_ERR_PARSE;
        if (t->offset % f->alignment != 0)
            return ccai_fail(c->err, CCAI_ERR_PARSE,
                             "gguf: %s at offset %zu: data offset %" PRIu64
                             " is not a multiple of the alignment %" PRIu32,
                             what, at, t->offset, f->alignment);
    }
    uint64_t a, b;
    if (find_duplicate(&f->tensors[0].name, sizeof *f->tensors, f->n_tensors, &a, &b))
        return ccai_fail(c->err, CCAI_ERR_PARSE,
                         "gguf: duplicate tensor name '%s' at offset %zu (tensor %" PRIu64
                         " repeats tensor %" PRIu64 ")",
                         printable(f->tensors[b].name, name), str_offset(f, f->tensors[b].name),
                         b, a);
    return CCAI_OK;
}

static int cmp_by_offset(const void *a, const void *b)
{
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    /* Equal offsets: keep file order, so the message is the same everywhere. */
    return x < y ? -1 : x > y;
}

/* Every tensor's bytes lie in the data section and no two share a byte. */
static ccai_code place_tensors(cursor *c, gguf_file *f)
{
    char name[72], name2[72];
    /* A file without tensors may end right after its infos, before the
     * padding (the vocabulary-only files do). */
    size_t avail = f->data_offset <= f->size ? f->size - f->data_offset : 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        if (t->offset > avail || t->size > avail - t->offset)
            return ccai_fail(c->err, CCAI_ERR_PARSE,
                             "gguf: tensor '%s' (info at offset %zu): data at offset %" PRIu64
                             " with %zu bytes ends past the %zu-byte data section at %zu",
                             printable(t->name, name), str_offset(f, t->name), t->offset, t->size,
                             avail, f->data_offset);
        t->data = f->base + f->data_offset + t->offset;
    }
    if (f->n_tensors < 2)
        return CCAI_OK;
    const gguf_tensor **order = ccai_xmalloc((size_t)f->n_tensors * sizeof *order);
    for (uint64_t i = 0; i < f->n_tensors; i++)
        order[i] = &f->tensors[i];
    qsort(order, (size_t)f->n_tensors, sizeof *order, cmp_by_offset);
    ccai_code rc = CCAI_OK;
    for (uint64_t i = 1; i < f->n_tensors && !rc; i++) {
        const gguf_tensor *a = order[i - 1], *b = order[i];
        if (a->offset + a->size > b->offset)
            rc = ccai_fail(c->err, CCAI_ERR_PARSE,
                           "gguf: tensors '%s' and '%s' overlap: '%s' has data offsets [%" PRIu64
                           ", %" PRIu64 "), '%s' starts at %" PRIu64 " (info at offset %zu)",
                           printable(a->name, name), printable(b->name, name2), name,
                           a->offset, a->offset + a->size, name2, b->offset,
                           str_offset(f, b->name));
    }
    free(order);
    return rc;
}

static ccai_code parse_file(gguf_file *f, ccai_err *err)
{
    cursor c = {f->base, f->size, 0, err};
    ccai_code rc = parse_header(&c, f);
    if (!rc)
        rc = parse_kvs(&c, f);
    if (!rc)
        rc = parse_alignment(&c, f);
    if (!rc)
        rc = parse_tensor_infos(&c, f);
    if (rc)
        return rc;
    size_t pad = (f->alignment - c.pos % f->alignment) % f->alignment;
    if (__builtin_add_overflow(c.pos, pad, &f->data_offset))
        return ccai_fail(err, CCAI_ERR_PARSE, "gguf: data section offset overflows");
    return place_tensors(&c, f);
}

ccai_code gguf_parse(const uint8_t *buf, size_t len, gguf_file **out, ccai_err *err)
{
    *out = NULL;
    gguf_file *f = ccai_xcalloc(1, sizeof *f);
    f->base = buf;
    f->size = len;
    f->alignment = DEFAULT_ALIGNMENT;
    ccai_code rc = parse_file(f, err);
    if (rc) {
        gguf_close(f);
        return rc;
    }
    *out = f;
    return CCAI_OK;
}

ccai_code gguf_open(const char *path, gguf_file **out, ccai_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ccai_fail(err, errno == ENOENT ? CCAI_ERR_NOT_FOUND : CCAI_ERR_IO, "%s: open: %s",
                         path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ccai_code rc = ccai_fail(err, CCAI_ERR_IO, "%s: expected a regular file", path);
        close(fd);
        return rc;
    }
    size_t size = (size_t)st.st_size;
    /* mmap refuses a zero length: let the parser say the file is too short.
     * MAP_PRIVATE and PROT_READ: the weights are used in place, never written. */
    void *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED)
        return ccai_fail(err, CCAI_ERR_IO, "%s: mmap: %s", path, strerror(map_errno));
#ifdef MADV_HUGEPAGE
    /* Decode streams every weight once per token: in 4 KiB pages that is a
     * TLB miss every 4 KiB. Asked for huge pages, the kernel's readahead
     * brings the file into the page cache in 2 MiB folios and maps them
     * whole (what is already cached stays as it is: ccai_drop_cached).
     * Measured on the 1.5B Q4_0 model, 2 threads, in the VM's 55-60 GB/s
     * state: a plain read loop over the mapping 33-40 GB/s with 39% of it
     * in 2 MiB pages, 57-60 with all of it (docs/bench.md). A hint. */
    if (map)
        (void)madvise(map, size, MADV_HUGEPAGE);
#endif
    gguf_file *f;
    ccai_code rc = gguf_parse(map, size, &f, err);
    if (rc) {
        if (map)
            munmap(map, size);
        ccai_err_prefix(err, "%s", path);
        return rc;
    }
    f->mapped = map != NULL;
    f->path = ccai_xstrdup(path);
    *out = f;
    return CCAI_OK;
}

double gguf_huge_fraction(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    bool in = false;
    double rss = -1, pmd = -1;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        double kb;
        /* A mapping's first line is "lo-hi perms ..."; no field line
         * ("AnonHugePages: ...") reads as two hex numbers around '-'. */
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            in = lo <= a && a < hi;
        else if (in && sscanf(line, "Rss: %lf kB", &kb) == 1)
            rss = kb;
        else if (in && sscanf(line, "FilePmdMapped: %lf kB", &kb) == 1)
            pmd = kb;
    }
    fclose(f);
    return rss > 0 && pmd >= 0 ? pmd / rss : -1;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/* GGUF_HUGE_WANTED (gguf.h), the share in 2 MiB pages below which a
 * model's mapping is read again.
 * Half was the first choice (a file as a write leaves it: ~0); but the
 * share of a cached model also wears down between runs (here 99.9% ->
 * 73-78% over two hours of other work, no memory pressure), and at 73%
 * Q4_0 decode in the fast memory state read 0.72-0.78 of the read loop's
 * rate against 0.81-0.84 at 99.9%. 90% was the next; but the part left in
 * small pages costs out of proportion: at 95.1%, 9 of the Q4_0 model's 28
 * gate/up pairs streamed 0.80-0.89 of the loop in the fast state against
 * 0.93-0.96 for the others, the runs together 0.894-0.913 against
 * 0.944-0.952 for an anonymous 2 MiB-page copy of the same matrices in the
 * same rounds; read again (0.5 s for the 1 GB file, from the host's cache),
 * 99.9% and 0.968 against the copy's 0.962 (docs/bench.md, "Huge pages").
 * So anything short of all of it is read again; 0.99 leaves room for the
 * file's partial first and last 2 MiB. `ccai bench` warns below it. */

double gguf_prefer_huge_pages(gguf_file *f)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (!f->mapped || f->size < ((size_t)64 << 20) || pages <= 0 || page <= 0 ||
        f->size > (size_t)pages * (size_t)page / 2)
        return gguf_huge_fraction(f->base);
    void *map = (void *)(uintptr_t)f->base;
    if (madvise(map, f->size, MADV_POPULATE_READ) != 0)
        return gguf_huge_fraction(f->base);
    double share = gguf_huge_fraction(f->base);
    if (share < 0 || share >= GGUF_HUGE_WANTED)
        return share;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return share;
    /* Unmap our pages (the file's data stays), let the cache drop them
     * (pages others map stay), read the file back through our mapping. */
    (void)madvise(map, f->size, MADV_DONTNEED);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    (void)madvise(map, f->size, MADV_POPULATE_READ);
    return gguf_huge_fraction(f->base);
}

void gguf_close(gguf_file *f)
{
    if (!f)
        return;
    if (f->mapped)
        munmap((void *)(uintptr_t)f->base, f->size);
    free(f->kv);
    free(f->tensors);
    free(f->path);
    free(f);
}

const gguf_kv *gguf_find(const gguf_file *f, const char *key)
{
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (gguf_str_eq(f->kv[i].key, key))
            return &f->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (gguf_str_eq(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

/* The entry for key, or NULL with CCAI_ERR_NOT_FOUND in *err. */
static const gguf_kv *lookup(const gguf_file *f, const char *key, ccai_err *err)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv)
        ccai_fail(err, CCAI_ERR_NOT_FOUND, "gguf: key '%s' not found", key);
    return kv;
}

static ccai_code wrong_type(const gguf_file *f, const gguf_kv *kv, const char *key,
                            const char *expected, ccai_err *err)
{
    return ccai_fail(err, CCAI_ERR_PARSE, "gguf: metadata '%s' at offset %zu: expected %s, found %s",
                     key, str_offset(f, kv->key), expected, gguf_type_name(kv->val.type));
}

/* Any integer type, as long as the value lies in [0, max]. */
static ccai_code get_uint(const gguf_file *f, const char *key, uint64_t max, uint64_t *out,
                          ccai_err *err)
{
    const gguf_kv *kv = lookup(f, key, err);
    if (!kv)
        return CCAI_ERR_NOT_FOUND;
    bool neg = false;
    uint64_t u;
    switch (kv->val.type) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_UINT64: u = kv->val.u; break;
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_INT16:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_INT64:
        neg = kv->val.i < 0;
        u = neg ? 0 - (uint64_t)kv->val.i : (uint64_t)kv->val.i;
        break;
    default: return wrong_type(f, kv, key, "an integer", err);
    }
    if (neg || u > max)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "gguf: metadata '%s' at offset %zu: expected a value from 0 to %" PRIu64
                         ", found %s%" PRIu64,
                         key, str_offset(f, kv->key), max, neg ? "-" : "", u);
    *out = u;
    return CCAI_OK;
}

ccai_code gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out, ccai_err *err)
{
    return get_uint(f, key, UINT64_MAX, out, err);
}

ccai_code gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, ccai_err *err)
{
    uint64_t u;
    ccai_code rc = get_uint(f, key, UINT32_MAX, &u, err);
    if (!rc)
        *out = (uint32_t)u;
    return rc;
}

ccai_code gguf_get_f32(const gguf_file *f, const char *key, float *out, ccai_err *err)
{
    const gguf_kv *kv = lookup(f, key, err);
    if (!kv)
        return CCAI_ERR_NOT_FOUND;
    if (kv->val.type != GGUF_TYPE_FLOAT32 && kv->val.type != GGUF_TYPE_FLOAT64)
        return wrong_type(f, kv, key, "float32 or float64", err);
    double d = kv->val.f;
    if (isfinite(d) && (d > FLT_MAX || d < -FLT_MAX)) /* no libm needed */
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "gguf: metadata '%s' at offset %zu: float64 value %g does not fit float32",
                         key, str_offset(f, kv->key), d);
    *out = (float)d;
    return CCAI_OK;
}

ccai_code gguf_get_bool(const gguf_file *f, const char *key, bool *out, ccai_err *err)
{
    const gguf_kv *kv = lookup(f, key, err);
    if (!kv)
        return CCAI_ERR_NOT_FOUND;
    if (kv->val.type != GGUF_TYPE_BOOL)
        return wrong_type(f, kv, key, "bool", err);
    *out = kv->val.u != 0;
    return CCAI_OK;
}

ccai_code gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, ccai_err *err)
{
    const gguf_kv *kv = lookup(f, key, err);
    if (!kv)
        return CCAI_ERR_NOT_FOUND;
    if (kv->val.type != GGUF_TYPE_STRING)
        return wrong_type(f, kv, key, "string", err);
    *out = kv->val.s;
    return CCAI_OK;
}

/* The entry for key when it is an array of elem_type; NULL with the code in
 * *rc otherwise. */
static const gguf_kv *lookup_arr(const gguf_file *f, const char *key, gguf_type elem_type,
                                 ccai_code *rc, ccai_err *err)
{
    const gguf_kv *kv = lookup(f, key, err);
    *rc = CCAI_ERR_NOT_FOUND;
    if (!kv)
        return NULL;
    *rc = CCAI_ERR_PARSE;
    bool arr = kv->val.type == GGUF_TYPE_ARRAY;
    if (!arr || kv->val.arr.elem_type != elem_type) {
        ccai_fail(err, CCAI_ERR_PARSE,
                  "gguf: metadata '%s' at offset %zu: expected an array of %s, found %s%s", key,
                  str_offset(f, kv->key), gguf_type_name(elem_type), arr ? "an array of " : "",
                  gguf_type_name(arr ? kv->val.arr.elem_type : kv->val.type));
        return NULL;
    }
    *rc = CCAI_OK;
    return kv;
}

ccai_code gguf_get_arr(const gguf_file *f, const char *key, gguf_type elem_type,
                       const uint8_t **data, uint64_t *count, ccai_err *err)
{
    ccai_code rc;
    const gguf_kv *kv = lookup_arr(f, key, elem_type, &rc, err);
    if (!kv)
        return rc;
    *data = kv->val.arr.data;
    *count = kv->val.arr.count;
    return CCAI_OK;
}

ccai_code gguf_str_array(const gguf_file *f, const char *key, gguf_str **out, uint64_t *count,
                         ccai_err *err)
{
    ccai_code rc;
    const gguf_kv *kv = lookup_arr(f, key, GGUF_TYPE_STRING, &rc, err);
    if (!kv)
        return rc;
    /* The parser walked these strings and bounded their count by the file,
     * so the allocation is bounded too; the walk stays inside data_len. */
    const uint8_t *p = kv->val.arr.data;
    uint64_t n = kv->val.arr.count;
    size_t len = kv->val.arr.data_len, pos = 0;
    gguf_str *s = ccai_xmalloc((size_t)n * sizeof *s);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t sl = 0;
        if (len - pos < 8 || (sl = ccai_le64(p + pos)) > len - pos - 8) {
            free(s);
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "gguf: metadata '%s': string %" PRIu64 " runs past the array", key, i);
        }
        s[i].ptr = (const char *)(p + pos + 8);
        s[i].len = sl;
        pos += 8 + (size_t)sl;
    }
    *out = s;
    *count = n;
    return CCAI_OK;
}

char *gguf_strdup(gguf_str s)
{
    char *d = ccai_xmalloc((size_t)s.len + 1);
    if (s.len)
        memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}

bool gguf_str_eq(gguf_str s, const char *c)
{
    size_t n = strlen(c);
    return s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

const char *gguf_type_name(gguf_type t)
{
    static const char *const names[] = {"uint8",  "int8",   "uint16", "int16",   "uint32",
                                        "int32",  "float32", "bool",  "string",  "array",
                                        "uint64", "int64",  "float64"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}
