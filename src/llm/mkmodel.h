/* The model generator: writes a `llama` or `qwen2` GGUF file with seeded
 * random weights in the shape of a real model, so that tests and benchmarks
 * need no download (docs/chat-templates.md, "Generated models").
 *
 * Contract:
 * - The same spec (seed included) gives a byte-identical file, whatever the
 *   number of threads: each row of each tensor draws from its own stream,
 *   derived from the seed, the tensor's name and the row.
 * - Weights are approximately normal (std 0.02), norm weights 1 ± 0.02,
 *   biases std 0.02; rows are quantized with llm_quantize_row to the type
 *   the ftype gives the tensor (the mix is in mkmodel.c, llama.cpp's rule for
 *   the _M mixes); norms, biases and rope_freqs are F32. A K-type tensor of
 *   more than 1024 super-blocks quantizes only its first rows (at least 1024
 *   super-blocks) and fills the rest with copies of those drawn at random (the reference K quantizers are too
 *   slow for billions of values): a 1.5B Q4_K_M model takes well under a
 *   minute on two cores.
 * - Tokenizer: the tokenizer.* metadata of vocab_from, copied exactly (the
 *   vocabulary size is then its token count), or a synthetic byte-level BPE
 *   vocabulary (256 byte tokens, a few merges, ChatML special tokens,
 *   "[PADn]" up to n_vocab) with a ChatML chat template.
 * - Memory: the GGUF writer keeps a copy of every tensor and builds the whole
 *   file in memory before writing it, so generation needs about twice the
 *   file size in RAM (a 1.5B model in Q4_K_M: ~1.1 GB file, ~2.3 GB peak). */
#ifndef CCAI_LLM_MKMODEL_H
#define CCAI_LLM_MKMODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

typedef struct llm_mkmodel_spec {
    const char *arch;      /* "llama" | "qwen2" (qwen2 adds q/k/v biases) */
    uint32_t n_embd, n_layer, n_ff, n_head, n_head_kv;
    uint32_t head_dim;     /* 0 = n_embd / n_head */
    uint32_t n_ctx;        /* {arch}.context_length */
    uint32_t n_vocab;      /* synthetic vocabulary size (0 = the minimum); ignored with vocab_from */
    float rope_base, rms_eps;
    bool llama3_rope;      /* llama3 rope scaling: a rope_freqs.weight tensor (factor 8,
                            * low 1, high 4, original context 8192), as real files carry */
    bool tied_embeddings;  /* no output.weight */
    /* "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K",
     * "Q5_K", "Q6_K" (every matrix in that type), "Q4_K_M", "Q5_K_M" (mixes) */
    const char *ftype;
    uint64_t seed;
    const char *vocab_from; /* a GGUF file to copy tokenizer.* from, or NULL */
    const char *name;       /* general.name (NULL: "ccai-mkmodel") */
} llm_mkmodel_spec;

/* Generates the model and writes it to path (atomically). Errors: an
 * invalid spec (CCAI_ERR_ARG, naming the field and the value), an unreadable
 * vocab_from (its gguf_open error), I/O. Uses all cores. */
ccai_code llm_mkmodel_write(const llm_mkmodel_spec *spec, const char *path, ccai_err *err);

/* Fills *out with a named shape: "tiny-llama", "tiny-qwen2" (a few MB, for
 * tests), "qwen2-1.5b", "qwen2-7b", "qwen2-14b", "qwen2-32b", "llama-8b",
 * "llama-70b" (the DeepSeek-R1 distills of llm-facts §3). ftype defaults to
 * "F32" for the tiny ones and "Q4_K_M" otherwise; seed 1; vocab_from NULL
 * (n_vocab = the real vocabulary size). Unknown name: CCAI_ERR_NOT_FOUND
 * listing the names. */
ccai_code llm_mkmodel_preset(const char *name, llm_mkmodel_spec *out, ccai_err *err);

/* The preset names, NULL-terminated. */
const char *const *llm_mkmodel_preset_names(void);

/* general.file_type for an ftype name (llama.cpp's numbering: "Q4_K_M" is 15,
 * "Q4_K" is written as Q4_K_S, 14), or -1 when unknown. */
int llm_mkmodel_file_type(const char *ftype);

#endif
