/* Private to the avx512 kernel back end (kernels/avx512*.c and its tests).
 *
 * Layout of the back end:
 * - avx512.c: the tables, the activation quantizers and the float weight
 *   types (F32, F16, BF16);
 * - avx512_q32.inc (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) and avx512_qk.inc (Q4_K,
 *   Q5_K, Q6_K): the integer kernels, written once and compiled twice, by
 *   avx512_vnni.c (vpdpbusd/vpdpwssd) and avx512_novnni.c (vpmaddubsw and
 *   vpmaddwd), so the back end also runs on AVX-512 CPUs without VNNI;
 * - avx512_gemv.inc, avx512_gemvk.inc: gemv, the decode form (four rows
 *   at a time for Q4_0, Q4_K and Q6_K, the other types one vec_dot per
 *   row), in the same template.
 *
 * Both variants compute the same exact integer block sums and then the same
 * float operations in the same order, so they give bit-identical results; and
 * each gemm (and gemv) repeats its vec_dot's float operations per (row,
 * column), so both equal vec_dot bit for bit (kernels.h). The fixed orders are documented
 * where they are defined (avx512_q32.inc, avx512_qk.inc, avx512.c). */
#ifndef CCAI_LLM_KERNELS_AVX512_INTERNAL_H
#define CCAI_LLM_KERNELS_AVX512_INTERNAL_H

#include <stdbool.h>

#include "llm/kernels/kernels.h"

/* The ISA every function of the back end is compiled for; select.c's probe
 * (avx512f, bw, vl, plus avx2, fma, f16c) guards it. The VNNI variant adds
 * avx512vnni. */
#define LLM_AVX512_ISA "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c"

/* Fully unrolls the short fixed-count loop that follows (rows, columns,
 * slots of a tile): arrays of vector registers indexed by a loop counter stay
 * in registers only when every index is a constant. */
#if defined(__clang__)
#define LLM_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define LLM_UNROLL _Pragma("GCC unroll 64")
#else
#define LLM_UNROLL
#endif

/* Float weights (avx512.c): the dot product of one row with f32 activations,
 * and its batched form (same contract as llm_kernels.gemm). */
float llm_avx512_dot_float(uint32_t type, int64_t n, const void *w, const float *x);
void llm_avx512_gemm_float(uint32_t type, int64_t n, int64_t rows, const void *w,
                           size_t w_row_stride, int64_t cols, const void *act, size_t act_stride,
                           float *out, size_t out_stride);

/* Quantized weights, one pair per variant (avx512_vnni.c, avx512_novnni.c).
 * They take every type of ggml_type_supported except the float ones. */
float llm_avx512_vec_dot_q_vnni(uint32_t type, int64_t n, const void *w, const void *act);
void llm_avx512_gemm_q_vnni(uint32_t type, int64_t n, int64_t rows, const void *w,
                            size_t w_row_stride, int64_t cols, const void *act, size_t act_stride,
                            float *out, size_t out_stride);
void llm_avx512_gemv_q_vnni(uint32_t type, int64_t n, int64_t rows, const void *w,
                            size_t w_row_stride, const void *act, float *out);
void llm_avx512_gemv_q_novnni(uint32_t type, int64_t n, int64_t rows, const void *w,
                              size_t w_row_stride, const void *act, float *out);
float llm_avx512_vec_dot_q_novnni(uint32_t type, int64_t n, const void *w, const void *act);
void llm_avx512_gemm_q_novnni(uint32_t type, int64_t n, int64_t rows, const void *w,
                              size_t w_row_stride, int64_t cols, const void *act,
                              size_t act_stride, float *out, size_t out_stride);

/* The avx512 table with (vnni = true) or without VNNI, whatever the CPU has;
 * llm_kernels_avx512() picks the VNNI one when the CPU runs it. For tests:
 * the caller must check that the CPU runs the variant it asks for
 * (llm_avx512_cpu_runs). */
const llm_kernels *llm_kernels_avx512_variant(bool vnni);
bool llm_avx512_cpu_runs(bool vnni);

#endif
