/* Reference quantizers (see quantize.h). Q8_0: d = max|x| / 127, q =
 * round(x / d). Q4_0: d = m / -8 where m is the value of largest
 * magnitude (so it maps to -8 exactly), q = clamp(trunc(x / d + 8.5), 15). */
#include "support/quantize.h"

#include <math.h>
#include <string.h>

#include "types/types.h"

size_t nt_test_quant_bytes(uint32_t type, int64_t n)
{
    const size_t blocks = (size_t)(n / 32);
    return type == NT_TYPE_Q8_0 ? blocks * 34 : type == NT_TYPE_Q4_0 ? blocks * 18 : 0;
}

static void put_f16(unsigned char *p, float v)
{
    uint16_t h = nt_fp32_to_fp16(v);
    p[0] = (unsigned char)h;
    p[1] = (unsigned char)(h >> 8);
}

bool nt_test_quantize(uint32_t type, const float *x, int64_t n, unsigned char *out)
{
    if ((type != NT_TYPE_Q8_0 && type != NT_TYPE_Q4_0) || n % 32 != 0) return false;
    for (int64_t b = 0; b < n / 32; b++) {
        const float *v = x + 32 * b;
        if (type == NT_TYPE_Q8_0) {
            unsigned char *o = out + 34 * b;
            float amax = 0.0f;
            for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(v[i]));
            const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
            put_f16(o, d);
            for (int i = 0; i < 32; i++) o[2 + i] = (unsigned char)(int8_t)lroundf(v[i] * id);
        } else {
            unsigned char *o = out + 18 * b;
            float amax = 0.0f, m = 0.0f;
            for (int i = 0; i < 32; i++)
                if (fabsf(v[i]) > amax) {
                    amax = fabsf(v[i]);
                    m = v[i];
                }
            const float d = m / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
            put_f16(o, d);
            for (int i = 0; i < 16; i++) {
                int q0 = (int)(v[i] * id + 8.5f), q1 = (int)(v[i + 16] * id + 8.5f);
                q0 = q0 > 15 ? 15 : q0 < 0 ? 0 : q0;
                q1 = q1 > 15 ? 15 : q1 < 0 ? 0 : q1;
                o[2 + i] = (unsigned char)(q0 | q1 << 4);
            }
        }
    }
    return true;
}
