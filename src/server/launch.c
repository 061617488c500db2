/* The measured launch's event data (blueprint "Measured launch"), in one
 * place so that `ccai serve` (which extends these events into RTMR3) and
 * `ccai measure` (which predicts them, so a policy can be written from the
 * files alone) can never disagree about a byte of them:
 *
 *   ccai.binary {"path", "sha256", "size"}   the executable
 *   ccai.config {...}                        ccai_server_config_json (serve.c)
 *   ccai.model  {"name", "sha256", "size"}   each model, before its first use
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "server/server.h"

char *ccai_model_name_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *stem = ccai_xstrndup(base, n);
    /* A ':' in the stem would read as a tag. */
    for (char *p = stem; *p; p++)
        if (*p == ':')
            *p = '-';
    char *name = ccai_xasprintf("%s:latest", stem);
    free(stem);
    return name;
}

json_t *ccai_launch_model_data(const char *name, const uint8_t sha256[32], uint64_t size)
{
    char hex[65];
    ccai_hex_encode(sha256, 32, hex);
    return json_pack("{s:s, s:s, s:I}", "name", name, "sha256", hex, "size", (json_int_t)size);
}

ccai_code ccai_launch_binary_data(const char *shown_path, const char *open_path, json_t **out,
                                  ccai_err *err)
{
    *out = NULL;
    uint8_t h[32];
    struct stat st;
    /* Hash first, then stat the same name: a file replaced in between is
     * caught by the size in most cases, and serve hashes /proc/self/exe,
     * which cannot be replaced. */
    ccai_code rc = ccai_sha256_file(open_path, h, err);
    if (rc)
        return rc;
    if (stat(open_path, &st) != 0)
        return ccai_fail(err, CCAI_ERR_IO, "%s: %s", open_path, strerror(errno));
    char hex[65];
    ccai_hex_encode(h, 32, hex);
    *out = json_pack("{s:s, s:s, s:I}", "path", shown_path, "sha256", hex, "size",
                     (json_int_t)st.st_size);
    return CCAI_OK;
}
