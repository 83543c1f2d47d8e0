/* The JSON Lines items of `nexttok choice`: parsed and checked from bytes,
 * so the CLI and the fuzz target (tests/fuzz/fuzz_choice.c) run the same
 * code on untrusted files. */
#ifndef NT_CLI_CHOICE_ITEMS_H
#define NT_CLI_CHOICE_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nt_choice_item {
    size_t line;
    char *context;
    char **endings; /* n_endings non-empty strings without NUL bytes */
    size_t n_endings;
    int64_t label;  /* in [0, n_endings) */
    /* Filled by scoring, one per ending (allocated zeroed by the parser). */
    double *ll;
    int64_t *chars;
    int32_t *n_tokens;
    int32_t *greedy;
    size_t pred, pred_norm;
} nt_choice_item;

typedef struct nt_choice_set {
    nt_choice_item *items;
    size_t n, cap;
} nt_choice_set;

/* Parse every line of `data` (blank lines skipped). True with at least one
 * item; false with a message in `err` ("line N: ...", or "holds no items"),
 * meant to follow the file's name. Either way the set owns what it holds:
 * release it with nt_choice_set_free. */
bool nt_choice_items_parse(const char *data, size_t size, nt_choice_set *set, char *err, size_t err_size);

void nt_choice_set_free(nt_choice_set *set);

#endif
