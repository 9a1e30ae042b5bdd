import Foundation
import RankEdge
import RankEdgeInput

/// Runs a model on single inputs with the fast runtime. The one place the CLI chooses an
/// executor, so every command measures and predicts with the same engine.
struct ModelRunner {
    let graph: Graph
    let inputShape: TensorShape
    let normalization: InputNormalization
    let session: InferenceSession

    init(path: String, choices: RuntimeChoices = RuntimeChoices()) throws {
        let loaded = try loadModel(path, choices: choices)
        try self.init(graph: loaded.graph, session: loaded.session, source: path)
    }

    init(graph: Graph, choices: RuntimeChoices = RuntimeChoices()) throws {
        let session: InferenceSession
        do { session = try InferenceSession(graph: graph, options: .init(threads: choices.threads, isa: choices.isa, rankConvForm: choices.rankForm,
                                                                                     maxMemoryBytes: choices.maxMemoryBytes)) } catch {
            throw CLIError("\(graph.name): \(error)")
        }
        try self.init(graph: graph, session: session, source: graph.name)
    }

    private init(graph: Graph, session: InferenceSession, source: String) throws {
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw CLIError("model '\(graph.name)' has \(graph.inputs.count) inputs and \(graph.outputs.count) outputs; this command needs one of each")
        }
        self.graph = graph
        self.session = session
        inputShape = graph.inputs[0].shape
        do { normalization = try InputNormalization(graph: graph, channels: inputShape.dims.last!) } catch { throw CLIError("\(source): \(error)") }
    }

    func run(_ input: Tensor) throws -> Tensor {
        do { return try session.run(input) } catch { throw CLIError("\(error)") }
    }

    /// An 8-bit HWC image normalised the way the model was trained; its size must match the model.
    func tensor(hwc: [UInt8], height: Int, width: Int, source: String) throws -> Tensor {
        let expected = inputShape.dims
        guard expected.count == 4, expected[1] == height, expected[2] == width, expected[3] == 3 else {
            throw CLIError("\(source) is \(height)x\(width)x3 but model '\(graph.name)' takes input \(inputShape)")
        }
        return normalization.tensor(hwc: hwc, height: height, width: width)
    }
}

/// Softmax probabilities of one logits row, for display.
func probabilities(_ logits: ArraySlice<Float>) -> [Float] {
    let m = logits.max() ?? 0
    let e = logits.map { expf($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}
