// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Strata",
    products: [
        .library(name: "Strata", targets: ["Strata"]),
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
        .target(
            name: "Strata",
            dependencies: [
                "COpenBLAS",
                "CZlib",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        // The benchmark harness: the standard workloads of shared/bench/WORKLOADS.md, one JSON line each.
        .executableTarget(
            name: "dlbench",
            dependencies: [
                "Strata",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "StrataTests", dependencies: ["Strata"]),
    ]
)
