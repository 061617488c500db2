/* TDX quote codec (parse stage): bytes <-> struct, no crypto, no policy.
 *
 * Layout: tdx-facts.md §1. Versions 4 and 5 (body types 2 = TDX 1.0 and
 * 3 = TDX 1.5), ECDSA-256 attestation keys, QE-report certification data
 * (type 6) wrapping a PCK certificate chain (type 5).
 *
 * tdx_quote_parse bounds every length by the buffer, accepts trailing bytes
 * after the quote (reported in trailing_len) and names the field and offset in
 * every error. It checks framing (lengths, which must add up exactly inside
 * the signature data, the certification data types and the v5 body type)
 * and the version, key type and TEE type, because later offsets depend on
 * them. The QE vendor id is a verify-stage check, not a parse failure.
 * tdx_quote_serialize produces the exact bytes of the quote (without trailing
 * bytes), so parse(serialize(q)) == q. */
#ifndef CCAI_TEE_QUOTE_H
#define CCAI_TEE_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum {
    TDX_QUOTE_HEADER_LEN = 48,
    TDX_BODY_V10_LEN = 584,   /* TDX 1.0 TD report body */
    TDX_BODY_V15_LEN = 648,   /* TDX 1.5 TD report body */
    TDX_QE_REPORT_LEN = 384,  /* SGX enclave report body */
    TDX_TEE_TYPE_TDX = 0x81,
    TDX_ATT_KEY_ECDSA_P256 = 2,
    TDX_BODY_TYPE_SGX = 1,
    TDX_BODY_TYPE_TDX10 = 2,
    TDX_BODY_TYPE_TDX15 = 3,
    TDX_CERT_TYPE_QE_REPORT = 6,
    TDX_CERT_TYPE_PCK_CHAIN = 5,
    TDX_PCK_CHAIN_MAX = 8,    /* certificates kept from the PEM chain */
};

/* td_attributes bits (tdx-facts §1). */
#define TDX_TD_ATTR_DEBUG (1ULL << 0)
#define TDX_TD_ATTR_SEPT_VE_DISABLE (1ULL << 28)
#define TDX_TD_ATTR_PKS (1ULL << 30)
#define TDX_TD_ATTR_KL (1ULL << 31)
#define TDX_TD_ATTR_PERFMON (1ULL << 63)

extern const uint8_t TDX_INTEL_QE_VENDOR_ID[16];

typedef struct tdx_quote_header {
    uint16_t version;        /* 4 or 5 */
    uint16_t att_key_type;   /* 2 = ECDSA-256 with P-256 */
    uint32_t tee_type;       /* 0x81 = TDX */
    uint16_t qe_svn;
    uint16_t pce_svn;
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
} tdx_quote_header;

typedef struct tdx_td_body {
    uint8_t tee_tcb_svn[16];
    uint8_t mr_seam[48];
    uint8_t mr_signer_seam[48];
    uint64_t seam_attributes;
    uint64_t td_attributes;
    uint64_t xfam;
    uint8_t mr_td[48];
    uint8_t mr_config_id[48];
    uint8_t mr_owner[48];
    uint8_t mr_owner_config[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    /* TDX 1.5 body (body_type 3) only; zero otherwise. */
    uint8_t tee_tcb_svn2[16];
    uint8_t mr_servicetd[48];
} tdx_td_body;

/* The QE's SGX report body, field by field (tdx-facts §1), plus its raw bytes
 * (the QE report signature covers exactly raw). */
typedef struct tdx_qe_report {
    uint8_t raw[TDX_QE_REPORT_LEN];
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t attributes[16];
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint8_t report_data[64];
} tdx_qe_report;

typedef struct tdx_quote {
    tdx_quote_header header;
    uint16_t body_type;      /* v4: always 2 (implicit); v5: from the quote */
    uint32_t body_len;       /* 584 or 648 */
    tdx_td_body body;

    uint32_t sig_data_len;   /* as stored in the quote */
    uint8_t signature[64];   /* r||s over the signed bytes, big-endian */
    uint8_t attest_key[64];  /* X||Y */
    uint16_t cert_type;      /* 6 */
    uint32_t cert_len;       /* size of the type-6 certification data */
    tdx_qe_report qe_report;
    uint8_t qe_report_sig[64];
    uint16_t qe_auth_len;
    uint8_t *qe_auth;        /* qe_auth_len bytes, owned */
    uint16_t pck_cert_type;  /* 5 */
    uint32_t pck_chain_len;  /* as stored; often counts a trailing NUL */
    uint8_t *pck_chain;      /* pck_chain_len bytes exactly as stored, owned */
    /* The PEM certificates of the chain, in order (leaf first), each a
     * NUL-terminated copy, owned. Split textually, not decoded. */
    size_t pck_count;
    char *pck_pem[TDX_PCK_CHAIN_MAX];

    /* Derived framing facts. */
    size_t signed_len;       /* bytes covered by the quote signature */
    size_t quote_len;        /* the quote's own length */
    size_t trailing_len;     /* bytes after the quote in the parsed buffer */
    uint8_t *signed_bytes;   /* copy of the first signed_len bytes, owned */
} tdx_quote;

/* Parses buf into *q (which the caller then frees with tdx_quote_free). On
 * failure *q holds nothing to free and err names the field and offset. */
ccai_code tdx_quote_parse(const uint8_t *buf, size_t len, tdx_quote *q, ccai_err *err);

/* Serializes q (header, body per version/body_type, signature data rebuilt
 * from its parts; length fields recomputed) into a fresh buffer; the caller
 * frees *out. Also refreshes q->signed_bytes/signed_len/quote_len. */
ccai_code tdx_quote_serialize(tdx_quote *q, uint8_t **out, size_t *out_len, ccai_err *err);

/* Bytes the quote signature covers, for a quote built in memory (the
 * simulator signs these, then stores the signature and serializes again). */
ccai_code tdx_quote_signed_region(tdx_quote *q, uint8_t **out, size_t *out_len, ccai_err *err);

/* Field-by-field equality, including owned buffers (round-trip tests). */
bool tdx_quote_equal(const tdx_quote *a, const tdx_quote *b);

/* Deep copy. */
void tdx_quote_copy(tdx_quote *dst, const tdx_quote *src);

void tdx_quote_free(tdx_quote *q);

/* Names of the set td_attributes bits, e.g. "DEBUG|SEPT_VE_DISABLE"; unknown
 * bits as "bit47". Writes into out (size n). */
void tdx_td_attributes_describe(uint64_t attrs, char *out, size_t n);

#endif
