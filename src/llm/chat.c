/* Chat formats: detection, rendering, stop strings and the streaming stop
 * matcher (contract in chat.h; the exact texts, with the reasons for each
 * choice, in docs/chat-templates.md). Each renderer mirrors the reference
 * Jinja template of its family for system, user and assistant messages. */
#include "llm/chat.h"

#include <stdlib.h>
#include <string.h>

#include "llm/think.h"

/* DeepSeek-R1 (llm-facts §3): ｜ is U+FF5C, ▁ is U+2581. */
#define DS_USER "<｜User｜>"
#define DS_ASSISTANT "<｜Assistant｜>"
#define DS_EOS "<｜end▁of▁sentence｜>"
#define DS_GEN_THINK "<think>\n"

static const char *const FORMAT_NAMES[] = {
    [LLM_CHAT_DEEPSEEK_R1] = "deepseek-r1", [LLM_CHAT_LLAMA3] = "llama3",
    [LLM_CHAT_CHATML] = "chatml",           [LLM_CHAT_LLAMA2] = "llama2",
    [LLM_CHAT_NONE] = "none",
};

static const char *const STOPS_DEEPSEEK[] = {DS_EOS, DS_USER, DS_ASSISTANT, NULL};
static const char *const STOPS_LLAMA3[] = {"<|eot_id|>", "<|start_header_id|>", NULL};
static const char *const STOPS_CHATML[] = {"<|im_end|>", "<|im_start|>", NULL};
static const char *const STOPS_LLAMA2[] = {"</s>", "[INST]", NULL};
static const char *const STOPS_NONE[] = {NULL};

llm_chat_format llm_chat_detect(const char *tmpl)
{
    if (!tmpl || !*tmpl)
        return LLM_CHAT_NONE;
    /* Most specific first: a DeepSeek or Llama 3 template never uses the
     * ChatML or [INST] markers, but a ChatML one may mention others in text. */
    if (strstr(tmpl, DS_USER) || strstr(tmpl, DS_ASSISTANT))
        return LLM_CHAT_DEEPSEEK_R1;
    if (strstr(tmpl, "<|start_header_id|>"))
        return LLM_CHAT_LLAMA3;
    if (strstr(tmpl, "<|im_start|>"))
        return LLM_CHAT_CHATML;
    if (strstr(tmpl, "[INST]"))
        return LLM_CHAT_LLAMA2;
    return LLM_CHAT_NONE;
}

ccai_code llm_chat_format_parse(const char *name, llm_chat_format *out, ccai_err *err)
{
    for (size_t i = 0; i < sizeof FORMAT_NAMES / sizeof FORMAT_NAMES[0]; i++) {
        if (name && strcmp(name, FORMAT_NAMES[i]) == 0) {
            *out = (llm_chat_format)i;
            return CCAI_OK;
        }
    }
    return ccai_fail(err, CCAI_ERR_ARG,
                     "chat format \"%s\" unknown (expected deepseek-r1, llama3, chatml, llama2 "
                     "or none)",
                     name ? name : "(null)");
}

const char *llm_chat_format_name(llm_chat_format f)
{
    if ((unsigned)f < sizeof FORMAT_NAMES / sizeof FORMAT_NAMES[0])
        return FORMAT_NAMES[f];
    return "unknown";
}

bool llm_chat_uses_bos(llm_chat_format f)
{
    return f == LLM_CHAT_DEEPSEEK_R1 || f == LLM_CHAT_LLAMA3 || f == LLM_CHAT_LLAMA2;
}

const char *const *llm_chat_stop_strings(llm_chat_format f)
{
    switch (f) {
    case LLM_CHAT_DEEPSEEK_R1:
        return STOPS_DEEPSEEK;
    case LLM_CHAT_LLAMA3:
        return STOPS_LLAMA3;
    case LLM_CHAT_CHATML:
        return STOPS_CHATML;
    case LLM_CHAT_LLAMA2:
        return STOPS_LLAMA2;
    case LLM_CHAT_NONE:
        break;
    }
    return STOPS_NONE;
}

/* ---- rendering ---- */

typedef enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_OTHER } role_kind;

static role_kind role_of(const llm_chat_msg *m)
{
    if (!m->role)
        return ROLE_OTHER;
    if (strcmp(m->role, "system") == 0)
        return ROLE_SYSTEM;
    if (strcmp(m->role, "user") == 0)
        return ROLE_USER;
    if (strcmp(m->role, "assistant") == 0)
        return ROLE_ASSISTANT;
    return ROLE_OTHER;
}

static const char *text_of(const llm_chat_msg *m)
{
    return m->content ? m->content : "";
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Appends s without leading and trailing white space (Jinja's trim/strip). */
static void append_trimmed(ccai_buf *b, const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && is_space(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_space(s[n - 1]))
        n--;
    ccai_buf_append(b, s, n);
}

/* Appends a message's content; an assistant's loses its reasoning. */
static void append_content(ccai_buf *b, const llm_chat_msg *m, bool trim)
{
    char *stripped = NULL;
    const char *s = text_of(m);
    if (role_of(m) == ROLE_ASSISTANT)
        s = stripped = llm_strip_think(s);
    if (trim)
        append_trimmed(b, s);
    else
        ccai_buf_append_str(b, s);
    if (stripped) {
        ccai_wipe(stripped, strlen(stripped));
        free(stripped);
    }
}

/* The system messages joined by "\n\n" (the reference templates take one;
 * joining keeps every instruction when a client sends several). */
static void append_system(ccai_buf *b, const llm_chat_msg *msgs, size_t n, bool trim)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (role_of(&msgs[i]) != ROLE_SYSTEM)
            continue;
        if (!first)
            ccai_buf_append_str(b, "\n\n");
        append_content(b, &msgs[i], trim);
        first = false;
    }
}

static bool has_system(const llm_chat_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (role_of(&msgs[i]) == ROLE_SYSTEM)
            return true;
    return false;
}

static void append_opt(ccai_buf *b, const char *s)
{
    if (s)
        ccai_buf_append_str(b, s);
}

/* {BOS}{system}<｜User｜>{user}<｜Assistant｜>{answer}<｜end▁of▁sentence｜>… */
static void render_deepseek(ccai_buf *b, const llm_chat_msg *msgs, size_t n, bool gen,
                            const char *bos, const char *eos)
{
    append_opt(b, bos);
    append_system(b, msgs, n, false);
    for (size_t i = 0; i < n; i++) {
        switch (role_of(&msgs[i])) {
        case ROLE_SYSTEM:
            break;
        case ROLE_ASSISTANT:
            ccai_buf_append_str(b, DS_ASSISTANT);
            append_content(b, &msgs[i], false);
            ccai_buf_append_str(b, eos ? eos : DS_EOS);
            break;
        case ROLE_USER:
        case ROLE_OTHER: /* the format has no other turn: the model reads it as the user's */
            ccai_buf_append_str(b, DS_USER);
            append_content(b, &msgs[i], false);
            break;
        }
    }
    if (gen)
        ccai_buf_append_str(b, DS_ASSISTANT DS_GEN_THINK);
}

/* {BOS}<|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}<|eot_id|>… */
static void render_llama3(ccai_buf *b, const llm_chat_msg *msgs, size_t n, bool gen,
                          const char *bos)
{
    append_opt(b, bos);
    for (size_t i = 0; i < n; i++) {
        ccai_buf_append_str(b, "<|start_header_id|>");
        ccai_buf_append_str(b, msgs[i].role ? msgs[i].role : "user");
        ccai_buf_append_str(b, "<|end_header_id|>\n\n");
        append_content(b, &msgs[i], true);
        ccai_buf_append_str(b, "<|eot_id|>");
    }
    if (gen)
        ccai_buf_append_str(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* <|im_start|>{role}\n{content}<|im_end|>\n… */
static void render_chatml(ccai_buf *b, const llm_chat_msg *msgs, size_t n, bool gen)
{
    for (size_t i = 0; i < n; i++) {
        ccai_buf_append_str(b, "<|im_start|>");
        ccai_buf_append_str(b, msgs[i].role ? msgs[i].role : "user");
        ccai_buf_append_str(b, "\n");
        append_content(b, &msgs[i], false);
        ccai_buf_append_str(b, "<|im_end|>\n");
    }
    if (gen)
        ccai_buf_append_str(b, "<|im_start|>assistant\n");
}

/* {BOS}[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {answer} {EOS}{BOS}[INST] …
 * The system block goes into the first [INST]; when no user message comes
 * before the first answer, an [INST] holding only the block is written. */
static void render_llama2(ccai_buf *b, const llm_chat_msg *msgs, size_t n, const char *bos,
                          const char *eos)
{
    bool sys_pending = has_system(msgs, n);
    for (size_t i = 0; i < n; i++) {
        role_kind r = role_of(&msgs[i]);
        if (r == ROLE_SYSTEM)
            continue;
        if (r == ROLE_ASSISTANT && sys_pending) {
            append_opt(b, bos);
            ccai_buf_append_str(b, "[INST] <<SYS>>\n");
            append_system(b, msgs, n, true);
            ccai_buf_append_str(b, "\n<</SYS>> [/INST]");
            sys_pending = false;
        }
        if (r == ROLE_ASSISTANT) {
            ccai_buf_append_str(b, " ");
            append_content(b, &msgs[i], true);
            ccai_buf_append_str(b, " ");
            ccai_buf_append_str(b, eos ? eos : "</s>");
            continue;
        }
        append_opt(b, bos);
        ccai_buf_append_str(b, "[INST] ");
        if (sys_pending) {
            ccai_buf_append_str(b, "<<SYS>>\n");
            append_system(b, msgs, n, true);
            ccai_buf_append_str(b, "\n<</SYS>>\n\n");
            sys_pending = false;
        }
        append_content(b, &msgs[i], true);
        ccai_buf_append_str(b, " [/INST]");
    }
    if (sys_pending) {
        append_opt(b, bos);
        ccai_buf_append_str(b, "[INST] <<SYS>>\n");
        append_system(b, msgs, n, true);
        ccai_buf_append_str(b, "\n<</SYS>> [/INST]");
    }
}

/* No template: the contents one after another, separated by "\n". */
static void render_none(ccai_buf *b, const llm_chat_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            ccai_buf_append_str(b, "\n");
        append_content(b, &msgs[i], false);
    }
}

char *llm_chat_render(llm_chat_format f, const llm_chat_msg *msgs, size_t n,
                      bool add_generation_prompt, const char *bos_text, const char *eos_text)
{
    ccai_buf b = {0};
    switch (f) {
    case LLM_CHAT_DEEPSEEK_R1:
        render_deepseek(&b, msgs, n, add_generation_prompt, bos_text, eos_text);
        break;
    case LLM_CHAT_LLAMA3:
        render_llama3(&b, msgs, n, add_generation_prompt, bos_text);
        break;
    case LLM_CHAT_CHATML:
        render_chatml(&b, msgs, n, add_generation_prompt);
        break;
    case LLM_CHAT_LLAMA2:
        /* The prompt ends with " [/INST]": the answer follows directly. */
        render_llama2(&b, msgs, n, bos_text, eos_text);
        break;
    case LLM_CHAT_NONE:
        render_none(&b, msgs, n);
        break;
    }
    ccai_buf_u8(&b, 0);
    size_t len;
    return (char *)ccai_buf_steal(&b, &len);
}

/* ---- stop matcher ---- */

void llm_stop_init(llm_stop_matcher *m, const char *const *format_stops,
                   const char *const *extra, size_t n_extra)
{
    memset(m, 0, sizeof *m);
    size_t cap = n_extra;
    for (size_t i = 0; format_stops && format_stops[i]; i++)
        cap++;
    m->stops = ccai_xcalloc(cap ? cap : 1, sizeof *m->stops);
    for (size_t i = 0; format_stops && format_stops[i]; i++)
        if (*format_stops[i])
            m->stops[m->n_stops++] = ccai_xstrdup(format_stops[i]);
    for (size_t i = 0; i < n_extra; i++)
        if (extra[i] && *extra[i])
            m->stops[m->n_stops++] = ccai_xstrdup(extra[i]);
}

/* Drops the first k held bytes. */
static void consume(llm_stop_matcher *m, size_t k)
{
    if (k == 0)
        return;
    size_t left = m->held.len - k;
    memmove(m->held.data, m->held.data + k, left);
    ccai_wipe(m->held.data + left, k);
    m->held.len = left;
    m->released += k;
}

/* Length of the longest tail of s[0..n) that is a proper prefix of a stop. */
static size_t possible_stop_tail(const llm_stop_matcher *m, const char *s, size_t n)
{
    size_t best = 0;
    for (size_t i = 0; i < m->n_stops; i++) {
        size_t slen = strlen(m->stops[i]);
        size_t k = n < slen - 1 ? n : slen - 1;
        for (; k > best; k--) {
            if (memcmp(s + n - k, m->stops[i], k) == 0) {
                best = k;
                break;
            }
        }
    }
    return best;
}

size_t llm_stop_feed(llm_stop_matcher *m, const char *text, size_t n, ccai_buf *out)
{
    if (m->hit || n == 0)
        return 0;
    ccai_buf_append(&m->held, text, n);
    const char *s = (const char *)m->held.data;
    size_t len = m->held.len;

    /* The earliest stop string wins; at the same place, the longest. */
    const char *first = NULL;
    size_t first_len = 0;
    for (size_t i = 0; i < m->n_stops; i++) {
        size_t slen = strlen(m->stops[i]);
        const char *p = memmem(s, len, m->stops[i], slen);
        if (p && (!first || p < first || (p == first && slen > first_len))) {
            first = p;
            first_len = slen;
            m->hit_index = i;
        }
    }
    if (first) {
        size_t k = (size_t)(first - s);
        ccai_buf_append(out, s, k);
        m->hit = true;
        m->hit_offset = m->released + k;
        consume(m, k);
        consume(m, m->held.len); /* the stop string and what followed */
        m->released = m->hit_offset;
        return k;
    }
    size_t k = llm_utf8_complete_len(s, len - possible_stop_tail(m, s, len));
    ccai_buf_append(out, s, k);
    consume(m, k);
    return k;
}

size_t llm_stop_flush(llm_stop_matcher *m, ccai_buf *out)
{
    if (m->hit)
        return 0;
    size_t k = m->held.len;
    ccai_buf_append(out, m->held.data, k);
    consume(m, k);
    return k;
}

void llm_stop_free(llm_stop_matcher *m)
{
    for (size_t i = 0; i < m->n_stops; i++)
        free(m->stops[i]);
    free(m->stops);
    if (m->held.data)
        ccai_wipe(m->held.data, m->held.cap);
    ccai_buf_free(&m->held);
    memset(m, 0, sizeof *m);
}
