import RankEdge

/// Batch normalisation over the channel axis with learned scale (weight) and shift (bias) and
/// running statistics as buffers; exported as a batchNorm node that the compiler folds.
public final class BatchNorm2D: Module {
    public let name: String
    public let weight: Variable
    public let bias: Variable
    public let runningMean: Variable
    public let runningVar: Variable
    public let momentum: Float
    public let epsilon: Float

    public init(name: String, channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        self.name = name; self.momentum = momentum; self.epsilon = epsilon
        weight = Variable(shape: [channels], data: [Float](repeating: 1, count: channels), requiresGrad: true)
        bias = Variable(shape: [channels], data: [Float](repeating: 0, count: channels), requiresGrad: true)
        runningMean = Variable(shape: [channels], data: [Float](repeating: 0, count: channels))
        runningVar = Variable(shape: [channels], data: [Float](repeating: 1, count: channels))
    }

    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable {
        forward(x, context, relu: false)
    }

    /// relu(self(x) + residual) as one op (`Sequential` uses it for a BatchNorm2D followed by a ReLU,
    /// `Residual` for a body ending in a BatchNorm2D).
    public func forward(_ x: Variable, _ context: ForwardContext, residual: Variable? = nil, relu: Bool) -> Variable {
        batchNorm(x, gamma: weight, beta: bias, runningMean: runningMean.value, runningVar: runningVar.value,
                  training: context.mode == .training, momentum: momentum, epsilon: epsilon, residual: residual, relu: relu)
    }

    public var parameters: [NamedTensor] {
        [NamedTensor(name: "\(name).weight", variable: weight), NamedTensor(name: "\(name).bias", variable: bias)]
    }
    public var buffers: [NamedTensor] {
        [NamedTensor(name: "\(name).running_mean", variable: runningMean), NamedTensor(name: "\(name).running_var", variable: runningVar)]
    }

    public func export(into b: inout GraphBuilder, input: String) -> String {
        let names = ["weight", "bias", "running_mean", "running_var"].map { "\(name).\($0)" }
        for (n, v) in zip(names, [weight, bias, runningMean, runningVar]) { b.addWeight(n, v.runtimeTensor) }
        return b.add(.batchNorm(epsilon: epsilon), name: name, inputs: [input] + names)
    }
}
