/* Private to policy.c (which parses policies) and appraise.c (which applies
 * them): the layout of the opaque tdx_policy of appraise.h. Nothing outside
 * those two files includes this. */
#ifndef CCAI_TEE_POLICY_INTERNAL_H
#define CCAI_TEE_POLICY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tee/appraise.h"
#include "tee/tcbinfo.h"

/* The 48-byte registers a policy may name, in check order. */
enum {
    TDX_POLICY_MR_TD,
    TDX_POLICY_RTMR0,
    TDX_POLICY_RTMR1,
    TDX_POLICY_RTMR2,
    TDX_POLICY_MR_SEAM,
    TDX_POLICY_MR_CONFIG_ID,
    TDX_POLICY_MR_OWNER,
    TDX_POLICY_N_REGISTERS,
};

/* "Any of" a list of byte strings of one width. */
typedef struct tdx_value_list {
    bool present;   /* the policy names the member */
    size_t width;   /* bytes per value */
    size_t n;
    uint8_t *v;     /* n * width bytes, owned */
} tdx_value_list;

struct tdx_policy {
    char *id;
    uint8_t sha256[32];
    size_t n_statuses;
    tdx_tcb_status *statuses;   /* owned; the default list when not named */
    bool allow_debug, allow_simulated, require_runtime_log;
    tdx_value_list mr[TDX_POLICY_N_REGISTERS];
    size_t n_xfam;              /* 0: not named */
    uint64_t *xfam;             /* owned */
    bool has_attributes;
    uint64_t attr_value, attr_mask;
    tdx_value_list binary, model;   /* 32-byte SHA-256 digests */
    json_t *config;             /* required config values, or NULL; owned */
    bool has_report_data;
    uint8_t report_data[64];
    bool has_max_age;
    long long max_age_s;
};

#endif
