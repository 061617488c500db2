/* GGUF files (load stage; llm-facts §1): the header, every metadata type, and
 * the tensor table, checked against the file. Nothing is copied: strings,
 * arrays and tensor data point into the mapped file, so weights are used in
 * place. No length is trusted: every count and offset is bounded by the file
 * before use, and sizes are computed with overflow checks. */
#ifndef CCAI_LLM_GGUF_H
#define CCAI_LLM_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef enum gguf_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
} gguf_type;

/* A string inside the file: not NUL-terminated. */
typedef struct gguf_str {
    const char *ptr;
    uint64_t len;
} gguf_str;

typedef struct gguf_value {
    gguf_type type;
    union {
        uint64_t u;   /* unsigned integer types and bool */
        int64_t i;    /* signed integer types */
        double f;     /* FLOAT32 and FLOAT64 */
        gguf_str s;
        struct {
            gguf_type elem_type;
            uint64_t count;
            const uint8_t *data;  /* the raw elements in the file */
            size_t data_len;
        } arr;
    };
} gguf_value;

typedef struct gguf_kv {
    gguf_str key;
    gguf_value val;
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    uint64_t ne[4];           /* ne[0] is the contiguous row length; unused dims are 1 */
    uint32_t type;            /* ggml type id (see llm/quant.h) */
    uint64_t offset;          /* relative to the data section */
    uint64_t n_elements;
    size_t size;              /* bytes, from the shape and the type */
    const uint8_t *data;      /* in the mapping */
} gguf_tensor;

typedef struct gguf_file {
    const uint8_t *base;      /* the whole file */
    size_t size;
    bool mapped;              /* base is an mmap owned by this struct */
    uint32_t version;         /* 2 or 3 */
    uint64_t n_kv;
    gguf_kv *kv;              /* owned array */
    uint64_t n_tensors;
    gguf_tensor *tensors;     /* owned array */
    uint32_t alignment;
    size_t data_offset;
    char *path;               /* owned, or NULL for gguf_parse */
} gguf_file;

/* Maps path read-only and parses it. */
ccai_code gguf_open(const char *path, gguf_file **out, ccai_err *err);
/* Parses a buffer the caller keeps alive longer than the result (fuzzing,
 * tests). */
ccai_code gguf_parse(const uint8_t *buf, size_t len, gguf_file **out, ccai_err *err);
void gguf_close(gguf_file *f);

/* Of the resident part of the mapping holding addr, the share mapped in
 * 2 MiB pages (FilePmdMapped / Rss in /proc/self/smaps); -1 when unknown.
 * Decode streams the weights through the model's mapping, and 4 KiB pages
 * cost it up to a third of its speed (docs/bench.md, "Huge pages"). */
double gguf_huge_fraction(const void *addr);

/* For a mapped file about to be streamed whole (a model loaded for
 * inference): reads it in and, when less than 99% of it is then mapped in
 * 2 MiB pages (the page cache held it, or some of it, in small folios: as
 * a write leaves them, or split since), drops it from the cache and reads
 * it again, so that readahead brings it back in 2 MiB folios at the same
 * addresses. Skipped for files under 64 MiB or over half the machine's
 * memory, and where the kernel lacks the calls. A hint: returns the share
 * afterwards (-1: unknown). */
double gguf_prefer_huge_pages(gguf_file *f);

/* The share gguf_prefer_huge_pages settles for (why so high: gguf.c). */
#define GGUF_HUGE_WANTED 0.99

const gguf_kv *gguf_find(const gguf_file *f, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);

/* Typed metadata getters. Integers of any width and signedness are accepted
 * where they fit (real files store u32 where the spec says u64). Absent key:
 * CCAI_ERR_NOT_FOUND; wrong type or out of range: CCAI_ERR_PARSE naming the key. */
ccai_code gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out, ccai_err *err);
ccai_code gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, ccai_err *err);
ccai_code gguf_get_f32(const gguf_file *f, const char *key, float *out, ccai_err *err);
ccai_code gguf_get_bool(const gguf_file *f, const char *key, bool *out, ccai_err *err);
ccai_code gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, ccai_err *err);
/* An array of elem_type (strings: see gguf_str_array). */
ccai_code gguf_get_arr(const gguf_file *f, const char *key, gguf_type elem_type,
                       const uint8_t **data, uint64_t *count, ccai_err *err);
/* The strings of a string array as a fresh array of gguf_str (pointing into
 * the file); the caller frees *out. */
ccai_code gguf_str_array(const gguf_file *f, const char *key, gguf_str **out, uint64_t *count,
                         ccai_err *err);

/* A NUL-terminated copy of a gguf_str; the caller frees. */
char *gguf_strdup(gguf_str s);
bool gguf_str_eq(gguf_str s, const char *c);
const char *gguf_type_name(gguf_type t);

#endif
