/* Collateral bundle codec (collateral.h; parse stage, no crypto).
 *
 * The bundle is the interchange form of tdx-facts §2 ("A collateral bundle
 * with the fields ..."): nine string members, all required. Issuer chains
 * are PEM text; CRLs are hex DER (PEM "X509 CRL" is accepted too, since PCCS
 * deployments serve both) and are checked to decode as one X.509 CRL so a
 * broken bundle fails here naming the member, not later in the verifier;
 * signatures are exactly 128 hex digits (raw r||s, §2 step 9). tcb_info and
 * qe_identity are kept byte for byte as given: their signatures cover those
 * exact bytes (§2 step 9), so they are never re-serialized. Unknown members
 * are ignored (a bundle may carry extra facts such as the FMSPC).
 *
 * Every member has a size cap so a hostile bundle cannot make us allocate
 * without bound; a bundle file is at most 4 MiB. */
#include "tee/collateral.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/json.h"
#include "base/mem.h"

enum {
    BUNDLE_FILE_MAX = 4 << 20,
    CHAIN_MAX = 64 << 10,       /* a PEM issuer chain: two certificates, ~2 KB */
    CRL_TEXT_MAX = 3 << 20,     /* hex or PEM of one CRL (Intel's PCK CRLs grow) */
    SIGNED_JSON_MAX = 1 << 20,  /* tcb_info / qe_identity text (~3 KB for TDX) */
    SIG_HEX_LEN = 128,
};

#define PEM_CRL_BEGIN "-----BEGIN X509 CRL-----"
#define PEM_CRL_END "-----END X509 CRL-----"
#define PEM_CERT_BEGIN "-----BEGIN CERTIFICATE-----"


/* The string member key, its length bounded by max and free of NUL bytes
 * (none of the bundle's texts has one, and C strings could not keep it). */
static ccai_code get_text(const json_t *bundle, const char *key, size_t max, const char **out,
                          size_t *len, ccai_err *err)
{
    const json_t *v = json_object_get(bundle, key);
    if (!v)
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: missing \"%s\"", key);
    if (!json_is_string(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: \"%s\": expected a string, found %s",
                         key, ccai_json_kind(v));
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0)
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: \"%s\" is empty", key);
    if (n > max)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "collateral: \"%s\" is %zu bytes, more than the %zu-byte limit", key, n,
                         max);
    if (memchr(s, '\0', n))
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: \"%s\" contains a NUL byte", key);
    *out = s;
    *len = n;
    return CCAI_OK;
}

/* An issuer chain: PEM text holding at least one certificate. The chain is
 * decoded and verified in the verify stage; here only its shape. */
static ccai_code get_chain(const json_t *bundle, const char *key, char **out, ccai_err *err)
{
    const char *s = NULL;
    size_t n = 0;
    ccai_code rc = get_text(bundle, key, CHAIN_MAX, &s, &n, err);
    if (rc)
        return rc;
    if (!strstr(s, PEM_CERT_BEGIN))
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "collateral: \"%s\": expected a PEM certificate chain (\"%s\"), found "
                         "\"%.24s...\"",
                         key, PEM_CERT_BEGIN, s);
    *out = ccai_xstrndup(s, n);
    return CCAI_OK;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The base64 body of one PEM CRL, white space removed, into DER. Only white
 * space may surround the armour: anything else would be ignored silently. */
static ccai_code pem_crl_to_der(const char *key, const char *s, size_t n, uint8_t **der,
                                size_t *der_len, ccai_err *err)
{
    const char *begin = strstr(s, PEM_CRL_BEGIN);
    const char *end = begin ? strstr(begin, PEM_CRL_END) : NULL;
    if (!end)
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: \"%s\": PEM CRL without \"%s\"", key,
                         PEM_CRL_END);
    for (const char *p = s; p < begin; p++)
        if (!is_space(*p))
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "collateral: \"%s\": unexpected text before \"%s\"", key,
                             PEM_CRL_BEGIN);
    for (const char *p = end + strlen(PEM_CRL_END); p < s + n; p++)
        if (!is_space(*p))
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "collateral: \"%s\": unexpected text after \"%s\" (one CRL expected)",
                             key, PEM_CRL_END);
    const char *body = begin + strlen(PEM_CRL_BEGIN);
    char *b64 = ccai_xmalloc((size_t)(end - body) + 1);
    size_t m = 0;
    for (const char *p = body; p < end; p++)
        if (!is_space(*p))
            b64[m++] = *p;
    b64[m] = '\0';
    ccai_code rc = ccai_b64_decode(b64, m, CCAI_B64_STD, der, der_len, err);
    free(b64);
    if (rc)
        ccai_err_prefix(err, "collateral: \"%s\": PEM CRL", key);
    return rc;
}

/* True when der is exactly one DER X.509 CRL. */
static bool is_der_crl(const uint8_t *der, size_t len)
{
    if (len == 0 || len > 0x7fffffff)
        return false;
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    bool ok = crl && (size_t)(p - der) == len;
    X509_CRL_free(crl);
    ERR_clear_error();
    return ok;
}

/* A CRL member: hex DER (the interchange form) or PEM. */
static ccai_code get_crl(const json_t *bundle, const char *key, uint8_t **out, size_t *out_len,
                         ccai_err *err)
{
    const char *s = NULL;
    size_t n = 0;
    ccai_code rc = get_text(bundle, key, CRL_TEXT_MAX, &s, &n, err);
    if (rc)
        return rc;
    uint8_t *der = NULL;
    size_t der_len = 0;
    size_t lead = 0;
    while (lead < n && is_space(s[lead]))
        lead++;
    if (strncmp(s + lead, PEM_CRL_BEGIN, strlen(PEM_CRL_BEGIN)) == 0) {
        rc = pem_crl_to_der(key, s, n, &der, &der_len, err);
    } else {
        rc = ccai_hex_decode_alloc(s, n, &der, &der_len, err);
        if (rc)
            ccai_err_prefix(err, "collateral: \"%s\": expected hex DER or a PEM \"%s\"", key,
                            PEM_CRL_BEGIN);
    }
    if (rc)
        return rc;
    if (!is_der_crl(der, der_len)) {
        free(der);
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "collateral: \"%s\": the %zu bytes do not decode as one DER X.509 CRL",
                         key, der_len);
    }
    *out = der;
    *out_len = der_len;
    return CCAI_OK;
}

/* A raw signed JSON text (tcb_info, qe_identity): kept byte-exact; it must be
 * a JSON object, but it is parsed for meaning only by tcbinfo.h. */
static ccai_code get_signed_json(const json_t *bundle, const char *key, char **out,
                                 size_t *out_len, ccai_err *err)
{
    const json_t *v = json_object_get(bundle, key);
    if (v && json_is_object(v))
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "collateral: \"%s\": expected the raw JSON text as a string (its "
                         "signature covers the exact bytes), found an object",
                         key);
    const char *s = NULL;
    size_t n = 0;
    ccai_code rc = get_text(bundle, key, SIGNED_JSON_MAX, &s, &n, err);
    if (rc)
        return rc;
    json_t *parsed = NULL;
    rc = ccai_json_parse(s, n, &parsed, err);
    if (rc) {
        ccai_err_prefix(err, "collateral: \"%s\"", key);
        return rc;
    }
    bool object = json_is_object(parsed);
    const char *kind = ccai_json_kind(parsed);
    json_decref(parsed);
    if (!object)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "collateral: \"%s\": expected a JSON object, found %s", key, kind);
    *out = ccai_xstrndup(s, n);
    *out_len = n;
    return CCAI_OK;
}

static ccai_code get_signature(const json_t *bundle, const char *key, uint8_t out[64],
                               ccai_err *err)
{
    const char *s = NULL;
    size_t n = 0;
    ccai_code rc = get_text(bundle, key, 4096, &s, &n, err);
    if (rc)
        return rc;
    rc = ccai_hex_decode_exact(s, out, SIG_HEX_LEN / 2, err);
    if (rc)
        ccai_err_prefix(err, "collateral: \"%s\" (raw ECDSA r||s)", key);
    return rc;
}

ccai_code tdx_collateral_from_json(const json_t *bundle, tdx_collateral *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    if (!bundle || !json_is_object(bundle))
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: expected a JSON object, found %s",
                         bundle ? ccai_json_kind(bundle) : "nothing");
    tdx_collateral c = {0};
    /* tdx-facts §2 field order. */
    ccai_code rc = get_chain(bundle, "pck_crl_issuer_chain", &c.pck_crl_issuer_chain, err);
    if (!rc)
        rc = get_crl(bundle, "root_ca_crl", &c.root_ca_crl, &c.root_ca_crl_len, err);
    if (!rc)
        rc = get_crl(bundle, "pck_crl", &c.pck_crl, &c.pck_crl_len, err);
    if (!rc)
        rc = get_chain(bundle, "tcb_info_issuer_chain", &c.tcb_info_issuer_chain, err);
    if (!rc)
        rc = get_signed_json(bundle, "tcb_info", &c.tcb_info, &c.tcb_info_len, err);
    if (!rc)
        rc = get_signature(bundle, "tcb_info_signature", c.tcb_info_signature, err);
    if (!rc)
        rc = get_chain(bundle, "qe_identity_issuer_chain", &c.qe_identity_issuer_chain, err);
    if (!rc)
        rc = get_signed_json(bundle, "qe_identity", &c.qe_identity, &c.qe_identity_len, err);
    if (!rc)
        rc = get_signature(bundle, "qe_identity_signature", c.qe_identity_signature, err);
    if (rc) {
        tdx_collateral_free(&c);
        return rc;
    }
    *out = c;
    return CCAI_OK;
}

ccai_code tdx_collateral_read_file(const char *path, tdx_collateral *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(path, BUNDLE_FILE_MAX, &data, &len, err);
    if (rc)
        return rc; /* the message names the path (and the limit) */
    json_t *bundle = NULL;
    rc = ccai_json_parse((const char *)data, len, &bundle, err);
    free(data);
    if (!rc) {
        rc = tdx_collateral_from_json(bundle, out, err);
        json_decref(bundle);
    }
    if (rc)
        ccai_err_prefix(err, "%s", path);
    return rc;
}

json_t *tdx_collateral_to_json(const tdx_collateral *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "pck_crl_issuer_chain", json_string(c->pck_crl_issuer_chain));
    ccai_json_set_hex(o, "root_ca_crl", c->root_ca_crl, c->root_ca_crl_len);
    ccai_json_set_hex(o, "pck_crl", c->pck_crl, c->pck_crl_len);
    json_object_set_new(o, "tcb_info_issuer_chain", json_string(c->tcb_info_issuer_chain));
    json_object_set_new(o, "tcb_info", json_stringn(c->tcb_info, c->tcb_info_len));
    ccai_json_set_hex(o, "tcb_info_signature", c->tcb_info_signature, 64);
    json_object_set_new(o, "qe_identity_issuer_chain", json_string(c->qe_identity_issuer_chain));
    json_object_set_new(o, "qe_identity", json_stringn(c->qe_identity, c->qe_identity_len));
    ccai_json_set_hex(o, "qe_identity_signature", c->qe_identity_signature, 64);
    return o;
}

void tdx_collateral_free(tdx_collateral *c)
{
    if (!c)
        return;
    free(c->pck_crl_issuer_chain);
    free(c->root_ca_crl);
    free(c->pck_crl);
    free(c->tcb_info_issuer_chain);
    free(c->tcb_info);
    free(c->qe_identity_issuer_chain);
    free(c->qe_identity);
    memset(c, 0, sizeof *c);
}
