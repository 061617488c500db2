/* Private to the DCAP verifier (verify.c, verify_chain.c, verify_collateral.c):
 * the prepared-collateral context, its caches, and the certificate, CRL and
 * ECDSA helpers the three files share. Nothing outside src/tee/verify*.c
 * includes this.
 *
 * The split: verify_chain.c knows X.509 (trust anchors, the certificate
 * stores, X509_STORE chain verification with CRLs, explicit CRL checks,
 * messages for OpenSSL's verify errors, the caches of the quotes' PCK
 * chains); verify_collateral.c owns the context's life (prepare, free) and
 * the collateral step with its chain cache; verify.c runs the steps of
 * tdx-facts §2 in order and writes the result. */
#ifndef CCAI_TEE_VERIFY_INTERNAL_H
#define CCAI_TEE_VERIFY_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"
#include "tee/tcbinfo.h"
#include "tee/verify.h"

/* The trust anchors a chain can end at (verify.h "Trust anchors"). */
typedef enum tdx_anchor {
    TDX_ANCHOR_NONE = -1,  /* untrusted: the chain's root is neither */
    TDX_ANCHOR_INTEL = 0,  /* Intel SGX Root CA, pinned by SHA-256 of its DER */
    TDX_ANCHOR_SIM = 1,    /* the simulated root, byte-equal to tee_sim_root_pem() */
    TDX_ANCHOR_COUNT = 2,
} tdx_anchor;

/* A verification result that holds for every time in [from, to]: an issuer
 * chain's X509_verify_cert outcome depends on the time only through the
 * certificates' and CRLs' validity periods, so a success at one time is a
 * success anywhere inside their intersection (the warm path). */
typedef struct tdx_window {
    bool valid;
    time_t from, to;
} tdx_window;

enum { TDX_CACHE_SLOTS = 16 };

struct tdx_collateral_ctx {
    /* Decoded collateral (owned). */
    STACK_OF(X509) *pck_crl_chain;   /* PCK CRL issuer chain: platform/processor CA, root */
    STACK_OF(X509) *tcb_chain;       /* TCB signing certificate, root */
    STACK_OF(X509) *qe_chain;        /* the same for the QE identity */
    bool qe_chain_same;              /* qe_chain's PEM equals tcb_chain's */
    X509_CRL *root_crl, *pck_crl;
    char *tcb_raw, *qe_raw;          /* the exact signed JSON bytes */
    size_t tcb_raw_len, qe_raw_len;
    uint8_t tcb_sig[64], qe_sig[64]; /* raw r||s */
    tdx_tcb_info tcb;
    tdx_qe_identity qe;
    bool tcb_parsed, qe_parsed;      /* their parses succeeded (free them) */
    time_t issued, expires;          /* oldest issue time, earliest nextUpdate */

    /* Time- and trust-independent checks, done once in prepare. */
    bool tcb_sig_ok, qe_sig_ok;
    bool root_crl_sig_ok;            /* under the root of pck_crl_chain */
    bool pck_crl_sig_ok;             /* under pck_crl_chain[0] */

    /* Trust anchors, by the SHA-256 of their DER: the pinned Intel root and
     * the simulated root (hashed from tee_sim_root_pem()). */
    uint8_t sim_root_sha256[32];
    uint8_t intel_root_sha256[32];

    /* Warm-path caches, per anchor, under lock: a certificate store holding
     * the anchor and both CRLs, whether the anchor's self-signature was
     * checked, and where the issuer chains of the TCB info and the QE
     * identity are known to verify. */
    pthread_mutex_t lock;
    X509_STORE *store[TDX_ANCHOR_COUNT];
    bool root_self_signed[TDX_ANCHOR_COUNT];
    tdx_window tcb_chain_ok[TDX_ANCHOR_COUNT];
    tdx_window qe_chain_ok[TDX_ANCHOR_COUNT];
    /* Quotes from one platform carry the same PCK chain: its certificates,
     * decoded (OpenSSL 3.0 takes ~0.1 ms per certificate), and where the
     * chain verified, keyed by SHA-256 of the PEM text. Replaced round-robin. */
    struct {
        uint8_t key[32];
        X509 *x;
    } certs[TDX_CACHE_SLOTS];
    size_t certs_next;
    struct {
        uint8_t key[32];
        tdx_anchor anchor;
        tdx_window ok;
    } chains[TDX_CACHE_SLOTS];
    size_t chains_next;
};

/* ---- small helpers (verify_chain.c) ----------------------------------------- */

/* Raw r||s signatures are checked with ccai_p256_verify_raw (base/ecdsa.h). */
/* An EC P-256 public key from the raw point X||Y; NULL when it is not a point
 * on the curve. The caller frees. */
EVP_PKEY *tdx_v_p256_from_raw(const uint8_t xy[64]);
/* ASN1_TIME as UTC seconds; false when it cannot be read. */
bool tdx_v_asn1_time(const ASN1_TIME *t, time_t *out);
/* "2025-07-19T10:00:35Z", or "(unreadable)" for a NULL/broken time. */
void tdx_v_asn1_format(const ASN1_TIME *t, char out[32]);
/* Lower-case hex of a certificate serial (static-size buffer). */
void tdx_v_serial_hex(const ASN1_INTEGER *sn, char *out, size_t n);

/* ---- trust anchors and chains (verify_chain.c) ------------------------------ */

/* Classifies root, the last certificate of a chain: the pinned Intel root
 * (its self-signature is checked once per context), or the simulated root
 * when trust_simulated. Anything else fails with the message of verify.h's
 * trust-anchor rules in err (code CCAI_ERR_VERIFY) and gives TDX_ANCHOR_NONE. */
tdx_anchor tdx_v_classify_root(tdx_collateral_ctx *cc, X509 *root, bool trust_simulated,
                               ccai_err *err);

/* The store for an anchor, built on first use (it holds the anchor and both
 * CRLs) and kept by the context; the caller frees the reference it gets
 * (X509_STORE_free). NULL when OpenSSL fails. */
X509_STORE *tdx_v_store(tdx_collateral_ctx *cc, tdx_anchor anchor, X509 *anchor_cert);

/* One PEM certificate of a quote's chain, decoded through the context's
 * cache; key receives the SHA-256 of the PEM text. The caller frees *out. */
ccai_code tdx_v_cert_from_pem(tdx_collateral_ctx *cc, const char *pem, uint8_t key[32],
                              X509 **out, ccai_err *err);
/* Whether the chain with this key (SHA-256 over its certificates' keys)
 * verified for this anchor at a time whose window holds at; and remembering
 * a success. */
bool tdx_v_chain_known_good(tdx_collateral_ctx *cc, const uint8_t key[32], tdx_anchor anchor,
                            time_t at);
void tdx_v_chain_remember(tdx_collateral_ctx *cc, const uint8_t key[32], tdx_anchor anchor,
                          const tdx_window *ok);

/* What one X509_verify_cert run found, sorted into chain faults (signatures,
 * validity, CA rules) and CRL faults (revocation, CRL availability and dates),
 * so each is reported under its own step. */
typedef struct tdx_chain_check {
    bool chain_ok, crl_ok;
    ccai_err chain_err, crl_err;
    tdx_window window;               /* when chain_ok && crl_ok */
} tdx_chain_check;

/* Verifies chain (leaf first; its last certificate already classified as
 * anchor) at time at against a store holding only that anchor and the
 * context's CRLs, with CRL checking of every certificate. leaf_role names the
 * leaf in messages ("PCK certificate", "TCB signing certificate"). */
void tdx_v_chain_verify(tdx_collateral_ctx *cc, tdx_anchor anchor, X509 *anchor_cert,
                        STACK_OF(X509) *chain, const char *leaf_role, time_t at,
                        tdx_chain_check *out);

/* tdx-facts §2 step 2, CRL half, checked explicitly with messages that name
 * the CRL: issuers (the PCK CRL's must be the leaf's issuer, the root CA
 * CRL's the root), signatures (prepare's results when the quote carries the
 * same CA certificates as the collateral), thisUpdate/nextUpdate around at,
 * revocation of the leaf (PCK CRL) and of the intermediates (root CA CRL). */
ccai_code tdx_v_crl_check(tdx_collateral_ctx *cc, STACK_OF(X509) *chain, time_t at,
                          ccai_err *err);

/* ---- the collateral step (verify_collateral.c) ------------------------------ */

/* tdx-facts §2 step 9 for the TCB info and the QE identity: issuer chains to
 * quote_anchor (or, when the quote's root was untrusted, to whichever
 * anchor trust_simulated allows), signatures over the raw JSON bytes,
 * issueDate <= at <= nextUpdate. On success detail says what was checked. */
ccai_code tdx_v_collateral_check(tdx_collateral_ctx *cc, tdx_anchor quote_anchor,
                                 bool trust_simulated, time_t at, char *detail, size_t n,
                                 ccai_err *err);

#endif
