/* Regex lists per tokenizer.ggml.pre value, as llama.cpp (llama-vocab.cpp)
 * defines them, which in turn transcribe the Split pre-tokenizers of the
 * models' Hugging Face tokenizer.json files.
 *
 * Where llama.cpp rewrote a Hugging Face regex only because std::regex lacks
 * a feature PCRE2 has, the Hugging Face original is kept:
 *  - tekken and gpt-4o use \p{Lu}\p{Lt}... classes; llama.cpp's lookahead
 *    emulation treats every non-ASCII letter as both upper and lower case.
 * Case-insensitive contractions (?i:'s|'t|...) are spelled with explicit
 * ASCII classes ('[sS]), as llama.cpp does: PCRE2's Unicode case folding
 * would also let U+017F (long s) and U+212A (Kelvin) match.
 *
 * Left out: types whose llama.cpp splitter is hand-written code rather than
 * a regex (kimi-k2, afmoe), that split on empty matches (superbpe), that
 * are not byte-level (whitespace, gemma4, sarvam-moe). tiny_aya's
 * \d{1,3}(?=(?:\d{3})*\b) is run by a hand-written matcher (pretok_digits.c):
 * PCRE2 takes quadratic time on it.
 *
 * Non-ASCII characters are written as \x{...} escapes so that look-alike
 * code points (U+2126 OHM SIGN vs U+03A9) cannot be confused. \s and \S are
 * rewritten to the Unicode White_Space property when compiled (see
 * pretokenizer.c). */
#include "tokenizer/pretok_types.h"

#include "tokenizer/pretok_digits.h"

#include <stddef.h>
#include <string.h>

/* 's|'t|'re|'ve|'m|'ll|'d, case-insensitive as in (?i:...) */
#define CONTRACTIONS_CI "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"

/* GPT-2 (openai/gpt-2 encoder.py and Hugging Face ByteLevel). llama.cpp
 * leaves out the final |\s+; the splits are the same either way, because
 * an unmatched gap between matches becomes a piece of its own. */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

#define RE_LLAMA3                                                                                  \
    CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"      \
                    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

#define RE_QWEN2                                                                                   \
    CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"          \
                    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Upper-then-lower letter runs with an optional contraction (gpt-4o, o200k). */
#define RE_GPT4O                                                                                   \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"       \
    CONTRACTIONS_CI "?|"                                                                           \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"       \
    CONTRACTIONS_CI "?|"                                                                           \
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Punctuation run, split off words (Bloom, Poro, GPT-3 Finnish, Viking):
 * " ?[^(\s|.,!?…。，、।۔،)]+" */
#define RE_BLOOM " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{0964}\\x{06D4}\\x{060C})]+"

/* CJK ideographs (U+4E00..U+9FA5), U+0800..U+4E00, Hangul syllables and
 * jamo extensions (U+AC00..U+D7FF): "[一-龥ࠀ-一가-퟿]+" */
#define RE_DEEPSEEK_CJK "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

/* CJK ideographs, Hiragana, Katakana: "[一-龥぀-ゟ゠-ヿ]+" */
#define RE_CJK_KANA "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+"

/* DeepSeek-V3: an ASCII punctuation mark glued to an ASCII word, letters with
 * marks, punctuation/symbol runs, newlines and spaces. */
#define RE_DEEPSEEK3_WORDS                                                                         \
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?"              \
    "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* DeepSeek LLM's cased-letter class: the Unicode cased letters (Lu, Ll, Lt)
 * of an older Unicode version, ranges as in the model's tokenizer.json. */
#define DEEPSEEK_LETTERS                                                                           \
    "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"  \
    "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}"            \
    "\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}"   \
    "\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}"  \
    "\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}" \
    "\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}"  \
    "\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"  \
    "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}" \
    "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}"   \
    "\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}"           \
    "\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}"           \
    "\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"  \
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"  \
    "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"               \
    "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"           \
    "\\x{1E900}-\\x{1E943}"

/* "\s?[!-/:-~！-／：-～‘-‟　-。]+" */
#define RE_DEEPSEEK_PUNCT                                                                          \
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+"

static const nt_pretok_type types[] = {
    {"gpt-2", {RE_GPT2, NULL}},
    {"llama3", {RE_LLAMA3, NULL}},
    {"jais-2",
     {CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                      "\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|"
                      "\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}",
      NULL}},
    {"deepseek-llm",
     {"[\\r\\n]", "\\s?[" DEEPSEEK_LETTERS "]+", RE_DEEPSEEK_PUNCT, "\\s+$", RE_DEEPSEEK_CJK,
      "\\p{N}+", NULL}},
    {"deepseek-coder",
     {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_DEEPSEEK_CJK, "\\p{N}", NULL}},
    {"deepseek-v3", {"\\p{N}{1,3}", RE_CJK_KANA, RE_DEEPSEEK3_WORDS, NULL}},
    {"spark2_5",
     {"\\p{N}{1,3}", RE_CJK_KANA,
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?"
      "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\\r\\n]|\\s+(?!\\S)|\\s+",
      "\\p{N}", NULL}},
    {"youtu",
     {/* "[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+" */
      "[\\x{AC00}-\\x{D7A3}\\x{3131}-\\x{318E}]+|[\\x{FF01}\\x{2026}\\x{201C}\\x{201D}\\x{2018}"
      "\\x{2019}\\x{2014}\\x{FF1A}\\x{FF1B}\\x{FF0C}\\x{3001}-\\x{303F}\\x{FE30}-\\x{FE4F}]+|"
      "[\\x{3105}-\\x{312F}]+|" RE_CJK_KANA,
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
      CONTRACTIONS_CI "?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
      "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" CONTRACTIONS_CI "?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|"
      "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      NULL}},
    {"falcon", {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]", NULL}},
    {"starcoder", {"\\p{N}", RE_GPT2, NULL}},
    {"qwen2", {RE_QWEN2, NULL}},
    {"qwen35",
     {CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+"
                      "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      NULL}},
    {"bloom", {RE_BLOOM, NULL}},
    {"viking", {RE_BLOOM, "\\p{N}", NULL}},
    {"tekken",
     {"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|"
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|"
      "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      NULL}},
    {"chameleon",
     {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
      "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2, NULL}},
    {"gpt-4o", {RE_GPT4O, NULL}},
    {"tiny_aya", {NT_PRETOK_RE_DIGIT_GROUPS, RE_GPT4O, NULL}},
    {"seed-coder",
     {CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|"
                      "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      NULL}},
    /* Hugging Face's has possessive ?+ and ++; they cannot change a match
     * here (what they forbid giving back could not start the rest). */
    {"bailingmoe",
     {"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
      " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
      NULL}},
    {"ufakzeka",
     {"[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
      "\\s+(?!\\S)|\\s+",
      NULL}},
    {"minicpm5",
     {"\\p{N}{1,3}",
      CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                      "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      NULL}},
    {"laguna", {"[^\\n]+|[\\n]+", RE_QWEN2, NULL}},
    /* Hugging Face: (?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+ for the letter run.
     * Written without nested repeats, which match the same text (a letter,
     * then letters, marks, or a space before a letter, as long as any
     * follows) but need no backtracking memory per letter: the nested form
     * runs out of JIT stack on a word of a few MB. */
    {"exaone-moe",
     {CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}[\\p{L}\\p{M}]*+(?: \\p{L}[\\p{L}\\p{M}]*+)*+|\\p{N}|"
                      " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
      NULL}},
};

/* tokenizer.ggml.pre values, the type each means, and whether llama.cpp
 * sets ignore_merges for it (Hugging Face's BPE option: a word that is
 * itself in the vocabulary becomes that token without running merges). */
static const struct {
    const char *alias;
    const char *type;
    unsigned char ignore_merges;
} aliases[] = {
    {"default", "gpt-2", 0},
    {"gpt-2", "gpt-2", 0},
    {"phi-2", "gpt-2", 0},
    {"jina-es", "gpt-2", 0},
    {"jina-de", "gpt-2", 0},
    {"gigachat", "gpt-2", 0},
    {"jina-v2-es", "gpt-2", 0},
    {"jina-v2-de", "gpt-2", 0},
    {"a.x-4.0", "gpt-2", 0},
    {"mellum", "gpt-2", 0},
    {"modern-bert", "gpt-2", 0},
    {"jina-v1-en", "gpt-2", 0},
    {"jina-v2-code", "gpt-2", 0},
    {"roberta-bpe", "gpt-2", 0},
    {"exaone4", "gpt-2", 0},
    {"mpt", "gpt-2", 0},
    {"olmo", "gpt-2", 0},
    {"jais", "gpt-2", 0},
    {"trillion", "gpt-2", 0},
    {"granite-docling", "gpt-2", 0},
    {"llama3", "llama3", 1},
    {"llama-v3", "llama3", 1},
    {"llama-bpe", "llama3", 1},
    {"falcon3", "llama3", 1},
    {"falcon-h1", "llama3", 1},
    {"pixtral", "llama3", 1},
    {"midm-2.0", "llama3", 1},
    {"lfm2", "llama3", 1},
    {"jina-v5-nano", "llama3", 1},
    {"dbrx", "llama3", 0},
    {"smaug-bpe", "llama3", 0},
    {"chatglm-bpe", "llama3", 0},
    {"glm4", "llama3", 0},
    {"jais-2", "jais-2", 0},
    {"deepseek-llm", "deepseek-llm", 0},
    {"deepseek-coder", "deepseek-coder", 0},
    {"deepseek-v3", "deepseek-v3", 0},
    {"hunyuan-dense", "deepseek-v3", 0},
    {"joyai-llm", "deepseek-v3", 0},
    {"hy_v4", "deepseek-v3", 0},
    {"spark2_5", "spark2_5", 0},
    {"youtu", "youtu", 1},
    {"falcon", "falcon", 0},
    {"starcoder", "starcoder", 0},
    {"refact", "starcoder", 0},
    {"command-r", "starcoder", 0},
    {"smollm", "starcoder", 0},
    {"codeshell", "starcoder", 0},
    {"exaone", "starcoder", 0},
    {"minerva-7b", "starcoder", 0},
    {"mellum2", "starcoder", 0},
    {"qwen2", "qwen2", 0},
    {"deepseek-r1-qwen", "qwen2", 0},
    {"kormo", "qwen2", 0},
    {"f2llmv2", "qwen2", 0},
    {"megrez", "qwen2", 0},
    {"stablelm2", "qwen2", 0},
    {"hunyuan", "qwen2", 0},
    {"solar-open", "qwen2", 0},
    {"grok-2", "qwen2", 0},
    {"qwen35", "qwen35", 0},
    {"poro-chat", "bloom", 0},
    {"bloom", "bloom", 0},
    {"gpt3-finnish", "bloom", 0},
    {"viking", "viking", 0},
    {"tekken", "tekken", 1},
    {"chameleon", "chameleon", 0},
    {"gpt-4o", "gpt-4o", 0},
    {"llama4", "gpt-4o", 0},
    {"kanana2", "gpt-4o", 0},
    {"talkie", "gpt-4o", 0},
    {"minimax-m2", "gpt-4o", 0},
    /* llama.cpp's variant only adds \p{M} to its lookahead emulation, which
     * brings it to the Hugging Face regex: gpt-4o's. */
    {"granite-embed-multi-97m", "gpt-4o", 1},
    {"tiny_aya", "tiny_aya", 0},
    {"cohere2moe", "tiny_aya", 0},
    {"seed-coder", "seed-coder", 0},
    {"bailingmoe", "bailingmoe", 0},
    {"bailingmoe2", "bailingmoe", 0},
    {"llada-moe", "bailingmoe", 0},
    {"ufakzeka", "ufakzeka", 0},
    {"minicpm5", "minicpm5", 1},
    {"laguna", "laguna", 0},
    {"exaone-moe", "exaone-moe", 0},
};

const nt_pretok_type *nt_pretok_type_find(const char *pre, bool *ignore_merges)
{
    if (ignore_merges)
        *ignore_merges = false;
    if (pre == NULL || pre[0] == 0) /* key absent or empty: llama.cpp's "default" */
        pre = "default";
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(aliases[i].alias, pre) != 0)
            continue;
        if (ignore_merges)
            *ignore_merges = aliases[i].ignore_merges != 0;
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
            if (strcmp(types[t].name, aliases[i].type) == 0)
                return &types[t];
        return NULL; /* unreachable: every alias names a listed type */
    }
    return NULL;
}

const nt_pretok_type *nt_pretok_type_at(size_t i)
{
    return i < sizeof types / sizeof types[0] ? &types[i] : NULL;
}

const char *nt_pretok_alias_at(size_t i)
{
    return i < sizeof aliases / sizeof aliases[0] ? aliases[i].alias : NULL;
}
