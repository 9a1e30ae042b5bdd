import RankEdge

/// Holds `count` training images out as a validation split: a seeded permutation picks them, so a
/// seed names one split, and both parts keep the file's order otherwise.
public func holdOutValidation(_ split: CIFAR10Split, count: Int, seed: UInt64) throws -> (train: CIFAR10Split, validation: CIFAR10Split) {
    guard count > 0, count < split.count else {
        throw DataError.malformed("training split", "cannot hold out \(count) of \(split.count) images for validation")
    }
    var rng = SeededRandom(seed: mixSeeds(seed, 0x7A1))
    var order = Array(0..<split.count)
    for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    let held = Set(order.prefix(count))
    func pick(_ keep: (Int) -> Bool) -> CIFAR10Split {
        var pixels: [UInt8] = [], labels: [Int] = []
        for i in 0..<split.count where keep(i) {
            pixels += split.pixels[(i * CIFAR10Split.imageSize)..<((i + 1) * CIFAR10Split.imageSize)]
            labels.append(split.labels[i])
        }
        return CIFAR10Split(pixels: pixels, labels: labels)
    }
    return (pick { !held.contains($0) }, pick { held.contains($0) })
}
