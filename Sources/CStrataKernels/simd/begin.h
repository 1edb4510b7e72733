// Opens a kernel translation unit for one instruction-set level. Before including it, define STRATA_LEVEL
// as STRATA_LEVEL_BASELINE, STRATA_LEVEL_AVX2 or STRATA_LEVEL_AVX512; after the family's `.inc`, include
// "end.h". Every function defined in between is compiled for that level (clang's target attribute applied
// by pragma: no compiler flags), and sees:
//   STRATA_W          Float32 lanes per vector (4, 8, 16)
//   STRATA_HAS_FMA    1 where fused multiply-add is an instruction of the level
//   STRATA_TABLE(f)   the name of family f's table for this level: strata_<f>_<level>
//   vf, vi, vu        vectors of STRATA_W floats, int32s and uint32s, with the helpers of vector.h and the
//                     math of vecmath.h
#include <stddef.h>
#include <stdint.h>

#define STRATA_LEVEL_BASELINE 0
#define STRATA_LEVEL_AVX2 1
#define STRATA_LEVEL_AVX512 2

#if STRATA_LEVEL == STRATA_LEVEL_BASELINE
#define STRATA_W 4
#if defined(__x86_64__)
#define STRATA_HAS_FMA 0
#else
#define STRATA_HAS_FMA 1  // arm64: fused multiply-add is part of the base instruction set
#endif
#define STRATA_TABLE(family) strata_##family##_baseline
#elif STRATA_LEVEL == STRATA_LEVEL_AVX2
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define STRATA_W 8
#define STRATA_HAS_FMA 1
#define STRATA_TABLE(family) strata_##family##_avx2
#elif STRATA_LEVEL == STRATA_LEVEL_AVX512
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))), apply_to = function)
#define STRATA_W 16
#define STRATA_HAS_FMA 1
#define STRATA_TABLE(family) strata_##family##_avx512
#else
#error "STRATA_LEVEL must be STRATA_LEVEL_BASELINE, STRATA_LEVEL_AVX2 or STRATA_LEVEL_AVX512"
#endif

// Only explicit fmadd() fuses, so a level's rounding does not depend on what the optimiser contracts.
#pragma clang fp contract(off)

#include "vector.h"
#include "vecmath.h"
