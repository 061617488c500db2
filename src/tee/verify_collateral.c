/* Prepared collateral and the collateral step of the DCAP verifier
 * (verify.h, verify_internal.h).
 *
 * tdx_collateral_prepare decodes a bundle once: the three issuer chains
 * (PEM), both CRLs (DER), the TCB info and QE identity (tcbinfo.h parsers,
 * over the raw JSON text that was signed), and keeps copies of the raw bytes
 * and signatures. It also does the checks that depend neither on the
 * verification time nor on which roots are trusted: the ECDSA signatures over
 * the TCB info and QE identity by their signing certificates (tdx-facts §2
 * step 9) and the CRL signatures by the collateral's PCK CRL issuer chain.
 * Trust is decided later, per verification, by chaining those signers to an
 * anchor at the verification time; a chain verification that succeeded is
 * remembered with the period in which it stays valid (tdx_window), so a warm
 * context verifies the collateral's chains once per trust anchor, not once
 * per quote. The caches sit under a mutex: one context may serve many
 * threads. */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/ecdsa.h"
#include "base/hash.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/pck.h"
#include "tee/sim.h"
#include "tee/sim_internal.h"
#include "tee/verify_internal.h"

/* ---- prepare --------------------------------------------------------------------- */

static ccai_code load_chain(const char *pem, const char *field, STACK_OF(X509) **out,
                            ccai_err *err)
{
    if (!pem || !*pem)
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: %s is missing", field);
    ccai_code rc = tdx_pem_chain_load(pem, strlen(pem), out, err);
    if (rc)
        ccai_err_prefix(err, "collateral: %s", field);
    return rc;
}

static ccai_code load_crl(const uint8_t *der, size_t len, const char *field, X509_CRL **out,
                          ccai_err *err)
{
    if (!der || len == 0)
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: %s is missing", field);
    if (len > 0x7fffffff)
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: %s of %zu bytes is too large", field,
                         len);
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    ERR_clear_error();
    if (!crl)
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: %s (%zu bytes) is not a DER CRL",
                         field, len);
    if ((size_t)(p - der) != len) {
        size_t extra = len - (size_t)(p - der);
        X509_CRL_free(crl);
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: %zu trailing bytes after the %s DER",
                         extra, field);
    }
    *out = crl;
    return CCAI_OK;
}

/* The signature of raw JSON bytes by the first certificate of chain. */
static bool json_signed(STACK_OF(X509) *chain, const char *raw, size_t len, const uint8_t sig[64])
{
    EVP_PKEY *key = sk_X509_num(chain) > 0 ? X509_get0_pubkey(sk_X509_value(chain, 0)) : NULL;
    ERR_clear_error();
    return key && ccai_p256_verify_raw(key, raw, len, sig);
}

static bool crl_signed(X509_CRL *crl, X509 *issuer)
{
    EVP_PKEY *key = issuer ? X509_get0_pubkey(issuer) : NULL;
    bool ok = key && X509_CRL_verify(crl, key) == 1;
    ERR_clear_error();
    return ok;
}

static void earliest(time_t *acc, time_t t)
{
    if (*acc == 0 || t < *acc)
        *acc = t;
}

/* issued: the oldest issue time; expires: the earliest nextUpdate (verify.h). */
static void collateral_period(tdx_collateral_ctx *cc)
{
    time_t t;
    earliest(&cc->issued, cc->tcb.issue_date);
    earliest(&cc->issued, cc->qe.issue_date);
    earliest(&cc->expires, cc->tcb.next_update);
    earliest(&cc->expires, cc->qe.next_update);
    X509_CRL *crls[2] = {cc->root_crl, cc->pck_crl};
    for (int i = 0; i < 2; i++) {
        if (tdx_v_asn1_time(X509_CRL_get0_lastUpdate(crls[i]), &t))
            earliest(&cc->issued, t);
        if (X509_CRL_get0_nextUpdate(crls[i]) &&
            tdx_v_asn1_time(X509_CRL_get0_nextUpdate(crls[i]), &t))
            earliest(&cc->expires, t);
    }
}

static ccai_code decode_all(const tdx_collateral *c, tdx_collateral_ctx *cc, ccai_err *err)
{
    ccai_code rc = load_chain(c->pck_crl_issuer_chain, "pck_crl_issuer_chain", &cc->pck_crl_chain,
                              err);
    if (!rc)
        rc = load_chain(c->tcb_info_issuer_chain, "tcb_info_issuer_chain", &cc->tcb_chain, err);
    /* The QE identity is usually signed by the same chain: decode it once. */
    cc->qe_chain_same = !rc && c->qe_identity_issuer_chain &&
                        strcmp(c->tcb_info_issuer_chain, c->qe_identity_issuer_chain) == 0;
    if (!rc && cc->qe_chain_same && !(cc->qe_chain = X509_chain_up_ref(cc->tcb_chain)))
        rc = ccai_fail(err, CCAI_ERR_CRYPTO, "collateral: out of memory");
    else if (!rc && !cc->qe_chain_same)
        rc = load_chain(c->qe_identity_issuer_chain, "qe_identity_issuer_chain", &cc->qe_chain,
                        err);
    if (!rc)
        rc = load_crl(c->root_ca_crl, c->root_ca_crl_len, "root_ca_crl", &cc->root_crl, err);
    if (!rc)
        rc = load_crl(c->pck_crl, c->pck_crl_len, "pck_crl", &cc->pck_crl, err);
    if (rc)
        return rc;
    if (!c->tcb_info || !c->qe_identity)
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: %s is missing",
                         c->tcb_info ? "qe_identity" : "tcb_info");
    cc->tcb_raw = ccai_xmemdup(c->tcb_info, c->tcb_info_len + 1);
    cc->tcb_raw[c->tcb_info_len] = '\0';
    cc->tcb_raw_len = c->tcb_info_len;
    cc->qe_raw = ccai_xmemdup(c->qe_identity, c->qe_identity_len + 1);
    cc->qe_raw[c->qe_identity_len] = '\0';
    cc->qe_raw_len = c->qe_identity_len;
    memcpy(cc->tcb_sig, c->tcb_info_signature, 64);
    memcpy(cc->qe_sig, c->qe_identity_signature, 64);

    rc = tdx_tcb_info_parse(cc->tcb_raw, cc->tcb_raw_len, &cc->tcb, err);
    if (rc) {
        ccai_err_prefix(err, "collateral: tcb_info");
        return rc;
    }
    cc->tcb_parsed = true;
    rc = tdx_qe_identity_parse(cc->qe_raw, cc->qe_raw_len, &cc->qe, err);
    if (rc) {
        ccai_err_prefix(err, "collateral: qe_identity");
        return rc;
    }
    cc->qe_parsed = true;
    return CCAI_OK;
}

/* SHA-256 of the DER inside one PEM certificate, without decoding the
 * certificate (the simulated root only needs recognising by its hash). */
static ccai_code pem_der_sha256(const char *pem, uint8_t out[32], ccai_err *err)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
    const char *b = strstr(pem, begin), *e = b ? strstr(b, end) : NULL;
    if (!e)
        return ccai_fail(err, CCAI_ERR_PARSE, "simulated root: not a PEM certificate");
    b += sizeof begin - 1;
    char *body = ccai_xmalloc((size_t)(e - b) + 1);
    size_t n = 0;
    for (const char *p = b; p < e; p++)
        if (*p != '\n' && *p != '\r')
            body[n++] = *p;
    body[n] = '\0';
    uint8_t *der = NULL;
    size_t der_len = 0;
    ccai_code rc = ccai_b64_decode(body, n, CCAI_B64_STD, &der, &der_len, err);
    if (!rc)
        ccai_sha256(der, der_len, out);
    free(der);
    free(body);
    return rc;
}

ccai_code tdx_collateral_prepare(const tdx_collateral *c, tdx_collateral_ctx **out,
                                 ccai_err *err)
{
    if (!c || !out)
        return ccai_fail(err, CCAI_ERR_ARG, "collateral_prepare: no collateral given");
    tdx_collateral_ctx *cc = ccai_xcalloc(1, sizeof *cc);
    pthread_mutex_init(&cc->lock, NULL);
    ccai_code rc = pem_der_sha256(tee_sim_root_pem(), cc->sim_root_sha256, err);
    if (!rc)
        rc = ccai_hex_decode_exact(TDX_INTEL_ROOT_CA_SHA256, cc->intel_root_sha256, 32, err);
    if (!rc)
        rc = decode_all(c, cc, err);
    if (rc) {
        tdx_collateral_ctx_free(cc);
        return rc;
    }
    cc->tcb_sig_ok = json_signed(cc->tcb_chain, cc->tcb_raw, cc->tcb_raw_len, cc->tcb_sig);
    cc->qe_sig_ok = json_signed(cc->qe_chain, cc->qe_raw, cc->qe_raw_len, cc->qe_sig);
    int m = sk_X509_num(cc->pck_crl_chain);
    cc->pck_crl_sig_ok = crl_signed(cc->pck_crl, sk_X509_value(cc->pck_crl_chain, 0));
    cc->root_crl_sig_ok = m > 1 && crl_signed(cc->root_crl, sk_X509_value(cc->pck_crl_chain, m - 1));
    collateral_period(cc);
    *out = cc;
    return CCAI_OK;
}

void tdx_collateral_ctx_free(tdx_collateral_ctx *cc)
{
    if (!cc)
        return;
    sk_X509_pop_free(cc->pck_crl_chain, X509_free);
    sk_X509_pop_free(cc->tcb_chain, X509_free);
    sk_X509_pop_free(cc->qe_chain, X509_free);
    X509_CRL_free(cc->root_crl);
    X509_CRL_free(cc->pck_crl);
    if (cc->tcb_parsed)
        tdx_tcb_info_free(&cc->tcb);
    if (cc->qe_parsed)
        tdx_qe_identity_free(&cc->qe);
    free(cc->tcb_raw);
    free(cc->qe_raw);
    for (int i = 0; i < TDX_ANCHOR_COUNT; i++)
        X509_STORE_free(cc->store[i]);
    for (int i = 0; i < TDX_CACHE_SLOTS; i++)
        X509_free(cc->certs[i].x);
    pthread_mutex_destroy(&cc->lock);
    free(cc);
}

/* ---- the collateral step ------------------------------------------------------------ */

typedef struct item {
    const char *name;          /* "TCB info" */
    STACK_OF(X509) *chain;
    bool sig_ok;
    size_t raw_len;
    time_t issue_date, next_update;
    tdx_window *cache;         /* per anchor */
} item;

static ccai_code item_dates(const item *it, time_t at, ccai_err *err)
{
    char when[32], now[32];
    ccai_time_format(at, now);
    if (it->issue_date > at) {
        ccai_time_format(it->issue_date, when);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "collateral not yet valid: %s issueDate %s is after the verification "
                         "time %s",
                         it->name, when, now);
    }
    if (it->next_update < at) {
        ccai_time_format(it->next_update, when);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "collateral expired: %s nextUpdate %s is before the verification time %s",
                         it->name, when, now);
    }
    return CCAI_OK;
}

/* The one certificate that may sign TCB info and QE identity: Intel's "Intel
 * SGX TCB Signing" (the simulated TD's SIM_TCB_CN), issued by the root itself
 * and not a CA, the chain just the two (as Intel's quote verification
 * library requires). Any other certificate under the root -- a platform's
 * PCK leaf, whose key lives on that platform, or its Platform CA -- chains to
 * the root just as well, and must not rate platforms. */
static ccai_code signer_role(const item *it, tdx_anchor a, ccai_err *err)
{
    static const char *const want_cn[TDX_ANCHOR_COUNT] = {"Intel SGX TCB Signing", SIM_TCB_CN};
    int n = sk_X509_num(it->chain);
    X509 *signer = sk_X509_value(it->chain, 0), *root = sk_X509_value(it->chain, n - 1);
    char cn[128] = "";
    int cn_len =
        X509_NAME_get_text_by_NID(X509_get_subject_name(signer), NID_commonName, cn, sizeof cn);
    bool ca = X509_check_ca(signer) != 0;
    bool by_root = X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(root)) == 0;
    ERR_clear_error();
    if (cn_len >= 0 && (size_t)cn_len == strlen(want_cn[a]) && !strcmp(cn, want_cn[a]) && !ca &&
        n == 2 && by_root)
        return CCAI_OK;
    char subject[256];
    tdx_x509_subject(signer, subject, sizeof subject);
    return ccai_fail(err, CCAI_ERR_VERIFY,
                     "%s signer: expected the TCB signing certificate (CN=%s, issued by the root, "
                     "not a CA, the chain just it and the root), found %s%s%s",
                     it->name, want_cn[a], subject, ca ? " (a CA)" : "",
                     n != 2 || !by_root ? " (not issued by the root)" : "");
}

/* The issuer chain of one item to a trusted anchor at `at`, through the cache. */
static ccai_code item_chain(tdx_collateral_ctx *cc, const item *it, tdx_anchor quote_anchor,
                            bool trust_simulated, time_t at, ccai_err *err)
{
    int n = sk_X509_num(it->chain);
    if (n < 2)
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "%s issuer chain holds %d certificate(s); expected the signing certificate "
                         "and the root",
                         it->name, n);
    X509 *root = sk_X509_value(it->chain, n - 1);
    ccai_err why = {0};
    tdx_anchor a = tdx_v_classify_root(cc, root, trust_simulated, &why);
    if (a == TDX_ANCHOR_NONE)
        return ccai_fail(err, CCAI_ERR_VERIFY, "%s issuer chain: %s", it->name, why.msg);
    /* Collateral for one root cannot vouch for evidence under another: with
     * --trust-simulated, simulated collateral must not rate a real quote. */
    if (quote_anchor != TDX_ANCHOR_NONE && a != quote_anchor) {
        char subject[256];
        tdx_x509_subject(root, subject, sizeof subject);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "%s issuer chain ends at %s, not at the root of the quote's PCK chain",
                         it->name, subject);
    }
    ccai_code rc = signer_role(it, a, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&cc->lock);
    tdx_window w = it->cache[a];
    pthread_mutex_unlock(&cc->lock);
    if (w.valid && at >= w.from && at <= w.to)
        return CCAI_OK;

    tdx_chain_check chk;
    tdx_v_chain_verify(cc, a, root, it->chain, "TCB signing certificate", at, &chk);
    if (!chk.chain_ok)
        return ccai_fail(err, CCAI_ERR_VERIFY, "%s issuer chain: %s", it->name,
                         chk.chain_err.msg);
    if (!chk.crl_ok)
        return ccai_fail(err, CCAI_ERR_VERIFY, "%s issuer chain: %s", it->name, chk.crl_err.msg);
    if (chk.window.valid) {
        pthread_mutex_lock(&cc->lock);
        it->cache[a] = chk.window;
        pthread_mutex_unlock(&cc->lock);
    }
    return CCAI_OK;
}

static ccai_code item_check(tdx_collateral_ctx *cc, const item *it, tdx_anchor quote_anchor,
                            bool trust_simulated, time_t at, ccai_err *err)
{
    if (!it->sig_ok) {
        char subject[256] = "(none)";
        if (sk_X509_num(it->chain) > 0)
            tdx_x509_subject(sk_X509_value(it->chain, 0), subject, sizeof subject);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "%s signature does not verify under its signing certificate %s (over "
                         "the %zu raw JSON bytes)",
                         it->name, subject, it->raw_len);
    }
    ccai_code rc = item_dates(it, at, err);
    if (!rc)
        rc = item_chain(cc, it, quote_anchor, trust_simulated, at, err);
    return rc;
}

ccai_code tdx_v_collateral_check(tdx_collateral_ctx *cc, tdx_anchor quote_anchor,
                                 bool trust_simulated, time_t at, char *detail, size_t n,
                                 ccai_err *err)
{
    item tcb = {.name = "TCB info", .chain = cc->tcb_chain, .sig_ok = cc->tcb_sig_ok,
                .raw_len = cc->tcb_raw_len, .issue_date = cc->tcb.issue_date,
                .next_update = cc->tcb.next_update, .cache = cc->tcb_chain_ok};
    /* The QE identity usually comes with the same issuer chain: share its cache. */
    item qe = {.name = "QE identity", .chain = cc->qe_chain, .sig_ok = cc->qe_sig_ok,
               .raw_len = cc->qe_raw_len, .issue_date = cc->qe.issue_date,
               .next_update = cc->qe.next_update,
               .cache = cc->qe_chain_same ? cc->tcb_chain_ok : cc->qe_chain_ok};
    ccai_code rc = item_check(cc, &tcb, quote_anchor, trust_simulated, at, err);
    if (!rc)
        rc = item_check(cc, &qe, quote_anchor, trust_simulated, at, err);
    if (rc)
        return rc;
    char fmspc[13], tcb_next[32], qe_next[32], signer[256];
    ccai_hex_encode(cc->tcb.fmspc, 6, fmspc);
    ccai_time_format(cc->tcb.next_update, tcb_next);
    ccai_time_format(cc->qe.next_update, qe_next);
    tdx_x509_subject(sk_X509_value(cc->tcb_chain, 0), signer, sizeof signer);
    snprintf(detail, n,
             "TCB info (%s v%d, FMSPC %s, next update %s) and QE identity (%s v%d, next update "
             "%s): signatures over the raw JSON verify, signed by %s",
             cc->tcb.id, cc->tcb.version, fmspc, tcb_next, cc->qe.id, cc->qe.version, qe_next,
             signer);
    return CCAI_OK;
}
