/* Pre-tokenizer throughput: splits about 1 MB of English text and prints
 * MB/s (best of several runs).
 *
 *   bench_pretokenizer [TYPE [FILE]]
 *
 * TYPE defaults to gpt-2; FILE, when given, is repeated up to 1 MB instead
 * of the built-in paragraph. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nexttok.h"
#include "tokenizer/pretokenizer.h"
#include "support/bench_clock.h"

static const char paragraph[] =
    "The quick brown fox jumps over the lazy dog, but the dog doesn't care. In 1999, "
    "researchers at the university measured 42 different variables; they'll publish "
    "the results soon. \"What's the point?\" she asked, looking at the 3.14159 figure on "
    "the whiteboard. It's been a long day -- we've walked 12,345 steps and I'm tired.\n\n"
    "Meanwhile, the committee (which met on Tuesday) approved the $2.5 million budget "
    "for next year's programme.   Several members abstained!\n";

static size_t n_pieces;

static void count_piece(void *user, size_t start, size_t len)
{
    (void)user;
    (void)start;
    (void)len;
    n_pieces++;
}

int main(int argc, char **argv)
{
    const char *type = argc > 1 ? argv[1] : "gpt-2";
    const char *unit = paragraph;
    size_t unit_len = sizeof paragraph - 1;
    char *file = NULL;
    if (argc > 2) {
        FILE *f = fopen(argv[2], "rb");
        if (!f) {
            perror(argv[2]);
            return 1;
        }
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        file = malloc(sz > 0 ? (size_t)sz : 1);
        if (!file || sz <= 0 || fread(file, 1, (size_t)sz, f) != (size_t)sz) {
            fprintf(stderr, "%s: cannot read\n", argv[2]);
            return 1;
        }
        fclose(f);
        unit = file;
        unit_len = (size_t)sz;
    }

    const size_t target = 1000000;
    size_t len = 0;
    char *text = malloc(target + unit_len);
    if (!text)
        return 1;
    while (len < target) {
        memcpy(text + len, unit, unit_len);
        len += unit_len;
    }

    nt_pretok *p = NULL;
    if (nt_pretok_create(type, &p) != NEXTTOK_OK) {
        fprintf(stderr, "%s\n", nexttok_error_message());
        return 1;
    }
    double best = 1e30;
    for (int run = 0; run < 7; run++) {
        n_pieces = 0;
        double t0 = nt_bench_wall_s();
        if (nt_pretok_split(p, text, len, count_piece, NULL) != NEXTTOK_OK) {
            fprintf(stderr, "%s\n", nexttok_error_message());
            return 1;
        }
        double dt = nt_bench_wall_s() - t0;
        if (dt < best)
            best = dt;
    }
    printf("pre-tokenizer %s: %zu bytes, %zu pieces, best %.2f ms, %.1f MB/s\n", type, len, n_pieces,
           best * 1e3, (double)len / best / 1e6);
    nt_pretok_free(p);
    free(text);
    free(file);
    return 0;
}
