/* HTTP/1.1 server (http.h), the server side: the listening socket, the
 * per-connection bufferevents (TLS or plain), the loop and its lifecycle
 * (run, graceful stop, signals, cross-thread calls) and route registration.
 * Requests themselves live in http_req.c, streams in http_stream.c.
 *
 * libevent 2.1 pitfalls handled here (blueprint "Choices already made"):
 * - TCP_NODELAY is set on the listening socket, which accepted sockets
 *   inherit on Linux; without it a keep-alive reply written in two segments
 *   waits ~40 ms for the client's delayed ACK (Nagle).
 * - evthread_use_pthreads() runs before the first event_base exists, so
 *   event_active from worker threads is safe (stop, calls, stream chunks).
 * - Writing to a reset connection raises SIGPIPE: blocked on the threads
 *   that write, rather than changing the process-wide disposition.
 * - Read and write timeouts are set per connection on its bufferevent;
 *   quiet streams are not subject to either (http_req.c says why). */
#include "net/http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/http_internal.h"

enum {
    DEFAULT_MAX_HEADER = 16 << 10,
    DEFAULT_MAX_BODY = 4 << 20,
    DEFAULT_READ_TIMEOUT_S = 30,
    DEFAULT_WRITE_TIMEOUT_S = 60,
    DEFAULT_GRACE_MS = 5000,
    DEFAULT_BACKLOG = 128,
};

/* ---- process-wide libevent set-up ---------------------------------------------- */

/* libevent's locking callbacks are process-wide and must be installed before
 * the first event_base exists; once is enough for every server. */
static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;
static int evthread_rc;

static void evthread_init(void)
{
    evthread_rc = evthread_use_pthreads();
}

/* Writing to a socket the peer has reset raises SIGPIPE, whose default action
 * ends the process. Blocking it on the threads that write (the loop, and free
 * as it closes connections) turns it into EPIPE without touching the
 * process-wide disposition. */
static void sigpipe_block(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

static void sigpipe_restore(const sigset_t *old)
{
    if (!sigismember(old, SIGPIPE)) {
        /* Consume any SIGPIPE raised meanwhile before unblocking, or it would
         * be delivered (and kill the process) the moment we restore. */
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&s, NULL, &zero) > 0) {
        }
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- listening ------------------------------------------------------------------- */

static ccai_code parse_listen(const char *s, char *host, size_t hcap, char *port, size_t pcap,
                              ccai_err *err)
{
    const char *h, *colon;
    size_t hl;
    if (!s || !*s)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "http: expected a listen address HOST:PORT, found none");
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return ccai_fail(err, CCAI_ERR_ARG,
                             "http: expected [IPV6]:PORT as the listen address, found \"%s\"", s);
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon)
            return ccai_fail(err, CCAI_ERR_ARG,
                             "http: expected HOST:PORT (IPv6 in brackets) as the listen address, "
                             "found \"%s\"",
                             s);
        h = s;
        hl = (size_t)(colon - s);
    }
    const char *p = colon + 1;
    size_t pl = strlen(p);
    if (pl == 0 || pl >= pcap || strspn(p, "0123456789") != pl || atol(p) > 65535)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "http: expected a port 0..65535 after the ':' of \"%s\", found \"%s\"", s,
                         p);
    if (hl == 0 || hl >= hcap)
        return ccai_fail(err, CCAI_ERR_ARG, "http: expected a host before the port in \"%s\"", s);
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(port, p, pl + 1);
    return CCAI_OK;
}

static ccai_code open_listener(const char *addr, int backlog, int *fd_out, uint16_t *port_out,
                               ccai_err *err)
{
    char host[256], port[8];
    ccai_code rc = parse_listen(addr, host, sizeof host, port, sizeof port, err);
    if (rc)
        return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai)
        return ccai_fail(err, CCAI_ERR_ARG, "http: cannot resolve the listen address %s: %s", addr,
                         gai_strerror(gai));
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        /* TCP_NODELAY here is inherited by every accepted socket (see the
         * file comment); keep-alive probes find clients that vanished. */
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 &&
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) == 0 &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return ccai_fail(err, CCAI_ERR_IO, "http: cannot listen on %s: %s", addr, strerror(saved));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        saved = errno;
        close(fd);
        return ccai_fail(err, CCAI_ERR_IO, "http: getsockname on %s: %s", addr, strerror(saved));
    }
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return CCAI_OK;
}

/* evhttp asks for each accepted connection's bufferevent here (the fd is
 * set afterwards). Timeouts are set on it directly because evhttp's own
 * setting applies one value to both directions. */
static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    ccai_http_server *srv = arg;
    struct bufferevent *bev;
    if (srv->ssl_ctx) {
        SSL *ssl = SSL_new(srv->ssl_ctx);
        if (!ssl)
            return NULL;
        /* With BEV_OPT_CLOSE_ON_FREE the bufferevent owns ssl and the fd. */
        bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (!bev)
            return NULL;
        /* Clients that close without close_notify are ordinary EOFs. */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (!bev)
            return NULL;
    }
    bufferevent_set_timeouts(bev, &srv->read_tv, &srv->write_tv);
    return bev;
}

/* ---- the server ------------------------------------------------------------------------- */

enum { ACCEPT_PAUSE_MS = 1000, ACCEPT_WARN_EVERY_S = 60 };

/* libevent calls a listener's error callback with evhttp's own argument, not
 * ours: the servers whose listeners may fail, found by listener. */
static pthread_mutex_t listeners_mu = PTHREAD_MUTEX_INITIALIZER;
static ccai_http_server *listening; /* through next_listening */

static ccai_http_server *server_of(struct evconnlistener *l)
{
    pthread_mutex_lock(&listeners_mu);
    ccai_http_server *s = listening;
    while (s && !(s->bound && evhttp_bound_socket_get_listener(s->bound) == l))
        s = s->next_listening;
    pthread_mutex_unlock(&listeners_mu);
    return s;
}

static void unlist(ccai_http_server *srv)
{
    pthread_mutex_lock(&listeners_mu);
    for (ccai_http_server **p = &listening; *p; p = &(*p)->next_listening)
        if (*p == srv) {
            *p = srv->next_listening;
            break;
        }
    pthread_mutex_unlock(&listeners_mu);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ccai_http_server *srv = arg;
    if (srv->bound)
        evconnlistener_enable(evhttp_bound_socket_get_listener(srv->bound));
}

/* accept() failed. Out of descriptors (EMFILE, ENFILE, or buffers), the
 * pending connection stays in the backlog and libevent would retry it at
 * once, forever: a spinning core and a warning a try. So new connections
 * wait ACCEPT_PAUSE_MS while the open ones end, and it is said once a
 * minute at most. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)arg; /* evhttp's */
    int e = EVUTIL_SOCKET_ERROR();
    ccai_http_server *srv = server_of(l);
    if (!srv || (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM))
        return; /* the connection's own trouble (ECONNABORTED...): the next one is fine */
    evconnlistener_disable(l);
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    event_add(srv->resume_ev, &tv);
    time_t now = time(NULL);
    if (!srv->accept_warned || now - srv->accept_warned >= ACCEPT_WARN_EVERY_S) {
        srv->accept_warned = now;
        fprintf(stderr, "ccai: cannot accept connections: %s; pausing new ones for %d ms "
                        "(said at most once a minute)\n",
                strerror(e), ACCEPT_PAUSE_MS);
    }
}

static void close_all(ccai_http_server *srv)
{
    while (srv->reqs) {
        ccai_http_req *r = srv->reqs;
        /* Runs the close callback, which finishes r. */
        evhttp_connection_free(r->conn);
        if (srv->reqs == r) /* defensive: never loop on a request libevent forgot */
            ccai_net_req_forget(r);
    }
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ccai_http_server *srv = arg;
    close_all(srv);
    event_base_loopexit(srv->base, NULL);
}

static void begin_stop(ccai_http_server *srv)
{
    if (srv->stopping) {
        /* Asked again (a second Ctrl-C): no more grace. */
        on_grace(-1, 0, srv);
        return;
    }
    srv->stopping = true;
    if (srv->bound) {
        evhttp_del_accept_socket(srv->http, srv->bound);
        srv->bound = NULL;
    }
    if (!srv->reqs) {
        event_base_loopexit(srv->base, NULL);
    } else if (srv->grace_ms < 0) {
        on_grace(-1, 0, srv);
    } else {
        struct timeval tv = {srv->grace_ms / 1000, (srv->grace_ms % 1000) * 1000};
        evtimer_add(srv->grace_ev, &tv);
    }
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ccai_http_server *srv = arg;
    if (!srv->stopping)
        begin_stop(srv);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    begin_stop(arg);
}

static void run_calls(ccai_http_server *srv)
{
    pthread_mutex_lock(&srv->call_mu);
    http_call *c = srv->calls;
    srv->calls = srv->calls_tail = NULL;
    pthread_mutex_unlock(&srv->call_mu);
    while (c) {
        http_call *next = c->next;
        c->fn(c->arg);
        free(c);
        c = next;
    }
}

static void on_calls(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_calls(arg);
}

static ccai_code check_opts(const ccai_http_opts *o, ccai_err *err)
{
    if (!o || !o->listen)
        return ccai_fail(err, CCAI_ERR_ARG, "http: expected options with a listen address");
    if (o->read_timeout_s < 0 || o->write_timeout_s < 0 || o->backlog < 0)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "http: expected non-negative timeouts and backlog, found read %d s, "
                         "write %d s, backlog %d",
                         o->read_timeout_s, o->write_timeout_s, o->backlog);
    if (o->max_header_bytes > INT32_MAX || o->max_body_bytes > INT64_MAX / 2)
        return ccai_fail(err, CCAI_ERR_ARG, "http: size limits out of range");
    for (size_t i = 0; o->headers && o->headers[i]; i += 2) {
        const char *name = o->headers[i], *value = o->headers[i + 1];
        if (!value || !*name || strpbrk(name, "\r\n: \t") || strpbrk(value, "\r\n"))
            return ccai_fail(err, CCAI_ERR_ARG,
                             "http: default header %zu: expected a name and a value without "
                             "CR/LF, found \"%s\"",
                             i / 2, name);
    }
    return CCAI_OK;
}

ccai_code ccai_http_server_new(const ccai_http_opts *o, ccai_http_server **out, ccai_err *err)
{
    *out = NULL;
    ccai_code rc = check_opts(o, err);
    if (rc)
        return rc;
    pthread_once(&evthread_once, evthread_init);
    if (evthread_rc)
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED, "http: libevent was built without pthreads");

    ccai_http_server *srv = ccai_xcalloc(1, sizeof *srv);
    pthread_mutex_init(&srv->call_mu, NULL);
    srv->calls_open = true;
    srv->ssl_ctx = o->tls ? ccai_tls_ssl_ctx(o->tls) : NULL;
    srv->read_tv.tv_sec = o->read_timeout_s ? o->read_timeout_s : DEFAULT_READ_TIMEOUT_S;
    srv->write_tv.tv_sec = o->write_timeout_s ? o->write_timeout_s : DEFAULT_WRITE_TIMEOUT_S;
    srv->grace_ms = o->stop_grace_ms ? o->stop_grace_ms : DEFAULT_GRACE_MS;
    for (size_t i = 0; o->headers && o->headers[i]; i += 2) {
        srv->headers = ccai_xrealloc(srv->headers, (2 * srv->nheaders + 2) * sizeof(char *));
        srv->headers[2 * srv->nheaders] = ccai_xstrdup(o->headers[i]);
        srv->headers[2 * srv->nheaders + 1] = ccai_xstrdup(o->headers[i + 1]);
        srv->nheaders++;
    }

    srv->base = event_base_new();
    srv->http = srv->base ? evhttp_new(srv->base) : NULL;
    if (srv->http) {
        srv->stop_ev = event_new(srv->base, -1, 0, on_stop, srv);
        srv->grace_ev = evtimer_new(srv->base, on_grace, srv);
        srv->call_ev = event_new(srv->base, -1, 0, on_calls, srv);
    }
    if (!srv->http || !srv->stop_ev || !srv->grace_ev || !srv->call_ev) {
        rc = ccai_fail(err, CCAI_ERR_IO, "http: cannot create the event loop");
        goto fail;
    }
    srv->early_close = (event_base_get_features(srv->base) & EV_FEATURE_EARLY_CLOSE) != 0;
    size_t max_header = o->max_header_bytes ? o->max_header_bytes : DEFAULT_MAX_HEADER;
    size_t max_body = o->max_body_bytes ? o->max_body_bytes : DEFAULT_MAX_BODY;
    evhttp_set_max_headers_size(srv->http, (ev_ssize_t)max_header);
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)max_body);
    /* TRACE and CONNECT stay with libevent, which answers 501 and closes
     * the connection: it does not read a TRACE request's body, so a TRACE
     * passed on to the router would leave that body to be parsed as the
     * next request on the connection (a smuggled request; test_http.c). */
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    /* Read (and drop) the rest of an oversized body before answering 413, so
     * the client sees the answer instead of a reset. */
    evhttp_set_flags(srv->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(srv->http, ccai_net_on_request, srv);
    evhttp_set_bevcb(srv->http, make_bev, srv);

    int fd;
    if ((rc = open_listener(o->listen, o->backlog ? o->backlog : DEFAULT_BACKLOG, &fd, &srv->port,
                            err)))
        goto fail;
    srv->bound = evhttp_accept_socket_with_handle(srv->http, fd);
    if (!srv->bound) {
        close(fd);
        rc = ccai_fail(err, CCAI_ERR_IO, "http: cannot accept on %s", o->listen);
        goto fail;
    }
    srv->resume_ev = evtimer_new(srv->base, on_resume, srv);
    if (!srv->resume_ev) {
        rc = ccai_fail(err, CCAI_ERR_IO, "http: cannot create the event loop");
        goto fail;
    }
    pthread_mutex_lock(&listeners_mu);
    srv->next_listening = listening;
    listening = srv;
    pthread_mutex_unlock(&listeners_mu);
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(srv->bound), on_accept_error);
    *out = srv;
    return CCAI_OK;
fail:
    ccai_http_server_free(srv);
    return rc;
}

uint16_t ccai_http_server_port(const ccai_http_server *srv)
{
    return srv->port;
}

ccai_code ccai_http_route(ccai_http_server *srv, const char *method, const char *path,
                          ccai_http_handler fn, void *arg, ccai_err *err)
{
    if (srv->ran)
        return ccai_fail(err, CCAI_ERR_ARG, "http: routes must be registered before run");
    if (!fn || !path || (path[0] != '/' && strcmp(path, "*") != 0))
        return ccai_fail(err, CCAI_ERR_ARG,
                         "http: expected a route path starting with '/' (or \"*\") and a "
                         "handler, found \"%s\"",
                         path ? path : "(null)");
    size_t pl = strlen(path);
    bool prefix = path[pl - 1] == '*';
    srv->routes = ccai_xrealloc(srv->routes, (srv->nroutes + 1) * sizeof *srv->routes);
    http_route *rt = &srv->routes[srv->nroutes++];
    rt->method = method ? ccai_xstrdup(method) : NULL;
    rt->path = ccai_xstrndup(path, prefix ? pl - 1 : pl);
    rt->plen = prefix ? pl - 1 : pl;
    rt->prefix = prefix;
    rt->fn = fn;
    rt->arg = arg;
    return CCAI_OK;
}

ccai_code ccai_http_server_run(ccai_http_server *srv, ccai_err *err)
{
    if (srv->ran)
        return ccai_fail(err, CCAI_ERR_ARG, "http: the server has already run");
    srv->ran = true;
    srv->running = true;
    sigset_t old;
    sigpipe_block(&old);
    int rc = event_base_loop(srv->base, EVLOOP_NO_EXIT_ON_EMPTY);
    srv->running = false;
    /* Every call accepted so far runs, here on the loop thread; no more are
     * accepted after this. */
    pthread_mutex_lock(&srv->call_mu);
    srv->calls_open = false;
    pthread_mutex_unlock(&srv->call_mu);
    run_calls(srv);
    sigpipe_restore(&old);
    if (rc < 0)
        return ccai_fail(err, CCAI_ERR_IO, "http: the event loop failed");
    return CCAI_OK;
}

void ccai_http_server_stop(ccai_http_server *srv)
{
    event_active(srv->stop_ev, EV_TIMEOUT, 0);
}

ccai_code ccai_http_server_stop_on_signal(ccai_http_server *srv, int signo, ccai_err *err)
{
    struct event *ev = evsignal_new(srv->base, signo, on_signal, srv);
    if (!ev || event_add(ev, NULL) != 0) {
        if (ev)
            event_free(ev);
        return ccai_fail(err, CCAI_ERR_IO, "http: cannot handle signal %d", signo);
    }
    srv->sig_evs = ccai_xrealloc(srv->sig_evs, (srv->nsig + 1) * sizeof *srv->sig_evs);
    srv->sig_evs[srv->nsig++] = ev;
    return CCAI_OK;
}

bool ccai_http_server_call(ccai_http_server *srv, void (*fn)(void *arg), void *arg)
{
    http_call *c = ccai_xmalloc(sizeof *c);
    c->next = NULL;
    c->fn = fn;
    c->arg = arg;
    pthread_mutex_lock(&srv->call_mu);
    bool open = srv->calls_open;
    if (open) {
        if (srv->calls_tail)
            srv->calls_tail->next = c;
        else
            srv->calls = c;
        srv->calls_tail = c;
        /* Poked under the lock: run closes the queue under it too, so the
         * server cannot be freed between our check and this call. */
        event_active(srv->call_ev, EV_TIMEOUT, 0);
    }
    pthread_mutex_unlock(&srv->call_mu);
    if (!open)
        free(c);
    return open;
}

void ccai_http_server_free(ccai_http_server *srv)
{
    if (!srv)
        return;
    sigset_t old;
    sigpipe_block(&old);
    pthread_mutex_lock(&srv->call_mu);
    srv->calls_open = false;
    http_call *c = srv->calls;
    srv->calls = srv->calls_tail = NULL;
    pthread_mutex_unlock(&srv->call_mu);
    while (c) { /* accepted before a run that never came: dropped */
        http_call *next = c->next;
        free(c);
        c = next;
    }
    /* Closes the listener and every connection; on_close cancels the
     * streams that workers may still hold. */
    if (srv->http)
        evhttp_free(srv->http);
    while (srv->reqs) /* defensive: every request was finished by on_close */
        ccai_net_req_forget(srv->reqs);
    for (size_t i = 0; i < srv->nsig; i++)
        event_free(srv->sig_evs[i]);
    free(srv->sig_evs);
    if (srv->stop_ev)
        event_free(srv->stop_ev);
    if (srv->grace_ev)
        event_free(srv->grace_ev);
    unlist(srv);
    if (srv->resume_ev)
        event_free(srv->resume_ev);
    if (srv->call_ev)
        event_free(srv->call_ev);
    if (srv->base)
        event_base_free(srv->base);
    sigpipe_restore(&old);
    for (size_t i = 0; i < srv->nroutes; i++) {
        free(srv->routes[i].method);
        free(srv->routes[i].path);
    }
    free(srv->routes);
    for (size_t i = 0; i < 2 * srv->nheaders; i++)
        free(srv->headers[i]);
    free(srv->headers);
    pthread_mutex_destroy(&srv->call_mu);
    free(srv);
}
