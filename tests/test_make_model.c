/* make_model's files, read back with our GGUF reader: each architecture
 * holds exactly the tensors (names, shapes, types) and the keys llama.cpp's
 * loader asks for — an extra or missing tensor makes llama.cpp refuse the
 * file, so the benchmark would compare against nothing — and bad command
 * lines end in a usage error instead of a half-written model. The expected
 * sets are spelled out here from the loaders' lists (the architecture spec,
 * ../shared/reference/architectures.md), not derived from the writer, so
 * a slip in the writer shows. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "gguf/gguf.h"
#include "types/types.h"

static char g_dir[] = "/tmp/nexttok-mkmodel-XXXXXX";
static char g_out[64], g_err[64];
static nt_gguf *g_file;

static void setup(void)
{
    cr_assert_not_null(mkdtemp(g_dir));
    snprintf(g_out, sizeof g_out, "%s/m.gguf", g_dir);
    snprintf(g_err, sizeof g_err, "%s/err", g_dir);
}

static void teardown(void)
{
    nt_gguf_close(g_file);
    g_file = NULL;
    unlink(g_out);
    unlink(g_err);
    rmdir(g_dir);
}

TestSuite(make_model, .init = setup, .fini = teardown);

/* Run make_model with argv (NULL-terminated, after the program name);
 * stderr goes to g_err. Returns the exit status. */
static int run(const char *const *args)
{
    const char *prog = getenv("NEXTTOK_MAKE_MODEL");
    cr_assert_not_null(prog, "NEXTTOK_MAKE_MODEL is not set (meson sets it)");
    const char *argv[32] = {prog};
    int n = 1;
    for (; args[n - 1]; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(g_err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) dup2(fd, 2);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "make_model did not exit normally");
    return WEXITSTATUS(status);
}

static char *err_text(void)
{
    static char buf[4096];
    FILE *f = fopen(g_err, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    return buf;
}

static const nt_gguf *make(const char *const *args)
{
    int rc = run(args);
    cr_assert_eq(rc, 0, "make_model failed (%d): %s", rc, err_text());
    cr_assert_eq(nt_gguf_open(g_out, &g_file), NEXTTOK_OK, "%s", nexttok_error_message());
    return g_file;
}

/* Symbolic dims of a tensor: E n_embd, Q n_head*head_dim, K n_head_kv*head_dim,
 * F n_ff, H head_dim, V n_vocab; '-' for the second dim of a vector. */
typedef struct {
    const char *name;
    char d0, d1;
} want_tensor;

typedef struct {
    int64_t E, Q, K, F, H, V;
    int n_layer;
    uint32_t matrix_type;
} dims;

static int64_t dim_of(const dims *d, char c)
{
    switch (c) {
    case 'E': return d->E;
    case 'Q': return d->Q;
    case 'K': return d->K;
    case 'F': return d->F;
    case 'H': return d->H;
    case 'V': return d->V;
    default: return 1;
    }
}

static void expect_tensor(const nt_gguf *g, const dims *d, const char *name, char d0, char d1)
{
    const nt_gguf_tensor *t = nt_gguf_tensor_find(g, name);
    cr_assert_not_null(t, "tensor %s missing", name);
    const int two_d = d1 != '-';
    cr_expect_eq(t->n_dims, two_d ? 2u : 1u, "%s: %u dims", name, t->n_dims);
    cr_expect_eq(t->ne[0], dim_of(d, d0), "%s: ne0 %lld", name, (long long)t->ne[0]);
    cr_expect_eq(t->ne[1], dim_of(d, d1), "%s: ne1 %lld", name, (long long)t->ne[1]);
    /* Norms and biases stay F32: llama.cpp's loaders take them so. */
    cr_expect_eq(t->type, two_d ? d->matrix_type : NT_TYPE_F32, "%s: type %u", name, t->type);
}

/* The file holds exactly the global tensors plus the per-layer ones
 * (blk.N. prefixed) for every layer, nothing else. */
static void expect_tensor_set(const nt_gguf *g, const dims *d, const want_tensor *global,
                              const want_tensor *layer)
{
    uint64_t n = 0;
    for (const want_tensor *w = global; w->name; w++, n++) expect_tensor(g, d, w->name, w->d0, w->d1);
    for (int l = 0; l < d->n_layer; l++) {
        for (const want_tensor *w = layer; w->name; w++, n++) {
            char nm[96];
            snprintf(nm, sizeof nm, "blk.%d.%s", l, w->name);
            expect_tensor(g, d, nm, w->d0, w->d1);
        }
    }
    cr_expect_eq(g->n_tensors, n, "%llu tensors, want %llu", (unsigned long long)g->n_tensors,
                 (unsigned long long)n);
}

static int64_t get_int(const nt_gguf *g, const char *key)
{
    int64_t v = -1;
    cr_assert_eq(nt_gguf_get_int(g, key, &v), NEXTTOK_OK, "%s", nexttok_error_message());
    return v;
}

static double get_float(const nt_gguf *g, const char *key)
{
    double v = -1;
    cr_assert_eq(nt_gguf_get_float(g, key, &v), NEXTTOK_OK, "%s", nexttok_error_message());
    return v;
}

static void expect_arch(const nt_gguf *g, const char *arch)
{
    nt_str s;
    cr_assert_eq(nt_gguf_get_str(g, "general.architecture", &s), NEXTTOK_OK);
    cr_expect(nt_str_eq(s, arch), "architecture %.*s, want %s", (int)s.len, s.ptr, arch);
}

static void expect_near(double got, double want, const char *what)
{
    cr_expect(fabs(got - want) <= 1e-6 * fabs(want), "%s: %g, want %g", what, got, want);
}

/* A norm weight's values, as trained (Gemma: with the converter's +1)
 * files hold them: near 1, so the random model's activations stay in
 * range. */
static void expect_near_one(const nt_gguf *g, const char *name)
{
    const nt_gguf_tensor *t = nt_gguf_tensor_find(g, name);
    cr_assert_not_null(t, "%s missing", name);
    cr_assert_eq(t->type, NT_TYPE_F32);
    const float *v = t->data;
    for (int64_t i = 0; i < t->ne[0]; i++)
        cr_assert(v[i] > 0.8f && v[i] < 1.2f, "%s[%lld] = %g", name, (long long)i, v[i]);
}

static const want_tensor tied_global[] = {{"token_embd.weight", 'E', 'V'},
                                          {"output_norm.weight", 'E', '-'}, {0}};
static const want_tensor untied_global[] = {{"token_embd.weight", 'E', 'V'},
                                            {"output_norm.weight", 'E', '-'},
                                            {"output.weight", 'E', 'V'}, {0}};

static const want_tensor qwen2_layer[] = {
    {"attn_norm.weight", 'E', '-'}, {"attn_q.weight", 'E', 'Q'}, {"attn_q.bias", 'Q', '-'},
    {"attn_k.weight", 'E', 'K'},    {"attn_k.bias", 'K', '-'},   {"attn_v.weight", 'E', 'K'},
    {"attn_v.bias", 'K', '-'},      {"attn_output.weight", 'Q', 'E'},
    {"ffn_norm.weight", 'E', '-'},  {"ffn_gate.weight", 'E', 'F'},
    {"ffn_up.weight", 'E', 'F'},    {"ffn_down.weight", 'F', 'E'}, {0}};

static const want_tensor qwen3_layer[] = {
    {"attn_norm.weight", 'E', '-'},   {"attn_q.weight", 'E', 'Q'},
    {"attn_k.weight", 'E', 'K'},      {"attn_v.weight", 'E', 'K'},
    {"attn_q_norm.weight", 'H', '-'}, {"attn_k_norm.weight", 'H', '-'},
    {"attn_output.weight", 'Q', 'E'}, {"ffn_norm.weight", 'E', '-'},
    {"ffn_gate.weight", 'E', 'F'},    {"ffn_up.weight", 'E', 'F'},
    {"ffn_down.weight", 'F', 'E'},    {0}};

static const want_tensor gemma2_layer[] = {
    {"attn_norm.weight", 'E', '-'},           {"attn_q.weight", 'E', 'Q'},
    {"attn_k.weight", 'E', 'K'},              {"attn_v.weight", 'E', 'K'},
    {"attn_output.weight", 'Q', 'E'},         {"post_attention_norm.weight", 'E', '-'},
    {"ffn_norm.weight", 'E', '-'},            {"ffn_gate.weight", 'E', 'F'},
    {"ffn_up.weight", 'E', 'F'},              {"ffn_down.weight", 'F', 'E'},
    {"post_ffw_norm.weight", 'E', '-'},       {0}};

static const want_tensor gemma3_layer[] = {
    {"attn_norm.weight", 'E', '-'},           {"attn_q.weight", 'E', 'Q'},
    {"attn_k.weight", 'E', 'K'},              {"attn_v.weight", 'E', 'K'},
    {"attn_q_norm.weight", 'H', '-'},         {"attn_k_norm.weight", 'H', '-'},
    {"attn_output.weight", 'Q', 'E'},         {"post_attention_norm.weight", 'E', '-'},
    {"ffn_norm.weight", 'E', '-'},            {"ffn_gate.weight", 'E', 'F'},
    {"ffn_up.weight", 'E', 'F'},              {"ffn_down.weight", 'F', 'E'},
    {"post_ffw_norm.weight", 'E', '-'},       {0}};

static const want_tensor llama_layer[] = {
    {"attn_norm.weight", 'E', '-'}, {"attn_q.weight", 'E', 'Q'}, {"attn_k.weight", 'E', 'K'},
    {"attn_v.weight", 'E', 'K'},    {"attn_output.weight", 'Q', 'E'},
    {"ffn_norm.weight", 'E', '-'},  {"ffn_gate.weight", 'E', 'F'},
    {"ffn_up.weight", 'E', 'F'},    {"ffn_down.weight", 'F', 'E'}, {0}};

Test(make_model, qwen2_tied_with_biases)
{
    const nt_gguf *g = make((const char *[]){g_out, "qwen2", "q8_0", "300", "128", "2", "4", "2",
                                             "256", "512", "--tied", "--rope-base", "1e6",
                                             "--rms-eps", "1e-6", NULL});
    dims d = {.E = 128, .Q = 128, .K = 64, .F = 256, .H = 32, .V = 300, .n_layer = 2,
              .matrix_type = NT_TYPE_Q8_0};
    expect_arch(g, "qwen2");
    expect_tensor_set(g, &d, tied_global, qwen2_layer);
    expect_near(get_float(g, "qwen2.rope.freq_base"), 1e6, "rope.freq_base");
    expect_near(get_float(g, "qwen2.attention.layer_norm_rms_epsilon"), 1e-6, "rms eps");
    cr_expect_eq(get_int(g, "qwen2.attention.head_count_kv"), 2);
    cr_expect_eq(get_int(g, "qwen2.context_length"), 512);
    /* qwen2's loaders derive the head size; the converter does not write it. */
    cr_expect_null(nt_gguf_kv_find(g, "qwen2.attention.key_length"));
}

Test(make_model, qwen2_untied_keeps_output)
{
    const nt_gguf *g = make((const char *[]){g_out, "qwen2", "f16", "300", "64", "1", "4", "4",
                                             "96", "64", NULL});
    dims d = {.E = 64, .Q = 64, .K = 64, .F = 96, .H = 16, .V = 300, .n_layer = 1,
              .matrix_type = NT_TYPE_F16};
    expect_tensor_set(g, &d, untied_global, qwen2_layer);
    expect_near(get_float(g, "qwen2.rope.freq_base"), 10000, "default rope.freq_base");
}

Test(make_model, qwen3_head_dim_and_qk_norms)
{
    /* head_dim 32 with 6 heads: Q is 192 wide on a 128 embedding, as in
     * Qwen3, whose heads do not divide n_embd. */
    const nt_gguf *g = make((const char *[]){"--head-dim", "32", g_out, "qwen3", "q4_0", "300",
                                             "128", "3", "6", "2", "160", "256", NULL});
    dims d = {.E = 128, .Q = 192, .K = 64, .F = 160, .H = 32, .V = 300, .n_layer = 3,
              .matrix_type = NT_TYPE_Q4_0};
    expect_arch(g, "qwen3");
    expect_tensor_set(g, &d, untied_global, qwen3_layer);
    cr_expect_eq(get_int(g, "qwen3.attention.key_length"), 32);
    cr_expect_eq(get_int(g, "qwen3.attention.value_length"), 32);
    cr_expect_eq(get_int(g, "qwen3.attention.head_count"), 6);
    expect_near_one(g, "blk.2.attn_q_norm.weight");
    expect_near_one(g, "blk.0.attn_k_norm.weight");
}

Test(make_model, gemma3_shape_and_keys)
{
    /* No --tied: gemma3's head is token_embd whatever the flags. */
    const nt_gguf *g = make((const char *[]){g_out, "gemma3", "q8_0", "300", "96", "7", "4", "1",
                                             "192", "1024", "--head-dim", "64", "--window", "128",
                                             NULL});
    dims d = {.E = 96, .Q = 256, .K = 64, .F = 192, .H = 64, .V = 300, .n_layer = 7,
              .matrix_type = NT_TYPE_Q8_0};
    expect_arch(g, "gemma3");
    expect_tensor_set(g, &d, tied_global, gemma3_layer);
    cr_expect_eq(get_int(g, "gemma3.attention.key_length"), 64);
    cr_expect_eq(get_int(g, "gemma3.attention.value_length"), 64);
    cr_expect_eq(get_int(g, "gemma3.attention.sliding_window"), 128);
    expect_near(get_float(g, "gemma3.rope.freq_base"), 1e6, "global rope.freq_base");
    expect_near(get_float(g, "gemma3.rope.freq_base_swa"), 10000, "local rope.freq_base_swa");
    expect_near(get_float(g, "gemma3.attention.layer_norm_rms_epsilon"), 1e-6, "rms eps");
    /* Gemma 3 has no soft-caps; a present key would turn one on. */
    cr_expect_null(nt_gguf_kv_find(g, "gemma3.final_logit_softcapping"));
    cr_expect_null(nt_gguf_kv_find(g, "gemma3.attn_logit_softcapping"));
    expect_near_one(g, "blk.6.post_ffw_norm.weight");
    expect_near_one(g, "blk.3.post_attention_norm.weight");
    expect_near_one(g, "blk.0.attn_q_norm.weight");
    expect_near_one(g, "output_norm.weight");
}

Test(make_model, gemma2_defaults)
{
    const nt_gguf *g = make((const char *[]){g_out, "gemma2", "f32", "300", "64", "2", "2", "1",
                                             "128", "256", "--head-dim", "48", NULL});
    dims d = {.E = 64, .Q = 96, .K = 48, .F = 128, .H = 48, .V = 300, .n_layer = 2,
              .matrix_type = NT_TYPE_F32};
    expect_tensor_set(g, &d, tied_global, gemma2_layer);
    cr_expect_eq(get_int(g, "gemma2.attention.sliding_window"), 4096);
    expect_near(get_float(g, "gemma2.attn_logit_softcapping"), 50, "attention soft-cap");
    expect_near(get_float(g, "gemma2.final_logit_softcapping"), 30, "final soft-cap");
    expect_near(get_float(g, "gemma2.rope.freq_base"), 10000, "rope.freq_base");
}

Test(make_model, llama_as_before)
{
    /* The original command line still writes the original layout. */
    const nt_gguf *g = make((const char *[]){g_out, "llama", "f32", "300", "64", "2", "4", "2",
                                             "96", "64", NULL});
    dims d = {.E = 64, .Q = 64, .K = 32, .F = 96, .H = 16, .V = 300, .n_layer = 2,
              .matrix_type = NT_TYPE_F32};
    expect_tensor_set(g, &d, untied_global, llama_layer);
    cr_expect_null(nt_gguf_kv_find(g, "llama.attention.key_length"));
    expect_near(get_float(g, "llama.attention.layer_norm_rms_epsilon"), 1e-5, "rms eps");
}

Test(make_model, llama_head_dim_writes_key_length)
{
    const nt_gguf *g = make((const char *[]){g_out, "llama", "f16", "300", "64", "1", "4", "2",
                                             "96", "64", "--head-dim", "32", "--tied", NULL});
    dims d = {.E = 64, .Q = 128, .K = 64, .F = 96, .H = 32, .V = 300, .n_layer = 1,
              .matrix_type = NT_TYPE_F16};
    expect_tensor_set(g, &d, tied_global, llama_layer);
    cr_expect_eq(get_int(g, "llama.attention.key_length"), 32);
}

/* Each bad command line exits 2 with `needle` in its message and writes
 * no file. */
static void expect_usage_error(const char *needle, const char *const *args)
{
    int rc = run(args);
    cr_expect_eq(rc, 2, "exit %d for a bad command line (want 2): %s", rc, err_text());
    cr_expect(strstr(err_text(), needle) != NULL, "message lacks '%s': %s", needle, err_text());
    cr_expect(access(g_out, F_OK) != 0, "a file was written");
}

Test(make_model, bad_arguments)
{
    expect_usage_error("usage:", (const char *[]){g_out, "qwen2", "f32", "300", NULL});
    expect_usage_error("usage:", (const char *[]){g_out, "qwen2", "f32", "300", "64", "1", "4",
                                                  "2", "96", "64", "7", NULL});
    expect_usage_error("unknown option", (const char *[]){g_out, "qwen2", "f32", "300", "64", "1",
                                                           "4", "2", "96", "64", "--bias", NULL});
    expect_usage_error("missing value", (const char *[]){g_out, "qwen3", "f32", "300", "64", "1",
                                                         "4", "2", "96", "64", "--head-dim", NULL});
    expect_usage_error("unknown architecture", (const char *[]){g_out, "gemma", "f32", "300", "64",
                                                                "1", "4", "2", "96", "64", NULL});
    expect_usage_error("--head-dim", (const char *[]){g_out, "qwen3", "f32", "300", "64", "1", "4",
                                                      "2", "96", "64", "--head-dim", "0", NULL});
    expect_usage_error("--rope-base", (const char *[]){g_out, "qwen3", "f32", "300", "64", "1", "4",
                                                       "2", "96", "64", "--rope-base", "1e6x",
                                                       NULL});
    expect_usage_error("--window is for gemma", (const char *[]){g_out, "qwen2", "f32", "300", "64",
                                                                 "1", "4", "2", "96", "64",
                                                                 "--window", "512", NULL});
    expect_usage_error("qwen2 needs n_head * head_dim", (const char *[]){
        g_out, "qwen2", "f32", "300", "64", "1", "4", "2", "96", "64", "--head-dim", "32", NULL});
    expect_usage_error("gpt2 takes no options", (const char *[]){
        g_out, "gpt2", "f32", "300", "64", "1", "4", "4", "96", "64", "--tied", NULL});
    expect_usage_error("must divide", (const char *[]){g_out, "qwen3", "f32", "300", "64", "1",
                                                       "4", "3", "96", "64", NULL});
    expect_usage_error("must be even", (const char *[]){g_out, "qwen3", "f32", "300", "64", "1",
                                                        "4", "2", "96", "64", "--head-dim", "15",
                                                        NULL});
    /* 3 heads of 40: attn_output rows of 120 do not pack into blocks of 32. */
    expect_usage_error("multiples of 32", (const char *[]){g_out, "gemma3", "q4_0", "300", "64",
                                                           "1", "3", "1", "96", "64",
                                                           "--head-dim", "40", NULL});
}
