/* Tests for src/llm/sampler.c on hand-made logits: greedy and its tie rule,
 * each mask (top-k, top-p, min-p) keeping exactly the tokens it should, the
 * repeat penalty (direction, window, once per distinct token), determinism
 * per seed, and the drawn frequencies against the softmax they come from. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "llm/sampler.h"

/* Greedy, no penalty: the plain argmax. */
static llm_sampler_params greedy(void)
{
    llm_sampler_params p = llm_sampler_params_default();
    p.temperature = 0.0f;
    p.repeat_penalty = 1.0f;
    return p;
}

/* Temperature 1 and every mask off: draws follow softmax(logits). */
static llm_sampler_params plain(uint64_t seed)
{
    return (llm_sampler_params){.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                                .repeat_penalty = 1.0f, .repeat_last_n = 64, .seed = seed};
}

/* Counts the tokens drawn in n samples. */
static void histogram(const llm_sampler_params *par, const float *logits, size_t n_vocab, int n,
                      int *count)
{
    llm_sampler *s = llm_sampler_new(par, n_vocab);
    memset(count, 0, n_vocab * sizeof *count);
    for (int i = 0; i < n; i++) {
        int32_t t = llm_sampler_sample(s, logits, NULL, 0);
        assert_true(t >= 0 && (size_t)t < n_vocab);
        count[t]++;
    }
    llm_sampler_free(s);
}

static void test_defaults(void **state)
{
    (void)state;
    llm_sampler_params p = llm_sampler_params_default();
    assert_float_equal(p.temperature, 0.8f, 0);
    assert_int_equal(p.top_k, 40);
    assert_float_equal(p.top_p, 0.9f, 0);
    assert_float_equal(p.min_p, 0.05f, 0);
    assert_float_equal(p.repeat_penalty, 1.1f, 0);
    assert_int_equal(p.repeat_last_n, 64);
    assert_true(p.seed == 0);
}

static void test_greedy_and_ties(void **state)
{
    (void)state;
    llm_sampler_params par = greedy();
    const float a[] = {0.1f, 3.0f, -2.0f, 2.9f, 3.0f};
    const float b[] = {NAN, -INFINITY, 1.0f, NAN};
    const float c[] = {-1.0f, -1.0f, -1.0f};
    const float d[] = {NAN, NAN};
    llm_sampler *s = llm_sampler_new(&par, 5);
    assert_int_equal(llm_sampler_sample(s, a, NULL, 0), 1); /* tie 1/4: the lower id */
    llm_sampler_free(s);
    s = llm_sampler_new(&par, 4);
    assert_int_equal(llm_sampler_sample(s, b, NULL, 0), 2); /* NaN never wins */
    llm_sampler_free(s);
    s = llm_sampler_new(&par, 3);
    assert_int_equal(llm_sampler_sample(s, c, NULL, 0), 0);
    llm_sampler_free(s);
    s = llm_sampler_new(&par, 2);
    assert_int_equal(llm_sampler_sample(s, d, NULL, 0), 0); /* nothing valid: 0 */
    llm_sampler_free(s);
    /* Negative temperature is greedy too; top_k 1 at any temperature as well. */
    par.temperature = -1.0f;
    s = llm_sampler_new(&par, 5);
    assert_int_equal(llm_sampler_sample(s, a, NULL, 0), 1);
    llm_sampler_free(s);
    par = plain(7);
    par.top_k = 1;
    s = llm_sampler_new(&par, 5);
    for (int i = 0; i < 50; i++)
        assert_int_equal(llm_sampler_sample(s, a, NULL, 0), 1);
    llm_sampler_free(s);
}

/* log-probabilities 0.5, 0.3, 0.15, 0.05 (ids shuffled: 2, 0, 3, 1). */
static const float QUAD[4] = {-1.2039728f /* .3 */, -2.9957323f /* .05 */, -0.6931472f /* .5 */,
                              -1.8971200f /* .15 */};

/* The set of tokens drawn at least once in 4000 draws, as a bit mask. */
static unsigned drawn(const llm_sampler_params *par, const float *logits, size_t n)
{
    int count[16];
    histogram(par, logits, n, 4000, count);
    unsigned mask = 0;
    for (size_t i = 0; i < n; i++)
        if (count[i])
            mask |= 1u << i;
    return mask;
}

static void test_masks(void **state)
{
    (void)state;
    llm_sampler_params par = plain(1);
    assert_int_equal(drawn(&par, QUAD, 4), 0xf);
    par.top_k = 2;
    assert_int_equal(drawn(&par, QUAD, 4), (1u << 2) | (1u << 0));
    par.top_k = 3;
    assert_int_equal(drawn(&par, QUAD, 4), (1u << 2) | (1u << 0) | (1u << 3));

    par = plain(2);
    par.top_p = 0.75f; /* 0.5 < 0.75 <= 0.8: the two best */
    assert_int_equal(drawn(&par, QUAD, 4), (1u << 2) | (1u << 0));
    par.top_p = 0.85f; /* 0.8 < 0.85 <= 0.95: three */
    assert_int_equal(drawn(&par, QUAD, 4), (1u << 2) | (1u << 0) | (1u << 3));
    par.top_p = 0.1f; /* the best token alone already covers it */
    assert_int_equal(drawn(&par, QUAD, 4), 1u << 2);

    par = plain(3);
    par.min_p = 0.2f; /* floor 0.1: drops 0.05 */
    assert_int_equal(drawn(&par, QUAD, 4), (1u << 2) | (1u << 0) | (1u << 3));
    par.min_p = 0.5f; /* floor 0.25: keeps 0.5 and 0.3 */
    assert_int_equal(drawn(&par, QUAD, 4), (1u << 2) | (1u << 0));
    par.min_p = 0.7f; /* floor 0.35 */
    assert_int_equal(drawn(&par, QUAD, 4), 1u << 2);

    /* Top-k ties: the lower id is kept. */
    const float tie[4] = {1.0f, 2.0f, 2.0f, 2.0f};
    par = plain(4);
    par.top_k = 2;
    assert_int_equal(drawn(&par, tie, 4), (1u << 1) | (1u << 2));
}

static void test_repeat_penalty(void **state)
{
    (void)state;
    llm_sampler_params par = greedy();
    par.repeat_penalty = 1.1f;
    par.repeat_last_n = 64;
    const int32_t h0[] = {0};
    /* A positive logit is divided: 2.0 / 1.1 = 1.82 < 1.9. */
    const float pos[] = {2.0f, 1.9f};
    llm_sampler *s = llm_sampler_new(&par, 2);
    assert_int_equal(llm_sampler_sample(s, pos, NULL, 0), 0);
    assert_int_equal(llm_sampler_sample(s, pos, h0, 1), 1);
    /* A negative one multiplied: -1.0 * 1.1 = -1.1 < -1.05. */
    const float neg[] = {-1.0f, -1.05f};
    assert_int_equal(llm_sampler_sample(s, neg, NULL, 0), 0);
    assert_int_equal(llm_sampler_sample(s, neg, h0, 1), 1);
    /* Once per distinct token: 2.0 / 1.1 = 1.82 > 1.7 (thrice would be 1.50). */
    const float once[] = {2.0f, 1.7f};
    const int32_t h000[] = {0, 0, 0};
    assert_int_equal(llm_sampler_sample(s, once, h000, 3), 0);
    /* Ids outside the vocabulary in the history are ignored. */
    const int32_t hbad[] = {-5, 99, 0};
    assert_int_equal(llm_sampler_sample(s, pos, hbad, 3), 1);
    llm_sampler_free(s);

    /* Only the last repeat_last_n tokens count. */
    par.repeat_last_n = 2;
    s = llm_sampler_new(&par, 8);
    const float eight[8] = {2.0f, 1.9f, 0, 0, 0, 0, 0, 0};
    const int32_t h_old[] = {0, 5, 6}, h_new[] = {5, 0, 6};
    assert_int_equal(llm_sampler_sample(s, eight, h_old, 3), 0);
    assert_int_equal(llm_sampler_sample(s, eight, h_new, 3), 1);
    llm_sampler_free(s);
    /* repeat_last_n < 0: the whole history; 0: off. */
    par.repeat_last_n = -1;
    s = llm_sampler_new(&par, 8);
    assert_int_equal(llm_sampler_sample(s, eight, h_old, 3), 1);
    llm_sampler_free(s);
    par.repeat_last_n = 0;
    s = llm_sampler_new(&par, 8);
    assert_int_equal(llm_sampler_sample(s, eight, h_new, 3), 0);
    llm_sampler_free(s);
    /* The caller's logits are left alone. */
    assert_float_equal(eight[0], 2.0f, 0);
}

static void sequence(uint64_t seed, int32_t *out, int n)
{
    float logits[64];
    for (int i = 0; i < 64; i++)
        logits[i] = (float)((i * 37) % 11) * 0.1f; /* fairly flat */
    llm_sampler_params par = plain(seed);
    llm_sampler *s = llm_sampler_new(&par, 64);
    for (int i = 0; i < n; i++)
        out[i] = llm_sampler_sample(s, logits, out, (size_t)i);
    llm_sampler_free(s);
}

static void test_seeds(void **state)
{
    (void)state;
    int32_t a[100], b[100], c[100];
    sequence(42, a, 100);
    sequence(42, b, 100);
    sequence(43, c, 100);
    assert_memory_equal(a, b, sizeof a);
    int same = 0;
    for (int i = 0; i < 100; i++)
        same += a[i] == c[i];
    assert_true(same < 20); /* about 100/64 expected by chance */
}

/* Frequencies match softmax(logits / T) within 4 standard deviations. */
static void check_distribution(float temp, const double *want)
{
    const float logits[3] = {logf(0.5f), logf(0.3f), logf(0.2f)};
    llm_sampler_params par = plain(12345);
    par.temperature = temp;
    const int n = 20000;
    int count[3];
    histogram(&par, logits, 3, n, count);
    for (int i = 0; i < 3; i++) {
        double f = (double)count[i] / n, sd = sqrt(want[i] * (1 - want[i]) / n);
        if (fabs(f - want[i]) > 4 * sd)
            fail_msg("T=%g token %d: frequency %.4f, expected %.4f", temp, i, f, want[i]);
    }
}

static void test_distribution(void **state)
{
    (void)state;
    const double t1[3] = {0.5, 0.3, 0.2};
    check_distribution(1.0f, t1);
    /* T = 0.5 squares the probabilities: .25, .09, .04 over .38. */
    const double t05[3] = {0.25 / 0.38, 0.09 / 0.38, 0.04 / 0.38};
    check_distribution(0.5f, t05);
}

/* A vocabulary-sized call with the defaults: only plausible tokens come out. */
static void test_large_vocab(void **state)
{
    (void)state;
    enum { V = 50000 };
    static float logits[V];
    for (int i = 0; i < V; i++)
        logits[i] = -10.0f + (float)(i % 97) * 0.01f;
    logits[31337] = 5.0f;
    logits[4242] = 4.5f;
    llm_sampler_params par = llm_sampler_params_default();
    par.seed = 9;
    llm_sampler *s = llm_sampler_new(&par, V);
    int c31337 = 0, c4242 = 0;
    for (int i = 0; i < 200; i++) {
        int32_t t = llm_sampler_sample(s, logits, NULL, 0);
        assert_true(t == 31337 || t == 4242);
        c31337 += t == 31337;
        c4242 += t == 4242;
    }
    assert_true(c31337 > c4242 && c4242 > 0);
    llm_sampler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_greedy_and_ties),
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_repeat_penalty),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_distribution),
        cmocka_unit_test(test_large_vocab),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
