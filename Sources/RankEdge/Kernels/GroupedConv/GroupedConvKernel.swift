/// The grouped conv's direct kernel as a step kernel (`GroupedConvStep`, re_grouped_rows).
extension GroupedConvWeights: StepKernel {
    static var fileKinds: [String] { ["grouped-direct"] }
    var name: String { "grouped-direct" }
    var appliesActivationFunctions: Bool { true }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> GroupedConvWeights? {
        guard r.convChoice == .groupedDirect, case .conv2d(let attrs) = r.node.op else { return nil }
        return GroupedConvWeights(weight: r.weight(1)!, bias: r.weight(2), attributes: attrs)
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        [("kh", .int(kh)), ("kw", .int(kw)), ("inputs_per_group", .int(cg)), ("outputs_per_group", .int(sg))]
            + KernelEncoder.convAttributes(attributes)
            + [("weights", e.store("weights", weights)), ("bias", e.storeOptional("bias", bias))]
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> GroupedConvWeights {
        let attrs = try d.convAttributes(o)
        let (kh, kw) = (try d.int(o, "kh", min: 1), try d.int(o, "kw", min: 1))
        let (cg, sg) = (try d.int(o, "inputs_per_group", min: 1), try d.int(o, "outputs_per_group", min: 1))
        guard applies(weight: TensorShape([sg * attrs.groups, kh, kw, cg]), attributes: attrs) else {
            throw d.fail("\(attrs.groups) groups of \(cg) inputs and \(sg) outputs are not the grouped kernel's")
        }
        let s = try d.count(sg, attrs.groups)
        return GroupedConvWeights(attributes: attrs, kh: kh, kw: kw, cg: cg, sg: sg,
                                  weights: try d.tensor(o["weights"], count: d.count(s, kh, kw, cg)),
                                  bias: try d.optionalTensor(o["bias"], count: s))
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        let (input, out) = (shapes.input, shapes.output)
        let s = sg * groups
        guard input.rank == 4, input[3] == cg * groups, out == d.convOutput(attributes, input: input, weight: [s, kh, kw, cg]) else {
            throw d.fail("grouped weights do not match input \(input) / output \(out)")
        }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let g = ConvGeometry(input: b.shapes.input, output: b.shapes.output, kh: kh, kw: kw, cg: cg, groups: groups, attributes: attributes)
        return GroupedConvStep(weights: self, geometry: g, x: b.x, y: b.y, residual: b.residual, activation: b.activation, isa: b.isa)
    }
}
