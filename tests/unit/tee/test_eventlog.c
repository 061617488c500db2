/* Tests for the runtime event log (src/tee/eventlog.c): canonical event text
 * and digests pinned to literals computed with Python's hashlib; replay
 * order; the evidence JSON form; tee_measure / tee_eventlog_read against a
 * fake provider defined here (registers in memory, or in a file shared by
 * forked processes); reconciliation after a crash, after a reboot, and when
 * it is impossible; clear; four processes measuring at once.
 *
 * Literals (python3):
 *   t1 = b'{"data":{"a":1,"b":"x"},"type":"ccai.test"}'
 *   t2 = b'{"data":{"n":2},"type":"ccai.model"}'
 *   D1 = sha384(t1); D2 = sha384(t2)
 *   R1 = sha384(0*48 + D1); R12 = sha384(R1 + D2)
 *   R21 = sha384(sha384(0*48 + D2) + D1) */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "tee/eventlog.h"

#define T1 "{\"data\":{\"a\":1,\"b\":\"x\"},\"type\":\"ccai.test\"}"
#define T2 "{\"data\":{\"n\":2},\"type\":\"ccai.model\"}"
#define D1 "cbb04619df0ae71bc0bf4824937e8fe0854c79de89a480976db721f1d7bf488c9bf772db983c513b475353c4f997230f"
#define D2 "1c98ab137902b7fda4aa4ccf8d07dbbc81a9de27980fc161c68885c8c1bf72855e0148beb1324eefdf410109e50af3c2"
#define R1 "d7651015443d6c9f49986f9f0a7515c1b09980ab34375b34213a65eb8c617661ee4b887327d8ef3265a271c1576d321b"
#define R12 "1a2f6332806d803862522f23d80c77a787f1010a6da1668f3da140704a4135334e01dd16854a60f4c80d67f2376f74d9"
#define R21 "5d18700f575cf90531b74a802ec1bc390dd44182e3a24e027e63ceea7f28e1ccdee47b6deb4a9d8e317168f903af6d2c"
/* The file line for T1. */
#define LINE1                                                                                      \
    "{\"digest\":\"" D1 "\",\"event\":\"{\\\"data\\\":{\\\"a\\\":1,\\\"b\\\":\\\"x\\\"},"            \
    "\\\"type\\\":\\\"ccai.test\\\"}\",\"mr\":3}\n"

/* ---- a fake provider -------------------------------------------------- */

/* Registers in memory, or (regs_path set) in a file guarded by its own lock
 * so forked processes share one TD. The fake takes that lock inside
 * extend/read, i.e. after the event log lock: the documented lock order. */
typedef struct fake {
    tee_measurements m;
    char *regs_path, *regs_lock;
    unsigned extends, resets;
} fake;

static ccai_code fake_load(fake *f, ccai_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(f->regs_path, 4096, &data, &len, err);
    if (rc == CCAI_ERR_NOT_FOUND) {
        memset(&f->m, 0, sizeof f->m);
        return CCAI_OK;
    }
    if (!rc && len != sizeof f->m)
        rc = ccai_fail(err, CCAI_ERR_STATE, "fake registers: %zu bytes", len);
    if (!rc)
        memcpy(&f->m, data, sizeof f->m);
    free(data);
    return rc;
}

static ccai_code fake_extend(tee_provider *p, unsigned index, const uint8_t digest[48],
                             ccai_err *err)
{
    fake *f = p->impl;
    if (index > 3)
        return ccai_fail(err, CCAI_ERR_ARG, "fake: RTMR index %u", index);
    if (!f->regs_path) {
        ccai_sha384_extend(f->m.rtmr[index], digest);
        f->extends++;
        return CCAI_OK;
    }
    int fd;
    ccai_code rc = ccai_lock(f->regs_lock, &fd, err);
    if (rc)
        return rc;
    rc = fake_load(f, err);
    if (!rc) {
        ccai_sha384_extend(f->m.rtmr[index], digest);
        rc = ccai_write_file_atomic(f->regs_path, &f->m, sizeof f->m, 0600, err);
    }
    ccai_unlock(fd);
    return rc;
}

static ccai_code fake_read(tee_provider *p, tee_measurements *out, ccai_err *err)
{
    fake *f = p->impl;
    if (f->regs_path) {
        int fd;
        ccai_code rc = ccai_lock(f->regs_lock, &fd, err);
        if (rc)
            return rc;
        rc = fake_load(f, err);
        ccai_unlock(fd);
        if (rc)
            return rc;
    }
    *out = f->m;
    return CCAI_OK;
}

static const tee_provider_ops FAKE_OPS = {
    .name = "fake",
    .tee = "fake",
    .extend_rtmr = fake_extend,
    .read_measurements = fake_read,
};

typedef struct env {
    char *dir;
    fake f;
    tee_provider p;
    char *log_path;
} env;

static env *env_new(bool file_backed)
{
    env *e = ccai_xcalloc(1, sizeof *e);
    e->dir = tu_tmpdir();
    if (file_backed) {
        e->f.regs_path = ccai_xasprintf("%s/regs.bin", e->dir);
        e->f.regs_lock = ccai_xasprintf("%s/regs.lock", e->dir);
    }
    e->p.ops = &FAKE_OPS;
    e->p.impl = &e->f;
    e->p.runtime_dir = e->dir;
    e->log_path = ccai_xasprintf("%s/eventlog.jsonl", e->dir);
    return e;
}

static void env_free(env *e)
{
    tu_rm_rf(e->dir);
    free(e->dir);
    free(e->f.regs_path);
    free(e->f.regs_lock);
    free(e->log_path);
    free(e);
}

/* ---- helpers ---------------------------------------------------------- */

static void assert_hex(const uint8_t *p, const char *want)
{
    char h[97];
    ccai_hex_encode(p, 48, h);
    assert_string_equal(h, want);
}

static json_t *data1(void)
{
    return json_pack("{s:s,s:i}", "b", "x", "a", 1);
}

static json_t *data2(void)
{
    return json_pack("{s:i}", "n", 2);
}

static void make(const char *type, json_t *data, tee_event *e)
{
    ccai_err err = {0};
    assert_int_equal(tee_event_make(type, data, e, &err), CCAI_OK);
    json_decref(data);
}

static void measure(env *e, const char *type, json_t *data)
{
    ccai_err err = {0};
    ccai_code rc = tee_measure(&e->p, type, data, NULL, &err);
    if (rc)
        fail_msg("tee_measure: %s", err.msg);
    json_decref(data);
}

static char *slurp(const char *path)
{
    size_t len;
    return (char *)tu_read(path, &len);
}

static void append_raw(const char *path, const char *s)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, strlen(s), f), strlen(s));
    fclose(f);
}

/* ---- events and replay ------------------------------------------------ */

static void event_text_and_digest(void **s)
{
    (void)s;
    tee_event e;
    make("ccai.test", data1(), &e);
    assert_string_equal(e.event, T1);
    assert_int_equal(e.mr, 3);
    assert_hex(e.digest, D1);
    tee_event_free(&e);
    assert_null(e.event);
}

static void event_rejects(void **s)
{
    (void)s;
    tee_event e;
    ccai_err err = {0};
    json_t *d = data1();
    assert_int_equal(tee_event_make("test", d, &e, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "event type \"test\" does not start with \"ccai.\"");
    json_decref(d);

    d = json_pack("[i]", 1);
    assert_int_equal(tee_event_make("ccai.test", d, &e, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "event ccai.test: data must be a JSON object");
    json_decref(d);

    d = json_pack("{s:{s:[i,f]}}", "a", "b", 1, 2.5);
    assert_int_equal(tee_event_make("ccai.test", d, &e, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg,
                        "event ccai.test: data.a.b[1] is a real number, which has no canonical text");
    assert_null(e.event);
    json_decref(d);
}

static void replay_order_and_content(void **s)
{
    (void)s;
    tee_event e1, e2, e1b;
    make("ccai.test", data1(), &e1);
    make("ccai.model", data2(), &e2);
    make("ccai.test", json_pack("{s:s,s:i}", "b", "x", "a", 2), &e1b);
    assert_string_equal(e2.event, T2);
    assert_hex(e2.digest, D2);

    tee_eventlog a = {0}, b = {0}, c = {0};
    tee_eventlog_add(&a, &e1);
    tee_eventlog_add(&a, &e2);
    tee_eventlog_add(&b, &e2);
    tee_eventlog_add(&b, &e1);
    tee_eventlog_add(&c, &e1b);
    tee_eventlog_add(&c, &e2);

    uint8_t ra[48], rb[48], rc[48], want[48] = {0}, d[48];
    tee_eventlog_replay(&a, 3, ra);
    tee_eventlog_replay(&b, 3, rb);
    tee_eventlog_replay(&c, 3, rc);

    ccai_sha384(T1, strlen(T1), d);
    ccai_sha384_extend(want, d);
    ccai_sha384(T2, strlen(T2), d);
    ccai_sha384_extend(want, d);
    assert_memory_equal(ra, want, 48);
    assert_hex(ra, R12);
    assert_hex(rb, R21);
    assert_memory_not_equal(ra, rb, 48);  /* order matters */

    memset(want, 0, 48);
    ccai_sha384(e1b.event, strlen(e1b.event), d);
    ccai_sha384_extend(want, d);
    ccai_sha384(T2, strlen(T2), d);
    ccai_sha384_extend(want, d);
    assert_memory_equal(rc, want, 48);
    assert_memory_not_equal(ra, rc, 48);  /* content matters */

    uint8_t r2[48], zero[48] = {0};
    tee_eventlog_replay(&a, 2, r2);       /* nothing was logged for RTMR2 */
    assert_memory_equal(r2, zero, 48);

    ccai_err err = {0};
    assert_int_equal(tee_eventlog_check_digests(&a, &err), CCAI_OK);
    a.ev[1].event[10] = 'm';
    assert_int_equal(tee_eventlog_check_digests(&a, &err), CCAI_ERR_VERIFY);
    assert_non_null(strstr(err.msg, "event log entry 1: digest " D2
                                    " is not SHA-384 of its event text ("));
    tee_eventlog_free(&a);
    tee_eventlog_free(&b);
    tee_eventlog_free(&c);
    tee_event_free(&e1);
    tee_event_free(&e2);
    tee_event_free(&e1b);
}

static void json_round_trip(void **s)
{
    (void)s;
    tee_event e1, e2;
    make("ccai.test", data1(), &e1);
    make("ccai.model", data2(), &e2);
    tee_eventlog log = {0};
    tee_eventlog_add(&log, &e1);
    tee_eventlog_add(&log, &e2);
    json_t *j = tee_eventlog_to_json(&log);
    char *text = ccai_json_canonical(j);
    assert_string_equal(text,
                        "[{\"digest\":\"" D1 "\",\"event\":\"{\\\"data\\\":{\\\"a\\\":1,\\\"b\\\":"
                        "\\\"x\\\"},\\\"type\\\":\\\"ccai.test\\\"}\",\"mr\":3},"
                        "{\"digest\":\"" D2 "\",\"event\":\"{\\\"data\\\":{\\\"n\\\":2},"
                        "\\\"type\\\":\\\"ccai.model\\\"}\",\"mr\":3}]");
    free(text);

    tee_eventlog back;
    ccai_err err = {0};
    assert_int_equal(tee_eventlog_from_json(j, &back, &err), CCAI_OK);
    assert_int_equal(back.count, 2);
    assert_string_equal(back.ev[0].event, T1);
    assert_string_equal(back.ev[1].event, T2);
    assert_memory_equal(back.ev[1].digest, e2.digest, 48);
    assert_int_equal(back.ev[1].mr, 3);
    tee_eventlog_free(&back);

    /* A digest that is not SHA-384 of its text: entry 1 is named. */
    json_object_set_new(json_array_get(j, 1), "digest", json_string(D1));
    assert_int_equal(tee_eventlog_from_json(j, &back, &err), CCAI_ERR_VERIFY);
    assert_string_equal(err.msg, "event log entry 1: digest " D1
                                 " is not SHA-384 of its event text (" D2 ")");
    assert_int_equal(back.count, 0);
    assert_null(back.ev);

    /* Shapes. */
    json_object_set_new(json_array_get(j, 1), "digest", json_string(D2));
    json_object_set_new(json_array_get(j, 0), "mr", json_integer(4));
    assert_int_equal(tee_eventlog_from_json(j, &back, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "event log entry 0: \"mr\" is 4, expected 0..3");
    json_object_set_new(json_array_get(j, 0), "mr", json_string("3"));
    assert_int_equal(tee_eventlog_from_json(j, &back, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "event log entry 0: \"mr\" is not an integer");
    json_object_set_new(json_array_get(j, 0), "mr", json_integer(3));
    json_object_set_new(json_array_get(j, 0), "digest", json_string(&D1[1]));
    assert_int_equal(tee_eventlog_from_json(j, &back, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg,
                        "event log entry 0: \"digest\": expected 96 hex digits (48 bytes), found 95");
    json_object_set_new(json_array_get(j, 0), "digest", json_string(D1));
    json_object_set_new(json_array_get(j, 0), "event", json_integer(1));
    assert_int_equal(tee_eventlog_from_json(j, &back, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "event log entry 0: \"event\" is not a string");
    json_array_set_new(j, 0, json_string("x"));
    assert_int_equal(tee_eventlog_from_json(j, &back, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "event log entry 0: expected an object");
    json_t *obj = json_object();
    assert_int_equal(tee_eventlog_from_json(obj, &back, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "event log: expected a JSON array");
    json_decref(obj);
    json_decref(j);
    tee_eventlog_free(&log);
    tee_event_free(&e1);
    tee_event_free(&e2);
}

/* ---- persistence and reconciliation ----------------------------------- */

static void measure_persists(void **s)
{
    (void)s;
    env *e = env_new(false);
    ccai_err err = {0};
    tee_event out;
    json_t *d = data1();
    assert_int_equal(tee_measure(&e->p, "ccai.test", d, &out, &err), CCAI_OK);
    json_decref(d);
    assert_string_equal(out.event, T1);
    assert_hex(out.digest, D1);
    assert_hex(e->f.m.rtmr[3], R1);
    tee_event_free(&out);
    char *file = slurp(e->log_path);
    assert_string_equal(file, LINE1);
    free(file);

    measure(e, "ccai.model", data2());
    measure(e, "ccai.binary", json_pack("{s:s}", "sha256", "00ff"));
    assert_int_equal(e->f.extends, 3);

    tee_eventlog log;
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_OK);
    assert_int_equal(log.count, 3);
    assert_string_equal(log.ev[0].event, T1);
    assert_string_equal(log.ev[1].event, T2);
    assert_string_equal(log.ev[2].event, "{\"data\":{\"sha256\":\"00ff\"},\"type\":\"ccai.binary\"}");
    uint8_t r[48];
    tee_eventlog_replay(&log, 3, r);
    assert_memory_equal(r, e->f.m.rtmr[3], 48);
    tee_eventlog_free(&log);

    /* A rejected event changes nothing. */
    d = json_pack("{s:f}", "x", 1.5);
    assert_int_equal(tee_measure(&e->p, "ccai.test", d, NULL, &err), CCAI_ERR_ARG);
    json_decref(d);
    assert_int_equal(e->f.extends, 3);
    env_free(e);
}

static void crash_before_extend_is_dropped(void **s)
{
    (void)s;
    env *e = env_new(false);
    measure(e, "ccai.model", data2());
    char *before = slurp(e->log_path);

    /* The process appended LINE1 and died before extending. */
    append_raw(e->log_path, LINE1);
    tee_eventlog log;
    ccai_err err = {0};
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_OK);
    assert_int_equal(log.count, 1);
    assert_string_equal(log.ev[0].event, T2);
    tee_eventlog_free(&log);
    char *after = slurp(e->log_path);
    assert_string_equal(after, before);  /* rewritten without the entry */
    free(after);

    /* An append cut short (no newline) goes the same way. */
    append_raw(e->log_path, "{\"digest\":\"cbb0");
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_OK);
    assert_int_equal(log.count, 1);
    tee_eventlog_free(&log);
    after = slurp(e->log_path);
    assert_string_equal(after, before);
    free(after);

    /* And measuring goes on from there. */
    measure(e, "ccai.test", data1());
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_OK);
    assert_int_equal(log.count, 2);
    assert_string_equal(log.ev[1].event, T1);
    assert_hex(e->f.m.rtmr[3], R21);
    tee_eventlog_free(&log);
    free(before);
    env_free(e);
}

static void reboot_sets_log_aside(void **s)
{
    (void)s;
    env *e = env_new(false);
    measure(e, "ccai.test", data1());
    measure(e, "ccai.model", data2());
    char *before = slurp(e->log_path);
    memset(e->f.m.rtmr[3], 0, 48);  /* TD reboot */

    tee_eventlog log;
    ccai_err err = {0};
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_OK);
    assert_int_equal(log.count, 0);
    assert_false(ccai_exists(e->log_path));
    char *aside_path = ccai_xasprintf("%s/eventlog.jsonl.pre-reboot", e->dir);
    char *aside = slurp(aside_path);
    assert_string_equal(aside, before);
    free(aside);
    free(aside_path);
    free(before);

    measure(e, "ccai.test", data1());
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_OK);
    assert_int_equal(log.count, 1);
    assert_hex(e->f.m.rtmr[3], R1);
    tee_eventlog_free(&log);
    env_free(e);
}

static void unreconcilable_state(void **s)
{
    (void)s;
    env *e = env_new(false);
    measure(e, "ccai.test", data1());
    memset(e->f.m.rtmr[3], 0x11, 48);  /* extended by someone who did not log it */
    char want[300];
    snprintf(want, sizeof want, "runtime event log replays to %s but RTMR3 is %s", R1,
             "111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111");
    tee_eventlog log;
    ccai_err err = {0};
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_ERR_STATE);
    assert_string_equal(err.msg, want);
    assert_int_equal(log.count, 0);

    /* Measuring refuses too, and appends nothing. */
    json_t *d = data2();
    assert_int_equal(tee_measure(&e->p, "ccai.model", d, NULL, &err), CCAI_ERR_STATE);
    assert_string_equal(err.msg, want);
    json_decref(d);
    char *file = slurp(e->log_path);
    assert_string_equal(file, LINE1);
    free(file);

    /* A non-empty RTMR3 with no log at all is the same failure. */
    unlink(e->log_path);
    snprintf(want, sizeof want, "runtime event log replays to %096d but RTMR3 is %s", 0,
             "111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111");
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_ERR_STATE);
    assert_string_equal(err.msg, want);
    env_free(e);
}

static void malformed_lines(void **s)
{
    (void)s;
    env *e = env_new(false);
    measure(e, "ccai.test", data1());
    append_raw(e->log_path, "not json\n");
    tee_eventlog log;
    ccai_err err = {0};
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_ERR_PARSE);
    char want[600];
    snprintf(want, sizeof want, "%s line 2: ", e->log_path);
    assert_memory_equal(err.msg, want, strlen(want));

    /* A line whose digest does not match its event. */
    char *bad = ccai_xstrdup(LINE1);
    bad[12] = bad[12] == '0' ? '1' : '0';
    tu_write(e->log_path, bad, strlen(bad));
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_ERR_PARSE);
    snprintf(want, sizeof want, "%s line 1: digest ", e->log_path);
    assert_memory_equal(err.msg, want, strlen(want));
    free(bad);

    tu_write(e->log_path, LINE1 "\n", strlen(LINE1) + 1);
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_ERR_PARSE);
    snprintf(want, sizeof want, "%s line 2: empty line", e->log_path);
    assert_string_equal(err.msg, want);
    env_free(e);
}

static ccai_code reset_regs(tee_provider *p, ccai_err *err)
{
    (void)err;
    fake *f = p->impl;
    /* Called under the event log lock: another description cannot take it. */
    char *lock = ccai_xasprintf("%s/eventlog.lock", p->runtime_dir);
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
    assert_int_equal(errno, EWOULDBLOCK);
    close(fd);
    free(lock);
    memset(f->m.rtmr[3], 0, 48);
    f->resets++;
    return CCAI_OK;
}

static void clear_log(void **s)
{
    (void)s;
    env *e = env_new(false);
    measure(e, "ccai.test", data1());
    measure(e, "ccai.model", data2());
    ccai_err err = {0};
    assert_int_equal(tee_eventlog_clear(&e->p, reset_regs, &err), CCAI_OK);
    assert_int_equal(e->f.resets, 1);
    assert_false(ccai_exists(e->log_path));
    tee_eventlog log;
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_OK);
    assert_int_equal(log.count, 0);
    /* Clearing an empty log, without a reset, is fine too. */
    assert_int_equal(tee_eventlog_clear(&e->p, NULL, &err), CCAI_OK);
    env_free(e);
}

/* ---- concurrency ------------------------------------------------------ */

enum { CHILDREN = 4, PER_CHILD = 25 };

static int child_main(env *e, int k)
{
    for (int i = 0; i < PER_CHILD; i++) {
        json_t *d = json_pack("{s:i,s:i}", "child", k, "i", i);
        ccai_err err = {0};
        ccai_code rc = tee_measure(&e->p, "ccai.test", d, NULL, &err);
        json_decref(d);
        if (rc) {
            fprintf(stderr, "child %d event %d: %s\n", k, i, err.msg);
            return 1;
        }
    }
    return 0;
}

static void four_processes(void **s)
{
    (void)s;
    env *e = env_new(true);
    pid_t pids[CHILDREN];
    for (int k = 0; k < CHILDREN; k++) {
        pids[k] = fork();
        assert_true(pids[k] >= 0);
        if (pids[k] == 0)
            _exit(child_main(e, k));
    }
    for (int k = 0; k < CHILDREN; k++) {
        int st = 0;
        assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    tee_eventlog log;
    ccai_err err = {0};
    assert_int_equal(tee_eventlog_read(&e->p, &log, &err), CCAI_OK);
    assert_int_equal(log.count, CHILDREN * PER_CHILD);
    assert_int_equal(tee_eventlog_check_digests(&log, &err), CCAI_OK);
    tee_measurements m;
    assert_int_equal(fake_read(&e->p, &m, &err), CCAI_OK);
    uint8_t r[48];
    tee_eventlog_replay(&log, 3, r);
    assert_memory_equal(r, m.rtmr[3], 48);

    /* Each child's events appear whole and in its own order. */
    int next[CHILDREN] = {0};
    for (size_t i = 0; i < log.count; i++) {
        json_t *ev = NULL;
        assert_int_equal(ccai_json_parse(log.ev[i].event, strlen(log.ev[i].event), &ev, &err),
                         CCAI_OK);
        json_t *d = json_object_get(ev, "data");
        long long k = json_integer_value(json_object_get(d, "child"));
        assert_in_range(k, 0, CHILDREN - 1);
        assert_int_equal(json_integer_value(json_object_get(d, "i")), next[k]);
        next[k]++;
        json_decref(ev);
    }
    for (int k = 0; k < CHILDREN; k++)
        assert_int_equal(next[k], PER_CHILD);
    tee_eventlog_free(&log);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_text_and_digest),
        cmocka_unit_test(event_rejects),
        cmocka_unit_test(replay_order_and_content),
        cmocka_unit_test(json_round_trip),
        cmocka_unit_test(measure_persists),
        cmocka_unit_test(crash_before_extend_is_dropped),
        cmocka_unit_test(reboot_sets_log_aside),
        cmocka_unit_test(unreconcilable_state),
        cmocka_unit_test(malformed_lines),
        cmocka_unit_test(clear_log),
        cmocka_unit_test(four_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
