#ifndef STRATA_CMPI_SHIM_H
#define STRATA_CMPI_SHIM_H
// Open MPI's C interface (found through pkg-config `ompi-c`). MPI's predefined handles are macros over
// addresses of library globals, which Swift cannot import, so they are exposed as functions.
#include <mpi.h>

static inline MPI_Comm strata_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype strata_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype strata_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype strata_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype strata_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op strata_mpi_sum(void) { return MPI_SUM; }
static inline void *strata_mpi_in_place(void) { return MPI_IN_PLACE; }
#endif
