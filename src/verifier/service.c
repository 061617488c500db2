/* The attestation service's HTTP side (verifier.h "the service"): routes,
 * CORS, the per-client rate limit, tokens and the request log. Handlers run
 * on the HTTP loop thread; an attestation is parsed there and appraised on
 * a worker thread (at most MAX_APPRAISALS at once), which answers through a
 * deferred reply: an appraisal that waits for PCS/PCCS (a cold cache, up to
 * its 30 s timeout) holds up neither the loop (health checks, keys, other
 * clients' rate limits) nor the other appraisals (docs/verifier.md). */
#include <openssl/err.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/codec.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "base/workers.h"
#include "net/http.h"
#include "net/tls.h"
#include "server/server.h"
#include "tee/evidence.h"
#include "verifier/appraisal.h"
#include "verifier/jwt.h"
#include "verifier/verifier.h"

/* Appraisals running at once; more get 503 with Retry-After. */
enum { MAX_APPRAISALS = 16 };

struct ccai_verifier {
    ccai_verifier_config cfg;
    ccai_tls *tls;
    ccai_http_server *http;
    ccai_keyring *keys;
    ccai_appraiser *appraiser;
    ccai_ratelimit *rl;
    char *issuer;
    ccai_workers workers;    /* appraisal threads */
};

/* What one request did, for its log line (no content). */
typedef struct req_log {
    uint64_t t0;
    const char *policy_id;
    int pass;               /* -1: not an appraisal */
    char jti[33];
} req_log;

/* Any thread: method and path are the request's (copied before a
 * worker takes it: ccai_http_req belongs to the loop). */
static void log_text(const ccai_verifier *v, const char *method, const char *path, int status,
                     const req_log *l)
{
    if (v->cfg.quiet)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char t[32], ts[48];
    ccai_time_format(tv.tv_sec, t);
    snprintf(ts, sizeof ts, "%.19s.%03ldZ", t, (long)(tv.tv_usec / 1000));
    json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:f}", "ts", ts, "method", method,
                          "path", path, "status", status, "duration_ms",
                          (double)(ccai_now_ns() - l->t0) / 1e6);
    if (l->pass >= 0) {
        json_object_set_new(j, "policy_id", l->policy_id ? json_string(l->policy_id) : json_null());
        json_object_set_new(j, "pass", json_boolean(l->pass));
        json_object_set_new(j, "jti", l->jti[0] ? json_string(l->jti) : json_null());
    }
    /* json_dumps escapes control characters, so a hostile path stays one line. */
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)
                                    | JSON_ENSURE_ASCII) : NULL;
    if (s)
        fprintf(stderr, "%s\n", s);
    free(s);
    json_decref(j);
}

static void log_line(const ccai_verifier *v, ccai_http_req *req, int status, const req_log *l)
{
    log_text(v, ccai_http_method(req), ccai_http_path(req), status, l);
}

/* ---- CORS ------------------------------------------------------------------------- */

/* Echoes an allowed Origin; false when the request has a disallowed one. */
static bool cors(const ccai_verifier *v, ccai_http_req *req)
{
    const char *origin = ccai_http_header(req, "Origin");
    if (!origin)
        return true;
    for (size_t i = 0; i < v->cfg.n_cors_origins; i++)
        if (strcmp(origin, v->cfg.cors_origins[i]) == 0) {
            ccai_http_set_header(req, "Access-Control-Allow-Origin", origin);
            ccai_http_set_header(req, "Vary", "Origin");
            return true;
        }
    return false;
}

static void on_preflight(ccai_http_req *req, void *arg)
{
    ccai_verifier *v = arg;
    req_log l = {.t0 = ccai_now_ns(), .pass = -1};
    const char *origin = ccai_http_header(req, "Origin");
    int status = 204;
    if (origin && cors(v, req)) {
        ccai_http_set_header(req, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        ccai_http_set_header(req, "Access-Control-Allow-Headers", "content-type");
        ccai_http_set_header(req, "Access-Control-Max-Age", "600");
        ccai_http_reply(req, status, NULL, NULL, 0);
    } else {
        status = 403;
        ccai_http_reply_error(req, status, "CORS: origin %.200s is not allowed",
                              origin ? origin : "(none)");
    }
    log_line(v, req, status, &l);
}

/* ---- discovery --------------------------------------------------------------------- */

static void reply_logged(ccai_verifier *v, ccai_http_req *req, json_t *body, uint64_t t0)
{
    req_log l = {.t0 = t0, .pass = -1};
    cors(v, req);
    ccai_http_reply_json(req, 200, body);
    json_decref(body);
    log_line(v, req, 200, &l);
}

static void on_jwks(ccai_http_req *req, void *arg)
{
    ccai_verifier *v = arg;
    reply_logged(v, req, ccai_keyring_jwks(v->keys, time(NULL)), ccai_now_ns());
}

static void on_oidc(ccai_http_req *req, void *arg)
{
    ccai_verifier *v = arg;
    char *jwks = ccai_xasprintf("%s/jwks.json", v->issuer);
    char *att = ccai_xasprintf("%s/v1/attestation", v->issuer);
    char *pol = ccai_xasprintf("%s/v1/policies", v->issuer);
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:[s], s:[s], s:[s], s:[s,s,s,s,s,s,s,s,s,s,s]}", "issuer",
        v->issuer, "jwks_uri", jwks, "attestation_endpoint", att, "policies_endpoint", pol,
        "id_token_signing_alg_values_supported", "ES256", "response_types_supported", "id_token",
        "subject_types_supported", "public", "claims_supported", "iss", "iat", "nbf", "exp", "jti",
        "tee", "mr_td", "tcb_status", "policy", "pass", "binding");
    free(jwks);
    free(att);
    free(pol);
    reply_logged(v, req, j, ccai_now_ns());
}

static void on_policies(ccai_http_req *req, void *arg)
{
    ccai_verifier *v = arg;
    reply_logged(v, req, ccai_appraiser_policies(v->appraiser), ccai_now_ns());
}

static void on_health(ccai_http_req *req, void *arg)
{
    ccai_verifier *v = arg;
    reply_logged(v, req, json_pack("{s:s}", "status", "ok"), ccai_now_ns());
}

/* ---- attestation (each path below writes the request's log line once) --------- */

static void add_token_claims(const ccai_verifier *v, json_t *c, time_t now, char jti[33])
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1)
        abort(); /* no randomness: nothing safe to do */
    ccai_hex_encode(r, sizeof r, jti);
    json_object_set_new(c, "iss", json_string(v->issuer));
    json_object_set_new(c, "iat", json_integer((json_int_t)now));
    json_object_set_new(c, "nbf", json_integer((json_int_t)now));
    json_object_set_new(c, "exp", json_integer((json_int_t)(now + v->cfg.token_lifetime_s)));
    json_object_set_new(c, "jti", json_string(jti));
}

/* 403 for strict mode: the failed checks with their reasons. */
static void reply_rejected(ccai_http_stream *reply, const json_t *verdict)
{
    const json_t *pol = json_object_get(verdict, "policy");
    const json_t *failed = json_object_get(pol, "failed");
    char *msg = ccai_xasprintf("the evidence failed policy \"%s\": %zu check(s) failed",
                               json_string_value(json_object_get(pol, "policy_id")),
                               json_array_size(failed));
    json_t *j = json_pack("{s:s, s:o}", "error", msg,
                          "failed", failed ? json_deep_copy(failed) : json_array());
    free(msg);
    ccai_http_stream_reply_json(reply, 403, j);
    json_decref(j);
}

/* One attestation for a worker: the evidence (parsed on the loop) and
 * what its reply and log line need. */
typedef struct attest_job {
    ccai_verifier *v;
    ccai_http_stream *reply;
    tee_evidence ev;
    bool strict;
    char *method, *path;
    req_log l;
} attest_job;

/* Appraises, signs and answers job (on a worker thread). */
static int appraise_and_answer(attest_job *job)
{
    ccai_verifier *v = job->v;
    req_log *l = &job->l;
    ccai_err err = {0};
    json_t *verdict = NULL;
    time_t now = time(NULL);
    ccai_code rc = ccai_appraiser_run(v->appraiser, &job->ev, now, &verdict, &err);
    if (rc) {
        int status = rc == CCAI_ERR_PARSE || rc == CCAI_ERR_NOT_FOUND || rc == CCAI_ERR_ARG
                         ? 400 : 500;
        ccai_http_stream_reply_error(job->reply, status, "%s", err.msg);
        log_text(v, job->method, job->path, status, l);
        return status;
    }
    const json_t *pol = json_object_get(verdict, "policy");
    l->policy_id = json_string_value(json_object_get(pol, "policy_id"));
    l->pass = json_is_true(json_object_get(verdict, "pass"));
    int status = 200;
    if (job->strict && !l->pass) {
        status = 403;
        reply_rejected(job->reply, verdict);
    } else {
        add_token_claims(v, verdict, now, l->jti);
        char *token = NULL;
        if (ccai_jwt_sign(ccai_keyring_key(v->keys), ccai_keyring_kid(v->keys), verdict, &token,
                          &err)) {
            status = 500;
            ccai_http_stream_reply_error(job->reply, status, "%s", err.msg);
        } else {
            json_t *j = json_pack("{s:s}", "token", token);
            ccai_http_stream_reply_json(job->reply, 200, j);
            json_decref(j);
            free(token);
        }
    }
    /* policy_id points into verdict: log before freeing it. */
    log_text(v, job->method, job->path, status, l);
    json_decref(verdict);
    return status;
}

static void job_free(attest_job *job)
{
    tee_evidence_free(&job->ev);
    free(job->method);
    free(job->path);
    free(job);
}

static void *appraisal_worker(void *arg)
{
    attest_job *job = arg;
    ccai_verifier *v = job->v;
    /* The worker threads stay from job to job (base/workers.h): nothing an
     * earlier appraisal left in OpenSSL's error queue may reach this one. */
    ERR_clear_error();
    appraise_and_answer(job);
    job_free(job);
    ccai_workers_done(&v->workers);
    return NULL;
}

static void on_attest(ccai_http_req *req, void *arg)
{
    ccai_verifier *v = arg;
    req_log l = {.t0 = ccai_now_ns(), .pass = -1};
    int status, retry = 0;
    cors(v, req);
    if (!ccai_ratelimit_take(v->rl, ccai_http_client_addr(req), ccai_now_ns(), &retry)) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry);
        ccai_http_set_header(req, "Retry-After", ra);
        status = 429;
        ccai_http_reply_error(req, status, "too many attestation requests from this address "
                              "(%g a minute); retry in %d s", v->cfg.rate_per_minute, retry);
        log_line(v, req, status, &l);
        return;
    }
    size_t len = 0;
    const uint8_t *body = ccai_http_body(req, &len);
    attest_job *job = ccai_xcalloc(1, sizeof *job);
    ccai_err err = {0};
    if (tee_evidence_parse((const char *)body, len, &job->ev, &err)) {
        status = 400;
        ccai_http_reply_error(req, status, "%s", err.msg);
        log_line(v, req, status, &l);
        job_free(job);
        return;
    }
    if (!ccai_workers_take(&v->workers)) {
        status = 503;
        ccai_http_set_header(req, "Retry-After", "1");
        ccai_http_reply_error(req, status, "busy: %d attestations are being appraised; retry "
                              "in 1 s", MAX_APPRAISALS);
        log_line(v, req, status, &l);
        job_free(job);
        return;
    }
    const char *sq = ccai_http_query(req, "strict");
    job->v = v;
    job->strict = job->ev.strict || (sq && (!strcmp(sq, "1") || !strcmp(sq, "true")));
    job->method = ccai_xstrdup(ccai_http_method(req));
    job->path = ccai_xstrdup(ccai_http_path(req));
    job->l = l;
    job->reply = ccai_http_defer(req);
    if (!ccai_workers_spawn(&v->workers, appraisal_worker, job)) {
        status = 503;
        ccai_http_stream_reply_error(job->reply, status, "cannot start an appraisal thread");
        log_line(v, req, status, &l);
        job_free(job);
    }
    /* Else the worker owns job and answers through job->reply. */
}

/* ---- life cycle ------------------------------------------------------------------- */

static char *default_issuer(const char *listen, bool tls, uint16_t port)
{
    const char *end = listen[0] == '[' ? strchr(listen, ']') : strrchr(listen, ':');
    size_t n = end ? (size_t)(end - listen) + (listen[0] == '[') : strlen(listen);
    return ccai_xasprintf("%s://%.*s:%u", tls ? "https" : "http", (int)n, listen, port);
}

static ccai_code start_http(ccai_verifier *v, ccai_err *err)
{
    static const char *const with_tls[] = {
        "X-Content-Type-Options", "nosniff", "Referrer-Policy", "no-referrer",
        "Cache-Control", "no-store", "Strict-Transport-Security", "max-age=31536000", NULL,
    };
    static const char *const plain[] = {
        "X-Content-Type-Options", "nosniff", "Referrer-Policy", "no-referrer",
        "Cache-Control", "no-store", NULL,
    };
    ccai_http_opts o = {.listen = v->cfg.listen, .tls = v->tls,
                        .max_body_bytes = v->cfg.max_body_bytes,
                        .headers = v->tls ? with_tls : plain};
    ccai_code rc = ccai_http_server_new(&o, &v->http, err);
    struct { const char *m, *p; ccai_http_handler fn; } routes[] = {
        {"POST", "/v1/attestation", on_attest}, {"GET", "/jwks.json", on_jwks},
        {"GET", "/.well-known/openid-configuration", on_oidc},
        {"GET", "/v1/policies", on_policies}, {"GET", "/healthz", on_health},
        {"OPTIONS", "*", on_preflight},
    };
    for (size_t i = 0; !rc && i < sizeof routes / sizeof routes[0]; i++)
        rc = ccai_http_route(v->http, routes[i].m, routes[i].p, routes[i].fn, v, err);
    return rc;
}

ccai_code ccai_verifier_new(const ccai_verifier_config *cfg, ccai_verifier **out, ccai_err *err)
{
    *out = NULL;
    ccai_verifier *v = ccai_xcalloc(1, sizeof *v);
    ccai_workers_init(&v->workers, MAX_APPRAISALS);
    v->cfg = *cfg;
    if (!v->cfg.listen)
        v->cfg.listen = "127.0.0.1:8444";
    if (v->cfg.token_lifetime_s <= 0)
        v->cfg.token_lifetime_s = 300;
    if (v->cfg.rate_per_minute <= 0)
        v->cfg.rate_per_minute = 60;
    if (!v->cfg.max_body_bytes)
        v->cfg.max_body_bytes = 1u << 20;
    char *kdir = ccai_xasprintf("%s/verifier", cfg->state_dir);
    char *cache = ccai_xasprintf("%s/collateral", cfg->state_dir);
    ccai_appraiser_opts ao = {.policy_dir = cfg->policy_dir, .collateral = cfg->collateral,
                              .pcs_url = cfg->pcs_url, .cache_dir = cache,
                              .trust_simulated = cfg->trust_simulated};
    ccai_code rc = ccai_keyring_open(kdir, cfg->rotate_key, v->cfg.token_lifetime_s, time(NULL),
                                     &v->keys, err);
    if (!rc)
        rc = ccai_appraiser_new(&ao, &v->appraiser, err);
    if (!rc && cfg->tls)
        rc = ccai_tls_ctx_new(cfg->tls_cert, cfg->tls_key, &v->tls, err);
    if (!rc)
        rc = start_http(v, err);
    free(kdir);
    free(cache);
    if (rc) {
        ccai_verifier_free(v);
        return rc;
    }
    v->rl = ccai_ratelimit_new(v->cfg.rate_per_minute, v->cfg.rate_per_minute);
    v->issuer = cfg->issuer ? ccai_xstrdup(cfg->issuer)
                            : default_issuer(v->cfg.listen, cfg->tls,
                                             ccai_http_server_port(v->http));
    *out = v;
    return CCAI_OK;
}

uint16_t ccai_verifier_port(const ccai_verifier *v)
{
    return ccai_http_server_port(v->http);
}

const char *ccai_verifier_issuer(const ccai_verifier *v)
{
    return v->issuer;
}

const char *ccai_verifier_kid(const ccai_verifier *v)
{
    return ccai_keyring_kid(v->keys);
}

ccai_code ccai_verifier_run(ccai_verifier *v, bool handle_signals, ccai_err *err)
{
    ccai_code rc = CCAI_OK;
    if (handle_signals) {
        rc = ccai_http_server_stop_on_signal(v->http, SIGTERM, err);
        if (!rc)
            rc = ccai_http_server_stop_on_signal(v->http, SIGINT, err);
    }
    return rc ? rc : ccai_http_server_run(v->http, err);
}

void ccai_verifier_stop(ccai_verifier *v)
{
    ccai_http_server_stop(v->http);
}

void ccai_verifier_free(ccai_verifier *v)
{
    if (!v)
        return;
    ccai_http_server_free(v->http);
    /* Appraisals still running use the appraiser and the keys: wait for
     * them (their replies go nowhere once the server is gone). */
    ccai_workers_wait_idle(&v->workers);
    ccai_tls_free(v->tls);
    ccai_keyring_free(v->keys);
    ccai_appraiser_free(v->appraiser);
    ccai_ratelimit_free(v->rl);
    free(v->issuer);
    ccai_workers_destroy(&v->workers);
    free(v);
}
