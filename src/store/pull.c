/* Pulls (store.h "pulls"): a name from an Ollama-protocol registry
 * (llm-facts §4), and the common path for single GGUF files (pull_hf.c).
 *
 * A registry pull: GET the manifest (docker v2 media type, size-capped,
 * validated), then every blob it names into ROOT/blobs/sha256-<hex>-partial
 * (resumable, hashed while streaming), then the install: rename the blobs
 * into place and write the manifest last. Anything that fails before the
 * manifest is written leaves no model in `list`. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "store/fetch.h"
#include "store/pull_internal.h"

ccai_code pull_report(const store_pull_opts *o, const char *status, ccai_err *err)
{
    store_progress p = {.status = status};
    if (o->progress && !o->progress(o->arg, &p))
        return ccai_fail(err, CCAI_ERR_IO, "pull cancelled");
    return CCAI_OK;
}

ccai_code pull_expected_hex(const char *in, char out[65], ccai_err *err)
{
    size_t n = in ? strlen(in) : 0;
    if (n == 71 && strncmp(in, "sha256:", 7) == 0) {
        in += 7;
        n = 64;
    }
    if (n != 64)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "--sha256: expected 64 hex digits, found %zu characters", n);
    for (size_t i = 0; i < 64; i++) {
        if (!isxdigit((unsigned char)in[i]))
            return ccai_fail(err, CCAI_ERR_ARG, "--sha256: '%c' at %zu is not a hex digit", in[i],
                             i);
        out[i] = (char)tolower((unsigned char)in[i]);
    }
    out[64] = 0;
    return CCAI_OK;
}

/* The registry's base URL without a trailing '/'; the caller frees. */
static char *registry_base(const store_pull_opts *o, const store_name *n)
{
    const char *r = o->registry;
    if (!r || !*r)
        r = getenv("CCAI_REGISTRY");
    char *b = r && *r ? ccai_xstrdup(r)
              : strcasecmp(n->host, STORE_DEFAULT_HOST) == 0
                  ? ccai_xstrdup(STORE_DEFAULT_REGISTRY)
                  : ccai_xasprintf("https://%s", n->host);
    size_t len = strlen(b);
    while (len > 0 && b[len - 1] == '/')
        b[--len] = 0;
    return b;
}

/* The manifest's Content-Type, when the registry sends one, must be a
 * manifest's (or plain JSON): an HTML error page is not a manifest. */
static ccai_code check_content_type(const char *ct, ccai_err *err)
{
    if (!ct)
        return CCAI_OK;
    size_t n = strcspn(ct, "; ");
    static const char *const ok[] = {STORE_MT_MANIFEST, STORE_MT_OCI_MANIFEST, "application/json"};
    for (size_t i = 0; i < 3; i++)
        if (strlen(ok[i]) == n && strncasecmp(ct, ok[i], n) == 0)
            return CCAI_OK;
    return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                     "manifest: the registry answered Content-Type '%.100s', expected %s", ct,
                     STORE_MT_MANIFEST);
}

static ccai_code get_manifest(const char *base, const store_name *n, uint8_t **text, size_t *len,
                              store_manifest *man, ccai_err *err)
{
    char *url = ccai_xasprintf("%s/v2/%s/%s/manifests/%s", base, n->ns, n->model, n->tag);
    long status = 0;
    char *ct = NULL;
    ccai_code rc =
        store_http_get(url, STORE_MT_MANIFEST, STORE_MAX_MANIFEST, text, len, &status, &ct, err);
    char shown[600];
    store_name_format(n, shown, sizeof shown);
    if (!rc && status == 404)
        rc = ccai_fail(err, CCAI_ERR_NOT_FOUND,
                       "model '%s' not found in the registry %s (GET %s: "
                       "HTTP 404)",
                       shown, base, url);
    else if (!rc && status != 200)
        rc = ccai_fail(err, CCAI_ERR_NET, "GET %s: HTTP %ld", url, status);
    if (!rc)
        rc = check_content_type(ct, err);
    if (!rc)
        rc = store_manifest_parse((const char *)*text, *len, man, err);
    if (rc) {
        free(*text);
        *text = NULL;
    }
    free(ct);
    free(url);
    return rc;
}

/* True when the blob is already in place with the right size and digest. */
static bool have_blob(const char *path, const store_layer *l)
{
    struct stat st;
    if (stat(path, &st) != 0 || (uint64_t)st.st_size != l->size)
        return false;
    uint8_t h[32];
    char hex[65];
    if (ccai_sha256_file(path, h, NULL) != CCAI_OK)
        return false;
    ccai_hex_encode(h, 32, hex);
    return strcmp(hex, l->digest + 7) == 0;
}

/* The file at path begins like a GGUF file. */
static ccai_code check_gguf(const char *path, const char *what, ccai_err *err)
{
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    size_t n = f ? fread(magic, 1, 4, f) : 0;
    if (f)
        fclose(f);
    if (n == 4 && memcmp(magic, "GGUF", 4) == 0)
        return CCAI_OK;
    unlink(path);
    return ccai_fail(err, CCAI_ERR_PARSE, "%s is not a GGUF file (no 'GGUF' magic); removed it",
                     what);
}

/* The manifest this name has in the ccai store now, if any. */
static bool installed_manifest(const store *st, const store_name *n, store_manifest *out)
{
    char *p =
        ccai_xasprintf("%s/manifests/%s/%s/%s/%s", st->root, n->host, n->ns, n->model, n->tag);
    uint8_t *text = NULL;
    size_t len = 0;
    bool ok = ccai_read_file(p, STORE_MAX_MANIFEST, &text, &len, NULL) == CCAI_OK &&
              store_manifest_parse((const char *)text, len, out, NULL) == CCAI_OK;
    free(text);
    free(p);
    return ok;
}

static bool references(const store_manifest *m, const char *digest)
{
    if (strcmp(m->config.digest, digest) == 0)
        return true;
    for (size_t i = 0; i < m->n_layers; i++)
        if (strcmp(m->layers[i].digest, digest) == 0)
            return true;
    return false;
}

/* Downloads one layer unless it is in place; *partial gets the file to
 * install (NULL when nothing is to be renamed). A blob already in the store
 * is reused only when this name's installed manifest names it too (a
 * re-pull of an unchanged model): a new model's blobs all come from the
 * registry and are verified, so a registry that serves bad bytes for a
 * model is caught even when another model shares the digest. */
static ccai_code fetch_layer(const store *st, const char *base, const store_name *n,
                             const store_layer *l, const store_manifest *old,
                             const store_pull_opts *o, char **partial, ccai_err *err)
{
    *partial = NULL;
    char *dst = store_blob_path(st->root, l->digest);
    if (old && references(old, l->digest) && have_blob(dst, l)) {
        free(dst);
        return CCAI_OK;
    }
    char *bdir = ccai_xasprintf("%s/blobs", st->root);
    ccai_code rc = ccai_mkdir_p(bdir, 0755, err);
    free(bdir);
    char *url = ccai_xasprintf("%s/v2/%s/%s/blobs/%s", base, n->ns, n->model, l->digest);
    char *part = ccai_xasprintf("%s-partial", dst);
    store_fetch f = {.url = url,
                     .partial = part,
                     .digest = l->digest,
                     .size = l->size,
                     .has_size = true,
                     .retries = o->retries < 0 ? 3 : o->retries,
                     .progress = o->progress,
                     .arg = o->arg};
    uint8_t sha[32];
    uint64_t got;
    if (!rc)
        rc = store_fetch_blob(&f, sha, &got, err);
    if (!rc && strcmp(l->media_type, STORE_MT_MODEL) == 0)
        rc = check_gguf(part, l->digest, err);
    if (!rc)
        *partial = part;
    else
        free(part);
    free(url);
    free(dst);
    return rc;
}

static ccai_code pull_registry(const store *st, const store_name *n, const store_pull_opts *o,
                               ccai_err *err)
{
    char *base = registry_base(o, n);
    uint8_t *text = NULL;
    size_t len = 0;
    store_manifest man, *old = ccai_xmalloc(sizeof *old);
    char *partials[1 + STORE_MAX_LAYERS] = {0};
    if (!installed_manifest(st, n, old)) {
        free(old);
        old = NULL;
    }
    ccai_code rc = pull_report(o, "pulling manifest", err);
    if (!rc)
        rc = get_manifest(base, n, &text, &len, &man, err);
    for (size_t i = 0; !rc && i <= man.n_layers; i++) {
        const store_layer *l = i == 0 ? &man.config : &man.layers[i - 1];
        bool dup = false; /* a blob named twice is fetched once */
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp((j == 0 ? &man.config : &man.layers[j - 1])->digest, l->digest) == 0;
        if (!dup)
            rc = fetch_layer(st, base, n, l, old, o, &partials[i], err);
    }
    if (!rc)
        rc = pull_report(o, "verifying sha256 digest", err);
    if (!rc)
        rc = pull_report(o, "writing manifest", err);
    if (!rc)
        rc = store_install(st, n, (const char *)text, len, &man, partials, err);
    if (!rc)
        rc = pull_report(o, "success", err);
    /* A registry that served bad bytes: drop this pull's other downloads
     * too, so the next pull starts clean. After a cut they stay: resumable. */
    for (size_t i = 0; i <= STORE_MAX_LAYERS; i++) {
        if (rc == CCAI_ERR_VERIFY && partials[i])
            unlink(partials[i]);
        free(partials[i]);
    }
    free(old);
    free(text);
    free(base);
    return rc;
}

/* ---- single files (Hugging Face, direct URLs) -------------------------------------------- */

ccai_code pull_single(const store *st, const store_name *n, const char *url, const char *want_hex,
                      uint64_t size, bool has_size, const store_pull_opts *o, ccai_err *err)
{
    char *bdir = ccai_xasprintf("%s/blobs", st->root);
    ccai_code rc = ccai_mkdir_p(bdir, 0755, err);
    char *digest = want_hex ? ccai_xasprintf("sha256:%s", want_hex) : NULL;
    /* Unknown digest: the partial is named after the URL, so a cut resumes. */
    uint8_t uh[32];
    char uhex[65];
    ccai_sha256(url, strlen(url), uh);
    ccai_hex_encode(uh, 32, uhex);
    char *part = want_hex ? ccai_xasprintf("%s/sha256-%s-partial", bdir, want_hex)
                          : ccai_xasprintf("%s/url-%s-partial", bdir, uhex);
    store_fetch f = {.url = url,
                     .partial = part,
                     .digest = digest,
                     .size = size,
                     .has_size = has_size,
                     .retries = o->retries < 0 ? 3 : o->retries,
                     .progress = o->progress,
                     .arg = o->arg};
    uint8_t sha[32];
    uint64_t got = 0;
    if (!rc)
        rc = store_fetch_blob(&f, sha, &got, err);
    if (!rc)
        rc = check_gguf(part, url, err);
    store_layer model = {.media_type = STORE_MT_MODEL, .size = got},
                config = {.media_type = STORE_MT_CONFIG};
    char *cpart = NULL, *man_text = NULL;
    if (!rc) {
        char hex[65];
        ccai_hex_encode(sha, 32, hex);
        snprintf(model.digest, sizeof model.digest, "sha256:%s", hex);
        json_t *cj = json_pack("{s:s, s:s}", "model_format", "gguf", "source", url);
        char *ctext = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(cj);
        ccai_sha256(ctext, strlen(ctext), uh);
        ccai_hex_encode(uh, 32, hex);
        snprintf(config.digest, sizeof config.digest, "sha256:%s", hex);
        config.size = strlen(ctext);
        cpart = ccai_xasprintf("%s/sha256-%s-partial", bdir, hex);
        rc = ccai_write_file_atomic(cpart, ctext, strlen(ctext), 0644, err);
        free(ctext);
    }
    store_manifest man;
    if (!rc) {
        man_text = store_manifest_synth(&config, &model);
        rc = store_manifest_parse(man_text, strlen(man_text), &man, err);
    }
    if (!rc)
        rc = pull_report(o, "verifying sha256 digest", err);
    if (!rc)
        rc = pull_report(o, "writing manifest", err);
    if (!rc) {
        char *parts[2] = {cpart, part};
        rc = store_install(st, n, man_text, strlen(man_text), &man, parts, err);
    }
    if (!rc)
        rc = pull_report(o, "success", err);
    if (rc && cpart)
        unlink(cpart);
    free(man_text);
    free(cpart);
    free(part);
    free(digest);
    free(bdir);
    return rc;
}

ccai_code store_pull(const store *st, const char *what, const store_pull_opts *o, char **name,
                     ccai_err *err)
{
    store_pull_opts dflt = {.retries = -1};
    if (!o)
        o = &dflt;
    store_name n;
    ccai_code rc;
    if (!strncasecmp(what, "http://", 7) || !strncasecmp(what, "https://", 8)) {
        rc = pull_url(st, what, o, &n, err);
    } else {
        if ((rc = store_name_parse(what, &n, err)))
            return rc;
        if (!strcasecmp(n.host, "hf.co") || !strcasecmp(n.host, "huggingface.co"))
            rc = pull_hf(st, &n, o, err);
        else if (o->sha256)
            rc =
                ccai_fail(err, CCAI_ERR_ARG,
                          "--sha256 is for hf.co and URL pulls (registry manifests carry digests)");
        else
            rc = pull_registry(st, &n, o, err);
    }
    if (!rc && name) {
        char shown[600];
        store_name_format(&n, shown, sizeof shown);
        *name = ccai_xstrdup(shown);
    }
    return rc;
}
