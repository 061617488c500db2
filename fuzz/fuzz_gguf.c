/* Fuzz target: the GGUF loader (src/llm/gguf.c) and its getters. Any input
 * must give a clean error or a file whose every key, value and tensor lies
 * inside the input; when it parses, every key goes through every getter (and
 * string arrays through gguf_str_array) and every tensor's bytes are read, so
 * ASan sees any pointer the parser let out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/ggml_types.h"
#include "llm/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const void *p, uint64_t n, const uint8_t *data, size_t size)
{
    const uint8_t *b = p;
    if (n == 0)
        return;
    if (b < data || n > size || (size_t)(b - data) > size - n)
        abort();
}

static volatile uint8_t sink;

static void touch(const void *p, uint64_t n)
{
    if (n) {
        const uint8_t *b = p;
        sink ^= b[0];
        sink ^= b[n - 1];
    }
}

static void walk_kv(const gguf_file *f, const gguf_kv *kv, const uint8_t *data, size_t size)
{
    inside(kv->key.ptr, kv->key.len, data, size);
    char *key = gguf_strdup(kv->key);
    uint64_t u64;
    uint32_t u32;
    float x;
    bool b;
    gguf_str s;
    const uint8_t *p;
    uint64_t n;
    gguf_str *strs;
    /* A key with an embedded NUL finds nothing, or another key: either is fine. */
    (void)gguf_get_u64(f, key, &u64, NULL);
    (void)gguf_get_u32(f, key, &u32, NULL);
    (void)gguf_get_f32(f, key, &x, NULL);
    (void)gguf_get_bool(f, key, &b, NULL);
    if (gguf_get_str(f, key, &s, NULL) == CCAI_OK) {
        inside(s.ptr, s.len, data, size);
        touch(s.ptr, s.len);
    }
    if (kv->val.type == GGUF_TYPE_ARRAY) {
        inside(kv->val.arr.data, kv->val.arr.data_len, data, size);
        touch(kv->val.arr.data, kv->val.arr.data_len);
        if (gguf_get_arr(f, key, kv->val.arr.elem_type, &p, &n, NULL) == CCAI_OK &&
            gguf_find(f, key) == kv && n != kv->val.arr.count)
            abort();
        if (gguf_str_array(f, key, &strs, &n, NULL) == CCAI_OK) {
            for (uint64_t i = 0; i < n; i++) {
                inside(strs[i].ptr, strs[i].len, data, size);
                touch(strs[i].ptr, strs[i].len);
            }
            free(strs);
        }
    }
    free(key);
}

static void walk_tensor(const gguf_file *f, const gguf_tensor *t, const uint8_t *data,
                        size_t size)
{
    inside(t->name.ptr, t->name.len, data, size);
    if (t->n_dims < 1 || t->n_dims > 4 || !ggml_type_known(t->type) || t->size == 0)
        abort();
    inside(t->data, t->size, data, size);
    touch(t->data, t->size);
    if (t->offset % f->alignment != 0)
        abort();
    char *name = gguf_strdup(t->name);
    const gguf_tensor *found = gguf_find_tensor(f, name);
    /* Names are unique, so a name without NULs finds this very tensor. */
    if (strlen(name) == t->name.len && found != t)
        abort();
    free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f;
    ccai_err err = {0};
    if (gguf_parse(data, size, &f, &err) != CCAI_OK) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    if (f->data_offset % f->alignment != 0)
        abort();
    for (uint64_t i = 0; i < f->n_kv; i++)
        walk_kv(f, &f->kv[i], data, size);
    for (uint64_t i = 0; i < f->n_tensors; i++)
        walk_tensor(f, &f->tensors[i], data, size);
    gguf_close(f);
    return 0;
}
