/* Collateral from an Intel PCS or a PCCS, with an on-disk cache (pcs.h,
 * docs/pcs.md).
 *
 * Four GETs through one libcurl handle (TLS verification on, no automatic
 * redirects: a redirect is followed by hand only to the same scheme, host
 * and port, bodies capped at TDX_PCS_MAX_BODY): TCB info, QE identity, PCK
 * CRL, Root CA CRL. Signed JSON is validated whole with jansson, then the
 * signed member's bytes are cut out of the body by a small scanner, never
 * re-serialized (tdx-facts §2 step 9). The cache file holds the bundle and
 * its expiry, the earliest nextUpdate of the four items. */
#include "tee/pcs.h"

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/pck.h"

enum { CACHE_MAX_FILE = 8 << 20, CACHE_VERSION = 1 };

/* tdx-facts §1, in the order of Intel's bundles. */
static const char *const BUNDLE_KEYS[9] = {
    "pck_crl_issuer_chain",     "root_ca_crl", "pck_crl",
    "tcb_info_issuer_chain",    "tcb_info",    "tcb_info_signature",
    "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature"};

/* ---- the raw member scanner --------------------------------------------------- */

static size_t skip_ws(const char *t, size_t n, size_t i)
{
    while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* *i at an opening quote; on success *i is just past the closing one. */
static bool skip_string(const char *t, size_t n, size_t *i)
{
    for (size_t j = *i + 1; j < n; j++) {
        if (t[j] == '\\')
            j++;
        else if (t[j] == '"') {
            *i = j + 1;
            return true;
        }
    }
    return false;
}

/* Skips one value. Brackets are counted, not paired by kind: the caller has
 * validated the text with a full parser; this only has to stay in bounds and
 * find where the value ends. */
static bool skip_value(const char *t, size_t n, size_t *i)
{
    size_t j = *i;
    if (j >= n)
        return false;
    if (t[j] == '"')
        return skip_string(t, n, i);
    if (t[j] == '{' || t[j] == '[') {
        size_t depth = 0;
        while (j < n) {
            if (t[j] == '"') {
                if (!skip_string(t, n, &j))
                    return false;
                continue;
            }
            if (t[j] == '{' || t[j] == '[')
                depth++;
            else if ((t[j] == '}' || t[j] == ']') && --depth == 0) {
                *i = j + 1;
                return true;
            }
            j++;
        }
        return false;
    }
    while (j < n && t[j] != ',' && t[j] != '}' && t[j] != ']' && t[j] != ' ' && t[j] != '\t' &&
           t[j] != '\n' && t[j] != '\r')
        j++;
    if (j == *i)
        return false;
    *i = j;
    return true;
}

ccai_code tdx_pcs_json_member_span(const char *t, size_t n, const char *name, size_t *off,
                                   size_t *vlen, ccai_err *err)
{
    size_t i = skip_ws(t, n, 0), nl = strlen(name);
    bool found = false;
    if (i >= n || t[i] != '{')
        return ccai_fail(err, CCAI_ERR_PARSE, "expected a JSON object at offset %zu", i);
    i = skip_ws(t, n, i + 1);
    if (i < n && t[i] == '}')
        return ccai_fail(err, CCAI_ERR_NOT_FOUND, "no member \"%s\"", name);
    for (;;) {
        size_t key = i;
        if (i >= n || t[i] != '"' || !skip_string(t, n, &i))
            return ccai_fail(err, CCAI_ERR_PARSE, "expected a member name at offset %zu", key);
        bool match = i - key - 2 == nl && memcmp(t + key + 1, name, nl) == 0;
        i = skip_ws(t, n, i);
        if (i >= n || t[i] != ':')
            return ccai_fail(err, CCAI_ERR_PARSE, "expected ':' at offset %zu", i);
        size_t v = i = skip_ws(t, n, i + 1);
        if (!skip_value(t, n, &i))
            return ccai_fail(err, CCAI_ERR_PARSE, "unterminated value at offset %zu", v);
        if (match && found)
            return ccai_fail(err, CCAI_ERR_PARSE, "member \"%s\" appears twice", name);
        if (match) {
            found = true;
            *off = v;
            *vlen = i - v;
        }
        i = skip_ws(t, n, i);
        if (i < n && t[i] == ',') {
            i = skip_ws(t, n, i + 1);
            continue;
        }
        if (i < n && t[i] == '}')
            break;
        return ccai_fail(err, CCAI_ERR_PARSE, "expected ',' or '}' at offset %zu", i);
    }
    return found ? CCAI_OK : ccai_fail(err, CCAI_ERR_NOT_FOUND, "no member \"%s\"", name);
}

/* ---- PCK CA type --------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

ccai_code tdx_pcs_ca_from_issuer_cn(const char *cn, const char **ca, ccai_err *err)
{
    if (cn && ends_with(cn, "SGX PCK Platform CA"))
        *ca = "platform";
    else if (cn && ends_with(cn, "SGX PCK Processor CA"))
        *ca = "processor";
    else
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "PCK issuer CN \"%s\": expected \"Intel SGX PCK Platform CA\" or "
                         "\"Intel SGX PCK Processor CA\"",
                         cn ? cn : "(none)");
    return CCAI_OK;
}

ccai_code tdx_pcs_ca_from_cert(X509 *pck_leaf, const char **ca, ccai_err *err)
{
    char cn[256] = "";
    X509_NAME *issuer = pck_leaf ? X509_get_issuer_name(pck_leaf) : NULL;
    if (!issuer || X509_NAME_get_text_by_NID(issuer, NID_commonName, cn, sizeof cn) < 0)
        return ccai_fail(err, CCAI_ERR_PARSE, "PCK certificate: issuer has no CN");
    return tdx_pcs_ca_from_issuer_cn(cn, ca, err);
}

/* ---- dates ------------------------------------------------------------------- */

/* A whole DER CRL (nothing after it) and its nextUpdate. */
static ccai_code crl_next_update(const uint8_t *der, size_t len, time_t *out, ccai_err *err)
{
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    const ASN1_TIME *t = crl ? X509_CRL_get0_nextUpdate(crl) : NULL;
    struct tm tm;
    ccai_code rc = CCAI_OK;
    if (!crl || p != der + len)
        rc = ccai_fail(err, CCAI_ERR_PARSE, "not a DER CRL (%zu bytes)", len);
    else if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        rc = ccai_fail(err, CCAI_ERR_PARSE, "CRL has no usable nextUpdate");
    else
        *out = timegm(&tm);
    ERR_clear_error();
    X509_CRL_free(crl);
    return rc;
}

static ccai_code json_next_update(const json_t *item, time_t *out, ccai_err *err)
{
    const char *s;
    ccai_code rc = ccai_json_get_str(item, "nextUpdate", &s, err);
    if (!rc)
        rc = ccai_time_parse(s, out, err);
    if (rc)
        ccai_err_prefix(err, "nextUpdate");
    return rc;
}

/* nextUpdate of a bundle member: raw JSON text, or hex DER when crl. */
static ccai_code member_next_update(const json_t *bundle, const char *key, bool crl, time_t *out,
                                    ccai_err *err)
{
    const char *s;
    json_t *item = NULL;
    uint8_t *der = NULL;
    size_t len = 0;
    ccai_code rc = ccai_json_get_str(bundle, key, &s, err);
    if (!rc && crl && !(rc = ccai_hex_decode_alloc(s, strlen(s), &der, &len, err)))
        rc = crl_next_update(der, len, out, err);
    if (!rc && !crl && !(rc = ccai_json_parse(s, strlen(s), &item, err)))
        rc = json_next_update(item, out, err);
    json_decref(item);
    free(der);
    return rc;
}

ccai_code tdx_pcs_bundle_expiry(const json_t *bundle, time_t *expiry, ccai_err *err)
{
    static const char *const KEYS[4] = {"tcb_info", "qe_identity", "root_ca_crl", "pck_crl"};
    time_t t, earliest = 0;
    for (int i = 0; i < 4; i++) {
        const char *key = KEYS[i];
        ccai_code rc = member_next_update(bundle, key, i >= 2, &t, err);
        if (rc) {
            ccai_err_prefix(err, "collateral %s", key);
            return rc;
        }
        if (i == 0 || t < earliest)
            earliest = t;
    }
    *expiry = earliest;
    return CCAI_OK;
}

/* ---- HTTP --------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct pcs_client {
    const tdx_pcs_opts *o;
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
    time_t earliest;        /* the earliest nextUpdate fetched so far */
} pcs_client;

typedef struct http_resp {
    ccai_buf body;
    bool over_cap;
    const char *want;       /* the header to keep (case-insensitive) */
    char *header;           /* its value in the final response, or NULL */
} http_resp;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    http_resp *r = ud;
    size_t len = size * n;
    if (len > TDX_PCS_MAX_BODY - r->body.len) {
        r->over_cap = true;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    ccai_buf_append(&r->body, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    http_resp *r = ud;
    size_t len = size * n, wl = r->want ? strlen(r->want) : 0;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response begins */
        free(r->header);
        r->header = NULL;
    } else if (wl && len > wl && p[wl] == ':' && strncasecmp(p, r->want, wl) == 0) {
        size_t a = wl + 1, b = len;
        while (a < b && (p[a] == ' ' || p[a] == '\t'))
            a++;
        while (b > a && (p[b - 1] == '\r' || p[b - 1] == '\n' || p[b - 1] == ' '))
            b--;
        free(r->header);
        r->header = ccai_xstrndup(p + a, b - a);
    }
    return len;
}

static void resp_clear(http_resp *r)
{
    ccai_buf_free(&r->body);
    free(r->header);
    r->header = NULL;
    r->over_cap = false;
}

/* Adds the opts' ca_file to the CAs libcurl already loaded (the system's). */
static CURLcode add_ca_file(CURL *curl, void *sslctx, void *ud)
{
    (void)curl;
    X509_STORE *store = SSL_CTX_get_cert_store(sslctx);
    int ok = X509_STORE_load_file(store, ud);
    ERR_clear_error();
    return ok == 1 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

static ccai_code client_open(pcs_client *c, const tdx_pcs_opts *o, ccai_err *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return ccai_fail(err, CCAI_ERR_IO, "PCS: curl_global_init: %s",
                         curl_easy_strerror(curl_init_rc));
    if (!o->base_url || !*o->base_url)
        return ccai_fail(err, CCAI_ERR_ARG, "PCS: no base URL (and no valid cached collateral)");
    if (o->ca_file && access(o->ca_file, R_OK) != 0)
        return ccai_fail(err, CCAI_ERR_ARG, "PCS CA file %s: not readable", o->ca_file);
    c->o = o;
    c->curl = curl_easy_init();
    if (!c->curl)
        return ccai_fail(err, CCAI_ERR_IO, "PCS: curl_easy_init failed");
    long timeout = o->timeout_s > 0 ? o->timeout_s : TDX_PCS_DEFAULT_TIMEOUT_S;
    CURL *h = c->curl;
    CURLcode cc = CURLE_OK;
    /* Every option must take: a silently ignored one (say, the CA file)
     * would change what is trusted. */
#define SETOPT(opt, val) \
    do { if (cc == CURLE_OK) cc = curl_easy_setopt(h, opt, val); } while (0)
    SETOPT(CURLOPT_ERRORBUFFER, c->errbuf);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_TIMEOUT, timeout);
    SETOPT(CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)TDX_PCS_MAX_BODY);
    SETOPT(CURLOPT_USERAGENT, "ccai-pcs/1");
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    if (o->ca_file) {
        SETOPT(CURLOPT_SSL_CTX_FUNCTION, add_ca_file);
        SETOPT(CURLOPT_SSL_CTX_DATA, (void *)(uintptr_t)o->ca_file);
    }
#undef SETOPT
    if (cc != CURLE_OK) {
        curl_easy_cleanup(c->curl);
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED, "PCS: libcurl option refused: %s%s",
                         curl_easy_strerror(cc),
                         o->ca_file ? " (ca_file needs libcurl built with OpenSSL)" : "");
    }
    return CCAI_OK;
}

/* Same scheme, host and port: the only redirects followed. */
static bool same_origin(const char *a, const char *b)
{
    static const CURLUPart PARTS[3] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT};
    CURLU *ua = curl_url(), *ub = curl_url();
    bool same = ua && ub && !curl_url_set(ua, CURLUPART_URL, a, 0) &&
                !curl_url_set(ub, CURLUPART_URL, b, 0);
    for (int i = 0; same && i < 3; i++) {
        char *pa = NULL, *pb = NULL;
        same = !curl_url_get(ua, PARTS[i], &pa, CURLU_DEFAULT_PORT) &&
               !curl_url_get(ub, PARTS[i], &pb, CURLU_DEFAULT_PORT) && strcasecmp(pa, pb) == 0;
        curl_free(pa);
        curl_free(pb);
    }
    curl_url_cleanup(ua);
    curl_url_cleanup(ub);
    return same;
}

static ccai_code transfer_fail(pcs_client *c, const http_resp *r, CURLcode cc, const char *url,
                               ccai_err *err)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
    if (r->over_cap || cc == CURLE_FILESIZE_EXCEEDED)
        return ccai_fail(err, CCAI_ERR_PARSE, "PCS %s: body larger than the %d-byte limit", url,
                         TDX_PCS_MAX_BODY);
    if (cc == CURLE_PARTIAL_FILE)
        return ccai_fail(err, CCAI_ERR_IO, "PCS %s: truncated body (%s)", url, detail);
    return ccai_fail(err, CCAI_ERR_IO, "PCS %s: %s (curl error %d)", url, detail, (int)cc);
}

/* GET url into *r (body, and the value of r->want when present). Errors
 * name the URL; anything but HTTP 200 fails. */
static ccai_code http_get(pcs_client *c, const char *url, http_resp *r, ccai_err *err)
{
    char *cur = ccai_xstrdup(url);
    ccai_code rc = CCAI_OK;
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
    for (int hop = 0;; hop++) {
        resp_clear(r);
        c->errbuf[0] = '\0';
        curl_easy_setopt(c->curl, CURLOPT_URL, cur);
        CURLcode cc = curl_easy_perform(c->curl);
        if (cc != CURLE_OK) {
            rc = transfer_fail(c, r, cc, cur, err);
            break;
        }
        long status = 0;
        char *loc = NULL;
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200)
            break;
        bool redirect = status == 301 || status == 302 || status == 303 || status == 307 ||
                        status == 308;
        if (redirect)
            curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &loc);
        if (!redirect || !loc) {
            rc = ccai_fail(err, status == 404 ? CCAI_ERR_NOT_FOUND : CCAI_ERR_IO,
                           "PCS %s: HTTP %ld (expected 200)%s", cur, status,
                           redirect ? " without a Location" : "");
            break;
        }
        if (hop == TDX_PCS_MAX_REDIRECTS || !same_origin(cur, loc)) {
            rc = ccai_fail(err, CCAI_ERR_IO, "PCS %s: HTTP %ld redirect to %s not followed (%s)",
                           cur, status, loc,
                           hop == TDX_PCS_MAX_REDIRECTS ? "too many redirects"
                                                        : "another scheme, host or port");
            break;
        }
        free(cur);
        cur = ccai_xstrdup(loc);
    }
    free(cur);
    return rc;
}

/* ---- one item ------------------------------------------------------------------- */

/* The issuer chain header: percent-decoded (RFC 3986; '+' stays '+', as it
 * is base64 in PEM), a PEM chain of at least one certificate. */
static ccai_code issuer_chain(const http_resp *r, const char *url, char **pem, ccai_err *err)
{
    if (!r->header)
        return ccai_fail(err, CCAI_ERR_PARSE, "PCS %s: missing header %s", url, r->want);
    const char *s = r->header;
    size_t n = strlen(s), j = 0;
    char *out = ccai_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        size_t at = i;
        out[j] = s[i];
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hx[3] = {s[i + 1], s[i + 2], '\0'};
            out[j] = (char)strtol(hx, NULL, 16);
            i += 2;
        }
        if (s[at] == '%' && i == at) /* not two hex digits */
            out[j] = '\0';
        if (out[j++] == '\0') { /* also %00: the chain is a C string */
            free(out);
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "PCS %s: header %s: bad percent escape at offset %zu", url, r->want,
                             at);
        }
    }
    out[j] = '\0';
    STACK_OF(X509) *chain = NULL;
    ccai_code rc = tdx_pem_chain_load(out, j, &chain, err);
    sk_X509_pop_free(chain, X509_free);
    if (rc) {
        free(out);
        ccai_err_prefix(err, "PCS %s: header %s", url, r->want);
        return rc;
    }
    *pem = out;
    return CCAI_OK;
}

/* Checks a signed-JSON body and copies its parts into the bundle:
 * {"<member>":{...},"signature":"<128 hex>"}. want_fmspc (upper hex, TCB
 * info only) must equal the member's fmspc. */
static ccai_code signed_item(pcs_client *c, const char *url, const http_resp *r,
                             const char *member, const char *want_fmspc, json_t *bundle,
                             const char *key, ccai_err *err)
{
    const char *text = (const char *)r->body.data, *sig, *fmspc;
    size_t len = r->body.len, off = 0, vlen = 0;
    json_t *doc = NULL, *raw = NULL;
    uint8_t sigbin[64];
    time_t next;
    ccai_code rc = ccai_json_parse(text ? text : "", len, &doc, err);
    if (!rc && !json_is_object(json_object_get(doc, member)))
        rc = ccai_fail(err, CCAI_ERR_PARSE, "expected an object member \"%s\"", member);
    if (!rc)
        rc = ccai_json_get_str(doc, "signature", &sig, err);
    if (!rc && (rc = ccai_hex_decode_exact(sig, sigbin, sizeof sigbin, err)))
        ccai_err_prefix(err, "\"signature\"");
    if (!rc)
        rc = tdx_pcs_json_member_span(text, len, member, &off, &vlen, err);
    /* The span must be the very value jansson read, or the scanner is wrong. */
    if (!rc && (ccai_json_parse(text + off, vlen, &raw, err) ||
                !json_equal(raw, json_object_get(doc, member))))
        rc = ccai_fail(err, CCAI_ERR_PARSE, "raw \"%s\" bytes disagree with the parsed value",
                       member);
    if (!rc && want_fmspc) {
        rc = ccai_json_get_str(raw, "fmspc", &fmspc, err);
        if (!rc && strcasecmp(fmspc, want_fmspc) != 0)
            rc = ccai_fail(err, CCAI_ERR_PARSE, "tcbInfo fmspc %s, expected %s", fmspc,
                           want_fmspc);
    }
    if (!rc)
        rc = json_next_update(raw, &next, err);
    if (!rc) {
        c->earliest = c->earliest && c->earliest < next ? c->earliest : next;
        char *sigtext = ccai_hex_dup(sigbin, sizeof sigbin);
        char *item = ccai_xstrndup(text + off, vlen);
        char *sigkey = ccai_xasprintf("%s_signature", key);
        json_object_set_new(bundle, key, json_string(item));
        json_object_set_new(bundle, sigkey, json_string(sigtext));
        free(sigtext);
        free(item);
        free(sigkey);
    } else {
        ccai_err_prefix(err, "PCS %s: body", url);
    }
    json_decref(doc);
    json_decref(raw);
    return rc;
}

static bool is_space(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* A CRL body in DER, PEM or hex text, as DER (*der is new, the caller frees). */
static ccai_code crl_body_der(const uint8_t *p, size_t n, uint8_t **der, size_t *dlen,
                              ccai_err *err)
{
    size_t a = 0;
    if (n > 0 && p[0] == 0x30) { /* DER (a SEQUENCE), taken as is: never trimmed */
        *der = ccai_xmemdup(p, n);
        *dlen = n;
        return CCAI_OK;
    }
    while (a < n && is_space(p[a])) /* text forms may carry white space */
        a++;
    while (n > a && is_space(p[n - 1]))
        n--;
    if (n - a <= 10 || memcmp(p + a, "-----BEGIN", 10) != 0) {
        ccai_code rc = ccai_hex_decode_alloc((const char *)p + a, n - a, der, dlen, err);
        if (rc)
            ccai_err_prefix(err, "expected DER, PEM or hex text");
        return rc;
    }
    BIO *bio = BIO_new_mem_buf(p + a, (int)(n - a));
    X509_CRL *crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
    unsigned char *buf = NULL;
    int len = crl ? i2d_X509_CRL(crl, &buf) : -1;
    if (len > 0) {
        *der = ccai_xmemdup(buf, (size_t)len);
        *dlen = (size_t)len;
    }
    OPENSSL_free(buf);
    X509_CRL_free(crl);
    BIO_free(bio);
    ERR_clear_error();
    return len > 0 ? CCAI_OK : ccai_fail(err, CCAI_ERR_PARSE, "PEM that holds no X509 CRL");
}

/* A CRL answer, as hex DER into the bundle. */
static ccai_code crl_item(pcs_client *c, const char *url, const http_resp *r, json_t *bundle,
                          const char *key, ccai_err *err)
{
    uint8_t *der = NULL;
    size_t dlen = 0;
    time_t next;
    ccai_code rc = crl_body_der(r->body.data, r->body.len, &der, &dlen, err);
    if (!rc)
        rc = crl_next_update(der, dlen, &next, err);
    if (!rc) {
        c->earliest = c->earliest && c->earliest < next ? c->earliest : next;
        char *hex = ccai_hex_dup(der, dlen);
        json_object_set_new(bundle, key, json_string(hex));
        free(hex);
    } else {
        ccai_err_prefix(err, "PCS %s: body", url);
    }
    free(der);
    return rc;
}

/* GET url; header (or NULL) names the issuer chain, stored as chain_key. */
static ccai_code fetch(pcs_client *c, const char *url, const char *header, const char *chain_key,
                       http_resp *r, json_t *bundle, ccai_err *err)
{
    r->want = header;
    ccai_code rc = http_get(c, url, r, err);
    char *pem = NULL;
    if (!rc && header && !(rc = issuer_chain(r, url, &pem, err)))
        json_object_set_new(bundle, chain_key, json_string(pem));
    free(pem);
    return rc;
}

static char *root_crl_url(const tdx_pcs_opts *o, const char *base)
{
    if (o->root_ca_crl_url)
        return ccai_xstrdup(o->root_ca_crl_url);
    CURLU *u = curl_url();
    char *host = NULL;
    bool intel = u && !curl_url_set(u, CURLUPART_URL, base, 0) &&
                 !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
                 strcasecmp(host, TDX_PCS_INTEL_HOST) == 0;
    curl_free(host);
    curl_url_cleanup(u);
    return intel ? ccai_xstrdup(TDX_PCS_INTEL_ROOT_CRL_URL)
                 : ccai_xasprintf("%s/sgx/certification/v4/rootcacrl", base);
}

/* The four requests, in the bundle's (Intel's) member order. */
static ccai_code fetch_bundle(pcs_client *c, const uint8_t fmspc[6], const char *ca,
                              json_t *b, ccai_err *err)
{
    char fhex[13];
    ccai_hex_encode(fmspc, 6, fhex);
    for (int i = 0; fhex[i]; i++)
        fhex[i] = (char)toupper((unsigned char)fhex[i]);
    size_t bl = strlen(c->o->base_url);
    while (bl > 0 && c->o->base_url[bl - 1] == '/')
        bl--;
    char *base = ccai_xstrndup(c->o->base_url, bl);
    char *url[4] = {
        ccai_xasprintf("%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", base, ca),
        root_crl_url(c->o, base),
        ccai_xasprintf("%s/tdx/certification/v4/tcb?fmspc=%s", base, fhex),
        ccai_xasprintf("%s/tdx/certification/v4/qe/identity", base),
    };
    http_resp r = {0};
    for (int i = 0; i < 9; i++) /* fixes the member order; each is replaced in place */
        json_object_set_new(b, BUNDLE_KEYS[i], json_null());
    ccai_code rc = fetch(c, url[0], "SGX-PCK-CRL-Issuer-Chain", "pck_crl_issuer_chain", &r, b,
                         err);
    if (!rc)
        rc = crl_item(c, url[0], &r, b, "pck_crl", err);
    if (!rc)
        rc = fetch(c, url[1], NULL, NULL, &r, b, err);
    if (!rc)
        rc = crl_item(c, url[1], &r, b, "root_ca_crl", err);
    if (!rc)
        rc = fetch(c, url[2], "TCB-Info-Issuer-Chain", "tcb_info_issuer_chain", &r, b, err);
    if (!rc)
        rc = signed_item(c, url[2], &r, "tcbInfo", fhex, b, "tcb_info", err);
    if (!rc)
        rc = fetch(c, url[3], "SGX-Enclave-Identity-Issuer-Chain", "qe_identity_issuer_chain",
                   &r, b, err);
    if (!rc)
        rc = signed_item(c, url[3], &r, "enclaveIdentity", NULL, b, "qe_identity", err);
    resp_clear(&r);
    for (int i = 0; i < 4; i++)
        free(url[i]);
    free(base);
    return rc;
}

/* ---- the cache ------------------------------------------------------------------- */

/* Reads a cache entry for (fhex, ca): the bundle (new reference) and expiry.
 * CCAI_ERR_NOT_FOUND when there is no file; CCAI_ERR_STATE when it does
 * not hold what it should. */
static ccai_code cache_read(const char *path, const char *fhex, const char *ca, json_t **bundle,
                            time_t *expiry, ccai_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    const char *s;
    long long version = 0;
    ccai_code rc = ccai_read_file(path, CACHE_MAX_FILE, &data, &len, err);
    if (rc)
        return rc;
    rc = ccai_json_parse((const char *)data, len, &doc, err);
    free(data);
    if (!rc)
        rc = ccai_json_get_int(doc, "version", &version, err);
    if (!rc && version != CACHE_VERSION)
        rc = ccai_fail(err, CCAI_ERR_STATE, "version %lld, expected %d", version, CACHE_VERSION);
    if (!rc && (ccai_json_get_str(doc, "fmspc", &s, err) || strcmp(s, fhex) != 0))
        rc = ccai_fail(err, CCAI_ERR_STATE, "expected fmspc %s", fhex);
    if (!rc && (ccai_json_get_str(doc, "ca", &s, err) || strcmp(s, ca) != 0))
        rc = ccai_fail(err, CCAI_ERR_STATE, "expected ca %s", ca);
    if (!rc && !(rc = ccai_json_get_str(doc, "expires", &s, err)))
        rc = ccai_time_parse(s, expiry, err);
    json_t *b = json_object_get(doc, "bundle");
    if (!rc && !json_is_object(b))
        rc = ccai_fail(err, CCAI_ERR_STATE, "expected an object \"bundle\"");
    for (int i = 0; !rc && i < 9; i++)
        rc = ccai_json_get_str(b, BUNDLE_KEYS[i], &s, err);
    if (rc) {
        json_decref(doc);
        ccai_err_prefix(err, "cache file %s", path);
        if (err)
            err->code = CCAI_ERR_STATE;
        return CCAI_ERR_STATE;
    }
    *bundle = json_incref(b);
    json_decref(doc);
    return CCAI_OK;
}

static ccai_code cache_write(const tdx_pcs_opts *o, const char *path, const char *fhex,
                             const char *ca, const json_t *bundle, time_t now, time_t expiry,
                             ccai_err *err)
{
    char fetched[32], expires[32];
    ccai_time_format(now, fetched);
    ccai_time_format(expiry, expires);
    json_t *doc = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:O}", "version", CACHE_VERSION,
                            "fmspc", fhex, "ca", ca, "source", o->base_url, "fetched", fetched,
                            "expires", expires, "bundle", bundle);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (!text)
        return ccai_fail(err, CCAI_ERR_STATE, "cache: cannot serialize the bundle");
    ccai_code rc = ccai_mkdir_p(o->cache_dir, 0700, err);
    if (!rc)
        rc = ccai_write_file_atomic(path, text, strlen(text), 0644, err);
    if (rc)
        ccai_err_prefix(err, "PCS collateral cache");
    free(text);
    return rc;
}

/* ---- the entry point ---------------------------------------------------------------- */

static ccai_code offline_answer(const tdx_pcs_opts *o, const char *path, const char *fhex,
                                const char *ca, ccai_code cache_rc, const ccai_err *cache_err,
                                time_t expiry, time_t now, ccai_err *err)
{
    char at[32], now_s[32];
    if (!path)
        return ccai_fail(err, CCAI_ERR_ARG, "offline: no cache directory to read collateral from");
    if (cache_rc == CCAI_ERR_NOT_FOUND)
        return ccai_fail(err, CCAI_ERR_NOT_FOUND,
                         "offline: no cached collateral for FMSPC %s (PCK %s CA) in %s", fhex,
                         ca, o->cache_dir);
    if (cache_rc != CCAI_OK)
        return ccai_fail(err, cache_rc, "offline: %s", cache_err->msg);
    ccai_time_format(expiry, at);
    ccai_time_format(now, now_s);
    return ccai_fail(err, CCAI_ERR_NOT_FOUND,
                     "offline: cached collateral for FMSPC %s (PCK %s CA) expired at %s (now %s)",
                     fhex, ca, at, now_s);
}

ccai_code tdx_pcs_get_collateral(const tdx_pcs_opts *o, const uint8_t fmspc[6],
                                 const char *pck_ca, time_t now, json_t **bundle, ccai_err *err)
{
    if (!o || !fmspc || !bundle)
        return ccai_fail(err, CCAI_ERR_ARG, "PCS: missing options, FMSPC or result pointer");
    if (!pck_ca || (strcmp(pck_ca, "platform") != 0 && strcmp(pck_ca, "processor") != 0))
        return ccai_fail(err, CCAI_ERR_ARG, "PCS: PCK CA \"%s\": expected platform or processor",
                         pck_ca ? pck_ca : "(null)");
    char fhex[13];
    ccai_hex_encode(fmspc, 6, fhex);
    char *path = o->cache_dir ? ccai_xasprintf("%s/collateral-%s-%s.json", o->cache_dir, fhex,
                                               pck_ca)
                              : NULL;
    json_t *b = NULL;
    time_t expiry = 0;
    ccai_err cerr = {0};
    ccai_code rc = path ? cache_read(path, fhex, pck_ca, &b, &expiry, &cerr) : CCAI_ERR_NOT_FOUND;
    if (rc == CCAI_OK && now < expiry) {
        *bundle = b;
        free(path);
        return CCAI_OK;
    }
    json_decref(b);
    if (o->offline) {
        rc = offline_answer(o, path, fhex, pck_ca, rc, &cerr, expiry, now, err);
        free(path);
        return rc;
    }
    pcs_client c = {0};
    b = json_object();
    rc = client_open(&c, o, err);
    if (!rc) {
        rc = fetch_bundle(&c, fmspc, pck_ca, b, err);
        curl_easy_cleanup(c.curl);
    }
    if (!rc && path)
        rc = cache_write(o, path, fhex, pck_ca, b, now, c.earliest, err);
    free(path);
    if (rc)
        json_decref(b);
    else
        *bundle = b;
    return rc;
}
