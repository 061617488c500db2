/* Tests for src/llm/kernels: every available kernel table, for every weight
 * type, against the float64 dot products of the reference dequantizations
 * (docs/quant.md, "Kernels"): vec_dot equals dot(dequant(w), dequant(act))
 * within float rounding, and dot(dequant(w), x) within the activation
 * quantization bound; gemm equals repeated vec_dot exactly, with odd row
 * counts and padded strides; small exact cases; llm_kernels_get's errors. */
#include "testutil.h"

#include <math.h> /* fabs only (inline): no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "llm/kernels/kernels.h"

/* n approximately normal values from seed (ccai_rng_normal), as floats. */
static void fill_normal(float *x, int64_t n, uint64_t seed, double mean, double sd)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)ccai_rng_normal(&seed, mean, sd);
}

static double maxd(double a, double b)
{
    return b > a ? b : a;
}

static const uint32_t WEIGHT_TYPES[] = {
    GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0,
    GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
};
#define N_TYPES (sizeof WEIGHT_TYPES / sizeof WEIGHT_TYPES[0])

/* Relative tolerance of vec_dot against the float64 dot of the dequantized
 * operands, as a fraction of sum |w_i a_i| plus sum |offset_i a_i| (the
 * magnitude the float arithmetic works at; see dot_scale). */
#define DOT_RTOL 2e-6

/* The magnitude the kernel's float arithmetic works at: sum |w_i a_i| plus,
 * for the types with an offset (min) term, the offset's own contribution,
 * bounded by the block's amax. */
static double dot_scale(const float *wf, const float *af, int64_t n)
{
    double s = 0;
    for (int64_t b = 0; b < n; b += 32) {
        int64_t len = n - b < 32 ? n - b : 32;
        double amax = 0, sa = 0;
        for (int64_t i = b; i < b + len; i++) {
            amax = maxd(amax, fabs(wf[i]));
            sa += fabs(af[i]);
            s += fabs((double)wf[i] * af[i]);
        }
        s += amax * sa;
    }
    return s;
}

/* sum over activation blocks of (d_a / 2) * sum |w_i|: the most that
 * replacing x by its quantization can move the dot product. */
static double act_bound(llm_act act, const void *a, const float *wf, int64_t n)
{
    int64_t bs = llm_act_block_size(act);
    double bound = 0;
    for (int64_t b = 0; b < n / bs && act != LLM_ACT_F32; b++) {
        float d = act == LLM_ACT_Q8_1 ? ((const block_act_q8_1 *)a)[b].d
                                      : ((const block_q8_K *)a)[b].d;
        double sw = 0;
        for (int64_t i = b * bs; i < (b + 1) * bs; i++)
            sw += fabs(wf[i]);
        bound += d * 0.5 * 1.0001 * sw;
    }
    return bound;
}

typedef struct stats {
    double worst_q, worst_x; /* largest error / tolerance seen */
} stats;

/* One kernel, one weight type: rows x cols dot products of length n, through
 * vec_dot and through gemm. */
static void check_type(const llm_kernels *k, uint32_t type, int64_t n, int64_t rows, int64_t cols,
                       uint64_t seed, stats *st)
{
    size_t row_bytes = 0;
    assert_true(ggml_row_bytes(type, (uint64_t)n, &row_bytes));
    size_t w_stride = row_bytes + 8; /* padding between rows, alignment kept */
    llm_act act = llm_act_for(type);
    size_t act_bytes = llm_act_row_bytes(act, n), act_stride = act_bytes + 12;

    float *src = malloc((size_t)n * sizeof *src);
    float *wf = malloc((size_t)(rows * n) * sizeof *wf);
    float *x = malloc((size_t)(cols * n) * sizeof *x);
    float *af = malloc((size_t)(cols * n) * sizeof *af);
    uint8_t *w = calloc((size_t)rows, w_stride);
    uint8_t *a = calloc((size_t)cols, act_stride);
    for (int64_t r = 0; r < rows; r++) {
        fill_normal(src, n, seed + (uint64_t)r, 0.01 * (double)r, 0.05);
        llm_quantize_row(type, src, w + (size_t)r * w_stride, n);
        llm_dequantize_row(type, w + (size_t)r * w_stride, wf + r * n, n);
    }
    for (int64_t c = 0; c < cols; c++) {
        fill_normal(x + c * n, n, seed + 1000 + (uint64_t)c, 0.0, 1.0 + (double)c);
        k->quantize_act(act, x + c * n, a + (size_t)c * act_stride, n);
        llm_dequantize_act(act, a + (size_t)c * act_stride, af + c * n, n);
    }

    float *dots = malloc((size_t)(rows * cols) * sizeof *dots);
    for (int64_t c = 0; c < cols; c++) {
        const uint8_t *ac = a + (size_t)c * act_stride;
        for (int64_t r = 0; r < rows; r++) {
            const float *wr = wf + r * n;
            float got = k->vec_dot(type, n, w + (size_t)r * w_stride, ac);
            dots[c * rows + r] = got;
            double ref_q = 0, ref_x = 0;
            for (int64_t i = 0; i < n; i++) {
                ref_q += (double)wr[i] * af[c * n + i];
                ref_x += (double)wr[i] * x[c * n + i];
            }
            double tol_q = DOT_RTOL * dot_scale(wr, af + c * n, n) + 1e-30;
            double tol_x = act_bound(act, ac, wr, n) + tol_q;
            double eq = fabs(got - ref_q), ex = fabs(got - ref_x);
            st->worst_q = maxd(st->worst_q, eq / tol_q);
            st->worst_x = maxd(st->worst_x, ex / tol_x);
            if (eq > tol_q || ex > tol_x)
                fail_msg("%s %s row %lld col %lld: dot %.9g, dequantized %.9g (tol %.3g), "
                         "f32 activations %.9g (tol %.3g)",
                         k->name, ggml_type_name(type), (long long)r, (long long)c, (double)got,
                         ref_q, tol_q, ref_x, tol_x);
        }
    }

    if (k->gemm) {
        size_t out_stride = (size_t)rows + 3;
        size_t n_out = (size_t)cols * out_stride;
        float *out = malloc(n_out * sizeof *out);
        for (size_t i = 0; i < n_out; i++)
            out[i] = -12345.0f;
        k->gemm(type, n, rows, w, w_stride, cols, a, act_stride, out, out_stride);
        for (int64_t c = 0; c < cols; c++) {
            for (size_t r = 0; r < out_stride; r++) {
                float want = (int64_t)r < rows ? dots[c * rows + (int64_t)r] : -12345.0f;
                float got = out[(size_t)c * out_stride + r];
                if (memcmp(&got, &want, sizeof got) != 0)
                    fail_msg("%s %s gemm out[%lld][%zu] = %.9g, vec_dot gave %.9g", k->name,
                             ggml_type_name(type), (long long)c, r, (double)got, (double)want);
            }
        }
        free(out);
    }
    free(dots);
    free(src);
    free(wf);
    free(x);
    free(af);
    free(w);
    free(a);
}

static void test_all_kernels_all_types(void **state)
{
    (void)state;
    const llm_kernels *ks[8];
    size_t nk = llm_kernels_available(ks, 8);
    assert_true(nk >= 1 && nk <= 8);
    for (size_t i = 0; i < nk; i++) {
        for (size_t t = 0; t < N_TYPES; t++) {
            stats st = {0};
            check_type(ks[i], WEIGHT_TYPES[t], 512, 7, 3, 100 + t, &st);
            check_type(ks[i], WEIGHT_TYPES[t], 256, 1, 1, 200 + t, &st);
            print_message("%-6s %-5s worst error / tolerance: dequantized %.3f, f32 %.3f\n",
                          ks[i]->name, ggml_type_name(WEIGHT_TYPES[t]), st.worst_q, st.worst_x);
        }
    }
}

/* Float weights take any row length; odd ones too. */
static void test_float_types_odd_lengths(void **state)
{
    (void)state;
    const llm_kernels *k = llm_kernels_scalar();
    const float w[3] = {1, 2, 3}, x[3] = {4, 5, 6};
    assert_true(k->vec_dot(GGML_TYPE_F32, 3, w, x) == 32.0f);
    uint16_t h[3] = {0x3c00, 0x4000, 0x4200}, b[3] = {0x3f80, 0x4000, 0x4040}; /* 1, 2, 3 */
    assert_true(k->vec_dot(GGML_TYPE_F16, 3, h, x) == 32.0f);
    assert_true(k->vec_dot(GGML_TYPE_BF16, 3, b, x) == 32.0f);
    stats st = {0};
    check_type(k, GGML_TYPE_F16, 33, 5, 2, 7, &st);
    check_type(k, GGML_TYPE_BF16, 1, 3, 1, 8, &st);
    check_type(k, GGML_TYPE_F32, 99, 1, 4, 9, &st);
}

/* Hand-built Q4_1 block with a hand-built activation block: exercises the
 * s = d * sum(qs) term exactly (every product is exact in float). */
static void test_q4_1_min_term_exact(void **state)
{
    (void)state;
    block_q4_1 w = {.d = 0x3c00, .m = 0xbc00}; /* y = q - 1 */
    block_act_q8_1 a = {.d = 0.5f};
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        a.qs[j] = (int8_t)(j - 16);
        sum += j - 16;
    }
    a.s = a.d * (float)sum;
    double want = 0;
    for (int j = 0; j < 16; j++) {
        w.qs[j] = (uint8_t)((j % 16) | ((15 - j) << 4));
        want += (double)(j - 1) * 0.5 * (j - 16);
        want += (double)(15 - j - 1) * 0.5 * (j + 16 - 16);
    }
    assert_true(llm_kernels_scalar()->vec_dot(GGML_TYPE_Q4_1, 32, &w, &a) == (float)want);
}

static void test_kernels_get(void **state)
{
    (void)state;
    ccai_err err = {0};
    const llm_kernels *ks[4];
    size_t nk = llm_kernels_available(ks, 4);
    assert_ptr_equal(llm_kernels_get(NULL, &err), ks[0]);
    assert_ptr_equal(llm_kernels_get("auto", &err), ks[0]);
    assert_ptr_equal(llm_kernels_get("scalar", &err), llm_kernels_scalar());
    assert_string_equal(llm_kernels_scalar()->name, "scalar");
    assert_ptr_equal(ks[nk - 1], llm_kernels_scalar()); /* the reference is last */
    for (size_t i = 0; i < nk; i++) {
        assert_ptr_equal(llm_kernels_get(ks[i]->name, &err), ks[i]);
        assert_non_null(ks[i]->quantize_act);
        assert_non_null(ks[i]->vec_dot);
    }

    assert_null(llm_kernels_get("avx9", &err));
    assert_int_equal(err.code, CCAI_ERR_ARG);
    assert_non_null(strstr(err.msg, "kernels: unknown kernel set 'avx9' (available: auto, "));
    assert_non_null(strstr(err.msg, "scalar)"));
    assert_null(llm_kernels_get("", NULL)); /* no error struct: still fails */
    assert_int_equal(llm_kernels_available(NULL, 0), nk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_kernels_all_types),
        cmocka_unit_test(test_float_types_odd_lengths),
        cmocka_unit_test(test_q4_1_min_term_exact),
        cmocka_unit_test(test_kernels_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
