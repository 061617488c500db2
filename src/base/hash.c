/* SHA-2 helpers: see hash.h. */
#include "base/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void digest(const EVP_MD *md, const void *data, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    /* EVP_Digest only fails on allocation failure inside OpenSSL. */
    if (!EVP_Digest(data, len, out, &n, md, NULL))
        abort();
}

void ccai_sha256(const void *data, size_t len, uint8_t out[32])
{
    digest(EVP_sha256(), data, len, out);
}

void ccai_sha384(const void *data, size_t len, uint8_t out[48])
{
    digest(EVP_sha384(), data, len, out);
}

void ccai_sha512(const void *data, size_t len, uint8_t out[64])
{
    digest(EVP_sha512(), data, len, out);
}

void ccai_sha384_extend(uint8_t reg[48], const uint8_t digest48[48])
{
    uint8_t buf[96];
    memcpy(buf, reg, 48);
    memcpy(buf + 48, digest48, 48);
    ccai_sha384(buf, sizeof buf, reg);
}

ccai_code ccai_sha256_file(const char *path, uint8_t out[32], ccai_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ccai_fail(err, errno == ENOENT ? CCAI_ERR_NOT_FOUND : CCAI_ERR_IO, "%s: %s", path,
                         strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        abort();
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        abort();
    ccai_code rc = CCAI_OK;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    }
    unsigned int len = 0;
    if (!rc)
        EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    return rc;
}
