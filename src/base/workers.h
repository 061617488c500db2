/* Worker threads for slow work, a bounded number of jobs at once, and a wait
 * for all of them to end (the HTTP services hand such work to them: Argon2
 * hashing in the server, appraisals in the verifier).
 *
 *   take      reserve a place (false when `max` jobs hold one)
 *   spawn     run fn(arg) on a worker in a taken place: a thread waiting
 *             for work takes it, else a new thread is started (at most
 *             `max` of them, kept for the next jobs); false, the place
 *             given back, when no thread exists and none can be started
 *   done      what fn calls last: gives its place back
 *   wait_idle blocks until every place is given back (before freeing what
 *             the jobs use)
 *   destroy   waits for the jobs, then ends and joins the threads
 *
 * The threads stay once started: a thread start per job cost the
 * verifier's single client ~10% of its appraisals a second
 * (bench/bench_verifier, docs/verifier.md). */
#ifndef CCAI_BASE_WORKERS_H
#define CCAI_BASE_WORKERS_H

#include <pthread.h>
#include <stdbool.h>

typedef struct ccai_worker_job {
    void *(*fn)(void *);
    void *arg;
} ccai_worker_job;

typedef struct ccai_workers {
    pthread_mutex_t mu;
    pthread_cond_t idle;    /* running reached zero */
    pthread_cond_t posted;  /* a job was queued, or stop */
    int running, max;       /* places taken; under mu, as all below */
    int threads, waiting;   /* threads started; of them, waiting for a job */
    bool stop;
    pthread_t *tids;        /* max of them, the first `threads` started */
    ccai_worker_job *queue; /* a ring of max: jobs not yet taken by a thread */
    int head, queued;
} ccai_workers;

void ccai_workers_init(ccai_workers *w, int max);
/* Waits for the jobs, ends the threads, releases what init made. */
void ccai_workers_destroy(ccai_workers *w);
bool ccai_workers_take(ccai_workers *w);
bool ccai_workers_spawn(ccai_workers *w, void *(*fn)(void *), void *arg);
void ccai_workers_done(ccai_workers *w);
void ccai_workers_wait_idle(ccai_workers *w);
/* Threads started so far (for tests and figures). */
int ccai_workers_threads(ccai_workers *w);

#endif
