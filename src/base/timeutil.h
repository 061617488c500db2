/* RFC 3339 / ISO 8601 UTC times, as used by collateral ("2025-07-19T10:00:35Z")
 * and by `--at`. */
#ifndef CCAI_BASE_TIMEUTIL_H
#define CCAI_BASE_TIMEUTIL_H

#include <time.h>

#include "base/err.h"

/* Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; the result is UTC seconds. */
ccai_code ccai_time_parse(const char *s, time_t *out, ccai_err *err);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with the NUL). */
void ccai_time_format(time_t t, char out[32]);

#endif
