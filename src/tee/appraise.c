/* Policy appraisal (appraise stage, applying half): compares a verified quote
 * and its replayed runtime event log with a policy (parsed by policy.c) and
 * lists every check in a fixed order with what was expected, what was found
 * and, for a failure, one line "<name>: expected <..>, found <..>".
 * Contract in appraise.h; the checks are described in docs/policy.md.
 *
 * Fails closed: unverified evidence fails the "verified" check (the other
 * checks still run, so the result shows everything that is wrong); event
 * data counts only when the verify stage replayed the log to RTMR3; an event
 * whose text cannot be read fails every check that reads events, since its
 * type is unknown. Events are read from the exact text that was hashed,
 * never from a re-serialization. */
#include "tee/appraise.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "tee/policy_internal.h"

enum { RUNTIME_MR = 3 };

/* ---- the list of checks -------------------------------------------------- */

typedef struct builder {
    tdx_appraisal *a;
    size_t cap;
} builder;

/* Appends a check; takes ownership of expected and actual. */
static void add_check(builder *b, const char *name, bool ok, char *expected, char *actual)
{
    tdx_appraisal *a = b->a;
    if (a->n_checks == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        a->checks = ccai_xrealloc(a->checks, b->cap * sizeof *a->checks);
    }
    tdx_check *c = &a->checks[a->n_checks++];
    c->name = ccai_xstrdup(name);
    c->expected = expected;
    c->actual = actual;
    c->ok = ok;
    c->reason = ok ? NULL : ccai_xasprintf("%s: expected %s, found %s", name, expected, actual);
    if (!ok)
        a->pass = false;
}

static char *hex_dup(const uint8_t *p, size_t n)
{
    return ccai_hex_dup(p, n);
}

static char *u64_dup(uint64_t v)
{
    return ccai_xasprintf("%016" PRIx64, v);
}

/* "one of [<hex>, <hex>]" */
static char *one_of_values(const tdx_value_list *l)
{
    ccai_buf b = {0};
    char *h = ccai_xmalloc(2 * l->width + 1);
    ccai_buf_append_str(&b, "one of [");
    for (size_t i = 0; i < l->n; i++) {
        ccai_hex_encode(l->v + i * l->width, l->width, h);
        if (i)
            ccai_buf_append_str(&b, ", ");
        ccai_buf_append_str(&b, h);
    }
    ccai_buf_append(&b, "]", 2);
    free(h);
    return (char *)ccai_buf_steal(&b, NULL);
}

static bool in_values(const tdx_value_list *l, const uint8_t *v)
{
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->v + i * l->width, v, l->width) == 0)
            return true;
    return false;
}

static const char *status_name(tdx_tcb_status s)
{
    const char *n = tdx_tcb_status_name(s);
    return n && *n ? n : "unknown";
}

/* ---- evidence checks ----------------------------------------------------- */

static void check_verified(builder *b, const tdx_verify_result *v)
{
    const char *found = v->verified ? "verified evidence"
                        : v->failure.msg[0] ? v->failure.msg
                                            : "evidence that did not verify";
    add_check(b, "verified", v->verified, ccai_xstrdup("verified evidence"), ccai_xstrdup(found));
}

/* Simulated evidence is accepted when the policy allows it or the caller
 * explicitly trusts it (--trust-simulated); the actual value always says
 * "tdx-sim", so no reader mistakes it for a confidential TD. */
static void check_simulated(builder *b, const tdx_policy *p, const tdx_appraise_input *in)
{
    const char *tee = in->verify->tee;
    bool sim_ok = p->allow_simulated || in->trust_simulated;
    bool ok = tee && (!strcmp(tee, "tdx") || (sim_ok && !strcmp(tee, "tdx-sim")));
    const char *expected = p->allow_simulated  ? "tdx or tdx-sim"
                           : in->trust_simulated ? "tdx or tdx-sim (trusted by the caller)"
                                                 : "tdx";
    add_check(b, "simulated", ok, ccai_xstrdup(expected),
              ccai_xstrdup(tee ? tee : "no trusted root"));
}

static void check_tcb_status(builder *b, const tdx_policy *p, const tdx_verify_result *v)
{
    ccai_buf e = {0};
    bool ok = false;
    ccai_buf_append_str(&e, "one of [");
    for (size_t i = 0; i < p->n_statuses; i++) {
        if (i)
            ccai_buf_append_str(&e, ", ");
        ccai_buf_append_str(&e, status_name(p->statuses[i]));
        ok = ok || p->statuses[i] == v->tcb.combined;
    }
    ccai_buf_append(&e, "]", 2);
    ok = ok && v->tcb.combined != TDX_TCB_UNKNOWN;
    add_check(b, "tcb_status", ok, (char *)ccai_buf_steal(&e, NULL),
              ccai_xstrdup(status_name(v->tcb.combined)));
}

static void check_body(builder *b, const tdx_policy *p, const tdx_td_body *body)
{
    bool debug = body->td_attributes & TDX_TD_ATTR_DEBUG;
    add_check(b, "debug", !debug || p->allow_debug,
              ccai_xstrdup(p->allow_debug ? "DEBUG set or clear" : "DEBUG clear"),
              ccai_xstrdup(debug ? "DEBUG set" : "DEBUG clear"));

    if (p->has_attributes) {
        uint64_t masked = body->td_attributes & p->attr_mask;
        add_check(b, "td_attributes", masked == p->attr_value,
                  ccai_xasprintf("%016" PRIx64 " under mask %016" PRIx64, p->attr_value,
                                 p->attr_mask),
                  ccai_xasprintf("%016" PRIx64 " (masked %016" PRIx64 ")", body->td_attributes,
                                 masked));
    }
    if (p->n_xfam) {
        ccai_buf e = {0};
        bool ok = false;
        ccai_buf_append_str(&e, "one of [");
        for (size_t i = 0; i < p->n_xfam; i++) {
            char h[17];
            snprintf(h, sizeof h, "%016" PRIx64, p->xfam[i]);
            if (i)
                ccai_buf_append_str(&e, ", ");
            ccai_buf_append_str(&e, h);
            ok = ok || p->xfam[i] == body->xfam;
        }
        ccai_buf_append(&e, "]", 2);
        add_check(b, "xfam", ok, (char *)ccai_buf_steal(&e, NULL), u64_dup(body->xfam));
    }

    static const char *const names[TDX_POLICY_N_REGISTERS] = {
        [TDX_POLICY_MR_TD] = "mr_td",       [TDX_POLICY_RTMR0] = "rtmr0",
        [TDX_POLICY_RTMR1] = "rtmr1",       [TDX_POLICY_RTMR2] = "rtmr2",
        [TDX_POLICY_MR_SEAM] = "mr_seam",   [TDX_POLICY_MR_CONFIG_ID] = "mr_config_id",
        [TDX_POLICY_MR_OWNER] = "mr_owner",
    };
    const uint8_t *regs[TDX_POLICY_N_REGISTERS] = {
        [TDX_POLICY_MR_TD] = body->mr_td,       [TDX_POLICY_RTMR0] = body->rtmr[0],
        [TDX_POLICY_RTMR1] = body->rtmr[1],     [TDX_POLICY_RTMR2] = body->rtmr[2],
        [TDX_POLICY_MR_SEAM] = body->mr_seam,   [TDX_POLICY_MR_CONFIG_ID] = body->mr_config_id,
        [TDX_POLICY_MR_OWNER] = body->mr_owner,
    };
    for (int i = 0; i < TDX_POLICY_N_REGISTERS; i++)
        if (p->mr[i].present)
            add_check(b, names[i], in_values(&p->mr[i], regs[i]), one_of_values(&p->mr[i]),
                      hex_dup(regs[i], 48));
}

/* ---- runtime events ------------------------------------------------------ */

typedef struct digest_event {
    size_t entry;        /* index in the runtime log */
    bool valid;          /* data.sha256 is 64 hex digits */
    uint8_t sha256[32];
} digest_event;

typedef struct digest_events {
    size_t n, cap;
    digest_event *ev;
} digest_events;

/* What the replayed runtime log says, read once for every check. */
typedef struct runtime_events {
    char *unavailable;   /* why no event can be trusted ("no runtime log"), or NULL */
    digest_events binary, model;
    json_t *config;      /* data of the last ccai.config event, or NULL */
} runtime_events;

static void add_digest_event(digest_events *d, size_t entry, const json_t *data)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 8;
        d->ev = ccai_xrealloc(d->ev, d->cap * sizeof *d->ev);
    }
    digest_event *e = &d->ev[d->n++];
    memset(e, 0, sizeof *e);
    e->entry = entry;
    const json_t *h = json_object_get(data, "sha256");
    e->valid = json_is_string(h) &&
               ccai_hex_decode_exact(json_string_value(h), e->sha256, 32, NULL) == CCAI_OK;
}

/* Reads one event's exact text; false (with *why set) when it is not
 * {"data":{..},"type":"<string>",..}. */
static bool read_event(const tee_event *ev, size_t entry, runtime_events *out, char **why)
{
    json_t *j = NULL;
    ccai_err err = {0};
    if (ccai_json_parse(ev->event, strlen(ev->event), &j, &err)) {
        *why = ccai_xasprintf("unreadable runtime log entry %zu (%s)", entry, err.msg);
        return false;
    }
    const json_t *type = json_object_get(j, "type");
    json_t *data = json_object_get(j, "data");
    if (!json_is_string(type) || !json_is_object(data)) {
        *why = ccai_xasprintf("unreadable runtime log entry %zu (expected an object with a "
                              "string \"type\" and an object \"data\")",
                              entry);
        json_decref(j);
        return false;
    }
    const char *t = json_string_value(type);
    if (!strcmp(t, "ccai.binary")) {
        add_digest_event(&out->binary, entry, data);
    } else if (!strcmp(t, "ccai.model")) {
        add_digest_event(&out->model, entry, data);
    } else if (!strcmp(t, "ccai.config")) {
        json_decref(out->config);
        out->config = json_incref(data);
    }
    json_decref(j);
    return true;
}

static void read_runtime_events(const tdx_appraise_input *in, runtime_events *out)
{
    memset(out, 0, sizeof *out);
    const tee_eventlog *log = in->runtime_log;
    if (!log) {
        out->unavailable = ccai_xstrdup("no runtime log");
        return;
    }
    if (!in->verify->runtime_replayed) {
        out->unavailable = ccai_xstrdup("a runtime log that was not replayed to RTMR3");
        return;
    }
    for (size_t i = 0; i < log->count; i++) {
        if (log->ev[i].mr != RUNTIME_MR || !log->ev[i].event)
            continue;
        if (!read_event(&log->ev[i], i, out, &out->unavailable))
            return;
    }
}

static void free_runtime_events(runtime_events *r)
{
    free(r->unavailable);
    free(r->binary.ev);
    free(r->model.ev);
    json_decref(r->config);
}

static void check_runtime_log(builder *b, const tdx_appraise_input *in)
{
    bool ok = in->runtime_log && in->verify->runtime_replayed;
    char *found = !in->runtime_log ? ccai_xstrdup("no runtime log")
                  : !ok ? ccai_xstrdup("a runtime log that was not replayed to RTMR3")
                        : ccai_xasprintf("%zu events replayed to RTMR3", in->runtime_log->count);
    add_check(b, "runtime_log", ok, ccai_xstrdup("a runtime log that replays to RTMR3"), found);
}

/* Every event of the type must carry a digest from the list, and there must
 * be at least one. */
static void check_digests(builder *b, const char *name, const char *type,
                          const tdx_value_list *allowed, const runtime_events *r,
                          const digest_events *d)
{
    char *expected = one_of_values(allowed);
    if (r->unavailable) {
        add_check(b, name, false, expected, ccai_xstrdup(r->unavailable));
        return;
    }
    if (d->n == 0) {
        add_check(b, name, false, expected,
                  ccai_xasprintf("no %s event in the runtime log", type));
        return;
    }
    for (size_t i = 0; i < d->n; i++) {
        const digest_event *e = &d->ev[i];
        if (!e->valid) {
            add_check(b, name, false, expected,
                      ccai_xasprintf("a %s event without a 64-hex-digit data.sha256 (runtime "
                                     "log entry %zu)",
                                     type, e->entry));
            return;
        }
        if (!in_values(allowed, e->sha256)) {
            add_check(b, name, false, expected, hex_dup(e->sha256, 32));
            return;
        }
    }
    ccai_buf found = {0};
    char h[65];
    for (size_t i = 0; i < d->n; i++) {
        ccai_hex_encode(d->ev[i].sha256, 32, h);
        if (i)
            ccai_buf_append_str(&found, ", ");
        ccai_buf_append_str(&found, h);
    }
    ccai_buf_u8(&found, 0);
    add_check(b, name, true, expected, (char *)ccai_buf_steal(&found, NULL));
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* One check "config.<key>" per required key, in key order. */
static void check_config(builder *b, const tdx_policy *p, const runtime_events *r)
{
    size_t n = json_object_size(p->config), i = 0;
    const char **keys = ccai_xcalloc(n ? n : 1, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach(p->config, k, v) {
        keys[i++] = k;
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    for (i = 0; i < n; i++) {
        const json_t *want = json_object_get(p->config, keys[i]);
        char *name = ccai_xasprintf("config.%s", keys[i]);
        char *expected = ccai_json_canonical(want);
        const json_t *got = r->config ? json_object_get(r->config, keys[i]) : NULL;
        char *found = r->unavailable ? ccai_xstrdup(r->unavailable)
                      : !r->config   ? ccai_xstrdup("no ccai.config event in the runtime log")
                      : !got ? ccai_xasprintf("no \"%s\" in the last ccai.config event", keys[i])
                             : ccai_json_canonical(got);
        add_check(b, name, !r->unavailable && got && json_equal(want, got), expected, found);
        free(name);
    }
    free(keys);
}

static void check_report_data(builder *b, const char *name, const uint8_t want[64],
                              const tdx_td_body *body)
{
    add_check(b, name, memcmp(want, body->report_data, 64) == 0, hex_dup(want, 64),
              hex_dup(body->report_data, 64));
}

static void check_collateral_age(builder *b, const tdx_policy *p, const tdx_appraise_input *in)
{
    time_t issued = in->verify->collateral_issued;
    char *expected = ccai_xasprintf("at most %lld s", p->max_age_s);
    if (issued == 0) {
        add_check(b, "collateral_age", false, expected,
                  ccai_xstrdup("no collateral issue time"));
        return;
    }
    char when[32];
    ccai_time_format(issued, when);
    long long age = (long long)in->at - (long long)issued;
    add_check(b, "collateral_age", age <= p->max_age_s, expected,
              ccai_xasprintf("%lld s (issued %s)", age, when));
}

/* ---- appraisal ------------------------------------------------------------- */

ccai_code tdx_appraise(const tdx_policy *p, const tdx_appraise_input *in, tdx_appraisal *out,
                       ccai_err *err)
{
    memset(out, 0, sizeof *out);
    if (!p || !in || !in->quote || !in->verify)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "appraise: expected a policy, a quote and a verify result, found %s",
                         !p ? "no policy" : !in ? "no input"
                                         : !in->quote ? "no quote" : "no verify result");
    const tdx_td_body *body = &in->quote->body;
    builder b = {out, 0};
    out->pass = true;
    out->policy_id = ccai_xstrdup(p->id);
    memcpy(out->policy_sha256, p->sha256, 32);

    check_verified(&b, in->verify);
    check_simulated(&b, p, in);
    check_tcb_status(&b, p, in->verify);
    check_body(&b, p, body);   /* debug, td_attributes, xfam, the registers */
    if (p->require_runtime_log)
        check_runtime_log(&b, in);

    runtime_events r;
    read_runtime_events(in, &r);
    if (p->binary.present)
        check_digests(&b, "binary_sha256", "ccai.binary", &p->binary, &r, &r.binary);
    if (p->model.present)
        check_digests(&b, "model_sha256", "ccai.model", &p->model, &r, &r.model);
    if (p->config)
        check_config(&b, p, &r);
    free_runtime_events(&r);

    if (in->report_data)
        check_report_data(&b, "report_data", in->report_data, body);
    if (p->has_report_data)
        check_report_data(&b, "report_data.policy", p->report_data, body);
    if (p->has_max_age)
        check_collateral_age(&b, p, in);
    return CCAI_OK;
}

void tdx_appraisal_free(tdx_appraisal *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_checks; i++) {
        tdx_check *c = &a->checks[i];
        free(c->name);
        free(c->expected);
        free(c->actual);
        free(c->reason);
    }
    free(a->checks);
    free(a->policy_id);
    memset(a, 0, sizeof *a);
}

/* A JSON string; bytes that are not UTF-8 (a verify failure can quote
 * evidence) become '?' so the member is never dropped. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    char *c = ccai_xstrdup(s);
    for (char *q = c; *q; q++)
        if ((unsigned char)*q >= 0x80)
            *q = '?';
    j = json_string(c);
    free(c);
    return j;
}

json_t *tdx_appraisal_to_json(const tdx_appraisal *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "policy_id", jstr(a->policy_id));
    ccai_json_set_hex(o, "policy_sha256", a->policy_sha256, 32);
    json_object_set_new(o, "pass", json_boolean(a->pass));
    json_t *checks = json_array(), *failed = json_array();
    for (size_t i = 0; i < a->n_checks; i++) {
        const tdx_check *c = &a->checks[i];
        json_t *reason = c->reason ? jstr(c->reason) : json_null();
        json_t *e = json_object();
        json_object_set_new(e, "name", jstr(c->name));
        json_object_set_new(e, "expected", jstr(c->expected));
        json_object_set_new(e, "actual", jstr(c->actual));
        json_object_set_new(e, "ok", json_boolean(c->ok));
        json_object_set(e, "reason", reason);
        json_array_append_new(checks, e);
        if (!c->ok) {
            json_t *f = json_object();
            json_object_set_new(f, "name", jstr(c->name));
            json_object_set(f, "reason", reason);
            json_array_append_new(failed, f);
        }
        json_decref(reason);
    }
    json_object_set_new(o, "checks", checks);
    json_object_set_new(o, "failed", failed);
    return o;
}
