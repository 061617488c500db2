/* Hugging Face and direct-URL pulls (store.h "pulls"): one GGUF file,
 * stored under a synthesized manifest so list, show and rm treat it like a
 * registry model.
 *
 * hf.co/ORG/REPO[:QUANT]: the repository's file list
 * (GET <endpoint>/api/models/ORG/REPO?blobs=true) names the GGUF files; the
 * one whose name contains QUANT (case-insensitively) is fetched from
 * <endpoint>/ORG/REPO/resolve/main/FILE. The listing's LFS SHA-256 and size,
 * when present, are the expected ones (the same digest Hugging Face shows;
 * llm-facts §4), and --sha256 must agree with them. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/mem.h"
#include "store/fetch.h"
#include "store/pull_internal.h"

enum { HF_MAX_LISTING = 8 << 20 };

/* A repository file name we are willing to put in a URL. */
static bool safe_file(const char *s)
{
    if (!*s || *s == '/' || strstr(s, "..") || strlen(s) > 512)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-/+", *p))
            return false;
    return true;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static bool contains_ci(const char *s, const char *needle)
{
    return strcasestr(s, needle) != NULL;
}

/* Picks the sibling to fetch; *pick indexes siblings. */
static ccai_code pick_file(const json_t *sib, const char *quant, const char *repo, size_t *pick,
                           ccai_err *err)
{
    size_t cand[64], nc = 0;
    ccai_buf all = {0};
    for (size_t i = 0; i < json_array_size(sib); i++) {
        const char *f = json_string_value(json_object_get(json_array_get(sib, i), "rfilename"));
        if (!f || !ends_with_ci(f, ".gguf") || !safe_file(f))
            continue;
        ccai_buf_append_str(&all, all.len ? ", " : "");
        ccai_buf_append_str(&all, f);
        if ((!quant || contains_ci(f, quant)) && nc < 64)
            cand[nc++] = i;
    }
    ccai_buf_u8(&all, 0);
    const char *files = all.len > 1 ? (const char *)all.data : "none";
    ccai_code rc = CCAI_OK;
    /* Several matches: the one ending in "<QUANT>.gguf" (not a split part),
     * and without a quant Ollama's default, Q4_K_M. */
    if (nc > 1) {
        const char *want = quant ? quant : "Q4_K_M";
        char *suffix = ccai_xasprintf("%s.gguf", want);
        size_t keep = 0, hit = 0;
        for (size_t i = 0; i < nc; i++) {
            const char *f =
                json_string_value(json_object_get(json_array_get(sib, cand[i]), "rfilename"));
            if (ends_with_ci(f, suffix)) {
                keep = cand[i];
                hit++;
            }
        }
        free(suffix);
        if (hit == 1) {
            cand[0] = keep;
            nc = 1;
        }
    }
    if (nc == 0)
        rc = ccai_fail(err, CCAI_ERR_NOT_FOUND, "%s has no GGUF file%s%s%s (files: %s)", repo,
                       quant ? " matching '" : "", quant ? quant : "", quant ? "'" : "", files);
    else if (nc > 1)
        rc = ccai_fail(err, CCAI_ERR_ARG,
                       "%s: %s GGUF files match; name one with :QUANT (files: %s)", repo,
                       quant ? "several" : "several", files);
    else
        *pick = cand[0];
    ccai_buf_free(&all);
    return rc;
}

static const char *hf_endpoint(const store_pull_opts *o)
{
    const char *e = o->hf_endpoint;
    if (!e || !*e)
        e = getenv("CCAI_HF_ENDPOINT");
    return e && *e ? e : STORE_DEFAULT_HF;
}

static ccai_code get_listing(const char *base, const store_name *n, json_t **out, ccai_err *err)
{
    char *url = ccai_xasprintf("%s/api/models/%s/%s?blobs=true", base, n->ns, n->model);
    uint8_t *body = NULL;
    size_t len = 0;
    long status = 0;
    ccai_code rc =
        store_http_get(url, "application/json", HF_MAX_LISTING, &body, &len, &status, NULL, err);
    if (!rc && (status == 404 || status == 401))
        rc = ccai_fail(err, CCAI_ERR_NOT_FOUND,
                       "Hugging Face repository %s/%s not found (GET %s: HTTP %ld)", n->ns,
                       n->model, url, status);
    else if (!rc && status != 200)
        rc = ccai_fail(err, CCAI_ERR_NET, "GET %s: HTTP %ld", url, status);
    if (!rc && (rc = ccai_json_parse((const char *)body, len, out, err)))
        ccai_err_prefix(err, "GET %s", url);
    if (!rc && !json_is_array(json_object_get(*out, "siblings"))) {
        rc = ccai_fail(err, CCAI_ERR_PARSE, "GET %s: expected an object with a 'siblings' array",
                       url);
        json_decref(*out);
        *out = NULL;
    }
    free(body);
    free(url);
    return rc;
}

ccai_code pull_hf(const store *st, store_name *n, const store_pull_opts *o, ccai_err *err)
{
    snprintf(n->host, sizeof n->host, "hf.co");
    bool tagged = strcmp(n->tag, STORE_DEFAULT_TAG) != 0;
    const char *base = hf_endpoint(o);
    char want[65], repo[256];
    snprintf(repo, sizeof repo, "%s/%s", n->ns, n->model);
    json_t *listing = NULL;
    ccai_code rc = o->sha256 ? pull_expected_hex(o->sha256, want, err) : CCAI_OK;
    if (!rc)
        rc = pull_report(o, "pulling manifest", err);
    if (!rc)
        rc = get_listing(base, n, &listing, err);
    size_t pick = 0;
    if (!rc)
        rc = pick_file(json_object_get(listing, "siblings"), tagged ? n->tag : NULL, repo, &pick,
                       err);
    if (rc) {
        json_decref(listing);
        return rc;
    }
    const json_t *s = json_array_get(json_object_get(listing, "siblings"), pick);
    const char *file = json_string_value(json_object_get(s, "rfilename"));
    const json_t *lfs = json_object_get(s, "lfs");
    const char *lsha = json_string_value(json_object_get(lfs, "sha256"));
    const json_t *lsize = json_object_get(lfs, "size");
    char lhex[65];
    bool has_lsha = lsha && pull_expected_hex(lsha, lhex, NULL) == CCAI_OK;
    if (o->sha256 && has_lsha && strcmp(want, lhex) != 0)
        rc = ccai_fail(err, CCAI_ERR_VERIFY,
                       "%s/%s: --sha256 %s does not match the SHA-256 Hugging Face lists (%s)",
                       repo, file, want, lhex);
    if (!rc) {
        char *url = ccai_xasprintf("%s/%s/resolve/main/%s", base, repo, file);
        bool has_size = json_is_integer(lsize) && json_integer_value(lsize) > 0;
        rc = pull_single(st, n, url,
                         o->sha256  ? want
                         : has_lsha ? lhex
                                    : NULL,
                         has_size ? (uint64_t)json_integer_value(lsize) : 0, has_size, o, err);
        free(url);
    }
    json_decref(listing);
    return rc;
}

/* "Model.Q4_K_M.gguf" -> "Model.Q4_K_M": characters a name cannot hold become '-'. */
static ccai_code name_from_url(const char *url, store_name *n, ccai_err *err)
{
    const char *q = url + strcspn(url, "?#");
    const char *p = q;
    while (p > url && p[-1] != '/')
        p--;
    size_t len = (size_t)(q - p);
    if (len <= 5 || strncasecmp(q - 5, ".gguf", 5) != 0)
        return ccai_fail(err, CCAI_ERR_ARG, "URL '%.200s': expected the URL of a .gguf file", url);
    len -= 5;
    char stem[129];
    if (len >= sizeof stem)
        len = sizeof stem - 1;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        bool ok = isalnum((unsigned char)c) || (k > 0 && (c == '.' || c == '_' || c == '-'));
        if (ok || k > 0)
            stem[k++] = ok ? c : '-';
    }
    stem[k] = 0;
    if (!k)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "URL '%.200s': no usable name in the file name; "
                         "give one with --name",
                         url);
    return store_name_parse(stem, n, err);
}

ccai_code pull_url(const store *st, const char *url, const store_pull_opts *o, store_name *n,
                   ccai_err *err)
{
    char want[65];
    ccai_code rc = o->sha256 ? pull_expected_hex(o->sha256, want, err) : CCAI_OK;
    if (!rc)
        rc = o->name ? store_name_parse(o->name, n, err) : name_from_url(url, n, err);
    if (!rc && strpbrk(url, " \r\n\t"))
        rc = ccai_fail(err, CCAI_ERR_ARG, "URL '%.200s': white space is not allowed", url);
    if (!rc)
        rc = pull_single(st, n, url, o->sha256 ? want : NULL, 0, false, o, err);
    return rc;
}
