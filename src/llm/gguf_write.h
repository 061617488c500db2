/* GGUF v3 writer (llm-facts §1): a small builder for the model generator,
 * tests and fuzz seeds. Metadata keys keep their insertion order (setting a
 * key again replaces its value in place); tensors keep theirs, and each
 * tensor's data starts at a multiple of general.alignment (32 unless set as a
 * u32) with zero padding in between.
 *
 * The setters return nothing: the first misuse (an empty key, a tensor whose
 * data size does not match its shape, a duplicate tensor name, ...) is
 * remembered and returned, with its message, by gguf_writer_write or
 * gguf_writer_to_buffer. So a well-formed build gives a file gguf_parse
 * accepts. For tests that need malformed files, gguf_writer_set_arr_raw puts
 * caller bytes into an array value unchecked. */
#ifndef CCAI_LLM_GGUF_WRITE_H
#define CCAI_LLM_GGUF_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/mem.h"
#include "llm/gguf.h"

typedef struct gguf_writer gguf_writer;

/* A fresh, empty builder; free with gguf_writer_free. */
gguf_writer *gguf_writer_new(void);
void gguf_writer_free(gguf_writer *w);

/* Scalar metadata. Every setter copies what it is given. */
void gguf_writer_set_u8(gguf_writer *w, const char *key, uint8_t v);
void gguf_writer_set_i8(gguf_writer *w, const char *key, int8_t v);
void gguf_writer_set_u16(gguf_writer *w, const char *key, uint16_t v);
void gguf_writer_set_i16(gguf_writer *w, const char *key, int16_t v);
void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
void gguf_writer_set_i64(gguf_writer *w, const char *key, int64_t v);
void gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
void gguf_writer_set_f64(gguf_writer *w, const char *key, double v);
void gguf_writer_set_bool(gguf_writer *w, const char *key, bool v);
void gguf_writer_set_str(gguf_writer *w, const char *key, const char *s);
/* A string of n bytes that may contain NULs. */
void gguf_writer_set_strn(gguf_writer *w, const char *key, const char *s, size_t n);

/* An array of n elements of a fixed-size elem_type, read from a native C
 * array of the matching type (uint8_t ... double; bool for BOOL), or for
 * GGUF_TYPE_STRING from a `const char *const *` of NUL-terminated strings.
 * Nested arrays: see gguf_writer_encode_arr and gguf_writer_set_arr_raw. */
void gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_type elem_type, const void *data,
                         size_t n);
void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs, size_t n);
/* Strings given with their lengths (they may contain NULs). */
void gguf_writer_set_arr_strn(gguf_writer *w, const char *key, const char *const *strs,
                              const size_t *lens, size_t n);
/* An array whose elements are len caller bytes, already encoded, written
 * unchecked after the element type and count. */
void gguf_writer_set_arr_raw(gguf_writer *w, const char *key, gguf_type elem_type,
                             uint64_t count, const void *elems, size_t len);
/* Appends an array body (u32 element type, u64 count, the elements encoded as
 * for gguf_writer_set_arr) to b: one element of a nested array. False, with
 * nothing appended, for GGUF_TYPE_ARRAY or an unknown type. */
bool gguf_writer_encode_arr(ccai_buf *b, gguf_type elem_type, const void *data, size_t n);

/* A tensor of ggml type `type` and shape ne[0..n_dims-1] (ne[0] the row
 * length); size must be the byte size the shape gives. The data is copied;
 * NULL data means zeros. */
void gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                            const uint64_t *ne, const void *data, size_t size);

/* The whole file in a fresh buffer the caller frees. */
ccai_code gguf_writer_to_buffer(gguf_writer *w, uint8_t **out, size_t *len, ccai_err *err);
/* Writes the file atomically (temporary file, fsync, rename), mode 0644. */
ccai_code gguf_writer_write(gguf_writer *w, const char *path, ccai_err *err);

#endif
