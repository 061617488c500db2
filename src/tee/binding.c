/* ccai-attest/1 report data: see binding.h. */
#include "tee/binding.h"

#include <string.h>

#include "base/hash.h"

void tee_report_data_bind(const uint8_t nonce[32], const uint8_t *spki_sha256,
                          const uint8_t *e2e_sha256, uint8_t out[64])
{
    uint8_t msg[14 + 32 + 32 + 32];
    /* The 13-byte ASCII label and its terminating zero byte. */
    memcpy(msg, CCAI_ATTEST_VERSION, 14);
    memcpy(msg + 14, nonce, 32);
    if (spki_sha256)
        memcpy(msg + 46, spki_sha256, 32);
    else
        memset(msg + 46, 0, 32);
    if (e2e_sha256)
        memcpy(msg + 78, e2e_sha256, 32);
    else
        memset(msg + 78, 0, 32);
    ccai_sha512(msg, sizeof msg, out);
}
