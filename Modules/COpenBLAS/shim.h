#ifndef STRATA_COPENBLAS_SHIM_H
#define STRATA_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface (found through pkg-config `openblas`) and the LAPACKE C interface.
#include <cblas.h>
#include <lapacke.h>
#endif
