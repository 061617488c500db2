/* Tests for src/base/file.c: bounded reads (with the NUL after the data and
 * the size-limit error), atomic writes (mode, replacement, no temporary left
 * behind), mkdir -p, and that ccai_lock excludes another process. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"

static int tmp_setup(void **state)
{
    *state = tu_tmpdir();
    return 0;
}

static int tmp_teardown(void **state)
{
    tu_rm_rf(*state);
    free(*state);
    return 0;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_atomic_write_read_back(void **state)
{
    const char *dir = *state;
    char *path = ccai_xasprintf("%s/state.json", dir);
    ccai_err err = {0};
    assert_int_equal(ccai_write_file_atomic(path, "{\"a\":1}", 7, 0640, &err), CCAI_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);

    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(ccai_read_file(path, 7, &data, &len, &err), CCAI_OK);
    assert_int_equal(len, 7);
    assert_memory_equal(data, "{\"a\":1}", 7);
    assert_int_equal(data[7], '\0'); /* readers may treat it as a string */
    free(data);

    /* Replacing keeps exactly one file: no temporary is left behind. */
    static const uint8_t bin[] = {0, 1, 2, 0, 255};
    assert_int_equal(ccai_write_file_atomic(path, bin, sizeof bin, 0600, &err), CCAI_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(ccai_read_file(path, 1 << 20, &data, &len, &err), CCAI_OK);
    assert_int_equal(len, sizeof bin);
    assert_memory_equal(data, bin, sizeof bin);
    free(data);
    assert_int_equal(count_entries(dir), 1);

    /* Empty content is a valid file. */
    assert_int_equal(ccai_write_file_atomic(path, "", 0, 0600, &err), CCAI_OK);
    assert_int_equal(ccai_read_file(path, 0, &data, &len, &err), CCAI_OK);
    assert_int_equal(len, 0);
    assert_int_equal(data[0], '\0');
    free(data);
    free(path);
}

static void test_read_limit_and_absence(void **state)
{
    const char *dir = *state;
    char *path = ccai_xasprintf("%s/ten", dir);
    tu_write(path, "0123456789", 10);
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_err err = {0};
    assert_int_equal(ccai_read_file(path, 10, &data, &len, &err), CCAI_OK);
    assert_int_equal(len, 10);
    free(data);
    data = NULL;
    assert_int_equal(ccai_read_file(path, 9, &data, &len, &err), CCAI_ERR_ARG);
    char *want = ccai_xasprintf("%s: larger than the 9-byte limit", path);
    assert_string_equal(err.msg, want);
    assert_null(data);
    free(want);
    free(path);

    /* A larger file over several internal reads. */
    path = ccai_xasprintf("%s/big", dir);
    size_t n = 200000;
    uint8_t *big = ccai_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 7);
    tu_write(path, big, n);
    assert_int_equal(ccai_read_file(path, n, &data, &len, &err), CCAI_OK);
    assert_int_equal(len, n);
    assert_memory_equal(data, big, n);
    free(data);
    data = NULL;
    assert_int_equal(ccai_read_file(path, n - 1, &data, &len, &err), CCAI_ERR_ARG);
    assert_null(data);
    free(big);
    free(path);

    path = ccai_xasprintf("%s/absent", dir);
    assert_int_equal(ccai_read_file(path, 10, &data, &len, &err), CCAI_ERR_NOT_FOUND);
    want = ccai_xasprintf("%s: No such file or directory", path);
    assert_string_equal(err.msg, want);
    free(want);
    assert_int_equal(ccai_exists(path), 0);
    free(path);
    /* A directory cannot be read as a file. */
    assert_int_equal(ccai_read_file(dir, 10, &data, &len, &err), CCAI_ERR_IO);
}

static void test_atomic_write_failure(void **state)
{
    const char *dir = *state;
    char *path = ccai_xasprintf("%s/no/such/dir/file", dir);
    ccai_err err = {0};
    assert_int_equal(ccai_write_file_atomic(path, "x", 1, 0600, &err), CCAI_ERR_IO);
    assert_non_null(strstr(err.msg, "/no/such/dir/file.tmp."));
    assert_non_null(strstr(err.msg, ": create: No such file or directory"));
    free(path);
}

static void test_mkdir_p(void **state)
{
    const char *dir = *state;
    char *path = ccai_xasprintf("%s/a/b/c", dir);
    ccai_err err = {0};
    assert_int_equal(ccai_mkdir_p(path, 0700, &err), CCAI_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_true(ccai_exists(path));
    /* Existing directories are fine, with or without a trailing slash. */
    assert_int_equal(ccai_mkdir_p(path, 0700, &err), CCAI_OK);
    char *slash = ccai_xasprintf("%s/a/b/d/", dir);
    assert_int_equal(ccai_mkdir_p(slash, 0700, &err), CCAI_OK);
    assert_int_equal(stat(slash, &st), 0);
    free(slash);
    free(path);

    /* A file in the way. */
    char *file = ccai_xasprintf("%s/a/f", dir);
    tu_write(file, "x", 1);
    assert_int_equal(ccai_mkdir_p(file, 0700, &err), CCAI_ERR_IO);
    char *want = ccai_xasprintf("%s: not a directory", file);
    assert_string_equal(err.msg, want);
    free(want);
    char *below = ccai_xasprintf("%s/g", file);
    assert_int_equal(ccai_mkdir_p(below, 0700, &err), CCAI_ERR_IO);
    want = ccai_xasprintf("mkdir %s: Not a directory", below);
    assert_string_equal(err.msg, want);
    free(want);
    free(below);
    free(file);

    assert_int_equal(ccai_mkdir_p("", 0700, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "directory path of 0 bytes is not usable");
}

/* The parent holds the lock; a child blocks in ccai_lock until the parent
 * lets go, and reports through a pipe when it got it. */
static void test_lock_excludes_another_process(void **state)
{
    const char *dir = *state;
    char *path = ccai_xasprintf("%s/lock", dir);
    int fd = -1;
    ccai_err err = {0};
    assert_int_equal(ccai_lock(path, &fd, &err), CCAI_OK);
    assert_true(fd >= 0);

    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        /* A non-blocking attempt through a fresh descriptor must fail now. */
        int probe = open(path, O_RDWR);
        char r = (probe >= 0 && flock(probe, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
                     ? 'w'
                     : 'W';
        if (write(p[1], &r, 1) != 1)
            _exit(2);
        int cfd = -1;
        ccai_err cerr = {0};
        if (ccai_lock(path, &cfd, &cerr) != CCAI_OK)
            _exit(3);
        r = 'g';
        if (write(p[1], &r, 1) != 1)
            _exit(4);
        ccai_unlock(cfd);
        _exit(0);
    }
    close(p[1]);
    char c = 0;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'w');
    /* While we hold the lock the child must not get it. */
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 300), 0);
    ccai_unlock(fd);
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'g');
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(p[0]);

    /* The lock is free again. */
    assert_int_equal(ccai_lock(path, &fd, &err), CCAI_OK);
    ccai_unlock(fd);
    ccai_unlock(-1); /* no-op */
    free(path);

    char *bad = ccai_xasprintf("%s/missing/lock", dir);
    assert_int_equal(ccai_lock(bad, &fd, &err), CCAI_ERR_IO);
    free(bad);
}

/* Pages of path in the page cache (mincore over a mapping that touches
 * nothing), of its first n pages. */
static size_t cached_pages(const char *path, size_t n)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    long pg = sysconf(_SC_PAGESIZE);
    void *map = mmap(NULL, n * (size_t)pg, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(map != MAP_FAILED);
    unsigned char *vec = ccai_xmalloc(n);
    assert_int_equal(mincore(map, n * (size_t)pg, vec), 0);
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += vec[i] & 1;
    free(vec);
    munmap(map, n * (size_t)pg);
    return c;
}

/* A file just written is in the page cache; ccai_drop_cached writes it
 * back and drops it (the next reader reads it from disk, in the large
 * folios a huge-page mapping asks for), the contents unchanged. A missing
 * file is no error. */
static void test_drop_cached(void **state)
{
    const char *dir = *state;
    char *path = ccai_xasprintf("%s/model.bin", dir);
    size_t pages = 256, len = pages * (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *data = ccai_xmalloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 7);
    ccai_err err = {0};
    assert_int_equal(ccai_write_file_atomic(path, data, len, 0644, &err), CCAI_OK);
    struct statfs fs;
    assert_int_equal(statfs(dir, &fs), 0);
    if (fs.f_type == 0x01021994 /* TMPFS_MAGIC: memory is its only copy */ ||
        cached_pages(path, pages) == 0) {
        print_message("%s is on tmpfs or caches nothing: skipped\n", dir);
        skip();
    }
    ccai_drop_cached(path);
    assert_int_equal(cached_pages(path, pages), 0);
    uint8_t *back = NULL;
    size_t n = 0;
    assert_int_equal(ccai_read_file(path, len, &back, &n, &err), CCAI_OK);
    assert_int_equal(n, len);
    assert_memory_equal(back, data, len);
    ccai_drop_cached("/nonexistent/ccai/model.bin");
    free(back);
    free(data);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_atomic_write_read_back, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_read_limit_and_absence, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_atomic_write_failure, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_drop_cached, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_p, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_lock_excludes_another_process, tmp_setup,
                                        tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
