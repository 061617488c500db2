/* The simulated TD provider (sim.h, blueprint "Simulated TD").
 *
 * Quotes are real v4 TDX quotes (tdx-facts §1) built field by field and
 * signed through the simulated chain: the attestation key signs the quote,
 * the PCK key signs the QE report, whose report data binds the attestation
 * key (tdx-facts §2 steps 3-5). RTMR0..2 are always the replay of the
 * simulated firmware log ccel.bin; RTMR3 lives in registers.json and persists
 * across processes until tee_sim_reset.
 *
 * State (<state_dir>/sim, mode 0700) is created on first use under
 * state.lock; registers.json is written last, so its presence (with every
 * other file) marks a complete state. RTMR3 updates are read-modify-write
 * under registers.lock; the event-log lock, when a caller holds it, is always
 * taken first (eventlog.h). */
#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "tee/ccel.h"
#include "tee/quote.h"
#include "tee/sim.h"
#include "tee/sim_internal.h"

typedef struct sim_impl {
    char *dir;                 /* <state_dir>/sim */
    bool debug;                /* report td_attributes.DEBUG */
    EVP_PKEY *attest_key;
    EVP_PKEY *pck_key;
    uint8_t attest_pub[64];    /* X||Y, as the quote carries it */
    char *chain;               /* PCK leaf, platform CA, root PEM, then a NUL */
    size_t chain_len;          /* counts the NUL, as real quotes do (tdx-facts §1) */
    uint8_t fw_rtmr[3][48];    /* RTMR0..2: replay of ccel.bin */
    unsigned quote_ms;         /* CCAI_SIM_QUOTE_MS: each quote takes this long */
} sim_impl;

/* CCAI_SIM_QUOTE_MS (0-60000, unset: 0) makes every quote take that many
 * milliseconds, as a real TD's does (tens of ms or more through the quote
 * generation service), so that what waits on quotes can be tested. */
static ccai_code quote_delay_from_env(unsigned *ms, ccai_err *err)
{
    const char *v = getenv("CCAI_SIM_QUOTE_MS");
    *ms = 0;
    if (!v)
        return CCAI_OK;
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || v[0] == '-' || n > 60000)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "sim: CCAI_SIM_QUOTE_MS: expected milliseconds 0..60000, found \"%.40s\"",
                         v);
    *ms = (unsigned)n;
    return CCAI_OK;
}

static const char *const STATE_FILES[] = {
    SIM_ROOT_PEM, SIM_PLATFORM_KEY, SIM_PLATFORM_PEM, SIM_PCK_KEY, SIM_PCK_PEM,
    SIM_ATTEST_KEY, SIM_TCB_KEY, SIM_TCB_PEM, SIM_CCEL, SIM_REGISTERS,
};

/* ---- the simulated firmware log ------------------------------------------ */

/* UTF-16LE with a terminating NUL, as UEFI logs CHAR16 strings. */
static uint8_t *utf16le(const char *s, uint32_t *len)
{
    size_t n = strlen(s) + 1;
    uint8_t *o = ccai_xmalloc(2 * n);
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = (uint8_t)s[i];
        o[2 * i + 1] = 0;
    }
    *len = (uint32_t)(2 * n);
    return o;
}

/* A plausible TDVF boot (tdx-facts §4; index 1..3 = RTMR0..2): the firmware
 * volume and TD HOB into RTMR0, separators, the kernel image into RTMR1, the
 * kernel command line into RTMR2. Digests of blobs the simulation does not
 * have are SHA-384 of fixed labels. */
static ccai_code build_ccel(uint8_t **out, size_t *len, ccai_err *err)
{
    enum {
        EV_SEPARATOR = 0x4, EV_IPL = 0xD, EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003,
        EV_EFI_ACTION = 0x80000007, EV_EFI_PLATFORM_FIRMWARE_BLOB2 = 0x8000000A,
        EV_EFI_HANDOFF_TABLES2 = 0x8000000B,
    };
    static const char fv_label[] = "ccai-sim TDVF v1", hob_label[] = "ccai-sim TD HOB v1",
                      kernel_label[] = "ccai-sim kernel v1";
    uint8_t fv_digest[48], hob_digest[48], kernel_digest[48];
    ccai_sha384(fv_label, sizeof fv_label - 1, fv_digest);
    ccai_sha384(hob_label, sizeof hob_label - 1, hob_digest);
    ccai_sha384(kernel_label, sizeof kernel_label - 1, kernel_digest);

    /* UEFI_PLATFORM_FIRMWARE_BLOB2 {u8 size, "TDXFV", u64 base, u64 length} */
    uint8_t fv[1 + 5 + 16] = {5, 'T', 'D', 'X', 'F', 'V'};
    ccai_put_le64(fv + 6, 0xFFC00000ULL);
    ccai_put_le64(fv + 14, 0x00400000ULL);
    /* UEFI_HANDOFF_TABLE_POINTERS2 {u8 size, "TdHob", u64 count = 1,
     * {GUID, pointer}}; the GUID is left zero. */
    uint8_t hob[1 + 5 + 8 + 16 + 8] = {5, 'T', 'd', 'H', 'o', 'b'};
    ccai_put_le64(hob + 6, 1);
    ccai_put_le64(hob + 30, 0x00809000ULL);
    /* UEFI_IMAGE_LOAD_EVENT {u64 location, u64 length, u64 link address,
     * u64 device path length = 0}. */
    uint8_t image[32] = {0};
    ccai_put_le64(image, 0x7E000000ULL);
    ccai_put_le64(image + 8, 0x00C00000ULL);
    uint8_t sep[4] = {0};
    static const char call[] = "Calling EFI Application from Boot Option";
    static const char exit_bs[] = "Exit Boot Services Invocation";
    uint32_t cmd_len = 0;
    uint8_t *cmd = utf16le("console=hvc0 root=/dev/vda1 ro ccai.sim=1", &cmd_len);

    const tee_ccel_record recs[] = {
        {1, EV_EFI_PLATFORM_FIRMWARE_BLOB2, fv, sizeof fv, fv_digest},
        {1, EV_EFI_HANDOFF_TABLES2, hob, sizeof hob, hob_digest},
        {1, EV_SEPARATOR, sep, sizeof sep, NULL},
        {2, EV_SEPARATOR, sep, sizeof sep, NULL},
        {2, EV_EFI_ACTION, (const uint8_t *)call, sizeof call - 1, NULL},
        {2, EV_EFI_BOOT_SERVICES_APPLICATION, image, sizeof image, kernel_digest},
        {3, EV_IPL, cmd, cmd_len, NULL},
        {2, EV_EFI_ACTION, (const uint8_t *)exit_bs, sizeof exit_bs - 1, NULL},
    };
    ccai_code rc = tee_ccel_build(recs, sizeof recs / sizeof recs[0], out, len, err);
    free(cmd);
    return rc;
}

/* ---- registers.json ---------------------------------------------------------- */

static ccai_code write_rtmr3(const char *dir, const uint8_t rtmr3[48], ccai_err *err)
{
    json_t *o = json_object();
    ccai_json_set_hex(o, "rtmr3", rtmr3, 48);
    char *text = ccai_json_canonical(o);
    json_decref(o);
    char *path = tee_sim_path(dir, SIM_REGISTERS);
    ccai_code rc = ccai_write_file_atomic(path, text, strlen(text), 0600, err);
    free(path);
    free(text);
    return rc;
}

static ccai_code read_rtmr3(const char *dir, uint8_t rtmr3[48], ccai_err *err)
{
    char *path = tee_sim_path(dir, SIM_REGISTERS);
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *o = NULL;
    ccai_code rc = ccai_read_file(path, 4096, &data, &len, err);
    if (rc) {
        ccai_err_prefix(err, "sim: registers");
    } else if (ccai_json_parse((const char *)data, len, &o, err) != CCAI_OK ||
               ccai_json_get_hex(o, "rtmr3", rtmr3, 48, err) != CCAI_OK) {
        /* Only this module writes the file: a bad one is broken state. */
        ccai_err_prefix(err, "sim: %s", path);
        rc = err ? (err->code = CCAI_ERR_STATE) : CCAI_ERR_STATE;
    }
    json_decref(o);
    free(data);
    free(path);
    return rc;
}

/* RTMR3 = f(RTMR3) atomically with respect to other processes: digest
 * non-NULL extends, NULL resets to zero. */
static ccai_code update_rtmr3(const char *dir, const uint8_t *digest, ccai_err *err)
{
    char *lock_path = tee_sim_path(dir, SIM_REGISTERS_LOCK);
    int fd = -1;
    ccai_code rc = ccai_lock(lock_path, &fd, err);
    free(lock_path);
    if (rc)
        return rc;
    uint8_t reg[48] = {0};
    if (digest) {
        rc = read_rtmr3(dir, reg, err);
        if (!rc)
            ccai_sha384_extend(reg, digest);
    }
    if (!rc)
        rc = write_rtmr3(dir, reg, err);
    ccai_unlock(fd);
    return rc;
}

/* ---- first use ---------------------------------------------------------------- */

static bool state_complete(const char *dir)
{
    for (size_t i = 0; i < sizeof STATE_FILES / sizeof STATE_FILES[0]; i++) {
        char *p = tee_sim_path(dir, STATE_FILES[i]);
        bool ok = ccai_exists(p);
        free(p);
        if (!ok)
            return false;
    }
    return true;
}

static ccai_code generate_state(const char *dir, ccai_err *err)
{
    ccai_code rc = tee_sim_pki_generate(dir, err);
    uint8_t *ccel = NULL;
    size_t ccel_len = 0;
    if (!rc)
        rc = build_ccel(&ccel, &ccel_len, err);
    if (!rc) {
        char *path = tee_sim_path(dir, SIM_CCEL);
        rc = ccai_write_file_atomic(path, ccel, ccel_len, 0644, err);
        free(path);
    }
    free(ccel);
    static const uint8_t zero[48] = {0};
    if (!rc)
        rc = write_rtmr3(dir, zero, err); /* last: marks the state complete */
    return rc;
}

/* Creates the state once; concurrent first uses serialize on the lock and
 * the losers find it complete when they get it. */
static ccai_code ensure_state(const char *dir, ccai_err *err)
{
    if (state_complete(dir))
        return CCAI_OK;
    char *lock_path = tee_sim_path(dir, SIM_STATE_LOCK);
    int fd = -1;
    ccai_code rc = ccai_lock(lock_path, &fd, err);
    free(lock_path);
    if (rc)
        return rc;
    if (!state_complete(dir))
        rc = generate_state(dir, err);
    ccai_unlock(fd);
    if (rc)
        ccai_err_prefix(err, "sim: creating the simulated TD in %s", dir);
    return rc;
}

/* ---- the provider ----------------------------------------------------------- */

static ccai_code load_chain(sim_impl *s, ccai_err *err)
{
    char *leaf = NULL, *plat = NULL;
    ccai_code rc = tee_sim_load_cert(s->dir, SIM_PCK_PEM, NULL, &leaf, err);
    if (!rc)
        rc = tee_sim_load_cert(s->dir, SIM_PLATFORM_PEM, NULL, &plat, err);
    if (!rc) {
        s->chain = ccai_xasprintf("%s%s%s", leaf, plat, tee_sim_root_pem());
        s->chain_len = strlen(s->chain) + 1;
    }
    free(leaf);
    free(plat);
    return rc;
}

static ccai_code load_fw_registers(sim_impl *s, ccai_err *err)
{
    char *path = tee_sim_path(s->dir, SIM_CCEL);
    uint8_t *data = NULL;
    size_t len = 0;
    tee_ccel log = {0};
    ccai_code rc = ccai_read_file(path, 1 << 20, &data, &len, err);
    if (!rc && (rc = tee_ccel_parse(data, len, &log, err)) == CCAI_OK) {
        uint8_t rtmr[4][48];
        tee_ccel_replay(&log, rtmr);
        memcpy(s->fw_rtmr, rtmr, sizeof s->fw_rtmr);
        tee_ccel_free(&log);
    }
    if (rc)
        ccai_err_prefix(err, "sim: %s", path);
    free(data);
    free(path);
    return rc;
}

static void measurements_now(const sim_impl *s, const uint8_t rtmr3[48], tee_measurements *m)
{
    memset(m, 0, sizeof *m);
    ccai_sha384(SIM_LABEL_MRTD, strlen(SIM_LABEL_MRTD), m->mr_td);
    memcpy(m->rtmr, s->fw_rtmr, sizeof s->fw_rtmr);
    memcpy(m->rtmr[3], rtmr3, 48);
}

/* The QE's report (tdx-facts §1 offsets), report data binding the
 * attestation key and the QE authentication data (§2 step 4). */
static void build_qe_report(const sim_impl *s, const uint8_t *qe_auth, tdx_qe_report *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->cpusvn, SIM_COMP_SVN, 16);
    r->miscselect = 0;
    memcpy(r->attributes, SIM_QE_ATTRIBUTES, 16);
    ccai_sha256(SIM_LABEL_QE_MRENCLAVE, strlen(SIM_LABEL_QE_MRENCLAVE), r->mrenclave);
    ccai_sha256(SIM_LABEL_QE_MRSIGNER, strlen(SIM_LABEL_QE_MRSIGNER), r->mrsigner);
    r->isvprodid = SIM_QE_ISVPRODID;
    r->isvsvn = SIM_QE_ISVSVN;
    uint8_t bind[64 + SIM_QE_AUTH_LEN];
    memcpy(bind, s->attest_pub, 64);
    memcpy(bind + 64, qe_auth, SIM_QE_AUTH_LEN);
    ccai_sha256(bind, sizeof bind, r->report_data);

    memcpy(r->raw + 0, r->cpusvn, 16);
    ccai_put_le32(r->raw + 16, r->miscselect);
    memcpy(r->raw + 48, r->attributes, 16);
    memcpy(r->raw + 64, r->mrenclave, 32);
    memcpy(r->raw + 128, r->mrsigner, 32);
    ccai_put_le16(r->raw + 256, r->isvprodid);
    ccai_put_le16(r->raw + 258, r->isvsvn);
    memcpy(r->raw + 320, r->report_data, 64);
}

static void build_header_body(const sim_impl *s, const tee_measurements *m,
                              const uint8_t report_data[64], tdx_quote *q)
{
    uint8_t h[32];
    q->header.version = 4;
    q->header.att_key_type = TDX_ATT_KEY_ECDSA_P256;
    q->header.tee_type = TDX_TEE_TYPE_TDX;
    q->header.qe_svn = SIM_QE_SVN;
    q->header.pce_svn = SIM_PCESVN;
    memcpy(q->header.qe_vendor_id, TDX_INTEL_QE_VENDOR_ID, 16);
    ccai_sha256(SIM_LABEL_QE_ID, strlen(SIM_LABEL_QE_ID), h);
    memcpy(q->header.user_data, h, 20);

    q->body_type = TDX_BODY_TYPE_TDX10;
    q->body_len = TDX_BODY_V10_LEN;
    tdx_td_body *b = &q->body;
    memcpy(b->tee_tcb_svn, SIM_TEE_TCB_SVN, 16);
    ccai_sha384(SIM_LABEL_MR_SEAM, strlen(SIM_LABEL_MR_SEAM), b->mr_seam);
    b->td_attributes = TDX_TD_ATTR_SEPT_VE_DISABLE | (s->debug ? TDX_TD_ATTR_DEBUG : 0);
    b->xfam = SIM_XFAM;
    memcpy(b->mr_td, m->mr_td, 48);
    memcpy(b->rtmr, m->rtmr, sizeof b->rtmr);
    memcpy(b->report_data, report_data, 64);
}

static ccai_code sim_get_quote(tee_provider *p, const uint8_t report_data[64], uint8_t **quote,
                               size_t *quote_len, ccai_err *err)
{
    sim_impl *s = p->impl;
    if (s->quote_ms) {
        struct timespec ts = {s->quote_ms / 1000, (long)(s->quote_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    uint8_t rtmr3[48];
    ccai_code rc = read_rtmr3(s->dir, rtmr3, err);
    if (rc)
        return rc;
    tee_measurements m;
    measurements_now(s, rtmr3, &m);

    tdx_quote q = {0};
    build_header_body(s, &m, report_data, &q);
    memcpy(q.attest_key, s->attest_pub, 64);
    q.cert_type = TDX_CERT_TYPE_QE_REPORT;
    q.qe_auth_len = SIM_QE_AUTH_LEN;
    q.qe_auth = ccai_xmalloc(SIM_QE_AUTH_LEN);
    for (unsigned i = 0; i < SIM_QE_AUTH_LEN; i++)
        q.qe_auth[i] = (uint8_t)i;
    build_qe_report(s, q.qe_auth, &q.qe_report);
    q.pck_cert_type = TDX_CERT_TYPE_PCK_CHAIN;
    q.pck_chain_len = (uint32_t)s->chain_len;
    q.pck_chain = ccai_xmemdup(s->chain, s->chain_len);

    uint8_t *signed_bytes = NULL;
    size_t signed_len = 0;
    rc = tee_sim_sign_raw(s->pck_key, q.qe_report.raw, TDX_QE_REPORT_LEN, q.qe_report_sig, err);
    if (!rc)
        rc = tdx_quote_signed_region(&q, &signed_bytes, &signed_len, err);
    if (!rc)
        rc = tee_sim_sign_raw(s->attest_key, signed_bytes, signed_len, q.signature, err);
    if (!rc)
        rc = tdx_quote_serialize(&q, quote, quote_len, err);
    free(signed_bytes);
    tdx_quote_free(&q);
    if (rc)
        ccai_err_prefix(err, "sim: quote");
    return rc;
}

static ccai_code sim_extend_rtmr(tee_provider *p, unsigned index, const uint8_t digest[48],
                                 ccai_err *err)
{
    sim_impl *s = p->impl;
    if (index > 3)
        return ccai_fail(err, CCAI_ERR_ARG, "sim: there is no RTMR%u (expected 0..3)", index);
    if (index != 3)
        return ccai_fail(err, CCAI_ERR_ARG,
                         "sim: RTMR%u belongs to the simulated firmware (its event log); only "
                         "RTMR3 can be extended",
                         index);
    return update_rtmr3(s->dir, digest, err);
}

static ccai_code sim_read_measurements(tee_provider *p, tee_measurements *out, ccai_err *err)
{
    sim_impl *s = p->impl;
    uint8_t rtmr3[48];
    ccai_code rc = read_rtmr3(s->dir, rtmr3, err);
    if (!rc)
        measurements_now(s, rtmr3, out);
    return rc;
}

static ccai_code sim_read_ccel(tee_provider *p, uint8_t **data, size_t *len, ccai_err *err)
{
    sim_impl *s = p->impl;
    char *path = tee_sim_path(s->dir, SIM_CCEL);
    ccai_code rc = ccai_read_file(path, 1 << 20, data, len, err);
    free(path);
    return rc;
}

static void sim_impl_free(sim_impl *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->attest_key);
    EVP_PKEY_free(s->pck_key);
    free(s->chain);
    free(s->dir);
    free(s);
}

/* Frees the impl; tee_provider_close frees runtime_dir and p (provider.c). */
static void sim_destroy(tee_provider *p)
{
    sim_impl_free(p->impl);
    p->impl = NULL;
}

static const tee_provider_ops SIM_OPS = {
    .name = "sim",
    .tee = "tdx-sim",
    .get_quote = sim_get_quote,
    .extend_rtmr = sim_extend_rtmr,
    .read_measurements = sim_read_measurements,
    .read_ccel = sim_read_ccel,
    .destroy = sim_destroy,
};

ccai_code tee_sim_reset_rtmr3(tee_provider *p, ccai_err *err)
{
    if (!p || p->ops != &SIM_OPS)
        return ccai_fail(err, CCAI_ERR_ARG, "sim: not a simulated TD provider");
    sim_impl *s = p->impl;
    return update_rtmr3(s->dir, NULL, err);
}

ccai_code tee_provider_open_sim(const tee_config *cfg, tee_provider **out, ccai_err *err)
{
    if (!cfg || !cfg->state_dir || !*cfg->state_dir)
        return ccai_fail(err, CCAI_ERR_ARG, "sim: a state directory is required");
    sim_impl *s = ccai_xcalloc(1, sizeof *s);
    s->dir = ccai_xasprintf("%s/%s", cfg->state_dir, SIM_DIR_NAME);
    s->debug = cfg->sim_debug;
    ccai_code rc = quote_delay_from_env(&s->quote_ms, err);
    if (!rc)
        rc = ccai_mkdir_p(s->dir, 0700, err);
    /* Keys live here: owner only, whatever the umask or an older mode. */
    if (!rc && chmod(s->dir, 0700) != 0)
        rc = ccai_fail(err, CCAI_ERR_IO, "sim: chmod 0700 %s failed", s->dir);
    if (!rc)
        rc = ensure_state(s->dir, err);
    if (!rc)
        rc = tee_sim_load_key(s->dir, SIM_ATTEST_KEY, &s->attest_key, err);
    if (!rc)
        rc = tee_sim_load_key(s->dir, SIM_PCK_KEY, &s->pck_key, err);
    if (!rc)
        rc = tee_sim_pubkey_raw(s->attest_key, s->attest_pub, err);
    if (!rc)
        rc = load_chain(s, err);
    if (!rc)
        rc = load_fw_registers(s, err);
    if (rc) {
        sim_impl_free(s);
        return rc;
    }
    tee_provider *p = ccai_xcalloc(1, sizeof *p);
    p->ops = &SIM_OPS;
    p->impl = s;
    p->runtime_dir = ccai_xstrdup(s->dir);
    *out = p;
    return CCAI_OK;
}
