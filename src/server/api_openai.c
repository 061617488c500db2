/* The OpenAI-compatible API (llm-facts §5; docs/api.md):
 * POST /v1/chat/completions (one chat.completion object, or Server-Sent
 * Events of chat.completion.chunk objects ending with `data: [DONE]`), and
 * GET /v1/models, /v1/models/{id}, so that OpenAI SDKs and open-webui's
 * OpenAI connection work unchanged.
 *
 * The reasoning of DeepSeek-R1-style models is always reported apart, as
 * `reasoning_content` (DeepSeek's API and vLLM do the same), never inside
 * `content`. Errors have OpenAI's shape: {"error": {message, type, param,
 * code}}. Handlers run on the loop thread and hand a job to the scheduler;
 * the job's callbacks (worker) write the answer. No prompt or answer text is
 * logged. */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/json.h"
#include "server/api_common.h"

#define SSE "text/event-stream"

/* ---- answers (worker) --------------------------------------------------------------------- */

/* A chat.completion.chunk with one choice (delta, finish_reason), or with
 * none when delta is NULL. */
static json_t *chunk(const api_gen *g, json_t *delta, const char *finish)
{
    json_t *o = json_pack("{s:s,s:s,s:I,s:o}", "id", g->id, "object", "chat.completion.chunk",
                          "created", (json_int_t)g->created, "model",
                          api_text(g->model_name, strlen(g->model_name)));
    json_t *choices = json_array();
    if (delta)
        json_array_append_new(choices, json_pack("{s:i,s:o,s:n,s:o}", "index", 0, "delta", delta,
                                                 "logprobs", "finish_reason",
                                                 finish ? json_string(finish) : json_null()));
    json_object_set_new(o, "choices", choices);
    if (g->include_usage)
        json_object_set_new(o, "usage", json_null()); /* as OpenAI: only the last has it */
    return o;
}

static bool openai_emit(void *arg, const char *text, size_t n, bool thinking)
{
    api_gen *g = arg;
    if (!g->stream) {
        ccai_buf_append(thinking ? &g->thinking : &g->content, text, n);
        return true;
    }
    json_t *delta =
        json_pack("{s:o}", thinking ? "reasoning_content" : "content", api_text(text, n));
    return api_send_json(g->hs, chunk(g, delta, NULL), "data: ", "\n\n");
}

static json_t *usage(const llm_gen_stats *st)
{
    return json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)st->n_prompt,
                     "completion_tokens", (json_int_t)st->n_gen, "total_tokens",
                     (json_int_t)(st->n_prompt + st->n_gen));
}

static json_t *completion(const api_gen *g, const llm_gen_stats *st)
{
    json_t *msg = json_pack("{s:s,s:o}", "role", "assistant", "content",
                            api_text(g->content.data ? (const char *)g->content.data : "",
                                     g->content.len));
    if (g->thinking.len)
        json_object_set_new(msg, "reasoning_content",
                            api_text((const char *)g->thinking.data, g->thinking.len));
    return json_pack("{s:s,s:s,s:I,s:o,s:[{s:i,s:o,s:n,s:s}],s:o}", "id", g->id, "object",
                     "chat.completion", "created", (json_int_t)g->created, "model",
                     api_text(g->model_name, strlen(g->model_name)), "choices", "index", 0,
                     "message", msg, "logprobs", "finish_reason", st->done_reason, "usage",
                     usage(st));
}

static void openai_done(ccai_job *job, const llm_gen_stats *st, const ccai_err *err)
{
    api_gen *g = job->arg;
    if (api_gen_end_early(g, st, err))
        return;
    if (g->stream) {
        if (api_send_json(g->hs, chunk(g, json_object(), st->done_reason), "data: ", "\n\n") &&
            g->include_usage) {
            json_t *last = chunk(g, NULL, NULL);
            json_object_set_new(last, "usage", usage(st));
            api_send_json(g->hs, last, "data: ", "\n\n");
        }
        ccai_http_stream_send(g->hs, "data: [DONE]\n\n", 14);
        ccai_http_stream_end(g->hs);
    } else {
        json_t *o = completion(g, st);
        ccai_http_stream_reply_json(g->hs, 200, o);
        api_json_wipe_free(o);
    }
    g->hs = NULL;
    api_gen_finish(g, 200, st);
}

/* ---- /v1/chat/completions ----------------------------------------------------------------- */

static bool nonempty(const json_t *v)
{
    return v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0);
}

/* Fields ccai cannot honour, refused rather than silently ignored. */
static ccai_code refuse_unsupported(const json_t *body, const char **param, ccai_err *err)
{
    long long n = 1;
    bool logprobs = false;
    ccai_code rc;
    *param = "n";
    if (api_get_int(body, "n", 1, 1, &n, NULL, err))
        return ccai_fail(err, CCAI_ERR_ARG, "\"n\" must be 1: one choice per request");
    *param = "tools";
    if (nonempty(json_object_get(body, "tools")))
        return ccai_fail(err, CCAI_ERR_ARG, "tools are not supported");
    *param = "functions";
    if (nonempty(json_object_get(body, "functions")))
        return ccai_fail(err, CCAI_ERR_ARG, "functions are not supported");
    *param = "logprobs";
    if ((rc = api_get_bool(body, "logprobs", &logprobs, NULL, err)))
        return rc;
    if (logprobs)
        return ccai_fail(err, CCAI_ERR_ARG, "logprobs are not supported");
    *param = "response_format";
    const json_t *rf = json_object_get(body, "response_format");
    if (rf && !json_is_null(rf)) {
        const char *type = json_string_value(json_object_get(rf, "type"));
        if (!type)
            return ccai_fail(err, CCAI_ERR_ARG, "\"response_format\" must be an object with a "
                             "\"type\"");
        /* json_object is accepted but not enforced: the prompt has to ask. */
        if (strcmp(type, "text") != 0 && strcmp(type, "json_object") != 0)
            return ccai_fail(err, CCAI_ERR_ARG, "response_format '%.40s' is not supported "
                             "(text or json_object)", type);
    }
    *param = NULL;
    return CCAI_OK;
}

/* Sampling and length fields into the job; *param names a bad one. */
static ccai_code parse_sampling(ccai_server *s, const json_t *body, ccai_job *job,
                                const char **param, ccai_err *err)
{
    llm_sampler_params *sp = &job->params.sampling;
    double d;
    long long n;
    bool have;
    ccai_code rc;
#define NUM(key, lo, hi, dst)                                                        \
    do {                                                                             \
        *param = key;                                                                \
        if ((rc = api_get_number(body, key, lo, hi, &d, &have, err)))                \
            return rc;                                                               \
        if (have)                                                                    \
            dst = (float)d;                                                          \
    } while (0)
    NUM("temperature", 0, 2, sp->temperature);
    NUM("top_p", 0, 1, sp->top_p);
    NUM("min_p", 0, 1, sp->min_p);                  /* llama.cpp's extension */
    NUM("repeat_penalty", 0.01, 100, sp->repeat_penalty); /* llama.cpp's extension */
#undef NUM
    /* Presence and frequency penalties are checked and accepted but not
     * applied: the sampler's repeat penalty is a different curve. */
    *param = "presence_penalty";
    if ((rc = api_get_number(body, "presence_penalty", -2, 2, &d, &have, err)))
        return rc;
    *param = "frequency_penalty";
    if ((rc = api_get_number(body, "frequency_penalty", -2, 2, &d, &have, err)))
        return rc;
    *param = "top_k";
    if ((rc = api_get_int(body, "top_k", -1, 1000000000LL, &n, &have, err)))
        return rc;
    if (have)
        sp->top_k = (int)n;
    *param = "seed";
    if ((rc = api_get_int(body, "seed", INT64_MIN, INT64_MAX, &n, &have, err)))
        return rc;
    if (have)
        sp->seed = (uint64_t)n;
    static const char *const lengths[] = {"max_tokens", "max_completion_tokens"};
    for (size_t i = 0; i < 2; i++) {
        *param = lengths[i];
        if ((rc = api_get_int(body, lengths[i], -1, INT64_MAX, &n, &have, err)))
            return rc;
        if (have)
            job->params.n_predict = api_cap_predict(s, n);
    }
    *param = "stop";
    if ((rc = api_parse_stop(json_object_get(body, "stop"), "stop", &job->stop, &job->n_stop, err)))
        return rc;
    *param = NULL;
    return CCAI_OK;
}

/* "stream" (default false) and stream_options.include_usage. */
static ccai_code parse_stream(const json_t *body, api_gen *g, const char **param, ccai_err *err)
{
    bool stream = false;
    *param = "stream";
    ccai_code rc = api_get_bool(body, "stream", &stream, NULL, err);
    if (rc)
        return rc;
    g->stream = stream;
    *param = "stream_options";
    const json_t *so = json_object_get(body, "stream_options");
    if (!so || json_is_null(so))
        return CCAI_OK;
    if (!json_is_object(so))
        return ccai_fail(err, CCAI_ERR_ARG, "\"stream_options\" must be an object, got %s",
                         ccai_json_kind(so));
    bool usage = false;
    if ((rc = api_get_bool(so, "include_usage", &usage, NULL, err)))
        return rc;
    g->include_usage = stream && usage;
    return CCAI_OK;
}

static void new_id(api_gen *g)
{
    uint8_t r[12];
    if (RAND_bytes(r, sizeof r) != 1) {
        uint64_t x = api_random_seed() ^ api_mono_ns();
        memcpy(r, &x, 8);
        memset(r + 8, 0, 4);
    }
    char hex[25];
    ccai_hex_encode(r, sizeof r, hex);
    snprintf(g->id, sizeof g->id, "chatcmpl-%s", hex);
}

/* The role chunk every stream starts with, as text ready to send. */
static char *first_chunk(const api_gen *g)
{
    json_t *c = chunk(g, json_pack("{s:s,s:s}", "role", "assistant", "content", ""), NULL);
    char *s = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    char *out = ccai_xasprintf("data: %s\n\n", s ? s : "{}");
    free(s);
    return out;
}

static void on_chat_completions(ccai_http_req *req, void *arg)
{
    api_call c;
    if (!api_call_begin(&c, arg, req, API_OPENAI, "/v1/chat/completions", true))
        return;
    json_t *body;
    if (!api_parse_body(&c, &body))
        return;
    ccai_err err = {0};
    const char *name = NULL, *param = "model";
    api_gen *g = NULL;
    ccai_job *job = NULL;
    if (api_get_string(body, "model", &name, NULL, &err)) {
        api_error(&c, 400, "model", NULL, "%s", err.msg);
        goto out;
    }
    if (!name || !*name) {
        api_error(&c, 400, "model", NULL, "you must provide a model parameter");
        goto out;
    }
    ccai_model *m = ccai_models_find(c.srv, name);
    if (!m) {
        api_error(&c, 404, "model", "model_not_found", "model '%.*s' not found", API_MAX_NAME,
                  name);
        goto out;
    }
    g = api_gen_new(&c, m, name);
    g->think = API_THINK_ON;
    new_id(g);
    job = api_job_new(g, openai_emit, openai_done);
    if (refuse_unsupported(body, &param, &err) || parse_stream(body, g, &param, &err) ||
        parse_sampling(c.srv, body, job, &param, &err)) {
        api_error(&c, 400, param, NULL, "%s", err.msg);
        goto out;
    }
    const json_t *msgs = json_object_get(body, "messages");
    if (!msgs || json_is_null(msgs)) {
        api_error(&c, 400, "messages", NULL, "\"messages\" is required");
        goto out;
    }
    if (api_parse_messages(msgs, API_OPENAI, &g->msgs, &g->n_msgs, &param, &err)) {
        api_error(&c, 400, param, NULL, "%s", err.msg);
        goto out;
    }
    if (g->n_msgs == 0) {
        api_error(&c, 400, "messages", NULL, "\"messages\" must not be empty");
        goto out;
    }
    api_json_wipe_free(body);
    char *first = g->stream ? first_chunk(g) : NULL;
    api_submit(&c, g, job, SSE, first);
    free(first);
    return;
out:
    api_json_wipe_free(body);
    ccai_job_free(job);
    api_gen_free(g);
}

/* ---- /v1/models --------------------------------------------------------------------------- */

static json_t *model_obj(const ccai_model *m)
{
    return json_pack("{s:o,s:s,s:I,s:s}", "id", api_text(m->name, strlen(m->name)), "object",
                     "model", "created", (json_int_t)m->modified, "owned_by", "ccai");
}

static void on_models(ccai_http_req *req, void *arg)
{
    api_call c;
    if (!api_call_begin(&c, arg, req, API_OPENAI, "/v1/models", true))
        return;
    json_t *data = json_array();
    for (size_t i = 0; i < c.srv->n_models; i++)
        json_array_append_new(data, model_obj(&c.srv->models[i]));
    api_reply(&c, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

static void on_model(ccai_http_req *req, void *arg)
{
    api_call c;
    if (!api_call_begin(&c, arg, req, API_OPENAI, "/v1/models/{id}", true))
        return;
    const char *id = ccai_http_path(req) + strlen("/v1/models/");
    ccai_model *m = *id ? ccai_models_find(c.srv, id) : NULL;
    if (!m) {
        api_error(&c, 404, "model", "model_not_found", "model '%.*s' not found", API_MAX_NAME, id);
        return;
    }
    api_reply(&c, model_obj(m));
}

ccai_code ccai_api_openai_register(ccai_server *s, ccai_err *err)
{
    ccai_code rc;
    if ((rc = ccai_http_route(s->http, "POST", "/v1/chat/completions", on_chat_completions, s,
                              err)) ||
        (rc = ccai_http_route(s->http, "GET", "/v1/models", on_models, s, err)) ||
        (rc = ccai_http_route(s->http, "GET", "/v1/models/*", on_model, s, err)))
        return rc;
    return CCAI_OK;
}
