/* Pre-tokenizers of byte-level BPE vocabularies (llm-facts §3), written
 * out by hand from their regexes instead of running a regex engine.
 *
 * A regex alternation takes the first alternative that matches at the
 * current position (not the longest), and the text is consumed left to
 * right; each matcher below returns the length, in characters, of the
 * match the regex would make at position i. With L = \p{L}, N = \p{N},
 * S = \s and O = anything else ([^\s\p{L}\p{N}]):
 *
 * gpt2:   's|'t|'re|'ve|'m|'ll|'d | ?L+ | ?N+ | ?O+ | S+(?!\S) | S+
 * llama-bpe / qwen2:
 *         '(?i:s|t|re|ve|m|ll|d) | [^\r\nLN]?L+ | N{1,3} (qwen2: N) |
 *         ?O+[\r\n]* | S*[\r\n]+ | S+(?!\S) | S+
 *
 * `S+(?!\S)` backtracks: a whitespace run followed by a non-space gives
 * up its last character, which then starts the next pre-token (" world"),
 * unless the run is that single character, when `S+` takes it alone.
 * `S*[\r\n]+` matches up to the last CR or LF of the whitespace run.
 *
 * Also here, shared by the two tokenizer cores (pretok.h): the piece table
 * (text -> id, open addressing, FNV-1a) and the symbol-merge engine (a
 * binary heap of candidate pairs; stale pairs are dropped when popped). */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "llm/pretok.h"
#include "llm/unicode.h"

enum { F_L = 1, F_N = 2, F_S = 4 };

typedef struct text_cps {
    const uint32_t *cp;
    const uint8_t *fl;
    size_t n;
} text_cps;

static bool is_o(uint8_t f)
{
    return (f & (F_L | F_N | F_S)) == 0;
}

static size_t run_of(const text_cps *t, size_t i, uint8_t flag)
{
    while (i < t->n && (t->fl[i] & flag))
        i++;
    return i;
}

static size_t run_of_o(const text_cps *t, size_t i)
{
    while (i < t->n && is_o(t->fl[i]))
        i++;
    return i;
}

static uint32_t lower_ascii(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The contractions; ci: [sS] etc. (llama-bpe, qwen2) instead of 's. */
static size_t match_contraction(const text_cps *t, size_t i, bool ci)
{
    if (t->cp[i] != '\'' || i + 1 >= t->n)
        return 0;
    uint32_t a = t->cp[i + 1], b = i + 2 < t->n ? t->cp[i + 2] : 0;
    if (ci) {
        a = lower_ascii(a);
        b = lower_ascii(b);
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* S+(?!\S) | S+ at a whitespace character. */
static size_t match_space_run(const text_cps *t, size_t i)
{
    size_t r = run_of(t, i, F_S);
    if (r == t->n || r - i == 1)
        return r - i;
    return r - 1 - i;
}

static size_t match_gpt2(const text_cps *t, size_t i)
{
    size_t m = match_contraction(t, i, false);
    if (m)
        return m;
    /* " ?X+" for X in L, N, O: the optional space binds when X follows. */
    size_t j = i;
    if (t->cp[i] == ' ' && i + 1 < t->n && !(t->fl[i + 1] & F_S))
        j = i + 1;
    uint8_t f = t->fl[j];
    if (f & F_L)
        return run_of(t, j, F_L) - i;
    if (f & F_N)
        return run_of(t, j, F_N) - i;
    if (is_o(f))
        return run_of_o(t, j) - i;
    return match_space_run(t, i);
}

static bool is_crlf(uint32_t c)
{
    return c == '\r' || c == '\n';
}

static size_t match_llama3(const text_cps *t, size_t i, size_t max_digits)
{
    size_t m = match_contraction(t, i, true);
    if (m)
        return m;
    uint8_t f = t->fl[i];
    uint32_t c = t->cp[i];
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (f & F_L)
        return run_of(t, i, F_L) - i;
    if (!(f & F_N) && !is_crlf(c) && i + 1 < t->n && (t->fl[i + 1] & F_L))
        return run_of(t, i + 1, F_L) - i;
    /* \p{N}{1,max} */
    if (f & F_N) {
        size_t k = i;
        while (k < t->n && k - i < max_digits && (t->fl[k] & F_N))
            k++;
        return k - i;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    size_t j = c == ' ' && i + 1 < t->n && is_o(t->fl[i + 1]) ? i + 1 : i;
    if (is_o(t->fl[j])) {
        size_t k = run_of_o(t, j);
        while (k < t->n && is_crlf(t->cp[k]))
            k++;
        return k - i;
    }
    /* Only whitespace is left. \s*[\r\n]+: up to the run's last CR/LF. */
    size_t r = run_of(t, i, F_S);
    for (size_t k = r; k > i; k--)
        if (is_crlf(t->cp[k - 1]))
            return k - i;
    return match_space_run(t, i);
}

void llm_pretok_split(llm_pretok kind, const char *text, size_t len, size_t **ends, size_t *n)
{
    *ends = NULL;
    *n = 0;
    if (len == 0)
        return;
    uint32_t *cp = ccai_xmalloc(len * sizeof *cp);
    uint8_t *fl = ccai_xmalloc(len);
    size_t *off = ccai_xmalloc((len + 1) * sizeof *off); /* byte offset of each character */
    size_t nc = 0;
    for (size_t p = 0; p < len;) {
        uint32_t c;
        size_t k = unicode_decode(text + p, len - p, &c);
        cp[nc] = c;
        fl[nc] = (uint8_t)((unicode_is_letter(c) ? F_L : 0) | (unicode_is_number(c) ? F_N : 0) |
                           (unicode_is_space(c) ? F_S : 0));
        off[nc++] = p;
        p += k;
    }
    off[nc] = len;
    text_cps t = {cp, fl, nc};
    size_t *out = ccai_xmalloc(nc * sizeof *out);
    size_t no = 0;
    for (size_t i = 0; i < nc;) {
        size_t m = kind == LLM_PRETOK_GPT2 ? match_gpt2(&t, i)
                   : match_llama3(&t, i, kind == LLM_PRETOK_QWEN2 ? 1 : 3);
        if (m == 0) /* cannot happen: every character matches something */
            m = 1;
        i += m;
        out[no++] = off[i];
    }
    free(cp);
    free(fl);
    free(off);
    *ends = out;
    *n = no;
}

static const struct {
    const char *name;
    llm_pretok kind;
} pretok_names[] = {
    {"default", LLM_PRETOK_GPT2},
    {"gpt2", LLM_PRETOK_GPT2},
    {"gpt-2", LLM_PRETOK_GPT2},
    {"llama-bpe", LLM_PRETOK_LLAMA3},
    {"llama3", LLM_PRETOK_LLAMA3},
    {"llama-v3", LLM_PRETOK_LLAMA3},
    {"qwen2", LLM_PRETOK_QWEN2},
    {"deepseek-r1-qwen", LLM_PRETOK_QWEN2},
};

bool llm_pretok_lookup(const char *name, size_t len, llm_pretok *out)
{
    for (size_t i = 0; i < sizeof pretok_names / sizeof pretok_names[0]; i++) {
        if (strlen(pretok_names[i].name) == len && memcmp(pretok_names[i].name, name, len) == 0) {
            *out = pretok_names[i].kind;
            return true;
        }
    }
    return false;
}

/* ---- Piece table ---- */

static uint32_t hash_bytes(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n)
        p *= 2;
    return p;
}

void llm_strtab_init(llm_strtab *st, size_t expect)
{
    memset(st, 0, sizeof *st);
    st->cap = expect < 16 ? 16 : expect;
    st->off = ccai_xmalloc(st->cap * sizeof *st->off);
    st->len = ccai_xmalloc(st->cap * sizeof *st->len);
    st->hash = ccai_xmalloc(st->cap * sizeof *st->hash);
    st->n_slots = pow2_at_least(2 * st->cap);
    st->slots = ccai_xmalloc(st->n_slots * sizeof *st->slots);
    memset(st->slots, 0xFF, st->n_slots * sizeof *st->slots);
    st->arena_cap = 8 * st->cap;
    st->arena = ccai_xmalloc(st->arena_cap);
}

void llm_strtab_free(llm_strtab *st)
{
    free(st->arena);
    free(st->off);
    free(st->len);
    free(st->hash);
    free(st->slots);
    memset(st, 0, sizeof *st);
}

/* The slot holding this text, or the empty slot where it would go. */
static size_t strtab_probe(const llm_strtab *st, const char *s, size_t len, uint32_t h)
{
    size_t mask = st->n_slots - 1, i = h & mask;
    for (;;) {
        int32_t e = st->slots[i];
        if (e < 0 || (st->hash[e] == h && st->len[e] == len &&
                      (len == 0 || memcmp(st->arena + st->off[e], s, len) == 0)))
            return i;
        i = (i + 1) & mask;
    }
}

static void strtab_rehash(llm_strtab *st)
{
    st->n_slots *= 2;
    st->slots = ccai_xrealloc(st->slots, st->n_slots * sizeof *st->slots);
    memset(st->slots, 0xFF, st->n_slots * sizeof *st->slots);
    for (size_t e = 0; e < st->n; e++) /* in order: the newest duplicate ends up in the slot */
        st->slots[strtab_probe(st, st->arena + st->off[e], st->len[e], st->hash[e])] = (int32_t)e;
}

int32_t llm_strtab_append(llm_strtab *st, const char *s, size_t len)
{
    if (st->n == st->cap) {
        st->cap *= 2;
        st->off = ccai_xrealloc(st->off, st->cap * sizeof *st->off);
        st->len = ccai_xrealloc(st->len, st->cap * sizeof *st->len);
        st->hash = ccai_xrealloc(st->hash, st->cap * sizeof *st->hash);
    }
    if (2 * (st->n + 1) > st->n_slots)
        strtab_rehash(st);
    while (st->arena_len + len > st->arena_cap) {
        st->arena_cap *= 2;
        st->arena = ccai_xrealloc(st->arena, st->arena_cap);
    }
    size_t e = st->n++;
    if (len)
        memcpy(st->arena + st->arena_len, s, len);
    st->off[e] = (uint32_t)st->arena_len;
    st->len[e] = (uint32_t)len;
    st->hash[e] = hash_bytes(s, len);
    st->arena_len += len;
    st->slots[strtab_probe(st, s, len, st->hash[e])] = (int32_t)e;
    return (int32_t)e;
}

int32_t llm_strtab_find(const llm_strtab *st, const char *s, size_t len)
{
    return st->slots[strtab_probe(st, s, len, hash_bytes(s, len))];
}

int32_t llm_strtab_intern(llm_strtab *st, const char *s, size_t len)
{
    int32_t id = llm_strtab_find(st, s, len);
    return id >= 0 ? id : llm_strtab_append(st, s, len);
}

/* ---- Scratch memory and the merge engine ---- */

void llm_scratch_free(llm_scratch *s)
{
    free(s->syms);
    free(s->heap);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

llm_sym *llm_scratch_syms(llm_scratch *s, size_t n)
{
    if (n > s->syms_cap) {
        s->syms_cap = n;
        free(s->syms);
        s->syms = ccai_xmalloc(n * sizeof *s->syms);
    }
    return s->syms;
}

char *llm_scratch_buf(llm_scratch *s, size_t n)
{
    if (n > s->buf_cap) {
        s->buf_cap = n;
        free(s->buf);
        s->buf = ccai_xmalloc(n);
    }
    return s->buf;
}

/* Higher priority first, then the leftmost pair. */
static bool bigram_before(const llm_bigram *a, const llm_bigram *b)
{
    return a->prio > b->prio || (a->prio == b->prio && a->left < b->left);
}

static void heap_push(llm_scratch *s, size_t *n, llm_bigram b)
{
    if (*n == s->heap_cap) {
        s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 64;
        s->heap = ccai_xrealloc(s->heap, s->heap_cap * sizeof *s->heap);
    }
    size_t i = (*n)++;
    while (i > 0 && bigram_before(&b, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = b;
}

static llm_bigram heap_pop(llm_scratch *s, size_t *n)
{
    llm_bigram top = s->heap[0], last = s->heap[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && bigram_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!bigram_before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (*n)
        s->heap[i] = last;
    return top;
}

static void try_pair(llm_scratch *s, size_t *hn, const llm_sym *syms, int32_t l, int32_t r,
                     llm_pair_fn fn, const void *ctx)
{
    if (l < 0 || r < 0)
        return;
    llm_bigram b = {.left = l, .right = r, .size = syms[l].n + syms[r].n};
    if (fn(ctx, &syms[l], &syms[r], &b.prio, &b.piece))
        heap_push(s, hn, b);
}

void llm_merge_symbols(llm_scratch *s, llm_sym *syms, size_t n, llm_pair_fn fn, const void *ctx)
{
    size_t hn = 0;
    for (size_t i = 1; i < n; i++)
        try_pair(s, &hn, syms, (int32_t)i - 1, (int32_t)i, fn, ctx);
    while (hn) {
        llm_bigram b = heap_pop(s, &hn);
        llm_sym *l = &syms[b.left], *r = &syms[b.right];
        /* Stale: one side was merged away or grew since the pair was queued. */
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
            continue;
        l->n += r->n;
        r->n = 0;
        l->piece = b.piece;
        l->next = r->next;
        if (r->next >= 0)
            syms[r->next].prev = b.left;
        try_pair(s, &hn, syms, l->prev, b.left, fn, ctx);
        try_pair(s, &hn, syms, b.left, l->next, fn, ctx);
    }
}
