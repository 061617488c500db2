/* SIMD-specific edge cases for the kernel back ends (src/llm/kernels/avx2.c
 * and friends), each compared with the scalar reference. test_kernels.c runs
 * every back end through realistic quantized data; this file goes after what
 * a vectorised kernel can get wrong: bit unpacking (every code, every scale
 * and min, the fifth and sixth bits), tails of float rows, lane and tile
 * edges, and the activation quantizer's rounding.
 *
 * - Exact mode: power-of-two scales and small integer activations make every
 *   intermediate a float-exact integer, so vec_dot must equal the scalar
 *   reference bit for bit; random code bytes cover every bit pattern.
 * - Random scales and extremes (codes all 0x00 / 0xff, Q8_0's -128, zero and
 *   negative zero scales, the largest finite half, subnormal halves, huge
 *   activation scales without overflow): within the float64 tolerance of
 *   test_kernels.c (2e-6 of the magnitude the arithmetic works at).
 * - gemm equals the back end's own vec_dot bit for bit for every shape of
 *   1..9 rows by 1..9 columns (every tile edge), with padded strides, rows
 *   only 2-byte aligned, and the padding left untouched.
 * - quantize_act writes exactly the reference's bytes, ties, NaN, inf,
 *   negative zeros and subnormal blocks included.
 * A back end the CPU cannot run is skipped with a message. */
#include "testutil.h"

#include <math.h> /* fabs only (inline): no libm */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "llm/kernels/kernels.h"

/* The SIMD back ends this file checks; k_exact: the back end promises the
 * scalar kernel's result bit for bit for the K types (avx2 reduces each
 * super-block to the reference's integers and applies the scales in its
 * order), so Q4_K_M models give the same tokens under both. */
typedef struct simd_backend {
    const char *name;
    bool k_exact;
} simd_backend;
static const simd_backend SIMD[] = {{"avx2", true}};
#define N_SIMD (sizeof SIMD / sizeof SIMD[0])

static const uint32_t TYPES[] = {
    GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0,
    GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

#define DOT_RTOL 2e-6

/* The back end by name, or NULL (with a message) when this CPU lacks it. */
static const llm_kernels *simd_or_skip(const char *name)
{
    ccai_err err = {0};
    const llm_kernels *k = llm_kernels_get(name, &err);
    if (!k)
        print_message("%s kernels do not run on this CPU (%s): skipped\n", name, err.msg);
    return k;
}

static bool is_float_type(uint32_t t)
{
    return t == GGML_TYPE_F32 || t == GGML_TYPE_F16 || t == GGML_TYPE_BF16;
}

static size_t row_bytes_of(uint32_t type, int64_t n)
{
    size_t b = 0;
    assert_true(ggml_row_bytes(type, (uint64_t)n, &b));
    return b;
}

/* ---- Making weights and activations ------------------------------------------ */

typedef enum scale_mode {
    SC_RANDOM,    /* |d| in [2^-10, 1], random sign: realistic rounding */
    SC_POW2,      /* +-0.5, 1, 2: with small activations every product is exact */
    SC_ZERO,      /* 0 */
    SC_NEG_ZERO,  /* -0 */
    SC_LARGE,     /* 65504, the largest finite half */
    SC_SUBNORMAL, /* 2^-24, the smallest half */
} scale_mode;

typedef enum code_mode { CODES_RANDOM, CODES_ZERO, CODES_ONES } code_mode;

static uint16_t make_scale(scale_mode m, uint64_t *s)
{
    switch (m) {
    case SC_RANDOM: {
        float v = (float)(0.0009765625 + ccai_rng_uniform(s) * 0.999);
        return llm_f32_to_fp16(ccai_rng_next(s) & 1 ? -v : v);
    }
    case SC_POW2: {
        static const uint16_t p[] = {0x3800, 0x3c00, 0x4000, 0xb800, 0xbc00, 0xc000};
        return p[ccai_rng_next(s) % 6];
    }
    case SC_ZERO: return 0x0000;
    case SC_NEG_ZERO: return 0x8000;
    case SC_LARGE: return 0x7bff;
    case SC_SUBNORMAL: return 0x0001;
    }
    return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

/* One weight row of n values: code bytes per code_mode, then every fp16
 * scale field overwritten per scale_mode. In exact mode Q6_K's int8 scales
 * are kept within +-31 and the K types' d within +-1, 2 so sums stay
 * below 2^24. Float types get values instead: small integers (exact), or
 * random normals of magnitude up to the mode's scale. */
static void make_weight_row(uint32_t type, int64_t n, uint8_t *row, scale_mode sm, code_mode cm,
                            uint64_t *s)
{
    size_t bytes = row_bytes_of(type, n);
    if (is_float_type(type)) {
        for (int64_t i = 0; i < n; i++) {
            float v;
            if (sm == SC_POW2)
                v = (float)ccai_rng_int(s, -8, 8);
            else if (sm == SC_ZERO || sm == SC_NEG_ZERO)
                v = sm == SC_ZERO ? 0.0f : -0.0f;
            else
                v = (float)((ccai_rng_uniform(s) - 0.5) * (sm == SC_LARGE ? 60000.0 : 2.0));
            if (type == GGML_TYPE_F32)
                memcpy(row + 4 * i, &v, 4);
            else
                put16(row + 2 * i, type == GGML_TYPE_F16 ? llm_f32_to_fp16(v) : llm_f32_to_bf16(v));
        }
        return;
    }
    for (size_t i = 0; i < bytes; i++)
        row[i] = cm == CODES_RANDOM ? (uint8_t)ccai_rng_next(s) : cm == CODES_ONES ? 0xff : 0x00;
    size_t bsz = row_bytes_of(type, ggml_blck_size(type));
    bool exact = sm == SC_POW2;
    for (size_t off = 0; off < bytes; off += bsz) {
        uint8_t *b = row + off;
        switch (type) {
        case GGML_TYPE_Q4_1:
        case GGML_TYPE_Q5_1:
            put16(b, make_scale(sm, s));
            put16(b + 2, make_scale(sm, s));
            break;
        case GGML_TYPE_Q4_K:
        case GGML_TYPE_Q5_K:
            put16(b, exact ? (ccai_rng_next(s) & 1 ? 0x3c00 : 0x4000) : make_scale(sm, s));
            put16(b + 2, exact ? (ccai_rng_next(s) & 1 ? 0x3c00 : 0xc000) : make_scale(sm, s));
            break;
        case GGML_TYPE_Q6_K:
            if (exact)
                for (int i = 0; i < 16; i++)
                    b[192 + i] = (uint8_t)(int8_t)ccai_rng_int(s, -31, 31);
            put16(b + 208, exact ? (ccai_rng_next(s) & 1 ? 0x3c00 : 0x4000) : make_scale(sm, s));
            break;
        default: put16(b, make_scale(sm, s)); break;
        }
    }
}

typedef enum act_mode {
    ACT_SMALL,   /* codes in [-3, 3], d = 2^-4: exact products; f32: small integers */
    ACT_RANDOM,  /* quantized normals (scalar quantizer) */
    ACT_MAX,     /* every code +127 */
    ACT_MIN,     /* every code -127 */
    ACT_HUGE,    /* random codes, d = 2^60 (no overflow with any half scale) */
} act_mode;

/* One activation row in llm_act_for(type), consistent s / bsums. */
static void make_act_row(uint32_t type, int64_t n, uint8_t *out, act_mode am, uint64_t *s)
{
    llm_act act = llm_act_for(type);
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)ccai_rng_normal(s, 0.0, 1.0);
    if (act == LLM_ACT_F32) {
        for (int64_t i = 0; i < n && am != ACT_RANDOM; i++)
            x[i] = am == ACT_SMALL ? (float)ccai_rng_int(s, -8, 8)
                   : am == ACT_MAX ? 127.0f
                   : am == ACT_MIN ? -127.0f
                                   : x[i] * 1e20f;
        memcpy(out, x, (size_t)n * sizeof *x);
        free(x);
        return;
    }
    llm_quantize_act(act, x, out, n);
    free(x);
    if (am == ACT_RANDOM)
        return;
    int64_t bs = llm_act_block_size(act);
    size_t bb = act == LLM_ACT_Q8_1 ? sizeof(block_act_q8_1) : sizeof(block_q8_K);
    for (int64_t b = 0; b < n / bs; b++) {
        uint8_t *blk = out + (size_t)b * bb;
        int8_t *qs = (int8_t *)(blk + (act == LLM_ACT_Q8_1 ? 8 : 4));
        float d = am == ACT_SMALL ? 0.0625f : am == ACT_HUGE ? 1152921504606846976.0f : 1.0f;
        int sum = 0;
        for (int64_t i = 0; i < bs; i++) {
            int q = am == ACT_SMALL ? ccai_rng_int(s, -3, 3)
                    : am == ACT_MAX ? 127
                    : am == ACT_MIN ? -127
                                    : ccai_rng_int(s, -127, 127);
            qs[i] = (int8_t)q;
            sum += q;
            if (act == LLM_ACT_Q8_K && i % 16 == 15) {
                int16_t bsum = 0;
                for (int64_t j = i - 15; j <= i; j++)
                    bsum = (int16_t)(bsum + qs[j]);
                memcpy(blk + 260 + 2 * (i / 16), &bsum, 2);
            }
        }
        memcpy(blk, &d, 4);
        if (act == LLM_ACT_Q8_1) {
            float sf = d * (float)sum;
            memcpy(blk + 4, &sf, 4);
        }
    }
}

/* ---- Comparing one dot product ----------------------------------------------- */

/* float64 reference from the dequantized operands and the magnitude the float
 * arithmetic works at (test_kernels.c's dot_scale: sum |w a| plus, per 32
 * values, amax(w) sum |a| for the offset terms). */
static void reference(uint32_t type, int64_t n, const void *w, const void *a, double *ref,
                      double *mag)
{
    float *wf = malloc((size_t)n * sizeof *wf), *af = malloc((size_t)n * sizeof *af);
    llm_dequantize_row(type, w, wf, n);
    llm_dequantize_act(llm_act_for(type), a, af, n);
    double r = 0, m = 0;
    for (int64_t b = 0; b < n; b += 32) {
        double amax = 0, sa = 0;
        for (int64_t i = b; i < b + 32 && i < n; i++) {
            r += (double)wf[i] * af[i];
            m += fabs((double)wf[i] * af[i]);
            amax = fabs(wf[i]) > amax ? fabs(wf[i]) : amax;
            sa += fabs(af[i]);
        }
        m += amax * sa;
    }
    free(wf);
    free(af);
    *ref = r;
    *mag = m;
}

/* vec_dot of k against scalar: bit for bit when exact, else both within the
 * tolerance of the float64 reference. */
static void check_dot(const llm_kernels *k, uint32_t type, int64_t n, const void *w, const void *a,
                      bool exact, const char *what)
{
    float got = k->vec_dot(type, n, w, a);
    float want = llm_kernels_scalar()->vec_dot(type, n, w, a);
    if (exact) {
        if (got != want)
            fail_msg("%s %s n=%lld %s: %.9g, scalar %.9g (must be equal)", k->name,
                     ggml_type_name(type), (long long)n, what, (double)got, (double)want);
        return;
    }
    double ref, mag;
    reference(type, n, w, a, &ref, &mag);
    double tol = DOT_RTOL * mag + 1e-30;
    if (fabs(got - ref) > tol || fabs(want - ref) > tol)
        fail_msg("%s %s n=%lld %s: %.9g, scalar %.9g, float64 %.9g (tol %.3g)", k->name,
                 ggml_type_name(type), (long long)n, what, (double)got, (double)want, ref, tol);
}

/* ---- Tests ----------------------------------------------------------------------- */

/* Every type, 1..64 blocks, random code bytes with power-of-two scales and
 * small activations: equal to scalar bit for bit. */
static void test_exact_integer_parts(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SIMD; i++) {
        const llm_kernels *k = simd_or_skip(SIMD[i].name);
        if (!k)
            skip();
        uint64_t s = 1;
        for (size_t t = 0; t < N_TYPES; t++) {
            uint32_t type = TYPES[t];
            int64_t bs = is_float_type(type) ? 1 : ggml_blck_size(type);
            /* K types: at most 5 super-blocks keeps every partial sum < 2^24 */
            int max_blocks = bs == LLM_QK_K ? 5 : is_float_type(type) ? 300 : 64;
            for (int nb = 1; nb <= max_blocks; nb += (nb < 20 ? 1 : 7)) {
                int64_t n = nb * bs;
                uint8_t *w = malloc(row_bytes_of(type, n));
                uint8_t *a = malloc(llm_act_row_bytes(llm_act_for(type), n));
                make_weight_row(type, n, w, SC_POW2, CODES_RANDOM, &s);
                make_act_row(type, n, a, ACT_SMALL, &s);
                check_dot(k, type, n, w, a, true, "pow2 scales, small activations");
                free(w);
                free(a);
            }
        }
    }
}

/* Realistic random scales and activations, 1..64 blocks: within tolerance
 * (K types bit for bit where the back end promises it). */
static void test_random_blocks(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SIMD; i++) {
        const llm_kernels *k = simd_or_skip(SIMD[i].name);
        if (!k)
            skip();
        uint64_t s = 2;
        for (size_t t = 0; t < N_TYPES; t++) {
            uint32_t type = TYPES[t];
            int64_t bs = is_float_type(type) ? 1 : ggml_blck_size(type);
            int max_blocks = is_float_type(type) ? 300 : 64;
            for (int nb = 1; nb <= max_blocks; nb += (nb < 20 ? 1 : 5)) {
                int64_t n = nb * bs;
                uint8_t *w = malloc(row_bytes_of(type, n));
                uint8_t *a = malloc(llm_act_row_bytes(llm_act_for(type), n));
                make_weight_row(type, n, w, SC_RANDOM, CODES_RANDOM, &s);
                make_act_row(type, n, a, ACT_RANDOM, &s);
                check_dot(k, type, n, w, a, false, "random");
                if (SIMD[i].k_exact && bs == LLM_QK_K)
                    check_dot(k, type, n, w, a, true, "random, K type");
                free(w);
                free(a);
            }
        }
    }
}

/* Extreme codes and scales against extreme activations. */
static void test_extremes(void **state)
{
    (void)state;
    static const scale_mode SM[] = {SC_POW2, SC_ZERO, SC_NEG_ZERO, SC_LARGE, SC_SUBNORMAL};
    static const code_mode CM[] = {CODES_ZERO, CODES_ONES, CODES_RANDOM};
    static const act_mode AM[] = {ACT_MAX, ACT_MIN, ACT_HUGE, ACT_SMALL};
    for (size_t i = 0; i < N_SIMD; i++) {
        const llm_kernels *k = simd_or_skip(SIMD[i].name);
        if (!k)
            skip();
        uint64_t s = 3;
        for (size_t t = 0; t < N_TYPES; t++) {
            uint32_t type = TYPES[t];
            int64_t n = is_float_type(type) ? 45 : 3 * ggml_blck_size(type);
            uint8_t *w = malloc(row_bytes_of(type, n));
            uint8_t *a = malloc(llm_act_row_bytes(llm_act_for(type), n));
            for (size_t si = 0; si < sizeof SM / sizeof SM[0]; si++)
                for (size_t ci = 0; ci < sizeof CM / sizeof CM[0]; ci++)
                    for (size_t ai = 0; ai < sizeof AM / sizeof AM[0]; ai++) {
                        make_weight_row(type, n, w, SM[si], CM[ci], &s);
                        make_act_row(type, n, a, AM[ai], &s);
                        char what[64];
                        snprintf(what, sizeof what, "scales %zu codes %zu act %zu", si, ci, ai);
                        check_dot(k, type, n, w, a, false, what);
                        if (SM[si] == SC_ZERO || SM[si] == SC_NEG_ZERO)
                            assert_true(k->vec_dot(type, n, w, a) == 0.0f);
                    }
            /* Q8_0's -128 (never written by the quantizer, legal in a file) */
            if (type == GGML_TYPE_Q8_0) {
                for (int64_t b = 0; b < n / 32; b++)
                    memset(w + b * 34 + 2, 0x80, 32);
                make_act_row(type, n, a, ACT_MAX, &s);
                check_dot(k, type, n, w, a, false, "q8_0 codes -128");
                make_act_row(type, n, a, ACT_MIN, &s);
                check_dot(k, type, n, w, a, false, "q8_0 codes -128");
            }
            free(w);
            free(a);
        }
    }
}

/* gemm over every shape up to 9 x 9 equals vec_dot bit for bit; rows 2-byte
 * aligned and padded, activations padded, out padding untouched. */
static void test_gemm_tile_edges(void **state)
{
    (void)state;
    enum { MAXR = 9, MAXC = 9 };
    for (size_t i = 0; i < N_SIMD; i++) {
        const llm_kernels *k = simd_or_skip(SIMD[i].name);
        if (!k)
            skip();
        assert_non_null(k->gemm);
        uint64_t s = 4;
        for (size_t t = 0; t < N_TYPES; t++) {
            uint32_t type = TYPES[t];
            /* odd block counts (the 32-value types alternate accumulators),
             * float rows with a tail */
            int64_t n = is_float_type(type) ? 37 : ggml_blck_size(type) == 32 ? 5 * 32 : 3 * 256;
            /* F32 rows stay 4-byte aligned: the scalar reference reads floats */
            size_t rb = row_bytes_of(type, n), ws = rb + (type == GGML_TYPE_F32 ? 8 : 6);
            size_t ab = llm_act_row_bytes(llm_act_for(type), n), as = ab + 12;
            uint8_t *wbuf = calloc(1, 4 + MAXR * ws), *w = wbuf + 4;
            uint8_t *a = calloc(MAXC, as);
            for (int r = 0; r < MAXR; r++)
                make_weight_row(type, n, w + r * ws, SC_RANDOM, CODES_RANDOM, &s);
            for (int c = 0; c < MAXC; c++)
                make_act_row(type, n, a + c * as, ACT_RANDOM, &s);
            float dots[MAXC][MAXR];
            for (int c = 0; c < MAXC; c++)
                for (int r = 0; r < MAXR; r++)
                    dots[c][r] = k->vec_dot(type, n, w + r * ws, a + c * as);
            for (int rows = 1; rows <= MAXR; rows++)
                for (int cols = 1; cols <= MAXC; cols++) {
                    size_t os = (size_t)rows + 2;
                    float out[MAXC * (MAXR + 2)];
                    for (size_t j = 0; j < sizeof out / sizeof out[0]; j++)
                        out[j] = -7.0f;
                    k->gemm(type, n, rows, w, ws, cols, a, as, out, os);
                    for (int c = 0; c < MAXC; c++)
                        for (size_t r = 0; r < os; r++) {
                            bool in = c < cols && (int)r < rows;
                            float want = in ? dots[c][r] : -7.0f;
                            float got = out[(size_t)c * os + r];
                            if (memcmp(&got, &want, sizeof got) != 0)
                                fail_msg("%s %s gemm %dx%d out[%d][%zu] = %.9g, want %.9g",
                                         k->name, ggml_type_name(type), rows, cols, c, r,
                                         (double)got, (double)want);
                        }
                }
            free(wbuf);
            free(a);
        }
    }
}

/* Float rows of every length 1..70: tails of every size. */
static void test_float_tails(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SIMD; i++) {
        const llm_kernels *k = simd_or_skip(SIMD[i].name);
        if (!k)
            skip();
        uint64_t s = 5;
        for (size_t t = 0; t < 3; t++) {
            for (int64_t n = 1; n <= 70; n++) {
                float w[70], a[70];
                make_weight_row(TYPES[t], n, (uint8_t *)w, SC_POW2, CODES_RANDOM, &s);
                make_act_row(TYPES[t], n, (uint8_t *)a, ACT_SMALL, &s);
                check_dot(k, TYPES[t], n, w, a, true, "tail, small integers");
                make_weight_row(TYPES[t], n, (uint8_t *)w, SC_RANDOM, CODES_RANDOM, &s);
                make_act_row(TYPES[t], n, (uint8_t *)a, ACT_RANDOM, &s);
                check_dot(k, TYPES[t], n, w, a, false, "tail, random");
            }
        }
    }
}

/* quantize_act against llm_quantize_act, byte for byte. */
static void check_quantize(const llm_kernels *k, llm_act act, const float *x, int64_t n,
                           const char *what)
{
    size_t bytes = llm_act_row_bytes(act, n);
    uint8_t *got = malloc(bytes), *want = malloc(bytes);
    memset(got, 0xa5, bytes);
    memset(want, 0x5a, bytes);
    k->quantize_act(act, x, got, n);
    llm_quantize_act(act, x, want, n);
    for (size_t i = 0; i < bytes; i++)
        if (got[i] != want[i])
            fail_msg("%s quantize_act %s n=%lld %s: byte %zu is 0x%02x, reference 0x%02x", k->name,
                     llm_act_name(act), (long long)n, what, i, got[i], want[i]);
    free(got);
    free(want);
}

static void test_quantize_act_exact(void **state)
{
    (void)state;
    static const llm_act ACTS[] = {LLM_ACT_F32, LLM_ACT_Q8_1, LLM_ACT_Q8_K};
    enum { MAXN = 64 * 32 };
    float *x = malloc(MAXN * sizeof *x);
    const float inf = __builtin_inff(), nan = __builtin_nanf("");
    for (size_t i = 0; i < N_SIMD; i++) {
        const llm_kernels *k = simd_or_skip(SIMD[i].name);
        if (!k)
            skip();
        uint64_t s = 6;
        for (size_t ai = 0; ai < 3; ai++) {
            llm_act act = ACTS[ai];
            int64_t bs = act == LLM_ACT_Q8_K ? 256 : 32;
            for (int64_t n = bs; n <= MAXN; n += bs * (n < 8 * bs ? 1 : 9)) {
                /* scales from 1e-30 to 1e30, each block its own */
                for (int64_t j = 0; j < n; j++) {
                    double scale = 1.0;
                    int e = (int)((j / bs) % 13) * 5 - 30;
                    for (int p = 0; p < (e < 0 ? -e : e); p++)
                        scale = e < 0 ? scale / 10 : scale * 10;
                    x[j] = (float)((ccai_rng_uniform(&s) - 0.5) * scale);
                }
                check_quantize(k, act, x, n, "random");
            }
            int64_t n = 2 * bs;
            /* ties: amax 127 makes 127 / amax exactly 1, half-integers tie */
            for (int64_t j = 0; j < n; j++)
                x[j] = (float)(j % 254 - 127) + 0.5f;
            x[0] = 127.0f;
            x[bs] = -127.0f;
            check_quantize(k, act, x, n, "ties");
            for (int64_t j = 0; j < n; j++)
                x[j] = (float)(j % 2 ? -0.0 : 0.0);
            check_quantize(k, act, x, n, "zeros and negative zeros");
            for (int64_t j = 0; j < n; j++)
                x[j] = (float)(j % 3) * 1e-45f; /* subnormal amax: 127 / amax is inf */
            check_quantize(k, act, x, n, "subnormal block");
            for (int64_t j = 0; j < n; j++)
                x[j] = (float)(ccai_rng_uniform(&s) - 0.5) * 3e38f;
            check_quantize(k, act, x, n, "near FLT_MAX");
            for (int64_t j = 0; j < n; j++)
                x[j] = (float)(ccai_rng_uniform(&s) - 0.5);
            x[3] = inf;
            x[bs + 5] = -inf;
            check_quantize(k, act, x, n, "inf");
            x[3] = nan;
            x[bs + 5] = 1.0f;
            x[bs + 6] = nan;
            check_quantize(k, act, x, n, "NaN");
        }
    }
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_integer_parts), cmocka_unit_test(test_random_blocks),
        cmocka_unit_test(test_extremes),            cmocka_unit_test(test_gemm_tile_edges),
        cmocka_unit_test(test_float_tails),         cmocka_unit_test(test_quantize_act_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
