/* The firmware event log (CCEL): parse, replay, describe and build the TCG
 * PC Client crypto-agile log that TDX firmware leaves in the ACPI CCEL area
 * (tdx-facts §4). Contract in ccel.h.
 *
 * The log is untrusted input (it reaches the verifier inside evidence), so
 * every length and count is checked against the bytes that remain before it
 * is used, and every rejection names the record, the field and its offset.
 * Parsing stays a parse stage: no policy, and replay only recomputes what
 * the registers must hold; comparing with a quote is the verifier's job. */
#include "tee/ccel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"

/* TCG PC Client PFP event types (the ones named here; the rest are in the
 * table of tee_ccel_type_name). */
enum {
    EV_POST_CODE = 0x1,
    EV_SEPARATOR = 0x4,
    EV_ACTION = 0x5,
    EV_EVENT_TAG = 0x6,
    EV_S_CRTM_VERSION = 0x8,
    EV_COMPACT_HASH = 0xC,
    EV_IPL = 0xD,
    EV_OMIT_BOOT_DEVICE_EVENTS = 0x12,
    EV_EFI_ACTION = 0x80000007,
    EV_EFI_PLATFORM_FIRMWARE_BLOB2 = 0x8000000A,
};

enum {
    SPEC_ID_HEADER_LEN = 32,     /* index, type, SHA-1 digest, event size */
    SPEC_ID_FIXED_LEN = 28,      /* signature .. numberOfAlgorithms */
    CCEL_MAX_ALGS = 8,           /* tee_ccel's arrays */
    CCEL_MAX_MR_INDEX = 4,       /* 0 = MRTD, 1..4 = RTMR0..3 (tdx-facts §4) */
    CCEL_PADDING_INDEX = 0xFFFFFFFFu,
};

static const char SPEC_ID_SIGNATURE[16] = "Spec ID Event03";  /* with its NUL */

/* ---- reading ---------------------------------------------------------- */

/* A bounded cursor: take() is the only way bytes are read, so no read can
 * pass len whatever the fields claim. ctx names the record in errors. */
typedef struct reader {
    const uint8_t *buf;
    size_t len, off;
    size_t base;  /* offset of buf in the log, so errors give log offsets */
    char ctx[64];
} reader;

static ccai_code take(reader *r, size_t n, const char *field, const uint8_t **p, ccai_err *err)
{
    size_t left = r->len - r->off;
    if (n > left) {
        /* A constant return (not ccai_fail's) lets the compiler see that *p
         * is set whenever CCAI_OK comes back. */
        ccai_fail(err, CCAI_ERR_PARSE, "ccel: %s: %s at offset %zu needs %zu bytes, only %zu left",
                  r->ctx, field, r->base + r->off, n, left);
        return CCAI_ERR_PARSE;
    }
    *p = r->buf + r->off;
    r->off += n;
    return CCAI_OK;
}

static ccai_code take_u32(reader *r, const char *field, uint32_t *v, ccai_err *err)
{
    const uint8_t *p;
    ccai_code rc = take(r, 4, field, &p, err);
    if (rc)
        return rc;
    *v = ccai_le32(p);
    return CCAI_OK;
}

static size_t known_digest_size(uint16_t alg)
{
    switch (alg) {
    case TCG_ALG_SHA1: return 20;
    case TCG_ALG_SHA256: return 32;
    case TCG_ALG_SHA384: return 48;
    case TCG_ALG_SHA512: return 64;
    default: return 0;
    }
}

/* The TCG_EfiSpecIdEvent inside the first (SHA-1 format) record. */
static ccai_code parse_spec_id(const uint8_t *ev, size_t size, size_t base, tee_ccel *out,
                               ccai_err *err)
{
    reader r = {.buf = ev, .len = size, .base = base};
    snprintf(r.ctx, sizeof r.ctx, "Spec ID header");
    const uint8_t *p;
    ccai_code rc = take(&r, SPEC_ID_FIXED_LEN, "Spec ID event", &p, err);
    if (rc)
        return rc;
    if (memcmp(p, SPEC_ID_SIGNATURE, sizeof SPEC_ID_SIGNATURE) != 0)
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "ccel: Spec ID header: signature at offset %zu is not \"Spec ID Event03\"",
                         base);
    /* platformClass(4) minor(1) major(1) errata(1) uintnSize(1) count(4) */
    out->spec_version = (uint32_t)p[21] << 16 | (uint32_t)p[20] << 8 | p[22];
    uint32_t n = ccai_le32(p + 24);
    if (n < 1 || n > CCEL_MAX_ALGS)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "ccel: Spec ID header: numberOfAlgorithms at offset %zu is %u, expected 1..%d",
                         base + 24, n, CCEL_MAX_ALGS);
    bool sha384 = false;
    for (uint32_t i = 0; i < n; i++) {
        size_t at = base + r.off;
        if ((rc = take(&r, 4, "algorithm entry", &p, err)))
            return rc;
        uint16_t alg = ccai_le16(p), sz = ccai_le16(p + 2);
        size_t want = known_digest_size(alg);
        if (sz == 0 || (want && sz != want))
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "ccel: Spec ID header: digest size of algorithm 0x%04x at offset %zu "
                             "is %u, expected %zu",
                             alg, at + 2, sz, want ? want : (size_t)1);
        for (uint32_t j = 0; j < i; j++)
            if (out->alg_id[j] == alg)
                return ccai_fail(err, CCAI_ERR_PARSE,
                                 "ccel: Spec ID header: algorithm 0x%04x at offset %zu is listed twice",
                                 alg, at);
        out->alg_id[i] = alg;
        out->alg_size[i] = sz;
        sha384 |= alg == TCG_ALG_SHA384;
    }
    out->alg_count = n;
    if ((rc = take(&r, 1, "vendorInfoSize", &p, err)))
        return rc;
    if ((rc = take(&r, *p, "vendorInfo", &p, err)))
        return rc;
    /* RTMRs are SHA-384 registers: a log without SHA-384 cannot be replayed. */
    if (!sha384)
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "ccel: Spec ID header announces %u algorithms but not SHA-384 (0x000c)", n);
    return CCAI_OK;
}

static ccai_code parse_header(const uint8_t *buf, size_t len, tee_ccel *out, ccai_err *err)
{
    reader r = {.buf = buf, .len = len};
    snprintf(r.ctx, sizeof r.ctx, "Spec ID header");
    uint32_t index, type, size;
    const uint8_t *p;
    ccai_code rc;
    if ((rc = take_u32(&r, "PCR index", &index, err)) || (rc = take_u32(&r, "event type", &type, err)))
        return rc;
    if (index != 0 || type != TCG_EV_NO_ACTION)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "ccel: Spec ID header: index %u, type 0x%x at offset 0, expected index 0, "
                         "EV_NO_ACTION (0x3)",
                         index, type);
    if ((rc = take(&r, 20, "SHA-1 digest", &p, err)) || (rc = take_u32(&r, "event size", &size, err)))
        return rc;
    size_t base = r.off;
    if ((rc = take(&r, size, "Spec ID event", &p, err)))
        return rc;
    if ((rc = parse_spec_id(p, size, base, out, err)))
        return rc;
    out->used_len = r.off;
    return CCAI_OK;
}

/* ---- text ------------------------------------------------------------- */

static bool printable(uint32_t c)
{
    return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c < 0x7F) ||
           (c > 0x9F && c != 0xFFFE && c != 0xFFFF);
}

static char *ascii_text(const uint8_t *d, size_t n)
{
    while (n && d[n - 1] == 0)  /* C strings are often logged with their NUL */
        n--;
    if (!n)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (d[i] >= 0x80 || !printable(d[i]))
            return NULL;
    return ccai_xstrndup((const char *)d, n);
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | c >> 6);
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12);
        o[1] = (char)(0x80 | (c >> 6 & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | c >> 18);
    o[1] = (char)(0x80 | (c >> 12 & 0x3F));
    o[2] = (char)(0x80 | (c >> 6 & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* UEFI strings (kernel command lines among them) are UTF-16LE (CHAR16). */
static char *utf16_text(const uint8_t *d, size_t n)
{
    if (n % 2)
        return NULL;
    size_t units = n / 2;
    while (units && ccai_le16(d + 2 * (units - 1)) == 0)
        units--;
    if (!units)
        return NULL;
    char *s = ccai_xmalloc(3 * units + 1);  /* <= 3 bytes per unit, 4 per pair */
    size_t o = 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t c = ccai_le16(d + 2 * i);
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < units) {
            uint32_t lo = ccai_le16(d + 2 * (i + 1));
            if (lo >= 0xDC00 && lo < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                i++;
            }
        }
        if ((c >= 0xD800 && c < 0xE000) || !printable(c)) {
            free(s);
            return NULL;
        }
        o += put_utf8(s + o, c);
    }
    s[o] = '\0';
    return s;
}

static char *any_text(const uint8_t *d, size_t n)
{
    char *s = ascii_text(d, n);
    return s ? s : utf16_text(d, n);
}

/* Text for the event types whose data is (or wraps) a string. */
static char *event_text(uint32_t type, const uint8_t *d, size_t n)
{
    switch (type) {
    case EV_POST_CODE:
    case EV_ACTION:
    case EV_S_CRTM_VERSION:
    case EV_COMPACT_HASH:
    case EV_IPL:
    case EV_OMIT_BOOT_DEVICE_EVENTS:
    case EV_EFI_ACTION:
        return any_text(d, n);
    case EV_EVENT_TAG:
        /* TCG_PCClientTaggedEvent {u32 id, u32 size, data[size]}: td-shim and
         * others tag kernel parameters this way. */
        if (n >= 8 && ccai_le32(d + 4) == n - 8)
            return any_text(d + 8, n - 8);
        return any_text(d, n);
    case EV_EFI_PLATFORM_FIRMWARE_BLOB2:
        /* {u8 size, description[size], u64 base, u64 length} */
        if (n >= 1 && d[0] && (size_t)d[0] + 1 <= n)
            return ascii_text(d + 1, d[0]);
        return NULL;
    default:
        return NULL;
    }
}

/* ---- records ---------------------------------------------------------- */

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

static ccai_code parse_digests(reader *r, const tee_ccel *log, tee_fw_event *e, ccai_err *err)
{
    size_t at = r->off;
    uint32_t count;
    ccai_code rc = take_u32(r, "digest count", &count, err);
    if (rc)
        return rc;
    /* Bounded by the header's list, so count * size cannot overflow. */
    if (count < 1 || count > log->alg_count)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "ccel: %s: digest count at offset %zu is %u, expected 1..%u (the "
                         "algorithms the Spec ID header announced)",
                         r->ctx, at, count, log->alg_count);
    unsigned seen = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *p;
        at = r->off;
        if ((rc = take(r, 2, "digest algorithm", &p, err)))
            return rc;
        uint16_t alg = ccai_le16(p);
        uint32_t k = 0;
        while (k < log->alg_count && log->alg_id[k] != alg)
            k++;
        if (k == log->alg_count)
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "ccel: %s: digest algorithm 0x%04x at offset %zu was not announced "
                             "in the Spec ID header",
                             r->ctx, alg, at);
        if (seen & (1u << k))
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "ccel: %s: digest algorithm 0x%04x at offset %zu appears twice",
                             r->ctx, alg, at);
        seen |= 1u << k;
        if ((rc = take(r, log->alg_size[k], "digest", &p, err)))
            return rc;
        if (alg == TCG_ALG_SHA384) {
            memcpy(e->sha384, p, 48);
            e->has_sha384 = true;
        }
    }
    return CCAI_OK;
}

/* One TCG_PCR_EVENT2 at r->off into *e (data and text owned by e). */
static ccai_code parse_record(reader *r, const tee_ccel *log, tee_fw_event *e, ccai_err *err)
{
    memset(e, 0, sizeof *e);
    e->offset = r->off;
    ccai_code rc = take_u32(r, "register index", &e->mr_index, err);
    if (rc)
        return rc;
    if (e->mr_index > CCEL_MAX_MR_INDEX)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "ccel: %s: register index at offset %zu is %u, expected 0..4 (MRTD, "
                         "RTMR0..3)",
                         r->ctx, e->offset, e->mr_index);
    if ((rc = take_u32(r, "event type", &e->type, err)) || (rc = parse_digests(r, log, e, err)))
        return rc;
    /* Every extended record must carry the digest the RTMR saw. */
    if (!e->has_sha384 && e->type != TCG_EV_NO_ACTION)
        return ccai_fail(err, CCAI_ERR_PARSE, "ccel: %s: no SHA-384 digest among its digests",
                         r->ctx);
    size_t at = r->off;
    uint32_t size;
    if ((rc = take_u32(r, "event size", &size, err)))
        return rc;
    if (size > r->len - r->off)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "ccel: %s: event size at offset %zu is %u, but only %zu bytes are left",
                         r->ctx, at, size, r->len - r->off);
    const uint8_t *p;
    if ((rc = take(r, size, "event data", &p, err)))
        return rc;
    e->data_len = size;
    e->data = size ? ccai_xmemdup(p, size) : NULL;
    e->text = event_text(e->type, p, size);
    return CCAI_OK;
}

ccai_code tee_ccel_parse(const uint8_t *buf, size_t len, tee_ccel *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    ccai_code rc = parse_header(buf, len, out, err);
    if (rc) {
        tee_ccel_free(out);
        return rc;
    }
    size_t cap = 0;
    reader r = {.buf = buf, .len = len, .off = out->used_len};
    while (r.off < len) {
        const uint8_t *rest = buf + r.off;
        size_t left = len - r.off;
        /* The CCEL area is larger than the log; firmware leaves it erased. */
        if (all_bytes(rest, left, 0xFF) || all_bytes(rest, left, 0x00))
            break;
        if (left >= 4 && ccai_le32(rest) == CCEL_PADDING_INDEX)
            break;
        snprintf(r.ctx, sizeof r.ctx, "record %zu (offset %zu)", out->count, r.off);
        if (out->count == cap) {
            cap = cap ? 2 * cap : 16;
            out->ev = ccai_xrealloc(out->ev, cap * sizeof *out->ev);
        }
        tee_fw_event *e = &out->ev[out->count];
        if ((rc = parse_record(&r, out, e, err))) {
            free(e->data);
            free(e->text);
            tee_ccel_free(out);
            return rc;
        }
        out->count++;
        out->used_len = r.off;
    }
    return CCAI_OK;
}

void tee_ccel_free(tee_ccel *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < log->count; i++) {
        free(log->ev[i].data);
        free(log->ev[i].text);
    }
    free(log->ev);
    memset(log, 0, sizeof *log);
}

void tee_ccel_replay(const tee_ccel *log, uint8_t rtmr[4][48])
{
    memset(rtmr, 0, 4 * 48);
    for (size_t i = 0; i < log->count; i++) {
        const tee_fw_event *e = &log->ev[i];
        /* MRTD is measured by the TDX module at build time, and EV_NO_ACTION
         * records are informational: neither is extended (tdx-facts §4). */
        if (e->type == TCG_EV_NO_ACTION || e->mr_index == 0 || e->mr_index > 4 || !e->has_sha384)
            continue;
        ccai_sha384_extend(rtmr[e->mr_index - 1], e->sha384);
    }
}

/* ---- names and JSON --------------------------------------------------- */

static const struct {
    uint32_t type;
    const char *name;
} TYPE_NAMES[] = {
    {0x0, "EV_PREBOOT_CERT"},
    {0x1, "EV_POST_CODE"},
    {0x2, "EV_UNUSED"},
    {0x3, "EV_NO_ACTION"},
    {0x4, "EV_SEPARATOR"},
    {0x5, "EV_ACTION"},
    {0x6, "EV_EVENT_TAG"},
    {0x7, "EV_S_CRTM_CONTENTS"},
    {0x8, "EV_S_CRTM_VERSION"},
    {0x9, "EV_CPU_MICROCODE"},
    {0xA, "EV_PLATFORM_CONFIG_FLAGS"},
    {0xB, "EV_TABLE_OF_DEVICES"},
    {0xC, "EV_COMPACT_HASH"},
    {0xD, "EV_IPL"},
    {0xE, "EV_IPL_PARTITION_DATA"},
    {0xF, "EV_NONHOST_CODE"},
    {0x10, "EV_NONHOST_CONFIG"},
    {0x11, "EV_NONHOST_INFO"},
    {0x12, "EV_OMIT_BOOT_DEVICE_EVENTS"},
    {0x80000000, "EV_EFI_EVENT_BASE"},
    {0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG"},
    {0x80000002, "EV_EFI_VARIABLE_BOOT"},
    {0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION"},
    {0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER"},
    {0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER"},
    {0x80000006, "EV_EFI_GPT_EVENT"},
    {0x80000007, "EV_EFI_ACTION"},
    {0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB"},
    {0x80000009, "EV_EFI_HANDOFF_TABLES"},
    {0x8000000A, "EV_EFI_PLATFORM_FIRMWARE_BLOB2"},
    {0x8000000B, "EV_EFI_HANDOFF_TABLES2"},
    {0x8000000C, "EV_EFI_VARIABLE_BOOT2"},
    {0x80000010, "EV_EFI_HCRTM_EVENT"},
    {0x800000E0, "EV_EFI_VARIABLE_AUTHORITY"},
    {0x800000E1, "EV_EFI_SPDM_FIRMWARE_BLOB"},
    {0x800000E2, "EV_EFI_SPDM_FIRMWARE_CONFIG"},
};

const char *tee_ccel_type_name(uint32_t type, char *buf, size_t n)
{
    for (size_t i = 0; i < sizeof TYPE_NAMES / sizeof TYPE_NAMES[0]; i++)
        if (TYPE_NAMES[i].type == type)
            return TYPE_NAMES[i].name;
    snprintf(buf, n, "EV_UNKNOWN_0x%08x", type);
    return buf;
}

static const char *register_name(uint32_t index)
{
    static const char *const NAMES[] = {"MRTD", "RTMR0", "RTMR1", "RTMR2", "RTMR3"};
    return index <= 4 ? NAMES[index] : "unknown";
}

json_t *tee_ccel_to_json(const tee_ccel *log)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < log->count; i++) {
        const tee_fw_event *e = &log->ev[i];
        char tbuf[32];
        json_t *o = json_object();
        json_object_set_new(o, "index", json_integer(e->mr_index));
        json_object_set_new(o, "register", json_string(register_name(e->mr_index)));
        json_object_set_new(o, "type", json_string(tee_ccel_type_name(e->type, tbuf, sizeof tbuf)));
        json_object_set_new(o, "type_id", json_integer(e->type));
        if (e->has_sha384)
            ccai_json_set_hex(o, "digest", e->sha384, 48);
        else
            json_object_set_new(o, "digest", json_null());
        json_object_set_new(o, "data_len", json_integer(e->data_len));
        json_object_set_new(o, "offset", json_integer((json_int_t)e->offset));
        json_t *t = e->text ? json_string(e->text) : NULL;
        json_object_set_new(o, "text", t ? t : json_null());
        json_array_append_new(arr, o);
    }
    return arr;
}

/* ---- building --------------------------------------------------------- */

static void put_spec_id_header(ccai_buf *b)
{
    ccai_buf_u32le(b, 0);                 /* PCR index */
    ccai_buf_u32le(b, TCG_EV_NO_ACTION);
    ccai_buf_zeros(b, 20);                /* SHA-1 digest: unused */
    ccai_buf_u32le(b, SPEC_ID_FIXED_LEN + 4 + 1);
    ccai_buf_append(b, SPEC_ID_SIGNATURE, sizeof SPEC_ID_SIGNATURE);
    ccai_buf_u32le(b, 0);                 /* platformClass: client */
    ccai_buf_u8(b, 0);                    /* specVersionMinor */
    ccai_buf_u8(b, 2);                    /* specVersionMajor: TCG PFP 2.0 */
    ccai_buf_u8(b, 0);                    /* specErrata */
    ccai_buf_u8(b, 2);                    /* uintnSize: UINT64 */
    ccai_buf_u32le(b, 1);                 /* numberOfAlgorithms */
    ccai_buf_u16le(b, TCG_ALG_SHA384);
    ccai_buf_u16le(b, 48);
    ccai_buf_u8(b, 0);                    /* vendorInfoSize */
}

ccai_code tee_ccel_build(const tee_ccel_record *recs, size_t n, uint8_t **out, size_t *out_len,
                         ccai_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (recs[i].mr_index > CCEL_MAX_MR_INDEX)
            return ccai_fail(err, CCAI_ERR_ARG,
                             "ccel build: record %zu has register index %u, expected 0..4", i,
                             recs[i].mr_index);
    ccai_buf b = {0};
    put_spec_id_header(&b);
    for (size_t i = 0; i < n; i++) {
        const tee_ccel_record *r = &recs[i];
        uint8_t d[48];
        if (r->digest)
            memcpy(d, r->digest, 48);
        else
            ccai_sha384(r->data, r->data_len, d);
        ccai_buf_u32le(&b, r->mr_index);
        ccai_buf_u32le(&b, r->type);
        ccai_buf_u32le(&b, 1);
        ccai_buf_u16le(&b, TCG_ALG_SHA384);
        ccai_buf_append(&b, d, 48);
        ccai_buf_u32le(&b, r->data_len);
        if (r->data_len)
            ccai_buf_append(&b, r->data, r->data_len);
    }
    *out = ccai_buf_steal(&b, out_len);
    return CCAI_OK;
}
