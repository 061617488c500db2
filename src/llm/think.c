/* The streaming reasoning splitter and llm_strip_think (contract in think.h).
 *
 * All bytes not yet routed live in t->held. Each feed appends to it and runs
 * the state machine over it until it needs more bytes to decide; what it has
 * decided is appended to an output and dropped from the front of held. The
 * outputs depend only on the concatenated input, never on the chunking,
 * because a decision is taken only when no later byte could change it. */
#include "llm/think.h"

#include <string.h>

static const char OPEN_TAG[] = "<think>";
static const char CLOSE_TAG[] = "</think>";
#define OPEN_LEN (sizeof OPEN_TAG - 1)
#define CLOSE_LEN (sizeof CLOSE_TAG - 1)

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static size_t leading_ws(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_ws(s[i]))
        i++;
    return i;
}

static size_t trailing_ws(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_ws(s[n - 1 - i]))
        i++;
    return i;
}

size_t llm_utf8_complete_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    /* Find the last byte that is not a continuation byte, at most 3 back. */
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = u[n - back];
        if ((c & 0xC0) == 0x80)
            continue;
        size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        return back < need ? n - back : n;
    }
    return n;
}

/* Length of the longest proper prefix of tag that s[0..n) ends with. */
static size_t partial_tag_suffix(const char *s, size_t n, const char *tag, size_t tag_len)
{
    size_t k = n < tag_len - 1 ? n : tag_len - 1;
    for (; k > 0; k--)
        if (memcmp(s + n - k, tag, k) == 0)
            return k;
    return 0;
}

static const char *find_bytes(const char *s, size_t n, const char *pat, size_t m)
{
    return (const char *)memmem(s, n, pat, m);
}

/* Result of looking at the start of the output for an opening tag. */
typedef enum { OPEN_WAIT, OPEN_FOUND, OPEN_ABSENT } open_scan;

static open_scan scan_open(const char *s, size_t n, bool final, size_t *ws)
{
    *ws = leading_ws(s, n);
    const char *r = s + *ws;
    size_t rlen = n - *ws;
    if (rlen >= OPEN_LEN)
        return memcmp(r, OPEN_TAG, OPEN_LEN) == 0 ? OPEN_FOUND : OPEN_ABSENT;
    if (final)
        return OPEN_ABSENT;
    /* Nothing but white space yet, or a prefix of the tag: wait. */
    return memcmp(r, OPEN_TAG, rlen) == 0 ? OPEN_WAIT : OPEN_ABSENT;
}

/* One step of the machine over s[0..n): returns the bytes consumed and sets
 * *more when another step may make progress without new input. */
static size_t step(llm_think *t, const char *s, size_t n, bool final, ccai_buf *thinking,
                   ccai_buf *content, bool *more)
{
    size_t ws;
    *more = false;
    switch (t->state) {
    case LLM_THINK_LOOKING:
        switch (scan_open(s, n, final, &ws)) {
        case OPEN_FOUND:
            t->state = LLM_THINK_LEADING_WS;
            *more = true;
            return ws + OPEN_LEN;
        case OPEN_ABSENT:
            /* No reasoning: the leading white space is part of the answer. */
            t->state = LLM_THINK_CONTENT;
            *more = true;
            return 0;
        case OPEN_WAIT:
            return 0;
        }
        return 0;
    case LLM_THINK_START:
        switch (scan_open(s, n, final, &ws)) {
        case OPEN_FOUND:
            t->state = LLM_THINK_LEADING_WS;
            *more = true;
            return ws + OPEN_LEN;
        case OPEN_ABSENT:
            t->state = LLM_THINK_THINKING;
            *more = true;
            return ws;
        case OPEN_WAIT:
            return 0;
        }
        return 0;
    case LLM_THINK_LEADING_WS:
    case LLM_THINK_ANSWER_WS:
        ws = leading_ws(s, n);
        if (ws < n) {
            t->state = t->state == LLM_THINK_LEADING_WS ? LLM_THINK_THINKING : LLM_THINK_CONTENT;
            *more = true;
        }
        return ws;
    case LLM_THINK_THINKING: {
        const char *close = find_bytes(s, n, CLOSE_TAG, CLOSE_LEN);
        if (close) {
            size_t body = (size_t)(close - s);
            ccai_buf_append(thinking, s, body - trailing_ws(s, body));
            t->state = LLM_THINK_ANSWER_WS;
            *more = true;
            return body + CLOSE_LEN;
        }
        if (final) {
            ccai_buf_append(thinking, s, n - trailing_ws(s, n));
            return n;
        }
        /* Hold a possible partial closing tag and the white space before
         * it (dropped if the tag follows), and an incomplete character. */
        size_t body = n - partial_tag_suffix(s, n, CLOSE_TAG, CLOSE_LEN);
        body -= trailing_ws(s, body);
        body = llm_utf8_complete_len(s, body);
        ccai_buf_append(thinking, s, body);
        return body;
    }
    case LLM_THINK_CONTENT: {
        size_t k = final ? n : llm_utf8_complete_len(s, n);
        ccai_buf_append(content, s, k);
        return k;
    }
    }
    return 0;
}

static void run(llm_think *t, bool final, ccai_buf *thinking, ccai_buf *content)
{
    const char *s = (const char *)t->held.data;
    size_t pos = 0;
    bool more = true;
    while (more) {
        pos += step(t, s + pos, t->held.len - pos, final, thinking, content, &more);
    }
    if (pos > 0) {
        size_t left = t->held.len - pos;
        memmove(t->held.data, t->held.data + pos, left);
        ccai_wipe(t->held.data + left, pos);
        t->held.len = left;
    }
}

void llm_think_init(llm_think *t, bool starts_in_thinking)
{
    memset(t, 0, sizeof *t);
    t->state = starts_in_thinking ? LLM_THINK_START : LLM_THINK_LOOKING;
}

void llm_think_feed(llm_think *t, const char *text, size_t n, ccai_buf *thinking,
                    ccai_buf *content)
{
    if (n == 0)
        return;
    ccai_buf_append(&t->held, text, n);
    run(t, false, thinking, content);
}

void llm_think_flush(llm_think *t, ccai_buf *thinking, ccai_buf *content)
{
    if (t->held.len > 0)
        run(t, true, thinking, content);
    llm_think_free(t);
}

void llm_think_free(llm_think *t)
{
    if (t->held.data)
        ccai_wipe(t->held.data, t->held.cap);
    ccai_buf_free(&t->held);
}

bool llm_think_in_thinking(const llm_think *t)
{
    return t->state == LLM_THINK_START || t->state == LLM_THINK_LEADING_WS ||
           t->state == LLM_THINK_THINKING;
}

char *llm_strip_think(const char *text)
{
    size_t n = strlen(text);
    const char *last = NULL;
    for (const char *p = text; (p = find_bytes(p, n - (size_t)(p - text), CLOSE_TAG, CLOSE_LEN));
         p += CLOSE_LEN)
        last = p;
    if (last) {
        const char *a = last + CLOSE_LEN;
        a += leading_ws(a, strlen(a));
        return ccai_xstrdup(a);
    }
    const char *open = strstr(text, OPEN_TAG);
    if (open)
        return ccai_xstrndup(text, (size_t)(open - text));
    return ccai_xstrdup(text);
}
