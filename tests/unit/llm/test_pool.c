/* Tests for src/llm/pool.c: every item of [0, n) is visited exactly once, in
 * the contiguous chunk the contract names, for many sizes and thread counts;
 * runs repeat on the same workers, after the workers fell asleep, from two
 * calling threads at once, and with fewer items than threads; a chunked
 * run's `then` is called once per thread that took part, on its own copy
 * of the blob. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "llm/pool.h"

typedef struct visit {
    int64_t n;
    int n_threads;
    atomic_int *seen;          /* per item */
    atomic_llong sum;          /* of item values */
    atomic_int calls;
    atomic_int bad;            /* contract violations */
} visit;

static void visit_fn(void *arg, int64_t begin, int64_t end, int thread)
{
    visit *v = arg;
    atomic_fetch_add(&v->calls, 1);
    /* The chunk of thread t is [n*t/T, n*(t+1)/T) (one item runs on 0). */
    int64_t n = v->n, T = v->n_threads;
    bool chunk_ok = n == 1 ? (thread == 0 && begin == 0 && end == 1)
                           : (begin == n * thread / T && end == n * (thread + 1) / T);
    if (thread < 0 || thread >= v->n_threads || begin >= end || !chunk_ok)
        atomic_fetch_add(&v->bad, 1);
    long long s = 0;
    for (int64_t i = begin; i < end; i++) {
        atomic_fetch_add(&v->seen[i], 1);
        s += i;
    }
    atomic_fetch_add(&v->sum, s);
}

/* One run over n items: true when every item was seen once, in the chunks
 * the contract names (no cmocka asserts: it also runs off the main thread). */
static bool run_ok(llm_pool *p, int64_t n)
{
    visit v = {.n = n, .n_threads = llm_pool_size(p)};
    v.seen = ccai_xcalloc((size_t)(n ? n : 1), sizeof *v.seen);
    atomic_init(&v.sum, 0);
    atomic_init(&v.calls, 0);
    atomic_init(&v.bad, 0);
    llm_pool_run(p, n, visit_fn, &v);
    bool ok = atomic_load(&v.bad) == 0;
    for (int64_t i = 0; i < n; i++)
        ok = ok && atomic_load(&v.seen[i]) == 1;
    ok = ok && atomic_load(&v.sum) == (long long)(n * (n - 1) / 2);
    int want_calls = n < v.n_threads ? (int)n : v.n_threads;
    ok = ok && atomic_load(&v.calls) == want_calls;
    free(v.seen);
    return ok;
}

static void check_run(llm_pool *p, int64_t n)
{
    if (!run_ok(p, n))
        fail_msg("pool of %d threads, %lld items: wrong coverage", llm_pool_size(p), (long long)n);
}

static void test_sizes_and_threads(void **state)
{
    (void)state;
    const int threads[] = {1, 2, 3, 4, 7, 16};
    const int64_t big[] = {100, 257, 1000, 4099, 65536};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        llm_pool *p = llm_pool_new(threads[t]);
        assert_int_equal(llm_pool_size(p), threads[t]);
        for (int64_t n = 0; n <= 40; n++)
            check_run(p, n);
        for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
            check_run(p, big[i]);
        llm_pool_free(p);
    }
}

static void test_fewer_items_than_threads(void **state)
{
    (void)state;
    llm_pool *p = llm_pool_new(8);
    for (int64_t n = 1; n < 8; n++)
        for (int rep = 0; rep < 20; rep++)
            check_run(p, n);
    llm_pool_free(p);
}

static void test_repeated_runs(void **state)
{
    (void)state;
    llm_pool *p = llm_pool_new(4);
    for (int rep = 0; rep < 3000; rep++)
        check_run(p, 1 + rep % 97);
    llm_pool_free(p);
}

static void test_runs_after_sleep(void **state)
{
    (void)state;
    llm_pool *p = llm_pool_new(3);
    for (int rep = 0; rep < 4; rep++) {
        check_run(p, 1000);
        usleep(50 * 1000); /* long past the spin: the workers sleep */
    }
    llm_pool_free(p);
    /* A pool that never ran shuts down too. */
    llm_pool_free(llm_pool_new(5));
    llm_pool_free(NULL);
}

static void test_null_and_default(void **state)
{
    (void)state;
    assert_int_equal(llm_pool_size(NULL), 1);
    check_run(NULL, 0);
    check_run(NULL, 17);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    llm_pool *p = llm_pool_new(0);
    assert_int_equal(llm_pool_size(p), cores < 1 ? 1 : cores > 512 ? 512 : cores);
    check_run(p, 333);
    llm_pool_free(p);
}

typedef struct caller_arg {
    llm_pool *pool;
    int reps;
    bool ok;
} caller_arg;

static void *caller_main(void *arg)
{
    caller_arg *a = arg;
    a->ok = true;
    for (int i = 0; i < a->reps; i++)
        a->ok = run_ok(a->pool, 50 + i % 13) && a->ok;
    return NULL;
}

/* Two threads sharing one pool: their runs are serialized, none is mixed up. */
static void test_two_callers(void **state)
{
    (void)state;
    llm_pool *p = llm_pool_new(3);
    caller_arg a = {p, 500, false}, b = {p, 500, false};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, caller_main, &a), 0);
    caller_main(&b);
    pthread_join(t, NULL);
    assert_true(a.ok);
    assert_true(b.ok);
    llm_pool_free(p);
}

/* llm_pool_run_chunked_then: every thread that took part calls `then`
 * once, after the run's items are all done by it, on a copy of the blob
 * (the caller overwrites its own blob as soon as the call returns, as the
 * forward pass's stack does); a run that is not shared out calls it once
 * on the caller. */
typedef struct then_blob {
    atomic_int *calls; /* per thread */
    atomic_int *bad;
    atomic_llong *items_done;
    int64_t n;
    char tag[40];
} then_blob;

static void count_items(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    atomic_fetch_add((atomic_llong *)arg, end - begin);
}

/* Set by the test once llm_pool_run_chunked_then returned and the
 * caller's blob was overwritten: a worker's then_fn waits for it (up to
 * 2 s) before it reads its blob, so a pool that handed the workers the
 * caller's blob instead of a copy is caught every time. */
static atomic_bool caller_returned;

static void then_fn(const void *arg, int thread, int n_threads)
{
    const then_blob *b = arg;
    for (int i = 0; thread > 0 && i < 200000 && !atomic_load(&caller_returned); i++)
        usleep(10);
    if (thread < 0 || thread >= n_threads || strcmp(b->tag, "run blob") != 0)
        atomic_fetch_add(b->bad, 1);
    /* This thread took no more items once it got here; the caller's call
     * comes after all of them. */
    if (thread == 0 && atomic_load(b->items_done) != b->n)
        atomic_fetch_add(b->bad, 1);
    atomic_fetch_add(&b->calls[thread], 1);
}

static void test_then(void **state)
{
    (void)state;
    for (int T = 1; T <= 4; T++) {
        llm_pool *p = llm_pool_new(T);
        atomic_int calls[4], bad = 0;
        for (int rep = 0; rep < 200; rep++) {
            int64_t n = rep % 2 ? 1 + rep % 7 : 100 + rep; /* some runs not shared out */
            atomic_llong done = 0;
            for (int t = 0; t < 4; t++)
                atomic_init(&calls[t], 0);
            then_blob b = {calls, &bad, &done, n, "run blob"};
            atomic_store(&caller_returned, false);
            llm_pool_run_chunked_then(p, n, 8, count_items, &done, then_fn, &b, sizeof b);
            strcpy(b.tag, "overwritten"); /* the workers use their copies */
            atomic_store(&caller_returned, true);
            /* Workers may still be in then_fn: wait for their calls. */
            bool shared = T > 1 && n > 8;
            for (int spin = 0; spin < 100000; spin++) {
                int sum = 0;
                for (int t = 0; t < T; t++)
                    sum += atomic_load(&calls[t]);
                if (sum == (shared ? T : 1))
                    break;
                usleep(10);
            }
            assert_int_equal(atomic_load(&done), n);
            assert_int_equal(atomic_load(&calls[0]), 1);
            for (int t = 1; t < T; t++)
                assert_int_equal(atomic_load(&calls[t]), shared ? 1 : 0);
        }
        assert_int_equal(atomic_load(&bad), 0);
        /* A NULL then and a NULL pool. */
        atomic_llong done = 0;
        llm_pool_run_chunked_then(p, 50, 4, count_items, &done, NULL, NULL, 0);
        assert_int_equal(atomic_load(&done), 50);
        llm_pool_free(p);
    }
    atomic_int calls[4] = {0}, bad = 0;
    atomic_llong done = 0;
    then_blob b = {calls, &bad, &done, 9, "run blob"};
    atomic_store(&caller_returned, true);
    llm_pool_run_chunked_then(NULL, 9, 2, count_items, &done, then_fn, &b, sizeof b);
    assert_int_equal(atomic_load(&done), 9);
    assert_int_equal(atomic_load(&calls[0]), 1);
    assert_int_equal(atomic_load(&bad), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_threads),
        cmocka_unit_test(test_fewer_items_than_threads),
        cmocka_unit_test(test_repeated_runs),
        cmocka_unit_test(test_runs_after_sleep),
        cmocka_unit_test(test_null_and_default),
        cmocka_unit_test(test_two_callers),
        cmocka_unit_test(test_then),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
