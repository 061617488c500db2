/* HTTPS requests of a relying party (libcurl): the client side of
 * `ccai attest` and `ccai chat`.
 *
 * A ccai server's certificate is self-signed (its key is born inside the
 * TEE), so a CA cannot vouch for it: attestation does. The first request of
 * an attestation therefore runs without CA verification and reports the SPKI
 * of the certificate this very connection received (CURLOPT_CERTINFO, a
 * fresh handle, no connection reuse); the evidence must bind that SPKI.
 * Every later request is pinned to the attested key (CURLOPT_PINNEDPUBLICKEY):
 * a connection that presents another key fails with CCAI_ERR_VERIFY before a
 * byte of the request is sent. Requests to an attestation service verify its
 * certificate normally (system CAs or a given CA file). */
#ifndef CCAI_CLIENT_FETCH_H
#define CCAI_CLIENT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/mem.h"

typedef struct ccai_fetch_opts {
    /* Server identity, one of: */
    const uint8_t *pin_spki_sha256;  /* 32 bytes: the key must be this one */
    bool capture_spki;               /* unverified first contact: report the key */
    const char *ca_file;             /* otherwise: verify against these CAs (NULL: system) */
    const char *bearer;              /* Authorization: Bearer ... (wiped by the caller) */
    const char *content_type;        /* of the body (default application/json) */
    long timeout_s;                  /* whole request; 0: 30 s (streams: none) */
    size_t max_body;                 /* 0: 16 MiB; larger answers fail */
    /* Streaming: called for each piece of the body as it arrives (the body
     * is then not kept); return false to stop the transfer. */
    bool (*on_data)(const char *data, size_t len, void *arg);
    void *arg;
} ccai_fetch_opts;

typedef struct ccai_fetch_result {
    long status;                     /* HTTP status */
    ccai_buf body;                   /* NUL-terminated (not counted in len) */
    bool has_spki;
    uint8_t spki_sha256[32];         /* with capture_spki: the certificate's SPKI */
    bool stopped;                    /* on_data asked to stop */
} ccai_fetch_result;

/* method "GET" or "POST" (body may be NULL). A transport failure is an
 * error (a pinned-key mismatch is CCAI_ERR_VERIFY, naming both keys when
 * known); any HTTP status is a result. Free r with ccai_fetch_result_free. */
ccai_code ccai_fetch(const char *method, const char *url, const char *body, size_t body_len,
                     const ccai_fetch_opts *o, ccai_fetch_result *r, ccai_err *err);
void ccai_fetch_result_free(ccai_fetch_result *r);

/* "https://host:port/" + "/api/x" without a double slash; the caller frees. */
char *ccai_url_join(const char *base, const char *path);

/* The "error" member of a JSON error body, or a short excerpt; static
 * storage per thread is not used: writes at most n bytes into out. */
void ccai_fetch_error_text(const ccai_fetch_result *r, char *out, size_t n);

#endif
