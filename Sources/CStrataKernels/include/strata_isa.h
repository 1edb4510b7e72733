// The instruction-set levels CStrataKernels compiles its kernels for, and which of them this CPU runs.
#ifndef STRATA_ISA_H
#define STRATA_ISA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A level of the x86-64 instruction set (on other CPUs only `STRATA_ISA_BASELINE`, the portable build).
typedef enum StrataISA {
    STRATA_ISA_BASELINE = 0,  ///< x86-64 with SSE2 (4 Float32 lanes); the portable build elsewhere.
    STRATA_ISA_AVX2 = 1,      ///< AVX2 with FMA (8 lanes).
    STRATA_ISA_AVX512 = 2,    ///< AVX-512 F, BW, VL and DQ, with FMA (16 lanes).
} StrataISA;

/// 1 when this CPU and its operating system run code of level `isa` (CPUID feature bits, and the register
/// state the OS saves, read with XGETBV), else 0. The answer is computed once.
int strata_isa_is_supported(StrataISA isa);

#ifdef __cplusplus
}
#endif

#endif
