/* Fuzz target for the tokenizers (src/llm/tokenizer.c and friends).
 *
 * Self-contained: the vocabularies are built here in code, a small
 * SentencePiece one (byte tokens, scored pieces, control tokens) and a
 * byte-level BPE one (the 256 byte stand-ins, merges spelling a few words,
 * a control and a user-defined token) under each pre-tokenizer (gpt2,
 * llama-bpe, qwen2). The input is tokenized by each, with special-token
 * parsing off and on, and the target aborts when a contract breaks:
 * - every id is inside the vocabulary;
 * - streaming detokenizing gives well-formed UTF-8;
 * - BPE is lossless: the tokens' bytes are exactly the input;
 * - SPM (specials off) gives back " " + input, reading every "▁" as a space. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "llm/tokenizer.h"
#include "llm/unicode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "fuzz_tokenizer: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* Growing arrays of token texts, owned by the builder. */
typedef struct vocab_build {
    char *texts[1024];
    gguf_str toks[1024];
    float scores[1024];
    int32_t types[1024];
    size_t n;
    char *merge_texts[512];
    gguf_str merges[512];
    size_t n_merges;
} vocab_build;

static int32_t add_token(vocab_build *v, const char *s, size_t len, int32_t type)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->toks[i].len == len && memcmp(v->toks[i].ptr, s, len) == 0)
            return (int32_t)i;
    CHECK(v->n < 1024);
    v->texts[v->n] = ccai_xmemdup(s, len);
    v->toks[v->n] = (gguf_str){v->texts[v->n], len};
    v->scores[v->n] = -(float)v->n;
    v->types[v->n] = type;
    return (int32_t)v->n++;
}

static void free_build(vocab_build *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->texts[i]);
    for (size_t i = 0; i < v->n_merges; i++)
        free(v->merge_texts[i]);
}

static llm_tokenizer *build(vocab_build *v, const char *model, const char *pre)
{
    llm_vocab_desc d = llm_vocab_desc_default();
    d.model = model;
    d.pre = pre;
    d.n_tokens = v->n;
    d.tokens = v->toks;
    d.scores = v->scores;
    d.types = v->types;
    d.n_merges = v->n_merges;
    d.merges = v->merges;
    d.unk = 0;
    d.bos = 1;
    d.eos = 2;
    llm_tokenizer *t = NULL;
    ccai_err err = {0};
    if (llm_tokenizer_from_desc(&d, &t, &err) != CCAI_OK) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", err.msg);
        abort();
    }
    return t;
}

static llm_tokenizer *build_spm(void)
{
    static const char *const pieces[] = {
        "\xe2\x96\x81", "\xe2\x96\x81t", "h", "e", "he", "\xe2\x96\x81the", "\342\226\201a",
        "a", "t", "th", "\xc3\xa9", "\xe4\xbd\xa0", "\xe5\xa5\xbd", "\xe4\xbd\xa0\xe5\xa5\xbd",
        "\xe2\x96\x81\xe2\x96\x81", "\n", "1", "12", "<", "s", ">",
    };
    vocab_build v = {0};
    add_token(&v, "<unk>", 5, LLM_TOKEN_UNKNOWN);
    add_token(&v, "<s>", 3, LLM_TOKEN_CONTROL);
    add_token(&v, "</s>", 4, LLM_TOKEN_CONTROL);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        add_token(&v, name, 6, LLM_TOKEN_BYTE);
    }
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
        add_token(&v, pieces[i], strlen(pieces[i]), LLM_TOKEN_NORMAL);
    llm_tokenizer *t = build(&v, "llama", NULL);
    free_build(&v);
    return t;
}

/* The UTF-8 of byte b's GPT-2 stand-in. */
static size_t stand_in(uint8_t b, char out[4])
{
    return unicode_encode(llm_bpe_byte_cp(b), out);
}

static llm_tokenizer *build_bpe(const char *pre)
{
    static const char *const words[] = {" the", "he", "in", " and", "12", "\n\n", "'s",
                                        "\xe4\xbd\xa0\xe5\xa5\xbd", "  ", "!!", "\xc3\xa9t\xc3\xa9"};
    vocab_build v = {0};
    add_token(&v, "<|unk|>", 7, LLM_TOKEN_UNKNOWN);
    add_token(&v, "<|endoftext|>", 13, LLM_TOKEN_CONTROL);
    add_token(&v, "<|im_end|>", 10, LLM_TOKEN_CONTROL);
    add_token(&v, "<think>", 7, LLM_TOKEN_USER_DEFINED);
    for (int b = 0; b < 256; b++) {
        char s[4];
        add_token(&v, s, stand_in((uint8_t)b, s), LLM_TOKEN_NORMAL);
    }
    /* Each word is spelled by merging its stand-ins left to right. */
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        char acc[64];
        size_t acc_len = stand_in((uint8_t)words[w][0], acc);
        for (size_t i = 1; words[w][i]; i++) {
            char s[4];
            size_t k = stand_in((uint8_t)words[w][i], s);
            char m[80];
            memcpy(m, acc, acc_len);
            m[acc_len] = ' ';
            memcpy(m + acc_len + 1, s, k);
            CHECK(v.n_merges < 512);
            v.merge_texts[v.n_merges] = ccai_xmemdup(m, acc_len + 1 + k);
            v.merges[v.n_merges] = (gguf_str){v.merge_texts[v.n_merges], acc_len + 1 + k};
            v.n_merges++;
            memcpy(acc + acc_len, s, k);
            acc_len += k;
            add_token(&v, acc, acc_len, LLM_TOKEN_NORMAL);
        }
    }
    llm_tokenizer *t = build(&v, "gpt2", pre);
    free_build(&v);
    return t;
}

/* "▁" read as a space. */
static void unescape(ccai_buf *b)
{
    size_t o = 0;
    for (size_t i = 0; i < b->len;) {
        if (i + 3 <= b->len && memcmp(b->data + i, "\xe2\x96\x81", 3) == 0) {
            b->data[o++] = ' ';
            i += 3;
        } else {
            b->data[o++] = b->data[i++];
        }
    }
    b->len = o;
}

static void run(const llm_tokenizer *t, const uint8_t *data, size_t size, bool special)
{
    int32_t *ids = NULL;
    size_t n = 0;
    ccai_err err = {0};
    CHECK(llm_tokenize(t, (const char *)data, size, false, special, &ids, &n, &err) == CCAI_OK);
    llm_detok d;
    llm_detok_init(&d, t, llm_tokenizer_kind(t) == LLM_VOCAB_SPM);
    d.special = special;
    ccai_buf text = {0}, raw = {0};
    for (size_t i = 0; i < n; i++) {
        CHECK(ids[i] >= 0 && (size_t)ids[i] < llm_vocab_size(t));
        llm_detok_push(&d, ids[i], &text);
        llm_token_bytes(t, ids[i], special, &raw);
    }
    llm_detok_flush(&d, &text);
    CHECK(unicode_valid((const char *)text.data, text.len));
    if (llm_tokenizer_kind(t) == LLM_VOCAB_BPE) {
        CHECK(raw.len == size && (size == 0 || memcmp(raw.data, data, size) == 0));
    } else if (!special) {
        ccai_buf want = {0};
        if (size) {
            ccai_buf_u8(&want, ' ');
            ccai_buf_append(&want, data, size);
        }
        unescape(&want);
        unescape(&raw);
        CHECK(raw.len == want.len && (raw.len == 0 || memcmp(raw.data, want.data, raw.len) == 0));
        ccai_buf_free(&want);
    }
    ccai_buf_free(&text);
    ccai_buf_free(&raw);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Built once per process and kept (reachable) for later inputs. */
    static llm_tokenizer *toks[4];
    if (!toks[0]) {
        toks[0] = build_spm();
        toks[1] = build_bpe("gpt2");
        toks[2] = build_bpe("llama-bpe");
        toks[3] = build_bpe("qwen2");
    }
    if (size > 1 << 16)
        return 0;
    for (int i = 0; i < 4; i++) {
        run(toks[i], data, size, false);
        run(toks[i], data, size, true);
    }
    return 0;
}
