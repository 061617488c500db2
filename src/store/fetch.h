/* Downloads for the store (private to src/store/): small documents
 * (manifests, the Hugging Face file listing) read whole with a size cap, and
 * blobs streamed into a partial file with Range resume and SHA-256 computed
 * on the way. libcurl follows redirects (registries send blobs to a CDN)
 * over http and https only, and honours the proxy environment variables
 * (http_proxy, https_proxy, no_proxy) as it does by default. */
#ifndef CCAI_STORE_FETCH_H
#define CCAI_STORE_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* GET url (Accept: accept when non-NULL) into a fresh NUL-terminated buffer
 * of at most max bytes (more is an error naming the limit). Any HTTP status
 * is returned in *status with the body; *content_type (may be NULL) gets a
 * fresh copy of the Content-Type or NULL. Transport failures are CCAI_ERR_IO
 * naming the URL. */
ccai_code store_http_get(const char *url, const char *accept, size_t max, uint8_t **body,
                         size_t *len, long *status, char **content_type, ccai_err *err);

typedef struct store_fetch {
    const char *url;
    const char *partial; /* the file the bytes go to (kept after a cut) */
    const char *digest;  /* "sha256:<hex>" expected, or NULL when unknown */
    uint64_t size;       /* expected size; 0 with has_size false: unknown */
    bool has_size;
    int retries; /* reconnects after a cut */
    store_progress_fn progress;
    void *arg;
} store_fetch;

/* Downloads f->url into f->partial, resuming from what it already holds
 * (its prefix is hashed first). On success the file is complete and
 * fsync'd, and got_sha256/got_size describe it. A digest or size mismatch
 * (more bytes than expected, or a complete answer with fewer) removes the
 * partial file and is CCAI_ERR_VERIFY naming the expected and the found
 * value; a cut that outlasts the retries keeps it (CCAI_ERR_IO). */
ccai_code store_fetch_blob(const store_fetch *f, uint8_t got_sha256[32], uint64_t *got_size,
                           ccai_err *err);

#endif
