/* Detached worker threads, a bounded number at once, and a wait for all of
 * them to end (the HTTP services hand slow work to such threads: Argon2
 * hashing in the server, appraisals in the verifier).
 *
 *   take      reserve a place (false when `max` are running)
 *   spawn     start fn(arg) detached in a taken place (false, the place
 *             given back, when no thread can be started)
 *   done      what fn calls last: gives its place back
 *   wait_idle blocks until no worker runs (before freeing what they use) */
#ifndef CCAI_BASE_WORKERS_H
#define CCAI_BASE_WORKERS_H

#include <pthread.h>
#include <stdbool.h>

typedef struct ccai_workers {
    pthread_mutex_t mu;
    pthread_cond_t idle;
    int running, max; /* running under mu */
} ccai_workers;

void ccai_workers_init(ccai_workers *w, int max);
/* Waits for the running workers, then releases the lock and condition. */
void ccai_workers_destroy(ccai_workers *w);
bool ccai_workers_take(ccai_workers *w);
bool ccai_workers_spawn(ccai_workers *w, void *(*fn)(void *), void *arg);
void ccai_workers_done(ccai_workers *w);
void ccai_workers_wait_idle(ccai_workers *w);

#endif
