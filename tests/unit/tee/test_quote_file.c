/* Quote files: binary, hex and base64 text are recognised; anything else is
 * a clear error. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "base/file.h"
#include "base/mem.h"
#include "tee/quote_file.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = tu_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(dir);
    free(dir);
    return 0;
}

static void check(const char *name, const char *content, size_t len, const uint8_t *want,
                  size_t want_len)
{
    char *path = ccai_xasprintf("%s/%s", dir, name);
    tu_write(path, content, len);
    uint8_t *out = NULL;
    size_t n = 0;
    ccai_err err = {0};
    assert_int_equal(tdx_quote_read_file(path, &out, &n, &err), CCAI_OK);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, want_len);
    free(out);
    free(path);
}

static void test_formats(void **state)
{
    (void)state;
    static const uint8_t q[] = {4, 0, 2, 0, 0x81, 0, 0, 0, 0xfb};
    check("bin", (const char *)q, sizeof q, q, sizeof q);
    check("hex", "04000200 81000000\nFB\n", 20, q, sizeof q);
    check("b64", "BAACAIEAAAD7\n", 13, q, sizeof q);
    /* 0x05 0x00 also marks binary (v5). */
    static const uint8_t q5[] = {5, 0, 0xff, 0xfe};
    check("bin5", (const char *)q5, sizeof q5, q5, sizeof q5);
}

static void expect_error(const char *name, const char *content, size_t len, const char *msg)
{
    char *path = ccai_xasprintf("%s/%s", dir, name);
    tu_write(path, content, len);
    uint8_t *out = NULL;
    size_t n = 0;
    ccai_err err = {0};
    assert_int_equal(tdx_quote_read_file(path, &out, &n, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, msg));
    assert_non_null(strstr(err.msg, path));
    free(path);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("empty", "", 0, "empty file");
    expect_error("text", "hello world!", 12, "neither hex nor base64");
    expect_error("binary", "\x01\x02\x03", 3, "byte 0x01 at offset 0");
    ccai_err err = {0};
    uint8_t *out = NULL;
    size_t n = 0;
    char *missing = ccai_xasprintf("%s/missing", dir);
    assert_int_equal(tdx_quote_read_file(missing, &out, &n, &err), CCAI_ERR_NOT_FOUND);
    free(missing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
