import RankEdge

/// Training (batch statistics, dropout on) or evaluation (running statistics, dropout off).
public enum Mode: Sendable { case training, evaluation }

/// What a forward pass needs besides its input: the mode, and the (seed, step) pair every random
/// choice in the pass derives from, so a step is reproducible on its own (for resume).
public struct ForwardContext: Sendable {
    public var mode: Mode
    public var seed: UInt64
    public var step: Int
    public init(mode: Mode, seed: UInt64 = 0, step: Int = 0) { self.mode = mode; self.seed = seed; self.step = step }
    public static let evaluation = ForwardContext(mode: .evaluation)
}

/// A trainable parameter or a buffer (state that is saved and exported but not trained).
public struct NamedTensor {
    public let name: String
    public let variable: Variable
}

/// A layer or a container of layers. `name` is the dotted path (`block2.conv1`); parameters and
/// buffers are `name.weight`, `name.running_mean`, …, which is also what export writes, so names are
/// stable from training through checkpoints to the runtime graph.
public protocol Module: AnyObject {
    var name: String { get }
    func forward(_ x: Variable, _ context: ForwardContext) -> Variable
    /// Own and children's trainable parameters, in a fixed order.
    var parameters: [NamedTensor] { get }
    /// Own and children's buffers (batch-norm running statistics), in a fixed order.
    var buffers: [NamedTensor] { get }
    /// Adds this module's nodes to a runtime graph; returns the name of its output tensor.
    func export(into builder: inout GraphBuilder, input: String) -> String
    /// Direct children of a container (empty for a leaf layer).
    var submodules: [any Module] { get }
}

extension Module {
    public var parameters: [NamedTensor] { [] }
    public var buffers: [NamedTensor] { [] }
    /// Parameters then buffers: everything a checkpoint or an export must carry.
    public var state: [NamedTensor] { parameters + buffers }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.variable.count } }
    public var submodules: [any Module] { [] }
    /// This module and every module below it, depth first in forward order.
    public var allModules: [any Module] { [self] + submodules.flatMap { $0.allModules } }
}

/// Joins a module path: ("block1", "conv1") → "block1.conv1"; an empty prefix adds nothing.
public func modulePath(_ prefix: String, _ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

public enum WeightInitialization: Sendable {
    /// U(−1/√fan_in, 1/√fan_in), PyTorch's conv/linear default.
    case pytorchDefault
    /// U(−√(6/(fan_in + fan_out)), +…): ELRT's initialisation of its Tucker factors.
    case xavierUniform
}

/// PyTorch's default initialisation for conv and linear layers: U(−1/√fan_in, 1/√fan_in) for both
/// weight and bias (kaiming-uniform with a = √5), which the papers' training protocol assumes.
func defaultInit(_ count: Int, fanIn: Int, rng: inout SeededRandom) -> [Float] {
    let bound = 1 / Float(max(fanIn, 1)).squareRoot()
    return (0..<count).map { _ in rng.uniform(-bound, bound) }
}

func xavierUniform(_ count: Int, fanIn: Int, fanOut: Int, rng: inout SeededRandom) -> [Float] {
    let bound = (6 / Float(max(fanIn + fanOut, 1))).squareRoot()
    return (0..<count).map { _ in rng.uniform(-bound, bound) }
}
