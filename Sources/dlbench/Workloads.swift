import Strata

/// The workloads `--only` can name. Model workloads (mlp, cnn, …) join `named` as they land.
enum Registry {
    /// The sizes `reference_torch.py`'s `gemm` runs; `gemm` in `--only` means all of them.
    static let standardGemmSizes = [128, 256, 512, 1024, 2048]

    /// Names that stand for several workloads.
    static let groups: [String: [String]] = ["gemm": standardGemmSizes.map { "gemm\($0)" }]

    static let named: [String: @Sendable () -> Workload] = [
        "add": Workloads.add, "mlp": Workloads.mlp, "cnn": Workloads.cnn, "cifar": Workloads.cifar,
        "lstm": Workloads.lstm, "transformer": Workloads.transformer, "tiny": Workloads.tiny,
    ]

    /// What runs without `--only`: the standard workloads in reference_torch.py's order, then `tiny`.
    static let defaultSelection = "gemm,mlp,cnn,cifar,lstm,transformer,tiny"

    /// For help and error messages.
    static let description = "gemm (= gemm128,…,gemm2048), gemmN for any N in 1…16384, "
        + named.keys.sorted().joined(separator: ", ")

    /// The factory for a single workload name (not a group), or nil if there is none.
    static func workload(named name: String) -> (@Sendable () -> Workload)? {
        if let make = named[name] { return make }
        if name.hasPrefix("gemm"), let n = Int(name.dropFirst(4)), (1...16_384).contains(n) {
            return { Workloads.gemm(n) }
        }
        return nil
    }
}

/// The workload definitions. Shapes and FLOP counts follow shared/bench/WORKLOADS.md and reference_torch.py.
enum Workloads {
    /// `C = A · B` for two random N×N Float32 matrices through `matmul` (`[N, N] · [N, N] → [N, N]`),
    /// against raw `cblas_sgemm` into a preallocated C on OpenBLAS's own threads (as many as Strata's), where
    /// `matmul` splits the product over Strata's pool. Times max(3, steps/4) products, as reference_torch.py.
    static func gemm(_ n: Int) -> Workload {
        let a = Tensor.normal([n, n]), b = Tensor.normal([n, n])
        let c = Tensor.zeros([n, n])
        return Workload(name: "gemm\(n)", batch: 1, steps: [
            Step(mode: .infer, flops: 2 * Double(n) * Double(n) * Double(n),
                 timedSteps: { max(3, $0 / 4) },
                 run: { withNoGrad { _ = a.matmul(b) } },
                 baseline: (name: "raw_cblas", run: { Strata._rawSgemm(a, b, into: c) }),
                 baselineSetting: ({ Strata._setOpenBLASThreads(Strata.threads) }, { Strata._setOpenBLASThreads(1) })),
        ])
    }

    /// Elements of each `add` operand: 4M Float32, 16 MiB per tensor, well past the last-level cache.
    static let addCount = 4 << 20

    /// `c = a + b` elementwise on two contiguous 4M-element Float32 tensors. One add per element;
    /// `gb_per_s` counts the bytes moved, two reads and one write: 3 · 4M · 4 bytes per step.
    static func add() -> Workload {
        let a = Tensor.normal([addCount]), b = Tensor.normal([addCount])
        let bytes = 3 * Double(addCount) * Double(MemoryLayout<Float>.size)
        return Workload(name: "add", batch: 1, steps: [
            Step(mode: .infer, flops: Double(addCount),
                 run: { withNoGrad { _ = a + b } },
                 extras: { seconds in [("gb_per_s", .double(rounded(bytes / seconds / 1e9, 2)))] }),
        ])
    }
}
