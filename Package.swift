// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "RankEdge",
    products: [
        .library(name: "RankEdge", targets: ["RankEdge"]),
        .executable(name: "rankedge", targets: ["rankedge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // SIMD GEMM micro-kernels and CPU detection; ISA flags come only from target attributes in source.
        .target(name: "CRankEdgeKernels"),
        // The runtime: no system dependencies, so boards link only this.
        .target(name: "RankEdge", dependencies: ["CRankEdgeKernels"]),
        // OpenBLAS, the baseline gemm-bench measures against (never linked into the runtime).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .executableTarget(
            name: "rankedge",
            dependencies: [
                "RankEdge",
                "COpenBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "RankEdgeTests", dependencies: ["RankEdge"]),
    ],
    swiftLanguageModes: [.v6]
)
