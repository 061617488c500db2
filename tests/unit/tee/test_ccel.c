/* Tests for the firmware event log (src/tee/ccel.c): build -> parse -> replay
 * against chains computed here and literals computed independently with
 * Python's hashlib; text decoding (ASCII, UTF-16LE command lines, tagged
 * events); padding; every truncation; corrupted fields rejected by name; a
 * two-bank (SHA-256 + SHA-384) log written by hand.
 *
 * The literals come from Python building the same bytes independently:
 *   hdr = b"Spec ID Event03\0" + pack("<IBBBBI", 0, 0, 2, 0, 2, 1) + pack("<HH", 12, 48) + b"\0"
 *   log = pack("<II", 0, 3) + b"\0" * 20 + pack("<I", len(hdr)) + hdr
 *   for (idx, type, data, digest) in the fixture's records:
 *       d = digest or sha384(data)
 *       log += pack("<IIIH", idx, type, 1, 12) + d + pack("<I", len(data)) + data
 *       if type != 3 and idx >= 1: rtmr[idx - 1] = sha384(rtmr[idx - 1] + d)
 * giving sha256(log) and rtmr[0..3] below. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/mem.h"
#include "tee/ccel.h"

enum {
    EV_SEPARATOR = 4,
    EV_EVENT_TAG = 6,
    EV_IPL = 0xD,
    EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003,
    EV_EFI_ACTION = 0x80000007,
    HEADER_LEN = 65,  /* Spec ID record with SHA-384 only and no vendor info */
    REC_OVERHEAD = 66 /* index, type, count, alg, digest, event size */
};

static const char ACTION[] = "Calling EFI Application from Boot Option";
static const char CMDLINE_UTF8[] = "console=ttyS0 root=/dev/vda1 quiet \xc3\xa9\xf0\x9f\x98\x80";
static const char TAGGED[] = "initrd=initrd.img";

/* The fixture: eight records covering every register, MRTD, EV_NO_ACTION, a
 * caller-supplied digest and the text forms. */
typedef struct fixture {
    uint8_t utf16[128];
    size_t utf16_len;
    uint8_t tag[64];
    size_t tag_len;
    uint8_t bin[16];
    uint8_t forced[48];
    tee_ccel_record rec[8];
} fixture;

static void fixture_init(fixture *f)
{
    /* "console=ttyS0 root=/dev/vda1 quiet " U+00E9 U+1F600 NUL in UTF-16LE,
     * as UEFI logs a kernel command line. */
    static const char ascii[] = "console=ttyS0 root=/dev/vda1 quiet ";
    static const uint16_t tail[] = {0x00E9, 0xD83D, 0xDE00, 0x0000};
    size_t n = 0;
    for (size_t i = 0; ascii[i]; i++, n += 2)
        ccai_put_le16(f->utf16 + n, (uint8_t)ascii[i]);
    for (size_t i = 0; i < 4; i++, n += 2)
        ccai_put_le16(f->utf16 + n, tail[i]);
    f->utf16_len = n;
    ccai_put_le32(f->tag, 0x8F3B22EC);
    ccai_put_le32(f->tag + 4, (uint32_t)strlen(TAGGED));
    memcpy(f->tag + 8, TAGGED, strlen(TAGGED));
    f->tag_len = 8 + strlen(TAGGED);
    for (int i = 0; i < 16; i++)
        f->bin[i] = (uint8_t)i;
    memset(f->forced, 0xAB, 48);
    const tee_ccel_record r[8] = {
        {1, EV_EFI_ACTION, (const uint8_t *)ACTION, (uint32_t)strlen(ACTION), NULL},
        {2, EV_EFI_BOOT_SERVICES_APPLICATION, f->bin, 16, NULL},
        {3, EV_IPL, f->utf16, (uint32_t)f->utf16_len, NULL},
        {3, EV_EVENT_TAG, f->tag, (uint32_t)f->tag_len, NULL},
        {1, TCG_EV_NO_ACTION, (const uint8_t *)"StartupLocality\0\x03", 17, NULL},
        {0, EV_SEPARATOR, (const uint8_t *)"\0\0\0\0", 4, NULL},
        {4, EV_EFI_ACTION, (const uint8_t *)"ccai test", 9, f->forced},
        {2, EV_SEPARATOR, (const uint8_t *)"\0\0\0\0", 4, NULL},
    };
    memcpy(f->rec, r, sizeof r);
}

static uint8_t *build(const fixture *f, size_t *len)
{
    uint8_t *log = NULL;
    ccai_err err = {0};
    assert_int_equal(tee_ccel_build(f->rec, 8, &log, len, &err), CCAI_OK);
    return log;
}

static void assert_hex(const uint8_t *p, size_t n, const char *want)
{
    char *h = ccai_hex_dup(p, n);
    assert_string_equal(h, want);
    free(h);
}

static void build_parse_replay(void **s)
{
    (void)s;
    fixture f;
    fixture_init(&f);
    size_t len;
    uint8_t *log = build(&f, &len);
    assert_int_equal(len, 786);
    uint8_t h[32];
    ccai_sha256(log, len, h);
    assert_hex(h, 32, "2994498fc71872b074dfb2f149219d10bb39848a4c3ccc0037cc25918e93ec2a");

    tee_ccel c;
    ccai_err err = {0};
    assert_int_equal(tee_ccel_parse(log, len, &c, &err), CCAI_OK);
    assert_int_equal(c.spec_version, 0x020000);
    assert_int_equal(c.alg_count, 1);
    assert_int_equal(c.alg_id[0], TCG_ALG_SHA384);
    assert_int_equal(c.alg_size[0], 48);
    assert_int_equal(c.count, 8);
    assert_int_equal(c.used_len, len);
    size_t off = HEADER_LEN;
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(c.ev[i].offset, off);
        assert_int_equal(c.ev[i].mr_index, f.rec[i].mr_index);
        assert_int_equal(c.ev[i].type, f.rec[i].type);
        assert_int_equal(c.ev[i].data_len, f.rec[i].data_len);
        assert_memory_equal(c.ev[i].data, f.rec[i].data, f.rec[i].data_len);
        assert_true(c.ev[i].has_sha384);
        off += REC_OVERHEAD + f.rec[i].data_len;
    }
    assert_memory_equal(c.ev[6].sha384, f.forced, 48);

    /* The chains, computed independently of the replay. */
    uint8_t want[4][48] = {{0}}, d[48];
    ccai_sha384(ACTION, strlen(ACTION), d);
    ccai_sha384_extend(want[0], d);
    ccai_sha384(f.bin, 16, d);
    ccai_sha384_extend(want[1], d);
    ccai_sha384(f.utf16, f.utf16_len, d);
    ccai_sha384_extend(want[2], d);
    ccai_sha384(f.tag, f.tag_len, d);
    ccai_sha384_extend(want[2], d);
    ccai_sha384_extend(want[3], f.forced);
    ccai_sha384("\0\0\0\0", 4, d);
    ccai_sha384_extend(want[1], d);

    uint8_t rtmr[4][48];
    tee_ccel_replay(&c, rtmr);
    assert_memory_equal(rtmr, want, sizeof want);
    /* The same values from Python's hashlib (see the top of the file). */
    assert_hex(rtmr[0], 48,
               "8032dedfdb8373b9bf18849c61543d2ed4fd555ffb0028634689a13fc4de798ff904ccded77c2d72259ab9777a17d7bd");
    assert_hex(rtmr[1], 48,
               "3a1fb293db402f7d0fabf6349b505f0269009c80e30fda2e57468c7542034c277f592deb44860bc8d6f8e45a95b381ef");
    assert_hex(rtmr[2], 48,
               "635f8b4ab17e250b8b517feb800892478849f4d5fd143103886596e0e813114ce7de0ecb6558fb739c3bfe2c84679a48");
    assert_hex(rtmr[3], 48,
               "73bbee246f69b6bf7824b9e7643701dad9ed70c94c9880d033c0ac87b5043d0dd70cad576882faf2f6679a22ededfea4");
    tee_ccel_free(&c);
    free(log);
}

static void text_decoding(void **s)
{
    (void)s;
    fixture f;
    fixture_init(&f);
    size_t len;
    uint8_t *log = build(&f, &len);
    tee_ccel c;
    ccai_err err = {0};
    assert_int_equal(tee_ccel_parse(log, len, &c, &err), CCAI_OK);
    assert_string_equal(c.ev[0].text, ACTION);
    assert_null(c.ev[1].text);                  /* a PE image is not text */
    assert_string_equal(c.ev[2].text, CMDLINE_UTF8);  /* UTF-16LE -> UTF-8 */
    assert_string_equal(c.ev[3].text, TAGGED);  /* inside the tagged event */
    assert_null(c.ev[4].text);                  /* EV_NO_ACTION is not decoded */
    assert_null(c.ev[5].text);
    assert_string_equal(c.ev[6].text, "ccai test");
    assert_null(c.ev[7].text);
    tee_ccel_free(&c);
    free(log);

    /* A lone surrogate is not text. */
    static const uint8_t bad16[] = {'a', 0, 0x00, 0xD8, 'b', 0};
    tee_ccel_record r = {2, EV_IPL, bad16, sizeof bad16, NULL};
    assert_int_equal(tee_ccel_build(&r, 1, &log, &len, &err), CCAI_OK);
    assert_int_equal(tee_ccel_parse(log, len, &c, &err), CCAI_OK);
    assert_null(c.ev[0].text);
    tee_ccel_free(&c);
    free(log);
}

static void padding(void **s)
{
    (void)s;
    fixture f;
    fixture_init(&f);
    size_t len;
    uint8_t *log = build(&f, &len);
    static const uint8_t fills[3] = {0xFF, 0x00, 0x5A};
    for (int k = 0; k < 3; k++) {
        uint8_t *pad = ccai_xmalloc(len + 100);
        memcpy(pad, log, len);
        memset(pad + len, fills[k], 100);
        if (fills[k] == 0x5A)  /* an index of 0xFFFFFFFF ends the log too */
            memset(pad + len, 0xFF, 4);
        tee_ccel c;
        ccai_err err = {0};
        assert_int_equal(tee_ccel_parse(pad, len + 100, &c, &err), CCAI_OK);
        assert_int_equal(c.count, 8);
        assert_int_equal(c.used_len, len);
        tee_ccel_free(&c);
        free(pad);
    }
    /* Mixed bytes after the log are not padding: a record with index 0x5A5A5A5A. */
    uint8_t *junk = ccai_xmalloc(len + 8);
    memcpy(junk, log, len);
    memset(junk + len, 0x5A, 8);
    tee_ccel c;
    ccai_err err = {0};
    assert_int_equal(tee_ccel_parse(junk, len + 8, &c, &err), CCAI_ERR_PARSE);
    char want[200];
    snprintf(want, sizeof want,
             "ccel: record 8 (offset %zu): register index at offset %zu is 1515870810, "
             "expected 0..4 (MRTD, RTMR0..3)",
             len, len);
    assert_string_equal(err.msg, want);
    free(junk);
    free(log);
}

static bool all_same(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

/* Every prefix of the log, each in an exact-size allocation so ASan sees any
 * over-read: it parses only when it ends on a record boundary, or when what
 * follows the last whole record looks like padding (the start of the MRTD
 * record, index 0, is zeros), and then to exactly the records before it. */
static void every_truncation(void **s)
{
    (void)s;
    fixture f;
    fixture_init(&f);
    size_t len;
    uint8_t *log = build(&f, &len);
    size_t bounds[9], off = HEADER_LEN;
    for (size_t i = 0; i < 9; i++) {
        bounds[i] = off;
        if (i < 8)
            off += REC_OVERHEAD + f.rec[i].data_len;
    }
    size_t accepted = 0;
    for (size_t l = 0; l < len; l++) {
        uint8_t *cut = ccai_xmalloc(l);
        memcpy(cut, log, l);
        tee_ccel c;
        ccai_err err = {0};
        ccai_code rc = tee_ccel_parse(cut, l, &c, &err);
        size_t k = 0;
        while (k < 8 && bounds[k + 1] <= l)
            k++;
        bool whole = l >= HEADER_LEN &&
                     (all_same(log + bounds[k], l - bounds[k], 0x00) ||
                      all_same(log + bounds[k], l - bounds[k], 0xFF));
        if (whole) {
            assert_int_equal(rc, CCAI_OK);
            assert_int_equal(c.count, k);
            assert_int_equal(c.used_len, bounds[k]);
            accepted++;
        } else {
            assert_int_equal(rc, CCAI_ERR_PARSE);
            assert_non_null(strstr(err.msg, "offset"));
            assert_null(c.ev);
        }
        tee_ccel_free(&c);
        free(cut);
    }
    /* The header alone, 1..7 records, and 4 prefixes of record 5's zero index. */
    assert_int_equal(accepted, 12);
    free(log);
}

static void expect_reject(const uint8_t *log, size_t len, size_t at, const uint8_t *bytes,
                          size_t n, ccai_code code, const char *want)
{
    uint8_t *bad = ccai_xmemdup(log, len);
    memcpy(bad + at, bytes, n);
    tee_ccel c;
    ccai_err err = {0};
    assert_int_equal(tee_ccel_parse(bad, len, &c, &err), code);
    assert_string_equal(err.msg, want);
    assert_int_equal(c.count, 0);
    free(bad);
}

static void corrupted_fields(void **s)
{
    (void)s;
    fixture f;
    fixture_init(&f);
    size_t len;
    uint8_t *log = build(&f, &len);
    size_t r1 = HEADER_LEN + REC_OVERHEAD + f.rec[0].data_len;  /* record 1 */
    char want[300];

    snprintf(want, sizeof want,
             "ccel: record 1 (offset %zu): digest count at offset %zu is 4294967295, expected "
             "1..1 (the algorithms the Spec ID header announced)",
             r1, r1 + 8);
    expect_reject(log, len, r1 + 8, (const uint8_t *)"\xff\xff\xff\xff", 4, CCAI_ERR_PARSE, want);
    snprintf(want, sizeof want,
             "ccel: record 1 (offset %zu): digest count at offset %zu is 0, expected 1..1 (the "
             "algorithms the Spec ID header announced)",
             r1, r1 + 8);
    expect_reject(log, len, r1 + 8, (const uint8_t *)"\0\0\0\0", 4, CCAI_ERR_PARSE, want);

    snprintf(want, sizeof want,
             "ccel: record 1 (offset %zu): event size at offset %zu is 4294967280, but only %zu "
             "bytes are left",
             r1, r1 + 62, len - r1 - 66);
    expect_reject(log, len, r1 + 62, (const uint8_t *)"\xf0\xff\xff\xff", 4, CCAI_ERR_PARSE,
                  want);

    snprintf(want, sizeof want,
             "ccel: record 1 (offset %zu): digest algorithm 0x000b at offset %zu was not "
             "announced in the Spec ID header",
             r1, r1 + 12);
    expect_reject(log, len, r1 + 12, (const uint8_t *)"\x0b\x00", 2, CCAI_ERR_PARSE, want);

    expect_reject(log, len, 56, (const uint8_t *)"\x09\0\0\0", 4, CCAI_ERR_PARSE,
                  "ccel: Spec ID header: numberOfAlgorithms at offset 56 is 9, expected 1..8");
    expect_reject(log, len, 56, (const uint8_t *)"\xff\xff\xff\xff", 4, CCAI_ERR_PARSE,
                  "ccel: Spec ID header: numberOfAlgorithms at offset 56 is 4294967295, "
                  "expected 1..8");
    expect_reject(log, len, 28, (const uint8_t *)"\xff\xff\xff\x7f", 4, CCAI_ERR_PARSE,
                  "ccel: Spec ID header: Spec ID event at offset 32 needs 2147483647 bytes, "
                  "only 754 left");
    expect_reject(log, len, 64, (const uint8_t *)"\xff", 1, CCAI_ERR_PARSE,
                  "ccel: Spec ID header: vendorInfo at offset 65 needs 255 bytes, only 0 left");
    expect_reject(log, len, 32, (const uint8_t *)"Spec ID Event02", 15, CCAI_ERR_UNSUPPORTED,
                  "ccel: Spec ID header: signature at offset 32 is not \"Spec ID Event03\"");
    expect_reject(log, len, 62, (const uint8_t *)"\x20\x00", 2, CCAI_ERR_PARSE,
                  "ccel: Spec ID header: digest size of algorithm 0x000c at offset 62 is 32, "
                  "expected 48");
    expect_reject(log, len, 60, (const uint8_t *)"\x0b\x00\x20\x00", 4, CCAI_ERR_UNSUPPORTED,
                  "ccel: Spec ID header announces 1 algorithms but not SHA-384 (0x000c)");
    expect_reject(log, len, 4, (const uint8_t *)"\x04\0\0\0", 4, CCAI_ERR_PARSE,
                  "ccel: Spec ID header: index 0, type 0x4 at offset 0, expected index 0, "
                  "EV_NO_ACTION (0x3)");
    free(log);

    /* The builder refuses what the parser would reject. */
    tee_ccel_record r = {5, EV_IPL, (const uint8_t *)"x", 1, NULL};
    uint8_t *out = NULL;
    size_t out_len = 0;
    ccai_err err = {0};
    assert_int_equal(tee_ccel_build(&r, 1, &out, &out_len, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "ccel build: record 0 has register index 5, expected 0..4");
    assert_null(out);
}

/* A log with two banks, written byte by byte: the Spec ID header announces
 * SHA-256 and SHA-384 (with vendor info); records carry both digests in
 * either order; replay uses the SHA-384 ones. */
static void put_record2(ccai_buf *b, uint32_t index, uint32_t type, const char *data,
                        bool sha384_first)
{
    uint8_t d256[32], d384[48];
    ccai_sha256(data, strlen(data), d256);
    ccai_sha384(data, strlen(data), d384);
    ccai_buf_u32le(b, index);
    ccai_buf_u32le(b, type);
    ccai_buf_u32le(b, 2);
    for (int k = 0; k < 2; k++) {
        if ((k == 0) == sha384_first) {
            ccai_buf_u16le(b, TCG_ALG_SHA384);
            ccai_buf_append(b, d384, 48);
        } else {
            ccai_buf_u16le(b, TCG_ALG_SHA256);
            ccai_buf_append(b, d256, 32);
        }
    }
    ccai_buf_u32le(b, (uint32_t)strlen(data));
    ccai_buf_append_str(b, data);
}

static void two_algorithms(void **s)
{
    (void)s;
    ccai_buf b = {0};
    ccai_buf_u32le(&b, 0);
    ccai_buf_u32le(&b, TCG_EV_NO_ACTION);
    ccai_buf_zeros(&b, 20);
    ccai_buf_u32le(&b, 16 + 12 + 8 + 1 + 3);
    ccai_buf_append(&b, "Spec ID Event03", 16);
    ccai_buf_u32le(&b, 0);
    ccai_buf_u8(&b, 0);   /* minor */
    ccai_buf_u8(&b, 2);   /* major */
    ccai_buf_u8(&b, 2);   /* errata */
    ccai_buf_u8(&b, 2);
    ccai_buf_u32le(&b, 2);
    ccai_buf_u16le(&b, TCG_ALG_SHA256);
    ccai_buf_u16le(&b, 32);
    ccai_buf_u16le(&b, TCG_ALG_SHA384);
    ccai_buf_u16le(&b, 48);
    ccai_buf_u8(&b, 3);
    ccai_buf_append(&b, "abc", 3);
    put_record2(&b, 1, EV_EFI_ACTION, "two banks", false);
    put_record2(&b, 2, EV_IPL, "grub_cmd: linux /vmlinuz", true);
    put_record2(&b, 1, TCG_EV_NO_ACTION, "not extended", false);
    ccai_buf_zeros(&b, 32);  /* erased tail */

    tee_ccel c;
    ccai_err err = {0};
    assert_int_equal(tee_ccel_parse(b.data, b.len, &c, &err), CCAI_OK);
    assert_int_equal(c.spec_version, 0x020002);
    assert_int_equal(c.alg_count, 2);
    assert_int_equal(c.alg_id[0], TCG_ALG_SHA256);
    assert_int_equal(c.alg_size[0], 32);
    assert_int_equal(c.alg_id[1], TCG_ALG_SHA384);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.used_len, b.len - 32);
    assert_string_equal(c.ev[1].text, "grub_cmd: linux /vmlinuz");

    uint8_t want[4][48] = {{0}}, d[48];
    ccai_sha384("two banks", 9, d);
    ccai_sha384_extend(want[0], d);
    ccai_sha384("grub_cmd: linux /vmlinuz", 24, d);
    ccai_sha384_extend(want[1], d);
    uint8_t rtmr[4][48];
    tee_ccel_replay(&c, rtmr);
    assert_memory_equal(rtmr, want, sizeof want);
    assert_hex(rtmr[0], 48,
               "3ea7674624ec863fc0514abf63d332564ff8236213e50a10aba1db335acb9850b19787880d72ac793a95ebc4ee3fe0b0");
    tee_ccel_free(&c);

    /* A digest listed twice in one record is rejected. */
    size_t r0 = 32 + 40;
    b.data[r0 + 12 + 2 + 32] = TCG_ALG_SHA256;  /* second alg id: SHA-256 again */
    char msg[200];
    snprintf(msg, sizeof msg,
             "ccel: record 0 (offset %zu): digest algorithm 0x000b at offset %zu appears twice",
             r0, r0 + 46);
    assert_int_equal(tee_ccel_parse(b.data, b.len, &c, &err), CCAI_ERR_PARSE);
    assert_string_equal(err.msg, msg);
    ccai_buf_free(&b);
}

static void type_names_and_json(void **s)
{
    (void)s;
    char buf[32];
    assert_string_equal(tee_ccel_type_name(0, buf, sizeof buf), "EV_PREBOOT_CERT");
    assert_string_equal(tee_ccel_type_name(0xD, buf, sizeof buf), "EV_IPL");
    assert_string_equal(tee_ccel_type_name(0x12, buf, sizeof buf), "EV_OMIT_BOOT_DEVICE_EVENTS");
    assert_string_equal(tee_ccel_type_name(0x8000000C, buf, sizeof buf), "EV_EFI_VARIABLE_BOOT2");
    assert_string_equal(tee_ccel_type_name(0x800000E0, buf, sizeof buf),
                        "EV_EFI_VARIABLE_AUTHORITY");
    assert_string_equal(tee_ccel_type_name(0x12345678, buf, sizeof buf), "EV_UNKNOWN_0x12345678");

    fixture f;
    fixture_init(&f);
    size_t len;
    uint8_t *log = build(&f, &len);
    tee_ccel c;
    ccai_err err = {0};
    assert_int_equal(tee_ccel_parse(log, len, &c, &err), CCAI_OK);
    json_t *j = tee_ccel_to_json(&c);
    assert_int_equal(json_array_size(j), 8);
    json_t *e = json_array_get(j, 2);
    assert_int_equal(json_integer_value(json_object_get(e, "index")), 3);
    assert_string_equal(json_string_value(json_object_get(e, "register")), "RTMR2");
    assert_string_equal(json_string_value(json_object_get(e, "type")), "EV_IPL");
    assert_int_equal(json_integer_value(json_object_get(e, "type_id")), 13);
    assert_int_equal(json_integer_value(json_object_get(e, "data_len")), f.utf16_len);
    assert_string_equal(json_string_value(json_object_get(e, "text")), CMDLINE_UTF8);
    uint8_t d[48];
    char hex[97];
    ccai_sha384(f.utf16, f.utf16_len, d);
    ccai_hex_encode(d, 48, hex);
    assert_string_equal(json_string_value(json_object_get(e, "digest")), hex);
    e = json_array_get(j, 5);
    assert_string_equal(json_string_value(json_object_get(e, "register")), "MRTD");
    assert_true(json_is_null(json_object_get(e, "text")));
    e = json_array_get(j, 6);
    assert_string_equal(json_string_value(json_object_get(e, "register")), "RTMR3");
    assert_string_equal(json_string_value(json_object_get(e, "type")), "EV_EFI_ACTION");
    json_decref(j);
    tee_ccel_free(&c);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(build_parse_replay), cmocka_unit_test(text_decoding),
        cmocka_unit_test(padding),            cmocka_unit_test(every_truncation),
        cmocka_unit_test(corrupted_fields),   cmocka_unit_test(two_algorithms),
        cmocka_unit_test(type_names_and_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
