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
 * once into the weight type's activation format and splits the weight rows
 * across the pool; attention splits (token, head) pairs. Every buffer is
 * allocated in llm_ctx_new; evaluating allocates nothing. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "llm/model.h"
#include "llm/quant.h"

enum { MAX_BATCH = 64, DEFAULT_CTX = 4096 };

struct llm_ctx {
    const llm_model *m;
    const llm_kernels *k;
    llm_pool *pool;
    uint32_t n_ctx, pos, n_batch;
    /* KV cache, [n_layer][n_ctx][kv_dim] each. */
    float *k_cache, *v_cache;
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

typedef struct matmul_job {
    const llm_kernels *k;
    const llm_weight *W;
    const uint8_t *act;
    size_t act_stride;
    int B;
    float *y;
    size_t y_stride;
} matmul_job;

static void matmul_rows(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const matmul_job *j = arg;
    const llm_weight *W = j->W;
    const uint8_t *w = W->data + (size_t)begin * W->row_bytes;
    if (j->B > 1 && j->k->gemm) {
        j->k->gemm(W->type, W->cols, end - begin, w, W->row_bytes, j->B, j->act, j->act_stride,
                   j->y + begin, j->y_stride);
        return;
    }
    for (int b = 0; b < j->B; b++) {
        const uint8_t *a = j->act + (size_t)b * j->act_stride, *row = w;
        float *y = j->y + (size_t)b * j->y_stride;
        for (int64_t i = begin; i < end; i++, row += W->row_bytes)
            y[i] = j->k->vec_dot(W->type, W->cols, row, a);
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

/* y[b] = W x[b] for the B rows of x (W->cols values each); y rows are
 * y_stride floats apart. The input is quantized once, then the weight rows
 * are split across the pool. */
static void matmul(llm_ctx *c, float *y, size_t y_stride, const llm_weight *W, const float *x,
                   int B)
{
    llm_act fmt = llm_act_for(W->type);
    quantize_job qj = {c->k, fmt, x, W->cols, c->act, llm_act_row_bytes(fmt, W->cols)};
    if (B > 1)
        llm_pool_run(c->pool, B, quantize_rows, &qj);
    else
        quantize_rows(&qj, 0, 1, 0);
    matmul_job mj = {c->k, W, c->act, qj.act_stride, B, y, y_stride};
    llm_pool_run(c->pool, W->rows, matmul_rows, &mj);
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

/* The dot product of two float rows (attention's q.k). Eight partial sums:
 * the compiler keeps them in one vector register, which a single running sum
 * (whose order C fixes) would forbid. */
static float dot_f32(const float *a, const float *b, int n)
{
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = 0;
    for (; i < n; i++)
        s += a[i] * b[i];
    for (int j = 0; j < 8; j++)
        s += acc[j];
    return s;
}

/* y += a * x, in groups of eight for the same reason. */
static void axpy(float *restrict y, float a, const float *restrict x, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            y[i + j] += a * x[i + j];
    for (; i < n; i++)
        y[i] += a * x[i];
}

typedef struct attn_job {
    llm_ctx *c;
    const float *kc, *vc; /* this layer's cache */
    int B;
} attn_job;

/* One (token, head) pair per item: softmax(q k^T / sqrt(D)) v over the
 * positions 0..p of the token, with its kv head (grouped-query attention). */
static void attend(void *arg, int64_t begin, int64_t end, int thread)
{
    const attn_job *j = arg;
    const llm_ctx *c = j->c;
    const llm_hparams *hp = &c->m->hp;
    int D = (int)hp->head_dim, H = (int)hp->n_head, group = (int)(hp->n_head / hp->n_head_kv);
    size_t Q = llm_q_dim(hp), KV = llm_kv_dim(hp);
    float scale = 1.0f / sqrtf((float)D), *s = c->scores + (size_t)thread * c->n_ctx;
    for (int64_t item = begin; item < end; item++) {
        int b = (int)(item / H), h = (int)(item % H);
        size_t n_pos = c->pos + (size_t)b + 1, kvo = (size_t)(h / group) * D;
        const float *q = c->q + b * Q + (size_t)h * D;
        float mx = -INFINITY;
        for (size_t t = 0; t < n_pos; t++) {
            s[t] = dot_f32(q, j->kc + t * KV + kvo, D) * scale;
            mx = s[t] > mx ? s[t] : mx;
        }
        float sum = 0;
        for (size_t t = 0; t < n_pos; t++)
            sum += s[t] = expf(s[t] - mx);
        float *out = c->att + b * Q + (size_t)h * D;
        memset(out, 0, (size_t)D * sizeof *out);
        for (size_t t = 0; t < n_pos; t++)
            axpy(out, s[t] / sum, j->vc + t * KV + kvo, D);
    }
}

static void attention(llm_ctx *c, const float *kc, const float *vc, int B)
{
    attn_job j = {c, kc, vc, B};
    llm_pool_run(c->pool, (int64_t)B * c->m->hp.n_head, attend, &j);
}

static void residual(float *x, const float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += dx[i];
}

/* gate = silu(gate) * up. */
static void swiglu(float *gate, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* ---- The layers ----------------------------------------------------------- */

static void attention_block(llm_ctx *c, uint32_t il, int B)
{
    const llm_hparams *hp = &c->m->hp;
    const llm_layer *L = &c->m->layers[il];
    int E = (int)hp->n_embd, Q = (int)llm_q_dim(hp), KV = (int)llm_kv_dim(hp);
    size_t layer = (size_t)il * c->n_ctx * KV;
    float *kc = c->k_cache + layer, *vc = c->v_cache + layer;
    float *k = kc + (size_t)c->pos * KV, *v = vc + (size_t)c->pos * KV; /* this batch's rows */

    rmsnorm(c->xn, c->x, L->attn_norm, B, E, hp->rms_eps);
    matmul(c, c->q, Q, &L->wq, c->xn, B);
    matmul(c, k, KV, &L->wk, c->xn, B);
    matmul(c, v, KV, &L->wv, c->xn, B);
    add_bias(c->q, L->bq, B, Q, Q);
    add_bias(k, L->bk, B, KV, KV);
    add_bias(v, L->bv, B, KV, KV);
    rope(c, c->q, B, Q, (int)hp->n_head);
    rope(c, k, B, KV, (int)hp->n_head_kv);
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
    matmul(c, c->gate, F, &L->w_gate, c->xn, B);
    matmul(c, c->up, F, &L->w_up, c->xn, B);
    swiglu(c->gate, c->up, (size_t)B * F);
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
    void *bufs[] = {c->k_cache, c->v_cache, c->x,      c->xn,     c->proj, c->q,   c->att,
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
