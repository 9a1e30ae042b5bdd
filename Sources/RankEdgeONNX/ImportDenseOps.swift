import RankEdge

/// Gemm, MatMul (+Add) and BatchNormalization: ops whose weights may need the flatten reordering.
extension ImportContext {
    /// Gemm as a linear layer: Y = alpha·A·op(B) + beta·C, A the activation, B and C constants.
    mutating func importGemm(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let a = try activation(try requiredInput(i, 0), node: i)
        guard a.layout != .featureMap else { throw unsupportedUse(i, "Gemm needs a 2-D input (Flatten the feature map first)") }
        if try attrs.int("transA", default: 0) != 0 { throw attrs.unsupported("transA", "1 (the activation must not be transposed)") }
        let transB = try attrs.int("transB", default: 0) != 0
        let alpha = try attrs.float("alpha") ?? 1
        let beta = try attrs.float("beta") ?? 1
        let bName = try requiredInput(i, 1)
        let b = try constant(bName, node: i)
        guard b.dims.count == 2 else { throw unsupportedUse(i, "B '\(bName)' must be 2-D, got \(b.dims)") }
        // RankEdge's linear weight is [S, C]: B itself when transB, else its transpose.
        let (s, c) = transB ? (b.dims[0], b.dims[1]) : (b.dims[1], b.dims[0])
        var w = transB ? b.floats : LayoutConversion.transpose(b.floats, rows: c, cols: s)
        if alpha != 1 { w = w.map { $0 * alpha } }
        var bias: [Float]? = nil
        var biasSource: ONNXConstant? = nil
        if let cName = optionalInput(i, 2) {
            let cValues = try constant(cName, node: i)
            bias = try perOutputBias(cValues, outputs: s, node: i, tensor: cName).map { $0 * beta }
            if beta == 1, cValues.count == s { biasSource = cValues }
        }
        try emitLinear(i, input: a, weight: w, outputs: s, columns: c, bias: bias, output: try singleOutput(i),
                       weightSource: alpha == 1 ? b : nil, biasSource: biasSource)
    }

    /// MatMul with a constant right-hand side as a linear layer; an Add of a constant right after it
    /// (its only consumer) becomes the bias, as PyTorch exports Linear at some opsets.
    mutating func importMatMul(_ i: Int) throws(ONNXImportError) {
        let a = try activation(try requiredInput(i, 0), node: i)
        guard a.layout != .featureMap else { throw unsupportedUse(i, "MatMul needs a 2-D input (Flatten the feature map first)") }
        let bName = try requiredInput(i, 1)
        let b = try constant(bName, node: i)
        guard b.dims.count == 2 else { throw unsupportedUse(i, "B '\(bName)' must be 2-D, got \(b.dims)") }
        let (c, s) = (b.dims[0], b.dims[1])
        let w = LayoutConversion.transpose(b.floats, rows: c, cols: s)
        var output = try singleOutput(i)
        var bias: ONNXConstant? = nil
        var provenance: String? = nil
        if let fused = fusableBiasAdd(after: i, output: output, outputs: s) {
            let addIndex = fused.0
            absorbed.insert(addIndex)
            bias = fused.1
            output = try singleOutput(addIndex)
            provenance = "imported from ONNX MatMul + Add '\(nodeNames[addIndex])'"
        }
        if a.layout == .plain, try shape(of: a.name).rank == 4 {
            // A channels-last feature map ([N, H, W, C] after a Transpose, as in ConvNeXt): a linear
            // layer over C at every position is a 1×1 conv of the NHWC map RankEdge holds.
            guard try shape(of: a.name)[3] == c else { throw unsupportedUse(i, "B '\(bName)' is \(b.dims) for \(try shape(of: a.name)) input") }
            var inputs = [a.name, addWeight(node: i, "weight", Tensor(shape: [s, 1, 1, c], data: w))]
            if let bias { inputs.append(addWeight(node: i, "bias", Tensor(shape: [s], data: bias.floats), source: bias)) }
            emit(.conv2d(Conv2DAttributes()), node: i, inputs: inputs, output: output, layout: .plain,
                 provenance: (provenance ?? "imported from ONNX MatMul") + " (over the channels of a channels-last map)")
            return
        }
        try emitLinear(i, input: a, weight: w, outputs: s, columns: c, bias: bias?.floats, output: output,
                       provenance: provenance, weightSource: b, biasSource: bias)
    }

    /// The Add that adds a per-output constant to MatMul `i`'s result, when that is the result's only use.
    private func fusableBiasAdd(after i: Int, output: String, outputs s: Int) -> (Int, ONNXConstant)? {
        guard !graphOutputs.contains(output), let users = consumers[output], users.count == 1 else { return nil }
        let j = users[0]
        let add = onnxNodes[j]
        guard j > i, add.opType == "Add", add.domain.isEmpty || add.domain == "ai.onnx", add.input.count == 2,
              add.input.filter({ $0 == output }).count == 1,
              let other = add.input.first(where: { $0 != output }),
              case .constant(let c)? = values[other], c.count == s,
              c.dims == [s] || c.dims == [1, s]
        else { return nil }
        return (j, c)
    }

    /// Emits `linear` with weight [S, C] in ONNX column order, reordering the columns when the input
    /// is a flattened feature map.
    private mutating func emitLinear(_ i: Int, input a: (name: String, layout: ValueLayout), weight: [Float],
                                     outputs s: Int, columns c: Int, bias: [Float]?, output: String,
                                     provenance: String? = nil, weightSource: ONNXConstant? = nil,
                                     biasSource: ONNXConstant? = nil) throws(ONNXImportError) {
        var w = weight
        if case .reorderedColumns(let order) = a.layout {
            guard order.count == c else {
                throw unsupportedUse(i, "weight has \(c) input columns, the input has \(order.count) features")
            }
            w = LayoutConversion.gatherColumns(w, rows: s, order: order)
        }
        var inputs = [a.name, addWeight(node: i, "weight", Tensor(shape: [s, c], data: w), source: weightSource)]
        if let bias { inputs.append(addWeight(node: i, "bias", Tensor(shape: [s], data: bias), source: biasSource)) }
        emit(.linear, node: i, inputs: inputs, output: output, layout: .plain, provenance: provenance)
    }

    /// Gemm's C as a bias over the S outputs: a scalar, [S] or [1, S].
    private func perOutputBias(_ c: ONNXConstant, outputs s: Int, node i: Int, tensor: String) throws(ONNXImportError) -> [Float] {
        if c.count == 1 { return [Float](repeating: c.floats[0], count: s) }
        guard c.count == s, c.dims == [s] || c.dims == [1, s] else {
            throw unsupportedUse(i, "C '\(tensor)' of shape \(c.dims) is not a bias over the \(s) outputs")
        }
        return c.floats
    }

    /// BatchNormalization at inference on a feature map (channel axis 1) or a 2-D tensor.
    mutating func importBatchNorm(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        if try attrs.int("training_mode", default: 0) != 0 { throw attrs.unsupported("training_mode", "1") }
        let epsilon = try attrs.float("epsilon") ?? 1e-5
        guard epsilon.isFinite, epsilon >= 0 else { throw attrs.unsupported("epsilon", "\(epsilon)") }
        var inputs = [x.name]
        for (slot, suffix) in [(1, "weight"), (2, "bias"), (3, "running_mean"), (4, "running_var")] {
            let name = try requiredInput(i, slot)
            let p = try constant(name, node: i)
            guard p.dims.count == 1 else { throw unsupportedUse(i, "\(suffix) '\(name)' must be 1-D, got \(p.dims)") }
            var values = p.floats
            if case .reorderedColumns(let order) = x.layout {
                guard order.count == values.count else {
                    throw unsupportedUse(i, "\(suffix) '\(name)' has \(values.count) values, the input has \(order.count) features")
                }
                values = LayoutConversion.gatherColumns(values, rows: 1, order: order)
            }
            inputs.append(addWeight(node: i, suffix, Tensor(shape: [values.count], data: values), source: p))
        }
        emit(.batchNorm(epsilon: epsilon), node: i, inputs: inputs, output: try singleOutput(i), layout: x.layout)
    }
}

extension ImportContext {
    /// LayerNormalization over the last axis (opset 17): of a 2-D tensor, or of a channels-last map
    /// (a feature map Transposed to [N, H, W, C], as ConvNeXt does), i.e. over the channels.
    mutating func importLayerNorm(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        let s = try shape(of: x.name)
        let axis = try attrs.int("axis", default: -1)
        guard x.layout == .plain, axis == -1 || axis == s.rank - 1 else {
            throw unsupportedUse(i, "LayerNormalization is supported over the last axis of a 2-D or channels-last tensor (axis \(axis) on a \(x.layout == .featureMap ? "NCHW feature map" : "tensor"))")
        }
        let c = s.dims.last!
        let epsilon = try attrs.float("epsilon") ?? 1e-5
        guard epsilon.isFinite, epsilon >= 0 else { throw attrs.unsupported("epsilon", "\(epsilon)") }
        let scaleName = try requiredInput(i, 1)
        let scale = try constant(scaleName, node: i)
        guard scale.count == c else { throw unsupportedUse(i, "scale '\(scaleName)' has \(scale.count) values for \(c) channels") }
        var bias = ONNXConstant(dims: [c], values: .floating([Float](repeating: 0, count: c)))
        if let b = optionalInput(i, 2) {
            bias = try constant(b, node: i)
            guard bias.count == c else { throw unsupportedUse(i, "bias '\(b)' has \(bias.count) values for \(c) channels") }
        }
        let inputs = [x.name, addWeight(node: i, "weight", Tensor(shape: [c], data: scale.floats), source: scale),
                      addWeight(node: i, "bias", Tensor(shape: [c], data: bias.floats), source: optionalInput(i, 2) == nil ? nil : bias)]
        emit(.layerNorm(epsilon: epsilon), node: i, inputs: inputs, output: try singleOutput(i), layout: .plain)
    }
}
