/* Tests for src/base/json.c: the canonical form (keys sorted by bytes, no
 * white space, UTF-8 kept, same text however the object was built), parsing
 * with a located error, duplicate keys rejected, and the typed getters'
 * messages. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"

static void assert_canonical(const json_t *v, const char *want)
{
    char *s = ccai_json_canonical(v);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
}

static void test_canonical_sorted_compact(void **state)
{
    (void)state;
    json_t *o = json_object();
    json_object_set_new(o, "b", json_integer(1));
    json_t *inner = json_object();
    json_object_set_new(inner, "d", json_null());
    json_object_set_new(inner, "c", json_true());
    json_t *arr = json_array();
    json_array_append_new(arr, json_integer(-2));
    json_array_append_new(arr, json_string("x"));
    json_array_append_new(arr, inner);
    json_array_append_new(arr, json_array());
    json_object_set_new(o, "a", arr);
    json_object_set_new(o, "\xc3\xa9", json_string("\xc3\xbc/\"\\\n"));
    json_object_set_new(o, "B", json_false());
    json_object_set_new(o, "e", json_object());
    /* Byte order: "B" < "a" < "b" < "e" < "é" (0xc3...); arrays keep their order. */
    assert_canonical(o, "{\"B\":false,\"a\":[-2,\"x\",{\"c\":true,\"d\":null},[]],\"b\":1,"
                        "\"e\":{},\"\xc3\xa9\":\"\xc3\xbc/\\\"\\\\\\n\"}");

    /* The same members inserted in another order give the same text. */
    json_t *p = NULL;
    ccai_err err = {0};
    const char *text = "{ \"e\" : {}, \"\xc3\xa9\": \"\xc3\xbc/\\\"\\\\\\n\",\n"
                       "  \"b\": 1, \"a\": [-2, \"x\", {\"d\": null, \"c\": true}, [ ]],"
                       " \"B\": false }";
    assert_int_equal(ccai_json_parse(text, strlen(text), &p, &err), CCAI_OK);
    char *s1 = ccai_json_canonical(o), *s2 = ccai_json_canonical(p);
    assert_string_equal(s1, s2);
    free(s1);
    free(s2);
    json_decref(p);
    json_decref(o);

    /* Scalars and large integers. */
    json_t *i = json_integer(9007199254740993LL);
    assert_canonical(i, "9007199254740993");
    json_decref(i);
    json_t *str = json_string("a\x01");
    assert_canonical(str, "\"a\\u0001\"");
    json_decref(str);
}

static void test_parse(void **state)
{
    (void)state;
    json_t *v = NULL;
    ccai_err err = {0};
    /* Only len bytes are read: the text need not be NUL-terminated. */
    assert_int_equal(ccai_json_parse("{\"a\":1}garbage", 7, &v, &err), CCAI_OK);
    assert_canonical(v, "{\"a\":1}");
    json_decref(v);
    /* Any value, not only objects and arrays. */
    assert_int_equal(ccai_json_parse("42", 2, &v, &err), CCAI_OK);
    assert_true(json_is_integer(v));
    json_decref(v);

    assert_int_equal(ccai_json_parse("{\"a\":1,\"a\":2}", 13, &v, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "JSON at line 1 column "));
    assert_non_null(strstr(err.msg, "duplicate object key"));

    const char *bad = "{\n  \"a\": 1,\n  \"b\": }";
    assert_int_equal(ccai_json_parse(bad, strlen(bad), &v, &err), CCAI_ERR_PARSE);
    assert_int_equal(err.code, CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "JSON at line 3 column 8: unexpected token near '}'");

    assert_int_equal(ccai_json_parse("", 0, &v, &err), CCAI_ERR_PARSE);
    assert_int_equal(ccai_json_parse("{} x", 4, &v, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "end of file expected"));
}

static void test_getters(void **state)
{
    (void)state;
    json_t *o = NULL;
    ccai_err err = {0};
    const char *text = "{\"s\":\"tdx\",\"n\":-7,\"h\":\"00Ff\",\"r\":1.5,\"z\":null}";
    assert_int_equal(ccai_json_parse(text, strlen(text), &o, &err), CCAI_OK);

    const char *s = NULL;
    assert_int_equal(ccai_json_get_str(o, "s", &s, &err), CCAI_OK);
    assert_string_equal(s, "tdx");
    assert_int_equal(ccai_json_get_str(o, "n", &s, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "\"n\" is not a string");
    assert_int_equal(ccai_json_get_str(o, "missing", &s, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "missing \"missing\"");

    long long n = 0;
    assert_int_equal(ccai_json_get_int(o, "n", &n, &err), CCAI_OK);
    assert_true(n == -7);
    assert_int_equal(ccai_json_get_int(o, "r", &n, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "\"r\" is not an integer");
    assert_int_equal(ccai_json_get_int(o, "z", &n, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "\"z\" is not an integer");
    assert_int_equal(ccai_json_get_int(o, "q", &n, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "missing \"q\"");

    uint8_t h[3];
    assert_int_equal(ccai_json_get_hex(o, "h", h, 2, &err), CCAI_OK);
    assert_memory_equal(h, "\x00\xff", 2);
    assert_int_equal(ccai_json_get_hex(o, "h", h, 3, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "\"h\": expected 6 hex digits (3 bytes), found 4");
    assert_int_equal(ccai_json_get_hex(o, "s", h, 1, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "\"s\": expected 2 hex digits (1 bytes), found 3");
    assert_int_equal(ccai_json_get_hex(o, "n", h, 1, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "\"n\" is not a string");

    ccai_json_set_hex(o, "mr", (const uint8_t *)"\xab\x01", 2);
    assert_int_equal(ccai_json_get_str(o, "mr", &s, &err), CCAI_OK);
    assert_string_equal(s, "ab01");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_sorted_compact),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_getters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
