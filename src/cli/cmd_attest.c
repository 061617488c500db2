/* `ccai attest URL`: the command-line relying party (client/attest.h).
 * Exit codes as `ccai verify`: 0 verified and the policy passed, 2 rejected,
 * 1 usage error, 3 collateral could not be obtained. */
#include <stdio.h>
#include <string.h>

#include "cli/attest_opts.h"
#include "cli/cli.h"

static const char attest_usage[] =
    "usage: ccai attest URL [--local | --verifier URL] [--policy FILE] [--collateral FILE |\n"
    "                   --pcs URL] [--trust-simulated] [--json]\n"
    "\n"
    "Attests a ccai server without trusting it: makes a fresh nonce, fetches\n"
    "the server's evidence over a new TLS connection, checks that the quote's\n"
    "report data binds that nonce and the key of the certificate this\n"
    "connection actually received, then verifies the quote and appraises it\n"
    "against a policy -- locally (DCAP, no third party; the default) or\n"
    "through an attestation service whose signed token is checked here.\n"
    "Prints every step with its reason.\n"
    "\n" CLI_ATTEST_OPTIONS_USAGE
    "  --json               the report as JSON\n"
    "\n"
    "Exit codes: 0 verified and the policy passed; 2 rejected; 1 usage error;\n"
    "3 collateral could not be obtained.\n";

static int cmd_attest(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_ATTEST_LONG_OPTIONS,
        {"json", no_argument, NULL, CLI_ATTEST_OPT_END},
        {NULL, 0, NULL, 0},
    };
    cli_attest_opts a;
    cli_attest_opts_init(&a);
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        int rc = cli_attest_opt(&a, "attest", c, optarg);
        if (rc == 0)
            continue;
        if (rc > 0)
            return rc;
        if (c == CLI_ATTEST_OPT_END)
            json = true;
        else
            return cli_bad_option("attest", c, argv), CLI_FAIL; /* usage is 1, as in verify */
    }
    if (optind != argc - 1)
        return cli_usage_error("attest", "%s",
                               optind >= argc ? "missing the server URL" : "expected one URL"),
               CLI_FAIL;
    a.o.url = argv[optind];
    ccai_attest_result r;
    ccai_err err = {0};
    if (ccai_attest(&a.o, &r, &err)) {
        cli_usage_error("attest", "%s", err.msg);
        return 1;
    }
    if (json) {
        json_dumpf(r.report, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
    } else {
        cli_attest_print(stdout, &a.o, &r);
    }
    int rc = (int)r.outcome;
    json_decref(r.report);
    return rc;
}

const cli_cmd cli_cmd_attest = {"attest", "verify a ccai server's evidence before trusting it",
                                cmd_attest, attest_usage};
