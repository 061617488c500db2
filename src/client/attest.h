/* The relying party (blueprint "Trust protocol"): attest a ccai server
 * before sending it anything.
 *
 *   1. make a 32-byte nonce; GET /api/attestation?nonce=... on a fresh TLS
 *      connection, noting the SPKI of the certificate that connection got;
 *   2. the evidence must echo our nonce and name that SPKI (so its report
 *      data, SHA-512("ccai-attest/1" 0 nonce SPKI-hash E), binds both);
 *   3. verify and appraise: locally (DCAP + policy, with the collateral of a
 *      file, PCS/PCCS, or the evidence itself) or through an attestation
 *      service, whose ES256 token is checked against its JWKS (key id,
 *      issuer, expiry, our nonce, our SPKI, report_data_ok, policy pass).
 *
 * The result carries every step with its reason and, on success, the
 * attested SPKI: later connections (ccai chat) are pinned to it. */
#ifndef CCAI_CLIENT_ATTEST_H
#define CCAI_CLIENT_ATTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

typedef struct ccai_attest_opts {
    const char *url;              /* the server, https://HOST:PORT */
    /* local verification */
    const char *policy;           /* policy file, or NULL: the default policy */
    const char *collateral;       /* bundle file or directory, or NULL */
    const char *pcs_url, *cache_dir;
    /* through an attestation service (NULL: local) */
    const char *verifier;
    const char *verifier_ca;      /* CA file for the service's TLS (NULL: system CAs) */
    const char *verifier_kid;     /* pinned signing key id, or NULL */
    const char *policy_id;        /* asked of the service, or NULL */
    bool trust_simulated;         /* accept tee "tdx-sim" (never confidential) */
    time_t now;                   /* 0: time(NULL) */
} ccai_attest_opts;

typedef enum {
    CCAI_ATTEST_PASS = 0,
    CCAI_ATTEST_REJECTED = 2,     /* a check failed: nothing may be sent */
    CCAI_ATTEST_NO_COLLATERAL = 3,
} ccai_attest_outcome;

typedef struct ccai_attest_result {
    ccai_attest_outcome outcome;
    bool simulated;               /* passed as tee "tdx-sim": not confidential */
    bool code_pinned;             /* the policy that passed checked the server's
                                     binary (binary_sha256) or RTMR3's value */
    uint8_t spki_sha256[32];      /* the attested TLS key (valid on PASS) */
    /* {"server","mode","tee","pass","steps":[{"name","ok","detail"}],
     *  "verdict": the local verdict or the token's claims} */
    json_t *report;
} ccai_attest_result;

/* Never fails on what the server or service says: that is a failed step.
 * Errors only for bad options. Free r->report with json_decref. */
ccai_code ccai_attest(const ccai_attest_opts *o, ccai_attest_result *r, ccai_err *err);

/* The first failed step's "name: detail", or NULL when none failed. */
const char *ccai_attest_reason(const ccai_attest_result *r, char *buf, size_t n);

#endif
