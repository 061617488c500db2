/* Tokenizer front end (see tokenizer.h): building a tokenizer from GGUF
 * metadata or an in-memory description, the special-token partition, the
 * queries, and detokenizing (whole tokens and streaming UTF-8). The
 * SentencePiece and BPE cores are tok_spm.c and tok_bpe.c; the piece table
 * and the merge engine they share live in pretok.c (internals: pretok.h). */
#include "llm/tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "llm/pretok.h"
#include "llm/unicode.h"

llm_vocab_desc llm_vocab_desc_default(void)
{
    return (llm_vocab_desc){
        .bos = -1, .eos = -1, .eot = -1, .unk = -1, .pad = -1,
        .add_bos = -1, .add_space_prefix = -1,
    };
}

/* ---- Special tokens ---- */

typedef struct special_key {
    uint8_t first;
    uint32_t len;
    int32_t id;
} special_key;

static int special_cmp(const void *a, const void *b)
{
    const special_key *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1; /* longest first */
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Tokens matched in raw text: control, user-defined and unknown (llama.cpp
 * partitions on the same three), bucketed by first byte, longest first. */
static void build_specials(llm_tokenizer *t)
{
    size_t n = 0;
    special_key *keys = ccai_xmalloc((t->n_vocab ? t->n_vocab : 1) * sizeof *keys);
    for (size_t id = 0; id < t->n_vocab; id++) {
        uint8_t ty = t->types[id];
        if (ty != LLM_TOKEN_CONTROL && ty != LLM_TOKEN_USER_DEFINED && ty != LLM_TOKEN_UNKNOWN)
            continue;
        size_t len;
        const char *s = llm_strtab_str(&t->pieces, (int32_t)id, &len);
        if (len == 0 || llm_strtab_find(&t->pieces, s, len) != (int32_t)id)
            continue; /* empty, or a duplicate text another id owns */
        keys[n++] = (special_key){(uint8_t)s[0], (uint32_t)len, (int32_t)id};
    }
    qsort(keys, n, sizeof *keys, special_cmp);
    t->specials = ccai_xmalloc((n ? n : 1) * sizeof *t->specials);
    memset(t->special_start, 0, sizeof t->special_start);
    for (size_t i = 0; i < n; i++) {
        t->specials[i] = keys[i].id;
        t->special_start[keys[i].first + 1]++;
    }
    for (int b = 0; b < 256; b++)
        t->special_start[b + 1] += t->special_start[b];
    free(keys);
}

/* The special token whose text starts s (longest), or -1. */
static int32_t match_special(const llm_tokenizer *t, const char *s, size_t len, bool parse_special,
                             size_t *mlen)
{
    uint8_t b = (uint8_t)s[0];
    for (uint32_t k = t->special_start[b]; k < t->special_start[b + 1]; k++) {
        int32_t id = t->specials[k];
        if (!parse_special && t->types[id] != LLM_TOKEN_USER_DEFINED)
            continue;
        size_t tl;
        const char *ts = llm_strtab_str(&t->pieces, id, &tl);
        if (tl <= len && memcmp(ts, s, tl) == 0) {
            *mlen = tl;
            return id;
        }
    }
    return -1;
}

/* Texts of control tokens that end a turn in the chat formats we serve. */
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
    "<|end_of_text|>", "<EOT>", "_<EOT>",
    "<\357\275\234end\342\226\201of\342\226\201sentence\357\275\234>", /* <｜end▁of▁sentence｜> */
};

static void add_eog(llm_tokenizer *t, int32_t id)
{
    if (id < 0)
        return;
    for (size_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id)
            return;
    t->eog = ccai_xrealloc(t->eog, (t->n_eog + 1) * sizeof *t->eog);
    t->eog[t->n_eog++] = id;
}

static void build_eog(llm_tokenizer *t)
{
    add_eog(t, t->eos);
    add_eog(t, t->eot);
    for (size_t i = 0; i < sizeof eog_texts / sizeof eog_texts[0]; i++)
        add_eog(t, llm_strtab_find(&t->pieces, eog_texts[i], strlen(eog_texts[i])));
}

/* ---- Building ---- */

static int32_t id_or_absent(int32_t id, size_t n)
{
    return id >= 0 && (size_t)id < n ? id : -1;
}

ccai_code llm_tokenizer_from_desc(const llm_vocab_desc *d, llm_tokenizer **out, ccai_err *err)
{
    *out = NULL;
    llm_vocab_kind kind;
    if (!d->model)
        return ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: no tokenizer.ggml.model");
    if (strcmp(d->model, "llama") == 0)
        kind = LLM_VOCAB_SPM;
    else if (strcmp(d->model, "gpt2") == 0)
        kind = LLM_VOCAB_BPE;
    else
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "tokenizer: tokenizer.ggml.model \"%s\" is not supported "
                         "(expected \"llama\" or \"gpt2\")", d->model);
    llm_pretok pre = LLM_PRETOK_GPT2;
    const char *pre_name = d->pre ? d->pre : "default";
    if (kind == LLM_VOCAB_BPE && !llm_pretok_lookup(pre_name, strlen(pre_name), &pre))
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "tokenizer: tokenizer.ggml.pre \"%s\" is not supported (known: default, "
                         "gpt2, gpt-2, llama-bpe, llama3, llama-v3, qwen2, deepseek-r1-qwen)",
                         pre_name);
    if (d->n_tokens == 0 || !d->tokens)
        return ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: the vocabulary is empty");
    if (d->n_tokens > LLM_VOCAB_MAX_TOKENS)
        return ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: %zu tokens exceed the limit of %d",
                         d->n_tokens, LLM_VOCAB_MAX_TOKENS);
    if (d->n_merges > LLM_VOCAB_MAX_MERGES)
        return ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: %zu merges exceed the limit of %d",
                         d->n_merges, LLM_VOCAB_MAX_MERGES);
    /* Piece texts live in one arena addressed by 32-bit offsets. */
    uint64_t total = 0;
    for (size_t i = 0; i < d->n_merges; i++)
        total += 2 * d->merges[i].len;
    for (size_t i = 0; i < d->n_tokens; i++) {
        total += d->tokens[i].len;
        if (d->tokens[i].len > LLM_TOKEN_MAX_LEN)
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "tokenizer: token %zu is %llu bytes long (limit %d)", i,
                             (unsigned long long)d->tokens[i].len, LLM_TOKEN_MAX_LEN);
        if (d->tokens[i].len && !d->tokens[i].ptr)
            return ccai_fail(err, CCAI_ERR_ARG, "tokenizer: token %zu has no text", i);
    }
    if (total > (1u << 31))
        return ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: %llu bytes of token and merge text "
                         "exceed the limit of 2 GiB", (unsigned long long)total);

    llm_tokenizer *t = ccai_xcalloc(1, sizeof *t);
    t->kind = kind;
    t->pre = pre;
    t->ignore_merges = kind == LLM_VOCAB_BPE && pre == LLM_PRETOK_LLAMA3;
    snprintf(t->pre_name, sizeof t->pre_name, "%s", kind == LLM_VOCAB_BPE ? pre_name : "");
    t->n_vocab = d->n_tokens;
    llm_strtab_init(&t->pieces, d->n_tokens + d->n_merges / 8);
    t->scores = ccai_xmalloc(d->n_tokens * sizeof *t->scores);
    t->types = ccai_xmalloc(d->n_tokens);
    for (size_t i = 0; i < d->n_tokens; i++) {
        llm_strtab_append(&t->pieces, d->tokens[i].ptr, (size_t)d->tokens[i].len);
        float sc = d->scores ? d->scores[i] : 0.0f;
        t->scores[i] = isnan(sc) ? -INFINITY : sc;
        int32_t ty = d->types ? d->types[i] : LLM_TOKEN_NORMAL;
        t->types[i] = ty >= 0 && ty <= LLM_TOKEN_BYTE ? (uint8_t)ty : 0;
    }
    size_t n = d->n_tokens;
    t->bos = id_or_absent(d->bos, n);
    t->eos = id_or_absent(d->eos, n);
    t->eot = id_or_absent(d->eot, n);
    t->unk = id_or_absent(d->unk, n);
    t->pad = id_or_absent(d->pad, n);
    t->add_bos = d->add_bos < 0 ? kind == LLM_VOCAB_SPM : d->add_bos != 0;
    t->add_space_prefix = kind == LLM_VOCAB_SPM && d->add_space_prefix != 0;
    build_specials(t);
    build_eog(t);
    if (kind == LLM_VOCAB_SPM) {
        llm_spm_init_bytes(t);
    } else {
        ccai_code rc = llm_bpe_init(t, d->merges, d->n_merges, err);
        if (rc) {
            llm_tokenizer_free(t);
            return rc;
        }
    }
    *out = t;
    return CCAI_OK;
}

void llm_tokenizer_free(llm_tokenizer *t)
{
    if (!t)
        return;
    llm_strtab_free(&t->pieces);
    free(t->scores);
    free(t->types);
    free(t->specials);
    free(t->eog);
    llm_bpe_free(t->bpe);
    free(t);
}

/* An optional token id: absent -> *out untouched; negative -> -1. */
static ccai_code get_id(const gguf_file *f, const char *key, int32_t *out, ccai_err *err)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv)
        return CCAI_OK;
    switch (kv->val.type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
        *out = kv->val.u < LLM_VOCAB_MAX_TOKENS ? (int32_t)kv->val.u : -1;
        return CCAI_OK;
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        *out = kv->val.i >= 0 && kv->val.i < LLM_VOCAB_MAX_TOKENS ? (int32_t)kv->val.i : -1;
        return CCAI_OK;
    default:
        return ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: %s is a %s, expected an integer", key,
                         gguf_type_name(kv->val.type));
    }
}

static ccai_code get_flag(const gguf_file *f, const char *key, int *out, ccai_err *err)
{
    bool v;
    ccai_code rc = gguf_get_bool(f, key, &v, err);
    if (rc == CCAI_ERR_NOT_FOUND)
        return CCAI_OK;
    if (rc == CCAI_OK)
        *out = v;
    return rc;
}

/* A numeric per-token array: absent is fine, a different count is not. */
static ccai_code get_token_arr(const gguf_file *f, const char *key, gguf_type type, size_t n,
                               const uint8_t **data, ccai_err *err)
{
    uint64_t count = 0;
    *data = NULL;
    ccai_code rc = gguf_get_arr(f, key, type, data, &count, err);
    if (rc == CCAI_ERR_NOT_FOUND) {
        *data = NULL;
        return CCAI_OK;
    }
    if (rc)
        return rc;
    if (count != n)
        return ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: %s has %llu entries for %zu tokens", key,
                         (unsigned long long)count, n);
    return CCAI_OK;
}

ccai_code llm_tokenizer_from_gguf(const gguf_file *f, llm_tokenizer **out, ccai_err *err)
{
    *out = NULL;
    llm_vocab_desc d = llm_vocab_desc_default();
    gguf_str model, pre;
    ccai_code rc = gguf_get_str(f, "tokenizer.ggml.model", &model, err);
    if (rc == CCAI_ERR_NOT_FOUND)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "tokenizer: no tokenizer.ggml.model: the file carries no vocabulary");
    if (rc)
        return rc;
    char *model_s = gguf_strdup(model), *pre_s = NULL;
    gguf_str *tokens = NULL, *merges = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    uint64_t n = 0, n_merges = 0;
    const uint8_t *raw;
    d.model = model_s;
    rc = gguf_get_str(f, "tokenizer.ggml.pre", &pre, err);
    if (rc == CCAI_OK)
        d.pre = pre_s = gguf_strdup(pre);
    else if (rc != CCAI_ERR_NOT_FOUND)
        goto done;
    rc = gguf_str_array(f, "tokenizer.ggml.tokens", &tokens, &n, err);
    if (rc == CCAI_ERR_NOT_FOUND)
        rc = ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: no tokenizer.ggml.tokens");
    if (rc)
        goto done;
    if (n > LLM_VOCAB_MAX_TOKENS) {
        rc = ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: %llu tokens exceed the limit of %d",
                       (unsigned long long)n, LLM_VOCAB_MAX_TOKENS);
        goto done;
    }
    d.tokens = tokens;
    d.n_tokens = (size_t)n;
    if ((rc = get_token_arr(f, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, d.n_tokens, &raw, err)))
        goto done;
    if (raw) {
        scores = ccai_xmalloc(d.n_tokens * sizeof *scores + 1);
        for (size_t i = 0; i < d.n_tokens; i++) {
            uint32_t bits = ccai_le32(raw + 4 * i);
            memcpy(&scores[i], &bits, 4);
        }
        d.scores = scores;
    }
    if ((rc = get_token_arr(f, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, d.n_tokens, &raw,
                            err)))
        goto done;
    if (raw) {
        types = ccai_xmalloc(d.n_tokens * sizeof *types + 1);
        for (size_t i = 0; i < d.n_tokens; i++)
            types[i] = (int32_t)ccai_le32(raw + 4 * i);
        d.types = types;
    }
    rc = gguf_str_array(f, "tokenizer.ggml.merges", &merges, &n_merges, err);
    if (rc == CCAI_ERR_NOT_FOUND && strcmp(model_s, "gpt2") == 0)
        rc = ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: no tokenizer.ggml.merges for a gpt2 vocabulary");
    else if (rc == CCAI_ERR_NOT_FOUND)
        rc = CCAI_OK;
    if (rc)
        goto done;
    if (n_merges > LLM_VOCAB_MAX_MERGES) {
        rc = ccai_fail(err, CCAI_ERR_PARSE, "tokenizer: %llu merges exceed the limit of %d",
                       (unsigned long long)n_merges, LLM_VOCAB_MAX_MERGES);
        goto done;
    }
    d.merges = merges;
    d.n_merges = (size_t)n_merges;
    if (strcmp(model_s, "llama") == 0) { /* llama.cpp's SentencePiece defaults */
        d.unk = 0;
        d.bos = 1;
        d.eos = 2;
    }
    if ((rc = get_id(f, "tokenizer.ggml.bos_token_id", &d.bos, err)) ||
        (rc = get_id(f, "tokenizer.ggml.eos_token_id", &d.eos, err)) ||
        (rc = get_id(f, "tokenizer.ggml.eot_token_id", &d.eot, err)) ||
        (rc = get_id(f, "tokenizer.ggml.unknown_token_id", &d.unk, err)) ||
        (rc = get_id(f, "tokenizer.ggml.padding_token_id", &d.pad, err)) ||
        (rc = get_flag(f, "tokenizer.ggml.add_bos_token", &d.add_bos, err)) ||
        (rc = get_flag(f, "tokenizer.ggml.add_space_prefix", &d.add_space_prefix, err)))
        goto done;
    rc = llm_tokenizer_from_desc(&d, out, err);
done:
    free(model_s);
    free(pre_s);
    free(tokens);
    free(merges);
    free(scores);
    free(types);
    return rc;
}

/* ---- Tokenizing ---- */

void llm_ids_push(llm_ids *ids, int32_t id)
{
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 64;
        ids->v = ccai_xrealloc(ids->v, ids->cap * sizeof *ids->v);
    }
    ids->v[ids->n++] = id;
}

static void encode_raw(const llm_tokenizer *t, const char *s, size_t len, bool after_special,
                       llm_scratch *sc, llm_ids *out)
{
    if (len == 0)
        return;
    if (t->kind == LLM_VOCAB_SPM)
        llm_spm_encode(t, s, len, t->add_space_prefix && after_special, sc, out);
    else
        llm_bpe_encode(t, s, len, sc, out);
}

ccai_code llm_tokenize(const llm_tokenizer *t, const char *text, size_t len, bool add_bos,
                       bool parse_special, int32_t **ids, size_t *n, ccai_err *err)
{
    *ids = NULL;
    *n = 0;
    if (!t || (!text && len))
        return ccai_fail(err, CCAI_ERR_ARG, "tokenize: no tokenizer or no text");
    if (add_bos && t->bos < 0)
        return ccai_fail(err, CCAI_ERR_ARG, "tokenize: BOS requested but the vocabulary has none");
    llm_ids out = {0};
    llm_scratch sc = {0};
    if (add_bos)
        llm_ids_push(&out, t->bos);
    /* Raw text between special tokens goes the normal way; SentencePiece
     * gives each fragment that follows a special token (or starts the
     * text) its space prefix, as llama.cpp does. */
    bool after_special = true;
    size_t raw = 0, pos = 0;
    while (pos < len) {
        size_t mlen = 0;
        int32_t id = match_special(t, text + pos, len - pos, parse_special, &mlen);
        if (id < 0) {
            pos++;
            continue;
        }
        encode_raw(t, text + raw, pos - raw, after_special, &sc, &out);
        llm_ids_push(&out, id);
        after_special = true;
        pos += mlen;
        raw = pos;
    }
    encode_raw(t, text + raw, len - raw, after_special, &sc, &out);
    llm_scratch_free(&sc);
    *ids = out.v;
    *n = out.n;
    return CCAI_OK;
}

/* ---- Queries ---- */

llm_vocab_kind llm_tokenizer_kind(const llm_tokenizer *t) { return t->kind; }
const char *llm_tokenizer_pre(const llm_tokenizer *t) { return t->pre_name; }
size_t llm_vocab_size(const llm_tokenizer *t) { return t->n_vocab; }
int32_t llm_token_bos(const llm_tokenizer *t) { return t->bos; }
int32_t llm_token_eos(const llm_tokenizer *t) { return t->eos; }
int32_t llm_token_eot(const llm_tokenizer *t) { return t->eot; }
int32_t llm_token_unk(const llm_tokenizer *t) { return t->unk; }
bool llm_tokenizer_add_bos(const llm_tokenizer *t) { return t->add_bos; }
bool llm_tokenizer_add_space_prefix(const llm_tokenizer *t) { return t->add_space_prefix; }

static bool in_vocab(const llm_tokenizer *t, int32_t id)
{
    return id >= 0 && (size_t)id < t->n_vocab;
}

bool llm_token_is_eog(const llm_tokenizer *t, int32_t id)
{
    for (size_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id)
            return true;
    return false;
}

bool llm_token_is_control(const llm_tokenizer *t, int32_t id)
{
    return in_vocab(t, id) && t->types[id] == LLM_TOKEN_CONTROL;
}

int llm_token_type(const llm_tokenizer *t, int32_t id)
{
    return in_vocab(t, id) ? t->types[id] : 0;
}

const char *llm_token_text(const llm_tokenizer *t, int32_t id, size_t *len)
{
    if (!in_vocab(t, id)) {
        *len = 0;
        return NULL;
    }
    return llm_strtab_str(&t->pieces, id, len);
}

int32_t llm_token_lookup(const llm_tokenizer *t, const char *text, size_t len)
{
    int32_t id = llm_strtab_find(&t->pieces, text, len);
    return in_vocab(t, id) ? id : -1;
}

/* ---- Detokenizing ---- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void llm_token_bytes(const llm_tokenizer *t, int32_t id, bool special, ccai_buf *out)
{
    if (!in_vocab(t, id))
        return;
    size_t len;
    const char *s = llm_strtab_str(&t->pieces, id, &len);
    switch (t->types[id]) {
    case LLM_TOKEN_CONTROL:
    case LLM_TOKEN_UNKNOWN:
        if (special)
            ccai_buf_append(out, s, len);
        return;
    case LLM_TOKEN_USER_DEFINED:
        ccai_buf_append(out, s, len);
        return;
    case LLM_TOKEN_UNUSED:
        return;
    case LLM_TOKEN_BYTE:
        if (t->kind == LLM_VOCAB_SPM && len == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' &&
            hex_digit(s[3]) >= 0 && hex_digit(s[4]) >= 0) {
            ccai_buf_u8(out, (uint8_t)(hex_digit(s[3]) * 16 + hex_digit(s[4])));
            return;
        }
        break;
    default:
        break;
    }
    if (t->kind == LLM_VOCAB_SPM)
        llm_spm_unescape(s, len, out);
    else
        llm_bpe_unmap(t, s, len, out);
}

void llm_detok_init(llm_detok *d, const llm_tokenizer *t, bool strip_leading_space)
{
    memset(d, 0, sizeof *d);
    d->tok = t;
    d->strip_space = strip_leading_space;
}

static const char replacement[3] = {'\xEF', '\xBF', '\xBD'};

/* One byte into the UTF-8 hold: whole characters go out, ill-formed
 * sequences become U+FFFD and the byte that broke them starts afresh. */
static void detok_byte(llm_detok *d, uint8_t b, ccai_buf *out)
{
    if (d->n_pend == 0 && b < 0x80) {
        ccai_buf_u8(out, b);
        return;
    }
    d->pend[d->n_pend++] = b;
    size_t k;
    switch (unicode_check(d->pend, d->n_pend, &k)) {
    case UNICODE_SEQ_OK:
        ccai_buf_append(out, d->pend, d->n_pend);
        d->n_pend = 0;
        return;
    case UNICODE_SEQ_SHORT:
        return;
    case UNICODE_SEQ_BAD:
    default: {
        uint8_t rest[4];
        size_t n_rest = d->n_pend - k;
        memcpy(rest, d->pend + k, n_rest);
        d->n_pend = 0;
        ccai_buf_append(out, replacement, 3);
        for (size_t i = 0; i < n_rest; i++)
            detok_byte(d, rest[i], out);
        return;
    }
    }
}

void llm_detok_push(llm_detok *d, int32_t id, ccai_buf *out)
{
    ccai_buf tmp = {0};
    llm_token_bytes(d->tok, id, d->special, &tmp);
    size_t i = 0;
    if (tmp.len && d->strip_space) {
        if (tmp.data[0] == ' ')
            i = 1;
        d->strip_space = false;
    }
    for (; i < tmp.len; i++)
        detok_byte(d, tmp.data[i], out);
    ccai_buf_free(&tmp);
}

void llm_detok_flush(llm_detok *d, ccai_buf *out)
{
    if (d->n_pend)
        ccai_buf_append(out, replacement, 3);
    d->n_pend = 0;
}
