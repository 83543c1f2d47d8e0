/* Attention's softmax, the reference every ISA's version equals bitwise
 * (kernels/exp_poly.h says how). */
#include <math.h>

#include "kernels/exp_poly.h"
#include "kernels/kernels_isa.h"

void nt_softmax_f32_scalar(float *x, int64_t n)
{
    if (n <= 0) return;
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    if (max == -INFINITY) { /* everything masked: no preference */
        for (int64_t i = 0; i < n; i++) x[i] = (float)(1.0 / (double)n);
        return;
    }
    double acc[NT_SOFTMAX_LANES] = {0};
    const double inv = 1.0 / nt_softmax_tail_sum(x, 0, n, max, acc);
    for (int64_t i = 0; i < n; i++) x[i] = nt_softmax_scale(x[i], inv);
}
