/* The tokenizer entry point that involves a model. */
#include "core/error.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

NEXTTOK_API nexttok_status nexttok_tokenizer_create(const nexttok_model *model,
                                                    nexttok_tokenizer **tokenizer_out)
{
    nt_error_clear();
    if (tokenizer_out) *tokenizer_out = NULL;
    if (!model || !tokenizer_out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "tokenizer_create: %s is NULL",
                       !model ? "model" : "tokenizer_out");
    return nt_tokenizer_from_gguf(nt_model_gguf(model), tokenizer_out);
}
