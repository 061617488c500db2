/* The engine and its generation loop: see engine.h. */
#include "llm/engine.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "llm/think.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char *model_name(const llm_model *m, const char *path)
{
    gguf_str s;
    if (gguf_get_str(m->file, "general.name", &s, NULL) == CCAI_OK && s.len)
        return gguf_strdup(s);
    const char *slash = strrchr(path, '/');
    return ccai_xstrdup(slash ? slash + 1 : path);
}

ccai_code llm_engine_open(const char *path, const llm_engine_opts *o, llm_engine **out,
                          ccai_err *err)
{
    static const llm_engine_opts defaults = {0};
    if (!o)
        o = &defaults;
    uint64_t t0 = now_ns();
    llm_engine *e = ccai_xcalloc(1, sizeof *e);
    ccai_code rc;
    if ((rc = llm_model_load(path, &e->model, err)))
        goto fail;
    if ((rc = llm_tokenizer_from_gguf(e->model->file, &e->tok, err))) {
        ccai_err_prefix(err, "%s", path);
        goto fail;
    }
    if (llm_vocab_size(e->tok) != e->model->hp.n_vocab) {
        rc = ccai_fail(err, CCAI_ERR_PARSE, "%s: the vocabulary has %zu tokens but the model %u",
                       path, llm_vocab_size(e->tok), e->model->hp.n_vocab);
        goto fail;
    }
    if (!(e->kernels = llm_kernels_get(o->kernels, err))) {
        rc = err ? err->code : CCAI_ERR_ARG;
        goto fail;
    }
    if (o->chat_format) {
        if ((rc = llm_chat_format_parse(o->chat_format, &e->chat, err)))
            goto fail;
    } else {
        gguf_str tmpl;
        char *t = NULL;
        if (gguf_get_str(e->model->file, "tokenizer.chat_template", &tmpl, NULL) == CCAI_OK)
            t = gguf_strdup(tmpl);
        e->chat = llm_chat_detect(t);
        free(t);
    }
    e->pool = llm_pool_new(o->n_threads);
    e->name = model_name(e->model, path);
    e->load_ns = now_ns() - t0;
    *out = e;
    return CCAI_OK;
fail:
    llm_engine_free(e);
    return rc;
}

void llm_engine_free(llm_engine *e)
{
    if (!e)
        return;
    llm_pool_free(e->pool);
    llm_tokenizer_free(e->tok);
    llm_model_free(e->model);
    free(e->name);
    free(e);
}

ccai_code llm_session_new(llm_engine *e, uint32_t n_ctx, llm_session **out, ccai_err *err)
{
    llm_session *s = ccai_xcalloc(1, sizeof *s);
    s->e = e;
    ccai_code rc = llm_ctx_new(e->model, n_ctx, e->pool, e->kernels, &s->ctx, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->cap = llm_ctx_n_ctx(s->ctx);
    s->tokens = ccai_xmalloc(s->cap * sizeof *s->tokens);
    *out = s;
    return CCAI_OK;
}

void llm_session_free(llm_session *s)
{
    if (!s)
        return;
    llm_ctx_free(s->ctx);
    free(s->tokens);
    free(s);
}

void llm_session_reset(llm_session *s)
{
    llm_ctx_reset(s->ctx);
    s->n_tokens = 0;
}

/* Evaluates tokens and records them as held by the KV cache. */
static ccai_code session_eval(llm_session *s, const int32_t *t, size_t n, const float **logits,
                              ccai_err *err)
{
    ccai_code rc = llm_ctx_eval(s->ctx, t, n, logits, err);
    if (rc)
        return rc;
    memcpy(s->tokens + s->n_tokens, t, n * sizeof *t);
    s->n_tokens += n;
    return CCAI_OK;
}

/* The text path after the detokenizer: stop strings, then reasoning split. */
typedef struct text_path {
    llm_stop_matcher stop;
    llm_think think;
    bool split;
    ccai_buf safe, thinking, content;
    llm_emit_fn emit;
    void *arg;
    bool cancelled;
} text_path;

static void deliver(text_path *tp, bool final)
{
    ccai_buf *src = &tp->safe;
    if (tp->split) {
        llm_think_feed(&tp->think, (const char *)src->data, src->len, &tp->thinking, &tp->content);
        if (final)
            llm_think_flush(&tp->think, &tp->thinking, &tp->content);
        if (tp->thinking.len && !tp->cancelled &&
            !tp->emit(tp->arg, (const char *)tp->thinking.data, tp->thinking.len, true))
            tp->cancelled = true;
        if (tp->content.len && !tp->cancelled &&
            !tp->emit(tp->arg, (const char *)tp->content.data, tp->content.len, false))
            tp->cancelled = true;
        tp->thinking.len = tp->content.len = 0;
    } else if (src->len && !tp->cancelled &&
               !tp->emit(tp->arg, (const char *)src->data, src->len, false)) {
        tp->cancelled = true;
    }
    src->len = 0;
}

ccai_code llm_generate(llm_session *s, const int32_t *prompt, size_t n_prompt,
                       const llm_gen_params *p, llm_emit_fn emit, void *arg,
                       llm_gen_stats *st, ccai_err *err)
{
    memset(st, 0, sizeof *st);
    st->n_prompt = n_prompt;
    if (n_prompt == 0)
        return ccai_fail(err, CCAI_ERR_ARG, "empty prompt: nothing to continue from");
    if (n_prompt >= s->cap)
        return ccai_fail(err, CCAI_ERR_ARG, "prompt of %zu tokens does not fit the context (%zu)",
                         n_prompt, s->cap);
    /* Reuse the longest cached prefix, but evaluate at least one token so
     * there are logits to sample from. */
    size_t keep = 0;
    while (keep < s->n_tokens && keep < n_prompt - 1 && s->tokens[keep] == prompt[keep])
        keep++;
    llm_ctx_rewind(s->ctx, (uint32_t)keep);
    s->n_tokens = keep;
    uint64_t t0 = now_ns();
    const float *logits = NULL;
    ccai_code rc = CCAI_OK;
    for (size_t at = keep; at < n_prompt && !rc;) {
        if (p->keep_going && !p->keep_going(arg)) {
            /* What was evaluated stays cached for a retry of this prompt. */
            st->prompt_ns = now_ns() - t0;
            st->done_reason = "cancel";
            return CCAI_OK;
        }
        size_t n = n_prompt - at < LLM_PROMPT_PIECE ? n_prompt - at : LLM_PROMPT_PIECE;
        rc = session_eval(s, prompt + at, n, &logits, err);
        at += n;
        st->n_prompt_eval += n;
    }
    if (rc)
        return rc;
    st->prompt_ns = now_ns() - t0;

    llm_engine *e = s->e;
    llm_sampler *smp = llm_sampler_new(&p->sampling, e->model->hp.n_vocab);
    text_path tp = {.split = p->split_think, .emit = emit, .arg = arg};
    llm_stop_init(&tp.stop, llm_chat_stop_strings(e->chat), p->stop, p->n_stop);
    llm_think_init(&tp.think, p->starts_in_thinking);
    llm_detok d;
    /* SPM text after BOS carries the space prefix only when the prompt
     * itself is just BOS (then the first generated word starts the text). */
    llm_detok_init(&d, e->tok, false);
    ccai_buf piece = {0};
    t0 = now_ns();
    st->done_reason = "length";
    for (int i = 0; p->n_predict < 0 || i < p->n_predict; i++) {
        int32_t id = llm_sampler_sample(smp, logits, s->tokens, s->n_tokens);
        if (llm_token_is_eog(e->tok, id)) {
            st->done_reason = "stop";
            break;
        }
        st->n_gen++;
        piece.len = 0;
        llm_detok_push(&d, id, &piece);
        llm_stop_feed(&tp.stop, (const char *)piece.data, piece.len, &tp.safe);
        deliver(&tp, false);
        if (tp.stop.hit) {
            st->done_reason = "stop";
            break;
        }
        if (tp.cancelled) {
            st->done_reason = "cancel";
            break;
        }
        if (s->n_tokens + 1 >= s->cap)
            break; /* context full: "length" */
        if (p->keep_going && !p->keep_going(arg)) {
            tp.cancelled = true;
            st->done_reason = "cancel";
            break;
        }
        if ((rc = session_eval(s, &id, 1, &logits, err)))
            break;
    }
    if (!rc && !tp.stop.hit && !tp.cancelled) {
        piece.len = 0;
        llm_detok_flush(&d, &piece);
        llm_stop_feed(&tp.stop, (const char *)piece.data, piece.len, &tp.safe);
        if (!tp.stop.hit)
            llm_stop_flush(&tp.stop, &tp.safe);
    }
    deliver(&tp, true);
    st->gen_ns = now_ns() - t0;
    ccai_buf_free(&piece);
    ccai_buf_free(&tp.safe);
    ccai_buf_free(&tp.thinking);
    ccai_buf_free(&tp.content);
    llm_stop_free(&tp.stop);
    llm_think_free(&tp.think);
    llm_sampler_free(smp);
    return rc;
}

ccai_code llm_chat_prompt(const llm_engine *e, const llm_chat_msg *msgs, size_t n,
                          int32_t **ids, size_t *n_ids, bool *starts_in_thinking,
                          ccai_err *err)
{
    const llm_tokenizer *t = e->tok;
    char *bos = NULL, *eos = NULL;
    size_t len;
    const char *txt;
    if (llm_token_bos(t) >= 0 && (txt = llm_token_text(t, llm_token_bos(t), &len)))
        bos = ccai_xstrndup(txt, len);
    if (llm_token_eos(t) >= 0 && (txt = llm_token_text(t, llm_token_eos(t), &len)))
        eos = ccai_xstrndup(txt, len);
    char *text = llm_chat_render(e->chat, msgs, n, true, bos, eos);
    /* A format that writes BOS itself gets no second one from the tokenizer. */
    bool add_bos = !llm_chat_uses_bos(e->chat) && llm_tokenizer_add_bos(t);
    size_t tl = strlen(text);
    *starts_in_thinking = tl >= 8 && !strcmp(text + tl - 8, "<think>\n");
    ccai_code rc = llm_tokenize(t, text, tl, add_bos, true, ids, n_ids, err);
    ccai_wipe(text, tl);
    free(text);
    free(bos);
    free(eos);
    return rc;
}
