/* What the Ollama (api_ollama.c) and OpenAI (api_openai.c) routes share:
 * the request's bookkeeping on the loop thread (auth, access log, errors in
 * either API's shape), JSON body and field parsing with clear 400s, message
 * lists and stop strings, and the generation request (api_gen) that travels
 * through the scheduler: its prompt is tokenized on the worker
 * (api_prepare), its answer streams back through the request's stream
 * handle.
 *
 * Nothing here logs or keeps prompt or completion text: request strings are
 * wiped when the request ends (api_json_wipe_free, api_gen_free). Private to
 * src/server/. */
#ifndef CCAI_SERVER_API_COMMON_H
#define CCAI_SERVER_API_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/mem.h"
#include "server/server.h"

typedef enum api_flavor { API_OLLAMA, API_OPENAI } api_flavor;

/* Limits on what a request may carry (beyond the body size limit). */
enum {
    API_MAX_STOP = 16,         /* stop strings */
    API_MAX_STOP_LEN = 256,    /* bytes each */
    API_MAX_MESSAGES = 10000,
    API_MAX_NAME = 256,        /* a model name */
};

/* The reasoning request: Ollama's "think". */
typedef enum api_think {
    API_THINK_UNSET, /* as the model writes it: <think>…</think> stays in the content */
    API_THINK_OFF,   /* no reasoning: the DeepSeek-R1 prompt closes it; any is dropped */
    API_THINK_ON,    /* reasoning reported apart (thinking / reasoning_content) */
} api_think;

/* One request on the loop thread, from the handler's first line to its
 * answer (or to the hand-over to the scheduler). */
typedef struct api_call {
    ccai_server *srv;
    ccai_http_req *req;
    api_flavor flavor;
    const char *path;  /* the route, for the access log */
    uint64_t t0_ns;    /* arrival, monotonic */
    ccai_user who;
} api_call;

/* Starts a call: checks the caller's role (auth.c answers and logs 401/403
 * itself and the call ends: false). With auth false (/api/version) nobody is
 * asked. */
bool api_call_begin(api_call *c, ccai_server *s, ccai_http_req *req, api_flavor f,
                    const char *path, bool auth);

/* Answers an error in the API's shape, and logs the call. Ollama:
 * {"error": msg}; OpenAI: {"error": {message, type, param, code}} with type
 * "invalid_request_error" for 4xx and "server_error" otherwise; param and
 * code may be NULL. */
void api_error(api_call *c, int status, const char *param, const char *code, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));
/* Answers 200 with body (which it releases) and logs the call. */
void api_reply(api_call *c, json_t *body);
/* The error body alone (the caller releases it), for streams and deferred
 * replies. */
json_t *api_error_json(api_flavor f, int status, const char *param, const char *code,
                       const char *msg);

/* The body as a JSON object, or a 400 answered (false). */
bool api_parse_body(api_call *c, json_t **out);
/* Wipes every string in v (request text may be a prompt), then releases it. */
void api_json_wipe_free(json_t *v);

/* Field getters: absent and null count as absent (*present false, or the
 * default left in place); a wrong type or a value out of range is
 * CCAI_ERR_ARG with a message naming the field. */
ccai_code api_get_string(const json_t *obj, const char *key, const char **out, size_t *len,
                         ccai_err *err);
ccai_code api_get_bool(const json_t *obj, const char *key, bool *out, bool *present,
                       ccai_err *err);
ccai_code api_get_number(const json_t *obj, const char *key, double lo, double hi, double *out,
                         bool *present, ccai_err *err);
/* An integer (a JSON number with no fraction) in [lo, hi]. */
ccai_code api_get_int(const json_t *obj, const char *key, long long lo, long long hi,
                      long long *out, bool *present, ccai_err *err);

/* "stop": a string or an array of strings (at most API_MAX_STOP of at most
 * API_MAX_STOP_LEN bytes; empty ones are left out), appended to *stops (owned
 * copies, freed by ccai_job_free). */
ccai_code api_parse_stop(const json_t *v, const char *what, char ***stops, size_t *n,
                         ccai_err *err);

/* A conversation (Ollama or OpenAI message objects) as owned llm_chat_msg
 * copies; free with api_msgs_free (wipes). Content that is not text
 * (images) is refused: this server has no vision models. *param names the
 * offending field on error. */
ccai_code api_parse_messages(const json_t *arr, api_flavor f, llm_chat_msg **out, size_t *n,
                             const char **param, ccai_err *err);
void api_msgs_free(llm_chat_msg *m, size_t n);

/* A generation request: what the handler parsed, what the worker needs to
 * build the prompt, and the answer's state. Handler-owned until submitted;
 * then the job's done callback ends the stream and frees it. */
typedef struct api_gen {
    ccai_server *srv;
    api_flavor flavor;
    const char *path;
    char *model_name;           /* as the client named it: echoed back */
    ccai_model *model;
    int64_t user_id;
    uint64_t t0_ns;
    bool stream;
    api_think think;
    /* The prompt: raw text (tokenized as is), or a conversation. */
    bool raw;
    char *text;
    size_t text_len;
    llm_chat_msg *msgs;
    size_t n_msgs;
    /* The answer. */
    ccai_http_stream *hs;       /* the stream, or the deferred reply */
    bool open_think;            /* unsplit output after a prompt that opened <think> */
    ccai_buf content, thinking; /* stream false: the whole answer (wiped) */
    size_t n_prompt;            /* tokens, once prepared */
    /* OpenAI */
    char id[48];
    time_t created;
    bool include_usage;
} api_gen;

/* A request for model m named `name` by the client (copied). */
api_gen *api_gen_new(const api_call *c, ccai_model *m, const char *name);
void api_gen_free(api_gen *g);

/* A job for g with the given sampling defaults applied: seed random unless
 * given, n_predict capped by the server's max_tokens. */
ccai_job *api_job_new(api_gen *g, llm_emit_fn emit,
                      void (*done)(ccai_job *, const llm_gen_stats *, const ccai_err *));
/* n_predict as asked (< 0: as long as the context allows) within the cap. */
int api_cap_predict(const ccai_server *s, long long asked);
/* A fresh random seed (the request gave none). */
uint64_t api_random_seed(void);

/* The job's prepare callback (job->arg is the api_gen): tokenizes the raw
 * text or renders the conversation with the model's chat format. */
ccai_code api_prepare(ccai_job *job, llm_engine *e, ccai_err *err);

/* Hands the job to the scheduler: 503 with Retry-After when it is full,
 * else starts the stream (content type ctype, and first_chunk sent, when
 * g->stream) or defers the reply, then submits. On any failure the answer
 * is given, the call logged, and job and g freed. */
bool api_submit(api_call *c, api_gen *g, ccai_job *job, const char *ctype,
                const char *first_chunk);

/* Ends g's answer with an error (and releases the handle): for a stream, in
 * the stream (Ollama: an {"error": …} line; OpenAI: an SSE data event, then
 * [DONE]); for a deferred reply, the reply with status. */
void api_answer_error(api_gen *g, int status, const char *msg);

/* Worker side, at the end: the access log line for g with the status
 * answered (499: the client left), then frees g. */
void api_gen_finish(api_gen *g, int status, const llm_gen_stats *st);

/* Worker side, first thing in a done callback: ends g when the generation
 * failed (err) or was cancelled (the client left: 499; the scheduler
 * stopped it because the server is going down: 503) and returns true; g is
 * then freed. False: it completed and the caller answers. */
bool api_gen_end_early(api_gen *g, const llm_gen_stats *st, const ccai_err *err);

/* The HTTP status for a generation error. */
int api_status_for(const ccai_err *err);

/* A JSON string of n bytes of generated text; bytes that are not UTF-8
 * (should the engine ever pass some) become U+FFFD. Never NULL. */
json_t *api_text(const char *s, size_t n);
/* Sends prefix + compact JSON of v + suffix as one chunk, and releases v;
 * false once the client is gone. */
bool api_send_json(ccai_http_stream *hs, json_t *v, const char *prefix, const char *suffix);

/* Time stamps: RFC 3339 UTC with nanoseconds (Ollama's created_at) now, and
 * with seconds for a given time. */
void api_time_now(char out[48]);
void api_time_at(time_t t, char out[48]);
uint64_t api_mono_ns(void);

#endif
