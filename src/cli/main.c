/* ccai: one binary, many subcommands. main() only dispatches and is the one
 * place that turns errors into exit codes: 0 success, 1 failure, 2 usage
 * (unknown command or option, bad argument). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/version.h"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const cli_cmd cli_cmd_version = {
    "version", "print the version, git commit and build type", cmd_version,
    "usage: ccai version\n\n"
    "Prints the ccai version, the git commit it was built from and the build type.\n",
};

static const cli_cmd cli_cmd_help = {
    "help", "show help for ccai or one command", cmd_help,
    "usage: ccai help [COMMAND]\n",
};

static const cli_cmd *const commands[] = {
    &cli_cmd_run, &cli_cmd_tokenize, &cli_cmd_quote, &cli_cmd_verify, &cli_cmd_sim,
    &cli_cmd_eventlog, &cli_cmd_measure, &cli_cmd_dev,
    &cli_cmd_bench,
    &cli_cmd_serve, &cli_cmd_attest, &cli_cmd_chat,
    &cli_cmd_pull, &cli_cmd_list, &cli_cmd_show, &cli_cmd_rm,
    &cli_cmd_verifier,
    &cli_cmd_version, &cli_cmd_help,
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static const cli_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i]->name, name))
            return commands[i];
    return NULL;
}

static void print_overview(FILE *f)
{
    fprintf(f, "ccai %s: confidential LLM inference with attested TDX evidence\n\n"
               "usage: ccai COMMAND [OPTIONS]\n\ncommands:\n",
            ccai_version);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nRun 'ccai COMMAND --help' for a command's options.\n");
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 1)
        return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
    printf("ccai %s (commit %s, %s build)\n", ccai_version, ccai_git_commit, ccai_build_type);
    return CLI_OK;
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 2)
        return cli_usage_error("help", "unexpected argument '%s'", argv[2]);
    if (argc == 1) {
        print_overview(stdout);
        return CLI_OK;
    }
    const cli_cmd *c = find_command(argv[1]);
    if (!c)
        return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
    return cli_print_help(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help"))
        name = "help";
    else if (!strcmp(name, "-V") || !strcmp(name, "--version"))
        name = "version";
    const cli_cmd *c = find_command(name);
    if (!c) {
        if (name[0] == '-')
            return cli_usage_error(NULL, "unknown option '%s'", name);
        return cli_usage_error(NULL, "unknown command '%s'", name);
    }
    if (cli_wants_help(argc - 1, argv + 1))
        return cli_print_help(c);
    return c->run(argc - 1, argv + 1);
}
