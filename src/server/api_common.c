/* Shared request plumbing of the Ollama and OpenAI routes: see api_common.h. */
#include "server/api_common.h"

#include <limits.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "llm/tokenizer.h"

uint64_t api_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void api_time_now(char out[48])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 48, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 48 - n, ".%09ldZ", (long)ts.tv_nsec);
}

void api_time_at(time_t t, char out[48])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 48, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the call on the loop thread -------------------------------------------------------- */

bool api_call_begin(api_call *c, ccai_server *s, ccai_http_req *req, api_flavor f,
                    const char *path, bool auth)
{
    memset(c, 0, sizeof *c);
    c->srv = s;
    c->req = req;
    c->flavor = f;
    c->path = path;
    c->t0_ns = api_mono_ns();
    c->who.id = -1; /* nobody asked */
    /* A refusal is answered and logged by auth.c. */
    return !auth || ccai_auth_require(s, req, CCAI_ROLE_USER, &c->who);
}

static void log_call(const api_call *c, int status)
{
    ccai_access_log(c->srv, ccai_http_method(c->req), c->path, status, api_mono_ns() - c->t0_ns,
                    c->who.id, -1, -1);
}

json_t *api_error_json(api_flavor f, int status, const char *param, const char *code,
                       const char *msg)
{
    json_t *m = api_text(msg, strlen(msg));
    if (f == API_OLLAMA)
        return json_pack("{s:o}", "error", m);
    return json_pack("{s:{s:o,s:s,s:o,s:o}}", "error", "message", m, "type",
                     status < 500 ? "invalid_request_error" : "server_error", "param",
                     param ? json_string(param) : json_null(), "code",
                     code ? json_string(code) : json_null());
}

void api_error(api_call *c, int status, const char *param, const char *code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *body = api_error_json(c->flavor, status, param, code, msg);
    ccai_http_reply_json(c->req, status, body);
    json_decref(body);
    log_call(c, status);
}

void api_reply(api_call *c, json_t *body)
{
    ccai_http_reply_json(c->req, 200, body);
    json_decref(body);
    log_call(c, 200);
}

bool api_parse_body(api_call *c, json_t **out)
{
    size_t len;
    const uint8_t *body = ccai_http_body(c->req, &len);
    if (len == 0) {
        api_error(c, 400, NULL, NULL, "the request body is empty: expected a JSON object");
        return false;
    }
    ccai_err err = {0};
    json_t *v;
    if (ccai_json_parse((const char *)body, len, &v, &err)) {
        api_error(c, 400, NULL, NULL, "invalid JSON in the request body: %s", err.msg);
        return false;
    }
    if (!json_is_object(v)) {
        api_error(c, 400, NULL, NULL, "the request body must be a JSON object, got %s",
                  ccai_json_kind(v));
        api_json_wipe_free(v);
        return false;
    }
    *out = v;
    return true;
}

static void wipe_strings(json_t *v)
{
    const char *key;
    json_t *child;
    size_t i;
    if (json_is_string(v)) {
        ccai_wipe((char *)(uintptr_t)json_string_value(v), json_string_length(v));
    } else if (json_is_object(v)) {
        json_object_foreach (v, key, child)
            wipe_strings(child);
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, child)
            wipe_strings(child);
    }
}

void api_json_wipe_free(json_t *v)
{
    if (!v)
        return;
    if (v->refcount == 1)
        wipe_strings(v);
    json_decref(v);
}

/* ---- fields ------------------------------------------------------------------------------- */

static const json_t *field(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

ccai_code api_get_string(const json_t *obj, const char *key, const char **out, size_t *len,
                         ccai_err *err)
{
    const json_t *v = field(obj, key);
    *out = NULL;
    if (len)
        *len = 0;
    if (!v)
        return CCAI_OK;
    if (!json_is_string(v))
        return ccai_fail(err, CCAI_ERR_ARG, "\"%s\" must be a string, got %s", key,
                         ccai_json_kind(v));
    *out = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return CCAI_OK;
}

ccai_code api_get_bool(const json_t *obj, const char *key, bool *out, bool *present, ccai_err *err)
{
    const json_t *v = field(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return CCAI_OK;
    if (!json_is_boolean(v))
        return ccai_fail(err, CCAI_ERR_ARG, "\"%s\" must be true or false, got %s", key,
                         ccai_json_kind(v));
    *out = json_is_true(v);
    return CCAI_OK;
}

ccai_code api_get_number(const json_t *obj, const char *key, double lo, double hi, double *out,
                         bool *present, ccai_err *err)
{
    const json_t *v = field(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return CCAI_OK;
    if (!json_is_number(v))
        return ccai_fail(err, CCAI_ERR_ARG, "\"%s\" must be a number, got %s", key,
                         ccai_json_kind(v));
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi))
        return ccai_fail(err, CCAI_ERR_ARG, "\"%s\" must be between %g and %g, got %g", key, lo,
                         hi, d);
    *out = d;
    return CCAI_OK;
}

ccai_code api_get_int(const json_t *obj, const char *key, long long lo, long long hi,
                      long long *out, bool *present, ccai_err *err)
{
    const json_t *v = field(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return CCAI_OK;
    long long x;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9e18) {
        x = (long long)json_real_value(v);
    } else {
        return ccai_fail(err, CCAI_ERR_ARG, "\"%s\" must be an integer, got %s", key,
                         ccai_json_kind(v));
    }
    if (x < lo || x > hi)
        return ccai_fail(err, CCAI_ERR_ARG, "\"%s\" must be between %lld and %lld, got %lld", key,
                         lo, hi, x);
    *out = x;
    return CCAI_OK;
}

static ccai_code add_stop(const json_t *s, const char *what, char ***stops, size_t *n,
                          ccai_err *err)
{
    if (!json_is_string(s))
        return ccai_fail(err, CCAI_ERR_ARG, "\"%s\" must be a string or an array of strings, "
                         "found %s", what, ccai_json_kind(s));
    size_t len = json_string_length(s);
    if (len == 0)
        return CCAI_OK;
    if (len > API_MAX_STOP_LEN)
        return ccai_fail(err, CCAI_ERR_ARG, "\"%s\": a stop string may have at most %d bytes, "
                         "got %zu", what, API_MAX_STOP_LEN, len);
    if (*n >= API_MAX_STOP)
        return ccai_fail(err, CCAI_ERR_ARG, "\"%s\": at most %d stop strings", what, API_MAX_STOP);
    *stops = ccai_xrealloc(*stops, (*n + 1) * sizeof **stops);
    (*stops)[(*n)++] = ccai_xstrndup(json_string_value(s), len);
    return CCAI_OK;
}

ccai_code api_parse_stop(const json_t *v, const char *what, char ***stops, size_t *n,
                         ccai_err *err)
{
    if (!v || json_is_null(v))
        return CCAI_OK;
    if (!json_is_array(v))
        return add_stop(v, what, stops, n, err);
    size_t i;
    const json_t *s;
    json_array_foreach (v, i, s) {
        ccai_code rc = add_stop(s, what, stops, n, err);
        if (rc)
            return rc;
    }
    return CCAI_OK;
}

/* ---- messages ----------------------------------------------------------------------------- */

/* OpenAI content: a string, or parts of which only text is understood. */
static ccai_code openai_content(const json_t *v, size_t i, ccai_buf *out, const char **param,
                                ccai_err *err)
{
    if (json_is_string(v)) {
        ccai_buf_append(out, json_string_value(v), json_string_length(v));
        return CCAI_OK;
    }
    *param = "messages";
    if (!json_is_array(v))
        return ccai_fail(err, CCAI_ERR_ARG, "messages[%zu].content must be a string or an array "
                         "of content parts, got %s", i, ccai_json_kind(v));
    size_t k;
    const json_t *part;
    json_array_foreach (v, k, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        const json_t *text = json_object_get(part, "text");
        if (!json_is_object(part) || !type)
            return ccai_fail(err, CCAI_ERR_ARG, "messages[%zu].content[%zu] must be an object "
                             "with a \"type\"", i, k);
        if (strcmp(type, "text") != 0)
            return ccai_fail(err, CCAI_ERR_ARG, "messages[%zu].content[%zu]: content of type "
                             "'%.40s' is not supported (text only: no vision or audio models)",
                             i, k, type);
        if (!json_is_string(text))
            return ccai_fail(err, CCAI_ERR_ARG, "messages[%zu].content[%zu].text must be a "
                             "string", i, k);
        if (out->len)
            ccai_buf_append(out, "\n", 1);
        ccai_buf_append(out, json_string_value(text), json_string_length(text));
    }
    return CCAI_OK;
}

static ccai_code one_message(const json_t *m, size_t i, api_flavor f, llm_chat_msg *out,
                             const char **param, ccai_err *err)
{
    *param = "messages";
    if (!json_is_object(m))
        return ccai_fail(err, CCAI_ERR_ARG, "messages[%zu] must be an object, got %s", i,
                         ccai_json_kind(m));
    const json_t *role = json_object_get(m, "role");
    if (!json_is_string(role))
        return ccai_fail(err, CCAI_ERR_ARG, "messages[%zu].role must be a string, got %s", i,
                         ccai_json_kind(role));
    const char *r = json_string_value(role);
    if (!*r || strlen(r) > 32 || strchr(r, '<') || strchr(r, '\n'))
        return ccai_fail(err, CCAI_ERR_ARG, "messages[%zu].role: expected system, user, "
                         "assistant or tool", i);
    if (!strcmp(r, "developer"))
        r = "system"; /* OpenAI's newer name for it */
    const json_t *images = json_object_get(m, "images");
    if (f == API_OLLAMA && images && !json_is_null(images) &&
        !(json_is_array(images) && json_array_size(images) == 0))
        return ccai_fail(err, CCAI_ERR_ARG, "messages[%zu].images: images are not supported "
                         "(no vision models)", i);
    const json_t *content = json_object_get(m, "content");
    ccai_buf text = {0};
    if (content && !json_is_null(content)) {
        if (f == API_OPENAI) {
            ccai_code rc = openai_content(content, i, &text, param, err);
            if (rc) {
                ccai_wipe(text.data, text.len);
                ccai_buf_free(&text);
                return rc;
            }
        } else if (json_is_string(content)) {
            ccai_buf_append(&text, json_string_value(content), json_string_length(content));
        } else {
            return ccai_fail(err, CCAI_ERR_ARG, "messages[%zu].content must be a string, got %s",
                             i, ccai_json_kind(content));
        }
    }
    ccai_buf_u8(&text, 0);
    out->role = ccai_xstrdup(r);
    out->content = (char *)ccai_buf_steal(&text, NULL);
    return CCAI_OK;
}

ccai_code api_parse_messages(const json_t *arr, api_flavor f, llm_chat_msg **out, size_t *n,
                             const char **param, ccai_err *err)
{
    *out = NULL;
    *n = 0;
    *param = "messages";
    if (!json_is_array(arr))
        return ccai_fail(err, CCAI_ERR_ARG, "\"messages\" must be an array, got %s",
                         ccai_json_kind(arr));
    size_t count = json_array_size(arr);
    if (count > API_MAX_MESSAGES)
        return ccai_fail(err, CCAI_ERR_ARG, "at most %d messages, got %zu", API_MAX_MESSAGES,
                         count);
    llm_chat_msg *m = ccai_xcalloc(count ? count : 1, sizeof *m);
    for (size_t i = 0; i < count; i++) {
        ccai_code rc = one_message(json_array_get(arr, i), i, f, &m[i], param, err);
        if (rc) {
            api_msgs_free(m, i);
            return rc;
        }
    }
    *out = m;
    *n = count;
    return CCAI_OK;
}

void api_msgs_free(llm_chat_msg *m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++) {
        char *c = (char *)(uintptr_t)m[i].content;
        if (c) {
            ccai_wipe(c, strlen(c));
            free(c);
        }
        free((char *)(uintptr_t)m[i].role);
    }
    free(m);
}

/* ---- generation requests ------------------------------------------------------------------ */

api_gen *api_gen_new(const api_call *c, ccai_model *m, const char *name)
{
    api_gen *g = ccai_xcalloc(1, sizeof *g);
    g->srv = c->srv;
    g->flavor = c->flavor;
    g->path = c->path;
    g->model = m;
    g->model_name = ccai_xstrndup(name, strnlen(name, API_MAX_NAME));
    g->user_id = c->who.id;
    g->t0_ns = c->t0_ns;
    g->created = time(NULL);
    return g;
}

static void wipe_buf(ccai_buf *b)
{
    ccai_wipe(b->data, b->len);
    ccai_buf_free(b);
}

/* The prompt is not needed once it is tokens. */
static void drop_prompt(api_gen *g)
{
    if (g->text) {
        ccai_wipe(g->text, g->text_len);
        free(g->text);
        g->text = NULL;
    }
    api_msgs_free(g->msgs, g->n_msgs);
    g->msgs = NULL;
    g->n_msgs = 0;
}

void api_gen_free(api_gen *g)
{
    if (!g)
        return;
    drop_prompt(g);
    wipe_buf(&g->content);
    wipe_buf(&g->thinking);
    free(g->model_name);
    free(g);
}

uint64_t api_random_seed(void)
{
    uint64_t seed = 0;
    if (RAND_bytes((unsigned char *)&seed, sizeof seed) != 1)
        seed = api_mono_ns() ^ (uint64_t)time(NULL) << 20;
    return seed;
}

int api_cap_predict(const ccai_server *s, long long asked)
{
    int cap = s->cfg->max_tokens;
    if (cap <= 0)
        return asked < 0 ? -1 : (int)(asked > INT_MAX ? INT_MAX : asked);
    return asked < 0 || asked > cap ? cap : (int)asked;
}

ccai_job *api_job_new(api_gen *g, llm_emit_fn emit,
                      void (*done)(ccai_job *, const llm_gen_stats *, const ccai_err *))
{
    ccai_job *job = ccai_xcalloc(1, sizeof *job);
    job->model = g->model;
    job->params.sampling = llm_sampler_params_default();
    /* No repeat penalty unless asked (llama.cpp's default, and `ccai run`'s):
     * temperature 0 is then plain greedy decoding. */
    job->params.sampling.repeat_penalty = 1.0f;
    job->params.sampling.seed = api_random_seed();
    job->params.n_predict = api_cap_predict(g->srv, -1);
    job->emit = emit;
    job->done = done;
    job->arg = g;
    job->prepare = api_prepare;
    job->owner = g->user_id;
    return job;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Renders the conversation like llm_chat_prompt, with one addition: a
 * request without reasoning gets the DeepSeek-R1 prompt's <think> closed
 * (docs/chat-templates.md). */
static ccai_code chat_tokens(api_gen *g, ccai_job *job, const llm_engine *e, bool *thinking,
                             ccai_err *err)
{
    const llm_tokenizer *t = e->tok;
    char *bos = NULL, *eos = NULL;
    size_t len;
    const char *txt;
    if (llm_token_bos(t) >= 0 && (txt = llm_token_text(t, llm_token_bos(t), &len)))
        bos = ccai_xstrndup(txt, len);
    if (llm_token_eos(t) >= 0 && (txt = llm_token_text(t, llm_token_eos(t), &len)))
        eos = ccai_xstrndup(txt, len);
    char *text = llm_chat_render(e->chat, g->msgs, g->n_msgs, true, bos, eos);
    free(bos);
    free(eos);
    ccai_buf b = {0};
    ccai_buf_append_str(&b, text);
    ccai_wipe(text, strlen(text));
    free(text);
    *thinking = ends_with((const char *)b.data, b.len, "<think>\n");
    if (*thinking && g->think == API_THINK_OFF) {
        ccai_buf_append_str(&b, "\n</think>\n\n");
        *thinking = false;
    }
    bool add_bos = !llm_chat_uses_bos(e->chat) && llm_tokenizer_add_bos(t);
    ccai_code rc = llm_tokenize(t, (const char *)b.data, b.len, add_bos, true, &job->prompt,
                                &job->n_prompt, err);
    wipe_buf(&b);
    return rc;
}

ccai_code api_prepare(ccai_job *job, llm_engine *e, ccai_err *err)
{
    api_gen *g = job->arg;
    bool thinking = false;
    ccai_code rc;
    if (g->raw) {
        /* As given, special tokens included, so a client may apply its own
         * template; BOS as the tokenizer says. */
        rc = llm_tokenize(e->tok, g->text, g->text_len, llm_tokenizer_add_bos(e->tok), true,
                          &job->prompt, &job->n_prompt, err);
    } else {
        rc = chat_tokens(g, job, e, &thinking, err);
    }
    drop_prompt(g);
    if (rc)
        return rc;
    if (job->n_prompt == 0)
        return ccai_fail(err, CCAI_ERR_ARG, "the prompt is empty");
    g->n_prompt = job->n_prompt;
    job->params.starts_in_thinking = thinking;
    job->params.split_think = g->think != API_THINK_UNSET;
    /* Unsplit output after a prompt that opened the reasoning reads as the
     * model wrote it only with its opening tag. */
    g->open_think = thinking && g->think == API_THINK_UNSET;
    return CCAI_OK;
}

/* ---- answering ---------------------------------------------------------------------------- */

int api_status_for(const ccai_err *err)
{
    switch (err->code) {
    case CCAI_ERR_ARG:
    case CCAI_ERR_UNSUPPORTED:
    case CCAI_ERR_PARSE: return 400;
    case CCAI_ERR_NOT_FOUND: return 404;
    case CCAI_ERR_BUSY:
    case CCAI_ERR_STATE: return 503;
    case CCAI_ERR_NET: return 502;
    default: return 500;
    }
}

bool api_send_json(ccai_http_stream *hs, json_t *v, const char *prefix, const char *suffix)
{
    char *s = json_dumps(v, JSON_COMPACT);
    api_json_wipe_free(v);
    if (!s)
        return false;
    ccai_buf b = {0};
    ccai_buf_append_str(&b, prefix);
    ccai_buf_append_str(&b, s);
    ccai_buf_append_str(&b, suffix);
    ccai_wipe(s, strlen(s));
    free(s);
    bool ok = ccai_http_stream_send(hs, b.data, b.len);
    wipe_buf(&b);
    return ok;
}

void api_answer_error(api_gen *g, int status, const char *msg)
{
    json_t *body = api_error_json(g->flavor, status, NULL, NULL, msg);
    if (!g->stream) {
        ccai_http_stream_reply_json(g->hs, status, body);
        json_decref(body);
    } else if (g->flavor == API_OLLAMA) {
        api_send_json(g->hs, body, "", "\n");
        ccai_http_stream_end(g->hs);
    } else {
        if (api_send_json(g->hs, body, "data: ", "\n\n"))
            ccai_http_stream_send(g->hs, "data: [DONE]\n\n", 14);
        ccai_http_stream_end(g->hs);
    }
    g->hs = NULL;
}

bool api_submit(api_call *c, api_gen *g, ccai_job *job, const char *ctype,
                const char *first_chunk)
{
    int running, queued;
    if (ccai_sched_full(c->srv->sched, &running, &queued)) {
        ccai_http_set_header(c->req, "Retry-After", "1");
        api_error(c, 503, NULL, NULL, "server busy: %d requests running and %d queued", running,
                  queued);
        goto fail;
    }
    if (g->stream) {
        if (ctype && !strcmp(ctype, "text/event-stream"))
            ccai_http_set_header(c->req, "Cache-Control", "no-cache");
        g->hs = ccai_http_stream_start(c->req, 200, ctype);
        if (g->hs && first_chunk)
            ccai_http_stream_send(g->hs, first_chunk, strlen(first_chunk));
    } else {
        g->hs = ccai_http_defer(c->req);
    }
    if (!g->hs) {
        api_error(c, 500, NULL, NULL, "internal error: the reply had already started");
        goto fail;
    }
    job->stream = g->hs;
    ccai_err err = {0};
    if (ccai_sched_submit(c->srv->sched, job, &err)) {
        int status = api_status_for(&err);
        api_answer_error(g, status, err.msg);
        log_call(c, g->stream ? 200 : status);
        goto fail;
    }
    return true;
fail:
    ccai_job_free(job);
    api_gen_free(g);
    return false;
}

bool api_gen_end_early(api_gen *g, const llm_gen_stats *st, const ccai_err *err)
{
    if (err) {
        int status = api_status_for(err);
        api_answer_error(g, status, err->msg);
        api_gen_finish(g, g->stream ? 200 : status, st);
        return true;
    }
    if (strcmp(st->done_reason, "cancel") != 0)
        return false;
    bool gone = ccai_http_stream_cancelled(g->hs);
    if (!gone)
        api_answer_error(g, 503, "the server is shutting down");
    else
        ccai_http_stream_end(g->hs); /* nobody listens any more */
    api_gen_finish(g, gone ? 499 : 503, st);
    return true;
}

void api_gen_finish(api_gen *g, int status, const llm_gen_stats *st)
{
    ccai_access_log(g->srv, "POST", g->path, status, api_mono_ns() - g->t0_ns, g->user_id,
                    st ? (long)st->n_prompt : -1, st ? (long)st->n_gen : -1);
    api_gen_free(g);
}

/* ---- text --------------------------------------------------------------------------------- */

/* The length of a well-formed UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

json_t *api_text(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    if (v)
        return v;
    ccai_buf b = {0};
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = u[i] ? utf8_seq(u + i, n - i) : 0;
        if (k) {
            ccai_buf_append(&b, u + i, k);
            i += k;
        } else {
            ccai_buf_append(&b, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    v = json_stringn(b.data ? (const char *)b.data : "", b.len);
    wipe_buf(&b);
    return v ? v : json_string("");
}
