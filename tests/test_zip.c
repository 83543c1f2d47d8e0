/* Prediction as compression: the range coder, the frequency rule, portable
 * sessions, round trips of any bytes, identical files on every ISA (and,
 * through the committed digests, on aarch64 under qemu), and every
 * refusal. Built standalone too (tests/run-neon.sh). */
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/isa.h"
#include "core/pmath.h"
#include "nexttok.h"
#include "support/fixtures.h"
#include "support/harness.h"
#include "zip/freq.h"
#include "zip/rc.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static nexttok_model *load(const char *rel)
{
    char path[4096];
    if (!nt_test_fixture_path(rel, path, sizeof path)) cr_skip_test(NT_SKIP_MSG);
    nexttok_model *m = NULL;
    cr_assert_eq(nexttok_model_load(path, NULL, &m), NEXTTOK_OK, "%s", nexttok_error_message());
    return m;
}

/* English prose with the shape of a book: paragraphs, dialogue, numbers. */
static const char prose[] =
    "It was a bright cold morning in the first week of April, and the village clocks were striking nine.\n"
    "\"Do you mean to walk all the way to the river?\" asked her sister, looking up from her book.\n"
    "\"Only as far as the mill,\" said Anne. \"The road is dry, and I promised Mrs. Harris a visit.\"\n"
    "She put on her bonnet and went out. The lane ran between two hedges full of birds, and for a mile\n"
    "she met nobody but a boy with three geese and an old man who touched his hat to her.\n\n";

static char *long_text(size_t n, size_t *len)
{
    char *t = malloc(n + 1);
    cr_assert(t);
    for (size_t i = 0; i < n; i++) t[i] = prose[i % (sizeof prose - 1)];
    /* vary it so it is not a pure repetition: a number every 97 bytes */
    for (size_t i = 50; i + 3 < n; i += 97) t[i] = (char)('0' + (i / 97) % 10);
    t[n] = 0;
    *len = n;
    return t;
}

/* Defaults, but one thread where new threads hang (qemu-user). */
static nexttok_zip_params zip_params(void)
{
    nexttok_zip_params p;
    nexttok_zip_params_init(&p, sizeof p);
    if (getenv("NT_TEST_NO_THREADS")) p.n_threads = 1;
    return p;
}

static void zip(const nexttok_model *m, const nexttok_zip_params *p, const void *in, size_t n, unsigned char **out,
                size_t *out_len)
{
    const nexttok_zip_params defaults = zip_params();
    if (!p) p = &defaults;
    const size_t cap = nexttok_zip_bound(n);
    cr_assert_gt(cap, 0);
    *out = malloc(cap);
    cr_assert(*out);
    cr_assert_eq(nexttok_zip_compress(m, NULL, p, in, n, *out, cap, out_len), NEXTTOK_OK, "%s",
                 nexttok_error_message());
    cr_assert_leq(*out_len, cap);
}

static void round_trip(const nexttok_model *m, const nexttok_zip_params *p, const void *in, size_t n, size_t *zlen)
{
    const nexttok_zip_params defaults = zip_params();
    if (!p) p = &defaults;
    unsigned char *z;
    size_t zn;
    zip(m, p, in, n, &z, &zn);
    nexttok_zip_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_zip_info_get(z, zn, &info), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(info.original_len, n);
    cr_assert_eq(info.payload_len + NEXTTOK_ZIP_HEADER_BYTES, zn);
    unsigned char *back = malloc(n + 1);
    cr_assert(back);
    size_t bn = 12345;
    cr_assert_eq(nexttok_zip_decompress(m, NULL, p, z, zn, back, n, &bn), NEXTTOK_OK, "%s",
                 nexttok_error_message());
    cr_assert_eq(bn, n);
    cr_assert(n == 0 || memcmp(back, in, n) == 0, "round trip changed the bytes");
    if (zlen) *zlen = zn;
    free(back);
    free(z);
}

/* ---- the range coder and the frequencies ------------------------------- */

Test(zip, range_coder_round_trip)
{
    enum { N = 20000 };
    static uint32_t cum[N], freq[N], total[N];
    unsigned char *buf = malloc(N * 8);
    cr_assert(buf);
    for (int i = 0; i < N; i++) {
        total[i] = (uint32_t)(1 + rng() % (i % 3 == 0 ? 2u : i % 3 == 1 ? 256u : (1u << 24)));
        if (i % 7 == 0) total[i] = 1u << 24;
        freq[i] = (uint32_t)(1 + rng() % total[i]);
        if (i % 5 == 0) freq[i] = 1; /* the worst case: 24 bits */
        cum[i] = (uint32_t)(rng() % (total[i] - freq[i] + 1));
    }
    nt_rc_enc e;
    nt_rc_enc_init(&e, buf, N * 8);
    for (int i = 0; i < N; i++) nt_rc_enc_put(&e, cum[i], freq[i], total[i]);
    const size_t n = nt_rc_enc_finish(&e);
    cr_assert(!e.overflow && n > 0);
    nt_rc_dec d;
    nt_rc_dec_init(&d, buf, n);
    for (int i = 0; i < N; i++) {
        const uint64_t t = nt_rc_dec_target(&d, total[i]);
        cr_assert(t >= cum[i] && t < (uint64_t)cum[i] + freq[i], "symbol %d: target %llu outside [%u, %u)", i,
                  (unsigned long long)t, cum[i], cum[i] + freq[i]);
        nt_rc_dec_take(&d, cum[i], freq[i]);
    }
    /* the cost is the information: within 0.1% of sum log2(total / freq) */
    double bits = 0;
    for (int i = 0; i < N; i++) bits += log2((double)total[i] / (double)freq[i]);
    cr_assert_leq((double)n * 8, bits * 1.001 + 64, "%zu bytes for %.0f bits", n, bits);
    /* an encoder that runs out of room says so */
    nt_rc_enc_init(&e, buf, n / 2);
    for (int i = 0; i < N; i++) nt_rc_enc_put(&e, cum[i], freq[i], total[i]);
    cr_assert_eq(nt_rc_enc_finish(&e), 0);
    cr_assert(e.overflow);
    free(buf);
}

Test(zip, frequencies_sum_to_the_total)
{
    enum { V = 5000 };
    static float logits[V];
    static uint32_t freq[V];
    static double work[V];
    for (int row = 0; row < 40; row++) {
        for (int i = 0; i < V; i++) logits[i] = (float)((double)(rng() % 100000) / 1000.0 - 50.0) * (float)(row % 4);
        if (row == 5) logits[17] = NAN;
        if (row == 6) for (int i = 0; i < V; i++) logits[i] = -INFINITY;
        if (row == 7) logits[3] = INFINITY;
        if (row == 8) logits[9] = 1e30f;
        nt_zip_freqs(logits, V, work, freq);
        uint64_t sum = 0;
        uint32_t fmin = UINT32_MAX;
        for (int i = 0; i < V; i++) {
            sum += freq[i];
            if (freq[i] < fmin) fmin = freq[i];
        }
        cr_assert_eq(sum, NT_ZIP_TOTAL, "row %d sums to %llu", row, (unsigned long long)sum);
        cr_assert_geq(fmin, 1);
    }
}

Test(zip, portable_math_tracks_libm)
{
    /* accuracy is not what makes them portable, but they must be good */
    for (int i = 0; i < 100000; i++) {
        const double x = ((double)(rng() >> 11) / 9007199254740992.0 * 2 - 1) * 700;
        cr_assert_leq(fabs(nt_pexp(x) - exp(x)), 4e-16 * exp(x), "exp(%a)", x);
        const double y = ((double)(rng() >> 11) / 9007199254740992.0 * 2 - 1) * 20;
        cr_assert_leq(fabs(nt_ptanh(y) - tanh(y)), 1e-15, "tanh(%a)", y);
        const double l = exp(y);
        cr_assert_leq(fabs(nt_plog(l) - log(l)), 1e-15 * fmax(1, fabs(log(l))), "log(%a)", l);
        double s, c;
        const double a = y * 5000;
        nt_psincos(a, &s, &c);
        cr_assert_leq(fabs(s - sin(a)) + fabs(c - cos(a)), 1e-12, "sincos(%a)", a);
    }
    cr_assert(nt_pexp(1000) == INFINITY && nt_pexp(-1000) == 0 && isnan(nt_pexp(NAN)));
    cr_assert(nt_ptanh(50) == 1 && nt_ptanh(-50) == -1 && nt_ptanh(0) == 0);
}

/* The same bits on every machine: digests of the portable functions over
 * a fixed grid, computed on x86-64 and checked on every target. */
Test(zip, portable_math_digest)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 16);
    for (int i = -4000; i <= 4000; i++) {
        const double x = i * 0.173205080756887729, v[5] = {nt_pexp(x / 10), nt_ptanh(x / 100), nt_plog(fabs(x) + 0.5),
                                                            nt_pexpm1(x / 10000), 0};
        double s, c;
        nt_psincos(x * 37.0, &s, &c);
        crypto_generichash_update(&st, (const unsigned char *)v, sizeof v);
        crypto_generichash_update(&st, (const unsigned char *)&s, sizeof s);
        crypto_generichash_update(&st, (const unsigned char *)&c, sizeof c);
    }
    unsigned char d[16];
    char hex[33];
    crypto_generichash_final(&st, d, sizeof d);
    sodium_bin2hex(hex, sizeof hex, d, sizeof d);
    cr_log_info("portable math digest %s", hex);
    cr_assert(strcmp(hex, "37cc9406f6d1cd10dea7e0d577155499") == 0, "portable math digest %s", hex);
}

/* ---- portable sessions --------------------------------------------------- */

/* Logits of a portable session, fed whole or one token at a time, equal
 * bitwise those of the scalar kernels, whatever ISA the process runs. */
static void portable_rows(const char *rel)
{
    nexttok_model *m = load(rel);
    const int32_t V = nexttok_model_n_vocab_get(m);
    enum { N = 24 };
    int32_t toks[N];
    for (int i = 0; i < N; i++) toks[i] = (int32_t)(rng() % (uint64_t)V);
    float *a = malloc(sizeof(float) * N * (size_t)V), *b = malloc(sizeof(float) * N * (size_t)V);
    float *c = malloc(sizeof(float) * N * (size_t)V);
    cr_assert(a && b && c);
    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    p.n_ctx = 64;
    p.precision = NEXTTOK_PRECISION_PORTABLE;
    if (getenv("NT_TEST_NO_THREADS")) p.n_threads = 1; /* qemu-user hangs in new threads */
    nexttok_session *s;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    nexttok_session_info si = {.struct_size = sizeof si};
    cr_assert_eq(nexttok_session_info_get(s, &si), NEXTTOK_OK);
    cr_assert_eq(si.precision, NEXTTOK_PRECISION_PORTABLE);
    cr_assert_eq(nexttok_session_feed(s, toks, N, a, (size_t)N * V), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_reset(s), NEXTTOK_OK);
    for (int i = 0; i < N; i++) cr_assert_eq(nexttok_session_feed(s, toks + i, 1, b + (size_t)i * V, V), NEXTTOK_OK);
    nexttok_session_free(s);
    cr_assert(memcmp(a, b, sizeof(float) * N * (size_t)V) == 0, "%s: batched and stepwise rows differ", rel);
    /* the exact precision on the scalar kernels computes the same */
    cr_assert(nt_isa_force(NT_ISA_SCALAR));
    p.precision = NEXTTOK_PRECISION_EXACT;
    cr_assert_eq(nexttok_session_create(m, &p, &s), NEXTTOK_OK, "%s", nexttok_error_message());
    cr_assert_eq(nexttok_session_feed(s, toks, N, c, (size_t)N * V), NEXTTOK_OK);
    nexttok_session_free(s);
    cr_assert(memcmp(a, c, sizeof(float) * N * (size_t)V) == 0, "%s: portable rows are not the scalar ones", rel);
    free(a);
    free(b);
    free(c);
    nexttok_model_free(m);
}

Test(zip, portable_session_llama) { portable_rows("models/aidreams260K.gguf"); }
Test(zip, portable_session_gpt2) { portable_rows("models/gpt2-tiny-f32.gguf"); }
Test(zip, portable_session_quantized) { portable_rows("models/llama-q-Q4_K_M.gguf"); }

/* ---- round trips ---------------------------------------------------------- */

/* The coder spends what the model's probabilities say, no more: the
 * payload is within 3% of the information a sliding-window perplexity run
 * with the same window finds (its windows see about the same context). */
Test(zip, round_trip_costs_the_model_information)
{
    nexttok_model *m = load("models/aidreams260K.gguf");
    size_t n, zn;
    char *t = long_text(2000, &n); /* ~1200 tokens: many windows of 128 */
    round_trip(m, NULL, t, n, &zn);
    nexttok_tokenizer *tok;
    cr_assert_eq(nexttok_tokenizer_create(m, &tok), NEXTTOK_OK);
    nexttok_session_params sp;
    nexttok_session_params_init(&sp, sizeof sp);
    sp.n_ctx = 128;
    sp.precision = NEXTTOK_PRECISION_PORTABLE;
    nexttok_session *s;
    cr_assert_eq(nexttok_session_create(m, &sp, &s), NEXTTOK_OK);
    nexttok_perplexity_params pp;
    nexttok_perplexity_params_init(&pp, sizeof pp);
    pp.n_window = 128;
    pp.stride = 64;
    nexttok_perplexity_info pi = {.struct_size = sizeof pi};
    cr_assert_eq(nexttok_session_text_perplexity_compute(s, tok, t, n, &pp, &pi), NEXTTOK_OK, "%s",
                 nexttok_error_message());
    const double bits = pi.nll_sum / log(2.0), coded = 8.0 * (double)(zn - NEXTTOK_ZIP_HEADER_BYTES);
    cr_log_info("aidreams260K: %zu bytes -> %zu; payload %.0f bits, the model's information %.0f bits", n, zn, coded,
                bits);
    cr_assert_leq(coded, bits * 1.03 + 100);
    cr_assert_geq(coded, bits * 0.97 - 100);
    nexttok_session_free(s);
    nexttok_tokenizer_free(tok);
    free(t);
    nexttok_model_free(m);
}

Test(zip, round_trip_small_windows)
{
    nexttok_model *m = load("models/gpt2-tiny-f32.gguf");
    nexttok_zip_params p = zip_params();
    size_t n;
    char *t = long_text(400, &n);
    const int32_t windows[] = {4, 5, 37};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        p.n_ctx = windows[i];
        round_trip(m, &p, t, n, NULL);
    }
    free(t);
    nexttok_model_free(m);
}

Test(zip, round_trip_any_bytes)
{
    const char *models[] = {"models/aidreams260K.gguf", "models/gpt2-tiny-f32.gguf", "models/llama-tiny-f32.gguf"};
    for (size_t k = 0; k < 3; k++) {
        nexttok_model *m = load(models[k]);
        size_t zn;
        round_trip(m, NULL, "", 0, &zn); /* empty */
        cr_assert_eq(zn, NEXTTOK_ZIP_HEADER_BYTES);
        round_trip(m, NULL, "a", 1, NULL);
        round_trip(m, NULL, " ", 1, NULL);
        round_trip(m, NULL, "  leading spaces and\ttabs\r\n\n", 28, NULL);
        unsigned char r[1500];
        for (size_t i = 0; i < sizeof r; i++) r[i] = (unsigned char)rng();
        round_trip(m, NULL, r, sizeof r, &zn); /* random: stored */
        cr_assert_eq(zn, sizeof r + NEXTTOK_ZIP_HEADER_BYTES);
        /* text with invalid UTF-8, NULs and a lone continuation byte inside */
        size_t n;
        char *t = long_text(700, &n);
        t[100] = (char)0xff;
        t[101] = (char)0xc3;
        t[300] = 0;
        t[450] = (char)0x80;
        t[600] = (char)0xe2;
        t[601] = (char)0x82;
        round_trip(m, NULL, t, n, &zn);
        cr_log_info("%s: mixed %zu -> %zu", models[k], n, zn);
        /* every byte value once, then again */
        unsigned char all[512];
        for (int i = 0; i < 512; i++) all[i] = (unsigned char)i;
        round_trip(m, NULL, all, sizeof all, NULL);
        /* special tokens' text is text: "<s>" and "<|endoftext|>" */
        const char sp[] = "<s>Hello</s> <|endoftext|> [INST] done";
        round_trip(m, NULL, sp, sizeof sp - 1, NULL);
        free(t);
        nexttok_model_free(m);
    }
}

/* ---- the same file on every ISA ------------------------------------------ */

static void zip_digest(const char *rel, const void *in, size_t n, char hex[65])
{
    nexttok_model *m = load(rel);
    unsigned char *z;
    size_t zn;
    zip(m, NULL, in, n, &z, &zn);
    unsigned char d[32];
    crypto_generichash(d, sizeof d, z, zn, NULL, 0);
    sodium_bin2hex(hex, 65, d, sizeof d);
    free(z);
    nexttok_model_free(m);
}

static const char golden_text[] =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun.\n"
    "One day she saw a big red ball in the park. \"Can I play with it?\" she asked her mom.";

/* Non-ASCII text, invalid UTF-8 and a NUL: raw stretches and byte tokens. */
static const char golden_mixed[] = "The caf\xc3\xa9 on the corner sold cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e \xe2\x98\x83 for "
                                   "\xe2\x82\xac" "3.\n\xff\xfe\x00" "broken \xe2\x82 bytes\x80" " and then plain text again.\n";

/* Under every ISA this CPU has, the bytes of the file are the same. */
Test(zip, same_file_on_every_isa)
{
    const char *models[] = {"models/aidreams260K.gguf", "models/gpt2-tiny-f32.gguf", "models/llama-q-Q6_K.gguf"};
    for (size_t k = 0; k < 3; k++) {
        char ref[65] = "", hex[65];
        int n_isa = 0;
        for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
            if (!nt_isa_force((nt_isa)isa)) continue;
            zip_digest(models[k], golden_text, sizeof golden_text - 1, hex);
            if (!ref[0]) memcpy(ref, hex, sizeof ref);
            cr_assert(strcmp(ref, hex) == 0, "%s: the file zipped under %s differs", models[k], nt_isa_name((nt_isa)isa));
            n_isa++;
        }
        cr_log_info("%s: %d ISAs, zip digest %s", models[k], n_isa, ref);
    }
}

/* ... and on every machine: digests computed on x86-64, also checked on
 * aarch64 under qemu by tests/run-neon.sh. */
Test(zip, same_file_as_on_x86)
{
    char hex[65];
    zip_digest("models/aidreams260K.gguf", golden_text, sizeof golden_text - 1, hex);
    cr_assert(strcmp(hex, "a91ce8e8124fe363e5cc5d0156aa399bd6151c6075aaf8e0de03e05cee0482d9") == 0, "aidreams260K zip digest %s", hex);
    zip_digest("models/gpt2-tiny-f32.gguf", golden_text, sizeof golden_text - 1, hex);
    cr_assert(strcmp(hex, "78dab0e536ae05245656630620a3789f90d112bd1abda7e7a801229af9e8a39a") == 0, "gpt2-tiny zip digest %s", hex);
    zip_digest("models/llama-q-Q6_K.gguf", golden_text, sizeof golden_text - 1, hex);
    cr_assert(strcmp(hex, "df38a323a82dc2ea87be92d5d48c658f18f963a35b36c93dc3c8aab3883134f3") == 0, "llama-q-Q6_K zip digest %s", hex);
    zip_digest("models/aidreams260K.gguf", golden_mixed, sizeof golden_mixed - 1, hex);
    cr_assert(strcmp(hex, "a28a096fb0a667a7c68f77ec39890ff9217486ba2abfccfe4285de016b7afdf3") == 0, "aidreams260K zip digest of mixed bytes %s", hex);
}

/* ---- refusals ------------------------------------------------------------- */

static void expect_unzip(const nexttok_model *m, const unsigned char *z, size_t zn, size_t cap, nexttok_status want,
                         const char *what)
{
    unsigned char *out = malloc(cap + 1);
    cr_assert(out);
    memset(out, 0xaa, cap + 1);
    size_t n = 999;
    const nexttok_status st = nexttok_zip_decompress(m, NULL, NULL, z, zn, out, cap, &n);
    cr_assert_eq(st, want, "%s: status %d (%s), expected %d", what, st, nexttok_error_message(), want);
    cr_assert(strlen(nexttok_error_message()) > 0, "%s: no message", what);
    /* nothing half-made: the buffer holds zeros or what was there */
    for (size_t i = 0; i < cap; i++) cr_assert(out[i] == 0 || out[i] == 0xaa, "%s: byte %zu written", what, i);
    free(out);
}

Test(zip, refusals)
{
    nexttok_model *m = load("models/aidreams260K.gguf");
    nexttok_model *other = load("models/llama-q-Q8_0.gguf"); /* the same vocabulary */
    size_t n;
    char *t = long_text(600, &n);
    unsigned char *z;
    size_t zn;
    zip(m, NULL, t, n, &z, &zn);
    cr_assert_lt(zn, n);

    expect_unzip(other, z, zn, n, NEXTTOK_ERR_MODEL_MISMATCH, "another model");
    cr_assert(strstr(nexttok_error_message(), "another model"));
    for (size_t cut = 0; cut < zn; cut += cut < 130 ? 1 : 17)
        expect_unzip(m, z, cut, n, cut == 0 ? NEXTTOK_ERR_FORMAT : NEXTTOK_ERR_TRUNCATED, "truncated");
    expect_unzip(m, z, zn, n - 1, NEXTTOK_ERR_BUFFER_TOO_SMALL, "small buffer");
    size_t need = 0;
    cr_assert_eq(nexttok_zip_decompress(m, NULL, NULL, z, zn, NULL, 0, &need), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(need, n);

    unsigned char *bad = malloc(zn + 1);
    cr_assert(bad);
    /* every bit of the header; in the payload, a bit in each tenth and the last one */
    const size_t hbits = NEXTTOK_ZIP_HEADER_BYTES * 8, pay_bits = zn * 8 - hbits;
    for (size_t k = 0; k < hbits + 11; k++) {
        const size_t bit = k < hbits ? k : k < hbits + 10 ? hbits + (k - hbits) * pay_bits / 10 : zn * 8 - 1;
        memcpy(bad, z, zn);
        bad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        const nexttok_status want = bit < NEXTTOK_ZIP_HEADER_BYTES * 8 ? NEXTTOK_ERR_FORMAT : NEXTTOK_ERR_CHECKSUM;
        expect_unzip(m, bad, zn, n, want, bit < NEXTTOK_ZIP_HEADER_BYTES * 8 ? "header bit" : "payload bit");
    }
    memcpy(bad, z, zn);
    bad[zn] = 0;
    expect_unzip(m, bad, zn + 1, n, NEXTTOK_ERR_FORMAT, "a trailing byte");
    expect_unzip(m, (const unsigned char *)t, n, n, NEXTTOK_ERR_FORMAT, "not a zip file");

    /* a later version, with a header digest to match */
    memcpy(bad, z, zn);
    bad[8] = 2;
    crypto_generichash(bad + 104, 16, bad, 104, NULL, 0);
    expect_unzip(m, bad, zn, n, NEXTTOK_ERR_UNSUPPORTED, "version 2");

    nexttok_zip_info info = {.struct_size = sizeof info};
    cr_assert_eq(nexttok_zip_info_get(z, 10, &info), NEXTTOK_ERR_TRUNCATED);
    cr_assert_eq(nexttok_zip_info_get(t, n, &info), NEXTTOK_ERR_FORMAT);
    cr_assert_eq(nexttok_zip_info_get(z, zn, &info), NEXTTOK_OK);
    cr_assert_eq(info.version, 1);
    cr_assert_eq(info.stored, 0);
    cr_assert_eq(info.n_ctx, 128);

    /* compression's own refusals (each zeroes the output buffer) */
    unsigned char small[200];
    size_t got = 0;
    cr_assert_eq(nexttok_zip_compress(m, NULL, NULL, t, n, small, 50, &got), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(got, nexttok_zip_bound(n));
    cr_assert_eq(nexttok_zip_compress(m, NULL, NULL, t, n, small, sizeof small, &got), NEXTTOK_ERR_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < sizeof small; i++) cr_assert_eq(small[i], 0, "compress left byte %zu", i);
    cr_assert_eq(nexttok_zip_compress(NULL, NULL, NULL, t, n, z, zn, &got), NEXTTOK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(nexttok_zip_compress(m, NULL, NULL, NULL, 5, z, zn, &got), NEXTTOK_ERR_INVALID_ARGUMENT);
    nexttok_zip_params p;
    nexttok_zip_params_init(&p, sizeof p);
    p.n_ctx = 3;
    cr_assert_eq(nexttok_zip_compress(m, NULL, &p, t, n, z, zn, &got), NEXTTOK_ERR_INVALID_ARGUMENT);
    p.n_ctx = 129;
    cr_assert_eq(nexttok_zip_compress(m, NULL, &p, t, n, z, zn, &got), NEXTTOK_ERR_INVALID_ARGUMENT);
    nexttok_tokenizer *gpt2_tok;
    char path[4096];
    cr_assert(nt_test_fixture_path("models/gpt2-tiny-f32.gguf", path, sizeof path));
    cr_assert_eq(nexttok_tokenizer_load(path, &gpt2_tok), NEXTTOK_OK);
    cr_assert_eq(nexttok_zip_compress(m, gpt2_tok, NULL, t, n, z, zn, &got), NEXTTOK_ERR_INVALID_ARGUMENT);
    nexttok_tokenizer_free(gpt2_tok);
    for (size_t i = 0; i < zn; i++) cr_assert_eq(z[i], 0, "a refused compress left byte %zu", i);
    free(bad);
    free(z);
    free(t);
    nexttok_model_free(other);
    nexttok_model_free(m);
}

static int cancel_half(float fraction, void *user)
{
    (void)user;
    return fraction >= 0.5f;
}

Test(zip, progress_cancels)
{
    nexttok_model *m = load("models/aidreams260K.gguf");
    size_t n;
    char *t = long_text(4000, &n);
    nexttok_zip_params p;
    nexttok_zip_params_init(&p, sizeof p);
    p.progress = cancel_half;
    const size_t cap = nexttok_zip_bound(n);
    unsigned char *z = malloc(cap);
    cr_assert(z);
    size_t zn;
    cr_assert_eq(nexttok_zip_compress(m, NULL, &p, t, n, z, cap, &zn), NEXTTOK_ERR_CANCELLED);
    for (size_t i = 0; i < cap; i++) cr_assert_eq(z[i], 0);
    free(z);
    free(t);
    nexttok_model_free(m);
}
