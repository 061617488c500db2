/* Shared plumbing of the `ccai` subcommands: the command table, usage errors
 * (one line, exit 2), runtime errors (exit 1), and the options every TEE
 * command takes (--tee, --state-dir and the interface roots for tests). */
#ifndef CCAI_CLI_CLI_H
#define CCAI_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/err.h"
#include "tee/provider.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);   /* argv[0] is the command name */
    const char *usage;                    /* the full --help text */
} cli_cmd;

/* Subcommands (one file each under src/cli/). */
extern const cli_cmd cli_cmd_quote, cli_cmd_sim, cli_cmd_eventlog, cli_cmd_measure, cli_cmd_verify,
    cli_cmd_run, cli_cmd_tokenize, cli_cmd_dev;
extern const cli_cmd cli_cmd_bench;
extern const cli_cmd cli_cmd_serve;
extern const cli_cmd cli_cmd_attest, cli_cmd_chat;
extern const cli_cmd cli_cmd_pull, cli_cmd_list, cli_cmd_show, cli_cmd_rm; /* cmd_store.c */
/* cmd_store.c, for serve's --model: each entry that is not a file is looked
 * up in the model store (store/store.h); paths[i] gets the file, names[i]
 * the store name (NULL for a plain file). Free with cli_store_resolved_free. */
ccai_code cli_store_resolve(const char *const *models, size_t n, char ***paths, char ***names,
                            ccai_err *err);
void cli_store_resolved_free(char **paths, char **names, size_t n);
extern const cli_cmd cli_cmd_verifier;

/* "ccai <cmd>: <message> (see 'ccai <cmd> --help')" on stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "ccai <cmd>: <err->msg>" on stderr; returns 1. */
int cli_fail(const char *cmd, const ccai_err *err);
/* Reports getopt's '?' or ':' result for argv as a usage error. */
int cli_bad_option(const char *cmd, int c, char **argv);
/* True when argv has -h/--help anywhere before "--" (then print usage, exit 0). */
bool cli_wants_help(int argc, char **argv);
int cli_print_help(const cli_cmd *cmd);

/* Options shared by commands that talk to a TEE. */
typedef struct cli_tee_opts {
    const char *kind;        /* --tee auto|tdx|sim */
    char state_dir[4096];    /* --state-dir, $CCAI_STATE_DIR, ~/.ccai */
    tee_config cfg;
} cli_tee_opts;

enum {
    CLI_OPT_TEE = 1000,
    CLI_OPT_STATE_DIR,
    CLI_OPT_TSM_ROOT,
    CLI_OPT_MEASUREMENTS,
    CLI_OPT_CCEL,
    CLI_OPT_FIRST_FREE,   /* commands number their own long options from here */
};

#define CLI_TEE_LONG_OPTIONS                                                \
    {"tee", required_argument, NULL, CLI_OPT_TEE},                          \
    {"state-dir", required_argument, NULL, CLI_OPT_STATE_DIR},              \
    {"tsm-root", required_argument, NULL, CLI_OPT_TSM_ROOT},                \
    {"measurements-root", required_argument, NULL, CLI_OPT_MEASUREMENTS},   \
    {"ccel", required_argument, NULL, CLI_OPT_CCEL}

#define CLI_TEE_USAGE                                                              \
    "TEE options:\n"                                                               \
    "  --tee auto|tdx|sim      evidence provider (default auto: tdx when\n"        \
    "                          configfs-tsm reports tdx_guest, else an error)\n"   \
    "  --state-dir DIR         ccai state (default $CCAI_STATE_DIR or ~/.ccai)\n"  \
    "  --tsm-root DIR          configfs-tsm report root (default\n"                \
    "                          " TEE_DEFAULT_TSM_ROOT ")\n"                        \
    "  --measurements-root DIR TDX sysfs measurements (default\n"                 \
    "                          " TEE_DEFAULT_TDX_MEASUREMENTS ")\n"                \
    "  --ccel FILE             firmware event log (default\n"                      \
    "                          " TEE_DEFAULT_CCEL_DATA ")\n"

void cli_tee_opts_init(cli_tee_opts *o);
/* Handles one of the CLI_OPT_TEE.. options; false when c is not one of them. */
bool cli_tee_opt(cli_tee_opts *o, int c, const char *arg);
/* Opens the provider the options name; prints the error and returns 1 on failure. */
int cli_tee_open(const char *cmd, cli_tee_opts *o, tee_provider **out);

/* Writes bytes to path ("-" = stdout, refused when stdout is a terminal). */
int cli_write_output(const char *cmd, const char *path, const void *data, size_t len);

#endif
