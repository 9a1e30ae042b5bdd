/// The fused low-rank chain on the GEMM as a step kernel (`TuckerChainStep`).
extension TuckerChainWeights: StepKernel {
    static var fileKinds: [String] { ["tucker-chain"] }
    var name: String { "tucker-chain" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> TuckerChainWeights? {
        guard r.chainChoice == .tucker else { return nil }
        var parts: [GEMMConvWeights] = []
        for index in r.group.members.prefix(3) {
            let n = r.graph.nodes[index]
            guard case .conv2d(let attrs) = n.op else { throw .unsupported(node: n.name, message: "chain member is not a conv") }
            let w = r.graph.weights[n.inputs[1]]!
            parts.append(try GEMMConvWeights.prepared(w, bias: n.inputs.count > 2 ? r.graph.weights[n.inputs[2]] : nil, attributes: attrs,
                                                      choice: ConvFormSelector.chainMember(weight: w.shape, attributes: attrs, isa: r.isa),
                                                      isa: r.isa, node: n.name))
        }
        return TuckerChainWeights(first: parts[0], core: parts[1], last: parts[2])
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        [("first", .object(JSONObject(first.encodeFields(e, prefix: "first.")))),
         ("core", .object(JSONObject(core.encodeFields(e, prefix: "core.")))),
         ("last", .object(JSONObject(last.encodeFields(e, prefix: "last."))))]
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> TuckerChainWeights {
        guard let first = o["first"]?.objectValue, let core = o["core"]?.objectValue, let last = o["last"]?.objectValue else {
            throw d.fail("a chain needs first, core and last")
        }
        let (a, b, c) = (try GEMMConvWeights.decode(first, kind: "gemm", d), try GEMMConvWeights.decode(core, kind: "gemm", d),
                         try GEMMConvWeights.decode(last, kind: "gemm", d))
        guard a.kh == 1, a.kw == 1, a.groups == 1, c.kh == 1, c.kw == 1, c.groups == 1, a.isPointwise, c.isPointwise,
              b.cg * b.groups == a.outChannels, c.cg == b.outChannels, b.attributes.dilation == .square(1) else {
            throw d.fail("chain convs do not fit together")
        }
        return TuckerChainWeights(first: a, core: b, last: c)
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        let (input, out) = (shapes.input, shapes.output)
        guard input.rank == 4 else { throw d.fail("a chain needs an NHWC input, got \(input)") }
        let coreOut = d.convOutput(core.attributes, input: TensorShape([input[0], input[1], input[2], first.outChannels]),
                                   weight: [core.outChannels, core.kh, core.kw, core.cg])
        guard input[3] == first.cg, let coreOut, out == TensorShape([coreOut[0], coreOut[1], coreOut[2], last.outChannels]) else {
            throw d.fail("chain weights do not match input \(input) / output \(out)")
        }
    }

    func reshape(_ shapes: StepShapes, threads: Int) -> (tiling: TuckerChainStep.Tiling, scratchFloats: Int) {
        let t = TuckerChainStep.Tiling.choose(self, input: shapes.input, output: shapes.output, threads: threads)
        return (t, t.scratchPerSlot * t.slots)
    }

    func bind(_ t: TuckerChainStep.Tiling, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        TuckerChainStep(name: b.name, weights: self, input: b.shapes.input, output: b.shapes.output, x: b.x, y: b.y, residual: b.residual,
                        activation: b.activation, tiling: t, scratch: SlotScratch(base: b.scratch, floatsPerSlot: t.scratchPerSlot))
    }
}
