/* Chat formats (llm-facts §3; docs/chat-templates.md): turning a
 * conversation into the prompt text a model was trained on, and recognizing
 * where its answer ends.
 *
 * There is no Jinja interpreter: a model's `tokenizer.chat_template` is only
 * inspected for the distinctive markers of the few formats ccai renders
 * itself (DeepSeek-R1, Llama 3, ChatML, Llama 2). The rendered text contains
 * special-token text (`<|im_start|>`, `<｜User｜>`); the tokenizer must match
 * it as special tokens. Past assistant messages lose their reasoning
 * (`<think>…</think>`, see think.h) in every format.
 *
 * The stop matcher watches streamed text for stop strings (the format's and
 * the caller's) and releases only text that cannot be the start of one, so a
 * client never sees part of `<|im_end|>`. */
#ifndef CCAI_LLM_CHAT_H
#define CCAI_LLM_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "base/mem.h"

typedef enum llm_chat_format {
    LLM_CHAT_DEEPSEEK_R1,
    LLM_CHAT_LLAMA3,
    LLM_CHAT_CHATML,
    LLM_CHAT_LLAMA2,
    LLM_CHAT_NONE, /* no template: message contents joined by "\n" */
} llm_chat_format;

/* The format whose markers chat_template (a GGUF tokenizer.chat_template,
 * or NULL) contains; LLM_CHAT_NONE when NULL, empty or unrecognized. */
llm_chat_format llm_chat_detect(const char *chat_template);

/* An explicit choice by name: "deepseek-r1", "llama3", "chatml", "llama2",
 * "none". Anything else is CCAI_ERR_ARG listing the names. */
ccai_code llm_chat_format_parse(const char *name, llm_chat_format *out, ccai_err *err);

/* The name llm_chat_format_parse accepts ("deepseek-r1", ...). */
const char *llm_chat_format_name(llm_chat_format f);

typedef struct llm_chat_msg {
    const char *role;    /* "system", "user", "assistant" (others: see render) */
    const char *content; /* NULL is taken as "" */
} llm_chat_msg;

/* The prompt text for msgs[0..n) in format f, ending with the start of an
 * assistant turn when add_generation_prompt (DeepSeek-R1:
 * "<｜Assistant｜><think>\n", so the model's output starts inside its
 * reasoning: split it with llm_think_init(.., true)).
 *
 * bos_text is written where the format has the BOS token (DeepSeek-R1,
 * Llama 3 and Llama 2 do, see llm_chat_uses_bos; NULL writes nothing there).
 * eos_text is written where the format closes an assistant turn with the EOS
 * token (DeepSeek-R1, Llama 2); NULL means the format's usual text
 * ("<｜end▁of▁sentence｜>", "</s>"). Returns a fresh string; the caller
 * frees (and wipes: it holds the conversation). */
char *llm_chat_render(llm_chat_format f, const llm_chat_msg *msgs, size_t n,
                      bool add_generation_prompt, const char *bos_text, const char *eos_text);

/* True when llm_chat_render writes bos_text (the caller should then not let
 * the tokenizer add another BOS). */
bool llm_chat_uses_bos(llm_chat_format f);

/* The format's stop strings, NULL-terminated (empty for LLM_CHAT_NONE). */
const char *const *llm_chat_stop_strings(llm_chat_format f);

/* Streaming stop-string detection. Feed generated text in chunks; each feed
 * appends to *out the bytes that are now certain to precede any stop string
 * and holds back a tail that could still grow into one. Released text also
 * never ends inside a UTF-8 character (see llm_utf8_complete_len). When a
 * stop string appears, the text before it is released, the stop string and
 * anything after it are dropped, and the matcher reports the hit; later
 * feeds release nothing. At the end of generation, llm_stop_flush releases
 * the held tail. */
typedef struct llm_stop_matcher {
    char **stops;        /* owned copies; empty strings are left out */
    size_t n_stops;
    ccai_buf held;       /* received, not yet released */
    size_t released;     /* bytes released so far */
    bool hit;
    size_t hit_index;    /* which stop string (index into stops) */
    size_t hit_offset;   /* where it starts in the whole stream (= released) */
} llm_stop_matcher;

/* format_stops: a NULL-terminated list (e.g. llm_chat_stop_strings) or
 * NULL; extra: n_extra more strings (the API's "stop" option). Copies all. */
void llm_stop_init(llm_stop_matcher *m, const char *const *format_stops,
                   const char *const *extra, size_t n_extra);

/* Feeds n bytes; returns how many bytes were appended to *out. */
size_t llm_stop_feed(llm_stop_matcher *m, const char *text, size_t n, ccai_buf *out);

/* Releases the held tail (nothing after a hit); returns its length. */
size_t llm_stop_flush(llm_stop_matcher *m, ccai_buf *out);

/* Frees the copies and wipes what is held. */
void llm_stop_free(llm_stop_matcher *m);

#endif
