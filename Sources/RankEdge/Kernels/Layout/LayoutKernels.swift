/// Concatenation on the last (channel) axis.
final class ConcatKernel: AttributeFreeKernel {
    static var fileKinds: [String] { ["concat"] }
    var name: String { "concat" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> ConcatKernel? { r.isOp("concat") ? ConcatKernel() : nil }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws {
        let out = shapes.output
        func rows(_ s: TensorShape) -> Int { s.elementCount / max(s.dims.last!, 1) }
        guard out.rank >= 1, shapes.inputs.allSatisfy({ $0.rank >= 1 }), shapes.inputs.map({ $0.dims.last! }).reduce(0, +) == out.dims.last,
              shapes.inputs.allSatisfy({ rows($0) == rows(out) })
        else { throw d.fail("concat shapes do not add up") }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let out = b.shapes.output
        return ConcatStep(rows: out.elementCount / max(out.dims.last!, 1),
                          inputs: zip(b.inputs, b.shapes.inputs).map { ($0, $1.dims.last!) }, y: b.y)
    }
}

/// Flatten, or a dropout kept as a graph output: the output is the input's memory, nothing runs.
final class AliasKernel: AttributeFreeKernel {
    static var fileKinds: [String] { ["alias"] }
    var name: String { "alias" }
    var memory: StepMemory { .alias }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> AliasKernel? {
        r.isOp("flatten") || r.isOp("dropout") ? AliasKernel() : nil
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws {
        guard shapes.input.elementCount == shapes.output.elementCount else { throw d.fail("alias changes the size") }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? { nil }
}
