/* Private to the simulated TD (sim.c, sim_pki.c, sim_collateral.c): the
 * state directory's file names, the fixed simulated platform values, and the
 * PKI helpers the provider and the collateral share. Nothing outside
 * src/tee/sim*.c includes this (tests may, to reach the root generator).
 *
 * The fixed values are documented, with their reasons, in docs/tee-sim.md. */
#ifndef CCAI_TEE_SIM_INTERNAL_H
#define CCAI_TEE_SIM_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "tee/provider.h"

/* Files in <state_dir>/sim (keys 0600, the rest 0644, the folder 0700). */
#define SIM_DIR_NAME "sim"
#define SIM_ROOT_PEM "root.pem"           /* copy of tee_sim_root_pem(), for openssl */
#define SIM_PLATFORM_KEY "platform_ca.key"
#define SIM_PLATFORM_PEM "platform_ca.pem"
#define SIM_PCK_KEY "pck.key"
#define SIM_PCK_PEM "pck.pem"
#define SIM_ATTEST_KEY "attest.key"
#define SIM_TCB_KEY "tcb_signing.key"
#define SIM_TCB_PEM "tcb_signing.pem"
#define SIM_CCEL "ccel.bin"
#define SIM_REGISTERS "registers.json"     /* written last on first use */
#define SIM_STATE_LOCK "state.lock"
#define SIM_REGISTERS_LOCK "registers.lock"

/* Names: like Intel's (tdx-facts §3), with a tell-tale organisation. */
#define SIM_ORG "ccai simulated TD (not confidential)"
#define SIM_ROOT_CN "ccai Simulated SGX Root CA"
#define SIM_PLATFORM_CN "ccai Simulated SGX PCK Platform CA"
#define SIM_PCK_CN "ccai Simulated SGX PCK Certificate"
#define SIM_TCB_CN "ccai Simulated TCB Signing"
#define SIM_NOT_BEFORE "20250101000000Z"
#define SIM_NOT_AFTER "20491231235959Z"

/* Labels whose hashes are the simulated measurements and identities. */
#define SIM_LABEL_MRTD "ccai-sim MRTD v1"          /* SHA-384 -> mr_td */
#define SIM_LABEL_MR_SEAM "ccai-sim MR_SEAM v1"    /* SHA-384 -> mr_seam */
#define SIM_LABEL_QE_ID "ccai-sim QE id"           /* SHA-256[0:20] -> header user_data */
#define SIM_LABEL_QE_MRENCLAVE "ccai-sim QE v1"    /* SHA-256 -> QE mrenclave */
#define SIM_LABEL_QE_MRSIGNER "ccai-sim QE signer v1" /* SHA-256 -> QE mrsigner */
#define SIM_LABEL_PPID "ccai-sim PPID v1"          /* SHA-256[0:16] -> PPID */
#define SIM_LABEL_PLATFORM_INSTANCE "ccai-sim platform instance v1" /* SHA-256[0:16] */

enum {
    SIM_PCESVN = 13,
    SIM_QE_SVN = 0,
    SIM_QE_ISVPRODID = 2,
    SIM_QE_ISVSVN = 4,
    SIM_SGX_TYPE = 1,        /* Scalable, like TDX-capable Xeons */
    SIM_QE_AUTH_LEN = 32,
    SIM_TCB_EVAL_NUMBER = 17,
};
#define SIM_XFAM 0x602e7ULL

extern const uint8_t SIM_COMP_SVN[16];     /* PCK SVNs; CPUSVN is the same bytes */
extern const uint8_t SIM_FMSPC[6];
extern const uint8_t SIM_PCE_ID[2];
extern const uint8_t SIM_TEE_TCB_SVN[16];
extern const uint8_t SIM_QE_ATTRIBUTES[16];

/* "<dir>/<name>", freshly allocated. */
char *tee_sim_path(const char *dir, const char *name);

/* The simulated root CA key: private scalar SHA-256(TEE_SIM_ROOT_SEED). */
ccai_code tee_sim_root_key(EVP_PKEY **out, ccai_err *err);
/* Generates a new self-signed root certificate for the root key (the
 * generator of the PEM embedded in tee_sim_root_pem(); ECDSA signatures are
 * randomized, so each call gives different bytes). The caller frees *pem. */
ccai_code tee_sim_make_root_pem(char **pem, ccai_err *err);

/* Creates the installation's keys and certificates in dir (platform CA, PCK
 * leaf, attestation key, TCB signing, root.pem). Called once, under the
 * state lock, by sim.c. */
ccai_code tee_sim_pki_generate(const char *dir, ccai_err *err);

/* Loads <dir>/<name> (a PEM private key; the file buffer is wiped). */
ccai_code tee_sim_load_key(const char *dir, const char *name, EVP_PKEY **out, ccai_err *err);
/* Loads <dir>/<name> (a PEM certificate) as an X509 (cert, optional) and/or
 * its text (pem, optional, NUL-terminated). The caller frees both. */
ccai_code tee_sim_load_cert(const char *dir, const char *name, X509 **cert, char **pem,
                            ccai_err *err);

/* RFC 5280 §4.2.1.2 method 1 key identifier (SHA-1 of the public key bits),
 * as Intel's SKI/AKI extensions carry. */
ccai_code tee_sim_key_id(EVP_PKEY *key, uint8_t id[20], ccai_err *err);

/* ECDSA-P256-SHA256 over data, as the raw r||s quotes and collateral carry
 * (32 bytes each, big-endian, left-padded). */
ccai_code tee_sim_sign_raw(EVP_PKEY *key, const uint8_t *data, size_t len, uint8_t sig[64],
                           ccai_err *err);
/* The public point X||Y (32 bytes each). */
ccai_code tee_sim_pubkey_raw(EVP_PKEY *key, uint8_t xy[64], ccai_err *err);

/* The register-reset callback of tee_sim_reset: RTMR3 back to zero, under
 * the registers lock. p must be a sim provider. */
ccai_code tee_sim_reset_rtmr3(tee_provider *p, ccai_err *err);

#endif
