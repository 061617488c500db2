/* The model (load stage) and its evaluation context (forward stage); see
 * docs/engine.md.
 *
 * llm_model: the hyperparameters of a `llama` or `qwen2` GGUF file and its
 * tensors, each checked against them (shape and type) and bound by name.
 * Weight matrices stay where they are, in the mapped file; only the small
 * vectors (norm weights, biases) are copied out as floats, and the rotary
 * frequencies (with llama3 scaling) are computed once here. A model is
 * immutable after loading and may be shared by any number of contexts and
 * threads.
 *
 * llm_ctx: one sequence being evaluated: the KV cache (f32), the scratch
 * buffers (allocated once, none per token), the kernel table that computes
 * the dot products and the pool that splits them across threads. A context is
 * used by one thread at a time. */
#ifndef CCAI_LLM_MODEL_H
#define CCAI_LLM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "llm/gguf.h"
#include "llm/kernels/kernels.h"
#include "llm/pool.h"

typedef enum llm_arch {
    LLM_ARCH_LLAMA, /* rotary on adjacent pairs (2i, 2i+1) */
    LLM_ARCH_QWEN2, /* rotary on (i, i + n_rot/2) ("neox"); q/k/v biases */
} llm_arch;

/* "llama", "qwen2". */
const char *llm_arch_name(llm_arch a);

typedef struct llm_hparams {
    llm_arch arch;
    uint32_t n_vocab;
    uint32_t n_ctx_train;  /* {arch}.context_length */
    uint32_t n_embd;       /* embedding_length */
    uint32_t n_layer;      /* block_count */
    uint32_t n_ff;         /* feed_forward_length */
    uint32_t n_head;       /* attention.head_count */
    uint32_t n_head_kv;    /* attention.head_count_kv (default n_head) */
    uint32_t head_dim;     /* attention.key_length (default n_embd / n_head) */
    uint32_t n_rot;        /* rope.dimension_count (default head_dim): rotated dims per head */
    float rms_eps;         /* attention.layer_norm_rms_epsilon */
    float rope_base;       /* rope.freq_base (default 10000) */
    /* Rotary scaling: "none", "linear" or "llama3" (from rope.scaling.type,
     * or "llama3" when the file carries rope_freqs.weight). */
    const char *rope_scaling;
    float rope_factor;        /* linear and llama3 */
    float rope_low_freq;      /* llama3: low_freq_factor (default 1) */
    float rope_high_freq;     /* llama3: high_freq_factor (default 4) */
    uint32_t rope_orig_ctx;   /* llama3: original_context_length (default 8192) */
    bool tied_embeddings;     /* no output.weight: the output is token_embd */
} llm_hparams;

/* A weight matrix in the mapped file: `rows` rows of `cols` values of `type`,
 * row i at data + i * row_bytes. */
typedef struct llm_weight {
    const gguf_tensor *tensor; /* its entry in the file (name, shape) */
    uint32_t type;        /* ggml type */
    int64_t cols, rows;   /* ne[0], ne[1] */
    size_t row_bytes;
    const uint8_t *data;
} llm_weight;

typedef struct llm_layer {
    const float *attn_norm;          /* [n_embd] */
    llm_weight wq, wk, wv, wo;       /* [n_embd -> q_dim], [-> kv_dim] x2, [q_dim -> n_embd] */
    const float *bq, *bk, *bv;       /* qwen2 biases, else NULL */
    const float *ffn_norm;           /* [n_embd] */
    llm_weight w_gate, w_up, w_down; /* [n_embd -> n_ff] x2, [n_ff -> n_embd] */
} llm_layer;

typedef struct llm_model {
    llm_hparams hp;
    gguf_file *file;           /* owned: the weights point into it */
    llm_weight tok_embd;       /* rows are tokens */
    llm_weight output;         /* == tok_embd when tied */
    const float *output_norm;  /* [n_embd] */
    llm_layer *layers;         /* [n_layer] */
    double *rope_inv_freq;     /* [n_rot / 2]: angle per position, scaling applied */
    float *vectors;            /* owned storage of the norms and biases */
} llm_model;

/* Opens path (gguf_open) and binds it (llm_model_from_gguf); binding errors
 * are prefixed with the path. Free with llm_model_free. */
ccai_code llm_model_load(const char *path, llm_model **out, ccai_err *err);

/* Binds a parsed file. Takes ownership of f: it is closed on failure and by
 * llm_model_free on success. Errors: an architecture other than llama/qwen2
 * (CCAI_ERR_UNSUPPORTED "unsupported architecture 'gemma'"), a missing key or
 * tensor (CCAI_ERR_NOT_FOUND), inconsistent hyperparameters or a tensor
 * shape that does not match them (CCAI_ERR_PARSE, naming the tensor, the
 * expected and the found shape), a weight type without kernels
 * (CCAI_ERR_UNSUPPORTED naming the tensor and the type). */
ccai_code llm_model_from_gguf(gguf_file *f, llm_model **out, ccai_err *err);

/* NULL is accepted. */
void llm_model_free(llm_model *m);

/* q_dim = n_head * head_dim, kv_dim = n_head_kv * head_dim. */
static inline uint32_t llm_q_dim(const llm_hparams *hp)
{
    return hp->n_head * hp->head_dim;
}
static inline uint32_t llm_kv_dim(const llm_hparams *hp)
{
    return hp->n_head_kv * hp->head_dim;
}

/* ---- Evaluation context (forward.c) -------------------------------------- */

typedef struct llm_ctx llm_ctx;

/* A context of n_ctx positions (0 = min(n_ctx_train, 4096)) over m, which must
 * outlive it. pool may be NULL (single-threaded) and is shared, not owned; k
 * is the kernel table (NULL = llm_kernels_get(NULL), the best for this CPU).
 * Free with llm_ctx_free. */
ccai_code llm_ctx_new(const llm_model *m, uint32_t n_ctx, llm_pool *pool, const llm_kernels *k,
                      llm_ctx **out, ccai_err *err);
void llm_ctx_free(llm_ctx *c);

/* Swaps the kernel table (tests compare kernels on one context). */
void llm_ctx_set_kernels(llm_ctx *c, const llm_kernels *k);

/* Empties the KV cache: the next token is at position 0. */
void llm_ctx_reset(llm_ctx *c);
/* Forgets the positions from pos on (pos <= llm_ctx_pos), so that a shared
 * prompt prefix is evaluated once. */
void llm_ctx_rewind(llm_ctx *c, uint32_t pos);
/* Tokens in the KV cache (the position of the next token). */
uint32_t llm_ctx_pos(const llm_ctx *c);
uint32_t llm_ctx_n_ctx(const llm_ctx *c);

/* Evaluates tokens[0..n) at the next positions, appending them to the KV
 * cache; *logits (n_vocab floats, owned by the context, valid until the next
 * call) are the last token's. Nothing is evaluated when a token id is out of
 * range ("token 600 at index 3 out of range (n_vocab 512)") or the tokens do
 * not fit ("context full (n_ctx 16): 14 cached + 5 new tokens"), both
 * CCAI_ERR_ARG. */
ccai_code llm_ctx_eval(llm_ctx *c, const int32_t *tokens, size_t n, const float **logits,
                       ccai_err *err);

#endif
