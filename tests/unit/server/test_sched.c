/* Tests for src/server/sched.c on a generated model: a job runs and done is
 * called once with the engine's statistics; jobs run first come, first
 * served; the queue bound gives CCAI_ERR_BUSY (and ccai_sched_full agrees);
 * an emit that returns false cancels; the wall-clock limit ends a
 * generation as "length"; ccai_sched_free answers queued jobs with an error
 * and joins the workers; a prepare error reaches done. */
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "llm/mkmodel.h"
#include "server/server.h"

typedef struct fixture {
    char *dir;
    llm_engine *engine;
    ccai_server_config cfg;
    ccai_server srv;
    ccai_model model;
} fixture;

/* What the callbacks saw, guarded by mu. */
typedef struct probe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done_calls, emits, order[16], n_order;
    bool gate_open, had_err;
    int cancel_after;   /* emit returns false after this many calls (0: never) */
    int sleep_ms;       /* per emit */
    llm_gen_stats st;
    char err[sizeof ((ccai_err *)0)->msg];
} probe;

static probe *probe_new(void)
{
    probe *p = ccai_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->gate_open = true;
    return p;
}

static void probe_free(probe *p)
{
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

typedef struct job_arg {
    probe *p;
    int id;
} job_arg;

static bool emit(void *arg, const char *text, size_t n, bool thinking)
{
    (void)text, (void)n, (void)thinking;
    job_arg *a = arg;
    if (a->p->sleep_ms)
        usleep((useconds_t)a->p->sleep_ms * 1000);
    pthread_mutex_lock(&a->p->mu);
    int k = ++a->p->emits;
    pthread_mutex_unlock(&a->p->mu);
    return !(a->p->cancel_after && k >= a->p->cancel_after);
}

static void done(ccai_job *job, const llm_gen_stats *st, const ccai_err *err)
{
    job_arg *a = job->arg;
    assert_non_null(st);
    pthread_mutex_lock(&a->p->mu);
    a->p->done_calls++;
    a->p->st = *st;
    if (err) {
        a->p->had_err = true;
        snprintf(a->p->err, sizeof a->p->err, "%s", err->msg);
    }
    pthread_cond_broadcast(&a->p->cv);
    pthread_mutex_unlock(&a->p->mu);
    free(a);
}

/* Records the order jobs start in, and holds job 0 until the gate opens. */
static ccai_code prepare(ccai_job *job, llm_engine *e, ccai_err *err)
{
    (void)e, (void)err;
    job_arg *a = job->arg;
    pthread_mutex_lock(&a->p->mu);
    a->p->order[a->p->n_order++] = a->id;
    while (!a->p->gate_open)
        pthread_cond_wait(&a->p->cv, &a->p->mu);
    pthread_mutex_unlock(&a->p->mu);
    return CCAI_OK;
}

static ccai_code failing_prepare(ccai_job *job, llm_engine *e, ccai_err *err)
{
    (void)job, (void)e;
    return ccai_fail(err, CCAI_ERR_ARG, "prompt of 9999 tokens does not fit");
}

static ccai_job *make_job(fixture *f, probe *p, int id, int n_predict)
{
    ccai_job *job = ccai_xcalloc(1, sizeof *job);
    job->model = &f->model;
    job->n_prompt = 3;
    job->prompt = ccai_xmalloc(3 * sizeof *job->prompt);
    for (int i = 0; i < 3; i++)
        job->prompt[i] = 10 + i;
    job->params.sampling = llm_sampler_params_default();
    job->params.sampling.temperature = 0;
    job->params.n_predict = n_predict;
    job->emit = emit;
    job->done = done;
    job->prepare = prepare;
    job_arg *a = ccai_xcalloc(1, sizeof *a);
    a->p = p;
    a->id = id;
    job->arg = a;
    return job;
}

static void wait_done(probe *p, int n)
{
    pthread_mutex_lock(&p->mu);
    while (p->done_calls < n)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

static void open_gate(probe *p)
{
    pthread_mutex_lock(&p->mu);
    p->gate_open = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Waits until n jobs have entered prepare. */
static void wait_started(probe *p, int n)
{
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&p->mu);
        int k = p->n_order;
        pthread_mutex_unlock(&p->mu);
        if (k >= n)
            return;
        usleep(1000);
    }
    fail_msg("jobs did not start");
}

static int setup(void **state)
{
    fixture *f = ccai_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/tiny.gguf", f->dir);
    ccai_err err = {0};
    llm_mkmodel_spec spec;
    assert_int_equal(llm_mkmodel_preset("tiny-llama", &spec, &err), CCAI_OK);
    assert_int_equal(llm_mkmodel_write(&spec, path, &err), CCAI_OK);
    llm_engine_opts o = {.n_threads = 1};
    assert_int_equal(llm_engine_open(path, &o, &f->engine, &err), CCAI_OK);
    f->cfg.request_timeout_s = 600;
    f->srv.cfg = &f->cfg;
    pthread_mutex_init(&f->srv.lock, NULL);
    f->model.name = "tiny:latest";
    f->model.path = f->dir;
    f->model.engine = f->engine;
    f->srv.models = &f->model;
    f->srv.n_models = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    llm_engine_free(f->engine);
    pthread_mutex_destroy(&f->srv.lock);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_runs_once(void **state)
{
    fixture *f = *state;
    ccai_sched *q;
    ccai_err err = {0};
    assert_int_equal(ccai_sched_new(&f->srv, 2, 4, &q, &err), CCAI_OK);
    probe *p = probe_new();
    assert_int_equal(ccai_sched_submit(q, make_job(f, p, 0, 6), &err), CCAI_OK);
    wait_done(p, 1);
    ccai_sched_free(q);
    assert_int_equal(p->done_calls, 1);
    assert_false(p->had_err);
    assert_int_equal(p->st.n_prompt, 3);
    assert_true(p->st.n_gen <= 6);
    assert_true(!strcmp(p->st.done_reason, "length") || !strcmp(p->st.done_reason, "stop"));
    probe_free(p);
}

static void test_fifo_and_busy(void **state)
{
    fixture *f = *state;
    ccai_sched *q;
    ccai_err err = {0};
    assert_int_equal(ccai_sched_new(&f->srv, 1, 3, &q, &err), CCAI_OK);
    probe *p = probe_new();
    p->gate_open = false;
    assert_int_equal(ccai_sched_submit(q, make_job(f, p, 0, 2), &err), CCAI_OK);
    wait_started(p, 1);
    for (int id = 1; id <= 3; id++)
        assert_int_equal(ccai_sched_submit(q, make_job(f, p, id, 2), &err), CCAI_OK);
    int running, queued;
    assert_true(ccai_sched_full(q, &running, &queued));
    assert_int_equal(running, 1);
    assert_int_equal(queued, 3);
    ccai_job *extra = make_job(f, p, 9, 2);
    assert_int_equal(ccai_sched_submit(q, extra, &err), CCAI_ERR_BUSY);
    assert_string_equal(err.msg, "server busy: 1 requests running and 3 queued");
    free(extra->arg); /* refused: still ours */
    ccai_job_free(extra);
    open_gate(p);
    wait_done(p, 4);
    ccai_sched_stats(q, &running, &queued);
    ccai_sched_free(q);
    assert_int_equal(p->done_calls, 4);
    assert_int_equal(p->n_order, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(p->order[i], i);
    probe_free(p);
}

static void test_emit_cancels(void **state)
{
    fixture *f = *state;
    ccai_sched *q;
    ccai_err err = {0};
    assert_int_equal(ccai_sched_new(&f->srv, 1, 0, &q, &err), CCAI_OK);
    probe *p = probe_new();
    p->cancel_after = 3;
    assert_int_equal(ccai_sched_submit(q, make_job(f, p, 0, -1), &err), CCAI_OK);
    wait_done(p, 1);
    ccai_sched_free(q);
    assert_string_equal(p->st.done_reason, "cancel");
    assert_true(p->st.n_gen < 20);
    probe_free(p);
}

static void test_timeout_is_length(void **state)
{
    fixture *f = *state;
    f->cfg.request_timeout_s = 1;
    ccai_sched *q;
    ccai_err err = {0};
    assert_int_equal(ccai_sched_new(&f->srv, 1, 0, &q, &err), CCAI_OK);
    probe *p = probe_new();
    p->sleep_ms = 20; /* 512 tokens would take 10 s */
    assert_int_equal(ccai_sched_submit(q, make_job(f, p, 0, -1), &err), CCAI_OK);
    wait_done(p, 1);
    ccai_sched_free(q);
    f->cfg.request_timeout_s = 600;
    assert_false(p->had_err);
    assert_string_equal(p->st.done_reason, "length");
    assert_true(p->st.n_gen < 200);
    probe_free(p);
}

static void *open_later(void *arg)
{
    usleep(100 * 1000);
    open_gate(arg);
    return NULL;
}

static void test_free_answers_queued(void **state)
{
    fixture *f = *state;
    ccai_sched *q;
    ccai_err err = {0};
    assert_int_equal(ccai_sched_new(&f->srv, 1, 2, &q, &err), CCAI_OK);
    probe *running = probe_new(), *waiting = probe_new();
    running->gate_open = false;
    assert_int_equal(ccai_sched_submit(q, make_job(f, running, 0, 1000), &err), CCAI_OK);
    wait_started(running, 1);
    assert_int_equal(ccai_sched_submit(q, make_job(f, waiting, 1, 5), &err), CCAI_OK);
    assert_int_equal(ccai_sched_submit(q, make_job(f, waiting, 2, 5), &err), CCAI_OK);
    pthread_t t;
    pthread_create(&t, NULL, open_later, running);
    ccai_sched_free(q); /* cancels the queued two, then waits for the running one */
    pthread_join(t, NULL);
    assert_int_equal(waiting->done_calls, 2);
    assert_true(waiting->had_err);
    assert_string_equal(waiting->err, "the server is shutting down");
    assert_int_equal(waiting->n_order, 0);
    assert_int_equal(running->done_calls, 1);
    assert_string_equal(running->st.done_reason, "cancel");
    probe_free(running);
    probe_free(waiting);
}

static void test_prepare_error(void **state)
{
    fixture *f = *state;
    ccai_sched *q;
    ccai_err err = {0};
    assert_int_equal(ccai_sched_new(&f->srv, 1, 1, &q, &err), CCAI_OK);
    probe *p = probe_new();
    ccai_job *job = make_job(f, p, 0, 5);
    job->prepare = failing_prepare;
    assert_int_equal(ccai_sched_submit(q, job, &err), CCAI_OK);
    wait_done(p, 1);
    ccai_sched_free(q);
    assert_true(p->had_err);
    assert_string_equal(p->err, "prompt of 9999 tokens does not fit");
    probe_free(p);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    ccai_sched *q = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_sched_new(&f->srv, 0, 1, &q, &err), CCAI_ERR_ARG);
    assert_int_equal(ccai_sched_new(&f->srv, 1, -1, &q, &err), CCAI_ERR_ARG);
    assert_int_equal(ccai_sched_new(&f->srv, 1, 0, &q, &err), CCAI_OK);
    ccai_job empty = {0};
    assert_int_equal(ccai_sched_submit(q, &empty, &err), CCAI_ERR_ARG);
    ccai_sched_free(q);
    ccai_sched_free(NULL);
    ccai_job_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_once),         cmocka_unit_test(test_fifo_and_busy),
        cmocka_unit_test(test_emit_cancels),      cmocka_unit_test(test_timeout_is_length),
        cmocka_unit_test(test_free_answers_queued), cmocka_unit_test(test_prepare_error),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
