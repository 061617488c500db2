/* Tests for the PCS/PCCS collateral client (src/tee/pcs.c). A small HTTP(S)
 * server thread on 127.0.0.1 (ephemeral port, started and stopped by every
 * test's fixture) serves PCS-shaped responses built from the simulated TD's
 * collateral: URL-encoded issuer chains in headers, the signed members
 * embedded with odd spacing and a decoy string, CRLs as DER, hex and PEM.
 * The client's bundle must equal the simulated one byte for byte; the cache,
 * its expiry, offline mode, and every transport and format failure are
 * checked with their exact messages. */
#include "testutil.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/pcs.h"
#include "tee/sim.h"
#include "tee/sim_internal.h"

static const time_t NOW = 1751328000, DAY = 24 * 3600; /* NOW: 2025-07-01T00:00:00Z */
#define TCB_PATH "/tdx/certification/v4/tcb?fmspc=00CCA1000000"
#define QE_PATH "/tdx/certification/v4/qe/identity"
#define PCKCRL_PATH "/sgx/certification/v4/pckcrl?ca=platform&encoding=der"
#define ROOTCRL_PATH "/sgx/certification/v4/rootcacrl"

/* ---- the test server --------------------------------------------------------- */

enum send_mode { SEND_NORMAL, SEND_NO_LENGTH, SEND_TRUNCATED };
enum { MAX_ROUTES = 8 };

typedef struct route {
    char *path, *hdr_name, *hdr_value; /* path and query, exactly as requested */
    int status;
    uint8_t *body;
    size_t body_len;
    enum send_mode mode;
} route;

typedef struct server {
    int fd, port, stop[2];
    bool running;
    pthread_t thread;
    SSL_CTX *tls;          /* NULL: plain HTTP */
    pthread_mutex_t mu;    /* guards routes */
    route routes[MAX_ROUTES];
    int nroutes, requests; /* requests: atomic */
} server;

#define server_requests(s) __atomic_load_n(&(s)->requests, __ATOMIC_SEQ_CST)

typedef struct conn { int fd; SSL *ssl; } conn;

static void conn_write(conn *c, const void *p, size_t n)
{
    if (c->ssl)
        SSL_write(c->ssl, p, (int)n);
    else
        (void)!send(c->fd, p, n, MSG_NOSIGNAL);
}

static void respond(server *s, conn *c, const char *path)
{
    __atomic_add_fetch(&s->requests, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&s->mu);
    route none = {.status = 404, .body = (uint8_t *)"", .mode = SEND_NORMAL}, *r = &none;
    for (int i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].path, path) == 0)
            r = &s->routes[i];
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nConnection: close\r\n", r->status);
    if (r->mode != SEND_NO_LENGTH)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n",
                      r->body_len + (r->mode == SEND_TRUNCATED ? 100 : 0));
    conn_write(c, head, (size_t)n);
    if (r->hdr_name) {
        char *h = ccai_xasprintf("%s: %s\r\n", r->hdr_name, r->hdr_value);
        conn_write(c, h, strlen(h));
        free(h);
    }
    conn_write(c, "\r\n", 2);
    conn_write(c, r->body, r->body_len);
    pthread_mutex_unlock(&s->mu);
}

static void serve_one(server *s, int fd)
{
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    conn c = {.fd = fd};
    if (s->tls) {
        c.ssl = SSL_new(s->tls);
        SSL_set_fd(c.ssl, fd);
        if (SSL_accept(c.ssl) != 1)
            goto done;
    }
    char req[8192];
    size_t len = 0;
    while (len < sizeof req - 1) {
        int n = c.ssl ? SSL_read(c.ssl, req + len, (int)(sizeof req - 1 - len))
                      : (int)recv(fd, req + len, sizeof req - 1 - len, 0);
        if (n <= 0)
            goto done;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    char path[1024];
    if (sscanf(req, "GET %1023s HTTP/1.1", path) == 1)
        respond(s, &c, path);
done:
    if (c.ssl) {
        SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
    }
    close(fd);
}

static void *server_main(void *arg)
{
    server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{s->fd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0 || p[1].revents)
            return NULL;
        int fd = accept(s->fd, NULL, NULL);
        if (fd >= 0)
            serve_one(s, fd);
    }
}

static void server_start(server *s, SSL_CTX *tls)
{
    memset(s, 0, sizeof *s);
    s->tls = tls;
    pthread_mutex_init(&s->mu, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_true(s->fd >= 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pipe(s->stop), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    s->running = true;
}

static void route_free(route *r)
{
    free(r->path);
    free(r->hdr_name);
    free(r->hdr_value);
    free(r->body);
}

static void server_stop(server *s)
{
    if (!s->running)
        return;
    (void)!write(s->stop[1], "x", 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
    close(s->stop[0]);
    close(s->stop[1]);
    for (int i = 0; i < s->nroutes; i++)
        route_free(&s->routes[i]);
    SSL_CTX_free(s->tls);
    pthread_mutex_destroy(&s->mu);
    s->running = false;
}

/* Sets (or replaces) the answer for path. hdr may be NULL. */
static void server_route(server *s, const char *path, int status, const char *hdr_name,
                         const char *hdr_value, const void *body, size_t len, enum send_mode m)
{
    pthread_mutex_lock(&s->mu);
    route *r = NULL;
    for (int i = 0; i < s->nroutes && !r; i++)
        if (strcmp(s->routes[i].path, path) == 0)
            r = &s->routes[i];
    if (!r) {
        assert_true(s->nroutes < MAX_ROUTES);
        r = &s->routes[s->nroutes++];
    } else {
        route_free(r);
    }
    *r = (route){.path = ccai_xstrdup(path), .status = status, .mode = m,
                 .hdr_name = hdr_name ? ccai_xstrdup(hdr_name) : NULL,
                 .hdr_value = hdr_value ? ccai_xstrdup(hdr_value) : NULL,
                 .body = ccai_xmemdup(len ? body : "", len ? len : 1), .body_len = len};
    pthread_mutex_unlock(&s->mu);
}

/* ---- PCS-shaped answers from a bundle ------------------------------------------ */

/* Percent-encodes every byte but RFC 3986's unreserved ones, as Intel does. */
static char *url_encode(const char *s)
{
    char *out = ccai_xmalloc(3 * strlen(s) + 1), *o = out;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            strchr("-_.~", ch))
            *o++ = (char)ch;
        else
            o += sprintf(o, "%%%02X", ch);
    }
    *o = '\0';
    return out;
}

static const char *member(const json_t *b, const char *key)
{
    const char *s = json_string_value(json_object_get(b, key));
    assert_non_null(s);
    return s;
}

/* The four PCS answers: signed JSON with odd (valid) spacing around the
 * member and a decoy string that looks like the member, PCK CRL as DER,
 * Root CA CRL as hex text (PCCS style). */
static void serve_bundle(server *s, const json_t *b)
{
    char *tcb = ccai_xasprintf("{ \"decoy\" : \"}{\\\"tcbInfo\\\":[\" ,\n  \"tcbInfo\"\t:  %s \n, "
                               "\"signature\":\"%s\"  }\n",
                               member(b, "tcb_info"), member(b, "tcb_info_signature"));
    char *qe = ccai_xasprintf("{\"enclaveIdentity\":%s,\"signature\":\"%s\"}",
                              member(b, "qe_identity"), member(b, "qe_identity_signature"));
    char *root_hex = ccai_xasprintf("%s\n", member(b, "root_ca_crl"));
    uint8_t *der = NULL;
    size_t der_len = 0;
    const char *pck_hex = member(b, "pck_crl");
    assert_int_equal(ccai_hex_decode_alloc(pck_hex, strlen(pck_hex), &der, &der_len, NULL), 0);
    static const char *const CHAINS[3][3] = {
        {TCB_PATH, "TCB-Info-Issuer-Chain", "tcb_info_issuer_chain"},
        {QE_PATH, "SGX-Enclave-Identity-Issuer-Chain", "qe_identity_issuer_chain"},
        {PCKCRL_PATH, "SGX-PCK-CRL-Issuer-Chain", "pck_crl_issuer_chain"}};
    const void *body[3] = {tcb, qe, der};
    size_t len[3] = {strlen(tcb), strlen(qe), der_len};
    for (int i = 0; i < 3; i++) {
        char *enc = url_encode(member(b, CHAINS[i][2]));
        server_route(s, CHAINS[i][0], 200, CHAINS[i][1], enc, body[i], len[i], SEND_NORMAL);
        free(enc);
    }
    server_route(s, ROOTCRL_PATH, 200, NULL, NULL, root_hex, strlen(root_hex), SEND_NORMAL);
    free(tcb);
    free(qe);
    free(root_hex);
    free(der);
}

/* ---- fixture ------------------------------------------------------------------- */

typedef struct fixture {
    char *dir, *cache;
    char base[64];
    json_t *bundle;        /* the simulated collateral served, made at NOW */
    server srv, tls_srv;
} fixture;

static json_t *sim_bundle(const char *dir, time_t when)
{
    tee_config cfg = {.state_dir = dir};
    json_t *b = NULL;
    ccai_err err = {0};
    if (tee_sim_collateral(&cfg, when, &b, &err) != CCAI_OK)
        fail_msg("sim collateral: %s", err.msg);
    return b;
}

static int setup(void **state)
{
    fixture *f = ccai_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->cache = ccai_xasprintf("%s/cache/pcs", f->dir);
    f->bundle = sim_bundle(f->dir, NOW);
    server_start(&f->srv, NULL);
    serve_bundle(&f->srv, f->bundle);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->srv.port);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    server_stop(&f->srv);
    server_stop(&f->tls_srv);
    json_decref(f->bundle);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f->cache);
    free(f);
    return 0;
}

/* Field by field, then the whole text (member order included). */
static void assert_bundle_equal(const json_t *got, json_t *want)
{
    const char *key;
    json_t *v;
    assert_int_equal(json_object_size(got), 9);
    assert_int_equal(json_object_size(want), 9);
    json_object_foreach(want, key, v)
        assert_string_equal(member(got, key), json_string_value(v));
    char *a = json_dumps(got, 0), *b = json_dumps(want, 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static json_t *get_ok(const tdx_pcs_opts *o, time_t now)
{
    json_t *b = NULL;
    ccai_err err = {0};
    if (tdx_pcs_get_collateral(o, SIM_FMSPC, "platform", now, &b, &err) != CCAI_OK)
        fail_msg("tdx_pcs_get_collateral: %s", err.msg);
    return b;
}

static void expect_fail(const tdx_pcs_opts *o, time_t now, ccai_code code, const char *want)
{
    json_t *b = NULL;
    ccai_err err = {0};
    ccai_code rc = tdx_pcs_get_collateral(o, SIM_FMSPC, "platform", now, &b, &err);
    if (rc != code || strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("expected %s \"%s...\", got %s \"%s\"", ccai_code_name(code), want,
                 ccai_code_name(rc), err.msg);
    assert_null(b);
}

/* ---- fetch, cache, expiry ------------------------------------------------------- */

static void test_fetch_cache_refresh(void **state)
{
    fixture *f = *state;
    tdx_pcs_opts o = {.base_url = f->base, .cache_dir = f->cache, .timeout_s = 10};
    json_t *b = get_ok(&o, NOW);
    assert_bundle_equal(b, f->bundle);
    json_decref(b);
    assert_int_equal(server_requests(&f->srv), 4);

    char *path = ccai_xasprintf("%s/collateral-00cca1000000-platform.json", f->cache);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(stat(f->cache, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    json_t *doc = json_load_file(path, 0, NULL);
    assert_non_null(doc);
    char want[32];
    ccai_time_format(NOW + 30 * DAY, want);
    assert_string_equal(json_string_value(json_object_get(doc, "expires")), want);
    json_decref(doc);

    /* Within validity: the cache answers, the server sees nothing. */
    b = get_ok(&o, NOW + 29 * DAY);
    assert_bundle_equal(b, f->bundle);
    json_decref(b);
    assert_int_equal(server_requests(&f->srv), 4);

    /* At expiry: refetched, and the new collateral replaces the old. */
    json_t *later = sim_bundle(f->dir, NOW + 30 * DAY);
    serve_bundle(&f->srv, later);
    b = get_ok(&o, NOW + 30 * DAY);
    assert_bundle_equal(b, later);
    json_decref(b);
    assert_int_equal(server_requests(&f->srv), 8);
    b = get_ok(&o, NOW + 31 * DAY);
    assert_bundle_equal(b, later);
    json_decref(b);
    assert_int_equal(server_requests(&f->srv), 8);
    json_decref(later);
    free(path);
}

static void test_offline(void **state)
{
    fixture *f = *state;
    char msg[512];
    tdx_pcs_opts o = {.base_url = f->base, .cache_dir = f->cache, .offline = true};
    snprintf(msg, sizeof msg,
             "offline: no cached collateral for FMSPC 00cca1000000 (PCK platform CA) in %s",
             f->cache);
    expect_fail(&o, NOW, CCAI_ERR_NOT_FOUND, msg);
    o.cache_dir = NULL;
    expect_fail(&o, NOW, CCAI_ERR_ARG, "offline: no cache directory to read collateral from");
    assert_int_equal(server_requests(&f->srv), 0);

    tdx_pcs_opts online = {.base_url = f->base, .cache_dir = f->cache};
    json_decref(get_ok(&online, NOW));
    assert_int_equal(server_requests(&f->srv), 4);
    /* The cache serves offline callers, even with nowhere to go. */
    tdx_pcs_opts nowhere = {.base_url = "http://127.0.0.1:1", .cache_dir = f->cache,
                            .offline = true};
    json_t *b = get_ok(&nowhere, NOW + DAY);
    assert_bundle_equal(b, f->bundle);
    json_decref(b);
    nowhere.base_url = NULL;
    json_decref(get_ok(&nowhere, NOW + DAY));
    expect_fail(&nowhere, NOW + 40 * DAY, CCAI_ERR_NOT_FOUND,
                "offline: cached collateral for FMSPC 00cca1000000 (PCK platform CA) expired "
                "at 2025-07-31T00:00:00Z (now 2025-08-10T00:00:00Z)");
    assert_int_equal(server_requests(&f->srv), 4);

    /* Online, the same unreachable address is a transport error. */
    nowhere.offline = false;
    nowhere.base_url = "http://127.0.0.1:1";
    expect_fail(&nowhere, NOW + 40 * DAY, CCAI_ERR_IO,
                "PCS http://127.0.0.1:1/sgx/certification/v4/pckcrl?ca=platform&encoding=der: ");
}

static void test_corrupt_cache(void **state)
{
    fixture *f = *state;
    char *path = ccai_xasprintf("%s/collateral-00cca1000000-platform.json", f->cache);
    tdx_pcs_opts o = {.base_url = f->base, .cache_dir = f->cache, .offline = true};
    assert_int_equal(ccai_mkdir_p(f->cache, 0700, NULL), 0);
    tu_write(path, "{\"version\":1,", 13);
    char msg[512];
    snprintf(msg, sizeof msg, "offline: cache file %s: JSON at line", path);
    expect_fail(&o, NOW, CCAI_ERR_STATE, msg);
    o.offline = false; /* online: refetched and rewritten */
    json_decref(get_ok(&o, NOW));
    assert_int_equal(server_requests(&f->srv), 4);
    free(path);
}

/* ---- HTTPS with a PCCS-style self-signed certificate --------------------------- */

static SSL_CTX *tls_ctx(const char *cert_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(key);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"ccai test PCCS", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
    assert_non_null(san);
    X509_add_ext(x, san, -1);
    X509_EXTENSION_free(san);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    FILE *fp = fopen(cert_path, "w");
    assert_non_null(fp);
    PEM_write_X509(fp, x);
    fclose(fp);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

static void test_https_ca_file(void **state)
{
    fixture *f = *state;
    char *ca = ccai_xasprintf("%s/pccs.pem", f->dir);
    server_start(&f->tls_srv, tls_ctx(ca));
    serve_bundle(&f->tls_srv, f->bundle);
    char base[64];
    snprintf(base, sizeof base, "https://127.0.0.1:%d", f->tls_srv.port);
    tdx_pcs_opts o = {.base_url = base, .ca_file = ca};
    json_t *b = get_ok(&o, NOW);
    assert_bundle_equal(b, f->bundle);
    json_decref(b);
    assert_int_equal(server_requests(&f->tls_srv), 4);

    /* Without the PCCS's certificate, verification refuses the server. */
    o.ca_file = NULL;
    char *msg = ccai_xasprintf("PCS %s" PCKCRL_PATH ": ", base);
    expect_fail(&o, NOW, CCAI_ERR_IO, msg);
    free(msg);
    assert_int_equal(server_requests(&f->tls_srv), 4);
    o.ca_file = "/nonexistent/ca.pem";
    expect_fail(&o, NOW, CCAI_ERR_ARG, "PCS CA file /nonexistent/ca.pem: not readable");
    free(ca);
}

/* ---- failures ----------------------------------------------------------------------- */

/* Serves the good bundle except for one answer at path, and expects the
 * failure "PCS <url>: <what>..." with code. */
static void bad_answer(fixture *f, const char *path, int status, const char *hdr,
                       const char *hval, const char *body, size_t len, enum send_mode m,
                       ccai_code code, const char *what)
{
    char msg[512];
    tdx_pcs_opts o = {.base_url = f->base, .cache_dir = f->cache};
    serve_bundle(&f->srv, f->bundle);
    server_route(&f->srv, path, status, hdr, hval, body, len, m);
    snprintf(msg, sizeof msg, "PCS %s%s: %s", f->base, path, what);
    expect_fail(&o, NOW, code, msg);
}

/* A TCB info answer with a good issuer chain and the body printf(fmt, ...). */
static void bad_tcb(fixture *f, ccai_code code, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void bad_tcb(fixture *f, ccai_code code, const char *what, const char *fmt, ...)
{
    char *chain = url_encode(member(f->bundle, "tcb_info_issuer_chain")), *body = NULL;
    va_list ap;
    va_start(ap, fmt);
    assert_true(vasprintf(&body, fmt, ap) > 0);
    va_end(ap);
    bad_answer(f, TCB_PATH, 200, "TCB-Info-Issuer-Chain", chain, body, strlen(body), SEND_NORMAL,
               code, what);
    free(chain);
    free(body);
}

static void test_bad_answers(void **state)
{
    fixture *f = *state;
    const char *tcb = member(f->bundle, "tcb_info"), *sig = member(f->bundle, "tcb_info_signature");
    const char *qe_hdr = "SGX-Enclave-Identity-Issuer-Chain";
    bad_answer(f, TCB_PATH, 404, NULL, NULL, "{}", 2, SEND_NORMAL, CCAI_ERR_NOT_FOUND,
               "HTTP 404 (expected 200)");
    bad_answer(f, QE_PATH, 500, NULL, NULL, "oops", 4, SEND_NORMAL, CCAI_ERR_IO,
               "HTTP 500 (expected 200)");
    /* Nothing was cached by the failed attempts. */
    char *path = ccai_xasprintf("%s/collateral-00cca1000000-platform.json", f->cache);
    assert_false(ccai_exists(path));
    free(path);

    bad_answer(f, TCB_PATH, 200, NULL, NULL, tcb, strlen(tcb), SEND_NORMAL, CCAI_ERR_PARSE,
               "missing header TCB-Info-Issuer-Chain");
    bad_answer(f, QE_PATH, 200, qe_hdr, "-----BEGIN%20CERTIFICATE", "{}", 2, SEND_NORMAL,
               CCAI_ERR_PARSE, "header SGX-Enclave-Identity-Issuer-Chain: PEM bundle");
    bad_answer(f, QE_PATH, 200, qe_hdr, "abc%4", "{}", 2, SEND_NORMAL, CCAI_ERR_PARSE,
               "header SGX-Enclave-Identity-Issuer-Chain: bad percent escape at offset 3");

    /* The body is validated whole, then its parts. */
    bad_tcb(f, CCAI_ERR_PARSE, "body: JSON at line 1", "{\"tcbInfo\":%s,\"signature\":\"%s\"",
            tcb, sig);
    bad_tcb(f, CCAI_ERR_PARSE, "body: \"signature\": expected 128 hex digits (64 bytes), found 2",
            "{\"tcbInfo\":%s,\"signature\":\"zz\"}", tcb);
    bad_tcb(f, CCAI_ERR_PARSE, "body: expected an object member \"tcbInfo\"",
            "{\"tcbInfo\":[1],\"signature\":\"%s\"}", sig);
    bad_tcb(f, CCAI_ERR_PARSE, "body: tcbInfo fmspc 00906ED50000, expected 00CCA1000000",
            "{\"tcbInfo\":{\"fmspc\":\"00906ED50000\"},\"signature\":\"%s\"}", sig);
    bad_tcb(f, CCAI_ERR_PARSE, "body: nextUpdate: missing \"nextUpdate\"",
            "{\"tcbInfo\":{\"fmspc\":\"00CCA1000000\"},\"signature\":\"%s\"}", sig);

    /* A CRL that is none of DER, PEM or hex, or not a CRL. */
    bad_answer(f, ROOTCRL_PATH, 200, NULL, NULL, "not a CRL", 9, SEND_NORMAL, CCAI_ERR_PARSE,
               "body: expected DER, PEM or hex text: ");
    bad_answer(f, ROOTCRL_PATH, 200, NULL, NULL, "3000", 4, SEND_NORMAL, CCAI_ERR_PARSE,
               "body: not a DER CRL (2 bytes)");
}

/* The member's bytes are kept exactly, inner white space included; so are a
 * DER CRL's. */
static void test_bytes_kept_exactly(void **state)
{
    fixture *f = *state;
    tdx_pcs_opts o = {.base_url = f->base};
    char *chain = url_encode(member(f->bundle, "tcb_info_issuer_chain"));
    const char *raw = "{ \"id\" : \"TDX\",\n \"fmspc\":\"00cca1000000\" , "
                      "\"s\":\"\\\"}\", \"nextUpdate\": \"2025-07-10T00:00:00Z\" }";
    char *body = ccai_xasprintf("{\"signature\":\"%s\",\"tcbInfo\":%s}",
                                member(f->bundle, "tcb_info_signature"), raw);
    server_route(&f->srv, TCB_PATH, 200, "TCB-Info-Issuer-Chain", chain, body, strlen(body),
                 SEND_NORMAL);
    json_t *b = get_ok(&o, NOW);
    assert_string_equal(member(b, "tcb_info"), raw);
    json_decref(b);
    free(body);
    free(chain);

    /* A DER body is taken whole: a CRL whose signature happens to end in a
     * byte that looks like white space (about 1 in 64) is not trimmed. */
    b = NULL;
    for (int i = 0; i < 5000 && !b; i++) {
        b = sim_bundle(f->dir, NOW);
        const char *hex = member(b, "pck_crl");
        const char *last = hex + strlen(hex) - 2;
        if (strcmp(last, "20") && strcmp(last, "0a") && strcmp(last, "0d") && strcmp(last, "09")) {
            json_decref(b);
            b = NULL;
        }
    }
    assert_non_null(b);
    serve_bundle(&f->srv, b);
    for (int i = 2; i <= 3; i++) { /* no cache: every call fetches */
        json_t *got = get_ok(&o, NOW);
        assert_bundle_equal(got, b);
        json_decref(got);
        assert_int_equal(server_requests(&f->srv), 4 * i);
    }
    json_decref(b);
}

static void test_size_cap_and_truncation(void **state)
{
    fixture *f = *state;
    char what[64];
    size_t big = (size_t)TDX_PCS_MAX_BODY + 1;
    uint8_t *blob = ccai_xcalloc(1, big);
    snprintf(what, sizeof what, "body larger than the %d-byte limit", TDX_PCS_MAX_BODY);
    /* Announced by Content-Length, and only found while reading. */
    bad_answer(f, PCKCRL_PATH, 200, NULL, NULL, (const char *)blob, big, SEND_NORMAL,
               CCAI_ERR_PARSE, what);
    bad_answer(f, PCKCRL_PATH, 200, NULL, NULL, (const char *)blob, big, SEND_NO_LENGTH,
               CCAI_ERR_PARSE, what);
    free(blob);
    const char *qe = "{\"enclaveIdentity\":{},\"signature\":\"00\"}";
    bad_answer(f, QE_PATH, 200, NULL, NULL, qe, strlen(qe), SEND_TRUNCATED, CCAI_ERR_IO,
               "truncated body (transfer closed with 100 bytes remaining to read)");
}

static void test_redirects_and_root_crl_url(void **state)
{
    fixture *f = *state;
    char url[128], loc[128], msg[512];
    /* root_ca_crl_url overrides the PCCS path; a same-host redirect is
     * followed; the CRL comes as PEM there. */
    const char *hex = member(f->bundle, "root_ca_crl");
    uint8_t *der = NULL;
    size_t len = 0;
    assert_int_equal(ccai_hex_decode_alloc(hex, strlen(hex), &der, &len, NULL), 0);
    char *b64 = ccai_b64_encode(der, len, CCAI_B64_STD), *pem = ccai_xmalloc(strlen(b64) * 2 + 64);
    /* PEM's 64-column lines, white space around it as a web server might add. */
    int n = sprintf(pem, "\n-----BEGIN X509 CRL-----\n");
    for (size_t i = 0; i < strlen(b64); i += 64)
        n += sprintf(pem + n, "%.64s\n", b64 + i);
    sprintf(pem + n, "-----END X509 CRL-----\n\n");
    server_route(&f->srv, "/root/IntelSGXRootCA.pem", 200, NULL, NULL, pem, strlen(pem),
                 SEND_NORMAL);
    snprintf(loc, sizeof loc, "%s/root/IntelSGXRootCA.pem", f->base);
    server_route(&f->srv, "/moved", 302, "Location", loc, "", 0, SEND_NORMAL);
    server_route(&f->srv, ROOTCRL_PATH, 404, NULL, NULL, "", 0, SEND_NORMAL);
    snprintf(url, sizeof url, "%s/moved", f->base);
    tdx_pcs_opts o = {.base_url = f->base, .root_ca_crl_url = url};
    json_t *b = get_ok(&o, NOW);
    assert_bundle_equal(b, f->bundle);
    json_decref(b);
    assert_int_equal(server_requests(&f->srv), 5);

    /* Another host (same address, other name): not followed. */
    snprintf(loc, sizeof loc, "http://localhost:%d/root/IntelSGXRootCA.pem", f->srv.port);
    server_route(&f->srv, "/moved", 302, "Location", loc, "", 0, SEND_NORMAL);
    snprintf(msg, sizeof msg, "PCS %s: HTTP 302 redirect to %s not followed (another scheme, "
             "host or port)", url, loc);
    expect_fail(&o, NOW, CCAI_ERR_IO, msg);
    /* A loop ends. */
    server_route(&f->srv, "/moved", 302, "Location", url, "", 0, SEND_NORMAL);
    snprintf(msg, sizeof msg, "PCS %s: HTTP 302 redirect to %s not followed (too many redirects)",
             url, url);
    expect_fail(&o, NOW, CCAI_ERR_IO, msg);
    free(der);
    free(b64);
    free(pem);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    tdx_pcs_opts o = {.base_url = f->base};
    json_t *b = NULL;
    ccai_err err = {0};
    assert_int_equal(tdx_pcs_get_collateral(&o, SIM_FMSPC, "other", NOW, &b, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "PCS: PCK CA \"other\": expected platform or processor");
    assert_null(b);
    o.base_url = NULL;
    expect_fail(&o, NOW, CCAI_ERR_ARG, "PCS: no base URL (and no valid cached collateral)");
    assert_int_equal(server_requests(&f->srv), 0);
}

/* ---- helpers: member span, PCK CA, expiry ------------------------------------------ */

static void span_is(const char *text, const char *name, const char *want)
{
    size_t off = 0, len = 0;
    ccai_err err = {0};
    if (tdx_pcs_json_member_span(text, strlen(text), name, &off, &len, &err) != CCAI_OK)
        fail_msg("span %s in %s: %s", name, text, err.msg);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(text + off, want, len);
}

static void span_fails(const char *text, const char *name, ccai_code code, const char *msg)
{
    size_t off = 0, len = 0;
    ccai_err err = {0};
    assert_int_equal(tdx_pcs_json_member_span(text, strlen(text), name, &off, &len, &err), code);
    assert_string_equal(err.msg, msg);
}

static void test_member_span(void **state)
{
    (void)state;
    span_is("{\"a\":{\"b\":\"}\\\"{[\"},\"a2\":1}", "a", "{\"b\":\"}\\\"{[\"}");
    span_is(" {\n\"x\" : [1, {\"y\": \"]\"}] ,\"a\":  {\"n\" : [ ]\t}\n}", "a",
            "{\"n\" : [ ]\t}");
    span_is("{\"s\":\"\\\\\",\"a\":true}", "a", "true");
    span_is("{\"a\":-1.5e3 }", "a", "-1.5e3");
    span_is("{\"aa\":1,\"a\":\"v\"}", "a", "\"v\"");
    span_fails("{\"b\":{\"a\":1}}", "a", CCAI_ERR_NOT_FOUND, "no member \"a\"");
    span_fails("{ }", "a", CCAI_ERR_NOT_FOUND, "no member \"a\"");
    span_fails("{\"a\":1,\"a\":2}", "a", CCAI_ERR_PARSE, "member \"a\" appears twice");
    span_fails("[1]", "a", CCAI_ERR_PARSE, "expected a JSON object at offset 0");
    span_fails("{\"a\":{\"b\":\"}", "a", CCAI_ERR_PARSE, "unterminated value at offset 5");
    span_fails("{\"a\" 1}", "a", CCAI_ERR_PARSE, "expected ':' at offset 5");
    span_fails("{\"a\":1 \"b\":2}", "a", CCAI_ERR_PARSE, "expected ',' or '}' at offset 7");
    span_fails("{\"a\":1", "a", CCAI_ERR_PARSE, "expected ',' or '}' at offset 6");
}

static void test_ca_from_issuer(void **state)
{
    fixture *f = *state;
    const char *ca = NULL;
    ccai_err err = {0};
    assert_int_equal(tdx_pcs_ca_from_issuer_cn("Intel SGX PCK Platform CA", &ca, &err), 0);
    assert_string_equal(ca, "platform");
    assert_int_equal(tdx_pcs_ca_from_issuer_cn("Intel SGX PCK Processor CA", &ca, &err), 0);
    assert_string_equal(ca, "processor");
    assert_int_equal(tdx_pcs_ca_from_issuer_cn("Intel SGX Root CA", &ca, &err),
                     CCAI_ERR_UNSUPPORTED);
    assert_string_equal(err.msg, "PCK issuer CN \"Intel SGX Root CA\": expected \"Intel SGX PCK "
                                 "Platform CA\" or \"Intel SGX PCK Processor CA\"");
    /* The simulated PCK leaf (its state was made by the fixture). */
    char *sim = ccai_xasprintf("%s/" SIM_DIR_NAME, f->dir);
    X509 *leaf = NULL;
    assert_int_equal(tee_sim_load_cert(sim, SIM_PCK_PEM, &leaf, NULL, &err), 0);
    assert_int_equal(tdx_pcs_ca_from_cert(leaf, &ca, &err), 0);
    assert_string_equal(ca, "platform");
    assert_int_equal(tdx_pcs_ca_from_cert(NULL, &ca, &err), CCAI_ERR_PARSE);
    X509_free(leaf);
    free(sim);
}

static void test_bundle_expiry(void **state)
{
    fixture *f = *state;
    time_t t = 0;
    char s[32];
    assert_int_equal(tdx_pcs_bundle_expiry(f->bundle, &t, NULL), 0);
    assert_int_equal(t, NOW + 30 * DAY);
    ccai_err err = {0};
    json_object_set_new(f->bundle, "pck_crl", json_string("3000"));
    assert_int_equal(tdx_pcs_bundle_expiry(f->bundle, &t, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "collateral pck_crl: not a DER CRL (2 bytes)");
    const char *path = tu_shared_path("testdata/tdx/real-v4-uptodate/collateral.json");
    TU_SKIP_IF_NO_SHARED(path);
    json_t *real = json_load_file(path, 0, NULL);
    assert_non_null(real);
    assert_int_equal(tdx_pcs_bundle_expiry(real, &t, &err), 0);
    ccai_time_format(t, s);
    assert_string_equal(s, "2025-07-19T10:00:35Z"); /* the PCK CRL's nextUpdate, tdx-facts §5 */
    json_decref(real);
}

int main(void)
{
    setenv("NO_PROXY", "127.0.0.1,localhost", 1); /* the test servers: never via a proxy */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetch_cache_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_ca_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bytes_kept_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap_and_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirects_and_root_crl_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test(test_member_span),
        cmocka_unit_test_setup_teardown(test_ca_from_issuer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_expiry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
