/* Tests for the tokenizers (src/llm/tokenizer.c, tok_spm.c, tok_bpe.c,
 * pretok.c): every string of the llama.cpp test vectors in
 * ../shared/testdata/tokenizer exactly (SentencePiece and GPT-2 BPE), the
 * stories260K sentence, special-token parsing on and off, byte fallback,
 * detokenizing (whole tokens, streaming across split characters, round
 * trips), invalid UTF-8 input, the llama-bpe and qwen2 pre-tokenizers
 * against hand-computed splits, the errors for unknown vocabularies, and
 * load time of a vocabulary the size of Qwen's. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "llm/gguf.h"
#include "llm/gguf_write.h"
#include "llm/pretok.h"
#include "llm/tokenizer.h"
#include "llm/unicode.h"

static const char SEP[] = "\n__ggml_vocab_test__\n";

static llm_tokenizer *load_vocab(const char *path)
{
    gguf_file *f = NULL;
    llm_tokenizer *t = NULL;
    ccai_err err = {0};
    if (gguf_open(path, &f, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    if (llm_tokenizer_from_gguf(f, &t, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    gguf_close(f); /* the tokenizer keeps copies of what it needs */
    return t;
}

static int32_t *tok(const llm_tokenizer *t, const char *s, size_t len, bool bos, bool special,
                    size_t *n)
{
    int32_t *ids = NULL;
    ccai_err err = {0};
    if (llm_tokenize(t, s, len, bos, special, &ids, n, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    return ids;
}

/* Space-separated ids, as in the .out files. */
static char *ids_str(const int32_t *ids, size_t n)
{
    ccai_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        char num[16];
        snprintf(num, sizeof num, "%s%d", i ? " " : "", ids[i]);
        ccai_buf_append_str(&b, num);
    }
    ccai_buf_u8(&b, 0);
    return (char *)b.data;
}

static void assert_tokens(const llm_tokenizer *t, const char *s, bool bos, bool special,
                          const char *want)
{
    size_t n;
    int32_t *ids = tok(t, s, strlen(s), bos, special, &n);
    char *got = ids_str(ids, n);
    if (strcmp(got, want) != 0)
        fail_msg("tokenize \"%s\": want [%s] got [%s]", s, want, got);
    free(got);
    free(ids);
}

/* Detokenizes ids with the streaming detokenizer. */
static char *detok_all(const llm_tokenizer *t, const int32_t *ids, size_t n, bool strip,
                       size_t *len)
{
    llm_detok d;
    llm_detok_init(&d, t, strip);
    ccai_buf out = {0};
    for (size_t i = 0; i < n; i++)
        llm_detok_push(&d, ids[i], &out);
    llm_detok_flush(&d, &out);
    ccai_buf_u8(&out, 0);
    *len = out.len - 1;
    return (char *)out.data;
}

/* The vector file pair: every string tokenizes to its line, and detokenizes
 * back to itself. */
static void check_vectors(const char *rel)
{
    const char *p = tu_shared_path(rel);
    TU_SKIP_IF_NO_SHARED(p);
    char gguf_path[4096], path[4200];
    snprintf(gguf_path, sizeof gguf_path, "%s", p);
    llm_tokenizer *t = load_vocab(gguf_path);
    size_t inp_len, out_len;
    snprintf(path, sizeof path, "%s.inp", gguf_path);
    char *inp = (char *)tu_read(path, &inp_len);
    snprintf(path, sizeof path, "%s.out", gguf_path);
    char *out = (char *)tu_read(path, &out_len);
    bool spm = llm_tokenizer_kind(t) == LLM_VOCAB_SPM;

    size_t total = 0, good = 0;
    char *s = inp, *line = out;
    while (line < out + out_len) {
        char *s_end = strstr(s, SEP);
        size_t s_len = s_end ? (size_t)(s_end - s) : strlen(s);
        char *nl = memchr(line, '\n', (size_t)(out + out_len - line));
        size_t line_len = nl ? (size_t)(nl - line) : (size_t)(out + out_len - line);
        char *want = ccai_xstrndup(line, line_len);
        char *w = want;
        while (*w == ' ')
            w++; /* the files start each line with a space */

        size_t n;
        int32_t *ids = tok(t, s, s_len, false, false, &n);
        char *got = ids_str(ids, n);
        total++;
        if (strcmp(got, w) == 0)
            good++;
        else
            print_message("%s #%zu \"%.*s\": want [%s] got [%s]\n", rel, total - 1, (int)s_len, s,
                          w, got);
        /* Round trip; SentencePiece added a leading space the detokenizer
         * strips again. */
        size_t dl;
        char *back = detok_all(t, ids, n, spm, &dl);
        if (dl != s_len || memcmp(back, s, s_len) != 0)
            fail_msg("%s #%zu: detokenized \"%s\", want \"%.*s\"", rel, total - 1, back,
                     (int)s_len, s);
        free(back);
        free(got);
        free(ids);
        free(want);
        if (!s_end || !nl)
            break;
        s = s_end + strlen(SEP);
        line = nl + 1;
    }
    print_message("%s: %zu/%zu\n", rel, good, total);
    assert_true(total >= 40);
    assert_int_equal(good, total);
    free(inp);
    free(out);
    llm_tokenizer_free(t);
}

static void test_spm_vectors(void **state)
{
    (void)state;
    check_vectors("testdata/tokenizer/ggml-vocab-llama-spm.gguf");
}

static void test_bpe_vectors(void **state)
{
    (void)state;
    check_vectors("testdata/tokenizer/ggml-vocab-gpt-2.gguf");
}

static void test_stories260k(void **state)
{
    (void)state;
    const char *p = tu_shared_path("models/stories260K.gguf");
    TU_SKIP_IF_NO_SHARED(p);
    llm_tokenizer *t = load_vocab(p);
    assert_int_equal(llm_vocab_size(t), 512);
    assert_int_equal(llm_tokenizer_kind(t), LLM_VOCAB_SPM);
    assert_true(llm_tokenizer_add_bos(t));
    assert_int_equal(llm_token_bos(t), 1);
    assert_int_equal(llm_token_eos(t), 2);
    assert_int_equal(llm_token_eot(t), -1);
    assert_tokens(t, "Once upon a time, there was a little girl named Lily.", true, false,
                  "1 403 407 261 378 432 383 286 261 376 298 315 421 395 317 426");
    /* Detokenizing after BOS drops the space prefix. */
    size_t n, dl;
    const char *s = "Once upon a time, there was a little girl named Lily.";
    int32_t *ids = tok(t, s, strlen(s), true, false, &n);
    char *back = detok_all(t, ids, n, true, &dl);
    assert_string_equal(back, s);
    free(back);
    free(ids);

    /* Byte fallback: "₤" (U+20A4) is no piece of this vocabulary: <0xE2>
     * <0x82> <0xA4> (byte tokens start at id 3). */
    assert_tokens(t, "\xe2\x82\xa4", false, false, "410 229 133 167");
    /* Streaming: the first two bytes of "€" (<0xE2> <0x82> <0xAC>) emit
     * nothing, the last all of it. */
    llm_detok d;
    llm_detok_init(&d, t, false);
    ccai_buf out = {0};
    llm_detok_push(&d, 229, &out);
    llm_detok_push(&d, 133, &out);
    assert_int_equal(out.len, 0);
    llm_detok_push(&d, 175, &out);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "\xe2\x82\xac", 3);
    /* A character cut short comes out as U+FFFD at flush; a stray
     * continuation byte at once. */
    out.len = 0;
    llm_detok_push(&d, 3 + 0xE2, &out);
    llm_detok_push(&d, 3 + 0x82, &out);
    assert_int_equal(out.len, 0);
    llm_detok_flush(&d, &out);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "\xef\xbf\xbd", 3);
    out.len = 0;
    llm_detok_push(&d, 3 + 0x80, &out);
    llm_detok_push(&d, 3 + 'A', &out);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "\xef\xbf\xbd" "A", 4);
    /* Control tokens render only when asked. */
    out.len = 0;
    llm_token_bytes(t, 1, false, &out);
    assert_int_equal(out.len, 0);
    llm_token_bytes(t, 1, true, &out);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "<s>", 3);
    ccai_buf_free(&out);
    llm_tokenizer_free(t);
}

static void test_special_tokens(void **state)
{
    (void)state;
    const char *p = tu_shared_path("testdata/tokenizer/ggml-vocab-gpt-2.gguf");
    TU_SKIP_IF_NO_SHARED(p);
    llm_tokenizer *t = load_vocab(p);
    assert_int_equal(llm_token_eos(t), 50256);
    assert_true(llm_token_is_eog(t, 50256));
    assert_true(llm_token_is_control(t, 50256));
    assert_false(llm_token_is_eog(t, 15496));
    assert_false(llm_tokenizer_add_bos(t));
    assert_string_equal(llm_tokenizer_pre(t), "gpt-2");
    assert_int_equal(llm_token_lookup(t, "<|endoftext|>", 13), 50256);
    assert_int_equal(llm_token_lookup(t, "Hello", 5), 15496);
    assert_int_equal(llm_token_lookup(t, "no such token", 13), -1);
    size_t len;
    const char *txt = llm_token_text(t, 18435, &len);
    assert_int_equal(len, 7);
    assert_memory_equal(txt, "\xc4\xa0Hello", 7); /* "ĠHello" */
    assert_null(llm_token_text(t, 50257, &len));

    assert_tokens(t, "Hello<|endoftext|> world", false, true, "15496 50256 995");
    assert_tokens(t, "Hello<|endoftext|> world", false, false, "15496 27 91 437 1659 5239 91 29 995");
    /* A partial special is text; the longest special at a position wins. */
    assert_tokens(t, "<|endoftext|", false, true, "27 91 437 1659 5239 91");
    llm_tokenizer_free(t);

    p = tu_shared_path("testdata/tokenizer/ggml-vocab-llama-spm.gguf");
    TU_SKIP_IF_NO_SHARED(p);
    t = load_vocab(p);
    /* SPM: the fragment after a special token gets the space prefix again. */
    size_t n1, n2;
    int32_t *hello = tok(t, "Hello", 5, false, false, &n1);
    int32_t *ids = tok(t, "<s>Hello</s>", 12, false, true, &n2);
    assert_int_equal(n2, n1 + 2);
    assert_int_equal(ids[0], 1);
    assert_memory_equal(ids + 1, hello, n1 * sizeof *ids);
    assert_int_equal(ids[n2 - 1], 2);
    free(ids);
    ids = tok(t, "<s>Hello</s>", 12, false, false, &n2);
    for (size_t i = 0; i < n2; i++)
        assert_true(ids[i] != 1 && ids[i] != 2);
    free(ids);
    free(hello);
    llm_tokenizer_free(t);
}

/* A small SentencePiece vocabulary built in memory. */
static llm_tokenizer *tiny_spm(bool byte_tokens)
{
    static const char *const texts[] = {
        "<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "ab", "\342\226\201ab",
        "<tool>", "c", "bc",
    };
    static const float scores[] = {0, 0, 0, -1, -2, -2, -1.5f, -0.5f, 0, -3, -1.0f};
    static const int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1, 4, 1, 1};
    enum { N_FIXED = sizeof texts / sizeof texts[0] };
    gguf_str toks[N_FIXED + 256];
    float sc[N_FIXED + 256];
    int32_t ty[N_FIXED + 256];
    static char bytes[256][7];
    size_t n = 0;
    for (; n < N_FIXED; n++) {
        toks[n] = (gguf_str){texts[n], strlen(texts[n])};
        sc[n] = scores[n];
        ty[n] = types[n];
    }
    for (int b = 0; byte_tokens && b < 256; b++, n++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[n] = (gguf_str){bytes[b], 6};
        sc[n] = 0;
        ty[n] = LLM_TOKEN_BYTE;
    }
    llm_vocab_desc d = llm_vocab_desc_default();
    d.model = "llama";
    d.n_tokens = n;
    d.tokens = toks;
    d.scores = sc;
    d.types = ty;
    d.unk = 0;
    d.bos = 1;
    d.eos = 2;
    llm_tokenizer *t = NULL;
    ccai_err err = {0};
    if (llm_tokenizer_from_desc(&d, &t, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    return t;
}

static void test_spm_merges_and_fallback(void **state)
{
    (void)state;
    llm_tokenizer *t = tiny_spm(true);
    /* "▁abc": of the pairs ▁a (no piece), ab (-1.5) and bc (-1.0), bc
     * scores best; then ab is stale and nothing else merges: ▁ a bc. */
    assert_tokens(t, "abc", false, false, "3 4 10");
    /* "▁ab": ab (-1.5), which makes ▁ab (-0.5) possible. */
    assert_tokens(t, "ab", false, false, "7");
    /* Unknown characters fall back to bytes: "x" is <0x78>. */
    assert_tokens(t, "x", false, false, "3 131");
    /* User-defined tokens match even without parse_special; control tokens
     * only with it. */
    assert_tokens(t, "a<tool>b", false, false, "3 4 8 3 5");
    assert_tokens(t, "<s>", false, true, "1");
    llm_tokenizer_free(t);

    /* No byte tokens: an unknown piece is the unknown token. */
    t = tiny_spm(false);
    assert_tokens(t, "axb", false, false, "3 4 0 5");
    assert_tokens(t, "", true, false, "1");
    ccai_buf out = {0};
    llm_token_bytes(t, 7, false, &out);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, " ab", 3);
    out.len = 0;
    llm_token_bytes(t, 8, false, &out); /* user-defined: as it is */
    assert_int_equal(out.len, 6);
    ccai_buf_free(&out);
    llm_tokenizer_free(t);
}

/* A small byte-level BPE vocabulary: llama-bpe's whole-word shortcut
 * (ignore_merges), merge ranks, end-of-generation tokens. */
static void test_bpe_desc(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "a", "b", "c", "ab", "abc", "bc", "<|im_end|>",
        "<\357\275\234end\342\226\201of\342\226\201sentence\357\275\234>", "<think>",
    };
    static const int32_t types[] = {1, 1, 1, 1, 1, 1, 3, 3, 4};
    static const char *const merges[] = {"b c", "a b"};
    gguf_str toks[9], mg[2];
    for (size_t i = 0; i < 9; i++)
        toks[i] = (gguf_str){texts[i], strlen(texts[i])};
    for (size_t i = 0; i < 2; i++)
        mg[i] = (gguf_str){merges[i], strlen(merges[i])};
    llm_vocab_desc d = llm_vocab_desc_default();
    d.model = "gpt2";
    d.n_tokens = 9;
    d.tokens = toks;
    d.types = types;
    d.n_merges = 2;
    d.merges = mg;
    d.eos = 7;
    const char *pres[] = {"qwen2", "llama-bpe"};
    /* "abc": rank 0 "b c" first, then no "a bc" merge -> a bc; llama-bpe
     * takes the whole word, which is a vocabulary entry. */
    const char *want[] = {"0 5", "4"};
    for (int i = 0; i < 2; i++) {
        d.pre = pres[i];
        llm_tokenizer *t = NULL;
        ccai_err err = {0};
        assert_int_equal(llm_tokenizer_from_desc(&d, &t, &err), CCAI_OK);
        assert_tokens(t, "abc", false, false, want[i]);
        assert_tokens(t, "ab", false, false, "3");
        /* User-defined tokens always match; control tokens only when asked. */
        assert_tokens(t, "<think>ab<|im_end|>", false, true, "8 3 6");
        assert_true(llm_token_is_eog(t, 6));
        assert_true(llm_token_is_eog(t, 7));
        assert_false(llm_token_is_eog(t, 8));
        assert_false(llm_token_is_control(t, 8));
        assert_int_equal(llm_token_type(t, 8), LLM_TOKEN_USER_DEFINED);
        assert_int_equal(llm_token_eot(t), -1);
        llm_tokenizer_free(t);
    }
}

/* Any bytes in, no crash, valid UTF-8 out; byte-level BPE gives back
 * exactly the bytes it was given, token by token. */
static void test_invalid_utf8(void **state)
{
    (void)state;
    const char *paths[] = {"testdata/tokenizer/ggml-vocab-gpt-2.gguf",
                           "testdata/tokenizer/ggml-vocab-llama-spm.gguf"};
    const char *inputs[] = {
        "\xff\xfe\xfd", "a\200b", "\xe2\x82", "\xc0\xaf <|endoftext|>\xed\xa0\x80",
        "\xf4\x90\x80\x80 x", "caf\xc3", "\xe2\x96\x81\xe2\x96", "",
    };
    for (size_t v = 0; v < 2; v++) {
        const char *p = tu_shared_path(paths[v]);
        TU_SKIP_IF_NO_SHARED(p);
        llm_tokenizer *t = load_vocab(p);
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
            for (int special = 0; special < 2; special++) {
                size_t len = strlen(inputs[i]);
                char *buf = ccai_xmemdup(inputs[i], len); /* exact size: ASan sees over-reads */
                size_t n, dl;
                int32_t *ids = tok(t, buf, len, false, special, &n);
                char *back = detok_all(t, ids, n, false, &dl);
                assert_true(unicode_valid(back, dl));
                if (v == 0 && !special) {
                    ccai_buf raw = {0};
                    for (size_t k = 0; k < n; k++)
                        llm_token_bytes(t, ids[k], false, &raw);
                    assert_int_equal(raw.len, len);
                    if (len)
                        assert_memory_equal(raw.data, inputs[i], len);
                    ccai_buf_free(&raw);
                }
                free(back);
                free(ids);
                free(buf);
            }
        }
        llm_tokenizer_free(t);
    }
}

/* Pre-token boundaries joined with '|'. */
static void assert_split(llm_pretok kind, const char *s, const char *want)
{
    size_t *ends, n, start = 0;
    llm_pretok_split(kind, s, strlen(s), &ends, &n);
    ccai_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i)
            ccai_buf_u8(&b, '|');
        assert_true(ends[i] > start);
        ccai_buf_append(&b, s + start, ends[i] - start);
        start = ends[i];
    }
    assert_int_equal(start, strlen(s));
    ccai_buf_u8(&b, 0);
    if (strcmp((char *)b.data, want) != 0)
        fail_msg("pretok %d \"%s\": want \"%s\" got \"%s\"", (int)kind, s, want, (char *)b.data);
    ccai_buf_free(&b);
    free(ends);
}

static void test_pretok_qwen2_llama3(void **state)
{
    (void)state;
    const llm_pretok Q = LLM_PRETOK_QWEN2, L = LLM_PRETOK_LLAMA3, G = LLM_PRETOK_GPT2;
    /* Digits: one at a time (qwen2) or up to three (llama-bpe). */
    assert_split(Q, "12345", "1|2|3|4|5");
    assert_split(L, "12345", "123|45");
    assert_split(L, "3.14159", "3|.|141|59");
    assert_split(Q, "x 123", "x| |1|2|3");
    assert_split(L, "x 123", "x| |123");
    assert_split(G, "x 123", "x| 123");
    /* Contractions, case-insensitive except in gpt2. */
    assert_split(Q, "I'm can't WE'LL", "I|'m| can|'t| WE|'LL");
    assert_split(L, "They'RE you'Ve", "They|'RE| you|'Ve");
    assert_split(G, "WE'LL we'll", "WE|'|LL| we|'ll");
    /* One non-letter, non-digit, non-newline character joins the letters
     * after it (llama-bpe, qwen2), spaces and tabs included. */
    assert_split(Q, "!abc \tfoo", "!abc| |\tfoo");
    assert_split(G, "!abc \tfoo", "!|abc| |\t|foo");
    assert_split(Q, "'hello", "'hello");
    /* Whitespace runs give their last space to the next word; trailing
     * runs stay whole. */
    assert_split(Q, "a   b", "a|  | b");
    assert_split(Q, "a  ", "a|  ");
    assert_split(G, "a   b", "a|  | b");
    /* Newlines: \s*[\r\n]+ takes whitespace up to the last line break. */
    assert_split(Q, "a\n\nb", "a|\n\n|b");
    assert_split(Q, "a \n \n  b", "a| \n \n| | b");
    assert_split(L, "a\r\n", "a|\r\n");
    assert_split(G, "a\n\nb", "a|\n|\n|b");
    assert_split(G, "a \n b", "a| \n| b");
    /* Punctuation runs take the line breaks after them. */
    assert_split(Q, "hello!!!\n\nworld", "hello|!!!\n\n|world");
    assert_split(L, "x, y.\n", "x|,| y|.\n");
    assert_split(G, "hello!!!\n\nworld", "hello|!!!|\n|\n|world");
    /* Non-Latin letters and marks: Cyrillic words, CJK as one run, a
     * combining accent (Mn) is not a letter. */
    assert_split(Q, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80",
                 "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82| \xd0\xbc\xd0\xb8\xd1\x80");
    assert_split(Q, "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c!",
                 "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c|!");
    assert_split(Q, "e\xcc\x81t\xc3\xa9", "e|\xcc\x81t\xc3\xa9");
    /* Arabic-Indic digits are \p{N}. */
    assert_split(L, "\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4", "\xd9\xa1\xd9\xa2\xd9\xa3|\xd9\xa4");
    /* Ideographic space (U+3000) is \s. */
    assert_split(Q, "a\xe3\x80\x80\xe3\x80\x80" "b", "a|\xe3\x80\x80|\xe3\x80\x80" "b");
    /* Invalid bytes are "other" characters. */
    assert_split(Q, "a\xff\xfe" "b", "a|\xff\xfe|b");
    assert_split(G, "a\xff\xfe" "b", "a|\xff\xfe|b");
    llm_pretok k;
    assert_true(llm_pretok_lookup("deepseek-r1-qwen", 16, &k) && k == Q);
    assert_true(llm_pretok_lookup("llama-bpe", 9, &k) && k == L);
    assert_false(llm_pretok_lookup("falcon", 6, &k));
}

static ccai_code from_gguf_buf(gguf_writer *w, llm_tokenizer **t, ccai_err *err)
{
    uint8_t *buf;
    size_t len;
    ccai_code rc = gguf_writer_to_buffer(w, &buf, &len, err);
    assert_int_equal(rc, CCAI_OK);
    gguf_file *f = NULL;
    rc = gguf_parse(buf, len, &f, err);
    assert_int_equal(rc, CCAI_OK);
    rc = llm_tokenizer_from_gguf(f, t, err);
    gguf_close(f);
    free(buf);
    return rc;
}

static void test_errors(void **state)
{
    (void)state;
    static const char *const toks[] = {"a", "b", "ab", "<|end|>"};
    static const int32_t types[] = {1, 1, 1, 3};
    static const char *const merges[] = {"a b"};
    llm_tokenizer *t = NULL;
    ccai_err err = {0};

    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "bert");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 4);
    assert_int_equal(from_gguf_buf(w, &t, &err), CCAI_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "\"bert\""));

    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "mystery-pre");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, 1);
    assert_int_equal(from_gguf_buf(w, &t, &err), CCAI_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "\"mystery-pre\""));

    gguf_writer_set_str(w, "tokenizer.ggml.pre", "qwen2");
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 3);
    assert_int_equal(from_gguf_buf(w, &t, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "token_type"));

    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 4);
    gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 3);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 4000000000u); /* absent */
    assert_int_equal(from_gguf_buf(w, &t, &err), CCAI_OK);
    assert_int_equal(llm_token_eos(t), 3);
    assert_int_equal(llm_token_bos(t), -1);
    assert_true(llm_token_is_eog(t, 3));
    assert_tokens(t, "ab", false, false, "2");
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(llm_tokenize(t, "ab", 2, true, false, &ids, &n, &err), CCAI_ERR_ARG);
    llm_tokenizer_free(t);
    t = NULL;

    static const char *const bad_merges[] = {"ab"};
    gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", bad_merges, 1);
    assert_int_equal(from_gguf_buf(w, &t, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "merges[0]"));
    gguf_writer_free(w);

    w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    assert_int_equal(from_gguf_buf(w, &t, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "tokenizer.ggml.model"));
    gguf_writer_free(w);
    assert_null(t);
}

/* Load time of a vocabulary shaped like Qwen's: 152k tokens, 151k merges. */
static void test_large_vocab_load(void **state)
{
    (void)state;
    enum { N_TOK = 152064, N_MERGE = 151387 };
    gguf_str *toks = ccai_xmalloc(N_TOK * sizeof *toks);
    gguf_str *merges = ccai_xmalloc(N_MERGE * sizeof *merges);
    char *text = ccai_xmalloc((size_t)N_TOK * 16 + (size_t)N_MERGE * 32);
    size_t off = 0;
    for (size_t i = 0; i < N_TOK; i++) {
        int k = sprintf(text + off, "t%zx", i);
        toks[i] = (gguf_str){text + off, (uint64_t)k};
        off += (size_t)k;
    }
    for (size_t i = 0; i < N_MERGE; i++) {
        int k = sprintf(text + off, "t%zx t%zx", i % 5000, (i * 7) % 9000);
        merges[i] = (gguf_str){text + off, (uint64_t)k};
        off += (size_t)k;
    }
    llm_vocab_desc d = llm_vocab_desc_default();
    d.model = "gpt2";
    d.pre = "qwen2";
    d.n_tokens = N_TOK;
    d.tokens = toks;
    d.n_merges = N_MERGE;
    d.merges = merges;
    llm_tokenizer *t = NULL;
    ccai_err err = {0};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(llm_tokenizer_from_desc(&d, &t, &err), CCAI_OK);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    print_message("152k-token vocabulary with 151k merges loaded in %.3f s\n", s);
    assert_true(s < 2.0); /* well under a second in a release build */
    assert_int_equal(llm_token_lookup(t, "t2a", 3), 0x2a);
    llm_tokenizer_free(t);
    free(text);
    free(merges);
    free(toks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spm_vectors),
        cmocka_unit_test(test_bpe_vectors),
        cmocka_unit_test(test_stories260k),
        cmocka_unit_test(test_special_tokens),
        cmocka_unit_test(test_spm_merges_and_fallback),
        cmocka_unit_test(test_bpe_desc),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_pretok_qwen2_llama3),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_large_vocab_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
