/// Attributes of the ops that change a feature map's spatial extent without weights: Pad and Resize
/// (ONNX Pad, Resize and Upsample).

/// What a pad writes outside the input.
public enum PadMode: Hashable, Sendable {
    /// One value everywhere (zero for the padding a conv could have absorbed).
    case constant(Float)
    /// The input mirrored about its edge cell, which is not repeated (NumPy's and ONNX's reflect):
    /// each pad must be smaller than the axis it pads.
    case reflect
    /// The edge cell repeated.
    case edge

    public var name: String {
        switch self {
        case .constant: "constant"
        case .reflect: "reflect"
        case .edge: "edge"
        }
    }

    /// The input index a padded index reads, or nil for a constant cell; `i` in [−before, size + after).
    public func source(_ i: Int, size: Int) -> Int? {
        if i >= 0 && i < size { return i }
        switch self {
        case .constant: return nil
        case .edge: return min(max(i, 0), size - 1)
        case .reflect:
            // One reflection suffices: validation keeps every pad below the size.
            return i < 0 ? -i : 2 * (size - 1) - i
        }
    }
}

public struct PadAttributes: Hashable, Sendable {
    public var padding: Padding
    public var mode: PadMode
    public init(padding: Padding, mode: PadMode = .constant(0)) { self.padding = padding; self.mode = mode }
}

/// How an output index maps to a fractional input index (ONNX coordinate_transformation_mode).
public enum ResizeCoordinates: String, Hashable, Sendable, CaseIterable {
    /// (o + ½) / scale − ½.
    case halfPixel = "half_pixel"
    /// As half_pixel, but 0 when the output axis has one cell (PyTorch's align_corners=False).
    case pytorchHalfPixel = "pytorch_half_pixel"
    /// o · (in − 1) / (out − 1): the corner cells of input and output coincide.
    case alignCorners = "align_corners"
    /// o / scale (ONNX Upsample, PyTorch's nearest).
    case asymmetric
}

/// Which input cell nearest-neighbour resizing picks for a fractional index (ONNX nearest_mode).
public enum NearestRounding: String, Hashable, Sendable, CaseIterable {
    case roundPreferFloor = "round_prefer_floor"
    case roundPreferCeil = "round_prefer_ceil"
    case floor
    case ceil

    public func callAsFunction(_ x: Float) -> Int {
        switch self {
        case .floor: return Int(x.rounded(.down))
        case .ceil: return Int(x.rounded(.up))
        case .roundPreferFloor: return x == x.rounded(.down) + 0.5 ? Int(x.rounded(.down)) : Int(x.rounded())
        case .roundPreferCeil: return x == x.rounded(.down) + 0.5 ? Int(x.rounded(.up)) : Int(x.rounded())
        }
    }
}

public enum ResizeMode: Hashable, Sendable {
    case nearest(NearestRounding)
    /// Bilinear over H and W.
    case linear
}

/// Resizing of H and W to a fixed output size. The scales are kept apart from the size because ONNX
/// maps coordinates with the scale it was given (7 · 1.5 gives 10 cells, mapped with 1.5, not 10/7).
public struct ResizeAttributes: Hashable, Sendable {
    public var mode: ResizeMode
    public var coordinates: ResizeCoordinates
    public var size: Size2
    public var scaleH: Float, scaleW: Float

    public init(mode: ResizeMode, coordinates: ResizeCoordinates, size: Size2, scaleH: Float, scaleW: Float) {
        self.mode = mode; self.coordinates = coordinates; self.size = size; self.scaleH = scaleH; self.scaleW = scaleW
    }

    /// Scales of output size / input size, as ONNX derives them when sizes are given.
    public init(mode: ResizeMode, coordinates: ResizeCoordinates, input: Size2, size: Size2) {
        self.init(mode: mode, coordinates: coordinates, size: size,
                  scaleH: Float(size.h) / Float(input.h), scaleW: Float(size.w) / Float(input.w))
    }

    /// The fractional input index of output index `o` on an axis of `inSize` → `outSize` cells,
    /// computed in Float in ONNX Runtime's order so rounding ties fall the same way.
    public func source(_ o: Int, inSize: Int, outSize: Int, scale: Float) -> Float {
        switch coordinates {
        case .halfPixel: return (Float(o) + 0.5) / scale - 0.5
        case .pytorchHalfPixel: return outSize > 1 ? (Float(o) + 0.5) / scale - 0.5 : 0
        case .alignCorners: return outSize == 1 ? 0 : Float(o) * Float(inSize - 1) / Float(outSize - 1)
        case .asymmetric: return Float(o) / scale
        }
    }

    /// The input cells and weights output index `o` reads on one axis: one cell for nearest, two
    /// (the second possibly the first again at the edge) for linear, clamped into the input.
    public func taps(_ o: Int, inSize: Int, outSize: Int, scale: Float) -> [(index: Int, weight: Float)] {
        let x = source(o, inSize: inSize, outSize: outSize, scale: scale)
        switch mode {
        case .nearest(let rounding):
            return [(min(max(rounding(x), 0), inSize - 1), 1)]
        case .linear:
            let clamped = min(max(x, 0), Float(inSize - 1))
            let low = min(Int(clamped.rounded(.down)), inSize - 1)
            let high = min(low + 1, inSize - 1)
            let t = clamped - Float(low)
            return [(low, 1 - t), (high, t)]
        }
    }
}

/// A transposed (fractionally strided) 2-D convolution, groups 1, no dilation: each input cell
/// adds its C-vector times the weight into a kh×kw window of the output, windows `stride` apart;
/// `padding` crops the full result and `outputPadding` extends it at the bottom and right.
public struct ConvTranspose2DAttributes: Hashable, Sendable {
    public var stride: Size2
    public var padding: Padding
    public var outputPadding: Size2
    public init(stride: Size2 = .square(1), padding: Padding = .zero, outputPadding: Size2 = .square(0)) {
        self.stride = stride; self.padding = padding; self.outputPadding = outputPadding
    }

    /// (in − 1)·stride − padBefore − padAfter + kernel + outputPadding.
    public func outputSize(_ input: Int, kernel: Int, stride s: Int, before: Int, after: Int, extra: Int) -> Int {
        (input - 1) * s - before - after + kernel + extra
    }
}
