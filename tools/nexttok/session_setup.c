#include "session_setup.h"

#include <stdlib.h>

int nt_cli_setup_option(int argc, char **argv, int *i, nt_cli_setup *setup)
{
    int r = nt_cli_input_option(argc, argv, i, &setup->input);
    if (r != 0) return r;
    return nt_cli_session_option(argc, argv, i, setup->cmd, &setup->opts);
}

bool nt_cli_setup_has_input(const nt_cli_setup *setup)
{
    const nt_cli_input *input = &setup->input;
    return input->tokens || input->text || input->text_file;
}

int nt_cli_setup_input(nt_cli_setup *setup)
{
    nt_cli_input *input = &setup->input;
    int rc = 0;
    if (input->tokens &&
        (rc = nt_cli_input_tokens(input, NULL, &setup->tokens, &setup->n_tokens)) != 0)
        return rc;
    return nt_cli_input_load(input);
}

int nt_cli_setup_load(nt_cli_setup *setup, const char *path, nt_cli_tokenizer_need need)
{
    int rc = nt_cli_model_load(path, false, &setup->model);
    if (rc) return rc;
    bool text = nt_cli_input_needs_tokenizer(&setup->input);
    if (need != NT_CLI_TOKENIZER_FOR_TEXT || text) {
        bool required = need == NT_CLI_TOKENIZER_ALWAYS || text;
        if ((rc = nt_cli_tokenizer_create(setup->model, required, &setup->tokenizer)) != 0)
            return rc;
    }
    /* --tokens were parsed by nt_cli_setup_input already; no input at all
     * is for commands that allow it (generate --snapshot-in). */
    if (setup->input.tokens || !nt_cli_setup_has_input(setup)) return 0;
    return nt_cli_input_tokens(&setup->input, setup->tokenizer, &setup->tokens, &setup->n_tokens);
}

int nt_cli_setup_session(nt_cli_setup *setup)
{
    return nt_cli_session_create(setup->model, &setup->opts, &setup->session);
}

void nt_cli_setup_release(nt_cli_setup *setup)
{
    nexttok_session_free(setup->session);
    nexttok_tokenizer_free(setup->tokenizer);
    nexttok_model_free(setup->model);
    free(setup->tokens);
    nt_cli_input_release(&setup->input);
    setup->session = NULL;
    setup->tokenizer = NULL;
    setup->model = NULL;
    setup->tokens = NULL;
}
