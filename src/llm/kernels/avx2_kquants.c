/* The avx2 back end's K types (Q4_K, Q5_K, Q6_K) against Q8_K activations:
 * microtiles in the shape avx2_internal.h describes, one running float sum
 * per (row, column) pair, so vec_dot (the 1 x 1 tile) and gemm agree bit for
 * bit.
 *
 * Per 256-value super-block and pair the integer work mirrors the scalar
 * reference (docs/quant.md, "Per block"): maddubs multiplies the unsigned
 * codes by the signed activations in 16-bit pairs, madd weighs each pair by
 * its sub-block scale into int32 lanes, and the min / zero-code terms come
 * from Q8_K's bsums. The lanes are then reduced to the block's exact integer
 * totals and the scales applied once, in float, in the reference's order:
 * sum += d d_a sumi - dmin d_a summ. The K types' dot products therefore
 * equal the scalar kernel's bit for bit (as long as the reference is built
 * without FMA contraction, as baseline x86-64 is), so a Q4_K_M model gives
 * the same tokens under either. The reduction costs about a tenth of the
 * integer work (bench_kernels: Q4_K vec_dot ~17 GB/s hot against ~21 GB/s
 * when the eight lanes were accumulated in float instead). */
#include "llm/kernels/avx2_internal.h"

/* Byte offsets of the block fields (quant.h). */
enum {
    Q8K_D = 0, Q8K_QS = 4, Q8K_BSUMS = 260,
    Q4K_SCALES = 4, Q4K_QS = 16,
    Q5K_SCALES = 4, Q5K_QH = 16, Q5K_QS = 48,
    Q6K_QL = 0, Q6K_QH = 128, Q6K_SCALES = 192, Q6K_D = 208,
};

/* Shuffle mask broadcasting 16-bit element k of each 128-bit lane. */
AVX2_INLINE __m256i pick16(int k)
{
    return _mm256_set1_epi16((short)(((2 * k + 1) << 8) | (2 * k)));
}

/* acc + (d d_a) isum - (dmin d_a) imin, isum and imin the totals of eight
 * int32 lanes (exact: the reference bounds them below 2^31). Scalar SSE
 * intrinsics, which the compiler does not fuse, keep the reference's
 * rounding: one product, one product, a difference, a sum. */
AVX2_INLINE __m128 kq_accumulate(__m128 acc, float d, float dmin, float da, __m256i isum,
                                 __m256i imin)
{
    /* halves added, then the 64-bit pairs, then neighbours: plain adds and
     * shuffles (hadd is three micro-ops on most cores) */
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(isum), _mm256_extracti128_si256(isum, 1));
    __m128i m = _mm_add_epi32(_mm256_castsi256_si128(imin), _mm256_extracti128_si256(imin, 1));
    __m128i q = _mm_add_epi32(_mm_unpacklo_epi64(s, m), _mm_unpackhi_epi64(s, m));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, _MM_SHUFFLE(2, 3, 0, 1))); /* isum x2, imin x2 */
    __m128 f = _mm_cvtepi32_ps(q);
    __m128 vda = _mm_set_ss(da);
    __m128 t = _mm_mul_ss(_mm_mul_ss(_mm_set_ss(d), vda), f);
    __m128 u = _mm_mul_ss(_mm_mul_ss(_mm_set_ss(dmin), vda), _mm_movehl_ps(f, f));
    return _mm_add_ss(acc, _mm_sub_ss(t, u));
}

/* acc + (d d_a) isum for Q6_K, which has no min term. */
AVX2_INLINE __m128 kq_accumulate1(__m128 acc, float d, float da, __m256i isum)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(isum), _mm256_extracti128_si256(isum, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    __m128 t = _mm_mul_ss(_mm_mul_ss(_mm_set_ss(d), _mm_set_ss(da)), _mm_cvtepi32_ps(s));
    return _mm_add_ss(acc, t);
}

/* ---- Q4_K and Q5_K ------------------------------------------------------------- */

/* The eight 6-bit scales and mins of a Q4_K/Q5_K block (llm-facts §2), read
 * as three little-endian words: word 0 holds sc0..3 in its bytes' low six
 * bits and the top two bits of sc4..7; word 1 the same for the mins; word 2
 * the low nibbles of sc4..7 (low) and m4..7 (high).
 * sc: the eight scales as int16 in both 128-bit lanes (for pick16);
 * m: the sixteen int16 m0 m0 m1 m1 ... m7 m7, so madd with the sixteen bsums
 * gives m_j (bsum_2j + bsum_2j+1) in lane j. */
AVX2_INLINE void kq_scales(const uint8_t *s, __m256i *sc, __m256i *m)
{
    uint32_t w0, w1, w2;
    memcpy(&w0, s, 4);
    memcpy(&w1, s + 4, 4);
    memcpy(&w2, s + 8, 4);
    uint32_t sc_lo = w0 & 0x3f3f3f3fu, m_lo = w1 & 0x3f3f3f3fu;
    uint32_t sc_hi = (w2 & 0x0f0f0f0fu) | ((w0 >> 2) & 0x30303030u);
    uint32_t m_hi = ((w2 >> 4) & 0x0f0f0f0fu) | ((w1 >> 2) & 0x30303030u);
    __m128i scb = _mm_setr_epi32((int)sc_lo, (int)sc_hi, 0, 0);
    __m128i mb = _mm_setr_epi32((int)m_lo, (int)m_hi, 0, 0);
    *sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scb));
    *m = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mb, mb));
}

/* One super-block of Q4_K (FIVE == 0) or Q5_K (FIVE == 1). Chunk k (values
 * 64k..64k+63) takes 32 qs bytes: low nibbles are sub-block 2k, high
 * nibbles 2k+1. Q5_K's fifth bits: bit 2k of qh[l] for value 64k + l, bit
 * 2k+1 for 64k + 32 + l; shifting qh right by two per chunk brings them to
 * bits 0 and 1 of every byte (a 16-bit shift by at most 6 never mixes the
 * bytes' low bits), from where they are moved to bit 4. */
AVX2_INLINE void step_q45k(int FIVE, int R, int C, const uint8_t *w, size_t ws, const uint8_t *a,
                           size_t as, __m128 acc[AVX2_MR][AVX2_MC])
{
    const __m256i low4 = _mm256_set1_epi8(15), bit4 = _mm256_set1_epi8(0x10);
    const int qs_at = FIVE ? Q5K_QS : Q4K_QS;
    __m256i sc[AVX2_MR], mins[AVX2_MR], qh[AVX2_MR], sumi[AVX2_MR][AVX2_MC];
    float d[AVX2_MR], dmin[AVX2_MR];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        const uint8_t *blk = w + (size_t)r * ws;
        d[r] = avx2_half(blk);
        dmin[r] = avx2_half(blk + 2);
        kq_scales(blk + Q4K_SCALES, &sc[r], &mins[r]);
        qh[r] = FIVE ? avx2_load(blk + Q5K_QH) : _mm256_setzero_si256();
        for (int c = 0; c < C; c++)
            sumi[r][c] = _mm256_setzero_si256();
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        __m256i lo[AVX2_MR], hi[AVX2_MR], s0[AVX2_MR], s1[AVX2_MR];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256i q = avx2_load(w + (size_t)r * ws + qs_at + 32 * k);
            lo[r] = _mm256_and_si256(q, low4);
            hi[r] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
            if (FIVE) {
                lo[r] = _mm256_or_si256(lo[r], _mm256_and_si256(_mm256_slli_epi16(qh[r], 4), bit4));
                hi[r] = _mm256_or_si256(hi[r], _mm256_and_si256(_mm256_slli_epi16(qh[r], 3), bit4));
                qh[r] = _mm256_srli_epi16(qh[r], 2);
            }
            s0[r] = _mm256_shuffle_epi8(sc[r], pick16(2 * k));
            s1[r] = _mm256_shuffle_epi8(sc[r], pick16(2 * k + 1));
        }
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            const uint8_t *x = a + (size_t)c * as + Q8K_QS + 64 * k;
            __m256i x0 = avx2_load(x), x1 = avx2_load(x + 32);
            /* |q| <= 31, |a| <= 127: pair sums < 2^13; times 63 in madd */
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo[r], x0), s0[r]);
                __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi[r], x1), s1[r]);
                sumi[r][c] = _mm256_add_epi32(sumi[r][c], _mm256_add_epi32(p0, p1));
            }
        }
    }
#pragma GCC unroll 4
    for (int c = 0; c < C; c++) {
        const uint8_t *ac = a + (size_t)c * as;
        float da = avx2_f32(ac + Q8K_D);
        __m256i bs = avx2_load(ac + Q8K_BSUMS);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            acc[r][c] = kq_accumulate(acc[r][c], d[r], dmin[r], da, sumi[r][c],
                                      _mm256_madd_epi16(mins[r], bs));
    }
}

/* ---- Q6_K ------------------------------------------------------------------------ */

/* One super-block of Q6_K. Register k (values 32k..32k+31, half h = k / 4,
 * t = k % 4) is built from ql[64h..] (t = 0, 2), ql[64h + 32..] (t = 1, 3)
 * and qh[32h..]: low nibbles for t < 2, high nibbles for t >= 2, with qh bits
 * 2t, 2t+1 moved to bits 4 and 5. Its low 16 values are sub-block 2k, the
 * high 16 sub-block 2k + 1: the scales are held even ones in the low lane,
 * odd ones in the high lane, so one pick16(k) gives each lane its scale.
 * sum((q - 32) a) = sum(q a) - 32 bsum keeps maddubs unsigned x signed. */
AVX2_INLINE void step_q6k(int R, int C, const uint8_t *w, size_t ws, const uint8_t *a, size_t as,
                          __m128 acc[AVX2_MR][AVX2_MC])
{
    const __m256i low4 = _mm256_set1_epi8(15), bits45 = _mm256_set1_epi8(0x30);
    const __m128i even_odd = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    __m256i sc_eo[AVX2_MR], sc[AVX2_MR], sumi[AVX2_MR][AVX2_MC];
    float d[AVX2_MR];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        const uint8_t *blk = w + (size_t)r * ws;
        __m128i s8 = _mm_loadu_si128((const __m128i *)(const void *)(blk + Q6K_SCALES));
        sc[r] = _mm256_cvtepi8_epi16(s8);
        sc_eo[r] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s8, even_odd));
        d[r] = avx2_half(blk + Q6K_D);
        for (int c = 0; c < C; c++)
            sumi[r][c] = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
        const int h = k / 4, t = k % 4;
        __m256i q[AVX2_MR], s[AVX2_MR];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *blk = w + (size_t)r * ws;
            __m256i ql = avx2_load(blk + Q6K_QL + 64 * h + 32 * (t & 1));
            __m256i qh = avx2_load(blk + Q6K_QH + 32 * h);
            __m256i lo = t < 2 ? _mm256_and_si256(ql, low4)
                               : _mm256_and_si256(_mm256_srli_epi16(ql, 4), low4);
            /* qh bits 2t, 2t+1 to 4, 5; 16-bit shifts by <= 4 keep each byte's own bits */
            __m256i hb = t == 0   ? _mm256_slli_epi16(qh, 4)
                         : t == 1 ? _mm256_slli_epi16(qh, 2)
                         : t == 2 ? qh
                                  : _mm256_srli_epi16(qh, 2);
            q[r] = _mm256_or_si256(lo, _mm256_and_si256(hb, bits45));
            s[r] = _mm256_shuffle_epi8(sc_eo[r], pick16(k));
        }
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            __m256i x = avx2_load(a + (size_t)c * as + Q8K_QS + 32 * k);
            /* q <= 63, |a| <= 127: pair sums < 2^14 */
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                sumi[r][c] = _mm256_add_epi32(
                    sumi[r][c], _mm256_madd_epi16(_mm256_maddubs_epi16(q[r], x), s[r]));
        }
    }
#pragma GCC unroll 4
    for (int c = 0; c < C; c++) {
        const uint8_t *ac = a + (size_t)c * as;
        float da = avx2_f32(ac + Q8K_D);
        __m256i bs = avx2_load(ac + Q8K_BSUMS);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256i zero_term = _mm256_slli_epi32(_mm256_madd_epi16(sc[r], bs), 5);
            __m256i v = _mm256_sub_epi32(sumi[r][c], zero_term);
            acc[r][c] = kq_accumulate1(acc[r][c], d[r], da, v);
        }
    }
}

/* ---- Tiles ----------------------------------------------------------------------- */

/* 0: Q4_K, 1: Q5_K, 2: Q6_K. Each pair's running sum is one float (lane 0
 * of an xmm), updated once per super-block as the reference does. */
AVX2_INLINE void tile_k(int KIND, int R, int C, int64_t n, const uint8_t *w, size_t ws,
                        const uint8_t *a, size_t as, float *out, size_t os)
{
    const size_t bw = KIND == 0 ? sizeof(block_q4_K) : KIND == 1 ? sizeof(block_q5_K)
                                                                 : sizeof(block_q6_K);
    __m128 acc[AVX2_MR][AVX2_MC];
    for (int r = 0; r < AVX2_MR; r++)
        for (int c = 0; c < AVX2_MC; c++)
            acc[r][c] = _mm_setzero_ps();
    for (int64_t b = 0; b < n / LLM_QK_K; b++) {
        const uint8_t *wb = w + (size_t)b * bw, *ab = a + (size_t)b * sizeof(block_q8_K);
        if (KIND == 2)
            step_q6k(R, C, wb, ws, ab, as, acc);
        else
            step_q45k(KIND, R, C, wb, ws, ab, as, acc);
    }
#pragma GCC unroll 4
    for (int c = 0; c < C; c++)
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            out[(size_t)c * os + (size_t)r] = _mm_cvtss_f32(acc[r][c]);
}

#define TILE_K(KIND, name)                                                                  \
    AVX2_INLINE void name(int R, int C, int64_t n, const uint8_t *w, size_t ws,              \
                          const uint8_t *a, size_t as, float *out, size_t os)               \
    {                                                                                       \
        tile_k(KIND, R, C, n, w, ws, a, as, out, os);                                       \
    }
TILE_K(0, tile_q4_K)
TILE_K(1, tile_q5_K)
TILE_K(2, tile_q6_K)

/* One weight row against four columns (measured with bench_kernels): the
 * row's unpacked chunk and scales serve four pairs; with more rows the
 * per-pair int32 sums and the scale registers spill. */
AVX2_TILES(tile_q4_K, 1, 4)
AVX2_TILES(tile_q5_K, 1, 4)
AVX2_TILES(tile_q6_K, 1, 4)

static const avx2_tiles TILES_Q4_K = AVX2_TILE_TABLE(tile_q4_K, 1, 4);
static const avx2_tiles TILES_Q5_K = AVX2_TILE_TABLE(tile_q5_K, 1, 4);
static const avx2_tiles TILES_Q6_K = AVX2_TILE_TABLE(tile_q6_K, 1, 4);

const avx2_tiles *llm_avx2_kquant_tiles(uint32_t type)
{
    switch (type) {
    case GGML_TYPE_Q4_K: return &TILES_Q4_K;
    case GGML_TYPE_Q5_K: return &TILES_Q5_K;
    case GGML_TYPE_Q6_K: return &TILES_Q6_K;
    default: return NULL;
    }
}
