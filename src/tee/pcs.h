/* Collateral from Intel's Provisioning Certification Service (PCS) or a
 * caching service with the same API (PCCS), with an on-disk cache
 * (tdx-facts §2 "Where collateral comes from"; docs/pcs.md).
 *
 * Contract: tdx_pcs_get_collateral returns a bundle object with exactly the
 * tdx-facts §1 field names (the form collateral.h decodes): issuer chains as
 * PEM, CRLs as lower-case hex DER, TCB info and QE identity as the raw JSON
 * text of the "tcbInfo" / "enclaveIdentity" value exactly as served (the
 * bytes their signatures cover, §2 step 9), signatures as lower-case hex.
 * Nothing is verified here beyond shape: signatures, chains and dates are
 * the verifier's job (verify.h). Requests are GETs through libcurl with
 * TLS peer and host verification on. http:// URLs are accepted too (tests,
 * a PCCS on loopback): collateral is trustworthy only through its
 * signatures, which the verifier checks whatever the transport. */
#ifndef CCAI_TEE_PCS_H
#define CCAI_TEE_PCS_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

#define TDX_PCS_INTEL_URL "https://api.trustedservices.intel.com"
#define TDX_PCS_INTEL_HOST "api.trustedservices.intel.com"
/* The Root CA CRL when base_url is Intel's PCS (a PCCS serves its own copy). */
#define TDX_PCS_INTEL_ROOT_CRL_URL \
    "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

enum {
    TDX_PCS_MAX_BODY = 1 << 20,        /* bytes of one response body */
    TDX_PCS_DEFAULT_TIMEOUT_S = 30,    /* whole transfer, when timeout_s is 0 */
    TDX_PCS_MAX_REDIRECTS = 3,         /* same scheme, host and port only */
};

typedef struct tdx_pcs_opts {
    /* e.g. TDX_PCS_INTEL_URL or a PCCS "https://pccs:8081"; no trailing path
     * beyond an optional prefix ("/tdx/certification/v4/..." is appended).
     * May be NULL when offline. */
    const char *base_url;
    const char *cache_dir;       /* NULL = no cache */
    bool offline;                /* cache only, never the network */
    /* Extra CA certificates (PEM file) trusted in addition to the system's,
     * for a PCCS with its own TLS certificate; NULL = system CAs only. */
    const char *ca_file;
    long timeout_s;              /* per request; 0 = TDX_PCS_DEFAULT_TIMEOUT_S */
    /* Overrides where the Root CA CRL comes from; NULL = TDX_PCS_INTEL_ROOT_CRL_URL
     * for Intel's PCS, else <base_url>/sgx/certification/v4/rootcacrl. */
    const char *root_ca_crl_url;
} tdx_pcs_opts;

/* The collateral bundle for a platform: from <cache_dir>/collateral-<fmspc
 * lower hex>-<pck_ca>.json while now is before its expiry (the earliest
 * nextUpdate of TCB info, QE identity and both CRLs), else from the network
 * (then cached atomically). pck_ca is "platform" or "processor" (see
 * tdx_pcs_ca_from_issuer_cn). Offline: the cache or CCAI_ERR_NOT_FOUND, no
 * network at all. Errors name the URL, the HTTP status and what was wrong;
 * a failed cache write is an error too (CCAI_ERR_IO), since the caller asked
 * for a cache. *bundle is new; the caller frees it with json_decref. */
ccai_code tdx_pcs_get_collateral(const tdx_pcs_opts *o, const uint8_t fmspc[6],
                                 const char *pck_ca, time_t now, json_t **bundle,
                                 ccai_err *err);

/* The PCK CA type ("platform" or "processor", static strings) for an issuer
 * CN: "Intel SGX PCK Platform CA", "Intel SGX PCK Processor CA", and the
 * simulated "ccai Simulated SGX PCK Platform CA" (any CN ending in
 * "SGX PCK Platform CA" / "SGX PCK Processor CA"). Other CNs: CCAI_ERR_UNSUPPORTED. */
ccai_code tdx_pcs_ca_from_issuer_cn(const char *cn, const char **ca, ccai_err *err);
/* The same from the PCK leaf certificate's issuer name. */
ccai_code tdx_pcs_ca_from_cert(X509 *pck_leaf, const char **ca, ccai_err *err);

/* The earliest nextUpdate of a bundle's TCB info, QE identity, Root CA CRL
 * and PCK CRL (the time the bundle stops being usable). */
ccai_code tdx_pcs_bundle_expiry(const json_t *bundle, time_t *expiry, ccai_err *err);

/* Finds the top-level member `name` of the JSON object text[0:len] and gives
 * the byte span of its value, exactly as written (string-aware bracket
 * matching, no re-serialization): text[*off : *off + *vlen]. Member names
 * are compared as written (no escape decoding). CCAI_ERR_NOT_FOUND when the
 * object has no such member, CCAI_ERR_PARSE for malformed text or a
 * duplicated member. */
ccai_code tdx_pcs_json_member_span(const char *text, size_t len, const char *name, size_t *off,
                                   size_t *vlen, ccai_err *err);

#endif
