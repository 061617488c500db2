/* The verified facts about a quote as one flat JSON object: the quote's
 * fields named as the attestation token will name them (blueprint
 * "Attestation service API": mr_td, rtmr_0..3, mr_seam, seam_attributes,
 * td_attributes and its decoded bits, xfam, report_data, TCB status, TCB
 * date, advisory IDs), the replayed runtime events (binary, config, models)
 * and the verification steps. `ccai verify --json` prints it; the
 * attestation service will sign it. */
#ifndef CCAI_TEE_CLAIMS_H
#define CCAI_TEE_CLAIMS_H

#include <jansson.h>

#include "tee/eventlog.h"
#include "tee/quote.h"
#include "tee/verify.h"

/* log may be NULL. The caller owns the result. */
json_t *tdx_claims(const tdx_quote *q, const tdx_verify_result *vr, const tee_eventlog *log);

/* {"binary":[sha256..],"config":{...}|null,"models":[{"name":..,"sha256":..}]}
 * from the ccai.binary / ccai.config / ccai.model events of log. */
json_t *tdx_claims_events(const tee_eventlog *log);

#endif
