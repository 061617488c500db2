/* HTTP/1.1 server over TLS (or plain, for loopback), on libevent 2.1 evhttp.
 *
 * One event loop runs on the thread that calls ccai_http_server_run; route
 * handlers run there and must not block. Work that takes time (inference)
 * goes to worker threads, which answer through a ccai_http_stream handle:
 * either a chunked stream (NDJSON, Server-Sent Events) fed chunk by chunk, or
 * a deferred reply sent in one piece. Handles are safe to use from any
 * thread; they outlive the connection and even the server, and report
 * through ccai_http_stream_cancelled/send when the client has gone, so a
 * generation loop stops within a token or two of a disconnect.
 *
 * Threading summary (docs/net.md has the details):
 *   any thread      ccai_http_server_stop, ccai_http_server_call,
 *                   ccai_http_stream_send/end/reply/cancelled
 *   loop thread     handlers, every ccai_http_req function,
 *                   ccai_http_stream_start, ccai_http_defer
 *   owner thread    new, route, run, free (free only after run returned)
 *
 * Errors that libevent answers before any handler runs keep libevent's
 * status and an HTML body: headers over the limit or a malformed request
 * line give 400, a body over the limit gives 413, TRACE, CONNECT and a
 * method libevent does not know (FOO, or "get": methods are case-sensitive)
 * give 501 (RFC 9110 §15.6.2) and close the connection.
 * Everything this layer answers itself is JSON: {"error": "..."}. */
#ifndef CCAI_NET_HTTP_H
#define CCAI_NET_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "net/tls.h"

typedef struct ccai_http_server ccai_http_server;
typedef struct ccai_http_req ccai_http_req;
typedef struct ccai_http_stream ccai_http_stream;

/* Runs on the loop thread. It must answer exactly once before returning:
 * ccai_http_reply*, ccai_http_stream_start, or ccai_http_defer. A handler that
 * returns without doing so gets a 500 sent for it. */
typedef void (*ccai_http_handler)(ccai_http_req *req, void *arg);

typedef struct ccai_http_opts {
    const char *listen;         /* "HOST:PORT": "127.0.0.1:0", "[::1]:8443"; 0 = ephemeral */
    ccai_tls *tls;              /* NULL: plain HTTP. Borrowed; must outlive the server */
    size_t max_header_bytes;    /* request line + headers; 0: 16 KiB */
    size_t max_body_bytes;      /* 0: 4 MiB */
    int read_timeout_s;         /* idle keep-alive, slow handshake or request; 0: 30 */
    int write_timeout_s;        /* a client that stops reading; 0: 60 */
    int stop_grace_ms;          /* in-flight requests may finish this long; 0: 5000, <0: none */
    int backlog;                /* listen(2) backlog; 0: 128 */
    const char *const *headers; /* NULL, or name, value, ..., NULL: added to every reply */
} ccai_http_opts;

/* Binds and listens (so the port is known before run). The caller frees *out
 * with ccai_http_server_free. */
ccai_code ccai_http_server_new(const ccai_http_opts *o, ccai_http_server **out, ccai_err *err);

/* The bound port (the real one when the address asked for port 0). */
uint16_t ccai_http_server_port(const ccai_http_server *srv);

/* Registers a route; call before run. method NULL matches any method (and a
 * GET route also answers HEAD). path is exact ("/api/tags"), or a prefix when
 * it ends in '*' ("/ui/" then '*' matches "/ui/" and below; "*" matches all). The
 * most specific route wins: exact, then the longest prefix. A path that
 * matches only routes of other methods gets 405 with an Allow header; no
 * match gets 404. Paths are matched after percent-decoding. */
ccai_code ccai_http_route(ccai_http_server *srv, const char *method, const char *path,
                          ccai_http_handler fn, void *arg, ccai_err *err);

/* Runs the event loop on the calling thread until stop (once per server).
 * SIGPIPE is blocked on this thread while it runs, so a write to a vanished
 * client is an error, not the end of the process. */
ccai_code ccai_http_server_run(ccai_http_server *srv, ccai_err *err);

/* Any thread, any time before free (also before run: run then returns at
 * once). Graceful: stop accepting; replies and streams in flight get
 * stop_grace_ms to end (new requests on kept-alive connections get 503), then
 * the remaining connections are closed and their streams cancelled; run
 * returns. Not async-signal-safe: see ccai_http_server_stop_on_signal. */
void ccai_http_server_stop(ccai_http_server *srv);

/* Stops the server when signo arrives (through libevent's signal handling,
 * so it is async-signal-safe); a second arrival skips the grace period.
 * Any thread, before free; one server per process should own a signal. */
ccai_code ccai_http_server_stop_on_signal(ccai_http_server *srv, int signo, ccai_err *err);

/* Any thread: runs fn(arg) on the loop thread soon. False when the server no
 * longer takes calls (freed, or run returned); then fn never runs and the
 * caller still owns arg. */
bool ccai_http_server_call(ccai_http_server *srv, void (*fn)(void *arg), void *arg);

/* Closes every connection (streams still held by workers turn cancelled) and
 * frees the server. Call after run has returned (or if it never ran). NULL is
 * a no-op. */
void ccai_http_server_free(ccai_http_server *srv);

/* ---- the request (loop thread, inside the handler) -------------------------- */

const char *ccai_http_method(const ccai_http_req *req);      /* "GET", "POST", ... */
const char *ccai_http_path(const ccai_http_req *req);        /* percent-decoded, no query */
/* The first value of a query parameter, URL-decoded ('+' is a space); ""
 * for "?flag"; NULL when absent. */
const char *ccai_http_query(const ccai_http_req *req, const char *name);
/* A request header by case-insensitive name; NULL when absent. */
const char *ccai_http_header(const ccai_http_req *req, const char *name);
/* The body (at most max_body_bytes), contiguous; *len 0 and a non-NULL
 * pointer when empty. Valid until the reply is sent; copy it for workers.
 * The body buffer is wiped when the request ends (it may hold a prompt). */
const uint8_t *ccai_http_body(ccai_http_req *req, size_t *len);
const char *ccai_http_client_addr(const ccai_http_req *req); /* "127.0.0.1", "::1" */
uint16_t ccai_http_client_port(const ccai_http_req *req);
bool ccai_http_is_tls(const ccai_http_req *req);
/* The accepted socket, for diagnostics (tests check TCP_NODELAY on it). */
int ccai_http_req_fd(const ccai_http_req *req);
ccai_http_server *ccai_http_req_server(const ccai_http_req *req);

/* Sets a reply header before the reply starts. Replaces an earlier value of
 * the same name, except Set-Cookie, which may repeat. False when the name or
 * value is not a legal header (CR/LF injection) or the reply has started. */
bool ccai_http_set_header(ccai_http_req *req, const char *name, const char *value);

/* Whole replies; status 100..599. The body is copied. */
void ccai_http_reply(ccai_http_req *req, int status, const char *content_type, const void *body,
                     size_t len);
/* Compact JSON, content-type application/json. body is borrowed. */
void ccai_http_reply_json(ccai_http_req *req, int status, const json_t *body);
/* {"error": "<message>"}; bytes that are not UTF-8 become '?'. */
void ccai_http_reply_error(ccai_http_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- streams and deferred replies --------------------------------------------- */

/* Loop thread: starts a chunked reply with this status and content type
 * (HTTP/1.0 clients get a close-delimited body); set extra headers first.
 * Returns a handle the caller owns: hand it to a worker, which must end it
 * with ccai_http_stream_end. NULL when a reply was already started. A stream
 * has no idle timeout: it may stay quiet as long as the client stays. */
ccai_http_stream *ccai_http_stream_start(ccai_http_req *req, int status, const char *content_type);

/* Loop thread: answers later, in one piece, from any thread, through
 * ccai_http_stream_reply(_json). Set extra headers before deferring or
 * with ccai_http_stream_set_header. The caller owns the handle; a handle
 * ended without a reply answers 500. NULL when a reply was already
 * started. */
ccai_http_stream *ccai_http_defer(ccai_http_req *req);

/* Any thread: queues a chunk for the loop to write (copied). False once the
 * client has gone, the stream was cancelled or ended, or for deferred handles;
 * then stop producing and call ccai_http_stream_end. */
bool ccai_http_stream_send(ccai_http_stream *s, const void *data, size_t len);

/* Any thread: true once the client disconnected or the server closed the
 * connection (stop after the grace period, write timeout). Cheap; poll it
 * between tokens. */
bool ccai_http_stream_cancelled(const ccai_http_stream *s);

/* Any thread: ends the reply (the final chunk follows the queued ones) and
 * releases the caller's handle: s must not be used afterwards. NULL is a no-op. */
void ccai_http_stream_end(ccai_http_stream *s);

/* Any thread, deferred handles, before the reply: adds a header to it (as
 * ccai_http_set_header: a repeated name replaces the earlier value, except
 * Set-Cookie). The value is copied, and wiped once sent. False for a name or
 * value that cannot be a header, a streamed handle, or after the reply. */
bool ccai_http_stream_set_header(ccai_http_stream *s, const char *name, const char *value);

/* Any thread, deferred handles: sends the whole reply (body copied) and ends
 * the handle like ccai_http_stream_end. Dropped silently if the client has
 * gone. */
void ccai_http_stream_reply(ccai_http_stream *s, int status, const char *content_type,
                            const void *body, size_t len);
/* Compact JSON; body is borrowed. */
void ccai_http_stream_reply_json(ccai_http_stream *s, int status, const json_t *body);
/* {"error": "<message>"} as ccai_http_reply_error writes it (bytes that are
 * not UTF-8 become '?'). */
void ccai_http_stream_reply_error(ccai_http_stream *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
