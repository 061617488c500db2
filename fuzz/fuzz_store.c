/* Fuzz target: the model store's parsers (src/store/name.c, manifest.c), the
 * two places where a registry or a user hands the store text that becomes
 * file paths. The first byte picks the parser. A name that parses must
 * format back to a name that parses to the same parts, and no part may be
 * able to leave its directory or read as an option; a manifest that parses must name exactly one
 * model layer with a well-formed digest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A part becomes one path component: never empty, ".", "..", a '/' or a
 * leading '.' or '-' ("a..b" is a harmless name). */
static void path_safe(const char *part)
{
    if (!part[0] || strchr(part, '/') || part[0] == '.' || part[0] == '-')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 70000)
        return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1) {
        store_name n, again;
        if (store_name_parse(text, &n, NULL) == CCAI_OK) {
            path_safe(n.ns);
            path_safe(n.model);
            path_safe(n.tag);
            char back[700];
            store_name_format(&n, back, sizeof back);
            if (store_name_parse(back, &again, NULL) != CCAI_OK || !store_name_equal(&n, &again))
                abort();
        }
    } else {
        store_manifest m;
        ccai_err err;
        if (store_manifest_parse(text, size - 1, &m, &err) == CCAI_OK) {
            char hex[65];
            if (m.model < 0 || (size_t)m.model >= m.n_layers ||
                store_digest_parse(m.layers[m.model].digest, hex, NULL) != CCAI_OK)
                abort();
        }
    }
    free(text);
    return 0;
}
