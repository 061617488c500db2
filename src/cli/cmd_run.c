/* `ccai run`: a model on the command line — one completion or chat turn, or
 * an interactive chat like `ollama run` (/bye, /clear). Prompts and answers
 * are printed, never logged or stored. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "cli/cli.h"
#include "llm/engine.h"

static const char run_usage[] =
    "usage: ccai run MODEL [PROMPT] [options]\n"
    "\n"
    "Runs a GGUF model (llama or qwen2). With PROMPT: one chat turn (or, with\n"
    "--raw, a plain completion that prints the prompt and its continuation).\n"
    "Without PROMPT: an interactive chat; /bye ends it, /clear forgets it.\n"
    "\n"
    "  --raw               no chat template: continue the prompt as text\n"
    "  --system TEXT       system message for chat\n"
    "  --template NAME     chat format: deepseek-r1, llama3, chatml, llama2, none\n"
    "                      (default: recognised from the model)\n"
    "  --temp T            temperature (default 0.8; 0 = greedy)\n"
    "  --top-k K           (default 40)     --top-p P   (default 0.9)\n"
    "  --min-p P           (default 0.05)   --repeat-penalty R (default 1: off)\n"
    "  --repeat-last-n N   tokens the repeat penalty looks back over (default 64)\n"
    "  --seed N            sampling seed: the same seed gives the same output\n"
    "  -n, --num-predict N tokens to generate at most (default: until the end)\n"
    "  --ctx N             context length (default: the model's, at most 4096)\n"
    "  --threads N         threads (default: all cores)\n"
    "  --kernels NAME      compute kernels: auto, scalar, ...\n"
    "  --hide-thinking     do not print the reasoning section\n"
    "  --verbose           print load time and prompt / generation speed\n";

enum {
    OPT_RAW = CLI_OPT_FIRST_FREE, OPT_SYSTEM, OPT_TEMPLATE, OPT_TEMP, OPT_TOP_K, OPT_TOP_P,
    OPT_MIN_P, OPT_REPEAT, OPT_REPEAT_N, OPT_SEED, OPT_CTX, OPT_THREADS, OPT_KERNELS,
    OPT_HIDE_THINK, OPT_VERBOSE,
};

typedef struct run_opts {
    bool raw, verbose, hide_thinking, tty;
    const char *system;
    uint32_t n_ctx;
    llm_gen_params gen;
    llm_engine_opts eng;
    bool in_thinking;   /* printing state */
} run_opts;

static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool emit(void *arg, const char *text, size_t n, bool thinking)
{
    run_opts *o = arg;
    if (thinking && o->hide_thinking)
        return true;
    if (thinking != o->in_thinking) {
        if (o->tty)
            fputs(thinking ? "\033[2m" : "\033[0m", stdout);
        else
            fputs(thinking ? "Thinking...\n" : "\n...done thinking.\n\n", stdout);
        o->in_thinking = thinking;
    }
    fwrite(text, 1, n, stdout);
    fflush(stdout);
    return true;
}

static void print_stats(const llm_engine *e, const llm_gen_stats *st)
{
    double ps = st->prompt_ns / 1e9, gs = st->gen_ns / 1e9;
    fprintf(stderr, "\nload time:        %.3f s\n", e->load_ns / 1e9);
    fprintf(stderr, "prompt:           %zu tokens (%zu evaluated) in %.3f s, %.1f tokens/s\n",
            st->n_prompt, st->n_prompt_eval, ps, ps > 0 ? st->n_prompt_eval / ps : 0);
    fprintf(stderr, "generation:       %zu tokens in %.3f s, %.1f tokens/s (%s)\n", st->n_gen, gs,
            gs > 0 ? st->n_gen / gs : 0, st->done_reason);
}

static int generate(llm_session *s, run_opts *o, const int32_t *ids, size_t n, bool thinking)
{
    ccai_err err = {0};
    llm_gen_stats st;
    o->gen.starts_in_thinking = thinking;
    o->gen.split_think = !o->raw;
    o->in_thinking = false;
    ccai_code rc = llm_generate(s, ids, n, &o->gen, emit, o, &st, &err);
    if (o->in_thinking)
        emit(o, "", 0, false);
    putchar('\n');
    if (rc)
        return cli_fail("run", &err);
    if (o->verbose)
        print_stats(s->e, &st);
    return CLI_OK;
}

static int one_shot(llm_session *s, run_opts *o, const char *prompt)
{
    ccai_err err = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    bool thinking = false;
    int rc;
    if (o->raw) {
        const llm_tokenizer *t = s->e->tok;
        if (llm_tokenize(t, prompt, strlen(prompt), llm_tokenizer_add_bos(t), false, &ids, &n, &err))
            return cli_fail("run", &err);
        fputs(prompt, stdout);
    } else {
        llm_chat_msg msgs[2];
        size_t m = 0;
        if (o->system)
            msgs[m++] = (llm_chat_msg){"system", o->system};
        msgs[m++] = (llm_chat_msg){"user", prompt};
        if (llm_chat_prompt(s->e, msgs, m, &ids, &n, &thinking, &err))
            return cli_fail("run", &err);
    }
    rc = generate(s, o, ids, n, thinking);
    free(ids);
    return rc;
}

/* The interactive chat keeps the conversation (in memory only) and lets the
 * session reuse the cached prefix on each turn. */
typedef struct convo {
    llm_chat_msg *m;
    size_t n, cap;
} convo;

static void convo_add(convo *c, const char *role, char *content)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        c->m = ccai_xrealloc(c->m, c->cap * sizeof *c->m);
    }
    c->m[c->n++] = (llm_chat_msg){role, content};
}

static void convo_clear(convo *c, size_t keep)
{
    for (size_t i = keep; i < c->n; i++) {
        ccai_wipe((void *)(uintptr_t)c->m[i].content, strlen(c->m[i].content));
        free((void *)(uintptr_t)c->m[i].content);
    }
    c->n = keep;
}

typedef struct capture {
    run_opts *o;
    ccai_buf answer;
} capture;

static bool emit_capture(void *arg, const char *text, size_t n, bool thinking)
{
    capture *c = arg;
    if (!thinking)
        ccai_buf_append(&c->answer, text, n);
    return emit(c->o, text, n, thinking);
}

static int interactive(llm_session *s, run_opts *o)
{
    convo c = {0};
    if (o->system)
        convo_add(&c, "system", ccai_xstrdup(o->system));
    size_t keep = c.n;
    char *line = NULL;
    size_t cap = 0;
    int rc = CLI_OK;
    for (;;) {
        if (o->tty)
            fputs(">>> ", stdout);
        fflush(stdout);
        ssize_t len = getline(&line, &cap, stdin);
        if (len < 0)
            break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (!strcmp(line, "/bye"))
            break;
        if (!strcmp(line, "/clear")) {
            convo_clear(&c, keep);
            llm_session_reset(s);
            printf("Cleared session context\n");
            continue;
        }
        if (!strcmp(line, "/?") || !strcmp(line, "/help")) {
            printf("/bye    end the chat\n/clear  forget the conversation\n");
            continue;
        }
        convo_add(&c, "user", ccai_xstrdup(line));
        ccai_err err = {0};
        int32_t *ids = NULL;
        size_t n = 0;
        bool thinking = false;
        if (llm_chat_prompt(s->e, c.m, c.n, &ids, &n, &thinking, &err)) {
            rc = cli_fail("run", &err);
            break;
        }
        capture cap_out = {.o = o};
        llm_gen_stats st;
        o->gen.starts_in_thinking = thinking;
        o->gen.split_think = true;
        o->in_thinking = false;
        ccai_code g = llm_generate(s, ids, n, &o->gen, emit_capture, &cap_out, &st, &err);
        free(ids);
        if (o->in_thinking)
            emit(o, "", 0, false);
        printf("\n\n");
        if (g) {
            /* A full context is not the end of the chat: start afresh. */
            fprintf(stderr, "ccai run: %s\n", err.msg);
            convo_clear(&c, keep);
            llm_session_reset(s);
            ccai_buf_free(&cap_out.answer);
            continue;
        }
        if (o->verbose)
            print_stats(s->e, &st);
        ccai_buf_u8(&cap_out.answer, 0);
        convo_add(&c, "assistant", (char *)ccai_buf_steal(&cap_out.answer, NULL));
    }
    if (line)
        ccai_wipe(line, cap);
    free(line);
    convo_clear(&c, 0);
    free(c.m);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"raw", no_argument, NULL, OPT_RAW}, {"system", required_argument, NULL, OPT_SYSTEM},
        {"template", required_argument, NULL, OPT_TEMPLATE},
        {"temp", required_argument, NULL, OPT_TEMP}, {"top-k", required_argument, NULL, OPT_TOP_K},
        {"top-p", required_argument, NULL, OPT_TOP_P}, {"min-p", required_argument, NULL, OPT_MIN_P},
        {"repeat-penalty", required_argument, NULL, OPT_REPEAT},
        {"repeat-last-n", required_argument, NULL, OPT_REPEAT_N},
        {"seed", required_argument, NULL, OPT_SEED},
        {"num-predict", required_argument, NULL, 'n'}, {"ctx", required_argument, NULL, OPT_CTX},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"kernels", required_argument, NULL, OPT_KERNELS},
        {"hide-thinking", no_argument, NULL, OPT_HIDE_THINK},
        {"verbose", no_argument, NULL, OPT_VERBOSE}, {NULL, 0, NULL, 0},
    };
    run_opts o = {0};
    o.gen.sampling = llm_sampler_params_default();
    /* As llama.cpp: no repeat penalty unless asked, so --temp 0 is plain greedy. */
    o.gen.sampling.repeat_penalty = 1.0f;
    o.gen.n_predict = -1;
    o.tty = isatty(STDOUT_FILENO);
    int c;
    double v;
    optind = 1;
    int li = -1;
    while ((li = -1, c = getopt_long(argc, argv, ":n:", opts, &li)) != -1) {
        const char *name = c == 'n' && li < 0 ? "-n" : li >= 0 ? opts[li].name : "?";
        switch (c) {
        case OPT_RAW: o.raw = true; break;
        case OPT_SYSTEM: o.system = optarg; break;
        case OPT_TEMPLATE: o.eng.chat_format = optarg; break;
        case OPT_KERNELS: o.eng.kernels = optarg; break;
        case OPT_HIDE_THINK: o.hide_thinking = true; break;
        case OPT_VERBOSE: o.verbose = true; break;
        case OPT_TEMP:
            if (!parse_num(optarg, 0, 100, &v)) goto bad;
            o.gen.sampling.temperature = (float)v; break;
        case OPT_TOP_K:
            if (!parse_num(optarg, 0, 1e9, &v)) goto bad;
            o.gen.sampling.top_k = (int)v; break;
        case OPT_TOP_P:
            if (!parse_num(optarg, 0, 1, &v)) goto bad;
            o.gen.sampling.top_p = (float)v; break;
        case OPT_MIN_P:
            if (!parse_num(optarg, 0, 1, &v)) goto bad;
            o.gen.sampling.min_p = (float)v; break;
        case OPT_REPEAT:
            if (!parse_num(optarg, 0, 100, &v)) goto bad;
            o.gen.sampling.repeat_penalty = (float)v; break;
        case OPT_REPEAT_N:
            if (!parse_num(optarg, -1, 1e9, &v)) goto bad;
            o.gen.sampling.repeat_last_n = (int)v; break;
        case OPT_SEED:
            if (!parse_num(optarg, 0, 1.8e19, &v)) goto bad;
            o.gen.sampling.seed = strtoull(optarg, NULL, 10); break;
        case 'n':
            if (!parse_num(optarg, -1, 1e9, &v)) goto bad;
            o.gen.n_predict = (int)v; break;
        case OPT_CTX:
            if (!parse_num(optarg, 1, 1 << 24, &v)) goto bad;
            o.n_ctx = (uint32_t)v; break;
        case OPT_THREADS:
            if (!parse_num(optarg, 1, 1024, &v)) goto bad;
            o.eng.n_threads = (int)v; break;
        default: return cli_bad_option("run", c, argv);
        bad:
            return cli_usage_error("run", "bad value '%s' for %s%s", optarg,
                                   name[0] == '-' ? "" : "--", name);
        }
    }
    if (optind >= argc)
        return cli_usage_error("run", "missing the MODEL file");
    if (argc - optind > 2)
        return cli_usage_error("run", "unexpected argument '%s' (quote the prompt)", argv[optind + 2]);
    ccai_err err = {0};
    llm_chat_format fmt;
    if (o.eng.chat_format && llm_chat_format_parse(o.eng.chat_format, &fmt, &err))
        return cli_usage_error("run", "--template: %s", err.msg);
    if (!llm_kernels_get(o.eng.kernels, &err))
        return cli_usage_error("run", "--kernels: %s", err.msg);
    llm_engine *e = NULL;
    llm_session *s = NULL;
    if (llm_engine_open(argv[optind], &o.eng, &e, &err) ||
        llm_session_new(e, o.n_ctx, &s, &err)) {
        llm_engine_free(e);
        return cli_fail("run", &err);
    }
    if (o.verbose)
        fprintf(stderr, "model %s: %s, %u layers, chat format %s, kernels %s, %d threads\n",
                e->name, llm_arch_name(e->model->hp.arch), e->model->hp.n_layer,
                llm_chat_format_name(e->chat), e->kernels->name, llm_pool_size(e->pool));
    int rc = argc - optind == 2 ? one_shot(s, &o, argv[optind + 1]) : interactive(s, &o);
    llm_session_free(s);
    llm_engine_free(e);
    return rc;
}

const cli_cmd cli_cmd_run = {"run", "run a model: one prompt or an interactive chat", cmd_run,
                             run_usage};
