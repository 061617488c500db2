/* Tests for src/store/manifest.c: a real-shaped registry manifest, every
 * rejection with its exact message (wrong media type, bad digests, sizes,
 * one digest with two sizes, no or two model layers, too many layers,
 * oversize), the synthesized manifest round trip, and a fuzz loop of byte
 * mutations and truncations of a valid manifest that must never crash. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/store.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define CFG                                                                                        \
    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","                \
    "\"digest\":\"" D1 "\",\"size\":49}"
#define MODEL                                                                                      \
    "{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"" D2                       \
    "\",\"size\":1117322592}"
#define TMPL                                                                                       \
    "{\"mediaType\":\"application/vnd.ollama.image.template\",\"digest\":\"" D3 "\",\"size\":387}"
#define HEAD                                                                                       \
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","

static const char good[] = HEAD CFG ",\"layers\":[" MODEL "," TMPL "]}";

static void test_parse(void **state)
{
    (void)state;
    store_manifest m;
    ccai_err err = {0};
    assert_int_equal(store_manifest_parse(good, strlen(good), &m, &err), CCAI_OK);
    assert_string_equal(m.config.digest, D1);
    assert_int_equal(m.config.size, 49);
    assert_int_equal(m.n_layers, 2);
    assert_int_equal(m.model, 0);
    assert_int_equal(m.layers[0].size, 1117322592);
    assert_string_equal(store_manifest_find(&m, STORE_MT_TEMPLATE)->digest, D3);
    assert_null(store_manifest_find(&m, STORE_MT_LICENSE));
    assert_int_equal(store_manifest_size(&m), 49 + 1117322592 + 387);
    /* The OCI media type and no media type at all are fine too. */
    const char *oci =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," CFG
        ",\"layers\":[" MODEL "]}";
    assert_int_equal(store_manifest_parse(oci, strlen(oci), &m, &err), CCAI_OK);
    const char *none = "{\"schemaVersion\":2," CFG ",\"layers\":[" MODEL "]}";
    assert_int_equal(store_manifest_parse(none, strlen(none), &m, &err), CCAI_OK);
    /* A digest named twice with the same size is one blob, fetched once. */
    const char *twice = HEAD CFG ",\"layers\":[" MODEL "," TMPL "," TMPL "]}";
    assert_int_equal(store_manifest_parse(twice, strlen(twice), &m, &err), CCAI_OK);
    assert_int_equal(m.n_layers, 3);
}

static void reject(const char *text, ccai_code code, const char *msg)
{
    store_manifest m;
    ccai_err err = {0};
    assert_int_equal(store_manifest_parse(text, strlen(text), &m, &err), code);
    assert_string_equal(err.msg, msg);
    assert_int_equal(m.n_layers, 0);
}

static void test_rejections(void **state)
{
    (void)state;
    reject("[]", CCAI_ERR_PARSE, "manifest: expected an object, found an array");
    reject("{\"schemaVersion\":1}", CCAI_ERR_PARSE,
           "manifest: schemaVersion: expected 2, found another number");
    reject("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\"}",
           CCAI_ERR_UNSUPPORTED,
           "manifest: mediaType: expected application/vnd.docker.distribution.manifest.v2+json or "
           "application/vnd.oci.image.manifest.v1+json, found "
           "'application/vnd.oci.image.index.v1+json'");
    reject("{\"schemaVersion\":2,\"layers\":[]}", CCAI_ERR_PARSE,
           "manifest: config: expected an object, found nothing");
    reject(HEAD CFG "}", CCAI_ERR_PARSE, "manifest: layers: expected an array, found nothing");
    reject(HEAD CFG ",\"layers\":[" TMPL "]}", CCAI_ERR_UNSUPPORTED,
           "manifest: no layer of media type application/vnd.ollama.image.model (not a model)");
    reject(HEAD CFG ",\"layers\":[" MODEL "," MODEL "]}", CCAI_ERR_UNSUPPORTED,
           "manifest: two model layers (0 and 1); ccai serves one GGUF per model (no adapters or "
           "projectors)");
    reject(HEAD CFG ",\"layers\":[{\"mediaType\":\"x\",\"digest\":\"sha256:../../x\",\"size\":1}]}",
           CCAI_ERR_PARSE,
           "manifest: layers[0]: digest 'sha256:../../x': expected 'sha256:' and 64 lower-case hex "
           "digits");
    reject(HEAD CFG ",\"layers\":[{\"mediaType\":\"x\",\"digest\":\"" D2 "\",\"size\":-1}]}",
           CCAI_ERR_PARSE,
           "manifest: layers[0]: size: expected an integer in 0..2^50, found one out of range");
    reject(HEAD CFG ",\"layers\":[{\"mediaType\":\"x\",\"digest\":\"" D2 "\",\"size\":1.5}]}",
           CCAI_ERR_PARSE,
           "manifest: layers[0]: size: expected an integer in 0..2^50, found a number");
    reject(HEAD CFG ",\"layers\":[{\"digest\":\"" D2 "\",\"size\":1}]}", CCAI_ERR_PARSE,
           "manifest: layers[0]: mediaType: expected a string of 1..127 bytes, found nothing");
    reject(HEAD CFG ",\"layers\":[{\"mediaType\":\"x\",\"digest\":5,\"size\":1}]}", CCAI_ERR_PARSE,
           "manifest: layers[0]: digest: expected a string, found an integer");
    /* One digest, two sizes: the second size would never be checked (the
     * blob is fetched once) but `list` would add it up. */
    reject(HEAD CFG ",\"layers\":[" MODEL "," TMPL ",{\"mediaType\":\"x\",\"digest\":\"" D3
                "\",\"size\":999999}]}",
           CCAI_ERR_PARSE,
           "manifest: layers[2]: digest " D3 " has size 999999, but 387 before");
    reject(HEAD CFG ",\"layers\":[{\"mediaType\":\"x\",\"digest\":\"" D1
                "\",\"size\":50}," MODEL "]}",
           CCAI_ERR_PARSE, "manifest: layers[0]: digest " D1 " has size 50, but 49 before");
    /* Too many layers. */
    ccai_buf b = {0};
    ccai_buf_append_str(&b, HEAD CFG ",\"layers\":[" MODEL);
    for (int i = 0; i < STORE_MAX_LAYERS; i++)
        ccai_buf_append_str(&b, "," TMPL);
    ccai_buf_append_str(&b, "]}");
    ccai_buf_u8(&b, 0);
    reject((const char *)b.data, CCAI_ERR_PARSE, "manifest: 65 layers, more than the 64 allowed");
    ccai_buf_free(&b);
    /* Oversize. */
    size_t big = STORE_MAX_MANIFEST + 1;
    char *huge = ccai_xmalloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = 0;
    reject(huge, CCAI_ERR_PARSE, "manifest: 1048577 bytes, more than the 1048576 allowed");
    free(huge);
}

static void test_synth(void **state)
{
    (void)state;
    store_layer cfg = {.media_type = STORE_MT_CONFIG, .digest = D1, .size = 10};
    store_layer model = {.media_type = STORE_MT_MODEL, .digest = D2, .size = 12345};
    char *text = store_manifest_synth(&cfg, &model);
    assert_string_equal(text,
                        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution."
                        "manifest.v2+json\",\"config\":{\"mediaType\":\"application/vnd.docker."
                        "container.image.v1+json\",\"digest\":\"" D1 "\",\"size\":10},\"layers\":"
                        "[{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"" D2
                        "\",\"size\":12345}]}");
    store_manifest m;
    assert_int_equal(store_manifest_parse(text, strlen(text), &m, NULL), CCAI_OK);
    assert_int_equal(m.layers[m.model].size, 12345);
    free(text);
}

static void test_fuzz(void **state)
{
    (void)state;
    size_t n = strlen(good);
    char *buf = ccai_xmalloc(n + 1);
    srand(42);
    int accepted = 0;
    for (int iter = 0; iter < 100000; iter++) {
        memcpy(buf, good, n + 1);
        size_t len = n;
        int edits = 1 + rand() % 4;
        for (int e = 0; e < edits; e++) {
            switch (rand() % 3) {
            case 0: buf[rand() % (int)len] = (char)(rand() % 256); break;
            case 1: len = (size_t)(rand() % (int)len) + 1; break;
            default: buf[rand() % (int)len] = "{}[]\",:0-9"[rand() % 10]; break;
            }
        }
        store_manifest m;
        ccai_err err = {0};
        if (store_manifest_parse(buf, len, &m, &err) == CCAI_OK) {
            accepted++;
            assert_true(m.model >= 0 && (size_t)m.model < m.n_layers);
            char hex[65];
            for (size_t i = 0; i < m.n_layers; i++)
                assert_int_equal(store_digest_parse(m.layers[i].digest, hex, NULL), CCAI_OK);
        } else {
            assert_true(err.msg[0] != 0);
        }
    }
    assert_true(accepted > 0); /* mutations in insignificant places still parse */
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_synth),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
