/* HTTP requests (http.h), the request side: dispatch and routing, the
 * lifetime of each request, the accessors handlers use, and whole replies.
 *
 * libevent 2.1 pitfalls handled here (blueprint "Choices already made"):
 * - A request is shadowed by a ccai_http_req from dispatch until libevent is
 *   done with it. The connection's close callback points at it and is
 *   cleared in the request's on-complete callback, which libevent runs
 *   before it frees the request and, for "Connection: close", the
 *   connection. So the close callback never fires into something already
 *   freed, in particular not from inside evhttp_send_reply_end; and a
 *   connection that dies while the last bytes are flushed is still noticed.
 * - When the client disconnects while a reply is unfinished, libevent
 *   detaches the request instead of freeing it; the close callback then
 *   still calls evhttp_send_reply_end on it, which frees it.
 * - Reading is paused on a connection from dispatch until its reply is
 *   complete, and paused again after every evhttp_send_reply_start/_chunk,
 *   because libevent 2.1.12 re-enables it there (with no read callback, to
 *   notice closes). Left enabled, the read timeout stays armed during a
 *   stream and kills it once it outlives the timeout even as tokens flow,
 *   and bytes a client sends meanwhile pile up in memory unbounded. So
 *   streams have no idle timeout; a client that stops reading is caught by
 *   the write timeout, and one that leaves is caught at once by a watch on
 *   its socket (ccai_net_watch_peer) or by the next failed write.
 * - Header and body limits are libevent's (it answers 400 and 413). */
#include "net/http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/codec.h"
#include "net/http_internal.h"

/* ---- small helpers ------------------------------------------------------------------ */

const char *ccai_net_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return NULL; /* libevent supplies its generic class name */
    }
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "?";
    }
}

/* Replaces every byte that does not start or continue a well-formed UTF-8
 * sequence with '?', so error messages quoting client input stay JSON. */
static void utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
            hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            *p++ = '?';
            continue;
        }
        bool ok = p[1] >= lo && p[1] <= hi;
        for (size_t i = 2; ok && i <= n; i++)
            ok = p[i] >= 0x80 && p[i] <= 0xBF;
        if (ok)
            p += n + 1;
        else
            *p++ = '?';
    }
}

char *ccai_net_error_json(const char *msg)
{
    char *m = ccai_xstrdup(msg);
    utf8_sanitize(m);
    json_t *o = json_pack("{s:s}", "error", m);
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    free(m);
    return txt ? txt : ccai_xstrdup("{\"error\":\"internal error\"}");
}

/* Percent-decodes n bytes ('+' to space when plus); malformed escapes stay
 * literal. *outlen counts any decoded NUL, so callers can refuse them. */
static char *pct_decode(const char *s, size_t n, bool plus, size_t *outlen)
{
    char *o = ccai_xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+' && plus) {
            c = ' ';
        } else if (c == '%' && i + 2 < n && ccai_hex_digit(s[i + 1]) >= 0 && ccai_hex_digit(s[i + 2]) >= 0) {
            c = (char)(ccai_hex_digit(s[i + 1]) * 16 + ccai_hex_digit(s[i + 2]));
            i += 2;
        }
        o[j++] = c;
    }
    o[j] = '\0';
    *outlen = j;
    return o;
}

/* ---- request lifetime ------------------------------------------------------------------ */

static void req_unlink(ccai_http_req *r)
{
    ccai_http_server *srv = r->srv;
    if (r->prev)
        r->prev->next = r->next;
    else
        srv->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->body) {
        ccai_wipe(r->body, r->body_len + 1);
        free(r->body);
    }
    free(r->path);
    for (size_t i = 0; i < 2 * r->nquery; i++)
        free(r->query[i]);
    free(r->query);
    free(r->client);
    free(r);
    /* A stopping server ends its loop once nothing is in flight. */
    if (srv->stopping && !srv->reqs && srv->running) {
        evtimer_del(srv->grace_ev);
        event_base_loopexit(srv->base, NULL);
    }
}

/* Overwrites the request body where libevent holds it (best effort: libevent
 * and OpenSSL keep transient copies out of our reach). */
static void wipe_body(struct evhttp_request *ev)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(ev);
    int n = in ? evbuffer_peek(in, -1, NULL, NULL, 0) : 0;
    if (n <= 0)
        return;
    struct evbuffer_iovec *v = ccai_xcalloc((size_t)n, sizeof *v);
    n = evbuffer_peek(in, -1, NULL, v, n);
    for (int i = 0; i < n; i++)
        ccai_wipe(v[i].iov_base, v[i].iov_len);
    free(v);
}

void ccai_net_req_forget(ccai_http_req *r)
{
    if (r->stream)
        ccai_net_stream_detach(r->stream); /* clears r->stream */
    if (r->watch)
        event_free(r->watch);
    r->watch = NULL;
    req_unlink(r);
}

void ccai_net_req_finish(ccai_http_req *r)
{
    wipe_body(r->ev);
    ccai_net_req_forget(r);
}

/* The reply is fully written. libevent frees the request right after this,
 * and then the connection too if either side asked for "Connection: close":
 * the close callback must be gone by then (blueprint pitfall). */
static void on_complete(struct evhttp_request *ev, void *arg)
{
    (void)ev;
    ccai_http_req *r = arg;
    evhttp_connection_set_closecb(r->conn, NULL, NULL);
    ccai_net_req_finish(r);
}

/* The connection is going away before the reply completed: a write failed or
 * timed out, the client left (our watch), the grace period ran out, or the
 * server is being freed. */
static void on_close(struct evhttp_connection *conn, void *arg)
{
    ccai_http_req *r = arg;
    struct evhttp_request *ev = r->ev;
    /* A request whose reply is unfinished is detached from the connection
     * rather than freed with it: it is ours to free, and
     * evhttp_send_reply_end is how (blueprint pitfall). Otherwise libevent
     * frees it right after this callback. */
    bool detached = evhttp_request_get_connection(ev) == NULL;
    evhttp_connection_set_closecb(conn, NULL, NULL);
    ccai_net_req_finish(r);
    if (detached)
        evhttp_send_reply_end(ev);
}

/* Did the peer hang up? Called when the watched socket turns readable. */
static bool peer_gone(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return true;
    if (n < 0)
        return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void on_peer_event(evutil_socket_t fd, short what, void *arg)
{
    ccai_http_req *r = arg;
    if (!(what & EV_CLOSED) && !peer_gone(fd)) {
        /* Bytes arrived early (a pipelined request, a TLS alert) and the
         * client is still there. They stay unread until the reply is done, so
         * a level-triggered read watch would fire forever: keep watching for
         * the hang-up alone where the backend can, else rely on write errors. */
        event_free(r->watch);
        r->watch = NULL;
        if (r->srv->early_close) {
            r->watch = event_new(r->srv->base, fd, EV_CLOSED, on_peer_event, r);
            if (r->watch && event_add(r->watch, NULL) != 0) {
                event_free(r->watch);
                r->watch = NULL;
            }
        }
        return;
    }
    /* Close now, so the handle reads cancelled at once rather than after the
     * next failed write; on_close finishes r. */
    evhttp_connection_free(r->conn);
}

void ccai_net_watch_peer(ccai_http_req *r)
{
    if (r->watch)
        return;
    int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(r->conn));
    if (fd < 0)
        return;
    short what = (short)(EV_READ | (r->srv->early_close ? EV_CLOSED : 0));
    r->watch = event_new(r->srv->base, fd, what, on_peer_event, r);
    if (r->watch && event_add(r->watch, NULL) != 0) {
        event_free(r->watch);
        r->watch = NULL;
    }
}

void ccai_net_pause_reading(ccai_http_req *r)
{
    bufferevent_disable(evhttp_connection_get_bufferevent(r->conn), EV_READ);
}

/* ---- dispatch ------------------------------------------------------------------------- */

static bool parse_query(ccai_http_req *r, const char *q, char *why, size_t n)
{
    size_t cap = 0;
    for (const char *p = q; *p;) {
        size_t seg = strcspn(p, "&");
        if (seg) {
            const char *eq = memchr(p, '=', seg);
            size_t klen = eq ? (size_t)(eq - p) : seg, nl, vl = 0;
            char *name = pct_decode(p, klen, true, &nl);
            char *val = eq ? pct_decode(eq + 1, seg - klen - 1, true, &vl) : ccai_xstrdup("");
            if (strlen(name) != nl || strlen(val) != vl) {
                free(name);
                free(val);
                snprintf(why, n, "a query parameter decodes to a NUL byte");
                return false;
            }
            if (r->nquery == cap) {
                cap = cap ? 2 * cap : 8;
                r->query = ccai_xrealloc(r->query, 2 * cap * sizeof *r->query);
            }
            r->query[2 * r->nquery] = name;
            r->query[2 * r->nquery + 1] = val;
            r->nquery++;
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    return true;
}

static bool parse_target(ccai_http_req *r, char *why, size_t n)
{
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r->ev);
    const char *raw = u ? evhttp_uri_get_path(u) : NULL;
    if (!raw || raw[0] != '/') {
        snprintf(why, n, "expected a request path starting with '/', found \"%.80s\"",
                 raw ? raw : "");
        return false;
    }
    size_t len;
    r->path = pct_decode(raw, strlen(raw), false, &len);
    if (strlen(r->path) != len) {
        snprintf(why, n, "the request path decodes to a NUL byte");
        return false;
    }
    const char *q = evhttp_uri_get_query(u);
    return !q || parse_query(r, q, why, n);
}

static bool method_matches(const http_route *rt, const char *method)
{
    return !rt->method || strcmp(rt->method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0);
}

static void allow_add(char *allow, size_t cap, const char *m)
{
    size_t ml = strlen(m);
    for (const char *p = allow; (p = strstr(p, m)) != NULL; p += ml)
        if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
            return;
    size_t al = strlen(allow);
    if (al + ml + 3 < cap)
        snprintf(allow + al, cap - al, "%s%s", al ? ", " : "", m);
}

static void route(ccai_http_req *r)
{
    ccai_http_server *srv = r->srv;
    const http_route *best = NULL;
    size_t best_score = 0;
    bool path_hit = false;
    char allow[160] = "";
    for (size_t i = 0; i < srv->nroutes; i++) {
        const http_route *rt = &srv->routes[i];
        bool hit = rt->prefix ? strncmp(r->path, rt->path, rt->plen) == 0
                              : strcmp(r->path, rt->path) == 0;
        if (!hit)
            continue;
        path_hit = true;
        size_t score = rt->prefix ? rt->plen + 1 : SIZE_MAX; /* exact beats any prefix */
        if (!method_matches(rt, r->method)) {
            allow_add(allow, sizeof allow, rt->method);
            if (strcmp(rt->method, "GET") == 0)
                allow_add(allow, sizeof allow, "HEAD");
        } else if (score > best_score) {
            best = rt;
            best_score = score;
        }
    }
    if (best) {
        best->fn(r, best->arg);
    } else if (path_hit) {
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Allow", allow);
        ccai_http_reply_error(r, 405, "method %s is not allowed on %s (allowed: %s)", r->method,
                              r->path, allow);
    } else {
        ccai_http_reply_error(r, 404, "no such endpoint: %s %s", r->method, r->path);
    }
}

/* libevent reads no body for a HEAD request, so one that declares a body
 * would leave it in the connection to be parsed as the next request (a
 * request smuggled past a proxy that forwards HEAD bodies). Such a request
 * is refused, and its connection closed before that body is looked at. */
static bool unread_body(const ccai_http_req *r)
{
    if (evhttp_request_get_command(r->ev) != EVHTTP_REQ_HEAD)
        return false;
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->ev);
    const char *cl = evhttp_find_header(in, "Content-Length");
    return evhttp_find_header(in, "Transfer-Encoding") || (cl && strcmp(cl, "0") != 0);
}

void ccai_net_on_request(struct evhttp_request *ev, void *arg)
{
    ccai_http_server *srv = arg;
    ccai_http_req *r = ccai_xcalloc(1, sizeof *r);
    r->srv = srv;
    r->ev = ev;
    r->conn = evhttp_request_get_connection(ev);
    r->method = method_name(evhttp_request_get_command(ev));
    r->next = srv->reqs;
    if (srv->reqs)
        srv->reqs->prev = r;
    srv->reqs = r;
    evhttp_request_set_on_complete_cb(ev, on_complete, r);
    evhttp_connection_set_closecb(r->conn, on_close, r);
    ccai_net_pause_reading(r);

    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(r->conn, &addr, &port);
    r->client = ccai_xstrdup(addr ? addr : "");
    r->client_port = port;
    struct evkeyvalq *out = evhttp_request_get_output_headers(ev);
    for (size_t i = 0; i < srv->nheaders; i++)
        evhttp_add_header(out, srv->headers[2 * i], srv->headers[2 * i + 1]);

    char why[192];
    if (srv->stopping) {
        ccai_http_reply_error(r, 503, "the server is shutting down");
    } else if (unread_body(r)) {
        ccai_net_set_header(r, "Connection", "close");
        ccai_http_reply_error(r, 400, "a HEAD request has no body: expected no Content-Length "
                                      "or Transfer-Encoding");
    } else if (!parse_target(r, why, sizeof why))
        ccai_http_reply_error(r, 400, "%s", why);
    else {
        route(r);
    }
    /* Replies complete asynchronously, so r is still ours here. */
    if (!r->replied)
        ccai_http_reply_error(r, 500, "internal error: the handler for %s %s did not answer",
                              r->method, r->path ? r->path : "");
}

/* ---- accessors (loop thread) -------------------------------------------------------------- */

const char *ccai_http_method(const ccai_http_req *req)
{
    return req->method;
}

const char *ccai_http_path(const ccai_http_req *req)
{
    return req->path ? req->path : "";
}

const char *ccai_http_query(const ccai_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nquery; i++)
        if (strcmp(req->query[2 * i], name) == 0)
            return req->query[2 * i + 1];
    return NULL;
}

const char *ccai_http_header(const ccai_http_req *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

/* A copy in one piece, and libevent's chunks wiped at once: making them
 * contiguous in place (evbuffer_pullup) would free the pieces it joins
 * unwiped, and a body may hold a password. */
const uint8_t *ccai_http_body(ccai_http_req *req, size_t *len)
{
    if (!req->body) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);
        req->body_len = evbuffer_get_length(in);
        req->body = ccai_xmalloc(req->body_len + 1);
        if (req->body_len && evbuffer_copyout(in, req->body, req->body_len) != (ev_ssize_t)req->body_len) {
            fprintf(stderr, "ccai: cannot copy a request body\n");
            abort();
        }
        req->body[req->body_len] = '\0';
        wipe_body(req->ev);
    }
    *len = req->body_len;
    return req->body;
}

const char *ccai_http_client_addr(const ccai_http_req *req)
{
    return req->client;
}

uint16_t ccai_http_client_port(const ccai_http_req *req)
{
    return req->client_port;
}

bool ccai_http_is_tls(const ccai_http_req *req)
{
    return req->srv->ssl_ctx != NULL;
}

int ccai_http_req_fd(const ccai_http_req *req)
{
    return bufferevent_getfd(evhttp_connection_get_bufferevent(req->conn));
}

ccai_http_server *ccai_http_req_server(const ccai_http_req *req)
{
    return req->srv;
}

/* ---- whole replies (loop thread) ------------------------------------------------------------ */

bool ccai_net_header_ok(const char *name, const char *value)
{
    return name && value && *name && !strpbrk(name, "\r\n: \t") && !strpbrk(value, "\r\n");
}

bool ccai_net_put_header(ccai_http_req *r, const char *name, const char *value)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (strcasecmp(name, "Set-Cookie") != 0)
        while (evhttp_remove_header(h, name) == 0) {
        }
    return evhttp_add_header(h, name, value) == 0;
}

bool ccai_http_set_header(ccai_http_req *req, const char *name, const char *value)
{
    return !req->replied && ccai_net_header_ok(name, value) && ccai_net_put_header(req, name, value);
}

void ccai_net_set_header(ccai_http_req *r, const char *name, const char *value)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    while (evhttp_remove_header(h, name) == 0) {
    }
    evhttp_add_header(h, name, value);
}

void ccai_net_send_whole(ccai_http_req *r, int status, const char *ctype, const void *body,
                         size_t len)
{
    if (status < 100 || status > 599)
        status = 500;
    if (ctype)
        ccai_net_set_header(r, "Content-Type", ctype);
    /* Let kept-alive clients go while the server drains. */
    if (r->srv->stopping)
        ccai_net_set_header(r, "Connection", "close");
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        fprintf(stderr, "ccai: out of memory\n");
        abort();
    }
    /* A HEAD answer has the headers a GET's would have and no body: libevent
     * sends whatever body it is given, which a client reads as the start of
     * the next answer on the connection. */
    if (evhttp_request_get_command(r->ev) == EVHTTP_REQ_HEAD) {
        char n[24];
        snprintf(n, sizeof n, "%zu", len);
        ccai_net_set_header(r, "Content-Length", n);
    } else if (len) {
        evbuffer_add(b, body, len);
    }
    /* Completes asynchronously: on_complete (or on_close) comes later. */
    evhttp_send_reply(r->ev, status, ccai_net_reason(status), b);
    evbuffer_free(b);
}

void ccai_http_reply(ccai_http_req *req, int status, const char *content_type, const void *body,
                     size_t len)
{
    if (req->replied)
        return; /* one answer per request; a second is a caller bug, dropped */
    req->replied = true;
    ccai_net_send_whole(req, status, content_type, body, len);
}

void ccai_http_reply_json(ccai_http_req *req, int status, const json_t *body)
{
    char *txt = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!txt) {
        ccai_http_reply_error(req, 500, "internal error: the reply is not serializable JSON");
        return;
    }
    size_t n = strlen(txt);
    ccai_http_reply(req, status, "application/json", txt, n);
    ccai_wipe(txt, n); /* replies may carry completions */
    free(txt);
}

char *ccai_net_error_vjson(const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return ccai_net_error_json(msg);
}

void ccai_http_reply_error(ccai_http_req *req, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *txt = ccai_net_error_vjson(fmt, ap);
    va_end(ap);
    ccai_http_reply(req, status, "application/json", txt, strlen(txt));
    free(txt);
}
