/*
 * Conformance of the quantized llama fixtures (llama-q-*) against their
 * `.exact` logits (a float64 forward pass over the dequantized weights),
 * by the README's criterion for quantized weights: mean over positions of
 * KL(exact || ours) no larger than llama.cpp's own figure, and the same
 * arg-max wherever the exact top two logits differ by more than 0.5.
 * Both precisions: fast mode (8-bit activations, integer dots, as llama.cpp)
 * must stay within llama.cpp's KL; exact mode never rounds the activations
 * and must stay within float rounding of the reference.
 *
 * Feeding the prompt whole (multi-token products over dequantized rows)
 * and one token at a time (the quantized single dots) must also agree
 * bitwise: the batched path is built to repeat the single dot exactly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "support/harness.h"
#include "support/fixtures.h"
#include "support/logits_file.h"

static void check_quant_fixture_in(const char *name, double llamacpp_kl, int32_t precision)
{
    char model_rel[256], logits_rel[256], model_path[4096], logits_path[4096];
    snprintf(model_rel, sizeof model_rel, "models/%s.gguf", name);
    snprintf(logits_rel, sizeof logits_rel, "logits/%s.t1.exact.logits", name);
    if (!nt_test_fixture_path(model_rel, model_path, sizeof model_path) ||
        !nt_test_fixture_path(logits_rel, logits_path, sizeof logits_path))
        cr_skip_test(NT_SKIP_MSG);

    nt_logits_file ref;
    cr_assert_eq(nt_logits_file_read(logits_path, &ref), 0, "cannot read %s", logits_path);
    nexttok_model *model = NULL;
    cr_assert_eq(nexttok_model_load(model_path, NULL, &model), NEXTTOK_OK, "%s: %s", model_path,
                 nexttok_error_message());
    cr_assert_eq(nexttok_model_n_vocab_get(model), ref.n_vocab);

    const size_t n_all = (size_t)ref.n * (size_t)ref.n_vocab;
    float *ours = malloc(n_all * sizeof *ours), *stepwise = malloc(n_all * sizeof *stepwise);
    cr_assert(ours && stepwise);

    nexttok_session *s = NULL;
    nexttok_session_params sp;
    nexttok_session_params_init(&sp, sizeof sp);
    sp.precision = precision;
    if (getenv("NT_TEST_NO_THREADS")) sp.n_threads = 1; /* qemu-user hangs in new threads */
    cr_assert_eq(nexttok_session_create(model, &sp, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_feed(s, ref.tokens, (size_t)ref.n, ours, n_all), NEXTTOK_OK, "%s",
                 nexttok_error_message());
    nexttok_session_free(s);
    cr_assert_eq(nexttok_session_create(model, &sp, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    for (int32_t p = 0; p < ref.n; p++)
        cr_assert_eq(nexttok_session_feed(s, ref.tokens + p, 1, stepwise + (size_t)p * ref.n_vocab, (size_t)ref.n_vocab), NEXTTOK_OK,
                     "%s", nexttok_error_message());
    nexttok_session_free(s);
    cr_assert(memcmp(ours, stepwise, n_all * sizeof *ours) == 0,
              "%s: logits of the whole prompt differ from those fed token by token", name);

    double max_abs = 0.0, kl_sum = 0.0, kl_max = 0.0;
    for (int32_t p = 0; p < ref.n; p++) {
        const float *want = ref.logits + (size_t)p * ref.n_vocab;
        const float *got = ours + (size_t)p * ref.n_vocab;
        for (int32_t i = 0; i < ref.n_vocab; i++) {
            cr_assert(isfinite(got[i]), "%s position %d token %d: %g", name, p, i, (double)got[i]);
            double err = fabs((double)got[i] - (double)want[i]);
            if (err > max_abs) max_abs = err;
        }
        const double kl = nt_logits_kl(want, got, ref.n_vocab);
        kl_sum += kl;
        if (kl > kl_max) kl_max = kl;
        int32_t want_best, got_best;
        double gap, unused;
        nt_logits_top_two(want, ref.n_vocab, &want_best, &gap);
        nt_logits_top_two(got, ref.n_vocab, &got_best, &unused);
        if (gap > 0.5)
            cr_assert_eq(got_best, want_best, "%s position %d: arg-max %d, exact %d (gap %.3g)", name, p,
                         got_best, want_best, gap);
    }
    const double kl_mean = kl_sum / ref.n;
    const char *mode = precision == NEXTTOK_PRECISION_EXACT ? "exact" : "fast";
    fprintf(stderr, "conformance %s %s: %d positions, max abs logit error %.3e, mean KL %.3e (max %.3e; llama.cpp %.3g)\n",
            name, mode, ref.n, max_abs, kl_mean, kl_max, llamacpp_kl);
    cr_assert(kl_mean <= llamacpp_kl, "%s %s: mean KL(exact || ours) %.3e above llama.cpp's %.3e", name, mode,
              kl_mean, llamacpp_kl);
    /* Exact mode's claim: F32 activations times exactly decoded weights,
     * logits within float rounding of the float64 pass (measured ~1.5e-6). */
    if (precision == NEXTTOK_PRECISION_EXACT)
        cr_assert(max_abs <= 1e-5, "%s exact: max abs logit error %.3e", name, max_abs);

    free(ours);
    free(stepwise);
    nexttok_model_free(model);
    nt_logits_file_free(&ref);
}

/* Fast mode (the default for quantized weights) and exact mode. */
static void check_quant_fixture(const char *name, double llamacpp_kl)
{
    check_quant_fixture_in(name, llamacpp_kl, NEXTTOK_PRECISION_DEFAULT);
    check_quant_fixture_in(name, llamacpp_kl, NEXTTOK_PRECISION_EXACT);
}

/* llama.cpp's mean KL per position from the fixtures' README table. */
Test(conformance_quant, llama_q_Q8_0) { check_quant_fixture("llama-q-Q8_0", 1.33e-4); }
Test(conformance_quant, llama_q_Q4_0) { check_quant_fixture("llama-q-Q4_0", 1.40e-4); }
Test(conformance_quant, llama_q_Q4_K_M) { check_quant_fixture("llama-q-Q4_K_M", 2.68e-4); }
Test(conformance_quant, llama_q_Q6_K) { check_quant_fixture("llama-q-Q6_K", 2.61e-4); }
