/* The avx512 kernel table (kernels.h): AVX-512 F/BW/VL, with VNNI's vpdpbusd
 * when the CPU has it. This file holds the tables, the activation quantizers
 * and the float weight types; the integer kernels are in avx512_q32.inc and
 * avx512_qk.inc, compiled with and without VNNI (avx512_internal.h).
 *
 * Activation quantizers give exactly the bytes of llm_quantize_act: the same
 * amax (NaNs skipped), the same id = 127 / amax, the product x * id rounded to
 * nearest even after the same clamp (vcvtps2dq under the default rounding
 * mode, as llm_round_clamp's 1.5 * 2^23 trick), the same d and s.
 *
 * Float dot products (F32, F16 via vcvtph2ps, BF16 by a shift) follow one
 * fixed order that gemm repeats per (row, column): chunk k of 16 values goes
 * into accumulator k % 4 with one fma (the last chunk zero-padded by masked
 * loads), then (acc0 + acc1) + (acc2 + acc3) is summed across lanes by
 * hsum16's fixed tree. Every function is compiled for LLM_AVX512_ISA only;
 * select.c checks the CPU before handing the table out. */
#include "llm/kernels/avx512_internal.h"

#include <immintrin.h>

#define AVX512 __attribute__((target(LLM_AVX512_ISA)))
#define AVX512_INLINE static inline __attribute__((always_inline, target(LLM_AVX512_ISA)))

/* ---- Activation quantizers ------------------------------------------------ */

/* max(|x|, m) lane-wise, NaN lanes of x leaving m (vmaxps returns its second
 * operand when either is NaN), as the reference skips NaNs. */
AVX512_INLINE __m512 amax_step(__m512 m, __m512 x)
{
    return _mm512_max_ps(_mm512_abs_ps(x), m);
}

/* llm_round_clamp(x * id, -127, 127) for 16 values: clamp first (NaN gives
 * -127, as vmaxps returns -127 for a NaN first operand), then round to
 * nearest even. */
AVX512_INLINE __m512i round_clamp127(__m512 x, __m512 id)
{
    __m512 v = _mm512_max_ps(_mm512_mul_ps(x, id), _mm512_set1_ps(-127.0f));
    v = _mm512_min_ps(v, _mm512_set1_ps(127.0f));
    return _mm512_cvtps_epi32(v);
}

AVX512 static void quantize_q8_1(const float *x, block_act_q8_1 *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, x += LLM_QK) {
        __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        float amax = _mm512_reduce_max_ps(amax_step(amax_step(_mm512_setzero_ps(), x0), x1));
        __m512 id = _mm512_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        __m512i q0 = round_clamp127(x0, id), q1 = round_clamp127(x1, id);
        _mm_storeu_si128((__m128i *)y[b].qs, _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(y[b].qs + 16), _mm512_cvtepi32_epi8(q1));
        int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        y[b].d = amax / 127.0f;
        y[b].s = y[b].d * (float)sum;
    }
}

AVX512 static void quantize_q8_K(const float *x, block_q8_K *y, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, x += LLM_QK_K) {
        __m512 m = _mm512_setzero_ps();
        LLM_UNROLL
        for (int g = 0; g < 16; g++)
            m = amax_step(m, _mm512_loadu_ps(x + 16 * g));
        float amax = _mm512_reduce_max_ps(m);
        __m512 id = _mm512_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        LLM_UNROLL
        for (int g = 0; g < 16; g++) {
            __m512i q = round_clamp127(_mm512_loadu_ps(x + 16 * g), id);
            _mm_storeu_si128((__m128i *)(y[b].qs + 16 * g), _mm512_cvtepi32_epi8(q));
            y[b].bsums[g] = (int16_t)_mm512_reduce_add_epi32(q);
        }
        y[b].d = amax / 127.0f;
    }
}

AVX512 static void avx512_quantize_act(llm_act a, const float *x, void *out, int64_t n)
{
    switch (a) {
    case LLM_ACT_Q8_1: quantize_q8_1(x, out, n / LLM_QK); return;
    case LLM_ACT_Q8_K: quantize_q8_K(x, out, n / LLM_QK_K); return;
    case LLM_ACT_F32: break;
    }
    memcpy(out, x, (size_t)n * sizeof(float));
}

/* ---- Float weights ------------------------------------------------------- */

/* The fixed reduction of every float dot product: halves, quarters, then the
 * last four lanes pairwise. */
AVX512_INLINE float hsum16(__m512 v)
{
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
}

/* 16 weights from value i on, as floats; masked: lanes outside m are 0. */
AVX512_INLINE __m512 load_w(uint32_t type, const void *w, int64_t i)
{
    if (type == GGML_TYPE_F32)
        return _mm512_loadu_ps((const float *)w + i);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i));
    if (type == GGML_TYPE_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

AVX512_INLINE __m512 load_w_mask(uint32_t type, const void *w, int64_t i, __mmask16 m)
{
    if (type == GGML_TYPE_F32)
        return _mm512_maskz_loadu_ps(m, (const float *)w + i);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i);
    if (type == GGML_TYPE_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* R x C dot products (R, C <= 2, constants after inlining) of rows w[r] with
 * columns x[c], each in the fixed order of the file comment: res[r][c]. */
AVX512_INLINE void float_tile(uint32_t type, int64_t n, int R, int C, const void *const w[2],
                              const float *const x[2], float res[2][2])
{
    __m512 acc[2][2][4];
    LLM_UNROLL
    for (int r = 0; r < R; r++)
        LLM_UNROLL
        for (int c = 0; c < C; c++)
            LLM_UNROLL
            for (int k = 0; k < 4; k++)
                acc[r][c][k] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        LLM_UNROLL
        for (int k = 0; k < 4; k++) {
            __m512 wv[2], xv[2];
            LLM_UNROLL
            for (int r = 0; r < R; r++)
                wv[r] = load_w(type, w[r], i + 16 * k);
            LLM_UNROLL
            for (int c = 0; c < C; c++)
                xv[c] = _mm512_loadu_ps(x[c] + i + 16 * k);
            LLM_UNROLL
            for (int r = 0; r < R; r++)
                LLM_UNROLL
                for (int c = 0; c < C; c++)
                    acc[r][c][k] = _mm512_fmadd_ps(wv[r], xv[c], acc[r][c][k]);
        }
    }
    /* Up to three whole chunks and one partial one, continuing k % 4. */
    LLM_UNROLL
    for (int k = 0; k < 4; k++) {
        if (i >= n)
            continue;
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 wv[2], xv[2];
        LLM_UNROLL
        for (int r = 0; r < R; r++)
            wv[r] = load_w_mask(type, w[r], i, m);
        LLM_UNROLL
        for (int c = 0; c < C; c++)
            xv[c] = _mm512_maskz_loadu_ps(m, x[c] + i);
        LLM_UNROLL
        for (int r = 0; r < R; r++)
            LLM_UNROLL
            for (int c = 0; c < C; c++)
                acc[r][c][k] = _mm512_fmadd_ps(wv[r], xv[c], acc[r][c][k]);
        i += 16;
    }
    LLM_UNROLL
    for (int r = 0; r < R; r++)
        LLM_UNROLL
        for (int c = 0; c < C; c++)
            res[r][c] = hsum16(_mm512_add_ps(_mm512_add_ps(acc[r][c][0], acc[r][c][1]),
                                             _mm512_add_ps(acc[r][c][2], acc[r][c][3])));
}

AVX512_INLINE void float_tile_typed(uint32_t type, int64_t n, int R, int C, const void *const w[2],
                                    const float *const x[2], float res[2][2])
{
    /* One instance per type, so load_w's branches fold. */
    switch (type) {
    case GGML_TYPE_F32: float_tile(GGML_TYPE_F32, n, R, C, w, x, res); return;
    case GGML_TYPE_F16: float_tile(GGML_TYPE_F16, n, R, C, w, x, res); return;
    default: float_tile(GGML_TYPE_BF16, n, R, C, w, x, res); return;
    }
}

AVX512 float llm_avx512_dot_float(uint32_t type, int64_t n, const void *w, const float *x)
{
    const void *wr[2] = {w, w};
    const float *xc[2] = {x, x};
    float res[2][2];
    float_tile_typed(type, n, 1, 1, wr, xc, res);
    return res[0][0];
}

/* Tiles of 2 rows x 2 columns share their loads; edges take 1. */
AVX512 void llm_avx512_gemm_float(uint32_t type, int64_t n, int64_t rows, const void *w,
                                  size_t w_row_stride, int64_t cols, const void *act,
                                  size_t act_stride, float *out, size_t out_stride)
{
    const uint8_t *wb = w, *ab = act;
    for (int64_t c = 0; c < cols; c += 2) {
        int C = cols - c >= 2 ? 2 : 1;
        const float *xc[2] = {(const float *)(ab + (size_t)c * act_stride),
                              (const float *)(ab + (size_t)(c + C - 1) * act_stride)};
        for (int64_t r = 0; r < rows; r += 2) {
            int R = rows - r >= 2 ? 2 : 1;
            const void *wr[2] = {wb + (size_t)r * w_row_stride,
                                 wb + (size_t)(r + R - 1) * w_row_stride};
            float res[2][2];
            if (R == 2 && C == 2)
                float_tile_typed(type, n, 2, 2, wr, xc, res);
            else if (R == 2)
                float_tile_typed(type, n, 2, 1, wr, xc, res);
            else if (C == 2)
                float_tile_typed(type, n, 1, 2, wr, xc, res);
            else
                float_tile_typed(type, n, 1, 1, wr, xc, res);
            for (int cc = 0; cc < C; cc++)
                for (int rr = 0; rr < R; rr++)
                    out[(size_t)(c + cc) * out_stride + (size_t)(r + rr)] = res[rr][cc];
        }
    }
}

/* ---- The tables ----------------------------------------------------------- */

static bool is_float_type(uint32_t type)
{
    return type == GGML_TYPE_F32 || type == GGML_TYPE_F16 || type == GGML_TYPE_BF16;
}

static float vec_dot_vnni(uint32_t type, int64_t n, const void *w, const void *act)
{
    if (is_float_type(type))
        return llm_avx512_dot_float(type, n, w, act);
    return llm_avx512_vec_dot_q_vnni(type, n, w, act);
}

static float vec_dot_novnni(uint32_t type, int64_t n, const void *w, const void *act)
{
    if (is_float_type(type))
        return llm_avx512_dot_float(type, n, w, act);
    return llm_avx512_vec_dot_q_novnni(type, n, w, act);
}

static void gemm_vnni(uint32_t type, int64_t n, int64_t rows, const void *w, size_t w_row_stride,
                      int64_t cols, const void *act, size_t act_stride, float *out,
                      size_t out_stride)
{
    if (is_float_type(type))
        llm_avx512_gemm_float(type, n, rows, w, w_row_stride, cols, act, act_stride, out,
                              out_stride);
    else
        llm_avx512_gemm_q_vnni(type, n, rows, w, w_row_stride, cols, act, act_stride, out,
                               out_stride);
}

static void gemm_novnni(uint32_t type, int64_t n, int64_t rows, const void *w, size_t w_row_stride,
                        int64_t cols, const void *act, size_t act_stride, float *out,
                        size_t out_stride)
{
    if (is_float_type(type))
        llm_avx512_gemm_float(type, n, rows, w, w_row_stride, cols, act, act_stride, out,
                              out_stride);
    else
        llm_avx512_gemm_q_novnni(type, n, rows, w, w_row_stride, cols, act, act_stride, out,
                                 out_stride);
}

static void gemv_vnni(uint32_t type, int64_t n, int64_t rows, const void *w, size_t w_row_stride,
                      const void *act, float *out)
{
    if (is_float_type(type))
        for (int64_t r = 0; r < rows; r++)
            out[r] = llm_avx512_dot_float(type, n, (const uint8_t *)w + (size_t)r * w_row_stride,
                                          act);
    else
        llm_avx512_gemv_q_vnni(type, n, rows, w, w_row_stride, act, out);
}

static void gemv_novnni(uint32_t type, int64_t n, int64_t rows, const void *w,
                        size_t w_row_stride, const void *act, float *out)
{
    if (is_float_type(type))
        for (int64_t r = 0; r < rows; r++)
            out[r] = llm_avx512_dot_float(type, n, (const uint8_t *)w + (size_t)r * w_row_stride,
                                          act);
    else
        llm_avx512_gemv_q_novnni(type, n, rows, w, w_row_stride, act, out);
}

/* Both are named "avx512": which one a CPU gets is an implementation detail
 * (and they give the same bits). */
static const llm_kernels AVX512_VNNI = {
    .name = "avx512",
    .quantize_act = avx512_quantize_act,
    .vec_dot = vec_dot_vnni,
    .gemm = gemm_vnni,
    .gemv = gemv_vnni,
};

static const llm_kernels AVX512_NOVNNI = {
    .name = "avx512",
    .quantize_act = avx512_quantize_act,
    .vec_dot = vec_dot_novnni,
    .gemm = gemm_novnni,
    .gemv = gemv_novnni,
};

/* F16C is not probed: every AVX-512 CPU has it (and older clang cannot ask). */
bool llm_avx512_cpu_runs(bool vnni)
{
    __builtin_cpu_init();
    bool base = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return base && (!vnni || __builtin_cpu_supports("avx512vnni"));
}

const llm_kernels *llm_kernels_avx512_variant(bool vnni)
{
    return vnni ? &AVX512_VNNI : &AVX512_NOVNNI;
}

/* The probe is cheap and idempotent, so the choice needs no once-guard: the
 * tables are constant. */
const llm_kernels *llm_kernels_avx512(void)
{
    return llm_kernels_avx512_variant(llm_avx512_cpu_runs(true));
}
