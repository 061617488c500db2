/* Tests for src/net/http.c and http_req.c: a real server on 127.0.0.1 port 0
 * (http_fixture.h), talked to with libcurl over TLS and plain HTTP: routing
 * (exact, prefix, 405, 404, 500 for a silent handler), query and path
 * decoding, headers, body and header limits, the TLS certificate and its SPKI
 * hash as the client sees them, keep-alive with TCP_NODELAY, listen-address
 * errors, stop before run, cross-thread calls and stop on a signal. */
#include "http_fixture.h"

/* ---- tests ---------------------------------------------------------------------------- */

static void test_routing(void **state)
{
    (void)state;
    server s;
    start(&s, false, (ccai_http_opts){0});
    expect(&s, "GET", "/hello", 200, "{\"hello\":\"world\",\"tls\":false}");
    expect(&s, "HEAD", "/hello", 200, "");
    expect(&s, "POST", "/hello", 405,
           "{\"error\":\"method POST is not allowed on /hello (allowed: GET, HEAD)\"}");
    expect(&s, "GET", "/nope", 404, "{\"error\":\"no such endpoint: GET /nope\"}");
    expect(&s, "GET", "/hello/more", 404, "{\"error\":\"no such endpoint: GET /hello/more\"}");
    expect(&s, "GET", "/noreply", 500,
           "{\"error\":\"internal error: the handler for GET /noreply did not answer\"}");
    expect(&s, "GET", "/files/%00x", 400, "{\"error\":\"the request path decodes to a NUL byte\"}");
    expect(&s, "GET", "/hello?x=%00", 400,
           "{\"error\":\"a query parameter decodes to a NUL byte\"}");

    /* A prefix route takes any method and sees the decoded path. */
    CURL *c = client(&s);
    resp r = {0};
    char *url = ccai_xasprintf("%s/files/a%%20b/%%E2%%9C%%93", s.url);
    assert_int_equal(perform(c, url, "DELETE", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    json_t *o = json_loads((char *)r.body.data, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "path")), "/files/a b/\u2713");
    assert_string_equal(json_string_value(json_object_get(o, "method")), "DELETE");
    json_decref(o);
    assert_non_null(strcasestr((char *)r.headers.data, "content-type: application/json\r\n"));
    assert_non_null(strcasestr((char *)r.headers.data, "x-content-type-options: nosniff\r\n"));
    resp_free(&r);
    free(url);

    /* Extra headers, repeated Set-Cookie, a replaced default, non-UTF-8 made safe. */
    expect_set_headers(&s, "/headers", "{\"error\":\"slow down: 3 requests ?\"}", "b=2");
    curl_easy_cleanup(c);
    finish(&s);
}

static void test_query_and_body(void **state)
{
    (void)state;
    server s;
    start(&s, false, (ccai_http_opts){.max_body_bytes = 1024, .max_header_bytes = 2048});
    CURL *c = client(&s);
    struct curl_slist *hdrs = curl_slist_append(NULL, "X-Test: yes");
    hdrs = curl_slist_append(hdrs, "Expect:");
    resp r = {0};
    char *url = ccai_xasprintf("%s/echo?name=a%%20b+c&x=%%E2%%9C%%93&empty=&flag&&", s.url);
    assert_int_equal(perform(c, url, "GET", NULL, 0, hdrs, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body.data,
                        "{\"method\":\"GET\",\"path\":\"/echo\",\"name\":\"a b c\","
                        "\"x\":\"\u2713\","
                        "\"empty\":\"\",\"flag\":\"\",\"missing\":null,\"x-test\":\"yes\","
                        "\"client\":\"127.0.0.1\",\"body_len\":0}");
    resp_free(&r);
    free(url);

    /* Body limit: 1024 bytes pass, 1025 get libevent's 413. */
    url = ccai_xasprintf("%s/echo", s.url);
    char *big = ccai_xmalloc(4096);
    memset(big, 'a', 4096);
    assert_int_equal(perform(c, url, "POST", big, 1024, hdrs, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((char *)r.body.data, "\"body_len\":1024"));
    resp_free(&r);
    assert_int_equal(perform(c, url, "POST", big, 1025, hdrs, &r), CURLE_OK);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    assert_int_equal(perform(c, url, "POST", big, 4096, hdrs, &r), CURLE_OK);
    assert_int_equal(r.status, 413);
    resp_free(&r);

    /* Header limit: libevent answers 400 (it has no 431). */
    char *hv = ccai_xmalloc(3000);
    memcpy(hv, "X-Big: ", 7);
    memset(hv + 7, 'b', 2992);
    hv[2999] = '\0';
    struct curl_slist *bigh = curl_slist_append(NULL, hv);
    assert_int_equal(perform(c, url, "GET", NULL, 0, bigh, &r), CURLE_OK);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    /* The server is fine afterwards. */
    assert_int_equal(perform(c, url, "GET", NULL, 0, hdrs, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    curl_slist_free_all(bigh);
    curl_slist_free_all(hdrs);
    free(hv);
    free(big);
    free(url);
    curl_easy_cleanup(c);
    finish(&s);
}

static void test_tls_binding(void **state)
{
    (void)state;
    server s;
    start(&s, true, (ccai_http_opts){0});
    char *url = ccai_xasprintf("%s/hello", s.url);
    char *b64 = ccai_b64_encode(ccai_tls_spki_sha256(s.tls), 32, CCAI_B64_STD);
    char *pin = ccai_xasprintf("sha256//%s", b64);
    resp r = {0};

    /* Verified against the generated certificate, pinned by its SPKI hash:
     * the relying party's check, done by curl itself. */
    CURL *c = client(&s);
    curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pin);
    curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    assert_int_equal(perform(c, url, "GET", NULL, 0, NULL, &r), CURLE_OK);
    assert_string_equal((char *)r.body.data, "{\"hello\":\"world\",\"tls\":true}");
    resp_free(&r);
    /* And the certificate curl received hashes to the same SPKI digest. */
    struct curl_certinfo *ci = NULL;
    assert_int_equal(curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci), CURLE_OK);
    assert_true(ci && ci->num_of_certs == 1);
    const char *pem = NULL;
    for (struct curl_slist *e = ci->certinfo[0]; e; e = e->next)
        if (strncmp(e->data, "Cert:", 5) == 0)
            pem = e->data + 5;
    assert_non_null(pem);
    uint8_t seen[32];
    ccai_err err = {0};
    assert_int_equal(ccai_tls_pem_spki_sha256(pem, strlen(pem), seen, &err), CCAI_OK);
    assert_memory_equal(seen, ccai_tls_spki_sha256(s.tls), 32);
    curl_easy_cleanup(c);

    /* The DNS name in the SAN works too. */
    c = client(&s);
    char *resolve = ccai_xasprintf("localhost:%u:127.0.0.1", ccai_http_server_port(s.srv));
    struct curl_slist *res = curl_slist_append(NULL, resolve);
    curl_easy_setopt(c, CURLOPT_RESOLVE, res);
    char *url2 = ccai_xasprintf("https://localhost:%u/hello", ccai_http_server_port(s.srv));
    assert_int_equal(perform(c, url2, "GET", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    curl_easy_cleanup(c);

    /* Fails closed: a wrong pin, or no trust in the certificate. */
    c = client(&s);
    curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY,
                     "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_int_equal(perform(c, url, "GET", NULL, 0, NULL, &r), CURLE_SSL_PINNEDPUBKEYNOTMATCH);
    resp_free(&r);
    curl_easy_cleanup(c);
    ccai_tls *other = NULL; /* trusting another generated certificate instead */
    assert_int_equal(ccai_tls_ctx_new(NULL, NULL, &other, &err), CCAI_OK);
    c = curl_easy_init();
    const char *opem = ccai_tls_cert_pem(other);
    struct curl_blob ca = {(void *)(uintptr_t)opem, strlen(opem), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
    assert_int_equal(perform(c, url, "GET", NULL, 0, NULL, &r), CURLE_PEER_FAILED_VERIFICATION);
    resp_free(&r);
    curl_easy_cleanup(c);
    ccai_tls_free(other);

    curl_slist_free_all(res);
    free(resolve);
    free(url2);
    free(pin);
    free(b64);
    free(url);
    finish(&s);
}

/* 20 requests on one connection: the same client port each time, TCP_NODELAY
 * on the accepted socket, and no 40 ms Nagle/delayed-ACK stalls. */
static void keepalive(bool tls)
{
    server s;
    start(&s, tls, (ccai_http_opts){0});
    CURL *c = client(&s);
    char *url = ccai_xasprintf("%s/conn", s.url);
    resp r = {0};
    long port0 = -1;
    double t0 = 0;
    for (int i = 0; i < 21; i++) {
        if (i == 1)
            t0 = now_s(); /* the first request pays for the connection */
        assert_int_equal(perform(c, url, "GET", NULL, 0, NULL, &r), CURLE_OK);
        json_t *o = json_loads((char *)r.body.data, 0, NULL);
        long port = (long)json_integer_value(json_object_get(o, "port"));
        assert_int_equal(json_integer_value(json_object_get(o, "nodelay")), 1);
        if (i == 0)
            port0 = port;
        assert_int_equal(port, port0);
        long conns = -1;
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
        assert_int_equal(conns, i == 0 ? 1 : 0);
        json_decref(o);
        resp_free(&r);
    }
    double total = now_s() - t0;
    print_message("%s keep-alive: 20 requests in %.1f ms\n", tls ? "TLS" : "plain", total * 1e3);
    assert_true(total < 20 * 0.040);
    free(url);
    curl_easy_cleanup(c);
    finish(&s);
}

static void test_keepalive_nodelay(void **state)
{
    (void)state;
    keepalive(false);
    keepalive(true);
}

static void test_listen_errors(void **state)
{
    (void)state;
    struct {
        const char *listen, *msg;
    } bad[] = {
        {"127.0.0.1", "http: expected HOST:PORT (IPv6 in brackets) as the listen address, "
                      "found \"127.0.0.1\""},
        {"127.0.0.1:99999", "http: expected a port 0..65535 after the ':' of \"127.0.0.1:99999\", "
                            "found \"99999\""},
        {"127.0.0.1:http", "found \"http\""},
        {"::1:80", "(IPv6 in brackets)"},
        {"[::1:80", "http: expected [IPV6]:PORT as the listen address, found \"[::1:80\""},
        {":80", "http: expected a host before the port in \":80\""},
        {"300.1.1.1:0", "http: cannot resolve the listen address 300.1.1.1:0"},
    };
    ccai_err err = {0};
    ccai_http_server *srv = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ccai_http_opts o = {.listen = bad[i].listen};
        ccai_code rc = ccai_http_server_new(&o, &srv, &err);
        assert_true(rc == CCAI_ERR_ARG);
        assert_null(srv);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("%s: expected \"%s\" in \"%s\"", bad[i].listen, bad[i].msg, err.msg);
    }
    /* A port in use. */
    ccai_http_opts o = {.listen = "127.0.0.1:0"};
    assert_int_equal(ccai_http_server_new(&o, &srv, &err), CCAI_OK);
    char *addr = ccai_xasprintf("127.0.0.1:%u", ccai_http_server_port(srv));
    ccai_http_server *srv2 = NULL;
    ccai_http_opts o2 = {.listen = addr};
    assert_int_equal(ccai_http_server_new(&o2, &srv2, &err), CCAI_ERR_IO);
    char *want = ccai_xasprintf("http: cannot listen on %s: Address already in use", addr);
    assert_string_equal(err.msg, want);
    /* Header injection through the defaults is refused up front. */
    const char *const evil[] = {"X-A", "b\r\nX-C: d", NULL};
    ccai_http_opts o3 = {.listen = "127.0.0.1:0", .headers = evil};
    assert_int_equal(ccai_http_server_new(&o3, &srv2, &err), CCAI_ERR_ARG);
    assert_int_equal(ccai_http_route(srv, "GET", "relative", h_hello, NULL, &err), CCAI_ERR_ARG);
    free(want);
    free(addr);
    ccai_http_server_free(srv);
}

static void noop_call(void *arg)
{
    (void)arg;
}

static void test_stop_before_run(void **state)
{
    (void)state;
    server s;
    memset(&s, 0, sizeof s);
    ccai_err err = {0};
    ccai_http_opts o = {.listen = "127.0.0.1:0"};
    assert_int_equal(ccai_http_server_new(&o, &s.srv, &err), CCAI_OK);
    ccai_http_server_stop(s.srv);
    assert_int_equal(ccai_http_server_run(s.srv, &err), CCAI_OK);
    assert_int_equal(ccai_http_server_run(s.srv, &err), CCAI_ERR_ARG); /* once only */
    assert_false(ccai_http_server_call(s.srv, noop_call, NULL)); /* run returned */
    ccai_http_server_free(s.srv);
    ccai_http_server_free(NULL);
}

typedef struct {
    pthread_t loop;
    atomic_int ran;
    atomic_bool on_loop;
} call_probe;

static void on_call(void *arg)
{
    call_probe *p = arg;
    atomic_store(&p->on_loop, pthread_equal(pthread_self(), p->loop) != 0);
    atomic_fetch_add(&p->ran, 1);
}

static void test_call_and_signal(void **state)
{
    (void)state;
    server s;
    start(&s, false, (ccai_http_opts){0});
    ccai_err err = {0};
    call_probe p = {.loop = s.thr};
    for (int i = 0; i < 10; i++)
        assert_true(ccai_http_server_call(s.srv, on_call, &p));
    for (int i = 0; i < 500 && atomic_load(&p.ran) < 10; i++)
        sleep_ms(2);
    assert_int_equal(atomic_load(&p.ran), 10);
    assert_true(atomic_load(&p.on_loop));
    finish(&s);

    /* SIGUSR1 stops a server that asked for it. */
    start(&s, false, (ccai_http_opts){0});
    /* Registered after run started: the signal event joins the running loop. */
    assert_int_equal(ccai_http_server_stop_on_signal(s.srv, SIGUSR1, &err), CCAI_OK);
    raise(SIGUSR1);
    for (int i = 0; i < 1000 && !atomic_load(&s.returned); i++)
        sleep_ms(2);
    assert_true(atomic_load(&s.returned));
    finish(&s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_query_and_body),
        cmocka_unit_test(test_tls_binding),
        cmocka_unit_test(test_keepalive_nodelay),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_stop_before_run),
        cmocka_unit_test(test_call_and_signal),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
