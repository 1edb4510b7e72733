import COpenBLAS

/// The only door to OpenBLAS and LAPACKE. Everything above this file calls these Swift functions over
/// buffer pointers and never sees a CBLAS symbol.
///
/// All matrices are row-major. `lda`, `ldb` and `ldc` are leading dimensions in elements: the distance
/// between two consecutive rows of the matrix *as stored* (before the transpose flag is applied).
enum BLAS {
    /// OpenBLAS runs every call on the calling thread: set once, before the first call through this file.
    ///
    /// Its own worker threads would spin-yield after each threaded call (for `OPENBLAS_THREAD_TIMEOUT`, 2^28
    /// cycles by default, read only when the library loads) on the very cores Strata's pool needs for the loops
    /// between the products: in `dlbench --threads 2 --only cnn` that was 11% of the samples in `sched_yield`. So
    /// one pool runs everything: large products are split over Strata's pool by `gemm` below, each part one
    /// single-threaded OpenBLAS call, as PyTorch runs MKL and its own loops on one OpenMP team.
    /// Every wrapper below reads it first, and so does `KernelThreads` when it is first read.
    static let singleThreaded: Void = { openblas_set_num_threads(1) }()

    /// Products of at most this many multiply-adds (`m·n·k`) run on one thread: OpenBLAS 0.3.21's own threshold
    /// (`SMP_THRESHOLD_MIN · GEMM_MULTITHREAD_THRESHOLD` in interface/gemm.c, 65536 · 4), square N ≤ 64.
    /// Measured with OpenBLAS threading on the 2-core machine, `dlbench --threads 1|2 --only gemm48,…,gemm192`:
    /// N=64 13.9 vs 13.4 µs, N=80 20.4 vs 17.7, N=128 58.7 vs 48.0, N=192 208 vs 123 (1 vs 2 threads).
    static let splitThreshold = 262_144.0

    /// The output columns (or rows) each part of a split product gets a multiple of: the width of OpenBLAS's
    /// AVX-512 sgemm micro-tile, so no part ends in a partial tile the whole product would not have had.
    static let splitAlignment = 16

    /// OpenBLAS's build description, for example `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64`.
    static var configuration: String {
        guard let config = openblas_get_config() else { return "OpenBLAS (unknown configuration)" }
        return String(cString: config)
    }

    /// The raw `cblas_sgemm`, exposed only so that `dlbench` can measure the wrapper against it.
    static func rawSgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(n), 0, c, Int32(n))
    }

    /// Lets OpenBLAS run its own `count` threads (1 restores `singleThreaded`), only so that `dlbench` can time
    /// raw `cblas_sgemm` on OpenBLAS's threading beside `gemm`'s split.
    static func setOpenBLASThreads(_ count: Int) {
        _ = singleThreaded
        openblas_set_num_threads(Int32(count))
    }
}

/// The element types BLAS works on. `Float` and `Double` map to the `s` and `d` routines.
protocol BLASScalar: BinaryFloatingPoint {
    /// One single-threaded `?gemm` call: `C ← alpha · op(A) · op(B) + beta · C`, with `op(A)` of shape `[m, k]`
    /// and `op(B)` of shape `[k, n]`. Call `gemm`, which splits large products over the pool.
    static func gemmCall(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// `y ← alpha · op(A) · x + beta · y`, with `A` stored as `[m, n]`.
    static func gemv(transposeA: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
                     x: UnsafePointer<Self>, incx: Int, beta: Self, y: UnsafeMutablePointer<Self>, incy: Int)
    /// `y ← alpha · x + y` over `count` elements.
    static func axpy(count: Int, alpha: Self, x: UnsafePointer<Self>, incx: Int, y: UnsafeMutablePointer<Self>, incy: Int)
    /// `Σ x[i] · y[i]`.
    static func dot(count: Int, x: UnsafePointer<Self>, incx: Int, y: UnsafePointer<Self>, incy: Int) -> Self
    /// QR factorisation of a row-major `[m, n]` matrix in place, returning the Householder scalars (`?geqrf`).
    static func geqrf(m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int, tau: UnsafeMutablePointer<Self>) -> Int
    /// Forms the explicit `[m, n]` Q from `geqrf`'s output, in place (`?orgqr`).
    static func orgqr(m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Self>, lda: Int, tau: UnsafePointer<Self>) -> Int
}

@inline(__always)
private func cblasTranspose(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension BLASScalar {
    /// `C ← alpha · op(A) · op(B) + beta · C`, with `op(A)` of shape `[m, k]` and `op(B)` of shape `[k, n]`.
    ///
    /// Above `BLAS.splitThreshold` multiply-adds, and with more than one thread, the output is split into
    /// `Strata.threads` parts along its longer side (columns when `n ≥ m`), in multiples of
    /// `BLAS.splitAlignment`, and each part is one OpenBLAS call on a thread of the pool. The parts share no
    /// output and each runs the whole `k` sum in OpenBLAS's order, so the result is the one-thread result.
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int) {
        _ = BLAS.singleThreaded
        let threads = KernelThreads.current, side = max(m, n)
        let tiles = (side + BLAS.splitAlignment - 1) / BLAS.splitAlignment
        guard threads > 1, tiles > 1, Double(m) * Double(n) * Double(k) > BLAS.splitThreshold else {
            gemmCall(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                     a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let columns = n >= m
        parallelChunks(tiles, chunks: threads) { part in
            let first = part.lowerBound * BLAS.splitAlignment, count = min(part.upperBound * BLAS.splitAlignment, side) - first
            if columns {
                // C[:, first..<first+count] = op(A) · op(B)[:, first..<first+count]
                gemmCall(transposeA: transposeA, transposeB: transposeB, m: m, n: count, k: k, alpha: alpha,
                         a: a, lda: lda, b: b + (transposeB ? first * ldb : first), ldb: ldb, beta: beta, c: c + first, ldc: ldc)
            } else {
                // C[first..<first+count, :] = op(A)[first..<first+count, :] · op(B)
                gemmCall(transposeA: transposeA, transposeB: transposeB, m: count, n: n, k: k, alpha: alpha,
                         a: a + (transposeA ? first : first * lda), lda: lda, b: b, ldb: ldb, beta: beta,
                         c: c + first * ldc, ldc: ldc)
            }
        }
    }
}

extension Float: BLASScalar {
    static func gemmCall(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    static func gemv(transposeA: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                     x: UnsafePointer<Float>, incx: Int, beta: Float, y: UnsafeMutablePointer<Float>, incy: Int) {
        _ = BLAS.singleThreaded
        cblas_sgemv(CblasRowMajor, cblasTranspose(transposeA), Int32(m), Int32(n), alpha, a, Int32(lda),
                    x, Int32(incx), beta, y, Int32(incy))
    }
    static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, incx: Int, y: UnsafeMutablePointer<Float>, incy: Int) {
        _ = BLAS.singleThreaded
        cblas_saxpy(Int32(count), alpha, x, Int32(incx), y, Int32(incy))
    }
    static func dot(count: Int, x: UnsafePointer<Float>, incx: Int, y: UnsafePointer<Float>, incy: Int) -> Float {
        _ = BLAS.singleThreaded
        return cblas_sdot(Int32(count), x, Int32(incx), y, Int32(incy))
    }
    static func geqrf(m: Int, n: Int, a: UnsafeMutablePointer<Float>, lda: Int, tau: UnsafeMutablePointer<Float>) -> Int {
        _ = BLAS.singleThreaded
        return Int(LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a, Int32(lda), tau))
    }
    static func orgqr(m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Float>, lda: Int, tau: UnsafePointer<Float>) -> Int {
        _ = BLAS.singleThreaded
        return Int(LAPACKE_sorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), a, Int32(lda), tau))
    }
}

extension Double: BLASScalar {
    static func gemmCall(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                     a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                     beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    static func gemv(transposeA: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
                     x: UnsafePointer<Double>, incx: Int, beta: Double, y: UnsafeMutablePointer<Double>, incy: Int) {
        _ = BLAS.singleThreaded
        cblas_dgemv(CblasRowMajor, cblasTranspose(transposeA), Int32(m), Int32(n), alpha, a, Int32(lda),
                    x, Int32(incx), beta, y, Int32(incy))
    }
    static func axpy(count: Int, alpha: Double, x: UnsafePointer<Double>, incx: Int, y: UnsafeMutablePointer<Double>, incy: Int) {
        _ = BLAS.singleThreaded
        cblas_daxpy(Int32(count), alpha, x, Int32(incx), y, Int32(incy))
    }
    static func dot(count: Int, x: UnsafePointer<Double>, incx: Int, y: UnsafePointer<Double>, incy: Int) -> Double {
        _ = BLAS.singleThreaded
        return cblas_ddot(Int32(count), x, Int32(incx), y, Int32(incy))
    }
    static func geqrf(m: Int, n: Int, a: UnsafeMutablePointer<Double>, lda: Int, tau: UnsafeMutablePointer<Double>) -> Int {
        _ = BLAS.singleThreaded
        return Int(LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a, Int32(lda), tau))
    }
    static func orgqr(m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Double>, lda: Int, tau: UnsafePointer<Double>) -> Int {
        _ = BLAS.singleThreaded
        return Int(LAPACKE_dorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), a, Int32(lda), tau))
    }
}
