/* The benchmark library (bench.h, docs/bench.md): the model's figures
 * (bytes per token, parameters, the weight-type name), a whole `ccai bench`
 * run and its reports. The machine-limit microbenchmarks are in
 * bench_machine.c. */
#include "llm/bench.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "llm/ggml_types.h"
#include "llm/kernels/kernels.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double llm_bench_median(const double *v, int n)
{
    if (n <= 0)
        return 0;
    double *s = ccai_xmemdup(v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

/* ---- The model's figures --------------------------------------------------------- */

static uint64_t matrix_bytes(const llm_weight *w)
{
    return (uint64_t)w->rows * w->row_bytes;
}

/* The seven matrices of a layer, in forward order. */
static void layer_matrices(const llm_layer *L, const llm_weight *out[7])
{
    const llm_weight *w[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    memcpy(out, w, sizeof w);
}

uint64_t llm_bench_bytes_per_token(const llm_model *m, double n_kv)
{
    const llm_hparams *hp = &m->hp;
    uint64_t bytes = matrix_bytes(&m->output) + m->tok_embd.row_bytes;
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        const llm_weight *w[7];
        layer_matrices(&m->layers[il], w);
        for (int i = 0; i < 7; i++)
            bytes += matrix_bytes(w[i]);
    }
    double kv = 2.0 * hp->n_layer * llm_kv_dim(hp) * sizeof(float) * (n_kv > 0 ? n_kv : 0);
    return bytes + (uint64_t)llround(kv);
}

uint64_t llm_bench_params_nonembd(const llm_model *m)
{
    const llm_hparams *hp = &m->hp;
    uint64_t n = 0;
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        const llm_layer *L = &m->layers[il];
        const llm_weight *w[7];
        layer_matrices(L, w);
        for (int i = 0; i < 7; i++)
            n += (uint64_t)w[i]->rows * (uint64_t)w[i]->cols;
        n += 2ull * hp->n_embd; /* attn_norm, ffn_norm */
        if (L->bq)
            n += llm_q_dim(hp);
        if (L->bk)
            n += llm_kv_dim(hp);
        if (L->bv)
            n += llm_kv_dim(hp);
    }
    return n;
}

/* The ggml type holding the most bytes among the layers' matrices, plus
 * token_embd and output when `all`. */
static uint32_t dominant_type(const llm_model *m, bool all)
{
    enum { N_TYPES = 64 };
    uint64_t by_type[N_TYPES] = {0};
    const llm_weight *extra[] = {&m->tok_embd, &m->output};
    for (size_t i = 0; all && i < 2; i++) {
        if (i == 1 && m->hp.tied_embeddings)
            break;
        if (extra[i]->type < N_TYPES)
            by_type[extra[i]->type] += matrix_bytes(extra[i]);
    }
    for (uint32_t il = 0; il < m->hp.n_layer; il++) {
        const llm_weight *w[7];
        layer_matrices(&m->layers[il], w);
        for (int i = 0; i < 7; i++)
            if (w[i]->type < N_TYPES)
                by_type[w[i]->type] += matrix_bytes(w[i]);
    }
    uint32_t best = 0;
    for (uint32_t t = 1; t < N_TYPES; t++)
        if (by_type[t] > by_type[best])
            best = t;
    return best;
}

/* general.file_type (llama.cpp's llama_ftype) to its name. */
static const char *file_type_name(uint32_t ft)
{
    static const struct {
        uint32_t id;
        const char *name;
    } NAMES[] = {
        {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
        {8, "Q5_0"},    {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
        {13, "Q3_K_L"}, {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
        {18, "Q6_K"},   {32, "BF16"},
    };
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (NAMES[i].id == ft)
            return NAMES[i].name;
    return NULL;
}

const char *llm_bench_weight_type(const llm_model *m)
{
    uint32_t ft;
    const char *name;
    if (gguf_get_u32(m->file, "general.file_type", &ft, NULL) == CCAI_OK &&
        (name = file_type_name(ft)))
        return name;
    return ggml_type_name(dominant_type(m, true));
}

llm_peak_kind llm_bench_peak_kind(uint32_t weight_type)
{
    switch (weight_type) {
    case GGML_TYPE_F32:
    case GGML_TYPE_F16:
    case GGML_TYPE_BF16:
        return LLM_PEAK_F32;
    default:
        return LLM_PEAK_INT8;
    }
}

/* ---- A whole run ---------------------------------------------------------------------- */

llm_bench_params llm_bench_params_default(void)
{
    return (llm_bench_params){.n_prompt = 128, .n_gen = 64, .n_depth = 4, .repeats = 3};
}

/* Seeded pseudo-random token ids (xorshift64): the same run every time. */
static void fill_tokens(int32_t *t, size_t n, uint32_t n_vocab)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        t[i] = (int32_t)(s % n_vocab);
    }
}

/* Tokens/s of one prompt run (tokens[0..n) from an empty cache). */
static ccai_code time_prompt(llm_ctx *c, const int32_t *tokens, int n, double *tps, ccai_err *err)
{
    llm_ctx_reset(c);
    double t0 = now_s();
    ccai_code rc = llm_ctx_eval(c, tokens, (size_t)n, NULL, err);
    *tps = n / (now_s() - t0);
    return rc;
}

/* Tokens/s of n one-token evaluations after the depth tokens already in
 * the cache (what comes after them is dropped first); *start = the
 * position of the first; *runs += the pool hand-offs they made. */
static ccai_code time_gen(llm_ctx *c, llm_pool *pool, const int32_t *tokens, int depth, int n,
                          double *tps, uint32_t *start, uint64_t *runs, ccai_err *err)
{
    llm_ctx_rewind(c, (uint32_t)depth);
    *start = llm_ctx_pos(c);
    ccai_code rc = CCAI_OK;
    uint64_t r0 = llm_pool_runs(pool);
    double t0 = now_s();
    for (int i = 0; i < n && !rc; i++)
        rc = llm_ctx_eval(c, &tokens[depth + i], 1, NULL, err);
    *tps = n / (now_s() - t0);
    *runs += llm_pool_runs(pool) - r0;
    return rc;
}

static ccai_code check_params(const llm_bench_params *p, ccai_err *err)
{
    if (p->n_threads < 0 || p->n_threads > 1024)
        return ccai_fail(err, CCAI_ERR_ARG, "bench: threads %d out of range (0..1024)",
                         p->n_threads);
    if (p->n_prompt < 1 || p->n_prompt > 65536 || p->n_gen < 1 || p->n_gen > 65536)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "bench: -p %d / -n %d out of range (1..65536 tokens each)", p->n_prompt,
                         p->n_gen);
    if (p->n_depth < 1 || p->n_depth > 65536)
        return ccai_fail(err, CCAI_ERR_ARG, "bench: -d %d out of range (1..65536 tokens)",
                         p->n_depth);
    if (p->repeats < 1 || p->repeats > 1000)
        return ccai_fail(err, CCAI_ERR_ARG, "bench: repeats %d out of range (1..1000)",
                         p->repeats);
    return CCAI_OK;
}

bool llm_bench_bw_moved(double a, double b)
{
    return a > 0 && b > 0 && (a > b ? a / b : b / a) > LLM_BENCH_BW_MOVED;
}

/* One bandwidth sample: the best of LLM_BENCH_BW_SAMPLE passes (one pass
 * now and then reads low when a thread is held up); *passes counts them. */
static double bw_sample(llm_bench_bw *bw, const llm_bench_params *p, int *passes)
{
    double sample = 0;
    for (int s = 0; s < (p->quick ? 1 : LLM_BENCH_BW_SAMPLE); s++, (*passes)++) {
        double pass = llm_bench_bw_pass(bw);
        sample = pass > sample ? pass : sample;
    }
    return p->sample_hook ? p->sample_hook(p->sample_arg, sample) : sample;
}

/* The model runs: warm-up, the pp repeats, then the gen runs with the
 * bandwidth passes between them. The host's memory bandwidth can change by
 * half from one minute to the next (shared machines, docs/bench.md):
 * sampling it across the generation runs, rather than after them, keeps
 * the bound and the speed it bounds from the same stretch of time. Sample
 * i is taken right before generation run i and right after run i - 1, and
 * each run is bounded by the faster of the two samples around it
 * (r->gen_runs_bw). Where the two differ by more than LLM_BENCH_BW_MOVED
 * the memory changed speed during the run and its true bound lies
 * somewhere between: the run is kept in the report but not counted, and
 * another is made in its place (at most `repeats` more). */
static ccai_code run_model(const llm_model *m, llm_pool *pool, const llm_kernels *k,
                           const llm_bench_params *p, llm_bench_result *r, ccai_err *err)
{
    int n_gen_total = p->n_depth + p->n_gen;
    int n = p->n_prompt > n_gen_total ? p->n_prompt : n_gen_total;
    llm_ctx *c = NULL;
    ccai_code rc = llm_ctx_new(m, (uint32_t)n, pool, k, &c, err);
    if (rc)
        return rc;
    int32_t *tokens = ccai_xmalloc((size_t)n * sizeof *tokens);
    fill_tokens(tokens, (size_t)n, m->hp.n_vocab);
    /* An untimed prompt run first: it reads every weight (the mapped file is
     * paged in) and touches every scratch buffer, which the first timed run
     * would otherwise pay for (up to a third of its speed). */
    rc = llm_ctx_eval(c, tokens, (size_t)p->n_prompt, NULL, err);
    for (int i = 0; i < p->repeats && !rc; i++)
        rc = time_prompt(c, tokens, p->n_prompt, &r->pp_runs[i], err);
    /* Before the bandwidth buffer exists: the model's own footprint. */
    r->rss_mb = llm_bench_rss_mb();
    r->weights_huge_fraction = gguf_huge_fraction(m->file->base);
    /* The generation runs' prompt, once: each run goes back to it. */
    if (!rc) {
        llm_ctx_reset(c);
        rc = llm_ctx_eval(c, tokens, (size_t)p->n_depth, NULL, err);
    }
    llm_bench_bw *bw;
    if (!rc && !(rc = llm_bench_bw_open(pool, p->quick, &bw, err))) {
        uint64_t runs = 0;
        uint32_t start = 0;
        int passes = 0, i = 0;
        r->gen_bw_samples[0] = bw_sample(bw, p, &passes);
        for (; !rc && r->gen_counted < p->repeats && i < 2 * p->repeats; i++) {
            rc = time_gen(c, pool, tokens, p->n_depth, p->n_gen, &r->gen_runs[i], &start, &runs,
                          err);
            double before = r->gen_bw_samples[i], after = bw_sample(bw, p, &passes);
            r->gen_bw_samples[i + 1] = after;
            r->gen_runs_bw[i] = before > after ? before : after;
            r->gen_counted += !llm_bench_bw_moved(before, after);
        }
        r->gen_done = i;
        while (!p->quick && passes++ < LLM_BENCH_BW_PASSES)
            llm_bench_bw_pass(bw);
        r->bandwidth = llm_bench_bw_close(bw);
        r->pool_runs_per_token = (double)runs / ((double)r->gen_done * p->n_gen);
        /* Token i of a run sits at position start + i and reads that many
         * cached positions plus its own: start + (n + 1) / 2 on average,
         * and the bytes are linear in it (start is -d, read back from the
         * context). */
        r->kv_positions = start + (p->n_gen + 1) / 2.0;
    }
    free(tokens);
    llm_ctx_free(c);
    return rc;
}

/* The per-run bounds (the samples around each generation run) and the
 * fractions against them; the medians over the counted runs (the steady
 * ones, or all when none was) summarize them. */
static void run_bounds(llm_bench_result *r)
{
    size_t n = (size_t)r->gen_done;
    double *tps = ccai_xcalloc(n, sizeof *tps), *bound = ccai_xcalloc(n, sizeof *bound),
           *frac = ccai_xcalloc(n, sizeof *frac);
    int k = 0;
    for (int i = 0; i < r->gen_done; i++) {
        double b = r->gen_runs_bw[i] * 1e9 / (double)r->weight_bytes_per_token;
        r->gen_runs_fraction[i] = r->gen_runs[i] / b;
        if (r->gen_counted == 0 ||
            !llm_bench_bw_moved(r->gen_bw_samples[i], r->gen_bw_samples[i + 1]))
            tps[k] = r->gen_runs[i], bound[k] = b, frac[k++] = r->gen_runs_fraction[i];
    }
    r->gen_tps = llm_bench_median(tps, k);
    r->gen_bound_tps = llm_bench_median(bound, k);
    r->gen_bw_fraction = llm_bench_median(frac, k);
    free(tps);
    free(bound);
    free(frac);
}

ccai_code llm_bench_run(const llm_model *m, const char *name, const llm_bench_params *p,
                        llm_bench_result *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    ccai_code rc = check_params(p, err);
    if (rc)
        return rc;
    const llm_kernels *k = llm_kernels_get(p->kernels, err);
    if (!k)
        return err ? err->code : CCAI_ERR_ARG;
    llm_bench_result *r = out;
    llm_pool *pool = llm_pool_new(p->n_threads);
    r->name = ccai_xstrdup(name ? name : "model");
    r->arch = llm_arch_name(m->hp.arch);
    r->weight_type = llm_bench_weight_type(m);
    r->kernels = k->name;
    r->threads = llm_pool_size(pool);
    r->n_prompt = p->n_prompt, r->n_gen = p->n_gen, r->n_depth = p->n_depth;
    r->repeats = p->repeats;
    r->pp_runs = ccai_xcalloc((size_t)p->repeats, sizeof *r->pp_runs);
    size_t most = 2 * (size_t)p->repeats; /* repeats, and one more per moved run */
    r->gen_runs = ccai_xcalloc(most, sizeof *r->gen_runs);
    r->gen_runs_bw = ccai_xcalloc(most, sizeof *r->gen_runs_bw);
    r->gen_bw_samples = ccai_xcalloc(most + 1, sizeof *r->gen_bw_samples);
    r->gen_runs_fraction = ccai_xcalloc(most, sizeof *r->gen_runs_fraction);

    if ((rc = run_model(m, pool, k, p, r, err)))
        goto done;
    /* The layers' matrices are what a prompt multiplies. */
    r->peak = llm_bench_peak(pool, llm_bench_peak_kind(dominant_type(m, false)), k->name, p->quick);
    r->pool_run_us = llm_bench_pool_run_us(pool, p->quick);

    r->pp_tps = llm_bench_median(r->pp_runs, p->repeats);
    r->weight_bytes_per_token = llm_bench_bytes_per_token(m, r->kv_positions);
    run_bounds(r);
    r->gen_best_bound_tps = r->bandwidth.value * 1e9 / (double)r->weight_bytes_per_token;
    r->gen_best_bw_fraction = r->gen_tps / r->gen_best_bound_tps;
    r->params_nonembd = llm_bench_params_nonembd(m);
    r->pp_ops_per_token = 2.0 * (double)r->params_nonembd;
    r->pp_gops = r->pp_tps * r->pp_ops_per_token / 1e9;
    r->pp_peak_fraction = r->pp_gops / r->peak.value;
    r->pool_overhead_fraction = r->pool_runs_per_token * r->pool_run_us * 1e-6 * r->gen_tps;
done:
    llm_pool_free(pool);
    if (rc)
        llm_bench_result_free(r);
    return rc;
}

void llm_bench_result_free(llm_bench_result *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->pp_runs);
    free(r->gen_runs);
    free(r->gen_runs_bw);
    free(r->gen_bw_samples);
    free(r->gen_runs_fraction);
    memset(r, 0, sizeof *r);
}

/* ---- Reports ------------------------------------------------------------------------------ */

static json_t *runs_json(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

char *llm_bench_json(const llm_bench_result *r)
{
    json_t *o = json_object();
#define SET(key, value) json_object_set_new(o, key, value)
    SET("model", json_string(r->name));
    SET("architecture", json_string(r->arch));
    SET("weight_type", json_string(r->weight_type));
    SET("kernels", json_string(r->kernels));
    SET("threads", json_integer(r->threads));
    SET("n_prompt", json_integer(r->n_prompt));
    SET("n_gen", json_integer(r->n_gen));
    SET("n_depth", json_integer(r->n_depth));
    SET("repeats", json_integer(r->repeats));
    SET("pp_tps", json_real(r->pp_tps));
    SET("gen_tps", json_real(r->gen_tps));
    SET("pp_runs_tps", runs_json(r->pp_runs, r->repeats));
    SET("gen_runs_tps", runs_json(r->gen_runs, r->gen_done));
    json_t *moved = json_array();
    for (int i = 0; i < r->gen_done; i++)
        json_array_append_new(
            moved, json_boolean(llm_bench_bw_moved(r->gen_bw_samples[i], r->gen_bw_samples[i + 1])));
    SET("gen_runs_moved", moved);
    SET("gen_runs_counted", json_integer(r->gen_counted ? r->gen_counted : r->gen_done));
    SET("bandwidth_gbs", json_real(r->bandwidth.value));
    SET("bandwidth_method", json_string(r->bandwidth.method));
    SET("weight_bytes_per_token", json_integer((json_int_t)r->weight_bytes_per_token));
    SET("kv_positions", json_real(r->kv_positions));
    SET("gen_bound_tps", json_real(r->gen_bound_tps));
    SET("gen_bw_fraction", json_real(r->gen_bw_fraction));
    SET("gen_runs_bandwidth_gbs", runs_json(r->gen_runs_bw, r->gen_done));
    SET("gen_bw_samples_gbs", runs_json(r->gen_bw_samples, r->gen_done + 1));
    SET("gen_runs_bw_fraction", runs_json(r->gen_runs_fraction, r->gen_done));
    SET("gen_best_bound_tps", json_real(r->gen_best_bound_tps));
    SET("gen_best_bw_fraction", json_real(r->gen_best_bw_fraction));
    SET("params_nonembd", json_integer((json_int_t)r->params_nonembd));
    SET("pp_ops_per_token", json_real(r->pp_ops_per_token));
    SET("pp_gops", json_real(r->pp_gops));
    SET("peak_gops", json_real(r->peak.value));
    SET("peak_method", json_string(r->peak.method));
    SET("pp_peak_fraction", json_real(r->pp_peak_fraction));
    SET("pool_run_us", json_real(r->pool_run_us));
    SET("pool_runs_per_token", json_real(r->pool_runs_per_token));
    SET("pool_overhead_fraction", json_real(r->pool_overhead_fraction));
    SET("rss_mb", json_real(r->rss_mb));
    SET("weights_huge_fraction", json_real(r->weights_huge_fraction));
#undef SET
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static void print_runs(FILE *f, const double *v, int n)
{
    fputs("  [", f);
    for (int i = 0; i < n; i++)
        fprintf(f, i ? " %.2f" : "%.2f", v[i]);
    fputs("]\n", f);
}

void llm_bench_print(FILE *f, const llm_bench_result *r)
{
    fprintf(f, "model              %s (%s, %s)\n", r->name, r->arch, r->weight_type);
    fprintf(f, "kernels            %s, %d thread%s, median of %d\n", r->kernels, r->threads,
            r->threads == 1 ? "" : "s", r->repeats);
    fprintf(f, "prompt   (pp%-5d) %10.2f tok/s", r->n_prompt, r->pp_tps);
    print_runs(f, r->pp_runs, r->repeats);
    char tg[48];
    snprintf(tg, sizeof tg, "generate (tg%d@d%d)", r->n_gen, r->n_depth);
    fprintf(f, "%-18s %10.2f tok/s", tg, r->gen_tps);
    print_runs(f, r->gen_runs, r->gen_done);
    fprintf(f, "bandwidth          %10.2f GB/s   (%s, best pass)\n", r->bandwidth.value,
            r->bandwidth.method);
    fprintf(f, "bytes per token    %10.1f MB     (weights + KV at %.1f positions)\n",
            r->weight_bytes_per_token / 1e6, r->kv_positions);
    fprintf(f, "generation bound   %10.2f tok/s  -> generation at %.1f%% of it (median of runs)\n",
            r->gen_bound_tps, 100 * r->gen_bw_fraction);
    fputs("  bandwidth around each run:", f);
    for (int i = 0; i < r->gen_done; i++)
        fprintf(f, " %.2f GB/s -> %.1f%%%s", r->gen_runs_bw[i], 100 * r->gen_runs_fraction[i],
                i + 1 < r->gen_done ? "," : "\n");
    for (int i = 0; i < r->gen_done; i++) {
        double a = r->gen_bw_samples[i], b = r->gen_bw_samples[i + 1];
        if (llm_bench_bw_moved(a, b))
            fprintf(f, "  run %d: the bandwidth moved from %.2f to %.2f GB/s around it (this "
                       "machine's memory changed speed): %s\n",
                    i + 1, a, b,
                    r->gen_counted ? "not counted, run again"
                                   : "no run was steady, so every run is counted against "
                                     "the faster sample");
    }
    fprintf(f, "best-pass bound    %10.2f tok/s  -> generation at %.1f%% of it\n",
            r->gen_best_bound_tps, 100 * r->gen_best_bw_fraction);
    fprintf(f, "ops per token      %10.3f GOP    (2 x %.3f G non-embedding parameters)\n",
            r->pp_ops_per_token / 1e9, r->params_nonembd / 1e9);
    fprintf(f, "prompt rate        %10.1f GOPS\n", r->pp_gops);
    fprintf(f, "peak               %10.1f GOPS   (%s) -> prompt at %.1f%% of it\n",
            r->peak.value, r->peak.method, 100 * r->pp_peak_fraction);
    fprintf(f, "pool hand-offs     %10.1f per token x %.2f us -> %.2f%% of a token\n",
            r->pool_runs_per_token, r->pool_run_us, 100 * r->pool_overhead_fraction);
    fprintf(f, "resident memory    %10.1f MiB\n", r->rss_mb);
    if (r->weights_huge_fraction >= 0)
        fprintf(f, "weights in 2 MiB pages %6.1f%%%s\n", 100 * r->weights_huge_fraction,
                r->weights_huge_fraction < GGUF_HUGE_WANTED
                    ? "  (cached in small pages: docs/bench.md, \"Huge pages\")"
                    : "");
}
