/* Tests for the tdx provider (src/tee/provider_tdx.c) and provider dispatch
 * (src/tee/provider.c) against a fake configfs-tsm / sysfs tree.
 *
 * The fake "kernel" is a thread that sees the provider's mkdir through
 * inotify and populates the entry: `inblob` is a regular file whose
 * IN_CLOSE_WRITE stands for the driver's write hook, while `provider`,
 * `generation` and `outblob` are named pipes the fake serves one read at a
 * time. Serving through pipes keeps the fake in lock-step with the provider,
 * so before the provider's last read the fake can unlink the attributes and
 * the provider's rmdir (which configfs would allow on a populated entry)
 * works on a plain directory. Every wait in the fake has a deadline; after
 * its script ends or fails it keeps opening the pipes so a provider blocked
 * in open() sees EOF, and so a failing test never hangs. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "tee/provider.h"

enum { FAKE_DEADLINE_MS = 10000, BODY = 584 };
/* Path buffers sized so an entry path plus an attribute name always fits. */
enum { ROOT_MAX = 256, ENTRY_MAX = ROOT_MAX + NAME_MAX + 1, ATTR_PATH = ENTRY_MAX + 32 };

/* Where the fake's script ends: after which read the provider removes the
 * entry. */
typedef enum { STOP_AFTER_PROVIDER, STOP_AFTER_OUTBLOB, STOP_AFTER_GENERATION } fake_stop;

typedef struct fake_kernel {
    /* Set up by the test. */
    char root[ROOT_MAX];
    const char *provider;  /* contents of `provider` */
    int attempts;          /* write/read rounds the provider will make */
    int races;             /* the first `races` rounds bump generation by 2 */
    fake_stop stop_after;
    bool v5;               /* serve a v5 quote */
    size_t junk_len;       /* serve this many 0x5a bytes instead of a quote */
    size_t truncate;       /* serve only this many bytes of the fake quote */
    bool empty_outblob;
    /* Results. */
    int writes;
    uint8_t inblob[4][64];
    char entry[ENTRY_MAX];
    bool ok;
    char why[1024];
    /* Plumbing. */
    int ifd;
    char evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t evlen, evoff;
    atomic_bool stop;
    pthread_t thread;
} fake_kernel;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* The fake quote: a v4 (or v5) header, a TD report body whose registers hold
 * recognisable patterns and whose report data is rd, and a short signature
 * section. The tests build the expected bytes with the same function. */
static uint8_t *fake_quote(const uint8_t rd[64], bool v5, size_t *len)
{
    ccai_buf b = {0};
    ccai_buf_u16le(&b, v5 ? 5 : 4);
    ccai_buf_u16le(&b, 2);
    ccai_buf_u32le(&b, 0x81);
    ccai_buf_zeros(&b, 40);
    if (v5) {
        ccai_buf_u16le(&b, 2);
        ccai_buf_u32le(&b, BODY);
    }
    uint8_t body[BODY];
    memset(body, 0, sizeof body);
    memset(body + 136, 0x11, 48); /* mr_td */
    memset(body + 184, 0x22, 48); /* mr_config_id */
    memset(body + 232, 0x33, 48); /* mr_owner */
    memset(body + 280, 0x44, 48); /* mr_owner_config */
    for (int i = 0; i < 4; i++)
        memset(body + 328 + 48 * i, 0x50 + i, 48);
    memcpy(body + 520, rd, 64);
    ccai_buf_append(&b, body, sizeof body);
    ccai_buf_u32le(&b, 4);
    ccai_buf_append(&b, "SIG!", 4);
    ccai_buf_append_str(&b, "trail"); /* real outblobs may carry trailing bytes */
    return ccai_buf_steal(&b, len);
}

static bool fake_failed(fake_kernel *fk, const char *what, const char *path)
{
    snprintf(fk->why, sizeof fk->why, "fake kernel: %s %s: %s", what, path, strerror(errno));
    return false;
}

static void entry_path(const fake_kernel *fk, const char *name, char *out)
{
    snprintf(out, ATTR_PATH, "%s/%s", fk->entry, name);
}

/* Pops the next inotify event, reading more when the queue is empty; NULL
 * when none came within 50 ms. Events are kept across calls: one read may
 * return several, and a later wait may want one that is already queued. */
static const struct inotify_event *next_event(fake_kernel *fk, long deadline)
{
    if (fk->evoff >= fk->evlen) {
        long left = deadline - now_ms();
        struct pollfd pfd = {.fd = fk->ifd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)(left < 50 ? left : 50)) <= 0)
            return NULL;
        ssize_t n = read(fk->ifd, fk->evbuf, sizeof fk->evbuf);
        if (n <= 0)
            return NULL;
        fk->evlen = n;
        fk->evoff = 0;
    }
    const struct inotify_event *ev = (const struct inotify_event *)(fk->evbuf + fk->evoff);
    fk->evoff += (ssize_t)(sizeof *ev + ev->len);
    return ev;
}

/* Waits for the next inotify event that matches mask (and name, when given). */
static bool wait_event(fake_kernel *fk, uint32_t mask, const char *name, char *found, long deadline)
{
    while (!atomic_load(&fk->stop) && now_ms() < deadline) {
        const struct inotify_event *ev = next_event(fk, deadline);
        if (!ev || (ev->mask & mask) != mask || !ev->len)
            continue;
        if (name && strcmp(ev->name, name) != 0)
            continue;
        if (found)
            snprintf(found, NAME_MAX + 1, "%s", ev->name);
        return true;
    }
    snprintf(fk->why, sizeof fk->why, "fake kernel: timed out waiting for %s",
             name ? name : "the entry mkdir");
    return false;
}

/* Serves one read of the pipe `name`: waits for the provider to open it,
 * then, before writing, puts a fresh pipe at the same path (or, for the
 * provider's last read, unlinks every attribute), writes and closes (EOF).
 * The fresh pipe is what keeps serves apart: a pipe has no per-open data, and
 * a reader that is still closing counts as present, so reusing one inode
 * could hand the next answer to the previous reader. Since the swap happens
 * before the EOF, the provider's next open always finds the new inode. */
static bool serve(fake_kernel *fk, const char *name, const void *data, size_t len, bool last,
                  long deadline)
{
    char path[ATTR_PATH];
    entry_path(fk, name, path);
    int fd = -1;
    while ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
        if (errno != ENXIO)
            return fake_failed(fk, "open", path);
        if (now_ms() > deadline || atomic_load(&fk->stop)) {
            snprintf(fk->why, sizeof fk->why, "fake kernel: nobody read %s", name);
            return false;
        }
        pause_ms(1);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    bool ok = true;
    if (last) {
        static const char *const attrs[] = {"provider", "generation", "inblob", "outblob"};
        for (size_t i = 0; i < 4; i++) {
            char p[ATTR_PATH];
            entry_path(fk, attrs[i], p);
            unlink(p);
        }
    } else {
        char next[ATTR_PATH + 8];
        snprintf(next, sizeof next, "%s.next", path);
        if (mkfifo(next, 0600) != 0 || rename(next, path) != 0)
            ok = fake_failed(fk, "replace", path);
    }
    const uint8_t *d = data;
    while (ok && len) {
        ssize_t n = write(fd, d, len);
        if (n <= 0)
            break; /* the provider stopped reading (oversized outblob): fine */
        d += n;
        len -= (size_t)n;
    }
    close(fd);
    return ok;
}

static bool serve_generation(fake_kernel *fk, unsigned gen, bool last, long deadline)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%u\n", gen);
    return serve(fk, "generation", text, (size_t)n, last, deadline);
}

static bool populate_entry(fake_kernel *fk, long deadline)
{
    char name[NAME_MAX + 1];
    if (!wait_event(fk, IN_CREATE | IN_ISDIR, NULL, name, deadline))
        return false;
    snprintf(fk->entry, sizeof fk->entry, "%s/%s", fk->root, name);
    char p[ATTR_PATH];
    entry_path(fk, "inblob", p);
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return fake_failed(fk, "create", p);
    close(fd);
    entry_path(fk, "outblob", p);
    if (mkfifo(p, 0600) != 0)
        return fake_failed(fk, "mkfifo", p);
    entry_path(fk, "generation", p);
    if (mkfifo(p, 0600) != 0)
        return fake_failed(fk, "mkfifo", p);
    /* Watch inblob only now, so creating it above is not taken for a write. */
    if (inotify_add_watch(fk->ifd, fk->entry, IN_CLOSE_WRITE) < 0)
        return fake_failed(fk, "watch", fk->entry);
    /* `provider` last: the provider waits for it to appear. */
    entry_path(fk, "provider", p);
    if (mkfifo(p, 0600) != 0)
        return fake_failed(fk, "mkfifo", p);
    return true;
}

/* One write/read round as the TDX guest driver would answer it. */
static bool quote_round(fake_kernel *fk, int round, unsigned *gen, long deadline)
{
    if (!serve_generation(fk, *gen, false, deadline))
        return false;
    if (!wait_event(fk, IN_CLOSE_WRITE, "inblob", NULL, deadline))
        return false;
    char p[ATTR_PATH];
    entry_path(fk, "inblob", p);
    uint8_t got[65];
    FILE *f = fopen(p, "rb");
    size_t n = f ? fread(got, 1, sizeof got, f) : 0;
    if (f)
        fclose(f);
    if (n != 64) {
        snprintf(fk->why, sizeof fk->why, "fake kernel: inblob holds %zu bytes, expected 64", n);
        return false;
    }
    if (fk->writes < 4)
        memcpy(fk->inblob[fk->writes], got, 64);
    fk->writes++;
    *gen += round < fk->races ? 2 : 1;
    bool last_round = round == fk->attempts - 1;
    uint8_t *q;
    size_t qlen;
    if (fk->empty_outblob) {
        q = ccai_xmalloc(1);
        qlen = 0;
    } else if (fk->junk_len) {
        q = ccai_xmalloc(fk->junk_len);
        memset(q, 0x5a, fk->junk_len);
        qlen = fk->junk_len;
    } else {
        q = fake_quote(got, fk->v5, &qlen);
        if (fk->truncate && fk->truncate < qlen)
            qlen = fk->truncate;
    }
    bool ok = serve(fk, "outblob", q, qlen, last_round && fk->stop_after == STOP_AFTER_OUTBLOB,
                    deadline);
    free(q);
    if (!ok || fk->stop_after == STOP_AFTER_OUTBLOB)
        return ok;
    return serve_generation(fk, *gen, last_round, deadline);
}

static bool fake_script(fake_kernel *fk)
{
    long deadline = now_ms() + FAKE_DEADLINE_MS;
    if (!populate_entry(fk, deadline))
        return false;
    bool last = fk->stop_after == STOP_AFTER_PROVIDER;
    if (!serve(fk, "provider", fk->provider, strlen(fk->provider), last, deadline))
        return false;
    unsigned gen = 0;
    for (int round = 0; !last && round < fk->attempts; round++)
        if (!quote_round(fk, round, &gen, deadline))
            return false;
    return true;
}

static void *fake_main(void *arg)
{
    fake_kernel *fk = arg;
    fk->ok = fake_script(fk);
    /* Unblock a provider stuck opening one of our pipes (EOF) until told to stop. */
    static const char *const pipes[] = {"provider", "generation", "outblob"};
    while (!atomic_load(&fk->stop)) {
        for (size_t i = 0; fk->entry[0] && i < 3; i++) {
            char p[ATTR_PATH];
            entry_path(fk, pipes[i], p);
            int fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd >= 0)
                close(fd);
        }
        pause_ms(2);
    }
    return NULL;
}

static void fake_init(fake_kernel *fk, const char *root, const char *provider)
{
    memset(fk, 0, sizeof *fk);
    snprintf(fk->root, sizeof fk->root, "%s", root);
    fk->provider = provider;
    fk->attempts = 1;
    fk->stop_after = STOP_AFTER_GENERATION;
}

static void fake_run(fake_kernel *fk)
{
    atomic_init(&fk->stop, false);
    fk->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    assert_true(fk->ifd >= 0);
    /* Watch before the provider runs, so its mkdir cannot be missed. */
    assert_true(inotify_add_watch(fk->ifd, fk->root, IN_CREATE) >= 0);
    assert_int_equal(pthread_create(&fk->thread, NULL, fake_main, fk), 0);
}

/* Stops the fake and fails the test with its reason when its script failed
 * (and what the provider said, which usually explains it). */
static void fake_join(fake_kernel *fk, const ccai_err *err)
{
    atomic_store(&fk->stop, true);
    pthread_join(fk->thread, NULL);
    close(fk->ifd);
    if (!fk->ok)
        fail_msg("%s (provider: %s)", fk->why, err && err->code ? err->msg : "no error");
}

/* A fake tree in a temporary directory; paths are owned by the fixture. */
typedef struct tree {
    char *dir;
    char *state;
    char *tsm;
    char *meas;
    char *ccel;
    char *absent;
    tee_config cfg;
    tee_config notsm; /* the same tree without configfs-tsm */
} tree;

static int tree_setup(void **state)
{
    tree *t = ccai_xcalloc(1, sizeof *t);
    t->dir = tu_tmpdir();
    t->state = ccai_xasprintf("%s/state", t->dir);
    t->tsm = ccai_xasprintf("%s/tsm/report", t->dir);
    t->meas = ccai_xasprintf("%s/measurements", t->dir);
    t->ccel = ccai_xasprintf("%s/CCEL", t->dir);
    t->absent = ccai_xasprintf("%s/absent", t->dir);
    t->cfg = (tee_config){.state_dir = t->state, .tsm_root = t->tsm, .measurements = t->meas,
                          .ccel_path = t->ccel};
    t->notsm = t->cfg;
    t->notsm.tsm_root = t->absent;
    ccai_err err = {0};
    if (ccai_mkdir_p(t->tsm, 0700, &err))
        fail_msg("%s", err.msg);
    *state = t;
    return 0;
}

static int tree_teardown(void **state)
{
    tree *t = *state;
    tu_rm_rf(t->dir);
    free(t->dir);
    free(t->state);
    free(t->tsm);
    free(t->meas);
    free(t->ccel);
    free(t->absent);
    free(t);
    return 0;
}

static tee_provider *open_tdx(const tree *t)
{
    tee_provider *p = NULL;
    ccai_err err = {0};
    if (tee_provider_open("tdx", &t->cfg, &p, &err) != CCAI_OK)
        fail_msg("open tdx: %s", err.msg);
    return p;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void assert_filled(const uint8_t reg[48], int v)
{
    uint8_t want[48];
    memset(want, v, sizeof want);
    assert_memory_equal(reg, want, sizeof want);
}

static void report_data(uint8_t rd[64])
{
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(0xa0 ^ (i * 7));
}

/* Takes a quote from a fresh tdx provider while fk plays the kernel; the
 * entry must be gone afterwards whatever happened. */
static ccai_code quote_via_fake(tree *t, fake_kernel *fk, const uint8_t rd[64], uint8_t **q,
                                size_t *qlen, ccai_err *err)
{
    tee_provider *p = open_tdx(t);
    fake_run(fk);
    ccai_code rc = p->ops->get_quote(p, rd, q, qlen, err);
    fake_join(fk, err);
    tee_provider_close(p);
    assert_int_equal(count_entries(t->tsm), 0);
    return rc;
}

static ccai_code measurements_via_fake(tree *t, fake_kernel *fk, tee_measurements *m,
                                       ccai_err *err)
{
    tee_provider *p = open_tdx(t);
    fake_run(fk);
    ccai_code rc = p->ops->read_measurements(p, m, err);
    fake_join(fk, err);
    tee_provider_close(p);
    assert_int_equal(count_entries(t->tsm), 0);
    return rc;
}

static void test_quote_carries_report_data(void **state)
{
    tree *t = *state;
    tee_provider *p = open_tdx(t);
    assert_string_equal(p->ops->name, "tdx");
    assert_string_equal(p->ops->tee, "tdx");
    char *rt = ccai_xasprintf("%s/tdx", t->state);
    assert_string_equal(p->runtime_dir, rt);
    struct stat st;
    assert_int_equal(stat(rt, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    free(rt);
    tee_provider_close(p);

    fake_kernel fk;
    fake_init(&fk, t->tsm, "tdx_guest\n");
    uint8_t rd[64], *q = NULL;
    report_data(rd);
    size_t qlen = 0;
    ccai_err err = {0};
    assert_int_equal(quote_via_fake(t, &fk, rd, &q, &qlen, &err), CCAI_OK);
    assert_int_equal(fk.writes, 1);
    assert_memory_equal(fk.inblob[0], rd, 64);
    size_t want_len;
    uint8_t *want = fake_quote(rd, false, &want_len);
    assert_int_equal(qlen, want_len);
    assert_memory_equal(q, want, want_len);
    assert_memory_equal(q + 48 + 520, rd, 64);
    assert_int_equal(access(fk.entry, F_OK), -1);
    free(want);
    free(q);
}

static void test_generation_race_retried(void **state)
{
    fake_kernel fk;
    fake_init(&fk, ((tree *)*state)->tsm, "tdx_guest\n");
    fk.attempts = 2;
    fk.races = 1;
    uint8_t rd[64], *q = NULL;
    report_data(rd);
    size_t qlen = 0;
    ccai_err err = {0};
    if (quote_via_fake(*state, &fk, rd, &q, &qlen, &err))
        fail_msg("get_quote: %s", err.msg);
    assert_int_equal(fk.writes, 2);
    assert_memory_equal(fk.inblob[0], rd, 64);
    assert_memory_equal(fk.inblob[1], rd, 64);
    assert_memory_equal(q + 48 + 520, rd, 64);
    free(q);
}

static void test_persistent_race_is_busy(void **state)
{
    fake_kernel fk;
    fake_init(&fk, ((tree *)*state)->tsm, "tdx_guest\n");
    fk.attempts = 3;
    fk.races = 3;
    uint8_t rd[64] = {0}, *q = NULL;
    size_t qlen = 0;
    ccai_err err = {0};
    assert_int_equal(quote_via_fake(*state, &fk, rd, &q, &qlen, &err), CCAI_ERR_BUSY);
    assert_int_equal(err.code, CCAI_ERR_BUSY);
    assert_null(q);
    assert_int_equal(fk.writes, 3);
    /* Rounds go 0->2, 2->4, 4->6: the message names the last one. */
    assert_string_equal(err.msg, "configfs-tsm generation changed from 4 to 6 during the quote "
                                 "(concurrent writer); gave up after 3 attempts");
}

/* A quote the provider must refuse, with the fake stopping where it does. */
static void check_quote_refused(tree *t, fake_kernel *fk, ccai_code code, const char *msg)
{
    uint8_t rd[64] = {0}, *q = NULL;
    size_t qlen = 0;
    ccai_err err = {0};
    assert_int_equal(quote_via_fake(t, fk, rd, &q, &qlen, &err), code);
    assert_null(q);
    assert_non_null(strstr(err.msg, msg));
}

static void test_wrong_provider_rejected(void **state)
{
    fake_kernel fk;
    fake_init(&fk, ((tree *)*state)->tsm, "sev_guest\n");
    fk.stop_after = STOP_AFTER_PROVIDER;
    check_quote_refused(*state, &fk, CCAI_ERR_UNSUPPORTED,
                        "configfs-tsm provider is \"sev_guest\", expected \"tdx_guest\"");
    assert_int_equal(fk.writes, 0);
}

static void test_empty_outblob_rejected(void **state)
{
    fake_kernel fk;
    fake_init(&fk, ((tree *)*state)->tsm, "tdx_guest\n");
    fk.stop_after = STOP_AFTER_OUTBLOB;
    fk.empty_outblob = true;
    check_quote_refused(*state, &fk, CCAI_ERR_IO,
                        "/outblob: expected a quote, found an empty outblob");
}

static void test_oversized_outblob_rejected(void **state)
{
    fake_kernel fk;
    fake_init(&fk, ((tree *)*state)->tsm, "tdx_guest\n");
    fk.stop_after = STOP_AFTER_OUTBLOB;
    fk.junk_len = (1u << 20) + 1;
    check_quote_refused(*state, &fk, CCAI_ERR_PARSE,
                        "/outblob: quote larger than the 1048576-byte limit");
}

static void test_tdx_available(void **state)
{
    tree *t = *state;
    assert_false(tee_tdx_available(&t->notsm));
    static const struct {
        const char *provider;
        bool want;
    } cases[] = {{"tdx_guest\n", true}, {"tdx_guest", true}, {"sev_guest\n", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_kernel fk;
        fake_init(&fk, t->tsm, cases[i].provider);
        fk.stop_after = STOP_AFTER_PROVIDER;
        fake_run(&fk);
        bool got = tee_tdx_available(&t->cfg);
        fake_join(&fk, NULL);
        assert_int_equal(got, cases[i].want);
        assert_int_equal(count_entries(t->tsm), 0); /* the probe entry is removed */
    }
}

static void test_open_auto(void **state)
{
    tree *t = *state;
    tee_provider *p = NULL;
    ccai_err err = {0};
    /* No configfs-tsm: auto refuses and points at sim. */
    assert_int_equal(tee_provider_open("auto", &t->notsm, &p, &err), CCAI_ERR_NOT_FOUND);
    assert_null(p);
    char *want = ccai_xasprintf("no TDX guest interface (configfs-tsm at %s with provider "
                                "tdx_guest); use --tee sim for the simulated TD",
                                t->notsm.tsm_root);
    assert_string_equal(err.msg, want);
    free(want);
    /* Explicit tdx on the same tree also fails, and says why. */
    assert_int_equal(tee_provider_open("tdx", &t->notsm, &p, &err), CCAI_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "--tee sim"));

    /* With a TDX guest interface, auto picks tdx. */
    fake_kernel fk;
    fake_init(&fk, t->tsm, "tdx_guest\n");
    fk.stop_after = STOP_AFTER_PROVIDER;
    fake_run(&fk);
    ccai_code rc = tee_provider_open("auto", &t->cfg, &p, &err);
    fake_join(&fk, &err);
    if (rc)
        fail_msg("open auto: %s", err.msg);
    assert_string_equal(p->ops->name, "tdx");
    tee_provider_close(p);
}

static void test_open_unknown_kind(void **state)
{
    tree *t = *state;
    tee_provider *p = NULL;
    ccai_err err = {0};
    assert_int_equal(tee_provider_open("sgx", &t->cfg, &p, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "unknown TEE provider \"sgx\" (expected auto, tdx or sim)");
    assert_null(p);
    tee_config nostate = t->cfg;
    nostate.state_dir = NULL;
    assert_int_equal(tee_provider_open("tdx", &nostate, &p, &err), CCAI_ERR_ARG);
    tee_provider_close(NULL); /* a no-op */
}

static void write_register(const char *dir, const char *name, uint8_t fill, size_t len)
{
    char *path = ccai_xasprintf("%s/%s", dir, name);
    uint8_t buf[64];
    memset(buf, fill, sizeof buf);
    tu_write(path, buf, len);
    free(path);
}

static void test_extend_rtmr(void **state)
{
    tree *t = *state;
    tee_provider *p = open_tdx(t);
    uint8_t digest[48];
    for (int i = 0; i < 48; i++)
        digest[i] = (uint8_t)(i + 1);
    ccai_err err = {0};
    /* No measurements directory: an older kernel. */
    assert_int_equal(p->ops->extend_rtmr(p, 3, digest, &err), CCAI_ERR_UNSUPPORTED);
    char *want = ccai_xasprintf("RTMR extend needs Linux 6.16+ (%s/rtmr3:sha384 is absent)",
                                t->meas);
    assert_string_equal(err.msg, want);
    free(want);

    assert_int_equal(mkdir(t->meas, 0700), 0);
    write_register(t->meas, "rtmr3:sha384", 0, 48);
    assert_int_equal(p->ops->extend_rtmr(p, 3, digest, &err), CCAI_OK);
    char *path = ccai_xasprintf("%s/rtmr3:sha384", t->meas);
    size_t len = 0;
    uint8_t *got = tu_read(path, &len);
    assert_int_equal(len, 48);
    assert_memory_equal(got, digest, 48);
    free(got);
    free(path);

    assert_int_equal(p->ops->extend_rtmr(p, 4, digest, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "RTMR index 4 out of range (expected 0..3)");
    tee_provider_close(p);
}

static void test_read_measurements_sysfs(void **state)
{
    tree *t = *state;
    tee_provider *p = open_tdx(t);
    assert_int_equal(mkdir(t->meas, 0700), 0);
    write_register(t->meas, "mrtd:sha384", 0x01, 48);
    write_register(t->meas, "mrconfigid", 0x02, 48);
    write_register(t->meas, "mrowner", 0x03, 48);
    write_register(t->meas, "mrownerconfig", 0x04, 48);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "rtmr%d:sha384", i);
        write_register(t->meas, name, (uint8_t)(0x10 + i), 48);
    }
    tee_measurements m;
    memset(&m, 0xee, sizeof m);
    ccai_err err = {0};
    if (p->ops->read_measurements(p, &m, &err))
        fail_msg("read_measurements: %s", err.msg);
    assert_filled(m.mr_td, 0x01);
    assert_filled(m.mr_config_id, 0x02);
    assert_filled(m.mr_owner, 0x03);
    assert_filled(m.mr_owner_config, 0x04);
    for (int i = 0; i < 4; i++)
        assert_filled(m.rtmr[i], 0x10 + i);

    /* A register file of the wrong size (hex text, say) is rejected. */
    write_register(t->meas, "rtmr2:sha384", '0', 64);
    assert_int_equal(p->ops->read_measurements(p, &m, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "/rtmr2:sha384: expected at most 48 bytes, found more"));
    write_register(t->meas, "rtmr2:sha384", 0x12, 47);
    assert_int_equal(p->ops->read_measurements(p, &m, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "/rtmr2:sha384: expected 48 raw bytes, found 47"));
    tee_provider_close(p);
}

/* Without the sysfs directory the registers come from a quote's TD report
 * body over zero report data. */
static void check_measurements_from_quote(tree *t, bool v5)
{
    fake_kernel fk;
    fake_init(&fk, t->tsm, "tdx_guest\n");
    fk.v5 = v5;
    tee_measurements m;
    memset(&m, 0xee, sizeof m);
    ccai_err err = {0};
    if (measurements_via_fake(t, &fk, &m, &err))
        fail_msg("read_measurements: %s", err.msg);
    uint8_t zero[64] = {0};
    assert_int_equal(fk.writes, 1);
    assert_memory_equal(fk.inblob[0], zero, 64);
    assert_filled(m.mr_td, 0x11);
    assert_filled(m.mr_config_id, 0x22);
    assert_filled(m.mr_owner, 0x33);
    assert_filled(m.mr_owner_config, 0x44);
    for (int i = 0; i < 4; i++)
        assert_filled(m.rtmr[i], 0x50 + i);
}

static void test_read_measurements_from_v4_quote(void **state)
{
    check_measurements_from_quote(*state, false);
}

static void test_read_measurements_from_v5_quote(void **state)
{
    check_measurements_from_quote(*state, true);
}

/* The fallback bounds every offset by the quote it got. */
static void check_bad_quote(tree *t, size_t junk, size_t truncate, bool v5, ccai_code code,
                            const char *msg)
{
    fake_kernel fk;
    fake_init(&fk, t->tsm, "tdx_guest\n");
    fk.junk_len = junk;
    fk.truncate = truncate;
    fk.v5 = v5;
    tee_measurements m;
    ccai_err err = {0};
    assert_int_equal(measurements_via_fake(t, &fk, &m, &err), code);
    assert_string_equal(err.msg, msg);
}

static void test_measurements_from_short_v4_quote(void **state)
{
    check_bad_quote(*state, 0, 48 + 583, false, CCAI_ERR_PARSE,
                    "reading measurements from a quote: quote: TD report body of 584 bytes at "
                    "offset 48 exceeds the 631-byte quote");
}

static void test_measurements_from_short_v5_quote(void **state)
{
    check_bad_quote(*state, 0, 54 + 583, true, CCAI_ERR_PARSE,
                    "reading measurements from a quote: quote: TD report body of 584 bytes at "
                    "offset 54 exceeds the 637-byte quote");
}

static void test_measurements_from_junk_quote(void **state)
{
    /* 0x5a5a is no quote version. */
    check_bad_quote(*state, 631, 0, false, CCAI_ERR_UNSUPPORTED,
                    "reading measurements from a quote: quote: expected version 4 or 5 of at "
                    "least 54 bytes, found version 23130 in 631 bytes");
}

static void test_read_ccel(void **state)
{
    tree *t = *state;
    tee_provider *p = open_tdx(t);
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_err err = {0};
    assert_int_equal(p->ops->read_ccel(p, &data, &len, &err), CCAI_ERR_NOT_FOUND);
    char *want = ccai_xasprintf("no CCEL firmware event log (%s is absent)", t->ccel);
    assert_string_equal(err.msg, want);
    free(want);
    assert_null(data);

    tu_write(t->ccel, "\x01\x02\x03\x00\x04", 5);
    assert_int_equal(p->ops->read_ccel(p, &data, &len, &err), CCAI_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "\x01\x02\x03\x00\x04", 5);
    free(data);
    tee_provider_close(p);
}

int main(void)
{
    /* A provider that stops reading an oversized outblob must not kill us. */
    signal(SIGPIPE, SIG_IGN);
#define T(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
    const struct CMUnitTest tests[] = {
        T(test_quote_carries_report_data),
        T(test_generation_race_retried),
        T(test_persistent_race_is_busy),
        T(test_wrong_provider_rejected),
        T(test_empty_outblob_rejected),
        T(test_oversized_outblob_rejected),
        T(test_tdx_available),
        T(test_open_auto),
        T(test_open_unknown_kind),
        T(test_extend_rtmr),
        T(test_read_measurements_sysfs),
        T(test_read_measurements_from_v4_quote),
        T(test_read_measurements_from_v5_quote),
        T(test_measurements_from_short_v4_quote),
        T(test_measurements_from_short_v5_quote),
        T(test_measurements_from_junk_quote),
        T(test_read_ccel),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
