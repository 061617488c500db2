/* `ccai serve`: the command line of the confidential inference server
 * (server.h, docs/serve.md). This file only turns flags into a
 * ccai_server_config -- refusing what is unsafe (plain HTTP or no
 * authentication anywhere but loopback) -- and takes the first admin's
 * password out of the environment, wiping it there. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli/cli.h"
#include "llm/kernels/kernels.h"
#include "server/server.h"

static const char serve_usage[] =
    "usage: ccai serve --model PATH... [options]\n"
    "\n"
    "Serves GGUF models over HTTPS with the Ollama and OpenAI APIs, and proves\n"
    "itself with ccai-attest/1 evidence (GET /api/attestation?nonce=...): a TDX\n"
    "quote bound to the client's nonce and to this server's TLS key, and the\n"
    "event log of its measured launch (binary, configuration, models -> RTMR3).\n"
    "\n"
    "  --model PATH|NAME       a GGUF model to serve (repeatable; a file is named\n"
    "                          after it: stories260K.gguf -> stories260K:latest;\n"
    "                          any other NAME is looked up in the model store,\n"
    "                          see 'ccai list')\n"
    "  --listen HOST:PORT      address to listen on (default 127.0.0.1:11434)\n"
    "  --state-dir DIR         accounts, simulated TD, event log (default\n"
    "                          $CCAI_STATE_DIR or ~/.ccai)\n"
    "  --tee auto|tdx|sim      evidence provider (default auto: TDX or an error)\n"
    "  --threads N             compute threads (default: all cores)\n"
    "  --ctx N                 context length per sequence (default: the model's,\n"
    "                          at most 4096)\n"
    "  --parallel N            sequences generating at once (default 1)\n"
    "  --queue N               requests waiting beyond those (default 16; then 503)\n"
    "  --verifier URL          attestation service clients should use\n"
    "  --policy-id ID          policy clients should ask the verifier for\n"
    "  --tls on|off            HTTPS (default on; off only on a loopback address)\n"
    "  --tls-cert FILE --tls-key FILE\n"
    "                          the operator's certificate (chain) and key in PEM;\n"
    "                          default: a P-256 key born in memory, self-signed\n"
    "  --auth on|off           API keys and logins (default on; off only on a\n"
    "                          loopback address: everyone is admin)\n"
    "  --admin-password-env VAR\n"
    "                          the first admin's password is read from $VAR\n"
    "                          (default CCAI_ADMIN_PASSWORD); else one is generated\n"
    "                          and printed once\n"
    "  --collateral FILE       collateral bundle attached to evidence (the\n"
    "                          simulated TD makes its own)\n"
    "  --kernels NAME          compute kernels: auto, scalar, ...\n"
    "  --max-body BYTES        largest request body (default 4194304)\n"
    "  --max-tokens N          cap on tokens generated per request (default 4096)\n"
    "  --timeout S             generation time limit per request (default 600)\n"
    "  --attest-per-minute N   attestation quotes per client address and minute\n"
    "                          (default 30)\n"
    "  --access-log FILE       append the access log here (default stderr)\n"
    "  --store-models          also offer every model of the model store (and of an\n"
    "                          Ollama store) in /api/tags; each is hashed and\n"
    "                          measured into RTMR3 before its first use, so a\n"
    "                          request for one changes what the evidence shows\n"
    "  --sim-debug             with --tee sim: report a debug TD (for testing\n"
    "                          that relying parties refuse one)\n"
    "  --print-config          print the effective configuration (the ccai.config\n"
    "                          event data, for `ccai measure --config`) and exit\n"
    "\n"
    "SIGTERM or SIGINT stops the server gracefully.\n";

enum {
    OPT_MODEL = CLI_OPT_FIRST_FREE, OPT_LISTEN, OPT_THREADS, OPT_CTX, OPT_PARALLEL, OPT_QUEUE,
    OPT_VERIFIER, OPT_POLICY, OPT_TLS, OPT_CERT, OPT_KEY, OPT_AUTH, OPT_PW_ENV, OPT_COLLATERAL,
    OPT_KERNELS, OPT_MAX_BODY, OPT_MAX_TOKENS, OPT_TIMEOUT, OPT_ATTEST_RATE, OPT_ACCESS_LOG,
    OPT_PRINT_CONFIG, OPT_SIM_DEBUG, OPT_STORE_MODELS,
};

static bool parse_long(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_on_off(const char *s, bool *out)
{
    if (!strcmp(s, "on")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "off")) {
        *out = false;
        return true;
    }
    return false;
}

/* A copy of $var, wiped in the environment block and removed from it, so
 * the password is in one place only and that place gets wiped. The caller
 * wipes and frees the copy (ccai_serve wipes it once used). */
static char *take_env_secret(const char *var)
{
    char *v = getenv(var);
    if (!v || !*v)
        return NULL;
    char *copy = ccai_xstrdup(v);
    ccai_wipe(v, strlen(v));
    unsetenv(var);
    return copy;
}

static int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tee", required_argument, NULL, CLI_OPT_TEE},
        {"state-dir", required_argument, NULL, CLI_OPT_STATE_DIR},
        {"model", required_argument, NULL, OPT_MODEL},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"ctx", required_argument, NULL, OPT_CTX},
        {"parallel", required_argument, NULL, OPT_PARALLEL},
        {"queue", required_argument, NULL, OPT_QUEUE},
        {"verifier", required_argument, NULL, OPT_VERIFIER},
        {"policy-id", required_argument, NULL, OPT_POLICY},
        {"tls", required_argument, NULL, OPT_TLS},
        {"tls-cert", required_argument, NULL, OPT_CERT},
        {"tls-key", required_argument, NULL, OPT_KEY},
        {"auth", required_argument, NULL, OPT_AUTH},
        {"admin-password-env", required_argument, NULL, OPT_PW_ENV},
        {"collateral", required_argument, NULL, OPT_COLLATERAL},
        {"kernels", required_argument, NULL, OPT_KERNELS},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"attest-per-minute", required_argument, NULL, OPT_ATTEST_RATE},
        {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
        {"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
        {"sim-debug", no_argument, NULL, OPT_SIM_DEBUG},
        {"store-models", no_argument, NULL, OPT_STORE_MODELS},
        {NULL, 0, NULL, 0},
    };
    cli_tee_opts t;
    cli_tee_opts_init(&t);
    ccai_server_config cfg;
    ccai_server_config_init(&cfg);
    const char **models = NULL;
    size_t n_models = 0;
    const char *pw_env = "CCAI_ADMIN_PASSWORD";
    bool print_config = false;
    long long v;
    int c, li, rc = CLI_USAGE;
    optind = 1;
    while ((li = -1, c = getopt_long(argc, argv, ":", opts, &li)) != -1) {
        const char *name = li >= 0 ? opts[li].name : "?";
        if (cli_tee_opt(&t, c, optarg))
            continue;
        switch (c) {
        case OPT_MODEL:
            models = ccai_xrealloc(models, (n_models + 1) * sizeof *models);
            models[n_models++] = optarg;
            break;
        case OPT_LISTEN: cfg.listen = optarg; break;
        case OPT_VERIFIER: cfg.verifier_url = optarg; break;
        case OPT_POLICY: cfg.policy_id = optarg; break;
        case OPT_CERT: cfg.tls_cert = optarg; break;
        case OPT_KEY: cfg.tls_key = optarg; break;
        case OPT_PW_ENV: pw_env = optarg; break;
        case OPT_COLLATERAL: cfg.collateral = optarg; break;
        case OPT_KERNELS: cfg.kernels = optarg; break;
        case OPT_ACCESS_LOG: cfg.access_log = optarg; break;
        case OPT_PRINT_CONFIG: print_config = true; break;
        case OPT_SIM_DEBUG: cfg.sim_debug = true; break;
        case OPT_STORE_MODELS: cfg.store_models = true; break;
        case OPT_TLS: if (!parse_on_off(optarg, &cfg.tls)) goto bad; break;
        case OPT_AUTH: if (!parse_on_off(optarg, &cfg.auth)) goto bad; break;
        case OPT_THREADS:
            if (!parse_long(optarg, 1, 1024, &v)) goto bad;
            cfg.threads = (int)v; break;
        case OPT_CTX:
            if (!parse_long(optarg, 16, 1 << 20, &v)) goto bad;
            cfg.n_ctx = (uint32_t)v; break;
        case OPT_PARALLEL:
            if (!parse_long(optarg, 1, 256, &v)) goto bad;
            cfg.parallel = (int)v; break;
        case OPT_QUEUE:
            if (!parse_long(optarg, 0, 1 << 16, &v)) goto bad;
            cfg.queue_max = (int)v; break;
        case OPT_MAX_BODY:
            if (!parse_long(optarg, 1024, 1LL << 30, &v)) goto bad;
            cfg.max_body_bytes = (size_t)v; break;
        case OPT_MAX_TOKENS:
            if (!parse_long(optarg, 1, 1 << 20, &v)) goto bad;
            cfg.max_tokens = (int)v; break;
        case OPT_TIMEOUT:
            if (!parse_long(optarg, 1, 7 * 24 * 3600, &v)) goto bad;
            cfg.request_timeout_s = (int)v; break;
        case OPT_ATTEST_RATE:
            if (!parse_long(optarg, 1, 1 << 20, &v)) goto bad;
            cfg.attest_per_minute = (int)v; break;
        default:
            rc = cli_bad_option("serve", c, argv);
            goto out;
        bad:
            rc = cli_usage_error("serve", "bad value '%s' for --%s", optarg, name);
            goto out;
        }
    }
    ccai_err err = {0};
    if (optind < argc) {
        rc = cli_usage_error("serve", "unexpected argument '%s' (models go after --model)",
                             argv[optind]);
    } else if (n_models == 0 && !print_config && !cfg.store_models) {
        rc = cli_usage_error("serve", "missing --model PATH (or --store-models)");
    } else if (strcmp(t.kind, "auto") && strcmp(t.kind, "tdx") && strcmp(t.kind, "sim")) {
        rc = cli_usage_error("serve", "--tee must be auto, tdx or sim, not '%s'", t.kind);
    } else if (cfg.sim_debug && strcmp(t.kind, "sim")) {
        rc = cli_usage_error("serve", "--sim-debug needs --tee sim");
    } else if ((cfg.tls_cert == NULL) != (cfg.tls_key == NULL)) {
        rc = cli_usage_error("serve", "--tls-cert and --tls-key go together");
    } else if (!cfg.tls && cfg.tls_cert) {
        rc = cli_usage_error("serve", "--tls-cert with --tls off");
    } else if ((!cfg.tls || !cfg.auth) && !ccai_listen_is_loopback(cfg.listen)) {
        rc = cli_usage_error("serve", "--%s off is only allowed on a loopback address, not %s",
                             !cfg.tls ? "tls" : "auth", cfg.listen);
    } else if (cfg.kernels && !llm_kernels_get(cfg.kernels, &err)) {
        rc = cli_usage_error("serve", "--kernels: %s", err.msg);
    } else if (print_config) {
        /* What serve would measure as ccai.config (ccai measure --config). */
        cfg.tee = t.kind;
        cfg.state_dir = t.state_dir;
        json_t *j = ccai_server_config_json(&cfg);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
        json_decref(j);
        rc = CLI_OK;
    } else {
        if (!cfg.tls)
            fprintf(stderr, "ccai serve: warning: --tls off: plain HTTP on %s (loopback only); "
                            "evidence binds no TLS key\n", cfg.listen);
        if (!cfg.auth)
            fprintf(stderr, "ccai serve: warning: --auth off: every caller on %s is an admin "
                            "(loopback only)\n", cfg.listen);
        cfg.tee = t.kind;
        cfg.state_dir = t.state_dir;
        char **paths = NULL, **names = NULL; /* --model NAME: through the store */
        if (cli_store_resolve(models, n_models, &paths, &names, &err)) {
            rc = cli_fail("serve", &err);
            goto out;
        }
        cfg.models = (const char *const *)paths;
        cfg.model_names = (const char *const *)names;
        cfg.n_models = n_models;
        cfg.admin_password = take_env_secret(pw_env);
        if (cfg.admin_password && !cfg.auth) { /* unused: scrubbed all the same */
            ccai_wipe(cfg.admin_password, strlen(cfg.admin_password));
            free(cfg.admin_password);
            cfg.admin_password = NULL;
        }
        rc = ccai_serve(&cfg, &err) ? cli_fail("serve", &err) : CLI_OK;
        if (cfg.admin_password) {
            ccai_wipe(cfg.admin_password, strlen(cfg.admin_password));
            free(cfg.admin_password);
        }
        cli_store_resolved_free(paths, names, n_models);
    }
out:
    free(models);
    return rc;
}

const cli_cmd cli_cmd_serve = {"serve", "serve models over HTTPS with attested evidence",
                               cmd_serve, serve_usage};
