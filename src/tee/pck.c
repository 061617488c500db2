/* PCK certificates: Intel's SGX extension and PEM chains (pck.h).
 *
 * The extension (OID 1.2.840.113741.1.13.1, tdx-facts §2) is a SEQUENCE of
 * SEQUENCE{OID, value}; its TCB item (.2) nests the same shape once more.
 * Parsing goes through OpenSSL's generic ASN1_TYPE decoder, then checks every
 * item's type and size by hand: the verifier compares FMSPC, PCE-ID and the
 * SVNs taken from here against signed collateral, so a value that does not
 * have exactly the documented shape is an error (naming the item), never a
 * guess. Unknown items are skipped (Intel adds new ones over time), duplicate
 * known items are rejected. The encoder writes the same structure for the
 * simulated TD's PCK certificates. */
#include "tee/pck.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/mem.h"

/* Top-level items, by the last arc of their OID. */
enum {
    ITEM_PPID = 1,
    ITEM_TCB = 2,
    ITEM_PCE_ID = 3,
    ITEM_FMSPC = 4,
    ITEM_SGX_TYPE = 5,
    ITEM_PLATFORM_INSTANCE_ID = 6,
    ITEM_CONFIGURATION = 7,
    ITEM_MAX = 7,
};
enum { TCB_PCESVN = 17, TCB_CPUSVN = 18, TCB_MAX = 18 };

static const char *item_name(unsigned arc)
{
    switch (arc) {
    case ITEM_PPID: return "PPID";
    case ITEM_TCB: return "TCB";
    case ITEM_PCE_ID: return "PCE-ID";
    case ITEM_FMSPC: return "FMSPC";
    case ITEM_SGX_TYPE: return "SGX type";
    case ITEM_PLATFORM_INSTANCE_ID: return "PlatformInstanceID";
    case ITEM_CONFIGURATION: return "configuration";
    default: return "item";
    }
}

/* ---- decoding ---------------------------------------------------------- */

/* Decodes der as one SEQUENCE of anything, requiring it to span all of len. */
static ccai_code decode_seq(const uint8_t *der, size_t len, const char *what,
                            STACK_OF(ASN1_TYPE) **out, ccai_err *err)
{
    const unsigned char *p = der;
    STACK_OF(ASN1_TYPE) *sk = len > 0 && len <= 0x7fffffff
                                  ? d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len)
                                  : NULL;
    ERR_clear_error();
    if (!sk)
        return ccai_fail(err, CCAI_ERR_PARSE, "PCK extension: %s is not a DER SEQUENCE (%zu bytes)",
                         what, len);
    if ((size_t)(p - der) != len) {
        size_t extra = len - (size_t)(p - der);
        sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
        return ccai_fail(err, CCAI_ERR_PARSE, "PCK extension: %zu trailing bytes after %s", extra,
                         what);
    }
    *out = sk;
    return CCAI_OK;
}

/* One SEQUENCE{OID, value} item. On success *pair owns the decoded pair,
 * *oid holds its dotted text and *value points into *pair. */
static ccai_code decode_pair(const ASN1_TYPE *t, const char *where, STACK_OF(ASN1_TYPE) **pair,
                             char oid[96], const ASN1_TYPE **value, ccai_err *err)
{
    if (ASN1_TYPE_get(t) != V_ASN1_SEQUENCE)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "PCK extension: an element of %s is ASN.1 type %d, expected SEQUENCE",
                         where, ASN1_TYPE_get(t));
    const ASN1_STRING *s = t->value.sequence;
    STACK_OF(ASN1_TYPE) *sk = NULL;
    ccai_code rc = decode_seq(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), where,
                              &sk, err);
    if (rc)
        return rc;
    const ASN1_TYPE *o = sk_ASN1_TYPE_num(sk) == 2 ? sk_ASN1_TYPE_value(sk, 0) : NULL;
    if (!o || ASN1_TYPE_get(o) != V_ASN1_OBJECT ||
        OBJ_obj2txt(oid, 96, o->value.object, 1) <= 0) {
        int n = sk_ASN1_TYPE_num(sk);
        sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "PCK extension: an element of %s is not SEQUENCE{OID, value} (%d members)",
                         where, n);
    }
    *pair = sk;
    *value = sk_ASN1_TYPE_value(sk, 1);
    return CCAI_OK;
}

/* The last arc of oid when oid is prefix "." arc with 1 <= arc <= max, else 0. */
static unsigned child_arc(const char *oid, const char *prefix, unsigned max)
{
    size_t n = strlen(prefix);
    if (strncmp(oid, prefix, n) != 0 || oid[n] != '.')
        return 0;
    const char *p = oid + n + 1;
    if (*p < '1' || *p > '9')
        return 0;
    char *end = NULL;
    unsigned long v = strtoul(p, &end, 10);
    return *end == '\0' && v <= max ? (unsigned)v : 0;
}

static ccai_code get_octets(const ASN1_TYPE *v, const char *name, const char *oid, uint8_t *out,
                            size_t want, ccai_err *err)
{
    if (ASN1_TYPE_get(v) != V_ASN1_OCTET_STRING)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "PCK extension: %s (%s) is ASN.1 type %d, expected OCTET STRING", name,
                         oid, ASN1_TYPE_get(v));
    const ASN1_OCTET_STRING *s = v->value.octet_string;
    if ((size_t)ASN1_STRING_length(s) != want)
        return ccai_fail(err, CCAI_ERR_PARSE, "PCK extension: %s (%s) is %d bytes, expected %zu",
                         name, oid, ASN1_STRING_length(s), want);
    memcpy(out, ASN1_STRING_get0_data(s), want);
    return CCAI_OK;
}

/* An INTEGER (or, for the SGX type, ENUMERATED) in 0..max. */
static ccai_code get_uint(const ASN1_TYPE *v, int asn1_type, const char *name, const char *oid,
                          int64_t max, int64_t *out, ccai_err *err)
{
    int64_t x = 0;
    int ok = 0;
    if (ASN1_TYPE_get(v) == asn1_type && asn1_type == V_ASN1_INTEGER)
        ok = ASN1_INTEGER_get_int64(&x, v->value.integer);
    else if (ASN1_TYPE_get(v) == asn1_type && asn1_type == V_ASN1_ENUMERATED)
        ok = ASN1_ENUMERATED_get_int64(&x, v->value.enumerated);
    else
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "PCK extension: %s (%s) is ASN.1 type %d, expected %s", name, oid,
                         ASN1_TYPE_get(v),
                         asn1_type == V_ASN1_INTEGER ? "INTEGER" : "ENUMERATED");
    ERR_clear_error();
    if (!ok || x < 0 || x > max)
        return ccai_fail(err, CCAI_ERR_PARSE, "PCK extension: %s (%s) is out of range 0..%lld",
                         name, oid, (long long)max);
    *out = x;
    return CCAI_OK;
}

/* The TCB item (.2): component SVNs .2.1-.2.16, PCESVN .2.17, CPUSVN .2.18. */
static ccai_code parse_tcb(const ASN1_TYPE *v, const char *tcb_oid, tdx_pck_ext *out,
                           ccai_err *err)
{
    if (ASN1_TYPE_get(v) != V_ASN1_SEQUENCE)
        return ccai_fail(err, CCAI_ERR_PARSE, "PCK extension: TCB (%s) is not a SEQUENCE",
                         tcb_oid);
    STACK_OF(ASN1_TYPE) *sk = NULL;
    ccai_code rc = decode_seq(ASN1_STRING_get0_data(v->value.sequence),
                              (size_t)ASN1_STRING_length(v->value.sequence), "TCB", &sk, err);
    if (rc)
        return rc;
    bool seen[TCB_MAX + 1] = {false};
    for (int i = 0; !rc && i < sk_ASN1_TYPE_num(sk); i++) {
        STACK_OF(ASN1_TYPE) *pair = NULL;
        const ASN1_TYPE *val = NULL;
        char oid[96];
        rc = decode_pair(sk_ASN1_TYPE_value(sk, i), "TCB", &pair, oid, &val, err);
        if (rc)
            break;
        unsigned arc = child_arc(oid, tcb_oid, TCB_MAX);
        int64_t x = 0;
        if (arc && seen[arc])
            rc = ccai_fail(err, CCAI_ERR_PARSE, "PCK extension: TCB item %s appears twice", oid);
        else if (arc == TCB_CPUSVN)
            rc = get_octets(val, "CPUSVN", oid, out->cpusvn, 16, err);
        else if (arc == TCB_PCESVN && !(rc = get_uint(val, V_ASN1_INTEGER, "PCESVN", oid, 65535,
                                                       &x, err)))
            out->pcesvn = (uint16_t)x;
        else if (arc >= 1 && arc <= 16 &&
                 !(rc = get_uint(val, V_ASN1_INTEGER, "component SVN", oid, 255, &x, err)))
            out->comp_svn[arc - 1] = (uint8_t)x;
        if (arc)
            seen[arc] = true;
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
    for (unsigned arc = 1; !rc && arc <= TCB_MAX; arc++)
        if (!seen[arc])
            rc = ccai_fail(err, CCAI_ERR_PARSE, "PCK extension: TCB item %s.%u (%s) is missing",
                           tcb_oid, arc,
                           arc == TCB_PCESVN   ? "PCESVN"
                           : arc == TCB_CPUSVN ? "CPUSVN"
                                               : "component SVN");
    return rc;
}

/* One top-level item into *out. */
static ccai_code parse_item(unsigned arc, const char *oid, const ASN1_TYPE *val, tdx_pck_ext *out,
                            ccai_err *err)
{
    int64_t x = 0;
    ccai_code rc = CCAI_OK;
    switch (arc) {
    case ITEM_PPID:
        return get_octets(val, "PPID", oid, out->ppid, sizeof out->ppid, err);
    case ITEM_TCB:
        return parse_tcb(val, oid, out, err);
    case ITEM_PCE_ID:
        return get_octets(val, "PCE-ID", oid, out->pce_id, sizeof out->pce_id, err);
    case ITEM_FMSPC:
        return get_octets(val, "FMSPC", oid, out->fmspc, sizeof out->fmspc, err);
    case ITEM_SGX_TYPE:
        rc = get_uint(val, V_ASN1_ENUMERATED, "SGX type", oid, 255, &x, err);
        out->sgx_type = (int)x;
        return rc;
    case ITEM_PLATFORM_INSTANCE_ID:
        out->has_platform_instance_id = true;
        return get_octets(val, "PlatformInstanceID", oid, out->platform_instance_id,
                          sizeof out->platform_instance_id, err);
    default:
        return CCAI_OK; /* .7 configuration and unknown items: not used */
    }
}

ccai_code tdx_pck_ext_parse(const uint8_t *der, size_t len, tdx_pck_ext *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    STACK_OF(ASN1_TYPE) *sk = NULL;
    ccai_code rc = decode_seq(der, len, "the extension", &sk, err);
    if (rc)
        return rc;
    bool seen[ITEM_MAX + 1] = {false};
    for (int i = 0; !rc && i < sk_ASN1_TYPE_num(sk); i++) {
        STACK_OF(ASN1_TYPE) *pair = NULL;
        const ASN1_TYPE *val = NULL;
        char oid[96];
        rc = decode_pair(sk_ASN1_TYPE_value(sk, i), "the extension", &pair, oid, &val, err);
        if (rc)
            break;
        unsigned arc = child_arc(oid, TDX_SGX_EXT_OID, ITEM_MAX);
        if (arc && seen[arc])
            rc = ccai_fail(err, CCAI_ERR_PARSE, "PCK extension: %s (%s) appears twice",
                           item_name(arc), oid);
        else if (arc)
            rc = parse_item(arc, oid, val, out, err);
        if (arc)
            seen[arc] = true;
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
    for (unsigned arc = ITEM_PPID; !rc && arc <= ITEM_SGX_TYPE; arc++)
        if (!seen[arc])
            rc = ccai_fail(err, CCAI_ERR_PARSE, "PCK extension: %s (%s.%u) is missing",
                           item_name(arc), TDX_SGX_EXT_OID, arc);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

ccai_code tdx_pck_ext_from_cert(X509 *cert, tdx_pck_ext *out, ccai_err *err)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(TDX_SGX_EXT_OID, 1);
    int idx = obj ? X509_get_ext_by_OBJ(cert, obj, -1) : -1;
    ASN1_OBJECT_free(obj);
    if (idx < 0)
        return ccai_fail(err, CCAI_ERR_NOT_FOUND,
                         "PCK certificate has no SGX extension (%s)", TDX_SGX_EXT_OID);
    const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
    return tdx_pck_ext_parse(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), out, err);
}

/* ---- encoding ---------------------------------------------------------- */

/* OpenSSL allocation failures end the process, as ccai_xmalloc does (mem.h):
 * the encoder has no input that can make these calls fail otherwise. */
static void *need(void *p)
{
    if (!p) {
        fputs("ccai: out of memory (OpenSSL)\n", stderr);
        abort();
    }
    return p;
}

static void need_ok(int ok)
{
    need(ok > 0 ? &ok : NULL);
}

static ASN1_TYPE *wrap(int type, void *value)
{
    ASN1_TYPE *t = need(ASN1_TYPE_new());
    ASN1_TYPE_set(t, type, value);
    return t;
}

static ASN1_TYPE *enc_octets(const uint8_t *p, size_t n)
{
    ASN1_OCTET_STRING *s = need(ASN1_OCTET_STRING_new());
    need_ok(ASN1_OCTET_STRING_set(s, p, (int)n));
    return wrap(V_ASN1_OCTET_STRING, s);
}

static ASN1_TYPE *enc_integer(int64_t v, int type)
{
    ASN1_INTEGER *i = need(type == V_ASN1_ENUMERATED ? ASN1_ENUMERATED_new() : ASN1_INTEGER_new());
    if (type == V_ASN1_ENUMERATED)
        need_ok(ASN1_ENUMERATED_set_int64(i, v));
    else
        need_ok(ASN1_INTEGER_set_int64(i, v));
    return wrap(type, i);
}

/* A SEQUENCE of the given members (consumed). */
static ASN1_TYPE *enc_seq(STACK_OF(ASN1_TYPE) *members)
{
    unsigned char *der = NULL;
    int n = i2d_ASN1_SEQUENCE_ANY(members, &der);
    sk_ASN1_TYPE_pop_free(members, ASN1_TYPE_free);
    need(n > 0 ? der : NULL);
    ASN1_STRING *s = need(ASN1_STRING_new());
    need_ok(ASN1_STRING_set(s, der, n));
    OPENSSL_free(der);
    return wrap(V_ASN1_SEQUENCE, s);
}

/* SEQUENCE{OID prefix.arc, value}, appended to list. */
static void add_pair(STACK_OF(ASN1_TYPE) *list, const char *prefix, unsigned arc, ASN1_TYPE *value)
{
    char oid[96];
    snprintf(oid, sizeof oid, "%s.%u", prefix, arc);
    STACK_OF(ASN1_TYPE) *pair = need(sk_ASN1_TYPE_new_null());
    need_ok(sk_ASN1_TYPE_push(pair, wrap(V_ASN1_OBJECT, need(OBJ_txt2obj(oid, 1)))));
    need_ok(sk_ASN1_TYPE_push(pair, value));
    need_ok(sk_ASN1_TYPE_push(list, enc_seq(pair)));
}

ccai_code tdx_pck_ext_encode(const tdx_pck_ext *ext, uint8_t **der, size_t *len, ccai_err *err)
{
    if (ext->sgx_type < 0 || ext->sgx_type > 255)
        return ccai_fail(err, CCAI_ERR_ARG, "PCK extension: SGX type %d is out of range 0..255",
                         ext->sgx_type);
    char tcb_oid[64];
    snprintf(tcb_oid, sizeof tcb_oid, "%s.%d", TDX_SGX_EXT_OID, ITEM_TCB);
    STACK_OF(ASN1_TYPE) *tcb = need(sk_ASN1_TYPE_new_null());
    for (unsigned i = 0; i < 16; i++)
        add_pair(tcb, tcb_oid, i + 1, enc_integer(ext->comp_svn[i], V_ASN1_INTEGER));
    add_pair(tcb, tcb_oid, TCB_PCESVN, enc_integer(ext->pcesvn, V_ASN1_INTEGER));
    add_pair(tcb, tcb_oid, TCB_CPUSVN, enc_octets(ext->cpusvn, sizeof ext->cpusvn));

    STACK_OF(ASN1_TYPE) *top = need(sk_ASN1_TYPE_new_null());
    add_pair(top, TDX_SGX_EXT_OID, ITEM_PPID, enc_octets(ext->ppid, sizeof ext->ppid));
    add_pair(top, TDX_SGX_EXT_OID, ITEM_TCB, enc_seq(tcb));
    add_pair(top, TDX_SGX_EXT_OID, ITEM_PCE_ID, enc_octets(ext->pce_id, sizeof ext->pce_id));
    add_pair(top, TDX_SGX_EXT_OID, ITEM_FMSPC, enc_octets(ext->fmspc, sizeof ext->fmspc));
    add_pair(top, TDX_SGX_EXT_OID, ITEM_SGX_TYPE, enc_integer(ext->sgx_type, V_ASN1_ENUMERATED));
    if (ext->has_platform_instance_id)
        add_pair(top, TDX_SGX_EXT_OID, ITEM_PLATFORM_INSTANCE_ID,
                 enc_octets(ext->platform_instance_id, sizeof ext->platform_instance_id));

    unsigned char *p = NULL;
    int n = i2d_ASN1_SEQUENCE_ANY(top, &p);
    sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
    if (n <= 0)
        return ccai_fail(err, CCAI_ERR_CRYPTO, "PCK extension: DER encoding failed");
    *der = ccai_xmemdup(p, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(p);
    return CCAI_OK;
}

/* ---- PEM and certificate helpers ---------------------------------------- */

ccai_code tdx_pem_to_x509(const char *pem, X509 **out, ccai_err *err)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!x)
        return ccai_fail(err, CCAI_ERR_PARSE, "PEM certificate does not decode");
    *out = x;
    return CCAI_OK;
}

ccai_code tdx_pem_chain_load(const char *pem, size_t len, STACK_OF(X509) **out, ccai_err *err)
{
    if (len > 0x7fffffff)
        return ccai_fail(err, CCAI_ERR_ARG, "PEM bundle of %zu bytes is too large", len);
    BIO *bio = need(BIO_new_mem_buf(pem, (int)len));
    STACK_OF(X509) *sk = need(sk_X509_new_null());
    ccai_code rc = CCAI_OK;
    for (;;) {
        ERR_clear_error();
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x) {
            need_ok(sk_X509_push(sk, x));
            continue;
        }
        /* The reader reports "no start line" once the text is used up; any
         * other failure is a certificate that did not decode. */
        unsigned long e = ERR_peek_last_error();
        bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
        if (!at_end)
            rc = ccai_fail(err, CCAI_ERR_PARSE, "PEM bundle: certificate %d does not decode",
                           sk_X509_num(sk) + 1);
        else if (sk_X509_num(sk) == 0)
            rc = ccai_fail(err, CCAI_ERR_PARSE, "PEM bundle holds no certificate");
        break;
    }
    ERR_clear_error();
    BIO_free(bio);
    if (rc) {
        sk_X509_pop_free(sk, X509_free);
        return rc;
    }
    *out = sk;
    return CCAI_OK;
}

void tdx_x509_name_text(const X509_NAME *name, char *buf, size_t n)
{
    if (n == 0)
        return;
    buf[0] = '\0';
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return;
    /* RFC 2253 escaping and separators, but in certificate order (CN first,
     * as Intel's names read) and with UTF-8 left readable. */
    unsigned long flags = (XN_FLAG_RFC2253 & ~XN_FLAG_DN_REV & ~ASN1_STRFLGS_ESC_MSB);
    if (X509_NAME_print_ex(bio, name, 0, flags) >= 0) {
        char *p = NULL;
        long len = BIO_get_mem_data(bio, &p);
        size_t k = len > 0 ? (size_t)len : 0;
        if (k >= n)
            k = n - 1;
        memcpy(buf, p, k);
        buf[k] = '\0';
    }
    BIO_free(bio);
}

void tdx_x509_subject(X509 *cert, char *buf, size_t n)
{
    tdx_x509_name_text(X509_get_subject_name(cert), buf, n);
}

void tdx_x509_sha256(X509 *cert, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    if (n <= 0) {
        memset(out, 0, 32);
        return;
    }
    ccai_sha256(der, (size_t)n, out);
    OPENSSL_free(der);
}
