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
        let inShape = try shape(of: x.name)
        let padding = try resolvePadding(attrs, input: Size2(inShape[1], inShape[2]), kernel: Size2(kh, kw),
                                         stride: stride, dilation: dilation)

        let weight = Tensor(shape: [o, kh, kw, ig], data: LayoutConversion.ohwi(fromOIHW: w.floats, o: o, i: ig, kh: kh, kw: kw))
        var inputs = [x.name, addWeight(node: i, "weight", weight)]
        if let b = optionalInput(i, 2) {
            let bias = try constant(b, node: i)
            guard bias.count == o else { throw unsupportedUse(i, "bias '\(b)' has \(bias.count) values for \(o) output channels") }
            inputs.append(addWeight(node: i, "bias", Tensor(shape: [o], data: bias.floats)))
        }
        let op = Op.conv2d(Conv2DAttributes(stride: stride, padding: padding, dilation: dilation, groups: groups))
        emit(op, node: i, inputs: inputs, output: try singleOutput(i), layout: .featureMap)
    }

    /// MaxPool and AveragePool (2-D). ceil_mode is accepted where it does not change the output size.
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
        let inShape = try shape(of: x.name)
        let padding = try resolvePadding(attrs, input: Size2(inShape[1], inShape[2]), kernel: kernel,
                                         stride: stride, dilation: dilation)
        if try attrs.int("ceil_mode", default: 0) != 0 {
            // Rounding up only matters when the last window does not end exactly on the padded edge.
            let fitsH = (inShape[1] + padding.top + padding.bottom - kernel.h) % stride.h == 0
            let fitsW = (inShape[2] + padding.left + padding.right - kernel.w) % stride.w == 0
            guard fitsH, fitsW else {
                throw attrs.unsupported("ceil_mode", "1 (it changes the output size for input \(inShape[1])x\(inShape[2]))")
            }
        }
        var countIncludePad = false
        if average { countIncludePad = try attrs.int("count_include_pad", default: 0) != 0 }
        let pool = PoolAttributes(kernel: kernel, stride: stride, padding: padding, countIncludePad: countIncludePad)
        emit(average ? .avgPool(pool) : .maxPool(pool), node: i, inputs: [x.name], output: try singleOutput(i), layout: .featureMap)
    }

    mutating func importGlobalAveragePool(_ i: Int) throws(ONNXImportError) {
        let x = try activation(try requiredInput(i, 0), node: i)
        guard x.layout == .featureMap else { throw unsupportedUse(i, "GlobalAveragePool needs a 4-D NCHW input") }
        emit(.globalAvgPool, node: i, inputs: [x.name], output: try singleOutput(i), layout: .featureMap)
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
