/* The verification options `ccai attest` and `ccai chat` share (both attest
 * the server the same way before anything is sent), and the per-step
 * report they print. */
#ifndef CCAI_CLI_ATTEST_OPTS_H
#define CCAI_CLI_ATTEST_OPTS_H

#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "client/attest.h"

enum {
    CLI_ATTEST_OPT_LOCAL = CLI_OPT_FIRST_FREE + 40,
    CLI_ATTEST_OPT_VERIFIER,
    CLI_ATTEST_OPT_VERIFIER_CA,
    CLI_ATTEST_OPT_VERIFIER_KID,
    CLI_ATTEST_OPT_POLICY,
    CLI_ATTEST_OPT_POLICY_ID,
    CLI_ATTEST_OPT_COLLATERAL,
    CLI_ATTEST_OPT_PCS,
    CLI_ATTEST_OPT_CACHE_DIR,
    CLI_ATTEST_OPT_TRUST_SIM,
    CLI_ATTEST_OPT_END,   /* commands number their own options from here */
};

#define CLI_ATTEST_LONG_OPTIONS                                                    \
    {"local", no_argument, NULL, CLI_ATTEST_OPT_LOCAL},                            \
    {"verifier", required_argument, NULL, CLI_ATTEST_OPT_VERIFIER},                \
    {"verifier-ca", required_argument, NULL, CLI_ATTEST_OPT_VERIFIER_CA},          \
    {"verifier-kid", required_argument, NULL, CLI_ATTEST_OPT_VERIFIER_KID},        \
    {"policy", required_argument, NULL, CLI_ATTEST_OPT_POLICY},                    \
    {"policy-id", required_argument, NULL, CLI_ATTEST_OPT_POLICY_ID},              \
    {"collateral", required_argument, NULL, CLI_ATTEST_OPT_COLLATERAL},            \
    {"pcs", required_argument, NULL, CLI_ATTEST_OPT_PCS},                          \
    {"cache-dir", required_argument, NULL, CLI_ATTEST_OPT_CACHE_DIR},              \
    {"trust-simulated", no_argument, NULL, CLI_ATTEST_OPT_TRUST_SIM}

#define CLI_ATTEST_OPTIONS_USAGE                                                   \
    "  --local              verify here: DCAP + policy, no third party (default)\n" \
    "  --verifier URL       verify through an attestation service (ccai verifier):\n" \
    "                       its ES256 token is checked against its JWKS, with our\n" \
    "                       nonce, our TLS key and its policy result\n"            \
    "  --verifier-ca FILE   CA certificates for the service's TLS (default: system)\n" \
    "  --verifier-kid KID   accept tokens signed by this key id only\n"            \
    "  --policy-id ID       the service's policy to apply\n"                       \
    "  --policy FILE        local: policy of reference values (default: the\n"     \
    "                       built-in policy; write one with `ccai measure -o`)\n"   \
    "  --collateral FILE    local: collateral bundle (default: the one the\n"      \
    "                       evidence carries; it is signed and checked)\n"         \
    "  --pcs URL            local: collateral from Intel PCS or a PCCS\n"          \
    "  --cache-dir DIR      local: PCS collateral cache\n"                         \
    "  --trust-simulated    accept the simulated TD (tee tdx-sim: never\n"         \
    "                       confidential; reported as such)\n"

typedef struct cli_attest_opts {
    ccai_attest_opts o;
    bool local;
} cli_attest_opts;

void cli_attest_opts_init(cli_attest_opts *a);
/* 0: consumed; -1: not an attestation option; otherwise the usage error's
 * exit code (after printing it for cmd). */
int cli_attest_opt(cli_attest_opts *a, const char *cmd, int c, const char *arg);
/* The per-step report: one line per step, then PASS/FAIL. */
void cli_attest_print(FILE *f, const ccai_attest_opts *o, const ccai_attest_result *r);

#endif
