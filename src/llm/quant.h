/* Quantized weight formats (llm-facts §2): half and bfloat16 conversion, the
 * block layout of every weight type the engine supports, reference
 * quantizers and dequantizers, and the activation formats a matvec quantizes
 * its input vector into.
 *
 * Contract. Weights stay in these blocks, in place in the mapped GGUF file; a
 * matvec quantizes the activation vector once into llm_act_for(weight type)
 * and takes integer dot products per block (kernels/kernels.h). Rows hold a
 * whole number of blocks (ggml_row_bytes). Weight rows must be 2-byte
 * aligned (every weight block size is even and GGUF tensor data is aligned to
 * general.alignment, so rows in the mapped file are); Q8_K and activation rows
 * must be 4-byte aligned (malloc'd buffers are). The functions here are pure
 * and thread-safe; a type outside llm_quant_has() is a programming error and
 * aborts with a message. See docs/quant.md. */
#ifndef CCAI_LLM_QUANT_H
#define CCAI_LLM_QUANT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "llm/ggml_types.h"

/* ---- IEEE binary16 and bfloat16 ------------------------------------------ */

static inline uint32_t llm_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float llm_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Exact: every half is a float. Subnormal halves are normalised; NaN payloads
 * are kept (shifted into the float's mantissa). */
static inline float llm_fp16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 31;
    uint32_t mant = h & 0x3ff;
    if (exp == 31) /* inf or NaN */
        return llm_bits_f32(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
        if (mant == 0)
            return llm_bits_f32(sign);
        /* Subnormal: mant * 2^-24. Shift the leading one up to bit 10. */
        uint32_t e = 113; /* float exponent of 2^-14, the smallest normal half */
        while (!(mant & 0x400)) {
            mant <<= 1;
            e--;
        }
        return llm_bits_f32(sign | (e << 23) | ((mant & 0x3ff) << 13));
    }
    return llm_bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

/* Round to nearest, ties to even; overflow gives inf, tiny values give
 * subnormals or zero. NaN stays NaN with its top payload bits (a payload that
 * would vanish becomes the quiet bit). */
static inline uint16_t llm_f32_to_fp16(float f)
{
    uint32_t x = llm_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t a = x & 0x7fffffffu;
    if (a > 0x7f800000u) { /* NaN */
        uint32_t payload = (a >> 13) & 0x3ff;
        return (uint16_t)(sign | 0x7c00 | (payload ? payload : 0x200));
    }
    if (a >= 0x477ff000u) /* >= 65520: 65504 + half an ulp rounds up to inf */
        return (uint16_t)(sign | 0x7c00);
    uint32_t e = a >> 23;
    if (e < 113) { /* below 2^-14: a subnormal half, in units of 2^-24 */
        if (e < 102) /* below 2^-25: rounds to zero */
            return sign;
        uint32_t m = (a & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1)))
            q++;
        return (uint16_t)(sign | q);
    }
    uint32_t h = ((e - 112) << 10) | ((a >> 13) & 0x3ff);
    uint32_t rem = a & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++; /* a carry into the exponent is the right answer */
    return (uint16_t)(sign | h);
}

static inline float llm_bf16_to_f32(uint16_t b)
{
    return llm_bits_f32((uint32_t)b << 16);
}

/* Round to nearest, ties to even; NaN stays a (quiet) NaN. */
static inline uint16_t llm_f32_to_bf16(float f)
{
    uint32_t x = llm_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

/* The rounding rule of every quantizer here: round to nearest, ties to even,
 * clamped to [lo, hi] (NaN gives lo). Clamping first keeps |v| < 2^22, where
 * adding and subtracting 1.5 * 2^23 leaves exactly the nearest integer under
 * the default rounding mode (no libm; SIMD kernels round the same way). */
static inline int llm_round_clamp(float v, int lo, int hi)
{
    if (!(v >= (float)lo))
        return lo;
    if (v > (float)hi)
        return hi;
    return (int)((v + 12582912.0f) - 12582912.0f);
}

/* ---- Weight blocks (llm-facts §2; fp16 fields are IEEE halves) ----------- */

#define LLM_QK 32   /* values per block of the Q*_0 / Q*_1 types */
#define LLM_QK_K 256 /* values per super-block of the K types */

/* y = (q - 8) * d, q the nibbles: qs[j] low = value j, high = value j + 16. */
typedef struct block_q4_0 {
    uint16_t d;
    uint8_t qs[LLM_QK / 2];
} block_q4_0;

/* y = q * d + m, nibbles as Q4_0. */
typedef struct block_q4_1 {
    uint16_t d, m;
    uint8_t qs[LLM_QK / 2];
} block_q4_1;

/* y = (q - 16) * d; q = nibble (as Q4_0) | bit j of qh (little-endian u32) << 4
 * for value j. */
typedef struct block_q5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[LLM_QK / 2];
} block_q5_0;

/* y = q * d + m, q as Q5_0. */
typedef struct block_q5_1 {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[LLM_QK / 2];
} block_q5_1;

/* y = qs * d. */
typedef struct block_q8_0 {
    uint16_t d;
    int8_t qs[LLM_QK];
} block_q8_0;

/* Eight sub-blocks of 32 with 6-bit scale and min (llm_kq_scale_min); chunk c
 * (values 64c..64c+63) uses qs[32c..32c+31]: low nibbles for sub-block 2c,
 * high nibbles for 2c+1; y = d*sc*q - dmin*m. */
typedef struct block_q4_K {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[LLM_QK_K / 2];
} block_q4_K;

/* Q4_K plus a fifth bit: value 64c + l (l < 32) takes bit 2c of qh[l], value
 * 64c + 32 + l takes bit 2c + 1; q is 0..31. */
typedef struct block_q5_K {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[LLM_QK_K / 8];
    uint8_t qs[LLM_QK_K / 2];
} block_q5_K;

/* Sixteen sub-blocks of 16 with int8 scales; q is 6 bits, y = d*sc*(q - 32).
 * Bit layout in llm-facts §2. */
typedef struct block_q6_K {
    uint8_t ql[LLM_QK_K / 2];
    uint8_t qh[LLM_QK_K / 4];
    int8_t scales[LLM_QK_K / 16];
    uint16_t d;
} block_q6_K;

/* Both ggml type Q8_K (a weight type the engine does not serve) and the
 * activation format paired with the K types: y = qs * d, bsums[i] the sum of
 * qs[16i..16i+15] so the K types' min terms cost one multiply per 16 values. */
typedef struct block_q8_K {
    float d;
    int8_t qs[LLM_QK_K];
    int16_t bsums[LLM_QK_K / 16];
} block_q8_K;

/* Activation blocks for the 32-value weight types. Not ggml's Q8_1 (type 9,
 * halves): d and s are floats. y = qs * d; s = d * sum(qs), so the offset
 * term of Q4_1/Q5_1 (m * sum(y)) is one multiply per block. */
typedef struct block_act_q8_1 {
    float d;
    float s;
    int8_t qs[LLM_QK];
} block_act_q8_1;

static_assert(sizeof(block_q4_0) == 18, "block_q4_0 is 18 bytes");
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 is 20 bytes");
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 is 22 bytes");
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 is 24 bytes");
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 is 34 bytes");
static_assert(sizeof(block_q4_K) == 144, "block_q4_K is 144 bytes");
static_assert(sizeof(block_q5_K) == 176, "block_q5_K is 176 bytes");
static_assert(sizeof(block_q6_K) == 210, "block_q6_K is 210 bytes");
static_assert(sizeof(block_q8_K) == 292, "block_q8_K is 292 bytes");
static_assert(sizeof(block_act_q8_1) == 40, "block_act_q8_1 is 40 bytes");

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block
 * (llm-facts §2): j < 4 in the low six bits of s[j] and s[j+4]; j >= 4 in the
 * nibbles of s[j+4] with the top two bits in s[j-4] and s[j]. */
static inline void llm_kq_scale_min(int j, const uint8_t s[12], uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 15) | ((s[j - 4] >> 6) << 4));
        *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/* The inverse: packs eight 6-bit scales and mins (each 0..63) into s[12]. */
void llm_kq_pack_scale_min(const uint8_t sc[8], const uint8_t m[8], uint8_t s[12]);

/* ---- Rows ----------------------------------------------------------------- */

/* True for the types llm_quantize_row / llm_dequantize_row handle: every
 * ggml_type_supported weight type plus Q8_K. */
bool llm_quant_has(uint32_t type);

/* dst[0..n) = the values of the n-value row src. n is a multiple of
 * ggml_blck_size(type). */
void llm_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

/* Reference quantizer: writes ggml_row_bytes(type, n) bytes to dst. The K
 * types search each sub-block's scale and min for the least squared error
 * (docs/quant.md states the error bounds the tests enforce). Scales use the
 * stored (fp16-rounded) values, so dequantizing reproduces what was chosen. */
void llm_quantize_row(uint32_t type, const float *src, void *dst, int64_t n);

/* The K-type halves of the above (quant_k.c); n is a multiple of 256. */
void llm_quantize_row_q4_K(const float *x, block_q4_K *y, int64_t n);
void llm_quantize_row_q5_K(const float *x, block_q5_K *y, int64_t n);
void llm_quantize_row_q6_K(const float *x, block_q6_K *y, int64_t n);
void llm_quantize_row_q8_K(const float *x, block_q8_K *y, int64_t n);
void llm_dequantize_row_q4_K(const block_q4_K *x, float *y, int64_t n);
void llm_dequantize_row_q5_K(const block_q5_K *x, float *y, int64_t n);
void llm_dequantize_row_q6_K(const block_q6_K *x, float *y, int64_t n);
void llm_dequantize_row_q8_K(const block_q8_K *x, float *y, int64_t n);

/* ---- Activations ---------------------------------------------------------- */

typedef enum llm_act {
    LLM_ACT_F32,  /* plain floats: for F32, F16 and BF16 weights */
    LLM_ACT_Q8_1, /* block_act_q8_1: for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 */
    LLM_ACT_Q8_K, /* block_q8_K: for Q4_K, Q5_K, Q6_K */
} llm_act;

/* The activation format a weight type's dot product takes (F32 for a type
 * outside ggml_type_supported; such weights have no kernel). */
llm_act llm_act_for(uint32_t weight_type);
/* Values per activation block: 1, 32 or 256. */
int64_t llm_act_block_size(llm_act a);
/* Bytes of an activation row of n values (n a multiple of the block size). */
size_t llm_act_row_bytes(llm_act a, int64_t n);
const char *llm_act_name(llm_act a);

/* Reference activation quantizer: d = amax / 127, q = round-to-nearest-even
 * of x * (127 / amax). out holds llm_act_row_bytes(a, n) bytes. */
void llm_quantize_act(llm_act a, const float *x, void *out, int64_t n);
/* The values an activation row stands for (tests and debugging). */
void llm_dequantize_act(llm_act a, const void *in, float *x, int64_t n);

#endif
