/* nexttok: command-line client of libnexttok (a thin layer over the API). */
#include <stdio.h>
#include <string.h>

#include "nexttok.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("nexttok %s\n", nexttok_version_string());
        return 0;
    }
    fprintf(stderr, "nexttok: error: no command given (try --version)\n");
    return 2;
}
