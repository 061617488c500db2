/* Model loading: hyperparameters from the `{arch}.*` keys (llm-facts §1),
 * tensor binding with shape and type checks, and the rotary frequencies.
 *
 * Every tensor the forward pass reads is looked up by name and compared with
 * the shape the hyperparameters imply, so that forward.c can index rows
 * without further checks. Weight matrices are used in place in the mapping;
 * norm weights and biases (a few KiB per layer) are converted to floats once
 * here, whatever their stored type. */
#include "llm/model.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "llm/ggml_types.h"
#include "llm/quant.h"

/* Bounds that keep every size computed from the hyperparameters far from
 * overflow; real models are orders of magnitude below them. */
enum { MAX_DIM = 1 << 20, MAX_LAYERS = 4096, MAX_VOCAB = 1 << 24 };

const char *llm_arch_name(llm_arch a)
{
    return a == LLM_ARCH_QWEN2 ? "qwen2" : "llama";
}

/* ---- Hyperparameters ------------------------------------------------------ */

typedef struct keys {
    const gguf_file *f;
    const char *arch;
    char buf[160];
} keys;

static const char *key(keys *k, const char *suffix)
{
    snprintf(k->buf, sizeof k->buf, "%s.%s", k->arch, suffix);
    return k->buf;
}

/* A u32 key; when absent, def (if non-NULL) or an error. */
static ccai_code get_u32(keys *k, const char *suffix, const uint32_t *def, uint32_t *out,
                         ccai_err *err)
{
    ccai_code rc = gguf_get_u32(k->f, key(k, suffix), out, err);
    if (rc == CCAI_ERR_NOT_FOUND && def) {
        *out = *def;
        return CCAI_OK;
    }
    return rc;
}

static ccai_code get_f32(keys *k, const char *suffix, const float *def, float *out,
                         ccai_err *err)
{
    ccai_code rc = gguf_get_f32(k->f, key(k, suffix), out, err);
    if (rc == CCAI_ERR_NOT_FOUND && def) {
        *out = *def;
        return CCAI_OK;
    }
    return rc;
}

static ccai_code read_arch(const gguf_file *f, llm_arch *arch, ccai_err *err)
{
    gguf_str s;
    ccai_code rc = gguf_get_str(f, "general.architecture", &s, err);
    if (rc)
        return rc;
    if (gguf_str_eq(s, "llama"))
        *arch = LLM_ARCH_LLAMA;
    else if (gguf_str_eq(s, "qwen2"))
        *arch = LLM_ARCH_QWEN2;
    else
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "unsupported architecture '%.*s' (supported: llama, qwen2)",
                         (int)(s.len > 64 ? 64 : s.len), s.ptr);
    return CCAI_OK;
}

/* n_vocab: vocab_size, else the tokenizer's token count, else the rows of
 * token_embd (checked against the tensor later in every case). */
static ccai_code read_vocab(keys *k, uint32_t *n_vocab, ccai_err *err)
{
    ccai_code rc = get_u32(k, "vocab_size", NULL, n_vocab, err);
    if (rc != CCAI_ERR_NOT_FOUND)
        return rc;
    const gguf_kv *kv = gguf_find(k->f, "tokenizer.ggml.tokens");
    const gguf_tensor *t = gguf_find_tensor(k->f, "token_embd.weight");
    if (kv && kv->val.type == GGUF_TYPE_ARRAY)
        *n_vocab = kv->val.arr.count > UINT32_MAX ? UINT32_MAX : (uint32_t)kv->val.arr.count;
    else if (t)
        *n_vocab = t->ne[1] > UINT32_MAX ? UINT32_MAX : (uint32_t)t->ne[1];
    else
        return ccai_fail(err, CCAI_ERR_NOT_FOUND, "missing tensor 'token_embd.weight'");
    return CCAI_OK;
}

static ccai_code read_rope_scaling(keys *k, llm_hparams *hp, ccai_err *err)
{
    static const float one = 1.0f, four = 4.0f, eight = 8.0f;
    static const uint32_t orig = 8192;
    gguf_str type = {"none", 4};
    ccai_code rc = gguf_get_str(k->f, key(k, "rope.scaling.type"), &type, err);
    if (rc && rc != CCAI_ERR_NOT_FOUND)
        return rc;
    hp->rope_scaling = "none";
    hp->rope_factor = 1.0f;
    if (gguf_find_tensor(k->f, "rope_freqs.weight")) {
        hp->rope_scaling = "llama3"; /* the divisors come with the file */
    } else if (gguf_str_eq(type, "linear")) {
        hp->rope_scaling = "linear";
        if ((rc = get_f32(k, "rope.scaling.factor", &one, &hp->rope_factor, err)))
            return rc;
    } else if (gguf_str_eq(type, "llama3")) {
        hp->rope_scaling = "llama3";
        if ((rc = get_f32(k, "rope.scaling.factor", &eight, &hp->rope_factor, err)) ||
            (rc = get_f32(k, "rope.scaling.low_freq_factor", &one, &hp->rope_low_freq, err)) ||
            (rc = get_f32(k, "rope.scaling.high_freq_factor", &four, &hp->rope_high_freq, err)) ||
            (rc = get_u32(k, "rope.scaling.original_context_length", &orig, &hp->rope_orig_ctx,
                          err)))
            return rc;
        if (!(hp->rope_high_freq > hp->rope_low_freq) || hp->rope_orig_ctx == 0)
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "%s: llama3 rope scaling needs high_freq_factor > low_freq_factor "
                             "and original_context_length > 0, found %g, %g and %" PRIu32,
                             k->arch, hp->rope_high_freq, hp->rope_low_freq, hp->rope_orig_ctx);
    } else if (!gguf_str_eq(type, "none")) {
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "%s: rope scaling '%.*s' is not supported (supported: none, linear, "
                         "llama3)",
                         k->arch, (int)(type.len > 64 ? 64 : type.len), type.ptr);
    }
    if (!(hp->rope_factor > 0.0f) || !isfinite(hp->rope_factor))
        return ccai_fail(err, CCAI_ERR_PARSE, "%s: rope scaling factor must be positive, found %g",
                         k->arch, hp->rope_factor);
    return CCAI_OK;
}

static ccai_code bad_hparam(ccai_err *err, const char *arch, const char *what, const char *expected,
                            uint64_t found)
{
    return ccai_fail(err, CCAI_ERR_PARSE, "%s: %s must be %s, found %" PRIu64, arch, what,
                     expected, found);
}

/* Relations between the sizes that the forward pass relies on. */
static ccai_code check_hparams(const llm_hparams *hp, const char *arch, ccai_err *err)
{
    if (hp->n_embd == 0 || hp->n_embd > MAX_DIM)
        return bad_hparam(err, arch, "embedding_length", "in 1..2^20", hp->n_embd);
    if (hp->n_layer == 0 || hp->n_layer > MAX_LAYERS)
        return bad_hparam(err, arch, "block_count", "in 1..4096", hp->n_layer);
    if (hp->n_ff == 0 || hp->n_ff > MAX_DIM)
        return bad_hparam(err, arch, "feed_forward_length", "in 1..2^20", hp->n_ff);
    if (hp->n_vocab == 0 || hp->n_vocab > MAX_VOCAB)
        return bad_hparam(err, arch, "the vocabulary size", "in 1..2^24", hp->n_vocab);
    if (hp->n_head == 0 || hp->n_head > MAX_DIM)
        return bad_hparam(err, arch, "attention.head_count", "in 1..2^20", hp->n_head);
    if (hp->n_head_kv == 0 || hp->n_head % hp->n_head_kv != 0)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "%s: attention.head_count_kv must divide head_count %" PRIu32
                         ", found %" PRIu32,
                         arch, hp->n_head, hp->n_head_kv);
    if (hp->head_dim == 0 || (uint64_t)hp->head_dim * hp->n_head > MAX_DIM)
        return bad_hparam(err, arch, "the head size", "positive with head_count * size <= 2^20",
                          hp->head_dim);
    if (hp->n_rot == 0 || hp->n_rot % 2 != 0 || hp->n_rot > hp->head_dim)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "%s: rope.dimension_count must be even and at most the head size %" PRIu32
                         ", found %" PRIu32,
                         arch, hp->head_dim, hp->n_rot);
    if (!(hp->rms_eps > 0.0f) || !(hp->rope_base > 0.0f))
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "%s: layer_norm_rms_epsilon and rope.freq_base must be positive, found "
                         "%g and %g",
                         arch, hp->rms_eps, hp->rope_base);
    return CCAI_OK;
}

static ccai_code read_hparams(const gguf_file *f, llm_hparams *hp, ccai_err *err)
{
    ccai_code rc = read_arch(f, &hp->arch, err);
    if (rc)
        return rc;
    keys k = {.f = f, .arch = llm_arch_name(hp->arch)};
    static const float base = 10000.0f;
    if ((rc = read_vocab(&k, &hp->n_vocab, err)) ||
        (rc = get_u32(&k, "context_length", NULL, &hp->n_ctx_train, err)) ||
        (rc = get_u32(&k, "embedding_length", NULL, &hp->n_embd, err)) ||
        (rc = get_u32(&k, "block_count", NULL, &hp->n_layer, err)) ||
        (rc = get_u32(&k, "feed_forward_length", NULL, &hp->n_ff, err)) ||
        (rc = get_u32(&k, "attention.head_count", NULL, &hp->n_head, err)) ||
        (rc = get_u32(&k, "attention.head_count_kv", &hp->n_head, &hp->n_head_kv, err)) ||
        (rc = get_f32(&k, "attention.layer_norm_rms_epsilon", NULL, &hp->rms_eps, err)) ||
        (rc = get_f32(&k, "rope.freq_base", &base, &hp->rope_base, err)))
        return rc;
    uint32_t head_dim = hp->n_head ? hp->n_embd / hp->n_head : 0, v_dim;
    if ((rc = get_u32(&k, "attention.key_length", &head_dim, &hp->head_dim, err)) ||
        (rc = get_u32(&k, "attention.value_length", &hp->head_dim, &v_dim, err)) ||
        (rc = get_u32(&k, "rope.dimension_count", &hp->head_dim, &hp->n_rot, err)) ||
        (rc = read_rope_scaling(&k, hp, err)))
        return rc;
    if (v_dim != hp->head_dim)
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "%s: attention.value_length %" PRIu32
                         " differs from the key length %" PRIu32 " (not supported)",
                         k.arch, v_dim, hp->head_dim);
    if (!gguf_find(f, key(&k, "attention.key_length")) && hp->n_embd % hp->n_head != 0)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "%s: embedding_length %" PRIu32 " is not a multiple of head_count %" PRIu32,
                         k.arch, hp->n_embd, hp->n_head);
    return check_hparams(hp, k.arch, err);
}

/* ---- Tensors -------------------------------------------------------------- */

static void shape_str(const gguf_tensor *t, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "[");
    for (uint32_t d = 0; d < t->n_dims && at < len; d++)
        at += (size_t)snprintf(buf + at, len - at, "%s%" PRIu64, d ? ", " : "", t->ne[d]);
    if (at < len)
        snprintf(buf + at, len - at, "]");
}

/* The tensor `name` with shape [cols] (rows == 0) or [cols, rows]. */
static ccai_code find_checked(const gguf_file *f, const char *name, uint64_t cols, uint64_t rows,
                              const gguf_tensor **out, ccai_err *err)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t)
        return ccai_fail(err, CCAI_ERR_NOT_FOUND, "missing tensor '%s'", name);
    bool ok = t->ne[0] == cols && t->ne[2] == 1 && t->ne[3] == 1 &&
              (rows ? t->n_dims <= 2 && t->ne[1] == rows : t->n_dims == 1);
    if (!ok) {
        char want[64], got[128];
        if (rows)
            snprintf(want, sizeof want, "[%" PRIu64 ", %" PRIu64 "]", cols, rows);
        else
            snprintf(want, sizeof want, "[%" PRIu64 "]", cols);
        shape_str(t, got, sizeof got);
        return ccai_fail(err, CCAI_ERR_PARSE, "tensor '%s': expected shape %s, found %s", name,
                         want, got);
    }
    *out = t;
    return CCAI_OK;
}

static ccai_code unsupported_type(const char *name, uint32_t type, ccai_err *err)
{
    return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                     "tensor '%s': type %s is not supported (supported: F32, F16, BF16, Q8_0, "
                     "Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)",
                     name, ggml_type_name(type));
}

/* A matrix of `rows` rows of `cols` values, used in place. */
static ccai_code bind_weight(const gguf_file *f, const char *name, uint32_t cols, uint32_t rows,
                             llm_weight *w, ccai_err *err)
{
    const gguf_tensor *t;
    ccai_code rc = find_checked(f, name, cols, rows, &t, err);
    if (rc)
        return rc;
    if (!ggml_type_supported(t->type))
        return unsupported_type(name, t->type, err);
    *w = (llm_weight){.tensor = t, .type = t->type, .cols = cols, .rows = rows, .data = t->data};
    if (!ggml_row_bytes(t->type, cols, &w->row_bytes)) /* the parser checked it already */
        return ccai_fail(err, CCAI_ERR_PARSE, "tensor '%s': row of %" PRIu32 " %s values", name,
                         cols, ggml_type_name(t->type));
    return CCAI_OK;
}

/* Storage for the float vectors, carved from one allocation. */
typedef struct vec_store {
    float *next, *end;
} vec_store;

/* A vector of n values, converted to floats. Absent and optional: *out = NULL. */
static ccai_code bind_vector(const gguf_file *f, const char *name, uint32_t n, bool required,
                             vec_store *vs, const float **out, ccai_err *err)
{
    *out = NULL;
    if (!required && !gguf_find_tensor(f, name))
        return CCAI_OK;
    const gguf_tensor *t;
    ccai_code rc = find_checked(f, name, n, 0, &t, err);
    if (rc)
        return rc;
    if (!ggml_type_supported(t->type))
        return unsupported_type(name, t->type, err);
    if (vs->end - vs->next < (ptrdiff_t)n) /* sized by count_vectors */
        return ccai_fail(err, CCAI_ERR_STATE, "tensor '%s': vector storage exhausted", name);
    llm_dequantize_row(t->type, t->data, vs->next, n);
    *out = vs->next;
    vs->next += n;
    return CCAI_OK;
}

static ccai_code bind_layer(llm_model *m, uint32_t il, vec_store *vs, ccai_err *err)
{
    const llm_hparams *hp = &m->hp;
    const gguf_file *f = m->file;
    llm_layer *L = &m->layers[il];
    uint32_t E = hp->n_embd, Q = llm_q_dim(hp), KV = llm_kv_dim(hp), F = hp->n_ff;
    bool qwen2 = hp->arch == LLM_ARCH_QWEN2;
    char n[13][64];
    static const char *const part[13] = {
        "attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
        "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight",
        "ffn_down.weight", "attn_q.bias", "attn_k.bias", "attn_v.bias", ""};
    for (int i = 0; i < 12; i++)
        snprintf(n[i], sizeof n[i], "blk.%" PRIu32 ".%s", il, part[i]);
    ccai_code rc;
    if ((rc = bind_vector(f, n[0], E, true, vs, &L->attn_norm, err)) ||
        (rc = bind_weight(f, n[1], E, Q, &L->wq, err)) ||
        (rc = bind_weight(f, n[2], E, KV, &L->wk, err)) ||
        (rc = bind_weight(f, n[3], E, KV, &L->wv, err)) ||
        (rc = bind_weight(f, n[4], Q, E, &L->wo, err)) ||
        (rc = bind_vector(f, n[5], E, true, vs, &L->ffn_norm, err)) ||
        (rc = bind_weight(f, n[6], E, F, &L->w_gate, err)) ||
        (rc = bind_weight(f, n[7], E, F, &L->w_up, err)) ||
        (rc = bind_weight(f, n[8], F, E, &L->w_down, err)) ||
        (rc = bind_vector(f, n[9], Q, qwen2, vs, &L->bq, err)) ||
        (rc = bind_vector(f, n[10], KV, qwen2, vs, &L->bk, err)) ||
        (rc = bind_vector(f, n[11], KV, qwen2, vs, &L->bv, err)))
        return rc;
    return CCAI_OK;
}

static ccai_code bind_tensors(llm_model *m, ccai_err *err)
{
    const llm_hparams *hp = &m->hp;
    const gguf_file *f = m->file;
    /* Norms, biases (always room for them) and the output norm. */
    size_t per_layer = 2 * (size_t)hp->n_embd + llm_q_dim(hp) + 2 * (size_t)llm_kv_dim(hp);
    size_t total = per_layer * hp->n_layer + hp->n_embd;
    m->vectors = ccai_xmalloc(total * sizeof *m->vectors);
    vec_store vs = {m->vectors, m->vectors + total};
    m->layers = ccai_xcalloc(hp->n_layer, sizeof *m->layers);

    ccai_code rc = bind_weight(f, "token_embd.weight", hp->n_embd, hp->n_vocab, &m->tok_embd, err);
    if (!rc)
        rc = bind_vector(f, "output_norm.weight", hp->n_embd, true, &vs, &m->output_norm, err);
    if (rc)
        return rc;
    m->hp.tied_embeddings = gguf_find_tensor(f, "output.weight") == NULL;
    if (m->hp.tied_embeddings)
        m->output = m->tok_embd;
    else if ((rc = bind_weight(f, "output.weight", hp->n_embd, hp->n_vocab, &m->output, err)))
        return rc;
    for (uint32_t il = 0; il < hp->n_layer; il++)
        if ((rc = bind_layer(m, il, &vs, err)))
            return rc;
    return CCAI_OK;
}

/* ---- Rotary frequencies --------------------------------------------------- */

/* llama3 scaling of one frequency (llm-facts §3): long wavelengths are slowed
 * by the factor, short ones kept, the band between blended smoothly. */
static double llama3_scale(const llm_hparams *hp, double freq)
{
    const double two_pi = 6.283185307179586;
    double wavelen = two_pi / freq, orig = hp->rope_orig_ctx;
    if (wavelen < orig / hp->rope_high_freq)
        return freq;
    if (wavelen > orig / hp->rope_low_freq)
        return freq / hp->rope_factor;
    double s = (orig / wavelen - hp->rope_low_freq) / (hp->rope_high_freq - hp->rope_low_freq);
    return (1.0 - s) * freq / hp->rope_factor + s * freq;
}

/* inv_freq[i] = base^(-2i/n_rot), then scaled: by rope_freqs.weight divisors
 * when the file has them, else by the linear or llama3 rule. */
static ccai_code rope_frequencies(llm_model *m, ccai_err *err)
{
    const llm_hparams *hp = &m->hp;
    uint32_t half = hp->n_rot / 2;
    m->rope_inv_freq = ccai_xmalloc(half * sizeof *m->rope_inv_freq);
    const gguf_tensor *t = gguf_find_tensor(m->file, "rope_freqs.weight");
    float *div = NULL;
    if (t) {
        ccai_code rc = find_checked(m->file, "rope_freqs.weight", half, 0, &t, err);
        if (rc)
            return rc;
        if (!ggml_type_supported(t->type))
            return unsupported_type("rope_freqs.weight", t->type, err);
        div = ccai_xmalloc(half * sizeof *div);
        llm_dequantize_row(t->type, t->data, div, half);
    }
    for (uint32_t i = 0; i < half; i++) {
        double freq = pow(hp->rope_base, -2.0 * i / hp->n_rot);
        if (div)
            freq /= div[i];
        else if (strcmp(hp->rope_scaling, "linear") == 0)
            freq /= hp->rope_factor;
        else if (strcmp(hp->rope_scaling, "llama3") == 0)
            freq = llama3_scale(hp, freq);
        m->rope_inv_freq[i] = freq;
    }
    free(div);
    return CCAI_OK;
}

/* ---- Public --------------------------------------------------------------- */

ccai_code llm_model_from_gguf(gguf_file *f, llm_model **out, ccai_err *err)
{
    *out = NULL;
    llm_model *m = ccai_xcalloc(1, sizeof *m);
    m->file = f;
    ccai_code rc = read_hparams(f, &m->hp, err);
    if (!rc)
        rc = bind_tensors(m, err);
    if (!rc)
        rc = rope_frequencies(m, err);
    if (rc) {
        llm_model_free(m);
        return rc;
    }
    *out = m;
    return CCAI_OK;
}

ccai_code llm_model_load(const char *path, llm_model **out, ccai_err *err)
{
    *out = NULL;
    gguf_file *f;
    ccai_code rc = gguf_open(path, &f, err);
    if (rc)
        return rc;
    gguf_prefer_huge_pages(f);
    rc = llm_model_from_gguf(f, out, err);
    if (rc)
        ccai_err_prefix(err, "%s", path);
    return rc;
}

void llm_model_free(llm_model *m)
{
    if (!m)
        return;
    free(m->rope_inv_freq);
    free(m->vectors);
    free(m->layers);
    gguf_close(m->file);
    free(m);
}
