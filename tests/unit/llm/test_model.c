/* Tests for src/llm/model.c (and the engine end to end on the shared models):
 * stories260K's greedy continuation token for token, llama-2-tiny-random
 * (F16) loading and evaluating, hyperparameter defaults and rotary scaling on
 * generated files, and every load error with its exact message. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "llm/gguf_write.h"
#include "llm/model.h"
#include "llm/sampler.h"
#include "llm/tokenizer.h"

/* ---- A small generated llama (F32) with knobs for breaking it ------------- */

typedef struct mini {
    const char *arch;      /* general.architecture */
    const char *skip;      /* a tensor left out */
    const char *reshape;   /* a tensor given one row too many */
    const char *retype;    /* a tensor stored as Q2_K */
    bool no_vocab_key;     /* n_vocab from the tokens array */
    bool no_tokens;        /* ... or from token_embd */
    bool no_optional;      /* no head_count_kv, freq_base, dimension_count */
    bool tied;             /* no output.weight */
    uint32_t n_head_kv;
    const char *scaling;   /* rope.scaling.type, or NULL */
    bool rope_freqs;       /* a rope_freqs.weight tensor */
} mini;

enum { M_VOCAB = 16, M_EMBD = 256, M_FF = 256, M_HEAD = 2, M_HD = 128 };

static void add_matrix(gguf_writer *w, const mini *o, const char *name, uint64_t cols,
                       uint64_t rows, uint32_t *seed)
{
    if (o->skip && strcmp(o->skip, name) == 0)
        return;
    if (o->reshape && strcmp(o->reshape, name) == 0)
        rows++;
    uint64_t ne[2] = {cols, rows};
    uint32_t n_dims = rows ? 2 : 1;
    if (!rows)
        ne[1] = 1;
    if (o->retype && strcmp(o->retype, name) == 0) {
        size_t bytes = (size_t)(cols / 256 * 84 * ne[1]); /* Q2_K: 84 bytes per 256 */
        uint8_t *z = ccai_xcalloc(bytes, 1);
        gguf_writer_add_tensor(w, name, GGML_TYPE_Q2_K, n_dims, ne, z, bytes);
        free(z);
        return;
    }
    size_t n = (size_t)(cols * ne[1]);
    float *v = ccai_xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        v[i] = rows ? ((float)(*seed >> 8) / 16777216.0f - 0.5f) * 0.2f : 1.0f;
    }
    gguf_writer_add_tensor(w, name, GGML_TYPE_F32, n_dims, ne, v, n * sizeof *v);
    free(v);
}

/* The file as bytes (the caller frees *buf after the model). */
static void build_mini(const mini *o, uint8_t **buf, size_t *len)
{
    gguf_writer *w = gguf_writer_new();
    const char *arch = o->arch ? o->arch : "llama";
    char k[128];
    gguf_writer_set_str(w, "general.architecture", arch);
#define KEY(s) (snprintf(k, sizeof k, "%s.%s", arch, s), k)
    gguf_writer_set_u32(w, KEY("context_length"), 64);
    gguf_writer_set_u32(w, KEY("embedding_length"), M_EMBD);
    gguf_writer_set_u32(w, KEY("block_count"), 1);
    gguf_writer_set_u32(w, KEY("feed_forward_length"), M_FF);
    gguf_writer_set_u32(w, KEY("attention.head_count"), M_HEAD);
    gguf_writer_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), 1e-5f);
    if (!o->no_optional) {
        gguf_writer_set_u32(w, KEY("attention.head_count_kv"), o->n_head_kv ? o->n_head_kv : 1);
        gguf_writer_set_f32(w, KEY("rope.freq_base"), 500000.0f);
        gguf_writer_set_u32(w, KEY("rope.dimension_count"), M_HD);
    }
    if (!o->no_vocab_key)
        gguf_writer_set_u32(w, KEY("vocab_size"), M_VOCAB);
    if (o->scaling) {
        gguf_writer_set_str(w, KEY("rope.scaling.type"), o->scaling);
        gguf_writer_set_f32(w, KEY("rope.scaling.factor"), 8.0f);
        gguf_writer_set_u32(w, KEY("rope.scaling.original_context_length"), 8192);
    }
#undef KEY
    if (!o->no_tokens) {
        const char *toks[M_VOCAB];
        char names[M_VOCAB][8];
        for (int i = 0; i < M_VOCAB; i++) {
            snprintf(names[i], sizeof names[i], "t%d", i);
            toks[i] = names[i];
        }
        gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, M_VOCAB);
    }
    uint32_t seed = 7, kv = o->no_optional ? M_HEAD : (o->n_head_kv ? o->n_head_kv : 1);
    add_matrix(w, o, "token_embd.weight", M_EMBD, M_VOCAB, &seed);
    add_matrix(w, o, "output_norm.weight", M_EMBD, 0, &seed);
    if (!o->tied)
        add_matrix(w, o, "output.weight", M_EMBD, M_VOCAB, &seed);
    if (o->rope_freqs) {
        float d[M_HD / 2];
        for (int i = 0; i < M_HD / 2; i++)
            d[i] = 1.0f + (float)i;
        uint64_t ne[1] = {M_HD / 2};
        gguf_writer_add_tensor(w, "rope_freqs.weight", GGML_TYPE_F32, 1, ne, d, sizeof d);
    }
    add_matrix(w, o, "blk.0.attn_norm.weight", M_EMBD, 0, &seed);
    add_matrix(w, o, "blk.0.attn_q.weight", M_EMBD, M_HEAD * M_HD, &seed);
    add_matrix(w, o, "blk.0.attn_k.weight", M_EMBD, kv * M_HD, &seed);
    add_matrix(w, o, "blk.0.attn_v.weight", M_EMBD, kv * M_HD, &seed);
    add_matrix(w, o, "blk.0.attn_output.weight", M_HEAD * M_HD, M_EMBD, &seed);
    add_matrix(w, o, "blk.0.ffn_norm.weight", M_EMBD, 0, &seed);
    add_matrix(w, o, "blk.0.ffn_gate.weight", M_EMBD, M_FF, &seed);
    add_matrix(w, o, "blk.0.ffn_up.weight", M_EMBD, M_FF, &seed);
    add_matrix(w, o, "blk.0.ffn_down.weight", M_FF, M_EMBD, &seed);
    if (strcmp(arch, "qwen2") == 0) {
        add_matrix(w, o, "blk.0.attn_q.bias", M_HEAD * M_HD, 0, &seed);
        add_matrix(w, o, "blk.0.attn_k.bias", kv * M_HD, 0, &seed);
        add_matrix(w, o, "blk.0.attn_v.bias", kv * M_HD, 0, &seed);
    }
    ccai_err err = {0};
    if (gguf_writer_to_buffer(w, buf, len, &err))
        fail_msg("gguf writer: %s", err.msg);
    gguf_writer_free(w);
}

/* Loads a mini model; returns the load's code (message in *err). */
static ccai_code load_mini(const mini *o, llm_model **m, uint8_t **buf, ccai_err *err)
{
    size_t len;
    build_mini(o, buf, &len);
    gguf_file *f;
    ccai_code rc = gguf_parse(*buf, len, &f, err);
    if (rc)
        fail_msg("gguf_parse: %s", err->msg);
    return llm_model_from_gguf(f, m, err);
}

static void expect_error(const mini *o, ccai_code code, const char *msg)
{
    llm_model *m = NULL;
    uint8_t *buf;
    ccai_err err = {0};
    ccai_code rc = load_mini(o, &m, &buf, &err);
    assert_null(m);
    assert_string_equal(err.msg, msg);
    assert_int_equal(rc, code);
    free(buf);
}

/* ---- Shared models -------------------------------------------------------- */

/* Greedy from BOS "Once upon a time": these ids, then llm-facts §7's text.
 * 57 tokens reach the end of that text (48 end at "play with it,"). */
static const int32_t STORIES_IDS[57] = {
    432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267,
    337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432,
    358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267, 337,
    335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426};
static const char STORIES_TEXT[] =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
    "park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.";

static void greedy_stories(llm_model *m, const llm_tokenizer *tok, llm_pool *pool)
{
    ccai_err err = {0};
    int32_t *ids;
    size_t n;
    const char *prompt = "Once upon a time";
    assert_int_equal(llm_tokenize(tok, prompt, strlen(prompt), true, false, &ids, &n, &err), 0);
    const int32_t want_prompt[] = {1, 403, 407, 261, 378};
    assert_int_equal(n, 5);
    assert_memory_equal(ids, want_prompt, sizeof want_prompt);

    llm_ctx *c;
    assert_int_equal(llm_ctx_new(m, 0, pool, NULL, &c, &err), 0);
    assert_int_equal(llm_ctx_n_ctx(c), 128); /* the training context, below 4096 */
    llm_sampler_params sp = llm_sampler_params_default();
    sp.temperature = 0.0f;
    sp.repeat_penalty = 1.0f;
    llm_sampler *s = llm_sampler_new(&sp, m->hp.n_vocab);
    llm_detok d;
    llm_detok_init(&d, tok, true);
    ccai_buf text = {0};
    for (size_t i = 1; i < n; i++)
        llm_detok_push(&d, ids[i], &text);
    const float *logits;
    assert_int_equal(llm_ctx_eval(c, ids, n, &logits, &err), 0);
    for (int i = 0; i < 57; i++) {
        int32_t t = llm_sampler_sample(s, logits, NULL, 0);
        if (t != STORIES_IDS[i])
            fail_msg("generated token %d: %d, expected %d", i, t, STORIES_IDS[i]);
        llm_detok_push(&d, t, &text);
        assert_int_equal(llm_ctx_eval(c, &t, 1, &logits, &err), 0);
    }
    llm_detok_flush(&d, &text);
    ccai_buf_u8(&text, 0);
    assert_string_equal((const char *)text.data, STORIES_TEXT);
    assert_int_equal(llm_ctx_pos(c), 5 + 57);
    ccai_buf_free(&text);
    llm_sampler_free(s);
    llm_ctx_free(c);
    free(ids);
}

static void test_stories_greedy(void **state)
{
    (void)state;
    const char *path = tu_shared_path("models/stories260K.gguf");
    TU_SKIP_IF_NO_SHARED(path);
    llm_model *m;
    ccai_err err = {0};
    if (llm_model_load(path, &m, &err))
        fail_msg("%s", err.msg);
    const llm_hparams *hp = &m->hp;
    assert_int_equal(hp->arch, LLM_ARCH_LLAMA);
    assert_int_equal(hp->n_vocab, 512);
    assert_int_equal(hp->n_ctx_train, 128);
    assert_int_equal(hp->n_embd, 64);
    assert_int_equal(hp->n_layer, 5);
    assert_int_equal(hp->n_ff, 172);
    assert_int_equal(hp->n_head, 8);
    assert_int_equal(hp->n_head_kv, 4);
    assert_int_equal(hp->head_dim, 8);
    assert_int_equal(hp->n_rot, 8);
    assert_false(hp->tied_embeddings);
    assert_int_equal(m->tok_embd.type, GGML_TYPE_F32);
    llm_tokenizer *tok;
    if (llm_tokenizer_from_gguf(m->file, &tok, &err))
        fail_msg("%s", err.msg);
    greedy_stories(m, tok, NULL);
    llm_pool *pool = llm_pool_new(3);
    greedy_stories(m, tok, pool);
    llm_pool_free(pool);
    llm_tokenizer_free(tok);
    llm_model_free(m);
}

static void test_tiny_random(void **state)
{
    (void)state;
    const char *path = tu_shared_path("models/llama-2-tiny-random.gguf");
    TU_SKIP_IF_NO_SHARED(path);
    llm_model *m;
    ccai_err err = {0};
    if (llm_model_load(path, &m, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(m->hp.n_vocab, 32000);
    assert_int_equal(m->tok_embd.type, GGML_TYPE_F16);
    assert_int_equal(m->layers[0].wq.type, GGML_TYPE_F16);
    llm_ctx *c;
    assert_int_equal(llm_ctx_new(m, 64, NULL, NULL, &c, &err), 0);
    const int32_t toks[] = {1, 450, 4996, 17354, 31999, 0};
    const float *logits;
    for (size_t i = 0; i < sizeof toks / sizeof toks[0]; i++) {
        assert_int_equal(llm_ctx_eval(c, &toks[i], 1, &logits, &err), 0);
        float lo = logits[0], hi = logits[0];
        for (uint32_t v = 0; v < m->hp.n_vocab; v++) {
            assert_true(isfinite(logits[v]));
            lo = fminf(lo, logits[v]);
            hi = fmaxf(hi, logits[v]);
        }
        assert_true(hi > lo);
    }
    llm_ctx_free(c);
    llm_model_free(m);
}

/* ---- Hyperparameters ------------------------------------------------------ */

static void test_defaults(void **state)
{
    (void)state;
    mini o = {.no_optional = true, .no_vocab_key = true, .tied = true};
    llm_model *m;
    uint8_t *buf;
    ccai_err err = {0};
    if (load_mini(&o, &m, &buf, &err))
        fail_msg("%s", err.msg);
    const llm_hparams *hp = &m->hp;
    assert_int_equal(hp->n_vocab, M_VOCAB); /* from the tokens array */
    assert_int_equal(hp->n_head_kv, M_HEAD);
    assert_int_equal(hp->head_dim, M_HD);
    assert_int_equal(hp->n_rot, M_HD);
    assert_float_equal(hp->rope_base, 10000.0f, 0);
    assert_float_equal(hp->rms_eps, 1e-5f, 0);
    assert_int_equal(hp->n_ctx_train, 64);
    assert_true(hp->tied_embeddings);
    assert_ptr_equal(m->output.data, m->tok_embd.data);
    assert_string_equal(hp->rope_scaling, "none");
    assert_true(fabs(m->rope_inv_freq[1] - pow(10000.0, -2.0 / M_HD)) < 1e-15);
    llm_model_free(m);
    free(buf);

    o = (mini){.no_vocab_key = true, .no_tokens = true};
    if (load_mini(&o, &m, &buf, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(m->hp.n_vocab, M_VOCAB); /* from token_embd */
    assert_false(m->hp.tied_embeddings);
    assert_int_equal(m->hp.n_head_kv, 1);
    llm_model_free(m);
    free(buf);
}

static void test_rope_scaling(void **state)
{
    (void)state;
    llm_model *m;
    uint8_t *buf;
    ccai_err err = {0};
    mini o = {.scaling = "llama3"};
    if (load_mini(&o, &m, &buf, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(m->hp.rope_scaling, "llama3");
    const double two_pi = 6.283185307179586;
    for (int i = 0; i < M_HD / 2; i++) {
        /* llm-facts §3, written out again: factor 8, low 1, high 4, 8192. */
        double f = pow(500000.0, -2.0 * i / M_HD), wl = two_pi / f, want;
        if (wl < 8192.0 / 4)
            want = f;
        else if (wl > 8192.0)
            want = f / 8;
        else {
            double s = (8192.0 / wl - 1) / 3;
            want = f / (1 / ((1 - s) / 8 + s));
        }
        assert_true(fabs(m->rope_inv_freq[i] - want) <= 1e-12 * want);
    }
    assert_true(m->rope_inv_freq[0] == 1.0);                      /* short wavelength kept */
    assert_true(fabs(m->rope_inv_freq[M_HD / 2 - 1] * 8 -         /* long one slowed by 8 */
                     pow(500000.0, -2.0 * (M_HD / 2 - 1) / M_HD)) < 1e-15);
    llm_model_free(m);
    free(buf);

    o = (mini){.scaling = "linear"};
    if (load_mini(&o, &m, &buf, &err))
        fail_msg("%s", err.msg);
    assert_true(fabs(m->rope_inv_freq[3] * 8 - pow(500000.0, -6.0 / M_HD)) < 1e-15);
    llm_model_free(m);
    free(buf);

    o = (mini){.rope_freqs = true}; /* divisors 1, 2, 3, ... */
    if (load_mini(&o, &m, &buf, &err))
        fail_msg("%s", err.msg);
    assert_true(fabs(m->rope_inv_freq[5] * 6 - pow(500000.0, -10.0 / M_HD)) < 1e-15);
    llm_model_free(m);
    free(buf);

    o = (mini){.scaling = "yarn"};
    expect_error(&o, CCAI_ERR_UNSUPPORTED,
                 "llama: rope scaling 'yarn' is not supported (supported: none, linear, llama3)");
}

/* ---- Errors --------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    mini o = {.arch = "gemma"};
    expect_error(&o, CCAI_ERR_UNSUPPORTED,
                 "unsupported architecture 'gemma' (supported: llama, qwen2)");
    o = (mini){.skip = "blk.0.ffn_up.weight"};
    expect_error(&o, CCAI_ERR_NOT_FOUND, "missing tensor 'blk.0.ffn_up.weight'");
    o = (mini){.skip = "output_norm.weight"};
    expect_error(&o, CCAI_ERR_NOT_FOUND, "missing tensor 'output_norm.weight'");
    o = (mini){.reshape = "blk.0.attn_k.weight"};
    expect_error(&o, CCAI_ERR_PARSE,
                 "tensor 'blk.0.attn_k.weight': expected shape [256, 128], found [256, 129]");
    o = (mini){.reshape = "output.weight"};
    expect_error(&o, CCAI_ERR_PARSE,
                 "tensor 'output.weight': expected shape [256, 16], found [256, 17]");
    o = (mini){.retype = "blk.0.attn_q.weight"};
    expect_error(&o, CCAI_ERR_UNSUPPORTED,
                 "tensor 'blk.0.attn_q.weight': type Q2_K is not supported (supported: F32, F16, "
                 "BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)");
    o = (mini){.arch = "qwen2", .skip = "blk.0.attn_k.bias"};
    expect_error(&o, CCAI_ERR_NOT_FOUND, "missing tensor 'blk.0.attn_k.bias'");
    o = (mini){.n_head_kv = 3};
    expect_error(&o, CCAI_ERR_PARSE,
                 "llama: attention.head_count_kv must divide head_count 2, found 3");
    /* A norm is a vector: a matrix in its place is a shape error. */
    o = (mini){.reshape = "blk.0.ffn_norm.weight"};
    expect_error(&o, CCAI_ERR_PARSE, "tensor 'blk.0.ffn_norm.weight': expected shape [256], found "
                                     "[256, 1]");
}

/* llm_model_load: the path in front of binding errors; a missing file. */
static void test_load_file(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = ccai_xasprintf("%s/m.gguf", dir);
    uint8_t *buf;
    size_t len;
    mini o = {.arch = "gemma"};
    build_mini(&o, &buf, &len);
    tu_write(path, buf, len);
    free(buf);
    llm_model *m = NULL;
    ccai_err err = {0};
    assert_int_equal(llm_model_load(path, &m, &err), CCAI_ERR_UNSUPPORTED);
    char *want = ccai_xasprintf("%s: unsupported architecture 'gemma' (supported: llama, qwen2)",
                                path);
    assert_string_equal(err.msg, want);
    free(want);
    assert_null(m);

    o = (mini){0};
    build_mini(&o, &buf, &len);
    tu_write(path, buf, len);
    free(buf);
    assert_int_equal(llm_model_load(path, &m, &err), CCAI_OK);
    assert_true(m->file->mapped);
    llm_model_free(m);

    char *missing = ccai_xasprintf("%s/none.gguf", dir);
    assert_int_equal(llm_model_load(missing, &m, &err), CCAI_ERR_NOT_FOUND);
    free(missing);
    tu_rm_rf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stories_greedy),
        cmocka_unit_test(test_tiny_random),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_rope_scaling),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
