/* Compute kernels: one table of functions per back end (style.md, "pluggable
 * back ends"), chosen once at start-up. "scalar" is the reference, written as
 * plain loops over the block formats of llm/quant.h; every faster back end
 * (avx2, avx512, ...) fills the same table and is tested against it
 * (tests/unit/llm/test_kernels.c, docs/quant.md).
 *
 * Contract of a matvec y = W x (llm-facts §1: y[i] = dot(row_i, x)): quantize
 * x once with quantize_act(llm_act_for(W's type), ...) into a buffer of
 * llm_act_row_bytes bytes, then call vec_dot (or gemm for several vectors)
 * per row, the weight row used in place from the mapped file. n, the row
 * length, is a multiple of the weight type's block size. Weight types are
 * those of ggml_type_supported(); an activation row must be in the format
 * llm_act_for(weight_type) names. Everything here is pure and thread-safe:
 * callers split rows across threads freely. */
#ifndef CCAI_LLM_KERNELS_H
#define CCAI_LLM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "llm/quant.h"

typedef struct llm_kernels {
    const char *name;
    /* out (llm_act_row_bytes(a, n) bytes) = x[0..n) in format a. A back end
     * may round ties differently from llm_quantize_act; its vec_dot results
     * are compared to the reference within the activation tolerance. */
    void (*quantize_act)(llm_act a, const float *x, void *out, int64_t n);
    /* The dot product of one weight row (n values of weight_type) with one
     * activation row in llm_act_for(weight_type). */
    float (*vec_dot)(uint32_t weight_type, int64_t n, const void *w_row, const void *act_row);
    /* Batched form for prefill: out[c*out_stride + r] = dot(row r, act col c)
     * for r < rows, c < cols. Row r of the weights is at w + r*w_row_stride
     * bytes, activation column c at act + c*act_stride bytes; out_stride is in
     * floats. Must equal repeated vec_dot exactly (same rounding), so that a
     * token's logits do not depend on how it was batched. NULL when a back end
     * has none: callers then loop over vec_dot. */
    void (*gemm)(uint32_t weight_type, int64_t n, int64_t rows, const void *w, size_t w_row_stride,
                 int64_t cols, const void *act, size_t act_stride, float *out, size_t out_stride);
    /* Decode form: out[r] = dot(row r, act) for r < rows, row r at w +
     * r*w_row_stride bytes, one activation row. Must equal vec_dot exactly
     * (it exists only to be faster: the activation side is shared between
     * rows). NULL when a back end has none: callers loop over vec_dot. */
    void (*gemv)(uint32_t weight_type, int64_t n, int64_t rows, const void *w,
                 size_t w_row_stride, const void *act, float *out);
} llm_kernels;

/* The reference back end: always available. */
const llm_kernels *llm_kernels_scalar(void);
/* SIMD back ends (kernels/avx2.c, kernels/avx512.c), compiled with target
 * attributes so one binary runs everywhere; select.c probes the CPU before
 * handing them out. avx512 needs AVX-512 F, BW, VL (and uses VNNI's
 * vpdpbusd when the CPU has it); avx2 needs AVX2, FMA and F16C. */
const llm_kernels *llm_kernels_avx2(void);
const llm_kernels *llm_kernels_avx512(void);

/* By name: NULL or "auto" gives the best back end this CPU runs; "scalar"
 * the reference. An unknown name is CCAI_ERR_ARG with the list of available
 * names. The returned table is static (never freed). */
const llm_kernels *llm_kernels_get(const char *name, ccai_err *err);

/* The back ends this CPU runs, best first: fills out[0..cap) and returns how
 * many there are (tests compare each against the scalar reference). */
size_t llm_kernels_available(const llm_kernels **out, size_t cap);

#endif
