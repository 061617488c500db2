/* Reference quantizers and dequantizers for the float types and the 32-value
 * block types (llm-facts §2), the row dispatch over every type, and the
 * activation formats (quant.h). The K types live in quant_k.c.
 *
 * The quantizers favour clarity over speed: they run once, when a model is
 * converted or generated, never on the inference path (weights are used in
 * place). Each computes its scales, rounds them to fp16 as stored, and then
 * rounds the values against the stored scales, so that dequantizing gives
 * back exactly the grid point that was chosen. */
#include "llm/quant.h"

#include <stdio.h>
#include <stdlib.h>

static _Noreturn void die_type(const char *fn, uint32_t type)
{
    fprintf(stderr, "%s: type %u (%s) has no quantization code\n", fn, type, ggml_type_name(type));
    abort();
}

/* Plain float helpers: the quantizers need no libm. */
static float absf(float x)
{
    return x < 0.0f ? -x : x;
}

static float minf(float a, float b)
{
    return b < a ? b : a;
}

static float maxf(float a, float b)
{
    return b > a ? b : a;
}

/* The value of largest magnitude, with its sign. */
static float signed_extreme(const float *x, int n)
{
    float ext = 0.0f;
    for (int j = 0; j < n; j++)
        if (absf(x[j]) > absf(ext))
            ext = x[j];
    return ext;
}

static float safe_div(float x, float d)
{
    return d != 0.0f ? x / d : 0.0f;
}

/* Bit j of a 32-bit little-endian field (Q5_0/Q5_1's qh). */
static int qh_bit(const uint8_t qh[4], int j)
{
    return (qh[j / 8] >> (j % 8)) & 1;
}

static void put_qh(uint8_t qh[4], uint32_t bits)
{
    for (int k = 0; k < 4; k++)
        qh[k] = (uint8_t)(bits >> (8 * k));
}

/* ---- Q8_0: y = qs * d, d = amax / 127 ------------------------------------ */

static void quantize_q8_0(const float *x, block_q8_0 *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, x += LLM_QK) {
        float amax = absf(signed_extreme(x, LLM_QK));
        y[b].d = llm_f32_to_fp16(amax / 127.0f);
        float d = llm_fp16_to_f32(y[b].d);
        for (int j = 0; j < LLM_QK; j++)
            y[b].qs[j] = (int8_t)llm_round_clamp(safe_div(x[j], d), -127, 127);
    }
}

static void dequantize_q8_0(const block_q8_0 *x, float *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, y += LLM_QK) {
        float d = llm_fp16_to_f32(x[b].d);
        for (int j = 0; j < LLM_QK; j++)
            y[j] = x[b].qs[j] * d;
    }
}

/* ---- Q4_0 / Q5_0: y = (q - 2^(bits-1)) * d -------------------------------- */

/* Symmetric: the extreme value maps to the most negative code (-8 or -16),
 * which the format has one more of than positive codes. */
static void quantize_q4_0(const float *x, block_q4_0 *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, x += LLM_QK) {
        y[b].d = llm_f32_to_fp16(signed_extreme(x, LLM_QK) / -8.0f);
        float d = llm_fp16_to_f32(y[b].d);
        for (int j = 0; j < LLM_QK / 2; j++) {
            int lo = llm_round_clamp(safe_div(x[j], d), -8, 7) + 8;
            int hi = llm_round_clamp(safe_div(x[j + 16], d), -8, 7) + 8;
            y[b].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

static void dequantize_q4_0(const block_q4_0 *x, float *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, y += LLM_QK) {
        float d = llm_fp16_to_f32(x[b].d);
        for (int j = 0; j < LLM_QK / 2; j++) {
            y[j] = ((x[b].qs[j] & 15) - 8) * d;
            y[j + 16] = ((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

static void quantize_q5_0(const float *x, block_q5_0 *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, x += LLM_QK) {
        y[b].d = llm_f32_to_fp16(signed_extreme(x, LLM_QK) / -16.0f);
        float d = llm_fp16_to_f32(y[b].d);
        uint32_t qh = 0;
        for (int j = 0; j < LLM_QK / 2; j++) {
            int lo = llm_round_clamp(safe_div(x[j], d), -16, 15) + 16;
            int hi = llm_round_clamp(safe_div(x[j + 16], d), -16, 15) + 16;
            y[b].qs[j] = (uint8_t)((lo & 15) | ((hi & 15) << 4));
            qh |= (uint32_t)(lo >> 4) << j;
            qh |= (uint32_t)(hi >> 4) << (j + 16);
        }
        put_qh(y[b].qh, qh);
    }
}

static void dequantize_q5_0(const block_q5_0 *x, float *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, y += LLM_QK) {
        float d = llm_fp16_to_f32(x[b].d);
        for (int j = 0; j < LLM_QK / 2; j++) {
            int lo = (x[b].qs[j] & 15) | (qh_bit(x[b].qh, j) << 4);
            int hi = (x[b].qs[j] >> 4) | (qh_bit(x[b].qh, j + 16) << 4);
            y[j] = (lo - 16) * d;
            y[j + 16] = (hi - 16) * d;
        }
    }
}

/* ---- Q4_1 / Q5_1: y = q * d + m, spanning the block's [min, max] ---------- */

static void min_max(const float *x, int n, float *lo, float *hi)
{
    *lo = *hi = x[0];
    for (int j = 1; j < n; j++) {
        *lo = minf(*lo, x[j]);
        *hi = maxf(*hi, x[j]);
    }
}

static void quantize_q4_1(const float *x, block_q4_1 *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, x += LLM_QK) {
        float lo, hi;
        min_max(x, LLM_QK, &lo, &hi);
        y[b].d = llm_f32_to_fp16((hi - lo) / 15.0f);
        y[b].m = llm_f32_to_fp16(lo);
        float d = llm_fp16_to_f32(y[b].d), m = llm_fp16_to_f32(y[b].m);
        for (int j = 0; j < LLM_QK / 2; j++) {
            int q0 = llm_round_clamp(safe_div(x[j] - m, d), 0, 15);
            int q1 = llm_round_clamp(safe_div(x[j + 16] - m, d), 0, 15);
            y[b].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void dequantize_q4_1(const block_q4_1 *x, float *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, y += LLM_QK) {
        float d = llm_fp16_to_f32(x[b].d), m = llm_fp16_to_f32(x[b].m);
        for (int j = 0; j < LLM_QK / 2; j++) {
            y[j] = (x[b].qs[j] & 15) * d + m;
            y[j + 16] = (x[b].qs[j] >> 4) * d + m;
        }
    }
}

static void quantize_q5_1(const float *x, block_q5_1 *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, x += LLM_QK) {
        float lo, hi;
        min_max(x, LLM_QK, &lo, &hi);
        y[b].d = llm_f32_to_fp16((hi - lo) / 31.0f);
        y[b].m = llm_f32_to_fp16(lo);
        float d = llm_fp16_to_f32(y[b].d), m = llm_fp16_to_f32(y[b].m);
        uint32_t qh = 0;
        for (int j = 0; j < LLM_QK / 2; j++) {
            int q0 = llm_round_clamp(safe_div(x[j] - m, d), 0, 31);
            int q1 = llm_round_clamp(safe_div(x[j + 16] - m, d), 0, 31);
            y[b].qs[j] = (uint8_t)((q0 & 15) | ((q1 & 15) << 4));
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + 16);
        }
        put_qh(y[b].qh, qh);
    }
}

static void dequantize_q5_1(const block_q5_1 *x, float *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, y += LLM_QK) {
        float d = llm_fp16_to_f32(x[b].d), m = llm_fp16_to_f32(x[b].m);
        for (int j = 0; j < LLM_QK / 2; j++) {
            int lo = (x[b].qs[j] & 15) | (qh_bit(x[b].qh, j) << 4);
            int hi = (x[b].qs[j] >> 4) | (qh_bit(x[b].qh, j + 16) << 4);
            y[j] = lo * d + m;
            y[j + 16] = hi * d + m;
        }
    }
}

/* ---- Row dispatch ----------------------------------------------------------- */

bool llm_quant_has(uint32_t type)
{
    return ggml_type_supported(type) || type == GGML_TYPE_Q8_K;
}

void llm_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n)
{
    if (!llm_quant_has(type))
        die_type("llm_dequantize_row", type);
    int64_t nb = n / ggml_blck_size(type);
    switch ((ggml_type)type) {
    case GGML_TYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    case GGML_TYPE_F16:
        for (int64_t i = 0; i < n; i++)
            dst[i] = llm_fp16_to_f32(((const uint16_t *)src)[i]);
        return;
    case GGML_TYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            dst[i] = llm_bf16_to_f32(((const uint16_t *)src)[i]);
        return;
    case GGML_TYPE_Q4_0: dequantize_q4_0(src, dst, nb); return;
    case GGML_TYPE_Q4_1: dequantize_q4_1(src, dst, nb); return;
    case GGML_TYPE_Q5_0: dequantize_q5_0(src, dst, nb); return;
    case GGML_TYPE_Q5_1: dequantize_q5_1(src, dst, nb); return;
    case GGML_TYPE_Q8_0: dequantize_q8_0(src, dst, nb); return;
    case GGML_TYPE_Q4_K: llm_dequantize_row_q4_K(src, dst, n); return;
    case GGML_TYPE_Q5_K: llm_dequantize_row_q5_K(src, dst, n); return;
    case GGML_TYPE_Q6_K: llm_dequantize_row_q6_K(src, dst, n); return;
    case GGML_TYPE_Q8_K: llm_dequantize_row_q8_K(src, dst, n); return;
    default: break;
    }
    die_type("llm_dequantize_row", type);
}

void llm_quantize_row(uint32_t type, const float *src, void *dst, int64_t n)
{
    if (!llm_quant_has(type))
        die_type("llm_quantize_row", type);
    int64_t nb = n / ggml_blck_size(type);
    switch ((ggml_type)type) {
    case GGML_TYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    case GGML_TYPE_F16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = llm_f32_to_fp16(src[i]);
        return;
    case GGML_TYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = llm_f32_to_bf16(src[i]);
        return;
    case GGML_TYPE_Q4_0: quantize_q4_0(src, dst, nb); return;
    case GGML_TYPE_Q4_1: quantize_q4_1(src, dst, nb); return;
    case GGML_TYPE_Q5_0: quantize_q5_0(src, dst, nb); return;
    case GGML_TYPE_Q5_1: quantize_q5_1(src, dst, nb); return;
    case GGML_TYPE_Q8_0: quantize_q8_0(src, dst, nb); return;
    case GGML_TYPE_Q4_K: llm_quantize_row_q4_K(src, dst, n); return;
    case GGML_TYPE_Q5_K: llm_quantize_row_q5_K(src, dst, n); return;
    case GGML_TYPE_Q6_K: llm_quantize_row_q6_K(src, dst, n); return;
    case GGML_TYPE_Q8_K: llm_quantize_row_q8_K(src, dst, n); return;
    default: break;
    }
    die_type("llm_quantize_row", type);
}

/* ---- Activations -------------------------------------------------------------- */

llm_act llm_act_for(uint32_t weight_type)
{
    switch (weight_type) {
    case GGML_TYPE_Q4_0:
    case GGML_TYPE_Q4_1:
    case GGML_TYPE_Q5_0:
    case GGML_TYPE_Q5_1:
    case GGML_TYPE_Q8_0:
        return LLM_ACT_Q8_1;
    case GGML_TYPE_Q4_K:
    case GGML_TYPE_Q5_K:
    case GGML_TYPE_Q6_K:
        return LLM_ACT_Q8_K;
    default:
        return LLM_ACT_F32;
    }
}

int64_t llm_act_block_size(llm_act a)
{
    return a == LLM_ACT_Q8_1 ? LLM_QK : a == LLM_ACT_Q8_K ? LLM_QK_K : 1;
}

size_t llm_act_row_bytes(llm_act a, int64_t n)
{
    switch (a) {
    case LLM_ACT_Q8_1: return (size_t)(n / LLM_QK) * sizeof(block_act_q8_1);
    case LLM_ACT_Q8_K: return (size_t)(n / LLM_QK_K) * sizeof(block_q8_K);
    case LLM_ACT_F32: break;
    }
    return (size_t)n * sizeof(float);
}

const char *llm_act_name(llm_act a)
{
    switch (a) {
    case LLM_ACT_Q8_1: return "q8_1";
    case LLM_ACT_Q8_K: return "q8_K";
    case LLM_ACT_F32: break;
    }
    return "f32";
}

/* d = amax / 127 kept as a float (no fp16 rounding: activations are
 * transient), q = round(x * 127 / amax); s = d * sum(q). */
static void quantize_act_q8_1(const float *x, block_act_q8_1 *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, x += LLM_QK) {
        float amax = absf(signed_extreme(x, LLM_QK));
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < LLM_QK; j++) {
            int q = llm_round_clamp(x[j] * id, -127, 127);
            y[b].qs[j] = (int8_t)q;
            sum += q;
        }
        y[b].d = amax / 127.0f;
        y[b].s = y[b].d * (float)sum;
    }
}

void llm_quantize_act(llm_act a, const float *x, void *out, int64_t n)
{
    switch (a) {
    case LLM_ACT_Q8_1: quantize_act_q8_1(x, out, n / LLM_QK); return;
    case LLM_ACT_Q8_K: llm_quantize_row_q8_K(x, out, n); return;
    case LLM_ACT_F32: break;
    }
    memcpy(out, x, (size_t)n * sizeof(float));
}

void llm_dequantize_act(llm_act a, const void *in, float *x, int64_t n)
{
    switch (a) {
    case LLM_ACT_Q8_1: {
        const block_act_q8_1 *blk = in;
        for (int64_t b = 0; b < n / LLM_QK; b++)
            for (int j = 0; j < LLM_QK; j++)
                x[b * LLM_QK + j] = blk[b].qs[j] * blk[b].d;
        return;
    }
    case LLM_ACT_Q8_K: llm_dequantize_row_q8_K(in, x, n); return;
    case LLM_ACT_F32: break;
    }
    memcpy(x, in, (size_t)n * sizeof(float));
}
