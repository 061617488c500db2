/* What pull.c (registry pulls) and pull_hf.c (Hugging Face and direct URLs)
 * share. Private to src/store/. */
#ifndef CCAI_STORE_PULL_INTERNAL_H
#define CCAI_STORE_PULL_INTERNAL_H

#include "store/store.h"

/* Reports a status line; false (with *err set) when the caller cancelled. */
ccai_code pull_report(const store_pull_opts *o, const char *status, ccai_err *err);

/* A single GGUF file at url, stored as n with a synthesized manifest.
 * want_hex: the expected SHA-256 (lower-case hex) or NULL; size: expected
 * when has_size. source is recorded in the config blob. */
ccai_code pull_single(const store *st, const store_name *n, const char *url, const char *want_hex,
                      uint64_t size, bool has_size, const store_pull_opts *o, ccai_err *err);

/* hf.co/ORG/REPO[:QUANT] (n already parsed, host hf.co). */
ccai_code pull_hf(const store *st, store_name *n, const store_pull_opts *o, ccai_err *err);
/* An http(s) URL of a .gguf file; *n gets the name it is stored under. */
ccai_code pull_url(const store *st, const char *url, const store_pull_opts *o, store_name *n,
                   ccai_err *err);

/* Checks and lower-cases a 64-digit hex SHA-256 given by a user. */
ccai_code pull_expected_hex(const char *in, char out[65], ccai_err *err);

#endif
