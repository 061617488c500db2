/* The attestation endpoints (server.h "api_attest.c"; blueprint "Trust
 * protocol"; docs/serve.md "Evidence").
 *
 *   GET  /api/attestation?nonce=<base64url of 32 bytes>
 *   POST /api/attestation   {"nonce": "<base64url of 32 bytes>"}
 *        -> ccai-attest/1 evidence: a fresh quote whose report data is
 *           SHA-512("ccai-attest/1" 0x00 || nonce || SHA-256(TLS SPKI) || 0^32),
 *           the runtime event log that replays to its RTMR3, the TLS SPKI
 *           hash, the firmware event log and the collateral when there are.
 *   GET  /api/attestation/config -> where and how to verify this server.
 *
 * No authentication: a client attests before it sends any credential. Quotes
 * are rate-limited per client address (token bucket, attest_per_minute).
 * The loop parses the nonce and checks the limit; the quote, the event log
 * and the reply are made on a worker thread (at most MAX_QUOTING at once;
 * one more gets 503 with Retry-After), since a real TD's quote takes tens of
 * milliseconds or more (configfs-tsm through the quote generation service)
 * and the loop must go on streaming tokens meanwhile. The providers take
 * quotes from several threads at once (provider.h); what the workers share
 * here, the collateral bundle, is swapped under a mutex. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/workers.h"
#include "server/server.h"
#include "tee/binding.h"
#include "tee/eventlog.h"
#include "tee/quote.h"
#include "tee/sim.h"

enum {
    NONCE_LEN = 32,
    COLLATERAL_MAX_AGE_S = 24 * 3600, /* generated (sim) collateral is re-signed daily */
    MAX_QUOTING = 8,                  /* evidence requests on workers at once */
};

typedef struct attest_state {
    ccai_ratelimit *rl;
    ccai_workers workers;     /* evidence being made */
    pthread_mutex_t coll_mu;  /* s->collateral and s->collateral_at */
} attest_state;

/* ---- the nonce -------------------------------------------------------------------- */

/* base64url (padding optional) of exactly 32 bytes; why says what was wrong. */
static bool nonce_parse(const char *txt, uint8_t out[NONCE_LEN], char *why, size_t n)
{
    if (!txt || !*txt) {
        snprintf(why, n, "missing nonce: expected 32 random bytes in base64url (43 characters)");
        return false;
    }
    size_t len = strlen(txt);
    if (len > 64) {
        snprintf(why, n, "nonce: expected 32 bytes in base64url (43 characters), found %zu "
                         "characters", len);
        return false;
    }
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    ccai_err err = {0};
    if (ccai_b64_decode(txt, len, CCAI_B64_URL, &raw, &raw_len, &err)) {
        snprintf(why, n, "nonce: expected base64url (RFC 4648 §5): %.160s", err.msg);
        return false;
    }
    bool ok = raw_len == NONCE_LEN;
    if (ok)
        memcpy(out, raw, NONCE_LEN);
    else
        snprintf(why, n, "nonce: expected 32 bytes, found %zu", raw_len);
    free(raw);
    return ok;
}

/* ---- evidence --------------------------------------------------------------------- */

/* A reference to the collateral bundle to send (NULL: none). Generated
 * collateral is re-signed once a day so it never nears expiry; a bundle is
 * never changed once made, only replaced, so holders of the old one may go
 * on reading it. */
static json_t *collateral_ref(ccai_server *s)
{
    attest_state *st = s->attest_limiter;
    pthread_mutex_lock(&st->coll_mu);
    time_t now = time(NULL);
    if (s->collateral_at && now - s->collateral_at >= COLLATERAL_MAX_AGE_S) {
        json_t *fresh = NULL;
        ccai_err err = {0};
        if (tee_sim_collateral(&s->tee_cfg, now, &fresh, &err) == CCAI_OK) {
            json_decref(s->collateral);
            s->collateral = fresh;
            s->collateral_at = now;
        } else { /* the old bundle stays valid for weeks */
            fprintf(stderr, "ccai serve: regenerating the simulated collateral: %s\n", err.msg);
        }
    }
    json_t *c = json_incref(s->collateral);
    pthread_mutex_unlock(&st->coll_mu);
    return c;
}

/* The runtime log as of the quote: entries appended after the quote was
 * taken (another process measuring meanwhile) would not replay, so the log
 * is cut at the prefix that reaches the quote's RTMR3. When no prefix does
 * (RTMR3 extended by something that keeps no ccai log), the whole log goes
 * out and the verifier reports the mismatch. */
static ccai_code event_log_for(ccai_server *s, const uint8_t *quote, size_t qlen, json_t **out,
                               ccai_err *err)
{
    tee_eventlog log = {0};
    ccai_code rc = tee_eventlog_read(s->tee, &log, err);
    if (rc)
        return rc;
    tdx_quote q;
    memset(&q, 0, sizeof q);
    if (tdx_quote_parse(quote, qlen, &q, NULL) == CCAI_OK) {
        uint8_t r[48] = {0};
        size_t keep = 0;
        bool match = memcmp(r, q.body.rtmr[3], 48) == 0; /* nothing measured yet */
        for (size_t i = 0; i < log.count && !match; i++) {
            if (log.ev[i].mr != 3)
                continue;
            ccai_sha384_extend(r, log.ev[i].digest);
            if (memcmp(r, q.body.rtmr[3], 48) == 0) {
                keep = i + 1;
                match = true;
            }
        }
        if (match) {
            for (size_t i = keep; i < log.count; i++)
                tee_event_free(&log.ev[i]);
            log.count = keep;
        }
        tdx_quote_free(&q);
    }
    *out = tee_eventlog_to_json(&log);
    tee_eventlog_free(&log);
    return CCAI_OK;
}

static json_t *spki_json(const ccai_server *s)
{
    if (!s->tls)
        return json_null();
    char hex[65];
    ccai_hex_encode(ccai_tls_spki_sha256(s->tls), 32, hex);
    return json_string(hex);
}

/* Builds the ccai-attest/1 object for a parsed nonce; *status on failure. */
static json_t *evidence(ccai_server *s, const uint8_t nonce[NONCE_LEN], int *status, ccai_err *err)
{
    uint8_t rd[64], *quote = NULL, *ccel = NULL;
    size_t qlen = 0, ccel_len = 0;
    json_t *log = NULL;
    tee_report_data_bind(nonce, s->tls ? ccai_tls_spki_sha256(s->tls) : NULL, NULL, rd);
    if (s->tee->ops->get_quote(s->tee, rd, &quote, &qlen, err)) {
        ccai_err_prefix(err, "quote");
        *status = 500;
        return NULL;
    }
    if (event_log_for(s, quote, qlen, &log, err)) {
        ccai_err_prefix(err, "runtime event log");
        free(quote);
        *status = 500;
        return NULL;
    }
    char *q64 = ccai_b64_encode(quote, qlen, CCAI_B64_STD);
    char *n64 = ccai_b64_encode(nonce, NONCE_LEN, CCAI_B64_URL);
    json_t *j = json_object();
    json_object_set_new(j, "version", json_string(CCAI_ATTEST_VERSION));
    json_object_set_new(j, "tee", json_string(s->tee->ops->tee));
    json_object_set_new(j, "nonce", json_string(n64));
    json_object_set_new(j, "quote", json_string(q64));
    json_object_set_new(j, "event_log", log);
    json_object_set_new(j, "tls_spki_sha256", spki_json(s));
    ccai_err cerr = {0};
    if (s->tee->ops->read_ccel && s->tee->ops->read_ccel(s->tee, &ccel, &ccel_len, &cerr) == CCAI_OK) {
        char *c64 = ccai_b64_encode(ccel, ccel_len, CCAI_B64_STD);
        json_object_set_new(j, "cc_eventlog", json_string(c64));
        free(c64);
        free(ccel);
    }
    json_t *coll = collateral_ref(s);
    if (coll)
        json_object_set_new(j, "collateral", coll);
    json_object_set_new(j, "e2e_key", json_null());
    free(q64);
    free(n64);
    free(quote);
    return j;
}

/* One evidence request on a worker. */
typedef struct quote_job {
    ccai_server *s;
    ccai_http_stream *reply;
    uint8_t nonce[NONCE_LEN];
    char *method, *path;
    uint64_t t0;
} quote_job;

static void *quote_worker(void *arg)
{
    quote_job *job = arg;
    ccai_server *s = job->s;
    attest_state *st = s->attest_limiter;
    ccai_err err = {0};
    int status = 200;
    json_t *j = evidence(s, job->nonce, &status, &err);
    if (j)
        ccai_http_stream_reply_json(job->reply, status, j);
    else
        ccai_http_stream_reply_error(job->reply, status, "%s", err.msg);
    json_decref(j);
    ccai_access_log(s, job->method, job->path, status, ccai_now_ns() - job->t0, -1, -1, -1);
    free(job->method);
    free(job->path);
    free(job);
    ccai_workers_done(&st->workers);
    return NULL;
}

/* Hands the evidence for nonce to a worker, which answers and logs; else
 * answers 503 here. Returns the status answered here (0: the worker's). */
static int start_quote(ccai_server *s, ccai_http_req *req, const uint8_t nonce[NONCE_LEN],
                       uint64_t t0)
{
    attest_state *st = s->attest_limiter;
    if (!ccai_workers_take(&st->workers)) {
        ccai_http_set_header(req, "Retry-After", "1");
        ccai_http_reply_error(req, 503, "busy: %d attestations are being made; retry in 1 s",
                              MAX_QUOTING);
        return 503;
    }
    quote_job *job = ccai_xcalloc(1, sizeof *job);
    job->s = s;
    memcpy(job->nonce, nonce, NONCE_LEN);
    job->method = ccai_xstrdup(ccai_http_method(req));
    job->path = ccai_xstrdup(ccai_http_path(req));
    job->t0 = t0;
    job->reply = ccai_http_defer(req);
    if (!ccai_workers_spawn(&st->workers, quote_worker, job)) {
        ccai_http_stream_reply_error(job->reply, 503, "cannot start a worker thread; retry later");
        free(job->method);
        free(job->path);
        free(job);
        return 503;
    }
    return 0;
}

static void answer(ccai_server *s, ccai_http_req *req, const char *nonce_txt, uint64_t t0)
{
    attest_state *st = s->attest_limiter;
    uint8_t nonce[NONCE_LEN];
    char why[256];
    int status = 200, retry = 0;
    if (!nonce_parse(nonce_txt, nonce, why, sizeof why)) {
        status = 400;
        ccai_http_reply_error(req, status, "%s", why);
    } else if (!ccai_ratelimit_take(st->rl, ccai_http_client_addr(req), ccai_now_ns(), &retry)) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry);
        ccai_http_set_header(req, "Retry-After", ra);
        status = 429;
        ccai_http_reply_error(req, status,
                              "too many attestation requests from this address (%d a minute); "
                              "retry in %d s",
                              s->cfg->attest_per_minute, retry);
    } else if (!(status = start_quote(s, req, nonce, t0))) {
        return; /* the worker answers and logs */
    }
    ccai_access_log(s, ccai_http_method(req), ccai_http_path(req), status, ccai_now_ns() - t0, -1,
                    -1, -1);
}

static void on_get(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    answer(arg, req, ccai_http_query(req, "nonce"), t0);
}

static void on_post(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    ccai_server *s = arg;
    size_t len = 0;
    const uint8_t *body = ccai_http_body(req, &len);
    json_t *j = NULL;
    ccai_err err = {0};
    if (ccai_json_parse((const char *)body, len, &j, &err) || !json_is_object(j)) {
        ccai_http_reply_error(req, 400, "expected a JSON object {\"nonce\": \"<base64url>\"}%s%s",
                              err.msg[0] ? ": " : "", err.msg);
        ccai_access_log(s, "POST", ccai_http_path(req), 400, ccai_now_ns() - t0, -1, -1, -1);
        json_decref(j);
        return;
    }
    const json_t *n = json_object_get(j, "nonce");
    answer(s, req, json_is_string(n) ? json_string_value(n) : NULL, t0);
    json_decref(j);
}

static void on_config(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    ccai_server *s = arg;
    const ccai_server_config *c = s->cfg;
    json_t *j = json_pack("{s:o, s:o, s:s, s:o}", "verifier_url",
                          c->verifier_url ? json_string(c->verifier_url) : json_null(), "policy_id",
                          c->policy_id ? json_string(c->policy_id) : json_null(), "tee",
                          s->tee->ops->tee, "tls_spki_sha256", spki_json(s));
    ccai_http_reply_json(req, 200, j);
    json_decref(j);
    ccai_access_log(s, ccai_http_method(req), ccai_http_path(req), 200, ccai_now_ns() - t0, -1,
                    -1, -1);
}

ccai_code ccai_api_attest_register(ccai_server *s, ccai_err *err)
{
    attest_state *st = ccai_xcalloc(1, sizeof *st);
    double per_minute = s->cfg->attest_per_minute > 0 ? s->cfg->attest_per_minute : 30;
    st->rl = ccai_ratelimit_new(per_minute, per_minute);
    ccai_workers_init(&st->workers, MAX_QUOTING);
    pthread_mutex_init(&st->coll_mu, NULL);
    s->attest_limiter = st;
    ccai_code rc = ccai_http_route(s->http, "GET", "/api/attestation", on_get, s, err);
    if (!rc)
        rc = ccai_http_route(s->http, "POST", "/api/attestation", on_post, s, err);
    if (!rc)
        rc = ccai_http_route(s->http, "GET", "/api/attestation/config", on_config, s, err);
    return rc;
}

void ccai_api_attest_free(ccai_server *s)
{
    attest_state *st = s->attest_limiter;
    if (!st)
        return;
    ccai_workers_destroy(&st->workers); /* waits for the quotes being made */
    pthread_mutex_destroy(&st->coll_mu);
    ccai_ratelimit_free(st->rl);
    free(st);
    s->attest_limiter = NULL;
}
