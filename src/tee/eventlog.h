/* The runtime event log (blueprint "Measured launch").
 *
 * An event is a JSON object {"data":{...},"type":"ccai...."} in canonical
 * form (keys sorted, no white space); its digest is SHA-384 of exactly those
 * bytes, and it is extended into RTMR3. A log entry keeps the register, the
 * digest and the exact event text, so a verifier hashes the bytes it is given
 * and never re-serializes JSON.
 *
 * Persistence: <provider runtime_dir>/eventlog.jsonl, one entry per line
 * ({"digest":..,"event":..,"mr":3}), under an flock so concurrent processes
 * interleave whole measurements. tee_measure appends and fsyncs the entry
 * first, then extends; tee_eventlog_read reconciles the file with RTMR3 (an
 * entry whose extend never happened, because the process died in between, is
 * dropped; a log from before a TD reboot, when RTMR3 is back to zero, is set
 * aside) and fails when they cannot be reconciled. */
#ifndef CCAI_TEE_EVENTLOG_H
#define CCAI_TEE_EVENTLOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "tee/provider.h"

typedef struct tee_event {
    unsigned mr;        /* RTMR index, 3 for ccai's runtime events */
    uint8_t digest[48]; /* SHA-384(event) */
    char *event;        /* the exact text hashed, owned */
} tee_event;

typedef struct tee_eventlog {
    tee_event *ev;
    size_t count, cap;
} tee_eventlog;

/* Builds the canonical event {"data":data,"type":type} and its digest into
 * *out (mr = 3). data is borrowed. type must start with "ccai.". */
ccai_code tee_event_make(const char *type, const json_t *data, tee_event *out, ccai_err *err);
void tee_event_free(tee_event *e);

/* Appends a deep copy of e. */
void tee_eventlog_add(tee_eventlog *log, const tee_event *e);
void tee_eventlog_free(tee_eventlog *log);

/* Replays the entries for register mr from 48 zero bytes. */
void tee_eventlog_replay(const tee_eventlog *log, unsigned mr, uint8_t out[48]);

/* Checks each entry's digest against SHA-384 of its event text; fails naming
 * the first entry that differs. */
ccai_code tee_eventlog_check_digests(const tee_eventlog *log, ccai_err *err);

/* [{"mr":3,"digest":"<hex>","event":"<text>"}, ...] (the evidence form) and
 * back. from_json validates shapes and digests. */
json_t *tee_eventlog_to_json(const tee_eventlog *log);
ccai_code tee_eventlog_from_json(const json_t *arr, tee_eventlog *out, ccai_err *err);

/* Reads a runtime event log file as tools pass it around: a JSON array of
 * entries (the evidence form), a ccai-attest/1 evidence object (its
 * "event_log"), or the JSON-lines file ccai keeps in its state directory.
 * Digests are checked against the event texts. (eventlog_file.c) */
ccai_code tee_eventlog_read_file(const char *path, tee_eventlog *out, ccai_err *err);

/* Measures one thing: event_make, append to the provider's log, extend
 * RTMR3 -- atomically with respect to other ccai processes. *out (optional)
 * receives a copy of the event. */
ccai_code tee_measure(tee_provider *p, const char *type, const json_t *data, tee_event *out,
                      ccai_err *err);

/* The provider's runtime log since TD boot, reconciled with RTMR3 (see above). */
ccai_code tee_eventlog_read(tee_provider *p, tee_eventlog *out, ccai_err *err);

/* Forgets the provider's runtime log (the sim's "reboot"). Under the log's
 * lock (<runtime_dir>/eventlog.lock) it first calls reset_registers (may be
 * NULL), then empties the log, so no measurement can slip in between. Lock
 * order everywhere: the event log lock before any provider lock. */
ccai_code tee_eventlog_clear(tee_provider *p,
                             ccai_code (*reset_registers)(tee_provider *p, ccai_err *err),
                             ccai_err *err);

#endif
