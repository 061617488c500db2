/* `ccai serve`: the confidential inference server (blueprint "The parts",
 * "Trust protocol", "Measured launch"). This header is the contract between
 * its rooms:
 *
 *   serve.c       start-up: TEE provider, measured launch (binary, effective
 *                 configuration, each model -> RTMR3 events before use), TLS
 *                 key born in memory, accounts, routes; graceful SIGTERM
 *   models.c      the model registry: name, path, SHA-256, size, details;
 *                 loading (measured first) and lookup by Ollama-style name
 *   sched.c       the scheduler: --parallel N sequences sharing each loaded
 *                 model's weights, a bounded queue beyond that (then 503 with
 *                 Retry-After), cancellation when the client goes away
 *   api_ollama.c  /api/chat, /api/generate, /api/tags, /api/show, /api/ps,
 *                 /api/version
 *   api_openai.c  /v1/chat/completions, /v1/models
 *   api_attest.c  /api/attestation (GET and POST, ccai-attest/1 evidence,
 *                 rate-limited per client), /api/attestation/config
 *   auth.c        Bearer API keys and session cookies (accounts.h), roles,
 *                 /api/login, /api/logout, admin endpoints
 *   ratelimit.c   per-client token buckets (attestation quotes, logins)
 *
 * Route handlers run on the HTTP loop thread; generation runs on scheduler
 * workers and streams back through ccai_http_stream (thread-safe). Nothing
 * logs or stores prompt or completion text; the access log has method, path,
 * status, duration, user id and token counts only. */
#ifndef CCAI_SERVER_SERVER_H
#define CCAI_SERVER_SERVER_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "base/err.h"
#include "llm/engine.h"
#include "net/http.h"
#include "net/tls.h"
#include "server/accounts.h"
#include "tee/provider.h"

#define CCAI_SERVER_VERSION_API "0.6.0" /* the Ollama API version we answer like */

typedef struct ccai_server_config {
    const char *listen;           /* default "127.0.0.1:11434" */
    const char *state_dir;
    const char *tee;              /* auto | tdx | sim */
    const char *const *models;    /* model paths, n_models of them */
    const char *const *model_names; /* NULL, or a name per model (NULL: from the path) */
    size_t n_models;
    int threads;                  /* 0 = cores */
    uint32_t n_ctx;               /* 0 = model's, at most 4096 */
    int parallel;                 /* sequences generating at once (default 1) */
    int queue_max;                /* requests waiting beyond that (default 16) */
    bool tls;                     /* default on; off only on loopback */
    const char *tls_cert, *tls_key;
    bool auth;                    /* default on; off only on loopback */
    /* The first admin's password (the CLI reads it from $CCAI_ADMIN_PASSWORD
     * or the variable --admin-password-env names); NULL: generated and
     * printed once. Writable: ccai_serve wipes it as soon as the accounts
     * are bootstrapped. Never measured, never logged. */
    char *admin_password;
    const char *verifier_url;     /* for /api/attestation/config */
    const char *policy_id;
    const char *collateral;       /* bundle file to attach to evidence (sim: generated) */
    const char *kernels;          /* NULL = auto */
    size_t max_body_bytes;        /* default 4 MiB */
    int max_tokens;               /* cap on num_predict / max_tokens (default 4096) */
    int request_timeout_s;        /* generation wall-clock limit (default 600) */
    int attest_per_minute;        /* quotes per client per minute (default 30) */
    const char *access_log;       /* file the access log is appended to; NULL: stderr */
    bool sim_debug;               /* --tee sim only: a debug TD (relying-party tests) */
    /* --store-models: also offer every model of the model store (and of an
     * Ollama store); each is hashed and measured only before its first use. */
    bool store_models;
} ccai_server_config;

/* A model the server can serve. */
typedef struct ccai_model {
    char *name;                   /* "stories260K:latest" (file stem + ":latest") */
    char *path;
    uint8_t sha256[32];           /* of the GGUF file: its identity (blueprint) */
    uint64_t size;
    time_t modified;
    char *family, *parameter_size, *quantization; /* /api/tags details */
    llm_engine *engine;           /* loaded (measured first), or NULL */
    bool measured;
    /* sha256 was computed from the file. False for a store model offered
     * lazily: sha256 is then the manifest's digest, and the first load
     * hashes the file and refuses it unless they agree. */
    bool hashed;
    /* The file as hashed, open read-only from ccai_models_add until
     * ccai_models_free: the engine loads this very file (through
     * /proc/self/fd), never whatever the path names later. */
    int fd;
    int64_t mtime_ns;             /* at hashing time; a changed file is refused */
} ccai_model;

typedef struct ccai_sched ccai_sched;

typedef struct ccai_server {
    const ccai_server_config *cfg;
    tee_provider *tee;
    ccai_tls *tls;                /* NULL with --tls off */
    ccai_accounts *acc;           /* NULL with --auth off */
    ccai_http_server *http;
    ccai_sched *sched;
    ccai_model *models;
    size_t n_models;
    pthread_mutex_t lock;         /* guards models[] loading (rate limiters lock themselves) */
    json_t *collateral;           /* attached to evidence, or NULL */
    json_t *config_event;         /* the measured effective configuration */
    time_t started;
    FILE *access_log;             /* stderr by default */
    void *attest_limiter;         /* api_attest.c's per-client state */
    tee_config tee_cfg;           /* what tee was opened with (sim collateral) */
    time_t collateral_at;         /* when a generated collateral was made; 0: from a file */
    void *auth_state;             /* auth.c's state (login limiter, workers) */
    void *models_state;           /* api_models.c's state (pulls in flight) */
} ccai_server;

/* serve.c */
/* serve's defaults (what `ccai serve` with no options runs with): TLS and
 * auth on, listen 127.0.0.1:11434, tee auto, one sequence, ... */
void ccai_server_config_init(ccai_server_config *cfg);
ccai_code ccai_serve(const ccai_server_config *cfg, ccai_err *err);
/* The effective configuration as measured (every behaviour-changing setting,
 * secrets excluded); the caller owns the result. */
json_t *ccai_server_config_json(const ccai_server_config *cfg);
/* True when every address the host of listen ("HOST:PORT", "[::1]:PORT")
 * resolves to is a loopback address: the only place --tls off and --auth off
 * are allowed. */
bool ccai_listen_is_loopback(const char *listen);

/* launch.c: the data of the measured launch's events, shared with
 * `ccai measure` so its prediction is exact. */
/* "dir/stories260K.gguf" -> "stories260K:latest" (caller frees). */
char *ccai_model_name_from_path(const char *path);
/* ccai.model {name, sha256 (hex), size}; the caller owns the result. */
json_t *ccai_launch_model_data(const char *name, const uint8_t sha256[32], uint64_t size);
/* ccai.binary {path: shown_path, sha256 and size of the file open_path}. */
ccai_code ccai_launch_binary_data(const char *shown_path, const char *open_path, json_t **out,
                                  ccai_err *err);

/* models.c */
/* Opens a readable GGUF file, reads its details, hashes it and registers it
 * as "<file stem>:latest" (a name already taken is refused). Start-up, or
 * the loop thread. */
ccai_code ccai_models_add(ccai_server *s, const char *path, ccai_err *err);
/* The same under a given name (a store name; NULL: from the path). */
ccai_code ccai_models_add_named(ccai_server *s, const char *path, const char *name,
                                ccai_err *err);
/* The two halves of an add, for models pulled while serving: open, read
 * details and hash on any thread (no server state), then insert on the loop
 * thread (takes *m over on success; a taken name or a full table is
 * refused). models[] holds at most CCAI_MODELS_MAX and never moves. */
enum { CCAI_MODELS_MAX = 64 };
ccai_code ccai_model_open(const char *path, const char *name, ccai_model *out, ccai_err *err);
ccai_code ccai_models_insert(ccai_server *s, ccai_model *m, ccai_err *err);
/* Registers a store model without hashing it (start-up): details from the
 * GGUF header, sha256 = the digest its manifest claims, checked against the
 * file by the first ccai_models_load before it is measured. */
ccai_code ccai_models_add_lazy(ccai_server *s, const char *path, const char *name,
                               const uint8_t manifest_sha256[32], ccai_err *err);
/* Frees what a ccai_model holds (engine, strings, fd); the struct is zeroed. */
void ccai_model_release(ccai_model *m);
/* family, parameter_size, quantization from a GGUF header (also `ccai list`). */
struct gguf_file;
void ccai_model_read_details(ccai_model *m, const struct gguf_file *f);
/* By "name", "name:tag" or the file path; NULL when absent. */
ccai_model *ccai_models_find(ccai_server *s, const char *name);
/* Measures (RTMR3 event ccai.model {name, sha256, size}) then loads the
 * engine, once; thread-safe. */
ccai_code ccai_models_load(ccai_server *s, ccai_model *m, ccai_err *err);
void ccai_models_free(ccai_server *s);

/* sched.c: one generation request. Callbacks run on a worker thread. */
typedef struct ccai_job {
    ccai_model *model;
    int32_t *prompt;              /* owned by the job */
    size_t n_prompt;
    llm_gen_params params;
    char **stop;                  /* owned extra stop strings */
    size_t n_stop;
    llm_emit_fn emit;             /* text as produced; false cancels */
    /* Called once at the end (also on error: err set) from the worker. */
    void (*done)(struct ccai_job *job, const llm_gen_stats *st, const ccai_err *err);
    void *arg;
    ccai_http_stream *stream;     /* cancellation: ccai_http_stream_cancelled (NULL: none) */
    uint64_t enqueued_ns;
    /* Optional (sched.c): runs on the worker once the model's engine is
     * loaded (ccai_models_load, first use), before generation, to fill
     * prompt/n_prompt and adjust params (starts_in_thinking). Tokenizing
     * there keeps the loop thread free. An error ends the job: done gets it. */
    ccai_code (*prepare)(struct ccai_job *job, llm_engine *e, ccai_err *err);
    /* Who asked (user id, 0 anonymous). A worker's session reuses its cached
     * prompt prefix only for the same owner, so one user cannot time another
     * user's prompts through the KV cache. */
    int64_t owner;
} ccai_job;

/* parallel workers (each with one llm_session per model it has served,
 * n_ctx = s->cfg->n_ctx), FIFO, at most queue_max jobs waiting beyond the
 * running ones. Free with ccai_sched_free before the models' engines. */
ccai_code ccai_sched_new(ccai_server *s, int parallel, int queue_max, ccai_sched **out,
                         ccai_err *err);
/* Takes ownership of job on success: done is then called exactly once, on a
 * worker (or from ccai_sched_free for a job still queued, with err set), with
 * st never NULL (zeroed, done_reason "cancel", when nothing ran); after done
 * returns the scheduler frees the job with ccai_job_free (job->arg stays the
 * caller's: free it in done). A generation stops ("cancel") when job->stream
 * reports the client gone, and stops with done_reason "length" at the
 * cfg->request_timeout_s wall-clock limit. CCAI_ERR_BUSY when the queue is
 * full (the handler answers 503 with Retry-After); on any error the caller
 * still owns job. */
ccai_code ccai_sched_submit(ccai_sched *q, ccai_job *job, ccai_err *err);
/* True when a submit now would be refused with CCAI_ERR_BUSY; fills the
 * counts for the 503 message (either may be NULL). Handlers (loop thread)
 * are the only submitters and workers only drain the queue, so a false
 * answer holds until the handler's own submit: it may start its stream,
 * then submit. */
bool ccai_sched_full(ccai_sched *q, int *running, int *queued);
/* Sequences generating now and requests waiting (for /api/ps). */
void ccai_sched_stats(ccai_sched *q, int *running, int *queued);
void ccai_sched_free(ccai_sched *q); /* cancels queued jobs, joins workers */
/* Wipes and frees prompt and stop strings, then job; not job->arg. NULL is
 * a no-op. */
void ccai_job_free(ccai_job *job);

/* Route registration (each api_*.c / auth.c). */
ccai_code ccai_api_ollama_register(ccai_server *s, ccai_err *err);
ccai_code ccai_api_openai_register(ccai_server *s, ccai_err *err);
ccai_code ccai_api_attest_register(ccai_server *s, ccai_err *err);
ccai_code ccai_auth_register(ccai_server *s, ccai_err *err);
ccai_code ccai_api_ui_register(ccai_server *s, ccai_err *err); /* api_ui.c: / and its assets */
/* Free what the matching register allocated (after the HTTP loop returned;
 * ccai_auth_free first waits for auth's worker threads). NULL state is fine. */
void ccai_api_attest_free(ccai_server *s);
void ccai_auth_free(ccai_server *s);
/* api_models.c: /api/pull (admin, streamed), /api/delete (admin). Free
 * cancels pulls in flight and joins them: call after the loop returned and
 * before ccai_http_server_free. */
ccai_code ccai_api_models_register(ccai_server *s, ccai_err *err);
void ccai_api_models_free(ccai_server *s);

/* auth.c: the caller of a request. With --auth off every caller is an
 * anonymous admin. Answers 401/403 itself (and writes that request's access
 * log line) and returns false when the request must stop here. Roles are
 * ordered by privilege: CCAI_ROLE_ADMIN (1) passes where min_role is
 * CCAI_ROLE_USER (2), not the other way round. */
bool ccai_auth_require(ccai_server *s, ccai_http_req *req, int min_role, ccai_user *who);

/* ratelimit.c: token buckets keyed by client address (IPv6 addresses by
 * their /64, so one host cannot dodge the limit by rotating addresses).
 * Each client may take `burst` at once and gets per_minute back per minute.
 * Thread-safe; the table is bounded (4096 clients): idle clients are
 * forgotten first, and when none is idle, new clients share one bucket. */
typedef struct ccai_ratelimit ccai_ratelimit;
ccai_ratelimit *ccai_ratelimit_new(double per_minute, double burst);
/* True when the client may go ahead (one token taken); otherwise false with
 * *retry_after_s (>= 1) until a token is back. now_ns: a monotonic clock. */
bool ccai_ratelimit_take(ccai_ratelimit *rl, const char *client, uint64_t now_ns,
                         int *retry_after_s);
void ccai_ratelimit_free(ccai_ratelimit *rl);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ccai_now_ns(void);

/* The access log line (no content): method, path, status, duration, user,
 * prompt/eval token counts (-1 when not applicable). */
void ccai_access_log(ccai_server *s, const char *method, const char *path, int status,
                     uint64_t duration_ns, int64_t user_id, long prompt_tokens,
                     long eval_tokens);

#endif
