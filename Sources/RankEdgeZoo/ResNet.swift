import RankEdge

/// Residual networks of the zoo: CIFAR ResNet-20/56 (32×32, basic blocks, 1×1 projection
/// shortcuts) and ImageNet ResNet-18 (basic blocks) / ResNet-50 (bottlenecks, stride on the 3×3).
enum ResNetBuilder {
    /// A basic block: 3×3 → BN → ReLU → 3×3 → BN, plus the shortcut, then ReLU. Under `merged`
    /// the inner width is the Tucker rank of the first conv, the basic block's own bottleneck.
    static func basicBlock(_ z: inout ZooLayers, _ x: String, out: Int, stride: Int, name: String) -> String {
        let c = z.builder.channels(of: x)
        var inner = out
        if z.variant == .merged {
            inner = LowRankRanks.tucker2(inputs: c, outputs: out, kernel: 3, ratio: z.ratio).r2
        }
        var y = z.convBN(x, out: inner, kernel: 3, stride: stride, name: "\(name).conv1")
        y = z.builder.relu(y, name: "\(name).relu1")
        y = z.convBN(y, out: out, kernel: 3, name: "\(name).conv2")
        let shortcut = (stride != 1 || c != out)
            ? z.convBN(x, out: out, kernel: 1, stride: stride, padding: 0, name: "\(name).downsample.conv")
            : x
        y = z.builder.addTensors(y, shortcut, name: "\(name).add")
        return z.builder.relu(y, name: "\(name).relu2")
    }

    /// A bottleneck: 1×1 → 3×3 (stride) → 1×1 (4× width), BN after each, shortcut, ReLU. Under
    /// `merged` the two inner widths are the 3×3's Tucker ranks (METHODS.md §3, layer merging).
    static func bottleneck(_ z: inout ZooLayers, _ x: String, width: Int, stride: Int, name: String) -> String {
        let c = z.builder.channels(of: x)
        let out = width * 4
        var (w1, w2) = (width, width)
        if z.variant == .merged {
            (w1, w2) = LowRankRanks.tucker2(inputs: width, outputs: width, kernel: 3, ratio: z.ratio)
        }
        var y = z.convBN(x, out: w1, kernel: 1, padding: 0, name: "\(name).conv1")
        y = z.builder.relu(y, name: "\(name).relu1")
        y = z.convBN(y, out: w2, kernel: 3, stride: stride, name: "\(name).conv2")
        y = z.builder.relu(y, name: "\(name).relu2")
        y = z.convBN(y, out: out, kernel: 1, padding: 0, name: "\(name).conv3")
        let shortcut = (stride != 1 || c != out)
            ? z.convBN(x, out: out, kernel: 1, stride: stride, padding: 0, name: "\(name).downsample.conv")
            : x
        y = z.builder.addTensors(y, shortcut, name: "\(name).add")
        return z.builder.relu(y, name: "\(name).relu3")
    }

    static func cifar(blocksPerStage n: Int, name: String, variant: ZooVariant, ratio: Double, seed: UInt64,
                      classes: Int) -> Graph {
        var z = ZooLayers(builder: GraphBuilder(name: name, shape: [1, 32, 32, 3], seed: seed), variant: variant, ratio: ratio)
        var x = z.convBN("input", out: 16, kernel: 3, name: "conv1")
        x = z.builder.relu(x, name: "relu1")
        for (stage, width) in [16, 32, 64].enumerated() {
            for i in 0..<n {
                x = basicBlock(&z, x, out: width, stride: (i == 0 && stage > 0) ? 2 : 1, name: "layer\(stage + 1).\(i)")
            }
        }
        x = z.builder.globalAvgPool(x, name: "avgpool")
        x = z.builder.flatten(x, name: "flatten")
        x = z.linear(x, out: classes, name: "fc")
        return z.builder.build(outputs: [x], classNames: classes == 10 ? cifar10ClassNames : [])
    }

    static func imagenet(bottleneck useBottleneck: Bool, blocks: [Int], name: String, variant: ZooVariant,
                         ratio: Double, seed: UInt64, classes: Int) -> Graph {
        var z = ZooLayers(builder: GraphBuilder(name: name, shape: [1, 224, 224, 3], seed: seed), variant: variant, ratio: ratio)
        // The 7×7 stem sees only 3 input channels; decomposing it saves nothing, so it stays dense.
        var x = z.builder.conv("input", out: 64, kernel: 7, stride: 2, padding: 3, bias: false, name: "conv1")
        x = z.builder.batchNorm(x, name: "bn1")
        x = z.builder.relu(x, name: "relu")
        x = z.builder.maxPool(x, kernel: 3, stride: 2, padding: 1, name: "maxpool")
        for (stage, width) in [64, 128, 256, 512].enumerated() {
            for i in 0..<blocks[stage] {
                let stride = (i == 0 && stage > 0) ? 2 : 1
                let blockName = "layer\(stage + 1).\(i)"
                x = useBottleneck ? bottleneck(&z, x, width: width, stride: stride, name: blockName)
                                  : basicBlock(&z, x, out: width, stride: stride, name: blockName)
            }
        }
        x = z.builder.globalAvgPool(x, name: "avgpool")
        x = z.builder.flatten(x, name: "flatten")
        x = z.linear(x, out: classes, name: "fc")
        return z.builder.build(outputs: [x])
    }
}
