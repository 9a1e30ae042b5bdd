import RankEdge

/// Ops that pick or reorder channels: Split and Slice on the channel axis (ShuffleNet's
/// `chunk`), and the channel shuffle PyTorch writes as Reshape [N, g, C/g, H, W] → Transpose
/// (0, 2, 1, 3, 4) → Reshape [N, C, H, W]. Slice of a constant is folded (shape arithmetic).
extension ImportContext {
    /// A feature map seen as [N, g, C/g, H, W] (a channel shuffle's first Reshape), and after its
    /// Transpose; only the shuffle's closing Reshape may read it.
    struct ChannelGrouping: Sendable {
        var source: String
        var groups: Int
        var transposed: Bool
    }

    /// GoogLeNet's `x[:, c]` then `unsqueeze(1)`: a Gather of one channel of a feature map (axis 1,
    /// a scalar index) leaves an [N, H, W] value only an Unsqueeze at axis 1 may read, which becomes
    /// the one-channel slice; a Gather with a one-element index list is that slice at once. False
    /// when node `i` is neither (a Gather or Unsqueeze of constants, folded by the caller).
    mutating func importChannelPick(_ i: Int, op: String, x: String, output: String) throws(ONNXImportError) -> Bool {
        let attrs = attributes(i)
        if op == "Gather", let source = flatViews[x] {
            // The dynamo exporter's as_strided after adaptive pooling: Reshape [-1], then a Gather whose
            // indices are 0, 1, 2, … in the source's own NCHW shape, which is the source unchanged.
            let indices = try constant(try requiredInput(i, 1), node: i)
            let dims = LayoutConversion.nchw(fromNHWC: try shape(of: source).dims)
            guard try attrs.int("axis", default: 0) == 0, indices.dims == dims,
                  indices.integers?.enumerated().allSatisfy({ Int64($0.offset) == $0.element }) == true else {
                throw unsupportedUse(i, "it gathers from a flattened feature map other than back into its own shape \(dims)")
            }
            values[output] = .activation(source, .featureMap)
            if graphOutputs.contains(output) { emit(.dropout(rate: 0), node: i, inputs: [source], output: output, layout: .featureMap) }
            return true
        }
        if op == "Unsqueeze", let (source, channel) = pickedChannels[x] {
            let axes: [Int]
            if let name = optionalInput(i, 1) {
                guard let v = try constant(name, node: i).integers else { throw attrs.unsupported("axes", "'\(name)' (not integers)") }
                axes = v.map { Int(clamping: $0) }
            } else {
                axes = try attrs.ints("axes") ?? []
            }
            guard axes == [1] || axes == [-3] else {
                throw unsupportedUse(i, "it unsqueezes a picked channel at axes \(axes); only axis 1 (back to [N, 1, H, W]) is supported")
            }
            emit(.channelSlice(start: channel, count: 1), node: i, inputs: [source], output: output, layout: .featureMap,
                 provenance: "imported from ONNX Gather + Unsqueeze (channel \(channel))")
            return true
        }
        guard op == "Gather", case .activation(let source, let layout)? = values[x] else { return false }
        let axis = try attrs.int("axis", default: 0)
        let indicesName = try requiredInput(i, 1)
        let indices = try constant(indicesName, node: i)
        guard layout == .featureMap, axis == 1 || axis == -3, let v = indices.integers, v.count == 1, indices.dims.count <= 1 else {
            throw unsupportedUse(i, "Gather of a computed tensor is supported only as one channel of a feature map (axis 1, one index)")
        }
        let channels = try shape(of: source).dims.last!
        let channel = v[0] < 0 ? Int(v[0]) + channels : Int(clamping: v[0])
        guard channel >= 0, channel < channels else { throw unsupportedUse(i, "index \(v[0]) is out of range for \(channels) channels") }
        if indices.dims.count == 1 {
            emit(.channelSlice(start: channel, count: 1), node: i, inputs: [source], output: output, layout: .featureMap)
        } else {
            pickedChannels[output] = (source, channel)
        }
        return true
    }

    /// Reshape of a batch-1 feature map to 1-D: held back for the Gather that restores it (dynamo's
    /// `as_strided`, a batch-1 form in the ONNX graph itself).
    mutating func startFlatView(_ i: Int, x: (name: String, layout: ValueLayout), target: [Int64]) throws(ONNXImportError) -> Bool {
        let s = try shape(of: x.name)
        guard x.layout == .featureMap, s[0] == 1, target.count == 1, target[0] == -1 || target[0] == Int64(s.elementCount) else { return false }
        flatViews[try singleOutput(i)] = x.name
        return true
    }

    /// Split on the channel axis: one channel slice per used output.
    mutating func importSplit(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        if case .reorderedColumns = x.layout { throw unsupportedUse(i, "it splits a flattened feature map") }
        let s = try shape(of: x.name)
        let channels = s.dims.last!
        let axis = try attrs.int("axis", default: 0)
        let rank = x.layout == .featureMap ? 4 : s.rank
        guard try channelAxis(axis, rank: rank, layout: x.layout) else {
            throw attrs.unsupported("axis", "\(axis) (only the channel axis, 1 for NCHW)")
        }
        let outputs = onnxNodes[i].output
        var sizes: [Int]
        if let name = optionalInput(i, 1) {
            guard let v = try constant(name, node: i).integers else { throw attrs.unsupported("split", "'\(name)' (not integers)") }
            sizes = v.map { Int(clamping: $0) }
        } else if let v = try attrs.ints("split") {
            sizes = v
        } else {
            // Equal parts, the last one smaller when they do not divide (opset 18's num_outputs).
            let n = try attrs.int("num_outputs", default: outputs.count)
            guard n >= 1, n == outputs.count else { throw attrs.unsupported("num_outputs", "\(n) for \(outputs.count) outputs") }
            let part = (channels + n - 1) / n
            sizes = (0..<n).map { min(part, channels - $0 * part) }
        }
        guard sizes.count == outputs.count, sizes.allSatisfy({ $0 >= 1 }), sizes.reduce(0, +) == channels else {
            throw attrs.unsupported("split", "\(sizes) for \(channels) channels into \(outputs.count) outputs")
        }
        var start = 0
        for (k, (output, size)) in zip(outputs, sizes).enumerated() {
            defer { start += size }
            guard !output.isEmpty, consumers[output] != nil || graphOutputs.contains(output) else { continue }
            emit(.channelSlice(start: start, count: size), node: i, name: k == 0 ? nodeNames[i] : freshName(node: i, "\(k)"),
                 inputs: [x.name], output: output, layout: x.layout)
        }
    }

    /// Slice of a constant (folded), or of an activation on its channel axis with step 1.
    mutating func importSlice(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let dataName = try requiredInput(i, 0)
        var starts: [Int64], ends: [Int64], axes: [Int64]?, steps: [Int64]?
        if opset < 10 {
            guard let s = try attrs.int64s("starts"), let e = try attrs.int64s("ends") else { throw attrs.unsupported("starts/ends", "(missing)") }
            (starts, ends, axes, steps) = (s, e, try attrs.int64s("axes"), nil)
        } else {
            func ints(_ slot: Int, _ label: String) throws(ONNXImportError) -> [Int64]? {
                guard let name = optionalInput(i, slot) else { return nil }
                guard let v = try constant(name, node: i).integers else { throw attrs.unsupported(label, "'\(name)' (not integers)") }
                return v
            }
            guard let s = try ints(1, "starts"), let e = try ints(2, "ends") else { throw attrs.unsupported("starts/ends", "(missing)") }
            (starts, ends, axes, steps) = (s, e, try ints(3, "axes"), try ints(4, "steps"))
        }
        guard starts.count == ends.count, axes.map({ $0.count == starts.count }) ?? true, steps.map({ $0.count == starts.count }) ?? true else {
            throw unsupportedUse(i, "starts, ends, axes and steps differ in length")
        }
        let dims: [Int]
        let data: ONNXConstant?
        switch values[dataName] {
        case .constant(let c)?: (dims, data) = (c.dims, c)
        case .activation(let name, let layout)?:
            let s = try shape(of: name).dims
            (dims, data) = (layout == .featureMap ? LayoutConversion.nchw(fromNHWC: s) : s, nil)
        case nil: throw ONNXImportError.undefinedInput(node: nodeNames[i], tensor: dataName)
        }
        // Per axis: (start, step, count) after ONNX's clamping.
        var ranges = dims.map { (start: 0, step: 1, count: $0) }
        for k in starts.indices {
            let rawAxis = Int(clamping: axes?[k] ?? Int64(k))
            let axis = rawAxis < 0 ? rawAxis + dims.count : rawAxis
            guard axis >= 0, axis < dims.count else { throw attrs.unsupported("axes", "\(rawAxis) for rank \(dims.count)") }
            let step = Int(clamping: steps?[k] ?? 1)
            guard step != 0 else { throw attrs.unsupported("steps", "0") }
            let d = Int64(dims[axis])
            func clamp(_ v: Int64, _ lo: Int64, _ hi: Int64) -> Int64 { min(max(v < 0 ? v &+ d : v, lo), hi) }
            let (lo, hi): (Int64, Int64) = step > 0 ? (0, d) : (-1, d - 1)
            let first = clamp(starts[k], lo, hi), last = clamp(ends[k], lo, hi)
            let span = step > 0 ? last - first : first - last
            let count = span <= 0 ? 0 : Int((span + Int64(abs(step)) - 1) / Int64(abs(step)))
            ranges[axis] = (Int(first), step, count)
        }
        let output = try singleOutput(i)
        if let data {
            let count = try Self.foldedCount(ranges.map(\.count), attrs)
            var positions: [Int] = []
            positions.reserveCapacity(count)
            var strides = [Int](repeating: 1, count: dims.count)
            for k in stride(from: dims.count - 2, through: 0, by: -1) { strides[k] = strides[k + 1] * dims[k + 1] }
            for flat in 0..<count {
                var rem = flat, src = 0
                for k in (0..<dims.count).reversed() {
                    let c = rem % ranges[k].count
                    rem /= ranges[k].count
                    src += (ranges[k].start + c * ranges[k].step) * strides[k]
                }
                positions.append(src)
            }
            let values: ONNXConstant.Values = switch data.values {
            case .floating(let v): .floating(positions.map { v[$0] })
            case .integer(let v): .integer(positions.map { v[$0] })
            }
            self.values[output] = .constant(ONNXConstant(dims: ranges.map(\.count), values: values))
            return
        }
        let x = try activation(dataName, node: i)
        if case .reorderedColumns = x.layout { throw unsupportedUse(i, "it slices a flattened feature map") }
        let channelAxis = x.layout == .featureMap ? 1 : dims.count - 1
        for (axis, r) in ranges.enumerated() where axis != channelAxis && (r.start != 0 || r.step != 1 || r.count != dims[axis]) {
            throw unsupportedUse(i, "it slices axis \(axis); only the channel axis can be sliced")
        }
        let r = ranges[channelAxis]
        guard r.step == 1, r.count >= 1 else { throw unsupportedUse(i, "a channel slice needs step 1 and at least one channel") }
        if r.start == 0 && r.count == dims[channelAxis] {
            values[output] = .activation(x.name, x.layout)
            if graphOutputs.contains(output) { emit(.dropout(rate: 0), node: i, inputs: [x.name], output: output, layout: x.layout) }
            return
        }
        emit(.channelSlice(start: r.start, count: r.count), node: i, inputs: [x.name], output: output,
             layout: x.layout)
    }

    /// The first Reshape of a channel shuffle, [N, C, H, W] → [N, g, C/g, H, W]; nil when the target
    /// is not that.
    mutating func channelGrouping(_ i: Int, x: (name: String, layout: ValueLayout), target: [Int64]) throws(ONNXImportError) -> ChannelGrouping? {
        guard x.layout == .featureMap, target.count == 5 else { return nil }
        let s = LayoutConversion.nchw(fromNHWC: try shape(of: x.name).dims)
        guard let dims = Self.reshapeTarget(target, input: s), dims[0] == s[0], dims[1] * dims[2] == s[1],
              dims[3] == s[2], dims[4] == s[3], dims[1] > 1 else { return nil }
        return ChannelGrouping(source: x.name, groups: dims[1], transposed: false)
    }

    /// Transpose: NCHW ↔ NHWC of a feature map (ConvNeXt's permutes around LayerNorm and Linear),
    /// which only relabels the tensor RankEdge already holds as NHWC (a 4-D `.plain` value is
    /// channels-last); or the (0, 2, 1, 3, 4) of a channel shuffle.
    mutating func importTranspose(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let input = try requiredInput(i, 0)
        let perm = try attrs.ints("perm")
        if case .activation(let name, let layout)? = values[input], try shape(of: name).rank == 4 {
            let output = try singleOutput(i)
            switch (layout, perm) {
            case (.featureMap, [0, 2, 3, 1]?), (.plain, [0, 3, 1, 2]?):
                let relabelled: ValueLayout = layout == .featureMap ? .plain : .featureMap
                if graphOutputs.contains(output) {
                    emit(.dropout(rate: 0), node: i, inputs: [name], output: output, layout: relabelled)
                } else {
                    values[output] = .activation(name, relabelled)
                }
                return
            default: break
            }
        }
        guard var grouping = channelGroups[input], !grouping.transposed, perm == [0, 2, 1, 3, 4] else {
            throw unsupportedUse(i, "Transpose \(perm.map { "\($0)" } ?? "(reversing)") is not supported: only NCHW ↔ NHWC of a feature map and a channel shuffle's (0, 2, 1, 3, 4)")
        }
        grouping.transposed = true
        channelGroups[try singleOutput(i)] = grouping
    }

    /// The closing Reshape of a channel shuffle, when `data` is a transposed grouping.
    mutating func closeChannelShuffle(_ i: Int, data: String, target: [Int64]) throws(ONNXImportError) -> Bool {
        guard let grouping = channelGroups[data] else { return false }
        let s = LayoutConversion.nchw(fromNHWC: try shape(of: grouping.source).dims)
        let c = s[1]
        let grouped = [s[0], c / grouping.groups, grouping.groups, s[2], s[3]]
        guard grouping.transposed, let dims = Self.reshapeTarget(target, input: grouped), dims == s else {
            throw unsupportedUse(i, "a channel-grouped view is read by something other than a channel shuffle's Transpose and Reshape back to \(s)")
        }
        emit(.channelShuffle(groups: grouping.groups), node: i, inputs: [grouping.source], output: try singleOutput(i), layout: .featureMap,
             provenance: "imported from ONNX Reshape + Transpose + Reshape (channel shuffle, \(grouping.groups) groups)")
        return true
    }

    /// ONNX Reshape's target with 0 (copy) and one -1 (infer) resolved; nil when it does not fit.
    static func reshapeTarget(_ target: [Int64], input: [Int]) -> [Int]? {
        var dims: [Int] = []
        var inferred: Int? = nil
        for (k, d) in target.enumerated() {
            switch d {
            case -1:
                guard inferred == nil else { return nil }
                inferred = k; dims.append(1)
            case 0:
                guard k < input.count else { return nil }
                dims.append(input[k])
            default:
                guard d > 0, d <= Int64(ONNXLimits.maxExtent) else { return nil }
                dims.append(Int(d))
            }
        }
        let total = input.reduce(1, *), known = dims.reduce(1, *)
        if let k = inferred {
            guard known > 0, total % known == 0 else { return nil }
            dims[k] = total / known
        }
        return dims.reduce(1, *) == total ? dims : nil
    }

    /// Whether ONNX `axis` is the channel axis of a tensor of this rank and layout.
    private func channelAxis(_ axis: Int, rank: Int, layout: ValueLayout) throws(ONNXImportError) -> Bool {
        let a = axis < 0 ? axis + rank : axis
        return layout == .featureMap ? a == 1 : a == rank - 1
    }
}
