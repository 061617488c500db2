/* Test helpers: see testutil.h. */
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"

const char *tu_shared_path(const char *rel)
{
    static char buf[4096];
    const char *env = getenv("CCAI_SHARED_DIR");
    const char *dir = env && *env ? env : CCAI_SHARED_DIR;
    snprintf(buf, sizeof buf, "%s/%s", dir, rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

uint8_t *tu_read(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    ccai_err err = {0};
    if (ccai_read_file(path, 1u << 30, &data, len, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    return data;
}

char *tu_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char *tmpl = ccai_xasprintf("%s/ccai-test-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpl))
        fail_msg("mkdtemp %s failed", tmpl);
    return tmpl;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rm_rf(const char *path)
{
    if (path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len)
        fail_msg("cannot write %s", path);
    fclose(f);
}
