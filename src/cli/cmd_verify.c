/* `ccai verify`: the verifier core from the command line. Parse the quote,
 * get its collateral (bundle file or PCS/PCCS), verify (DCAP), appraise
 * against a policy, and say exactly why not.
 *
 * Exit codes (issue 3): 0 verified and the policy passed; 2 verification or
 * policy failure; 1 usage error; 3 the collateral could not be obtained. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "tee/appraise.h"
#include "tee/claims.h"
#include "tee/collateral.h"
#include "tee/pcs.h"
#include "tee/pck.h"
#include "tee/quote_file.h"
#include "tee/verify.h"
#include "verifier/appraisal.h"

enum { V_OK = 0, V_USAGE = 1, V_REJECTED = 2, V_NO_COLLATERAL = 3 };

static const char verify_usage[] =
    "usage: ccai verify QUOTE [--collateral FILE | --pcs URL [--offline] [--cache-dir DIR]\n"
    "                   [--pcs-ca-file FILE]] [--policy FILE] [--event-log FILE]\n"
    "                   [--ccel FILE] [--report-data HEX] [--at TIME]\n"
    "                   [--trust-simulated] [--json]\n"
    "\n"
    "Verifies a TDX quote (DCAP: PCK chain to the Intel SGX Root CA, CRLs, QE\n"
    "report, quote signature, TCB info and QE identity, TCB level) and appraises\n"
    "it against a policy of reference values (the built-in default policy when\n"
    "--policy is not given: real TDX only, no debug TD, UpToDate or\n"
    "SWHardeningNeeded; RTMR3 is appraised only through a runtime event log).\n"
    "\n"
    "  --collateral FILE   collateral bundle (JSON, Intel's field names)\n"
    "  --pcs URL           fetch collateral from an Intel PCS or a PCCS base URL,\n"
    "                      cached by FMSPC until it expires\n"
    "  --offline           with --pcs: use the cache only, never the network\n"
    "  --cache-dir DIR     collateral cache (default <state-dir>/collateral)\n"
    "  --pcs-ca-file FILE  extra CA certificates for a PCCS's TLS certificate\n"
    "  --policy FILE       policy of reference values (JSON)\n"
    "  --event-log FILE    runtime event log (JSON array, evidence object or JSON\n"
    "                      lines) replayed to RTMR3; without it RTMR3 is not\n"
    "                      replayed and policies naming digests fail\n"
    "  --ccel FILE         firmware event log; must replay to RTMR0..2\n"
    "  --report-data HEX   expected report data (64 bytes)\n"
    "  --at TIME           verification time, RFC 3339 (default now)\n"
    "  --trust-simulated   accept the simulated TD's root (tee \"tdx-sim\": never\n"
    "                      confidential)\n"
    "  --state-dir DIR     ccai state (default $CCAI_STATE_DIR or ~/.ccai)\n"
    "  --json              the full result as JSON\n"
    "\n"
    "Exit codes: 0 verified and the policy passed; 2 verification or policy\n"
    "failure; 1 usage error; 3 collateral could not be obtained.\n";

enum {
    OPT_COLLATERAL = CLI_OPT_FIRST_FREE, OPT_PCS, OPT_OFFLINE, OPT_CACHE_DIR, OPT_PCS_CA,
    OPT_POLICY, OPT_EVENT_LOG, OPT_REPORT_DATA, OPT_AT, OPT_TRUST_SIM, OPT_JSON,
};

typedef struct verify_args {
    const char *quote, *collateral, *pcs, *cache_dir, *pcs_ca, *policy, *event_log, *ccel;
    const char *at;
    bool offline, trust_sim, json;
    uint8_t report_data[64];
    bool has_report_data;
    cli_tee_opts t;
} verify_args;

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ccai verify: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'ccai verify --help')\n");
    va_end(ap);
    return V_USAGE;
}

static int parse_args(int argc, char **argv, verify_args *a)
{
    static const struct option opts[] = {
        {"collateral", required_argument, NULL, OPT_COLLATERAL},
        {"pcs", required_argument, NULL, OPT_PCS},
        {"offline", no_argument, NULL, OPT_OFFLINE},
        {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
        {"pcs-ca-file", required_argument, NULL, OPT_PCS_CA},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"event-log", required_argument, NULL, OPT_EVENT_LOG},
        {"ccel", required_argument, NULL, CLI_OPT_CCEL},
        {"report-data", required_argument, NULL, OPT_REPORT_DATA},
        {"at", required_argument, NULL, OPT_AT},
        {"trust-simulated", no_argument, NULL, OPT_TRUST_SIM},
        {"json", no_argument, NULL, OPT_JSON},
        {"state-dir", required_argument, NULL, CLI_OPT_STATE_DIR},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    cli_tee_opts_init(&a->t);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case OPT_COLLATERAL: a->collateral = optarg; break;
        case OPT_PCS: a->pcs = optarg; break;
        case OPT_OFFLINE: a->offline = true; break;
        case OPT_CACHE_DIR: a->cache_dir = optarg; break;
        case OPT_PCS_CA: a->pcs_ca = optarg; break;
        case OPT_POLICY: a->policy = optarg; break;
        case OPT_EVENT_LOG: a->event_log = optarg; break;
        case CLI_OPT_CCEL: a->ccel = optarg; break;
        case OPT_AT: a->at = optarg; break;
        case OPT_TRUST_SIM: a->trust_sim = true; break;
        case OPT_JSON: a->json = true; break;
        case CLI_OPT_STATE_DIR: cli_tee_opt(&a->t, c, optarg); break;
        case OPT_REPORT_DATA: {
            ccai_err err = {0};
            if (ccai_hex_decode_exact(optarg, a->report_data, 64, &err))
                return usage("--report-data: %s", err.msg);
            a->has_report_data = true;
            break;
        }
        case ':': return usage("option '%s' needs a value", argv[optind - 1]);
        default: return usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage("%s", "missing the QUOTE file");
    if (optind < argc - 1)
        return usage("unexpected argument '%s'", argv[optind + 1]);
    a->quote = argv[optind];
    if (a->collateral && a->pcs)
        return usage("%s", "--collateral and --pcs exclude each other");
    if (!a->collateral && !a->pcs)
        return usage("%s", "no collateral: give --collateral FILE or --pcs URL");
    if ((a->offline || a->cache_dir || a->pcs_ca) && !a->pcs)
        return usage("%s", "--offline, --cache-dir and --pcs-ca-file need --pcs");
    return V_OK;
}

/* Collateral from the bundle file, or from PCS/PCCS for the quote's FMSPC. */
static int get_collateral(const verify_args *a, const tdx_quote *q, time_t now,
                          tdx_collateral *c, ccai_err *err)
{
    if (a->collateral)
        return tdx_collateral_read_file(a->collateral, c, err) ? V_NO_COLLATERAL : V_OK;
    char *cache = ccai_xasprintf("%s/collateral", a->t.state_dir);
    tdx_pcs_opts o = {
        .base_url = a->pcs,
        .cache_dir = a->cache_dir ? a->cache_dir : cache,
        .offline = a->offline,
        .ca_file = a->pcs_ca,
        .timeout_s = 30,
    };
    ccai_code rc = ccai_collateral_from_pcs(&o, q, now, c, err);
    free(cache);
    return rc ? V_NO_COLLATERAL : V_OK;
}

static void print_text(const tdx_verify_result *vr, const tdx_appraisal *ap)
{
    for (size_t i = 0; i < vr->n_steps; i++)
        printf("%s %-20s %s\n", vr->steps[i].ok ? "\u2713" : "\u2717", vr->steps[i].name,
               vr->steps[i].detail);
    if (vr->tee)
        printf("tee: %s%s\n", vr->tee,
               strcmp(vr->tee, "tdx-sim") ? "" : " (simulated TEE: not confidential)");
    if (vr->tcb.combined != TDX_TCB_UNKNOWN)
        printf("TCB status: %s (TCB date %s)\n", tdx_tcb_status_name(vr->tcb.combined),
               vr->tcb.tcb_date);
    for (size_t i = 0; i < vr->tcb.n_advisories; i++)
        printf("advisory: %s\n", vr->tcb.advisory_ids[i]);
    if (!ap)
        return;
    char hex[65];
    ccai_hex_encode(ap->policy_sha256, 32, hex);
    printf("policy %s (sha256 %s)\n", ap->policy_id, hex);
    for (size_t i = 0; i < ap->n_checks; i++) {
        const tdx_check *k = &ap->checks[i];
        if (k->ok)
            printf("  \u2713 %-18s %s\n", k->name, k->actual ? k->actual : "");
        else
            printf("  \u2717 %-18s %s\n", k->name, k->reason ? k->reason : "");
    }
    printf("%s\n", ap->pass ? "PASS: verified and the policy passed" : "FAIL: rejected");
}

static int verify_main(verify_args *a)
{
    ccai_err err = {0};
    time_t at = time(NULL);
    if (a->at && ccai_time_parse(a->at, &at, &err))
        return usage("--at: %s", err.msg);

    tdx_policy *pol = NULL;
    if (a->policy ? tdx_policy_read_file(a->policy, &pol, &err) : !(pol = tdx_policy_default())) {
        fprintf(stderr, "ccai verify: policy: %s\n", err.msg);
        return V_USAGE;
    }
    /* The simulated root is trusted when asked, or when the policy allows it. */
    bool trust_sim = a->trust_sim || tdx_policy_allows_simulated(pol);

    uint8_t *buf = NULL, *ccel = NULL;
    size_t len = 0, ccel_len = 0;
    tdx_quote q;
    memset(&q, 0, sizeof q);
    tee_eventlog log = {0};
    tdx_collateral coll;
    memset(&coll, 0, sizeof coll);
    int rc = V_REJECTED;
    if (tdx_quote_read_file(a->quote, &buf, &len, &err) || tdx_quote_parse(buf, len, &q, &err)) {
        fprintf(stderr, "ccai verify: %s: %s\n", a->quote, err.msg);
        printf("\u2717 %-20s %s\n", "parse", err.msg);
        goto out;
    }
    if (a->event_log && tee_eventlog_read_file(a->event_log, &log, &err)) {
        fprintf(stderr, "ccai verify: event log: %s\n", err.msg);
        goto out;
    }
    if (a->ccel && ccai_read_file(a->ccel, 64u << 20, &ccel, &ccel_len, &err)) {
        fprintf(stderr, "ccai verify: firmware event log: %s\n", err.msg);
        goto out;
    }
    if ((rc = get_collateral(a, &q, at, &coll, &err))) {
        fprintf(stderr, "ccai verify: collateral: %s\n", err.msg);
        goto out;
    }
    tdx_collateral_ctx *cc = NULL;
    if (tdx_collateral_prepare(&coll, &cc, &err)) {
        fprintf(stderr, "ccai verify: collateral: %s\n", err.msg);
        rc = V_NO_COLLATERAL;
        goto out;
    }
    /* Without --event-log nothing is replayed: RTMR3 is then unexplained, and
     * a policy naming binary, model or config values fails closed. */
    const tee_eventlog *rt_log = a->event_log ? &log : NULL;
    tdx_verify_opts vo = {.at = at, .trust_simulated = trust_sim, .ccel = ccel,
                          .ccel_len = ccel_len, .runtime_log = rt_log};
    tdx_verify_result vr;
    tdx_verify(&q, cc, &vo, &vr);
    tdx_appraisal ap;
    memset(&ap, 0, sizeof ap);
    tdx_appraise_input in = {.quote = &q, .verify = &vr, .runtime_log = rt_log,
                             .report_data = a->has_report_data ? a->report_data : NULL,
                             .at = at, .trust_simulated = a->trust_sim};
    if (tdx_appraise(pol, &in, &ap, &err)) {
        fprintf(stderr, "ccai verify: appraisal: %s\n", err.msg);
        rc = V_REJECTED;
    } else {
        rc = vr.verified && ap.pass ? V_OK : V_REJECTED;
        if (a->json) {
            json_t *j = ccai_verdict_json(&q, &vr, rt_log, &ap); /* what the verifier signs */
            json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
            putchar('\n');
            json_decref(j);
        } else {
            print_text(&vr, &ap);
        }
        tdx_appraisal_free(&ap);
    }
    tdx_verify_result_free(&vr);
    tdx_collateral_ctx_free(cc);
out:
    tdx_collateral_free(&coll);
    tee_eventlog_free(&log);
    tdx_quote_free(&q);
    free(buf);
    free(ccel);
    tdx_policy_free(pol);
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    verify_args a;
    int rc = parse_args(argc, argv, &a);
    return rc ? rc : verify_main(&a);
}

const cli_cmd cli_cmd_verify = {"verify", "verify a TDX quote (DCAP) and appraise it against a policy",
                                cmd_verify, verify_usage};
