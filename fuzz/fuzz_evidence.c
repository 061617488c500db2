/* Fuzz target: evidence parsing (src/tee/evidence.c) on hostile request
 * bodies: ccai-attest/1 objects, the {"evidence": ...} wrapper and the
 * Alibaba/Trustee form. Any input must give a clean error (with a message)
 * or a struct whose sizes respect the documented bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tee/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tee_evidence ev;
    ccai_err err = {0};
    ccai_code rc = tee_evidence_parse((const char *)data, size, &ev, &err);
    if (rc != CCAI_OK) {
        if (!err.msg[0])
            abort(); /* every failure says why */
        tee_evidence_free(&ev);
        return 0;
    }
    if (!ev.tee || !ev.quote || ev.quote_len == 0 || ev.quote_len > TEE_EVIDENCE_MAX_QUOTE ||
        ev.ccel_len > TEE_EVIDENCE_MAX_CCEL || ev.log.count > TEE_EVIDENCE_MAX_EVENTS ||
        ev.n_policy_ids > TEE_EVIDENCE_MAX_POLICY_IDS ||
        (ev.form == TEE_EVIDENCE_CCAI && (!ev.has_nonce || !ev.nonce_text)) ||
        (ev.has_runtime_data && ev.runtime_data_len > TEE_EVIDENCE_MAX_RUNTIME_DATA))
        abort();
    for (size_t i = 0; i < ev.n_policy_ids; i++)
        if (strlen(ev.policy_ids[i]) > TEE_EVIDENCE_MAX_POLICY_ID)
            abort();
    tee_evidence_free(&ev);
    return 0;
}
