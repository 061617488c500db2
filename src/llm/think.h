/* Reasoning separation (docs/chat-templates.md, "Thinking"): DeepSeek-R1 and
 * similar models write `<think> … </think>` before their answer. The splitter
 * takes generated text as it streams and routes the reasoning to `thinking`
 * and the answer to `content`, whatever the chunking: feeding a text in one
 * piece or split at any byte gives the same two outputs.
 *
 * Rules (the same as Ollama's thinking parser):
 * - An opening `<think>` counts only at the start of the output (leading
 *   white space allowed and dropped). Once the answer has begun, tag text is
 *   ordinary text; after `</think>` everything is content.
 * - `starts_in_thinking`: the prompt already ended with `<think>\n` (the
 *   DeepSeek-R1 generation prompt), so output begins inside the reasoning.
 *   A redundant `<think>` at the very start is dropped as well.
 * - White space right after `<think>`, right before `</think>` and right after
 *   `</think>` is dropped: the answer never starts with the blank lines the
 *   model puts after its reasoning.
 * - Every piece appended to an output ends on a UTF-8 character boundary
 *   (an incomplete trailing sequence waits for its next bytes); only the
 *   final flush may emit an incomplete one, as received.
 * - Without a closing tag (generation cut short) the rest is thinking. */
#ifndef CCAI_LLM_THINK_H
#define CCAI_LLM_THINK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/mem.h"

typedef enum llm_think_state {
    LLM_THINK_LOOKING,     /* start of output: an opening tag may follow */
    LLM_THINK_START,       /* starts_in_thinking: white space or a redundant tag */
    LLM_THINK_LEADING_WS,  /* after <think>: dropping white space */
    LLM_THINK_THINKING,    /* inside the reasoning */
    LLM_THINK_ANSWER_WS,   /* after </think>: dropping white space */
    LLM_THINK_CONTENT,     /* the answer (or output without reasoning) */
} llm_think_state;

/* The splitter. Owns `held` (bytes not yet routed); finish with
 * llm_think_flush or llm_think_free. */
typedef struct llm_think {
    llm_think_state state;
    ccai_buf held;
} llm_think;

void llm_think_init(llm_think *t, bool starts_in_thinking);

/* Routes n bytes of generated text: appends to *thinking and *content what
 * is certain now and keeps the rest (a possible partial tag, white space
 * that may precede `</think>`, an incomplete UTF-8 character). */
void llm_think_feed(llm_think *t, const char *text, size_t n, ccai_buf *thinking,
                    ccai_buf *content);

/* End of generation: routes everything still held, wipes and frees the
 * internal buffer. The splitter may be initialized again afterwards. */
void llm_think_flush(llm_think *t, ccai_buf *thinking, ccai_buf *content);

/* Discards what is held (wiped) without routing it. */
void llm_think_free(llm_think *t);

/* True while the splitter routes to thinking (or may still: before the
 * first non-blank output of a starts_in_thinking stream). */
bool llm_think_in_thinking(const llm_think *t);

/* The answer part of a past assistant message, for rendering a conversation:
 * the text after the last `</think>` with its leading white space dropped;
 * without `</think>`, the text before an opening `<think>` (reasoning cut
 * short); otherwise the text unchanged. Returns a fresh string; the caller
 * frees. */
char *llm_strip_think(const char *text);

/* The length of the longest prefix of s[0..n) that does not end inside a
 * UTF-8 character: n minus the bytes of a trailing lead byte whose
 * continuation bytes have not all arrived. Invalid bytes count as complete
 * (they are passed on, not held forever). */
size_t llm_utf8_complete_len(const char *s, size_t n);

#endif
