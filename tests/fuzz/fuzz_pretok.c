/* libFuzzer target: the regex pre-tokenizer of every supported type on
 * arbitrary bytes. The header promises the pieces cover the text exactly,
 * in order, each non-empty; check that for every type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "tokenizer/pretok_types.h"
#include "tokenizer/pretokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_TYPES 64
static nt_pretok *pretoks[MAX_TYPES];
static size_t n_pretoks;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const nt_pretok_type *ty;
    for (size_t i = 0; (ty = nt_pretok_type_at(i)) != NULL && n_pretoks < MAX_TYPES; i++) {
        if (nt_pretok_create(ty->name, &pretoks[n_pretoks]) != NEXTTOK_OK) abort();
        n_pretoks++;
    }
    return 0;
}

typedef struct cover {
    size_t next; /* where the next piece must start */
    size_t len;
} cover;

static void on_piece(void *user, size_t start, size_t len)
{
    cover *c = user;
    if (len == 0 || start != c->next || len > c->len - start) abort();
    c->next = start + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    for (size_t i = 0; i < n_pretoks; i++) {
        cover c = {0, size};
        nexttok_status st = nt_pretok_split(pretoks[i], text, size, on_piece, &c);
        if (st == NEXTTOK_OK && c.next != size) abort(); /* text not covered */
    }
    free(text);
    return 0;
}
