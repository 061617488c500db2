/* A persistent thread pool for the forward pass (docs/engine.md, "The pool").
 *
 * llm_pool_run splits [0, n_items) into one contiguous chunk per thread and
 * calls fn on each chunk; the calling thread takes chunk 0 and returns when
 * every chunk is done. Threads are created once by llm_pool_new; between runs
 * the workers spin for a short while (a forward pass issues runs back to back)
 * and then sleep on a condition variable, so an idle pool costs no CPU.
 *
 * llm_pool_run_chunked cuts the shares into chunks and lets a thread that
 * is done take the others' remaining chunks, which keeps threads busy when
 * the machine is shared.
 *
 * Runs from different threads on one pool are serialized (each waits for the
 * previous to finish); fn must not call llm_pool_run on the same pool. */
#ifndef CCAI_LLM_POOL_H
#define CCAI_LLM_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct llm_pool llm_pool;

/* Work on items [begin, end) as thread `thread` (0 = the caller,
 * 0 <= thread < llm_pool_size). Never called with an empty range. */
typedef void (*llm_pool_fn)(void *arg, int64_t begin, int64_t end, int thread);

/* A pool of n_threads threads counting the caller (0 = the number of online
 * cores). Never fails: if the system refuses to start a worker, the pool
 * runs with the workers it has (llm_pool_size tells). Free with llm_pool_free. */
llm_pool *llm_pool_new(int n_threads);

/* Stops and joins the workers. NULL is accepted. */
void llm_pool_free(llm_pool *p);

/* Threads taking part in a run, the caller included (1 for a NULL pool). */
int llm_pool_size(const llm_pool *p);

/* Calls fn over [0, n_items) split into contiguous chunks, one per thread
 * (thread t of T gets [n*t/T, n*(t+1)/T)); threads whose chunk is empty are
 * not called. A single item, a one-thread pool or a NULL pool runs
 * fn(arg, 0, n, 0) on the caller. Returns when all chunks are done; what fn
 * wrote is visible to the caller afterwards. */
void llm_pool_run(llm_pool *p, int64_t n_items, llm_pool_fn fn, void *arg);

/* Like llm_pool_run, but each thread takes its contiguous share `grain`
 * items at a time (while two grains are left; then half of what is left,
 * so the last pieces are small) and, when done, takes what is left of the
 * other threads' shares the same way (stealing), so a thread that is
 * slowed down (another process on its core, a slower share of the memory
 * bandwidth) ends up with fewer items instead of holding up the run. fn gets ranges of at most grain items, each item exactly once, on
 * any thread and in any order; with n_items <= grain, a one-thread pool or
 * a NULL pool it runs fn(arg, 0, n_items, 0) on the caller. grain < 1
 * counts as 1. */
void llm_pool_run_chunked(llm_pool *p, int64_t n_items, int64_t grain, llm_pool_fn fn,
                          void *arg);

/* What a thread does once it has no work left in a chunked run: called by
 * each thread after its last item, on a copy of the `size` bytes at arg
 * (at most LLM_POOL_THEN_MAX) that stays valid however soon the caller
 * starts the next run. A worker calls it after reporting itself done, so
 * it delays nobody: it is meant for getting ready for the next run (the
 * forward pass prefetches its share of the next matrix into the cache
 * while the caller does the serial work between two matrices). The caller
 * calls it last, before llm_pool_run_chunked_then returns. */
typedef void (*llm_pool_then_fn)(const void *arg, int thread, int n_threads);
enum { LLM_POOL_THEN_MAX = 256 };

/* llm_pool_run_chunked, then `then` on every thread that took part (only
 * the caller when the run is not shared out). then may be NULL. */
void llm_pool_run_chunked_then(llm_pool *p, int64_t n_items, int64_t grain, llm_pool_fn fn,
                               void *arg, llm_pool_then_fn then, const void *then_arg,
                               size_t then_size);

/* Runs handed to the workers so far (runs done inline on the caller are not
 * counted: they cost nothing); 0 for NULL. For measuring the hand-off cost
 * per token (docs/bench.md). */
uint64_t llm_pool_runs(const llm_pool *p);

#endif
