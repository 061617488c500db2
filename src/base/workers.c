/* Bounded workers that stay once started (workers.h).
 *
 * Jobs wait in a ring of `max` entries until a thread takes them: a place
 * is taken before a job is queued and given back only by the job (done),
 * so the ring never holds more than `max`. spawn wakes a waiting thread
 * when there is one for every queued job, else starts a thread while
 * fewer than `max` exist; otherwise a busy thread, whose job has already
 * given its place back, takes it when it comes round. */
#include "base/workers.h"

#include <stdlib.h>

#include "base/mem.h"

void ccai_workers_init(ccai_workers *w, int max)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->idle, NULL);
    pthread_cond_init(&w->posted, NULL);
    w->running = 0;
    w->max = max > 0 ? max : 1;
    w->threads = 0;
    w->waiting = 0;
    w->stop = false;
    w->tids = ccai_xcalloc((size_t)w->max, sizeof *w->tids);
    w->queue = ccai_xcalloc((size_t)w->max, sizeof *w->queue);
    w->head = 0;
    w->queued = 0;
}

static void *worker_main(void *arg)
{
    ccai_workers *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->queued == 0 && !w->stop) {
            w->waiting++;
            pthread_cond_wait(&w->posted, &w->mu);
            w->waiting--;
        }
        if (w->queued == 0)
            break; /* stopped, nothing left */
        ccai_worker_job j = w->queue[w->head];
        w->head = (w->head + 1) % w->max;
        w->queued--;
        pthread_mutex_unlock(&w->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void ccai_workers_destroy(ccai_workers *w)
{
    ccai_workers_wait_idle(w);
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->posted);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->threads; i++)
        pthread_join(w->tids[i], NULL);
    free(w->tids);
    free(w->queue);
    pthread_cond_destroy(&w->posted);
    pthread_cond_destroy(&w->idle);
    pthread_mutex_destroy(&w->mu);
}

bool ccai_workers_take(ccai_workers *w)
{
    pthread_mutex_lock(&w->mu);
    bool ok = w->running < w->max;
    if (ok)
        w->running++;
    pthread_mutex_unlock(&w->mu);
    return ok;
}

void ccai_workers_done(ccai_workers *w)
{
    pthread_mutex_lock(&w->mu);
    if (--w->running == 0)
        pthread_cond_broadcast(&w->idle);
    pthread_mutex_unlock(&w->mu);
}

bool ccai_workers_spawn(ccai_workers *w, void *(*fn)(void *), void *arg)
{
    pthread_mutex_lock(&w->mu);
    w->queue[(w->head + w->queued) % w->max] = (ccai_worker_job){fn, arg};
    w->queued++;
    bool ok = true;
    if (w->waiting >= w->queued) {
        pthread_cond_signal(&w->posted);
    } else if (w->threads < w->max &&
               pthread_create(&w->tids[w->threads], NULL, worker_main, w) == 0) {
        w->threads++;
    } else if (w->threads == 0) {
        /* Nobody to run it: the job leaves the ring, its place is given
         * back. (With a thread, the job waits for it.) */
        w->queued--;
        ok = false;
    }
    pthread_mutex_unlock(&w->mu);
    if (!ok)
        ccai_workers_done(w);
    return ok;
}

void ccai_workers_wait_idle(ccai_workers *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->running > 0)
        pthread_cond_wait(&w->idle, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

int ccai_workers_threads(ccai_workers *w)
{
    pthread_mutex_lock(&w->mu);
    int n = w->threads;
    pthread_mutex_unlock(&w->mu);
    return n;
}
