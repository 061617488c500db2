/* The machine-limit microbenchmarks of `ccai bench` (bench.h,
 * docs/bench.md): memory read bandwidth, the dot-product peak, the cost of
 * a hand-off to the thread pool, resident memory.
 *
 * They are written to hit the limit they name, so that a fraction of it
 * means something:
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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- Pool hand-off, resident memory ------------------------------------------------ */

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
    return llm_bench_median(us, 5);
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

struct llm_bench_bw {
    llm_pool *pool;
    uint8_t *buf;
    size_t bytes;
    read_fn read;
    const char *method;
    bool fill;                /* first touch: write the pages */
    _Atomic uint64_t sink;    /* keeps the reads alive */
    double best;              /* seconds of the fastest pass so far */
};

/* Items are BW_CHUNK-byte chunks: each thread streams its contiguous range. */
static void bw_chunks(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    llm_bench_bw *j = arg;
    uint8_t *p = j->buf + (size_t)begin * BW_CHUNK;
    size_t n = (size_t)(end - begin) * BW_CHUNK;
    if (j->fill)
        memset(p, 0x5a, n);
    else
        atomic_fetch_xor_explicit(&j->sink, j->read(p, n), memory_order_relaxed);
}

ccai_code llm_bench_bw_open(llm_pool *pool, bool quick, llm_bench_bw **out, ccai_err *err)
{
    *out = NULL;
    size_t bytes = quick ? (size_t)16 << 20 : (size_t)1 << 30;
    void *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        return ccai_fail(err, CCAI_ERR_ARG, "bandwidth: cannot map a %zu MiB buffer", bytes >> 20);
#ifdef MADV_HUGEPAGE
    madvise(buf, bytes, MADV_HUGEPAGE);
#endif
    llm_bench_bw *j = ccai_xcalloc(1, sizeof *j);
    j->pool = pool, j->buf = buf, j->bytes = bytes, j->fill = true, j->best = INFINITY;
    j->read = pick_read(&j->method);
    llm_pool_run(pool, (int64_t)(bytes / BW_CHUNK), bw_chunks, j); /* pages in, in parallel */
    j->fill = false;
    *out = j;
    return CCAI_OK;
}

double llm_bench_bw_pass(llm_bench_bw *j)
{
    double t0 = now_s();
    llm_pool_run(j->pool, (int64_t)(j->bytes / BW_CHUNK), bw_chunks, j);
    double dt = now_s() - t0;
    j->best = dt < j->best ? dt : j->best;
    return (double)j->bytes / dt / 1e9;
}

llm_bench_limit llm_bench_bw_close(llm_bench_bw *j)
{
    llm_bench_limit l = {(double)j->bytes / j->best / 1e9, j->method};
    munmap(j->buf, j->bytes);
    free(j);
    return l;
}

ccai_code llm_bench_bandwidth(llm_pool *pool, bool quick, llm_bench_limit *out, ccai_err *err)
{
    llm_bench_bw *j;
    ccai_code rc = llm_bench_bw_open(pool, quick, &j, err);
    if (rc)
        return rc;
    for (int i = 0; i < (quick ? 1 : LLM_BENCH_BW_PASSES); i++)
        llm_bench_bw_pass(j);
    *out = llm_bench_bw_close(j);
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
