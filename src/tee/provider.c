/* Choosing a TEE provider by name (style.md "pluggable back ends"): the one
 * place that knows which providers exist. "auto" takes the real TD when the
 * kernel offers one and otherwise says how to get the simulated one, never
 * silently falling back to simulated (never confidential) evidence.
 *
 * Ownership: tee_provider_close releases everything open returned. A
 * provider's destroy frees its impl; close frees runtime_dir and the
 * tee_provider itself. */
#include <stdlib.h>
#include <string.h>

#include "tee/provider.h"

ccai_code tee_provider_open(const char *kind, const tee_config *cfg, tee_provider **out,
                            ccai_err *err)
{
    if (!cfg || !cfg->state_dir)
        return ccai_fail(err, CCAI_ERR_ARG, "TEE provider: a state directory is required");
    if (!kind)
        kind = "auto";
    if (strcmp(kind, "auto") == 0) {
        if (tee_tdx_available(cfg))
            return tee_provider_open_tdx(cfg, out, err);
        return ccai_fail(err, CCAI_ERR_NOT_FOUND,
                         "no TDX guest interface (configfs-tsm at %s with provider tdx_guest); "
                         "use --tee sim for the simulated TD",
                         cfg->tsm_root ? cfg->tsm_root : TEE_DEFAULT_TSM_ROOT);
    }
    if (strcmp(kind, "tdx") == 0)
        return tee_provider_open_tdx(cfg, out, err);
    if (strcmp(kind, "sim") == 0)
        return tee_provider_open_sim(cfg, out, err);
    return ccai_fail(err, CCAI_ERR_ARG, "unknown TEE provider \"%s\" (expected auto, tdx or sim)",
                     kind);
}

void tee_provider_close(tee_provider *p)
{
    if (!p)
        return;
    if (p->ops && p->ops->destroy)
        p->ops->destroy(p);
    free(p->runtime_dir);
    free(p);
}
