/* base/workers.c: at most `max` workers at once, each place given back by
 * done (or by a spawn that fails), wait_idle returning only once the last
 * worker is done, threads kept for the next jobs and ended by destroy. */
#include "testutil.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

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

/* Threads of this process (entries of /proc/self/task). */
static int task_count(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

typedef struct seen {
    ccai_workers *w;
    pid_t tid;
} seen;

/* Notes the thread it ran on. */
static void *note_tid(void *arg)
{
    seen *s = arg;
    s->tid = gettid();
    ccai_workers_done(s->w);
    return NULL;
}

/* Jobs one after the other run on the thread the first one started (a
 * thread per job gave 40 threads here), and destroy ends it. */
static void test_threads_kept(void **state)
{
    (void)state;
    int before = task_count();
    ccai_workers w;
    ccai_workers_init(&w, 2);
    seen s[40];
    for (int i = 0; i < 40; i++) {
        s[i] = (seen){.w = &w};
        assert_true(ccai_workers_take(&w));
        assert_true(ccai_workers_spawn(&w, note_tid, &s[i]));
        ccai_workers_wait_idle(&w);
    }
    /* A second thread only where a job came while the first one was still
     * between its done and its next wait. */
    int threads = ccai_workers_threads(&w);
    assert_in_range(threads, 1, 2);
    int distinct = 0;
    for (int i = 0; i < 40; i++) {
        bool again = false;
        for (int k = 0; k < i; k++)
            again |= s[k].tid == s[i].tid;
        distinct += !again;
        assert_int_not_equal(s[i].tid, gettid());
    }
    assert_int_equal(distinct, threads);
    assert_int_equal(task_count(), before + threads);
    ccai_workers_destroy(&w);
    assert_int_equal(task_count(), before);
}

/* Three held jobs start three threads; the next three run on the same
 * three, none more. */
static void test_threads_bounded(void **state)
{
    (void)state;
    ccai_workers w;
    ccai_workers_init(&w, 3);
    for (int round = 0; round < 2; round++) {
        gate g = {.w = &w};
        for (int i = 0; i < 3; i++) {
            assert_true(ccai_workers_take(&w));
            assert_true(ccai_workers_spawn(&w, held, &g));
        }
        while (atomic_load(&g.started) < 3)
            ;
        assert_int_equal(ccai_workers_threads(&w), 3);
        atomic_store(&g.release, 1);
        ccai_workers_wait_idle(&w);
        assert_int_equal(atomic_load(&g.finished), 3);
    }
    assert_int_equal(ccai_workers_threads(&w), 3);
    ccai_workers_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_give_back),
        cmocka_unit_test(test_threads_kept),
        cmocka_unit_test(test_threads_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
