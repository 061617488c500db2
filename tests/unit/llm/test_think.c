/* Tests for src/llm/think.c: the reasoning splitter gives the same thinking
 * and content for every way of chunking a stream (every single split point,
 * every pair of split points, byte by byte), never ends a piece inside a
 * UTF-8 character, handles starts_in_thinking, output without tags, an
 * unterminated reasoning section and tag text after the answer began; and
 * llm_strip_think / llm_utf8_complete_len. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "llm/think.h"

typedef struct split_result {
    char *thinking;
    char *content;
} split_result;

static char *buf_str(ccai_buf *b)
{
    ccai_buf_u8(b, 0);
    return (char *)ccai_buf_steal(b, NULL);
}

/* Asserts that both outputs end on a character boundary. */
static void check_boundaries(const ccai_buf *th, const ccai_buf *co)
{
    assert_int_equal(llm_utf8_complete_len((const char *)th->data, th->len), th->len);
    assert_int_equal(llm_utf8_complete_len((const char *)co->data, co->len), co->len);
}

/* Feeds text cut at the given offsets (ascending, within the text). */
static split_result run_split(const char *text, bool starts, const size_t *cuts, size_t n_cuts)
{
    llm_think t;
    llm_think_init(&t, starts);
    ccai_buf th = {0}, co = {0};
    size_t len = strlen(text), prev = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        llm_think_feed(&t, text + prev, end - prev, &th, &co);
        check_boundaries(&th, &co);
        prev = end;
    }
    llm_think_flush(&t, &th, &co);
    split_result r = {buf_str(&th), buf_str(&co)};
    return r;
}

static void free_result(split_result *r)
{
    free(r->thinking);
    free(r->content);
}

/* One piece, every single cut, every pair of cuts, byte by byte: all must
 * give want_thinking / want_content. */
static void check_all_splits(const char *text, bool starts, const char *want_thinking,
                             const char *want_content)
{
    size_t len = strlen(text);
    split_result r = run_split(text, starts, NULL, 0);
    assert_string_equal(r.thinking, want_thinking);
    assert_string_equal(r.content, want_content);
    free_result(&r);
    for (size_t i = 0; i <= len; i++) {
        r = run_split(text, starts, &i, 1);
        assert_string_equal(r.thinking, want_thinking);
        assert_string_equal(r.content, want_content);
        free_result(&r);
        for (size_t j = i; j <= len; j++) {
            size_t cuts[2] = {i, j};
            r = run_split(text, starts, cuts, 2);
            assert_string_equal(r.thinking, want_thinking);
            assert_string_equal(r.content, want_content);
            free_result(&r);
        }
    }
    size_t *every = malloc((len + 1) * sizeof *every);
    for (size_t i = 0; i < len; i++)
        every[i] = i;
    r = run_split(text, starts, every, len);
    assert_string_equal(r.thinking, want_thinking);
    assert_string_equal(r.content, want_content);
    free_result(&r);
    free(every);
}

static void test_sample_every_split(void **state)
{
    (void)state;
    /* é is 2 bytes, ✓ 3, 😀 4: cuts fall inside each of them. */
    check_all_splits("<think>\nCafé: 2+2=4 ✓. </think>\n\nThe answer is **4** 😀.", false,
                     "Café: 2+2=4 ✓.", "The answer is **4** 😀.");
    /* Leading blank lines before the tag are dropped too. */
    check_all_splits("\n <think>a < b</thinking> c\n\n</think>  x\n", false,
                     "a < b</thinking> c", "x\n");
}

static void test_starts_in_thinking(void **state)
{
    (void)state;
    check_all_splits("Let me add.\n2+2 is 4.\n</think>\n\n**4**", true, "Let me add.\n2+2 is 4.",
                     "**4**");
    /* A model that writes the opening tag again anyway. */
    check_all_splits("\n<think>\nHmm.\n</think>\n\nYes.", true, "Hmm.", "Yes.");
    /* Reasoning cut short: everything is thinking. */
    check_all_splits("Step 1 ✓\nStep 2 ", true, "Step 1 ✓\nStep 2", "");
    /* A tag-like start that is not the tag is reasoning text. */
    check_all_splits("<thin air>\n</think>ok", true, "<thin air>", "ok");

    llm_think t;
    llm_think_init(&t, true);
    assert_true(llm_think_in_thinking(&t));
    ccai_buf th = {0}, co = {0};
    llm_think_feed(&t, "abc</think>", 11, &th, &co);
    assert_false(llm_think_in_thinking(&t));
    llm_think_flush(&t, &th, &co);
    ccai_buf_free(&th);
    ccai_buf_free(&co);
}

static void test_no_tags(void **state)
{
    (void)state;
    /* Without reasoning the answer keeps its leading white space. */
    check_all_splits("  Hello, wörld!\n", false, "", "  Hello, wörld!\n");
    /* Tags after the answer began are text. */
    check_all_splits("Use <think> and </think> tags.", false, "",
                     "Use <think> and </think> tags.");
    check_all_splits("<thinking>no</thinking>", false, "", "<thinking>no</thinking>");
    check_all_splits("<thin", false, "", "<thin");
    check_all_splits("   ", false, "", "   ");

    llm_think t;
    llm_think_init(&t, false);
    assert_false(llm_think_in_thinking(&t));
    ccai_buf th = {0}, co = {0};
    llm_think_flush(&t, &th, &co); /* nothing fed */
    assert_int_equal(th.len, 0);
    assert_int_equal(co.len, 0);
}

static void test_unterminated(void **state)
{
    (void)state;
    check_all_splits("<think>\nstill thinking... ", false, "still thinking...", "");
    check_all_splits("<think>a</thi", false, "a</thi", "");
    check_all_splits("<think>", false, "", "");
    check_all_splits("<think>\n\n</think>\n\n", false, "", "");
    /* An empty reasoning section (what Ollama's "think": false prompt gives). */
    check_all_splits("<think>\n\n</think>\n\nHi", false, "", "Hi");
}

static void test_utf8_held(void **state)
{
    (void)state;
    llm_think t;
    llm_think_init(&t, false);
    ccai_buf th = {0}, co = {0};
    llm_think_feed(&t, "ok \xe2\x9c", 5, &th, &co); /* ✓ without its last byte */
    assert_int_equal(co.len, 3);
    llm_think_feed(&t, "\x93", 1, &th, &co);
    assert_int_equal(co.len, 6);
    /* An incomplete character at the very end is flushed as received. */
    llm_think_feed(&t, "\xf0\x9f", 2, &th, &co);
    assert_int_equal(co.len, 6);
    llm_think_flush(&t, &th, &co);
    assert_int_equal(co.len, 8);
    assert_memory_equal(co.data, "ok \xe2\x9c\x93\xf0\x9f", 8);
    /* Invalid bytes are not held forever. */
    llm_think_init(&t, false);
    ccai_buf_free(&co);
    llm_think_feed(&t, "x\x80\x80\x80\x80", 5, &th, &co);
    assert_int_equal(co.len, 5);
    llm_think_free(&t);
    ccai_buf_free(&th);
    ccai_buf_free(&co);
}

static void test_utf8_complete_len(void **state)
{
    (void)state;
    assert_int_equal(llm_utf8_complete_len("", 0), 0);
    assert_int_equal(llm_utf8_complete_len("abc", 3), 3);
    assert_int_equal(llm_utf8_complete_len("a\xc3", 2), 1);
    assert_int_equal(llm_utf8_complete_len("a\xc3\xa9", 3), 3);
    assert_int_equal(llm_utf8_complete_len("a\xe2\x9c", 3), 1);
    assert_int_equal(llm_utf8_complete_len("\xf0\x9f\x98", 3), 0);
    assert_int_equal(llm_utf8_complete_len("\xf0\x9f\x98\x80", 4), 4);
    assert_int_equal(llm_utf8_complete_len("\x80\x80", 2), 2);
    assert_int_equal(llm_utf8_complete_len("a\xff", 2), 2);
}

static void check_strip(const char *in, const char *want)
{
    char *s = llm_strip_think(in);
    assert_string_equal(s, want);
    free(s);
}

static void test_strip_think(void **state)
{
    (void)state;
    check_strip("<think>\nreasoning\n</think>\n\nThe answer.", "The answer.");
    check_strip("reasoning only the prompt opened\n</think>\n\nAnswer", "Answer");
    check_strip("<think>a</think>b<think>c</think>\nd", "d");
    check_strip("<think>\ncut short", "");
    check_strip("Plain answer\n", "Plain answer\n");
    check_strip("", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_every_split), cmocka_unit_test(test_starts_in_thinking),
        cmocka_unit_test(test_no_tags),            cmocka_unit_test(test_unterminated),
        cmocka_unit_test(test_utf8_held),          cmocka_unit_test(test_utf8_complete_len),
        cmocka_unit_test(test_strip_think),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
