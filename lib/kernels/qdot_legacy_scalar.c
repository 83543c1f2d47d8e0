/*
 * Fast-mode dots of the 32-wide weight types in plain C: the definition of
 * the result (qdot_legacy.h), one block at a time in order.
 */
#include "kernels/qdot_legacy.h"

#define NT_DEFINE_QDOT_SCALAR(name, T)                                                         \
    float nt_vec_dot_q_##name##_scalar(int64_t n, const void *w, const void *xq)               \
    {                                                                                          \
        float acc = 0.0f;                                                                      \
        nt_ql_blocks_scalar(T, 0, n / NT_QK32, w, xq, 0, 1, &acc);                             \
        return acc;                                                                            \
    }                                                                                          \
    void nt_dotk_q_##name##_scalar(int64_t n, const void *w, const void *xq, size_t xq_stride, \
                                   int k, float *out)                                          \
    {                                                                                          \
        float acc[NT_DOTK_Q_MAX] = {0};                                                        \
        nt_ql_blocks_scalar(T, 0, n / NT_QK32, w, xq, xq_stride, k, acc);                      \
        for (int t = 0; t < k; t++) out[t] = acc[t];                                           \
    }

NT_DEFINE_QDOT_SCALAR(q4_0, NT_QL_Q4_0)
NT_DEFINE_QDOT_SCALAR(q4_1, NT_QL_Q4_1)
NT_DEFINE_QDOT_SCALAR(q5_0, NT_QL_Q5_0)
NT_DEFINE_QDOT_SCALAR(q5_1, NT_QL_Q5_1)
NT_DEFINE_QDOT_SCALAR(q8_0, NT_QL_Q8_0)
