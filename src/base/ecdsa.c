/* Raw r||s ECDSA P-256 signatures over OpenSSL (ecdsa.h). */
#include "base/ecdsa.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

bool ccai_p256_verify_raw(EVP_PKEY *key, const void *data, size_t len, const uint8_t sig[64])
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    int der_len = 0;
    bool ok = false;
    if (s && r && ss && ECDSA_SIG_set0(s, r, ss)) {
        r = ss = NULL; /* s owns them now */
        der_len = i2d_ECDSA_SIG(s, &der);
    }
    EVP_MD_CTX *md = der_len > 0 ? EVP_MD_CTX_new() : NULL;
    if (md && key && EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) == 1)
        ok = EVP_DigestVerify(md, der, (size_t)der_len, data, len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    ERR_clear_error();
    return ok;
}

ccai_code ccai_p256_sign_raw(EVP_PKEY *key, const void *data, size_t len, uint8_t sig[64],
                             ccai_err *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t der_len = sizeof der;
    ECDSA_SIG *s = NULL;
    const unsigned char *p = der;
    /* DER INTEGERs drop leading zeros; the raw form wants fixed halves. */
    bool ok = md && EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
              EVP_DigestSign(md, der, &der_len, data, len) == 1 &&
              (s = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) != NULL &&
              BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32) == 32 &&
              BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32) == 32;
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(md);
    unsigned long e = ok ? 0 : ERR_peek_last_error();
    char why[256] = "no OpenSSL error";
    if (e)
        ERR_error_string_n(e, why, sizeof why);
    ERR_clear_error();
    return ok ? CCAI_OK : ccai_fail(err, CCAI_ERR_CRYPTO, "ECDSA P-256 signing failed: %s", why);
}
