import RankEdge

/// Shape computations folded at import: ops whose data inputs are constants give a constant (a bias
/// of zeros, a Reshape target), as PyTorch's exporters write them when they do not fold them
/// themselves (the dynamo exporter with `optimize=False`; `x.view(x.size(0), -1)`).
///
/// `Shape` of an activation is its ONNX shape at the imported batch (a dynamic batch is 1, as for
/// the graph input), so a Reshape target computed from it is the flatten form `[1, F]` — a flatten
/// at every batch, since the ONNX graph computed `[N, F]`.
extension ImportContext {
    /// Ops RankEdge has no node for, imported only when their data inputs are constants (`Shape`
    /// takes any input; `Cast`/`CastLike` of an activation to float are no-ops and also accepted;
    /// Gather and Unsqueeze also pick one channel of a feature map: ImportChannelOps).
    static let foldOnlyOps: Set<String> = ["Squeeze", "Expand", "ConstantOfShape", "Range", "Floor"]

    /// ONNX tensors that are constants before any node is converted: initializers, Constant nodes'
    /// outputs and everything computed from them by ops the importer folds (Shape: from anything).
    /// Used to report a fold-only op on an activation as an unsupported op, with the others.
    static func constantTensors(_ nodes: [Onnx_NodeProto], initializers: Set<String>) -> Set<String> {
        var constant = initializers
        for n in nodes where n.domain.isEmpty || n.domain == "ai.onnx" {
            let inputs = n.input.filter { !$0.isEmpty }
            let folds: Bool
            switch n.opType {
            case "Constant", "Shape": folds = true
            case "Reshape", "Identity", "Cast", "CastLike": folds = inputs.first.map(constant.contains) ?? false
            case "Concat", "Add", "Sub", "Mul", "Div", "Slice", "Gather", "Unsqueeze": folds = !inputs.isEmpty && inputs.allSatisfy(constant.contains)
            default: folds = foldOnlyOps.contains(n.opType) && inputs.allSatisfy(constant.contains)
            }
            if folds { constant.formUnion(n.output.filter { !$0.isEmpty }) }
        }
        return constant
    }

    /// Converts a Shape, Squeeze, Unsqueeze, Gather, Expand, Cast, CastLike, ConstantOfShape or Range node.
    mutating func importFoldable(_ i: Int) throws(ONNXImportError) {
        let output = try singleOutput(i)
        let attrs = attributes(i)
        let op = onnxNodes[i].opType
        let x = try requiredInput(i, 0)
        if case .activation(let name, let layout)? = values[x], op == "Cast" || op == "CastLike" {
            // Activations are float32: a cast to a float type changes nothing.
            let toFloat: Bool
            if op == "Cast" {
                let to = try attrs.int("to", default: 0)
                toFloat = to == Int(ONNXElementType.float.rawValue) || to == Int(ONNXElementType.double.rawValue)
            } else {
                let target = try requiredInput(i, 1)
                toFloat = if case .constant(let c)? = values[target] { !c.isInteger } else { true }
            }
            guard toFloat else { throw unsupportedUse(i, "it casts activation '\(x)' to an integer type") }
            if graphOutputs.contains(output) {
                emit(.dropout(rate: 0), node: i, inputs: [name], output: output, layout: layout)  // keeps the output's name
            } else {
                values[output] = .activation(name, layout)
            }
            return
        }
        if try importChannelPick(i, op: op, x: x, output: output) { return }
        let result: ONNXConstant
        switch op {
        case "Shape": result = try foldShape(i, attrs, x)
        case "Squeeze": result = try foldSqueeze(i, attrs, try constant(x, node: i))
        case "Unsqueeze": result = try foldUnsqueeze(i, attrs, try constant(x, node: i))
        case "Gather": result = try foldGather(i, attrs, try constant(x, node: i))
        case "Expand": result = try foldExpand(i, try constant(x, node: i))
        case "Cast":
            let to = try attrs.int("to", default: 0)
            guard let kind = Self.kind(ofElementType: to) else {
                throw attrs.unsupported("to", "\(to) (FLOAT, DOUBLE, INT32, INT64, BOOL are supported)")
            }
            result = Self.convert(try constant(x, node: i), toInteger: kind, bool: to == Int(ONNXElementType.bool.rawValue))
        case "CastLike":
            let target = try requiredInput(i, 1)
            let integer = if case .constant(let c)? = values[target] { c.isInteger } else { false }
            result = Self.convert(try constant(x, node: i), toInteger: integer, bool: false)
        case "ConstantOfShape": result = try foldConstantOfShape(i, attrs, try constant(x, node: i))
        case "Range": result = try foldRange(i, attrs, try constant(x, node: i))
        case "Floor":
            // The TorchScript exporter's output size of an interpolation: floor(size · scale).
            let c = try constant(x, node: i)
            result = c.integers != nil ? c : ONNXConstant(dims: c.dims, values: .floating(c.floats.map { $0.rounded(.down) }))
        default:
            throw ONNXImportError.unsupportedOps([UnsupportedONNXOp(opType: op, nodes: [nodeNames[i]])])
        }
        values[output] = .constant(result)
    }

    /// Reshape of a constant (a shape being computed).
    mutating func foldReshape(_ i: Int, data: ONNXConstant, target: [Int64], allowZero: Bool) throws(ONNXImportError) {
        let attrs = attributes(i)
        var dims: [Int] = []
        var inferred: Int? = nil
        for (k, d) in target.enumerated() {
            if d == -1 {
                guard inferred == nil else { throw attrs.unsupported("shape", "\(target) (more than one -1)") }
                inferred = k
                dims.append(1)
            } else if d == 0 && !allowZero {
                guard k < data.dims.count else { throw attrs.unsupported("shape", "\(target) (0 past the input's rank \(data.dims.count))") }
                dims.append(data.dims[k])
            } else {
                guard d >= 0, d <= Int64(ONNXLimits.maxElements) else { throw attrs.unsupported("shape", "\(target)") }
                dims.append(Int(d))
            }
        }
        let known = try Self.elementCount(dims, attrs)
        if let k = inferred {
            guard known > 0, data.count % known == 0 else {
                throw attrs.unsupported("shape", "\(target) for \(data.count) values")
            }
            dims[k] = data.count / known
        } else {
            guard known == data.count else { throw attrs.unsupported("shape", "\(target) for \(data.count) values") }
        }
        values[try singleOutput(i)] = .constant(ONNXConstant(dims: dims, values: data.values))
    }

    /// Concat of constants along any axis.
    mutating func foldConcat(_ i: Int, axis: Int, parts: [ONNXConstant]) throws(ONNXImportError) {
        let attrs = attributes(i)
        let first = parts[0]
        let rank = first.dims.count
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else { throw attrs.unsupported("axis", "\(axis) for rank \(rank)") }
        for p in parts {
            guard p.dims.count == rank, p.isInteger == first.isInteger,
                  (0..<rank).allSatisfy({ $0 == a || p.dims[$0] == first.dims[$0] }) else {
                throw unsupportedUse(i, "its constant inputs have shapes or types that do not concatenate")
            }
        }
        var joined = first.dims
        joined[a] = 0
        for p in parts { joined[a] += p.dims[a] }
        _ = try Self.foldedCount(joined, attrs)
        let outer = try Self.foldedCount(Array(first.dims[..<a]), attrs)
        let inner = try Self.foldedCount(Array(first.dims[(a + 1)...]), attrs)
        var order: [(part: Int, index: Int)] = []
        for o in 0..<outer {
            for (p, part) in parts.enumerated() {
                let block = part.dims[a] * inner
                for e in 0..<block { order.append((p, o * block + e)) }
            }
        }
        var dims = first.dims
        dims[a] = parts.map { $0.dims[a] }.reduce(0, +)
        let values: ONNXConstant.Values
        if first.isInteger {
            let all = parts.map { $0.integers! }
            values = .integer(order.map { all[$0.part][$0.index] })
        } else {
            let all = parts.map(\.floats)
            values = .floating(order.map { all[$0.part][$0.index] })
        }
        self.values[try singleOutput(i)] = .constant(ONNXConstant(dims: dims, values: values))
    }

    // MARK: the folds

    /// The ONNX shape of a constant or an activation (NCHW for feature maps, batch as imported).
    private mutating func foldShape(_ i: Int, _ attrs: NodeAttributes, _ x: String) throws(ONNXImportError) -> ONNXConstant {
        var dims: [Int]
        switch values[x] {
        case .constant(let c)?: dims = c.dims
        case .activation(let name, let layout)?:
            let s = try shape(of: name).dims
            dims = layout == .featureMap && s.count == 4 ? LayoutConversion.nchw(fromNHWC: s) : s
        case nil: throw ONNXImportError.undefinedInput(node: nodeNames[i], tensor: x)
        }
        let rank = dims.count
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
        let start = clamp(try attrs.int("start", default: 0))
        let end = clamp(try attrs.int("end", default: rank))
        dims = start < end ? Array(dims[start..<end]) : []
        return ONNXConstant(dims: [dims.count], values: .integer(dims.map { Int64($0) }))
    }

    /// The `axes` of Squeeze/Unsqueeze: an input from opset 13, an attribute before.
    private func axesOperand(_ i: Int, _ attrs: NodeAttributes) throws(ONNXImportError) -> [Int]? {
        if let name = optionalInput(i, 1) {
            let c = try constant(name, node: i)
            guard let v = c.integers else { throw attrs.unsupported("axes", "'\(name)' (not an integer tensor)") }
            return v.map { Int(clamping: $0) }
        }
        return try attrs.ints("axes")
    }

    private func foldSqueeze(_ i: Int, _ attrs: NodeAttributes, _ x: ONNXConstant) throws(ONNXImportError) -> ONNXConstant {
        let rank = x.dims.count
        let drop: Set<Int>
        if let axes = try axesOperand(i, attrs) {
            var set = Set<Int>()
            for a in axes {
                let n = a < 0 ? a + rank : a
                guard n >= 0, n < rank, x.dims[n] == 1 else { throw attrs.unsupported("axes", "\(axes) for shape \(x.dims)") }
                set.insert(n)
            }
            drop = set
        } else {
            drop = Set(x.dims.indices.filter { x.dims[$0] == 1 })
        }
        return ONNXConstant(dims: x.dims.indices.filter { !drop.contains($0) }.map { x.dims[$0] }, values: x.values)
    }

    private func foldUnsqueeze(_ i: Int, _ attrs: NodeAttributes, _ x: ONNXConstant) throws(ONNXImportError) -> ONNXConstant {
        guard let axes = try axesOperand(i, attrs) else { throw attrs.unsupported("axes", "(missing)") }
        let rank = x.dims.count + axes.count
        var inserted = Set<Int>()
        for a in axes {
            let n = a < 0 ? a + rank : a
            guard n >= 0, n < rank, !inserted.contains(n) else { throw attrs.unsupported("axes", "\(axes) for shape \(x.dims)") }
            inserted.insert(n)
        }
        var dims: [Int] = []
        var rest = x.dims.makeIterator()
        for k in 0..<rank { dims.append(inserted.contains(k) ? 1 : rest.next()!) }
        return ONNXConstant(dims: dims, values: x.values)
    }

    private func foldGather(_ i: Int, _ attrs: NodeAttributes, _ x: ONNXConstant) throws(ONNXImportError) -> ONNXConstant {
        let idxName = try requiredInput(i, 1)
        let idx = try constant(idxName, node: i)
        guard let indices = idx.integers else { throw unsupportedUse(i, "indices '\(idxName)' are not integers") }
        let rank = x.dims.count
        let axis = try attrs.int("axis", default: 0)
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else { throw attrs.unsupported("axis", "\(axis) for rank \(rank)") }
        let extent = x.dims[a]
        _ = try Self.foldedCount(Array(x.dims[..<a]) + idx.dims + Array(x.dims[(a + 1)...]), attrs)
        let outer = try Self.foldedCount(Array(x.dims[..<a]), attrs)
        let inner = try Self.foldedCount(Array(x.dims[(a + 1)...]), attrs)
        var positions: [Int] = []
        for o in 0..<outer {
            for v in indices {
                let k = v < 0 ? Int(v) + extent : Int(clamping: v)
                guard k >= 0, k < extent else { throw unsupportedUse(i, "index \(v) is out of range for axis \(axis) of size \(extent)") }
                for e in 0..<inner { positions.append((o * extent + k) * inner + e) }
            }
        }
        let dims = Array(x.dims[..<a]) + idx.dims + Array(x.dims[(a + 1)...])
        return ONNXConstant(dims: dims, values: Self.pick(x.values, positions))
    }

    /// Expand: numpy-style broadcast of the data to the given shape.
    private func foldExpand(_ i: Int, _ x: ONNXConstant) throws(ONNXImportError) -> ONNXConstant {
        let attrs = attributes(i)
        let shapeName = try requiredInput(i, 1)
        let s = try constant(shapeName, node: i)
        guard let target = s.integers, s.dims.count == 1 else { throw attrs.unsupported("shape", "'\(shapeName)' (not a 1-D integer tensor)") }
        let rank = max(x.dims.count, target.count)
        let xd = Array(repeating: 1, count: rank - x.dims.count) + x.dims
        var td: [Int] = Array(repeating: 1, count: rank - target.count)
        for v in target {
            guard v >= 0, v <= Int64(ONNXLimits.maxExtent) else { throw attrs.unsupported("shape", "\(target)") }
            td.append(Int(v))
        }
        guard let dims = Self.broadcastShape(xd, td) else {
            throw attrs.unsupported("shape", "\(target) (does not broadcast with \(x.dims))")
        }
        _ = try Self.foldedCount(dims, attrs)
        return ONNXConstant(dims: dims, values: Self.pick(x.values, Self.broadcastSources(xd, to: dims)))
    }

    /// Range(start, limit, delta): ⌈(limit − start) / delta⌉ values, integer or floating.
    private func foldRange(_ i: Int, _ attrs: NodeAttributes, _ start: ONNXConstant) throws(ONNXImportError) -> ONNXConstant {
        let limit = try constant(try requiredInput(i, 1), node: i), delta = try constant(try requiredInput(i, 2), node: i)
        guard start.count == 1, limit.count == 1, delta.count == 1 else { throw unsupportedUse(i, "start, limit and delta must be scalars") }
        if let s = start.integers?.first, let l = limit.integers?.first, let d = delta.integers?.first {
            guard d != 0 else { throw unsupportedUse(i, "delta is 0") }
            let (span, overflow) = l.subtractingReportingOverflow(s)
            guard !overflow else { throw unsupportedUse(i, "the range \(s)..<\(l) is too long") }
            let n = max(0, span / d + (span % d != 0 && (span > 0) == (d > 0) ? 1 : 0))
            _ = try Self.foldedCount([Int(clamping: n)], attrs)
            return ONNXConstant(dims: [Int(n)], values: .integer((0..<n).map { s + $0 * d }))
        }
        let (s, l, d) = (start.floats[0], limit.floats[0], delta.floats[0])
        guard d != 0, s.isFinite, l.isFinite, d.isFinite else { throw unsupportedUse(i, "start, limit or delta is not finite, or delta is 0") }
        let n = max(0, Int(((l - s) / d).rounded(.up)))
        _ = try Self.foldedCount([n], attrs)
        return ONNXConstant(dims: [n], values: .floating((0..<n).map { s + Float($0) * d }))
    }

    private func foldConstantOfShape(_ i: Int, _ attrs: NodeAttributes, _ s: ONNXConstant) throws(ONNXImportError) -> ONNXConstant {
        guard let target = s.integers else { throw unsupportedUse(i, "its shape input is not an integer tensor") }
        var dims: [Int] = []
        for v in target {
            guard v >= 0, v <= Int64(ONNXLimits.maxExtent) else { throw attrs.unsupported("shape", "\(target)") }
            dims.append(Int(v))
        }
        let count = try Self.foldedCount(dims, attrs)
        var fill = ONNXConstant(dims: [1], values: .floating([0]))
        if let t = try attrs.tensor("value") { fill = try ONNXConstant(t, name: nodeNames[i] + ".value") }
        guard fill.count == 1 else { throw attrs.unsupported("value", "with \(fill.count) elements (one is needed)") }
        return ONNXConstant(dims: dims, values: Self.pick(fill.values, [Int](repeating: 0, count: count)))
    }

    // MARK: helpers

    /// numpy's broadcast of two shapes of one rank (pad the shorter with leading 1s first); nil
    /// when a pair of dimensions differs and neither is 1.
    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        var dims: [Int] = []
        for (p, q) in zip(a, b) {
            guard p == q || p == 1 || q == 1 else { return nil }
            dims.append(p == 1 ? q : p)
        }
        return dims
    }

    /// For each element of a tensor of `dims` (row-major), the element of an operand of `operand`
    /// dimensions (same rank, each equal or 1) that broadcasts to it.
    static func broadcastSources(_ operand: [Int], to dims: [Int]) -> [Int] {
        let count = dims.reduce(1, *)
        return (0..<count).map { flat in
            var rem = flat, src = 0, step = 1
            for k in dims.indices.reversed() {
                let coordinate = rem % dims[k]
                rem /= dims[k]
                if operand[k] != 1 { src += coordinate * step }
                step *= operand[k]
            }
            return src
        }
    }

    private static func pick(_ values: ONNXConstant.Values, _ positions: [Int]) -> ONNXConstant.Values {
        switch values {
        case .floating(let v): .floating(positions.map { v[$0] })
        case .integer(let v): .integer(positions.map { v[$0] })
        }
    }

    /// Whether an ONNX element type is an integer one (nil: not a type the importer converts to).
    private static func kind(ofElementType t: Int) -> Bool? {
        switch ONNXElementType(rawValue: Int32(clamping: t)) {
        case .float?, .double?: false
        case .int32?, .int64?, .bool?: true
        case nil: nil
        }
    }

    private static func convert(_ c: ONNXConstant, toInteger: Bool, bool: Bool) -> ONNXConstant {
        let values: ONNXConstant.Values
        switch (c.values, toInteger) {
        case (.integer(let v), true): values = .integer(bool ? v.map { $0 != 0 ? 1 : 0 } : v)
        case (.floating(let v), true):
            values = .integer(v.map { f -> Int64 in
                if bool { return f != 0 ? 1 : 0 }
                guard f.isFinite else { return 0 }
                return Int64(exactly: f.rounded(.towardZero)) ?? (f < 0 ? Int64.min : Int64.max)
            })
        case (.integer(let v), false): values = .floating(v.map { Float($0) })
        case (.floating(let v), false): values = .floating(v)
        }
        return ONNXConstant(dims: c.dims, values: values)
    }

    /// Element count of a constant the importer builds by folding: shape arithmetic needs a handful
    /// of elements, so anything past `ONNXLimits.maxFoldedElements` (or overflowing) is refused
    /// before a position list is allocated.
    static func foldedCount(_ dims: [Int], _ attrs: NodeAttributes) throws(ONNXImportError) -> Int {
        var count = 1
        for d in dims {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow, p <= ONNXLimits.maxFoldedElements else {
                throw attrs.unsupported("shape", "\(dims) (more than \(ONNXLimits.maxFoldedElements) elements to fold at import)")
            }
            count = p
        }
        return count
    }

    private static func elementCount(_ dims: [Int], _ attrs: NodeAttributes) throws(ONNXImportError) -> Int {
        var count = 1
        for d in dims {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p <= ONNXLimits.maxElements else { throw attrs.unsupported("shape", "\(dims) (too many elements)") }
            count = p
        }
        return count
    }
}
