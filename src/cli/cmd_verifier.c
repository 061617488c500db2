/* `ccai verifier`: the command line of the attestation service
 * (verifier/verifier.h, docs/verifier.md). This file turns flags into a
 * ccai_verifier_config, refusing plain HTTP anywhere but loopback, and runs
 * the service until SIGTERM/SIGINT. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "server/server.h"
#include "verifier/verifier.h"

static const char verifier_usage[] =
    "usage: ccai verifier [options]\n"
    "\n"
    "An attestation service (RFC 9334 verifier): takes TDX evidence\n"
    "(ccai-attest/1, or the Alibaba Cloud / Trustee request form) on\n"
    "POST /v1/attestation, verifies it (DCAP) and appraises it against a policy,\n"
    "and answers with an ES256 JWT; keys at /jwks.json, OIDC discovery at\n"
    "/.well-known/openid-configuration, policies at /v1/policies.\n"
    "\n"
    "  --listen HOST:PORT      address (default 127.0.0.1:8444)\n"
    "  --state-dir DIR         signing key in DIR/verifier, PCS cache in\n"
    "                          DIR/collateral (default $CCAI_STATE_DIR or ~/.ccai)\n"
    "  --policy-dir DIR        policies (*.json), selected by policy_ids; the\n"
    "                          built-in \"default\" unless DIR defines one\n"
    "  --collateral PATH       a collateral bundle, or a directory of bundles\n"
    "                          (chosen by the quote's FMSPC)\n"
    "  --pcs URL               fetch collateral from Intel PCS or a PCCS (cached)\n"
    "                          (without either: the collateral the evidence carries)\n"
    "  --trust-simulated       accept the simulated TD's root (tee \"tdx-sim\": never\n"
    "                          confidential)\n"
    "  --tls-cert FILE --tls-key FILE\n"
    "                          certificate (chain) and key in PEM; default a P-256\n"
    "                          key born in memory, self-signed\n"
    "  --tls off               plain HTTP (loopback addresses only)\n"
    "  --issuer URL            the tokens' iss (default https://HOST:PORT)\n"
    "  --token-lifetime S      token lifetime in seconds (default 300)\n"
    "  --cors-origin ORIGIN    a browser origin allowed to call (repeatable)\n"
    "  --rate N[/min]          attestations per client address and minute\n"
    "                          (default 60)\n"
    "  --max-body BYTES        largest request body (default 1048576)\n"
    "  --rotate-key            make a new signing key; the old one stays in the\n"
    "                          JWKS until its last token has expired\n"
    "\n"
    "Evidence that fails verification or the policy still gets a token (pass:\n"
    "false, every failed check with its reason) unless the request asks for\n"
    "strict mode (?strict=1 or \"strict\": true): then 403 with the reasons.\n"
    "SIGTERM or SIGINT stops the service gracefully.\n";

enum {
    OPT_LISTEN = CLI_OPT_FIRST_FREE, OPT_POLICY_DIR, OPT_COLLATERAL, OPT_PCS, OPT_TRUST_SIM,
    OPT_TLS, OPT_CERT, OPT_KEY, OPT_ISSUER, OPT_LIFETIME, OPT_CORS, OPT_RATE, OPT_BODY,
    OPT_ROTATE,
};

enum { MAX_ORIGINS = 16 };

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || v < lo || v > hi)
        return false;
    *out = v;
    return *end == '\0' || strcmp(end, "/min") == 0;
}

static int parse_args(int argc, char **argv, ccai_verifier_config *c, cli_tee_opts *t,
                      const char **origins)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"state-dir", required_argument, NULL, CLI_OPT_STATE_DIR},
        {"policy-dir", required_argument, NULL, OPT_POLICY_DIR},
        {"collateral", required_argument, NULL, OPT_COLLATERAL},
        {"pcs", required_argument, NULL, OPT_PCS},
        {"trust-simulated", no_argument, NULL, OPT_TRUST_SIM},
        {"tls", required_argument, NULL, OPT_TLS},
        {"tls-cert", required_argument, NULL, OPT_CERT},
        {"tls-key", required_argument, NULL, OPT_KEY},
        {"issuer", required_argument, NULL, OPT_ISSUER},
        {"token-lifetime", required_argument, NULL, OPT_LIFETIME},
        {"cors-origin", required_argument, NULL, OPT_CORS},
        {"rate", required_argument, NULL, OPT_RATE},
        {"max-body", required_argument, NULL, OPT_BODY},
        {"rotate-key", no_argument, NULL, OPT_ROTATE},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "verifier";
    long n;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_LISTEN: c->listen = optarg; break;
        case CLI_OPT_STATE_DIR: cli_tee_opt(t, ch, optarg); break;
        case OPT_POLICY_DIR: c->policy_dir = optarg; break;
        case OPT_COLLATERAL: c->collateral = optarg; break;
        case OPT_PCS: c->pcs_url = optarg; break;
        case OPT_TRUST_SIM: c->trust_simulated = true; break;
        case OPT_CERT: c->tls_cert = optarg; break;
        case OPT_KEY: c->tls_key = optarg; break;
        case OPT_ISSUER: c->issuer = optarg; break;
        case OPT_ROTATE: c->rotate_key = true; break;
        case OPT_TLS:
            if (strcmp(optarg, "on") && strcmp(optarg, "off"))
                return cli_usage_error(cmd, "--tls: expected on or off, found '%s'", optarg);
            c->tls = strcmp(optarg, "on") == 0;
            break;
        case OPT_LIFETIME:
            if (!parse_long(optarg, 1, 86400, &n) || strchr(optarg, '/'))
                return cli_usage_error(cmd, "--token-lifetime: expected 1..86400 seconds, "
                                       "found '%s'", optarg);
            c->token_lifetime_s = n;
            break;
        case OPT_RATE:
            if (!parse_long(optarg, 1, 1000000, &n))
                return cli_usage_error(cmd, "--rate: expected N or N/min (1..1000000), found "
                                       "'%s'", optarg);
            c->rate_per_minute = (double)n;
            break;
        case OPT_BODY:
            if (!parse_long(optarg, 1024, 64L << 20, &n) || strchr(optarg, '/'))
                return cli_usage_error(cmd, "--max-body: expected 1024..67108864 bytes, found "
                                       "'%s'", optarg);
            c->max_body_bytes = (size_t)n;
            break;
        case OPT_CORS:
            if (c->n_cors_origins == MAX_ORIGINS)
                return cli_usage_error(cmd, "--cors-origin: at most %d origins", MAX_ORIGINS);
            if (!strchr(optarg, ':') || strchr(optarg, '*') || optarg[strlen(optarg) - 1] == '/')
                return cli_usage_error(cmd, "--cors-origin: expected an origin like "
                                       "https://host:port, found '%s'", optarg);
            origins[c->n_cors_origins++] = optarg;
            break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (c->collateral && c->pcs_url)
        return cli_usage_error(cmd, "--collateral and --pcs exclude each other");
    if (!c->tls && (c->tls_cert || c->tls_key))
        return cli_usage_error(cmd, "--tls-cert/--tls-key need --tls on");
    if (!c->tls_cert != !c->tls_key)
        return cli_usage_error(cmd, "--tls-cert and --tls-key go together");
    if (!c->tls && !ccai_listen_is_loopback(c->listen))
        return cli_usage_error(cmd, "--tls off is allowed on a loopback address only, not %s",
                               c->listen);
    return CLI_OK;
}

static int cmd_verifier(int argc, char **argv)
{
    const char *origins[MAX_ORIGINS];
    cli_tee_opts t;
    cli_tee_opts_init(&t);
    ccai_verifier_config c = {.listen = "127.0.0.1:8444", .tls = true, .cors_origins = origins};
    int rc = parse_args(argc, argv, &c, &t, origins);
    if (rc)
        return rc;
    c.state_dir = t.state_dir;
    ccai_verifier *v = NULL;
    ccai_err err = {0};
    if (ccai_verifier_new(&c, &v, &err))
        return cli_fail("verifier", &err);
    fprintf(stderr, "ccai verifier: listening on port %u, issuer %s, kid %s%s\n",
            (unsigned)ccai_verifier_port(v), ccai_verifier_issuer(v),
            ccai_verifier_kid(v),
            c.trust_simulated ? "; trusting the simulated root: tdx-sim is NOT confidential" : "");
    fflush(stderr);
    rc = ccai_verifier_run(v, true, &err) ? cli_fail("verifier", &err) : CLI_OK;
    ccai_verifier_free(v);
    if (rc == CLI_OK)
        fprintf(stderr, "ccai verifier: stopped\n");
    return rc;
}

const cli_cmd cli_cmd_verifier = {"verifier", "attestation service: evidence in, signed tokens out",
                                  cmd_verifier, verifier_usage};
