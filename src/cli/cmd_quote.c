/* `ccai quote`: get a quote from the TEE for given report data, and
 * `ccai quote show`: print every field of a quote file. */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/json.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "tee/binding.h"
#include "tee/pck.h"
#include "tee/quote.h"
#include "tee/quote_file.h"
#include "tee/quote_json.h"

static const char quote_usage[] =
    "usage: ccai quote [--tee auto|tdx|sim] [--report-data HEX | --nonce BASE64URL\n"
    "                  [--tls-spki-sha256 HEX]] [--debug] [-o FILE]\n"
    "       ccai quote show FILE [--json]\n"
    "\n"
    "Gets a TDX quote from the TEE. The 64 bytes of report data are either given\n"
    "(--report-data, up to 64 bytes in hex, zero-padded on the right) or bound\n"
    "per ccai-attest/1 to a 32-byte nonce (--nonce; a fresh random nonce when\n"
    "neither is given, printed on stderr):\n"
    "  SHA-512(\"ccai-attest/1\" 0x00 || nonce || SPKI SHA-256 || 32 zero bytes)\n"
    "The quote is written raw to FILE (or to stdout when it is not a terminal).\n"
    "\n"
    "  --report-data HEX       report data, at most 128 hex digits\n"
    "  --nonce BASE64URL       32-byte nonce to bind (base64url, no padding)\n"
    "  --tls-spki-sha256 HEX   SHA-256 of a TLS SubjectPublicKeyInfo to bind\n"
    "                          with the nonce (default 32 zero bytes)\n"
    "  --debug                 simulated TD only: report a debug TD (td_attributes\n"
    "                          bit 0), for negative tests\n"
    "  -o, --output FILE       where to write the quote\n"
    "\n" CLI_TEE_USAGE
    "\n"
    "ccai quote show FILE prints the header, TD report body (mr_td, rtmr_0..3,\n"
    "mr_seam, attributes decoded, ...), QE report and PCK certificate chain of a\n"
    "quote file (binary, hex or base64). --json prints the same as JSON.\n";

enum { OPT_REPORT_DATA = CLI_OPT_FIRST_FREE, OPT_NONCE, OPT_SPKI, OPT_DEBUG, OPT_JSON };

static int parse_report_data(const char *arg, uint8_t rd[64])
{
    uint8_t *b = NULL;
    size_t n = 0;
    ccai_err err = {0};
    if (ccai_hex_decode_alloc(arg, strlen(arg), &b, &n, &err))
        return cli_usage_error("quote", "--report-data: %s", err.msg);
    if (n == 0 || n > 64) {
        free(b);
        return cli_usage_error("quote", "--report-data: expected 1 to 64 bytes, found %zu", n);
    }
    memset(rd, 0, 64);
    memcpy(rd, b, n);
    free(b);
    return CLI_OK;
}

static int parse_nonce(const char *arg, uint8_t nonce[32])
{
    uint8_t *b = NULL;
    size_t n = 0;
    ccai_err err = {0};
    if (ccai_b64_decode(arg, strlen(arg), CCAI_B64_URL, &b, &n, &err))
        return cli_usage_error("quote", "--nonce: %s", err.msg);
    if (n != 32) {
        free(b);
        return cli_usage_error("quote", "--nonce: expected 32 bytes, found %zu", n);
    }
    memcpy(nonce, b, 32);
    free(b);
    return CLI_OK;
}

static int cmd_quote_get(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_TEE_LONG_OPTIONS,
        {"report-data", required_argument, NULL, OPT_REPORT_DATA},
        {"nonce", required_argument, NULL, OPT_NONCE},
        {"tls-spki-sha256", required_argument, NULL, OPT_SPKI},
        {"debug", no_argument, NULL, OPT_DEBUG},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    cli_tee_opts t;
    cli_tee_opts_init(&t);
    const char *out = NULL, *rd_arg = NULL, *nonce_arg = NULL, *spki_arg = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        if (cli_tee_opt(&t, c, optarg))
            continue;
        switch (c) {
        case OPT_REPORT_DATA: rd_arg = optarg; break;
        case OPT_NONCE: nonce_arg = optarg; break;
        case OPT_SPKI: spki_arg = optarg; break;
        case OPT_DEBUG: t.cfg.sim_debug = true; break;
        case 'o': out = optarg; break;
        default: return cli_bad_option("quote", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("quote", "unexpected argument '%s'", argv[optind]);
    if (rd_arg && (nonce_arg || spki_arg))
        return cli_usage_error("quote", "--report-data excludes --nonce and --tls-spki-sha256");

    uint8_t rd[64];
    int rc;
    if (rd_arg) {
        if ((rc = parse_report_data(rd_arg, rd)))
            return rc;
    } else {
        uint8_t nonce[32], spki[32];
        ccai_err err = {0};
        if (nonce_arg) {
            if ((rc = parse_nonce(nonce_arg, nonce)))
                return rc;
        } else {
            if (RAND_bytes(nonce, sizeof nonce) != 1)
                return cli_fail("quote", &(ccai_err){CCAI_ERR_CRYPTO, "no random bytes"});
            char *b = ccai_b64_encode(nonce, 32, CCAI_B64_URL);
            fprintf(stderr, "nonce: %s\n", b);
            free(b);
        }
        if (spki_arg && ccai_hex_decode_exact(spki_arg, spki, 32, &err))
            return cli_usage_error("quote", "--tls-spki-sha256: %s", err.msg);
        tee_report_data_bind(nonce, spki_arg ? spki : NULL, NULL, rd);
    }

    tee_provider *p = NULL;
    if ((rc = cli_tee_open("quote", &t, &p)))
        return rc;
    uint8_t *q = NULL;
    size_t qlen = 0;
    ccai_err err = {0};
    if (p->ops->get_quote(p, rd, &q, &qlen, &err)) {
        tee_provider_close(p);
        return cli_fail("quote", &err);
    }
    if (out && strcmp(out, "-"))
        fprintf(stderr, "wrote a %zu-byte %s quote to %s\n", qlen, p->ops->tee, out);
    if (!strcmp(p->ops->tee, "tdx-sim"))
        fprintf(stderr, "warning: simulated TEE, not confidential: this quote proves nothing\n");
    tee_provider_close(p);
    rc = cli_write_output("quote", out, q, qlen);
    free(q);
    return rc;
}

/* The PCK chain's certificates decoded: subjects, the SGX extension of the
 * leaf and the root's fingerprint (tdx-facts §2, §3). */
static ccai_code pck_json(const tdx_quote *q, json_t **out, ccai_err *err)
{
    json_t *o = json_object(), *certs = json_array();
    ccai_code rc = CCAI_OK;
    for (size_t i = 0; i < q->pck_count && !rc; i++) {
        X509 *x = NULL;
        if ((rc = tdx_pem_to_x509(q->pck_pem[i], &x, err))) {
            ccai_err_prefix(err, "PCK chain certificate %zu", i);
            break;
        }
        char subj[512];
        uint8_t fp[32];
        tdx_x509_subject(x, subj, sizeof subj);
        tdx_x509_sha256(x, fp);
        json_t *c = json_object();
        json_object_set_new(c, "subject", json_string(subj));
        ccai_json_set_hex(c, "sha256", fp, 32);
        if (i == 0) {
            tdx_pck_ext ext;
            if ((rc = tdx_pck_ext_from_cert(x, &ext, err))) {
                ccai_err_prefix(err, "PCK leaf certificate");
            } else {
                ccai_json_set_hex(o, "fmspc", ext.fmspc, 6);
                ccai_json_set_hex(o, "pce_id", ext.pce_id, 2);
                json_object_set_new(o, "pcesvn", json_integer(ext.pcesvn));
                ccai_json_set_hex(o, "cpusvn", ext.cpusvn, 16);
                ccai_json_set_hex(o, "tcb_comp_svn", ext.comp_svn, 16);
                ccai_json_set_hex(o, "ppid", ext.ppid, 16);
                json_object_set_new(o, "sgx_type", json_integer(ext.sgx_type));
            }
        }
        X509_free(x);
        json_array_append_new(certs, c);
    }
    json_object_set_new(o, "certificates", certs);
    *out = o;
    return rc;
}

static void print_pck_text(const json_t *pck)
{
    printf("\nPCK certificate chain\n");
    const char *keys[] = {"fmspc", "pce_id", "pcesvn", "cpusvn", "tcb_comp_svn", "ppid", "sgx_type"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(pck, keys[i]);
        char label[32];
        snprintf(label, sizeof label, "%s:", keys[i]);
        if (json_is_string(v))
            printf("  %-22s%s\n", label, json_string_value(v));
        else if (json_is_integer(v))
            printf("  %-22s%lld\n", label, (long long)json_integer_value(v));
    }
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(pck, "certificates"), i, c) {
        char label[40];
        snprintf(label, sizeof label, "cert[%zu].subject:", i);
        printf("  %-22s%s\n", label, json_string_value(json_object_get(c, "subject")));
        snprintf(label, sizeof label, "cert[%zu].sha256:", i);
        printf("  %-22s%s\n", label, json_string_value(json_object_get(c, "sha256")));
    }
}

static int cmd_quote_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    bool as_json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == OPT_JSON)
            as_json = true;
        else
            return cli_bad_option("quote show", c, argv);
    }
    if (optind != argc - 1)
        return cli_usage_error("quote show", optind >= argc ? "missing the quote FILE"
                                                           : "expected one FILE");
    const char *path = argv[optind];
    uint8_t *buf = NULL;
    size_t len = 0;
    ccai_err err = {0};
    tdx_quote q;
    if (tdx_quote_read_file(path, &buf, &len, &err))
        return cli_fail("quote show", &err);
    ccai_code rc = tdx_quote_parse(buf, len, &q, &err);
    free(buf);
    if (rc) {
        ccai_err_prefix(&err, "%s", path);
        return cli_fail("quote show", &err);
    }
    json_t *pck = NULL;
    ccai_err pck_err = {0};
    ccai_code prc = pck_json(&q, &pck, &pck_err);
    if (as_json) {
        json_t *j = tdx_quote_to_json(&q);
        json_object_set(j, "pck", pck);
        if (prc)
            json_object_set_new(j, "pck_error", json_string(pck_err.msg));
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
        json_decref(j);
    } else {
        tdx_quote_print_text(stdout, &q);
        print_pck_text(pck);
    }
    json_decref(pck);
    tdx_quote_free(&q);
    if (prc)
        return cli_fail("quote show", &pck_err);
    return CLI_OK;
}

static int cmd_quote(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "show"))
        return cmd_quote_show(argc - 1, argv + 1);
    return cmd_quote_get(argc, argv);
}

const cli_cmd cli_cmd_quote = {"quote", "get a TDX quote, or show one (quote show FILE)",
                               cmd_quote, quote_usage};
