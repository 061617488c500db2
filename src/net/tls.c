/* TLS server context (tls.h): an in-memory P-256 key with a self-signed
 * certificate, or an operator's certificate and key loaded from PEM files,
 * behind one SSL_CTX with conservative protocol settings.
 *
 * The generated key never leaves the process: it exists only inside the
 * SSL_CTX, and OpenSSL clears EC private scalars when it frees them. Key text
 * read from a file is wiped as soon as it has been parsed. */
#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/mem.h"

struct ccai_tls {
    SSL_CTX *ctx;
    char *cert_pem;
    uint8_t spki_sha256[CCAI_SHA256_LEN];
    bool generated;
};

/* PEM files larger than this are not certificates or keys. */
enum { TLS_MAX_PEM = 1 << 20 };

/* TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only; works with both
 * ECDSA and RSA certificates. TLS 1.3 keeps OpenSSL's default AEAD suites. */
static const char TLS12_CIPHERS[] = "ECDHE+AESGCM:ECDHE+CHACHA20";

static ccai_code ossl_fail(ccai_err *err, ccai_code code, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char detail[256] = "";
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    return ccai_fail(err, code, "tls: %s failed%s%s", what, e ? ": " : "", detail);
}

/* ---- SPKI hash --------------------------------------------------------------- */

static ccai_code spki_sha256(X509 *x, uint8_t out[CCAI_SHA256_LEN], ccai_err *err)
{
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    if (n <= 0)
        return ossl_fail(err, CCAI_ERR_CRYPTO, "encoding the SubjectPublicKeyInfo");
    ccai_sha256(der, (size_t)n, out);
    OPENSSL_free(der);
    return CCAI_OK;
}

ccai_code ccai_tls_pem_spki_sha256(const char *pem, size_t len, uint8_t out[32], ccai_err *err)
{
    if (len > INT32_MAX)
        return ccai_fail(err, CCAI_ERR_ARG, "tls: PEM text of %zu bytes is too large", len);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!x) {
        ERR_clear_error();
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "tls: expected a PEM certificate (-----BEGIN CERTIFICATE-----), "
                         "found none in %zu bytes",
                         len);
    }
    ccai_code rc = spki_sha256(x, out, err);
    X509_free(x);
    return rc;
}

/* ---- the SSL_CTX ------------------------------------------------------------- */

/* ALPN: answer "http/1.1" when offered; otherwise go on without ALPN rather
 * than failing the handshake (curl and browsers always offer it). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char h11[] = "\x08http/1.1";
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, h11, sizeof h11 - 1, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = sel;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static ccai_code ctx_new(SSL_CTX **out, ccai_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return ossl_fail(err, CCAI_ERR_CRYPTO, "SSL_CTX_new");
    /* Compression invites CRIME-style leaks of secrets; renegotiation is an
     * old attack surface that HTTP/1.1 servers never need. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    static const unsigned char sid_ctx[] = "ccai";
    /* Not const: OpenSSL's macro casts the argument to char *. */
    char groups[] = "X25519:P-256:P-384";
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) ||
        !SSL_CTX_set1_groups_list(ctx, groups) ||
        !SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1)) {
        SSL_CTX_free(ctx);
        return ossl_fail(err, CCAI_ERR_CRYPTO, "configuring the TLS context");
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    *out = ctx;
    return CCAI_OK;
}

/* ---- generated key and certificate --------------------------------------------- */

static ccai_code add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value, ccai_err *err)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    if (!ext || !X509_add_ext(x, ext, -1)) {
        X509_EXTENSION_free(ext);
        return ossl_fail(err, CCAI_ERR_CRYPTO, OBJ_nid2sn(nid));
    }
    X509_EXTENSION_free(ext);
    return CCAI_OK;
}

/* A positive 127-bit serial (RFC 5280 §4.1.2.2: positive, at most 20 octets,
 * unpredictable). The top bit is cleared so DER needs no sign byte. */
static ccai_code random_serial(X509 *x, ccai_err *err)
{
    uint8_t rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return ossl_fail(err, CCAI_ERR_CRYPTO, "RAND_bytes for the serial");
    rnd[0] = (uint8_t)((rnd[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(rnd, sizeof rnd, NULL);
    ASN1_INTEGER *ok = bn ? BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) : NULL;
    BN_free(bn);
    return ok ? CCAI_OK : ossl_fail(err, CCAI_ERR_CRYPTO, "setting the serial");
}

/* The self-signed certificate. No keyUsage extension: with keyUsage but no
 * keyCertSign, OpenSSL verifiers no longer treat the certificate as its own
 * issuer and reject it even when it is the configured trust anchor. */
static ccai_code self_sign(EVP_PKEY *key, X509 **out, ccai_err *err)
{
    X509 *x = X509_new();
    if (!x)
        return ossl_fail(err, CCAI_ERR_CRYPTO, "X509_new");
    ccai_code rc = CCAI_OK;
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_set_version(x, X509_VERSION_3) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"ccai",
                                    -1, -1, 0) ||
        !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key)) {
        rc = ossl_fail(err, CCAI_ERR_CRYPTO, "building the certificate");
        goto out;
    }
    if ((rc = random_serial(x, err)))
        goto out;
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    if ((rc = add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE", err)) ||
        (rc = add_ext(x, &v3, NID_ext_key_usage, "serverAuth", err)) ||
        (rc = add_ext(x, &v3, NID_subject_key_identifier, "hash", err)) ||
        (rc = add_ext(x, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1", err)))
        goto out;
    if (X509_sign(x, key, EVP_sha256()) <= 0) {
        rc = ossl_fail(err, CCAI_ERR_CRYPTO, "signing the certificate");
        goto out;
    }
out:
    if (rc)
        X509_free(x);
    else
        *out = x;
    return rc;
}

/* ---- loading from files ---------------------------------------------------------- */

/* Encrypted keys would need a passphrase at start-up; refuse them plainly. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Reads the leaf and any chain certificates; *chain may stay NULL. */
static ccai_code load_certs(const char *path, X509 **leaf, STACK_OF(X509) **chain, ccai_err *err)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(path, TLS_MAX_PEM, &pem, &len, err);
    if (rc) {
        ccai_err_prefix(err, "tls: certificate");
        return rc;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    if (!*leaf) {
        rc = ccai_fail(err, CCAI_ERR_PARSE,
                       "tls: %s: expected a PEM certificate (-----BEGIN CERTIFICATE-----), "
                       "found none in %zu bytes",
                       path, len);
        goto out;
    }
    X509 *extra;
    while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (!*chain)
            *chain = sk_X509_new_null();
        if (!*chain || !sk_X509_push(*chain, extra)) {
            X509_free(extra);
            rc = ossl_fail(err, CCAI_ERR_CRYPTO, "collecting the certificate chain");
            goto out;
        }
    }
out:
    ERR_clear_error(); /* the loop ends on a "no start line" error */
    BIO_free(b);
    free(pem);
    return rc;
}

static ccai_code load_key(const char *path, EVP_PKEY **key, ccai_err *err)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(path, TLS_MAX_PEM, &pem, &len, err);
    if (rc) {
        ccai_err_prefix(err, "tls: private key");
        return rc;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    *key = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
    BIO_free(b);
    ccai_wipe(pem, len);
    free(pem);
    if (!*key) {
        ERR_clear_error();
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "tls: %s: expected an unencrypted PEM private key "
                         "(-----BEGIN PRIVATE KEY-----), found none in %zu bytes",
                         path, len);
    }
    return CCAI_OK;
}

/* The first 8 bytes of the SPKI SHA-256 of a public key, in hex, to name keys
 * in errors without printing anything secret. */
static void spki_prefix_hex(const EVP_PKEY *key, char out[17])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    strcpy(out, "?");
    if (n > 0) {
        uint8_t h[CCAI_SHA256_LEN];
        ccai_sha256(der, (size_t)n, h);
        ccai_hex_encode(h, 8, out);
    }
    OPENSSL_free(der);
    ERR_clear_error();
}

/* ---- the context ------------------------------------------------------------------- */

static ccai_code install(ccai_tls *t, X509 *leaf, STACK_OF(X509) *chain, EVP_PKEY *key,
                         ccai_err *err)
{
    if (!SSL_CTX_use_certificate(t->ctx, leaf))
        return ossl_fail(err, CCAI_ERR_CRYPTO, "installing the certificate");
    for (int i = 0; chain && i < sk_X509_num(chain); i++)
        if (!SSL_CTX_add1_chain_cert(t->ctx, sk_X509_value(chain, i)))
            return ossl_fail(err, CCAI_ERR_CRYPTO, "installing the certificate chain");
    if (!SSL_CTX_use_PrivateKey(t->ctx, key) || !SSL_CTX_check_private_key(t->ctx))
        return ossl_fail(err, CCAI_ERR_CRYPTO, "installing the private key");

    BIO *mem = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n = 0;
    if (!mem || !PEM_write_bio_X509(mem, leaf) || (n = BIO_get_mem_data(mem, &p)) <= 0) {
        BIO_free(mem);
        return ossl_fail(err, CCAI_ERR_CRYPTO, "encoding the certificate as PEM");
    }
    t->cert_pem = ccai_xstrndup(p, (size_t)n);
    BIO_free(mem);
    return spki_sha256(leaf, t->spki_sha256, err);
}

ccai_code ccai_tls_ctx_new(const char *cert_file, const char *key_file, ccai_tls **out,
                           ccai_err *err)
{
    *out = NULL;
    if (!cert_file != !key_file)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "tls: expected both a certificate and a key file, or neither "
                         "(to generate a key), found only the %s",
                         cert_file ? "certificate" : "key");
    ccai_tls *t = ccai_xcalloc(1, sizeof *t);
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY *key = NULL;
    ccai_code rc = ctx_new(&t->ctx, err);
    if (rc)
        goto out;
    if (!cert_file) {
        t->generated = true;
        key = EVP_EC_gen("P-256");
        if (!key) {
            rc = ossl_fail(err, CCAI_ERR_CRYPTO, "generating a P-256 key");
            goto out;
        }
        if ((rc = self_sign(key, &leaf, err)))
            goto out;
    } else {
        if ((rc = load_certs(cert_file, &leaf, &chain, err)) ||
            (rc = load_key(key_file, &key, err)))
            goto out;
        if (X509_check_private_key(leaf, key) != 1) {
            ERR_clear_error();
            char want[17], found[17];
            spki_prefix_hex(X509_get0_pubkey(leaf), want);
            spki_prefix_hex(key, found);
            rc = ccai_fail(err, CCAI_ERR_ARG,
                           "tls: the private key in %s does not match the certificate in %s "
                           "(expected the key with SPKI sha256 %s..., found a %s key with "
                           "SPKI sha256 %s...)",
                           key_file, cert_file, want, EVP_PKEY_get0_type_name(key), found);
            goto out;
        }
    }
    rc = install(t, leaf, chain, key, err);
out:
    /* The SSL_CTX holds its own references; ours go now. */
    EVP_PKEY_free(key);
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    if (rc) {
        ccai_tls_free(t);
        return rc;
    }
    *out = t;
    return CCAI_OK;
}

SSL_CTX *ccai_tls_ssl_ctx(const ccai_tls *t)
{
    return t->ctx;
}

const char *ccai_tls_cert_pem(const ccai_tls *t)
{
    return t->cert_pem;
}

const uint8_t *ccai_tls_spki_sha256(const ccai_tls *t)
{
    return t->spki_sha256;
}

bool ccai_tls_generated(const ccai_tls *t)
{
    return t->generated;
}

void ccai_tls_free(ccai_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t->cert_pem);
    ccai_wipe(t, sizeof *t);
    free(t);
}
