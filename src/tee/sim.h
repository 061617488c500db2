/* The simulated TD (blueprint "Simulated TD").
 *
 * State lives in <state_dir>/sim/: keys (mode 0600), certificates, the
 * registers and the runtime event log, generated once and reused, created
 * under a file lock so concurrent processes agree.
 *
 * Trust chain (mirrors Intel's): simulated root CA (key derived from the
 * published constant TEE_SIM_ROOT_SEED, so every installation shares the same
 * root and anyone can forge it: simulated evidence is never confidential)
 * -> simulated platform CA -> PCK leaf with the Intel-format SGX extension;
 * the PCK key signs the QE report, whose report data binds the attestation
 * key that signs quotes. Collateral (TCB info v3 "TDX", QE identity v2
 * "TD_QE", root CA CRL, PCK CRL) is signed by a simulated TCB signing
 * certificate under the same root, exactly as tdx-facts §2 step 9 describes,
 * so simulated evidence takes the verifier's real code path.
 *
 * Fixed simulated values (documented in docs/tee-sim.md): MRTD, MR_SEAM,
 * TD attributes, XFAM, TEE TCB SVN, FMSPC; RTMR0..2 are the replay of the
 * simulated firmware event log (ccel.bin in the state); RTMR3 starts at zero
 * and persists until tee_sim_reset ("reboot"). */
#ifndef CCAI_TEE_SIM_H
#define CCAI_TEE_SIM_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"
#include "tee/provider.h"

/* The published constant the simulated root CA key is derived from:
 * private scalar = SHA-256(TEE_SIM_ROOT_SEED) (must be < n; it is). */
#define TEE_SIM_ROOT_SEED "ccai simulated TDX root CA v1: anyone can forge simulated evidence"

/* The simulated root CA certificate (PEM, identical on every installation). */
const char *tee_sim_root_pem(void);

/* A collateral bundle (tdx-facts §1 field names) for the sim TD in cfg, freshly
 * signed, valid from `now` until now + 30 days. The caller frees (json_decref). */
ccai_code tee_sim_collateral(const tee_config *cfg, time_t now, json_t **bundle, ccai_err *err);

/* "Reboots" the simulated TD: RTMR3 back to zero, runtime event log cleared. */
ccai_code tee_sim_reset(const tee_config *cfg, ccai_err *err);

/* A description of the sim state: directory, registers, FMSPC, root and PCK
 * subjects, certificate fingerprints. The caller frees. */
ccai_code tee_sim_info(const tee_config *cfg, json_t **info, ccai_err *err);

#endif
