/* libFuzzer target for the TDX quote codec (src/tee/quote.c).
 *
 * Beyond "no crash, no leak, no over-read" it checks the codec's contract:
 * whatever parses serializes back to exactly the quote's own bytes (the
 * buffer without its trailing bytes), re-parses to an equal struct, and
 * copies to an equal struct; abort() makes libFuzzer keep the input. The JSON
 * and text views run too, since the CLI shows untrusted quotes with them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tee/quote.h"
#include "tee/quote_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tdx_quote q, again, copy;
    ccai_err err = {0};
    if (tdx_quote_parse(data, size, &q, &err) != CCAI_OK) {
        if (err.msg[0] == '\0')
            abort(); /* every rejection must say why */
        return 0;
    }
    if (q.quote_len + q.trailing_len != size)
        abort();

    uint8_t *out = NULL;
    size_t out_len = 0;
    if (tdx_quote_serialize(&q, &out, &out_len, &err) != CCAI_OK)
        abort();
    if (out_len != q.quote_len || memcmp(out, data, out_len) != 0)
        abort();
    if (tdx_quote_parse(out, out_len, &again, &err) != CCAI_OK)
        abort();
    if (!tdx_quote_equal(&q, &again) || again.trailing_len != 0)
        abort();

    tdx_quote_copy(&copy, &q);
    if (!tdx_quote_equal(&copy, &q))
        abort();

    json_t *j = tdx_quote_to_json(&q);
    if (!j)
        abort();
    char *text = json_dumps(j, JSON_COMPACT);
    free(text);
    json_decref(j);
    size_t listing_len = 0;
    char *listing = NULL;
    FILE *f = open_memstream(&listing, &listing_len);
    if (f) {
        tdx_quote_print_text(f, &q);
        fclose(f);
    }
    free(listing);

    free(out);
    tdx_quote_free(&copy);
    tdx_quote_free(&again);
    tdx_quote_free(&q);
    return 0;
}
