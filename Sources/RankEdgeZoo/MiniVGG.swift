import RankEdge

/// The papers' mini-VGG (METHODS.md §1) for 32×32×3 inputs: three ConvBlocks of two same-padded
/// k×k convs and a 2×2 max pool, then Linear(2048, 128) + ReLU + Linear(128, 10).
public struct MiniVGGOptions: Sendable {
    public var kernel: Int
    public var batchNorm: Bool
    public var dropout: Bool
    /// How each conv is built: dense, rank:L (rankConv2d), lrd / branched:N at `ratio`.
    public var variant: ZooVariant
    public var ratio: Double
    public var seed: UInt64
    public var classes: Int
    public init(kernel: Int = 5, batchNorm: Bool = false, dropout: Bool = false, variant: ZooVariant = .dense,
                ratio: Double = 2, seed: UInt64 = 0, classes: Int = 10) {
        self.kernel = kernel; self.batchNorm = batchNorm; self.dropout = dropout
        self.variant = variant; self.ratio = ratio; self.seed = seed; self.classes = classes
    }
}

public let cifar10ClassNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

public func buildMiniVGG(_ o: MiniVGGOptions) -> Graph {
    var z = ZooLayers(builder: GraphBuilder(name: "minivgg-k\(o.kernel)", shape: [1, 32, 32, 3], seed: o.seed),
                      variant: o.variant, ratio: o.ratio)
    var x = "input"
    for (blockIndex, width) in [32, 64, 128].enumerated().map({ ($0 + 1, $1) }) {
        for convIndex in 1...2 {
            let name = "block\(blockIndex).conv\(convIndex)"
            x = z.conv(x, out: width, kernel: o.kernel, bias: true, name: name)
            if o.batchNorm { x = z.builder.batchNorm(x, name: "block\(blockIndex).bn\(convIndex)") }
            x = z.builder.relu(x, name: "block\(blockIndex).relu\(convIndex)")
        }
        x = z.builder.maxPool(x, kernel: 2, stride: 2, name: "block\(blockIndex).pool")
        if o.dropout { x = z.builder.dropout(x, rate: 0.4, name: "block\(blockIndex).dropout") }
    }
    x = z.builder.flatten(x, name: "flatten")
    x = z.linear(x, out: 128, name: "fc1")
    x = z.builder.relu(x, name: "fc1.relu")
    x = z.linear(x, out: o.classes, name: "fc2")
    return z.builder.build(outputs: [x], classNames: o.classes == 10 ? cifar10ClassNames : [])
}
