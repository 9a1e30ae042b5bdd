/// Shape inference and validation. Nothing here traps: every inconsistency becomes a `GraphProblem`.
extension Graph {
    /// The shape of every activation tensor for the given batch size (the inputs' own batch when nil).
    /// Throws a `GraphValidationError` listing every problem found.
    public func inferShapes(batch: Int? = nil) throws(GraphValidationError) -> [String: TensorShape] {
        var problems: [GraphProblem] = []
        var shapes: [String: TensorShape] = [:]
        // The first node producing each tensor (a loop: Embedded Swift has no Dictionary(_:uniquingKeysWith:)).
        var producedLater: [String: Int] = [:]
        for (i, n) in nodes.enumerated() {
            for output in n.outputs where producedLater[output] == nil { producedLater[output] = i }
        }

        if let b = batch, b < 1 { problems.append(GraphProblem(node: nil, "batch size \(b) must be at least 1")) }
        if inputs.isEmpty { problems.append(GraphProblem(node: nil, "graph has no inputs")) }
        if outputs.isEmpty { problems.append(GraphProblem(node: nil, "graph has no outputs")) }
        for input in inputs {
            if shapes[input.name] != nil || weights[input.name] != nil {
                problems.append(GraphProblem(node: nil, "input '\(input.name)' is defined twice"))
            }
            var s = input.shape
            if s.rank == 0 || s.dims.contains(where: { $0 < 1 }) {
                problems.append(GraphProblem(node: nil, "input '\(input.name)' has invalid shape \(s)"))
                continue
            }
            if let b = batch, b >= 1 { s[0] = b }
            if s.checkedElementCount == nil {
                problems.append(GraphProblem(node: nil, "input '\(input.name)' shape \(s) has too many elements"))
            }
            shapes[input.name] = s
        }
        for (name, w) in weights where w.shape.checkedElementCount != w.data.count && !w.valuesReleased {
            problems.append(GraphProblem(node: nil, "weight '\(name)' has \(w.data.count) values for shape \(w.shape)"))
        }

        var nodeNames = Set<String>()
        for (index, node) in nodes.enumerated() {
            func fail(_ message: String) { problems.append(GraphProblem(node: node.name, message)) }
            if node.name.isEmpty { fail("node at position \(index) has an empty name") }
            if !nodeNames.insert(node.name).inserted { fail("duplicate node name") }

            var resolved: [TensorShape] = []
            var missing = false
            for name in node.activationInputs {
                if let s = shapes[name] {
                    resolved.append(s)
                } else if let later = producedLater[name], later >= index {
                    fail(later == index ? "input '\(name)' is its own output (cycle)"
                                        : "input '\(name)' is produced later by '\(nodes[later].name)' (cycle or nodes out of order)")
                    missing = true
                } else if weights[name] != nil {
                    fail("input '\(name)' is a weight where an activation is expected")
                    missing = true
                } else {
                    fail("input '\(name)' is not defined")
                    missing = true
                }
            }
            var weightShapes: [TensorShape] = []
            for name in node.weightInputs {
                if let w = weights[name] { weightShapes.append(w.shape) } else {
                    fail("weight '\(name)' is not in the tensor table")
                    missing = true
                }
            }
            let counts = node.op.weightInputCounts
            if !counts.contains(node.weightInputs.count) {
                fail("\(node.op.kind) takes \(counts.lowerBound == counts.upperBound ? "\(counts.lowerBound)" : "\(counts.lowerBound)–\(counts.upperBound)") weight inputs, got \(node.weightInputs.count)")
                missing = true
            }
            if node.op.activationInputCount == nil && node.inputs.isEmpty { fail("concat needs at least one input"); missing = true }
            if let n = node.op.activationInputCount, node.inputs.count < n {
                fail("\(node.op.kind) needs \(n) activation input(s), got \(node.inputs.count)")
                missing = true
            }
            if node.outputs.count != 1 { fail("expected exactly one output, got \(node.outputs.count)") }
            for out in node.outputs where shapes[out] != nil || weights[out] != nil {
                fail("output '\(out)' is already defined")
            }
            if missing || node.outputs.count != 1 { continue }

            switch Self.outputShape(op: node.op, inputs: resolved, weights: weightShapes) {
            case .success(let s):
                // Shapes come from files: a product that overflows is a problem, not a trap later.
                if s.checkedElementCount == nil { fail("output shape \(s) has too many elements") }
                shapes[node.outputs[0]] = s
            case .failure(let p): fail(p.message)
            }
        }
        for out in outputs where shapes[out] == nil {
            problems.append(GraphProblem(node: nil, "graph output '\(out)' is not produced by any node or input"))
        }
        if !problems.isEmpty { throw GraphValidationError(problems: problems) }
        return shapes
    }

    /// Validates the graph; throws a `GraphValidationError` listing every problem.
    public func validate() throws(GraphValidationError) { _ = try inferShapes() }

    public struct ShapeProblem: Error { public var message: String }

    /// Output shape of one op; `inputs` are activation shapes, `weights` the weight shapes.
    public static func outputShape(op: Op, inputs x: [TensorShape], weights w: [TensorShape]) -> Result<TensorShape, ShapeProblem> {
        func bad(_ m: String) -> Result<TensorShape, ShapeProblem> { .failure(ShapeProblem(message: m)) }
        func spatial(_ size: Int, kernel: Int, stride: Int, padBefore: Int, padAfter: Int, dilation: Int) -> Int? {
            guard kernel >= 1, stride >= 1, dilation >= 1, padBefore >= 0, padAfter >= 0 else { return nil }
            // Checked arithmetic: attributes read from a file may be anything.
            let (reach, o1) = dilation.multipliedReportingOverflow(by: kernel - 1)
            let (span, o2) = reach.addingReportingOverflow(1)
            let (before, o3) = size.addingReportingOverflow(padBefore)
            let (padded, o4) = before.addingReportingOverflow(padAfter)
            guard !(o1 || o2 || o3 || o4), padded >= span else { return nil }
            return (padded - span) / stride + 1
        }
        func nhwc(_ s: TensorShape) -> Bool { s.rank == 4 }

        switch op {
        case .conv2d(let a):
            guard nhwc(x[0]) else { return bad("input must be NHWC (rank 4), got \(x[0])") }
            guard w[0].rank == 4 else { return bad("weight must be [S, kh, kw, C/groups], got \(w[0])") }
            let (n, h, wd, c) = (x[0][0], x[0][1], x[0][2], x[0][3])
            let (s, kh, kw, cg) = (w[0][0], w[0][1], w[0][2], w[0][3])
            guard a.groups >= 1 else { return bad("groups must be at least 1, got \(a.groups)") }
            guard c % a.groups == 0, s % a.groups == 0 else {
                return bad("groups \(a.groups) must divide input channels \(c) and output channels \(s)")
            }
            guard cg == c / a.groups else { return bad("weight \(w[0]) expects \(cg) input channels per group × \(a.groups) groups, input has \(c)") }
            if w.count == 2, w[1] != TensorShape([s]) { return bad("bias must be [\(s)], got \(w[1])") }
            guard let oh = spatial(h, kernel: kh, stride: a.stride.h, padBefore: a.padding.top, padAfter: a.padding.bottom, dilation: a.dilation.h),
                  let ow = spatial(wd, kernel: kw, stride: a.stride.w, padBefore: a.padding.left, padAfter: a.padding.right, dilation: a.dilation.w)
            else { return bad("kernel \(kh)x\(kw) with stride \(a.stride), padding \(a.padding), dilation \(a.dilation) does not fit input \(x[0])") }
            return .success(TensorShape([n, oh, ow, s]))

        case .rankConv2d(let a):
            guard nhwc(x[0]) else { return bad("input must be NHWC (rank 4), got \(x[0])") }
            guard w[0].rank == 4, w[0] == w[1] else { return bad("factors a and b must both be [S, C, L, k], got \(w[0]) and \(w[1])") }
            let (s, c, l, k) = (w[0][0], w[0][1], w[0][2], w[0][3])
            guard l >= 1, k >= 1 else { return bad("rank and kernel size must be at least 1, got L=\(l), k=\(k)") }
            guard c == x[0][3] else { return bad("factors expect \(c) input channels, input has \(x[0][3])") }
            if w.count == 3, w[2] != TensorShape([s]) { return bad("bias must be [\(s)], got \(w[2])") }
            guard let oh = spatial(x[0][1], kernel: k, stride: a.stride.h, padBefore: a.padding.top, padAfter: a.padding.bottom, dilation: 1),
                  let ow = spatial(x[0][2], kernel: k, stride: a.stride.w, padBefore: a.padding.left, padAfter: a.padding.right, dilation: 1)
            else { return bad("kernel \(k) with stride \(a.stride), padding \(a.padding) does not fit input \(x[0])") }
            return .success(TensorShape([x[0][0], oh, ow, s]))

        case .convTranspose2d(let a):
            guard nhwc(x[0]) else { return bad("input must be NHWC (rank 4), got \(x[0])") }
            guard w[0].rank == 4, w[0][0] == x[0][3] else { return bad("weight must be [\(x[0][3]), kh, kw, S], got \(w[0])") }
            let (kh, kw, s) = (w[0][1], w[0][2], w[0][3])
            if w.count == 2, w[1] != TensorShape([s]) { return bad("bias must be [\(s)], got \(w[1])") }
            let p = a.padding
            guard kh >= 1, kw >= 1, s >= 1, a.stride.h >= 1, a.stride.w >= 1, a.stride.h <= 1 << 10, a.stride.w <= 1 << 10,
                  [p.top, p.left, p.bottom, p.right].allSatisfy({ $0 >= 0 && $0 <= 1 << 20 }),
                  a.outputPadding.h >= 0, a.outputPadding.w >= 0, a.outputPadding.h < a.stride.h, a.outputPadding.w < a.stride.w,
                  kh <= 1 << 10, kw <= 1 << 10, x[0][1] <= 1 << 20, x[0][2] <= 1 << 20
            else { return bad("kernel \(kh)x\(kw), stride \(a.stride), padding \(p), output padding \(a.outputPadding) are out of range (output padding must be below the stride)") }
            let oh = a.outputSize(x[0][1], kernel: kh, stride: a.stride.h, before: p.top, after: p.bottom, extra: a.outputPadding.h)
            let ow = a.outputSize(x[0][2], kernel: kw, stride: a.stride.w, before: p.left, after: p.right, extra: a.outputPadding.w)
            guard oh >= 1, ow >= 1 else { return bad("padding \(p) crops the whole \(x[0][1])x\(x[0][2]) output") }
            return .success(TensorShape([x[0][0], oh, ow, s]))

        case .linear:
            guard x[0].rank == 2 else { return bad("input must be [N, C], got \(x[0]) (flatten first)") }
            guard w[0].rank == 2, w[0][1] == x[0][1] else { return bad("weight must be [S, \(x[0][1])], got \(w[0])") }
            if w.count == 2, w[1] != TensorShape([w[0][0]]) { return bad("bias must be [\(w[0][0])], got \(w[1])") }
            return .success(TensorShape([x[0][0], w[0][0]]))

        case .batchNorm(let eps):
            guard x[0].rank >= 2 else { return bad("input must have a channel axis, got \(x[0])") }
            guard eps >= 0, eps.isFinite else { return bad("epsilon must be finite and non-negative, got \(eps)") }
            let c = x[0].dims.last!
            for (i, s) in w.enumerated() where s != TensorShape([c]) {
                return bad("\(["scale", "bias", "mean", "variance"][i]) must be [\(c)], got \(s)")
            }
            return .success(x[0])

        case .relu, .relu6, .unary, .softmax:
            return .success(x[0])
        case .dropout(let rate):
            guard rate >= 0, rate < 1 else { return bad("dropout rate must be in [0, 1), got \(rate)") }
            return .success(x[0])

        case .maxPool(let a), .avgPool(let a):
            guard nhwc(x[0]) else { return bad("input must be NHWC (rank 4), got \(x[0])") }
            guard a.padding.top < a.kernel.h, a.padding.bottom < a.kernel.h, a.padding.left < a.kernel.w, a.padding.right < a.kernel.w
            else { return bad("padding \(a.padding) must be smaller than the kernel \(a.kernel)") }
            guard let oh = spatial(x[0][1], kernel: a.kernel.h, stride: a.stride.h, padBefore: a.padding.top, padAfter: a.padding.bottom, dilation: 1),
                  let ow = spatial(x[0][2], kernel: a.kernel.w, stride: a.stride.w, padBefore: a.padding.left, padAfter: a.padding.right, dilation: 1)
            else { return bad("pool \(a.kernel) with stride \(a.stride), padding \(a.padding) does not fit input \(x[0])") }
            return .success(TensorShape([x[0][0], oh, ow, x[0][3]]))

        case .globalAvgPool:
            guard nhwc(x[0]) else { return bad("input must be NHWC (rank 4), got \(x[0])") }
            return .success(TensorShape([x[0][0], 1, 1, x[0][3]]))

        case .add:
            guard x[0] == x[1] else { return bad("add needs equal shapes, got \(x[0]) and \(x[1])") }
            return .success(x[0])

        case .multiply:
            let gate = TensorShape([x[0].dims.first ?? 0, 1, 1, x[0].dims.last ?? 0])
            guard x[1] == x[0] || (nhwc(x[0]) && x[1] == gate) else {
                return bad("multiply needs the second operand shaped \(x[0]) or [N, 1, 1, C] = \(gate), got \(x[1])")
            }
            return .success(x[0])

        case .layerNorm(let eps):
            guard x[0].rank >= 2 else { return bad("input must have a channel axis, got \(x[0])") }
            guard eps >= 0, eps.isFinite else { return bad("epsilon must be finite and non-negative, got \(eps)") }
            let c = x[0].dims.last!
            for (i, s) in w.enumerated() where s != TensorShape([c]) {
                return bad("\(["scale", "bias"][i]) must be [\(c)], got \(s)")
            }
            return .success(x[0])

        case .channelAffine:
            guard x[0].rank >= 2 else { return bad("input must have a channel axis, got \(x[0])") }
            let c = x[0].dims.last!
            for (i, s) in w.enumerated() where s != TensorShape([c]) {
                return bad("\(["scale", "shift"][i]) must be [\(c)], got \(s)")
            }
            return .success(x[0])

        case .channelShuffle(let groups):
            guard x[0].rank >= 2 else { return bad("input must have a channel axis, got \(x[0])") }
            let c = x[0].dims.last!
            guard groups >= 1, c % groups == 0 else { return bad("\(c) channels do not split into \(groups) groups") }
            return .success(x[0])

        case .channelSlice(let start, let count):
            guard x[0].rank >= 2 else { return bad("input must have a channel axis, got \(x[0])") }
            let c = x[0].dims.last!
            guard start >= 0, count >= 1, start <= c, count <= c - start else {
                return bad("channels \(start)..<\(start &+ count) lie outside the input's \(c)")
            }
            var out = x[0]
            out[out.rank - 1] = count
            return .success(out)

        case .channelMean:
            guard x[0].rank >= 2 else { return bad("input must have a channel axis, got \(x[0])") }
            var out = x[0]
            out[out.rank - 1] = 1
            return .success(out)

        case .pad(let a):
            guard nhwc(x[0]) else { return bad("input must be NHWC (rank 4), got \(x[0])") }
            let p = a.padding
            guard [p.top, p.left, p.bottom, p.right].allSatisfy({ $0 >= 0 && $0 <= 1 << 20 }) else {
                return bad("padding \(p) must be between 0 and 2^20")
            }
            switch a.mode {
            case .constant(let v):
                guard v.isFinite else { return bad("pad value must be finite, got \(v)") }
            case .reflect:
                guard p.top < x[0][1], p.bottom < x[0][1], p.left < x[0][2], p.right < x[0][2] else {
                    return bad("reflect padding \(p) must be smaller than the input's \(x[0][1])x\(x[0][2])")
                }
            case .edge: break
            }
            return .success(TensorShape([x[0][0], x[0][1] + p.top + p.bottom, x[0][2] + p.left + p.right, x[0][3]]))

        case .resize(let a):
            guard nhwc(x[0]) else { return bad("input must be NHWC (rank 4), got \(x[0])") }
            guard a.size.h >= 1, a.size.w >= 1, a.size.h <= 1 << 20, a.size.w <= 1 << 20 else {
                return bad("output size \(a.size) must be between 1 and 2^20")
            }
            guard a.scaleH > 0, a.scaleW > 0, a.scaleH.isFinite, a.scaleW.isFinite else {
                return bad("scales \(a.scaleH), \(a.scaleW) must be positive and finite")
            }
            return .success(TensorShape([x[0][0], a.size.h, a.size.w, x[0][3]]))

        case .flatten:
            guard x[0].rank >= 2 else { return bad("input must have a batch axis, got \(x[0])") }
            guard let features = TensorShape(Array(x[0].dims.dropFirst())).checkedElementCount else {
                return bad("flattening \(x[0]) gives too many elements")
            }
            return .success(TensorShape([x[0][0], features]))

        case .concat:
            let first = x[0]
            for s in x.dropFirst() where s.rank != first.rank || s.dims.dropLast() != first.dims.dropLast() {
                return bad("concat inputs must agree except on the last axis, got \(first) and \(s)")
            }
            var out = first
            var channels = 0
            for s in x {
                let (sum, overflow) = channels.addingReportingOverflow(s.dims.last!)
                if overflow { return bad("concatenated channels overflow") }
                channels = sum
            }
            out[out.rank - 1] = channels
            return .success(out)
        }
    }
}
