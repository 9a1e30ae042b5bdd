/// The GEMM conv as a step kernel: conv2d (dense or grouped) and linear layers in any
/// `GEMMConvForm`, run by `ConvStep`.
extension GEMMConvWeights: StepKernel {
    static var fileKinds: [String] { ["gemm"] }

    var name: String {
        switch form {
        case .winograd(let t, _): t.m == 2 ? "winograd-gemm" : "winograd\(t.m)x\(t.m)-gemm"
        case .pointwise: "gemm-1x1"
        case .im2col: groups > 1 ? "gemm-grouped" : "im2col-gemm"
        case .shiftedRows: "shifted-gemm"
        }
    }

    /// The GEMM forms apply a function per finished block of C, the shifted form per band; the
    /// Winograd form's output tiles are scattered over rows, so the plan runs it after the step.
    var appliesActivationFunctions: Bool {
        if case .winograd = form { return false }
        return true
    }

    /// A conv2d the selector put on the GEMM, or a linear layer.
    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> GEMMConvWeights? {
        switch r.node.op {
        case .conv2d(let attrs) where r.convChoice != nil:
            guard case .gemm = r.convChoice! else { return nil }
            return try prepared(r.weight(1)!, bias: r.weight(2), attributes: attrs, choice: r.convChoice!, isa: r.isa, node: r.node.name)
        case .linear where !r.group.chain:
            return try prepared(r.weight(1)!, bias: r.weight(2), attributes: Conv2DAttributes(), choice: .gemm(.pointwise, blockDiagonal: false),
                                isa: r.isa, node: r.node.name)
        default:
            return nil
        }
    }

    /// The weights of a conv in the form the selector chose.
    static func prepared(_ w: Tensor, bias: Tensor?, attributes: Conv2DAttributes, choice: ConvKernelChoice, isa: GEMMISA,
                         node: String) throws(ExecutionError) -> GEMMConvWeights {
        guard case .gemm(let form, let blockDiagonal) = choice else { throw .unsupported(node: node, message: "not a GEMM conv") }
        var attrs = attributes
        var weight = w
        if blockDiagonal {
            // A few narrow groups (a branched Tucker core): one GEMM over a block-diagonal weight does
            // the same lane work as the per-group GEMMs, in one call.
            weight = GEMMConvWeights.blockDiagonal(w, groups: attrs.groups)
            attrs.groups = 1
        }
        do { return try GEMMConvWeights(weight: weight, bias: bias, attributes: attrs, isa: isa, form: form) } catch {
            throw .unsupported(node: node, message: error.description)
        }
    }

    /// The fields of these weights; `prefix` names the parts of one conv of a chain.
    func encodeFields(_ e: KernelEncoder, prefix: String = "") -> [(String, JSONValue)] {
        func stored(_ part: String) -> JSONValue {
            .array(matrices.enumerated().map { e.store("\(prefix)\(part)\($0.offset)", $0.element.packedFloats) })
        }
        var packed: JSONValue = .array([]), tapRows: JSONValue = .array([]), winograd: JSONValue = .array([])
        var tile: JSONValue = .null
        switch form {
        case .pointwise, .im2col: packed = stored("packed")
        case .shiftedRows: tapRows = stored("taprow")
        case .winograd(let t, _): (winograd, tile) = (stored("winograd"), .int(t.m))
        }
        return [("kh", .int(kh)), ("kw", .int(kw)), ("cg", .int(cg)), ("out", .int(outChannels))]
            + KernelEncoder.convAttributes(attributes)
            + [("kc", .int(matrices.first?.kc ?? 1)), ("packed", packed), ("tap_rows", tapRows), ("winograd", winograd),
               ("winograd_tile", tile), ("bias", e.storeOptional("\(prefix)bias", bias))]
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] { encodeFields(e) }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> GEMMConvWeights {
        let attrs = try d.convAttributes(o)
        let (kh, kw, cg, out) = (try d.int(o, "kh", min: 1), try d.int(o, "kw", min: 1), try d.int(o, "cg", min: 1), try d.int(o, "out", min: 1))
        let kc = try d.int(o, "kc", min: 1)
        guard out % attrs.groups == 0 else { throw d.fail("groups do not divide the outputs") }
        let packedNames = try d.array(o["packed"], "packed")
        let tapNames = o["tap_rows"] == nil ? [] : try d.array(o["tap_rows"], "tap_rows")
        let winogradNames = o["winograd"] == nil ? [] : try d.array(o["winograd"], "winograd")
        func matrices(_ names: [JSONValue], k: Int, n: Int) throws(CompiledModelError) -> [PackedMatrixB] {
            // Sizes the GEMM refuses are a malformed file (one error type: typed throws, Embedded Swift).
            let count: Int
            do { count = try PackedMatrixB.packedCount(k: k, n: n, isa: d.isa) } catch { throw d.fail("\(error)") }
            func adopt(_ storage: FloatStorage) throws(CompiledModelError) -> PackedMatrixB {
                // The matrix copies the floats; the storage must outlive that copy.
                defer { withExtendedLifetime(storage) {} }
                do { return try PackedMatrixB(prepacked: storage.buffer, k: k, n: n, kc: kc, isa: d.isa) } catch { throw d.fail("\(error)") }
            }
            return try names.map { name throws(CompiledModelError) in try adopt(try d.tensor(name, count: count)) }
        }
        let form: GEMMConvForm
        if !winogradNames.isEmpty {
            // Files from before the 4×4 tile have no winograd_tile: theirs is 2×2.
            let tile = o["winograd_tile"] == nil || o["winograd_tile"] == .null ? 2 : try d.int(o, "winograd_tile", min: 1)
            guard let transform = WinogradTransform.forKernel(kh, outputTile: tile), packedNames.isEmpty, tapNames.isEmpty,
                  winogradNames.count == transform.positions,
                  WinogradConv.applies(weight: TensorShape([out, kh, kw, cg]), attributes: attrs) else {
                throw d.fail("a Winograd conv needs a 3×3 or 5×5, stride-1, ungrouped conv, an output tile its kernel has an algorithm for (\(tile)×\(tile) given), and one transformed matrix per tile position")
            }
            form = .winograd(transform, try matrices(winogradNames, k: cg, n: out))
        } else if tapNames.isEmpty {
            guard packedNames.count == attrs.groups else { throw d.fail("\(packedNames.count) packed matrices for \(attrs.groups) groups") }
            let packed = try matrices(packedNames, k: try d.count(kh, kw, cg), n: out / attrs.groups)
            form = GEMMConvForm.Kind.plain(kh: kh, kw: kw, attributes: attrs) == .pointwise ? .pointwise(packed) : .im2col(packed)
        } else {
            guard packedNames.isEmpty, tapNames.count == kh, formProblem(.shiftedRows, kh: kh, kw: kw, attributes: attrs) == nil else {
                throw d.fail("a shifted-row conv needs one packed tap row per kernel row and stride 1")
            }
            form = .shiftedRows(try matrices(tapNames, k: try d.count(kw, cg), n: out))
        }
        return GEMMConvWeights(attributes: attrs, kh: kh, kw: kw, cg: cg, outChannels: out, form: form,
                               bias: try d.optionalTensor(o["bias"], count: out))
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        let (input, out) = (shapes.input, shapes.output)
        // A linear layer: [N, C] in, [N, S] out, read in place.
        let linear = input.rank == 2 && out.rank == 2 && isPointwise && groups == 1
        guard input.rank == 4 || linear else { throw d.fail("a GEMM step needs an NHWC input or a linear layer's [N, C], got \(input)") }
        let c = input.rank == 2 ? input[1] : input[3]
        guard c == cg * groups, out.dims.last == outChannels else {
            throw d.fail("weights do not match input \(input) / output \(out)")
        }
        if input.rank == 4 {
            guard let expected = d.convOutput(attributes, input: input, weight: [outChannels, kh, kw, cg]), expected == out else {
                throw d.fail("attributes do not give the graph's output \(out)")
            }
        }
    }

    func geometry(_ shapes: StepShapes) -> ConvGeometry {
        ConvGeometry(input: shapes.input, output: shapes.output, kh: kh, kw: kw, cg: cg, groups: groups, attributes: attributes)
    }

    func reshape(_ shapes: StepShapes, threads: Int) -> (tiling: ConvStep.Tiling, scratchFloats: Int) {
        let t = ConvStep.Tiling.choose(self, geometry: geometry(shapes), threads: threads)
        return (t, t.scratchPerSlot * t.slots)
    }

    func bind(_ t: ConvStep.Tiling, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        ConvStep(name: b.name, weights: self, geometry: geometry(b.shapes), x: b.x, y: b.y, residual: b.residual, activation: b.activation,
                 tiling: t, scratch: SlotScratch(base: b.scratch, floatsPerSlot: t.scratchPerSlot))
    }
}
