/* The avx2 kernel table (kernels.h): AVX2 + FMA + F16C, for x86-64 CPUs
 * from Haswell / Zen on. Every function carries a target attribute, so the
 * rest of the binary stays baseline x86-64; select.c probes the CPU before
 * handing this table out.
 *
 * Contract, as for every back end: the same block formats as the scalar
 * reference (quant.h), the same per-block arithmetic (integer dot products
 * inside a block, the block's scales applied once, blocks summed in float),
 * results within the reference's float tolerance (the K types even match it
 * bit for bit, avx2_kquants.c). Within this back end gemm equals vec_dot bit
 * for bit: both run the same microtiles (avx2_internal.h). This file holds
 * the activation quantizers, the float weight types, the 32-value block
 * types and the table; the K types live in avx2_kquants.c.
 *
 * quantize_act matches llm_quantize_act exactly, ties included: the scale is
 * the same float division, x * (127 / amax) is one rounded multiply (no FMA
 * involved), and cvtps rounds to nearest even as the reference's magic-number
 * addition does under the default MXCSR. Clamping happens before rounding,
 * with NaN going to -127 as llm_round_clamp sends it to its lower bound. */
#include "llm/kernels/avx2_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- Activation quantizers -------------------------------------------------- */

/* Largest |x| over n (a multiple of 8) values, ignoring NaN as the reference
 * does: max_ps returns its second operand when the first is NaN. */
AVX2_INLINE float absmax(const float *x, int n)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8)
        m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), m);
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* Eight codes round(x * id) in int32 lanes, clamped to [-127, 127] first
 * (llm_round_clamp: NaN goes to the lower bound, which max_ps gives us since
 * it returns the second operand for a NaN first one). */
AVX2_INLINE __m256i codes8(const float *x, __m256 id)
{
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x), id);
    v = _mm256_max_ps(v, _mm256_set1_ps(-127.0f));
    v = _mm256_min_ps(v, _mm256_set1_ps(127.0f));
    return _mm256_cvtps_epi32(v); /* MXCSR default: nearest, ties to even */
}

/* 32 int8 codes in order from four vectors of eight int32 codes. The packs
 * work per 128-bit lane, leaving 4-byte groups in the order a0 b0 c0 d0 a1 b1
 * c1 d1 (x0 = lanes 0-3 of x, x1 = lanes 4-7); the permute restores a b c d. */
AVX2_INLINE __m256i pack_codes(__m256i a, __m256i b, __m256i c, __m256i d)
{
    __m256i v = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

AVX2_INLINE int hsum_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

/* block_act_q8_1 {f32 d; f32 s; i8 qs[32]}: d = amax / 127, s = d sum(qs). */
static AVX2_TARGET void quantize_q8_1(const float *x, uint8_t *out, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, x += LLM_QK, out += sizeof(block_act_q8_1)) {
        float amax = absmax(x, LLM_QK);
        __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        __m256i c0 = codes8(x, id), c1 = codes8(x + 8, id);
        __m256i c2 = codes8(x + 16, id), c3 = codes8(x + 24, id);
        _mm256_storeu_si256((__m256i *)(void *)(out + 8), pack_codes(c0, c1, c2, c3));
        int sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)));
        float d = amax / 127.0f, s = d * (float)sum;
        memcpy(out, &d, sizeof d);
        memcpy(out + 4, &s, sizeof s);
    }
}

/* block_q8_K {f32 d; i8 qs[256]; i16 bsums[16]}, 64 values (four bsums) at
 * a time. Each bsum is the sum of two code vectors; three rounds of hadd
 * leave the four groups' low-lane and high-lane halves side by side. */
static AVX2_TARGET void quantize_q8_K(const float *x, uint8_t *out, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++, x += LLM_QK_K, out += sizeof(block_q8_K)) {
        float amax = absmax(x, LLM_QK_K);
        __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        for (int q = 0; q < 4; q++) {
            const float *xq = x + 64 * q;
            __m256i c[8];
            for (int k = 0; k < 8; k++)
                c[k] = codes8(xq + 8 * k, id);
            uint8_t *qs = out + 4 + 64 * q;
            _mm256_storeu_si256((__m256i *)(void *)qs, pack_codes(c[0], c[1], c[2], c[3]));
            _mm256_storeu_si256((__m256i *)(void *)(qs + 32), pack_codes(c[4], c[5], c[6], c[7]));
            __m256i g0 = _mm256_add_epi32(c[0], c[1]), g1 = _mm256_add_epi32(c[2], c[3]);
            __m256i g2 = _mm256_add_epi32(c[4], c[5]), g3 = _mm256_add_epi32(c[6], c[7]);
            __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(g0, g1), _mm256_hadd_epi32(g2, g3));
            __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            /* |bsum| <= 16 * 127: the saturating pack is exact */
            _mm_storel_epi64((__m128i *)(void *)(out + 260 + 8 * q), _mm_packs_epi32(s, s));
        }
        float d = amax / 127.0f;
        memcpy(out, &d, sizeof d);
    }
}

static AVX2_TARGET void avx2_quantize_act(llm_act a, const float *x, void *out, int64_t n)
{
    switch (a) {
    case LLM_ACT_Q8_1: quantize_q8_1(x, out, n / LLM_QK); return;
    case LLM_ACT_Q8_K: quantize_q8_K(x, out, n / LLM_QK_K); return;
    case LLM_ACT_F32: break;
    }
    memcpy(out, x, (size_t)n * sizeof(float));
}

/* ---- Float weights with f32 activations ------------------------------------- */

/* Eight weights as floats: F16 through F16C (exact), BF16 by moving the 16
 * bits to the top of a float. */
AVX2_INLINE __m256 load_float8(uint32_t T, const uint8_t *p)
{
    if (T == GGML_TYPE_F32)
        return _mm256_loadu_ps((const float *)(const void *)p);
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)p);
    if (T == GGML_TYPE_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* Sixteen values per step, two accumulators per pair (even and odd eight):
 * two independent FMA chains hide half the latency in the 1 x 1 tile. */
AVX2_INLINE void float_step(uint32_t T, int R, int C, const uint8_t *w, size_t ws, const uint8_t *x,
                            size_t xs, __m256 acc0[AVX2_MR][AVX2_MC], __m256 acc1[AVX2_MR][AVX2_MC])
{
    const size_t es = T == GGML_TYPE_F32 ? 4 : 2;
    __m256 w0[AVX2_MR], w1[AVX2_MR];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        w0[r] = load_float8(T, w + (size_t)r * ws);
        w1[r] = load_float8(T, w + (size_t)r * ws + 8 * es);
    }
#pragma GCC unroll 4
    for (int c = 0; c < C; c++) {
        const float *xc = (const float *)(const void *)(x + (size_t)c * xs);
        __m256 x0 = _mm256_loadu_ps(xc), x1 = _mm256_loadu_ps(xc + 8);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            acc0[r][c] = _mm256_fmadd_ps(w0[r], x0, acc0[r][c]);
            acc1[r][c] = _mm256_fmadd_ps(w1[r], x1, acc1[r][c]);
        }
    }
}

/* Any n: the last n % 16 values go through the same step from zero-padded
 * copies (0 * 0 adds nothing), identically for every tile shape. */
AVX2_INLINE void tile_float(uint32_t T, int R, int C, int64_t n, const uint8_t *w, size_t ws,
                            const uint8_t *a, size_t as, float *out, size_t os)
{
    const size_t es = T == GGML_TYPE_F32 ? 4 : 2;
    __m256 acc0[AVX2_MR][AVX2_MC], acc1[AVX2_MR][AVX2_MC];
    for (int r = 0; r < AVX2_MR; r++)
        for (int c = 0; c < AVX2_MC; c++)
            acc0[r][c] = acc1[r][c] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        float_step(T, R, C, w + (size_t)i * es, ws, a + (size_t)i * 4, as, acc0, acc1);
    if (i < n) {
        uint8_t wt[AVX2_MR][64] = {{0}};
        float xt[AVX2_MC][16] = {{0}};
        size_t left = (size_t)(n - i);
        for (int r = 0; r < R; r++)
            memcpy(wt[r], w + (size_t)r * ws + (size_t)i * es, left * es);
        for (int c = 0; c < C; c++)
            memcpy(xt[c], a + (size_t)c * as + (size_t)i * 4, left * 4);
        float_step(T, R, C, wt[0], sizeof wt[0], (const uint8_t *)xt[0], sizeof xt[0], acc0, acc1);
    }
#pragma GCC unroll 4
    for (int c = 0; c < C; c++)
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            out[(size_t)c * os + (size_t)r] = avx2_hsum(_mm256_add_ps(acc0[r][c], acc1[r][c]));
}

#define FLOAT_TILE(T, name)                                                                 \
    AVX2_INLINE void name(int R, int C, int64_t n, const uint8_t *w, size_t ws,              \
                          const uint8_t *a, size_t as, float *out, size_t os)               \
    {                                                                                       \
        tile_float(T, R, C, n, w, ws, a, as, out, os);                                      \
    }
FLOAT_TILE(GGML_TYPE_F32, tile_f32)
FLOAT_TILE(GGML_TYPE_F16, tile_f16)
FLOAT_TILE(GGML_TYPE_BF16, tile_bf16)

/* ---- 32-value blocks with act Q8_1 --------------------------------------------- */

AVX2_INLINE size_t block_bytes32(uint32_t T)
{
    switch (T) {
    case GGML_TYPE_Q4_0: return sizeof(block_q4_0);
    case GGML_TYPE_Q4_1: return sizeof(block_q4_1);
    case GGML_TYPE_Q5_0: return sizeof(block_q5_0);
    case GGML_TYPE_Q5_1: return sizeof(block_q5_1);
    default: return sizeof(block_q8_0);
    }
}

/* The types with an offset m: y = q d + m. */
AVX2_INLINE int has_min(uint32_t T)
{
    return T == GGML_TYPE_Q4_1 || T == GGML_TYPE_Q5_1;
}

/* The 32 nibbles of qs[16] in value order: qs[j] low nibble is value j and
 * high nibble value j + 16, so the low 128 bits take the low nibbles and the
 * high 128 bits the high ones. */
AVX2_INLINE __m256i nibbles32(const uint8_t *qs)
{
    __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)qs));
    q = _mm256_srlv_epi64(q, _mm256_setr_epi64x(0, 0, 4, 4)); /* high lane: high nibbles */
    return _mm256_and_si256(q, _mm256_set1_epi8(15));
}

/* Q5's fifth bits as a byte mask (0xff where set): value j takes bit j of qh
 * read as a little-endian u32. Byte j of the register gets qh byte j / 8 (the
 * shuffle works within 128-bit lanes, and every lane holds the whole
 * broadcast word), then is tested against its bit 1 << (j % 8). */
AVX2_INLINE __m256i fifth_mask32(const uint8_t *qh)
{
    uint32_t bits;
    memcpy(&bits, qh, sizeof bits);
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                            2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

/* A block's 32 codes as bytes: signed q - z for the symmetric types (Q4_0:
 * nibble - 8 in one subtraction; Q5_0: q - 16 is the nibble when the fifth
 * bit is set and nibble - 16, i.e. the nibble with 0xf0 or'ed in, when it is
 * not; Q8_0 as stored), unsigned q for Q4_1 (0..15) and Q5_1 (0..31). */
AVX2_INLINE __m256i codes32(uint32_t T, const uint8_t *blk)
{
    const __m256i high4 = _mm256_set1_epi8((char)0xf0), bit4 = _mm256_set1_epi8(0x10);
    switch (T) {
    case GGML_TYPE_Q4_0: return _mm256_sub_epi8(nibbles32(blk + 2), _mm256_set1_epi8(8));
    case GGML_TYPE_Q4_1: return nibbles32(blk + 4);
    case GGML_TYPE_Q5_0:
        return _mm256_or_si256(nibbles32(blk + 6),
                               _mm256_andnot_si256(fifth_mask32(blk + 2), high4));
    case GGML_TYPE_Q5_1:
        return _mm256_or_si256(nibbles32(blk + 8), _mm256_and_si256(fifth_mask32(blk + 4), bit4));
    default: return avx2_load(blk + 2);
    }
}

/* The R rows' offsets m as the low lanes of a vector (zeros above R). */
AVX2_INLINE __m128 lanes4(int R, const float v[4])
{
    return _mm_setr_ps(v[0], R > 1 ? v[1] : 0.0f, R > 2 ? v[2] : 0.0f, R > 3 ? v[3] : 0.0f);
}

/* One block of R rows against C columns. Integer part per pair:
 * - Q4_0 / Q5_0 / Q8_0 (signed codes): signed x signed, made unsigned x
 *   signed for maddubs by moving w's sign onto a: |w| * sign(a, w), with
 *   |w| <= 128 and |a| <= 127 so pair sums stay below 2^15;
 * - Q4_1 / Q5_1: sum(q a) directly, the offset m s_a going to a per-column
 *   vector of R lanes (one FMA per column, lane r = row r).
 * Float part: acc += (d_w d_a) * float(int32 lanes). */
AVX2_INLINE void step32(uint32_t T, int R, int C, const uint8_t *w, size_t ws, const uint8_t *a,
                        size_t as, __m256 acc[AVX2_MR][AVX2_MC], __m128 accm[AVX2_MC])
{
    __m256i q[AVX2_MR], qa[AVX2_MR];
    float dw[AVX2_MR], mw[4] = {0};
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        const uint8_t *blk = w + (size_t)r * ws;
        q[r] = codes32(T, blk);
        qa[r] = has_min(T) ? q[r] : _mm256_abs_epi8(q[r]); /* -128 gives 0x80: 128 unsigned */
        dw[r] = avx2_half(blk);
        if (has_min(T))
            mw[r] = avx2_half(blk + 2);
    }
    __m128 mv = lanes4(R, mw);
#pragma GCC unroll 4
    for (int c = 0; c < C; c++) {
        const uint8_t *ac = a + (size_t)c * as;
        float da = avx2_f32(ac);
        __m256i x = avx2_load(ac + 8);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256i p = avx2_dot_u8i8(qa[r], has_min(T) ? x : _mm256_sign_epi8(x, q[r]));
            __m256 scale = _mm256_set1_ps(dw[r] * da);
            acc[r][c] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc[r][c]);
        }
        if (has_min(T))
            accm[c] = _mm_fmadd_ps(mv, _mm_set1_ps(avx2_f32(ac + 4)), accm[c]);
    }
}

/* Blocks alternate between two accumulator sets (even, odd) so the 1 x 1
 * tile has two FMA chains; the sets are added once at the end. */
AVX2_INLINE void tile32(uint32_t T, int R, int C, int64_t n, const uint8_t *w, size_t ws,
                        const uint8_t *a, size_t as, float *out, size_t os)
{
    const size_t bw = block_bytes32(T), ba = sizeof(block_act_q8_1);
    const int64_t nb = n / LLM_QK;
    __m256 acc0[AVX2_MR][AVX2_MC], acc1[AVX2_MR][AVX2_MC];
    __m128 m0[AVX2_MC], m1[AVX2_MC];
    for (int c = 0; c < AVX2_MC; c++) {
        m0[c] = m1[c] = _mm_setzero_ps();
        for (int r = 0; r < AVX2_MR; r++)
            acc0[r][c] = acc1[r][c] = _mm256_setzero_ps();
    }
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        step32(T, R, C, w + (size_t)b * bw, ws, a + (size_t)b * ba, as, acc0, m0);
        step32(T, R, C, w + (size_t)(b + 1) * bw, ws, a + (size_t)(b + 1) * ba, as, acc1, m1);
    }
    if (b < nb)
        step32(T, R, C, w + (size_t)b * bw, ws, a + (size_t)b * ba, as, acc0, m0);
#pragma GCC unroll 4
    for (int c = 0; c < C; c++) {
        float mins[4];
        _mm_storeu_ps(mins, _mm_add_ps(m0[c], m1[c]));
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            float v = avx2_hsum(_mm256_add_ps(acc0[r][c], acc1[r][c]));
            if (has_min(T))
                v += mins[r];
            out[(size_t)c * os + (size_t)r] = v;
        }
    }
}

#define TILE32(T, name)                                                                     \
    AVX2_INLINE void name(int R, int C, int64_t n, const uint8_t *w, size_t ws,              \
                          const uint8_t *a, size_t as, float *out, size_t os)               \
    {                                                                                       \
        tile32(T, R, C, n, w, ws, a, as, out, os);                                          \
    }
TILE32(GGML_TYPE_Q4_0, tile_q4_0)
TILE32(GGML_TYPE_Q4_1, tile_q4_1)
TILE32(GGML_TYPE_Q5_0, tile_q5_0)
TILE32(GGML_TYPE_Q5_1, tile_q5_1)
TILE32(GGML_TYPE_Q8_0, tile_q8_0)

/* ---- Instantiations --------------------------------------------------------------- */

/* Tile shapes (rows x columns), measured with bench/bench_kernels.c: the
 * pairs' accumulators (two sets for the 32-value types) plus the unpacked
 * weights must fit the sixteen ymm registers. One weight row against four
 * columns wins for the block types: the unpacked block serves four pairs
 * and nothing spills. */
AVX2_TILES(tile_f32, 2, 3)
AVX2_TILES(tile_f16, 2, 3)
AVX2_TILES(tile_bf16, 2, 3)
AVX2_TILES(tile_q4_0, 1, 4)
AVX2_TILES(tile_q4_1, 1, 4)
AVX2_TILES(tile_q5_0, 1, 4)
AVX2_TILES(tile_q5_1, 1, 4)
AVX2_TILES(tile_q8_0, 1, 4)

static const avx2_tiles TILES_F32 = AVX2_TILE_TABLE(tile_f32, 2, 3);
static const avx2_tiles TILES_F16 = AVX2_TILE_TABLE(tile_f16, 2, 3);
static const avx2_tiles TILES_BF16 = AVX2_TILE_TABLE(tile_bf16, 2, 3);
static const avx2_tiles TILES_Q4_0 = AVX2_TILE_TABLE(tile_q4_0, 1, 4);
static const avx2_tiles TILES_Q4_1 = AVX2_TILE_TABLE(tile_q4_1, 1, 4);
static const avx2_tiles TILES_Q5_0 = AVX2_TILE_TABLE(tile_q5_0, 1, 4);
static const avx2_tiles TILES_Q5_1 = AVX2_TILE_TABLE(tile_q5_1, 1, 4);
static const avx2_tiles TILES_Q8_0 = AVX2_TILE_TABLE(tile_q8_0, 1, 4);

static const avx2_tiles *tiles_for(uint32_t type)
{
    switch (type) {
    case GGML_TYPE_F32: return &TILES_F32;
    case GGML_TYPE_F16: return &TILES_F16;
    case GGML_TYPE_BF16: return &TILES_BF16;
    case GGML_TYPE_Q4_0: return &TILES_Q4_0;
    case GGML_TYPE_Q4_1: return &TILES_Q4_1;
    case GGML_TYPE_Q5_0: return &TILES_Q5_0;
    case GGML_TYPE_Q5_1: return &TILES_Q5_1;
    case GGML_TYPE_Q8_0: return &TILES_Q8_0;
    default: break;
    }
    const avx2_tiles *k = llm_avx2_kquant_tiles(type);
    if (k)
        return k;
    fprintf(stderr, "avx2 vec_dot: weight type %u (%s) has no kernel\n", type,
            ggml_type_name(type));
    abort();
}

/* ---- The table ------------------------------------------------------------------- */

static float avx2_vec_dot(uint32_t weight_type, int64_t n, const void *w, const void *act)
{
    float out;
    tiles_for(weight_type)->fn[0][0](n, w, 0, act, 0, &out, 0);
    return out;
}

/* Blocked for the caches: a band of rows (about 16 KiB of weights, a whole
 * number of tiles) stays in L1 while every activation column (L2-resident
 * for a prefill batch) streams past it, tile by tile; the weights themselves
 * stream from memory once. Edge tiles are the smaller instantiations of the
 * same body, so every output equals vec_dot's. */
static void avx2_gemm(uint32_t weight_type, int64_t n, int64_t rows, const void *w,
                      size_t w_row_stride, int64_t cols, const void *act, size_t act_stride,
                      float *out, size_t out_stride)
{
    const avx2_tiles *t = tiles_for(weight_type);
    const uint8_t *wb = w, *ab = act;
    int64_t band = (int64_t)((16u << 10) / (w_row_stride ? w_row_stride : 1)) / t->mr * t->mr;
    if (band < t->mr)
        band = t->mr;
    for (int64_t b0 = 0; b0 < rows; b0 += band) {
        int64_t b1 = rows - b0 < band ? rows : b0 + band;
        for (int64_t c0 = 0; c0 < cols; c0 += t->mc) {
            int C = cols - c0 < t->mc ? (int)(cols - c0) : t->mc;
            for (int64_t r0 = b0; r0 < b1; r0 += t->mr) {
                int R = b1 - r0 < t->mr ? (int)(b1 - r0) : t->mr;
                t->fn[R - 1][C - 1](n, wb + (size_t)r0 * w_row_stride, w_row_stride,
                                    ab + (size_t)c0 * act_stride, act_stride,
                                    out + (size_t)c0 * out_stride + (size_t)r0, out_stride);
            }
        }
    }
}

static const llm_kernels AVX2 = {
    .name = "avx2",
    .quantize_act = avx2_quantize_act,
    .vec_dot = avx2_vec_dot,
    .gemm = avx2_gemm,
};

const llm_kernels *llm_kernels_avx2(void)
{
    return &AVX2;
}
