/* libFuzzer target for DCAP verification (src/tee/verify*.c) on hostile
 * evidence: the input is a 4-byte little-endian length N, then N bytes of
 * quote, then the collateral bundle's JSON text. When both parse, the
 * collateral is prepared and the quote verified at a fixed time with
 * simulated trust on, twice (the second run takes the context's warm
 * caches), and the result's JSON view is built.
 *
 * Beyond "no crash, no leak, no over-read" it checks the verifier's
 * contract: a result is verified exactly when tdx_verify returns CCAI_OK,
 * every failure says why, step names are set, and the cold and warm runs
 * agree. The seeds (fuzz/corpus/verify/) are a simulated quote with its
 * simulated collateral issued at FUZZ_AT - 60 s; tests/unit/tee/test_verify.c
 * writes them when CCAI_WRITE_VERIFY_SEEDS=<dir> is set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "tee/collateral.h"
#include "tee/quote.h"
#include "tee/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FUZZ_AT = 1751328060 }; /* 2025-07-01T00:01:00Z */

static void check(const tdx_verify_result *r, ccai_code rc)
{
    if ((rc == CCAI_OK) != r->verified)
        abort();
    if (!r->verified && r->failure.msg[0] == '\0')
        abort();
    if (r->n_steps > TDX_VERIFY_MAX_STEPS)
        abort();
    for (size_t i = 0; i < r->n_steps; i++)
        if (!r->steps[i].name || (!r->steps[i].ok && r->steps[i].detail[0] == '\0'))
            abort();
}

static void verify_twice(const tdx_quote *q, tdx_collateral_ctx *cc)
{
    tdx_verify_opts o = {.at = FUZZ_AT, .trust_simulated = true};
    tdx_verify_result a, b;
    ccai_code ra = tdx_verify(q, cc, &o, &a);
    ccai_code rb = tdx_verify(q, cc, &o, &b);
    check(&a, ra);
    check(&b, rb);
    if (ra != rb || a.n_steps != b.n_steps || strcmp(a.failure.msg, b.failure.msg) != 0)
        abort();
    json_t *j = tdx_verify_result_to_json(&a);
    if (!j)
        abort();
    char *text = json_dumps(j, JSON_COMPACT);
    if (!text)
        abort();
    free(text);
    json_decref(j);
    tdx_verify_result_free(&a);
    tdx_verify_result_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t qlen = ccai_le32(data);
    if (qlen > size - 4)
        return 0;
    const uint8_t *quote = data + 4;
    const char *bundle = (const char *)data + 4 + qlen;
    size_t blen = size - 4 - qlen;

    tdx_quote q;
    ccai_err err = {0};
    if (tdx_quote_parse(quote, qlen, &q, &err) != CCAI_OK)
        return 0;
    json_t *j = NULL;
    tdx_collateral c;
    tdx_collateral_ctx *cc = NULL;
    if (ccai_json_parse(bundle, blen, &j, &err) == CCAI_OK &&
        tdx_collateral_from_json(j, &c, &err) == CCAI_OK) {
        if (tdx_collateral_prepare(&c, &cc, &err) == CCAI_OK) {
            verify_twice(&q, cc);
            tdx_collateral_ctx_free(cc);
        } else if (err.msg[0] == '\0') {
            abort(); /* every rejection must say why */
        }
        tdx_collateral_free(&c);
    }
    json_decref(j);
    tdx_quote_free(&q);
    return 0;
}
