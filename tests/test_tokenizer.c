/* Tokenizer behaviour on small vocabularies written by the test (so every
 * expected id is worked out by hand from the algorithm's definition), the
 * public buffer protocol, the streaming decoder, malformed metadata, load
 * errors, and robustness on arbitrary bytes. */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "gguf/gguf.h"
#include "nexttok.h"
#include "support/fixtures.h"
#include "support/gguf_writer.h"
#include "support/logits_file.h"
#include "support/tiny_model.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

#define WS "\xE2\x96\x81" /* U+2581, SentencePiece's space */

/* --- a small SentencePiece vocabulary --------------------------------------
 * 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, 259 WS, 260 a, 261 b,
 * 262 WS a, 263 ab, 264 <tool> (user-defined). "ab" outscores "WS a". */
enum { SPM_UNK = 0, SPM_BOS = 1, SPM_EOS = 2, SPM_BYTE0 = 3, SPM_WS = 259, SPM_A, SPM_B, SPM_WS_A,
       SPM_AB, SPM_TOOL, SPM_N };

static void spm_keys(nt_gw *w)
{
    static char bytes[256][7];
    const char *toks[SPM_N];
    float scores[SPM_N];
    int32_t types[SPM_N];
    toks[0] = "<unk>", types[0] = NEXTTOK_TOKEN_UNKNOWN;
    toks[1] = "<s>", types[1] = NEXTTOK_TOKEN_CONTROL;
    toks[2] = "</s>", types[2] = NEXTTOK_TOKEN_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[SPM_BYTE0 + b] = bytes[b];
        types[SPM_BYTE0 + b] = NEXTTOK_TOKEN_BYTE;
    }
    const char *rest[] = {WS, "a", "b", WS "a", "ab", "<tool>"};
    const float rest_scores[] = {-1.0f, -2.0f, -3.0f, -4.0f, -0.5f, 0.0f};
    for (int i = 0; i < 6; i++) {
        toks[SPM_WS + i] = rest[i];
        types[SPM_WS + i] = NEXTTOK_TOKEN_NORMAL;
    }
    types[SPM_TOOL] = NEXTTOK_TOKEN_USER_DEFINED;
    for (int i = 0; i < SPM_N; i++) scores[i] = i < SPM_WS ? 0.0f : rest_scores[i - SPM_WS];
    nt_gw_add_str(w, "tokenizer.ggml.model", "llama");
    nt_gw_add_arr_str(w, "tokenizer.ggml.tokens", toks, SPM_N);
    nt_gw_add_arr(w, "tokenizer.ggml.scores", NT_GGUF_FLOAT32, scores, SPM_N);
    nt_gw_add_arr(w, "tokenizer.ggml.token_type", NT_GGUF_INT32, types, SPM_N);
    nt_gw_add_u32(w, "tokenizer.ggml.bos_token_id", SPM_BOS);
    nt_gw_add_u32(w, "tokenizer.ggml.eos_token_id", SPM_EOS);
    nt_gw_add_u32(w, "tokenizer.ggml.unknown_token_id", SPM_UNK);
}

static nt_gw *spm_writer(void)
{
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "llama");
    spm_keys(w);
    return w;
}

/* --- a small byte-level BPE vocabulary ---------------------------------------
 * Ids 0..255 are the byte-level characters of bytes 0..255, 256 "bc",
 * 257 "ab", 258 "<|end|>" (control), 259 "<u>" (user-defined), 260 "xyz"
 * (no merge makes it). */
enum { BPE_BC = 256, BPE_AB, BPE_END, BPE_USER, BPE_XYZ, BPE_N };

static void bpe_tokens(nt_gw *w, const char *pre)
{
    static char chars[256][5];
    const char *toks[BPE_N];
    int32_t types[BPE_N];
    for (int b = 0; b < 256; b++) {
        size_t n = nt_utf8_encode(nt_byte_to_cpt((uint8_t)b), chars[b]);
        chars[b][n] = '\0';
        toks[b] = chars[b];
        types[b] = NEXTTOK_TOKEN_NORMAL;
    }
    toks[BPE_BC] = "bc", types[BPE_BC] = NEXTTOK_TOKEN_NORMAL;
    toks[BPE_AB] = "ab", types[BPE_AB] = NEXTTOK_TOKEN_NORMAL;
    toks[BPE_END] = "<|end|>", types[BPE_END] = NEXTTOK_TOKEN_CONTROL;
    toks[BPE_USER] = "<u>", types[BPE_USER] = NEXTTOK_TOKEN_USER_DEFINED;
    toks[BPE_XYZ] = "xyz", types[BPE_XYZ] = NEXTTOK_TOKEN_NORMAL;
    nt_gw_add_str(w, "tokenizer.ggml.model", "gpt2");
    if (pre) nt_gw_add_str(w, "tokenizer.ggml.pre", pre);
    nt_gw_add_arr_str(w, "tokenizer.ggml.tokens", toks, BPE_N);
    nt_gw_add_arr(w, "tokenizer.ggml.token_type", NT_GGUF_INT32, types, BPE_N);
}

static nt_gw *bpe_writer(bool bc_first)
{
    nt_gw *w = nt_gw_new();
    bpe_tokens(w, "gpt-2");
    const char *m1[] = {"b c", "a b"}, *m2[] = {"a b", "b c"};
    nt_gw_add_arr_str(w, "tokenizer.ggml.merges", bc_first ? m1 : m2, 2);
    nt_gw_add_u32(w, "tokenizer.ggml.eos_token_id", BPE_END);
    return w;
}

/* Parse the writer's bytes and build a tokenizer; the buffer is released
 * before the tokenizer is used, which checks it keeps no pointer into it. */
static nexttok_status from_writer(nt_gw *w, nexttok_tokenizer **out)
{
    size_t size;
    uint8_t *buf = nt_gw_write(w, &size, NULL);
    nt_gw_free(w);
    nt_gguf *g = NULL;
    nexttok_status st = nt_gguf_parse(buf, size, &g);
    cr_assert_eq(st, NEXTTOK_OK, "parse: %s", nexttok_error_message());
    nt_error_clear();
    st = nt_tokenizer_from_gguf(g, out);
    nt_gguf_close(g);
    memset(buf, 0xAA, size);
    free(buf);
    return st;
}

static nexttok_tokenizer *make(nt_gw *w)
{
    nexttok_tokenizer *t = NULL;
    cr_assert_eq(from_writer(w, &t), NEXTTOK_OK, "%s", nexttok_error_message());
    return t;
}

static size_t enc(const nexttok_tokenizer *t, const char *s, uint32_t flags, int32_t *ids, size_t cap)
{
    size_t n = 0;
    nexttok_status st = nexttok_tokenizer_encode(t, s, strlen(s), flags, ids, cap, &n);
    cr_assert_eq(st, NEXTTOK_OK, "encode \"%s\": %s", s, nexttok_error_message());
    return n;
}

#define EXPECT_IDS(t, s, flags, ...)                                                          \
    do {                                                                                      \
        const int32_t want_[] = {__VA_ARGS__};                                                \
        int32_t got_[64];                                                                     \
        size_t n_ = enc(t, s, flags, got_, 64);                                               \
        cr_assert_eq(n_, sizeof want_ / sizeof want_[0], "\"%s\": %zu ids, expected %zu", s, n_, \
                     sizeof want_ / sizeof want_[0]);                                         \
        for (size_t i_ = 0; i_ < n_; i_++)                                                    \
            cr_assert_eq(got_[i_], want_[i_], "\"%s\": id %zu is %d, expected %d", s, i_,      \
                         got_[i_], want_[i_]);                                                \
    } while (0)

static void expect_decode(const nexttok_tokenizer *t, const int32_t *ids, size_t n, uint32_t flags,
                          const char *want, size_t want_len)
{
    char buf[256];
    size_t len = 0;
    nexttok_status st = nexttok_tokenizer_decode(t, ids, n, flags, buf, sizeof buf, &len);
    cr_assert_eq(st, NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert(len == want_len && memcmp(buf, want, len) == 0, "decoded \"%.*s\", expected \"%.*s\"",
              (int)len, buf, (int)want_len, want);
}
#define EXPECT_TEXT(t, flags, want, ...)                                                      \
    do {                                                                                      \
        const int32_t ids_[] = {__VA_ARGS__};                                                 \
        expect_decode(t, ids_, sizeof ids_ / sizeof ids_[0], flags, want, sizeof(want) - 1);  \
    } while (0)

/* --- SentencePiece -------------------------------------------------------- */

Test(tokenizer_spm, merges_follow_scores_and_fall_back_to_bytes)
{
    nexttok_tokenizer *t = make(spm_writer());
    /* WS a b: "ab" (-0.5) beats "WS a" (-4); "WS ab" is no token. */
    EXPECT_IDS(t, "ab", 0, SPM_WS, SPM_AB);
    /* WS a WS b: only "WS a" exists. */
    EXPECT_IDS(t, "a b", 0, SPM_WS_A, SPM_WS, SPM_B);
    /* No "c" token: its byte; "é" is two bytes. */
    EXPECT_IDS(t, "c", 0, SPM_WS, SPM_BYTE0 + 'c');
    EXPECT_IDS(t, "\xC3\xA9", 0, SPM_WS, SPM_BYTE0 + 0xC3, SPM_BYTE0 + 0xA9);
    /* Nothing, not even the dummy prefix, for empty text. */
    int32_t ids[4];
    cr_assert_eq(enc(t, "", 0, ids, 4), 0);
    cr_assert_eq(enc(t, "", NEXTTOK_ENCODE_ADD_SPECIAL, ids, 4), 1);
    cr_assert_eq(ids[0], SPM_BOS);
    EXPECT_IDS(t, "a", NEXTTOK_ENCODE_ADD_SPECIAL, SPM_BOS, SPM_WS_A);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_spm, special_tokens_split_the_text)
{
    nexttok_tokenizer *t = make(spm_writer());
    /* User-defined tokens always match; text after a special token gets
     * the dummy prefix again. */
    EXPECT_IDS(t, "a<tool>b", 0, SPM_WS_A, SPM_TOOL, SPM_WS, SPM_B);
    /* Control tokens only with PARSE_SPECIAL. */
    EXPECT_IDS(t, "a</s>b", NEXTTOK_ENCODE_PARSE_SPECIAL, SPM_WS_A, SPM_EOS, SPM_WS, SPM_B);
    EXPECT_IDS(t, "a</s>b", 0, SPM_WS_A, SPM_BYTE0 + '<', SPM_BYTE0 + '/', SPM_BYTE0 + 's',
               SPM_BYTE0 + '>', SPM_B);
    EXPECT_IDS(t, "<s><unk>", NEXTTOK_ENCODE_PARSE_SPECIAL, SPM_BOS, SPM_UNK);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_spm, decode_unescapes_and_drops_the_dummy_prefix)
{
    nexttok_tokenizer *t = make(spm_writer());
    EXPECT_TEXT(t, 0, "a b", SPM_WS_A, SPM_WS, SPM_B);
    EXPECT_TEXT(t, 0, "\xC3\xA9", SPM_WS, SPM_BYTE0 + 0xC3, SPM_BYTE0 + 0xA9);
    /* Control tokens give their text unless skipped; a skipped BOS does not
     * count as the first token (as Hugging Face drops it before decoding). */
    EXPECT_TEXT(t, 0, "<s> a", SPM_BOS, SPM_WS_A);
    EXPECT_TEXT(t, NEXTTOK_DECODE_SKIP_SPECIAL, "a", SPM_BOS, SPM_WS_A);
    EXPECT_TEXT(t, NEXTTOK_DECODE_SKIP_SPECIAL, "a b", SPM_WS_A, SPM_EOS, SPM_WS, SPM_B);
    /* Only one space goes: "  a" encodes as WS, WS a. */
    EXPECT_TEXT(t, 0, " a", SPM_WS, SPM_WS_A);
    char piece[16];
    size_t len;
    cr_assert_eq(nexttok_tokenizer_piece_get(t, SPM_WS_A, piece, sizeof piece, &len), NEXTTOK_OK);
    cr_assert(len == 2 && memcmp(piece, " a", 2) == 0);
    cr_assert_eq(nexttok_tokenizer_piece_get(t, SPM_BOS, piece, sizeof piece, &len), NEXTTOK_OK);
    cr_assert(len == 3 && memcmp(piece, "<s>", 3) == 0);
    cr_assert_eq(nexttok_tokenizer_piece_get(t, SPM_BYTE0 + 0xFF, piece, sizeof piece, &len), NEXTTOK_OK);
    cr_assert(len == 1 && (unsigned char)piece[0] == 0xFF);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_spm, vocabulary_queries)
{
    nexttok_tokenizer *t = make(spm_writer());
    cr_assert_eq(nexttok_tokenizer_n_vocab_get(t), SPM_N);
    cr_assert_eq(nexttok_tokenizer_bos_get(t), SPM_BOS);
    cr_assert_eq(nexttok_tokenizer_eos_get(t), SPM_EOS);
    cr_assert_eq(nexttok_tokenizer_unk_get(t), SPM_UNK);
    cr_assert_eq(nexttok_tokenizer_pad_get(t), -1);
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, SPM_BYTE0), NEXTTOK_TOKEN_BYTE);
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, SPM_TOOL), NEXTTOK_TOKEN_USER_DEFINED);
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, SPM_N), NEXTTOK_TOKEN_UNDEFINED);
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, -1), NEXTTOK_TOKEN_UNDEFINED);
    cr_assert(nexttok_tokenizer_is_control(t, SPM_EOS));
    cr_assert(!nexttok_tokenizer_is_control(t, SPM_A));
    cr_assert(!nexttok_tokenizer_is_control(t, SPM_N));
    cr_assert_eq(nexttok_tokenizer_n_vocab_get(NULL), 0);
    cr_assert_eq(nexttok_tokenizer_bos_get(NULL), -1);
    nexttok_tokenizer_free(t);
    nexttok_tokenizer_free(NULL);
}

Test(tokenizer_spm, add_flags_and_prefix_come_from_metadata)
{
    nt_gw *w = spm_writer();
    nt_gw_add_bool(w, "tokenizer.ggml.add_bos_token", false);
    nt_gw_add_bool(w, "tokenizer.ggml.add_eos_token", true);
    nt_gw_add_bool(w, "tokenizer.ggml.add_space_prefix", false);
    nexttok_tokenizer *t = make(w);
    EXPECT_IDS(t, "a b", NEXTTOK_ENCODE_ADD_SPECIAL, SPM_A, SPM_WS, SPM_B, SPM_EOS);
    /* Without the prefix, decoding keeps a leading space. */
    EXPECT_TEXT(t, 0, " a", SPM_WS_A);
    nexttok_tokenizer_free(t);
}

static nexttok_tokenizer *spm_named(const char *name)
{
    nt_gw *w = spm_writer();
    nt_gw_add_str(w, "general.name", name);
    return make(w);
}

/* llama.cpp's rule: a general.name containing "phi-3" or "phi3" (any case)
 * gives every special token Hugging Face's rstrip, except <unk>, <s> and
 * <|endoftext|>. The ids below follow from dropping the white space after
 * the token and then encoding the rest as usual (the dummy prefix goes
 * before text that follows a special token). */
Test(tokenizer_spm, phi3_special_tokens_eat_the_white_space_after_them)
{
    nexttok_tokenizer *t = spm_named("Phi-3 Mini 4K Instruct");
    /* "<tool>\n a": "\n " is dropped, "a" -> WS a */
    EXPECT_IDS(t, "<tool>\n a", 0, SPM_TOOL, SPM_WS_A);
    /* "</s>  b" -> "b" -> WS, b ("WS b" is no token) */
    EXPECT_IDS(t, "</s>  b", NEXTTOK_ENCODE_PARSE_SPECIAL, SPM_EOS, SPM_WS, SPM_B);
    /* white space before the token stays (that would be lstrip) */
    EXPECT_IDS(t, "a <tool>", 0, SPM_WS_A, SPM_WS, SPM_TOOL);
    /* the three exceptions keep what follows: " a" -> WS WS a */
    EXPECT_IDS(t, "<s> a", NEXTTOK_ENCODE_PARSE_SPECIAL, SPM_BOS, SPM_WS, SPM_WS_A);
    EXPECT_IDS(t, "<unk> a", NEXTTOK_ENCODE_PARSE_SPECIAL, SPM_UNK, SPM_WS, SPM_WS_A);
    /* nothing left after the token: no text fragment, no dummy prefix */
    EXPECT_IDS(t, "<tool> \t", 0, SPM_TOOL);
    nexttok_tokenizer_free(t);
    t = spm_named("microsoft/phi3-medium");
    EXPECT_IDS(t, "<tool> a", 0, SPM_TOOL, SPM_WS_A);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_spm, other_names_keep_the_white_space_after_special_tokens)
{
    /* "\n a" with the prefix is WS, <0x0A>, WS a */
    static const char *const names[] = {"Phi 3.5 Mini Instruct", "Phi 4 Mini Instruct", "Gemma 2 2b"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        nexttok_tokenizer *t = spm_named(names[i]);
        EXPECT_IDS(t, "<tool>\n a", 0, SPM_TOOL, SPM_WS, SPM_BYTE0 + '\n', SPM_WS_A);
        nexttok_tokenizer_free(t);
    }
    nexttok_tokenizer *t = make(spm_writer());
    EXPECT_IDS(t, "</s> a", NEXTTOK_ENCODE_PARSE_SPECIAL, SPM_EOS, SPM_WS, SPM_WS_A);
    nexttok_tokenizer_free(t);
}

/* --- a Gemma-shaped SentencePiece vocabulary ---------------------------------
 * Gemma's ids: 0 <pad>, 1 <eos>, 2 <bos>, 3 <unk>; then 4 <start_of_turn>
 * (control), 5 <end_of_turn> (user-defined, as some converted files have
 * it), 6..261 <0x00>..<0xFF>, 262 "us", 263 "er", 264 "user". No token for
 * U+2581, so a dummy prefix would show as its three bytes. Gemma's GGUF
 * files say add_space_prefix false. */
enum { GM_PAD, GM_EOS, GM_BOS, GM_UNK, GM_SOT, GM_EOT, GM_BYTE0, GM_US = GM_BYTE0 + 256, GM_ER, GM_USER,
       GM_N };

static nexttok_tokenizer *gemma_like(bool space_prefix_key)
{
    static char bytes[256][7];
    const char *toks[GM_N] = {"<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"};
    float scores[GM_N] = {0};
    int32_t types[GM_N] = {NEXTTOK_TOKEN_CONTROL, NEXTTOK_TOKEN_CONTROL, NEXTTOK_TOKEN_CONTROL,
                           NEXTTOK_TOKEN_UNKNOWN, NEXTTOK_TOKEN_CONTROL, NEXTTOK_TOKEN_USER_DEFINED};
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[GM_BYTE0 + b] = bytes[b];
        types[GM_BYTE0 + b] = NEXTTOK_TOKEN_BYTE;
    }
    toks[GM_US] = "us", scores[GM_US] = -1.0f, types[GM_US] = NEXTTOK_TOKEN_NORMAL;
    toks[GM_ER] = "er", scores[GM_ER] = -2.0f, types[GM_ER] = NEXTTOK_TOKEN_NORMAL;
    toks[GM_USER] = "user", scores[GM_USER] = -0.5f, types[GM_USER] = NEXTTOK_TOKEN_NORMAL;
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "gemma");
    nt_gw_add_str(w, "tokenizer.ggml.model", "llama");
    nt_gw_add_str(w, "tokenizer.ggml.pre", "default");
    nt_gw_add_arr_str(w, "tokenizer.ggml.tokens", toks, GM_N);
    nt_gw_add_arr(w, "tokenizer.ggml.scores", NT_GGUF_FLOAT32, scores, GM_N);
    nt_gw_add_arr(w, "tokenizer.ggml.token_type", NT_GGUF_INT32, types, GM_N);
    nt_gw_add_u32(w, "tokenizer.ggml.bos_token_id", GM_BOS);
    nt_gw_add_u32(w, "tokenizer.ggml.eos_token_id", GM_EOS);
    nt_gw_add_u32(w, "tokenizer.ggml.unknown_token_id", GM_UNK);
    nt_gw_add_u32(w, "tokenizer.ggml.padding_token_id", GM_PAD);
    if (space_prefix_key) nt_gw_add_bool(w, "tokenizer.ggml.add_space_prefix", false);
    return make(w);
}

Test(tokenizer_spm, gemma_turns_without_a_space_prefix)
{
    nexttok_tokenizer *t = gemma_like(true);
    /* "user": us (-1) merges before er (-2), then us+er is "user". "H", "i"
     * and "\n" are no tokens: their bytes. No U+2581 anywhere, since the
     * prefix is off. */
    EXPECT_IDS(t, "<start_of_turn>user\nHi<end_of_turn>\n",
               NEXTTOK_ENCODE_ADD_SPECIAL | NEXTTOK_ENCODE_PARSE_SPECIAL, GM_BOS, GM_SOT, GM_USER,
               GM_BYTE0 + '\n', GM_BYTE0 + 'H', GM_BYTE0 + 'i', GM_EOT, GM_BYTE0 + '\n');
    cr_assert_eq(nexttok_tokenizer_bos_get(t), GM_BOS);
    cr_assert_eq(nexttok_tokenizer_pad_get(t), GM_PAD);
    /* <end_of_turn> is an end-of-generation name, so a control token: not
     * matched in plain text, and skipped as special when decoding. */
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, GM_EOT), NEXTTOK_TOKEN_CONTROL);
    EXPECT_IDS(t, "x<end_of_turn>", 0, GM_BYTE0 + 'x', GM_BYTE0 + '<', GM_BYTE0 + 'e', GM_BYTE0 + 'n',
               GM_BYTE0 + 'd', GM_BYTE0 + '_', GM_BYTE0 + 'o', GM_BYTE0 + 'f', GM_BYTE0 + '_',
               GM_BYTE0 + 't', GM_BYTE0 + 'u', GM_BYTE0 + 'r', GM_BYTE0 + 'n', GM_BYTE0 + '>');
    EXPECT_TEXT(t, NEXTTOK_DECODE_SKIP_SPECIAL, "user\n", GM_BOS, GM_SOT, GM_USER, GM_EOT,
                GM_BYTE0 + '\n');
    EXPECT_TEXT(t, 0, "<start_of_turn>user<end_of_turn>", GM_SOT, GM_USER, GM_EOT);
    nexttok_tokenizer_free(t);

    /* Without the key the SentencePiece default (a prefix) holds: U+2581's
     * three bytes lead each text fragment. */
    t = gemma_like(false);
    EXPECT_IDS(t, "<start_of_turn>user", NEXTTOK_ENCODE_PARSE_SPECIAL, GM_SOT, GM_BYTE0 + 0xE2,
               GM_BYTE0 + 0x96, GM_BYTE0 + 0x81, GM_USER);
    nexttok_tokenizer_free(t);
}

/* A SentencePiece vocabulary of <unk>, <s>, </s> and the given tokens, all
 * of type `type`; returns the loaded tokenizer. */
static nexttok_tokenizer *spm_with(const char *const *extra, int n_extra, int32_t type)
{
    const char *toks[16] = {"<unk>", "<s>", "</s>"};
    int32_t types[16] = {NEXTTOK_TOKEN_UNKNOWN, NEXTTOK_TOKEN_CONTROL, NEXTTOK_TOKEN_CONTROL};
    float scores[16] = {0};
    cr_assert_leq(n_extra, 13);
    for (int i = 0; i < n_extra; i++) toks[3 + i] = extra[i], types[3 + i] = type;
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "tokenizer.ggml.model", "llama");
    nt_gw_add_arr_str(w, "tokenizer.ggml.tokens", toks, (uint64_t)(3 + n_extra));
    nt_gw_add_arr(w, "tokenizer.ggml.scores", NT_GGUF_FLOAT32, scores, (uint64_t)(3 + n_extra));
    nt_gw_add_arr(w, "tokenizer.ggml.token_type", NT_GGUF_INT32, types, (uint64_t)(3 + n_extra));
    return make(w);
}

Test(tokenizer_types, end_of_generation_names_are_control)
{
    static const char *const eog[] = {"<|im_end|>", "<|end_of_text|>", "<|endoftext|>", "<|end|>",
                                      "<|eot_id|>", "<end_of_turn>"};
    nexttok_tokenizer *t = spm_with(eog, 6, NEXTTOK_TOKEN_USER_DEFINED);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(nexttok_tokenizer_token_type_get(t, 3 + i), NEXTTOK_TOKEN_CONTROL, "%s", eog[i]);
    nexttok_tokenizer_free(t);
    /* other names keep their type */
    static const char *const other[] = {"<start_of_turn>", "<|im_start|>", "<|end_of_turn|>"};
    t = spm_with(other, 3, NEXTTOK_TOKEN_USER_DEFINED);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(nexttok_tokenizer_token_type_get(t, 3 + i), NEXTTOK_TOKEN_USER_DEFINED, "%s", other[i]);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_types, harmony_framing_tokens_are_user_defined)
{
    /* gpt-oss: with <|return|> and <|call|> present, <|end|> ends no
     * generation and llama.cpp makes it user-defined, as its framing tokens */
    static const char *const harmony[] = {"<|end|>", "<|return|>", "<|call|>", "<|channel|>", "<|start|>"};
    nexttok_tokenizer *t = spm_with(harmony, 5, NEXTTOK_TOKEN_CONTROL);
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, 3), NEXTTOK_TOKEN_USER_DEFINED);
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, 4), NEXTTOK_TOKEN_CONTROL);
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, 5), NEXTTOK_TOKEN_CONTROL);
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, 6), NEXTTOK_TOKEN_USER_DEFINED);
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, 7), NEXTTOK_TOKEN_USER_DEFINED);
    nexttok_tokenizer_free(t);
    /* without <|call|>, <|end|> stays control */
    t = spm_with(harmony, 2, NEXTTOK_TOKEN_CONTROL);
    cr_assert_eq(nexttok_tokenizer_token_type_get(t, 3), NEXTTOK_TOKEN_CONTROL);
    nexttok_tokenizer_free(t);
}

/* --- byte-level BPE ------------------------------------------------------- */

Test(tokenizer_bpe, merge_rank_decides)
{
    nexttok_tokenizer *t = make(bpe_writer(true));
    EXPECT_IDS(t, "abc", 0, 'a', BPE_BC);
    /* " abc" is one pre-token; the space is byte-level 'Ġ' (id 32 here). */
    EXPECT_IDS(t, " abc", 0, ' ', 'a', BPE_BC);
    nexttok_tokenizer_free(t);
    t = make(bpe_writer(false));
    EXPECT_IDS(t, "abc", 0, BPE_AB, 'c');
    /* Pre-tokens never merge across: "ab" and " bc" are separate words. */
    EXPECT_IDS(t, "ab bc", 0, BPE_AB, ' ', BPE_BC);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_bpe, llama3_pre_tokens_skip_merges_and_add_bos)
{
    /* llama.cpp (after Hugging Face's ignore_merges) takes a pre-token that
     * is itself a token as is, for the llama3 family, which adds BOS. */
    nt_gw *w = nt_gw_new();
    bpe_tokens(w, "llama-bpe");
    const char *merges[] = {"b c"};
    nt_gw_add_arr_str(w, "tokenizer.ggml.merges", merges, 1);
    nt_gw_add_u32(w, "tokenizer.ggml.bos_token_id", BPE_END);
    nexttok_tokenizer *t = make(w);
    EXPECT_IDS(t, "xyz", NEXTTOK_ENCODE_ADD_SPECIAL, BPE_END, BPE_XYZ);
    EXPECT_IDS(t, "xyzbc", 0, 'x', 'y', 'z', BPE_BC);
    nexttok_tokenizer_free(t);
    t = make(bpe_writer(true));
    EXPECT_IDS(t, "xyz", NEXTTOK_ENCODE_ADD_SPECIAL, 'x', 'y', 'z');
    nexttok_tokenizer_free(t);
}

Test(tokenizer_bpe, special_tokens_and_bos)
{
    nexttok_tokenizer *t = make(bpe_writer(true));
    EXPECT_IDS(t, "a<|end|>", NEXTTOK_ENCODE_PARSE_SPECIAL, 'a', BPE_END);
    EXPECT_IDS(t, "a<u>", 0, 'a', BPE_USER);
    /* A BPE vocabulary adds nothing unless it says so. */
    EXPECT_IDS(t, "a", NEXTTOK_ENCODE_ADD_SPECIAL, 'a');
    cr_assert_eq(nexttok_tokenizer_bos_get(t), -1);
    nexttok_tokenizer_free(t);

    nt_gw *w = bpe_writer(true);
    nt_gw_add_u32(w, "tokenizer.ggml.bos_token_id", BPE_END);
    nt_gw_add_bool(w, "tokenizer.ggml.add_bos_token", true);
    t = make(w);
    EXPECT_IDS(t, "a", NEXTTOK_ENCODE_ADD_SPECIAL, BPE_END, 'a');
    EXPECT_IDS(t, "a", 0, 'a');
    nexttok_tokenizer_free(t);
}

Test(tokenizer_bpe, decode_maps_characters_back_to_bytes)
{
    nexttok_tokenizer *t = make(bpe_writer(true));
    EXPECT_TEXT(t, 0, " abc", ' ', 'a', BPE_BC);
    EXPECT_TEXT(t, 0, "\n\xC3\xA9", '\n', 0xC3, 0xA9);
    EXPECT_TEXT(t, 0, "a<|end|>", 'a', BPE_END);
    EXPECT_TEXT(t, NEXTTOK_DECODE_SKIP_SPECIAL, "a", 'a', BPE_END);
    /* Invalid UTF-8 becomes U+FFFD before the byte-level map (llama.cpp). */
    EXPECT_IDS(t, "\xFF", 0, 0xEF, 0xBF, 0xBD);
    EXPECT_IDS(t, "a\xC3", 0, 'a', 0xEF, 0xBF, 0xBD);
    nexttok_tokenizer_free(t);
}

/* --- buffer protocol ------------------------------------------------------ */

Test(tokenizer_api, buffer_too_small_reports_the_size_needed)
{
    nexttok_tokenizer *t = make(spm_writer());
    const char *s = "a b ab";
    size_t n = 0;
    cr_assert_eq(nexttok_tokenizer_encode(t, s, strlen(s), 0, NULL, 0, &n), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(n, 5); /* WS a, WS, b, WS, ab */
    cr_assert_str_neq(nexttok_error_message(), "");
    int32_t ids[8] = {0};
    size_t m = 0;
    cr_assert_eq(nexttok_tokenizer_encode(t, s, strlen(s), 0, ids, n - 1, &m), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(m, n);
    cr_assert_eq(ids[n - 1], 0, "wrote past capacity");
    cr_assert_eq(nexttok_tokenizer_encode(t, s, strlen(s), 0, ids, n, &m), NEXTTOK_OK);
    cr_assert_eq(m, n);
    cr_assert_str_eq(nexttok_error_message(), "");
    int32_t want[] = {SPM_WS_A, SPM_WS, SPM_B, SPM_WS, SPM_AB};
    cr_assert_arr_eq(ids, want, sizeof want);

    char text[16] = {0};
    size_t len = 0;
    cr_assert_eq(nexttok_tokenizer_decode(t, ids, n, 0, NULL, 0, &len), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(len, 6);
    cr_assert_eq(nexttok_tokenizer_decode(t, ids, n, 0, text, 5, &len), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(len, 6);
    cr_assert_eq(text[5], 0, "wrote past capacity");
    cr_assert_eq(nexttok_tokenizer_decode(t, ids, n, 0, text, 6, &len), NEXTTOK_OK);
    cr_assert(len == 6 && memcmp(text, "a b ab", 6) == 0);

    cr_assert_eq(nexttok_tokenizer_piece_get(t, SPM_WS_A, text, 1, &len), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(len, 2);
    nexttok_tokenizer_free(t);
}

/* Found by fuzzing (tests/fuzz/fuzz_tokenizer): a size query (text NULL,
 * capacity 0) over a token whose piece is empty (the dummy-prefix space as
 * first token) did NULL + 0 and memcpy(NULL, p, 0), undefined behaviour that
 * a -Db_sanitize=address,undefined build reports and aborts on. */
Test(tokenizer_api, size_query_with_empty_pieces)
{
    nexttok_tokenizer *t = make(spm_writer());
    int32_t ids[] = {SPM_WS, SPM_WS, SPM_A};
    size_t len = 99;
    cr_assert_eq(nexttok_tokenizer_decode(t, ids, 1, 0, NULL, 0, &len), NEXTTOK_OK);
    cr_assert_eq(len, 0);
    cr_assert_eq(nexttok_tokenizer_decode(t, ids, 3, 0, NULL, 0, &len), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(len, 2);
    nexttok_decoder *d;
    cr_assert_eq(nexttok_decoder_create(t, 0, &d), NEXTTOK_OK);
    len = 99;
    cr_assert_eq(nexttok_decoder_push(d, SPM_WS, NULL, 0, &len), NEXTTOK_OK);
    cr_assert_eq(len, 0);
    cr_assert_eq(nexttok_decoder_push(d, SPM_A, NULL, 0, &len), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(len, 1);
    nexttok_decoder_free(d);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_api, bad_arguments)
{
    nexttok_tokenizer *t = make(spm_writer());
    size_t n = 99;
    int32_t ids[4];
    char text[8];
    cr_assert_eq(nexttok_tokenizer_encode(NULL, "a", 1, 0, ids, 4, &n), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_tokenizer_encode(t, NULL, 1, 0, ids, 4, &n), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_tokenizer_encode(t, NULL, 0, 0, ids, 4, &n), NEXTTOK_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(nexttok_tokenizer_encode(t, "a", 1, 0, NULL, 4, &n), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_tokenizer_encode(t, "a", 1, 0x80, ids, 4, &n), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_tokenizer_encode(t, "a", 1, 0, ids, 4, NULL), NEXTTOK_ERR_INVALID_ARGUMENT);
    int32_t bad[] = {SPM_A, SPM_N};
    cr_assert_eq(nexttok_tokenizer_decode(t, bad, 2, 0, text, 8, &n), NEXTTOK_ERR_TOKEN_RANGE);
    cr_assert(strstr(nexttok_error_message(), "265"), "%s", nexttok_error_message());
    bad[1] = -1;
    cr_assert_eq(nexttok_tokenizer_decode(t, bad, 2, 0, text, 8, &n), NEXTTOK_ERR_TOKEN_RANGE);
    cr_assert_eq(nexttok_tokenizer_piece_get(t, SPM_N, text, 8, &n), NEXTTOK_ERR_TOKEN_RANGE);
    cr_assert_eq(nexttok_tokenizer_decode(t, NULL, 1, 0, text, 8, &n), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_tokenizer_decode(t, bad, 1, 0, NULL, 8, &n), NEXTTOK_ERR_INVALID_ARGUMENT);
    nexttok_decoder *d = (nexttok_decoder *)1;
    cr_assert_eq(nexttok_decoder_create(NULL, 0, &d), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_null(d);
    cr_assert_eq(nexttok_decoder_create(t, 0, &d), NEXTTOK_OK);
    cr_assert_eq(nexttok_decoder_push(d, SPM_N, text, 8, &n), NEXTTOK_ERR_TOKEN_RANGE);
    cr_assert_eq(nexttok_decoder_push(NULL, SPM_A, text, 8, &n), NEXTTOK_ERR_INVALID_ARGUMENT);
    nexttok_decoder_free(d);
    nexttok_decoder_free(NULL);
    nexttok_tokenizer_free(t);
}

/* --- streaming decoder ---------------------------------------------------- */

static size_t push(nexttok_decoder *d, int32_t tok, char *out)
{
    size_t len = 0;
    nexttok_status st = nexttok_decoder_push(d, tok, out, 64, &len);
    cr_assert_eq(st, NEXTTOK_OK, "%s", nexttok_error_message());
    return len;
}

Test(tokenizer_decoder, characters_split_across_tokens_wait)
{
    nexttok_tokenizer *t = make(spm_writer());
    nexttok_decoder *d;
    cr_assert_eq(nexttok_decoder_create(t, 0, &d), NEXTTOK_OK);
    char out[64];
    /* U+1F642 in four byte tokens: nothing until the last one. */
    const uint8_t emoji[] = {0xF0, 0x9F, 0x99, 0x82};
    for (int i = 0; i < 3; i++) cr_assert_eq(push(d, SPM_BYTE0 + emoji[i], out), 0, "byte %d", i);
    cr_assert_eq(push(d, SPM_BYTE0 + emoji[3], out), 4);
    cr_assert_arr_eq(out, emoji, 4);
    cr_assert_eq(push(d, SPM_WS_A, out), 2);
    cr_assert_arr_eq(out, " a", 2);
    /* A too-small buffer changes nothing: the same push succeeds after. */
    cr_assert_eq(push(d, SPM_BYTE0 + 0xC3, out), 0);
    size_t len = 0;
    cr_assert_eq(nexttok_decoder_push(d, SPM_BYTE0 + 0xA9, out, 1, &len), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(len, 2);
    cr_assert_eq(push(d, SPM_BYTE0 + 0xA9, out), 2);
    cr_assert_arr_eq(out, "\xC3\xA9", 2);
    /* Bytes that can never complete a character are not held back. */
    cr_assert_eq(push(d, SPM_BYTE0 + 0x80, out), 1);
    cr_assert_eq((uint8_t)out[0], 0x80);
    /* An unfinished character followed by ASCII goes out as it is. */
    cr_assert_eq(push(d, SPM_BYTE0 + 0xE2, out), 0);
    cr_assert_eq(push(d, SPM_B, out), 2);
    cr_assert_arr_eq(out, "\xE2" "b", 2);
    nexttok_decoder_free(d);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_decoder, flush_replaces_the_unfinished_tail_and_resets)
{
    nexttok_tokenizer *t = make(spm_writer());
    nexttok_decoder *d;
    cr_assert_eq(nexttok_decoder_create(t, NEXTTOK_DECODE_SKIP_SPECIAL, &d), NEXTTOK_OK);
    char out[64];
    size_t len = 99;
    cr_assert_eq(nexttok_decoder_flush(d, out, sizeof out, &len), NEXTTOK_OK);
    cr_assert_eq(len, 0);
    /* A skipped BOS does not count as the first token. */
    cr_assert_eq(push(d, SPM_BOS, out), 0);
    cr_assert_eq(push(d, SPM_WS_A, out), 1);
    cr_assert_eq(out[0], 'a');
    cr_assert_eq(push(d, SPM_BYTE0 + 0xE2, out), 0);
    cr_assert_eq(push(d, SPM_BYTE0 + 0x96, out), 0);
    cr_assert_eq(nexttok_decoder_flush(d, out, 2, &len), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(len, 3);
    cr_assert_eq(nexttok_decoder_flush(d, out, sizeof out, &len), NEXTTOK_OK);
    cr_assert(len == 3 && memcmp(out, "\xEF\xBF\xBD", 3) == 0);
    /* After the reset the next token is first again. */
    cr_assert_eq(push(d, SPM_WS_A, out), 1);
    nexttok_decoder_free(d);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_decoder, pushes_add_up_to_decode)
{
    nexttok_tokenizer *t = make(spm_writer());
    const int32_t ids[] = {SPM_BOS, SPM_WS_A, SPM_BYTE0 + 0xE2, SPM_BYTE0 + 0x82, SPM_BYTE0 + 0xAC,
                           SPM_WS, SPM_B, SPM_EOS, SPM_BYTE0 + 0xC3};
    for (uint32_t flags = 0; flags <= NEXTTOK_DECODE_SKIP_SPECIAL; flags++) {
        char whole[128], streamed[128];
        size_t n_whole = 0, n = 0, len;
        cr_assert_eq(nexttok_tokenizer_decode(t, ids, 9, flags, whole, sizeof whole, &n_whole), NEXTTOK_OK);
        nexttok_decoder *d;
        cr_assert_eq(nexttok_decoder_create(t, flags, &d), NEXTTOK_OK);
        for (int i = 0; i < 9; i++) {
            cr_assert_eq(nexttok_decoder_push(d, ids[i], streamed + n, sizeof streamed - n, &len), NEXTTOK_OK);
            n += len;
        }
        /* The final lone 0xC3 is held back, then flushed as U+FFFD. */
        cr_assert_eq(n, n_whole - 1);
        cr_assert_arr_eq(streamed, whole, n);
        cr_assert_eq(nexttok_decoder_flush(d, streamed + n, sizeof streamed - n, &len), NEXTTOK_OK);
        cr_assert(len == 3 && memcmp(streamed + n, "\xEF\xBF\xBD", 3) == 0);
        nexttok_decoder_free(d);
    }
    nexttok_tokenizer_free(t);
}

/* --- arbitrary bytes -------------------------------------------------------- */

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
static bool utf8_valid(const char *p, size_t n)
{
    const uint8_t *s = (const uint8_t *)p;
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (k == 0 || i + k > n) return false;
        uint32_t cp = k == 1 ? c : c & (0xFF >> (k + 1));
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += k;
    }
    return true;
}

/* Random byte strings, biased towards UTF-8 lead and continuation bytes,
 * spaces and the vocabulary's letters: encode must succeed with ids in
 * range, and decode must take them. */
static void fuzz(nexttok_tokenizer *t, bool exact_round_trip, int rounds)
{
    static const uint8_t alphabet[] = {'a', 'b', 'c', ' ', ' ', '\n', '<', '>', '\'', '1',
                                       0x80, 0xBF, 0xC3, 0xE2, 0xF0, 0xFF, 0xF8, 0x00, 0x96, 0x81};
    uint64_t s = 0x243F6A8885A308D3ull;
    int32_t *ids = malloc(4096 * sizeof *ids);
    char text[300], back[8192];
    for (int r = 0; r < rounds; r++) {
        size_t len = rng(&s) % 200;
        if (r % 2) { /* valid UTF-8: ASCII, spaces and 2-4 byte characters */
            static const char *const pieces[] = {"a", "b", "c", " ", "  ", "\n", "\t", "\xC3\xA9",
                                                 "\xE2\x82\xAC", "\xF0\x9F\x99\x82", "<", "'s", "1"};
            size_t at = 0;
            while (at + 4 < len) {
                const char *p = pieces[rng(&s) % (sizeof pieces / sizeof pieces[0])];
                memcpy(text + at, p, strlen(p));
                at += strlen(p);
            }
            len = at;
        } else {
            for (size_t i = 0; i < len; i++) {
                uint64_t x = rng(&s);
                text[i] = (char)(x % 3 ? alphabet[(x >> 8) % sizeof alphabet] : (uint8_t)(x >> 16));
            }
        }
        uint32_t flags = (uint32_t)(rng(&s) % 4);
        size_t n = 0;
        nexttok_status st = nexttok_tokenizer_encode(t, text, len, flags, ids, 4096, &n);
        cr_assert_eq(st, NEXTTOK_OK, "round %d: %s", r, nexttok_error_message());
        for (size_t i = 0; i < n; i++)
            cr_assert(ids[i] >= 0 && ids[i] < nexttok_tokenizer_n_vocab_get(t), "round %d: id %d", r, ids[i]);
        size_t blen = 0;
        st = nexttok_tokenizer_decode(t, ids, n, 0, back, sizeof back, &blen);
        cr_assert_eq(st, NEXTTOK_OK, "round %d: %s", r, nexttok_error_message());
        /* SentencePiece with byte fallback spells any valid UTF-8 exactly,
         * unless it holds U+2581 itself or special-token text. (Invalid
         * UTF-8 is cut into symbols by lead bytes after spaces became U+2581,
         * so a lead byte before a space swallows the escaped space, as in
         * llama.cpp.) */
        bool plain = flags == 0 && utf8_valid(text, len) && !memmem(text, len, WS, 3) &&
                     !memmem(text, len, "<tool>", 6);
        if (exact_round_trip && plain)
            cr_assert(blen == len && memcmp(back, text, len) == 0, "round %d: round trip differs: %zu vs %zu bytes", r, blen, len);
    }
    free(ids);
}

Test(tokenizer_robust, arbitrary_bytes_small_vocabularies)
{
    nexttok_tokenizer *t = make(spm_writer());
    fuzz(t, true, 3000);
    nexttok_tokenizer_free(t);
    t = make(bpe_writer(true));
    fuzz(t, true, 3000);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_robust, arbitrary_bytes_fixture_vocabularies)
{
    const char *names[] = {"vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-llama-spm.gguf",
                           "vocab/ggml-vocab-starcoder.gguf"};
    for (int i = 0; i < 3; i++) {
        char path[1024];
        if (!nt_test_fixture_path(names[i], path, sizeof path)) cr_skip(NT_SKIP_MSG);
        nexttok_tokenizer *t;
        cr_assert_eq(nexttok_tokenizer_load(path, &t), NEXTTOK_OK, "%s", nexttok_error_message());
        fuzz(t, true, 1000);
        nexttok_tokenizer_free(t);
    }
}

/* --- malformed metadata ----------------------------------------------------- */

typedef struct bad_vocab {
    const char *model;      /* tokenizer.ggml.model, NULL: none */
    int n_scores;           /* -1: the token count */
    int n_types;
    int type_value;         /* written for token 0 */
    const char *merge;      /* an extra merge */
    int64_t bos;            /* -2: none written */
    bool duplicate;         /* token 1 repeats token 0 */
    bool no_merges;
    bool scores_as_ints;
    bool bad_byte_token;    /* a byte-typed "<0xZZ>" */
    const char *pre;
    int add_bos;            /* -1 absent, 0/1 written */
} bad_vocab;

static bad_vocab good(const char *model)
{
    return (bad_vocab){model, -1, -1, NEXTTOK_TOKEN_NORMAL, NULL, -2, false, false, false, false, NULL, -1};
}

static nexttok_status load_bad(bad_vocab b)
{
    const char *toks[] = {"a", "b", "ab", "<0x41>"};
    int n = 4;
    float scores[8] = {0};
    int32_t iscores[4] = {0};
    int32_t types[8] = {b.type_value, 1, 1, b.bad_byte_token ? 6 : 1};
    if (b.duplicate) toks[1] = "a";
    if (b.bad_byte_token) toks[3] = "<0xZZ>";
    nt_gw *w = nt_gw_new();
    if (b.model) nt_gw_add_str(w, "tokenizer.ggml.model", b.model);
    if (b.pre) nt_gw_add_str(w, "tokenizer.ggml.pre", b.pre);
    nt_gw_add_arr_str(w, "tokenizer.ggml.tokens", toks, n);
    if (b.scores_as_ints) nt_gw_add_arr(w, "tokenizer.ggml.scores", NT_GGUF_INT32, iscores, n);
    else nt_gw_add_arr(w, "tokenizer.ggml.scores", NT_GGUF_FLOAT32, scores, b.n_scores < 0 ? n : b.n_scores);
    nt_gw_add_arr(w, "tokenizer.ggml.token_type", NT_GGUF_INT32, types, b.n_types < 0 ? n : b.n_types);
    if (!b.no_merges) {
        const char *merges[] = {"a b", b.merge};
        nt_gw_add_arr_str(w, "tokenizer.ggml.merges", merges, b.merge ? 2 : 1);
    }
    if (b.bos != -2) nt_gw_add_i64(w, "tokenizer.ggml.bos_token_id", b.bos);
    if (b.add_bos >= 0) nt_gw_add_bool(w, "tokenizer.ggml.add_bos_token", b.add_bos);
    nexttok_tokenizer *t = (nexttok_tokenizer *)1;
    nexttok_status st = from_writer(w, &t);
    if (st == NEXTTOK_OK) nexttok_tokenizer_free(t);
    else cr_assert_null(t, "a failed load must leave no tokenizer");
    return st;
}

#define EXPECT_BAD(b, status, key)                                                             \
    do {                                                                                       \
        nexttok_status st_ = load_bad(b);                                                      \
        cr_assert_eq(st_, status, "expected status %d, got %d (%s)", status, st_,              \
                     nexttok_error_message());                                                 \
        cr_assert(strstr(nexttok_error_message(), key), "message \"%s\" does not name %s",     \
                  nexttok_error_message(), key);                                               \
    } while (0)

Test(tokenizer_malformed, good_baselines_load)
{
    cr_assert_eq(load_bad(good("gpt2")), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(load_bad(good("llama")), NEXTTOK_OK, "%s", nexttok_error_message());
    bad_vocab b = good("gpt2");
    b.pre = ""; /* an empty pre-tokenizer name means the default, as in llama.cpp */
    cr_assert_eq(load_bad(b), NEXTTOK_OK, "%s", nexttok_error_message());
}

Test(tokenizer_malformed, each_inconsistency_names_its_key)
{
    bad_vocab b;
    b = good("gpt2"), b.n_scores = 3;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.scores");
    b = good("llama"), b.n_scores = 5;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.scores");
    b = good("llama"), b.scores_as_ints = true;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.scores");
    b = good("llama"), b.n_types = 2;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.token_type");
    b = good("llama"), b.type_value = 9;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.token_type");
    b = good("gpt2"), b.merge = "a c";
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.merges");
    b = good("gpt2"), b.merge = "b a"; /* "ba" is no token */
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.merges");
    b = good("gpt2"), b.merge = "ab";
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.merges");
    b = good("gpt2"), b.no_merges = true;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.merges");
    b = good("gpt2"), b.bos = 4;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.bos_token_id");
    b = good("llama"), b.bos = -7;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.bos_token_id");
    b = good("llama"), b.bos = -1, b.add_bos = 1;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.add_bos_token");
    b = good("llama"), b.duplicate = true;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.tokens");
    b = good("llama"), b.bad_byte_token = true;
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.tokens");
    b = good("wordpiece2000");
    EXPECT_BAD(b, NEXTTOK_ERR_FORMAT, "tokenizer.ggml.model");
    b = good("bert");
    EXPECT_BAD(b, NEXTTOK_ERR_UNSUPPORTED, "tokenizer.ggml.model");
    b = good(NULL);
    EXPECT_BAD(b, NEXTTOK_ERR_NOT_FOUND, "tokenizer.ggml.model");
    b = good("gpt2"), b.pre = "no-such-pre";
    EXPECT_BAD(b, NEXTTOK_ERR_UNSUPPORTED, "tokenizer.ggml.pre");
    EXPECT_BAD(b, NEXTTOK_ERR_UNSUPPORTED, "\"no-such-pre\"");
}

/* llama.cpp falls back to its default splitting for a name it does not
 * know; that gives other tokens than the model was trained on, so here the
 * load fails and says which name. */
Test(tokenizer_malformed, unknown_pre_tokenizer_is_named)
{
    static const char *const names[] = {"qwen3", "olmo2", "granite", "gemma", "phi-3", "smollm3"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        bad_vocab b = good("gpt2");
        b.pre = names[i];
        char want[64];
        snprintf(want, sizeof want, "tokenizer.ggml.pre: unknown pre-tokenizer \"%s\"", names[i]);
        EXPECT_BAD(b, NEXTTOK_ERR_UNSUPPORTED, want);
    }
    /* an SPM vocabulary has no pre-tokenizer: its name is not looked at */
    bad_vocab b = good("llama");
    b.pre = "no-such-pre";
    cr_assert_eq(load_bad(b), NEXTTOK_OK, "%s", nexttok_error_message());
}

/* "gpt-2" followed by a NUL must not be read as "gpt-2". */
Test(tokenizer_malformed, pre_tokenizer_name_with_a_nul_is_unknown)
{
    nt_gw *w = nt_gw_new();
    bpe_tokens(w, NULL);
    nt_gw_add_strn(w, "tokenizer.ggml.pre", "gpt-2\0x", 7);
    const char *merges[] = {"b c"};
    nt_gw_add_arr_str(w, "tokenizer.ggml.merges", merges, 1);
    nexttok_tokenizer *t = NULL;
    nexttok_status st = from_writer(w, &t);
    cr_assert_eq(st, NEXTTOK_ERR_UNSUPPORTED, "%d %s", st, nexttok_error_message());
    cr_assert(strstr(nexttok_error_message(), "NUL"), "%s", nexttok_error_message());
}

Test(tokenizer_malformed, minus_one_means_no_token)
{
    /* llama.cpp's converters write -1 for "none"; add_bos then defaults off. */
    bad_vocab b = good("llama");
    b.bos = -1;
    cr_assert_eq(load_bad(b), NEXTTOK_OK, "%s", nexttok_error_message());
    b.bos = 0xFFFFFFFFll;
    cr_assert_eq(load_bad(b), NEXTTOK_OK, "%s", nexttok_error_message());
}

/* --- loading from files ------------------------------------------------------ */

Test(tokenizer_load, errors)
{
    nexttok_tokenizer *t = (nexttok_tokenizer *)1;
    cr_assert_eq(nexttok_tokenizer_load("/nonexistent/vocab.gguf", &t), NEXTTOK_ERR_IO);
    cr_assert_null(t);
    cr_assert(strstr(nexttok_error_message(), "/nonexistent/vocab.gguf"));
    cr_assert_eq(nexttok_tokenizer_load(NULL, &t), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_tokenizer_load("x", NULL), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_tokenizer_create(NULL, &t), NEXTTOK_ERR_INVALID_ARGUMENT);

    char path[] = "/tmp/nt_tok_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "not a gguf file at all", 22), 22);
    close(fd);
    cr_assert_eq(nexttok_tokenizer_load(path, &t), NEXTTOK_ERR_FORMAT);
    cr_assert_null(t);

    /* A GGUF without tokenizer metadata. */
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "llama");
    cr_assert(nt_gw_write_file(w, path));
    nt_gw_free(w);
    cr_assert_eq(nexttok_tokenizer_load(path, &t), NEXTTOK_ERR_NOT_FOUND);
    cr_assert(strstr(nexttok_error_message(), "tokenizer.ggml.model"), "%s", nexttok_error_message());

    /* A bad vocabulary in a file: the message names the file and the key. */
    w = bpe_writer(true);
    nt_gw_add_u32(w, "tokenizer.ggml.padding_token_id", 100000);
    cr_assert(nt_gw_write_file(w, path));
    nt_gw_free(w);
    cr_assert_eq(nexttok_tokenizer_load(path, &t), NEXTTOK_ERR_FORMAT);
    cr_assert(strstr(nexttok_error_message(), path) &&
              strstr(nexttok_error_message(), "tokenizer.ggml.padding_token_id"), "%s", nexttok_error_message());

    w = spm_writer();
    cr_assert(nt_gw_write_file(w, path));
    nt_gw_free(w);
    cr_assert_eq(nexttok_tokenizer_load(path, &t), NEXTTOK_OK, "%s", nexttok_error_message());
    EXPECT_IDS(t, "ab", 0, SPM_WS, SPM_AB);
    nexttok_tokenizer_free(t);
    unlink(path);
}

/* --- models and sessions -------------------------------------------------------- */

/* The tokens behind the fixtures' logits files are the texts encoded with
 * BOS as the vocabulary says: the model's tokenizer must give the same. */
static void check_model_tokens(const char *model, const char *text)
{
    char rel[256], path[1024], lpath[1024], tpath[1024];
    snprintf(rel, sizeof rel, "models/%s.gguf", model);
    if (!nt_test_fixture_path(rel, path, sizeof path)) cr_skip(NT_SKIP_MSG);
    snprintf(rel, sizeof rel, "logits/%s.%s.exact.logits", model, text);
    cr_assert(nt_test_fixture_path(rel, lpath, sizeof lpath));
    snprintf(rel, sizeof rel, "texts/%s.txt", text);
    cr_assert(nt_test_fixture_path(rel, tpath, sizeof tpath));
    nt_logits_file lf;
    cr_assert_eq(nt_logits_file_read(lpath, &lf), 0);
    size_t len;
    char *s = nt_test_read_file(tpath, &len);
    nexttok_model *m;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_tokenizer *t;
    cr_assert_eq(nexttok_tokenizer_create(m, &t), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_tokenizer_n_vocab_get(t), nexttok_model_n_vocab_get(m));
    int32_t ids[512];
    size_t n;
    cr_assert_eq(nexttok_tokenizer_encode(t, s, len, NEXTTOK_ENCODE_ADD_SPECIAL, ids, 512, &n), NEXTTOK_OK);
    cr_assert_eq(n, (size_t)lf.n, "%s %s: %zu tokens, expected %d", model, text, n, lf.n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ids[i], lf.tokens[i], "%s %s: token %zu", model, text, i);
    nexttok_tokenizer_free(t);
    nexttok_model_free(m);
    nt_logits_file_free(&lf);
    free(s);
}

/* The architecture fixtures carry aidreams260K's tokenizer keys (arch/README.md):
 * each must load from a file of its architecture and give the tokens the
 * aidreams260K logits files were made with. */
Test(tokenizer_model, arch_fixtures_tokenize_like_aidreams)
{
    static const char *const archs[] = {"qwen2",  "qwen3", "gemma",   "gemma2",   "gemma3",    "phi3",
                                        "smollm3", "olmo2", "granite", "stablelm", "starcoder2"};
    static const char *const texts[] = {"t1", "t2"};
    char rel[256], path[1024], lpath[1024], tpath[1024];
    if (!nt_test_fixture_path("arch/qwen2.gguf", path, sizeof path)) cr_skip(NT_SKIP_MSG);
    for (size_t k = 0; k < 2; k++) {
        snprintf(rel, sizeof rel, "logits/aidreams260K.%s.exact.logits", texts[k]);
        cr_assert(nt_test_fixture_path(rel, lpath, sizeof lpath));
        snprintf(rel, sizeof rel, "texts/%s.txt", texts[k]);
        cr_assert(nt_test_fixture_path(rel, tpath, sizeof tpath));
        nt_logits_file lf;
        cr_assert_eq(nt_logits_file_read(lpath, &lf), 0);
        size_t len;
        char *s = nt_test_read_file(tpath, &len);
        for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
            snprintf(rel, sizeof rel, "arch/%s.gguf", archs[a]);
            cr_assert(nt_test_fixture_path(rel, path, sizeof path), "%s missing", rel);
            nexttok_tokenizer *t;
            cr_assert_eq(nexttok_tokenizer_load(path, &t), NEXTTOK_OK, "%s", nexttok_error_message());
            int32_t ids[512];
            size_t n;
            cr_assert_eq(nexttok_tokenizer_encode(t, s, len, NEXTTOK_ENCODE_ADD_SPECIAL, ids, 512, &n),
                         NEXTTOK_OK);
            cr_assert_eq(n, (size_t)lf.n, "%s %s: %zu tokens, expected %d", archs[a], texts[k], n, lf.n);
            for (size_t i = 0; i < n; i++)
                cr_assert_eq(ids[i], lf.tokens[i], "%s %s: token %zu", archs[a], texts[k], i);
            nexttok_tokenizer_free(t);
        }
        nt_logits_file_free(&lf);
        free(s);
    }
}

Test(tokenizer_model, gpt2_tiny_t1) { check_model_tokens("gpt2-tiny-f32", "t1"); }
Test(tokenizer_model, gpt2_tiny_t2) { check_model_tokens("gpt2-tiny-f32", "t2"); }
Test(tokenizer_model, llama_tiny_t1) { check_model_tokens("llama-tiny-f32", "t1"); }
Test(tokenizer_model, llama_tiny_t2) { check_model_tokens("llama-tiny-f32", "t2"); }
Test(tokenizer_model, aidreams_t1) { check_model_tokens("aidreams260K", "t1"); }
Test(tokenizer_model, aidreams_t2) { check_model_tokens("aidreams260K", "t2"); }

Test(tokenizer_model, text_feed_is_encode_then_feed)
{
    nt_tiny_spec spec = nt_tiny_spec_default("llama");
    spec.n_vocab = SPM_N;
    spec.n_ctx = 8;
    nt_gw *w = nt_tiny_model_writer(&spec);
    spm_keys(w);
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);
    cr_assert(path);
    nexttok_model *m;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_tokenizer *t;
    cr_assert_eq(nexttok_tokenizer_create(m, &t), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session *a, *b;
    cr_assert_eq(nexttok_session_create(m, NULL, &a), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_create(m, NULL, &b), NEXTTOK_OK);

    cr_assert_eq(nexttok_session_text_feed(a, t, "a b", 3, NEXTTOK_ENCODE_ADD_SPECIAL), NEXTTOK_OK,
                 "%s", nexttok_error_message());
    const int32_t ids[] = {SPM_BOS, SPM_WS_A, SPM_WS, SPM_B};
    cr_assert_eq(nexttok_session_position_get(a), 4);
    cr_assert_eq(nexttok_session_feed(b, ids, 4, NULL, 0), NEXTTOK_OK);
    const float *la, *lb;
    cr_assert_eq(nexttok_session_logits_get(a, &la), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_logits_get(b, &lb), NEXTTOK_OK);
    cr_assert_arr_eq(la, lb, SPM_N * sizeof(float));

    /* Six more tokens overflow the 8 positions: nothing is fed. */
    cr_assert_eq(nexttok_session_text_feed(a, t, "ab ab ab", 8, 0), NEXTTOK_ERR_CONTEXT_FULL);
    cr_assert_eq(nexttok_session_position_get(a), 4);
    cr_assert_eq(nexttok_session_text_feed(a, t, "ab", 2, 0), NEXTTOK_OK);
    cr_assert_eq(nexttok_session_position_get(a), 6);
    cr_assert_eq(nexttok_session_text_feed(NULL, t, "a", 1, 0), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_text_feed(a, NULL, "a", 1, 0), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_session_text_feed(a, t, NULL, 1, 0), NEXTTOK_ERR_INVALID_ARGUMENT);

    nexttok_session_free(a);
    nexttok_session_free(b);
    nexttok_tokenizer_free(t);
    nexttok_model_free(m);
    unlink(path);
    free(path);
}

/* --- the encoders against naive versions of their definitions -------------- */

typedef struct nsym {
    size_t start, len;
} nsym;

/* SentencePiece from its definition: while some adjacent pair concatenates
 * to a token, merge the pair whose token scores highest (leftmost on ties);
 * then spell what is no token with byte tokens. Quadratic and obvious. */
static size_t naive_spm(const nexttok_tokenizer *t, const char *text, size_t len, int32_t *out)
{
    char *e = malloc(len * 3 + 3);
    size_t n = 0;
    if (t->add_space_prefix) memcpy(e, WS, 3), n = 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') memcpy(e + n, WS, 3), n += 3;
        else e[n++] = text[i];
    }
    nsym *sy = malloc((n + 1) * sizeof *sy);
    size_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t k = nt_utf8_len_from_lead((uint8_t)e[off]);
        if (k > n - off) k = n - off;
        sy[ns++] = (nsym){off, k};
        off += k;
    }
    for (;;) {
        size_t best = SIZE_MAX;
        float best_score = 0;
        for (size_t i = 0; i + 1 < ns; i++) {
            int32_t id = nt_vocab_find(t, e + sy[i].start, sy[i].len + sy[i + 1].len);
            if (id >= 0 && (best == SIZE_MAX || t->scores[id] > best_score)) best = i, best_score = t->scores[id];
        }
        if (best == SIZE_MAX) break;
        sy[best].len += sy[best + 1].len;
        memmove(sy + best + 1, sy + best + 2, (ns - best - 2) * sizeof *sy);
        ns--;
    }
    size_t m = 0;
    for (size_t i = 0; i < ns; i++) {
        int32_t id = nt_vocab_find(t, e + sy[i].start, sy[i].len);
        if (id >= 0) {
            out[m++] = id;
            continue;
        }
        for (size_t k = 0; k < sy[i].len; k++)
            if (t->byte_token[(uint8_t)e[sy[i].start + k]] >= 0) out[m++] = t->byte_token[(uint8_t)e[sy[i].start + k]];
    }
    free(sy);
    free(e);
    return m;
}

/* The tokenizer's merges as a sorted (left, right) -> rank table, searched
 * independently of its hash map. */
typedef struct nmerge {
    uint64_t key;
    int32_t rank;
} nmerge;

static int nmerge_cmp(const void *a, const void *b)
{
    uint64_t x = ((const nmerge *)a)->key, y = ((const nmerge *)b)->key;
    return x < y ? -1 : x > y;
}

static nmerge *g_merges;
static size_t g_n_merges;

static int32_t naive_rank(int32_t l, int32_t r)
{
    nmerge k = {((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1, 0};
    nmerge *m = bsearch(&k, g_merges, g_n_merges, sizeof k, nmerge_cmp);
    return m ? m->rank : -1;
}

typedef struct naive_bpe_ctx {
    const nexttok_tokenizer *t;
    const char *text;
    int32_t *out;
    size_t n;
} naive_bpe_ctx;

/* Byte-level BPE of one pre-token from its definition: byte-level text,
 * then merge the adjacent pair of lowest rank (leftmost on ties) while any
 * pair has a merge. */
static void naive_bpe_word(void *user, size_t start, size_t len)
{
    naive_bpe_ctx *c = user;
    char *w = malloc(len * 3 * 2 + 1);
    size_t n = 0;
    const char *p = c->text + start;
    char *canon = malloc(len * 3 + 1);
    size_t nc = 0;
    for (size_t i = 0; i < len;) nc += nt_utf8_encode(nt_utf8_decode_lenient(p, len, &i), canon + nc);
    nsym *sy = malloc((nc + 1) * sizeof *sy);
    for (size_t i = 0; i < nc; i++) {
        size_t k = nt_utf8_encode(nt_byte_to_cpt((uint8_t)canon[i]), w + n);
        sy[i] = (nsym){n, k};
        n += k;
    }
    size_t ns = nc;
    if (c->t->ignore_merges && nt_vocab_find(c->t, w, n) >= 0) {
        c->out[c->n++] = nt_vocab_find(c->t, w, n);
        goto done;
    }
    for (;;) {
        size_t best = SIZE_MAX;
        int32_t best_rank = 0;
        for (size_t i = 0; i + 1 < ns; i++) {
            int32_t l = nt_vocab_find(c->t, w + sy[i].start, sy[i].len);
            int32_t r = nt_vocab_find(c->t, w + sy[i + 1].start, sy[i + 1].len);
            int32_t rank = l >= 0 && r >= 0 ? naive_rank(l, r) : -1;
            if (rank >= 0 && (best == SIZE_MAX || rank < best_rank)) best = i, best_rank = rank;
        }
        if (best == SIZE_MAX) break;
        sy[best].len += sy[best + 1].len;
        memmove(sy + best + 1, sy + best + 2, (ns - best - 2) * sizeof *sy);
        ns--;
    }
    for (size_t i = 0; i < ns; i++) {
        int32_t id = nt_vocab_find(c->t, w + sy[i].start, sy[i].len);
        if (id >= 0) {
            c->out[c->n++] = id;
            continue;
        }
        for (size_t k = 0; k < sy[i].len; k++) {
            int32_t b = nt_vocab_find(c->t, w + sy[i].start + k, 1);
            if (b >= 0) c->out[c->n++] = b;
        }
    }
done:
    free(sy);
    free(canon);
    free(w);
}

static void merges_table(const nexttok_tokenizer *t)
{
    g_n_merges = 0;
    g_merges = malloc((t->merges.mask + 1) * sizeof *g_merges);
    for (size_t i = 0; i <= t->merges.mask; i++)
        if (t->merges.slots[i].key)
            g_merges[g_n_merges++] = (nmerge){t->merges.slots[i].key, t->merges.slots[i].rank};
    qsort(g_merges, g_n_merges, sizeof *g_merges, nmerge_cmp);
}

/* Texts of words, spaces, newlines, digits, multi-byte characters and the
 * odd raw byte. */
static size_t random_text(uint64_t *s, char *buf, size_t max)
{
    static const char *const pieces[] = {"the", " the", "ing", " quick", "brown", " fox", "s", "a", "e",
                                         " ", "  ", "\n", "\n\n", "\t", "'s", "'ll", "1", "23", "456",
                                         ".", ",", "!", "?", "(", "\xC3\xA9", "\xE2\x82\xAC",
                                         "\xF0\x9F\x99\x82", "\xE4\xBD\xA0\xE5\xA5\xBD", "\xD0\xBF",
                                         "Hello", "World", "x", "zz", "q"};
    size_t n = 0, target = rng(s) % max;
    while (n + 16 < target) {
        uint64_t x = rng(s);
        if (x % 40 == 0) {
            buf[n++] = (char)(x >> 8);
            continue;
        }
        const char *p = pieces[(x >> 8) % (sizeof pieces / sizeof pieces[0])];
        memcpy(buf + n, p, strlen(p));
        n += strlen(p);
    }
    return n;
}

static void compare_with_naive(nexttok_tokenizer *t, int rounds)
{
    nt_pretok *pre = NULL;
    if (t->kind == NT_VOCAB_BPE) {
        merges_table(t);
        pre = t->pretok;
    }
    uint64_t s = 0x13198A2E03707344ull;
    char text[512];
    int32_t got[2048], want[2048];
    for (int r = 0; r < rounds; r++) {
        size_t len = random_text(&s, text, sizeof text);
        size_t n = 0, m = 0;
        cr_assert_eq(nexttok_tokenizer_encode(t, text, len, 0, got, 2048, &n), NEXTTOK_OK);
        if (t->kind == NT_VOCAB_SPM) {
            m = len ? naive_spm(t, text, len, want) : 0;
        } else {
            naive_bpe_ctx c = {t, text, want, 0};
            cr_assert_eq(nt_pretok_split(pre, text, len, naive_bpe_word, &c), NEXTTOK_OK);
            m = c.n;
        }
        cr_assert_eq(n, m, "round %d (\"%.*s\"): %zu ids, naive %zu", r, (int)len, text, n, m);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(got[i], want[i], "round %d (\"%.*s\"): id %zu: %d, naive %d", r, (int)len, text, i,
                         got[i], want[i]);
    }
    free(g_merges);
    g_merges = NULL;
}

Test(tokenizer_naive, spm_fixture)
{
    char path[1024];
    if (!nt_test_fixture_path("vocab/ggml-vocab-llama-spm.gguf", path, sizeof path)) cr_skip(NT_SKIP_MSG);
    nexttok_tokenizer *t;
    cr_assert_eq(nexttok_tokenizer_load(path, &t), NEXTTOK_OK, "%s", nexttok_error_message());
    compare_with_naive(t, 400);
    nexttok_tokenizer_free(t);
}

Test(tokenizer_naive, bpe_fixtures)
{
    const char *names[] = {"vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-starcoder.gguf"};
    for (int i = 0; i < 2; i++) {
        char path[1024];
        if (!nt_test_fixture_path(names[i], path, sizeof path)) cr_skip(NT_SKIP_MSG);
        nexttok_tokenizer *t;
        cr_assert_eq(nexttok_tokenizer_load(path, &t), NEXTTOK_OK, "%s", nexttok_error_message());
        compare_with_naive(t, 300);
        nexttok_tokenizer_free(t);
    }
}
