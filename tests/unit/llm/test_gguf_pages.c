/* Tests for gguf_prefer_huge_pages and gguf_huge_fraction (src/llm/gguf.c):
 * a 72 MiB GGUF written the way `cp` would write it sits in the page cache
 * in small folios and maps in 4 KiB pages; after gguf_prefer_huge_pages
 * most of it is mapped in 2 MiB pages, at the same addresses, with the
 * same bytes. Where the kernel or the file system gives the page cache no
 * 2 MiB folios even for a fresh read (tmpfs, older kernels) the test says
 * so and skips. A file mostly in 2 MiB pages but not wholly (a cached
 * model whose folios were split since: three quarters, fifteen
 * sixteenths) is mended too. */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "llm/ggml_types.h"
#include "llm/gguf.h"
#include "llm/gguf_write.h"

enum { N_FLOATS = 18 << 20 }; /* 72 MiB of F32 */

static uint64_t sum_bytes(const uint8_t *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i += 4096)
        s = s * 31 + p[i] + p[n - 1 - i];
    return s;
}

/* Writes buf to path in 4 KiB write(2) calls, which leave it cached in
 * small folios, as a copy does (one large write may leave 2 MiB ones). */
static void write_plain(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, buf + off, len - off < 4096 ? len - off : 4096);
        assert_true(n > 0);
        off += (size_t)n;
    }
    assert_int_equal(fsync(fd), 0);
    close(fd);
}

/* The share in 2 MiB pages of a fresh read on this system: drop the file
 * from the cache, read it back through a huge-page mapping, look. */
static double fresh_read_share(const char *path, size_t len)
{
    ccai_drop_cached(path);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    uint8_t *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    assert_true(p != MAP_FAILED);
    madvise(p, len, MADV_HUGEPAGE);
    volatile uint8_t s = 0;
    for (size_t i = 0; i < len; i += 4096)
        s ^= p[i];
    double share = gguf_huge_fraction(p);
    munmap(p, len);
    return share;
}

/* A temporary directory that is not on tmpfs (NULL: skip the test), and
 * in it the 72 MiB GGUF's bytes (*buf, *len; the file is not written). */
static char *big_gguf(uint8_t **buf, size_t *len)
{
    char *dir = tu_tmpdir();
    struct statfs fs;
    assert_int_equal(statfs(dir, &fs), 0);
    if (fs.f_type == 0x01021994) { /* TMPFS_MAGIC */
        print_message("%s is on tmpfs: skipped\n", dir);
        tu_rm_rf(dir);
        free(dir);
        return NULL;
    }
    float *data = ccai_xmalloc((size_t)N_FLOATS * sizeof *data);
    for (size_t i = 0; i < N_FLOATS; i++)
        data[i] = (float)(i % 1000);
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.name", "pages");
    uint64_t ne[2] = {4096, N_FLOATS / 4096};
    gguf_writer_add_tensor(w, "big", GGML_TYPE_F32, 2, ne, data, (size_t)N_FLOATS * sizeof *data);
    ccai_err err = {0};
    assert_int_equal(gguf_writer_to_buffer(w, buf, len, &err), CCAI_OK);
    gguf_writer_free(w);
    free(data);
    return dir;
}

/* The 72 MiB GGUF's bytes (buf, len) written to path in dir; fresh: the
 * share in 2 MiB pages a fresh read gets here; huge: whether that is most
 * of it (the system caches files in 2 MiB folios at all). */
typedef struct small_file {
    uint8_t *buf;
    size_t len;
    char *dir, *path;
    double fresh;
    bool huge;
} small_file;

/* The file written and cached in the write's small folios; false (nothing
 * made) on tmpfs. */
static bool written_small(small_file *sf)
{
    sf->dir = big_gguf(&sf->buf, &sf->len);
    if (!sf->dir)
        return false;
    sf->path = ccai_xasprintf("%s/big.gguf", sf->dir);
    write_plain(sf->path, sf->buf, sf->len);
    sf->fresh = fresh_read_share(sf->path, sf->len);
    sf->huge = sf->fresh >= 0.5;
    write_plain(sf->path, sf->buf, sf->len); /* cached again in the write's folios */
    return true;
}

/* The file at path opened and read through (all of it resident); *share:
 * the part in 2 MiB pages then. */
static gguf_file *open_touched(const char *path, double *share)
{
    gguf_file *f;
    ccai_err err = {0};
    assert_int_equal(gguf_open(path, &f, &err), CCAI_OK);
    volatile uint8_t touch = 0;
    for (size_t i = 0; i < f->size; i += 4096)
        touch ^= f->base[i];
    *share = gguf_huge_fraction(f->base);
    return f;
}

/* gguf_prefer_huge_pages on f (sf's file): same addresses, same bytes, and
 * where the system has the folios (huge) the file read again: after, at
 * least what a fresh read got here (less 1%); then everything is freed,
 * and the test skipped where it showed nothing. */
static void mend_and_check(gguf_file *f, small_file *sf, bool huge)
{
    const uint8_t *buf = sf->buf;
    size_t len = sf->len;
    const uint8_t *base = f->base;
    double after = gguf_prefer_huge_pages(f);
    assert_ptr_equal(f->base, base);
    assert_int_equal(f->size, len);
    assert_true(sum_bytes(f->base, f->size) == sum_bytes(buf, len));
    assert_true(gguf_find_tensor(f, "big") != NULL);
    if (!huge) {
        print_message("no 2 MiB page-cache folios on this system (share after: %.2f): skipped\n",
                      after);
    } else {
        double want = sf->fresh - 0.01;
        print_message("share in 2 MiB pages after: %.3f (a fresh read: %.3f)\n", after, sf->fresh);
        if (after < want)
            fail_msg("share after the mend: expected at least %.3f, found %.3f", want, after);
    }
    gguf_close(f);
    free(sf->buf);
    tu_rm_rf(sf->dir);
    free(sf->path);
    free(sf->dir);
    if (!huge)
        skip();
}

static void test_prefer_huge_pages(void **state)
{
    (void)state;
    small_file sf;
    if (!written_small(&sf))
        skip();
    double before;
    gguf_file *f = open_touched(sf.path, &before);
    print_message("share in 2 MiB pages as the write left it: %.3f\n", before);
    bool show = sf.huge && before < 0.5;
    if (sf.huge && !show)
        print_message("the write already left 2 MiB folios: nothing to show, skipped\n");
    mend_and_check(f, &sf, show);
}

/* sf's file with its first `head` bytes read back fresh (2 MiB folios)
 * and the rest still in the write's small folios, as a cached model whose
 * folios were split since, opened and read through: mended too, where
 * its share then lies between half and what a fresh read gets. */
static void check_partly_small(small_file *sf, off_t head)
{
    int fd = open(sf->path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(posix_fadvise(fd, 0, head, POSIX_FADV_DONTNEED), 0);
    close(fd);
    double before;
    gguf_file *f = open_touched(sf->path, &before);
    print_message("share in 2 MiB pages, the head read back: %.3f\n", before);
    bool show = sf->huge && before > 0.5 && before < sf->fresh - 0.01;
    if (sf->huge && !show)
        print_message("not between half and a fresh read's %.3f: nothing to show, skipped\n",
                      sf->fresh);
    mend_and_check(f, sf, show);
}

/* Three quarters read back fresh: with the first threshold (half) such a
 * file was left at ~75%. */
static void test_partly_small_mended(void **state)
{
    (void)state;
    small_file sf;
    if (!written_small(&sf))
        skip();
    check_partly_small(&sf, (off_t)(sf.len / 4 * 3) & ~(off_t)((2 << 20) - 1));
}

/* All but the last whole 2 MiB page (and the part page after it) read back
 * fresh, ~97%: with the second threshold (90%) such a file was left as it
 * was, and what stays in small pages streams ~20% slower (gguf.c). */
static void test_mostly_huge_mended(void **state)
{
    (void)state;
    small_file sf;
    if (!written_small(&sf))
        skip();
    check_partly_small(&sf, ((off_t)sf.len & ~(off_t)((2 << 20) - 1)) - (2 << 20));
}

/* Files under 64 MiB are left alone: the share is whatever it was. */
static void test_small_file_untouched(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = ccai_xasprintf("%s/small.gguf", dir);
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.name", "small");
    float v[64] = {1};
    uint64_t ne[1] = {64};
    gguf_writer_add_tensor(w, "v", GGML_TYPE_F32, 1, ne, v, sizeof v);
    ccai_err err = {0};
    assert_int_equal(gguf_writer_write(w, path, &err), CCAI_OK);
    gguf_writer_free(w);
    gguf_file *f;
    assert_int_equal(gguf_open(path, &f, &err), CCAI_OK);
    double share = gguf_prefer_huge_pages(f);
    assert_true(share == -1 || (share >= 0 && share <= 1));
    assert_true(gguf_find_tensor(f, "v") != NULL);
    gguf_close(f);
    tu_rm_rf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefer_huge_pages),
        cmocka_unit_test(test_partly_small_mended),
        cmocka_unit_test(test_mostly_huge_mended),
        cmocka_unit_test(test_small_file_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
