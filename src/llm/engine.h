/* The engine: a loaded model with its tokenizer, chat format and threads,
 * and the generation loop every front end shares (`ccai run` now, the
 * server's Ollama and OpenAI routes later).
 *
 * Stages (style.md): load (model.h) -> tokenize (tokenizer.h) -> forward
 * (llm_ctx_eval) -> sample (sampler.h), then the text path: streaming
 * detokenizer (never half a UTF-8 character) -> stop strings (held back until
 * they cannot be a stop string) -> reasoning splitter (<think>..</think>
 * reported apart from the answer). Nothing here logs prompt or output text. */
#ifndef CCAI_LLM_ENGINE_H
#define CCAI_LLM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "llm/chat.h"
#include "llm/model.h"
#include "llm/pool.h"
#include "llm/sampler.h"
#include "llm/tokenizer.h"

typedef struct llm_engine_opts {
    int n_threads;            /* 0 = online cores */
    const char *kernels;      /* NULL/"auto", "scalar", ... */
    const char *chat_format;  /* NULL = detect from tokenizer.chat_template */
} llm_engine_opts;

typedef struct llm_engine {
    llm_model *model;
    llm_tokenizer *tok;
    llm_pool *pool;
    const llm_kernels *kernels;
    llm_chat_format chat;
    char *name;               /* general.name or the file name; owned */
    uint64_t load_ns;
} llm_engine;

ccai_code llm_engine_open(const char *path, const llm_engine_opts *o, llm_engine **out,
                          ccai_err *err);
void llm_engine_free(llm_engine *e);

/* One sequence: a context plus the tokens it holds, so that a follow-up
 * prompt sharing a prefix (a chat's next turn) evaluates only what is new. */
typedef struct llm_session {
    llm_engine *e;
    llm_ctx *ctx;
    int32_t *tokens;          /* what the KV cache holds, in order */
    size_t n_tokens, cap;
} llm_session;

ccai_code llm_session_new(llm_engine *e, uint32_t n_ctx, llm_session **out, ccai_err *err);
void llm_session_free(llm_session *s);
void llm_session_reset(llm_session *s);

typedef struct llm_gen_params {
    llm_sampler_params sampling;
    int n_predict;                 /* < 0: until the context is full */
    const char *const *stop;       /* extra stop strings (API "stop"), may be NULL */
    size_t n_stop;
    bool split_think;              /* report <think>..</think> apart */
    bool starts_in_thinking;       /* the prompt ended with "<think>\n" */
    /* Asked, with emit's arg, before each piece of the prompt
     * (LLM_PROMPT_PIECE tokens: a long prompt takes seconds) and before
     * each generated token: false stops there, done_reason "cancel" (emit
     * only hears of text, and a token may carry none yet). NULL: never. */
    bool (*keep_going)(void *arg);
} llm_gen_params;

/* Prompt tokens evaluated between two keep_going questions: one batch of
 * the forward pass, so the pieces cost nothing in speed. */
enum { LLM_PROMPT_PIECE = 128 };

typedef struct llm_gen_stats {
    size_t n_prompt;               /* prompt tokens given */
    size_t n_prompt_eval;          /* of which evaluated (not cached) */
    size_t n_gen;                  /* tokens generated */
    uint64_t prompt_ns, gen_ns;
    const char *done_reason;       /* "stop", "length" or "cancel" */
} llm_gen_stats;

/* Receives text as it is produced (whole UTF-8 characters); thinking says
 * which part it belongs to. Returning false cancels the generation. */
typedef bool (*llm_emit_fn)(void *arg, const char *text, size_t n, bool thinking);

/* Generates after prompt[0..n_prompt): evaluates what the session does not
 * hold yet, then samples until an end-of-generation token, a stop string,
 * n_predict tokens or a full context. */
ccai_code llm_generate(llm_session *s, const int32_t *prompt, size_t n_prompt,
                       const llm_gen_params *p, llm_emit_fn emit, void *arg,
                       llm_gen_stats *stats, ccai_err *err);

/* Renders a conversation with the engine's chat format and tokenizes it
 * (special tokens parsed; BOS per the format and tokenizer). The caller
 * frees *ids. *starts_in_thinking tells whether the prompt opened a
 * reasoning section. */
ccai_code llm_chat_prompt(const llm_engine *e, const llm_chat_msg *msgs, size_t n,
                          int32_t **ids, size_t *n_ids, bool *starts_in_thinking,
                          ccai_err *err);

#endif
