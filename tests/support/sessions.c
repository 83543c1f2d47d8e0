#include "support/sessions.h"

#include "support/fixtures.h"
#include "support/harness.h"

nexttok_model *nt_test_model_load(const char *rel)
{
    char path[4096];
    if (!nt_test_fixture_path(rel, path, sizeof path)) cr_skip_test(NT_SKIP_MSG);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s: %s", rel, nexttok_error_message());
    return m;
}

nexttok_session *nt_test_session_new(const nexttok_model *m, int32_t n_ctx, int32_t n_batch)
{
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    return s;
}
