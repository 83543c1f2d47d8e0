/* JSON Lines items for `nexttok choice`, parsed by jansson. */
#include "choice_items.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nt_choice_set_free(nt_choice_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        nt_choice_item *it = &set->items[i];
        free(it->context);
        if (it->endings)
            for (size_t k = 0; k < it->n_endings; k++) free(it->endings[k]);
        free(it->endings);
        free(it->ll);
        free(it->chars);
        free(it->n_tokens);
        free(it->greedy);
    }
    free(set->items);
    *set = (nt_choice_set){0};
}

static bool line_fail(char *err, size_t err_size, size_t line, const char *fmt, ...)
{
    int n = snprintf(err, err_size, "line %zu: ", line);
    if (n >= 0 && (size_t)n < err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, err_size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* A string the CLI can pass on with strlen: jansson rejects \u0000 unless
 * asked (JSON_ALLOW_NUL), and this says so should that ever change. */
static bool plain_string(const json_t *v)
{
    return strlen(json_string_value(v)) == json_string_length(v);
}

/* Check one parsed line and take its item. */
static bool item_from_json(size_t line, json_t *root, nt_choice_item *it, char *err, size_t err_size)
{
#define FAIL(...) return line_fail(err, err_size, line, __VA_ARGS__)
    if (!json_is_object(root)) FAIL("not a JSON object");
    json_t *ctx = json_object_get(root, "context"), *ends = json_object_get(root, "endings"),
           *label = json_object_get(root, "label");
    if (!ctx) FAIL("missing key \"context\"");
    if (!ends) FAIL("missing key \"endings\"");
    if (!label) FAIL("missing key \"label\"");
    if (!json_is_string(ctx)) FAIL("\"context\" is not a string");
    if (!plain_string(ctx)) FAIL("\"context\" holds a NUL character");
    if (!json_is_array(ends)) FAIL("\"endings\" is not an array");
    if (json_array_size(ends) == 0) FAIL("\"endings\" is empty");
    if (!json_is_integer(label)) FAIL("\"label\" is not an integer");
    const size_t k = json_array_size(ends);
    const json_int_t lab = json_integer_value(label);
    if (lab < 0 || (uint64_t)lab >= k) FAIL("\"label\" %lld is out of range for %zu endings", (long long)lab, k);
    for (size_t e = 0; e < k; e++) {
        json_t *v = json_array_get(ends, e);
        if (!json_is_string(v)) FAIL("ending %zu is not a string", e);
        if (json_string_length(v) == 0) FAIL("ending %zu is empty (acc_norm divides by its length)", e);
        if (!plain_string(v)) FAIL("ending %zu holds a NUL character", e);
    }
    it->line = line;
    it->label = lab;
    it->context = strdup(json_string_value(ctx));
    it->endings = calloc(k, sizeof *it->endings);
    it->ll = calloc(k, sizeof *it->ll);
    it->chars = calloc(k, sizeof *it->chars);
    it->n_tokens = calloc(k, sizeof *it->n_tokens);
    it->greedy = calloc(k, sizeof *it->greedy);
    if (!it->context || !it->endings || !it->ll || !it->chars || !it->n_tokens || !it->greedy) FAIL("out of memory");
    it->n_endings = k; /* only now: nt_choice_set_free walks endings[0..k) */
    for (size_t e = 0; e < k; e++) {
        it->endings[e] = strdup(json_string_value(json_array_get(ends, e)));
        if (!it->endings[e]) FAIL("out of memory");
    }
    return true;
#undef FAIL
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
    return true;
}

bool nt_choice_items_parse(const char *data, size_t size, nt_choice_set *set, char *err, size_t err_size)
{
    size_t line = 0;
    for (size_t pos = 0; pos < size;) {
        const char *start = data + pos;
        const char *nl = memchr(start, '\n', size - pos);
        const size_t len = nl ? (size_t)(nl - start) : size - pos;
        pos += len + (nl != NULL);
        line++;
        if (blank(start, len)) continue;
        json_error_t jerr;
        json_t *root = json_loadb(start, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) return line_fail(err, err_size, line, "invalid JSON at column %d: %s", jerr.column, jerr.text);
        if (set->n == set->cap) {
            size_t cap = set->cap ? set->cap * 2 : 16;
            nt_choice_item *bigger = cap <= SIZE_MAX / sizeof *bigger ? realloc(set->items, cap * sizeof *bigger) : NULL;
            if (!bigger) {
                json_decref(root);
                return line_fail(err, err_size, line, "out of memory");
            }
            set->items = bigger;
            set->cap = cap;
        }
        nt_choice_item *it = &set->items[set->n++];
        memset(it, 0, sizeof *it);
        bool ok = item_from_json(line, root, it, err, err_size);
        json_decref(root);
        if (!ok) return false;
    }
    if (set->n == 0) {
        snprintf(err, err_size, "holds no items");
        return false;
    }
    return true;
}
