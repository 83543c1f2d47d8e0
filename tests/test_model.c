/* Model loading on tiny models the test writes: F16/BF16 weights, tied
 * output, load errors that name the problem, progress, and digests. */
#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nexttok.h"
#include "support/fixtures.h"
#include "support/tiny_model.h"
#include "types/types.h"

static const int32_t toks[] = {3, 17, 42, 5, 63, 0, 8, 29, 33, 12, 50, 7};
#define N_TOKS ((int)(sizeof toks / sizeof toks[0]))

/* All rows of logits of the model at `path` for toks. */
static float *run(const char *path, int32_t *n_vocab)
{
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    *n_vocab = nexttok_model_n_vocab_get(m);
    nexttok_session *s = NULL;
    cr_assert_eq(nexttok_session_create(m, NULL, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    float *rows = malloc((size_t)N_TOKS * (size_t)*n_vocab * sizeof *rows);
    cr_assert_eq(nexttok_session_feed(s, toks, N_TOKS, rows, (size_t)N_TOKS * (size_t)*n_vocab), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session_free(s);
    nexttok_model_free(m);
    return rows;
}

static void assert_same_logits(nt_tiny_spec a, nt_tiny_spec b, float rel)
{
    char *pa = nt_tiny_model_file(&a), *pb = nt_tiny_model_file(&b);
    cr_assert(pa && pb);
    int32_t va, vb;
    float *ra = run(pa, &va), *rb = run(pb, &vb);
    cr_assert_eq(va, vb);
    double spread = 0;
    for (int i = 0; i < N_TOKS * va; i++) {
        double scale = fmax(1.0, fabs(ra[i]));
        double err = fabs((double)ra[i] - rb[i]);
        cr_assert(err <= rel * scale, "logit %d: %.8g vs %.8g", i, (double)ra[i], (double)rb[i]);
        spread += fabs(ra[i]);
    }
    cr_assert_gt(spread, 1.0, "logits are all near zero: the comparison would prove nothing");
    unlink(pa);
    unlink(pb);
    free(pa);
    free(pb);
    free(ra);
    free(rb);
}

/* The same values stored as F16/BF16 give the F32 model's logits (only the
 * order of float additions may differ). */
static void reduced_type_matches_f32(const char *arch, uint32_t type)
{
    nt_tiny_spec f32 = nt_tiny_spec_default(arch), red = f32;
    f32.round_to = red.round_to = type;
    red.weight_type = type;
    assert_same_logits(f32, red, 1e-5f);
}

Test(model, f16_llama_matches_f32) { reduced_type_matches_f32("llama", NT_TYPE_F16); }
Test(model, bf16_llama_matches_f32) { reduced_type_matches_f32("llama", NT_TYPE_BF16); }
Test(model, f16_gpt2_matches_f32) { reduced_type_matches_f32("gpt2", NT_TYPE_F16); }
Test(model, bf16_gpt2_matches_f32) { reduced_type_matches_f32("gpt2", NT_TYPE_BF16); }

/* Without output.weight the token embedding is the output projection. */
static void tied_output(const char *arch)
{
    nt_tiny_spec tied = nt_tiny_spec_default(arch), copy = tied;
    tied.tied_output = true;
    copy.output_is_embd = true;
    assert_same_logits(tied, copy, 0.0f);
}

Test(model, tied_output_llama) { tied_output("llama"); }
Test(model, tied_output_gpt2) { tied_output("gpt2"); }

Test(model, info_reports_hyperparameters)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    char *path = nt_tiny_model_file(&sp);
    nexttok_model *m;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_model_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_model_info_get(m, &info), NEXTTOK_OK);
    cr_assert_str_eq(info.architecture, "llama");
    cr_assert_str_eq(info.name, "tiny test model");
    cr_assert_eq(info.n_vocab, sp.n_vocab);
    cr_assert_eq(info.n_embd, sp.n_embd);
    cr_assert_eq(info.n_layer, sp.n_layer);
    cr_assert_eq(info.n_head, sp.n_head);
    cr_assert_eq(info.n_head_kv, sp.n_head_kv);
    cr_assert_eq(info.n_ff, sp.n_ff);
    cr_assert_eq(info.n_ctx_train, sp.n_ctx);
    cr_assert_eq(info.gguf_version, 3);
    const uint64_t E = 32, V = 64, F = 48, KV = 16;
    cr_assert_eq(info.n_params, 2 * E * V + E + 2 * (2 * E + E * E * 2 + 2 * E * KV + 3 * E * F));
    cr_assert_str_eq(nexttok_model_architecture_get(m), "llama");
    cr_assert_eq(nexttok_model_tensor_count_get(m), 3 + 2 * 9);
    nexttok_tensor_info ti = {.struct_size = sizeof ti};
    cr_assert_eq(nexttok_model_tensor_info_get(m, 0, &ti), NEXTTOK_OK);
    cr_assert_str_eq(ti.name, "token_embd.weight");
    cr_assert_str_eq(ti.type_name, "F32");
    cr_assert_eq(ti.n_dims, 2);
    cr_assert_eq(ti.dims[0], 32);
    cr_assert_eq(ti.dims[1], 64);
    cr_assert_eq(ti.n_bytes, 32 * 64 * 4);
    cr_assert_eq(nexttok_model_tensor_info_get(m, 99, &ti), NEXTTOK_ERR_NOT_FOUND);
    char key[64], value[128];
    cr_assert_eq(nexttok_model_meta_get(m, 0, key, sizeof key, value, sizeof value), NEXTTOK_OK);
    cr_assert_str_eq(key, "general.architecture");
    cr_assert_str_eq(value, "llama");
    info.struct_size = 3;
    cr_assert_eq(nexttok_model_info_get(m, &info), NEXTTOK_ERR_INVALID_ARGUMENT);

    /* An older caller's shorter info struct is filled only up to its size;
     * a newer caller's longer one gets zeros beyond what the library knows. */
    struct {
        nexttok_model_info known;
        int64_t newer_field;
    } longer;
    memset(&longer, 0xAB, sizeof longer);
    longer.known.struct_size = sizeof longer;
    cr_assert_eq(nexttok_model_info_get(m, &longer.known), NEXTTOK_OK);
    cr_assert_eq(longer.known.n_embd, sp.n_embd);
    cr_assert_eq(longer.known.struct_size, sizeof longer);
    cr_assert_eq(longer.newer_field, 0);
    memset(&info, 0xAB, sizeof info);
    info.struct_size = offsetof(nexttok_model_info, n_embd);
    cr_assert_eq(nexttok_model_info_get(m, &info), NEXTTOK_OK);
    cr_assert_eq(info.n_ctx_train, sp.n_ctx);
    cr_assert_eq((uint32_t)info.n_embd, 0xABABABABu, "a field past the caller's struct_size was written");
    nexttok_model_free(m);
    unlink(path);
    free(path);
}

/* Load `spec` and expect `want` with a message containing `needle`. */
static void expect_load_error(nt_tiny_spec spec, nexttok_status want, const char *needle)
{
    char *path = nt_tiny_model_file(&spec);
    nexttok_model *m = (nexttok_model *)1;
    nexttok_status st = nexttok_model_load(path, NULL, &m);
    cr_assert_eq(st, want, "status %d (%s), want %d", st, nexttok_error_message(), want);
    cr_assert_null(m);
    cr_assert(strstr(nexttok_error_message(), needle) != NULL, "message '%s' lacks '%s'",
              nexttok_error_message(), needle);
    unlink(path);
    free(path);
}

Test(model, missing_tensor_is_named)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    sp.omit_tensor = "blk.1.ffn_up.weight";
    expect_load_error(sp, NEXTTOK_ERR_FORMAT, "tensor blk.1.ffn_up.weight: missing");
    sp = nt_tiny_spec_default("gpt2");
    sp.omit_tensor = "position_embd.weight";
    expect_load_error(sp, NEXTTOK_ERR_FORMAT, "tensor position_embd.weight: missing");
}

Test(model, wrong_shape_is_named)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    sp.bad_shape_tensor = "blk.0.attn_k.weight";
    expect_load_error(sp, NEXTTOK_ERR_FORMAT, "tensor blk.0.attn_k.weight: expected 32x16, got 32x15");
    sp = nt_tiny_spec_default("gpt2");
    sp.bad_shape_tensor = "blk.1.attn_qkv.bias";
    expect_load_error(sp, NEXTTOK_ERR_FORMAT, "tensor blk.1.attn_qkv.bias: expected 96, got 95");
}

Test(model, unsupported_architecture)
{
    /* A duplicate key is itself malformed, so write a fresh file instead. */
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "mamba");
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);
    nexttok_model *m;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_ERR_UNSUPPORTED);
    cr_assert(strstr(nexttok_error_message(), "architecture 'mamba'") != NULL, "%s", nexttok_error_message());
    unlink(path);
    free(path);
}

static void add_q4k_tensor(nt_gw *w)
{
    int64_t ne[2] = {256, 4};
    nt_gw_add_tensor(w, "extra.q4k", NT_TYPE_Q4_K, 2, ne, NULL, 4 * 144);
}

Test(model, unsupported_weight_type_is_named)
{
    /* Q8_1 rows of 32 values: the library knows the layout (ggml uses it
     * for quantized activations) but has no kernels for it as weights. */
    cr_assert(!nt_type_is_computable(NT_TYPE_Q8_1));
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    sp.omit_tensor = "blk.0.attn_q.weight";
    nt_gw *w = nt_tiny_model_writer(&sp);
    int64_t ne[2] = {32, 32};
    nt_gw_add_tensor(w, "blk.0.attn_q.weight", NT_TYPE_Q8_1, 2, ne, NULL, 32 * 36);
    add_q4k_tensor(w); /* unused extra tensors are allowed */
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);
    nexttok_model *m;
    nexttok_status st = nexttok_model_load(path, NULL, &m);
    cr_assert_eq(st, NEXTTOK_ERR_UNSUPPORTED);
    cr_assert(strstr(nexttok_error_message(), "tensor blk.0.attn_q.weight: weight type Q8_1") != NULL,
              "%s", nexttok_error_message());
    unlink(path);
    free(path);
}

Test(model, quantized_weight_type_loads)
{
    /* The same slot in Q8_0, which we compute with. */
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    sp.omit_tensor = "blk.0.attn_q.weight";
    nt_gw *w = nt_tiny_model_writer(&sp);
    int64_t ne[2] = {32, 32};
    nt_gw_add_tensor(w, "blk.0.attn_q.weight", NT_TYPE_Q8_0, 2, ne, NULL, 32 * 34);
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);
    nexttok_model *m;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_model_free(m);
    unlink(path);
    free(path);
}

Test(model, missing_or_bad_hyperparameters_are_named)
{
    /* Heads that do not divide the embedding. */
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    sp.n_head = 5;
    sp.n_head_kv = 5;
    expect_load_error(sp, NEXTTOK_ERR_FORMAT, "llama.attention.head_count");
    /* KV heads that do not divide the heads. */
    sp = nt_tiny_spec_default("llama");
    sp.n_head_kv = 3;
    expect_load_error(sp, NEXTTOK_ERR_FORMAT, "llama.attention.head_count_kv");
    /* GPT-2 with grouped-query heads (found by fuzzing: the forward pass
     * read past the smaller KV cache this implied). */
    sp = nt_tiny_spec_default("gpt2");
    sp.n_head = 4;
    sp.n_head_kv = 2;
    expect_load_error(sp, NEXTTOK_ERR_FORMAT, "gpt2.attention.head_count_kv");
    /* A required key absent. */
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "gpt2");
    nt_gw_add_u32(w, "gpt2.context_length", 8);
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);
    nexttok_model *m;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_ERR_FORMAT);
    cr_assert(strstr(nexttok_error_message(), "gpt2.embedding_length") != NULL, "%s", nexttok_error_message());
    unlink(path);
    free(path);
}

Test(model, missing_file_and_bad_arguments)
{
    nexttok_model *m = (nexttok_model *)1;
    cr_assert_eq(nexttok_model_load("/nonexistent/model.gguf", NULL, &m), NEXTTOK_ERR_IO);
    cr_assert_null(m);
    cr_assert(strstr(nexttok_error_message(), "/nonexistent/model.gguf") != NULL, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_model_load(NULL, NULL, &m), NEXTTOK_ERR_INVALID_ARGUMENT);
    nexttok_model_params p;
    nexttok_model_params_init(&p, sizeof p);
    p.struct_size = 0;
    cr_assert_eq(nexttok_model_load("/tmp/x", &p, &m), NEXTTOK_ERR_INVALID_ARGUMENT);
    nexttok_model_free(NULL);
}

typedef struct {
    int calls;
    float last;
    int monotonic;
    int cancel_at;
} progress_log;

static int on_progress(float f, void *user)
{
    progress_log *log = user;
    if (f < log->last) log->monotonic = 0;
    log->last = f;
    return ++log->calls == log->cancel_at;
}

Test(model, progress_reported_and_cancellable)
{
    nt_tiny_spec sp = nt_tiny_spec_default("gpt2");
    char *path = nt_tiny_model_file(&sp);
    progress_log log = {0, 0.0f, 1, -1};
    nexttok_model_params p;
    nexttok_model_params_init(&p, sizeof p);
    p.progress = on_progress;
    p.progress_user_data = &log;
    nexttok_model *m;
    cr_assert_eq(nexttok_model_load(path, &p, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_geq(log.calls, 3);
    cr_assert(log.monotonic);
    cr_assert_eq(log.last, 1.0f);
    nexttok_model_free(m);

    log = (progress_log){0, 0.0f, 1, 2};
    cr_assert_eq(nexttok_model_load(path, &p, &m), NEXTTOK_ERR_CANCELLED);
    cr_assert_null(m);
    cr_assert_eq(log.calls, 2);
    unlink(path);
    free(path);
}

static char *copy_file(const char *src, size_t *size)
{
    char *bytes = nt_test_read_file(src, size);
    cr_assert_not_null(bytes);
    return bytes;
}

Test(model, digests_detect_a_flipped_bit)
{
    cr_assert_geq(sodium_init(), 0);
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    char *path = nt_tiny_model_file(&sp);
    size_t size;
    char *bytes = copy_file(path, &size);

    /* The file digest equals an independent one-shot BLAKE2b-256. */
    uint8_t want[32], got[32];
    crypto_generichash(want, 32, (const unsigned char *)bytes, size, NULL, 0);
    nexttok_model *m;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK);
    cr_assert_eq(nexttok_model_digest_get(m, got), NEXTTOK_OK);
    cr_assert_arr_eq(got, want, 32);
    cr_assert_eq(nexttok_model_verify(m, want), NEXTTOK_OK);

    /* Flip one bit in the data of tensor 5: verification fails, and only
     * that tensor's digest changes. */
    nexttok_tensor_info ti = {.struct_size = sizeof ti};
    cr_assert_eq(nexttok_model_tensor_info_get(m, 5, &ti), NEXTTOK_OK);
    size_t n_tensors = nexttok_model_tensor_count_get(m);
    uint8_t (*before)[32] = malloc(n_tensors * 32);
    for (size_t i = 0; i < n_tensors; i++)
        cr_assert_eq(nexttok_model_tensor_digest_get(m, i, before[i]), NEXTTOK_OK);
    nexttok_model_free(m);

    bytes[ti.offset + ti.n_bytes / 2] ^= 0x10;
    FILE *f = fopen(path, "wb");
    cr_assert_eq(fwrite(bytes, 1, size, f), size);
    fclose(f);
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK);
    cr_assert_eq(nexttok_model_verify(m, want), NEXTTOK_ERR_CHECKSUM);
    cr_assert(strstr(nexttok_error_message(), "digest mismatch") != NULL, "%s", nexttok_error_message());
    for (size_t i = 0; i < n_tensors; i++) {
        uint8_t d[32];
        cr_assert_eq(nexttok_model_tensor_digest_get(m, i, d), NEXTTOK_OK);
        if (i == 5) cr_assert_arr_neq(d, before[i], 32);
        else cr_assert_arr_eq(d, before[i], 32, "tensor %zu", i);
    }
    nexttok_model_free(m);
    free(before);
    free(bytes);
    unlink(path);
    free(path);
}

/* A model file cut short anywhere fails to load with a message, never a
 * crash: every length through the header and tensor table, then every
 * 61st byte through the data. */
Test(model, truncated_files_fail_cleanly)
{
    nt_tiny_spec sp = nt_tiny_spec_default("gpt2");
    sp.n_layer = 1;
    nt_gw *w = nt_tiny_model_writer(&sp);
    nt_gw_layout layout;
    size_t size;
    uint8_t *bytes = nt_gw_write(w, &size, &layout);
    nt_gw_free(w);
    char path[] = "/tmp/nexttok-trunc-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    int tried = 0;
    for (size_t len = 0; len < size; len += len < layout.data_start ? 1 : 61) {
        FILE *f = fopen(path, "wb");
        cr_assert_eq(fwrite(bytes, 1, len, f), len);
        fclose(f);
        nexttok_model *m = (nexttok_model *)1;
        nexttok_status st = nexttok_model_load(path, NULL, &m);
        cr_assert_neq(st, NEXTTOK_OK, "a file cut at %zu of %zu bytes loaded", len, size);
        cr_assert_null(m);
        cr_assert_str_not_empty(nexttok_error_message());
        tried++;
    }
    cr_assert_gt(tried, 100);
    unlink(path);
    free(bytes);
}

/* Metadata-only opens any well-formed GGUF, even one the library cannot
 * run, and refuses sessions on it. */
Test(model, metadata_only_opens_what_cannot_run)
{
    nt_gw *w = nt_gw_new();
    nt_gw_add_str(w, "general.architecture", "mamba");
    nt_gw_add_u32(w, "mamba.context_length", 4096);
    nt_gw_add_u32(w, "mamba.block_count", 64);
    int64_t ne[2] = {256, 4};
    nt_gw_add_tensor(w, "token_embd.weight", NT_TYPE_Q4_K, 2, ne, NULL, 4 * 144);
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);

    nexttok_model_params p;
    nexttok_model_params_init(&p, sizeof p);
    nexttok_model *m;
    cr_assert_eq(nexttok_model_load(path, &p, &m), NEXTTOK_ERR_UNSUPPORTED);
    p.metadata_only = 1;
    cr_assert_eq(nexttok_model_load(path, &p, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_model_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_model_info_get(m, &info), NEXTTOK_OK);
    cr_assert_str_eq(info.architecture, "mamba");
    cr_assert_eq(info.runnable, 0);
    cr_assert_eq(info.n_ctx_train, 4096);
    cr_assert_eq(info.n_layer, 64);
    cr_assert_eq(info.n_vocab, 4);
    cr_assert_eq(info.n_embd, 0);
    cr_assert_eq(nexttok_model_tensor_count_get(m), 1);
    nexttok_tensor_info ti = {.struct_size = sizeof ti};
    cr_assert_eq(nexttok_model_tensor_info_get(m, 0, &ti), NEXTTOK_OK);
    cr_assert_str_eq(ti.type_name, "Q4_K");
    nexttok_session *s = (nexttok_session *)1;
    cr_assert_eq(nexttok_session_create(m, NULL, &s), NEXTTOK_ERR_STATE);
    cr_assert_null(s);
    cr_assert(strstr(nexttok_error_message(), "metadata-only") != NULL, "%s", nexttok_error_message());
    nexttok_model_free(m);

    /* A runnable model says so. */
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    char *ok = nt_tiny_model_file(&sp);
    p.metadata_only = 0;
    cr_assert_eq(nexttok_model_load(ok, &p, &m), NEXTTOK_OK);
    cr_assert_eq(nexttok_model_info_get(m, &info), NEXTTOK_OK);
    cr_assert_eq(info.runnable, 1);
    nexttok_model_free(m);
    unlink(ok);
    free(ok);
    unlink(path);
    free(path);
}

/* Logits of a tiny llama written with `extra` applied to its writer. */
static float *run_llama_with(void (*extra)(nt_gw *), int32_t *n_vocab)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    nt_gw *w = nt_tiny_model_writer(&sp);
    if (extra) extra(w);
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);
    float *rows = run(path, n_vocab);
    unlink(path);
    free(path);
    return rows;
}

static void add_rope_freqs(nt_gw *w, float value)
{
    float f[4]; /* n_rot / 2 = head_dim / 2 = 4 */
    for (int i = 0; i < 4; i++) f[i] = value;
    int64_t ne[1] = {4};
    nt_gw_add_tensor_f32(w, "rope_freqs.weight", NT_TYPE_F32, 1, ne, f);
}

static void freqs_one(nt_gw *w) { add_rope_freqs(w, 1.0f); }
static void freqs_two(nt_gw *w) { add_rope_freqs(w, 2.0f); }
static void linear_two(nt_gw *w)
{
    nt_gw_add_str(w, "llama.rope.scaling.type", "linear");
    nt_gw_add_f32(w, "llama.rope.scaling.factor", 2.0f);
}
static void old_linear_key_two(nt_gw *w) { nt_gw_add_f32(w, "llama.rope.scale_linear", 2.0f); }
static void none_with_factor(nt_gw *w)
{
    nt_gw_add_str(w, "llama.rope.scaling.type", "none");
    nt_gw_add_f32(w, "llama.rope.scaling.factor", 2.0f);
}

/* Linear RoPE scaling by 2 turns every angle by half, exactly what
 * frequency factors of 2 do; factors of 1 change nothing. */
Test(model, rope_scaling_and_frequency_factors)
{
    int32_t v;
    float *plain = run_llama_with(NULL, &v);
    float *ones = run_llama_with(freqs_one, &v);
    float *twos = run_llama_with(freqs_two, &v);
    float *linear = run_llama_with(linear_two, &v);
    float *old_key = run_llama_with(old_linear_key_two, &v);
    float *none = run_llama_with(none_with_factor, &v);
    const size_t n = (size_t)N_TOKS * (size_t)v;
    cr_assert_arr_eq(ones, plain, n * sizeof(float));
    cr_assert_arr_eq(none, plain, n * sizeof(float));
    cr_assert_arr_eq(linear, twos, n * sizeof(float));
    cr_assert_arr_eq(old_key, twos, n * sizeof(float));
    /* Position 0 does not rotate; later positions must differ. */
    cr_assert_arr_eq(twos, plain, (size_t)v * sizeof(float));
    cr_assert_arr_neq(twos + (size_t)v, plain + (size_t)v, (size_t)(N_TOKS - 1) * (size_t)v * sizeof(float));
    free(plain);
    free(ones);
    free(twos);
    free(linear);
    free(old_key);
    free(none);
}

static void expect_llama_error(void (*extra)(nt_gw *), nexttok_status want, const char *needle)
{
    nt_tiny_spec sp = nt_tiny_spec_default("llama");
    nt_gw *w = nt_tiny_model_writer(&sp);
    extra(w);
    char *path = nt_tiny_write_temp(w);
    nt_gw_free(w);
    nexttok_model *m = (nexttok_model *)1;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), want, "%s", nexttok_error_message());
    cr_assert_null(m);
    cr_assert(strstr(nexttok_error_message(), needle) != NULL, "message '%s' lacks '%s'", nexttok_error_message(), needle);
    unlink(path);
    free(path);
}

static void yarn(nt_gw *w)
{
    nt_gw_add_str(w, "llama.rope.scaling.type", "yarn");
    nt_gw_add_f32(w, "llama.rope.scaling.factor", 4.0f);
}
static void freqs_zero(nt_gw *w) { add_rope_freqs(w, 0.0f); }
static void freqs_short(nt_gw *w)
{
    float f[3] = {1, 1, 1};
    int64_t ne[1] = {3};
    nt_gw_add_tensor_f32(w, "rope_freqs.weight", NT_TYPE_F32, 1, ne, f);
}

Test(model, unusable_rope_settings_are_named)
{
    expect_llama_error(yarn, NEXTTOK_ERR_UNSUPPORTED, "llama.rope.scaling.type': RoPE scaling 'yarn'");
    expect_llama_error(freqs_zero, NEXTTOK_ERR_FORMAT, "tensor rope_freqs.weight: factor 0 is 0");
    expect_llama_error(freqs_short, NEXTTOK_ERR_FORMAT, "tensor rope_freqs.weight: expected 4, got 3");
}
