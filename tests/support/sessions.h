/* Fixture models and sessions over them, for the suites that run models. */
#ifndef NT_TEST_SESSIONS_H
#define NT_TEST_SESSIONS_H

#include <stdint.h>

#include "nexttok.h"

/* Load the fixture at `rel` (under the fixtures folder); skips the test
 * when it is absent, fails it when the load fails. */
nexttok_model *nt_test_model_load(const char *rel);

/* A session of n_ctx positions and n_batch tokens a forward call (0 for
 * the defaults); fails the test when creation fails. */
nexttok_session *nt_test_session_new(const nexttok_model *m, int32_t n_ctx, int32_t n_batch);

#endif
