/* Collateral, reset and description of the simulated TD (sim.h).
 *
 * The collateral bundle has exactly the shape of Intel's (tdx-facts §2 "A
 * collateral bundle ..."; compare testdata/tdx/real-v4-uptodate/collateral.json):
 * CRLs as hex DER, issuer chains as PEM, TCB info v3 "TDX" and QE identity v2
 * "TD_QE" as the raw compact JSON text that the signature covers (§2 step 9:
 * the verifier checks the exact bytes, so they are written here as text, in
 * Intel's member order, never through a JSON serializer). Its TCB levels are
 * chosen so that the simulated TD evaluates to UpToDate on the real
 * verification path (§2 steps 6-8), with an OutOfDate level below it. */
#include <ctype.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/eventlog.h"
#include "tee/pck.h"
#include "tee/sim.h"
#include "tee/sim_internal.h"

enum { COLLATERAL_VALIDITY = 30 * 24 * 3600 };
/* Serials the simulated CRLs revoke: no simulated certificate has them (the
 * root's serial is 1, every other one is 16 random bytes, at least 2^120). */
enum { SIM_ROOT_CRL_REVOKED = 2, SIM_PCK_CRL_REVOKED = 3 };
#define SIM_TCB_DATE "2025-01-01T00:00:00Z"
#define SIM_OLD_TCB_DATE "2024-01-01T00:00:00Z"

/* The level below the simulated platform (every SVN lower or equal). */
static const uint8_t OLD_COMP_SVN[16] = {2, 2, 1, 1, 3, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t OLD_TEE_TCB_SVN[16] = {4, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
enum { OLD_PCESVN = 11 };

static void bprintf(ccai_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(ccai_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    ccai_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void upper_hex(const uint8_t *p, size_t n, char *out)
{
    ccai_hex_encode(p, n, out);
    for (size_t i = 0; i < 2 * n; i++)
        out[i] = (char)toupper((unsigned char)out[i]);
}

/* ---- TCB info and QE identity (raw JSON text) -------------------------------- */

/* A components array with Intel's category/type annotations. */
static void components(ccai_buf *b, const uint8_t svn[16], const char *const cat[16],
                       const char *const type[16])
{
    ccai_buf_append_str(b, "[");
    for (int i = 0; i < 16; i++) {
        bprintf(b, "%s{\"svn\":%u", i ? "," : "", svn[i]);
        if (cat[i])
            bprintf(b, ",\"category\":\"%s\"", cat[i]);
        if (type[i])
            bprintf(b, ",\"type\":\"%s\"", type[i]);
        ccai_buf_append_str(b, "}");
    }
    ccai_buf_append_str(b, "]");
}

static void tcb_level(ccai_buf *b, const uint8_t sgx[16], unsigned pcesvn, const uint8_t tdx[16],
                      const char *date, const char *status, const char *advisories)
{
    static const char *const SGX_CAT[16] = {"BIOS", "OS/VMM", "OS/VMM", "BIOS", "BIOS", "BIOS",
                                            NULL, "OS/VMM"};
    static const char *const SGX_TYPE[16] = {"Early Microcode Update", "SGX Late Microcode Update",
                                             "TXT SINIT", NULL, NULL, NULL, NULL, "SEAMLDR ACM"};
    static const char *const TDX_CAT[16] = {"OS/VMM", "OS/VMM", "OS/VMM"};
    static const char *const TDX_TYPE[16] = {"TDX Module", "TDX Module",
                                             "TDX Late Microcode Update"};
    ccai_buf_append_str(b, "{\"tcb\":{\"sgxtcbcomponents\":");
    components(b, sgx, SGX_CAT, SGX_TYPE);
    bprintf(b, ",\"pcesvn\":%u,\"tdxtcbcomponents\":", pcesvn);
    components(b, tdx, TDX_CAT, TDX_TYPE);
    bprintf(b, "},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"", date, status);
    if (advisories)
        bprintf(b, ",\"advisoryIDs\":[%s]", advisories);
    ccai_buf_append_str(b, "}");
}

static char *tcb_info_text(time_t now)
{
    char issue[32], next[32], fmspc[13], zero_signer[97];
    ccai_time_format(now, issue);
    ccai_time_format(now + COLLATERAL_VALIDITY, next);
    upper_hex(SIM_FMSPC, 6, fmspc);
    memset(zero_signer, '0', 96);
    zero_signer[96] = '\0';
    static const char module_attrs[] =
        "\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"";

    ccai_buf b = {0};
    bprintf(&b,
            "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
            "\"fmspc\":\"%s\",\"pceId\":\"%02X%02X\",\"tcbType\":0,"
            "\"tcbEvaluationDataNumber\":%d,",
            issue, next, fmspc, SIM_PCE_ID[0], SIM_PCE_ID[1], SIM_TCB_EVAL_NUMBER);
    /* tdx-facts §2 step 7: tee_tcb_svn[1] = 1 selects "TDX_01", whose levels
     * are compared with tee_tcb_svn[0] = 5. */
    bprintf(&b, "\"tdxModule\":{\"mrsigner\":\"%s\",%s},", zero_signer, module_attrs);
    bprintf(&b,
            "\"tdxModuleIdentities\":[{\"id\":\"TDX_%02X\",\"mrsigner\":\"%s\",%s,\"tcbLevels\":["
            "{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":\"%s\",\"tcbStatus\":\"UpToDate\"},"
            "{\"tcb\":{\"isvsvn\":2},\"tcbDate\":\"%s\",\"tcbStatus\":\"OutOfDate\"}]}],",
            SIM_TEE_TCB_SVN[1], zero_signer, module_attrs, SIM_TEE_TCB_SVN[0], SIM_TCB_DATE,
            SIM_OLD_TCB_DATE);
    ccai_buf_append_str(&b, "\"tcbLevels\":[");
    tcb_level(&b, SIM_COMP_SVN, SIM_PCESVN, SIM_TEE_TCB_SVN, SIM_TCB_DATE, "UpToDate", NULL);
    ccai_buf_append_str(&b, ",");
    tcb_level(&b, OLD_COMP_SVN, OLD_PCESVN, OLD_TEE_TCB_SVN, SIM_OLD_TCB_DATE, "OutOfDate",
              "\"INTEL-SA-00000\"");
    ccai_buf_append_str(&b, "]}");
    ccai_buf_u8(&b, 0);
    return (char *)ccai_buf_steal(&b, NULL);
}

static char *qe_identity_text(time_t now)
{
    char issue[32], next[32], signer[65], attrs[33];
    uint8_t mrsigner[32];
    ccai_time_format(now, issue);
    ccai_time_format(now + COLLATERAL_VALIDITY, next);
    ccai_sha256(SIM_LABEL_QE_MRSIGNER, strlen(SIM_LABEL_QE_MRSIGNER), mrsigner);
    upper_hex(mrsigner, 32, signer);
    upper_hex(SIM_QE_ATTRIBUTES, 16, attrs);
    return ccai_xasprintf(
        "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
        "\"tcbEvaluationDataNumber\":%d,"
        "\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
        "\"attributes\":\"%s\",\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
        "\"mrsigner\":\"%s\",\"isvprodid\":%d,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%d},"
        "\"tcbDate\":\"%s\",\"tcbStatus\":\"UpToDate\"}]}",
        issue, next, SIM_TCB_EVAL_NUMBER, attrs, signer, SIM_QE_ISVPRODID, SIM_QE_ISVSVN,
        SIM_TCB_DATE);
}

/* ---- CRLs ------------------------------------------------------------------- */

static ccai_code crl_fail(ccai_err *err)
{
    unsigned long e = ERR_get_error();
    char detail[256] = "";
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    return ccai_fail(err, CCAI_ERR_CRYPTO, "sim: CRL signing failed%s%s", e ? ": " : "", detail);
}

static bool crl_add_revoked(X509_CRL *crl, long serial, ASN1_TIME *when)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_INTEGER *sn = ASN1_INTEGER_new();
    ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
    /* Reason keyCompromise (1), as Intel's PCK CRL entries carry. */
    bool ok = rev && sn && reason && ASN1_INTEGER_set(sn, serial) &&
              ASN1_ENUMERATED_set(reason, 1) && X509_REVOKED_set_serialNumber(rev, sn) &&
              X509_REVOKED_set_revocationDate(rev, when) &&
              X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, X509V3_ADD_APPEND) &&
              X509_CRL_add0_revoked(crl, rev);
    if (!ok)
        X509_REVOKED_free(rev);
    ASN1_INTEGER_free(sn);
    ASN1_ENUMERATED_free(reason);
    return ok;
}

static bool crl_add_extensions(X509_CRL *crl, EVP_PKEY *key)
{
    uint8_t kid[20];
    if (tee_sim_key_id(key, kid, NULL))
        return false;
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    bool ok = num && akid && os && ASN1_INTEGER_set(num, 1) && ASN1_OCTET_STRING_set(os, kid, 20);
    if (ok) {
        akid->keyid = os;
        os = NULL;
        ok = X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, X509V3_ADD_APPEND) &&
             X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0,
                                   X509V3_ADD_APPEND);
    }
    ASN1_INTEGER_free(num);
    AUTHORITY_KEYID_free(akid);
    ASN1_OCTET_STRING_free(os);
    return ok;
}

/* A v2 CRL by issuer, valid [now, now + 30 days], revoking one serial; the
 * hex of its DER into *hex (caller frees). */
static ccai_code make_crl(X509 *issuer, EVP_PKEY *key, time_t now, long revoked, char **hex,
                          ccai_err *err)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *this_update = ASN1_TIME_set(NULL, now);
    ASN1_TIME *next_update = ASN1_TIME_set(NULL, now + COLLATERAL_VALIDITY);
    unsigned char *der = NULL;
    int n = 0;
    bool ok = crl && this_update && next_update &&
              X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
              X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) &&
              X509_CRL_set1_lastUpdate(crl, this_update) &&
              X509_CRL_set1_nextUpdate(crl, next_update) &&
              crl_add_revoked(crl, revoked, this_update) && crl_add_extensions(crl, key) &&
              X509_CRL_sort(crl) && X509_CRL_sign(crl, key, EVP_sha256()) > 0 &&
              (n = i2d_X509_CRL(crl, &der)) > 0;
    ASN1_TIME_free(this_update);
    ASN1_TIME_free(next_update);
    X509_CRL_free(crl);
    if (!ok) {
        OPENSSL_free(der);
        return crl_fail(err);
    }
    *hex = ccai_hex_dup(der, (size_t)n);
    OPENSSL_free(der);
    return CCAI_OK;
}

/* ---- the bundle ----------------------------------------------------------------- */

/* Signs text and sets key (raw JSON) and key_sig (hex r||s) in the bundle. */
static ccai_code add_signed(json_t *bundle, const char *key, const char *sig_key, const char *text,
                            EVP_PKEY *signer, ccai_err *err)
{
    uint8_t sig[64];
    ccai_code rc = tee_sim_sign_raw(signer, (const uint8_t *)text, strlen(text), sig, err);
    if (rc)
        return rc;
    json_object_set_new(bundle, key, json_string(text));
    char hex[129];
    ccai_hex_encode(sig, sizeof sig, hex);
    json_object_set_new(bundle, sig_key, json_string(hex));
    return CCAI_OK;
}

typedef struct sim_signers {
    EVP_PKEY *root_key, *plat_key, *tcb_key;
    X509 *root, *plat;
    char *plat_pem, *tcb_pem;
} sim_signers;

static ccai_code load_signers(const char *dir, sim_signers *s, ccai_err *err)
{
    ccai_code rc = tee_sim_root_key(&s->root_key, err);
    if (!rc)
        rc = tdx_pem_to_x509(tee_sim_root_pem(), &s->root, err);
    if (!rc)
        rc = tee_sim_load_key(dir, SIM_PLATFORM_KEY, &s->plat_key, err);
    if (!rc)
        rc = tee_sim_load_cert(dir, SIM_PLATFORM_PEM, &s->plat, &s->plat_pem, err);
    if (!rc)
        rc = tee_sim_load_key(dir, SIM_TCB_KEY, &s->tcb_key, err);
    if (!rc)
        rc = tee_sim_load_cert(dir, SIM_TCB_PEM, NULL, &s->tcb_pem, err);
    return rc;
}

static void free_signers(sim_signers *s)
{
    EVP_PKEY_free(s->root_key);
    EVP_PKEY_free(s->plat_key);
    EVP_PKEY_free(s->tcb_key);
    X509_free(s->root);
    X509_free(s->plat);
    free(s->plat_pem);
    free(s->tcb_pem);
}

static ccai_code build_bundle(const sim_signers *s, time_t now, json_t *b, ccai_err *err)
{
    char *root_crl = NULL, *pck_crl = NULL;
    char *pck_issuers = ccai_xasprintf("%s%s", s->plat_pem, tee_sim_root_pem());
    char *tcb_issuers = ccai_xasprintf("%s%s", s->tcb_pem, tee_sim_root_pem());
    char *tcb_info = tcb_info_text(now);
    char *qe_identity = qe_identity_text(now);
    ccai_code rc = make_crl(s->root, s->root_key, now, SIM_ROOT_CRL_REVOKED, &root_crl, err);
    if (!rc)
        rc = make_crl(s->plat, s->plat_key, now, SIM_PCK_CRL_REVOKED, &pck_crl, err);
    if (!rc) {
        /* Intel's member order (testdata/tdx/real-v4-uptodate/collateral.json). */
        json_object_set_new(b, "pck_crl_issuer_chain", json_string(pck_issuers));
        json_object_set_new(b, "root_ca_crl", json_string(root_crl));
        json_object_set_new(b, "pck_crl", json_string(pck_crl));
        json_object_set_new(b, "tcb_info_issuer_chain", json_string(tcb_issuers));
        rc = add_signed(b, "tcb_info", "tcb_info_signature", tcb_info, s->tcb_key, err);
    }
    if (!rc) {
        json_object_set_new(b, "qe_identity_issuer_chain", json_string(tcb_issuers));
        rc = add_signed(b, "qe_identity", "qe_identity_signature", qe_identity, s->tcb_key, err);
    }
    free(root_crl);
    free(pck_crl);
    free(pck_issuers);
    free(tcb_issuers);
    free(tcb_info);
    free(qe_identity);
    return rc;
}

ccai_code tee_sim_collateral(const tee_config *cfg, time_t now, json_t **bundle, ccai_err *err)
{
    tee_provider *p = NULL;
    ccai_code rc = tee_provider_open_sim(cfg, &p, err); /* creates the state on first use */
    if (rc)
        return rc;
    sim_signers s = {0};
    json_t *b = json_object();
    rc = load_signers(p->runtime_dir, &s, err);
    if (!rc)
        rc = build_bundle(&s, now, b, err);
    free_signers(&s);
    tee_provider_close(p);
    if (rc) {
        json_decref(b);
        ccai_err_prefix(err, "sim collateral");
        return rc;
    }
    *bundle = b;
    return CCAI_OK;
}

/* ---- reset and info ---------------------------------------------------------- */

ccai_code tee_sim_reset(const tee_config *cfg, ccai_err *err)
{
    tee_provider *p = NULL;
    ccai_code rc = tee_provider_open_sim(cfg, &p, err);
    if (rc)
        return rc;
    /* Under the event-log lock: registers first, then the log (eventlog.h). */
    rc = tee_eventlog_clear(p, tee_sim_reset_rtmr3, err);
    tee_provider_close(p);
    return rc;
}

static void set_cert_facts(json_t *o, const char *prefix, X509 *x)
{
    char subject[512], key[64];
    uint8_t h[32];
    tdx_x509_subject(x, subject, sizeof subject);
    snprintf(key, sizeof key, "%s_subject", prefix);
    json_object_set_new(o, key, json_string(subject));
    tdx_x509_sha256(x, h);
    snprintf(key, sizeof key, "%s_sha256", prefix);
    ccai_json_set_hex(o, key, h, 32);
}

ccai_code tee_sim_info(const tee_config *cfg, json_t **info, ccai_err *err)
{
    tee_provider *p = NULL;
    ccai_code rc = tee_provider_open_sim(cfg, &p, err);
    if (rc)
        return rc;
    tee_measurements m;
    X509 *root = NULL, *plat = NULL, *pck = NULL;
    rc = p->ops->read_measurements(p, &m, err);
    if (!rc)
        rc = tdx_pem_to_x509(tee_sim_root_pem(), &root, err);
    if (!rc)
        rc = tee_sim_load_cert(p->runtime_dir, SIM_PLATFORM_PEM, &plat, NULL, err);
    if (!rc)
        rc = tee_sim_load_cert(p->runtime_dir, SIM_PCK_PEM, &pck, NULL, err);
    if (!rc) {
        json_t *o = json_object();
        json_object_set_new(o, "tee", json_string(p->ops->tee));
        json_object_set_new(o, "state_dir", json_string(p->runtime_dir));
        json_object_set_new(o, "debug", json_boolean(cfg->sim_debug));
        ccai_json_set_hex(o, "fmspc", SIM_FMSPC, 6);
        ccai_json_set_hex(o, "mr_td", m.mr_td, 48);
        for (int i = 0; i < 4; i++) {
            char key[16];
            snprintf(key, sizeof key, "rtmr_%d", i);
            ccai_json_set_hex(o, key, m.rtmr[i], 48);
        }
        set_cert_facts(o, "root", root);
        set_cert_facts(o, "pck_ca", plat);
        set_cert_facts(o, "pck", pck);
        json_object_set_new(o, "warning", json_string("simulated TEE: not confidential"));
        *info = o;
    }
    X509_free(root);
    X509_free(plat);
    X509_free(pck);
    tee_provider_close(p);
    return rc;
}
