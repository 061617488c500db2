/* ggml tensor types (llm-facts §1, §2): the ids a GGUF tensor info carries and
 * the block geometry of each, so that the loader can size a tensor from its
 * shape and the quantization code can walk rows. An id outside this table is
 * unknown (a file using it cannot be loaded); a known id may still be one the
 * engine has no kernels for (ggml_type_supported), which the model layer
 * decides about. */
#ifndef CCAI_LLM_GGML_TYPES_H
#define CCAI_LLM_GGML_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ggml_type {
    GGML_TYPE_F32 = 0,
    GGML_TYPE_F16 = 1,
    GGML_TYPE_Q4_0 = 2,
    GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6,
    GGML_TYPE_Q5_1 = 7,
    GGML_TYPE_Q8_0 = 8,
    GGML_TYPE_Q8_1 = 9,
    GGML_TYPE_Q2_K = 10,
    GGML_TYPE_Q3_K = 11,
    GGML_TYPE_Q4_K = 12,
    GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14,
    GGML_TYPE_Q8_K = 15,
    GGML_TYPE_BF16 = 30,
} ggml_type;

/* The type's name ("F32", "Q4_K"), or "unknown" for an id not listed above. */
const char *ggml_type_name(uint32_t t);
/* True for every id listed above (the loader can size its tensors). */
bool ggml_type_known(uint32_t t);
/* True for the engine's weight types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
 * Q5_1, Q4_K, Q5_K, Q6_K. */
bool ggml_type_supported(uint32_t t);
/* Values per block: 1 for F32/F16/BF16, 32 for the Q*_0/Q*_1 types, 256 for
 * the K types; 0 for an unknown id. */
uint32_t ggml_blck_size(uint32_t t);
/* Bytes per block; 0 for an unknown id. */
uint32_t ggml_type_size(uint32_t t);
/* Bytes of a row of n values of type t. False (and *out untouched) for an
 * unknown type, when n is not a multiple of the block size, or when the size
 * does not fit size_t. */
bool ggml_row_bytes(uint32_t t, uint64_t n, size_t *out);

#endif
