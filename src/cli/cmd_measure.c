/* `ccai measure`: two jobs around the measured launch (blueprint "Measured
 * launch", docs/measure.md).
 *
 *   ccai measure --binary PATH [--config FILE] --model PATH... [-o POLICY]
 *     predicts, from the files alone, the events `ccai serve` will extend into
 *     RTMR3 and the RTMR3 value a freshly booted TD then has, and writes a
 *     policy of reference values (binary and model SHA-256, and the config
 *     values when a config is given) that `ccai verify` / `ccai attest` apply.
 *     The event data comes from server/launch.c, the code serve measures with.
 *
 *   ccai measure extend --type TYPE --data JSON
 *     appends one event to the runtime event log and extends RTMR3. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "server/server.h"
#include "tee/eventlog.h"

static const char measure_usage[] =
    "usage: ccai measure --binary PATH [--config FILE] --model PATH|NAME... [-o POLICY.json]\n"
    "                    [--policy-id ID] [--json]\n"
    "       ccai measure extend --type TYPE --data JSON [TEE options]\n"
    "\n"
    "Predicts the measured launch of `ccai serve`: the events it extends into\n"
    "RTMR3 (ccai.binary, ccai.config, ccai.model...) and the RTMR3 value a\n"
    "freshly booted TD reaches with them, from the files alone. With -o it\n"
    "writes a policy of those reference values (binary and model SHA-256, the\n"
    "config values when --config is given) for `ccai verify --policy` and\n"
    "`ccai attest --policy`.\n"
    "\n"
    "  --binary PATH     the ccai executable serve will run (its path as the\n"
    "                    server will see it: the event records it)\n"
    "  --config FILE     the effective configuration, as `ccai serve\n"
    "                    --print-config` prints it (JSON); without it the\n"
    "                    configuration is serve's defaults (no config values\n"
    "                    are then required by the policy)\n"
    "  --model PATH|NAME a model file or a model store name, in serve's order\n"
    "                    (repeatable)\n"
    "  -o POLICY.json    write the policy here\n"
    "  --policy-id ID    the policy's id (default \"measured\")\n"
    "  --json            print the prediction as JSON\n"
    "\n"
    "extend: measures an event: the canonical JSON {\"data\":DATA,\"type\":TYPE}\n"
    "(keys sorted, no white space) is appended to the runtime event log and its\n"
    "SHA-384 is extended into RTMR3. TYPE must start with \"ccai.\"; DATA must be\n"
    "a JSON object without floating-point numbers. Prints the event, its digest\n"
    "and the new RTMR3.\n"
    "\n" CLI_TEE_USAGE;

enum { OPT_TYPE = CLI_OPT_FIRST_FREE, OPT_DATA };

static int measure_extend(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_TEE_LONG_OPTIONS,
        {"type", required_argument, NULL, OPT_TYPE},
        {"data", required_argument, NULL, OPT_DATA},
        {NULL, 0, NULL, 0},
    };
    cli_tee_opts t;
    cli_tee_opts_init(&t);
    const char *type = NULL, *data = NULL;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_tee_opt(&t, c, optarg))
            continue;
        if (c == OPT_TYPE)
            type = optarg;
        else if (c == OPT_DATA)
            data = optarg;
        else
            return cli_bad_option("measure", c, argv);
    }
    if (optind < argc)
        return cli_usage_error("measure", "unexpected argument '%s'", argv[optind]);
    if (!type || !data)
        return cli_usage_error("measure", "extend needs --type and --data");
    ccai_err err = {0};
    json_t *j = NULL;
    if (ccai_json_parse(data, strlen(data), &j, &err))
        return cli_usage_error("measure", "--data: %s", err.msg);
    tee_provider *p = NULL;
    int rc = cli_tee_open("measure", &t, &p);
    if (rc) {
        json_decref(j);
        return rc;
    }
    tee_event ev = {0};
    tee_measurements m;
    if (tee_measure(p, type, j, &ev, &err) || p->ops->read_measurements(p, &m, &err)) {
        rc = cli_fail("measure extend", &err);
    } else {
        char d[97], r[97];
        ccai_hex_encode(ev.digest, 48, d);
        ccai_hex_encode(m.rtmr[3], 48, r);
        printf("event  %s\ndigest %s\nrtmr_3 %s\n", ev.event, d, r);
    }
    tee_event_free(&ev);
    json_decref(j);
    tee_provider_close(p);
    return rc;
}

/* ---- prediction ----------------------------------------------------------------- */

enum { OPT_BINARY = CLI_OPT_FIRST_FREE + 10, OPT_CONFIG, OPT_MODEL, OPT_POLICY_ID, OPT_JSON };

enum { MAX_CONFIG_BYTES = 1 << 20 };

typedef struct predict_args {
    const char *binary, *config, *out, *policy_id;
    const char **models;
    size_t n_models;
    bool json;
} predict_args;

/* Adds the event {"data":data,"type":type} to log (data is consumed). */
static ccai_code add_event(tee_eventlog *log, const char *type, json_t *data, ccai_err *err)
{
    tee_event ev = {0};
    ccai_code rc = tee_event_make(type, data, &ev, err);
    json_decref(data);
    if (!rc)
        tee_eventlog_add(log, &ev);
    tee_event_free(&ev);
    return rc;
}

/* The configuration serve will measure: the file's object, or serve's
 * defaults (state directory resolved as serve resolves it). */
static ccai_code load_config(const char *file, json_t **out, ccai_err *err)
{
    if (!file) {
        cli_tee_opts t;
        cli_tee_opts_init(&t);
        ccai_server_config cfg;
        ccai_server_config_init(&cfg);
        cfg.tee = t.kind;
        cfg.state_dir = t.state_dir;
        *out = ccai_server_config_json(&cfg);
        return CCAI_OK;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(file, MAX_CONFIG_BYTES, &buf, &len, err);
    if (!rc)
        rc = ccai_json_parse((const char *)buf, len, out, err);
    free(buf);
    if (!rc && !json_is_object(*out)) {
        rc = ccai_fail(err, CCAI_ERR_PARSE, "expected a JSON object, found %s",
                       ccai_json_kind(*out));
        json_decref(*out);
        *out = NULL;
    }
    if (rc)
        ccai_err_prefix(err, "--config %s", file);
    return rc;
}

/* binary, config, then each model: the order of serve's measured launch. */
static ccai_code predict(const predict_args *a, tee_eventlog *log, json_t **config,
                         json_t **policy, ccai_err *err)
{
    char real[PATH_MAX];
    if (!realpath(a->binary, real))
        return ccai_fail(err, CCAI_ERR_IO, "--binary %s: %s", a->binary, strerror(errno));
    json_t *bin = NULL;
    ccai_code rc = ccai_launch_binary_data(real, real, &bin, err);
    if (rc) {
        ccai_err_prefix(err, "--binary");
        return rc;
    }
    char **paths = NULL, **names = NULL;
    if ((rc = cli_store_resolve(a->models, a->n_models, &paths, &names, err))) {
        json_decref(bin);
        return rc;
    }
    json_t *bins = json_array(), *models = json_array();
    json_array_append(bins, json_object_get(bin, "sha256"));
    if ((rc = add_event(log, "ccai.binary", bin, err)) || (rc = load_config(a->config, config, err)) ||
        (rc = add_event(log, "ccai.config", json_incref(*config), err)))
        goto out;
    for (size_t i = 0; i < a->n_models; i++) {
        uint8_t h[32];
        struct stat st;
        if ((rc = ccai_sha256_file(paths[i], h, err))) {
            ccai_err_prefix(err, "--model");
            goto out;
        }
        if (stat(paths[i], &st) != 0) {
            rc = ccai_fail(err, CCAI_ERR_IO, "--model %s: %s", paths[i], strerror(errno));
            goto out;
        }
        /* Named as serve names it: the store name, else after the file. */
        char *name = names[i] ? ccai_xstrdup(names[i]) : ccai_model_name_from_path(paths[i]);
        json_t *data = ccai_launch_model_data(name, h, (uint64_t)st.st_size);
        free(name);
        json_array_append(models, json_object_get(data, "sha256"));
        if ((rc = add_event(log, "ccai.model", data, err)))
            goto out;
    }
    *policy = json_pack("{s:s, s:O, s:O, s:b}", "id", a->policy_id ? a->policy_id : "measured",
                        "binary_sha256", bins, "model_sha256", models, "require_runtime_log", 1);
    if (a->config)
        json_object_set(*policy, "config", *config);
out:
    cli_store_resolved_free(paths, names, a->n_models);
    json_decref(bins);
    json_decref(models);
    return rc;
}

static int predict_print(const predict_args *a, const tee_eventlog *log, const json_t *policy)
{
    uint8_t rtmr3[48];
    tee_eventlog_replay(log, 3, rtmr3);
    char r[97];
    ccai_hex_encode(rtmr3, 48, r);
    if (a->json) {
        json_t *j = json_pack("{s:o, s:s, s:O}", "event_log", tee_eventlog_to_json(log), "rtmr_3",
                              r, "policy", policy);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
        json_decref(j);
        return CLI_OK;
    }
    for (size_t i = 0; i < log->count; i++) {
        char d[97];
        ccai_hex_encode(log->ev[i].digest, 48, d);
        printf("event  %s\ndigest %s\n", log->ev[i].event, d);
    }
    printf("rtmr_3 %s   (a freshly booted TD after serve's launch)\n", r);
    return CLI_OK;
}

static ccai_code write_policy(const char *path, const json_t *policy, ccai_err *err)
{
    char *text = json_dumps(policy, JSON_INDENT(2) | JSON_SORT_KEYS);
    size_t n = strlen(text);
    text = ccai_xrealloc(text, n + 2);
    text[n++] = '\n';
    ccai_code rc = ccai_write_file_atomic(path, text, n, 0644, err);
    free(text);
    if (rc)
        ccai_err_prefix(err, "-o %s", path);
    return rc;
}

static int measure_predict(int argc, char **argv)
{
    static const struct option opts[] = {
        {"binary", required_argument, NULL, OPT_BINARY},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"model", required_argument, NULL, OPT_MODEL},
        {"output", required_argument, NULL, 'o'},
        {"policy-id", required_argument, NULL, OPT_POLICY_ID},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    predict_args a = {0};
    int c, rc = CLI_USAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        switch (c) {
        case OPT_BINARY: a.binary = optarg; break;
        case OPT_CONFIG: a.config = optarg; break;
        case 'o': a.out = optarg; break;
        case OPT_POLICY_ID: a.policy_id = optarg; break;
        case OPT_JSON: a.json = true; break;
        case OPT_MODEL:
            a.models = ccai_xrealloc(a.models, (a.n_models + 1) * sizeof *a.models);
            a.models[a.n_models++] = optarg;
            break;
        default:
            rc = cli_bad_option("measure", c, argv);
            goto done;
        }
    }
    if (optind < argc) {
        rc = cli_usage_error("measure", "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (!a.binary || a.n_models == 0) {
        rc = cli_usage_error("measure", "needs --binary PATH and at least one --model PATH "
                                        "(or the subcommand extend)");
        goto done;
    }
    ccai_err err = {0};
    tee_eventlog log = {0};
    json_t *config = NULL, *policy = NULL;
    if (predict(&a, &log, &config, &policy, &err)) {
        rc = cli_fail("measure", &err);
    } else if (a.out && write_policy(a.out, policy, &err)) {
        rc = cli_fail("measure", &err);
    } else {
        rc = predict_print(&a, &log, policy);
        if (a.out && !a.json)
            printf("policy %s written to %s\n", json_string_value(json_object_get(policy, "id")),
                   a.out);
    }
    json_decref(config);
    json_decref(policy);
    tee_eventlog_free(&log);
done:
    free(a.models);
    return rc;
}

static int cmd_measure(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "extend"))
        return measure_extend(argc, argv);
    return measure_predict(argc, argv);
}

const cli_cmd cli_cmd_measure = {
    "measure", "predict serve's RTMR3 and write a policy; measure extend: extend RTMR3",
    cmd_measure, measure_usage};
