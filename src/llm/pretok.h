/* Tokenizer internals, shared by tokenizer.c, tok_spm.c, tok_bpe.c and
 * pretok.c; other modules use tokenizer.h only.
 *
 * - The pre-tokenizers of byte-level BPE vocabularies (llm-facts §3): the
 *   regexes of `tokenizer.ggml.pre` written out as hand-made matchers.
 * - The piece table: every vocabulary entry (ids 0..n_vocab-1), followed by
 *   the BPE merge parts that are not vocabulary entries, hashed by text.
 * - The symbol-merge engine both SentencePiece and BPE run: adjacent
 *   symbols are merged best pair first (ties: leftmost). */
#ifndef CCAI_LLM_PRETOK_H
#define CCAI_LLM_PRETOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/mem.h"
#include "llm/gguf.h"
#include "llm/tokenizer.h"

/* ---- Pre-tokenizers ---- */

typedef enum llm_pretok {
    LLM_PRETOK_GPT2,   /* 's|'t|… | ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    LLM_PRETOK_LLAMA3, /* llama-bpe: case-insensitive contractions, \p{N}{1,3} */
    LLM_PRETOK_QWEN2,  /* qwen2, deepseek-r1-qwen: as llama-bpe with \p{N} */
} llm_pretok;

/* Maps a `tokenizer.ggml.pre` name to its pre-tokenizer; false if unknown. */
bool llm_pretok_lookup(const char *name, size_t len, llm_pretok *out);

/* Splits text into pre-tokens, as the regex of `kind` would (leftmost,
 * first alternative that matches). Writes the end byte offset of each
 * pre-token to *ends (fresh array, the caller frees; NULL when *n is 0).
 * Any byte string is accepted: bytes that are not UTF-8 count as one
 * "other" character each (unicode.h). */
void llm_pretok_split(llm_pretok kind, const char *text, size_t len, size_t **ends, size_t *n);

/* ---- Piece table: text -> id, open addressing ---- */

typedef struct llm_strtab {
    char *arena;
    size_t arena_len, arena_cap;
    uint32_t *off, *len, *hash; /* per entry */
    size_t n, cap;
    int32_t *slots; /* entry index or -1; power-of-two count */
    size_t n_slots;
} llm_strtab;

void llm_strtab_init(llm_strtab *st, size_t expect);
void llm_strtab_free(llm_strtab *st);
/* Appends an entry (its index is returned); on equal text the newest entry
 * wins the lookup, as a vocabulary's last duplicate does in llama.cpp. */
int32_t llm_strtab_append(llm_strtab *st, const char *s, size_t len);
/* The entry with this text, appended when absent. */
int32_t llm_strtab_intern(llm_strtab *st, const char *s, size_t len);
int32_t llm_strtab_find(const llm_strtab *st, const char *s, size_t len);
static inline const char *llm_strtab_str(const llm_strtab *st, int32_t id, size_t *len)
{
    *len = st->len[id];
    return st->arena + st->off[id];
}

/* ---- Token id vectors ---- */

typedef struct llm_ids {
    int32_t *v;
    size_t n, cap;
} llm_ids;
void llm_ids_push(llm_ids *ids, int32_t id);

/* ---- Symbol merging ---- */

typedef struct llm_sym {
    uint32_t start, n;  /* bytes of the symbol in the text being merged; n 0 = merged away */
    int32_t piece;      /* piece id, -1 when the text is no piece */
    int32_t prev, next; /* neighbours, -1 at the ends */
} llm_sym;

/* Whether l and r (adjacent) may merge: if so sets *prio (higher merges
 * first) and *piece (the merged symbol's piece). */
typedef bool (*llm_pair_fn)(const void *ctx, const llm_sym *l, const llm_sym *r, double *prio,
                            int32_t *piece);

typedef struct llm_bigram {
    double prio;
    int32_t left, right;
    uint32_t size;
    int32_t piece;
} llm_bigram;

/* Reusable scratch memory for one tokenize call. */
typedef struct llm_scratch {
    llm_sym *syms;
    size_t syms_cap;
    llm_bigram *heap;
    size_t heap_cap;
    char *buf;
    size_t buf_cap;
} llm_scratch;

void llm_scratch_free(llm_scratch *s);
llm_sym *llm_scratch_syms(llm_scratch *s, size_t n);
char *llm_scratch_buf(llm_scratch *s, size_t n);

/* Merges syms[0..n) (linked in order) until no pair merges; survivors keep
 * their links from syms[0]. */
void llm_merge_symbols(llm_scratch *s, llm_sym *syms, size_t n, llm_pair_fn fn, const void *ctx);

/* ---- The tokenizer ---- */

typedef struct llm_bpe llm_bpe; /* tok_bpe.c */

struct llm_tokenizer {
    llm_vocab_kind kind;
    llm_pretok pre;
    bool ignore_merges;     /* llama-bpe: a pre-token in the vocabulary is one token */
    char pre_name[64];
    size_t n_vocab;
    llm_strtab pieces;      /* entries [0, n_vocab) are the vocabulary */
    float *scores;          /* per token */
    uint8_t *types;         /* per token, LLM_TOKEN_* */
    int32_t bos, eos, eot, unk, pad;
    bool add_bos, add_space_prefix;
    int32_t *specials;      /* matchable special ids by first byte, longest first */
    uint32_t special_start[257];
    int32_t *eog;           /* end-of-generation ids */
    size_t n_eog;
    int32_t spm_byte[256];  /* SPM: the <0xNN> token of each byte, -1 absent */
    llm_bpe *bpe;           /* BPE only */
};

/* tok_spm.c: text of one raw fragment; prefix adds the leading "▁". */
void llm_spm_encode(const llm_tokenizer *t, const char *text, size_t len, bool prefix,
                    llm_scratch *s, llm_ids *out);
void llm_spm_init_bytes(llm_tokenizer *t);
/* SPM token text -> bytes: "▁" -> " ". */
void llm_spm_unescape(const char *text, size_t len, ccai_buf *out);

/* tok_bpe.c */
ccai_code llm_bpe_init(llm_tokenizer *t, const gguf_str *merges, size_t n_merges, ccai_err *err);
void llm_bpe_free(llm_bpe *b);
void llm_bpe_encode(const llm_tokenizer *t, const char *text, size_t len, llm_scratch *s,
                    llm_ids *out);
/* Byte-level token text -> the bytes it stands for (GPT-2 byte decoder);
 * characters outside the byte map are copied as they are. */
void llm_bpe_unmap(const llm_tokenizer *t, const char *text, size_t len, ccai_buf *out);

#endif
