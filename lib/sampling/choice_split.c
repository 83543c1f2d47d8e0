/* The lm-evaluation-harness split of a context and an ending. */
#include "sampling/choice_split.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

size_t nt_choice_context_kept(const char *context, size_t len)
{
    while (len > 0 && context[len - 1] && strchr(" \t\n\r\v\f", context[len - 1])) len--;
    return len;
}

nexttok_status nt_choice_tokenize(const nexttok_tokenizer *tok, const char *text, size_t len, int32_t **ids,
                                  size_t *n)
{
    size_t cap = len + 8;
    for (int attempt = 0; attempt < 2; attempt++) {
        nt_free(*ids);
        *ids = nt_malloc_array(cap, sizeof **ids);
        if (!*ids) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory tokenizing %zu bytes", len);
        nexttok_status st = nexttok_tokenizer_encode(tok, text, len, NEXTTOK_ENCODE_ADD_SPECIAL, *ids, cap, n);
        if (st != NEXTTOK_ERR_BUFFER_TOO_SMALL || *n <= cap) return st;
        cap = *n;
    }
    return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizing: the token count kept growing");
}

nexttok_status nt_choice_joined_tokenize(const nexttok_tokenizer *tok, const char *context, size_t context_len,
                                         const char *ending, size_t ending_len, char **text, int32_t **ids,
                                         size_t *n)
{
    nt_free(*text);
    *text = nt_malloc(context_len + ending_len + 1);
    if (!*text) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory joining a context and an ending");
    if (context_len) memcpy(*text, context, context_len);
    if (ending_len) memcpy(*text + context_len, ending, ending_len);
    return nt_choice_tokenize(tok, *text, context_len + ending_len, ids, n);
}
