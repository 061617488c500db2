/* libcurl requests for relying parties (fetch.h). One easy handle per
 * request: no connection is ever reused across an identity decision, so the
 * certificate reported is the one of the connection that carried the
 * request. */
#include "client/fetch.h"

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/json.h"

enum { DEFAULT_MAX_BODY = 16 << 20, DEFAULT_TIMEOUT_S = 30 };

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct sink {
    const ccai_fetch_opts *o;
    ccai_fetch_result *r;
    size_t max;
    bool too_big;
} sink;

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    size_t len = size * n;
    if (s->o->on_data) {
        if (!s->o->on_data(p, len, s->o->arg)) {
            s->r->stopped = true;
            return 0;
        }
        return len;
    }
    if (s->r->body.len + len > s->max) {
        s->too_big = true;
        return 0;
    }
    ccai_buf_append(&s->r->body, p, len);
    return len;
}

/* SHA-256 of the leaf certificate's SubjectPublicKeyInfo, from the PEM that
 * CURLINFO_CERTINFO reports for this transfer's connection. */
static bool leaf_spki(CURL *h, uint8_t out[32])
{
    struct curl_certinfo *ci = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
        return false;
    for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
        if (strncmp(l->data, "Cert:", 5) != 0)
            continue;
        BIO *b = BIO_new_mem_buf(l->data + 5, -1);
        X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (!x)
            return false;
        unsigned char *der = NULL;
        int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
        X509_free(x);
        if (n <= 0)
            return false;
        ccai_sha256(der, (size_t)n, out);
        OPENSSL_free(der);
        return true;
    }
    return false;
}

#define SETOPT(h, opt, val)                                                                  \
    do {                                                                                     \
        if (cc == CURLE_OK)                                                                  \
            cc = curl_easy_setopt(h, opt, val);                                              \
    } while (0)

ccai_code ccai_fetch(const char *method, const char *url, const char *body, size_t body_len,
                     const ccai_fetch_opts *o, ccai_fetch_result *r, ccai_err *err)
{
    memset(r, 0, sizeof *r);
    pthread_once(&curl_once, curl_init);
    CURL *h = curl_easy_init();
    if (!h)
        return ccai_fail(err, CCAI_ERR_IO, "%s: libcurl could not start", url);
    char pin[80] = "", ctype[160];
    char *auth = NULL;
    struct curl_slist *hdrs = NULL;
    sink s = {.o = o, .r = r, .max = o->max_body ? o->max_body : DEFAULT_MAX_BODY};
    char curl_msg[CURL_ERROR_SIZE] = "";
    CURLcode cc = CURLE_OK;
    SETOPT(h, CURLOPT_URL, url);
    SETOPT(h, CURLOPT_ERRORBUFFER, curl_msg);
    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    /* TLS only: over plain http neither the pin nor CERTINFO would apply, and
     * a service's jwks_uri comes from its discovery document. */
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "https");
    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect would change whom we talk to */
    SETOPT(h, CURLOPT_FORBID_REUSE, 1L);
    SETOPT(h, CURLOPT_FRESH_CONNECT, 1L);
    SETOPT(h, CURLOPT_CONNECTTIMEOUT, 10L);
    SETOPT(h, CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(h, CURLOPT_WRITEDATA, &s);
    if (!o->on_data)
        SETOPT(h, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : (long)DEFAULT_TIMEOUT_S);
    else if (o->timeout_s > 0)
        SETOPT(h, CURLOPT_TIMEOUT, o->timeout_s);
    if (o->pin_spki_sha256 || o->capture_spki) {
        /* Identity comes from attestation (and then the pin), not from a CA. */
        SETOPT(h, CURLOPT_SSL_VERIFYPEER, 0L);
        SETOPT(h, CURLOPT_SSL_VERIFYHOST, 0L);
        if (o->capture_spki)
            SETOPT(h, CURLOPT_CERTINFO, 1L);
        if (o->pin_spki_sha256) {
            char *b = ccai_b64_encode(o->pin_spki_sha256, 32, CCAI_B64_STD);
            snprintf(pin, sizeof pin, "sha256//%s", b);
            free(b);
            SETOPT(h, CURLOPT_PINNEDPUBLICKEY, pin);
        }
    } else if (o->ca_file) {
        SETOPT(h, CURLOPT_CAINFO, o->ca_file);
    }
    snprintf(ctype, sizeof ctype, "Content-Type: %s",
             o->content_type ? o->content_type : "application/json");
    hdrs = curl_slist_append(hdrs, ctype);
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (o->bearer) {
        auth = ccai_xasprintf("Authorization: Bearer %s", o->bearer);
        hdrs = curl_slist_append(hdrs, auth);
    }
    SETOPT(h, CURLOPT_HTTPHEADER, hdrs);
    if (!strcmp(method, "POST")) {
        SETOPT(h, CURLOPT_POST, 1L);
        SETOPT(h, CURLOPT_POSTFIELDS, body ? body : "");
        SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
    }
    ccai_code rc = CCAI_OK;
    if (cc != CURLE_OK) {
        rc = ccai_fail(err, CCAI_ERR_ARG, "%s: %s", url, curl_easy_strerror(cc));
        goto out;
    }
    cc = curl_easy_perform(h);
    ccai_buf_append(&r->body, "", 1); /* NUL-terminate, then uncount it */
    r->body.len--;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (o->capture_spki)
        r->has_spki = leaf_spki(h, r->spki_sha256);
    if (cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
        rc = ccai_fail(err, CCAI_ERR_VERIFY,
                       "%s: the server presented a TLS key other than the attested one "
                       "(pinned %s)",
                       url, pin);
    } else if (cc == CURLE_WRITE_ERROR && s.too_big) {
        rc = ccai_fail(err, CCAI_ERR_PARSE, "%s: answer larger than %zu bytes", url, s.max);
    } else if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && r->stopped)) {
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: %s", url, curl_msg[0] ? curl_msg : curl_easy_strerror(cc));
    } else if (o->capture_spki && !r->has_spki) {
        rc = ccai_fail(err, CCAI_ERR_VERIFY,
                       "%s: no TLS certificate seen on this connection (https is required)", url);
    }
out:
    /* The list holds its own copy of the key: wipe both. (libcurl's request
     * buffer keeps one more that it frees unwiped: out of our reach.) */
    for (struct curl_slist *l = hdrs; l; l = l->next)
        ccai_wipe(l->data, strlen(l->data));
    if (auth) {
        ccai_wipe(auth, strlen(auth));
        free(auth);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc)
        ccai_fetch_result_free(r);
    return rc;
}

void ccai_fetch_result_free(ccai_fetch_result *r)
{
    if (r)
        ccai_buf_free(&r->body);
}

char *ccai_url_join(const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return ccai_xasprintf("%.*s%s%s", (int)n, base, path[0] == '/' ? "" : "/", path);
}

void ccai_fetch_error_text(const ccai_fetch_result *r, char *out, size_t n)
{
    json_t *j = NULL;
    if (r->body.len && ccai_json_parse((const char *)r->body.data, r->body.len, &j, NULL) == CCAI_OK &&
        json_is_string(json_object_get(j, "error"))) {
        snprintf(out, n, "%s", json_string_value(json_object_get(j, "error")));
    } else {
        size_t k = r->body.len < 200 ? r->body.len : 200;
        snprintf(out, n, "%.*s", (int)k, r->body.data ? (const char *)r->body.data : "");
        for (char *p = out; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
    }
    json_decref(j);
}
