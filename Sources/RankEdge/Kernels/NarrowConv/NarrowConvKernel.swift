/// The narrow direct conv as a step kernel (`NarrowConvStep`, re_narrowconv_rows).
extension NarrowConvWeights: StepKernel {
    static var fileKinds: [String] { ["narrow-direct"] }
    var name: String { "narrow-direct" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> NarrowConvWeights? {
        guard r.convChoice == .narrowDirect, case .conv2d(let attrs) = r.node.op else { return nil }
        return NarrowConvWeights(weight: r.weight(1)!, bias: r.weight(2), attributes: attrs)
    }

    func encodeFields(_ e: KernelEncoder, prefix: String = "") -> [(String, JSONValue)] {
        [("kh", .int(kh)), ("kw", .int(kw)), ("in", .int(inChannels)), ("out", .int(outChannels))] + KernelEncoder.convAttributes(attributes)
            + [("weights", e.store("\(prefix)weights", weights)), ("bias", e.storeOptional("\(prefix)bias", bias))]
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] { encodeFields(e) }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> NarrowConvWeights {
        let attrs = try d.convAttributes(o)
        let (kh, kw) = (try d.int(o, "kh", min: 1), try d.int(o, "kw", min: 1))
        let (inC, out) = (try d.int(o, "in", min: 1), try d.int(o, "out", min: 1))
        guard attrs.groups == 1, attrs.stride == .square(1), attrs.dilation == .square(1) else {
            throw d.fail("the narrow direct kernel needs groups 1, stride 1, dilation 1")
        }
        return NarrowConvWeights(attributes: attrs, kh: kh, kw: kw, inChannels: inC, outChannels: out,
                                 weights: try d.tensor(o["weights"], count: d.count(kh, kw, inC, out)),
                                 bias: try d.optionalTensor(o["bias"], count: out))
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        let (input, out) = (shapes.input, shapes.output)
        guard input.rank == 4, input[3] == inChannels, out == d.convOutput(attributes, input: input, weight: [outChannels, kh, kw, inChannels]),
              out[2] >= 1 else {
            throw d.fail("narrow conv weights do not match input \(input) / output \(out)")
        }
    }

    func reshape(_ shapes: StepShapes, threads: Int) -> (tiling: NarrowConvStep.Tiling, scratchFloats: Int) {
        let t = NarrowConvStep.Tiling.choose(self, input: shapes.input, output: shapes.output, threads: threads)
        return (t, t.planarFloats)
    }

    func bind(_ t: NarrowConvStep.Tiling, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        NarrowConvStep(weights: self, input: b.shapes.input, output: b.shapes.output, x: b.x, y: b.y, residual: b.residual,
                       activation: b.activation, tiling: t, scratch: b.scratch!, isa: b.isa)
    }
}
