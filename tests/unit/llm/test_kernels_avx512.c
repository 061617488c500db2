/* Tests for the avx512 kernel back end (src/llm/kernels/avx512*.c), both of
 * its variants: with VNNI (vpdpbusd) when the CPU has it, and the
 * vpmaddubsw/vpmaddwd one that AVX-512 CPUs without VNNI get. test_kernels.c
 * already runs the chosen table through realistic data; this file goes after
 * what the vector code can get wrong:
 *
 * - exact mode: power-of-two scales, random code bytes (every nibble, fifth
 *   and sixth bit, 6-bit scale and min, Q8_0's -128) and small activations
 *   make every float operation exact, so vec_dot must equal the scalar
 *   reference bit for bit, at every row length that ends a 16-block group or
 *   a 4-super-block group early;
 * - extremes in exact mode: codes all 0x00 / 0xff, zero, negative-zero,
 *   subnormal and the largest finite scales;
 * - realistic data at many lengths: within the float64 tolerance test_kernels
 *   uses (2e-6 of the magnitude the arithmetic works at);
 * - gemm equals the variant's own vec_dot bit for bit for 1..9 rows x 1..9
 *   columns and around the 16-row panels, with rows only 2-byte aligned and
 *   padded strides, leaving the padding alone;
 * - the two variants give the same bits;
 * - quantize_act writes exactly llm_quantize_act's bytes (ties, NaN, inf,
 *   negative zero, subnormal and all-zero blocks).
 * On a CPU without AVX-512 every test is skipped with a message. */
#include "testutil.h"

#include <math.h> /* fabs only (inline): no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "llm/kernels/avx512_internal.h"

static const uint32_t TYPES[] = {
    GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0,
    GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

/* ---- Variants and helpers --------------------------------------------------- */

typedef struct variants {
    const llm_kernels *k[2];
    const char *name[2];
    int n;
} variants;

/* The variants this CPU runs; skips the test when there are none. */
static variants get_variants(void)
{
    variants v = {0};
    if (!llm_avx512_cpu_runs(false)) {
        print_message("this CPU lacks AVX-512 F/BW/VL/DQ: avx512 tests skipped\n");
        skip();
    }
    v.k[v.n] = llm_kernels_avx512_variant(false);
    v.name[v.n++] = "avx512 (no VNNI)";
    if (llm_avx512_cpu_runs(true)) {
        v.k[v.n] = llm_kernels_avx512_variant(true);
        v.name[v.n++] = "avx512 (VNNI)";
    } else {
        print_message("no AVX-512 VNNI: only the variant without it is tested\n");
    }
    return v;
}

static bool is_float_type(uint32_t t)
{
    return t == GGML_TYPE_F32 || t == GGML_TYPE_F16 || t == GGML_TYPE_BF16;
}

static size_t row_bytes(uint32_t type, int64_t n)
{
    size_t b = 0;
    assert_true(ggml_row_bytes(type, (uint64_t)n, &b));
    return b;
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

static bool same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* ---- Exact-mode rows -------------------------------------------------------- */

typedef enum codes { CODES_RANDOM, CODES_ZERO, CODES_ONES } codes;

/* Where a block keeps its fp16 scale fields: first and second (-1: none). */
static void scale_fields(uint32_t type, int *d_at, int *m_at)
{
    *m_at = -1;
    switch (type) {
    case GGML_TYPE_Q4_1:
    case GGML_TYPE_Q5_1:
    case GGML_TYPE_Q4_K:
    case GGML_TYPE_Q5_K: *d_at = 0; *m_at = 2; return;
    case GGML_TYPE_Q6_K: *d_at = 208; return;
    default: *d_at = 0; return;
    }
}

/* A weight row whose every float product is exact against small
 * activations: code bytes per `codes`, every scale field = +-scale (one
 * magnitude per row, random signs). Float types: integers in [-8, 8]. */
static void exact_weights(uint32_t type, int64_t n, uint8_t *row, codes cm, uint16_t scale,
                          uint64_t *s)
{
    if (is_float_type(type)) {
        for (int64_t i = 0; i < n; i++) {
            float v = (float)ccai_rng_int(s, -8, 8);
            if (type == GGML_TYPE_F32)
                memcpy(row + 4 * i, &v, 4);
            else
                put16(row + 2 * i, type == GGML_TYPE_F16 ? llm_f32_to_fp16(v) : llm_f32_to_bf16(v));
        }
        return;
    }
    size_t bytes = row_bytes(type, n), bsz = row_bytes(type, ggml_blck_size(type));
    for (size_t i = 0; i < bytes; i++)
        row[i] = cm == CODES_RANDOM ? (uint8_t)ccai_rng_next(s) : cm == CODES_ONES ? 0xff : 0x00;
    int d_at, m_at;
    scale_fields(type, &d_at, &m_at);
    for (size_t off = 0; off < bytes; off += bsz) {
        put16(row + off + d_at, (uint16_t)(scale | (ccai_rng_next(s) & 1 ? 0x8000 : 0)));
        if (m_at >= 0)
            put16(row + off + m_at, (uint16_t)(scale | (ccai_rng_next(s) & 1 ? 0x8000 : 0)));
    }
}

/* Activations with codes in [-amax, amax] and d = 2^-4 (F32: integers). */
static void exact_act(uint32_t type, int64_t n, uint8_t *out, int amax, uint64_t *s)
{
    switch (llm_act_for(type)) {
    case LLM_ACT_F32:
        for (int64_t i = 0; i < n; i++)
            ((float *)out)[i] = (float)ccai_rng_int(s, -8, 8);
        return;
    case LLM_ACT_Q8_1: {
        block_act_q8_1 *a = (block_act_q8_1 *)out;
        for (int64_t b = 0; b < n / 32; b++) {
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                a[b].qs[j] = (int8_t)ccai_rng_int(s, -amax, amax);
                sum += a[b].qs[j];
            }
            a[b].d = 0.0625f;
            a[b].s = a[b].d * (float)sum;
        }
        return;
    }
    case LLM_ACT_Q8_K: {
        block_q8_K *a = (block_q8_K *)out;
        for (int64_t b = 0; b < n / 256; b++) {
            for (int g = 0; g < 16; g++) {
                int sum = 0;
                for (int j = 16 * g; j < 16 * g + 16; j++) {
                    a[b].qs[j] = (int8_t)ccai_rng_int(s, -amax, amax);
                    sum += a[b].qs[j];
                }
                a[b].bsums[g] = (int16_t)sum;
            }
            a[b].d = 0.0625f;
        }
        return;
    }
    }
}

/* Row lengths: every tail of a 16-block group (32-value types, up to 40
 * blocks), of a 4-super-block group (K types, up to 9), and odd float
 * lengths. */
static int lengths(uint32_t type, int64_t out[64])
{
    int k = 0;
    if (is_float_type(type)) {
        static const int64_t f[] = {1,  2,  7,  15, 16,  17,  31,  33,
                                    47, 63, 64, 65, 79, 100, 129, 1031};
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
            out[k++] = f[i];
    } else if (ggml_blck_size(type) == 256) {
        for (int b = 1; b <= 9; b++)
            out[k++] = 256 * b;
    } else {
        for (int b = 1; b <= 40; b++)
            out[k++] = 32 * b;
    }
    return k;
}

/* sum |w a| plus, per 32 values, amax(w) sum |a|: the magnitude the float
 * arithmetic works at (test_kernels.c's tolerance). */
static double magnitude(const float *w, const float *a, int64_t n)
{
    double s = 0;
    for (int64_t b = 0; b < n; b += 32) {
        double amax = 0, sa = 0;
        for (int64_t i = b; i < n && i < b + 32; i++) {
            amax = fabs(w[i]) > amax ? fabs(w[i]) : amax;
            sa += fabs(a[i]);
            s += fabs((double)w[i] * a[i]);
        }
        s += amax * sa;
    }
    return s;
}

/* vec_dot of every variant against the scalar reference in exact mode: bit
 * for bit, except with the largest half as scale, where sums outgrow 2^24
 * and both round (then within test_kernels' tolerance). amax keeps |sums|
 * below 2^24 for the longest rows otherwise. */
static void check_exact(const variants *v, uint32_t type, int64_t n, codes cm, uint16_t scale,
                        uint64_t seed)
{
    uint64_t s = seed;
    llm_act act = llm_act_for(type);
    uint8_t *w = malloc(row_bytes(type, n) + 64);
    uint8_t *a = malloc(llm_act_row_bytes(act, n) + 64);
    exact_weights(type, n, w, cm, scale, &s);
    exact_act(type, n, a, ggml_blck_size(type) == 256 ? 1 : 3, &s);
    float want = llm_kernels_scalar()->vec_dot(type, n, w, a);
    double tol = 0;
    if (scale == 0x7bff) {
        float *wf = malloc((size_t)n * sizeof *wf), *af = malloc((size_t)n * sizeof *af);
        llm_dequantize_row(type, w, wf, n);
        llm_dequantize_act(act, a, af, n);
        tol = 2e-6 * magnitude(wf, af, n);
        free(wf);
        free(af);
    }
    for (int i = 0; i < v->n; i++) {
        float got = v->k[i]->vec_dot(type, n, w, a);
        bool ok = scale == 0x7bff ? fabs((double)got - want) <= tol : same_float(got, want);
        if (!ok)
            fail_msg("%s %s n=%lld scale 0x%04x codes %d: vec_dot %.9g, scalar %.9g", v->name[i],
                     ggml_type_name(type), (long long)n, scale, (int)cm, (double)got,
                     (double)want);
    }
    free(w);
    free(a);
}

static void test_exact_all_lengths(void **state)
{
    (void)state;
    variants v = get_variants();
    for (size_t t = 0; t < N_TYPES; t++) {
        int64_t ns[64];
        int nl = lengths(TYPES[t], ns);
        for (int i = 0; i < nl; i++)
            for (int rep = 0; rep < 3; rep++)
                check_exact(&v, TYPES[t], ns[i], CODES_RANDOM, 0x3c00 /* 1 */,
                            1000 * t + 10 * (uint64_t)i + (uint64_t)rep);
    }
}

/* Codes at both ends and scales at the edges of fp16: zero, -0, the
 * smallest subnormal, 0.5, the largest finite value. */
static void test_exact_extremes(void **state)
{
    (void)state;
    variants v = get_variants();
    static const uint16_t scales[] = {0x0000, 0x0001, 0x3800, 0x7bff};
    static const codes cms[] = {CODES_ZERO, CODES_ONES, CODES_RANDOM};
    for (size_t t = 0; t < N_TYPES; t++) {
        if (is_float_type(TYPES[t]))
            continue;
        int64_t n = ggml_blck_size(TYPES[t]) == 256 ? 256 * 5 : 32 * 19;
        for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++)
            for (size_t ci = 0; ci < sizeof cms / sizeof cms[0]; ci++)
                check_exact(&v, TYPES[t], n, cms[ci], scales[si], 77 + 7 * t + si + 31 * ci);
    }
}

/* Q8_0's code -128 (not produced by the quantizer, but valid bytes). */
static void test_q8_0_minus_128(void **state)
{
    (void)state;
    variants v = get_variants();
    block_q8_0 w[3];
    block_act_q8_1 a[3];
    uint64_t s = 5;
    for (int b = 0; b < 3; b++) {
        w[b].d = 0x3c00;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            w[b].qs[j] = (int8_t)(j % 2 ? -128 : 127);
            a[b].qs[j] = (int8_t)ccai_rng_int(&s, -127, 127);
            sum += a[b].qs[j];
        }
        a[b].d = 1.0f;
        a[b].s = (float)sum;
    }
    float want = llm_kernels_scalar()->vec_dot(GGML_TYPE_Q8_0, 96, w, a);
    for (int i = 0; i < v.n; i++)
        assert_true(same_float(v.k[i]->vec_dot(GGML_TYPE_Q8_0, 96, w, a), want));
}

/* ---- Realistic data ------------------------------------------------------------ */

static void test_realistic_all_lengths(void **state)
{
    (void)state;
    variants v = get_variants();
    for (size_t t = 0; t < N_TYPES; t++) {
        uint32_t type = TYPES[t];
        llm_act act = llm_act_for(type);
        int64_t ns[64];
        int nl = lengths(type, ns);
        for (int li = 0; li < nl; li++) {
            int64_t n = ns[li];
            uint64_t s = 300 + 1000 * t + (uint64_t)li;
            float *x = malloc((size_t)n * sizeof *x), *wf = malloc((size_t)n * sizeof *wf);
            float *af = malloc((size_t)n * sizeof *af);
            uint8_t *w = malloc(row_bytes(type, n)), *a = malloc(llm_act_row_bytes(act, n));
            for (int64_t i = 0; i < n; i++)
                x[i] = (float)ccai_rng_normal(&s, 0.02, 0.1);
            llm_quantize_row(type, x, w, n);
            llm_dequantize_row(type, w, wf, n);
            for (int64_t i = 0; i < n; i++)
                x[i] = (float)ccai_rng_normal(&s, 0.0, 1.5);
            for (int k = 0; k < v.n; k++) {
                v.k[k]->quantize_act(act, x, a, n);
                llm_dequantize_act(act, a, af, n);
                double ref = 0;
                for (int64_t i = 0; i < n; i++)
                    ref += (double)wf[i] * af[i];
                double tol = 2e-6 * magnitude(wf, af, n) + 1e-30;
                float got = v.k[k]->vec_dot(type, n, w, a);
                if (fabs(got - ref) > tol)
                    fail_msg("%s %s n=%lld: vec_dot %.9g, float64 %.9g (tolerance %.3g)",
                             v.name[k], ggml_type_name(type), (long long)n, (double)got, ref, tol);
            }
            free(x);
            free(wf);
            free(af);
            free(w);
            free(a);
        }
    }
}

/* ---- gemm against vec_dot ------------------------------------------------------- */

/* rows x cols of length n through gemm with padded strides (weight rows only
 * 2-byte aligned unless F32), compared bit for bit with the variant's
 * vec_dot; the padding of out must stay untouched. Returns the results
 * (cols x rows) for comparing variants; the caller frees. */
static float *check_gemm(const llm_kernels *k, const char *name, uint32_t type, int64_t n,
                         int64_t rows, int64_t cols, uint64_t seed)
{
    uint64_t s = seed;
    llm_act act = llm_act_for(type);
    size_t rb = row_bytes(type, n), ws = rb + (type == GGML_TYPE_F32 ? 4 : 2);
    size_t ab = llm_act_row_bytes(act, n), as = ab + 4;
    uint8_t *wbuf = malloc(ws * (size_t)rows + 8), *w = wbuf + 2; /* 2 mod 4 */
    uint8_t *a = malloc(as * (size_t)cols);
    float *x = malloc((size_t)n * sizeof *x);
    if (type == GGML_TYPE_F32)
        w = wbuf + 4;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)ccai_rng_normal(&s, 0.01 * (double)(r % 5), 0.2);
        llm_quantize_row(type, x, w + (size_t)r * ws, n);
    }
    for (int64_t c = 0; c < cols; c++) {
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)ccai_rng_normal(&s, 0.0, 1.0 + (double)c);
        k->quantize_act(act, x, a + (size_t)c * as, n);
    }
    size_t os = (size_t)rows + 3, total = os * (size_t)cols;
    float *out = malloc(total * sizeof *out);
    for (size_t i = 0; i < total; i++)
        out[i] = -777.0f;
    k->gemm(type, n, rows, w, ws, cols, a, as, out, os);
    float *res = malloc((size_t)(rows * cols) * sizeof *res);
    for (int64_t c = 0; c < cols; c++) {
        for (size_t r = 0; r < os; r++) {
            float got = out[(size_t)c * os + r];
            if ((int64_t)r >= rows) {
                if (!same_float(got, -777.0f))
                    fail_msg("%s %s gemm wrote padding out[%lld][%zu]", name, ggml_type_name(type),
                             (long long)c, r);
                continue;
            }
            float want = k->vec_dot(type, n, w + r * ws, a + (size_t)c * as);
            if (!same_float(got, want))
                fail_msg("%s %s gemm %lldx%lld n=%lld: out[%lld][%zu] = %.9g, vec_dot %.9g", name,
                         ggml_type_name(type), (long long)rows, (long long)cols, (long long)n,
                         (long long)c, r, (double)got, (double)want);
            res[c * rows + (int64_t)r] = got;
        }
    }
    free(out);
    free(wbuf);
    free(a);
    free(x);
    return res;
}

static int64_t gemm_length(uint32_t type)
{
    if (is_float_type(type))
        return 45;
    return ggml_blck_size(type) == 256 ? 256 * 6 : 32 * 21; /* group tails included */
}

static void test_gemm_tile_edges(void **state)
{
    (void)state;
    variants v = get_variants();
    for (size_t t = 0; t < N_TYPES; t++)
        for (int64_t rows = 1; rows <= 9; rows++)
            for (int64_t cols = 1; cols <= 9; cols++)
                for (int k = 0; k < v.n; k++)
                    free(check_gemm(v.k[k], v.name[k], TYPES[t], gemm_length(TYPES[t]), rows, cols,
                                    (uint64_t)(t * 100 + rows * 10 + cols)));
}

/* Around the 16-row panels and the 4-column groups, and the variants'
 * agreement. */
static void test_gemm_panels_and_variants(void **state)
{
    (void)state;
    variants v = get_variants();
    static const int64_t rows[] = {15, 16, 17, 33};
    static const int64_t cols[] = {4, 5, 8, 13};
    for (size_t t = 0; t < N_TYPES; t++) {
        for (size_t ri = 0; ri < 4; ri++) {
            for (size_t ci = 0; ci < 4; ci++) {
                uint64_t seed = 9000 + t * 16 + ri * 4 + ci;
                int64_t n = gemm_length(TYPES[t]), R = rows[ri], C = cols[ci];
                float *first = check_gemm(v.k[0], v.name[0], TYPES[t], n, R, C, seed);
                for (int k = 1; k < v.n; k++) {
                    float *other = check_gemm(v.k[k], v.name[k], TYPES[t], n, R, C, seed);
                    if (memcmp(first, other, (size_t)(R * C) * sizeof *first) != 0)
                        fail_msg("%s: %s and %s differ", ggml_type_name(TYPES[t]), v.name[0],
                                 v.name[k]);
                    free(other);
                }
                free(first);
            }
        }
    }
}

/* ---- Activation quantizers ------------------------------------------------------ */

static void check_act_bytes(const variants *v, llm_act act, const float *x, int64_t n,
                            const char *what)
{
    size_t bytes = llm_act_row_bytes(act, n);
    uint8_t *want = malloc(bytes), *got = malloc(bytes);
    llm_quantize_act(act, x, want, n);
    for (int k = 0; k < v->n; k++) {
        memset(got, 0x5a, bytes);
        v->k[k]->quantize_act(act, x, got, n);
        for (size_t i = 0; i < bytes; i++)
            if (got[i] != want[i])
                fail_msg("%s %s (%s): byte %zu is 0x%02x, reference 0x%02x", v->name[k],
                         llm_act_name(act), what, i, got[i], want[i]);
    }
    free(want);
    free(got);
}

static void test_quantize_act_exact(void **state)
{
    (void)state;
    variants v = get_variants();
    static const llm_act acts[] = {LLM_ACT_F32, LLM_ACT_Q8_1, LLM_ACT_Q8_K};
    enum { N = 1024 };
    float *x = malloc(N * sizeof *x);
    uint64_t s = 42;
    for (size_t ai = 0; ai < 3; ai++) {
        llm_act act = acts[ai];
        for (int i = 0; i < N; i++)
            x[i] = (float)ccai_rng_normal(&s, 0.1, 2.0);
        check_act_bytes(&v, act, x, N, "normal");

        /* Ties: amax 127 makes id exactly 1, so k + 0.5 rounds to even. */
        for (int i = 0; i < N; i++)
            x[i] = (float)ccai_rng_int(&s, -126, 125) + 0.5f;
        for (int b = 0; b < N; b += 32)
            x[b + 5] = b % 64 ? 127.0f : -127.0f;
        check_act_bytes(&v, act, x, N, "ties");

        /* Specials: NaN (skipped by amax, -127 as a code), inf (d = inf),
         * negative zeros, a zero block, subnormals. */
        for (int i = 0; i < N; i++)
            x[i] = (float)ccai_rng_normal(&s, 0.0, 1.0);
        float nan = __builtin_nanf(""), inf = __builtin_inff();
        x[3] = nan;
        x[300] = inf;
        x[301] = -inf;
        for (int i = 512; i < 768; i++)
            x[i] = i % 2 ? -0.0f : 0.0f;
        for (int i = 768; i < 1024; i++)
            x[i] = (float)(i - 900) * 1e-40f;
        check_act_bytes(&v, act, x, N, "specials");
    }
    free(x);
}

/* ---- The table ----------------------------------------------------------------- */

static void test_table(void **state)
{
    (void)state;
    variants v = get_variants();
    for (int k = 0; k < v.n; k++) {
        assert_string_equal(v.k[k]->name, "avx512");
        assert_non_null(v.k[k]->quantize_act);
        assert_non_null(v.k[k]->vec_dot);
        assert_non_null(v.k[k]->gemm);
    }
    /* The public getter hands out the best variant the CPU runs. */
    assert_ptr_equal(llm_kernels_avx512(), v.k[v.n - 1]);
    ccai_err err = {0};
    assert_ptr_equal(llm_kernels_get("avx512", &err), llm_kernels_avx512());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_exact_all_lengths),
        cmocka_unit_test(test_exact_extremes),
        cmocka_unit_test(test_q8_0_minus_128),
        cmocka_unit_test(test_realistic_all_lengths),
        cmocka_unit_test(test_gemm_tile_edges),
        cmocka_unit_test(test_gemm_panels_and_variants),
        cmocka_unit_test(test_quantize_act_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
