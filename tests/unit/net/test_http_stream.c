/* Tests for src/net/http_stream.c with a real server (http_fixture.h):
 * streams fed from worker threads arrive whole and in order over TLS and
 * plain HTTP; a client that disconnects mid-stream turns send false and
 * cancelled true within a short bound; stop while a stream is open is
 * graceful within the grace period and forced after it, with the worker's
 * handle outliving the freed server; quiet streams survive the read timeout
 * while idle connections do not; pipelined requests behind a stream and
 * HTTP/1.0 streams; deferred replies. */
#include "http_fixture.h"

static void stream_100(bool tls)
{
    server s;
    start(&s, tls, (ccai_http_opts){0});
    CURL *c = client(&s);
    char *url = ccai_xasprintf("%s/stream?n=100", s.url);
    resp r = {0};
    assert_int_equal(perform(c, url, "GET", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr((char *)r.headers.data, "transfer-encoding: chunked\r\n"));
    assert_non_null(strcasestr((char *)r.headers.data, "content-type: application/x-ndjson\r\n"));
    ccai_buf want = {0};
    char line[32];
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof line, "{\"i\":%d}\n", i);
        ccai_buf_append_str(&want, line);
    }
    ccai_buf_append(&want, "", 1);
    assert_string_equal((char *)r.body.data, (char *)want.data);
    ccai_buf_free(&want);
    resp_free(&r);
    free(url);
    curl_easy_cleanup(c);
    finish(&s);
}

static void test_stream_from_worker(void **state)
{
    (void)state;
    stream_100(false);
    stream_100(true);
}

/* Regression: over TLS, ending a stream right after a chunk while libevent
 * still had a deferred "output drained" callback queued completed the
 * request early and stranded the last chunk (the client hung). The race is
 * timing-dependent, so many short streams. */
static void test_tls_stream_endings(void **state)
{
    (void)state;
    server s;
    start(&s, true, (ccai_http_opts){0});
    char *url = ccai_xasprintf("%s/stream?n=100", s.url);
    for (int i = 0; i < 40; i++) {
        CURL *c = client(&s);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        resp r = {0};
        assert_int_equal(perform(c, url, "GET", NULL, 0, NULL, &r), CURLE_OK);
        assert_int_equal(r.body.len, 890); /* {"i":0}\n .. {"i":99}\n */
        resp_free(&r);
        curl_easy_cleanup(c);
    }
    free(url);
    finish(&s);
}

/* The client drops the connection after 3 lines: the worker's send turns
 * false and cancelled turns true within a short bound. */
static void disconnect(bool tls)
{
    server s;
    start(&s, tls, (ccai_http_opts){0});
    w_reset();
    CURL *c = client(&s);
    char *url = ccai_xasprintf("%s/watch", s.url);
    resp r = {0};
    r.abort_after_lines = 3;
    assert_int_equal(perform(c, url, "GET", NULL, 0, NULL, &r), CURLE_WRITE_ERROR);
    curl_easy_cleanup(c);
    assert_true(w_wait(&w.done, 5));
    pthread_mutex_lock(&w.mu);
    double lag = w.t_false - r.t_abort;
    assert_true(w.cancelled);
    pthread_mutex_unlock(&w.mu);
    print_message("%s disconnect noticed after %.1f ms\n", tls ? "TLS" : "plain", lag * 1e3);
    assert_true(lag < 1.0);
    resp_free(&r);
    free(url);

    /* A quiet stream (a long prefill: nothing written) is cancelled too:
     * the socket watch notices the hang-up without any write failing. */
    w_reset();
    w_set(&w.may_end);
    c = client(&s);
    url = ccai_xasprintf("%s/hold", s.url);
    r.abort_after_lines = 1;
    assert_int_equal(perform(c, url, "GET", NULL, 0, NULL, &r), CURLE_WRITE_ERROR);
    curl_easy_cleanup(c);
    assert_true(w_wait(&w.cancelled, 5));
    lag = now_s() - r.t_abort;
    print_message("%s quiet disconnect noticed after %.1f ms\n", tls ? "TLS" : "plain",
                  lag * 1e3);
    assert_true(lag < 1.0);
    assert_true(w_wait(&w.done, 5));
    resp_free(&r);
    free(url);
    finish(&s);
}

static void test_disconnect_cancels(void **state)
{
    (void)state;
    disconnect(false);
    disconnect(true);
}

typedef struct {
    const server *s;
    CURLcode rc;
    resp r;
} client_job;

static void *client_thread(void *arg)
{
    client_job *j = arg;
    CURL *c = client(j->s);
    char *url = ccai_xasprintf("%s/hold", j->s->url);
    j->r.abort_after_lines = 0;
    j->rc = perform(c, url, "GET", NULL, 0, NULL, &j->r);
    free(url);
    curl_easy_cleanup(c);
    return NULL;
}

/* Stop while a stream is open. Graceful: the worker finishes within the
 * grace period and the client gets the whole stream. Forced: the grace runs
 * out, the connection closes, the worker sees cancelled, and its handle
 * outlives the freed server. */
static void stop_with_stream(bool graceful)
{
    server s;
    start(&s, true, (ccai_http_opts){.stop_grace_ms = graceful ? 5000 : 200});
    w_reset();
    client_job j = {.s = &s};
    pthread_t ct;
    assert_int_equal(pthread_create(&ct, NULL, client_thread, &j), 0);
    assert_true(w_wait(&w.first_sent, 5));
    sleep_ms(50);
    double t0 = now_s();
    ccai_http_server_stop(s.srv);
    if (graceful) {
        sleep_ms(100);
        assert_false(atomic_load(&s.returned)); /* waits for the stream */
        w_set(&w.may_end);
        w_set(&w.released);
    }
    pthread_join(s.thr, NULL);
    double took = now_s() - t0;
    assert_true(took < 3.0);
    pthread_join(ct, NULL);
    if (graceful) {
        assert_int_equal(j.rc, CURLE_OK);
        assert_string_equal((char *)j.r.body.data, "first\nlast\n");
    } else {
        assert_int_not_equal(j.rc, CURLE_OK); /* cut short, not a complete reply */
        assert_string_equal((char *)j.r.body.data, "first\n");
        assert_true(w_wait(&w.cancelled, 5));
    }
    ccai_http_server_free(s.srv);
    w_set(&w.may_end); /* forced: the worker ends its handle only now */
    assert_true(w_wait(&w.done, 5));
    join_workers();
    ccai_tls_free(s.tls);
    resp_free(&j.r);
}

static void test_stop_with_open_stream(void **state)
{
    (void)state;
    stop_with_stream(true);
    stop_with_stream(false);
}

/* A raw TCP client, for what curl would hide. */
static int raw_connect(const server *s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(ccai_http_server_port(s->srv))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Reads until the server closes (or 10 s pass); returns the bytes. */
static char *raw_read_all(int fd)
{
    ccai_buf b = {0};
    char tmp[4096];
    ssize_t n;
    while ((n = recv(fd, tmp, sizeof tmp, 0)) > 0)
        ccai_buf_append(&b, tmp, (size_t)n);
    ccai_buf_append(&b, "", 1);
    return (char *)ccai_buf_steal(&b, NULL);
}

static void test_quiet_stream_and_idle_timeout(void **state)
{
    (void)state;
    server s;
    start(&s, false, (ccai_http_opts){.read_timeout_s = 1, .write_timeout_s = 1});
    /* Tokens 1.5 s apart: longer than both timeouts, yet the stream lives. */
    CURL *c = client(&s);
    char *url = ccai_xasprintf("%s/stream?n=3&gap_ms=1500", s.url);
    resp r = {0};
    assert_int_equal(perform(c, url, "GET", NULL, 0, NULL, &r), CURLE_OK);
    assert_string_equal((char *)r.body.data, "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n");
    resp_free(&r);
    free(url);
    curl_easy_cleanup(c);

    /* A connection that sends nothing is closed after the read timeout. */
    int fd = raw_connect(&s);
    double t0 = now_s();
    char *got = raw_read_all(fd);
    double took = now_s() - t0;
    assert_string_equal(got, "");
    assert_true(took > 0.5 && took < 5.0);
    free(got);
    close(fd);
    finish(&s);
}

static void test_pipelining_and_http10(void **state)
{
    (void)state;
    server s;
    start(&s, false, (ccai_http_opts){0});
    /* Two requests in one write, the first a stream: answered in order. */
    int fd = raw_connect(&s);
    const char req[] = "GET /stream?n=3&gap_ms=30 HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof req - 1, 0), (ssize_t)(sizeof req - 1));
    char *got = raw_read_all(fd);
    close(fd);
    const char *a = strstr(got, "{\"i\":2}\n"), *b = strstr(got, "{\"hello\":\"world\"");
    assert_true(a && b && a < b);
    assert_non_null(strstr(got, "\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"));
    free(got);

    /* A HEAD answer is the GET's headers, Content-Length included, and no
     * body: the next answer on the connection starts right after them. */
    fd = raw_connect(&s);
    const char reqh[] = "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(send(fd, reqh, sizeof reqh - 1, 0), (ssize_t)(sizeof reqh - 1));
    got = raw_read_all(fd);
    close(fd);
    const char *end = strstr(got, "\r\n\r\n");
    assert_non_null(end);
    assert_true(strncmp(got, "HTTP/1.1 200 ", 13) == 0);
    assert_non_null(strcasestr(got, "content-length: 29\r\n"));
    assert_true(strncmp(end + 4, "HTTP/1.1 200 ", 13) == 0);
    assert_non_null(strstr(end + 4, "\r\n\r\n{\"hello\":\"world\",\"tls\":false}"));
    free(got);

    /* HTTP/1.0 has no chunked encoding: the body ends with the connection. */
    fd = raw_connect(&s);
    const char req10[] = "GET /stream?n=2 HTTP/1.0\r\n\r\n";
    assert_int_equal(send(fd, req10, sizeof req10 - 1, 0), (ssize_t)(sizeof req10 - 1));
    got = raw_read_all(fd);
    close(fd);
    assert_null(strcasestr(got, "transfer-encoding"));
    const char *body = strstr(got, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, "{\"i\":0}\n{\"i\":1}\n");
    free(got);
    finish(&s);
}

/* A request whose body libevent does not read (TRACE) must not leave that
 * body to be parsed as the next request: the body here is a whole request,
 * and only the 501 may come back, then the connection ends. The same for a
 * method libevent does not know. A HEAD's body is read and dropped. */
static void test_no_smuggled_request(void **state)
{
    (void)state;
    server s;
    start(&s, false, (ccai_http_opts){0});
    static const char *const methods[] = {"TRACE", "CONNECT", "FOO", "get"};
    const char inner[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        int fd = raw_connect(&s);
        char *req = ccai_xasprintf("%s /hello HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                                   methods[i], sizeof inner - 1, inner);
        assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
        char *got = raw_read_all(fd);
        close(fd);
        if (strncmp(got, "HTTP/1.1 501 ", 13) != 0 || strstr(got + 1, "HTTP/1.1") ||
            strstr(got, "hello"))
            fail_msg("%s with a request as its body: expected one 501, found %s", methods[i], got);
        free(got);
        free(req);
    }
    /* libevent does not read a HEAD's body either: a HEAD that declares one
     * is refused (400) and the connection closed before the body is parsed.
     * A GET's body is read: the GET after it is answered, nothing between. */
    static const struct {
        const char *method, *want;
    } after[] = {
        {"HEAD", "HTTP/1.1 400 "},
        {"GET", "HTTP/1.1 200 "},
    };
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
        int fd = raw_connect(&s);
        char *req = ccai_xasprintf("%s /hello HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s"
                                   "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                   after[i].method, sizeof inner - 1, inner);
        assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
        char *got = raw_read_all(fd);
        close(fd);
        const char *second = strstr(got + 1, "HTTP/1.1 ");
        bool head = !strcmp(after[i].method, "HEAD");
        if (strncmp(got, after[i].want, strlen(after[i].want)) != 0 || (head && second) ||
            (!head && (!second || strstr(second + 1, "HTTP/1.1 "))))
            fail_msg("%s with a request as its body: found %s", after[i].method, got);
        free(got);
        free(req);
    }
    finish(&s);
}

static void test_deferred_reply(void **state)
{
    (void)state;
    server s;
    start(&s, true, (ccai_http_opts){0});
    expect(&s, "GET", "/defer", 201, "{\"answer\":\"later\"}");
    expect(&s, "GET", "/defer?noreply", 500,
           "{\"error\":\"internal error: the request ended without an answer\"}");

    /* Headers set by the worker reach the client as a handler's do (one
     * longer than the handle's first buffer among them). */
    expect_set_headers(&s, "/defer?headers", "{\"error\":\"later: 2\"}", LONG_COOKIE);
    finish(&s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_from_worker),
        cmocka_unit_test(test_tls_stream_endings),
        cmocka_unit_test(test_disconnect_cancels),
        cmocka_unit_test(test_stop_with_open_stream),
        cmocka_unit_test(test_quiet_stream_and_idle_timeout),
        cmocka_unit_test(test_pipelining_and_http10),
        cmocka_unit_test(test_no_smuggled_request),
        cmocka_unit_test(test_deferred_reply),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
