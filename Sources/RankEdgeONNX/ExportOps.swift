import RankEdge

/// One RankEdge node → ONNX node(s), with weights moved to ONNX layouts.
extension ExportContext {
    mutating func exportNode(_ node: Node) throws(ONNXExportError) {
        let x = node.inputs.first ?? ""
        let output = node.outputs[0]
        let doc = node.provenance
        let inputLayout = layouts[x] ?? .plain
        let rank = shapes[x]?.rank ?? 0
        func weight(_ i: Int) -> Tensor { graph.weights[node.inputs[i]]! }

        switch node.op {
        case .conv2d(let a):
            let w = weight(1)
            let (s, kh, kw, cg) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
            let wName = addInitializer(weight: node.inputs[1], dims: [s, cg, kh, kw],
                                       values: LayoutConversion.oihw(fromOHWI: w.data, o: s, kh: kh, kw: kw, i: cg))
            var inputs = [x, wName]
            if node.inputs.count > 2 { inputs.append(addInitializer(weight: node.inputs[2], dims: [s], values: weight(2).data)) }
            addNode("Conv", name: node.name, inputs: inputs, output: output, layout: .featureMap,
                    attributes: convAttributes(kernel: Size2(kh, kw), stride: a.stride, padding: a.padding,
                                               dilation: a.dilation, groups: a.groups), doc: doc)

        case .rankConv2d(let a):
            // Dense kernel Σ_l a_l ⊗ b_l: what any ONNX runtime can run.
            let w = reconstructRankKernel(a: weight(1), b: weight(2))
            let (s, k, c) = (w.shape[0], w.shape[1], w.shape[3])
            let wName = addInitializer(weight: uniqueName("\(node.name).reconstructed_weight"), dims: [s, c, k, k],
                                       values: LayoutConversion.oihw(fromOHWI: w.data, o: s, kh: k, kw: k, i: c))
            var inputs = [x, wName]
            if node.inputs.count > 3 { inputs.append(addInitializer(weight: node.inputs[3], dims: [s], values: weight(3).data)) }
            addNode("Conv", name: node.name, inputs: inputs, output: output, layout: .featureMap,
                    attributes: convAttributes(kernel: .square(k), stride: a.stride, padding: a.padding,
                                               dilation: .square(1), groups: 1),
                    doc: doc ?? "rankConv2d with rank \(weight(1).shape[2]), exported with its reconstructed dense kernel")

        case .convTranspose2d(let a):
            // RankEdge's [C, kh, kw, S] is ONNX's [C, S, kh, kw] with the output channels moved forward.
            let w = weight(1)
            let (c, kh, kw, s) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
            var values = [Float](repeating: 0, count: w.count)
            for i in 0..<c { for y in 0..<kh { for x in 0..<kw { for o in 0..<s {
                values[((i * s + o) * kh + y) * kw + x] = w.data[((i * kh + y) * kw + x) * s + o]
            } } } }
            var inputs = [x, addInitializer(weight: node.inputs[1], dims: [c, s, kh, kw], values: values)]
            if node.inputs.count > 2 { inputs.append(addInitializer(weight: node.inputs[2], dims: [s], values: weight(2).data)) }
            addNode("ConvTranspose", name: node.name, inputs: inputs, output: output, layout: .featureMap,
                    attributes: [.ints("kernel_shape", [kh, kw]), .ints("strides", [a.stride.h, a.stride.w]),
                                 .ints("pads", [a.padding.top, a.padding.left, a.padding.bottom, a.padding.right]),
                                 .ints("output_padding", [a.outputPadding.h, a.outputPadding.w])], doc: doc)

        case .linear:
            let w = weight(1)
            let (s, c) = (w.shape[0], w.shape[1])
            var values = w.data
            if case .reorderedColumns(let order) = inputLayout {
                values = LayoutConversion.scatterColumns(values, rows: s, order: order)
            }
            var inputs = [x, addInitializer(weight: node.inputs[1], dims: [s, c], values: values)]
            if node.inputs.count > 2 { inputs.append(addInitializer(weight: node.inputs[2], dims: [s], values: weight(2).data)) }
            addNode("Gemm", name: node.name, inputs: inputs, output: output, layout: .plain,
                    attributes: [.int("transB", 1)], doc: doc)

        case .batchNorm(let epsilon):
            guard rank == 4 || rank == 2 else {
                throw .unsupported(node: node.name, reason: "batch norm on a rank-\(rank) tensor (ONNX normalizes axis 1; RankEdge the last)")
            }
            var inputs = [x]
            for i in 1...4 {
                var values = weight(i).data
                if case .reorderedColumns(let order) = inputLayout {
                    values = LayoutConversion.scatterColumns(values, rows: 1, order: order)
                }
                inputs.append(addInitializer(weight: node.inputs[i], dims: [values.count], values: values))
            }
            addNode("BatchNormalization", name: node.name, inputs: inputs, output: output, layout: inputLayout,
                    attributes: [.float("epsilon", epsilon)], doc: doc)

        case .layerNorm(let epsilon):
            // ONNX normalises the trailing axes from `axis`: over the channels of a feature map that
            // is NHWC, between two Transposes.
            var input = x
            if inputLayout == .featureMap {
                input = uniqueName("\(node.name).nhwc")
                addNode("Transpose", name: input, inputs: [x], output: input, layout: .plain, attributes: [.ints("perm", [0, 2, 3, 1])])
            } else if case .reorderedColumns = inputLayout {
                input = plainColumns(x)
            }
            let normalized = inputLayout == .featureMap ? uniqueName("\(node.name).normalized") : output
            addNode("LayerNormalization", name: inputLayout == .featureMap ? uniqueName("\(node.name).norm") : node.name,
                    inputs: [input, addInitializer(weight: node.inputs[1], dims: [weight(1).count], values: weight(1).data),
                             addInitializer(weight: node.inputs[2], dims: [weight(2).count], values: weight(2).data)],
                    output: normalized, layout: .plain, attributes: [.int("axis", -1), .float("epsilon", epsilon)], doc: doc)
            if inputLayout == .featureMap {
                addNode("Transpose", name: node.name, inputs: [normalized], output: output, layout: .featureMap,
                        attributes: [.ints("perm", [0, 3, 1, 2])], doc: doc)
            }

        case .relu:
            addNode("Relu", name: node.name, inputs: [x], output: output, layout: inputLayout, doc: doc)
        case .relu6:
            addNode("Clip", name: node.name, inputs: [x, scalar(0), scalar(6)], output: output, layout: inputLayout, doc: doc)
        case .unary(let f):
            switch f {
            case .sigmoid: addNode("Sigmoid", name: node.name, inputs: [x], output: output, layout: inputLayout, doc: doc)
            case .tanh: addNode("Tanh", name: node.name, inputs: [x], output: output, layout: inputLayout, doc: doc)
            case .hardSwish: addNode("HardSwish", name: node.name, inputs: [x], output: output, layout: inputLayout, doc: doc)
            case .hardSigmoid(let alpha, let beta):
                addNode("HardSigmoid", name: node.name, inputs: [x], output: output, layout: inputLayout,
                        attributes: [.float("alpha", alpha), .float("beta", beta)], doc: doc)
            case .erf: addNode("Erf", name: node.name, inputs: [x], output: output, layout: inputLayout, doc: doc)
            case .gelu:
                // Opset 17 has no Gelu: x · (1 + Erf(x / √2)) · 0.5, the form the TorchScript exporter writes.
                let scaled = uniqueName("\(node.name).div"), e = uniqueName("\(node.name).erf")
                let shifted = uniqueName("\(node.name).add"), product = uniqueName("\(node.name).mul")
                addNode("Div", name: scaled, inputs: [x, scalar(Float(2).squareRoot())], output: scaled, layout: inputLayout)
                addNode("Erf", name: e, inputs: [scaled], output: e, layout: inputLayout)
                addNode("Add", name: shifted, inputs: [e, scalar(1)], output: shifted, layout: inputLayout)
                addNode("Mul", name: product, inputs: [x, shifted], output: product, layout: inputLayout)
                addNode("Mul", name: node.name, inputs: [product, scalar(0.5)], output: output, layout: inputLayout, doc: doc)
            case .silu:
                // ONNX has no SiLU op: x · Sigmoid(x), the form PyTorch's exporters write.
                let gate = uniqueName("\(node.name).sigmoid")
                addNode("Sigmoid", name: gate, inputs: [x], output: gate, layout: inputLayout)
                addNode("Mul", name: node.name, inputs: [x, gate], output: output, layout: inputLayout, doc: doc)
            }

        case .maxPool(let a), .avgPool(let a):
            var attributes: [Onnx_AttributeProto] = [
                .ints("kernel_shape", [a.kernel.h, a.kernel.w]),
                .ints("strides", [a.stride.h, a.stride.w]),
                .ints("pads", [a.padding.top, a.padding.left, a.padding.bottom, a.padding.right]),
            ]
            let isMax = if case .maxPool = node.op { true } else { false }
            if !isMax { attributes.append(.int("count_include_pad", a.countIncludePad ? 1 : 0)) }
            addNode(isMax ? "MaxPool" : "AveragePool", name: node.name, inputs: [x], output: output,
                    layout: .featureMap, attributes: attributes, doc: doc)

        case .globalAvgPool:
            addNode("GlobalAveragePool", name: node.name, inputs: [x], output: output, layout: .featureMap, doc: doc)

        case .add:
            var (a, b) = (x, node.inputs[1])
            if layouts[a] != layouts[b] { a = plainColumns(a); b = plainColumns(b) }
            addNode("Add", name: node.name, inputs: [a, b], output: output, layout: layouts[a] ?? .plain, doc: doc)

        case .multiply:
            // [N, C, H, W] · [N, C, 1, 1] broadcasts in ONNX as it does here.
            var (a, b) = (x, node.inputs[1])
            if layouts[a] != layouts[b] { a = plainColumns(a); b = plainColumns(b) }
            addNode("Mul", name: node.name, inputs: [a, b], output: output, layout: layouts[a] ?? .plain, doc: doc)

        case .channelAffine:
            // Mul and Add by per-channel constants, shaped [C, 1, 1] against NCHW.
            var (scale, shift) = (weight(1).data, weight(2).data)
            if case .reorderedColumns(let order) = inputLayout {
                scale = LayoutConversion.scatterColumns(scale, rows: 1, order: order)
                shift = LayoutConversion.scatterColumns(shift, rows: 1, order: order)
            }
            let dims = rank == 4 ? [scale.count, 1, 1] : [scale.count]
            let scaled = uniqueName("\(node.name).scaled")
            addNode("Mul", name: uniqueName("\(node.name).mul"), inputs: [x, addInitializer(weight: node.inputs[1], dims: dims, values: scale)],
                    output: scaled, layout: inputLayout)
            addNode("Add", name: node.name, inputs: [scaled, addInitializer(weight: node.inputs[2], dims: dims, values: shift)],
                    output: output, layout: inputLayout, doc: doc)

        case .channelShuffle(let groups):
            // PyTorch's form: view [N, g, C/g, H, W], transpose(1, 2), view back.
            guard let s = shapes[x], rank == 4 || (rank == 2 && inputLayout == .plain) else {
                throw .unsupported(node: node.name, reason: "channel shuffle of a rank-\(rank) tensor with reordered columns")
            }
            let c = s.dims.last!
            let spatial = rank == 4 ? [s[1], s[2]] : []
            let grid = uniqueName("\(node.name).grid"), transposed = uniqueName("\(node.name).transposed")
            addNode("Reshape", name: uniqueName("\(node.name).split_groups"),
                    inputs: [x, int64s("\(node.name).grid_shape", [0, groups, c / groups] + spatial)], output: grid, layout: .plain)
            addNode("Transpose", name: uniqueName("\(node.name).transpose"), inputs: [grid], output: transposed, layout: .plain,
                    attributes: [.ints("perm", [0, 2, 1] + (rank == 4 ? [3, 4] : []))])
            addNode("Reshape", name: node.name, inputs: [transposed, int64s("\(node.name).shape", [0, c] + spatial)], output: output,
                    layout: inputLayout, doc: doc)

        case .channelSlice(let start, let count):
            if case .reorderedColumns(let order) = inputLayout {
                // The ONNX columns of these channels need not be adjacent: gather them.
                addNode("Gather", name: node.name, inputs: [x, int64s("\(node.name).indices", Array(order[start..<(start + count)]))],
                        output: output, layout: .plain, attributes: [.int("axis", 1)], doc: doc)
            } else {
                addNode("Slice", name: node.name,
                        inputs: [x, int64s("\(node.name).starts", [start]), int64s("\(node.name).ends", [start + count]),
                                 int64s("\(node.name).axes", [rank == 4 ? 1 : rank - 1])],
                        output: output, layout: inputLayout, doc: doc)
            }

        case .channelMean:
            // The last axis: the channels, axis 1 of a feature map in NCHW.
            guard rank == 4 || inputLayout == .plain else {
                throw .unsupported(node: node.name, reason: "channel mean of a rank-\(rank) tensor with reordered columns")
            }
            addNode("ReduceMean", name: node.name, inputs: [x], output: output, layout: inputLayout,
                    attributes: [.ints("axes", [rank == 4 ? 1 : rank - 1]), .int("keepdims", 1)], doc: doc)

        case .pad(let a):
            // Opset 11+ Pad: pads as an input, [begin of each axis, end of each axis] in NCHW order.
            let p = a.padding
            var inputs = [x, int64s("\(node.name).pads", [0, 0, p.top, p.left, 0, 0, p.bottom, p.right])]
            if case .constant(let v) = a.mode { inputs.append(scalar(v)) }
            addNode("Pad", name: node.name, inputs: inputs, output: output, layout: .featureMap,
                    attributes: [.string("mode", a.mode.name)], doc: doc)

        case .resize(let a):
            // Scales where ONNX sizes the output from them as RankEdge did (it then maps coordinates
            // with them too); else sizes, whose scales are the size ratios, with N and C read from
            // the input so the batch stays free.
            guard let s = shapes[x] else { throw .unsupported(node: node.name, reason: "resize input without a shape") }
            var attributes: [Onnx_AttributeProto] = [.string("coordinate_transformation_mode", a.coordinates.rawValue)]
            switch a.mode {
            case .nearest(let r): attributes += [.string("mode", "nearest"), .string("nearest_mode", r.rawValue)]
            case .linear: attributes.append(.string("mode", "linear"))
            }
            let inputs: [String]
            // ONNX Runtime multiplies in float, ONNX's shape inference in double: both must agree.
            func sizes(_ input: Int, _ scale: Float) -> [Int] { [Int(Float(input) * scale), Int(Double(input) * Double(scale))] }
            if sizes(s[1], a.scaleH) == [a.size.h, a.size.h] && sizes(s[2], a.scaleW) == [a.size.w, a.size.w] {
                inputs = [x, "", addInitializer(weight: uniqueName("\(node.name).scales"), dims: [4], values: [1, 1, a.scaleH, a.scaleW])]
            } else if a.scaleH == Float(a.size.h) / Float(s[1]) && a.scaleW == Float(a.size.w) / Float(s[2]) {
                let nc = uniqueName("\(node.name).nc"), sizes = uniqueName("\(node.name).sizes")
                addNode("Shape", name: nc, inputs: [x], output: nc, layout: .plain, attributes: [.int("start", 0), .int("end", 2)])
                addNode("Concat", name: sizes, inputs: [nc, int64s("\(node.name).hw", [a.size.h, a.size.w])], output: sizes,
                        layout: .plain, attributes: [.int("axis", 0)])
                inputs = [x, "", "", sizes]
            } else {
                throw .unsupported(node: node.name, reason: "resize to \(a.size) with scales \(a.scaleH), \(a.scaleW) that ONNX would size differently")
            }
            addNode("Resize", name: node.name, inputs: inputs, output: output, layout: .featureMap, attributes: attributes, doc: doc)

        case .flatten:
            var layout = inputLayout
            if rank == 4, let s = shapes[x] {
                layout = .columns(LayoutConversion.flattenOrder(c: s[3], h: s[1], w: s[2]))
            }
            addNode("Flatten", name: node.name, inputs: [x], output: output, layout: layout,
                    attributes: [.int("axis", 1)], doc: doc)

        case .softmax:
            // RankEdge's softmax is over the last axis: the channels of a feature map (axis 1 in NCHW).
            addNode("Softmax", name: node.name, inputs: [x], output: output, layout: inputLayout,
                    attributes: [.int("axis", rank == 4 ? 1 : -1)], doc: doc)

        case .concat:
            if rank == 4 {
                addNode("Concat", name: node.name, inputs: node.inputs, output: output, layout: .featureMap,
                        attributes: [.int("axis", 1)], doc: doc)
            } else {
                var order: [Int] = []
                for input in node.inputs {
                    let offset = order.count
                    switch layouts[input] {
                    case .reorderedColumns(let o)?: order += o.map { $0 + offset }
                    default: order += (0..<(shapes[input]?.dims.last ?? 0)).map { $0 + offset }
                    }
                }
                addNode("Concat", name: node.name, inputs: node.inputs, output: output,
                        layout: rank == 2 ? .columns(order) : .plain, attributes: [.int("axis", -1)], doc: doc)
            }

        case .dropout(let rate):
            if rate == 0 {
                addNode("Identity", name: node.name, inputs: [x], output: output, layout: inputLayout, doc: doc)
            } else {
                addNode("Dropout", name: node.name, inputs: [x, scalar(rate)], output: output, layout: inputLayout, doc: doc)
            }
        }
    }

    private func convAttributes(kernel: Size2, stride: Size2, padding: Padding, dilation: Size2,
                                groups: Int) -> [Onnx_AttributeProto] {
        [
            .ints("kernel_shape", [kernel.h, kernel.w]),
            .ints("strides", [stride.h, stride.w]),
            .ints("pads", [padding.top, padding.left, padding.bottom, padding.right]),
            .ints("dilations", [dilation.h, dilation.w]),
            .int("group", groups),
        ]
    }
}
