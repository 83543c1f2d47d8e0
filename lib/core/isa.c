/*
 * Which instruction set the kernels run with. A CPU feature bit is not
 * enough: the OS must also save the wider register state on context
 * switches, which XCR0 (read with xgetbv) reports. The choice is made once,
 * lazily, and can be overridden by NEXTTOK_ISA or, in tests, nt_isa_force.
 */
#include "core/isa.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__x86_64__) || defined(__i386__)
#  include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#  include <sys/auxv.h>
#  ifndef HWCAP_ASIMDDP
#    define HWCAP_ASIMDDP (1 << 20)
#  endif
#endif

static const char *const nt_isa_names[NT_ISA_COUNT] = {
    [NT_ISA_SCALAR] = "scalar",
    [NT_ISA_AVX2] = "avx2",
    [NT_ISA_AVX512] = "avx512",
    [NT_ISA_NEON] = "neon",
};

const char *nt_isa_name(nt_isa isa)
{
    if ((unsigned)isa >= NT_ISA_COUNT) return "unknown";
    return nt_isa_names[isa];
}

#if defined(__x86_64__) || defined(__i386__)

static uint64_t nt_xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Bit masks of the x86 features we detect, computed once. */
enum { NT_X86_AVX2 = 1, NT_X86_AVX512 = 2 };

static unsigned nt_x86_detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const bool osxsave = c & (1u << 27);
    const bool avx = c & (1u << 28);
    const bool fma = c & (1u << 12);
    const bool f16c = c & (1u << 29);
    if (!osxsave || !avx) return 0;

    const uint64_t xcr0 = nt_xgetbv0();
    const bool os_avx = (xcr0 & 0x6) == 0x6;      /* XMM and YMM state */
    const bool os_avx512 = (xcr0 & 0xe6) == 0xe6; /* + opmask, ZMM_Hi256, Hi16_ZMM */
    if (!os_avx) return 0;

    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const bool avx2 = b & (1u << 5);
    const bool avx512f = b & (1u << 16);
    const bool avx512bw = b & (1u << 30);
    const bool avx512vl = b & (1u << 31);

    unsigned feats = 0;
    if (avx2 && fma && f16c) feats |= NT_X86_AVX2;
    /* The AVX-512 kernels also use F16C-width conversions and FMA. */
    if ((feats & NT_X86_AVX2) && os_avx512 && avx512f && avx512bw && avx512vl)
        feats |= NT_X86_AVX512;
    return feats;
}

#endif

/* The dot-product extension of each ISA, read from the CPU. */
static bool nt_dot_ext_detect(nt_isa isa)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid_max(0, NULL) < 7) return false;
    if (isa == NT_ISA_AVX2) /* AVX-VNNI: leaf 7 subleaf 1, eax bit 4 */
        return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4));
    if (isa == NT_ISA_AVX512) /* AVX512-VNNI: leaf 7 subleaf 0, ecx bit 11 */
        return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 11));
#elif defined(__aarch64__) && defined(__linux__)
    if (isa == NT_ISA_NEON) return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    (void)isa;
    return false;
}

bool nt_isa_has_dot_ext(nt_isa isa)
{
    static _Atomic int cached[NT_ISA_COUNT] = {-1, -1, -1, -1};
    if ((unsigned)isa >= NT_ISA_COUNT) return false;
    int v = atomic_load_explicit(&cached[isa], memory_order_relaxed);
    if (v < 0) atomic_store_explicit(&cached[isa], v = nt_dot_ext_detect(isa), memory_order_relaxed);
    return v != 0;
}

bool nt_isa_supported(nt_isa isa)
{
    switch (isa) {
    case NT_ISA_SCALAR: return true;
#if defined(__x86_64__) && !defined(NT_NO_ISA_KERNELS) /* a scalar-only build has no others */
    case NT_ISA_AVX2: {
        static _Atomic int cached = -1;
        int v = atomic_load_explicit(&cached, memory_order_relaxed);
        if (v < 0) atomic_store_explicit(&cached, v = (int)nt_x86_detect(), memory_order_relaxed);
        return (v & NT_X86_AVX2) != 0;
    }
    case NT_ISA_AVX512: {
        static _Atomic int cached = -1;
        int v = atomic_load_explicit(&cached, memory_order_relaxed);
        if (v < 0) atomic_store_explicit(&cached, v = (int)nt_x86_detect(), memory_order_relaxed);
        return (v & NT_X86_AVX512) != 0;
    }
#endif
#if defined(__aarch64__) && !defined(NT_NO_ISA_KERNELS)
    /* Advanced SIMD is mandatory in AArch64. */
    case NT_ISA_NEON: return true;
#endif
    default: return false;
    }
}

static nt_isa nt_isa_best(void)
{
    for (int i = NT_ISA_COUNT - 1; i > NT_ISA_SCALAR; i--)
        if (nt_isa_supported((nt_isa)i)) return (nt_isa)i;
    return NT_ISA_SCALAR;
}

/* The environment's choice, when it names a supported ISA; otherwise the best. */
static nt_isa nt_isa_initial(void)
{
    const char *env = getenv("NEXTTOK_ISA");
    if (env && *env) {
        for (int i = 0; i < NT_ISA_COUNT; i++)
            if (strcasecmp(env, nt_isa_names[i]) == 0 && nt_isa_supported((nt_isa)i))
                return (nt_isa)i;
    }
    return nt_isa_best();
}

static _Atomic int nt_isa_current = -1;
static _Thread_local int nt_isa_thread = -1;

int nt_isa_thread_set(int isa)
{
    const int prev = nt_isa_thread;
    nt_isa_thread = isa >= 0 && isa < NT_ISA_COUNT ? isa : -1;
    return prev;
}

nt_isa nt_isa_active(void)
{
    if (nt_isa_thread >= 0) return (nt_isa)nt_isa_thread;
    return nt_isa_process();
}

nt_isa nt_isa_process(void)
{
    int v = atomic_load_explicit(&nt_isa_current, memory_order_relaxed);
    if (v < 0) {
        int expected = -1;
        int want = (int)nt_isa_initial();
        /* A concurrent nt_isa_force wins over the lazy default. */
        if (!atomic_compare_exchange_strong(&nt_isa_current, &expected, want)) return (nt_isa)expected;
        v = want;
    }
    return (nt_isa)v;
}

/* The CPU's vendor string is "AuthenticAMD" or "HygonGenuine" (Zen). */
static bool nt_cpu_is_amd(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
    char v[13];
    memcpy(v, &b, 4);
    memcpy(v + 4, &d, 4);
    memcpy(v + 8, &c, 4);
    v[12] = 0;
    return strcmp(v, "AuthenticAMD") == 0 || strcmp(v, "HygonGenuine") == 0;
#else
    return false;
#endif
}

int nt_isa_prefetch_bytes(void)
{
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        v = nt_cpu_is_amd() ? 8192 : NT_PREFETCH_NEAR_BYTES;
        const char *env = getenv("NEXTTOK_PREFETCH_BYTES");
        if (env && *env) {
            char *end = NULL;
            const long e = strtol(env, &end, 10);
            if (end && *end == 0 && e >= 64 && e <= 65536) v = (int)e;
        }
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

bool nt_isa_force(nt_isa isa)
{
    if ((unsigned)isa >= NT_ISA_COUNT || !nt_isa_supported(isa)) return false;
    atomic_store_explicit(&nt_isa_current, (int)isa, memory_order_relaxed);
    return true;
}
