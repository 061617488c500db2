/* Byte-level BPE tokenizing (`tokenizer.ggml.model` = "gpt2"):
 *
 * 1. Split the fragment into pre-tokens (pretok.c, by tokenizer.ggml.pre).
 * 2. Map each byte to its printable stand-in (the GPT-2 byte encoder:
 *    bytes 33..126, 161..172 and 174..255 stand for themselves, the other
 *    68 bytes, in order, for U+0100..U+0143).
 * 3. llama-bpe only: a pre-token that is a whole vocabulary entry is that
 *    token, without merging (llama.cpp's ignore_merges).
 * 4. Merge adjacent symbols by the rank of the pair in
 *    tokenizer.ggml.merges (earlier = first), ties to the leftmost pair.
 *
 * Merges are keyed by the pair of piece ids in one hash map, so a merge
 * step is one integer probe; merge parts that are not vocabulary entries
 * get piece ids past the vocabulary. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "llm/pretok.h"
#include "llm/unicode.h"

struct llm_bpe {
    uint64_t *keys;      /* (left << 32 | right) + 1; 0 = empty slot */
    int32_t *rank, *result;
    size_t mask;
    int32_t byte_piece[256]; /* piece of each byte's stand-in, -1 absent */
    char enc[256][2];        /* UTF-8 of each byte's stand-in */
    uint8_t enc_len[256];
    int16_t dec[324];        /* stand-in code point -> byte, -1 */
};

uint32_t llm_bpe_byte_cp(uint8_t b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
        return b;
    if (b <= 32)
        return 256u + b;
    if (b <= 160)
        return 256u + 33 + (b - 127u);
    return 256u + 33 + 34; /* 173 */
}

static size_t merge_slot(const llm_bpe *b, uint64_t key)
{
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & b->mask;
    while (b->keys[i] && b->keys[i] != key)
        i = (i + 1) & b->mask;
    return i;
}

static uint64_t pair_key(int32_t l, int32_t r)
{
    return (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) + 1;
}

static bool merge_find(const llm_bpe *b, int32_t l, int32_t r, int32_t *rank, int32_t *result)
{
    size_t i = merge_slot(b, pair_key(l, r));
    if (!b->keys[i])
        return false;
    *rank = b->rank[i];
    *result = b->result[i];
    return true;
}

ccai_code llm_bpe_init(llm_tokenizer *t, const gguf_str *merges, size_t n_merges, ccai_err *err)
{
    llm_bpe *b = ccai_xcalloc(1, sizeof *b);
    t->bpe = b;
    size_t slots = 16;
    while (slots < 2 * n_merges)
        slots *= 2;
    b->keys = ccai_xcalloc(slots, sizeof *b->keys);
    b->rank = ccai_xmalloc(slots * sizeof *b->rank);
    b->result = ccai_xmalloc(slots * sizeof *b->result);
    b->mask = slots - 1;
    char *cat = ccai_xmalloc(2 * LLM_TOKEN_MAX_LEN + 1);
    for (size_t i = 0; i < n_merges; i++) {
        const char *m = merges[i].ptr;
        size_t len = (size_t)merges[i].len;
        /* "left right": the first space after the first byte separates. */
        const char *sp = len > 1 && m ? memchr(m + 1, ' ', len - 1) : NULL;
        if (!sp || len > 2 * LLM_TOKEN_MAX_LEN) {
            free(cat);
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "tokenizer: tokenizer.ggml.merges[%zu] is not \"left right\": \"%.*s\"",
                             i, (int)(len < 64 ? len : 64), m ? m : "");
        }
        size_t ll = (size_t)(sp - m), rl = len - ll - 1;
        memcpy(cat, m, ll);
        memcpy(cat + ll, sp + 1, rl);
        int32_t l = llm_strtab_intern(&t->pieces, m, ll);
        int32_t r = llm_strtab_intern(&t->pieces, sp + 1, rl);
        int32_t res = llm_strtab_intern(&t->pieces, cat, ll + rl);
        uint64_t key = pair_key(l, r);
        size_t s = merge_slot(b, key);
        if (b->keys[s])
            continue; /* a repeated pair keeps its first (best) rank */
        b->keys[s] = key;
        b->rank[s] = (int32_t)i;
        b->result[s] = res;
    }
    free(cat);
    memset(b->dec, 0xFF, sizeof b->dec);
    for (int c = 0; c < 256; c++) {
        uint32_t cp = llm_bpe_byte_cp((uint8_t)c);
        b->enc_len[c] = (uint8_t)unicode_encode(cp, b->enc[c]);
        b->byte_piece[c] = llm_strtab_find(&t->pieces, b->enc[c], b->enc_len[c]);
        b->dec[cp] = (int16_t)c;
    }
    return CCAI_OK;
}

void llm_bpe_free(llm_bpe *b)
{
    if (!b)
        return;
    free(b->keys);
    free(b->rank);
    free(b->result);
    free(b);
}

static bool bpe_pair(const void *ctx, const llm_sym *l, const llm_sym *r, double *prio,
                     int32_t *piece)
{
    const llm_bpe *b = ctx;
    int32_t rank;
    if (l->piece < 0 || r->piece < 0 || !merge_find(b, l->piece, r->piece, &rank, piece))
        return false;
    *prio = -(double)rank;
    return true;
}

/* A symbol that is no vocabulary entry: its bytes one by one (llama.cpp
 * does the same), the unknown token for a byte the vocabulary lacks. */
static void emit_fallback(const llm_tokenizer *t, const uint8_t *w, const llm_sym *y, llm_ids *out)
{
    for (uint32_t k = 0; k < y->n; k++) {
        int32_t id = t->bpe->byte_piece[w[y->start + k]];
        if (id >= 0 && (size_t)id < t->n_vocab)
            llm_ids_push(out, id);
        else if (t->unk >= 0)
            llm_ids_push(out, t->unk);
    }
}

static void encode_word(const llm_tokenizer *t, const uint8_t *w, size_t len, llm_scratch *s,
                        llm_ids *out)
{
    const llm_bpe *b = t->bpe;
    if (t->ignore_merges) {
        char *buf = llm_scratch_buf(s, 2 * len);
        size_t nb = 0;
        for (size_t i = 0; i < len; i++) {
            memcpy(buf + nb, b->enc[w[i]], b->enc_len[w[i]]);
            nb += b->enc_len[w[i]];
        }
        int32_t id = llm_strtab_find(&t->pieces, buf, nb);
        if (id >= 0 && (size_t)id < t->n_vocab) {
            llm_ids_push(out, id);
            return;
        }
    }
    llm_sym *syms = llm_scratch_syms(s, len);
    for (size_t i = 0; i < len; i++)
        syms[i] = (llm_sym){(uint32_t)i, 1, b->byte_piece[w[i]], (int32_t)i - 1,
                            i + 1 < len ? (int32_t)i + 1 : -1};
    llm_merge_symbols(s, syms, len, bpe_pair, b);
    for (int32_t i = 0; i >= 0; i = syms[i].next) {
        const llm_sym *y = &syms[i];
        if (y->piece >= 0 && (size_t)y->piece < t->n_vocab)
            llm_ids_push(out, y->piece);
        else
            emit_fallback(t, w, y, out);
    }
}

void llm_bpe_encode(const llm_tokenizer *t, const char *text, size_t len, llm_scratch *s,
                    llm_ids *out)
{
    size_t *ends, n;
    llm_pretok_split(t->pre, text, len, &ends, &n);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        encode_word(t, (const uint8_t *)text + start, ends[i] - start, s, out);
        start = ends[i];
    }
    free(ends);
}

void llm_bpe_unmap(const llm_tokenizer *t, const char *text, size_t len, ccai_buf *out)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = unicode_decode(text + i, len - i, &cp);
        if (cp < 324 && t->bpe->dec[cp] >= 0)
            ccai_buf_u8(out, (uint8_t)t->bpe->dec[cp]);
        else
            ccai_buf_append(out, text + i, k);
        i += k;
    }
}
