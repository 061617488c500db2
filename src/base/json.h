/* JSON helpers over jansson. Canonical form (blueprint "Measured launch"):
 * object keys sorted, no white space, UTF-8 kept as is. Events should hold
 * strings, integers, booleans, null, arrays and objects only: reals have no
 * single canonical text. */
#ifndef CCAI_BASE_JSON_H
#define CCAI_BASE_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* The canonical text of v; the caller frees. NULL for an invalid value. */
char *ccai_json_canonical(const json_t *v);

/* Parses a JSON text (not necessarily NUL-terminated) with a clear error. */
ccai_code ccai_json_parse(const char *text, size_t len, json_t **out, ccai_err *err);

/* Typed getters that fail with the member's name when it is absent or of the
 * wrong type. */
ccai_code ccai_json_get_str(const json_t *obj, const char *key, const char **out,
                            ccai_err *err);
ccai_code ccai_json_get_int(const json_t *obj, const char *key, long long *out, ccai_err *err);
/* A hex member decoded to exactly n bytes. */
ccai_code ccai_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n,
                            ccai_err *err);

/* "an object", "a string", ... for error messages; "nothing" for NULL. */
const char *ccai_json_kind(const json_t *v);

/* Adds key: lower-case hex of n bytes. */
void ccai_json_set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n);

#endif
