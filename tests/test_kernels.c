/*
 * The weight-row dot products, axpy and matmul, on every instruction set
 * this CPU supports (each test forces each ISA in turn), against
 * double-precision references. Inputs end at an inaccessible page, so any
 * read past a row's end crashes the test; their start addresses take every
 * alignment as n varies.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/guarded.h"

#include "core/pool.h"
#include "core/isa.h"
#include "kernels/kernels.h"
#include "types/types.h"

static const uint32_t dot_types[] = {NT_TYPE_F32, NT_TYPE_F16, NT_TYPE_BF16};
#define N_DOT_TYPES (sizeof dot_types / sizeof dot_types[0])

static size_t type_bytes(uint32_t type) { return type == NT_TYPE_F32 ? 4 : 2; }

/* Store v as element i of a row of `type`; return the value actually stored. */
static double put_weight(uint32_t type, void *row, int64_t i, float v)
{
    unsigned char *p = (unsigned char *)row + (size_t)i * type_bytes(type);
    if (type == NT_TYPE_F32) {
        memcpy(p, &v, 4);
        return v;
    }
    uint16_t h = type == NT_TYPE_F16 ? nt_fp32_to_fp16(v) : nt_fp32_to_bf16(v);
    memcpy(p, &h, 2);
    return type == NT_TYPE_F16 ? nt_fp16_to_fp32(h) : nt_bf16_to_fp32(h);
}

/* A rigorous bound for an F32 sum of n products split over at least eight
 * running accumulators then combined pairwise: (n/8 + 16) unit roundoffs of
 * the sum of magnitudes (the products' own rounding included). */
static double dot_tolerance(int64_t n, double abs_sum)
{
    return ((double)n / 8.0 + 16.0) * 0x1p-24 * abs_sum;
}

static int n_supported_isas(void)
{
    int k = 0;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) k += nt_isa_supported((nt_isa)isa);
    return k;
}

/* The dot the merged table should hold for `type` on `isa`: the ISA's own,
 * except that the scalar row takes the first vector replica of the
 * reference this CPU has (nt_isa_kernels.scalar_dot; test_portable_dots.c
 * checks their bits). */
static nt_vec_dot_fn expected_dot(nt_isa isa, uint32_t type)
{
    const nt_vec_dot_fn own = nt_isa_kernels_get(isa)->type[type].vec_dot;
    if (isa != NT_ISA_SCALAR) return own;
    for (int i = 0; i < NT_ISA_COUNT; i++) {
        const nt_isa_kernels *k = nt_isa_kernels_get((nt_isa)i);
        if (k && i != NT_ISA_SCALAR && nt_isa_supported((nt_isa)i) && k->scalar_dot[type]) return k->scalar_dot[type];
    }
    return own;
}

Test(kernels, isa_force_selects_dispatch)
{
    cr_assert(nt_isa_supported(NT_ISA_SCALAR));
    cr_assert(!nt_isa_force(NT_ISA_COUNT));
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_supported((nt_isa)isa)) {
            cr_assert(!nt_isa_force((nt_isa)isa), "forcing unsupported %s", nt_isa_name((nt_isa)isa));
            continue;
        }
        cr_assert(nt_isa_force((nt_isa)isa));
        cr_assert(nt_isa_active() == (nt_isa)isa);
        for (size_t t = 0; t < N_DOT_TYPES; t++) {
            const nt_type_traits *tr = nt_type_traits_get(dot_types[t]);
            const nt_vec_dot_fn own = nt_isa_kernels_get((nt_isa)isa)->type[dot_types[t]].vec_dot;
            cr_assert(tr && own, "%s has no %s kernel", tr->name, nt_isa_name((nt_isa)isa));
            cr_assert(nt_type_vec_dot(dot_types[t]) == expected_dot((nt_isa)isa, dot_types[t]));
        }
    }
#if defined(__x86_64__)
    cr_assert(!nt_isa_supported(NT_ISA_NEON));
#elif defined(__aarch64__)
    cr_assert(nt_isa_supported(NT_ISA_NEON));
    cr_assert(!nt_isa_supported(NT_ISA_AVX2) && !nt_isa_supported(NT_ISA_AVX512));
#endif
    cr_log_info("ISAs supported here: %d", n_supported_isas());
}

#if defined(__x86_64__) && defined(__linux__)
/* The kernel's view of the CPU (flags in /proc/cpuinfo already account for
 * OS support of the register state) must agree with our cpuid/xgetbv. */
static bool cpuinfo_has(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += n)
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0')) return true;
    return false;
}

Test(kernels, isa_detection_matches_proc_cpuinfo)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) cr_skip("no /proc/cpuinfo");
    static char line[8192];
    bool found = false;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0) { found = true; break; }
    fclose(f);
    if (!found) cr_skip("no flags line in /proc/cpuinfo");
    bool avx2 = cpuinfo_has(line, "avx2") && cpuinfo_has(line, "fma") && cpuinfo_has(line, "f16c");
    bool avx512 = avx2 && cpuinfo_has(line, "avx512f") && cpuinfo_has(line, "avx512bw") &&
                  cpuinfo_has(line, "avx512vl");
    cr_assert(nt_isa_supported(NT_ISA_AVX2) == avx2);
    cr_assert(nt_isa_supported(NT_ISA_AVX512) == avx512);
}
#endif

Test(kernels, isa_environment_override)
{
    /* Each test runs in a fresh process, so the lazy choice is still open. */
    setenv("NEXTTOK_ISA", "scalar", 1);
    cr_assert(nt_isa_active() == NT_ISA_SCALAR);
    cr_assert(nt_type_vec_dot(NT_TYPE_F16) == expected_dot(NT_ISA_SCALAR, NT_TYPE_F16));
    cr_assert(strcmp(nt_isa_name(NT_ISA_AVX512), "avx512") == 0);
    cr_assert(strcmp(nt_isa_name(NT_ISA_COUNT), "unknown") == 0);
}

Test(kernels, isa_environment_override_ignores_unknown_names)
{
    setenv("NEXTTOK_ISA", "sse9", 1);
    nt_isa best = NT_ISA_SCALAR;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++)
        if (nt_isa_supported((nt_isa)isa)) best = (nt_isa)isa;
    cr_assert(nt_isa_active() == best);
}

static void check_dot(nt_vec_dot_fn dot, uint32_t type, int64_t n, nt_rng *rng, const char *what)
{
    nt_guard gw, gx;
    void *w = nt_guarded_alloc((size_t)n * type_bytes(type), &gw);
    float *x = nt_guarded_alloc((size_t)n * sizeof(float), &gx);
    double ref = 0.0, abs_sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double wv = put_weight(type, w, i, nt_rng_float(rng) * 2.0f);
        x[i] = nt_rng_float(rng) * 3.0f;
        ref += wv * x[i];
        abs_sum += fabs(wv * x[i]);
    }
    double got = dot(n, w, x);
    cr_assert(fabs(got - ref) <= dot_tolerance(n, abs_sum),
              "%s n=%lld: got %.9g want %.9g (tolerance %.3g)", what, (long long)n, got, ref,
              dot_tolerance(n, abs_sum));
    nt_guarded_free(&gw);
    nt_guarded_free(&gx);
}

Test(kernels, dots_match_double_reference_on_every_isa)
{
    static const int64_t big[] = {511, 512, 513, 1000, 4096, 4103, 11008 + 5};
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_force((nt_isa)isa)) continue;
        for (size_t t = 0; t < N_DOT_TYPES; t++) {
            nt_vec_dot_fn dot = nt_type_vec_dot(dot_types[t]);
            char what[64];
            snprintf(what, sizeof what, "%s/%s", nt_isa_name((nt_isa)isa),
                     nt_type_traits_get(dot_types[t])->name);
            nt_rng rng = {(uint64_t)isa * 1000 + t};
            for (int64_t n = 0; n <= 300; n++) check_dot(dot, dot_types[t], n, &rng, what);
            for (size_t b = 0; b < sizeof big / sizeof big[0]; b++)
                check_dot(dot, dot_types[t], big[b], &rng, what);
        }
    }
}

/* Every finite 16-bit weight, alone in a row of zeros and dotted with ones,
 * must come out exactly as the scalar conversion gives it: this pins the
 * vector conversions (F16C, fcvtl, shifts) including subnormals and inf. */
Test(kernels, dots_convert_every_16bit_weight_exactly)
{
    enum { N = 37 };
    float ones[N];
    for (int i = 0; i < N; i++) ones[i] = 1.0f;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_force((nt_isa)isa)) continue;
        for (int t = 1; t <= 2; t++) {
            uint32_t type = dot_types[t];
            nt_vec_dot_fn dot = nt_type_vec_dot(type);
            for (uint32_t h = 0; h <= 0xffff; h++) {
                uint16_t row[N] = {0};
                row[h % N] = (uint16_t)h;
                float want = type == NT_TYPE_F16 ? nt_fp16_to_fp32((uint16_t)h) : nt_bf16_to_fp32((uint16_t)h);
                float got = dot(N, row, ones);
                if (isnan(want))
                    cr_assert(isnan(got), "%s type %u: 0x%04x gave %g, want NaN", nt_isa_name((nt_isa)isa), type, h, got);
                else
                    cr_assert(got == want, "%s type %u: 0x%04x gave %.9g, want %.9g",
                              nt_isa_name((nt_isa)isa), type, h, got, want);
            }
        }
    }
}

Test(kernels, dot_f32_and_axpy_match_reference_on_every_isa)
{
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_force((nt_isa)isa)) continue;
        nt_rng rng = {77 + (uint64_t)isa};
        for (int64_t n = 0; n <= 300; n += (n < 70 ? 1 : 7)) {
            nt_guard ga, gb, gy;
            float *a = nt_guarded_alloc((size_t)n * 4, &ga);
            float *b = nt_guarded_alloc((size_t)n * 4, &gb);
            /* One sentinel before y: axpy must write exactly y[0..n). */
            float *ybuf = nt_guarded_alloc((size_t)(n + 1) * 4, &gy);
            float *y = ybuf + 1;
            ybuf[0] = 12345.0f;
            double ref = 0, abs_sum = 0;
            for (int64_t i = 0; i < n; i++) {
                a[i] = nt_rng_float(&rng);
                b[i] = nt_rng_float(&rng) * 10.0f;
                y[i] = nt_rng_float(&rng);
                ref += (double)a[i] * b[i];
                abs_sum += fabs((double)a[i] * b[i]);
            }
            float got = nt_dot_f32(a, b, n);
            cr_assert(fabs(got - ref) <= dot_tolerance(n, abs_sum), "%s dot_f32 n=%lld",
                      nt_isa_name((nt_isa)isa), (long long)n);

            float *y0 = malloc((size_t)(n + 1) * 4);
            memcpy(y0, y, (size_t)n * 4);
            const float s = -0.8125f;
            nt_axpy_f32(y, s, a, n);
            for (int64_t i = 0; i < n; i++) {
                double want = (double)y0[i] + (double)s * a[i];
                double tol = 0x1p-23 * (fabs(y0[i]) + fabs((double)s * a[i]));
                cr_assert(fabs(y[i] - want) <= tol, "%s axpy n=%lld i=%lld: %.9g vs %.9g",
                          nt_isa_name((nt_isa)isa), (long long)n, (long long)i, y[i], want);
            }
            cr_assert(ybuf[0] == 12345.0f, "axpy wrote before y");
            free(y0);
            nt_guarded_free(&ga);
            nt_guarded_free(&gb);
            nt_guarded_free(&gy);
        }
    }
}

Test(kernels, dots_propagate_nan_and_inf)
{
    float x[40];
    for (int i = 0; i < 40; i++) x[i] = 1.0f;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_force((nt_isa)isa)) continue;
        for (size_t t = 0; t < N_DOT_TYPES; t++) {
            unsigned char row[40 * 4];
            for (int i = 0; i < 40; i++) put_weight(dot_types[t], row, i, 0.5f);
            put_weight(dot_types[t], row, 39, INFINITY);
            cr_assert(isinf(nt_type_vec_dot(dot_types[t])(40, row, x)));
            put_weight(dot_types[t], row, 17, NAN);
            cr_assert(isnan(nt_type_vec_dot(dot_types[t])(40, row, x)));
        }
    }
}

/* A weight with padded rows (row_bytes beyond the values) and its decoded
 * values in double, row-major. */
typedef struct test_weight {
    nt_weight w;
    void *data;
    double *ref;
} test_weight;

static test_weight make_weight(uint32_t type, int64_t n_in, int64_t n_out, nt_rng *rng)
{
    test_weight tw;
    size_t row_bytes = (size_t)n_in * type_bytes(type) + 12;
    tw.data = malloc(row_bytes * (size_t)n_out);
    tw.ref = malloc(sizeof(double) * (size_t)(n_in * n_out));
    for (int64_t o = 0; o < n_out; o++)
        for (int64_t i = 0; i < n_in; i++)
            tw.ref[o * n_in + i] =
                put_weight(type, (unsigned char *)tw.data + (size_t)o * row_bytes, i, nt_rng_float(rng));
    tw.w = (nt_weight){tw.data, type, n_in, n_out, row_bytes};
    return tw;
}

static void free_weight(test_weight *tw)
{
    free(tw->data);
    free(tw->ref);
}

Test(kernels, matmul_matches_reference_independent_of_threads_and_batching)
{
    static const int64_t shapes[][3] = {{257, 67, 1}, {257, 67, 3}, {513, 301, 1}, {513, 301, 4},
                                        {64, 2000, 2}, {1, 5, 7}, {100, 50, 9}, {300, 400, 13},
                                        {4100, 40, 5}, {2048, 9, 4}};
    /* qemu-user 7.2 hangs in a new thread's first instructions, so the
     * cross run (tests/run-neon.sh) sets NT_TEST_NO_THREADS: one thread only. */
    const int n_pools = getenv("NT_TEST_NO_THREADS") ? 1 : 3;
    nt_pool *pools[3];
    for (int p = 0; p < n_pools; p++) cr_assert(nt_pool_create(p + 1, &pools[p]) == NEXTTOK_OK);
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        if (!nt_isa_force((nt_isa)isa)) continue;
        for (size_t t = 0; t < N_DOT_TYPES; t++) {
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                const int64_t n_in = shapes[s][0], n_out = shapes[s][1], n_tok = shapes[s][2];
                nt_rng rng = {s * 31 + t};
                test_weight tw = make_weight(dot_types[t], n_in, n_out, &rng);
                float *x = malloc(sizeof(float) * (size_t)(n_in * n_tok));
                for (int64_t i = 0; i < n_in * n_tok; i++) x[i] = nt_rng_float(&rng);
                float *serial = malloc(sizeof(float) * (size_t)(n_out * n_tok));
                float *par = malloc(sizeof(float) * (size_t)(n_out * n_tok));
                nt_matmul(NULL, &tw.w, x, n_tok, serial);
                for (int64_t k = 0; k < n_tok; k++)
                    for (int64_t o = 0; o < n_out; o++) {
                        double ref = 0, abs_sum = 0;
                        for (int64_t i = 0; i < n_in; i++) {
                            double p = tw.ref[o * n_in + i] * x[k * n_in + i];
                            ref += p;
                            abs_sum += fabs(p);
                        }
                        cr_assert(fabs(serial[k * n_out + o] - ref) <= dot_tolerance(n_in, abs_sum),
                                  "%s %s shape %zu tok %lld row %lld", nt_isa_name((nt_isa)isa),
                                  nt_type_traits_get(dot_types[t])->name, s, (long long)k, (long long)o);
                    }
                /* Batching must not change any token's result. */
                for (int64_t k = 0; k < n_tok; k++) {
                    nt_matmul(NULL, &tw.w, x + k * n_in, 1, par);
                    cr_assert(memcmp(par, serial + k * n_out, sizeof(float) * (size_t)n_out) == 0,
                              "token %lld alone differs from its batch (%s %s shape %zu)", (long long)k,
                              nt_isa_name((nt_isa)isa), nt_type_traits_get(dot_types[t])->name, s);
                }
                for (int p = 0; p < n_pools; p++) {
                    memset(par, 0xff, sizeof(float) * (size_t)(n_out * n_tok));
                    nt_matmul(pools[p], &tw.w, x, n_tok, par);
                    cr_assert(memcmp(par, serial, sizeof(float) * (size_t)(n_out * n_tok)) == 0,
                              "%d threads differ from serial (%s, shape %zu)", p + 1,
                              nt_isa_name((nt_isa)isa), s);
                }
                free(serial);
                free(par);
                free(x);
                free_weight(&tw);
            }
        }
    }
    for (int p = 0; p < n_pools; p++) nt_pool_free(pools[p]);
}

/* Uniform in [-1, 1) times 2^-8 .. 2^8, so that summing in another order
 * would change the last bits. */
static float wide_float(nt_rng *rng) { return ldexpf(nt_rng_float(rng), (int)(nt_rng_next(rng) % 17) - 8); }

/* Each ISA's GEMM tiles against its own single dot, byte for byte: rows and
 * tokens that leave partial tiles and groups, rows that need several
 * blocks, n that leaves a rest of whole vectors and a masked tail, padded
 * strides everywhere; inputs end at an inaccessible page. */
Test(kernels, gemm_matches_vec_dot_bitwise_on_every_isa)
{
    static const int64_t shapes[][3] = {{1, 3, 2},     {15, 2, 7},    {16, 5, 6},    {17, 4, 1},
                                        {63, 7, 13},   {64, 2, 3},    {65, 17, 5},   {100, 33, 12},
                                        {131, 1, 9},   {1024, 18, 7}, {1088, 3, 4},  {2133, 35, 13},
                                        {768, 6, 19},  {3001, 9, 6}};
    int tested = 0;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        const nt_isa_kernels *own = nt_isa_supported((nt_isa)isa) ? nt_isa_kernels_get((nt_isa)isa) : NULL;
        if (!own) continue;
        for (size_t t = 0; t < N_DOT_TYPES; t++) {
            const nt_type_kernels *k = &own->type[dot_types[t]];
            if (!k->gemm) continue;
            cr_assert(k->vec_dot, "%s: a gemm without its dot", nt_isa_name((nt_isa)isa));
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                const int64_t n = shapes[s][0], rows = shapes[s][1], tok = shapes[s][2];
                const size_t row_bytes = (size_t)n * type_bytes(dot_types[t]) + 6;
                const int64_t xs = n + 3, ys = rows + 2;
                nt_rng rng = {1000 + s * 7 + t};
                nt_guard gw, gx;
                unsigned char *w = nt_guarded_alloc(row_bytes * (size_t)(rows - 1) + (size_t)n * type_bytes(dot_types[t]), &gw);
                float *x = nt_guarded_alloc(sizeof(float) * (size_t)((tok - 1) * xs + n), &gx);
                float *y = malloc(sizeof(float) * (size_t)(tok * ys));
                cr_assert(w && x && y);
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t i = 0; i < n; i++) put_weight(dot_types[t], w + (size_t)r * row_bytes, i, wide_float(&rng));
                for (int64_t j = 0; j < tok; j++)
                    for (int64_t i = 0; i < n; i++) x[j * xs + i] = wide_float(&rng);
                memset(y, 0x7f, sizeof(float) * (size_t)(tok * ys));
                k->gemm(n, w, row_bytes, rows, x, xs, tok, y, ys, w, (size_t)rows * row_bytes); /* (any hint will do) */
                for (int64_t j = 0; j < tok; j++) {
                    for (int64_t r = 0; r < rows; r++) {
                        const float want = k->vec_dot(n, w + (size_t)r * row_bytes, x + j * xs);
                        cr_assert(memcmp(&y[j * ys + r], &want, sizeof want) == 0,
                                  "%s %s n %lld rows %lld tokens %lld: row %lld token %lld %.9g, dot %.9g",
                                  nt_isa_name((nt_isa)isa), nt_type_traits_get(dot_types[t])->name, (long long)n,
                                  (long long)rows, (long long)tok, (long long)r, (long long)j,
                                  (double)y[j * ys + r], (double)want);
                    }
                    for (int64_t r = rows; r < ys; r++) /* the stride's padding is left alone */
                        cr_assert(((const unsigned char *)&y[j * ys + r])[0] == 0x7f);
                }
                free(y);
                nt_guarded_free(&gx);
                nt_guarded_free(&gw);
                tested++;
            }
        }
    }
#if defined(__x86_64__)
    if (nt_isa_supported(NT_ISA_AVX2)) cr_assert(tested > 0, "no GEMM was tested");
#endif
}

Test(kernels, weight_row_get_decodes_exactly)
{
    for (size_t t = 0; t < N_DOT_TYPES; t++) {
        nt_rng rng = {900 + t};
        test_weight tw = make_weight(dot_types[t], 131, 9, &rng);
        float row[131];
        for (int64_t o = 0; o < 9; o++) {
            nt_weight_row_get(&tw.w, o, row);
            for (int64_t i = 0; i < 131; i++)
                cr_assert(row[i] == (float)tw.ref[o * 131 + i], "type %u row %lld col %lld",
                          dot_types[t], (long long)o, (long long)i);
        }
        free_weight(&tw);
    }
}
