/* Tests for src/llm/quant.c and quant_k.c: fp16/bf16 conversion (known
 * values, every tie, all 65536 codes), block sizes, hand-built blocks of every
 * type dequantized to exact values, the reference quantizers' error bounds
 * (docs/quant.md, "Error bounds") on seeded normal data, and the activation
 * formats. */
#include "testutil.h"

#include <float.h>
#include <math.h> /* fabs, isnan, isinf, INFINITY, NAN: no libm */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/rng.h"
#include "llm/quant.h"

/* ---- Seeded data ------------------------------------------------------------ */

/* n approximately normal values from seed (ccai_rng_normal: Irwin-Hall, tails
 * cut at 6 sd; no libm, which the library links without), as floats. */
static void fill_normal(float *x, int64_t n, uint64_t seed, double mean, double sd)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)ccai_rng_normal(&seed, mean, sd);
}

static double sqrt_d(double v) /* Newton, for v > 0 */
{
    double r = v > 1 ? v : 1;
    for (int i = 0; i < 200; i++)
        r = 0.5 * (r + v / r);
    return r;
}

static float maxf(float a, float b)
{
    return b > a ? b : a;
}

/* The neighbouring floats of a positive finite x. */
static float next_up(float x)
{
    return llm_bits_f32(llm_f32_bits(x) + 1);
}

static float next_down(float x)
{
    return llm_bits_f32(llm_f32_bits(x) - 1);
}

/* ---- fp16 --------------------------------------------------------------------- */

static float f32_of_bits(uint32_t u)
{
    return llm_bits_f32(u);
}

static void test_fp16_known_values(void **state)
{
    (void)state;
    assert_int_equal(llm_f32_to_fp16(1.0f), 0x3c00);
    assert_int_equal(llm_f32_to_fp16(-2.0f), 0xc000);
    assert_int_equal(llm_f32_to_fp16(65504.0f), 0x7bff);
    assert_int_equal(llm_f32_to_fp16(0.0f), 0x0000);
    assert_int_equal(llm_f32_to_fp16(-0.0f), 0x8000);
    assert_int_equal(llm_f32_to_fp16(0.1f), 0x2e66);
    assert_int_equal(llm_f32_to_fp16(0x1p-24f), 0x0001); /* smallest subnormal */
    assert_int_equal(llm_f32_to_fp16(0x1p-14f), 0x0400); /* smallest normal */
    assert_int_equal(llm_f32_to_fp16(1023 * 0x1p-24f), 0x03ff);
    assert_true(llm_fp16_to_f32(0x3c00) == 1.0f);
    assert_true(llm_fp16_to_f32(0xc000) == -2.0f);
    assert_true(llm_fp16_to_f32(0x7bff) == 65504.0f);
    assert_true(llm_fp16_to_f32(0x0001) == 0x1p-24f);
    assert_true(llm_fp16_to_f32(0x8001) == -0x1p-24f);
    assert_true(llm_fp16_to_f32(0x3555) == 0.333251953125f);
    assert_int_equal(llm_f32_bits(llm_fp16_to_f32(0x8000)), 0x80000000u);

    /* Infinities and NaN. */
    assert_true(isinf(llm_fp16_to_f32(0x7c00)) && llm_fp16_to_f32(0x7c00) > 0);
    assert_true(isinf(llm_fp16_to_f32(0xfc00)) && llm_fp16_to_f32(0xfc00) < 0);
    assert_true(isnan(llm_fp16_to_f32(0x7e00)));
    assert_true(isnan(llm_fp16_to_f32(0x7c01)));
    assert_int_equal(llm_f32_to_fp16(INFINITY), 0x7c00);
    assert_int_equal(llm_f32_to_fp16(-INFINITY), 0xfc00);
    assert_int_equal(llm_f32_to_fp16(1e6f), 0x7c00);
    assert_int_equal(llm_f32_to_fp16(FLT_MAX), 0x7c00);
    uint16_t nan = llm_f32_to_fp16(NAN);
    assert_int_equal(nan & 0x7c00, 0x7c00);
    assert_true((nan & 0x3ff) != 0);
    /* A float NaN whose payload lies below the half's mantissa stays NaN. */
    uint16_t low_nan = llm_f32_to_fp16(f32_of_bits(0x7f800001u));
    assert_int_equal(low_nan, 0x7e00);
}

static void test_fp16_rounding_ties(void **state)
{
    (void)state;
    /* Between 1 (0x3c00) and 1 + 2^-10 (0x3c01): the tie goes to the even. */
    assert_int_equal(llm_f32_to_fp16(1.0f + 0x1p-11f), 0x3c00);
    assert_int_equal(llm_f32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);
    assert_int_equal(llm_f32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
    assert_int_equal(llm_f32_to_fp16(1.0f + 0x1p-11f - 0x1p-20f), 0x3c00);
    /* The top: 65520 is the tie between 65504 (odd) and 65536 (overflow). */
    assert_int_equal(llm_f32_to_fp16(65519.996f), 0x7bff);
    assert_int_equal(llm_f32_to_fp16(65520.0f), 0x7c00);
    assert_int_equal(llm_f32_to_fp16(-65520.0f), 0xfc00);
    /* Subnormals, in units of 2^-24. */
    float u = 0x1p-25f; /* half a unit */
    assert_int_equal(llm_f32_to_fp16(u), 0x0000);
    assert_int_equal(llm_f32_to_fp16(next_up(u)), 0x0001);
    assert_int_equal(llm_f32_to_fp16(next_down(u)), 0x0000);
    assert_int_equal(llm_f32_to_fp16(3 * u), 0x0002);
    assert_int_equal(llm_f32_to_fp16(5 * u), 0x0002);
    assert_int_equal(llm_f32_to_fp16(-3 * u), 0x8002);
    assert_int_equal(llm_f32_to_fp16(0x1p-30f), 0x0000);
    assert_int_equal(llm_f32_to_fp16(f32_of_bits(1)), 0x0000); /* a float subnormal */
    /* Between the largest subnormal and the smallest normal: to 0x0400. */
    assert_int_equal(llm_f32_to_fp16(2047 * 0x1p-25f), 0x0400);
}

/* The value a half code stands for, computed independently in double. */
static double fp16_value(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 0x3ff;
    /* 2^(exp - 25) by its bits: exp is 1..30 here */
    uint64_t bits = (uint64_t)(exp - 25 + 1023) << 52;
    double p2;
    memcpy(&p2, &bits, sizeof p2);
    double v = exp == 0 ? mant * 0x1p-24 : (1024 + mant) * p2;
    return sign ? -v : v;
}

static void test_fp16_all_codes(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        int exp = (h >> 10) & 31, mant = h & 0x3ff;
        float f = llm_fp16_to_f32((uint16_t)h);
        if (exp == 31 && mant != 0) {
            assert_true(isnan(f));
        } else if (exp == 31) {
            assert_true(isinf(f));
        } else {
            assert_true((double)f == fp16_value((uint16_t)h));
        }
        /* Round trip, NaN payloads included. */
        assert_int_equal(llm_f32_to_fp16(f), h);
    }
    /* Every midpoint between neighbouring finite positive halves is a float;
     * it rounds to the even one, and one float ulp either side decides. */
    for (uint32_t h = 0; h < 0x7bff; h++) {
        float lo = llm_fp16_to_f32((uint16_t)h), hi = llm_fp16_to_f32((uint16_t)(h + 1));
        float mid = (float)(((double)lo + (double)hi) / 2);
        assert_true((double)mid == ((double)lo + (double)hi) / 2);
        uint32_t even = (h & 1) ? h + 1 : h;
        assert_int_equal(llm_f32_to_fp16(mid), even);
        assert_int_equal(llm_f32_to_fp16(next_down(mid)), h);
        assert_int_equal(llm_f32_to_fp16(next_up(mid)), h + 1);
        assert_int_equal(llm_f32_to_fp16(-mid), even | 0x8000);
    }
}

static void test_bf16(void **state)
{
    (void)state;
    assert_int_equal(llm_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(llm_f32_to_bf16(-2.0f), 0xc000);
    assert_true(llm_bf16_to_f32(0x3f80) == 1.0f);
    assert_true(llm_bf16_to_f32(0x4049) == 3.140625f);
    /* Ties to even; anything past the tie rounds up. */
    assert_int_equal(llm_f32_to_bf16(f32_of_bits(0x3f808000u)), 0x3f80);
    assert_int_equal(llm_f32_to_bf16(f32_of_bits(0x3f818000u)), 0x3f82);
    assert_int_equal(llm_f32_to_bf16(f32_of_bits(0x3f808001u)), 0x3f81);
    assert_int_equal(llm_f32_to_bf16(f32_of_bits(0x3f807fffu)), 0x3f80);
    /* Overflow to inf; inf and NaN. */
    assert_int_equal(llm_f32_to_bf16(FLT_MAX), 0x7f80);
    assert_int_equal(llm_f32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(llm_f32_to_bf16(-INFINITY), 0xff80);
    uint16_t nan = llm_f32_to_bf16(f32_of_bits(0x7f800001u)); /* payload below bf16's bits */
    assert_true(isnan(llm_bf16_to_f32(nan)));
    for (uint32_t b = 0; b < 65536; b++) {
        float f = llm_bf16_to_f32((uint16_t)b);
        assert_int_equal(llm_f32_bits(f), b << 16);
        uint32_t back = llm_f32_to_bf16(f);
        if (isnan(f))
            assert_int_equal(back, b | 0x40); /* quietened */
        else
            assert_int_equal(back, b);
    }
}

/* ---- Layout ------------------------------------------------------------------------ */

static void test_sizes_and_pairing(void **state)
{
    (void)state;
    assert_int_equal(ggml_type_size(GGML_TYPE_Q4_0), sizeof(block_q4_0));
    assert_int_equal(ggml_type_size(GGML_TYPE_Q4_1), sizeof(block_q4_1));
    assert_int_equal(ggml_type_size(GGML_TYPE_Q5_0), sizeof(block_q5_0));
    assert_int_equal(ggml_type_size(GGML_TYPE_Q5_1), sizeof(block_q5_1));
    assert_int_equal(ggml_type_size(GGML_TYPE_Q8_0), sizeof(block_q8_0));
    assert_int_equal(ggml_type_size(GGML_TYPE_Q4_K), sizeof(block_q4_K));
    assert_int_equal(ggml_type_size(GGML_TYPE_Q5_K), sizeof(block_q5_K));
    assert_int_equal(ggml_type_size(GGML_TYPE_Q6_K), sizeof(block_q6_K));
    assert_int_equal(ggml_type_size(GGML_TYPE_Q8_K), sizeof(block_q8_K));

    assert_int_equal(llm_act_for(GGML_TYPE_F32), LLM_ACT_F32);
    assert_int_equal(llm_act_for(GGML_TYPE_F16), LLM_ACT_F32);
    assert_int_equal(llm_act_for(GGML_TYPE_BF16), LLM_ACT_F32);
    assert_int_equal(llm_act_for(GGML_TYPE_Q4_0), LLM_ACT_Q8_1);
    assert_int_equal(llm_act_for(GGML_TYPE_Q4_1), LLM_ACT_Q8_1);
    assert_int_equal(llm_act_for(GGML_TYPE_Q5_0), LLM_ACT_Q8_1);
    assert_int_equal(llm_act_for(GGML_TYPE_Q5_1), LLM_ACT_Q8_1);
    assert_int_equal(llm_act_for(GGML_TYPE_Q8_0), LLM_ACT_Q8_1);
    assert_int_equal(llm_act_for(GGML_TYPE_Q4_K), LLM_ACT_Q8_K);
    assert_int_equal(llm_act_for(GGML_TYPE_Q5_K), LLM_ACT_Q8_K);
    assert_int_equal(llm_act_for(GGML_TYPE_Q6_K), LLM_ACT_Q8_K);

    assert_int_equal(llm_act_row_bytes(LLM_ACT_F32, 7), 28);
    assert_int_equal(llm_act_row_bytes(LLM_ACT_Q8_1, 64), 80);
    assert_int_equal(llm_act_row_bytes(LLM_ACT_Q8_K, 512), 584);
    assert_int_equal(llm_act_block_size(LLM_ACT_Q8_1), 32);
    assert_int_equal(llm_act_block_size(LLM_ACT_Q8_K), 256);
    assert_string_equal(llm_act_name(LLM_ACT_Q8_K), "q8_K");

    for (uint32_t t = 0; t < 40; t++)
        assert_int_equal(llm_quant_has(t), ggml_type_supported(t) || t == GGML_TYPE_Q8_K);
}

static void test_kq_scale_packing(void **state)
{
    (void)state;
    const uint8_t sc[8] = {1, 17, 33, 63, 53, 21, 47, 60};
    const uint8_t m[8] = {0, 3, 63, 10, 44, 7, 31, 16};
    uint8_t s[12];
    llm_kq_pack_scale_min(sc, m, s);
    /* llm-facts §2 by hand: s[0] = sc0 | (sc4 >> 4) << 6 = 1 | 3 << 6;
     * s[4] = m0 | (m4 >> 4) << 6 = 0 | 2 << 6; s[8] = (sc4 & 15) | (m4 & 15) << 4. */
    assert_int_equal(s[0], 0xc1);
    assert_int_equal(s[4], 0x80);
    assert_int_equal(s[8], 0x05 | 0xc0);
    for (int j = 0; j < 8; j++) {
        uint8_t a, b;
        llm_kq_scale_min(j, s, &a, &b);
        assert_int_equal(a, sc[j]);
        assert_int_equal(b, m[j]);
    }
}

/* ---- Hand-built blocks ------------------------------------------------------------- */

static void check_row(uint32_t type, const void *blk, int64_t n, const float *want)
{
    float got[LLM_QK_K];
    llm_dequantize_row(type, blk, got, n);
    for (int64_t i = 0; i < n; i++) {
        if (got[i] != want[i])
            fail_msg("%s value %lld: got %g, want %g", ggml_type_name(type), (long long)i,
                     (double)got[i], (double)want[i]);
    }
}

static void test_dequant_32_blocks(void **state)
{
    (void)state;
    float want[32];
    block_q8_0 q8 = {.d = 0x3800}; /* 0.5 */
    for (int j = 0; j < 32; j++) {
        q8.qs[j] = (int8_t)(j * 8 - 128);
        want[j] = (float)(j * 8 - 128) * 0.5f;
    }
    check_row(GGML_TYPE_Q8_0, &q8, 32, want);

    block_q4_0 q4 = {.d = 0x3400}; /* 0.25 */
    for (int j = 0; j < 16; j++) {
        q4.qs[j] = (uint8_t)(j | ((15 - j) << 4));
        want[j] = (float)(j - 8) * 0.25f;
        want[j + 16] = (float)(7 - j) * 0.25f;
    }
    check_row(GGML_TYPE_Q4_0, &q4, 32, want);

    block_q4_1 q41 = {.d = 0x3800, .m = 0xbc00}; /* 0.5, -1 */
    for (int j = 0; j < 16; j++) {
        q41.qs[j] = (uint8_t)(j | ((15 - j) << 4));
        want[j] = (float)j * 0.5f - 1.0f;
        want[j + 16] = (float)(15 - j) * 0.5f - 1.0f;
    }
    check_row(GGML_TYPE_Q4_1, &q41, 32, want);

    /* qh = 0xAAAA5555 little-endian: bit i is the fifth bit of value i. */
    const uint32_t qh = 0xaaaa5555u;
    block_q5_0 q5 = {.d = 0x3c00, .qh = {0x55, 0x55, 0xaa, 0xaa}};
    block_q5_1 q51 = {.d = 0x3800, .m = 0x4000, .qh = {0x55, 0x55, 0xaa, 0xaa}}; /* 0.5, 2 */
    float want1[32];
    for (int j = 0; j < 16; j++)
        q5.qs[j] = q51.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    for (int i = 0; i < 32; i++) {
        int nib = i < 16 ? i : 31 - i, q = nib | (int)(((qh >> i) & 1) << 4);
        want[i] = (float)(q - 16);
        want1[i] = (float)q * 0.5f + 2.0f;
    }
    assert_true(want[0] == 0.0f && want[1] == -15.0f && want[16] == -1.0f && want[17] == 14.0f);
    check_row(GGML_TYPE_Q5_0, &q5, 32, want);
    check_row(GGML_TYPE_Q5_1, &q51, 32, want1);
}

static const uint8_t KSC[8] = {1, 17, 33, 63, 53, 21, 47, 60};
static const uint8_t KM[8] = {0, 3, 63, 10, 44, 7, 31, 16};

static void test_dequant_q4_K_q5_K(void **state)
{
    (void)state;
    block_q4_K q4 = {.d = 0x3c00, .dmin = 0x3800}; /* 1, 0.5 */
    block_q5_K q5 = {.d = 0x3400, .dmin = 0x3c00}; /* 0.25, 1 */
    llm_kq_pack_scale_min(KSC, KM, q4.scales);
    llm_kq_pack_scale_min(KSC, KM, q5.scales);
    for (int i = 0; i < 128; i++)
        q4.qs[i] = q5.qs[i] = (uint8_t)((i & 15) | ((15 - (i & 15)) << 4));
    for (int l = 0; l < 32; l++)
        q5.qh[l] = (uint8_t)(l * 37 + 11);

    /* By value index v: chunk c = v / 64, sub-block v / 32, low nibble in the
     * first half of the chunk; the fifth bit is bit (v / 32) of qh[v % 32]. */
    float w4[256], w5[256];
    for (int v = 0; v < 256; v++) {
        int c = v / 64, j = v / 32, l = v % 32, high = (v % 64) >= 32;
        uint8_t byte = q4.qs[32 * c + l];
        int nib = high ? byte >> 4 : byte & 15;
        int bit5 = (q5.qh[l] >> j) & 1;
        w4[v] = 1.0f * (float)KSC[j] * (float)nib - 0.5f * (float)KM[j];
        w5[v] = 0.25f * (float)KSC[j] * (float)(nib | (bit5 << 4)) - 1.0f * (float)KM[j];
    }
    /* Spot values: v = 0 (sc 1, m 0, q 0); v = 255 (sub-block 7: sc 60, m 16,
     * q = 15 - 15 = 0 high nibble). */
    assert_true(w4[0] == 0.0f && w4[255] == -8.0f && w4[33] == 17.0f * 14 - 1.5f);
    check_row(GGML_TYPE_Q4_K, &q4, 256, w4);
    check_row(GGML_TYPE_Q5_K, &q5, 256, w5);
}

static void test_dequant_q6_K_q8_K(void **state)
{
    (void)state;
    block_q6_K q6 = {.d = 0x3800}; /* 0.5 */
    for (int i = 0; i < 128; i++)
        q6.ql[i] = (uint8_t)(i * 29 + 3);
    for (int i = 0; i < 64; i++)
        q6.qh[i] = (uint8_t)(i * 53 + 7);
    for (int i = 0; i < 16; i++)
        q6.scales[i] = (int8_t)(i * 17 - 128);

    /* By value index v: half h = v / 128; within it p, group g = p / 32,
     * l = p % 32; low four bits from ql[64h + l + 32 (g & 1)] (high nibble for
     * g >= 2), top two bits from qh[32h + l] >> 2g; scale index v / 16. */
    float want[256];
    for (int v = 0; v < 256; v++) {
        int h = v / 128, p = v % 128, g = p / 32, l = p % 32;
        uint8_t lb = q6.ql[64 * h + l + 32 * (g & 1)];
        int lo = g >= 2 ? lb >> 4 : lb & 15;
        int hi = (q6.qh[32 * h + l] >> (2 * g)) & 3;
        want[v] = 0.5f * (float)q6.scales[v / 16] * (float)((lo | (hi << 4)) - 32);
    }
    check_row(GGML_TYPE_Q6_K, &q6, 256, want);

    block_q8_K q8 = {.d = 0.25f};
    for (int i = 0; i < 256; i++) {
        q8.qs[i] = (int8_t)(i - 128);
        want[i] = (float)(i - 128) * 0.25f;
    }
    check_row(GGML_TYPE_Q8_K, &q8, 256, want);
}

static void test_float_rows(void **state)
{
    (void)state;
    const float x[5] = {1.0f, -2.5f, 65504.0f, 1e-3f, 3.0e38f};
    uint16_t h[5], b[5];
    float y[5], z[5];
    llm_quantize_row(GGML_TYPE_F16, x, h, 5);
    llm_quantize_row(GGML_TYPE_BF16, x, b, 5);
    llm_quantize_row(GGML_TYPE_F32, x, z, 5);
    assert_memory_equal(z, x, sizeof x);
    assert_int_equal(h[0], 0x3c00);
    assert_int_equal(h[2], 0x7bff);
    assert_int_equal(h[4], 0x7c00); /* beyond the half range */
    llm_dequantize_row(GGML_TYPE_F16, h, y, 5);
    assert_true(y[1] == -2.5f && fabsf(y[3] - 1e-3f) <= 1e-3f * 0x1p-11f);
    llm_dequantize_row(GGML_TYPE_BF16, b, y, 5);
    for (int i = 0; i < 5; i++)
        assert_true(fabsf(y[i] - x[i]) <= fabsf(x[i]) * 0x1p-8f);
}

/* ---- Quantizer error bounds ---------------------------------------------------------- */

/* Per 32-value block, the largest error allowed (docs/quant.md). */
static float block_bound(uint32_t type, const void *row, int64_t b, float amax)
{
    switch (type) {
    case GGML_TYPE_Q8_0: return llm_fp16_to_f32(((const block_q8_0 *)row)[b].d) * 0.5f * 1.0001f;
    case GGML_TYPE_Q4_0: return fabsf(llm_fp16_to_f32(((const block_q4_0 *)row)[b].d)) * 1.0001f;
    case GGML_TYPE_Q5_0: return fabsf(llm_fp16_to_f32(((const block_q5_0 *)row)[b].d)) * 1.0001f;
    case GGML_TYPE_Q4_1:
        return llm_fp16_to_f32(((const block_q4_1 *)row)[b].d) * 0.5f + amax * 0x1p-9f;
    case GGML_TYPE_Q5_1:
        return llm_fp16_to_f32(((const block_q5_1 *)row)[b].d) * 0.5f + amax * 0x1p-9f;
    default: return INFINITY; /* the K types are held to RMS bounds */
    }
}

typedef struct err_case {
    uint32_t type;
    double rel_rms;      /* bound on rms(error) / rms(x), N(0, 1) data */
    double rel_rms_skew; /* the same on N(0.5, 1) data with 1/64 outliers */
} err_case;

static const err_case ERR_CASES[] = {
    {GGML_TYPE_F16, 0.0003, 0.0003},  {GGML_TYPE_BF16, 0.002, 0.002},
    {GGML_TYPE_Q8_0, 0.0060, 0.0110}, {GGML_TYPE_Q4_0, 0.095, 0.170},
    {GGML_TYPE_Q4_1, 0.087, 0.105},   {GGML_TYPE_Q5_0, 0.047, 0.085},
    {GGML_TYPE_Q5_1, 0.042, 0.052},   {GGML_TYPE_Q4_K, 0.077, 0.097},
    {GGML_TYPE_Q5_K, 0.038, 0.048},   {GGML_TYPE_Q6_K, 0.018, 0.029},
};

static double quant_rel_rms(uint32_t type, const float *x, int64_t n, bool check_blocks)
{
    size_t bytes = 0;
    assert_true(ggml_row_bytes(type, (uint64_t)n, &bytes));
    uint8_t *q = malloc(bytes);
    float *y = malloc((size_t)n * sizeof *y);
    llm_quantize_row(type, x, q, n);
    llm_dequantize_row(type, q, y, n);
    double se = 0, sx = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++)
            amax = maxf(amax, fabsf(x[32 * b + j]));
        float bound = check_blocks ? block_bound(type, q, b, amax) : INFINITY;
        for (int j = 0; j < 32; j++) {
            double e = (double)y[32 * b + j] - x[32 * b + j];
            if (fabs(e) > bound)
                fail_msg("%s block %lld value %d: error %g > bound %g", ggml_type_name(type),
                         (long long)b, j, e, (double)bound);
            se += e * e;
            sx += (double)x[32 * b + j] * x[32 * b + j];
        }
    }
    free(q);
    free(y);
    return sqrt_d(se / sx);
}

static void test_quantize_error_bounds(void **state)
{
    (void)state;
    const int64_t n = 16384;
    float *x = malloc(n * sizeof *x), *skew = malloc(n * sizeof *skew);
    fill_normal(x, n, 42, 0.0, 1.0);
    fill_normal(skew, n, 7, 0.5, 1.0);
    for (int64_t i = 0; i < n; i += 64)
        skew[i] *= 8.0f; /* an outlier in every other block */
    for (size_t c = 0; c < sizeof ERR_CASES / sizeof ERR_CASES[0]; c++) {
        const err_case *ec = &ERR_CASES[c];
        double r = quant_rel_rms(ec->type, x, n, true);
        double rs = quant_rel_rms(ec->type, skew, n, true);
        print_message("%-5s rel rms %.5f (bound %.4f), skewed %.5f (bound %.4f)\n",
                      ggml_type_name(ec->type), r, ec->rel_rms, rs, ec->rel_rms_skew);
        assert_true(r <= ec->rel_rms);
        assert_true(rs <= ec->rel_rms_skew);
    }
    free(x);
    free(skew);
}

/* The K quantizers must do better than the plain min/max grid their format
 * allows: Q4_K at least as well as Q4_1 (which spends an fp16 scale per 32
 * values where Q4_K spends 6 bits). */
static void test_k_search_beats_minmax(void **state)
{
    (void)state;
    const int64_t n = 8192;
    float *x = malloc(n * sizeof *x);
    fill_normal(x, n, 99, 0.0, 0.02); /* weight-like scale */
    double k4 = quant_rel_rms(GGML_TYPE_Q4_K, x, n, false);
    double q41 = quant_rel_rms(GGML_TYPE_Q4_1, x, n, false);
    double k5 = quant_rel_rms(GGML_TYPE_Q5_K, x, n, false);
    double q51 = quant_rel_rms(GGML_TYPE_Q5_1, x, n, false);
    print_message("Q4_K %.5f vs Q4_1 %.5f; Q5_K %.5f vs Q5_1 %.5f\n", k4, q41, k5, q51);
    assert_true(k4 < q41);
    assert_true(k5 < q51);
    free(x);
}

/* Real weight rows mix quiet and loud stretches. With each 32-value stretch
 * scaled by 2^(-k/4), k uniform in 0..16, the K types' 6-bit sub-block scales
 * must still serve the quiet stretches: the mean over sub-blocks of their own
 * relative RMS error stays near the uniform-data figure. */
static void test_k_dynamic_range(void **state)
{
    (void)state;
    const int64_t n = 16384;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    uint8_t *q = malloc((size_t)n * sizeof(float));
    uint64_t seed = 5;
    fill_normal(x, n, 11, 0.0, 1.0);
    for (int64_t b = 0; b < n / 32; b++) {
        double scale = 1.0;
        for (uint64_t k = ccai_rng_next(&seed) % 17; k > 0; k--)
            scale *= 0.8408964152537145; /* 2^-1/4 */
        for (int j = 0; j < 32; j++)
            x[32 * b + j] *= (float)scale;
    }
    static const struct {
        uint32_t type;
        double bound;
    } cases[] = {{GGML_TYPE_Q4_K, 0.080}, {GGML_TYPE_Q5_K, 0.042}, {GGML_TYPE_Q6_K, 0.020}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        llm_quantize_row(cases[c].type, x, q, n);
        llm_dequantize_row(cases[c].type, q, y, n);
        double mean = 0;
        for (int64_t b = 0; b < n / 32; b++) {
            double se = 0, sx = 0;
            for (int j = 0; j < 32; j++) {
                double e = (double)y[32 * b + j] - x[32 * b + j];
                se += e * e;
                sx += (double)x[32 * b + j] * x[32 * b + j];
            }
            mean += sqrt_d(se / sx) / (double)(n / 32);
        }
        print_message("%-5s mean sub-block rel rms %.5f (bound %.3f)\n",
                      ggml_type_name(cases[c].type), mean, cases[c].bound);
        assert_true(mean <= cases[c].bound);
    }
    free(x);
    free(y);
    free(q);
}

/* Special blocks: all zero, constant, one non-zero value, tiny values. */
static void test_quantize_special_blocks(void **state)
{
    (void)state;
    static const uint32_t types[] = {GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0,
                                     GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K,
                                     GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_Q8_K};
    float x[256], y[256];
    _Alignas(8) uint8_t q[292];
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        memset(x, 0, sizeof x);
        llm_quantize_row(types[t], x, q, 256);
        llm_dequantize_row(types[t], q, y, 256);
        for (int i = 0; i < 256; i++)
            assert_true(y[i] == 0.0f);

        x[17] = -3.0f; /* one value: every type represents it closely */
        llm_quantize_row(types[t], x, q, 256);
        llm_dequantize_row(types[t], q, y, 256);
        assert_true(fabsf(y[17] + 3.0f) <= 3.0f * 0x1p-8f);
        for (int i = 0; i < 256; i++)
            if (i != 17)
                assert_true(fabsf(y[i]) <= 3.0f / 8);
    }
    /* A negative constant is exact for the min types. */
    for (int i = 0; i < 256; i++)
        x[i] = -0.75f;
    llm_quantize_row(GGML_TYPE_Q4_K, x, q, 256);
    llm_dequantize_row(GGML_TYPE_Q4_K, q, y, 256);
    for (int i = 0; i < 256; i++)
        assert_true(fabsf(y[i] + 0.75f) <= 0.75f * 0x1p-9f);
}

/* ---- Activations ------------------------------------------------------------------- */

static void test_activation_formats(void **state)
{
    (void)state;
    const int64_t n = 512;
    float x[512], y[512];
    fill_normal(x, n, 3, 0.0, 2.0);
    block_act_q8_1 a1[16];
    llm_quantize_act(LLM_ACT_Q8_1, x, a1, n);
    llm_dequantize_act(LLM_ACT_Q8_1, a1, y, n);
    for (int b = 0; b < 16; b++) {
        int sum = 0;
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            sum += a1[b].qs[j];
            amax = maxf(amax, fabsf(x[32 * b + j]));
            assert_true(fabsf(y[32 * b + j] - x[32 * b + j]) <= a1[b].d * 0.5f * 1.0001f);
        }
        assert_true(a1[b].d == amax / 127.0f);
        assert_true(a1[b].s == a1[b].d * (float)sum);
    }
    block_q8_K ak[2];
    llm_quantize_act(LLM_ACT_Q8_K, x, ak, n);
    llm_dequantize_act(LLM_ACT_Q8_K, ak, y, n);
    for (int b = 0; b < 2; b++) {
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int i = 0; i < 16; i++)
                sum += ak[b].qs[16 * g + i];
            assert_int_equal(ak[b].bsums[g], sum);
        }
        for (int i = 0; i < 256; i++)
            assert_true(fabsf(y[256 * b + i] - x[256 * b + i]) <= ak[b].d * 0.5f * 1.0001f);
    }
    float f[512];
    llm_quantize_act(LLM_ACT_F32, x, f, n);
    assert_memory_equal(f, x, sizeof f);
    /* A zero block quantizes to zeros with d = 0. */
    memset(x, 0, 32 * sizeof *x);
    llm_quantize_act(LLM_ACT_Q8_1, x, a1, 32);
    assert_true(a1[0].d == 0.0f && a1[0].s == 0.0f && a1[0].qs[5] == 0);
}

/* A type without quantization code is a programming error: it aborts. */
static void test_unsupported_type_aborts(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(2);
        float y[256];
        uint8_t blk[84] = {0};
        llm_dequantize_row(GGML_TYPE_Q2_K, blk, y, 256);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp16_known_values),
        cmocka_unit_test(test_fp16_rounding_ties),
        cmocka_unit_test(test_fp16_all_codes),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_sizes_and_pairing),
        cmocka_unit_test(test_kq_scale_packing),
        cmocka_unit_test(test_dequant_32_blocks),
        cmocka_unit_test(test_dequant_q4_K_q5_K),
        cmocka_unit_test(test_dequant_q6_K_q8_K),
        cmocka_unit_test(test_float_rows),
        cmocka_unit_test(test_quantize_error_bounds),
        cmocka_unit_test(test_k_search_beats_minmax),
        cmocka_unit_test(test_k_dynamic_range),
        cmocka_unit_test(test_quantize_special_blocks),
        cmocka_unit_test(test_activation_formats),
        cmocka_unit_test(test_unsupported_type_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
