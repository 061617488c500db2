/* The verifier's pipeline for one piece of evidence (RFC 9334 "Verifier"):
 * parsed evidence (tee/evidence.h) -> quote parse -> collateral -> DCAP
 * verification (tee/verify.h) -> appraisal against a policy
 * (tee/appraise.h) -> the verdict object that `ccai verify --json` prints
 * and the attestation service signs.
 *
 * Collateral, in this order: a bundle given with --collateral (a file, or a
 * directory of bundles chosen by the quote's FMSPC); PCS/PCCS (--pcs, cached
 * on disk); the collateral the evidence carries. Configured sources come
 * first because evidence collateral, though signed, may be an older bundle
 * that is still inside its validity (before a TCB recovery). Prepared
 * collateral is kept (the warm path): bundles from disk for the process
 * lifetime, fetched or attached ones in a small cache keyed by a SHA-256
 * of their content; expiry is checked by every verification.
 * Evidence without collateral (the Trustee form) from a platform whose
 * collateral came with earlier evidence that verified (same FMSPC and PCK
 * issuer) is verified against that remembered bundle.
 *
 * Policies: every *.json in --policy-dir (id from the file or its name),
 * plus the built-in "default" unless the directory defines one. */
#ifndef CCAI_VERIFIER_APPRAISAL_H
#define CCAI_VERIFIER_APPRAISAL_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "base/err.h"
#include "tee/appraise.h"
#include "tee/collateral.h"
#include "tee/evidence.h"
#include "tee/pcs.h"
#include "tee/quote.h"
#include "tee/verify.h"

/* The verdict: tdx_claims(q, vr, log) plus "policy" (tdx_appraisal_to_json)
 * and "pass" (verified and the policy passed). The caller owns it. */
json_t *ccai_verdict_json(const tdx_quote *q, const tdx_verify_result *vr,
                          const tee_eventlog *log, const tdx_appraisal *ap);

/* Collateral for q from PCS/PCCS: the FMSPC and PCK CA come from the
 * quote's PCK leaf. out must be freed with tdx_collateral_free. */
ccai_code ccai_collateral_from_pcs(const tdx_pcs_opts *o, const tdx_quote *q, time_t now,
                                   tdx_collateral *out, ccai_err *err);

typedef struct ccai_appraiser_opts {
    const char *policy_dir;   /* NULL: the default policy only */
    /* A policy file applied when the evidence names no policy id, in place
     * of the built-in default (`ccai attest --local --policy FILE`). */
    const char *default_policy;
    const char *collateral;   /* bundle file or directory, or NULL */
    const char *pcs_url;      /* or NULL */
    const char *cache_dir;    /* PCS cache (with pcs_url) */
    bool trust_simulated;     /* accept the simulated root (tee "tdx-sim") */
} ccai_appraiser_opts;

/* Thread-safe: appraisals from several threads take turns (one at a time,
 * about a millisecond each with warm collateral), except while one waits
 * for PCS/PCCS: the others go on meanwhile. */
typedef struct ccai_appraiser ccai_appraiser;

/* Loads the policies and collateral bundles (errors name the file). */
ccai_code ccai_appraiser_new(const ccai_appraiser_opts *o, ccai_appraiser **out, ccai_err *err);
void ccai_appraiser_free(ccai_appraiser *a);

/* [{"id":..,"sha256":..}] sorted by id. The caller owns it. */
json_t *ccai_appraiser_policies(const ccai_appraiser *a);

/* Verifies and appraises ev at `now` against the policy it names (or
 * "default"). Evidence that verifies badly or fails the policy is not an
 * error: *verdict says pass false with every failed check. Errors are the
 * client's: CCAI_ERR_PARSE (a quote that does not parse), CCAI_ERR_NOT_FOUND
 * (an unknown policy id), CCAI_ERR_ARG (more than one policy id).
 * *verdict (the caller owns it) is ccai_verdict_json plus
 * "binding": {"nonce","tls_spki_sha256","e2e_key_sha256","report_data_ok"}:
 * the report data the verifier recomputed from the evidence (ccai-attest/1:
 * tee_report_data_bind of nonce and SPKI hash; Trustee: SHA-384 of
 * runtime_data.raw zero-padded to 64 bytes) is appraised as the check
 * "report_data". */
ccai_code ccai_appraiser_run(ccai_appraiser *a, const tee_evidence *ev, time_t now,
                             json_t **verdict, ccai_err *err);

#endif
