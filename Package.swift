// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "RankEdge",
    products: [
        .library(name: "RankEdge", targets: ["RankEdge"]),
        .library(name: "RankEdgeReference", targets: ["RankEdgeReference"]),
        .library(name: "RankEdgeZoo", targets: ["RankEdgeZoo"]),
        .library(name: "RankEdgeInput", targets: ["RankEdgeInput"]),
        .library(name: "RankEdgeImageCodecs", targets: ["RankEdgeImageCodecs"]),
        .library(name: "RankEdgeTrain", targets: ["RankEdgeTrain"]),
        .library(name: "RankEdgeCompress", targets: ["RankEdgeCompress"]),
        .library(name: "RankEdgeONNX", targets: ["RankEdgeONNX"]),
        .executable(name: "rankedge", targets: ["rankedge"]),
        .executable(name: "rankedge-fuzz", targets: ["rankedge-fuzz"]),
        .executable(name: "rankedge-stress", targets: ["rankedge-stress"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // SIMD GEMM micro-kernels and CPU detection; ISA flags come only from target attributes in source.
        .target(name: "CRankEdgeKernels"),
        // The runtime: no system dependencies, so boards link only this.
        .target(name: "RankEdge", dependencies: ["CRankEdgeKernels"]),
        // The reference executor and naive GEMM: the slow, obviously correct twins every fast path is
        // tested against (and `run --reference`); never linked into a board's runtime.
        .target(name: "RankEdgeReference", dependencies: ["RankEdge"]),
        // The reference architectures with seeded weights (`zoo`, `train`), built from the runtime's graph builder.
        .target(name: "RankEdgeZoo", dependencies: ["RankEdge"]),
        // Inputs the way users have them: images and the graph's normalisation.
        .target(name: "RankEdgeInput", dependencies: ["RankEdge"]),
        // libpng and TurboJPEG (libjpeg-turbo): PNG and JPEG inputs, for the command-line tool only.
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", providers: [.apt(["libturbojpeg0-dev"])]),
        .target(name: "RankEdgeImageCodecs", dependencies: ["RankEdge", "RankEdgeInput", "CPNG", "CTurboJPEG"]),
        // OpenBLAS: the trainer's GEMMs and gemm-bench's baseline (never linked into the runtime).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        // zlib: inflating compressed NumPy .npz datasets (trainer only).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Armadillo (SVD, symmetric eigen through LAPACK) behind a C interface; C++ only here.
        .target(name: "CLinalg", linkerSettings: [.linkedLibrary("armadillo")]),
        // Low-rank compression of trained graphs: decompositions, rank policies, reports. Needs no trainer.
        .target(name: "RankEdgeCompress", dependencies: ["RankEdge", "CLinalg"]),
        // The workstation trainer; the runtime never depends on it.
        .target(name: "RankEdgeTrain", dependencies: ["RankEdge", "RankEdgeZoo", "RankEdgeInput", "RankEdgeCompress", "COpenBLAS", "CZlib"]),
        // ONNX import/export over committed swift-protobuf code (tools/regenerate_onnx_proto.sh).
        .target(
            name: "RankEdgeONNX",
            dependencies: ["RankEdge", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .executableTarget(
            name: "rankedge",
            dependencies: [
                "RankEdge",
                "RankEdgeReference",
                "RankEdgeZoo",
                "RankEdgeInput",
                "RankEdgeImageCodecs",
                "COpenBLAS",
                "RankEdgeTrain",
                "RankEdgeCompress",
                "RankEdgeONNX",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // libFuzzer's driver entry point, declared for rankedge-fuzz (the library is linked only by
        // -sanitize=fuzzer, given on the command line by tools/fuzz.sh).
        .target(name: "CLibFuzzer"),
        // Coverage-guided fuzzing of every reader of untrusted files; built normally it replays the
        // committed corpus (fuzz/corpus) as a regression run (docs/RELIABILITY.md, "Fuzzing").
        .executableTarget(
            name: "rankedge-fuzz",
            dependencies: ["RankEdge", "RankEdgeONNX", "RankEdgeTrain", "RankEdgeInput", "RankEdgeImageCodecs", "CPNG", "CTurboJPEG", "CLibFuzzer"]
        ),
        // InferenceSession under concurrent load: outputs bit-identical to single runs, resident memory flat.
        .executableTarget(name: "rankedge-stress", dependencies: ["RankEdge", "RankEdgeZoo"]),
        .testTarget(name: "RankEdgeTests", dependencies: ["RankEdge", "RankEdgeReference", "RankEdgeZoo", "RankEdgeInput", "CRankEdgeKernels"]),
        .testTarget(name: "RankEdgeImageCodecsTests", dependencies: ["RankEdgeImageCodecs", "RankEdgeInput", "RankEdge", "CPNG", "CTurboJPEG"]),
        .testTarget(name: "RankEdgeTrainTests", dependencies: ["RankEdgeTrain", "RankEdgeCompress", "RankEdge", "RankEdgeReference", "RankEdgeZoo", "RankEdgeONNX"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RankEdgeCompressTests", dependencies: ["RankEdgeCompress", "RankEdge", "RankEdgeReference"]),
        .testTarget(name: "RankEdgeONNXTests", dependencies: ["RankEdgeONNX", "RankEdge", "RankEdgeReference", "RankEdgeZoo"]),
    ],
    swiftLanguageModes: [.v6]
)
