/* Files: see file.h. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"

ccai_code ccai_read_file(const char *path, size_t max, uint8_t **data, size_t *len, ccai_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ccai_fail(err, errno == ENOENT ? CCAI_ERR_NOT_FOUND : CCAI_ERR_IO, "%s: %s", path,
                         strerror(errno));
    ccai_buf b = {0};
    ccai_code rc = CCAI_OK;
    for (;;) {
        ccai_buf_reserve(&b, 65536);
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
        if (b.len > max) {
            rc = ccai_fail(err, CCAI_ERR_ARG, "%s: larger than the %zu-byte limit", path, max);
            break;
        }
    }
    close(fd);
    if (rc) {
        ccai_buf_free(&b);
        return rc;
    }
    ccai_buf_reserve(&b, 1);
    b.data[b.len] = '\0';
    *len = b.len;
    *data = ccai_buf_steal(&b, NULL);
    return CCAI_OK;
}

static ccai_code write_all(int fd, const uint8_t *p, size_t len, const char *path, ccai_err *err)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ccai_fail(err, CCAI_ERR_IO, "%s: write: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return CCAI_OK;
}

ccai_code ccai_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                                 ccai_err *err)
{
    char *tmp = ccai_xasprintf("%s.tmp.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ccai_code rc = ccai_fail(err, CCAI_ERR_IO, "%s: create: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    ccai_code rc = CCAI_OK;
    if (fchmod(fd, mode) != 0)
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: chmod: %s", tmp, strerror(errno));
    if (!rc)
        rc = write_all(fd, data, len, tmp, err);
    if (!rc && fsync(fd) != 0)
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
    close(fd);
    if (!rc && rename(tmp, path) != 0)
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: rename: %s", path, strerror(errno));
    if (!rc) {
        /* Make the rename itself durable: sync the directory entry. */
        char *slash = strrchr(tmp, '/');
        const char *dir = ".";
        if (slash) {
            *slash = '\0';
            dir = tmp[0] ? tmp : "/";
        }
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(tmp);
        return CCAI_OK;
    }
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

ccai_code ccai_mkdir_p(const char *path, mode_t mode, ccai_err *err)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return ccai_fail(err, CCAI_ERR_ARG, "directory path of %zu bytes is not usable", n);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, mode) != 0 && errno != EEXIST)
                return ccai_fail(err, CCAI_ERR_IO, "mkdir %s: %s", buf, strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return ccai_fail(err, CCAI_ERR_IO, "%s: not a directory", path);
    return CCAI_OK;
}

ccai_code ccai_lock(const char *path, int *fd, ccai_err *err)
{
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0)
        return ccai_fail(err, CCAI_ERR_IO, "%s: %s", path, strerror(errno));
    while (flock(f, LOCK_EX) != 0) {
        if (errno != EINTR) {
            ccai_code rc = ccai_fail(err, CCAI_ERR_IO, "%s: lock: %s", path, strerror(errno));
            close(f);
            return rc;
        }
    }
    *fd = f;
    return CCAI_OK;
}

void ccai_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

int ccai_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

void ccai_drop_cached(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)fdatasync(fd);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}
