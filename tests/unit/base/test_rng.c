/* Tests for src/base/rng.h: splitmix64's exact outputs and state steps, the
 * uniform double's 53-bit construction, integer bounds, and the Irwin-Hall
 * normal's first value and mean. The exact constants were computed once from
 * the splitmix64 formula in Python (integers masked to 64 bits, IEEE
 * doubles): test data across the tree depends on these sequences, so any
 * change to them must fail here first. */
#include "testutil.h"

#include <stdbool.h>

#include "base/rng.h"

#define GOLDEN 0x9e3779b97f4a7c15ULL

static void test_next_exact(void **state)
{
    (void)state;
    uint64_t s = 0;
    assert_true(ccai_rng_next(&s) == 0xe220a8397b1dcdafULL);
    assert_true(ccai_rng_next(&s) == 0x6e789e6aa1b965f4ULL);
    assert_true(ccai_rng_next(&s) == 0x06c45d188009454fULL);
    s = 1;
    assert_true(ccai_rng_next(&s) == 0x910a2dec89025cc1ULL);
    assert_true(ccai_rng_next(&s) == 0xbeeb8da1658eec67ULL);
    assert_true(ccai_rng_next(&s) == 0xf893a2eefb32555eULL);
}

static void test_state_steps_by_golden_ratio(void **state)
{
    (void)state;
    /* From 0, from 1 and from just below the wrap: the state is a counter. */
    static const uint64_t starts[] = {0, 1, UINT64_MAX - 5};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        uint64_t s = starts[i];
        for (uint64_t k = 1; k <= 5; k++) {
            (void)ccai_rng_next(&s);
            assert_true(s == starts[i] + k * GOLDEN);
        }
    }
}

static void test_uniform(void **state)
{
    (void)state;
    uint64_t s = 42, t = 42;
    double u = ccai_rng_uniform(&s);
    assert_true(ccai_rng_next(&t) == 0xbdd732262feb6e95ULL);
    assert_true(u == (double)(0xbdd732262feb6e95ULL >> 11) * 0x1.0p-53);
    assert_true(u == 0x1.7bae644c5fd6dp-1); /* 0.7415648787718233 */
    assert_true(s == t); /* one draw per value */
    for (int i = 0; i < 100000; i++) {
        uint64_t before = s;
        u = ccai_rng_uniform(&s);
        assert_true(u >= 0.0 && u < 1.0);
        assert_true(u == (double)(ccai_rng_next(&before) >> 11) * 0x1.0p-53);
    }
}

static void test_int_bounds(void **state)
{
    (void)state;
    uint64_t s = 0;
    /* lo + next % (hi - lo + 1): the first draw from 0 is 4 in [-8, 8]. */
    assert_int_equal(ccai_rng_int(&s, -8, 8), 4);
    /* lo == hi gives lo, and still takes a draw. */
    s = 7;
    for (int i = 1; i <= 10; i++) {
        assert_int_equal(ccai_rng_int(&s, 5, 5), 5);
        assert_true(s == 7 + (uint64_t)i * GOLDEN);
    }
    assert_int_equal(ccai_rng_int(&s, -3, -3), -3);
    /* A small range: every value hit, none outside. */
    int hits[7] = {0};
    s = 123;
    for (int i = 0; i < 10000; i++) {
        int v = ccai_rng_int(&s, -3, 3);
        assert_in_range(v + 3, 0, 6);
        hits[v + 3]++;
    }
    for (int v = 0; v < 7; v++)
        assert_true(hits[v] > 0);
}

static void test_normal(void **state)
{
    (void)state;
    uint64_t s = 0;
    /* Twelve draws from 0, summed from -6.0 in order. */
    assert_true(ccai_rng_normal(&s, 0.0, 1.0) == 0x1.7ca0f5cf025c0p-5);
    assert_true(s == 12 * GOLDEN);
    s = 0;
    assert_true(ccai_rng_normal(&s, 3.0, 0.5) == 0x1.82f941eb9e04cp+1);

    s = 2024;
    double sum = 0.0;
    bool inside = true;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double v = ccai_rng_normal(&s, 3.0, 0.5);
        inside = inside && v >= 3.0 - 6 * 0.5 && v <= 3.0 + 6 * 0.5;
        sum += v;
    }
    double mean = sum / n;
    assert_true(inside); /* Irwin-Hall's tails stop at 6 sd */
    assert_true(mean > 3.0 - 0.01 && mean < 3.0 + 0.01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_exact),
        cmocka_unit_test(test_state_steps_by_golden_ratio),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_int_bounds),
        cmocka_unit_test(test_normal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
