/* bench_decode: where a decode token's time goes against the memory's
 * limit (docs/bench.md, "Where things stand").
 *
 *   bench_decode MODEL [THREADS [ROUNDS [SPLIT_GBS]]]   (defaults 2 and 20)
 *
 * Each round measures, back to back so that they share the machine's
 * state of the moment (this VM's bandwidth changes by 2x from minute to
 * minute):
 *   loop      the 1 GiB read loop of `ccai bench` (best of 2 passes, before
 *             and after the other two; the faster is the round's limit);
 *   products  one token's matmuls and nothing else: every layer's q/k/v
 *             (one run), o, gate/up (one run), down, then the output,
 *             through the kernels' gemv in the pool's chunked runs, as
 *             forward.c deals them (row groups of 16, four chunks a
 *             thread), 4 tokens' worth, GB/s of weights;
 *   tokens    16 decode tokens through llm_ctx_eval after an 8-token
 *             prompt, GB/s of llm_bench_bytes_per_token;
 *   rt        the round trip of one cache line bounced between two
 *             threads, ns (how far apart the cores are).
 * products / loop says how well the kernels stream; tokens / products
 * what the serial steps and hand-offs cost. Then the medians, and the
 * products split by run (a layer's q/k/v, o, gate/up and down, and the
 * output) and weight type over all rounds: MB a token and GB/s (which
 * shapes stream worse: e.g. the K types' n = 1536 rows, docs/bench.md).
 * With SPLIT_GBS the medians and the split are given twice: over the
 * rounds whose first loop pass read at least that many GB/s and over the
 * others (this VM's two memory states, docs/bench.md "Noise"; the state is
 * known before the round's products run, so the round is classed by its
 * loop before them). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm/bench.h"
#include "llm/ggml_types.h"
#include "llm/kernels/kernels.h"
#include "llm/model.h"
#include "llm/pool.h"
#include "llm/quant.h"

enum { ROW_GROUP = 16, CHUNKS = 4, PROMPT = 8, TOKENS = 16, PASSES = 4, BOUNCES = 100000 };
enum { TYPE_IDS = 32 }; /* ggml type ids below this (ggml_types.h) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- products ---- */

typedef struct prod_job {
    const llm_kernels *k;
    const llm_weight *W[3];
    int n;
    const uint8_t *act;
    float *y;
} prod_job;

static int64_t groups(const llm_weight *W)
{
    return (W->rows + ROW_GROUP - 1) / ROW_GROUP;
}

static void prod_rows(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const prod_job *j = arg;
    int64_t first = 0;
    for (int i = 0; i < j->n; first += groups(j->W[i]), i++) {
        const llm_weight *W = j->W[i];
        int64_t lo = begin > first ? begin : first;
        int64_t hi = end < first + groups(W) ? end : first + groups(W);
        if (lo >= hi)
            continue;
        int64_t r0 = (lo - first) * ROW_GROUP, r1 = (hi - first) * ROW_GROUP;
        r1 = r1 < W->rows ? r1 : W->rows;
        j->k->gemv(W->type, W->cols, r1 - r0, W->data + (size_t)r0 * W->row_bytes, W->row_bytes,
                   j->act, j->y + r0);
    }
}

static void prod_run(llm_pool *p, prod_job *j)
{
    int64_t g = 0;
    for (int i = 0; i < j->n; i++)
        g += groups(j->W[i]);
    int64_t chunks = (int64_t)llm_pool_size(p) * CHUNKS;
    llm_pool_run_chunked(p, g, (g + chunks - 1) / chunks, prod_rows, j);
}

/* Per class of rounds (all, or the two sides of SPLIT_GBS), per run of a
 * layer (q/k/v, o, gate/up, down) and the output, and per weight type of
 * the run's first matrix: seconds and bytes of the product runs. */
static const char *const RUN_NAME[5] = {"q/k/v", "o", "gate/up", "down", "output"};
static double type_s[2][5][TYPE_IDS], type_bytes[2][5][TYPE_IDS];
static int round_class; /* the class the current round's runs count in */

static void timed_run(llm_pool *p, prod_job *j, int run, double *bytes)
{
    double t0 = now_s(), b = 0;
    prod_run(p, j);
    for (int i = 0; i < j->n; i++)
        b += (double)j->W[i]->rows * (double)j->W[i]->row_bytes;
    uint32_t t = j->W[0]->type < TYPE_IDS ? j->W[0]->type : 0;
    type_s[round_class][run][t] += now_s() - t0;
    type_bytes[round_class][run][t] += b;
    *bytes += b;
}

/* One token's matmuls; returns the weight bytes read. acts[f]: an
 * activation row of n_embd (e) or n_ff (f) values in format f. */
static double products(const llm_model *m, llm_pool *p, const llm_kernels *k,
                       uint8_t *const act_e[3], uint8_t *const act_f[3], float *y)
{
    double bytes = 0;
    for (uint32_t l = 0; l < m->hp.n_layer; l++) {
        const llm_layer *L = &m->layers[l];
        prod_job runs[4] = {
            {k, {&L->wq, &L->wk, &L->wv}, 3, act_e[llm_act_for(L->wq.type)], y},
            {k, {&L->wo}, 1, act_e[llm_act_for(L->wo.type)], y},
            {k, {&L->w_gate, &L->w_up}, 2, act_e[llm_act_for(L->w_gate.type)], y},
            {k, {&L->w_down}, 1, act_f[llm_act_for(L->w_down.type)], y},
        };
        for (int r = 0; r < 4; r++)
            timed_run(p, &runs[r], r, &bytes);
    }
    prod_job out = {k, {&m->output}, 1, act_e[llm_act_for(m->output.type)], y};
    timed_run(p, &out, 4, &bytes);
    return bytes;
}

/* ---- round trip ---- */

static _Alignas(64) atomic_int ball;

static void *bounce_back(void *arg)
{
    (void)arg;
    for (int i = 0; i < BOUNCES; i++) {
        while (atomic_load_explicit(&ball, memory_order_acquire) != 2 * i + 1)
            ;
        atomic_store_explicit(&ball, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

static double round_trip_ns(void)
{
    atomic_store(&ball, 0);
    pthread_t t;
    if (pthread_create(&t, NULL, bounce_back, NULL) != 0)
        return -1;
    double t0 = now_s();
    for (int i = 0; i < BOUNCES; i++) {
        atomic_store_explicit(&ball, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&ball, memory_order_acquire) != 2 * i + 2)
            ;
    }
    double dt = now_s() - t0;
    pthread_join(t, NULL);
    return dt / BOUNCES * 1e9;
}

/* ---- main ---- */

static double best_pass(llm_bench_bw *bw)
{
    double a = llm_bench_bw_pass(bw), b = llm_bench_bw_pass(bw);
    return a > b ? a : b;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: bench_decode MODEL [THREADS [ROUNDS [SPLIT_GBS]]]\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 2, rounds = argc > 3 ? atoi(argv[3]) : 20;
    double split = argc > 4 ? atof(argv[4]) : 0;
    if (threads < 1 || threads > 256 || rounds < 1 || rounds > 10000 || !(split >= 0) ||
        split > 1e4) {
        fprintf(stderr, "bench_decode: threads 1..256, rounds 1..10000, split 0..10000 GB/s\n");
        return 2;
    }
    ccai_err err = {0};
    llm_model *m = NULL;
    llm_pool *p = llm_pool_new(threads);
    const llm_kernels *k = llm_kernels_get(NULL, &err);
    llm_ctx *c = NULL;
    llm_bench_bw *bw = NULL;
    if (!k || llm_model_load(argv[1], &m, &err) ||
        llm_ctx_new(m, PROMPT + TOKENS + 1, p, k, &c, &err) ||
        llm_bench_bw_open(p, false, &bw, &err)) {
        fprintf(stderr, "bench_decode: %s\n", err.msg);
        return 1;
    }
    int64_t E = m->hp.n_embd, F = m->hp.n_ff;
    uint8_t *act_e[3], *act_f[3];
    float *x = calloc((size_t)(F > E ? F : E), sizeof *x);
    float *y = calloc((size_t)(m->hp.n_vocab > F ? m->hp.n_vocab : F), sizeof *y);
    for (int64_t i = 0; i < (F > E ? F : E); i++)
        x[i] = (float)((i * 37) % 101 - 50) / 50.0f;
    for (int f = 0; f < 3; f++) {
        act_e[f] = calloc(1, llm_act_row_bytes((llm_act)f, E) + 64);
        act_f[f] = calloc(1, llm_act_row_bytes((llm_act)f, F) + 64);
        if (llm_act_block_size((llm_act)f) <= E && E % llm_act_block_size((llm_act)f) == 0)
            k->quantize_act((llm_act)f, x, act_e[f], E);
        if (F % llm_act_block_size((llm_act)f) == 0)
            k->quantize_act((llm_act)f, x, act_f[f], F);
    }
    int32_t tok[PROMPT + TOKENS];
    for (int i = 0; i < PROMPT + TOKENS; i++)
        tok[i] = (int32_t)((uint32_t)(i * 7919 + 13) % m->hp.n_vocab);
    llm_ctx_eval(c, tok, PROMPT, NULL, &err); /* pages the weights in */
    double bpt = (double)llm_bench_bytes_per_token(m, PROMPT + TOKENS / 2.0);
    printf("model %s, %d threads, %s kernels, weights in 2 MiB pages: %.1f%%\n", argv[1],
           llm_pool_size(p), k->name, 100 * gguf_huge_fraction(m->file->base));
    printf("round  loop GB/s  products GB/s (/loop)  tokens GB/s (/loop, /products)  rt ns\n");
    double *col[2][4]; /* per class: loop, products / loop, tokens / loop, rt */
    int n_class[2] = {0, 0};
    for (int q = 0; q < 2; q++)
        for (int i = 0; i < 4; i++)
            col[q][i] = calloc((size_t)rounds, sizeof(double));
    for (int r = 0; r < rounds; r++) {
        double before = best_pass(bw);
        round_class = split > 0 && before < split;
        double t0 = now_s(), bytes = 0;
        for (int i = 0; i < PASSES; i++)
            bytes += products(m, p, k, act_e, act_f, y);
        double prod = bytes / (now_s() - t0) / 1e9;
        llm_ctx_reset(c);
        llm_ctx_eval(c, tok, PROMPT, NULL, &err);
        t0 = now_s();
        for (int i = 0; i < TOKENS; i++)
            llm_ctx_eval(c, &tok[PROMPT + i], 1, NULL, &err);
        double toks = TOKENS * bpt / (now_s() - t0) / 1e9;
        double after = best_pass(bw), loop = before > after ? before : after;
        double rt = threads > 1 ? round_trip_ns() : 0;
        printf("%5d  %9.1f  %13.1f (%.3f)  %11.1f (%.3f, %.3f)  %5.0f\n", r + 1, loop, prod,
               prod / loop, toks, toks / loop, toks / prod, rt);
        fflush(stdout);
        double **cc = col[round_class];
        int n = n_class[round_class]++;
        cc[0][n] = loop, cc[1][n] = prod / loop, cc[2][n] = toks / loop, cc[3][n] = rt;
    }
    for (int q = 0; q < 2; q++) {
        int n = n_class[q];
        if (n == 0)
            continue;
        char what[64] = "all rounds";
        if (split > 0)
            snprintf(what, sizeof what, "%d rounds with the loop %s %.1f GB/s", n,
                     q ? "below" : "at or above", split);
        printf("%s: median loop %.1f GB/s, products %.3f of it, tokens %.3f, round trip %.0f "
               "ns\n",
               what, median(col[q][0], n), median(col[q][1], n), median(col[q][2], n),
               median(col[q][3], n));
        printf("products by run and type (%s): MB a token, GB/s\n", what);
        for (int r = 0; r < 5; r++)
            for (int t = 0; t < TYPE_IDS; t++)
                if (type_bytes[q][r][t] > 0)
                    printf("  %-8s %-5s %7.1f %6.1f\n", RUN_NAME[r], ggml_type_name((uint32_t)t),
                           type_bytes[q][r][t] / (n * PASSES) / 1e6,
                           type_bytes[q][r][t] / type_s[q][r][t] / 1e9);
    }
    for (int q = 0; q < 2; q++)
        for (int i = 0; i < 4; i++)
            free(col[q][i]);
    for (int f = 0; f < 3; f++)
        free(act_e[f]), free(act_f[f]);
    free(x);
    free(y);
    llm_bench_bw_close(bw);
    llm_ctx_free(c);
    llm_model_free(m);
    llm_pool_free(p);
    return 0;
}
