/*
 * The scalar reference dots' vector replicas (nt_isa_kernels.scalar_dot,
 * portable_<isa>.c) against the plain C they replace in the scalar row:
 * the bits must agree on every length and every kind of value, or portable
 * sessions (zip) would differ between machines. Rows end at an
 * inaccessible page, so a replica reading past a row's end crashes.
 */
#include <math.h>
#include <string.h>

#include "support/harness.h"
#include "support/guarded.h"

#include "core/isa.h"
#include "kernels/kernels_isa.h"
#include "types/types.h"

static const uint32_t types[] = {NT_TYPE_F32, NT_TYPE_F16, NT_TYPE_BF16};

/* Raw bits of any kind: ordinary values, zeros, subnormals, infinities,
 * NaNs; mostly ordinary so that sums stay finite and rounding matters. */
static uint32_t some_bits(nt_rng *r, uint32_t type)
{
    const uint64_t u = nt_rng_next(r);
    const int kind = (int)(u % 16);
    if (type == NT_TYPE_F32) {
        float f;
        if (kind == 0) f = 0.0f;
        else if (kind == 1) f = -0.0f;
        else if (kind == 2) f = 0x1p-140f * (float)(u >> 40); /* subnormal */
        else if (kind == 3 && (u >> 8) % 64 == 0) f = (u >> 20) & 1 ? INFINITY : NAN;
        else f = (float)((double)(int64_t)(u >> 11) / 0x1p52 - 1.0) * 4.0f;
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        return b;
    }
    uint16_t h = (uint16_t)(u >> 16);
    if (kind == 0) h = 0;
    else if (kind == 1) h = (uint16_t)(h & 0x83ffu); /* subnormal or zero */
    else if (kind > 3) /* ordinary magnitudes near 1 */
        h = type == NT_TYPE_F16 ? (uint16_t)((h & 0x83ffu) | (0x3800u + ((u >> 40) % 4) * 0x400u))
                                : (uint16_t)((h & 0x807fu) | (0x3f00u + ((u >> 40) % 2) * 0x80u));
    return h;
}

static void check_isa(nt_isa isa)
{
    const nt_isa_kernels *k = nt_isa_kernels_get(isa);
    if (!k || !nt_isa_supported(isa)) return;
    nt_rng rng = {0x5eed0000u + (uint64_t)isa};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const uint32_t t = types[ti];
        const nt_vec_dot_fn replica = k->scalar_dot[t], plain = nt_isa_kernels_get(NT_ISA_SCALAR)->type[t].vec_dot;
        if (!replica) continue;
        const size_t wsize = t == NT_TYPE_F32 ? 4 : 2;
        for (int64_t n = 0; n <= 300; n += n < 40 ? 1 : 37) {
            for (int rep = 0; rep < 20; rep++) {
                nt_guard gw, gx;
                unsigned char *w = nt_guarded_alloc((size_t)n * wsize, &gw);
                float *x = nt_guarded_alloc((size_t)n * sizeof *x, &gx);
                cr_assert(w && x);
                for (int64_t i = 0; i < n; i++) {
                    const uint32_t b = some_bits(&rng, t);
                    memcpy(w + (size_t)i * wsize, &b, wsize);
                    const uint32_t xb = some_bits(&rng, NT_TYPE_F32);
                    memcpy(&x[i], &xb, sizeof xb);
                }
                const float want = plain(n, w, x), got = replica(n, w, x);
                uint32_t wb, gb;
                memcpy(&wb, &want, sizeof wb);
                memcpy(&gb, &got, sizeof gb);
                /* NaN payloads may differ only where both are NaN */
                cr_assert(wb == gb || (isnan(want) && isnan(got)),
                          "isa %d type %u n %lld rep %d: replica %a, reference %a", (int)isa, t, (long long)n,
                          rep, (double)got, (double)want);
                nt_guarded_free(&gw);
                nt_guarded_free(&gx);
            }
        }
    }
}

Test(portable_dots, replicas_match_the_scalar_reference_bitwise)
{
    int checked = 0;
    for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
        const nt_isa_kernels *k = nt_isa_kernels_get((nt_isa)isa);
        if (!k || !nt_isa_supported((nt_isa)isa)) continue;
        for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) checked += k->scalar_dot[types[ti]] != NULL;
        check_isa((nt_isa)isa);
    }
    if (!checked) cr_skip("no ISA of this CPU has replicas of the scalar dots");
}

Test(portable_dots, scalar_row_uses_a_replica_where_the_cpu_has_one)
{
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const nt_vec_dot_fn used = nt_type_kernels_isa(types[ti], NT_ISA_SCALAR)->vec_dot;
        nt_vec_dot_fn want = nt_isa_kernels_get(NT_ISA_SCALAR)->type[types[ti]].vec_dot;
        for (int isa = 0; isa < NT_ISA_COUNT; isa++) {
            const nt_isa_kernels *k = nt_isa_kernels_get((nt_isa)isa);
            if (k && isa != NT_ISA_SCALAR && nt_isa_supported((nt_isa)isa) && k->scalar_dot[types[ti]]) {
                want = k->scalar_dot[types[ti]];
                break;
            }
        }
        cr_assert(used == want, "type %u: the scalar row's dot is not the expected one", types[ti]);
    }
}
