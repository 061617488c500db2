/* Tests for src/base/mem.c: allocation helpers, growable buffers with their
 * little-endian appenders, loads and stores, wiping and constant-time
 * equality, and that allocation failure ends the process instead of
 * returning NULL. */
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/mem.h"

static void test_strings(void **state)
{
    (void)state;
    char *s = ccai_xstrdup("tdx");
    assert_string_equal(s, "tdx");
    free(s);
    s = ccai_xstrndup("measurement", 4);
    assert_string_equal(s, "meas");
    free(s);
    s = ccai_xstrndup("ab", 10); /* n beyond the string: the whole string */
    assert_string_equal(s, "ab");
    free(s);
    s = ccai_xasprintf("%s-%d-%05.1f", "rtmr", 3, 2.5);
    assert_string_equal(s, "rtmr-3-002.5");
    free(s);
    s = ccai_xasprintf("%s", "");
    assert_string_equal(s, "");
    free(s);
    /* A long result is not cut at some internal buffer size. */
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s = ccai_xasprintf("<%s>", big);
    assert_int_equal(strlen(s), 5001);
    assert_int_equal(s[0], '<');
    assert_int_equal(s[5000], '>');
    free(s);
}

static void test_alloc(void **state)
{
    (void)state;
    /* Zero-size requests still give a pointer the caller may free. */
    void *p = ccai_xmalloc(0);
    assert_non_null(p);
    free(p);
    uint8_t *z = ccai_xcalloc(16, 4);
    for (int i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    z = ccai_xrealloc(z, 128);
    assert_int_equal(z[63], 0);
    free(z);
    p = ccai_xcalloc(0, 0);
    assert_non_null(p);
    free(p);
    uint8_t *d = ccai_xmemdup("\x01\x00\x02", 3);
    assert_memory_equal(d, "\x01\x00\x02", 3);
    free(d);
    d = ccai_xmemdup(NULL, 0);
    assert_non_null(d);
    free(d);
}

static void test_out_of_memory_aborts(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* No allocator hands out this much; the helper must not return NULL. */
        void *p = ccai_xmalloc(SIZE_MAX / 2);
        _exit(p ? 3 : 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* abort() (or the sanitizer's own report) ends the child; it never
     * comes back with NULL (exit 0) or a pointer (exit 3). */
    assert_false(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3));
}

static void test_buffer_layout(void **state)
{
    (void)state;
    ccai_buf b = {0};
    ccai_buf_u8(&b, 0x81);
    ccai_buf_u16le(&b, 0x0102);
    ccai_buf_u32le(&b, 0x03040506);
    ccai_buf_u64le(&b, 0x0708090a0b0c0d0eULL);
    ccai_buf_append_str(&b, "ab");
    ccai_buf_zeros(&b, 3);
    ccai_buf_append(&b, NULL, 0);
    static const uint8_t want[] = {0x81, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0e,
                                   0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08, 0x07, 'a',
                                   'b',  0,    0,    0};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    assert_true(b.cap >= b.len);

    size_t len = 0;
    uint8_t *stolen = ccai_buf_steal(&b, &len);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(stolen, want, sizeof want);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(stolen);

    /* Stealing an empty buffer still gives a pointer to free. */
    stolen = ccai_buf_steal(&b, &len);
    assert_non_null(stolen);
    assert_int_equal(len, 0);
    free(stolen);
}

static void test_buffer_growth(void **state)
{
    (void)state;
    ccai_buf b = {0};
    for (int i = 0; i < 100000; i++)
        ccai_buf_u8(&b, (uint8_t)(i * 13));
    assert_int_equal(b.len, 100000);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(b.data[i], (uint8_t)(i * 13));
    ccai_buf_reserve(&b, 1 << 20);
    assert_true(b.cap >= b.len + (1 << 20));
    assert_int_equal(b.len, 100000);
    ccai_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    ccai_buf_free(&b); /* twice is harmless */
}

static void test_endian(void **state)
{
    (void)state;
    static const uint8_t p[8] = {0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01};
    assert_int_equal(ccai_le16(p), 0xcdef);
    assert_int_equal(ccai_le32(p), 0x89abcdefu);
    assert_true(ccai_le64(p) == 0x0123456789abcdefULL);
    uint8_t q[8];
    ccai_put_le16(q, 0xcdef);
    assert_memory_equal(q, p, 2);
    ccai_put_le32(q, 0x89abcdefu);
    assert_memory_equal(q, p, 4);
    ccai_put_le64(q, 0x0123456789abcdefULL);
    assert_memory_equal(q, p, 8);
    static const uint8_t top[4] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(ccai_le32(top), 0xffffffffu);
}

static void test_wipe_and_ct_equal(void **state)
{
    (void)state;
    uint8_t secret[32];
    memset(secret, 0xa5, sizeof secret);
    ccai_wipe(secret, sizeof secret);
    for (size_t i = 0; i < sizeof secret; i++)
        assert_int_equal(secret[i], 0);
    ccai_wipe(NULL, 10); /* no-op */

    assert_true(ccai_ct_equal("abcdef", "abcdef", 6));
    assert_false(ccai_ct_equal("abcdef", "abcdeg", 6));
    assert_false(ccai_ct_equal("xbcdef", "abcdef", 6));
    assert_true(ccai_ct_equal("abc", "abd", 2));
    assert_true(ccai_ct_equal("a", "b", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_alloc),
        cmocka_unit_test(test_out_of_memory_aborts),
        cmocka_unit_test(test_buffer_layout),
        cmocka_unit_test(test_buffer_growth),
        cmocka_unit_test(test_endian),
        cmocka_unit_test(test_wipe_and_ct_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
