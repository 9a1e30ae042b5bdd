/// Top-1 accuracy overall and per class.
public struct ClassificationReport: Sendable, Equatable {
    public var count: Int
    public var correct: Int
    public var perClassCorrect: [Int]
    public var perClassCount: [Int]

    public init(predictions: [Int], labels: [Int], classes: Int) {
        count = labels.count
        perClassCorrect = [Int](repeating: 0, count: classes)
        perClassCount = [Int](repeating: 0, count: classes)
        correct = 0
        for (p, l) in zip(predictions, labels) {
            if l >= 0 && l < classes { perClassCount[l] += 1 }
            if p == l { correct += 1; if l >= 0 && l < classes { perClassCorrect[l] += 1 } }
        }
    }

    public var accuracy: Double { count == 0 ? 0 : Double(correct) / Double(count) }
    /// nil for a class with no samples.
    public var perClassAccuracy: [Double?] {
        zip(perClassCorrect, perClassCount).map { $1 == 0 ? nil : Double($0) / Double($1) }
    }
}

/// Index of the largest score (the first on ties).
public func argmax(_ v: [Float]) -> Int {
    var best = 0
    for i in 1..<max(v.count, 1) where v[i] > v[best] { best = i }
    return best
}
