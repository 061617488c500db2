/* `ccai dev`: developer tools. `ccai dev mkmodel` writes GGUF models of any
 * supported architecture, shape and weight type from seeded random weights,
 * so tests and benchmarks need no downloads. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "llm/mkmodel.h"

static const char dev_usage[] =
    "usage: ccai dev mkmodel (--preset NAME | --arch llama|qwen2 --embd N --layers N\n"
    "                        --ff N --heads N [--kv-heads N] [--head-dim N])\n"
    "                        [--ftype TYPE] [--seed N] [--ctx N] [--vocab-size N]\n"
    "                        [--vocab-from GGUF] [--rope-base F] [--llama3-rope]\n"
    "                        [--tied] [--name NAME] -o FILE\n"
    "\n"
    "Writes a GGUF model with seeded random weights (the same seed gives the same\n"
    "file). TYPE: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K,\n"
    "Q4_K_M, Q5_K_M. --vocab-from copies the tokenizer (and its size) from\n"
    "another GGUF; otherwise a small byte-level vocabulary is made up.\n"
    "Presets: see 'ccai dev mkmodel --list'.\n";

enum {
    OPT_PRESET = CLI_OPT_FIRST_FREE, OPT_ARCH, OPT_EMBD, OPT_LAYERS, OPT_FF, OPT_HEADS,
    OPT_KV_HEADS, OPT_HEAD_DIM, OPT_FTYPE, OPT_SEED, OPT_CTX, OPT_VOCAB_SIZE, OPT_VOCAB_FROM,
    OPT_ROPE_BASE, OPT_LLAMA3, OPT_TIED, OPT_NAME, OPT_LIST,
};

static bool u32_arg(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end || v > 1u << 30)
        return false;
    *out = (uint32_t)v;
    return true;
}

static int mkmodel(int argc, char **argv)
{
    static const struct option opts[] = {
        {"preset", required_argument, NULL, OPT_PRESET}, {"arch", required_argument, NULL, OPT_ARCH},
        {"embd", required_argument, NULL, OPT_EMBD}, {"layers", required_argument, NULL, OPT_LAYERS},
        {"ff", required_argument, NULL, OPT_FF}, {"heads", required_argument, NULL, OPT_HEADS},
        {"kv-heads", required_argument, NULL, OPT_KV_HEADS},
        {"head-dim", required_argument, NULL, OPT_HEAD_DIM},
        {"ftype", required_argument, NULL, OPT_FTYPE}, {"seed", required_argument, NULL, OPT_SEED},
        {"ctx", required_argument, NULL, OPT_CTX},
        {"vocab-size", required_argument, NULL, OPT_VOCAB_SIZE},
        {"vocab-from", required_argument, NULL, OPT_VOCAB_FROM},
        {"rope-base", required_argument, NULL, OPT_ROPE_BASE},
        {"llama3-rope", no_argument, NULL, OPT_LLAMA3}, {"tied", no_argument, NULL, OPT_TIED},
        {"name", required_argument, NULL, OPT_NAME}, {"list", no_argument, NULL, OPT_LIST},
        {"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0},
    };
    llm_mkmodel_spec spec = {.rope_base = 10000.0f, .rms_eps = 1e-5f, .n_ctx = 2048,
                             .ftype = "F32", .seed = 1};
    const char *out = NULL;
    ccai_err err = {0};
    bool preset = false;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        uint32_t *u = NULL;
        switch (c) {
        case OPT_LIST: {
            for (const char *const *p = llm_mkmodel_preset_names(); *p; p++)
                printf("%s\n", *p);
            return CLI_OK;
        }
        case OPT_PRESET: {
            /* A preset fills the shape; later options override it. */
            const char *keep_ftype = spec.ftype;
            uint64_t keep_seed = spec.seed;
            if (llm_mkmodel_preset(optarg, &spec, &err))
                return cli_usage_error("dev mkmodel", "%s", err.msg);
            if (strcmp(keep_ftype, "F32"))
                spec.ftype = keep_ftype;
            spec.seed = keep_seed;
            preset = true;
            break;
        }
        case OPT_ARCH: spec.arch = optarg; break;
        case OPT_FTYPE: spec.ftype = optarg; break;
        case OPT_VOCAB_FROM: spec.vocab_from = optarg; break;
        case OPT_NAME: spec.name = optarg; break;
        case OPT_LLAMA3: spec.llama3_rope = true; break;
        case OPT_TIED: spec.tied_embeddings = true; break;
        case OPT_SEED: spec.seed = strtoull(optarg, NULL, 10); break;
        case OPT_ROPE_BASE: spec.rope_base = strtof(optarg, NULL); break;
        case 'o': out = optarg; break;
        case OPT_EMBD: u = &spec.n_embd; break;
        case OPT_LAYERS: u = &spec.n_layer; break;
        case OPT_FF: u = &spec.n_ff; break;
        case OPT_HEADS: u = &spec.n_head; break;
        case OPT_KV_HEADS: u = &spec.n_head_kv; break;
        case OPT_HEAD_DIM: u = &spec.head_dim; break;
        case OPT_CTX: u = &spec.n_ctx; break;
        case OPT_VOCAB_SIZE: u = &spec.n_vocab; break;
        default: return cli_bad_option("dev mkmodel", c, argv);
        }
        if (u && !u32_arg(optarg, u))
            return cli_usage_error("dev mkmodel", "bad number '%s' for %s", optarg, argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error("dev mkmodel", "unexpected argument '%s'", argv[optind]);
    if (!out)
        return cli_usage_error("dev mkmodel", "missing -o FILE");
    if (!preset && (!spec.arch || !spec.n_embd || !spec.n_layer || !spec.n_ff || !spec.n_head))
        return cli_usage_error("dev mkmodel", "give --preset, or --arch, --embd, --layers, --ff and --heads");
    if (!spec.n_head_kv)
        spec.n_head_kv = spec.n_head;
    if (llm_mkmodel_write(&spec, out, &err))
        return cli_fail("dev mkmodel", &err);
    fprintf(stderr, "wrote %s (%s, %s)\n", out, spec.arch, spec.ftype);
    return CLI_OK;
}

static int cmd_dev(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("dev", "missing the tool (mkmodel)");
    if (!strcmp(argv[1], "mkmodel"))
        return mkmodel(argc, argv);
    return cli_usage_error("dev", "unknown tool '%s' (mkmodel)", argv[1]);
}

const cli_cmd cli_cmd_dev = {"dev", "developer tools: mkmodel (generate GGUF test models)", cmd_dev,
                             dev_usage};
