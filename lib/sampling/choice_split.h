/*
 * How a context and an ending split into tokens, as lm-evaluation-harness
 * splits them: the context's trailing ASCII white space belongs to the
 * ending, the context is tokenized alone, and the ending's tokens are
 * those of tokenize(context + ending) after the context's. Shared by
 * choice scoring (session/choices.c) and constrained choices
 * (sampling/constraint.c), which must agree token for token.
 */
#ifndef NT_CHOICE_SPLIT_H
#define NT_CHOICE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "nexttok.h"

/* Bytes of the context that are tokenized alone: its length without its
 * trailing white space. */
size_t nt_choice_context_kept(const char *context, size_t len);

/* Token ids of `len` bytes of text with the vocabulary's BOS/EOS into
 * *ids (nt_malloc'd, replacing what it held; nt_free it). */
nexttok_status nt_choice_tokenize(const nexttok_tokenizer *tok, const char *text, size_t len, int32_t **ids,
                                  size_t *n);

/* The tokens of context + ending (the whole context, its white space
 * included) into *ids, as nt_choice_tokenize; *text is a scratch buffer
 * (nt_malloc'd, replacing what it held; nt_free it). */
nexttok_status nt_choice_joined_tokenize(const nexttok_tokenizer *tok, const char *context, size_t context_len,
                                         const char *ending, size_t ending_len, char **text, int32_t **ids,
                                         size_t *n);

#endif
