/// The depthwise conv as a step kernel (`DepthwiseStep`, re_depthwise_rows).
extension DepthwiseWeights: StepKernel {
    static var fileKinds: [String] { ["depthwise"] }
    var name: String { "depthwise" }
    var appliesActivationFunctions: Bool { true }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> DepthwiseWeights? {
        guard r.convChoice == .depthwise, case .conv2d(let attrs) = r.node.op else { return nil }
        return DepthwiseWeights(weight: r.weight(1)!, bias: r.weight(2), attributes: attrs)
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        [("kh", .int(kh)), ("kw", .int(kw)), ("channels", .int(channels))] + KernelEncoder.convAttributes(attributes)
            + [("weights", e.store("weights", weights)), ("bias", e.storeOptional("bias", bias))]
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> DepthwiseWeights {
        let attrs = try d.convAttributes(o)
        let (kh, kw, c) = (try d.int(o, "kh", min: 1), try d.int(o, "kw", min: 1), try d.int(o, "channels", min: 1))
        return DepthwiseWeights(attributes: attrs, kh: kh, kw: kw, channels: c, weights: try d.tensor(o["weights"], count: d.count(kh, kw, c)),
                                bias: try d.optionalTensor(o["bias"], count: c))
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        let (input, out) = (shapes.input, shapes.output)
        guard input.rank == 4, input[3] == channels, out == d.convOutput(attributes, input: input, weight: [channels, kh, kw, 1]) else {
            throw d.fail("depthwise weights do not match input \(input) / output \(out)")
        }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let g = ConvGeometry(input: b.shapes.input, output: b.shapes.output, kh: kh, kw: kw, cg: 1, groups: channels, attributes: attributes)
        return DepthwiseStep(weights: self, geometry: g, x: b.x, y: b.y, residual: b.residual, activation: b.activation, isa: b.isa)
    }
}
