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
#include <sys/mman.h>

#include "base/mem.h"
#include "llm/model.h"
#include "llm/quant.h"

/* MAX_BATCH: prompt tokens per pass through the weights. 128 rather than 64
 * saves the gemm half of its per-batch weight unpacking (8% less CPU per
 * prompt token measured on Qwen2-1.5B Q4_0, docs/bench.md); the largest
 * batch activation (128 x ffn_down's row, 1.4 MB) still fits a 2 MiB L2. */
enum { MAX_BATCH = 128, DEFAULT_CTX = 4096 };

/* Positions per block of the K cache. Stored as one row of n_ctx positions
 * per dimension, the rows a short context reads were 16 KiB apart (n_ctx
 * 4096): 256 rows of a layer on 256 pages, a TLB miss each, for a few
 * lines of each. In blocks of K_BLOCK positions, a block holds all of a
 * kv head's dimensions, rows K_BLOCK floats apart, and a kv head's blocks
 * follow one another in its region (struct llm_ctx), so attention reads
 * the region front to back. 32 positions (two runs of ATTN_VEC, what
 * attn_scores takes a pass) make a block 16 KiB read front to back in one
 * pass over its dimensions (with 128 the pass read two lines of every
 * 512-byte row, then came back for the next two: 20-35% slower from a
 * cold cache, docs/bench.md, "Attention"). */
enum { K_BLOCK = 32 };

struct llm_ctx {
    const llm_model *m;
    const llm_kernels *k;
    llm_pool *pool;
    uint32_t n_ctx, pos, n_batch;
    /* KV cache, one region per layer and kv head, the layers' regions one
     * after another: K [n_layer][n_head_kv][n_ctx / K_BLOCK][head_dim][K_BLOCK]
     * (transposed in blocks of positions, so that attention's scores run
     * along positions; n_ctx rounded up to whole blocks), V
     * [n_layer][n_head_kv][n_ctx][head_dim]. */
    float *k_cache, *v_cache;
    size_t k_head, v_head;   /* floats of one region */
    size_t k_bytes, v_bytes; /* their mappings (cache_alloc) */
    float *k_new, *v_new;    /* [B][kv_dim] the batch's keys and values before
                                they go to the cache */
    /* Per batch token b: row b of each. */
    float *x;        /* [B][n_embd] the residual stream */
    float *xn;       /* [B][n_embd] normalised input of a block */
    float *q;        /* [B][q_dim] */
    float *att;      /* [B][q_dim] attention output, heads side by side */
    float *proj;     /* [B][n_embd] a block's output projection */
    float *gate, *up; /* [B][n_ff] */
    float *rope_cos, *rope_sin; /* [B][n_rot/2], computed in double */
    float *scores;   /* per thread attn_scratch floats: attention weights, scaled queries */
    uint8_t *act;    /* [B] quantized activation rows */
    uint8_t *act2;   /* one more row: ffn_up's output, while it reads act */
    size_t act_cap;  /* bytes of one act row at most */
    float *logits;   /* [n_vocab] */
};

/* ---- The steps ------------------------------------------------------------ */

/* y = x / rms(x) * w for each of the B rows of length n. The sum of
 * squares runs in eight double lanes (i % 8), added up in a fixed order at
 * the end: one running sum was a chain of n dependent additions (~1.7 us
 * per row of 1536, 57 rows per decode token); the lanes vectorize and give
 * the same result on every machine and thread count. */
static void rmsnorm(float *y, const float *x, const float *w, int B, int n, float eps)
{
    for (int b = 0; b < B; b++, x += n, y += n) {
        double lane[8] = {0};
        int i = 0;
        for (; i + 8 <= n; i += 8)
            for (int l = 0; l < 8; l++)
                lane[l] += (double)x[i + l] * x[i + l];
        for (; i < n; i++)
            lane[i % 8] += (double)x[i] * x[i];
        double ss = ((lane[0] + lane[4]) + (lane[2] + lane[6])) +
                    ((lane[1] + lane[5]) + (lane[3] + lane[7]));
        float scale = (float)(1.0 / sqrt(ss / n + eps));
        for (i = 0; i < n; i++)
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

/* Bytes of its share of the next matrix a worker prefetches when it is
 * done with a decode matmul (prefetch_share): about what a core reads
 * while the caller does the serial steps between two matmuls (5-15 us at
 * 25-30 GB/s), well inside a 2 MiB L2. 128, 256 and 512 KiB all measured
 * about 3% faster than none when memory was fast, alike within the noise;
 * with the weights in 2 MiB pages, 256 KiB to 1 MiB +4-5% (docs/bench.md,
 * "Between the matmuls"). */
enum { PREFETCH_NEXT = 256 << 10 };

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

/* The matrices of the next matmul, for a decode token: when a thread has
 * done its part of a matmul it prefetches the start of its share of the
 * next one into its L2 (prefetch_share), so the memory keeps streaming
 * while the caller does the serial steps between the two (norms, rope,
 * the hand-off) instead of every thread starting the next matrix from
 * memory at once. */
typedef struct mm_next {
    int n;
    bool side_by_side; /* the run splits every matrix alike (ffn_up) */
    const llm_weight *W[MAX_FUSED];
} mm_next;

/* Prefetches rows [r0, r1) of W into L2, at most cap bytes; returns how
 * many bytes that was. */
static size_t prefetch_rows(const llm_weight *W, int64_t r0, int64_t r1, size_t cap)
{
    const uint8_t *p = W->data + (size_t)r0 * W->row_bytes;
    size_t bytes = (size_t)(r1 - r0) * W->row_bytes;
    bytes = bytes < cap ? bytes : cap;
    for (size_t o = 0; o < bytes; o += 64)
        __builtin_prefetch(p + o, 0, 2);
    return bytes;
}

/* The pool's `then` after a decode matmul (arg: the next one's mm_next):
 * a worker prefetches the first PREFETCH_NEXT bytes of its own share of
 * the next matrices (llm_pool_run_chunked's contiguous range of row
 * groups, or of each matrix's rows side by side) into its L2. The caller
 * does not: it goes on to the serial steps, and prefetch instructions
 * stall a core once its miss buffers are full. */
static void prefetch_share(const void *arg, int thread, int n_threads)
{
    const mm_next *nx = arg;
    size_t budget = PREFETCH_NEXT;
    if (thread == 0)
        return;
    if (nx->side_by_side) {
        for (int i = 0; i < nx->n; i++)
            prefetch_rows(nx->W[i], nx->W[i]->rows * thread / n_threads,
                          nx->W[i]->rows * (thread + 1) / n_threads, budget / (size_t)nx->n);
        return;
    }
    int64_t groups = 0, first = 0;
    for (int i = 0; i < nx->n; i++)
        groups += row_groups(nx->W[i]);
    int64_t g0 = groups * thread / n_threads, g1 = groups * (thread + 1) / n_threads;
    for (int i = 0; i < nx->n && budget > 0; i++) {
        int64_t n = row_groups(nx->W[i]);
        int64_t lo = g0 > first ? g0 : first, hi = g1 < first + n ? g1 : first + n;
        if (lo < hi) {
            int64_t r0 = (lo - first) * ROW_GROUP, r1 = (hi - first) * ROW_GROUP;
            budget -= prefetch_rows(nx->W[i], r0, r1 < nx->W[i]->rows ? r1 : nx->W[i]->rows,
                                    budget);
        }
        first += n;
    }
}

/* A chunked run of fn over n items, then each thread's prefetch of the
 * next matmul when there is one (decode only: a prompt's gemm is not
 * waiting for memory). */
static void run_then_prefetch(llm_ctx *c, int B, int64_t n, llm_pool_fn fn, void *arg,
                              const mm_next *next)
{
    bool pf = B == 1 && next;
    llm_pool_run_chunked_then(c->pool, n, chunk_size(c, n), fn, arg, pf ? prefetch_share : NULL,
                              next, pf ? sizeof *next : 0);
}

/* x (B rows of n values) into c->act in format fmt; returns the row stride. */
static size_t quantize(llm_ctx *c, llm_act fmt, const float *x, int64_t n, int B)
{
    quantize_job qj = {c->k, fmt, x, n, c->act, llm_act_row_bytes(fmt, n)};
    if (B > 1)
        llm_pool_run(c->pool, B, quantize_rows, &qj);
    else
        quantize_rows(&qj, 0, 1, 0);
    return qj.act_stride;
}

/* out[i].y = out[i].W a for the B activation rows at act (stride bytes
 * apart), all matrices' rows split across the pool in one run. */
static void matmul_run(llm_ctx *c, const uint8_t *act, size_t stride, int B, const mm_out *out,
                       int n_out, const mm_next *next)
{
    matmul_job mj = {c->k, act, stride, B, n_out, {{0}}};
    int64_t groups = 0;
    for (int i = 0; i < n_out; i++) {
        mj.out[i] = out[i];
        groups += row_groups(out[i].W);
    }
    run_then_prefetch(c, B, groups, matmul_rows, &mj, next);
}

/* out[i].y = out[i].W x for matrices that read the same input x (B rows of
 * W->cols values): the input is quantized once and all their rows are split
 * across the pool in one run (q/k/v, gate/up), which saves the pool a
 * hand-off per matrix. Matrices whose types want different activation
 * formats go one at a time. With one token, next names the matmul that
 * follows (NULL: none known). */
static void matmuls(llm_ctx *c, const float *x, int B, const mm_out *out, int n_out,
                    const mm_next *next)
{
    llm_act fmt = llm_act_for(out[0].W->type);
    for (int i = 1; i < n_out; i++) {
        if (llm_act_for(out[i].W->type) != fmt) {
            for (int m = 0; m < n_out; m++)
                matmuls(c, x, B, &out[m], 1, m == n_out - 1 ? next : NULL);
            return;
        }
    }
    size_t stride = quantize(c, fmt, x, out[0].W->cols, B);
    matmul_run(c, c->act, stride, B, out, n_out, next);
}

/* y[b] = W x[b] for the B rows of x (W->cols values each). */
static void matmul(llm_ctx *c, float *y, size_t y_stride, const llm_weight *W, const float *x,
                   int B, const mm_next *next)
{
    mm_out o = {W, y, y_stride};
    matmuls(c, x, B, &o, 1, next);
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
            c->rope_cos[b * half + i] = (float)cos(a);
            c->rope_sin[b * half + i] = (float)sin(a);
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
        const float *restrict cs = c->rope_cos + b * half, *restrict sn = c->rope_sin + b * half;
        for (int h = 0; h < n_heads; h++) {
            float *x = v + (size_t)b * stride + (size_t)h * D;
            if (neox) { /* two separate halves: plain vector loads */
                float *restrict lo = x, *restrict hi = x + half;
                for (int i = 0; i < half; i++) {
                    float x0 = lo[i], x1 = hi[i];
                    lo[i] = x0 * cs[i] - x1 * sn[i];
                    hi[i] = x0 * sn[i] + x1 * cs[i];
                }
            } else {
                for (int i = 0; i < half; i++) {
                    float x0 = x[2 * i], x1 = x[2 * i + 1];
                    x[2 * i] = x0 * cs[i] - x1 * sn[i];
                    x[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
                }
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

/* Attention for H query heads (1 <= H <= ATTN_MAX_HEADS) that share one kv
 * head, in one pass over its cache: each K and V line read serves all H
 * heads. H is a constant at every call (ATTN_INLINE), so its tests vanish.
 * The loops work on ATTN_VEC floats at a time (GCC's vector extension: one
 * AVX-512 register, two AVX2 ones, four SSE ones, as the clone compiles
 * it), with the H running sums in registers across the whole inner loop:
 * over the dimensions for a run of positions' scores, over the positions
 * for a run of dimensions' outputs. The earlier form (plain loops, four
 * dimensions or positions per pass, the sums going through memory, K in
 * blocks of 128) took 5.1 us for three heads over 168 positions (D = 128,
 * cache-resident) where this one takes 4.0-4.5, and a decode token's
 * attention over a cold cache 25-35% longer (docs/bench.md, "Attention");
 * at ~170 positions attention was 8% of a decode token of the 1.5B model.
 * Per head the arithmetic is the same whatever the grouping of heads, the
 * batch or the thread, so none of those changes a bit. */
enum { ATTN_MAX_HEADS = 3, ATTN_VEC = 16, ATTN_V_BLOCK = 32 };

/* attn_scores reads whole pairs of runs of a block's columns. */
_Static_assert(K_BLOCK % (2 * ATTN_VEC) == 0, "K_BLOCK: whole pairs of ATTN_VEC runs");

typedef float attn_vec __attribute__((vector_size(ATTN_VEC * sizeof(float))));

#if defined(__GNUC__)
#define ATTN_INLINE inline __attribute__((always_inline))
#else
#define ATTN_INLINE inline
#endif

/* Vector loads and stores at any float's alignment (macros: a function
 * passing the vector by value would change its ABI in the non-AVX-512
 * clones, which GCC warns about). */
#define ATTN_LOAD(v, p) memcpy(&(v), (p), sizeof(attn_vec))
#define ATTN_STORE(p, v) memcpy((p), &(v), sizeof(attn_vec))

/* Scores s_h[t] = qs_h . k_t for the n cached positions, h < H (qs_h: the
 * query already scaled by 1/sqrt(D), D floats each, D apart):
 * s[t] = sum over d, in order, of qs[d] k[d][t]. The K cache is stored
 * transposed in blocks of K_BLOCK positions: per block one row of K_BLOCK
 * positions per dimension (kt: the kv head's first row in block 0, rows
 * K_BLOCK floats apart, blocks `block` floats apart), so a register's
 * worth of positions is one load per dimension and the sums need no
 * horizontal add. Positions go in pairs of runs of ATTN_VEC, 2H running
 * sums, enough chains to hide the multiply-add's latency (one run, three
 * heads: 1.2x slower); K_BLOCK holds whole pairs, so up to 2 ATTN_VEC - 1
 * positions past n are computed from the block's columns past the last
 * position (zeros, or keys of an earlier sequence) and never read; s has
 * room for them (attn_stride). */
static ATTN_INLINE void attn_scores(int H, float *restrict s0, float *restrict s1,
                                    float *restrict s2, const float *restrict qs,
                                    const float *kt, size_t block, int D, size_t n)
{
    const float *q1 = qs + D, *q2 = q1 + D;
    for (size_t t0 = 0; t0 < n; t0 += K_BLOCK, kt += block) {
        size_t m = n - t0 < K_BLOCK ? n - t0 : K_BLOCK;
        for (size_t v = 0; v < m; v += 2 * ATTN_VEC) {
            attn_vec a = {0}, b = {0}, c = {0}, a2 = {0}, b2 = {0}, c2 = {0};
            const float *k = kt + v;
            for (int d = 0; d < D; d++, k += K_BLOCK) {
                attn_vec x, y;
                ATTN_LOAD(x, k);
                ATTN_LOAD(y, k + ATTN_VEC);
                a += qs[d] * x;
                a2 += qs[d] * y;
                if (H > 1) {
                    b += q1[d] * x;
                    b2 += q1[d] * y;
                }
                if (H > 2) {
                    c += q2[d] * x;
                    c2 += q2[d] * y;
                }
            }
            float *r = s0 + t0 + v;
            ATTN_STORE(r, a);
            ATTN_STORE(r + ATTN_VEC, a2);
            if (H > 1) {
                r = s1 + t0 + v;
                ATTN_STORE(r, b);
                ATTN_STORE(r + ATTN_VEC, b2);
            }
            if (H > 2) {
                r = s2 + t0 + v;
                ATTN_STORE(r, c);
                ATTN_STORE(r + ATTN_VEC, c2);
            }
        }
    }
}

/* s[t] = e^(s[t] - max s) / (their sum) for t < n. The maximum and the sum
 * are taken in ATTN_VEC lanes (lane i: positions i, i + ATTN_VEC, ...; the
 * lanes then added in order), not one position after another, which would
 * chain every add on the one before. */
static ATTN_INLINE void attn_softmax(float *s, size_t n)
{
    float mx[ATTN_VEC], sum[ATTN_VEC];
    for (int i = 0; i < ATTN_VEC; i++)
        mx[i] = -INFINITY, sum[i] = 0;
    size_t t = 0;
    for (; t + ATTN_VEC <= n; t += ATTN_VEC)
        for (int i = 0; i < ATTN_VEC; i++)
            mx[i] = s[t + i] > mx[i] ? s[t + i] : mx[i];
    for (int i = 0; t + (size_t)i < n; i++)
        mx[i] = s[t + i] > mx[i] ? s[t + i] : mx[i];
    float m = mx[0];
    for (int i = 1; i < ATTN_VEC; i++)
        m = mx[i] > m ? mx[i] : m;
    for (t = 0; t + ATTN_VEC <= n; t += ATTN_VEC)
        for (int i = 0; i < ATTN_VEC; i++) {
            s[t + i] = exp_fast(s[t + i] - m);
            sum[i] += s[t + i];
        }
    for (int i = 0; t + (size_t)i < n; i++) {
        s[t + i] = exp_fast(s[t + i] - m);
        sum[i] += s[t + i];
    }
    float total = 0;
    for (int i = 0; i < ATTN_VEC; i++)
        total += sum[i];
    float inv = 1.0f / total;
    for (t = 0; t < n; t++)
        s[t] *= inv;
}

/* out_h = sum over t < n, in order, of w_h[t] v_t for h < H (out_h D floats
 * apart, w_h the softmax weights), V rows `stride` floats apart: per run of
 * ATTN_VEC dimensions the H sums stay in registers over all positions;
 * dimensions past the last whole run one at a time. */
static ATTN_INLINE void attn_values(int H, float *restrict o0, float *restrict o1,
                                    float *restrict o2, const float *const w[ATTN_MAX_HEADS],
                                    const float *v, size_t stride, int D, size_t n)
{
    const float *w0 = w[0], *w1 = w[1], *w2 = w[2];
    for (int d = 0; d < D; d++) {
        o0[d] = 0;
        if (H > 1)
            o1[d] = 0;
        if (H > 2)
            o2[d] = 0;
    }
    /* Positions in blocks of ATTN_V_BLOCK, whose rows stay in L1 while
     * every run of dimensions goes over them; the sums go on from out. */
    for (size_t t0 = 0; t0 < n; t0 += ATTN_V_BLOCK) {
        size_t t1 = n - t0 < ATTN_V_BLOCK ? n : t0 + ATTN_V_BLOCK;
        int d = 0;
        /* Two runs of dimensions a pass, as attn_scores takes two of
         * positions. */
        for (; d + 2 * ATTN_VEC <= D; d += 2 * ATTN_VEC) {
            attn_vec a, b, c, a2, b2, c2;
            ATTN_LOAD(a, o0 + d);
            ATTN_LOAD(a2, o0 + d + ATTN_VEC);
            if (H > 1) {
                ATTN_LOAD(b, o1 + d);
                ATTN_LOAD(b2, o1 + d + ATTN_VEC);
            }
            if (H > 2) {
                ATTN_LOAD(c, o2 + d);
                ATTN_LOAD(c2, o2 + d + ATTN_VEC);
            }
            const float *row = v + t0 * stride + d;
            for (size_t t = t0; t < t1; t++, row += stride) {
                attn_vec x, y;
                ATTN_LOAD(x, row);
                ATTN_LOAD(y, row + ATTN_VEC);
                a += w0[t] * x;
                a2 += w0[t] * y;
                if (H > 1) {
                    b += w1[t] * x;
                    b2 += w1[t] * y;
                }
                if (H > 2) {
                    c += w2[t] * x;
                    c2 += w2[t] * y;
                }
            }
            ATTN_STORE(o0 + d, a);
            ATTN_STORE(o0 + d + ATTN_VEC, a2);
            if (H > 1) {
                ATTN_STORE(o1 + d, b);
                ATTN_STORE(o1 + d + ATTN_VEC, b2);
            }
            if (H > 2) {
                ATTN_STORE(o2 + d, c);
                ATTN_STORE(o2 + d + ATTN_VEC, c2);
            }
        }
        for (; d + ATTN_VEC <= D; d += ATTN_VEC) {
            attn_vec a, b, c;
            ATTN_LOAD(a, o0 + d);
            if (H > 1)
                ATTN_LOAD(b, o1 + d);
            if (H > 2)
                ATTN_LOAD(c, o2 + d);
            const float *row = v + t0 * stride + d;
            for (size_t t = t0; t < t1; t++, row += stride) {
                attn_vec x;
                ATTN_LOAD(x, row);
                a += w0[t] * x;
                if (H > 1)
                    b += w1[t] * x;
                if (H > 2)
                    c += w2[t] * x;
            }
            ATTN_STORE(o0 + d, a);
            if (H > 1)
                ATTN_STORE(o1 + d, b);
            if (H > 2)
                ATTN_STORE(o2 + d, c);
        }
        for (; d < D; d++) {
            float a = o0[d], b = H > 1 ? o1[d] : 0, c = H > 2 ? o2[d] : 0;
            for (size_t t = t0; t < t1; t++) {
                float x = v[t * stride + d];
                a += w0[t] * x;
                if (H > 1)
                    b += w1[t] * x;
                if (H > 2)
                    c += w2[t] * x;
            }
            o0[d] = a;
            if (H > 1)
                o1[d] = b;
            if (H > 2)
                o2[d] = c;
        }
    }
}

/* Floats of one head's scores in the scratch: every position of the
 * context, rounded up to whole pairs of runs of ATTN_VEC (attn_scores). */
static size_t attn_stride(uint32_t n_ctx)
{
    return ((size_t)n_ctx + 2 * ATTN_VEC - 1) / (2 * ATTN_VEC) * (2 * ATTN_VEC);
}

typedef struct attn_job {
    llm_ctx *c;
    const float *kc, *vc; /* this layer's cache */
    int B;
    int H;                /* query heads per item (attn_heads) */
} attn_job;

/* Query heads attended together: the most, up to ATTN_MAX_HEADS, that
 * divides the heads sharing a kv head. */
static int attn_heads(const llm_hparams *hp)
{
    int group = (int)(hp->n_head / hp->n_head_kv);
    for (int H = ATTN_MAX_HEADS; H > 1; H--)
        if (group % H == 0)
            return H;
    return 1;
}

/* Floats of a thread's attention scratch: ATTN_MAX_HEADS rows of scores
 * and as many scaled queries. */
static size_t attn_scratch(const llm_ctx *c)
{
    return ATTN_MAX_HEADS * (attn_stride(c->n_ctx) + c->m->hp.head_dim);
}

/* softmax(q k^T / sqrt(D)) v for H query heads h0 .. h0 + H - 1 of token b
 * over its positions 0..p, with their kv head (grouped-query attention).
 * s: the thread's scratch, H rows of scores then H scaled queries. */
static ATTN_INLINE void attend_heads(const attn_job *j, int H, int h0, int b, float *s)
{
    const llm_ctx *c = j->c;
    const llm_hparams *hp = &c->m->hp;
    int D = (int)hp->head_dim, group = (int)(hp->n_head / hp->n_head_kv);
    size_t Q = llm_q_dim(hp), N = attn_stride(c->n_ctx);
    size_t n_pos = c->pos + (size_t)b + 1, kvh = (size_t)(h0 / group);
    float scale = 1.0f / sqrtf((float)D), *s1 = s + N, *s2 = s1 + N;
    float *qs = s + ATTN_MAX_HEADS * N;
    const float *q = c->q + b * Q + (size_t)h0 * D;
    for (int i = 0; i < H * D; i++)
        qs[i] = q[i] * scale;
    attn_scores(H, s, s1, s2, qs, j->kc + kvh * c->k_head, (size_t)D * K_BLOCK, D, n_pos);
    attn_softmax(s, n_pos);
    if (H > 1)
        attn_softmax(s1, n_pos);
    if (H > 2)
        attn_softmax(s2, n_pos);
    const float *w[ATTN_MAX_HEADS] = {s, s1, s2};
    float *o = c->att + b * Q + (size_t)h0 * D;
    attn_values(H, o, o + D, o + 2 * D, w, j->vc + kvh * c->v_head, (size_t)D, D, n_pos);
}

/* One (head block, token) pair per item: j->H query heads of one kv head.
 * Items run block by block: a chunk of them then holds every token of a
 * few heads, so a causal prompt's cost (token b reads b + 1 positions)
 * spreads evenly over the chunks, and a kv head's cache rows stay hot in
 * the thread's cache. The blocking of the loops depends only on the
 * position, never on the batch or the head block, so neither changes a
 * bit. */
VECTOR_CLONES static void attend(void *arg, int64_t begin, int64_t end, int thread)
{
    const attn_job *j = arg;
    float *s = j->c->scores + (size_t)thread * attn_scratch(j->c);
    for (int64_t item = begin; item < end; item++) {
        int h0 = (int)(item / j->B) * j->H, b = (int)(item % j->B);
        if (j->H == 3)
            attend_heads(j, 3, h0, b, s);
        else if (j->H == 2)
            attend_heads(j, 2, h0, b, s);
        else
            attend_heads(j, 1, h0, b, s);
    }
}

static void attention(llm_ctx *c, const float *kc, const float *vc, int B)
{
    attn_job j = {c, kc, vc, B, attn_heads(&c->m->hp)};
    int64_t items = (int64_t)B * (c->m->hp.n_head / j.H);
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

/* The batch's keys and values (B rows of kv_dim, the kv heads side by
 * side) into the layer's cache regions (kc, vc: its first kv head's): kv
 * head h's dimension d of position p goes to K region h, block p /
 * K_BLOCK, row d, column p % K_BLOCK, and to V region h, row p, column d. */
static void store_kv(const llm_ctx *c, float *kc, float *vc, const float *k, const float *v,
                     int B)
{
    const llm_hparams *hp = &c->m->hp;
    size_t D = hp->head_dim, KV = llm_kv_dim(hp);
    for (int b = 0; b < B; b++) {
        size_t p = c->pos + (size_t)b;
        for (size_t h = 0; h < hp->n_head_kv; h++) {
            const float *kh = k + (size_t)b * KV + h * D;
            float *col = kc + h * c->k_head + (p / K_BLOCK) * D * K_BLOCK + p % K_BLOCK;
            for (size_t d = 0; d < D; d++)
                col[d * K_BLOCK] = kh[d];
            memcpy(vc + h * c->v_head + p * D, v + (size_t)b * KV + h * D, D * sizeof(float));
        }
    }
}

/* True when ffn_block can take the fused path for one token. */
static bool ffn_up_fusable(const llm_layer *L, int64_t F, int64_t *rows_per_item)
{
    llm_act in = llm_act_for(L->w_gate.type), out = llm_act_for(L->w_down.type);
    int64_t r = llm_act_block_size(out);
    r = r < ROW_GROUP ? ROW_GROUP : r;
    *rows_per_item = r;
    return in == llm_act_for(L->w_up.type) && F % r == 0 && L->w_down.cols == F;
}

static void attention_block(llm_ctx *c, uint32_t il, int B)
{
    const llm_hparams *hp = &c->m->hp;
    const llm_layer *L = &c->m->layers[il];
    int E = (int)hp->n_embd, Q = (int)llm_q_dim(hp), KV = (int)llm_kv_dim(hp);
    float *kc = c->k_cache + (size_t)il * hp->n_head_kv * c->k_head; /* the layer's regions */
    float *vc = c->v_cache + (size_t)il * hp->n_head_kv * c->v_head;
    float *k = c->k_new, *v = c->v_new;

    rmsnorm(c->xn, c->x, L->attn_norm, B, E, hp->rms_eps);
    matmuls(c, c->xn, B, (mm_out[]){{&L->wq, c->q, Q}, {&L->wk, k, KV}, {&L->wv, v, KV}}, 3,
            &(mm_next){1, false, {&L->wo}});
    add_bias(c->q, L->bq, B, Q, Q);
    add_bias(k, L->bk, B, KV, KV);
    add_bias(v, L->bv, B, KV, KV);
    rope(c, c->q, B, Q, (int)hp->n_head);
    rope(c, k, B, KV, (int)hp->n_head_kv);
    store_kv(c, kc, vc, k, v, B);
    attention(c, kc, vc, B);
    int64_t rpi;
    bool fused = B == 1 && ffn_up_fusable(L, (int64_t)hp->n_ff, &rpi); /* ffn_block's split */
    matmul(c, c->proj, E, &L->wo, c->att, B, &(mm_next){2, fused, {&L->w_gate, &L->w_up}});
    residual(c->x, c->proj, (size_t)B * E);
}

/* Decode's gate/up/swiglu in one run: an item is a block of the down
 * projection's activation (32 or 256 values; 16 for float activations);
 * the thread that takes it computes those rows of gate and up, their
 * swiglu, and quantizes them into that block of act2. The serial swiglu
 * and quantization between the two runs go away, and so does the
 * hand-over of the gate and up halves between threads (the fused run of
 * matmuls gives gate to one thread and up to the other). Bit for bit the
 * same: every row is the same gemv, swiglu is per value and the
 * activation blocks are quantized independently. */
typedef struct ffn_up_job {
    matmul_job mm; /* act_in, B = 1 */
    mm_out gate, up;
    llm_act fmt_out;
    uint8_t *act_out;
    int64_t rows_per_item;
    size_t item_bytes; /* act bytes of one item */
} ffn_up_job;

static void ffn_up_rows(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const ffn_up_job *j = arg;
    int64_t r0 = begin * j->rows_per_item, r1 = end * j->rows_per_item;
    matmul_part(&j->mm, &j->gate, r0, r1);
    matmul_part(&j->mm, &j->up, r0, r1);
    swiglu(j->gate.y + r0, j->up.y + r0, 1, (size_t)(r1 - r0));
    j->mm.k->quantize_act(j->fmt_out, j->gate.y + r0, j->act_out + (size_t)begin * j->item_bytes,
                          r1 - r0);
}


static void ffn_block(llm_ctx *c, uint32_t il, int B)
{
    const llm_hparams *hp = &c->m->hp;
    const llm_layer *L = &c->m->layers[il];
    int E = (int)hp->n_embd, F = (int)hp->n_ff;

    rmsnorm(c->xn, c->x, L->ffn_norm, B, E, hp->rms_eps);
    mm_next after;
    if (il + 1 < hp->n_layer)
        after = (mm_next){3, false, {&c->m->layers[il + 1].wq, &c->m->layers[il + 1].wk,
                              &c->m->layers[il + 1].wv}};
    else
        after = (mm_next){1, false, {&c->m->output}};
    int64_t rpi;
    if (B == 1 && ffn_up_fusable(L, F, &rpi)) {
        llm_act fmt_in = llm_act_for(L->w_gate.type), fmt_out = llm_act_for(L->w_down.type);
        size_t stride = quantize(c, fmt_in, c->xn, E, 1);
        ffn_up_job j = {{c->k, c->act, stride, 1, 0, {{0}}}, {&L->w_gate, c->gate, (size_t)F},
                        {&L->w_up, c->up, (size_t)F}, fmt_out, c->act2, rpi,
                        llm_act_row_bytes(fmt_out, rpi)};
        run_then_prefetch(c, 1, F / rpi, ffn_up_rows, &j, &(mm_next){1, false, {&L->w_down}});
        matmul_run(c, c->act2, llm_act_row_bytes(fmt_out, F), 1,
                   &(mm_out){&L->w_down, c->proj, (size_t)E}, 1, &after);
    } else {
        matmuls(c, c->xn, B, (mm_out[]){{&L->w_gate, c->gate, F}, {&L->w_up, c->up, F}}, 2,
                &(mm_next){1, false, {&L->w_down}});
        swiglu(c->gate, c->up, B, (size_t)F);
        matmul(c, c->proj, E, &L->w_down, c->gate, B, &after);
    }
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
        const llm_layer *L0 = &c->m->layers[0];
        matmul(c, c->logits, hp->n_vocab, &c->m->output, c->xn, 1,
               &(mm_next){3, false, {&L0->wq, &L0->wk, &L0->wv}});
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

/* Zeroed memory for the KV cache, asked for transparent huge pages
 * (MADV_HUGEPAGE, a hint; without them, 4 KiB pages). Attention reads each
 * region front to back, in 4 KiB pages a new page (and likely a TLB miss)
 * every 4 KiB of the 3 MB a layer holds at 1500 positions: 2 MiB pages
 * made the token 4% faster there, 1% at 152 positions (docs/bench.md,
 * "The KV cache's layout"). The price: a region of 2 MiB or more takes its first
 * page at its first position, so most of the cache is resident from the
 * first token (as llama.cpp, which clears its cache when it makes it). NULL
 * when the system refuses the mapping. */
static float *cache_alloc(size_t bytes)
{
    bytes += !bytes; /* mmap refuses 0 */
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

static void cache_free(float *p, size_t bytes)
{
    if (p)
        munmap(p, bytes + !bytes);
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
    size_t D = hp->head_dim;
    size_t k_head = ((size_t)n_ctx + K_BLOCK - 1) / K_BLOCK * D * K_BLOCK, v_head = n_ctx * D;
    size_t k_bytes = (size_t)hp->n_layer * hp->n_head_kv * k_head * sizeof(float);
    size_t v_bytes = cache * sizeof(float);
    float *kc = cache_alloc(k_bytes), *vc = cache_alloc(v_bytes);
    if (!kc || !vc) {
        cache_free(kc, k_bytes);
        cache_free(vc, v_bytes);
        return ccai_fail(err, CCAI_ERR_ARG,
                         "cannot allocate a KV cache of %zu MiB for %" PRIu32 " tokens",
                         2 * cache * sizeof(float) >> 20, n_ctx);
    }
    llm_ctx *c = ccai_xcalloc(1, sizeof *c);
    *c = (llm_ctx){.m = m, .k = k, .pool = pool, .n_ctx = n_ctx, .k_cache = kc, .v_cache = vc,
                   .k_head = k_head, .v_head = v_head, .k_bytes = k_bytes, .v_bytes = v_bytes};
    size_t B = c->n_batch = n_ctx < MAX_BATCH ? n_ctx : MAX_BATCH;
    size_t E = hp->n_embd, Q = llm_q_dim(hp), F = hp->n_ff, half = hp->n_rot / 2;
    c->x = floats(B * E);
    c->xn = floats(B * E);
    c->proj = floats(B * E);
    c->q = floats(B * Q);
    c->k_new = floats(B * KV);
    c->v_new = floats(B * KV);
    c->att = floats(B * Q);
    c->gate = floats(B * F);
    c->up = floats(B * F);
    c->rope_cos = floats(B * half);
    c->rope_sin = floats(B * half);
    c->scores = floats((size_t)llm_pool_size(pool) * attn_scratch(c));
    c->act_cap = max_act_row(m);
    c->act = ccai_xmalloc(B * c->act_cap);
    c->act2 = ccai_xmalloc(c->act_cap);
    c->logits = floats(hp->n_vocab);
    *out = c;
    return CCAI_OK;
}

void llm_ctx_free(llm_ctx *c)
{
    if (!c)
        return;
    cache_free(c->k_cache, c->k_bytes);
    cache_free(c->v_cache, c->v_bytes);
    void *bufs[] = {c->k_new, c->v_new, c->x,      c->xn,     c->proj, c->q,   c->att,
                    c->gate,    c->up,      c->scores, c->act,    c->logits, c->rope_cos,
                    c->rope_sin, c->act2};
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
