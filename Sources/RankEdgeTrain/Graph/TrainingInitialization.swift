import RankEdge
import RankEdgeCompress

/// Fresh weights for training a graph from scratch, drawn node by node in graph order from one
/// seeded generator (so a seed names one initial model):
/// - conv2d and linear: PyTorch's default U(−1/√fan_in, 1/√fan_in) for weight and bias (kaiming-uniform
///   with a = √5), which the papers' protocol assumes; the factors of an ELRT chain (provenance
///   "elrt of …") take Xavier-uniform, ELRT's own initialisation;
/// - rankConv2d: a PyTorch-default k×k kernel per (out, in) pair, then its SVD truncated to rank L with
///   √σ on both factors (the paper's initialisation, which keeps the kernel's scale);
/// - batchNorm: scale 1, shift 0, running mean 0, running variance 1.
public func initializeForTraining(_ graph: Graph, seed: UInt64) throws -> Graph {
    var g = graph
    var rng = SeededRandom(seed: mixSeeds(seed, 0x1417))
    func set(_ name: String, _ data: [Float]) { g.weights[name] = Tensor(shape: g.weights[name]!.shape, data: data) }
    for node in graph.nodes {
        let w = Array(node.weightInputs)
        switch node.op {
        case .conv2d:
            let shape = g.weights[w[0]]!.shape.dims
            let (s, kh, kw, cg) = (shape[0], shape[1], shape[2], shape[3])
            let fanIn = cg * kh * kw
            let elrt = node.provenance?.hasPrefix("elrt of") ?? false
            set(w[0], elrt ? xavierUniform(s * fanIn, fanIn: fanIn, fanOut: s * kh * kw, rng: &rng)
                           : defaultInit(s * fanIn, fanIn: fanIn, rng: &rng))
            if w.count > 1 { set(w[1], defaultInit(s, fanIn: fanIn, rng: &rng)) }
        case .linear:
            let shape = g.weights[w[0]]!.shape.dims
            set(w[0], defaultInit(shape[0] * shape[1], fanIn: shape[1], rng: &rng))
            if w.count > 1 { set(w[1], defaultInit(shape[0], fanIn: shape[1], rng: &rng)) }
        case .rankConv2d:
            let shape = g.weights[w[0]]!.shape.dims
            let (s, c, l, k) = (shape[0], shape[1], shape[2], shape[3])
            let fanIn = c * k * k
            let full = defaultInit(s * c * k * k, fanIn: fanIn, rng: &rng)
            var a = [Float](repeating: 0, count: s * c * l * k), b = a
            for pair in 0..<(s * c) {
                let svd = try SVD(Array(full[(pair * k * k)..<((pair + 1) * k * k)]), rows: k, cols: k)
                for r in 0..<l {
                    let root = svd.s[r].squareRoot()
                    for i in 0..<k {
                        a[(pair * l + r) * k + i] = root * svd.u[i * k + r]
                        b[(pair * l + r) * k + i] = root * svd.vt[r * k + i]
                    }
                }
            }
            set(w[0], a); set(w[1], b)
            if w.count > 2 { set(w[2], defaultInit(s, fanIn: fanIn, rng: &rng)) }
        case .batchNorm:
            let c = g.weights[w[0]]!.count
            for (name, value) in zip(w, [Float(1), 0, 0, 1]) { set(name, [Float](repeating: value, count: c)) }
        default:
            continue
        }
    }
    return g
}

func defaultInit(_ count: Int, fanIn: Int, rng: inout SeededRandom) -> [Float] {
    let bound = 1 / Float(max(fanIn, 1)).squareRoot()
    return (0..<count).map { _ in rng.uniform(-bound, bound) }
}

/// U(−√(6/(fan_in + fan_out)), +…).
func xavierUniform(_ count: Int, fanIn: Int, fanOut: Int, rng: inout SeededRandom) -> [Float] {
    let bound = (6 / Float(max(fanIn + fanOut, 1))).squareRoot()
    return (0..<count).map { _ in rng.uniform(-bound, bound) }
}
