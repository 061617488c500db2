/* TEE providers: where evidence comes from. A provider is a small table of
 * functions chosen once at start-up (style.md "pluggable back ends"):
 *
 *   tdx  Linux configfs-tsm quotes, sysfs RTMR extend/read (tdx-facts §4);
 *   sim  the simulated TD of the blueprint (real v4 quotes signed through a
 *        simulated PCK chain; never confidential).
 *
 * The file-system roots are part of tee_config so tests run the tdx provider
 * against a fake tree. */
#ifndef CCAI_TEE_PROVIDER_H
#define CCAI_TEE_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define TEE_DEFAULT_TSM_ROOT "/sys/kernel/config/tsm/report"
#define TEE_DEFAULT_TDX_MEASUREMENTS "/sys/class/misc/tdx_guest/measurements"
#define TEE_DEFAULT_CCEL_DATA "/sys/firmware/acpi/tables/data/CCEL"

typedef struct tee_config {
    const char *state_dir;      /* ccai state (sim TD, runtime event logs); required */
    const char *tsm_root;       /* NULL: TEE_DEFAULT_TSM_ROOT */
    const char *measurements;   /* NULL: TEE_DEFAULT_TDX_MEASUREMENTS */
    const char *ccel_path;      /* NULL: TEE_DEFAULT_CCEL_DATA */
    bool sim_debug;             /* sim: report a debug TD (negative tests) */
} tee_config;

/* The TD's measurement registers as the provider reads them now. */
typedef struct tee_measurements {
    uint8_t mr_td[48];
    uint8_t mr_config_id[48];
    uint8_t mr_owner[48];
    uint8_t mr_owner_config[48];
    uint8_t rtmr[4][48];
} tee_measurements;

typedef struct tee_provider tee_provider;

typedef struct tee_provider_ops {
    const char *name;  /* "tdx" or "sim" */
    const char *tee;   /* the evidence label: "tdx" or "tdx-sim" */
    /* A quote over exactly 64 bytes of report data; *quote is malloc'd, the
     * caller frees it. */
    ccai_code (*get_quote)(tee_provider *p, const uint8_t report_data[64], uint8_t **quote,
                           size_t *quote_len, ccai_err *err);
    /* RTMR[index] = SHA-384(RTMR[index] || digest). */
    ccai_code (*extend_rtmr)(tee_provider *p, unsigned index, const uint8_t digest[48],
                             ccai_err *err);
    ccai_code (*read_measurements)(tee_provider *p, tee_measurements *out, ccai_err *err);
    /* The firmware (CCEL) event log, when the platform has one: *data is
     * malloc'd. CCAI_ERR_NOT_FOUND when there is none. */
    ccai_code (*read_ccel)(tee_provider *p, uint8_t **data, size_t *len, ccai_err *err);
    void (*destroy)(tee_provider *p);
} tee_provider_ops;

struct tee_provider {
    const tee_provider_ops *ops;
    void *impl;
    /* Directory for this provider's runtime event log (created on open):
     * <state_dir>/sim for sim, <state_dir>/tdx for tdx. Owned. */
    char *runtime_dir;
};

/* kind: "auto" (tdx when configfs-tsm reports provider tdx_guest, else an
 * error that suggests --tee sim), "tdx" or "sim". */
ccai_code tee_provider_open(const char *kind, const tee_config *cfg, tee_provider **out,
                            ccai_err *err);
ccai_code tee_provider_open_tdx(const tee_config *cfg, tee_provider **out, ccai_err *err);
ccai_code tee_provider_open_sim(const tee_config *cfg, tee_provider **out, ccai_err *err);
/* True when cfg's configfs-tsm root exists and reads provider tdx_guest. */
bool tee_tdx_available(const tee_config *cfg);
void tee_provider_close(tee_provider *p);

#endif
