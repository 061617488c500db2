/* Tests for src/store/name.c: the accepted forms of a model name with their
 * defaults, the short form Ollama prints, every rejection with its exact
 * message (path traversal above all), digests, and a fuzz loop: random and
 * mutated names never crash and whatever parses is safe as a path. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static void check(const char *in, const char *host, const char *ns, const char *model,
                  const char *tag, const char *shown)
{
    store_name n;
    ccai_err err = {0};
    assert_int_equal(store_name_parse(in, &n, &err), CCAI_OK);
    assert_string_equal(n.host, host);
    assert_string_equal(n.ns, ns);
    assert_string_equal(n.model, model);
    assert_string_equal(n.tag, tag);
    char out[600];
    store_name_format(&n, out, sizeof out);
    assert_string_equal(out, shown);
}

static void test_forms(void **state)
{
    (void)state;
    check("deepseek-r1:1.5b", "registry.ollama.ai", "library", "deepseek-r1", "1.5b",
          "deepseek-r1:1.5b");
    check("qwen2.5", "registry.ollama.ai", "library", "qwen2.5", "latest", "qwen2.5:latest");
    check("user/model:tag", "registry.ollama.ai", "user", "model", "tag", "user/model:tag");
    check("host.example/ns/model:t_1", "host.example", "ns", "model", "t_1",
          "host.example/ns/model:t_1");
    check("127.0.0.1:5000/ns/m", "127.0.0.1:5000", "ns", "m", "latest",
          "127.0.0.1:5000/ns/m:latest");
    check("hf.co/bartowski/Qwen2.5-0.5B-GGUF:Q4_K_M", "hf.co", "bartowski", "Qwen2.5-0.5B-GGUF",
          "Q4_K_M", "hf.co/bartowski/Qwen2.5-0.5B-GGUF:Q4_K_M");
    check("m:_x", "registry.ollama.ai", "library", "m", "_x", "m:_x");
}

static void reject(const char *in, ccai_code code, const char *msg)
{
    store_name n;
    ccai_err err = {0};
    assert_int_equal(store_name_parse(in, &n, &err), code);
    assert_string_equal(err.msg, msg);
}

static void test_rejections(void **state)
{
    (void)state;
    reject("", CCAI_ERR_ARG, "empty model name");
    reject("../x", CCAI_ERR_ARG,
           "namespace '..': character '.' at 0 is not allowed (letters, digits, '.', '_', '-'; "
           "not first: '.', '_', '-')");
    reject("../../etc/passwd", CCAI_ERR_ARG,
           "model name '../../etc/passwd' has more than three parts (want "
           "[HOST/][NAMESPACE/]MODEL[:TAG])");
    reject("a/../b", CCAI_ERR_ARG,
           "namespace '..': character '.' at 0 is not allowed (letters, digits, '.', '_', '-'; "
           "not first: '.', '_', '-')");
    reject("model:..", CCAI_ERR_ARG,
           "tag '..': character '.' at 0 is not allowed (letters, digits, '.', '_', '-'; not "
           "first: '.', '_', '-')");
    reject("/abs", CCAI_ERR_ARG, "empty namespace");
    reject("a//b", CCAI_ERR_ARG, "empty namespace");
    reject("m:", CCAI_ERR_ARG, "empty tag");
    reject("m:a/b", CCAI_ERR_ARG,
           "namespace 'm:a': character ':' at 1 is not allowed (letters, digits, '.', '_', '-'; "
           "not first: '.', '_', '-')");
    reject("-rf", CCAI_ERR_ARG,
           "model '-rf': character '-' at 0 is not allowed (letters, digits, '.', '_', '-'; not "
           "first: '.', '_', '-')");
    reject("a b", CCAI_ERR_ARG,
           "model 'a b': character ' ' at 1 is not allowed (letters, digits, '.', '_', '-'; not "
           "first: '.', '_', '-')");
    reject("m\n", CCAI_ERR_ARG, "model: byte 0x0a at 1 is not allowed");
    reject("ho_st/ns/m", CCAI_ERR_ARG, "host 'ho_st': '_' is not allowed");
    reject("host:99999x/ns/m", CCAI_ERR_ARG, "host 'host:99999x': bad port");
    char big[700];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    reject(big, CCAI_ERR_ARG, "model name is 699 characters, more than the 600 allowed");
    big[200] = 0;
    reject(big, CCAI_ERR_ARG, "model is 200 characters, more than the 128 allowed");
}

static void test_digest(void **state)
{
    (void)state;
    char hex[65];
    ccai_err err = {0};
    const char *ok = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_int_equal(store_digest_parse(ok, hex, &err), CCAI_OK);
    assert_string_equal(hex, ok + 7);
    assert_int_equal(store_digest_parse("sha256:../../etc/passwd", hex, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "digest 'sha256:../../etc/passwd': expected 'sha256:' and 64 "
                                 "lower-case hex digits");
    char upper[80];
    snprintf(upper, sizeof upper, "%s", ok);
    upper[10] = 'A';
    assert_int_equal(store_digest_parse(upper, hex, &err), CCAI_ERR_PARSE);
    assert_int_equal(store_digest_parse("sha512:00", hex, &err), CCAI_ERR_PARSE);
    assert_int_equal(store_digest_parse(NULL, hex, &err), CCAI_ERR_PARSE);
    assert_true(store_is_blob_file(
        "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(store_is_blob_file(
        "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-partial"));
    assert_false(store_is_blob_file("url-0123"));
}

static void test_equal(void **state)
{
    (void)state;
    store_name a, b;
    assert_int_equal(store_name_parse("Qwen:Latest", &a, NULL), CCAI_OK);
    assert_int_equal(store_name_parse("registry.ollama.ai/library/qwen", &b, NULL), CCAI_OK);
    assert_true(store_name_equal(&a, &b));
    assert_int_equal(store_name_parse("qwen:7b", &b, NULL), CCAI_OK);
    assert_false(store_name_equal(&a, &b));
}

/* Whatever parses must be usable as path components: no '/', no "..". */
static void assert_safe(const store_name *n)
{
    const char *parts[] = {n->ns, n->model, n->tag};
    for (int i = 0; i < 3; i++) {
        assert_null(strchr(parts[i], '/'));
        assert_true(parts[i][0] != '.' && parts[i][0] != 0);
    }
    assert_null(strchr(n->host, '/'));
    assert_true(n->host[0] != '.');
}

static void test_fuzz(void **state)
{
    (void)state;
    static const char alphabet[] = "aZ09.-_:/ \x01\xff%\\";
    srand(1234);
    char s[96];
    for (int iter = 0; iter < 200000; iter++) {
        size_t len = (size_t)(rand() % 40);
        for (size_t i = 0; i < len; i++)
            s[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        s[len] = 0;
        store_name n;
        ccai_err err = {0};
        if (store_name_parse(s, &n, &err) == CCAI_OK) {
            assert_safe(&n);
            char out[600];
            store_name_format(&n, out, sizeof out);
            store_name again;
            assert_int_equal(store_name_parse(out, &again, NULL), CCAI_OK);
            assert_true(store_name_equal(&n, &again));
        } else {
            assert_true(err.msg[0] != 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),  cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_digest), cmocka_unit_test(test_equal),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
