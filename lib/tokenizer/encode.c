/* Text to token ids: special-token partition, then the vocabulary's encoder
 * on each stretch of plain text, with BOS/EOS as the vocabulary asks. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

nexttok_status nt_ids_push(nt_ids *a, int32_t id)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        int32_t *v = nt_realloc_array(a->v, cap, sizeof(int32_t));
        if (!v) return NEXTTOK_ERR_NO_MEMORY;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return NEXTTOK_OK;
}

void nt_ids_free(nt_ids *a)
{
    nt_free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

/* First occurrence of pat (plen > 0) in s[0..n), or NULL. */
static const char *find_bytes(const char *s, size_t n, const char *pat, size_t plen)
{
    while (n >= plen) {
        const char *p = memchr(s, pat[0], n - plen + 1);
        if (!p) return NULL;
        if (memcmp(p, pat, plen) == 0) return p;
        n -= (size_t)(p - s) + 1;
        s = p + 1;
    }
    return NULL;
}

/* isspace in the "C" locale: the white space llama.cpp strips after an
 * rstrip token (bytes, not Unicode White_Space). */
static bool c_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* A stretch of the input: plain text [off, off+len) or one special token. */
typedef struct fragment {
    int32_t token; /* -1 for text */
    size_t off, len;
} fragment;

typedef struct fragments {
    fragment *v;
    size_t n, cap;
} fragments;

static bool frag_push(fragments *f, fragment x)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        fragment *v = nt_realloc_array(f->v, cap, sizeof(fragment));
        if (!v) return false;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = x;
    return true;
}

/* llama.cpp's tokenizer_st_partition: for each special token, longest first,
 * cut every text fragment at each occurrence (leftmost, non-overlapping).
 * Without PARSE_SPECIAL only user-defined tokens are cut out, since
 * Hugging Face matches added non-special tokens before everything else. */
static nexttok_status partition(const nexttok_tokenizer *t, const char *text, size_t len,
                                bool parse_special, fragments *out)
{
    fragments cur = {0}, next = {0};
    if (!frag_push(&cur, (fragment){-1, 0, len})) goto oom;
    for (int32_t k = 0; k < t->n_special; k++) {
        int32_t id = t->special[k];
        uint8_t ty = t->types[id];
        if (!parse_special && ty != NEXTTOK_TOKEN_USER_DEFINED) continue;
        const char *pat = nt_vocab_text(t, id);
        size_t plen = t->text_len[id];
        next.n = 0;
        for (size_t i = 0; i < cur.n; i++) {
            fragment f = cur.v[i];
            if (f.token >= 0 || f.len < plen) {
                if (!frag_push(&next, f)) goto oom;
                continue;
            }
            size_t pos = f.off, end = f.off + f.len;
            for (;;) {
                const char *hit = find_bytes(text + pos, end - pos, pat, plen);
                if (!hit) break;
                size_t at = (size_t)(hit - text);
                if (at > pos && !frag_push(&next, (fragment){-1, pos, at - pos})) goto oom;
                if (!frag_push(&next, (fragment){id, 0, 0})) goto oom;
                pos = at + plen;
                if (t->special_rstrip[k])
                    while (pos < end && c_space(text[pos])) pos++;
            }
            if (pos < end && !frag_push(&next, (fragment){-1, pos, end - pos})) goto oom;
        }
        fragments tmp = cur;
        cur = next;
        next = tmp;
    }
    nt_free(next.v);
    *out = cur;
    return NEXTTOK_OK;
oom:
    nt_free(cur.v);
    nt_free(next.v);
    return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
}

nexttok_status nt_tokenizer_encode_ids(const nexttok_tokenizer *t, const char *text, size_t len,
                                       uint32_t flags, nt_ids *out)
{
    bool add_special = (flags & NEXTTOK_ENCODE_ADD_SPECIAL) != 0;
    bool parse_special = (flags & NEXTTOK_ENCODE_PARSE_SPECIAL) != 0;
    fragments frags = {0};
    nexttok_status st = NEXTTOK_OK;
    /* Empty text gives no fragment at all, so no dummy-prefix token either
     * (SentencePiece encodes "" as nothing). */
    if (len > 0 && (st = partition(t, text, len, parse_special, &frags))) return st;

    if (add_special && t->add_bos && nt_ids_push(out, t->bos)) goto oom;
    bool prev_special = true; /* SPM: the dummy prefix goes before the first text */
    for (size_t i = 0; i < frags.n && st == NEXTTOK_OK; i++) {
        fragment f = frags.v[i];
        if (f.token >= 0) {
            if (nt_ids_push(out, f.token)) goto oom;
            prev_special = true;
            continue;
        }
        if (t->kind == NT_VOCAB_SPM) {
            st = nt_spm_encode(t, text + f.off, f.len, t->add_space_prefix && prev_special, out);
            prev_special = false;
        } else {
            st = nt_bpe_encode(t, text + f.off, f.len, out);
        }
    }
    if (st == NEXTTOK_OK && add_special && t->add_eos && nt_ids_push(out, t->eos)) goto oom;
    nt_free(frags.v);
    return st;
oom:
    nt_free(frags.v);
    return nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
}

NEXTTOK_API nexttok_status nexttok_tokenizer_encode(const nexttok_tokenizer *tokenizer,
                                                    const char *text, size_t len, uint32_t flags,
                                                    int32_t *tokens, size_t capacity,
                                                    size_t *n_tokens_out)
{
    nt_error_clear();
    if (n_tokens_out) *n_tokens_out = 0;
    if (!tokenizer || !n_tokens_out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer_encode: %s is NULL",
                       !tokenizer ? "tokenizer" : "n_tokens_out");
    if (!text && len > 0)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer_encode: text is NULL but len is %zu", len);
    if (!tokens && capacity > 0)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer_encode: tokens is NULL but capacity is %zu",
                       capacity);
    if (flags & ~(NEXTTOK_ENCODE_ADD_SPECIAL | NEXTTOK_ENCODE_PARSE_SPECIAL))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer_encode: unknown flags 0x%x", flags);
    nt_ids ids = {0};
    nexttok_status st = nt_tokenizer_encode_ids(tokenizer, text ? text : "", len, flags, &ids);
    if (st == NEXTTOK_OK) {
        *n_tokens_out = ids.n;
        if (ids.n > capacity) {
            if (capacity) memcpy(tokens, ids.v, capacity * sizeof(int32_t));
            st = nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "tokenizer_encode: %zu tokens do not fit in %zu",
                         ids.n, capacity);
        } else if (ids.n) {
            memcpy(tokens, ids.v, ids.n * sizeof(int32_t));
        }
    }
    nt_ids_free(&ids);
    return st;
}
