import RankEdge

/// VGG for CIFAR (32×32): the ImageNet configurations' 3×3 convs, each with BN and ReLU, and five
/// 2×2 max pools, which leave 1×1×512, then one Linear(512, classes). VGG-11 is the network of
/// seed 001's utilization study.
enum VGGBuilder {
    static let configurations: [String: [Int?]] = [
        "vgg11": [64, nil, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil],
        "vgg16": [64, 64, nil, 128, 128, nil, 256, 256, 256, nil, 512, 512, 512, nil, 512, 512, 512, nil],
    ]

    static func cifar(_ name: String, variant: ZooVariant, ratio: Double, seed: UInt64, classes: Int) -> Graph {
        var z = ZooLayers(builder: GraphBuilder(name: name, shape: [1, 32, 32, 3], seed: seed), variant: variant, ratio: ratio)
        var x = "input", convIndex = 0, poolIndex = 0
        for entry in configurations[name]! {
            if let width = entry {
                convIndex += 1
                x = z.conv(x, out: width, kernel: 3, bias: true, name: "conv\(convIndex)")
                x = z.builder.batchNorm(x, name: "bn\(convIndex)")
                x = z.builder.relu(x, name: "relu\(convIndex)")
            } else {
                poolIndex += 1
                x = z.builder.maxPool(x, kernel: 2, stride: 2, name: "pool\(poolIndex)")
            }
        }
        x = z.builder.flatten(x, name: "flatten")
        x = z.linear(x, out: classes, name: "fc")
        return z.builder.build(outputs: [x], classNames: classes == 10 ? cifar10ClassNames : [])
    }
}
