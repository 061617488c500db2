/* PCK certificates: Intel's SGX extension (OID 1.2.840.113741.1.13.1,
 * tdx-facts §2) and loading PEM chains. Shared by `quote show`, the verifier
 * and the simulated TD (which writes the extension). */
#ifndef CCAI_TEE_PCK_H
#define CCAI_TEE_PCK_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define TDX_SGX_EXT_OID "1.2.840.113741.1.13.1"

typedef struct tdx_pck_ext {
    uint8_t ppid[16];
    uint8_t comp_svn[16];   /* .2.1 .. .2.16 */
    uint16_t pcesvn;        /* .2.17 */
    uint8_t cpusvn[16];     /* .2.18 */
    uint8_t pce_id[2];      /* .3 */
    uint8_t fmspc[6];       /* .4 */
    int sgx_type;           /* .5 (0 Standard, 1 Scalable, 2 Scalable with integrity) */
    bool has_platform_instance_id;
    uint8_t platform_instance_id[16]; /* .6, platform CA certificates only */
} tdx_pck_ext;

/* Parses the DER value of the extension (the OCTET STRING's content). */
ccai_code tdx_pck_ext_parse(const uint8_t *der, size_t len, tdx_pck_ext *out, ccai_err *err);
/* Finds and parses the extension in a certificate. */
ccai_code tdx_pck_ext_from_cert(X509 *cert, tdx_pck_ext *out, ccai_err *err);
/* DER of the extension value (simulated PCK certificates); the caller frees *der. */
ccai_code tdx_pck_ext_encode(const tdx_pck_ext *ext, uint8_t **der, size_t *len, ccai_err *err);

/* Decodes one PEM certificate (NUL-terminated text). The caller frees with X509_free. */
ccai_code tdx_pem_to_x509(const char *pem, X509 **out, ccai_err *err);
/* Decodes every certificate of a PEM bundle in order into a new stack
 * (caller frees with sk_X509_pop_free(.., X509_free)); fails on an empty
 * bundle or a certificate that does not decode. */
ccai_code tdx_pem_chain_load(const char *pem, size_t len, STACK_OF(X509) **out, ccai_err *err);

/* "CN=...,O=..." one line: a name, or a certificate's subject, into buf. */
void tdx_x509_name_text(const X509_NAME *name, char *buf, size_t n);
void tdx_x509_subject(X509 *cert, char *buf, size_t n);
/* SHA-256 of the certificate's DER encoding. */
void tdx_x509_sha256(X509 *cert, uint8_t out[32]);

#endif
