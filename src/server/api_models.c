/* The model store over HTTP (server.h "api_models.c", docs/store.md):
 *
 *   POST   /api/pull   {model, stream}  admin: pulls into the store, streaming
 *                      Ollama's NDJSON progress ({status, digest, total,
 *                      completed}), then registers the model with this server
 *   DELETE /api/delete {model}          admin: removes a model from the store
 *
 * A pull runs on its own thread (downloads take minutes; the loop must not
 * wait). When the model is installed, the thread opens and hashes the GGUF
 * (ccai_model_open) and hands it to the loop thread, which registers it
 * (ccai_models_insert) and only then answers "success": a client that sees
 * success finds the model in /api/tags. It is measured into RTMR3 by
 * ccai_models_load before its first use, like every model (nothing loads
 * unmeasured). A model the server has registered is not deleted (409): its
 * measurement stays in the event log and workers may hold it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/codec.h"
#include "base/mem.h"
#include "server/api_common.h"
#include "store/store.h"

enum { MAX_PULLS = 4 };                 /* in flight at once */
enum { PROGRESS_EVERY_NS = 250000000 }; /* a blob's progress lines at most this often */

typedef struct pull_job {
    ccai_server *s;
    char *what;
    bool stream;
    ccai_http_stream *hs;
    pthread_t th;
    int64_t user_id;
    uint64_t t0_ns;
    uint64_t last_ns;
    ccai_model m; /* opened and hashed, for the loop to insert */
    bool done;    /* atomic: the job may be reaped */
    struct pull_job *next;
} pull_job;

typedef struct models_state {
    pull_job *jobs; /* loop thread (and free, after the loop) */
    bool stopping;  /* atomic */
} models_state;

static bool is_done(pull_job *j)
{
    return __atomic_load_n(&j->done, __ATOMIC_ACQUIRE);
}

static void set_done(pull_job *j)
{
    __atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
}

static void job_free(pull_job *j)
{
    ccai_model_release(&j->m);
    free(j->what);
    free(j);
}

static void send_json(pull_job *j, json_t *o)
{
    char *t = json_dumps(o, JSON_COMPACT);
    if (t) {
        size_t n = strlen(t);
        t[n] = '\n';
        ccai_http_stream_send(j->hs, t, n + 1);
        free(t);
    }
    json_decref(o);
}

/* Ends the request with an error (any thread) and logs it. */
static void finish_error(pull_job *j, int status, const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    if (j->stream) {
        send_json(j, o);
        ccai_http_stream_end(j->hs);
    } else {
        ccai_http_stream_reply_json(j->hs, status, o);
        json_decref(o);
    }
    j->hs = NULL;
    ccai_access_log(j->s, "POST", "/api/pull", j->stream ? 200 : status, ccai_now_ns() - j->t0_ns,
                    j->user_id, -1, -1);
}

static bool on_progress(void *arg, const store_progress *p)
{
    pull_job *j = arg;
    models_state *ms = j->s->models_state;
    if (__atomic_load_n(&ms->stopping, __ATOMIC_ACQUIRE) || ccai_http_stream_cancelled(j->hs))
        return false;
    if (!j->stream || !strcmp(p->status, "success")) /* success: once registered */
        return true;
    if (!p->digest) {
        send_json(j, json_pack("{s:s}", "status", p->status));
        return true;
    }
    uint64_t now = ccai_now_ns();
    if (p->completed != 0 && p->completed != p->total && now - j->last_ns < PROGRESS_EVERY_NS)
        return true;
    j->last_ns = now;
    send_json(j, json_pack("{s:s, s:s, s:I, s:I}", "status", p->status, "digest", p->digest,
                           "total", (json_int_t)p->total, "completed", (json_int_t)p->completed));
    return true;
}

static int status_of(ccai_code rc)
{
    return rc == CCAI_ERR_ARG         ? 400
           : rc == CCAI_ERR_NOT_FOUND ? 404
           : rc == CCAI_ERR_BUSY      ? 409
           : rc == CCAI_ERR_NET       ? 502 /* the registry's failure, not ours: */
           : rc == CCAI_ERR_VERIFY    ? 502 /* unreachable, an error, a corrupt blob */
                                      : 500;
}

/* Loop thread: registers the pulled model, then answers success. */
static void register_on_loop(void *arg)
{
    pull_job *j = arg;
    ccai_model *have = ccai_models_find(j->s, j->m.name);
    ccai_err err = {0};
    if (have && memcmp(have->sha256, j->m.sha256, 32) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg,
                 "model %s is pulled, but this server already serves another "
                 "model under that name; restart ccai serve to serve the new one",
                 j->m.name);
        finish_error(j, 409, msg);
    } else if (!have && ccai_models_insert(j->s, &j->m, &err)) {
        finish_error(j, 500, err.msg);
    } else {
        json_t *o = json_pack("{s:s}", "status", "success");
        if (j->stream) {
            send_json(j, o);
            ccai_http_stream_end(j->hs);
        } else {
            ccai_http_stream_reply_json(j->hs, 200, o);
            json_decref(o);
        }
        j->hs = NULL;
        ccai_access_log(j->s, "POST", "/api/pull", 200, ccai_now_ns() - j->t0_ns, j->user_id, -1,
                        -1);
    }
    set_done(j);
}

static void *pull_thread(void *arg)
{
    pull_job *j = arg;
    ccai_err err = {0};
    store *st = NULL;
    char *name = NULL, *path = NULL;
    store_entry e = {0};
    store_pull_opts o = {.retries = -1, .progress = on_progress, .arg = j};
    ccai_code rc = store_open(NULL, &st, &err);
    if (!rc)
        rc = store_pull(st, j->what, &o, &name, &err);
    if (!rc)
        rc = store_find(st, name, &e, &err);
    if (!rc)
        rc = store_model_path(&e, &path, &err);
    if (!rc)
        rc = ccai_model_open(path, e.name, &j->m, &err);
    if (!rc) {
        /* What is registered (and later measured) is what this pull verified:
         * a blob swapped on disk since is refused, not served by its name. */
        char hex[65];
        ccai_hex_encode(j->m.sha256, 32, hex);
        const char *want = e.man.layers[e.man.model].digest;
        if (strcmp(want + 7, hex) != 0)
            rc = ccai_fail(&err, CCAI_ERR_VERIFY,
                           "model %s: its GGUF blob changed after the pull: expected %s, found "
                           "sha256:%s",
                           e.name, want, hex);
    }
    store_entry_free(&e);
    store_close(st);
    free(name);
    free(path);
    if (rc) {
        finish_error(j, status_of(rc), err.msg);
        set_done(j);
    } else if (!ccai_http_server_call(j->s->http, register_on_loop, j)) {
        finish_error(j, 503, "the server is stopping");
        set_done(j);
    }
    return NULL;
}

/* Joins and frees the pulls that have ended (loop thread). */
static size_t reap(models_state *ms)
{
    size_t running = 0;
    for (pull_job **pp = &ms->jobs; *pp;) {
        pull_job *j = *pp;
        if (is_done(j)) {
            pthread_join(j->th, NULL);
            *pp = j->next;
            job_free(j);
        } else {
            running++;
            pp = &j->next;
        }
    }
    return running;
}

static const char *body_name(api_call *c, const json_t *body)
{
    const char *name = NULL;
    size_t len = 0;
    ccai_err err = {0};
    if (api_get_string(body, "model", &name, &len, &err) ||
        (!name && api_get_string(body, "name", &name, &len, &err))) {
        api_error(c, 400, "model", NULL, "%s", err.msg);
        return NULL;
    }
    if (!name || !*name) {
        api_error(c, 400, "model", NULL, "missing 'model'");
        return NULL;
    }
    if (len > 2048) {
        api_error(c, 400, "model", NULL, "'model' is longer than 2048 bytes");
        return NULL;
    }
    return name;
}

/* Admin only: answers 401/403 itself. */
static bool begin_admin(api_call *c, ccai_server *s, ccai_http_req *req, const char *path)
{
    memset(c, 0, sizeof *c);
    c->srv = s;
    c->req = req;
    c->flavor = API_OLLAMA;
    c->path = path;
    c->t0_ns = ccai_now_ns();
    return ccai_auth_require(s, req, CCAI_ROLE_ADMIN, &c->who);
}

static void on_pull(ccai_http_req *req, void *arg)
{
    ccai_server *s = arg;
    models_state *ms = s->models_state;
    api_call c;
    json_t *body = NULL;
    if (!begin_admin(&c, s, req, "/api/pull") || !api_parse_body(&c, &body))
        return;
    const char *what = body_name(&c, body);
    bool stream = true, present;
    ccai_err err = {0};
    store_name n;
    if (what && api_get_bool(body, "stream", &stream, &present, &err)) {
        api_error(&c, 400, "stream", NULL, "%s", err.msg);
        what = NULL;
    } else if (what && strncasecmp(what, "http://", 7) && strncasecmp(what, "https://", 8) &&
               store_name_parse(what, &n, &err)) {
        api_error(&c, 400, "model", NULL, "%s", err.msg);
        what = NULL;
    } else if (what && reap(ms) >= MAX_PULLS) {
        api_error(&c, 503, NULL, NULL, "%d pulls are in flight; try again later", MAX_PULLS);
        what = NULL;
    }
    if (!what) {
        json_decref(body);
        return;
    }
    pull_job *j = ccai_xcalloc(1, sizeof *j);
    j->s = s;
    j->what = ccai_xstrdup(what);
    j->stream = stream;
    j->user_id = c.who.id;
    j->t0_ns = c.t0_ns;
    j->m.fd = -1;
    json_decref(body);
    j->hs =
        stream ? ccai_http_stream_start(req, 200, "application/x-ndjson") : ccai_http_defer(req);
    if (pthread_create(&j->th, NULL, pull_thread, j) != 0) {
        finish_error(j, 500, "cannot start a pull thread");
        job_free(j);
        return;
    }
    j->next = ms->jobs;
    ms->jobs = j;
}

static void on_delete(ccai_http_req *req, void *arg)
{
    ccai_server *s = arg;
    api_call c;
    json_t *body = NULL;
    if (!begin_admin(&c, s, req, "/api/delete") || !api_parse_body(&c, &body))
        return;
    const char *name = body_name(&c, body);
    if (!name) {
        json_decref(body);
        return;
    }
    ccai_err err = {0};
    store *st = NULL;
    ccai_code rc;
    /* Served names are short ("tiny:latest"): a long spelling of the same
     * name ("registry.ollama.ai/library/tiny") must find them too. */
    store_name n;
    char shown[600] = "";
    if (store_name_parse(name, &n, NULL) == CCAI_OK)
        store_name_format(&n, shown, sizeof shown);
    if (ccai_models_find(s, name) || (shown[0] && ccai_models_find(s, shown))) {
        api_error(&c, 409, "model", NULL,
                  "model '%s' is served (and measured) by this server; it can be deleted after "
                  "a restart without it",
                  name);
    } else if ((rc = store_open(NULL, &st, &err)) || (rc = store_remove(st, name, &err))) {
        api_error(&c, status_of(rc), "model", NULL, "%s", err.msg);
    } else {
        api_reply(&c, json_object());
    }
    store_close(st);
    json_decref(body);
}

ccai_code ccai_api_models_register(ccai_server *s, ccai_err *err)
{
    s->models_state = ccai_xcalloc(1, sizeof(models_state));
    ccai_code rc = ccai_http_route(s->http, "POST", "/api/pull", on_pull, s, err);
    if (!rc)
        rc = ccai_http_route(s->http, "DELETE", "/api/delete", on_delete, s, err);
    return rc;
}

void ccai_api_models_free(ccai_server *s)
{
    models_state *ms = s->models_state;
    if (!ms)
        return;
    __atomic_store_n(&ms->stopping, true, __ATOMIC_RELEASE);
    while (ms->jobs) {
        pull_job *j = ms->jobs;
        pthread_join(j->th, NULL);
        if (!is_done(j) && j->hs) /* handed to a loop that no longer runs */
            finish_error(j, 503, "the server stopped");
        ms->jobs = j->next;
        job_free(j);
    }
    free(ms);
    s->models_state = NULL;
}
