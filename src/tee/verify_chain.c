/* Certificates, CRLs and signatures for the DCAP verifier (verify_internal.h).
 *
 * Trust anchors (verify.h): the Intel SGX Root CA is pinned by the SHA-256
 * of its DER (tdx-facts §3) and must be self-signed; the simulated root is
 * recognised by being byte-equal to tee_sim_root_pem() and is trusted only
 * when the caller says so. A chain is then verified by OpenSSL's
 * X509_verify_cert against a store that holds that one anchor and the
 * collateral's two CRLs, at the caller's time, with CRL checking of every
 * certificate (tdx-facts §2 step 2). A verify callback sorts OpenSSL's
 * findings into chain faults (which stop the verification) and CRL faults
 * (which are noted and let it go on), so the verifier can report each under
 * its own step, in words that name the certificate or CRL and the dates.
 *
 * The explicit CRL checks (tdx_v_crl_check) repeat what the store does, but
 * in the order and words of tdx-facts §2: issuers, signatures, dates,
 * revocation of the leaf by the PCK CRL and of the intermediates by the root
 * CA CRL.
 *
 * The quotes' PCK chains go through two small caches in the context: decoded
 * certificates by the hash of their PEM text, and chains that verified, with
 * the period in which that stays true (docs/verify.md "The warm path"). */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/pck.h"
#include "tee/verify_internal.h"

/* ---- small helpers ----------------------------------------------------------- */

EVP_PKEY *tdx_v_p256_from_raw(const uint8_t xy[64])
{
    uint8_t point[65];
    char group[] = "prime256v1";
    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, xy, 64);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    /* Importing checks that the point lies on the curve. */
    if (!pctx || EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    EVP_PKEY_CTX_free(pctx);
    ERR_clear_error();
    return key;
}

bool tdx_v_asn1_time(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return false;
    }
    *out = timegm(&tm);
    return true;
}

void tdx_v_asn1_format(const ASN1_TIME *t, char out[32])
{
    time_t v;
    if (tdx_v_asn1_time(t, &v))
        ccai_time_format(v, out);
    else
        snprintf(out, 32, "(unreadable)");
}

void tdx_v_serial_hex(const ASN1_INTEGER *sn, char *out, size_t n)
{
    BIGNUM *bn = sn ? ASN1_INTEGER_to_BN(sn, NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(out, n, "%s", hex ? hex : "(unreadable)");
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    OPENSSL_free(hex);
    BN_free(bn);
    ERR_clear_error();
}

static void name_text(const X509_NAME *name, char *buf, size_t n)
{
    tdx_x509_name_text(name, buf, n);
}

/* ---- trust anchors ------------------------------------------------------------ */

/* The anchor's self-signature, checked once per context (tdx-facts §2 step 2:
 * the root "is self-signed"); identical bytes give an identical answer. */
static bool root_self_signed(tdx_collateral_ctx *cc, tdx_anchor a, X509 *root)
{
    pthread_mutex_lock(&cc->lock);
    bool done = cc->root_self_signed[a];
    pthread_mutex_unlock(&cc->lock);
    if (done)
        return true;
    EVP_PKEY *key = X509_get0_pubkey(root);
    bool ok = key && X509_check_issued(root, root) == X509_V_OK && X509_verify(root, key) == 1;
    ERR_clear_error();
    if (ok) {
        pthread_mutex_lock(&cc->lock);
        cc->root_self_signed[a] = true;
        pthread_mutex_unlock(&cc->lock);
    }
    return ok;
}

tdx_anchor tdx_v_classify_root(tdx_collateral_ctx *cc, X509 *root, bool trust_simulated,
                               ccai_err *err)
{
    uint8_t h[32];
    char hex[65], subject[256];
    tdx_x509_sha256(root, h);
    ccai_hex_encode(h, sizeof h, hex);
    tdx_x509_subject(root, subject, sizeof subject);
    tdx_anchor a = TDX_ANCHOR_NONE;
    if (memcmp(h, cc->intel_root_sha256, 32) == 0) {
        a = TDX_ANCHOR_INTEL;
    } else if (memcmp(h, cc->sim_root_sha256, 32) == 0) {
        if (!trust_simulated) {
            ccai_fail(err, CCAI_ERR_VERIFY,
                      "untrusted root: simulated TDX root CA (pass --trust-simulated to accept "
                      "simulated evidence)");
            return TDX_ANCHOR_NONE;
        }
        a = TDX_ANCHOR_SIM;
    } else {
        ccai_fail(err, CCAI_ERR_VERIFY, "untrusted root CA %s (sha256 %s)", subject, hex);
        return TDX_ANCHOR_NONE;
    }
    if (!root_self_signed(cc, a, root)) {
        ccai_fail(err, CCAI_ERR_VERIFY, "root CA %s (sha256 %s) is not self-signed", subject,
                  hex);
        return TDX_ANCHOR_NONE;
    }
    return a;
}

X509_STORE *tdx_v_store(tdx_collateral_ctx *cc, tdx_anchor anchor, X509 *anchor_cert)
{
    pthread_mutex_lock(&cc->lock);
    X509_STORE *s = cc->store[anchor];
    if (!s) {
        s = X509_STORE_new();
        if (s && (!X509_STORE_add_cert(s, anchor_cert) || !X509_STORE_add_crl(s, cc->root_crl) ||
                  !X509_STORE_add_crl(s, cc->pck_crl))) {
            X509_STORE_free(s);
            s = NULL;
        }
        cc->store[anchor] = s;
    }
    if (s && !X509_STORE_up_ref(s))
        s = NULL;
    pthread_mutex_unlock(&cc->lock);
    ERR_clear_error();
    return s;
}

/* ---- caches for the quote's PCK chain ---------------------------------------- */

ccai_code tdx_v_cert_from_pem(tdx_collateral_ctx *cc, const char *pem, uint8_t key[32],
                              X509 **out, ccai_err *err)
{
    ccai_sha256(pem, strlen(pem), key);
    X509 *x = NULL;
    pthread_mutex_lock(&cc->lock);
    for (int i = 0; i < TDX_CACHE_SLOTS && !x; i++)
        if (cc->certs[i].x && memcmp(cc->certs[i].key, key, 32) == 0 &&
            X509_up_ref(cc->certs[i].x))
            x = cc->certs[i].x;
    pthread_mutex_unlock(&cc->lock);
    if (x) {
        *out = x;
        return CCAI_OK;
    }
    ccai_code rc = tdx_pem_to_x509(pem, &x, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&cc->lock);
    size_t slot = cc->certs_next++ % TDX_CACHE_SLOTS;
    if (X509_up_ref(x)) {
        X509_free(cc->certs[slot].x);
        memcpy(cc->certs[slot].key, key, 32);
        cc->certs[slot].x = x;
    }
    pthread_mutex_unlock(&cc->lock);
    *out = x;
    return CCAI_OK;
}

bool tdx_v_chain_known_good(tdx_collateral_ctx *cc, const uint8_t key[32], tdx_anchor anchor,
                            time_t at)
{
    bool hit = false;
    pthread_mutex_lock(&cc->lock);
    for (int i = 0; i < TDX_CACHE_SLOTS && !hit; i++) {
        const tdx_window *w = &cc->chains[i].ok;
        hit = w->valid && cc->chains[i].anchor == anchor && memcmp(cc->chains[i].key, key, 32) == 0 &&
              at >= w->from && at <= w->to;
    }
    pthread_mutex_unlock(&cc->lock);
    return hit;
}

void tdx_v_chain_remember(tdx_collateral_ctx *cc, const uint8_t key[32], tdx_anchor anchor,
                          const tdx_window *ok)
{
    if (!ok->valid)
        return;
    pthread_mutex_lock(&cc->lock);
    size_t slot = cc->chains_next++ % TDX_CACHE_SLOTS;
    memcpy(cc->chains[slot].key, key, 32);
    cc->chains[slot].anchor = anchor;
    cc->chains[slot].ok = *ok;
    pthread_mutex_unlock(&cc->lock);
}

/* ---- OpenSSL's verify errors in words --------------------------------------------- */

typedef struct cb_state {
    tdx_collateral_ctx *cc;
    tdx_chain_check *out;
    const char *leaf_role;
    time_t at;
} cb_state;

/* Errors about CRLs and revocation: reported under the crl step, and the
 * chain verification goes on past them. */
static bool is_crl_error(int e)
{
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_CERT_REVOKED:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
        return true;
    default:
        return false;
    }
}

static const char *crl_name(const tdx_collateral_ctx *cc, const X509_CRL *crl)
{
    if (crl && crl == cc->pck_crl)
        return "PCK CRL";
    if (crl && crl == cc->root_crl)
        return "root CA CRL";
    return "CRL";
}

/* "PCK certificate", "intermediate CA certificate" or "root CA certificate". */
static const char *role_of(const cb_state *st, X509 *cert, int depth)
{
    if (depth == 0)
        return st->leaf_role;
    return cert && X509_check_issued(cert, cert) == X509_V_OK ? "root CA certificate"
                                                             : "intermediate CA certificate";
}

static void describe_crl_error(const cb_state *st, X509_STORE_CTX *x, int e, X509 *cert,
                               int depth, ccai_err *err)
{
    char subject[256] = "", when[32], at[32];
    const char *role = role_of(st, cert, depth);
    X509_CRL *crl = X509_STORE_CTX_get0_current_crl(x);
    const char *name = crl_name(st->cc, crl);
    if (cert)
        tdx_x509_subject(cert, subject, sizeof subject);
    ccai_time_format(st->at, at);
    switch (e) {
    case X509_V_ERR_CERT_REVOKED: {
        char serial[96];
        tdx_v_serial_hex(cert ? X509_get0_serialNumber(cert) : NULL, serial, sizeof serial);
        ccai_fail(err, CCAI_ERR_VERIFY, "%s %s serial %s revoked by the %s", role, subject,
                  serial, name);
        break;
    }
    case X509_V_ERR_CRL_HAS_EXPIRED:
        tdx_v_asn1_format(crl ? X509_CRL_get0_nextUpdate(crl) : NULL, when);
        ccai_fail(err, CCAI_ERR_VERIFY,
                  "collateral expired: %s nextUpdate %s is before the verification time %s",
                  name, when, at);
        break;
    case X509_V_ERR_CRL_NOT_YET_VALID:
        tdx_v_asn1_format(crl ? X509_CRL_get0_lastUpdate(crl) : NULL, when);
        ccai_fail(err, CCAI_ERR_VERIFY,
                  "collateral not yet valid: %s thisUpdate %s is after the verification time %s",
                  name, when, at);
        break;
    case X509_V_ERR_UNABLE_TO_GET_CRL: {
        char issuer[256] = "";
        if (cert)
            name_text(X509_get_issuer_name(cert), issuer, sizeof issuer);
        ccai_fail(err, CCAI_ERR_VERIFY, "no CRL in the collateral covers the %s %s (issuer %s)",
                  role, subject, issuer);
        break;
    }
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
        ccai_fail(err, CCAI_ERR_VERIFY, "%s signature does not verify under its issuer", name);
        break;
    default:
        ccai_fail(err, CCAI_ERR_VERIFY, "CRL check of the %s %s: %s (X509 verify error %d)",
                  role, subject, X509_verify_cert_error_string(e), e);
        break;
    }
}

static void describe_chain_error(const cb_state *st, int e, X509 *cert, int depth,
                                 ccai_err *err)
{
    char subject[256] = "", issuer[256] = "", when[32], at[32];
    const char *role = role_of(st, cert, depth);
    if (cert) {
        tdx_x509_subject(cert, subject, sizeof subject);
        name_text(X509_get_issuer_name(cert), issuer, sizeof issuer);
    }
    ccai_time_format(st->at, at);
    switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        /* style.md: "PCK certificate not valid after ... (verifying at ...)". */
        tdx_v_asn1_format(cert ? X509_get0_notAfter(cert) : NULL, when);
        ccai_fail(err, CCAI_ERR_VERIFY, "%s %s not valid after %s (verifying at %s)", role,
                  subject, when, at);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        tdx_v_asn1_format(cert ? X509_get0_notBefore(cert) : NULL, when);
        ccai_fail(err, CCAI_ERR_VERIFY, "%s %s not valid before %s (verifying at %s)", role,
                  subject, when, at);
        break;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
        ccai_fail(err, CCAI_ERR_VERIFY, "%s %s: signature does not verify under its issuer %s",
                  role, subject, issuer);
        break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        ccai_fail(err, CCAI_ERR_VERIFY,
                  "%s %s: its issuer %s is not in the chain up to the trusted root", role,
                  subject, issuer);
        break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        ccai_fail(err, CCAI_ERR_VERIFY,
                  "chain reaches the self-signed %s, which is not the trusted root", subject);
        break;
    case X509_V_ERR_INVALID_CA:
        ccai_fail(err, CCAI_ERR_VERIFY, "%s %s is not a valid CA certificate", role, subject);
        break;
    default:
        ccai_fail(err, CCAI_ERR_VERIFY, "%s %s: %s (X509 verify error %d)", role, subject,
                  X509_verify_cert_error_string(e), e);
        break;
    }
}

static int verify_cb(int ok, X509_STORE_CTX *x)
{
    if (ok)
        return 1;
    cb_state *st = X509_STORE_CTX_get_app_data(x);
    int e = X509_STORE_CTX_get_error(x);
    int depth = X509_STORE_CTX_get_error_depth(x);
    X509 *cert = X509_STORE_CTX_get_current_cert(x);
    if (is_crl_error(e)) {
        if (st->out->crl_ok) {
            st->out->crl_ok = false;
            describe_crl_error(st, x, e, cert, depth, &st->out->crl_err);
        }
        return 1;
    }
    if (st->out->chain_ok) {
        st->out->chain_ok = false;
        describe_chain_error(st, e, cert, depth, &st->out->chain_err);
    }
    return 0;
}

/* ---- chain verification ------------------------------------------------------------- */

static void narrow(tdx_window *w, const ASN1_TIME *from, const ASN1_TIME *to)
{
    time_t t;
    if (!from || !tdx_v_asn1_time(from, &t)) {
        w->valid = false;
    } else if (t > w->from) {
        w->from = t;
    }
    /* OpenSSL treats "now == notAfter/nextUpdate" as expired. */
    if (!to || !tdx_v_asn1_time(to, &t)) {
        w->valid = false;
    } else if (t - 1 < w->to) {
        w->to = t - 1;
    }
}

/* The period in which the successful verification x stays successful: the
 * intersection of its certificates' and both CRLs' validity. */
static tdx_window window_of(const tdx_collateral_ctx *cc, X509_STORE_CTX *x, time_t at)
{
    /* Start from the widest range and narrow. */
    tdx_window w = {.valid = true, .from = (time_t)INT64_MIN, .to = (time_t)INT64_MAX};
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(x);
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        narrow(&w, X509_get0_notBefore(c), X509_get0_notAfter(c));
    }
    narrow(&w, X509_CRL_get0_lastUpdate(cc->root_crl), X509_CRL_get0_nextUpdate(cc->root_crl));
    narrow(&w, X509_CRL_get0_lastUpdate(cc->pck_crl), X509_CRL_get0_nextUpdate(cc->pck_crl));
    if (!chain || at < w.from || at > w.to)
        w.valid = false;
    return w;
}

void tdx_v_chain_verify(tdx_collateral_ctx *cc, tdx_anchor anchor, X509 *anchor_cert,
                        STACK_OF(X509) *chain, const char *leaf_role, time_t at,
                        tdx_chain_check *out)
{
    memset(out, 0, sizeof *out);
    out->chain_ok = out->crl_ok = true;
    int n = sk_X509_num(chain);
    X509_STORE *store = tdx_v_store(cc, anchor, anchor_cert);
    X509_STORE_CTX *x = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    /* The intermediates only: the anchor comes from the store. */
    for (int i = 1; untrusted && i < n - 1; i++)
        if (!sk_X509_push(untrusted, sk_X509_value(chain, i))) {
            sk_X509_free(untrusted);
            untrusted = NULL;
        }
    cb_state st = {.cc = cc, .out = out, .leaf_role = leaf_role, .at = at};
    int rc = -1;
    if (store && x && untrusted && n > 0 &&
        X509_STORE_CTX_init(x, store, sk_X509_value(chain, 0), untrusted) == 1) {
        X509_STORE_CTX_set_flags(x, X509_V_FLAG_X509_STRICT | X509_V_FLAG_CRL_CHECK |
                                        X509_V_FLAG_CRL_CHECK_ALL);
        X509_STORE_CTX_set_time(x, 0, at);
        X509_STORE_CTX_set_verify_cb(x, verify_cb);
        X509_STORE_CTX_set_app_data(x, &st);
        rc = X509_verify_cert(x);
        if (rc != 1 && out->chain_ok) {
            out->chain_ok = false;
            int e = X509_STORE_CTX_get_error(x);
            ccai_fail(&out->chain_err, CCAI_ERR_VERIFY, "%s chain does not verify: %s",
                      leaf_role, X509_verify_cert_error_string(e));
        }
        if (out->chain_ok && out->crl_ok)
            out->window = window_of(cc, x, at);
    } else {
        out->chain_ok = false;
        ccai_fail(&out->chain_err, CCAI_ERR_CRYPTO, "%s chain: certificate store setup failed",
                  leaf_role);
    }
    X509_STORE_CTX_free(x);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
    ERR_clear_error();
}

/* ---- explicit CRL checks ---------------------------------------------------------------- */

static ccai_code crl_dates(const char *name, const X509_CRL *crl, time_t at, ccai_err *err)
{
    time_t last, next;
    char when[32], now[32];
    ccai_time_format(at, now);
    if (!tdx_v_asn1_time(X509_CRL_get0_lastUpdate(crl), &last))
        return ccai_fail(err, CCAI_ERR_VERIFY, "%s thisUpdate is unreadable", name);
    if (!X509_CRL_get0_nextUpdate(crl) || !tdx_v_asn1_time(X509_CRL_get0_nextUpdate(crl), &next))
        return ccai_fail(err, CCAI_ERR_VERIFY, "%s has no readable nextUpdate", name);
    if (last > at) {
        ccai_time_format(last, when);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "collateral not yet valid: %s thisUpdate %s is after the verification "
                         "time %s",
                         name, when, now);
    }
    if (next < at) {
        ccai_time_format(next, when);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "collateral expired: %s nextUpdate %s is before the verification time %s",
                         name, when, now);
    }
    return CCAI_OK;
}

/* The CRL's signature under issuer: prepare's answer when issuer is the very
 * certificate prepare used, else checked now. */
static bool crl_signed_by(X509_CRL *crl, X509 *issuer, X509 *prepared_issuer, bool prepared_ok)
{
    if (prepared_issuer && X509_cmp(issuer, prepared_issuer) == 0)
        return prepared_ok;
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    bool ok = key && X509_CRL_verify(crl, key) == 1;
    ERR_clear_error();
    return ok;
}

static ccai_code not_revoked(X509_CRL *crl, const char *crl_label, X509 *cert,
                             const char *role, bool with_subject, ccai_err *err)
{
    X509_REVOKED *rev = NULL;
    if (X509_CRL_get0_by_cert(crl, &rev, cert) != 1)
        return CCAI_OK;
    char serial[96], subject[256] = "";
    tdx_v_serial_hex(X509_get0_serialNumber(cert), serial, sizeof serial);
    if (with_subject)
        tdx_x509_subject(cert, subject, sizeof subject);
    return ccai_fail(err, CCAI_ERR_VERIFY, "%s%s%s serial %s revoked by the %s", role,
                     with_subject ? " " : "", subject, serial, crl_label);
}

ccai_code tdx_v_crl_check(tdx_collateral_ctx *cc, STACK_OF(X509) *chain, time_t at,
                          ccai_err *err)
{
    int n = sk_X509_num(chain);
    if (n < 2)
        return ccai_fail(err, CCAI_ERR_VERIFY, "the PCK chain has no issuer CA certificate");
    X509 *leaf = sk_X509_value(chain, 0), *issuer = sk_X509_value(chain, 1);
    X509 *root = sk_X509_value(chain, n - 1);
    int m = sk_X509_num(cc->pck_crl_chain);
    X509 *c_issuer = m > 0 ? sk_X509_value(cc->pck_crl_chain, 0) : NULL;
    X509 *c_root = m > 1 ? sk_X509_value(cc->pck_crl_chain, m - 1) : NULL;
    char a[256], b[256];

    /* PCK CRL: issued by the leaf's issuer (tdx-facts §2 step 2). */
    if (X509_NAME_cmp(X509_CRL_get_issuer(cc->pck_crl), X509_get_issuer_name(leaf)) != 0) {
        name_text(X509_CRL_get_issuer(cc->pck_crl), a, sizeof a);
        name_text(X509_get_issuer_name(leaf), b, sizeof b);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "PCK CRL issuer %s is not the PCK certificate's issuer %s", a, b);
    }
    if (!crl_signed_by(cc->pck_crl, issuer, c_issuer, cc->pck_crl_sig_ok)) {
        tdx_x509_subject(issuer, a, sizeof a);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "PCK CRL signature does not verify under the PCK certificate's issuer %s",
                         a);
    }
    ccai_code rc = crl_dates("PCK CRL", cc->pck_crl, at, err);
    if (!rc)
        rc = not_revoked(cc->pck_crl, "PCK CRL", leaf, "PCK certificate", false, err);
    if (rc)
        return rc;

    /* Root CA CRL: issued and signed by the root; covers the intermediates. */
    if (X509_NAME_cmp(X509_CRL_get_issuer(cc->root_crl), X509_get_subject_name(root)) != 0) {
        name_text(X509_CRL_get_issuer(cc->root_crl), a, sizeof a);
        tdx_x509_subject(root, b, sizeof b);
        return ccai_fail(err, CCAI_ERR_VERIFY, "root CA CRL issuer %s is not the root CA %s", a,
                         b);
    }
    if (!crl_signed_by(cc->root_crl, root, c_root, cc->root_crl_sig_ok)) {
        tdx_x509_subject(root, a, sizeof a);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "root CA CRL signature does not verify under the root CA %s", a);
    }
    rc = crl_dates("root CA CRL", cc->root_crl, at, err);
    for (int i = 1; !rc && i < n - 1; i++)
        rc = not_revoked(cc->root_crl, "root CA CRL", sk_X509_value(chain, i),
                         "intermediate CA certificate", true, err);
    return rc;
}
