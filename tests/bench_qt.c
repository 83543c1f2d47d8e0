/*
 * Throughput of the AVX-512 fast-mode kernels on the decode shapes (not a
 * test): packed (k = 1) and transposed (k tokens) activations against Q4_0
 * and Q8_0 rows, weights in L2 or in memory, one thread, in GMAC/s and GB/s.
 * Usage: bench_qt [seconds per case]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/isa.h"
#include "kernels/qdot.h"
#include "types/types.h"
#include "support/bench_clock.h"

static volatile float sink;

int main(int argc, char **argv)
{
#if defined(__x86_64__)
    const double budget = argc > 1 ? atof(argv[1]) : 0.5;
    if (!nt_isa_supported(NT_ISA_AVX512)) return 0;
    const size_t big = (size_t)(getenv("BENCH_QT_MIB") ? atoi(getenv("BENCH_QT_MIB")) : 64) << 20;
    unsigned char *data = malloc(big);
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < big; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        data[i] = (unsigned char)(s & 0x3b);
    }
    /* BENCH_QT_FILE: the memory set from that file's page-cache mapping
     * instead (4 KiB pages, as a model's weights are read) */
    const char *file = getenv("BENCH_QT_FILE");
    unsigned char *mdata = data;
    if (file) {
        const int fd = open(file, O_RDONLY);
        void *m = fd >= 0 ? mmap(NULL, big + ((size_t)1 << 20), PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
        if (m != MAP_FAILED) mdata = (unsigned char *)m + ((size_t)1 << 20);
        if (fd >= 0) close(fd);
    }
    const int ns[] = {2048, 5632};
    printf("%-5s %5s %2s %7s %8s %8s\n", "type", "n", "k", "set", "GMAC/s", "GB/s");
    for (int ty = 0; ty < 2; ty++) {
        const int bytes = ty ? 34 : 18, type = ty ? NT_TYPE_Q8_0 : NT_TYPE_Q4_0;
        for (int ni = 0; ni < 2; ni++) {
            const int n = ns[ni], nb = n / 32;
            const size_t stride = sizeof(nt_q8a_block) * (size_t)nb;
            float *x = malloc(sizeof(float) * (size_t)n * 8);
            unsigned char *xq = malloc(stride * 8), *xp = malloc(stride * 8), *xt = malloc(stride * 8);
            for (int i = 0; i < n * 8; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
            for (int u = 0; u < 8; u++) {
                nt_quantize_q8a_scalar(x + (size_t)u * n, xq + u * stride, n);
                nt_q8a_pack(xq + u * stride, xp + u * stride, nb);
                nt_q8a_pack_t(xq + u * stride, xt + u * stride, nb, nt_q8a_pack_t_smul(type));
            }
            const size_t row = (size_t)nb * (size_t)bytes;
            const int ks[] = {1, 4, 8};
            for (int ki = 0; ki < 3; ki++)
                for (int set = 0; set < 2; set++) {
                    const int k = ks[ki];
                    const size_t rows = (set ? big : (size_t)256 << 10) / row;
                    size_t reps = 0;
                    float out[8], acc = 0;
                    const double t0 = nt_bench_wall_s();
                    double el;
                    do {
                        for (size_t r = 0; r < rows; r++) {
                            const unsigned char *w = (set ? mdata : data) + r * row;
                            if (k == 1) {
                                if (ty) nt_dotk_qp_q8_0_avx512(n, w, xq, xp, stride, 1, out);
                                else nt_dotk_qp_q4_0_avx512(n, w, xq, xp, stride, 1, out);
                            } else if (ty) nt_dotk_qt_q8_0_avx512(n, w, xq, xt, stride, k, out);
                            else nt_dotk_qt_q4_0_avx512(n, w, xq, xt, stride, k, out);
                            acc += out[0];
                        }
                        reps++;
                    } while ((el = nt_bench_wall_s() - t0) < budget);
                    sink = acc;
                    printf("%-5s %5d %2d %7s %8.1f %8.1f\n", ty ? "q8_0" : "q4_0", n, k, set ? "mem" : "256KiB",
                           (double)rows * n * k * (double)reps / el * 1e-9, (double)(rows * row) * (double)reps / el * 1e-9);
                }
            free(x);
            free(xq);
            free(xp);
            free(xt);
        }
    }
    free(data);
#else
    (void)argc;
    (void)argv;
#endif
    return 0;
}
