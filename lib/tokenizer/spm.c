/* SentencePiece BPE (tokenizer.ggml.model "llama"), as llama.cpp's
 * llm_tokenizer_spm: spaces become U+2581, the text is cut into UTF-8
 * characters, and the adjacent pair whose concatenation is the
 * highest-scoring token (leftmost on ties) is merged until none is a token.
 * Symbols that are no token are spelled with byte tokens <0xNN>. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tokenizer/pair_heap.h"
#include "tokenizer/tokenizer.h"

typedef struct spm_sym {
    int32_t prev, next;
    uint32_t start, n; /* bytes of the escaped text; n = 0 once merged away */
    int32_t id;        /* token of the text, or -1 */
} spm_sym;

typedef struct spm_pair {
    float score;
    int32_t left, right;
    int32_t id;
    uint32_t size;
} spm_pair;

static bool pair_before(const spm_pair *a, const spm_pair *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

NT_PAIR_HEAP(spm_heap, spm_pair, pair_before)

typedef struct spm_ctx {
    const nexttok_tokenizer *t;
    const char *s;
    spm_sym *syms;
    spm_heap heap;
    bool oom;
} spm_ctx;

static void pair_try(spm_ctx *c, int32_t left, int32_t right)
{
    if (left < 0 || right < 0) return;
    const spm_sym *l = &c->syms[left], *r = &c->syms[right];
    uint32_t size = l->n + r->n;
    int32_t id = nt_vocab_find(c->t, c->s + l->start, size);
    if (id < 0) return;
    spm_pair p = {c->t->scores[id], left, right, id, size};
    if (!spm_heap_push(&c->heap, p)) c->oom = true;
}

nexttok_status nt_spm_encode(const nexttok_tokenizer *t, const char *text, size_t len,
                             bool prefix_space, nt_ids *out)
{
    static const char ws[3] = {'\xE2', '\x96', '\x81'}; /* U+2581 */
    if (len == 0) return NEXTTOK_OK;
    size_t n_spaces = 0;
    for (size_t i = 0; i < len; i++) n_spaces += text[i] == ' ';
    if (len > (size_t)INT32_MAX / 4)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer: text of %zu bytes is too long", len);
    /* Each space becomes three bytes; the prefix adds three. */
    size_t cap = len + 2 * n_spaces + (prefix_space ? 3 : 0);
    char *s = nt_malloc(cap);
    spm_sym *syms = nt_malloc_array(cap, sizeof(spm_sym));
    spm_ctx c = {t, s, syms, {NULL, 0, 0}, false};
    nexttok_status st = NEXTTOK_OK;
    if (!s || !syms) goto oom;
    size_t n = 0;
    if (prefix_space) memcpy(s, ws, 3), n = 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') memcpy(s + n, ws, 3), n += 3;
        else s[n++] = text[i];
    }

    /* Symbols, linked only within segments: a boundary whose two bytes
     * appear next to each other in no token can never be merged across, so
     * the merging of each segment is independent and a small heap per
     * segment gives the same result as one over the whole text. */
    int32_t n_syms = 0;
    for (size_t off = 0; off < n;) {
        size_t k = nt_utf8_len_from_lead((uint8_t)s[off]);
        if (k > n - off) k = n - off;
        bool joined = n_syms > 0 && nt_byte_pair_in_tokens(t, (uint8_t)s[off - 1], (uint8_t)s[off]);
        if (joined) syms[n_syms - 1].next = n_syms;
        syms[n_syms] = (spm_sym){joined ? n_syms - 1 : -1, -1, (uint32_t)off, (uint32_t)k,
                                 nt_vocab_find(t, s + off, k)};
        n_syms++;
        off += k;
    }
    for (int32_t seg = 0; seg < n_syms;) {
        c.heap.n = 0;
        int32_t last = seg;
        for (; syms[last].next >= 0; last++) pair_try(&c, last, last + 1);
        while (c.heap.n > 0 && !c.oom) {
            spm_pair p = spm_heap_pop(&c.heap);
            spm_sym *l = &syms[p.left], *r = &syms[p.right];
            if (l->n == 0 || r->n == 0 || l->n + r->n != p.size) continue; /* stale */
            l->n += r->n;
            l->id = p.id;
            r->n = 0;
            l->next = r->next;
            if (r->next >= 0) syms[r->next].prev = p.left;
            pair_try(&c, l->prev, p.left);
            pair_try(&c, p.left, l->next);
        }
        if (c.oom) goto oom;
        for (int32_t i = seg; i >= 0; i = syms[i].next) {
            const spm_sym *sym = &syms[i];
            if (sym->id >= 0) {
                if (nt_ids_push(out, sym->id)) goto oom;
                continue;
            }
            for (uint32_t k = 0; k < sym->n; k++) {
                int32_t id = t->byte_token[(uint8_t)s[sym->start + k]];
                if (id >= 0 && nt_ids_push(out, id)) goto oom;
            }
        }
        seg = last + 1;
    }
    goto done;
oom:
    st = nt_fail(NEXTTOK_ERR_NO_MEMORY, "tokenizer: out of memory");
done:
    nt_free(s);
    nt_free(syms);
    nt_free(c.heap.v);
    return st;
}
