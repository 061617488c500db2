/* `ccai list`, `ccai show`, `ccai rm`: the model store seen from the
 * command line (store/store.h, docs/store.md), and the --model NAME lookup
 * `ccai serve` uses. Details (family, parameters, quantization, context)
 * come from each model's GGUF header, read the same way the server reads
 * them for /api/tags (ccai_model_read_details), so both agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "llm/gguf.h"
#include "server/server.h"
#include "store/store.h"

static const char list_usage[] =
    "usage: ccai list [--json]\n"
    "\n"
    "Lists the models in the store and in an Ollama store ($OLLAMA_MODELS or\n"
    "~/.ollama/models, read only): NAME, ID (the first 12 hex digits of the\n"
    "GGUF's SHA-256, the model's identity), SIZE, PARAMS, QUANT, MODIFIED.\n"
    "  --json    {\"models\": [{name, digest, size, modified_at, store, path,\n"
    "            details{format, family, parameter_size, quantization_level}}]}\n";

static const char show_usage[] =
    "usage: ccai show [--json] NAME\n"
    "\n"
    "Shows a stored model: architecture, parameters, context length, embedding\n"
    "length, quantization, digest, template, parameters and license.\n";

static const char rm_usage[] =
    "usage: ccai rm NAME...\n"
    "\n"
    "Removes models from the store, with every blob no other model uses.\n"
    "Models in an Ollama store are never touched (use 'ollama rm').\n";

/* ---- details from the GGUF ------------------------------------------------------------ */

typedef struct details {
    char *family, *params, *quant;
    long long ctx, embd; /* -1 when absent */
    char *path;
    char digest[72];
} details;

static long long arch_u64(const gguf_file *f, const char *arch, const char *key)
{
    char k[160];
    uint64_t v;
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return gguf_get_u64(f, k, &v, NULL) == CCAI_OK ? (long long)v : -1;
}

static ccai_code read_gguf_details(const store_entry *e, details *d, ccai_err *err)
{
    memset(d, 0, sizeof *d);
    d->ctx = d->embd = -1;
    snprintf(d->digest, sizeof d->digest, "%s", e->man.layers[e->man.model].digest);
    ccai_code rc = store_model_path(e, &d->path, err);
    gguf_file *f = NULL;
    if (!rc && (rc = gguf_open(d->path, &f, err)))
        ccai_err_prefix(err, "model %s", e->name);
    if (rc)
        return rc;
    ccai_model m = {0};
    ccai_model_read_details(&m, f);
    d->family = m.family;
    d->params = m.parameter_size;
    d->quant = m.quantization;
    d->ctx = arch_u64(f, d->family, "context_length");
    d->embd = arch_u64(f, d->family, "embedding_length");
    gguf_close(f);
    return CCAI_OK;
}

static void details_free(details *d)
{
    free(d->family);
    free(d->params);
    free(d->quant);
    free(d->path);
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

/* ---- list ------------------------------------------------------------------------------ */

static void human_size(uint64_t n, char *out, size_t cap)
{
    static const char *const unit[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* "3 minutes ago", as Ollama prints ages. */
static void human_age(time_t t, char *out, size_t cap)
{
    long long s = (long long)(time(NULL) - t);
    static const struct {
        long long secs;
        const char *one, *many;
    } u[] = {{365 * 86400LL, "About a year", "years"}, {30 * 86400LL, "About a month", "months"},
             {7 * 86400LL, "About a week", "weeks"},   {86400, "About a day", "days"},
             {3600, "About an hour", "hours"},         {60, "About a minute", "minutes"}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        if (s < u[i].secs)
            continue;
        long long k = s / u[i].secs;
        if (k == 1)
            snprintf(out, cap, "%s ago", u[i].one);
        else
            snprintf(out, cap, "%lld %s ago", k, u[i].many);
        return;
    }
    snprintf(out, cap, s <= 1 ? "Less than a second ago" : "%lld seconds ago", s);
}

static json_t *entry_json(const store_entry *e, const details *d)
{
    char when[32];
    ccai_time_format(e->modified, when);
    json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s}", "name", e->name, "model", e->name, "size",
                          (json_int_t)store_manifest_size(&e->man), "modified_at", when, "store",
                          e->readonly ? "ollama" : "ccai");
    json_object_set_new(j, "digest", json_string(d->digest + 7));
    json_object_set_new(j, "path", d->path ? json_string(d->path) : json_null());
    json_object_set_new(j, "details",
                        json_pack("{s:s, s:s, s:s, s:s}", "format", "gguf", "family",
                                  or_dash(d->family), "parameter_size", or_dash(d->params),
                                  "quantization_level", or_dash(d->quant)));
    return j;
}

static int cmd_list(int argc, char **argv)
{
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else
            return cli_usage_error("list", "unexpected argument '%s'", argv[i]);
    }
    ccai_err err = {0};
    store *st = NULL;
    store_entry *v = NULL;
    size_t n = 0;
    if (store_open(NULL, &st, &err) || store_list(st, &v, &n, &err)) {
        store_close(st);
        return cli_fail("list", &err);
    }
    json_t *arr = json_array();
    if (!as_json)
        printf("%-40s %-12s  %-9s  %-8s %-8s %s\n", "NAME", "ID", "SIZE", "PARAMS", "QUANT",
               "MODIFIED");
    for (size_t i = 0; i < n; i++) {
        const store_entry *e = &v[i];
        details d;
        ccai_err de = {0};
        if (e->error) {
            fprintf(stderr, "ccai list: warning: skipped %s: %s\n", e->name, e->error);
            continue;
        }
        if (read_gguf_details(e, &d, &de))
            fprintf(stderr, "ccai list: warning: %s: %s\n", e->name, de.msg);
        if (as_json) {
            json_array_append_new(arr, entry_json(e, &d));
        } else {
            char size[32], age[64];
            human_size(store_manifest_size(&e->man), size, sizeof size);
            human_age(e->modified, age, sizeof age);
            printf("%-40s %.12s  %-9s  %-8s %-8s %s\n", e->name, d.digest + 7, size,
                   or_dash(d.params), or_dash(d.quant), age);
        }
        details_free(&d);
    }
    if (as_json) {
        json_t *o = json_pack("{s:o}", "models", arr);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        putchar('\n');
        json_decref(o);
    } else {
        json_decref(arr);
    }
    store_entries_free(v, n);
    store_close(st);
    return CLI_OK;
}

/* ---- show ------------------------------------------------------------------------------ */

static void print_block(const char *title, const char *text)
{
    if (!text || !*text)
        return;
    printf("\n  %s\n", title);
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        printf("    %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* The params layer ({"stop": [...], "temperature": 0.6}) as "key value" lines. */
static char *params_text(json_t *pj)
{
    ccai_buf b = {0};
    const char *k;
    json_t *v;
    json_object_foreach(pj, k, v)
    {
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; i < n; i++) {
            char *t = json_dumps(json_is_array(v) ? json_array_get(v, i) : v,
                                 JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
            char line[1024];
            snprintf(line, sizeof line, "%-20s %s\n", k, t ? t : "?");
            ccai_buf_append_str(&b, line);
            free(t);
        }
    }
    ccai_buf_u8(&b, 0);
    return (char *)ccai_buf_steal(&b, NULL);
}

static void show_text(const store_entry *e, const details *d, const char *tmpl, const char *params,
                      const char *license, const char *sys)
{
    printf("  Model\n");
    printf("    %-20s %s\n", "name", e->name);
    printf("    %-20s %s\n", "architecture", or_dash(d->family));
    printf("    %-20s %s\n", "parameters", or_dash(d->params));
    if (d->ctx >= 0)
        printf("    %-20s %lld\n", "context length", d->ctx);
    if (d->embd >= 0)
        printf("    %-20s %lld\n", "embedding length", d->embd);
    printf("    %-20s %s\n", "quantization", or_dash(d->quant));
    printf("    %-20s %s\n", "digest", d->digest);
    printf("    %-20s %s\n", "store", e->readonly ? "ollama (read only)" : "ccai");
    print_block("Template", tmpl);
    print_block("System", sys);
    print_block("Parameters", params);
    print_block("License", license);
}

static int cmd_show(int argc, char **argv)
{
    bool as_json = false;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else if (argv[i][0] == '-' || name)
            return cli_usage_error("show", "unexpected argument '%s'", argv[i]);
        else
            name = argv[i];
    }
    if (!name)
        return cli_usage_error("show", "missing the model NAME");
    ccai_err err = {0};
    store *st = NULL;
    store_entry e;
    details d;
    ccai_code rc = store_open(NULL, &st, &err);
    if (!rc)
        rc = store_find(st, name, &e, &err);
    if (rc) {
        store_close(st);
        return rc == CCAI_ERR_ARG ? cli_usage_error("show", "%s", err.msg) : cli_fail("show", &err);
    }
    if ((rc = read_gguf_details(&e, &d, &err))) {
        details_free(&d);
        store_entry_free(&e);
        store_close(st);
        return cli_fail("show", &err);
    }
    char *tmpl = store_read_layer(&e, STORE_MT_TEMPLATE);
    char *praw = store_read_layer(&e, STORE_MT_PARAMS);
    char *license = store_read_layer(&e, STORE_MT_LICENSE);
    char *sys = store_read_layer(&e, STORE_MT_SYSTEM);
    json_t *pj = praw ? json_loads(praw, 0, NULL) : NULL;
    if (!json_is_object(pj)) {
        json_decref(pj);
        pj = json_object();
    }
    if (as_json) {
        json_t *o = entry_json(&e, &d);
        json_object_set_new(o, "model_info",
                            json_pack("{s:s, s:I, s:I}", "general.architecture", or_dash(d.family),
                                      "context_length", (json_int_t)d.ctx, "embedding_length",
                                      (json_int_t)d.embd));
        json_object_set_new(o, "template", json_string(tmpl ? tmpl : ""));
        json_object_set_new(o, "system", json_string(sys ? sys : ""));
        json_object_set_new(o, "license", json_string(license ? license : ""));
        json_object_set(o, "parameters", pj);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        putchar('\n');
        json_decref(o);
    } else {
        char *pt = params_text(pj);
        show_text(&e, &d, tmpl, pt, license, sys);
        free(pt);
    }
    json_decref(pj);
    free(tmpl);
    free(praw);
    free(license);
    free(sys);
    details_free(&d);
    store_entry_free(&e);
    store_close(st);
    return CLI_OK;
}

/* ---- rm -------------------------------------------------------------------------------- */

static int cmd_rm(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("rm", "missing the model NAME");
    ccai_err err = {0};
    store *st = NULL;
    if (store_open(NULL, &st, &err))
        return cli_fail("rm", &err);
    int rc = CLI_OK;
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        if (argv[i][0] == '-')
            rc = cli_usage_error("rm", "unknown option '%s'", argv[i]);
        else if (store_remove(st, argv[i], &err))
            rc = cli_fail("rm", &err);
        else
            printf("deleted '%s'\n", argv[i]);
    }
    store_close(st);
    return rc;
}

/* ---- serve --model NAME ----------------------------------------------------------------- */

ccai_code cli_store_resolve(const char *const *models, size_t n, char ***paths, char ***names,
                            ccai_err *err)
{
    *paths = ccai_xcalloc(n ? n : 1, sizeof **paths);
    *names = ccai_xcalloc(n ? n : 1, sizeof **names);
    store *st = NULL;
    ccai_code rc = CCAI_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        if (ccai_exists(models[i]) || strchr(models[i], '/') == models[i] ||
            strstr(models[i], ".gguf")) {
            (*paths)[i] = ccai_xstrdup(models[i]); /* a file: as before */
            continue;
        }
        store_entry e;
        if (!st && (rc = store_open(NULL, &st, err)))
            break;
        if ((rc = store_find(st, models[i], &e, err))) {
            ccai_err_prefix(err, "--model %s (neither a file nor a stored model)", models[i]);
            break;
        }
        rc = store_model_path(&e, &(*paths)[i], err);
        (*names)[i] = ccai_xstrdup(e.name);
        store_entry_free(&e);
    }
    store_close(st);
    if (rc) {
        cli_store_resolved_free(*paths, *names, n);
        *paths = *names = NULL;
    }
    return rc;
}

void cli_store_resolved_free(char **paths, char **names, size_t n)
{
    for (size_t i = 0; paths && i < n; i++)
        free(paths[i]);
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(paths);
    free(names);
}

const cli_cmd cli_cmd_list = {"list", "list the models in the store (and Ollama's)", cmd_list,
                              list_usage};
const cli_cmd cli_cmd_show = {"show", "show a stored model's details", cmd_show, show_usage};
const cli_cmd cli_cmd_rm = {"rm", "remove a model from the store", cmd_rm, rm_usage};
