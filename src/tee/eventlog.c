/* The runtime event log (blueprint "Measured launch"): canonical events,
 * their SHA-384 digests, the RTMR3 replay, the evidence JSON form, and the
 * persisted log of a provider kept consistent with RTMR3. Contract in
 * eventlog.h.
 *
 * Crash safety rests on one ordering: an entry is appended and fsynced
 * before RTMR3 is extended (tee_measure), so the file can only ever be ahead
 * of the register by the one entry whose extend was interrupted, never
 * behind it. tee_eventlog_read uses that to reconcile; anything else means
 * RTMR3 was extended by someone who did not log it, and is reported rather
 * than papered over. All access goes through <runtime_dir>/eventlog.lock,
 * taken before any provider lock. */
#include "tee/eventlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"

enum {
    RUNTIME_MR = 3,                     /* RTMR3: free for applications (tdx-facts §4) */
    EVENTLOG_MAX_BYTES = 64 << 20,      /* about 200,000 entries */
};

static const uint8_t ZERO48[48];

/* ---- events ----------------------------------------------------------- */

/* Finds a real anywhere in v and writes its JSON path into path. */
static bool find_real(json_t *v, char *path, size_t n, size_t used)
{
    if (json_is_real(v))
        return true;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) {
            int w = snprintf(path + used, n - used, ".%s", k);
            size_t u = w < 0 ? used : (size_t)w + used < n ? (size_t)w + used : n - 1;
            if (find_real(m, path, n, u))
                return true;
            path[used] = '\0';
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            int w = snprintf(path + used, n - used, "[%zu]", i);
            size_t u = w < 0 ? used : (size_t)w + used < n ? (size_t)w + used : n - 1;
            if (find_real(json_array_get(v, i), path, n, u))
                return true;
            path[used] = '\0';
        }
    }
    return false;
}

ccai_code tee_event_make(const char *type, const json_t *data, tee_event *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    if (!type || strncmp(type, "ccai.", 5) != 0)
        return ccai_fail(err, CCAI_ERR_ARG, "event type \"%s\" does not start with \"ccai.\"",
                         type ? type : "(null)");
    if (!json_is_object(data))
        return ccai_fail(err, CCAI_ERR_ARG, "event %s: data must be a JSON object", type);
    json_t *copy = json_deep_copy(data);  /* jansson iterates non-const values only */
    char path[256] = "data";
    if (find_real(copy, path, sizeof path, strlen(path))) {
        json_decref(copy);
        return ccai_fail(err, CCAI_ERR_ARG,
                         "event %s: %s is a real number, which has no canonical text", type,
                         path);
    }
    json_t *t = json_string(type);
    if (!t) {
        json_decref(copy);
        return ccai_fail(err, CCAI_ERR_ARG, "event type is not valid UTF-8");
    }
    json_t *obj = json_object();
    json_object_set_new(obj, "type", t);
    json_object_set_new(obj, "data", copy);
    char *text = ccai_json_canonical(obj);
    json_decref(obj);
    if (!text)
        return ccai_fail(err, CCAI_ERR_ARG, "event %s: data cannot be serialized", type);
    out->mr = RUNTIME_MR;
    out->event = text;
    ccai_sha384(text, strlen(text), out->digest);
    return CCAI_OK;
}

void tee_event_free(tee_event *e)
{
    if (!e)
        return;
    free(e->event);
    memset(e, 0, sizeof *e);
}

/* ---- logs in memory --------------------------------------------------- */

static void add_entry(tee_eventlog *log, unsigned mr, const uint8_t digest[48], const char *text)
{
    if (log->count == log->cap) {
        log->cap = log->cap ? 2 * log->cap : 16;
        log->ev = ccai_xrealloc(log->ev, log->cap * sizeof *log->ev);
    }
    tee_event *d = &log->ev[log->count++];
    d->mr = mr;
    memcpy(d->digest, digest, 48);
    d->event = ccai_xstrdup(text);
}

void tee_eventlog_add(tee_eventlog *log, const tee_event *e)
{
    add_entry(log, e->mr, e->digest, e->event);
}

void tee_eventlog_free(tee_eventlog *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < log->count; i++)
        free(log->ev[i].event);
    free(log->ev);
    memset(log, 0, sizeof *log);
}

/* The first n entries' replay of register mr. */
static void replay_n(const tee_eventlog *log, size_t n, unsigned mr, uint8_t out[48])
{
    memset(out, 0, 48);
    for (size_t i = 0; i < n; i++)
        if (log->ev[i].mr == mr)
            ccai_sha384_extend(out, log->ev[i].digest);
}

void tee_eventlog_replay(const tee_eventlog *log, unsigned mr, uint8_t out[48])
{
    replay_n(log, log->count, mr, out);
}

/* The verifier hashes the text it is given (blueprint): the digest must be
 * exactly SHA-384 of those bytes. */
static ccai_code check_digest(const uint8_t digest[48], const char *text, ccai_err *err)
{
    uint8_t d[48];
    ccai_sha384(text, strlen(text), d);
    if (memcmp(d, digest, 48) == 0)
        return CCAI_OK;
    char want[97], got[97];
    ccai_hex_encode(digest, 48, got);
    ccai_hex_encode(d, 48, want);
    return ccai_fail(err, CCAI_ERR_VERIFY,
                     "digest %s is not SHA-384 of its event text (%s)", got, want);
}

ccai_code tee_eventlog_check_digests(const tee_eventlog *log, ccai_err *err)
{
    for (size_t i = 0; i < log->count; i++) {
        ccai_code rc = check_digest(log->ev[i].digest, log->ev[i].event, err);
        if (rc) {
            ccai_err_prefix(err, "event log entry %zu", i);
            return rc;
        }
    }
    return CCAI_OK;
}

/* ---- JSON ------------------------------------------------------------- */

json_t *tee_eventlog_to_json(const tee_eventlog *log)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < log->count; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "mr", json_integer(log->ev[i].mr));
        ccai_json_set_hex(o, "digest", log->ev[i].digest, 48);
        json_object_set_new(o, "event", json_string(log->ev[i].event));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* One {"mr","digest","event"} object; *text is borrowed from o. The digest
 * is checked against the text. */
static ccai_code entry_from_json(const json_t *o, unsigned *mr_out, uint8_t digest[48],
                                 const char **text, ccai_err *err)
{
    if (!json_is_object(o))
        return ccai_fail(err, CCAI_ERR_PARSE, "expected an object");
    long long mr;
    ccai_code rc;
    if ((rc = ccai_json_get_int(o, "mr", &mr, err)))
        return rc;
    if (mr < 0 || mr > 3)
        return ccai_fail(err, CCAI_ERR_PARSE, "\"mr\" is %lld, expected 0..3", mr);
    if ((rc = ccai_json_get_hex(o, "digest", digest, 48, err)) ||
        (rc = ccai_json_get_str(o, "event", text, err)))
        return rc;
    *mr_out = (unsigned)mr;
    return check_digest(digest, *text, err);
}

ccai_code tee_eventlog_from_json(const json_t *arr, tee_eventlog *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_array(arr))
        return ccai_fail(err, CCAI_ERR_PARSE, "event log: expected a JSON array");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        unsigned mr;
        uint8_t digest[48];
        const char *text;
        ccai_code rc = entry_from_json(json_array_get(arr, i), &mr, digest, &text, err);
        if (rc) {
            ccai_err_prefix(err, "event log entry %zu", i);
            tee_eventlog_free(out);
            return rc;
        }
        add_entry(out, mr, digest, text);
    }
    return CCAI_OK;
}

/* ---- persistence ------------------------------------------------------ */

typedef struct log_paths {
    char *log, *lock, *aside;
} log_paths;

static void paths_init(const tee_provider *p, log_paths *lp)
{
    lp->log = ccai_xasprintf("%s/eventlog.jsonl", p->runtime_dir);
    lp->lock = ccai_xasprintf("%s/eventlog.lock", p->runtime_dir);
    lp->aside = ccai_xasprintf("%s/eventlog.jsonl.pre-reboot", p->runtime_dir);
}

static void paths_free(log_paths *lp)
{
    free(lp->log);
    free(lp->lock);
    free(lp->aside);
}

/* The file's line for e: canonical {"digest":..,"event":..,"mr":3} and '\n'. */
static char *entry_line(const tee_event *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "mr", json_integer(e->mr));
    ccai_json_set_hex(o, "digest", e->digest, 48);
    json_object_set_new(o, "event", json_string(e->event));
    char *s = ccai_json_canonical(o);
    json_decref(o);
    char *line = ccai_xasprintf("%s\n", s);
    free(s);
    return line;
}

static ccai_code parse_line(const char *path, size_t lineno, const char *s, size_t n,
                            tee_eventlog *log, ccai_err *err)
{
    json_t *o = NULL;
    unsigned mr = 0;
    uint8_t digest[48];
    const char *text = NULL;
    ccai_code rc = ccai_json_parse(s, n, &o, err);
    if (!rc)
        rc = entry_from_json(o, &mr, digest, &text, err);
    if (!rc && mr != RUNTIME_MR)
        rc = ccai_fail(err, CCAI_ERR_PARSE, "\"mr\" is %u, expected %d", mr, RUNTIME_MR);
    if (rc) {
        ccai_err_prefix(err, "%s line %zu", path, lineno);
        if (err)
            err->code = CCAI_ERR_PARSE;
        rc = CCAI_ERR_PARSE;
    } else {
        add_entry(log, mr, digest, text);
    }
    json_decref(o);
    return rc;
}

/* Loads the file (absent = empty). *torn is set when the last line lacks its
 * newline: an append cut short, which can only precede its extend. */
static ccai_code load(const char *path, tee_eventlog *log, bool *torn, ccai_err *err)
{
    memset(log, 0, sizeof *log);
    *torn = false;
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(path, EVENTLOG_MAX_BYTES, &data, &len, err);
    if (rc == CCAI_ERR_NOT_FOUND) {
        ccai_err_clear(err);
        return CCAI_OK;
    }
    if (rc)
        return rc;
    const char *s = (const char *)data;
    size_t lineno = 0;
    for (size_t at = 0; at < len && !rc;) {
        const char *nl = memchr(s + at, '\n', len - at);
        lineno++;
        if (!nl) {
            *torn = true;
            break;
        }
        size_t n = (size_t)(nl - (s + at));
        if (n == 0)
            rc = ccai_fail(err, CCAI_ERR_PARSE, "%s line %zu: empty line", path, lineno);
        else
            rc = parse_line(path, lineno, s + at, n, log, err);
        at += n + 1;
    }
    free(data);
    if (rc)
        tee_eventlog_free(log);
    return rc;
}

static ccai_code rewrite(const char *path, const tee_eventlog *log, ccai_err *err)
{
    ccai_buf b = {0};
    for (size_t i = 0; i < log->count; i++) {
        char *line = entry_line(&log->ev[i]);
        ccai_buf_append_str(&b, line);
        free(line);
    }
    ccai_code rc = ccai_write_file_atomic(path, b.data ? b.data : (const uint8_t *)"", b.len,
                                          0600, err);
    ccai_buf_free(&b);
    return rc;
}

/* Rewrites the file as log; on failure frees log, so callers see nothing. */
static ccai_code rewrite_or_free(const char *path, tee_eventlog *log, ccai_err *err)
{
    ccai_code rc = rewrite(path, log, err);
    if (rc)
        tee_eventlog_free(log);
    return rc;
}

/* Brings the file and RTMR3 into agreement (see the file comment); called
 * with the log lock held. On success *log is the reconciled log. */
static ccai_code load_reconciled(tee_provider *p, const log_paths *lp, tee_eventlog *log,
                                 ccai_err *err)
{
    bool torn;
    ccai_code rc = load(lp->log, log, &torn, err);
    if (rc)
        return rc;
    tee_measurements m;
    if ((rc = p->ops->read_measurements(p, &m, err))) {
        tee_eventlog_free(log);
        return rc;
    }
    const uint8_t *rtmr3 = m.rtmr[RUNTIME_MR];
    uint8_t all[48], but_last[48];
    replay_n(log, log->count, RUNTIME_MR, all);
    if (memcmp(all, rtmr3, 48) == 0)
        return torn ? rewrite_or_free(lp->log, log, err) : CCAI_OK;
    if (log->count) {
        replay_n(log, log->count - 1, RUNTIME_MR, but_last);
        if (memcmp(but_last, rtmr3, 48) == 0) {
            /* The process died between append and extend: the last entry was
             * never measured, so it must not be reported. */
            free(log->ev[--log->count].event);
            return rewrite_or_free(lp->log, log, err);
        }
    }
    if (memcmp(rtmr3, ZERO48, 48) == 0 && log->count) {
        /* RTMR3 is zero only at TD boot: this log describes a previous boot.
         * Keep it for inspection but out of the way. */
        tee_eventlog_free(log);
        if (rename(lp->log, lp->aside) != 0)
            return ccai_fail(err, CCAI_ERR_IO, "rename %s to %s: %s", lp->log, lp->aside,
                             strerror(errno));
        return CCAI_OK;
    }
    char want[97], have[97];
    ccai_hex_encode(all, 48, want);
    ccai_hex_encode(rtmr3, 48, have);
    tee_eventlog_free(log);
    return ccai_fail(err, CCAI_ERR_STATE, "runtime event log replays to %s but RTMR3 is %s", want,
                     have);
}

static ccai_code append_line(const char *path, const char *line, ccai_err *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return ccai_fail(err, CCAI_ERR_IO, "%s: %s", path, strerror(errno));
    size_t len = strlen(line), done = 0;
    ccai_code rc = CCAI_OK;
    while (done < len) {
        ssize_t w = write(fd, line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: append: %s", path, strerror(errno));
            break;
        }
        done += (size_t)w;
    }
    /* Durable before the extend: the register must never be ahead of the file. */
    if (!rc && fsync(fd) != 0)
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: fsync: %s", path, strerror(errno));
    close(fd);
    return rc;
}

ccai_code tee_measure(tee_provider *p, const char *type, const json_t *data, tee_event *out,
                      ccai_err *err)
{
    tee_event e;
    ccai_code rc = tee_event_make(type, data, &e, err);
    if (rc)
        return rc;
    log_paths lp;
    paths_init(p, &lp);
    int lock = -1;
    tee_eventlog log = {0};
    rc = ccai_lock(lp.lock, &lock, err);
    if (!rc)
        rc = load_reconciled(p, &lp, &log, err);
    if (!rc) {
        char *line = entry_line(&e);
        rc = append_line(lp.log, line, err);
        free(line);
    }
    /* If the extend fails the entry stays; the next read drops it (or keeps
     * it, should the extend have landed after all). */
    if (!rc)
        rc = p->ops->extend_rtmr(p, RUNTIME_MR, e.digest, err);
    ccai_unlock(lock);
    tee_eventlog_free(&log);
    paths_free(&lp);
    if (!rc && out)
        *out = e;
    else
        tee_event_free(&e);
    return rc;
}

ccai_code tee_eventlog_read(tee_provider *p, tee_eventlog *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    log_paths lp;
    paths_init(p, &lp);
    int lock = -1;
    ccai_code rc = ccai_lock(lp.lock, &lock, err);
    if (!rc)
        rc = load_reconciled(p, &lp, out, err);
    ccai_unlock(lock);
    paths_free(&lp);
    return rc;
}

ccai_code tee_eventlog_clear(tee_provider *p,
                             ccai_code (*reset_registers)(tee_provider *p, ccai_err *err),
                             ccai_err *err)
{
    log_paths lp;
    paths_init(p, &lp);
    int lock = -1;
    ccai_code rc = ccai_lock(lp.lock, &lock, err);
    if (!rc && reset_registers)
        rc = reset_registers(p, err);
    if (!rc && unlink(lp.log) != 0 && errno != ENOENT)
        rc = ccai_fail(err, CCAI_ERR_IO, "remove %s: %s", lp.log, strerror(errno));
    ccai_unlock(lock);
    paths_free(&lp);
    return rc;
}
