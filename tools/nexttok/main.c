/* nexttok: command-line client of libnexttok (a thin layer over the API). */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"inspect", nt_cli_inspect, "architecture, hyper-parameters, metadata, tensors, digests"},
    {"logits", nt_cli_logits, "write the logits of every fed position to a binary file"},
    {"next", nt_cli_next, "the most probable next tokens with their probabilities"},
    {"generate", nt_cli_generate, "continue a text prompt (greedy or sampled)"},
    {"bench", nt_cli_bench, "prefill and generation speed in tokens per second"},
#ifdef NT_CLI_HAVE_TOKENIZE
    {"tokenize", nt_cli_tokenize, "token ids of a text"},
#endif
    {"perplexity", nt_cli_perplexity, "sliding-window perplexity and bits per byte of a text file"},
    {"choice", nt_cli_choice, "multiple-choice acc and acc_norm over a JSON Lines file"},
    {"zip", nt_cli_zip, "compress a file with the model's predictions (any bytes, any machine)"},
    {"unzip", nt_cli_unzip, "decompress a file made by zip with the same model"},
};

static void print_help(void)
{
    printf("nexttok %s - next-token prediction with GGUF language models\n\n",
           nexttok_version_string());
    printf("usage: nexttok COMMAND MODEL [options]\n"
           "       nexttok COMMAND --help\n"
           "       nexttok --version | --help\n\n"
           "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    printf("\ninputs (logits, next): --tokens 1,2,3 | --text T | --text-file F\n"
           "  text is tokenized with the model's vocabulary, BOS added as it says.\n"
           "errors: exit status non-zero and one line \"nexttok: error: ...\" on stderr.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return nt_cli_usage_fail(NULL, "no command given");
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("nexttok %s\n", nexttok_version_string());
        return 0;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_help();
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    if (name[0] == '-')
        return nt_cli_usage_fail(NULL, "unknown option '%s' (a command comes first)", name);
    return nt_cli_usage_fail(NULL, "unknown command '%s'", name);
}
