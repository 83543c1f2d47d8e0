/*
 * The architectures of ../shared/fixtures/arch: each model against its
 * float64 logits within the fixtures' float bound (exact and default
 * modes), prefill against token-by-token feeding byte for byte, weight
 * types and untied outputs the fixtures do not ship (written by
 * support/gguf_copy.c), and the errors a broken file of each family gets.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nexttok.h"
#include "support/fixtures.h"
#include "support/harness.h"
#include "support/gguf_copy.h"
#include "support/logits_file.h"
#include "types/types.h"

typedef struct arch_fixture {
    char model[4096];
    nt_logits_file exact;
} arch_fixture;

static void fixture_open(const char *arch, arch_fixture *f)
{
    char rel[256], path[4096];
    snprintf(rel, sizeof rel, "arch/%s.gguf", arch);
    if (!nt_test_fixture_path(rel, f->model, sizeof f->model)) cr_skip_test(NT_SKIP_MSG);
    snprintf(rel, sizeof rel, "arch/%s.exact.logits", arch);
    cr_assert(nt_test_fixture_path(rel, path, sizeof path), "%s missing", rel);
    cr_assert_eq(nt_logits_file_read(path, &f->exact), 0, "cannot read %s", path);
}

enum feed { FEED_BATCH, FEED_STEPS };

/* Logits of every position of `tokens` (malloc'd), fed in one call or one
 * token at a time. */
static float *run_logits_kv(const char *model_path, int32_t precision, int32_t n_batch, int32_t kv_type,
                            enum feed feed, const int32_t *tokens, int32_t n, int32_t n_vocab)
{
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(model_path, NULL, &m), NEXTTOK_OK, "%s: %s", model_path,
                 nexttok_error_message());
    cr_assert_eq(nexttok_model_n_vocab_get(m), n_vocab, "%s: vocabulary size", model_path);
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    if (getenv("NT_TEST_NO_THREADS")) p.n_threads = 1; /* qemu-user hangs in new threads */
    p.precision = precision;
    p.n_batch = n_batch;
    p.kv_type = kv_type;
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    float *out = malloc((size_t)n * (size_t)n_vocab * sizeof *out);
    cr_assert_not_null(out, "out of memory");
    if (feed == FEED_BATCH) {
        cr_assert_eq(nexttok_session_feed(s, tokens, (size_t)n, out, (size_t)n * (size_t)n_vocab), NEXTTOK_OK, "%s", nexttok_error_message());
    } else {
        for (int32_t i = 0; i < n; i++)
            cr_assert_eq(nexttok_session_feed(s, tokens + i, 1, out + (size_t)i * (size_t)n_vocab, (size_t)n_vocab), NEXTTOK_OK,
                         "%s", nexttok_error_message());
    }
    nexttok_session_free(s);
    nexttok_model_free(m);
    return out;
}

static float *run_logits(const char *model_path, int32_t precision, int32_t n_batch, enum feed feed,
                         const int32_t *tokens, int32_t n, int32_t n_vocab)
{
    return run_logits_kv(model_path, precision, n_batch, NEXTTOK_KV_F32, feed, tokens, n, n_vocab);
}

/* The fixtures' float bound against `want`: every logit within 1e-3 x
 * max(1, max |want|) of the row, the same arg-max where the top two
 * differ by more. Returns the largest error. */
static double check_bound(const char *what, const float *want, const float *got, int32_t n, int32_t n_vocab)
{
    double worst = 0.0;
    for (int32_t p = 0; p < n; p++) {
        const float *w = want + (size_t)p * n_vocab, *g = got + (size_t)p * n_vocab;
        double scale = 1.0;
        for (int32_t i = 0; i < n_vocab; i++) scale = fmax(scale, fabs(w[i]));
        const double bound = 1e-3 * scale;
        for (int32_t i = 0; i < n_vocab; i++) {
            const double err = fabs((double)g[i] - (double)w[i]);
            worst = fmax(worst, err);
            cr_assert(err <= bound, "%s position %d token %d: got %.7g, want %.7g (bound %.3g)", what, p, i,
                      (double)g[i], (double)w[i], bound);
        }
        int32_t wb, gb;
        double gap, unused;
        nt_logits_top_two(w, n_vocab, &wb, &gap);
        nt_logits_top_two(g, n_vocab, &gb, &unused);
        if (gap > bound) cr_assert_eq(gb, wb, "%s position %d: arg-max %d, want %d", what, p, gb, wb);
    }
    return worst;
}

static double mean_kl(const float *want, const float *got, int32_t n, int32_t n_vocab)
{
    double kl = 0.0;
    for (int32_t p = 0; p < n; p++)
        kl += nt_logits_kl(want + (size_t)p * n_vocab, got + (size_t)p * n_vocab, n_vocab);
    return kl / n;
}

/* llama.cpp's distance from .exact, for the log. */
static void report_llamacpp(const char *arch, const arch_fixture *f, double ours_err, double ours_kl,
                            const char *mode)
{
    char rel[256], path[4096];
    snprintf(rel, sizeof rel, "arch/%s.llamacpp.logits", arch);
    nt_logits_file lc;
    double lc_err = NAN, lc_kl = NAN;
    if (nt_test_fixture_path(rel, path, sizeof path) && nt_logits_file_read(path, &lc) == 0) {
        if (lc.n == f->exact.n && lc.n_vocab == f->exact.n_vocab) {
            lc_err = 0.0;
            for (size_t i = 0; i < (size_t)lc.n * (size_t)lc.n_vocab; i++)
                lc_err = fmax(lc_err, fabs((double)lc.logits[i] - (double)f->exact.logits[i]));
            lc_kl = mean_kl(f->exact.logits, lc.logits, lc.n, lc.n_vocab);
        }
        nt_logits_file_free(&lc);
    }
    fprintf(stderr, "conformance arch/%s (%s): max abs error %.3e, mean KL %.3e; llama.cpp %.3e, %.3e\n", arch,
            mode, ours_err, ours_kl, lc_err, lc_kl);
}

static void check_exact(const char *arch, int32_t precision, const char *mode)
{
    arch_fixture f;
    fixture_open(arch, &f);
    const int32_t n = f.exact.n, V = f.exact.n_vocab;
    float *got = run_logits(f.model, precision, 0, FEED_BATCH, f.exact.tokens, n, V);
    char what[128];
    snprintf(what, sizeof what, "arch/%s %s", arch, mode);
    const double err = check_bound(what, f.exact.logits, got, n, V);
    report_llamacpp(arch, &f, err, mean_kl(f.exact.logits, got, n, V), mode);
    free(got);
    nt_logits_file_free(&f.exact);
}

/* Prefill in one call, in chunks of 5 and token by token: the same bytes
 * (sliding windows cross the chunk boundaries many times). */
static void check_feeds_agree(const char *arch)
{
    arch_fixture f;
    fixture_open(arch, &f);
    const int32_t n = f.exact.n, V = f.exact.n_vocab;
    const size_t bytes = (size_t)n * (size_t)V * sizeof(float);
    float *batch = run_logits(f.model, NEXTTOK_PRECISION_DEFAULT, 0, FEED_BATCH, f.exact.tokens, n, V);
    float *chunks = run_logits(f.model, NEXTTOK_PRECISION_DEFAULT, 5, FEED_BATCH, f.exact.tokens, n, V);
    float *steps = run_logits(f.model, NEXTTOK_PRECISION_DEFAULT, 0, FEED_STEPS, f.exact.tokens, n, V);
    cr_assert(memcmp(batch, chunks, bytes) == 0, "arch/%s: chunks of 5 differ from one batch", arch);
    cr_assert(memcmp(batch, steps, bytes) == 0, "arch/%s: token-by-token feeding differs from one batch", arch);
    free(batch);
    free(chunks);
    free(steps);
    nt_logits_file_free(&f.exact);
}

/* The model with its matrices in `type` against the same values kept in
 * F32: within the float bound in exact mode, and in the default mode too
 * for the float types (the default there is exact arithmetic). */
static void check_type(const char *arch, uint32_t type)
{
    arch_fixture f;
    fixture_open(arch, &f);
    const int32_t n = f.exact.n, V = f.exact.n_vocab;
    char *typed = nt_gguf_copy_temp(f.model, &(nt_gguf_edit){.matrix_type = type, .round_to = type});
    char *rounded = nt_gguf_copy_temp(f.model, &(nt_gguf_edit){.round_to = type});
    cr_assert(typed && rounded, "cannot write the copies of %s", f.model);
    float *want = run_logits(rounded, NEXTTOK_PRECISION_EXACT, 0, FEED_BATCH, f.exact.tokens, n, V);
    float *exact = run_logits(typed, NEXTTOK_PRECISION_EXACT, 0, FEED_BATCH, f.exact.tokens, n, V);
    float *dflt = run_logits(typed, NEXTTOK_PRECISION_DEFAULT, 0, FEED_BATCH, f.exact.tokens, n, V);
    const char *tn = nt_type_traits_get(type)->name;
    char what[128];
    snprintf(what, sizeof what, "arch/%s as %s, exact", arch, tn);
    const double err = check_bound(what, want, exact, n, V);
    fprintf(stderr, "arch/%s as %s: exact mode max abs error %.3e; default mode mean KL %.3e (%.3e from .exact)\n",
            arch, tn, err, mean_kl(want, dflt, n, V), mean_kl(f.exact.logits, dflt, n, V));
    if (!nt_type_traits_get(type)->blck_size || nt_type_traits_get(type)->blck_size == 1) {
        snprintf(what, sizeof what, "arch/%s as %s, default", arch, tn);
        check_bound(what, want, dflt, n, V);
    }
    free(want);
    free(exact);
    free(dflt);
    unlink(typed);
    unlink(rounded);
    free(typed);
    free(rounded);
    nt_logits_file_free(&f.exact);
}

/* Quantized weights in the default (fast) mode measured as llama.cpp's
 * llama-perplexity measures them, on the same text: the fixtures' texts
 * t1 and t2 concatenated 12 times, in chunks of 64 tokens whose first is
 * BOS, KL(F32 model || quantized model) over positions 32..62 of each
 * chunk. Ours must not exceed llama.cpp's figure, measured with c392e50:
 *   llama-quantize --pure A.gguf A-T.gguf T
 *   llama-perplexity -m A.gguf -f ppl.txt -c 64 -b 64 --kl-divergence-base A.kld
 *   llama-perplexity -m A-T.gguf -f ppl.txt -c 64 -b 64 --kl-divergence-base A.kld --kl-divergence
 * (its F32 run has an F16 KV cache: its figure includes that too), within
 * the standard error it prints with the figure: at Q4_0 the KL is the
 * weights' (the same round-to-nearest blocks as ours), and even exact
 * arithmetic over them lands on either side of llama.cpp's mean by less
 * than that error, so the mean alone would test the sampling noise. */
#define KL_CTX 64
static void check_type_kl(const char *arch, uint32_t type, double llamacpp_kl, double llamacpp_se)
{
    arch_fixture f;
    fixture_open(arch, &f);
    const int32_t V = f.exact.n_vocab;
    char *quant = nt_gguf_copy_temp(f.model, &(nt_gguf_edit){.matrix_type = type, .round_to = type});
    cr_assert_not_null(quant, "cannot write a copy of %s", f.model);

    char p1[4096], p2[4096];
    cr_assert(nt_test_fixture_path("texts/t1.txt", p1, sizeof p1) && nt_test_fixture_path("texts/t2.txt", p2, sizeof p2),
              "fixtures texts/t1.txt and t2.txt missing");
    size_t n1, n2;
    char *t1 = nt_test_read_file(p1, &n1), *t2 = nt_test_read_file(p2, &n2);
    cr_assert(t1 && t2, "cannot read the texts");
    char *text = malloc(12 * (n1 + n2));
    for (int r = 0; r < 12; r++) {
        memcpy(text + r * (n1 + n2), t1, n1);
        memcpy(text + r * (n1 + n2) + n1, t2, n2);
    }

    nexttok_model *mf = NULL, *mq = NULL;
    cr_assert_eq(nexttok_model_load(f.model, NULL, &mf), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_model_load(quant, NULL, &mq), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_tokenizer *tok = NULL;
    cr_assert_eq(nexttok_tokenizer_create(mf, &tok), NEXTTOK_OK, "%s", nexttok_error_message());
    int32_t tokens[4096];
    size_t n_tok = 0;
    cr_assert_eq(nexttok_tokenizer_encode(tok, text, 12 * (n1 + n2), NEXTTOK_ENCODE_ADD_SPECIAL, tokens, 4096, &n_tok),
                 NEXTTOK_OK, "%s", nexttok_error_message());
    const int32_t bos = tokens[0];

    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    if (getenv("NT_TEST_NO_THREADS")) p.n_threads = 1; /* qemu-user hangs in new threads */
    p.precision = NEXTTOK_PRECISION_EXACT;
    nexttok_session *sf = NULL, *sq = NULL;
    cr_assert_eq(nexttok_session_create(mf, &p, &sf), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session_params pq;
    nexttok_session_params_init(&pq, sizeof pq);
    if (getenv("NT_TEST_NO_THREADS")) pq.n_threads = 1; /* qemu-user hangs in new threads */
    pq.precision = NEXTTOK_PRECISION_DEFAULT;
    cr_assert_eq(nexttok_session_create(mq, &pq, &sq), NEXTTOK_OK, "%s", nexttok_error_message());
    float *lf = malloc((size_t)KL_CTX * V * sizeof *lf), *lq = malloc((size_t)KL_CTX * V * sizeof *lq);
    double kl = 0.0;
    int scored = 0;
    const int n_chunks = (int)(n_tok / KL_CTX);
    for (int c = 0; c < n_chunks; c++) {
        int32_t chunk[KL_CTX];
        memcpy(chunk, tokens + c * KL_CTX, sizeof chunk);
        chunk[0] = bos;
        cr_assert_eq(nexttok_session_reset(sf), NEXTTOK_OK, "%s", nexttok_error_message());
        cr_assert_eq(nexttok_session_reset(sq), NEXTTOK_OK, "%s", nexttok_error_message());
        cr_assert_eq(nexttok_session_feed(sf, chunk, KL_CTX, lf, (size_t)KL_CTX * V), NEXTTOK_OK, "%s", nexttok_error_message());
        cr_assert_eq(nexttok_session_feed(sq, chunk, KL_CTX, lq, (size_t)KL_CTX * V), NEXTTOK_OK, "%s", nexttok_error_message());
        for (int i = KL_CTX / 2; i < KL_CTX - 1; i++, scored++)
            kl += nt_logits_kl(lf + (size_t)i * V, lq + (size_t)i * V, V);
    }
    kl /= scored;
    const char *tn = nt_type_traits_get(type)->name;
    fprintf(stderr, "arch/%s as %s, default mode: mean KL from F32 %.4e over %d positions; llama.cpp %.4e +- %.1e\n",
            arch, tn, kl, scored, llamacpp_kl, llamacpp_se);
    cr_assert_gt(scored, 500, "arch/%s: only %d positions scored", arch, scored);
    cr_assert(kl <= llamacpp_kl + llamacpp_se, "arch/%s as %s: mean KL %.4e above llama.cpp's %.4e +- %.1e", arch, tn,
              kl, llamacpp_kl, llamacpp_se);
    free(lf);
    free(lq);
    nexttok_session_free(sf);
    nexttok_session_free(sq);
    nexttok_tokenizer_free(tok);
    nexttok_model_free(mf);
    nexttok_model_free(mq);
    free(text);
    free(t1);
    free(t2);
    unlink(quant);
    free(quant);
    nt_logits_file_free(&f.exact);
}

/* An output.weight equal to the embedding gives the tied model's bytes. */
static void check_untied(const char *arch)
{
    arch_fixture f;
    fixture_open(arch, &f);
    const int32_t n = f.exact.n, V = f.exact.n_vocab;
    char *untied = nt_gguf_copy_temp(f.model, &(nt_gguf_edit){.untie = true});
    cr_assert_not_null(untied, "cannot write a copy of %s", f.model);
    float *a = run_logits(f.model, NEXTTOK_PRECISION_EXACT, 0, FEED_BATCH, f.exact.tokens, n, V);
    float *b = run_logits(untied, NEXTTOK_PRECISION_EXACT, 0, FEED_BATCH, f.exact.tokens, n, V);
    cr_assert(memcmp(a, b, (size_t)n * (size_t)V * sizeof *a) == 0, "arch/%s: untied copy differs", arch);
    free(a);
    free(b);
    unlink(untied);
    free(untied);
    nt_logits_file_free(&f.exact);
}

/* Loading the edited copy fails with `status` and a message holding
 * `needle`. */
static void check_refused(const char *arch, nt_gguf_edit edit, nexttok_status status, const char *needle)
{
    arch_fixture f;
    fixture_open(arch, &f);
    char *path = nt_gguf_copy_temp(f.model, &edit);
    cr_assert_not_null(path, "cannot write a copy of %s", f.model);
    nexttok_model *m = NULL;
    const nexttok_status st = nexttok_model_load(path, NULL, &m);
    const char *msg = nexttok_error_message();
    cr_assert_eq(st, status, "arch/%s: status %d (%s), want %d", arch, st, msg, status);
    cr_assert_null(m, "arch/%s: a model after a failed load", arch);
    cr_assert(strstr(msg, needle), "arch/%s: message '%s' does not name '%s'", arch, msg, needle);
    unlink(path);
    free(path);
    nt_logits_file_free(&f.exact);
}

#define ARCH_TESTS(a)                                                                                    \
    Test(arch_exact, a) { check_exact(#a, NEXTTOK_PRECISION_EXACT, "exact"); }                           \
    Test(arch_default, a) { check_exact(#a, NEXTTOK_PRECISION_DEFAULT, "default"); }                     \
    Test(arch_feeds, a) { check_feeds_agree(#a); }                                                       \
    Test(arch_f16, a) { check_type(#a, NT_TYPE_F16); }                                                   \
    Test(arch_bf16, a) { check_type(#a, NT_TYPE_BF16); }                                                 \
    Test(arch_q8_0, a) { check_type(#a, NT_TYPE_Q8_0); }                                                 \
    Test(arch_q4_0, a) { check_type(#a, NT_TYPE_Q4_0); }                                                 \
    Test(arch_errors, a##_short_tensor)                                                                  \
    {                                                                                                    \
        check_refused(#a, (nt_gguf_edit){.short_tensor = "blk.1.attn_output.weight"}, NEXTTOK_ERR_FORMAT, \
                      "blk.1.attn_output.weight: expected");                                             \
    }                                                                                                    \
    Test(arch_errors, a##_no_context_length)                                                             \
    {                                                                                                    \
        check_refused(#a, (nt_gguf_edit){.drop_key = #a ".context_length"}, NEXTTOK_ERR_FORMAT,          \
                      "'" #a ".context_length': missing");                                               \
    }

ARCH_TESTS(qwen2)
ARCH_TESTS(qwen3)
ARCH_TESTS(gemma)
ARCH_TESTS(gemma2)
ARCH_TESTS(gemma3)
ARCH_TESTS(phi3)
ARCH_TESTS(smollm3)
ARCH_TESTS(olmo2)
ARCH_TESTS(granite)
ARCH_TESTS(stablelm)
ARCH_TESTS(starcoder2)

/* llama.cpp c392e50 runs five of the families (the others it does not
 * know or cannot load: fixtures/arch/README.md). */
Test(arch_kl, qwen2_q8_0) { check_type_kl("qwen2", NT_TYPE_Q8_0, 1.513e-3, 3.6e-5); }
Test(arch_kl, qwen2_q4_0) { check_type_kl("qwen2", NT_TYPE_Q4_0, 0.2207, 4.843e-3); }
Test(arch_kl, gemma_q8_0) { check_type_kl("gemma", NT_TYPE_Q8_0, 3.88e-4, 7e-6); }
Test(arch_kl, gemma_q4_0) { check_type_kl("gemma", NT_TYPE_Q4_0, 0.04762, 8.09e-4); }
Test(arch_kl, stablelm_q8_0) { check_type_kl("stablelm", NT_TYPE_Q8_0, 1.808e-3, 4.9e-5); }
Test(arch_kl, stablelm_q4_0) { check_type_kl("stablelm", NT_TYPE_Q4_0, 0.2426, 5.773e-3); }
Test(arch_kl, starcoder2_q8_0) { check_type_kl("starcoder2", NT_TYPE_Q8_0, 6.27e-4, 1.0e-5); }
Test(arch_kl, starcoder2_q4_0) { check_type_kl("starcoder2", NT_TYPE_Q4_0, 0.1074, 2.034e-3); }
Test(arch_kl, granite_q8_0) { check_type_kl("granite", NT_TYPE_Q8_0, 4.8e-5, 2e-6); }
Test(arch_kl, granite_q4_0) { check_type_kl("granite", NT_TYPE_Q4_0, 6.342e-3, 2.44e-4); }

/* Tied fixtures: an untied copy runs the same; gemma never reads an
 * output.weight, so its copy is the same too. */
Test(arch_untied, qwen3) { check_untied("qwen3"); }
Test(arch_untied, gemma) { check_untied("gemma"); }
Test(arch_untied, gemma2) { check_untied("gemma2"); }
Test(arch_untied, gemma3) { check_untied("gemma3"); }
Test(arch_untied, phi3) { check_untied("phi3"); }
Test(arch_untied, smollm3) { check_untied("smollm3"); }
Test(arch_untied, granite) { check_untied("granite"); }
Test(arch_untied, starcoder2) { check_untied("starcoder2"); }

/* Each family's own required tensors and keys. */
#define REFUSED_TENSOR(a, t)                                                                              \
    Test(arch_errors, a##_required_tensor)                                                                \
    {                                                                                                     \
        check_refused(#a, (nt_gguf_edit){.drop_tensor = t}, NEXTTOK_ERR_FORMAT, t ": missing");           \
    }
REFUSED_TENSOR(qwen2, "blk.1.attn_k.bias")
REFUSED_TENSOR(qwen3, "blk.0.attn_q_norm.weight")
REFUSED_TENSOR(gemma, "blk.1.ffn_gate.weight")
REFUSED_TENSOR(gemma2, "blk.0.post_ffw_norm.weight")
REFUSED_TENSOR(gemma3, "blk.5.attn_k_norm.weight")
REFUSED_TENSOR(smollm3, "blk.3.ffn_norm.weight")
REFUSED_TENSOR(olmo2, "output.weight")
REFUSED_TENSOR(granite, "blk.0.attn_norm.weight")
REFUSED_TENSOR(stablelm, "output_norm.bias")
REFUSED_TENSOR(starcoder2, "blk.0.ffn_down.bias")

Test(arch_errors, phi3_no_projection)
{
    check_refused("phi3", (nt_gguf_edit){.drop_tensor = "blk.1.attn_qkv.weight"}, NEXTTOK_ERR_FORMAT,
                  "blk.1.attn_q.weight: missing, and no fused blk.1.attn_qkv.weight");
}

Test(arch_errors, granite_logit_scale)
{
    check_refused("granite", (nt_gguf_edit){.drop_key = "granite.logit_scale"}, NEXTTOK_ERR_FORMAT,
                  "'granite.logit_scale': missing");
}

Test(arch_errors, gemma_rms_epsilon)
{
    check_refused("gemma", (nt_gguf_edit){.drop_key = "gemma.attention.layer_norm_rms_epsilon"},
                  NEXTTOK_ERR_FORMAT, "'gemma.attention.layer_norm_rms_epsilon': missing");
}

Test(arch_errors, stablelm_layernorm_epsilon)
{
    check_refused("stablelm", (nt_gguf_edit){.drop_key = "stablelm.attention.layer_norm_epsilon"},
                  NEXTTOK_ERR_FORMAT, "'stablelm.attention.layer_norm_epsilon': missing");
}

Test(arch_errors, value_length_differs)
{
    check_refused("qwen3", (nt_gguf_edit){.set_key = "qwen3.attention.value_length", .set_num = 16},
                  NEXTTOK_ERR_UNSUPPORTED, "value_length': 16 differs from key_length 32");
}

/* Phi-3 frequency factors sized head_dim/2 (older converters) with
 * partial rotary: the first n_rot/2 apply, so padding them changes
 * nothing; any other length is refused. */
Test(arch_errors, phi3_factors_of_head_size)
{
    arch_fixture f;
    fixture_open("phi3", &f);
    const int32_t n = f.exact.n, V = f.exact.n_vocab;
    char *padded = nt_gguf_copy_temp(
        f.model, &(nt_gguf_edit){.grow_tensor = {"rope_factors_long.weight", "rope_factors_short.weight"}, .grow_by = 2});
    cr_assert_not_null(padded, "cannot write a copy of %s", f.model);
    float *want = run_logits(f.model, NEXTTOK_PRECISION_EXACT, 0, FEED_BATCH, f.exact.tokens, n, V);
    float *got = run_logits(padded, NEXTTOK_PRECISION_EXACT, 0, FEED_BATCH, f.exact.tokens, n, V);
    cr_assert(memcmp(want, got, (size_t)n * V * sizeof *got) == 0, "factors padded to head_dim/2 change the logits");
    free(want);
    free(got);
    unlink(padded);
    free(padded);
    nt_logits_file_free(&f.exact);
    check_refused("phi3", (nt_gguf_edit){.grow_tensor = {"rope_factors_short.weight"}, .grow_by = 1},
                  NEXTTOK_ERR_FORMAT, "rope_factors_short.weight: expected 6, got 7");
}

/* The window pattern as one flag per layer: the default pattern's flags
 * give the same bytes, others change which layers slide, a wrong count
 * is refused. */
Test(arch_errors, window_pattern_as_flags)
{
    arch_fixture f;
    fixture_open("gemma3", &f);
    const int32_t n = f.exact.n, V = f.exact.n_vocab;
    const bool same[] = {true, true, true, true, true, false}, other[] = {true, false, true, false, true, false};
    const char *key = "gemma3.attention.sliding_window_pattern";
    char *a = nt_gguf_copy_temp(f.model, &(nt_gguf_edit){.set_key = key, .set_flags = same, .n_flags = 6});
    char *b = nt_gguf_copy_temp(f.model, &(nt_gguf_edit){.set_key = key, .set_flags = other, .n_flags = 6});
    cr_assert(a && b, "cannot write the copies of %s", f.model);
    float *want = run_logits(f.model, NEXTTOK_PRECISION_EXACT, 0, FEED_BATCH, f.exact.tokens, n, V);
    float *got = run_logits(a, NEXTTOK_PRECISION_EXACT, 0, FEED_BATCH, f.exact.tokens, n, V);
    cr_assert(memcmp(want, got, (size_t)n * V * sizeof *got) == 0, "the default pattern as flags differs");
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(b, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_model_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_model_info_get(m, &info), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert(strstr(info.features, "sliding window 8 on 3 of 6 layers"), "%s", info.features);
    nexttok_model_free(m);
    free(want);
    free(got);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
    nt_logits_file_free(&f.exact);
    check_refused("gemma3", (nt_gguf_edit){.set_key = key, .set_flags = same, .n_flags = 5}, NEXTTOK_ERR_FORMAT,
                  "sliding_window_pattern': expected 6 per-layer flags");
}

/* Families we do not run say why. */
Test(arch_errors, hybrid_refused)
{
    check_refused("qwen2", (nt_gguf_edit){.set_key = "general.architecture", .set_str = "lfm2"},
                  NEXTTOK_ERR_UNSUPPORTED, "architecture 'lfm2' is a hybrid of short convolutions and attention");
}

Test(arch_errors, ssm_refused)
{
    check_refused("qwen2", (nt_gguf_edit){.set_key = "general.architecture", .set_str = "mamba"},
                  NEXTTOK_ERR_UNSUPPORTED, "state-space");
}

Test(arch_errors, moe_by_name_refused)
{
    check_refused("qwen2", (nt_gguf_edit){.set_key = "general.architecture", .set_str = "qwen3moe"},
                  NEXTTOK_ERR_UNSUPPORTED, "mixture-of-experts");
}

Test(arch_errors, moe_by_expert_count_refused)
{
    check_refused("qwen2", (nt_gguf_edit){.set_key = "qwen2.expert_count", .set_num = 8}, NEXTTOK_ERR_UNSUPPORTED,
                  "'qwen2.expert_count': 8 experts: mixture-of-experts models are not supported yet");
}

Test(arch_errors, unknown_refused)
{
    check_refused("qwen2", (nt_gguf_edit){.set_key = "general.architecture", .set_str = "nosuch"},
                  NEXTTOK_ERR_UNSUPPORTED, "architecture 'nosuch' is not supported (supported: gpt2, llama, qwen2");
}

/* What inspect shows: the features each fixture exercises (fixtures/arch/README.md). */
static void check_features(const char *arch, const char *const *want)
{
    arch_fixture f;
    fixture_open(arch, &f);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(f.model, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_model_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_model_info_get(m, &info), NEXTTOK_OK, "%s", nexttok_error_message());
    for (const char *const *w = want; *w; w++)
        cr_assert(strstr(info.features, *w), "arch/%s features '%s' lack '%s'", arch, info.features, *w);
    nexttok_model_free(m);
    nt_logits_file_free(&f.exact);
}

Test(arch_features, named)
{
    check_features("qwen2", (const char *const[]){"rope-neox", "qkv bias", "gqa 4/2", "separate output", NULL});
    check_features("qwen3", (const char *const[]){"q/k norm per head", "head_dim 32", "tied output", NULL});
    check_features("gemma2", (const char *const[]){"sliding window 8 on 1 of 2 layers", "attention soft-cap 5",
                                                   "final soft-cap 4", "post-norms", "geglu", NULL});
    check_features("gemma3", (const char *const[]){"sliding window 8 on 5 of 6 layers", NULL});
    check_features("phi3", (const char *const[]){"fused qkv", "partial rotary 12/16", "swiglu (fused gate/up)",
                                                 "rope attn_factor", NULL});
    check_features("smollm3", (const char *const[]){"rope-norm", "no rope on 1 of 4 layers", NULL});
    check_features("olmo2", (const char *const[]){"no pre-norms", "q/k norm (whole vector)",
                                                  "sliding window 8 on 3 of 4 layers", NULL});
    check_features("granite", (const char *const[]){"embedding scale 6", "attention scale 0.15",
                                                    "residual scale 0.5", "logit scale 1/2", NULL});
    check_features("stablelm", (const char *const[]){"layernorm", "parallel residual on 1 of 2 layers",
                                                     "q/k layernorm per head", "partial rotary 4/16", NULL});
    check_features("starcoder2", (const char *const[]){"layernorm", "gelu mlp", NULL});
}

/* Sliding layers keep a ring of window + batch - 1 rows rounded up to 16:
 * fed one token at a time or four (a ring of 16 either way, for the
 * window of 8), the logits are the one-batch run's bytes, the cache is
 * that much smaller, and a rewind past what the ring kept (which feeds the
 * kept tokens again) or within it resumes exactly. */
static void check_ring_kv(const char *arch, int32_t n_batch, int32_t rewind_to, int32_t kv_type, uint64_t want_kv_bytes)
{
    arch_fixture f;
    fixture_open(arch, &f);
    const int32_t n = f.exact.n, V = f.exact.n_vocab;
    const size_t row = (size_t)V * sizeof(float);
    float *want = run_logits_kv(f.model, NEXTTOK_PRECISION_DEFAULT, 0, kv_type, FEED_BATCH, f.exact.tokens, n, V);

    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(f.model, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    if (getenv("NT_TEST_NO_THREADS")) p.n_threads = 1; /* qemu-user hangs in new threads */
    p.n_batch = n_batch;
    p.kv_type = kv_type;
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_session_info_get(s, &info), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(info.kv_bytes, want_kv_bytes, "arch/%s n_batch %d: KV cache of %llu bytes, want %llu", arch, n_batch,
                 (unsigned long long)info.kv_bytes, (unsigned long long)want_kv_bytes);
    float *got = malloc((size_t)n * row);
    cr_assert_not_null(got, "out of memory");
    for (int32_t i = 0; i < n; i++)
        cr_assert_eq(nexttok_session_feed(s, f.exact.tokens + i, 1, got + (size_t)i * V, (size_t)V), NEXTTOK_OK, "%s",
                     nexttok_error_message());
    cr_assert(memcmp(got, want, (size_t)n * row) == 0, "arch/%s n_batch %d: ring run differs from one batch", arch,
              n_batch);

    cr_assert_eq(nexttok_session_rewind(s, rewind_to), NEXTTOK_OK, "%s", nexttok_error_message());
    const float *last = NULL;
    cr_assert_eq(nexttok_session_logits_get(s, &last), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert(memcmp(last, want + (size_t)(rewind_to - 1) * V, row) == 0, "arch/%s: logits after rewind to %d differ",
              arch, rewind_to);
    for (int32_t i = rewind_to; i < n; i++)
        cr_assert_eq(nexttok_session_feed(s, f.exact.tokens + i, 1, got + (size_t)i * V, (size_t)V), NEXTTOK_OK, "%s",
                     nexttok_error_message());
    cr_assert(memcmp(got, want, (size_t)n * row) == 0, "arch/%s: feeding on after the rewind to %d differs", arch,
              rewind_to);
    free(got);
    free(want);
    nexttok_session_free(s);
    nexttok_model_free(m);
    nt_logits_file_free(&f.exact);
}

static void check_ring(const char *arch, int32_t n_batch, int32_t rewind_to, uint64_t want_kv_bytes)
{
    check_ring_kv(arch, n_batch, rewind_to, NEXTTOK_KV_F32, want_kv_bytes);
}

/* Rows are n_head_kv x head_dim F32 values (fixtures/arch/README.md shapes,
 * context 128, window 8): keys and values, each layer its rows. */
#define KV_BYTES(hd, rows) (2ull * 2 * (hd) * sizeof(float) * (rows))
Test(arch_ring, gemma2_one_token) { check_ring("gemma2", 1, 20, KV_BYTES(16, 16 + 128)); }
Test(arch_ring, gemma2_four_tokens) { check_ring("gemma2", 4, 29, KV_BYTES(16, 16 + 128)); }
Test(arch_ring, gemma3_one_token) { check_ring("gemma3", 1, 20, KV_BYTES(32, 5 * 16 + 128)); }
Test(arch_ring, gemma3_four_tokens) { check_ring("gemma3", 4, 30, KV_BYTES(32, 5 * 16 + 128)); }
Test(arch_ring, olmo2_one_token) { check_ring("olmo2", 1, 3, KV_BYTES(16, 3 * 16 + 128)); }
Test(arch_ring, olmo2_four_tokens) { check_ring("olmo2", 4, 29, KV_BYTES(16, 3 * 16 + 128)); }
/* The rings hold F16 and Q8_0 rows as well: 2 KV heads of 32 values take
 * 2 x 64 bytes in F16 and 2 x 34 in Q8_0 (one block of 32 with its F16
 * scale). */
Test(arch_ring, gemma3_f16) { check_ring_kv("gemma3", 4, 30, NEXTTOK_KV_F16, 2ull * 2 * 64 * (5 * 16 + 128)); }
Test(arch_ring, gemma3_q8_0) { check_ring_kv("gemma3", 4, 30, NEXTTOK_KV_Q8_0, 2ull * 2 * 34 * (5 * 16 + 128)); }

/* A window of 20 over 100 tokens: rings of 32 and 48 rows (n_batch 1, 5,
 * 13, 20) and the full cache (the default batch) split each query's keys
 * at different places, yet give the same bytes: the attention loops start
 * their key groups at multiples of 16 and the rings wrap at them. */
Test(arch_ring, window_splits_change_no_bits)
{
    arch_fixture f;
    fixture_open("gemma2", &f);
    const int32_t V = f.exact.n_vocab, n = 100;
    char *wide = nt_gguf_copy_temp(f.model, &(nt_gguf_edit){.set_key = "gemma2.attention.sliding_window", .set_num = 20});
    cr_assert_not_null(wide, "cannot write a copy of %s", f.model);
    int32_t tokens[100];
    uint64_t x = 12345;
    for (int32_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        tokens[i] = i == 0 ? 1 : 3 + (int32_t)((x >> 33) % (uint64_t)(V - 3));
    }
    float *want = run_logits(wide, NEXTTOK_PRECISION_DEFAULT, 0, FEED_BATCH, tokens, n, V);
    const int32_t batches[] = {1, 5, 13, 20};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        float *got = run_logits(wide, NEXTTOK_PRECISION_DEFAULT, batches[i], FEED_BATCH, tokens, n, V);
        cr_assert(memcmp(got, want, (size_t)n * V * sizeof *got) == 0, "n_batch %d differs from one batch", batches[i]);
        free(got);
    }
    float *steps = run_logits(wide, NEXTTOK_PRECISION_DEFAULT, 5, FEED_STEPS, tokens, n, V);
    cr_assert(memcmp(steps, want, (size_t)n * V * sizeof *steps) == 0, "token by token differs from one batch");
    free(steps);
    free(want);
    unlink(wide);
    free(wide);
    nt_logits_file_free(&f.exact);
}
