/* `ccai pull`: fetches a model into the store (store/store.h, docs/store.md)
 * and shows how it goes: on a terminal a progress bar per blob (bytes, rate,
 * ETA) redrawn in place, otherwise plain lines a log can keep (a line when a
 * blob starts, every five seconds, and when it ends). Progress goes to
 * stderr; the last line on stdout names the installed model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "cli/cli.h"
#include "store/store.h"

static const char pull_usage[] =
    "usage: ccai pull [options] NAME[:TAG] | hf.co/ORG/REPO[:QUANT] | URL\n"
    "\n"
    "Downloads a model into the store ($CCAI_MODELS, else $CCAI_STATE_DIR/models,\n"
    "else ~/.ccai/models), in Ollama's layout. Every blob's SHA-256 is checked\n"
    "while it streams; a cut download resumes where it stopped (HTTP Range);\n"
    "the model appears in 'ccai list' only once it is complete.\n"
    "\n"
    "  NAME[:TAG]              from an Ollama-protocol registry: deepseek-r1:1.5b,\n"
    "                          user/model:tag, host/ns/model:tag\n"
    "  hf.co/ORG/REPO[:QUANT]  the GGUF file of a Hugging Face repository whose\n"
    "                          name contains QUANT (e.g. Q4_K_M)\n"
    "  URL                     an http(s) URL of a .gguf file\n"
    "\n"
    "  --registry URL          registry base URL (default $CCAI_REGISTRY, else\n"
    "                          " STORE_DEFAULT_REGISTRY "; for mirrors)\n"
    "  --hf-endpoint URL       Hugging Face base URL (default $CCAI_HF_ENDPOINT,\n"
    "                          else " STORE_DEFAULT_HF ")\n"
    "  --sha256 HEX            hf.co and URLs: the file's expected SHA-256\n"
    "  --name NAME             URLs: store it under this name (default: the file\n"
    "                          name's stem, tag latest)\n"
    "\n"
    "Proxies: libcurl honours http_proxy, https_proxy and no_proxy.\n";

enum { OPT_REGISTRY = CLI_OPT_FIRST_FREE, OPT_HF, OPT_SHA256, OPT_NAME };

typedef struct bar {
    bool tty;
    char digest[72]; /* the blob being drawn; "" when none */
    uint64_t total, done, first;
    double t0, last; /* start and last draw, seconds */
} bar;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Decimal units, as Ollama prints sizes. */
static void human_bytes(double n, char *out, size_t cap)
{
    static const char *const unit[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (n >= 1000 && u < 4) {
        n /= 1000;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", n, unit[u]);
}

static void draw(bar *b, bool final)
{
    double t = now_s(), el = t - b->t0;
    double rate = el > 0 ? (double)(b->done - b->first) / el : 0;
    char have[32], total[32], r[32];
    human_bytes((double)b->done, have, sizeof have);
    human_bytes((double)b->total, total, sizeof total);
    human_bytes(rate, r, sizeof r);
    int pct = b->total ? (int)(b->done * 100 / b->total) : 0;
    if (b->tty) {
        char cells[41];
        int fill = pct * 40 / 100;
        for (int i = 0; i < 40; i++)
            cells[i] = i < fill ? '#' : ' ';
        cells[40] = 0;
        double eta = rate > 0 && b->total > b->done ? (double)(b->total - b->done) / rate : 0;
        fprintf(stderr, "\rpulling %.12s %3d%% [%s] %s/%s  %s/s  ETA %.0fs\x1b[K%s", b->digest + 7,
                pct, cells, have, total, r, eta, final ? "\n" : "");
    } else {
        fprintf(stderr, "pulling %.12s: %s/%s (%d%%, %s/s)%s\n", b->digest + 7, have, total, pct, r,
                final ? " done" : "");
    }
    b->last = t;
}

static void end_blob(bar *b)
{
    if (b->digest[0])
        draw(b, true);
    b->digest[0] = 0;
}

static bool on_progress(void *arg, const store_progress *p)
{
    bar *b = arg;
    if (!p->digest) {
        end_blob(b);
        fprintf(stderr, "%s\n", p->status);
        return true;
    }
    if (strcmp(b->digest, p->digest) != 0) {
        end_blob(b);
        snprintf(b->digest, sizeof b->digest, "%s", p->digest);
        b->first = p->completed; /* a resume starts here: the rate counts new bytes */
        b->t0 = now_s();
        b->done = p->completed;
        b->total = p->total;
        draw(b, false);
    }
    b->done = p->completed;
    b->total = p->total;
    if (now_s() - b->last >= (b->tty ? 0.1 : 5.0))
        draw(b, false);
    return true;
}

static int cmd_pull(int argc, char **argv)
{
    static const struct option opts[] = {
        {"registry", required_argument, NULL, OPT_REGISTRY},
        {"hf-endpoint", required_argument, NULL, OPT_HF},
        {"sha256", required_argument, NULL, OPT_SHA256},
        {"name", required_argument, NULL, OPT_NAME},
        {NULL, 0, NULL, 0},
    };
    store_pull_opts o = {.retries = -1};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case OPT_REGISTRY: o.registry = optarg; break;
        case OPT_HF: o.hf_endpoint = optarg; break;
        case OPT_SHA256: o.sha256 = optarg; break;
        case OPT_NAME: o.name = optarg; break;
        default: return cli_bad_option("pull", c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error("pull", "missing the model to pull");
    if (optind + 1 < argc)
        return cli_usage_error("pull", "unexpected argument '%s' (one model per pull)",
                               argv[optind + 1]);
    bar b = {.tty = isatty(STDERR_FILENO) == 1};
    o.progress = on_progress;
    o.arg = &b;
    ccai_err err = {0};
    store *st = NULL;
    char *name = NULL;
    ccai_code rc = store_open(NULL, &st, &err);
    if (!rc)
        rc = store_pull(st, argv[optind], &o, &name, &err);
    end_blob(&b);
    store_close(st);
    if (rc)
        return rc == CCAI_ERR_ARG ? cli_usage_error("pull", "%s", err.msg) : cli_fail("pull", &err);
    printf("pulled %s\n", name);
    free(name);
    return CLI_OK;
}

const cli_cmd cli_cmd_pull = {"pull", "download a model into the store (registry, hf.co, URL)",
                              cmd_pull, pull_usage};
