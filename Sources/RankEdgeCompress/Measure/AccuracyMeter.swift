import RankEdge

/// Top-1 accuracy (%) of a graph on labelled samples, through the fast runtime.
struct AccuracyMeter: Sendable {
    var threads: Int
    var batch = 100

    func accuracy(_ graph: Graph, on samples: LabeledSamples) throws(CompressError) -> Double {
        do {
            let session = try InferenceSession(graph: graph, options: .init(threads: threads))
            return try accuracy(session, on: samples)
        } catch let e as CompressError { throw e } catch { throw .measurement("\(graph.name): \(error)") }
    }

    func accuracy(_ session: InferenceSession, on samples: LabeledSamples) throws -> Double {
        guard samples.count > 0 else { return .nan }
        var correct = 0
        var from = 0
        while from < samples.count {
            let n = min(batch, samples.count - from)
            let (x, labels) = samples.batch(from: from, count: n)
            let logits = try session.run(x)
            correct += countCorrect(logits, labels)
            from += n
        }
        return 100 * Double(correct) / Double(samples.count)
    }
}

/// Rows of `logits` [N, K] whose largest entry is at the label (the first of ties).
func countCorrect(_ logits: Tensor, _ labels: ArraySlice<Int>) -> Int {
    let n = logits.shape[0]
    let k = logits.count / max(n, 1)
    var correct = 0
    for (i, label) in labels.enumerated() {
        var best = 0
        for j in 1..<k where logits.data[i * k + j] > logits.data[i * k + best] { best = j }
        if best == label { correct += 1 }
    }
    return correct
}
