/* The scheduler (server.h): `parallel` worker threads generate for the
 * requests the route handlers submit, first come first served, with at most
 * queue_max requests waiting beyond the running ones.
 *
 * Each worker owns one llm_session per model it has served, made on first
 * use with the server's n_ctx: sequences of one model share its weights (the
 * engine) and each has its own KV cache. A session keeps what its cache
 * holds, so a chat's next turn only evaluates what is new, but only for the
 * same owner: a cached prefix shared across users would let one time
 * another's prompt.
 *
 * Every generation stops within a token or two when the client goes away
 * (ccai_http_stream_cancelled on job->stream), at the request's wall-clock
 * limit (reported as "length"), or when the scheduler is freed. done is
 * called exactly once per accepted job; then the job is freed here. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "server/server.h"

/* A session a worker keeps for one engine. */
typedef struct sched_session {
    llm_engine *engine;
    llm_session *sess;
    int64_t owner;
    struct sched_session *next;
} sched_session;

typedef struct sched_worker {
    ccai_sched *q;
    pthread_t thread;
    bool started;
    sched_session *sessions;
} sched_worker;

struct ccai_sched {
    ccai_server *srv;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* FIFO ring of waiting jobs; capacity covers every job that can be
     * accepted (running + queued <= parallel + queue_max). */
    ccai_job **ring;
    size_t cap, head, n_queued;
    int running;
    int parallel, queue_max;
    atomic_bool stopping;
    sched_worker *workers;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ccai_job_free(ccai_job *job)
{
    if (!job)
        return;
    if (job->prompt) {
        ccai_wipe(job->prompt, job->n_prompt * sizeof *job->prompt);
        free(job->prompt);
    }
    for (size_t i = 0; i < job->n_stop; i++) {
        ccai_wipe(job->stop[i], strlen(job->stop[i]));
        free(job->stop[i]);
    }
    free(job->stop);
    free(job);
}

/* ---- one job on a worker ------------------------------------------------------------- */

typedef struct run_ctx {
    ccai_sched *q;
    ccai_job *job;
    uint64_t deadline_ns; /* 0: none */
    bool timed_out;
} run_ctx;

/* Between the engine and the handler's emit: every piece of text is a
 * chance to notice that the request should stop. */
/* A job without a stream has nobody who could leave. */
static bool client_gone(const ccai_job *job)
{
    return job->stream && ccai_http_stream_cancelled(job->stream);
}

/* The engine asks between prompt pieces and tokens: a client that left,
 * a server stopping or the request's time limit ends the job there, also
 * in the middle of a long prompt. */
static bool run_keep_going(void *arg)
{
    run_ctx *rc = arg;
    if (atomic_load(&rc->q->stopping) || client_gone(rc->job))
        return false;
    if (rc->deadline_ns && mono_ns() > rc->deadline_ns) {
        rc->timed_out = true;
        return false;
    }
    return true;
}

static bool run_emit(void *arg, const char *text, size_t n, bool thinking)
{
    run_ctx *rc = arg;
    return run_keep_going(rc) && rc->job->emit(rc->job->arg, text, n, thinking);
}

/* The worker's session for engine e, made on first use. The cached prefix
 * is dropped when the owner changes. */
static ccai_code worker_session(sched_worker *w, llm_engine *e, int64_t owner,
                                llm_session **out, ccai_err *err)
{
    sched_session *ss = w->sessions;
    while (ss && ss->engine != e)
        ss = ss->next;
    if (!ss) {
        llm_session *sess = NULL;
        ccai_code rc = llm_session_new(e, w->q->srv->cfg->n_ctx, &sess, err);
        if (rc)
            return rc;
        ss = ccai_xcalloc(1, sizeof *ss);
        ss->engine = e;
        ss->sess = sess;
        ss->owner = owner;
        ss->next = w->sessions;
        w->sessions = ss;
    } else if (ss->owner != owner) {
        llm_session_reset(ss->sess);
        ss->owner = owner;
    }
    *out = ss->sess;
    return CCAI_OK;
}

static void run_job(sched_worker *w, ccai_job *job)
{
    ccai_sched *q = w->q;
    ccai_err err = {0};
    llm_gen_stats st = {.done_reason = "cancel"};
    ccai_code rc = CCAI_OK;
    /* A client that left while its request waited costs nothing more. */
    if (atomic_load(&q->stopping) || client_gone(job)) {
        job->done(job, &st, NULL);
        return;
    }
    llm_session *sess = NULL;
    /* Loaded models (the usual case) skip the registry lock, which a model
     * being loaded holds for long; the pointer is set once. */
    llm_engine *e = __atomic_load_n(&job->model->engine, __ATOMIC_ACQUIRE);
    if (!e) {
        if ((rc = ccai_models_load(q->srv, job->model, &err)))
            goto out;
        e = job->model->engine;
    }
    if (!e) {
        rc = ccai_fail(&err, CCAI_ERR_STATE, "model '%s' is not loaded", job->model->name);
        goto out;
    }
    if ((rc = worker_session(w, e, job->owner, &sess, &err)))
        goto out;
    if (job->prepare && (rc = job->prepare(job, e, &err)))
        goto out;
    llm_gen_params p = job->params;
    p.stop = (const char *const *)job->stop;
    p.n_stop = job->n_stop;
    p.keep_going = run_keep_going;
    int limit = q->srv->cfg->request_timeout_s;
    run_ctx ctx = {.q = q, .job = job};
    if (limit > 0)
        ctx.deadline_ns = mono_ns() + (uint64_t)limit * 1000000000ull;
    rc = llm_generate(sess, job->prompt, job->n_prompt, &p, run_emit, &ctx, &st, &err);
    if (rc) {
        /* What the cache holds after a failed evaluation is not worth
         * trusting for the next request. */
        llm_session_reset(sess);
    } else if (ctx.timed_out) {
        st.done_reason = "length"; /* the server's limit, like max_tokens */
    }
out:
    if (rc && !st.done_reason)
        st.done_reason = "cancel";
    job->done(job, &st, rc ? &err : NULL);
}

static void *worker_main(void *arg)
{
    sched_worker *w = arg;
    ccai_sched *q = w->q;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!atomic_load(&q->stopping) && q->n_queued == 0)
            pthread_cond_wait(&q->cv, &q->mu);
        if (atomic_load(&q->stopping))
            break; /* ccai_sched_free answers what is still queued */
        ccai_job *job = q->ring[q->head];
        q->ring[q->head] = NULL;
        q->head = (q->head + 1) % q->cap;
        q->n_queued--;
        q->running++;
        pthread_mutex_unlock(&q->mu);
        run_job(w, job);
        ccai_job_free(job);
        pthread_mutex_lock(&q->mu);
        q->running--;
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* ---- the API --------------------------------------------------------------------------- */

ccai_code ccai_sched_new(ccai_server *s, int parallel, int queue_max, ccai_sched **out,
                         ccai_err *err)
{
    if (parallel < 1 || parallel > 256)
        return ccai_fail(err, CCAI_ERR_ARG, "parallel must be 1..256, got %d", parallel);
    if (queue_max < 0 || queue_max > 65536)
        return ccai_fail(err, CCAI_ERR_ARG, "queue size must be 0..65536, got %d", queue_max);
    ccai_sched *q = ccai_xcalloc(1, sizeof *q);
    q->srv = s;
    q->parallel = parallel;
    q->queue_max = queue_max;
    q->cap = (size_t)parallel + (size_t)queue_max;
    q->ring = ccai_xcalloc(q->cap, sizeof *q->ring);
    atomic_init(&q->stopping, false);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->workers = ccai_xcalloc((size_t)parallel, sizeof *q->workers);
    for (int i = 0; i < parallel; i++) {
        sched_worker *w = &q->workers[i];
        w->q = q;
        int e = pthread_create(&w->thread, NULL, worker_main, w);
        if (e) {
            ccai_sched_free(q);
            return ccai_fail(err, CCAI_ERR_STATE, "cannot start generation worker %d of %d (%s)",
                             i + 1, parallel, strerror(e));
        }
        w->started = true;
        char name[32];
        snprintf(name, sizeof name, "ccai-gen-%d", i);
        name[15] = '\0'; /* the kernel's limit */
        pthread_setname_np(w->thread, name);
    }
    *out = q;
    return CCAI_OK;
}

static bool full_locked(const ccai_sched *q)
{
    return (size_t)q->running + q->n_queued >= q->cap;
}

bool ccai_sched_full(ccai_sched *q, int *running, int *queued)
{
    pthread_mutex_lock(&q->mu);
    bool full = full_locked(q);
    if (running)
        *running = q->running;
    if (queued)
        *queued = (int)q->n_queued;
    pthread_mutex_unlock(&q->mu);
    return full;
}

ccai_code ccai_sched_submit(ccai_sched *q, ccai_job *job, ccai_err *err)
{
    if (!job || !job->model || !job->emit || !job->done)
        return ccai_fail(err, CCAI_ERR_ARG, "a job needs a model, emit and done");
    if (!job->prepare && !job->n_prompt)
        return ccai_fail(err, CCAI_ERR_ARG, "a job needs a prompt or a prepare callback");
    pthread_mutex_lock(&q->mu);
    if (atomic_load(&q->stopping)) {
        pthread_mutex_unlock(&q->mu);
        return ccai_fail(err, CCAI_ERR_STATE, "the server is shutting down");
    }
    if (full_locked(q)) {
        int running = q->running, queued = (int)q->n_queued;
        pthread_mutex_unlock(&q->mu);
        return ccai_fail(err, CCAI_ERR_BUSY, "server busy: %d requests running and %d queued",
                         running, queued);
    }
    job->enqueued_ns = mono_ns();
    q->ring[(q->head + q->n_queued) % q->cap] = job;
    q->n_queued++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return CCAI_OK;
}

void ccai_sched_stats(ccai_sched *q, int *running, int *queued)
{
    (void)ccai_sched_full(q, running, queued);
}

void ccai_sched_free(ccai_sched *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    atomic_store(&q->stopping, true);
    size_t n = q->n_queued;
    ccai_job **left = ccai_xcalloc(n ? n : 1, sizeof *left);
    for (size_t i = 0; i < n; i++) {
        left[i] = q->ring[(q->head + i) % q->cap];
        q->ring[(q->head + i) % q->cap] = NULL;
    }
    q->n_queued = 0;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    /* Outside the lock: done may take the stream's locks. */
    for (size_t i = 0; i < n; i++) {
        ccai_err err;
        ccai_fail(&err, CCAI_ERR_STATE, "the server is shutting down");
        llm_gen_stats st = {.done_reason = "cancel"};
        left[i]->done(left[i], &st, &err);
        ccai_job_free(left[i]);
    }
    free(left);
    for (int i = 0; i < q->parallel; i++) {
        sched_worker *w = &q->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        for (sched_session *ss = w->sessions, *next; ss; ss = next) {
            next = ss->next;
            llm_session_free(ss->sess);
            free(ss);
        }
    }
    free(q->workers);
    free(q->ring);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
