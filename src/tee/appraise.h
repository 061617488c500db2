/* Policy appraisal (appraise stage): compare verified evidence with a policy
 * of reference values (blueprint "Policies") and list every check with its
 * name, expected value, actual value and outcome.
 *
 * Policy file (JSON; every member optional unless said):
 *   {
 *     "id": "prod-r1",                         policy id (default: file name)
 *     "tcb_statuses": ["UpToDate", "SWHardeningNeeded"],
 *     "allow_debug": false,                    td_attributes DEBUG bit
 *     "allow_simulated": false,                tee "tdx-sim"
 *     "mr_td": ["<96 hex>", ...],              allowed values, any of
 *     "rtmr0": [...], "rtmr1": [...], "rtmr2": [...],
 *     "mr_seam": [...], "mr_config_id": [...], "mr_owner": [...],
 *     "xfam": ["00000000000602e7", ...],       16 hex digits (u64)
 *     "td_attributes": {"value": "<16 hex>", "mask": "<16 hex>"},
 *     "binary_sha256": ["<64 hex>", ...],      from ccai.binary events
 *     "model_sha256": ["<64 hex>", ...],       every ccai.model event must match
 *     "config": {"key": value, ...},           required values in ccai.config events
 *     "report_data": "<128 hex>",              expected report data
 *     "max_collateral_age_s": 2592000,         now - oldest collateral issue time
 *     "require_runtime_log": true              RTMR3 must replay from a log
 *   }
 * Unknown members are rejected (a typo must not silently weaken a policy).
 * The built-in default policy (id "default"): real TDX only, no debug,
 * UpToDate or SWHardeningNeeded. It does not require a runtime log (a given
 * log must replay, or verification fails); policies that name digests or
 * config values fail closed without one.
 * A policy's hash is the SHA-256 of its file bytes (of the canonical JSON for
 * the default). */
#ifndef CCAI_TEE_APPRAISE_H
#define CCAI_TEE_APPRAISE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"
#include "tee/eventlog.h"
#include "tee/quote.h"
#include "tee/verify.h"

typedef struct tdx_policy tdx_policy;   /* opaque */

/* Parses a policy text; id_hint names it when it has no "id". */
ccai_code tdx_policy_parse(const char *text, size_t len, const char *id_hint, tdx_policy **out,
                           ccai_err *err);
ccai_code tdx_policy_read_file(const char *path, tdx_policy **out, ccai_err *err);
tdx_policy *tdx_policy_default(void);
const char *tdx_policy_id(const tdx_policy *p);
void tdx_policy_hash(const tdx_policy *p, uint8_t out[32]);
/* The policy's allow_simulated (the verifier then trusts the simulated root). */
bool tdx_policy_allows_simulated(const tdx_policy *p);
void tdx_policy_free(tdx_policy *p);

typedef struct tdx_check {
    char *name;      /* "tcb_status", "debug", "simulated", "mr_td", "rtmr1",
                        "binary_sha256", "model_sha256", "config.<key>",
                        "report_data", "collateral_age", "runtime_log", "verified" */
    char *expected;  /* human-readable expected value(s) */
    char *actual;
    bool ok;
    char *reason;    /* one line for a failure ("mr_td: expected one of [..], found ..") */
} tdx_check;

typedef struct tdx_appraisal {
    bool pass;
    char *policy_id;
    uint8_t policy_sha256[32];
    size_t n_checks;
    tdx_check *checks;
} tdx_appraisal;

/* What appraisal looks at besides the policy. */
typedef struct tdx_appraise_input {
    const tdx_quote *quote;
    const tdx_verify_result *verify;   /* appraisal fails closed when !verified */
    const tee_eventlog *runtime_log;   /* the replayed log (NULL: none given) */
    const uint8_t *report_data;        /* expected by the caller (64 bytes) or NULL */
    time_t at;
    /* The caller explicitly accepts simulated evidence (--trust-simulated):
     * the "simulated" check passes for tee "tdx-sim" even when the policy
     * does not allow it (its actual value still says "tdx-sim"). */
    bool trust_simulated;
} tdx_appraise_input;

/* Fills *out (free with tdx_appraisal_free); never fails on evidence — a
 * mismatch is a failed check. CCAI_ERR_* only for internal errors. */
ccai_code tdx_appraise(const tdx_policy *p, const tdx_appraise_input *in, tdx_appraisal *out,
                       ccai_err *err);
void tdx_appraisal_free(tdx_appraisal *a);

/* {"policy_id":..,"policy_sha256":..,"pass":..,"checks":[{"name","expected",
 *  "actual","ok","reason"}],"failed":[{"name","reason"}]} */
json_t *tdx_appraisal_to_json(const tdx_appraisal *a);

#endif
