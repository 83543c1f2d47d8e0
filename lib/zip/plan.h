/*
 * How an input splits into what the tokenizer can carry and what it
 * cannot. A stretch is text when its tokens (no special tokens) decode
 * back to exactly its bytes, with no more tokens than bytes; a stretch
 * that fails is split in two near its middle, preferring a line break,
 * then a space, then a character boundary, down to NT_ZIP_RAW_MIN bytes,
 * below which it is raw. Text stretches are at most NT_ZIP_SEG_MAX bytes,
 * which bounds the decoder's buffers.
 */
#ifndef NT_ZIP_PLAN_H
#define NT_ZIP_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "nexttok.h"

#define NT_ZIP_SEG_MAX ((size_t)1 << 20)
#define NT_ZIP_RAW_MIN 32
#define NT_ZIP_RAW_MAX ((size_t)1 << 30)

typedef struct nt_zip_seg {
    size_t start, len;
    bool text;
} nt_zip_seg;

typedef struct nt_zip_plan {
    nt_zip_seg *segs;
    size_t n, cap;
    int32_t *tokens; /* scratch for the round-trip checks */
    size_t tokens_cap;
    char *text;
    size_t text_cap;
} nt_zip_plan;

nexttok_status nt_zip_plan_make(const nexttok_tokenizer *tok, const unsigned char *in, size_t len, nt_zip_plan *plan);
void nt_zip_plan_free(nt_zip_plan *plan);

/* The tokens of a text stretch (into plan->tokens); *n_out their count.
 * Returns false when the stretch does not round-trip (plan_make decided
 * that already; the encoder asks again rather than keeping every token). */
bool nt_zip_plan_tokens(const nexttok_tokenizer *tok, const unsigned char *s, size_t len, nt_zip_plan *plan,
                        size_t *n_out, nexttok_status *st);

#endif
