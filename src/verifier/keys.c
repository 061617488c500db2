/* The verifier's token signing keys (verifier.h "keys.c"): one current P-256
 * key in <dir>/signing-key.pem (0600) and the public halves of retired keys
 * in <dir>/retired.json until the last token they signed has expired. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/json.h"
#include "base/mem.h"
#include "verifier/jwt.h"
#include "verifier/verifier.h"

enum { KEY_FILE_MAX = 16 << 10, RETIRED_MAX = 1 << 20, RETIRED_KEEP = 16 };

struct ccai_keyring {
    EVP_PKEY *key;
    json_t *jwk;        /* public JWK of key */
    json_t *retired;    /* array of JWKs with "retire_at" */
};

static ccai_code load_key(const char *path, EVP_PKEY **out, ccai_err *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        return ccai_fail(err, CCAI_ERR_STATE, "%s: the signing key is readable by others (mode "
                         "%04o): expected 0600", path, (unsigned)(st.st_mode & 07777));
    uint8_t *pem = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(path, KEY_FILE_MAX, &pem, &len, err);
    if (rc)
        return rc;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    *out = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ccai_wipe(pem, len);
    free(pem);
    ERR_clear_error();
    if (!*out)
        return ccai_fail(err, CCAI_ERR_STATE, "%s: not a PEM private key", path);
    return CCAI_OK;
}

static ccai_code save_key(const char *path, EVP_PKEY *key, ccai_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len = 0;
    if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) ||
        (len = BIO_get_mem_data(b, &data)) <= 0) {
        BIO_free(b);
        ERR_clear_error();
        return ccai_fail(err, CCAI_ERR_CRYPTO, "encoding the signing key failed");
    }
    ccai_code rc = ccai_write_file_atomic(path, data, (size_t)len, 0600, err);
    ccai_wipe(data, (size_t)len);
    BIO_free(b);
    return rc;
}

static ccai_code load_retired(const char *path, json_t **out, ccai_err *err)
{
    *out = NULL;
    if (!ccai_exists(path)) {
        *out = json_array();
        return CCAI_OK;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *j = NULL;
    ccai_code rc = ccai_read_file(path, RETIRED_MAX, &data, &len, err);
    if (!rc)
        rc = ccai_json_parse((const char *)data, len, &j, err);
    free(data);
    const json_t *keys = json_object_get(j, "keys");
    if (!rc && !json_is_array(keys))
        rc = ccai_fail(err, CCAI_ERR_STATE, "expected {\"keys\": [...]}");
    if (rc) {
        json_decref(j);
        ccai_err_prefix(err, "%s", path);
        return rc;
    }
    *out = json_incref((json_t *)(uintptr_t)keys);
    json_decref(j);
    return CCAI_OK;
}

/* Drops entries whose retire_at has passed, and the oldest beyond RETIRED_KEEP. */
static void prune(json_t *retired, time_t now)
{
    for (size_t i = json_array_size(retired); i-- > 0;) {
        json_t *r = json_object_get(json_array_get(retired, i), "retire_at");
        if (!json_is_integer(r) || json_integer_value(r) <= (json_int_t)now)
            json_array_remove(retired, i);
    }
    while (json_array_size(retired) > RETIRED_KEEP)
        json_array_remove(retired, 0);
}

static ccai_code save_retired(const char *path, json_t *retired, ccai_err *err)
{
    json_t *j = json_pack("{s:O}", "keys", retired);
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    ccai_code rc = ccai_write_file_atomic(path, s, strlen(s), 0600, err);
    free(s);
    json_decref(j);
    return rc;
}

/* The longest token lifetime the key kid has signed with: <dir>/signing-key.json
 * {"kid","max_lifetime_s"} (a start with a longer lifetime raises it). */
static long used_lifetime(const char *path, const char *kid)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *j = NULL;
    long v = 0;
    if (ccai_read_file(path, 4096, &data, &len, NULL) == CCAI_OK &&
        ccai_json_parse((const char *)data, len, &j, NULL) == CCAI_OK &&
        json_is_string(json_object_get(j, "kid")) &&
        strcmp(json_string_value(json_object_get(j, "kid")), kid) == 0)
        v = (long)json_integer_value(json_object_get(j, "max_lifetime_s"));
    json_decref(j);
    free(data);
    return v;
}

static ccai_code save_used_lifetime(const char *path, const char *kid, long lifetime_s,
                                    ccai_err *err)
{
    json_t *j = json_pack("{s:s, s:I}", "kid", kid, "max_lifetime_s", (json_int_t)lifetime_s);
    char *s = json_dumps(j, JSON_COMPACT);
    ccai_code rc = ccai_write_file_atomic(path, s, strlen(s), 0600, err);
    free(s);
    json_decref(j);
    return rc;
}

static ccai_code open_key(const char *dir, bool rotate, long lifetime_s, time_t now,
                          ccai_keyring *k, ccai_err *err)
{
    char *kp = ccai_xasprintf("%s/signing-key.pem", dir);
    char *rp = ccai_xasprintf("%s/retired.json", dir);
    char *mp = ccai_xasprintf("%s/signing-key.json", dir);
    ccai_code rc = load_retired(rp, &k->retired, err);
    bool have = ccai_exists(kp);
    long used = 0;
    if (!rc && have)
        rc = load_key(kp, &k->key, err);
    if (!rc && have)
        rc = ccai_jwk_from_pkey(k->key, &k->jwk, err);
    if (!rc && have)
        used = used_lifetime(mp, json_string_value(json_object_get(k->jwk, "kid")));
    if (used < lifetime_s)
        used = lifetime_s;
    if (!rc && have && rotate) {
        /* The old key's last token expires at most `used` seconds from now
         * (the longest lifetime it ever signed with): list it until then. */
        json_t *old = json_deep_copy(k->jwk);
        json_object_set_new(old, "retire_at", json_integer((json_int_t)(now + used)));
        json_array_append_new(k->retired, old);
        prune(k->retired, now);
        rc = save_retired(rp, k->retired, err);
        EVP_PKEY_free(k->key);
        json_decref(k->jwk);
        k->key = NULL;
        k->jwk = NULL;
        used = lifetime_s;
    }
    if (!rc && !k->key) {
        rc = ccai_p256_generate(&k->key, err);
        if (!rc)
            rc = save_key(kp, k->key, err);
        if (!rc)
            rc = ccai_jwk_from_pkey(k->key, &k->jwk, err);
    }
    if (!rc)
        rc = save_used_lifetime(mp, json_string_value(json_object_get(k->jwk, "kid")), used, err);
    if (!rc)
        prune(k->retired, now);
    free(kp);
    free(rp);
    free(mp);
    return rc;
}

ccai_code ccai_keyring_open(const char *dir, bool rotate, long lifetime_s, time_t now,
                            ccai_keyring **out, ccai_err *err)
{
    *out = NULL;
    ccai_code rc = ccai_mkdir_p(dir, 0700, err);
    if (rc)
        return rc;
    ccai_keyring *k = ccai_xcalloc(1, sizeof *k);
    rc = open_key(dir, rotate, lifetime_s, now, k, err);
    if (rc) {
        ccai_keyring_free(k);
        return rc;
    }
    *out = k;
    return CCAI_OK;
}

void ccai_keyring_free(ccai_keyring *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->key);
    json_decref(k->jwk);
    json_decref(k->retired);
    free(k);
}

EVP_PKEY *ccai_keyring_key(const ccai_keyring *k)
{
    return k->key;
}

const char *ccai_keyring_kid(const ccai_keyring *k)
{
    return json_string_value(json_object_get(k->jwk, "kid"));
}

json_t *ccai_keyring_jwks(const ccai_keyring *k, time_t now)
{
    json_t *keys = json_array();
    json_array_append(keys, k->jwk);
    for (size_t i = 0; i < json_array_size(k->retired); i++) {
        const json_t *r = json_array_get(k->retired, i);
        const json_t *at = json_object_get(r, "retire_at");
        if (!json_is_integer(at) || json_integer_value(at) <= (json_int_t)now)
            continue;
        json_t *pub = json_deep_copy(r);
        json_object_del(pub, "retire_at");
        json_array_append_new(keys, pub);
    }
    return json_pack("{s:o}", "keys", keys);
}
