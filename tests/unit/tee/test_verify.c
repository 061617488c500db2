/* Tests for DCAP verification (src/tee/verify*.c).
 *
 * The real v4 quote and its collateral (../shared, skipped when absent):
 * UpToDate inside the collateral's window, "collateral expired" after it,
 * an expired PCK certificate later still, and still "tdx" with simulated
 * trust on. The simulated TD: trusted only with trust_simulated, then
 * "tdx-sim"; and the tamper suite, which shows every check failing closed:
 * every byte of the signed region, the QE report, its signature, the QE
 * authentication data, the attestation key and the quote signature; the PCK
 * PEM; the TCB info and QE identity text and signatures; CRLs that revoke
 * the PCK or its CA, or have expired; simulated collateral offered for a
 * real quote; the event logs. Collateral is prepared once per fixture and
 * reused, so the byte-by-byte loops stay fast under ASan. */
#include "testutil.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/codec.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/ccel.h"
#include "tee/collateral.h"
#include "tee/eventlog.h"
#include "tee/pck.h"
#include "tee/provider.h"
#include "tee/quote.h"
#include "tee/sim.h"
#include "tee/sim_internal.h"
#include "tee/verify.h"

#define REAL_DIR "testdata/tdx/real-v4-uptodate/"
static const time_t AT_REAL = 1751328000;    /* 2025-07-01T00:00:00Z */
static const time_t AT_LATE = 1795564800;    /* 2026-11-25T00:00:00Z */
static const time_t AT_PCK_GONE = 1988150400; /* 2033-01-01T00:00:00Z */

/* ---- helpers ----------------------------------------------------------------------- */

static const tdx_step *find_step(const tdx_verify_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_steps; i++)
        if (strcmp(r->steps[i].name, name) == 0)
            return &r->steps[i];
    return NULL;
}

/* The named step ran and failed, and its reason contains want. */
static void assert_step_failed(const tdx_verify_result *r, const char *name, const char *want)
{
    const tdx_step *s = find_step(r, name);
    if (!s) {
        fail_msg("step %s was not recorded", name);
        return;
    }
    if (s->ok)
        fail_msg("step %s passed; expected a failure with \"%s\"", name, want);
    if (!strstr(s->detail, want))
        fail_msg("step %s: \"%s\" does not contain \"%s\"", name, s->detail, want);
    assert_false(r->verified);
    assert_int_equal(r->failure.code, CCAI_ERR_VERIFY);
}

/* Whether the named step passed (failing the test when it is missing). */
static bool step_ok(const tdx_verify_result *r, const char *name)
{
    const tdx_step *s = find_step(r, name);
    if (!s) {
        fail_msg("step %s was not recorded", name);
        return false;
    }
    return s->ok;
}

static const char *step_detail(const tdx_verify_result *r, const char *name)
{
    const tdx_step *s = find_step(r, name);
    return s ? s->detail : "(step not recorded)";
}

static void assert_all_steps_ok(const tdx_verify_result *r)
{
    for (size_t i = 0; i < r->n_steps; i++)
        if (!r->steps[i].ok)
            fail_msg("step %s failed: %s", r->steps[i].name, r->steps[i].detail);
    assert_true(r->verified);
}

static void parse_quote(const uint8_t *buf, size_t len, tdx_quote *q)
{
    ccai_err err = {0};
    if (tdx_quote_parse(buf, len, q, &err) != CCAI_OK)
        fail_msg("quote parse: %s", err.msg);
}

static tdx_collateral_ctx *prepare(const tdx_collateral *c)
{
    tdx_collateral_ctx *cc = NULL;
    ccai_err err = {0};
    if (tdx_collateral_prepare(c, &cc, &err) != CCAI_OK)
        fail_msg("prepare: %s", err.msg);
    return cc;
}

static ccai_code verify_at(const tdx_quote *q, tdx_collateral_ctx *cc, time_t at, bool sim,
                           tdx_verify_result *r)
{
    tdx_verify_opts o = {.at = at, .trust_simulated = sim};
    return tdx_verify(q, cc, &o, r);
}

/* ---- the real quote ----------------------------------------------------------------- */

typedef struct real_fx {
    uint8_t *buf;
    size_t len;
    tdx_quote q;
    tdx_collateral c;
    tdx_collateral_ctx *cc;
} real_fx;

/* Loads the real evidence, or skips the test when ../shared is absent. */
static real_fx *real_load(void)
{
    const char *qp = tu_shared_path(REAL_DIR "quote.bin");
    TU_SKIP_IF_NO_SHARED(qp);
    real_fx *fx = ccai_xcalloc(1, sizeof *fx);
    fx->buf = tu_read(qp, &fx->len);
    parse_quote(fx->buf, fx->len, &fx->q);
    const char *cp = tu_shared_path(REAL_DIR "collateral.json");
    TU_SKIP_IF_NO_SHARED(cp);
    ccai_err err = {0};
    if (tdx_collateral_read_file(cp, &fx->c, &err) != CCAI_OK)
        fail_msg("collateral: %s", err.msg);
    fx->cc = prepare(&fx->c);
    return fx;
}

static void real_free(real_fx *fx)
{
    tdx_collateral_ctx_free(fx->cc);
    tdx_collateral_free(&fx->c);
    tdx_quote_free(&fx->q);
    free(fx->buf);
    free(fx);
}

static void test_real_uptodate(void **state)
{
    (void)state;
    real_fx *fx = real_load();
    tdx_verify_result r;
    assert_int_equal(verify_at(&fx->q, fx->cc, AT_REAL, false, &r), CCAI_OK);
    assert_all_steps_ok(&r);
    assert_string_equal(r.tee, "tdx");
    assert_int_equal(r.tcb.combined, TDX_TCB_UP_TO_DATE);
    static const char *const order[] = {"header", "pck_chain", "crl", "pck_extension",
                                        "qe_report_signature", "qe_binding", "quote_signature",
                                        "collateral", "qe_identity", "tcb_info", "tcb_level"};
    assert_int_equal(r.n_steps, sizeof order / sizeof order[0]);
    for (size_t i = 0; i < r.n_steps; i++)
        assert_string_equal(r.steps[i].name, order[i]);
    char issued[32], expires[32];
    ccai_time_format(r.collateral_issued, issued);
    ccai_time_format(r.collateral_expires, expires);
    assert_string_equal(expires, "2025-07-19T10:00:35Z"); /* the PCK CRL's nextUpdate */
    assert_true(r.collateral_issued <= 1750329147);       /* <= 2025-06-19T10:32:27Z */

    json_t *j = tdx_verify_result_to_json(&r);
    assert_true(json_is_true(json_object_get(j, "verified")));
    assert_string_equal(json_string_value(json_object_get(j, "tee")), "tdx");
    assert_string_equal(json_string_value(json_object_get(j, "tcb_status")), "UpToDate");
    assert_string_equal(json_string_value(json_object_get(j, "fmspc")), "b0c06f000000");
    assert_string_equal(json_string_value(json_object_get(j, "pce_id")), "0000");
    assert_string_equal(json_string_value(json_object_get(j, "collateral_expires")),
                        "2025-07-19T10:00:35Z");
    assert_true(json_is_null(json_object_get(j, "failure")));
    assert_int_equal(json_array_size(json_object_get(j, "steps")), r.n_steps);
    assert_true(json_is_array(json_object_get(j, "advisory_ids")));
    json_decref(j);
    tdx_verify_result_free(&r);

    /* Simulated trust on: real evidence is still real. */
    assert_int_equal(verify_at(&fx->q, fx->cc, AT_REAL, true, &r), CCAI_OK);
    assert_string_equal(r.tee, "tdx");
    tdx_verify_result_free(&r);
    real_free(fx);
}

static void test_real_expired_collateral(void **state)
{
    (void)state;
    real_fx *fx = real_load();
    tdx_verify_result r;
    assert_int_equal(verify_at(&fx->q, fx->cc, AT_LATE, false, &r), CCAI_ERR_VERIFY);
    assert_string_equal(r.failure.msg, "collateral expired: PCK CRL nextUpdate "
                                       "2025-07-19T10:00:35Z is before the verification time "
                                       "2026-11-25T00:00:00Z");
    assert_step_failed(&r, "crl", "collateral expired: PCK CRL");
    assert_step_failed(&r, "collateral",
                       "collateral expired: TCB info nextUpdate 2025-07-19T10:16:03Z is before "
                       "the verification time 2026-11-25T00:00:00Z");
    /* The signatures do not depend on the date and still verify. */
    assert_true(step_ok(&r, "pck_chain"));
    assert_true(step_ok(&r, "quote_signature"));
    assert_true(step_ok(&r, "qe_report_signature"));
    assert_string_equal(r.tee, "tdx");
    json_t *j = tdx_verify_result_to_json(&r);
    assert_true(json_is_false(json_object_get(j, "verified")));
    assert_string_equal(json_string_value(json_object_get(j, "failure")), r.failure.msg);
    assert_true(json_is_null(json_object_get(j, "tcb_status")));
    json_decref(j);
    tdx_verify_result_free(&r);

    /* The warm context did not remember the earlier success wrongly. */
    assert_int_equal(verify_at(&fx->q, fx->cc, AT_REAL, false, &r), CCAI_OK);
    tdx_verify_result_free(&r);
    real_free(fx);
}

static void test_real_expired_pck(void **state)
{
    (void)state;
    real_fx *fx = real_load();
    tdx_verify_result r;
    /* First a success, which the context remembers for the PCK chain... */
    assert_int_equal(verify_at(&fx->q, fx->cc, AT_REAL, false, &r), CCAI_OK);
    tdx_verify_result_free(&r);
    /* ...only for as long as every certificate and CRL is valid. */
    assert_int_equal(verify_at(&fx->q, fx->cc, AT_PCK_GONE, false, &r), CCAI_ERR_VERIFY);
    assert_string_equal(r.failure.msg,
                        "PCK certificate CN=Intel SGX PCK Certificate,O=Intel Corporation,"
                        "L=Santa Clara,ST=CA,C=US not valid after 2032-02-06T23:25:51Z "
                        "(verifying at 2033-01-01T00:00:00Z)");
    assert_step_failed(&r, "pck_chain", "not valid after 2032-02-06T23:25:51Z");
    tdx_verify_result_free(&r);
    real_free(fx);
}

/* ---- the simulated TD ----------------------------------------------------------------- */

typedef struct sim_fx {
    char *dir;
    char *sim_dir;          /* <dir>/sim */
    time_t at;              /* verification time, inside the collateral's window */
    uint8_t *buf;           /* a quote */
    size_t len;
    tdx_quote q;
    tdx_collateral c;
    tdx_collateral_ctx *cc;
    tee_provider *p;
} sim_fx;

static tee_provider *open_sim(const char *dir, bool debug)
{
    tee_config cfg = {.state_dir = dir, .sim_debug = debug};
    tee_provider *p = NULL;
    ccai_err err = {0};
    if (tee_provider_open_sim(&cfg, &p, &err) != CCAI_OK)
        fail_msg("open sim: %s", err.msg);
    return p;
}

static void sim_quote(tee_provider *p, uint8_t **buf, size_t *len)
{
    uint8_t rd[64];
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(0xa0 + i);
    ccai_err err = {0};
    if (p->ops->get_quote(p, rd, buf, len, &err) != CCAI_OK)
        fail_msg("get_quote: %s", err.msg);
}

static void sim_collateral(const char *dir, time_t now, tdx_collateral *c)
{
    tee_config cfg = {.state_dir = dir};
    json_t *bundle = NULL;
    ccai_err err = {0};
    if (tee_sim_collateral(&cfg, now, &bundle, &err) != CCAI_OK)
        fail_msg("sim collateral: %s", err.msg);
    if (tdx_collateral_from_json(bundle, c, &err) != CCAI_OK)
        fail_msg("collateral from json: %s", err.msg);
    json_decref(bundle);
}

static int sim_setup(void **state)
{
    sim_fx *fx = ccai_xcalloc(1, sizeof *fx);
    fx->dir = tu_tmpdir();
    fx->sim_dir = ccai_xasprintf("%s/%s", fx->dir, SIM_DIR_NAME);
    time_t now = time(NULL);
    fx->at = now + 60;
    fx->p = open_sim(fx->dir, false);
    sim_quote(fx->p, &fx->buf, &fx->len);
    parse_quote(fx->buf, fx->len, &fx->q);
    sim_collateral(fx->dir, now, &fx->c);
    fx->cc = prepare(&fx->c);
    *state = fx;
    return 0;
}

static int sim_teardown(void **state)
{
    sim_fx *fx = *state;
    tdx_collateral_ctx_free(fx->cc);
    tdx_collateral_free(&fx->c);
    tdx_quote_free(&fx->q);
    free(fx->buf);
    tee_provider_close(fx->p);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->sim_dir);
    free(fx);
    return 0;
}

static void test_sim_trusted(void **state)
{
    sim_fx *fx = *state;
    tdx_verify_result r;
    assert_int_equal(verify_at(&fx->q, fx->cc, fx->at, true, &r), CCAI_OK);
    assert_all_steps_ok(&r);
    assert_string_equal(r.tee, "tdx-sim");
    assert_int_equal(r.tcb.combined, TDX_TCB_UP_TO_DATE);
    assert_int_equal(r.tcb.platform, TDX_TCB_UP_TO_DATE);
    assert_string_equal(r.tcb.module_id, "TDX_01");
    assert_memory_equal(r.pck.fmspc, SIM_FMSPC, 6);
    json_t *j = tdx_verify_result_to_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "tee")), "tdx-sim");
    assert_string_equal(json_string_value(json_object_get(j, "fmspc")), "00cca1000000");
    json_decref(j);
    tdx_verify_result_free(&r);
}

static void test_sim_untrusted(void **state)
{
    sim_fx *fx = *state;
    tdx_verify_result r;
    assert_int_equal(verify_at(&fx->q, fx->cc, fx->at, false, &r), CCAI_ERR_VERIFY);
    assert_null(r.tee);
    assert_string_equal(r.failure.msg, "untrusted root: simulated TDX root CA (pass "
                                       "--trust-simulated to accept simulated evidence)");
    assert_step_failed(&r, "pck_chain", "untrusted root");
    assert_step_failed(&r, "collateral", "untrusted root");
    assert_step_failed(&r, "tcb_level", "skipped");
    /* What does not depend on trust was still checked. */
    assert_true(step_ok(&r, "quote_signature"));
    assert_true(step_ok(&r, "qe_binding"));
    tdx_verify_result_free(&r);
}

static void test_sim_expired_and_warm_cache(void **state)
{
    sim_fx *fx = *state;
    tdx_verify_result r;
    time_t late = fx->at + 31 * 24 * 3600;
    assert_int_equal(verify_at(&fx->q, fx->cc, late, true, &r), CCAI_ERR_VERIFY);
    assert_step_failed(&r, "crl", "collateral expired: PCK CRL nextUpdate");
    assert_step_failed(&r, "collateral", "collateral expired: TCB info nextUpdate");
    tdx_verify_result_free(&r);
    /* Before the collateral was issued. */
    assert_int_equal(verify_at(&fx->q, fx->cc, fx->at - 3600, true, &r), CCAI_ERR_VERIFY);
    assert_step_failed(&r, "crl", "collateral not yet valid: PCK CRL thisUpdate");
    assert_step_failed(&r, "collateral", "collateral not yet valid: TCB info issueDate");
    tdx_verify_result_free(&r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(verify_at(&fx->q, fx->cc, fx->at + i, true, &r), CCAI_OK);
        tdx_verify_result_free(&r);
    }
}

/* Simulated collateral must not rate a real quote, even with simulated trust. */
static void test_sim_collateral_for_real_quote(void **state)
{
    sim_fx *fx = *state;
    const char *qp = tu_shared_path(REAL_DIR "quote.bin");
    TU_SKIP_IF_NO_SHARED(qp);
    size_t len = 0;
    uint8_t *buf = tu_read(qp, &len);
    tdx_quote q;
    parse_quote(buf, len, &q);
    tdx_verify_result r;
    assert_int_equal(verify_at(&q, fx->cc, fx->at, true, &r), CCAI_ERR_VERIFY);
    assert_string_equal(r.tee, "tdx");
    assert_step_failed(&r, "collateral", "not at the root of the quote's PCK chain");
    assert_step_failed(&r, "crl", "PCK CRL issuer");
    assert_step_failed(&r, "qe_identity", "skipped");
    tdx_verify_result_free(&r);
    tdx_quote_free(&q);
    free(buf);
}

/* ---- tamper suite: the quote ------------------------------------------------------------ */

/* Flips byte i of a copy of the quote and verifies it; returns the parse
 * result (the verification is in *r only when it parsed). */
static ccai_code flip_and_verify(const sim_fx *fx, size_t i, tdx_verify_result *r,
                                 ccai_err *perr)
{
    uint8_t *copy = ccai_xmemdup(fx->buf, fx->len);
    copy[i] ^= 0xff;
    tdx_quote q;
    ccai_code rc = tdx_quote_parse(copy, fx->len, &q, perr);
    free(copy);
    if (rc != CCAI_OK)
        return rc;
    verify_at(&q, fx->cc, fx->at, true, r);
    tdx_quote_free(&q);
    return CCAI_OK;
}

/* Every byte of [from, to) must make `name` fail with `want`. */
static void flip_range(const sim_fx *fx, size_t from, size_t to, const char *name,
                       const char *want)
{
    for (size_t i = from; i < to; i++) {
        tdx_verify_result r;
        ccai_err perr = {0};
        if (flip_and_verify(fx, i, &r, &perr) != CCAI_OK)
            fail_msg("byte %zu: parse rejected it (%s)", i, perr.msg);
        const tdx_step *s = find_step(&r, name);
        if (!s || s->ok || !strstr(s->detail, want))
            fail_msg("byte %zu: step %s %s (%s)", i, name, s && s->ok ? "passed" : "other",
                     s ? s->detail : "missing");
        assert_false(r.verified);
        tdx_verify_result_free(&r);
    }
}

static void test_tamper_signed_region(void **state)
{
    sim_fx *fx = *state;
    assert_int_equal(fx->q.signed_len, TDX_QUOTE_HEADER_LEN + TDX_BODY_V10_LEN);
    for (size_t i = 0; i < fx->q.signed_len; i++) {
        tdx_verify_result r;
        ccai_err perr = {0};
        if (flip_and_verify(fx, i, &r, &perr) != CCAI_OK) {
            /* Only version, key type and TEE type are parse errors. */
            if (i >= 8)
                fail_msg("byte %zu: parse rejected it (%s)", i, perr.msg);
            assert_true(perr.msg[0] != '\0');
            continue;
        }
        assert_true(i >= 8);
        assert_step_failed(&r, "quote_signature", "quote signature does not verify");
        if (i >= 12 && i < 28)
            assert_step_failed(&r, "header", "QE vendor id");
        tdx_verify_result_free(&r);
    }
}

static void test_tamper_signature_data(void **state)
{
    sim_fx *fx = *state;
    size_t sig = fx->q.signed_len + 4; /* after the signature-data length */
    size_t qe_report = sig + 134, qe_sig = qe_report + TDX_QE_REPORT_LEN;
    size_t auth = qe_sig + 64 + 2;
    flip_range(fx, sig, sig + 64, "quote_signature", "quote signature does not verify");
    flip_range(fx, sig + 64, sig + 128, "qe_binding", "is not SHA-256(attestation key");
    flip_range(fx, qe_report, qe_report + TDX_QE_REPORT_LEN, "qe_report_signature",
               "QE report signature does not verify");
    flip_range(fx, qe_sig, qe_sig + 64, "qe_report_signature",
               "QE report signature does not verify");
    flip_range(fx, auth, auth + fx->q.qe_auth_len, "qe_binding",
               "is not SHA-256(attestation key");
}

/* The simulated TD's certificates names[0..n) (stopping at a NULL), PEM text
 * end to end, NUL-terminated: a chain to put in a quote or a bundle. */
static ccai_buf sim_chain(const sim_fx *fx, const char *const *names, int n)
{
    ccai_buf chain = {0};
    ccai_err err = {0};
    for (int k = 0; k < n && names[k]; k++) {
        char *pem = NULL;
        assert_int_equal(tee_sim_load_cert(fx->sim_dir, names[k], NULL, &pem, &err), CCAI_OK);
        ccai_buf_append_str(&chain, pem);
        free(pem);
    }
    ccai_buf_append(&chain, "", 1);
    return chain;
}

/* The quote's PCK chain must be the path, each certificate in its role: the
 * CRL checks take the leaf's issuer from it. Certificates put in another
 * order or role are refused before anything is checked against them. */
static void test_pck_chain_roles(void **state)
{
    sim_fx *fx = *state;
    static const struct {
        const char *chain[4], *want;
    } cases[] = {
        {{SIM_PCK_PEM, SIM_PLATFORM_PEM, SIM_TCB_PEM, SIM_ROOT_PEM},
         "PCK chain: expected 3 certificates (PCK certificate, PCK CA, root), found 4"},
        {{SIM_PLATFORM_PEM, SIM_PLATFORM_PEM, SIM_ROOT_PEM, NULL},
         "PCK chain: certificate 1: expected the PCK certificate (CN=ccai Simulated SGX PCK "
         "Certificate, not a CA), found CN=ccai Simulated SGX PCK Platform CA"},
        {{SIM_PCK_PEM, SIM_TCB_PEM, SIM_ROOT_PEM, NULL},
         "PCK chain: certificate 2: expected a PCK CA (CN=ccai Simulated SGX PCK Platform CA), "
         "found CN=ccai Simulated TCB Signing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ccai_buf chain = sim_chain(fx, cases[i].chain, 4);
        ccai_err err = {0};
        tdx_quote q;
        tdx_quote_copy(&q, &fx->q);
        free(q.pck_chain);
        q.pck_chain_len = (uint32_t)chain.len;
        q.pck_chain = ccai_buf_steal(&chain, NULL);
        uint8_t *out = NULL;
        size_t len = 0;
        assert_int_equal(tdx_quote_serialize(&q, &out, &len, &err), CCAI_OK);
        tdx_quote again;
        parse_quote(out, len, &again);
        tdx_verify_result r;
        verify_at(&again, fx->cc, fx->at, true, &r);
        assert_step_failed(&r, "pck_chain", cases[i].want);
        assert_false(r.verified);
        tdx_verify_result_free(&r);
        tdx_quote_free(&again);
        tdx_quote_free(&q);
        free(out);
    }
}

/* A changed attestation key also breaks the quote signature (or is no point). */
static void test_tamper_attest_key_struct(void **state)
{
    sim_fx *fx = *state;
    tdx_quote q;
    tdx_quote_copy(&q, &fx->q);
    q.attest_key[10] ^= 0x01;
    uint8_t *out = NULL;
    size_t len = 0;
    ccai_err err = {0};
    assert_int_equal(tdx_quote_serialize(&q, &out, &len, &err), CCAI_OK);
    tdx_quote again;
    parse_quote(out, len, &again);
    tdx_verify_result r;
    verify_at(&again, fx->cc, fx->at, true, &r);
    assert_step_failed(&r, "qe_binding", "is not SHA-256");
    assert_false(step_ok(&r, "quote_signature"));
    tdx_verify_result_free(&r);
    tdx_quote_free(&again);
    tdx_quote_free(&q);
    free(out);
}

static void test_tamper_pck_pem(void **state)
{
    sim_fx *fx = *state;
    const char *begin = "-----BEGIN CERTIFICATE-----\n";
    /* A few positions inside the leaf's base64: the DER stops decoding, or
     * the issuer's signature over it stops verifying, or the changed issuer
     * name no longer leads to the CA, or the leaf's own name is no longer a
     * PCK certificate's. */
    for (size_t k = 0; k < 6; k++) {
        uint8_t *copy = ccai_xmemdup(fx->buf, fx->len);
        char *leaf = memmem(copy, fx->len, begin, strlen(begin));
        assert_non_null(leaf);
        char *c = leaf + strlen(begin) + 70 + 97 * k;
        if (*c == '\n')
            c++;
        *c = *c == 'A' ? 'B' : 'A';
        tdx_quote q;
        ccai_err err = {0};
        if (tdx_quote_parse(copy, fx->len, &q, &err) == CCAI_OK) {
            tdx_verify_result r;
            verify_at(&q, fx->cc, fx->at, true, &r);
            assert_false(step_ok(&r, "pck_chain"));
            const char *d = step_detail(&r, "pck_chain");
            if (!strstr(d, "does not decode") && !strstr(d, "signature does not verify") &&
                !strstr(d, "is not in the chain") && !strstr(d, "X509 verify error") &&
                !strstr(d, "certificate 1 is not issued by certificate 2") &&
                !strstr(d, "certificate 1: expected the PCK certificate"))
                fail_msg("position %zu: %s", k, d);
            tdx_verify_result_free(&r);
            tdx_quote_free(&q);
        }
        free(copy);
    }
}

/* ---- tamper suite: the collateral --------------------------------------------------------- */

/* Verifies the fixture's quote against a variant of its collateral. */
static void verify_with(const sim_fx *fx, const tdx_collateral *c, tdx_verify_result *r)
{
    tdx_collateral_ctx *cc = prepare(c);
    verify_at(&fx->q, cc, fx->at, true, r);
    tdx_collateral_ctx_free(cc);
}

static void test_tamper_tcb_info(void **state)
{
    sim_fx *fx = *state;
    tdx_collateral c = fx->c;
    tdx_verify_result r;
    /* Same meaning, other bytes: the FMSPC in lower case. */
    char *text = ccai_xstrdup(fx->c.tcb_info);
    char *f = strstr(text, "00CCA1000000");
    assert_non_null(f);
    memcpy(f, "00cca1000000", 12);
    c.tcb_info = text;
    verify_with(fx, &c, &r);
    assert_step_failed(&r, "collateral", "TCB info signature does not verify");
    assert_step_failed(&r, "tcb_level", "skipped");
    tdx_verify_result_free(&r);
    free(text);

    c = fx->c;
    c.tcb_info_signature[5] ^= 0x20;
    verify_with(fx, &c, &r);
    assert_step_failed(&r, "collateral", "TCB info signature does not verify");
    tdx_verify_result_free(&r);

    c = fx->c;
    c.qe_identity_signature[40] ^= 0x01;
    verify_with(fx, &c, &r);
    assert_step_failed(&r, "collateral", "QE identity signature does not verify");
    tdx_verify_result_free(&r);
}

/* A CRL signed by key as issuer, valid [from, until], revoking serial
 * (NULL: none); its DER replaces *der. */
static void make_crl(X509 *issuer, EVP_PKEY *key, time_t from, time_t until,
                     const ASN1_INTEGER *serial, uint8_t **der, size_t *len)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t0 = ASN1_TIME_set(NULL, from), *t1 = ASN1_TIME_set(NULL, until);
    assert_true(crl && t0 && t1);
    assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)), 1);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t0), 1);
    assert_int_equal(X509_CRL_set1_nextUpdate(crl, t1), 1);
    if (serial) {
        X509_REVOKED *rev = X509_REVOKED_new();
        ASN1_INTEGER *sn = ASN1_INTEGER_dup(serial);
        assert_int_equal(X509_REVOKED_set_serialNumber(rev, sn), 1);
        ASN1_INTEGER_free(sn);
        assert_int_equal(X509_REVOKED_set_revocationDate(rev, t0), 1);
        assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
    }
    assert_int_equal(X509_CRL_sort(crl), 1);
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    unsigned char *p = NULL;
    int n = i2d_X509_CRL(crl, &p);
    assert_true(n > 0);
    free(*der);
    *der = ccai_xmemdup(p, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(p);
    ASN1_TIME_free(t0);
    ASN1_TIME_free(t1);
    X509_CRL_free(crl);
}

static void load_signer(const sim_fx *fx, const char *key_name, const char *pem_name,
                        EVP_PKEY **key, X509 **cert)
{
    ccai_err err = {0};
    if (tee_sim_load_key(fx->sim_dir, key_name, key, &err) != CCAI_OK ||
        tee_sim_load_cert(fx->sim_dir, pem_name, cert, NULL, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
}

/* TCB info and QE identity signed by a certificate under the root other
 * than the TCB signing one: the platform's own PCK leaf (its key lives on
 * the platform) or its Platform CA. Each chains to the root, and each is
 * refused, even for TCB info that says what the genuine one does. */
static void test_collateral_signer_role(void **state)
{
    sim_fx *fx = *state;
    static const struct {
        const char *key, *chain[3], *found;
    } cases[] = {
        {SIM_PCK_KEY, {SIM_PCK_PEM, SIM_PLATFORM_PEM, SIM_ROOT_PEM}, "ccai Simulated SGX PCK Certificate"},
        {SIM_PLATFORM_KEY, {SIM_PLATFORM_PEM, SIM_ROOT_PEM, NULL}, "(a CA)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        EVP_PKEY *key = NULL;
        ccai_err err = {0};
        assert_int_equal(tee_sim_load_key(fx->sim_dir, cases[i].key, &key, &err), CCAI_OK);
        ccai_buf chain = sim_chain(fx, cases[i].chain, 3);
        tdx_collateral c = fx->c;
        c.tcb_info_issuer_chain = c.qe_identity_issuer_chain = (char *)chain.data;
        assert_int_equal(tee_sim_sign_raw(key, (const uint8_t *)c.tcb_info, c.tcb_info_len,
                                          c.tcb_info_signature, &err), CCAI_OK);
        assert_int_equal(tee_sim_sign_raw(key, (const uint8_t *)c.qe_identity, c.qe_identity_len,
                                          c.qe_identity_signature, &err), CCAI_OK);
        tdx_verify_result r;
        verify_with(fx, &c, &r);
        assert_step_failed(&r, "collateral", "TCB info signer: expected the TCB signing certificate "
                                             "(CN=ccai Simulated TCB Signing, issued by the root");
        assert_step_failed(&r, "collateral", cases[i].found);
        assert_step_failed(&r, "tcb_level", "skipped");
        assert_false(r.verified);
        tdx_verify_result_free(&r);
        ccai_buf_free(&chain);
        EVP_PKEY_free(key);
    }
}

static void test_crl_revokes_pck(void **state)
{
    sim_fx *fx = *state;
    EVP_PKEY *key = NULL;
    X509 *plat = NULL, *pck = NULL;
    load_signer(fx, SIM_PLATFORM_KEY, SIM_PLATFORM_PEM, &key, &plat);
    ccai_err err = {0};
    assert_int_equal(tee_sim_load_cert(fx->sim_dir, SIM_PCK_PEM, &pck, NULL, &err), CCAI_OK);
    tdx_collateral c = fx->c;
    c.pck_crl = NULL;
    make_crl(plat, key, fx->at - 3600, fx->at + 3600, X509_get0_serialNumber(pck), &c.pck_crl,
             &c.pck_crl_len);
    tdx_verify_result r;
    verify_with(fx, &c, &r);
    char serial[96], want[160];
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(pck), NULL);
    char *hex = BN_bn2hex(bn);
    snprintf(serial, sizeof serial, "%s", hex);
    for (char *s = serial; *s; s++)
        *s = (char)(*s >= 'A' && *s <= 'F' ? *s - 'A' + 'a' : *s);
    snprintf(want, sizeof want, "PCK certificate serial %s revoked by the PCK CRL", serial);
    assert_string_equal(r.failure.msg, want);
    assert_step_failed(&r, "crl", want);
    /* The revoked PCK's other signatures still verify: only the CRL fails. */
    assert_true(step_ok(&r, "pck_chain"));
    tdx_verify_result_free(&r);

    /* Expired PCK CRL (no revocation). */
    make_crl(plat, key, fx->at - 40 * 86400, fx->at - 10 * 86400, NULL, &c.pck_crl,
             &c.pck_crl_len);
    verify_with(fx, &c, &r);
    char next[32], at[32];
    ccai_time_format(fx->at - 10 * 86400, next);
    ccai_time_format(fx->at, at);
    snprintf(want, sizeof want,
             "collateral expired: PCK CRL nextUpdate %s is before the verification time %s", next,
             at);
    assert_string_equal(r.failure.msg, want);
    assert_step_failed(&r, "crl", want);
    tdx_verify_result_free(&r);

    /* A PCK CRL signed by another key. */
    EVP_PKEY *tcb_key = NULL;
    X509 *tcb = NULL;
    load_signer(fx, SIM_TCB_KEY, SIM_TCB_PEM, &tcb_key, &tcb);
    make_crl(plat, tcb_key, fx->at - 3600, fx->at + 3600, NULL, &c.pck_crl, &c.pck_crl_len);
    verify_with(fx, &c, &r);
    assert_step_failed(&r, "crl", "PCK CRL signature does not verify");
    tdx_verify_result_free(&r);
    /* A PCK CRL from another issuer. */
    make_crl(tcb, tcb_key, fx->at - 3600, fx->at + 3600, NULL, &c.pck_crl, &c.pck_crl_len);
    verify_with(fx, &c, &r);
    assert_step_failed(&r, "crl", "is not the PCK certificate's issuer");
    tdx_verify_result_free(&r);

    free(c.pck_crl);
    OPENSSL_free(hex);
    BN_free(bn);
    EVP_PKEY_free(tcb_key);
    X509_free(tcb);
    EVP_PKEY_free(key);
    X509_free(plat);
    X509_free(pck);
}

static void test_root_crl_revokes_ca(void **state)
{
    sim_fx *fx = *state;
    EVP_PKEY *root_key = NULL, *k = NULL;
    X509 *root = NULL, *plat = NULL;
    ccai_err err = {0};
    assert_int_equal(tee_sim_root_key(&root_key, &err), CCAI_OK);
    assert_int_equal(tdx_pem_to_x509(tee_sim_root_pem(), &root, &err), CCAI_OK);
    load_signer(fx, SIM_PLATFORM_KEY, SIM_PLATFORM_PEM, &k, &plat);
    tdx_collateral c = fx->c;
    c.root_ca_crl = NULL;
    make_crl(root, root_key, fx->at - 3600, fx->at + 3600, X509_get0_serialNumber(plat),
             &c.root_ca_crl, &c.root_ca_crl_len);
    tdx_verify_result r;
    verify_with(fx, &c, &r);
    assert_step_failed(&r, "crl", "intermediate CA certificate CN=ccai Simulated SGX PCK "
                                  "Platform CA");
    assert_step_failed(&r, "crl", "revoked by the root CA CRL");
    tdx_verify_result_free(&r);
    free(c.root_ca_crl);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(k);
    X509_free(root);
    X509_free(plat);
}

/* ---- debug TD and event logs ---------------------------------------------------------------- */

static void test_debug_td_verifies(void **state)
{
    sim_fx *fx = *state;
    tee_provider *p = open_sim(fx->dir, true);
    uint8_t *buf = NULL;
    size_t len = 0;
    sim_quote(p, &buf, &len);
    tdx_quote q;
    parse_quote(buf, len, &q);
    assert_true(q.body.td_attributes & TDX_TD_ATTR_DEBUG);
    tdx_verify_result r;
    /* Debug is for the policy to judge (appraise.h), not a verify failure. */
    assert_int_equal(verify_at(&q, fx->cc, fx->at, true, &r), CCAI_OK);
    assert_true(r.verified);
    tdx_verify_result_free(&r);
    tdx_quote_free(&q);
    free(buf);
    tee_provider_close(p);
}

static void test_ccel_replay(void **state)
{
    sim_fx *fx = *state;
    uint8_t *log = NULL;
    size_t len = 0;
    ccai_err err = {0};
    assert_int_equal(fx->p->ops->read_ccel(fx->p, &log, &len, &err), CCAI_OK);
    tdx_verify_opts o = {.at = fx->at, .trust_simulated = true, .ccel = log, .ccel_len = len};
    tdx_verify_result r;
    assert_int_equal(tdx_verify(&fx->q, fx->cc, &o, &r), CCAI_OK);
    assert_true(r.ccel_replayed);
    assert_true(step_ok(&r, "ccel_replay"));
    tdx_verify_result_free(&r);

    /* Change one RTMR1 digest (CC MR index 2). */
    tee_ccel parsed;
    assert_int_equal(tee_ccel_parse(log, len, &parsed, &err), CCAI_OK);
    size_t off = 0;
    for (size_t i = 0; i < parsed.count && !off; i++)
        if (parsed.ev[i].mr_index == 2)
            off = parsed.ev[i].offset;
    tee_ccel_free(&parsed);
    assert_true(off > 0);
    log[off + 14] ^= 0x01; /* index, type, digest count, algorithm id, then the digest */
    assert_int_equal(tdx_verify(&fx->q, fx->cc, &o, &r), CCAI_ERR_VERIFY);
    assert_false(r.ccel_replayed);
    assert_step_failed(&r, "ccel_replay", "RTMR1: the firmware event log");
    const tdx_step *cs = find_step(&r, "ccel_replay");
    assert_non_null(cs);
    if (cs)
        assert_string_equal(r.failure.msg, cs->detail);
    tdx_verify_result_free(&r);

    /* A log that does not parse. */
    o.ccel_len = 10;
    assert_int_equal(tdx_verify(&fx->q, fx->cc, &o, &r), CCAI_ERR_VERIFY);
    assert_step_failed(&r, "ccel_replay", "firmware event log:");
    tdx_verify_result_free(&r);
    free(log);
}

static void test_runtime_replay(void **state)
{
    sim_fx *fx = *state;
    char *dir = tu_tmpdir();
    tee_provider *p = open_sim(dir, false);
    ccai_err err = {0};
    json_t *d1 = json_pack("{s:s}", "sha256", "00112233");
    json_t *d2 = json_pack("{s:i}", "threads", 4);
    assert_int_equal(tee_measure(p, "ccai.binary", d1, NULL, &err), CCAI_OK);
    assert_int_equal(tee_measure(p, "ccai.config", d2, NULL, &err), CCAI_OK);
    json_decref(d1);
    json_decref(d2);
    uint8_t *buf = NULL;
    size_t len = 0;
    sim_quote(p, &buf, &len);
    tdx_quote q;
    parse_quote(buf, len, &q);
    tee_eventlog log = {0};
    assert_int_equal(tee_eventlog_read(p, &log, &err), CCAI_OK);
    assert_int_equal(log.count, 2);
    tdx_collateral c;
    sim_collateral(dir, fx->at - 60, &c);
    tdx_collateral_ctx *cc = prepare(&c);

    tdx_verify_opts o = {.at = fx->at, .trust_simulated = true, .runtime_log = &log};
    tdx_verify_result r;
    assert_int_equal(tdx_verify(&q, cc, &o, &r), CCAI_OK);
    assert_true(r.runtime_replayed);
    tdx_verify_result_free(&r);

    /* Another event, correctly hashed: the replay misses RTMR3. */
    tee_event other = {0};
    json_t *d3 = json_pack("{s:i}", "threads", 8);
    assert_int_equal(tee_event_make("ccai.config", d3, &other, &err), CCAI_OK);
    json_decref(d3);
    tee_event saved = log.ev[1];
    log.ev[1] = other;
    assert_int_equal(tdx_verify(&q, cc, &o, &r), CCAI_ERR_VERIFY);
    assert_step_failed(&r, "runtime_replay", "RTMR3: the runtime event log (2 events) replays to");
    assert_false(r.runtime_replayed);
    tdx_verify_result_free(&r);
    /* The event text changed under its digest. */
    log.ev[1] = saved;
    char *orig = log.ev[1].event;
    log.ev[1].event = ccai_xstrdup(orig);
    log.ev[1].event[strlen(orig) - 3] ^= 0x01;
    assert_int_equal(tdx_verify(&q, cc, &o, &r), CCAI_ERR_VERIFY);
    assert_step_failed(&r, "runtime_replay", "runtime event log:");
    tdx_verify_result_free(&r);
    free(log.ev[1].event);
    log.ev[1].event = orig;

    tee_event_free(&other);
    tee_eventlog_free(&log);
    tdx_collateral_ctx_free(cc);
    tdx_collateral_free(&c);
    tdx_quote_free(&q);
    free(buf);
    tee_provider_close(p);
    tu_rm_rf(dir);
    free(dir);
}

/* ---- fuzz seeds ------------------------------------------------------------------------------ */

/* Simulated evidence "as of" a past time verifies at that time; with
 * CCAI_WRITE_VERIFY_SEEDS=<dir> it is also written there as fuzz_verify's
 * seed: u32le quote length, the quote, the collateral bundle's JSON text
 * (issued at 2025-07-01T00:00:00Z; fuzz_verify verifies one minute later). */
static void test_fuzz_seed(void **state)
{
    sim_fx *fx = *state;
    const time_t issued = AT_REAL;
    tee_config cfg = {.state_dir = fx->dir};
    json_t *bundle = NULL;
    ccai_err err = {0};
    assert_int_equal(tee_sim_collateral(&cfg, issued, &bundle, &err), CCAI_OK);
    char *text = json_dumps(bundle, JSON_COMPACT);
    tdx_collateral c;
    assert_int_equal(tdx_collateral_from_json(bundle, &c, &err), CCAI_OK);
    json_decref(bundle);
    tdx_collateral_ctx *cc = prepare(&c);
    tdx_verify_result r;
    assert_int_equal(verify_at(&fx->q, cc, issued + 60, true, &r), CCAI_OK);
    tdx_verify_result_free(&r);
    tdx_collateral_ctx_free(cc);
    tdx_collateral_free(&c);

    const char *dir = getenv("CCAI_WRITE_VERIFY_SEEDS");
    if (dir && *dir) {
        ccai_buf b = {0};
        ccai_buf_u32le(&b, (uint32_t)fx->len);
        ccai_buf_append(&b, fx->buf, fx->len);
        ccai_buf_append_str(&b, text);
        char *path = ccai_xasprintf("%s/sim-quote-collateral", dir);
        tu_write(path, b.data, b.len);
        free(path);
        ccai_buf_free(&b);
    }
    free(text);
}

/* ---- arguments and prepare errors ----------------------------------------------------------- */

static void test_prepare_errors(void **state)
{
    sim_fx *fx = *state;
    tdx_collateral c = fx->c;
    tdx_collateral_ctx *cc = NULL;
    ccai_err err = {0};
    uint8_t junk[4] = {1, 2, 3, 4};
    c.pck_crl = junk;
    c.pck_crl_len = sizeof junk;
    assert_int_equal(tdx_collateral_prepare(&c, &cc, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "pck_crl"));
    assert_null(cc);
    c = fx->c;
    c.tcb_info_issuer_chain = (char *)"no pem here";
    assert_int_equal(tdx_collateral_prepare(&c, &cc, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "tcb_info_issuer_chain"));
    c = fx->c;
    char broken[] = "{\"id\":\"TDX\"";
    c.tcb_info = broken;
    c.tcb_info_len = strlen(broken);
    assert_int_equal(tdx_collateral_prepare(&c, &cc, &err) != CCAI_OK, 1);
    assert_non_null(strstr(err.msg, "tcb_info"));

    tdx_verify_result r;
    tdx_verify_opts o = {.at = fx->at};
    assert_int_equal(tdx_verify(&fx->q, NULL, &o, &r), CCAI_ERR_ARG);
    assert_false(r.verified);
    tdx_verify_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest real[] = {
        cmocka_unit_test(test_real_uptodate),
        cmocka_unit_test(test_real_expired_collateral),
        cmocka_unit_test(test_real_expired_pck),
    };
    const struct CMUnitTest sim[] = {
        cmocka_unit_test(test_sim_trusted),
        cmocka_unit_test(test_sim_untrusted),
        cmocka_unit_test(test_sim_expired_and_warm_cache),
        cmocka_unit_test(test_sim_collateral_for_real_quote),
        cmocka_unit_test(test_tamper_signed_region),
        cmocka_unit_test(test_tamper_signature_data),
        cmocka_unit_test(test_tamper_attest_key_struct),
        cmocka_unit_test(test_tamper_pck_pem),
        cmocka_unit_test(test_pck_chain_roles),
        cmocka_unit_test(test_tamper_tcb_info),
        cmocka_unit_test(test_collateral_signer_role),
        cmocka_unit_test(test_crl_revokes_pck),
        cmocka_unit_test(test_root_crl_revokes_ca),
        cmocka_unit_test(test_debug_td_verifies),
        cmocka_unit_test(test_ccel_replay),
        cmocka_unit_test(test_runtime_replay),
        cmocka_unit_test(test_prepare_errors),
        cmocka_unit_test(test_fuzz_seed),
    };
    int failed = cmocka_run_group_tests_name("verify (real quote)", real, NULL, NULL);
    failed += cmocka_run_group_tests_name("verify (simulated TD)", sim, sim_setup, sim_teardown);
    return failed;
}
