/* Evidence parsing (evidence.h): the ccai-attest/1 object, its request
 * wrapper and the Alibaba/Trustee request, each turned into one tee_evidence
 * with every size bounded before anything is decoded. No crypto here: the
 * quote stays bytes for the verify stage, the event log's digests are only
 * checked against their own texts (tee_eventlog_from_json). */
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/json.h"
#include "base/mem.h"
#include "tee/binding.h"
#include "tee/evidence.h"

enum { TEE_NAME_MAX = 32 };

/* Longest base64 text (with padding) that can hold max bytes. */
static size_t b64_max_text(size_t max)
{
    return (max + 2) / 3 * 4;
}

/* A member that is absent or JSON null. */
static bool absent(const json_t *v)
{
    return !v || json_is_null(v);
}

/* Decodes base64 text in alpha; CCAI_B64_STD here means "either alphabet"
 * when any_alpha is set (Trustee clients use both). */
static ccai_code b64_member(const json_t *obj, const char *key, ccai_b64_alphabet alpha,
                            bool any_alpha, size_t max, uint8_t **out, size_t *len,
                            ccai_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "%s: expected a base64 string, found %s", key,
                         ccai_json_kind(v));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0)
        return ccai_fail(err, CCAI_ERR_PARSE, "%s: expected base64 data, found an empty string",
                         key);
    if (n > b64_max_text(max))
        return ccai_fail(err, CCAI_ERR_PARSE, "%s: at most %zu bytes allowed, found %zu base64 "
                         "characters", key, max, n);
    if (any_alpha && strpbrk(s, "-_"))
        alpha = CCAI_B64_URL;
    if (ccai_b64_decode(s, n, alpha, out, len, err)) {
        ccai_err_prefix(err, "%s", key);
        return CCAI_ERR_PARSE;
    }
    if (*len > max) {
        free(*out);
        *out = NULL;
        return ccai_fail(err, CCAI_ERR_PARSE, "%s: at most %zu bytes allowed, found %zu", key,
                         max, *len);
    }
    return CCAI_OK;
}

static ccai_code runtime_log(const json_t *v, const char *key, tee_evidence *out, ccai_err *err)
{
    if (absent(v))
        return CCAI_OK;
    if (!json_is_array(v))
        return ccai_fail(err, json_is_string(v) ? CCAI_ERR_UNSUPPORTED : CCAI_ERR_PARSE,
                         "%s: expected null or a ccai event log (JSON array), found %s", key,
                         ccai_json_kind(v));
    if (json_array_size(v) > TEE_EVIDENCE_MAX_EVENTS)
        return ccai_fail(err, CCAI_ERR_PARSE, "%s: at most %d entries allowed, found %zu", key,
                         TEE_EVIDENCE_MAX_EVENTS, json_array_size(v));
    ccai_code rc = tee_eventlog_from_json(v, &out->log, err);
    if (rc) {
        ccai_err_prefix(err, "%s", key);
        return rc;
    }
    out->has_log = true;
    return CCAI_OK;
}

static ccai_code ccel_member(const json_t *obj, tee_evidence *out, bool any_alpha, ccai_err *err)
{
    if (absent(json_object_get(obj, "cc_eventlog")))
        return CCAI_OK;
    return b64_member(obj, "cc_eventlog", CCAI_B64_STD, any_alpha, TEE_EVIDENCE_MAX_CCEL,
                      &out->ccel, &out->ccel_len, err);
}

static ccai_code policy_ids(const json_t *obj, tee_evidence *out, ccai_err *err)
{
    const json_t *v = json_object_get(obj, "policy_ids");
    if (absent(v))
        return CCAI_OK;
    if (!json_is_array(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "policy_ids: expected an array of strings, found %s",
                         ccai_json_kind(v));
    if (json_array_size(v) > TEE_EVIDENCE_MAX_POLICY_IDS)
        return ccai_fail(err, CCAI_ERR_PARSE, "policy_ids: at most %d allowed, found %zu",
                         TEE_EVIDENCE_MAX_POLICY_IDS, json_array_size(v));
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) == 0 ||
            json_string_length(s) > TEE_EVIDENCE_MAX_POLICY_ID)
            return ccai_fail(err, CCAI_ERR_PARSE,
                             "policy_ids[%zu]: expected a string of 1 to %d characters, found %s",
                             i, TEE_EVIDENCE_MAX_POLICY_ID,
                             json_is_string(s) ? "a string of another length" : ccai_json_kind(s));
        out->policy_ids[out->n_policy_ids++] = ccai_xstrdup(json_string_value(s));
    }
    return CCAI_OK;
}

static ccai_code strict_member(const json_t *obj, tee_evidence *out, ccai_err *err)
{
    const json_t *v = json_object_get(obj, "strict");
    if (absent(v))
        return CCAI_OK;
    if (!json_is_boolean(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "strict: expected true or false, found %s",
                         ccai_json_kind(v));
    out->strict = json_is_true(v);
    return CCAI_OK;
}

static ccai_code tee_member(const json_t *obj, tee_evidence *out, ccai_err *err)
{
    const json_t *v = json_object_get(obj, "tee");
    if (!json_is_string(v))
        return ccai_fail(err, CCAI_ERR_PARSE, "tee: expected a string, found %s",
                         ccai_json_kind(v));
    const char *tee = json_string_value(v);
    if (!*tee || strlen(tee) > TEE_NAME_MAX)
        return ccai_fail(err, CCAI_ERR_PARSE, "tee: expected a TEE name of 1 to %d characters",
                         TEE_NAME_MAX);
    out->tee = ccai_xstrdup(tee);
    return CCAI_OK;
}

/* ---- ccai-attest/1 ------------------------------------------------------------- */

static ccai_code nonce_member(const json_t *obj, tee_evidence *out, ccai_err *err)
{
    uint8_t *raw = NULL;
    size_t n = 0;
    /* 48 bytes of room so a wrong length is reported as such, not as "too long". */
    ccai_code rc = b64_member(obj, "nonce", CCAI_B64_URL, false, 48, &raw, &n, err);
    if (rc)
        return rc;
    if (n != TEE_EVIDENCE_NONCE_LEN) {
        free(raw);
        return ccai_fail(err, CCAI_ERR_PARSE, "nonce: expected %d bytes, found %zu",
                         TEE_EVIDENCE_NONCE_LEN, n);
    }
    memcpy(out->nonce, raw, n);
    free(raw);
    out->has_nonce = true;
    out->nonce_text = ccai_xstrdup(json_string_value(json_object_get(obj, "nonce")));
    return CCAI_OK;
}

static ccai_code spki_member(const json_t *obj, tee_evidence *out, ccai_err *err)
{
    const json_t *v = json_object_get(obj, "tls_spki_sha256");
    if (absent(v))
        return CCAI_OK;
    if (!json_is_string(v) || json_string_length(v) != 64)
        return ccai_fail(err, CCAI_ERR_PARSE,
                         "tls_spki_sha256: expected null or 64 hex digits, found %s",
                         json_is_string(v) ? "a string of another length" : ccai_json_kind(v));
    if (ccai_json_get_hex(obj, "tls_spki_sha256", out->spki_sha256, 32, err))
        return CCAI_ERR_PARSE;
    out->has_spki = true;
    return CCAI_OK;
}

ccai_code tee_evidence_from_ccai(const json_t *obj, tee_evidence *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    out->form = TEE_EVIDENCE_CCAI;
    if (!json_is_object(obj))
        return ccai_fail(err, CCAI_ERR_PARSE, "evidence: expected a JSON object, found %s",
                         ccai_json_kind(obj));
    const json_t *ver = json_object_get(obj, "version");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), CCAI_ATTEST_VERSION) != 0)
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED, "version: expected \"%s\", found %s%s%s",
                         CCAI_ATTEST_VERSION, json_is_string(ver) ? "\"" : "",
                         json_is_string(ver) ? json_string_value(ver) : ccai_json_kind(ver),
                         json_is_string(ver) ? "\"" : "");
    ccai_code rc = tee_member(obj, out, err);
    if (!rc)
        rc = nonce_member(obj, out, err);
    if (!rc)
        rc = b64_member(obj, "quote", CCAI_B64_STD, false, TEE_EVIDENCE_MAX_QUOTE, &out->quote,
                        &out->quote_len, err);
    if (!rc)
        rc = runtime_log(json_object_get(obj, "event_log"), "event_log", out, err);
    if (!rc)
        rc = spki_member(obj, out, err);
    if (!rc)
        rc = ccel_member(obj, out, false, err);
    if (rc)
        return rc;
    const json_t *coll = json_object_get(obj, "collateral");
    if (!absent(coll) && !json_is_object(coll))
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: expected null or an object, found %s",
                         ccai_json_kind(coll));
    if (json_is_object(coll))
        out->collateral = json_incref((json_t *)(uintptr_t)coll);
    /* The binding's third input is reserved: E is 32 zero bytes while there is no key. */
    if (!absent(json_object_get(obj, "e2e_key")))
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED,
                         "e2e_key: expected null (end-to-end keys are not supported yet)");
    return CCAI_OK;
}

/* ---- Alibaba / Trustee -------------------------------------------------------------- */

static ccai_code runtime_data(const json_t *obj, tee_evidence *out, ccai_err *err)
{
    const json_t *rd = json_object_get(obj, "runtime_data");
    if (absent(rd))
        return CCAI_OK;
    if (!json_is_object(rd))
        return ccai_fail(err, CCAI_ERR_PARSE, "runtime_data: expected an object {\"raw\": "
                         "\"<base64>\"}, found %s", ccai_json_kind(rd));
    if (!json_object_get(rd, "raw"))
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED, "runtime_data: expected a \"raw\" member "
                         "(structured runtime data is not supported)");
    ccai_code rc = b64_member(rd, "raw", CCAI_B64_STD, true, TEE_EVIDENCE_MAX_RUNTIME_DATA,
                              &out->runtime_data, &out->runtime_data_len, err);
    if (rc) {
        ccai_err_prefix(err, "runtime_data");
        return rc;
    }
    out->has_runtime_data = true;
    out->runtime_data_text = ccai_xstrdup(json_string_value(json_object_get(rd, "raw")));
    return CCAI_OK;
}

/* The inner {quote, cc_eventlog, aa_eventlog} object. */
static ccai_code trustee_inner(const json_t *obj, tee_evidence *out, ccai_err *err)
{
    uint8_t *raw = NULL;
    size_t n = 0;
    /* The inner JSON holds the quote, the firmware log and the runtime log. */
    size_t max = b64_max_text(TEE_EVIDENCE_MAX_QUOTE) + b64_max_text(TEE_EVIDENCE_MAX_CCEL) +
                 (2u << 20);
    ccai_code rc = b64_member(obj, "evidence", CCAI_B64_URL, false, max, &raw, &n, err);
    if (rc)
        return rc;
    json_t *inner = NULL;
    rc = ccai_json_parse((const char *)raw, n, &inner, err);
    free(raw);
    if (rc) {
        ccai_err_prefix(err, "evidence (decoded)");
        return rc;
    }
    if (!json_is_object(inner))
        rc = ccai_fail(err, CCAI_ERR_PARSE, "evidence (decoded): expected a JSON object {quote, "
                       "cc_eventlog, aa_eventlog}, found %s", ccai_json_kind(inner));
    if (!rc)
        rc = b64_member(inner, "quote", CCAI_B64_STD, true, TEE_EVIDENCE_MAX_QUOTE, &out->quote,
                        &out->quote_len, err);
    if (!rc)
        rc = ccel_member(inner, out, true, err);
    if (!rc)
        rc = runtime_log(json_object_get(inner, "aa_eventlog"), "aa_eventlog", out, err);
    if (rc && strncmp(err ? err->msg : "evidence", "evidence", 8) != 0)
        ccai_err_prefix(err, "evidence");
    json_decref(inner);
    return rc;
}

ccai_code tee_evidence_from_trustee(const json_t *obj, tee_evidence *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    out->form = TEE_EVIDENCE_TRUSTEE;
    if (!json_is_object(obj))
        return ccai_fail(err, CCAI_ERR_PARSE, "request: expected a JSON object, found %s",
                         ccai_json_kind(obj));
    ccai_code rc = tee_member(obj, out, err);
    if (rc)
        return rc;
    if (strcmp(out->tee, "tdx") != 0)
        return ccai_fail(err, CCAI_ERR_UNSUPPORTED, "tee: expected \"tdx\", found \"%s\"",
                         out->tee);
    rc = trustee_inner(obj, out, err);
    if (!rc)
        rc = runtime_data(obj, out, err);
    if (!rc)
        rc = policy_ids(obj, out, err);
    if (!rc)
        rc = strict_member(obj, out, err);
    return rc;
}

/* ---- a request body ------------------------------------------------------------- */

ccai_code tee_evidence_parse(const char *text, size_t len, tee_evidence *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *j = NULL;
    ccai_code rc = ccai_json_parse(text, len, &j, err);
    if (rc)
        return rc;
    const json_t *ev = json_is_object(j) ? json_object_get(j, "evidence") : NULL;
    if (!json_is_object(j)) {
        rc = ccai_fail(err, CCAI_ERR_PARSE, "expected a JSON object (ccai-attest/1 evidence or "
                       "an attestation request), found %s", ccai_json_kind(j));
    } else if (json_is_string(ev)) {
        rc = tee_evidence_from_trustee(j, out, err);
    } else if (json_is_object(ev)) {
        rc = tee_evidence_from_ccai(ev, out, err);
        if (!rc)
            rc = policy_ids(j, out, err);
        if (!rc)
            rc = strict_member(j, out, err);
    } else if (ev) {
        rc = ccai_fail(err, CCAI_ERR_PARSE, "evidence: expected a ccai-attest/1 object or a "
                       "base64url string, found %s", ccai_json_kind(ev));
    } else {
        /* A bare object may name its policy too: ignoring a policy id the
         * caller asked for would appraise against "default" and could pass
         * evidence the named policy rejects. */
        rc = tee_evidence_from_ccai(j, out, err);
        if (!rc)
            rc = policy_ids(j, out, err);
        if (!rc)
            rc = strict_member(j, out, err);
    }
    json_decref(j);
    return rc;
}

void tee_evidence_free(tee_evidence *ev)
{
    if (!ev)
        return;
    free(ev->tee);
    free(ev->quote);
    free(ev->nonce_text);
    tee_eventlog_free(&ev->log);
    free(ev->ccel);
    json_decref(ev->collateral);
    free(ev->runtime_data);
    free(ev->runtime_data_text);
    for (size_t i = 0; i < ev->n_policy_ids; i++)
        free(ev->policy_ids[i]);
    memset(ev, 0, sizeof *ev);
}
