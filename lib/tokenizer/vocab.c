/* Loading a vocabulary from tokenizer.ggml.* metadata, with every count,
 * id and cross-reference checked, and the vocabulary queries of the API. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "gguf/gguf.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

#define KEY_MODEL "tokenizer.ggml.model"
#define KEY_PRE "tokenizer.ggml.pre"
#define KEY_TOKENS "tokenizer.ggml.tokens"
#define KEY_SCORES "tokenizer.ggml.scores"
#define KEY_TYPES "tokenizer.ggml.token_type"
#define KEY_MERGES "tokenizer.ggml.merges"

/* --- text -> id index ------------------------------------------------------- */

static uint64_t text_hash(const char *s, size_t len)
{
    const uint64_t h = nt_fnv1a64(s, len);
    return h ^ (h >> 29);
}

int32_t nt_vocab_find(const nexttok_tokenizer *t, const char *s, size_t len)
{
    if (len == 0) return -1;
    size_t mask = t->index.mask;
    for (size_t i = (size_t)text_hash(s, len) & mask;; i = (i + 1) & mask) {
        int32_t slot = t->index.slots[i];
        if (slot == 0) return -1;
        int32_t id = slot - 1;
        if (t->text_len[id] == len && memcmp(nt_vocab_text(t, id), s, len) == 0) return id;
    }
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
}

/* Index every non-empty token; a text seen twice is malformed (llama.cpp
 * asserts on it too), since text -> id must be a function. */
static nexttok_status index_build(nexttok_tokenizer *t)
{
    size_t cap = pow2_at_least((size_t)t->n_vocab * 2);
    t->index.slots = nt_calloc(cap, sizeof(int32_t));
    if (!t->index.slots) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
    t->index.mask = cap - 1;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        size_t len = t->text_len[id];
        if (len == 0) continue;
        const char *s = nt_vocab_text(t, id);
        size_t i = (size_t)text_hash(s, len) & t->index.mask;
        for (;; i = (i + 1) & t->index.mask) {
            int32_t slot = t->index.slots[i];
            if (slot == 0) break;
            int32_t other = slot - 1;
            if (t->text_len[other] == len && memcmp(nt_vocab_text(t, other), s, len) == 0)
                return nt_fail(NEXTTOK_ERR_FORMAT, "%s: token %d has the same text as token %d",
                               KEY_TOKENS, id, other);
        }
        t->index.slots[i] = id + 1;
    }
    return NEXTTOK_OK;
}

/* --- merges ----------------------------------------------------------------- */

static uint64_t pair_hash(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return key;
}

static nexttok_status merges_load(nexttok_tokenizer *t, const nt_gguf *g)
{
    const nt_gguf_kv *kv = NULL;
    nexttok_status st = nt_gguf_get_arr(g, KEY_MERGES, NT_GGUF_STRING, &kv);
    if (st == NEXTTOK_ERR_NOT_FOUND)
        return nt_fail(NEXTTOK_ERR_FORMAT, "%s: missing, and a gpt2 tokenizer needs it", KEY_MERGES);
    if (st != NEXTTOK_OK) return st;
    if (kv->arr_len > INT32_MAX)
        return nt_fail(NEXTTOK_ERR_FORMAT, "%s: %llu merges is too many", KEY_MERGES,
                       (unsigned long long)kv->arr_len);
    size_t cap = pow2_at_least((size_t)kv->arr_len * 2);
    t->merges.slots = nt_calloc(cap, sizeof(nt_merge_entry));
    if (!t->merges.slots) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
    t->merges.mask = cap - 1;

    char *joined = NULL;
    size_t joined_cap = 0;
    for (uint64_t m = 0; m < kv->arr_len; m++) {
        nt_str s = kv->arr_strs[m];
        /* The two halves are split at the first space after the first byte,
         * as llama.cpp does (a byte-level vocabulary has no raw spaces). */
        const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', (size_t)s.len - 1) : NULL;
        if (!sp) {
            nt_free(joined);
            return nt_fail(NEXTTOK_ERR_FORMAT, "%s[%llu]: \"%.*s\" is not two tokens separated by a space",
                           KEY_MERGES, (unsigned long long)m, (int)(s.len > 64 ? 64 : s.len), s.ptr);
        }
        size_t llen = (size_t)(sp - s.ptr), rlen = (size_t)s.len - llen - 1;
        int32_t left = nt_vocab_find(t, s.ptr, llen);
        int32_t right = nt_vocab_find(t, sp + 1, rlen);
        if (llen + rlen > joined_cap) {
            nt_free(joined);
            joined_cap = (llen + rlen) * 2;
            joined = nt_malloc(joined_cap);
            if (!joined) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
        }
        memcpy(joined, s.ptr, llen);
        memcpy(joined + llen, sp + 1, rlen);
        int32_t result = nt_vocab_find(t, joined, llen + rlen);
        if (left < 0 || right < 0 || result < 0) {
            nt_free(joined);
            return nt_fail(NEXTTOK_ERR_FORMAT, "%s[%llu]: \"%.*s\" names a token that is not in %s",
                           KEY_MERGES, (unsigned long long)m, (int)(s.len > 64 ? 64 : s.len), s.ptr,
                           KEY_TOKENS);
        }
        uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
        size_t i = (size_t)pair_hash(key) & t->merges.mask;
        while (t->merges.slots[i].key != 0 && t->merges.slots[i].key != key)
            i = (i + 1) & t->merges.mask;
        if (t->merges.slots[i].key == key) continue; /* the first (lowest rank) wins */
        t->merges.slots[i].key = key;
        t->merges.slots[i].rank = (int32_t)m;
        t->merges.slots[i].result = result;
    }
    nt_free(joined);
    return NEXTTOK_OK;
}

/* --- decoded pieces --------------------------------------------------------- */

/* Byte-level text back to bytes. As Hugging Face's ByteLevel decoder does, a
 * token holding a character outside the byte alphabet gives its raw text. */
static size_t bytelevel_decode(const char *s, size_t len, char *dst)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cpt = nt_utf8_decode_lenient(s, len, &i);
        int b = nt_cpt_to_byte(cpt);
        if (b < 0) {
            memcpy(dst, s, len);
            return len;
        }
        dst[n++] = (char)b;
    }
    return n;
}

/* "<0xNN>" -> NN, or -1. */
static int byte_token_value(const char *s, size_t len)
{
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int v = 0;
    for (int k = 3; k < 5; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static nexttok_status pieces_build(nexttok_tokenizer *t)
{
    size_t total = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) total += t->text_len[id];
    /* A piece is never longer than its text (U+2581 -> ' ' shrinks, bytes
     * shrink), so the text size bounds the piece storage. */
    t->piece = nt_malloc(total + 1);
    t->piece_off = nt_malloc_array((size_t)t->n_vocab, sizeof(uint32_t));
    t->piece_len = nt_malloc_array((size_t)t->n_vocab, sizeof(uint32_t));
    if (!t->piece || !t->piece_off || !t->piece_len)
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
    size_t at = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        const char *s = nt_vocab_text(t, id);
        size_t len = t->text_len[id];
        char *dst = t->piece + at;
        size_t n = 0;
        switch ((nexttok_token_type)t->types[id]) {
        case NEXTTOK_TOKEN_CONTROL:
        case NEXTTOK_TOKEN_UNKNOWN:
        case NEXTTOK_TOKEN_USER_DEFINED:
            memcpy(dst, s, len);
            n = len;
            break;
        case NEXTTOK_TOKEN_BYTE:
            if (t->kind == NT_VOCAB_SPM) {
                int v = byte_token_value(s, len);
                if (v < 0)
                    return nt_fail(NEXTTOK_ERR_FORMAT, "%s[%d]: byte token \"%.*s\" is not <0xNN>",
                                   KEY_TOKENS, id, (int)(len > 32 ? 32 : len), s);
                dst[0] = (char)v;
                n = 1;
                break;
            }
            /* A byte-level vocabulary's byte tokens are byte-level text. */
            /* fall through */
        case NEXTTOK_TOKEN_NORMAL:
            if (t->kind == NT_VOCAB_BPE) {
                n = bytelevel_decode(s, len, dst);
            } else {
                for (size_t i = 0; i < len;) {
                    if (i + 3 <= len && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
                        dst[n++] = ' ';
                        i += 3;
                    } else {
                        dst[n++] = s[i++];
                    }
                }
            }
            break;
        default: /* unused, undefined: no text, as in llama.cpp */
            break;
        }
        t->piece_off[id] = (uint32_t)at;
        t->piece_len[id] = (uint32_t)n;
        at += n;
    }
    return NEXTTOK_OK;
}

/* --- special tokens and byte maps ------------------------------------------ */

static nexttok_status specials_build(nexttok_tokenizer *t)
{
    int32_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        uint8_t ty = t->types[id];
        if ((ty == NEXTTOK_TOKEN_CONTROL || ty == NEXTTOK_TOKEN_USER_DEFINED ||
             ty == NEXTTOK_TOKEN_UNKNOWN) && t->text_len[id] > 0)
            n++;
    }
    t->special = nt_malloc_array(n ? (size_t)n : 1, sizeof(int32_t));
    if (!t->special) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
    n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        uint8_t ty = t->types[id];
        if ((ty == NEXTTOK_TOKEN_CONTROL || ty == NEXTTOK_TOKEN_USER_DEFINED ||
             ty == NEXTTOK_TOKEN_UNKNOWN) && t->text_len[id] > 0)
            t->special[n++] = id;
    }
    t->n_special = n;
    /* Longest first, so "<|im_start|>" is matched before "<|im"; ties by
     * id keep the order deterministic. Insertion sort: few entries, and no
     * comparator context needed. */
    for (int32_t i = 1; i < n; i++) {
        int32_t v = t->special[i], j = i;
        while (j > 0) {
            int32_t u = t->special[j - 1];
            if (t->text_len[u] > t->text_len[v] || (t->text_len[u] == t->text_len[v] && u < v)) break;
            t->special[j] = u;
            j--;
        }
        t->special[j] = v;
    }
    return NEXTTOK_OK;
}

/* Phi-3's tokenizer.json marks its added tokens rstrip, and GGUF has no key
 * for that, so llama.cpp recognises the models by general.name (lowercased,
 * containing "phi-3" or "phi3") and sets it on every special token but
 * <unk>, <s> and <|endoftext|>. The same test here, so that chat prompts
 * ("<|user|>\nHi<|end|>\n") split as llama.cpp splits them; "Phi 3.5 ..."
 * and "Phi 4 ..." names do not match, in llama.cpp either. */
static bool name_means_phi3(nt_str name)
{
    static const char *const pats[] = {"phi-3", "phi3"};
    for (size_t k = 0; k < sizeof pats / sizeof pats[0]; k++) {
        size_t plen = strlen(pats[k]);
        for (size_t i = 0; i + plen <= (size_t)name.len; i++) {
            size_t j = 0;
            while (j < plen) {
                char c = name.ptr[i + j];
                if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
                if (c != pats[k][j]) break;
                j++;
            }
            if (j == plen) return true;
        }
    }
    return false;
}

static nexttok_status special_strip_build(nexttok_tokenizer *t, const nt_gguf *g)
{
    t->special_rstrip = nt_calloc(t->n_special ? (size_t)t->n_special : 1, 1);
    if (!t->special_rstrip) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
    nt_str name;
    nexttok_status st = nt_gguf_get_str(g, "general.name", &name);
    if (st == NEXTTOK_ERR_NOT_FOUND) {
        nt_error_clear();
        return NEXTTOK_OK;
    }
    if (st != NEXTTOK_OK) return st;
    if (!name_means_phi3(name)) return NEXTTOK_OK;
    static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
    for (int32_t k = 0; k < t->n_special; k++) {
        int32_t id = t->special[k];
        bool strip = true;
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
            if (t->text_len[id] == strlen(keep[i]) &&
                memcmp(nt_vocab_text(t, id), keep[i], t->text_len[id]) == 0)
                strip = false;
        t->special_rstrip[k] = strip;
    }
    return NEXTTOK_OK;
}

static void byte_maps_build(nexttok_tokenizer *t)
{
    for (int32_t id = 0; id < t->n_vocab; id++) {
        const uint8_t *s = (const uint8_t *)nt_vocab_text(t, id);
        for (uint32_t i = 1; i < t->text_len[id]; i++) {
            unsigned k = (unsigned)s[i - 1] << 8 | s[i];
            t->pair_bits[k >> 6] |= 1ull << (k & 63);
        }
    }
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        if (t->kind == NT_VOCAB_SPM) {
            char name[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
            char one = (char)b;
            int32_t id = nt_vocab_find(t, name, 6);
            if (id < 0) id = nt_vocab_find(t, &one, 1);
            if (id < 0) id = t->unk;
            t->byte_token[b] = id;
        } else {
            char u[4];
            size_t n = nt_utf8_encode(nt_byte_to_cpt((uint8_t)b), u);
            t->byte_char_id[b] = nt_vocab_find(t, u, n);
            t->byte_fallback[b][0] = t->byte_fallback[b][1] = -1;
            if (n == 2) {
                t->byte_fallback[b][0] = nt_vocab_find(t, u, 1);
                t->byte_fallback[b][1] = nt_vocab_find(t, u + 1, 1);
            }
        }
    }
}

/* --- metadata --------------------------------------------------------------- */

static nexttok_status special_id_get(const nexttok_tokenizer *t, const nt_gguf *g,
                                     const char *key, int32_t *id)
{
    int64_t v;
    nexttok_status st = nt_gguf_get_int(g, key, &v);
    if (st == NEXTTOK_ERR_NOT_FOUND) {
        nt_error_clear();
        if (*id >= t->n_vocab) *id = -1; /* a default the vocabulary is too small for */
        return NEXTTOK_OK;
    }
    if (st != NEXTTOK_OK) return st;
    /* llama.cpp's converters write -1 (often as uint32 0xFFFFFFFF) for
     * "no such token"; that is a valid way of saying none. */
    if (v == -1 || v == (int64_t)UINT32_MAX) {
        *id = -1;
        return NEXTTOK_OK;
    }
    if (v < 0 || v >= t->n_vocab)
        return nt_fail(NEXTTOK_ERR_FORMAT, "%s: id %lld is outside the vocabulary (%d tokens)",
                       key, (long long)v, t->n_vocab);
    *id = (int32_t)v;
    return NEXTTOK_OK;
}

/* *flag keeps its default when the key is absent; *given says which. */
static nexttok_status flag_get(const nt_gguf *g, const char *key, bool *flag, bool *given)
{
    bool v;
    nexttok_status st = nt_gguf_get_bool(g, key, &v);
    if (given) *given = false;
    if (st == NEXTTOK_ERR_NOT_FOUND) {
        nt_error_clear();
        return NEXTTOK_OK;
    }
    if (st != NEXTTOK_OK) return st;
    *flag = v;
    if (given) *given = true;
    return NEXTTOK_OK;
}

/* llama.cpp adds BOS by default for the LLAMA3 family of pre-tokenizers
 * (and tekken). */
static bool pre_adds_bos(nt_str pre)
{
    static const char *const names[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1",
                                        "pixtral", "midm-2.0", "lfm2", "tekken"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (nt_str_eq(pre, names[i])) return true;
    return false;
}

static nexttok_status kind_get(const nt_gguf *g, nt_vocab_kind *kind)
{
    nt_str model;
    nexttok_status st = nt_gguf_get_str(g, KEY_MODEL, &model);
    if (st != NEXTTOK_OK) return st;
    if (nt_str_eq(model, "gpt2")) {
        *kind = NT_VOCAB_BPE;
        return NEXTTOK_OK;
    }
    if (nt_str_eq(model, "llama")) {
        *kind = NT_VOCAB_SPM;
        return NEXTTOK_OK;
    }
    static const char *const known[] = {"bert", "t5", "rwkv", "plamo2", "no_vocab", "none"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (nt_str_eq(model, known[i]))
            return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "%s: tokenizer \"%s\" is not supported (gpt2 and llama are)",
                           KEY_MODEL, known[i]);
    return nt_fail(NEXTTOK_ERR_FORMAT, "%s: unknown tokenizer \"%.*s\"", KEY_MODEL,
                   (int)(model.len > 64 ? 64 : model.len), model.ptr);
}

static nexttok_status tokens_load(nexttok_tokenizer *t, const nt_gguf *g)
{
    const nt_gguf_kv *kv = NULL;
    nexttok_status st = nt_gguf_get_arr(g, KEY_TOKENS, NT_GGUF_STRING, &kv);
    if (st == NEXTTOK_ERR_NOT_FOUND)
        return nt_fail(NEXTTOK_ERR_FORMAT, "%s: missing, though %s names a tokenizer", KEY_TOKENS, KEY_MODEL);
    if (st != NEXTTOK_OK) return st;
    if (kv->arr_len == 0) return nt_fail(NEXTTOK_ERR_FORMAT, "%s: the vocabulary is empty", KEY_TOKENS);
    if (kv->arr_len > INT32_MAX)
        return nt_fail(NEXTTOK_ERR_FORMAT, "%s: %llu tokens is too many", KEY_TOKENS,
                       (unsigned long long)kv->arr_len);
    t->n_vocab = (int32_t)kv->arr_len;
    size_t n = (size_t)t->n_vocab;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += kv->arr_strs[i].len;
    if (total >= UINT32_MAX)
        return nt_fail(NEXTTOK_ERR_FORMAT, "%s: token texts too large", KEY_TOKENS);
    t->text = nt_malloc((size_t)total + 1);
    t->text_off = nt_malloc_array(n, sizeof(uint32_t));
    t->text_len = nt_malloc_array(n, sizeof(uint32_t));
    t->scores = nt_calloc(n, sizeof(float));
    t->types = nt_malloc(n);
    if (!t->text || !t->text_off || !t->text_len || !t->scores || !t->types)
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        nt_str s = kv->arr_strs[i];
        memcpy(t->text + at, s.ptr, (size_t)s.len);
        t->text_off[i] = (uint32_t)at;
        t->text_len[i] = (uint32_t)s.len;
        at += (size_t)s.len;
    }
    memset(t->types, NEXTTOK_TOKEN_NORMAL, n);

    st = nt_gguf_get_arr(g, KEY_SCORES, NT_GGUF_FLOAT32, &kv);
    if (st == NEXTTOK_OK) {
        if (kv->arr_len != n)
            return nt_fail(NEXTTOK_ERR_FORMAT, "%s: %llu scores for %zu tokens", KEY_SCORES,
                           (unsigned long long)kv->arr_len, n);
        for (size_t i = 0; i < n; i++) t->scores[i] = nt_gguf_arr_f32(kv, i);
    } else if (st != NEXTTOK_ERR_NOT_FOUND) {
        return st;
    }

    const nt_gguf_kv *ty = nt_gguf_kv_find(g, KEY_TYPES);
    if (ty) {
        bool integer = ty->type == NT_GGUF_ARRAY &&
                       (ty->arr_type == NT_GGUF_INT32 || ty->arr_type == NT_GGUF_UINT32 ||
                        ty->arr_type == NT_GGUF_INT8 || ty->arr_type == NT_GGUF_UINT8 ||
                        ty->arr_type == NT_GGUF_INT16 || ty->arr_type == NT_GGUF_UINT16 ||
                        ty->arr_type == NT_GGUF_INT64 || ty->arr_type == NT_GGUF_UINT64);
        if (!integer)
            return nt_fail(NEXTTOK_ERR_FORMAT, "%s: expected an array of integers", KEY_TYPES);
        if (ty->arr_len != n)
            return nt_fail(NEXTTOK_ERR_FORMAT, "%s: %llu token types for %zu tokens", KEY_TYPES,
                           (unsigned long long)ty->arr_len, n);
        for (size_t i = 0; i < n; i++) {
            int64_t v = nt_gguf_arr_int(ty, i);
            if (v < NEXTTOK_TOKEN_UNDEFINED || v > NEXTTOK_TOKEN_BYTE)
                return nt_fail(NEXTTOK_ERR_FORMAT, "%s[%zu]: unknown token type %lld", KEY_TYPES, i,
                               (long long)v);
            t->types[i] = (uint8_t)v;
        }
    } else {
        nt_error_clear();
    }
    return NEXTTOK_OK;
}

/* llama.cpp decides end-of-generation by token text and makes each such
 * token a control token, whatever tokenizer.ggml.token_type says: some
 * converted vocabularies mark e.g. Gemma's <end_of_turn> user-defined,
 * which would otherwise be matched in plain text and kept by
 * NEXTTOK_DECODE_SKIP_SPECIAL. It then turns gpt-oss's (harmony's) framing
 * tokens user-defined, <|end|> too when <|return|> and <|call|> exist. */
static void types_by_text(nexttok_tokenizer *t)
{
    static const char *const end_of_generation[] = {
        "<|eot_id|>", "<|im_end|>",    "<|end|>",         "<|return|>", "<|call|>",
        "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",      "_<EOT>",
        "<|end_of_text|>", "<end_of_utterance>",
    };
    static const char *const harmony_framing[] = {"<|channel|>", "<|message|>", "<|start|>",
                                                  "<|constrain|>"};
    for (size_t i = 0; i < sizeof end_of_generation / sizeof end_of_generation[0]; i++) {
        int32_t id = nt_vocab_find(t, end_of_generation[i], strlen(end_of_generation[i]));
        if (id >= 0) t->types[id] = NEXTTOK_TOKEN_CONTROL;
    }
    for (size_t i = 0; i < sizeof harmony_framing / sizeof harmony_framing[0]; i++) {
        int32_t id = nt_vocab_find(t, harmony_framing[i], strlen(harmony_framing[i]));
        if (id >= 0) t->types[id] = NEXTTOK_TOKEN_USER_DEFINED;
    }
    int32_t end = nt_vocab_find(t, "<|end|>", 7);
    if (end >= 0 && nt_vocab_find(t, "<|return|>", 10) >= 0 && nt_vocab_find(t, "<|call|>", 8) >= 0)
        t->types[end] = NEXTTOK_TOKEN_USER_DEFINED;
}

static nexttok_status settings_load(nexttok_tokenizer *t, const nt_gguf *g, nt_str pre)
{
    if (t->kind == NT_VOCAB_SPM) {
        t->bos = 1, t->eos = 2, t->unk = 0, t->pad = -1;
        t->add_bos = true, t->add_eos = false, t->add_space_prefix = true;
    } else {
        /* llama.cpp defaults BPE's BOS/EOS to id 11 (Falcon's); a vocabulary
         * without the keys has no such tokens here. */
        t->bos = t->eos = t->unk = t->pad = -1;
        t->add_bos = false, t->add_eos = false, t->add_space_prefix = false;
        if (pre_adds_bos(pre)) t->add_bos = true;
    }
    nexttok_status st;
    bool bos_given, eos_given;
    if ((st = special_id_get(t, g, "tokenizer.ggml.bos_token_id", &t->bos)) ||
        (st = special_id_get(t, g, "tokenizer.ggml.eos_token_id", &t->eos)) ||
        (st = special_id_get(t, g, "tokenizer.ggml.unknown_token_id", &t->unk)) ||
        (st = special_id_get(t, g, "tokenizer.ggml.padding_token_id", &t->pad)) ||
        (st = flag_get(g, "tokenizer.ggml.add_bos_token", &t->add_bos, &bos_given)) ||
        (st = flag_get(g, "tokenizer.ggml.add_eos_token", &t->add_eos, &eos_given)) ||
        (st = flag_get(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, NULL)))
        return st;
    /* A default "add BOS" does not hold for a vocabulary without one; an
     * explicit one naming no token is inconsistent. */
    if (!bos_given && t->bos < 0) t->add_bos = false;
    if (!eos_given && t->eos < 0) t->add_eos = false;
    if (t->add_bos && t->bos < 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "tokenizer.ggml.add_bos_token: BOS is to be added but "
                       "tokenizer.ggml.bos_token_id names none");
    if (t->add_eos && t->eos < 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "tokenizer.ggml.add_eos_token: EOS is to be added but "
                       "tokenizer.ggml.eos_token_id names none");
    return NEXTTOK_OK;
}

/* --- create / free ----------------------------------------------------------- */

static void tokenizer_release(nexttok_tokenizer *t)
{
    if (!t) return;
    nt_free(t->text);
    nt_free(t->text_off);
    nt_free(t->text_len);
    nt_free(t->scores);
    nt_free(t->types);
    nt_free(t->piece);
    nt_free(t->piece_off);
    nt_free(t->piece_len);
    nt_free(t->index.slots);
    nt_free(t->special);
    nt_free(t->special_rstrip);
    nt_free(t->merges.slots);
    nt_pretok_free(t->pretok);
    nt_free(t);
}

nexttok_status nt_tokenizer_from_gguf(const nt_gguf *g, nexttok_tokenizer **out)
{
    *out = NULL;
    if (!g) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer: no GGUF file");
    nexttok_tokenizer *t = nt_calloc(1, sizeof *t);
    if (!t) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
    nexttok_status st = kind_get(g, &t->kind);
    if (st) goto fail;

    nt_str pre = {NULL, 0};
    st = nt_gguf_get_str(g, KEY_PRE, &pre);
    if (st == NEXTTOK_ERR_NOT_FOUND) nt_error_clear();
    else if (st) goto fail;

    if ((st = tokens_load(t, g)) || (st = index_build(t))) goto fail;
    types_by_text(t);
    if ((st = settings_load(t, g, pre)) ||
        (st = pieces_build(t)) || (st = specials_build(t)) || (st = special_strip_build(t, g)))
        goto fail;
    if (t->kind == NT_VOCAB_BPE) {
        if ((st = merges_load(t, g))) goto fail;
        char name[128];
        const char *pre_name = NULL;
        if (pre.ptr && pre.len > 0) { /* llama.cpp reads an empty name as the default */
            /* No known name is this long or holds a NUL; a NUL would
             * otherwise cut the name short and could turn it into one. */
            if (memchr(pre.ptr, 0, (size_t)pre.len)) {
                st = nt_fail(NEXTTOK_ERR_UNSUPPORTED, "%s: unknown pre-tokenizer \"%.32s\" (with a NUL byte)",
                             KEY_PRE, pre.ptr);
                goto fail;
            }
            if (pre.len >= sizeof name) {
                st = nt_fail(NEXTTOK_ERR_UNSUPPORTED, "%s: unknown pre-tokenizer \"%.32s...\"", KEY_PRE, pre.ptr);
                goto fail;
            }
            memcpy(name, pre.ptr, (size_t)pre.len);
            name[pre.len] = '\0';
            pre_name = name;
        }
        st = nt_pretok_create(pre_name, &t->pretok);
        if (st) {
            nt_error_prefix("%s", KEY_PRE);
            goto fail;
        }
        t->ignore_merges = nt_pretok_ignore_merges(t->pretok);
    }
    byte_maps_build(t);
    *out = t;
    return NEXTTOK_OK;
fail:
    tokenizer_release(t);
    return st;
}

/* --- public API -------------------------------------------------------------- */

NEXTTOK_API nexttok_status nexttok_tokenizer_load(const char *path, nexttok_tokenizer **tokenizer_out)
{
    nt_error_clear();
    if (!tokenizer_out) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer_load: tokenizer_out is NULL");
    *tokenizer_out = NULL;
    if (!path) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer_load: path is NULL");
    nt_gguf *g = NULL;
    nexttok_status st = nt_gguf_open(path, &g);
    if (st) return st;
    st = nt_tokenizer_from_gguf(g, tokenizer_out);
    if (st) nt_error_prefix("%s", path);
    nt_gguf_close(g);
    return st;
}

NEXTTOK_API void nexttok_tokenizer_free(nexttok_tokenizer *tokenizer)
{
    tokenizer_release(tokenizer);
}

NEXTTOK_API int32_t nexttok_tokenizer_n_vocab_get(const nexttok_tokenizer *t)
{
    nt_error_clear();
    return t ? t->n_vocab : 0;
}

NEXTTOK_API int32_t nexttok_tokenizer_bos_get(const nexttok_tokenizer *t)
{
    nt_error_clear();
    return t ? t->bos : -1;
}

NEXTTOK_API int32_t nexttok_tokenizer_eos_get(const nexttok_tokenizer *t)
{
    nt_error_clear();
    return t ? t->eos : -1;
}

NEXTTOK_API int32_t nexttok_tokenizer_unk_get(const nexttok_tokenizer *t)
{
    nt_error_clear();
    return t ? t->unk : -1;
}

NEXTTOK_API int32_t nexttok_tokenizer_pad_get(const nexttok_tokenizer *t)
{
    nt_error_clear();
    return t ? t->pad : -1;
}

NEXTTOK_API nexttok_token_type nexttok_tokenizer_token_type_get(const nexttok_tokenizer *t, int32_t token)
{
    nt_error_clear();
    if (!t || token < 0 || token >= t->n_vocab) return NEXTTOK_TOKEN_UNDEFINED;
    return (nexttok_token_type)t->types[token];
}

NEXTTOK_API int nexttok_tokenizer_is_control(const nexttok_tokenizer *t, int32_t token)
{
    return nexttok_tokenizer_token_type_get(t, token) == NEXTTOK_TOKEN_CONTROL;
}
