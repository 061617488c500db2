/* Tests for the kernels' gemv entry (kernels.h): several weight rows against
 * one activation row, the decode form. Its contract is to equal vec_dot bit
 * for bit, so that a token's logits do not depend on whether a matmul ran
 * through gemv, vec_dot or gemm. For every back end this CPU runs that has
 * a gemv (both avx512 variants where the CPU has them) and every weight
 * type:
 *
 * - row counts 1..9 and 17 (every remainder of the four-row groups), row
 *   lengths of 1..13 blocks and longer ones (every tail of the four-block
 *   steps), with padded strides and rows only 2-byte aligned;
 * - quantized realistic rows and rows of random code bytes (every nibble,
 *   fifth and sixth bit, scale and min byte) with random finite scales;
 * - the longest rows gemv prepares on its stack (32768 values) and one
 *   block longer (the vec_dot fallback);
 * - activations at full scale (every byte +-127: the largest pair and
 *   block sums the integer steps see) against random codes;
 * - out[rows..] is never written.
 * On a CPU without a SIMD back end that has gemv the tests skip. */
#include "testutil.h"

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

typedef struct tables {
    const llm_kernels *k[8];
    const char *name[8];
    int n;
} tables;

/* The tables with a gemv: the available back ends, and the avx512 variant
 * without VNNI as well when the CPU also runs the VNNI one. */
static tables get_tables(void)
{
    tables t = {0};
    const llm_kernels *all[8];
    size_t n = llm_kernels_available(all, 8);
    for (size_t i = 0; i < n && i < 8; i++) {
        if (!all[i]->gemv)
            continue;
        t.k[t.n] = all[i];
        t.name[t.n++] = all[i]->name;
    }
    if (llm_avx512_cpu_runs(true) && llm_avx512_cpu_runs(false)) {
        t.k[t.n] = llm_kernels_avx512_variant(false);
        t.name[t.n++] = "avx512 (no VNNI)";
    }
    if (t.n == 0) {
        print_message("no kernel back end with gemv runs on this CPU: skipped\n");
        skip();
    }
    return t;
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

static bool same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* A random finite half in roughly [2^-10, 2^2), random sign. */
static uint16_t random_half(uint64_t *s)
{
    uint16_t exp = (uint16_t)(5 + ccai_rng_next(s) % 12);
    uint16_t mant = (uint16_t)(ccai_rng_next(s) & 0x3ff);
    return (uint16_t)((ccai_rng_next(s) & 1 ? 0x8000 : 0) | exp << 10 | mant);
}

/* Overwrites every fp16 scale field of a row of random bytes with a random
 * finite half (the code bytes stay random). */
static void sane_scales(uint32_t type, uint8_t *row, int64_t n, uint64_t *s)
{
    size_t bsz = row_bytes(type, ggml_blck_size(type)), bytes = row_bytes(type, n);
    int at[2] = {0, -1};
    if (type == GGML_TYPE_Q4_1 || type == GGML_TYPE_Q5_1 || type == GGML_TYPE_Q4_K ||
        type == GGML_TYPE_Q5_K)
        at[1] = 2;
    if (type == GGML_TYPE_Q6_K)
        at[0] = 208;
    for (size_t off = 0; off < bytes; off += bsz)
        for (int i = 0; i < 2; i++)
            if (at[i] >= 0) {
                uint16_t h = random_half(s);
                memcpy(row + off + at[i], &h, 2);
            }
}

/* rows x n through gemv (row stride padded by 2 bytes, rows 2 mod 4
 * aligned; F32 4-byte aligned) against vec_dot, bit for bit, and out's
 * padding untouched. random_codes: random bytes with sane scales instead
 * of quantized data. act_sign 0: normal activations; +1 / -1: every value
 * the same (+-1.5), so every quantized byte is +-127. */
static void check_gemv_act(const llm_kernels *k, const char *name, uint32_t type, int64_t n,
                           int64_t rows, bool random_codes, int act_sign, uint64_t seed)
{
    uint64_t s = seed;
    llm_act act = llm_act_for(type);
    size_t rb = row_bytes(type, n), ws = rb + (type == GGML_TYPE_F32 ? 4 : 2);
    uint8_t *wbuf = malloc(ws * (size_t)rows + 8);
    uint8_t *w = wbuf + (type == GGML_TYPE_F32 ? 4 : 2);
    uint8_t *a = malloc(llm_act_row_bytes(act, n));
    float *x = malloc((size_t)n * sizeof *x);
    assert_non_null(wbuf);
    assert_non_null(a);
    assert_non_null(x);
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *row = w + (size_t)r * ws;
        if (random_codes && !is_float_type(type)) {
            for (size_t i = 0; i < rb; i++)
                row[i] = (uint8_t)ccai_rng_next(&s);
            sane_scales(type, row, n, &s);
            continue;
        }
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)ccai_rng_normal(&s, 0.01 * (double)(r % 5), 0.2);
        llm_quantize_row(type, x, row, n);
    }
    for (int64_t i = 0; i < n; i++)
        x[i] = act_sign ? 1.5f * (float)act_sign : (float)ccai_rng_normal(&s, 0.0, 1.5);
    k->quantize_act(act, x, a, n);
    float *out = malloc(((size_t)rows + 3) * sizeof *out);
    assert_non_null(out);
    for (int64_t r = 0; r < rows + 3; r++)
        out[r] = -777.0f;
    k->gemv(type, n, rows, w, ws, a, out);
    for (int64_t r = 0; r < rows + 3; r++) {
        if (r >= rows) {
            if (!same_float(out[r], -777.0f))
                fail_msg("%s %s gemv wrote out[%lld] past %lld rows", name, ggml_type_name(type),
                         (long long)r, (long long)rows);
            continue;
        }
        float want = k->vec_dot(type, n, w + (size_t)r * ws, a);
        if (!same_float(out[r], want))
            fail_msg("%s %s gemv rows=%lld n=%lld%s: out[%lld] = %.9g, vec_dot %.9g", name,
                     ggml_type_name(type), (long long)rows, (long long)n,
                     random_codes ? " (random codes)" : "", (long long)r, (double)out[r],
                     (double)want);
    }
    free(out);
    free(x);
    free(a);
    free(wbuf);
}

static void check_gemv(const llm_kernels *k, const char *name, uint32_t type, int64_t n,
                       int64_t rows, bool random_codes, uint64_t seed)
{
    check_gemv_act(k, name, type, n, rows, random_codes, 0, seed);
}

/* Every remainder of the four-row groups and of the four-block steps. */
static void test_gemv_shapes(void **state)
{
    (void)state;
    tables t = get_tables();
    static const int64_t ROWS[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 17};
    for (int ki = 0; ki < t.n; ki++)
        for (size_t ti = 0; ti < N_TYPES; ti++) {
            uint32_t type = TYPES[ti];
            int64_t blk = is_float_type(type) ? 32 : ggml_blck_size(type);
            int max_blocks = blk == 256 ? 9 : 13;
            for (int nb = 1; nb <= max_blocks; nb++)
                for (size_t ri = 0; ri < sizeof ROWS / sizeof ROWS[0]; ri++)
                    for (int rc = 0; rc < 2; rc++)
                        check_gemv(t.k[ki], t.name[ki], type, nb * blk, ROWS[ri], rc != 0,
                                   1000 * ti + 37 * (uint64_t)nb + 7 * ri + (uint64_t)rc);
        }
}

/* Realistic row lengths of the 1.5B shape (1536, 8960) and the longest
 * rows gemv takes on its stack, plus one block more. */
static void test_gemv_long_rows(void **state)
{
    (void)state;
    tables t = get_tables();
    static const int64_t NS[] = {1536, 8960, 32768, 32768 + 256};
    for (int ki = 0; ki < t.n; ki++)
        for (size_t ti = 0; ti < N_TYPES; ti++)
            for (size_t ni = 0; ni < sizeof NS / sizeof NS[0]; ni++)
                for (int rc = 0; rc < 2; rc++) {
                    int64_t n = NS[ni];
                    if (TYPES[ti] != GGML_TYPE_Q4_0 && TYPES[ti] != GGML_TYPE_Q8_0 &&
                        TYPES[ti] != GGML_TYPE_Q4_K && TYPES[ti] != GGML_TYPE_Q6_K && n > 8960)
                        continue; /* vec_dot loops: nothing new to see, only time */
                    check_gemv(t.k[ki], t.name[ki], TYPES[ti], n, 6, rc != 0,
                               77 + 100 * ti + 10 * ni + (uint64_t)rc);
                }
}

/* Full-scale activations of either sign against random codes (the largest
 * integer sums), and more rows than one group at the 1.5B row lengths. */
static void test_gemv_extreme(void **state)
{
    (void)state;
    tables t = get_tables();
    for (int ki = 0; ki < t.n; ki++)
        for (size_t ti = 0; ti < N_TYPES; ti++) {
            if (is_float_type(TYPES[ti]))
                continue;
            for (int sign = -1; sign <= 1; sign += 2)
                check_gemv_act(t.k[ki], t.name[ki], TYPES[ti], 256 * 9, 7, true, sign,
                               500 + 10 * ti + (uint64_t)(sign + 1));
            check_gemv(t.k[ki], t.name[ki], TYPES[ti], 1536, 37, false, 900 + ti);
            check_gemv(t.k[ki], t.name[ki], TYPES[ti], 8960, 13, true, 950 + ti);
        }
}

/* Bit identity across the avx512 variants, through gemv as through vec_dot. */
static void test_gemv_variants_agree(void **state)
{
    (void)state;
    if (!llm_avx512_cpu_runs(true) || !llm_avx512_cpu_runs(false)) {
        print_message("needs both avx512 variants: skipped\n");
        skip();
    }
    const llm_kernels *kv = llm_kernels_avx512_variant(true), *kn = llm_kernels_avx512_variant(false);
    static const uint32_t Q[] = {GGML_TYPE_Q4_0, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q6_K};
    for (size_t ti = 0; ti < sizeof Q / sizeof Q[0]; ti++) {
        uint32_t type = Q[ti];
        int64_t n = ggml_blck_size(type) == 256 ? 256 * 7 : 32 * 23, rows = 7;
        uint64_t s = 99 + ti;
        size_t rb = row_bytes(type, n);
        uint8_t *w = malloc(rb * (size_t)rows), *a = malloc(llm_act_row_bytes(llm_act_for(type), n));
        float *x = malloc((size_t)n * sizeof *x), ov[7], on[7];
        for (int64_t r = 0; r < rows; r++) {
            for (int64_t i = 0; i < n; i++)
                x[i] = (float)ccai_rng_normal(&s, 0.0, 0.3);
            llm_quantize_row(type, x, w + (size_t)r * rb, n);
        }
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)ccai_rng_normal(&s, 0.0, 2.0);
        kv->quantize_act(llm_act_for(type), x, a, n);
        kv->gemv(type, n, rows, w, rb, a, ov);
        kn->gemv(type, n, rows, w, rb, a, on);
        for (int64_t r = 0; r < rows; r++)
            if (!same_float(ov[r], on[r]))
                fail_msg("%s row %lld: VNNI %.9g, no VNNI %.9g", ggml_type_name(type),
                         (long long)r, (double)ov[r], (double)on[r]);
        free(w);
        free(a);
        free(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemv_shapes),
        cmocka_unit_test(test_gemv_long_rows),
        cmocka_unit_test(test_gemv_extreme),
        cmocka_unit_test(test_gemv_variants_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
