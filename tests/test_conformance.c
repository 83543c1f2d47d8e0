/*
 * Conformance against ../shared/fixtures: logits of the float models at
 * every position, within the bound the fixtures' README sets:
 * |ours - exact| <= 1e-3 * max(1, max |exact logit| of the row), and the
 * same arg-max wherever the exact top two differ by more than that bound.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexttok.h"
#include "support/fixtures.h"
#include "support/logits_file.h"

typedef struct {
    double max_abs_err;
    double max_rel_err; /* error / bound-scale, must stay <= 1e-3 */
    double kl_sum;      /* of KL(exact || ours) over positions */
} conformance_result;

/* For the log: llama.cpp's own distance from .exact, measured in the same
 * run from its logits file when the fixtures have one. */
static void report_llamacpp(const char *logits_rel, const nt_logits_file *ref)
{
    char rel[512], path[4096];
    const char *dot = strstr(logits_rel, ".exact.logits");
    if (!dot) return;
    snprintf(rel, sizeof rel, "%.*s.llamacpp.logits", (int)(dot - logits_rel), logits_rel);
    nt_logits_file lc;
    if (!nt_test_fixture_path(rel, path, sizeof path) || nt_logits_file_read(path, &lc) != 0) return;
    if (lc.n == ref->n && lc.n_vocab == ref->n_vocab) {
        double max_abs = 0.0, kl = 0.0;
        for (size_t i = 0; i < (size_t)ref->n * (size_t)ref->n_vocab; i++)
            max_abs = fmax(max_abs, fabs((double)lc.logits[i] - (double)ref->logits[i]));
        for (int32_t p = 0; p < ref->n; p++)
            kl += nt_logits_kl(ref->logits + (size_t)p * ref->n_vocab, lc.logits + (size_t)p * ref->n_vocab,
                               ref->n_vocab);
        fprintf(stderr, "  llama.cpp vs %s: max abs logit error %.3e, mean KL %.3e\n", logits_rel, max_abs,
                kl / ref->n);
    }
    nt_logits_file_free(&lc);
}

static conformance_result check_fixture(const char *model_rel, const char *logits_rel)
{
    conformance_result res = {0, 0, 0};
    char model_path[4096], logits_path[4096];
    if (!nt_test_fixture_path(model_rel, model_path, sizeof model_path) ||
        !nt_test_fixture_path(logits_rel, logits_path, sizeof logits_path))
        cr_skip_test(NT_SKIP_MSG);

    nt_logits_file ref;
    cr_assert_eq(nt_logits_file_read(logits_path, &ref), 0, "cannot read %s", logits_path);

    nexttok_model *model = NULL;
    cr_assert_eq(nexttok_model_load(model_path, NULL, &model), NEXTTOK_OK, "%s: %s", model_path,
                 nexttok_error_message());
    cr_assert_eq(nexttok_model_n_vocab_get(model), ref.n_vocab);

    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(model, NULL, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    float *ours = malloc((size_t)ref.n * (size_t)ref.n_vocab * sizeof *ours);
    cr_assert_not_null(ours);
    cr_assert_eq(nexttok_session_feed(s, ref.tokens, (size_t)ref.n, ours,
                                      (size_t)ref.n * (size_t)ref.n_vocab), NEXTTOK_OK, "%s",
                 nexttok_error_message());

    for (int32_t p = 0; p < ref.n; p++) {
        const float *want = ref.logits + (size_t)p * ref.n_vocab;
        const float *got = ours + (size_t)p * ref.n_vocab;
        double scale = 1.0;
        for (int32_t i = 0; i < ref.n_vocab; i++)
            if (fabs(want[i]) > scale) scale = fabs(want[i]);
        const double bound = 1e-3 * scale;
        for (int32_t i = 0; i < ref.n_vocab; i++) {
            double err = fabs((double)got[i] - (double)want[i]);
            if (err > res.max_abs_err) res.max_abs_err = err;
            if (err / scale > res.max_rel_err) res.max_rel_err = err / scale;
            cr_assert(err <= bound, "%s position %d token %d: got %.7g, exact %.7g (bound %.3g)",
                      model_rel, p, i, (double)got[i], (double)want[i], bound);
        }
        res.kl_sum += nt_logits_kl(want, got, ref.n_vocab);
        int32_t want_best, got_best;
        double gap, unused;
        nt_logits_top_two(want, ref.n_vocab, &want_best, &gap);
        nt_logits_top_two(got, ref.n_vocab, &got_best, &unused);
        if (gap > bound)
            cr_assert_eq(got_best, want_best, "%s position %d: arg-max %d, exact %d", model_rel, p,
                         got_best, want_best);
    }
    fprintf(stderr, "conformance %s vs %s: %d positions, max abs logit error %.3e (%.3e of scale), mean KL %.3e\n",
            model_rel, logits_rel, ref.n, res.max_abs_err, res.max_rel_err, res.kl_sum / ref.n);
    report_llamacpp(logits_rel, &ref);
    free(ours);
    nexttok_session_free(s);
    nexttok_model_free(model);
    nt_logits_file_free(&ref);
    return res;
}

Test(conformance, gpt2_tiny_f32_t1) { check_fixture("models/gpt2-tiny-f32.gguf", "logits/gpt2-tiny-f32.t1.exact.logits"); }
Test(conformance, gpt2_tiny_f32_t2) { check_fixture("models/gpt2-tiny-f32.gguf", "logits/gpt2-tiny-f32.t2.exact.logits"); }
Test(conformance, llama_tiny_f32_t1) { check_fixture("models/llama-tiny-f32.gguf", "logits/llama-tiny-f32.t1.exact.logits"); }
Test(conformance, llama_tiny_f32_t2) { check_fixture("models/llama-tiny-f32.gguf", "logits/llama-tiny-f32.t2.exact.logits"); }
Test(conformance, aidreams260K_t1) { check_fixture("models/aidreams260K.gguf", "logits/aidreams260K.t1.exact.logits"); }
Test(conformance, aidreams260K_t2) { check_fixture("models/aidreams260K.gguf", "logits/aidreams260K.t2.exact.logits"); }
