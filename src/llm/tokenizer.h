/* Tokenizers (tokenize stage): text -> token ids and back, for the two
 * vocabulary kinds GGUF models carry (llm-facts §1, §3; docs/tokenizer.md):
 *
 * - `tokenizer.ggml.model` = "llama": SentencePiece. Spaces become "▁"
 *   (U+2581), a "▁" is prepended (add_space_prefix, default on), then
 *   symbols merge by score, best first; pieces left unknown fall back to
 *   byte tokens <0xNN>, else the unknown token.
 * - "gpt2": byte-level BPE. The text is split by the regex of
 *   `tokenizer.ggml.pre` (gpt2, llama-bpe, qwen2 / deepseek-r1-qwen), each
 *   piece's bytes are mapped to printable code points and merged by rank.
 *
 * Special tokens: user-defined tokens (type 4) are always matched in the
 * text, as llama.cpp and Hugging Face do; control tokens (type 3) and the
 * unknown token only when parse_special is set. At each position the
 * longest matching text wins; the text between goes the normal way.
 *
 * A tokenizer is immutable once built: any number of threads may use one
 * at the same time. It copies what it needs, so the GGUF file may be
 * closed afterwards. Results match llama.cpp's (the test vectors in
 * ../shared/testdata/tokenizer are reproduced exactly). */
#ifndef CCAI_LLM_TOKENIZER_H
#define CCAI_LLM_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/mem.h"
#include "llm/gguf.h"

typedef struct llm_tokenizer llm_tokenizer;

typedef enum llm_vocab_kind {
    LLM_VOCAB_SPM, /* "llama" */
    LLM_VOCAB_BPE, /* "gpt2" */
} llm_vocab_kind;

/* tokenizer.ggml.token_type values. */
enum {
    LLM_TOKEN_NORMAL = 1,
    LLM_TOKEN_UNKNOWN = 2,
    LLM_TOKEN_CONTROL = 3,
    LLM_TOKEN_USER_DEFINED = 4,
    LLM_TOKEN_UNUSED = 5,
    LLM_TOKEN_BYTE = 6,
};

/* Limits on what a vocabulary may hold (the largest real ones have ~260k
 * tokens). */
enum {
    LLM_VOCAB_MAX_TOKENS = 1 << 21,
    LLM_VOCAB_MAX_MERGES = 1 << 22,
    LLM_TOKEN_MAX_LEN = 1 << 16,
};

/* A vocabulary described in memory: what llm_tokenizer_from_gguf reads
 * from the file, and what tests and fuzz targets build by hand. */
typedef struct llm_vocab_desc {
    const char *model;       /* "llama" or "gpt2" */
    const char *pre;         /* BPE pre-tokenizer name; NULL = "default" (gpt2) */
    size_t n_tokens;
    const gguf_str *tokens;  /* n_tokens texts */
    const float *scores;     /* n_tokens, or NULL (all 0) */
    const int32_t *types;    /* n_tokens LLM_TOKEN_*, or NULL (all normal) */
    size_t n_merges;
    const gguf_str *merges;  /* "left right", highest priority first (BPE) */
    int32_t bos, eos, eot, unk, pad; /* -1 absent; out-of-range ids count as absent */
    int add_bos;             /* -1: default (SPM yes, BPE no) */
    int add_space_prefix;    /* -1: default (yes); SPM only */
} llm_vocab_desc;

/* A desc with every optional field absent or default. */
llm_vocab_desc llm_vocab_desc_default(void);

/* Builds a tokenizer from the tokenizer.ggml.* metadata of f. Errors: an
 * unknown tokenizer.ggml.model or (gpt2) tokenizer.ggml.pre is
 * CCAI_ERR_UNSUPPORTED naming it; missing or inconsistent arrays, sizes
 * over the limits above, bad merges: CCAI_ERR_PARSE. Free with
 * llm_tokenizer_free. */
ccai_code llm_tokenizer_from_gguf(const gguf_file *f, llm_tokenizer **out, ccai_err *err);
ccai_code llm_tokenizer_from_desc(const llm_vocab_desc *d, llm_tokenizer **out, ccai_err *err);
void llm_tokenizer_free(llm_tokenizer *t);

/* Tokenizes text[0..len) (any bytes; NUL is an ordinary byte). With
 * add_bos the BOS token comes first (CCAI_ERR_ARG if the vocabulary has
 * none). *ids is a fresh array the caller frees (NULL when *n is 0). */
ccai_code llm_tokenize(const llm_tokenizer *t, const char *text, size_t len, bool add_bos,
                       bool parse_special, int32_t **ids, size_t *n, ccai_err *err);

llm_vocab_kind llm_tokenizer_kind(const llm_tokenizer *t);
/* The pre-tokenizer name as the file gave it ("" for SPM). */
const char *llm_tokenizer_pre(const llm_tokenizer *t);
size_t llm_vocab_size(const llm_tokenizer *t);
/* Special ids, -1 when absent. */
int32_t llm_token_bos(const llm_tokenizer *t);
int32_t llm_token_eos(const llm_tokenizer *t);
int32_t llm_token_eot(const llm_tokenizer *t);
int32_t llm_token_unk(const llm_tokenizer *t);
/* tokenizer.ggml.add_bos_token, defaulting to true for SPM, false for BPE. */
bool llm_tokenizer_add_bos(const llm_tokenizer *t);
/* SPM: whether a "▁" is prepended to text (detokenizers strip it again). */
bool llm_tokenizer_add_space_prefix(const llm_tokenizer *t);
/* End of generation: EOS, EOT, and control tokens that end a turn
 * (<|eot_id|>, <|im_end|>, <|endoftext|>, <｜end▁of▁sentence｜>, ...). */
bool llm_token_is_eog(const llm_tokenizer *t, int32_t id);
bool llm_token_is_control(const llm_tokenizer *t, int32_t id);
/* LLM_TOKEN_* of id, 0 for ids out of range. */
int llm_token_type(const llm_tokenizer *t, int32_t id);
/* The raw vocabulary entry (not NUL-terminated; NULL for ids out of
 * range), valid as long as t. */
const char *llm_token_text(const llm_tokenizer *t, int32_t id, size_t *len);
/* The id of a raw vocabulary entry, -1 when absent. */
int32_t llm_token_lookup(const llm_tokenizer *t, const char *text, size_t len);

/* Appends the bytes token id stands for to out: SPM "▁" -> " ", <0xNN> ->
 * that byte; BPE through the GPT-2 byte decoder; user-defined tokens as
 * they are. Control and unknown tokens give their text only when special
 * is set, else nothing; unused tokens and ids out of range give nothing.
 * The bytes of one token need not be whole UTF-8 characters. */
void llm_token_bytes(const llm_tokenizer *t, int32_t id, bool special, ccai_buf *out);

/* The GPT-2 byte encoder of byte-level BPE: the printable code point that
 * stands for byte b in vocabulary texts (b itself for 33..126, 161..172,
 * 174..255; U+0100 + k for the k-th of the other 68 bytes). */
uint32_t llm_bpe_byte_cp(uint8_t b);

/* Streaming detokenizer: appends only whole, well-formed UTF-8 characters
 * to out, holding back a character split across tokens until it is
 * complete; ill-formed bytes become U+FFFD. No allocation of its own:
 * there is nothing to free. */
typedef struct llm_detok {
    const llm_tokenizer *tok;
    bool strip_space;    /* drop one leading space from the first text */
    bool special;        /* render control tokens (default false) */
    uint8_t pend[4];     /* a character's first bytes, held back */
    size_t n_pend;
} llm_detok;

/* strip_leading_space: for SPM text that was tokenized with the space
 * prefix (the first token after BOS), drop the space it carries. */
void llm_detok_init(llm_detok *d, const llm_tokenizer *t, bool strip_leading_space);
void llm_detok_push(llm_detok *d, int32_t id, ccai_buf *out);
/* Emits a held-back incomplete character as U+FFFD and resets the hold. */
void llm_detok_flush(llm_detok *d, ccai_buf *out);

#endif
