/* The sampler chain: see sampler.h for the order of the stages.
 *
 * Working memory (a penalised copy of the logits, the candidate list and the
 * penalty's de-duplication stamps) is sized for the vocabulary once, in
 * llm_sampler_new. Before the sort, candidates whose probability relative to
 * the most likely token is below min_p are dropped: min-p would drop them
 * anyway (top-k and top-p always keep the most likely token, so the ratio it
 * is measured against does not change). Without min-p the cut is at e^-30 of
 * the top probability, which moves no probability mass a float can show,
 * and keeps a whole-vocabulary sort off the common path. */
#include "llm/sampler.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/rng.h"

typedef struct cand {
    float logit;
    int32_t id;
} cand;

struct llm_sampler {
    llm_sampler_params par;
    size_t n_vocab;
    float *work;      /* logits after the repeat penalty */
    cand *cand;       /* candidates, best first after selection */
    float *prob;      /* their probabilities */
    uint32_t *stamp;  /* stamp[id] == epoch: already penalised in this call */
    uint32_t epoch;
    uint64_t rng[4];  /* xoshiro256** state */
};

llm_sampler_params llm_sampler_params_default(void)
{
    return (llm_sampler_params){
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.9f,
        .min_p = 0.05f,
        .repeat_penalty = 1.1f,
        .repeat_last_n = 64,
        .seed = 0,
    };
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rand01(llm_sampler *s)
{
    return (double)(xoshiro_next(s->rng) >> 11) * 0x1.0p-53;
}

llm_sampler *llm_sampler_new(const llm_sampler_params *params, size_t n_vocab)
{
    llm_sampler *s = ccai_xcalloc(1, sizeof *s);
    s->par = params ? *params : llm_sampler_params_default();
    s->n_vocab = n_vocab ? n_vocab : 1;
    s->work = ccai_xmalloc(s->n_vocab * sizeof *s->work);
    s->cand = ccai_xmalloc(s->n_vocab * sizeof *s->cand);
    s->prob = ccai_xmalloc(s->n_vocab * sizeof *s->prob);
    s->stamp = ccai_xcalloc(s->n_vocab, sizeof *s->stamp);
    /* xoshiro's state from splitmix64 of the seed, as its authors advise:
     * never all zero, whatever the seed. */
    uint64_t x = s->par.seed;
    for (int i = 0; i < 4; i++)
        s->rng[i] = ccai_rng_next(&x);
    return s;
}

void llm_sampler_free(llm_sampler *s)
{
    if (!s)
        return;
    free(s->work);
    free(s->cand);
    free(s->prob);
    free(s->stamp);
    free(s);
}

/* Step 1: each distinct recent token is penalised once. */
static void repeat_penalty(llm_sampler *s, const int32_t *history, size_t n_history)
{
    float pen = s->par.repeat_penalty;
    if (pen == 1.0f || pen <= 0.0f || s->par.repeat_last_n == 0 || !history)
        return;
    size_t last = s->par.repeat_last_n < 0 ? n_history : (size_t)s->par.repeat_last_n;
    size_t from = n_history > last ? n_history - last : 0;
    if (++s->epoch == 0) { /* wrapped: old stamps could collide */
        memset(s->stamp, 0, s->n_vocab * sizeof *s->stamp);
        s->epoch = 1;
    }
    for (size_t i = from; i < n_history; i++) {
        int32_t t = history[i];
        if (t < 0 || (size_t)t >= s->n_vocab || s->stamp[t] == s->epoch)
            continue;
        s->stamp[t] = s->epoch;
        float *l = &s->work[t];
        *l = *l > 0.0f ? *l / pen : *l * pen;
    }
}

/* The first index of the largest non-NaN value (0 when there is none). */
static int32_t argmax(const float *v, size_t n)
{
    int32_t best = -1;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            continue;
        if (best < 0 || v[i] > v[best])
            best = (int32_t)i;
    }
    return best < 0 ? 0 : best;
}

/* Candidate order: larger logit first, then lower id. */
static bool better(cand a, cand b)
{
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

static int cmp_cand(const void *pa, const void *pb)
{
    cand a = *(const cand *)pa, b = *(const cand *)pb;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* Restores the min-heap (worst candidate at the root) below index i. */
static void sift_down(cand *h, size_t n, size_t i)
{
    for (;;) {
        size_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && better(h[worst], h[l]))
            worst = l;
        if (r < n && better(h[worst], h[r]))
            worst = r;
        if (worst == i)
            return;
        cand t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

/* Step 3: moves the k best of c[0..n) to c[0..k) (unordered); returns k. */
static size_t top_k(cand *c, size_t n, size_t k)
{
    if (k >= n)
        return n;
    for (size_t i = k / 2; i-- > 0;)
        sift_down(c, k, i);
    for (size_t i = k; i < n; i++) {
        if (better(c[i], c[0])) {
            c[0] = c[i];
            sift_down(c, k, 0);
        }
    }
    return k;
}

/* Candidates whose logit is at least cutoff, in c; returns their count. */
static size_t gather(const float *v, size_t n, float cutoff, cand *c)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] >= cutoff) /* false for NaN */
            c[m++] = (cand){v[i], (int32_t)i};
    return m;
}

/* Steps 4-7 on the sorted candidates c[0..n). */
static int32_t draw(llm_sampler *s, size_t n)
{
    const llm_sampler_params *par = &s->par;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        s->prob[i] = expf((s->cand[i].logit - s->cand[0].logit) / par->temperature);
        total += s->prob[i];
    }
    size_t keep = n;
    if (par->top_p < 1.0f) {
        double cum = 0, want = par->top_p * total;
        for (keep = 0; keep < n;) {
            cum += s->prob[keep++];
            if (cum >= want)
                break;
        }
    }
    if (par->min_p > 0.0f) {
        float floor_p = par->min_p * s->prob[0];
        size_t j = 1;
        while (j < keep && s->prob[j] >= floor_p)
            j++;
        keep = j;
    }
    double mass = 0;
    for (size_t i = 0; i < keep; i++)
        mass += s->prob[i];
    double u = rand01(s) * mass;
    for (size_t i = 0; i < keep; i++) {
        u -= s->prob[i];
        if (u < 0)
            return s->cand[i].id;
    }
    return s->cand[keep - 1].id; /* rounding left a sliver of u */
}

int32_t llm_sampler_sample(llm_sampler *s, const float *logits, const int32_t *history,
                           size_t n_history)
{
    memcpy(s->work, logits, s->n_vocab * sizeof *s->work);
    repeat_penalty(s, history, n_history);
    int32_t best = argmax(s->work, s->n_vocab);
    float lmax = s->work[best];
    if (s->par.temperature <= 0.0f || !isfinite(lmax))
        return best;

    float rel = s->par.min_p > 0.0f ? s->par.min_p : expf(-30.0f);
    /* A little slack: the min-p stage makes the exact decision. */
    float cutoff = lmax + s->par.temperature * (logf(rel > 1.0f ? 1.0f : rel) - 1e-3f);
    size_t n = gather(s->work, s->n_vocab, cutoff, s->cand);
    if (s->par.top_k > 0)
        n = top_k(s->cand, n, (size_t)s->par.top_k);
    qsort(s->cand, n, sizeof *s->cand, cmp_cand);
    return draw(s, n);
}
