/* Tests for policy parsing and appraisal (src/tee/policy.c, appraise.c).
 *
 * Evidence is built by hand: a TD report body with recognisable register
 * values (mr_td = 11.., rtmr0..2 = 20.., 21.., 22.., mr_seam = 33..,
 * mr_config_id = 44.., mr_owner = 55.., report_data = 66..), a verify result
 * (verified real TDX, UpToDate, collateral issued 2025-06-19T10:32:27Z,
 * runtime log replayed) and a runtime log of ccai.binary (b1..),
 * ccai.config ({"ctx":4096,"model":"tiny"}) and ccai.model (a1..) events.
 * Each test changes one thing and asserts the exact list of checks and
 * the exact reasons of the failed ones. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/appraise.h"

#define AGE_30D 2592000

typedef struct fx {
    tdx_quote q;
    tdx_verify_result v;
    tee_eventlog log;
    uint8_t rd[64];
    tdx_appraise_input in;
    /* hex of the evidence's values, for policies and expected messages */
    char mr_td[97], rtmr[3][97], mr_seam[97], mr_config_id[97], mr_owner[97];
    char bin[65], model[65], model2[65], rd_hex[129];
} fx;

static void add_event(tee_eventlog *log, const char *type, const char *data)
{
    json_t *j = NULL;
    tee_event ev;
    ccai_err err = {0};
    assert_int_equal(ccai_json_parse(data, strlen(data), &j, &err), CCAI_OK);
    assert_int_equal(tee_event_make(type, j, &ev, &err), CCAI_OK);
    tee_eventlog_add(log, &ev);
    tee_event_free(&ev);
    json_decref(j);
}

static void hexfill(uint8_t *p, uint8_t b, size_t n, char *hex)
{
    memset(p, b, n);
    ccai_hex_encode(p, n, hex);
}

static int setup(void **state)
{
    fx *f = ccai_xcalloc(1, sizeof *f);
    tdx_td_body *b = &f->q.body;
    hexfill(b->mr_td, 0x11, 48, f->mr_td);
    for (int i = 0; i < 3; i++)
        hexfill(b->rtmr[i], (uint8_t)(0x20 + i), 48, f->rtmr[i]);
    memset(b->rtmr[3], 0x23, 48);
    hexfill(b->mr_seam, 0x33, 48, f->mr_seam);
    hexfill(b->mr_config_id, 0x44, 48, f->mr_config_id);
    hexfill(b->mr_owner, 0x55, 48, f->mr_owner);
    hexfill(b->report_data, 0x66, 64, f->rd_hex);
    memcpy(f->rd, b->report_data, 64);
    b->xfam = 0x602e7;
    b->td_attributes = TDX_TD_ATTR_SEPT_VE_DISABLE;
    f->q.header.version = 4;
    f->q.body_type = TDX_BODY_TYPE_TDX10;

    uint8_t d[32];
    hexfill(d, 0xb1, 32, f->bin);
    hexfill(d, 0xa1, 32, f->model);
    hexfill(d, 0xa2, 32, f->model2);

    f->v.verified = true;
    f->v.tee = "tdx";
    f->v.tcb.combined = TDX_TCB_UP_TO_DATE;
    assert_int_equal(ccai_time_parse("2025-06-19T10:32:27Z", &f->v.collateral_issued, NULL),
                     CCAI_OK);
    f->v.runtime_replayed = true;

    char *data = ccai_xasprintf("{\"sha256\":\"%s\"}", f->bin);
    add_event(&f->log, "ccai.binary", data);
    free(data);
    add_event(&f->log, "ccai.config", "{\"ctx\":4096,\"model\":\"tiny\"}");
    data = ccai_xasprintf("{\"name\":\"tiny\",\"sha256\":\"%s\"}", f->model);
    add_event(&f->log, "ccai.model", data);
    free(data);

    f->in.quote = &f->q;
    f->in.verify = &f->v;
    f->in.runtime_log = &f->log;
    f->in.at = f->v.collateral_issued + 1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tee_eventlog_free(&f->log);
    free(f);
    return 0;
}

/* A policy naming every reference value the evidence above meets. */
static char *full_policy_text(const fx *f)
{
    return ccai_xasprintf(
        "{\"id\": \"prod-r1\",\n"
        " \"tcb_statuses\": [\"UpToDate\"],\n"
        " \"allow_debug\": false, \"allow_simulated\": false,\n"
        " \"mr_td\": [\"%s\"],\n"
        " \"rtmr0\": [\"%s\"], \"rtmr1\": [\"%s\"], \"rtmr2\": [\"%s\"],\n"
        " \"mr_seam\": [\"%s\"], \"mr_config_id\": [\"%s\"], \"mr_owner\": [\"%s\"],\n"
        " \"xfam\": [\"00000000000602E7\"],\n"
        " \"td_attributes\": {\"value\": \"0000000010000000\", \"mask\": \"00000000f0000001\"},\n"
        " \"binary_sha256\": [\"%s\"],\n"
        " \"model_sha256\": [\"%s\", \"%s\"],\n"
        " \"config\": {\"model\": \"tiny\", \"ctx\": 4096},\n"
        " \"report_data\": \"%s\",\n"
        " \"max_collateral_age_s\": 2592000,\n"
        " \"require_runtime_log\": true}\n",
        f->mr_td, f->rtmr[0], f->rtmr[1], f->rtmr[2], f->mr_seam, f->mr_config_id, f->mr_owner,
        f->bin, f->model, f->model2, f->rd_hex);
}

static tdx_policy *parse_ok(const char *text)
{
    tdx_policy *p = NULL;
    ccai_err err = {0};
    ccai_code rc = tdx_policy_parse(text, strlen(text), "hint", &p, &err);
    if (rc)
        fail_msg("policy did not parse: %s", err.msg);
    return p;
}

static tdx_policy *full_policy(const fx *f)
{
    char *t = full_policy_text(f);
    tdx_policy *p = parse_ok(t);
    free(t);
    return p;
}

static void appraise(fx *f, const tdx_policy *p, tdx_appraisal *a)
{
    ccai_err err = {0};
    assert_int_equal(tdx_appraise(p, &f->in, a, &err), CCAI_OK);
}

/* "name,name,..." of every check, in order. */
static char *names_of(const tdx_appraisal *a)
{
    ccai_buf b = {0};
    for (size_t i = 0; i < a->n_checks; i++) {
        if (i)
            ccai_buf_append_str(&b, ",");
        ccai_buf_append_str(&b, a->checks[i].name);
    }
    ccai_buf_u8(&b, 0);
    return (char *)ccai_buf_steal(&b, NULL);
}

/* The reasons of the failed checks, one per line ("" when all passed), and
 * checks that pass/reason agree. */
static char *failures_of(const tdx_appraisal *a)
{
    ccai_buf b = {0};
    bool all_ok = true;
    for (size_t i = 0; i < a->n_checks; i++) {
        const tdx_check *c = &a->checks[i];
        assert_non_null(c->expected);
        assert_non_null(c->actual);
        if (c->ok) {
            assert_null(c->reason);
            continue;
        }
        all_ok = false;
        if (b.len)
            ccai_buf_append_str(&b, "\n");
        ccai_buf_append_str(&b, c->reason);
    }
    assert_int_equal(a->pass, all_ok);
    ccai_buf_u8(&b, 0);
    return (char *)ccai_buf_steal(&b, NULL);
}

static void expect(fx *f, const tdx_policy *p, const char *names, const char *failures)
{
    tdx_appraisal a;
    appraise(f, p, &a);
    char *n = names_of(&a), *r = failures_of(&a);
    assert_string_equal(n, names);
    assert_string_equal(r, failures);
    free(n);
    free(r);
    tdx_appraisal_free(&a);
}

#define DEFAULT_CHECKS "verified,simulated,tcb_status,debug"
/* The checks of the full policy; _RD when the caller also expects report data. */
#define FULL_CHECKS_HEAD                                                                         \
    "verified,simulated,tcb_status,debug,td_attributes,xfam,mr_td,rtmr0,rtmr1,rtmr2,mr_seam,"    \
    "mr_config_id,mr_owner,runtime_log,binary_sha256,model_sha256,config.ctx,config.model,"
#define FULL_CHECKS FULL_CHECKS_HEAD "report_data.policy,collateral_age"
#define FULL_CHECKS_RD FULL_CHECKS_HEAD "report_data,report_data.policy,collateral_age"

/* ---- the default policy ---------------------------------------------------- */

static void test_default_passes_real_tdx(void **state)
{
    fx *f = *state;
    tdx_policy *p = tdx_policy_default();
    assert_string_equal(tdx_policy_id(p), "default");
    const char *canon = "{\"allow_debug\":false,\"allow_simulated\":false,\"id\":\"default\","
                        "\"tcb_statuses\":[\"UpToDate\",\"SWHardeningNeeded\"]}";
    uint8_t want[32], got[32];
    ccai_sha256(canon, strlen(canon), want);
    tdx_policy_hash(p, got);
    assert_memory_equal(got, want, 32);

    expect(f, p, DEFAULT_CHECKS, "");
    tdx_appraisal a;
    appraise(f, p, &a);
    assert_true(a.pass);
    assert_string_equal(a.policy_id, "default");
    assert_memory_equal(a.policy_sha256, want, 32);
    assert_string_equal(a.checks[2].expected, "one of [UpToDate, SWHardeningNeeded]");
    assert_string_equal(a.checks[2].actual, "UpToDate");
    assert_int_equal(a.n_checks, 4);
    tdx_appraisal_free(&a);
    /* it names no reference values, so it does not demand a runtime log */
    f->in.runtime_log = NULL;
    f->v.runtime_replayed = false;
    expect(f, p, DEFAULT_CHECKS, "");
    f->in.runtime_log = &f->log;
    f->v.runtime_replayed = true;

    f->v.tcb.combined = TDX_TCB_SW_HARDENING_NEEDED;
    expect(f, p, DEFAULT_CHECKS, "");
    tdx_policy_free(p);
}

static void test_default_fails_closed(void **state)
{
    fx *f = *state;
    tdx_policy *p = tdx_policy_default();

    f->v.tee = "tdx-sim";
    expect(f, p, DEFAULT_CHECKS, "simulated: expected tdx, found tdx-sim");
    assert_false(tdx_policy_allows_simulated(p));
    /* the caller's --trust-simulated accepts it; the actual still says tdx-sim */
    f->in.trust_simulated = true;
    tdx_appraisal a;
    appraise(f, p, &a);
    assert_true(a.pass);
    assert_string_equal(a.checks[1].expected, "tdx or tdx-sim (trusted by the caller)");
    assert_string_equal(a.checks[1].actual, "tdx-sim");
    tdx_appraisal_free(&a);
    f->in.trust_simulated = false;
    f->v.tee = NULL;
    expect(f, p, DEFAULT_CHECKS, "simulated: expected tdx, found no trusted root");
    f->v.tee = "tdx";

    f->q.body.td_attributes |= TDX_TD_ATTR_DEBUG;
    expect(f, p, DEFAULT_CHECKS, "debug: expected DEBUG clear, found DEBUG set");
    f->q.body.td_attributes &= ~TDX_TD_ATTR_DEBUG;

    f->v.tcb.combined = TDX_TCB_OUT_OF_DATE;
    expect(f, p, DEFAULT_CHECKS,
           "tcb_status: expected one of [UpToDate, SWHardeningNeeded], found OutOfDate");
    f->v.tcb.combined = TDX_TCB_UNKNOWN;
    expect(f, p, DEFAULT_CHECKS,
           "tcb_status: expected one of [UpToDate, SWHardeningNeeded], found Unknown");
    f->v.tcb.combined = TDX_TCB_UP_TO_DATE;

    f->v.verified = false;
    ccai_fail(&f->v.failure, CCAI_ERR_VERIFY,
              "quote_signature: ECDSA signature over 632 bytes does not verify");
    expect(f, p, DEFAULT_CHECKS,
           "verified: expected verified evidence, found quote_signature: ECDSA signature over "
           "632 bytes does not verify");
    f->v.failure.msg[0] = '\0';
    expect(f, p, DEFAULT_CHECKS,
           "verified: expected verified evidence, found evidence that did not verify");
    f->v.verified = true;

    tdx_policy_free(p);

    /* a policy that asks for the log fails closed without one */
    p = parse_ok("{\"id\": \"log\", \"require_runtime_log\": true}");
    f->in.runtime_log = NULL;
    f->v.runtime_replayed = false;
    expect(f, p, DEFAULT_CHECKS ",runtime_log",
           "runtime_log: expected a runtime log that replays to RTMR3, found no runtime log");
    f->in.runtime_log = &f->log;
    expect(f, p, DEFAULT_CHECKS ",runtime_log",
           "runtime_log: expected a runtime log that replays to RTMR3, found a runtime log "
           "that was not replayed to RTMR3");
    tdx_policy_free(p);
}

static void test_allow_flags(void **state)
{
    fx *f = *state;
    tdx_policy *p = parse_ok("{\"allow_simulated\": true, \"allow_debug\": true}");
    assert_string_equal(tdx_policy_id(p), "hint");
    assert_true(tdx_policy_allows_simulated(p));
    f->v.tee = "tdx-sim";
    f->q.body.td_attributes |= TDX_TD_ATTR_DEBUG;
    f->v.tcb.combined = TDX_TCB_SW_HARDENING_NEEDED;   /* the default list applies */
    tdx_appraisal a;
    appraise(f, p, &a);
    char *n = names_of(&a), *r = failures_of(&a);
    assert_string_equal(n, "verified,simulated,tcb_status,debug");
    assert_string_equal(r, "");
    assert_string_equal(a.checks[1].expected, "tdx or tdx-sim");
    assert_string_equal(a.checks[3].expected, "DEBUG set or clear");
    assert_string_equal(a.checks[3].actual, "DEBUG set");
    free(n);
    free(r);
    tdx_appraisal_free(&a);
    tdx_policy_free(p);
}

/* ---- a full policy ---------------------------------------------------------- */

static void test_full_policy_passes(void **state)
{
    fx *f = *state;
    tdx_policy *p = full_policy(f);
    assert_string_equal(tdx_policy_id(p), "prod-r1");
    expect(f, p, FULL_CHECKS, "");
    f->in.report_data = f->rd;
    expect(f, p, FULL_CHECKS_RD, "");
    /* bits outside the mask do not matter */
    f->q.body.td_attributes |= TDX_TD_ATTR_PERFMON;
    expect(f, p, FULL_CHECKS_RD, "");
    tdx_appraisal a;
    appraise(f, p, &a);
    assert_string_equal(a.checks[4].expected, "0000000010000000 under mask 00000000f0000001");
    assert_string_equal(a.checks[4].actual, "8000000010000000 (masked 0000000010000000)");
    assert_string_equal(a.checks[5].actual, "00000000000602e7");
    assert_string_equal(a.checks[14].actual, f->bin);
    assert_string_equal(a.checks[16].expected, "4096");
    assert_string_equal(a.checks[17].actual, "\"tiny\"");
    assert_string_equal(a.checks[20].actual, "1000 s (issued 2025-06-19T10:32:27Z)");
    tdx_appraisal_free(&a);
    tdx_policy_free(p);
}

static void test_each_register_mismatch(void **state)
{
    fx *f = *state;
    tdx_policy *p = full_policy(f);
    tdx_td_body *b = &f->q.body;
    struct {
        const char *name;
        uint8_t *reg;
        const char *hex;
    } regs[] = {
        {"mr_td", b->mr_td, f->mr_td},       {"rtmr0", b->rtmr[0], f->rtmr[0]},
        {"rtmr1", b->rtmr[1], f->rtmr[1]},   {"rtmr2", b->rtmr[2], f->rtmr[2]},
        {"mr_seam", b->mr_seam, f->mr_seam}, {"mr_config_id", b->mr_config_id, f->mr_config_id},
        {"mr_owner", b->mr_owner, f->mr_owner},
    };
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
        regs[i].reg[47] ^= 0xff;
        char found[97];
        ccai_hex_encode(regs[i].reg, 48, found);
        char *want = ccai_xasprintf("%s: expected one of [%s], found %s", regs[i].name,
                                    regs[i].hex, found);
        expect(f, p, FULL_CHECKS, want);
        free(want);
        regs[i].reg[47] ^= 0xff;
    }
    expect(f, p, FULL_CHECKS, "");

    b->xfam = 0x2e7;
    expect(f, p, FULL_CHECKS, "xfam: expected one of [00000000000602e7], found 00000000000002e7");
    b->xfam = 0x602e7;

    b->td_attributes = TDX_TD_ATTR_PKS;
    expect(f, p, FULL_CHECKS,
           "td_attributes: expected 0000000010000000 under mask 00000000f0000001, found "
           "0000000040000000 (masked 0000000040000000)");
    b->td_attributes = TDX_TD_ATTR_SEPT_VE_DISABLE | TDX_TD_ATTR_DEBUG;
    expect(f, p, FULL_CHECKS,
           "debug: expected DEBUG clear, found DEBUG set\n"
           "td_attributes: expected 0000000010000000 under mask 00000000f0000001, found "
           "0000000010000001 (masked 0000000010000001)");
    tdx_policy_free(p);
}

/* ---- runtime events ---------------------------------------------------------- */

static void test_model_digests(void **state)
{
    fx *f = *state;
    tdx_policy *p = full_policy(f);
    char *exp_models = ccai_xasprintf("one of [%s, %s]", f->model, f->model2);

    /* a second model, allowed too */
    char *data = ccai_xasprintf("{\"name\":\"two\",\"sha256\":\"%s\"}", f->model2);
    add_event(&f->log, "ccai.model", data);
    free(data);
    expect(f, p, FULL_CHECKS, "");
    /* a third, not in the policy */
    add_event(&f->log, "ccai.model", "{\"name\":\"bad\",\"sha256\":\"" /* 64 x "c3" */
                                     "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"
                                     "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3\"}");
    char *want = ccai_xasprintf("model_sha256: expected %s, found "
                                "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3",
                                exp_models);
    expect(f, p, FULL_CHECKS, want);
    free(want);

    /* a model event without a usable digest */
    tee_eventlog_free(&f->log);
    memset(&f->log, 0, sizeof f->log);
    data = ccai_xasprintf("{\"sha256\":\"%s\"}", f->bin);
    add_event(&f->log, "ccai.binary", data);
    free(data);
    add_event(&f->log, "ccai.config", "{\"ctx\":4096,\"model\":\"tiny\"}");
    add_event(&f->log, "ccai.model", "{\"name\":\"x\",\"sha256\":\"a1\"}");
    want = ccai_xasprintf("model_sha256: expected %s, found a ccai.model event without a "
                          "64-hex-digit data.sha256 (runtime log entry 2)",
                          exp_models);
    expect(f, p, FULL_CHECKS, want);
    free(want);

    /* no model event at all */
    tee_eventlog_free(&f->log);
    memset(&f->log, 0, sizeof f->log);
    data = ccai_xasprintf("{\"sha256\":\"%s\"}", f->bin);
    add_event(&f->log, "ccai.binary", data);
    free(data);
    add_event(&f->log, "ccai.config", "{\"ctx\":4096,\"model\":\"tiny\"}");
    want = ccai_xasprintf("model_sha256: expected %s, found no ccai.model event in the runtime "
                          "log",
                          exp_models);
    expect(f, p, FULL_CHECKS, want);
    free(want);
    free(exp_models);
    tdx_policy_free(p);
}

static void test_binary_digest(void **state)
{
    fx *f = *state;
    char *text = ccai_xasprintf("{\"binary_sha256\": [\"%s\"]}", f->model);
    tdx_policy *p = parse_ok(text);
    free(text);
    /* only RTMR3 entries are read: this one is not even JSON */
    tee_event other = {.mr = 1, .event = (char *)(uintptr_t)"not json"};
    tee_eventlog_add(&f->log, &other);
    char *want = ccai_xasprintf("binary_sha256: expected one of [%s], found %s", f->model, f->bin);
    expect(f, p, "verified,simulated,tcb_status,debug,binary_sha256", want);
    free(want);

    tee_eventlog_free(&f->log);
    memset(&f->log, 0, sizeof f->log);
    add_event(&f->log, "ccai.config", "{}");
    want = ccai_xasprintf("binary_sha256: expected one of [%s], found no ccai.binary event in "
                          "the runtime log",
                          f->model);
    expect(f, p, "verified,simulated,tcb_status,debug,binary_sha256", want);
    free(want);

    /* without a replayed log no event counts */
    f->v.runtime_replayed = false;
    want = ccai_xasprintf("binary_sha256: expected one of [%s], found a runtime log that was "
                          "not replayed to RTMR3",
                          f->model);
    expect(f, p, "verified,simulated,tcb_status,debug,binary_sha256", want);
    free(want);
    f->in.runtime_log = NULL;
    want = ccai_xasprintf("binary_sha256: expected one of [%s], found no runtime log", f->model);
    expect(f, p, "verified,simulated,tcb_status,debug,binary_sha256", want);
    free(want);
    tdx_policy_free(p);
}

static void test_config_values(void **state)
{
    fx *f = *state;
    tdx_policy *p = full_policy(f);
    add_event(&f->log, "ccai.config", "{\"ctx\":2048,\"model\":\"tiny\"}");
    expect(f, p, FULL_CHECKS, "config.ctx: expected 4096, found 2048");
    /* the last ccai.config event counts */
    add_event(&f->log, "ccai.config", "{\"ctx\":4096}");
    expect(f, p, FULL_CHECKS,
           "config.model: expected \"tiny\", found no \"model\" in the last ccai.config event");
    add_event(&f->log, "ccai.config", "{\"ctx\":\"4096\",\"model\":\"tiny\"}");
    expect(f, p, FULL_CHECKS, "config.ctx: expected 4096, found \"4096\"");
    add_event(&f->log, "ccai.config", "{\"ctx\":4096,\"model\":\"tiny\",\"extra\":[1]}");
    expect(f, p, FULL_CHECKS, "");
    tdx_policy_free(p);

    p = parse_ok("{\"config\": {\"ctx\": 4096}}");
    tee_eventlog_free(&f->log);
    memset(&f->log, 0, sizeof f->log);
    expect(f, p, "verified,simulated,tcb_status,debug,config.ctx",
           "config.ctx: expected 4096, found no ccai.config event in the runtime log");
    tdx_policy_free(p);
}

static void test_unreadable_event_fails_event_checks(void **state)
{
    fx *f = *state;
    tdx_policy *p = full_policy(f);
    tee_event ev = {.mr = 3, .event = (char *)(uintptr_t)"{\"data\":{}}"};
    tee_eventlog_add(&f->log, &ev);
    char *why = ccai_xstrdup("unreadable runtime log entry 3 (expected an object with a string "
                             "\"type\" and an object \"data\")");
    char *want = ccai_xasprintf(
        "binary_sha256: expected one of [%s], found %s\n"
        "model_sha256: expected one of [%s, %s], found %s\n"
        "config.ctx: expected 4096, found %s\n"
        "config.model: expected \"tiny\", found %s",
        f->bin, why, f->model, f->model2, why, why, why);
    expect(f, p, FULL_CHECKS, want);
    free(want);
    free(why);
    tdx_policy_free(p);
}

/* ---- report data and collateral age ------------------------------------------- */

static void test_report_data(void **state)
{
    fx *f = *state;
    tdx_policy *p = full_policy(f);
    uint8_t other[64];
    char other_hex[129];
    hexfill(other, 0x67, 64, other_hex);
    f->in.report_data = other;
    char *want = ccai_xasprintf("report_data: expected %s, found %s", other_hex, f->rd_hex);
    expect(f, p, FULL_CHECKS_RD, want);
    free(want);

    f->in.report_data = NULL;
    f->q.body.report_data[0] = 0x67;
    char found[129];
    ccai_hex_encode(f->q.body.report_data, 64, found);
    want = ccai_xasprintf("report_data.policy: expected %s, found %s", f->rd_hex, found);
    expect(f, p, FULL_CHECKS, want);
    free(want);
    tdx_policy_free(p);
}

static void test_collateral_age(void **state)
{
    fx *f = *state;
    tdx_policy *p = parse_ok("{\"max_collateral_age_s\": 2592000}");
    f->in.at = f->v.collateral_issued + AGE_30D;
    expect(f, p, "verified,simulated,tcb_status,debug,collateral_age", "");
    f->in.at++;
    expect(f, p, "verified,simulated,tcb_status,debug,collateral_age",
           "collateral_age: expected at most 2592000 s, found 2592001 s (issued "
           "2025-06-19T10:32:27Z)");
    f->v.collateral_issued = 0;
    expect(f, p, "verified,simulated,tcb_status,debug,collateral_age",
           "collateral_age: expected at most 2592000 s, found no collateral issue time");
    tdx_policy_free(p);
}

/* ---- parsing ---------------------------------------------------------------- */

static void parse_fails(const char *text, const char *msg)
{
    tdx_policy *p = (tdx_policy *)(uintptr_t)1;
    ccai_err err = {0};
    assert_int_equal(tdx_policy_parse(text, strlen(text), "hint", &p, &err), CCAI_ERR_PARSE);
    assert_null(p);
    assert_string_equal(err.msg, msg);
}

#define H96 "111111111111111111111111111111111111111111111111" \
            "111111111111111111111111111111111111111111111111"

static void test_parse_errors(void **state)
{
    (void)state;
    parse_fails("{\"mr_tdd\": []}",
                "policy: unknown member \"mr_tdd\" (expected id, tcb_statuses, allow_debug, "
                "allow_simulated, mr_td, rtmr0, rtmr1, rtmr2, mr_seam, mr_config_id, mr_owner, "
                "xfam, td_attributes, binary_sha256, model_sha256, config, report_data, "
                "max_collateral_age_s, require_runtime_log)");
    parse_fails("{\"mr_td\": [\"" H96 "\", \"abcd\"]}",
                "policy: \"mr_td\"[1]: expected 96 hex digits, found 4");
    parse_fails("{\"rtmr2\": [\"" H96 "1\"]}",
                "policy: \"rtmr2\"[0]: expected 96 hex digits, found 97");
    parse_fails("{\"mr_owner\": [\"11111g" H96 "\"]}",
                "policy: \"mr_owner\"[0]: expected 96 hex digits, found 102");
    parse_fails("{\"mr_seam\": [\"1111g1111111111111111111111111111111111111111111"
                "111111111111111111111111111111111111111111111111\"]}",
                "policy: \"mr_seam\"[0]: expected hex digits, found 'g' at offset 4");
    parse_fails("{\"model_sha256\": [\"" H96 "\"]}",
                "policy: \"model_sha256\"[0]: expected 64 hex digits, found 96");
    parse_fails("{\"report_data\": \"abcd\"}",
                "policy: \"report_data\": expected 128 hex digits, found 4");
    parse_fails("{\"xfam\": [\"602e7\"]}", "policy: \"xfam\"[0]: expected 16 hex digits, found 5");
    parse_fails("{\"tcb_statuses\": [\"UpToDate\", \"Fine\"]}",
                "policy: \"tcb_statuses\"[1]: expected one of UpToDate, SWHardeningNeeded, "
                "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, "
                "OutOfDateConfigurationNeeded, Revoked, found \"Fine\"");
    parse_fails("{\"tcb_statuses\": [\"uptodate\"]}",
                "policy: \"tcb_statuses\"[0]: expected one of UpToDate, SWHardeningNeeded, "
                "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, "
                "OutOfDateConfigurationNeeded, Revoked, found \"uptodate\"");
    parse_fails("{\"tcb_statuses\": []}",
                "policy: \"tcb_statuses\": expected at least one value, found an empty array "
                "(leave the member out to accept any)");
    parse_fails("{\"tcb_statuses\": \"UpToDate\"}",
                "policy: \"tcb_statuses\": expected an array of TCB status names, found a string");
    parse_fails("{\"tcb_statuses\": [1]}",
                "policy: \"tcb_statuses\"[0]: expected a TCB status name, found an integer");
    parse_fails("{\"allow_debug\": \"no\"}",
                "policy: \"allow_debug\": expected true or false, found a string");
    parse_fails("{\"require_runtime_log\": 1}",
                "policy: \"require_runtime_log\": expected true or false, found an integer");
    parse_fails("{\"mr_td\": \"" H96 "\"}",
                "policy: \"mr_td\": expected an array of 96-hex-digit strings, found a string");
    parse_fails("{\"rtmr1\": [null]}",
                "policy: \"rtmr1\"[0]: expected a string of 96 hex digits, found null");
    parse_fails("{\"binary_sha256\": []}",
                "policy: \"binary_sha256\": expected at least one value, found an empty array "
                "(leave the member out to accept any)");
    parse_fails("{\"max_collateral_age_s\": \"30d\"}",
                "policy: \"max_collateral_age_s\": expected a non-negative integer (seconds), "
                "found a string");
    parse_fails("{\"max_collateral_age_s\": -1}",
                "policy: \"max_collateral_age_s\": expected a non-negative integer (seconds), "
                "found -1");
    parse_fails("{\"max_collateral_age_s\": 1.5}",
                "policy: \"max_collateral_age_s\": expected a non-negative integer (seconds), "
                "found a real number");
    parse_fails("{\"td_attributes\": \"0000000010000000\"}",
                "policy: \"td_attributes\": expected an object {\"value\", \"mask\"}, found a "
                "string");
    parse_fails("{\"td_attributes\": {\"value\": \"0000000010000000\"}}",
                "policy: \"td_attributes\": missing \"mask\"");
    parse_fails("{\"td_attributes\": {\"value\": \"0000000010000000\", \"mask\": "
                "\"00000000f0000001\", \"vaule\": \"00\"}}",
                "policy: \"td_attributes\": unknown member \"vaule\" (expected value, mask)");
    parse_fails("{\"td_attributes\": {\"value\": \"0000000010000000\", \"mask\": \"01\"}}",
                "policy: \"td_attributes\".mask: expected 16 hex digits, found 2");
    parse_fails("{\"td_attributes\": {\"value\": \"0000000000000003\", \"mask\": "
                "\"0000000000000001\"}}",
                "policy: \"td_attributes\": expected a value inside the mask 0000000000000001, "
                "found 0000000000000003 (it could never match)");
    parse_fails("{\"config\": [\"ctx\"]}",
                "policy: \"config\": expected an object, found an array");
    parse_fails("{\"config\": {\"temperature\": 0.5}}",
                "policy: \"config\".\"temperature\": expected a string, integer, boolean, null, "
                "array or object, found a real number");
    parse_fails("{\"id\": 7}", "policy: \"id\": expected a string, found an integer");
    parse_fails("{\"id\": \"\"}", "policy: \"id\": expected 1 to 128 characters, found 0");
    parse_fails("{\"id\": \"a/b\"}",
                "policy: \"id\": expected letters, digits and . _ : -, found '/' at offset 1");
    parse_fails("[]", "policy: expected a JSON object, found an array");
    parse_fails("{\"id\": ", "policy: JSON at line 1 column 7: unexpected token near end of file");
    parse_fails("{\"id\": \"a\", \"id\": \"b\"}",
                "policy: JSON at line 1 column 16: duplicate object key near '\"id\"'");
}

static void test_file_hash_and_id(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = ccai_xasprintf("%s/prod-r2.json", dir);
    const char *text = "{\n  \"tcb_statuses\": [\"UpToDate\"],\n  \"allow_debug\": false\n}\n";
    tu_write(path, text, strlen(text));
    tdx_policy *p = NULL;
    ccai_err err = {0};
    assert_int_equal(tdx_policy_read_file(path, &p, &err), CCAI_OK);
    assert_string_equal(tdx_policy_id(p), "prod-r2");
    uint8_t want[32], got[32];
    ccai_sha256(text, strlen(text), want);
    tdx_policy_hash(p, got);
    assert_memory_equal(got, want, 32);
    tdx_policy_free(p);

    /* an "id" member wins over the file name; the hash still covers the bytes */
    const char *named = "{\"id\":\"prod-r3\"}";
    tu_write(path, named, strlen(named));
    assert_int_equal(tdx_policy_read_file(path, &p, &err), CCAI_OK);
    assert_string_equal(tdx_policy_id(p), "prod-r3");
    ccai_sha256(named, strlen(named), want);
    tdx_policy_hash(p, got);
    assert_memory_equal(got, want, 32);
    tdx_policy_free(p);

    /* errors carry the path */
    const char *bad = "{\"allow_debug\": 0}";
    tu_write(path, bad, strlen(bad));
    assert_int_equal(tdx_policy_read_file(path, &p, &err), CCAI_ERR_PARSE);
    assert_null(p);
    char *msg = ccai_xasprintf("%s: policy: \"allow_debug\": expected true or false, found an "
                               "integer",
                               path);
    assert_string_equal(err.msg, msg);
    free(msg);

    /* at most 1 MiB */
    size_t big = (1u << 20) + 1;
    char *huge = ccai_xmalloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    tu_write(path, huge, big);
    free(huge);
    assert_int_not_equal(tdx_policy_read_file(path, &p, &err), CCAI_OK);
    assert_null(p);

    char *missing = ccai_xasprintf("%s/absent.json", dir);
    assert_int_not_equal(tdx_policy_read_file(missing, &p, &err), CCAI_OK);
    assert_null(p);
    free(missing);
    tu_rm_rf(dir);
    free(path);
    free(dir);
}

/* ---- the JSON form ------------------------------------------------------------- */

static void test_json_form(void **state)
{
    fx *f = *state;
    tdx_policy *p = tdx_policy_default();
    f->v.tee = "tdx-sim";
    tdx_appraisal a;
    appraise(f, p, &a);
    json_t *j = tdx_appraisal_to_json(&a);
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char hash[65];
    ccai_hex_encode(a.policy_sha256, 32, hash);
    char *want = ccai_xasprintf(
        "{\"policy_id\":\"default\",\"policy_sha256\":\"%s\",\"pass\":false,\"checks\":["
        "{\"name\":\"verified\",\"expected\":\"verified evidence\",\"actual\":\"verified "
        "evidence\",\"ok\":true,\"reason\":null},"
        "{\"name\":\"simulated\",\"expected\":\"tdx\",\"actual\":\"tdx-sim\",\"ok\":false,"
        "\"reason\":\"simulated: expected tdx, found tdx-sim\"},"
        "{\"name\":\"tcb_status\",\"expected\":\"one of [UpToDate, SWHardeningNeeded]\","
        "\"actual\":\"UpToDate\",\"ok\":true,\"reason\":null},"
        "{\"name\":\"debug\",\"expected\":\"DEBUG clear\",\"actual\":\"DEBUG clear\",\"ok\":true,"
        "\"reason\":null}],"
        "\"failed\":[{\"name\":\"simulated\",\"reason\":\"simulated: expected tdx, found "
        "tdx-sim\"}]}",
        hash);
    assert_string_equal(text, want);
    free(want);
    free(text);
    json_decref(j);
    tdx_appraisal_free(&a);
    tdx_policy_free(p);
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    tdx_policy *p = tdx_policy_default();
    tdx_appraisal a;
    ccai_err err = {0};
    f->in.verify = NULL;
    assert_int_equal(tdx_appraise(p, &f->in, &a, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg,
                        "appraise: expected a policy, a quote and a verify result, found no "
                        "verify result");
    assert_int_equal(a.n_checks, 0);
    tdx_appraisal_free(&a);
    tdx_policy_free(p);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_default_passes_real_tdx),
        T(test_default_fails_closed),
        T(test_allow_flags),
        T(test_full_policy_passes),
        T(test_each_register_mismatch),
        T(test_model_digests),
        T(test_binary_digest),
        T(test_config_values),
        T(test_unreadable_event_fails_event_checks),
        T(test_report_data),
        T(test_collateral_age),
        T(test_parse_errors),
        T(test_file_hash_and_id),
        T(test_json_form),
        T(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
