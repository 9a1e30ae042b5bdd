import RankEdge
import RankEdgeZoo

/// A zoo model compiled once and shared read-only by every session, so each session runs the same
/// kernels (compiling per session could time a different conv form and change the bits).
struct StressModel: Sendable {
    let name: String
    let model: CompiledModel
    let sampleShape: [Int]

    static func zoo(_ name: String, _ variant: ZooVariant) throws -> StressModel {
        let graph = try Zoo.build(name, variant: variant, seed: 5)
        let model = try GraphCompiler.compile(graph, options: CompileOptions(threads: 1))
        return StressModel(name: "\(name):\(variant)", model: model, sampleShape: Array(graph.inputs[0].shape.dims.dropFirst()))
    }

    /// A fixed input per batch size: the same values on every run, so outputs must match bit for bit.
    func input(batch: Int) -> Tensor {
        let count = batch * sampleShape.reduce(1, *)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(batch)
        let data = (0..<count).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 40) % 2001 - 1000) / 1000
        }
        return Tensor(shape: [batch] + sampleShape, data: data)
    }
}

/// One run's choice: which model, which batch size, and whose session — the thread's own (1 or 2
/// pool threads) or the one every thread shares behind a lock.
struct RunChoice: Hashable, Sendable {
    enum Owner: Hashable, Sendable { case own(threads: Int), shared }
    let model: Int
    let batch: Int
    let owner: Owner

    static let batches = [1, 2, 3]

    /// A deterministic mix that differs between threads, so neighbours run different models.
    static func of(run: Int, thread: Int, models: Int) -> RunChoice {
        let h = (run &* 2_654_435_761 &+ thread &* 40_503) & 0x7fff_ffff
        let owner: Owner = switch h % 5 { case 0: .shared; case 1, 2: .own(threads: 2); default: .own(threads: 1) }
        return RunChoice(model: (h / 5) % models, batch: batches[(h / 5 / models) % batches.count], owner: owner)
    }

    var sessionThreads: Int { if case .own(let t) = owner { t } else { 1 } }
}
