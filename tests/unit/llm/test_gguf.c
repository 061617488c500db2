/* Tests for the GGUF loader (src/llm/gguf.c) and the ggml type table
 * (src/llm/ggml_types.c): the two real model files and a vocabulary-only file
 * from ../shared, with values pinned from an independent Python reading
 * (struct.unpack over the spec's layout); then small files built with the
 * writer and corrupted one field at a time, each rejected with an exact
 * message naming the field and its byte offset; every truncation of a small
 * file; and the typed getters' conversions and refusals. */
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "llm/ggml_types.h"
#include "llm/gguf.h"
#include "llm/gguf_write.h"

static void assert_has(const char *msg, const char *sub)
{
    if (!strstr(msg, sub))
        fail_msg("expected \"%s\" in \"%s\"", sub, msg);
}

static gguf_file *parse_ok(const uint8_t *buf, size_t len)
{
    gguf_file *f = NULL;
    ccai_err err = {0};
    if (gguf_parse(buf, len, &f, &err) != CCAI_OK)
        fail_msg("parse failed: %s", err.msg);
    return f;
}

/* Parses buf and checks the code and the whole message. */
static void expect_msg(const uint8_t *buf, size_t len, ccai_code code, const char *msg)
{
    gguf_file *f = NULL;
    ccai_err err = {0};
    assert_int_equal(gguf_parse(buf, len, &f, &err), code);
    assert_null(f);
    assert_string_equal(err.msg, msg);
}

static size_t find(const uint8_t *buf, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, needle, n) == 0)
            return i;
    fail_msg("'%s' not in the buffer", needle);
    return 0;
}

/* Offset just past a key or tensor name (where its type or n_dims starts). */
static size_t after(const uint8_t *buf, size_t len, const char *s)
{
    return find(buf, len, s) + strlen(s);
}

static uint8_t *finish(gguf_writer *w, size_t *len)
{
    uint8_t *buf;
    ccai_err err = {0};
    if (gguf_writer_to_buffer(w, &buf, len, &err) != CCAI_OK)
        fail_msg("writer: %s", err.msg);
    gguf_writer_free(w);
    return buf;
}

static const char Q[] = "blk.0.attn_q.weight";     /* F32 [4, 2] at 0 */
static const char DOWN[] = "blk.0.ffn_down.weight"; /* Q8_0 [32, 2] at 32 */
static const char NORM[] = "output_norm.weight";    /* F16 [2, 2, 2] at 128 */

/* A small model: scalars, arrays and three tensors; the last tensor's data
 * ends the file, so every proper prefix is missing something. */
static uint8_t *small_file(size_t *len)
{
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_u32(w, "llama.block_count", 1);
    gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    const char *toks[] = {"<unk>", "a", "b"};
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 3);
    const float scores[] = {0.0f, -1.0f, -2.0f};
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, 3);
    float q[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t down[68] = {0}, norm[16] = {0};
    gguf_writer_add_tensor(w, Q, GGML_TYPE_F32, 2, (const uint64_t[]){4, 2}, q, sizeof q);
    gguf_writer_add_tensor(w, DOWN, GGML_TYPE_Q8_0, 2, (const uint64_t[]){32, 2}, down, 68);
    gguf_writer_add_tensor(w, NORM, GGML_TYPE_F16, 3, (const uint64_t[]){2, 2, 2}, norm, 16);
    return finish(w, len);
}

static void test_ggml_types(void **state)
{
    (void)state;
    assert_string_equal(ggml_type_name(GGML_TYPE_Q4_K), "Q4_K");
    assert_string_equal(ggml_type_name(GGML_TYPE_BF16), "BF16");
    assert_string_equal(ggml_type_name(4), "unknown");
    assert_string_equal(ggml_type_name(99), "unknown");
    assert_true(ggml_type_supported(GGML_TYPE_Q6_K));
    assert_true(ggml_type_supported(GGML_TYPE_Q5_1));
    assert_false(ggml_type_supported(GGML_TYPE_Q2_K));
    assert_false(ggml_type_supported(GGML_TYPE_Q8_K));
    assert_false(ggml_type_supported(GGML_TYPE_Q8_1));
    assert_false(ggml_type_supported(31));
    assert_true(ggml_type_known(GGML_TYPE_Q3_K));
    assert_false(ggml_type_known(5));
    static const struct { uint32_t t, blck, size; } want[] = {
        {0, 1, 4},      {1, 1, 2},       {2, 32, 18},     {3, 32, 20},     {6, 32, 22},
        {7, 32, 24},    {8, 32, 34},     {9, 32, 36},     {10, 256, 84},   {11, 256, 110},
        {12, 256, 144}, {13, 256, 176},  {14, 256, 210},  {15, 256, 292},  {30, 1, 2},
        {4, 0, 0},      {16, 0, 0},      {99, 0, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(ggml_blck_size(want[i].t), want[i].blck);
        assert_int_equal(ggml_type_size(want[i].t), want[i].size);
    }
    size_t n = 7;
    assert_true(ggml_row_bytes(GGML_TYPE_Q4_K, 4096, &n));
    assert_int_equal(n, 16 * 144);
    assert_true(ggml_row_bytes(GGML_TYPE_F16, 3, &n));
    assert_int_equal(n, 6);
    n = 7;
    assert_false(ggml_row_bytes(GGML_TYPE_Q8_0, 48, &n));
    assert_false(ggml_row_bytes(99, 32, &n));
    assert_false(ggml_row_bytes(GGML_TYPE_F32, UINT64_MAX / 2, &n));
    assert_int_equal(n, 7);
}

static void test_stories260k(void **state)
{
    (void)state;
    const char *path = tu_shared_path("models/stories260K.gguf");
    TU_SKIP_IF_NO_SHARED(path);
    gguf_file *f = NULL;
    ccai_err err = {0};
    assert_int_equal(gguf_open(path, &f, &err), CCAI_OK);
    assert_true(f->mapped);
    assert_string_equal(f->path, path);
    assert_int_equal(f->size, 1185376);
    assert_int_equal(f->version, 3);
    assert_int_equal(f->n_kv, 19);
    assert_int_equal(f->n_tensors, 48);
    assert_int_equal(f->alignment, 32);
    assert_int_equal(f->data_offset, 14176);
    gguf_str s;
    assert_int_equal(gguf_get_str(f, "general.architecture", &s, &err), CCAI_OK);
    assert_true(gguf_str_eq(s, "llama"));
    struct { const char *key; uint32_t v; } ints[] = {
        {"llama.embedding_length", 64},   {"llama.block_count", 5},
        {"llama.context_length", 128},    {"llama.feed_forward_length", 172},
        {"llama.attention.head_count", 8}, {"llama.attention.head_count_kv", 4},
        {"llama.rope.dimension_count", 8}, {"tokenizer.ggml.bos_token_id", 1},
        {"tokenizer.ggml.eos_token_id", 2}, {"tokenizer.ggml.padding_token_id", UINT32_MAX},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        uint32_t v = 0;
        assert_int_equal(gguf_get_u32(f, ints[i].key, &v, &err), CCAI_OK);
        assert_int_equal(v, ints[i].v);
    }
    float eps = 0;
    assert_int_equal(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &eps, &err), CCAI_OK);
    assert_true(eps == 1e-5f);
    gguf_str *toks;
    uint64_t n;
    assert_int_equal(gguf_str_array(f, "tokenizer.ggml.tokens", &toks, &n, &err), CCAI_OK);
    assert_int_equal(n, 512);
    assert_true(gguf_str_eq(toks[0], "<unk>"));
    assert_true(gguf_str_eq(toks[1], "<s>"));
    assert_true(gguf_str_eq(toks[2], "</s>"));
    free(toks);
    const uint8_t *p;
    assert_int_equal(gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, &p, &n, &err),
                     CCAI_OK);
    assert_int_equal(n, 512);
    assert_int_equal(ccai_le32(p), 2); /* <unk> is "unknown" */

    const gguf_tensor *t = gguf_find_tensor(f, "blk.0.ffn_down.weight");
    assert_non_null(t);
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->ne[0], 172);
    assert_int_equal(t->ne[1], 64);
    assert_int_equal(t->ne[2], 1);
    assert_int_equal(t->type, GGML_TYPE_F32);
    assert_int_equal(t->offset, 355840);
    assert_int_equal(t->n_elements, 172 * 64);
    assert_int_equal(t->size, 172 * 64 * 4);
    assert_ptr_equal(t->data, f->base + 14176 + 355840);
    float x;
    memcpy(&x, t->data, 4);
    assert_true(x == 0.13498419523239136f);
    t = gguf_find_tensor(f, "token_embd.weight");
    assert_non_null(t);
    assert_int_equal(t->offset, 0);
    assert_int_equal(t->ne[0], 64);
    assert_int_equal(t->ne[1], 512);
    memcpy(&x, t->data, 4);
    assert_true(x == -0.29474878311157227f);
    assert_null(gguf_find_tensor(f, "blk.5.ffn_down.weight"));
    gguf_close(f);
}

static void test_llama2_tiny_random(void **state)
{
    (void)state;
    const char *path = tu_shared_path("models/llama-2-tiny-random.gguf");
    TU_SKIP_IF_NO_SHARED(path);
    gguf_file *f = NULL;
    ccai_err err = {0};
    assert_int_equal(gguf_open(path, &f, &err), CCAI_OK);
    assert_int_equal(f->n_kv, 18);
    assert_int_equal(f->n_tensors, 12);
    assert_int_equal(f->data_offset, 724416);
    uint32_t ft = 0;
    assert_int_equal(gguf_get_u32(f, "general.file_type", &ft, &err), CCAI_OK);
    assert_int_equal(ft, 1);
    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    assert_non_null(t);
    assert_int_equal(t->type, GGML_TYPE_F16);
    assert_int_equal(t->ne[0], 8);
    assert_int_equal(t->ne[1], 32000);
    assert_int_equal(t->size, 512000);
    t = gguf_find_tensor(f, "output.weight");
    assert_int_equal(t->type, GGML_TYPE_F16);
    assert_int_equal(t->offset, 514144);
    assert_ptr_equal(t->data + t->size, f->base + f->size); /* ends the file */
    assert_int_equal(gguf_find_tensor(f, "blk.0.attn_norm.weight")->type, GGML_TYPE_F32);
    gguf_str *toks;
    uint64_t n;
    assert_int_equal(gguf_str_array(f, "tokenizer.ggml.tokens", &toks, &n, &err), CCAI_OK);
    assert_int_equal(n, 32000);
    assert_true(gguf_str_eq(toks[1000], "ied"));
    assert_true(gguf_str_eq(toks[29871], "\xe2\x96\x81"));
    free(toks);
    const uint8_t *p;
    assert_int_equal(gguf_get_arr(f, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, &p, &n, &err),
                     CCAI_OK);
    assert_int_equal(n, 32000);
    uint32_t bits = ccai_le32(p + 4 * 1000);
    float sc;
    memcpy(&sc, &bits, 4);
    assert_true(sc == -741.0f);
    gguf_close(f);
}

static void test_vocab_only(void **state)
{
    (void)state;
    /* No tensors, and the file ends right after the infos, before the
     * padding to the data section. */
    const char *path = tu_shared_path("testdata/tokenizer/ggml-vocab-llama-spm.gguf");
    TU_SKIP_IF_NO_SHARED(path);
    gguf_file *f = NULL;
    ccai_err err = {0};
    assert_int_equal(gguf_open(path, &f, &err), CCAI_OK);
    assert_int_equal(f->n_tensors, 0);
    assert_int_equal(f->n_kv, 22);
    bool b = false;
    assert_int_equal(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b, &err), CCAI_OK);
    assert_true(b);
    assert_int_equal(gguf_get_bool(f, "tokenizer.ggml.add_eos_token", &b, &err), CCAI_OK);
    assert_false(b);
    gguf_close(f);
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = small_file(&len);
    gguf_close(parse_ok(buf, len));
    for (size_t n = 0; n < len; n++) {
        /* An exact-size copy, so ASan sees any read past the prefix. */
        uint8_t *cut = ccai_xmemdup(buf, n);
        gguf_file *f = NULL;
        ccai_err err = {0};
        ccai_code rc = gguf_parse(n ? cut : NULL, n, &f, &err);
        if (rc != CCAI_ERR_PARSE || f || strncmp(err.msg, "gguf: ", 6) != 0)
            fail_msg("prefix of %zu bytes: code %d, message \"%s\"", n, rc, err.msg);
        free(cut);
    }
    free(buf);
}

static void test_header(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = small_file(&len);
    char msg[512];
    expect_msg(NULL, 0, CCAI_ERR_PARSE, "gguf: magic at offset 0: need 4 bytes, only 0 left in "
                                        "the 0-byte file");
    memcpy(buf, "GGML", 4);
    expect_msg(buf, len, CCAI_ERR_PARSE, "gguf: magic at offset 0: expected \"GGUF\" "
                                         "(47 47 55 46), found 47 47 4d 4c");
    memcpy(buf, "GGUF", 4);
    ccai_put_le32(buf + 4, 1);
    expect_msg(buf, len, CCAI_ERR_UNSUPPORTED, "gguf: version at offset 4: expected 2 or 3, found 1");
    ccai_put_le32(buf + 4, 4);
    expect_msg(buf, len, CCAI_ERR_UNSUPPORTED, "gguf: version at offset 4: expected 2 or 3, found 4");
    ccai_put_le32(buf + 4, 0x03000000);
    expect_msg(buf, len, CCAI_ERR_UNSUPPORTED,
               "gguf: version at offset 4: expected 2 or 3, found 50331648 (a big-endian file, "
               "not supported)");
    ccai_put_le32(buf + 4, 2);
    gguf_file *f = parse_ok(buf, len);
    assert_int_equal(f->version, 2);
    gguf_close(f);
    ccai_put_le32(buf + 4, 3);

    /* Absurd counts fail before any allocation. */
    ccai_put_le64(buf + 16, 1ull << 60);
    snprintf(msg, sizeof msg,
             "gguf: metadata count at offset 16: 1152921504606846976 entries cannot fit in the %zu "
             "bytes left (at most %zu)",
             len - 24, (len - 24) / 13);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    ccai_put_le64(buf + 16, 6);
    ccai_put_le64(buf + 8, 1ull << 60);
    snprintf(msg, sizeof msg,
             "gguf: tensor count at offset 8: 1152921504606846976 tensors cannot fit in the %zu "
             "bytes left (at most %zu)",
             len - 24, (len - 24) / 32);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    /* Plausible against the whole file, impossible after the metadata. */
    ccai_put_le64(buf + 8, (len - 24) / 32);
    gguf_file *g = NULL;
    ccai_err err = {0};
    assert_int_equal(gguf_parse(buf, len, &g, &err), CCAI_ERR_PARSE);
    assert_has(err.msg, "gguf: tensor infos at offset ");
    assert_has(err.msg, " tensors cannot fit in the ");
    free(buf);
}

static void test_metadata_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = small_file(&len);
    uint8_t *orig = ccai_xmemdup(buf, len);
    char msg[512];

    ccai_put_le64(buf + 24, 1ull << 40);
    snprintf(msg, sizeof msg,
             "gguf: key of metadata 0 at offset 24: string length 1099511627776 exceeds the %zu "
             "bytes left",
             len - 32);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);

    size_t at = after(buf, len, "general.architecture") + 4;
    ccai_put_le64(buf + at, 1000000);
    snprintf(msg, sizeof msg,
             "gguf: metadata 'general.architecture' at offset %zu: string length 1000000 exceeds "
             "the %zu bytes left",
             at, len - at - 8);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);

    at = after(buf, len, "llama.block_count");
    ccai_put_le32(buf + at, 13);
    snprintf(msg, sizeof msg,
             "gguf: metadata 'llama.block_count' at offset %zu: unknown value type 13 (expected 0 "
             "to 12)",
             at);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);

    at = after(buf, len, "tokenizer.ggml.add_bos_token") + 4;
    buf[at] = 2;
    snprintf(msg, sizeof msg,
             "gguf: metadata 'tokenizer.ggml.add_bos_token' at offset %zu: bool byte is 2, "
             "expected 0 or 1",
             at);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);

    /* Array counts whose byte size would overflow a multiplication. */
    at = after(buf, len, "tokenizer.ggml.tokens") + 8;
    ccai_put_le64(buf + at, UINT64_MAX);
    snprintf(msg, sizeof msg,
             "gguf: metadata 'tokenizer.ggml.tokens' at offset %zu: array count "
             "18446744073709551615 of string elements exceeds the %zu bytes left (at most %zu fit)",
             at, len - at - 8, (len - at - 8) / 8);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);
    at = after(buf, len, "tokenizer.ggml.scores") + 8;
    ccai_put_le64(buf + at, 1ull << 62);
    snprintf(msg, sizeof msg,
             "gguf: metadata 'tokenizer.ggml.scores' at offset %zu: array count "
             "4611686018427387904 of float32 elements exceeds the %zu bytes left (at most %zu fit)",
             at, len - at - 8, (len - at - 8) / 4);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);
    ccai_put_le32(buf + at - 4, 77);
    snprintf(msg, sizeof msg,
             "gguf: metadata 'tokenizer.ggml.scores' at offset %zu: unknown array element type 77 "
             "(expected 0 to 12)",
             at - 4);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    free(orig);
    free(buf);
}

/* A file with one array nested `levels` deep around a single u8. */
static uint8_t *nested_file(int levels, size_t *len)
{
    ccai_buf body = {0};
    const uint8_t seven = 7;
    gguf_writer_encode_arr(&body, GGUF_TYPE_UINT8, &seven, 1);
    for (int l = 2; l < levels; l++) {
        ccai_buf outer = {0};
        ccai_buf_u32le(&outer, GGUF_TYPE_ARRAY);
        ccai_buf_u64le(&outer, 1);
        ccai_buf_append(&outer, body.data, body.len);
        ccai_buf_free(&body);
        body = outer;
    }
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_arr_raw(w, "deep", GGUF_TYPE_ARRAY, 1, body.data, body.len);
    ccai_buf_free(&body);
    return finish(w, len);
}

static void test_nesting_and_duplicates(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = nested_file(4, &len);
    gguf_file *f = parse_ok(buf, len);
    assert_int_equal(f->kv[0].val.arr.elem_type, GGUF_TYPE_ARRAY);
    assert_int_equal(f->kv[0].val.arr.data_len, 3 * 12 + 1);
    gguf_close(f);
    free(buf);
    buf = nested_file(5, &len);
    char msg[512];
    /* The fourth array's element type: header, key, type, then 12 bytes per
     * enclosing array. */
    size_t at = after(buf, len, "deep") + 4 + 3 * 12;
    snprintf(msg, sizeof msg,
             "gguf: metadata 'deep' at offset %zu: arrays nested deeper than 4 levels", at);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    free(buf);

    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_u32(w, "x", 1);
    gguf_writer_set_u32(w, "dup.a", 1);
    gguf_writer_set_str(w, "dup.b", "two");
    buf = finish(w, &len);
    at = find(buf, len, "dup.b");
    buf[at + 4] = 'a';
    snprintf(msg, sizeof msg,
             "gguf: duplicate key 'dup.a' at offset %zu (metadata 2 repeats metadata 1)", at - 8);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    free(buf);

    w = gguf_writer_new();
    const float z[4] = {0};
    gguf_writer_add_tensor(w, "t.a", GGML_TYPE_F32, 1, (const uint64_t[]){4}, z, 16);
    gguf_writer_add_tensor(w, "t.b", GGML_TYPE_F32, 1, (const uint64_t[]){4}, z, 16);
    buf = finish(w, &len);
    at = find(buf, len, "t.b");
    buf[at + 2] = 'a';
    snprintf(msg, sizeof msg,
             "gguf: duplicate tensor name 't.a' at offset %zu (tensor 1 repeats tensor 0)", at - 8);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    free(buf);
}

static void test_alignment(void **state)
{
    (void)state;
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_u32(w, "general.alignment", 64);
    const float z[3] = {1, 2, 3};
    gguf_writer_add_tensor(w, "a", GGML_TYPE_F32, 1, (const uint64_t[]){3}, z, 12);
    gguf_writer_add_tensor(w, "b", GGML_TYPE_F32, 1, (const uint64_t[]){3}, z, 12);
    size_t len;
    uint8_t *buf = finish(w, &len);
    gguf_file *f = parse_ok(buf, len);
    assert_int_equal(f->alignment, 64);
    assert_int_equal(f->data_offset % 64, 0);
    assert_int_equal(f->tensors[1].offset, 64);
    assert_int_equal(len, f->data_offset + 64 + 12);
    gguf_close(f);
    char msg[512];
    size_t at = find(buf, len, "general.alignment");
    ccai_put_le32(buf + at + 17 + 4, 48);
    snprintf(msg, sizeof msg,
             "gguf: metadata 'general.alignment' at offset %zu: expected a power of two, found 48",
             at - 8);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    ccai_put_le32(buf + at + 17 + 4, 0);
    snprintf(msg, sizeof msg,
             "gguf: metadata 'general.alignment' at offset %zu: expected a power of two, found 0",
             at - 8);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    ccai_put_le32(buf + at + 17, GGUF_TYPE_FLOAT32);
    snprintf(msg, sizeof msg,
             "gguf: metadata 'general.alignment' at offset %zu: expected an integer, found float32",
             at - 8);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    free(buf);
}

/* Offsets of one tensor info's fields in small_file(). */
typedef struct info_at {
    size_t n_dims, dim0, type, offset;
} info_at;

static info_at locate(const uint8_t *buf, size_t len, const char *name, uint32_t n_dims)
{
    info_at a;
    a.n_dims = after(buf, len, name);
    a.dim0 = a.n_dims + 4;
    a.type = a.dim0 + 8 * n_dims;
    a.offset = a.type + 4;
    return a;
}

static void test_tensor_shape_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = small_file(&len);
    uint8_t *orig = ccai_xmemdup(buf, len);
    info_at q = locate(buf, len, Q, 2), down = locate(buf, len, DOWN, 2);
    char msg[512];

    ccai_put_le32(buf + q.n_dims, 0);
    snprintf(msg, sizeof msg, "gguf: tensor '%s' at offset %zu: n_dims is 0, expected 1 to 4", Q,
             q.n_dims);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    ccai_put_le32(buf + q.n_dims, 5);
    snprintf(msg, sizeof msg, "gguf: tensor '%s' at offset %zu: n_dims is 5, expected 1 to 4", Q,
             q.n_dims);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);

    ccai_put_le64(buf + q.dim0 + 8, 0);
    snprintf(msg, sizeof msg, "gguf: tensor '%s' at offset %zu: dimension 1 is 0", Q, q.dim0 + 8);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);

    ccai_put_le64(buf + q.dim0, 1ull << 32);
    ccai_put_le64(buf + q.dim0 + 8, 1ull << 32);
    snprintf(msg, sizeof msg,
             "gguf: tensor '%s' at offset %zu: element count overflows at dimension 1 "
             "(4294967296)",
             Q, q.dim0 + 8);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    /* 2^63 fits uint64 but not ggml's int64 element count. */
    ccai_put_le64(buf + q.dim0 + 8, 1ull << 31);
    snprintf(msg, sizeof msg,
             "gguf: tensor '%s' at offset %zu: element count overflows at dimension 1 "
             "(2147483648)",
             Q, q.dim0 + 8);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    /* 2^62 F32 elements are 2^64 bytes. */
    ccai_put_le64(buf + q.dim0, 1ull << 61);
    ccai_put_le64(buf + q.dim0 + 8, 2);
    snprintf(msg, sizeof msg,
             "gguf: tensor '%s' at offset %zu: byte size of 4611686018427387904 F32 elements "
             "overflows",
             Q, q.type);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);

    ccai_put_le32(buf + q.type, 99);
    snprintf(msg, sizeof msg, "gguf: tensor '%s' at offset %zu: unknown ggml type 99", Q, q.type);
    expect_msg(buf, len, CCAI_ERR_UNSUPPORTED, msg);
    memcpy(buf, orig, len);

    ccai_put_le64(buf + down.dim0, 16);
    snprintf(msg, sizeof msg,
             "gguf: tensor '%s' at offset %zu: row length 16 is not a multiple of the Q8_0 block "
             "size 32",
             DOWN, down.type);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    free(orig);
    free(buf);
}

static void test_tensor_placement_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = small_file(&len);
    gguf_file *f = parse_ok(buf, len);
    size_t data = f->data_offset;
    assert_int_equal(f->tensors[1].offset, 32);
    assert_int_equal(f->tensors[2].offset, 128);
    assert_int_equal(len, data + 128 + 16);
    gguf_close(f);
    uint8_t *orig = ccai_xmemdup(buf, len);
    info_at down = locate(buf, len, DOWN, 2), norm = locate(buf, len, NORM, 3);
    size_t norm_info = find(buf, len, NORM) - 8;
    char msg[512];

    ccai_put_le64(buf + down.offset, 48);
    snprintf(msg, sizeof msg,
             "gguf: tensor '%s' at offset %zu: data offset 48 is not a multiple of the alignment 32",
             DOWN, down.offset);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);

    ccai_put_le64(buf + norm.offset, 1ull << 40);
    snprintf(msg, sizeof msg,
             "gguf: tensor '%s' (info at offset %zu): data at offset 1099511627776 with 16 bytes "
             "ends past the %zu-byte data section at %zu",
             NORM, norm_info, len - data, data);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);
    /* One element too many: 8 bytes past the end of the file. */
    ccai_put_le64(buf + norm.dim0 + 16, 3);
    snprintf(msg, sizeof msg,
             "gguf: tensor '%s' (info at offset %zu): data at offset 128 with 24 bytes ends past "
             "the %zu-byte data section at %zu",
             NORM, norm_info, len - data, data);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    memcpy(buf, orig, len);

    /* blk.0.ffn_down.weight holds [32, 100); 96 is aligned but inside it. */
    ccai_put_le64(buf + norm.offset, 96);
    snprintf(msg, sizeof msg,
             "gguf: tensors '%s' and '%s' overlap: '%s' has data offsets [32, 100), '%s' starts at "
             "96 (info at offset %zu)",
             DOWN, NORM, DOWN, NORM, norm_info);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    ccai_put_le64(buf + norm.offset, 0);
    /* Equal offsets sort in file order: Q (tensor 0) comes first. */
    snprintf(msg, sizeof msg,
             "gguf: tensors '%s' and '%s' overlap: '%s' has data offsets [0, 32), '%s' starts at 0 "
             "(info at offset %zu)",
             Q, NORM, Q, NORM, norm_info);
    expect_msg(buf, len, CCAI_ERR_PARSE, msg);
    free(orig);
    free(buf);
}

static void test_known_but_unsupported_type(void **state)
{
    (void)state;
    gguf_writer *w = gguf_writer_new();
    gguf_writer_add_tensor(w, "blk.0.ffn_up.weight", GGML_TYPE_Q2_K, 1, (const uint64_t[]){256},
                           NULL, 84); /* NULL: zeros */
    size_t len;
    uint8_t *buf = finish(w, &len);
    gguf_file *f = parse_ok(buf, len);
    assert_int_equal(f->tensors[0].type, GGML_TYPE_Q2_K);
    assert_int_equal(f->tensors[0].size, 84);
    assert_false(ggml_type_supported(f->tensors[0].type));
    for (size_t i = 0; i < 84; i++)
        assert_int_equal(f->tensors[0].data[i], 0);
    gguf_close(f);
    free(buf);
}

static void test_getters(void **state)
{
    (void)state;
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_i8(w, "i8", 5);
    gguf_writer_set_i32(w, "neg", -1);
    gguf_writer_set_u64(w, "big", 1ull << 40);
    gguf_writer_set_i64(w, "i64", 1ll << 40);
    gguf_writer_set_u16(w, "u16", 65535);
    gguf_writer_set_f64(w, "f64", 0.5);
    gguf_writer_set_f64(w, "huge", 1e300);
    gguf_writer_set_u8(w, "u8", 1);
    gguf_writer_set_str(w, "s", "text");
    const int32_t ints[] = {1, 2};
    gguf_writer_set_arr(w, "ints", GGUF_TYPE_INT32, ints, 2);
    size_t len;
    uint8_t *buf = finish(w, &len);
    gguf_file *f = parse_ok(buf, len);
    ccai_err err = {0};
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    float x = 0;
    bool b;
    gguf_str s;
    const uint8_t *p;
    char msg[512];
    assert_int_equal(gguf_get_u32(f, "i8", &u32, &err), CCAI_OK);
    assert_int_equal(u32, 5);
    assert_int_equal(gguf_get_u32(f, "u16", &u32, &err), CCAI_OK);
    assert_int_equal(u32, 65535);
    assert_int_equal(gguf_get_u64(f, "big", &u64, &err), CCAI_OK);
    assert_int_equal(u64, 1ull << 40);
    assert_int_equal(gguf_get_u64(f, "i64", &u64, &err), CCAI_OK);
    assert_int_equal(u64, 1ull << 40);
    assert_int_equal(gguf_get_f32(f, "f64", &x, &err), CCAI_OK);
    assert_true(x == 0.5f);

    assert_int_equal(gguf_get_u32(f, "absent", &u32, &err), CCAI_ERR_NOT_FOUND);
    assert_string_equal(err.msg, "gguf: key 'absent' not found");
    assert_int_equal(gguf_get_u32(f, "neg", &u32, &err), CCAI_ERR_PARSE);
    snprintf(msg, sizeof msg,
             "gguf: metadata 'neg' at offset %zu: expected a value from 0 to 4294967295, found -1",
             find(buf, len, "neg") - 8);
    assert_string_equal(err.msg, msg);
    assert_int_equal(gguf_get_u64(f, "neg", &u64, &err), CCAI_ERR_PARSE);
    assert_int_equal(gguf_get_u32(f, "big", &u32, &err), CCAI_ERR_PARSE);
    assert_has(err.msg, "metadata 'big' at offset ");
    assert_has(err.msg, ": expected a value from 0 to 4294967295, found 1099511627776");
    assert_int_equal(gguf_get_u32(f, "s", &u32, &err), CCAI_ERR_PARSE);
    assert_has(err.msg, "metadata 's' at offset ");
    assert_has(err.msg, ": expected an integer, found string");
    assert_int_equal(gguf_get_f32(f, "u8", &x, &err), CCAI_ERR_PARSE);
    assert_has(err.msg, ": expected float32 or float64, found uint8");
    assert_int_equal(gguf_get_f32(f, "huge", &x, &err), CCAI_ERR_PARSE);
    assert_has(err.msg, ": float64 value 1e+300 does not fit float32");
    assert_int_equal(gguf_get_bool(f, "u8", &b, &err), CCAI_ERR_PARSE);
    assert_has(err.msg, ": expected bool, found uint8");
    assert_int_equal(gguf_get_str(f, "ints", &s, &err), CCAI_ERR_PARSE);
    assert_has(err.msg, ": expected string, found array");
    assert_int_equal(gguf_get_arr(f, "ints", GGUF_TYPE_FLOAT32, &p, &u64, &err), CCAI_ERR_PARSE);
    assert_has(err.msg, "metadata 'ints' at offset ");
    assert_has(err.msg, ": expected an array of float32, found an array of int32");
    assert_int_equal(gguf_get_arr(f, "s", GGUF_TYPE_INT32, &p, &u64, &err), CCAI_ERR_PARSE);
    assert_has(err.msg, ": expected an array of int32, found string");
    gguf_str *strs;
    assert_int_equal(gguf_str_array(f, "ints", &strs, &u64, &err), CCAI_ERR_PARSE);
    assert_has(err.msg, ": expected an array of string, found an array of int32");
    assert_int_equal(gguf_get_str(f, "s", &s, &err), CCAI_OK);
    char *d = gguf_strdup(s);
    assert_string_equal(d, "text");
    free(d);
    assert_false(gguf_str_eq(s, "tex"));
    assert_string_equal(gguf_type_name(GGUF_TYPE_FLOAT64), "float64");
    assert_string_equal(gguf_type_name((gguf_type)13), "unknown");
    gguf_close(f);
    free(buf);
}

static void test_open_errors(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = ccai_xasprintf("%s/absent.gguf", dir);
    gguf_file *f = NULL;
    ccai_err err = {0};
    assert_int_equal(gguf_open(path, &f, &err), CCAI_ERR_NOT_FOUND);
    assert_null(f);
    assert_has(err.msg, "absent.gguf: open: ");
    free(path);

    path = ccai_xasprintf("%s/empty.gguf", dir);
    tu_write(path, "", 0);
    assert_int_equal(gguf_open(path, &f, &err), CCAI_ERR_PARSE);
    char *want = ccai_xasprintf("%s: gguf: magic at offset 0: need 4 bytes, only 0 left in the "
                                "0-byte file",
                                path);
    assert_string_equal(err.msg, want);
    free(want);

    size_t len;
    uint8_t *buf = small_file(&len);
    ccai_put_le32(buf + 4, 1);
    tu_write(path, buf, len);
    assert_int_equal(gguf_open(path, &f, &err), CCAI_ERR_UNSUPPORTED);
    want = ccai_xasprintf("%s: gguf: version at offset 4: expected 2 or 3, found 1", path);
    assert_string_equal(err.msg, want);
    free(want);
    free(buf);

    assert_int_equal(gguf_open(dir, &f, &err), CCAI_ERR_IO);
    assert_has(err.msg, ": expected a regular file");
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ggml_types),
        cmocka_unit_test(test_stories260k),
        cmocka_unit_test(test_llama2_tiny_random),
        cmocka_unit_test(test_vocab_only),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_metadata_errors),
        cmocka_unit_test(test_nesting_and_duplicates),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_tensor_shape_errors),
        cmocka_unit_test(test_tensor_placement_errors),
        cmocka_unit_test(test_known_but_unsupported_type),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
