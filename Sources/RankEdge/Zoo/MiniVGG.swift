/// The papers' mini-VGG (METHODS.md §1) for 32×32×3 inputs: three ConvBlocks of two same-padded
/// k×k convs and a 2×2 max pool, then Linear(2048, 128) + ReLU + Linear(128, 10).
public struct MiniVGGOptions: Sendable {
    public var kernel: Int = 5
    public var batchNorm: Bool = false
    public var dropout: Bool = false
    /// nil: dense convs; L: rank-L spatial convs (rankConv2d).
    public var rank: Int? = nil
    public var seed: UInt64 = 0
    public init(kernel: Int = 5, batchNorm: Bool = false, dropout: Bool = false, rank: Int? = nil, seed: UInt64 = 0) {
        self.kernel = kernel; self.batchNorm = batchNorm; self.dropout = dropout; self.rank = rank; self.seed = seed
    }
}

public let cifar10ClassNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

public func buildMiniVGG(_ o: MiniVGGOptions) -> Graph {
    var b = GraphBuilder(name: "minivgg-k\(o.kernel)", shape: [1, 32, 32, 3], seed: o.seed)
    var x = "input"
    var widths = [(3, 32), (32, 64), (64, 128)].makeIterator()
    for blockIndex in 1...3 {
        let (_, c2) = widths.next()!
        for convIndex in 1...2 {
            let name = "block\(blockIndex).conv\(convIndex)"
            if let l = o.rank {
                x = b.rankConv(x, out: c2, kernel: o.kernel, rank: l, name: name)
            } else {
                x = b.conv(x, out: c2, kernel: o.kernel, name: name)
            }
            if o.batchNorm { x = b.batchNorm(x, name: "block\(blockIndex).bn\(convIndex)") }
            x = b.relu(x, name: "block\(blockIndex).relu\(convIndex)")
        }
        x = b.maxPool(x, kernel: 2, stride: 2, name: "block\(blockIndex).pool")
        if o.dropout { x = b.dropout(x, rate: 0.4, name: "block\(blockIndex).dropout") }
    }
    x = b.flatten(x, name: "flatten")
    x = b.linear(x, out: 128, name: "fc1")
    x = b.relu(x, name: "fc1.relu")
    x = b.linear(x, out: 10, name: "fc2")
    return b.build(outputs: [x], classNames: cifar10ClassNames)
}
