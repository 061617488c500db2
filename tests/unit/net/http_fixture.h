/* Shared by tests/unit/net/test_http.c and test_http_stream.c: a real
 * server on 127.0.0.1 port 0 running on its own thread with the test routes,
 * libcurl clients (TLS verified against the generated certificate), worker
 * threads that feed streams (all joined at the end of each test), and the
 * state those workers report through. Functions are static and marked
 * unused: each test program uses a different subset. */
#ifndef CCAI_TEST_HTTP_FIXTURE_H
#define CCAI_TEST_HTTP_FIXTURE_H

#include "testutil.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/mem.h"
#include "net/http.h"

/* Each test program uses a different subset of what follows. */
#define FX static __attribute__((unused))

FX double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

FX void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- worker threads (all joined at the end of each test) ---------------------------- */

FX pthread_mutex_t workers_mu = PTHREAD_MUTEX_INITIALIZER;
FX pthread_t workers[64];
FX int nworkers;

FX void spawn(void *(*fn)(void *), void *arg)
{
    pthread_mutex_lock(&workers_mu);
    assert_true(nworkers < 64);
    assert_int_equal(pthread_create(&workers[nworkers++], NULL, fn, arg), 0);
    pthread_mutex_unlock(&workers_mu);
}

FX void join_workers(void)
{
    pthread_mutex_lock(&workers_mu);
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    nworkers = 0;
    pthread_mutex_unlock(&workers_mu);
}

/* Shared state between a test and the stream workers it observes. */
FX struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool first_sent, released, done, cancelled, may_end;
    double t_false; /* when send first returned false */
} w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0};

FX void w_reset(void)
{
    pthread_mutex_lock(&w.mu);
    w.first_sent = w.released = w.done = w.cancelled = w.may_end = false;
    w.t_false = 0;
    pthread_mutex_unlock(&w.mu);
}

FX void w_set(bool *flag)
{
    pthread_mutex_lock(&w.mu);
    *flag = true;
    pthread_cond_broadcast(&w.cv);
    pthread_mutex_unlock(&w.mu);
}

FX bool w_wait(const bool *flag, double timeout_s)
{
    double end = now_s() + timeout_s;
    pthread_mutex_lock(&w.mu);
    while (!*flag && now_s() < end) {
        pthread_mutex_unlock(&w.mu);
        sleep_ms(2);
        pthread_mutex_lock(&w.mu);
    }
    bool ok = *flag;
    pthread_mutex_unlock(&w.mu);
    return ok;
}

/* ---- handlers -------------------------------------------------------------------------- */

FX void h_hello(ccai_http_req *r, void *arg)
{
    (void)arg;
    json_t *o = json_pack("{s:s,s:b}", "hello", "world", "tls", ccai_http_is_tls(r));
    ccai_http_reply_json(r, 200, o);
    json_decref(o);
}

FX void h_echo(ccai_http_req *r, void *arg)
{
    (void)arg;
    json_t *o = json_object();
    json_object_set_new(o, "method", json_string(ccai_http_method(r)));
    json_object_set_new(o, "path", json_string(ccai_http_path(r)));
    const char *names[] = {"name", "x", "empty", "flag", "missing"};
    for (size_t i = 0; i < 5; i++) {
        const char *v = ccai_http_query(r, names[i]);
        json_object_set_new(o, names[i], v ? json_string(v) : json_null());
    }
    const char *h = ccai_http_header(r, "x-test");
    json_object_set_new(o, "x-test", h ? json_string(h) : json_null());
    json_object_set_new(o, "client", json_string(ccai_http_client_addr(r)));
    size_t n;
    ccai_http_body(r, &n);
    json_object_set_new(o, "body_len", json_integer((json_int_t)n));
    ccai_http_reply_json(r, 200, o);
    json_decref(o);
}

FX void h_conn(ccai_http_req *r, void *arg)
{
    (void)arg;
    int nodelay = 0;
    socklen_t sl = sizeof nodelay;
    assert_int_equal(getsockopt(ccai_http_req_fd(r), IPPROTO_TCP, TCP_NODELAY, &nodelay, &sl), 0);
    json_t *o = json_pack("{s:i,s:i}", "port", ccai_http_client_port(r), "nodelay", nodelay);
    ccai_http_reply_json(r, 200, o);
    json_decref(o);
}

FX void h_headers(ccai_http_req *r, void *arg)
{
    (void)arg;
    assert_true(ccai_http_set_header(r, "Retry-After", "7"));
    assert_true(ccai_http_set_header(r, "Set-Cookie", "a=1"));
    assert_true(ccai_http_set_header(r, "Set-Cookie", "b=2"));
    assert_true(ccai_http_set_header(r, "X-Frame-Options", "SAMEORIGIN")); /* replaces default */
    assert_false(ccai_http_set_header(r, "X-Bad", "v\r\nInjected: yes"));
    ccai_http_reply_error(r, 429, "slow down: %d requests \xff", 3);
    assert_false(ccai_http_set_header(r, "X-Late", "1"));
}

FX void h_noreply(ccai_http_req *r, void *arg)
{
    (void)r;
    (void)arg;
}

typedef struct {
    ccai_http_stream *s;
    int n, gap_ms;
} stream_job;

/* Sends n NDJSON lines, gap_ms apart, then ends. */
FX void *stream_worker(void *arg)
{
    stream_job *j = arg;
    char line[32];
    for (int i = 0; i < j->n; i++) {
        if (i && j->gap_ms)
            sleep_ms(j->gap_ms);
        int len = snprintf(line, sizeof line, "{\"i\":%d}\n", i);
        if (!ccai_http_stream_send(j->s, line, (size_t)len))
            break;
    }
    ccai_http_stream_end(j->s);
    free(j);
    return NULL;
}

FX void h_stream(ccai_http_req *r, void *arg)
{
    (void)arg;
    stream_job *j = ccai_xcalloc(1, sizeof *j);
    const char *n = ccai_http_query(r, "n"), *gap = ccai_http_query(r, "gap_ms");
    j->n = n ? atoi(n) : 100;
    j->gap_ms = gap ? atoi(gap) : 0;
    j->s = ccai_http_stream_start(r, 200, "application/x-ndjson");
    assert_non_null(j->s);
    assert_null(ccai_http_stream_start(r, 200, "text/plain")); /* one answer only */
    spawn(stream_worker, j);
}

/* Sends until the client goes away; records when send turned false. */
FX void *watch_worker(void *arg)
{
    ccai_http_stream *s = arg;
    for (int i = 0; i < 4000; i++) {
        if (!ccai_http_stream_send(s, "{\"token\":\"x\"}\n", 14))
            break;
        sleep_ms(5);
    }
    pthread_mutex_lock(&w.mu);
    w.t_false = now_s();
    w.cancelled = ccai_http_stream_cancelled(s);
    pthread_mutex_unlock(&w.mu);
    ccai_http_stream_end(s);
    w_set(&w.done);
    return NULL;
}

FX void h_watch(ccai_http_req *r, void *arg)
{
    (void)arg;
    spawn(watch_worker, ccai_http_stream_start(r, 200, "text/event-stream"));
}

/* Sends "first", then holds the stream open until released (then "last")
 * or cancelled; ends only once allowed to, to outlive the server if asked. */
FX void *hold_worker(void *arg)
{
    ccai_http_stream *s = arg;
    assert_true(ccai_http_stream_send(s, "first\n", 6));
    w_set(&w.first_sent);
    for (;;) {
        pthread_mutex_lock(&w.mu);
        bool released = w.released;
        pthread_mutex_unlock(&w.mu);
        if (released || ccai_http_stream_cancelled(s))
            break;
        sleep_ms(5);
    }
    bool cancelled = ccai_http_stream_cancelled(s);
    if (!cancelled)
        assert_true(ccai_http_stream_send(s, "last\n", 5));
    pthread_mutex_lock(&w.mu);
    w.cancelled = cancelled;
    pthread_mutex_unlock(&w.mu);
    w_wait(&w.may_end, 10);
    if (cancelled)
        assert_false(ccai_http_stream_send(s, "late\n", 5));
    ccai_http_stream_end(s);
    w_set(&w.done);
    return NULL;
}

FX void h_hold(ccai_http_req *r, void *arg)
{
    (void)arg;
    spawn(hold_worker, ccai_http_stream_start(r, 200, "text/plain"));
}

FX void *defer_worker(void *arg)
{
    ccai_http_stream *s = arg;
    sleep_ms(20);
    json_t *o = json_pack("{s:s}", "answer", "later");
    ccai_http_stream_reply_json(s, 201, o);
    json_decref(o);
    return NULL;
}

/* A value longer than the handle's first header buffer, so that it grows. */
FX const char LONG_COOKIE[] = "long=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                              "0123456789abcdef0123456789abcdef; Path=/; HttpOnly";

/* A deferred reply with headers set from the worker. */
FX void *defer_headers_worker(void *arg)
{
    ccai_http_stream *s = arg;
    sleep_ms(20);
    assert_true(ccai_http_stream_set_header(s, "Retry-After", "7"));
    assert_true(ccai_http_stream_set_header(s, "Set-Cookie", "a=1"));
    assert_true(ccai_http_stream_set_header(s, "Set-Cookie", LONG_COOKIE));
    assert_true(ccai_http_stream_set_header(s, "X-Frame-Options", "SAMEORIGIN"));
    assert_false(ccai_http_stream_set_header(s, "X-Bad", "v\r\nInjected: yes"));
    assert_false(ccai_http_stream_set_header(s, "Bad Name", "v"));
    assert_false(ccai_http_stream_set_header(NULL, "X-None", "v"));
    ccai_http_stream_reply_error(s, 429, "later: %d", 2);
    return NULL;
}

FX void *defer_noreply_worker(void *arg)
{
    ccai_http_stream_end(arg);
    return NULL;
}

FX void h_defer(ccai_http_req *r, void *arg)
{
    (void)arg;
    ccai_http_stream *s = ccai_http_defer(r);
    assert_false(ccai_http_stream_send(s, "x", 1)); /* deferred handles take no chunks */
    spawn(ccai_http_query(r, "noreply")   ? defer_noreply_worker
          : ccai_http_query(r, "headers") ? defer_headers_worker
                                          : defer_worker,
          s);
}

/* ---- the server under test ----------------------------------------------------------------- */

typedef struct {
    ccai_http_server *srv;
    ccai_tls *tls;
    pthread_t thr;
    atomic_bool returned;
    char url[64];
} server;

FX void *run_thread(void *arg)
{
    server *s = arg;
    ccai_err err = {0};
    assert_int_equal(ccai_http_server_run(s->srv, &err), CCAI_OK);
    atomic_store(&s->returned, true);
    return NULL;
}

FX const char *const DEFAULT_HEADERS[] = {"X-Content-Type-Options", "nosniff",
                                              "X-Frame-Options", "DENY", NULL};

FX void start(server *s, bool tls, ccai_http_opts o)
{
    memset(s, 0, sizeof *s);
    ccai_err err = {0};
    if (tls)
        assert_int_equal(ccai_tls_ctx_new(NULL, NULL, &s->tls, &err), CCAI_OK);
    o.listen = "127.0.0.1:0";
    o.tls = s->tls;
    o.headers = DEFAULT_HEADERS;
    assert_int_equal(ccai_http_server_new(&o, &s->srv, &err), CCAI_OK);
    assert_int_not_equal(ccai_http_server_port(s->srv), 0);
    struct {
        const char *method, *path;
        ccai_http_handler fn;
    } routes[] = {
        {"GET", "/hello", h_hello},   {NULL, "/files/*", h_echo},    {"GET", "/echo", h_echo},
        {"POST", "/echo", h_echo},    {"GET", "/conn", h_conn},      {"GET", "/headers", h_headers},
        {"GET", "/noreply", h_noreply}, {"GET", "/stream", h_stream}, {"GET", "/watch", h_watch},
        {"GET", "/hold", h_hold},     {"GET", "/defer", h_defer},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        assert_int_equal(ccai_http_route(s->srv, routes[i].method, routes[i].path, routes[i].fn,
                                         NULL, &err),
                         CCAI_OK);
    snprintf(s->url, sizeof s->url, "%s://127.0.0.1:%u", tls ? "https" : "http",
             ccai_http_server_port(s->srv));
    assert_int_equal(pthread_create(&s->thr, NULL, run_thread, s), 0);
}

FX void finish(server *s)
{
    ccai_http_server_stop(s->srv);
    pthread_join(s->thr, NULL);
    assert_true(atomic_load(&s->returned));
    ccai_http_server_free(s->srv);
    join_workers();
    ccai_tls_free(s->tls);
}

/* ---- the client ------------------------------------------------------------------------------ */

typedef struct {
    long status;
    ccai_buf body, headers;
    int abort_after_lines; /* 0: read everything */
    double t_abort;
} resp;

FX size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    resp *r = arg;
    ccai_buf_append(&r->body, p, sz * n);
    if (r->abort_after_lines) {
        int lines = 0;
        for (size_t i = 0; i < r->body.len; i++)
            lines += r->body.data[i] == '\n';
        if (lines >= r->abort_after_lines) {
            r->t_abort = now_s();
            return 0; /* curl aborts the transfer and drops the connection */
        }
    }
    return sz * n;
}

FX size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    ccai_buf_append(&((resp *)arg)->headers, p, sz * n);
    return sz * n;
}

FX CURL *client(const server *s)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    if (s->tls) {
        const char *pem = ccai_tls_cert_pem(s->tls);
        struct curl_blob ca = {(void *)(uintptr_t)pem, strlen(pem), CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    return c;
}

/* One request; fills *r (caller frees its buffers). */
FX CURLcode perform(CURL *c, const char *url, const char *method, const char *body,
                        size_t blen, struct curl_slist *hdrs, resp *r)
{
    r->status = 0;
    r->body = (ccai_buf){0};
    r->headers = (ccai_buf){0};
    r->t_abort = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, strcmp(method, "GET") == 0 ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") == 0 ? NULL : method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    ccai_buf_append(&r->body, "", 1); /* NUL-terminate for string checks */
    r->body.len--;
    ccai_buf_append(&r->headers, "", 1);
    r->headers.len--;
    return rc;
}

FX void resp_free(resp *r)
{
    ccai_buf_free(&r->body);
    ccai_buf_free(&r->headers);
}

/* GET path: 429 with want_body, and the headers h_headers and
 * defer_headers_worker set: Retry-After 7, Set-Cookie a=1 and cookie2 (both
 * kept), X-Frame-Options replacing the default, the CR LF value refused. */
FX void expect_set_headers(const server *s, const char *path, const char *want_body,
                               const char *cookie2)
{
    CURL *c = client(s);
    char *url = ccai_xasprintf("%s%s", s->url, path);
    resp r;
    assert_int_equal(perform(c, url, "GET", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 429);
    assert_string_equal((char *)r.body.data, want_body);
    const char *h = (char *)r.headers.data;
    char *want = ccai_xasprintf("set-cookie: %s\r\n", cookie2);
    assert_non_null(strcasestr(h, "retry-after: 7\r\n"));
    assert_non_null(strcasestr(h, "set-cookie: a=1\r\n"));
    assert_non_null(strcasestr(h, want));
    assert_non_null(strcasestr(h, "x-frame-options: SAMEORIGIN\r\n"));
    assert_null(strcasestr(h, "x-frame-options: DENY"));
    assert_null(strcasestr(h, "injected"));
    free(want);
    resp_free(&r);
    free(url);
    curl_easy_cleanup(c);
}

/* GET/POST url and expect status and an exact body. */
FX void expect(const server *s, const char *method, const char *path, long status,
                   const char *want_body)
{
    CURL *c = client(s);
    char *url = ccai_xasprintf("%s%s", s->url, path);
    resp r;
    r.abort_after_lines = 0;
    assert_int_equal(perform(c, url, method, NULL, 0, NULL, &r), CURLE_OK);
    if (r.status != status || (want_body && strcmp((char *)r.body.data, want_body) != 0))
        fail_msg("%s %s: expected %ld %s, found %ld %s", method, path, status,
                 want_body ? want_body : "", r.status, (char *)r.body.data);
    resp_free(&r);
    free(url);
    curl_easy_cleanup(c);
}

#endif
