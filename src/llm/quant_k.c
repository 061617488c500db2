/* Reference quantizers and dequantizers for the K types (llm-facts §2): Q4_K,
 * Q5_K, Q6_K and Q8_K, 256 values per super-block.
 *
 * Quantizing a K block is two levels of fitting. First each sub-block gets
 * the real scale (and for Q4_K/Q5_K the min) that minimises its squared
 * error, found by trying a fan of candidate grids and refitting each by least
 * squares. Then the per-sub-block scales are themselves quantized against one
 * fp16 super-scale (6 bits unsigned for Q4_K/Q5_K, int8 for Q6_K); each
 * quantized scale is nudged by one step either way if that lowers the
 * sub-block's error, and finally the values are rounded against the scales as
 * stored. The bounds the tests enforce are in docs/quant.md. */
#include "llm/quant.h"

#include <float.h>

/* Half-width of the fan of candidate grids around the plain min/max fit, in
 * tenths of a quantization step. */
#define FAN 20

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

static float safe_div(float x, float d)
{
    return d != 0.0f ? x / d : 0.0f;
}

void llm_kq_pack_scale_min(const uint8_t sc[8], const uint8_t m[8], uint8_t s[12])
{
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        s[j + 4] = (uint8_t)((m[j] & 63) | ((m[j + 4] >> 4) << 6));
        s[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
    }
}

/* ---- Asymmetric sub-blocks (Q4_K, Q5_K): x ~ s*q - m, q in 0..qmax --------- */

/* Squared error of the grid (s, m) when each value takes its nearest point. */
static float err_affine(const float *x, int n, int qmax, float s, float m)
{
    float e = 0.0f;
    for (int i = 0; i < n; i++) {
        int q = llm_round_clamp(safe_div(x[i] + m, s), 0, qmax);
        float r = s * (float)q - m - x[i];
        e += r * r;
    }
    return e;
}

/* Returns s >= 0 and sets *m_out >= 0 (the format subtracts a non-negative
 * min, so the grid always reaches down to min(x, 0)). */
static float fit_affine(const float *x, int n, int qmax, float *m_out)
{
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) {
        lo = minf(lo, x[i]);
        hi = maxf(hi, x[i]);
    }
    lo = minf(lo, 0.0f);
    if (hi <= lo) { /* constant block at lo <= 0: the min alone is exact */
        *m_out = -lo;
        return 0.0f;
    }
    float best_s = (hi - lo) / (float)qmax, best_m = -lo;
    float best_e = err_affine(x, n, qmax, best_s, best_m);
    for (int k = -FAN; k <= FAN; k++) {
        float iscale = ((float)qmax + 0.1f * (float)k) / (hi - lo);
        double sq = 0, sq2 = 0, sx = 0, sqx = 0;
        for (int i = 0; i < n; i++) {
            int q = llm_round_clamp((x[i] - lo) * iscale, 0, qmax);
            sq += q;
            sq2 += (double)q * q;
            sx += x[i];
            sqx += (double)q * x[i];
        }
        /* Least squares for x ~ s*q + b over this assignment. */
        double det = n * sq2 - sq * sq;
        if (det <= 0)
            continue;
        double s = (n * sqx - sq * sx) / det, b = (sq2 * sx - sq * sqx) / det;
        if (b > 0) { /* min must not be negative: refit with b = 0 */
            b = 0;
            s = sqx / sq2;
        }
        if (s <= 0)
            continue;
        float e = err_affine(x, n, qmax, (float)s, (float)-b);
        if (e < best_e) {
            best_e = e;
            best_s = (float)s;
            best_m = (float)-b;
        }
    }
    *m_out = best_m;
    return best_s;
}

/* Quantizes one 256-value block to q[256] in 0..qmax with packed 6-bit scales
 * and mins (the shared first half of Q4_K and Q5_K). */
static void quantize_affine_block(const float *x, int qmax, uint16_t *d_out, uint16_t *dmin_out,
                                  uint8_t scales[12], uint8_t q[LLM_QK_K])
{
    float s[8], m[8], smax = 0.0f, mmax = 0.0f;
    for (int j = 0; j < 8; j++) {
        s[j] = fit_affine(x + 32 * j, 32, qmax, &m[j]);
        smax = maxf(smax, s[j]);
        mmax = maxf(mmax, m[j]);
    }
    *d_out = llm_f32_to_fp16(smax / 63.0f);
    *dmin_out = llm_f32_to_fp16(mmax / 63.0f);
    float d = llm_fp16_to_f32(*d_out), dmin = llm_fp16_to_f32(*dmin_out);

    uint8_t sc[8], mq[8];
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        int sc0 = llm_round_clamp(safe_div(s[j], d), 0, 63);
        int m0 = llm_round_clamp(safe_div(m[j], dmin), 0, 63);
        float best_e = FLT_MAX;
        for (int a = sc0 - 1; a <= sc0 + 1; a++) {
            for (int c = m0 - 1; c <= m0 + 1; c++) {
                if (a < 0 || a > 63 || c < 0 || c > 63)
                    continue;
                float e = err_affine(xs, 32, qmax, d * (float)a, dmin * (float)c);
                if (e < best_e) {
                    best_e = e;
                    sc[j] = (uint8_t)a;
                    mq[j] = (uint8_t)c;
                }
            }
        }
        float ds = d * sc[j], dm = dmin * mq[j];
        for (int i = 0; i < 32; i++)
            q[32 * j + i] = (uint8_t)llm_round_clamp(safe_div(xs[i] + dm, ds), 0, qmax);
    }
    llm_kq_pack_scale_min(sc, mq, scales);
}

void llm_quantize_row_q4_K(const float *x, block_q4_K *y, int64_t n)
{
    for (int64_t b = 0; b < n / LLM_QK_K; b++, x += LLM_QK_K) {
        uint8_t q[LLM_QK_K];
        quantize_affine_block(x, 15, &y[b].d, &y[b].dmin, y[b].scales, q);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                y[b].qs[32 * c + l] = (uint8_t)(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
}

void llm_quantize_row_q5_K(const float *x, block_q5_K *y, int64_t n)
{
    for (int64_t b = 0; b < n / LLM_QK_K; b++, x += LLM_QK_K) {
        uint8_t q[LLM_QK_K];
        quantize_affine_block(x, 31, &y[b].d, &y[b].dmin, y[b].scales, q);
        memset(y[b].qh, 0, sizeof y[b].qh);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
                y[b].qs[32 * c + l] = (uint8_t)((lo & 15) | ((hi & 15) << 4));
                y[b].qh[l] |= (uint8_t)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
            }
        }
    }
}

void llm_dequantize_row_q4_K(const block_q4_K *x, float *y, int64_t n)
{
    for (int64_t b = 0; b < n / LLM_QK_K; b++) {
        float d = llm_fp16_to_f32(x[b].d), dmin = llm_fp16_to_f32(x[b].dmin);
        for (int c = 0; c < 4; c++, y += 64) {
            uint8_t sc0, m0, sc1, m1;
            llm_kq_scale_min(2 * c, x[b].scales, &sc0, &m0);
            llm_kq_scale_min(2 * c + 1, x[b].scales, &sc1, &m1);
            const uint8_t *qs = x[b].qs + 32 * c;
            for (int l = 0; l < 32; l++) {
                y[l] = d * sc0 * (qs[l] & 15) - dmin * m0;
                y[l + 32] = d * sc1 * (qs[l] >> 4) - dmin * m1;
            }
        }
    }
}

void llm_dequantize_row_q5_K(const block_q5_K *x, float *y, int64_t n)
{
    for (int64_t b = 0; b < n / LLM_QK_K; b++) {
        float d = llm_fp16_to_f32(x[b].d), dmin = llm_fp16_to_f32(x[b].dmin);
        for (int c = 0; c < 4; c++, y += 64) {
            uint8_t sc0, m0, sc1, m1;
            llm_kq_scale_min(2 * c, x[b].scales, &sc0, &m0);
            llm_kq_scale_min(2 * c + 1, x[b].scales, &sc1, &m1);
            const uint8_t *qs = x[b].qs + 32 * c;
            for (int l = 0; l < 32; l++) {
                int lo = (qs[l] & 15) | (((x[b].qh[l] >> (2 * c)) & 1) << 4);
                int hi = (qs[l] >> 4) | (((x[b].qh[l] >> (2 * c + 1)) & 1) << 4);
                y[l] = d * sc0 * lo - dmin * m0;
                y[l + 32] = d * sc1 * hi - dmin * m1;
            }
        }
    }
}

/* ---- Symmetric sub-blocks (Q6_K): x ~ s*(q - 32), q - 32 in -32..31 -------- */

static float err_sym(const float *x, int n, float s)
{
    float e = 0.0f;
    for (int i = 0; i < n; i++) {
        int q = llm_round_clamp(safe_div(x[i], s), -32, 31);
        float r = s * (float)q - x[i];
        e += r * r;
    }
    return e;
}

/* Returns s (of either sign) for one 16-value sub-block: the extreme value is
 * tried at targets from -32 to -24 and from 31 to 24 codes, each
 * assignment refitted by least squares. */
static float fit_sym(const float *x, int n)
{
    float ext = 0.0f;
    for (int i = 0; i < n; i++)
        if (absf(x[i]) > absf(ext))
            ext = x[i];
    if (ext == 0.0f)
        return 0.0f;
    float best_s = ext / -32.0f, best_e = err_sym(x, n, best_s);
    for (int k = 0; k <= 31; k++) {
        float target = k <= 16 ? -32.0f + 0.5f * (float)k : 31.0f - 0.5f * (float)(k - 17);
        float iscale = target / ext;
        double sq2 = 0, sqx = 0;
        for (int i = 0; i < n; i++) {
            int q = llm_round_clamp(x[i] * iscale, -32, 31);
            sq2 += (double)q * q;
            sqx += (double)q * x[i];
        }
        if (sq2 == 0)
            continue;
        float s = (float)(sqx / sq2);
        float e = err_sym(x, n, s);
        if (e < best_e) {
            best_e = e;
            best_s = s;
        }
    }
    return best_s;
}

void llm_quantize_row_q6_K(const float *x, block_q6_K *y, int64_t n)
{
    for (int64_t b = 0; b < n / LLM_QK_K; b++, x += LLM_QK_K) {
        float s[16], smax = 0.0f;
        for (int j = 0; j < 16; j++) {
            s[j] = fit_sym(x + 16 * j, 16);
            smax = maxf(smax, absf(s[j]));
        }
        y[b].d = llm_f32_to_fp16(smax / 127.0f);
        float d = llm_fp16_to_f32(y[b].d);

        uint8_t q[LLM_QK_K]; /* 0..63, value + 32 */
        for (int j = 0; j < 16; j++) {
            const float *xs = x + 16 * j;
            int sc0 = llm_round_clamp(safe_div(s[j], d), -128, 127), best = sc0;
            float best_e = FLT_MAX;
            for (int a = sc0 - 1; a <= sc0 + 1; a++) {
                if (a < -128 || a > 127)
                    continue;
                float e = err_sym(xs, 16, d * (float)a);
                if (e < best_e) {
                    best_e = e;
                    best = a;
                }
            }
            y[b].scales[j] = (int8_t)best;
            float ds = d * (float)best;
            for (int i = 0; i < 16; i++)
                q[16 * j + i] = (uint8_t)(llm_round_clamp(safe_div(xs[i], ds), -32, 31) + 32);
        }
        /* Bit placement of llm-facts §2, per half of 128 values. */
        for (int h = 0; h < 2; h++) {
            const uint8_t *qq = q + 128 * h;
            uint8_t *ql = y[b].ql + 64 * h, *qh = y[b].qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((qq[l] & 15) | ((qq[l + 64] & 15) << 4));
                ql[l + 32] = (uint8_t)((qq[l + 32] & 15) | ((qq[l + 96] & 15) << 4));
                qh[l] = (uint8_t)((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) |
                                  ((qq[l + 64] >> 4) << 4) | ((qq[l + 96] >> 4) << 6));
            }
        }
    }
}

void llm_dequantize_row_q6_K(const block_q6_K *x, float *y, int64_t n)
{
    for (int64_t b = 0; b < n / LLM_QK_K; b++) {
        float d = llm_fp16_to_f32(x[b].d);
        for (int h = 0; h < 2; h++, y += 128) {
            const uint8_t *ql = x[b].ql + 64 * h, *qh = x[b].qh + 32 * h;
            const int8_t *sc = x[b].scales + 8 * h;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

/* ---- Q8_K: y = qs * d, d = amax / 127 (also the K types' activations) ----- */

void llm_quantize_row_q8_K(const float *x, block_q8_K *y, int64_t n)
{
    for (int64_t b = 0; b < n / LLM_QK_K; b++, x += LLM_QK_K) {
        float amax = 0.0f;
        for (int i = 0; i < LLM_QK_K; i++)
            amax = maxf(amax, absf(x[i]));
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        for (int g = 0; g < LLM_QK_K / 16; g++) {
            int sum = 0;
            for (int i = 16 * g; i < 16 * g + 16; i++) {
                int q = llm_round_clamp(x[i] * id, -127, 127);
                y[b].qs[i] = (int8_t)q;
                sum += q;
            }
            y[b].bsums[g] = (int16_t)sum;
        }
        y[b].d = amax / 127.0f;
    }
}

void llm_dequantize_row_q8_K(const block_q8_K *x, float *y, int64_t n)
{
    for (int64_t b = 0; b < n / LLM_QK_K; b++, y += LLM_QK_K)
        for (int i = 0; i < LLM_QK_K; i++)
            y[i] = x[b].qs[i] * x[b].d;
}
