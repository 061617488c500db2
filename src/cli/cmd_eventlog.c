/* `ccai eventlog`: the runtime event log (RTMR3, blueprint "Measured launch")
 * and the firmware event log (CCEL, RTMR0..2): show entries, replay them and
 * compare with the registers the TEE reports now. */
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/json.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "tee/ccel.h"
#include "tee/eventlog.h"

static const char eventlog_usage[] =
    "usage: ccai eventlog show [--firmware] [--json] [TEE options]\n"
    "       ccai eventlog replay [--firmware] [--json] [TEE options]\n"
    "\n"
    "show     lists the runtime event log since TD boot (register, digest, type and\n"
    "         data of each measurement), or with --firmware the firmware event log\n"
    "         (CCEL: register, event type, SHA-384 digest, decoded text)\n"
    "replay   replays the log from 48 zero bytes and compares the result with the\n"
    "         registers the TEE reports now (RTMR3; RTMR0..2 with --firmware);\n"
    "         exits 1 when they differ\n"
    "\n"
    "  --firmware   the firmware log: from --ccel FILE, else the provider's\n"
    "  --json       machine-readable output\n"
    "\n" CLI_TEE_USAGE;

enum { OPT_JSON = CLI_OPT_FIRST_FREE, OPT_FIRMWARE };

static void print_runtime_log(const tee_eventlog *log)
{
    if (log->count == 0)
        printf("(the runtime event log is empty)\n");
    for (size_t i = 0; i < log->count; i++) {
        const tee_event *e = &log->ev[i];
        char hex[97];
        ccai_hex_encode(e->digest, 48, hex);
        json_t *j = NULL;
        const char *type = "?";
        char *data = NULL;
        if (!ccai_json_parse(e->event, strlen(e->event), &j, NULL)) {
            json_t *t = json_object_get(j, "type");
            if (json_is_string(t))
                type = json_string_value(t);
            data = ccai_json_canonical(json_object_get(j, "data"));
        }
        printf("[%zu] RTMR%u %s\n     %s %s\n", i, e->mr, hex, type, data ? data : e->event);
        free(data);
        json_decref(j);
    }
}

static void print_firmware_log(const tee_ccel *log)
{
    for (size_t i = 0; i < log->count; i++) {
        const tee_fw_event *e = &log->ev[i];
        char tn[40], hex[97] = "-";
        const char *type = tee_ccel_type_name(e->type, tn, sizeof tn);
        if (e->has_sha384)
            ccai_hex_encode(e->sha384, 48, hex);
        const char *reg = e->mr_index == 0 ? "MRTD" : NULL;
        char rbuf[16];
        if (!reg) {
            snprintf(rbuf, sizeof rbuf, "RTMR%u", e->mr_index - 1);
            reg = rbuf;
        }
        printf("[%zu] %-5s %-32s %s\n", i, reg, type, hex);
        if (e->text)
            printf("      \"%s\"\n", e->text);
    }
}

static int load_ccel(tee_provider *p, const cli_tee_opts *t, tee_ccel *log)
{
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_err err = {0};
    ccai_code rc = t->cfg.ccel_path
                       ? ccai_read_file(t->cfg.ccel_path, 64u << 20, &data, &len, &err)
                       : p->ops->read_ccel(p, &data, &len, &err);
    if (rc)
        return cli_fail("eventlog", &err);
    rc = tee_ccel_parse(data, len, log, &err);
    free(data);
    if (rc)
        return cli_fail("eventlog", &err);
    return CLI_OK;
}

static int compare(const char *name, const uint8_t replay[48], const uint8_t now[48], json_t *j)
{
    char a[97], b[97];
    ccai_hex_encode(replay, 48, a);
    ccai_hex_encode(now, 48, b);
    bool ok = !memcmp(replay, now, 48);
    if (j) {
        json_t *o = json_object();
        json_object_set_new(o, "replayed", json_string(a));
        json_object_set_new(o, "current", json_string(b));
        json_object_set_new(o, "match", json_boolean(ok));
        json_object_set_new(j, name, o);
    } else {
        printf("%s replayed %s\n%s current  %s\n%s %s\n", name, a, name, b, name,
               ok ? "matches" : "DIFFERS");
    }
    return ok ? CLI_OK : CLI_FAIL;
}

static int run(bool replay, bool firmware, bool as_json, cli_tee_opts *t)
{
    tee_provider *p = NULL;
    int rc = cli_tee_open("eventlog", t, &p);
    if (rc)
        return rc;
    ccai_err err = {0};
    json_t *j = as_json ? json_object() : NULL;
    if (firmware) {
        tee_ccel log = {0};
        if ((rc = load_ccel(p, t, &log)))
            goto out;
        if (!replay) {
            if (j)
                json_object_set_new(j, "events", tee_ccel_to_json(&log));
            else
                print_firmware_log(&log);
        } else {
            uint8_t regs[4][48];
            tee_measurements m;
            tee_ccel_replay(&log, regs);
            if (p->ops->read_measurements(p, &m, &err)) {
                rc = cli_fail("eventlog replay", &err);
            } else {
                static const char *names[] = {"RTMR0", "RTMR1", "RTMR2"};
                for (int i = 0; i < 3; i++)
                    rc |= compare(names[i], regs[i], m.rtmr[i], j);
            }
        }
        tee_ccel_free(&log);
    } else {
        tee_eventlog log = {0};
        if (tee_eventlog_read(p, &log, &err)) {
            rc = cli_fail("eventlog", &err);
            goto out;
        }
        if (!replay) {
            if (j)
                json_object_set_new(j, "events", tee_eventlog_to_json(&log));
            else
                print_runtime_log(&log);
        } else {
            uint8_t r3[48];
            tee_measurements m;
            tee_eventlog_replay(&log, 3, r3);
            if (p->ops->read_measurements(p, &m, &err))
                rc = cli_fail("eventlog replay", &err);
            else
                rc = compare("RTMR3", r3, m.rtmr[3], j);
            if (j)
                json_object_set_new(j, "events", json_integer((json_int_t)log.count));
            else
                printf("%zu events\n", log.count);
        }
        tee_eventlog_free(&log);
    }
    if (j && rc != CLI_USAGE) {
        json_object_set_new(j, "tee", json_string(p->ops->tee));
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
    }
out:
    json_decref(j);
    tee_provider_close(p);
    return rc;
}

static int cmd_eventlog(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_TEE_LONG_OPTIONS,
        {"json", no_argument, NULL, OPT_JSON},
        {"firmware", no_argument, NULL, OPT_FIRMWARE},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2)
        return cli_usage_error("eventlog", "missing the subcommand (show or replay)");
    const char *sub = argv[1];
    if (strcmp(sub, "show") && strcmp(sub, "replay"))
        return cli_usage_error("eventlog", "unknown subcommand '%s' (show or replay)", sub);
    cli_tee_opts t;
    cli_tee_opts_init(&t);
    bool as_json = false, firmware = false;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_tee_opt(&t, c, optarg))
            continue;
        if (c == OPT_JSON)
            as_json = true;
        else if (c == OPT_FIRMWARE)
            firmware = true;
        else
            return cli_bad_option("eventlog", c, argv);
    }
    if (optind < argc)
        return cli_usage_error("eventlog", "unexpected argument '%s'", argv[optind]);
    return run(!strcmp(sub, "replay"), firmware, as_json, &t);
}

const cli_cmd cli_cmd_eventlog = {"eventlog", "show or replay the runtime and firmware event logs",
                                  cmd_eventlog, eventlog_usage};
