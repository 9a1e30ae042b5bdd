import RankEdge

/// Validation accuracy with one layer changed, running only that layer and what follows: the
/// activations entering the cut are captured once for every validation image, then each trial
/// (a projected weight, a factored layer) compiles and runs the suffix alone.
struct SuffixAccuracy {
    let suffix: SuffixGraph
    private var feeds: [[String: Tensor]] = []
    private var labels: [ArraySlice<Int>] = []
    let threads: Int

    init(_ graph: Graph, from layer: String, samples: LabeledSamples, threads: Int) throws(CompressError) {
        suffix = try SuffixGraph(graph, from: layer)
        self.threads = threads
        let names = suffix.inputs
        var feeds: [[String: Tensor]] = [], labels: [ArraySlice<Int>] = []
        try ActivationCapture(threads: threads, batch: 100).forEachBatch(graph, tensors: names, samples: samples) { values, l in
            var feed: [String: Tensor] = [:]
            for n in names { feed[n] = values[n]! }
            feeds.append(feed)
            labels.append(l)
        }
        self.feeds = feeds
        self.labels = labels
    }

    /// Top-1 accuracy (%) of `graph`, which must be `suffix.graph` with its weights or nodes changed.
    func accuracy(_ graph: Graph) throws(CompressError) -> Double {
        do {
            let session = try InferenceSession(graph: graph, options: .init(threads: threads))
            var correct = 0, total = 0
            for (feed, l) in zip(feeds, labels) {
                let out = try session.run(feed)[graph.outputs[0]]!
                correct += countCorrect(out, l)
                total += l.count
            }
            return total > 0 ? 100 * Double(correct) / Double(total) : .nan
        } catch { throw .measurement("\(graph.name): \(error)") }
    }
}
