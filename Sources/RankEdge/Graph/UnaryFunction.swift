#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Elementwise functions of one input beyond ReLU: the activations of today's mobile CNNs (ONNX
/// Sigmoid, Tanh, HardSigmoid, HardSwish, and SiLU, which exporters write as x · Sigmoid(x)), and
/// ConvNeXt's GELU with the Erf it is written with.
/// `callAsFunction` is the definition every kernel is tested against; NaN stays NaN.
public enum UnaryFunction: Hashable, Sendable {
    case sigmoid
    case tanh
    /// max(0, min(1, alpha·x + beta)). PyTorch's hardsigmoid is alpha 1/6, beta 1/2; ONNX's default alpha is 0.2.
    case hardSigmoid(alpha: Float, beta: Float)
    /// x · max(0, min(1, x/6 + 1/2)) (MobileNetV3).
    case hardSwish
    /// x · sigmoid(x), also called swish (EfficientNet).
    case silu
    /// The Gauss error function (ONNX Erf).
    case erf
    /// x · Φ(x) = x · (1 + erf(x/√2)) / 2, the exact (not tanh-approximated) GELU (ConvNeXt).
    case gelu

    /// The op kind in files and tables.
    public var name: String {
        switch self {
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .hardSigmoid: "hardSigmoid"
        case .hardSwish: "hardSwish"
        case .silu: "silu"
        case .erf: "erf"
        case .gelu: "gelu"
        }
    }

    /// The functions without attributes, by name (hardSigmoid has its own).
    public static func named(_ name: String) -> UnaryFunction? {
        [UnaryFunction.sigmoid, .tanh, .hardSwish, .silu, .erf, .gelu].first { $0.name == name }
    }

    static func logistic(_ x: Float) -> Float {
        // exp of a negative number only, so neither branch overflows.
        if x >= 0 { return 1 / (1 + expf(-x)) }
        let e = expf(x)
        return e / (1 + e)
    }

    /// min(1, max(0, t)) with NaN kept.
    static func unitClamp(_ t: Float) -> Float { t < 0 ? 0 : (t > 1 ? 1 : t) }

    public func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .sigmoid: Self.logistic(x)
        case .tanh: tanhf(x)
        case .hardSigmoid(let alpha, let beta): Self.unitClamp(alpha * x + beta)
        case .hardSwish: x * Self.unitClamp(x / 6 + 0.5)
        case .silu: x * Self.logistic(x)
        case .erf: erff(x)
        case .gelu: Self.exactGELU(x)
        }
    }

    static func exactGELU(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.70710678118654752)) }

    /// d f / d x at x (at the kinks of the hard functions, the one-sided value of the interior).
    public func derivative(_ x: Float) -> Float {
        switch self {
        case .sigmoid:
            let s = Self.logistic(x)
            return s * (1 - s)
        case .tanh:
            let t = tanhf(x)
            return 1 - t * t
        case .hardSigmoid(let alpha, let beta):
            let t = alpha * x + beta
            return t > 0 && t < 1 ? alpha : 0
        case .hardSwish:
            return x < -3 ? 0 : (x > 3 ? 1 : (2 * x + 3) / 6)
        case .silu:
            let s = Self.logistic(x)
            return s + x * s * (1 - s)
        case .erf:
            return 1.1283791670955126 * expf(-x * x)  // 2/√π · e^(−x²)
        case .gelu:
            // Φ(x) + x · φ(x), φ the standard normal density.
            return 0.5 * (1 + erff(x * 0.70710678118654752)) + x * 0.3989422804014327 * expf(-0.5 * x * x)
        }
    }
}
