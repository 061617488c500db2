/* Model names and digests (store.h "names"): the one place where text from a
 * user or a registry becomes part of a file path, so the alphabet is
 * deliberately narrow. A component starts with a letter or digit and goes on
 * with letters, digits, '.', '_' and '-': it can never be "." or "..", hold
 * a '/', or start like an option. Digests are exactly "sha256:" and 64
 * lower-case hex digits. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store/store.h"

static bool name_char(char c, bool first)
{
    if (isalnum((unsigned char)c))
        return true;
    return !first && (c == '.' || c == '_' || c == '-');
}

/* Copies s[0..n) into out (cap bytes) when it is a valid component. */
static ccai_code component(const char *what, const char *s, size_t n, char *out, size_t cap,
                           bool tag, ccai_err *err)
{
    if (n == 0)
        return ccai_fail(err, CCAI_ERR_ARG, "empty %s", what);
    if (n >= cap)
        return ccai_fail(err, CCAI_ERR_ARG, "%s is %zu characters, more than the %zu allowed", what,
                         n, cap - 1);
    for (size_t i = 0; i < n; i++) {
        /* Tags may start with '_' (Ollama's rule); nothing else may. */
        bool ok = name_char(s[i], i == 0) || (tag && i == 0 && s[i] == '_');
        if (!ok) {
            unsigned char c = (unsigned char)s[i];
            if (isprint(c))
                return ccai_fail(err, CCAI_ERR_ARG,
                                 "%s '%.*s': character '%c' at %zu is not allowed "
                                 "(letters, digits, '.', '_', '-'; not first: '.', '_', '-')",
                                 what, (int)n, s, c, i);
            return ccai_fail(err, CCAI_ERR_ARG, "%s: byte 0x%02x at %zu is not allowed", what, c,
                             i);
        }
    }
    memcpy(out, s, n);
    out[n] = 0;
    return CCAI_OK;
}

/* A host: a DNS name or IPv4 address, optionally ":port". */
static ccai_code host_part(const char *s, size_t n, char *out, size_t cap, ccai_err *err)
{
    const char *colon = memchr(s, ':', n);
    size_t hn = colon ? (size_t)(colon - s) : n;
    ccai_code rc = component("host", s, hn, out, cap, false, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < hn; i++)
        if (s[i] == '_')
            return ccai_fail(err, CCAI_ERR_ARG, "host '%.*s': '_' is not allowed", (int)hn, s);
    if (colon) {
        size_t pn = n - hn - 1;
        if (pn == 0 || pn > 5 || hn + 1 + pn >= cap)
            return ccai_fail(err, CCAI_ERR_ARG, "host '%.*s': bad port", (int)n, s);
        for (size_t i = 0; i < pn; i++)
            if (!isdigit((unsigned char)colon[1 + i]))
                return ccai_fail(err, CCAI_ERR_ARG, "host '%.*s': bad port", (int)n, s);
        memcpy(out, s, n);
        out[n] = 0;
    }
    return CCAI_OK;
}

ccai_code store_name_parse(const char *s, store_name *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return ccai_fail(err, CCAI_ERR_ARG, "empty model name");
    size_t len = strlen(s);
    if (len > 600)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "model name is %zu characters, more than the 600 allowed", len);
    /* The tag follows the last ':' after the last '/' (a host may have a port). */
    const char *slash = strrchr(s, '/');
    const char *colon = strrchr(slash ? slash : s, ':');
    size_t path_len = colon ? (size_t)(colon - s) : len;
    const char *parts[3];
    size_t lens[3], np = 0;
    const char *p = s, *end = s + path_len;
    while (p <= end) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        if (!q)
            q = end;
        if (np == 3)
            return ccai_fail(
                err, CCAI_ERR_ARG,
                "model name '%s' has more than three parts (want [HOST/][NAMESPACE/]MODEL[:TAG])",
                s);
        parts[np] = p;
        lens[np++] = (size_t)(q - p);
        p = q + 1;
    }
    ccai_code rc;
    const char *host = STORE_DEFAULT_HOST, *ns = STORE_DEFAULT_NS;
    snprintf(out->host, sizeof out->host, "%s", host);
    snprintf(out->ns, sizeof out->ns, "%s", ns);
    if (np == 3 && (rc = host_part(parts[0], lens[0], out->host, sizeof out->host, err)))
        return rc;
    if (np >= 2 && (rc = component("namespace", parts[np - 2], lens[np - 2], out->ns,
                                   sizeof out->ns, false, err)))
        return rc;
    if ((rc = component("model", parts[np - 1], lens[np - 1], out->model, sizeof out->model, false,
                        err)))
        return rc;
    if (colon)
        return component("tag", colon + 1, strlen(colon + 1), out->tag, sizeof out->tag, true, err);
    snprintf(out->tag, sizeof out->tag, "%s", STORE_DEFAULT_TAG);
    return CCAI_OK;
}

void store_name_format(const store_name *n, char *out, size_t cap)
{
    bool dhost = strcasecmp(n->host, STORE_DEFAULT_HOST) == 0;
    if (dhost && strcasecmp(n->ns, STORE_DEFAULT_NS) == 0)
        snprintf(out, cap, "%s:%s", n->model, n->tag);
    else if (dhost)
        snprintf(out, cap, "%s/%s:%s", n->ns, n->model, n->tag);
    else
        snprintf(out, cap, "%s/%s/%s:%s", n->host, n->ns, n->model, n->tag);
}

bool store_name_equal(const store_name *a, const store_name *b)
{
    return !strcasecmp(a->host, b->host) && !strcasecmp(a->ns, b->ns) &&
           !strcasecmp(a->model, b->model) && !strcasecmp(a->tag, b->tag);
}

static bool lower_hex64(const char *h)
{
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return false;
    return h[64] == 0;
}

ccai_code store_digest_parse(const char *digest, char hex[65], ccai_err *err)
{
    if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71 ||
        !lower_hex64(digest + 7))
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "digest '%.80s': expected 'sha256:' and 64 lower-case hex digits",
                         digest ? digest : "");
    memcpy(hex, digest + 7, 65);
    return CCAI_OK;
}

bool store_is_blob_file(const char *fname)
{
    return strncmp(fname, "sha256-", 7) == 0 && strlen(fname) == 71 && lower_hex64(fname + 7);
}
