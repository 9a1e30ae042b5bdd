#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Folds an inference batch norm, or a channel affine (an imported constant Mul / Add), into the
/// conv, rankConv or linear that feeds it: both are y = x·s + t per channel (for a batch norm
/// s = γ/√(σ²+ε), t = β − μ·s), so y = (W·s)·x + b·s + t. Exact; applies only when the affine is
/// the producer's sole reader, so nothing else sees the change.
public enum FoldBatchNorm {
    /// Pass the graph with `consume` to scale each weight read by one node in place.
    public static func apply(_ graph: consuming Graph) -> Graph {
        var g = consume graph
        let uses = GraphUses(g)
        var producerIndex: [String: Int] = [:]
        var weightReaders: [String: Int] = [:]
        for (i, n) in g.nodes.enumerated() {
            for o in n.outputs { producerIndex[o] = i }
            for w in n.weightInputs { weightReaders[w, default: 0] += 1 }
        }
        var removed = Set<Int>()

        for (bnIndex, bn) in g.nodes.enumerated() {
            guard let (scale, shift) = perChannelAffine(bn, g),
                  let pi = producerIndex[bn.inputs[0]], uses.hasSingleReader(bn.inputs[0]) else { continue }
            var producer = g.nodes[pi]
            let weightSlot: Int, biasSlot: Int
            switch producer.op {
            case .conv2d, .linear: (weightSlot, biasSlot) = (1, 2)
            case .rankConv2d: (weightSlot, biasSlot) = (1, 3)  // scaling the row factor a scales the kernel
            default: continue
            }
            let channels = scale.count

            // A weight only this node reads leaves the table, so scaling it copies nothing.
            let source = producer.inputs[weightSlot]
            var weight = weightReaders[source] == 1 ? g.weights.removeValue(forKey: source)! : g.weights[source]!
            let perChannel = weight.count / channels
            for s in 0..<channels {
                for j in 0..<perChannel { weight.data[s * perChannel + j] *= scale[s] }
            }
            let oldBias = producer.inputs.count > biasSlot ? g.weights[producer.inputs[biasSlot]]!.data
                                                           : [Float](repeating: 0, count: channels)
            let bias = Tensor(shape: [channels], data: (0..<channels).map { oldBias[$0] * scale[$0] + shift[$0] })

            let weightName = g.freshWeightName("\(producer.name).folded_weight")
            g.weights[weightName] = weight
            let biasName = g.freshWeightName("\(producer.name).folded_bias")
            g.weights[biasName] = bias
            producer.inputs[weightSlot] = weightName
            if producer.inputs.count > biasSlot { producer.inputs[biasSlot] = biasName } else { producer.inputs.append(biasName) }
            producer.outputs = bn.outputs
            producer.provenance = g.appendingProvenance("folded \(bn.name)", to: producer.provenance)
            g.nodes[pi] = producer
            removed.insert(bnIndex)
        }
        g.nodes = g.nodes.enumerated().filter { !removed.contains($0.offset) }.map { $0.element }
        g.pruneUnusedWeights()
        return g
    }

    /// The per-channel (s, t) of a batch norm or channel affine node; nil for any other node.
    static func perChannelAffine(_ node: Node, _ g: Graph) -> (scale: [Float], shift: [Float])? {
        switch node.op {
        case .batchNorm(let eps):
            guard node.weightInputs.count == 4 else { return nil }
            let w = node.weightInputs.map { g.weights[$0]!.data }
            let scale = (0..<w[0].count).map { w[0][$0] / sqrtf(w[3][$0] + eps) }
            return (scale, (0..<scale.count).map { w[1][$0] - w[2][$0] * scale[$0] })
        case .channelAffine:
            let w = node.weightInputs.map { g.weights[$0]!.data }
            return w.count == 2 ? (w[0], w[1]) : nil
        default:
            return nil
        }
    }
}
