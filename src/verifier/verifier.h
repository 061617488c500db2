/* `ccai verifier`: the attestation service (blueprint "Attestation service
 * API"; docs/verifier.md). An HTTPS server (net/http.h) whose routes take
 * evidence, run the appraisal pipeline (appraisal.h) and answer with an
 * ES256 JWT (jwt.h) signed by a key kept in the state directory (keys.c):
 *
 *   POST /v1/attestation                 evidence -> {"token": "<JWT>"}
 *   GET  /jwks.json                      the signing keys (current + retiring)
 *   GET  /.well-known/openid-configuration
 *   GET  /v1/policies                    [{"id","sha256"}]
 *   GET  /healthz
 *   OPTIONS *                            CORS preflight
 *
 * Every request writes one JSON log line (method, path, status, duration,
 * and for attestations the policy, pass and jti): never an evidence body. */
#ifndef CCAI_VERIFIER_VERIFIER_H
#define CCAI_VERIFIER_VERIFIER_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

/* ---- the signing keys (keys.c) --------------------------------------------------
 * <dir>/signing-key.pem   the current P-256 private key (PKCS#8 PEM, 0600)
 * <dir>/signing-key.json  {"kid","max_lifetime_s"}: the longest token
 *                         lifetime the current key has signed with
 * <dir>/retired.json      {"keys":[<public JWK> + "retire_at": <unix time>]}
 * Rotation moves the current public key to retired.json with retire_at =
 * now + max_lifetime_s (its last token expires by then), then writes a new
 * key; both writes are atomic, and the retired list is written first so a
 * crash in between never loses a key that signed live tokens. */
typedef struct ccai_keyring ccai_keyring;

/* Opens (creating on first use) the keyring in dir (made 0700). rotate:
 * retire the current key first. A key file readable by group or others is
 * refused. */
ccai_code ccai_keyring_open(const char *dir, bool rotate, long lifetime_s, time_t now,
                            ccai_keyring **out, ccai_err *err);
void ccai_keyring_free(ccai_keyring *k);
EVP_PKEY *ccai_keyring_key(const ccai_keyring *k);       /* borrowed */
const char *ccai_keyring_kid(const ccai_keyring *k);     /* borrowed */
/* {"keys":[current, retired keys whose retire_at is still ahead of now]}.
 * The caller owns it. */
json_t *ccai_keyring_jwks(const ccai_keyring *k, time_t now);

/* ---- the service (service.c) ------------------------------------------------------ */

typedef struct ccai_verifier_config {
    const char *listen;            /* default "127.0.0.1:8444" */
    const char *state_dir;         /* required: keys in <state_dir>/verifier */
    const char *policy_dir;        /* optional */
    const char *collateral;        /* bundle file or directory, or NULL */
    const char *pcs_url;           /* or NULL */
    bool trust_simulated;
    bool tls;                      /* off only on loopback (the CLI enforces it) */
    const char *tls_cert, *tls_key;/* NULL: a P-256 key born in memory */
    const char *issuer;            /* default https://HOST:PORT */
    long token_lifetime_s;         /* default 300 */
    const char *const *cors_origins;
    size_t n_cors_origins;
    double rate_per_minute;        /* attestations per client; default 60 */
    bool rotate_key;
    size_t max_body_bytes;         /* default 1 MiB */
    bool quiet;                    /* no request log (benchmarks) */
} ccai_verifier_config;

typedef struct ccai_verifier ccai_verifier;

/* Loads keys, policies and collateral and binds the listener (so the port
 * is known before run). cfg's strings must outlive the verifier. */
ccai_code ccai_verifier_new(const ccai_verifier_config *cfg, ccai_verifier **out, ccai_err *err);
uint16_t ccai_verifier_port(const ccai_verifier *v);
const char *ccai_verifier_issuer(const ccai_verifier *v);
const char *ccai_verifier_kid(const ccai_verifier *v);
/* Runs until SIGTERM/SIGINT (when handle_signals) or ccai_verifier_stop. */
ccai_code ccai_verifier_run(ccai_verifier *v, bool handle_signals, ccai_err *err);
void ccai_verifier_stop(ccai_verifier *v);   /* any thread */
void ccai_verifier_free(ccai_verifier *v);

#endif
