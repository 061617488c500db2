/* The verifier's pipeline (appraisal.h): policies by id, collateral from its
 * three sources with prepared contexts kept warm, then verify + appraise and
 * the verdict with its binding. */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/codec.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "tee/binding.h"
#include "tee/claims.h"
#include "tee/pck.h"
#include "verifier/appraisal.h"

enum { CACHE_SLOTS = 8 };

typedef struct bundle {
    char fmspc[13];            /* lower-case hex from the TCB info */
    tdx_collateral_ctx *cc;
} bundle;

typedef struct cache_slot {
    uint8_t key[32];           /* bundle_key */
    tdx_collateral_ctx *cc;
    unsigned long used;        /* for least-recently-used eviction */
    bool has_platform;         /* platform: see platform_key */
    uint8_t platform[32];
} cache_slot;

struct ccai_appraiser {
    ccai_appraiser_opts o;
    char *pcs_url, *cache_dir;
    tdx_policy **pol;
    size_t n_pol;
    const tdx_policy *dflt;    /* opts.default_policy (one of pol), or NULL */
    bundle *bundles;
    size_t n_bundles;
    /* Held by ccai_appraiser_run for the cache and the prepared contexts
     * it lends out, released while a PCS fetch is waited for. */
    pthread_mutex_t mu;
    cache_slot cache[CACHE_SLOTS];
    unsigned long tick;
};

/* ---- shared with `ccai verify` ---------------------------------------------------- */

json_t *ccai_verdict_json(const tdx_quote *q, const tdx_verify_result *vr,
                          const tee_eventlog *log, const tdx_appraisal *ap)
{
    json_t *j = tdx_claims(q, vr, log);
    json_object_set_new(j, "policy", tdx_appraisal_to_json(ap));
    json_object_set_new(j, "pass", json_boolean(vr->verified && ap->pass));
    return j;
}

static ccai_code quote_pck(const tdx_quote *q, tdx_pck_ext *ext, const char **ca, ccai_err *err)
{
    X509 *leaf = NULL;
    ccai_code rc;
    if (q->pck_count == 0)
        rc = ccai_fail(err, CCAI_ERR_PARSE, "the quote carries no PCK certificate");
    else if (!(rc = tdx_pem_to_x509(q->pck_pem[0], &leaf, err)) &&
             !(rc = tdx_pck_ext_from_cert(leaf, ext, err)) && ca)
        rc = tdx_pcs_ca_from_cert(leaf, ca, err);
    X509_free(leaf);
    if (rc)
        ccai_err_prefix(err, "cannot tell which collateral to fetch");
    return rc;
}

ccai_code ccai_collateral_from_pcs(const tdx_pcs_opts *o, const tdx_quote *q, time_t now,
                                   tdx_collateral *out, ccai_err *err)
{
    memset(out, 0, sizeof *out);
    tdx_pck_ext ext;
    const char *ca = NULL;
    json_t *b = NULL;
    ccai_code rc = quote_pck(q, &ext, &ca, err);
    if (!rc)
        rc = tdx_pcs_get_collateral(o, ext.fmspc, ca, now, &b, err);
    if (!rc)
        rc = tdx_collateral_from_json(b, out, err);
    json_decref(b);
    return rc;
}

/* ---- set-up ------------------------------------------------------------------------- */

static int is_json(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* Calls fn(path) for every *.json in dir, in name order. */
static ccai_code each_json(const char *dir, ccai_code (*fn)(ccai_appraiser *, const char *,
                                                            ccai_err *),
                           ccai_appraiser *a, ccai_err *err)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_json, alphasort);
    if (n < 0)
        return ccai_fail(err, CCAI_ERR_IO, "%s: cannot list the directory", dir);
    ccai_code rc = CCAI_OK;
    for (int i = 0; i < n; i++) {
        if (!rc) {
            char *p = ccai_xasprintf("%s/%s", dir, list[i]->d_name);
            rc = fn(a, p, err);
            free(p);
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

static ccai_code add_policy(ccai_appraiser *a, const char *path, ccai_err *err)
{
    tdx_policy *p = NULL;
    ccai_code rc = tdx_policy_read_file(path, &p, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < a->n_pol; i++)
        if (strcmp(tdx_policy_id(a->pol[i]), tdx_policy_id(p)) == 0) {
            rc = ccai_fail(err, CCAI_ERR_ARG, "%s: policy id \"%s\" is defined twice", path,
                           tdx_policy_id(p));
            tdx_policy_free(p);
            return rc;
        }
    a->pol = ccai_xrealloc(a->pol, (a->n_pol + 1) * sizeof *a->pol);
    a->pol[a->n_pol++] = p;
    return CCAI_OK;
}

static const tdx_policy *find_policy(const ccai_appraiser *a, const char *id)
{
    for (size_t i = 0; i < a->n_pol; i++)
        if (strcmp(tdx_policy_id(a->pol[i]), id) == 0)
            return a->pol[i];
    return NULL;
}

static ccai_code add_bundle(ccai_appraiser *a, const char *path, ccai_err *err)
{
    tdx_collateral c;
    json_t *ti = NULL;
    tdx_collateral_ctx *cc = NULL;
    ccai_code rc = tdx_collateral_read_file(path, &c, err);
    if (!rc)
        rc = ccai_json_parse(c.tcb_info, c.tcb_info_len, &ti, err);
    const char *fmspc = NULL;
    if (!rc && (rc = ccai_json_get_str(ti, "fmspc", &fmspc, err)) == CCAI_OK &&
        strlen(fmspc) != 12)
        rc = ccai_fail(err, CCAI_ERR_PARSE, "tcbInfo fmspc: expected 12 hex digits");
    if (!rc)
        rc = tdx_collateral_prepare(&c, &cc, err);
    if (!rc) {
        a->bundles = ccai_xrealloc(a->bundles, (a->n_bundles + 1) * sizeof *a->bundles);
        bundle *b = &a->bundles[a->n_bundles++];
        for (int i = 0; i < 13; i++)
            b->fmspc[i] = (char)(fmspc[i] >= 'A' && fmspc[i] <= 'F' ? fmspc[i] + 32 : fmspc[i]);
        b->cc = cc;
    } else {
        ccai_err_prefix(err, "collateral %s", path);
    }
    json_decref(ti);
    tdx_collateral_free(&c);
    return rc;
}

ccai_code ccai_appraiser_new(const ccai_appraiser_opts *o, ccai_appraiser **out, ccai_err *err)
{
    ccai_appraiser *a = ccai_xcalloc(1, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    a->o = *o;
    a->pcs_url = o->pcs_url ? ccai_xstrdup(o->pcs_url) : NULL;
    a->cache_dir = o->cache_dir ? ccai_xstrdup(o->cache_dir) : NULL;
    ccai_code rc = o->policy_dir ? each_json(o->policy_dir, add_policy, a, err) : CCAI_OK;
    if (!rc && o->default_policy && !(rc = add_policy(a, o->default_policy, err)))
        a->dflt = a->pol[a->n_pol - 1];
    if (!rc && !find_policy(a, "default")) {
        a->pol = ccai_xrealloc(a->pol, (a->n_pol + 1) * sizeof *a->pol);
        a->pol[a->n_pol++] = tdx_policy_default();
    }
    struct stat st;
    if (!rc && o->collateral) {
        if (stat(o->collateral, &st) != 0)
            rc = ccai_fail(err, CCAI_ERR_NOT_FOUND, "--collateral %s: no such file or directory",
                           o->collateral);
        else if (S_ISDIR(st.st_mode))
            rc = each_json(o->collateral, add_bundle, a, err);
        else
            rc = add_bundle(a, o->collateral, err);
    }
    if (rc) {
        ccai_appraiser_free(a);
        return rc;
    }
    *out = a;
    return CCAI_OK;
}

void ccai_appraiser_free(ccai_appraiser *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_pol; i++)
        tdx_policy_free(a->pol[i]);
    for (size_t i = 0; i < a->n_bundles; i++)
        tdx_collateral_ctx_free(a->bundles[i].cc);
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        tdx_collateral_ctx_free(a->cache[i].cc);
    free(a->pol);
    free(a->bundles);
    free(a->pcs_url);
    free(a->cache_dir);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static int cmp_id(const void *x, const void *y)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)x, "id")),
                  json_string_value(json_object_get(*(json_t *const *)y, "id")));
}

json_t *ccai_appraiser_policies(const ccai_appraiser *a)
{
    json_t **v = ccai_xcalloc(a->n_pol, sizeof *v);
    for (size_t i = 0; i < a->n_pol; i++) {
        uint8_t h[32];
        tdx_policy_hash(a->pol[i], h);
        v[i] = json_pack("{s:s}", "id", tdx_policy_id(a->pol[i]));
        ccai_json_set_hex(v[i], "sha256", h, 32);
    }
    qsort(v, a->n_pol, sizeof *v, cmp_id);
    json_t *arr = json_array();
    for (size_t i = 0; i < a->n_pol; i++)
        json_array_append_new(arr, v[i]);
    free(v);
    return arr;
}

/* ---- collateral ------------------------------------------------------------------ */

/* Which platform a quote comes from, as far as collateral goes: its FMSPC
 * and the PCK issuer certificate (simulated TDs share an FMSPC but each has
 * its own platform CA, which signs the PCK CRL). */
static bool platform_key(const tdx_quote *q, uint8_t out[32])
{
    tdx_pck_ext ext;
    if (q->pck_count < 2 || quote_pck(q, &ext, NULL, NULL))
        return false;
    ccai_buf b = {0};
    ccai_buf_append(&b, ext.fmspc, 6);
    ccai_buf_append_str(&b, q->pck_pem[1]);
    ccai_sha256(b.data, b.len, out);
    ccai_buf_free(&b);
    return true;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The cache key of a bundle: SHA-256 over its members in name order, each
 * as name NUL length value (a bundle's members are strings; anything else
 * goes in as its canonical JSON). Cheaper than the canonical text of the
 * whole ~20 KB object, which this runs for on every request. */
static int bundle_key(const json_t *b, uint8_t key[32])
{
    if (!json_is_object(b) || json_object_size(b) > 64)
        return -1;
    const char *names[64];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)b, k, v)
        names[n++] = k;
    qsort(names, n, sizeof *names, cmp_str);
    ccai_buf buf = {0};
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_object_get(b, names[i]);
        char *canon = json_is_string(m) ? NULL : ccai_json_canonical(m);
        const char *val = canon ? canon : json_string_value(m);
        size_t len = canon ? strlen(canon) : json_string_length(m);
        uint64_t l = len;
        ccai_buf_append(&buf, names[i], strlen(names[i]) + 1);
        ccai_buf_append(&buf, &l, sizeof l);
        ccai_buf_append(&buf, val ? val : "", val ? len : 0);
        free(canon);
    }
    ccai_sha256(buf.data, buf.len, key);
    ccai_buf_free(&buf);
    return 0;
}

/* A prepared context for bundle b from the cache, preparing it on a miss. */
static ccai_code cached_ctx(ccai_appraiser *a, const json_t *b, cache_slot **slot,
                            ccai_err *err)
{
    uint8_t key[32];
    if (bundle_key(b, key))
        return ccai_fail(err, CCAI_ERR_PARSE, "collateral: not a valid JSON value");
    cache_slot *victim = &a->cache[0];
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        cache_slot *s = &a->cache[i];
        if (s->cc && memcmp(s->key, key, 32) == 0) {
            s->used = ++a->tick;
            *slot = s;
            return CCAI_OK;
        }
        if (!s->cc || (victim->cc && s->used < victim->used))
            victim = s;
    }
    tdx_collateral c;
    ccai_code rc = tdx_collateral_from_json(b, &c, err);
    tdx_collateral_ctx *fresh = NULL;
    if (!rc)
        rc = tdx_collateral_prepare(&c, &fresh, err);
    tdx_collateral_free(&c);
    if (rc)
        return rc;
    tdx_collateral_ctx_free(victim->cc);
    memset(victim, 0, sizeof *victim);
    memcpy(victim->key, key, 32);
    victim->cc = fresh;
    victim->used = ++a->tick;
    *slot = victim;
    return CCAI_OK;
}

static ccai_code pcs_ctx(ccai_appraiser *a, const tdx_quote *q, time_t now,
                         tdx_collateral_ctx **cc, ccai_err *err)
{
    tdx_pck_ext ext;
    const char *ca = NULL;
    json_t *b = NULL;
    tdx_pcs_opts po = {.base_url = a->pcs_url, .cache_dir = a->cache_dir, .timeout_s = 30};
    ccai_code rc = quote_pck(q, &ext, &ca, err);
    if (!rc) {
        /* A cold fetch can take seconds (30 s timeout): other appraisals
         * go on meanwhile. Nothing borrowed from the cache is held here. */
        pthread_mutex_unlock(&a->mu);
        rc = tdx_pcs_get_collateral(&po, ext.fmspc, ca, now, &b, err);
        pthread_mutex_lock(&a->mu);
    }
    cache_slot *slot = NULL;
    if (!rc && !(rc = cached_ctx(a, b, &slot, err)))
        *cc = slot->cc;
    json_decref(b);
    return rc;
}

/* Collateral that came with earlier evidence from the same platform (signed,
 * so as good as fetched; its dates are checked by every verification). */
static tdx_collateral_ctx *remembered(ccai_appraiser *a, const uint8_t platform[32])
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        cache_slot *s = &a->cache[i];
        if (s->cc && s->has_platform && memcmp(s->platform, platform, 32) == 0) {
            s->used = ++a->tick;
            return s->cc;
        }
    }
    return NULL;
}

/* Remembers the evidence's collateral in slot for later evidence from the
 * same platform -- only once it verified, so a forged bundle is never kept. */
static void remember(ccai_appraiser *a, cache_slot *slot, const tdx_quote *q)
{
    uint8_t platform[32];
    if (!slot || !platform_key(q, platform))
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (a->cache[i].has_platform && memcmp(a->cache[i].platform, platform, 32) == 0)
            a->cache[i].has_platform = false; /* the newest bundle wins */
    slot->has_platform = true;
    memcpy(slot->platform, platform, 32);
}

/* The prepared collateral for q (borrowed: the appraiser keeps it); *from_ev
 * is the cache slot when it is the evidence's own collateral. */
static ccai_code collateral_for(ccai_appraiser *a, const tdx_quote *q, const tee_evidence *ev,
                                time_t now, tdx_collateral_ctx **cc, cache_slot **from_ev,
                                ccai_err *err)
{
    *from_ev = NULL;
    tdx_pck_ext ext;
    ccai_code rc;
    if (a->n_bundles) {
        if ((rc = quote_pck(q, &ext, NULL, err)))
            return rc;
        char hex[13];
        ccai_hex_encode(ext.fmspc, 6, hex);
        for (size_t i = 0; i < a->n_bundles; i++)
            if (strcmp(a->bundles[i].fmspc, hex) == 0) {
                *cc = a->bundles[i].cc;
                return CCAI_OK;
            }
        if (!a->pcs_url && !ev->collateral)
            return ccai_fail(err, CCAI_ERR_NOT_FOUND, "no collateral bundle for FMSPC %s", hex);
    }
    if (a->pcs_url)
        return pcs_ctx(a, q, now, cc, err);
    if (ev->collateral) {
        rc = cached_ctx(a, ev->collateral, from_ev, err);
        if (rc) {
            ccai_err_prefix(err, "the evidence's collateral");
            return rc;
        }
        *cc = (*from_ev)->cc;
        return CCAI_OK;
    }
    uint8_t platform[32];
    if (platform_key(q, platform) && (*cc = remembered(a, platform)))
        return CCAI_OK;
    return ccai_fail(err, CCAI_ERR_NOT_FOUND, "no collateral: the evidence carries none, none "
                     "came with earlier evidence from this platform, and the verifier has "
                     "neither --collateral nor --pcs");
}

/* ---- one appraisal ------------------------------------------------------------------- */

/* The report data the evidence says the quote must carry; false when it
 * says nothing (Trustee form without runtime_data). */
static bool expected_report_data(const tee_evidence *ev, uint8_t rd[64])
{
    if (ev->form == TEE_EVIDENCE_CCAI) {
        tee_report_data_bind(ev->nonce, ev->has_spki ? ev->spki_sha256 : NULL, NULL, rd);
        return true;
    }
    if (!ev->has_runtime_data)
        return false;
    memset(rd, 0, 64);
    ccai_sha384(ev->runtime_data, ev->runtime_data_len, rd); /* Trustee's default */
    return true;
}

static json_t *binding_json(const tee_evidence *ev, const tdx_quote *q, const uint8_t *rd)
{
    json_t *b = json_object();
    const char *nonce = ev->form == TEE_EVIDENCE_CCAI ? ev->nonce_text : ev->runtime_data_text;
    json_object_set_new(b, "nonce", nonce ? json_string(nonce) : json_null());
    if (ev->has_spki)
        ccai_json_set_hex(b, "tls_spki_sha256", ev->spki_sha256, 32);
    else
        json_object_set_new(b, "tls_spki_sha256", json_null());
    json_object_set_new(b, "e2e_key_sha256", json_null());
    json_object_set_new(b, "report_data_ok",
                        rd ? json_boolean(memcmp(rd, q->body.report_data, 64) == 0) : json_null());
    return b;
}

static ccai_code pick_policy(const ccai_appraiser *a, const tee_evidence *ev,
                             const tdx_policy **p, ccai_err *err)
{
    if (ev->n_policy_ids > 1)
        return ccai_fail(err, CCAI_ERR_ARG, "policy_ids: expected at most one policy id, found "
                         "%zu", ev->n_policy_ids);
    if (!ev->n_policy_ids && a->dflt) {
        *p = a->dflt;
        return CCAI_OK;
    }
    const char *id = ev->n_policy_ids ? ev->policy_ids[0] : "default";
    if ((*p = find_policy(a, id)))
        return CCAI_OK;
    char known[512] = "";
    for (size_t i = 0, n = 0; i < a->n_pol && n < sizeof known - 1; i++)
        n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "",
                              tdx_policy_id(a->pol[i]));
    return ccai_fail(err, CCAI_ERR_NOT_FOUND, "policy_ids: unknown policy \"%s\" (known: %s)", id,
                     known);
}

/* What tdx_verify would say when there is no collateral to verify against. */
static void no_collateral(tdx_verify_result *vr, const ccai_err *why)
{
    memset(vr, 0, sizeof *vr);
    vr->n_steps = 1;
    vr->steps[0].name = "collateral";
    snprintf(vr->steps[0].detail, sizeof vr->steps[0].detail, "%.390s", why->msg);
    vr->failure = *why;
}

/* ccai_appraiser_run with a->mu held. */
static ccai_code appraise(ccai_appraiser *a, const tee_evidence *ev, time_t now,
                          json_t **verdict, ccai_err *err)
{
    *verdict = NULL;
    const tdx_policy *pol = NULL;
    ccai_code rc = pick_policy(a, ev, &pol, err);
    if (rc)
        return rc;
    tdx_quote q;
    memset(&q, 0, sizeof q);
    if ((rc = tdx_quote_parse(ev->quote, ev->quote_len, &q, err))) {
        ccai_err_prefix(err, "quote");
        tdx_quote_free(&q);
        return CCAI_ERR_PARSE;
    }
    const tee_eventlog *log = ev->has_log ? &ev->log : NULL;
    bool trust_sim = a->o.trust_simulated || tdx_policy_allows_simulated(pol);
    tdx_verify_result vr;
    tdx_collateral_ctx *cc = NULL;
    ccai_err cerr = {0};
    cache_slot *from_ev = NULL;
    if (collateral_for(a, &q, ev, now, &cc, &from_ev, &cerr)) {
        no_collateral(&vr, &cerr);
    } else {
        tdx_verify_opts vo = {.at = now, .trust_simulated = trust_sim, .ccel = ev->ccel,
                              .ccel_len = ev->ccel_len, .runtime_log = log};
        if (tdx_verify(&q, cc, &vo, &vr) == CCAI_OK)
            remember(a, from_ev, &q);
    }
    uint8_t rd[64];
    bool has_rd = expected_report_data(ev, rd);
    tdx_appraisal ap;
    memset(&ap, 0, sizeof ap);
    tdx_appraise_input in = {.quote = &q, .verify = &vr, .runtime_log = log,
                             .report_data = has_rd ? rd : NULL, .at = now,
                             .trust_simulated = a->o.trust_simulated};
    rc = tdx_appraise(pol, &in, &ap, err);
    if (!rc) {
        *verdict = ccai_verdict_json(&q, &vr, log, &ap);
        json_object_set_new(*verdict, "binding", binding_json(ev, &q, has_rd ? rd : NULL));
        tdx_appraisal_free(&ap);
    }
    tdx_verify_result_free(&vr);
    tdx_quote_free(&q);
    return rc;
}

ccai_code ccai_appraiser_run(ccai_appraiser *a, const tee_evidence *ev, time_t now,
                             json_t **verdict, ccai_err *err)
{
    pthread_mutex_lock(&a->mu);
    ccai_code rc = appraise(a, ev, now, verdict, err);
    pthread_mutex_unlock(&a->mu);
    return rc;
}
