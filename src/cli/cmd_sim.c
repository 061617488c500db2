/* `ccai sim`: the simulated TD's state — info, reset ("reboot"), and its
 * freshly signed collateral bundle. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "tee/sim.h"

static const char sim_usage[] =
    "usage: ccai sim info [--json] [--state-dir DIR]\n"
    "       ccai sim reset [--state-dir DIR]\n"
    "       ccai sim collateral [-o FILE] [--at TIME] [--state-dir DIR]\n"
    "\n"
    "The simulated TD stands in for TDX hardware on machines without it. Its\n"
    "quotes have the real v4 format and are signed through a complete simulated\n"
    "chain, but its root key is public: simulated evidence is never confidential\n"
    "and verifiers accept it only when told to (--trust-simulated).\n"
    "\n"
    "  info         the state directory, registers, FMSPC and certificates\n"
    "  reset        \"reboot\" the simulated TD: RTMR3 back to zero and the runtime\n"
    "               event log cleared\n"
    "  collateral   write the collateral bundle (TCB info, QE identity, CRLs and\n"
    "               their issuer chains), signed now and valid for 30 days from\n"
    "               TIME (RFC 3339, default now); to stdout without -o\n"
    "\n"
    "  --state-dir DIR   ccai state (default $CCAI_STATE_DIR or ~/.ccai)\n";

enum { OPT_JSON = CLI_OPT_FIRST_FREE, OPT_AT };

static void print_info_text(json_t *info)
{
    const char *k;
    json_t *v;
    json_object_foreach(info, k, v) {
        if (json_is_string(v))
            printf("%-18s %s\n", k, json_string_value(v));
        else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            printf("%-18s %s\n", k, s ? s : "?");
            free(s);
        }
    }
}

static int cmd_sim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state-dir", required_argument, NULL, CLI_OPT_STATE_DIR},
        {"json", no_argument, NULL, OPT_JSON},
        {"at", required_argument, NULL, OPT_AT},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2)
        return cli_usage_error("sim", "missing the subcommand (info, reset or collateral)");
    const char *sub = argv[1];
    if (strcmp(sub, "info") && strcmp(sub, "reset") && strcmp(sub, "collateral"))
        return cli_usage_error("sim", "unknown subcommand '%s' (info, reset or collateral)", sub);
    cli_tee_opts t;
    cli_tee_opts_init(&t);
    bool as_json = false;
    const char *out = NULL, *at = NULL;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        if (cli_tee_opt(&t, c, optarg))
            continue;
        if (c == OPT_JSON && !strcmp(sub, "info"))
            as_json = true;
        else if (c == 'o' && !strcmp(sub, "collateral"))
            out = optarg;
        else if (c == OPT_AT && !strcmp(sub, "collateral"))
            at = optarg;
        else if (c == OPT_JSON || c == 'o' || c == OPT_AT)
            return cli_usage_error("sim", "'%s' does not apply to 'sim %s'", argv[optind - 1], sub);
        else
            return cli_bad_option("sim", c, argv);
    }
    if (optind < argc)
        return cli_usage_error("sim", "unexpected argument '%s'", argv[optind]);

    ccai_err err = {0};
    if (!strcmp(sub, "reset")) {
        if (tee_sim_reset(&t.cfg, &err))
            return cli_fail("sim reset", &err);
        printf("simulated TD rebooted: RTMR3 is zero and the runtime event log is empty\n");
        return CLI_OK;
    }
    if (!strcmp(sub, "info")) {
        json_t *info = NULL;
        if (tee_sim_info(&t.cfg, &info, &err))
            return cli_fail("sim info", &err);
        if (as_json) {
            json_dumpf(info, stdout, JSON_INDENT(2));
            putchar('\n');
        } else {
            print_info_text(info);
        }
        json_decref(info);
        return CLI_OK;
    }
    time_t now = time(NULL);
    if (at && ccai_time_parse(at, &now, &err))
        return cli_usage_error("sim", "--at: %s", err.msg);
    json_t *bundle = NULL;
    if (tee_sim_collateral(&t.cfg, now, &bundle, &err))
        return cli_fail("sim collateral", &err);
    char *text = json_dumps(bundle, JSON_INDENT(2));
    json_decref(bundle);
    size_t n = strlen(text);
    text[n] = '\n';
    int rc = out ? cli_write_output("sim collateral", out, text, n + 1)
                 : (fwrite(text, 1, n + 1, stdout) == n + 1 ? CLI_OK : CLI_FAIL);
    free(text);
    return rc;
}

const cli_cmd cli_cmd_sim = {"sim", "the simulated TD: info, reset, collateral", cmd_sim,
                             sim_usage};
