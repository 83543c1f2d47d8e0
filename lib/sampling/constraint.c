/* Constrained choices: a token trie over K endings' tokenizations, so
 * generation after a context can produce exactly one of them. The
 * endings' tokens are those nexttok_session_choices_score scores: of
 * tokenize(context + ending) after tokenize(context), with the context's
 * trailing white space moved to the ending. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "nexttok.h"
#include "sampling/choice_split.h"

/* A trie node: its children are a sibling list sorted by token, so the
 * allowed tokens come out in ascending order whatever the endings' order. */
typedef struct nt_trie_node {
    int32_t token;        /* the token that leads here (root: -1) */
    int32_t first_child;  /* node index, or -1 */
    int32_t next_sibling; /* node index, or -1 */
    int32_t ending;       /* lowest index of an ending that ends here, or -1 */
} nt_trie_node;

struct nexttok_constraint {
    nt_trie_node *nodes;
    int32_t n_nodes, cap_nodes;
    int32_t at;           /* the node of the tokens accepted so far */
    int32_t *context;     /* the context's tokens, to feed before generating */
    size_t n_context;
};

NEXTTOK_API void nexttok_constraint_free(nexttok_constraint *c)
{
    if (!c) return;
    nt_free(c->nodes);
    nt_free(c->context);
    nt_free(c);
}

static int32_t node_new(nexttok_constraint *c, int32_t token)
{
    if (c->n_nodes == c->cap_nodes) {
        const int32_t cap = c->cap_nodes ? 2 * c->cap_nodes : 64;
        nt_trie_node *grown = nt_realloc_array(c->nodes, (size_t)cap, sizeof *grown);
        if (!grown) return -1;
        c->nodes = grown;
        c->cap_nodes = cap;
    }
    c->nodes[c->n_nodes] = (nt_trie_node){token, -1, -1, -1};
    return c->n_nodes++;
}

/* The child of `parent` reached by `token`, made (in sorted place) when
 * absent; -1 when out of memory. */
static int32_t child(nexttok_constraint *c, int32_t parent, int32_t token)
{
    int32_t prev = -1, n = c->nodes[parent].first_child;
    while (n >= 0 && c->nodes[n].token < token) {
        prev = n;
        n = c->nodes[n].next_sibling;
    }
    if (n >= 0 && c->nodes[n].token == token) return n;
    const int32_t made = node_new(c, token);
    if (made < 0) return -1;
    c->nodes[made].next_sibling = n;
    if (prev >= 0) c->nodes[prev].next_sibling = made;
    else c->nodes[parent].first_child = made;
    return made;
}

NEXTTOK_API nexttok_status nexttok_constraint_choices_create(const nexttok_tokenizer *tok, const char *context,
                                                             size_t context_len, const char *const *endings,
                                                             const size_t *ending_lens, size_t n_endings,
                                                             nexttok_constraint **out)
{
    static const char fn[] = "nexttok_constraint_choices_create";
    nt_error_clear();
    if (out) *out = NULL;
    if (!tok || (!context && context_len) || !endings || !ending_lens || !out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: tokenizer, endings, ending_lens and out must not be NULL", fn);
    if (n_endings == 0 || n_endings > INT32_MAX)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: %zu endings (1 or more)", fn, n_endings);
    nexttok_constraint *c = nt_calloc(1, sizeof *c);
    if (!c) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn);
    const char *ctx = context ? context : "";
    int32_t *whole = NULL;
    char *text = NULL;
    nexttok_status st = node_new(c, -1) < 0 ? nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn) : NEXTTOK_OK;
    if (st == NEXTTOK_OK)
        st = nt_choice_tokenize(tok, ctx, nt_choice_context_kept(ctx, context_len), &c->context, &c->n_context);
    for (size_t e = 0; e < n_endings && st == NEXTTOK_OK; e++) {
        if (!endings[e] && ending_lens[e]) {
            st = nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: ending %zu is NULL", fn, e);
            break;
        }
        size_t n_whole = 0;
        if ((st = nt_choice_joined_tokenize(tok, ctx, context_len, endings[e], ending_lens[e], &text, &whole,
                                            &n_whole)))
            break;
        if (n_whole <= c->n_context) {
            st = nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: ending %zu gives no tokens after the context's %zu", fn, e,
                         c->n_context);
            break;
        }
        int32_t node = 0;
        for (size_t i = c->n_context; i < n_whole && node >= 0; i++) node = child(c, node, whole[i]);
        if (node < 0) {
            st = nt_fail(NEXTTOK_ERR_NO_MEMORY, "%s: out of memory", fn);
            break;
        }
        if (c->nodes[node].ending < 0) c->nodes[node].ending = (int32_t)e;
    }
    nt_free(text);
    nt_free(whole);
    if (st != NEXTTOK_OK) {
        nexttok_constraint_free(c);
        return st;
    }
    *out = c;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_constraint_context_get(const nexttok_constraint *c, const int32_t **tokens,
                                                          size_t *n_tokens)
{
    nt_error_clear();
    if (!c || !tokens || !n_tokens)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_constraint_context_get: arguments must not be NULL");
    *tokens = c->context;
    *n_tokens = c->n_context;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_constraint_allowed_get(const nexttok_constraint *c, int32_t *tokens,
                                                          size_t capacity, size_t *n_out)
{
    nt_error_clear();
    if (!c || !n_out || (!tokens && capacity))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_constraint_allowed_get: constraint and n_out must not be NULL");
    size_t n = 0;
    for (int32_t k = c->nodes[c->at].first_child; k >= 0; k = c->nodes[k].next_sibling) {
        if (n < capacity) tokens[n] = c->nodes[k].token;
        n++;
    }
    *n_out = n;
    if (n > capacity)
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "nexttok_constraint_allowed_get: room for %zu tokens, need %zu",
                       capacity, n);
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_constraint_accept(nexttok_constraint *c, int32_t token)
{
    nt_error_clear();
    if (!c) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_constraint_accept: constraint must not be NULL");
    for (int32_t k = c->nodes[c->at].first_child; k >= 0; k = c->nodes[k].next_sibling)
        if (c->nodes[k].token == token) {
            c->at = k;
            return NEXTTOK_OK;
        }
    return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_constraint_accept: token %d does not continue any ending here",
                   token);
}

NEXTTOK_API int32_t nexttok_constraint_matched_get(const nexttok_constraint *c, int32_t *can_continue)
{
    if (can_continue) *can_continue = c && c->nodes[c->at].first_child >= 0;
    return c ? c->nodes[c->at].ending : -1;
}

NEXTTOK_API void nexttok_constraint_reset(nexttok_constraint *c)
{
    if (c) c->at = 0;
}

NEXTTOK_API nexttok_status nexttok_constraint_mask_apply(const nexttok_constraint *c, nexttok_sampler_chain *chain,
                                                         int32_t stage)
{
    nt_error_clear();
    if (!c || !chain)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_constraint_mask_apply: constraint and chain must not be NULL");
    /* the allowed tokens are a node's children: at most the endings' count
     * of them, listed without allocating */
    int32_t buf[64];
    size_t n = 0;
    for (int32_t k = c->nodes[c->at].first_child; k >= 0; k = c->nodes[k].next_sibling) n++;
    if (n <= 64) {
        size_t i = 0;
        for (int32_t k = c->nodes[c->at].first_child; k >= 0; k = c->nodes[k].next_sibling) buf[i++] = c->nodes[k].token;
        return nexttok_sampler_chain_mask_tokens_set(chain, stage, buf, n);
    }
    int32_t *many = nt_malloc_array(n, sizeof *many);
    if (!many) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "nexttok_constraint_mask_apply: out of memory");
    size_t i = 0;
    for (int32_t k = c->nodes[c->at].first_child; k >= 0; k = c->nodes[k].next_sibling) many[i++] = c->nodes[k].token;
    nexttok_status st = nexttok_sampler_chain_mask_tokens_set(chain, stage, many, n);
    nt_free(many);
    return st;
}
