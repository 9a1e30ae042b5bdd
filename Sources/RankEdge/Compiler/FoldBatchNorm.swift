#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Folds an inference batch norm into the conv, rankConv or linear that feeds it:
/// y = (W·x + b − μ)·γ/√(σ²+ε) + β  =  (W·γ')·x + (b − μ)·γ' + β,  γ' = γ/√(σ²+ε) per output channel.
/// Exact; applies only when the BN is the producer's sole reader, so nothing else sees the change.
public enum FoldBatchNorm {
    public static func apply(_ graph: Graph) -> Graph {
        var g = graph
        let uses = GraphUses(graph)
        var producerIndex: [String: Int] = [:]
        for (i, n) in g.nodes.enumerated() { for o in n.outputs { producerIndex[o] = i } }
        var removed = Set<Int>()

        for (bnIndex, bn) in graph.nodes.enumerated() {
            guard case .batchNorm(let eps) = bn.op, bn.weightInputs.count == 4,
                  let pi = producerIndex[bn.inputs[0]], uses.hasSingleReader(bn.inputs[0]) else { continue }
            var producer = g.nodes[pi]
            let weightSlot: Int, biasSlot: Int
            switch producer.op {
            case .conv2d, .linear: (weightSlot, biasSlot) = (1, 2)
            case .rankConv2d: (weightSlot, biasSlot) = (1, 3)  // scaling the row factor a scales the kernel
            default: continue
            }
            let w = bn.weightInputs.map { g.weights[$0]! }
            let (gamma, beta, mean, variance) = (w[0].data, w[1].data, w[2].data, w[3].data)
            let channels = gamma.count
            let scale = (0..<channels).map { gamma[$0] / sqrtf(variance[$0] + eps) }

            var weight = g.weights[producer.inputs[weightSlot]]!
            let perChannel = weight.count / channels
            for s in 0..<channels {
                for j in 0..<perChannel { weight.data[s * perChannel + j] *= scale[s] }
            }
            let oldBias = producer.inputs.count > biasSlot ? g.weights[producer.inputs[biasSlot]]!.data
                                                           : [Float](repeating: 0, count: channels)
            let bias = Tensor(shape: [channels], data: (0..<channels).map { (oldBias[$0] - mean[$0]) * scale[$0] + beta[$0] })

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
        g.nodes = g.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        g.pruneUnusedWeights()
        return g
    }
}
