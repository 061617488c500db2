/* Tests for src/tee/collateral.c: the real bundle
 * (testdata/tdx/real-v4-uptodate/collateral.json) decodes to exact values and
 * back, CRLs are accepted as hex DER and PEM, every member is required and
 * checked, size caps hold; its TCB info and QE identity parse to exact
 * values (tcbinfo.c). Then the whole parse + TCB evaluation chain
 * (tdx-facts §2 steps 6-8) on the real quote and on a simulated TD with its
 * simulated collateral, which must both come out UpToDate. */
#include "testutil.h"

#include <jansson.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/codec.h"
#include "base/mem.h"
#include "tee/collateral.h"
#include "tee/pck.h"
#include "tee/provider.h"
#include "tee/quote.h"
#include "tee/sim.h"
#include "tee/tcbinfo.h"

#define REAL_DIR "testdata/tdx/real-v4-uptodate/"

/* The first TCB level of the real TCB info. */
static const uint8_t L0_SGX[16] = {2, 2, 2, 2, 3, 1, 0, 5};
static const uint8_t L0_TDX[16] = {5, 0, 2};

static const char *const FIELDS[9] = {
    "pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info",
    "tcb_info_signature", "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature",
};

static json_t *real_bundle(void)
{
    const char *path = tu_shared_path(REAL_DIR "collateral.json");
    if (!path)
        return NULL;
    json_t *b = json_load_file(path, 0, NULL);
    assert_non_null(b);
    return b;
}

/* A fresh simulated bundle (always available, unlike the shared data); the
 * caller removes *dir with tu_rm_rf and frees it. */
static json_t *sim_bundle(char **dir)
{
    *dir = tu_tmpdir();
    tee_config cfg = {.state_dir = *dir};
    json_t *b = NULL;
    ccai_err err = {0};
    if (tee_sim_collateral(&cfg, time(NULL), &b, &err))
        fail_msg("%s", err.msg);
    return b;
}

static void sim_done(char *dir)
{
    tu_rm_rf(dir);
    free(dir);
}

static const char *member(const json_t *b, const char *key)
{
    return json_string_value(json_object_get(b, key));
}

static void hex_starts(const uint8_t *p, size_t n, const char *want)
{
    char *h = ccai_hex_dup(p, n);
    if (strncmp(h, want, strlen(want)) != 0)
        fail_msg("%s does not start with %s", h, want);
    free(h);
}

static void hex_is(const uint8_t *p, size_t n, const char *want)
{
    char buf[256];
    ccai_hex_encode(p, n, buf);
    assert_string_equal(buf, want);
}

static void msg_has(const ccai_err *err, const char *want)
{
    if (!strstr(err->msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", err->msg, want);
}

/* ---- the real bundle --------------------------------------------------------------- */

static void check_real(const tdx_collateral *c, const json_t *b)
{
    assert_string_equal(c->pck_crl_issuer_chain, member(b, "pck_crl_issuer_chain"));
    assert_string_equal(c->tcb_info_issuer_chain, member(b, "tcb_info_issuer_chain"));
    assert_string_equal(c->qe_identity_issuer_chain, member(b, "qe_identity_issuer_chain"));
    assert_int_equal(c->root_ca_crl_len, 292);
    hex_starts(c->root_ca_crl, c->root_ca_crl_len, "308201203081c8020101300a06082a8648ce3d0403");
    assert_int_equal(c->pck_crl_len, 2663);
    hex_starts(c->pck_crl, c->pck_crl_len, "30820a6330820a08020101300a06082a8648ce3d0403");
    /* Byte-exact: the signatures cover these bytes (tdx-facts §2 step 9). */
    assert_int_equal(c->tcb_info_len, 2934);
    assert_memory_equal(c->tcb_info, member(b, "tcb_info"), 2934);
    assert_int_equal(c->tcb_info[2934], '\0');
    assert_int_equal(c->qe_identity_len, 461);
    assert_memory_equal(c->qe_identity, member(b, "qe_identity"), 461);
    char sig[129];
    ccai_hex_encode(c->tcb_info_signature, 64, sig);
    assert_string_equal(sig, member(b, "tcb_info_signature"));
    ccai_hex_encode(c->qe_identity_signature, 64, sig);
    assert_string_equal(sig, member(b, "qe_identity_signature"));
    hex_starts(c->tcb_info_signature, 64, "027ef6ca41bac64e");
    hex_starts(c->qe_identity_signature, 64, "d6d709840544c26e");
}

static void test_real_bundle(void **state)
{
    (void)state;
    json_t *b = real_bundle();
    TU_SKIP_IF_NO_SHARED(b);
    tdx_collateral c;
    ccai_err err = {0};
    assert_int_equal(tdx_collateral_from_json(b, &c, &err), CCAI_OK);
    check_real(&c, b);

    /* Back to JSON: the very same bundle (its CRLs and signatures are
     * lower-case hex already). */
    json_t *again = tdx_collateral_to_json(&c);
    assert_true(json_equal(again, b));
    json_decref(again);
    tdx_collateral_free(&c);
    assert_null(c.tcb_info);
    tdx_collateral_free(&c);

    assert_int_equal(tdx_collateral_read_file(tu_shared_path(REAL_DIR "collateral.json"), &c, &err),
                     CCAI_OK);
    check_real(&c, b);
    tdx_collateral_free(&c);
    json_decref(b);
}

/* PEM CRLs (as some PCCS deployments serve them) decode to the same DER. */
static char *pem_crl(const uint8_t *der, size_t len, const char *before, const char *after)
{
    char *b64 = ccai_b64_encode(der, len, CCAI_B64_STD);
    ccai_buf b = {0};
    ccai_buf_append_str(&b, before);
    ccai_buf_append_str(&b, "-----BEGIN X509 CRL-----\n");
    for (size_t i = 0; i < strlen(b64); i += 64) {
        size_t n = strlen(b64) - i < 64 ? strlen(b64) - i : 64;
        ccai_buf_append(&b, b64 + i, n);
        ccai_buf_append_str(&b, "\r\n");
    }
    ccai_buf_append_str(&b, "-----END X509 CRL-----\n");
    ccai_buf_append_str(&b, after);
    ccai_buf_u8(&b, 0);
    free(b64);
    return (char *)ccai_buf_steal(&b, NULL);
}

static void test_pem_crl(void **state)
{
    (void)state;
    char *dir;
    json_t *b = sim_bundle(&dir);
    tdx_collateral c, p;
    ccai_err err = {0};
    assert_int_equal(tdx_collateral_from_json(b, &c, &err), CCAI_OK);

    char *root_pem = pem_crl(c.root_ca_crl, c.root_ca_crl_len, "\n", "");
    char *pck_pem = pem_crl(c.pck_crl, c.pck_crl_len, "", "\n\n");
    json_object_set_new(b, "root_ca_crl", json_string(root_pem));
    json_object_set_new(b, "pck_crl", json_string(pck_pem));
    assert_int_equal(tdx_collateral_from_json(b, &p, &err), CCAI_OK);
    assert_int_equal(p.root_ca_crl_len, c.root_ca_crl_len);
    assert_memory_equal(p.root_ca_crl, c.root_ca_crl, c.root_ca_crl_len);
    assert_int_equal(p.pck_crl_len, c.pck_crl_len);
    assert_memory_equal(p.pck_crl, c.pck_crl, c.pck_crl_len);
    tdx_collateral_free(&p);
    free(root_pem);
    free(pck_pem);

    /* Text around the armour, a second CRL, bad base64, a PEM that is no CRL. */
    struct {
        char *pem;
        const char *msg;
    } bad[] = {
        {pem_crl(c.root_ca_crl, c.root_ca_crl_len, "junk\n", ""),
         "\"root_ca_crl\": expected hex DER or a PEM"},
        {pem_crl(c.root_ca_crl, c.root_ca_crl_len, "", "trailer"),
         "\"root_ca_crl\": unexpected text after \"-----END X509 CRL-----\""},
        {ccai_xstrdup("-----BEGIN X509 CRL-----\nMII*\n-----END X509 CRL-----\n"),
         "\"root_ca_crl\": PEM CRL: base64: invalid character"},
        {ccai_xstrdup("-----BEGIN X509 CRL-----\nMIIB\n"), "without \"-----END X509 CRL-----\""},
        {ccai_xstrdup("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----"),
         "\"root_ca_crl\": the 2 bytes do not decode as one DER X.509 CRL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object_set_new(b, "root_ca_crl", json_string(bad[i].pem));
        assert_int_equal(tdx_collateral_from_json(b, &p, &err), CCAI_ERR_PARSE);
        msg_has(&err, bad[i].msg);
        assert_null(p.pck_crl_issuer_chain); /* nothing left to free */
        free(bad[i].pem);
    }
    tdx_collateral_free(&c);
    json_decref(b);
    sim_done(dir);
}

/* ---- malformed bundles ------------------------------------------------------------- */

typedef struct bad_member {
    const char *key;
    const char *val; /* JSON text, NULL to remove */
    const char *msg;
} bad_member;

static const bad_member BAD[] = {
    {"pck_crl_issuer_chain", "\"MIIC...\"",
     "collateral: \"pck_crl_issuer_chain\": expected a PEM certificate chain"},
    {"pck_crl_issuer_chain", "\"\"", "collateral: \"pck_crl_issuer_chain\" is empty"},
    {"tcb_info_issuer_chain", "[]",
     "collateral: \"tcb_info_issuer_chain\": expected a string, found an array"},
    {"qe_identity_issuer_chain", "\"-----BEGIN CERTIFICATE\\u0000-----\"",
     "collateral: \"qe_identity_issuer_chain\" contains a NUL byte"},
    {"root_ca_crl", "\"30820\"",
     "collateral: \"root_ca_crl\": expected hex DER or a PEM \"-----BEGIN X509 CRL-----\": "
     "odd number of hex digits (5)"},
    {"root_ca_crl", "\"3082zz\"",
     "collateral: \"root_ca_crl\": expected hex DER or a PEM \"-----BEGIN X509 CRL-----\": "
     "not a hex digit at position 4"},
    {"pck_crl", "\"300100\"",
     "collateral: \"pck_crl\": the 3 bytes do not decode as one DER X.509 CRL"},
    {"pck_crl", "12", "collateral: \"pck_crl\": expected a string, found an integer"},
    {"tcb_info", "{\"id\":\"TDX\"}",
     "collateral: \"tcb_info\": expected the raw JSON text as a string (its signature covers "
     "the exact bytes), found an object"},
    {"tcb_info", "\"{\\\"id\\\":\"", "collateral: \"tcb_info\": JSON at line 1"},
    {"qe_identity", "\"[1,2]\"",
     "collateral: \"qe_identity\": expected a JSON object, found an array"},
    {"tcb_info_signature", "\"00\"",
     "collateral: \"tcb_info_signature\" (raw ECDSA r||s): expected 128 hex digits (64 "
     "bytes), found 2"},
    {"qe_identity_signature", "null",
     "collateral: \"qe_identity_signature\": expected a string, found null"},
};

static void test_malformed(void **state)
{
    (void)state;
    char *dir;
    json_t *b = sim_bundle(&dir);
    tdx_collateral c;
    ccai_err err = {0};

    /* Every one of the nine members is required. */
    for (size_t i = 0; i < 9; i++) {
        json_t *d = json_deep_copy(b);
        json_object_del(d, FIELDS[i]);
        assert_int_equal(tdx_collateral_from_json(d, &c, &err), CCAI_ERR_PARSE);
        char want[64];
        snprintf(want, sizeof want, "collateral: missing \"%s\"", FIELDS[i]);
        assert_string_equal(err.msg, want);
        json_decref(d);
    }
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        json_t *d = json_deep_copy(b);
        json_t *v = json_loads(BAD[i].val, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        assert_non_null(v);
        json_object_set_new(d, BAD[i].key, v);
        ccai_code rc = tdx_collateral_from_json(d, &c, &err);
        if (rc != CCAI_ERR_PARSE || !strstr(err.msg, BAD[i].msg))
            fail_msg("case %zu: code %d, \"%s\"; expected \"%s\"", i, rc, err.msg, BAD[i].msg);
        json_decref(d);
    }
    /* 128 characters, the last not hex. */
    char sig[129];
    memset(sig, 'a', 127);
    sig[127] = 'Z';
    sig[128] = '\0';
    json_t *d = json_deep_copy(b);
    json_object_set_new(d, "qe_identity_signature", json_string(sig));
    assert_int_equal(tdx_collateral_from_json(d, &c, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "collateral: \"qe_identity_signature\" (raw ECDSA r||s): not a "
                                 "hex digit at position 127");
    json_decref(d);

    /* Unknown members are ignored; a non-object is not a bundle. */
    json_object_set_new(b, "fmspc", json_string("B0C06F000000"));
    assert_int_equal(tdx_collateral_from_json(b, &c, &err), CCAI_OK);
    tdx_collateral_free(&c);
    json_t *arr = json_array();
    assert_int_equal(tdx_collateral_from_json(arr, &c, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "collateral: expected a JSON object, found an array");
    assert_int_equal(tdx_collateral_from_json(NULL, &c, &err), CCAI_ERR_PARSE);
    json_decref(arr);

    /* Size caps: one member, and the bundle file (4 MiB). */
    char *huge = ccai_xmalloc((3 << 20) + 3);
    memset(huge, '0', (3 << 20) + 2);
    huge[(3 << 20) + 2] = '\0';
    json_object_set_new(b, "pck_crl", json_string(huge));
    assert_int_equal(tdx_collateral_from_json(b, &c, &err), CCAI_ERR_PARSE);
    msg_has(&err, "collateral: \"pck_crl\" is 3145730 bytes, more than the 3145728-byte limit");
    free(huge);
    json_decref(b);
    sim_done(dir);
}

static void test_read_file_errors(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char path[512];
    tdx_collateral c;
    ccai_err err = {0};

    snprintf(path, sizeof path, "%s/absent.json", dir);
    assert_int_equal(tdx_collateral_read_file(path, &c, &err), CCAI_ERR_NOT_FOUND);

    snprintf(path, sizeof path, "%s/bad.json", dir);
    tu_write(path, "{\"pck_crl\":", 11);
    assert_int_equal(tdx_collateral_read_file(path, &c, &err), CCAI_ERR_PARSE);
    msg_has(&err, path);
    msg_has(&err, "JSON at line 1");

    tu_write(path, "{}", 2);
    assert_int_equal(tdx_collateral_read_file(path, &c, &err), CCAI_ERR_PARSE);
    msg_has(&err, "bad.json: collateral: missing \"pck_crl_issuer_chain\"");

    size_t big = (4 << 20) + 1;
    char *junk = ccai_xmalloc(big);
    memset(junk, ' ', big);
    tu_write(path, junk, big);
    free(junk);
    assert_int_equal(tdx_collateral_read_file(path, &c, &err), CCAI_ERR_ARG);
    msg_has(&err, "larger than the 4194304-byte limit");
    tu_rm_rf(dir);
    free(dir);
}

/* ---- the real bundle's signed documents (tcbinfo.c) ---------------------------- */

static void test_real_tcb_info(void **state)
{
    (void)state;
    json_t *b = real_bundle();
    TU_SKIP_IF_NO_SHARED(b);
    const json_t *s = json_object_get(b, "tcb_info");
    tdx_tcb_info ti;
    ccai_err err = {0};
    assert_int_equal(tdx_tcb_info_parse(json_string_value(s), json_string_length(s), &ti, &err),
                     CCAI_OK);
    assert_string_equal(ti.id, "TDX");
    assert_int_equal(ti.version, 3);
    assert_string_equal(ti.issue_date_str, "2025-06-19T10:16:03Z");
    assert_string_equal(ti.next_update_str, "2025-07-19T10:16:03Z");
    assert_int_equal(ti.issue_date, 1750328163);
    assert_int_equal(ti.next_update, 1752920163);
    hex_is(ti.fmspc, 6, "b0c06f000000");
    hex_is(ti.pce_id, 2, "0000");
    assert_int_equal(ti.tcb_type, 0);
    assert_int_equal(ti.tcb_eval_num, 17);
    uint8_t zero48[48] = {0};
    assert_memory_equal(ti.module.mrsigner, zero48, 48);
    assert_string_equal(ti.module.id, "");
    assert_int_equal(ti.module.attributes, 0);
    assert_true(ti.module.attributes_mask == UINT64_MAX);
    assert_int_equal(ti.module.n_levels, 0);

    assert_int_equal(ti.n_module_ids, 2);
    assert_string_equal(ti.module_ids[0].id, "TDX_03");
    assert_int_equal(ti.module_ids[0].n_levels, 1);
    assert_int_equal(ti.module_ids[0].levels[0].isvsvn, 3);
    const tdx_module_identity *m1 = &ti.module_ids[1];
    assert_string_equal(m1->id, "TDX_01");
    assert_int_equal(m1->n_levels, 2);
    assert_int_equal(m1->levels[0].isvsvn, 4);
    assert_int_equal(m1->levels[0].status, TDX_TCB_UP_TO_DATE);
    assert_int_equal(m1->levels[1].isvsvn, 2);
    assert_int_equal(m1->levels[1].status, TDX_TCB_OUT_OF_DATE);
    assert_string_equal(m1->levels[1].tcb_date_str, "2023-08-09T00:00:00Z");

    assert_int_equal(ti.n_levels, 2);
    const tdx_tcb_level *l0 = &ti.levels[0], *l1 = &ti.levels[1];
    assert_memory_equal(l0->sgx_svn, L0_SGX, 16);
    assert_int_equal(l0->pcesvn, 11);
    assert_memory_equal(l0->tdx_svn, L0_TDX, 16);
    assert_string_equal(l0->tcb_date_str, "2024-03-13T00:00:00Z");
    assert_int_equal(l0->status, TDX_TCB_UP_TO_DATE);
    assert_int_equal(l0->n_advisories, 0);
    assert_int_equal(l1->pcesvn, 5);
    assert_int_equal(l1->status, TDX_TCB_OUT_OF_DATE);
    assert_string_equal(l1->tcb_date_str, "2018-01-04T00:00:00Z");
    assert_int_equal(l1->n_advisories, 14);
    assert_string_equal(l1->advisory_ids[0], "INTEL-SA-00106");
    assert_string_equal(l1->advisory_ids[13], "INTEL-SA-00837");
    tdx_tcb_info_free(&ti);
    assert_null(ti.levels);
    tdx_tcb_info_free(&ti); /* a freed struct frees again harmlessly */
    json_decref(b);
}

static void test_real_qe_identity(void **state)
{
    (void)state;
    json_t *b = real_bundle();
    TU_SKIP_IF_NO_SHARED(b);
    const json_t *s = json_object_get(b, "qe_identity");
    tdx_qe_identity qi;
    ccai_err err = {0};
    assert_int_equal(
        tdx_qe_identity_parse(json_string_value(s), json_string_length(s), &qi, &err), CCAI_OK);
    assert_string_equal(qi.id, "TD_QE");
    assert_int_equal(qi.version, 2);
    assert_string_equal(qi.issue_date_str, "2025-06-19T10:32:27Z");
    assert_string_equal(qi.next_update_str, "2025-07-19T10:32:27Z");
    assert_int_equal(qi.tcb_eval_num, 17);
    assert_int_equal(qi.miscselect, 0);
    assert_int_equal(qi.miscselect_mask, 0xFFFFFFFFu);
    hex_is(qi.attributes, 16, "11000000000000000000000000000000");
    hex_is(qi.attributes_mask, 16, "fbffffffffffffff0000000000000000");
    hex_is(qi.mrsigner, 32, "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
    assert_int_equal(qi.isvprodid, 2);
    assert_int_equal(qi.n_levels, 1);
    assert_int_equal(qi.levels[0].isvsvn, 4);
    assert_int_equal(qi.levels[0].status, TDX_TCB_UP_TO_DATE);
    assert_string_equal(qi.levels[0].tcb_date_str, "2024-03-13T00:00:00Z");
    tdx_qe_identity_free(&qi);
    json_decref(b);
}

/* ---- end to end: bundle -> TCB info/QE identity -> evaluation ---------------------- */

static void evaluate(const tdx_collateral *c, const tdx_quote *q, tdx_tcb_eval *ev)
{
    tdx_tcb_info ti;
    tdx_qe_identity qi;
    tdx_pck_ext pck;
    X509 *leaf = NULL;
    ccai_err err = {0};
    if (tdx_tcb_info_parse(c->tcb_info, c->tcb_info_len, &ti, &err) ||
        tdx_qe_identity_parse(c->qe_identity, c->qe_identity_len, &qi, &err) ||
        tdx_pem_to_x509(q->pck_pem[0], &leaf, &err) || tdx_pck_ext_from_cert(leaf, &pck, &err))
        fail_msg("%s", err.msg);
    X509_free(leaf);
    memset(ev, 0, sizeof *ev);
    if (tdx_qe_identity_check(&qi, &q->qe_report, ev, &err) ||
        tdx_tcb_evaluate(&ti, &pck, &q->body, ev, &err))
        fail_msg("%s", err.msg);
    tdx_tcb_info_free(&ti);
    tdx_qe_identity_free(&qi);
}

static void test_real_evaluation(void **state)
{
    (void)state;
    const char *path = tu_shared_path(REAL_DIR "quote.bin");
    TU_SKIP_IF_NO_SHARED(path);
    size_t len = 0;
    uint8_t *buf = tu_read(path, &len);
    tdx_quote q;
    ccai_err err = {0};
    assert_int_equal(tdx_quote_parse(buf, len, &q, &err), CCAI_OK);
    free(buf);
    tdx_collateral c;
    assert_int_equal(tdx_collateral_read_file(tu_shared_path(REAL_DIR "collateral.json"), &c, &err),
                     CCAI_OK);

    tdx_tcb_eval ev;
    evaluate(&c, &q, &ev);
    /* tee_tcb_svn 06 01 03: module TDX_01 (isvsvn 6 >= 4), platform level 0;
     * QE isvsvn 6 >= 4. */
    assert_int_equal(ev.platform, TDX_TCB_UP_TO_DATE);
    assert_int_equal(ev.qe, TDX_TCB_UP_TO_DATE);
    assert_int_equal(ev.module, TDX_TCB_UP_TO_DATE);
    assert_int_equal(ev.combined, TDX_TCB_UP_TO_DATE);
    assert_string_equal(ev.module_id, "TDX_01");
    assert_string_equal(ev.tcb_date, "2024-03-13T00:00:00Z");
    assert_int_equal(ev.n_advisories, 0);
    assert_null(ev.advisory_ids);
    tdx_tcb_eval_free(&ev);
    tdx_collateral_free(&c);
    tdx_quote_free(&q);
}

static void test_sim_evaluation(void **state)
{
    (void)state;
    char *dir;
    json_t *bundle = sim_bundle(&dir);
    tee_config cfg = {.state_dir = dir};
    ccai_err err = {0};
    tdx_collateral c;
    assert_int_equal(tdx_collateral_from_json(bundle, &c, &err), CCAI_OK);
    json_t *again = tdx_collateral_to_json(&c);
    assert_true(json_equal(again, bundle));
    json_decref(again);
    json_decref(bundle);

    tee_provider *p = NULL;
    uint8_t rd[64] = {1, 2, 3}, *buf = NULL;
    size_t len = 0;
    tdx_quote q;
    if (tee_provider_open_sim(&cfg, &p, &err) || p->ops->get_quote(p, rd, &buf, &len, &err) ||
        tdx_quote_parse(buf, len, &q, &err))
        fail_msg("%s", err.msg);
    free(buf);
    tee_provider_close(p);

    tdx_tcb_eval ev;
    evaluate(&c, &q, &ev);
    assert_int_equal(ev.platform, TDX_TCB_UP_TO_DATE);
    assert_int_equal(ev.qe, TDX_TCB_UP_TO_DATE);
    assert_int_equal(ev.module, TDX_TCB_UP_TO_DATE);
    assert_int_equal(ev.combined, TDX_TCB_UP_TO_DATE);
    assert_string_equal(ev.module_id, "TDX_01");
    assert_string_equal(ev.tcb_date, "2025-01-01T00:00:00Z");
    assert_int_equal(ev.n_advisories, 0);
    tdx_tcb_eval_free(&ev);
    tdx_collateral_free(&c);
    tdx_quote_free(&q);
    sim_done(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_bundle),
        cmocka_unit_test(test_pem_crl),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_read_file_errors),
        cmocka_unit_test(test_real_tcb_info),
        cmocka_unit_test(test_real_qe_identity),
        cmocka_unit_test(test_real_evaluation),
        cmocka_unit_test(test_sim_evaluation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
