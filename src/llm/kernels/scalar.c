/* The scalar kernel table: the reference every SIMD back end is tested
 * against (kernels.h). Each dot product walks the blocks exactly as
 * llm-facts §2 defines them and accumulates integers within a block; the
 * block's scales are applied once per block (once per 32 values for the K
 * types' sub-blocks, via integer sums), and blocks are summed in float.
 *
 * Pairings (quant.h, llm_act_for): F32/F16/BF16 weights with f32
 * activations; Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 with act Q8_1 (float d, float
 * s = d*sum(qs)); Q4_K, Q5_K, Q6_K with Q8_K (bsums give the min terms). */
#include "llm/kernels/kernels.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- Float weights with f32 activations ---------------------------------- */

static float dot_f32(int64_t n, const float *w, const float *x)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += w[i] * x[i];
    return sum;
}

static float dot_f16(int64_t n, const uint16_t *w, const float *x)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += llm_fp16_to_f32(w[i]) * x[i];
    return sum;
}

static float dot_bf16(int64_t n, const uint16_t *w, const float *x)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += llm_bf16_to_f32(w[i]) * x[i];
    return sum;
}

/* ---- 32-value blocks with act Q8_1 ----------------------------------------- */

static int qh_bit(const uint8_t qh[4], int j)
{
    return (qh[j / 8] >> (j % 8)) & 1;
}

/* y = (q - 8) d: sum d_w d_a sum((q - 8) a). */
static float dot_q4_0(int64_t n, const block_q4_0 *w, const block_act_q8_1 *a)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LLM_QK; b++) {
        int sumi = 0;
        for (int j = 0; j < LLM_QK / 2; j++) {
            sumi += ((w[b].qs[j] & 15) - 8) * a[b].qs[j];
            sumi += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + 16];
        }
        sum += llm_fp16_to_f32(w[b].d) * a[b].d * (float)sumi;
    }
    return sum;
}

/* y = q d + m: sum d_w d_a sum(q a) + m s_a. */
static float dot_q4_1(int64_t n, const block_q4_1 *w, const block_act_q8_1 *a)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LLM_QK; b++) {
        int sumi = 0;
        for (int j = 0; j < LLM_QK / 2; j++) {
            sumi += (w[b].qs[j] & 15) * a[b].qs[j];
            sumi += (w[b].qs[j] >> 4) * a[b].qs[j + 16];
        }
        sum += llm_fp16_to_f32(w[b].d) * a[b].d * (float)sumi + llm_fp16_to_f32(w[b].m) * a[b].s;
    }
    return sum;
}

static float dot_q5_0(int64_t n, const block_q5_0 *w, const block_act_q8_1 *a)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LLM_QK; b++) {
        int sumi = 0;
        for (int j = 0; j < LLM_QK / 2; j++) {
            int lo = (w[b].qs[j] & 15) | (qh_bit(w[b].qh, j) << 4);
            int hi = (w[b].qs[j] >> 4) | (qh_bit(w[b].qh, j + 16) << 4);
            sumi += (lo - 16) * a[b].qs[j] + (hi - 16) * a[b].qs[j + 16];
        }
        sum += llm_fp16_to_f32(w[b].d) * a[b].d * (float)sumi;
    }
    return sum;
}

static float dot_q5_1(int64_t n, const block_q5_1 *w, const block_act_q8_1 *a)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LLM_QK; b++) {
        int sumi = 0;
        for (int j = 0; j < LLM_QK / 2; j++) {
            int lo = (w[b].qs[j] & 15) | (qh_bit(w[b].qh, j) << 4);
            int hi = (w[b].qs[j] >> 4) | (qh_bit(w[b].qh, j + 16) << 4);
            sumi += lo * a[b].qs[j] + hi * a[b].qs[j + 16];
        }
        sum += llm_fp16_to_f32(w[b].d) * a[b].d * (float)sumi + llm_fp16_to_f32(w[b].m) * a[b].s;
    }
    return sum;
}

static float dot_q8_0(int64_t n, const block_q8_0 *w, const block_act_q8_1 *a)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LLM_QK; b++) {
        int sumi = 0;
        for (int j = 0; j < LLM_QK; j++)
            sumi += w[b].qs[j] * a[b].qs[j];
        sum += llm_fp16_to_f32(w[b].d) * a[b].d * (float)sumi;
    }
    return sum;
}

/* ---- K types with act Q8_K --------------------------------------------------- */

/* y = d sc q - dmin m per sub-block of 32: sum over the block of
 * d d_a sum_j(sc_j sum(q a)) - dmin d_a sum_j(m_j sum(a_j)), where sum(a_j)
 * is two of Q8_K's bsums. |sumi| <= 8 * 63 * 31 * 127 * 32 < 2^31. */
static float dot_q4_K(int64_t n, const block_q4_K *w, const block_q8_K *a)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LLM_QK_K; b++) {
        int sumi = 0, summ = 0;
        for (int c = 0; c < 4; c++) {
            uint8_t sc0, m0, sc1, m1;
            llm_kq_scale_min(2 * c, w[b].scales, &sc0, &m0);
            llm_kq_scale_min(2 * c + 1, w[b].scales, &sc1, &m1);
            const uint8_t *qs = w[b].qs + 32 * c;
            const int8_t *a0 = a[b].qs + 64 * c, *a1 = a0 + 32;
            int s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                s0 += (qs[l] & 15) * a0[l];
                s1 += (qs[l] >> 4) * a1[l];
            }
            const int16_t *bs = a[b].bsums + 4 * c;
            sumi += sc0 * s0 + sc1 * s1;
            summ += m0 * (bs[0] + bs[1]) + m1 * (bs[2] + bs[3]);
        }
        sum += llm_fp16_to_f32(w[b].d) * a[b].d * (float)sumi -
               llm_fp16_to_f32(w[b].dmin) * a[b].d * (float)summ;
    }
    return sum;
}

static float dot_q5_K(int64_t n, const block_q5_K *w, const block_q8_K *a)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LLM_QK_K; b++) {
        int sumi = 0, summ = 0;
        for (int c = 0; c < 4; c++) {
            uint8_t sc0, m0, sc1, m1;
            llm_kq_scale_min(2 * c, w[b].scales, &sc0, &m0);
            llm_kq_scale_min(2 * c + 1, w[b].scales, &sc1, &m1);
            const uint8_t *qs = w[b].qs + 32 * c, *qh = w[b].qh;
            const int8_t *a0 = a[b].qs + 64 * c, *a1 = a0 + 32;
            int s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                s0 += ((qs[l] & 15) | (((qh[l] >> (2 * c)) & 1) << 4)) * a0[l];
                s1 += ((qs[l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4)) * a1[l];
            }
            const int16_t *bs = a[b].bsums + 4 * c;
            sumi += sc0 * s0 + sc1 * s1;
            summ += m0 * (bs[0] + bs[1]) + m1 * (bs[2] + bs[3]);
        }
        sum += llm_fp16_to_f32(w[b].d) * a[b].d * (float)sumi -
               llm_fp16_to_f32(w[b].dmin) * a[b].d * (float)summ;
    }
    return sum;
}

/* y = d sc (q - 32) per sub-block of 16: d d_a sum_i(sc_i sum((q - 32) a)).
 * |sumi| <= 16 * 128 * 32 * 127 * 16 < 2^31. */
static float dot_q6_K(int64_t n, const block_q6_K *w, const block_q8_K *a)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LLM_QK_K; b++) {
        int sub[16] = {0}; /* sum((q - 32) a) per sub-block of 16 */
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w[b].ql + 64 * h, *qh = w[b].qh + 32 * h;
            const int8_t *x = a[b].qs + 128 * h;
            int *s = sub + 8 * h;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                s[is] += q1 * x[l];
                s[is + 2] += q2 * x[l + 32];
                s[is + 4] += q3 * x[l + 64];
                s[is + 6] += q4 * x[l + 96];
            }
        }
        int sumi = 0;
        for (int i = 0; i < 16; i++)
            sumi += w[b].scales[i] * sub[i];
        sum += llm_fp16_to_f32(w[b].d) * a[b].d * (float)sumi;
    }
    return sum;
}

/* ---- The table ------------------------------------------------------------------ */

static _Noreturn void die_type(uint32_t type)
{
    fprintf(stderr, "scalar vec_dot: weight type %u (%s) has no kernel\n", type,
            ggml_type_name(type));
    abort();
}

static float scalar_vec_dot(uint32_t weight_type, int64_t n, const void *w, const void *act)
{
    switch (weight_type) {
    case GGML_TYPE_F32: return dot_f32(n, w, act);
    case GGML_TYPE_F16: return dot_f16(n, w, act);
    case GGML_TYPE_BF16: return dot_bf16(n, w, act);
    case GGML_TYPE_Q4_0: return dot_q4_0(n, w, act);
    case GGML_TYPE_Q4_1: return dot_q4_1(n, w, act);
    case GGML_TYPE_Q5_0: return dot_q5_0(n, w, act);
    case GGML_TYPE_Q5_1: return dot_q5_1(n, w, act);
    case GGML_TYPE_Q8_0: return dot_q8_0(n, w, act);
    case GGML_TYPE_Q4_K: return dot_q4_K(n, w, act);
    case GGML_TYPE_Q5_K: return dot_q5_K(n, w, act);
    case GGML_TYPE_Q6_K: return dot_q6_K(n, w, act);
    default: break;
    }
    die_type(weight_type);
}

/* Column by column, row by row: exactly vec_dot's arithmetic. */
static void scalar_gemm(uint32_t weight_type, int64_t n, int64_t rows, const void *w,
                        size_t w_row_stride, int64_t cols, const void *act, size_t act_stride,
                        float *out, size_t out_stride)
{
    const uint8_t *wb = w, *ab = act;
    for (int64_t c = 0; c < cols; c++)
        for (int64_t r = 0; r < rows; r++)
            out[(size_t)c * out_stride + (size_t)r] =
                scalar_vec_dot(weight_type, n, wb + (size_t)r * w_row_stride,
                               ab + (size_t)c * act_stride);
}

static const llm_kernels SCALAR = {
    .name = "scalar",
    .quantize_act = llm_quantize_act,
    .vec_dot = scalar_vec_dot,
    .gemm = scalar_gemm,
};

const llm_kernels *llm_kernels_scalar(void)
{
    return &SCALAR;
}
