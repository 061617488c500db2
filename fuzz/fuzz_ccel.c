/* Fuzz target: the firmware event log parser (CCEL) and what consumes its
 * result (replay, JSON). Any input must give a clean error or a log whose
 * records lie inside the input. */
#include <stdint.h>
#include <stdlib.h>

#include "tee/ccel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tee_ccel log;
    if (tee_ccel_parse(data, size, &log, NULL) != CCAI_OK)
        return 0;
    if (log.used_len > size)
        abort();
    for (size_t i = 0; i < log.count; i++)
        if (log.ev[i].offset >= size)
            abort();
    uint8_t rtmr[4][48];
    tee_ccel_replay(&log, rtmr);
    json_decref(tee_ccel_to_json(&log));
    tee_ccel_free(&log);
    return 0;
}
