/* Tests for the verifier's pipeline (src/verifier/appraisal.c) on evidence
 * from a simulated TD made in-process: the verdict and its binding, policy
 * selection errors, the fail-closed result when there is no collateral, and
 * set-up errors naming the file. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "base/hash.h"
#include "base/mem.h"
#include "tee/binding.h"
#include "tee/provider.h"
#include "tee/sim.h"
#include "verifier/appraisal.h"

typedef struct fx {
    char *dir;
    tee_provider *p;
    json_t *coll;
} fx;

static int setup(void **state)
{
    fx *f = ccai_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    tee_config cfg = {.state_dir = f->dir};
    assert_int_equal(tee_provider_open("sim", &cfg, &f->p, NULL), CCAI_OK);
    assert_int_equal(tee_sim_collateral(&cfg, time(NULL), &f->coll, NULL), CCAI_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tee_provider_close(f->p);
    json_decref(f->coll);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ccai-attest/1 evidence bound to nonce {1,..} (no SPKI), quote report data rd. */
static void make(fx *f, tee_evidence *ev, const uint8_t rd[64], bool with_coll)
{
    memset(ev, 0, sizeof *ev);
    ev->form = TEE_EVIDENCE_CCAI;
    ev->tee = ccai_xstrdup("tdx-sim");
    memset(ev->nonce, 1, 32);
    ev->has_nonce = true;
    ev->nonce_text = ccai_xstrdup("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE");
    assert_int_equal(f->p->ops->get_quote(f->p, rd, &ev->quote, &ev->quote_len, NULL), CCAI_OK);
    if (with_coll)
        ev->collateral = json_incref(f->coll);
}

static json_t *run(ccai_appraiser *a, tee_evidence *ev)
{
    json_t *v = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_appraiser_run(a, ev, time(NULL), &v, &err), CCAI_OK);
    return v;
}

static void test_verdict_and_binding(void **state)
{
    fx *f = *state;
    ccai_appraiser_opts o = {.trust_simulated = true};
    ccai_appraiser *a = NULL;
    assert_int_equal(ccai_appraiser_new(&o, &a, NULL), CCAI_OK);
    uint8_t nonce[32], rd[64];
    memset(nonce, 1, 32);
    tee_report_data_bind(nonce, NULL, NULL, rd);
    tee_evidence ev;
    make(f, &ev, rd, true);
    json_t *v = run(a, &ev);
    assert_string_equal(json_string_value(json_object_get(v, "tee")), "tdx-sim");
    assert_true(json_is_true(json_object_get(v, "verified")));
    json_t *b = json_object_get(v, "binding");
    assert_string_equal(json_string_value(json_object_get(b, "nonce")), ev.nonce_text);
    assert_true(json_is_null(json_object_get(b, "tls_spki_sha256")));
    assert_true(json_is_true(json_object_get(b, "report_data_ok")));
    json_decref(v);
    tee_evidence_free(&ev);

    /* Trustee form: SHA-384 of runtime_data zero-padded; no collateral now,
     * so the bundle that came with the evidence above is used */
    memset(&ev, 0, sizeof ev);
    uint8_t raw[5] = "hello", trd[64] = {0};
    ccai_sha384(raw, 5, trd);
    make(f, &ev, trd, false);
    ev.form = TEE_EVIDENCE_TRUSTEE;
    ev.has_nonce = false;
    ev.has_runtime_data = true;
    ev.runtime_data = ccai_xmemdup(raw, 5);
    ev.runtime_data_len = 5;
    ev.runtime_data_text = ccai_xstrdup("aGVsbG8=");
    v = run(a, &ev);
    assert_true(json_is_true(json_object_get(v, "verified")));
    b = json_object_get(v, "binding");
    assert_string_equal(json_string_value(json_object_get(b, "nonce")), "aGVsbG8=");
    assert_true(json_is_true(json_object_get(b, "report_data_ok")));
    json_decref(v);
    tee_evidence_free(&ev);
    ccai_appraiser_free(a);
}

static void test_no_collateral(void **state)
{
    fx *f = *state;
    ccai_appraiser_opts o = {.trust_simulated = true};
    ccai_appraiser *a = NULL;
    assert_int_equal(ccai_appraiser_new(&o, &a, NULL), CCAI_OK);
    uint8_t rd[64] = {0};
    tee_evidence ev;
    make(f, &ev, rd, false);
    json_t *v = run(a, &ev);
    assert_true(json_is_false(json_object_get(v, "pass")));
    assert_true(json_is_false(json_object_get(v, "verified")));
    json_t *step = json_array_get(json_object_get(v, "steps"), 0);
    assert_string_equal(json_string_value(json_object_get(step, "name")), "collateral");
    assert_string_equal(json_string_value(json_object_get(step, "detail")),
                        "no collateral: the evidence carries none, none came with earlier "
                        "evidence from this platform, and the verifier has neither --collateral "
                        "nor --pcs");
    json_t *failed = json_object_get(json_object_get(v, "policy"), "failed");
    assert_string_equal(json_string_value(json_object_get(json_array_get(failed, 0), "name")),
                        "verified");
    json_decref(v);
    tee_evidence_free(&ev);
    ccai_appraiser_free(a);
}

static void test_policy_selection(void **state)
{
    fx *f = *state;
    char *pdir = ccai_xasprintf("%s/pol", f->dir), *p1 = ccai_xasprintf("%s/a.json", pdir);
    char *p2 = ccai_xasprintf("%s/b.json", pdir);
    assert_int_equal(ccai_mkdir_p(pdir, 0700, NULL), CCAI_OK);
    tu_write(p1, "{\"id\":\"x\"}", 10);
    tu_write(p2, "{\"id\":\"x\"}", 10);
    ccai_appraiser_opts o = {.policy_dir = pdir};
    ccai_appraiser *a = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_appraiser_new(&o, &a, &err), CCAI_ERR_ARG);
    char want[4300];
    snprintf(want, sizeof want, "%s: policy id \"x\" is defined twice", p2);
    assert_string_equal(err.msg, want);
    tu_write(p2, "{\"id\":\"y\"}", 10);
    assert_int_equal(ccai_appraiser_new(&o, &a, &err), CCAI_OK);
    json_t *list = ccai_appraiser_policies(a);
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")),
                        "default");
    json_decref(list);
    tee_evidence ev;
    uint8_t rd[64] = {0};
    make(f, &ev, rd, true);
    ev.policy_ids[ev.n_policy_ids++] = ccai_xstrdup("z");
    json_t *v = NULL;
    assert_int_equal(ccai_appraiser_run(a, &ev, time(NULL), &v, &err), CCAI_ERR_NOT_FOUND);
    assert_string_equal(err.msg, "policy_ids: unknown policy \"z\" (known: x, y, default)");
    ev.policy_ids[ev.n_policy_ids++] = ccai_xstrdup("x");
    assert_int_equal(ccai_appraiser_run(a, &ev, time(NULL), &v, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "policy_ids: expected at most one policy id, found 2");
    assert_null(v);
    tee_evidence_free(&ev);
    /* a quote that does not parse is the client's error */
    make(f, &ev, rd, true);
    ev.quote_len = 10;
    assert_int_equal(ccai_appraiser_run(a, &ev, time(NULL), &v, &err), CCAI_ERR_PARSE);
    assert_memory_equal(err.msg, "quote: ", 7);
    tee_evidence_free(&ev);
    ccai_appraiser_free(a);
    o = (ccai_appraiser_opts){.collateral = "/nonexistent/c.json"};
    assert_int_equal(ccai_appraiser_new(&o, &a, &err), CCAI_ERR_NOT_FOUND);
    assert_string_equal(err.msg, "--collateral /nonexistent/c.json: no such file or directory");
    free(p1);
    free(p2);
    free(pdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verdict_and_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_collateral, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_selection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
