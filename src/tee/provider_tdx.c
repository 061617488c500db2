/* The `tdx` TEE provider: evidence from a real TD through the Linux guest
 * interfaces (tdx-facts §4).
 *
 *   quotes        configfs-tsm: one report entry per quote, generation
 *                 checked before and after so a concurrent writer on the same
 *                 entry is detected and the quote retaken;
 *   RTMR extend   sysfs measurements/rtmr<N>:sha384 (Linux 6.16+);
 *   registers     the same sysfs directory, or, on older kernels, the TD
 *                 report body of a quote taken over zero report data;
 *   CCEL          the ACPI firmware event log file.
 *
 * Every path comes from tee_config, so the unit tests drive this file against
 * a fake configfs/sysfs tree. The report-body offsets used by the fallback are
 * bounds-checked here on purpose: this file does not depend on the quote
 * parser (separate stages, tdx-facts §1). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "tee/provider.h"

enum {
    TDX_QUOTE_MAX = 1 << 20,     /* real quotes are ~5 KiB; anything near 1 MiB is wrong */
    TDX_CCEL_MAX = 16 << 20,     /* firmware logs are tens of KiB; bound it anyway */
    TDX_QUOTE_ATTEMPTS = 3,
    TDX_ENTRY_TRIES = 64,        /* fresh entry names to try when one exists */
    TDX_ATTR_WAIT_MS = 2000,     /* see wait_for_attributes */
    TDX_REG = 48,                /* SHA-384 measurement registers */
};

typedef struct tdx_impl {
    char *tsm_root;
    char *measurements;
    char *ccel_path;
    /* Entry names are "ccai-<pid>-<n>"; n makes them unique within the
     * process even when several threads take quotes at once. */
    atomic_uint next_entry;
} tdx_impl;

static const char *tsm_root_of(const tee_config *cfg)
{
    return cfg && cfg->tsm_root ? cfg->tsm_root : TEE_DEFAULT_TSM_ROOT;
}

/* Reads a small attribute (provider, generation, a register) until EOF into
 * buf. Fails when it holds more than cap bytes. */
static ccai_code read_small(const char *path, uint8_t *buf, size_t cap, size_t *len,
                            ccai_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ccai_fail(err, errno == ENOENT ? CCAI_ERR_NOT_FOUND : CCAI_ERR_IO, "%s: %s",
                         path, strerror(errno));
    size_t n = 0;
    ccai_code rc = CCAI_OK;
    for (;;) {
        uint8_t tmp[256];
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        if ((size_t)r > cap - n) {
            rc = ccai_fail(err, CCAI_ERR_PARSE, "%s: expected at most %zu bytes, found more",
                           path, cap);
            break;
        }
        memcpy(buf + n, tmp, (size_t)r);
        n += (size_t)r;
    }
    close(fd);
    *len = n;
    return rc;
}

/* A text attribute without its trailing newline, NUL-terminated. */
static ccai_code read_text(const char *path, char *out, size_t cap, ccai_err *err)
{
    size_t n = 0;
    ccai_code rc = read_small(path, (uint8_t *)out, cap - 1, &n, err);
    if (rc)
        return rc;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        n--;
    out[n] = '\0';
    return CCAI_OK;
}

static ccai_code read_generation(const char *entry, uint64_t *gen, ccai_err *err)
{
    char *path = ccai_xasprintf("%s/generation", entry);
    char text[32];
    ccai_code rc = read_text(path, text, sizeof text, err);
    if (!rc) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno)
            rc = ccai_fail(err, CCAI_ERR_PARSE,
                           "%s: expected a decimal generation count, found \"%s\"", path, text);
        else
            *gen = v;
    }
    free(path);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* configfs creates an entry's attributes together with the directory, so on
 * a real kernel the first check succeeds. User-space emulations of the
 * interface (the unit tests' fake kernel) populate the entry just after the
 * mkdir; a short bounded wait lets them, and costs nothing otherwise. */
static ccai_code wait_for_attributes(const char *entry, ccai_err *err)
{
    char *path = ccai_xasprintf("%s/provider", entry);
    ccai_code rc = CCAI_OK;
    for (long waited = 0; access(path, F_OK) != 0; waited++) {
        if (errno != ENOENT || waited >= TDX_ATTR_WAIT_MS) {
            rc = ccai_fail(err, CCAI_ERR_NOT_FOUND,
                           "configfs-tsm entry %s has no provider attribute (%s)", entry,
                           errno == ENOENT ? "not a configfs-tsm report directory?"
                                           : strerror(errno));
            break;
        }
        sleep_ms(1);
    }
    free(path);
    return rc;
}

/* Creates a fresh report entry under root; *entry is malloc'd, the caller
 * frees it after rmdir. tag tells quote entries from availability probes. */
static ccai_code make_entry(const char *root, const char *tag, atomic_uint *counter,
                            char **entry, ccai_err *err)
{
    for (int i = 0; i < TDX_ENTRY_TRIES; i++) {
        unsigned n = atomic_fetch_add(counter, 1u);
        char *path = ccai_xasprintf("%s/ccai-%ld-%s%u", root, (long)getpid(), tag, n);
        if (mkdir(path, 0700) == 0) {
            *entry = path;
            return CCAI_OK;
        }
        int e = errno;
        free(path);
        if (e == EEXIST)
            continue;
        if (e == ENOENT)
            return ccai_fail(err, CCAI_ERR_NOT_FOUND,
                             "configfs-tsm root %s is absent (needs a TDX guest with Linux 6.7+)",
                             root);
        return ccai_fail(err, CCAI_ERR_IO, "configfs-tsm: mkdir in %s: %s", root, strerror(e));
    }
    return ccai_fail(err, CCAI_ERR_BUSY, "configfs-tsm: no free entry name in %s after %d tries",
                     root, TDX_ENTRY_TRIES);
}

/* Opens an entry and checks that it belongs to the TDX guest driver. */
static ccai_code open_entry(const char *root, const char *tag, atomic_uint *counter,
                            char **entry, ccai_err *err)
{
    ccai_code rc = make_entry(root, tag, counter, entry, err);
    if (rc)
        return rc;
    rc = wait_for_attributes(*entry, err);
    if (!rc) {
        char *path = ccai_xasprintf("%s/provider", *entry);
        char prov[64];
        rc = read_text(path, prov, sizeof prov, err);
        if (!rc && strcmp(prov, "tdx_guest") != 0)
            rc = ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                           "configfs-tsm provider is \"%s\", expected \"tdx_guest\" (%s)", prov,
                           path);
        free(path);
    }
    if (rc) {
        rmdir(*entry);
        free(*entry);
        *entry = NULL;
    }
    return rc;
}

/* configfs buffers a binary attribute and hands it to the driver on close,
 * so close() is where the quote request can fail. */
static ccai_code write_inblob(const char *entry, const uint8_t report_data[64], ccai_err *err)
{
    char *path = ccai_xasprintf("%s/inblob", entry);
    ccai_code rc = CCAI_OK;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: %s", path, strerror(errno));
    } else {
        ssize_t n;
        do
            n = write(fd, report_data, 64);
        while (n < 0 && errno == EINTR);
        if (n != 64)
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: expected to write 64 bytes, wrote %zd (%s)",
                           path, n, n < 0 ? strerror(errno) : "short write");
        if (close(fd) != 0 && !rc)
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: close: %s", path, strerror(errno));
    }
    free(path);
    return rc;
}

/* Reads all of outblob (the driver generates the quote on the first read). */
static ccai_code read_outblob(const char *entry, uint8_t **quote, size_t *len, ccai_err *err)
{
    char *path = ccai_xasprintf("%s/outblob", entry);
    ccai_code rc = CCAI_OK;
    ccai_buf b = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        ccai_buf_reserve(&b, 16384);
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
        if (b.len > TDX_QUOTE_MAX) {
            rc = ccai_fail(err, CCAI_ERR_PARSE, "%s: quote larger than the %d-byte limit", path,
                           TDX_QUOTE_MAX);
            break;
        }
    }
    close(fd);
    if (!rc && b.len == 0)
        rc = ccai_fail(err, CCAI_ERR_IO, "%s: expected a quote, found an empty outblob", path);
out:
    if (rc) {
        ccai_buf_free(&b);
    } else {
        *quote = ccai_buf_steal(&b, len);
    }
    free(path);
    return rc;
}

/* One write/read round; *raced is set when generation did not move by
 * exactly our one write. */
static ccai_code quote_round(const char *entry, const uint8_t report_data[64], uint8_t **quote,
                             size_t *len, uint64_t gen[2], ccai_err *err)
{
    ccai_code rc = read_generation(entry, &gen[0], err);
    if (!rc)
        rc = write_inblob(entry, report_data, err);
    if (!rc)
        rc = read_outblob(entry, quote, len, err);
    if (rc)
        return rc;
    rc = read_generation(entry, &gen[1], err);
    if (rc) {
        free(*quote);
        *quote = NULL;
    }
    return rc;
}

static ccai_code tdx_get_quote(tee_provider *p, const uint8_t report_data[64], uint8_t **quote,
                               size_t *quote_len, ccai_err *err)
{
    tdx_impl *t = p->impl;
    char *entry = NULL;
    ccai_code rc = open_entry(t->tsm_root, "", &t->next_entry, &entry, err);
    if (rc)
        return rc;
    uint64_t gen[2] = {0, 0};
    for (int attempt = 1;; attempt++) {
        uint8_t *q = NULL;
        size_t qlen = 0;
        rc = quote_round(entry, report_data, &q, &qlen, gen, err);
        if (rc)
            break;
        if (gen[1] == gen[0] + 1) {
            *quote = q;
            *quote_len = qlen;
            break;
        }
        /* Someone else wrote inblob between our reads: the quote may hold
         * their report data, not ours. */
        free(q);
        if (attempt == TDX_QUOTE_ATTEMPTS) {
            rc = ccai_fail(err, CCAI_ERR_BUSY,
                           "configfs-tsm generation changed from %" PRIu64 " to %" PRIu64
                           " during the quote (concurrent writer); gave up after %d attempts",
                           gen[0], gen[1], TDX_QUOTE_ATTEMPTS);
            break;
        }
    }
    /* Always remove the entry: configfs keeps it (and its quote) otherwise. */
    if (rmdir(entry) != 0 && !rc) {
        rc = ccai_fail(err, CCAI_ERR_IO, "configfs-tsm: rmdir %s: %s", entry, strerror(errno));
        free(*quote);
        *quote = NULL;
    }
    free(entry);
    return rc;
}

bool tee_tdx_available(const tee_config *cfg)
{
    const char *root = tsm_root_of(cfg);
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return false;
    atomic_uint counter = 0;
    char *entry = NULL;
    if (open_entry(root, "probe-", &counter, &entry, NULL) != CCAI_OK)
        return false;
    rmdir(entry);
    free(entry);
    return true;
}

static ccai_code tdx_extend_rtmr(tee_provider *p, unsigned index, const uint8_t digest[48],
                                 ccai_err *err)
{
    tdx_impl *t = p->impl;
    if (index > 3)
        return ccai_fail(err, CCAI_ERR_ARG, "RTMR index %u out of range (expected 0..3)", index);
    char *path = ccai_xasprintf("%s/rtmr%u:sha384", t->measurements, index);
    ccai_code rc = CCAI_OK;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT
                 ? ccai_fail(err, CCAI_ERR_UNSUPPORTED, "RTMR extend needs Linux 6.16+ (%s is absent)",
                             path)
                 : ccai_fail(err, CCAI_ERR_IO, "%s: %s", path, strerror(errno));
    } else {
        /* The kernel extends on one whole 48-byte write at offset 0. */
        ssize_t n;
        do
            n = pwrite(fd, digest, TDX_REG, 0);
        while (n < 0 && errno == EINTR);
        if (n != TDX_REG)
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: expected to write 48 bytes, wrote %zd (%s)",
                           path, n, n < 0 ? strerror(errno) : "short write");
        if (close(fd) != 0 && !rc)
            rc = ccai_fail(err, CCAI_ERR_IO, "%s: close: %s", path, strerror(errno));
    }
    free(path);
    return rc;
}

static ccai_code read_register(const char *dir, const char *name, uint8_t out[48], ccai_err *err)
{
    char *path = ccai_xasprintf("%s/%s", dir, name);
    uint8_t buf[TDX_REG];
    size_t n = 0;
    /* The kernel ABI returns the raw register, not hex text. */
    ccai_code rc = read_small(path, buf, sizeof buf, &n, err);
    if (!rc && n != TDX_REG)
        rc = ccai_fail(err, CCAI_ERR_PARSE, "%s: expected %d raw bytes, found %zu", path, TDX_REG,
                       n);
    if (!rc)
        memcpy(out, buf, TDX_REG);
    free(path);
    return rc;
}

/* Fallback for kernels without the measurements directory: the registers
 * as a quote's TD report body carries them (tdx-facts §1). */
static ccai_code measurements_from_quote(tee_provider *p, tee_measurements *out, ccai_err *err)
{
    static const uint8_t zero[64];
    uint8_t *q = NULL;
    size_t len = 0;
    ccai_code rc = tdx_get_quote(p, zero, &q, &len, err);
    if (rc)
        return rc;
    size_t body = 0, body_len = 584;
    unsigned version = len >= 2 ? ccai_le16(q) : 0;
    if (version == 4) {
        body = 48;
    } else if (version == 5 && len >= 54) {
        unsigned type = ccai_le16(q + 48);
        uint32_t size = ccai_le32(q + 50);
        if ((type != 2 || size != 584) && (type != 3 || size != 648))
            rc = ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                           "quote v5: expected a TDX body (type 2 of 584 bytes or 3 of 648), found "
                           "type %u of %" PRIu32 " bytes",
                           type, size);
        body = 54;
        body_len = size;
    } else {
        rc = ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                       "quote: expected version 4 or 5 of at least 54 bytes, found version %u in %zu "
                       "bytes",
                       version, len);
    }
    if (!rc && len - body < body_len)
        rc = ccai_fail(err, CCAI_ERR_PARSE,
                       "quote: TD report body of %zu bytes at offset %zu exceeds the %zu-byte quote",
                       body_len, body, len);
    if (!rc) {
        const uint8_t *b = q + body;
        memcpy(out->mr_td, b + 136, TDX_REG);
        memcpy(out->mr_config_id, b + 184, TDX_REG);
        memcpy(out->mr_owner, b + 232, TDX_REG);
        memcpy(out->mr_owner_config, b + 280, TDX_REG);
        for (int i = 0; i < 4; i++)
            memcpy(out->rtmr[i], b + 328 + TDX_REG * i, TDX_REG);
    } else {
        ccai_err_prefix(err, "reading measurements from a quote");
    }
    free(q);
    return rc;
}

static ccai_code tdx_read_measurements(tee_provider *p, tee_measurements *out, ccai_err *err)
{
    tdx_impl *t = p->impl;
    struct stat st;
    if (stat(t->measurements, &st) != 0 && errno == ENOENT)
        return measurements_from_quote(p, out, err);
    tee_measurements m;
    ccai_code rc = read_register(t->measurements, "mrtd:sha384", m.mr_td, err);
    if (!rc)
        rc = read_register(t->measurements, "mrconfigid", m.mr_config_id, err);
    if (!rc)
        rc = read_register(t->measurements, "mrowner", m.mr_owner, err);
    if (!rc)
        rc = read_register(t->measurements, "mrownerconfig", m.mr_owner_config, err);
    for (unsigned i = 0; i < 4 && !rc; i++) {
        char name[32];
        snprintf(name, sizeof name, "rtmr%u:sha384", i);
        rc = read_register(t->measurements, name, m.rtmr[i], err);
    }
    if (!rc)
        *out = m;
    return rc;
}

static ccai_code tdx_read_ccel(tee_provider *p, uint8_t **data, size_t *len, ccai_err *err)
{
    tdx_impl *t = p->impl;
    ccai_code rc = ccai_read_file(t->ccel_path, TDX_CCEL_MAX, data, len, err);
    if (rc == CCAI_ERR_NOT_FOUND)
        return ccai_fail(err, CCAI_ERR_NOT_FOUND, "no CCEL firmware event log (%s is absent)",
                         t->ccel_path);
    if (rc)
        ccai_err_prefix(err, "CCEL event log");
    return rc;
}

static void tdx_destroy(tee_provider *p)
{
    tdx_impl *t = p->impl;
    if (!t)
        return;
    free(t->tsm_root);
    free(t->measurements);
    free(t->ccel_path);
    free(t);
    p->impl = NULL;
}

static const tee_provider_ops tdx_ops = {
    .name = "tdx",
    .tee = "tdx",
    .get_quote = tdx_get_quote,
    .extend_rtmr = tdx_extend_rtmr,
    .read_measurements = tdx_read_measurements,
    .read_ccel = tdx_read_ccel,
    .destroy = tdx_destroy,
};

/* Opening checks only that the configfs-tsm root exists (cheap, no entry is
 * created); the provider attribute is checked on every quote. */
ccai_code tee_provider_open_tdx(const tee_config *cfg, tee_provider **out, ccai_err *err)
{
    if (!cfg || !cfg->state_dir)
        return ccai_fail(err, CCAI_ERR_ARG, "tdx provider: a state directory is required");
    const char *root = tsm_root_of(cfg);
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return ccai_fail(err, CCAI_ERR_NOT_FOUND,
                         "tdx provider: configfs-tsm root %s is absent (needs a TDX guest with "
                         "Linux 6.7+; use --tee sim for the simulated TD)",
                         root);
    char *dir = ccai_xasprintf("%s/tdx", cfg->state_dir);
    ccai_code rc = ccai_mkdir_p(dir, 0700, err);
    if (rc) {
        ccai_err_prefix(err, "tdx provider runtime directory");
        free(dir);
        return rc;
    }
    tdx_impl *t = ccai_xcalloc(1, sizeof *t);
    t->tsm_root = ccai_xstrdup(root);
    t->measurements =
        ccai_xstrdup(cfg->measurements ? cfg->measurements : TEE_DEFAULT_TDX_MEASUREMENTS);
    t->ccel_path = ccai_xstrdup(cfg->ccel_path ? cfg->ccel_path : TEE_DEFAULT_CCEL_DATA);
    atomic_init(&t->next_entry, 0u);
    tee_provider *p = ccai_xcalloc(1, sizeof *p);
    p->ops = &tdx_ops;
    p->impl = t;
    p->runtime_dir = dir;
    *out = p;
    return CCAI_OK;
}
