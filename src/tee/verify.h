/* DCAP quote verification (verify stage; tdx-facts §2): given a parsed quote,
 * its collateral and a time, decide whether the quote is genuine and current,
 * and say exactly why not. No policy here: that is appraise.h.
 *
 * Steps, each recorded in the result with ok/failed and a reason that names
 * what was expected and what was found:
 *   header          version/key type/TEE type/Intel QE vendor id
 *   pck_chain       PCK leaf -> intermediate -> a trusted root, validity at `at`
 *   crl             root CA CRL and PCK CRL: signatures, issuers, nextUpdate,
 *                   revocation of the intermediate and the leaf
 *   pck_extension   FMSPC, PCE-ID, component SVNs, PCESVN from the leaf
 *   qe_report_signature, qe_binding, quote_signature
 *   collateral      TCB info / QE identity: issuer chains, signatures over the
 *                   raw JSON bytes, expiry (nextUpdate) at `at`
 *   qe_identity     TD_QE v2 identity match and its TCB status
 *   tcb_info        TDX v3: FMSPC/PCE-ID match, TDX module identity
 *   tcb_level       the platform TCB level and the combined status; "TCB level
 *                   not supported" is a failure
 *   ccel_replay     firmware event log replays to RTMR0..2 (when given)
 *   runtime_replay  runtime event log replays to RTMR3 (when given)
 *
 * Trust anchors: the Intel SGX Root CA, pinned by the SHA-256 of its DER
 * (tdx-facts §3; byte-equal certificate, so key and signature are equal), and
 * the simulated root (tee_sim_root_pem), trusted only when trust_simulated is
 * set; then the result's tee is "tdx-sim". */
#ifndef CCAI_TEE_VERIFY_H
#define CCAI_TEE_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"
#include "tee/collateral.h"
#include "tee/eventlog.h"
#include "tee/pck.h"
#include "tee/quote.h"
#include "tee/tcbinfo.h"

#define TDX_INTEL_ROOT_CA_SHA256 "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"

typedef struct tdx_verify_opts {
    time_t at;                       /* verification time */
    bool trust_simulated;            /* accept the simulated root */
    const uint8_t *ccel;             /* firmware event log, or NULL */
    size_t ccel_len;
    const tee_eventlog *runtime_log; /* runtime event log (RTMR3), or NULL */
} tdx_verify_opts;

enum { TDX_VERIFY_MAX_STEPS = 24 };

typedef struct tdx_step {
    const char *name;   /* a static step name, as listed above */
    bool ok;
    char detail[400];   /* what was checked, or why it failed */
} tdx_step;

typedef struct tdx_verify_result {
    bool verified;                 /* every step passed */
    const char *tee;               /* "tdx", "tdx-sim", or NULL when the root is untrusted */
    tdx_pck_ext pck;               /* from the PCK leaf (valid when its step passed) */
    tdx_tcb_eval tcb;              /* statuses, TCB date, advisory IDs */
    time_t collateral_issued;      /* the oldest issue time among TCB info, QE
                                      identity and both CRLs (for max age) */
    time_t collateral_expires;     /* the earliest nextUpdate among them */
    bool ccel_replayed;            /* a firmware log was given and replayed */
    bool runtime_replayed;         /* a runtime log was given and replayed */
    size_t n_steps;
    tdx_step steps[TDX_VERIFY_MAX_STEPS];
    ccai_err failure;              /* the first failed step's reason */
} tdx_verify_result;

/* Parsed collateral with its certificates and CRLs decoded, reusable across
 * verifications (the warm path): opaque. */
typedef struct tdx_collateral_ctx tdx_collateral_ctx;

/* Decodes everything in c (copies what it keeps; c may be freed after). */
ccai_code tdx_collateral_prepare(const tdx_collateral *c, tdx_collateral_ctx **out,
                                 ccai_err *err);
void tdx_collateral_ctx_free(tdx_collateral_ctx *cc);

/* Verifies q against cc at o->at. Returns CCAI_OK when every step passed,
 * CCAI_ERR_VERIFY otherwise (r->failure says why; r->steps say which). r is
 * always filled and must be freed with tdx_verify_result_free. */
ccai_code tdx_verify(const tdx_quote *q, tdx_collateral_ctx *cc, const tdx_verify_opts *o,
                     tdx_verify_result *r);
void tdx_verify_result_free(tdx_verify_result *r);

/* {"verified":..,"tee":..,"tcb_status":..,"tcb_date":..,"advisory_ids":[..],
 *  "qe_tcb_status":..,"tdx_module_tcb_status":..,"platform_tcb_status":..,
 *  "fmspc":..,"pce_id":..,"collateral_issued":..,"collateral_expires":..,
 *  "steps":[{"name":..,"ok":..,"detail":..}],"failure":..} */
json_t *tdx_verify_result_to_json(const tdx_verify_result *r);

#endif
