/* Tests for src/base/hash.c: SHA-256/384/512 of the FIPS 180-2 "abc" and
 * empty-string vectors, the measurement-register extend against values
 * computed independently with Python's hashlib, and streamed file hashing
 * across several internal reads. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/mem.h"

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char *h = ccai_hex_dup(got, n);
    assert_string_equal(h, want);
    free(h);
}

static void test_abc_vectors(void **state)
{
    (void)state;
    uint8_t d256[CCAI_SHA256_LEN], d384[CCAI_SHA384_LEN], d512[CCAI_SHA512_LEN];
    ccai_sha256("abc", 3, d256);
    assert_hex(d256, sizeof d256,
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ccai_sha384("abc", 3, d384);
    assert_hex(d384, sizeof d384,
               "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
               "8086072ba1e7cc2358baeca134c825a7");
    ccai_sha512("abc", 3, d512);
    assert_hex(d512, sizeof d512,
               "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
               "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    ccai_sha256("", 0, d256);
    assert_hex(d256, sizeof d256,
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ccai_sha384("", 0, d384);
    assert_hex(d384, sizeof d384,
               "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da"
               "274edebfe76f65fbd51ad2f14898b95b");
}

/* Expected values: python3 -c "import hashlib; r=bytes(48);
 *   d=hashlib.sha384(b'abc').digest(); r=hashlib.sha384(r+d).digest();
 *   print(r.hex()); print(hashlib.sha384(r+bytes(range(48))).hexdigest())" */
static void test_extend(void **state)
{
    (void)state;
    uint8_t reg[48] = {0}, digest[48];
    ccai_sha384("abc", 3, digest);
    ccai_sha384_extend(reg, digest);
    assert_hex(reg, 48,
               "93732e3733514a841c982cfa75ea76ab55fe011acb9cd980ef4523913c65be1b"
               "0998e04d77f8c174f81a82151619ca40");
    for (int i = 0; i < 48; i++)
        digest[i] = (uint8_t)i;
    ccai_sha384_extend(reg, digest);
    assert_hex(reg, 48,
               "35a0704a7c6dfa7583bc6962bdd54411b6050c47facaf8bc6ec9a5733b4fe1de"
               "811e702179f5d1adf678a738d6789925");
}

static void test_file_hash(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = ccai_xasprintf("%s/model.bin", dir);
    /* 3 MiB + 17 bytes: more than one 1 MiB chunk, and a partial last one. */
    size_t n = 3u * 1024 * 1024 + 17;
    uint8_t *data = ccai_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    tu_write(path, data, n);
    uint8_t got[32], mem[32];
    ccai_err err = {0};
    assert_int_equal(ccai_sha256_file(path, got, &err), CCAI_OK);
    /* python3: hashlib.sha256(bytes((i*31+7) & 0xff for i in range(3*2**20+17))) */
    assert_hex(got, 32, "27f3f0120d4a72b66e7b58152c631644bd689231ebd4487469b59226f1be13af");
    ccai_sha256(data, n, mem);
    assert_memory_equal(got, mem, 32);
    free(data);

    tu_write(path, "", 0);
    assert_int_equal(ccai_sha256_file(path, got, &err), CCAI_OK);
    assert_hex(got, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    free(path);

    path = ccai_xasprintf("%s/absent", dir);
    assert_int_equal(ccai_sha256_file(path, got, &err), CCAI_ERR_NOT_FOUND);
    char *want = ccai_xasprintf("%s: No such file or directory", path);
    assert_string_equal(err.msg, want);
    free(want);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abc_vectors),
        cmocka_unit_test(test_extend),
        cmocka_unit_test(test_file_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
