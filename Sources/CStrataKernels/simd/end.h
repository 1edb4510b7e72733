// Closes a kernel translation unit opened with begin.h.
#if STRATA_LEVEL != STRATA_LEVEL_BASELINE
#pragma clang attribute pop
#endif
