/// The separable rank-L conv as a step kernel (`SeparableRankConvStep`, re_rankconv_tile).
extension SeparableRankWeights: StepKernel {
    static var fileKinds: [String] { ["separable-rank"] }
    var name: String { "separable-rank" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> SeparableRankWeights? {
        guard !r.group.chain, case .rankConv2d(let attrs) = r.node.op else { return nil }
        return SeparableRankWeights(a: r.weight(1)!, b: r.weight(2)!, bias: r.weight(3), attributes: attrs)
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        [("out", .int(outChannels)), ("in", .int(inChannels)), ("rank", .int(rank)), ("k", .int(k)),
         ("stride", .ints([attributes.stride.h, attributes.stride.w])), ("padding", KernelEncoder.padding(attributes.padding)),
         ("horizontal", e.store("horizontal", horizontal)), ("vertical", e.store("vertical", vertical)),
         ("bias", e.storeOptional("bias", bias))]
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> SeparableRankWeights {
        let s = try d.ints(o, "stride", count: 2, min: 1)
        let attrs = RankConv2DAttributes(stride: Size2(s[0], s[1]), padding: try d.padding(o))
        let (out, inC, rank, k) = (try d.int(o, "out", min: 1), try d.int(o, "in", min: 1), try d.int(o, "rank", min: 1), try d.int(o, "k", min: 1))
        let sp = (out + 7) / 8 * 8
        return SeparableRankWeights(attributes: attrs, outChannels: out, inChannels: inC, rank: rank, k: k,
                                    horizontal: try d.tensor(o["horizontal"], count: d.count(inC, k, rank, sp)),
                                    vertical: try d.tensor(o["vertical"], count: d.count(inC, rank, k, sp)),
                                    bias: try d.optionalTensor(o["bias"], count: out))
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        let (input, out) = (shapes.input, shapes.output)
        let factor = TensorShape([outChannels, inChannels, rank, k])
        guard input.rank == 4, out == (try? Graph.outputShape(op: .rankConv2d(attributes), inputs: [input], weights: [factor, factor]).get()) else {
            throw d.fail("rank factors do not match input \(input) / output \(out)")
        }
    }

    func reshape(_ shapes: StepShapes, threads: Int) -> (tiling: SeparableRankConvStep.Tiling, scratchFloats: Int) {
        let t = SeparableRankConvStep.Tiling.choose(self, output: shapes.output, threads: threads)
        return (t, t.scratchFloats)
    }

    func bind(_ t: SeparableRankConvStep.Tiling, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        SeparableRankConvStep(weights: self, input: b.shapes.input, output: b.shapes.output, x: b.x, y: b.y, residual: b.residual,
                              activation: b.activation, tiling: t, scratch: b.scratch!, isa: b.isa)
    }
}
