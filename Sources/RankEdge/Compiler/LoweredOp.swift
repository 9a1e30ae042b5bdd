/// One step of a compiled model: a fusion group with its weights prepared, not yet bound to memory.
public struct LoweredOp {
    /// The leader node's name (the conv of a conv + add + ReLU).
    public var name: String
    /// Every graph node the step computes.
    public var nodes: [String]
    /// The kernel that runs the step, with its weights in the kernel's layout.
    var prepared: any StepKernel
    /// Activation inputs of the leader.
    public var inputs: [String]
    public var residual: String?
    public var activation: GEMMActivation
    public var output: String

    /// The kernel's name in tables and JSON.
    public var kernel: String { prepared.name }
}
