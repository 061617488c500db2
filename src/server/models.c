/* The model registry of `ccai serve` (server.h "models.c"): which GGUF files
 * the server offers, under which Ollama-style names, with which identity.
 *
 * A model's identity is the SHA-256 of its file (blueprint "Measured
 * launch"). ccai_models_add opens the file once, reads its GGUF header (so a
 * file that is not a model is refused before many GiB are hashed), hashes it
 * and keeps the descriptor. ccai_models_load measures the model into RTMR3
 * (event ccai.model {name, sha256, size}) and only then lets the engine map
 * it -- through /proc/self/fd/N, so the engine reads the very file that was
 * hashed even if the path has been renamed over meanwhile. A file modified
 * in place since it was hashed (size or mtime differ) is refused.
 *
 * Adds happen at start-up, and on the loop thread while serving (a model
 * pulled through /api/pull): models[] has a fixed capacity, so it never
 * moves. Loads may happen at any time and take s->lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/mem.h"
#include "llm/ggml_types.h"
#include "llm/gguf.h"
#include "server/server.h"
#include "tee/eventlog.h"

/* ---- details for /api/tags ------------------------------------------------------ */

/* A parameter count as Ollama prints it: "260K", "494.03M", "1.8B", "7B". */
static char *human_number(uint64_t n)
{
    const double b = 1e9, m = 1e6;
    double v;
    if (n >= 1000000000u) {
        v = (double)n / b;
        return v == (double)(uint64_t)v ? ccai_xasprintf("%.0fB", v) : ccai_xasprintf("%.1fB", v);
    }
    if (n >= 1000000u) {
        v = (double)n / m;
        return v == (double)(uint64_t)v ? ccai_xasprintf("%.0fM", v) : ccai_xasprintf("%.2fM", v);
    }
    if (n >= 1000u)
        return ccai_xasprintf("%.0fK", (double)n / 1e3);
    return ccai_xasprintf("%llu", (unsigned long long)n);
}

/* general.file_type in llama.cpp's numbering (llama_ftype; see
 * llm_mkmodel_file_type) to the name Ollama shows. */
static const char *file_type_name(uint32_t ft)
{
    static const struct {
        uint32_t id;
        const char *name;
    } names[] = {
        {0, "F32"},      {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
        {8, "Q5_0"},     {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
        {13, "Q3_K_L"},  {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
        {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"},
        {23, "IQ3_XXS"}, {24, "IQ1_S"},  {25, "IQ4_NL"}, {26, "IQ3_S"},  {27, "IQ3_M"},
        {28, "IQ2_S"},   {29, "IQ2_M"},  {30, "IQ4_XS"}, {31, "IQ1_M"},  {32, "BF16"},
        {36, "TQ1_0"},   {37, "TQ2_0"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].id == ft)
            return names[i].name;
    return NULL;
}

/* Without general.file_type: the type holding most of the matrices' bytes. */
static const char *dominant_type(const gguf_file *f)
{
    uint32_t best = UINT32_MAX;
    uint64_t best_bytes = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (t->n_dims < 2)
            continue;
        uint64_t bytes = 0;
        for (uint64_t j = 0; j < f->n_tensors; j++)
            if (f->tensors[j].type == t->type && f->tensors[j].n_dims >= 2)
                bytes += f->tensors[j].size;
        if (bytes > best_bytes) {
            best_bytes = bytes;
            best = t->type;
        }
    }
    return best == UINT32_MAX ? "unknown" : ggml_type_name(best);
}

void ccai_model_read_details(ccai_model *m, const gguf_file *f)
{
    gguf_str arch;
    m->family = gguf_get_str(f, "general.architecture", &arch, NULL) == CCAI_OK
                    ? gguf_strdup(arch)
                    : ccai_xstrdup("unknown");
    uint64_t params = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        params += f->tensors[i].n_elements;
    m->parameter_size = human_number(params);
    uint32_t ft;
    const char *q = NULL;
    if (gguf_get_u32(f, "general.file_type", &ft, NULL) == CCAI_OK)
        q = file_type_name(ft);
    m->quantization = ccai_xstrdup(q ? q : dominant_type(f));
}

/* ---- names ------------------------------------------------------------------------ */

/* name without its tag equals want (which has none). */
static bool stem_equals(const char *name, const char *want)
{
    const char *colon = strchr(name, ':');
    size_t n = colon ? (size_t)(colon - name) : strlen(name);
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

ccai_model *ccai_models_find(ccai_server *s, const char *name)
{
    if (!name || !*name)
        return NULL;
    for (size_t i = 0; i < s->n_models; i++)
        if (strcasecmp(s->models[i].name, name) == 0)
            return &s->models[i];
    if (!strchr(name, ':') && !strchr(name, '/'))
        for (size_t i = 0; i < s->n_models; i++)
            if (stem_equals(s->models[i].name, name) && strstr(s->models[i].name, ":latest"))
                return &s->models[i];
    for (size_t i = 0; i < s->n_models; i++)
        if (strcmp(s->models[i].path, name) == 0)
            return &s->models[i];
    return NULL;
}

/* ---- adding ----------------------------------------------------------------------- */

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Errors from code that was given /proc/self/fd/N name the real path instead. */
static void name_real_path(ccai_err *err, const char *fdpath, const char *path)
{
    if (!err)
        return;
    size_t n = strlen(fdpath);
    if (strncmp(err->msg, fdpath, n) == 0) {
        char tail[sizeof err->msg];
        snprintf(tail, sizeof tail, "%s", err->msg + n);
        snprintf(err->msg, sizeof err->msg, "%s%s", path, tail);
    } else {
        ccai_err_prefix(err, "model %s", path);
    }
}

/* Opens, reads the details and hashes (s NULL: no name check; any thread).
 * With expected (a store manifest's digest) the hashing waits for the first
 * load. */
static ccai_code model_open(ccai_server *s, const char *path, const char *name,
                            const uint8_t *expected, ccai_model *out, ccai_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ccai_fail(err, CCAI_ERR_IO, "model %s: %s", path, strerror(errno));
    struct stat st, after;
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
    gguf_file *f = NULL;
    ccai_model m = {0};
    ccai_code rc;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = ccai_fail(err, CCAI_ERR_ARG, "model %s: expected a regular GGUF file", path);
        goto fail;
    }
    /* The header first: a file that is not a model costs no hashing. */
    if ((rc = gguf_open(fdpath, &f, err))) {
        name_real_path(err, fdpath, path);
        goto fail;
    }
    m.name = name ? ccai_xstrdup(name) : ccai_model_name_from_path(path);
    if (s && ccai_models_find(s, m.name)) {
        rc = ccai_fail(err, CCAI_ERR_ARG,
                       "model %s: the name %s is taken by another --model (rename the file)",
                       path, m.name);
        goto fail;
    }
    ccai_model_read_details(&m, f);
    gguf_close(f);
    f = NULL;
    if (expected) {
        memcpy(m.sha256, expected, 32);
    } else if ((rc = ccai_sha256_file(fdpath, m.sha256, err))) {
        name_real_path(err, fdpath, path);
        goto fail;
    }
    if (fstat(fd, &after) != 0 || after.st_size != st.st_size || mtime_ns(&after) != mtime_ns(&st)) {
        rc = ccai_fail(err, CCAI_ERR_STATE, "model %s: the file changed while it was hashed", path);
        goto fail;
    }
    m.path = ccai_xstrdup(path);
    m.size = (uint64_t)st.st_size;
    m.modified = st.st_mtim.tv_sec;
    m.mtime_ns = mtime_ns(&st);
    m.fd = fd;
    m.hashed = !expected;
    *out = m;
    return CCAI_OK;
fail:
    gguf_close(f);
    free(m.name);
    free(m.family);
    free(m.parameter_size);
    free(m.quantization);
    close(fd);
    return rc;
}

ccai_code ccai_model_open(const char *path, const char *name, ccai_model *out, ccai_err *err)
{
    return model_open(NULL, path, name, NULL, out, err);
}

/* models[] is allocated once at its full capacity, so a model registered
 * while serving (loop thread) never moves the ones workers point to. */
ccai_code ccai_models_insert(ccai_server *s, ccai_model *m, ccai_err *err)
{
    if (ccai_models_find(s, m->name))
        return ccai_fail(err, CCAI_ERR_ARG, "model %s: the name is already served", m->name);
    if (s->n_models == CCAI_MODELS_MAX)
        return ccai_fail(err, CCAI_ERR_ARG, "model %s: this server serves at most %d models",
                         m->name, CCAI_MODELS_MAX);
    if (!s->models)
        s->models = ccai_xcalloc(CCAI_MODELS_MAX, sizeof *s->models);
    s->models[s->n_models++] = *m;
    memset(m, 0, sizeof *m);
    m->fd = -1;
    return CCAI_OK;
}

ccai_code ccai_models_add_named(ccai_server *s, const char *path, const char *name, ccai_err *err)
{
    ccai_model m;
    ccai_code rc = model_open(s, path, name, NULL, &m, err);
    if (!rc && (rc = ccai_models_insert(s, &m, err)))
        ccai_model_release(&m);
    return rc;
}

ccai_code ccai_models_add_lazy(ccai_server *s, const char *path, const char *name,
                               const uint8_t manifest_sha256[32], ccai_err *err)
{
    ccai_model m;
    ccai_code rc = model_open(s, path, name, manifest_sha256, &m, err);
    if (!rc && (rc = ccai_models_insert(s, &m, err)))
        ccai_model_release(&m);
    return rc;
}

/* A lazily offered model's file must have the digest its manifest claims:
 * hashed here, under s->lock, before it is measured or mapped. */
static ccai_code hash_on_first_use(ccai_model *m, ccai_err *err)
{
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", m->fd);
    uint8_t h[32];
    ccai_code rc = ccai_sha256_file(fdpath, h, err);
    if (rc) {
        name_real_path(err, fdpath, m->path);
        return rc;
    }
    if (memcmp(h, m->sha256, 32) != 0) {
        char want[65], got[65];
        ccai_hex_encode(m->sha256, 32, want);
        ccai_hex_encode(h, 32, got);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "model %s: the file %s has SHA-256 %s, its manifest says %s; "
                         "refusing to load it",
                         m->name, m->path, got, want);
    }
    m->hashed = true;
    return CCAI_OK;
}

ccai_code ccai_models_add(ccai_server *s, const char *path, ccai_err *err)
{
    return ccai_models_add_named(s, path, NULL, err);
}

/* ---- loading ---------------------------------------------------------------------- */

static ccai_code load_locked(ccai_server *s, ccai_model *m, ccai_err *err)
{
    if (m->engine)
        return CCAI_OK;
    if (!s->tee)
        return ccai_fail(err, CCAI_ERR_STATE,
                         "model %s: no TEE provider to measure it into (nothing loads unmeasured)",
                         m->name);
    struct stat st;
    if (fstat(m->fd, &st) != 0 || (uint64_t)st.st_size != m->size || mtime_ns(&st) != m->mtime_ns)
        return ccai_fail(err, CCAI_ERR_STATE,
                         "model %s: the file %s changed after it was hashed (size or mtime); "
                         "restart ccai serve to measure it again",
                         m->name, m->path);
    if (!m->hashed) {
        ccai_code rc = hash_on_first_use(m, err);
        if (rc)
            return rc;
    }
    if (!m->measured) {
        json_t *data = ccai_launch_model_data(m->name, m->sha256, m->size);
        ccai_code rc = tee_measure(s->tee, "ccai.model", data, NULL, err);
        json_decref(data);
        if (rc) {
            ccai_err_prefix(err, "measuring model %s", m->name);
            return rc;
        }
        m->measured = true;
    }
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", m->fd);
    const ccai_server_config *c = s->cfg;
    llm_engine_opts o = {.n_threads = c ? c->threads : 0, .kernels = c ? c->kernels : NULL};
    ccai_code rc = llm_engine_open(fdpath, &o, &m->engine, err);
    if (rc) {
        name_real_path(err, fdpath, m->path);
        return rc;
    }
    /* Without general.name the engine named the model after "N" of the fd path. */
    const char *fdname = strrchr(fdpath, '/') + 1;
    if (strcmp(m->engine->name, fdname) == 0) {
        free(m->engine->name);
        m->engine->name = ccai_xstrndup(m->name, strcspn(m->name, ":"));
    }
    return CCAI_OK;
}

ccai_code ccai_models_load(ccai_server *s, ccai_model *m, ccai_err *err)
{
    pthread_mutex_lock(&s->lock);
    ccai_code rc = load_locked(s, m, err);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void ccai_model_release(ccai_model *m)
{
    llm_engine_free(m->engine);
    free(m->name);
    free(m->path);
    free(m->family);
    free(m->parameter_size);
    free(m->quantization);
    if (m->fd >= 0)
        close(m->fd);
    memset(m, 0, sizeof *m);
    m->fd = -1;
}

void ccai_models_free(ccai_server *s)
{
    for (size_t i = 0; i < s->n_models; i++)
        ccai_model_release(&s->models[i]);
    free(s->models);
    s->models = NULL;
    s->n_models = 0;
}
