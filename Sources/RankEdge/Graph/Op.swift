/// A pair of spatial values, height first.
public struct Size2: Hashable, Sendable, CustomStringConvertible {
    public var h: Int
    public var w: Int
    public init(_ h: Int, _ w: Int) { self.h = h; self.w = w }
    public static func square(_ v: Int) -> Size2 { Size2(v, v) }
    public var description: String { h == w ? "\(h)" : "\(h)x\(w)" }
}

/// Explicit four-sided spatial padding.
public struct Padding: Hashable, Sendable, CustomStringConvertible {
    public var top: Int, left: Int, bottom: Int, right: Int
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top; self.left = left; self.bottom = bottom; self.right = right
    }
    public static func same(_ p: Int) -> Padding { Padding(top: p, left: p, bottom: p, right: p) }
    public static let zero = Padding.same(0)
    public var description: String {
        (top == left && left == bottom && bottom == right) ? "\(top)" : "\(top),\(left),\(bottom),\(right)"
    }
}

public struct Conv2DAttributes: Hashable, Sendable {
    public var stride: Size2
    public var padding: Padding
    public var dilation: Size2
    public var groups: Int
    public init(stride: Size2 = .square(1), padding: Padding = .zero, dilation: Size2 = .square(1), groups: Int = 1) {
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
    }
}

/// Rank-L spatial conv (METHODS.md §1): kernel W[o,c] = Σ_l a[o,c,l] ⊗ b[o,c,l] (a sum, not a product).
public struct RankConv2DAttributes: Hashable, Sendable {
    public var stride: Size2
    public var padding: Padding
    public init(stride: Size2 = .square(1), padding: Padding = .zero) {
        self.stride = stride; self.padding = padding
    }
}

public struct PoolAttributes: Hashable, Sendable {
    public var kernel: Size2
    public var stride: Size2
    public var padding: Padding
    /// Average pooling only: whether padded cells count in the divisor (PyTorch's default is true,
    /// ONNX's is false). Max pooling ignores padded cells either way.
    public var countIncludePad: Bool
    public init(kernel: Size2, stride: Size2, padding: Padding = .zero, countIncludePad: Bool = false) {
        self.kernel = kernel; self.stride = stride; self.padding = padding; self.countIncludePad = countIncludePad
    }
}

/// The operations of a graph. Node input lists (activations first, then weights):
///
/// | op | inputs | weight layouts |
/// |---|---|---|
/// | conv2d | x, weight, bias? | weight [S, kh, kw, C/groups] (OHWI), bias [S] |
/// | rankConv2d | x, a, b, bias? | a, b [S, C, L, k]; a is the vertical (row) factor, b the horizontal |
/// | convTranspose2d | x, weight, bias? | weight [C, kh, kw, S] (IHWO, the GEMM's [C × kh·kw·S]), bias [S] |
/// | linear | x, weight, bias? | x [N, C]; weight [S, C]; bias [S] |
/// | batchNorm | x, scale, bias, mean, variance | each [C], C the last axis of x |
/// | layerNorm | x, scale, bias | each [C], C the last axis of x |
/// | add | a, b | same shapes |
/// | multiply | a, b | b the shape of a, or [N, 1, 1, C] for a [N, H, W, C] (an SE block's gate) |
/// | channelAffine | x, scale, shift | each [C], C the last axis of x: y = x·scale + shift |
/// | concat | x1 … xn | joined on the last (channel) axis |
/// | others | x | — |
public enum Op: Hashable, Sendable {
    case conv2d(Conv2DAttributes)
    case rankConv2d(RankConv2DAttributes)
    /// Transposed convolution (ONNX ConvTranspose, groups 1): upsampling in decoders and U-Nets.
    case convTranspose2d(ConvTranspose2DAttributes)
    case linear
    case batchNorm(epsilon: Float)
    /// Normalisation over the last axis of each position: (x − mean) / √(variance + ε) · scale + bias
    /// (ConvNeXt's LayerNorm over channels).
    case layerNorm(epsilon: Float)
    case relu
    case relu6
    /// Sigmoid, Tanh, HardSigmoid, HardSwish, SiLU.
    case unary(UnaryFunction)
    case maxPool(PoolAttributes)
    case avgPool(PoolAttributes)
    case globalAvgPool
    case add
    /// Elementwise product; the second operand may be one value per sample and channel.
    case multiply
    /// y = x·scale + shift on the last axis: a constant per-channel Mul / Add / Sub / Div.
    case channelAffine
    /// ShuffleNet's channel shuffle: C channels seen as [groups, C/groups], transposed.
    case channelShuffle(groups: Int)
    /// Channels start..<start+count of the last axis (an ONNX Split output or channel Slice).
    case channelSlice(start: Int, count: Int)
    /// The mean over the last axis, kept as an axis of size 1 (ONNX ReduceMean over channels).
    case channelMean
    /// Spatial padding of an NHWC map with a constant, its reflection or its edge (ONNX Pad).
    case pad(PadAttributes)
    /// Nearest or bilinear resizing of H and W (ONNX Resize, Upsample).
    case resize(ResizeAttributes)
    /// NHWC [N, H, W, C] to [N, H·W·C], in NHWC element order.
    case flatten
    /// Over the last axis.
    case softmax
    /// On the last (channel) axis.
    case concat
    /// Identity at inference.
    case dropout(rate: Float)

    /// The name used in files, tables and JSON.
    public var kind: String {
        switch self {
        case .conv2d: "conv2d"
        case .rankConv2d: "rankConv2d"
        case .convTranspose2d: "convTranspose2d"
        case .linear: "linear"
        case .batchNorm: "batchNorm"
        case .layerNorm: "layerNorm"
        case .relu: "relu"
        case .relu6: "relu6"
        case .unary(let f): f.name
        case .maxPool: "maxPool"
        case .avgPool: "avgPool"
        case .globalAvgPool: "globalAvgPool"
        case .add: "add"
        case .multiply: "multiply"
        case .channelAffine: "channelAffine"
        case .channelShuffle: "channelShuffle"
        case .channelSlice: "channelSlice"
        case .channelMean: "channelMean"
        case .pad: "pad"
        case .resize: "resize"
        case .flatten: "flatten"
        case .softmax: "softmax"
        case .concat: "concat"
        case .dropout: "dropout"
        }
    }

    /// How many leading inputs are activations; the rest name weight tensors.
    public var activationInputCount: Int? {
        switch self {
        case .conv2d, .rankConv2d, .convTranspose2d, .linear, .batchNorm: 1
        case .add, .multiply: 2
        case .concat: nil  // all inputs are activations
        default: 1
        }
    }

    /// Allowed number of weight inputs (after the activations).
    public var weightInputCounts: ClosedRange<Int> {
        switch self {
        case .conv2d, .convTranspose2d, .linear: 1...2
        case .rankConv2d: 2...3
        case .batchNorm: 4...4
        case .channelAffine, .layerNorm: 2...2
        default: 0...0
        }
    }
}
