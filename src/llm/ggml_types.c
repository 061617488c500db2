/* ggml type table: see ggml_types.h. Block sizes and byte counts follow the
 * block layouts in llm-facts §2 (and ggml's for the types not described
 * there: Q4_1 {d, m, qs[16]}, Q5_0 {d, qh[4], qs[16]}, Q5_1 {d, m, qh[4],
 * qs[16]}, Q8_1 {d, s, qs[32]}, Q2_K, Q3_K, Q5_K). */
#include "llm/ggml_types.h"

typedef struct type_info {
    const char *name;
    uint32_t blck;     /* 0: not a known id */
    uint32_t size;
    bool supported;
} type_info;

/* Indexed by id; the gap 4..5 (removed Q4_2/Q4_3) and 16..29 stay zero. */
static const type_info TYPES[] = {
    [GGML_TYPE_F32] = {"F32", 1, 4, true},
    [GGML_TYPE_F16] = {"F16", 1, 2, true},
    [GGML_TYPE_Q4_0] = {"Q4_0", 32, 18, true},
    [GGML_TYPE_Q4_1] = {"Q4_1", 32, 20, true},
    [GGML_TYPE_Q5_0] = {"Q5_0", 32, 22, true},
    [GGML_TYPE_Q5_1] = {"Q5_1", 32, 24, true},
    [GGML_TYPE_Q8_0] = {"Q8_0", 32, 34, true},
    [GGML_TYPE_Q8_1] = {"Q8_1", 32, 36, false},
    [GGML_TYPE_Q2_K] = {"Q2_K", 256, 84, false},
    [GGML_TYPE_Q3_K] = {"Q3_K", 256, 110, false},
    [GGML_TYPE_Q4_K] = {"Q4_K", 256, 144, true},
    [GGML_TYPE_Q5_K] = {"Q5_K", 256, 176, true},
    [GGML_TYPE_Q6_K] = {"Q6_K", 256, 210, true},
    [GGML_TYPE_Q8_K] = {"Q8_K", 256, 292, false},
    [GGML_TYPE_BF16] = {"BF16", 1, 2, true},
};

static const type_info *info(uint32_t t)
{
    if (t >= sizeof TYPES / sizeof TYPES[0] || TYPES[t].blck == 0)
        return NULL;
    return &TYPES[t];
}

const char *ggml_type_name(uint32_t t)
{
    const type_info *i = info(t);
    return i ? i->name : "unknown";
}

bool ggml_type_known(uint32_t t)
{
    return info(t) != NULL;
}

bool ggml_type_supported(uint32_t t)
{
    const type_info *i = info(t);
    return i && i->supported;
}

uint32_t ggml_blck_size(uint32_t t)
{
    const type_info *i = info(t);
    return i ? i->blck : 0;
}

uint32_t ggml_type_size(uint32_t t)
{
    const type_info *i = info(t);
    return i ? i->size : 0;
}

bool ggml_row_bytes(uint32_t t, uint64_t n, size_t *out)
{
    const type_info *i = info(t);
    if (!i || n % i->blck != 0)
        return false;
    uint64_t bytes;
    if (__builtin_mul_overflow(n / i->blck, (uint64_t)i->size, &bytes) || bytes > SIZE_MAX)
        return false;
    *out = (size_t)bytes;
    return true;
}
