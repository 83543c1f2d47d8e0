/*
 * What the commands that run a model on an input (logits, next, generate)
 * share: the --tokens/--text/--text-file and --threads/--ctx options, the
 * input checked before the slow model load, the model, its tokenizer, the
 * input's token ids and the session, and their release.
 */
#ifndef NT_CLI_SESSION_SETUP_H
#define NT_CLI_SESSION_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "nexttok.h"

typedef struct nt_cli_setup {
    const char *cmd; /* command name, for usage errors */
    nt_cli_input input;
    nt_cli_session_opts opts; /* 0 = defaults */
    int32_t *tokens;          /* the input's ids (free()) */
    size_t n_tokens;
    nexttok_model *model;
    nexttok_tokenizer *tokenizer; /* NULL when not wanted or not available */
    nexttok_session *session;     /* created by the command, after its checks */
} nt_cli_setup;

/* When a command wants the model's tokenizer. */
typedef enum nt_cli_tokenizer_need {
    NT_CLI_TOKENIZER_FOR_TEXT, /* only to tokenize text input */
    NT_CLI_TOKENIZER_IF_ANY,   /* whenever the model has one; required for text */
    NT_CLI_TOKENIZER_ALWAYS,   /* required, whatever the input */
} nt_cli_tokenizer_need;

/* The input and session options at argv[*i] (an nt_cli_option_fn shape):
 * 1 consumed, 0 not one of them, -1 error reported. */
int nt_cli_setup_option(int argc, char **argv, int *i, nt_cli_setup *setup);

/* True when one of --tokens, --text, --text-file was given. */
bool nt_cli_setup_has_input(const nt_cli_setup *setup);

/* After the options: parse --tokens and read --text-file, so bad input
 * fails before the (slow) model load. 0 or an exit status. */
int nt_cli_setup_input(nt_cli_setup *setup);

/* Load the model at `path`, its tokenizer as `need` says, and the input's
 * token ids. 0 or an exit status (error reported). */
int nt_cli_setup_load(nt_cli_setup *setup, const char *path, nt_cli_tokenizer_need need);

/* Create the session with the --ctx / --threads given. 0 or exit status. */
int nt_cli_setup_session(nt_cli_setup *setup);

/* Free everything the setup holds (safe after any failure). */
void nt_cli_setup_release(nt_cli_setup *setup);

#endif
