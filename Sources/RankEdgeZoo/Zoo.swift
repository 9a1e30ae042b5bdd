import RankEdge

/// The reference architectures, with seeded random weights, so a board can be measured without a
/// trained model (`rankedge zoo`).
public enum Zoo {
    public struct Entry: Sendable {
        public var name: String
        public var summary: String
    }

    public static let entries: [Entry] = [
        Entry(name: "minivgg-k3", summary: "mini-VGG, 3×3 convs, CIFAR 32×32 (METHODS.md §1)"),
        Entry(name: "minivgg-k5", summary: "mini-VGG, 5×5 convs, CIFAR 32×32"),
        Entry(name: "minivgg-k7", summary: "mini-VGG, 7×7 convs, CIFAR 32×32"),
        Entry(name: "resnet20", summary: "CIFAR ResNet-20, basic blocks, 32×32"),
        Entry(name: "resnet56", summary: "CIFAR ResNet-56, basic blocks, 32×32"),
        Entry(name: "vgg11", summary: "VGG-11 with BN, CIFAR 32×32 (seed 001)"),
        Entry(name: "vgg16", summary: "VGG-16 with BN, CIFAR 32×32"),
        Entry(name: "resnet18", summary: "ImageNet ResNet-18, basic blocks, 224×224"),
        Entry(name: "resnet50", summary: "ImageNet ResNet-50, bottlenecks, 224×224"),
    ]

    /// Builds a zoo model. `ratio` is the parameter compression α for lrd / merged / branched /
    /// tucker2; `classes` the classifier's width (the ImageNet models default to 1000).
    public static func build(_ name: String, variant: ZooVariant = .dense, ratio: Double = 2, seed: UInt64 = 0,
                             classes: Int? = nil) throws -> Graph {
        guard ratio > 1, ratio.isFinite else { throw ZooError("ratio must be greater than 1, got \(ratio)") }
        if let classes, classes < 2 { throw ZooError("a classifier needs at least 2 classes, got \(classes)") }
        let imagenetClasses = classes ?? 1000, cifarClasses = classes ?? 10
        if case .branched(let n) = variant, n < 2 { throw ZooError("branched:N needs N ≥ 2, got \(n)") }
        if case .rank(let l) = variant, name.hasPrefix("resnet") || name.hasPrefix("vgg"), l > 3 {
            throw ZooError("rank \(l) exceeds the 3×3 kernels of \(name)")
        }
        var graph: Graph
        switch name {
        case "minivgg-k3", "minivgg-k5", "minivgg-k7":
            if variant == .merged {
                throw ZooError("variant 'merged' sets bottleneck widths of residual blocks; mini-VGG has none (use lrd, branched:N or rank:L)")
            }
            let k = Int(String(name.last!))!
            if case .rank(let l) = variant, l > k { throw ZooError("rank \(l) exceeds the kernel size \(k)") }
            graph = buildMiniVGG(MiniVGGOptions(kernel: k, variant: variant, ratio: ratio, seed: seed, classes: cifarClasses))
        case "resnet20":
            graph = ResNetBuilder.cifar(blocksPerStage: 3, name: name, variant: variant, ratio: ratio, seed: seed, classes: cifarClasses)
        case "resnet56":
            graph = ResNetBuilder.cifar(blocksPerStage: 9, name: name, variant: variant, ratio: ratio, seed: seed, classes: cifarClasses)
        case "vgg11", "vgg16":
            if variant == .merged { throw ZooError("variant 'merged' sets bottleneck widths of residual blocks; VGG has none") }
            graph = VGGBuilder.cifar(name, variant: variant, ratio: ratio, seed: seed, classes: cifarClasses)
        case "resnet18":
            graph = ResNetBuilder.imagenet(bottleneck: false, blocks: [2, 2, 2, 2], name: name, variant: variant, ratio: ratio, seed: seed,
                                           classes: imagenetClasses)
        case "resnet50":
            graph = ResNetBuilder.imagenet(bottleneck: true, blocks: [3, 4, 6, 3], name: name, variant: variant, ratio: ratio, seed: seed,
                                           classes: imagenetClasses)
        default:
            throw ZooError("unknown zoo model '\(name)' (known: \(entries.map(\.name).joined(separator: ", ")))")
        }
        graph.metadata["rankedge.zoo"] = "\(name) variant=\(variant) ratio=\(ratio) seed=\(seed)"
        return graph
    }
}
