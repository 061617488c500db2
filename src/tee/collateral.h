/* Collateral (parse stage): the bundle of tdx-facts §1 — PCK CRL and its
 * issuer chain, root CA CRL, TCB info and QE identity as the raw JSON text
 * that was signed, their signatures and issuer chains. Decoding only: no
 * signature is checked here (verify.h does that). */
#ifndef CCAI_TEE_COLLATERAL_H
#define CCAI_TEE_COLLATERAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct tdx_collateral {
    char *pck_crl_issuer_chain;      /* PEM */
    uint8_t *root_ca_crl;            /* DER */
    size_t root_ca_crl_len;
    uint8_t *pck_crl;                /* DER */
    size_t pck_crl_len;
    char *tcb_info_issuer_chain;     /* PEM */
    char *tcb_info;                  /* the raw JSON text of the tcbInfo value */
    size_t tcb_info_len;
    uint8_t tcb_info_signature[64];  /* r||s */
    char *qe_identity_issuer_chain;  /* PEM */
    char *qe_identity;               /* the raw JSON text of the enclaveIdentity value */
    size_t qe_identity_len;
    uint8_t qe_identity_signature[64];
} tdx_collateral;

/* From a bundle object with the tdx-facts §1 field names. CRLs may be hex DER
 * (the interchange form) or PEM. Errors name the field. */
ccai_code tdx_collateral_from_json(const json_t *bundle, tdx_collateral *out, ccai_err *err);
/* Reads a bundle file (at most 4 MiB). */
ccai_code tdx_collateral_read_file(const char *path, tdx_collateral *out, ccai_err *err);
/* The bundle object back (CRLs as hex DER). */
json_t *tdx_collateral_to_json(const tdx_collateral *c);
void tdx_collateral_free(tdx_collateral *c);

#endif
