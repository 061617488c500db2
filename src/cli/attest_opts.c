/* Shared option handling and report printing of `ccai attest` and
 * `ccai chat` (attest_opts.h). */
#include "cli/attest_opts.h"

#include <string.h>

void cli_attest_opts_init(cli_attest_opts *a)
{
    memset(a, 0, sizeof *a);
}

int cli_attest_opt(cli_attest_opts *a, const char *cmd, int c, const char *arg)
{
    switch (c) {
    case CLI_ATTEST_OPT_LOCAL: a->local = true; break;
    case CLI_ATTEST_OPT_VERIFIER: a->o.verifier = arg; break;
    case CLI_ATTEST_OPT_VERIFIER_CA: a->o.verifier_ca = arg; break;
    case CLI_ATTEST_OPT_VERIFIER_KID: a->o.verifier_kid = arg; break;
    case CLI_ATTEST_OPT_POLICY: a->o.policy = arg; break;
    case CLI_ATTEST_OPT_POLICY_ID: a->o.policy_id = arg; break;
    case CLI_ATTEST_OPT_COLLATERAL: a->o.collateral = arg; break;
    case CLI_ATTEST_OPT_PCS: a->o.pcs_url = arg; break;
    case CLI_ATTEST_OPT_CACHE_DIR: a->o.cache_dir = arg; break;
    case CLI_ATTEST_OPT_TRUST_SIM: a->o.trust_simulated = true; break;
    default: return -1;
    }
    /* Contradictions are refused where they are made. */
    if (a->local && a->o.verifier) {
        cli_usage_error(cmd, "--local and --verifier exclude each other");
        return CLI_FAIL;
    }
    if (a->o.verifier && (a->o.policy || a->o.collateral || a->o.pcs_url)) {
        cli_usage_error(cmd, "--policy, --collateral and --pcs are for local verification; "
                             "the service applies its own (choose one with --policy-id)");
        return CLI_FAIL;
    }
    if (!a->o.verifier && (a->o.verifier_ca || a->o.verifier_kid || a->o.policy_id)) {
        cli_usage_error(cmd, "--verifier-ca, --verifier-kid and --policy-id need --verifier");
        return CLI_FAIL;
    }
    return 0;
}

void cli_attest_print(FILE *f, const ccai_attest_opts *o, const ccai_attest_result *r)
{
    fprintf(f, "attesting %s (%s)\n", o->url,
            o->verifier ? "through the attestation service" : "local verification");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(r->report, "steps"), i, s) {
        bool ok = json_is_true(json_object_get(s, "ok"));
        fprintf(f, "  %s %-20s %s\n", ok ? "\u2713" : "\u2717",
                json_string_value(json_object_get(s, "name")),
                json_string_value(json_object_get(s, "detail")));
    }
    if (r->outcome == CCAI_ATTEST_PASS && r->simulated)
        fprintf(f, "PASS: verified, but the TEE is SIMULATED (tdx-sim): NOT confidential\n");
    else if (r->outcome == CCAI_ATTEST_PASS && r->code_pinned)
        fprintf(f, "PASS: a genuine TD, bound to this TLS key; the policy passed\n");
    else if (r->outcome == CCAI_ATTEST_PASS)
        fprintf(f, "PASS: a genuine TD, bound to this TLS key; the policy passed, but it pins no "
                   "server binary (binary_sha256): the TD may run any code\n");
    else if (r->outcome == CCAI_ATTEST_NO_COLLATERAL)
        fprintf(f, "FAIL: no collateral to verify against\n");
    else
        fprintf(f, "FAIL: rejected; nothing may be sent to this server\n");
}
