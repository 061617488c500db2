/* server/ratelimit.c: a bucket's burst and refill, the retry time it gives,
 * IPv6 clients keyed by their /64 (IPv4-mapped ones whole), and a full
 * table: idle clients' buckets reused, and when none is idle, new clients
 * sharing one overflow bucket (so rotating through more addresses than the
 * table holds gives no fresh bucket). */
#include "testutil.h"

#include <stdio.h>

#include "server/server.h"

enum { SEC = 1000000000 };

static void test_burst_and_refill(void **state)
{
    (void)state;
    ccai_ratelimit *rl = ccai_ratelimit_new(60, 3); /* one a second, three at once */
    int retry = 0;
    uint64_t t = 5ull * SEC;
    for (int i = 0; i < 3; i++)
        assert_true(ccai_ratelimit_take(rl, "192.0.2.1", t, &retry));
    assert_false(ccai_ratelimit_take(rl, "192.0.2.1", t, &retry));
    assert_int_equal(retry, 1);
    /* Another client has its own bucket. */
    assert_true(ccai_ratelimit_take(rl, "192.0.2.2", t, &retry));
    /* One token back a second later, not two. */
    assert_true(ccai_ratelimit_take(rl, "192.0.2.1", t + SEC, &retry));
    assert_false(ccai_ratelimit_take(rl, "192.0.2.1", t + SEC, &retry));
    /* A slow refill gives the wait until the next token. */
    ccai_ratelimit *slow = ccai_ratelimit_new(2, 1); /* one every 30 s */
    assert_true(ccai_ratelimit_take(slow, "192.0.2.1", t, &retry));
    assert_false(ccai_ratelimit_take(slow, "192.0.2.1", t + 10ull * SEC, &retry));
    assert_int_equal(retry, 20);
    ccai_ratelimit_free(slow);
    ccai_ratelimit_free(rl);
}

static void test_ipv6_by_prefix(void **state)
{
    (void)state;
    ccai_ratelimit *rl = ccai_ratelimit_new(1, 1);
    uint64_t t = SEC;
    assert_true(ccai_ratelimit_take(rl, "2001:db8::1", t, NULL));
    /* The same /64: the same bucket, already empty. */
    assert_false(ccai_ratelimit_take(rl, "2001:db8::ffff:7", t, NULL));
    /* Another /64 has its own. */
    assert_true(ccai_ratelimit_take(rl, "2001:db8:0:1::1", t, NULL));
    /* IPv4-mapped addresses are IPv4 clients: keyed whole. */
    assert_true(ccai_ratelimit_take(rl, "::ffff:192.0.2.1", t, NULL));
    assert_true(ccai_ratelimit_take(rl, "::ffff:192.0.2.2", t, NULL));
    ccai_ratelimit_free(rl);
}

static void test_full_table(void **state)
{
    (void)state;
    ccai_ratelimit *rl = ccai_ratelimit_new(1, 2); /* one a minute, two at once */
    char ip[32];
    uint64_t t = SEC;
    /* 4096 clients, each with a token taken: none idle. */
    for (int i = 0; i < 4096; i++) {
        snprintf(ip, sizeof ip, "10.0.%d.%d", i / 256, i % 256);
        assert_true(ccai_ratelimit_take(rl, ip, t, NULL));
    }
    /* New clients share one bucket: two go, the third is refused, however
     * many addresses it has. */
    assert_true(ccai_ratelimit_take(rl, "10.1.0.1", t, NULL));
    assert_true(ccai_ratelimit_take(rl, "10.1.0.2", t, NULL));
    int retry = 0;
    assert_false(ccai_ratelimit_take(rl, "10.1.0.3", t, &retry));
    assert_false(ccai_ratelimit_take(rl, "10.1.0.4", t, &retry));
    assert_int_equal(retry, 60);
    /* The clients in the table kept their own state. */
    assert_true(ccai_ratelimit_take(rl, "10.0.0.1", t, NULL));
    assert_false(ccai_ratelimit_take(rl, "10.0.0.1", t, NULL));
    /* Two minutes on, every bucket has refilled: a new client takes an idle
     * client's place and has a bucket of its own again. */
    t += 120ull * SEC;
    assert_true(ccai_ratelimit_take(rl, "10.1.0.5", t, NULL));
    assert_true(ccai_ratelimit_take(rl, "10.1.0.5", t, NULL));
    assert_false(ccai_ratelimit_take(rl, "10.1.0.5", t, NULL));
    assert_true(ccai_ratelimit_take(rl, "10.1.0.6", t, NULL));
    ccai_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_and_refill),
        cmocka_unit_test(test_ipv6_by_prefix),
        cmocka_unit_test(test_full_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
