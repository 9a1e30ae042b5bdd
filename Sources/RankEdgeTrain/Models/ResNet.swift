import RankEdge

/// CIFAR ResNet (He et al. 2016, §4.2): a 3×3 stem of 16 channels, three stages of n basic blocks
/// at 16/32/64 channels (stride 2 entering stages 2 and 3), global average pool, Linear(64, classes).
/// Shortcuts that change shape are 1×1 stride-s convs + BN ("option B"), as in the PyTorch benchmark.
/// n = 3 gives ResNet-20, n = 9 ResNet-56. Names follow torchvision: layer1.0.conv1, layer2.0.shortcut.conv.
func cifarResNet(blocksPerStage n: Int, classes: Int, convs: ConvFactory, rng: inout SeededRandom) throws -> Sequential {
    var layers: [any Module] = [
        try convs.make(name: "conv1", inChannels: 3, outChannels: 16, kernel: 3, bias: false, rng: &rng),
        BatchNorm2D(name: "bn1", channels: 16),
        ReLU(name: "relu"),
    ]
    var c = 16
    for (stage, width) in [16, 32, 64].enumerated() {
        for i in 0..<n {
            let stride = (i == 0 && stage > 0) ? 2 : 1
            let block = "layer\(stage + 1).\(i)"
            layers.append(try basicBlock(name: block, inChannels: c, outChannels: width, stride: stride, convs: convs, rng: &rng))
            layers.append(ReLU(name: "\(block).relu2"))
            c = width
        }
    }
    layers.append(GlobalAvgPool(name: "avgpool"))
    layers.append(Flatten(name: "flatten"))
    layers.append(Linear(name: "fc", inFeatures: 64, outFeatures: classes, rng: &rng))
    return Sequential(name: "", layers)
}

private func basicBlock(name: String, inChannels: Int, outChannels: Int, stride: Int, convs: ConvFactory,
                        rng: inout SeededRandom) throws -> Residual {
    let body = Sequential(name: name, [
        try convs.make(name: "\(name).conv1", inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: stride, bias: false, rng: &rng),
        BatchNorm2D(name: "\(name).bn1", channels: outChannels),
        ReLU(name: "\(name).relu1"),
        try convs.make(name: "\(name).conv2", inChannels: outChannels, outChannels: outChannels, kernel: 3, bias: false, rng: &rng),
        BatchNorm2D(name: "\(name).bn2", channels: outChannels),
    ])
    var shortcut: Sequential?
    if stride != 1 || inChannels != outChannels {
        shortcut = Sequential(name: "\(name).shortcut", [
            Conv2D(name: "\(name).shortcut.conv", inChannels: inChannels, outChannels: outChannels, kernel: 1, stride: stride,
                   padding: 0, bias: false, rng: &rng),
            BatchNorm2D(name: "\(name).shortcut.bn", channels: outChannels),
        ])
    }
    return Residual(name: name, body: body, shortcut: shortcut)
}
