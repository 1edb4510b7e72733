import CStrataKernels

/// 2×2 max pooling at stride 2 over contiguous `[P, H, W]` planes, Float32, at the full width of the level in
/// use (Sources/CStrataKernels/pooling). `Tensor.maxPool2d` runs `MaxPool2d(2)` on Float32 through it, split
/// by planes across threads; other
/// windows and Float64 take the general loop in Ops/Pooling.swift, which picks the same elements.
struct PoolingKernels: Equatable {
    let isa: KernelISA
    private let table: StrataPoolingKernels

    /// The table of `isa`, or nil when this CPU does not run that level.
    init?(for isa: KernelISA) {
        guard let table = strata_pooling_kernels(isa.cValue) else { return nil }
        self.isa = isa
        self.table = table.pointee
    }

    /// The table of the level in use (`Strata.instructionSet`).
    static let selected = PoolingKernels(for: KernelISA.selected)!

    static func == (a: PoolingKernels, b: PoolingKernels) -> Bool { a.isa == b.isa }

    /// Whether planes of `height × width` fit the kernel's 32-bit in-plane indices.
    static func fits(height: Int, width: Int) -> Bool {
        let (plane, overflow) = height.multipliedReportingOverflow(by: width)
        return !overflow && plane < Int(Int32.max)
    }

    /// `y [P, ⌊H/2⌋, ⌊W/2⌋]` and each maximum's flat index `h·W + w` in its plane (strata_max_pool_2x2), for the
    /// planes `planes` of contiguous `[P, H, W]` and `[P, ⌊H/2⌋, ⌊W/2⌋]` buffers. On the calling thread.
    func maxPool2x2(_ x: UnsafePointer<Float>, planes: Range<Int>, height: Int, width: Int,
                    into y: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int64>) {
        let (plane, outPlane) = (height * width, (height / 2) * (width / 2))
        table.max_pool_2x2(x + planes.lowerBound * plane, planes.count, height, width,
                           y + planes.lowerBound * outPlane, indices + planes.lowerBound * outPlane)
    }
}
