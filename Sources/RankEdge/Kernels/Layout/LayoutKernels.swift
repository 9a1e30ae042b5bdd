/// Concatenation on the last (channel) axis.
final class ConcatKernel: AttributeFreeKernel {
    static var fileKinds: [String] { ["concat"] }
    var name: String { "concat" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> ConcatKernel? { r.isOp("concat") ? ConcatKernel() : nil }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
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

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard shapes.input.elementCount == shapes.output.elementCount else { throw d.fail("alias changes the size") }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? { nil }
}

/// ShuffleNet's channel shuffle, or a channel slice (a Split output): each output row gathers
/// input channels by a fixed index list (`ChannelGatherStep`).
final class ChannelGatherKernel: StepKernel {
    enum Form: Equatable { case shuffle(groups: Int), slice(start: Int, count: Int) }
    let form: Form
    init(_ form: Form) { self.form = form }

    static var fileKinds: [String] { ["channel-shuffle", "channel-slice"] }
    var fileKind: String { name }
    var name: String {
        switch form {
        case .shuffle: "channel-shuffle"
        case .slice: "channel-slice"
        }
    }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> ChannelGatherKernel? {
        switch r.node.op {
        case .channelShuffle(let groups): ChannelGatherKernel(.shuffle(groups: groups))
        case .channelSlice(let start, let count): ChannelGatherKernel(.slice(start: start, count: count))
        default: nil
        }
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        switch form {
        case .shuffle(let groups): [("groups", .int(groups))]
        case .slice(let start, let count): [("start", .int(start)), ("count", .int(count))]
        }
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> ChannelGatherKernel {
        if kind == "channel-shuffle" {
            guard let g = o["groups"]?.intValue else { throw d.fail("'groups' is missing") }
            return ChannelGatherKernel(.shuffle(groups: g))
        }
        guard let start = o["start"]?.intValue, let count = o["count"]?.intValue else { throw d.fail("'start' or 'count' is missing") }
        return ChannelGatherKernel(.slice(start: start, count: count))
    }

    var op: Op {
        switch form {
        case .shuffle(let groups): .channelShuffle(groups: groups)
        case .slice(let start, let count): .channelSlice(start: start, count: count)
        }
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard case .success(let out) = Graph.outputShape(op: op, inputs: [shapes.input], weights: []), out == shapes.output else {
            throw d.fail("\(name) does not fit \(shapes.input) → \(shapes.output)")
        }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let inWidth = b.shapes.input.dims.last!
        let indices: [Int]
        switch form {
        case .shuffle(let g):
            let perGroup = inWidth / g
            indices = (0..<inWidth).map { o in (o % g) * perGroup + o / g }
        case .slice(let start, let count):
            indices = Array(start..<(start + count))
        }
        return ChannelGatherStep(rows: b.shapes.input.elementCount / max(inWidth, 1), inWidth: inWidth, indices: indices, x: b.x, y: b.y)
    }
}
