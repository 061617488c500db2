/* Manifests (store.h "manifests"): the registry's JSON description of a
 * model -- a config blob and layers, each a media type, a digest and a size
 * (the OCI image manifest shape Ollama's registry uses; llm-facts §4).
 * Parsing is the parse stage only: bounded, every field type-checked, every
 * digest validated before anyone builds a path from it; no I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "store/store.h"

/* Sizes above 2^50 bytes (1 PiB) are nonsense, and stay exact in a double. */
#define MAX_BLOB_SIZE (1ULL << 50)

static ccai_code parse_layer(const json_t *v, const char *what, store_layer *out, ccai_err *err)
{
    if (!json_is_object(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "manifest: %s: expected an object, found %s", what,
                         ccai_json_kind(v));
    const json_t *mt = json_object_get(v, "mediaType"), *dg = json_object_get(v, "digest"),
                 *sz = json_object_get(v, "size");
    if (!json_is_string(mt) || json_string_length(mt) == 0 ||
        json_string_length(mt) >= sizeof out->media_type)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "manifest: %s: mediaType: expected a string of 1..%zu bytes, found %s",
                         what, sizeof out->media_type - 1, ccai_json_kind(mt));
    if (!json_is_string(dg))
        return ccai_fail(err, CCAI_ERR_PARSE, "manifest: %s: digest: expected a string, found %s",
                         what, ccai_json_kind(dg));
    char hex[65];
    if (store_digest_parse(json_string_value(dg), hex, err)) {
        ccai_err_prefix(err, "manifest: %s", what);
        return CCAI_ERR_PARSE;
    }
    if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
        (unsigned long long)json_integer_value(sz) > MAX_BLOB_SIZE)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "manifest: %s: size: expected an integer in 0..2^50, found %s", what,
                         json_is_integer(sz) ? "one out of range" : ccai_json_kind(sz));
    snprintf(out->media_type, sizeof out->media_type, "%s", json_string_value(mt));
    snprintf(out->digest, sizeof out->digest, "%s", json_string_value(dg));
    out->size = (uint64_t)json_integer_value(sz);
    return CCAI_OK;
}

static ccai_code parse_obj(const json_t *j, store_manifest *out, ccai_err *err)
{
    if (!json_is_object(j))
        return ccai_fail(err, CCAI_ERR_PARSE, "manifest: expected an object, found %s",
                         ccai_json_kind(j));
    const json_t *ver = json_object_get(j, "schemaVersion");
    if (!json_is_integer(ver) || json_integer_value(ver) != 2)
        return ccai_fail(err, CCAI_ERR_PARSE, "manifest: schemaVersion: expected 2, found %s",
                         json_is_integer(ver) ? "another number" : ccai_json_kind(ver));
    const json_t *mt = json_object_get(j, "mediaType");
    if (mt && (!json_is_string(mt) || (strcmp(json_string_value(mt), STORE_MT_MANIFEST) != 0 &&
                                       strcmp(json_string_value(mt), STORE_MT_OCI_MANIFEST) != 0)))
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "manifest: mediaType: expected %s or %s, found '%.100s'",
                         STORE_MT_MANIFEST, STORE_MT_OCI_MANIFEST,
                         json_is_string(mt) ? json_string_value(mt) : "?");
    ccai_code rc = parse_layer(json_object_get(j, "config"), "config", &out->config, err);
    if (rc)
        return rc;
    const json_t *layers = json_object_get(j, "layers");
    if (!json_is_array(layers))
        return ccai_fail(err, CCAI_ERR_PARSE, "manifest: layers: expected an array, found %s",
                         ccai_json_kind(layers));
    if (json_array_size(layers) > STORE_MAX_LAYERS)
        return ccai_fail(err, CCAI_ERR_PARSE, "manifest: %zu layers, more than the %d allowed",
                         json_array_size(layers), STORE_MAX_LAYERS);
    out->model = -1;
    for (size_t i = 0; i < json_array_size(layers); i++) {
        char what[32];
        snprintf(what, sizeof what, "layers[%zu]", i);
        if ((rc = parse_layer(json_array_get(layers, i), what, &out->layers[i], err)))
            return rc;
        /* One digest is one blob: a second size for it would be a size
         * nobody checks (the blob is fetched once) yet `list` adds up. */
        for (size_t k = 0; k <= i; k++) {
            const store_layer *o = k == 0 ? &out->config : &out->layers[k - 1];
            if (strcmp(o->digest, out->layers[i].digest) == 0 && o->size != out->layers[i].size)
                return ccai_fail(err, CCAI_ERR_PARSE,
                                 "manifest: %s: digest %s has size %llu, but %llu before", what,
                                 o->digest, (unsigned long long)out->layers[i].size,
                                 (unsigned long long)o->size);
        }
        if (strcmp(out->layers[i].media_type, STORE_MT_MODEL) == 0) {
            if (out->model >= 0)
                return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                                 "manifest: two model layers (%d and %zu); ccai serves one GGUF "
                                 "per model (no adapters or projectors)",
                                 out->model, i);
            out->model = (int)i;
        }
        out->n_layers = i + 1;
    }
    if (out->model < 0)
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "manifest: no layer of media type %s (not a model)", STORE_MT_MODEL);
    return CCAI_OK;
}

ccai_code store_manifest_parse(const char *text, size_t len, store_manifest *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    out->model = -1;
    if (len > STORE_MAX_MANIFEST)
        return ccai_fail(err, CCAI_ERR_PARSE, "manifest: %zu bytes, more than the %d allowed", len,
                         STORE_MAX_MANIFEST);
    json_t *j = NULL;
    ccai_code rc = ccai_json_parse(text, len, &j, err);
    if (rc) {
        ccai_err_prefix(err, "manifest");
        return rc;
    }
    rc = parse_obj(j, out, err);
    json_decref(j);
    if (rc) {
        memset(out, 0, sizeof *out);
        out->model = -1;
    }
    return rc;
}

static json_t *layer_json(const store_layer *l)
{
    return json_pack("{s:s, s:s, s:I}", "mediaType", l->media_type, "digest", l->digest, "size",
                     (json_int_t)l->size);
}

char *store_manifest_synth(const store_layer *config, const store_layer *model)
{
    json_t *j =
        json_pack("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType", STORE_MT_MANIFEST,
                  "config", layer_json(config), "layers", layer_json(model));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return ccai_xstrdup("");
    char *copy = ccai_xstrdup(text);
    free(text);
    return copy;
}

const store_layer *store_manifest_find(const store_manifest *m, const char *media_type)
{
    for (size_t i = 0; i < m->n_layers; i++)
        if (strcmp(m->layers[i].media_type, media_type) == 0)
            return &m->layers[i];
    return NULL;
}

uint64_t store_manifest_size(const store_manifest *m)
{
    uint64_t n = m->config.size;
    for (size_t i = 0; i < m->n_layers; i++)
        n += m->layers[i].size;
    return n;
}
