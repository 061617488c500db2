/* Verified facts as claims: see claims.h. */
#include "tee/claims.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"

static void set_u64(json_t *o, const char *key, uint64_t v)
{
    char buf[17];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
    json_object_set_new(o, key, json_string(buf));
}

json_t *tdx_claims_events(const tee_eventlog *log)
{
    json_t *bin = json_array(), *models = json_array(), *config = json_null();
    for (size_t i = 0; log && i < log->count; i++) {
        json_t *ev = NULL;
        if (ccai_json_parse(log->ev[i].event, strlen(log->ev[i].event), &ev, NULL))
            continue;
        const char *type = json_string_value(json_object_get(ev, "type"));
        json_t *data = json_object_get(ev, "data");
        json_t *sha = json_object_get(data, "sha256");
        if (type && !strcmp(type, "ccai.binary") && json_is_string(sha)) {
            json_array_append(bin, sha);
        } else if (type && !strcmp(type, "ccai.model") && json_is_string(sha)) {
            json_t *m = json_object();
            json_t *name = json_object_get(data, "name");
            json_object_set(m, "name", json_is_string(name) ? name : json_null());
            json_object_set(m, "sha256", sha);
            json_array_append_new(models, m);
        } else if (type && !strcmp(type, "ccai.config") && json_is_object(data)) {
            /* The last configuration measured is the one in effect. */
            json_decref(config);
            config = json_incref(data);
        }
        json_decref(ev);
    }
    json_t *o = json_object();
    json_object_set_new(o, "binary", bin);
    json_object_set_new(o, "config", config);
    json_object_set_new(o, "models", models);
    return o;
}

json_t *tdx_claims(const tdx_quote *q, const tdx_verify_result *vr, const tee_eventlog *log)
{
    const tdx_td_body *b = &q->body;
    json_t *o = json_object();
    json_object_set_new(o, "tee", vr->tee ? json_string(vr->tee) : json_null());
    json_object_set_new(o, "verified", json_boolean(vr->verified));
    json_object_set_new(o, "quote_version", json_integer(q->header.version));
    ccai_json_set_hex(o, "tee_tcb_svn", b->tee_tcb_svn, 16);
    ccai_json_set_hex(o, "mr_seam", b->mr_seam, 48);
    ccai_json_set_hex(o, "mr_signer_seam", b->mr_signer_seam, 48);
    set_u64(o, "seam_attributes", b->seam_attributes);
    set_u64(o, "td_attributes", b->td_attributes);
    json_t *dec = json_object();
    json_object_set_new(dec, "debug", json_boolean(b->td_attributes & TDX_TD_ATTR_DEBUG));
    json_object_set_new(dec, "sept_ve_disable",
                        json_boolean(b->td_attributes & TDX_TD_ATTR_SEPT_VE_DISABLE));
    json_object_set_new(dec, "pks", json_boolean(b->td_attributes & TDX_TD_ATTR_PKS));
    json_object_set_new(dec, "kl", json_boolean(b->td_attributes & TDX_TD_ATTR_KL));
    json_object_set_new(dec, "perfmon", json_boolean(b->td_attributes & TDX_TD_ATTR_PERFMON));
    json_object_set_new(o, "td_attributes_decoded", dec);
    set_u64(o, "xfam", b->xfam);
    ccai_json_set_hex(o, "mr_td", b->mr_td, 48);
    ccai_json_set_hex(o, "mr_config_id", b->mr_config_id, 48);
    ccai_json_set_hex(o, "mr_owner", b->mr_owner, 48);
    ccai_json_set_hex(o, "mr_owner_config", b->mr_owner_config, 48);
    for (int i = 0; i < 4; i++) {
        char key[8];
        snprintf(key, sizeof key, "rtmr_%d", i);
        ccai_json_set_hex(o, key, b->rtmr[i], 48);
    }
    ccai_json_set_hex(o, "report_data", b->report_data, 64);

    /* The verifier's view: TCB status and the steps. */
    json_t *v = tdx_verify_result_to_json(vr);
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val) {
        if (!json_object_get(o, k))
            json_object_set(o, k, val);
    }
    json_decref(v);
    json_object_set_new(o, "events", tdx_claims_events(log));
    return o;
}
