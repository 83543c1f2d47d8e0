/* Probability and selection helpers for the session's queries
 * (lib/session/session_probs.c). */
#ifndef NT_SAMPLING_PROBS_H
#define NT_SAMPLING_PROBS_H

#include <stddef.h>
#include <stdint.h>

#include "nexttok.h"

/* softmax(logits / temperature); temperature 0 gives a one-hot arg-max
 * (lowest id on ties). */
nexttok_status nt_probs_compute(const float *logits, int32_t n, float temperature, float *probs);

/* The min(k, n) largest values with their ids, largest first, ties by lower id. */
size_t nt_topk_select(const float *values, int32_t n, size_t k, nexttok_token_prob *out);

/* The model a session runs, for the samplers that draw from a session.
 * Defined in lib/session/session.c; declared here so that sampling needs
 * no session header (sessions are opaque outside lib/session). */
const nexttok_model *nt_session_model(const nexttok_session *s);

#endif
