/* The model generator (contract in mkmodel.h): spec checks, the tensor type
 * mix, the seeded weight streams, the tokenizer metadata (copied or
 * synthetic) and the assembly through the GGUF writer.
 *
 * Tensor types follow llama.cpp's quantization rule for the _M mixes
 * (llama_tensor_get_type): output.weight, and token_embd.weight when it is
 * also the output, become Q6_K; attn_v and ffn_down become Q6_K in the layers
 * use_more_bits picks (the first and last eighth, and every third between);
 * the rest take the main type. A row length the chosen type cannot hold
 * falls back as llama.cpp does (Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0),
 * and to F16 when even that does not fit.
 *
 * Speed: the K-type reference quantizers search for the best scales and cost
 * a few hundred ns per value, which would make a 1.5B model take minutes.
 * So a K-type tensor quantizes only its first rows (at least POOL_BLOCKS
 * super-blocks); every later super-block is a copy of one of those, drawn
 * from the row's own stream. The values keep the distribution of quantized
 * random weights and the file stays deterministic; tensors no larger than
 * the pool (all of the tiny presets) are quantized entirely. */
#include "llm/mkmodel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/rng.h"
#include "llm/ggml_types.h"
#include "llm/gguf.h"
#include "llm/gguf_write.h"
#include "llm/pool.h"
#include "llm/quant.h"

/* ---- ftypes ---- */

typedef struct ftype_info {
    const char *name;
    uint32_t main;  /* ggml type of most matrices */
    bool mix;       /* the _M rule above */
    int file_type;  /* general.file_type (llama.cpp's llama_ftype) */
} ftype_info;

static const ftype_info FTYPES[] = {
    {"F32", GGML_TYPE_F32, false, 0},      {"F16", GGML_TYPE_F16, false, 1},
    {"BF16", GGML_TYPE_BF16, false, 32},   {"Q8_0", GGML_TYPE_Q8_0, false, 7},
    {"Q4_0", GGML_TYPE_Q4_0, false, 2},    {"Q4_1", GGML_TYPE_Q4_1, false, 3},
    {"Q5_0", GGML_TYPE_Q5_0, false, 8},    {"Q5_1", GGML_TYPE_Q5_1, false, 9},
    {"Q4_K", GGML_TYPE_Q4_K, false, 14},   {"Q5_K", GGML_TYPE_Q5_K, false, 16},
    {"Q6_K", GGML_TYPE_Q6_K, false, 18},   {"Q4_K_M", GGML_TYPE_Q4_K, true, 15},
    {"Q5_K_M", GGML_TYPE_Q5_K, true, 17},
};
#define N_FTYPES (sizeof FTYPES / sizeof FTYPES[0])

static const ftype_info *find_ftype(const char *name)
{
    for (size_t i = 0; name && i < N_FTYPES; i++)
        if (strcmp(FTYPES[i].name, name) == 0)
            return &FTYPES[i];
    return NULL;
}

int llm_mkmodel_file_type(const char *ftype)
{
    const ftype_info *f = find_ftype(ftype);
    return f ? f->file_type : -1;
}

/* What a tensor is, for the type rule. */
typedef enum { T_VECTOR, T_TOKEN_EMBD, T_OUTPUT, T_ATTN_V, T_FFN_DOWN, T_MATRIX } tensor_role;

/* llama.cpp's use_more_bits(i_layer, n_layers). */
static bool use_more_bits(uint32_t i, uint32_t n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static uint32_t fallback_type(uint32_t t)
{
    switch (t) {
    case GGML_TYPE_Q4_K:
        return GGML_TYPE_Q5_0;
    case GGML_TYPE_Q5_K:
        return GGML_TYPE_Q5_1;
    case GGML_TYPE_Q6_K:
        return GGML_TYPE_Q8_0;
    default:
        return GGML_TYPE_F16;
    }
}

static uint32_t tensor_type(const ftype_info *ft, tensor_role role, bool tied, uint32_t layer,
                            uint32_t n_layer, uint64_t cols)
{
    if (role == T_VECTOR)
        return GGML_TYPE_F32;
    uint32_t t = ft->main;
    if (ft->mix) {
        if (role == T_OUTPUT || (role == T_TOKEN_EMBD && tied))
            t = GGML_TYPE_Q6_K;
        else if ((role == T_ATTN_V || role == T_FFN_DOWN) && use_more_bits(layer, n_layer))
            t = GGML_TYPE_Q6_K;
    }
    while (cols % ggml_blck_size(t) != 0)
        t = fallback_type(t);
    return t;
}

/* ---- presets ---- */

static const char *const PRESET_NAMES[] = {
    "tiny-llama", "tiny-qwen2", "qwen2-1.5b", "qwen2-7b", "qwen2-14b",
    "qwen2-32b",  "llama-8b",   "llama-70b",  NULL,
};

static const llm_mkmodel_spec PRESETS[] = {
    /* arch, n_embd, n_layer, n_ff, n_head, n_head_kv, head_dim, n_ctx, n_vocab, rope_base,
     * rms_eps, llama3_rope, tied, ftype, seed, vocab_from, name */
    {"llama", 256, 2, 256, 4, 2, 0, 512, 320, 10000.0f, 1e-5f, false, false, "F32", 1, NULL,
     "tiny-llama"},
    {"qwen2", 256, 2, 256, 4, 1, 0, 512, 320, 10000.0f, 1e-6f, false, true, "F32", 1, NULL,
     "tiny-qwen2"},
    {"qwen2", 1536, 28, 8960, 12, 2, 0, 131072, 151936, 10000.0f, 1e-6f, false, false, "Q4_K_M",
     1, NULL, "qwen2-1.5b"},
    {"qwen2", 3584, 28, 18944, 28, 4, 0, 131072, 152064, 10000.0f, 1e-6f, false, false, "Q4_K_M",
     1, NULL, "qwen2-7b"},
    {"qwen2", 5120, 48, 13824, 40, 8, 0, 131072, 152064, 1e6f, 1e-5f, false, false, "Q4_K_M", 1,
     NULL, "qwen2-14b"},
    {"qwen2", 5120, 64, 27648, 40, 8, 0, 131072, 152064, 1e6f, 1e-5f, false, false, "Q4_K_M", 1,
     NULL, "qwen2-32b"},
    {"llama", 4096, 32, 14336, 32, 8, 0, 131072, 128256, 500000.0f, 1e-5f, true, false, "Q4_K_M",
     1, NULL, "llama-8b"},
    {"llama", 8192, 80, 28672, 64, 8, 0, 131072, 128256, 500000.0f, 1e-5f, true, false, "Q4_K_M",
     1, NULL, "llama-70b"},
};

const char *const *llm_mkmodel_preset_names(void)
{
    return PRESET_NAMES;
}

ccai_code llm_mkmodel_preset(const char *name, llm_mkmodel_spec *out, ccai_err *err)
{
    for (size_t i = 0; name && PRESET_NAMES[i]; i++) {
        if (strcmp(name, PRESET_NAMES[i]) == 0) {
            *out = PRESETS[i];
            return CCAI_OK;
        }
    }
    return ccai_fail(err, CCAI_ERR_NOT_FOUND,
                     "mkmodel: no preset \"%s\" (presets: tiny-llama, tiny-qwen2, qwen2-1.5b, "
                     "qwen2-7b, qwen2-14b, qwen2-32b, llama-8b, llama-70b)",
                     name ? name : "(null)");
}

/* ---- seeded streams ---- */

/* The streams are splitmix64 (base/rng.h): every output is a strong mix of
 * its counter, so a stream may start from any derived seed. */

/* Irwin-Hall with four 16-bit uniforms from one draw: mean 0, std 1, within
 * ±3.46. Close enough to normal for random weights, and cheap. */
static inline float unit_normal(uint64_t *s)
{
    uint64_t r = ccai_rng_next(s);
    uint32_t sum = (uint32_t)(r & 0xFFFF) + (uint32_t)((r >> 16) & 0xFFFF) +
                   (uint32_t)((r >> 32) & 0xFFFF) + (uint32_t)(r >> 48);
    return ((float)sum - 131070.0f) * (1.0f / 37837.23f);
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* The stream of row `row` of the tensor whose key is `key`. */
static uint64_t row_seed(uint64_t seed, uint64_t key, uint64_t row)
{
    uint64_t s = seed ^ key;
    uint64_t a = ccai_rng_next(&s);
    s = a + row * 0xD1B54A32D192ED03ull;
    return ccai_rng_next(&s);
}

/* ---- tensor generation ---- */

typedef enum { FILL_WEIGHT, FILL_NORM, FILL_BIAS } fill_kind;

/* Super-blocks a K-type tensor quantizes before it starts reusing them. */
enum { POOL_BLOCKS = 1024 };

typedef struct gen_job {
    uint64_t seed, key;
    fill_kind kind;
    uint32_t type;
    int64_t cols;
    size_t row_bytes;
    uint8_t *out;
    int64_t first_copied_row; /* rows from here on copy pool blocks */
    uint64_t pool_blocks;     /* the blocks of rows [0, first_copied_row) */
} gen_job;

static void gen_rows(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const gen_job *j = arg;
    float *row = ccai_xmalloc((size_t)j->cols * sizeof *row);
    for (int64_t r = begin; r < end; r++) {
        uint64_t s = row_seed(j->seed, j->key, (uint64_t)r);
        for (int64_t c = 0; c < j->cols; c++) {
            float v = 0.02f * unit_normal(&s);
            row[c] = j->kind == FILL_NORM ? 1.0f + v : v;
        }
        llm_quantize_row(j->type, row, j->out + (size_t)r * j->row_bytes, j->cols);
    }
    free(row);
}

/* Rows [first_copied_row + begin, first_copied_row + end): each block a
 * copy of a pool block the row's stream picks. */
static void copy_rows(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const gen_job *j = arg;
    size_t bsz = ggml_type_size(j->type), per_row = j->row_bytes / bsz;
    for (int64_t r = j->first_copied_row + begin; r < j->first_copied_row + end; r++) {
        uint64_t s = row_seed(j->seed, j->key, (uint64_t)r);
        uint8_t *row = j->out + (size_t)r * j->row_bytes;
        for (size_t b = 0; b < per_row; b++) {
            uint64_t pick = ccai_rng_next(&s) % j->pool_blocks;
            memcpy(row + b * bsz, j->out + pick * bsz, bsz);
        }
    }
}

typedef struct build {
    const llm_mkmodel_spec *spec;
    const ftype_info *ft;
    gguf_writer *w;
    llm_pool *pool;
} build;

/* Adds a 1- or 2-dimensional tensor of random values (ne = {cols, rows}). */
static void add_random(build *b, const char *name, tensor_role role, fill_kind kind,
                       uint32_t layer, uint64_t cols, uint64_t rows)
{
    const llm_mkmodel_spec *sp = b->spec;
    gen_job j = {sp->seed, name_hash(name), kind, 0, (int64_t)cols, 0, NULL, (int64_t)rows, 0};
    j.type = tensor_type(b->ft, role, sp->tied_embeddings, layer, sp->n_layer, cols);
    if (!ggml_row_bytes(j.type, cols, &j.row_bytes))
        abort(); /* tensor_type only returns types that fit cols */
    size_t size = j.row_bytes * rows;
    j.out = ccai_xmalloc(size);
    if (ggml_blck_size(j.type) == LLM_QK_K) {
        uint64_t per_row = cols / LLM_QK_K, pool_rows = (POOL_BLOCKS + per_row - 1) / per_row;
        if (pool_rows < rows) {
            j.first_copied_row = (int64_t)pool_rows;
            j.pool_blocks = pool_rows * per_row;
        }
    }
    llm_pool_run(b->pool, j.first_copied_row, gen_rows, &j);
    if (j.first_copied_row < (int64_t)rows)
        llm_pool_run(b->pool, (int64_t)rows - j.first_copied_row, copy_rows, &j);
    uint64_t ne[2] = {cols, rows};
    gguf_writer_add_tensor(b->w, name, j.type, rows > 1 ? 2 : 1, ne, j.out, size);
    free(j.out);
}

/* rope_freqs.weight: the llama3 divisor of each frequency (llm-facts §3). */
static void add_rope_freqs(build *b, uint32_t head_dim)
{
    const double factor = 8.0, low = 1.0, high = 4.0, orig = 8192.0;
    uint32_t half = head_dim / 2;
    float *div = ccai_xmalloc(half * sizeof *div);
    for (uint32_t i = 0; i < half; i++) {
        double freq = pow(b->spec->rope_base, -2.0 * i / head_dim);
        double wavelen = 2.0 * M_PI / freq;
        if (wavelen < orig / high) {
            div[i] = 1.0f;
        } else if (wavelen > orig / low) {
            div[i] = (float)factor;
        } else {
            double s = (orig / wavelen - low) / (high - low);
            div[i] = (float)(1.0 / ((1.0 - s) / factor + s));
        }
    }
    uint64_t ne[1] = {half};
    gguf_writer_add_tensor(b->w, "rope_freqs.weight", GGML_TYPE_F32, 1, ne, div,
                           half * sizeof *div);
    free(div);
}

static void add_tensors(build *b, uint32_t head_dim, uint32_t n_vocab)
{
    const llm_mkmodel_spec *sp = b->spec;
    uint64_t E = sp->n_embd, F = sp->n_ff;
    uint64_t Q = (uint64_t)sp->n_head * head_dim, KV = (uint64_t)sp->n_head_kv * head_dim;
    bool qwen2 = strcmp(sp->arch, "qwen2") == 0;
    char name[64];

    add_random(b, "token_embd.weight", T_TOKEN_EMBD, FILL_WEIGHT, 0, E, n_vocab);
    if (sp->llama3_rope)
        add_rope_freqs(b, head_dim);
    for (uint32_t l = 0; l < sp->n_layer; l++) {
#define T(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, l), name)
        add_random(b, T("attn_norm.weight"), T_VECTOR, FILL_NORM, l, E, 1);
        add_random(b, T("attn_q.weight"), T_MATRIX, FILL_WEIGHT, l, E, Q);
        add_random(b, T("attn_k.weight"), T_MATRIX, FILL_WEIGHT, l, E, KV);
        add_random(b, T("attn_v.weight"), T_ATTN_V, FILL_WEIGHT, l, E, KV);
        if (qwen2) {
            add_random(b, T("attn_q.bias"), T_VECTOR, FILL_BIAS, l, Q, 1);
            add_random(b, T("attn_k.bias"), T_VECTOR, FILL_BIAS, l, KV, 1);
            add_random(b, T("attn_v.bias"), T_VECTOR, FILL_BIAS, l, KV, 1);
        }
        add_random(b, T("attn_output.weight"), T_MATRIX, FILL_WEIGHT, l, Q, E);
        add_random(b, T("ffn_norm.weight"), T_VECTOR, FILL_NORM, l, E, 1);
        add_random(b, T("ffn_gate.weight"), T_MATRIX, FILL_WEIGHT, l, E, F);
        add_random(b, T("ffn_up.weight"), T_MATRIX, FILL_WEIGHT, l, E, F);
        add_random(b, T("ffn_down.weight"), T_FFN_DOWN, FILL_WEIGHT, l, F, E);
#undef T
    }
    add_random(b, "output_norm.weight", T_VECTOR, FILL_NORM, 0, E, 1);
    if (!sp->tied_embeddings)
        add_random(b, "output.weight", T_OUTPUT, FILL_WEIGHT, 0, E, n_vocab);
}

/* ---- tokenizer metadata ---- */

/* Copies every tokenizer.* key of src exactly (arrays as their raw bytes). */
static void copy_tokenizer(gguf_writer *w, const gguf_file *src)
{
    for (uint64_t i = 0; i < src->n_kv; i++) {
        const gguf_kv *kv = &src->kv[i];
        if (kv->key.len < 10 || memcmp(kv->key.ptr, "tokenizer.", 10) != 0)
            continue;
        char *key = gguf_strdup(kv->key);
        const gguf_value *v = &kv->val;
        switch (v->type) {
        case GGUF_TYPE_UINT8:
            gguf_writer_set_u8(w, key, (uint8_t)v->u);
            break;
        case GGUF_TYPE_INT8:
            gguf_writer_set_i8(w, key, (int8_t)v->i);
            break;
        case GGUF_TYPE_UINT16:
            gguf_writer_set_u16(w, key, (uint16_t)v->u);
            break;
        case GGUF_TYPE_INT16:
            gguf_writer_set_i16(w, key, (int16_t)v->i);
            break;
        case GGUF_TYPE_UINT32:
            gguf_writer_set_u32(w, key, (uint32_t)v->u);
            break;
        case GGUF_TYPE_INT32:
            gguf_writer_set_i32(w, key, (int32_t)v->i);
            break;
        case GGUF_TYPE_UINT64:
            gguf_writer_set_u64(w, key, v->u);
            break;
        case GGUF_TYPE_INT64:
            gguf_writer_set_i64(w, key, v->i);
            break;
        case GGUF_TYPE_FLOAT32:
            gguf_writer_set_f32(w, key, (float)v->f);
            break;
        case GGUF_TYPE_FLOAT64:
            gguf_writer_set_f64(w, key, v->f);
            break;
        case GGUF_TYPE_BOOL:
            gguf_writer_set_bool(w, key, v->u != 0);
            break;
        case GGUF_TYPE_STRING:
            gguf_writer_set_strn(w, key, v->s.ptr, (size_t)v->s.len);
            break;
        case GGUF_TYPE_ARRAY:
            gguf_writer_set_arr_raw(w, key, v->arr.elem_type, v->arr.count, v->arr.data,
                                    v->arr.data_len);
            break;
        }
        free(key);
    }
}

/* GPT-2's byte encoder: printable bytes stand for themselves, the others
 * map to U+0100 and up in byte order. Writes the UTF-8 text of byte b. */
static void byte_token(unsigned b, char out[4])
{
    unsigned cp = b;
    if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE))) {
        unsigned n = 0;
        for (unsigned x = 0; x < b; x++)
            if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE)))
                n++;
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

/* Merges in priority order; each part is a byte token or an earlier result
 * ("Ġ" is the encoded space). */
static const char *const SYN_MERGES[] = {
    "Ġ t", "h e", "Ġ a", "i n", "Ġt he", "e r", "o n", "Ġ s", "r e", "a t",
    "e n", "n d", "Ġa nd", "in g", "Ġ o", "o u", "Ġ w", "i s", "e d", "Ġ i",
};
#define N_SYN_MERGES (sizeof SYN_MERGES / sizeof SYN_MERGES[0])

/* Special tokens after the merges: text and token type. */
static const struct {
    const char *text;
    int32_t type;
} SYN_SPECIALS[] = {
    {"<|endoftext|>", 3}, {"<|im_start|>", 3}, {"<|im_end|>", 3},
    {"<think>", 4},       {"</think>", 4},
};
#define N_SYN_SPECIALS (sizeof SYN_SPECIALS / sizeof SYN_SPECIALS[0])
#define SYN_MIN_VOCAB (256 + N_SYN_MERGES + N_SYN_SPECIALS)

static const char SYN_TEMPLATE[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

static void synthetic_tokenizer(gguf_writer *w, const llm_mkmodel_spec *sp, uint32_t n_vocab)
{
    char **tokens = ccai_xcalloc(n_vocab, sizeof *tokens);
    int32_t *types = ccai_xcalloc(n_vocab, sizeof *types);
    uint32_t id = 0;
    for (; id < 256; id++) {
        char t[4];
        byte_token(id, t);
        tokens[id] = ccai_xstrdup(t);
        types[id] = 1;
    }
    for (size_t i = 0; i < N_SYN_MERGES; i++, id++) {
        const char *sp_ = strchr(SYN_MERGES[i], ' ');
        tokens[id] = ccai_xasprintf("%.*s%s", (int)(sp_ - SYN_MERGES[i]), SYN_MERGES[i], sp_ + 1);
        types[id] = 1;
    }
    uint32_t first_special = id;
    for (size_t i = 0; i < N_SYN_SPECIALS; i++, id++) {
        tokens[id] = ccai_xstrdup(SYN_SPECIALS[i].text);
        types[id] = SYN_SPECIALS[i].type;
    }
    for (; id < n_vocab; id++) {
        tokens[id] = ccai_xasprintf("[PAD%u]", id);
        types[id] = 5;
    }
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str(w, "tokenizer.ggml.pre",
                        strcmp(sp->arch, "qwen2") == 0 ? "qwen2" : "llama-bpe");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tokens, n_vocab);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, n_vocab);
    gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", SYN_MERGES, N_SYN_MERGES);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", first_special);     /* <|endoftext|> */
    gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", first_special + 2); /* <|im_end|> */
    gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", first_special);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false);
    gguf_writer_set_str(w, "tokenizer.chat_template", SYN_TEMPLATE);
    for (uint32_t i = 0; i < n_vocab; i++)
        free(tokens[i]);
    free(tokens);
    free(types);
}

/* ---- metadata and checks ---- */

static void set_arch_u32(gguf_writer *w, const char *arch, const char *key, uint32_t v)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    gguf_writer_set_u32(w, k, v);
}

static void set_arch_f32(gguf_writer *w, const char *arch, const char *key, float v)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    gguf_writer_set_f32(w, k, v);
}

static void set_metadata(gguf_writer *w, const llm_mkmodel_spec *sp, const ftype_info *ft,
                         uint32_t head_dim, uint32_t n_vocab)
{
    const char *a = sp->arch;
    gguf_writer_set_str(w, "general.architecture", a);
    gguf_writer_set_str(w, "general.name", sp->name ? sp->name : "ccai-mkmodel");
    gguf_writer_set_u32(w, "general.file_type", (uint32_t)ft->file_type);
    if (ft->main != GGML_TYPE_F32 && ft->main != GGML_TYPE_F16 && ft->main != GGML_TYPE_BF16)
        gguf_writer_set_u32(w, "general.quantization_version", 2);
    set_arch_u32(w, a, "context_length", sp->n_ctx);
    set_arch_u32(w, a, "embedding_length", sp->n_embd);
    set_arch_u32(w, a, "block_count", sp->n_layer);
    set_arch_u32(w, a, "feed_forward_length", sp->n_ff);
    set_arch_u32(w, a, "attention.head_count", sp->n_head);
    set_arch_u32(w, a, "attention.head_count_kv", sp->n_head_kv);
    if (head_dim != sp->n_embd / sp->n_head) {
        set_arch_u32(w, a, "attention.key_length", head_dim);
        set_arch_u32(w, a, "attention.value_length", head_dim);
    }
    set_arch_f32(w, a, "attention.layer_norm_rms_epsilon", sp->rms_eps);
    set_arch_f32(w, a, "rope.freq_base", sp->rope_base);
    set_arch_u32(w, a, "rope.dimension_count", head_dim);
    set_arch_u32(w, a, "vocab_size", n_vocab);
}

static ccai_code check_spec(const llm_mkmodel_spec *sp, const ftype_info **ft,
                            uint32_t *head_dim, ccai_err *err)
{
    if (!sp->arch || (strcmp(sp->arch, "llama") != 0 && strcmp(sp->arch, "qwen2") != 0))
        return ccai_fail(err, CCAI_ERR_ARG, "mkmodel: arch \"%s\" unsupported (expected llama "
                         "or qwen2)", sp->arch ? sp->arch : "(null)");
    if (!(*ft = find_ftype(sp->ftype)))
        return ccai_fail(err, CCAI_ERR_ARG,
                         "mkmodel: ftype \"%s\" unknown (expected F32, F16, BF16, Q8_0, Q4_0, "
                         "Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q4_K_M or Q5_K_M)",
                         sp->ftype ? sp->ftype : "(null)");
    const struct {
        const char *name;
        uint32_t v;
    } dims[] = {{"n_embd", sp->n_embd}, {"n_layer", sp->n_layer}, {"n_ff", sp->n_ff},
                {"n_head", sp->n_head}, {"n_head_kv", sp->n_head_kv}, {"n_ctx", sp->n_ctx}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        if (dims[i].v == 0)
            return ccai_fail(err, CCAI_ERR_ARG, "mkmodel: %s must be positive, found 0",
                             dims[i].name);
    if (sp->n_head % sp->n_head_kv != 0)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "mkmodel: n_head %u is not a multiple of n_head_kv %u", sp->n_head,
                         sp->n_head_kv);
    *head_dim = sp->head_dim;
    if (*head_dim == 0) {
        if (sp->n_embd % sp->n_head != 0)
            return ccai_fail(err, CCAI_ERR_ARG,
                             "mkmodel: n_embd %u is not a multiple of n_head %u (set head_dim)",
                             sp->n_embd, sp->n_head);
        *head_dim = sp->n_embd / sp->n_head;
    }
    if (*head_dim % 2 != 0)
        return ccai_fail(err, CCAI_ERR_ARG, "mkmodel: head_dim %u must be even (rotary pairs)",
                         *head_dim);
    if (!(sp->rope_base > 0.0f) || !(sp->rms_eps > 0.0f))
        return ccai_fail(err, CCAI_ERR_ARG,
                         "mkmodel: rope_base and rms_eps must be positive, found %g and %g",
                         (double)sp->rope_base, (double)sp->rms_eps);
    if (!sp->vocab_from && sp->n_vocab != 0 && sp->n_vocab < SYN_MIN_VOCAB)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "mkmodel: n_vocab %u is below the synthetic vocabulary's %zu tokens",
                         sp->n_vocab, (size_t)SYN_MIN_VOCAB);
    return CCAI_OK;
}

ccai_code llm_mkmodel_write(const llm_mkmodel_spec *sp, const char *path, ccai_err *err)
{
    const ftype_info *ft = NULL;
    uint32_t head_dim = 0, n_vocab = sp->n_vocab ? sp->n_vocab : (uint32_t)SYN_MIN_VOCAB;
    ccai_code rc = check_spec(sp, &ft, &head_dim, err);
    if (rc)
        return rc;
    gguf_file *vocab = NULL;
    if (sp->vocab_from) {
        const uint8_t *data;
        uint64_t count;
        if ((rc = gguf_open(sp->vocab_from, &vocab, err)) ||
            (rc = gguf_get_arr(vocab, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &data, &count,
                               err))) {
            ccai_err_prefix(err, "mkmodel: vocabulary from %s", sp->vocab_from);
            gguf_close(vocab);
            return rc;
        }
        if (count == 0 || count > UINT32_MAX) {
            gguf_close(vocab);
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "mkmodel: vocabulary from %s: %llu tokens, expected 1 to %u",
                             sp->vocab_from, (unsigned long long)count, UINT32_MAX);
        }
        n_vocab = (uint32_t)count;
    }

    gguf_writer *w = gguf_writer_new();
    set_metadata(w, sp, ft, head_dim, n_vocab);
    if (vocab)
        copy_tokenizer(w, vocab);
    else
        synthetic_tokenizer(w, sp, n_vocab);
    gguf_close(vocab);

    build b = {sp, ft, w, llm_pool_new(0)};
    add_tensors(&b, head_dim, n_vocab);
    llm_pool_free(b.pool);
    rc = gguf_writer_write(w, path, err);
    gguf_writer_free(w);
    if (rc)
        ccai_err_prefix(err, "mkmodel: %s", path);
    return rc;
}
