/* bench_serve: load on a running `ccai serve`. N client threads each stream
 * chat requests (POST /api/chat, NDJSON) one after another for a fixed time;
 * the table gives the aggregate generation rate, time to first token (p50,
 * p99), request latency and the errors. A measurement, not a test: nothing
 * here decides pass or fail.
 *
 *   bench_serve URL MODEL CLIENTS SECONDS [--insecure] [--num-predict N]
 *               [--prompt TEXT] [--api-key KEY]
 *
 * Tokens are the server's own counts (eval_count of each final chunk); a
 * request cut off by the end of the run counts the chunks it received (one
 * per token). */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bench_cfg {
    const char *url, *model, *prompt, *api_key;
    int clients, seconds, num_predict;
    bool insecure;
    double t_end;
} bench_cfg;

/* One client's results; the main thread merges them after join. */
typedef struct client {
    const bench_cfg *cfg;
    pthread_t thread;
    double *ttft, *latency; /* seconds, one per finished request */
    size_t n_ttft, n_latency, cap_ttft, cap_latency;
    long tokens, requests, errors, cut;
    char first_error[256];
} client;

/* The state of one request while it streams. */
typedef struct request {
    client *c;
    double t0, t_first;
    char line[1 << 16];
    size_t len;
    long chunks, eval_count;
    bool done, error;
} request;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void push(double **v, size_t *n, size_t *cap, double x)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        double *p = realloc(*v, *cap * sizeof *p);
        if (!p) {
            fprintf(stderr, "bench_serve: out of memory\n");
            exit(1);
        }
        *v = p;
    }
    (*v)[(*n)++] = x;
}

static void note_error(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(client *c, const char *fmt, ...)
{
    if (c->first_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->first_error, sizeof c->first_error, fmt, ap);
    va_end(ap);
}

static void on_line(request *r, const char *s, size_t n)
{
    json_t *v = json_loadb(s, n, 0, NULL);
    if (!v) {
        r->error = true;
        note_error(r->c, "%s", "a line of the stream is not JSON");
        return;
    }
    const json_t *err = json_object_get(v, "error");
    if (err) {
        r->error = true;
        note_error(r->c, "server: %s", json_is_string(err) ? json_string_value(err) : "error");
    } else if (json_is_true(json_object_get(v, "done"))) {
        r->done = true;
        r->eval_count = (long)json_integer_value(json_object_get(v, "eval_count"));
    } else {
        if (!r->chunks++)
            r->t_first = now_s();
    }
    json_decref(v);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
    request *r = arg;
    size_t n = size * nmemb;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            if (r->len)
                on_line(r, r->line, r->len);
            r->len = 0;
        } else if (r->len < sizeof r->line) {
            r->line[r->len++] = p[i];
        }
    }
    return n;
}

/* Ends a transfer that runs past the end of the measurement. */
static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    request *r = arg;
    return now_s() > r->c->cfg->t_end ? 1 : 0;
}

static void one_request(client *c, CURL *h, const char *body)
{
    request *r = calloc(1, sizeof *r);
    if (!r)
        exit(1);
    r->c = c;
    r->t0 = now_s();
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        c->cut++;
        c->tokens += r->chunks;
    } else if (rc != CURLE_OK || status != 200 || r->error || !r->done) {
        c->errors++;
        if (rc != CURLE_OK)
            note_error(c, "curl: %s", curl_easy_strerror(rc));
        else if (status != 200)
            note_error(c, "HTTP status %ld", status);
    } else {
        c->requests++;
        c->tokens += r->eval_count;
        if (r->chunks)
            push(&c->ttft, &c->n_ttft, &c->cap_ttft, r->t_first - r->t0);
        push(&c->latency, &c->n_latency, &c->cap_latency, now_s() - r->t0);
    }
    free(r);
}

static void *client_main(void *arg)
{
    client *c = arg;
    const bench_cfg *cfg = c->cfg;
    CURL *h = curl_easy_init();
    if (!h) {
        c->errors++;
        return NULL;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/api/chat", cfg->url);
    json_t *b = json_pack("{s:s,s:[{s:s,s:s}],s:b,s:{s:i}}", "model", cfg->model, "messages",
                          "role", "user", "content", cfg->prompt, "stream", 1, "options",
                          "num_predict", cfg->num_predict);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[600];
    if (cfg->api_key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->api_key);
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    if (cfg->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    while (now_s() < cfg->t_end)
        one_request(c, h, body);
    curl_slist_free_all(hdr);
    free(body);
    curl_easy_cleanup(h);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of sorted v[0..n), in milliseconds. */
static double pct_ms(const double *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t i = (size_t)(q * (double)n);
    return 1000.0 * v[i < n ? i : n - 1];
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_serve URL MODEL CLIENTS SECONDS [--insecure] [--num-predict N]\n"
                    "                   [--prompt TEXT] [--api-key KEY]\n"
                    "  e.g. bench_serve https://127.0.0.1:11434 stories260K 4 10 --insecure\n");
    return 2;
}

int main(int argc, char **argv)
{
    bench_cfg cfg = {.prompt = "Tell me a story about a dragon.", .num_predict = 128};
    const char *pos[4];
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--insecure") || !strcmp(argv[i], "-k"))
            cfg.insecure = true;
        else if (!strcmp(argv[i], "--num-predict") && i + 1 < argc)
            cfg.num_predict = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--prompt") && i + 1 < argc)
            cfg.prompt = argv[++i];
        else if (!strcmp(argv[i], "--api-key") && i + 1 < argc)
            cfg.api_key = argv[++i];
        else if (argv[i][0] != '-' && n_pos < 4)
            pos[n_pos++] = argv[i];
        else
            return usage();
    }
    if (n_pos != 4)
        return usage();
    cfg.url = pos[0];
    cfg.model = pos[1];
    cfg.clients = atoi(pos[2]);
    cfg.seconds = atoi(pos[3]);
    if (cfg.clients < 1 || cfg.clients > 1024 || cfg.seconds < 1 || cfg.num_predict < 1)
        return usage();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    client *cl = calloc((size_t)cfg.clients, sizeof *cl);
    if (!cl)
        return 1;
    double t0 = now_s();
    cfg.t_end = t0 + cfg.seconds;
    for (int i = 0; i < cfg.clients; i++) {
        cl[i].cfg = &cfg;
        if (pthread_create(&cl[i].thread, NULL, client_main, &cl[i])) {
            fprintf(stderr, "bench_serve: cannot start client %d\n", i);
            return 1;
        }
    }
    long tokens = 0, requests = 0, errors = 0, cut = 0;
    double *ttft = NULL, *lat = NULL;
    size_t n_ttft = 0, n_lat = 0, cap_t = 0, cap_l = 0;
    const char *first_error = NULL;
    for (int i = 0; i < cfg.clients; i++) {
        client *c = &cl[i];
        pthread_join(c->thread, NULL);
        tokens += c->tokens, requests += c->requests, errors += c->errors, cut += c->cut;
        for (size_t k = 0; k < c->n_ttft; k++)
            push(&ttft, &n_ttft, &cap_t, c->ttft[k]);
        for (size_t k = 0; k < c->n_latency; k++)
            push(&lat, &n_lat, &cap_l, c->latency[k]);
        if (!first_error && c->first_error[0])
            first_error = c->first_error;
    }
    double wall = now_s() - t0;
    qsort(ttft, n_ttft, sizeof *ttft, cmp_double);
    qsort(lat, n_lat, sizeof *lat, cmp_double);
    printf("bench_serve: %s, model %s, %d clients, %d s, num_predict %d\n", cfg.url, cfg.model,
           cfg.clients, cfg.seconds, cfg.num_predict);
    printf("%-8s %-9s %-7s %-7s %-9s %-10s %-12s %-12s %-12s %-12s\n", "clients", "requests",
           "cut", "errors", "tokens", "tokens/s", "ttft p50 ms", "ttft p99 ms", "lat p50 ms",
           "lat p99 ms");
    printf("%-8d %-9ld %-7ld %-7ld %-9ld %-10.1f %-12.1f %-12.1f %-12.1f %-12.1f\n", cfg.clients,
           requests, cut, errors, tokens, tokens / wall, pct_ms(ttft, n_ttft, 0.50),
           pct_ms(ttft, n_ttft, 0.99), pct_ms(lat, n_lat, 0.50), pct_ms(lat, n_lat, 0.99));
    if (first_error)
        printf("first error: %s\n", first_error);
    for (int i = 0; i < cfg.clients; i++) {
        free(cl[i].ttft);
        free(cl[i].latency);
    }
    free(cl);
    free(ttft);
    free(lat);
    curl_global_cleanup();
    return 0;
}
