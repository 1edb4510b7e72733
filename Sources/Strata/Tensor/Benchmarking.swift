/// Hooks for the `dlbench` harness. Underscored: they exist to measure the library, not to build on.
extension Strata {
    /// `C ← A · B` by one raw `cblas_sgemm` into a preallocated `C`, bypassing `matmul`'s wrapper:
    /// `[M, K] · [K, N] → [M, N]`, all three contiguous Float32 matrices.
    ///
    /// `dlbench` times this beside `matmul` in the same run to report the wrapper's overhead
    /// (`raw_cblas_ratio`), between `_setOpenBLASThreads(Strata.threads)` and `_setOpenBLASThreads(1)` (untimed):
    /// on OpenBLAS's own threads, where `matmul` splits the product over Strata's pool, so the ratio shows what
    /// that split costs or saves.
    public static func _rawSgemm(_ a: Tensor, _ b: Tensor, into c: Tensor) {
        require(a.rank == 2 && b.rank == 2 && c.rank == 2 && a.shape[1] == b.shape[0]
                     && c.shape == [a.shape[0], b.shape[1]],
                     "_rawSgemm: shapes \(a.shape) · \(b.shape) → \(c.shape) do not match [M, K] · [K, N] → [M, N]")
        require(a.dtype == .float32 && b.dtype == .float32 && c.dtype == .float32,
                     "_rawSgemm: needs float32, got \(a.dtype), \(b.dtype), \(c.dtype)")
        require(a.isContiguous && b.isContiguous && c.isContiguous,
                     "_rawSgemm: operands of shapes \(a.shape), \(b.shape), \(c.shape) must be contiguous")
        // [M, K] · [K, N] → [M, N]
        BLAS.rawSgemm(m: a.shape[0], n: b.shape[1], k: a.shape[1],
                      a: a.pointer(Float.self), b: b.pointer(Float.self), c: c.pointer(Float.self))
    }

    /// Sets OpenBLAS's own thread count, 1 to `maximumThreads`. Strata keeps it at 1 and splits large products
    /// over its pool instead; only `dlbench` raises it, around each timed `_rawSgemm`, and sets 1 again after.
    public static func _setOpenBLASThreads(_ count: Int) {
        require((1...maximumThreads).contains(count), "_setOpenBLASThreads: must be from 1 to \(maximumThreads), got \(count)")
        BLAS.setOpenBLASThreads(count)
    }
}
