#ifndef STRATA_CZLIB_SHIM_H
#define STRATA_CZLIB_SHIM_H
// zlib (found through pkg-config `zlib`), used only to inflate gzipped dataset files.
#include <zlib.h>
#endif
