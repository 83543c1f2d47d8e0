/* Pre-tokenizer splits. Expected pieces are worked out by hand from the
 * regex definitions (Hugging Face tokenizer.json / llama.cpp llama-vocab.cpp),
 * one regex alternative at a time; comments show the reasoning where it is
 * not obvious. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "tokenizer/pretok_types.h"
#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define MAX_PIECES 4096

static uint32_t rnd(void);

typedef struct pieces {
    size_t n;
    size_t start[MAX_PIECES];
    size_t len[MAX_PIECES];
    int overflow;
} pieces;

static void collect(void *user, size_t start, size_t len)
{
    pieces *p = user;
    if (p->n == MAX_PIECES) {
        p->overflow = 1;
        return;
    }
    p->start[p->n] = start;
    p->len[p->n] = len;
    p->n++;
}

static nt_pretok *make(const char *type)
{
    nt_pretok *p = NULL;
    nexttok_status st = nt_pretok_create(type, &p);
    cr_assert_eq(st, NEXTTOK_OK, "create %s: %s", type ? type : "(null)", nexttok_error_message());
    cr_assert_not_null(p);
    return p;
}

/* Split `text` (len bytes) with `type` and compare with the NULL-terminated
 * list of expected pieces. */
static void check_split_n(const char *type, const char *text, size_t len, ...)
{
    nt_pretok *p = make(type);
    static pieces got;
    memset(&got, 0, sizeof got);
    nexttok_status st = nt_pretok_split(p, text, len, collect, &got);
    cr_assert_eq(st, NEXTTOK_OK, "%s: split failed: %s", type, nexttok_error_message());

    va_list ap;
    va_start(ap, len);
    size_t i = 0;
    size_t at = 0;
    for (const char *want; (want = va_arg(ap, const char *)) != NULL; i++) {
        size_t wl = strlen(want);
        cr_assert_lt(i, got.n, "%s on \"%s\": only %zu pieces, expected more (next \"%s\")", type, text,
                     got.n, want);
        cr_assert_eq(got.start[i], at, "%s on \"%s\": piece %zu starts at %zu, expected %zu", type, text,
                     i, got.start[i], at);
        cr_assert(got.len[i] == wl && memcmp(text + got.start[i], want, wl) == 0,
                  "%s on \"%s\": piece %zu is \"%.*s\", expected \"%s\"", type, text, i, (int)got.len[i],
                  text + got.start[i], want);
        at += wl;
    }
    va_end(ap);
    cr_assert_eq(got.n, i, "%s on \"%s\": %zu pieces, expected %zu (extra \"%.*s\")", type, text, got.n,
                 i, got.n > i ? (int)got.len[i] : 0, got.n > i ? text + got.start[i] : "");
    cr_assert_eq(at, len, "expected pieces do not cover the test text (test bug)");
    nt_pretok_free(p);
}

/* Pieces as NUL-terminated literals; the text is their concatenation. */
#define CHECK(type, text, ...) check_split_n(type, text, sizeof(text) - 1, __VA_ARGS__, (const char *)NULL)

/* ---------------------------------------------------------------- create */

Test(pretok, unknown_type_is_unsupported_and_named)
{
    nt_pretok *p = (nt_pretok *)0x1;
    cr_assert_eq(nt_pretok_create("no-such-pre", &p), NEXTTOK_ERR_UNSUPPORTED);
    cr_assert_null(p);
    cr_assert_not_null(strstr(nexttok_error_message(), "no-such-pre"), "message: %s",
                       nexttok_error_message());
}

Test(pretok, null_and_default_mean_gpt2)
{
    nt_pretok *a = make(NULL), *b = make("default"), *c = make("");
    cr_assert_str_eq(nt_pretok_type_name(a), "gpt-2");
    cr_assert_str_eq(nt_pretok_type_name(b), "gpt-2");
    cr_assert_str_eq(nt_pretok_type_name(c), "gpt-2");
    nt_pretok_free(a);
    nt_pretok_free(b);
    nt_pretok_free(c);
}

Test(pretok, aliases_resolve_like_llama_cpp)
{
    static const char *const pairs[][2] = {
        {"mpt", "gpt-2"},         {"olmo", "gpt-2"},          {"jais", "gpt-2"},
        {"phi-2", "gpt-2"},       {"llama-bpe", "llama3"},    {"dbrx", "llama3"},
        {"smaug-bpe", "llama3"},  {"chatglm-bpe", "llama3"},  {"refact", "starcoder"},
        {"smollm", "starcoder"},  {"command-r", "starcoder"}, {"exaone", "starcoder"},
        {"minerva-7b", "starcoder"}, {"poro-chat", "bloom"},  {"gpt3-finnish", "bloom"},
        {"deepseek-r1-qwen", "qwen2"}, {"stablelm2", "qwen2"}, {"llama4", "gpt-4o"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        nt_pretok *p = make(pairs[i][0]);
        cr_assert_str_eq(nt_pretok_type_name(p), pairs[i][1], "%s", pairs[i][0]);
        nt_pretok_free(p);
    }
}

Test(pretok, ignore_merges_follows_llama_cpp)
{
    static const char *const on[] = {"llama3", "llama-bpe", "falcon3", "pixtral", "tekken", "minicpm5"};
    static const char *const off[] = {"gpt-2", "dbrx", "smaug-bpe", "chatglm-bpe", "qwen2", "gpt-4o"};
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
        nt_pretok *p = make(on[i]);
        cr_assert(nt_pretok_ignore_merges(p), "%s", on[i]);
        nt_pretok_free(p);
        p = make(off[i]);
        cr_assert(!nt_pretok_ignore_merges(p), "%s", off[i]);
        nt_pretok_free(p);
    }
}

Test(pretok, every_alias_compiles)
{
    const char *a;
    for (size_t i = 0; (a = nt_pretok_alias_at(i)) != NULL; i++) {
        nt_pretok *p = make(a);
        nt_pretok_free(p);
    }
}

Test(pretok, bad_arguments)
{
    nt_pretok *p = make("gpt-2");
    pieces got = {0};
    cr_assert_eq(nt_pretok_split(NULL, "a", 1, collect, &got), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nt_pretok_split(p, NULL, 1, collect, &got), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nt_pretok_split(p, "a", 1, NULL, &got), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nt_pretok_create("gpt-2", NULL), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nt_pretok_split(p, "", 0, collect, &got), NEXTTOK_OK);
    cr_assert_eq(got.n, 0, "an empty text has no pieces");
    nt_pretok_free(p);
    nt_pretok_free(NULL);
}

/* ----------------------------------------------------------------- GPT-2 */
/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */

Test(gpt2, words_take_one_leading_space)
{
    CHECK("gpt-2", "Hello world", "Hello", " world");
    CHECK("gpt-2", "  x", " ", " x");
    CHECK("gpt-2", "a    b", "a", "   ", " b");
}

Test(gpt2, contractions_are_lower_case_only)
{
    CHECK("gpt-2", "don't", "don", "'t");
    CHECK("gpt-2", "we'll I'm you're", "we", "'ll", " I", "'m", " you", "'re");
    /* 'T is no contraction: ' goes to the punctuation run, T to a word */
    CHECK("gpt-2", "DON'T", "DON", "'", "T");
    /* the contraction alternative only applies where a match starts */
    CHECK("gpt-2", " '''s", " '''", "s");
}

Test(gpt2, numbers_are_whole_runs)
{
    CHECK("gpt-2", "12345 678", "12345", " 678");
    CHECK("gpt-2", "a1b", "a", "1", "b");
    CHECK("gpt-2", "3.14", "3", ".", "14");
}

Test(gpt2, punctuation_and_emoji_runs)
{
    /* U+1F642 is a symbol (So): it joins ! in [^\s\p{L}\p{N}]+ */
    CHECK("gpt-2", "Hi \xF0\x9F\x99\x82\xF0\x9F\x99\x82!", "Hi", " \xF0\x9F\x99\x82\xF0\x9F\x99\x82!");
    CHECK("gpt-2", "hi!!there", "hi", "!!", "there");
}

Test(gpt2, whitespace_runs_leave_one_for_the_next_word)
{
    /* \s+(?!\S) backs off one character before a non-space; the lone \n
     * left then matches \s+ alone. */
    CHECK("gpt-2", "a\n\nb", "a", "\n", "\n", "b");
    CHECK("gpt-2", "a\n \n\nb", "a", "\n \n", "\n", "b");
    CHECK("gpt-2", "a\r\nb", "a", "\r", "\n", "b");
    /* at the end of the text nothing follows, so the run stays whole */
    CHECK("gpt-2", "a  \n", "a", "  \n");
    CHECK("gpt-2", "\n", "\n");
}

Test(gpt2, unicode_letters_and_spaces)
{
    CHECK("gpt-2", "\xE4\xBD\xA0\xE5\xA5\xBD \xE4\xB8\x96\xE7\x95\x8C", "\xE4\xBD\xA0\xE5\xA5\xBD",
          " \xE4\xB8\x96\xE7\x95\x8C");
    CHECK("gpt-2", "caf\xC3\xA9 na\xC3\xAFve", "caf\xC3\xA9", " na\xC3\xAFve");
    /* U+00A0 is white space, but only U+0020 may lead a word */
    CHECK("gpt-2", "a\xC2\xA0" "b", "a", "\xC2\xA0", "b");
    /* U+0301 (combining acute, Mn) is neither letter nor number */
    CHECK("gpt-2", "e\xCC\x81x", "e", "\xCC\x81", "x");
    /* U+180E is not White_Space (Unicode 6.3+, llama.cpp), though PCRE2's
     * \s would take it: it joins the punctuation around it */
    CHECK("gpt-2", "!\xE1\xA0\x8E!", "!\xE1\xA0\x8E!");
}

Test(gpt2, control_and_nul_bytes)
{
    /* NUL is a control character: a piece of its own between letters */
    nt_pretok *p = make("gpt-2");
    static pieces got;
    memset(&got, 0, sizeof got);
    cr_assert_eq(nt_pretok_split(p, "a\0b", 3, collect, &got), NEXTTOK_OK);
    cr_assert_eq(got.n, 3);
    cr_assert(got.start[1] == 1 && got.len[1] == 1 && got.start[2] == 2 && got.len[2] == 1);
    nt_pretok_free(p);
    CHECK("gpt-2", "a\tb", "a", "\t", "b");
}

/* Invalid UTF-8: llama.cpp turns each bad byte into one U+FFFD (a symbol). */
Test(gpt2, invalid_bytes_are_symbols)
{
    CHECK("gpt-2", "a\xFF" "b", "a", "\xFF", "b");
    /* a symbol joins the punctuation run and takes the leading space */
    CHECK("gpt-2", "!\xFF!", "!\xFF!");
    CHECK("gpt-2", "x \xFF\x80", "x", " \xFF\x80");
    /* a truncated 3-byte sequence: two bad bytes, two U+FFFD */
    CHECK("gpt-2", "x\xE4\xBD", "x", "\xE4\xBD");
    CHECK("gpt-2", "\xE4\xBDx", "\xE4\xBD", "x");
}

Test(gpt2, loosely_formed_sequences_decode_as_llama_cpp_does)
{
    /* C1 81 is an overlong 'A': llama.cpp decodes it as a letter */
    CHECK("gpt-2", "x\xC1\x81y z", "x\xC1\x81y", " z");
    /* ED A0 80 is the surrogate U+D800, F5 80 80 80 is above U+10FFFF:
     * one code point each, classed as U+FFFD */
    CHECK("gpt-2", "a!\xED\xA0\x80" "b", "a", "!\xED\xA0\x80", "b");
    CHECK("gpt-2", "a \xF5\x80\x80\x80!b", "a", " \xF5\x80\x80\x80!", "b");
    /* valid text after a repair keeps its offsets */
    CHECK("gpt-2", "\xFF\xFF\xFF hello world", "\xFF\xFF\xFF", " hello", " world");
}

/* ---------------------------------------------------------------- llama3 */
/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */

Test(llama3, differs_from_gpt2)
{
    CHECK("llama3", "DON'T", "DON", "'T");
    CHECK("llama3", "12345", "123", "45");
    CHECK("llama3", "Hello\n\nworld", "Hello", "\n\n", "world");
    CHECK("llama3", " ,,,\n\nx", " ,,,\n\n", "x");
    CHECK("llama3", "x   y", "x", "  ", " y");
    /* any one non-letter, non-digit, non-newline may lead a word */
    CHECK("llama3", "$hello", "$hello");
    CHECK("llama3", "a\r\nb", "a", "\r\n", "b");
    CHECK("llama-bpe", "I'm 1000000", "I", "'m", " ", "100", "000", "0");
}

Test(llama3, whitespace_before_newlines_goes_with_them)
{
    CHECK("llama3", "a  \n  b", "a", "  \n", " ", " b");
}

/* ----------------------------------------------------------------- qwen2 */

Test(qwen2, single_digits)
{
    CHECK("qwen2", "12345", "1", "2", "3", "4", "5");
    CHECK("qwen2", "DON'T go", "DON", "'T", " go");
}

Test(qwen35, marks_join_letters)
{
    CHECK("qwen35", "e\xCC\x81x", "e\xCC\x81x");
    /* qwen2: the mark is no letter, but may lead the next word */
    CHECK("qwen2", "e\xCC\x81x", "e", "\xCC\x81x");
}

/* ------------------------------------------------------------- starcoder */
/* \p{N} first, then GPT-2 on each piece */

Test(starcoder, digits_split_one_by_one)
{
    CHECK("starcoder", "a 123", "a", " ", "1", "2", "3");
    CHECK("refact", "x1y", "x", "1", "y");
    CHECK("smollm", "Hello world", "Hello", " world");
}

/* ---------------------------------------------------------------- falcon */
/* [\p{P}\$\+<=>\^~\|`]+, then GPT-2, then [0-9][0-9][0-9] */

Test(falcon, punctuation_first_then_digit_triples)
{
    CHECK("falcon", "a,b 1234567 x..y", "a", ",", "b", " ", "123", "456", "7", " x", "..", "y");
    /* GPT-2 would give " ," */
    CHECK("falcon", " ,x", " ", ",", "x");
}

/* ---------------------------------------------------------- deepseek-llm */

Test(deepseek_llm, sequence_of_six)
{
    /* [\r\n] / \s?[cased letters]+ / \s?[punct]+ / \s+$ / [CJK]+ / \p{N}+ */
    CHECK("deepseek-llm", "Hello world 123 \xE4\xBD\xA0\xE5\xA5\xBD \xEF\xBC\x81x", "Hello", " world", " ",
          "123", " ", "\xE4\xBD\xA0\xE5\xA5\xBD", " \xEF\xBC\x81", "x");
    CHECK("deepseek-llm", "a\n\nb", "a", "\n", "\n", "b");
    /* trailing white space is one piece */
    CHECK("deepseek-llm", "1   ", "1", "   ");
}

Test(deepseek_coder, sequence_of_five)
{
    /* [\r\n] / \s?\p{L}+ / \s?\p{P}+ / [CJK]+ / \p{N} */
    CHECK("deepseek-coder", "abc 123", "abc", " ", "1", "2", "3");
    CHECK("deepseek-coder", "x, y", "x", ",", " y");
}

Test(deepseek_v3, glued_punctuation_and_kana)
{
    CHECK("deepseek-v3", "12345", "123", "45");
    CHECK("deepseek-v3", "ab,cd", "ab", ",cd");
    CHECK("deepseek-v3", "\xE4\xBD\xA0\xE5\xA5\xBD" "abc", "\xE4\xBD\xA0\xE5\xA5\xBD", "abc");
}

/* ---------------------------------------------------------------- gpt-4o */

Test(gpt4o, case_runs_and_attached_contractions)
{
    CHECK("gpt-4o", "HelloWorld", "Hello", "World");
    CHECK("gpt-4o", "HELLOworld", "HELLOworld");
    CHECK("gpt-4o", "helloWORLD", "hello", "WORLD");
    CHECK("gpt-4o", "don't DON'T", "don't", " DON'T");
    CHECK("gpt-4o", "12345", "123", "45");
    CHECK("gpt-4o", "a/b//\n", "a", "/b", "//\n");
}

Test(tekken, case_runs_single_digits)
{
    CHECK("tekken", "helloWORLD", "hello", "WORLD");
    CHECK("tekken", "12345", "1", "2", "3", "4", "5");
    /* no contraction alternative: ' leads the word */
    CHECK("tekken", "don't", "don", "'t");
    /* Unicode case classes (Hugging Face): e-acute is Ll, E-acute is Lu */
    CHECK("tekken", "\xC3\xA9\xC3\x89", "\xC3\xA9", "\xC3\x89");
}

/* ----------------------------------------------------------------- bloom */
/*  ?[^(\s|.,!?…。，、।۔،)]+ : the listed marks are left as gaps */

Test(bloom, words_between_marks)
{
    CHECK("bloom", "Hello, world!", "Hello", ",", " world", "!");
    CHECK("bloom", "a (b)", "a", " (", "b", ")");
    CHECK("poro-chat", "12,5", "12", ",", "5");
    CHECK("viking", "abc123 x", "abc", "1", "2", "3", " x");
}

/* ------------------------------------------------------------- chameleon */

Test(chameleon, pairs_of_spaces_and_isolated_marks)
{
    CHECK("chameleon", "a  b", "a", "  ", "b");
    /* each later regex splits the earlier pieces further */
    CHECK("chameleon", "<sentinel:12>ab", "<", "sentinel", ":", "1", "2", ">", "ab");
}

/* ---------------------------------------------------------------- others */

Test(others, jais2_cascading_spaces)
{
    /* 7 spaces before b: \s{4}(?!\S), then \s{1,2}(?!\S), then " b" */
    CHECK("jais-2", "a       b", "a", "    ", "  ", " b");
    CHECK("llama3", "a       b", "a", "      ", " b");
}

Test(others, exaone_moe_letter_phrases)
{
    CHECK("exaone-moe", "New York 12", "New York", " ", "1", "2");
    /* a space continues the run only before a letter; marks stay attached */
    CHECK("exaone-moe", "a b  c", "a b", " ", " c");
    CHECK("exaone-moe", "e\xCC\x81 f\xCC\x81!", "e\xCC\x81 f\xCC\x81", "!");
    CHECK("exaone-moe", "\xCC\x81" "ab", "\xCC\x81" "ab");
}

Test(others, minicpm5_and_laguna)
{
    CHECK("minicpm5", "a1234", "a", "123", "4");
    CHECK("laguna", "a\n\nb c", "a", "\n\n", "b", " c");
}

Test(others, seed_coder_newlines_apart)
{
    CHECK("seed-coder", ",,,\n", ",,,", "\n");
    CHECK("llama3", ",,,\n", ",,,\n");
    CHECK("seed-coder", "12", "1", "2");
}

Test(others, bailingmoe_newline_runs_and_contractions)
{
    /* \s*[\r\n] takes white space up to the last newline: GPT-2 leaves
     * the final \n apart */
    CHECK("bailingmoe", "a\r\n\r\nb", "a", "\r\n\r\n", "b");
    CHECK("gpt-2", "a\r\n\r\nb", "a", "\r\n\r", "\n", "b");
    CHECK("bailingmoe", "I'LL 12", "I", "'LL", " ", "1", "2");
}

Test(others, ufakzeka_keeps_apostrophe_suffixes)
{
    CHECK("ufakzeka", "it'sa", "it", "'sa");
    CHECK("qwen2", "it'sa", "it", "'s", "a");
}

Test(others, spark_and_youtu)
{
    CHECK("spark2_5", "ab,cd 12345", "ab", ",cd", " ", "1", "2", "3", "4", "5");
    CHECK("youtu", "\xE4\xBD\xA0\xE5\xA5\xBD" "abc don't", "\xE4\xBD\xA0\xE5\xA5\xBD", "abc", " don't");
}

/* -------------------------------------------------------------- families */
/* The tokenizer.ggml.pre names the GGUF files of the model families we run
 * carry (see docs/internals.md), each on two texts chosen so that the four
 * regex classes among them differ: digit grouping (1, 1-3, runs), case of
 * contractions, a word led by a tab, newline runs after punctuation, and
 * case changes inside a word. Worked out by hand, alternative by
 * alternative, leftmost match first:
 *
 * "I'M 12345 apples!!\n\n  ok"
 *  qwen2:  I | 'M (contractions ignore case) | " " (\s+ alone: (?!\S) fails
 *          before 1) | 1 2 3 4 5 (\p{N}) | " apples" | "!!\n\n" (the
 *          punctuation run takes trailing newlines) | " " (\s+(?!\S) backs
 *          off one space) | " ok"
 *  llama3: the same with \p{N}{1,3}: 123 | 45
 *  gpt-2:  I | ' | M (lower-case contractions only; ' is punctuation) |
 *          " 12345" | " apples" | !! | "\n\n " | " ok"
 *  starcoder: \p{N} cuts first, then gpt-2 inside each piece, whose end
 *          ends the lookahead too: I | ' | M | " " | 1 2 3 4 5 | " apples" |
 *          !! | "\n\n " | " ok"
 *  gpt-4o: "I'M" (an upper-case run takes its contraction) | " " | 123 | 45
 *          | " apples" | "!!\n\n" | " " | " ok"
 *
 * "Hello世界 x\r\n\tabc getHTTPResponse" (世界 are Lo: letters, and in both
 * of gpt-4o's case classes)
 *  qwen2, llama3: "Hello世界" | " x" | "\r\n" (\s*[\r\n]+) | "\tabc" (one
 *          non-letter may lead a word) | " getHTTPResponse"
 *  gpt-2, starcoder: "Hello世界" | " x" | "\r\n" (\s+(?!\S) backs off the
 *          tab) | "\t" (only a space may lead a word; the gap is a piece) |
 *          abc | " getHTTPResponse"
 *  gpt-4o: "Hello世界" | " x" | "\r\n" | "\tabc" | " get" | "HTTPResponse"
 *          (upper run HTTPR, then lower esponse) */
#define T1 "I'M 12345 apples!!\n\n  ok"
#define T2 "Hello\xE4\xB8\x96\xE7\x95\x8C x\r\n\tabc getHTTPResponse"

static void check_family_texts(const char *pre)
{
    nt_pretok *p = make(pre);
    const char *type = nt_pretok_type_name(p);
    nt_pretok_free(p);
    if (strcmp(type, "qwen2") == 0) {
        CHECK(pre, T1, "I", "'M", " ", "1", "2", "3", "4", "5", " apples", "!!\n\n", " ", " ok");
        CHECK(pre, T2, "Hello\xE4\xB8\x96\xE7\x95\x8C", " x", "\r\n", "\tabc", " getHTTPResponse");
    } else if (strcmp(type, "llama3") == 0) {
        CHECK(pre, T1, "I", "'M", " ", "123", "45", " apples", "!!\n\n", " ", " ok");
        CHECK(pre, T2, "Hello\xE4\xB8\x96\xE7\x95\x8C", " x", "\r\n", "\tabc", " getHTTPResponse");
    } else if (strcmp(type, "gpt-2") == 0) {
        CHECK(pre, T1, "I", "'", "M", " 12345", " apples", "!!", "\n\n ", " ok");
        CHECK(pre, T2, "Hello\xE4\xB8\x96\xE7\x95\x8C", " x", "\r\n", "\t", "abc", " getHTTPResponse");
    } else if (strcmp(type, "starcoder") == 0) {
        CHECK(pre, T1, "I", "'", "M", " ", "1", "2", "3", "4", "5", " apples", "!!", "\n\n ", " ok");
        CHECK(pre, T2, "Hello\xE4\xB8\x96\xE7\x95\x8C", " x", "\r\n", "\t", "abc", " getHTTPResponse");
    } else if (strcmp(type, "gpt-4o") == 0) {
        CHECK(pre, T1, "I'M", " ", "123", "45", " apples", "!!\n\n", " ", " ok");
        CHECK(pre, T2, "Hello\xE4\xB8\x96\xE7\x95\x8C", " x", "\r\n", "\tabc", " get", "HTTPResponse");
    } else {
        cr_assert_fail("%s: type %s has no expectations here", pre, type);
    }
}

Test(families, pre_names_split_as_their_regexes)
{
    /* name as in the GGUF files -> the regex it must select */
    static const char *const fam[][2] = {
        {"qwen2", "qwen2"},         /* Qwen2, Qwen2.5, Qwen3 */
        {"stablelm2", "qwen2"},     /* StableLM 2 */
        {"gpt-4o", "gpt-4o"},       /* Phi-4-mini */
        {"smollm", "starcoder"},    /* SmolLM, SmolLM2 */
        {"smaug-bpe", "llama3"},    /* SmolLM3 */
        {"dbrx", "llama3"},         /* OLMo 2 */
        {"olmo", "gpt-2"},          /* OLMo (1.7) */
        {"refact", "starcoder"},    /* Granite 3.x */
        {"starcoder", "starcoder"}, /* StarCoder2 */
    };
    for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++) {
        nt_pretok *p = make(fam[i][0]);
        cr_assert_str_eq(nt_pretok_type_name(p), fam[i][1], "%s", fam[i][0]);
        cr_assert(!nt_pretok_ignore_merges(p), "%s: llama.cpp sets no ignore_merges", fam[i][0]);
        nt_pretok_free(p);
        check_family_texts(fam[i][0]);
    }
}

/* -------------------------------------------------------------- tiny_aya */
/* \d{1,3}(?=(?:\d{3})*\b), then gpt-4o's regex */

Test(tiny_aya, digit_groups_from_the_right)
{
    CHECK("tiny_aya", "1234567", "1", "234", "567");
    CHECK("tiny_aya", "1234567 x", "1", "234", "567", " x");
    CHECK("tiny_aya", "1,234", "1", ",", "234");
    /* a word character after the run: no boundary, no group; gpt-4o's
     * \p{N}{1,3} then cuts from the left */
    CHECK("tiny_aya", "12345abc", "123", "45", "abc");
    CHECK("tiny_aya", "12_3", "12", "_", "3");
    /* Devanagari digits are \d too, three bytes each */
    CHECK("tiny_aya", "\xE0\xA5\xA7\xE0\xA5\xA8\xE0\xA5\xA9\xE0\xA5\xAA", "\xE0\xA5\xA7",
          "\xE0\xA5\xA8\xE0\xA5\xA9\xE0\xA5\xAA");
}

/* The hand-written digit matcher against PCRE2 running the regex itself. */
typedef struct ref_ctx {
    const nt_pretok *gpt4o;
    const char *text;
    size_t base;
    pieces *out;
} ref_ctx;

static void ref_collect(void *user, size_t start, size_t len)
{
    ref_ctx *r = user;
    collect(r->out, r->base + start, len);
}

Test(tiny_aya, matches_pcre2_running_the_regex)
{
    int err;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR) "\\d{1,3}(?=(?:\\d{3})*\\b)", PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP, &err, &at, NULL);
    cr_assert_not_null(re);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    nt_pretok *aya = make("tiny_aya"), *g4 = make("gpt-4o");
    static const char *const parts[] = {"1", "2", "a", "_", " ", ",", "\xE0\xA5\xA7", "\xC2\xB2", "\n"};
    static pieces want, got;
    char buf[128];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0, k = rnd() % 24;
        for (size_t i = 0; i < k; i++) {
            const char *s = parts[rnd() % (sizeof parts / sizeof parts[0])];
            memcpy(buf + n, s, strlen(s));
            n += strlen(s);
        }
        memset(&want, 0, sizeof want);
        ref_ctx r = {g4, buf, 0, &want};
        size_t pos = 0;
        while (pos < n) {
            int rc = pcre2_match(re, (PCRE2_SPTR)buf, n, pos, PCRE2_NOTEMPTY, md, NULL);
            size_t ms = n, me = n;
            if (rc >= 0) {
                ms = pcre2_get_ovector_pointer(md)[0];
                me = pcre2_get_ovector_pointer(md)[1];
            }
            if (ms > pos) {
                r.base = pos;
                nt_pretok_split(g4, buf + pos, ms - pos, ref_collect, &r);
            }
            if (me > ms) {
                r.base = ms;
                nt_pretok_split(g4, buf + ms, me - ms, ref_collect, &r);
            }
            pos = me;
        }
        memset(&got, 0, sizeof got);
        cr_assert_eq(nt_pretok_split(aya, buf, n, collect, &got), NEXTTOK_OK);
        cr_assert_eq(got.n, want.n, "\"%.*s\": %zu pieces, PCRE2 gives %zu", (int)n, buf, got.n, want.n);
        for (size_t i = 0; i < got.n; i++)
            cr_assert(got.start[i] == want.start[i] && got.len[i] == want.len[i],
                      "\"%.*s\": piece %zu differs from PCRE2's", (int)n, buf, i);
    }
    nt_pretok_free(aya);
    nt_pretok_free(g4);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
}

/* ------------------------------------------------- llama.cpp's splitters */
/* llama.cpp does not run the GPT-2 and llama3 regexes through a regex
 * engine: it walks the code points by hand (unicode.cpp). These are
 * independent walks written the same way, over PCRE2's classification of
 * each code point, compared with our regex-driven splits on random text. */

typedef struct cls {
    pcre2_code *letter, *number, *space;
    pcre2_match_data *md;
} cls;

enum { F_L = 1, F_N = 2, F_WS = 4, F_IN = 8 };

static int flags_of(const cls *c, const char *s, size_t at, size_t end)
{
    if (at >= end)
        return 0; /* out of range */
    int f = F_IN;
    if (pcre2_match(c->letter, (PCRE2_SPTR)s, end, at, 0, c->md, NULL) >= 0)
        f |= F_L;
    if (pcre2_match(c->number, (PCRE2_SPTR)s, end, at, 0, c->md, NULL) >= 0)
        f |= F_N;
    if (pcre2_match(c->space, (PCRE2_SPTR)s, end, at, 0, c->md, NULL) >= 0)
        f |= F_WS;
    return f;
}

/* Code points of valid UTF-8: cp[i] starts at off[i]; off[n] = len. */
static size_t decode_valid(const char *s, size_t len, uint32_t *cp, size_t *off)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        unsigned char b = (unsigned char)s[i];
        size_t k = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        uint32_t v = k == 1 ? b : (uint32_t)(b & (0x7F >> k));
        for (size_t j = 1; j < k; j++)
            v = (v << 6) | ((unsigned char)s[i + j] & 0x3F);
        cp[n] = v;
        off[n++] = i;
        i += k;
    }
    off[n] = len;
    return n;
}

static uint32_t lower_ascii(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Piece ends (in code points) per llama.cpp's walk; llama3 selects its
 * variant of the walk. Returns the number of pieces. */
static size_t walk_split(const cls *c, const char *s, const uint32_t *cp, const size_t *off, size_t n,
                         int llama3, size_t *ends)
{
    size_t np = 0, pos = 0, prev = 0;
#define FL(i) ((i) < n ? flags_of(c, s, off[i], off[n]) : 0)
#define CP(i) ((i) < n ? cp[i] : 0xFFFFFFFFu)
#define ADD(e)                 \
    do {                       \
        if ((e) > prev)        \
            ends[np++] = (e);  \
        prev = (e);            \
    } while (0)
    while (pos < n) {
        uint32_t ch = cp[pos];
        int f = FL(pos);
        if (ch == '\'' && pos + 1 < n) {
            uint32_t a = llama3 ? lower_ascii(cp[pos + 1]) : cp[pos + 1];
            if (a == 's' || a == 't' || a == 'm' || a == 'd') {
                pos += 2;
                ADD(pos);
                continue;
            }
            if (pos + 2 < n) {
                uint32_t b = llama3 ? lower_ascii(cp[pos + 2]) : cp[pos + 2];
                if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
                    pos += 3;
                    ADD(pos);
                    continue;
                }
            }
        }
        if (llama3) {
            /* [^\r\n\p{L}\p{N}]?\p{L}+ */
            if (!(ch == '\r' || ch == '\n' || (f & F_N)) && ((f & F_L) || (FL(pos + 1) & F_L))) {
                pos++;
                while (FL(pos) & F_L)
                    pos++;
                ADD(pos);
                continue;
            }
            /* \p{N}{1,3} */
            if (f & F_N) {
                size_t ini = pos;
                while (FL(pos) & F_N) {
                    if (++pos - ini >= 3) {
                        ADD(pos);
                        ini = pos;
                    }
                }
                ADD(pos);
                continue;
            }
            /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
            int f2 = ch == ' ' ? FL(pos + 1) : f;
            if (!(f2 & (F_WS | F_L | F_N)) && (f2 & F_IN)) {
                pos += ch == ' ';
                while (!(FL(pos) & (F_WS | F_L | F_N)) && (FL(pos) & F_IN))
                    pos++;
                while (CP(pos) == '\r' || CP(pos) == '\n')
                    pos++;
                ADD(pos);
                continue;
            }
            /* \s*[\r\n]+ */
            size_t nws = 0, last_nl = 0;
            while (FL(pos + nws) & F_WS) {
                if (CP(pos + nws) == '\r' || CP(pos + nws) == '\n')
                    last_nl = pos + nws + 1;
                nws++;
            }
            if (last_nl > 0) {
                pos = last_nl;
                ADD(pos);
                continue;
            }
            if (nws > 1 && pos + nws < n) {
                pos += nws - 1;
                ADD(pos);
                continue;
            }
            if (nws > 0) {
                pos += nws;
                ADD(pos);
                continue;
            }
        } else {
            int f2 = ch == ' ' ? FL(pos + 1) : f;
            if (f2 & F_L) {
                pos += ch == ' ';
                while (FL(pos) & F_L)
                    pos++;
                ADD(pos);
                continue;
            }
            if (f2 & F_N) {
                pos += ch == ' ';
                while (FL(pos) & F_N)
                    pos++;
                ADD(pos);
                continue;
            }
            if (!(f2 & (F_WS | F_L | F_N)) && (f2 & F_IN)) {
                pos += ch == ' ';
                while (!(FL(pos) & (F_WS | F_L | F_N)) && (FL(pos) & F_IN))
                    pos++;
                ADD(pos);
                continue;
            }
            size_t nws = 0;
            while (FL(pos + nws) & F_WS)
                nws++;
            if (nws > 1 && pos + nws < n) {
                pos += nws - 1;
                ADD(pos);
                continue;
            }
            if (nws > 0) {
                pos += nws;
                ADD(pos);
                continue;
            }
        }
        pos++;
        ADD(pos);
    }
#undef FL
#undef CP
#undef ADD
    return np;
}

static pcre2_code *one_char(const char *re)
{
    int err;
    PCRE2_SIZE at;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED,
                                  &err, &at, NULL);
    cr_assert_not_null(c, "%s", re);
    return c;
}

static void compare_with_walk(const char *type, int llama3)
{
    cls c = {one_char("\\p{L}"), one_char("\\p{N}"), one_char("\\p{White_Space}"), NULL};
    c.md = pcre2_match_data_create(1, NULL);
    static const char *const parts[] = {
        "a", "Z", "s", "t", "re", "ll", "D", "VE", "'", "1", "\xC2\xB2", " ", " ", " ", "\t", "\n", "\r",
        "\xC2\xA0", "\xE3\x80\x80", "\xC3\xA9", "\xE4\xBD\xA0", "!", ",", "\xF0\x9F\x98\x80", "\xCC\x81",
        "\xE1\xA0\x8E", "\xEF\xBF\xBD", "\x01",
    };
    nt_pretok *p = make(type);
    static pieces got;
    static uint32_t cp[256];
    static size_t off[257], ends[256];
    char buf[256];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0, k = 1 + rnd() % 40;
        for (size_t i = 0; i < k; i++) {
            const char *s = parts[rnd() % (sizeof parts / sizeof parts[0])];
            memcpy(buf + len, s, strlen(s));
            len += strlen(s);
        }
        size_t n = decode_valid(buf, len, cp, off);
        size_t np = walk_split(&c, buf, cp, off, n, llama3, ends);
        memset(&got, 0, sizeof got);
        cr_assert_eq(nt_pretok_split(p, buf, len, collect, &got), NEXTTOK_OK);
        cr_assert_eq(got.n, np, "%s on \"%.*s\": %zu pieces, llama.cpp's walk gives %zu", type, (int)len, buf,
                     got.n, np);
        for (size_t i = 0; i < np; i++)
            cr_assert_eq(got.start[i] + got.len[i], off[ends[i]],
                         "%s on \"%.*s\": piece %zu ends at byte %zu, the walk at %zu", type, (int)len, buf,
                         i, got.start[i] + got.len[i], off[ends[i]]);
    }
    nt_pretok_free(p);
    pcre2_match_data_free(c.md);
    pcre2_code_free(c.letter);
    pcre2_code_free(c.number);
    pcre2_code_free(c.space);
}

Test(llama_cpp_walk, gpt2_regex_splits_like_the_walk)
{
    compare_with_walk("gpt-2", 0);
}

Test(llama_cpp_walk, llama3_regex_splits_like_the_walk)
{
    compare_with_walk("llama3", 1);
}

/* -------------------------------------------------------------- coverage */

typedef struct cover {
    size_t next;
    size_t bad;
} cover;

static void check_cover(void *user, size_t start, size_t len)
{
    cover *c = user;
    if (start != c->next || len == 0)
        c->bad++;
    c->next = start + len;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

/* Random bytes biased to what the regexes care about. */
static size_t random_text(char *buf, size_t cap)
{
    static const char *const parts[] = {
        "a",  "Z",  " ",  "  ", "\n", "\r\n", "\t", "1",   "'s", "'T",  ",",   "!",
        "\xC3\xA9", "\xE4\xBD\xA0", "\xF0\x9F\x99\x82", "\xC2\xA0", "\xCC\x81", "\xFF", "\x80",
        "\xE4\xBD", "\xC1\x81", "\xED\xA0\x80", "\xF5\x80\x80\x80", "\xF0\x9F", "\0", "<sentinel:1>",
        "IMGIMGABZ", "\xEF\xBC\x81", "\xE3\x80\x82",
    };
    size_t n = 0, want = rnd() % 200;
    while (n < want) {
        if (rnd() % 4 == 0) {
            if (n < cap)
                buf[n++] = (char)(rnd() & 0xFF);
            continue;
        }
        const char *s = parts[rnd() % (sizeof parts / sizeof parts[0])];
        size_t l = s[0] ? strlen(s) : 1;
        if (n + l > cap)
            break;
        memcpy(buf + n, s, l);
        n += l;
    }
    return n;
}

Test(pretok, pieces_cover_random_bytes_for_every_type)
{
    char buf[1024];
    const nt_pretok_type *t;
    for (size_t ti = 0; (t = nt_pretok_type_at(ti)) != NULL; ti++) {
        nt_pretok *p = make(t->name);
        for (int iter = 0; iter < 2000; iter++) {
            size_t n = random_text(buf, sizeof buf);
            cover c = {0, 0};
            nexttok_status st = nt_pretok_split(p, buf, n, check_cover, &c);
            cr_assert_eq(st, NEXTTOK_OK, "%s: %s", t->name, nexttok_error_message());
            cr_assert_eq(c.bad, 0, "%s: pieces not consecutive or empty (iter %d)", t->name, iter);
            cr_assert_eq(c.next, n, "%s: pieces cover %zu of %zu bytes (iter %d)", t->name, c.next, n, iter);
        }
        nt_pretok_free(p);
    }
}

/* Long runs: JIT stack growth and linear behaviour on big inputs. */
Test(pretok, long_runs_are_covered)
{
    size_t n = 1 << 20;
    char *buf = malloc(n);
    cr_assert_not_null(buf);
    static const char fill[] = {' ', 'a', '1', '!', '\n'};
    const nt_pretok_type *t;
    for (size_t f = 0; f < sizeof fill; f++) {
        memset(buf, fill[f], n);
        for (size_t ti = 0; (t = nt_pretok_type_at(ti)) != NULL; ti++) {
            nt_pretok *p = make(t->name);
            cover c = {0, 0};
            nexttok_status st = nt_pretok_split(p, buf, n, check_cover, &c);
            cr_assert_eq(st, NEXTTOK_OK, "%s on 1 MiB of '%c': %s", t->name, fill[f], nexttok_error_message());
            cr_assert(c.bad == 0 && c.next == n, "%s on 1 MiB of '%c': not covered", t->name, fill[f]);
            nt_pretok_free(p);
        }
    }
    /* a 1 MiB word is one piece for GPT-2 */
    memset(buf, 'a', n);
    nt_pretok *p = make("gpt-2");
    pieces *got = calloc(1, sizeof *got);
    cr_assert_eq(nt_pretok_split(p, buf, n, collect, got), NEXTTOK_OK);
    cr_assert(got->n == 1 && got->len[0] == n);
    free(got);
    nt_pretok_free(p);
    free(buf);
}

/* ------------------------------------------------------------ threading */

typedef struct job {
    const nt_pretok *p;
    const char *text;
    size_t len;
    size_t hash;
    size_t count;
} job;

static void hash_piece(void *user, size_t start, size_t len)
{
    job *j = user;
    j->hash = j->hash * 1000003u ^ (start * 31u + len);
    j->count++;
}

static void *run_job(void *arg)
{
    job *j = arg;
    for (int r = 0; r < 20; r++) {
        job k = *j;
        k.hash = 0;
        k.count = 0;
        if (nt_pretok_split(k.p, k.text, k.len, hash_piece, &k) != NEXTTOK_OK || k.hash != j->hash ||
            k.count != j->count)
            return (void *)1;
    }
    return NULL;
}

Test(pretok, concurrent_splits_on_one_handle_agree)
{
    nt_pretok *p = make("llama3");
    size_t n = 64 * 1024;
    char *buf = malloc(n);
    cr_assert_not_null(buf);
    size_t at = 0;
    while (at < n) {
        size_t l = random_text(buf + at, n - at);
        if (l == 0)
            break;
        at += l;
    }
    job ref = {p, buf, at, 0, 0};
    cr_assert_eq(nt_pretok_split(p, buf, at, hash_piece, &ref), NEXTTOK_OK);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, run_job, &ref);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        cr_assert_null(rv, "thread %d got a different split", i);
    }
    free(buf);
    nt_pretok_free(p);
}

/* ---------------------------------------------------------- conformance */
/* The vocab fixtures hold Hugging Face's token ids for test strings. BPE
 * never merges across a pre-token, so every boundary between our pieces must
 * also be a boundary between the expected tokens. A minimal GGUF reader
 * pulls the token strings; GPT-2's byte-to-unicode table turns them back
 * into bytes. */

#include "support/fixtures.h"

typedef struct reader {
    const unsigned char *p, *end;
    int bad;
} reader;

static uint64_t rd_u(reader *r, size_t n)
{
    uint64_t v = 0;
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return v;
}

static const unsigned char *rd_str(reader *r, uint64_t *len)
{
    *len = rd_u(r, 8);
    if (r->bad || (uint64_t)(r->end - r->p) < *len) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *s = r->p;
    r->p += *len;
    return s;
}

static void skip_value(reader *r, uint32_t type)
{
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    uint64_t len;
    if (type == 8) {
        rd_str(r, &len);
    } else if (type == 9) {
        uint32_t et = (uint32_t)rd_u(r, 4);
        uint64_t n = rd_u(r, 8);
        for (uint64_t i = 0; i < n && !r->bad; i++)
            skip_value(r, et);
    } else if (type < 13) {
        rd_u(r, sizes[type]);
    } else {
        r->bad = 1;
    }
}

/* GPT-2's bytes_to_unicode, inverted: code point -> byte. */
static int byte_of_cp(uint32_t cp)
{
    static int table[512];
    static int ready;
    if (!ready) {
        for (int i = 0; i < 512; i++)
            table[i] = -1;
        int n = 0;
        for (int b = 0; b < 256; b++) {
            int keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            table[keep ? b : 256 + n++] = b;
        }
        ready = 1;
    }
    return cp < 512 ? table[cp] : -1;
}

/* Decode a byte-level token string into raw bytes; returns length or -1. */
static long token_bytes(const unsigned char *s, uint64_t len)
{
    long n = 0;
    for (uint64_t i = 0; i < len;) {
        uint32_t cp;
        if (s[i] < 0x80) {
            cp = s[i];
            i += 1;
        } else if ((s[i] & 0xE0) == 0xC0 && i + 1 < len) {
            cp = ((uint32_t)(s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F);
            i += 2;
        } else {
            return -1;
        }
        if (byte_of_cp(cp) < 0)
            return -1;
        n++;
    }
    return n;
}

static void check_vocab_fixture(const char *name)
{
    char path[4096];
    char rel[256];
    snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf", name);
    if (!nt_test_fixture_path(rel, path, sizeof path))
        cr_skip(NT_SKIP_MSG);
    size_t gsize = 0, isize = 0, osize = 0;
    unsigned char *g = (unsigned char *)nt_test_read_file(path, &gsize);
    cr_assert_not_null(g);
    snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.inp", name);
    cr_assert(nt_test_fixture_path(rel, path, sizeof path));
    char *inp = nt_test_read_file(path, &isize);
    snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.out", name);
    cr_assert(nt_test_fixture_path(rel, path, sizeof path));
    char *out = nt_test_read_file(path, &osize);
    cr_assert(inp && out);

    reader r = {g, g + gsize, 0};
    cr_assert_eq(rd_u(&r, 4), 0x46554747u, "GGUF magic");
    rd_u(&r, 4);
    rd_u(&r, 8);
    uint64_t n_kv = rd_u(&r, 8);
    long *tok_len = NULL;
    uint64_t n_tokens = 0;
    char pre[64] = "";
    for (uint64_t k = 0; k < n_kv && !r.bad; k++) {
        uint64_t kl;
        const unsigned char *key = rd_str(&r, &kl);
        uint32_t type = (uint32_t)rd_u(&r, 4);
        if (key && kl == 21 && memcmp(key, "tokenizer.ggml.tokens", 21) == 0 && type == 9) {
            cr_assert_eq(rd_u(&r, 4), 8, "token list of strings");
            n_tokens = rd_u(&r, 8);
            tok_len = calloc(n_tokens ? n_tokens : 1, sizeof *tok_len);
            cr_assert_not_null(tok_len);
            for (uint64_t i = 0; i < n_tokens && !r.bad; i++) {
                uint64_t sl;
                const unsigned char *s = rd_str(&r, &sl);
                tok_len[i] = s ? token_bytes(s, sl) : -1;
            }
        } else if (key && kl == 18 && memcmp(key, "tokenizer.ggml.pre", 18) == 0 && type == 8) {
            uint64_t sl;
            const unsigned char *s = rd_str(&r, &sl);
            cr_assert(s && sl < sizeof pre);
            memcpy(pre, s, sl);
            pre[sl] = 0;
        } else {
            skip_value(&r, type);
        }
    }
    cr_assert(!r.bad && tok_len && pre[0], "%s: GGUF not readable", name);

    nt_pretok *p = make(pre);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t seplen = sizeof sep - 1;
    char *text = inp, *line = out;
    size_t n_checked = 0;
    static pieces got;
    static unsigned char tok_boundary[1 << 16];
    while (text < inp + isize) {
        char *end = strstr(text, sep);
        if (!end)
            break;
        size_t len = (size_t)(end - text);
        char *eol = strchr(line, '\n');
        cr_assert_not_null(eol);
        *eol = 0;
        cr_assert_lt(len, sizeof tok_boundary);
        memset(tok_boundary, 0, len + 1);
        size_t at = 0;
        tok_boundary[0] = 1;
        for (char *q = line; *q;) {
            char *next;
            long id = strtol(q, &next, 10);
            if (next == q)
                break;
            q = next;
            cr_assert(id >= 0 && (uint64_t)id < n_tokens && tok_len[id] > 0);
            at += (size_t)tok_len[id];
            cr_assert_leq(at, len, "%s: tokens longer than test %zu", name, n_checked);
            tok_boundary[at] = 1;
        }
        cr_assert_eq(at, len, "%s: tokens do not cover test %zu", name, n_checked);
        memset(&got, 0, sizeof got);
        cr_assert_eq(nt_pretok_split(p, text, len, collect, &got), NEXTTOK_OK);
        for (size_t i = 0; i < got.n; i++)
            cr_assert(tok_boundary[got.start[i]],
                      "%s test %zu \"%.*s\": piece %zu \"%.*s\" starts inside a Hugging Face token", name,
                      n_checked, (int)len, text, i, (int)got.len[i], text + got.start[i]);
        n_checked++;
        text = end + seplen;
        line = eol + 1;
    }
    cr_assert_gt(n_checked, 10, "%s: too few test strings", name);
    nt_pretok_free(p);
    free(tok_len);
    free(g);
    free(inp);
    free(out);
}

Test(conformance, gpt2_pieces_never_split_a_token)
{
    check_vocab_fixture("gpt-2");
}

Test(conformance, starcoder_pieces_never_split_a_token)
{
    check_vocab_fixture("starcoder");
}
