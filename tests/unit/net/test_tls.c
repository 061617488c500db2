/* Tests for src/net/tls.c: the generated certificate (names, validity, serial,
 * key type, that OpenSSL's verifier accepts it as its own trust anchor for
 * "localhost" and 127.0.0.1), its SPKI hash against independent computations
 * (i2d_PUBKEY + EVP, and the openssl command line when present), loading an
 * operator's certificate (with chain) and key, and every rejection:
 * mismatched key, missing, garbage, encrypted or swapped files. */
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/mem.h"
#include "net/tls.h"

static X509 *parse_pem(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

/* SHA-256 over i2d_PUBKEY of the parsed key: a different encoder and digest
 * path than the one under test (i2d_X509_PUBKEY + ccai_sha256). */
static void spki_independent(X509 *x, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
    assert_true(n > 0);
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(der, (size_t)n, out, &len, EVP_sha256(), NULL), 1);
    assert_int_equal(len, 32);
    OPENSSL_free(der);
}

/* The openssl CLI's answer, or false when the tool is absent. */
static bool spki_cli(const char *pem, char hex[65])
{
    if (system("openssl version >/dev/null 2>&1") != 0)
        return false;
    char *dir = tu_tmpdir();
    char *path = ccai_xasprintf("%s/cert.pem", dir);
    tu_write(path, pem, strlen(pem));
    char *cmd = ccai_xasprintf("openssl x509 -in %s -pubkey -noout | openssl pkey -pubin "
                               "-outform DER | openssl dgst -sha256 -r",
                               path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(hex, 65, p));
    pclose(p);
    free(cmd);
    free(path);
    tu_rm_rf(dir);
    free(dir);
    return true;
}

static void test_generated(void **state)
{
    (void)state;
    ccai_err err = {0};
    ccai_tls *t = NULL;
    assert_int_equal(ccai_tls_ctx_new(NULL, NULL, &t, &err), CCAI_OK);
    assert_true(ccai_tls_generated(t));
    X509 *x = parse_pem(ccai_tls_cert_pem(t));

    char cn[64];
    assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                               sizeof cn),
                     4);
    assert_string_equal(cn, "ccai");
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_host(x, "example.com", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ca(x), 0);

    /* Valid from one hour ago for a year (a minute of slack each way). */
    int days, secs;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notBefore(x)), 1);
    assert_int_equal(days, 0);
    assert_true(secs <= -3600 + 60 && secs >= -3600 - 60);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)), 1);
    assert_true(days == 365 || (days == 364 && secs > 86400 - 60));

    /* Positive, at least 64 random bits. */
    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    assert_false(BN_is_negative(serial));
    assert_true(BN_num_bits(serial) >= 64);
    BN_free(serial);

    EVP_PKEY *pk = X509_get0_pubkey(x);
    char group[32];
    assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_group_name(pk, group, sizeof group, NULL), 1);
    assert_string_equal(group, "prime256v1");
    assert_int_equal(X509_verify(x, pk), 1);

    /* A plain OpenSSL verifier (no partial-chain flag) trusts it when it is
     * the configured anchor, for both names in the SAN. */
    for (int i = 0; i < 2; i++) {
        X509_STORE *store = X509_STORE_new();
        X509_STORE_add_cert(store, x);
        X509_STORE_CTX *vc = X509_STORE_CTX_new();
        X509_STORE_CTX_init(vc, store, x, NULL);
        X509_STORE_CTX_set_purpose(vc, X509_PURPOSE_SSL_SERVER);
        X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(vc);
        if (i == 0)
            X509_VERIFY_PARAM_set1_host(vp, "localhost", 0);
        else
            X509_VERIFY_PARAM_set1_ip_asc(vp, "127.0.0.1");
        int ok = X509_verify_cert(vc);
        if (ok != 1)
            print_error("verify: %s\n",
                        X509_verify_cert_error_string(X509_STORE_CTX_get_error(vc)));
        assert_int_equal(ok, 1);
        X509_STORE_CTX_free(vc);
        X509_STORE_free(store);
    }

    SSL_CTX *ctx = ccai_tls_ssl_ctx(t);
    assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_check_private_key(ctx), 1);
    X509_free(x);
    ccai_tls_free(t);
}

static void test_spki_hash(void **state)
{
    (void)state;
    ccai_err err = {0};
    ccai_tls *t = NULL, *t2 = NULL;
    assert_int_equal(ccai_tls_ctx_new(NULL, NULL, &t, &err), CCAI_OK);
    X509 *x = parse_pem(ccai_tls_cert_pem(t));
    uint8_t want[32], got[32];
    spki_independent(x, want);
    assert_memory_equal(ccai_tls_spki_sha256(t), want, 32);
    const char *pem = ccai_tls_cert_pem(t);
    assert_int_equal(ccai_tls_pem_spki_sha256(pem, strlen(pem), got, &err), CCAI_OK);
    assert_memory_equal(got, want, 32);

    char cli[65] = "";
    if (spki_cli(pem, cli)) {
        char hex[65];
        ccai_hex_encode(want, 32, hex);
        assert_string_equal(cli, hex);
    } else {
        print_message("openssl CLI absent: CLI cross-check skipped\n");
    }

    /* Every context gets its own key and serial. */
    assert_int_equal(ccai_tls_ctx_new(NULL, NULL, &t2, &err), CCAI_OK);
    X509 *x2 = parse_pem(ccai_tls_cert_pem(t2));
    assert_memory_not_equal(ccai_tls_spki_sha256(t2), want, 32);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(x2)),
                         0);

    assert_int_equal(ccai_tls_pem_spki_sha256("not a certificate", 17, got, &err),
                     CCAI_ERR_PARSE);
    assert_string_equal(err.msg, "tls: expected a PEM certificate (-----BEGIN CERTIFICATE-----), "
                                 "found none in 17 bytes");
    X509_free(x2);
    X509_free(x);
    ccai_tls_free(t2);
    ccai_tls_free(t);
}

/* ---- files ------------------------------------------------------------------------ */

/* Writes <dir>/<name>.key and <dir>/<name>.crt: a fresh key (EC P-256 or
 * RSA-2048) and a self-signed certificate for it. */
static void make_pair(const char *dir, const char *name, bool rsa)
{
    EVP_PKEY *k = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    assert_non_null(k);
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)name, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    char *kp = ccai_xasprintf("%s/%s.key", dir, name), *cp = ccai_xasprintf("%s/%s.crt", dir, name);
    FILE *f = fopen(kp, "w");
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    f = fopen(cp, "w");
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
    free(kp);
    free(cp);
    X509_free(x);
    EVP_PKEY_free(k);
}

static char *path_of(const char *dir, const char *file)
{
    return ccai_xasprintf("%s/%s", dir, file);
}

static void test_load_files(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    make_pair(dir, "ec", false);
    make_pair(dir, "rsa", true);
    ccai_err err = {0};
    const char *names[] = {"ec", "rsa"};
    for (int i = 0; i < 2; i++) {
        char *crt = ccai_xasprintf("%s/%s.crt", dir, names[i]);
        char *key = ccai_xasprintf("%s/%s.key", dir, names[i]);
        ccai_tls *t = NULL;
        assert_int_equal(ccai_tls_ctx_new(crt, key, &t, &err), CCAI_OK);
        assert_false(ccai_tls_generated(t));
        size_t n;
        uint8_t *want_pem = tu_read(crt, &n);
        assert_string_equal(ccai_tls_cert_pem(t), (char *)want_pem);
        X509 *x = parse_pem((char *)want_pem);
        uint8_t want[32];
        spki_independent(x, want);
        assert_memory_equal(ccai_tls_spki_sha256(t), want, 32);
        X509_free(x);
        ccai_tls_free(t);
        free(want_pem);
        free(crt);
        free(key);
    }

    /* A chain file: the leaf first, then another certificate; the PEM and
     * the hash stay the leaf's. */
    char *ec_crt = path_of(dir, "ec.crt"), *rsa_crt = path_of(dir, "rsa.crt");
    char *chain = path_of(dir, "chain.crt"), *ec_key = path_of(dir, "ec.key");
    size_t n1, n2;
    uint8_t *a = tu_read(ec_crt, &n1), *b = tu_read(rsa_crt, &n2);
    ccai_buf both = {0};
    ccai_buf_append(&both, a, n1);
    ccai_buf_append(&both, b, n2);
    tu_write(chain, both.data, both.len);
    ccai_tls *t = NULL;
    assert_int_equal(ccai_tls_ctx_new(chain, ec_key, &t, &err), CCAI_OK);
    assert_string_equal(ccai_tls_cert_pem(t), (char *)a);
    ccai_tls_free(t);
    ccai_buf_free(&both);
    free(a);
    free(b);
    free(ec_crt);
    free(rsa_crt);
    free(chain);
    free(ec_key);
    tu_rm_rf(dir);
    free(dir);
}

static void expect_fail(const char *crt, const char *key, ccai_code code, const char *want_msg)
{
    ccai_err err = {0};
    ccai_tls *t = (ccai_tls *)&err; /* must be reset to NULL */
    assert_int_equal(ccai_tls_ctx_new(crt, key, &t, &err), code);
    assert_null(t);
    if (!strstr(err.msg, want_msg))
        fail_msg("expected \"%s\" in \"%s\"", want_msg, err.msg);
}

static void test_rejections(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    make_pair(dir, "a", false);
    make_pair(dir, "b", false);
    char *a_crt = path_of(dir, "a.crt"), *a_key = path_of(dir, "a.key");
    char *b_key = path_of(dir, "b.key"), *junk = path_of(dir, "junk.pem");
    char *absent = path_of(dir, "absent.pem"), *enc = path_of(dir, "enc.key");
    tu_write(junk, "hello\n", 6);

    char *msg = ccai_xasprintf("tls: the private key in %s does not match the certificate in %s "
                               "(expected the key with SPKI sha256 ",
                               b_key, a_crt);
    expect_fail(a_crt, b_key, CCAI_ERR_ARG, msg);
    free(msg);
    expect_fail(a_crt, b_key, CCAI_ERR_ARG, "..., found a EC key with SPKI sha256 ");
    msg = ccai_xasprintf("tls: certificate: %s: No such file or directory", absent);
    expect_fail(absent, a_key, CCAI_ERR_NOT_FOUND, msg);
    free(msg);
    msg = ccai_xasprintf("tls: private key: %s: No such file or directory", absent);
    expect_fail(a_crt, absent, CCAI_ERR_NOT_FOUND, msg);
    free(msg);
    msg = ccai_xasprintf("tls: %s: expected a PEM certificate (-----BEGIN CERTIFICATE-----), "
                         "found none in 6 bytes",
                         junk);
    expect_fail(junk, a_key, CCAI_ERR_PARSE, msg);
    free(msg);
    msg = ccai_xasprintf("tls: %s: expected an unencrypted PEM private key", junk);
    expect_fail(a_crt, junk, CCAI_ERR_PARSE, msg);
    free(msg);
    /* Swapped: the key file given as the certificate and vice versa. */
    msg = ccai_xasprintf("tls: %s: expected a PEM certificate", a_key);
    expect_fail(a_key, a_crt, CCAI_ERR_PARSE, msg);
    free(msg);
    expect_fail(a_crt, NULL, CCAI_ERR_ARG,
                "tls: expected both a certificate and a key file, or neither (to generate a "
                "key), found only the certificate");
    expect_fail(NULL, a_key, CCAI_ERR_ARG, "found only the key");

    /* A passphrase-protected key is refused, not prompted for. */
    size_t n;
    uint8_t *kpem = tu_read(a_key, &n);
    BIO *bio = BIO_new_mem_buf(kpem, (int)n);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    FILE *f = fopen(enc, "w");
    assert_int_equal(
        PEM_write_PKCS8PrivateKey(f, k, EVP_aes_256_cbc(), "secret", 6, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY_free(k);
    free(kpem);
    msg = ccai_xasprintf("tls: %s: expected an unencrypted PEM private key", enc);
    expect_fail(a_crt, enc, CCAI_ERR_PARSE, msg);
    free(msg);

    free(a_crt);
    free(a_key);
    free(b_key);
    free(junk);
    free(absent);
    free(enc);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_spki_hash),
        cmocka_unit_test(test_load_files),
        cmocka_unit_test(test_rejections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
