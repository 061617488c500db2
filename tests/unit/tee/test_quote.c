/* Tests for the TDX quote codec (src/tee/quote.c) and its JSON/text views.
 *
 * Expected values for the real quote were read from its bytes (tdx-facts §1
 * offsets) independently of this code. Synthetic quotes are built field by
 * field in memory, so every check also runs without the shared test data.
 *
 * With CCAI_WRITE_QUOTE_SEEDS=<dir> set, test_write_seeds writes synthetic
 * v4, v5/type 2 and v5/type 3 quotes there (how fuzz/corpus/quote was made). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/mem.h"
#include "tee/quote.h"
#include "tee/quote_json.h"

#define REAL_QUOTE "testdata/tdx/real-v4-uptodate/quote.bin"

/* Two tiny PEM blocks (the parse stage splits them, never decodes them),
 * plus the trailing NUL real chains carry. */
static const char CHAIN[] = "-----BEGIN CERTIFICATE-----\nTUlJQ2VEQ0NBaCtnQXdJQkFnSVVRa0k=\n"
                            "-----END CERTIFICATE-----\n"
                            "-----BEGIN CERTIFICATE-----\nTUlJQ2xqQ0NBanVnQXdJQkFnSVVj\n"
                            "-----END CERTIFICATE-----\n";

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i);
}

/* A quote with a distinct pattern in every field; the caller frees it. */
static void build(tdx_quote *q, uint16_t version, uint16_t body_type)
{
    memset(q, 0, sizeof *q);
    q->header.version = version;
    q->header.att_key_type = TDX_ATT_KEY_ECDSA_P256;
    q->header.tee_type = TDX_TEE_TYPE_TDX;
    q->header.qe_svn = 3;
    q->header.pce_svn = 11;
    memcpy(q->header.qe_vendor_id, TDX_INTEL_QE_VENDOR_ID, 16);
    fill(q->header.user_data, 20, 0x10);
    q->body_type = body_type;
    tdx_td_body *b = &q->body;
    fill(b->tee_tcb_svn, 16, 0x20);
    fill(b->mr_seam, 48, 0x21);
    fill(b->mr_signer_seam, 48, 0x22);
    b->seam_attributes = 0x0102030405060708ULL;
    b->td_attributes = TDX_TD_ATTR_SEPT_VE_DISABLE | TDX_TD_ATTR_DEBUG;
    b->xfam = 0x602e7;
    fill(b->mr_td, 48, 0x23);
    fill(b->mr_config_id, 48, 0x24);
    fill(b->mr_owner, 48, 0x25);
    fill(b->mr_owner_config, 48, 0x26);
    for (int i = 0; i < 4; i++)
        fill(b->rtmr[i], 48, (uint8_t)(0x30 + i));
    fill(b->report_data, 64, 0x27);
    if (body_type == TDX_BODY_TYPE_TDX15) {
        fill(b->tee_tcb_svn2, 16, 0x28);
        fill(b->mr_servicetd, 48, 0x29);
    }
    fill(q->signature, 64, 0x40);
    fill(q->attest_key, 64, 0x41);
    /* Fields only: serialize builds the raw report from them. */
    fill(q->qe_report.cpusvn, 16, 0x50);
    q->qe_report.miscselect = 0x11223344;
    fill(q->qe_report.attributes, 16, 0x51);
    fill(q->qe_report.mrenclave, 32, 0x52);
    fill(q->qe_report.mrsigner, 32, 0x53);
    q->qe_report.isvprodid = 2;
    q->qe_report.isvsvn = 6;
    fill(q->qe_report.report_data, 64, 0x54);
    fill(q->qe_report_sig, 64, 0x55);
    q->qe_auth_len = 32;
    q->qe_auth = ccai_xmalloc(32);
    for (int i = 0; i < 32; i++)
        q->qe_auth[i] = (uint8_t)i;
    q->pck_chain_len = sizeof CHAIN; /* counts the NUL, like real chains */
    q->pck_chain = ccai_xmemdup(CHAIN, sizeof CHAIN);
}

/* Serialized bytes of build(version, type) followed by `trailing` zeros. */
static uint8_t *build_bytes(uint16_t version, uint16_t body_type, size_t trailing, size_t *len)
{
    tdx_quote q;
    uint8_t *out = NULL;
    size_t n = 0;
    ccai_err err = {0};
    build(&q, version, body_type);
    assert_int_equal(tdx_quote_serialize(&q, &out, &n, &err), CCAI_OK);
    tdx_quote_free(&q);
    out = ccai_xrealloc(out, n + trailing);
    memset(out + n, 0, trailing);
    *len = n + trailing;
    return out;
}

static void assert_hex(const uint8_t *p, size_t n, const char *want)
{
    char *h = ccai_hex_dup(p, n);
    assert_string_equal(h, want);
    free(h);
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* Parsing must fail with code, a message containing every given substring,
 * and leave nothing to free. */
static void expect_reject(const uint8_t *buf, size_t len, ccai_code code, const char *sub1,
                          const char *sub2)
{
    tdx_quote q;
    ccai_err err = {0};
    ccai_code rc = tdx_quote_parse(buf, len, &q, &err);
    if (rc != code)
        fail_msg("expected code %d, got %d: %s", code, rc, err.msg);
    if (strncmp(err.msg, "quote: ", 7) != 0 || (sub1 && !strstr(err.msg, sub1)) ||
        (sub2 && !strstr(err.msg, sub2)))
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err.msg, sub1 ? sub1 : "",
                 sub2 ? sub2 : "");
    assert_true(all_zero(&q, sizeof q));
}

/* ---- The real quote ---- */

static uint8_t *read_real(size_t *len)
{
    const char *path = tu_shared_path(REAL_QUOTE);
    if (!path)
        return NULL;
    uint8_t *buf = tu_read(path, len);
    assert_int_equal(*len, 5006);
    return buf;
}

static void test_real_fields(void **state)
{
    (void)state;
    TU_SKIP_IF_NO_SHARED(tu_shared_path(REAL_QUOTE));
    size_t len;
    uint8_t *buf = read_real(&len);
    tdx_quote q;
    ccai_err err = {0};
    assert_int_equal(tdx_quote_parse(buf, len, &q, &err), CCAI_OK);

    assert_int_equal(q.header.version, 4);
    assert_int_equal(q.header.att_key_type, 2);
    assert_int_equal(q.header.tee_type, 0x81);
    assert_int_equal(q.header.qe_svn, 0);
    assert_int_equal(q.header.pce_svn, 0);
    assert_memory_equal(q.header.qe_vendor_id, TDX_INTEL_QE_VENDOR_ID, 16);
    assert_hex(q.header.qe_vendor_id, 16, "939a7233f79c4ca9940a0db3957f0607");
    assert_hex(q.header.user_data, 20, "889b7d6ff9df2405b240a830e73faf3d00000000");
    assert_int_equal(q.body_type, 2);
    assert_int_equal(q.body_len, 584);

    const tdx_td_body *b = &q.body;
    assert_hex(b->tee_tcb_svn, 16, "06010300000000000000000000000000");
    assert_hex(b->mr_seam, 48,
               "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c43"
               "6489d6c8e4f92f160b7cad34207b00c1");
    assert_true(all_zero(b->mr_signer_seam, 48));
    assert_int_equal(b->seam_attributes, 0);
    assert_int_equal(b->td_attributes, 0x10000000);
    assert_int_equal(b->xfam, 0x602e7);
    assert_hex(b->mr_td, 48,
               "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407"
               "de03ae6dc5f87f27428b2538873118b7");
    assert_true(all_zero(b->mr_config_id, 48) && all_zero(b->mr_owner, 48) &&
                all_zero(b->mr_owner_config, 48));
    assert_hex(b->rtmr[0], 48,
               "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c"
               "48aca29b220b80b6a540cf994b9bc9c0");
    assert_hex(b->rtmr[1], 48,
               "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7"
               "aea8c323c173019b3093d54e579e9378");
    assert_hex(b->rtmr[2], 48,
               "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3"
               "ba80b70870d7330733642e01d48c3132");
    assert_true(all_zero(b->rtmr[3], 48));
    assert_hex(b->report_data, 64,
               "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9"
               "eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20");
    assert_true(all_zero(b->tee_tcb_svn2, 16) && all_zero(b->mr_servicetd, 48));

    assert_int_equal(q.sig_data_len, 4300);
    assert_hex(q.signature, 8, "f156eac8ad01d79f");
    assert_hex(q.attest_key, 8, "c78ac5859b9f5672");
    assert_int_equal(q.cert_type, 6);
    assert_int_equal(q.cert_len, 4166);
    const tdx_qe_report *r = &q.qe_report;
    assert_memory_equal(r->raw, buf + 636 + 134, 384);
    assert_hex(r->cpusvn, 16, "0303191b04ff00060000000000000000");
    assert_int_equal(r->miscselect, 0);
    assert_hex(r->attributes, 16, "1500000000000000e700000000000000");
    assert_hex(r->mrenclave, 32,
               "e5a3a7b5d830c2953b98534c6c59a3a34fdc34e933f7f5898f0a85cf08846bca");
    assert_hex(r->mrsigner, 32,
               "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
    assert_int_equal(r->isvprodid, 2);
    assert_int_equal(r->isvsvn, 6);
    assert_hex(r->report_data, 32,
               "c936492a774946af9b588f6b3bd8beddc5957d1761ded2c0bb61d7b64de5b324");
    assert_true(all_zero(r->report_data + 32, 32));
    assert_hex(q.qe_report_sig, 8, "ca1bd340a4c8437b");
    assert_int_equal(q.qe_auth_len, 32);
    assert_hex(q.qe_auth, 32, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    assert_int_equal(q.pck_cert_type, 5);
    assert_int_equal(q.pck_chain_len, 3678);
    assert_int_equal(q.pck_chain[3677], 0);
    assert_int_equal(q.pck_count, 3);
    assert_int_equal(strlen(q.pck_pem[0]), 1773);
    assert_int_equal(strlen(q.pck_pem[1]), 956);
    assert_int_equal(strlen(q.pck_pem[2]), 948);
    assert_true(strncmp(q.pck_pem[0], "-----BEGIN CERTIFICATE-----\nMIIE8TCCBJag", 40) == 0);
    assert_true(strncmp(q.pck_pem[2], "-----BEGIN CERTIFICATE-----\nMIICjzCCAjSg", 40) == 0);
    assert_string_equal(q.pck_pem[2] + 948 - 39, "RQ7cvqRXaqI=\n-----END CERTIFICATE-----\n");
    assert_null(q.pck_pem[3]);

    assert_int_equal(q.signed_len, 632);
    assert_memory_equal(q.signed_bytes, buf, 632);
    assert_int_equal(q.quote_len, 4936);
    assert_int_equal(q.trailing_len, 70);
    tdx_quote_free(&q);
    free(buf);
}

static void test_real_roundtrip(void **state)
{
    (void)state;
    TU_SKIP_IF_NO_SHARED(tu_shared_path(REAL_QUOTE));
    size_t len, out_len;
    uint8_t *buf = read_real(&len), *out;
    tdx_quote q, q2, c;
    ccai_err err = {0};
    assert_int_equal(tdx_quote_parse(buf, len, &q, &err), CCAI_OK);
    assert_int_equal(tdx_quote_serialize(&q, &out, &out_len, &err), CCAI_OK);
    assert_int_equal(out_len, 4936);
    assert_memory_equal(out, buf, 4936);
    assert_int_equal(tdx_quote_parse(out, out_len, &q2, &err), CCAI_OK);
    assert_int_equal(q2.trailing_len, 0);
    assert_true(tdx_quote_equal(&q, &q2));
    tdx_quote_copy(&c, &q);
    assert_true(tdx_quote_equal(&c, &q));
    c.pck_pem[1][30] ^= 1; /* the copy is deep */
    assert_false(tdx_quote_equal(&c, &q));

    uint8_t *sr;
    size_t sr_len;
    assert_int_equal(tdx_quote_signed_region(&q, &sr, &sr_len, &err), CCAI_OK);
    assert_int_equal(sr_len, 632);
    assert_memory_equal(sr, buf, 632);
    free(sr);
    tdx_quote_free(&c);
    tdx_quote_free(&q2);
    tdx_quote_free(&q);
    free(out);
    free(buf);
}

/* ---- Synthetic quotes ---- */

static void roundtrip(uint16_t version, uint16_t type, size_t want_len, size_t want_signed)
{
    tdx_quote q, p;
    uint8_t *out;
    size_t n;
    ccai_err err = {0};
    build(&q, version, type);
    assert_int_equal(tdx_quote_serialize(&q, &out, &n, &err), CCAI_OK);
    assert_int_equal(n, want_len);
    assert_int_equal(q.quote_len, want_len);
    assert_int_equal(q.signed_len, want_signed);
    assert_int_equal(q.pck_count, 2);
    /* The raw QE report was built from the fields. */
    assert_int_equal(ccai_le32(q.qe_report.raw + 16), 0x11223344);
    assert_int_equal(ccai_le16(q.qe_report.raw + 258), 6);
    assert_memory_equal(q.qe_report.raw + 128, q.qe_report.mrsigner, 32);

    assert_int_equal(tdx_quote_parse(out, n, &p, &err), CCAI_OK);
    assert_true(tdx_quote_equal(&q, &p));
    assert_int_equal(p.body_type, type);
    assert_int_equal(p.body_len, type == 3 ? 648 : 584);
    assert_int_equal(p.sig_data_len, n - want_signed - 4);
    assert_int_equal(p.pck_chain_len, sizeof CHAIN);
    assert_string_equal(p.pck_pem[1], "-----BEGIN CERTIFICATE-----\nTUlJQ2xqQ0NBanVnQXdJQkFnSVVj\n"
                                      "-----END CERTIFICATE-----\n");
    if (type == 3)
        assert_memory_equal(p.body.mr_servicetd, q.body.mr_servicetd, 48);
    if (version == 5) {
        assert_int_equal(ccai_le16(out + 48), type);
        assert_int_equal(ccai_le32(out + 50), type == 3 ? 648 : 584);
    }
    /* One changed field is noticed. */
    p.body.rtmr[3][47] ^= 0x80;
    assert_false(tdx_quote_equal(&q, &p));
    tdx_quote_free(&p);
    tdx_quote_free(&q);
    free(out);
}

static void test_roundtrip_v4(void **state)
{
    (void)state;
    /* 48 + 584 + 4 + 134 + 384 + 64 + 2 + 32 + 6 + chain */
    roundtrip(4, 2, 632 + 4 + 134 + 488 + sizeof CHAIN, 632);
}

static void test_roundtrip_v5_type2(void **state)
{
    (void)state;
    roundtrip(5, 2, 638 + 4 + 134 + 488 + sizeof CHAIN, 638);
}

static void test_roundtrip_v5_type3(void **state)
{
    (void)state;
    roundtrip(5, 3, 702 + 4 + 134 + 488 + sizeof CHAIN, 702);
}

static void test_serialize_refuses(void **state)
{
    (void)state;
    tdx_quote q;
    uint8_t *out = NULL;
    size_t n;
    ccai_err err = {0};

    build(&q, 3, 2);
    assert_int_equal(tdx_quote_serialize(&q, &out, &n, &err), CCAI_ERR_ARG);
    assert_non_null(strstr(err.msg, "version 3"));
    tdx_quote_free(&q);

    build(&q, 4, 3);
    assert_int_equal(tdx_quote_serialize(&q, &out, &n, &err), CCAI_ERR_ARG);
    assert_non_null(strstr(err.msg, "body type 2, not 3"));
    tdx_quote_free(&q);

    build(&q, 5, 2);
    q.body.mr_servicetd[0] = 1;
    assert_int_equal(tdx_quote_serialize(&q, &out, &n, &err), CCAI_ERR_ARG);
    assert_non_null(strstr(err.msg, "mr_servicetd need body type 3"));
    tdx_quote_free(&q);

    build(&q, 4, 2);
    q.qe_report.raw[128] = 0xee; /* raw says one mrsigner, the field another */
    assert_int_equal(tdx_quote_serialize(&q, &out, &n, &err), CCAI_ERR_ARG);
    assert_non_null(strstr(err.msg, "QE report fields disagree"));
    tdx_quote_free(&q);

    build(&q, 4, 2);
    q.pck_chain[0] = 'x';
    assert_int_equal(tdx_quote_serialize(&q, &out, &n, &err), CCAI_ERR_PARSE);
    assert_non_null(strstr(err.msg, "outside any BEGIN/END CERTIFICATE block"));
    tdx_quote_free(&q);
    assert_null(out);

    /* A builder that fills only the raw QE report gets the fields from it. */
    tdx_quote ref;
    build(&ref, 4, 2);
    assert_int_equal(tdx_quote_serialize(&ref, &out, &n, &err), CCAI_OK);
    free(out);
    build(&q, 4, 2);
    memset(&q.qe_report, 0, sizeof q.qe_report);
    memcpy(q.qe_report.raw, ref.qe_report.raw, TDX_QE_REPORT_LEN);
    assert_int_equal(tdx_quote_serialize(&q, &out, &n, &err), CCAI_OK);
    assert_true(tdx_quote_equal(&q, &ref));
    free(out);
    tdx_quote_free(&q);
    tdx_quote_free(&ref);

    /* Freeing a zeroed struct (or NULL) is safe. */
    memset(&q, 0, sizeof q);
    tdx_quote_free(&q);
    tdx_quote_free(NULL);
}

static void every_prefix_rejected(const uint8_t *buf, size_t quote_len)
{
    for (size_t n = 0; n < quote_len; n++) {
        tdx_quote q;
        ccai_err err = {0};
        /* A fresh copy of exactly n bytes, so ASan sees any over-read. */
        uint8_t *p = ccai_xmemdup(buf, n);
        ccai_code rc = tdx_quote_parse(p, n, &q, &err);
        if (rc == CCAI_OK || err.msg[0] == '\0')
            fail_msg("prefix of %zu bytes accepted or silent", n);
        assert_true(all_zero(&q, sizeof q));
        free(p);
    }
}

static void test_truncations(void **state)
{
    (void)state;
    size_t len;
    for (uint16_t v = 4; v <= 5; v++) {
        uint8_t *buf = build_bytes(v, v == 5 ? 3 : 2, 0, &len);
        every_prefix_rejected(buf, len);
        free(buf);
    }
    uint8_t *real = read_real(&len);
    if (real)
        every_prefix_rejected(real, 4936);
    free(real);
    expect_reject(NULL, 0, CCAI_ERR_PARSE, "header at offset 0 needs 48 bytes, only 0 left in the buffer",
                  NULL);
}

/* Offsets in the synthetic v4 quote (auth data 32 bytes, as in real quotes). */
enum { OFF_SIG_LEN = 632, OFF_CERT_TYPE = 764, OFF_CERT_SIZE = 766, OFF_AUTH_SIZE = 1218,
       OFF_NESTED_TYPE = 1252, OFF_CHAIN_SIZE = 1254 };

/* Rejects buf with the u16/u32 at off set to v (buf is restored afterwards). */
static void reject_with(uint8_t *buf, size_t len, size_t off, int width, uint32_t v,
                        ccai_code code, const char *sub1, const char *sub2)
{
    uint8_t saved[4];
    memcpy(saved, buf + off, 4);
    if (width == 2)
        ccai_put_le16(buf + off, (uint16_t)v);
    else
        ccai_put_le32(buf + off, v);
    expect_reject(buf, len, code, sub1, sub2);
    memcpy(buf + off, saved, 4);
}

static void test_length_fields(void **state)
{
    (void)state;
    size_t len;
    /* Trailing bytes, so a slightly too large length still fits the buffer. */
    uint8_t *b = build_bytes(4, 2, 16, &len);
    const uint32_t sig = ccai_le32(b + OFF_SIG_LEN), cert = ccai_le32(b + OFF_CERT_SIZE);
    const uint32_t chain = ccai_le32(b + OFF_CHAIN_SIZE);
    char want[160];
    assert_int_equal(chain, sizeof CHAIN);
    assert_int_equal(sig, 134 + cert);

    snprintf(want, sizeof want, "signature data length %u at offset 632 leaves 1 bytes unparsed", sig + 1);
    reject_with(b, len, OFF_SIG_LEN, 4, sig + 1, CCAI_ERR_PARSE, want, "certification data (size");
    reject_with(b, len, OFF_SIG_LEN, 4, 0xffffffff, CCAI_ERR_PARSE,
                "signature data length 4294967295 at offset 632 exceeds the", "left in the buffer");
    reject_with(b, len, OFF_SIG_LEN, 4, sig - 1, CCAI_ERR_PARSE,
                "certification data size", "in the signature data (length");
    reject_with(b, len, OFF_SIG_LEN, 4, 0, CCAI_ERR_PARSE,
                "quote signature at offset 636 needs 64 bytes, only 0 left in the signature data "
                "(length 0 at offset 632)", NULL);

    snprintf(want, sizeof want, "certification data size %u at offset 766 exceeds the %u bytes left",
             cert + 1, cert);
    reject_with(b, len, OFF_CERT_SIZE, 4, cert + 1, CCAI_ERR_PARSE, want, "in the signature data");
    reject_with(b, len, OFF_CERT_SIZE, 4, cert - 1, CCAI_ERR_PARSE, "PCK certificate chain size",
                "in the certification data (size");
    reject_with(b, len, OFF_CERT_SIZE, 4, 0, CCAI_ERR_PARSE,
                "QE report at offset 770 needs 384 bytes, only 0 left in the certification data "
                "(size 0 at offset 766)", NULL);

    reject_with(b, len, OFF_AUTH_SIZE, 2, 60000, CCAI_ERR_PARSE,
                "QE authentication data size 60000 at offset 1218 exceeds the", "certification data");
    reject_with(b, len, OFF_AUTH_SIZE, 2, 33, CCAI_ERR_UNSUPPORTED, "nested certification data type",
                "QE authentication data size 33 at offset 1218");
    reject_with(b, len, OFF_AUTH_SIZE, 2, 31, CCAI_ERR_UNSUPPORTED, "nested certification data type",
                "QE authentication data size 31 at offset 1218");
    reject_with(b, len, OFF_AUTH_SIZE, 2, 0, CCAI_ERR_UNSUPPORTED, "nested certification data type",
                "QE authentication data size 0 at offset 1218");

    snprintf(want, sizeof want, "PCK certificate chain size %u at offset 1254 exceeds the %u bytes left",
             chain + 1, chain);
    reject_with(b, len, OFF_CHAIN_SIZE, 4, chain + 1, CCAI_ERR_PARSE, want, "certification data");
    snprintf(want, sizeof want, "after the PCK certificate chain (size %u at offset 1254)", chain - 1);
    reject_with(b, len, OFF_CHAIN_SIZE, 4, chain - 1, CCAI_ERR_PARSE,
                "certification data size", want);
    reject_with(b, len, OFF_CHAIN_SIZE, 4, 0, CCAI_ERR_PARSE, "leaves", "PCK certificate chain (size 0");
    free(b);

    /* The v5 body type and size. */
    b = build_bytes(5, 2, 0, &len);
    reject_with(b, len, 50, 4, 583, CCAI_ERR_PARSE,
                "body size 583 at offset 50 does not match body type 2 (584 bytes)", NULL);
    reject_with(b, len, 50, 4, 585, CCAI_ERR_PARSE, "body size 585 at offset 50", NULL);
    reject_with(b, len, 50, 4, 648, CCAI_ERR_PARSE, "body size 648 at offset 50", NULL);
    reject_with(b, len, 48, 2, 1, CCAI_ERR_UNSUPPORTED, "body type 1 (SGX enclave report) at offset 48",
                NULL);
    reject_with(b, len, 48, 2, 4, CCAI_ERR_UNSUPPORTED, "body type 4 at offset 48 is unknown", NULL);
    reject_with(b, len, 48, 2, 0, CCAI_ERR_UNSUPPORTED, "body type 0 at offset 48", NULL);
    /* Type 3 claimed over a type-2 body: the size no longer matches. */
    reject_with(b, len, 48, 2, 3, CCAI_ERR_PARSE,
                "body size 584 at offset 50 does not match body type 3 (648 bytes)", NULL);
    free(b);
    b = build_bytes(5, 3, 0, &len);
    reject_with(b, len, 50, 4, 584, CCAI_ERR_PARSE, "body size 584 at offset 50", "type 3 (648");
    reject_with(b, len, 50, 4, 0xffffffff, CCAI_ERR_PARSE, "body size 4294967295 at offset 50", NULL);
    free(b);
}

static void test_type_fields(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = build_bytes(4, 2, 0, &len);
    reject_with(b, len, 0, 2, 3, CCAI_ERR_UNSUPPORTED,
                "version 3 at offset 0 is not supported (expected 4 or 5)", NULL);
    reject_with(b, len, 0, 2, 6, CCAI_ERR_UNSUPPORTED, "version 6 at offset 0", NULL);
    reject_with(b, len, 2, 2, 3, CCAI_ERR_UNSUPPORTED, "attestation key type 3 at offset 2", NULL);
    reject_with(b, len, 4, 4, 0, CCAI_ERR_UNSUPPORTED, "TEE type 0x00000000 at offset 4", NULL);
    reject_with(b, len, OFF_CERT_TYPE, 2, 5, CCAI_ERR_UNSUPPORTED,
                "certification data type 5 at offset 764 is not supported", "expected 6");
    reject_with(b, len, OFF_NESTED_TYPE, 2, 4, CCAI_ERR_UNSUPPORTED,
                "nested certification data type 4 at offset 1252", "expected 5");

    /* The vendor id is a verify-stage check: another vendor still parses. */
    tdx_quote q;
    ccai_err err = {0};
    b[12] ^= 0xff;
    assert_int_equal(tdx_quote_parse(b, len, &q, &err), CCAI_OK);
    assert_int_equal(q.header.qe_vendor_id[0], 0x93 ^ 0xff);
    tdx_quote_free(&q);
    free(b);
}

/* The PEM chain is split as text: stray bytes and unterminated blocks fail,
 * at most TDX_PCK_CHAIN_MAX blocks are kept. */
static void test_pem_chain(void **state)
{
    (void)state;
    tdx_quote q, p;
    uint8_t *out;
    size_t n;
    ccai_err err = {0};
    const char block[] = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n";

    build(&q, 4, 2);
    free(q.pck_chain);
    q.pck_chain_len = 10 * (sizeof block - 1);
    q.pck_chain = ccai_xmalloc(q.pck_chain_len);
    for (int i = 0; i < 10; i++)
        memcpy(q.pck_chain + i * (sizeof block - 1), block, sizeof block - 1);
    assert_int_equal(tdx_quote_serialize(&q, &out, &n, &err), CCAI_OK);
    assert_int_equal(tdx_quote_parse(out, n, &p, &err), CCAI_OK);
    assert_int_equal(p.pck_count, TDX_PCK_CHAIN_MAX);
    assert_string_equal(p.pck_pem[7], block);

    /* Corrupt the END line of the last block in the serialized bytes. */
    out[n - 3] = '+';
    expect_reject(out, n, CCAI_ERR_PARSE, "PCK certificate 10 at offset", "has no END CERTIFICATE line");
    out[n - 3] = '-';
    out[n - 1] = 'x'; /* the newline after the last END line */
    expect_reject(out, n, CCAI_ERR_PARSE, "PCK certificate chain byte 0x78 at offset", NULL);
    tdx_quote_free(&p);
    tdx_quote_free(&q);
    free(out);
}

static void test_attributes_describe(void **state)
{
    (void)state;
    char s[128];
    tdx_td_attributes_describe(0, s, sizeof s);
    assert_string_equal(s, "");
    tdx_td_attributes_describe(0x10000000, s, sizeof s);
    assert_string_equal(s, "SEPT_VE_DISABLE");
    tdx_td_attributes_describe(TDX_TD_ATTR_DEBUG | TDX_TD_ATTR_SEPT_VE_DISABLE | TDX_TD_ATTR_PKS |
                                   TDX_TD_ATTR_KL | TDX_TD_ATTR_PERFMON,
                               s, sizeof s);
    assert_string_equal(s, "DEBUG|SEPT_VE_DISABLE|PKS|KL|PERFMON");
    tdx_td_attributes_describe((1ULL << 47) | (1ULL << 1) | 1, s, sizeof s);
    assert_string_equal(s, "DEBUG|bit1|bit47");
    /* Too small: whole names only. */
    tdx_td_attributes_describe(TDX_TD_ATTR_DEBUG | TDX_TD_ATTR_PKS, s, 8);
    assert_string_equal(s, "DEBUG");
    tdx_td_attributes_describe(TDX_TD_ATTR_DEBUG | TDX_TD_ATTR_PKS, s, 10);
    assert_string_equal(s, "DEBUG|PKS");
}

static const char *jstr(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static long long jint(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_json_real(void **state)
{
    (void)state;
    TU_SKIP_IF_NO_SHARED(tu_shared_path(REAL_QUOTE));
    size_t len;
    uint8_t *buf = read_real(&len);
    tdx_quote q;
    ccai_err err = {0};
    assert_int_equal(tdx_quote_parse(buf, len, &q, &err), CCAI_OK);
    json_t *j = tdx_quote_to_json(&q);
    assert_int_equal(jint(j, "header", "version"), 4);
    assert_int_equal(jint(j, "header", "tee_type"), 0x81);
    assert_string_equal(jstr(j, "header", "qe_vendor_id"), "939a7233f79c4ca9940a0db3957f0607");
    assert_string_equal(jstr(j, "body", "td_attributes"), "0000000010000000");
    assert_string_equal(jstr(j, "body", "xfam"), "00000000000602e7");
    assert_string_equal(jstr(j, "body", "seam_attributes"), "0000000000000000");
    assert_string_equal(jstr(j, "body", "tee_tcb_svn"), "06010300000000000000000000000000");
    assert_string_equal(jstr(j, "body", "mr_td"),
                        "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407"
                        "de03ae6dc5f87f27428b2538873118b7");
    assert_string_equal(jstr(j, "body", "rtmr_2"),
                        "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3"
                        "ba80b70870d7330733642e01d48c3132");
    json_t *dec = json_object_get(json_object_get(j, "body"), "td_attributes_decoded");
    assert_true(json_is_true(json_object_get(dec, "sept_ve_disable")));
    assert_true(json_is_false(json_object_get(dec, "debug")));
    assert_true(json_is_false(json_object_get(dec, "perfmon")));
    assert_string_equal(jstr(dec, "names", NULL), "SEPT_VE_DISABLE");
    assert_null(json_object_get(json_object_get(j, "body"), "mr_servicetd"));
    assert_string_equal(jstr(j, "qe_report", "mrsigner"),
                        "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
    assert_string_equal(jstr(j, "qe_report", "miscselect"), "00000000");
    assert_int_equal(jint(j, "qe_report", "isvprodid"), 2);
    assert_int_equal(jint(j, "qe_report", "isvsvn"), 6);
    assert_string_equal(jstr(j, "qe_auth_data", NULL),
                        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    assert_int_equal(jint(j, "body_type", NULL), 2);
    assert_int_equal(jint(j, "pck_chain_certs", NULL), 3);
    assert_int_equal(jint(j, "quote_len", NULL), 4936);
    assert_int_equal(jint(j, "signed_len", NULL), 632);
    assert_int_equal(jint(j, "trailing_len", NULL), 70);
    assert_int_equal(strlen(jstr(j, "signature", NULL)), 128);
    json_decref(j);

    char *text = NULL;
    size_t text_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    tdx_quote_print_text(f, &q);
    fclose(f);
    const char *want[] = {
        "Header\n", "TD report body (type 2, 584 bytes)\n", "QE report\n", "Signature data\n",
        "\n  version:              4\n",
        "\n  td_attributes:        0000000010000000 (SEPT_VE_DISABLE)\n",
        "\n  xfam:                 00000000000602e7\n",
        "\n  seam_attributes:      0000000000000000\n",
        "\n  mr_td:                91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407",
        "\n  mr_seam:              5b38e33a", "\n  rtmr_0:               44c0197b",
        "\n  rtmr_1:               0084452c", "\n  rtmr_2:               d833feef",
        "\n  rtmr_3:               000000000000", "\n  report_data:          9a9d48e7",
        "\n  qe_vendor_id:         939a7233f79c4ca9940a0db3957f0607 (Intel)\n",
        "\n  pck_chain_certs:      3\n", "\n  trailing_len:         70\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(text, want[i]))
            fail_msg("text listing lacks \"%s\":\n%s", want[i], text);
    free(text);
    tdx_quote_free(&q);
    free(buf);
}

static void test_json_type3(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = build_bytes(5, 3, 0, &len);
    tdx_quote q;
    ccai_err err = {0};
    assert_int_equal(tdx_quote_parse(buf, len, &q, &err), CCAI_OK);
    json_t *j = tdx_quote_to_json(&q);
    assert_int_equal(jint(j, "body_type", NULL), 3);
    assert_int_equal(jint(j, "body_len", NULL), 648);
    assert_string_equal(jstr(j, "body", "tee_tcb_svn2"), "282f363d444b525960676e757c838a91");
    assert_string_equal(jstr(j, "body", "td_attributes"), "0000000010000001");
    assert_string_equal(jstr(j, "body", "seam_attributes"), "0102030405060708");
    assert_string_equal(jstr(json_object_get(j, "body"), "td_attributes_decoded", "names"),
                        "DEBUG|SEPT_VE_DISABLE");
    assert_string_equal(jstr(j, "qe_report", "miscselect"), "11223344");
    assert_int_equal(jint(j, "header", "pce_svn"), 11);
    json_decref(j);
    tdx_quote_free(&q);
    free(buf);
}

/* Writes the synthetic seed corpus when asked to (see the file comment). */
static void test_write_seeds(void **state)
{
    (void)state;
    const char *dir = getenv("CCAI_WRITE_QUOTE_SEEDS");
    if (!dir || !*dir)
        skip();
    static const struct { uint16_t v, t; const char *name; } seeds[] = {
        {4, 2, "synthetic-v4"}, {5, 2, "synthetic-v5-type2"}, {5, 3, "synthetic-v5-type3"}};
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        uint8_t *b = build_bytes(seeds[i].v, seeds[i].t, i == 0 ? 8 : 0, &len);
        char *path = ccai_xasprintf("%s/%s", dir, seeds[i].name);
        tu_write(path, b, len);
        free(path);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_fields),       cmocka_unit_test(test_real_roundtrip),
        cmocka_unit_test(test_roundtrip_v4),      cmocka_unit_test(test_roundtrip_v5_type2),
        cmocka_unit_test(test_roundtrip_v5_type3), cmocka_unit_test(test_serialize_refuses),
        cmocka_unit_test(test_truncations),       cmocka_unit_test(test_length_fields),
        cmocka_unit_test(test_type_fields),       cmocka_unit_test(test_pem_chain),
        cmocka_unit_test(test_attributes_describe), cmocka_unit_test(test_json_real),
        cmocka_unit_test(test_json_type3),        cmocka_unit_test(test_write_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
