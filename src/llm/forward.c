/* The forward pass of llama and qwen2 (docs/engine.md, "Forward"): tokens in,
 * next-token logits out, with the KV cache in between.
 *
 * Each layer reads like the paper: rmsnorm, the q/k/v matmuls (+ biases),
 * rope, attention over the cache, the output matmul and a residual; then
 * rmsnorm, the gate/up matmuls, swiglu, the down matmul and a residual. Tokens
 * go through in batches of up to MAX_BATCH: a matmul then multiplies every
 * weight row with all of the batch's activations at once (the kernel's gemm),
 * so a prompt streams the weights once per batch instead of once per token.
 * Batching never changes a result: gemm equals vec_dot exactly and every
 * other step is computed per token, so logits do not depend on how the
 * tokens were split.
 *
 * Speed lives in the kernels (llm/kernels): a matmul quantizes its input
 * once into the weight type's activation format and deals the weight rows
 * out to the pool in chunks; matrices reading the same input (q/k/v,
 * gate/up) share one quantization and one run; attention deals out (head,
 * token) pairs. What is measured and why: docs/bench.md. Every buffer is
 * allocated in llm_ctx_new; evaluating allocates nothing. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "llm/model.h"
#include "llm/quant.h"

/* MAX_BATCH: prompt tokens per pass through the weights. 128 rather than 64
 * saves the gemm half of its per-batch weight unpacking (8% less CPU per
 * prompt token measured on Qwen2-1.5B Q4_0, docs/bench.md); the largest
 * batch activation (128 x ffn_down's row, 1.4 MB) still fits a 2 MiB L2. */
enum { MAX_BATCH = 128, DEFAULT_CTX = 4096 };

struct llm_ctx {
    const llm_model *m;
    const llm_kernels *k;
    llm_pool *pool;
    uint32_t n_ctx, pos, n_batch;
    /* KV cache: K [n_layer][n_head_kv][head_dim][n_ctx] (transposed, so
     * that attention's scores run along positions), V [n_layer][n_ctx][kv_dim]. */
    float *k_cache, *v_cache;
    float *k_new;    /* [B][kv_dim] the batch's keys before they go to the cache */
    /* Per batch token b: row b of each. */
    float *x;        /* [B][n_embd] the residual stream */
    float *xn;       /* [B][n_embd] normalised input of a block */
    float *q;        /* [B][q_dim] */
    float *att;      /* [B][q_dim] attention output, heads side by side */
    float *proj;     /* [B][n_embd] a block's output projection */
    float *gate, *up; /* [B][n_ff] */
    double *rope_cos, *rope_sin; /* [B][n_rot/2] */
    float *scores;   /* [threads][n_ctx] attention weights */
    uint8_t *act;    /* [B] quantized activation rows */
    size_t act_cap;  /* bytes of one act row at most */
    float *logits;   /* [n_vocab] */
};

/* ---- The steps ------------------------------------------------------------ */

/* y = x / rms(x) * w for each of the B rows of length n. */
static void rmsnorm(float *y, const float *x, const float *w, int B, int n, float eps)
{
    for (int b = 0; b < B; b++, x += n, y += n) {
        double ss = 0;
        for (int i = 0; i < n; i++)
            ss += (double)x[i] * x[i];
        float scale = (float)(1.0 / sqrt(ss / n + eps));
        for (int i = 0; i < n; i++)
            y[i] = x[i] * scale * w[i];
    }
}

/* One matrix of a matmul: y[b] = W x[b], y rows y_stride floats apart. */
typedef struct mm_out {
    const llm_weight *W;
    float *y;
    size_t y_stride;
} mm_out;

/* Weight rows go to threads in groups of ROW_GROUP: 16 output floats are one
 * 64-byte cache line, so two threads never write the same line of y. Each
 * thread's share of the groups is cut into CHUNKS_PER_THREAD chunks, and a
 * thread that is done takes the others' remaining chunks
 * (llm_pool_run_chunked): on a shared machine a thread whose core is taken
 * for a while then does less, instead of everybody waiting for it at the
 * end of every matmul. More chunks measured slower (16 per thread: ~7%),
 * fewer balance worse (docs/bench.md). */
enum { ROW_GROUP = 16, MAX_FUSED = 3, CHUNKS_PER_THREAD = 4 };

/* Items per chunk when n items are dealt to the pool's threads. */
static int64_t chunk_size(const llm_ctx *c, int64_t n)
{
    int64_t chunks = (int64_t)llm_pool_size(c->pool) * CHUNKS_PER_THREAD;
    return (n + chunks - 1) / chunks;
}

static int64_t row_groups(const llm_weight *W)
{
    return (W->rows + ROW_GROUP - 1) / ROW_GROUP;
}

typedef struct matmul_job {
    const llm_kernels *k;
    const uint8_t *act;
    size_t act_stride;
    int B;
    int n_out;
    mm_out out[MAX_FUSED];
} matmul_job;

/* Rows [begin, end) of one matrix against the batch: the kernel's gemm (each
 * weight block read once for all B tokens), else per token its gemv (the
 * rows against one activation, sharing its loads) or one vec_dot per row. */
static void matmul_part(const matmul_job *j, const mm_out *o, int64_t begin, int64_t end)
{
    const llm_weight *W = o->W;
    const uint8_t *w = W->data + (size_t)begin * W->row_bytes;
    if (j->B > 1 && j->k->gemm) {
        j->k->gemm(W->type, W->cols, end - begin, w, W->row_bytes, j->B, j->act, j->act_stride,
                   o->y + begin, o->y_stride);
        return;
    }
    for (int b = 0; b < j->B; b++) {
        const uint8_t *a = j->act + (size_t)b * j->act_stride, *row = w;
        float *y = o->y + (size_t)b * o->y_stride;
        if (j->k->gemv) {
            j->k->gemv(W->type, W->cols, end - begin, w, W->row_bytes, a, y + begin);
            continue;
        }
        for (int64_t i = begin; i < end; i++, row += W->row_bytes)
            y[i] = j->k->vec_dot(W->type, W->cols, row, a);
    }
}

/* Items are row groups of the matrices laid end to end. */
static void matmul_rows(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const matmul_job *j = arg;
    int64_t first = 0;
    for (int i = 0; i < j->n_out; i++) {
        const mm_out *o = &j->out[i];
        int64_t n = row_groups(o->W), lo = begin > first ? begin : first;
        int64_t hi = end < first + n ? end : first + n;
        if (lo < hi) {
            int64_t r1 = (hi - first) * ROW_GROUP;
            matmul_part(j, o, (lo - first) * ROW_GROUP, r1 < o->W->rows ? r1 : o->W->rows);
        }
        first += n;
    }
}

typedef struct quantize_job {
    const llm_kernels *k;
    llm_act fmt;
    const float *x;
    int64_t n;
    uint8_t *act;
    size_t act_stride;
} quantize_job;

static void quantize_rows(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const quantize_job *j = arg;
    for (int64_t b = begin; b < end; b++)
        j->k->quantize_act(j->fmt, j->x + b * j->n, j->act + (size_t)b * j->act_stride, j->n);
}

/* out[i].y = out[i].W x for matrices that read the same input x (B rows of
 * W->cols values): the input is quantized once and all their rows are split
 * across the pool in one run (q/k/v, gate/up), which saves the pool a
 * hand-off per matrix. Matrices whose types want different activation
 * formats go one at a time. */
static void matmuls(llm_ctx *c, const float *x, int B, const mm_out *out, int n_out)
{
    llm_act fmt = llm_act_for(out[0].W->type);
    for (int i = 1; i < n_out; i++) {
        if (llm_act_for(out[i].W->type) != fmt) {
            for (int m = 0; m < n_out; m++)
                matmuls(c, x, B, &out[m], 1);
            return;
        }
    }
    int64_t cols = out[0].W->cols, groups = 0;
    quantize_job qj = {c->k, fmt, x, cols, c->act, llm_act_row_bytes(fmt, cols)};
    if (B > 1)
        llm_pool_run(c->pool, B, quantize_rows, &qj);
    else
        quantize_rows(&qj, 0, 1, 0);
    matmul_job mj = {c->k, c->act, qj.act_stride, B, n_out, {{0}}};
    for (int i = 0; i < n_out; i++) {
        mj.out[i] = out[i];
        groups += row_groups(out[i].W);
    }
    llm_pool_run_chunked(c->pool, groups, chunk_size(c, groups), matmul_rows, &mj);
}

/* y[b] = W x[b] for the B rows of x (W->cols values each). */
static void matmul(llm_ctx *c, float *y, size_t y_stride, const llm_weight *W, const float *x,
                   int B)
{
    mm_out o = {W, y, y_stride};
    matmuls(c, x, B, &o, 1);
}

static void add_bias(float *y, const float *bias, int B, int n, size_t stride)
{
    if (!bias)
        return;
    for (int b = 0; b < B; b++, y += stride)
        for (int i = 0; i < n; i++)
            y[i] += bias[i];
}

/* cos and sin of position * frequency for the batch's positions. */
static void rope_angles(llm_ctx *c, int B)
{
    int half = (int)c->m->hp.n_rot / 2;
    for (int b = 0; b < B; b++) {
        double p = (double)(c->pos + (uint32_t)b);
        for (int i = 0; i < half; i++) {
            double a = p * c->m->rope_inv_freq[i];
            c->rope_cos[b * half + i] = cos(a);
            c->rope_sin[b * half + i] = sin(a);
        }
    }
}

/* Rotates the first n_rot dims of each head: llama pairs (2i, 2i+1), qwen2
 * pairs (i, i + n_rot/2) (llm-facts §1). v has B rows, stride floats apart,
 * of n_heads heads. */
static void rope(const llm_ctx *c, float *v, int B, size_t stride, int n_heads)
{
    const llm_hparams *hp = &c->m->hp;
    int half = (int)hp->n_rot / 2, D = (int)hp->head_dim;
    bool neox = hp->arch == LLM_ARCH_QWEN2;
    for (int b = 0; b < B; b++) {
        const double *cs = c->rope_cos + b * half, *sn = c->rope_sin + b * half;
        for (int h = 0; h < n_heads; h++) {
            float *x = v + (size_t)b * stride + (size_t)h * D;
            for (int i = 0; i < half; i++) {
                int i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
                float x0 = x[i0], x1 = x[i1], co = (float)cs[i], si = (float)sn[i];
                x[i0] = x0 * co - x1 * si;
                x[i1] = x0 * si + x1 * co;
            }
        }
    }
}

/* Attention's and swiglu's inner loops are plain C written so the compiler
 * vectorizes them; on x86 they are also compiled for AVX-512 and AVX2 (+FMA)
 * and the loader picks the clone the CPU runs (one binary for all). A clone
 * is chosen once per process, and every (token, head) and every element
 * goes through the same code whatever the batch or thread split, so
 * batching still changes no bit. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VECTOR_CLONES
#endif

/* e^x without a library call or a branch, so loops over it vectorize:
 * x = k ln2 + r with |r| <= ln2/2, e^r by its Taylor polynomial of degree 6
 * (relative error < 3e-7, about expf's), times 2^k put in the exponent
 * bits. x is first clamped to [-87, 88], where 2^k stays a normal float;
 * e^-87 = 1.6e-38 stands in for anything smaller, which neither a softmax
 * weight nor silu can tell from 0. The clamp compares bit patterns: integer
 * compares cannot raise FP exceptions, so the compiler may turn them into
 * vector blends (float ones it must keep as branches). Below -87 a float's
 * pattern is above -87's as an unsigned integer; above 88, above 88's as a
 * signed one. */
static inline float exp_fast(float x)
{
    const uint32_t minus_87 = 0xC2AE0000u;
    const int32_t plus_88 = 0x42B00000;
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u = u > minus_87 ? minus_87 : u;
    int32_t i = (int32_t)u;
    i = i > plus_88 ? plus_88 : i;
    memcpy(&x, &i, sizeof x);
    const float round_shift = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float k = (x * 1.44269504f + round_shift) - round_shift;
    float r = x - k * 0.693359375f + k * 2.12194440e-4f; /* ln 2 in two parts (Cephes) */
    float p = 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)k + 127) * (1 << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* Scores s[t] = scale * q.k_t for the n cached positions of one kv head.
 * The K cache is stored transposed, one row of n_ctx positions per
 * dimension (kt: the head's first row, rows `stride` floats apart), so the
 * loops run along positions: s[t] += q[d] k[d][t] needs no horizontal sum
 * per position, which a row-wise dot product would. Four dimensions per
 * pass over s keep the loads of s and the stores to it to a quarter. */
static inline void attn_scores(float *restrict s, const float *q, float scale,
                               const float *kt, size_t stride, int D, size_t n)
{
    for (size_t t = 0; t < n; t++)
        s[t] = 0;
    int d = 0;
    for (; d + 4 <= D; d += 4) {
        const float *restrict k0 = kt + (size_t)d * stride, *restrict k1 = k0 + stride,
                    *restrict k2 = k1 + stride, *restrict k3 = k2 + stride;
        float q0 = q[d] * scale, q1 = q[d + 1] * scale, q2 = q[d + 2] * scale,
              q3 = q[d + 3] * scale;
        for (size_t t = 0; t < n; t++)
            s[t] += q0 * k0[t] + q1 * k1[t] + q2 * k2[t] + q3 * k3[t];
    }
    for (; d < D; d++) {
        const float *restrict k0 = kt + (size_t)d * stride;
        float q0 = q[d] * scale;
        for (size_t t = 0; t < n; t++)
            s[t] += q0 * k0[t];
    }
}

/* out = sum over t < n of w[t] * inv * v_t, V rows `stride` floats apart;
 * four positions per pass over out, for the same reason. */
static inline void attn_values(float *restrict out, const float *w, float inv, const float *v,
                               size_t stride, int D, size_t n)
{
    for (int d = 0; d < D; d++)
        out[d] = 0;
    size_t t = 0;
    for (; t + 4 <= n; t += 4) {
        const float *restrict v0 = v + t * stride, *restrict v1 = v0 + stride,
                    *restrict v2 = v1 + stride, *restrict v3 = v2 + stride;
        float w0 = w[t] * inv, w1 = w[t + 1] * inv, w2 = w[t + 2] * inv, w3 = w[t + 3] * inv;
        for (int d = 0; d < D; d++)
            out[d] += w0 * v0[d] + w1 * v1[d] + w2 * v2[d] + w3 * v3[d];
    }
    for (; t < n; t++) {
        const float *restrict v0 = v + t * stride;
        float w0 = w[t] * inv;
        for (int d = 0; d < D; d++)
            out[d] += w0 * v0[d];
    }
}

typedef struct attn_job {
    llm_ctx *c;
    const float *kc, *vc; /* this layer's cache */
    int B;
} attn_job;

/* One (head, token) pair per item: softmax(q k^T / sqrt(D)) v over the
 * positions 0..p of the token, with its kv head (grouped-query attention).
 * Items run head by head: a chunk of them then holds every token of a few
 * heads, so a causal prompt's cost (token b reads b + 1 positions) spreads
 * evenly over the chunks, and a kv head's cache rows stay hot in the
 * thread's cache. The blocking of both loops depends only on the position,
 * never on the batch, so batching changes no bit. */
VECTOR_CLONES static void attend(void *arg, int64_t begin, int64_t end, int thread)
{
    const attn_job *j = arg;
    const llm_ctx *c = j->c;
    const llm_hparams *hp = &c->m->hp;
    int D = (int)hp->head_dim, group = (int)(hp->n_head / hp->n_head_kv);
    size_t Q = llm_q_dim(hp), KV = llm_kv_dim(hp);
    float scale = 1.0f / sqrtf((float)D), *s = c->scores + (size_t)thread * c->n_ctx;
    for (int64_t item = begin; item < end; item++) {
        int h = (int)(item / j->B), b = (int)(item % j->B);
        size_t n_pos = c->pos + (size_t)b + 1, kvo = (size_t)(h / group) * D;
        attn_scores(s, c->q + b * Q + (size_t)h * D, scale, j->kc + kvo * c->n_ctx, c->n_ctx, D,
                    n_pos);
        float mx = -INFINITY, sum = 0;
        for (size_t t = 0; t < n_pos; t++)
            mx = s[t] > mx ? s[t] : mx;
        for (size_t t = 0; t < n_pos; t++) {
            s[t] = exp_fast(s[t] - mx);
            sum += s[t];
        }
        attn_values(c->att + b * Q + (size_t)h * D, s, 1.0f / sum, j->vc + kvo, KV, D, n_pos);
    }
}

static void attention(llm_ctx *c, const float *kc, const float *vc, int B)
{
    attn_job j = {c, kc, vc, B};
    int64_t items = (int64_t)B * c->m->hp.n_head;
    llm_pool_run_chunked(c->pool, items, chunk_size(c, items), attend, &j);
}

static void residual(float *x, const float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += dx[i];
}

/* gate = silu(gate) * up, for B rows of n. */
VECTOR_CLONES static void swiglu(float *restrict gate, const float *restrict up, int B, size_t n)
{
    for (int b = 0; b < B; b++, gate += n, up += n)
        for (size_t i = 0; i < n; i++)
            gate[i] = gate[i] / (1.0f + exp_fast(-gate[i])) * up[i];
}

/* ---- The layers ----------------------------------------------------------- */

/* The batch's keys (B rows of kv_dim) into the transposed K cache: dim i of
 * the kv heads side by side, position p, at i * n_ctx + p. */
static void store_keys(const llm_ctx *c, float *kc, const float *k, int B)
{
    size_t KV = llm_kv_dim(&c->m->hp);
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < KV; i++)
            kc[i * c->n_ctx + c->pos + (size_t)b] = k[(size_t)b * KV + i];
}

static void attention_block(llm_ctx *c, uint32_t il, int B)
{
    const llm_hparams *hp = &c->m->hp;
    const llm_layer *L = &c->m->layers[il];
    int E = (int)hp->n_embd, Q = (int)llm_q_dim(hp), KV = (int)llm_kv_dim(hp);
    size_t layer = (size_t)il * c->n_ctx * KV;
    float *kc = c->k_cache + layer, *vc = c->v_cache + layer;
    float *k = c->k_new, *v = vc + (size_t)c->pos * KV; /* v: this batch's rows of the cache */

    rmsnorm(c->xn, c->x, L->attn_norm, B, E, hp->rms_eps);
    matmuls(c, c->xn, B, (mm_out[]){{&L->wq, c->q, Q}, {&L->wk, k, KV}, {&L->wv, v, KV}}, 3);
    add_bias(c->q, L->bq, B, Q, Q);
    add_bias(k, L->bk, B, KV, KV);
    add_bias(v, L->bv, B, KV, KV);
    rope(c, c->q, B, Q, (int)hp->n_head);
    rope(c, k, B, KV, (int)hp->n_head_kv);
    store_keys(c, kc, k, B);
    attention(c, kc, vc, B);
    matmul(c, c->proj, E, &L->wo, c->att, B);
    residual(c->x, c->proj, (size_t)B * E);
}

static void ffn_block(llm_ctx *c, uint32_t il, int B)
{
    const llm_hparams *hp = &c->m->hp;
    const llm_layer *L = &c->m->layers[il];
    int E = (int)hp->n_embd, F = (int)hp->n_ff;

    rmsnorm(c->xn, c->x, L->ffn_norm, B, E, hp->rms_eps);
    matmuls(c, c->xn, B, (mm_out[]){{&L->w_gate, c->gate, F}, {&L->w_up, c->up, F}}, 2);
    swiglu(c->gate, c->up, B, (size_t)F);
    matmul(c, c->proj, E, &L->w_down, c->gate, B);
    residual(c->x, c->proj, (size_t)B * E);
}

static void embed(llm_ctx *c, const int32_t *tokens, int B)
{
    const llm_weight *T = &c->m->tok_embd;
    for (int b = 0; b < B; b++)
        llm_dequantize_row(T->type, T->data + (size_t)tokens[b] * T->row_bytes,
                           c->x + (size_t)b * T->cols, T->cols);
}

/* Tokens at positions pos..pos+B-1; the logits of the last when asked. */
static void forward_batch(llm_ctx *c, const int32_t *tokens, int B, bool want_logits)
{
    const llm_hparams *hp = &c->m->hp;
    embed(c, tokens, B);
    rope_angles(c, B);
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        attention_block(c, il, B);
        ffn_block(c, il, B);
    }
    c->pos += (uint32_t)B;
    if (want_logits) {
        const float *last = c->x + (size_t)(B - 1) * hp->n_embd;
        rmsnorm(c->xn, last, c->m->output_norm, 1, (int)hp->n_embd, hp->rms_eps);
        matmul(c, c->logits, hp->n_vocab, &c->m->output, c->xn, 1);
    }
}

/* ---- Context -------------------------------------------------------------- */

/* The largest activation row any matmul of the model quantizes. */
static size_t max_act_row(const llm_model *m)
{
    const llm_weight *all[] = {&m->output};
    size_t best = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        size_t r = llm_act_row_bytes(llm_act_for(all[i]->type), all[i]->cols);
        best = r > best ? r : best;
    }
    for (uint32_t il = 0; il < m->hp.n_layer; il++) {
        const llm_layer *L = &m->layers[il];
        const llm_weight *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
            size_t r = llm_act_row_bytes(llm_act_for(w[i]->type), w[i]->cols);
            best = r > best ? r : best;
        }
    }
    return best;
}

static void *floats(size_t n)
{
    return ccai_xmalloc(n * sizeof(float));
}

ccai_code llm_ctx_new(const llm_model *m, uint32_t n_ctx, llm_pool *pool, const llm_kernels *k,
                      llm_ctx **out, ccai_err *err)
{
    *out = NULL;
    const llm_hparams *hp = &m->hp;
    if (!k && !(k = llm_kernels_get(NULL, err)))
        return err ? err->code : CCAI_ERR_UNSUPPORTED;
    if (n_ctx == 0)
        n_ctx = hp->n_ctx_train && hp->n_ctx_train < DEFAULT_CTX ? hp->n_ctx_train : DEFAULT_CTX;
    size_t KV = llm_kv_dim(hp), cache = (size_t)hp->n_layer * n_ctx * KV;
    if (n_ctx > (1u << 24) || cache / n_ctx / KV != hp->n_layer)
        return ccai_fail(err, CCAI_ERR_ARG, "context of %" PRIu32 " tokens: too large", n_ctx);
    float *kc = calloc(cache, sizeof(float)), *vc = calloc(cache, sizeof(float));
    if (!kc || !vc) {
        free(kc);
        free(vc);
        return ccai_fail(err, CCAI_ERR_ARG,
                         "cannot allocate a KV cache of %zu MiB for %" PRIu32 " tokens",
                         2 * cache * sizeof(float) >> 20, n_ctx);
    }
    llm_ctx *c = ccai_xcalloc(1, sizeof *c);
    *c = (llm_ctx){.m = m, .k = k, .pool = pool, .n_ctx = n_ctx, .k_cache = kc, .v_cache = vc};
    size_t B = c->n_batch = n_ctx < MAX_BATCH ? n_ctx : MAX_BATCH;
    size_t E = hp->n_embd, Q = llm_q_dim(hp), F = hp->n_ff, half = hp->n_rot / 2;
    c->x = floats(B * E);
    c->xn = floats(B * E);
    c->proj = floats(B * E);
    c->q = floats(B * Q);
    c->k_new = floats(B * KV);
    c->att = floats(B * Q);
    c->gate = floats(B * F);
    c->up = floats(B * F);
    c->rope_cos = ccai_xmalloc(B * half * sizeof(double));
    c->rope_sin = ccai_xmalloc(B * half * sizeof(double));
    c->scores = floats((size_t)llm_pool_size(pool) * n_ctx);
    c->act_cap = max_act_row(m);
    c->act = ccai_xmalloc(B * c->act_cap);
    c->logits = floats(hp->n_vocab);
    *out = c;
    return CCAI_OK;
}

void llm_ctx_free(llm_ctx *c)
{
    if (!c)
        return;
    void *bufs[] = {c->k_new, c->k_cache, c->v_cache, c->x,      c->xn,     c->proj, c->q,   c->att,
                    c->gate,    c->up,      c->scores, c->act,    c->logits, c->rope_cos,
                    c->rope_sin};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(c);
}

void llm_ctx_set_kernels(llm_ctx *c, const llm_kernels *k)
{
    if (k)
        c->k = k;
}

void llm_ctx_reset(llm_ctx *c)
{
    c->pos = 0;
}

void llm_ctx_rewind(llm_ctx *c, uint32_t pos)
{
    if (pos < c->pos)
        c->pos = pos;
}

uint32_t llm_ctx_pos(const llm_ctx *c)
{
    return c->pos;
}

uint32_t llm_ctx_n_ctx(const llm_ctx *c)
{
    return c->n_ctx;
}

ccai_code llm_ctx_eval(llm_ctx *c, const int32_t *tokens, size_t n, const float **logits,
                       ccai_err *err)
{
    if (logits)
        *logits = NULL;
    if (n == 0)
        return ccai_fail(err, CCAI_ERR_ARG, "no tokens to evaluate");
    uint32_t n_vocab = c->m->hp.n_vocab;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= n_vocab)
            return ccai_fail(err, CCAI_ERR_ARG,
                             "token %" PRId32 " at index %zu out of range (n_vocab %" PRIu32 ")",
                             tokens[i], i, n_vocab);
    if (n > c->n_ctx - c->pos)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "context full (n_ctx %" PRIu32 "): %" PRIu32 " cached + %zu new tokens",
                         c->n_ctx, c->pos, n);
    for (size_t done = 0; done < n;) {
        size_t B = n - done < c->n_batch ? n - done : c->n_batch;
        forward_batch(c, tokens + done, (int)B, done + B == n);
        done += B;
    }
    if (logits)
        *logits = c->logits;
    return CCAI_OK;
}
