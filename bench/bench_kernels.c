/* bench_kernels: single-thread speed of every available kernel back end
 * (src/llm/kernels) for every weight type.
 *
 *   bench_kernels [--quick] [--types T,T..] [BACKEND...]
 *
 * Per back end and type, rows of n = 4096 values:
 *   hot     vec_dot over a 256 KiB weight buffer (L2-resident), GB/s of
 *           weight bytes: the kernels' compute speed;
 *   stream  vec_dot over a 128 MiB buffer (larger than the caches), GB/s:
 *           bounded by memory bandwidth;
 *   gv      the same two through gemv, 256 rows per call (what decode
 *           runs; "nan" when the back end has no gemv);
 *   gemm    a 64-column batch against 128 rows, GOPS = 2 rows cols n / s:
 *           what prefill sees.
 * Weights are the reference quantization of seeded normal data (the stream
 * buffer repeats the hot one), activations come from the back end's own
 * quantize_act. Times are this thread's CPU time, so a busy machine does not
 * inflate them; each figure is the fastest of the passes filling at least
 * 0.2 s (0.05 s with --quick): on the shared 2-core machines the mean
 * moved by 30% from one run to the next with the neighbours' load (a
 * neighbour on the same physical core slows a pass without stopping its
 * CPU clock), the fastest pass by a few %. The last columns compare with
 * scalar. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rng.h"
#include "llm/kernels/kernels.h"

enum { N = 4096, GEMM_ROWS = 128, GEMM_COLS = 64, GEMV_ROWS = 256 };
#define HOT_BYTES ((size_t)256 << 10)
#define STREAM_BYTES ((size_t)128 << 20)

static const uint32_t TYPES[] = {
    GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0,
    GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])
#define MAX_BACKENDS 8

typedef struct result {
    double hot, stream, gv_hot, gv_stream, gops;
} result;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill_normal(float *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)ccai_rng_normal(&seed, 0.0, 1.0);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench_kernels: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static volatile float sink;

/* After a timed pass that began at CPU time t0: adds it to `total` and keeps
 * the fastest in `best`. The fastest pass is what the kernel does when it has
 * the core; on a shared machine the mean mostly measures the neighbours. */
#define BEST_PASS(t0)                                \
    do {                                             \
        double dt_ = cpu_now() - (t0);               \
        total += dt_;                                \
        best = dt_ < best ? dt_ : best;              \
    } while (0)

/* Seconds per pass of vec_dot over rows rows of row_bytes, repeated until
 * min_s of CPU time has gone by (after one warm-up pass): the fastest pass. */
static double time_vec_dot(const llm_kernels *k, uint32_t type, const uint8_t *w, size_t rows,
                           size_t row_bytes, const void *act, double min_s)
{
    float acc = 0;
    for (size_t r = 0; r < rows; r++)
        acc += k->vec_dot(type, N, w + r * row_bytes, act);
    double total = 0, best = 1e30;
    do {
        double t0 = cpu_now();
        for (size_t r = 0; r < rows; r++)
            acc += k->vec_dot(type, N, w + r * row_bytes, act);
        BEST_PASS(t0);
    } while (total < min_s);
    sink = acc;
    return best;
}

/* As time_vec_dot through the back end's gemv, GEMV_ROWS rows per call (a
 * decode matmul's chunk); NaN when the back end has none. */
static double time_gemv(const llm_kernels *k, uint32_t type, const uint8_t *w, size_t rows,
                        size_t row_bytes, const void *act, float *out, double min_s)
{
    if (!k->gemv)
        return 0.0 / 0.0;
    for (size_t r = 0; r < rows; r += GEMV_ROWS)
        k->gemv(type, N, rows - r < GEMV_ROWS ? (int64_t)(rows - r) : GEMV_ROWS,
                w + r * row_bytes, row_bytes, act, out);
    double total = 0, best = 1e30;
    do {
        double t0 = cpu_now();
        for (size_t r = 0; r < rows; r += GEMV_ROWS)
            k->gemv(type, N, rows - r < GEMV_ROWS ? (int64_t)(rows - r) : GEMV_ROWS,
                    w + r * row_bytes, row_bytes, act, out);
        BEST_PASS(t0);
    } while (total < min_s);
    sink = out[0];
    return best;
}

static double time_gemm(const llm_kernels *k, uint32_t type, const uint8_t *w, size_t row_bytes,
                        const uint8_t *act, size_t act_bytes, float *out, double min_s)
{
    double total = 0, best = 1e30;
    do {
        double t0 = cpu_now();
        if (k->gemm)
            k->gemm(type, N, GEMM_ROWS, w, row_bytes, GEMM_COLS, act, act_bytes, out, GEMM_ROWS);
        else
            for (size_t c = 0; c < GEMM_COLS; c++)
                for (size_t r = 0; r < GEMM_ROWS; r++)
                    out[c * GEMM_ROWS + r] =
                        k->vec_dot(type, N, w + r * row_bytes, act + c * act_bytes);
        BEST_PASS(t0);
    } while (total < min_s);
    sink = out[0];
    return best;
}

static result bench_one(const llm_kernels *k, uint32_t type, const uint8_t *hot, size_t hot_rows,
                        const uint8_t *stream, size_t stream_rows, size_t row_bytes, double min_s)
{
    llm_act act = llm_act_for(type);
    size_t act_bytes = llm_act_row_bytes(act, N);
    float *x = xmalloc((size_t)GEMM_COLS * N * sizeof *x);
    uint8_t *a = xmalloc((size_t)GEMM_COLS * act_bytes);
    float *out = xmalloc((size_t)GEMM_COLS * GEMM_ROWS * sizeof *out);
    fill_normal(x, (size_t)GEMM_COLS * N, 7);
    for (size_t c = 0; c < GEMM_COLS; c++)
        k->quantize_act(act, x + c * N, a + c * act_bytes, N);

    result res;
    double t = time_vec_dot(k, type, hot, hot_rows, row_bytes, a, min_s);
    res.hot = (double)(hot_rows * row_bytes) / t / 1e9;
    t = time_vec_dot(k, type, stream, stream_rows, row_bytes, a, min_s);
    res.stream = (double)(stream_rows * row_bytes) / t / 1e9;
    float *gv_out = xmalloc(GEMV_ROWS * sizeof *gv_out);
    t = time_gemv(k, type, hot, hot_rows, row_bytes, a, gv_out, min_s);
    res.gv_hot = (double)(hot_rows * row_bytes) / t / 1e9;
    t = time_gemv(k, type, stream, stream_rows, row_bytes, a, gv_out, min_s);
    res.gv_stream = (double)(stream_rows * row_bytes) / t / 1e9;
    free(gv_out);
    t = time_gemm(k, type, hot, row_bytes, a, act_bytes, out, min_s);
    res.gops = 2.0 * GEMM_ROWS * GEMM_COLS * N / t / 1e9;
    free(x);
    free(a);
    free(out);
    return res;
}

/* Whether name is one of the comma-separated items of list. */
static bool listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && strncmp(p, name, len) == 0)
            return true;
        p += l + (e ? 1 : 0);
    }
    return false;
}

static bool wanted(const char *name, int argc, char **argv)
{
    bool any = false;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            i += strcmp(argv[i], "--types") == 0; /* and its value */
            continue;
        }
        any = true;
        if (strcmp(argv[i], name) == 0)
            return true;
    }
    return !any || strcmp(name, "scalar") == 0; /* scalar always: the baseline */
}

int main(int argc, char **argv)
{
    double min_s = 0.2;
    const char *types = NULL; /* comma-separated type names; NULL: all */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            min_s = 0.05;
        } else if (strcmp(argv[i], "--types") == 0 && i + 1 < argc) {
            types = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: bench_kernels [--quick] [--types T,T..] [BACKEND...]\n");
            return 2;
        }
    }
    const llm_kernels *all[MAX_BACKENDS], *ks[MAX_BACKENDS];
    size_t n_all = llm_kernels_available(all, MAX_BACKENDS), nk = 0;
    for (size_t i = 0; i < n_all && i < MAX_BACKENDS; i++)
        if (wanted(all[i]->name, argc, argv))
            ks[nk++] = all[i];

    printf("n = %d; hot %zu KiB, stream %zu MiB, gemm %d rows x %d cols; one thread\n", N,
           HOT_BYTES >> 10, STREAM_BYTES >> 20, GEMM_ROWS, GEMM_COLS);
    printf("%-7s %-5s %9s %9s %9s %9s %9s   %6s %6s %6s\n", "backend", "type", "hot GB/s",
           "strm GB/s", "gv hot", "gv strm", "gemm GOPS", "hot x", "strm x", "gemm x");

    float *src = xmalloc((size_t)N * sizeof *src);
    for (size_t t = 0; t < N_TYPES; t++) {
        uint32_t type = TYPES[t];
        if (types && !listed(types, ggml_type_name(type)))
            continue;
        size_t row_bytes = 0;
        if (!ggml_row_bytes(type, N, &row_bytes))
            return 1;
        size_t hot_rows = HOT_BYTES / row_bytes;
        if (hot_rows < GEMM_ROWS)
            hot_rows = GEMM_ROWS;
        size_t stream_rows = STREAM_BYTES / row_bytes / hot_rows * hot_rows;
        uint8_t *hot = xmalloc(hot_rows * row_bytes);
        for (size_t r = 0; r < hot_rows; r++) {
            fill_normal(src, N, 1000 + r);
            llm_quantize_row(type, src, hot + r * row_bytes, N);
        }
        uint8_t *stream = xmalloc(stream_rows * row_bytes);
        for (size_t r = 0; r < stream_rows; r += hot_rows)
            memcpy(stream + r * row_bytes, hot, hot_rows * row_bytes);

        result res[MAX_BACKENDS], base = {0};
        for (size_t i = 0; i < nk; i++) {
            res[i] = bench_one(ks[i], type, hot, hot_rows, stream, stream_rows, row_bytes, min_s);
            if (ks[i] == llm_kernels_scalar())
                base = res[i];
        }
        for (size_t i = 0; i < nk; i++)
            printf("%-7s %-5s %9.2f %9.2f %9.2f %9.2f %9.2f   %6.2f %6.2f %6.2f\n", ks[i]->name,
                   ggml_type_name(type), res[i].hot, res[i].stream, res[i].gv_hot,
                   res[i].gv_stream, res[i].gops, res[i].hot / base.hot,
                   res[i].stream / base.stream, res[i].gops / base.gops);
        fflush(stdout);
        free(hot);
        free(stream);
    }
    free(src);
    return 0;
}
