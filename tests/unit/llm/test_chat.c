/* Tests for src/llm/chat.c: the exact prompt text of every format for one
 * conversation (system, user, an assistant answer with reasoning, user,
 * generation prompt) and for edge cases; detection from representative
 * template snippets and from a real model without a template; format
 * names; stop strings; the streaming stop matcher across every chunk split. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "llm/chat.h"
#include "llm/gguf.h"

static const llm_chat_msg CONVO[] = {
    {"system", "You are terse."},
    {"user", "What is 2+2?"},
    {"assistant", "<think>\nSimple sum.\n</think>\n\n4"},
    {"user", "And 3+3?"},
};
#define N_CONVO (sizeof CONVO / sizeof CONVO[0])

static void check_render(llm_chat_format f, const llm_chat_msg *m, size_t n, bool gen,
                         const char *bos, const char *eos, const char *want)
{
    char *s = llm_chat_render(f, m, n, gen, bos, eos);
    assert_string_equal(s, want);
    free(s);
}

static void test_render_deepseek(void **state)
{
    (void)state;
    check_render(LLM_CHAT_DEEPSEEK_R1, CONVO, N_CONVO, true, "<｜begin▁of▁sentence｜>", NULL,
                 "<｜begin▁of▁sentence｜>You are terse.<｜User｜>What is 2+2?<｜Assistant｜>4"
                 "<｜end▁of▁sentence｜><｜User｜>And 3+3?<｜Assistant｜><think>\n");
    /* No BOS text, an explicit EOS text, no generation prompt. */
    check_render(LLM_CHAT_DEEPSEEK_R1, CONVO + 1, 2, false, NULL, "[EOS]",
                 "<｜User｜>What is 2+2?<｜Assistant｜>4[EOS]");
    /* Several system messages are joined; an unknown role reads as user. */
    const llm_chat_msg m[] = {{"system", "A."}, {"tool", "42"}, {"system", "B."}};
    check_render(LLM_CHAT_DEEPSEEK_R1, m, 3, true, "<s>", NULL,
                 "<s>A.\n\nB.<｜User｜>42<｜Assistant｜><think>\n");
}

static void test_render_llama3(void **state)
{
    (void)state;
    check_render(LLM_CHAT_LLAMA3, CONVO, N_CONVO, true, "<|begin_of_text|>", NULL,
                 "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse."
                 "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n");
    /* Content is trimmed, as the reference template does. */
    const llm_chat_msg m[] = {{"user", "  hi \n"}};
    check_render(LLM_CHAT_LLAMA3, m, 1, false, NULL, NULL,
                 "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>");
}

static void test_render_chatml(void **state)
{
    (void)state;
    check_render(LLM_CHAT_CHATML, CONVO, N_CONVO, true, "<ignored>", NULL,
                 "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is 2+2?"
                 "<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?"
                 "<|im_end|>\n<|im_start|>assistant\n");
    const llm_chat_msg m[] = {{"tool", NULL}};
    check_render(LLM_CHAT_CHATML, m, 1, false, NULL, NULL, "<|im_start|>tool\n<|im_end|>\n");
    check_render(LLM_CHAT_CHATML, NULL, 0, true, NULL, NULL, "<|im_start|>assistant\n");
}

static void test_render_llama2(void **state)
{
    (void)state;
    check_render(LLM_CHAT_LLAMA2, CONVO, N_CONVO, true, "<s>", "</s>",
                 "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nWhat is 2+2? [/INST] 4 </s>"
                 "<s>[INST] And 3+3? [/INST]");
    /* Without a system message; default EOS text; no BOS text. */
    check_render(LLM_CHAT_LLAMA2, CONVO + 1, 3, true, NULL, NULL,
                 "[INST] What is 2+2? [/INST] 4 </s>[INST] And 3+3? [/INST]");
    /* A system message with no user turn before the answer. */
    const llm_chat_msg m[] = {{"system", "Be kind."}, {"assistant", "Hello!"}};
    check_render(LLM_CHAT_LLAMA2, m, 2, false, "<s>", "</s>",
                 "<s>[INST] <<SYS>>\nBe kind.\n<</SYS>> [/INST] Hello! </s>");
    check_render(LLM_CHAT_LLAMA2, m, 1, true, "<s>", "</s>",
                 "<s>[INST] <<SYS>>\nBe kind.\n<</SYS>> [/INST]");
}

static void test_render_none(void **state)
{
    (void)state;
    check_render(LLM_CHAT_NONE, CONVO, N_CONVO, true, "<s>", "</s>",
                 "You are terse.\nWhat is 2+2?\n4\nAnd 3+3?");
    const llm_chat_msg m[] = {{"user", "Once upon a time"}};
    check_render(LLM_CHAT_NONE, m, 1, true, NULL, NULL, "Once upon a time");
    assert_true(llm_chat_uses_bos(LLM_CHAT_DEEPSEEK_R1));
    assert_true(llm_chat_uses_bos(LLM_CHAT_LLAMA3));
    assert_true(llm_chat_uses_bos(LLM_CHAT_LLAMA2));
    assert_false(llm_chat_uses_bos(LLM_CHAT_CHATML));
    assert_false(llm_chat_uses_bos(LLM_CHAT_NONE));
}

/* Short but representative pieces of the real templates. */
static const char TMPL_DEEPSEEK[] =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}"
    "{% endif %}{{bos_token}}{{ns.system_prompt}}{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{{'<｜User｜>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}{{'<｜Assistant｜>' + content + "
    "'<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}"
    "{% if add_generation_prompt %}{{'<｜Assistant｜><think>\\n'}}{% endif %}";
static const char TMPL_LLAMA3[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
    "message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}";
static const char TMPL_CHATML[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
static const char TMPL_LLAMA2[] =
    "{% for message in loop_messages %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}"
    "{% endif %}{% endfor %}";

static void test_detect(void **state)
{
    (void)state;
    assert_int_equal(llm_chat_detect(TMPL_DEEPSEEK), LLM_CHAT_DEEPSEEK_R1);
    assert_int_equal(llm_chat_detect(TMPL_LLAMA3), LLM_CHAT_LLAMA3);
    assert_int_equal(llm_chat_detect(TMPL_CHATML), LLM_CHAT_CHATML);
    assert_int_equal(llm_chat_detect(TMPL_LLAMA2), LLM_CHAT_LLAMA2);
    assert_int_equal(llm_chat_detect(NULL), LLM_CHAT_NONE);
    assert_int_equal(llm_chat_detect(""), LLM_CHAT_NONE);
    assert_int_equal(llm_chat_detect("{{ messages[0]['content'] }}"), LLM_CHAT_NONE);
    /* ASCII look-alikes of the DeepSeek markers are not DeepSeek. */
    assert_int_equal(llm_chat_detect("<|User|> <|Assistant|>"), LLM_CHAT_NONE);
}

static void test_detect_real_model(void **state)
{
    (void)state;
    const char *path = tu_shared_path("models/stories260K.gguf");
    TU_SKIP_IF_NO_SHARED(path);
    gguf_file *f = NULL;
    ccai_err err = {0};
    assert_int_equal(gguf_open(path, &f, &err), CCAI_OK);
    gguf_str s;
    char *tmpl = NULL;
    if (gguf_get_str(f, "tokenizer.chat_template", &s, NULL) == CCAI_OK)
        tmpl = gguf_strdup(s);
    assert_null(tmpl); /* stories260K has no template */
    assert_int_equal(llm_chat_detect(tmpl), LLM_CHAT_NONE);
    gguf_close(f);
}

static void test_names(void **state)
{
    (void)state;
    const char *names[] = {"deepseek-r1", "llama3", "chatml", "llama2", "none"};
    const llm_chat_format fmts[] = {LLM_CHAT_DEEPSEEK_R1, LLM_CHAT_LLAMA3, LLM_CHAT_CHATML,
                                    LLM_CHAT_LLAMA2, LLM_CHAT_NONE};
    for (size_t i = 0; i < 5; i++) {
        llm_chat_format f = LLM_CHAT_NONE;
        assert_int_equal(llm_chat_format_parse(names[i], &f, NULL), CCAI_OK);
        assert_int_equal(f, fmts[i]);
        assert_string_equal(llm_chat_format_name(fmts[i]), names[i]);
    }
    ccai_err err = {0};
    llm_chat_format f;
    assert_int_equal(llm_chat_format_parse("Llama3", &f, &err), CCAI_ERR_ARG);
    assert_string_equal(err.msg, "chat format \"Llama3\" unknown (expected deepseek-r1, llama3, "
                                 "chatml, llama2 or none)");
    assert_int_equal(llm_chat_format_parse(NULL, &f, &err), CCAI_ERR_ARG);
    assert_string_equal(llm_chat_format_name((llm_chat_format)99), "unknown");
}

static void test_stop_strings(void **state)
{
    (void)state;
    const char *const *s = llm_chat_stop_strings(LLM_CHAT_DEEPSEEK_R1);
    assert_string_equal(s[0], "<｜end▁of▁sentence｜>");
    assert_string_equal(s[1], "<｜User｜>");
    assert_string_equal(s[2], "<｜Assistant｜>");
    assert_null(s[3]);
    s = llm_chat_stop_strings(LLM_CHAT_LLAMA3);
    assert_string_equal(s[0], "<|eot_id|>");
    assert_string_equal(s[1], "<|start_header_id|>");
    assert_null(s[2]);
    s = llm_chat_stop_strings(LLM_CHAT_CHATML);
    assert_string_equal(s[0], "<|im_end|>");
    assert_string_equal(s[1], "<|im_start|>");
    assert_null(s[2]);
    s = llm_chat_stop_strings(LLM_CHAT_LLAMA2);
    assert_string_equal(s[0], "</s>");
    assert_string_equal(s[1], "[INST]");
    assert_null(s[2]);
    assert_null(llm_chat_stop_strings(LLM_CHAT_NONE)[0]);
}

/* Feeds text cut at i and j; returns what was released (flushed at the end
 * when no stop string came). */
static char *stop_run(const char *const *fmt, const char *const *extra, size_t n_extra,
                      const char *text, size_t i, size_t j, llm_stop_matcher *m)
{
    llm_stop_init(m, fmt, extra, n_extra);
    ccai_buf out = {0};
    size_t len = strlen(text);
    size_t got = llm_stop_feed(m, text, i, &out);
    got += llm_stop_feed(m, text + i, j - i, &out);
    got += llm_stop_feed(m, text + j, len - j, &out);
    /* Every release ends on a character boundary. */
    assert_int_equal(got, out.len);
    got += llm_stop_flush(m, &out);
    assert_int_equal(got, out.len);
    ccai_buf_u8(&out, 0);
    return (char *)ccai_buf_steal(&out, NULL);
}

static void test_stop_every_split(void **state)
{
    (void)state;
    const char *text = "The answer is 4 ✓.<|im_end|>\n<|im_start|>user";
    size_t len = strlen(text);
    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i; j <= len; j++) {
            llm_stop_matcher m;
            char *out = stop_run(llm_chat_stop_strings(LLM_CHAT_CHATML), NULL, 0, text, i, j, &m);
            assert_string_equal(out, "The answer is 4 ✓.");
            assert_true(m.hit);
            assert_int_equal(m.hit_index, 0);
            assert_int_equal(m.hit_offset, strlen("The answer is 4 ✓."));
            free(out);
            llm_stop_free(&m);
        }
    }
}

static void test_stop_matcher(void **state)
{
    (void)state;
    llm_stop_matcher m;
    ccai_buf out = {0};
    /* A held partial stop string is released when it turns out not to be one. */
    llm_stop_init(&m, llm_chat_stop_strings(LLM_CHAT_CHATML), NULL, 0);
    assert_int_equal(llm_stop_feed(&m, "Hello<|im_", 10, &out), 5);
    assert_int_equal(llm_stop_feed(&m, "p", 1, &out), 6);
    assert_int_equal(out.len, 11);
    assert_int_equal(llm_stop_feed(&m, "<|im", 4, &out), 0);
    assert_int_equal(llm_stop_flush(&m, &out), 4);
    assert_memory_equal(out.data, "Hello<|im_p<|im", 15);
    assert_false(m.hit);
    llm_stop_free(&m);

    /* Caller stop strings; empty ones are ignored; nothing after a hit. */
    const char *extra[] = {"", "\n\n", NULL};
    out.len = 0;
    llm_stop_init(&m, NULL, extra, 3);
    assert_int_equal(m.n_stops, 1);
    assert_int_equal(llm_stop_feed(&m, "Line1\n", 6, &out), 5);
    assert_int_equal(llm_stop_feed(&m, "\nLine2", 6, &out), 0);
    assert_true(m.hit);
    assert_int_equal(m.hit_index, 0);
    assert_int_equal(m.hit_offset, 5);
    assert_int_equal(llm_stop_feed(&m, "more", 4, &out), 0);
    assert_int_equal(llm_stop_flush(&m, &out), 0);
    assert_int_equal(out.len, 5);
    llm_stop_free(&m);

    /* The earliest stop string wins, then the longest at the same place. */
    const char *two[] = {"bc", "abcd", "ab"};
    out.len = 0;
    llm_stop_init(&m, NULL, two, 3);
    assert_int_equal(llm_stop_feed(&m, "xabcd", 5, &out), 1);
    assert_true(m.hit);
    assert_int_equal(m.hit_index, 1);
    llm_stop_free(&m);

    /* A split character waits for its last byte. */
    out.len = 0;
    llm_stop_init(&m, llm_chat_stop_strings(LLM_CHAT_LLAMA3), NULL, 0);
    assert_int_equal(llm_stop_feed(&m, "caf\xc3", 4, &out), 3);
    assert_int_equal(llm_stop_feed(&m, "\xa9", 1, &out), 2);
    /* Format and caller strings together. */
    llm_stop_free(&m);
    const char *user[] = {"END"};
    out.len = 0;
    llm_stop_init(&m, llm_chat_stop_strings(LLM_CHAT_LLAMA3), user, 1);
    assert_int_equal(m.n_stops, 3);
    assert_int_equal(llm_stop_feed(&m, "abc EN", 6, &out), 4);
    assert_int_equal(llm_stop_feed(&m, "D<|eot_id|>", 11, &out), 0);
    assert_true(m.hit);
    assert_int_equal(m.hit_index, 2);
    assert_int_equal(m.hit_offset, 4);
    llm_stop_free(&m);
    ccai_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_deepseek), cmocka_unit_test(test_render_llama3),
        cmocka_unit_test(test_render_chatml),   cmocka_unit_test(test_render_llama2),
        cmocka_unit_test(test_render_none),     cmocka_unit_test(test_detect),
        cmocka_unit_test(test_detect_real_model), cmocka_unit_test(test_names),
        cmocka_unit_test(test_stop_strings),    cmocka_unit_test(test_stop_every_split),
        cmocka_unit_test(test_stop_matcher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
