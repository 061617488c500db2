/* base/workers.c: at most `max` workers at once, each place given back by
 * done (or by a spawn that fails), and wait_idle returning only once the
 * last worker is done. */
#include "testutil.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "base/workers.h"

typedef struct gate {
    ccai_workers *w;
    atomic_int started, release, finished;
} gate;

/* Runs until the test opens the gate, then gives its place back. */
static void *held(void *arg)
{
    gate *g = arg;
    atomic_fetch_add(&g->started, 1);
    while (!atomic_load(&g->release))
        ;
    atomic_fetch_add(&g->finished, 1);
    ccai_workers_done(g->w);
    return NULL;
}

static void test_bounded(void **state)
{
    (void)state;
    ccai_workers w;
    ccai_workers_init(&w, 3);
    gate g = {.w = &w};
    for (int i = 0; i < 3; i++) {
        assert_true(ccai_workers_take(&w));
        assert_true(ccai_workers_spawn(&w, held, &g));
    }
    /* A fourth place is refused while three run. */
    assert_false(ccai_workers_take(&w));
    while (atomic_load(&g.started) < 3)
        ;
    assert_int_equal(atomic_load(&g.finished), 0);
    atomic_store(&g.release, 1);
    ccai_workers_wait_idle(&w);
    /* wait_idle came back only after all three were done. */
    assert_int_equal(atomic_load(&g.finished), 3);
    /* Their places are free again. */
    for (int i = 0; i < 3; i++)
        assert_true(ccai_workers_take(&w));
    assert_false(ccai_workers_take(&w));
    for (int i = 0; i < 3; i++)
        ccai_workers_done(&w);
    ccai_workers_destroy(&w);
}

/* A place taken and given back by done without a thread (what a failed
 * spawn does) leaves the count where it was. */
static void test_give_back(void **state)
{
    (void)state;
    ccai_workers w;
    ccai_workers_init(&w, 1);
    assert_true(ccai_workers_take(&w));
    assert_false(ccai_workers_take(&w));
    ccai_workers_done(&w);
    assert_true(ccai_workers_take(&w));
    ccai_workers_done(&w);
    ccai_workers_wait_idle(&w); /* returns at once: none running */
    ccai_workers_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_give_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
