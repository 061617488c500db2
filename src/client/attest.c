/* The relying party's attestation (attest.h): evidence over a fresh TLS
 * connection, the binding to our nonce and to the key that connection
 * presented, then local appraisal (verifier/appraisal.h, the attestation
 * service's own pipeline) or a token from a service, checked here. */
#include "client/attest.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/json.h"
#include "base/mem.h"
#include "client/fetch.h"
#include "tee/binding.h"
#include "tee/evidence.h"
#include "verifier/appraisal.h"
#include "verifier/jwt.h"

enum { MAX_EVIDENCE = 8 << 20 };

static void step(ccai_attest_result *r, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void step(ccai_attest_result *r, const char *name, bool ok, const char *fmt, ...)
{
    char detail[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    /* Details quote the server (error bodies, JSON strings): no control
     * characters reach a terminal, and text that is not UTF-8 (or that the
     * buffer cut inside a character) still leaves its step in the report --
     * json_pack would refuse it and the reason would be lost. */
    for (char *p = detail; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    json_t *d = json_string(detail);
    if (!d) {
        for (char *p = detail; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        d = json_string(detail);
    }
    json_array_append_new(json_object_get(r->report, "steps"),
                          json_pack("{s:s?, s:b, s:o}", "name", name ? name : "?", "ok", ok,
                                    "detail", d));
    if (!ok)
        r->outcome = CCAI_ATTEST_REJECTED;
}

const char *ccai_attest_reason(const ccai_attest_result *r, char *buf, size_t n)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(r->report, "steps"), i, s) {
        if (!json_is_true(json_object_get(s, "ok"))) {
            snprintf(buf, n, "%s: %s", json_string_value(json_object_get(s, "name")),
                     json_string_value(json_object_get(s, "detail")));
            return buf;
        }
    }
    return NULL;
}

/* ---- 1 + 2: evidence and its binding ------------------------------------------------ */

static bool get_evidence(const ccai_attest_opts *o, const uint8_t nonce[32], const char *n64,
                         ccai_attest_result *r, json_t **ev_json, tee_evidence *ev)
{
    char path[128];
    snprintf(path, sizeof path, "/api/attestation?nonce=%s", n64);
    char *url = ccai_url_join(o->url, path);
    ccai_fetch_opts fo = {.capture_spki = true, .max_body = MAX_EVIDENCE};
    ccai_fetch_result fr;
    ccai_err e = {0};
    bool ok = false;
    if (ccai_fetch("GET", url, NULL, 0, &fo, &fr, &e)) {
        step(r, "evidence", false, "%s", e.msg);
        goto out;
    }
    memcpy(r->spki_sha256, fr.spki_sha256, 32);
    char spki[65];
    ccai_hex_encode(fr.spki_sha256, 32, spki);
    step(r, "tls", true, "this connection's server key: SPKI SHA-256 %s", spki);
    if (fr.status != 200) {
        char why[256];
        ccai_fetch_error_text(&fr, why, sizeof why);
        step(r, "evidence", false, "GET %s: HTTP %ld: %s", path, fr.status, why);
    } else if (ccai_json_parse((const char *)fr.body.data, fr.body.len, ev_json, &e) ||
               tee_evidence_from_ccai(*ev_json, ev, &e)) {
        step(r, "evidence", false, "%s", e.msg);
    } else {
        step(r, "evidence", true, "ccai-attest/1, %zu-byte quote, %zu runtime events%s%s",
             ev->quote_len, ev->has_log ? ev->log.count : 0,
             ev->collateral ? ", collateral attached" : "", ev->ccel ? ", firmware log" : "");
        ok = true;
    }
    ccai_fetch_result_free(&fr);
    if (!ok)
        goto out;
    /* A replayed answer names another nonce; a relay (a TLS proxy in the
     * middle) forwards the real evidence, which names the real server's key,
     * not the proxy's key that this connection saw. */
    if (!ev->has_nonce || memcmp(ev->nonce, nonce, 32) != 0) {
        step(r, "nonce", false, "expected our nonce %s, found %s", n64,
             ev->nonce_text ? ev->nonce_text : "none");
        ok = false;
    } else {
        step(r, "nonce", true, "the evidence echoes our fresh nonce");
    }
    if (ok && (!ev->has_spki || memcmp(ev->spki_sha256, r->spki_sha256, 32) != 0)) {
        char theirs[65] = "none";
        if (ev->has_spki)
            ccai_hex_encode(ev->spki_sha256, 32, theirs);
        step(r, "tls_binding", false,
             "expected the SPKI SHA-256 of the key this connection received (%s), found %s",
             spki, theirs);
        ok = false;
    } else if (ok) {
        step(r, "tls_binding", true,
             "report data must bind our nonce and this connection's key %s", spki);
    }
out:
    free(url);
    return ok;
}

/* ---- 3a: local appraisal ----------------------------------------------------------- */

static void steps_from_verdict(ccai_attest_result *r, const json_t *v)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(v, "steps"), i, s)
        step(r, json_string_value(json_object_get(s, "name")),
             json_is_true(json_object_get(s, "ok")), "%s",
             json_string_value(json_object_get(s, "detail")) ?: "");
    json_array_foreach(json_object_get(json_object_get(v, "policy"), "checks"), i, s) {
        bool ok = json_is_true(json_object_get(s, "ok"));
        const char *d = json_string_value(json_object_get(s, ok ? "actual" : "reason"));
        char name[160];
        snprintf(name, sizeof name, "policy.%s", json_string_value(json_object_get(s, "name")));
        step(r, name, ok, "%s", d ? d : "");
    }
}

static void appraise_local(const ccai_attest_opts *o, tee_evidence *ev, time_t now,
                           ccai_attest_result *r)
{
    ccai_appraiser_opts ao = {.default_policy = o->policy, .collateral = o->collateral,
                              .pcs_url = o->pcs_url, .cache_dir = o->cache_dir,
                              .trust_simulated = o->trust_simulated};
    ccai_appraiser *a = NULL;
    json_t *v = NULL;
    ccai_err e = {0};
    ccai_code rc = ccai_appraiser_new(&ao, &a, &e);
    if (!rc)
        rc = ccai_appraiser_run(a, ev, now, &v, &e);
    if (rc) {
        step(r, "verify", false, "%s", e.msg);
        if (rc == CCAI_ERR_NOT_FOUND && strstr(e.msg, "collateral"))
            r->outcome = CCAI_ATTEST_NO_COLLATERAL;
    } else {
        steps_from_verdict(r, v);
        /* Said, not failed: the server chose this bundle, and any bundle
         * still inside its validity verifies, an older one too (before a
         * TCB recovery that would make this platform OutOfDate). */
        const char *issued = json_string_value(json_object_get(v, "collateral_issued"));
        if (!o->collateral && !o->pcs_url && ev->collateral && issued)
            step(r, "collateral_source", true,
                 "the server's own bundle, issued %s: a server may send an older one that is "
                 "still valid; --pcs or --collateral verify against collateral it did not choose",
                 issued);
        if (!json_is_true(json_object_get(v, "pass")))
            step(r, "verdict", false, "the evidence did not verify or the policy failed");
        /* Verification stopped before it began: no collateral could be had
         * (none attached, none configured, PCS unreachable). */
        json_t *s0 = json_array_get(json_object_get(v, "steps"), 0);
        const char *s0_name = json_string_value(json_object_get(s0, "name"));
        if (json_array_size(json_object_get(v, "steps")) == 1 && s0_name &&
            !strcmp(s0_name, "collateral") && !json_is_true(json_object_get(s0, "ok")))
            r->outcome = CCAI_ATTEST_NO_COLLATERAL;
        json_object_set_new(r->report, "verdict", v);
    }
    ccai_appraiser_free(a);
}

/* ---- 3b: through an attestation service ------------------------------------------- */

static json_t *service_json(const ccai_attest_opts *o, const char *method, const char *url,
                            const char *body, ccai_attest_result *r, const char *what)
{
    ccai_fetch_opts fo = {.ca_file = o->verifier_ca};
    ccai_fetch_result fr;
    ccai_err e = {0};
    json_t *j = NULL;
    if (ccai_fetch(method, url, body, body ? strlen(body) : 0, &fo, &fr, &e)) {
        step(r, what, false, "%s", e.msg);
        return NULL;
    }
    if (fr.status != 200) {
        char why[256];
        ccai_fetch_error_text(&fr, why, sizeof why);
        step(r, what, false, "%s %s: HTTP %ld: %s", method, url, fr.status, why);
    } else if (ccai_json_parse((const char *)fr.body.data, fr.body.len, &j, &e) ||
               !json_is_object(j)) {
        step(r, what, false, "%s: not a JSON object: %s", url, e.msg);
        json_decref(j);
        j = NULL;
    }
    ccai_fetch_result_free(&fr);
    return j;
}

/* Keeps only the pinned key (when pinned), so a token under any other key
 * fails verification. */
static json_t *pinned_keys(const json_t *jwks, const char *kid)
{
    if (!kid)
        return json_incref((json_t *)(uintptr_t)jwks);
    json_t *keys = json_array(), *k;
    size_t i;
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
        if (json_is_string(json_object_get(k, "kid")) &&
            !strcmp(json_string_value(json_object_get(k, "kid")), kid))
            json_array_append(keys, k);
    return json_pack("{s:o}", "keys", keys);
}

static void check_claims(const ccai_attest_opts *o, const json_t *c, const char *issuer,
                         const uint8_t nonce[32], const char *n64, ccai_attest_result *r)
{
    const char *iss = json_string_value(json_object_get(c, "iss"));
    step(r, "token.iss", iss && !strcmp(iss, issuer), "expected %s, found %s", issuer,
         iss ? iss : "none");
    json_t *b = json_object_get(c, "binding");
    const char *bn = json_string_value(json_object_get(b, "nonce"));
    step(r, "token.nonce", bn && !strcmp(bn, n64), "expected our nonce %s, found %s", n64,
         bn ? bn : "none");
    char spki[65];
    ccai_hex_encode(r->spki_sha256, 32, spki);
    const char *bs = json_string_value(json_object_get(b, "tls_spki_sha256"));
    step(r, "token.tls_spki", bs && !strcmp(bs, spki),
         "expected the key this connection received (%s), found %s", spki, bs ? bs : "none");
    step(r, "token.report_data", json_is_true(json_object_get(b, "report_data_ok")),
         "the service %s the report data from the nonce and key",
         json_is_true(json_object_get(b, "report_data_ok")) ? "recomputed" : "did not match");
    /* And we recompute it ourselves from what we saw: the quote the token
     * describes must carry our nonce and this connection's key. */
    uint8_t rd[64];
    char want[129];
    tee_report_data_bind(nonce, r->spki_sha256, NULL, rd);
    ccai_hex_encode(rd, 64, want);
    const char *qrd = json_string_value(json_object_get(c, "report_data"));
    step(r, "token.quote_report_data", qrd && !strcmp(qrd, want),
         "expected SHA-512(ccai-attest/1, our nonce, our key) %s, found %s", want,
         qrd ? qrd : "none");
    /* What the service says it verified: a TDX quote, every step. */
    const char *tee = json_string_value(json_object_get(c, "tee"));
    step(r, "token.tee", tee && (!strcmp(tee, "tdx") || !strcmp(tee, "tdx-sim")),
         "expected tee tdx (or tdx-sim), found %s", tee ? tee : "none");
    step(r, "token.verified", json_is_true(json_object_get(c, "verified")),
         "expected verified: true (every step of the quote's verification passed), found %s",
         json_is_true(json_object_get(c, "verified")) ? "true" : "not true");
    json_t *pol = json_object_get(c, "policy");
    const char *pid = json_string_value(json_object_get(pol, "policy_id"));
    if (o->policy_id)
        step(r, "token.policy_id", pid && !strcmp(pid, o->policy_id),
             "expected the policy we asked for, %s, found %s", o->policy_id, pid ? pid : "none");
    bool pass = json_is_true(json_object_get(c, "pass"));
    if (pass) {
        step(r, "token.policy", true, "policy %s passed", pid ? pid : "?");
    } else {
        size_t i;
        json_t *f;
        int n = 0;
        json_array_foreach(json_object_get(pol, "failed"), i, f) {
            step(r, "token.policy", false, "%s", json_string_value(json_object_get(f, "reason")) ?: "?");
            n++;
        }
        if (!n)
            step(r, "token.policy", false, "policy %s failed", pid ? pid : "?");
    }
}

static void appraise_service(const ccai_attest_opts *o, const json_t *ev_json,
                             const uint8_t nonce[32], const char *n64, time_t now,
                             ccai_attest_result *r)
{
    char *disc_url = ccai_url_join(o->verifier, "/.well-known/openid-configuration");
    char *post_url = ccai_url_join(o->verifier, "/v1/attestation");
    json_t *disc = NULL, *ans = NULL, *jwks = NULL, *keys = NULL, *claims = NULL;
    char *body = NULL;
    if (!(disc = service_json(o, "GET", disc_url, NULL, r, "service")))
        goto out;
    const char *issuer = json_string_value(json_object_get(disc, "issuer"));
    const char *jwks_uri = json_string_value(json_object_get(disc, "jwks_uri"));
    if (!issuer || !jwks_uri) {
        step(r, "service", false, "%s: no issuer or jwks_uri", disc_url);
        goto out;
    }
    /* Always the wrapped form: the policy is ours to choose (or the
     * service's default), never the server's. A bare object may carry
     * "policy_ids" and "strict", and the server made the bare object. */
    json_t *req = o->policy_id ? json_pack("{s:O, s:[s]}", "evidence", ev_json, "policy_ids",
                                           o->policy_id)
                               : json_pack("{s:O}", "evidence", ev_json);
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!(ans = service_json(o, "POST", post_url, body, r, "token")))
        goto out;
    const char *tok = json_string_value(json_object_get(ans, "token"));
    if (!tok) {
        step(r, "token", false, "%s: the answer has no \"token\"", post_url);
        goto out;
    }
    if (!(jwks = service_json(o, "GET", jwks_uri, NULL, r, "jwks")))
        goto out;
    keys = pinned_keys(jwks, o->verifier_kid);
    ccai_err e = {0};
    if (ccai_jwt_verify(tok, keys, now, &claims, &e)) {
        step(r, "token", false, "%s%s", e.msg,
             o->verifier_kid ? " (only the pinned key id is accepted)" : "");
        goto out;
    }
    step(r, "token", true, "ES256 signature by %s verifies against %s; not expired", issuer,
         jwks_uri);
    check_claims(o, claims, issuer, nonce, n64, r);
    json_object_set(r->report, "verdict", claims);
out:
    free(disc_url);
    free(post_url);
    free(body);
    json_decref(disc);
    json_decref(ans);
    json_decref(jwks);
    json_decref(keys);
    json_decref(claims);
}

/* Whether the verdict's policy pinned the code that serves: a passing
 * binary_sha256 check, or RTMR3's value (which covers the whole runtime
 * log, the binary included). A policy that pins neither (the default one)
 * passes any genuine TD, whatever runs in it. */
static bool code_pinned(const json_t *verdict)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(verdict, "policy"), "checks"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (name && (!strcmp(name, "binary_sha256") || !strcmp(name, "rtmr3")) &&
            json_is_true(json_object_get(c, "ok")))
            return true;
    }
    return false;
}

/* ---- entry point ------------------------------------------------------------------- */

ccai_code ccai_attest(const ccai_attest_opts *o, ccai_attest_result *r, ccai_err *err)
{
    memset(r, 0, sizeof *r);
    if (!o->url || strncmp(o->url, "https://", 8) != 0)
        return ccai_fail(err, CCAI_ERR_ARG, "expected an https:// server URL, found %s",
                         o->url ? o->url : "none");
    if (o->verifier && strncmp(o->verifier, "https://", 8) != 0)
        return ccai_fail(err, CCAI_ERR_ARG, "expected an https:// attestation service URL, "
                                            "found %s", o->verifier);
    r->report = json_pack("{s:s, s:s, s:[]}", "server", o->url, "mode",
                          o->verifier ? "service" : "local", "steps");
    uint8_t nonce[32];
    if (RAND_bytes(nonce, sizeof nonce) != 1) {
        json_decref(r->report);
        r->report = NULL;
        return ccai_fail(err, CCAI_ERR_CRYPTO, "no randomness for the nonce");
    }
    char *n64 = ccai_b64_encode(nonce, 32, CCAI_B64_URL);
    time_t now = o->now ? o->now : time(NULL);
    json_t *ev_json = NULL;
    tee_evidence ev;
    memset(&ev, 0, sizeof ev);
    if (get_evidence(o, nonce, n64, r, &ev_json, &ev)) {
        if (o->verifier)
            appraise_service(o, ev_json, nonce, n64, now, r);
        else
            appraise_local(o, &ev, now, r);
    }
    /* What ran, as the verification (not the server's claim) says. */
    json_t *v = json_object_get(r->report, "verdict");
    const char *tee = json_string_value(json_object_get(v, "tee"));
    json_object_set_new(r->report, "tee", tee ? json_string(tee) : json_null());
    r->simulated = tee && !strcmp(tee, "tdx-sim");
    r->code_pinned = code_pinned(v);
    json_object_set_new(r->report, "code_pinned", json_boolean(r->code_pinned));
    if (r->outcome == CCAI_ATTEST_PASS && r->simulated && !o->trust_simulated)
        step(r, "simulated", false, "expected a real TD, found tee tdx-sim (simulated: "
                                    "--trust-simulated accepts it, never as confidential)");
    if (r->outcome == CCAI_ATTEST_PASS && !v)
        step(r, "verdict", false, "no verdict");
    json_object_set_new(r->report, "pass", json_boolean(r->outcome == CCAI_ATTEST_PASS));
    tee_evidence_free(&ev);
    json_decref(ev_json);
    free(n64);
    return CCAI_OK;
}
