/* libFuzzer target: the JSON Lines reader of `nexttok choice`
 * (tools/nexttok/choice_items.c, the code the CLI runs) on arbitrary bytes.
 * A parse that succeeds must give items the scorer can take as they are
 * (endings non-empty with no NUL byte, labels in range, lines increasing);
 * a failure must say why with the line it stopped at. Either way the set is
 * released, so ASan's leak checker sees anything the parser drops. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "choice_items.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy, sized exactly, so reads past the end are caught. */
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    nt_choice_set set = {0};
    char err[512] = "";
    if (nt_choice_items_parse(buf, size, &set, err, sizeof err)) {
        if (set.n == 0 || set.n > set.cap) abort();
        size_t last = 0;
        for (size_t i = 0; i < set.n; i++) {
            const nt_choice_item *it = &set.items[i];
            if (it->line <= last || it->n_endings == 0 || !it->context) abort();
            if (it->label < 0 || (uint64_t)it->label >= it->n_endings) abort();
            for (size_t e = 0; e < it->n_endings; e++)
                if (!it->endings[e] || it->endings[e][0] == '\0') abort();
            last = it->line;
        }
    } else if (strncmp(err, "line ", 5) != 0 && strcmp(err, "holds no items") != 0) {
        abort(); /* every failure names its line */
    }
    nt_choice_set_free(&set);
    free(buf);
    return 0;
}
