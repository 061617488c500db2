/* Private to the avx2 back end (avx2.c, avx2_kquants.c): the target
 * attributes, the small helpers both files share, and the microtile
 * contract that makes gemm bit-identical to vec_dot.
 *
 * A microtile computes the dot products of R weight rows with C activation
 * columns (R <= AVX2_MR, C <= AVX2_MC). Every (row, column) pair owns its own
 * float accumulators and sees exactly the same sequence of vector operations
 * whatever R and C are: the tile only shares the loads and the unpacking of
 * a weight block between columns and of an activation block between rows.
 * vec_dot is the 1 x 1 tile, so gemm (larger tiles plus edge tiles) equals
 * vec_dot bit for bit. All float arithmetic is written as explicit
 * intrinsics: fmadd where a fused multiply-add is meant, and never a vector
 * mul feeding a vector add (GCC writes those two as plain C operators and
 * may fuse them, -ffp-contract=fast being gnu11's default); scalar products
 * and sums use the _ss intrinsics, which are builtins it does not fuse. So
 * contraction cannot treat two tile shapes differently. */
#ifndef CCAI_LLM_KERNELS_AVX2_INTERNAL_H
#define CCAI_LLM_KERNELS_AVX2_INTERNAL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "llm/kernels/kernels.h"

/* Every function of the back end: the rest of the binary stays baseline
 * x86-64, select.c decides whether this code runs. */
#define AVX2_TARGET __attribute__((target("avx2,fma,f16c")))
/* Tile bodies: inlined into each (R, C) instantiation so R and C are
 * constants and the per-pair accumulators live in registers. */
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/* Largest tile any type uses. */
#define AVX2_MR 4
#define AVX2_MC 4

/* One (R, C) instantiation: out[c*os + r] = dot(row r, column c) for the
 * tile's R rows at w + r*ws and C columns at a + c*as (bytes); n values. */
typedef void (*avx2_tile_fn)(int64_t n, const uint8_t *w, size_t ws, const uint8_t *a, size_t as,
                             float *out, size_t os);

/* A weight type's tiles: fn[R-1][C-1] for R <= mr, C <= mc. */
typedef struct avx2_tiles {
    int mr, mc;
    avx2_tile_fn fn[AVX2_MR][AVX2_MC];
} avx2_tiles;

/* ---- Instantiating tiles ----------------------------------------------------
 * AVX2_TILES(tile, MR, MC) defines tile_RxC for every R <= MR, C <= MC from an
 * AVX2_INLINE body tile(R, C, n, w, ws, a, as, out, os); AVX2_TILE_TABLE(tile,
 * MR, MC) is the matching avx2_tiles initializer. MR and MC are literals. */
#define AVX2_TILE_INST(tile, R, C)                                                          \
    static AVX2_TARGET void tile##_##R##x##C(int64_t n, const uint8_t *w, size_t ws,        \
                                             const uint8_t *a, size_t as, float *out,       \
                                             size_t os)                                     \
    {                                                                                       \
        tile(R, C, n, w, ws, a, as, out, os);                                               \
    }
#define AVX2_ROW1(t, R) AVX2_TILE_INST(t, R, 1)
#define AVX2_ROW2(t, R) AVX2_ROW1(t, R) AVX2_TILE_INST(t, R, 2)
#define AVX2_ROW3(t, R) AVX2_ROW2(t, R) AVX2_TILE_INST(t, R, 3)
#define AVX2_ROW4(t, R) AVX2_ROW3(t, R) AVX2_TILE_INST(t, R, 4)
#define AVX2_TILES_1(t, MC) AVX2_ROW##MC(t, 1)
#define AVX2_TILES_2(t, MC) AVX2_TILES_1(t, MC) AVX2_ROW##MC(t, 2)
#define AVX2_TILES_3(t, MC) AVX2_TILES_2(t, MC) AVX2_ROW##MC(t, 3)
#define AVX2_TILES_4(t, MC) AVX2_TILES_3(t, MC) AVX2_ROW##MC(t, 4)
#define AVX2_TILES(t, MR, MC) AVX2_TILES_##MR(t, MC)

#define AVX2_FN1(t, R) t##_##R##x1
#define AVX2_FN2(t, R) AVX2_FN1(t, R), t##_##R##x2
#define AVX2_FN3(t, R) AVX2_FN2(t, R), t##_##R##x3
#define AVX2_FN4(t, R) AVX2_FN3(t, R), t##_##R##x4
#define AVX2_TAB1(t, MC) {AVX2_FN##MC(t, 1)}
#define AVX2_TAB2(t, MC) AVX2_TAB1(t, MC), {AVX2_FN##MC(t, 2)}
#define AVX2_TAB3(t, MC) AVX2_TAB2(t, MC), {AVX2_FN##MC(t, 3)}
#define AVX2_TAB4(t, MC) AVX2_TAB3(t, MC), {AVX2_FN##MC(t, 4)}
#define AVX2_TILE_TABLE(t, MR, MC) {MR, MC, {AVX2_TAB##MR(t, MC)}}

/* The K types' tiles (avx2_kquants.c); NULL for any other type. */
const avx2_tiles *llm_avx2_kquant_tiles(uint32_t type);

/* ---- Shared helpers ------------------------------------------------------ */

/* Sum of the eight lanes in one fixed order (the same for every tile). */
AVX2_INLINE float avx2_hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Little-endian fields read through memcpy: blocks sit at any even offset
 * and UBSan rightly rejects misaligned struct access. */
AVX2_INLINE float avx2_half(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h); /* F16C: exact for every half, subnormals included */
}

AVX2_INLINE float avx2_f32(const uint8_t *p)
{
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

AVX2_INLINE __m256i avx2_load(const uint8_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* int32 lanes of sum(u[2i] * s[2i] + u[2i+1] * s[2i+1]) over the 32 byte
 * pairs, u unsigned, s signed; callers keep each 16-bit pair sum below
 * 2^15 (maddubs saturates there). */
AVX2_INLINE __m256i avx2_dot_u8i8(__m256i u, __m256i s)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

#endif
