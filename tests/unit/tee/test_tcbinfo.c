/* Tests for src/tee/tcbinfo.c and src/tee/tcb_eval.c: every malformed member
 * is rejected naming its JSON path, and the evaluation of tdx-facts §2 steps
 * 6-8 takes every branch on synthetic documents. Those start from the real
 * documents' content rebuilt here with jansson (so they run without the
 * shared test data) and are edited member by member. The real documents'
 * exact values and their evaluation on the real quote are in
 * test_collateral.c. */
#include "testutil.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/mem.h"
#include "tee/tcbinfo.h"

#define QE_MRSIGNER "DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5"

static const uint8_t L0_SGX[16] = {2, 2, 2, 2, 3, 1, 0, 5};
static const uint8_t L0_TDX[16] = {5, 0, 2};
static const uint8_t PCK_SVN[16] = {3, 3, 2, 2, 4, 1, 0, 5};

/* ---- documents ------------------------------------------------------------------- */

static json_t *components(const uint8_t svn[16])
{
    json_t *a = json_array();
    for (int i = 0; i < 16; i++)
        json_array_append_new(a, json_pack("{s:i}", "svn", svn[i]));
    return a;
}

static json_t *isv_level(int isvsvn, const char *date, const char *status)
{
    return json_pack("{s:{s:i},s:s,s:s}", "tcb", "isvsvn", isvsvn, "tcbDate", date, "tcbStatus",
                     status);
}

static json_t *module_identity(const char *id, json_t *levels)
{
    char zeros[97];
    memset(zeros, '0', 96);
    zeros[96] = '\0';
    json_t *m = json_pack("{s:s,s:s,s:s}", "mrsigner", zeros, "attributes", "0000000000000000",
                          "attributesMask", "FFFFFFFFFFFFFFFF");
    if (id)
        json_object_set_new(m, "id", json_string(id));
    if (levels)
        json_object_set_new(m, "tcbLevels", levels);
    return m;
}

/* The content of the real TDX TCB info (eval number 17, FMSPC B0C06F000000). */
static json_t *base_tcb_info(void)
{
    json_t *tdx03 = json_pack("[o]", isv_level(3, "2024-03-13T00:00:00Z", "UpToDate"));
    json_t *tdx01 = json_pack("[o,o]", isv_level(4, "2024-03-13T00:00:00Z", "UpToDate"),
                              isv_level(2, "2023-08-09T00:00:00Z", "OutOfDate"));
    json_t *ids = json_pack("[o,o]", module_identity("TDX_03", tdx03),
                            module_identity("TDX_01", tdx01));
    json_t *l0 = json_pack("{s:{s:o,s:i,s:o},s:s,s:s}", "tcb", "sgxtcbcomponents",
                           components(L0_SGX), "pcesvn", 11, "tdxtcbcomponents",
                           components(L0_TDX), "tcbDate", "2024-03-13T00:00:00Z", "tcbStatus",
                           "UpToDate");
    json_t *l1 = json_pack("{s:{s:o,s:i,s:o},s:s,s:s,s:[s,s]}", "tcb", "sgxtcbcomponents",
                           components(L0_SGX), "pcesvn", 5, "tdxtcbcomponents",
                           components(L0_TDX), "tcbDate", "2018-01-04T00:00:00Z", "tcbStatus",
                           "OutOfDate", "advisoryIDs", "INTEL-SA-00106", "INTEL-SA-00837");
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:i,s:i,s:o,s:o,s:[o,o]}", "id", "TDX", "version",
                     3, "issueDate", "2025-06-19T10:16:03Z", "nextUpdate",
                     "2025-07-19T10:16:03Z", "fmspc", "B0C06F000000", "pceId", "0000", "tcbType",
                     0, "tcbEvaluationDataNumber", 17, "tdxModule", module_identity(NULL, NULL),
                     "tdxModuleIdentities", ids, "tcbLevels", l0, l1);
}

static json_t *base_qe_identity(void)
{
    return json_pack("{s:s,s:i,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:i,s:[o]}", "id", "TD_QE",
                     "version", 2, "issueDate", "2025-06-19T10:32:27Z", "nextUpdate",
                     "2025-07-19T10:32:27Z", "tcbEvaluationDataNumber", 17, "miscselect",
                     "00000000", "miscselectMask", "FFFFFFFF", "attributes",
                     "11000000000000000000000000000000", "attributesMask",
                     "FBFFFFFFFFFFFFFF0000000000000000", "mrsigner", QE_MRSIGNER, "isvprodid", 2,
                     "tcbLevels", isv_level(4, "2024-03-13T00:00:00Z", "UpToDate"));
}

/* Sets the member at path ("tcbLevels[1].tcb.pcesvn") to the JSON text val,
 * or removes it when val is NULL. */
static void edit(json_t *root, const char *path, const char *val)
{
    json_t *cur = root, *parent = NULL;
    char key[64] = "";
    long idx = -1;
    const char *p = path;
    while (*p) {
        parent = cur;
        if (*p == '[') {
            char *end;
            idx = strtol(p + 1, &end, 10);
            assert_int_equal(*end, ']');
            key[0] = '\0';
            p = end + 1;
            cur = json_array_get(parent, (size_t)idx);
        } else {
            size_t n = strcspn(p, ".[");
            assert_true(n < sizeof key);
            memcpy(key, p, n);
            key[n] = '\0';
            idx = -1;
            p += n;
            cur = json_object_get(parent, key);
        }
        if (*p == '.')
            p++;
        if (*p && !cur)
            fail_msg("edit: %s: no such member", path);
    }
    json_t *v = NULL;
    if (val) {
        v = json_loads(val, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
    }
    if (idx >= 0 && v && (size_t)idx == json_array_size(parent))
        assert_int_equal(json_array_append_new(parent, v), 0);
    else if (idx >= 0)
        assert_int_equal(v ? json_array_set_new(parent, (size_t)idx, v)
                           : json_array_remove(parent, (size_t)idx), 0);
    else
        assert_int_equal(v ? json_object_set_new(parent, key, v) : json_object_del(parent, key), 0);
}

static char *text(const json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    assert_non_null(s);
    return s;
}

static void parse_tcb(const json_t *doc, tdx_tcb_info *ti)
{
    char *s = text(doc);
    ccai_err err = {0};
    if (tdx_tcb_info_parse(s, strlen(s), ti, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    free(s);
}

static void parse_qe(const json_t *doc, tdx_qe_identity *qi)
{
    char *s = text(doc);
    ccai_err err = {0};
    if (tdx_qe_identity_parse(s, strlen(s), qi, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
    free(s);
}

static void hex_is(const uint8_t *p, size_t n, const char *want)
{
    char buf[256];
    ccai_hex_encode(p, n, buf);
    assert_string_equal(buf, want);
}

static void msg_has(const ccai_err *err, const char *want)
{
    if (!strstr(err->msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", err->msg, want);
}

/* ---- statuses ---------------------------------------------------------------------- */

static void test_status_names(void **state)
{
    (void)state;
    static const char *const names[] = {"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                                        "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                        "OutOfDateConfigurationNeeded", "Revoked"};
    for (int i = 0; i < 7; i++) {
        tdx_tcb_status s = TDX_TCB_UNKNOWN;
        assert_int_equal(tdx_tcb_status_parse(names[i], &s, NULL), CCAI_OK);
        assert_int_equal(s, TDX_TCB_UP_TO_DATE + i);
        assert_string_equal(tdx_tcb_status_name(s), names[i]);
    }
    assert_string_equal(tdx_tcb_status_name(TDX_TCB_UNKNOWN), "Unknown");
    ccai_err err = {0};
    tdx_tcb_status s;
    assert_int_equal(tdx_tcb_status_parse("uptodate", &s, &err), CCAI_ERR_PARSE);
    msg_has(&err, "unknown TCB status \"uptodate\"");
    assert_int_equal(tdx_tcb_status_parse("", &s, NULL), CCAI_ERR_PARSE);
}

/* ---- malformed documents --------------------------------------------------------------- */

typedef struct bad_case {
    const char *path; /* member to edit ("" for none) */
    const char *val;  /* new JSON text, NULL to remove */
    ccai_code code;
    const char *msg;  /* expected in the message */
} bad_case;

static const bad_case BAD_TCB[] = {
    {"id", NULL, CCAI_ERR_PARSE, "TCB info: missing member id"},
    {"id", "\"SGX\"", CCAI_ERR_UNSUPPORTED, "TCB info: id is \"SGX\", expected \"TDX\""},
    {"version", "2", CCAI_ERR_UNSUPPORTED, "TCB info: version is 2, expected 3"},
    {"version", "\"3\"", CCAI_ERR_PARSE, "version: expected an integer, found a string"},
    {"issueDate", NULL, CCAI_ERR_PARSE, "missing member issueDate"},
    {"nextUpdate", "\"2025-13-45\"", CCAI_ERR_PARSE, "TCB info: nextUpdate: "},
    {"fmspc", "\"B0C06F00000\"", CCAI_ERR_PARSE, "fmspc: expected 12 hex digits"},
    {"fmspc", "\"B0C06F00000G\"", CCAI_ERR_PARSE, "fmspc: not a hex digit at position 11"},
    {"pceId", "\"000\"", CCAI_ERR_PARSE, "pceId: expected 4 hex digits"},
    {"tcbType", NULL, CCAI_ERR_PARSE, "missing member tcbType"},
    {"tcbEvaluationDataNumber", "-1", CCAI_ERR_PARSE,
     "tcbEvaluationDataNumber: expected an integer 0.."},
    {"tdxModule", NULL, CCAI_ERR_PARSE, "missing member tdxModule"},
    {"tdxModule", "[]", CCAI_ERR_PARSE, "tdxModule: expected an object, found an array"},
    {"tdxModule.mrsigner", "\"00\"", CCAI_ERR_PARSE, "tdxModule.mrsigner: expected 96 hex digits"},
    {"tdxModule.attributes", "\"000000000000000\"", CCAI_ERR_PARSE,
     "tdxModule.attributes: expected 16 hex digits"},
    {"tdxModule.attributesMask", NULL, CCAI_ERR_PARSE, "missing member tdxModule.attributesMask"},
    {"tdxModule.tcbLevels", "[]", CCAI_ERR_PARSE,
     "tdxModule.tcbLevels: expected at least one entry"},
    {"tdxModuleIdentities", "{}", CCAI_ERR_PARSE,
     "tdxModuleIdentities: expected an array, found an object"},
    {"tdxModuleIdentities[0]", "1", CCAI_ERR_PARSE,
     "tdxModuleIdentities[0]: expected an object, found an integer"},
    {"tdxModuleIdentities[1].id", NULL, CCAI_ERR_PARSE, "missing member tdxModuleIdentities[1].id"},
    {"tdxModuleIdentities[1].id", "\"TDX_03\"", CCAI_ERR_PARSE,
     "tdxModuleIdentities[1].id: duplicate \"TDX_03\""},
    {"tdxModuleIdentities[1].id", "\"\"", CCAI_ERR_PARSE,
     "tdxModuleIdentities[1].id: expected 1..15 characters"},
    {"tdxModuleIdentities[1].mrsigner", "7", CCAI_ERR_PARSE,
     "tdxModuleIdentities[1].mrsigner: expected a string, found an integer"},
    {"tdxModuleIdentities[1].tcbLevels", NULL, CCAI_ERR_PARSE,
     "missing member tdxModuleIdentities[1].tcbLevels"},
    {"tdxModuleIdentities[1].tcbLevels", "[]", CCAI_ERR_PARSE,
     "tdxModuleIdentities[1].tcbLevels: expected at least one entry, found none"},
    {"tdxModuleIdentities[1].tcbLevels[1].tcb.isvsvn", "70000", CCAI_ERR_PARSE,
     "tdxModuleIdentities[1].tcbLevels[1].tcb.isvsvn: expected an integer 0..65535, found 70000"},
    {"tdxModuleIdentities[0].tcbLevels[0].tcbStatus", "\"Fine\"", CCAI_ERR_PARSE,
     "tdxModuleIdentities[0].tcbLevels[0].tcbStatus: unknown TCB status \"Fine\""},
    {"tcbLevels", NULL, CCAI_ERR_PARSE, "missing member tcbLevels"},
    {"tcbLevels", "[]", CCAI_ERR_PARSE, "tcbLevels: expected at least one entry, found none"},
    {"tcbLevels[1]", "5", CCAI_ERR_PARSE, "tcbLevels[1]: expected an object, found an integer"},
    {"tcbLevels[0].tcb", NULL, CCAI_ERR_PARSE, "missing member tcbLevels[0].tcb"},
    {"tcbLevels[1].tcb.sgxtcbcomponents[5].svn", "300", CCAI_ERR_PARSE,
     "tcbLevels[1].tcb.sgxtcbcomponents[5].svn: expected an integer 0..255, found 300"},
    {"tcbLevels[0].tcb.sgxtcbcomponents[5].svn", "-1", CCAI_ERR_PARSE,
     "tcbLevels[0].tcb.sgxtcbcomponents[5].svn: expected an integer 0..255, found -1"},
    {"tcbLevels[0].tcb.sgxtcbcomponents[5].svn", "1.5", CCAI_ERR_PARSE,
     "sgxtcbcomponents[5].svn: expected an integer, found a number"},
    {"tcbLevels[0].tcb.sgxtcbcomponents[15]", NULL, CCAI_ERR_PARSE,
     "tcbLevels[0].tcb.sgxtcbcomponents: expected 16 components, found 15"},
    {"tcbLevels[0].tcb.sgxtcbcomponents", "{}", CCAI_ERR_PARSE,
     "tcbLevels[0].tcb.sgxtcbcomponents: expected an array, found an object"},
    {"tcbLevels[0].tcb.tdxtcbcomponents[16]", "{\"svn\":0}", CCAI_ERR_PARSE,
     "tcbLevels[0].tcb.tdxtcbcomponents: expected 16 components, found 17"},
    {"tcbLevels[0].tcb.tdxtcbcomponents[2]", "\"x\"", CCAI_ERR_PARSE,
     "tcbLevels[0].tcb.tdxtcbcomponents[2]: expected an object, found a string"},
    {"tcbLevels[0].tcb.tdxtcbcomponents[2].svn", NULL, CCAI_ERR_PARSE,
     "missing member tcbLevels[0].tcb.tdxtcbcomponents[2].svn"},
    {"tcbLevels[0].tcb.tdxtcbcomponents", NULL, CCAI_ERR_PARSE,
     "missing member tcbLevels[0].tcb.tdxtcbcomponents"},
    {"tcbLevels[0].tcb.pcesvn", "65536", CCAI_ERR_PARSE,
     "tcbLevels[0].tcb.pcesvn: expected an integer 0..65535, found 65536"},
    {"tcbLevels[0].tcb.pcesvn", NULL, CCAI_ERR_PARSE, "missing member tcbLevels[0].tcb.pcesvn"},
    {"tcbLevels[0].tcbDate", "\"yesterday\"", CCAI_ERR_PARSE, "tcbLevels[0].tcbDate: "},
    {"tcbLevels[0].tcbDate", NULL, CCAI_ERR_PARSE, "missing member tcbLevels[0].tcbDate"},
    {"tcbLevels[0].tcbStatus", "\"uptodate\"", CCAI_ERR_PARSE,
     "tcbLevels[0].tcbStatus: unknown TCB status \"uptodate\""},
    {"tcbLevels[0].tcbStatus", "null", CCAI_ERR_PARSE,
     "tcbLevels[0].tcbStatus: expected a string, found null"},
    {"tcbLevels[1].advisoryIDs", "\"INTEL-SA-00106\"", CCAI_ERR_PARSE,
     "tcbLevels[1].advisoryIDs: expected an array, found a string"},
    {"tcbLevels[1].advisoryIDs[1]", "7", CCAI_ERR_PARSE,
     "tcbLevels[1].advisoryIDs[1]: expected a string, found an integer"},
    {"tcbLevels[1].advisoryIDs[0]", "\"\"", CCAI_ERR_PARSE,
     "tcbLevels[1].advisoryIDs[0]: expected an advisory ID of 1..64 characters"},
};

static const bad_case BAD_QE[] = {
    {"id", "\"QE\"", CCAI_ERR_UNSUPPORTED, "QE identity: id is \"QE\", expected \"TD_QE\""},
    {"id", "3", CCAI_ERR_PARSE, "QE identity: id: expected a string, found an integer"},
    {"version", "1", CCAI_ERR_UNSUPPORTED, "QE identity: version is 1, expected 2"},
    {"version", NULL, CCAI_ERR_PARSE, "QE identity: missing member version"},
    {"issueDate", "20250619", CCAI_ERR_PARSE, "issueDate: expected a string, found an integer"},
    {"tcbEvaluationDataNumber", NULL, CCAI_ERR_PARSE, "missing member tcbEvaluationDataNumber"},
    {"miscselect", "\"0000000\"", CCAI_ERR_PARSE, "miscselect: expected 8 hex digits"},
    {"miscselectMask", NULL, CCAI_ERR_PARSE, "missing member miscselectMask"},
    {"attributes", "\"110000000000000000000000000000\"", CCAI_ERR_PARSE,
     "attributes: expected 32 hex digits"},
    {"attributesMask", "\"FBFFFFFFFFFFFFFF000000000000000X\"", CCAI_ERR_PARSE,
     "attributesMask: not a hex digit"},
    {"mrsigner", "\"DC9E\"", CCAI_ERR_PARSE, "mrsigner: expected 64 hex digits"},
    {"isvprodid", "-1", CCAI_ERR_PARSE, "isvprodid: expected an integer 0..65535, found -1"},
    {"isvprodid", NULL, CCAI_ERR_PARSE, "missing member isvprodid"},
    {"tcbLevels", "{}", CCAI_ERR_PARSE, "tcbLevels: expected an array, found an object"},
    {"tcbLevels[0].tcb.isvsvn", "\"4\"", CCAI_ERR_PARSE,
     "tcbLevels[0].tcb.isvsvn: expected an integer, found a string"},
    {"tcbLevels[0].tcb", "[]", CCAI_ERR_PARSE,
     "tcbLevels[0].tcb: expected an object, found an array"},
    {"tcbLevels[0].tcbStatus", "\"Bad\"", CCAI_ERR_PARSE,
     "tcbLevels[0].tcbStatus: unknown TCB status \"Bad\""},
};

static void run_bad(json_t *(*base)(void), const bad_case *cases, size_t n, bool tcb)
{
    for (size_t i = 0; i < n; i++) {
        json_t *doc = base();
        edit(doc, cases[i].path, cases[i].val);
        char *s = text(doc);
        ccai_err err = {0};
        ccai_code rc;
        if (tcb) {
            tdx_tcb_info ti;
            rc = tdx_tcb_info_parse(s, strlen(s), &ti, &err);
            assert_null(ti.levels); /* nothing left to free on failure */
        } else {
            tdx_qe_identity qi;
            rc = tdx_qe_identity_parse(s, strlen(s), &qi, &err);
            assert_null(qi.levels);
        }
        if (rc != cases[i].code || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu (%s): code %d, message \"%s\"; expected code %d with \"%s\"", i,
                     cases[i].path, rc, err.msg, cases[i].code, cases[i].msg);
        free(s);
        json_decref(doc);
    }
}

static void test_malformed_tcb_info(void **state)
{
    (void)state;
    run_bad(base_tcb_info, BAD_TCB, sizeof BAD_TCB / sizeof BAD_TCB[0], true);
}

static void test_malformed_qe_identity(void **state)
{
    (void)state;
    run_bad(base_qe_identity, BAD_QE, sizeof BAD_QE / sizeof BAD_QE[0], false);
}

static void test_malformed_text(void **state)
{
    (void)state;
    tdx_tcb_info ti;
    tdx_qe_identity qi;
    ccai_err err = {0};
    assert_int_equal(tdx_tcb_info_parse("{", 1, &ti, &err), CCAI_ERR_PARSE);
    msg_has(&err, "TCB info: JSON at line 1");
    assert_int_equal(tdx_tcb_info_parse("[1]", 3, &ti, &err), CCAI_ERR_PARSE);
    msg_has(&err, "TCB info: expected a JSON object, found an array");
    assert_int_equal(tdx_qe_identity_parse("\"x\"", 3, &qi, &err), CCAI_ERR_PARSE);
    msg_has(&err, "QE identity: expected a JSON object, found a string");
    /* Duplicate members would let two readers see different documents. */
    const char *dup = "{\"id\":\"TD_QE\",\"id\":\"TD_QE\"}";
    assert_int_equal(tdx_qe_identity_parse(dup, strlen(dup), &qi, &err), CCAI_ERR_PARSE);
    char *big = ccai_xmalloc((1 << 20) + 2);
    memset(big, ' ', (1 << 20) + 1);
    big[0] = '{';
    assert_int_equal(tdx_tcb_info_parse(big, (1 << 20) + 1, &ti, &err), CCAI_ERR_PARSE);
    msg_has(&err, "more than the 1048576-byte limit");
    free(big);
}

/* Optional members, lower-case hex, and the byte orders of tcbinfo.c. */
static void test_optional_members(void **state)
{
    (void)state;
    json_t *doc = base_tcb_info();
    edit(doc, "tdxModuleIdentities", NULL);
    edit(doc, "tcbLevels[1].advisoryIDs", NULL);
    edit(doc, "fmspc", "\"b0c06f0000ab\"");
    edit(doc, "tdxModule.attributes", "\"0100000000000002\"");
    edit(doc, "tcbLevels[0].category", "\"ignored\"");
    edit(doc, "issueDate", "\"2025-06-19T12:16:03+02:00\"");
    tdx_tcb_info ti;
    parse_tcb(doc, &ti);
    assert_int_equal(ti.n_module_ids, 0);
    assert_int_equal(ti.levels[1].n_advisories, 0);
    hex_is(ti.fmspc, 6, "b0c06f0000ab");
    assert_true(ti.module.attributes == 0x0100000000000002ULL);
    assert_string_equal(ti.issue_date_str, "2025-06-19T10:16:03Z");
    tdx_tcb_info_free(&ti);
    json_decref(doc);

    doc = base_qe_identity();
    edit(doc, "miscselect", "\"01000000\"");
    edit(doc, "miscselectMask", "\"FFFFFF0F\"");
    tdx_qe_identity qi;
    parse_qe(doc, &qi);
    assert_int_equal(qi.miscselect, 1); /* byte 0 of the report field */
    assert_int_equal(qi.miscselect_mask, 0x0FFFFFFFu);
    tdx_qe_identity_free(&qi);
    json_decref(doc);
}

/* ---- evaluation ------------------------------------------------------------------------ */

/* The real quote's values (testdata/tdx/real-v4-uptodate/quote.bin). */
typedef struct fixture {
    json_t *tcb, *qe;
    tdx_pck_ext pck;
    tdx_td_body body;
    tdx_qe_report rep;
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->tcb = base_tcb_info();
    f->qe = base_qe_identity();
    memcpy(f->pck.comp_svn, PCK_SVN, 16);
    f->pck.pcesvn = 11;
    static const uint8_t fmspc[6] = {0xB0, 0xC0, 0x6F, 0, 0, 0};
    memcpy(f->pck.fmspc, fmspc, 6);
    f->body.tee_tcb_svn[0] = 6;
    f->body.tee_tcb_svn[1] = 1;
    f->body.tee_tcb_svn[2] = 3;
    f->rep.attributes[0] = 0x15;
    f->rep.attributes[8] = 0xE7;
    assert_int_equal(ccai_hex_decode_exact(QE_MRSIGNER, f->rep.mrsigner, 32, NULL), CCAI_OK);
    f->rep.isvprodid = 2;
    f->rep.isvsvn = 6;
}

/* Parses the fixture's documents and runs steps 6-8; ev must be freed. */
static ccai_code evaluate(fixture *f, tdx_tcb_eval *ev, ccai_err *err)
{
    tdx_tcb_info ti;
    tdx_qe_identity qi;
    parse_tcb(f->tcb, &ti);
    parse_qe(f->qe, &qi);
    memset(ev, 0, sizeof *ev);
    ccai_code rc = tdx_qe_identity_check(&qi, &f->rep, ev, err);
    if (!rc)
        rc = tdx_tcb_evaluate(&ti, &f->pck, &f->body, ev, err);
    tdx_tcb_info_free(&ti);
    tdx_qe_identity_free(&qi);
    json_decref(f->tcb);
    json_decref(f->qe);
    f->tcb = f->qe = NULL;
    return rc;
}

/* Evaluates and expects CCAI_ERR_VERIFY with msg. */
static void expect_fail(fixture *f, ccai_code code, const char *msg)
{
    tdx_tcb_eval ev;
    ccai_err err = {0};
    ccai_code rc = evaluate(f, &ev, &err);
    if (rc != code || !strstr(err.msg, msg))
        fail_msg("code %d, message \"%s\"; expected code %d with \"%s\"", rc, err.msg, code, msg);
    tdx_tcb_eval_free(&ev);
}

static void expect_ok(fixture *f, tdx_tcb_eval *ev)
{
    ccai_err err = {0};
    if (evaluate(f, ev, &err) != CCAI_OK)
        fail_msg("%s", err.msg);
}

static void test_eval_baseline(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    tdx_tcb_eval ev;
    expect_ok(&f, &ev);
    assert_int_equal(ev.platform, TDX_TCB_UP_TO_DATE);
    assert_int_equal(ev.qe, TDX_TCB_UP_TO_DATE);
    assert_int_equal(ev.module, TDX_TCB_UP_TO_DATE);
    assert_int_equal(ev.combined, TDX_TCB_UP_TO_DATE);
    assert_string_equal(ev.module_id, "TDX_01");
    assert_string_equal(ev.tcb_date, "2024-03-13T00:00:00Z");
    assert_int_equal(ev.n_advisories, 0);
    tdx_tcb_eval_free(&ev);
}

typedef struct combo {
    tdx_tcb_status platform, qe, module, combined;
} combo;

#define U TDX_TCB_UP_TO_DATE
#define SW TDX_TCB_SW_HARDENING_NEEDED
#define CN TDX_TCB_CONFIGURATION_NEEDED
#define CSW TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED
#define OOD TDX_TCB_OUT_OF_DATE
#define OODC TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED
#define R TDX_TCB_REVOKED

static const combo COMBOS[] = {
    {U, U, U, U},        {SW, U, U, SW},       {CN, U, U, CN},       {CSW, U, U, CSW},
    {OOD, U, U, OOD},    {OODC, U, U, OODC},   {R, U, U, R},
    /* Revoked anywhere wins. */
    {U, R, U, R},        {U, U, R, R},         {OOD, R, OOD, R},     {CN, OOD, R, R},
    /* An out-of-date QE or module degrades the platform status. */
    {U, OOD, U, OOD},    {SW, OOD, U, OOD},    {CN, OOD, U, OODC},   {CSW, OOD, U, OODC},
    {U, U, OOD, OOD},    {SW, U, OOD, OOD},    {CN, U, OOD, OODC},   {CSW, U, OOD, OODC},
    {U, OOD, OOD, OOD},  {OOD, OOD, U, OOD},   {OODC, U, OOD, OODC}, {U, OODC, U, OOD},
    {CN, U, OODC, OODC},
    /* Other QE/module statuses leave the platform's. */
    {U, SW, CN, U},      {CN, SW, SW, CN},     {SW, CSW, U, SW},
};

static void test_combine_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof COMBOS / sizeof COMBOS[0]; i++) {
        const combo *c = &COMBOS[i];
        tdx_tcb_status got = tdx_tcb_combine(c->platform, c->qe, c->module);
        if (got != c->combined)
            fail_msg("row %zu: %s x %s x %s gave %s, expected %s", i,
                     tdx_tcb_status_name(c->platform), tdx_tcb_status_name(c->qe),
                     tdx_tcb_status_name(c->module), tdx_tcb_status_name(got),
                     tdx_tcb_status_name(c->combined));
    }
    assert_int_equal(tdx_tcb_combine(TDX_TCB_UNKNOWN, U, U), TDX_TCB_UNKNOWN);
    assert_int_equal(tdx_tcb_combine(U, TDX_TCB_UNKNOWN, R), TDX_TCB_UNKNOWN);
}

/* The same rules through the whole evaluation, statuses set in the documents. */
static void test_combine_end_to_end(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof COMBOS / sizeof COMBOS[0]; i++) {
        const combo *c = &COMBOS[i];
        fixture f;
        fixture_init(&f);
        char v[64];
        snprintf(v, sizeof v, "\"%s\"", tdx_tcb_status_name(c->platform));
        edit(f.tcb, "tcbLevels[0].tcbStatus", v);
        snprintf(v, sizeof v, "\"%s\"", tdx_tcb_status_name(c->module));
        edit(f.tcb, "tdxModuleIdentities[1].tcbLevels[0].tcbStatus", v);
        snprintf(v, sizeof v, "\"%s\"", tdx_tcb_status_name(c->qe));
        edit(f.qe, "tcbLevels[0].tcbStatus", v);
        tdx_tcb_eval ev;
        expect_ok(&f, &ev);
        assert_int_equal(ev.platform, c->platform);
        assert_int_equal(ev.qe, c->qe);
        assert_int_equal(ev.module, c->module);
        if (ev.combined != c->combined)
            fail_msg("row %zu: combined %s", i, tdx_tcb_status_name(ev.combined));
        tdx_tcb_eval_free(&ev);
    }
}

static void test_eval_platform_levels(void **state)
{
    (void)state;
    fixture f;
    tdx_tcb_eval ev;

    /* tee_tcb_svn[1] > 0: indices 0 and 1 belong to the module identity. */
    fixture_init(&f);
    edit(f.tcb, "tcbLevels[0].tcb.tdxtcbcomponents[0].svn", "200");
    edit(f.tcb, "tcbLevels[0].tcb.tdxtcbcomponents[1].svn", "200");
    expect_ok(&f, &ev);
    assert_int_equal(ev.platform, TDX_TCB_UP_TO_DATE);
    tdx_tcb_eval_free(&ev);

    /* tee_tcb_svn[1] == 0: they count, level 0 fails, level 1 matches; the
     * module is tdxModule (no levels: UpToDate). */
    fixture_init(&f);
    edit(f.tcb, "tcbLevels[0].tcb.tdxtcbcomponents[0].svn", "200");
    f.body.tee_tcb_svn[1] = 0;
    expect_ok(&f, &ev);
    assert_int_equal(ev.platform, TDX_TCB_OUT_OF_DATE);
    assert_int_equal(ev.module, TDX_TCB_UP_TO_DATE);
    assert_string_equal(ev.module_id, "");
    assert_string_equal(ev.tcb_date, "2018-01-04T00:00:00Z");
    tdx_tcb_eval_free(&ev);

    /* A level that matches only further down (PCESVN 10 < 11). */
    fixture_init(&f);
    f.pck.pcesvn = 10;
    expect_ok(&f, &ev);
    assert_int_equal(ev.platform, TDX_TCB_OUT_OF_DATE);
    assert_int_equal(ev.combined, TDX_TCB_OUT_OF_DATE);
    assert_string_equal(ev.tcb_date, "2018-01-04T00:00:00Z");
    assert_int_equal(ev.n_advisories, 2);
    assert_string_equal(ev.advisory_ids[0], "INTEL-SA-00106");
    assert_string_equal(ev.advisory_ids[1], "INTEL-SA-00837");
    tdx_tcb_eval_free(&ev);

    /* No level at all: by PCESVN, by an SGX component, by TDX component 2. */
    fixture_init(&f);
    f.pck.pcesvn = 4;
    expect_fail(&f, CCAI_ERR_VERIFY,
                "TCB level not supported: none of the 2 tcbLevels is at or below the platform "
                "(PCK component SVNs 3,3,2,2,4,1,0,5,0,0,0,0,0,0,0,0, PCESVN 4; tee_tcb_svn "
                "6,1,3,0,0,0,0,0,0,0,0,0,0,0,0,0, indices 0 and 1 skipped)");
    fixture_init(&f);
    f.pck.comp_svn[4] = 2;
    expect_fail(&f, CCAI_ERR_VERIFY, "TCB level not supported");
    fixture_init(&f);
    f.body.tee_tcb_svn[2] = 1;
    expect_fail(&f, CCAI_ERR_VERIFY, "TCB level not supported");
    fixture_init(&f);
    edit(f.tcb, "tcbLevels[1].tcb.sgxtcbcomponents[15].svn", "1");
    edit(f.tcb, "tcbLevels[0].tcb.sgxtcbcomponents[15].svn", "1");
    expect_fail(&f, CCAI_ERR_VERIFY, "TCB level not supported");
}

static void test_eval_platform_ids(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    f.pck.fmspc[5] = 1;
    expect_fail(&f, CCAI_ERR_VERIFY,
                "TCB info: FMSPC mismatch: TCB info is for b0c06f000000, PCK certificate has "
                "b0c06f000001");
    fixture_init(&f);
    f.pck.pce_id[1] = 2;
    expect_fail(&f, CCAI_ERR_VERIFY,
                "TCB info: PCE-ID mismatch: TCB info is for 0000, PCK certificate has 0002");
}

static void test_eval_module(void **state)
{
    (void)state;
    fixture f;
    tdx_tcb_eval ev;

    fixture_init(&f);
    f.body.mr_signer_seam[47] = 1;
    expect_fail(&f, CCAI_ERR_VERIFY,
                "TDX module TDX_01: mrsigner mismatch: expected 0000000000000000000000000000000"
                "00000000000000000000000000000000000000000000000000000000000000000, found "
                "mr_signer_seam 00000000000000000000000000000000000000000000000000000000000000"
                "0000000000000000000000000000000001");

    /* seam_attributes byte 0 set: compared as the JSON hex writes it. */
    fixture_init(&f);
    f.body.seam_attributes = 1;
    expect_fail(&f, CCAI_ERR_VERIFY,
                "TDX module TDX_01: seam_attributes mismatch: expected 0000000000000000 under "
                "mask ffffffffffffffff, found 0100000000000000 (masked 0100000000000000)");
    fixture_init(&f);
    f.body.seam_attributes = 1;
    edit(f.tcb, "tdxModuleIdentities[1].attributesMask", "\"00FFFFFFFFFFFFFF\"");
    expect_ok(&f, &ev);
    tdx_tcb_eval_free(&ev);
    fixture_init(&f);
    f.body.seam_attributes = 0x100; /* byte 1: not masked */
    edit(f.tcb, "tdxModuleIdentities[1].attributesMask", "\"00FFFFFFFFFFFFFF\"");
    expect_fail(&f, CCAI_ERR_VERIFY, "found 0001000000000000 (masked 0001000000000000)");
    /* The plain tdxModule is checked the same way. */
    fixture_init(&f);
    f.body.tee_tcb_svn[1] = 0;
    f.body.seam_attributes = 1;
    expect_fail(&f, CCAI_ERR_VERIFY, "TDX module tdxModule: seam_attributes mismatch");

    /* Missing identity: named in upper-case hex, with what there is. */
    fixture_init(&f);
    f.body.tee_tcb_svn[1] = 0x1A;
    expect_fail(&f, CCAI_ERR_VERIFY,
                "TCB info: no TDX module identity \"TDX_1A\" for tee_tcb_svn[1] = 26 "
                "(tdxModuleIdentities has TDX_03, TDX_01)");
    fixture_init(&f);
    edit(f.tcb, "tdxModuleIdentities", "[]");
    expect_fail(&f, CCAI_ERR_VERIFY,
                "\"TDX_01\" for tee_tcb_svn[1] = 1 (tdxModuleIdentities has none)");

    /* Another identity by tee_tcb_svn[1]; its level by tee_tcb_svn[0]. */
    fixture_init(&f);
    f.body.tee_tcb_svn[1] = 3;
    f.body.tee_tcb_svn[0] = 3;
    expect_ok(&f, &ev);
    assert_string_equal(ev.module_id, "TDX_03");
    assert_int_equal(ev.module, TDX_TCB_UP_TO_DATE);
    tdx_tcb_eval_free(&ev);
    fixture_init(&f);
    f.body.tee_tcb_svn[0] = 3;
    expect_ok(&f, &ev);
    assert_int_equal(ev.module, TDX_TCB_OUT_OF_DATE);
    assert_int_equal(ev.platform, TDX_TCB_UP_TO_DATE);
    assert_int_equal(ev.combined, TDX_TCB_OUT_OF_DATE);
    tdx_tcb_eval_free(&ev);
    fixture_init(&f);
    f.body.tee_tcb_svn[0] = 1;
    expect_fail(&f, CCAI_ERR_VERIFY, "TDX module TDX_01: no TCB level for isvsvn 1");

    /* A tdxModule that does carry levels is judged by them. */
    fixture_init(&f);
    f.body.tee_tcb_svn[1] = 0;
    edit(f.tcb, "tdxModule.tcbLevels",
         "[{\"tcb\":{\"isvsvn\":7},\"tcbDate\":\"2024-03-13T00:00:00Z\","
         "\"tcbStatus\":\"UpToDate\"}]");
    expect_fail(&f, CCAI_ERR_VERIFY, "TDX module tdxModule: no TCB level for isvsvn 6");
}

static void test_eval_qe(void **state)
{
    (void)state;
    fixture f;
    tdx_tcb_eval ev;

    fixture_init(&f);
    f.rep.miscselect = 1;
    expect_fail(&f, CCAI_ERR_VERIFY,
                "QE identity: miscselect mismatch: expected 00000000 under mask ffffffff, found "
                "01000000 (masked 01000000)");
    /* Masked-out attribute bits do not matter; others do. */
    fixture_init(&f);
    f.rep.attributes[0] = 0x11;
    f.rep.attributes[15] = 0xFF;
    expect_ok(&f, &ev);
    tdx_tcb_eval_free(&ev);
    fixture_init(&f);
    f.rep.attributes[1] = 0x01;
    expect_fail(&f, CCAI_ERR_VERIFY,
                "QE identity: attributes mismatch: expected 11000000000000000000000000000000 "
                "under mask fbffffffffffffff0000000000000000, found "
                "1501000000000000e700000000000000 (masked 11010000000000000000000000000000)");
    fixture_init(&f);
    f.rep.mrsigner[0] ^= 1;
    expect_fail(&f, CCAI_ERR_VERIFY,
                "QE identity: mrsigner mismatch: expected "
                "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5, found "
                "dd9e2a7c");
    fixture_init(&f);
    f.rep.isvprodid = 3;
    expect_fail(&f, CCAI_ERR_VERIFY, "QE identity: isvprodid mismatch: expected 2, found 3");
    fixture_init(&f);
    f.rep.isvsvn = 3;
    expect_fail(&f, CCAI_ERR_VERIFY,
                "QE identity: no TCB level for isvsvn 3 (the lowest level needs 4)");

    /* The first level at or below the report's isvsvn. */
    fixture_init(&f);
    edit(f.qe, "tcbLevels[0].tcb.isvsvn", "8");
    edit(f.qe, "tcbLevels[1]",
         "{\"tcb\":{\"isvsvn\":2},\"tcbDate\":\"2023-01-01T00:00:00Z\","
         "\"tcbStatus\":\"OutOfDate\"}");
    expect_ok(&f, &ev);
    assert_int_equal(ev.qe, TDX_TCB_OUT_OF_DATE);
    assert_int_equal(ev.combined, TDX_TCB_OUT_OF_DATE);
    assert_string_equal(ev.tcb_date, "2024-03-13T00:00:00Z"); /* the platform's */
    tdx_tcb_eval_free(&ev);

    /* Step 8 needs step 6's result. */
    tdx_tcb_info ti;
    fixture_init(&f);
    parse_tcb(f.tcb, &ti);
    memset(&ev, 0, sizeof ev);
    ccai_err err = {0};
    assert_int_equal(tdx_tcb_evaluate(&ti, &f.pck, &f.body, &ev, &err), CCAI_ERR_ARG);
    msg_has(&err, "tdx_qe_identity_check must pass first");
    tdx_tcb_info_free(&ti);
    json_decref(f.tcb);
    json_decref(f.qe);
}

static void test_eval_advisories(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    edit(f.tcb, "tcbLevels[0].advisoryIDs", "[\"INTEL-SA-A\",\"INTEL-SA-B\"]");
    edit(f.qe, "tcbLevels[0].advisoryIDs", "[\"INTEL-SA-B\",\"INTEL-SA-C\",\"INTEL-SA-C\"]");
    edit(f.tcb, "tdxModuleIdentities[1].tcbLevels[0].advisoryIDs",
         "[\"INTEL-SA-C\",\"INTEL-SA-D\",\"INTEL-SA-A\"]");
    tdx_tcb_eval ev;
    expect_ok(&f, &ev);
    static const char *const want[] = {"INTEL-SA-A", "INTEL-SA-B", "INTEL-SA-C", "INTEL-SA-D"};
    assert_int_equal(ev.n_advisories, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(ev.advisory_ids[i], want[i]);
    tdx_tcb_eval_free(&ev);
    assert_null(ev.advisory_ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_malformed_tcb_info),
        cmocka_unit_test(test_malformed_qe_identity),
        cmocka_unit_test(test_malformed_text),
        cmocka_unit_test(test_optional_members),
        cmocka_unit_test(test_eval_baseline),
        cmocka_unit_test(test_combine_table),
        cmocka_unit_test(test_combine_end_to_end),
        cmocka_unit_test(test_eval_platform_levels),
        cmocka_unit_test(test_eval_platform_ids),
        cmocka_unit_test(test_eval_module),
        cmocka_unit_test(test_eval_qe),
        cmocka_unit_test(test_eval_advisories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
