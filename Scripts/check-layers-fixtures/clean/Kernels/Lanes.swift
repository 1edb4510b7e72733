// A kernel over raw buffers. Comments and strings may name a Tensor or a Module: they are not uses.
struct Lanes {
    let message = "Tensor: the kernel's caller"
    func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float { (0..<n).reduce(0) { $0 + p[$1] } }
}
