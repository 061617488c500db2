/* Tests for llm_generate's stopping points (src/llm/engine.c): keep_going is
 * asked before each LLM_PROMPT_PIECE-token piece of the prompt and before
 * each generated token is evaluated; false stops right there with
 * done_reason "cancel" and nothing more emitted, and the part of the
 * prompt already evaluated stays cached (the next request with that
 * prompt evaluates only the rest). Uses a tiny generated model. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "llm/engine.h"
#include "llm/mkmodel.h"

typedef struct probe {
    int calls, allow; /* keep_going answers true `allow` times */
    int emits;
} probe;

static bool keep_going(void *arg)
{
    probe *p = arg;
    return p->calls++ < p->allow;
}

static bool emit(void *arg, const char *text, size_t n, bool thinking)
{
    (void)text, (void)n, (void)thinking;
    ((probe *)arg)->emits++;
    return true;
}

typedef struct fixture {
    char *dir, *path;
    llm_engine *e;
    llm_session *s;
    int32_t prompt[300];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    ccai_err err = {0};
    llm_mkmodel_spec spec;
    f->dir = tu_tmpdir();
    f->path = malloc(strlen(f->dir) + 16);
    strcpy(f->path, f->dir);
    strcat(f->path, "/m.gguf");
    if (llm_mkmodel_preset("tiny-llama", &spec, &err) || llm_mkmodel_write(&spec, f->path, &err))
        fail_msg("mkmodel: %s", err.msg);
    llm_engine_opts o = {.n_threads = 2};
    if (llm_engine_open(f->path, &o, &f->e, &err) || llm_session_new(f->e, 512, &f->s, &err))
        fail_msg("engine: %s", err.msg);
    uint32_t V = f->e->model->hp.n_vocab;
    for (int i = 0; i < 300; i++)
        f->prompt[i] = (int32_t)(3 + (uint32_t)i * 7 % (V - 3));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    llm_session_free(f->s);
    llm_engine_free(f->e);
    tu_rm_rf(f->dir);
    free(f->path);
    free(f->dir);
    free(f);
    return 0;
}

static llm_gen_params greedy(int n_predict, bool poll)
{
    llm_gen_params p = {0};
    p.sampling = llm_sampler_params_default();
    p.sampling.temperature = 0;
    p.n_predict = n_predict;
    p.keep_going = poll ? keep_going : NULL;
    return p;
}

/* A "no" before the second piece: one piece evaluated and cached, nothing
 * generated; the same prompt again evaluates only the other 172 tokens,
 * asking before each of its two pieces and each generated token. */
static void test_cancel_in_prompt(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    llm_gen_stats st;
    probe pr = {.allow = 1};
    llm_gen_params p = greedy(4, true);
    llm_session_reset(f->s);
    assert_int_equal(llm_generate(f->s, f->prompt, 300, &p, emit, &pr, &st, &err), CCAI_OK);
    assert_string_equal(st.done_reason, "cancel");
    assert_int_equal(st.n_prompt_eval, LLM_PROMPT_PIECE);
    assert_int_equal(st.n_gen, 0);
    assert_int_equal(pr.calls, 2);
    assert_int_equal(pr.emits, 0);
    assert_int_equal(f->s->n_tokens, LLM_PROMPT_PIECE);

    probe again = {.allow = 1000};
    assert_int_equal(llm_generate(f->s, f->prompt, 300, &p, emit, &again, &st, &err), CCAI_OK);
    assert_int_equal(st.n_prompt_eval, 300 - LLM_PROMPT_PIECE);
    assert_string_equal(st.done_reason, "length");
    assert_int_equal(st.n_gen, 4);
    assert_int_equal(again.calls, 2 + 4);
}

/* A "no" before the third generated token is evaluated: two generated. */
static void test_cancel_in_generation(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    llm_gen_stats st;
    probe pr = {.allow = 2}; /* the one prompt piece, then one token */
    llm_gen_params p = greedy(10, true);
    llm_session_reset(f->s);
    assert_int_equal(llm_generate(f->s, f->prompt, 20, &p, emit, &pr, &st, &err), CCAI_OK);
    assert_string_equal(st.done_reason, "cancel");
    assert_int_equal(st.n_prompt_eval, 20);
    assert_int_equal(st.n_gen, 2);
    assert_int_equal(pr.calls, 3);
}

/* Without keep_going, and with one that always agrees, the same tokens. */
static void test_no_poll_same_result(void **state)
{
    fixture *f = *state;
    ccai_err err = {0};
    llm_gen_stats a, b;
    llm_gen_params p = greedy(6, false), q = greedy(6, true);
    probe pa = {.allow = 0}, pb = {.allow = 1000};
    llm_session_reset(f->s);
    assert_int_equal(llm_generate(f->s, f->prompt, 300, &p, emit, &pa, &a, &err), CCAI_OK);
    int32_t first[512];
    size_t n_first = f->s->n_tokens;
    memcpy(first, f->s->tokens, n_first * sizeof *first);
    llm_session_reset(f->s);
    assert_int_equal(llm_generate(f->s, f->prompt, 300, &q, emit, &pb, &b, &err), CCAI_OK);
    assert_int_equal(a.n_prompt_eval, 300);
    assert_int_equal(b.n_prompt_eval, 300);
    assert_int_equal(pa.calls, 0);
    assert_int_equal(pb.calls, 3 + (int)b.n_gen);
    assert_int_equal(a.n_gen, b.n_gen);
    assert_int_equal(f->s->n_tokens, n_first);
    assert_memory_equal(f->s->tokens, first, n_first * sizeof *first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_in_prompt),
        cmocka_unit_test(test_cancel_in_generation),
        cmocka_unit_test(test_no_poll_same_result),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
