/* Tests for src/base/err.c: ccai_fail, the context prefix (including
 * messages and contexts long enough to truncate, which must stay
 * NUL-terminated inside the buffer), clearing, and the stable code names. */
#include "testutil.h"

#include <string.h>

#include "base/err.h"

static void test_fail(void **state)
{
    (void)state;
    ccai_err err = {0};
    assert_int_equal(ccai_fail(&err, CCAI_ERR_PARSE, "offset %d: expected %s, found %s", 632,
                               "4", "5"),
                     CCAI_ERR_PARSE);
    assert_int_equal(err.code, CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "offset 632: expected 4, found 5");
    /* Without an error object the code still comes back. */
    assert_int_equal(ccai_fail(NULL, CCAI_ERR_IO, "ignored %s", "x"), CCAI_ERR_IO);

    /* A message longer than the buffer is cut, not overrun. */
    char big[2000];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ccai_fail(&err, CCAI_ERR_VERIFY, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);

    ccai_err_clear(&err);
    assert_int_equal(err.code, CCAI_OK);
    assert_string_equal(err.msg, "");
    ccai_err_clear(NULL);
}

static void test_prefix(void **state)
{
    (void)state;
    ccai_err err = {0};
    ccai_fail(&err, CCAI_ERR_VERIFY, "signature mismatch");
    ccai_err_prefix(&err, "quote %d", 2);
    assert_string_equal(err.msg, "quote 2: signature mismatch");
    ccai_err_prefix(&err, "attest");
    assert_string_equal(err.msg, "attest: quote 2: signature mismatch");
    assert_int_equal(err.code, CCAI_ERR_VERIFY); /* the code is kept */

    ccai_err_clear(&err);
    ccai_err_prefix(&err, "ctx");
    assert_string_equal(err.msg, "ctx: ");
    ccai_err_prefix(NULL, "nothing to do");
}

static void test_prefix_long_message(void **state)
{
    (void)state;
    ccai_err err = {0};
    const size_t cap = sizeof err.msg - 1;
    char big[sizeof err.msg];
    memset(big, 'x', cap);
    big[cap] = '\0';
    ccai_fail(&err, CCAI_ERR_PARSE, "%s", big);
    assert_int_equal(strlen(err.msg), cap);
    /* The context goes in front; the tail of the old message is dropped. */
    ccai_err_prefix(&err, "quote");
    assert_int_equal(strlen(err.msg), cap);
    assert_memory_equal(err.msg, "quote: xxx", 10);
    assert_int_equal(err.msg[cap - 1], 'x');
    assert_int_equal(err.msg[cap], '\0');

    /* A context longer than its own 255-byte buffer is cut too. */
    char ctx[600];
    memset(ctx, 'c', sizeof ctx - 1);
    ctx[sizeof ctx - 1] = '\0';
    ccai_fail(&err, CCAI_ERR_PARSE, "short");
    ccai_err_prefix(&err, "%s", ctx);
    assert_int_equal(strlen(err.msg), 255 + 2 + 5);
    assert_memory_equal(err.msg + 253, "cc: short", 10);

    /* Repeated prefixes on a full buffer never run past it. */
    ccai_fail(&err, CCAI_ERR_PARSE, "%s", big);
    for (int i = 0; i < 10; i++)
        ccai_err_prefix(&err, "%s", ctx);
    assert_int_equal(strlen(err.msg), cap);
    assert_memory_equal(err.msg + 255, ": ccc", 5);

    /* A message that fills the buffer without a NUL inside it (a caller's
     * memcpy, say) is read only up to the buffer's end. */
    memset(err.msg, 'y', sizeof err.msg);
    ccai_err_prefix(&err, "p");
    assert_int_equal(strlen(err.msg), cap);
    assert_memory_equal(err.msg, "p: yyy", 6);
}

static void test_code_names(void **state)
{
    (void)state;
    assert_string_equal(ccai_code_name(CCAI_OK), "ok");
    assert_string_equal(ccai_code_name(CCAI_ERR_ARG), "argument");
    assert_string_equal(ccai_code_name(CCAI_ERR_PARSE), "parse");
    assert_string_equal(ccai_code_name(CCAI_ERR_IO), "io");
    assert_string_equal(ccai_code_name(CCAI_ERR_CRYPTO), "crypto");
    assert_string_equal(ccai_code_name(CCAI_ERR_UNSUPPORTED), "unsupported");
    assert_string_equal(ccai_code_name(CCAI_ERR_NOT_FOUND), "not-found");
    assert_string_equal(ccai_code_name(CCAI_ERR_STATE), "state");
    assert_string_equal(ccai_code_name(CCAI_ERR_BUSY), "busy");
    assert_string_equal(ccai_code_name(CCAI_ERR_NET), "network");
    assert_string_equal(ccai_code_name(CCAI_ERR_VERIFY), "verify");
    assert_string_equal(ccai_code_name(CCAI_ERR_POLICY), "policy");
    assert_string_equal(ccai_code_name((ccai_code)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_prefix_long_message),
        cmocka_unit_test(test_code_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
