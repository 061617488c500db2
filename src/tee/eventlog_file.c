/* Runtime event log files in the forms tools pass around (see
 * tee_eventlog_read_file in eventlog.h): a JSON array, an evidence object
 * with "event_log", or JSON lines. Every entry goes through
 * tee_eventlog_from_json, so digests are always checked. */
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/json.h"
#include "tee/eventlog.h"

enum { EVENTLOG_FILE_MAX = 16 << 20 };

/* JSON lines: wrap the non-empty lines into one array. */
static ccai_code parse_lines(const char *text, size_t len, json_t **out, ccai_err *err)
{
    json_t *arr = json_array();
    size_t lineno = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        lineno++;
        size_t k = i;
        while (k < j && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r'))
            k++;
        if (k < j) {
            json_t *v = NULL;
            if (ccai_json_parse(text + i, j - i, &v, err)) {
                ccai_err_prefix(err, "line %zu", lineno);
                json_decref(arr);
                return CCAI_ERR_PARSE;
            }
            json_array_append_new(arr, v);
        }
        i = j + 1;
    }
    *out = arr;
    return CCAI_OK;
}

ccai_code tee_eventlog_read_file(const char *path, tee_eventlog *out, ccai_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(path, EVENTLOG_FILE_MAX, &data, &len, err);
    if (rc)
        return rc;
    const char *text = (const char *)data;
    json_t *doc = NULL;
    ccai_err first = {0};
    if (ccai_json_parse(text, len, &doc, &first) && parse_lines(text, len, &doc, NULL)) {
        free(data);
        *err = first;
        ccai_err_prefix(err, "%s: not a JSON event log", path);
        return CCAI_ERR_PARSE;
    }
    free(data);
    if (json_is_object(doc) && json_object_get(doc, "event")) {
        /* JSON lines holding a single entry parse as one object. */
        json_t *one = json_array();
        json_array_append_new(one, doc);
        doc = one;
    }
    const json_t *arr = doc;
    if (json_is_object(doc))
        arr = json_object_get(doc, "event_log");
    if (!json_is_array(arr)) {
        json_decref(doc);
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "%s: expected a JSON array of events, an evidence object with "
                         "\"event_log\", or JSON lines",
                         path);
    }
    memset(out, 0, sizeof *out);
    rc = tee_eventlog_from_json(arr, out, err);
    json_decref(doc);
    if (rc)
        ccai_err_prefix(err, "%s", path);
    return rc;
}
