/* `ccai serve` start-up and shutdown (server.h "serve.c"; docs/serve.md).
 *
 * The order is the point (blueprint "Measured launch"): the TEE provider
 * opens first, then everything the server will use is measured into RTMR3
 * before it is used -- the running executable (ccai.binary), the effective
 * configuration (ccai.config) and each model (ccai.model, inside
 * ccai_models_load, before the engine maps the file). Only then come the
 * TLS key (born in memory unless the operator gives files), the accounts,
 * the scheduler and the HTTP server. SIGTERM/SIGINT stop it gracefully:
 * stop accepting, let replies in flight end (5 s), cancel the rest, join
 * the workers, free everything.
 *
 * The access log (ccai_access_log) is one JSON line per request with no
 * content: time, method, path, status, duration, user id, token counts. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "server/server.h"
#include "tee/collateral.h"
#include "tee/eventlog.h"
#include "store/store.h"
#include "tee/sim.h"

enum { MAX_COLLATERAL_BYTES = 4 << 20 };

/* ---- the effective configuration ------------------------------------------------ */

static void apply_defaults(const ccai_server_config *in, ccai_server_config *out)
{
    *out = *in;
    if (!out->listen)
        out->listen = "127.0.0.1:11434";
    if (!out->tee)
        out->tee = "auto";
    if (out->parallel <= 0)
        out->parallel = 1;
    if (out->queue_max < 0)
        out->queue_max = 16;
    if (!out->max_body_bytes)
        out->max_body_bytes = 4u << 20;
    if (out->max_tokens <= 0)
        out->max_tokens = 4096;
    if (out->request_timeout_s <= 0)
        out->request_timeout_s = 600;
    if (out->attest_per_minute <= 0)
        out->attest_per_minute = 30;
}

void ccai_server_config_init(ccai_server_config *cfg)
{
    *cfg = (ccai_server_config){.listen = "127.0.0.1:11434", .tee = "auto", .parallel = 1,
                                .queue_max = 16, .tls = true, .auth = true,
                                .max_body_bytes = 4u << 20, .max_tokens = 4096,
                                .request_timeout_s = 600, .attest_per_minute = 30};
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *ccai_server_config_json(const ccai_server_config *cfg_in)
{
    ccai_server_config c;
    apply_defaults(cfg_in, &c);
    json_t *j = json_object();
    json_object_set_new(j, "listen", json_string(c.listen));
    json_object_set_new(j, "tee", json_string(c.tee));
    json_object_set_new(j, "state_dir", str_or_null(c.state_dir));
    json_object_set_new(j, "threads", json_integer(c.threads));
    json_object_set_new(j, "n_ctx", json_integer(c.n_ctx));
    json_object_set_new(j, "parallel", json_integer(c.parallel));
    json_object_set_new(j, "queue", json_integer(c.queue_max));
    json_object_set_new(j, "tls", json_boolean(c.tls));
    if (c.tls) {
        json_object_set_new(j, "tls_key", json_string(c.tls_cert ? "file" : "generated"));
        if (c.tls_cert) {
            /* The certificate file's identity; the key file is a secret and
             * is not hashed (its public half is in every quote anyway). */
            uint8_t h[32];
            if (ccai_sha256_file(c.tls_cert, h, NULL) == CCAI_OK)
                ccai_json_set_hex(j, "tls_cert_sha256", h, 32);
            else
                json_object_set_new(j, "tls_cert_sha256", json_null());
        }
    }
    json_object_set_new(j, "auth", json_boolean(c.auth));
    json_object_set_new(j, "verifier_url", str_or_null(c.verifier_url));
    json_object_set_new(j, "policy_id", str_or_null(c.policy_id));
    json_object_set_new(j, "kernels", json_string(c.kernels ? c.kernels : "auto"));
    json_object_set_new(j, "max_body_bytes", json_integer((json_int_t)c.max_body_bytes));
    json_object_set_new(j, "max_tokens", json_integer(c.max_tokens));
    json_object_set_new(j, "request_timeout_s", json_integer(c.request_timeout_s));
    json_object_set_new(j, "attest_per_minute", json_integer(c.attest_per_minute));
    json_object_set_new(j, "access_log", json_string(c.access_log ? c.access_log : "stderr"));
    /* Named only when set, so ordinary launches measure as before. */
    if (c.sim_debug)
        json_object_set_new(j, "sim_debug", json_true());
    if (c.store_models)
        json_object_set_new(j, "store_models", json_true());
    return j;
}

/* ---- listen address --------------------------------------------------------------- */

static bool split_host(const char *listen, char *host, size_t n)
{
    const char *h = listen, *end;
    if (!listen || !*listen)
        return false;
    if (*h == '[') {
        h++;
        end = strchr(h, ']');
        if (!end || end[1] != ':')
            return false;
    } else {
        end = strrchr(h, ':');
        if (!end || strchr(h, ':') != end)
            return false;
    }
    size_t len = (size_t)(end - h);
    if (len == 0 || len >= n)
        return false;
    memcpy(host, h, len);
    host[len] = '\0';
    return true;
}

static bool addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

bool ccai_listen_is_loopback(const char *listen)
{
    char host[256];
    if (!split_host(listen, host, sizeof host))
        return false;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return false;
    bool all = true;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (!addr_is_loopback(ai->ai_addr))
            all = false;
    freeaddrinfo(res);
    return all;
}

/* ---- access log ------------------------------------------------------------------- */

/* A client-chosen path made safe for one log line: printable ASCII only. */
static char *log_safe(const char *s)
{
    size_t n = s ? strnlen(s, 512) : 0;
    char *o = ccai_xstrndup(s ? s : "", n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)o[i] < 0x20 || (unsigned char)o[i] >= 0x7f)
            o[i] = '?';
    return o;
}

void ccai_access_log(ccai_server *s, const char *method, const char *path, int status,
                     uint64_t duration_ns, int64_t user_id, long prompt_tokens,
                     long eval_tokens)
{
    FILE *f = s && s->access_log ? s->access_log : stderr;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char t[32], ts[48];
    ccai_time_format(tv.tv_sec, t);
    /* "YYYY-MM-DDTHH:MM:SSZ" -> with milliseconds */
    snprintf(ts, sizeof ts, "%.19s.%03ldZ", t, (long)(tv.tv_usec / 1000));
    char *m = log_safe(method), *p = log_safe(path);
    json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:f, s:o, s:o, s:o}", "ts", ts, "method", m,
                          "path", p, "status", status, "duration_ms", (double)duration_ns / 1e6,
                          "user_id", user_id >= 0 ? json_integer(user_id) : json_null(),
                          "prompt_tokens", prompt_tokens >= 0 ? json_integer(prompt_tokens)
                                                              : json_null(),
                          "eval_tokens", eval_tokens >= 0 ? json_integer(eval_tokens)
                                                          : json_null());
    char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))
                   : NULL;
    if (line) {
        fprintf(f, "%s\n", line); /* one call: stdio keeps the line whole */
        fflush(f);
    }
    free(line);
    json_decref(j);
    free(m);
    free(p);
}

static ccai_code open_access_log(ccai_server *s, const char *path, ccai_err *err)
{
    s->access_log = stderr;
    if (!path)
        return CCAI_OK;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return ccai_fail(err, CCAI_ERR_IO, "access log %s: %s", path, strerror(e));
    }
    setvbuf(f, NULL, _IOLBF, 0);
    s->access_log = f;
    return CCAI_OK;
}

/* ---- measured launch -------------------------------------------------------------- */

/* ccai.binary {path, sha256, size} of the running executable: /proc/self/exe
 * is the file this process was started from, even if the path has since been
 * replaced. */
static ccai_code measure_binary(ccai_server *s, ccai_err *err)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n < 0)
        return ccai_fail(err, CCAI_ERR_IO, "measuring the binary: /proc/self/exe: %s",
                         strerror(errno));
    path[n] = '\0';
    json_t *data = NULL;
    ccai_code rc = ccai_launch_binary_data(path, "/proc/self/exe", &data, err);
    if (rc) {
        ccai_err_prefix(err, "measuring the binary");
        return rc;
    }
    const char *hex = json_string_value(json_object_get(data, "sha256"));
    rc = tee_measure(s->tee, "ccai.binary", data, NULL, err);
    if (rc)
        ccai_err_prefix(err, "measuring the binary");
    else
        fprintf(stderr, "ccai serve: measured binary %s sha256 %s\n", path, hex);
    json_decref(data);
    return rc;
}

/* --store-models: every model of the store not already served, offered
 * under its store name and hashed + measured only before its first use
 * (models.c). A store entry that cannot be offered is reported and
 * skipped: it never loads. */
static ccai_code offer_store_models(ccai_server *s, ccai_err *err)
{
    store *st = NULL;
    store_entry *e = NULL;
    size_t n = 0;
    ccai_code rc = store_open(NULL, &st, err);
    if (!rc)
        rc = store_list(st, &e, &n, err);
    if (rc) {
        ccai_err_prefix(err, "--store-models");
        store_close(st);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        ccai_err why = {0};
        char *path = NULL, hex[65];
        uint8_t sha[32];
        if (ccai_models_find(s, e[i].name))
            continue;
        if (e[i].error)
            ccai_fail(&why, CCAI_ERR_PARSE, "%s", e[i].error);
        else if (!store_model_path(&e[i], &path, &why) &&
                 !store_digest_parse(e[i].man.layers[e[i].man.model].digest, hex, &why) &&
                 !ccai_hex_decode_exact(hex, sha, 32, &why) &&
                 !ccai_models_add_lazy(s, path, e[i].name, sha, &why))
            fprintf(stderr, "ccai serve: offering store model %s (measured before first use)\n",
                    e[i].name);
        if (why.code)
            fprintf(stderr, "ccai serve: warning: store model %s not offered: %s\n", e[i].name,
                    why.msg);
        free(path);
    }
    store_entries_free(e, n);
    store_close(st);
    return CCAI_OK;
}

static ccai_code measured_launch(ccai_server *s, ccai_err *err)
{
    ccai_code rc = measure_binary(s, err);
    if (rc)
        return rc;
    s->config_event = ccai_server_config_json(s->cfg);
    if ((rc = tee_measure(s->tee, "ccai.config", s->config_event, NULL, err))) {
        ccai_err_prefix(err, "measuring the configuration");
        return rc;
    }
    for (size_t i = 0; i < s->cfg->n_models; i++) {
        const char *name = s->cfg->model_names ? s->cfg->model_names[i] : NULL;
        if ((rc = ccai_models_add_named(s, s->cfg->models[i], name, err)))
            return rc;
        ccai_model *m = &s->models[s->n_models - 1];
        if ((rc = ccai_models_load(s, m, err)))
            return rc;
        char hex[65];
        ccai_hex_encode(m->sha256, 32, hex);
        fprintf(stderr, "ccai serve: measured and loaded model %s sha256 %s (%llu bytes)\n",
                m->name, hex, (unsigned long long)m->size);
    }
    return s->cfg->store_models ? offer_store_models(s, err) : CCAI_OK;
}

/* ---- collateral ------------------------------------------------------------------- */

static ccai_code load_collateral(ccai_server *s, ccai_err *err)
{
    const char *file = s->cfg->collateral;
    if (file) {
        uint8_t *data = NULL;
        size_t len = 0;
        json_t *j = NULL;
        tdx_collateral c;
        memset(&c, 0, sizeof c);
        ccai_code rc = ccai_read_file(file, MAX_COLLATERAL_BYTES, &data, &len, err);
        if (!rc)
            rc = ccai_json_parse((const char *)data, len, &j, err);
        if (!rc)
            rc = tdx_collateral_from_json(j, &c, err); /* the shape only: verifiers check it */
        tdx_collateral_free(&c);
        free(data);
        if (rc) {
            json_decref(j);
            ccai_err_prefix(err, "--collateral %s", file);
            return rc;
        }
        s->collateral = j;
        s->collateral_at = 0;
        return CCAI_OK;
    }
    if (strcmp(s->tee->ops->name, "sim") == 0) {
        time_t now = time(NULL);
        ccai_code rc = tee_sim_collateral(&s->tee_cfg, now, &s->collateral, err);
        if (rc)
            return rc;
        s->collateral_at = now;
    }
    /* Real TDX without --collateral: relying parties fetch it from PCS. */
    return CCAI_OK;
}

/* ---- accounts --------------------------------------------------------------------- */

static ccai_code open_accounts(ccai_server *s, ccai_err *err)
{
    char *given = s->cfg->admin_password;
    char *generated = NULL;
    ccai_code rc = ccai_accounts_open(s->cfg->state_dir, &s->acc, err);
    if (!rc)
        rc = ccai_accounts_bootstrap(s->acc, given, given ? NULL : &generated, err);
    if (given)
        ccai_wipe(given, strlen(given));
    if (rc)
        return rc;
    if (generated) {
        fprintf(stderr,
                "ccai serve: created the first user \"%s\" (role admin) with the password\n"
                "    %s\n"
                "  It is shown this once; set CCAI_ADMIN_PASSWORD on the first start to choose "
                "it.\n",
                CCAI_BOOTSTRAP_ADMIN, generated);
        fflush(stderr);
        ccai_accounts_free_secret(generated);
    }
    return CCAI_OK;
}

/* ---- the server ------------------------------------------------------------------- */

static ccai_code start_http(ccai_server *s, ccai_err *err)
{
    static const char *const with_tls[] = {
        "X-Content-Type-Options", "nosniff", "Referrer-Policy", "no-referrer",
        "Cache-Control", "no-store", "X-Frame-Options", "DENY",
        "Strict-Transport-Security", "max-age=31536000", NULL,
    };
    /* Without TLS the same minus HSTS (the last pair). */
    static const char *const plain[] = {
        "X-Content-Type-Options", "nosniff", "Referrer-Policy", "no-referrer",
        "Cache-Control", "no-store", "X-Frame-Options", "DENY", NULL,
    };
    ccai_http_opts o = {
        .listen = s->cfg->listen,
        .tls = s->tls,
        .max_body_bytes = s->cfg->max_body_bytes,
        .headers = s->tls ? with_tls : plain,
    };
    ccai_code rc = ccai_http_server_new(&o, &s->http, err);
    if (!rc)
        rc = ccai_api_ollama_register(s, err);
    if (!rc)
        rc = ccai_api_openai_register(s, err);
    if (!rc)
        rc = ccai_api_attest_register(s, err);
    if (!rc)
        rc = ccai_auth_register(s, err);
    if (!rc)
        rc = ccai_api_ui_register(s, err);
    if (!rc)
        rc = ccai_api_models_register(s, err);
    if (!rc)
        rc = ccai_http_server_stop_on_signal(s->http, SIGTERM, err);
    if (!rc)
        rc = ccai_http_server_stop_on_signal(s->http, SIGINT, err);
    return rc;
}

static void announce(const ccai_server *s)
{
    char host[256] = "";
    split_host(s->cfg->listen, host, sizeof host);
    bool v6 = strchr(host, ':') != NULL;
    fprintf(stderr, "ccai serve: listening on %s://%s%s%s:%u\n", s->tls ? "https" : "http",
            v6 ? "[" : "", host, v6 ? "]" : "", ccai_http_server_port(s->http));
    if (s->tls) {
        char hex[65];
        ccai_hex_encode(ccai_tls_spki_sha256(s->tls), 32, hex);
        fprintf(stderr, "ccai serve: TLS SPKI SHA-256 %s (%s)\n", hex,
                ccai_tls_generated(s->tls) ? "key generated in memory" : "key from --tls-key");
    }
    if (strcmp(s->tee->ops->tee, "tdx") != 0)
        fprintf(stderr, "ccai serve: TEE %s: simulated, NOT confidential\n", s->tee->ops->tee);
    fflush(stderr);
}

/* The TLS certificate file must still be the one the config event hashed. */
static ccai_code check_cert_unchanged(const ccai_server *s, ccai_err *err)
{
    const json_t *want = json_object_get(s->config_event, "tls_cert_sha256");
    uint8_t h[32];
    char hex[65];
    if (!s->cfg->tls || !s->cfg->tls_cert)
        return CCAI_OK;
    ccai_code rc = ccai_sha256_file(s->cfg->tls_cert, h, err);
    if (rc)
        return rc;
    ccai_hex_encode(h, 32, hex);
    if (!json_is_string(want) || strcmp(json_string_value(want), hex) != 0)
        return ccai_fail(err, CCAI_ERR_STATE,
                         "--tls-cert %s changed after it was measured; start again", s->cfg->tls_cert);
    return CCAI_OK;
}

ccai_code ccai_serve(const ccai_server_config *cfg_in, ccai_err *err)
{
    ccai_server_config cfg;
    apply_defaults(cfg_in, &cfg);
    if ((!cfg.tls || !cfg.auth) && !ccai_listen_is_loopback(cfg.listen))
        return ccai_fail(err, CCAI_ERR_ARG,
                         "--tls off and --auth off are only allowed on a loopback address, not %s",
                         cfg.listen);
    if (!cfg.state_dir)
        return ccai_fail(err, CCAI_ERR_ARG, "serve: a state directory is required");
    if ((cfg.tls_cert == NULL) != (cfg.tls_key == NULL))
        return ccai_fail(err, CCAI_ERR_ARG, "--tls-cert and --tls-key go together");

    ccai_server s;
    memset(&s, 0, sizeof s);
    s.cfg = &cfg;
    s.started = time(NULL);
    pthread_mutex_init(&s.lock, NULL);
    s.tee_cfg.state_dir = cfg.state_dir;
    s.tee_cfg.sim_debug = cfg.sim_debug;

    ccai_code rc = open_access_log(&s, cfg.access_log, err);
    if (!rc)
        rc = tee_provider_open(cfg.tee, &s.tee_cfg, &s.tee, err);
    if (!rc) {
        cfg.tee = s.tee->ops->name; /* measure what runs: "auto" resolved */
        rc = measured_launch(&s, err);
    }
    if (!rc)
        rc = load_collateral(&s, err);
    if (!rc && cfg.tls) {
        rc = ccai_tls_ctx_new(cfg.tls_cert, cfg.tls_key, &s.tls, err);
        if (!rc)
            rc = check_cert_unchanged(&s, err);
    }
    if (!rc && cfg.auth)
        rc = open_accounts(&s, err);
    else if (cfg.admin_password)
        ccai_wipe(cfg.admin_password, strlen(cfg.admin_password));
    if (!rc)
        rc = ccai_sched_new(&s, cfg.parallel, cfg.queue_max, &s.sched, err);
    if (!rc)
        rc = start_http(&s, err);
    if (!rc) {
        announce(&s);
        rc = ccai_http_server_run(s.http, err);
        if (!rc)
            fprintf(stderr, "ccai serve: stopped\n");
    }

    /* Shutdown: the loop has returned (streams still open are cancelled);
     * workers go first, since they hold stream handles and the engines. */
    if (s.sched)
        ccai_sched_free(s.sched);
    ccai_auth_free(&s);
    ccai_api_models_free(&s); /* pulls in flight call into s.http */
    ccai_api_attest_free(&s); /* so do quotes being made */
    ccai_http_server_free(s.http);
    ccai_accounts_close(s.acc);
    ccai_models_free(&s);
    ccai_tls_free(s.tls);
    json_decref(s.collateral);
    json_decref(s.config_event);
    tee_provider_close(s.tee);
    if (s.access_log && s.access_log != stderr)
        fclose(s.access_log);
    pthread_mutex_destroy(&s.lock);
    return rc;
}
