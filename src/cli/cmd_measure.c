/* `ccai measure extend`: append one event to the runtime event log and
 * extend RTMR3 with its digest (blueprint "Measured launch"). Tests and
 * operators use it; `ccai serve` measures through the same tee_measure. */
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/json.h"
#include "cli/cli.h"
#include "tee/eventlog.h"

static const char measure_usage[] =
    "usage: ccai measure extend --type TYPE --data JSON [TEE options]\n"
    "\n"
    "Measures an event: the canonical JSON {\"data\":DATA,\"type\":TYPE} (keys\n"
    "sorted, no white space) is appended to the runtime event log and its\n"
    "SHA-384 is extended into RTMR3. TYPE must start with \"ccai.\"; DATA must be\n"
    "a JSON object without floating-point numbers. Prints the event, its digest\n"
    "and the new RTMR3.\n"
    "\n" CLI_TEE_USAGE;

enum { OPT_TYPE = CLI_OPT_FIRST_FREE, OPT_DATA };

static int cmd_measure(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_TEE_LONG_OPTIONS,
        {"type", required_argument, NULL, OPT_TYPE},
        {"data", required_argument, NULL, OPT_DATA},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2)
        return cli_usage_error("measure", "missing the subcommand (extend)");
    if (strcmp(argv[1], "extend"))
        return cli_usage_error("measure", "unknown subcommand '%s' (extend)", argv[1]);
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

const cli_cmd cli_cmd_measure = {"measure", "measure an event into RTMR3 (measure extend)",
                                 cmd_measure, measure_usage};
