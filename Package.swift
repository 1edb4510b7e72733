// swift-tools-version: 6.1
// 6.1 for package traits: a package that depends only on the libraries turns the default trait off
// (`.package(url: …, traits: [])`) and then resolves and fetches swift-numerics alone.
import PackageDescription

let package = Package(
    name: "Strata",
    products: [
        // Tensors, autograd, ops, layers, optimizers, checkpoints, data: the core.
        .library(name: "Strata", targets: ["Strata"]),
        // A training loop for any model: metrics, callbacks, gradient accumulation, exact resume, data-parallel runs.
        .library(name: "StrataTraining", targets: ["StrataTraining"]),
        // Data-parallel training over Open MPI; only users of this product need Open MPI installed.
        .library(name: "StrataDistributed", targets: ["StrataDistributed"]),
        .executable(name: "dltrain", targets: ["dltrain"]),
        .executable(name: "dlbench", targets: ["dlbench"]),
    ],
    traits: [
        .trait(name: "Executables", description: "dltrain and dlbench, whose argument parsing needs swift-argument-parser"),
        .default(enabledTraits: ["Executables"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `make docs`'s `swift package generate-documentation`. No target uses it, so a client never fetches it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
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
        .target(name: "StrataTraining", dependencies: ["Strata"]),
        // Strata's ProcessGroup over MPI_COMM_WORLD.
        .target(name: "StrataDistributed", dependencies: ["Strata", "CMPI"]),
        // What only dltrain needs: presets, its configuration and checkpoints, the JSON model spec, model
        // summaries, PGM/PPM reading, terminal progress. A library target (not a product) so tests reach it.
        .target(name: "DLTrainKit", dependencies: ["Strata", "StrataTraining"]),
        // The command-line trainer: argument parsing over DLTrainKit (data-parallel under mpirun).
        .executableTarget(
            name: "dltrain",
            dependencies: [
                "DLTrainKit",
                "Strata",
                "StrataDistributed",
                "StrataTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Executables"])),
            ]
        ),
        // The benchmark harness: the standard workloads of shared/bench/WORKLOADS.md, one JSON line each.
        .executableTarget(
            name: "dlbench",
            dependencies: [
                "Strata",
                "StrataDistributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Executables"])),
            ]
        ),
        // Expectation helpers (closeness, gradcheck, random inputs) shared by the test targets.
        .target(name: "TestSupport", dependencies: ["Strata"], path: "Tests/TestSupport"),
        .testTarget(name: "StrataTests", dependencies: ["Strata", "TestSupport"]),
        .testTarget(name: "StrataTrainingTests", dependencies: ["Strata", "StrataTraining", "TestSupport"]),
        // DLTrainKitTests/Fixtures: checkpoints written by dltrain before the training loop moved to StrataTraining.
        .testTarget(name: "DLTrainKitTests", dependencies: ["DLTrainKit", "Strata", "StrataTraining", "TestSupport"],
                    exclude: ["Fixtures"]),
        // Runs the built `dltrain` binary as a process (`swift test` builds every product first), and the snippets
        // of Snippets/ (ExamplesTests; `swift build` builds them, `swift test` does not, so `make test` runs both).
        // pytorch_interop.py moves checkpoints to and from PyTorch (run by the tests when torch is installed).
        .testTarget(name: "DLTrainTests", dependencies: ["DLTrainKit", "Strata", "StrataTraining"], exclude: ["pytorch_interop.py"]),
        // The fuzz harness (`make fuzz`, and a bounded run in `make test`): seeded mutation and hostile cases over
        // checkpoints, model specs, datasets, images and CLI numbers, through the library and the built dltrain.
        .executableTarget(name: "StrataFuzz", dependencies: ["DLTrainKit", "Strata", "StrataTraining"], path: "Tests/StrataFuzz"),
        // A test fixture, not a product: DLTrainTests runs it under `mpirun -np 2` to check the collectives.
        .executableTarget(name: "DistributedHarness", dependencies: ["DLTrainKit", "Strata", "StrataDistributed", "StrataTraining"],
                          path: "Tests/DistributedHarness"),
    ]
)
