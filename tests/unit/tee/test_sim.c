/* Tests for the simulated TD (src/tee/sim*.c). Every signature, chain and CRL
 * is checked here with OpenSSL directly (not with ccai's verifier), so the
 * simulator is tested against the facts of tdx-facts §1-§2 on their own:
 * quote and QE report signatures, the QE report binding, the PCK chain to the
 * embedded root, signed collateral with its dates; then state: persistence,
 * RTMR3 extend/reopen/reset, the debug option, rejected extends, and four
 * processes racing to create the state. */
#include "testutil.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/ccel.h"
#include "tee/eventlog.h"
#include "tee/pck.h"
#include "tee/provider.h"
#include "tee/quote.h"
#include "tee/sim.h"
#include "tee/sim_internal.h"

#define ROOT_SHA256 "6c46b21cd929ae459987e1efc83404ca916f41f9625ed98757e54b9e9f634e4c"
#define SIM_O ",O=ccai simulated TD (not confidential)"
static const time_t NOW = 1751328000; /* 2025-07-01T00:00:00Z */

/* ---- helpers --------------------------------------------------------------- */

static tee_provider *open_sim(const char *dir, bool debug)
{
    tee_config cfg = {.state_dir = dir, .sim_debug = debug};
    tee_provider *p = NULL;
    ccai_err err = {0};
    if (tee_provider_open_sim(&cfg, &p, &err) != CCAI_OK)
        fail_msg("open sim: %s", err.msg);
    assert_string_equal(p->ops->name, "sim");
    assert_string_equal(p->ops->tee, "tdx-sim");
    return p;
}

static void quote_of(tee_provider *p, const uint8_t rd[64], tdx_quote *q)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    ccai_err err = {0};
    if (p->ops->get_quote(p, rd, &buf, &len, &err) != CCAI_OK)
        fail_msg("get_quote: %s", err.msg);
    if (tdx_quote_parse(buf, len, q, &err) != CCAI_OK)
        fail_msg("parse: %s", err.msg);
    assert_int_equal(q->trailing_len, 0);
    free(buf);
}

static EVP_PKEY *pub_from_raw(const uint8_t xy[64])
{
    uint8_t pt[65] = {4};
    memcpy(pt + 1, xy, 64);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    return k;
}

/* ECDSA-P256-SHA256 over data with a raw r||s signature: 1 when valid. */
static int verify_raw(EVP_PKEY *k, const void *data, size_t len, const uint8_t sig[64])
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    ECDSA_SIG_set0(s, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    unsigned char *der = NULL;
    int n = i2d_ECDSA_SIG(s, &der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
    int ok = EVP_DigestVerify(md, der, (size_t)n, data, len);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    return ok;
}

static X509 *pem_cert(const char *pem)
{
    X509 *x = NULL;
    ccai_err err = {0};
    if (tdx_pem_to_x509(pem, &x, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    return x;
}

static char *read_text(const char *dir, const char *name)
{
    char *path = ccai_xasprintf("%s/sim/%s", dir, name);
    size_t n = 0;
    char *t = (char *)tu_read(path, &n);
    free(path);
    return t;
}

/* ---- the root ---------------------------------------------------------------- */

static void test_embedded_root(void **state)
{
    (void)state;
    X509 *root = pem_cert(tee_sim_root_pem());
    EVP_PKEY *seed_key = NULL;
    ccai_err err = {0};
    assert_int_equal(tee_sim_root_key(&seed_key, &err), CCAI_OK);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(root), seed_key), 1);
    assert_int_equal(X509_verify(root, seed_key), 1);
    assert_int_equal(X509_check_issued(root, root), X509_V_OK);
    assert_int_equal(X509_check_ca(root), 1);
    char subject[256];
    tdx_x509_subject(root, subject, sizeof subject);
    assert_string_equal(subject, "CN=ccai Simulated SGX Root CA" SIM_O);
    assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(root)), 1);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(root), 1735689600), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(root), 2524607999), 0);
    uint8_t h[32];
    char hex[65];
    tdx_x509_sha256(root, h);
    ccai_hex_encode(h, 32, hex);
    assert_string_equal(hex, ROOT_SHA256);

    /* The generator still makes a root for the same key and name. */
    char *fresh = NULL;
    assert_int_equal(tee_sim_make_root_pem(&fresh, &err), CCAI_OK);
    X509 *again = pem_cert(fresh);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(again), seed_key), 1);
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(again), X509_get_subject_name(root)), 0);
    assert_int_equal(X509_verify(again, seed_key), 1);
    X509_free(again);
    free(fresh);
    EVP_PKEY_free(seed_key);
    X509_free(root);
}

/* ---- quotes ------------------------------------------------------------------- */

static void check_chain(const tdx_quote *q, time_t at)
{
    assert_int_equal(q->pck_count, 3);
    assert_int_equal(q->pck_chain[q->pck_chain_len - 1], '\0'); /* counted, like Intel's */
    assert_string_equal(q->pck_pem[2], tee_sim_root_pem());
    X509 *leaf = pem_cert(q->pck_pem[0]), *plat = pem_cert(q->pck_pem[1]);
    X509 *root = pem_cert(q->pck_pem[2]);
    assert_int_equal(X509_verify(leaf, X509_get0_pubkey(plat)), 1);
    assert_int_equal(X509_verify(plat, X509_get0_pubkey(root)), 1);
    assert_int_equal(X509_verify(root, X509_get0_pubkey(root)), 1);
    assert_int_equal(X509_verify(leaf, X509_get0_pubkey(root)), 0);

    /* Full path validation: CA flags, key usage, names, validity. */
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, root);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, plat);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, untrusted);
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
    X509_STORE_CTX_set_time(ctx, 0, at);
    if (X509_verify_cert(ctx) != 1)
        fail_msg("chain: %s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);

    char subject[256];
    tdx_x509_subject(leaf, subject, sizeof subject);
    assert_string_equal(subject,
                        "CN=ccai Simulated SGX PCK Certificate" SIM_O);
    tdx_x509_subject(plat, subject, sizeof subject);
    assert_string_equal(subject, "CN=ccai Simulated SGX PCK Platform CA" SIM_O);
    tdx_pck_ext e;
    ccai_err err = {0};
    assert_int_equal(tdx_pck_ext_from_cert(leaf, &e, &err), CCAI_OK);
    static const uint8_t svn[16] = {3, 3, 2, 2, 4, 1, 0, 5};
    assert_memory_equal(e.comp_svn, svn, 16);
    assert_memory_equal(e.cpusvn, svn, 16);
    assert_int_equal(e.pcesvn, 13);
    assert_memory_equal(e.pce_id, "\x00\x00", 2);
    assert_memory_equal(e.fmspc, "\x00\xCC\xA1\x00\x00\x00", 6);
    assert_int_equal(e.sgx_type, 1);

    /* QE report signature by the PCK leaf over the raw 384 bytes (§2 step 3). */
    EVP_PKEY *pck_key = X509_get0_pubkey(leaf);
    assert_int_equal(verify_raw(pck_key, q->qe_report.raw, 384, q->qe_report_sig), 1);
    uint8_t tampered[384];
    memcpy(tampered, q->qe_report.raw, 384);
    tampered[320] ^= 1;
    assert_int_not_equal(verify_raw(pck_key, tampered, 384, q->qe_report_sig), 1);
    X509_free(leaf);
    X509_free(plat);
    X509_free(root);
}

static void test_quote(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tee_provider *p = open_sim(dir, false);
    uint8_t rd[64];
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(0xC0 ^ i);
    tdx_quote q;
    quote_of(p, rd, &q);

    assert_int_equal(q.header.version, 4);
    assert_int_equal(q.header.att_key_type, 2);
    assert_int_equal(q.header.tee_type, 0x81);
    assert_int_equal(q.header.qe_svn, 0);
    assert_int_equal(q.header.pce_svn, 13);
    assert_memory_equal(q.header.qe_vendor_id, TDX_INTEL_QE_VENDOR_ID, 16);
    uint8_t h[48];
    ccai_sha256("ccai-sim QE id", 14, h);
    assert_memory_equal(q.header.user_data, h, 20);

    assert_memory_equal(q.body.report_data, rd, 64);
    ccai_sha384("ccai-sim MRTD v1", 16, h);
    assert_memory_equal(q.body.mr_td, h, 48);
    ccai_sha384("ccai-sim MR_SEAM v1", 19, h);
    assert_memory_equal(q.body.mr_seam, h, 48);
    static const uint8_t tcb[16] = {5, 1, 2};
    assert_memory_equal(q.body.tee_tcb_svn, tcb, 16);
    assert_int_equal(q.body.td_attributes, TDX_TD_ATTR_SEPT_VE_DISABLE);
    assert_int_equal(q.body.xfam, 0x602e7);
    assert_int_equal(q.body.seam_attributes, 0);
    static const uint8_t zero[48];
    assert_memory_equal(q.body.mr_signer_seam, zero, 48);
    assert_memory_equal(q.body.mr_config_id, zero, 48);
    assert_memory_equal(q.body.rtmr[3], zero, 48);

    /* RTMR0..2 are the replay of the simulated firmware log. */
    uint8_t *ccel = NULL;
    size_t ccel_len = 0;
    ccai_err err = {0};
    assert_int_equal(p->ops->read_ccel(p, &ccel, &ccel_len, &err), CCAI_OK);
    tee_ccel log;
    assert_int_equal(tee_ccel_parse(ccel, ccel_len, &log, &err), CCAI_OK);
    uint8_t rtmr[4][48];
    tee_ccel_replay(&log, rtmr);
    /* The firmware log is fixed, so these are reference values (docs/tee-sim.md). */
    static const char *const RTMR_HEX[3] = {
        "f1501ca18f77049b313df069ce58668c5df4e56dc13dfc2c"
        "13a448d01cde2d48fcee1576f231e4296d50ecec14cd9539",
        "284e6c7fde45c4ed8b80c83df2269f82984fab3aecd938a3"
        "0f281d91e36992a31999f0756241665e33b74a35ebe458d8",
        "e3008b6d6a2fc9018752f6c7c7be3e0a17f09fb3d5756de4"
        "673acc4bd5728dcac23bbd88dab8d6e86401f40150f56406",
    };
    for (int i = 0; i < 3; i++) {
        char hex[97];
        assert_memory_equal(q.body.rtmr[i], rtmr[i], 48);
        ccai_hex_encode(rtmr[i], 48, hex);
        assert_string_equal(hex, RTMR_HEX[i]);
    }
    bool saw_cmdline = false;
    for (size_t i = 0; i < log.count; i++)
        if (log.ev[i].type == 0xD && log.ev[i].mr_index == 3 && log.ev[i].text &&
            strcmp(log.ev[i].text, "console=hvc0 root=/dev/vda1 ro ccai.sim=1") == 0)
            saw_cmdline = true;
    assert_true(saw_cmdline);
    tee_ccel_free(&log);
    free(ccel);

    /* QE report fields and its binding to the attestation key (§2 step 4). */
    static const uint8_t svn[16] = {3, 3, 2, 2, 4, 1, 0, 5};
    assert_memory_equal(q.qe_report.cpusvn, svn, 16);
    assert_int_equal(q.qe_report.attributes[0], 0x11);
    ccai_sha256("ccai-sim QE signer v1", 21, h);
    assert_memory_equal(q.qe_report.mrsigner, h, 32);
    ccai_sha256("ccai-sim QE v1", 14, h);
    assert_memory_equal(q.qe_report.mrenclave, h, 32);
    assert_int_equal(q.qe_report.isvprodid, 2);
    assert_int_equal(q.qe_report.isvsvn, 4);
    assert_int_equal(q.qe_auth_len, 32);
    uint8_t bind[96];
    memcpy(bind, q.attest_key, 64);
    memcpy(bind + 64, q.qe_auth, 32);
    for (int i = 0; i < 32; i++)
        assert_int_equal(q.qe_auth[i], i);
    ccai_sha256(bind, sizeof bind, h);
    assert_memory_equal(q.qe_report.report_data, h, 32);
    assert_memory_equal(q.qe_report.report_data + 32, zero, 32);

    /* The quote signature by the attestation key (§2 step 5), failing closed. */
    EVP_PKEY *ak = pub_from_raw(q.attest_key);
    assert_int_equal(q.signed_len, 632);
    assert_int_equal(verify_raw(ak, q.signed_bytes, q.signed_len, q.signature), 1);
    q.signed_bytes[520 + 48] ^= 0x80; /* a bit of report_data */
    assert_int_not_equal(verify_raw(ak, q.signed_bytes, q.signed_len, q.signature), 1);
    EVP_PKEY_free(ak);

    check_chain(&q, NOW);
    tdx_quote_free(&q);

    /* read_measurements agrees with the quote. */
    tee_measurements m;
    assert_int_equal(p->ops->read_measurements(p, &m, &err), CCAI_OK);
    assert_memory_equal(m.rtmr, rtmr, 3 * 48);
    ccai_sha384("ccai-sim MRTD v1", 16, h);
    assert_memory_equal(m.mr_td, h, 48);

    /* Modes: the directory is the owner's, keys are 0600. */
    struct stat st;
    char *path = ccai_xasprintf("%s/sim", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_string_equal(p->runtime_dir, path);
    free(path);
    static const char *const keys[] = {"attest.key", "pck.key", "platform_ca.key",
                                       "tcb_signing.key"};
    for (int i = 0; i < 4; i++) {
        path = ccai_xasprintf("%s/sim/%s", dir, keys[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        free(path);
    }
    tee_provider_close(p);
    tu_rm_rf(dir);
    free(dir);
}

/* ---- collateral ------------------------------------------------------------------ */

static const char *const BUNDLE_KEYS[] = {
    "pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info",
    "tcb_info_signature", "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature",
};

static X509_CRL *crl_of(const json_t *bundle, const char *key)
{
    const char *hex = json_string_value(json_object_get(bundle, key));
    assert_non_null(hex);
    uint8_t *der = NULL;
    size_t n = 0;
    ccai_err err = {0};
    assert_int_equal(ccai_hex_decode_alloc(hex, strlen(hex), &der, &n, &err), CCAI_OK);
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
    assert_non_null(crl);
    assert_true(p == der + n);
    free(der);
    return crl;
}

static void check_crl(X509_CRL *crl, X509 *issuer, X509 *not_revoked)
{
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(issuer)), 1);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(crl), NOW), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(crl), NOW + 30 * 86400), 0);
    assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
    X509_REVOKED *rev = NULL;
    assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(not_revoked)), 0);
}

/* Signature over the exact bytes of bundle[key] by the first certificate of
 * bundle[chain_key], which chains to the embedded root (§2 step 9). */
static json_t *check_signed(const json_t *b, const char *key, const char *sig_key,
                            const char *chain_key, X509 *root)
{
    const char *text = json_string_value(json_object_get(b, key));
    const char *chain = json_string_value(json_object_get(b, chain_key));
    STACK_OF(X509) *sk = NULL;
    ccai_err err = {0};
    assert_int_equal(tdx_pem_chain_load(chain, strlen(chain), &sk, &err), CCAI_OK);
    assert_int_equal(sk_X509_num(sk), 2);
    X509 *signer = sk_X509_value(sk, 0);
    assert_int_equal(X509_cmp(sk_X509_value(sk, 1), root), 0);
    assert_int_equal(X509_verify(signer, X509_get0_pubkey(root)), 1);
    char subject[256];
    tdx_x509_subject(signer, subject, sizeof subject);
    assert_string_equal(subject, "CN=ccai Simulated TCB Signing" SIM_O);
    uint8_t sig[64];
    assert_int_equal(ccai_json_get_hex(b, sig_key, sig, 64, &err), CCAI_OK);
    assert_int_equal(verify_raw(X509_get0_pubkey(signer), text, strlen(text), sig), 1);
    /* One byte different (a re-serialization, say) no longer verifies. */
    char *copy = ccai_xstrdup(text);
    copy[strlen(copy) - 1] = ' ';
    assert_int_not_equal(verify_raw(X509_get0_pubkey(signer), copy, strlen(copy), sig), 1);
    free(copy);
    sk_X509_pop_free(sk, X509_free);
    json_t *v = NULL;
    assert_int_equal(ccai_json_parse(text, strlen(text), &v, &err), CCAI_OK);
    return v;
}

static void svns_are(const json_t *arr, const uint8_t want[16])
{
    assert_int_equal(json_array_size(arr), 16);
    for (size_t i = 0; i < 16; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, i), "svn")),
                         want[i]);
}

/* The same member names, in the same order, as Intel's JSON. */
static void same_keys(json_t *a, json_t *b)
{
    assert_int_equal(json_object_size(a), json_object_size(b));
    void *ia = json_object_iter(a), *ib = json_object_iter(b);
    for (; ia && ib; ia = json_object_iter_next(a, ia), ib = json_object_iter_next(b, ib))
        assert_string_equal(json_object_iter_key(ia), json_object_iter_key(ib));
}

static void compare_with_real(json_t *bundle, json_t *tcb, json_t *qe)
{
    const char *path = tu_shared_path("testdata/tdx/real-v4-uptodate/collateral.json");
    if (!path)
        return; /* the shape check needs the real bundle; the rest ran */
    size_t n = 0;
    char *text = (char *)tu_read(path, &n);
    json_t *real = NULL, *rtcb = NULL, *rqe = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_json_parse(text, n, &real, &err), CCAI_OK);
    same_keys(bundle, real);
    const char *s = json_string_value(json_object_get(real, "tcb_info"));
    assert_int_equal(ccai_json_parse(s, strlen(s), &rtcb, &err), CCAI_OK);
    s = json_string_value(json_object_get(real, "qe_identity"));
    assert_int_equal(ccai_json_parse(s, strlen(s), &rqe, &err), CCAI_OK);
    same_keys(tcb, rtcb);
    same_keys(qe, rqe);
    same_keys(json_object_get(tcb, "tdxModule"), json_object_get(rtcb, "tdxModule"));
    same_keys(json_array_get(json_object_get(tcb, "tcbLevels"), 1),
              json_array_get(json_object_get(rtcb, "tcbLevels"), 1));
    json_decref(real);
    json_decref(rtcb);
    json_decref(rqe);
    free(text);
}

static void test_collateral(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tee_config cfg = {.state_dir = dir};
    json_t *b = NULL;
    ccai_err err = {0};
    if (tee_sim_collateral(&cfg, NOW, &b, &err) != CCAI_OK)
        fail_msg("collateral: %s", err.msg);
    assert_int_equal(json_object_size(b), 9);
    void *it = json_object_iter(b);
    for (size_t i = 0; i < 9; i++, it = json_object_iter_next(b, it)) {
        assert_string_equal(json_object_iter_key(it), BUNDLE_KEYS[i]);
        assert_true(json_is_string(json_object_iter_value(it)));
    }

    tee_provider *p = open_sim(dir, false);
    uint8_t rd[64] = {0};
    tdx_quote q;
    quote_of(p, rd, &q);
    X509 *leaf = pem_cert(q.pck_pem[0]), *plat = pem_cert(q.pck_pem[1]);
    X509 *root = pem_cert(tee_sim_root_pem());

    /* CRLs: under their issuers, dated now .. now + 30 days, not revoking us. */
    X509_CRL *root_crl = crl_of(b, "root_ca_crl"), *pck_crl = crl_of(b, "pck_crl");
    check_crl(root_crl, root, plat);
    check_crl(pck_crl, plat, leaf);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(pck_crl), X509_get_issuer_name(leaf)), 0);
    X509_CRL_free(root_crl);
    X509_CRL_free(pck_crl);
    const char *pck_issuers = json_string_value(json_object_get(b, "pck_crl_issuer_chain"));
    char *want = ccai_xasprintf("%s%s", q.pck_pem[1], tee_sim_root_pem());
    assert_string_equal(pck_issuers, want);
    free(want);

    char issue[32], next[32];
    ccai_time_format(NOW, issue);
    ccai_time_format(NOW + 30 * 86400, next);
    assert_string_equal(issue, "2025-07-01T00:00:00Z");

    json_t *tcb = check_signed(b, "tcb_info", "tcb_info_signature", "tcb_info_issuer_chain", root);
    assert_string_equal(json_string_value(json_object_get(tcb, "id")), "TDX");
    assert_int_equal(json_integer_value(json_object_get(tcb, "version")), 3);
    assert_string_equal(json_string_value(json_object_get(tcb, "issueDate")), issue);
    assert_string_equal(json_string_value(json_object_get(tcb, "nextUpdate")), next);
    assert_string_equal(json_string_value(json_object_get(tcb, "fmspc")), "00CCA1000000");
    assert_string_equal(json_string_value(json_object_get(tcb, "pceId")), "0000");
    const json_t *mod = json_array_get(json_object_get(tcb, "tdxModuleIdentities"), 0);
    assert_string_equal(json_string_value(json_object_get(mod, "id")), "TDX_01");
    const json_t *lvl = json_array_get(json_object_get(mod, "tcbLevels"), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(lvl, "tcb"), "isvsvn")),
                     q.body.tee_tcb_svn[0]);
    /* The first platform level is exactly the simulated TD's TCB. */
    lvl = json_array_get(json_object_get(tcb, "tcbLevels"), 0);
    assert_string_equal(json_string_value(json_object_get(lvl, "tcbStatus")), "UpToDate");
    const json_t *t = json_object_get(lvl, "tcb");
    tdx_pck_ext e;
    assert_int_equal(tdx_pck_ext_from_cert(leaf, &e, &err), CCAI_OK);
    svns_are(json_object_get(t, "sgxtcbcomponents"), e.comp_svn);
    svns_are(json_object_get(t, "tdxtcbcomponents"), q.body.tee_tcb_svn);
    assert_int_equal(json_integer_value(json_object_get(t, "pcesvn")), e.pcesvn);
    lvl = json_array_get(json_object_get(tcb, "tcbLevels"), 1);
    assert_string_equal(json_string_value(json_object_get(lvl, "tcbStatus")), "OutOfDate");
    assert_string_equal(json_string_value(json_array_get(json_object_get(lvl, "advisoryIDs"), 0)),
                        "INTEL-SA-00000");

    json_t *qe = check_signed(b, "qe_identity", "qe_identity_signature",
                              "qe_identity_issuer_chain", root);
    assert_string_equal(json_string_value(json_object_get(qe, "id")), "TD_QE");
    assert_int_equal(json_integer_value(json_object_get(qe, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(qe, "issueDate")), issue);
    assert_string_equal(json_string_value(json_object_get(qe, "nextUpdate")), next);
    uint8_t mrsigner[32];
    assert_int_equal(ccai_json_get_hex(qe, "mrsigner", mrsigner, 32, &err), CCAI_OK);
    assert_memory_equal(mrsigner, q.qe_report.mrsigner, 32);
    assert_int_equal(json_integer_value(json_object_get(qe, "isvprodid")), q.qe_report.isvprodid);
    assert_string_equal(json_string_value(json_object_get(qe, "attributes")),
                        "11000000000000000000000000000000");
    compare_with_real(b, tcb, qe);

    json_decref(tcb);
    json_decref(qe);
    X509_free(leaf);
    X509_free(plat);
    X509_free(root);
    tdx_quote_free(&q);
    tee_provider_close(p);
    json_decref(b);
    tu_rm_rf(dir);
    free(dir);
}

/* ---- state ------------------------------------------------------------------------ */

static void rtmr3_is(tee_provider *p, const uint8_t want[48])
{
    uint8_t rd[64] = {1};
    tdx_quote q;
    quote_of(p, rd, &q);
    assert_memory_equal(q.body.rtmr[3], want, 48);
    tdx_quote_free(&q);
    tee_measurements m;
    ccai_err err = {0};
    assert_int_equal(p->ops->read_measurements(p, &m, &err), CCAI_OK);
    assert_memory_equal(m.rtmr[3], want, 48);
}

static void test_state_persists(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tee_provider *p = open_sim(dir, false);
    char *pck1 = read_text(dir, "pck.pem");
    uint8_t zero[48] = {0}, d[48], want[48];
    rtmr3_is(p, zero);

    ccai_err err = {0};
    for (int i = 0; i < 48; i++)
        d[i] = (uint8_t)(i * 3 + 1);
    assert_int_equal(p->ops->extend_rtmr(p, 3, d, &err), CCAI_OK);
    uint8_t cat[96] = {0};
    memcpy(cat + 48, d, 48);
    ccai_sha384(cat, sizeof cat, want);
    rtmr3_is(p, want);
    tee_provider_close(p);

    /* A second process (open) sees the same platform and the same RTMR3. */
    p = open_sim(dir, false);
    char *pck2 = read_text(dir, "pck.pem");
    assert_string_equal(pck1, pck2);
    uint8_t rd[64] = {0};
    tdx_quote q;
    quote_of(p, rd, &q);
    assert_string_equal(q.pck_pem[0], pck1);
    tdx_quote_free(&q);
    rtmr3_is(p, want);

    /* Only RTMR3 is the application's. */
    assert_int_equal(p->ops->extend_rtmr(p, 2, d, &err), CCAI_ERR_ARG);
    assert_non_null(strstr(err.msg, "RTMR2"));
    assert_int_equal(p->ops->extend_rtmr(p, 0, d, &err), CCAI_ERR_ARG);
    assert_int_equal(p->ops->extend_rtmr(p, 4, d, &err), CCAI_ERR_ARG);
    rtmr3_is(p, want);

    /* "Reboot": RTMR3 is zero again, the platform is the same. */
    tee_config cfg = {.state_dir = dir};
    assert_int_equal(tee_sim_reset(&cfg, &err), CCAI_OK);
    rtmr3_is(p, zero);

    /* A measurement through the event log (the extend above was not logged,
     * which the log would rightly refuse), then reboot again: RTMR3 and the
     * log are both empty. */
    json_t *data = json_pack("{s:s}", "sha256", "00");
    tee_event ev;
    assert_int_equal(tee_measure(p, "ccai.test", data, &ev, &err), CCAI_OK);
    json_decref(data);
    uint8_t after[48] = {0};
    ccai_sha384_extend(after, ev.digest);
    tee_event_free(&ev);
    rtmr3_is(p, after);
    assert_int_equal(tee_sim_reset(&cfg, &err), CCAI_OK);
    rtmr3_is(p, zero);
    tee_eventlog log = {0};
    assert_int_equal(tee_eventlog_read(p, &log, &err), CCAI_OK);
    assert_int_equal(log.count, 0);
    tee_eventlog_free(&log);
    tee_provider_close(p);
    char *pck3 = read_text(dir, "pck.pem");
    assert_string_equal(pck1, pck3);

    free(pck1);
    free(pck2);
    free(pck3);
    tu_rm_rf(dir);
    free(dir);
}

static void test_debug_and_info(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tee_provider *p = open_sim(dir, true);
    uint8_t rd[64] = {0};
    tdx_quote q;
    quote_of(p, rd, &q);
    assert_int_equal(q.body.td_attributes, TDX_TD_ATTR_DEBUG | TDX_TD_ATTR_SEPT_VE_DISABLE);
    tdx_quote_free(&q);
    tee_provider_close(p);

    tee_config cfg = {.state_dir = dir};
    json_t *info = NULL;
    ccai_err err = {0};
    assert_int_equal(tee_sim_info(&cfg, &info, &err), CCAI_OK);
    assert_string_equal(json_string_value(json_object_get(info, "tee")), "tdx-sim");
    assert_string_equal(json_string_value(json_object_get(info, "fmspc")), "00cca1000000");
    assert_string_equal(json_string_value(json_object_get(info, "root_sha256")), ROOT_SHA256);
    assert_string_equal(json_string_value(json_object_get(info, "warning")),
                        "simulated TEE: not confidential");
    assert_string_equal(json_string_value(json_object_get(info, "pck_subject")),
                        "CN=ccai Simulated SGX PCK Certificate" SIM_O);
    char zero_hex[97];
    memset(zero_hex, '0', 96);
    zero_hex[96] = '\0';
    assert_string_equal(json_string_value(json_object_get(info, "rtmr_3")), zero_hex);
    assert_non_null(json_string_value(json_object_get(info, "mr_td")));
    json_decref(info);

    /* A configuration without a state directory is refused. */
    tee_config none = {0};
    assert_int_equal(tee_provider_open_sim(&none, &p, &err), CCAI_ERR_ARG);
    tu_rm_rf(dir);
    free(dir);
}

/* Four processes create the state at once: all end up with one platform. */
static void test_concurrent_first_use(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            tee_config cfg = {.state_dir = dir};
            tee_provider *p = NULL;
            uint8_t rd[64] = {0}, *buf = NULL;
            size_t len = 0;
            tdx_quote q;
            if (tee_provider_open_sim(&cfg, &p, NULL) ||
                p->ops->get_quote(p, rd, &buf, &len, NULL) || tdx_quote_parse(buf, len, &q, NULL))
                _exit(1);
            char *out = ccai_xasprintf("%s/child%d.pem", dir, i);
            FILE *f = fopen(out, "w");
            if (!f || fputs(q.pck_pem[0], f) < 0 || fclose(f) != 0)
                _exit(2);
            _exit(0);
        }
    }
    for (int i = 0; i < 4; i++) {
        int st = 0;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    char *pck = read_text(dir, "pck.pem");
    for (int i = 0; i < 4; i++) {
        char *path = ccai_xasprintf("%s/child%d.pem", dir, i);
        size_t n = 0;
        char *got = (char *)tu_read(path, &n);
        assert_string_equal(got, pck);
        free(got);
        free(path);
    }
    free(pck);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_root),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_collateral),
        cmocka_unit_test(test_state_persists),
        cmocka_unit_test(test_debug_and_info),
        cmocka_unit_test(test_concurrent_first_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
