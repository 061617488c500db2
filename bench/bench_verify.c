/* bench_verify: DCAP verifications per second on one core (docs/verify.md).
 *
 *   bench_verify [--sim] [--iterations N] [QUOTE COLLATERAL]
 *
 * Real mode verifies the real v4 quote with its collateral bundle (by default
 * from ../shared/testdata/tdx/real-v4-uptodate; when absent it says so and
 * exits 0) as of 2025-07-01T00:00:00Z. --sim makes a simulated TD in a
 * temporary state directory and verifies its quote with fresh simulated
 * collateral (trust_simulated).
 *
 * Three rows, all from bytes already in memory (nothing is read from disk
 * inside a loop):
 *   cold    JSON bundle -> tdx_collateral -> tdx_collateral_prepare, parse the
 *           quote, verify; everything freed each iteration
 *   warm    collateral prepared once; parse the quote and verify
 *   warm*   collateral prepared once, quote parsed once; verify only
 * Every verification must succeed, or the benchmark stops with the reason.
 * Per-verification figures are CPU time of this one thread (the wall-clock
 * total is printed beside it), so a busy machine does not inflate them. */
#include <ftw.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/collateral.h"
#include "tee/provider.h"
#include "tee/quote.h"
#include "tee/sim.h"
#include "tee/verify.h"

#ifndef CCAI_SHARED_DIR
#define CCAI_SHARED_DIR "../shared"
#endif
#define REAL_DIR "/testdata/tdx/real-v4-uptodate/"
enum { REAL_AT = 1751328000 }; /* 2025-07-01T00:00:00Z */

typedef struct input {
    uint8_t *quote;
    size_t quote_len;
    char *bundle;       /* collateral bundle JSON text */
    size_t bundle_len;
    time_t at;
    bool trust_simulated;
} input;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of this (single-threaded) process: on a busy machine the wall
 * clock also counts the time other processes held our core. */
static double cpu_s(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_verify: %s: %s\n", what, msg);
    exit(1);
}

static void verify_ok(const tdx_quote *q, tdx_collateral_ctx *cc, const input *in)
{
    tdx_verify_opts o = {.at = in->at, .trust_simulated = in->trust_simulated};
    tdx_verify_result r;
    if (tdx_verify(q, cc, &o, &r) != CCAI_OK)
        die("verify", r.failure.msg);
    tdx_verify_result_free(&r);
}

static void parse_quote(const input *in, tdx_quote *q)
{
    ccai_err err = {0};
    if (tdx_quote_parse(in->quote, in->quote_len, q, &err) != CCAI_OK)
        die("quote", err.msg);
}

static tdx_collateral_ctx *prepare_from_text(const input *in)
{
    json_t *j = NULL;
    tdx_collateral c;
    tdx_collateral_ctx *cc = NULL;
    ccai_err err = {0};
    if (ccai_json_parse(in->bundle, in->bundle_len, &j, &err) != CCAI_OK ||
        tdx_collateral_from_json(j, &c, &err) != CCAI_OK)
        die("collateral", err.msg);
    json_decref(j);
    if (tdx_collateral_prepare(&c, &cc, &err) != CCAI_OK)
        die("collateral_prepare", err.msg);
    tdx_collateral_free(&c);
    return cc;
}

typedef enum { MODE_COLD, MODE_WARM, MODE_WARM_PARSED } mode;

static void one(mode m, const input *in, tdx_collateral_ctx *warm, const tdx_quote *parsed)
{
    if (m == MODE_WARM_PARSED) {
        verify_ok(parsed, warm, in);
        return;
    }
    tdx_collateral_ctx *cc = m == MODE_COLD ? prepare_from_text(in) : warm;
    tdx_quote q;
    parse_quote(in, &q);
    verify_ok(&q, cc, in);
    tdx_quote_free(&q);
    if (m == MODE_COLD)
        tdx_collateral_ctx_free(cc);
}

typedef struct row {
    const char *name;
    long iterations;
    double seconds;  /* wall clock */
    double cpu;      /* CPU time: the per-verification figures use it */
} row;

/* Runs m for `iterations`, or (0) until a second has passed, at least 50 times. */
static row run(const char *name, mode m, const input *in, tdx_collateral_ctx *warm,
               const tdx_quote *parsed, long iterations)
{
    for (int i = 0; i < 20; i++) /* warm up caches and the allocator */
        one(m, in, warm, parsed);
    row r = {.name = name};
    double c0 = cpu_s(), t0 = now_s(), t = t0;
    while (iterations ? r.iterations < iterations : (t - t0 < 1.0 || r.iterations < 50)) {
        one(m, in, warm, parsed);
        r.iterations++;
        if ((r.iterations & 15) == 0 || iterations)
            t = now_s();
    }
    r.seconds = now_s() - t0;
    r.cpu = cpu_s() - c0;
    return r;
}

static void print_row(const row *r)
{
    double us = r->cpu * 1e6 / (double)r->iterations;
    printf("%-8s %10ld %10.3f %10.3f %12.1f %12.0f\n", r->name, r->iterations, r->seconds,
           r->cpu, us, (double)r->iterations / r->cpu);
}

/* ---- inputs ------------------------------------------------------------------------- */

static bool load_real(const char *quote_path, const char *bundle_path, input *in)
{
    char qp[4096], bp[4096];
    const char *shared = getenv("CCAI_SHARED_DIR");
    if (!shared || !*shared)
        shared = CCAI_SHARED_DIR;
    snprintf(qp, sizeof qp, "%s", quote_path ? quote_path : "");
    snprintf(bp, sizeof bp, "%s", bundle_path ? bundle_path : "");
    if (!quote_path)
        snprintf(qp, sizeof qp, "%s" REAL_DIR "quote.bin", shared);
    if (!bundle_path)
        snprintf(bp, sizeof bp, "%s" REAL_DIR "collateral.json", shared);
    if (access(qp, R_OK) != 0 || access(bp, R_OK) != 0) {
        printf("bench_verify: %s or %s is absent: nothing to measure (use --sim)\n", qp, bp);
        return false;
    }
    ccai_err err = {0};
    uint8_t *b = NULL;
    if (ccai_read_file(qp, 1 << 20, &in->quote, &in->quote_len, &err) != CCAI_OK ||
        ccai_read_file(bp, 4 << 20, &b, &in->bundle_len, &err) != CCAI_OK)
        die("read", err.msg);
    in->bundle = (char *)b;
    in->at = REAL_AT;
    printf("real quote %s (%zu bytes), collateral %s, at 2025-07-01T00:00:00Z\n", qp,
           in->quote_len, bp);
    return true;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void load_sim(input *in)
{
    const char *t = getenv("TMPDIR");
    char *dir = ccai_xasprintf("%s/ccai-bench-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir))
        die("mkdtemp", dir);
    tee_config cfg = {.state_dir = dir};
    tee_provider *p = NULL;
    ccai_err err = {0};
    uint8_t rd[64] = {0};
    json_t *bundle = NULL;
    time_t now = time(NULL);
    if (tee_provider_open_sim(&cfg, &p, &err) != CCAI_OK ||
        p->ops->get_quote(p, rd, &in->quote, &in->quote_len, &err) != CCAI_OK ||
        tee_sim_collateral(&cfg, now, &bundle, &err) != CCAI_OK)
        die("sim", err.msg);
    tee_provider_close(p);
    in->bundle = json_dumps(bundle, JSON_COMPACT);
    in->bundle_len = strlen(in->bundle);
    json_decref(bundle);
    in->at = now + 60;
    in->trust_simulated = true;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    printf("simulated quote (%zu bytes) and collateral, state in a temporary directory, "
           "trust_simulated\n",
           in->quote_len);
    free(dir);
}

int main(int argc, char **argv)
{
    bool sim = false;
    long iterations = 0;
    const char *paths[2] = {NULL, NULL};
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sim") == 0) {
            sim = true;
        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            iterations = strtol(argv[++i], NULL, 10);
        } else if (argv[i][0] != '-' && npaths < 2) {
            paths[npaths++] = argv[i];
        } else {
            fprintf(stderr, "usage: bench_verify [--sim] [--iterations N] [QUOTE COLLATERAL]\n");
            return 2;
        }
    }
    /* One core: stay on the CPU we started on. */
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpu = sched_getcpu();
    if (cpu >= 0) {
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }

    input in = {0};
    if (sim)
        load_sim(&in);
    else if (!load_real(paths[0], paths[1], &in))
        return 0;

    tdx_collateral_ctx *warm = prepare_from_text(&in);
    tdx_quote parsed;
    parse_quote(&in, &parsed);
    row rows[3] = {
        run("cold", MODE_COLD, &in, NULL, NULL, iterations),
        run("warm", MODE_WARM, &in, warm, NULL, iterations),
        run("warm*", MODE_WARM_PARSED, &in, warm, &parsed, iterations),
    };
    printf("%-8s %10s %10s %10s %12s %12s\n", "path", "iterations", "wall s", "cpu s",
           "us/verify", "verify/s");
    for (int i = 0; i < 3; i++)
        print_row(&rows[i]);
    double cold = rows[0].cpu / (double)rows[0].iterations;
    double hot = rows[1].cpu / (double)rows[1].iterations;
    printf("cold/warm ratio: %.2f (cold: bundle JSON + prepare + parse + verify; warm: parse + "
           "verify; warm*: verify only)\n",
           cold / hot);

    tdx_quote_free(&parsed);
    tdx_collateral_ctx_free(warm);
    free(in.quote);
    free(in.bundle);
    return 0;
}
