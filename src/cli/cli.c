/* Subcommand plumbing: see cli.h. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "ccai %s: %s (see 'ccai %s --help')\n", cmd, msg, cmd);
    else
        fprintf(stderr, "ccai: %s (see 'ccai help')\n", msg);
    return CLI_USAGE;
}

int cli_fail(const char *cmd, const ccai_err *err)
{
    fprintf(stderr, "ccai %s: %s\n", cmd, err->msg[0] ? err->msg : ccai_code_name(err->code));
    return CLI_FAIL;
}

int cli_bad_option(const char *cmd, int c, char **argv)
{
    /* With a leading ':' in optstring, getopt returns ':' for a missing
     * argument and '?' for an unknown option; optind has moved past it. */
    const char *what = argv[optind - 1];
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs a value", what);
    if (optopt && optopt < 256 && what[0] == '-' && what[1] != '-')
        return cli_usage_error(cmd, "unknown option '-%c'", optopt);
    return cli_usage_error(cmd, "unknown option '%s'", what);
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return false;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    }
    return false;
}

int cli_print_help(const cli_cmd *cmd)
{
    fputs(cmd->usage, stdout);
    return CLI_OK;
}

void cli_tee_opts_init(cli_tee_opts *o)
{
    memset(o, 0, sizeof *o);
    o->kind = "auto";
    const char *env = getenv("CCAI_STATE_DIR");
    const char *home = getenv("HOME");
    if (env && *env)
        snprintf(o->state_dir, sizeof o->state_dir, "%s", env);
    else if (home && *home)
        snprintf(o->state_dir, sizeof o->state_dir, "%s/.ccai", home);
    else
        snprintf(o->state_dir, sizeof o->state_dir, "/var/lib/ccai");
    o->cfg.state_dir = o->state_dir;
}

bool cli_tee_opt(cli_tee_opts *o, int c, const char *arg)
{
    switch (c) {
    case CLI_OPT_TEE: o->kind = arg; return true;
    case CLI_OPT_STATE_DIR: snprintf(o->state_dir, sizeof o->state_dir, "%s", arg); return true;
    case CLI_OPT_TSM_ROOT: o->cfg.tsm_root = arg; return true;
    case CLI_OPT_MEASUREMENTS: o->cfg.measurements = arg; return true;
    case CLI_OPT_CCEL: o->cfg.ccel_path = arg; return true;
    default: return false;
    }
}

int cli_tee_open(const char *cmd, cli_tee_opts *o, tee_provider **out)
{
    ccai_err err = {0};
    if (strcmp(o->kind, "auto") && strcmp(o->kind, "tdx") && strcmp(o->kind, "sim"))
        return cli_usage_error(cmd, "--tee must be auto, tdx or sim, not '%s'", o->kind);
    if (tee_provider_open(o->kind, &o->cfg, out, &err))
        return cli_fail(cmd, &err);
    return CLI_OK;
}

int cli_write_output(const char *cmd, const char *path, const void *data, size_t len)
{
    if (!path || !strcmp(path, "-")) {
        if (isatty(STDOUT_FILENO)) {
            fprintf(stderr, "ccai %s: not writing binary data to a terminal; use -o FILE\n", cmd);
            return CLI_USAGE;
        }
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "ccai %s: writing to stdout: %s\n", cmd, strerror(errno));
            return CLI_FAIL;
        }
        return CLI_OK;
    }
    ccai_err err = {0};
    if (ccai_write_file_atomic(path, data, len, 0644, &err))
        return cli_fail(cmd, &err);
    return CLI_OK;
}
