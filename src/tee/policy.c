/* Policy files (appraise stage, parsing half): JSON text -> tdx_policy.
 * Contract and file format in appraise.h; documented in docs/policy.md.
 *
 * Strict on purpose: a member the parser does not know, a value of the wrong
 * type, a digest of the wrong length or an unknown TCB status name is an
 * error naming the member, because a typo that silently dropped a reference
 * value would weaken the policy without anyone noticing. A policy's hash is
 * the SHA-256 of the exact bytes it was parsed from; the built-in default is
 * a JSON text parsed like any file, hashed in its canonical form. */
#include "tee/policy_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"

enum { POLICY_MAX_BYTES = 1 << 20, POLICY_ID_MAX = 128 };

/* The default policy (appraise.h): real TDX only, no debug TDs, UpToDate or
 * SWHardeningNeeded. It names no reference values, so it does not demand a
 * runtime log: a log that is given must still replay (verify fails
 * otherwise), and any policy that names binary/model digests or config
 * values fails closed without one. */
static const char DEFAULT_POLICY_JSON[] =
    "{\"id\": \"default\","
    " \"tcb_statuses\": [\"UpToDate\", \"SWHardeningNeeded\"],"
    " \"allow_debug\": false, \"allow_simulated\": false}";

/* Used when a policy has no "tcb_statuses": the default policy's list. */
static const tdx_tcb_status DEFAULT_STATUSES[] = {TDX_TCB_UP_TO_DATE,
                                                  TDX_TCB_SW_HARDENING_NEEDED};

static const char ALL_STATUS_NAMES[] =
    "UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, "
    "OutOfDate, OutOfDateConfigurationNeeded, Revoked";

static const char *json_kind(const json_t *v)
{
    if (!v)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

/* ---- value parsers -------------------------------------------------------
 * Each fails with "policy: \"<member>\"...: expected ..., found ...". */

/* Exactly 2*n hex digits (either case) into out. */
static ccai_code parse_hex(const json_t *v, const char *where, uint8_t *out, size_t n,
                           ccai_err *err)
{
    if (!json_is_string(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "policy: %s: expected a string of %zu hex digits, found %s",
                         where, 2 * n, json_kind(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len != 2 * n)
        return ccai_fail(err, CCAI_ERR_PARSE, "policy: %s: expected %zu hex digits, found %zu",
                         where, 2 * n, len);
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i]))
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "policy: %s: expected hex digits, found '%c' at offset %zu", where,
                             isprint((unsigned char)s[i]) ? s[i] : '?', i);
    return ccai_hex_decode_exact(s, out, n, err);
}

/* A u64 written as 16 hex digits, most significant first ("00000000000602e7"). */
static ccai_code parse_u64(const json_t *v, const char *where, uint64_t *out, ccai_err *err)
{
    uint8_t b[8];
    ccai_code rc = parse_hex(v, where, b, 8, err);
    if (rc)
        return rc;
    *out = 0;
    for (int i = 0; i < 8; i++)
        *out = (*out << 8) | b[i];
    return CCAI_OK;
}

/* A non-empty array; *n receives its size. */
static ccai_code want_array(const json_t *v, const char *name, const char *of, size_t *n,
                            ccai_err *err)
{
    if (!json_is_array(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "policy: \"%s\": expected an array of %s, found %s",
                         name, of, json_kind(v));
    if (json_array_size(v) == 0)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "policy: \"%s\": expected at least one value, found an empty array "
                         "(leave the member out to accept any)",
                         name);
    *n = json_array_size(v);
    return CCAI_OK;
}

static ccai_code parse_digests(const json_t *v, const char *name, size_t width,
                               tdx_value_list *out, ccai_err *err)
{
    char of[64], where[96];
    snprintf(of, sizeof of, "%zu-hex-digit strings", 2 * width);
    size_t n = 0;
    ccai_code rc = want_array(v, name, of, &n, err);
    if (rc)
        return rc;
    out->present = true;
    out->width = width;
    out->n = n;
    out->v = ccai_xcalloc(n, width);
    for (size_t i = 0; i < n && !rc; i++) {
        snprintf(where, sizeof where, "\"%s\"[%zu]", name, i);
        rc = parse_hex(json_array_get(v, i), where, out->v + i * width, width, err);
    }
    return rc;
}

static ccai_code parse_bool(const json_t *v, const char *name, bool *out, ccai_err *err)
{
    if (!json_is_boolean(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "policy: \"%s\": expected true or false, found %s",
                         name, json_kind(v));
    *out = json_is_true(v);
    return CCAI_OK;
}

/* ---- members ------------------------------------------------------------- */

static ccai_code m_id(tdx_policy *p, const char *name, json_t *v, int arg, ccai_err *err)
{
    (void)arg;
    if (!json_is_string(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "policy: \"%s\": expected a string, found %s", name,
                         json_kind(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > POLICY_ID_MAX)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "policy: \"%s\": expected 1 to %d characters, found %zu", name,
                         POLICY_ID_MAX, len);
    /* Ids select policies and travel in tokens: keep them plain. */
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._:-", s[i]))
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "policy: \"%s\": expected letters, digits and . _ : -, found '%c' "
                             "at offset %zu",
                             name, isprint((unsigned char)s[i]) ? s[i] : '?', i);
    free(p->id);
    p->id = ccai_xstrdup(s);
    return CCAI_OK;
}

static ccai_code m_statuses(tdx_policy *p, const char *name, json_t *v, int arg,
                            ccai_err *err)
{
    (void)arg;
    size_t n = 0;
    ccai_code rc = want_array(v, name, "TCB status names", &n, err);
    if (rc)
        return rc;
    p->statuses = ccai_xcalloc(n, sizeof *p->statuses);
    p->n_statuses = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e))
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "policy: \"%s\"[%zu]: expected a TCB status name, found %s", name, i,
                             json_kind(e));
        tdx_tcb_status st = TDX_TCB_UNKNOWN;
        ccai_err ignored = {0};
        if (tdx_tcb_status_parse(json_string_value(e), &st, &ignored) != CCAI_OK ||
            st == TDX_TCB_UNKNOWN)
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "policy: \"%s\"[%zu]: expected one of %s, found \"%s\"", name, i,
                             ALL_STATUS_NAMES, json_string_value(e));
        p->statuses[i] = st;
    }
    return CCAI_OK;
}

static ccai_code m_flag(tdx_policy *p, const char *name, json_t *v, int arg, ccai_err *err)
{
    bool *f = arg == 0 ? &p->allow_debug : arg == 1 ? &p->allow_simulated
                                                    : &p->require_runtime_log;
    return parse_bool(v, name, f, err);
}

static ccai_code m_register(tdx_policy *p, const char *name, json_t *v, int arg,
                            ccai_err *err)
{
    return parse_digests(v, name, 48, &p->mr[arg], err);
}

static ccai_code m_xfam(tdx_policy *p, const char *name, json_t *v, int arg, ccai_err *err)
{
    (void)arg;
    size_t n = 0;
    char where[64];
    ccai_code rc = want_array(v, name, "16-hex-digit strings", &n, err);
    if (rc)
        return rc;
    p->xfam = ccai_xcalloc(n, sizeof *p->xfam);
    p->n_xfam = n;
    for (size_t i = 0; i < n && !rc; i++) {
        snprintf(where, sizeof where, "\"%s\"[%zu]", name, i);
        rc = parse_u64(json_array_get(v, i), where, &p->xfam[i], err);
    }
    return rc;
}

static ccai_code m_attributes(tdx_policy *p, const char *name, json_t *v, int arg,
                              ccai_err *err)
{
    (void)arg;
    if (!json_is_object(v))
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "policy: \"%s\": expected an object {\"value\", \"mask\"}, found %s",
                         name, json_kind(v));
    const char *k = NULL;
    const json_t *m = NULL;
    json_object_foreach(v, k, m) {
        if (strcmp(k, "value") && strcmp(k, "mask"))
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "policy: \"%s\": unknown member \"%s\" (expected value, mask)", name,
                             k);
    }
    static const char *const parts[2] = {"value", "mask"};
    uint64_t *dst[2] = {&p->attr_value, &p->attr_mask};
    for (int i = 0; i < 2; i++) {
        char where[64];
        snprintf(where, sizeof where, "\"%s\".%s", name, parts[i]);
        const json_t *e = json_object_get(v, parts[i]);
        if (!e)
            return ccai_fail(err, CCAI_ERR_PARSE, "policy: \"%s\": missing \"%s\"", name,
                             parts[i]);
        ccai_code rc = parse_u64(e, where, dst[i], err);
        if (rc)
            return rc;
    }
    if (p->attr_value & ~p->attr_mask)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "policy: \"%s\": expected a value inside the mask %016" PRIx64
                         ", found %016" PRIx64 " (it could never match)",
                         name, p->attr_mask, p->attr_value);
    p->has_attributes = true;
    return CCAI_OK;
}

static ccai_code m_sha256s(tdx_policy *p, const char *name, json_t *v, int arg,
                           ccai_err *err)
{
    return parse_digests(v, name, 32, arg == 0 ? &p->binary : &p->model, err);
}

static ccai_code m_config(tdx_policy *p, const char *name, json_t *v, int arg,
                          ccai_err *err)
{
    (void)arg;
    if (!json_is_object(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "policy: \"%s\": expected an object, found %s",
                         name, json_kind(v));
    const char *k = NULL;
    const json_t *m = NULL;
    json_object_foreach(v, k, m) {
        /* Measured events never hold reals (eventlog.h), so a real here
         * could never be met: say so now rather than fail every appraisal. */
        if (json_is_real(m))
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "policy: \"%s\".\"%s\": expected a string, integer, boolean, null, "
                             "array or object, found a real number",
                             name, k);
    }
    json_decref(p->config);
    p->config = json_deep_copy(v);
    return CCAI_OK;
}

static ccai_code m_report_data(tdx_policy *p, const char *name, json_t *v, int arg,
                               ccai_err *err)
{
    (void)arg;
    char where[64];
    snprintf(where, sizeof where, "\"%s\"", name);
    ccai_code rc = parse_hex(v, where, p->report_data, 64, err);
    if (!rc)
        p->has_report_data = true;
    return rc;
}

static ccai_code m_max_age(tdx_policy *p, const char *name, json_t *v, int arg,
                           ccai_err *err)
{
    (void)arg;
    if (!json_is_integer(v))
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "policy: \"%s\": expected a non-negative integer (seconds), found %s",
                         name, json_kind(v));
    if (json_integer_value(v) < 0)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "policy: \"%s\": expected a non-negative integer (seconds), found %"
                         JSON_INTEGER_FORMAT,
                         name, json_integer_value(v));
    p->has_max_age = true;
    p->max_age_s = json_integer_value(v);
    return CCAI_OK;
}

typedef ccai_code (*member_fn)(tdx_policy *p, const char *name, json_t *v, int arg,
                               ccai_err *err);

static const struct member {
    const char *name;
    member_fn parse;
    int arg;
} MEMBERS[] = {
    {"id", m_id, 0},
    {"tcb_statuses", m_statuses, 0},
    {"allow_debug", m_flag, 0},
    {"allow_simulated", m_flag, 1},
    {"mr_td", m_register, TDX_POLICY_MR_TD},
    {"rtmr0", m_register, TDX_POLICY_RTMR0},
    {"rtmr1", m_register, TDX_POLICY_RTMR1},
    {"rtmr2", m_register, TDX_POLICY_RTMR2},
    {"mr_seam", m_register, TDX_POLICY_MR_SEAM},
    {"mr_config_id", m_register, TDX_POLICY_MR_CONFIG_ID},
    {"mr_owner", m_register, TDX_POLICY_MR_OWNER},
    {"xfam", m_xfam, 0},
    {"td_attributes", m_attributes, 0},
    {"binary_sha256", m_sha256s, 0},
    {"model_sha256", m_sha256s, 1},
    {"config", m_config, 0},
    {"report_data", m_report_data, 0},
    {"max_collateral_age_s", m_max_age, 0},
    {"require_runtime_log", m_flag, 2},
};
enum { N_MEMBERS = sizeof MEMBERS / sizeof MEMBERS[0] };

static ccai_code unknown_member(const char *k, ccai_err *err)
{
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < N_MEMBERS && used < sizeof names; i++) {
        int w = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                         MEMBERS[i].name);
        used += w > 0 ? (size_t)w : 0;
    }
    return ccai_fail(err, CCAI_ERR_PARSE, "policy: unknown member \"%s\" (expected %s)", k, names);
}

/* ---- the policy object ---------------------------------------------------- */

ccai_code tdx_policy_parse(const char *text, size_t len, const char *id_hint, tdx_policy **out,
                           ccai_err *err)
{
    *out = NULL;
    if (!text)
        return ccai_fail(err, CCAI_ERR_ARG, "policy: no text");
    json_t *root = NULL;
    ccai_code rc = ccai_json_parse(text, len, &root, err);
    if (rc) {
        ccai_err_prefix(err, "policy");
        return rc;
    }
    if (!json_is_object(root)) {
        rc = ccai_fail(err, CCAI_ERR_PARSE, "policy: expected a JSON object, found %s",
                       json_kind(root));
        json_decref(root);
        return rc;
    }
    tdx_policy *p = ccai_xcalloc(1, sizeof *p);
    const char *k = NULL;
    json_t *v = NULL;
    json_object_foreach(root, k, v) {
        size_t i = 0;
        while (i < N_MEMBERS && strcmp(MEMBERS[i].name, k))
            i++;
        rc = i == N_MEMBERS ? unknown_member(k, err)
                            : MEMBERS[i].parse(p, k, v, MEMBERS[i].arg, err);
        if (rc)
            break;
    }
    json_decref(root);
    if (rc) {
        tdx_policy_free(p);
        return rc;
    }
    if (!p->statuses) {
        p->n_statuses = sizeof DEFAULT_STATUSES / sizeof DEFAULT_STATUSES[0];
        p->statuses = ccai_xmemdup(DEFAULT_STATUSES, sizeof DEFAULT_STATUSES);
    }
    if (!p->id)
        p->id = ccai_xstrdup(id_hint && *id_hint ? id_hint : "unnamed");
    ccai_sha256(text, len, p->sha256);
    *out = p;
    return CCAI_OK;
}

ccai_code tdx_policy_read_file(const char *path, tdx_policy **out, ccai_err *err)
{
    *out = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_code rc = ccai_read_file(path, POLICY_MAX_BYTES, &data, &len, err);
    if (rc)
        return rc;
    /* The default id is the file name without directories and ".json". */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t blen = strlen(base);
    if (blen > 5 && strcmp(base + blen - 5, ".json") == 0)
        blen -= 5;
    char *hint = ccai_xstrndup(base, blen);
    rc = tdx_policy_parse((const char *)data, len, hint, out, err);
    if (rc)
        ccai_err_prefix(err, "%s", path);
    free(hint);
    free(data);
    return rc;
}

tdx_policy *tdx_policy_default(void)
{
    json_t *j = NULL;
    ccai_err err = {0};
    if (ccai_json_parse(DEFAULT_POLICY_JSON, strlen(DEFAULT_POLICY_JSON), &j, &err)) {
        fprintf(stderr, "ccai: built-in default policy: %s\n", err.msg);
        abort();
    }
    char *canon = ccai_json_canonical(j);
    json_decref(j);
    tdx_policy *p = NULL;
    /* A constant that does not parse is a bug in this file, like a failed
     * allocation: no caller could do anything useful with an error. */
    if (!canon || tdx_policy_parse(canon, strlen(canon), "default", &p, &err)) {
        fprintf(stderr, "ccai: built-in default policy: %s\n", canon ? err.msg : "no JSON text");
        abort();
    }
    free(canon);
    return p;
}

const char *tdx_policy_id(const tdx_policy *p)
{
    return p->id;
}

void tdx_policy_hash(const tdx_policy *p, uint8_t out[32])
{
    memcpy(out, p->sha256, 32);
}

bool tdx_policy_allows_simulated(const tdx_policy *p)
{
    return p->allow_simulated;
}

void tdx_policy_free(tdx_policy *p)
{
    if (!p)
        return;
    free(p->id);
    free(p->statuses);
    for (int i = 0; i < TDX_POLICY_N_REGISTERS; i++)
        free(p->mr[i].v);
    free(p->xfam);
    free(p->binary.v);
    free(p->model.v);
    json_decref(p->config);
    free(p);
}
