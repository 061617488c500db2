/* Tests for src/llm/bench.c: the model's figures (bytes streamed per
 * generated token, non-embedding parameters, the weight-type name) on
 * generated tiny models against values computed by hand from their shapes;
 * a whole short run (-p 8 -n 4 -r 1, quick microbenchmarks) whose JSON has
 * every figure, finite and consistent with the others; the quick bandwidth
 * and peak microbenchmarks for every kernel family and thread count; the
 * pool's chunked runs, which the forward pass schedules its matmuls with,
 * and the tails of attention's blocked loops (forward.c). No
 * timing is asserted: these machines are shared and noisy, so only
 * structure and identities that noise cannot break are checked. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/mem.h"
#include "llm/bench.h"
#include "llm/ggml_types.h"
#include "llm/gguf.h"
#include "llm/mkmodel.h"
#include "llm/model.h"

/* A qwen2 of 2 layers: n_embd 256, n_ff 512, 4 heads of 64, 2 kv heads
 * (kv_dim 128), 320 tokens; q/k/v biases. */
static llm_mkmodel_spec tiny_spec(const char *ftype, bool tied)
{
    return (llm_mkmodel_spec){.arch = "qwen2", .n_embd = 256, .n_layer = 2, .n_ff = 512,
                              .n_head = 4, .n_head_kv = 2, .n_ctx = 256, .n_vocab = 320,
                              .rope_base = 10000.0f, .rms_eps = 1e-6f, .tied_embeddings = tied,
                              .ftype = ftype, .seed = 7};
}

typedef struct tiny {
    char *dir, *path;
    uint8_t *buf;       /* when loaded from memory */
    llm_model *m;
} tiny;

static tiny make_tiny(const char *ftype, bool tied)
{
    tiny t = {.dir = tu_tmpdir()};
    t.path = ccai_xasprintf("%s/tiny.gguf", t.dir);
    llm_mkmodel_spec sp = tiny_spec(ftype, tied);
    ccai_err err = {0};
    if (llm_mkmodel_write(&sp, t.path, &err) || llm_model_load(t.path, &t.m, &err))
        fail_msg("%s", err.msg);
    return t;
}

/* The same model with its general.file_type key renamed (same length, so
 * the file stays valid): the weight type must then be derived. */
static tiny make_tiny_without_file_type(const char *ftype)
{
    tiny t = {.dir = tu_tmpdir()};
    t.path = ccai_xasprintf("%s/tiny.gguf", t.dir);
    llm_mkmodel_spec sp = tiny_spec(ftype, false);
    ccai_err err = {0};
    if (llm_mkmodel_write(&sp, t.path, &err))
        fail_msg("%s", err.msg);
    size_t len;
    t.buf = tu_read(t.path, &len);
    static const char key[] = "general.file_type";
    bool renamed = false;
    for (size_t i = 0; i + sizeof key - 1 <= len; i++) {
        if (memcmp(t.buf + i, key, sizeof key - 1) == 0) {
            t.buf[i + sizeof key - 2] = 'X';
            renamed = true;
        }
    }
    assert_true(renamed);
    gguf_file *f = NULL;
    if (gguf_parse(t.buf, len, &f, &err) || llm_model_from_gguf(f, &t.m, &err))
        fail_msg("%s", err.msg);
    assert_null(gguf_find(t.m->file, "general.file_type"));
    return t;
}

static void free_tiny(tiny *t)
{
    llm_model_free(t->m);
    free(t->buf);
    tu_rm_rf(t->dir);
    free(t->dir);
    free(t->path);
}

/* ---- The model's figures ---------------------------------------------------- */

/* Q8_0 rows: 34 bytes per 32 values, so a row of 256 is 272 bytes and a row
 * of 512 is 544. Per layer: wq 256 rows x 272, wk and wv 128 x 272, wo
 * 256 x 272, gate and up 512 x 272, down 256 x 544. */
enum {
    Q8_ROW_256 = 8 * 34,
    Q8_LAYER = 256 * Q8_ROW_256 + 2 * 128 * Q8_ROW_256 + 256 * Q8_ROW_256 + 2 * 512 * Q8_ROW_256 +
               256 * 2 * Q8_ROW_256,
    Q8_OUTPUT = 320 * Q8_ROW_256,
    KV_PER_POSITION = 2 /* K, V */ * 2 /* layers */ * 128 /* kv_dim */ * 4 /* f32 */,
};

static void test_bytes_per_token(void **state)
{
    (void)state;
    assert_int_equal(Q8_LAYER, 626688); /* the sum above, spelled out */
    tiny t = make_tiny("Q8_0", false);
    /* Both layers, the output matrix, one embedding row. */
    uint64_t weights = 2 * Q8_LAYER + Q8_OUTPUT + Q8_ROW_256;
    assert_int_equal(llm_bench_bytes_per_token(t.m, 0), weights);
    assert_int_equal(llm_bench_bytes_per_token(t.m, 10), weights + 10 * KV_PER_POSITION);
    assert_int_equal(llm_bench_bytes_per_token(t.m, 6.5), weights + 13 * KV_PER_POSITION / 2);
    free_tiny(&t);

    /* Tied: the output is token_embd, read whole, plus the token's row. */
    t = make_tiny("Q8_0", true);
    assert_true(t.m->hp.tied_embeddings);
    assert_int_equal(llm_bench_bytes_per_token(t.m, 0), weights);
    free_tiny(&t);

    /* F32: 4 bytes per value, the layers' matrices hold 589824 values. */
    t = make_tiny("F32", false);
    assert_int_equal(llm_bench_bytes_per_token(t.m, 1),
                     4 * (2 * 589824 + 320 * 256 + 256) + KV_PER_POSITION);
    free_tiny(&t);
}

static void test_params(void **state)
{
    (void)state;
    /* Per layer: matrices 256*256 (q) + 2*256*128 (k, v) + 256*256 (o) +
     * 3*256*512 (gate, up, down) = 589824; norms 2*256; biases 256+128+128. */
    uint64_t per_layer = 589824 + 512 + 512;
    const char *ftypes[] = {"F32", "Q8_0", "Q4_K_M"};
    for (size_t i = 0; i < 3; i++) {
        tiny t = make_tiny(ftypes[i], i == 2);
        assert_int_equal(llm_bench_params_nonembd(t.m), 2 * per_layer);
        free_tiny(&t);
    }
}

static void test_weight_type(void **state)
{
    (void)state;
    static const struct {
        const char *ftype, *from_key, *derived;
    } cases[] = {
        {"Q8_0", "Q8_0", "Q8_0"},   {"Q4_0", "Q4_0", "Q4_0"}, {"F16", "F16", "F16"},
        {"Q4_K", "Q4_K_S", "Q4_K"}, {"Q4_K_M", "Q4_K_M", NULL}, {"BF16", "BF16", "BF16"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tiny t = make_tiny(cases[i].ftype, false);
        assert_string_equal(llm_bench_weight_type(t.m), cases[i].from_key);
        free_tiny(&t);
        t = make_tiny_without_file_type(cases[i].ftype);
        const char *got = llm_bench_weight_type(t.m);
        if (cases[i].derived)
            assert_string_equal(got, cases[i].derived);
        else /* a mix: the type holding the most bytes, one of its two */
            assert_true(!strcmp(got, "Q4_K") || !strcmp(got, "Q6_K"));
        free_tiny(&t);
    }
    assert_int_equal(llm_bench_peak_kind(GGML_TYPE_F32), LLM_PEAK_F32);
    assert_int_equal(llm_bench_peak_kind(GGML_TYPE_F16), LLM_PEAK_F32);
    assert_int_equal(llm_bench_peak_kind(GGML_TYPE_BF16), LLM_PEAK_F32);
    assert_int_equal(llm_bench_peak_kind(GGML_TYPE_Q4_0), LLM_PEAK_INT8);
    assert_int_equal(llm_bench_peak_kind(GGML_TYPE_Q4_K), LLM_PEAK_INT8);
    assert_int_equal(llm_bench_peak_kind(GGML_TYPE_Q8_0), LLM_PEAK_INT8);
}

/* ---- The microbenchmarks ------------------------------------------------------ */

static void assert_positive(double v, const char *what)
{
    if (!(isfinite(v) && v > 0))
        fail_msg("%s: %g is not a positive finite number", what, v);
}

static void assert_close(double got, double want, const char *what)
{
    if (!(fabs(got - want) <= 1e-9 * fabs(want)))
        fail_msg("%s: %.17g, expected %.17g", what, got, want);
}

static void test_limits_quick(void **state)
{
    (void)state;
    const char *kernels[] = {"avx512", "avx2", "scalar", NULL};
    for (int threads = 1; threads <= 2; threads++) {
        llm_pool *pool = threads == 1 ? NULL : llm_pool_new(threads);
        llm_bench_limit bw;
        ccai_err err = {0};
        assert_int_equal(llm_bench_bandwidth(pool, true, &bw, &err), CCAI_OK);
        assert_positive(bw.value, "bandwidth");
        assert_true(bw.method && *bw.method);
        for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
            for (int kind = LLM_PEAK_INT8; kind <= LLM_PEAK_F32; kind++) {
                llm_bench_limit p = llm_bench_peak(pool, (llm_peak_kind)kind, kernels[k], true);
                assert_positive(p.value, "peak");
                assert_true(p.method && *p.method);
                print_message("%d thread(s), %-6s %s: %.1f GOPS (%s)\n", threads,
                              kernels[k] ? kernels[k] : "auto", kind ? "f32" : "int8", p.value,
                              p.method);
            }
        }
        llm_pool_free(pool);
    }
    assert_positive(llm_bench_rss_mb(), "rss");

    /* A measurement spread over time: any number of passes, the best kept. */
    llm_pool *pool = llm_pool_new(2);
    llm_bench_bw *bw;
    assert_int_equal(llm_bench_bw_open(pool, true, &bw, NULL), CCAI_OK);
    double fastest = 0;
    for (int i = 0; i < 3; i++) {
        double gbs = llm_bench_bw_pass(bw);
        assert_positive(gbs, "one pass");
        fastest = gbs > fastest ? gbs : fastest;
    }
    llm_bench_limit l = llm_bench_bw_close(bw);
    assert_positive(l.value, "bandwidth over passes");
    assert_close(l.value, fastest, "the best pass is the fastest pass's rate");
    assert_true(l.method && *l.method);
    assert_positive(llm_bench_pool_run_us(pool, true), "pool hand-off");
    assert_true(llm_bench_pool_run_us(NULL, true) == 0);
    llm_pool_free(pool);

    const double odd[] = {5, 1, 3}, even[] = {4, 1, 3, 2};
    assert_true(llm_bench_median(odd, 3) == 3);
    assert_true(llm_bench_median(even, 4) == 2.5);
    assert_true(llm_bench_median(odd, 1) == 5);
    assert_true(llm_bench_median(odd, 0) == 0);
}

/* ---- The pool's chunked runs (the forward pass's scheduling) ---------------- */

typedef struct chunk_visit {
    int64_t n, grain;
    int n_threads;
    atomic_int *seen;
    atomic_int bad, calls;
} chunk_visit;

static void chunk_fn(void *arg, int64_t begin, int64_t end, int thread)
{
    chunk_visit *v = arg;
    atomic_fetch_add(&v->calls, 1);
    bool whole = begin == 0 && end == v->n && thread == 0; /* the inline case */
    if (thread < 0 || thread >= v->n_threads || begin >= end || end > v->n ||
        (end - begin > v->grain && !whole))
        atomic_fetch_add(&v->bad, 1);
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&v->seen[i], 1);
}

/* The pieces a thread's range of len items is cut into, whoever takes
 * them: grain items while two grains are left, then half of what is left
 * (rounded up), so the last pieces are small and a thread that is done
 * takes over most of a slower one's rest. The cut depends only on what is
 * left, so the count is exact. */
static int64_t range_pieces(int64_t len, int64_t grain)
{
    int64_t pieces = 0;
    while (len > 0) {
        len -= len >= 2 * grain ? grain : (len + 1) / 2;
        pieces++;
    }
    return pieces;
}

/* Every item exactly once, in ranges of at most grain (or the whole range
 * on the caller when it fits one chunk or the pool has one thread). */
static void check_chunked(llm_pool *p, int64_t n, int64_t grain)
{
    chunk_visit v = {.n = n, .grain = grain < 1 ? 1 : grain, .n_threads = llm_pool_size(p)};
    v.seen = ccai_xcalloc((size_t)(n ? n : 1), sizeof *v.seen);
    atomic_init(&v.bad, 0);
    atomic_init(&v.calls, 0);
    uint64_t runs = llm_pool_runs(p);
    llm_pool_run_chunked(p, n, grain, chunk_fn, &v);
    bool inline_run = n <= v.grain || v.n_threads == 1;
    assert_int_equal(llm_pool_runs(p) - runs, inline_run ? 0 : 1);
    for (int64_t i = 0; i < n; i++)
        if (atomic_load(&v.seen[i]) != 1)
            fail_msg("chunked run of %lld items, grain %lld, %d threads: item %lld seen %d times",
                     (long long)n, (long long)grain, v.n_threads, (long long)i,
                     atomic_load(&v.seen[i]));
    assert_int_equal(atomic_load(&v.bad), 0);
    if (n > 0 && (v.n_threads == 1 || n <= v.grain))
        assert_int_equal(atomic_load(&v.calls), 1);
    else if (n > 0) { /* each thread's range is cut into chunks of its own */
        int64_t want = 0;
        for (int t = 0; t < v.n_threads; t++)
            want += range_pieces(n * (t + 1) / v.n_threads - n * t / v.n_threads, v.grain);
        assert_int_equal(atomic_load(&v.calls), want);
    }
    free(v.seen);
}

/* Stealing: the worker's first chunk blocks until every other item is done,
 * which happens only if the caller takes over the rest of the worker's
 * range. Not a timing test: the 10 s limit only keeps a broken pool from
 * hanging the test. */
typedef struct steal_visit {
    int64_t n;
    atomic_int done, worker_calls;
    atomic_int seen[64];
} steal_visit;

static void steal_fn(void *arg, int64_t begin, int64_t end, int thread)
{
    steal_visit *v = arg;
    if (thread == 1 && atomic_fetch_add(&v->worker_calls, 1) == 0) {
        for (int i = 0; i < 10000 && atomic_load(&v->done) < v->n - (end - begin); i++)
            usleep(1000);
    }
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&v->seen[i], 1);
    atomic_fetch_add(&v->done, (int)(end - begin));
}

static void test_pool_steals(void **state)
{
    (void)state;
    llm_pool *p = llm_pool_new(2);
    for (int rep = 0; rep < 5; rep++) {
        steal_visit v = {.n = 64};
        llm_pool_run_chunked(p, v.n, 1, steal_fn, &v);
        for (int i = 0; i < v.n; i++)
            assert_int_equal(atomic_load(&v.seen[i]), 1);
        /* Once the blocked chunk returns, nothing is left for the worker. */
        assert_true(atomic_load(&v.worker_calls) <= 1);
    }
    llm_pool_free(p);
}

static void test_pool_chunked(void **state)
{
    (void)state;
    const int threads[] = {1, 2, 3, 5};
    const int64_t grains[] = {-1, 0, 1, 2, 7, 64, 1000};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        llm_pool *p = llm_pool_new(threads[t]);
        for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
            for (int64_t n = 0; n <= 70; n++)
                check_chunked(p, n, grains[g]);
            check_chunked(p, 4099, grains[g]);
        }
        /* Chunked and static runs alternate on the same workers. */
        for (int rep = 0; rep < 200; rep++)
            check_chunked(p, 1 + rep % 37, 1 + rep % 5);
        llm_pool_free(p);
    }
    check_chunked(NULL, 33, 4);
}

/* Attention's blocked loops (4 dimensions, 4 positions per pass) with the
 * tails of both: head_dim 10, and every position count 1..13. Batching and
 * threads must change no bit (test_forward.c checks the values against its
 * float64 reference for head_dim 64 and 128). */
static void test_attention_tails(void **state)
{
    (void)state;
    tiny t = {.dir = tu_tmpdir()};
    t.path = ccai_xasprintf("%s/odd.gguf", t.dir);
    llm_mkmodel_spec sp = {.arch = "llama", .n_embd = 40, .n_layer = 2, .n_ff = 64, .n_head = 4,
                           .n_head_kv = 2, .n_ctx = 64, .n_vocab = 300, .rope_base = 10000.0f,
                           .rms_eps = 1e-5f, .ftype = "F32", .seed = 3};
    ccai_err err = {0};
    if (llm_mkmodel_write(&sp, t.path, &err) || llm_model_load(t.path, &t.m, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(t.m->hp.head_dim, 10);
    enum { N = 13 };
    int32_t toks[N];
    for (int i = 0; i < N; i++)
        toks[i] = (i * 37 + 5) % 300;
    float want[N][300];
    llm_ctx *c;
    const float *lg;
    assert_int_equal(llm_ctx_new(t.m, 32, NULL, NULL, &c, &err), CCAI_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(llm_ctx_eval(c, &toks[i], 1, &lg, &err), CCAI_OK);
        memcpy(want[i], lg, sizeof want[i]);
        for (int v = 0; v < 300; v++)
            assert_true(isfinite(lg[v]));
    }
    llm_ctx_free(c);
    for (int threads = 1; threads <= 3; threads++) {
        llm_pool *pool = llm_pool_new(threads);
        assert_int_equal(llm_ctx_new(t.m, 32, pool, NULL, &c, &err), CCAI_OK);
        for (int n = 1; n <= N; n++) {
            llm_ctx_reset(c);
            assert_int_equal(llm_ctx_eval(c, toks, (size_t)n, &lg, &err), CCAI_OK);
            assert_memory_equal(lg, want[n - 1], sizeof want[0]);
        }
        llm_ctx_free(c);
        llm_pool_free(pool);
    }
    free_tiny(&t);
}

/* ---- A whole run --------------------------------------------------------------- */

/* gguf_huge_fraction: an anonymous mapping has no file pages mapped
 * in 2 MiB (0 exactly), an address nothing maps is unknown (-1). */
static void test_huge_fraction(void **state)
{
    (void)state;
    size_t len = (size_t)4 << 20;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 1, len);
    double f = gguf_huge_fraction(p + 12345);
    if (f == -1) {
        print_message("/proc/self/smaps unreadable: skipped\n");
        munmap(p, len);
        skip();
    }
    assert_true(f == 0.0);
    munmap(p, len);
    assert_true(gguf_huge_fraction(p) == -1);
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("bench JSON: %s missing or not a number", key);
    return json_number_value(v);
}

/* The per-run bound: one bandwidth figure and one fraction per generation
 * run (the faster sample around it, never above the best pass), the
 * fractions consistent with the runs' speeds, their medians over the
 * counted runs (those whose samples did not move, or all when none is
 * steady) the headline figures; the best-pass figures beside them.
 * Returns the number of generation runs made. */
static size_t check_run_bounds(const json_t *o)
{
    const json_t *bw = json_object_get(o, "gen_runs_bandwidth_gbs"),
                 *fr = json_object_get(o, "gen_runs_bw_fraction"),
                 *gen = json_object_get(o, "gen_runs_tps"),
                 *smp = json_object_get(o, "gen_bw_samples_gbs"),
                 *moved = json_object_get(o, "gen_runs_moved");
    size_t runs = json_array_size(gen), repeats = (size_t)num(o, "repeats");
    assert_true(runs >= repeats && runs <= 2 * repeats);
    assert_int_equal(json_array_size(bw), runs);
    assert_int_equal(json_array_size(fr), runs);
    assert_int_equal(json_array_size(moved), runs);
    /* One sample before each run and one after the last; a run's bound is
     * exactly the faster of the two around it, and it moved exactly when
     * they are more than LLM_BENCH_BW_MOVED apart. */
    assert_int_equal(json_array_size(smp), runs + 1);
    size_t steady = 0;
    for (size_t i = 0; i < runs; i++) {
        double a = json_number_value(json_array_get(smp, i));
        double b = json_number_value(json_array_get(smp, i + 1));
        assert_positive(a, "a bandwidth sample");
        assert_true(json_number_value(json_array_get(bw, i)) == (a > b ? a : b));
        bool m = (a > b ? a / b : b / a) > LLM_BENCH_BW_MOVED;
        assert_true(json_is_true(json_array_get(moved, i)) == m);
        steady += !m;
    }
    /* Runs go on until `repeats` are steady or twice that many were made. */
    assert_true(steady == repeats || (steady < repeats && runs == 2 * repeats));
    assert_int_equal(num(o, "gen_runs_counted"), steady ? steady : runs);
    double bytes = num(o, "weight_bytes_per_token"), bounds[16], fracs[16], tps[16];
    assert_true(runs <= 16);
    int k = 0;
    for (size_t i = 0; i < runs; i++) {
        double b = json_number_value(json_array_get(bw, i));
        assert_positive(b, "a run's bandwidth");
        assert_true(b <= num(o, "bandwidth_gbs") * (1 + 1e-12));
        double bound = b * 1e9 / bytes, fr_i = json_number_value(json_array_get(fr, i));
        double t = json_number_value(json_array_get(gen, i));
        assert_close(fr_i, t / bound, "a run's fraction");
        if (steady == 0 || json_is_false(json_array_get(moved, i)))
            bounds[k] = bound, fracs[k] = fr_i, tps[k++] = t;
    }
    assert_close(num(o, "gen_tps"), llm_bench_median(tps, k), "gen median");
    assert_close(num(o, "gen_bound_tps"), llm_bench_median(bounds, k), "run bound");
    assert_close(num(o, "gen_bw_fraction"), llm_bench_median(fracs, k), "run fraction");
    assert_close(num(o, "gen_best_bound_tps"),
                 num(o, "bandwidth_gbs") * 1e9 / num(o, "weight_bytes_per_token"), "best bound");
    assert_close(num(o, "gen_best_bw_fraction"), num(o, "gen_tps") / num(o, "gen_best_bound_tps"),
                 "best fraction");
    /* A run's bound is at most the best-pass bound: its fraction is at least. */
    assert_true(num(o, "gen_bw_fraction") >= num(o, "gen_best_bw_fraction") * (1 - 1e-12));
    return runs;
}

static void test_run_json(void **state)
{
    (void)state;
    tiny t = make_tiny("Q8_0", false);
    llm_bench_params p = llm_bench_params_default();
    assert_int_equal(p.n_prompt, 128);
    assert_int_equal(p.n_gen, 64);
    assert_int_equal(p.repeats, 3);
    p.n_threads = 2, p.n_prompt = 8, p.n_gen = 4, p.repeats = 1, p.quick = true;
    llm_bench_result r;
    ccai_err err = {0};
    if (llm_bench_run(t.m, "tiny", &p, &r, &err))
        fail_msg("%s", err.msg);
    char *text = llm_bench_json(&r);
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    if (!o)
        fail_msg("bench JSON does not parse: %s", jerr.text);

    static const char *const positive[] = {
        "pp_tps",        "gen_tps",         "bandwidth_gbs",      "weight_bytes_per_token",
        "gen_bound_tps", "gen_bw_fraction", "pp_ops_per_token",   "pp_gops",
        "peak_gops",     "pp_peak_fraction", "rss_mb",            "params_nonembd",
        "kv_positions",  "pool_run_us",     "pool_runs_per_token", "pool_overhead_fraction",
        "gen_best_bound_tps", "gen_best_bw_fraction",
    };
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++)
        assert_positive(num(o, positive[i]), positive[i]);
    assert_string_equal(json_string_value(json_object_get(o, "model")), "tiny");
    assert_string_equal(json_string_value(json_object_get(o, "architecture")), "qwen2");
    assert_string_equal(json_string_value(json_object_get(o, "weight_type")), "Q8_0");
    assert_non_null(json_string_value(json_object_get(o, "kernels")));
    assert_non_null(json_string_value(json_object_get(o, "peak_method")));
    assert_non_null(json_string_value(json_object_get(o, "bandwidth_method")));
    assert_int_equal(num(o, "threads"), 2);
    assert_int_equal(num(o, "n_prompt"), 8);
    assert_int_equal(num(o, "n_gen"), 4);
    assert_int_equal(num(o, "repeats"), 1);

    /* The derived figures follow from the measured ones exactly. */
    double kv = 4 + (4 + 1) / 2.0; /* 4-token prompt, then positions 4..7 */
    assert_close(num(o, "kv_positions"), kv, "kv_positions");
    assert_close(num(o, "weight_bytes_per_token"), (double)llm_bench_bytes_per_token(t.m, kv),
                 "bytes per token");
    assert_close(num(o, "params_nonembd"), 2 * (589824 + 1024), "params");
    assert_close(num(o, "pp_ops_per_token"), 2 * num(o, "params_nonembd"), "ops per token");
    assert_close(num(o, "pp_gops"), num(o, "pp_tps") * num(o, "pp_ops_per_token") / 1e9,
                 "pp_gops");
    assert_close(num(o, "pp_peak_fraction"), num(o, "pp_gops") / num(o, "peak_gops"),
                 "pp fraction");
    /* The model file's mapping: a fraction, or -1 without /proc. */
    double huge = num(o, "weights_huge_fraction");
    assert_true(huge == -1 || (huge >= 0 && huge <= 1));
    assert_close(num(o, "pool_overhead_fraction"),
                 num(o, "pool_runs_per_token") * num(o, "pool_run_us") * 1e-6 * num(o, "gen_tps"),
                 "pool overhead");
    /* A generated token hands the pool 5 runs per layer (q/k/v, attention,
     * output projection, gate/up, down) and one for the logits. */
    assert_close(num(o, "pool_runs_per_token"), 2 * 5 + 1, "pool runs per token");
    const json_t *pp = json_object_get(o, "pp_runs_tps"), *gen = json_object_get(o, "gen_runs_tps");
    assert_int_equal(json_array_size(pp), 1);
    assert_close(json_number_value(json_array_get(pp, 0)), num(o, "pp_tps"), "pp median");
    if (check_run_bounds(o) == 1) /* else the quick passes moved: two runs */
        assert_close(json_number_value(json_array_get(gen, 0)), num(o, "gen_tps"), "gen median");
    json_decref(o);
    free(text);

    /* The table names the same figures. */
    char *table = NULL;
    size_t table_len = 0;
    FILE *f = open_memstream(&table, &table_len);
    llm_bench_print(f, &r);
    fclose(f);
    assert_non_null(strstr(table, "tiny (qwen2, Q8_0)"));
    assert_non_null(strstr(table, "GB/s"));
    assert_non_null(strstr(table, "GOPS"));
    assert_non_null(strstr(table, "generation bound"));
    assert_non_null(strstr(table, "bandwidth around each run:"));
    assert_non_null(strstr(table, "best-pass bound"));
    free(table);
    llm_bench_result_free(&r);

    /* Three repeats: the median is the middle run. */
    p.repeats = 3, p.n_threads = 1;
    if (llm_bench_run(t.m, NULL, &p, &r, &err))
        fail_msg("%s", err.msg);
    {
        const double *v = r.pp_runs, m = r.pp_tps;
        int below = 0, above = 0;
        for (int i = 0; i < 3; i++) {
            assert_positive(v[i], "run");
            below += v[i] < m, above += v[i] > m;
        }
        assert_true(below <= 1 && above <= 1);
        assert_true(m == v[0] || m == v[1] || m == v[2]);
    }
    assert_string_equal(r.name, "model");
    assert_int_equal(r.threads, 1);
    text = llm_bench_json(&r);
    o = json_loads(text, 0, &jerr);
    assert_non_null(o);
    check_run_bounds(o);
    json_decref(o);
    free(text);
    llm_bench_result_free(&r);
    free_tiny(&t);
}

/* A memory that changes speed on cue: sample i of the generation runs is
 * script[i] GB/s (the measured value is ignored). */
typedef struct scripted {
    const double *v;
    int n, next;
} scripted;

static double scripted_sample(void *arg, double measured)
{
    (void)measured;
    scripted *s = arg;
    assert_true(s->next < s->n);
    return s->v[s->next++];
}

static char *table_of(const llm_bench_result *r)
{
    char *table = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&table, &len);
    llm_bench_print(f, r);
    fclose(f);
    return table;
}

/* A run during which the bandwidth moved (its two samples more than
 * LLM_BENCH_BW_MOVED apart) is reported but not counted, and another is
 * made; when every run moved, all are counted (at most 2 x repeats). */
static void test_run_moved(void **state)
{
    (void)state;
    tiny t = make_tiny("Q8_0", false);
    llm_bench_params p = llm_bench_params_default();
    p.n_threads = 1, p.n_prompt = 4, p.n_gen = 2, p.repeats = 2, p.quick = true;
    p.sample_hook = scripted_sample;
    ccai_err err = {0};
    llm_bench_result r;

    /* 40 | run 1 | 60 (moved) | run 2 | 60 | run 3 | 30 (moved) | run 4 | 30 */
    static const double some[] = {40, 60, 60, 30, 30};
    scripted sc = {some, 5, 0};
    p.sample_arg = &sc;
    if (llm_bench_run(t.m, "m", &p, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(sc.next, 5);
    assert_int_equal(r.gen_done, 4);
    assert_int_equal(r.gen_counted, 2);
    for (int i = 0; i < 4; i++)
        assert_true(r.gen_runs_bw[i] == (i < 2 ? 60 : (i == 2 ? 60 : 30)));
    double tps[2] = {r.gen_runs[1], r.gen_runs[3]}, fr[2] = {r.gen_runs_fraction[1],
                                                              r.gen_runs_fraction[3]};
    assert_true(r.gen_tps == llm_bench_median(tps, 2));
    assert_true(r.gen_bw_fraction == llm_bench_median(fr, 2));
    char *text = llm_bench_json(&r);
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    assert_non_null(o);
    const json_t *moved = json_object_get(o, "gen_runs_moved");
    assert_int_equal(json_array_size(moved), 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(json_is_true(json_array_get(moved, i)) == (i % 2 == 0));
    assert_int_equal(num(o, "gen_runs_counted"), 2);
    json_decref(o);
    free(text);
    char *table = table_of(&r);
    assert_non_null(strstr(table, "run 1: the bandwidth moved from 40.00 to 60.00 GB/s"));
    assert_non_null(strstr(table, "run 3: the bandwidth moved from 60.00 to 30.00 GB/s"));
    assert_non_null(strstr(table, "not counted, run again"));
    assert_null(strstr(table, "run 2: the bandwidth moved"));
    assert_null(strstr(table, "run 4: the bandwidth moved"));
    free(table);
    llm_bench_result_free(&r);

    /* Every run moved: four runs, all counted, and the table says so. */
    static const double all[] = {30, 50, 30, 50, 30};
    sc = (scripted){all, 5, 0};
    if (llm_bench_run(t.m, "m", &p, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(sc.next, 5);
    assert_int_equal(r.gen_done, 4);
    assert_int_equal(r.gen_counted, 0);
    assert_true(r.gen_tps == llm_bench_median(r.gen_runs, 4));
    assert_true(r.gen_bw_fraction == llm_bench_median(r.gen_runs_fraction, 4));
    table = table_of(&r);
    assert_non_null(strstr(table, "run 4: the bandwidth moved from 50.00 to 30.00 GB/s"));
    assert_non_null(strstr(table, "no run was steady"));
    assert_null(strstr(table, "not counted"));
    free(table);
    llm_bench_result_free(&r);

    /* Steady throughout: exactly `repeats` runs. */
    static const double steady[] = {45, 50, 42};
    sc = (scripted){steady, 3, 0};
    if (llm_bench_run(t.m, "m", &p, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(sc.next, 3);
    assert_int_equal(r.gen_done, 2);
    assert_int_equal(r.gen_counted, 2);
    table = table_of(&r);
    assert_null(strstr(table, "the bandwidth moved"));
    free(table);
    llm_bench_result_free(&r);
    free_tiny(&t);
}

/* -d: the generation runs start with n_depth tokens in the cache (evaluated
 * once, each run rewinds to them): the context holds them, the KV bytes
 * per token count them, and the report says so. */
static void test_run_depth(void **state)
{
    (void)state;
    tiny t = make_tiny("Q8_0", false);
    llm_bench_params p = llm_bench_params_default();
    assert_int_equal(p.n_depth, 4);
    p.n_threads = 2, p.n_prompt = 8, p.n_gen = 4, p.n_depth = 300, p.repeats = 2, p.quick = true;
    llm_bench_result r;
    ccai_err err = {0};
    if (llm_bench_run(t.m, "tiny", &p, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(r.n_depth, 300);
    double kv = 300 + (4 + 1) / 2.0; /* positions 300..303 */
    assert_true(r.kv_positions == kv);
    assert_int_equal(r.weight_bytes_per_token, llm_bench_bytes_per_token(t.m, kv));
    assert_true(r.weight_bytes_per_token > llm_bench_bytes_per_token(t.m, 4 + 2.5));
    for (int i = 0; i < r.gen_done; i++)
        assert_positive(r.gen_runs[i], "a generation run at depth 300");
    char *text = llm_bench_json(&r);
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    assert_int_equal(num(o, "n_depth"), 300);
    assert_close(num(o, "kv_positions"), kv, "kv_positions at depth 300");
    json_decref(o);
    free(text);
    char *table = table_of(&r);
    assert_non_null(strstr(table, "generate (tg4@d300)"));
    assert_non_null(strstr(table, "KV at 302.5 positions"));
    free(table);
    llm_bench_result_free(&r);
    free_tiny(&t);
}

static void test_run_errors(void **state)
{
    (void)state;
    tiny t = make_tiny("Q8_0", false);
    llm_bench_params p = llm_bench_params_default();
    p.quick = true;
    llm_bench_result r;
    ccai_err err = {0};
    p.repeats = 0;
    assert_int_equal(llm_bench_run(t.m, "x", &p, &r, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "bench: repeats 0 out of range (1..1000)");
    p.repeats = 1, p.n_prompt = 0;
    assert_int_equal(llm_bench_run(t.m, "x", &p, &r, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "bench: -p 0 / -n 64 out of range (1..65536 tokens each)");
    p.n_prompt = 8, p.n_depth = 0;
    assert_int_equal(llm_bench_run(t.m, "x", &p, &r, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "bench: -d 0 out of range (1..65536 tokens)");
    p.n_depth = 65537;
    assert_int_equal(llm_bench_run(t.m, "x", &p, &r, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "bench: -d 65537 out of range (1..65536 tokens)");
    p.n_depth = 4, p.kernels = "nope";
    assert_int_equal(llm_bench_run(t.m, "x", &p, &r, &err), CCAI_ERR_ARG);
    assert_non_null(strstr(err.msg, "unknown kernel set 'nope'"));
    free_tiny(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_per_token), cmocka_unit_test(test_params),
        cmocka_unit_test(test_weight_type),     cmocka_unit_test(test_limits_quick),
        cmocka_unit_test(test_pool_chunked),    cmocka_unit_test(test_pool_steals),
        cmocka_unit_test(test_attention_tails),
        cmocka_unit_test(test_huge_fraction),
        cmocka_unit_test(test_run_json),
        cmocka_unit_test(test_run_moved),
        cmocka_unit_test(test_run_depth),
        cmocka_unit_test(test_run_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
