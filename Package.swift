// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Strata",
    products: [
        .library(name: "Strata", targets: ["Strata"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
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
        .testTarget(name: "StrataTests", dependencies: ["Strata"]),
    ]
)
