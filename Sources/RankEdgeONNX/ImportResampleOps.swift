import RankEdge

/// Pad, Resize and Upsample: spatial padding and resizing of a feature map.
extension ImportContext {
    /// Pad of H and W (pads as an input from opset 11, as an attribute before); a zero pad that a
    /// following Conv or AveragePool can take as its own padding is absorbed there (`absorbablePad`).
    mutating func importPad(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let x = try activation(try requiredInput(i, 0), node: i)
        guard x.layout == .featureMap else { throw unsupportedUse(i, "Pad needs a 4-D NCHW input") }
        var pads: [Int]
        var value: Float = 0
        if opset >= 11 {
            let p = try constant(try requiredInput(i, 1), node: i)
            guard let v = p.integers, p.dims.count == 1 else { throw unsupportedUse(i, "pads must be a 1-D integer constant") }
            pads = v.map { Int(clamping: $0) }
            if let name = optionalInput(i, 2) {
                let c = try constant(name, node: i)
                guard c.count == 1 else { throw unsupportedUse(i, "constant_value '\(name)' has \(c.count) values, not one") }
                value = c.floats[0]
            }
            if let name = optionalInput(i, 3) {
                // Opset 18's axes: pads hold begin/end values for these axes only.
                guard let axes = try constant(name, node: i).integers, pads.count == 2 * axes.count else {
                    throw unsupportedUse(i, "axes '\(name)' must be integers, half as many as the pads")
                }
                var full = [Int](repeating: 0, count: 8)
                for (k, a) in axes.enumerated() {
                    let axis = a < 0 ? Int(a) + 4 : Int(clamping: a)
                    guard (0..<4).contains(axis) else { throw unsupportedUse(i, "axis \(a) is out of range for a 4-D input") }
                    full[axis] = pads[k]; full[axis + 4] = pads[k + axes.count]
                }
                pads = full
            }
        } else {
            guard let p = try attrs.ints("pads") else { throw attrs.unsupported("pads", "(missing)") }
            pads = p
            value = try attrs.float("value") ?? 0
        }
        guard pads.count == 8 else { throw attrs.unsupported("pads", "\(pads) (eight values for a 4-D input)") }
        guard pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0 else {
            throw attrs.unsupported("pads", "\(pads) (only H and W can be padded, not N or C)")
        }
        guard pads.allSatisfy({ $0 >= 0 }) else { throw attrs.unsupported("pads", "\(pads) (negative pads crop; not supported)") }
        let mode: PadMode
        switch try attrs.string("mode", default: "constant") {
        case "constant":
            guard value.isFinite else { throw unsupportedUse(i, "constant value \(value) is not finite") }
            mode = .constant(value)
        case "reflect": mode = .reflect
        case "edge": mode = .edge
        case let other: throw attrs.unsupported("mode", "'\(other)' (constant, reflect and edge only)")
        }
        let padding = Padding(top: pads[2], left: pads[3], bottom: pads[6], right: pads[7])
        if case .reflect = mode {
            let s = try shape(of: x.name)
            guard padding.top < s[1], padding.bottom < s[1], padding.left < s[2], padding.right < s[2] else {
                throw attrs.unsupported("pads", "\(pads) (reflect pads must be smaller than the input's \(s[1])x\(s[2]))")
            }
        }
        emit(.pad(PadAttributes(padding: padding, mode: mode)), node: i, inputs: [x.name], output: try singleOutput(i), layout: .featureMap)
    }

    /// When `tensor` is the output of a zero Pad read by this node alone, removes that pad node and
    /// returns its input and padding: a Conv (or an average that counts padding) computes the same
    /// with the padding as its own.
    mutating func absorbablePad(_ tensor: String, fits: (Padding) -> Bool = { _ in true }) -> (input: String, padding: Padding)? {
        guard consumers[tensor]?.count == 1, !graphOutputs.contains(tensor),
              let k = nodes.lastIndex(where: { $0.outputs == [tensor] }),
              case .pad(let a) = nodes[k].op, a.mode == .constant(0), fits(a.padding) else { return nil }
        let input = nodes[k].inputs[0]
        nodes.remove(at: k)
        return (input, a.padding)
    }

    /// Resize (opset 10+) and Upsample: nearest or linear on H and W, by constant scales or sizes
    /// (folded shape computations count as constants).
    mutating func importResize(_ i: Int) throws(ONNXImportError) {
        let attrs = attributes(i)
        let op = onnxNodes[i].opType
        let x = try activation(try requiredInput(i, 0), node: i)
        guard x.layout == .featureMap else { throw unsupportedUse(i, "\(op) needs a 4-D NCHW input") }
        let s = try shape(of: x.name)
        let (h, w) = (s[1], s[2])
        // Before opset 11 both ops map asymmetrically and pick the floor cell when enlarging (the ceil
        // when shrinking), as ONNX Runtime does.
        let legacy = op == "Upsample" || opset < 11
        let modeName = try attrs.string("mode", default: "nearest")
        let coordinatesName = legacy ? "asymmetric" : try attrs.string("coordinate_transformation_mode", default: "half_pixel")
        guard let coordinates = ResizeCoordinates(rawValue: coordinatesName) else {
            throw attrs.unsupported("coordinate_transformation_mode", "'\(coordinatesName)' (half_pixel, pytorch_half_pixel, align_corners, asymmetric only)")
        }
        if !legacy {
            if try attrs.int("exclude_outside", default: 0) != 0 { throw attrs.unsupported("exclude_outside", "1") }
            if try attrs.int("antialias", default: 0) != 0 { throw attrs.unsupported("antialias", "1") }
            if try attrs.ints("axes") != nil { throw attrs.unsupported("axes", "(resizing named axes)") }
            let policy = try attrs.string("keep_aspect_ratio_policy", default: "stretch")
            if policy != "stretch" { throw attrs.unsupported("keep_aspect_ratio_policy", "'\(policy)'") }
        }

        // Scales: input 1 (Upsample 9, Resize 10), input 2 (Resize 11+), or Upsample 7's attribute; sizes: input 3.
        var scales: [Float]?
        var sizes: [Int]?
        if op == "Upsample" && opset < 9 {
            scales = try attrs.floats("scales")
        } else if let name = optionalInput(i, legacy ? 1 : 2) {
            let c = try constant(name, node: i)
            if c.count > 0 { scales = c.floats }
        }
        if !legacy, let name = optionalInput(i, 3) {
            let c = try constant(name, node: i)
            guard let v = c.integers else { throw unsupportedUse(i, "sizes '\(name)' is not an integer tensor") }
            sizes = v.map { Int(clamping: $0) }
        }
        let size: Size2, scaleH: Float, scaleW: Float
        if let sizes {
            guard scales == nil else { throw unsupportedUse(i, "it gives both scales and sizes") }
            guard sizes.count == 4, sizes[0] == s[0], sizes[1] == s[3], sizes[2] >= 1, sizes[3] >= 1 else {
                throw unsupportedUse(i, "sizes \(sizes) must keep N and C (\(s[0]), \(s[3])) and give H, W ≥ 1")
            }
            size = Size2(sizes[2], sizes[3])
            scaleH = Float(size.h) / Float(h); scaleW = Float(size.w) / Float(w)
        } else if let scales {
            guard scales.count == 4, scales[0] == 1, scales[1] == 1, scales[2] > 0, scales[3] > 0,
                  scales[2].isFinite, scales[3].isFinite else {
                throw unsupportedUse(i, "scales \(scales) must be 1 for N and C and positive for H and W")
            }
            scaleH = scales[2]; scaleW = scales[3]
            // ONNX Runtime's output size: the product in float, truncated.
            size = Size2(Int(Float(h) * scaleH), Int(Float(w) * scaleW))
            guard size.h >= 1, size.w >= 1 else { throw unsupportedUse(i, "scales \(scales) leave no output cells for \(h)x\(w)") }
        } else {
            throw unsupportedUse(i, "it has neither scales nor sizes")
        }

        let mode: ResizeMode
        switch modeName {
        case "nearest":
            if legacy {
                guard (scaleH < 1) == (scaleW < 1) || scaleH == 1 || scaleW == 1 else {
                    throw unsupportedUse(i, "it enlarges one axis and shrinks the other (legacy nearest rounds each differently)")
                }
                mode = .nearest(scaleH < 1 || scaleW < 1 ? .ceil : .floor)
            } else {
                let r = try attrs.string("nearest_mode", default: "round_prefer_floor")
                guard let rounding = NearestRounding(rawValue: r) else { throw attrs.unsupported("nearest_mode", "'\(r)'") }
                mode = .nearest(rounding)
            }
        case "linear", "bilinear":
            mode = .linear
        default:
            throw attrs.unsupported("mode", "'\(modeName)' (nearest and linear only)")
        }
        let a = ResizeAttributes(mode: mode, coordinates: coordinates, size: size, scaleH: scaleH, scaleW: scaleW)
        emit(.resize(a), node: i, inputs: [x.name], output: try singleOutput(i), layout: .featureMap)
    }
}
