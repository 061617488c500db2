/* The model store (docs/store.md): models named the way Ollama names them
 * ("deepseek-r1:1.5b", "user/model:tag", "host/ns/model:tag",
 * "hf.co/ORG/REPO:QUANT"), kept in Ollama's on-disk layout (llm-facts §4):
 *
 *   ROOT/manifests/<host>/<namespace>/<model>/<tag>   the manifest (JSON)
 *   ROOT/blobs/sha256-<hex>                           content-addressed blobs
 *
 * ROOT is $CCAI_MODELS, else $CCAI_STATE_DIR/models, else ~/.ccai/models.
 * An Ollama store ($OLLAMA_MODELS, else ~/.ollama/models) is read too, but
 * never written: models Ollama pulled list and serve without copying.
 *
 * Stages, each testable alone: names (name.c: parse and print, the only
 * place a name becomes a path), manifests (manifest.c: bytes -> struct,
 * bounded and validated), the store on disk (store.c: list, find, remove,
 * install), downloads (fetch.c: one blob over HTTP(S) with Range resume and
 * SHA-256 while streaming) and pulls (pull.c, pull_hf.c: registry, Hugging
 * Face and direct URLs -> a verified, atomically installed model).
 *
 * Nothing from the network is trusted: names and digests are validated
 * before they touch a path, manifests are size-limited and checked, and a
 * blob is installed only when its SHA-256 and size match. A model appears in
 * the store only when its manifest is written, which is the last step. */
#ifndef CCAI_STORE_STORE_H
#define CCAI_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

#define STORE_DEFAULT_HOST "registry.ollama.ai"
#define STORE_DEFAULT_NS "library"
#define STORE_DEFAULT_TAG "latest"
#define STORE_DEFAULT_REGISTRY "https://registry.ollama.ai"
#define STORE_DEFAULT_HF "https://huggingface.co"

#define STORE_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define STORE_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define STORE_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define STORE_MT_MODEL "application/vnd.ollama.image.model"
#define STORE_MT_TEMPLATE "application/vnd.ollama.image.template"
#define STORE_MT_PARAMS "application/vnd.ollama.image.params"
#define STORE_MT_LICENSE "application/vnd.ollama.image.license"
#define STORE_MT_SYSTEM "application/vnd.ollama.image.system"

enum {
    STORE_MAX_MANIFEST = 1 << 20, /* bytes: real manifests are under 2 KiB */
    STORE_MAX_LAYERS = 64,
    STORE_MAX_SMALL_BLOB = 1 << 20, /* template, params, license, system: read whole */
};

/* ---- names (name.c) -------------------------------------------------------------- */

typedef struct store_name {
    char host[254]; /* "registry.ollama.ai", "hf.co", "127.0.0.1:5000" */
    char ns[81];    /* "library", "user", the Hugging Face organisation */
    char model[129];
    char tag[129];
} store_name;

/* Parses "model[:tag]", "ns/model[:tag]" or "host/ns/model[:tag]" with the
 * defaults above. Every component is checked against a conservative
 * alphabet (no "..", no '/', no leading '.' or '-'), so it is safe as a path
 * component. CCAI_ERR_ARG names the offending part. */
ccai_code store_name_parse(const char *s, store_name *out, ccai_err *err);
/* The short form Ollama prints: "model:tag" for the default host and
 * namespace, "ns/model:tag" for the default host, else "host/ns/model:tag". */
void store_name_format(const store_name *n, char *out, size_t cap);
/* Case-insensitive equality of all four parts (Ollama's names are). */
bool store_name_equal(const store_name *a, const store_name *b);
/* "sha256:<64 lower-case hex>" -> the 64 hex digits and a NUL in hex[65]. */
ccai_code store_digest_parse(const char *digest, char hex[65], ccai_err *err);
/* True for the file name of a complete blob: "sha256-<64 lower-case hex>". */
bool store_is_blob_file(const char *fname);

/* ---- manifests (manifest.c) ------------------------------------------------------- */

typedef struct store_layer {
    char media_type[128];
    char digest[72]; /* "sha256:<hex>", validated */
    uint64_t size;
} store_layer;

typedef struct store_manifest {
    store_layer config;
    store_layer layers[STORE_MAX_LAYERS];
    size_t n_layers;
    int model; /* index of the application/vnd.ollama.image.model layer */
} store_manifest;

/* Parses and validates a manifest: schemaVersion 2, the docker v2 or OCI
 * media type when one is given, digests "sha256:<hex>", sizes that are
 * non-negative integers, exactly one model layer, at most STORE_MAX_LAYERS
 * layers, at most STORE_MAX_MANIFEST bytes. */
ccai_code store_manifest_parse(const char *text, size_t len, store_manifest *out, ccai_err *err);
/* A manifest for one GGUF blob and a config blob (Hugging Face and direct
 * URLs are stored this way); the caller frees the text. */
char *store_manifest_synth(const store_layer *config, const store_layer *model);
/* The layer of a media type, or NULL. */
const store_layer *store_manifest_find(const store_manifest *m, const char *media_type);
/* Sum of the config's and the layers' sizes (what `list` shows). */
uint64_t store_manifest_size(const store_manifest *m);

/* ---- the store on disk (store.c) ---------------------------------------------------- */

typedef struct store {
    char *root;   /* the writable ccai store */
    char *ollama; /* an Ollama store, read only; NULL when absent */
} store;

/* root NULL: $CCAI_MODELS, $CCAI_STATE_DIR/models, ~/.ccai/models. The
 * Ollama store comes from $OLLAMA_MODELS or ~/.ollama/models when it
 * exists. Creates nothing; free with store_close. */
ccai_code store_open(const char *root, store **out, ccai_err *err);
void store_close(store *st);

typedef struct store_entry {
    store_name ref;
    char name[600];      /* store_name_format */
    const char *root;    /* the store it is in (borrowed from the store) */
    bool readonly;       /* in the Ollama store */
    char *manifest_path; /* owned */
    time_t modified;     /* the manifest's mtime */
    store_manifest man;  /* valid when error is NULL */
    char *error;         /* a manifest that does not parse: why (owned) */
} store_entry;

/* Every model of both stores, sorted by name; a name in the ccai store hides
 * the same name in the Ollama store. Free with store_entries_free. */
ccai_code store_list(const store *st, store_entry **out, size_t *n, ccai_err *err);
void store_entries_free(store_entry *e, size_t n);
/* One model by name (ccai store first). NOT_FOUND names the model; a
 * manifest that does not parse is CCAI_ERR_PARSE. Free with store_entry_free. */
ccai_code store_find(const store *st, const char *name, store_entry *out, ccai_err *err);
void store_entry_free(store_entry *e);
/* ROOT/blobs/sha256-<hex> of a validated digest; the caller frees. */
char *store_blob_path(const char *root, const char *digest);
/* The GGUF of an entry, checked to exist with the manifest's size; the
 * caller frees *path. */
ccai_code store_model_path(const store_entry *e, char **path, ccai_err *err);
/* A small text layer (template, params, license, system) as a fresh
 * NUL-terminated string; NULL when the manifest has none or it is unreadable. */
char *store_read_layer(const store_entry *e, const char *media_type);
/* Removes a model's manifest from the ccai store and every blob no other
 * manifest there references. A model only in the Ollama store is refused
 * (CCAI_ERR_ARG): ccai never writes there. */
ccai_code store_remove(const store *st, const char *name, ccai_err *err);

/* Install (pull.c uses these; under ROOT/.lock). Renames each partial into
 * its blob (fsync'd first), then writes the manifest atomically: readers see
 * the model complete or not at all. partials[i] may be NULL for a blob that
 * is already in place (it must still exist). */
ccai_code store_install(const store *st, const store_name *n, const char *manifest,
                        size_t manifest_len, const store_manifest *man, char *const *partials,
                        ccai_err *err);

/* ---- pulls (pull.c) ------------------------------------------------------------------- */

/* What a pull reports, in Ollama's /api/pull vocabulary (llm-facts §4). */
typedef struct store_progress {
    const char *status; /* "pulling manifest", "pulling <hex12>", "verifying sha256 digest",
                           "writing manifest", "success" */
    const char *digest; /* "sha256:<hex>" while a blob downloads, else NULL */
    uint64_t total, completed;
} store_progress;

/* Called often while a blob downloads; returning false cancels the pull. */
typedef bool (*store_progress_fn)(void *arg, const store_progress *p);

typedef struct store_pull_opts {
    const char *registry;    /* base URL; NULL: $CCAI_REGISTRY, else STORE_DEFAULT_REGISTRY */
    const char *hf_endpoint; /* NULL: $CCAI_HF_ENDPOINT, else STORE_DEFAULT_HF */
    const char *sha256;      /* hf.co and direct URLs: the expected hex digest, or NULL */
    const char *name;        /* direct URLs: the name to store it under; NULL: file stem */
    int retries;             /* reconnects (with Range) per blob after a cut; < 0: 3 */
    store_progress_fn progress;
    void *arg;
} store_pull_opts;

/* Pulls what (a name, "hf.co/ORG/REPO[:QUANT]" or an http(s) URL of a .gguf
 * file) into the writable store and returns the installed name in *name
 * (caller frees; may be NULL). A blob whose SHA-256 differs from the
 * expected one is CCAI_ERR_VERIFY naming both digests; its partial file is
 * removed and nothing is installed. A cut download keeps its partial file
 * (ROOT/blobs/sha256-<hex>-partial) so the next pull resumes it. */
ccai_code store_pull(const store *st, const char *what, const store_pull_opts *o, char **name,
                     ccai_err *err);

#endif
