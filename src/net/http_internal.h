/* Private to src/net/http*.c: the records shared by the request side
 * (http.c: listener, routing, whole replies, request lifetime) and the
 * streaming side (http_stream.c: handles fed from worker threads).
 *
 * Ownership, in one place:
 * - libevent owns each struct evhttp_request. A ccai_http_req shadows one
 *   from dispatch until libevent is done with it, which we learn from exactly
 *   one of two callbacks: the request's on-complete callback (the reply was
 *   fully written; the connection may be reused or closed next) or the
 *   connection's close callback (the connection is going away first). Both
 *   call ccai_net_req_finish; nothing touches the evhttp_request afterwards.
 * - A ccai_http_stream has two references: the loop's (dropped when the loop
 *   is done with it) and the caller's (dropped by ccai_http_stream_end or
 *   _reply). Workers touch only the fields under mu; the rest is loop-only. */
#ifndef CCAI_NET_HTTP_INTERNAL_H
#define CCAI_NET_HTTP_INTERNAL_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <time.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/mem.h"
#include "net/http.h"

typedef struct http_route {
    char *method; /* NULL: any */
    char *path;   /* without the trailing '*' for prefixes */
    size_t plen;
    bool prefix;
    ccai_http_handler fn;
    void *arg;
} http_route;

typedef struct http_call {
    struct http_call *next;
    void (*fn)(void *arg);
    void *arg;
} http_call;

struct ccai_http_server {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound; /* NULL once stop stopped accepting */
    SSL_CTX *ssl_ctx;                  /* NULL: plain HTTP */
    struct timeval read_tv, write_tv;
    int grace_ms;
    char **headers; /* name, value pairs for every reply */
    size_t nheaders;
    http_route *routes;
    size_t nroutes;
    uint16_t port;
    bool early_close; /* the backend reports EV_CLOSED (epoll) */

    struct event *stop_ev, *grace_ev, *call_ev;
    struct event *resume_ev;      /* accepting again after running out of descriptors */
    time_t accept_warned;         /* when that was last said on stderr */
    struct ccai_http_server *next_listening; /* http.c's list, for accept errors */
    struct event **sig_evs;
    size_t nsig;
    bool ran;      /* run was entered (loop thread only from then on) */
    bool running;  /* inside event_base_loop */
    bool stopping; /* loop thread only */

    pthread_mutex_t call_mu; /* guards calls and calls_open */
    http_call *calls, *calls_tail;
    bool calls_open;

    ccai_http_req *reqs; /* requests in flight (loop thread only) */
};

struct ccai_http_req {
    ccai_http_server *srv;
    struct evhttp_request *ev;
    struct evhttp_connection *conn;
    ccai_http_req *prev, *next;
    const char *method;
    char *path;
    char **query; /* name, value pairs, decoded */
    size_t nquery;
    char *client;
    uint16_t client_port;
    bool replied;             /* a whole reply, a stream or a deferral has begun */
    ccai_http_stream *stream; /* the loop's side of a handle, while it has one */
    struct event *watch;      /* notices the client leaving while a handle is open */
    uint8_t *body;            /* ccai_http_body's copy (NUL after body_len), wiped */
    size_t body_len;
};

struct ccai_http_stream {
    pthread_mutex_t mu;
    atomic_int refs;
    atomic_bool cancelled;
    /* under mu */
    bool closed;        /* the loop takes nothing more: ended or connection gone */
    bool end_requested; /* the caller ended (or replied) */
    bool wake_pending;  /* the loop has been poked and not yet run */
    bool has_reply;
    ccai_buf pending;   /* chunks not yet handed to libevent */
    int reply_status;
    char *reply_ctype;
    ccai_buf reply_body;
    ccai_buf reply_headers; /* name NUL value NUL, ... (deferred replies) */
    /* set at creation, then read-only */
    bool deferred;
    /* loop thread only */
    struct event *wake;
    ccai_http_req *req;
    struct evbuffer *out;              /* the connection's output (streams) */
    struct evbuffer_cb_entry *out_cb;  /* our drain watch on it */
    bool drained;                      /* out drained since we last looked */
    bool ending;                       /* end seen; waiting for a quiet output */
};

/* http_req.c */
/* evhttp's callback for every request that parsed (the server's gencb). */
void ccai_net_on_request(struct evhttp_request *ev, void *arg);
/* Sends a whole reply (status clamped to 100..599, body copied) whether or
 * not r->replied is set; the caller guards against double answers. */
/* True when name and value can be a header line. */
bool ccai_net_header_ok(const char *name, const char *value);
/* Adds a header to r's reply: a repeated name replaces the earlier value,
 * except Set-Cookie. */
bool ccai_net_put_header(ccai_http_req *r, const char *name, const char *value);
void ccai_net_send_whole(ccai_http_req *r, int status, const char *ctype, const void *body,
                         size_t len);
/* Replaces a reply header (internal callers, after replied is set). */
void ccai_net_set_header(ccai_http_req *r, const char *name, const char *value);
/* A reason phrase for the status line, or NULL for libevent's generic one. */
const char *ccai_net_reason(int status);
/* {"error": msg} with msg made valid UTF-8; the caller frees. */
char *ccai_net_error_json(const char *msg);
/* The same for a printf-style message (cut at 511 bytes). */
char *ccai_net_error_vjson(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* libevent is done with r->ev (or about to be): wipe the body, forget r. */
void ccai_net_req_finish(ccai_http_req *r);
/* Forgets r without touching r->ev (which may be gone). */
void ccai_net_req_forget(ccai_http_req *r);
/* Stops libevent reading the connection (see http_req.c: libevent 2.1.12
 * re-enables reading whenever it queues output). */
void ccai_net_pause_reading(ccai_http_req *r);
/* Starts watching the socket for the client leaving while a handle is open. */
void ccai_net_watch_peer(ccai_http_req *r);

/* http_stream.c */
/* The connection is going away: cancel the handle and drop the loop's reference. */
void ccai_net_stream_detach(ccai_http_stream *s);

#endif
