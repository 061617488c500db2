/* Attestation evidence as relying parties receive it (parse stage: bytes ->
 * struct, bounds and type checks, no crypto, no policy). Two forms:
 *
 *  ccai-attest/1 (blueprint "Trust protocol"), optionally wrapped as
 *    {"evidence": <that object>, "policy_ids": [..], "strict": bool}:
 *    {"version":"ccai-attest/1","tee":"tdx"|"tdx-sim","nonce":"<base64url 32>",
 *     "quote":"<base64>","event_log":[{"mr","digest","event"}..],
 *     "tls_spki_sha256":"<64 hex>"|null,"cc_eventlog":"<base64>"?,
 *     "collateral":{..}?,"e2e_key":null?}
 *
 *  Alibaba Cloud Remote Attestation Service / Trustee request:
 *    {"tee":"tdx","evidence":"<base64url-nopad of JSON {quote, cc_eventlog,
 *     aa_eventlog}>","policy_ids":[..],"runtime_data":{"raw":"<base64>"}}
 *    aa_eventlog is null/absent (no runtime log) or a ccai event log array;
 *    the Attestation Agent's text log is not understood and is rejected.
 *
 * The evidence's own "tee" is a claim of the sender and is kept only for
 * messages: verification decides the real TEE type. Every error names the
 * member and says what was expected and what was found. */
#ifndef CCAI_TEE_EVIDENCE_H
#define CCAI_TEE_EVIDENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "tee/eventlog.h"

enum {
    TEE_EVIDENCE_MAX_QUOTE = 64 << 10,   /* bytes of a decoded quote */
    TEE_EVIDENCE_MAX_CCEL = 1 << 20,     /* bytes of a decoded firmware log */
    TEE_EVIDENCE_MAX_EVENTS = 4096,      /* runtime log entries */
    TEE_EVIDENCE_MAX_RUNTIME_DATA = 4096,/* bytes of Trustee runtime_data.raw */
    TEE_EVIDENCE_MAX_POLICY_IDS = 8,
    TEE_EVIDENCE_MAX_POLICY_ID = 128,    /* characters of one policy id */
    TEE_EVIDENCE_NONCE_LEN = 32,
};

typedef enum { TEE_EVIDENCE_CCAI, TEE_EVIDENCE_TRUSTEE } tee_evidence_form;

typedef struct tee_evidence {
    tee_evidence_form form;
    char *tee;                   /* as the sender claims it ("tdx", "tdx-sim") */
    uint8_t *quote;              /* decoded quote bytes (not parsed yet) */
    size_t quote_len;
    /* ccai-attest/1 */
    bool has_nonce;
    uint8_t nonce[TEE_EVIDENCE_NONCE_LEN];
    char *nonce_text;            /* the base64url text as given, or NULL */
    bool has_spki;
    uint8_t spki_sha256[32];
    bool has_e2e;                /* e2e_key present and not null (reserved) */
    /* the runtime log (RTMR3); has_log false when the evidence carries none */
    bool has_log;
    tee_eventlog log;
    uint8_t *ccel;               /* decoded firmware event log, or NULL */
    size_t ccel_len;
    json_t *collateral;          /* the evidence's collateral bundle (a reference), or NULL */
    /* Trustee */
    bool has_runtime_data;
    uint8_t *runtime_data;       /* runtime_data.raw decoded */
    size_t runtime_data_len;
    char *runtime_data_text;     /* as given */
    /* request options (both forms) */
    size_t n_policy_ids;
    char *policy_ids[TEE_EVIDENCE_MAX_POLICY_IDS];
    bool strict;                 /* "strict": true in the body */
} tee_evidence;

/* A ccai-attest/1 evidence object (not the wrapper). out is zeroed first and
 * must be freed with tee_evidence_free, also on failure. */
ccai_code tee_evidence_from_ccai(const json_t *obj, tee_evidence *out, ccai_err *err);

/* An Alibaba/Trustee request object. Same ownership as above. */
ccai_code tee_evidence_from_trustee(const json_t *obj, tee_evidence *out, ccai_err *err);

/* A request body (JSON text, at most len bytes, not NUL-terminated): the
 * ccai-attest/1 object, the {"evidence": {...}} wrapper, or the Trustee form
 * (its "evidence" is a string). Same ownership as above. */
ccai_code tee_evidence_parse(const char *text, size_t len, tee_evidence *out, ccai_err *err);

void tee_evidence_free(tee_evidence *ev);

#endif
