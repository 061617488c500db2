/* The simulated TD's PKI (sim.h "Trust chain"): the published root key, the
 * embedded root certificate, and the per-installation platform CA, PCK leaf,
 * attestation key and TCB signing certificate, shaped like Intel's
 * (tdx-facts §2, §3): P-256 keys, ECDSA-SHA256, UTF8String CN and O,
 * critical basicConstraints and keyUsage, SKI/AKI key identifiers, and the
 * SGX extension on the PCK leaf.
 *
 * Private keys are written as PKCS#8 PEM, mode 0600, through OpenSSL's
 * secure-memory BIO, and every buffer that held one is wiped. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/ecdsa.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/mem.h"
#include "tee/pck.h"
#include "tee/sim.h"
#include "tee/sim_internal.h"

const uint8_t SIM_COMP_SVN[16] = {3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0};
const uint8_t SIM_FMSPC[6] = {0x00, 0xCC, 0xA1, 0x00, 0x00, 0x00};
const uint8_t SIM_PCE_ID[2] = {0x00, 0x00};
const uint8_t SIM_TEE_TCB_SVN[16] = {5, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
/* INIT | MODE64BIT, what Intel's TD QE reports (its QE identity's value). */
const uint8_t SIM_QE_ATTRIBUTES[16] = {0x11};

/* Produced once by tee_sim_make_root_pem() and frozen here: the root must be
 * byte-identical on every installation (a verifier pins it), and a new run
 * of the generator signs with a fresh ECDSA nonce. test_sim.c checks that its
 * key is the seed's key, its subject, and its self-signature. */
static const char SIM_ROOT_PEM_TEXT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIB/TCCAaOgAwIBAgIBATAKBggqhkjOPQQDAjBUMSMwIQYDVQQDDBpjY2FpIFNp\n"
    "bXVsYXRlZCBTR1ggUm9vdCBDQTEtMCsGA1UECgwkY2NhaSBzaW11bGF0ZWQgVEQg\n"
    "KG5vdCBjb25maWRlbnRpYWwpMB4XDTI1MDEwMTAwMDAwMFoXDTQ5MTIzMTIzNTk1\n"
    "OVowVDEjMCEGA1UEAwwaY2NhaSBTaW11bGF0ZWQgU0dYIFJvb3QgQ0ExLTArBgNV\n"
    "BAoMJGNjYWkgc2ltdWxhdGVkIFREIChub3QgY29uZmlkZW50aWFsKTBZMBMGByqG\n"
    "SM49AgEGCCqGSM49AwEHA0IABAgxV/xEyJUBnOZqAO89+pSUkcdmZb7o6yImX6Uo\n"
    "6lkTnZ2+GVH33CcJvT49ETM9kN28C4YfBxUdEUATFS/i/VyjZjBkMB8GA1UdIwQY\n"
    "MBaAFNPHBNHSM3tnHBYRIp2oC446CfUnMB0GA1UdDgQWBBTTxwTR0jN7ZxwWESKd\n"
    "qAuOOgn1JzAOBgNVHQ8BAf8EBAMCAQYwEgYDVR0TAQH/BAgwBgEB/wIBATAKBggq\n"
    "hkjOPQQDAgNIADBFAiA3M1xPHgxzAV0bnKpyttP4ih2hz/daGZ2QKnHWTwdX/wIh\n"
    "AMBhcCxpooMdZ9VOZwf6Bsl+s/OtInZfcQYE4Dd5m9Qn\n"
    "-----END CERTIFICATE-----\n";

const char *tee_sim_root_pem(void)
{
    return SIM_ROOT_PEM_TEXT;
}

char *tee_sim_path(const char *dir, const char *name)
{
    return ccai_xasprintf("%s/%s", dir, name);
}

static ccai_code ossl_fail(ccai_err *err, const char *what)
{
    unsigned long e = ERR_get_error();
    char detail[256] = "";
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    return ccai_fail(err, CCAI_ERR_CRYPTO, "sim: %s failed%s%s", what, e ? ": " : "", detail);
}

/* ---- the root key --------------------------------------------------------- */

/* Builds an EC P-256 key pair from a private scalar; the public point is
 * computed with the curve group (no EC_KEY, which OpenSSL 3 deprecates). */
static ccai_code key_from_scalar(const uint8_t d[32], EVP_PKEY **out, ccai_err *err)
{
    ccai_code rc = CCAI_OK;
    BN_CTX *bnctx = BN_CTX_new();
    BIGNUM *priv = BN_secure_new();
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *pub = g ? EC_POINT_new(g) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    uint8_t point[65];
    if (!bnctx || !priv || !pub || !bld || !pctx || !BN_bin2bn(d, 32, priv)) {
        rc = ossl_fail(err, "root key setup");
        goto out;
    }
    if (BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(g)) >= 0) {
        rc = ccai_fail(err, CCAI_ERR_CRYPTO, "sim: root key scalar is not in [1, n)");
        goto out;
    }
    if (!EC_POINT_mul(g, pub, priv, NULL, NULL, bnctx) ||
        EC_POINT_point2oct(g, pub, POINT_CONVERSION_UNCOMPRESSED, point, sizeof point, bnctx) !=
            sizeof point ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, out, EVP_PKEY_KEYPAIR, params) <= 0)
        rc = ossl_fail(err, "root key derivation");
out:
    /* The builder copied the secure BIGNUM into secure memory, which
     * OSSL_PARAM_free clears. */
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pctx);
    EC_POINT_free(pub);
    EC_GROUP_free(g);
    BN_clear_free(priv);
    BN_CTX_free(bnctx);
    return rc;
}

ccai_code tee_sim_root_key(EVP_PKEY **out, ccai_err *err)
{
    uint8_t d[32];
    ccai_sha256(TEE_SIM_ROOT_SEED, strlen(TEE_SIM_ROOT_SEED), d);
    ccai_code rc = key_from_scalar(d, out, err);
    ccai_wipe(d, sizeof d);
    return rc;
}

/* ---- keys on disk ---------------------------------------------------------- */

static ccai_code write_key(const char *dir, const char *name, EVP_PKEY *key, ccai_err *err)
{
    /* The secure-memory BIO cleanses its buffer when freed. */
    BIO *bio = BIO_new(BIO_s_secmem());
    char *data = NULL;
    long n = 0;
    if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) ||
        (n = BIO_get_mem_data(bio, &data)) <= 0) {
        BIO_free(bio);
        return ossl_fail(err, "private key encoding");
    }
    char *path = tee_sim_path(dir, name);
    ccai_code rc = ccai_write_file_atomic(path, data, (size_t)n, 0600, err);
    free(path);
    BIO_free(bio);
    return rc;
}

ccai_code tee_sim_load_key(const char *dir, const char *name, EVP_PKEY **out, ccai_err *err)
{
    char *path = tee_sim_path(dir, name);
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(path, 1 << 16, &data, &len, err);
    if (!rc) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        ERR_clear_error();
        if (!k || !EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 256) {
            EVP_PKEY_free(k);
            rc = ccai_fail(err, CCAI_ERR_STATE, "%s: not a P-256 private key in PEM", path);
        } else {
            *out = k;
        }
        ccai_wipe(data, len);
    }
    free(data);
    free(path);
    return rc;
}

ccai_code tee_sim_load_cert(const char *dir, const char *name, X509 **cert, char **pem,
                            ccai_err *err)
{
    char *path = tee_sim_path(dir, name);
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(path, 1 << 16, &data, &len, err);
    X509 *x = NULL;
    if (!rc && cert && tdx_pem_to_x509((const char *)data, &x, err) != CCAI_OK)
        rc = ccai_fail(err, CCAI_ERR_STATE, "%s: not a PEM certificate", path);
    free(path);
    if (rc) {
        free(data);
        return rc;
    }
    if (cert)
        *cert = x;
    if (pem)
        *pem = (char *)data;
    else
        free(data);
    return CCAI_OK;
}

/* ---- certificates ------------------------------------------------------------ */

ccai_code tee_sim_key_id(EVP_PKEY *key, uint8_t id[20], ccai_err *err)
{
    X509_PUBKEY *pk = NULL;
    const unsigned char *bits = NULL;
    int n = 0;
    unsigned int dlen = 0;
    bool ok = X509_PUBKEY_set(&pk, key) && X509_PUBKEY_get0_param(NULL, &bits, &n, NULL, pk) &&
              EVP_Digest(bits, (size_t)n, id, &dlen, EVP_sha1(), NULL) && dlen == 20;
    X509_PUBKEY_free(pk);
    return ok ? CCAI_OK : ossl_fail(err, "key identifier");
}

typedef struct cert_spec {
    const char *cn;
    X509 *issuer;          /* NULL: self-signed */
    EVP_PKEY *issuer_key;  /* the signing key (the subject's own when self-signed) */
    EVP_PKEY *key;         /* the subject's key */
    int ca_pathlen;        /* >= 0: a CA with this pathlen; < 0: an end entity */
    long serial;           /* > 0: this serial; 0: 16 random bytes, like Intel's */
    const uint8_t *sgx_ext;
    size_t sgx_ext_len;
} cert_spec;

static ccai_code set_serial(X509 *x, long fixed, ccai_err *err)
{
    uint8_t r[16];
    BIGNUM *bn = NULL;
    if (fixed > 0) {
        bn = BN_new();
        if (bn && !BN_set_word(bn, (BN_ULONG)fixed)) {
            BN_free(bn);
            bn = NULL;
        }
    } else if (RAND_bytes(r, sizeof r) == 1) {
        /* Positive and a full 16 bytes, so it never equals the small serials
         * the simulated CRLs revoke (docs/tee-sim.md). */
        r[0] = (uint8_t)((r[0] & 0x7f) | 0x01);
        bn = BN_bin2bn(r, sizeof r, NULL);
    }
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    bool ok = ai && X509_set_serialNumber(x, ai);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok ? CCAI_OK : ossl_fail(err, "certificate serial");
}

static X509_NAME *sim_name(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    if (n && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                        0) &&
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)SIM_ORG, -1, -1,
                                   0))
        return n;
    X509_NAME_free(n);
    return NULL;
}

/* An extension from OpenSSL's configuration syntax ("critical,CA:TRUE"). */
static bool add_conf_ext(X509 *x, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
    bool ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

static bool add_key_ids(X509 *x, EVP_PKEY *subject, EVP_PKEY *issuer)
{
    uint8_t ski[20], aki[20];
    if (tee_sim_key_id(subject, ski, NULL) || tee_sim_key_id(issuer, aki, NULL))
        return false;
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    ASN1_OCTET_STRING *a = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
    bool ok = akid && a && s && ASN1_OCTET_STRING_set(a, aki, 20) &&
              ASN1_OCTET_STRING_set(s, ski, 20);
    if (ok) {
        akid->keyid = a;
        a = NULL;
        /* Intel's order: AKI first, then SKI. */
        ok = X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_APPEND) &&
             X509_add1_ext_i2d(x, NID_subject_key_identifier, s, 0, X509V3_ADD_APPEND);
    }
    AUTHORITY_KEYID_free(akid);
    ASN1_OCTET_STRING_free(a);
    ASN1_OCTET_STRING_free(s);
    return ok;
}

static bool add_sgx_ext(X509 *x, const uint8_t *der, size_t len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(TDX_SGX_EXT_OID, 1);
    ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    bool ok = obj && v && ASN1_OCTET_STRING_set(v, der, (int)len) &&
              (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, v)) && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(v);
    ASN1_OBJECT_free(obj);
    return ok;
}

static ccai_code make_cert(const cert_spec *s, X509 **out, ccai_err *err)
{
    X509 *x = X509_new();
    X509_NAME *subject = sim_name(s->cn);
    if (!x || !subject) {
        X509_free(x);
        X509_NAME_free(subject);
        return ossl_fail(err, "certificate setup");
    }
    ccai_code rc = set_serial(x, s->serial, err);
    bool ca = s->ca_pathlen >= 0;
    char bc[64];
    snprintf(bc, sizeof bc, "critical,CA:TRUE,pathlen:%d", s->ca_pathlen);
    bool ok = !rc && X509_set_version(x, X509_VERSION_3) &&
              X509_set_subject_name(x, subject) &&
              X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer) : subject) &&
              ASN1_TIME_set_string_X509(X509_getm_notBefore(x), SIM_NOT_BEFORE) &&
              ASN1_TIME_set_string_X509(X509_getm_notAfter(x), SIM_NOT_AFTER) &&
              X509_set_pubkey(x, s->key) && add_key_ids(x, s->key, s->issuer_key) &&
              add_conf_ext(x, NID_key_usage,
                           ca ? "critical,keyCertSign,cRLSign"
                              : "critical,digitalSignature,nonRepudiation") &&
              add_conf_ext(x, NID_basic_constraints, ca ? bc : "critical,CA:FALSE") &&
              (!s->sgx_ext || add_sgx_ext(x, s->sgx_ext, s->sgx_ext_len)) &&
              X509_sign(x, s->issuer_key, EVP_sha256()) > 0;
    X509_NAME_free(subject);
    if (!rc && !ok)
        rc = ossl_fail(err, s->cn);
    if (rc) {
        X509_free(x);
        return rc;
    }
    *out = x;
    return CCAI_OK;
}

static ccai_code cert_pem(X509 *x, char **out, ccai_err *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n = 0;
    if (!bio || !PEM_write_bio_X509(bio, x) || (n = BIO_get_mem_data(bio, &p)) <= 0) {
        BIO_free(bio);
        return ossl_fail(err, "certificate PEM encoding");
    }
    *out = ccai_xstrndup(p, (size_t)n);
    BIO_free(bio);
    return CCAI_OK;
}

static ccai_code write_cert(const char *dir, const char *name, X509 *x, ccai_err *err)
{
    char *pem = NULL;
    ccai_code rc = cert_pem(x, &pem, err);
    if (rc)
        return rc;
    char *path = tee_sim_path(dir, name);
    rc = ccai_write_file_atomic(path, pem, strlen(pem), 0644, err);
    free(path);
    free(pem);
    return rc;
}

ccai_code tee_sim_make_root_pem(char **pem, ccai_err *err)
{
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    ccai_code rc = tee_sim_root_key(&key, err);
    if (!rc) {
        cert_spec s = {.cn = SIM_ROOT_CN, .issuer_key = key, .key = key, .ca_pathlen = 1,
                       .serial = 1};
        rc = make_cert(&s, &x, err);
    }
    if (!rc)
        rc = cert_pem(x, pem, err);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* The PCK leaf's SGX extension: the simulated platform's TCB (tdx-facts §2). */
static ccai_code sim_pck_ext(uint8_t **der, size_t *len, ccai_err *err)
{
    tdx_pck_ext e = {0};
    uint8_t h[32];
    ccai_sha256(SIM_LABEL_PPID, strlen(SIM_LABEL_PPID), h);
    memcpy(e.ppid, h, sizeof e.ppid);
    memcpy(e.comp_svn, SIM_COMP_SVN, 16);
    memcpy(e.cpusvn, SIM_COMP_SVN, 16);
    e.pcesvn = SIM_PCESVN;
    memcpy(e.pce_id, SIM_PCE_ID, 2);
    memcpy(e.fmspc, SIM_FMSPC, 6);
    e.sgx_type = SIM_SGX_TYPE;
    e.has_platform_instance_id = true;
    ccai_sha256(SIM_LABEL_PLATFORM_INSTANCE, strlen(SIM_LABEL_PLATFORM_INSTANCE), h);
    memcpy(e.platform_instance_id, h, 16);
    return tdx_pck_ext_encode(&e, der, len, err);
}

static ccai_code new_key(EVP_PKEY **out, ccai_err *err)
{
    *out = EVP_EC_gen("P-256");
    return *out ? CCAI_OK : ossl_fail(err, "P-256 key generation");
}

ccai_code tee_sim_pki_generate(const char *dir, ccai_err *err)
{
    EVP_PKEY *root_key = NULL, *plat_key = NULL, *pck_key = NULL, *att_key = NULL,
             *tcb_key = NULL;
    X509 *root = NULL, *plat = NULL, *pck = NULL, *tcb = NULL;
    uint8_t *ext = NULL;
    size_t ext_len = 0;
    ccai_code rc = tee_sim_root_key(&root_key, err);
    if (!rc)
        rc = tdx_pem_to_x509(tee_sim_root_pem(), &root, err);
    /* The embedded root must carry the seed's key, or nothing would chain. */
    if (!rc && EVP_PKEY_eq(X509_get0_pubkey(root), root_key) != 1)
        rc = ccai_fail(err, CCAI_ERR_STATE, "sim: the embedded root certificate does not carry "
                                            "the key derived from TEE_SIM_ROOT_SEED");
    if (!rc)
        rc = new_key(&plat_key, err);
    if (!rc)
        rc = new_key(&pck_key, err);
    if (!rc)
        rc = new_key(&att_key, err);
    if (!rc)
        rc = new_key(&tcb_key, err);
    if (!rc) {
        cert_spec s = {.cn = SIM_PLATFORM_CN, .issuer = root, .issuer_key = root_key,
                       .key = plat_key, .ca_pathlen = 0};
        rc = make_cert(&s, &plat, err);
    }
    if (!rc)
        rc = sim_pck_ext(&ext, &ext_len, err);
    if (!rc) {
        cert_spec s = {.cn = SIM_PCK_CN, .issuer = plat, .issuer_key = plat_key, .key = pck_key,
                       .ca_pathlen = -1, .sgx_ext = ext, .sgx_ext_len = ext_len};
        rc = make_cert(&s, &pck, err);
    }
    if (!rc) {
        cert_spec s = {.cn = SIM_TCB_CN, .issuer = root, .issuer_key = root_key, .key = tcb_key,
                       .ca_pathlen = -1};
        rc = make_cert(&s, &tcb, err);
    }
    if (!rc) {
        char *path = tee_sim_path(dir, SIM_ROOT_PEM);
        rc = ccai_write_file_atomic(path, tee_sim_root_pem(), strlen(tee_sim_root_pem()), 0644,
                                    err);
        free(path);
    }
    if (!rc)
        rc = write_key(dir, SIM_PLATFORM_KEY, plat_key, err);
    if (!rc)
        rc = write_cert(dir, SIM_PLATFORM_PEM, plat, err);
    if (!rc)
        rc = write_key(dir, SIM_PCK_KEY, pck_key, err);
    if (!rc)
        rc = write_cert(dir, SIM_PCK_PEM, pck, err);
    if (!rc)
        rc = write_key(dir, SIM_ATTEST_KEY, att_key, err);
    if (!rc)
        rc = write_key(dir, SIM_TCB_KEY, tcb_key, err);
    if (!rc)
        rc = write_cert(dir, SIM_TCB_PEM, tcb, err);
    free(ext);
    X509_free(root);
    X509_free(plat);
    X509_free(pck);
    X509_free(tcb);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(plat_key);
    EVP_PKEY_free(pck_key);
    EVP_PKEY_free(att_key);
    EVP_PKEY_free(tcb_key);
    return rc;
}

/* ---- signatures -------------------------------------------------------------- */

ccai_code tee_sim_sign_raw(EVP_PKEY *key, const uint8_t *data, size_t len, uint8_t sig[64],
                           ccai_err *err)
{
    return ccai_p256_sign_raw(key, data, len, sig, err);
}

ccai_code tee_sim_pubkey_raw(EVP_PKEY *key, uint8_t xy[64], ccai_err *err)
{
    BIGNUM *x = NULL, *y = NULL;
    bool ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) &&
              EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) &&
              BN_bn2binpad(x, xy, 32) == 32 && BN_bn2binpad(y, xy + 32, 32) == 32;
    BN_free(x);
    BN_free(y);
    return ok ? CCAI_OK : ossl_fail(err, "public key export");
}
