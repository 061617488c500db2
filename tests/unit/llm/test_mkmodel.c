/* Tests for src/llm/mkmodel.c: a tiny llama and a tiny qwen2 in every ftype
 * reload with exact metadata, shapes and per-tensor types (the _M mixes
 * included) and bind as models; values have the promised spread; the same
 * seed gives the same bytes and another seed other bytes; the synthetic
 * vocabulary tokenizes; a vocabulary copied from a real model is
 * byte-for-byte the original's; row lengths the type cannot hold fall back;
 * llama3 rope divisors; bad specs fail with clear messages. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/chat.h"
#include "llm/ggml_types.h"
#include "llm/gguf.h"
#include "llm/mkmodel.h"
#include "llm/model.h"
#include "llm/quant.h"
#include "llm/tokenizer.h"

static const char *const FTYPES[] = {"F32",  "F16",  "BF16", "Q8_0", "Q4_0",   "Q4_1",  "Q5_0",
                                     "Q5_1", "Q4_K", "Q5_K", "Q6_K", "Q4_K_M", "Q5_K_M"};
#define N_FTYPES (sizeof FTYPES / sizeof FTYPES[0])

static char *write_model(const llm_mkmodel_spec *sp, const char *dir, const char *file)
{
    char *path = ccai_xasprintf("%s/%s", dir, file);
    ccai_err err = {0};
    if (llm_mkmodel_write(sp, path, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    return path;
}

static gguf_file *open_model(const char *path)
{
    gguf_file *f = NULL;
    ccai_err err = {0};
    if (gguf_open(path, &f, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    return f;
}

static uint64_t get_u64(const gguf_file *f, const char *key)
{
    uint64_t v = 0;
    ccai_err err = {0};
    if (gguf_get_u64(f, key, &v, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    return v;
}

static void assert_str_key(const gguf_file *f, const char *key, const char *want)
{
    gguf_str s;
    assert_int_equal(gguf_get_str(f, key, &s, NULL), CCAI_OK);
    assert_true(gguf_str_eq(s, want));
}

static void assert_tensor(const gguf_file *f, const char *name, uint32_t type, uint64_t ne0,
                          uint64_t ne1)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t)
        fail_msg("tensor %s missing", name);
    if (t->type != type)
        fail_msg("tensor %s: type %s, expected %s", name, ggml_type_name(t->type),
                 ggml_type_name(type));
    assert_int_equal(t->ne[0], ne0);
    assert_int_equal(t->ne[1], ne1);
    assert_int_equal(t->n_dims, ne1 == 1 ? 1 : 2);
}

/* The type the mix rule gives (mkmodel.c), restated for the test. */
static uint32_t main_type(const char *ftype)
{
    static const struct {
        const char *n;
        uint32_t t;
    } m[] = {{"F32", GGML_TYPE_F32},   {"F16", GGML_TYPE_F16},    {"BF16", GGML_TYPE_BF16},
             {"Q8_0", GGML_TYPE_Q8_0}, {"Q4_0", GGML_TYPE_Q4_0},  {"Q4_1", GGML_TYPE_Q4_1},
             {"Q5_0", GGML_TYPE_Q5_0}, {"Q5_1", GGML_TYPE_Q5_1},  {"Q4_K", GGML_TYPE_Q4_K},
             {"Q5_K", GGML_TYPE_Q5_K}, {"Q6_K", GGML_TYPE_Q6_K},  {"Q4_K_M", GGML_TYPE_Q4_K},
             {"Q5_K_M", GGML_TYPE_Q5_K}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (strcmp(m[i].n, ftype) == 0)
            return m[i].t;
    fail_msg("ftype %s", ftype);
    return 0;
}

/* Checks every tensor of a 2-layer tiny model; in the _M mixes layer 1 is
 * the one use_more_bits picks (1 >= 7*2/8). */
static void check_tiny_tensors(const gguf_file *f, const llm_mkmodel_spec *sp, const char *ftype)
{
    bool mix = strstr(ftype, "_M") != NULL, qwen2 = strcmp(sp->arch, "qwen2") == 0;
    uint32_t M = main_type(ftype), F32 = GGML_TYPE_F32;
    uint32_t hd = sp->n_embd / sp->n_head, q = sp->n_head * hd, kv = sp->n_head_kv * hd;
    uint32_t E = sp->n_embd, V = sp->n_vocab;
    uint32_t out_t = mix ? GGML_TYPE_Q6_K : M;
    assert_tensor(f, "token_embd.weight", sp->tied_embeddings ? out_t : M, E, V);
    assert_tensor(f, "output_norm.weight", F32, E, 1);
    if (sp->tied_embeddings)
        assert_null(gguf_find_tensor(f, "output.weight"));
    else
        assert_tensor(f, "output.weight", out_t, E, V);
    char n[64];
    for (uint32_t l = 0; l < 2; l++) {
        uint32_t more = mix && l == 1 ? GGML_TYPE_Q6_K : M;
#define NAME(s) (snprintf(n, sizeof n, "blk.%u." s, l), n)
        assert_tensor(f, NAME("attn_norm.weight"), F32, E, 1);
        assert_tensor(f, NAME("attn_q.weight"), M, E, q);
        assert_tensor(f, NAME("attn_k.weight"), M, E, kv);
        assert_tensor(f, NAME("attn_v.weight"), more, E, kv);
        assert_tensor(f, NAME("attn_output.weight"), M, q, E);
        assert_tensor(f, NAME("ffn_norm.weight"), F32, E, 1);
        assert_tensor(f, NAME("ffn_gate.weight"), M, E, sp->n_ff);
        assert_tensor(f, NAME("ffn_up.weight"), M, E, sp->n_ff);
        assert_tensor(f, NAME("ffn_down.weight"), more, sp->n_ff, E);
        if (qwen2) {
            assert_tensor(f, NAME("attn_q.bias"), F32, q, 1);
            assert_tensor(f, NAME("attn_k.bias"), F32, kv, 1);
            assert_tensor(f, NAME("attn_v.bias"), F32, kv, 1);
        } else {
            assert_null(gguf_find_tensor(f, NAME("attn_q.bias")));
        }
#undef NAME
    }
    uint64_t want = 1 + 1 + (sp->tied_embeddings ? 0 : 1) + 2 * (qwen2 ? 12 : 9);
    assert_int_equal(f->n_tensors, want);
}

static void check_tiny_metadata(const gguf_file *f, const llm_mkmodel_spec *sp,
                                const char *ftype)
{
    char k[128];
    const char *a = sp->arch;
    assert_str_key(f, "general.architecture", a);
    assert_str_key(f, "general.name", sp->name);
    assert_int_equal(get_u64(f, "general.file_type"), llm_mkmodel_file_type(ftype));
#define KEY(s) (snprintf(k, sizeof k, "%s." s, a), k)
    assert_int_equal(get_u64(f, KEY("context_length")), sp->n_ctx);
    assert_int_equal(get_u64(f, KEY("embedding_length")), sp->n_embd);
    assert_int_equal(get_u64(f, KEY("block_count")), sp->n_layer);
    assert_int_equal(get_u64(f, KEY("feed_forward_length")), sp->n_ff);
    assert_int_equal(get_u64(f, KEY("attention.head_count")), sp->n_head);
    assert_int_equal(get_u64(f, KEY("attention.head_count_kv")), sp->n_head_kv);
    assert_int_equal(get_u64(f, KEY("rope.dimension_count")), sp->n_embd / sp->n_head);
    assert_int_equal(get_u64(f, KEY("vocab_size")), sp->n_vocab);
    float v;
    assert_int_equal(gguf_get_f32(f, KEY("attention.layer_norm_rms_epsilon"), &v, NULL), CCAI_OK);
    assert_true(v == sp->rms_eps);
    assert_int_equal(gguf_get_f32(f, KEY("rope.freq_base"), &v, NULL), CCAI_OK);
    assert_true(v == sp->rope_base);
    assert_null(gguf_find(f, KEY("attention.key_length")));
#undef KEY
}

/* Mean and standard deviation of a tensor's values, dequantized. */
static void tensor_stats(const gguf_tensor *t, double *mean, double *std)
{
    int64_t cols = (int64_t)t->ne[0], rows = (int64_t)(t->n_elements / t->ne[0]);
    size_t rb = t->size / (size_t)rows;
    float *row = malloc((size_t)cols * sizeof *row);
    double s = 0, s2 = 0;
    for (int64_t r = 0; r < rows; r++) {
        llm_dequantize_row(t->type, t->data + (size_t)r * rb, row, cols);
        for (int64_t c = 0; c < cols; c++) {
            s += row[c];
            s2 += (double)row[c] * row[c];
        }
    }
    free(row);
    double n = (double)t->n_elements;
    *mean = s / n;
    *std = sqrt(s2 / n - *mean * *mean);
}

static void test_tiny_every_ftype(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    const char *presets[] = {"tiny-llama", "tiny-qwen2"};
    for (size_t p = 0; p < 2; p++) {
        for (size_t i = 0; i < N_FTYPES; i++) {
            llm_mkmodel_spec sp;
            assert_int_equal(llm_mkmodel_preset(presets[p], &sp, NULL), CCAI_OK);
            sp.ftype = FTYPES[i];
            char *path = write_model(&sp, dir, "m.gguf");
            gguf_file *f = open_model(path);
            check_tiny_metadata(f, &sp, FTYPES[i]);
            check_tiny_tensors(f, &sp, FTYPES[i]);
            double mean, std;
            tensor_stats(gguf_find_tensor(f, "blk.0.ffn_up.weight"), &mean, &std);
            assert_true(fabs(mean) < 0.002 && std > 0.018 && std < 0.022);
            tensor_stats(gguf_find_tensor(f, "blk.1.attn_norm.weight"), &mean, &std);
            assert_true(fabs(mean - 1.0) < 0.01 && std > 0.01 && std < 0.03);
            gguf_close(f);

            /* The model layer accepts it. */
            llm_model *m = NULL;
            ccai_err err = {0};
            if (llm_model_load(path, &m, &err) != CCAI_OK)
                fail_msg("%s %s: %s", presets[p], FTYPES[i], err.msg);
            assert_int_equal(m->hp.n_vocab, sp.n_vocab);
            assert_int_equal(m->hp.tied_embeddings, sp.tied_embeddings);
            llm_model_free(m);
            free(path);
        }
    }
    tu_rm_rf(dir);
    free(dir);
}

static void test_same_seed_same_bytes(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    /* token_embd (tied: Q6_K) is past the pool size, so the reuse of
     * quantized blocks is covered too. */
    llm_mkmodel_spec sp = {.arch = "qwen2", .n_embd = 256, .n_layer = 1, .n_ff = 256,
                           .n_head = 1, .n_head_kv = 1, .head_dim = 32, .n_ctx = 64,
                           .n_vocab = 1100, .rope_base = 1e6f, .rms_eps = 1e-6f,
                           .tied_embeddings = true, .ftype = "Q4_K_M", .seed = 42};
    char *a = write_model(&sp, dir, "a.gguf");
    char *b = write_model(&sp, dir, "b.gguf");
    sp.seed = 43;
    char *c = write_model(&sp, dir, "c.gguf");
    size_t la, lb, lc;
    uint8_t *da = tu_read(a, &la), *db = tu_read(b, &lb), *dc = tu_read(c, &lc);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    assert_int_equal(la, lc); /* same shapes and types, */
    assert_memory_not_equal(da, dc, la); /* other values */
    /* Within one file, tensors of the same shape differ too. */
    gguf_file *f = open_model(a);
    const gguf_tensor *g = gguf_find_tensor(f, "blk.0.ffn_gate.weight");
    const gguf_tensor *u = gguf_find_tensor(f, "blk.0.ffn_up.weight");
    assert_int_equal(g->size, u->size);
    assert_memory_not_equal(g->data, u->data, g->size);
    gguf_close(f);
    free(da);
    free(db);
    free(dc);
    free(a);
    free(b);
    free(c);
    tu_rm_rf(dir);
    free(dir);
}

static void test_synthetic_vocab(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    llm_mkmodel_spec sp;
    assert_int_equal(llm_mkmodel_preset("tiny-qwen2", &sp, NULL), CCAI_OK);
    char *path = write_model(&sp, dir, "v.gguf");
    gguf_file *f = open_model(path);
    gguf_str *toks;
    uint64_t n;
    assert_int_equal(gguf_str_array(f, "tokenizer.ggml.tokens", &toks, &n, NULL), CCAI_OK);
    assert_int_equal(n, 320);
    assert_true(gguf_str_eq(toks[0], "Ā"));  /* byte 0 -> U+0100 */
    assert_true(gguf_str_eq(toks[32], "Ġ")); /* space -> U+0120 */
    assert_true(gguf_str_eq(toks[65], "A"));
    assert_true(gguf_str_eq(toks[255], "ÿ"));
    assert_true(gguf_str_eq(toks[260], "Ġthe"));
    assert_true(gguf_str_eq(toks[277], "<|im_start|>"));
    assert_true(gguf_str_eq(toks[281], "[PAD281]"));
    free(toks);
    assert_str_key(f, "tokenizer.ggml.model", "gpt2");
    assert_str_key(f, "tokenizer.ggml.pre", "qwen2");
    assert_int_equal(get_u64(f, "tokenizer.ggml.bos_token_id"), 276);
    assert_int_equal(get_u64(f, "tokenizer.ggml.eos_token_id"), 278);
    gguf_str tmpl;
    assert_int_equal(gguf_get_str(f, "tokenizer.chat_template", &tmpl, NULL), CCAI_OK);
    char *t = gguf_strdup(tmpl);
    assert_int_equal(llm_chat_detect(t), LLM_CHAT_CHATML);
    free(t);

    /* It is a working vocabulary. */
    llm_tokenizer *tok = NULL;
    ccai_err err = {0};
    if (llm_tokenizer_from_gguf(f, &tok, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    const char *text = "<|im_start|>user\n the and<|im_end|>";
    int32_t *ids = NULL;
    size_t nids = 0;
    assert_int_equal(llm_tokenize(tok, text, strlen(text), false, true, &ids, &nids, &err),
                     CCAI_OK);
    const int32_t want[] = {277, 'u', 's', 261, '\n', 260, 268, 278};
    assert_int_equal(nids, sizeof want / sizeof want[0]);
    assert_memory_equal(ids, want, sizeof want);
    free(ids);
    llm_tokenizer_free(tok);
    gguf_close(f);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

static void test_vocab_from(void **state)
{
    (void)state;
    const char *src_path = tu_shared_path("models/stories260K.gguf");
    TU_SKIP_IF_NO_SHARED(src_path);
    char *src_copy = ccai_xstrdup(src_path);
    char *dir = tu_tmpdir();
    llm_mkmodel_spec sp;
    assert_int_equal(llm_mkmodel_preset("tiny-llama", &sp, NULL), CCAI_OK);
    sp.vocab_from = src_copy;
    sp.ftype = "Q8_0";
    char *path = write_model(&sp, dir, "s.gguf");
    gguf_file *src = open_model(src_copy), *f = open_model(path);
    size_t copied = 0;
    for (uint64_t i = 0; i < src->n_kv; i++) {
        const gguf_kv *kv = &src->kv[i];
        if (kv->key.len < 10 || memcmp(kv->key.ptr, "tokenizer.", 10) != 0)
            continue;
        char *key = gguf_strdup(kv->key);
        const gguf_kv *got = gguf_find(f, key);
        if (!got)
            fail_msg("%s not copied", key);
        assert_int_equal(got->val.type, kv->val.type);
        if (kv->val.type == GGUF_TYPE_ARRAY) {
            assert_int_equal(got->val.arr.elem_type, kv->val.arr.elem_type);
            assert_int_equal(got->val.arr.count, kv->val.arr.count);
            assert_int_equal(got->val.arr.data_len, kv->val.arr.data_len);
            assert_memory_equal(got->val.arr.data, kv->val.arr.data, kv->val.arr.data_len);
        } else if (kv->val.type == GGUF_TYPE_STRING) {
            assert_int_equal(got->val.s.len, kv->val.s.len);
            assert_memory_equal(got->val.s.ptr, kv->val.s.ptr, kv->val.s.len);
        } else {
            assert_memory_equal(&got->val.u, &kv->val.u, sizeof kv->val.u);
        }
        free(key);
        copied++;
    }
    assert_true(copied >= 5); /* model, tokens, scores, token_type, bos, eos, ... */
    /* Nothing else under tokenizer.* (no synthetic leftovers). */
    size_t mine = 0;
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (f->kv[i].key.len >= 10 && memcmp(f->kv[i].key.ptr, "tokenizer.", 10) == 0)
            mine++;
    assert_int_equal(mine, copied);
    assert_null(gguf_find(f, "tokenizer.chat_template"));
    assert_int_equal(get_u64(f, "llama.vocab_size"), 512);
    assert_tensor(f, "token_embd.weight", GGML_TYPE_Q8_0, 256, 512);
    assert_tensor(f, "output.weight", GGML_TYPE_Q8_0, 256, 512);
    gguf_close(src);
    gguf_close(f);
    free(path);
    free(src_copy);
    tu_rm_rf(dir);
    free(dir);
}

/* A deeper model shows llama.cpp's layer pattern; odd widths fall back. */
static void test_mix_and_fallback(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    /* Narrow heads and FFN keep it cheap; ffn_down's rows of 32 show the
     * pattern through the fallbacks (Q6_K -> Q8_0, Q4_K -> Q5_0). */
    llm_mkmodel_spec sp = {.arch = "llama", .n_embd = 256, .n_layer = 28, .n_ff = 32,
                           .n_head = 1, .n_head_kv = 1, .head_dim = 32, .n_ctx = 64,
                           .rope_base = 10000.0f, .rms_eps = 1e-5f, .ftype = "Q4_K_M",
                           .seed = 7, .name = "deep"};
    char *path = write_model(&sp, dir, "d.gguf");
    gguf_file *f = open_model(path);
    const int more[] = {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27};
    for (uint32_t l = 0, k = 0; l < 28; l++) {
        bool m = k < sizeof more / sizeof more[0] && more[k] == (int)l;
        k += m;
        char n[64];
        snprintf(n, sizeof n, "blk.%u.attn_v.weight", l);
        assert_tensor(f, n, m ? GGML_TYPE_Q6_K : GGML_TYPE_Q4_K, 256, 32);
        snprintf(n, sizeof n, "blk.%u.ffn_down.weight", l);
        assert_tensor(f, n, m ? GGML_TYPE_Q8_0 : GGML_TYPE_Q5_0, 32, 256);
        snprintf(n, sizeof n, "blk.%u.attn_q.weight", l);
        assert_tensor(f, n, GGML_TYPE_Q4_K, 256, 32);
    }
    assert_int_equal(get_u64(f, "general.file_type"), 15);
    assert_int_equal(get_u64(f, "llama.vocab_size"), 281); /* the synthetic minimum */
    gguf_close(f);
    free(path);

    /* Rows of 96 cannot be K blocks: Q4_K -> Q5_0, Q6_K -> Q8_0. */
    sp = (llm_mkmodel_spec){.arch = "qwen2", .n_embd = 96, .n_layer = 1, .n_ff = 160,
                            .n_head = 3, .n_head_kv = 1, .n_ctx = 64, .n_vocab = 300,
                            .rope_base = 1e6f, .rms_eps = 1e-6f, .ftype = "Q4_K_M", .seed = 1};
    path = write_model(&sp, dir, "o.gguf");
    f = open_model(path);
    assert_tensor(f, "blk.0.attn_q.weight", GGML_TYPE_Q5_0, 96, 96);
    assert_tensor(f, "blk.0.ffn_down.weight", GGML_TYPE_Q8_0, 160, 96);
    assert_tensor(f, "output.weight", GGML_TYPE_Q8_0, 96, 300);
    assert_str_key(f, "general.name", "ccai-mkmodel");
    gguf_close(f);
    free(path);
    /* Rows of 40 cannot be 32-blocks either: F16. head_dim set explicitly. */
    sp.n_embd = 40;
    sp.n_ff = 64;
    sp.n_head = 2;
    sp.head_dim = 16;
    sp.ftype = "Q4_0";
    path = write_model(&sp, dir, "h.gguf");
    f = open_model(path);
    assert_tensor(f, "blk.0.attn_q.weight", GGML_TYPE_F16, 40, 32);
    assert_tensor(f, "blk.0.attn_output.weight", GGML_TYPE_Q4_0, 32, 40);
    assert_tensor(f, "blk.0.ffn_down.weight", GGML_TYPE_Q4_0, 64, 40);
    assert_int_equal(get_u64(f, "qwen2.attention.key_length"), 16);
    assert_int_equal(get_u64(f, "qwen2.rope.dimension_count"), 16);
    gguf_close(f);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

/* Past POOL_BLOCKS super-blocks a K tensor reuses its first rows' blocks. */
static void test_large_k_tensor(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    llm_mkmodel_spec sp = {.arch = "qwen2", .n_embd = 256, .n_layer = 1, .n_ff = 256,
                           .n_head = 2, .n_head_kv = 2, .n_ctx = 64, .n_vocab = 1500,
                           .rope_base = 1e6f, .rms_eps = 1e-6f, .tied_embeddings = true,
                           .ftype = "Q4_K", .seed = 9};
    char *path = write_model(&sp, dir, "k.gguf");
    gguf_file *f = open_model(path);
    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    assert_int_equal(t->type, GGML_TYPE_Q4_K);
    const size_t bs = sizeof(block_q4_K);
    size_t pooled = 0;
    for (size_t r = 1024; r < 1500; r++) {
        bool found = false;
        for (size_t p = 0; p < 1024 && !found; p++)
            found = memcmp(t->data + r * bs, t->data + p * bs, bs) == 0;
        assert_true(found);
        pooled++;
    }
    assert_int_equal(pooled, 476);
    /* Rows still differ from one another, and the spread is unchanged. */
    assert_memory_not_equal(t->data + 1024 * bs, t->data + 1025 * bs, bs);
    double mean, std;
    tensor_stats(t, &mean, &std);
    assert_true(fabs(mean) < 0.002 && std > 0.018 && std < 0.022);
    gguf_close(f);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

static void test_llama3_rope(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    llm_mkmodel_spec sp = {.arch = "llama", .n_embd = 256, .n_layer = 1, .n_ff = 256,
                           .n_head = 2, .n_head_kv = 2, .n_ctx = 64, .rope_base = 500000.0f,
                           .rms_eps = 1e-5f, .llama3_rope = true, .tied_embeddings = true,
                           .ftype = "F16", .seed = 3};
    char *path = write_model(&sp, dir, "r.gguf");
    gguf_file *f = open_model(path);
    const gguf_tensor *t = gguf_find_tensor(f, "rope_freqs.weight");
    assert_non_null(t);
    assert_int_equal(t->type, GGML_TYPE_F32);
    assert_int_equal(t->ne[0], 64);
    float div[64];
    memcpy(div, t->data, sizeof div);
    assert_true(div[0] == 1.0f);
    assert_true(div[63] == 8.0f);
    for (int i = 1; i < 64; i++)
        assert_true(div[i] >= div[i - 1]);
    assert_true(div[30] > 1.0f && div[30] < 8.0f); /* in the blended band */
    gguf_close(f);
    llm_model *m = NULL;
    ccai_err err = {0};
    if (llm_model_load(path, &m, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(m->hp.rope_scaling, "llama3");
    assert_true(m->hp.tied_embeddings);
    llm_model_free(m);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

static void expect_fail(const llm_mkmodel_spec *sp, ccai_code code, const char *msg)
{
    ccai_err err = {0};
    assert_int_equal(llm_mkmodel_write(sp, "/nonexistent-dir/x.gguf", &err), code);
    if (!strstr(err.msg, msg))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg);
}

static void test_presets_and_errors(void **state)
{
    (void)state;
    const char *const *names = llm_mkmodel_preset_names();
    size_t n = 0;
    for (; names[n]; n++) {
        llm_mkmodel_spec sp;
        assert_int_equal(llm_mkmodel_preset(names[n], &sp, NULL), CCAI_OK);
        assert_string_equal(sp.name, names[n]);
    }
    assert_int_equal(n, 8);
    llm_mkmodel_spec sp;
    assert_int_equal(llm_mkmodel_preset("qwen2-1.5b", &sp, NULL), CCAI_OK);
    assert_string_equal(sp.arch, "qwen2");
    assert_int_equal(sp.n_layer, 28);
    assert_int_equal(sp.n_embd, 1536);
    assert_int_equal(sp.n_ff, 8960);
    assert_int_equal(sp.n_head, 12);
    assert_int_equal(sp.n_head_kv, 2);
    assert_int_equal(sp.n_vocab, 151936);
    assert_true(sp.rope_base == 10000.0f && sp.rms_eps == 1e-6f);
    assert_string_equal(sp.ftype, "Q4_K_M");
    assert_int_equal(llm_mkmodel_preset("llama-8b", &sp, NULL), CCAI_OK);
    assert_true(sp.llama3_rope);
    assert_int_equal(sp.n_vocab, 128256);
    ccai_err err = {0};
    assert_int_equal(llm_mkmodel_preset("gpt-5", &sp, &err), CCAI_ERR_NOT_FOUND);
    assert_true(strstr(err.msg, "no preset \"gpt-5\"") != NULL);
    assert_int_equal(llm_mkmodel_file_type("Q4_K_M"), 15);
    assert_int_equal(llm_mkmodel_file_type("BF16"), 32);
    assert_int_equal(llm_mkmodel_file_type("Q3_K"), -1);

    llm_mkmodel_spec base;
    llm_mkmodel_preset("tiny-llama", &base, NULL);
    sp = base;
    sp.arch = "gemma";
    expect_fail(&sp, CCAI_ERR_ARG, "arch \"gemma\" unsupported (expected llama or qwen2)");
    sp = base;
    sp.ftype = "Q3_K";
    expect_fail(&sp, CCAI_ERR_ARG, "ftype \"Q3_K\" unknown");
    sp = base;
    sp.n_head_kv = 3;
    expect_fail(&sp, CCAI_ERR_ARG, "n_head 4 is not a multiple of n_head_kv 3");
    sp = base;
    sp.n_layer = 0;
    expect_fail(&sp, CCAI_ERR_ARG, "n_layer must be positive, found 0");
    sp = base;
    sp.n_embd = 250;
    expect_fail(&sp, CCAI_ERR_ARG, "n_embd 250 is not a multiple of n_head 4");
    sp = base;
    sp.n_vocab = 100;
    expect_fail(&sp, CCAI_ERR_ARG, "n_vocab 100 is below the synthetic vocabulary's 281 tokens");
    sp = base;
    sp.vocab_from = "/nonexistent/vocab.gguf";
    expect_fail(&sp, CCAI_ERR_NOT_FOUND, "mkmodel: vocabulary from /nonexistent/vocab.gguf");
    sp = base;
    sp.ftype = "Q8_0";
    expect_fail(&sp, CCAI_ERR_IO, "mkmodel: /nonexistent-dir/x.gguf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_every_ftype),  cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_synthetic_vocab),   cmocka_unit_test(test_vocab_from),
        cmocka_unit_test(test_mix_and_fallback),  cmocka_unit_test(test_large_k_tensor),
        cmocka_unit_test(test_llama3_rope),
        cmocka_unit_test(test_presets_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
