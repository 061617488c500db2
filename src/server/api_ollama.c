/* The Ollama API (llm-facts §4; docs/api.md): /api/generate and /api/chat
 * (NDJSON streams, or one object with "stream": false), /api/tags,
 * /api/show, /api/ps and /api/version, with Ollama's field names and
 * shapes so that Ollama clients and open-webui work unchanged.
 *
 * Handlers run on the loop thread: they authenticate, parse and check the
 * request (4xx {"error": …} for anything wrong, never a crash), and hand a
 * job to the scheduler. The job's callbacks run on a worker: each piece of
 * text becomes one chunk, and the last chunk carries the statistics (real
 * nanoseconds). Prompt and answer text is never logged; the access log gets
 * token counts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/json.h"
#include "server/api_common.h"

#define NDJSON "application/x-ndjson"

/* ---- options ------------------------------------------------------------------------------ */

/* "options" (Ollama's runtime parameters) into the job. Known options of the
 * wrong type are refused; num_ctx, num_thread and the options ccai has no
 * use for (num_gpu, mirostat, ...) are accepted and ignored. */
static ccai_code parse_options(ccai_server *s, const json_t *opts, ccai_job *job, ccai_err *err)
{
    if (!opts || json_is_null(opts))
        return CCAI_OK;
    if (!json_is_object(opts))
        return ccai_fail(err, CCAI_ERR_ARG, "\"options\" must be an object, got %s",
                         ccai_json_kind(opts));
    llm_sampler_params *sp = &job->params.sampling;
    double d;
    long long n;
    bool have;
    ccai_code rc;
    if ((rc = api_get_number(opts, "temperature", -1e9, 1e9, &d, &have, err)))
        return rc;
    if (have)
        sp->temperature = d < 0 ? 0.0f : (float)d;
    if ((rc = api_get_int(opts, "top_k", -1000000000LL, 1000000000LL, &n, &have, err)))
        return rc;
    if (have)
        sp->top_k = (int)n;
    if ((rc = api_get_number(opts, "top_p", -1e9, 1e9, &d, &have, err)))
        return rc;
    if (have)
        sp->top_p = (float)d;
    if ((rc = api_get_number(opts, "min_p", -1e9, 1e9, &d, &have, err)))
        return rc;
    if (have)
        sp->min_p = (float)d;
    if ((rc = api_get_number(opts, "repeat_penalty", -1e9, 1e9, &d, &have, err)))
        return rc;
    if (have)
        sp->repeat_penalty = d > 0 ? (float)d : 1.0f; /* 0 or less: off */
    if ((rc = api_get_int(opts, "repeat_last_n", -1, 1000000000LL, &n, &have, err)))
        return rc;
    if (have)
        sp->repeat_last_n = (int)n;
    if ((rc = api_get_int(opts, "seed", INT64_MIN, INT64_MAX, &n, &have, err)))
        return rc;
    if (have && n >= 0)
        sp->seed = (uint64_t)n; /* negative: a random one, as Ollama */
    if ((rc = api_get_int(opts, "num_predict", INT64_MIN, INT64_MAX, &n, &have, err)))
        return rc;
    if (have)
        job->params.n_predict = api_cap_predict(s, n);
    if ((rc = api_get_int(opts, "num_ctx", 0, INT64_MAX, &n, &have, err)) ||
        (rc = api_get_int(opts, "num_thread", 0, INT64_MAX, &n, &have, err)))
        return rc;
    return api_parse_stop(json_object_get(opts, "stop"), "options.stop", &job->stop,
                          &job->n_stop, err);
}

/* What generate and chat share: format, think, keep_alive, options. */
static ccai_code parse_common(ccai_server *s, const json_t *body, api_gen *g, ccai_job *job,
                              ccai_err *err)
{
    const json_t *format = json_object_get(body, "format");
    if (format && !json_is_null(format)) {
        const char *f = json_string_value(format);
        if (json_is_object(format))
            return ccai_fail(err, CCAI_ERR_ARG, "\"format\": structured outputs (a JSON schema) "
                             "are not supported");
        /* "json" is accepted but not enforced: the prompt has to ask for it. */
        if (!f || (*f && strcmp(f, "json") != 0))
            return ccai_fail(err, CCAI_ERR_ARG, "\"format\" must be \"json\" or absent");
    }
    const json_t *think = json_object_get(body, "think");
    if (json_is_boolean(think)) {
        g->think = json_is_true(think) ? API_THINK_ON : API_THINK_OFF;
    } else if (json_is_string(think)) {
        /* Reasoning levels ("low", "medium", "high") are models' business:
         * any level asks for the reasoning apart. */
        g->think = API_THINK_ON;
    } else if (think && !json_is_null(think)) {
        return ccai_fail(err, CCAI_ERR_ARG, "\"think\" must be true or false, got %s",
                         ccai_json_kind(think));
    }
    bool stream = true;
    ccai_code rc = api_get_bool(body, "stream", &stream, NULL, err);
    if (rc)
        return rc;
    g->stream = stream;
    const json_t *ka = json_object_get(body, "keep_alive"); /* models stay loaded */
    if (ka && !json_is_null(ka) && !json_is_string(ka) && !json_is_number(ka))
        return ccai_fail(err, CCAI_ERR_ARG, "\"keep_alive\" must be a duration or a number");
    return parse_options(s, json_object_get(body, "options"), job, err);
}

/* ---- answers (worker) --------------------------------------------------------------------- */

static void add_text(json_t *o, const char *key, const ccai_buf *b)
{
    json_object_set_new(o, key, api_text(b->data ? (const char *)b->data : "", b->len));
}

/* The part every chunk starts with. */
static json_t *chunk_head(const api_gen *g)
{
    char now[48];
    api_time_now(now);
    return json_pack("{s:o,s:s}", "model", api_text(g->model_name, strlen(g->model_name)),
                     "created_at", now);
}

static bool is_chat(const api_gen *g)
{
    return !strcmp(g->path, "/api/chat");
}

/* A chunk's text: the response (generate) or the assistant message (chat). */
static void set_text(const api_gen *g, json_t *o, const ccai_buf *content, const ccai_buf *thinking)
{
    if (is_chat(g)) {
        json_t *msg = json_pack("{s:s}", "role", "assistant");
        add_text(msg, "content", content);
        if (thinking && thinking->len)
            add_text(msg, "thinking", thinking);
        json_object_set_new(o, "message", msg);
    } else {
        add_text(o, "response", content);
        if (thinking && thinking->len)
            add_text(o, "thinking", thinking);
    }
}

static bool ollama_emit(void *arg, const char *text, size_t n, bool thinking)
{
    api_gen *g = arg;
    if (thinking && g->think == API_THINK_OFF)
        return true; /* asked for none: dropped */
    ccai_buf piece = {0};
    if (g->open_think && !thinking) {
        ccai_buf_append_str(&piece, "<think>\n");
        g->open_think = false;
    }
    ccai_buf_append(&piece, text, n);
    if (!g->stream) {
        ccai_buf *to = thinking ? &g->thinking : &g->content;
        ccai_buf_append(to, piece.data, piece.len);
        ccai_wipe(piece.data, piece.len);
        ccai_buf_free(&piece);
        return true;
    }
    json_t *o = chunk_head(g);
    ccai_buf none = {0};
    set_text(g, o, thinking ? &none : &piece, thinking ? &piece : NULL);
    json_object_set_new(o, "done", json_false());
    ccai_wipe(piece.data, piece.len);
    ccai_buf_free(&piece);
    return api_send_json(g->hs, o, "", "\n");
}

static void add_stats(json_t *o, const api_gen *g, const llm_gen_stats *st)
{
    uint64_t total = api_mono_ns() - g->t0_ns;
    uint64_t work = st->prompt_ns + st->gen_ns;
    /* load_duration: everything before the prompt's evaluation (queue,
     * model load, tokenizing). */
    uint64_t load = total > work ? total - work : 1;
    json_object_set_new(o, "done_reason", json_string(st->done_reason));
    json_object_set_new(o, "total_duration", json_integer((json_int_t)total));
    json_object_set_new(o, "load_duration", json_integer((json_int_t)load));
    json_object_set_new(o, "prompt_eval_count", json_integer((json_int_t)st->n_prompt));
    json_object_set_new(o, "prompt_eval_duration", json_integer((json_int_t)st->prompt_ns));
    json_object_set_new(o, "eval_count", json_integer((json_int_t)st->n_gen));
    json_object_set_new(o, "eval_duration", json_integer((json_int_t)st->gen_ns));
}

static void ollama_done(ccai_job *job, const llm_gen_stats *st, const ccai_err *err)
{
    api_gen *g = job->arg;
    if (api_gen_end_early(g, st, err))
        return;
    if (g->open_think && !g->stream && g->content.len == 0 && g->thinking.len == 0)
        g->open_think = false;
    json_t *o = chunk_head(g);
    if (g->stream) {
        ccai_buf none = {0};
        set_text(g, o, &none, NULL);
    } else {
        set_text(g, o, &g->content, &g->thinking);
    }
    json_object_set_new(o, "done", json_true());
    add_stats(o, g, st);
    if (g->stream) {
        api_send_json(g->hs, o, "", "\n");
        ccai_http_stream_end(g->hs);
    } else {
        ccai_http_stream_reply_json(g->hs, 200, o);
        api_json_wipe_free(o);
    }
    g->hs = NULL;
    api_gen_finish(g, 200, st);
}

/* ---- /api/generate and /api/chat ---------------------------------------------------------- */

/* The model a body names ("model", or Ollama's older "name"), or an answer
 * given (NULL). */
static ccai_model *body_model(api_call *c, const json_t *body, const char **name)
{
    ccai_err err = {0};
    const char *m = NULL;
    if (api_get_string(body, "model", &m, NULL, &err) ||
        (!m && api_get_string(body, "name", &m, NULL, &err))) {
        api_error(c, 400, "model", NULL, "%s", err.msg);
        return NULL;
    }
    if (!m || !*m) {
        api_error(c, 400, "model", NULL, "model is required");
        return NULL;
    }
    ccai_model *model = ccai_models_find(c->srv, m);
    if (!model) {
        api_error(c, 404, "model", "model_not_found", "model '%.*s' not found", API_MAX_NAME, m);
        return NULL;
    }
    *name = m;
    return model;
}

/* A request with nothing to generate: Ollama answers at once ("load"). */
static void reply_load(api_call *c, const char *name, bool chat)
{
    char now[48];
    api_time_now(now);
    json_t *o = json_pack("{s:o,s:s}", "model", api_text(name, strlen(name)), "created_at", now);
    if (chat)
        json_object_set_new(o, "message",
                            json_pack("{s:s,s:s}", "role", "assistant", "content", ""));
    else
        json_object_set_new(o, "response", json_string(""));
    json_object_set_new(o, "done_reason", json_string("load"));
    json_object_set_new(o, "done", json_true());
    api_reply(c, o);
}

static bool nonempty_array(const json_t *v)
{
    return v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0);
}

/* The prompt part of /api/generate into g; a 4xx answered means false. */
static bool generate_prompt(api_call *c, const json_t *body, api_gen *g, bool *empty)
{
    ccai_err err = {0};
    const char *prompt, *system, *tmpl, *suffix;
    size_t plen;
    bool raw = false;
    if (api_get_string(body, "prompt", &prompt, &plen, &err) ||
        api_get_string(body, "system", &system, NULL, &err) ||
        api_get_string(body, "template", &tmpl, NULL, &err) ||
        api_get_string(body, "suffix", &suffix, NULL, &err) ||
        api_get_bool(body, "raw", &raw, NULL, &err)) {
        api_error(c, 400, NULL, NULL, "%s", err.msg);
        return false;
    }
    if (tmpl && *tmpl) {
        api_error(c, 400, "template", NULL, "\"template\": custom prompt templates are not "
                  "supported (the model's chat format is used; or send \"raw\": true)");
        return false;
    }
    if (suffix && *suffix) {
        api_error(c, 400, "suffix", NULL, "\"suffix\" (fill-in-the-middle) is not supported");
        return false;
    }
    if (nonempty_array(json_object_get(body, "images"))) {
        api_error(c, 400, "images", NULL, "images are not supported (no vision models)");
        return false;
    }
    if (nonempty_array(json_object_get(body, "context"))) {
        api_error(c, 400, "context", NULL, "\"context\" is not supported: use /api/chat for "
                  "conversations");
        return false;
    }
    *empty = !prompt || !*prompt;
    if (*empty)
        return true;
    g->raw = raw;
    if (raw) {
        g->text = ccai_xstrndup(prompt, plen);
        g->text_len = plen;
        return true;
    }
    g->msgs = ccai_xcalloc(2, sizeof *g->msgs);
    if (system && *system)
        g->msgs[g->n_msgs++] = (llm_chat_msg){ccai_xstrdup("system"), ccai_xstrdup(system)};
    g->msgs[g->n_msgs++] = (llm_chat_msg){ccai_xstrdup("user"), ccai_xstrndup(prompt, plen)};
    return true;
}

/* The prompt part of /api/chat into g; a 4xx answered means false. */
static bool chat_prompt(api_call *c, const json_t *body, api_gen *g, bool *empty)
{
    if (nonempty_array(json_object_get(body, "tools"))) {
        api_error(c, 400, "tools", NULL, "tools are not supported");
        return false;
    }
    const json_t *msgs = json_object_get(body, "messages");
    *empty = !msgs || json_is_null(msgs) || (json_is_array(msgs) && !json_array_size(msgs));
    if (*empty)
        return true;
    ccai_err err = {0};
    const char *param;
    if (api_parse_messages(msgs, API_OLLAMA, &g->msgs, &g->n_msgs, &param, &err)) {
        api_error(c, 400, param, NULL, "%s", err.msg);
        return false;
    }
    return true;
}

static void handle_gen(ccai_http_req *req, ccai_server *s, bool chat)
{
    api_call c;
    if (!api_call_begin(&c, s, req, API_OLLAMA, chat ? "/api/chat" : "/api/generate", true))
        return;
    json_t *body;
    if (!api_parse_body(&c, &body))
        return;
    const char *name;
    ccai_model *m = body_model(&c, body, &name);
    if (!m) {
        api_json_wipe_free(body);
        return;
    }
    api_gen *g = api_gen_new(&c, m, name);
    ccai_job *job = api_job_new(g, ollama_emit, ollama_done);
    ccai_err err = {0};
    bool empty = false;
    if (parse_common(s, body, g, job, &err)) {
        api_error(&c, 400, NULL, NULL, "%s", err.msg);
        goto fail;
    }
    if (!(chat ? chat_prompt(&c, body, g, &empty) : generate_prompt(&c, body, g, &empty)))
        goto fail;
    if (empty) {
        reply_load(&c, g->model_name, chat);
        goto fail;
    }
    api_json_wipe_free(body);
    api_submit(&c, g, job, NDJSON, NULL);
    return;
fail:
    api_json_wipe_free(body);
    ccai_job_free(job);
    api_gen_free(g);
}

static void on_generate(ccai_http_req *req, void *arg)
{
    handle_gen(req, arg, false);
}

static void on_chat(ccai_http_req *req, void *arg)
{
    handle_gen(req, arg, true);
}

/* ---- models ------------------------------------------------------------------------------- */

static const char *str_or(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

static json_t *model_details(const ccai_model *m)
{
    const char *family = str_or(m->family, "");
    return json_pack("{s:s,s:s,s:s,s:[s],s:s,s:s}", "parent_model", "", "format", "gguf",
                     "family", family, "families", family, "parameter_size",
                     str_or(m->parameter_size, ""), "quantization_level",
                     str_or(m->quantization, ""));
}

/* The fields /api/tags and /api/ps share. */
static json_t *model_entry(const ccai_model *m)
{
    char digest[65];
    ccai_hex_encode(m->sha256, 32, digest);
    json_t *name = api_text(m->name, strlen(m->name));
    return json_pack("{s:O,s:o,s:I,s:s,s:o}", "name", name, "model", name, "size",
                     (json_int_t)m->size, "digest", digest, "details", model_details(m));
}

/* The engine when the model is loaded. Read without the registry lock,
 * which a model being loaded holds for long: the pointer is set once. */
static llm_engine *loaded_engine(const ccai_model *m)
{
    return __atomic_load_n(&m->engine, __ATOMIC_ACQUIRE);
}

static void on_tags(ccai_http_req *req, void *arg)
{
    api_call c;
    if (!api_call_begin(&c, arg, req, API_OLLAMA, "/api/tags", true))
        return;
    json_t *list = json_array();
    for (size_t i = 0; i < c.srv->n_models; i++) {
        const ccai_model *m = &c.srv->models[i];
        json_t *e = model_entry(m);
        char when[48];
        api_time_at(m->modified, when);
        json_object_set_new(e, "modified_at", json_string(when));
        json_array_append_new(list, e);
    }
    api_reply(&c, json_pack("{s:o}", "models", list));
}

static uint32_t context_length(const ccai_server *s, const llm_engine *e)
{
    uint32_t train = e->model->hp.n_ctx_train;
    if (s->cfg->n_ctx)
        return s->cfg->n_ctx;
    return train && train < 4096 ? train : 4096;
}

static void on_ps(ccai_http_req *req, void *arg)
{
    api_call c;
    if (!api_call_begin(&c, arg, req, API_OLLAMA, "/api/ps", true))
        return;
    json_t *list = json_array();
    for (size_t i = 0; i < c.srv->n_models; i++) {
        const ccai_model *m = &c.srv->models[i];
        const llm_engine *e = loaded_engine(m);
        if (!e)
            continue;
        json_t *o = model_entry(m);
        /* Models stay loaded until the server stops. */
        json_object_set_new(o, "expires_at", json_string("2318-01-01T00:00:00Z"));
        json_object_set_new(o, "size_vram", json_integer(0));
        json_object_set_new(o, "context_length", json_integer(context_length(c.srv, e)));
        json_array_append_new(list, o);
    }
    int running = 0, queued = 0;
    if (c.srv->sched)
        ccai_sched_stats(c.srv->sched, &running, &queued);
    api_reply(&c, json_pack("{s:o,s:{s:i,s:i}}", "models", list, "ccai", "running", running,
                            "queued", queued));
}

/* One metadata value for model_info: numbers, booleans and strings as they
 * are; arrays (the vocabulary) as null, as Ollama does without "verbose". */
static json_t *kv_json(const gguf_value *v)
{
    switch (v->type) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_UINT64: return json_integer((json_int_t)v->u);
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_INT16:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_INT64: return json_integer((json_int_t)v->i);
    case GGUF_TYPE_FLOAT32:
    case GGUF_TYPE_FLOAT64: return isfinite(v->f) ? json_real(v->f) : json_null();
    case GGUF_TYPE_BOOL: return json_boolean(v->u != 0);
    case GGUF_TYPE_STRING: return api_text(v->s.ptr, (size_t)v->s.len);
    default: return json_null();
    }
}

static json_t *model_info(const gguf_file *f)
{
    json_t *info = json_object();
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];
        char *key = gguf_strdup(kv->key);
        /* A key that is not UTF-8 is refused by jansson (and left out). */
        if (strcmp(key, "tokenizer.chat_template") != 0)
            json_object_set_new(info, key, kv_json(&kv->val));
        free(key);
    }
    if (!json_object_get(info, "general.parameter_count")) {
        uint64_t n = 0;
        for (uint64_t i = 0; i < f->n_tensors; i++)
            n += f->tensors[i].n_elements;
        json_object_set_new(info, "general.parameter_count", json_integer((json_int_t)n));
    }
    return info;
}

static void on_show(ccai_http_req *req, void *arg)
{
    api_call c;
    if (!api_call_begin(&c, arg, req, API_OLLAMA, "/api/show", true))
        return;
    json_t *body;
    if (!api_parse_body(&c, &body))
        return;
    const char *name;
    ccai_model *m = body_model(&c, body, &name);
    json_decref(body);
    if (!m)
        return;
    /* Only the metadata is read: a model not loaded yet is not used here. */
    const llm_engine *e = loaded_engine(m);
    gguf_file *own = NULL;
    ccai_err err = {0};
    if (!e && gguf_open(m->path, &own, &err)) {
        api_error(&c, 500, NULL, NULL, "cannot read the model's metadata: %s", err.msg);
        return;
    }
    const gguf_file *f = e ? e->model->file : own;
    gguf_str t = {0};
    char *tmpl = gguf_get_str(f, "tokenizer.chat_template", &t, NULL) ? ccai_xstrdup("")
                                                                       : gguf_strdup(t);
    llm_chat_format fmt = e ? e->chat : llm_chat_detect(tmpl);
    ccai_buf params = {0};
    for (const char *const *stop = llm_chat_stop_strings(fmt); *stop; stop++) {
        char line[600];
        snprintf(line, sizeof line, "stop                           \"%s\"\n", *stop);
        ccai_buf_append_str(&params, line);
    }
    char *modelfile = ccai_xasprintf("# Modelfile generated by \"ccai serve\"\n"
                                     "FROM %s\n\n# chat format: %s\n",
                                     m->name, llm_chat_format_name(fmt));
    char when[48];
    api_time_at(m->modified, when);
    json_t *caps = json_pack("[s]", "completion");
    if (fmt == LLM_CHAT_DEEPSEEK_R1)
        json_array_append_new(caps, json_string("thinking"));
    json_t *o = json_object();
    json_object_set_new(o, "modelfile", api_text(modelfile, strlen(modelfile)));
    json_object_set_new(o, "parameters",
                        api_text(params.data ? (const char *)params.data : "", params.len));
    json_object_set_new(o, "template", api_text(tmpl, strlen(tmpl)));
    json_object_set_new(o, "details", model_details(m));
    json_object_set_new(o, "model_info", model_info(f));
    json_object_set_new(o, "capabilities", caps);
    json_object_set_new(o, "modified_at", json_string(when));
    free(modelfile);
    free(tmpl);
    ccai_buf_free(&params);
    gguf_close(own);
    api_reply(&c, o);
}

static void on_version(ccai_http_req *req, void *arg)
{
    api_call c;
    if (!api_call_begin(&c, arg, req, API_OLLAMA, "/api/version", false))
        return;
    api_reply(&c, json_pack("{s:s}", "version", CCAI_SERVER_VERSION_API));
}

ccai_code ccai_api_ollama_register(ccai_server *s, ccai_err *err)
{
    static const struct {
        const char *method, *path;
        ccai_http_handler fn;
    } routes[] = {
        {"POST", "/api/generate", on_generate}, {"POST", "/api/chat", on_chat},
        {"GET", "/api/tags", on_tags},          {"POST", "/api/show", on_show},
        {"GET", "/api/ps", on_ps},              {"GET", "/api/version", on_version},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        ccai_code rc = ccai_http_route(s->http, routes[i].method, routes[i].path, routes[i].fn, s,
                                       err);
        if (rc)
            return rc;
    }
    return CCAI_OK;
}
