import Foundation
import Testing
import RankEdge
@testable import RankEdgeCompress
@testable import RankEdgeReference

/// Shared fixtures of the compression tests: seeded weights and graphs with odd sizes, naive
/// double-precision linear algebra to check the decompositions against, and the two executors.
enum CT {
    // MARK: weights and matrices

    static func weight(outputs s: Int, kernelH kh: Int = 1, kernelW kw: Int = 1, inputs c: Int, seed: UInt64) -> LayerWeight {
        var rng = SeededRandom(seed: seed)
        return LayerWeight(outputs: s, kernelH: kh, kernelW: kw, inputs: c, data: rng.uniformArray(count: s * kh * kw * c, bound: 0.5))
    }

    /// Row-major A[m×k]·B[k×n], accumulated in double.
    static func matmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        precondition(a.count == m * k && b.count == k * n)
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for l in 0..<k { s += Double(a[i * k + l]) * Double(b[l * n + j]) }
                c[i * n + j] = Float(s)
            }
        }
        return c
    }

    static func squaredNorm(_ a: [Float]) -> Double { a.reduce(0) { $0 + Double($1) * Double($1) } }

    /// Eckart–Young: the error of keeping the first r of these singular values.
    static func tailError(_ sigma: [Float], keeping r: Int) -> Double {
        let sq = sigma.map { Double($0) * Double($0) }
        let total = sq.reduce(0, +)
        return (sq.dropFirst(r).reduce(0, +) / total).squareRoot()
    }

    /// max |UᵀU − I| of a row-major rows × cols matrix.
    static func orthonormalityDefect(_ u: [Float], rows: Int, cols: Int) -> Double {
        var worst = 0.0
        for a in 0..<cols {
            for b in 0..<cols {
                var s = 0.0
                for i in 0..<rows { s += Double(u[i * cols + a]) * Double(u[i * cols + b]) }
                worst = max(worst, abs(s - (a == b ? 1 : 0)))
            }
        }
        return worst
    }

    // MARK: layers and graphs

    /// A stand-alone candidate layer (no graph needed): for the rank formulas and decompositions.
    static func analysis(_ w: LayerWeight, conv attrs: Conv2DAttributes? = Conv2DAttributes(), hooi: Int? = nil) -> LayerAnalysis {
        let linear = attrs == nil
        let weightTensor = linear ? Tensor(shape: [w.outputs, w.inputs], data: w.data)
                                  : Tensor(shape: [w.outputs, w.kernelH, w.kernelW, w.inputs], data: w.data)
        let op: Op = linear ? .linear : .conv2d(attrs!)
        let node = Node(name: "layer", op: op, inputs: ["x", "layer.weight"], outputs: ["y"])
        let layer = CandidateLayer(node: node, weight: LayerWeight(weightTensor), geometry: LayerGeometry(conv: attrs),
                                   inputShape: TensorShape(linear ? [1, w.inputs] : [1, 16, 16, w.inputs]),
                                   outputShape: TensorShape(linear ? [1, w.outputs] : [1, 16, 16, w.outputs]),
                                   params: w.count, macs: w.count * (linear ? 1 : 256))
        return LayerAnalysis(layer, hooiIterations: hooi)
    }

    /// Stride 2 and asymmetric padding: what every factored spatial node must carry over.
    static let oddConv = Conv2DAttributes(stride: .square(2), padding: Padding(top: 1, left: 0, bottom: 2, right: 1))

    /// input [1, 9, 10, C] → one conv (`conv`, given weight, attributes, a bias) → output.
    static func oneConvGraph(_ w: LayerWeight, attrs: Conv2DAttributes, seed: UInt64 = 3) -> Graph {
        var b = GraphBuilder(name: "one-conv", shape: [1, 9, 10, w.inputs * attrs.groups], seed: seed)
        b.addWeight("conv.weight", Tensor(shape: [w.outputs, w.kernelH, w.kernelW, w.inputs], data: w.data))
        b.addWeight("conv.bias", Tensor(shape: [w.outputs], data: b.rng.uniformArray(count: w.outputs, bound: 0.2)))
        let y = b.add(.conv2d(attrs), name: "conv", inputs: ["input", "conv.weight", "conv.bias"])
        return b.build(outputs: [y])
    }

    /// A small classifier with odd sizes on 9×10×3 images, 10 classes:
    /// conv1 3→5 3×3 → bn1 → relu → conv2 5→12 3×3 stride 2 → relu → conv3 12→13 3×3 asymmetric
    /// padding → bn3 → conv4 1×1 13→16 → relu → gap → flatten → fc1 16→12 → relu → fc2 12→10.
    /// Candidates by default: conv2, conv3, conv4, fc1 (conv1 is first, fc2 the classifier).
    /// conv3's 12 inputs make four ALDS groups and six square blocks.
    static func smallNet(seed: UInt64 = 21, name: String = "small-net") -> Graph {
        var b = GraphBuilder(name: name, shape: [1, 9, 10, 3], seed: seed)
        var x = b.conv("input", out: 5, kernel: 3, name: "conv1")
        x = b.batchNorm(x, name: "bn1")
        x = b.relu(x, name: "relu1")
        x = b.conv(x, out: 12, kernel: 3, stride: 2, name: "conv2")
        x = b.relu(x, name: "relu2")
        b.addWeight("conv3.weight", Tensor(shape: [13, 3, 3, 12], data: b.rng.uniformArray(count: 13 * 9 * 12, bound: 0.3)))
        b.addWeight("conv3.bias", Tensor(shape: [13], data: b.rng.uniformArray(count: 13, bound: 0.1)))
        x = b.add(.conv2d(Conv2DAttributes(padding: Padding(top: 1, left: 0, bottom: 1, right: 2))), name: "conv3",
                  inputs: [x, "conv3.weight", "conv3.bias"])
        x = b.batchNorm(x, name: "bn3")
        x = b.conv(x, out: 16, kernel: 1, name: "conv4")
        x = b.relu(x, name: "relu4")
        x = b.globalAvgPool(x, name: "gap")
        x = b.flatten(x, name: "flatten")
        x = b.linear(x, out: 12, name: "fc1")
        x = b.relu(x, name: "relu5")
        x = b.linear(x, out: 10, name: "fc2")
        return b.build(outputs: [x])
    }

    static func input(_ g: Graph, batch: Int = 2, seed: UInt64 = 9) -> Tensor {
        var rng = SeededRandom(seed: seed)
        var shape = g.inputs[0].shape
        shape[0] = batch
        return Tensor(shape: shape, data: rng.uniformArray(count: shape.elementCount, bound: 1))
    }

    static func reference(_ g: Graph, _ x: Tensor) throws -> Tensor { try ReferenceExecutor(graph: g).run(x) }

    /// The graph validates and the fast runtime agrees with the reference executor on it.
    static func expectRunsTheSame(_ g: Graph, batch: Int = 3, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try g.validate()
        let x = input(g, batch: batch, seed: 17)
        let reference = try ReferenceExecutor(graph: g).run(x)
        let fast = try InferenceSession(graph: g).run(x)
        let scale = max(reference.maxAbs, 1)
        #expect(fast.maxAbsDifference(reference) <= 1e-4 * scale, "\(g.name): fast runtime differs from the reference",
                sourceLocation: sourceLocation)
    }

    // MARK: data

    /// Random images labelled by the model's own argmax, so its accuracy on them is 100 %.
    static func samples(for g: Graph, count: Int, seed: UInt64) throws -> LabeledSamples {
        var shape = g.inputs[0].shape
        shape[0] = count
        var rng = SeededRandom(seed: seed)
        let images = rng.uniformArray(count: shape.elementCount, bound: 1)
        let logits = try InferenceSession(graph: g).run(Tensor(shape: shape, data: images))
        let k = logits.count / count
        let labels = (0..<count).map { i in
            var best = 0
            for j in 1..<k where logits.data[i * k + j] > logits.data[i * k + best] { best = j }
            return best
        }
        return LabeledSamples(images: images, labels: labels, sampleShape: Array(shape.dims.dropFirst()))
    }

    static func data(for g: Graph, calibration: Int = 24, validation: Int = 40) throws -> CompressionData {
        CompressionData(calibration: try samples(for: g, count: calibration, seed: 101),
                        validation: try samples(for: g, count: validation, seed: 202))
    }

    static func temporaryPath(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "rankedge-ctests-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + name
    }

    // MARK: reports

    /// Conv and linear parameter rows plus every other node's parameters give the graph's total.
    static func nonLayerParams(_ g: Graph) -> Int {
        g.nodes.filter { n in
            switch n.op { case .conv2d, .linear, .rankConv2d: false; default: true }
        }.reduce(0) { $0 + g.params(of: $1) }
    }

    /// Checks every report invariant that holds whatever the policy.
    static func expectConsistent(_ report: CompressionReport, original: Graph, compressed: Graph,
                                 merged: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try original.cost().total, after = try compressed.cost().total
        #expect(report.totals.paramsBefore == before.params, sourceLocation: sourceLocation)
        #expect(report.totals.paramsAfter == after.params, sourceLocation: sourceLocation)
        #expect(report.totals.macsBefore == before.macs, sourceLocation: sourceLocation)
        #expect(report.totals.macsAfter == after.macs, sourceLocation: sourceLocation)
        // One row per conv and linear layer of the original, in graph order.
        let layers = original.nodes.filter { n in
            switch n.op { case .conv2d, .linear: true; default: false }
        }.map(\.name)
        #expect(report.layers.map(\.name) == layers, sourceLocation: sourceLocation)
        for row in report.layers {
            #expect(row.paramsBefore == original.params(of: original.node(named: row.name)!), "\(row.name)", sourceLocation: sourceLocation)
            if row.kept {
                #expect(row.paramsAfter < row.paramsBefore, "\(row.name) kept without saving parameters", sourceLocation: sourceLocation)
                #expect(row.method != "none", sourceLocation: sourceLocation)
                #expect(!row.ranks.isEmpty, sourceLocation: sourceLocation)
                #expect(row.relativeError.map { $0 >= 0 && $0 < 1 + 1e-9 } == true, "\(row.name): relative error", sourceLocation: sourceLocation)
                #expect(row.macsAfter > 0, "\(row.name): MACs", sourceLocation: sourceLocation)
                // The factor nodes are in the graph, the original node is gone (unless merged away).
                #expect(compressed.nodes.contains { $0.provenance?.contains("of \(row.name)") == true } || merged,
                        "\(row.name) factors", sourceLocation: sourceLocation)
            } else {
                #expect(row.paramsAfter == row.paramsBefore, sourceLocation: sourceLocation)
                #expect(row.macsAfter == row.macsBefore, sourceLocation: sourceLocation)
                #expect(!row.reason.isEmpty, sourceLocation: sourceLocation)
                #expect(compressed.node(named: row.name) != nil || merged, "\(row.name) should stay", sourceLocation: sourceLocation)
            }
        }
        if !merged {
            // Rows plus the rest (batch norm) add up to the graph's totals.
            #expect(report.layers.reduce(0) { $0 + $1.paramsBefore } + nonLayerParams(original) == before.params, sourceLocation: sourceLocation)
            #expect(report.layers.reduce(0) { $0 + $1.paramsAfter } + nonLayerParams(compressed) == after.params, sourceLocation: sourceLocation)
            #expect(report.merges.isEmpty, sourceLocation: sourceLocation)
        }
        #expect(report.totals.msBefore > 0 && report.totals.msAfter > 0, sourceLocation: sourceLocation)
        #expect(compressed.metadata["rankedge.compress.source"] == original.name, sourceLocation: sourceLocation)
        try expectRunsTheSame(compressed, sourceLocation: sourceLocation)
    }
}
