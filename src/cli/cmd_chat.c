/* `ccai chat URL`: attest first, send nothing unless it passes, then chat
 * over connections pinned to the attested TLS key (client/fetch.h). A
 * connection that presents another key is refused before the request is
 * sent; the server is then attested again, and the message is sent only if
 * that passes (a restarted server has a new key and new evidence; a
 * man in the middle cannot bind its key into a quote).
 *
 * One user message per input line (interactive on a terminal, or piped);
 * answers stream from /api/chat (NDJSON), the model's reasoning dimmed on a
 * terminal. The conversation lives only in this process and is wiped at
 * exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "base/mem.h"
#include "cli/attest_opts.h"
#include "cli/cli.h"
#include "client/fetch.h"

static const char chat_usage[] =
    "usage: ccai chat URL [--model M] [--api-key KEY] [verification options]\n"
    "\n"
    "Attests the server exactly like `ccai attest` and sends nothing unless that\n"
    "passes; then chats, one message per line of input, with every request\n"
    "pinned to the attested TLS key. Empty input or /exit ends the chat.\n"
    "\n"
    "  --model M            model to chat with (default: the server's first)\n"
    "  --num-predict N      tokens to generate per answer at most\n"
    "  --api-key KEY        API key (default $CCAI_API_KEY; prefer the variable:\n"
    "                       arguments are visible to other users)\n"
    "  --send-without-verification\n"
    "                       send even when attestation FAILS; a warning is\n"
    "                       printed with every message\n"
    CLI_ATTEST_OPTIONS_USAGE
    "\n"
    "Exit codes: 0 done; 2 attestation failed (nothing was sent); 1 other errors.\n";

enum { OPT_MODEL = CLI_ATTEST_OPT_END, OPT_API_KEY, OPT_OVERRIDE, OPT_NUM_PREDICT };

typedef struct chat {
    cli_attest_opts a;
    const char *model;
    long num_predict;        /* 0: the server's default */
    char *api_key;           /* owned, wiped */
    bool override, tty;
    ccai_attest_result att;
    char reason[1300];
    json_t *messages;        /* the conversation, wiped at exit */
} chat;

typedef struct stream_state {
    chat *c;
    ccai_buf line, answer;
    bool in_thinking, done;
    char error[512];
} stream_state;

static void print_piece(stream_state *s, const char *text, bool thinking)
{
    if (thinking && !s->c->tty)
        return; /* reasoning is shown on a terminal only */
    if (thinking != s->in_thinking && s->c->tty)
        fputs(thinking ? "\033[2m" : "\033[0m", stdout);
    s->in_thinking = thinking;
    fputs(text, stdout);
    fflush(stdout);
}

static void on_line(stream_state *s, const char *text, size_t len)
{
    json_t *j = NULL;
    if (ccai_json_parse(text, len, &j, NULL) != CCAI_OK)
        return;
    const char *e = json_string_value(json_object_get(j, "error"));
    if (e)
        snprintf(s->error, sizeof s->error, "%s", e);
    json_t *m = json_object_get(j, "message");
    const char *th = json_string_value(json_object_get(m, "thinking"));
    const char *ct = json_string_value(json_object_get(m, "content"));
    if (th && *th)
        print_piece(s, th, true);
    if (ct && *ct) {
        print_piece(s, ct, false);
        ccai_buf_append_str(&s->answer, ct);
    }
    if (json_is_true(json_object_get(j, "done")))
        s->done = true;
    json_decref(j);
}

static bool on_data(const char *data, size_t len, void *arg)
{
    stream_state *s = arg;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n') {
            ccai_buf_u8(&s->line, (uint8_t)data[i]);
            continue;
        }
        on_line(s, (const char *)s->line.data, s->line.len);
        ccai_wipe(s->line.data, s->line.len);
        s->line.len = 0;
    }
    return s->line.len < (1u << 20);
}

/* Attests; on failure prints the report on stderr. */
static bool attest(chat *c)
{
    json_decref(c->att.report);
    ccai_err err = {0};
    if (ccai_attest(&c->a.o, &c->att, &err)) {
        fprintf(stderr, "ccai chat: %s\n", err.msg);
        c->att.outcome = CCAI_ATTEST_REJECTED;
        snprintf(c->reason, sizeof c->reason, "%s", err.msg);
        return false;
    }
    if (c->att.outcome == CCAI_ATTEST_PASS) {
        fprintf(stderr, "ccai chat: attested %s%s\n", c->a.o.url,
                c->att.simulated      ? " -- SIMULATED TEE: NOT confidential"
                : !c->att.code_pinned ? " -- the policy pins no server binary: the TD may run "
                                        "any code"
                                      : "");
        return true;
    }
    cli_attest_print(stderr, &c->a.o, &c->att);
    if (!ccai_attest_reason(&c->att, c->reason, sizeof c->reason))
        snprintf(c->reason, sizeof c->reason, "attestation failed");
    return false;
}

static ccai_fetch_opts pinned(chat *c)
{
    /* With the override and a failed attestation there is nothing to pin:
     * the warning on every message says so. */
    bool ok = c->att.outcome == CCAI_ATTEST_PASS;
    return (ccai_fetch_opts){.pin_spki_sha256 = ok ? c->att.spki_sha256 : NULL,
                             .capture_spki = !ok, .bearer = c->api_key};
}

static ccai_code first_model(chat *c, char **out, ccai_err *err)
{
    char *url = ccai_url_join(c->a.o.url, "/api/tags");
    if (c->att.outcome != CCAI_ATTEST_PASS)
        fprintf(stderr, "WARNING: asking a server that FAILED attestation for its models (%s): "
                        "--send-without-verification\n", c->reason);
    ccai_fetch_opts fo = pinned(c);
    ccai_fetch_result fr;
    json_t *j = NULL;
    ccai_code rc = ccai_fetch("GET", url, NULL, 0, &fo, &fr, err);
    if (!rc) {
        const char *name = NULL;
        if (fr.status == 200 &&
            ccai_json_parse((const char *)fr.body.data, fr.body.len, &j, NULL) == CCAI_OK)
            name = json_string_value(
                json_object_get(json_array_get(json_object_get(j, "models"), 0), "name"));
        if (name) {
            *out = ccai_xstrdup(name);
        } else {
            char why[256];
            ccai_fetch_error_text(&fr, why, sizeof why);
            rc = ccai_fail(err, CCAI_ERR_NOT_FOUND, "/api/tags: HTTP %ld, no model: %s",
                           fr.status, why);
        }
        ccai_fetch_result_free(&fr);
    }
    json_decref(j);
    free(url);
    return rc;
}

/* One exchange; re-attests once when the pinned key is refused. */
static ccai_code send_message(chat *c, const char *model, ccai_err *err)
{
    json_t *req = json_pack("{s:s, s:O, s:b, s:b}", "model", model, "messages", c->messages,
                            "stream", 1, "think", 1);
    if (c->num_predict > 0)
        json_object_set_new(req, "options",
                            json_pack("{s:I}", "num_predict", (json_int_t)c->num_predict));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *url = ccai_url_join(c->a.o.url, "/api/chat");
    ccai_code rc = CCAI_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->att.outcome != CCAI_ATTEST_PASS)
            fprintf(stderr, "WARNING: sending to a server that FAILED attestation (%s): "
                            "--send-without-verification\n", c->reason);
        stream_state s = {.c = c};
        ccai_fetch_opts fo = pinned(c);
        fo.on_data = on_data;
        fo.arg = &s;
        ccai_fetch_result fr;
        rc = ccai_fetch("POST", url, body, strlen(body), &fo, &fr, err);
        if (!rc) {
            if (s.line.len)
                on_line(&s, (const char *)s.line.data, s.line.len);
            if (s.in_thinking && c->tty)
                fputs("\033[0m", stdout);
            putchar('\n');
            if (fr.status != 200 || s.error[0] || !s.done)
                rc = ccai_fail(err, CCAI_ERR_IO, "/api/chat: HTTP %ld%s%s", fr.status,
                               s.error[0] ? ": " : "", s.error[0] ? s.error : " (stream cut)");
            else
                json_array_append_new(c->messages,
                                      json_pack("{s:s, s:s%}", "role", "assistant", "content",
                                                (const char *)s.answer.data, s.answer.len));
            ccai_fetch_result_free(&fr);
        }
        ccai_wipe(s.answer.data, s.answer.len);
        ccai_buf_free(&s.answer);
        ccai_wipe(s.line.data, s.line.len);
        ccai_buf_free(&s.line);
        if (rc != CCAI_ERR_VERIFY || attempt > 0)
            break;
        /* Another key: refused before anything was sent. Attest again. */
        fprintf(stderr, "ccai chat: %s; attesting again\n", err->msg);
        if (!attest(c) && !c->override)
            break;
    }
    ccai_wipe(body, strlen(body));
    free(body);
    free(url);
    return rc;
}

static int chat_loop(chat *c)
{
    ccai_err err = {0};
    char *model = NULL;
    if (c->model) {
        model = ccai_xstrdup(c->model);
    } else if (first_model(c, &model, &err)) {
        fprintf(stderr, "ccai chat: %s\n", err.msg);
        return CLI_FAIL;
    }
    fprintf(stderr, "ccai chat: model %s; one message per line, empty line or /exit ends\n",
            model);
    char *line = NULL;
    size_t cap = 0;
    int rc = CLI_OK;
    for (;;) {
        if (c->tty)
            fputs(">>> ", stdout), fflush(stdout);
        ssize_t n = getline(&line, &cap, stdin);
        if (n <= 0)
            break;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || !strcmp(line, "/exit"))
            break;
        json_array_append_new(c->messages,
                              json_pack("{s:s, s:s%}", "role", "user", "content", line, (size_t)n));
        ccai_wipe(line, (size_t)n);
        if (send_message(c, model, &err)) {
            fprintf(stderr, "ccai chat: %s\n", err.msg);
            rc = err.code == CCAI_ERR_VERIFY || c->att.outcome != CCAI_ATTEST_PASS ? 2 : CLI_FAIL;
            if (!c->override && c->att.outcome != CCAI_ATTEST_PASS)
                break;
            json_array_remove(c->messages, json_array_size(c->messages) - 1);
        }
    }
    if (line)
        ccai_wipe(line, cap);
    free(line);
    free(model);
    return rc;
}

static void wipe_messages(json_t *msgs)
{
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        json_t *t = json_object_get(m, "content");
        if (json_is_string(t))
            ccai_wipe((void *)(uintptr_t)json_string_value(t), json_string_length(t));
    }
    json_decref(msgs);
}

static int cmd_chat(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_ATTEST_LONG_OPTIONS,
        {"model", required_argument, NULL, OPT_MODEL},
        {"api-key", required_argument, NULL, OPT_API_KEY},
        {"send-without-verification", no_argument, NULL, OPT_OVERRIDE},
        {"num-predict", required_argument, NULL, OPT_NUM_PREDICT},
        {NULL, 0, NULL, 0},
    };
    chat c;
    memset(&c, 0, sizeof c);
    cli_attest_opts_init(&c.a);
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        int rc = cli_attest_opt(&c.a, "chat", ch, optarg);
        if (rc > 0)
            return CLI_USAGE;
        if (rc == 0)
            continue;
        if (ch == OPT_MODEL)
            c.model = optarg;
        else if (ch == OPT_API_KEY)
            c.api_key = ccai_xstrdup(optarg);
        else if (ch == OPT_OVERRIDE)
            c.override = true;
        else if (ch == OPT_NUM_PREDICT) {
            char *end;
            c.num_predict = strtol(optarg, &end, 10);
            if (*end || c.num_predict < 1 || c.num_predict > 1 << 20)
                return cli_usage_error("chat", "--num-predict: expected 1..1048576, found '%s'",
                                       optarg);
        }
        else
            return cli_bad_option("chat", ch, argv);
    }
    if (optind != argc - 1)
        return cli_usage_error("chat", "%s", optind >= argc ? "missing the server URL"
                                                            : "expected one URL");
    c.a.o.url = argv[optind];
    if (!c.api_key && getenv("CCAI_API_KEY"))
        c.api_key = ccai_xstrdup(getenv("CCAI_API_KEY"));
    c.tty = isatty(STDOUT_FILENO);
    c.messages = json_array();
    int rc;
    if (!attest(&c) && !c.override) {
        fprintf(stderr, "ccai chat: not sending anything: %s\n", c.reason);
        rc = c.att.outcome == CCAI_ATTEST_NO_COLLATERAL ? 3 : 2;
    } else {
        rc = chat_loop(&c);
    }
    wipe_messages(c.messages);
    json_decref(c.att.report);
    if (c.api_key) {
        ccai_wipe(c.api_key, strlen(c.api_key));
        free(c.api_key);
    }
    return rc;
}

const cli_cmd cli_cmd_chat = {"chat", "attest a ccai server, then chat with it (pinned)",
                              cmd_chat, chat_usage};
