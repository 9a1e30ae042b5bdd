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
        // The runtime: no system dependencies, so boards link only this.
        .target(name: "RankEdge"),
        .executableTarget(
            name: "rankedge",
            dependencies: [
                "RankEdge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "RankEdgeTests", dependencies: ["RankEdge"]),
    ],
    swiftLanguageModes: [.v6]
)
