/* SentencePiece tokenizing (`tokenizer.ggml.model` = "llama"), as
 * llama.cpp's SPM path does it:
 *
 * 1. Normalize: a "▁" (U+2581) in front when the fragment gets the space
 *    prefix, and every space ' ' becomes "▁" (nothing else changes).
 * 2. Start from one symbol per character and merge adjacent symbols whose
 *    concatenation is a vocabulary entry, the highest-scoring entry first,
 *    ties to the leftmost pair.
 * 3. A final symbol that is a vocabulary entry is that token; any other
 *    (a character the vocabulary lacks) falls back to the byte tokens
 *    <0xNN> of its bytes, else to the unknown token. */
#include <stdio.h>
#include <string.h>

#include "llm/pretok.h"
#include "llm/unicode.h"

static const char spm_space[3] = {'\xE2', '\x96', '\x81'}; /* U+2581 "▁" */

void llm_spm_init_bytes(llm_tokenizer *t)
{
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        int32_t id = llm_strtab_find(&t->pieces, name, 6);
        if (id < 0) { /* llama.cpp also accepts the byte itself as a token */
            char c = (char)b;
            id = llm_strtab_find(&t->pieces, &c, 1);
        }
        t->spm_byte[b] = id;
    }
}

typedef struct spm_ctx {
    const llm_tokenizer *t;
    const char *text;
} spm_ctx;

static bool spm_pair(const void *ctx, const llm_sym *l, const llm_sym *r, double *prio,
                     int32_t *piece)
{
    const spm_ctx *c = ctx;
    int32_t id = llm_strtab_find(&c->t->pieces, c->text + l->start, (size_t)l->n + r->n);
    if (id < 0)
        return false;
    *prio = c->t->scores[id];
    *piece = id;
    return true;
}

void llm_spm_encode(const llm_tokenizer *t, const char *text, size_t len, bool prefix,
                    llm_scratch *s, llm_ids *out)
{
    char *buf = llm_scratch_buf(s, 3 * len + 3);
    size_t nb = 0;
    if (prefix) {
        memcpy(buf, spm_space, 3);
        nb = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(buf + nb, spm_space, 3);
            nb += 3;
        } else {
            buf[nb++] = text[i];
        }
    }
    llm_sym *syms = llm_scratch_syms(s, nb);
    size_t n = 0;
    for (size_t p = 0; p < nb;) {
        uint32_t cp;
        size_t k = unicode_decode(buf + p, nb - p, &cp);
        syms[n] = (llm_sym){(uint32_t)p, (uint32_t)k, -1, (int32_t)n - 1, (int32_t)n + 1};
        n++;
        p += k;
    }
    if (n == 0)
        return;
    syms[n - 1].next = -1;
    spm_ctx ctx = {t, buf};
    llm_merge_symbols(s, syms, n, spm_pair, &ctx);
    for (int32_t i = 0; i >= 0; i = syms[i].next) {
        const llm_sym *y = &syms[i];
        int32_t id = llm_strtab_find(&t->pieces, buf + y->start, y->n);
        if (id >= 0 && (size_t)id < t->n_vocab) {
            llm_ids_push(out, id);
            continue;
        }
        bool all_bytes = true;
        for (uint32_t k = 0; k < y->n; k++)
            all_bytes = all_bytes && t->spm_byte[(uint8_t)buf[y->start + k]] >= 0;
        if (all_bytes) {
            for (uint32_t k = 0; k < y->n; k++)
                llm_ids_push(out, t->spm_byte[(uint8_t)buf[y->start + k]]);
        } else if (t->unk >= 0) {
            llm_ids_push(out, t->unk);
        }
    }
}

void llm_spm_unescape(const char *text, size_t len, ccai_buf *out)
{
    size_t i = 0, run = 0; /* copy runs between "▁"s in one go */
    while (i < len) {
        if (i + 3 <= len && memcmp(text + i, spm_space, 3) == 0) {
            ccai_buf_append(out, text + run, i - run);
            ccai_buf_u8(out, ' ');
            i += 3;
            run = i;
        } else {
            i++;
        }
    }
    ccai_buf_append(out, text + run, len - run);
}
