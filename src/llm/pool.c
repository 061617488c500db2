/* The persistent thread pool: see pool.h.
 *
 * A run is published by bumping a generation counter after the job fields are
 * written; workers notice the new generation (spinning briefly, then on a
 * condition variable), work on their chunk and count down `pending`; the
 * caller works on chunk 0 and then waits for `pending` to reach zero (again
 * spinning briefly before sleeping). The mutex and condition variables are
 * touched only when somebody actually sleeps: a sleeper registers itself
 * (sequentially consistent) before its last look at the counter, and the
 * other side looks for sleepers after changing the counter, so one of the two
 * always sees the other and no wake-up is lost.
 *
 * A chunked run (llm_pool_run_chunked) publishes the same way, with each
 * thread's static range behind a cursor of its own: a thread takes `grain`
 * items at a time from the front of its range, then from the front of the
 * others' (stealing). Taking from one's own cursor touches a cache line no
 * other thread writes until the stealing starts, and consecutive chunks are
 * adjacent, so a thread streams its weights in one run the hardware
 * prefetcher follows; only the end of a run is shared out. */
#include "llm/pool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"

/* Pauses before a waiter goes to sleep: long enough to bridge the gap between
 * two matvecs of one token, short enough that an idle pool soon sleeps. */
enum { SPIN_ROUNDS = 1 << 14, SPIN_YIELD_EVERY = 256, MAX_THREADS = 512 };

/* A thread's range in a chunked run: next is the first item not yet taken,
 * end its limit. Padded to a cache line: two cursors' `next` are 64 bytes
 * apart, never on one line, so threads taking from their own ranges do not
 * contend. */
struct cursor {
    atomic_int_fast64_t next;
    int64_t end;
    char pad[64 - sizeof(atomic_int_fast64_t) - sizeof(int64_t)];
};

typedef struct worker {
    struct llm_pool *pool;
    int index;
    pthread_t thread;
} worker;

struct llm_pool {
    int n_threads;             /* workers + the caller */
    worker *workers;           /* n_threads - 1 of them */
    pthread_mutex_t run_lock;  /* one run at a time */
    pthread_mutex_t lock;      /* guards sleeping on the two conditions */
    pthread_cond_t wake;       /* workers: a new generation */
    pthread_cond_t done;       /* caller: pending reached zero */
    atomic_uint_fast64_t gen;
    atomic_int pending;
    atomic_int sleepers;
    atomic_bool caller_sleeping;
    atomic_bool stop;
    /* The current job: written by the caller before gen is bumped. */
    llm_pool_fn fn;
    void *arg;
    int64_t n_items;
    int64_t grain;             /* 0: one contiguous chunk per thread */
    struct cursor *cursors;    /* chunked runs: one per thread */
    llm_pool_then_fn then;     /* NULL: nothing after the run */
    size_t then_size;
    _Alignas(64) unsigned char then_arg[LLM_POOL_THEN_MAX];
    atomic_uint_fast64_t runs; /* runs handed to the workers */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* One spin step; now and then gives the core away, so that an oversubscribed
 * machine (more threads than cores) still makes progress. */
static void spin_step(int round)
{
    if ((round + 1) % SPIN_YIELD_EVERY == 0)
        sched_yield();
    else
        cpu_relax();
}

/* Takes chunks from cursor c until its range is used up: grain items at a
 * time while at least two grains are left, then half of what is left (at
 * least one item), so the last pieces of every range are small and a
 * thread that is done takes over most of what a slower one has left. With
 * chunks of a fixed quarter share, the two threads of a 2-core VM ended
 * 10-12% of a matmul apart (per-core read rates differ by that much, run to
 * run), which the stealing could not even out: the slower thread had
 * already taken its last quarter (docs/bench.md). */
static void take_chunks(llm_pool *p, struct cursor *c, int t)
{
    int64_t g = p->grain;
    /* Relaxed is enough: the cursor only hands out ranges; what fn writes
     * is published by the pending count, as for a static run. */
    int64_t begin = atomic_load_explicit(&c->next, memory_order_relaxed);
    for (;;) {
        int64_t left = c->end - begin;
        if (left <= 0)
            return;
        int64_t take = left >= 2 * g ? g : (left + 1) / 2;
        if (atomic_compare_exchange_weak_explicit(&c->next, &begin, begin + take,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            p->fn(p->arg, begin, begin + take, t);
            begin = atomic_load_explicit(&c->next, memory_order_relaxed);
        }
    }
}

static void run_chunk(llm_pool *p, int t)
{
    int64_t n = p->n_items, nt = p->n_threads;
    if (p->grain == 0) {
        int64_t begin = n * t / nt, end = n * (t + 1) / nt;
        if (begin < end)
            p->fn(p->arg, begin, end, t);
        return;
    }
    for (int i = 0; i < nt; i++) /* its own range first, then the others' */
        take_chunks(p, &p->cursors[(t + i) % nt], t);
}

/* Returns the first generation different from seen. */
static uint_fast64_t wait_for_job(llm_pool *p, uint_fast64_t seen)
{
    uint_fast64_t g;
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen)
            return g;
        spin_step(i);
    }
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->sleepers, 1);
    while ((g = atomic_load(&p->gen)) == seen)
        pthread_cond_wait(&p->wake, &p->lock);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->lock);
    return g;
}

static void *worker_main(void *v)
{
    worker *w = v;
    llm_pool *p = w->pool;
    uint_fast64_t seen = 0;
    for (;;) {
        seen = wait_for_job(p, seen);
        if (atomic_load(&p->stop))
            return NULL;
        run_chunk(p, w->index);
        /* The job's fields are the caller's again once pending drops. */
        llm_pool_then_fn then = p->then;
        _Alignas(64) unsigned char then_arg[LLM_POOL_THEN_MAX];
        if (then)
            memcpy(then_arg, p->then_arg, p->then_size);
        int nt = p->n_threads;
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->caller_sleeping)) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
        if (then)
            then(then_arg, w->index, nt);
    }
}

/* Bumps the generation and wakes sleeping workers, if any. */
static void publish(llm_pool *p, bool force_wake)
{
    atomic_fetch_add(&p->gen, 1);
    if (force_wake || atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
}

static void wait_for_workers(llm_pool *p)
{
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0)
            return;
        spin_step(i);
    }
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->caller_sleeping, true);
    while (atomic_load(&p->pending) > 0)
        pthread_cond_wait(&p->done, &p->lock);
    atomic_store(&p->caller_sleeping, false);
    pthread_mutex_unlock(&p->lock);
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

llm_pool *llm_pool_new(int n_threads)
{
    if (n_threads <= 0)
        n_threads = online_cores();
    if (n_threads > MAX_THREADS)
        n_threads = MAX_THREADS;
    llm_pool *p = ccai_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->run_lock, NULL);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->caller_sleeping, false);
    atomic_init(&p->stop, false);
    p->cursors = ccai_xcalloc((size_t)n_threads, sizeof *p->cursors);
    for (int i = 0; i < n_threads; i++)
        atomic_init(&p->cursors[i].next, 0);
    atomic_init(&p->runs, 0);
    p->workers = ccai_xcalloc((size_t)n_threads, sizeof *p->workers);
    p->n_threads = 1;

    /* Workers inherit a full signal mask: signals go to the process's own
     * threads (the server's loop), never to a compute thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 1; i < n_threads; i++) {
        worker *w = &p->workers[i - 1];
        w->pool = p;
        w->index = i;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            break;
        p->n_threads = i + 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p;
}

void llm_pool_free(llm_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->run_lock);
    atomic_store(&p->stop, true);
    publish(p, true);
    for (int i = 1; i < p->n_threads; i++)
        pthread_join(p->workers[i - 1].thread, NULL);
    pthread_mutex_unlock(&p->run_lock);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->run_lock);
    free(p->workers);
    free(p->cursors);
    free(p);
}

int llm_pool_size(const llm_pool *p)
{
    return p ? p->n_threads : 1;
}

/* One run: grain 0 splits statically, else hands out chunks of grain. */
static void run(llm_pool *p, int64_t n_items, int64_t grain, llm_pool_fn fn, void *arg,
                llm_pool_then_fn then, const void *then_arg, size_t then_size)
{
    pthread_mutex_lock(&p->run_lock);
    p->then = then;
    p->then_size = then_size;
    if (then)
        memcpy(p->then_arg, then_arg, then_size);
    p->fn = fn;
    p->arg = arg;
    p->n_items = n_items;
    p->grain = grain;
    for (int t = 0; grain && t < p->n_threads; t++) {
        atomic_store_explicit(&p->cursors[t].next, n_items * t / p->n_threads,
                              memory_order_relaxed);
        p->cursors[t].end = n_items * (t + 1) / p->n_threads;
    }
    atomic_store(&p->pending, p->n_threads - 1);
    atomic_fetch_add_explicit(&p->runs, 1, memory_order_relaxed);
    publish(p, false);
    run_chunk(p, 0);
    wait_for_workers(p);
    if (then)
        then(then_arg, 0, p->n_threads);
    pthread_mutex_unlock(&p->run_lock);
}

void llm_pool_run(llm_pool *p, int64_t n_items, llm_pool_fn fn, void *arg)
{
    if (n_items <= 0)
        return;
    if (!p || p->n_threads == 1 || n_items == 1)
        fn(arg, 0, n_items, 0);
    else
        run(p, n_items, 0, fn, arg, NULL, NULL, 0);
}

void llm_pool_run_chunked_then(llm_pool *p, int64_t n_items, int64_t grain, llm_pool_fn fn,
                               void *arg, llm_pool_then_fn then, const void *then_arg,
                               size_t then_size)
{
    if (then_size > LLM_POOL_THEN_MAX)
        abort(); /* a programming error: the blob is copied into the pool */
    grain = grain < 1 ? 1 : grain;
    if (n_items > 0 && p && p->n_threads > 1 && n_items > grain) {
        run(p, n_items, grain, fn, arg, then, then_arg, then_size);
        return;
    }
    if (n_items > 0)
        fn(arg, 0, n_items, 0);
    if (then)
        then(then_arg, 0, llm_pool_size(p));
}

void llm_pool_run_chunked(llm_pool *p, int64_t n_items, int64_t grain, llm_pool_fn fn,
                          void *arg)
{
    llm_pool_run_chunked_then(p, n_items, grain, fn, arg, NULL, NULL, 0);
}

uint64_t llm_pool_runs(const llm_pool *p)
{
    return p ? atomic_load_explicit(&p->runs, memory_order_relaxed) : 0;
}
