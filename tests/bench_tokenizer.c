/* Tokenizer throughput: encode about 1 MB of English text with a
 * vocabulary (default: the gpt-2 fixture) and report the time.
 *
 *   bench_tokenizer [VOCAB.gguf [TEXT_FILE]]
 *
 * Without TEXT_FILE the text is generated: sentences drawn with a fixed
 * seed from common English words, with punctuation, numbers and newlines,
 * so runs are comparable across machines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nexttok.h"
#include "support/bench_clock.h"
#include "support/fixtures.h"

static const char *const words[] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by",
    "on", "not", "he", "I", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an",
    "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been",
    "if", "more", "when", "will", "would", "who", "so", "no", "she", "other", "its", "may", "these",
    "what", "them", "than", "some", "him", "time", "into", "only", "do", "could", "new", "about",
    "two", "any", "first", "my", "people", "because", "between", "government", "information",
    "development", "understanding", "language", "model", "probability", "distribution", "token",
    "sentence", "paragraph", "history", "science", "mathematics", "university", "library", "river",
    "mountain", "weather", "morning", "evening", "children", "question", "answer", "problem",
    "through", "although", "however", "therefore", "nevertheless", "experience", "important",
    "different", "following", "national", "international", "president", "company", "system",
    "program", "computer", "network", "software", "hardware", "memory", "performance", "function",
    "variable", "structure", "don't", "it's", "we're", "they've", "I'll", "she'd", "you're",
    "Washington", "London", "Paris", "Einstein", "Shakespeare", "Monday", "September", "December",
};

static char *english_text(size_t size, size_t *len_out)
{
    char *buf = malloc(size + 64);
    size_t n = 0;
    uint64_t s = 0x9E3779B97F4A7C15ull;
    int in_sentence = 0;
    while (n < size) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        const char *w = words[s % (sizeof words / sizeof words[0])];
        if (s % 37 == 0) {
            n += (size_t)sprintf(buf + n, "%s%u", in_sentence ? " " : "", (unsigned)(s >> 40) % 10000);
        } else {
            n += (size_t)sprintf(buf + n, "%s%s", in_sentence ? " " : "", w);
            if (!in_sentence && buf[n - strlen(w)] >= 'a') buf[n - strlen(w)] -= 32;
        }
        in_sentence = 1;
        unsigned r = (unsigned)(s >> 32) % 100;
        if (r < 6) buf[n++] = ',';
        else if (r < 12) {
            buf[n++] = r < 10 ? '.' : r == 10 ? '?' : '!';
            if ((s >> 20) % 6 == 0) buf[n++] = '\n', buf[n++] = '\n';
            else buf[n++] = ' ';
            in_sentence = 0;
        }
    }
    *len_out = n;
    return buf;
}

int main(int argc, char **argv)
{
    char path[1024];
    const char *vocab = argc > 1 ? argv[1] : NULL;
    if (!vocab) {
        if (!nt_test_fixture_path("vocab/ggml-vocab-gpt-2.gguf", path, sizeof path)) {
            printf("%s\n", NT_SKIP_MSG);
            return 77;
        }
        vocab = path;
    }
    size_t len;
    char *text;
    if (argc > 2) {
        text = nt_test_read_file(argv[2], &len);
        if (!text) {
            fprintf(stderr, "cannot read %s\n", argv[2]);
            return 1;
        }
    } else {
        text = english_text(1 << 20, &len);
    }
    nexttok_tokenizer *tok;
    if (nexttok_tokenizer_load(vocab, &tok) != NEXTTOK_OK) {
        fprintf(stderr, "%s\n", nexttok_error_message());
        return 1;
    }
    size_t cap = len + 16, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = nt_bench_wall_s();
        nexttok_status st = nexttok_tokenizer_encode(tok, text, len, 0, ids, cap, &n);
        double dt = nt_bench_wall_s() - t0;
        if (st != NEXTTOK_OK) {
            fprintf(stderr, "encode: %s\n", nexttok_error_message());
            return 1;
        }
        if (dt < best) best = dt;
    }
    printf("encoded %zu bytes into %zu tokens in %.3f s (best of 3): %.2f MB/s\n", len, n, best,
           len / best / 1e6);
    nexttok_tokenizer_free(tok);
    free(ids);
    free(text);
    return 0;
}
