/* JSON and text views of a parsed quote: see quote_json.h. Field names match
 * between the two views (lower_snake_case, rtmr_0..rtmr_3) so a reader can
 * grep either for the same name. */
#include "tee/quote_json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/json.h"

/* Enough for every set bit named ("PERFMON|...|bit62|..."): 64 * 7. */
enum { ATTR_NAMES_MAX = 512 };

static void set_u64_hex(json_t *obj, const char *key, uint64_t v)
{
    char s[17];
    snprintf(s, sizeof s, "%016" PRIx64, v);
    json_object_set_new(obj, key, json_string(s));
}

static void set_int(json_t *obj, const char *key, long long v)
{
    json_object_set_new(obj, key, json_integer((json_int_t)v));
}

static json_t *header_json(const tdx_quote_header *h)
{
    json_t *o = json_object();
    set_int(o, "version", h->version);
    set_int(o, "att_key_type", h->att_key_type);
    set_int(o, "tee_type", h->tee_type);
    set_int(o, "qe_svn", h->qe_svn);
    set_int(o, "pce_svn", h->pce_svn);
    ccai_json_set_hex(o, "qe_vendor_id", h->qe_vendor_id, sizeof h->qe_vendor_id);
    ccai_json_set_hex(o, "user_data", h->user_data, sizeof h->user_data);
    return o;
}

static json_t *td_attributes_json(uint64_t a)
{
    char names[ATTR_NAMES_MAX];
    tdx_td_attributes_describe(a, names, sizeof names);
    json_t *o = json_object();
    json_object_set_new(o, "debug", json_boolean(a & TDX_TD_ATTR_DEBUG));
    json_object_set_new(o, "sept_ve_disable", json_boolean(a & TDX_TD_ATTR_SEPT_VE_DISABLE));
    json_object_set_new(o, "pks", json_boolean(a & TDX_TD_ATTR_PKS));
    json_object_set_new(o, "kl", json_boolean(a & TDX_TD_ATTR_KL));
    json_object_set_new(o, "perfmon", json_boolean(a & TDX_TD_ATTR_PERFMON));
    json_object_set_new(o, "names", json_string(names));
    return o;
}

static json_t *body_json(const tdx_td_body *b, uint16_t body_type)
{
    json_t *o = json_object();
    ccai_json_set_hex(o, "tee_tcb_svn", b->tee_tcb_svn, sizeof b->tee_tcb_svn);
    ccai_json_set_hex(o, "mr_seam", b->mr_seam, sizeof b->mr_seam);
    ccai_json_set_hex(o, "mr_signer_seam", b->mr_signer_seam, sizeof b->mr_signer_seam);
    set_u64_hex(o, "seam_attributes", b->seam_attributes);
    set_u64_hex(o, "td_attributes", b->td_attributes);
    json_object_set_new(o, "td_attributes_decoded", td_attributes_json(b->td_attributes));
    set_u64_hex(o, "xfam", b->xfam);
    ccai_json_set_hex(o, "mr_td", b->mr_td, sizeof b->mr_td);
    ccai_json_set_hex(o, "mr_config_id", b->mr_config_id, sizeof b->mr_config_id);
    ccai_json_set_hex(o, "mr_owner", b->mr_owner, sizeof b->mr_owner);
    ccai_json_set_hex(o, "mr_owner_config", b->mr_owner_config, sizeof b->mr_owner_config);
    for (int i = 0; i < 4; i++) {
        char key[8];
        snprintf(key, sizeof key, "rtmr_%d", i);
        ccai_json_set_hex(o, key, b->rtmr[i], sizeof b->rtmr[i]);
    }
    ccai_json_set_hex(o, "report_data", b->report_data, sizeof b->report_data);
    if (body_type == TDX_BODY_TYPE_TDX15) {
        ccai_json_set_hex(o, "tee_tcb_svn2", b->tee_tcb_svn2, sizeof b->tee_tcb_svn2);
        ccai_json_set_hex(o, "mr_servicetd", b->mr_servicetd, sizeof b->mr_servicetd);
    }
    return o;
}

static json_t *qe_report_json(const tdx_qe_report *r)
{
    char misc[9];
    snprintf(misc, sizeof misc, "%08" PRIx32, r->miscselect);
    json_t *o = json_object();
    ccai_json_set_hex(o, "cpusvn", r->cpusvn, sizeof r->cpusvn);
    json_object_set_new(o, "miscselect", json_string(misc));
    ccai_json_set_hex(o, "attributes", r->attributes, sizeof r->attributes);
    ccai_json_set_hex(o, "mrenclave", r->mrenclave, sizeof r->mrenclave);
    ccai_json_set_hex(o, "mrsigner", r->mrsigner, sizeof r->mrsigner);
    set_int(o, "isvprodid", r->isvprodid);
    set_int(o, "isvsvn", r->isvsvn);
    ccai_json_set_hex(o, "report_data", r->report_data, sizeof r->report_data);
    return o;
}

json_t *tdx_quote_to_json(const tdx_quote *q)
{
    json_t *o = json_object();
    json_object_set_new(o, "header", header_json(&q->header));
    set_int(o, "body_type", q->body_type);
    set_int(o, "body_len", q->body_len);
    json_object_set_new(o, "body", body_json(&q->body, q->body_type));
    set_int(o, "sig_data_len", q->sig_data_len);
    ccai_json_set_hex(o, "signature", q->signature, sizeof q->signature);
    ccai_json_set_hex(o, "attest_key", q->attest_key, sizeof q->attest_key);
    set_int(o, "cert_type", q->cert_type);
    set_int(o, "cert_len", q->cert_len);
    json_object_set_new(o, "qe_report", qe_report_json(&q->qe_report));
    ccai_json_set_hex(o, "qe_report_signature", q->qe_report_sig, sizeof q->qe_report_sig);
    /* ccai_json_set_hex is given a non-NULL pointer even for no bytes. */
    static const uint8_t none[1];
    ccai_json_set_hex(o, "qe_auth_data", q->qe_auth ? q->qe_auth : none, q->qe_auth_len);
    set_int(o, "pck_cert_type", q->pck_cert_type);
    set_int(o, "pck_chain_len", q->pck_chain_len);
    set_int(o, "pck_chain_certs", (long long)q->pck_count);
    set_int(o, "quote_len", (long long)q->quote_len);
    set_int(o, "signed_len", (long long)q->signed_len);
    set_int(o, "trailing_len", (long long)q->trailing_len);
    return o;
}

/* ---- Text ---- */

enum { NAME_WIDTH = 21 };

static void line(FILE *f, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void line(FILE *f, const char *name, const char *fmt, ...)
{
    fprintf(f, "  %s:%*s", name, (int)(NAME_WIDTH - strlen(name)), "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
}

static void hex_line(FILE *f, const char *name, const uint8_t *p, size_t n)
{
    static const uint8_t none[1];
    char *h = ccai_hex_dup(p ? p : none, p ? n : 0);
    line(f, name, "%s", n ? h : "(empty)");
    free(h);
}

static void print_body(FILE *f, const tdx_quote *q)
{
    const tdx_td_body *b = &q->body;
    char names[ATTR_NAMES_MAX];
    fprintf(f, "TD report body (type %u, %u bytes)\n", q->body_type, q->body_len);
    hex_line(f, "tee_tcb_svn", b->tee_tcb_svn, sizeof b->tee_tcb_svn);
    hex_line(f, "mr_seam", b->mr_seam, sizeof b->mr_seam);
    hex_line(f, "mr_signer_seam", b->mr_signer_seam, sizeof b->mr_signer_seam);
    line(f, "seam_attributes", "%016" PRIx64, b->seam_attributes);
    tdx_td_attributes_describe(b->td_attributes, names, sizeof names);
    line(f, "td_attributes", "%016" PRIx64 " (%s)", b->td_attributes, names[0] ? names : "none");
    line(f, "xfam", "%016" PRIx64, b->xfam);
    hex_line(f, "mr_td", b->mr_td, sizeof b->mr_td);
    hex_line(f, "mr_config_id", b->mr_config_id, sizeof b->mr_config_id);
    hex_line(f, "mr_owner", b->mr_owner, sizeof b->mr_owner);
    hex_line(f, "mr_owner_config", b->mr_owner_config, sizeof b->mr_owner_config);
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "rtmr_%d", i);
        hex_line(f, name, b->rtmr[i], sizeof b->rtmr[i]);
    }
    hex_line(f, "report_data", b->report_data, sizeof b->report_data);
    if (q->body_type == TDX_BODY_TYPE_TDX15) {
        hex_line(f, "tee_tcb_svn2", b->tee_tcb_svn2, sizeof b->tee_tcb_svn2);
        hex_line(f, "mr_servicetd", b->mr_servicetd, sizeof b->mr_servicetd);
    }
}

static void print_qe_report(FILE *f, const tdx_qe_report *r)
{
    fprintf(f, "QE report\n");
    hex_line(f, "cpusvn", r->cpusvn, sizeof r->cpusvn);
    line(f, "miscselect", "%08" PRIx32, r->miscselect);
    hex_line(f, "attributes", r->attributes, sizeof r->attributes);
    hex_line(f, "mrenclave", r->mrenclave, sizeof r->mrenclave);
    hex_line(f, "mrsigner", r->mrsigner, sizeof r->mrsigner);
    line(f, "isvprodid", "%u", r->isvprodid);
    line(f, "isvsvn", "%u", r->isvsvn);
    hex_line(f, "report_data", r->report_data, sizeof r->report_data);
}

void tdx_quote_print_text(FILE *f, const tdx_quote *q)
{
    const tdx_quote_header *h = &q->header;
    bool intel = memcmp(h->qe_vendor_id, TDX_INTEL_QE_VENDOR_ID, 16) == 0;
    fprintf(f, "Header\n");
    line(f, "version", "%u", h->version);
    line(f, "att_key_type", "%u%s", h->att_key_type,
         h->att_key_type == TDX_ATT_KEY_ECDSA_P256 ? " (ECDSA-256 with P-256)" : "");
    line(f, "tee_type", "0x%08" PRIx32 "%s", h->tee_type,
         h->tee_type == TDX_TEE_TYPE_TDX ? " (TDX)" : "");
    line(f, "qe_svn", "%u", h->qe_svn);
    line(f, "pce_svn", "%u", h->pce_svn);
    char *vendor = ccai_hex_dup(h->qe_vendor_id, sizeof h->qe_vendor_id);
    line(f, "qe_vendor_id", "%s%s", vendor, intel ? " (Intel)" : " (not Intel)");
    free(vendor);
    hex_line(f, "user_data", h->user_data, sizeof h->user_data);
    line(f, "quote_len", "%zu", q->quote_len);
    line(f, "signed_len", "%zu", q->signed_len);
    line(f, "trailing_len", "%zu", q->trailing_len);

    print_body(f, q);
    print_qe_report(f, &q->qe_report);

    fprintf(f, "Signature data\n");
    line(f, "sig_data_len", "%u", q->sig_data_len);
    hex_line(f, "signature", q->signature, sizeof q->signature);
    hex_line(f, "attest_key", q->attest_key, sizeof q->attest_key);
    line(f, "cert_type", "%u", q->cert_type);
    line(f, "cert_len", "%u", q->cert_len);
    hex_line(f, "qe_report_signature", q->qe_report_sig, sizeof q->qe_report_sig);
    hex_line(f, "qe_auth_data", q->qe_auth, q->qe_auth_len);
    line(f, "pck_cert_type", "%u", q->pck_cert_type);
    line(f, "pck_chain_len", "%u", q->pck_chain_len);
    line(f, "pck_chain_certs", "%zu", q->pck_count);
}
