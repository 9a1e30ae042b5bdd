import RankEdge

/// Add, Sub, Mul and Div. Of two constants: folded (numpy broadcasting). Of an activation and a
/// constant that is one value per channel (or one value): a channel affine y = x·s + t, which the
/// compiler folds into the conv before it. Of two activations: Add of equal shapes (a residual),
/// Mul of equal shapes or by a [N, C, 1, 1] gate (squeeze-and-excitation), and SiLU.
extension ImportContext {
    enum Arithmetic: String { case add = "Add", sub = "Sub", mul = "Mul", div = "Div" }

    mutating func importArithmetic(_ i: Int, _ kind: Arithmetic) throws(ONNXImportError) {
        let inputs = onnxNodes[i].input
        guard inputs.count == 2, !inputs[0].isEmpty, !inputs[1].isEmpty else {
            throw unsupportedUse(i, "\(kind.rawValue) takes two inputs, got \(inputs.count)")
        }
        // A SiLU's Sigmoid was left for this Mul to import (its output has no value of its own).
        if kind == .mul, try importSiLU(i) { return }
        if kind == .div, try importGELU(i) { return }
        switch (values[inputs[0]], values[inputs[1]]) {
        case (.constant(let a)?, .constant(let b)?):
            values[try singleOutput(i)] = .constant(try foldArithmetic(i, kind, a, b))
        case (.activation?, .constant(let c)?):
            try importAffine(i, kind, x: inputs[0], constant: c, constantFirst: false)
        case (.constant(let c)?, .activation?):
            try importAffine(i, kind, x: inputs[1], constant: c, constantFirst: true)
        case (.activation?, .activation?):
            switch kind {
            case .add: try importAdd(i)
            case .mul: try importActivationProduct(i)
            case .sub, .div:
                throw unsupportedUse(i, "\(kind.rawValue) of two computed tensors is not supported (only with a per-channel constant)")
            }
        default:
            let missing = inputs.first { name in if case nil = values[name] { true } else { false } } ?? inputs[0]
            throw ONNXImportError.undefinedInput(node: nodeNames[i], tensor: missing)
        }
    }

    /// Add of two activations of one shape (a residual connection).
    mutating func importAdd(_ i: Int) throws(ONNXImportError) {
        let names = [try requiredInput(i, 0), try requiredInput(i, 1)]
        let a = try activation(names[0], node: i)
        let b = try activation(names[1], node: i)
        guard a.layout == b.layout else { throw unsupportedUse(i, "its inputs '\(names[0])' and '\(names[1])' have different layouts") }
        guard try shape(of: a.name) == shape(of: b.name) else {
            throw unsupportedUse(i, "Add of two computed tensors of different shapes (broadcasting) is not supported")
        }
        emit(.add, node: i, inputs: [a.name, b.name], output: try singleOutput(i), layout: a.layout)
    }

    /// Mul(x, Sigmoid(x)) in either order as one SiLU node; false when Mul `i` is not that.
    private mutating func importSiLU(_ i: Int) throws(ONNXImportError) -> Bool {
        let inputs = onnxNodes[i].input
        for (gateInput, other) in [(inputs[1], inputs[0]), (inputs[0], inputs[1])] {
            guard let g = producer[gateInput], onnxNodes[g].opType == "Sigmoid", siluMul(gate: g) == i else { continue }
            let x = try activation(other, node: i)
            emit(.unary(.silu), node: i, inputs: [x.name], output: try singleOutput(i), layout: x.layout,
                 provenance: "imported from ONNX Sigmoid '\(nodeNames[g])' + Mul '\(nodeNames[i])' (SiLU)")
            return true
        }
        return false
    }

    /// GELU as the TorchScript exporter writes it, Div(x, √2) → Erf → Add 1 → Mul x → Mul 0.5, each
    /// read only by the next: one node, the four after the Div absorbed. False when Div `i` does not
    /// open that chain.
    private mutating func importGELU(_ i: Int) throws(ONNXImportError) -> Bool {
        let x = onnxNodes[i].input[0]
        func isScalar(_ name: String, _ value: Float) -> Bool {
            guard case .constant(let c)? = values[name], c.count == 1, !c.isInteger else { return false }
            return abs(c.floats[0] - value) <= 1e-5 * max(1, abs(value))
        }
        /// The one node reading `node`'s output, when it is `op` and its other input passes `other`.
        func next(_ node: Int, _ op: String, _ other: (String) -> Bool) -> Int? {
            guard let out = onnxNodes[node].output.first, !graphOutputs.contains(out), let users = consumers[out], users.count == 1 else { return nil }
            let n = onnxNodes[users[0]]
            guard n.opType == op, n.domain.isEmpty || n.domain == "ai.onnx" else { return nil }
            let rest = n.input.filter { $0 != out }
            guard op == "Erf" ? n.input.count == 1 : (n.input.count == 2 && rest.count == 1 && other(rest[0])) else { return nil }
            return users[0]
        }
        guard case .activation? = values[x], onnxNodes[i].input.count == 2, isScalar(onnxNodes[i].input[1], Float(2).squareRoot()),
              let e = next(i, "Erf", { _ in true }), let a = next(e, "Add", { isScalar($0, 1) }),
              let m = next(a, "Mul", { $0 == x }), let half = next(m, "Mul", { isScalar($0, 0.5) })
        else { return false }
        let input = try activation(x, node: i)
        emit(.unary(.gelu), node: i, inputs: [input.name], output: try singleOutput(half), layout: input.layout,
             provenance: "imported from ONNX Div '\(nodeNames[i])' + Erf + Add + Mul + Mul '\(nodeNames[half])' (GELU)")
        absorbed.formUnion([e, a, m, half])
        return true
    }

    /// Mul of two activations of equal shapes, or of a feature map by a [N, C, 1, 1] gate in either order.
    private mutating func importActivationProduct(_ i: Int) throws(ONNXImportError) {
        let inputs = onnxNodes[i].input
        var a = try activation(inputs[0], node: i), b = try activation(inputs[1], node: i)
        var (sa, sb) = (try shape(of: a.name), try shape(of: b.name))
        if sa != sb && sa.rank == 4 && sa[1] == 1 && sa[2] == 1 { swap(&a, &b); swap(&sa, &sb) }
        let gate = sa.rank == 4 && sb == TensorShape([sa[0], 1, 1, sa[3]])
        guard a.layout == b.layout, sa == sb || gate else {
            throw unsupportedUse(i, "Mul of tensors shaped \(sa) and \(sb) (NHWC) is not supported: only equal shapes or a [N, C, 1, 1] gate")
        }
        emit(.multiply, node: i, inputs: [a.name, b.name], output: try singleOutput(i), layout: a.layout)
    }

    /// An activation with a constant that holds one value per channel (or one in all): y = x·s + t.
    private mutating func importAffine(_ i: Int, _ kind: Arithmetic, x xName: String, constant c: ONNXConstant,
                                       constantFirst: Bool) throws(ONNXImportError) {
        let x = try activation(xName, node: i)
        let s = try shape(of: x.name)
        let channels = s.dims.last!
        let rank = x.layout == .featureMap ? 4 : s.rank
        // The axis that holds channels in the ONNX view: 1 for NCHW, the last for everything else.
        let channelAxis = x.layout == .featureMap ? 1 : rank - 1
        guard c.dims.count <= rank else { throw unsupportedUse(i, "its constant has rank \(c.dims.count), more than the input's \(rank)") }
        let aligned = Array(repeating: 1, count: rank - c.dims.count) + c.dims
        let perChannel = aligned[channelAxis] == channels && channels != 1
        guard aligned.enumerated().allSatisfy({ $0.element == 1 || ($0.offset == channelAxis && perChannel) }) else {
            throw unsupportedUse(i, "its constant shaped \(c.dims) is not one value per channel (only per-channel or scalar constants are supported)")
        }
        var v = c.floats
        if !perChannel { v = Array(repeating: v[0], count: channels) }
        if case .reorderedColumns(let order) = x.layout { v = order.map { v[$0] } }
        let ones = [Float](repeating: 1, count: channels), zeros = [Float](repeating: 0, count: channels)
        let (scale, shift): ([Float], [Float])
        switch (kind, constantFirst) {
        case (.add, _): (scale, shift) = (ones, v)
        case (.mul, _): (scale, shift) = (v, zeros)
        case (.sub, false): (scale, shift) = (ones, v.map { -$0 })
        case (.sub, true): (scale, shift) = (ones.map { -$0 }, v)
        case (.div, false):
            guard v.allSatisfy({ $0 != 0 && $0.isFinite }) else { throw unsupportedUse(i, "it divides by zero or a non-finite constant") }
            (scale, shift) = (v.map { 1 / $0 }, zeros)
        case (.div, true):
            throw unsupportedUse(i, "Div of a constant by a computed tensor is not supported")
        }
        let scaleName = addWeight(node: i, "scale", Tensor(shape: [channels], data: scale))
        let shiftName = addWeight(node: i, "shift", Tensor(shape: [channels], data: shift))
        emit(.channelAffine, node: i, inputs: [x.name, scaleName, shiftName], output: try singleOutput(i), layout: x.layout,
             provenance: "imported from ONNX \(kind.rawValue) by a per-channel constant")
    }

    /// Elementwise arithmetic of two constants with numpy broadcasting; integers stay integers
    /// (Div truncates, as ONNX's integer Div does).
    func foldArithmetic(_ i: Int, _ kind: Arithmetic, _ a: ONNXConstant, _ b: ONNXConstant) throws(ONNXImportError) -> ONNXConstant {
        guard a.isInteger == b.isInteger else { throw unsupportedUse(i, "its constant inputs mix integer and floating-point types") }
        let rank = max(a.dims.count, b.dims.count)
        let ad = Array(repeating: 1, count: rank - a.dims.count) + a.dims
        let bd = Array(repeating: 1, count: rank - b.dims.count) + b.dims
        guard let dims = Self.broadcastShape(ad, bd) else {
            throw unsupportedUse(i, "its constant inputs \(a.dims) and \(b.dims) do not broadcast")
        }
        let count = try Self.foldedCount(dims, attributes(i))
        let pairs = Array(zip(Self.broadcastSources(ad, to: dims), Self.broadcastSources(bd, to: dims)))
        if let x = a.integers, let y = b.integers {
            var out: [Int64] = []
            out.reserveCapacity(count)
            for (p, q) in pairs {
                let (l, r) = (x[p], y[q])
                switch kind {
                case .add: out.append(l &+ r)
                case .sub: out.append(l &- r)
                case .mul: out.append(l &* r)
                case .div:
                    guard r != 0 else { throw unsupportedUse(i, "it divides an integer by zero") }
                    out.append(l == .min && r == -1 ? .min : l / r)
                }
            }
            return ONNXConstant(dims: dims, values: .integer(out))
        }
        let (x, y) = (a.floats, b.floats)
        let out: [Float] = pairs.map { p, q in
            switch kind {
            case .add: x[p] + y[q]
            case .sub: x[p] - y[q]
            case .mul: x[p] * y[q]
            case .div: x[p] / y[q]
            }
        }
        return ONNXConstant(dims: dims, values: .floating(out))
    }
}
