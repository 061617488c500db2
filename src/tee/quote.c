/* TDX quote codec, parse stage (contract in quote.h, layout in tdx-facts.md §1).
 *
 * Parsing walks nested containers: the buffer holds the signature data
 * (bounded by its u32 length), which holds the QE report certification data
 * (bounded by its u32 size), which holds the QE authentication data and the
 * PCK chain (each bounded by its own size). Every read is checked against the
 * innermost container, so a length can never reach past what encloses it, and
 * every error names the field, its offset and the container it overflowed.
 * Both container lengths must equal what their parts consume: slack inside
 * the signature data is unsigned and unparsed, and accepting it would make
 * serialize(parse(b)) differ from b. Bytes after the quote are allowed.
 *
 * Serialization writes the same layout from the struct, recomputing every
 * derived length, and validates what parse would check, so that a quote
 * built in memory always survives parse(serialize(q)). */
#include "tee/quote.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

const uint8_t TDX_INTEL_QE_VENDOR_ID[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                            0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

/* Fixed part of the signature data before the certification data (§1):
 * signature 64, attestation key 64, cert type 2, cert size 4. */
enum { SIG_FIXED_LEN = 134, V5_BODY_HDR_LEN = 6 };
/* Fixed part of the type-6 certification data: QE report, its signature,
 * auth size; then after the auth data the nested type and size. */
enum { CERT_FIXED_LEN = TDX_QE_REPORT_LEN + 64 + 2 + 2 + 4 };

/* A byte-array field: offset and length in the wire form, offset in the
 * struct. One table drives both directions so they cannot drift apart. */
typedef struct byte_field {
    size_t wire, len, member;
} byte_field;

static const byte_field BODY_BYTES[] = {
    {0, 16, offsetof(tdx_td_body, tee_tcb_svn)},
    {16, 48, offsetof(tdx_td_body, mr_seam)},
    {64, 48, offsetof(tdx_td_body, mr_signer_seam)},
    {136, 48, offsetof(tdx_td_body, mr_td)},
    {184, 48, offsetof(tdx_td_body, mr_config_id)},
    {232, 48, offsetof(tdx_td_body, mr_owner)},
    {280, 48, offsetof(tdx_td_body, mr_owner_config)},
    {328, 48, offsetof(tdx_td_body, rtmr[0])},
    {376, 48, offsetof(tdx_td_body, rtmr[1])},
    {424, 48, offsetof(tdx_td_body, rtmr[2])},
    {472, 48, offsetof(tdx_td_body, rtmr[3])},
    {520, 64, offsetof(tdx_td_body, report_data)},
    /* TDX 1.5 only: skipped when the body is 584 bytes long. */
    {584, 16, offsetof(tdx_td_body, tee_tcb_svn2)},
    {600, 48, offsetof(tdx_td_body, mr_servicetd)},
};
enum { BODY_SEAM_ATTR = 112, BODY_TD_ATTR = 120, BODY_XFAM = 128 };

static const byte_field QE_BYTES[] = {
    {0, 16, offsetof(tdx_qe_report, cpusvn)},
    {48, 16, offsetof(tdx_qe_report, attributes)},
    {64, 32, offsetof(tdx_qe_report, mrenclave)},
    {128, 32, offsetof(tdx_qe_report, mrsigner)},
    {320, 64, offsetof(tdx_qe_report, report_data)},
};
enum { QE_MISCSELECT = 16, QE_ISVPRODID = 256, QE_ISVSVN = 258 };

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

static void decode_body(const uint8_t *p, size_t len, tdx_td_body *b)
{
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < NFIELDS(BODY_BYTES); i++)
        if (BODY_BYTES[i].wire + BODY_BYTES[i].len <= len)
            memcpy((uint8_t *)b + BODY_BYTES[i].member, p + BODY_BYTES[i].wire, BODY_BYTES[i].len);
    b->seam_attributes = ccai_le64(p + BODY_SEAM_ATTR);
    b->td_attributes = ccai_le64(p + BODY_TD_ATTR);
    b->xfam = ccai_le64(p + BODY_XFAM);
}

static void encode_body(const tdx_td_body *b, uint8_t *p, size_t len)
{
    memset(p, 0, len);
    for (size_t i = 0; i < NFIELDS(BODY_BYTES); i++)
        if (BODY_BYTES[i].wire + BODY_BYTES[i].len <= len)
            memcpy(p + BODY_BYTES[i].wire, (const uint8_t *)b + BODY_BYTES[i].member,
                   BODY_BYTES[i].len);
    ccai_put_le64(p + BODY_SEAM_ATTR, b->seam_attributes);
    ccai_put_le64(p + BODY_TD_ATTR, b->td_attributes);
    ccai_put_le64(p + BODY_XFAM, b->xfam);
}

/* Fills the named QE report fields from r->raw. */
static void decode_qe_report(tdx_qe_report *r)
{
    for (size_t i = 0; i < NFIELDS(QE_BYTES); i++)
        memcpy((uint8_t *)r + QE_BYTES[i].member, r->raw + QE_BYTES[i].wire, QE_BYTES[i].len);
    r->miscselect = ccai_le32(r->raw + QE_MISCSELECT);
    r->isvprodid = ccai_le16(r->raw + QE_ISVPRODID);
    r->isvsvn = ccai_le16(r->raw + QE_ISVSVN);
}

/* Writes the named fields of r over a copy of its raw bytes (reserved bytes
 * come from raw). */
static void encode_qe_report(const tdx_qe_report *r, uint8_t out[TDX_QE_REPORT_LEN])
{
    memcpy(out, r->raw, TDX_QE_REPORT_LEN);
    for (size_t i = 0; i < NFIELDS(QE_BYTES); i++)
        memcpy(out + QE_BYTES[i].wire, (const uint8_t *)r + QE_BYTES[i].member, QE_BYTES[i].len);
    ccai_put_le32(out + QE_MISCSELECT, r->miscselect);
    ccai_put_le16(out + QE_ISVPRODID, r->isvprodid);
    ccai_put_le16(out + QE_ISVSVN, r->isvsvn);
}

/* ---- PEM chain, split textually (the verify stage decodes it) ---- */

static const char PEM_BEGIN[] = "-----BEGIN CERTIFICATE-----";
static const char PEM_END[] = "-----END CERTIFICATE-----";

static bool pem_space(uint8_t c)
{
    /* NUL too: the chain's size often counts a trailing NUL (§1 cautions). */
    return c == 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool pem_body_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void free_pems(char *pem[TDX_PCK_CHAIN_MAX], size_t *count)
{
    for (size_t i = 0; i < TDX_PCK_CHAIN_MAX; i++) {
        free(pem[i]);
        pem[i] = NULL;
    }
    *count = 0;
}

/* Splits chain (at quote offset base) into NUL-terminated copies of its
 * certificate blocks, each ending in "\n" so PEM readers accept it. Only
 * white space and NULs may lie between blocks. Keeps the first
 * TDX_PCK_CHAIN_MAX blocks but checks the framing of all of them. On failure
 * pem[] holds nothing. */
static ccai_code split_pem(const uint8_t *chain, size_t len, size_t base,
                           char *pem[TDX_PCK_CHAIN_MAX], size_t *count, ccai_err *err)
{
    const size_t blen = sizeof PEM_BEGIN - 1, elen = sizeof PEM_END - 1;
    size_t i = 0, seen = 0;
    memset(pem, 0, TDX_PCK_CHAIN_MAX * sizeof pem[0]);
    *count = 0;
    while (i < len) {
        if (pem_space(chain[i])) {
            i++;
            continue;
        }
        if (len - i < blen || memcmp(chain + i, PEM_BEGIN, blen) != 0) {
            free_pems(pem, count);
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "quote: PCK certificate chain byte 0x%02x at offset %zu lies "
                             "outside any BEGIN/END CERTIFICATE block",
                             chain[i], base + i);
        }
        size_t start = i;
        i += blen;
        while (i < len && pem_body_char(chain[i]))
            i++;
        seen++;
        if (len - i < elen || memcmp(chain + i, PEM_END, elen) != 0) {
            free_pems(pem, count);
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "quote: PCK certificate %zu at offset %zu has no END CERTIFICATE "
                             "line (unexpected byte at offset %zu)",
                             seen, base + start, base + i);
        }
        i += elen;
        if (*count < TDX_PCK_CHAIN_MAX) {
            size_t n = i - start;
            char *s = ccai_xmalloc(n + 2);
            memcpy(s, chain + start, n);
            s[n] = '\n';
            s[n + 1] = '\0';
            pem[(*count)++] = s;
        }
    }
    return CCAI_OK;
}

/* ---- Parsing ---- */

typedef struct reader {
    const uint8_t *buf;
    size_t pos;
    size_t end;          /* end of the innermost container */
    char within[128];    /* " in the <container>" for messages */
    ccai_err *err;
} reader;

/* A container the reader entered; restored by leave(). */
typedef struct frame {
    size_t end;
    char within[128];
} frame;

static size_t left(const reader *r)
{
    return r->end - r->pos;
}

static ccai_code take(reader *r, size_t n, const char *what, const uint8_t **p)
{
    *p = r->buf + r->pos; /* set even on failure: callers never read it then */
    if (n > left(r))
        return ccai_fail(r->err, CCAI_ERR_PARSE,
                         "quote: %s at offset %zu needs %zu bytes, only %zu left%s", what,
                         r->pos, n, left(r), r->within);
    r->pos += n;
    return CCAI_OK;
}

static ccai_code take_u16(reader *r, const char *what, uint16_t *v)
{
    const uint8_t *p;
    ccai_code rc = take(r, 2, what, &p);
    if (rc == CCAI_OK)
        *v = ccai_le16(p);
    return rc;
}

static ccai_code take_u32(reader *r, const char *what, uint32_t *v)
{
    const uint8_t *p;
    ccai_code rc = take(r, 4, what, &p);
    if (rc == CCAI_OK)
        *v = ccai_le32(p);
    return rc;
}

/* A length field's value n (read at offset at) must fit in what is left. */
static ccai_code check_size(const reader *r, const char *what, uint32_t n, size_t at)
{
    if (n > left(r))
        return ccai_fail(r->err, CCAI_ERR_PARSE,
                         "quote: %s %u at offset %zu exceeds the %zu bytes left%s", what, n, at,
                         left(r), r->within);
    return CCAI_OK;
}

static void enter(reader *r, size_t n, frame *saved, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void enter(reader *r, size_t n, frame *saved, const char *fmt, ...)
{
    saved->end = r->end;
    memcpy(saved->within, r->within, sizeof saved->within);
    r->end = r->pos + n;
    char what[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(r->within, sizeof r->within, " in the %s", what);
}

static void leave(reader *r, const frame *saved)
{
    r->end = saved->end;
    memcpy(r->within, saved->within, sizeof r->within);
}

static ccai_code parse_header(reader *r, tdx_quote_header *h)
{
    const uint8_t *p;
    size_t at = r->pos;
    ccai_code rc = take(r, TDX_QUOTE_HEADER_LEN, "header", &p);
    if (rc)
        return rc;
    h->version = ccai_le16(p);
    h->att_key_type = ccai_le16(p + 2);
    h->tee_type = ccai_le32(p + 4);
    h->qe_svn = ccai_le16(p + 8);
    h->pce_svn = ccai_le16(p + 10);
    memcpy(h->qe_vendor_id, p + 12, 16);
    memcpy(h->user_data, p + 28, 20);
    /* Later offsets depend on these, so unsupported values stop parsing. */
    if (h->version != 4 && h->version != 5)
        return ccai_fail(r->err, CCAI_ERR_UNSUPPORTED,
                         "quote: version %u at offset %zu is not supported (expected 4 or 5)",
                         h->version, at);
    if (h->att_key_type != TDX_ATT_KEY_ECDSA_P256)
        return ccai_fail(r->err, CCAI_ERR_UNSUPPORTED,
                         "quote: attestation key type %u at offset %zu is not supported "
                         "(expected 2, ECDSA-256 with P-256)",
                         h->att_key_type, at + 2);
    if (h->tee_type != TDX_TEE_TYPE_TDX)
        return ccai_fail(r->err, CCAI_ERR_UNSUPPORTED,
                         "quote: TEE type 0x%08x at offset %zu is not supported "
                         "(expected 0x00000081, TDX)",
                         (unsigned)h->tee_type, at + 4);
    return CCAI_OK;
}

/* The body size a body type implies, or 0 when the type is not TDX. */
static uint32_t body_len_for(uint16_t type)
{
    return type == TDX_BODY_TYPE_TDX10 ? TDX_BODY_V10_LEN
           : type == TDX_BODY_TYPE_TDX15 ? TDX_BODY_V15_LEN
                                         : 0;
}

static ccai_code parse_body(reader *r, tdx_quote *q)
{
    ccai_code rc;
    if (q->header.version == 4) {
        q->body_type = TDX_BODY_TYPE_TDX10;
        q->body_len = TDX_BODY_V10_LEN;
    } else {
        size_t type_at = r->pos;
        if ((rc = take_u16(r, "body type", &q->body_type)))
            return rc;
        if (q->body_type == TDX_BODY_TYPE_SGX)
            return ccai_fail(r->err, CCAI_ERR_UNSUPPORTED,
                             "quote: body type 1 (SGX enclave report) at offset %zu is not "
                             "supported in a TDX quote (expected 2 or 3)",
                             type_at);
        if (!body_len_for(q->body_type))
            return ccai_fail(r->err, CCAI_ERR_UNSUPPORTED,
                             "quote: body type %u at offset %zu is unknown "
                             "(expected 2 = TDX 1.0 or 3 = TDX 1.5)",
                             q->body_type, type_at);
        size_t size_at = r->pos;
        if ((rc = take_u32(r, "body size", &q->body_len)))
            return rc;
        if (q->body_len != body_len_for(q->body_type))
            return ccai_fail(r->err, CCAI_ERR_PARSE,
                             "quote: body size %u at offset %zu does not match body type %u "
                             "(%u bytes)",
                             q->body_len, size_at, q->body_type, body_len_for(q->body_type));
    }
    const uint8_t *p;
    if ((rc = take(r, q->body_len, "TD report body", &p)))
        return rc;
    decode_body(p, q->body_len, &q->body);
    return CCAI_OK;
}

/* The type-6 certification data: QE report, its signature, QE authentication
 * data, then the nested type-5 PCK chain (kept raw; split later). */
static ccai_code parse_cert_data(reader *r, tdx_quote *q, size_t cert_at, size_t *chain_at)
{
    const uint8_t *p;
    ccai_code rc;
    if ((rc = take(r, TDX_QE_REPORT_LEN, "QE report", &p)))
        return rc;
    memcpy(q->qe_report.raw, p, TDX_QE_REPORT_LEN);
    decode_qe_report(&q->qe_report);
    if ((rc = take(r, 64, "QE report signature", &p)))
        return rc;
    memcpy(q->qe_report_sig, p, 64);

    size_t auth_at = r->pos;
    if ((rc = take_u16(r, "QE authentication data size", &q->qe_auth_len)))
        return rc;
    if ((rc = check_size(r, "QE authentication data size", q->qe_auth_len, auth_at)))
        return rc;
    if ((rc = take(r, q->qe_auth_len, "QE authentication data", &p)))
        return rc;
    if (q->qe_auth_len)
        q->qe_auth = ccai_xmemdup(p, q->qe_auth_len);

    /* Where this lands depends on the QE authentication data size, so a
     * wrong type here usually means a wrong size there: name both. */
    size_t type_at = r->pos;
    if ((rc = take_u16(r, "nested certification data type", &q->pck_cert_type)))
        return rc;
    if (q->pck_cert_type != TDX_CERT_TYPE_PCK_CHAIN)
        return ccai_fail(r->err, CCAI_ERR_UNSUPPORTED,
                         "quote: nested certification data type %u at offset %zu is not "
                         "supported (expected 5, PCK certificate chain; it follows the QE "
                         "authentication data size %u at offset %zu)",
                         q->pck_cert_type, type_at, q->qe_auth_len, auth_at);

    size_t size_at = r->pos;
    if ((rc = take_u32(r, "PCK certificate chain size", &q->pck_chain_len)))
        return rc;
    if ((rc = check_size(r, "PCK certificate chain size", q->pck_chain_len, size_at)))
        return rc;
    *chain_at = r->pos;
    if ((rc = take(r, q->pck_chain_len, "PCK certificate chain", &p)))
        return rc;
    q->pck_chain = ccai_xmemdup(p, q->pck_chain_len);
    if (left(r))
        return ccai_fail(r->err, CCAI_ERR_PARSE,
                         "quote: certification data size %u at offset %zu leaves %zu bytes "
                         "unparsed after the PCK certificate chain (size %u at offset %zu)",
                         q->cert_len, cert_at, left(r), q->pck_chain_len, size_at);
    return CCAI_OK;
}

static ccai_code parse_sig_data(reader *r, tdx_quote *q)
{
    const uint8_t *p;
    ccai_code rc;
    size_t len_at = r->pos;
    if ((rc = take_u32(r, "signature data length", &q->sig_data_len)))
        return rc;
    if ((rc = check_size(r, "signature data length", q->sig_data_len, len_at)))
        return rc;
    frame sig;
    enter(r, q->sig_data_len, &sig, "signature data (length %u at offset %zu)", q->sig_data_len,
          len_at);
    if ((rc = take(r, 64, "quote signature", &p)))
        return rc;
    memcpy(q->signature, p, 64);
    if ((rc = take(r, 64, "attestation key", &p)))
        return rc;
    memcpy(q->attest_key, p, 64);
    size_t type_at = r->pos;
    if ((rc = take_u16(r, "certification data type", &q->cert_type)))
        return rc;
    if (q->cert_type != TDX_CERT_TYPE_QE_REPORT)
        return ccai_fail(r->err, CCAI_ERR_UNSUPPORTED,
                         "quote: certification data type %u at offset %zu is not supported "
                         "(expected 6, QE report certification data)",
                         q->cert_type, type_at);
    size_t size_at = r->pos;
    if ((rc = take_u32(r, "certification data size", &q->cert_len)))
        return rc;
    if ((rc = check_size(r, "certification data size", q->cert_len, size_at)))
        return rc;

    frame cert;
    enter(r, q->cert_len, &cert, "certification data (size %u at offset %zu)", q->cert_len,
          size_at);
    size_t chain_at = 0;
    if ((rc = parse_cert_data(r, q, size_at, &chain_at)))
        return rc;
    leave(r, &cert);
    if (left(r))
        return ccai_fail(r->err, CCAI_ERR_PARSE,
                         "quote: signature data length %u at offset %zu leaves %zu bytes "
                         "unparsed after the certification data (size %u at offset %zu)",
                         q->sig_data_len, len_at, left(r), q->cert_len, size_at);
    leave(r, &sig);
    /* Framing is sound; now the chain's text. */
    return split_pem(q->pck_chain, q->pck_chain_len, chain_at, q->pck_pem, &q->pck_count,
                     r->err);
}

ccai_code tdx_quote_parse(const uint8_t *buf, size_t len, tdx_quote *q, ccai_err *err)
{
    if (!q)
        return ccai_fail(err, CCAI_ERR_ARG, "quote: no output struct");
    memset(q, 0, sizeof *q);
    if (!buf && len)
        return ccai_fail(err, CCAI_ERR_ARG, "quote: NULL buffer of %zu bytes", len);
    static const uint8_t empty[1];
    reader r = {.buf = buf ? buf : empty, .pos = 0, .end = len, .err = err};
    snprintf(r.within, sizeof r.within, " in the buffer");

    ccai_code rc = parse_header(&r, &q->header);
    if (rc == CCAI_OK)
        rc = parse_body(&r, q);
    if (rc == CCAI_OK) {
        q->signed_len = r.pos;
        q->signed_bytes = ccai_xmemdup(r.buf, r.pos);
        rc = parse_sig_data(&r, q);
    }
    if (rc != CCAI_OK) {
        tdx_quote_free(q);
        return rc;
    }
    q->quote_len = r.pos;
    q->trailing_len = len - r.pos;
    return CCAI_OK;
}

/* ---- Serialization ---- */

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static bool qe_fields_equal(const tdx_qe_report *a, const tdx_qe_report *b)
{
    for (size_t i = 0; i < NFIELDS(QE_BYTES); i++)
        if (memcmp((const uint8_t *)a + QE_BYTES[i].member, (const uint8_t *)b + QE_BYTES[i].member,
                   QE_BYTES[i].len) != 0)
            return false;
    return a->miscselect == b->miscselect && a->isvprodid == b->isvprodid &&
           a->isvsvn == b->isvsvn;
}

/* The QE report is signed as raw bytes, yet a builder may fill either raw or
 * the named fields. Accept both, make them agree, and refuse a struct where
 * they contradict each other (which one would the signature cover?). */
static ccai_code reconcile_qe_report(tdx_qe_report *r, ccai_err *err)
{
    tdx_qe_report from_raw, zero;
    memset(&zero, 0, sizeof zero);
    memcpy(from_raw.raw, r->raw, sizeof r->raw);
    decode_qe_report(&from_raw);
    if (qe_fields_equal(r, &from_raw))
        return CCAI_OK;
    if (all_zero(r->raw, sizeof r->raw)) {
        encode_qe_report(r, r->raw);
        return CCAI_OK;
    }
    if (qe_fields_equal(r, &zero)) {
        decode_qe_report(r);
        return CCAI_OK;
    }
    return ccai_fail(err, CCAI_ERR_ARG,
                     "quote: QE report fields disagree with its raw bytes; set one or make "
                     "them match");
}

/* Checks q against what parse accepts and fills in the values the layout
 * implies: v4's body type, the body length, and certification data types
 * left at 0 (each has exactly one valid value). */
static ccai_code prepare(tdx_quote *q, ccai_err *err)
{
    const tdx_quote_header *h = &q->header;
    if (h->version != 4 && h->version != 5)
        return ccai_fail(err, CCAI_ERR_ARG, "quote: cannot serialize version %u (expected 4 or 5)",
                         h->version);
    if (h->att_key_type != TDX_ATT_KEY_ECDSA_P256)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "quote: cannot serialize attestation key type %u (expected 2)",
                         h->att_key_type);
    if (h->tee_type != TDX_TEE_TYPE_TDX)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "quote: cannot serialize TEE type 0x%08x (expected 0x00000081)",
                         (unsigned)h->tee_type);
    if (h->version == 4 && q->body_type == 0)
        q->body_type = TDX_BODY_TYPE_TDX10;
    if (h->version == 4 && q->body_type != TDX_BODY_TYPE_TDX10)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "quote: a version 4 quote has body type 2, not %u (use version 5)",
                         q->body_type);
    if (!body_len_for(q->body_type))
        return ccai_fail(err, CCAI_ERR_ARG, "quote: cannot serialize body type %u (expected 2 or 3)",
                         q->body_type);
    q->body_len = body_len_for(q->body_type);
    if (q->body_type == TDX_BODY_TYPE_TDX10 &&
        (!all_zero(q->body.tee_tcb_svn2, sizeof q->body.tee_tcb_svn2) ||
         !all_zero(q->body.mr_servicetd, sizeof q->body.mr_servicetd)))
        return ccai_fail(err, CCAI_ERR_ARG,
                         "quote: tee_tcb_svn2 and mr_servicetd need body type 3 (a TDX 1.0 body "
                         "has no room for them)");
    if (q->cert_type == 0)
        q->cert_type = TDX_CERT_TYPE_QE_REPORT;
    if (q->pck_cert_type == 0)
        q->pck_cert_type = TDX_CERT_TYPE_PCK_CHAIN;
    if (q->cert_type != TDX_CERT_TYPE_QE_REPORT || q->pck_cert_type != TDX_CERT_TYPE_PCK_CHAIN)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "quote: cannot serialize certification data types %u/%u (expected 6/5)",
                         q->cert_type, q->pck_cert_type);
    if ((q->qe_auth_len && !q->qe_auth) || (q->pck_chain_len && !q->pck_chain))
        return ccai_fail(err, CCAI_ERR_ARG,
                         "quote: QE authentication data or PCK chain has a length but no bytes");
    uint64_t cert = (uint64_t)CERT_FIXED_LEN + q->qe_auth_len + q->pck_chain_len;
    if (cert > UINT32_MAX - SIG_FIXED_LEN)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "quote: certification data of %llu bytes does not fit a u32 length",
                         (unsigned long long)cert);
    q->cert_len = (uint32_t)cert;
    q->sig_data_len = (uint32_t)(SIG_FIXED_LEN + cert);
    ccai_code rc = reconcile_qe_report(&q->qe_report, err);
    if (rc)
        return rc;
    /* pck_pem is derived from pck_chain; re-derive it so the struct matches
     * what parse will produce from the bytes. */
    char *pem[TDX_PCK_CHAIN_MAX];
    size_t count;
    /* Offsets in its errors are relative to the chain here. */
    if ((rc = split_pem(q->pck_chain, q->pck_chain_len, 0, pem, &count, err)))
        return rc;
    free_pems(q->pck_pem, &q->pck_count);
    memcpy(q->pck_pem, pem, sizeof pem);
    q->pck_count = count;
    return CCAI_OK;
}

ccai_code tdx_quote_serialize(tdx_quote *q, uint8_t **out, size_t *out_len, ccai_err *err)
{
    if (!q || !out || !out_len)
        return ccai_fail(err, CCAI_ERR_ARG, "quote: serialize needs a quote and an output");
    *out = NULL;
    *out_len = 0;
    ccai_code rc = prepare(q, err);
    if (rc)
        return rc;

    ccai_buf b = {0};
    const tdx_quote_header *h = &q->header;
    ccai_buf_u16le(&b, h->version);
    ccai_buf_u16le(&b, h->att_key_type);
    ccai_buf_u32le(&b, h->tee_type);
    ccai_buf_u16le(&b, h->qe_svn);
    ccai_buf_u16le(&b, h->pce_svn);
    ccai_buf_append(&b, h->qe_vendor_id, sizeof h->qe_vendor_id);
    ccai_buf_append(&b, h->user_data, sizeof h->user_data);
    if (h->version == 5) {
        ccai_buf_u16le(&b, q->body_type);
        ccai_buf_u32le(&b, q->body_len);
    }
    size_t body_at = b.len;
    ccai_buf_zeros(&b, q->body_len);
    encode_body(&q->body, b.data + body_at, q->body_len);
    size_t signed_len = b.len;

    ccai_buf_u32le(&b, q->sig_data_len);
    ccai_buf_append(&b, q->signature, sizeof q->signature);
    ccai_buf_append(&b, q->attest_key, sizeof q->attest_key);
    ccai_buf_u16le(&b, q->cert_type);
    ccai_buf_u32le(&b, q->cert_len);
    ccai_buf_append(&b, q->qe_report.raw, sizeof q->qe_report.raw);
    ccai_buf_append(&b, q->qe_report_sig, sizeof q->qe_report_sig);
    ccai_buf_u16le(&b, q->qe_auth_len);
    ccai_buf_append(&b, q->qe_auth, q->qe_auth_len);
    ccai_buf_u16le(&b, q->pck_cert_type);
    ccai_buf_u32le(&b, q->pck_chain_len);
    ccai_buf_append(&b, q->pck_chain, q->pck_chain_len);

    free(q->signed_bytes);
    q->signed_bytes = ccai_xmemdup(b.data, signed_len);
    q->signed_len = signed_len;
    q->quote_len = b.len;
    *out = ccai_buf_steal(&b, out_len);
    return CCAI_OK;
}

ccai_code tdx_quote_signed_region(tdx_quote *q, uint8_t **out, size_t *out_len, ccai_err *err)
{
    if (!out || !out_len)
        return ccai_fail(err, CCAI_ERR_ARG, "quote: signed_region needs an output");
    uint8_t *all = NULL;
    size_t all_len = 0;
    ccai_code rc = tdx_quote_serialize(q, &all, &all_len, err);
    if (rc)
        return rc;
    free(all);
    *out = ccai_xmemdup(q->signed_bytes, q->signed_len);
    *out_len = q->signed_len;
    return CCAI_OK;
}

/* ---- Equality, copy, free ---- */

static bool bytes_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (alen != blen)
        return false;
    if (alen == 0)
        return true;
    if (!a || !b)
        return a == b;
    return memcmp(a, b, alen) == 0;
}

static bool header_equal(const tdx_quote_header *a, const tdx_quote_header *b)
{
    return a->version == b->version && a->att_key_type == b->att_key_type &&
           a->tee_type == b->tee_type && a->qe_svn == b->qe_svn && a->pce_svn == b->pce_svn &&
           memcmp(a->qe_vendor_id, b->qe_vendor_id, sizeof a->qe_vendor_id) == 0 &&
           memcmp(a->user_data, b->user_data, sizeof a->user_data) == 0;
}

static bool body_equal(const tdx_td_body *a, const tdx_td_body *b)
{
    for (size_t i = 0; i < NFIELDS(BODY_BYTES); i++)
        if (memcmp((const uint8_t *)a + BODY_BYTES[i].member, (const uint8_t *)b + BODY_BYTES[i].member,
                   BODY_BYTES[i].len) != 0)
            return false;
    return a->seam_attributes == b->seam_attributes && a->td_attributes == b->td_attributes &&
           a->xfam == b->xfam;
}

/* trailing_len is a fact about the buffer a quote came from, not about the
 * quote, so it is left out: parse(b || junk) equals parse(b). */
bool tdx_quote_equal(const tdx_quote *a, const tdx_quote *b)
{
    if (!a || !b)
        return a == b;
    if (!header_equal(&a->header, &b->header) || a->body_type != b->body_type ||
        a->body_len != b->body_len || !body_equal(&a->body, &b->body))
        return false;
    if (a->sig_data_len != b->sig_data_len || memcmp(a->signature, b->signature, 64) != 0 ||
        memcmp(a->attest_key, b->attest_key, 64) != 0 || a->cert_type != b->cert_type ||
        a->cert_len != b->cert_len)
        return false;
    if (memcmp(a->qe_report.raw, b->qe_report.raw, TDX_QE_REPORT_LEN) != 0 ||
        !qe_fields_equal(&a->qe_report, &b->qe_report) ||
        memcmp(a->qe_report_sig, b->qe_report_sig, 64) != 0)
        return false;
    if (!bytes_equal(a->qe_auth, a->qe_auth_len, b->qe_auth, b->qe_auth_len) ||
        a->pck_cert_type != b->pck_cert_type ||
        !bytes_equal(a->pck_chain, a->pck_chain_len, b->pck_chain, b->pck_chain_len))
        return false;
    if (a->pck_count != b->pck_count)
        return false;
    for (size_t i = 0; i < a->pck_count && i < TDX_PCK_CHAIN_MAX; i++)
        if (!a->pck_pem[i] || !b->pck_pem[i] || strcmp(a->pck_pem[i], b->pck_pem[i]) != 0)
            return false;
    return a->quote_len == b->quote_len &&
           bytes_equal(a->signed_bytes, a->signed_len, b->signed_bytes, b->signed_len);
}

void tdx_quote_copy(tdx_quote *dst, const tdx_quote *src)
{
    *dst = *src;
    dst->qe_auth = src->qe_auth ? ccai_xmemdup(src->qe_auth, src->qe_auth_len) : NULL;
    dst->pck_chain = src->pck_chain ? ccai_xmemdup(src->pck_chain, src->pck_chain_len) : NULL;
    dst->signed_bytes =
        src->signed_bytes ? ccai_xmemdup(src->signed_bytes, src->signed_len) : NULL;
    for (size_t i = 0; i < TDX_PCK_CHAIN_MAX; i++)
        dst->pck_pem[i] = src->pck_pem[i] ? ccai_xstrdup(src->pck_pem[i]) : NULL;
}

void tdx_quote_free(tdx_quote *q)
{
    if (!q)
        return;
    free(q->qe_auth);
    free(q->pck_chain);
    free(q->signed_bytes);
    for (size_t i = 0; i < TDX_PCK_CHAIN_MAX; i++)
        free(q->pck_pem[i]);
    memset(q, 0, sizeof *q);
}

/* ---- td_attributes ---- */

static const char *td_attr_name(unsigned bit)
{
    switch (bit) {
    case 0: return "DEBUG";
    case 28: return "SEPT_VE_DISABLE";
    case 30: return "PKS";
    case 31: return "KL";
    case 63: return "PERFMON";
    default: return NULL;
    }
}

/* Bits in ascending order joined by '|'; "" when none is set. When out is
 * too small it holds the names that fit whole (NUL-terminated if n > 0). */
void tdx_td_attributes_describe(uint64_t attrs, char *out, size_t n)
{
    if (!out || n == 0)
        return;
    out[0] = '\0';
    size_t used = 0;
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!((attrs >> bit) & 1))
            continue;
        char unknown[16];
        const char *name = td_attr_name(bit);
        if (!name) {
            snprintf(unknown, sizeof unknown, "bit%u", bit);
            name = unknown;
        }
        int w = snprintf(out + used, n - used, "%s%s", used ? "|" : "", name);
        if (w < 0 || (size_t)w >= n - used) {
            out[used] = '\0'; /* drop a partly written name */
            return;
        }
        used += (size_t)w;
    }
}
