/* ccai-attest/1 report data binding: pinned vectors computed independently
 * (python3 hashlib), and every input changes the result. */
#include <string.h>

#include "testutil.h"
#include "base/codec.h"
#include "tee/binding.h"

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    ccai_hex_encode(p, n, out);
}

static void test_vectors(void **state)
{
    (void)state;
    uint8_t nonce[32], spki[32], e2e[32], rd[64];
    char hex[129];
    for (int i = 0; i < 32; i++)
        nonce[i] = (uint8_t)i;
    memset(spki, 0xaa, 32);
    memset(e2e, 0x55, 32);
    tee_report_data_bind(nonce, spki, e2e, rd);
    hex_of(rd, 64, hex);
    assert_string_equal(hex, "39d70c6725dd88542defd6d71b0ff155c6edb1f06c0b0bbac8fd799384b6a2f5"
                             "beb09e482a34117ab8cf6ef9fc9f8803b3a16ce4e45df632f16941ecbfffb39c");
    tee_report_data_bind(nonce, NULL, NULL, rd);
    hex_of(rd, 64, hex);
    assert_string_equal(hex, "6646548e962afb156795bb2debc7a3cad578ef2400d345479498885b0d9b8ceb"
                             "055363215381aeb8d009b138e6b782312a8bab9fe988c59110bffabd22b53bb9");
}

static void test_every_input_matters(void **state)
{
    (void)state;
    uint8_t nonce[32] = {0}, spki[32] = {0}, a[64], b[64];
    tee_report_data_bind(nonce, spki, NULL, a);
    nonce[31] = 1;
    tee_report_data_bind(nonce, spki, NULL, b);
    assert_memory_not_equal(a, b, 64);
    nonce[31] = 0;
    spki[0] = 1;
    tee_report_data_bind(nonce, spki, NULL, b);
    assert_memory_not_equal(a, b, 64);
    spki[0] = 0;
    tee_report_data_bind(nonce, spki, spki, b); /* E = zeros equals "no key" */
    assert_memory_equal(a, b, 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_every_input_matters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
