/* Views of a parsed TDX quote for people and tools: a JSON object (for
 * `ccai quote show --json`, evidence reports and logs) and an aligned text
 * listing. Both show every field of tdx_quote; neither judges it (no policy,
 * no verification: a field shown here is only what the quote claims). */
#ifndef CCAI_TEE_QUOTE_JSON_H
#define CCAI_TEE_QUOTE_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "tee/quote.h"

/* A fresh JSON object (the caller owns the reference and json_decref's it):
 * {"header": {...}, "body_type", "body_len", "body": {...}, "sig_data_len",
 * "signature", "attest_key", "cert_type", "cert_len", "qe_report": {...},
 * "qe_report_signature", "qe_auth_data", "pck_cert_type", "pck_chain_len",
 * "pck_chain_certs", "quote_len", "signed_len", "trailing_len"}.
 * Byte strings are lower-case hex; u64 attribute words are 16-digit hex
 * strings of the value; td_attributes is also decoded bit by bit in
 * body.td_attributes_decoded; tee_tcb_svn2 and mr_servicetd appear only for
 * body type 3. */
json_t *tdx_quote_to_json(const tdx_quote *q);

/* The same fields as "name: value" lines under the headings "Header",
 * "TD report body", "QE report" and "Signature data". */
void tdx_quote_print_text(FILE *f, const tdx_quote *q);

#endif
