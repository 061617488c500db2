#include "testutil.h"
#include "base/codec.h"
static void t(void **s) { (void)s; char o[5]; ccai_hex_encode((const uint8_t *)"\x01\xab", 2, o); assert_string_equal(o, "01ab"); }
int main(void) { const struct CMUnitTest tests[] = { cmocka_unit_test(t) }; return cmocka_run_group_tests(tests, NULL, NULL); }
