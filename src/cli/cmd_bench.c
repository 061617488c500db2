/* `ccai bench`: the engine's prompt and generation speed on a model, next to
 * the machine's memory bandwidth and dot-product peak measured in the same
 * run (llm/bench.h, docs/bench.md). The token ids are synthetic: no prompt
 * text is read or printed. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "llm/bench.h"
#include "llm/model.h"

static const char bench_usage[] =
    "usage: ccai bench MODEL [--threads N] [-p N] [-n N] [-d N] [-r N] [--kernels NAME] [--json]\n"
    "\n"
    "Measures prompt processing (-p tokens from an empty cache) and generation\n"
    "(-n tokens after a -d-token prompt), the median of -r runs each, and in the\n"
    "same run the machine's memory read bandwidth and the peak rate of the\n"
    "dot-product instruction the kernels use, with the same threads. Reports\n"
    "generation as a fraction of bandwidth / bytes per token (each run against\n"
    "the bandwidth sampled right before and after it, the median of the runs;\n"
    "also against the best pass of the whole bench) and prompt processing as\n"
    "a fraction of that peak (see docs/bench.md).\n"
    "\n"
    "  --threads N     threads (default: all cores)\n"
    "  -p, --prompt N  prompt tokens per run (default 128)\n"
    "  -n, --gen N     generated tokens per run (default 64)\n"
    "  -d, --depth N   tokens in the cache before each generation run: the\n"
    "                  speed at that context length (default 4)\n"
    "  -r, --repeats N runs of each, the median is reported (default 3)\n"
    "  --kernels NAME  compute kernels: auto, scalar, ... (default auto)\n"
    "  --quick         short microbenchmarks (a smoke test, not a measurement)\n"
    "  --json          one JSON object on stdout instead of the table\n";

enum { OPT_THREADS = CLI_OPT_FIRST_FREE, OPT_KERNELS, OPT_JSON, OPT_QUICK };

static bool int_arg(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

/* general.name, else the file name. The caller frees. */
static char *model_name(const llm_model *m, const char *path)
{
    gguf_str s;
    if (gguf_get_str(m->file, "general.name", &s, NULL) == CCAI_OK && s.len)
        return gguf_strdup(s);
    const char *slash = strrchr(path, '/');
    return strdup(slash ? slash + 1 : path);
}

static int cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"threads", required_argument, NULL, OPT_THREADS},
        {"prompt", required_argument, NULL, 'p'}, {"gen", required_argument, NULL, 'n'},
        {"depth", required_argument, NULL, 'd'},
        {"repeats", required_argument, NULL, 'r'},
        {"kernels", required_argument, NULL, OPT_KERNELS},
        {"json", no_argument, NULL, OPT_JSON}, {"quick", no_argument, NULL, OPT_QUICK},
        {NULL, 0, NULL, 0},
    };
    llm_bench_params p = llm_bench_params_default();
    bool json = false;
    int c, li;
    optind = 1;
    while ((li = -1, c = getopt_long(argc, argv, ":p:n:d:r:", opts, &li)) != -1) {
        const char *name = li >= 0      ? opts[li].name
                           : c == 'p' ? "-p"
                           : c == 'n' ? "-n"
                           : c == 'd' ? "-d"
                                      : "-r";
        bool ok = true;
        switch (c) {
        case OPT_THREADS: ok = int_arg(optarg, 1, 1024, &p.n_threads); break;
        case 'p': ok = int_arg(optarg, 1, 65536, &p.n_prompt); break;
        case 'n': ok = int_arg(optarg, 1, 65536, &p.n_gen); break;
        case 'd': ok = int_arg(optarg, 1, 65536, &p.n_depth); break;
        case 'r': ok = int_arg(optarg, 1, 1000, &p.repeats); break;
        case OPT_KERNELS: p.kernels = optarg; break;
        case OPT_JSON: json = true; break;
        case OPT_QUICK: p.quick = true; break;
        default: return cli_bad_option("bench", c, argv);
        }
        if (!ok)
            return cli_usage_error("bench", "bad value '%s' for %s%s", optarg,
                                   name[0] == '-' ? "" : "--", name);
    }
    if (optind >= argc)
        return cli_usage_error("bench", "missing the MODEL file");
    if (argc - optind > 1)
        return cli_usage_error("bench", "unexpected argument '%s'", argv[optind + 1]);
    ccai_err err = {0};
    if (!llm_kernels_get(p.kernels, &err))
        return cli_usage_error("bench", "--kernels: %s", err.msg);

    llm_model *m = NULL;
    if (llm_model_load(argv[optind], &m, &err))
        return cli_fail("bench", &err);
    char *name = model_name(m, argv[optind]);
    llm_bench_result r;
    ccai_code rc = llm_bench_run(m, name, &p, &r, &err);
    free(name);
    if (rc) {
        llm_model_free(m);
        return cli_fail("bench", &err);
    }
    if (json) {
        char *s = llm_bench_json(&r);
        puts(s);
        free(s);
    } else {
        llm_bench_print(stdout, &r);
    }
    llm_bench_result_free(&r);
    llm_model_free(m);
    return CLI_OK;
}

const cli_cmd cli_cmd_bench = {"bench", "measure a model's speed against the machine's limits",
                               cmd_bench, bench_usage};
