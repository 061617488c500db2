/* The store on disk (store.h "the store on disk"): where the stores are,
 * listing and finding models, removing them with their unreferenced blobs,
 * and the install step that makes a pulled model visible.
 *
 * Invariants: the manifest is written last (atomically), so a model in the
 * listing always has its blobs; removal and install both hold ROOT/.lock so
 * the blob collector never deletes a blob an install is about to reference;
 * the Ollama store is only ever read. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "store/store.h"

/* ---- where ---------------------------------------------------------------------------- */

static char *env_dir(const char *var, const char *suffix)
{
    const char *v = getenv(var);
    return v && *v ? ccai_xasprintf("%s%s", v, suffix) : NULL;
}

ccai_code store_open(const char *root, store **out, ccai_err *err)
{
    char *r = root ? ccai_xstrdup(root) : env_dir("CCAI_MODELS", "");
    if (!r)
        r = env_dir("CCAI_STATE_DIR", "/models");
    if (!r)
        r = env_dir("HOME", "/.ccai/models");
    if (!r)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "no model store: set $CCAI_MODELS or $HOME (want a directory)");
    char *ol = env_dir("OLLAMA_MODELS", "");
    if (!ol)
        ol = env_dir("HOME", "/.ollama/models");
    struct stat a, b;
    /* The Ollama store only when it exists and is not the ccai store itself. */
    if (ol && (stat(ol, &b) != 0 || !S_ISDIR(b.st_mode) ||
               (stat(r, &a) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino))) {
        free(ol);
        ol = NULL;
    }
    store *st = ccai_xcalloc(1, sizeof *st);
    st->root = r;
    st->ollama = ol;
    *out = st;
    return CCAI_OK;
}

void store_close(store *st)
{
    if (!st)
        return;
    free(st->root);
    free(st->ollama);
    free(st);
}

char *store_blob_path(const char *root, const char *digest)
{
    char hex[65];
    if (store_digest_parse(digest, hex, NULL))
        return NULL;
    return ccai_xasprintf("%s/blobs/sha256-%s", root, hex);
}

static char *manifest_path(const char *root, const store_name *n)
{
    return ccai_xasprintf("%s/manifests/%s/%s/%s/%s", root, n->host, n->ns, n->model, n->tag);
}

/* ---- reading entries ------------------------------------------------------------------- */

static ccai_code load_entry(const char *root, bool ro, const store_name *n, const char *path,
                            store_entry *e, ccai_err *err)
{
    memset(e, 0, sizeof *e);
    e->ref = *n;
    store_name_format(n, e->name, sizeof e->name);
    e->root = root;
    e->readonly = ro;
    e->manifest_path = ccai_xstrdup(path);
    struct stat st;
    if (stat(path, &st) != 0) {
        ccai_code rc = ccai_fail(err, errno == ENOENT ? CCAI_ERR_NOT_FOUND : CCAI_ERR_IO, "%s: %s",
                                 path, strerror(errno));
        store_entry_free(e);
        return rc;
    }
    e->modified = st.st_mtim.tv_sec;
    uint8_t *text = NULL;
    size_t len = 0;
    ccai_err le = {0};
    ccai_code rc = ccai_read_file(path, STORE_MAX_MANIFEST, &text, &len, &le);
    if (!rc)
        rc = store_manifest_parse((const char *)text, len, &e->man, &le);
    free(text);
    if (rc)
        e->error = ccai_xasprintf("%s: %s", path, le.msg);
    return CCAI_OK;
}

void store_entry_free(store_entry *e)
{
    if (!e)
        return;
    free(e->manifest_path);
    free(e->error);
    e->manifest_path = e->error = NULL;
}

void store_entries_free(store_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_entry_free(&e[i]);
    free(e);
}

typedef struct entry_list {
    store_entry *v;
    size_t n, cap;
} entry_list;

static bool listed(const entry_list *l, const store_name *n)
{
    for (size_t i = 0; i < l->n; i++)
        if (store_name_equal(&l->v[i].ref, n))
            return true;
    return false;
}

/* A leftover of ccai_write_file_atomic ("<tag>.tmp.XXXXXX") is no tag. */
static bool temp_name(const char *s)
{
    const char *t = strstr(s, ".tmp.");
    return t && strlen(t) == 11;
}

/* Names of the subdirectories (want_dir) or files of dir, valid as components. */
static char **dir_names(const char *dir, bool want_dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **v = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || temp_name(de->d_name))
            continue;
        char *p = ccai_xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        bool ok = lstat(p, &st) == 0 && (want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
        free(p);
        if (!ok)
            continue;
        v = ccai_xrealloc(v, (*n + 1) * sizeof *v);
        v[(*n)++] = ccai_xstrdup(de->d_name);
    }
    closedir(d);
    return v;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Adds every ROOT/manifests/HOST/NS/MODEL/TAG whose parts make a valid name. */
static void scan_root(const char *root, bool ro, entry_list *l)
{
    char *mdir = ccai_xasprintf("%s/manifests", root);
    size_t nh, nn, nm, nt;
    char **hosts = dir_names(mdir, true, &nh);
    for (size_t a = 0; a < nh; a++) {
        char *hd = ccai_xasprintf("%s/%s", mdir, hosts[a]);
        char **nss = dir_names(hd, true, &nn);
        for (size_t b = 0; b < nn; b++) {
            char *nd = ccai_xasprintf("%s/%s", hd, nss[b]);
            char **models = dir_names(nd, true, &nm);
            for (size_t c = 0; c < nm; c++) {
                char *md = ccai_xasprintf("%s/%s", nd, models[c]);
                char **tags = dir_names(md, false, &nt);
                for (size_t d = 0; d < nt; d++) {
                    char *full =
                        ccai_xasprintf("%s/%s/%s:%s", hosts[a], nss[b], models[c], tags[d]);
                    store_name n;
                    if (store_name_parse(full, &n, NULL) == CCAI_OK && !listed(l, &n)) {
                        char *path = ccai_xasprintf("%s/%s", md, tags[d]);
                        if (l->n == l->cap) {
                            l->cap = l->cap ? 2 * l->cap : 16;
                            l->v = ccai_xrealloc(l->v, l->cap * sizeof *l->v);
                        }
                        if (load_entry(root, ro, &n, path, &l->v[l->n], NULL) == CCAI_OK)
                            l->n++;
                        free(path);
                    }
                    free(full);
                }
                free_names(tags, nt);
                free(md);
            }
            free_names(models, nm);
            free(nd);
        }
        free_names(nss, nn);
        free(hd);
    }
    free_names(hosts, nh);
    free(mdir);
}

static int by_name(const void *a, const void *b)
{
    return strcasecmp(((const store_entry *)a)->name, ((const store_entry *)b)->name);
}

ccai_code store_list(const store *st, store_entry **out, size_t *n, ccai_err *err)
{
    (void)err;
    entry_list l = {0};
    scan_root(st->root, false, &l);
    if (st->ollama)
        scan_root(st->ollama, true, &l);
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, by_name);
    *out = l.v;
    *n = l.n;
    return CCAI_OK;
}

/* The manifest path of name in root, matched case-insensitively like Ollama. */
static char *find_in(const char *root, const store_name *n)
{
    char *p = manifest_path(root, n);
    if (ccai_exists(p))
        return p;
    free(p);
    entry_list l = {0};
    scan_root(root, false, &l);
    char *found = NULL;
    for (size_t i = 0; i < l.n && !found; i++)
        if (store_name_equal(&l.v[i].ref, n))
            found = ccai_xstrdup(l.v[i].manifest_path);
    store_entries_free(l.v, l.n);
    return found;
}

ccai_code store_find(const store *st, const char *name, store_entry *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    store_name n;
    ccai_code rc = store_name_parse(name, &n, err);
    if (rc)
        return rc;
    const char *roots[2] = {st->root, st->ollama};
    for (int i = 0; i < 2; i++) {
        char *p = roots[i] ? find_in(roots[i], &n) : NULL;
        if (!p)
            continue;
        /* The name as the directories spell it. */
        const char *t = p + strlen(roots[i]) + strlen("/manifests/");
        char *full = ccai_xstrdup(t);
        char *slash = strrchr(full, '/');
        *slash = ':';
        store_name real;
        if (store_name_parse(full, &real, NULL) != CCAI_OK)
            real = n;
        free(full);
        rc = load_entry(roots[i], i == 1, &real, p, out, err);
        free(p);
        if (rc)
            return rc;
        if (out->error) {
            rc = ccai_fail(err, CCAI_ERR_PARSE, "%s", out->error);
            store_entry_free(out);
        }
        return rc;
    }
    char shown[600];
    store_name_format(&n, shown, sizeof shown);
    return ccai_fail(err, CCAI_ERR_NOT_FOUND, "model '%s' not found (see 'ccai list')", shown);
}

ccai_code store_model_path(const store_entry *e, char **path, ccai_err *err)
{
    const store_layer *l = &e->man.layers[e->man.model];
    char *p = store_blob_path(e->root, l->digest);
    struct stat st;
    if (!p || stat(p, &st) != 0) {
        ccai_code rc = ccai_fail(err, CCAI_ERR_NOT_FOUND, "model %s: its GGUF blob %s is missing",
                                 e->name, l->digest);
        free(p);
        return rc;
    }
    if ((uint64_t)st.st_size != l->size) {
        free(p);
        return ccai_fail(err, CCAI_ERR_STATE,
                         "model %s: blob %s is %lld bytes, its manifest says %llu", e->name,
                         l->digest, (long long)st.st_size, (unsigned long long)l->size);
    }
    *path = p;
    return CCAI_OK;
}

char *store_read_layer(const store_entry *e, const char *media_type)
{
    const store_layer *l = store_manifest_find(&e->man, media_type);
    if (!l || l->size > STORE_MAX_SMALL_BLOB)
        return NULL;
    char *p = store_blob_path(e->root, l->digest);
    uint8_t *data = NULL;
    size_t len;
    if (p && ccai_read_file(p, STORE_MAX_SMALL_BLOB, &data, &len, NULL) != CCAI_OK)
        data = NULL;
    free(p);
    return (char *)data;
}

/* ---- changing the store ----------------------------------------------------------------- */

static ccai_code lock_store(const store *st, int *fd, ccai_err *err)
{
    ccai_code rc = ccai_mkdir_p(st->root, 0755, err);
    if (rc)
        return rc;
    char *p = ccai_xasprintf("%s/.lock", st->root);
    rc = ccai_lock(p, fd, err);
    free(p);
    return rc;
}

/* Deletes every complete blob of root that no manifest there references. */
static void collect_blobs(const char *root)
{
    entry_list l = {0};
    scan_root(root, false, &l);
    char *bdir = ccai_xasprintf("%s/blobs", root);
    size_t nb;
    char **blobs = dir_names(bdir, false, &nb);
    for (size_t i = 0; i < nb; i++) {
        if (!store_is_blob_file(blobs[i]))
            continue; /* partial downloads and strangers stay */
        bool used = false;
        for (size_t j = 0; j < l.n && !used; j++) {
            /* An unparsable manifest might still name it: keep everything. */
            if (l.v[j].error) {
                used = true;
                break;
            }
            const store_manifest *m = &l.v[j].man;
            used = strcmp(m->config.digest + 7, blobs[i] + 7) == 0;
            for (size_t k = 0; k < m->n_layers && !used; k++)
                used = strcmp(m->layers[k].digest + 7, blobs[i] + 7) == 0;
        }
        if (!used) {
            char *p = ccai_xasprintf("%s/%s", bdir, blobs[i]);
            unlink(p);
            free(p);
        }
    }
    free_names(blobs, nb);
    free(bdir);
    store_entries_free(l.v, l.n);
}

/* Removes the empty directories above a removed manifest, up to manifests/. */
static void prune_dirs(const char *root, const char *path)
{
    char *p = ccai_xstrdup(path);
    size_t keep = strlen(root) + strlen("/manifests");
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(p, '/');
        if (!slash || (size_t)(slash - p) <= keep)
            break;
        *slash = 0;
        if (rmdir(p) != 0)
            break;
    }
    free(p);
}

ccai_code store_remove(const store *st, const char *name, ccai_err *err)
{
    store_name n;
    ccai_code rc = store_name_parse(name, &n, err);
    if (rc)
        return rc;
    int fd = -1;
    if ((rc = lock_store(st, &fd, err)))
        return rc;
    char *p = find_in(st->root, &n);
    char shown[600];
    store_name_format(&n, shown, sizeof shown);
    if (!p) {
        char *op = st->ollama ? find_in(st->ollama, &n) : NULL;
        if (op)
            rc = ccai_fail(err, CCAI_ERR_ARG,
                           "model '%s' is in the Ollama store %s, which ccai never modifies "
                           "(remove it with 'ollama rm')",
                           shown, st->ollama);
        else
            rc =
                ccai_fail(err, CCAI_ERR_NOT_FOUND, "model '%s' not found (see 'ccai list')", shown);
        free(op);
    } else if (unlink(p) != 0) {
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: %s", p, strerror(errno));
    } else {
        prune_dirs(st->root, p);
        collect_blobs(st->root);
    }
    free(p);
    ccai_unlock(fd);
    return rc;
}

static void sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

static ccai_code install_blob(const char *root, const char *digest, const char *partial,
                              ccai_err *err)
{
    char *dst = store_blob_path(root, digest);
    if (!dst)
        return ccai_fail(err, CCAI_ERR_PARSE, "bad digest '%.80s'", digest);
    ccai_code rc = CCAI_OK;
    if (partial) {
        if (rename(partial, dst) != 0)
            rc = ccai_fail(err, CCAI_ERR_IO, "rename %s -> %s: %s", partial, dst, strerror(errno));
        else
            ccai_drop_cached(dst); /* a model is read back in 2 MiB pages (gguf_open) */
    } else if (!ccai_exists(dst)) {
        rc = ccai_fail(err, CCAI_ERR_STATE, "blob %s vanished before the install (pull again)",
                       digest);
    }
    free(dst);
    return rc;
}

ccai_code store_install(const store *st, const store_name *n, const char *manifest,
                        size_t manifest_len, const store_manifest *man, char *const *partials,
                        ccai_err *err)
{
    int fd = -1;
    ccai_code rc = lock_store(st, &fd, err);
    if (rc)
        return rc;
    rc = install_blob(st->root, man->config.digest, partials[0], err);
    for (size_t i = 0; !rc && i < man->n_layers; i++)
        rc = install_blob(st->root, man->layers[i].digest, partials[i + 1], err);
    char *bdir = ccai_xasprintf("%s/blobs", st->root);
    sync_dir(bdir); /* the renames are durable before the manifest names them */
    free(bdir);
    char *mp = manifest_path(st->root, n);
    char *mdir = ccai_xstrdup(mp);
    *strrchr(mdir, '/') = 0;
    if (!rc)
        rc = ccai_mkdir_p(mdir, 0755, err);
    bool replaced = ccai_exists(mp);
    if (!rc)
        rc = ccai_write_file_atomic(mp, manifest, manifest_len, 0644, err);
    if (!rc && replaced)
        collect_blobs(st->root); /* a new version may leave old blobs unreferenced */
    free(mdir);
    free(mp);
    ccai_unlock(fd);
    return rc;
}
