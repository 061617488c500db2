/* The engine's speed measured against the machine's own limits (`ccai bench`,
 * docs/bench.md).
 *
 * Two kinds of figures, measured in one run with one thread count:
 * - the model's speed: prompt processing (pp) and generation (gen) tokens/s,
 *   the median of a few repeats through the real forward pass;
 * - the machine's limits: memory read bandwidth (decode streams every weight
 *   once per token, llm-facts §6) and the peak rate of the dot-product
 *   instruction the kernels use (prefill is compute bound).
 * Dividing one by the other gives fractions that mean the same on any
 * machine: gen_bw_fraction = a generation run's tokens/s / (the bandwidth
 * measured around that run / bytes per token), the median over the runs;
 * pp_peak_fraction = (pp_tps x 2 x non-embedding parameters) / peak.
 *
 * The pure parts (bytes per token, parameter counts, the weight-type name)
 * depend only on the model (bench.c); the microbenchmarks (bench_machine.c)
 * take a pool and a "quick" flag (tiny buffers and loops: structure, not
 * speed, for tests). */
#ifndef CCAI_LLM_BENCH_H
#define CCAI_LLM_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "llm/model.h"
#include "llm/pool.h"

/* ---- The model's figures (pure) -------------------------------------------- */

/* Bytes read per generated token: every weight matrix of the layers and the
 * output matrix in full (the output is token_embd when tied), one row of
 * token_embd (the token's embedding), and the KV cache: K and V of every
 * layer over n_kv cached positions (f32). The norm and bias vectors (KiBs,
 * cache resident) are not counted. */
uint64_t llm_bench_bytes_per_token(const llm_model *m, double n_kv);

/* Parameters of the layers (matrices, norms, biases): the "non-embedding"
 * parameters (Kaplan et al.), which exclude token_embd and output. A prompt
 * token costs 2 ops (multiply, add) per such parameter; the output matrix
 * runs once per prompt (the last token's logits) and is not counted. */
uint64_t llm_bench_params_nonembd(const llm_model *m);

/* The dominant weight type: general.file_type's name when present and known
 * (llama.cpp's numbering: "Q4_0", "Q8_0", "Q4_K_M", ...), else the ggml type
 * holding the most bytes among the matrices. Static string. */
const char *llm_bench_weight_type(const llm_model *m);

/* ---- The machine's limits ---------------------------------------------------- */

typedef enum llm_peak_kind {
    LLM_PEAK_INT8, /* int8 dot products: quantized weights */
    LLM_PEAK_F32,  /* fp32 FMA: F32, F16, BF16 weights */
} llm_peak_kind;

/* The peak that bounds a weight type's kernels. */
llm_peak_kind llm_bench_peak_kind(uint32_t weight_type);

/* A measured limit and how it was measured ("avx512 loads",
 * "vpdpbusd zmm", ...: static strings). */
typedef struct llm_bench_limit {
    double value;       /* GB/s (1e9 bytes/s) or GOPS (1e9 ops/s) */
    const char *method;
} llm_bench_limit;

/* Memory read bandwidth with every thread of pool (NULL: one) reading its
 * own part of a buffer much larger than the last-level cache (1 GiB; quick:
 * 16 MiB) with the widest loads the CPU has; the best of a few passes.
 * Allocates and frees the buffer. Fails only when the buffer cannot be
 * allocated (CCAI_ERR_ARG). */
ccai_code llm_bench_bandwidth(llm_pool *pool, bool quick, llm_bench_limit *out, ccai_err *err);

/* The same, spread over time: open allocates and faults in the buffer, each
 * pass streams it once, close gives the best pass and frees the buffer.
 * llm_bench_run passes between its generation runs, so that the bound and
 * the speed come from the same stretch of time (the host's bandwidth can
 * change by half from one minute to the next on a shared machine). */
enum { LLM_BENCH_BW_PASSES = 5, LLM_BENCH_BW_SAMPLE = 2 };
/* Two samples around a generation run further apart than this ratio: the
 * memory changed speed during the run (this VM: ~35 vs 55-61 GB/s,
 * docs/bench.md, "Noise"), so its bound is not known; llm_bench_run does
 * not count such a run and runs another. */
#define LLM_BENCH_BW_MOVED 1.25
/* Whether samples a and b (GB/s) differ by more than LLM_BENCH_BW_MOVED;
 * false when either is not positive (not measured). */
bool llm_bench_bw_moved(double a, double b);
typedef struct llm_bench_bw llm_bench_bw;
ccai_code llm_bench_bw_open(llm_pool *pool, bool quick, llm_bench_bw **out, ccai_err *err);
/* Returns this pass's rate, GB/s. */
double llm_bench_bw_pass(llm_bench_bw *b);
llm_bench_limit llm_bench_bw_close(llm_bench_bw *b);

/* Peak ops/s of the instruction the kernels named `kernels` ("avx512",
 * "avx2", "scalar") use for a weight type of kind k, every thread of pool
 * running independent register-resident accumulator chains at once: int8,
 * vpdpbusd (AVX-512 VNNI) or pmaddubsw + pmaddwd (AVX-512 BW, AVX2);
 * fp32, FMA. One multiply-accumulate counts as 2 ops. The scalar kernels are
 * measured against the best the CPU has (what the machine could do). Best
 * of a few timed runs (quick: one short run). */
llm_bench_limit llm_bench_peak(llm_pool *pool, llm_peak_kind k, const char *kernels, bool quick);

/* Microseconds one hand-off to the pool costs: a chunked run of empty
 * chunks, 4 per thread, as the forward pass deals out a matmul; median of
 * batches of runs. 0 for a NULL or one-thread pool (runs are inline). */
double llm_bench_pool_run_us(llm_pool *pool, bool quick);

/* Resident memory of this process (VmRSS), in MiB; 0 when unknown. */
double llm_bench_rss_mb(void);

/* The median of v[0..n) (the mean of the middle two when n is even; 0 for
 * n <= 0). */
double llm_bench_median(const double *v, int n);

/* ---- A whole run -------------------------------------------------------------- */

typedef struct llm_bench_params {
    int n_threads;        /* 0 = online cores */
    int n_prompt;         /* tokens per prompt-processing run (-p) */
    int n_gen;            /* tokens per generation run (-n) */
    int n_depth;          /* tokens in the cache before a generation run's first (-d) */
    int repeats;          /* runs of each (-r); the median is reported */
    const char *kernels;  /* NULL / "auto", "scalar", ... */
    bool quick;           /* quick microbenchmarks (tests) */
    /* Tests: when set, each bandwidth sample around the generation runs
     * is what this returns for the measured one (a memory that changes
     * speed on cue). */
    double (*sample_hook)(void *arg, double measured);
    void *sample_arg;
} llm_bench_params;

/* Defaults: threads 0, -p 128, -n 64, -d 4, -r 3, auto kernels. */
llm_bench_params llm_bench_params_default(void);

typedef struct llm_bench_result {
    char *name;                      /* owned */
    const char *arch, *weight_type, *kernels;
    int threads, n_prompt, n_gen, n_depth, repeats;
    /* Generation runs made: `repeats` steady ones (the two bandwidth
     * samples around a run within LLM_BENCH_BW_MOVED of each other) and
     * one more for each run that was not, at most 2 x repeats in all.
     * gen_counted of them are steady; when none is, all are counted. */
    int gen_done, gen_counted;
    double *pp_runs;                 /* [repeats] tokens/s, owned */
    double *gen_runs;                /* [gen_done] tokens/s, owned */
    double pp_tps, gen_tps;          /* medians (gen: of the counted runs) */
    llm_bench_limit bandwidth;       /* GB/s */
    double kv_positions;             /* mean cached positions read per generated token */
    uint64_t weight_bytes_per_token;
    /* The bound of each generation run: the bandwidth sampled right before
     * and right after it (LLM_BENCH_BW_SAMPLE passes each time, the best
     * of them), the faster of the two samples: the best pass of the whole
     * bench can come from another minute, when this VM's bandwidth was up
     * to 2x higher or lower (docs/bench.md, "Two bounds"). Per run
     * [gen_done], owned: */
    double *gen_runs_bw;             /* GB/s */
    /* The samples themselves [gen_done + 1], owned: sample i was taken
     * right before run i (and after run i - 1), so gen_runs_bw[i] =
     * max(gen_bw_samples[i], gen_bw_samples[i + 1]). */
    double *gen_bw_samples;          /* GB/s */
    double *gen_runs_fraction;       /* gen_runs[i] / (gen_runs_bw[i] / bytes per token) */
    double gen_bound_tps;            /* median of the counted runs' bounds */
    double gen_bw_fraction;          /* median of the counted runs' fractions */
    /* Against the best pass of the whole bench (bandwidth): never higher. */
    double gen_best_bound_tps, gen_best_bw_fraction;
    uint64_t params_nonembd;
    double pp_ops_per_token, pp_gops;
    llm_bench_limit peak;            /* GOPS */
    double pp_peak_fraction;
    double pool_run_us;              /* one hand-off to the pool */
    double pool_runs_per_token;      /* hand-offs per generated token */
    double pool_overhead_fraction;   /* of a generated token's time */
    double rss_mb;
    double weights_huge_fraction;    /* gguf_huge_fraction of the model file */
} llm_bench_result;

/* Runs the benchmark on m (named `name` in the report): one untimed prompt
 * run (warm-up), `repeats` prompt runs of n_prompt tokens from an empty KV
 * cache, `repeats` generations of n_gen tokens after an n_depth-token
 * prompt (evaluated once, untimed; each run starts from it) with bandwidth
 * passes between them (and up to `repeats` more, one for each run during
 * which the bandwidth moved), then the peak and
 * pool microbenchmarks; tokens are seeded pseudo-random ids (no tokenizer,
 * no sampling). Fills *out (free with llm_bench_result_free). Errors: bad
 * parameters (CCAI_ERR_ARG), unknown kernels, a context or buffer that
 * cannot be allocated. */
ccai_code llm_bench_run(const llm_model *m, const char *name, const llm_bench_params *p,
                        llm_bench_result *out, ccai_err *err);
void llm_bench_result_free(llm_bench_result *r);

/* One JSON object with every figure (docs/bench.md); the caller frees. */
char *llm_bench_json(const llm_bench_result *r);
/* The human-readable table. */
void llm_bench_print(FILE *f, const llm_bench_result *r);

#endif
