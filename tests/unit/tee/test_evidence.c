/* Tests for evidence parsing (src/tee/evidence.c): both request forms and
 * the wrapper decode to the exact bytes they carry, and each malformed
 * member is refused with its exact message. Evidence here is synthetic (the
 * parse stage never looks inside the quote). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/json.h"
#include "base/mem.h"
#include "tee/evidence.h"

/* base64url of bytes 0..31 */
#define NONCE "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define SPKI "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"

/* A ccai-attest/1 object with a 4-byte quote "QUOTE" = base64 of "\x01\x02\x03\x04". */
static json_t *ccai_obj(void)
{
    json_t *ev = json_array();
    tee_event e;
    json_t *d = json_pack("{s:s}", "sha256", "00");
    assert_int_equal(tee_event_make("ccai.binary", d, &e, NULL), CCAI_OK);
    tee_eventlog log = {0};
    tee_eventlog_add(&log, &e);
    json_decref(ev);
    ev = tee_eventlog_to_json(&log);
    tee_eventlog_free(&log);
    tee_event_free(&e);
    json_decref(d);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:{s:s}, s:n}", "version",
                     "ccai-attest/1", "tee", "tdx-sim", "nonce", NONCE, "quote", "AQIDBA==",
                     "event_log", ev, "tls_spki_sha256", SPKI, "cc_eventlog", "BQY=",
                     "collateral", "version", "x", "e2e_key");
}

static ccai_code parse_obj(json_t *o, tee_evidence *ev, ccai_err *err)
{
    char *s = json_dumps(o, JSON_COMPACT);
    ccai_code rc = tee_evidence_parse(s, strlen(s), ev, err);
    free(s);
    json_decref(o);
    return rc;
}

static void expect_error(json_t *o, ccai_code code, const char *msg)
{
    tee_evidence ev;
    ccai_err err = {0};
    assert_int_equal(parse_obj(o, &ev, &err), code);
    assert_string_equal(err.msg, msg);
    tee_evidence_free(&ev);
}

static void test_ccai_ok(void **state)
{
    (void)state;
    tee_evidence ev;
    ccai_err err = {0};
    assert_int_equal(parse_obj(ccai_obj(), &ev, &err), CCAI_OK);
    assert_int_equal(ev.form, TEE_EVIDENCE_CCAI);
    assert_string_equal(ev.tee, "tdx-sim");
    assert_int_equal(ev.quote_len, 4);
    assert_memory_equal(ev.quote, "\x01\x02\x03\x04", 4);
    assert_true(ev.has_nonce);
    for (int i = 0; i < 32; i++)
        assert_int_equal(ev.nonce[i], i);
    assert_string_equal(ev.nonce_text, NONCE);
    assert_true(ev.has_spki);
    assert_int_equal(ev.spki_sha256[0], 0xa1);
    assert_true(ev.has_log);
    assert_int_equal(ev.log.count, 1);
    assert_int_equal(ev.ccel_len, 2);
    assert_memory_equal(ev.ccel, "\x05\x06", 2);
    assert_string_equal(json_string_value(json_object_get(ev.collateral, "version")), "x");
    assert_int_equal(ev.n_policy_ids, 0);
    assert_false(ev.strict);
    tee_evidence_free(&ev);
}

static void test_wrapper(void **state)
{
    (void)state;
    tee_evidence ev;
    json_t *w = json_pack("{s:o, s:[s], s:b}", "evidence", ccai_obj(), "policy_ids", "prod",
                          "strict", 1);
    assert_int_equal(parse_obj(w, &ev, NULL), CCAI_OK);
    assert_int_equal(ev.n_policy_ids, 1);
    assert_string_equal(ev.policy_ids[0], "prod");
    assert_true(ev.strict);
    tee_evidence_free(&ev);
}

/* A bare ccai-attest/1 object naming a policy gets that policy, never
 * "default" in its place; a bad list is refused as in the wrapper. */
static void test_bare_policy_ids(void **state)
{
    (void)state;
    tee_evidence ev;
    json_t *o = ccai_obj();
    json_object_set_new(o, "policy_ids", json_pack("[s]", "prod"));
    assert_int_equal(parse_obj(o, &ev, NULL), CCAI_OK);
    assert_int_equal(ev.form, TEE_EVIDENCE_CCAI);
    assert_int_equal(ev.n_policy_ids, 1);
    assert_string_equal(ev.policy_ids[0], "prod");
    tee_evidence_free(&ev);
    o = ccai_obj();
    json_object_set_new(o, "policy_ids", json_string("prod"));
    expect_error(o, CCAI_ERR_PARSE, "policy_ids: expected an array of strings, found a string");
}

static void test_ccai_optional_members(void **state)
{
    (void)state;
    json_t *o = ccai_obj();
    json_object_set_new(o, "event_log", json_null());
    json_object_set_new(o, "tls_spki_sha256", json_null());
    json_object_del(o, "cc_eventlog");
    json_object_del(o, "collateral");
    tee_evidence ev;
    assert_int_equal(parse_obj(o, &ev, NULL), CCAI_OK);
    assert_false(ev.has_log);
    assert_false(ev.has_spki);
    assert_null(ev.ccel);
    assert_null(ev.collateral);
    tee_evidence_free(&ev);
}

static json_t *with(const char *key, json_t *v)
{
    json_t *o = ccai_obj();
    if (v)
        json_object_set_new(o, key, v);
    else
        json_object_del(o, key);
    return o;
}

static void test_ccai_errors(void **state)
{
    (void)state;
    expect_error(with("version", json_string("ccai-attest/2")), CCAI_ERR_UNSUPPORTED,
                 "version: expected \"ccai-attest/1\", found \"ccai-attest/2\"");
    expect_error(with("version", NULL), CCAI_ERR_UNSUPPORTED,
                 "version: expected \"ccai-attest/1\", found nothing");
    expect_error(with("tee", json_integer(1)), CCAI_ERR_PARSE,
                 "tee: expected a string, found an integer");
    expect_error(with("nonce", NULL), CCAI_ERR_PARSE,
                 "nonce: expected a base64 string, found nothing");
    expect_error(with("nonce", json_string("AAEC")), CCAI_ERR_PARSE,
                 "nonce: expected 32 bytes, found 3");
    expect_error(with("quote", json_string("")), CCAI_ERR_PARSE,
                 "quote: expected base64 data, found an empty string");
    expect_error(with("tls_spki_sha256", json_string("abcd")), CCAI_ERR_PARSE,
                 "tls_spki_sha256: expected null or 64 hex digits, found a string of another "
                 "length");
    expect_error(with("event_log", json_string("x")), CCAI_ERR_UNSUPPORTED,
                 "event_log: expected null or a ccai event log (JSON array), found a string");
    expect_error(with("collateral", json_string("x")), CCAI_ERR_PARSE,
                 "collateral: expected null or an object, found a string");
    expect_error(with("e2e_key", json_string("k")), CCAI_ERR_UNSUPPORTED,
                 "e2e_key: expected null (end-to-end keys are not supported yet)");
    /* a digest that is not SHA-384 of its event text */
    json_t *bad = json_pack("[{s:i, s:s, s:s}]", "mr", 3, "digest",
                            "000000000000000000000000000000000000000000000000000000000000000000"
                            "000000000000000000000000000000", "event", "{}");
    tee_evidence ev;
    ccai_err err = {0};
    assert_int_equal(parse_obj(with("event_log", bad), &ev, &err), CCAI_ERR_VERIFY);
    assert_non_null(strstr(err.msg, "event_log: event log entry 0"));
    tee_evidence_free(&ev);
}

static void test_bounds(void **state)
{
    (void)state;
    /* a quote just over the limit is refused before decoding */
    size_t n = (TEE_EVIDENCE_MAX_QUOTE + 2) / 3 * 4 + 4;
    char *big = ccai_xmalloc(n + 1);
    memset(big, 'A', n);
    big[n] = '\0';
    char want[160];
    snprintf(want, sizeof want, "quote: at most %d bytes allowed, found %zu base64 characters",
             TEE_EVIDENCE_MAX_QUOTE, n);
    expect_error(with("quote", json_string(big)), CCAI_ERR_PARSE, want);
    free(big);
    json_t *ids = json_array();
    for (int i = 0; i < TEE_EVIDENCE_MAX_POLICY_IDS + 1; i++)
        json_array_append_new(ids, json_string("p"));
    expect_error(json_pack("{s:o, s:o}", "evidence", ccai_obj(), "policy_ids", ids),
                 CCAI_ERR_PARSE, "policy_ids: at most 8 allowed, found 9");
    expect_error(json_pack("{s:o, s:[i]}", "evidence", ccai_obj(), "policy_ids", 5),
                 CCAI_ERR_PARSE, "policy_ids[0]: expected a string of 1 to 128 characters, "
                 "found an integer");
    expect_error(json_pack("{s:o, s:s}", "evidence", ccai_obj(), "strict", "yes"),
                 CCAI_ERR_PARSE, "strict: expected true or false, found a string");
}

static void test_not_json(void **state)
{
    (void)state;
    tee_evidence ev;
    ccai_err err = {0};
    assert_int_equal(tee_evidence_parse("[1]", 3, &ev, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "expected a JSON object (ccai-attest/1 evidence or an "
                        "attestation request), found an array");
    tee_evidence_free(&ev);
    assert_int_equal(tee_evidence_parse("{\"a\":", 5, &ev, &err), CCAI_ERR_PARSE);
    tee_evidence_free(&ev);
    expect_error(json_pack("{s:i}", "evidence", 3), CCAI_ERR_PARSE,
                 "evidence: expected a ccai-attest/1 object or a base64url string, found an "
                 "integer");
}

/* ---- Trustee ---------------------------------------------------------------------- */

static json_t *trustee(const char *inner, const char *raw)
{
    char *e = ccai_b64_encode((const uint8_t *)inner, strlen(inner), CCAI_B64_URL);
    json_t *o = json_pack("{s:s, s:s, s:[]}", "tee", "tdx", "evidence", e, "policy_ids");
    free(e);
    if (raw)
        json_object_set_new(o, "runtime_data", json_pack("{s:s}", "raw", raw));
    return o;
}

static void test_trustee_ok(void **state)
{
    (void)state;
    tee_evidence ev;
    ccai_err err = {0};
    json_t *o = trustee("{\"quote\":\"AQIDBA==\",\"cc_eventlog\":null,\"aa_eventlog\":null}",
                        "aGVsbG8=");
    assert_int_equal(parse_obj(o, &ev, &err), CCAI_OK);
    assert_int_equal(ev.form, TEE_EVIDENCE_TRUSTEE);
    assert_string_equal(ev.tee, "tdx");
    assert_int_equal(ev.quote_len, 4);
    assert_false(ev.has_log);
    assert_false(ev.has_nonce);
    assert_true(ev.has_runtime_data);
    assert_int_equal(ev.runtime_data_len, 5);
    assert_memory_equal(ev.runtime_data, "hello", 5);
    assert_string_equal(ev.runtime_data_text, "aGVsbG8=");
    tee_evidence_free(&ev);
    /* URL-safe quote alphabet and no runtime data */
    o = trustee("{\"quote\":\"-_-_\"}", NULL);
    assert_int_equal(parse_obj(o, &ev, &err), CCAI_OK);
    assert_int_equal(ev.quote_len, 3);
    assert_false(ev.has_runtime_data);
    tee_evidence_free(&ev);
}

static void test_trustee_errors(void **state)
{
    (void)state;
    json_t *o = trustee("{\"quote\":\"AQIDBA==\"}", NULL);
    json_object_set_new(o, "tee", json_string("sgx"));
    expect_error(o, CCAI_ERR_UNSUPPORTED, "tee: expected \"tdx\", found \"sgx\"");
    expect_error(trustee("[1]", NULL), CCAI_ERR_PARSE,
                 "evidence (decoded): expected a JSON object {quote, cc_eventlog, aa_eventlog}, "
                 "found an array");
    expect_error(trustee("{\"cc_eventlog\":null}", NULL), CCAI_ERR_PARSE,
                 "evidence: quote: expected a base64 string, found nothing");
    expect_error(trustee("{\"quote\":\"AQ\",\"aa_eventlog\":\"INIT sha384/00\"}", NULL),
                 CCAI_ERR_UNSUPPORTED, "evidence: aa_eventlog: expected null or a ccai event log "
                 "(JSON array), found a string");
    expect_error(trustee("{\"quote\":\"AQ\"}", "***"), CCAI_ERR_PARSE,
                 "runtime_data: raw: base64: invalid character 0x2a at position 0");
    o = trustee("{\"quote\":\"AQ\"}", NULL);
    json_object_set_new(o, "runtime_data", json_pack("{s:{}}", "structured"));
    expect_error(o, CCAI_ERR_UNSUPPORTED, "runtime_data: expected a \"raw\" member (structured "
                 "runtime data is not supported)");
    o = trustee("{\"quote\":\"AQ\"}", NULL);
    json_object_set_new(o, "evidence", json_string("!!"));
    tee_evidence ev;
    ccai_err err = {0};
    assert_int_equal(parse_obj(o, &ev, &err), CCAI_ERR_PARSE);
    assert_memory_equal(err.msg, "evidence: ", 10);
    tee_evidence_free(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ccai_ok),          cmocka_unit_test(test_wrapper),
        cmocka_unit_test(test_bare_policy_ids),
        cmocka_unit_test(test_ccai_optional_members), cmocka_unit_test(test_ccai_errors),
        cmocka_unit_test(test_bounds),           cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_trustee_ok),       cmocka_unit_test(test_trustee_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
