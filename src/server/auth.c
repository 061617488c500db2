/* Who may call what (server.h "auth.c"; docs/serve.md "Authentication").
 *
 * Callers prove themselves with an API key (Authorization: Bearer ccai_...)
 * or a browser session cookie (ccai_session, HttpOnly; Secure;
 * SameSite=Strict), both checked by accounts.h. With --auth off (loopback
 * only) every caller is an anonymous admin. Routes:
 *
 *   POST   /api/login              {"username","password"} -> session cookie
 *   POST   /api/logout             ends the session, clears the cookie
 *   GET    /api/me                 the caller
 *   POST   /api/me/password        {password, new_password}: one's own; ends
 *                                  one's sessions, clears the cookie
 *   POST   /api/admin/users/<name>/password {password}: an admin sets it;
 *                                  ends that user's sessions
 *   GET    /api/admin/users        POST {name, password, role}
 *   DELETE /api/admin/users/<name>
 *   GET    /api/admin/keys         POST {user?, label} -> the key, shown once
 *   DELETE /api/admin/keys/<id>
 *   GET    /api/keys               POST {label}; DELETE /api/keys/<id>: one's own keys
 *
 * Password work (Argon2id, ~70 ms and 64 MiB) stays off the event loop: a
 * login, a user creation and a password change or reset each hand it to a
 * worker thread (at most
 * MAX_WORKERS at once, so at most that many 64 MiB Argon2 buffers; one more
 * gets 503 with Retry-After), which answers through a deferred reply, the
 * session cookie included. Logins are also limited per client address (10 a
 * minute) and overall (5 a second, bursts of 20). Secrets taken from
 * request bodies are wiped once used; none is logged. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "base/workers.h"
#include "server/server.h"

enum {
    SESSION_TTL_S = 12 * 3600,
    LOGIN_PER_MINUTE = 10,    /* per client address */
    LOGIN_ALL_PER_MINUTE = 300, /* every client together: bounds the workers' Argon2 time */
    LOGIN_ALL_BURST = 20,
    MAX_WORKERS = 4,          /* password jobs (pw_job) hashing at once */
};

typedef struct auth_state {
    ccai_ratelimit *login_rl, *login_all;
    ccai_workers workers; /* password work (pw_job) */
} auth_state;

typedef enum { VIA_NONE, VIA_OFF, VIA_KEY, VIA_SESSION } auth_via;

/* ---- helpers ---------------------------------------------------------------------- */

static int status_for(ccai_code c)
{
    switch (c) {
    case CCAI_ERR_ARG: case CCAI_ERR_PARSE: return 400;
    case CCAI_ERR_VERIFY: return 401;
    case CCAI_ERR_NOT_FOUND: return 404;
    case CCAI_ERR_STATE: return 409;
    default: return 500;
    }
}

/* Wipes a string jansson holds (a password or token from a request body). */
static void wipe_json_string(json_t *v)
{
    if (json_is_string(v))
        ccai_wipe((void *)(uintptr_t)json_string_value(v), json_string_length(v));
}

static json_t *user_json(const ccai_user *u)
{
    const char *role = ccai_role_name(u->role);
    return json_pack("{s:I, s:s, s:s}", "id", (json_int_t)u->id, "name", u->name, "role",
                     role ? role : "unknown");
}

static json_t *time_json(int64_t t)
{
    char buf[32];
    if (t <= 0)
        return json_null();
    ccai_time_format((time_t)t, buf);
    return json_string(buf);
}

/* The request body as a JSON object, or NULL after answering 400. */
static json_t *body_object(ccai_http_req *req, const char *shape)
{
    size_t len = 0;
    const uint8_t *body = ccai_http_body(req, &len);
    json_t *j = NULL;
    ccai_err err = {0};
    if (ccai_json_parse((const char *)body, len, &j, &err) || !json_is_object(j)) {
        ccai_http_reply_error(req, 400, "expected a JSON object %s%s%s", shape,
                              err.msg[0] ? ": " : "", err.msg);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* An optional string member: NULL when absent; false (after 400) when not a string. */
static bool opt_string(ccai_http_req *req, const json_t *obj, const char *key, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        ccai_http_reply_error(req, 400, "\"%s\": expected a string, found %s", key,
                              ccai_json_kind(v));
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static void log_req(ccai_server *s, ccai_http_req *req, int status, uint64_t t0, int64_t uid)
{
    ccai_access_log(s, ccai_http_method(req), ccai_http_path(req), status, ccai_now_ns() - t0, uid,
                    -1, -1);
}

static void reply_code(ccai_http_req *req, const ccai_err *err, int *status)
{
    *status = status_for(err->code);
    ccai_http_reply_error(req, *status, "%s", err->msg);
}

/* ---- authentication --------------------------------------------------------------- */

/* A cookie-authenticated request that changes something must come from this
 * origin (defence in depth behind SameSite=Strict). */
static bool same_origin(ccai_server *s, ccai_http_req *req)
{
    const char *m = ccai_http_method(req), *origin = ccai_http_header(req, "Origin");
    if (!origin || !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS"))
        return true;
    const char *host = ccai_http_header(req, "Host");
    if (!host)
        return false;
    char want[512];
    snprintf(want, sizeof want, "%s://%s", s->tls ? "https" : "http", host);
    return strcasecmp(origin, want) == 0;
}

/* With --auth off (loopback only) every caller is an admin, so a browser on
 * this machine must not be made to call in: a request that changes
 * something from another origin is refused, and so is a Host that is not a
 * loopback name (a DNS-rebinding page reaches 127.0.0.1 under its own name,
 * and its Origin then matches its Host). */
static bool loopback_host(ccai_http_req *req)
{
    const char *host = ccai_http_header(req, "Host");
    if (!host)
        return true; /* not a browser */
    size_t n = strcspn(host, ":");
    if (host[0] == '[')
        return strncasecmp(host, "[::1]", 5) == 0 && (host[5] == '\0' || host[5] == ':');
    return (n == 9 && !strncasecmp(host, "localhost", 9)) ||
           (n >= 7 && n <= 15 && !strncmp(host, "127.", 4) &&
            strspn(host, "0123456789.") == n);
}

static auth_via authenticate(ccai_server *s, ccai_http_req *req, ccai_user *who)
{
    memset(who, 0, sizeof *who);
    if (!s->cfg->auth) {
        who->id = 0;
        snprintf(who->name, sizeof who->name, "anonymous");
        who->role = CCAI_ROLE_ADMIN;
        return VIA_OFF;
    }
    if (!s->acc)
        return VIA_NONE; /* auth on but no accounts: fail closed */
    const char *authz = ccai_http_header(req, "Authorization");
    if (authz) {
        /* A credential that was sent and is wrong never falls back to the cookie. */
        char key[CCAI_KEY_LEN + 1];
        bool ok = ccai_accounts_bearer_key(authz, key, NULL) == CCAI_OK &&
                  ccai_accounts_key_check(s->acc, key, who, NULL) == CCAI_OK;
        ccai_wipe(key, sizeof key);
        return ok ? VIA_KEY : VIA_NONE;
    }
    const char *cookie = ccai_http_header(req, "Cookie");
    if (cookie) {
        char token[CCAI_SESSION_TOKEN_LEN + 1];
        bool ok = ccai_accounts_cookie_token(cookie, token, NULL) == CCAI_OK &&
                  ccai_accounts_session_check(s->acc, token, time(NULL), who, NULL) == CCAI_OK;
        ccai_wipe(token, sizeof token);
        return ok ? VIA_SESSION : VIA_NONE;
    }
    return VIA_NONE;
}

static bool require(ccai_server *s, ccai_http_req *req, int min_role, ccai_user *who,
                    auth_via *via_out)
{
    uint64_t t0 = ccai_now_ns();
    auth_via via = authenticate(s, req, who);
    if (via_out)
        *via_out = via;
    int status = 0;
    if (via == VIA_NONE) {
        ccai_http_set_header(req, "WWW-Authenticate", "Bearer realm=\"ccai\"");
        ccai_http_reply_error(req, status = 401, "authentication required");
    } else if ((via == VIA_SESSION || via == VIA_OFF) && !same_origin(s, req)) {
        ccai_http_reply_error(req, status = 403, "cross-origin request refused");
    } else if (via == VIA_OFF && !loopback_host(req)) {
        ccai_http_reply_error(req, status = 403, "--auth off: expected a loopback Host "
                                                 "(localhost, 127.x.x.x, [::1]), found another name");
    } else if (who->role < CCAI_ROLE_ADMIN || who->role > min_role) {
        ccai_http_reply_error(req, status = 403, "this needs the %s role",
                              ccai_role_name(min_role) ? ccai_role_name(min_role) : "admin");
    }
    if (!status)
        return true;
    log_req(s, req, status, t0, via == VIA_NONE ? -1 : who->id);
    return false;
}

bool ccai_auth_require(ccai_server *s, ccai_http_req *req, int min_role, ccai_user *who)
{
    ccai_user tmp;
    return require(s, req, min_role, who ? who : &tmp, NULL);
}

/* With --auth off there are no accounts to manage. */
static bool need_accounts(ccai_server *s, ccai_http_req *req, uint64_t t0)
{
    if (s->acc)
        return true;
    ccai_http_reply_error(req, 404, "there are no accounts: the server runs with --auth off");
    log_req(s, req, 404, t0, 0);
    return false;
}

/* ---- login, logout, me ------------------------------------------------------------ */

/* The client address's login bucket (all: the bucket of every client
 * together, taken only for a well-formed attempt, so that requests that
 * never reach a password check cannot empty it for everyone). */
static bool login_allowed(ccai_server *s, ccai_http_req *req, bool all)
{
    auth_state *st = s->auth_state;
    int retry = 0;
    if (all ? ccai_ratelimit_take(st->login_all, "*", ccai_now_ns(), &retry)
            : ccai_ratelimit_take(st->login_rl, ccai_http_client_addr(req), ccai_now_ns(), &retry))
        return true;
    char ra[16];
    snprintf(ra, sizeof ra, "%d", retry);
    ccai_http_set_header(req, "Retry-After", ra);
    ccai_http_reply_error(req, 429, "too many login attempts; retry in %s s", ra);
    return false;
}

/* Password work for one request, on a worker thread: a login, a user
 * creation, one's own password change or an admin's reset. The loop parsed
 * the request; the worker answers through reply. */
typedef enum { PW_LOGIN, PW_CREATE, PW_CHANGE, PW_RESET } pw_kind;

typedef struct pw_job {
    ccai_server *s;
    ccai_http_stream *reply;
    char *name, *password, *path;
    char *new_password; /* PW_CHANGE */
    pw_kind kind;
    int role;      /* creations */
    int64_t actor; /* for the access log: the admin creating; the user logged in */
    uint64_t t0;
} pw_job;

static void pw_job_free(pw_job *job)
{
    ccai_wipe(job->password, strlen(job->password));
    if (job->new_password)
        ccai_wipe(job->new_password, strlen(job->new_password));
    free(job->new_password);
    free(job->password);
    free(job->name);
    free(job->path);
    free(job);
}

static int reply_stream_code(ccai_http_stream *reply, const ccai_err *err)
{
    int status = status_for(err->code);
    ccai_http_stream_reply_error(reply, status, "%s", err->msg);
    return status;
}

/* Checks the password, makes a session and answers with its cookie. */
static int do_login(pw_job *job)
{
    ccai_accounts *acc = job->s->acc;
    ccai_user who;
    ccai_err err = {0};
    char *token = NULL, cookie[256];
    int status = 200;
    if (ccai_accounts_check_password(acc, job->name, job->password, &who, &err) ||
        ccai_accounts_session_create(acc, &who, SESSION_TTL_S, &token, &err) ||
        ccai_accounts_cookie_header(token, SESSION_TTL_S, cookie, sizeof cookie)) {
        if (!err.msg[0])
            ccai_fail(&err, CCAI_ERR_STATE, "cannot make the session cookie");
        status = reply_stream_code(job->reply, &err);
    } else {
        job->actor = who.id;
        ccai_http_stream_set_header(job->reply, "Set-Cookie", cookie);
        json_t *r = json_pack("{s:o, s:i}", "user", user_json(&who), "expires_in", SESSION_TTL_S);
        ccai_http_stream_reply_json(job->reply, status, r);
        json_decref(r);
        ccai_wipe(cookie, sizeof cookie);
    }
    ccai_accounts_free_secret(token);
    return status;
}

static int do_create(pw_job *job)
{
    ccai_user u;
    ccai_err err = {0};
    if (ccai_accounts_user_create(job->s->acc, job->name, job->password, job->role, &u, &err))
        return reply_stream_code(job->reply, &err);
    json_t *r = json_pack("{s:o}", "user", user_json(&u));
    ccai_http_stream_reply_json(job->reply, 201, r);
    json_decref(r);
    return 201;
}

/* Sets name's password (PW_CHANGE: only with its current one) and ends the
 * user's sessions; one's own change also clears this browser's cookie. */
static int do_set_password(pw_job *job)
{
    ccai_accounts *acc = job->s->acc;
    ccai_err err = {0};
    bool own = job->kind == PW_CHANGE;
    if ((own && ccai_accounts_check_password(acc, job->name, job->password, NULL, &err)) ||
        ccai_accounts_user_set_password(acc, job->name, own ? job->new_password : job->password,
                                        &err))
        return reply_stream_code(job->reply, &err);
    char clear[128];
    if (own && ccai_accounts_cookie_clear_header(clear, sizeof clear) == CCAI_OK)
        ccai_http_stream_set_header(job->reply, "Set-Cookie", clear);
    json_t *r = json_pack("{s:s, s:b}", "user", job->name, "sessions_ended", 1);
    ccai_http_stream_reply_json(job->reply, 200, r);
    json_decref(r);
    return 200;
}

static void *pw_worker(void *arg)
{
    pw_job *job = arg;
    ccai_server *s = job->s;
    auth_state *st = s->auth_state;
    int status = job->kind == PW_LOGIN    ? do_login(job)
                 : job->kind == PW_CREATE ? do_create(job)
                                          : do_set_password(job);
    ccai_access_log(s, "POST", job->path, status, ccai_now_ns() - job->t0, job->actor, -1, -1);
    pw_job_free(job);
    ccai_workers_done(&st->workers);
    return NULL;
}

/* Hands req's password work to a worker (job: login, role, actor, t0;
 * name and password copied), which answers and logs. False, the request
 * answered (503 when MAX_WORKERS are busy) and logged here, when it cannot
 * start. */
static bool start_pw_job(ccai_server *s, ccai_http_req *req, const char *name,
                         const char *password, const pw_job *tmpl)
{
    auth_state *st = s->auth_state;
    if (!ccai_workers_take(&st->workers)) {
        ccai_http_set_header(req, "Retry-After", "1");
        ccai_http_reply_error(req, 503, "busy checking passwords (%d at once); retry in 1 s",
                              MAX_WORKERS);
        log_req(s, req, 503, tmpl->t0, tmpl->actor);
        return false;
    }
    pw_job *job = ccai_xmalloc(sizeof *job);
    *job = *tmpl;
    job->s = s;
    job->name = ccai_xstrdup(name);
    job->password = ccai_xstrdup(password);
    job->new_password = tmpl->new_password ? ccai_xstrdup(tmpl->new_password) : NULL;
    job->path = ccai_xstrdup(ccai_http_path(req));
    job->reply = ccai_http_defer(req);
    if (!ccai_workers_spawn(&st->workers, pw_worker, job)) {
        ccai_http_stream_reply_error(job->reply, 503, "cannot start a worker thread; retry later");
        log_req(s, req, 503, tmpl->t0, tmpl->actor);
        pw_job_free(job);
        return false;
    }
    return true;
}

static void on_login(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    ccai_server *s = arg;
    int status = 0;
    json_t *j = NULL;
    const char *name = NULL, *password = NULL;
    if (!s->acc) {
        ccai_http_reply_error(req, status = 400,
                              "the server runs with --auth off: there is nothing to log in to");
    } else if (!same_origin(s, req)) {
        /* Login CSRF: another site's form logging this browser into an
         * account of its choosing. */
        ccai_http_reply_error(req, status = 403, "cross-origin request refused");
    } else if (!login_allowed(s, req, false)) {
        status = 429;
    } else if (!(j = body_object(req, "{\"username\": ..., \"password\": ...}"))) {
        status = 400;
    } else if (!opt_string(req, j, "username", &name) || !opt_string(req, j, "password", &password)) {
        status = 400;
    } else if (!name || !password) {
        ccai_http_reply_error(req, status = 400, "expected \"username\" and \"password\"");
    } else if (!login_allowed(s, req, true)) {
        status = 429;
    } else {
        /* Answered and logged by the worker, or here when it cannot start. */
        start_pw_job(s, req, name, password, &(pw_job){.kind = PW_LOGIN, .actor = -1, .t0 = t0});
    }
    wipe_json_string(json_object_get(j, "password"));
    json_decref(j);
    if (status)
        log_req(s, req, status, t0, -1);
}

static void on_logout(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    ccai_server *s = arg;
    if (!same_origin(s, req)) { /* another site logging this browser out */
        ccai_http_reply_error(req, 403, "cross-origin request refused");
        log_req(s, req, 403, t0, -1);
        return;
    }
    const char *cookie = ccai_http_header(req, "Cookie");
    char token[CCAI_SESSION_TOKEN_LEN + 1], clear[128];
    if (s->acc && cookie && ccai_accounts_cookie_token(cookie, token, NULL) == CCAI_OK)
        ccai_accounts_session_delete(s->acc, token, NULL);
    ccai_wipe(token, sizeof token);
    if (ccai_accounts_cookie_clear_header(clear, sizeof clear) == CCAI_OK)
        ccai_http_set_header(req, "Set-Cookie", clear);
    json_t *r = json_pack("{s:b}", "ok", 1);
    ccai_http_reply_json(req, 200, r);
    json_decref(r);
    log_req(s, req, 200, t0, -1);
}

static void on_me(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    ccai_server *s = arg;
    ccai_user who;
    auth_via via;
    if (!require(s, req, CCAI_ROLE_USER, &who, &via))
        return;
    static const char *const vias[] = {"none", "off", "key", "session"};
    json_t *r = json_pack("{s:o, s:s}", "user", user_json(&who), "auth", vias[via]);
    ccai_http_reply_json(req, 200, r);
    json_decref(r);
    log_req(s, req, 200, t0, who.id);
}

/* ---- users (admin) ---------------------------------------------------------------- */

static void on_users_list(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    ccai_server *s = arg;
    ccai_user who;
    if (!require(s, req, CCAI_ROLE_ADMIN, &who, NULL) || !need_accounts(s, req, t0))
        return;
    ccai_user_info *u = NULL;
    size_t n = 0;
    ccai_err err = {0};
    int status = 200;
    if (ccai_accounts_user_list(s->acc, &u, &n, &err)) {
        reply_code(req, &err, &status);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *o = user_json(&u[i].user);
            json_object_set_new(o, "created_at", time_json(u[i].created_at));
            json_object_set_new(o, "key_count", json_integer(u[i].key_count));
            json_array_append_new(arr, o);
        }
        json_t *r = json_pack("{s:o}", "users", arr);
        ccai_http_reply_json(req, 200, r);
        json_decref(r);
    }
    free(u);
    log_req(s, req, status, t0, who.id);
}

static void on_users_create(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    ccai_server *s = arg;
    ccai_user who;
    if (!require(s, req, CCAI_ROLE_ADMIN, &who, NULL) || !need_accounts(s, req, t0))
        return;
    int status = 0, role = CCAI_ROLE_USER;
    const char *name = NULL, *password = NULL, *role_s = NULL;
    ccai_err err = {0};
    json_t *j = body_object(req, "{\"name\": ..., \"password\": ..., \"role\": \"user\"}");
    if (!j || !opt_string(req, j, "name", &name) || !opt_string(req, j, "password", &password) ||
        !opt_string(req, j, "role", &role_s)) {
        status = 400;
    } else if (!name || !password) {
        ccai_http_reply_error(req, status = 400, "expected \"name\" and \"password\"");
    } else if (role_s && ccai_role_parse(role_s, &role, &err)) {
        reply_code(req, &err, &status);
    } else if (ccai_accounts_name_valid(name, &err)) {
        reply_code(req, &err, &status);
    } else {
        /* Answered and logged by the worker, or here when it cannot start. */
        start_pw_job(s, req, name, password,
                     &(pw_job){.kind = PW_CREATE, .role = role, .actor = who.id, .t0 = t0});
    }
    wipe_json_string(json_object_get(j, "password"));
    json_decref(j);
    if (status)
        log_req(s, req, status, t0, who.id);
}

/* The last path segment after prefix ("/api/admin/users/" + name). */
static const char *path_tail(ccai_http_req *req, const char *prefix)
{
    const char *p = ccai_http_path(req);
    size_t n = strlen(prefix);
    return strncmp(p, prefix, n) == 0 ? p + n : "";
}

/* POST /api/me/password: the caller's own, with the current one (checked as
 * a login is, under the client's login bucket: a stolen key or session must
 * not guess it faster). */
static void on_me_password(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    ccai_server *s = arg;
    ccai_user who;
    if (!require(s, req, CCAI_ROLE_USER, &who, NULL) || !need_accounts(s, req, t0))
        return;
    int status = 0;
    const char *cur = NULL, *neu = NULL;
    json_t *j = body_object(req, "{\"password\": ..., \"new_password\": ...}");
    if (!j || !opt_string(req, j, "password", &cur) || !opt_string(req, j, "new_password", &neu)) {
        status = 400;
    } else if (!cur || !neu) {
        ccai_http_reply_error(req, status = 400, "expected \"password\" and \"new_password\"");
    } else if (!login_allowed(s, req, false)) {
        status = 429;
    } else {
        start_pw_job(s, req, who.name, cur,
                     &(pw_job){.kind = PW_CHANGE, .new_password = (char *)(uintptr_t)neu,
                               .actor = who.id, .t0 = t0});
    }
    wipe_json_string(json_object_get(j, "password"));
    wipe_json_string(json_object_get(j, "new_password"));
    json_decref(j);
    if (status)
        log_req(s, req, status, t0, who.id);
}

/* POST /api/admin/users/<name>/password: an admin sets a user's password. */
static void on_users_password(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    ccai_server *s = arg;
    ccai_user who;
    if (!require(s, req, CCAI_ROLE_ADMIN, &who, NULL) || !need_accounts(s, req, t0))
        return;
    const char *tail = path_tail(req, "/api/admin/users/"), *slash = strchr(tail, '/');
    char name[CCAI_USER_NAME_MAX + 1];
    int status = 0;
    const char *pw = NULL;
    json_t *j = NULL;
    ccai_err err = {0};
    if (!slash || strcmp(slash, "/password") != 0 || (size_t)(slash - tail) > CCAI_USER_NAME_MAX) {
        ccai_http_reply_error(req, status = 404, "no such endpoint: POST %s",
                              ccai_http_path(req));
    } else if (snprintf(name, sizeof name, "%.*s", (int)(slash - tail), tail) < 0 ||
               ccai_accounts_name_valid(name, &err)) {
        reply_code(req, &err, &status);
    } else if (!(j = body_object(req, "{\"password\": ...}")) ||
               !opt_string(req, j, "password", &pw)) {
        status = 400;
    } else if (!pw) {
        ccai_http_reply_error(req, status = 400, "expected \"password\"");
    } else {
        start_pw_job(s, req, name, pw,
                     &(pw_job){.kind = PW_RESET, .actor = who.id, .t0 = t0});
    }
    wipe_json_string(json_object_get(j, "password"));
    json_decref(j);
    if (status)
        log_req(s, req, status, t0, who.id);
}

static void on_users_delete(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    ccai_server *s = arg;
    ccai_user who;
    if (!require(s, req, CCAI_ROLE_ADMIN, &who, NULL) || !need_accounts(s, req, t0))
        return;
    const char *name = path_tail(req, "/api/admin/users/");
    ccai_err err = {0};
    int status = 200;
    if (ccai_accounts_user_delete(s->acc, name, &err)) {
        reply_code(req, &err, &status);
    } else {
        json_t *r = json_pack("{s:s}", "deleted", name);
        ccai_http_reply_json(req, 200, r);
        json_decref(r);
    }
    log_req(s, req, status, t0, who.id);
}

/* ---- API keys --------------------------------------------------------------------- */

/* own: the caller's keys only, even for an admin (/api/keys). */
static void keys_list(ccai_http_req *req, ccai_server *s, bool own)
{
    uint64_t t0 = ccai_now_ns();
    ccai_user who;
    if (!require(s, req, own ? CCAI_ROLE_USER : CCAI_ROLE_ADMIN, &who, NULL) ||
        !need_accounts(s, req, t0))
        return;
    ccai_key_info *k = NULL;
    size_t n = 0;
    ccai_err err = {0};
    int status = 200;
    if (ccai_accounts_key_list(s->acc, &who, &k, &n, &err)) {
        reply_code(req, &err, &status);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            if (own && k[i].user_id != who.id)
                continue;
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", k[i].id, "user", k[i].user_name,
                               "label", k[i].label, "created_at", time_json(k[i].created_at),
                               "last_used_at", time_json(k[i].last_used_at)));
        }
        json_t *r = json_pack("{s:o}", "keys", arr);
        ccai_http_reply_json(req, 200, r);
        json_decref(r);
    }
    free(k);
    log_req(s, req, status, t0, who.id);
}

static void keys_create(ccai_http_req *req, ccai_server *s, bool own)
{
    uint64_t t0 = ccai_now_ns();
    ccai_user who, owner;
    if (!require(s, req, own ? CCAI_ROLE_USER : CCAI_ROLE_ADMIN, &who, NULL) ||
        !need_accounts(s, req, t0))
        return;
    int status = 201;
    const char *user = NULL, *label = NULL;
    ccai_err err = {0};
    char *key = NULL, id[CCAI_KEY_ID_LEN + 1];
    json_t *j = body_object(req, own ? "{\"label\": ...}" : "{\"user\": ..., \"label\": ...}");
    if (!j || !opt_string(req, j, "label", &label) || (!own && !opt_string(req, j, "user", &user))) {
        status = 400;
    } else if (own && json_object_get(j, "user")) {
        ccai_http_reply_error(req, status = 400,
                              "\"user\": /api/keys makes keys for the caller; admins use "
                              "/api/admin/keys");
    } else if (user && ccai_accounts_user_get(s->acc, user, &owner, &err)) {
        reply_code(req, &err, &status);
    } else if (ccai_accounts_key_create(s->acc, user ? &owner : &who, label, &key, id, &err)) {
        reply_code(req, &err, &status);
    } else {
        const ccai_user *o = user ? &owner : &who;
        json_t *r = json_pack("{s:s, s:s, s:s, s:s}", "key", key, "id", id, "user", o->name,
                              "label", label ? label : "");
        json_object_set_new(r, "note", json_string("the key is shown this once"));
        ccai_http_reply_json(req, 201, r);
        wipe_json_string(json_object_get(r, "key"));
        json_decref(r);
    }
    ccai_accounts_free_secret(key);
    json_decref(j);
    log_req(s, req, status, t0, who.id);
}

static void keys_revoke(ccai_http_req *req, ccai_server *s, bool own)
{
    uint64_t t0 = ccai_now_ns();
    ccai_user who;
    if (!require(s, req, own ? CCAI_ROLE_USER : CCAI_ROLE_ADMIN, &who, NULL) ||
        !need_accounts(s, req, t0))
        return;
    const char *id = path_tail(req, own ? "/api/keys/" : "/api/admin/keys/");
    /* Through /api/keys an admin acts as a user: their own keys only. */
    ccai_user actor = who;
    if (own)
        actor.role = CCAI_ROLE_USER;
    ccai_err err = {0};
    int status = 200;
    if (ccai_accounts_key_revoke(s->acc, &actor, id, &err)) {
        reply_code(req, &err, &status);
    } else {
        json_t *r = json_pack("{s:s}", "revoked", id);
        ccai_http_reply_json(req, 200, r);
        json_decref(r);
    }
    log_req(s, req, status, t0, who.id);
}

static void on_admin_keys_list(ccai_http_req *req, void *arg) { keys_list(req, arg, false); }
static void on_admin_keys_create(ccai_http_req *req, void *arg) { keys_create(req, arg, false); }
static void on_admin_keys_revoke(ccai_http_req *req, void *arg) { keys_revoke(req, arg, false); }
static void on_keys_list(ccai_http_req *req, void *arg) { keys_list(req, arg, true); }
static void on_keys_create(ccai_http_req *req, void *arg) { keys_create(req, arg, true); }
static void on_keys_revoke(ccai_http_req *req, void *arg) { keys_revoke(req, arg, true); }

/* ---- registration ----------------------------------------------------------------- */

ccai_code ccai_auth_register(ccai_server *s, ccai_err *err)
{
    auth_state *st = ccai_xcalloc(1, sizeof *st);
    st->login_rl = ccai_ratelimit_new(LOGIN_PER_MINUTE, LOGIN_PER_MINUTE);
    st->login_all = ccai_ratelimit_new(LOGIN_ALL_PER_MINUTE, LOGIN_ALL_BURST);
    ccai_workers_init(&st->workers, MAX_WORKERS);
    s->auth_state = st;
    static const struct {
        const char *method, *path;
        ccai_http_handler fn;
    } routes[] = {
        {"POST", "/api/login", on_login},
        {"POST", "/api/logout", on_logout},
        {"GET", "/api/me", on_me},
        {"POST", "/api/me/password", on_me_password},
        {"GET", "/api/admin/users", on_users_list},
        {"POST", "/api/admin/users", on_users_create},
        {"DELETE", "/api/admin/users/*", on_users_delete},
        {"POST", "/api/admin/users/*", on_users_password},
        {"GET", "/api/admin/keys", on_admin_keys_list},
        {"POST", "/api/admin/keys", on_admin_keys_create},
        {"DELETE", "/api/admin/keys/*", on_admin_keys_revoke},
        {"GET", "/api/keys", on_keys_list},
        {"POST", "/api/keys", on_keys_create},
        {"DELETE", "/api/keys/*", on_keys_revoke},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        ccai_code rc = ccai_http_route(s->http, routes[i].method, routes[i].path, routes[i].fn, s,
                                       err);
        if (rc)
            return rc;
    }
    return CCAI_OK;
}

void ccai_auth_free(ccai_server *s)
{
    auth_state *st = s->auth_state;
    if (!st)
        return;
    ccai_workers_destroy(&st->workers);
    ccai_ratelimit_free(st->login_rl);
    ccai_ratelimit_free(st->login_all);
    free(st);
    s->auth_state = NULL;
}
