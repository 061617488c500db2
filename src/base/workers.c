/* Bounded detached workers (workers.h). */
#include "base/workers.h"

void ccai_workers_init(ccai_workers *w, int max)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->idle, NULL);
    w->running = 0;
    w->max = max;
}

void ccai_workers_destroy(ccai_workers *w)
{
    ccai_workers_wait_idle(w);
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
    pthread_attr_t a;
    pthread_t t;
    bool ok = pthread_attr_init(&a) == 0;
    if (ok) {
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        ok = pthread_create(&t, &a, fn, arg) == 0;
        pthread_attr_destroy(&a);
    }
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
