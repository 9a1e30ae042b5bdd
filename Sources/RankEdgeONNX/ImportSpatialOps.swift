import RankEdge

/// Conv and pooling: the ops with kernels, strides and padding over a feature map.
extension ImportContext {
    /// Conv (2-D only): weight OIHW → OHWI; pads, auto_pad, strides, dilations, group.
    mutating func importConv(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        guard x.layout == .featureMap else { throw unsupportedUse(i, "Conv needs a 4-D NCHW input") }
        let w = try constant(try requiredInput(i, 1), node: i)
        guard w.dims.count == 4 else {
            throw attrs.unsupported("weight rank", "\(w.dims.count) (only 2-D convolutions, OIHW weights)")
        }
        let (o, ig, kh, kw) = (w.dims[0], w.dims[1], w.dims[2], w.dims[3])
        if let ks = try attrs.ints("kernel_shape"), ks != [kh, kw] {
            throw attrs.unsupported("kernel_shape", "\(ks) (the weight is \(kh)x\(kw))")
        }
        let groups = try attrs.int("group", default: 1)
        guard groups >= 1 else { throw attrs.unsupported("group", "\(groups)") }
        let stride = try pair(attrs, "strides")
        let dilation = try pair(attrs, "dilations")
        var input = x.name
        let inShape = try shape(of: x.name)
        var padding = try resolvePadding(attrs, input: Size2(inShape[1], inShape[2]), kernel: Size2(kh, kw),
                                         stride: stride, dilation: dilation)
        if let (source, extra) = absorbablePad(x.name) {
            // auto_pad sizes its padding from the padded input, so it is resolved before the pad goes.
            input = source
            padding = Self.combined(padding, extra)
        }

        let weight = Tensor(shape: [o, kh, kw, ig], data: LayoutConversion.ohwi(fromOIHW: w.floats, o: o, i: ig, kh: kh, kw: kw))
        var inputs = [input, addWeight(node: i, "weight", weight, source: w)]
        if let b = optionalInput(i, 2) {
            let bias = try constant(b, node: i)
            guard bias.count == o else { throw unsupportedUse(i, "bias '\(b)' has \(bias.count) values for \(o) output channels") }
            // A bias of zeros computed in the graph (the dynamo exporter's spelling of `bias=False`
            // without its optimizer) is left out; a named one is a parameter and stays.
            let computedZeros = bias.name == nil && bias.floats.allSatisfy { $0 == 0 }
            if !computedZeros {
                inputs.append(addWeight(node: i, "bias", Tensor(shape: [o], data: bias.floats), source: bias))
            }
        }
        let op = Op.conv2d(Conv2DAttributes(stride: stride, padding: padding, dilation: dilation, groups: groups))
        emit(op, node: i, inputs: inputs, output: try singleOutput(i), layout: .featureMap)
    }

    /// ConvTranspose (2-D, group 1, no dilation): weight [C, S, kh, kw] → [C, kh, kw, S]; pads,
    /// strides, output_padding; output_shape and auto_pad other than NOTSET are refused.
    mutating func importConvTranspose(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        guard x.layout == .featureMap else { throw unsupportedUse(i, "ConvTranspose needs a 4-D NCHW input") }
        let w = try constant(try requiredInput(i, 1), node: i)
        guard w.dims.count == 4 else { throw attrs.unsupported("weight rank", "\(w.dims.count) (only 2-D, [C, S, kh, kw] weights)") }
        let (c, s, kh, kw) = (w.dims[0], w.dims[1], w.dims[2], w.dims[3])
        if let ks = try attrs.ints("kernel_shape"), ks != [kh, kw] { throw attrs.unsupported("kernel_shape", "\(ks) (the weight is \(kh)x\(kw))") }
        let groups = try attrs.int("group", default: 1)
        guard groups == 1 else { throw attrs.unsupported("group", "\(groups) (only 1)") }
        guard try pair(attrs, "dilations") == .square(1) else { throw attrs.unsupported("dilations", "(only 1)") }
        if try attrs.ints("output_shape") != nil { throw attrs.unsupported("output_shape", "(give pads and output_padding instead)") }
        let autoPad = try attrs.string("auto_pad", default: "NOTSET")
        guard autoPad == "NOTSET" || autoPad == "" || autoPad == "VALID" else { throw attrs.unsupported("auto_pad", "'\(autoPad)'") }
        var padding = Padding.zero
        if autoPad != "VALID", let p = try attrs.ints("pads") {
            guard p.count == 4, p.allSatisfy({ $0 >= 0 }) else { throw attrs.unsupported("pads", "\(p) (four values ≥ 0 for 2-D)") }
            padding = Padding(top: p[0], left: p[1], bottom: p[2], right: p[3])
        }
        var extra = Size2(0, 0)
        if let e = try attrs.ints("output_padding") {
            guard e.count == 2, e.allSatisfy({ $0 >= 0 }) else { throw attrs.unsupported("output_padding", "\(e) (two values ≥ 0)") }
            extra = Size2(e[0], e[1])
        }
        let stride = try pair(attrs, "strides")
        var values = [Float](repeating: 0, count: w.count)
        let source = w.floats
        for ci in 0..<c { for o in 0..<s { for y in 0..<kh { for xx in 0..<kw {
            values[((ci * kh + y) * kw + xx) * s + o] = source[((ci * s + o) * kh + y) * kw + xx]
        } } } }
        var inputs = [x.name, addWeight(node: i, "weight", Tensor(shape: [c, kh, kw, s], data: values), source: w)]
        if let b = optionalInput(i, 2) {
            let bias = try constant(b, node: i)
            guard bias.count == s else { throw unsupportedUse(i, "bias '\(b)' has \(bias.count) values for \(s) output channels") }
            inputs.append(addWeight(node: i, "bias", Tensor(shape: [s], data: bias.floats), source: bias))
        }
        let op = Op.convTranspose2d(ConvTranspose2DAttributes(stride: stride, padding: padding, outputPadding: extra))
        emit(op, node: i, inputs: inputs, output: try singleOutput(i), layout: .featureMap)
    }

    /// MaxPool and AveragePool (2-D); ceil_mode as extra bottom/right padding.
    mutating func importPool(_ i: Int, average: Bool) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        guard x.layout == .featureMap else { throw unsupportedUse(i, "\(onnxNodes[i].opType) needs a 4-D NCHW input") }
        guard let ks = try attrs.ints("kernel_shape") else { throw attrs.unsupported("kernel_shape", "(missing)") }
        guard ks.count == 2, ks.allSatisfy({ $0 >= 1 }) else { throw attrs.unsupported("kernel_shape", "\(ks) (only 2-D pooling)") }
        let kernel = Size2(ks[0], ks[1])
        let stride = try pair(attrs, "strides")
        let dilation = try pair(attrs, "dilations")
        guard dilation == .square(1) else { throw attrs.unsupported("dilations", "\(dilation) (pooling without dilation only)") }
        if !average, try attrs.int("storage_order", default: 0) != 0 {
            throw attrs.unsupported("storage_order", "1")
        }
        var input = x.name
        let inShape = try shape(of: x.name)
        var padding = try resolvePadding(attrs, input: Size2(inShape[1], inShape[2]), kernel: kernel,
                                         stride: stride, dilation: dilation)
        var countIncludePad = false
        if average { countIncludePad = try attrs.int("count_include_pad", default: 0) != 0 }
        let ceilMode = try attrs.int("ceil_mode", default: 0) != 0
        let own = padding
        if average && countIncludePad && !ceilMode, let (source, extra) = absorbablePad(x.name, fits: { p in
            // Padded zeros counted in the divisor are the pool's own padding while each side stays
            // smaller than the kernel (every window then lies inside the padded input).
            let m = Self.combined(own, p)
            return m.top < kernel.h && m.bottom < kernel.h && m.left < kernel.w && m.right < kernel.w
        }) {
            input = source
            padding = Self.combined(padding, extra)
        }
        if ceilMode {
            // Rounding the output size up adds windows that hang over the bottom/right edge: the same
            // as that much more padding, which max pooling and an average that excludes padding ignore.
            let extraH = Self.ceilModeExtra(size: inShape[1], kernel: kernel.h, stride: stride.h, before: padding.top, after: padding.bottom)
            let extraW = Self.ceilModeExtra(size: inShape[2], kernel: kernel.w, stride: stride.w, before: padding.left, after: padding.right)
            if extraH + extraW > 0 && countIncludePad {
                // ONNX Runtime (as PyTorch) divides by the window's cells inside the padded input, so
                // the padding given counts and the cells past it do not: that padding becomes real
                // zeros, and the extra windows an average of real cells.
                if padding != .zero {
                    let padded = freshName(node: i, "pad")
                    emit(.pad(PadAttributes(padding: padding)), node: i, name: padded, inputs: [input], output: padded,
                         layout: .featureMap, provenance: "imported from ONNX AveragePool (count_include_pad with ceil_mode)")
                    input = padded
                }
                padding = .zero
                countIncludePad = false
            }
            padding.bottom += extraH
            padding.right += extraW
            guard padding.bottom < kernel.h, padding.right < kernel.w else {
                throw attrs.unsupported("ceil_mode", "1 with kernel \(kernel) and stride \(stride): a window would lie wholly in padding")
            }
        }
        let pool = PoolAttributes(kernel: kernel, stride: stride, padding: padding, countIncludePad: countIncludePad)
        emit(average ? .avgPool(pool) : .maxPool(pool), node: i, inputs: [input], output: try singleOutput(i), layout: .featureMap)
    }

    static func combined(_ a: Padding, _ b: Padding) -> Padding {
        Padding(top: a.top + b.top, left: a.left + b.left, bottom: a.bottom + b.bottom, right: a.right + b.right)
    }

    /// The padding ceil_mode adds after an axis: the output size rounded up, less a last window that
    /// would start in the padding after the input (PyTorch's and ONNX Runtime's rule).
    static func ceilModeExtra(size: Int, kernel: Int, stride: Int, before: Int, after: Int) -> Int {
        let span = size + before + after - kernel
        guard span >= 0, stride >= 1 else { return 0 }
        var out = (span + stride - 1) / stride + 1
        if (out - 1) * stride >= size + before { out -= 1 }
        return max(0, (out - 1) * stride + kernel - (size + before + after))
    }

    mutating func importGlobalAveragePool(_ i: Int) throws(ONNXImportError) {
        let x = try activation(try requiredInput(i, 0), node: i)
        guard x.layout == .featureMap else { throw unsupportedUse(i, "GlobalAveragePool needs a 4-D NCHW input") }
        emit(.globalAvgPool, node: i, inputs: [x.name], output: try singleOutput(i), layout: .featureMap)
    }

    /// ReduceMean over the spatial axes of a feature map is global average pooling; PyTorch's dynamo
    /// exporter writes AdaptiveAvgPool2d(1) and `x.mean((2, 3))` so. Over the channels (axis 1 of a
    /// feature map, the last axis of a 2-D or 3-D tensor) it is a channel mean. Axes come as an
    /// attribute (opset < 18) or as a constant input (opset ≥ 18); with keepdims 0 a flatten follows
    /// where RankEdge has the shape (a second node, "<name>.flatten").
    mutating func importReduceMean(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        if case .reorderedColumns = x.layout { throw unsupportedUse(i, "ReduceMean of a flattened feature map") }
        var axes = try attrs.ints("axes")
        if let name = optionalInput(i, 1) {
            let c = try constant(name, node: i)
            guard let v = c.integers, c.dims.count <= 1 else { throw attrs.unsupported("axes", "'\(name)' (not a 1-D integer tensor)") }
            axes = v.map { Int(clamping: $0) }
        }
        let all = axes ?? []
        if all.isEmpty {
            let noop = try attrs.int("noop_with_empty_axes", default: 0) != 0
            throw attrs.unsupported("axes", noop ? "(none, noop_with_empty_axes 1)" : "(none: the mean of every axis)")
        }
        let rank = x.layout == .featureMap ? 4 : try shape(of: x.name).rank
        let normalized = all.map { $0 < 0 ? $0 + rank : $0 }.sorted()
        let keep = try attrs.int("keepdims", default: 1) != 0
        let output = try singleOutput(i)
        if x.layout == .featureMap && normalized == [2, 3] {
            if keep {
                emit(.globalAvgPool, node: i, inputs: [x.name], output: output, layout: .featureMap)
            } else {
                let pooled = freshName(node: i, "pooled")
                emit(.globalAvgPool, node: i, inputs: [x.name], output: pooled, layout: .featureMap)
                emit(.flatten, node: i, name: freshName(node: i, "flatten"), inputs: [pooled], output: output, layout: .plain,
                     provenance: "imported from ONNX ReduceMean (keepdims 0)")
            }
            return
        }
        let channelAxis = x.layout == .featureMap ? 1 : rank - 1
        guard normalized == [channelAxis], rank >= 2, rank <= 3 || x.layout == .featureMap else {
            throw attrs.unsupported("axes", "\(all) of a rank-\(rank) tensor (only [2, 3] or [1] of NCHW, or the last axis of a 2-D or 3-D tensor)")
        }
        if keep {
            emit(.channelMean, node: i, inputs: [x.name], output: output, layout: x.layout)
        } else if x.layout == .featureMap {
            // [N, H, W] is held as the one-channel map until an Unsqueeze at axis 1 restores it.
            guard !graphOutputs.contains(output) else {
                throw unsupportedUse(i, "its [N, H, W] result (channel mean, keepdims 0) is a graph output; RankEdge keeps it only as [N, 1, H, W]")
            }
            let mean = freshName(node: i, "mean")
            emit(.channelMean, node: i, inputs: [x.name], output: mean, layout: .featureMap)
            pickedChannels[output] = (mean, 0)
        } else if rank == 3 {
            let mean = freshName(node: i, "mean")
            emit(.channelMean, node: i, inputs: [x.name], output: mean, layout: .plain)
            emit(.flatten, node: i, name: freshName(node: i, "flatten"), inputs: [mean], output: output, layout: .plain,
                 provenance: "imported from ONNX ReduceMean (keepdims 0)")
        } else {
            throw unsupportedUse(i, "the mean of a 2-D tensor's last axis with keepdims 0 is 1-D, which RankEdge has no form for")
        }
    }

    /// A two-element spatial attribute (strides, dilations), default 1×1; each value must be ≥ 1.
    func pair(_ attrs: NodeAttributes, _ name: String) throws(ONNXImportError) -> Size2 {
        guard let v = try attrs.ints(name) else { return .square(1) }
        guard v.count == 2, v.allSatisfy({ $0 >= 1 }) else {
            throw attrs.unsupported(name, "\(v) (two values ≥ 1 for 2-D)")
        }
        return Size2(v[0], v[1])
    }

    /// Explicit pads [top, left, bottom, right] or the padding auto_pad implies for this input size.
    func resolvePadding(_ attrs: NodeAttributes, input: Size2, kernel: Size2, stride: Size2,
                        dilation: Size2) throws(ONNXImportError) -> Padding {
        let autoPad = try attrs.string("auto_pad", default: "NOTSET")
        switch autoPad {
        case "NOTSET", "":
            guard let p = try attrs.ints("pads") else { return .zero }
            guard p.count == 4, p.allSatisfy({ $0 >= 0 }) else { throw attrs.unsupported("pads", "\(p) (four values ≥ 0 for 2-D)") }
            return Padding(top: p[0], left: p[1], bottom: p[2], right: p[3])
        case "VALID":
            return .zero
        case "SAME_UPPER", "SAME_LOWER":
            // Output size ceil(in / stride); the odd pixel of padding goes after (UPPER) or before (LOWER).
            func split(_ size: Int, _ k: Int, _ s: Int, _ d: Int) -> (Int, Int) {
                let out = (size + s - 1) / s
                let total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                return autoPad == "SAME_UPPER" ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
            }
            let (t, b) = split(input.h, kernel.h, stride.h, dilation.h)
            let (l, r) = split(input.w, kernel.w, stride.w, dilation.w)
            return Padding(top: t, left: l, bottom: b, right: r)
        default:
            throw attrs.unsupported("auto_pad", "'\(autoPad)'")
        }
    }
}
