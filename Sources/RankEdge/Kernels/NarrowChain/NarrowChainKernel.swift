/// The narrow low-rank chain as a step kernel (`NarrowChainStep`, re_narrowchain).
extension NarrowChainWeights: StepKernel {
    static var fileKinds: [String] { ["narrow-chain"] }
    var name: String { "narrow-chain" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> NarrowChainWeights? {
        guard r.chainChoice == .narrow else { return nil }
        let nodes = r.group.members.prefix(3).map { r.graph.nodes[$0] }
        guard case .conv2d(let coreAttributes) = nodes[1].op else { return nil }
        func weight(_ n: Node, _ i: Int) -> Tensor? { n.inputs.count > i ? r.graph.weights[n.inputs[i]] : nil }
        return NarrowChainWeights(first: weight(nodes[0], 1)!, firstBias: weight(nodes[0], 2), core: weight(nodes[1], 1)!,
                                  coreBias: weight(nodes[1], 2), coreAttributes: coreAttributes, last: weight(nodes[2], 1)!,
                                  lastBias: weight(nodes[2], 2))
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        [("in", .int(inChannels)), ("out", .int(outChannels)),
         ("first", e.store("first", first)), ("first_bias", e.storeOptional("first_bias", firstBias)),
         ("last", e.store("last", last)), ("last_bias", e.storeOptional("last_bias", lastBias)),
         ("core", .object(JSONObject(core.encodeFields(e, prefix: "core."))))]
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> NarrowChainWeights {
        guard let coreObject = o["core"]?.objectValue else { throw d.fail("a narrow chain needs its core") }
        let core = try NarrowConvWeights.decode(coreObject, kind: "narrow-direct", d)
        let (inC, out) = (try d.int(o, "in", min: 1), try d.int(o, "out", min: 1))
        return NarrowChainWeights(
            inChannels: inC, outChannels: out,
            first: try d.tensor(o["first"], count: d.count(core.inChannels, inC)),
            firstBias: try d.optionalTensor(o["first_bias"], count: core.inChannels), core: core,
            last: try d.tensor(o["last"], count: d.count(core.outChannels, Self.padded(out))),
            lastBias: try d.optionalTensor(o["last_bias"], count: Self.padded(out)))
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        let (input, out) = (shapes.input, shapes.output)
        guard input.rank == 4, input[3] == inChannels,
              let coreOut = d.convOutput(core.attributes, input: TensorShape([input[0], input[1], input[2], core.inChannels]),
                                         weight: [core.outChannels, core.kh, core.kw, core.inChannels]),
              out == TensorShape([coreOut[0], coreOut[1], coreOut[2], outChannels]), out[2] >= 1 else {
            throw d.fail("narrow chain weights do not match input \(input) / output \(out)")
        }
    }

    func reshape(_ shapes: StepShapes, threads: Int) -> (tiling: NarrowChainStep.Tiling, scratchFloats: Int) {
        let t = NarrowChainStep.Tiling.choose(self, input: shapes.input, output: shapes.output, threads: threads)
        return (t, t.scratchFloats)
    }

    func bind(_ t: NarrowChainStep.Tiling, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        NarrowChainStep(name: b.name, weights: self, input: b.shapes.input, output: b.shapes.output, x: b.x, y: b.y, residual: b.residual,
                        activation: b.activation, tiling: t, scratch: b.scratch!, isa: b.isa)
    }
}
