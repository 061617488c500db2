/* The sample stage: picks the next token from the logits of the forward pass.
 *
 * The chain, in order (docs/engine.md, "The sampler"):
 *   1. repeat penalty over the distinct tokens among the last repeat_last_n of
 *      the history: a positive logit is divided by repeat_penalty, a negative
 *      one multiplied (so the token always becomes less likely);
 *   2. temperature <= 0: greedy argmax (the lowest id wins a tie); done;
 *   3. top-k: keep the k largest logits (ties broken by the lower id);
 *   4. softmax of logit / temperature over what is left;
 *   5. top-p: keep the smallest prefix (most likely first) whose probability
 *      mass reaches top_p;
 *   6. min-p: drop tokens whose probability is below min_p times the largest;
 *   7. draw from the renormalised rest with the sampler's own PRNG
 *      (xoshiro256** seeded through splitmix64 from `seed`): the same seed,
 *      logits and history give the same token sequence on every machine.
 * A stage whose parameter disables it (top_k <= 0, top_p >= 1, min_p <= 0,
 * repeat_penalty == 1 or repeat_last_n == 0) is skipped. The caller's logits
 * are never modified. */
#ifndef CCAI_LLM_SAMPLER_H
#define CCAI_LLM_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

typedef struct llm_sampler_params {
    float temperature;    /* <= 0: greedy */
    int top_k;            /* <= 0: all tokens */
    float top_p;          /* >= 1: off */
    float min_p;          /* <= 0: off */
    float repeat_penalty; /* 1: off */
    int repeat_last_n;    /* history tokens penalised; 0: off, < 0: all of it */
    uint64_t seed;
} llm_sampler_params;

/* The defaults (Ollama's and llama.cpp's usual values): temperature 0.8,
 * top_k 40, top_p 0.9, min_p 0.05, repeat_penalty 1.1 over the last 64
 * tokens, seed 0. A server that wants a fresh draw per request must pick a
 * random seed itself. */
llm_sampler_params llm_sampler_params_default(void);

typedef struct llm_sampler llm_sampler;

/* A sampler for a vocabulary of n_vocab (> 0) tokens; all working memory is
 * allocated here, none per call. Free with llm_sampler_free. */
llm_sampler *llm_sampler_new(const llm_sampler_params *params, size_t n_vocab);
void llm_sampler_free(llm_sampler *s);

/* The next token for logits[n_vocab]. history holds the tokens so far (prompt
 * and generated, oldest first; may be NULL when n_history is 0); ids outside
 * the vocabulary are ignored by the penalty. NaN logits never win. */
int32_t llm_sampler_sample(llm_sampler *s, const float *logits, const int32_t *history,
                           size_t n_history);

#endif
