// Which instruction-set levels this CPU and OS run: CPUID for the features, XGETBV for the register state
// the OS saves on a context switch (a CPU with AVX-512 under an OS that does not save the zmm registers
// must not run AVX-512 code).
#include "strata_isa.h"

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/// The highest supported level, from CPUID leaves 1 and 7 and XCR0.
static StrataISA detect(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return STRATA_ISA_BASELINE;
    const int osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1, fma = (ecx >> 12) & 1;
    if (!osxsave || !avx || !fma) return STRATA_ISA_BASELINE;
    const uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return STRATA_ISA_BASELINE;             // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return STRATA_ISA_BASELINE;
    if (!((ebx >> 5) & 1)) return STRATA_ISA_BASELINE;                 // AVX2
    const int f = (ebx >> 16) & 1, dq = (ebx >> 17) & 1, bw = (ebx >> 30) & 1, vl = (ebx >> 31) & 1;
    if (f && dq && bw && vl && (xcr0 & 0xE6) == 0xE6) return STRATA_ISA_AVX512;  // + opmask, ZMM state
    return STRATA_ISA_AVX2;
}
#else
static StrataISA detect(void) { return STRATA_ISA_BASELINE; }
#endif

int strata_isa_is_supported(StrataISA isa) {
    static int best = -1;  // racing first calls compute and store the same value
    int level = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (level < 0) {
        level = (int)detect();
        __atomic_store_n(&best, level, __ATOMIC_RELAXED);
    }
    return (int)isa >= 0 && (int)isa <= level;
}
