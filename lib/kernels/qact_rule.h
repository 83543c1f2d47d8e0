/*
 * The scale rule of the activation quantizers (qdot.h), shared by every
 * ISA's quantizer so all give bitwise the same blocks:
 *   d = amax / 127;  id = d != 0 ? 1 / d : 0;  q_i = nearest-even(x_i * id).
 * One case qdot.h leaves open: for amax below about 3.7e-37, d is a
 * subnormal whose reciprocal overflows to infinity, and x_i * id would be
 * infinite (or NaN for x_i = 0). There id is 0 as well: the block quantizes
 * to zeros (its values are below 3.7e-37 in magnitude) and keeps its d.
 * The values must be finite: an infinity or NaN gives blocks that differ
 * between ISAs (the SIMD maxima order NaNs differently, and inf * 0 has no
 * nearest integer).
 */
#ifndef NT_KERNELS_QACT_RULE_H
#define NT_KERNELS_QACT_RULE_H

#include <float.h>

static inline float nt_qact_d(float amax) { return amax / 127.0f; }

static inline float nt_qact_id(float d)
{
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    return id <= FLT_MAX ? id : 0.0f;
}

#endif
