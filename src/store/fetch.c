/* Downloads over libcurl (fetch.h). A blob download is an append-only file
 * plus a running SHA-256: on a resume the file's prefix is hashed first and
 * the request carries "Range: bytes=N-"; a 206 continues the file, a 200
 * (the server ignored the range) starts it over, a 206 must carry a
 * Content-Range that starts where the file ends. The size is enforced while
 * streaming (a server that sends more than the manifest says is cut off, one
 * whose complete answer ends short fails too) and the digest at the end; a
 * mismatch removes the file, so the next pull starts clean rather than
 * resuming garbage. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/mem.h"
#include "store/fetch.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool is_https(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0;
}

/* A handle with the options every store request shares. Proxy variables are
 * left to libcurl, which reads them by default. */
static CURL *new_handle(const char *url, char errbuf[CURL_ERROR_SIZE], ccai_err *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        ccai_fail(err, CCAI_ERR_IO, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        ccai_fail(err, CCAI_ERR_IO, "curl_easy_init failed");
        return NULL;
    }
    errbuf[0] = 0;
    CURLcode cc = curl_easy_setopt(h, CURLOPT_URL, url);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cc != CURLE_OK) {
        ccai_fail(err, CCAI_ERR_ARG, "URL '%.200s': %s", url, curl_easy_strerror(cc));
        curl_easy_cleanup(h);
        return NULL;
    }
    /* A pull that starts on TLS stays on it: a redirect to plain http
     * would put the request, and the bytes, in the clear (the digests
     * catch changed bytes, not who watched). */
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, is_https(url) ? "https" : "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    /* A private registry's CA, the way curl, Go (Ollama) and OpenSSL
     * programs take it; otherwise libcurl's system bundle. */
    const char *ca_file = getenv("SSL_CERT_FILE"), *ca_dir = getenv("SSL_CERT_DIR");
    if (ca_file && *ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
    if (ca_dir && *ca_dir)
        curl_easy_setopt(h, CURLOPT_CAPATH, ca_dir);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L); /* stalled for two minutes: a cut */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ccai");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    return h;
}

/* What went wrong with a request on h: curl's words, or for a redirect
 * from https to http (refused by new_handle's protocols) where it led. */
static const char *curl_msg(CURL *h, const char *url, CURLcode cc, char errbuf[CURL_ERROR_SIZE])
{
    char *to = NULL; /* after a refused redirect: where it led */
    if (cc == CURLE_UNSUPPORTED_PROTOCOL && is_https(url) &&
        curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &to) == CURLE_OK && to &&
        strncasecmp(to, "http://", 7) == 0) {
        snprintf(errbuf, CURL_ERROR_SIZE, "refused a redirect from https to %s (plain http)", to);
        return errbuf;
    }
    return errbuf[0] ? errbuf : curl_easy_strerror(cc);
}

/* ---- small documents --------------------------------------------------------------------- */

typedef struct doc {
    ccai_buf body;
    size_t max;
    bool over;
} doc;

static size_t doc_write(char *p, size_t sz, size_t nmemb, void *arg)
{
    doc *d = arg;
    size_t n = sz * nmemb;
    if (d->body.len + n > d->max) {
        d->over = true;
        return 0;
    }
    ccai_buf_append(&d->body, p, n);
    return n;
}

ccai_code store_http_get(const char *url, const char *accept, size_t max, uint8_t **body,
                         size_t *len, long *status, char **content_type, ccai_err *err)
{
    char errbuf[CURL_ERROR_SIZE];
    CURL *h = new_handle(url, errbuf, err);
    if (!h)
        return err ? err->code : CCAI_ERR_IO;
    doc d = {.max = max};
    struct curl_slist *hdrs = NULL;
    if (accept) {
        char *a = ccai_xasprintf("Accept: %s", accept);
        hdrs = curl_slist_append(hdrs, a);
        free(a);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, doc_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &d);
    CURLcode cc = curl_easy_perform(h);
    ccai_code rc = CCAI_OK;
    if (d.over)
        rc = ccai_fail(err, CCAI_ERR_PARSE, "GET %s: the answer exceeds %zu bytes", url, max);
    else if (cc != CURLE_OK)
        rc = ccai_fail(err, CCAI_ERR_NET, "GET %s: %s", url, curl_msg(h, url, cc, errbuf));
    if (!rc) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        if (content_type) {
            char *ct = NULL;
            curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
            *content_type = ct ? ccai_xstrdup(ct) : NULL;
        }
        ccai_buf_u8(&d.body, 0);
        *body = ccai_buf_steal(&d.body, len);
        (*len)--;
    }
    ccai_buf_free(&d.body);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc;
}

/* ---- blobs -------------------------------------------------------------------------------- */

typedef struct dl {
    const store_fetch *f;
    CURL *h;
    int fd;
    EVP_MD_CTX *md;
    uint64_t have;         /* bytes in the file, all hashed */
    bool body_started;     /* this attempt's first body byte was seen */
    bool ok_status;        /* this attempt's answer is 200 or 206 */
    long long range_start; /* from Content-Range; -1 absent, -2 unusable */
    ccai_buf errbody;      /* the start of an error answer, for the message */
    ccai_code wrc;         /* an error raised inside a callback */
    ccai_err werr;
    bool cancelled;
} dl;

static size_t dl_header(char *p, size_t sz, size_t nmemb, void *arg)
{
    dl *d = arg;
    size_t n = sz * nmemb;
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        d->range_start = -1; /* a new answer (after a redirect) */
    } else if (n > 14 && strncasecmp(p, "Content-Range:", 14) == 0) {
        /* libcurl's header line is not NUL-terminated: parse a bounded copy. */
        char line[128];
        size_t k = n - 14 < sizeof line - 1 ? n - 14 : sizeof line - 1;
        memcpy(line, p + 14, k);
        line[k] = 0;
        const char *b = line + strspn(line, " \t");
        d->range_start = strncasecmp(b, "bytes ", 6) == 0 && b[6] >= '0' && b[6] <= '9'
                             ? strtoll(b + 6, NULL, 10)
                             : -2; /* present but unusable */
    }
    return n;
}

static ccai_code restart_file(dl *d)
{
    if (ftruncate(d->fd, 0) != 0)
        return ccai_fail(&d->werr, CCAI_ERR_IO, "%s: truncate: %s", d->f->partial, strerror(errno));
    EVP_DigestInit_ex(d->md, EVP_sha256(), NULL);
    d->have = 0;
    return CCAI_OK;
}

/* The first body byte of an attempt: is this a continuation, a fresh start
 * or an error page? */
static ccai_code begin_body(dl *d)
{
    long status = 0;
    curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &status);
    d->body_started = true;
    d->ok_status = status == 200 || status == 206;
    if (status == 200 && d->have > 0)
        return restart_file(d); /* the server ignored Range: start over */
    /* A 206 must say where its bytes go (RFC 9110 §15.3.7): appending bytes
     * of unknown position would build a file nobody served. */
    if (status == 206 && d->range_start < 0)
        return ccai_fail(&d->werr, CCAI_ERR_IO,
                         "GET %s: a 206 answer without a usable Content-Range (asked for bytes "
                         "from %llu)",
                         d->f->url, (unsigned long long)d->have);
    if (status == 206 && (uint64_t)d->range_start != d->have)
        return ccai_fail(&d->werr, CCAI_ERR_IO,
                         "GET %s: asked for bytes from %llu, the server sent from %lld", d->f->url,
                         (unsigned long long)d->have, d->range_start);
    return CCAI_OK;
}

static size_t dl_write(char *p, size_t sz, size_t nmemb, void *arg)
{
    dl *d = arg;
    size_t n = sz * nmemb;
    if (!d->body_started && (d->wrc = begin_body(d)))
        return 0;
    if (!d->ok_status) {
        if (d->errbody.len < 512)
            ccai_buf_append(&d->errbody, p, n < 512 ? n : 512);
        return n;
    }
    if (d->f->has_size && d->have + n > d->f->size) {
        d->wrc = ccai_fail(&d->werr, CCAI_ERR_VERIFY,
                           "blob %s: the server sent more than the %llu bytes expected",
                           d->f->digest ? d->f->digest : d->f->url, (unsigned long long)d->f->size);
        return 0;
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = pwrite(d->fd, p + off, n - off, (off_t)(d->have + off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            d->wrc =
                ccai_fail(&d->werr, CCAI_ERR_IO, "%s: write: %s", d->f->partial, strerror(errno));
            return 0;
        }
        off += (size_t)w;
    }
    EVP_DigestUpdate(d->md, p, n);
    d->have += n;
    return n;
}

static int dl_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    dl *d = arg;
    if (!d->f->progress)
        return 0;
    store_progress p = {.digest = d->f->digest, .total = d->f->size, .completed = d->have};
    char status[32];
    snprintf(status, sizeof status, "pulling %.12s", d->f->digest ? d->f->digest + 7 : "file");
    p.status = status;
    if (!d->f->progress(d->f->arg, &p)) {
        d->cancelled = true;
        return 1;
    }
    return 0;
}

/* Opens the partial file, locks it against a second pull, hashes its prefix. */
static ccai_code open_partial(dl *d, ccai_err *err)
{
    const store_fetch *f = d->f;
    d->fd = open(f->partial, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (d->fd < 0)
        return ccai_fail(err, CCAI_ERR_IO, "%s: %s", f->partial, strerror(errno));
    if (flock(d->fd, LOCK_EX | LOCK_NB) != 0)
        return ccai_fail(err, CCAI_ERR_BUSY, "%s: another pull is downloading this blob",
                         f->partial);
    struct stat st;
    if (fstat(d->fd, &st) != 0)
        return ccai_fail(err, CCAI_ERR_IO, "%s: %s", f->partial, strerror(errno));
    EVP_DigestInit_ex(d->md, EVP_sha256(), NULL);
    if (f->has_size && (uint64_t)st.st_size > f->size)
        return restart_file(d) ? (*err = d->werr, err->code) : CCAI_OK;
    uint8_t *buf = ccai_xmalloc(1 << 20);
    ccai_code rc = CCAI_OK;
    while (d->have < (uint64_t)st.st_size) {
        ssize_t r = pread(d->fd, buf, 1 << 20, (off_t)d->have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: read: %s", f->partial,
                           r < 0 ? strerror(errno) : "short file");
            break;
        }
        EVP_DigestUpdate(d->md, buf, (size_t)r);
        d->have += (uint64_t)r;
    }
    free(buf);
    return rc;
}

static bool transient(CURLcode cc)
{
    return cc == CURLE_PARTIAL_FILE || cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
           cc == CURLE_GOT_NOTHING || cc == CURLE_OPERATION_TIMEDOUT ||
           cc == CURLE_COULDNT_CONNECT || cc == CURLE_HTTP2_STREAM || cc == CURLE_SSL_CONNECT_ERROR;
}

/* One request from d->have on. *again: a cut worth retrying. */
static ccai_code attempt(dl *d, bool *again, ccai_err *err)
{
    const store_fetch *f = d->f;
    char errbuf[CURL_ERROR_SIZE];
    *again = false;
    d->h = new_handle(f->url, errbuf, err);
    if (!d->h)
        return err ? err->code : CCAI_ERR_IO;
    d->body_started = d->ok_status = false;
    d->range_start = -1;
    d->errbody.len = 0;
    char range[48];
    if (d->have > 0) {
        snprintf(range, sizeof range, "%llu-", (unsigned long long)d->have);
        curl_easy_setopt(d->h, CURLOPT_RANGE, range);
    }
    curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, dl_write);
    curl_easy_setopt(d->h, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(d->h, CURLOPT_HEADERFUNCTION, dl_header);
    curl_easy_setopt(d->h, CURLOPT_HEADERDATA, d);
    curl_easy_setopt(d->h, CURLOPT_XFERINFOFUNCTION, dl_progress);
    curl_easy_setopt(d->h, CURLOPT_XFERINFODATA, d);
    curl_easy_setopt(d->h, CURLOPT_NOPROGRESS, 0L);
    CURLcode cc = curl_easy_perform(d->h);
    long status = 0;
    curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &status);
    ccai_code rc = CCAI_OK;
    if (d->wrc) {
        *err = d->werr;
        rc = d->wrc;
    } else if (d->cancelled) {
        rc = ccai_fail(err, CCAI_ERR_IO, "GET %s: cancelled", f->url);
    } else if (cc == CURLE_OK && status == 200 && !d->body_started && d->have > 0) {
        /* An empty 200 to a Range request: the resource is empty now, not
         * the partial file's old bytes. */
        rc = restart_file(d) ? (*err = d->werr, err->code) : CCAI_OK;
    } else if (status == 416 && d->have > 0) {
        rc = restart_file(d) ? (*err = d->werr, err->code) : CCAI_OK; /* stale partial */
        *again = rc == CCAI_OK;
    } else if (cc == CURLE_OK && status != 200 && status != 206) {
        ccai_buf_u8(&d->errbody, 0);
        rc = ccai_fail(err, status == 404 ? CCAI_ERR_NOT_FOUND : CCAI_ERR_NET,
                       "GET %s: HTTP %ld%s%.200s", f->url, status, d->errbody.len > 1 ? ": " : "",
                       (const char *)d->errbody.data);
    } else if (cc != CURLE_OK) {
        /* A write error is our disk's; anything else the transfer's. */
        rc = ccai_fail(err, cc == CURLE_WRITE_ERROR ? CCAI_ERR_IO : CCAI_ERR_NET,
                       "GET %s: %s (%llu bytes kept for a resume)", f->url,
                       curl_msg(d->h, f->url, cc, errbuf), (unsigned long long)d->have);
        *again = transient(cc);
    } else if (f->has_size && d->have < f->size) {
        /* The server ended its answer cleanly (a cut is a curl error, above):
         * its blob is shorter than the size we were given. Asking again would
         * fetch the same short blob (or a 416 and then the whole of it) over
         * and over; a size that lies is a verification failure. */
        rc = ccai_fail(err, CCAI_ERR_VERIFY,
                       "blob %s: the server's answer ended at %llu bytes, %llu expected "
                       "(the download was removed)",
                       f->digest ? f->digest : f->url, (unsigned long long)d->have,
                       (unsigned long long)f->size);
    }
    curl_easy_cleanup(d->h);
    d->h = NULL;
    return rc;
}

ccai_code store_fetch_blob(const store_fetch *f, uint8_t got_sha256[32], uint64_t *got_size,
                           ccai_err *err)
{
    dl d = {.f = f, .fd = -1, .md = EVP_MD_CTX_new()};
    if (!d.md)
        return ccai_fail(err, CCAI_ERR_CRYPTO, "EVP_MD_CTX_new failed");
    ccai_code rc = open_partial(&d, err);
    int left = f->retries, total = 0;
    while (!rc && !(f->has_size && d.have == f->size)) {
        uint64_t before = d.have;
        bool again;
        rc = attempt(&d, &again, err);
        if (rc == CCAI_OK && !f->has_size)
            break; /* unknown size: the answer's end is the end */
        if (rc && again) {
            /* A cut after progress earns a fresh set of retries. */
            left = d.have > before ? f->retries : left - 1;
            if (left >= 0 && ++total < 100) {
                struct timespec ts = {0, 200 * 1000 * 1000};
                nanosleep(&ts, NULL);
                rc = CCAI_OK;
            }
        }
    }
    if (!rc && d.fd >= 0 && fsync(d.fd) != 0)
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: fsync: %s", f->partial, strerror(errno));
    if (!rc) {
        unsigned int mdlen = 0;
        EVP_DigestFinal_ex(d.md, got_sha256, &mdlen);
        *got_size = d.have;
        char hex[65];
        ccai_hex_encode(got_sha256, 32, hex);
        if (f->digest && strcmp(f->digest + 7, hex) != 0) {
            rc = ccai_fail(err, CCAI_ERR_VERIFY,
                           "blob %s is corrupt: expected digest %s, found sha256:%s "
                           "(the download was removed)",
                           f->digest, f->digest, hex);
        }
    }
    if (rc == CCAI_ERR_VERIFY)
        unlink(f->partial);
    if (d.fd >= 0)
        close(d.fd); /* releases the flock */
    ccai_buf_free(&d.errbody);
    EVP_MD_CTX_free(d.md);
    return rc;
}
