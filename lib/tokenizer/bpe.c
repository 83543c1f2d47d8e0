/* Byte-level BPE (tokenizer.ggml.model "gpt2"), as llama.cpp's
 * llm_tokenizer_bpe_session: each pre-token is mapped byte by byte onto
 * GPT-2's printable alphabet, then the adjacent pair with the lowest merge
 * rank (leftmost on ties) is merged until no pair has a merge.
 *
 * Symbols carry token ids: every merge names tokens of the vocabulary (the
 * loader checks), so comparing ids is comparing texts. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tokenizer/pair_heap.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

typedef struct bpe_sym {
    int32_t id;         /* token of this symbol's text, or -1 */
    int32_t prev, next; /* neighbours in the word, -1 at the ends */
    uint32_t n;         /* bytes covered; 0 once merged into the left */
    uint8_t byte;       /* the byte an unmerged symbol stands for */
} bpe_sym;

typedef struct bpe_pair {
    int32_t rank;
    int32_t left, right;
    int32_t result;
    uint32_t size; /* left.n + right.n when queued: a changed size means stale */
} bpe_pair;

static bool pair_before(const bpe_pair *a, const bpe_pair *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

NT_PAIR_HEAP(bpe_heap, bpe_pair, pair_before)

typedef struct bpe_ctx {
    const nexttok_tokenizer *t;
    const char *text;
    nt_ids *out;
    nexttok_status st;
    char *word;      /* the pre-token with invalid UTF-8 replaced */
    size_t word_cap;
    bpe_sym *syms;
    size_t syms_cap;
    bpe_heap heap;
} bpe_ctx;

static const nt_merge_entry *merge_find(const nt_merge_map *m, int32_t left, int32_t right)
{
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    uint64_t h = key;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    for (size_t i = (size_t)h & m->mask;; i = (i + 1) & m->mask) {
        const nt_merge_entry *e = &m->slots[i];
        if (e->key == key) return e;
        if (e->key == 0) return NULL;
    }
}

static void pair_try(bpe_ctx *c, int32_t left, int32_t right)
{
    if (left < 0 || right < 0) return;
    const bpe_sym *l = &c->syms[left], *r = &c->syms[right];
    if (l->id < 0 || r->id < 0) return;
    const nt_merge_entry *e = merge_find(&c->t->merges, l->id, r->id);
    if (!e) return;
    bpe_pair p = {e->rank, left, right, e->result, l->n + r->n};
    if (!bpe_heap_push(&c->heap, p)) c->st = NEXTTOK_ERR_NO_MEMORY;
}

static bool grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *p = nt_realloc_array(*buf, n, elem);
    if (!p) return false;
    *buf = p;
    *cap = n;
    return true;
}

/* Replace invalid UTF-8 by U+FFFD as llama.cpp's unicode_cpts_from_utf8
 * does before splitting; the result is what the byte-level map sees. */
static size_t word_canonical(bpe_ctx *c, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        char buf[4];
        size_t k = nt_utf8_encode(nt_utf8_decode_lenient(s, len, &i), buf);
        memcpy(c->word + n, buf, k);
        n += k;
    }
    return n;
}

/* ignore_merges: a pre-token whose byte-level text is one token is that token. */
static int32_t word_as_token(bpe_ctx *c, size_t n)
{
    char stack[256];
    char *enc = n * 2 <= sizeof stack ? stack : nt_malloc(n * 2);
    if (!enc) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += nt_utf8_encode(nt_byte_to_cpt((uint8_t)c->word[i]), enc + m);
    int32_t id = nt_vocab_find(c->t, enc, m);
    if (enc != stack) nt_free(enc);
    return id;
}

static void bpe_word(void *user, size_t start, size_t len)
{
    bpe_ctx *c = user;
    const nexttok_tokenizer *t = c->t;
    if (c->st != NEXTTOK_OK || len == 0) return;
    if (!grow((void **)&c->word, &c->word_cap, len * 3, 1)) {
        c->st = NEXTTOK_ERR_NO_MEMORY;
        return;
    }
    size_t n = word_canonical(c, c->text + start, len);
    if (n > INT32_MAX || !grow((void **)&c->syms, &c->syms_cap, n, sizeof(bpe_sym))) {
        c->st = NEXTTOK_ERR_NO_MEMORY;
        return;
    }
    if (t->ignore_merges) {
        int32_t id = word_as_token(c, n);
        if (id >= 0) {
            if (nt_ids_push(c->out, id)) c->st = NEXTTOK_ERR_NO_MEMORY;
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)c->word[i];
        c->syms[i] = (bpe_sym){t->byte_char_id[b], (int32_t)i - 1,
                               i + 1 < n ? (int32_t)i + 1 : -1, 1, b};
    }
    c->heap.n = 0;
    for (size_t i = 1; i < n; i++) pair_try(c, (int32_t)i - 1, (int32_t)i);
    while (c->heap.n > 0 && c->st == NEXTTOK_OK) {
        bpe_pair p = bpe_heap_pop(&c->heap);
        bpe_sym *l = &c->syms[p.left], *r = &c->syms[p.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != p.size) continue; /* stale */
        l->id = p.result;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) c->syms[r->next].prev = p.left;
        pair_try(c, l->prev, p.left);
        pair_try(c, p.left, l->next);
    }
    if (c->st != NEXTTOK_OK) return;
    for (int32_t i = 0; i >= 0; i = c->syms[i].next) {
        const bpe_sym *s = &c->syms[i];
        if (s->id >= 0) {
            if (nt_ids_push(c->out, s->id)) goto oom;
            continue;
        }
        /* A byte whose alphabet character is no token: llama.cpp tries the
         * single bytes of that character's UTF-8 and drops what is missing. */
        for (int k = 0; k < 2; k++) {
            int32_t id = t->byte_fallback[s->byte][k];
            if (id >= 0 && nt_ids_push(c->out, id)) goto oom;
        }
    }
    return;
oom:
    c->st = NEXTTOK_ERR_NO_MEMORY;
}

nexttok_status nt_bpe_encode(const nexttok_tokenizer *t, const char *text, size_t len, nt_ids *out)
{
    bpe_ctx c = {.t = t, .text = text, .out = out, .st = NEXTTOK_OK};
    nexttok_status st = nt_pretok_split(t->pretok, text, len, bpe_word, &c);
    if (st == NEXTTOK_OK && c.st != NEXTTOK_OK)
        st = c.st == NEXTTOK_ERR_NO_MEMORY ? nt_fail(c.st, "tokenizer: out of memory") : c.st;
    nt_free(c.word);
    nt_free(c.syms);
    nt_free(c.heap.v);
    return st;
}
