import RankEdge

/// The papers' mini-VGG (METHODS.md §1): three ConvBlocks of two same-padded k×k convs (+BN)
/// + ReLU and a 2×2 max pool (+Dropout(0.4)), then Linear(2048, 128) + ReLU + Linear(128, classes).
/// Names follow the runtime's `buildMiniVGG` (block1.conv1, block1.bn1, fc1, fc2).
func miniVGG(kernel k: Int, batchNorm: Bool, dropout: Bool, classes: Int, convs: ConvFactory, rng: inout SeededRandom) throws -> Sequential {
    var layers: [any Module] = []
    var c = 3
    for (blockIndex, width) in [32, 64, 128].enumerated() {
        let block = "block\(blockIndex + 1)"
        for convIndex in 1...2 {
            layers.append(try convs.make(name: "\(block).conv\(convIndex)", inChannels: c, outChannels: width, kernel: k, rng: &rng))
            if batchNorm { layers.append(BatchNorm2D(name: "\(block).bn\(convIndex)", channels: width)) }
            layers.append(ReLU(name: "\(block).relu\(convIndex)"))
            c = width
        }
        layers.append(MaxPool2D(name: "\(block).pool", kernel: 2, stride: 2))
        if dropout { layers.append(Dropout(name: "\(block).dropout", rate: 0.4)) }
    }
    layers.append(Flatten(name: "flatten"))
    layers.append(Linear(name: "fc1", inFeatures: 4 * 4 * 128, outFeatures: 128, rng: &rng))
    layers.append(ReLU(name: "fc1.relu"))
    layers.append(Linear(name: "fc2", inFeatures: 128, outFeatures: classes, rng: &rng))
    return Sequential(name: "", layers)
}

/// VGG-11 for CIFAR: the ImageNet configuration's eight 3×3 convs (+BN) with five 2×2 pools,
/// which leave 1×1×512, then one Linear(512, classes).
func vgg11(classes: Int, convs: ConvFactory, rng: inout SeededRandom) throws -> Sequential {
    let config: [Int?] = [64, nil, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil]
    var layers: [any Module] = []
    var c = 3, convIndex = 0, poolIndex = 0
    for entry in config {
        if let width = entry {
            convIndex += 1
            layers.append(try convs.make(name: "conv\(convIndex)", inChannels: c, outChannels: width, kernel: 3, rng: &rng))
            layers.append(BatchNorm2D(name: "bn\(convIndex)", channels: width))
            layers.append(ReLU(name: "relu\(convIndex)"))
            c = width
        } else {
            poolIndex += 1
            layers.append(MaxPool2D(name: "pool\(poolIndex)", kernel: 2, stride: 2))
        }
    }
    layers.append(Flatten(name: "flatten"))
    layers.append(Linear(name: "fc", inFeatures: 512, outFeatures: classes, rng: &rng))
    return Sequential(name: "", layers)
}
