/* Tests for the verifier's signing keys (src/verifier/keys.c): created once
 * with mode 0600 and reused, rotation keeps the old public key in the JWKS
 * exactly until its last token expires, and a key file others can read is
 * refused. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/mem.h"
#include "verifier/verifier.h"

static void kids(const json_t *jwks, char out[3][44], size_t *n)
{
    const json_t *keys = json_object_get(jwks, "keys");
    *n = json_array_size(keys);
    for (size_t i = 0; i < *n && i < 3; i++)
        snprintf(out[i], 44, "%s", json_string_value(json_object_get(json_array_get(keys, i),
                                                                     "kid")));
}

static void test_create_reuse_rotate(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir();
    char *dir = ccai_xasprintf("%s/verifier", tmp);
    char *key = ccai_xasprintf("%s/signing-key.pem", dir);
    ccai_keyring *k = NULL;
    assert_int_equal(ccai_keyring_open(dir, false, 300, 1000, &k, NULL), CCAI_OK);
    char first[44];
    snprintf(first, sizeof first, "%s", ccai_keyring_kid(k));
    assert_int_equal(strlen(first), 43);
    ccai_keyring_free(k);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    /* reopened: the same key */
    assert_int_equal(ccai_keyring_open(dir, false, 300, 1100, &k, NULL), CCAI_OK);
    assert_string_equal(ccai_keyring_kid(k), first);
    ccai_keyring_free(k);

    /* rotated at t=2000 with 60 s tokens now, after it signed 300 s ones: the
     * old key is listed until 2300 */
    assert_int_equal(ccai_keyring_open(dir, true, 60, 2000, &k, NULL), CCAI_OK);
    assert_string_not_equal(ccai_keyring_kid(k), first);
    char got[3][44];
    size_t n = 0;
    json_t *jwks = ccai_keyring_jwks(k, 2299);
    kids(jwks, got, &n);
    assert_int_equal(n, 2);
    assert_string_equal(got[0], ccai_keyring_kid(k));
    assert_string_equal(got[1], first);
    assert_null(json_object_get(json_array_get(json_object_get(jwks, "keys"), 1), "retire_at"));
    json_decref(jwks);
    jwks = ccai_keyring_jwks(k, 2300);
    kids(jwks, got, &n);
    assert_int_equal(n, 1);
    json_decref(jwks);
    ccai_keyring_free(k);

    /* a restart before 2300 still lists it (retired.json) */
    assert_int_equal(ccai_keyring_open(dir, false, 300, 2100, &k, NULL), CCAI_OK);
    jwks = ccai_keyring_jwks(k, 2100);
    kids(jwks, got, &n);
    assert_int_equal(n, 2);
    assert_string_equal(got[1], first);
    json_decref(jwks);
    ccai_keyring_free(k);

    /* a key file others can read is refused */
    assert_int_equal(chmod(key, 0644), 0);
    ccai_err err = {0};
    assert_int_equal(ccai_keyring_open(dir, false, 300, 2100, &k, &err), CCAI_ERR_STATE);
    char want[4200];
    snprintf(want, sizeof want, "%s: the signing key is readable by others (mode 0644): "
             "expected 0600", key);
    assert_string_equal(err.msg, want);
    assert_null(k);
    tu_rm_rf(tmp);
    free(key);
    free(dir);
    free(tmp);
}

static void test_bad_key_file(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir();
    char *key = ccai_xasprintf("%s/signing-key.pem", tmp);
    tu_write(key, "garbage", 7);
    assert_int_equal(chmod(key, 0600), 0);
    ccai_keyring *k = NULL;
    ccai_err err = {0};
    assert_int_equal(ccai_keyring_open(tmp, false, 300, 1000, &k, &err), CCAI_ERR_STATE);
    char want[4200];
    snprintf(want, sizeof want, "%s: not a PEM private key", key);
    assert_string_equal(err.msg, want);
    tu_rm_rf(tmp);
    free(key);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_reuse_rotate),
        cmocka_unit_test(test_bad_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
