/* JSON helpers: see json.h. */
#include "base/json.h"

#include <stdlib.h>

#include "base/codec.h"

char *ccai_json_canonical(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

ccai_code ccai_json_parse(const char *text, size_t len, json_t **out, ccai_err *err)
{
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v)
        return ccai_fail(err, CCAI_ERR_PARSE, "JSON at line %d column %d: %s", je.line,
                         je.column, je.text);
    *out = v;
    return CCAI_OK;
}

ccai_code ccai_json_get_str(const json_t *obj, const char *key, const char **out, ccai_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return ccai_fail(err, CCAI_ERR_PARSE, "missing \"%s\"", key);
    if (!json_is_string(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "\"%s\" is not a string", key);
    *out = json_string_value(v);
    return CCAI_OK;
}

ccai_code ccai_json_get_int(const json_t *obj, const char *key, long long *out, ccai_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return ccai_fail(err, CCAI_ERR_PARSE, "missing \"%s\"", key);
    if (!json_is_integer(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "\"%s\" is not an integer", key);
    *out = json_integer_value(v);
    return CCAI_OK;
}

ccai_code ccai_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n,
                            ccai_err *err)
{
    const char *s = NULL;
    ccai_code rc = ccai_json_get_str(obj, key, &s, err);
    if (rc)
        return rc;
    rc = ccai_hex_decode_exact(s, out, n, err);
    if (rc)
        ccai_err_prefix(err, "\"%s\"", key);
    return rc;
}

void ccai_json_set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
    char *h = ccai_hex_dup(p, n);
    json_object_set_new(obj, key, json_string(h));
    free(h);
}

const char *ccai_json_kind(const json_t *v)
{
    if (!v)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a JSON value";
}
