/* Pre-tokenizer of byte-level BPE vocabularies: splits text into the words
 * that BPE merges run inside, by the regular expressions named by the GGUF
 * key tokenizer.ggml.pre (the lists llama.cpp and Hugging Face tokenizers use).
 *
 * A type is a sequence of regexes: the first splits the whole text, each
 * next one splits every piece the previous produced. Within a piece, both the
 * matches and the unmatched gaps between them become pieces, so the pieces
 * always cover the text exactly, in order.
 *
 * Invalid UTF-8 is decoded the way llama.cpp does: each byte that does not
 * start a (loosely) well-formed sequence becomes one U+FFFD code point, which
 * is classified like any other (a symbol), so it joins neighbouring
 * punctuation. Pieces are reported as byte ranges of the original text, so
 * no byte is lost or altered. */
#ifndef NT_TOKENIZER_PRETOKENIZER_H
#define NT_TOKENIZER_PRETOKENIZER_H

#include <stdbool.h>
#include <stddef.h>

#include "nexttok.h"

typedef struct nt_pretok nt_pretok;

/* `pre` is the value of GGUF key tokenizer.ggml.pre (NULL, "" or "default"
 * => GPT-2's regex, Hugging Face's ByteLevel default. Note llama.cpp splits
 * "default" differently: [\p{P}\$\+<=>\^~\|]+, then GPT-2's, \p{N}+ and
 * [0-9][0-9][0-9] in sequence). Unknown names: NEXTTOK_ERR_UNSUPPORTED with a message
 * naming it. */
nexttok_status nt_pretok_create(const char *pre, nt_pretok **out);
void nt_pretok_free(nt_pretok *p);

/* Called once per piece: bytes text[start .. start+len), len > 0. */
typedef void (*nt_pretok_emit_fn)(void *user, size_t start, size_t len);

/* Split text[0..len) into words; calls emit(user, start, len) for each
 * consecutive piece, in order, covering the text exactly (no call for an
 * empty text). Thread-safe for concurrent calls on one nt_pretok (match data
 * is per call). On failure (out of memory, a regex engine limit) the pieces
 * already emitted must be discarded by the caller. */
nexttok_status nt_pretok_split(const nt_pretok *p, const char *text, size_t len,
                               nt_pretok_emit_fn emit, void *user);

/* The canonical name of the type `p` was created for ("gpt-2", "llama3", ...),
 * after aliases were resolved. */
const char *nt_pretok_type_name(const nt_pretok *p);

/* Whether llama.cpp (following the model's tokenizer.json) skips BPE merges
 * for a word that is itself in the vocabulary: true for llama3/llama-bpe and
 * its aliases, tekken, youtu, minicpm5, granite-embed-multi-97m; false for
 * others, including dbrx and chatglm-bpe which share llama3's regex. */
bool nt_pretok_ignore_merges(const nt_pretok *p);

#endif
