// STRATA_FAMILY_LOOKUP(family, Type) defines `const Type *strata_<family>_kernels(StrataISA isa)`: the table
// that <family>/baseline.c, avx2.c and avx512.c define for each level, or NULL for a level this CPU lacks.
#include "strata_isa.h"

#if defined(__x86_64__)
#define STRATA_FAMILY_LOOKUP(family, Type)                                                              \
    extern const Type strata_##family##_baseline, strata_##family##_avx2, strata_##family##_avx512;     \
    const Type *strata_##family##_kernels(StrataISA isa) {                                              \
        if (!strata_isa_is_supported(isa)) return NULL;                                                 \
        switch (isa) {                                                                                  \
        case STRATA_ISA_BASELINE: return &strata_##family##_baseline;                                   \
        case STRATA_ISA_AVX2: return &strata_##family##_avx2;                                           \
        case STRATA_ISA_AVX512: return &strata_##family##_avx512;                                       \
        }                                                                                               \
        return NULL;                                                                                    \
    }
#else
#define STRATA_FAMILY_LOOKUP(family, Type)                                                              \
    extern const Type strata_##family##_baseline;                                                       \
    const Type *strata_##family##_kernels(StrataISA isa) {                                              \
        return isa == STRATA_ISA_BASELINE ? &strata_##family##_baseline : NULL;                         \
    }
#endif
