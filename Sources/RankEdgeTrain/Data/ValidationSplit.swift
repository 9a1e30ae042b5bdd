import RankEdge

/// Holds `count` training images out as a validation split: a seeded permutation (SplitMix64, the
/// same on every platform) picks them, so a seed names one split, and both parts keep the images'
/// order otherwise. `count` must leave images on both sides.
public func holdOutValidation(_ images: LabeledImages, count: Int, seed: UInt64) throws -> (train: LabeledImages, validation: LabeledImages) {
    guard count > 0, count < images.count else {
        throw DataError.invalidArgument("cannot hold out \(count) of \(images.count) images for validation (1 ≤ count < \(images.count))")
    }
    let held = Set(seededPermutation(images.count, seed: mixSeeds(seed, 0x7A1)).prefix(count))
    let all = 0..<images.count
    return (images.subset(all.filter { !held.contains($0) }), images.subset(all.filter { held.contains($0) }))
}
