// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Strata",
    products: [
        .library(name: "Strata", targets: ["Strata"]),
        // Data-parallel training over Open MPI; only users of this product need Open MPI installed.
        .library(name: "StrataDistributed", targets: ["StrataDistributed"]),
        .executable(name: "dltrain", targets: ["dltrain"]),
        .executable(name: "dlbench", targets: ["dlbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // OpenBLAS's cblas and LAPACKE. Imported only by Sources/Strata/Kernels/BLAS.swift (`make check-layers`).
        .systemLibrary(
            name: "COpenBLAS",
            path: "Modules/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        // zlib, for gzipped datasets. Imported only by Sources/Strata/Data/Gzip.swift.
        .systemLibrary(
            name: "CZlib",
            path: "Modules/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Open MPI's C interface. Imported only by Sources/StrataDistributed.
        .systemLibrary(
            name: "CMPI",
            path: "Modules/CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        // Float32 kernels in C, compiled for baseline x86-64, AVX2 and AVX-512 and chosen at run time (the
        // portable build only, elsewhere). Imported only by Sources/Strata/Kernels (`make check-layers`).
        .target(name: "CStrataKernels"),
        .target(
            name: "Strata",
            dependencies: [
                "CStrataKernels",
                "COpenBLAS",
                "CZlib",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        // Strata's ProcessGroup over MPI_COMM_WORLD.
        .target(name: "StrataDistributed", dependencies: ["Strata", "CMPI"]),
        // The command-line trainer: a thin layer over Sources/Strata/Training (data-parallel under mpirun).
        .executableTarget(
            name: "dltrain",
            dependencies: [
                "Strata",
                "StrataDistributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The benchmark harness: the standard workloads of shared/bench/WORKLOADS.md, one JSON line each.
        .executableTarget(
            name: "dlbench",
            dependencies: [
                "Strata",
                "StrataDistributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "StrataTests", dependencies: ["Strata"]),
        // Runs the built `dltrain` binary as a process (`swift test` builds every product first).
        // pytorch_interop.py moves checkpoints to and from PyTorch (run by the tests when torch is installed).
        .testTarget(name: "DLTrainTests", dependencies: ["Strata"], exclude: ["pytorch_interop.py"]),
        // A test fixture, not a product: DLTrainTests runs it under `mpirun -np 2` to check the collectives.
        .executableTarget(name: "DistributedHarness", dependencies: ["Strata", "StrataDistributed"],
                          path: "Tests/DistributedHarness"),
    ]
)
