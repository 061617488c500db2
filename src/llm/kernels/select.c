/* Choosing a kernel table (kernels.h): by name, or the best this CPU runs.
 * A SIMD back end joins by adding a row to BACKENDS, best first, with a probe
 * that says whether the CPU runs it (e.g. __builtin_cpu_supports). */
#include "llm/kernels/kernels.h"

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

static const backend BACKENDS[] = {
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
