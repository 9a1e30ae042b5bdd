/// Max or average pooling over windows (`WindowPoolStep`).
final class PoolKernel: StepKernel {
    let attributes: PoolAttributes
    let reduction: WindowPoolStep.Reduction
    init(_ attributes: PoolAttributes, _ reduction: WindowPoolStep.Reduction) { self.attributes = attributes; self.reduction = reduction }

    static var fileKinds: [String] { ["maxPool", "avgPool"] }
    var fileKind: String { reduction == .max ? "maxPool" : "avgPool" }
    var name: String { fileKind }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> PoolKernel? {
        guard !r.group.chain else { return nil }
        switch r.node.op {
        case .maxPool(let a): return PoolKernel(a, .max)
        case .avgPool(let a): return PoolKernel(a, .average)
        default: return nil
        }
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        let a = attributes
        return [("kernel_size", .ints([a.kernel.h, a.kernel.w])), ("stride", .ints([a.stride.h, a.stride.w])),
                ("padding", KernelEncoder.padding(a.padding)), ("count_include_pad", .bool(a.countIncludePad))]
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> PoolKernel {
        let k = try d.ints(o, "kernel_size", count: 2, min: 1), s = try d.ints(o, "stride", count: 2, min: 1)
        guard let include = o["count_include_pad"]?.boolValue else { throw d.fail("count_include_pad missing") }
        let attrs = PoolAttributes(kernel: Size2(k[0], k[1]), stride: Size2(s[0], s[1]), padding: try d.padding(o), countIncludePad: include)
        return PoolKernel(attrs, kind == "maxPool" ? .max : .average)
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard shapes.input.rank == 4,
              shapes.output == (try? Graph.outputShape(op: .maxPool(attributes), inputs: [shapes.input], weights: []).get()) else {
            throw d.fail("pool attributes do not match")
        }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let (i, o) = (b.shapes.input, b.shapes.output)
        return WindowPoolStep(PoolGeometry(n: i[0], h: i[1], w: i[2], c: i[3], oh: o[1], ow: o[2], attributes: attributes), reduction, x: b.x, y: b.y)
    }
}

/// The mean over all positions of each channel.
final class GlobalAvgPoolKernel: AttributeFreeKernel {
    static var fileKinds: [String] { ["globalAvgPool"] }
    var name: String { "globalAvgPool" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> GlobalAvgPoolKernel? {
        r.isOp("globalAvgPool") ? GlobalAvgPoolKernel() : nil
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        let input = shapes.input
        guard input.rank == 4, shapes.output == TensorShape([input[0], 1, 1, input[3]]) else { throw d.fail("shapes do not match") }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let i = b.shapes.input
        return GlobalAvgPoolStep(n: i[0], positions: i[1] * i[2], c: i[3], x: b.x, y: b.y)
    }
}
