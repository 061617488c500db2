/* Quote files: see quote_file.h. */
#include "tee/quote_file.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/mem.h"

static ccai_code decode_text(const uint8_t *data, size_t len, uint8_t **out, size_t *outlen,
                             ccai_err *err)
{
    char *t = ccai_xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (isspace(data[i]))
            continue;
        if (data[i] < 0x21 || data[i] > 0x7e) {
            free(t);
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "neither a binary quote (version 4 or 5 at offset 0) nor hex or "
                             "base64 text (byte 0x%02x at offset %zu)",
                             data[i], i);
        }
        t[n++] = (char)data[i];
    }
    t[n] = '\0';
    ccai_code rc = ccai_hex_decode_alloc(t, n, out, outlen, NULL);
    if (rc)
        rc = ccai_b64_decode(t, n, CCAI_B64_STD, out, outlen, NULL);
    if (rc)
        rc = ccai_b64_decode(t, n, CCAI_B64_URL, out, outlen, NULL);
    if (rc)
        ccai_fail(err, CCAI_ERR_PARSE,
                  "not a binary quote (version 4 or 5 at offset 0), and the text is neither "
                  "hex nor base64");
    free(t);
    return rc;
}

ccai_code tdx_quote_read_file(const char *path, uint8_t **out, size_t *len, ccai_err *err)
{
    uint8_t *data = NULL;
    size_t n = 0;
    ccai_code rc = ccai_read_file(path, TDX_QUOTE_FILE_MAX, &data, &n, err);
    if (rc)
        return rc;
    if (n >= 2 && (data[0] == 4 || data[0] == 5) && data[1] == 0) {
        *out = data;
        *len = n;
        return CCAI_OK;
    }
    if (n == 0)
        rc = ccai_fail(err, CCAI_ERR_PARSE, "%s: empty file", path);
    else if ((rc = decode_text(data, n, out, len, err)))
        ccai_err_prefix(err, "%s", path);
    free(data);
    return rc;
}
