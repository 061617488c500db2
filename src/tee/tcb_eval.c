/* TCB evaluation (tcbinfo.h; verify stage, pure: no I/O, no crypto).
 *
 * tdx-facts §2 steps 6-8, in Intel's QVL order: the QE report against the
 * QE identity (step 6), then the PCK certificate's FMSPC/PCE-ID and the TD
 * report's TDX module against the TCB info (step 7), then the platform TCB
 * level and the combination of the three statuses (step 8). Every mismatch
 * is CCAI_ERR_VERIFY and says what the collateral expected and what the
 * evidence holds; a platform below every listed level is the failure "TCB
 * level not supported", never a status. Inputs are assumed to come from the
 * parsers (tcbinfo.c, quote.c, pck.c), which already checked their shapes.
 *
 * Masked values compare byte for byte as the QVL does; see tcbinfo.c for
 * how the 8-byte module attributes and the 4-byte miscselect are held. */
#include "tee/tcbinfo.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/mem.h"

/* ---- advisory lists ------------------------------------------------------------- */

static void adv_add(char ***ids, size_t *n, const char *id)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*ids)[i], id) == 0)
            return;
    *ids = ccai_xrealloc(*ids, (*n + 1) * sizeof **ids);
    (*ids)[(*n)++] = ccai_xstrdup(id);
}

static void adv_add_level(char ***ids, size_t *n, const tdx_tcb_level *l)
{
    for (size_t i = 0; i < l->n_advisories; i++)
        adv_add(ids, n, l->advisory_ids[i]);
}

static void adv_free(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* The first level with isvsvn <= svn (levels are listed newest first). */
static const tdx_tcb_level *isv_level(const tdx_tcb_level *levels, size_t n, unsigned svn)
{
    for (size_t i = 0; i < n; i++)
        if (levels[i].isvsvn <= svn)
            return &levels[i];
    return NULL;
}

/* Comma-separated decimal SVNs, for "TCB level not supported". */
static void svn_list(const uint8_t svn[16], char out[80])
{
    size_t o = 0;
    for (int i = 0; i < 16; i++)
        o += (size_t)snprintf(out + o, 80 - o, "%s%u", i ? "," : "", svn[i]);
}

/* ---- step 6: QE identity ------------------------------------------------------------ */

static ccai_code qe_match(const tdx_qe_identity *qi, const tdx_qe_report *rep, ccai_err *err)
{
    char want[65], mask[65], found[65], masked[65];
    uint32_t misc = rep->miscselect & qi->miscselect_mask;
    if (misc != qi->miscselect) {
        /* Printed as the bytes of the report field, the way the JSON writes them. */
        uint8_t b[4][4];
        ccai_put_le32(b[0], qi->miscselect);
        ccai_put_le32(b[1], qi->miscselect_mask);
        ccai_put_le32(b[2], rep->miscselect);
        ccai_put_le32(b[3], misc);
        ccai_hex_encode(b[0], 4, want);
        ccai_hex_encode(b[1], 4, mask);
        ccai_hex_encode(b[2], 4, found);
        ccai_hex_encode(b[3], 4, masked);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "QE identity: miscselect mismatch: expected %s under mask %s, found %s "
                         "(masked %s)",
                         want, mask, found, masked);
    }
    uint8_t attrs[16];
    for (int i = 0; i < 16; i++)
        attrs[i] = rep->attributes[i] & qi->attributes_mask[i];
    if (memcmp(attrs, qi->attributes, 16) != 0) {
        ccai_hex_encode(qi->attributes, 16, want);
        ccai_hex_encode(qi->attributes_mask, 16, mask);
        ccai_hex_encode(rep->attributes, 16, found);
        ccai_hex_encode(attrs, 16, masked);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "QE identity: attributes mismatch: expected %s under mask %s, found %s "
                         "(masked %s)",
                         want, mask, found, masked);
    }
    if (memcmp(rep->mrsigner, qi->mrsigner, 32) != 0) {
        ccai_hex_encode(qi->mrsigner, 32, want);
        ccai_hex_encode(rep->mrsigner, 32, found);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "QE identity: mrsigner mismatch: expected %s, found %s", want, found);
    }
    if (rep->isvprodid != qi->isvprodid)
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "QE identity: isvprodid mismatch: expected %u, found %u", qi->isvprodid,
                         rep->isvprodid);
    return CCAI_OK;
}

ccai_code tdx_qe_identity_check(const tdx_qe_identity *qi, const tdx_qe_report *rep,
                                tdx_tcb_eval *out, ccai_err *err)
{
    /* Starts the evaluation afresh: out must own nothing yet. */
    memset(out, 0, sizeof *out);
    ccai_code rc = qe_match(qi, rep, err);
    if (rc)
        return rc;
    const tdx_tcb_level *l = isv_level(qi->levels, qi->n_levels, rep->isvsvn);
    if (!l)
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "QE identity: no TCB level for isvsvn %u (the lowest level needs %u)",
                         rep->isvsvn, qi->n_levels ? qi->levels[qi->n_levels - 1].isvsvn : 0);
    out->qe = l->status;
    /* Kept here until tdx_tcb_evaluate merges them after the platform's. */
    adv_add_level(&out->advisory_ids, &out->n_advisories, l);
    return CCAI_OK;
}

/* ---- step 7: FMSPC, PCE-ID, TDX module ------------------------------------------------- */

static ccai_code platform_ids_match(const tdx_tcb_info *ti, const tdx_pck_ext *pck, ccai_err *err)
{
    char want[13], found[13];
    if (memcmp(ti->fmspc, pck->fmspc, 6) != 0) {
        ccai_hex_encode(ti->fmspc, 6, want);
        ccai_hex_encode(pck->fmspc, 6, found);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "TCB info: FMSPC mismatch: TCB info is for %s, PCK certificate has %s",
                         want, found);
    }
    if (memcmp(ti->pce_id, pck->pce_id, 2) != 0) {
        ccai_hex_encode(ti->pce_id, 2, want);
        ccai_hex_encode(pck->pce_id, 2, found);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "TCB info: PCE-ID mismatch: TCB info is for %s, PCK certificate has %s",
                         want, found);
    }
    return CCAI_OK;
}

/* tee_tcb_svn[1] > 0 selects tdxModuleIdentities "TDX_%02X"; else tdxModule. */
static ccai_code select_module(const tdx_tcb_info *ti, const tdx_td_body *body,
                               const tdx_module_identity **out, ccai_err *err)
{
    if (body->tee_tcb_svn[1] == 0) {
        *out = &ti->module;
        return CCAI_OK;
    }
    char want[16], have[256] = "";
    snprintf(want, sizeof want, "TDX_%02X", body->tee_tcb_svn[1]);
    size_t o = 0;
    for (size_t i = 0; i < ti->n_module_ids; i++) {
        if (strcmp(ti->module_ids[i].id, want) == 0) {
            *out = &ti->module_ids[i];
            return CCAI_OK;
        }
        if (o < sizeof have)
            o += (size_t)snprintf(have + o, sizeof have - o, "%s%s", i ? ", " : "",
                                  ti->module_ids[i].id);
    }
    return ccai_fail(err, CCAI_ERR_VERIFY,
                     "TCB info: no TDX module identity \"%s\" for tee_tcb_svn[1] = %u "
                     "(tdxModuleIdentities has %s)",
                     want, body->tee_tcb_svn[1], ti->n_module_ids ? have : "none");
}

/* mrsigner equal, (seam_attributes & mask) == attributes, then the module's
 * own level by tee_tcb_svn[0]. */
static ccai_code module_check(const tdx_module_identity *m, const tdx_td_body *body,
                              tdx_tcb_status *status, const tdx_tcb_level **level, ccai_err *err)
{
    const char *name = m->id[0] ? m->id : "tdxModule";
    if (memcmp(m->mrsigner, body->mr_signer_seam, 48) != 0) {
        char want[97], found[97];
        ccai_hex_encode(m->mrsigner, 48, want);
        ccai_hex_encode(body->mr_signer_seam, 48, found);
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "TDX module %s: mrsigner mismatch: expected %s, found mr_signer_seam %s",
                         name, want, found);
    }
    /* The quote's 8 bytes read big-endian, like the JSON hex (tcbinfo.c). */
    uint8_t b[8];
    ccai_put_le64(b, body->seam_attributes);
    uint64_t seam = 0;
    for (int i = 0; i < 8; i++)
        seam = seam << 8 | b[i];
    if ((seam & m->attributes_mask) != m->attributes)
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "TDX module %s: seam_attributes mismatch: expected %016llx under mask "
                         "%016llx, found %016llx (masked %016llx)",
                         name, (unsigned long long)m->attributes,
                         (unsigned long long)m->attributes_mask, (unsigned long long)seam,
                         (unsigned long long)(seam & m->attributes_mask));
    *level = NULL;
    if (m->n_levels == 0) {
        *status = TDX_TCB_UP_TO_DATE; /* tdxModule carries no levels of its own */
        return CCAI_OK;
    }
    const tdx_tcb_level *l = isv_level(m->levels, m->n_levels, body->tee_tcb_svn[0]);
    if (!l)
        return ccai_fail(err, CCAI_ERR_VERIFY,
                         "TDX module %s: no TCB level for isvsvn %u (tee_tcb_svn[0]; the lowest "
                         "level needs %u)",
                         name, body->tee_tcb_svn[0], m->levels[m->n_levels - 1].isvsvn);
    *status = l->status;
    *level = l;
    return CCAI_OK;
}

/* ---- step 8: platform level and combination ---------------------------------------------- */

static bool level_matches(const tdx_tcb_level *l, const tdx_pck_ext *pck, const tdx_td_body *body)
{
    for (int i = 0; i < 16; i++)
        if (l->sgx_svn[i] > pck->comp_svn[i])
            return false;
    if (l->pcesvn > pck->pcesvn)
        return false;
    /* With a module identity in use (tee_tcb_svn[1] > 0) the module's SVNs
     * at indices 0 and 1 are judged by its own levels, not here. */
    for (int i = body->tee_tcb_svn[1] > 0 ? 2 : 0; i < 16; i++)
        if (l->tdx_svn[i] > body->tee_tcb_svn[i])
            return false;
    return true;
}

static ccai_code platform_level(const tdx_tcb_info *ti, const tdx_pck_ext *pck,
                                const tdx_td_body *body, const tdx_tcb_level **out,
                                ccai_err *err)
{
    for (size_t i = 0; i < ti->n_levels; i++) {
        if (level_matches(&ti->levels[i], pck, body)) {
            *out = &ti->levels[i];
            return CCAI_OK;
        }
    }
    char sgx[80], tdx[80];
    svn_list(pck->comp_svn, sgx);
    svn_list(body->tee_tcb_svn, tdx);
    return ccai_fail(err, CCAI_ERR_VERIFY,
                     "TCB level not supported: none of the %zu tcbLevels is at or below the "
                     "platform (PCK component SVNs %s, PCESVN %u; tee_tcb_svn %s%s)",
                     ti->n_levels, sgx, pck->pcesvn, tdx,
                     body->tee_tcb_svn[1] > 0 ? ", indices 0 and 1 skipped" : "");
}

static bool is_out_of_date(tdx_tcb_status s)
{
    return s == TDX_TCB_OUT_OF_DATE || s == TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
}

tdx_tcb_status tdx_tcb_combine(tdx_tcb_status platform, tdx_tcb_status qe, tdx_tcb_status module)
{
    if (platform == TDX_TCB_UNKNOWN || qe == TDX_TCB_UNKNOWN || module == TDX_TCB_UNKNOWN)
        return TDX_TCB_UNKNOWN;
    if (platform == TDX_TCB_REVOKED || qe == TDX_TCB_REVOKED || module == TDX_TCB_REVOKED)
        return TDX_TCB_REVOKED;
    if (is_out_of_date(qe) || is_out_of_date(module)) {
        switch (platform) {
        case TDX_TCB_UP_TO_DATE:
        case TDX_TCB_SW_HARDENING_NEEDED:
            return TDX_TCB_OUT_OF_DATE;
        case TDX_TCB_CONFIGURATION_NEEDED:
        case TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
            return TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
        default:
            break;
        }
    }
    return platform;
}

ccai_code tdx_tcb_evaluate(const tdx_tcb_info *ti, const tdx_pck_ext *pck,
                           const tdx_td_body *body, tdx_tcb_eval *out, ccai_err *err)
{
    if (out->qe == TDX_TCB_UNKNOWN)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "TCB evaluation: no QE status (tdx_qe_identity_check must pass first)");
    const tdx_module_identity *m = NULL;
    const tdx_tcb_level *mod_level = NULL, *plat = NULL;
    tdx_tcb_status mod_status = TDX_TCB_UNKNOWN;
    ccai_code rc = platform_ids_match(ti, pck, err);
    if (!rc)
        rc = select_module(ti, body, &m, err);
    if (!rc)
        rc = module_check(m, body, &mod_status, &mod_level, err);
    if (!rc)
        rc = platform_level(ti, pck, body, &plat, err);
    if (rc)
        return rc;

    out->platform = plat->status;
    out->module = mod_status;
    out->combined = tdx_tcb_combine(plat->status, out->qe, mod_status);
    snprintf(out->tcb_date, sizeof out->tcb_date, "%s", plat->tcb_date_str);
    snprintf(out->module_id, sizeof out->module_id, "%s", m->id);

    /* Advisories: platform level first, then the QE level's (collected by
     * tdx_qe_identity_check), then the module level's, without repeats. */
    char **ids = NULL;
    size_t n = 0;
    adv_add_level(&ids, &n, plat);
    for (size_t i = 0; i < out->n_advisories; i++)
        adv_add(&ids, &n, out->advisory_ids[i]);
    if (mod_level)
        adv_add_level(&ids, &n, mod_level);
    adv_free(out->advisory_ids, out->n_advisories);
    out->advisory_ids = ids;
    out->n_advisories = n;
    return CCAI_OK;
}

void tdx_tcb_eval_free(tdx_tcb_eval *e)
{
    if (!e)
        return;
    adv_free(e->advisory_ids, e->n_advisories);
    memset(e, 0, sizeof *e);
}
