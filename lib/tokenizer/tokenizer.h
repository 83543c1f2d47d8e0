/*
 * Tokenizer internals: the vocabulary as loaded from GGUF metadata and the
 * two encoders (byte-level BPE for tokenizer.ggml.model "gpt2",
 * SentencePiece BPE for "llama"). Behaviour follows llama.cpp's
 * llama-vocab.cpp, which itself matches Hugging Face tokenizers on the
 * published test vectors.
 *
 * A tokenizer is immutable after creation; encode/decode keep their scratch
 * state on the stack or in per-call buffers, so one tokenizer can be shared
 * by threads.
 */
#ifndef NT_TOKENIZER_TOKENIZER_H
#define NT_TOKENIZER_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"
#include "nexttok.h"

typedef struct nt_pretok nt_pretok;

typedef enum nt_vocab_kind {
    NT_VOCAB_SPM, /* tokenizer.ggml.model = "llama" */
    NT_VOCAB_BPE, /* tokenizer.ggml.model = "gpt2" */
} nt_vocab_kind;

/* Open-addressing map from token text to id. Slots hold id+1 (0 = empty);
 * texts are compared against the vocabulary's own storage. */
typedef struct nt_text_index {
    int32_t *slots;
    size_t mask; /* slot count - 1 (a power of two) */
} nt_text_index;

/* Open-addressing map from a (left id, right id) pair to its merge. */
typedef struct nt_merge_entry {
    uint64_t key;   /* (left << 32 | right) + 1; 0 = empty slot */
    int32_t rank;   /* index in tokenizer.ggml.merges: lower merges first */
    int32_t result; /* id of the merged token */
} nt_merge_entry;

typedef struct nt_merge_map {
    nt_merge_entry *slots;
    size_t mask;
} nt_merge_map;

/* A growable array of token ids. */
typedef struct nt_ids {
    int32_t *v;
    size_t n, cap;
} nt_ids;

struct nexttok_tokenizer {
    nt_vocab_kind kind;
    int32_t n_vocab;

    /* Token texts, each at text + text_off[i] with length text_len[i]. */
    char *text;
    uint32_t *text_off;
    uint32_t *text_len;
    float *scores;     /* SPM merge priorities (0 when absent) */
    uint8_t *types;    /* nexttok_token_type per token */

    /* What each token decodes to (ws unescaped, byte-level mapped, ...). */
    char *piece;
    uint32_t *piece_off;
    uint32_t *piece_len;

    nt_text_index index;

    int32_t bos, eos, unk, pad; /* -1 when none */
    bool add_bos, add_eos;
    bool add_space_prefix;      /* SPM dummy prefix; decode strips it */
    bool ignore_merges;         /* BPE: a pre-token that is a whole token wins */

    /* Tokens matched in raw text before encoding (control, user-defined,
     * unknown), longest text first. */
    int32_t *special;
    int32_t n_special;
    /* Per entry of `special`: white space after a match is dropped (Hugging
     * Face's rstrip, which llama.cpp applies to Phi-3 models only). */
    uint8_t *special_rstrip;

    /* BPE */
    nt_merge_map merges;
    nt_pretok *pretok;
    int32_t byte_char_id[256];  /* token of the byte-level char of byte b, or -1 */
    int32_t byte_fallback[256][2]; /* single-byte tokens of that char's UTF-8, or -1 */

    /* SPM: the token for a raw byte (<0xNN>, else the 1-byte text, else unk). */
    int32_t byte_token[256];
    /* SPM: bit (a << 8 | b) is set when bytes a, b are adjacent in some
     * token's text; where they are not, no merge can join them. */
    uint64_t pair_bits[65536 / 64];
};

static inline bool nt_byte_pair_in_tokens(const nexttok_tokenizer *t, uint8_t a, uint8_t b)
{
    unsigned k = (unsigned)a << 8 | b;
    return (t->pair_bits[k >> 6] >> (k & 63)) & 1;
}

/* Build a tokenizer from a parsed GGUF file's tokenizer.ggml.* metadata.
 * Everything needed is copied: the nt_gguf may be closed afterwards. */
nexttok_status nt_tokenizer_from_gguf(const nt_gguf *g, nexttok_tokenizer **out);

/* --- vocab.c --------------------------------------------------------------- */

/* Id of the token whose text is exactly s[0..len), or -1. */
int32_t nt_vocab_find(const nexttok_tokenizer *t, const char *s, size_t len);

static inline const char *nt_vocab_text(const nexttok_tokenizer *t, int32_t id)
{
    return t->text + t->text_off[id];
}

/* --- ids ------------------------------------------------------------------- */

nexttok_status nt_ids_push(nt_ids *a, int32_t id);
void nt_ids_free(nt_ids *a);

/* --- encoders (append to `out`) --------------------------------------------- */

/* Byte-level BPE of one raw-text fragment (pre-tokenized inside). */
nexttok_status nt_bpe_encode(const nexttok_tokenizer *t, const char *text, size_t len,
                             nt_ids *out);

/* SentencePiece BPE of one fragment; `prefix_space` adds the dummy prefix. */
nexttok_status nt_spm_encode(const nexttok_tokenizer *t, const char *text, size_t len,
                             bool prefix_space, nt_ids *out);

/* The whole pipeline behind nexttok_tokenizer_encode. */
nexttok_status nt_tokenizer_encode_ids(const nexttok_tokenizer *t, const char *text,
                                       size_t len, uint32_t flags, nt_ids *out);

/* --- byte-level mapping and lenient UTF-8 (bytes_unicode.c) ---------------- */

/* GPT-2's byte -> code point table and its inverse (-1 for code points
 * that are no byte's image). */
uint32_t nt_byte_to_cpt(uint8_t b);
int nt_cpt_to_byte(uint32_t cpt);

/* Decode one code point at s[*i] the way llama.cpp's unicode_cpt_from_utf8
 * does (lead-byte driven, continuation bytes checked, no overlong or range
 * checks); an invalid sequence yields U+FFFD and advances one byte. */
uint32_t nt_utf8_decode_lenient(const char *s, size_t len, size_t *i);

/* Encode `cpt` (<= 0x10FFFF, else U+FFFD) into buf; returns the length. */
size_t nt_utf8_encode(uint32_t cpt, char buf[4]);

/* Length of the UTF-8 sequence a lead byte announces (1 for continuation
 * and invalid bytes), as llama.cpp's unicode_len_utf8. */
static inline size_t nt_utf8_len_from_lead(uint8_t c)
{
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}

#endif
