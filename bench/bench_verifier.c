/* bench_verifier: appraisals per second of `ccai verifier` over HTTPS
 * keep-alive with warm (cached) collateral, and the latency p50/p99. A
 * measurement, not a test.
 *
 *   bench_verifier [SECONDS [CLIENTS]]
 *       starts a verifier in this process (a fresh temporary state, the
 *       simulated root trusted, no request log) and a simulated TD, makes
 *       ccai-attest/1 evidence with its collateral attached, and posts it
 *   bench_verifier SECONDS CLIENTS --url URL --evidence FILE [--insecure]
 *       the same load against a running verifier
 *
 * Each client is one thread with one libcurl handle (one kept-alive TLS
 * connection) posting the same evidence back to back. The first request
 * (collateral prepared, cold caches) is timed on its own and left out of
 * the figures. Every answer must be 200 with a token, or it counts as an
 * error. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/mem.h"
#include "tee/binding.h"
#include "tee/provider.h"
#include "tee/sim.h"
#include "verifier/verifier.h"

typedef struct client {
    pthread_t thread;
    const char *url, *body;
    bool insecure;
    double t_end;
    double *lat;
    size_t n, cap;
    long errors;
    char first_error[160];
} client;

typedef struct sink {
    char buf[4096];
    size_t len;
} sink;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
    sink *s = arg;
    size_t n = size * nmemb, room = sizeof s->buf - 1 - s->len;
    memcpy(s->buf + s->len, p, n < room ? n : room);
    s->len += n < room ? n : room;
    return n;
}

static CURL *handle(const client *c, struct curl_slist *hdr, sink *s)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return h;
}

/* One POST; its latency in seconds, or a negative number on an error. */
static double one(client *c, CURL *h, sink *s)
{
    s->len = 0;
    double t0 = now_s();
    CURLcode rc = curl_easy_perform(h);
    double dt = now_s() - t0;
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    s->buf[s->len] = '\0';
    if (rc == CURLE_OK && status == 200 && strstr(s->buf, "\"token\""))
        return dt;
    c->errors++;
    if (!c->first_error[0])
        snprintf(c->first_error, sizeof c->first_error, "%s, HTTP %ld: %.80s",
                 curl_easy_strerror(rc), status, s->buf);
    return -1;
}

static void *client_main(void *arg)
{
    client *c = arg;
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    sink s;
    CURL *h = handle(c, hdr, &s);
    while (now_s() < c->t_end) {
        double dt = one(c, h, &s);
        if (dt < 0)
            continue;
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 1024;
            c->lat = ccai_xrealloc(c->lat, c->cap * sizeof *c->lat);
        }
        c->lat[c->n++] = dt;
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    return NULL;
}

/* ---- the in-process set-up --------------------------------------------------------- */

/* ccai-attest/1 evidence from a fresh simulated TD (no runtime events). */
static char *sim_evidence(const char *state, ccai_err *err)
{
    tee_config cfg = {.state_dir = state};
    tee_provider *p = NULL;
    uint8_t nonce[32] = {7}, rd[64], *quote = NULL, *ccel = NULL;
    size_t qlen = 0, ccel_len = 0;
    json_t *coll = NULL;
    tee_report_data_bind(nonce, NULL, NULL, rd);
    if (tee_provider_open("sim", &cfg, &p, err) || p->ops->get_quote(p, rd, &quote, &qlen, err) ||
        (p->ops->read_ccel && p->ops->read_ccel(p, &ccel, &ccel_len, err)) ||
        tee_sim_collateral(&cfg, time(NULL), &coll, err)) {
        tee_provider_close(p);
        free(quote);
        return NULL;
    }
    char *q64 = ccai_b64_encode(quote, qlen, CCAI_B64_STD);
    char *n64 = ccai_b64_encode(nonce, 32, CCAI_B64_URL);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:[], s:n, s:o, s:n}", "version",
                           CCAI_ATTEST_VERSION, "tee", "tdx-sim", "nonce", n64, "quote", q64,
                           "event_log", "tls_spki_sha256", "collateral", coll, "e2e_key");
    char *c64 = ccel ? ccai_b64_encode(ccel, ccel_len, CCAI_B64_STD) : NULL;
    if (c64)
        json_object_set_new(ev, "cc_eventlog", json_string(c64));
    char *text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    free(q64);
    free(c64);
    free(n64);
    free(quote);
    free(ccel);
    tee_provider_close(p);
    return text;
}

static void *run_verifier(void *arg)
{
    ccai_verifier_run(arg, false, NULL);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const double *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)n);
    return n ? 1000.0 * v[i < n ? i : n - 1] : 0;
}

static int report(client *cl, int clients, int seconds, double wall, double cold)
{
    double *all = NULL;
    size_t n = 0;
    long errors = 0;
    for (int i = 0; i < clients; i++) {
        all = ccai_xrealloc(all, (n + cl[i].n + 1) * sizeof *all);
        memcpy(all + n, cl[i].lat, cl[i].n * sizeof *all);
        n += cl[i].n;
        errors += cl[i].errors;
    }
    qsort(all, n, sizeof *all, cmp_double);
    printf("bench_verifier: %d client(s), %d s, HTTPS keep-alive, collateral cached\n", clients,
           seconds);
    printf("%-8s %-10s %-7s %-14s %-11s %-11s %-12s\n", "clients", "requests", "errors",
           "appraisals/s", "p50 ms", "p99 ms", "cold ms");
    printf("%-8d %-10zu %-7ld %-14.1f %-11.2f %-11.2f %-12.2f\n", clients, n, errors,
           (double)n / wall, pct_ms(all, n, 0.5), pct_ms(all, n, 0.99), cold * 1000);
    for (int i = 0; i < clients; i++)
        if (cl[i].first_error[0]) {
            printf("first error: %s\n", cl[i].first_error);
            break;
        }
    free(all);
    return errors && !n ? 1 : 0;
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 5;
    int clients = argc > 2 && argv[2][0] != '-' ? atoi(argv[2]) : 1;
    const char *url = NULL, *evfile = NULL;
    bool insecure = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--evidence") && i + 1 < argc)
            evfile = argv[++i];
        else if (!strcmp(argv[i], "--insecure"))
            insecure = true;
    }
    if (seconds < 1 || clients < 1 || clients > 256 || !url != !evfile) {
        fprintf(stderr, "usage: bench_verifier [SECONDS [CLIENTS]] [--url URL --evidence FILE "
                        "[--insecure]]\n");
        return 2;
    }
    ccai_err err = {0};
    char *body = NULL, *posturl = NULL, state[] = "/tmp/ccai-bench-verifier-XXXXXX";
    ccai_verifier *v = NULL;
    pthread_t vt;
    if (evfile) {
        size_t len = 0;
        if (ccai_read_file(evfile, 8u << 20, (uint8_t **)&body, &len, &err)) {
            fprintf(stderr, "bench_verifier: %s\n", err.msg);
            return 1;
        }
        posturl = ccai_xasprintf("%s/v1/attestation", url);
    } else {
        if (!mkdtemp(state) || !(body = sim_evidence(state, &err))) {
            fprintf(stderr, "bench_verifier: evidence: %s\n", err.msg);
            return 1;
        }
        ccai_verifier_config vc = {.listen = "127.0.0.1:0", .state_dir = state,
                                   .trust_simulated = true, .tls = true,
                                   .rate_per_minute = 1e9, .quiet = true};
        if (ccai_verifier_new(&vc, &v, &err) || pthread_create(&vt, NULL, run_verifier, v)) {
            fprintf(stderr, "bench_verifier: verifier: %s\n", err.msg);
            return 1;
        }
        posturl = ccai_xasprintf("https://127.0.0.1:%u/v1/attestation", ccai_verifier_port(v));
        insecure = true;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    client *cl = ccai_xcalloc((size_t)clients, sizeof *cl);
    client warm = {.url = posturl, .body = body, .insecure = insecure};
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    sink s;
    CURL *h = handle(&warm, hdr, &s);
    double cold = one(&warm, h, &s);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    if (cold < 0) {
        fprintf(stderr, "bench_verifier: first request failed: %s\n", warm.first_error);
        return 1;
    }
    double t0 = now_s();
    for (int i = 0; i < clients; i++) {
        cl[i] = (client){.url = posturl, .body = body, .insecure = insecure, .t_end = t0 + seconds};
        pthread_create(&cl[i].thread, NULL, client_main, &cl[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(cl[i].thread, NULL);
    int rc = report(cl, clients, seconds, now_s() - t0, cold);
    for (int i = 0; i < clients; i++)
        free(cl[i].lat);
    free(cl);
    if (v) {
        ccai_verifier_stop(v);
        pthread_join(vt, NULL);
        ccai_verifier_free(v);
        char *cmd = ccai_xasprintf("rm -rf '%s'", state);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_verifier: could not remove %s\n", state);
        free(cmd);
    }
    free(posturl);
    free(body);
    curl_global_cleanup();
    return rc;
}
