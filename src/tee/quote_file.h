/* Reading quotes from files as people have them: raw binary (as configfs-tsm
 * writes it), or text holding hex or base64 (as tools and JSON APIs print
 * it). */
#ifndef CCAI_TEE_QUOTE_FILE_H
#define CCAI_TEE_QUOTE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum { TDX_QUOTE_FILE_MAX = 1 << 20 };

/* Reads path (at most TDX_QUOTE_FILE_MAX bytes) and returns the quote bytes
 * in a fresh buffer the caller frees. Binary when the file starts with a
 * little-endian version 4 or 5; otherwise the text, white space removed, is
 * decoded as hex, then as base64 (standard or URL alphabet). */
ccai_code tdx_quote_read_file(const char *path, uint8_t **out, size_t *len, ccai_err *err);

#endif
