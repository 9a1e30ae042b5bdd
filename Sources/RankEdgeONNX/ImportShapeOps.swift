import RankEdge

/// Element-wise, reshaping and pass-through ops.
extension ImportContext {
    /// An op that keeps its input's shape and layout.
    mutating func importUnary(_ i: Int, _ op: Op) throws(ONNXImportError) {
        let x = try activation(try requiredInput(i, 0), node: i)
        emit(op, node: i, inputs: [x.name], output: try singleOutput(i), layout: x.layout)
    }

    /// Clip with bounds 0..6 is ReLU6 and 0..∞ is ReLU; bounds come as inputs (opset ≥ 11) or attributes.
    mutating func importClip(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        var lo = try attrs.float("min") ?? -Float.infinity
        var hi = try attrs.float("max") ?? Float.infinity
        for (slot, label) in [(1, "min"), (2, "max")] {
            guard let name = optionalInput(i, slot) else { continue }
            let c = try constant(name, node: i)
            guard c.count == 1 else { throw attrs.unsupported(label, "'\(name)' with \(c.count) values (a scalar is needed)") }
            if slot == 1 { lo = c.floats[0] } else { hi = c.floats[0] }
        }
        let op: Op
        switch (lo, hi) {
        case (0, 6): op = .relu6
        case (0, .infinity): op = .relu
        default: throw attrs.unsupported("min/max", "\(lo)..\(hi) (only 0..6 as ReLU6 and 0..inf as ReLU)")
        }
        try importUnary(i, op)
    }

    /// Flatten with axis 1 (a feature map to [N, C·H·W]; a 2-D tensor is left as it is).
    mutating func importFlatten(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        let rank = x.layout == .featureMap ? 4 : 2
        let axis = try attrs.int("axis", default: 1)
        guard axis == 1 || axis == 1 - rank else { throw attrs.unsupported("axis", "\(axis) (only 1: keep the batch)") }
        try emitFlatten(i, x)
    }

    /// Reshape in the flatten form [N, -1] (also [0, -1], or [N, C·H·W] spelled out), or the two
    /// Reshapes of a channel shuffle (ImportChannelOps). A Reshape of a constant is folded (a shape
    /// being computed).
    mutating func importReshape(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let dataName = try requiredInput(i, 0)
        let shapeName = try requiredInput(i, 1)
        let target = try constant(shapeName, node: i)
        guard let dims = target.integers else { throw attrs.unsupported("shape", "'\(shapeName)' (not an integer tensor)") }
        let allowZero = try attrs.int("allowzero", default: 0) != 0
        if case .constant(let data)? = values[dataName] {
            try foldReshape(i, data: data, target: dims, allowZero: allowZero)
            return
        }
        if try closeChannelShuffle(i, data: dataName, target: dims) { return }
        let x = try activation(dataName, node: i)
        if let grouping = try channelGrouping(i, x: x, target: dims) {
            channelGroups[try singleOutput(i)] = grouping
            return
        }
        if try startFlatView(i, x: x, target: dims) { return }
        let s = try shape(of: x.name)
        let batch = Int64(s[0])
        let features = Int64(s.elementCount / max(s[0], 1))
        let isFlatten: Bool
        if dims.count == 2 {
            let (a, b) = (dims[0], dims[1])
            let batchOK = (a == 0 && !allowZero) || a == batch || (a == -1 && b == features)
            isFlatten = batchOK && (b == -1 || b == features)
        } else {
            isFlatten = false
        }
        guard isFlatten else {
            throw attrs.unsupported("shape", "\(dims) for input \(s.rank)-D (only the flatten form [N, -1])")
        }
        try emitFlatten(i, x)
    }

    private mutating func emitFlatten(_ i: Int, _ x: (name: String, layout: ValueLayout)) throws(ONNXImportError) {
        var layout = x.layout
        if x.layout == .featureMap {
            let s = try shape(of: x.name)
            layout = .columns(LayoutConversion.flattenOrder(c: s[3], h: s[1], w: s[2]))
        }
        emit(.flatten, node: i, inputs: [x.name], output: try singleOutput(i), layout: layout)
    }

    /// Softmax over the features of a 2-D tensor, or over the channels of a feature map (opset ≥ 13).
    mutating func importSoftmax(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        let axis = try attrs.int("axis", default: opset < 13 ? 1 : -1)
        let rank = x.layout == .featureMap ? 4 : 2
        let normalized = axis < 0 ? axis + rank : axis
        // Before opset 13 Softmax flattened everything from `axis` on, so on a feature map it is not a channel softmax.
        guard normalized == 1, rank == 2 || opset >= 13 else {
            throw attrs.unsupported("axis", "\(axis) on a \(rank)-D input at opset \(opset) (only the channel/feature axis)")
        }
        emit(.softmax, node: i, inputs: [x.name], output: try singleOutput(i), layout: x.layout)
    }

    /// Concat on the channel axis (1) of feature maps, or the feature axis of 2-D tensors; a Concat
    /// of constants (on any axis) is folded.
    mutating func importConcat(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        guard attrs.has("axis") else { throw attrs.unsupported("axis", "(missing)") }
        let axis = try attrs.int("axis", default: 1)
        let names = onnxNodes[i].input.filter { !$0.isEmpty }
        var constants: [ONNXConstant] = []
        for name in names { if case .constant(let c)? = values[name] { constants.append(c) } }
        if !names.isEmpty, constants.count == names.count {
            try foldConcat(i, axis: axis, parts: constants)
            return
        }
        var parts: [(name: String, layout: ValueLayout)] = []
        for name in onnxNodes[i].input where !name.isEmpty { parts.append(try activation(name, node: i)) }
        guard !parts.isEmpty else { throw unsupportedUse(i, "Concat has no inputs") }
        let maps = parts.filter { $0.layout == .featureMap }.count
        guard maps == 0 || maps == parts.count else { throw unsupportedUse(i, "it mixes feature maps with 2-D tensors") }
        let rank = maps > 0 ? 4 : 2
        guard axis == 1 || axis == 1 - rank else {
            throw attrs.unsupported("axis", "\(axis) (only the channel axis 1)")
        }
        var layout = ValueLayout.featureMap
        if rank == 2 {
            var order: [Int] = []
            for p in parts {
                let offset = order.count
                switch p.layout {
                case .reorderedColumns(let o): order += o.map { $0 + offset }
                default:
                    let columns = try shape(of: p.name)[1]
                    order += (0..<columns).map { $0 + offset }
                }
            }
            layout = .columns(order)
        }
        emit(.concat, node: i, inputs: parts.map(\.name), output: try singleOutput(i), layout: layout)
    }

    /// Identity is an alias, except where it names a graph output: then it stays as an inference-time
    /// no-op (dropout at rate 0) so the output keeps its ONNX name.
    mutating func importIdentity(_ i: Int) throws(ONNXImportError) {
        let input = try requiredInput(i, 0)
        let output = try singleOutput(i)
        guard let value = values[input] else { throw ONNXImportError.undefinedInput(node: nodeNames[i], tensor: input) }
        switch value {
        case .activation(let name, let layout) where graphOutputs.contains(output):
            emit(.dropout(rate: 0), node: i, inputs: [name], output: output, layout: layout)
        case .constant(var c):
            // PyTorch's TorchScript exporter writes a parameter equal to another one as an Identity
            // of it, named after the parameter: the weight takes that name, as if it were an initializer.
            if c.name != nil { c.name = output }
            values[output] = .constant(c)
        case .activation:
            values[output] = value
        }
    }

    /// Dropout (identity at inference); the ratio comes as an input (opset ≥ 12) or attribute.
    mutating func importDropout(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        var rate = try attrs.float("ratio") ?? 0.5
        if let r = optionalInput(i, 1) {
            let c = try constant(r, node: i)
            guard c.count == 1 else { throw attrs.unsupported("ratio", "'\(r)' with \(c.count) values") }
            rate = c.floats[0]
        }
        if let t = optionalInput(i, 2) {
            let c = try constant(t, node: i)
            if c.floats.contains(where: { $0 != 0 }) { throw attrs.unsupported("training_mode", "true") }
        }
        guard rate >= 0, rate < 1 else { throw attrs.unsupported("ratio", "\(rate)") }
        emit(.dropout(rate: rate), node: i, inputs: [x.name], output: try singleOutput(i), layout: x.layout)
    }

    /// A Constant node's value becomes a constant usable as weights, shapes or bounds.
    mutating func importConstantNode(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let output = try singleOutput(i)
        var value: ONNXConstant
        if let t = try attrs.tensor("value") {
            value = try ONNXConstant(t, name: output)
        } else if let f = try attrs.float("value_float") {
            value = ONNXConstant(dims: [], values: .floating([f]))
        } else if let fs = try attrs.floats("value_floats") {
            value = ONNXConstant(dims: [fs.count], values: .floating(fs))
        } else if let v = try attrs.int64("value_int") {
            value = ONNXConstant(dims: [], values: .integer([v]))
        } else if let vs = try attrs.int64s("value_ints") {
            value = ONNXConstant(dims: [vs.count], values: .integer(vs))
        } else {
            throw attrs.unsupported(attrs.names.first ?? "value", "(a Constant needs value, value_float(s) or value_int(s))")
        }
        value.name = output
        values[output] = .constant(value)
    }
}
