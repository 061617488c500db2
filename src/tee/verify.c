/* DCAP quote verification (verify.h): the steps of tdx-facts §2 in order,
 * each recorded with ok/failed and a reason, and the result as JSON.
 *
 * A step runs when what it needs exists, even after an earlier step failed,
 * so one run reports every independent fault: the quote signature is checked
 * although the PCK chain is expired, the event logs are replayed whatever the
 * collateral says. What depends on an earlier result is skipped and recorded
 * as such: no decoded PCK chain means no CRL, extension or QE report check;
 * unverified collateral is never used to rate the TCB (steps 6-8 run only
 * on collateral that verified). r->failure is the first failure; verified is
 * true only when every step passed.
 *
 * Certificates, CRLs and the collateral's own checks live in
 * verify_chain.c and verify_collateral.c (verify_internal.h). */
#include "tee/verify.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/ecdsa.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/ccel.h"
#include "tee/sim_internal.h"
#include "tee/verify_internal.h"

/* Everything one verification carries from step to step. */
typedef struct vrun {
    const tdx_quote *q;
    tdx_collateral_ctx *cc;
    const tdx_verify_opts *o;
    tdx_verify_result *r;
    STACK_OF(X509) *chain;      /* the quote's PCK chain, decoded (owned) */
    tdx_anchor anchor;          /* of the PCK chain's root */
    tdx_chain_check chk;        /* the PCK chain's X509_verify_cert findings */
    bool chk_ran;
    bool pck_ext_ok, collateral_ok, qe_ok;
} vrun;

static void step(tdx_verify_result *r, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void step(tdx_verify_result *r, const char *name, bool ok, const char *fmt, ...)
{
    if (r->n_steps >= TDX_VERIFY_MAX_STEPS)
        return;
    tdx_step *s = &r->steps[r->n_steps++];
    s->name = name;
    s->ok = ok;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->detail, sizeof s->detail, fmt, ap);
    va_end(ap);
    if (!ok && r->failure.code == CCAI_OK)
        ccai_fail(&r->failure, CCAI_ERR_VERIFY, "%s", s->detail);
}

/* The common name of a certificate, for short step details. */
static const char *cn(X509 *x, char *buf, size_t n)
{
    buf[0] = '\0';
    if (!x || X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf,
                                        (int)n) < 0)
        snprintf(buf, n, "(no CN)");
    return buf;
}

/* ---- step 1: header ----------------------------------------------------------------- */

static void step_header(vrun *v)
{
    const tdx_quote *q = v->q;
    const tdx_quote_header *h = &q->header;
    char vendor[33], intel[33];
    ccai_hex_encode(h->qe_vendor_id, 16, vendor);
    ccai_hex_encode(TDX_INTEL_QE_VENDOR_ID, 16, intel);
    if (h->version != 4 && h->version != 5)
        step(v->r, "header", false, "quote version %u, expected 4 or 5", h->version);
    else if (h->att_key_type != TDX_ATT_KEY_ECDSA_P256)
        step(v->r, "header", false, "attestation key type %u, expected 2 (ECDSA-256 with P-256)",
             h->att_key_type);
    else if (h->tee_type != TDX_TEE_TYPE_TDX)
        step(v->r, "header", false, "TEE type 0x%x, expected 0x81 (TDX)", h->tee_type);
    else if (q->body_type != TDX_BODY_TYPE_TDX10 && q->body_type != TDX_BODY_TYPE_TDX15)
        step(v->r, "header", false, "body type %u, expected 2 (TDX 1.0) or 3 (TDX 1.5)",
             q->body_type);
    else if (q->cert_type != TDX_CERT_TYPE_QE_REPORT || q->pck_cert_type != TDX_CERT_TYPE_PCK_CHAIN)
        step(v->r, "header", false,
             "certification data types %u/%u, expected 6 (QE report) / 5 (PCK chain)",
             q->cert_type, q->pck_cert_type);
    else if (memcmp(h->qe_vendor_id, TDX_INTEL_QE_VENDOR_ID, 16) != 0)
        step(v->r, "header", false, "QE vendor id %s is not Intel's %s", vendor, intel);
    else
        step(v->r, "header", true,
             "version %u, ECDSA-256 P-256 attestation key, TEE type 0x81 (TDX), %u-byte TD "
             "report body, Intel QE vendor id",
             h->version, q->body_len);
}

/* ---- step 2: PCK chain and CRLs -------------------------------------------------------- */

/* A certificate's CN is want (exactly: no longer, no embedded NUL). */
static bool cn_is(X509 *x, const char *want)
{
    char cn[128] = "";
    int len = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    return len >= 0 && (size_t)len == strlen(want) && !strcmp(cn, want);
}

/* The chain as the quote gives it is the path, with each certificate in its
 * role (Intel's quote verification library checks the same names): the PCK
 * certificate, issued by a PCK Platform or Processor CA, issued by the root.
 * The CRL checks take the leaf's issuer from this chain, so it must be the
 * CA the chain verification went through, not any certificate put there. */
static bool pck_chain_roles(STACK_OF(X509) *chain, tdx_anchor a, char *why, size_t n)
{
    static const char *const leaf_cn[TDX_ANCHOR_COUNT] = {"Intel SGX PCK Certificate", SIM_PCK_CN};
    static const char *const ca_cn[TDX_ANCHOR_COUNT][2] = {
        {"Intel SGX PCK Platform CA", "Intel SGX PCK Processor CA"},
        {SIM_PLATFORM_CN, SIM_PLATFORM_CN}};
    if (sk_X509_num(chain) != 3) {
        snprintf(why, n, "expected 3 certificates (PCK certificate, PCK CA, root), found %d",
                 sk_X509_num(chain));
        return false;
    }
    X509 *leaf = sk_X509_value(chain, 0), *ca = sk_X509_value(chain, 1);
    char subject[256];
    if (!cn_is(leaf, leaf_cn[a]) || X509_check_ca(leaf) != 0) {
        tdx_x509_subject(leaf, subject, sizeof subject);
        snprintf(why, n, "certificate 1: expected the PCK certificate (CN=%s, not a CA), found %s",
                 leaf_cn[a], subject);
        return false;
    }
    if (!(cn_is(ca, ca_cn[a][0]) || cn_is(ca, ca_cn[a][1]))) {
        tdx_x509_subject(ca, subject, sizeof subject);
        snprintf(why, n, "certificate 2: expected a PCK CA (CN=%s), found %s", ca_cn[a][0],
                 subject);
        return false;
    }
    for (int i = 0; i < 2; i++) {
        X509 *child = sk_X509_value(chain, i), *parent = sk_X509_value(chain, i + 1);
        int e = X509_check_issued(parent, child);
        if (e != X509_V_OK) {
            snprintf(why, n, "certificate %d is not issued by certificate %d: %s", i + 1, i + 2,
                     X509_verify_cert_error_string(e));
            ERR_clear_error();
            return false;
        }
    }
    ERR_clear_error();
    return true;
}

static void step_pck_chain(vrun *v)
{
    const tdx_quote *q = v->q;
    if (q->pck_count < 2) {
        step(v->r, "pck_chain", false,
             "the quote's PCK chain holds %zu certificate(s); expected the PCK certificate, its "
             "issuer CA and the root",
             q->pck_count);
        return;
    }
    /* The chain's key for the context's cache: SHA-256 over the SHA-256 of
     * each certificate's PEM text. */
    uint8_t keys[TDX_PCK_CHAIN_MAX][32], chain_key[32];
    STACK_OF(X509) *chain = sk_X509_new_null();
    for (size_t i = 0; chain && i < q->pck_count; i++) {
        X509 *x = NULL;
        ccai_err e = {0};
        if (tdx_v_cert_from_pem(v->cc, q->pck_pem[i], keys[i], &x, &e) != CCAI_OK ||
            !sk_X509_push(chain, x)) {
            X509_free(x);
            sk_X509_pop_free(chain, X509_free);
            step(v->r, "pck_chain", false, "PCK chain: certificate %zu of %zu does not decode (%s)",
                 i + 1, q->pck_count, e.msg);
            return;
        }
    }
    if (!chain) {
        step(v->r, "pck_chain", false, "PCK chain: out of memory");
        return;
    }
    v->chain = chain;
    int n = sk_X509_num(chain);
    X509 *root = sk_X509_value(chain, n - 1);
    ccai_err why = {0};
    v->anchor = tdx_v_classify_root(v->cc, root, v->o->trust_simulated, &why);
    if (v->anchor == TDX_ANCHOR_NONE) {
        step(v->r, "pck_chain", false, "%s", why.msg);
        return;
    }
    v->r->tee = v->anchor == TDX_ANCHOR_INTEL ? "tdx" : "tdx-sim";
    char role_why[512];
    if (!pck_chain_roles(chain, v->anchor, role_why, sizeof role_why)) {
        step(v->r, "pck_chain", false, "PCK chain: %s", role_why);
        return;
    }
    ccai_sha256(keys, 32 * q->pck_count, chain_key);
    if (tdx_v_chain_known_good(v->cc, chain_key, v->anchor, v->o->at)) {
        /* Verified before, and at stays inside every certificate's and CRL's
         * validity: X509_verify_cert would say the same again. */
        v->chk.chain_ok = v->chk.crl_ok = true;
    } else {
        tdx_v_chain_verify(v->cc, v->anchor, root, chain, "PCK certificate", v->o->at, &v->chk);
        if (v->chk.chain_ok && v->chk.crl_ok)
            tdx_v_chain_remember(v->cc, chain_key, v->anchor, &v->chk.window);
    }
    v->chk_ran = true;
    if (!v->chk.chain_ok) {
        step(v->r, "pck_chain", false, "%s", v->chk.chain_err.msg);
        return;
    }
    /* "leaf <- intermediate <- root (kind root)": every certificate's CN. */
    char at[32], name[80];
    const char *kind = v->anchor == TDX_ANCHOR_INTEL ? "pinned Intel" : "simulated";
    ccai_time_format(v->o->at, at);
    ccai_buf path = {0};
    for (int i = 0; i < n; i++) {
        if (i)
            ccai_buf_append_str(&path, " <- ");
        ccai_buf_append_str(&path, cn(i < n - 1 ? sk_X509_value(chain, i) : root, name, sizeof name));
    }
    ccai_buf_u8(&path, 0);
    step(v->r, "pck_chain", true, "%s (%s root), valid at %s", (const char *)path.data, kind, at);
    ccai_buf_free(&path);
}

static int revoked_count(X509_CRL *crl)
{
    int n = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
    return n > 0 ? n : 0; /* an empty list may be absent (-1) */
}

static void step_crl(vrun *v)
{
    if (!v->chain) {
        step(v->r, "crl", false, "skipped: no decoded PCK chain");
        return;
    }
    ccai_err e = {0};
    if (tdx_v_crl_check(v->cc, v->chain, v->o->at, &e) != CCAI_OK) {
        step(v->r, "crl", false, "%s", e.msg);
        return;
    }
    /* What OpenSSL's own CRL checking found that the explicit checks did not. */
    if (v->chk_ran && !v->chk.crl_ok) {
        step(v->r, "crl", false, "%s", v->chk.crl_err.msg);
        return;
    }
    char pck_next[32], root_next[32];
    tdx_v_asn1_format(X509_CRL_get0_nextUpdate(v->cc->pck_crl), pck_next);
    tdx_v_asn1_format(X509_CRL_get0_nextUpdate(v->cc->root_crl), root_next);
    step(v->r, "crl", true,
         "PCK CRL (%d entries, next update %s) and root CA CRL (%d entries, next update %s) "
         "signed by their issuers; no certificate of the chain is revoked",
         revoked_count(v->cc->pck_crl), pck_next, revoked_count(v->cc->root_crl), root_next);
}

static void step_pck_extension(vrun *v)
{
    if (!v->chain) {
        step(v->r, "pck_extension", false, "skipped: no decoded PCK chain");
        return;
    }
    ccai_err e = {0};
    tdx_pck_ext *p = &v->r->pck;
    if (tdx_pck_ext_from_cert(sk_X509_value(v->chain, 0), p, &e) != CCAI_OK) {
        memset(p, 0, sizeof *p);
        step(v->r, "pck_extension", false, "%s", e.msg);
        return;
    }
    v->pck_ext_ok = true;
    char fmspc[13], pce[5];
    ccai_hex_encode(p->fmspc, 6, fmspc);
    ccai_hex_encode(p->pce_id, 2, pce);
    step(v->r, "pck_extension", true, "FMSPC %s, PCE-ID %s, PCESVN %u, SGX type %d", fmspc, pce,
         p->pcesvn, p->sgx_type);
}

/* ---- steps 3-5: QE report, binding, quote signature ------------------------------------- */

static void step_qe_report_signature(vrun *v)
{
    if (!v->chain) {
        step(v->r, "qe_report_signature", false, "skipped: no decoded PCK chain");
        return;
    }
    EVP_PKEY *key = X509_get0_pubkey(sk_X509_value(v->chain, 0));
    if (!key || !EVP_PKEY_is_a(key, "EC") || EVP_PKEY_get_bits(key) != 256)
        step(v->r, "qe_report_signature", false,
             "the PCK certificate's key is not an EC P-256 key");
    else if (!ccai_p256_verify_raw(key, v->q->qe_report.raw, TDX_QE_REPORT_LEN, v->q->qe_report_sig))
        step(v->r, "qe_report_signature", false,
             "QE report signature does not verify under the PCK certificate's key");
    else
        step(v->r, "qe_report_signature", true,
             "ECDSA-P256-SHA256 by the PCK certificate's key over the 384-byte QE report");
}

static void step_qe_binding(vrun *v)
{
    const tdx_quote *q = v->q;
    /* tdx-facts §2 step 4: report_data = SHA-256(attestation key || QE
     * authentication data) || 32 zero bytes. */
    size_t n = 64 + (size_t)q->qe_auth_len;
    uint8_t *buf = ccai_xmalloc(n);
    memcpy(buf, q->attest_key, 64);
    if (q->qe_auth_len)
        memcpy(buf + 64, q->qe_auth, q->qe_auth_len);
    uint8_t h[32];
    ccai_sha256(buf, n, h);
    free(buf);
    static const uint8_t zero[32] = {0};
    char want[65], got[65];
    if (memcmp(h, q->qe_report.report_data, 32) != 0) {
        ccai_hex_encode(h, 32, want);
        ccai_hex_encode(q->qe_report.report_data, 32, got);
        step(v->r, "qe_binding", false,
             "QE report data[0:32] %s is not SHA-256(attestation key || QE authentication "
             "data) %s",
             got, want);
    } else if (memcmp(q->qe_report.report_data + 32, zero, 32) != 0) {
        ccai_hex_encode(q->qe_report.report_data + 32, 32, got);
        step(v->r, "qe_binding", false, "QE report data[32:64] is %s, expected zeros", got);
    } else {
        step(v->r, "qe_binding", true,
             "QE report data = SHA-256(attestation key || %u bytes of QE authentication data)",
             q->qe_auth_len);
    }
}

static void step_quote_signature(vrun *v)
{
    const tdx_quote *q = v->q;
    EVP_PKEY *key = tdx_v_p256_from_raw(q->attest_key);
    if (!key)
        step(v->r, "quote_signature", false, "the attestation key is not a point on P-256");
    else if (!q->signed_bytes || !ccai_p256_verify_raw(key, q->signed_bytes, q->signed_len,
                                                  q->signature))
        step(v->r, "quote_signature", false,
             "quote signature does not verify under the attestation key (over the %zu bytes of "
             "header and TD report body)",
             q->signed_len);
    else
        step(v->r, "quote_signature", true,
             "ECDSA-P256-SHA256 by the attestation key over the %zu bytes of header and TD "
             "report body",
             q->signed_len);
    EVP_PKEY_free(key);
}

/* ---- steps 6-9: collateral and TCB ----------------------------------------------------- */

static void step_collateral(vrun *v)
{
    char detail[400];
    ccai_err e = {0};
    if (tdx_v_collateral_check(v->cc, v->anchor, v->o->trust_simulated, v->o->at, detail,
                               sizeof detail, &e) != CCAI_OK) {
        step(v->r, "collateral", false, "%s", e.msg);
        return;
    }
    v->collateral_ok = true;
    step(v->r, "collateral", true, "%s", detail);
}

static void step_qe_identity(vrun *v)
{
    if (!v->collateral_ok) {
        step(v->r, "qe_identity", false, "skipped: the collateral did not verify");
        return;
    }
    ccai_err e = {0};
    if (tdx_qe_identity_check(&v->cc->qe, &v->q->qe_report, &v->r->tcb, &e) != CCAI_OK) {
        step(v->r, "qe_identity", false, "%s", e.msg);
        return;
    }
    v->qe_ok = true;
    step(v->r, "qe_identity", true, "%s v%d matches the QE (isvprodid %u, isvsvn %u): %s",
         v->cc->qe.id, v->cc->qe.version, v->q->qe_report.isvprodid, v->q->qe_report.isvsvn,
         tdx_tcb_status_name(v->r->tcb.qe));
}

/* Steps 7 and 8 are one call (tdx_tcb_evaluate); its "TCB level not
 * supported" failure belongs to tcb_level, anything else to tcb_info. */
static void step_tcb(vrun *v)
{
    const char *why = !v->collateral_ok ? "skipped: the collateral did not verify"
                      : !v->pck_ext_ok  ? "skipped: no PCK extension"
                      : !v->qe_ok       ? "skipped: the QE identity did not match"
                                        : NULL;
    if (why) {
        step(v->r, "tcb_info", false, "%s", why);
        step(v->r, "tcb_level", false, "%s", why);
        return;
    }
    const tdx_tcb_info *ti = &v->cc->tcb;
    tdx_tcb_eval *t = &v->r->tcb;
    ccai_err e = {0};
    ccai_code rc = tdx_tcb_evaluate(ti, &v->r->pck, &v->q->body, t, &e);
    char fmspc[13], pce[5];
    ccai_hex_encode(ti->fmspc, 6, fmspc);
    ccai_hex_encode(ti->pce_id, 2, pce);
    bool level_fault = rc != CCAI_OK && strncmp(e.msg, "TCB level not supported", 23) == 0;
    if (rc != CCAI_OK && !level_fault) {
        step(v->r, "tcb_info", false, "%s", e.msg);
        step(v->r, "tcb_level", false, "skipped: the TCB info does not apply");
        return;
    }
    step(v->r, "tcb_info", true, "%s v%d for FMSPC %s, PCE-ID %s; TDX module identity %s",
         ti->id, ti->version, fmspc, pce, t->module_id[0] ? t->module_id : "tdxModule");
    if (level_fault) {
        step(v->r, "tcb_level", false, "%s", e.msg);
        return;
    }
    char adv[200] = "";
    size_t used = 0;
    for (size_t i = 0; i < t->n_advisories && used + 2 < sizeof adv; i++) {
        int k = snprintf(adv + used, sizeof adv - used, "%s%s", i ? "," : "", t->advisory_ids[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    step(v->r, "tcb_level", true,
         "%s (platform %s, TCB date %s; QE %s; TDX module %s); advisories: %s",
         tdx_tcb_status_name(t->combined), tdx_tcb_status_name(t->platform), t->tcb_date,
         tdx_tcb_status_name(t->qe), tdx_tcb_status_name(t->module), used ? adv : "none");
}

/* ---- event logs ---------------------------------------------------------------------- */

static void step_ccel(vrun *v)
{
    tee_ccel log;
    ccai_err e = {0};
    if (tee_ccel_parse(v->o->ccel, v->o->ccel_len, &log, &e) != CCAI_OK) {
        step(v->r, "ccel_replay", false, "firmware event log: %s", e.msg);
        return;
    }
    uint8_t rtmr[4][48];
    tee_ccel_replay(&log, rtmr);
    size_t count = log.count;
    tee_ccel_free(&log);
    /* RTMR0..2 belong to the firmware log; RTMR3 is the runtime log's. */
    for (int i = 0; i < 3; i++) {
        if (memcmp(rtmr[i], v->q->body.rtmr[i], 48) != 0) {
            char got[97], want[97];
            ccai_hex_encode(rtmr[i], 48, got);
            ccai_hex_encode(v->q->body.rtmr[i], 48, want);
            step(v->r, "ccel_replay", false,
                 "RTMR%d: the firmware event log (%zu events) replays to %s, the quote has %s", i,
                 count, got, want);
            return;
        }
    }
    v->r->ccel_replayed = true;
    step(v->r, "ccel_replay", true, "the firmware event log (%zu events) replays to RTMR0..2",
         count);
}

static void step_runtime(vrun *v)
{
    const tee_eventlog *log = v->o->runtime_log;
    ccai_err e = {0};
    if (tee_eventlog_check_digests(log, &e) != CCAI_OK) {
        step(v->r, "runtime_replay", false, "runtime event log: %s", e.msg);
        return;
    }
    uint8_t rtmr3[48];
    tee_eventlog_replay(log, 3, rtmr3);
    if (memcmp(rtmr3, v->q->body.rtmr[3], 48) != 0) {
        char got[97], want[97];
        ccai_hex_encode(rtmr3, 48, got);
        ccai_hex_encode(v->q->body.rtmr[3], 48, want);
        step(v->r, "runtime_replay", false,
             "RTMR3: the runtime event log (%zu events) replays to %s, the quote has %s",
             log->count, got, want);
        return;
    }
    v->r->runtime_replayed = true;
    step(v->r, "runtime_replay", true, "the runtime event log (%zu events) replays to RTMR3",
         log->count);
}

/* ---- entry points --------------------------------------------------------------------- */

ccai_code tdx_verify(const tdx_quote *q, tdx_collateral_ctx *cc, const tdx_verify_opts *o,
                     tdx_verify_result *r)
{
    if (!r)
        return CCAI_ERR_ARG;
    memset(r, 0, sizeof *r);
    if (!q || !cc || !o)
        return ccai_fail(&r->failure, CCAI_ERR_ARG, "verify: no %s given",
                         !q ? "quote" : !cc ? "collateral" : "options");
    r->collateral_issued = cc->issued;
    r->collateral_expires = cc->expires;
    vrun v = {.q = q, .cc = cc, .o = o, .r = r, .anchor = TDX_ANCHOR_NONE};

    step_header(&v);
    step_pck_chain(&v);
    step_crl(&v);
    step_pck_extension(&v);
    step_qe_report_signature(&v);
    step_qe_binding(&v);
    step_quote_signature(&v);
    step_collateral(&v);
    step_qe_identity(&v);
    step_tcb(&v);
    if (o->ccel)
        step_ccel(&v);
    if (o->runtime_log)
        step_runtime(&v);

    sk_X509_pop_free(v.chain, X509_free);
    r->verified = r->failure.code == CCAI_OK;
    return r->verified ? CCAI_OK : CCAI_ERR_VERIFY;
}

void tdx_verify_result_free(tdx_verify_result *r)
{
    if (r)
        tdx_tcb_eval_free(&r->tcb);
}

/* A JSON string of text that may hold bytes from certificates (or a UTF-8
 * sequence cut by truncation): anything that is not valid UTF-8 becomes '?'. */
static json_t *safe_string(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = ccai_xstrdup(s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j ? j : json_null();
}

static json_t *status_json(tdx_tcb_status s)
{
    return s == TDX_TCB_UNKNOWN ? json_null() : json_string(tdx_tcb_status_name(s));
}

static json_t *time_json(time_t t)
{
    if (t == 0)
        return json_null();
    char buf[32];
    ccai_time_format(t, buf);
    return json_string(buf);
}

static bool step_passed(const tdx_verify_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_steps; i++)
        if (strcmp(r->steps[i].name, name) == 0)
            return r->steps[i].ok;
    return false;
}

json_t *tdx_verify_result_to_json(const tdx_verify_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "verified", json_boolean(r->verified));
    json_object_set_new(o, "tee", r->tee ? json_string(r->tee) : json_null());
    json_object_set_new(o, "tcb_status", status_json(r->tcb.combined));
    json_object_set_new(o, "tcb_date",
                        r->tcb.tcb_date[0] ? json_string(r->tcb.tcb_date) : json_null());
    json_t *adv = json_array();
    for (size_t i = 0; i < r->tcb.n_advisories; i++)
        json_array_append_new(adv, json_string(r->tcb.advisory_ids[i]));
    json_object_set_new(o, "advisory_ids", adv);
    json_object_set_new(o, "qe_tcb_status", status_json(r->tcb.qe));
    json_object_set_new(o, "tdx_module_tcb_status", status_json(r->tcb.module));
    json_object_set_new(o, "platform_tcb_status", status_json(r->tcb.platform));
    if (step_passed(r, "pck_extension")) {
        ccai_json_set_hex(o, "fmspc", r->pck.fmspc, 6);
        ccai_json_set_hex(o, "pce_id", r->pck.pce_id, 2);
    } else {
        json_object_set_new(o, "fmspc", json_null());
        json_object_set_new(o, "pce_id", json_null());
    }
    json_object_set_new(o, "collateral_issued", time_json(r->collateral_issued));
    json_object_set_new(o, "collateral_expires", time_json(r->collateral_expires));
    json_t *steps = json_array();
    for (size_t i = 0; i < r->n_steps; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "name", json_string(r->steps[i].name));
        json_object_set_new(s, "ok", json_boolean(r->steps[i].ok));
        json_object_set_new(s, "detail", safe_string(r->steps[i].detail));
        json_array_append_new(steps, s);
    }
    json_object_set_new(o, "steps", steps);
    json_object_set_new(o, "failure",
                        r->verified ? json_null() : safe_string(r->failure.msg));
    return o;
}
