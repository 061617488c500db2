/* TCB info (TDX v3) and QE identity (TD_QE v2) parsing (tcbinfo.h; parse
 * stage, no crypto, no policy).
 *
 * Input is the raw signed JSON text of the tcbInfo / enclaveIdentity value
 * (tdx-facts §2 steps 6-9). Every member the evaluation (tcb_eval.c) reads is
 * required and checked for type, length and range, and every error names its
 * JSON path ("tcbLevels[1].tcb.sgxtcbcomponents[5].svn: expected an integer
 * 0..255, found 300"): the collateral is signed, but a verifier that guesses
 * at a malformed field would turn a broken or hostile document into a TCB
 * decision. Members we do not read (category, type, ...) are ignored, since
 * Intel adds members over time. Hex is accepted in either case.
 *
 * Byte order of the masked identity values, chosen so they compare with the
 * quote the way Intel's QVL compares them (byte for byte):
 *   - module attributes / attributesMask (8 bytes): the hex text read as a
 *     big-endian number, so "0000000000000000" is 0 and "%016llx" prints the
 *     text back; tcb_eval.c reads the quote's seam_attributes bytes the same
 *     way before masking;
 *   - QE miscselect / miscselectMask (4 bytes): the hex bytes in report byte
 *     order read little-endian, i.e. exactly the encoding of the QE report's
 *     miscselect field, so tdx_qe_report.miscselect compares directly. */
#include "tee/tcbinfo.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"

enum {
    SIGNED_JSON_MAX = 1 << 20, /* ~3 KB in practice (collateral.c has the same cap) */
    PATH_LEN = 160,
    ADVISORY_MAX = 64,         /* "INTEL-SA-00837" */
};

/* ---- statuses --------------------------------------------------------------- */

static const char *const STATUS_NAMES[] = {
    [TDX_TCB_UP_TO_DATE] = "UpToDate",
    [TDX_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
    [TDX_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
    [TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
    [TDX_TCB_OUT_OF_DATE] = "OutOfDate",
    [TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
    [TDX_TCB_REVOKED] = "Revoked",
};

const char *tdx_tcb_status_name(tdx_tcb_status s)
{
    if (s > TDX_TCB_UNKNOWN && s <= TDX_TCB_REVOKED)
        return STATUS_NAMES[s];
    return "Unknown";
}

ccai_code tdx_tcb_status_parse(const char *s, tdx_tcb_status *out, ccai_err *err)
{
    /* Exact, case-sensitive: Intel's spelling is part of the signed data. */
    for (int i = TDX_TCB_UP_TO_DATE; i <= TDX_TCB_REVOKED; i++) {
        if (strcmp(s, STATUS_NAMES[i]) == 0) {
            *out = (tdx_tcb_status)i;
            return CCAI_OK;
        }
    }
    return ccai_fail(err, CCAI_ERR_PARSE,
                     "unknown TCB status \"%.64s\" (expected UpToDate, SWHardeningNeeded, "
                     "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, "
                     "OutOfDateConfigurationNeeded or Revoked)",
                     s);
}

/* ---- typed members with JSON paths --------------------------------------------- */


static const char *kind_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    default: return "a value";
    }
}

/* "path.key" (or "key" at the top). */
/* Paths are for messages only; one too long for PATH_LEN is cut short. */
static void join(char out[PATH_LEN], const char *path, const char *key)
{
    int n = snprintf(out, PATH_LEN, "%s%s%s", path, *path ? "." : "", key);
    if (n < 0 || n >= PATH_LEN)
        out[PATH_LEN - 1] = '\0';
}

static void join_index(char out[PATH_LEN], const char *path, size_t i)
{
    int n = snprintf(out, PATH_LEN, "%s[%zu]", path, i);
    if (n < 0 || n >= PATH_LEN)
        out[PATH_LEN - 1] = '\0';
}

/* Member key of obj, of type t; *p gets its path for later messages. */
static ccai_code member(const json_t *obj, const char *path, const char *key, json_type t,
                        const json_t **out, char p[PATH_LEN], ccai_err *err)
{
    join(p, path, key);
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return ccai_fail(err, CCAI_ERR_PARSE, "missing member %s", p);
    if (json_typeof(v) != t)
        return ccai_fail(err, CCAI_ERR_PARSE, "%s: expected %s, found %s", p, kind_name(t),
                         ccai_json_kind(v));
    *out = v;
    return CCAI_OK;
}

static ccai_code get_uint(const json_t *obj, const char *path, const char *key, long long max,
                          long long *out, ccai_err *err)
{
    char p[PATH_LEN];
    const json_t *v = NULL;
    ccai_code rc = member(obj, path, key, JSON_INTEGER, &v, p, err);
    if (rc)
        return rc;
    long long n = json_integer_value(v);
    if (n < 0 || n > max)
        return ccai_fail(err, CCAI_ERR_PARSE, "%s: expected an integer 0..%lld, found %lld", p, max,
                         n);
    *out = n;
    return CCAI_OK;
}

static ccai_code get_string(const json_t *obj, const char *path, const char *key,
                            const char **out, char p[PATH_LEN], ccai_err *err)
{
    const json_t *v = NULL;
    ccai_code rc = member(obj, path, key, JSON_STRING, &v, p, err);
    if (!rc)
        *out = json_string_value(v);
    return rc;
}

/* Exactly n bytes of hex (2n digits, either case). */
static ccai_code get_hex(const json_t *obj, const char *path, const char *key, uint8_t *out,
                         size_t n, ccai_err *err)
{
    char p[PATH_LEN];
    const char *s = NULL;
    ccai_code rc = get_string(obj, path, key, &s, p, err);
    if (!rc) {
        rc = ccai_hex_decode_exact(s, out, n, err);
        if (rc)
            ccai_err_prefix(err, "%s", p);
    }
    return rc;
}

/* An RFC 3339 time; the string form is kept normalized to UTC "...Z". */
static ccai_code get_date(const json_t *obj, const char *path, const char *key, time_t *t,
                          char str[32], ccai_err *err)
{
    char p[PATH_LEN];
    const char *s = NULL;
    ccai_code rc = get_string(obj, path, key, &s, p, err);
    if (rc)
        return rc;
    rc = ccai_time_parse(s, t, err);
    if (rc) {
        ccai_err_prefix(err, "%s", p);
        return rc;
    }
    ccai_time_format(*t, str);
    return CCAI_OK;
}

static ccai_code get_status(const json_t *obj, const char *path, const char *key,
                            tdx_tcb_status *out, ccai_err *err)
{
    char p[PATH_LEN];
    const char *s = NULL;
    ccai_code rc = get_string(obj, path, key, &s, p, err);
    if (!rc) {
        rc = tdx_tcb_status_parse(s, out, err);
        if (rc)
            ccai_err_prefix(err, "%s", p);
    }
    return rc;
}

/* A non-empty array member (levels, components). */
static ccai_code get_array(const json_t *obj, const char *path, const char *key,
                           const json_t **out, char p[PATH_LEN], ccai_err *err)
{
    ccai_code rc = member(obj, path, key, JSON_ARRAY, out, p, err);
    if (!rc && json_array_size(*out) == 0)
        return ccai_fail(err, CCAI_ERR_PARSE, "%s: expected at least one entry, found none", p);
    return rc;
}

/* ---- TCB levels ------------------------------------------------------------------ */

static void level_free(tdx_tcb_level *l)
{
    for (size_t i = 0; i < l->n_advisories; i++)
        free(l->advisory_ids[i]);
    free(l->advisory_ids);
    l->advisory_ids = NULL;
    l->n_advisories = 0;
}

static void levels_free(tdx_tcb_level *levels, size_t n)
{
    for (size_t i = 0; i < n; i++)
        level_free(&levels[i]);
    free(levels);
}

/* advisoryIDs: optional (Intel omits it for UpToDate levels); when present,
 * an array of non-empty strings. */
static ccai_code get_advisories(const json_t *lv, const char *path, tdx_tcb_level *l,
                                ccai_err *err)
{
    char p[PATH_LEN];
    const json_t *arr = json_object_get(lv, "advisoryIDs");
    if (!arr)
        return CCAI_OK;
    ccai_code rc = member(lv, path, "advisoryIDs", JSON_ARRAY, &arr, p, err);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    l->advisory_ids = ccai_xcalloc(n ? n : 1, sizeof *l->advisory_ids);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v))
            return ccai_fail(err, CCAI_ERR_PARSE, "%s[%zu]: expected a string, found %s", p, i,
                             ccai_json_kind(v));
        size_t len = json_string_length(v);
        if (len == 0 || len > ADVISORY_MAX || strlen(json_string_value(v)) != len)
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "%s[%zu]: expected an advisory ID of 1..%d characters, found %zu "
                             "bytes",
                             p, i, ADVISORY_MAX, len);
        l->advisory_ids[l->n_advisories++] = ccai_xstrdup(json_string_value(v));
    }
    return CCAI_OK;
}

/* tcbDate, tcbStatus and advisoryIDs, common to every kind of level. */
static ccai_code level_common(const json_t *lv, const char *path, tdx_tcb_level *l,
                              ccai_err *err)
{
    ccai_code rc = get_date(lv, path, "tcbDate", &l->tcb_date, l->tcb_date_str, err);
    if (!rc)
        rc = get_status(lv, path, "tcbStatus", &l->status, err);
    if (!rc)
        rc = get_advisories(lv, path, l, err);
    return rc;
}

/* An array of exactly 16 {"svn": 0..255} objects. */
static ccai_code get_components(const json_t *tcb, const char *path, const char *key,
                                uint8_t out[16], ccai_err *err)
{
    char p[PATH_LEN], ep[PATH_LEN];
    const json_t *arr = NULL;
    ccai_code rc = member(tcb, path, key, JSON_ARRAY, &arr, p, err);
    if (rc)
        return rc;
    if (json_array_size(arr) != 16)
        return ccai_fail(err, CCAI_ERR_PARSE, "%s: expected 16 components, found %zu", p,
                         json_array_size(arr));
    for (size_t i = 0; i < 16; i++) {
        const json_t *c = json_array_get(arr, i);
        join_index(ep, p, i);
        if (!json_is_object(c))
            return ccai_fail(err, CCAI_ERR_PARSE, "%s: expected an object, found %s", ep,
                             ccai_json_kind(c));
        long long svn = 0;
        rc = get_uint(c, ep, "svn", 255, &svn, err);
        if (rc)
            return rc;
        out[i] = (uint8_t)svn;
    }
    return CCAI_OK;
}

/* A TCB info platform level: tcb {sgxtcbcomponents, pcesvn, tdxtcbcomponents}. */
static ccai_code platform_level(const json_t *lv, const char *path, tdx_tcb_level *l,
                                ccai_err *err)
{
    char p[PATH_LEN];
    const json_t *tcb = NULL;
    long long pcesvn = 0;
    ccai_code rc = member(lv, path, "tcb", JSON_OBJECT, &tcb, p, err);
    if (!rc)
        rc = get_components(tcb, p, "sgxtcbcomponents", l->sgx_svn, err);
    if (!rc)
        rc = get_uint(tcb, p, "pcesvn", 65535, &pcesvn, err);
    if (!rc)
        rc = get_components(tcb, p, "tdxtcbcomponents", l->tdx_svn, err);
    if (!rc) {
        l->pcesvn = (uint16_t)pcesvn;
        rc = level_common(lv, path, l, err);
    }
    return rc;
}

/* A QE or TDX module identity level: tcb {isvsvn}. */
static ccai_code isv_level(const json_t *lv, const char *path, tdx_tcb_level *l, ccai_err *err)
{
    char p[PATH_LEN];
    const json_t *tcb = NULL;
    long long isvsvn = 0;
    ccai_code rc = member(lv, path, "tcb", JSON_OBJECT, &tcb, p, err);
    if (!rc)
        rc = get_uint(tcb, p, "isvsvn", 65535, &isvsvn, err);
    if (!rc) {
        l->isvsvn = (uint16_t)isvsvn;
        rc = level_common(lv, path, l, err);
    }
    return rc;
}

typedef ccai_code (*level_fn)(const json_t *lv, const char *path, tdx_tcb_level *l,
                              ccai_err *err);

/* The non-empty tcbLevels array of obj, in order (the evaluation takes the
 * first match, tdx-facts §2 step 8). On failure nothing is left allocated. */
static ccai_code get_levels(const json_t *obj, const char *path, level_fn parse_one,
                            tdx_tcb_level **out, size_t *n_out, ccai_err *err)
{
    char p[PATH_LEN], lp[PATH_LEN];
    const json_t *arr = NULL;
    ccai_code rc = get_array(obj, path, "tcbLevels", &arr, p, err);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    tdx_tcb_level *levels = ccai_xcalloc(n, sizeof *levels);
    for (size_t i = 0; i < n && !rc; i++) {
        const json_t *lv = json_array_get(arr, i);
        join_index(lp, p, i);
        if (!json_is_object(lv))
            rc = ccai_fail(err, CCAI_ERR_PARSE, "%s: expected an object, found %s", lp,
                           ccai_json_kind(lv));
        else
            rc = parse_one(lv, lp, &levels[i], err);
    }
    if (rc) {
        levels_free(levels, n);
        return rc;
    }
    *out = levels;
    *n_out = n;
    return CCAI_OK;
}

/* ---- the common header ---------------------------------------------------------------- */

typedef struct doc_header {
    time_t issue_date, next_update;
    char issue_date_str[32], next_update_str[32];
    int tcb_eval_num;
} doc_header;

/* Parses text as a JSON object and checks id and version first: a document
 * of another kind or version is CCAI_ERR_UNSUPPORTED, not a parse error. */
static ccai_code open_doc(const char *text, size_t len, const char *want_id, int want_version,
                          json_t **root, ccai_err *err)
{
    if (!text)
        return ccai_fail(err, CCAI_ERR_ARG, "no JSON text given");
    if (len > SIGNED_JSON_MAX)
        return ccai_fail(err, CCAI_ERR_PARSE, "%zu bytes, more than the %d-byte limit", len,
                         SIGNED_JSON_MAX);
    json_t *doc = NULL;
    ccai_code rc = ccai_json_parse(text, len, &doc, err);
    if (rc)
        return rc;
    if (!json_is_object(doc)) {
        rc = ccai_fail(err, CCAI_ERR_PARSE, "expected a JSON object, found %s", ccai_json_kind(doc));
        json_decref(doc);
        return rc;
    }
    char p[PATH_LEN];
    const char *id = NULL;
    long long version = 0;
    rc = get_string(doc, "", "id", &id, p, err);
    if (!rc && strcmp(id, want_id) != 0)
        rc = ccai_fail(err, CCAI_ERR_UNSUPPORTED, "id is \"%.32s\", expected \"%s\"", id, want_id);
    if (!rc)
        rc = get_uint(doc, "", "version", INT_MAX, &version, err);
    if (!rc && version != want_version)
        rc = ccai_fail(err, CCAI_ERR_UNSUPPORTED, "version is %lld, expected %d", version,
                       want_version);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    *root = doc;
    return CCAI_OK;
}

static ccai_code get_header(const json_t *doc, doc_header *h, ccai_err *err)
{
    long long num = 0;
    ccai_code rc = get_date(doc, "", "issueDate", &h->issue_date, h->issue_date_str, err);
    if (!rc)
        rc = get_date(doc, "", "nextUpdate", &h->next_update, h->next_update_str, err);
    if (!rc)
        rc = get_uint(doc, "", "tcbEvaluationDataNumber", INT_MAX, &num, err);
    if (!rc)
        h->tcb_eval_num = (int)num;
    return rc;
}

/* ---- TCB info --------------------------------------------------------------------------- */

static void module_free(tdx_module_identity *m)
{
    levels_free(m->levels, m->n_levels);
    m->levels = NULL;
    m->n_levels = 0;
}

static uint64_t be64(const uint8_t b[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

/* tdxModule (identity == false: no id, levels optional) or one
 * tdxModuleIdentities entry (id and tcbLevels required). */
static ccai_code get_module(const json_t *m, const char *path, bool identity,
                            tdx_module_identity *out, ccai_err *err)
{
    char p[PATH_LEN];
    uint8_t attrs[8], mask[8];
    ccai_code rc = CCAI_OK;
    if (identity) {
        const char *id = NULL;
        rc = get_string(m, path, "id", &id, p, err);
        if (!rc && (id[0] == '\0' || strlen(id) >= sizeof out->id))
            rc = ccai_fail(err, CCAI_ERR_PARSE, "%s: expected 1..%zu characters, found \"%.32s\"",
                           p, sizeof out->id - 1, id);
        if (!rc)
            snprintf(out->id, sizeof out->id, "%s", id);
    }
    if (!rc)
        rc = get_hex(m, path, "mrsigner", out->mrsigner, sizeof out->mrsigner, err);
    if (!rc)
        rc = get_hex(m, path, "attributes", attrs, 8, err);
    if (!rc)
        rc = get_hex(m, path, "attributesMask", mask, 8, err);
    if (rc)
        return rc;
    out->attributes = be64(attrs);
    out->attributes_mask = be64(mask);
    /* The plain tdxModule carries no levels in Intel's v3 documents (its
     * status is then UpToDate, tcb_eval.c); parse them if one ever does. */
    if (identity || json_object_get(m, "tcbLevels"))
        rc = get_levels(m, path, isv_level, &out->levels, &out->n_levels, err);
    return rc;
}

/* tdxModuleIdentities: optional (a TCB info without it still serves quotes
 * with tee_tcb_svn[1] == 0); ids must be unique, or the selection of
 * tdx-facts §2 step 7 would be ambiguous. */
static ccai_code get_module_ids(const json_t *doc, tdx_tcb_info *ti, ccai_err *err)
{
    char p[PATH_LEN], ep[PATH_LEN];
    const json_t *arr = json_object_get(doc, "tdxModuleIdentities");
    if (!arr)
        return CCAI_OK;
    ccai_code rc = member(doc, "", "tdxModuleIdentities", JSON_ARRAY, &arr, p, err);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    ti->module_ids = ccai_xcalloc(n ? n : 1, sizeof *ti->module_ids);
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(arr, i);
        join_index(ep, p, i);
        if (!json_is_object(m))
            return ccai_fail(err, CCAI_ERR_PARSE, "%s: expected an object, found %s", ep,
                             ccai_json_kind(m));
        tdx_module_identity *mi = &ti->module_ids[ti->n_module_ids++];
        rc = get_module(m, ep, true, mi, err);
        if (rc)
            return rc;
        for (size_t j = 0; j + 1 < ti->n_module_ids; j++)
            if (strcmp(ti->module_ids[j].id, mi->id) == 0)
                return ccai_fail(err, CCAI_ERR_PARSE, "%s.id: duplicate \"%s\" (also entry %zu)",
                                 ep, mi->id, j);
    }
    return CCAI_OK;
}

static ccai_code tcb_info_body(const json_t *doc, tdx_tcb_info *ti, ccai_err *err)
{
    char p[PATH_LEN];
    doc_header h = {0};
    long long tcb_type = 0;
    const json_t *module = NULL;
    ccai_code rc = get_header(doc, &h, err);
    if (!rc)
        rc = get_hex(doc, "", "fmspc", ti->fmspc, sizeof ti->fmspc, err);
    if (!rc)
        rc = get_hex(doc, "", "pceId", ti->pce_id, sizeof ti->pce_id, err);
    if (!rc)
        rc = get_uint(doc, "", "tcbType", INT_MAX, &tcb_type, err);
    if (!rc)
        rc = member(doc, "", "tdxModule", JSON_OBJECT, &module, p, err);
    if (!rc)
        rc = get_module(module, p, false, &ti->module, err);
    if (!rc)
        rc = get_module_ids(doc, ti, err);
    if (!rc)
        rc = get_levels(doc, "", platform_level, &ti->levels, &ti->n_levels, err);
    if (rc)
        return rc;
    ti->issue_date = h.issue_date;
    ti->next_update = h.next_update;
    memcpy(ti->issue_date_str, h.issue_date_str, sizeof ti->issue_date_str);
    memcpy(ti->next_update_str, h.next_update_str, sizeof ti->next_update_str);
    ti->tcb_eval_num = h.tcb_eval_num;
    ti->tcb_type = (int)tcb_type;
    return CCAI_OK;
}

ccai_code tdx_tcb_info_parse(const char *json, size_t len, tdx_tcb_info *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *doc = NULL;
    ccai_code rc = open_doc(json, len, "TDX", 3, &doc, err);
    if (!rc) {
        tdx_tcb_info ti = {.version = 3};
        snprintf(ti.id, sizeof ti.id, "TDX");
        rc = tcb_info_body(doc, &ti, err);
        if (rc)
            tdx_tcb_info_free(&ti);
        else
            *out = ti;
        json_decref(doc);
    }
    if (rc)
        ccai_err_prefix(err, "TCB info");
    return rc;
}

void tdx_tcb_info_free(tdx_tcb_info *ti)
{
    if (!ti)
        return;
    module_free(&ti->module);
    for (size_t i = 0; i < ti->n_module_ids; i++)
        module_free(&ti->module_ids[i]);
    free(ti->module_ids);
    levels_free(ti->levels, ti->n_levels);
    memset(ti, 0, sizeof *ti);
}

/* ---- QE identity -------------------------------------------------------------------------- */

static ccai_code qe_identity_body(const json_t *doc, tdx_qe_identity *qi, ccai_err *err)
{
    doc_header h = {0};
    uint8_t misc[4], misc_mask[4];
    long long prodid = 0;
    ccai_code rc = get_header(doc, &h, err);
    if (!rc)
        rc = get_hex(doc, "", "miscselect", misc, 4, err);
    if (!rc)
        rc = get_hex(doc, "", "miscselectMask", misc_mask, 4, err);
    if (!rc)
        rc = get_hex(doc, "", "attributes", qi->attributes, 16, err);
    if (!rc)
        rc = get_hex(doc, "", "attributesMask", qi->attributes_mask, 16, err);
    if (!rc)
        rc = get_hex(doc, "", "mrsigner", qi->mrsigner, 32, err);
    if (!rc)
        rc = get_uint(doc, "", "isvprodid", 65535, &prodid, err);
    if (!rc)
        rc = get_levels(doc, "", isv_level, &qi->levels, &qi->n_levels, err);
    if (rc)
        return rc;
    qi->issue_date = h.issue_date;
    qi->next_update = h.next_update;
    memcpy(qi->issue_date_str, h.issue_date_str, sizeof qi->issue_date_str);
    memcpy(qi->next_update_str, h.next_update_str, sizeof qi->next_update_str);
    qi->tcb_eval_num = h.tcb_eval_num;
    qi->miscselect = ccai_le32(misc);
    qi->miscselect_mask = ccai_le32(misc_mask);
    qi->isvprodid = (uint16_t)prodid;
    return CCAI_OK;
}

ccai_code tdx_qe_identity_parse(const char *json, size_t len, tdx_qe_identity *out,
                                ccai_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *doc = NULL;
    ccai_code rc = open_doc(json, len, "TD_QE", 2, &doc, err);
    if (!rc) {
        tdx_qe_identity qi = {.version = 2};
        snprintf(qi.id, sizeof qi.id, "TD_QE");
        rc = qe_identity_body(doc, &qi, err);
        if (rc)
            tdx_qe_identity_free(&qi);
        else
            *out = qi;
        json_decref(doc);
    }
    if (rc)
        ccai_err_prefix(err, "QE identity");
    return rc;
}

void tdx_qe_identity_free(tdx_qe_identity *qi)
{
    if (!qi)
        return;
    levels_free(qi->levels, qi->n_levels);
    memset(qi, 0, sizeof *qi);
}
