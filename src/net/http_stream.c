/* Streams and deferred replies (http.h): answers produced on worker threads.
 *
 * A worker never touches libevent objects. It appends to the handle's
 * pending buffer under the handle's mutex and pokes the handle's wake event
 * (event_active is thread-safe once evthread_use_pthreads has run); the loop
 * thread's on_wake hands the bytes to evhttp. When the connection goes away
 * the loop marks the handle closed and cancelled under the same mutex and
 * frees the wake event, so a worker can never poke a freed event: it checks
 * "closed" under the mutex it pokes under. The handle is reference counted
 * (loop + caller), so it outlives the request, the connection and the
 * server for as long as the worker holds it.
 *
 * Lock order: handle mutex, then libevent's base lock (inside event_active).
 * The loop thread takes a handle mutex only from callbacks, where libevent
 * does not hold the base lock. */
#include "net/http_internal.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http_struct.h> /* after event2/http.h: major/minor of a request */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A client that lets this much of a stream pile up unread is treated as gone
 * (the write timeout only fires when nothing at all is written). */
enum { STREAM_MAX_BACKLOG = 16 << 20 };

static void wipe_buf(ccai_buf *b)
{
    ccai_wipe(b->data, b->len);
    ccai_buf_free(b);
}

static void stream_unref(ccai_http_stream *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&s->mu);
    wipe_buf(&s->pending);
    wipe_buf(&s->reply_body);
    wipe_buf(&s->reply_headers);
    free(s->reply_ctype);
    free(s);
}

/* Under s->mu: make sure the loop runs on_wake soon. */
static void poke(ccai_http_stream *s)
{
    if (!s->wake_pending) {
        s->wake_pending = true;
        event_active(s->wake, EV_WRITE, 0);
    }
}

/* ---- loop side -------------------------------------------------------------------------- */

/* Poke our own wake event from the loop thread (to look again later). */
static void wake_self(ccai_http_stream *s)
{
    pthread_mutex_lock(&s->mu);
    poke(s);
    pthread_mutex_unlock(&s->mu);
}

/* libevent 2.1 pitfall: with bufferevent_openssl, the write callback that
 * reports "output drained" is always deferred to a later callback slot, and
 * evhttp's write callback runs whatever completion evhttp_send_reply_end
 * installed, without checking that the output is still empty. Ending a
 * stream while such a callback is queued completes the request early and
 * strands the last chunk and the terminator in the output buffer. So a
 * stream ends only when its output is empty and no drain has happened since
 * we last yielded the loop (which lets any queued callback run first). This
 * watches the connection's output buffer for drains. */
static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    ccai_http_stream *s = arg;
    if (info->n_deleted == 0)
        return;
    s->drained = true;
    if (s->ending && evbuffer_get_length(buf) == 0)
        wake_self(s);
}

static void unwatch_output(ccai_http_stream *s)
{
    if (s->out_cb)
        evbuffer_remove_cb_entry(s->out, s->out_cb);
    s->out_cb = NULL;
    s->out = NULL;
}

/* The loop is done with the handle; libevent may free r inside the calls
 * made after this. */
static void release(ccai_http_stream *s, ccai_http_req *r)
{
    unwatch_output(s);
    r->stream = NULL;
    s->req = NULL;
    event_free(s->wake);
    s->wake = NULL;
}

static void end_stream(ccai_http_stream *s, ccai_http_req *r)
{
    if (evbuffer_get_length(s->out) > 0)
        return; /* on_output wakes us once it has drained */
    if (s->drained) {
        s->drained = false;
        wake_self(s); /* behind any write callback already queued */
        return;
    }
    release(s, r);
    evhttp_send_reply_end(r->ev);
    stream_unref(s); /* the loop's reference */
}

static void answer_deferred(ccai_http_stream *s, ccai_http_req *r, bool has_reply, int status,
                            const char *ctype, const ccai_buf *body, const ccai_buf *headers)
{
    release(s, r);
    if (has_reply) {
        /* Pairs of NUL-terminated strings, checked when they were set. */
        for (size_t o = 0; o < headers->len;) {
            const char *name = (const char *)headers->data + o;
            const char *value = name + strlen(name) + 1;
            ccai_net_put_header(r, name, value);
            o = (size_t)(value + strlen(value) + 1 - (const char *)headers->data);
        }
        ccai_net_send_whole(r, status, ctype, body->data, body->len);
    } else {
        char *e = ccai_net_error_json("internal error: the request ended without an answer");
        ccai_net_send_whole(r, 500, "application/json", e, strlen(e));
        free(e);
    }
    stream_unref(s);
}

static void push_chunk(ccai_http_req *r, const ccai_buf *chunk)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        fprintf(stderr, "ccai: out of memory\n");
        abort();
    }
    evbuffer_add(b, chunk->data, chunk->len);
    evhttp_send_reply_chunk(r->ev, b);
    evbuffer_free(b);
    ccai_net_pause_reading(r);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ccai_http_stream *s = arg;
    pthread_mutex_lock(&s->mu);
    ccai_buf chunk = s->pending, body = s->reply_body, headers = s->reply_headers;
    s->pending = (ccai_buf){0};
    s->reply_body = (ccai_buf){0};
    s->reply_headers = (ccai_buf){0};
    char *ctype = s->reply_ctype;
    s->reply_ctype = NULL;
    bool end = s->end_requested, has_reply = s->has_reply;
    int status = s->reply_status;
    s->wake_pending = false;
    if (end)
        s->closed = true;
    pthread_mutex_unlock(&s->mu);

    ccai_http_req *r = s->req;
    if (r && s->deferred) {
        if (end)
            answer_deferred(s, r, has_reply, status, ctype, &body, &headers);
    } else if (r) {
        if (chunk.len)
            push_chunk(r, &chunk);
        if (end)
            s->ending = true;
        if (s->ending)
            end_stream(s, r);
        else if (evbuffer_get_length(s->out) > STREAM_MAX_BACKLOG)
            evhttp_connection_free(r->conn); /* on_close cancels s */
    }
    wipe_buf(&chunk);
    free(ctype);
    wipe_buf(&body);
    wipe_buf(&headers);
}

void ccai_net_stream_detach(ccai_http_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->closed = true;
    atomic_store(&s->cancelled, true);
    pthread_mutex_unlock(&s->mu);
    unwatch_output(s);
    /* No worker pokes a closed handle, so the wake event can go. */
    if (s->wake)
        event_free(s->wake);
    s->wake = NULL;
    if (s->req)
        s->req->stream = NULL;
    s->req = NULL;
    stream_unref(s); /* the loop's reference */
}

static ccai_http_stream *stream_new(ccai_http_req *r, bool deferred)
{
    ccai_http_stream *s = ccai_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    atomic_init(&s->refs, 2);
    atomic_init(&s->cancelled, false);
    s->deferred = deferred;
    s->req = r;
    s->wake = event_new(r->srv->base, -1, 0, on_wake, s);
    if (!s->wake) {
        fprintf(stderr, "ccai: out of memory\n");
        abort();
    }
    r->stream = s;
    r->replied = true;
    ccai_net_watch_peer(r);
    return s;
}

ccai_http_stream *ccai_http_stream_start(ccai_http_req *req, int status, const char *content_type)
{
    if (req->replied)
        return NULL;
    if (status < 100 || status > 599)
        status = 500;
    ccai_http_stream *s = stream_new(req, false);
    if (content_type)
        ccai_net_set_header(req, "Content-Type", content_type);
    /* HTTP/1.0 has no chunked encoding: the body ends when the connection
     * does. A draining server lets kept-alive clients go. */
    struct evhttp_request *ev = req->ev;
    if (ev->major < 1 || (ev->major == 1 && ev->minor == 0) || req->srv->stopping)
        ccai_net_set_header(req, "Connection", "close");
    evhttp_send_reply_start(ev, status, ccai_net_reason(status));
    ccai_net_pause_reading(req);
    s->out = bufferevent_get_output(evhttp_connection_get_bufferevent(req->conn));
    s->out_cb = evbuffer_add_cb(s->out, on_output, s);
    if (!s->out_cb) {
        fprintf(stderr, "ccai: out of memory\n");
        abort();
    }
    return s;
}

ccai_http_stream *ccai_http_defer(ccai_http_req *req)
{
    return req->replied ? NULL : stream_new(req, true);
}

/* ---- any thread ------------------------------------------------------------------------- */

bool ccai_http_stream_send(ccai_http_stream *s, const void *data, size_t len)
{
    if (!s)
        return false;
    pthread_mutex_lock(&s->mu);
    bool ok = !s->closed && !s->end_requested && !s->deferred && !atomic_load(&s->cancelled);
    if (ok && len) {
        ccai_buf_append(&s->pending, data, len);
        poke(s);
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool ccai_http_stream_cancelled(const ccai_http_stream *s)
{
    return !s || atomic_load(&s->cancelled);
}

void ccai_http_stream_end(ccai_http_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    if (!s->closed && !s->end_requested) {
        s->end_requested = true;
        poke(s);
    }
    pthread_mutex_unlock(&s->mu);
    stream_unref(s); /* the caller's reference */
}

bool ccai_http_stream_set_header(ccai_http_stream *s, const char *name, const char *value)
{
    if (!s || !ccai_net_header_ok(name, value))
        return false;
    pthread_mutex_lock(&s->mu);
    bool ok = s->deferred && !s->closed && !s->end_requested;
    if (ok) {
        /* Grown by hand: a realloc would leave earlier values (a session
         * cookie) behind in the freed block. */
        size_t n = strlen(name) + 1, v = strlen(value) + 1;
        ccai_buf *h = &s->reply_headers;
        if (h->len + n + v > h->cap) {
            ccai_buf grown = {0};
            ccai_buf_reserve(&grown, 2 * (h->len + n + v));
            ccai_buf_append(&grown, h->data, h->len);
            wipe_buf(h);
            *h = grown;
        }
        ccai_buf_append(h, name, n);
        ccai_buf_append(h, value, v);
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void ccai_http_stream_reply(ccai_http_stream *s, int status, const char *content_type,
                            const void *body, size_t len)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    if (!s->closed && !s->end_requested) {
        if (s->deferred) {
            s->has_reply = true;
            s->reply_status = status;
            s->reply_ctype = content_type ? ccai_xstrdup(content_type) : NULL;
            if (len)
                ccai_buf_append(&s->reply_body, body, len);
        }
        s->end_requested = true;
        poke(s);
    }
    pthread_mutex_unlock(&s->mu);
    stream_unref(s);
}

void ccai_http_stream_reply_error(ccai_http_stream *s, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *e = ccai_net_error_vjson(fmt, ap);
    va_end(ap);
    ccai_http_stream_reply(s, status, "application/json", e, strlen(e));
    free(e);
}

void ccai_http_stream_reply_json(ccai_http_stream *s, int status, const json_t *body)
{
    char *txt = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!txt) {
        char *e = ccai_net_error_json("internal error: the reply is not serializable JSON");
        ccai_http_stream_reply(s, 500, "application/json", e, strlen(e));
        free(e);
        return;
    }
    size_t n = strlen(txt);
    ccai_http_stream_reply(s, status, "application/json", txt, n);
    ccai_wipe(txt, n);
    free(txt);
}
