/* Tests for src/tee/pck.c: the SGX extension of a real PCK certificate
 * (values read with `openssl asn1parse` from the leaf in
 * testdata/tdx/real-v4-uptodate/quote.bin), an encoder cross-checked against
 * DER written independently here, malformed extensions that must be rejected
 * naming the item, and the PEM/X.509 helpers. */
#include "testutil.h"

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/mem.h"
#include "tee/pck.h"

#define INTEL_PCK_SUBJECT \
    "CN=Intel SGX PCK Certificate,O=Intel Corporation,L=Santa Clara,ST=CA,C=US"
static const uint8_t REAL_COMP_SVN[16] = {3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0};

/* The PEM chain of the real quote, cut out with the v4 offsets of
 * tdx-facts §1 (independent of quote.c): signature data at 636, QE auth size
 * at +582, then type 5 and its size. *len counts the trailing NUL. */
static char *real_chain(size_t *len)
{
    const char *path = tu_shared_path("testdata/tdx/real-v4-uptodate/quote.bin");
    if (!path)
        return NULL;
    size_t n = 0;
    uint8_t *q = tu_read(path, &n);
    size_t sig = 636;
    assert_true(n > sig + 590);
    size_t auth = ccai_le16(q + sig + 582);
    size_t at = sig + 584 + auth;
    assert_int_equal(ccai_le16(q + at), 5);
    size_t chain_len = ccai_le32(q + at + 2);
    assert_true(at + 6 + chain_len <= n);
    char *chain = ccai_xmemdup(q + at + 6, chain_len);
    free(q);
    assert_int_equal(chain[chain_len - 1], '\0'); /* the NUL real chains count */
    *len = chain_len;
    return chain;
}

static void hex_is(const uint8_t *p, size_t n, const char *want)
{
    char buf[256];
    ccai_hex_encode(p, n, buf);
    assert_string_equal(buf, want);
}

static void test_real_pck_extension(void **state)
{
    (void)state;
    size_t len = 0;
    char *chain = real_chain(&len);
    TU_SKIP_IF_NO_SHARED(chain);
    STACK_OF(X509) *sk = NULL;
    ccai_err err = {0};
    assert_int_equal(tdx_pem_chain_load(chain, len, &sk, &err), CCAI_OK);
    assert_int_equal(sk_X509_num(sk), 3);

    tdx_pck_ext e;
    assert_int_equal(tdx_pck_ext_from_cert(sk_X509_value(sk, 0), &e, &err), CCAI_OK);
    hex_is(e.fmspc, 6, "b0c06f000000");
    hex_is(e.pce_id, 2, "0000");
    assert_int_equal(e.pcesvn, 11);
    assert_memory_equal(e.comp_svn, REAL_COMP_SVN, 16);
    hex_is(e.cpusvn, 16, "03030202040100050000000000000000");
    hex_is(e.ppid, 16, "811dca2a26b952e85bb6448b097ba4fd");
    assert_int_equal(e.sgx_type, 1);
    assert_true(e.has_platform_instance_id);
    hex_is(e.platform_instance_id, 16, "07828474603e7019dc930775ffe8cdd2");

    /* The chain ends in Intel's root, pinned by tdx-facts §3. */
    uint8_t h[32];
    tdx_x509_sha256(sk_X509_value(sk, 2), h);
    hex_is(h, 32, "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
    char subject[256];
    tdx_x509_subject(sk_X509_value(sk, 0), subject, sizeof subject);
    assert_string_equal(subject, INTEL_PCK_SUBJECT);
    tdx_x509_subject(sk_X509_value(sk, 2), subject, 10); /* truncates, stays a string */
    assert_string_equal(subject, "CN=Intel ");

    /* The root carries no SGX extension. */
    assert_int_equal(tdx_pck_ext_from_cert(sk_X509_value(sk, 2), &e, &err), CCAI_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, TDX_SGX_EXT_OID));

    /* Re-encoding what was read gives the same values back. */
    uint8_t *der = NULL;
    size_t der_len = 0;
    tdx_pck_ext back;
    assert_int_equal(tdx_pck_ext_encode(&e, &der, &der_len, &err), CCAI_OK);
    assert_int_equal(tdx_pck_ext_parse(der, der_len, &back, &err), CCAI_OK);
    assert_memory_equal(&back, &e, sizeof e);
    free(der);
    sk_X509_pop_free(sk, X509_free);
    free(chain);
}

/* ---- an independent DER writer for the extension ---------------------------- */

typedef struct der {
    uint8_t b[2048];
    size_t n;
} der;

static void put(der *d, const void *p, size_t n)
{
    assert_true(d->n + n <= sizeof d->b);
    if (n)
        memcpy(d->b + d->n, p, n);
    d->n += n;
}

static void tlv(der *out, uint8_t tag, const der *content)
{
    uint8_t h[4] = {tag};
    size_t hn = 2;
    if (content->n < 0x80) {
        h[1] = (uint8_t)content->n;
    } else if (content->n < 0x100) {
        h[1] = 0x81;
        h[2] = (uint8_t)content->n;
        hn = 3;
    } else {
        h[1] = 0x82;
        h[2] = (uint8_t)(content->n >> 8);
        h[3] = (uint8_t)content->n;
        hn = 4;
    }
    put(out, h, hn);
    put(out, content->b, content->n);
}

static void prim(der *out, uint8_t tag, const void *p, size_t n)
{
    der c = {.n = 0};
    put(&c, p, n);
    tlv(out, tag, &c);
}

static void oid(der *out, const char *dotted)
{
    unsigned long arcs[32] = {0};
    size_t k = 0;
    for (const char *p = dotted; *p; p++) {
        char *end = NULL;
        arcs[k++] = strtoul(p, &end, 10);
        p = end;
        if (!*p)
            break;
    }
    der c = {.n = 0};
    uint8_t first = (uint8_t)(40 * arcs[0] + arcs[1]);
    put(&c, &first, 1);
    for (size_t i = 2; i < k; i++) {
        uint8_t tmp[8];
        size_t t = 0;
        unsigned long v = arcs[i];
        do {
            tmp[t++] = (uint8_t)(v & 0x7f);
            v >>= 7;
        } while (v);
        while (t--) {
            uint8_t byte = (uint8_t)(tmp[t] | (t ? 0x80 : 0));
            put(&c, &byte, 1);
        }
    }
    tlv(out, 0x06, &c);
}

/* Minimal two's-complement INTEGER (tag 0x02) or ENUMERATED (0x0a). */
static void integer(der *out, uint8_t tag, long v)
{
    uint8_t b[9];
    size_t n = 0;
    for (int i = 7; i >= 0; i--)
        b[n++] = (uint8_t)((unsigned long)v >> (8 * i));
    size_t s = 0;
    while (s < 7 && ((b[s] == 0 && !(b[s + 1] & 0x80)) || (b[s] == 0xff && (b[s + 1] & 0x80))))
        s++;
    prim(out, tag, b + s, n - s);
}

/* SEQUENCE{OID prefix.arc, value} */
static void pair(der *out, const char *prefix, unsigned arc, const der *value)
{
    char o[80];
    snprintf(o, sizeof o, "%s.%u", prefix, arc);
    der c = {.n = 0};
    oid(&c, o);
    put(&c, value->b, value->n);
    tlv(out, 0x30, &c);
}

typedef struct variant {
    size_t fmspc_len;   /* 6 normally */
    bool omit_fmspc;
    bool dup_fmspc;
    bool omit_pcesvn;
    long pcesvn;        /* 0x1234 normally */
    long comp3;         /* component SVN 3 (.2.3) */
    bool ppid_as_int;
    bool trailing_byte;
} variant;

static const variant GOOD = {.fmspc_len = 6, .pcesvn = 0x1234, .comp3 = 0x99};

static void build(const variant *v, der *out)
{
    static const uint8_t fmspc[6] = {0x00, 0xCC, 0xA1, 0x00, 0x00, 0x00};
    uint8_t ppid[16], cpusvn[16];
    for (int i = 0; i < 16; i++) {
        ppid[i] = (uint8_t)(0xA0 + i);
        cpusvn[i] = (uint8_t)(0x10 + i);
    }
    const char *tcb_oid = TDX_SGX_EXT_OID ".2";
    der tcb = {.n = 0}, val = {.n = 0}, items = {.n = 0};
    for (unsigned i = 1; i <= 16; i++) {
        val.n = 0;
        integer(&val, 0x02, i == 3 ? v->comp3 : (long)(i * 7));
        pair(&tcb, tcb_oid, i, &val);
    }
    if (!v->omit_pcesvn) {
        val.n = 0;
        integer(&val, 0x02, v->pcesvn);
        pair(&tcb, tcb_oid, 17, &val);
    }
    val.n = 0;
    prim(&val, 0x04, cpusvn, 16);
    pair(&tcb, tcb_oid, 18, &val);

    val.n = 0;
    if (v->ppid_as_int)
        integer(&val, 0x02, 5);
    else
        prim(&val, 0x04, ppid, 16);
    pair(&items, TDX_SGX_EXT_OID, 1, &val);
    val.n = 0;
    tlv(&val, 0x30, &tcb);
    pair(&items, TDX_SGX_EXT_OID, 2, &val);
    val.n = 0;
    prim(&val, 0x04, "\x00\x00", 2);
    pair(&items, TDX_SGX_EXT_OID, 3, &val);
    for (int k = 0; !v->omit_fmspc && k < (v->dup_fmspc ? 2 : 1); k++) {
        val.n = 0;
        prim(&val, 0x04, fmspc, v->fmspc_len);
        pair(&items, TDX_SGX_EXT_OID, 4, &val);
    }
    val.n = 0;
    integer(&val, 0x0a, 1);
    pair(&items, TDX_SGX_EXT_OID, 5, &val);
    /* An item this parser does not know (.99) is skipped. */
    val.n = 0;
    prim(&val, 0x05, NULL, 0);
    pair(&items, TDX_SGX_EXT_OID, 99, &val);
    out->n = 0;
    tlv(out, 0x30, &items);
    if (v->trailing_byte)
        put(out, "\x00", 1);
}

static void test_parse_handwritten(void **state)
{
    (void)state;
    der d;
    build(&GOOD, &d);
    tdx_pck_ext e;
    ccai_err err = {0};
    assert_int_equal(tdx_pck_ext_parse(d.b, d.n, &e, &err), CCAI_OK);
    hex_is(e.fmspc, 6, "00cca1000000");
    assert_int_equal(e.pcesvn, 0x1234);
    assert_int_equal(e.comp_svn[2], 0x99);
    assert_int_equal(e.comp_svn[0], 7);
    assert_int_equal(e.comp_svn[15], 16 * 7);
    assert_int_equal(e.cpusvn[0], 0x10);
    assert_int_equal(e.ppid[15], 0xAF);
    assert_int_equal(e.sgx_type, 1);
    assert_false(e.has_platform_instance_id);
}

/* The encoder writes the same DER as the independent writer (minus the
 * unknown item, which the encoder has no reason to write). */
static void test_encode_matches_handwritten(void **state)
{
    (void)state;
    tdx_pck_ext e;
    memset(&e, 0, sizeof e);
    for (int i = 0; i < 16; i++) {
        e.ppid[i] = (uint8_t)(0xA0 + i);
        e.cpusvn[i] = (uint8_t)(0x10 + i);
        e.comp_svn[i] = (uint8_t)((i + 1) * 7);
    }
    e.comp_svn[2] = 0x99;
    e.pcesvn = 0x1234;
    memcpy(e.fmspc, "\x00\xCC\xA1\x00\x00\x00", 6);
    e.sgx_type = 1;
    uint8_t *der_out = NULL;
    size_t n = 0;
    ccai_err err = {0};
    assert_int_equal(tdx_pck_ext_encode(&e, &der_out, &n, &err), CCAI_OK);
    tdx_pck_ext back;
    assert_int_equal(tdx_pck_ext_parse(der_out, n, &back, &err), CCAI_OK);
    assert_memory_equal(&back, &e, sizeof e);

    der d;
    build(&GOOD, &d);
    /* Drop the handwritten .99 item: its 16 bytes (SEQ{OID(11), NULL}) sit
     * at the end; the outer length shrinks by 16 too. */
    size_t items = d.n - 4 - 16; /* outer header is 4 bytes (0x30 0x82 hi lo) */
    assert_int_equal(d.b[0], 0x30);
    assert_int_equal(d.b[1], 0x82);
    assert_int_equal(n, items + 4);
    assert_memory_equal(der_out + 4, d.b + 4, items);
    free(der_out);

    /* A platform instance ID round-trips as well. */
    e.has_platform_instance_id = true;
    memset(e.platform_instance_id, 0x5A, 16);
    assert_int_equal(tdx_pck_ext_encode(&e, &der_out, &n, &err), CCAI_OK);
    assert_int_equal(tdx_pck_ext_parse(der_out, n, &back, &err), CCAI_OK);
    assert_memory_equal(&back, &e, sizeof e);
    free(der_out);

    e.sgx_type = 300;
    assert_int_equal(tdx_pck_ext_encode(&e, &der_out, &n, &err), CCAI_ERR_ARG);
}

static void expect_reject(const variant *v, const char *want1, const char *want2)
{
    der d;
    build(v, &d);
    tdx_pck_ext e;
    ccai_err err = {0};
    assert_int_equal(tdx_pck_ext_parse(d.b, d.n, &e, &err), CCAI_ERR_PARSE);
    if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err.msg, want1, want2 ? want2 : "");
}

static void test_malformed(void **state)
{
    (void)state;
    variant v = GOOD;
    v.omit_fmspc = true;
    expect_reject(&v, "FMSPC (1.2.840.113741.1.13.1.4) is missing", NULL);
    v = GOOD;
    v.fmspc_len = 5;
    expect_reject(&v, "FMSPC (1.2.840.113741.1.13.1.4) is 5 bytes, expected 6", NULL);
    v = GOOD;
    v.dup_fmspc = true;
    expect_reject(&v, "FMSPC", "appears twice");
    v = GOOD;
    v.omit_pcesvn = true;
    expect_reject(&v, "1.2.840.113741.1.13.1.2.17 (PCESVN) is missing", NULL);
    v = GOOD;
    v.pcesvn = 65536;
    expect_reject(&v, "PCESVN (1.2.840.113741.1.13.1.2.17) is out of range 0..65535", NULL);
    v = GOOD;
    v.comp3 = 256;
    expect_reject(&v, "component SVN (1.2.840.113741.1.13.1.2.3) is out of range 0..255", NULL);
    v = GOOD;
    v.comp3 = -1;
    expect_reject(&v, "1.2.840.113741.1.13.1.2.3", "out of range");
    v = GOOD;
    v.ppid_as_int = true;
    expect_reject(&v, "PPID (1.2.840.113741.1.13.1.1)", "expected OCTET STRING");
    v = GOOD;
    v.trailing_byte = true;
    expect_reject(&v, "trailing bytes", NULL);

    /* Every truncation of a good extension fails cleanly. */
    der d;
    build(&GOOD, &d);
    for (size_t n = 0; n < d.n; n++) {
        tdx_pck_ext e;
        ccai_err err = {0};
        assert_int_equal(tdx_pck_ext_parse(d.b, n, &e, &err), CCAI_ERR_PARSE);
        assert_non_null(strstr(err.msg, "PCK extension"));
    }
    /* Not a SEQUENCE at all. */
    tdx_pck_ext e;
    ccai_err err = {0};
    assert_int_equal(tdx_pck_ext_parse((const uint8_t *)"\x04\x01\x00", 3, &e, &err),
                     CCAI_ERR_PARSE);
    /* A SEQUENCE whose member is not SEQUENCE{OID, value}. */
    assert_int_equal(tdx_pck_ext_parse((const uint8_t *)"\x30\x03\x02\x01\x00", 5, &e, &err),
                     CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "expected SEQUENCE"));
}

static void test_pem_helpers(void **state)
{
    (void)state;
    X509 *x = NULL;
    STACK_OF(X509) *sk = NULL;
    ccai_err err = {0};
    assert_int_equal(tdx_pem_to_x509("not a certificate", &x, &err), CCAI_ERR_PARSE);
    assert_int_equal(tdx_pem_chain_load("", 0, &sk, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "no certificate"));
    static const char bad[] = "-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n";
    assert_int_equal(tdx_pem_chain_load(bad, sizeof bad - 1, &sk, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "certificate 1"));

    size_t len = 0;
    char *chain = real_chain(&len);
    TU_SKIP_IF_NO_SHARED(chain);
    /* A good certificate followed by a broken one: the second is named. */
    const char *second = strstr(chain + 1, "-----BEGIN CERTIFICATE-----");
    assert_non_null(second);
    char *broken = ccai_xstrdup(chain);
    size_t at = (size_t)(second - chain) + 40;
    broken[at] = '!';
    assert_int_equal(tdx_pem_chain_load(broken, strlen(broken), &sk, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "certificate 2"));
    free(broken);

    /* The length bounds the bundle: only the first certificate is seen. */
    assert_int_equal(tdx_pem_chain_load(chain, (size_t)(second - chain), &sk, &err), CCAI_OK);
    assert_int_equal(sk_X509_num(sk), 1);
    sk_X509_pop_free(sk, X509_free);

    assert_int_equal(tdx_pem_to_x509(chain, &x, &err), CCAI_OK);
    char subject[256];
    tdx_x509_subject(x, subject, sizeof subject);
    assert_string_equal(subject, INTEL_PCK_SUBJECT);
    X509_free(x);
    free(chain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_pck_extension),
        cmocka_unit_test(test_parse_handwritten),
        cmocka_unit_test(test_encode_matches_handwritten),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_pem_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
