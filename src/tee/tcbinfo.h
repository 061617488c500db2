/* TCB info (TDX, version 3) and QE identity (TD_QE, version 2): parsing the
 * signed JSON into structs (parse stage), and the TCB evaluation of
 * tdx-facts §2 steps 6-8 (verify stage, pure functions: no I/O, no crypto). */
#ifndef CCAI_TEE_TCBINFO_H
#define CCAI_TEE_TCBINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"
#include "tee/pck.h"
#include "tee/quote.h"

typedef enum tdx_tcb_status {
    TDX_TCB_UNKNOWN = 0,
    TDX_TCB_UP_TO_DATE,
    TDX_TCB_SW_HARDENING_NEEDED,
    TDX_TCB_CONFIGURATION_NEEDED,
    TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    TDX_TCB_OUT_OF_DATE,
    TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    TDX_TCB_REVOKED,
} tdx_tcb_status;

/* "UpToDate", "SWHardeningNeeded", ... (Intel's spelling). */
const char *tdx_tcb_status_name(tdx_tcb_status s);
ccai_code tdx_tcb_status_parse(const char *s, tdx_tcb_status *out, ccai_err *err);

typedef struct tdx_tcb_level {
    uint8_t sgx_svn[16];       /* TCB info levels: sgxtcbcomponents */
    uint16_t pcesvn;
    uint8_t tdx_svn[16];       /* tdxtcbcomponents */
    uint16_t isvsvn;           /* QE identity and module identity levels */
    time_t tcb_date;
    char tcb_date_str[32];
    tdx_tcb_status status;
    size_t n_advisories;
    char **advisory_ids;       /* owned */
} tdx_tcb_level;

typedef struct tdx_module_identity {
    char id[16];               /* "TDX_01"; empty for tdxModule */
    uint8_t mrsigner[48];
    uint64_t attributes;
    uint64_t attributes_mask;
    size_t n_levels;
    tdx_tcb_level *levels;     /* isvsvn levels, owned */
} tdx_module_identity;

typedef struct tdx_tcb_info {
    char id[16];               /* "TDX" */
    int version;               /* 3 */
    time_t issue_date, next_update;
    char issue_date_str[32], next_update_str[32];
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    int tcb_type;
    int tcb_eval_num;
    tdx_module_identity module;          /* tdxModule */
    size_t n_module_ids;
    tdx_module_identity *module_ids;     /* tdxModuleIdentities, owned */
    size_t n_levels;
    tdx_tcb_level *levels;               /* tcbLevels in order, owned */
} tdx_tcb_info;

typedef struct tdx_qe_identity {
    char id[16];               /* "TD_QE" */
    int version;               /* 2 */
    time_t issue_date, next_update;
    char issue_date_str[32], next_update_str[32];
    int tcb_eval_num;
    uint32_t miscselect, miscselect_mask;
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    size_t n_levels;
    tdx_tcb_level *levels;     /* owned */
} tdx_qe_identity;

/* Parse the raw JSON of the tcbInfo / enclaveIdentity value. Errors name the
 * member ("tcbLevels[2].tcb.sgxtcbcomponents[5].svn ..."). Wrong id or
 * version is CCAI_ERR_UNSUPPORTED. */
ccai_code tdx_tcb_info_parse(const char *json, size_t len, tdx_tcb_info *out, ccai_err *err);
void tdx_tcb_info_free(tdx_tcb_info *ti);
ccai_code tdx_qe_identity_parse(const char *json, size_t len, tdx_qe_identity *out,
                                ccai_err *err);
void tdx_qe_identity_free(tdx_qe_identity *qi);

/* The outcome of tdx-facts §2 steps 6-8. */
typedef struct tdx_tcb_eval {
    tdx_tcb_status platform;   /* from the matching tcbLevels entry */
    tdx_tcb_status qe;         /* from the QE identity */
    tdx_tcb_status module;     /* from the TDX module identity (UpToDate when
                                  it has no levels) */
    tdx_tcb_status combined;   /* the status to report */
    char tcb_date[32];         /* of the platform level */
    char module_id[16];        /* "TDX_01" or "" (tdxModule) */
    size_t n_advisories;
    char **advisory_ids;       /* union of the chosen levels' advisories, owned */
} tdx_tcb_eval;

/* Step 6: QE identity match; fills out->qe. Starts out afresh (it must own
 * nothing yet) and keeps the QE level's advisories there for
 * tdx_tcb_evaluate to merge. */
ccai_code tdx_qe_identity_check(const tdx_qe_identity *qi, const tdx_qe_report *rep,
                                tdx_tcb_eval *out, ccai_err *err);
/* Steps 7-8: FMSPC/PCE-ID match, module identity, TCB level, combination;
 * fills the rest of out (call after tdx_qe_identity_check). "TCB level not
 * supported" and mismatches are CCAI_ERR_VERIFY. */
ccai_code tdx_tcb_evaluate(const tdx_tcb_info *ti, const tdx_pck_ext *pck,
                           const tdx_td_body *body, tdx_tcb_eval *out, ccai_err *err);
void tdx_tcb_eval_free(tdx_tcb_eval *e);

/* The combination rule of tdx-facts §2 step 8 (used by tdx_tcb_evaluate):
 * Revoked anywhere wins; an out-of-date QE or module (OutOfDate or
 * OutOfDateConfigurationNeeded) turns UpToDate/SWHardeningNeeded into
 * OutOfDate and the ConfigurationNeeded variants into
 * OutOfDateConfigurationNeeded; otherwise the platform status. Any
 * TDX_TCB_UNKNOWN input gives TDX_TCB_UNKNOWN. */
tdx_tcb_status tdx_tcb_combine(tdx_tcb_status platform, tdx_tcb_status qe,
                               tdx_tcb_status module);

#endif
