import COpenBLAS

/// The only door to OpenBLAS and LAPACKE. Everything above this file calls these Swift functions over
/// buffer pointers and never sees a CBLAS symbol.
///
/// All matrices are row-major. `lda`, `ldb` and `ldc` are leading dimensions in elements: the distance
/// between two consecutive rows of the matrix *as stored* (before the transpose flag is applied).
enum BLAS {
    /// Sets the number of threads OpenBLAS uses for the next calls.
    ///
    /// No small-product policy of our own on top (OpenBLAS issue 4387: small gemms on 2 threads can be
    /// slower than on 1). OpenBLAS 0.3.21 already runs a gemm on one thread when M·N·K ≤ 65536 · 4 = 262144
    /// (`SMP_THRESHOLD_MIN · GEMM_MULTITHREAD_THRESHOLD` in interface/gemm.c), i.e. square N ≤ 64. Measured
    /// with `dlbench --threads 1|2 --only gemm48,…,gemm192 --steps 4000` on the 2-core machine, median µs of
    /// 5 rounds, one of them with the other core busy: N=64 13.9 vs 13.4 (both one thread), N=72 17.3 vs 17.4, N=80 20.4 vs 17.7,
    /// N=96 26.6 vs 24.1, N=128 58.7 vs 48.0, N=192 208 vs 123 (1 vs 2 threads). So just above OpenBLAS's
    /// threshold two threads tie and from N=80 they win: forcing one thread below any larger threshold would
    /// gain nothing on an idle machine. Two threads lose (up to 2×) only when another process holds the
    /// second core, which no size threshold can see.
    static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(count))
    }

    /// OpenBLAS's build description, for example `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64`.
    static var configuration: String {
        guard let config = openblas_get_config() else { return "OpenBLAS (unknown configuration)" }
        return String(cString: config)
    }

    /// The raw `cblas_sgemm`, exposed only so that `dlbench` can measure the wrapper's overhead against it.
    static func rawSgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(n), 0, c, Int32(n))
    }
}

/// The element types BLAS works on. `Float` and `Double` map to the `s` and `d` routines.
protocol BLASScalar: BinaryFloatingPoint {
    /// `C ← alpha · op(A) · op(B) + beta · C`, with `op(A)` of shape `[m, k]` and `op(B)` of shape `[k, n]`.
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Self,
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

extension Float: BLASScalar {
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    static func gemv(transposeA: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                     x: UnsafePointer<Float>, incx: Int, beta: Float, y: UnsafeMutablePointer<Float>, incy: Int) {
        cblas_sgemv(CblasRowMajor, cblasTranspose(transposeA), Int32(m), Int32(n), alpha, a, Int32(lda),
                    x, Int32(incx), beta, y, Int32(incy))
    }
    static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, incx: Int, y: UnsafeMutablePointer<Float>, incy: Int) {
        cblas_saxpy(Int32(count), alpha, x, Int32(incx), y, Int32(incy))
    }
    static func dot(count: Int, x: UnsafePointer<Float>, incx: Int, y: UnsafePointer<Float>, incy: Int) -> Float {
        cblas_sdot(Int32(count), x, Int32(incx), y, Int32(incy))
    }
    static func geqrf(m: Int, n: Int, a: UnsafeMutablePointer<Float>, lda: Int, tau: UnsafeMutablePointer<Float>) -> Int {
        Int(LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a, Int32(lda), tau))
    }
    static func orgqr(m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Float>, lda: Int, tau: UnsafePointer<Float>) -> Int {
        Int(LAPACKE_sorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), a, Int32(lda), tau))
    }
}

extension Double: BLASScalar {
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                     a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                     beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    static func gemv(transposeA: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
                     x: UnsafePointer<Double>, incx: Int, beta: Double, y: UnsafeMutablePointer<Double>, incy: Int) {
        cblas_dgemv(CblasRowMajor, cblasTranspose(transposeA), Int32(m), Int32(n), alpha, a, Int32(lda),
                    x, Int32(incx), beta, y, Int32(incy))
    }
    static func axpy(count: Int, alpha: Double, x: UnsafePointer<Double>, incx: Int, y: UnsafeMutablePointer<Double>, incy: Int) {
        cblas_daxpy(Int32(count), alpha, x, Int32(incx), y, Int32(incy))
    }
    static func dot(count: Int, x: UnsafePointer<Double>, incx: Int, y: UnsafePointer<Double>, incy: Int) -> Double {
        cblas_ddot(Int32(count), x, Int32(incx), y, Int32(incy))
    }
    static func geqrf(m: Int, n: Int, a: UnsafeMutablePointer<Double>, lda: Int, tau: UnsafeMutablePointer<Double>) -> Int {
        Int(LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a, Int32(lda), tau))
    }
    static func orgqr(m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Double>, lda: Int, tau: UnsafePointer<Double>) -> Int {
        Int(LAPACKE_dorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), a, Int32(lda), tau))
    }
}
