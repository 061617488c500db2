/* Tests for the GGUF writer (src/llm/gguf_write.c): every metadata type,
 * nested arrays, strings with embedded NULs and tensors of several types and
 * shapes written and parsed back equal, in insertion order, through a buffer
 * and through a file; the writer's layout (alignment, padding); and each
 * misuse reported by name when writing.
 *
 * With CCAI_WRITE_GGUF_SEEDS=<dir> set, the test also writes the fuzz seeds
 * (fuzz/corpus/gguf/) there:
 *   CCAI_WRITE_GGUF_SEEDS=$PWD/fuzz/corpus/gguf ./build/tests/llm_test_gguf_write */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/mem.h"
#include "llm/ggml_types.h"
#include "llm/gguf.h"
#include "llm/gguf_write.h"

static uint8_t *to_buffer(gguf_writer *w, size_t *len)
{
    uint8_t *buf;
    ccai_err err = {0};
    if (gguf_writer_to_buffer(w, &buf, len, &err) != CCAI_OK)
        fail_msg("writer: %s", err.msg);
    return buf;
}

static gguf_file *parse_ok(const uint8_t *buf, size_t len)
{
    gguf_file *f = NULL;
    ccai_err err = {0};
    if (gguf_parse(buf, len, &f, &err) != CCAI_OK)
        fail_msg("parse failed: %s", err.msg);
    return f;
}

static const char *const KEYS[] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "yes", "no",
    "str", "strn", "arr.u8", "arr.i8", "arr.u16", "arr.i16", "arr.u32", "arr.i32",
    "arr.u64", "arr.i64", "arr.f32", "arr.f64", "arr.bool", "arr.str", "arr.strn",
    "arr.empty", "arr.nested", "arr.nested_str",
};
enum { N_KEYS = sizeof KEYS / sizeof KEYS[0] };

static const uint8_t A_U8[] = {0, 1, 255};
static const int8_t A_I8[] = {-128, 0, 127};
static const uint16_t A_U16[] = {0, 65535};
static const int16_t A_I16[] = {-32768, 32767};
static const uint32_t A_U32[] = {0, 4000000000u, 7};
static const int32_t A_I32[] = {INT32_MIN, -1, INT32_MAX};
static const uint64_t A_U64[] = {UINT64_MAX, 0};
static const int64_t A_I64[] = {INT64_MIN, INT64_MAX};
static const float A_F32[] = {-1.5f, 0.0f, 3.25e-5f};
static const double A_F64[] = {1e-300, -2.5};
static const bool A_BOOL[] = {true, false, true};
static const char *const A_STR[] = {"<unk>", "", "\xe2\x96\x81the"};
static const char *const A_STRN[] = {"a\0b", "\0"};
static const size_t A_STRN_LEN[] = {3, 1};

/* The inner arrays of arr.nested: [[1, 2, 3], [], [-4]] as int32. */
static void set_nested(gguf_writer *w)
{
    ccai_buf b = {0};
    const int32_t one[] = {1, 2, 3}, three[] = {-4};
    assert_true(gguf_writer_encode_arr(&b, GGUF_TYPE_INT32, one, 3));
    assert_true(gguf_writer_encode_arr(&b, GGUF_TYPE_INT32, NULL, 0));
    assert_true(gguf_writer_encode_arr(&b, GGUF_TYPE_INT32, three, 1));
    assert_false(gguf_writer_encode_arr(&b, GGUF_TYPE_ARRAY, NULL, 0));
    gguf_writer_set_arr_raw(w, "arr.nested", GGUF_TYPE_ARRAY, 3, b.data, b.len);
    ccai_buf_free(&b);
    /* [["x", "yz"]] */
    const char *const xs[] = {"x", "yz"};
    assert_true(gguf_writer_encode_arr(&b, GGUF_TYPE_STRING, xs, 2));
    gguf_writer_set_arr_raw(w, "arr.nested_str", GGUF_TYPE_ARRAY, 1, b.data, b.len);
    ccai_buf_free(&b);
}

static void set_all(gguf_writer *w)
{
    gguf_writer_set_u8(w, "u8", 200);
    gguf_writer_set_i8(w, "i8", -100);
    gguf_writer_set_u16(w, "u16", 60000);
    gguf_writer_set_i16(w, "i16", -30000);
    gguf_writer_set_u32(w, "u32", 1); /* replaced below, keeping its place */
    gguf_writer_set_i32(w, "i32", -2000000000);
    gguf_writer_set_u64(w, "u64", (1ull << 63) + 5);
    gguf_writer_set_i64(w, "i64", INT64_MIN + 1);
    gguf_writer_set_f32(w, "f32", 3.25f);
    gguf_writer_set_f64(w, "f64", -1e300);
    gguf_writer_set_bool(w, "yes", true);
    gguf_writer_set_bool(w, "no", false);
    gguf_writer_set_str(w, "str", "hello");
    gguf_writer_set_strn(w, "strn", "a\0b", 3);
    gguf_writer_set_arr(w, "arr.u8", GGUF_TYPE_UINT8, A_U8, 3);
    gguf_writer_set_arr(w, "arr.i8", GGUF_TYPE_INT8, A_I8, 3);
    gguf_writer_set_arr(w, "arr.u16", GGUF_TYPE_UINT16, A_U16, 2);
    gguf_writer_set_arr(w, "arr.i16", GGUF_TYPE_INT16, A_I16, 2);
    gguf_writer_set_arr(w, "arr.u32", GGUF_TYPE_UINT32, A_U32, 3);
    gguf_writer_set_arr(w, "arr.i32", GGUF_TYPE_INT32, A_I32, 3);
    gguf_writer_set_arr(w, "arr.u64", GGUF_TYPE_UINT64, A_U64, 2);
    gguf_writer_set_arr(w, "arr.i64", GGUF_TYPE_INT64, A_I64, 2);
    gguf_writer_set_arr(w, "arr.f32", GGUF_TYPE_FLOAT32, A_F32, 3);
    gguf_writer_set_arr(w, "arr.f64", GGUF_TYPE_FLOAT64, A_F64, 2);
    gguf_writer_set_arr(w, "arr.bool", GGUF_TYPE_BOOL, A_BOOL, 3);
    gguf_writer_set_arr_str(w, "arr.str", A_STR, 3);
    gguf_writer_set_arr_strn(w, "arr.strn", A_STRN, A_STRN_LEN, 2);
    gguf_writer_set_arr(w, "arr.empty", GGUF_TYPE_FLOAT32, NULL, 0);
    set_nested(w);
    gguf_writer_set_u32(w, "u32", 4000000000u);
}

/* Tensors of several types and shapes; data bytes are i * 7 + seed. */
typedef struct tspec {
    const char *name;
    uint32_t type, n_dims;
    uint64_t ne[4];
    size_t size;
} tspec;

static const tspec TENSORS[] = {
    {"token_embd.weight", GGML_TYPE_F32, 2, {3, 5, 1, 1}, 60},
    {"blk.0.attn_q.weight", GGML_TYPE_Q8_0, 2, {64, 2, 1, 1}, 4 * 34},
    {"blk.0.ffn_down.weight", GGML_TYPE_Q4_K, 1, {256, 1, 1, 1}, 144},
    {"blk.0.ffn_up.weight", GGML_TYPE_Q6_K, 3, {256, 1, 2, 1}, 420},
    {"blk.0.attn_norm.weight", GGML_TYPE_F16, 1, {7, 1, 1, 1}, 14},
    {"rope_freqs.weight", GGML_TYPE_BF16, 4, {2, 2, 2, 2}, 32},
    {"blk.0.ffn_gate.weight", GGML_TYPE_Q4_0, 2, {32, 3, 1, 1}, 54},
};
enum { N_TENSORS = sizeof TENSORS / sizeof TENSORS[0] };

static uint8_t *tensor_bytes(const tspec *t, uint8_t seed)
{
    uint8_t *d = ccai_xmalloc(t->size);
    for (size_t i = 0; i < t->size; i++)
        d[i] = (uint8_t)(i * 7 + seed);
    return d;
}

static void add_all_tensors(gguf_writer *w)
{
    for (size_t i = 0; i < N_TENSORS; i++) {
        uint8_t *d = tensor_bytes(&TENSORS[i], (uint8_t)i);
        gguf_writer_add_tensor(w, TENSORS[i].name, TENSORS[i].type, TENSORS[i].n_dims,
                               TENSORS[i].ne, d, TENSORS[i].size);
        free(d); /* the writer copied it */
    }
}

static void check_arr(const gguf_file *f, const char *key, gguf_type t, const void *want,
                      uint64_t n, size_t elem)
{
    const uint8_t *p;
    uint64_t count;
    ccai_err err = {0};
    assert_int_equal(gguf_get_arr(f, key, t, &p, &count, &err), CCAI_OK);
    assert_int_equal(count, n);
    assert_int_equal(gguf_find(f, key)->val.arr.data_len, n * elem);
    if (n)
        assert_memory_equal(p, want, n * elem); /* little-endian host */
}

static void check_all(const gguf_file *f)
{
    assert_int_equal(f->version, 3);
    assert_int_equal(f->n_kv, N_KEYS);
    for (size_t i = 0; i < N_KEYS; i++)
        if (!gguf_str_eq(f->kv[i].key, KEYS[i]))
            fail_msg("key %zu: expected %s", i, KEYS[i]);
    const gguf_kv *kv = f->kv;
    assert_int_equal(kv[0].val.type, GGUF_TYPE_UINT8);
    assert_int_equal(kv[0].val.u, 200);
    assert_int_equal(kv[1].val.type, GGUF_TYPE_INT8);
    assert_int_equal(kv[1].val.i, -100);
    assert_int_equal(kv[2].val.u, 60000);
    assert_int_equal(kv[3].val.i, -30000);
    assert_int_equal(kv[4].val.type, GGUF_TYPE_UINT32);
    assert_int_equal(kv[4].val.u, 4000000000u);
    assert_int_equal(kv[5].val.i, -2000000000);
    assert_true(kv[6].val.u == (1ull << 63) + 5);
    assert_true(kv[7].val.i == INT64_MIN + 1);
    assert_int_equal(kv[8].val.type, GGUF_TYPE_FLOAT32);
    assert_true(kv[8].val.f == 3.25);
    assert_int_equal(kv[9].val.type, GGUF_TYPE_FLOAT64);
    assert_true(kv[9].val.f == -1e300);
    ccai_err err = {0};
    bool b = false;
    assert_int_equal(gguf_get_bool(f, "yes", &b, &err), CCAI_OK);
    assert_true(b);
    assert_int_equal(gguf_get_bool(f, "no", &b, &err), CCAI_OK);
    assert_false(b);
    gguf_str s;
    assert_int_equal(gguf_get_str(f, "str", &s, &err), CCAI_OK);
    assert_true(gguf_str_eq(s, "hello"));
    assert_int_equal(gguf_get_str(f, "strn", &s, &err), CCAI_OK);
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.ptr, "a\0b", 3);

    check_arr(f, "arr.u8", GGUF_TYPE_UINT8, A_U8, 3, 1);
    check_arr(f, "arr.i8", GGUF_TYPE_INT8, A_I8, 3, 1);
    check_arr(f, "arr.u16", GGUF_TYPE_UINT16, A_U16, 2, 2);
    check_arr(f, "arr.i16", GGUF_TYPE_INT16, A_I16, 2, 2);
    check_arr(f, "arr.u32", GGUF_TYPE_UINT32, A_U32, 3, 4);
    check_arr(f, "arr.i32", GGUF_TYPE_INT32, A_I32, 3, 4);
    check_arr(f, "arr.u64", GGUF_TYPE_UINT64, A_U64, 2, 8);
    check_arr(f, "arr.i64", GGUF_TYPE_INT64, A_I64, 2, 8);
    check_arr(f, "arr.f32", GGUF_TYPE_FLOAT32, A_F32, 3, 4);
    check_arr(f, "arr.f64", GGUF_TYPE_FLOAT64, A_F64, 2, 8);
    check_arr(f, "arr.bool", GGUF_TYPE_BOOL, (const uint8_t[]){1, 0, 1}, 3, 1);
    check_arr(f, "arr.empty", GGUF_TYPE_FLOAT32, NULL, 0, 4);

    gguf_str *strs;
    uint64_t n;
    assert_int_equal(gguf_str_array(f, "arr.str", &strs, &n, &err), CCAI_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(gguf_str_eq(strs[i], A_STR[i]));
    free(strs);
    assert_int_equal(gguf_str_array(f, "arr.strn", &strs, &n, &err), CCAI_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(strs[i].len, A_STRN_LEN[i]);
        assert_memory_equal(strs[i].ptr, A_STRN[i], A_STRN_LEN[i]);
    }
    free(strs);

    /* Nested: three int32 arrays, walked by hand from the raw elements. */
    const uint8_t *p;
    assert_int_equal(gguf_get_arr(f, "arr.nested", GGUF_TYPE_ARRAY, &p, &n, &err), CCAI_OK);
    assert_int_equal(n, 3);
    const uint64_t counts[] = {3, 0, 1};
    const int32_t vals[] = {1, 2, 3, -4};
    size_t v = 0;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ccai_le32(p), GGUF_TYPE_INT32);
        assert_int_equal(ccai_le64(p + 4), counts[i]);
        p += 12;
        for (uint64_t j = 0; j < counts[i]; j++, p += 4)
            assert_int_equal((int32_t)ccai_le32(p), vals[v++]);
    }
    assert_ptr_equal(p, gguf_find(f, "arr.nested")->val.arr.data +
                            gguf_find(f, "arr.nested")->val.arr.data_len);
    assert_int_equal(gguf_get_arr(f, "arr.nested_str", GGUF_TYPE_ARRAY, &p, &n, &err), CCAI_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ccai_le32(p), GGUF_TYPE_STRING);
    assert_int_equal(ccai_le64(p + 4), 2);
    assert_int_equal(ccai_le64(p + 12), 1);
    assert_memory_equal(p + 20, "x", 1);
    assert_int_equal(ccai_le64(p + 21), 2);
    assert_memory_equal(p + 29, "yz", 2);
}

static void check_tensors(const gguf_file *f, uint32_t align)
{
    assert_int_equal(f->n_tensors, N_TENSORS);
    assert_int_equal(f->alignment, align);
    assert_int_equal(f->data_offset % align, 0);
    for (size_t i = 0; i < N_TENSORS; i++) {
        const gguf_tensor *t = &f->tensors[i];
        const tspec *w = &TENSORS[i];
        assert_ptr_equal(gguf_find_tensor(f, w->name), t);
        assert_int_equal(t->type, w->type);
        assert_int_equal(t->n_dims, w->n_dims);
        uint64_t n = 1;
        for (int d = 0; d < 4; d++) {
            assert_int_equal(t->ne[d], w->ne[d]);
            n *= w->ne[d];
        }
        assert_int_equal(t->n_elements, n);
        assert_int_equal(t->size, w->size);
        assert_int_equal(t->offset % align, 0);
        assert_int_equal((size_t)(t->data - f->base) % align, 0);
        uint8_t *want = tensor_bytes(w, (uint8_t)i);
        assert_memory_equal(t->data, want, w->size);
        free(want);
        if (i > 0) /* packed: the next multiple of the alignment */
            assert_int_equal(t->offset, (f->tensors[i - 1].offset + f->tensors[i - 1].size +
                                         align - 1) / align * align);
    }
    const gguf_tensor *last = &f->tensors[N_TENSORS - 1];
    assert_ptr_equal(last->data + last->size, f->base + f->size);
}

static void test_round_trip_buffer(void **state)
{
    (void)state;
    gguf_writer *w = gguf_writer_new();
    set_all(w);
    add_all_tensors(w);
    size_t len;
    uint8_t *buf = to_buffer(w, &len);
    gguf_writer_free(w);
    gguf_file *f = parse_ok(buf, len);
    check_all(f);
    check_tensors(f, 32);
    assert_false(f->mapped);
    assert_null(f->path);
    gguf_close(f);
    free(buf);
}

static void test_round_trip_file_aligned(void **state)
{
    (void)state;
    gguf_writer *w = gguf_writer_new();
    set_all(w);
    gguf_writer_set_u32(w, "general.alignment", 128);
    add_all_tensors(w);
    char *dir = tu_tmpdir();
    char *path = ccai_xasprintf("%s/model.gguf", dir);
    ccai_err err = {0};
    assert_int_equal(gguf_writer_write(w, path, &err), CCAI_OK);
    gguf_writer_free(w);
    gguf_file *f = NULL;
    assert_int_equal(gguf_open(path, &f, &err), CCAI_OK);
    assert_true(f->mapped);
    assert_string_equal(f->path, path);
    assert_int_equal(f->n_kv, N_KEYS + 1);
    assert_true(gguf_str_eq(f->kv[N_KEYS].key, "general.alignment"));
    check_tensors(f, 128);
    gguf_close(f);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

static void test_layout(void **state)
{
    (void)state;
    /* The smallest file: the header alone. */
    gguf_writer *w = gguf_writer_new();
    size_t len;
    uint8_t *buf = to_buffer(w, &len);
    static const uint8_t header[24] = {'G', 'G', 'U', 'F', 3};
    assert_int_equal(len, 24);
    assert_memory_equal(buf, header, 24);
    free(buf);
    /* One key and one tensor, byte by byte. */
    gguf_writer_set_u32(w, "k", 9);
    const float one = 1.0f;
    gguf_writer_add_tensor(w, "t", GGML_TYPE_F32, 1, (const uint64_t[]){1}, &one, 4);
    buf = to_buffer(w, &len);
    gguf_writer_free(w);
    static const uint8_t want[] = {
        'G', 'G', 'U', 'F', 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        1, 0, 0, 0, 0, 0, 0, 0, 'k', 4, 0, 0, 0, 9, 0, 0, 0,                /* 41 */
        1, 0, 0, 0, 0, 0, 0, 0, 't', 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,    /* 62 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                                  /* 74 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* pad to 96 */
        0x00, 0x00, 0x80, 0x3f,
    };
    assert_int_equal(len, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    free(buf);
}

/* Each misuse is reported by the write, naming what was wrong. */
static void expect_misuse(gguf_writer *w, const char *msg)
{
    static uint8_t dummy;
    uint8_t *buf = &dummy;
    size_t len = 1;
    ccai_err err = {0};
    assert_int_equal(gguf_writer_to_buffer(w, &buf, &len, &err), CCAI_ERR_ARG);
    assert_null(buf);
    assert_int_equal(len, 0);
    assert_string_equal(err.msg, msg);
    gguf_writer_free(w);
}

static void test_misuse(void **state)
{
    (void)state;
    const float z[8] = {0};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_add_tensor(w, "x", GGML_TYPE_F32, 2, (const uint64_t[]){2, 2}, z, 12);
    gguf_writer_add_tensor(w, "", GGML_TYPE_F32, 1, (const uint64_t[]){1}, z, 4);
    expect_misuse(w, "gguf writer: tensor 'x': 12 bytes of data, expected 16 for its F32 shape");

    w = gguf_writer_new();
    gguf_writer_add_tensor(w, "x", GGML_TYPE_F32, 1, (const uint64_t[]){1}, z, 4);
    gguf_writer_add_tensor(w, "x", GGML_TYPE_F32, 1, (const uint64_t[]){1}, z, 4);
    expect_misuse(w, "gguf writer: tensor 'x' added twice");

    w = gguf_writer_new();
    gguf_writer_add_tensor(w, "x", GGML_TYPE_F32, 5, (const uint64_t[]){1, 1, 1, 1, 1}, z, 4);
    expect_misuse(w, "gguf writer: tensor 'x': n_dims 5, expected 1 to 4");

    w = gguf_writer_new();
    gguf_writer_add_tensor(w, "x", GGML_TYPE_F32, 2, (const uint64_t[]){1, 0}, z, 0);
    expect_misuse(w, "gguf writer: tensor 'x': dimension 1 is 0");

    w = gguf_writer_new();
    gguf_writer_add_tensor(w, "x", 99, 1, (const uint64_t[]){1}, z, 4);
    expect_misuse(w, "gguf writer: tensor 'x': no byte size for type 99 (unknown) with row length 1");

    w = gguf_writer_new();
    gguf_writer_add_tensor(w, "x", GGML_TYPE_Q4_0, 1, (const uint64_t[]){16}, z, 9);
    expect_misuse(w, "gguf writer: tensor 'x': no byte size for type 2 (Q4_0) with row length 16");

    w = gguf_writer_new();
    gguf_writer_set_u32(w, "", 1);
    expect_misuse(w, "gguf writer: key length 0, expected 1 to 65535");

    w = gguf_writer_new();
    gguf_writer_set_arr(w, "a", GGUF_TYPE_ARRAY, NULL, 0);
    expect_misuse(w, "gguf writer: metadata 'a': gguf_writer_set_arr cannot write elements of type "
                     "9 (nested arrays go through gguf_writer_set_arr_raw)");

    w = gguf_writer_new();
    gguf_writer_set_u32(w, "general.alignment", 24);
    expect_misuse(w, "gguf writer: general.alignment must be a power of two, found 24");

    w = gguf_writer_new();
    gguf_writer_set_u64(w, "general.alignment", 64);
    expect_misuse(w, "gguf writer: general.alignment must be a uint32, found uint64");

    /* The error sticks: a later good write does not clear it. */
    w = gguf_writer_new();
    gguf_writer_set_u32(w, "", 1);
    gguf_writer_set_u32(w, "fine", 1);
    char *dir = tu_tmpdir();
    char *path = ccai_xasprintf("%s/x.gguf", dir);
    ccai_err err = {0};
    assert_int_equal(gguf_writer_write(w, path, &err), CCAI_ERR_ARG);
    assert_false(ccai_exists(path));
    gguf_writer_free(w);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

static void write_seed(const char *dir, const char *name, gguf_writer *w)
{
    char *path = ccai_xasprintf("%s/%s", dir, name);
    size_t len;
    uint8_t *buf = to_buffer(w, &len);
    assert_true(len < 8192);
    gguf_close(parse_ok(buf, len));
    tu_write(path, buf, len);
    free(buf);
    free(path);
    gguf_writer_free(w);
}

/* The fuzz seeds: a tiny model, every metadata type, a vocabulary-only file,
 * a custom alignment and a known-but-unsupported tensor type. */
static void test_write_fuzz_seeds(void **state)
{
    (void)state;
    const char *dir = getenv("CCAI_WRITE_GGUF_SEEDS");
    if (!dir || !*dir)
        skip();
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_u32(w, "llama.embedding_length", 8);
    gguf_writer_set_u32(w, "llama.block_count", 1);
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    const char *const toks[] = {"<unk>", "<s>", "</s>", "a", "b"};
    const float scores[] = {0, 0, 0, -1, -2};
    const int32_t types[] = {2, 3, 3, 1, 1};
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 5);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, 5);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 5);
    float emb[40] = {0};
    uint8_t q8[34] = {0};
    uint16_t h[8] = {0};
    gguf_writer_add_tensor(w, "token_embd.weight", GGML_TYPE_F32, 2, (const uint64_t[]){8, 5},
                           emb, sizeof emb);
    gguf_writer_add_tensor(w, "blk.0.attn_q.weight", GGML_TYPE_Q8_0, 1, (const uint64_t[]){32},
                           q8, sizeof q8);
    gguf_writer_add_tensor(w, "output_norm.weight", GGML_TYPE_F16, 1, (const uint64_t[]){8}, h,
                           sizeof h);
    write_seed(dir, "tiny-model", w);

    w = gguf_writer_new();
    set_all(w);
    write_seed(dir, "all-types", w);

    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    const char *const merges[] = {"a b", "ab c"};
    gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, 2);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false);
    write_seed(dir, "vocab-only", w);

    w = gguf_writer_new();
    gguf_writer_set_u32(w, "general.alignment", 64);
    uint8_t q2k[84] = {0}, q4k[144] = {0};
    gguf_writer_add_tensor(w, "a", GGML_TYPE_Q2_K, 1, (const uint64_t[]){256}, q2k, sizeof q2k);
    gguf_writer_add_tensor(w, "b", GGML_TYPE_Q4_K, 2, (const uint64_t[]){256, 1}, q4k,
                           sizeof q4k);
    write_seed(dir, "aligned-64", w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_buffer),
        cmocka_unit_test(test_round_trip_file_aligned),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_write_fuzz_seeds),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
