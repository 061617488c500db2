/* The benchmark library (bench.h, docs/bench.md): the model's figures, the
 * machine-limit microbenchmarks and a whole `ccai bench` run.
 *
 * The microbenchmarks are written to hit the limit they name, so that a
 * fraction of it means something:
 * - bandwidth: each thread streams its own half (third, ...) of a 1 GiB
 *   buffer, 32x larger than this class of machine's last-level cache, with
 *   the widest loads the CPU has, folding them into eight independent XOR
 *   accumulators (the loads, not the ALU, are the bottleneck); the buffer
 *   asks for transparent huge pages so TLB walks do not cut the rate;
 * - peak: twelve independent accumulator chains per thread, all in
 *   registers, enough to cover the latency x throughput of vpdpbusd or FMA on
 *   current cores (4-5 cycles x 1-2 per cycle), with no loads at all.
 * Each SIMD function carries its own target attribute and is called only
 * after __builtin_cpu_supports says the CPU runs it, so the binary keeps the
 * baseline ISA. */
#include "llm/bench.h"

#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#else
#define BENCH_X86 0
#endif

#include "base/mem.h"
#include "llm/ggml_types.h"
#include "llm/kernels/kernels.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    if (n <= 0)
        return 0;
    double *s = ccai_xmemdup(v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

/* ---- The model's figures --------------------------------------------------------- */

static uint64_t matrix_bytes(const llm_weight *w)
{
    return (uint64_t)w->rows * w->row_bytes;
}

/* The seven matrices of a layer, in forward order. */
static void layer_matrices(const llm_layer *L, const llm_weight *out[7])
{
    const llm_weight *w[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    memcpy(out, w, sizeof w);
}

uint64_t llm_bench_bytes_per_token(const llm_model *m, double n_kv)
{
    const llm_hparams *hp = &m->hp;
    uint64_t bytes = matrix_bytes(&m->output) + m->tok_embd.row_bytes;
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        const llm_weight *w[7];
        layer_matrices(&m->layers[il], w);
        for (int i = 0; i < 7; i++)
            bytes += matrix_bytes(w[i]);
    }
    double kv = 2.0 * hp->n_layer * llm_kv_dim(hp) * sizeof(float) * (n_kv > 0 ? n_kv : 0);
    return bytes + (uint64_t)llround(kv);
}

uint64_t llm_bench_params_nonembd(const llm_model *m)
{
    const llm_hparams *hp = &m->hp;
    uint64_t n = 0;
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        const llm_layer *L = &m->layers[il];
        const llm_weight *w[7];
        layer_matrices(L, w);
        for (int i = 0; i < 7; i++)
            n += (uint64_t)w[i]->rows * (uint64_t)w[i]->cols;
        n += 2ull * hp->n_embd; /* attn_norm, ffn_norm */
        if (L->bq)
            n += llm_q_dim(hp);
        if (L->bk)
            n += llm_kv_dim(hp);
        if (L->bv)
            n += llm_kv_dim(hp);
    }
    return n;
}

/* The ggml type holding the most bytes among the layers' matrices, plus
 * token_embd and output when `all`. */
static uint32_t dominant_type(const llm_model *m, bool all)
{
    enum { N_TYPES = 64 };
    uint64_t by_type[N_TYPES] = {0};
    const llm_weight *extra[] = {&m->tok_embd, &m->output};
    for (size_t i = 0; all && i < 2; i++) {
        if (i == 1 && m->hp.tied_embeddings)
            break;
        if (extra[i]->type < N_TYPES)
            by_type[extra[i]->type] += matrix_bytes(extra[i]);
    }
    for (uint32_t il = 0; il < m->hp.n_layer; il++) {
        const llm_weight *w[7];
        layer_matrices(&m->layers[il], w);
        for (int i = 0; i < 7; i++)
            if (w[i]->type < N_TYPES)
                by_type[w[i]->type] += matrix_bytes(w[i]);
    }
    uint32_t best = 0;
    for (uint32_t t = 1; t < N_TYPES; t++)
        if (by_type[t] > by_type[best])
            best = t;
    return best;
}

/* general.file_type (llama.cpp's llama_ftype) to its name. */
static const char *file_type_name(uint32_t ft)
{
    static const struct {
        uint32_t id;
        const char *name;
    } NAMES[] = {
        {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
        {8, "Q5_0"},    {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
        {13, "Q3_K_L"}, {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
        {18, "Q6_K"},   {32, "BF16"},
    };
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (NAMES[i].id == ft)
            return NAMES[i].name;
    return NULL;
}

const char *llm_bench_weight_type(const llm_model *m)
{
    uint32_t ft;
    const char *name;
    if (gguf_get_u32(m->file, "general.file_type", &ft, NULL) == CCAI_OK &&
        (name = file_type_name(ft)))
        return name;
    return ggml_type_name(dominant_type(m, true));
}

llm_peak_kind llm_bench_peak_kind(uint32_t weight_type)
{
    switch (weight_type) {
    case GGML_TYPE_F32:
    case GGML_TYPE_F16:
    case GGML_TYPE_BF16:
        return LLM_PEAK_F32;
    default:
        return LLM_PEAK_INT8;
    }
}

static void empty_chunk(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)arg, (void)begin, (void)end, (void)thread;
}

double llm_bench_pool_run_us(llm_pool *pool, bool quick)
{
    int T = llm_pool_size(pool), runs = quick ? 100 : 2000;
    if (T == 1)
        return 0;
    double us[5];
    for (int i = 0; i < 5; i++) {
        double t0 = now_s();
        for (int r = 0; r < runs; r++)
            llm_pool_run_chunked(pool, 4 * T, 1, empty_chunk, NULL);
        us[i] = (now_s() - t0) / runs * 1e6;
    }
    return median(us, 5);
}

double llm_bench_rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    double kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
            break;
    fclose(f);
    return kb / 1024.0;
}

/* ---- Memory read bandwidth --------------------------------------------------------- */

enum { BW_CHUNK = 1 << 20 };

typedef uint64_t (*read_fn)(const uint8_t *p, size_t n);

#if BENCH_X86
/* Eight independent accumulators, 512 bytes per iteration; n is a multiple
 * of 512 and p 64-byte aligned. */
__attribute__((target("avx512f"))) static uint64_t read_avx512(const uint8_t *p, size_t n)
{
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
            a7 = a0;
    for (size_t i = 0; i < n; i += 512) {
        const __m512i *v = (const __m512i *)(const void *)(p + i);
        a0 = _mm512_xor_si512(a0, _mm512_load_si512(v + 0));
        a1 = _mm512_xor_si512(a1, _mm512_load_si512(v + 1));
        a2 = _mm512_xor_si512(a2, _mm512_load_si512(v + 2));
        a3 = _mm512_xor_si512(a3, _mm512_load_si512(v + 3));
        a4 = _mm512_xor_si512(a4, _mm512_load_si512(v + 4));
        a5 = _mm512_xor_si512(a5, _mm512_load_si512(v + 5));
        a6 = _mm512_xor_si512(a6, _mm512_load_si512(v + 6));
        a7 = _mm512_xor_si512(a7, _mm512_load_si512(v + 7));
    }
    a0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3)),
                          _mm512_xor_si512(_mm512_xor_si512(a4, a5), _mm512_xor_si512(a6, a7)));
    return (uint64_t)_mm512_reduce_add_epi64(a0);
}

__attribute__((target("avx2"))) static uint64_t read_avx2(const uint8_t *p, size_t n)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
            a7 = a0;
    for (size_t i = 0; i < n; i += 256) {
        const __m256i *v = (const __m256i *)(const void *)(p + i);
        a0 = _mm256_xor_si256(a0, _mm256_load_si256(v + 0));
        a1 = _mm256_xor_si256(a1, _mm256_load_si256(v + 1));
        a2 = _mm256_xor_si256(a2, _mm256_load_si256(v + 2));
        a3 = _mm256_xor_si256(a3, _mm256_load_si256(v + 3));
        a4 = _mm256_xor_si256(a4, _mm256_load_si256(v + 4));
        a5 = _mm256_xor_si256(a5, _mm256_load_si256(v + 5));
        a6 = _mm256_xor_si256(a6, _mm256_load_si256(v + 6));
        a7 = _mm256_xor_si256(a7, _mm256_load_si256(v + 7));
    }
    a0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3)),
                          _mm256_xor_si256(_mm256_xor_si256(a4, a5), _mm256_xor_si256(a6, a7)));
    return (uint64_t)_mm256_extract_epi64(a0, 0) ^ (uint64_t)_mm256_extract_epi64(a0, 3);
}
#endif

/* Any CPU: eight 64-bit lanes (the compiler may widen them). */
static uint64_t read_generic(const uint8_t *p, size_t n)
{
    uint64_t a[8] = {0};
    for (size_t i = 0; i < n; i += 64) {
        const uint64_t *v = (const uint64_t *)(const void *)(p + i);
        for (int j = 0; j < 8; j++)
            a[j] ^= v[j];
    }
    return a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7];
}

static read_fn pick_read(const char **method)
{
#if BENCH_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        *method = "avx512 loads";
        return read_avx512;
    }
    if (__builtin_cpu_supports("avx2")) {
        *method = "avx2 loads";
        return read_avx2;
    }
#endif
    *method = "64-bit loads";
    return read_generic;
}

typedef struct bw_job {
    uint8_t *buf;
    read_fn read;
    bool fill;                /* first touch: write the pages */
    _Atomic uint64_t sink;    /* keeps the reads alive */
} bw_job;

/* Items are BW_CHUNK-byte chunks: each thread streams its contiguous range. */
static void bw_chunks(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    bw_job *j = arg;
    uint8_t *p = j->buf + (size_t)begin * BW_CHUNK;
    size_t n = (size_t)(end - begin) * BW_CHUNK;
    if (j->fill)
        memset(p, 0x5a, n);
    else
        atomic_fetch_xor_explicit(&j->sink, j->read(p, n), memory_order_relaxed);
}

ccai_code llm_bench_bandwidth(llm_pool *pool, bool quick, llm_bench_limit *out, ccai_err *err)
{
    size_t bytes = quick ? (size_t)16 << 20 : (size_t)1 << 30;
    int passes = quick ? 1 : 5;
    void *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        return ccai_fail(err, CCAI_ERR_ARG, "bandwidth: cannot map a %zu MiB buffer", bytes >> 20);
#ifdef MADV_HUGEPAGE
    madvise(buf, bytes, MADV_HUGEPAGE);
#endif
    bw_job j = {.buf = buf, .fill = true};
    j.read = pick_read(&out->method);
    int64_t chunks = (int64_t)(bytes / BW_CHUNK);
    llm_pool_run(pool, chunks, bw_chunks, &j); /* pages in, in parallel */
    j.fill = false;
    double best = INFINITY;
    for (int i = 0; i < passes; i++) {
        double t0 = now_s();
        llm_pool_run(pool, chunks, bw_chunks, &j);
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
    }
    munmap(buf, bytes);
    out->value = (double)bytes / best / 1e9;
    return CCAI_OK;
}

/* ---- Peak dot-product rate ---------------------------------------------------------- */

/* One call runs `iters` iterations and returns a value that depends on every
 * result (so the compiler keeps the work); ops per iteration are in the
 * table below. */
typedef uint64_t (*peak_fn)(int64_t iters);

/* Twelve chains: S(k) is one step of chain k. */
#define CHAINS12(S) S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11)

#if BENCH_X86
/* An empty asm that "changes" v: the compiler may not hoist work on v out of
 * the loop or share it between chains; the CPU sees no instruction. */
#define OPAQUE(v) __asm__ volatile("" : "+v"(v))

__attribute__((target("avx512f,avx512vnni"))) static uint64_t peak_vnni512(int64_t iters)
{
    __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(3);
#define DECL(k) __m512i c##k = _mm512_set1_epi32(k);
    CHAINS12(DECL)
#undef DECL
    for (int64_t i = 0; i < iters; i++) {
        OPAQUE(a);
#define STEP(k) c##k = _mm512_dpbusd_epi32(c##k, a, b);
        CHAINS12(STEP)
#undef STEP
    }
    __m512i s = _mm512_setzero_si512();
#define SUM(k) s = _mm512_add_epi32(s, c##k);
    CHAINS12(SUM)
#undef SUM
    return (uint64_t)_mm512_reduce_add_epi32(s);
}

/* u8 x s8 pairs summed to s16 (pmaddubsw), pairs of those to s32 (pmaddwd
 * by ones), then added: the sequence an AVX2 or AVX-512 BW kernel runs per
 * 32 / 64 products. */
__attribute__((target("avx512f,avx512bw"))) static uint64_t peak_maddubs512(int64_t iters)
{
    __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(3), ones = _mm512_set1_epi16(1);
#define DECL(k) __m512i c##k = _mm512_set1_epi32(k);
    CHAINS12(DECL)
#undef DECL
    for (int64_t i = 0; i < iters; i++) {
#define STEP(k)                                                                                    \
    OPAQUE(a);                                                                                     \
    c##k = _mm512_add_epi32(c##k, _mm512_madd_epi16(_mm512_maddubs_epi16(a, b), ones));
        CHAINS12(STEP)
#undef STEP
    }
    __m512i s = _mm512_setzero_si512();
#define SUM(k) s = _mm512_add_epi32(s, c##k);
    CHAINS12(SUM)
#undef SUM
    return (uint64_t)_mm512_reduce_add_epi32(s);
}

__attribute__((target("avx2"))) static uint64_t peak_maddubs256(int64_t iters)
{
    __m256i a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
#define DECL(k) __m256i c##k = _mm256_set1_epi32(k);
    CHAINS12(DECL)
#undef DECL
    for (int64_t i = 0; i < iters; i++) {
#define STEP(k)                                                                                    \
    OPAQUE(a);                                                                                     \
    c##k = _mm256_add_epi32(c##k, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
        CHAINS12(STEP)
#undef STEP
    }
    __m256i s = _mm256_setzero_si256();
#define SUM(k) s = _mm256_add_epi32(s, c##k);
    CHAINS12(SUM)
#undef SUM
    return (uint64_t)_mm256_extract_epi32(s, 0) + (uint64_t)_mm256_extract_epi32(s, 7);
}

/* Tiny factors keep the sums far from overflow and denormals. */
__attribute__((target("avx512f"))) static uint64_t peak_fma512(int64_t iters)
{
    __m512 a = _mm512_set1_ps(1e-7f), b = _mm512_set1_ps(1e-7f);
#define DECL(k) __m512 c##k = _mm512_set1_ps((float)k);
    CHAINS12(DECL)
#undef DECL
    for (int64_t i = 0; i < iters; i++) {
        OPAQUE(a);
#define STEP(k) c##k = _mm512_fmadd_ps(a, b, c##k);
        CHAINS12(STEP)
#undef STEP
    }
    __m512 s = _mm512_setzero_ps();
#define SUM(k) s = _mm512_add_ps(s, c##k);
    CHAINS12(SUM)
#undef SUM
    return (uint64_t)_mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static uint64_t peak_fma256(int64_t iters)
{
    __m256 a = _mm256_set1_ps(1e-7f), b = _mm256_set1_ps(1e-7f);
#define DECL(k) __m256 c##k = _mm256_set1_ps((float)k);
    CHAINS12(DECL)
#undef DECL
    for (int64_t i = 0; i < iters; i++) {
        OPAQUE(a);
#define STEP(k) c##k = _mm256_fmadd_ps(a, b, c##k);
        CHAINS12(STEP)
#undef STEP
    }
    __m256 s = _mm256_setzero_ps();
#define SUM(k) s = _mm256_add_ps(s, c##k);
    CHAINS12(SUM)
#undef SUM
    float f[8];
    _mm256_storeu_ps(f, s);
    return (uint64_t)f[0];
}
#undef OPAQUE
#endif

/* Any CPU: twelve scalar multiply-add chains (what plain C gets per cycle). */
static uint64_t peak_generic_int(int64_t iters)
{
    volatile int32_t va = 3;
    int32_t a = va, c[12] = {0};
    for (int64_t i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++)
            c[k] += a * (int32_t)(i + k);
    int32_t s = 0;
    for (int k = 0; k < 12; k++)
        s += c[k];
    return (uint64_t)(uint32_t)s;
}

static uint64_t peak_generic_f32(int64_t iters)
{
    volatile float va = 1e-7f;
    float a = va, c[12] = {0};
    for (int64_t i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++)
            c[k] += a * a;
    float s = 0;
    for (int k = 0; k < 12; k++)
        s += c[k];
    return (uint64_t)s;
}

#undef CHAINS12

typedef struct peak_impl {
    peak_fn fn;
    double ops_per_iter; /* 12 chains x products per instruction x 2 */
    const char *method;
} peak_impl;

static peak_impl pick_peak(llm_peak_kind k, const char *kernels)
{
    bool avx2_only = kernels && strcmp(kernels, "avx2") == 0;
#if BENCH_X86
    __builtin_cpu_init();
    bool avx512 = !avx2_only && __builtin_cpu_supports("avx512f");
    if (k == LLM_PEAK_INT8) {
        if (avx512 && __builtin_cpu_supports("avx512vnni"))
            return (peak_impl){peak_vnni512, 12 * 64 * 2, "vpdpbusd zmm"};
        if (avx512 && __builtin_cpu_supports("avx512bw"))
            return (peak_impl){peak_maddubs512, 12 * 64 * 2, "vpmaddubsw+vpmaddwd zmm"};
        if (__builtin_cpu_supports("avx2"))
            return (peak_impl){peak_maddubs256, 12 * 32 * 2, "vpmaddubsw+vpmaddwd ymm"};
    } else {
        if (avx512)
            return (peak_impl){peak_fma512, 12 * 16 * 2, "vfmadd zmm"};
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            return (peak_impl){peak_fma256, 12 * 8 * 2, "vfmadd ymm"};
    }
#else
    (void)avx2_only;
#endif
    if (k == LLM_PEAK_INT8)
        return (peak_impl){peak_generic_int, 12 * 2, "scalar int32 multiply-add"};
    return (peak_impl){peak_generic_f32, 12 * 2, "scalar fp32 multiply-add"};
}

typedef struct peak_job {
    peak_fn fn;
    int64_t iters;
    _Atomic uint64_t sink;
} peak_job;

static void peak_threads(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)begin, (void)end, (void)thread;
    peak_job *j = arg;
    atomic_fetch_xor_explicit(&j->sink, j->fn(j->iters), memory_order_relaxed);
}

/* Seconds for one run of every thread doing iters iterations. */
static double time_peak(llm_pool *pool, peak_job *j)
{
    double t0 = now_s();
    llm_pool_run(pool, llm_pool_size(pool), peak_threads, j);
    return now_s() - t0;
}

llm_bench_limit llm_bench_peak(llm_pool *pool, llm_peak_kind k, const char *kernels, bool quick)
{
    peak_impl impl = pick_peak(k, kernels);
    peak_job j = {.fn = impl.fn, .iters = 1 << 10};
    /* Grow the loop until a run is long enough to time (quick: 1 ms,
     * else 50 ms: far above timer and wake-up noise). */
    double target = quick ? 1e-3 : 50e-3, dt = time_peak(pool, &j);
    while (dt < target && j.iters < ((int64_t)1 << 40)) {
        j.iters *= dt < target / 8 ? 8 : 2;
        dt = time_peak(pool, &j);
    }
    for (int i = 0; !quick && i < 4; i++) {
        double t = time_peak(pool, &j);
        dt = t < dt ? t : dt;
    }
    double ops = impl.ops_per_iter * (double)j.iters * llm_pool_size(pool);
    return (llm_bench_limit){ops / dt / 1e9, impl.method};
}

/* ---- A whole run ---------------------------------------------------------------------- */

enum { GEN_PROMPT = 4 }; /* the short prompt before a generation run */

llm_bench_params llm_bench_params_default(void)
{
    return (llm_bench_params){.n_prompt = 128, .n_gen = 64, .repeats = 3};
}

/* Seeded pseudo-random token ids (xorshift64): the same run every time. */
static void fill_tokens(int32_t *t, size_t n, uint32_t n_vocab)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        t[i] = (int32_t)(s % n_vocab);
    }
}

/* Tokens/s of one prompt run (tokens[0..n) from an empty cache). */
static ccai_code time_prompt(llm_ctx *c, const int32_t *tokens, int n, double *tps, ccai_err *err)
{
    llm_ctx_reset(c);
    double t0 = now_s();
    ccai_code rc = llm_ctx_eval(c, tokens, (size_t)n, NULL, err);
    *tps = n / (now_s() - t0);
    return rc;
}

/* Tokens/s of n one-token evaluations after a GEN_PROMPT-token prompt;
 * *runs += the pool hand-offs they made. */
static ccai_code time_gen(llm_ctx *c, llm_pool *pool, const int32_t *tokens, int n, double *tps,
                          uint64_t *runs, ccai_err *err)
{
    llm_ctx_reset(c);
    ccai_code rc = llm_ctx_eval(c, tokens, GEN_PROMPT, NULL, err);
    uint64_t r0 = llm_pool_runs(pool);
    double t0 = now_s();
    for (int i = 0; i < n && !rc; i++)
        rc = llm_ctx_eval(c, &tokens[GEN_PROMPT + i], 1, NULL, err);
    *tps = n / (now_s() - t0);
    *runs += llm_pool_runs(pool) - r0;
    return rc;
}

static ccai_code check_params(const llm_bench_params *p, ccai_err *err)
{
    if (p->n_threads < 0 || p->n_threads > 1024)
        return ccai_fail(err, CCAI_ERR_ARG, "bench: threads %d out of range (0..1024)",
                         p->n_threads);
    if (p->n_prompt < 1 || p->n_prompt > 65536 || p->n_gen < 1 || p->n_gen > 65536)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "bench: -p %d / -n %d out of range (1..65536 tokens each)", p->n_prompt,
                         p->n_gen);
    if (p->repeats < 1 || p->repeats > 1000)
        return ccai_fail(err, CCAI_ERR_ARG, "bench: repeats %d out of range (1..1000)",
                         p->repeats);
    return CCAI_OK;
}

/* The model runs: warm-up, then the pp and gen repeats. */
static ccai_code run_model(const llm_model *m, llm_pool *pool, const llm_kernels *k,
                           const llm_bench_params *p, llm_bench_result *r, ccai_err *err)
{
    int n_gen_total = GEN_PROMPT + p->n_gen;
    int n = p->n_prompt > n_gen_total ? p->n_prompt : n_gen_total;
    llm_ctx *c = NULL;
    ccai_code rc = llm_ctx_new(m, (uint32_t)n, pool, k, &c, err);
    if (rc)
        return rc;
    int32_t *tokens = ccai_xmalloc((size_t)n * sizeof *tokens);
    fill_tokens(tokens, (size_t)n, m->hp.n_vocab);
    /* One token reads every weight: the mapped file is paged in before any
     * timing starts. */
    rc = llm_ctx_eval(c, tokens, 1, NULL, err);
    for (int i = 0; i < p->repeats && !rc; i++)
        rc = time_prompt(c, tokens, p->n_prompt, &r->pp_runs[i], err);
    uint64_t runs = 0;
    for (int i = 0; i < p->repeats && !rc; i++)
        rc = time_gen(c, pool, tokens, p->n_gen, &r->gen_runs[i], &runs, err);
    r->pool_runs_per_token = (double)runs / ((double)p->repeats * p->n_gen);
    free(tokens);
    llm_ctx_free(c);
    return rc;
}

ccai_code llm_bench_run(const llm_model *m, const char *name, const llm_bench_params *p,
                        llm_bench_result *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    ccai_code rc = check_params(p, err);
    if (rc)
        return rc;
    const llm_kernels *k = llm_kernels_get(p->kernels, err);
    if (!k)
        return err ? err->code : CCAI_ERR_ARG;
    llm_bench_result *r = out;
    llm_pool *pool = llm_pool_new(p->n_threads);
    r->name = ccai_xstrdup(name ? name : "model");
    r->arch = llm_arch_name(m->hp.arch);
    r->weight_type = llm_bench_weight_type(m);
    r->kernels = k->name;
    r->threads = llm_pool_size(pool);
    r->n_prompt = p->n_prompt, r->n_gen = p->n_gen, r->repeats = p->repeats;
    r->pp_runs = ccai_xcalloc((size_t)p->repeats, sizeof *r->pp_runs);
    r->gen_runs = ccai_xcalloc((size_t)p->repeats, sizeof *r->gen_runs);

    if ((rc = run_model(m, pool, k, p, r, err)))
        goto done;
    /* Before the bandwidth buffer exists: the model's own footprint. */
    r->rss_mb = llm_bench_rss_mb();
    if ((rc = llm_bench_bandwidth(pool, p->quick, &r->bandwidth, err)))
        goto done;
    /* The layers' matrices are what a prompt multiplies. */
    r->peak = llm_bench_peak(pool, llm_bench_peak_kind(dominant_type(m, false)), k->name, p->quick);
    r->pool_run_us = llm_bench_pool_run_us(pool, p->quick);

    r->pp_tps = median(r->pp_runs, p->repeats);
    r->gen_tps = median(r->gen_runs, p->repeats);
    /* Token i of a generation run sits at position GEN_PROMPT + i and reads
     * that many cached positions plus its own: GEN_PROMPT + (n + 1) / 2 on
     * average, and the bytes are linear in it. */
    r->kv_positions = GEN_PROMPT + (p->n_gen + 1) / 2.0;
    r->weight_bytes_per_token = llm_bench_bytes_per_token(m, r->kv_positions);
    r->gen_bound_tps = r->bandwidth.value * 1e9 / (double)r->weight_bytes_per_token;
    r->gen_bw_fraction = r->gen_tps / r->gen_bound_tps;
    r->params_nonembd = llm_bench_params_nonembd(m);
    r->pp_ops_per_token = 2.0 * (double)r->params_nonembd;
    r->pp_gops = r->pp_tps * r->pp_ops_per_token / 1e9;
    r->pp_peak_fraction = r->pp_gops / r->peak.value;
    r->pool_overhead_fraction = r->pool_runs_per_token * r->pool_run_us * 1e-6 * r->gen_tps;
done:
    llm_pool_free(pool);
    if (rc)
        llm_bench_result_free(r);
    return rc;
}

void llm_bench_result_free(llm_bench_result *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->pp_runs);
    free(r->gen_runs);
    memset(r, 0, sizeof *r);
}

/* ---- Reports ------------------------------------------------------------------------------ */

static json_t *runs_json(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

char *llm_bench_json(const llm_bench_result *r)
{
    json_t *o = json_object();
#define SET(key, value) json_object_set_new(o, key, value)
    SET("model", json_string(r->name));
    SET("architecture", json_string(r->arch));
    SET("weight_type", json_string(r->weight_type));
    SET("kernels", json_string(r->kernels));
    SET("threads", json_integer(r->threads));
    SET("n_prompt", json_integer(r->n_prompt));
    SET("n_gen", json_integer(r->n_gen));
    SET("repeats", json_integer(r->repeats));
    SET("pp_tps", json_real(r->pp_tps));
    SET("gen_tps", json_real(r->gen_tps));
    SET("pp_runs_tps", runs_json(r->pp_runs, r->repeats));
    SET("gen_runs_tps", runs_json(r->gen_runs, r->repeats));
    SET("bandwidth_gbs", json_real(r->bandwidth.value));
    SET("bandwidth_method", json_string(r->bandwidth.method));
    SET("weight_bytes_per_token", json_integer((json_int_t)r->weight_bytes_per_token));
    SET("kv_positions", json_real(r->kv_positions));
    SET("gen_bound_tps", json_real(r->gen_bound_tps));
    SET("gen_bw_fraction", json_real(r->gen_bw_fraction));
    SET("params_nonembd", json_integer((json_int_t)r->params_nonembd));
    SET("pp_ops_per_token", json_real(r->pp_ops_per_token));
    SET("pp_gops", json_real(r->pp_gops));
    SET("peak_gops", json_real(r->peak.value));
    SET("peak_method", json_string(r->peak.method));
    SET("pp_peak_fraction", json_real(r->pp_peak_fraction));
    SET("pool_run_us", json_real(r->pool_run_us));
    SET("pool_runs_per_token", json_real(r->pool_runs_per_token));
    SET("pool_overhead_fraction", json_real(r->pool_overhead_fraction));
    SET("rss_mb", json_real(r->rss_mb));
#undef SET
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static void print_runs(FILE *f, const double *v, int n)
{
    fputs("  [", f);
    for (int i = 0; i < n; i++)
        fprintf(f, i ? " %.2f" : "%.2f", v[i]);
    fputs("]\n", f);
}

void llm_bench_print(FILE *f, const llm_bench_result *r)
{
    fprintf(f, "model              %s (%s, %s)\n", r->name, r->arch, r->weight_type);
    fprintf(f, "kernels            %s, %d thread%s, median of %d\n", r->kernels, r->threads,
            r->threads == 1 ? "" : "s", r->repeats);
    fprintf(f, "prompt   (pp%-5d) %10.2f tok/s", r->n_prompt, r->pp_tps);
    print_runs(f, r->pp_runs, r->repeats);
    fprintf(f, "generate (tg%-5d) %10.2f tok/s", r->n_gen, r->gen_tps);
    print_runs(f, r->gen_runs, r->repeats);
    fprintf(f, "bandwidth          %10.2f GB/s   (%s, best pass)\n", r->bandwidth.value,
            r->bandwidth.method);
    fprintf(f, "bytes per token    %10.1f MB     (weights + KV at %.1f positions)\n",
            r->weight_bytes_per_token / 1e6, r->kv_positions);
    fprintf(f, "generation bound   %10.2f tok/s  -> generation at %.1f%% of it\n",
            r->gen_bound_tps, 100 * r->gen_bw_fraction);
    fprintf(f, "ops per token      %10.3f GOP    (2 x %.3f G non-embedding parameters)\n",
            r->pp_ops_per_token / 1e9, r->params_nonembd / 1e9);
    fprintf(f, "prompt rate        %10.1f GOPS\n", r->pp_gops);
    fprintf(f, "peak               %10.1f GOPS   (%s) -> prompt at %.1f%% of it\n",
            r->peak.value, r->peak.method, 100 * r->pp_peak_fraction);
    fprintf(f, "pool hand-offs     %10.1f per token x %.2f us -> %.2f%% of a token\n",
            r->pool_runs_per_token, r->pool_run_us, 100 * r->pool_overhead_fraction);
    fprintf(f, "resident memory    %10.1f MiB\n", r->rss_mb);
}
