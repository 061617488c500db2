/* Choosing a kernel table (kernels.h): by name, or the best this CPU runs.
 * A SIMD back end joins by adding a row to BACKENDS, best first, with a probe
 * that says whether the CPU runs it (e.g. __builtin_cpu_supports). */
#include "llm/kernels/kernels.h"

#include <cpuid.h>
#include <stdbool.h>
#include <string.h>

#include "base/mem.h"

typedef struct backend {
    const char *name;
    const llm_kernels *(*table)(void);
    bool (*runs_here)(void);
} backend;

static bool always(void)
{
    return true;
}

/* F16C through CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports
 * does not know "f16c". */
static bool has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

static bool has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
}

static bool has_avx512(void)
{
    __builtin_cpu_init();
    return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}

static const backend BACKENDS[] = {
    {"avx512", llm_kernels_avx512, has_avx512},
    {"avx2", llm_kernels_avx2, has_avx2},
    {"scalar", llm_kernels_scalar, always},
};

#define N_BACKENDS (sizeof BACKENDS / sizeof BACKENDS[0])

size_t llm_kernels_available(const llm_kernels **out, size_t cap)
{
    size_t count = 0;
    for (size_t i = 0; i < N_BACKENDS; i++) {
        if (!BACKENDS[i].runs_here())
            continue;
        if (count < cap)
            out[count] = BACKENDS[i].table();
        count++;
    }
    return count;
}

const llm_kernels *llm_kernels_get(const char *name, ccai_err *err)
{
    bool best = name == NULL || strcmp(name, "auto") == 0;
    for (size_t i = 0; i < N_BACKENDS; i++) {
        if (!best && strcmp(name, BACKENDS[i].name) != 0)
            continue;
        if (BACKENDS[i].runs_here())
            return BACKENDS[i].table();
        if (!best) {
            ccai_fail(err, CCAI_ERR_UNSUPPORTED, "kernels: '%s' does not run on this CPU", name);
            return NULL;
        }
    }
    /* Unknown name (the scalar row always runs, so "auto" never gets here). */
    ccai_buf list = {0};
    for (size_t i = 0; i < N_BACKENDS; i++) {
        if (!BACKENDS[i].runs_here())
            continue;
        ccai_buf_append_str(&list, list.len ? ", " : "");
        ccai_buf_append_str(&list, BACKENDS[i].name);
    }
    ccai_buf_u8(&list, 0);
    ccai_fail(err, CCAI_ERR_ARG, "kernels: unknown kernel set '%s' (available: auto, %s)", name,
              (const char *)list.data);
    ccai_buf_free(&list);
    return NULL;
}
