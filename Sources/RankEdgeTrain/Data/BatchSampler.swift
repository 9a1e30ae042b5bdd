import RankEdge

/// Deterministic training batches: step s takes sample positions s·B … s·B+B−1 of an endless
/// sequence of epochs, each a seeded permutation of the training set; each position has its own
/// seeded crop and flip. A batch depends only on (seed, step), so a resumed run sees exactly the
/// batches an uninterrupted run would.
public final class BatchSampler {
    public let split: LabeledImages
    public let normalization: Normalization
    public let batchSize: Int
    public let seed: UInt64
    public let augment: Bool
    private var cachedEpoch = -1
    private var cachedPermutation: [Int] = []

    public init(split: LabeledImages, normalization: Normalization, batchSize: Int, seed: UInt64, augment: Bool = true) {
        self.split = split; self.normalization = normalization; self.batchSize = batchSize
        self.seed = seed; self.augment = augment
    }

    public func permutation(epoch: Int) -> [Int] {
        if epoch == cachedEpoch { return cachedPermutation }
        let p = seededPermutation(split.count, seed: mixSeeds(seed, 0x5EED, UInt64(epoch)))
        cachedEpoch = epoch; cachedPermutation = p
        return p
    }

    /// The images ([B, H, W, C], normalised) and labels of step `step`.
    public func batch(step: Int) -> (images: Variable, labels: [Int]) {
        let size = split.imageSize
        let out = TensorStorage(uninitialized: batchSize * size)
        var labels = [Int](repeating: 0, count: batchSize)
        let n = split.count
        for b in 0..<batchSize {
            let position = step * batchSize + b
            let index = permutation(epoch: position / n)[position % n]
            labels[b] = split.labels[index]
            let pad = Normalization.cropPadding
            var cropY = pad, cropX = pad, flip = false
            if augment {
                var rng = SeededRandom(seed: mixSeeds(seed, 0xA06, UInt64(position)))
                cropY = Int(rng.next() % UInt64(2 * pad + 1)); cropX = Int(rng.next() % UInt64(2 * pad + 1)); flip = rng.next() & 1 == 1
            }
            normalization.writeImage(split, index: index, into: out.pointer + b * size, cropY: cropY, cropX: cropX, flip: flip)
        }
        return (Variable(shape: [batchSize] + split.imageShape, value: out), labels)
    }
}

/// 0..<n in a seeded random order: Fisher–Yates with our own generator (the standard library's
/// shuffle may change algorithm), so a seed names one order on every platform.
func seededPermutation(_ n: Int, seed: UInt64) -> [Int] {
    var rng = SeededRandom(seed: seed)
    var p = Array(0..<n)
    if n > 1 {
        for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    }
    return p
}
