/* Feeding text to a session: tokenize, then one all-or-nothing feed. */
#include "core/error.h"
#include "tokenizer/tokenizer.h"

NEXTTOK_API nexttok_status nexttok_session_text_feed(nexttok_session *session,
                                                     const nexttok_tokenizer *tokenizer,
                                                     const char *text, size_t len, uint32_t flags)
{
    nt_error_clear();
    if (!session || !tokenizer)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "session_text_feed: %s is NULL",
                       !session ? "session" : "tokenizer");
    if (!text && len > 0)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "session_text_feed: text is NULL but len is %zu", len);
    if (flags & ~(NEXTTOK_ENCODE_ADD_SPECIAL | NEXTTOK_ENCODE_PARSE_SPECIAL))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "session_text_feed: unknown flags 0x%x", flags);
    nt_ids ids = {0};
    nexttok_status st = nt_tokenizer_encode_ids(tokenizer, text ? text : "", len, flags, &ids);
    if (st == NEXTTOK_OK && ids.n > 0) st = nexttok_session_feed(session, ids.v, ids.n, NULL, 0);
    nt_ids_free(&ids);
    return st;
}
