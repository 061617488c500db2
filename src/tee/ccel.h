/* The firmware event log (CCEL): TCG PC Client crypto-agile format as TDX
 * firmware writes it (tdx-facts §4). The first record is the SHA-1-format
 * "Spec ID Event03" header listing the digest algorithms and sizes; then
 * TCG_PCR_EVENT2 records whose index is the CC measurement register
 * (0 = MRTD, 1..4 = RTMR0..3) and whose SHA-384 digest (alg 0x000C) is what
 * was extended. Parsing never trusts a length; the log area may be padded
 * with 0xFF or 0x00 after the last record.
 *
 * tee_ccel_build writes such a log (the simulated TD's firmware log and the
 * tests' fixtures use it). */
#ifndef CCAI_TEE_CCEL_H
#define CCAI_TEE_CCEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum {
    TCG_ALG_SHA1 = 0x0004,
    TCG_ALG_SHA256 = 0x000B,
    TCG_ALG_SHA384 = 0x000C,
    TCG_ALG_SHA512 = 0x000D,
    TCG_EV_NO_ACTION = 0x00000003,
};

typedef struct tee_fw_event {
    size_t offset;          /* of the record in the log */
    uint32_t mr_index;      /* CC MR index: 0 = MRTD, 1..4 = RTMR0..3 */
    uint32_t type;          /* TCG event type */
    bool has_sha384;
    uint8_t sha384[48];     /* the digest that was extended */
    uint32_t data_len;
    uint8_t *data;          /* event data, owned */
    char *text;             /* decoded text (ASCII or UTF-16LE command lines,
                               EFI action strings) or NULL; owned */
} tee_fw_event;

typedef struct tee_ccel {
    uint32_t spec_version;  /* major<<16 | minor<<8 | errata, from Spec ID Event03 */
    uint32_t alg_count;
    uint16_t alg_id[8];
    uint16_t alg_size[8];
    size_t count;
    tee_fw_event *ev;       /* the records after the header, owned */
    size_t used_len;        /* bytes up to the end of the last record */
} tee_ccel;

ccai_code tee_ccel_parse(const uint8_t *buf, size_t len, tee_ccel *out, ccai_err *err);
void tee_ccel_free(tee_ccel *log);

/* Replays the records into rtmr[0..3] from 48 zero bytes each; records for
 * MRTD (index 0) and EV_NO_ACTION records are not extended. */
void tee_ccel_replay(const tee_ccel *log, uint8_t rtmr[4][48]);

/* "EV_EFI_ACTION" etc.; "EV_UNKNOWN_0x..." written into buf otherwise. */
const char *tee_ccel_type_name(uint32_t type, char *buf, size_t n);

/* [{"index":..,"register":"RTMR1","type":"EV_IPL","type_id":13,
 *   "digest":"<hex sha384>","data_len":..,"text":..}, ...] */
json_t *tee_ccel_to_json(const tee_ccel *log);

/* One record to write: register index (1..4 for RTMR0..3), type, data. The
 * SHA-384 digest is computed over data unless digest is non-NULL. */
typedef struct tee_ccel_record {
    uint32_t mr_index;
    uint32_t type;
    const uint8_t *data;
    uint32_t data_len;
    const uint8_t *digest;  /* optional 48 bytes */
} tee_ccel_record;

/* Writes a log (Spec ID header with SHA-384 only, then the records) into a
 * fresh buffer; the caller frees *out. */
ccai_code tee_ccel_build(const tee_ccel_record *recs, size_t n, uint8_t **out, size_t *out_len,
                         ccai_err *err);

#endif
