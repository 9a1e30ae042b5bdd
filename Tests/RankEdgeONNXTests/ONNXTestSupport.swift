import Foundation
import RankEdge
@testable import RankEdgeONNX

/// Builds small ONNX models in memory, the way onnx.helper does in Python.
struct ONNXSketch {
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    var inputs: [Onnx_ValueInfoProto] = []
    var outputs: [Onnx_ValueInfoProto] = []
    var opset: Int64 = 13
    var rng = SeededRandom(seed: 7)

    init(opset: Int64 = 13) { self.opset = opset }

    /// A float input; a nil dimension is symbolic (dim_param), given by `symbol`.
    mutating func input(_ name: String, _ dims: [Int?], symbol: String = "N") {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) } else { dim.dimParam = symbol }
            return dim
        }
        var t = Onnx_TypeProto.Tensor()
        t.elemType = 1
        t.shape = shape
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.type.tensorType = t
        inputs.append(v)
    }

    mutating func output(_ name: String) {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var t = Onnx_TypeProto.Tensor()
        t.elemType = 1
        v.type.tensorType = t
        outputs.append(v)
    }

    /// A FLOAT initializer, in raw_data (the default) or float_data.
    mutating func initializer(_ name: String, _ dims: [Int], _ values: [Float], raw: Bool = true) {
        if raw {
            initializers.append(.float(name: name, dims: dims, values: values))
        } else {
            var t = Onnx_TensorProto()
            t.name = name
            t.dataType = 1
            t.dims = dims.map { Int64($0) }
            t.floatData = values
            initializers.append(t)
        }
    }

    /// A random FLOAT initializer; returns its values.
    @discardableResult
    mutating func randomInitializer(_ name: String, _ dims: [Int], bound: Float = 0.5, raw: Bool = true) -> [Float] {
        let values = rng.uniformArray(count: dims.reduce(1, *), bound: bound)
        initializer(name, dims, values, raw: raw)
        return values
    }

    mutating func int64Initializer(_ name: String, _ dims: [Int], _ values: [Int64]) {
        initializers.append(.int64(name: name, dims: dims, values: values))
    }

    mutating func node(_ opType: String, _ inputs: [String], _ outputs: [String], name: String = "",
                       _ attributes: [Onnx_AttributeProto] = []) {
        var n = Onnx_NodeProto()
        n.opType = opType
        n.name = name
        n.input = inputs
        n.output = outputs
        n.attribute = attributes
        nodes.append(n)
    }

    var model: Onnx_ModelProto {
        var g = Onnx_GraphProto()
        g.name = "sketch"
        g.node = nodes
        g.initializer = initializers
        g.input = inputs
        g.output = outputs
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var o = Onnx_OperatorSetIdProto()
        o.version = opset
        m.opsetImport = [o]
        m.graph = g
        return m
    }

    var bytes: [UInt8] { try! model.serializedBytes() }

    func importGraph() throws(ONNXImportError) -> Graph { try ONNXImporter().importModel(bytes) }
}

func stringAttribute(_ name: String, _ value: String) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .string
    a.s = Data(value.utf8)
    return a
}

/// Plain NCHW implementations of ONNX semantics, written straight from the operator spec: the
/// independent twin the importer's results are checked against.
enum NCHW {
    struct Map { var n, c, h, w: Int; var data: [Float] }

    static func conv(_ x: Map, weight: [Float], outChannels s: Int, kernel: (Int, Int), bias: [Float]?,
                     stride: (Int, Int) = (1, 1), pads: [Int] = [0, 0, 0, 0], dilation: (Int, Int) = (1, 1),
                     groups: Int = 1) -> Map {
        let (kh, kw) = kernel
        let cg = x.c / groups, sg = s / groups
        let oh = (x.h + pads[0] + pads[2] - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (x.w + pads[1] + pads[3] - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        var y = [Float](repeating: 0, count: x.n * s * oh * ow)
        for n in 0..<x.n {
            for o in 0..<s {
                let g = o / sg
                for i in 0..<oh {
                    for j in 0..<ow {
                        var acc = Double(bias?[o] ?? 0)
                        for ci in 0..<cg {
                            for r in 0..<kh {
                                for t in 0..<kw {
                                    let yy = i * stride.0 - pads[0] + r * dilation.0
                                    let xx = j * stride.1 - pads[1] + t * dilation.1
                                    guard yy >= 0, yy < x.h, xx >= 0, xx < x.w else { continue }
                                    let c = g * cg + ci
                                    acc += Double(x.data[((n * x.c + c) * x.h + yy) * x.w + xx])
                                        * Double(weight[((o * cg + ci) * kh + r) * kw + t])
                                }
                            }
                        }
                        y[((n * s + o) * oh + i) * ow + j] = Float(acc)
                    }
                }
            }
        }
        return Map(n: x.n, c: s, h: oh, w: ow, data: y)
    }

    static func pool(_ x: Map, kernel: (Int, Int), stride: (Int, Int), pads: [Int], max isMax: Bool,
                     countIncludePad: Bool = false) -> Map {
        let oh = (x.h + pads[0] + pads[2] - kernel.0) / stride.0 + 1
        let ow = (x.w + pads[1] + pads[3] - kernel.1) / stride.1 + 1
        var y = [Float](repeating: 0, count: x.n * x.c * oh * ow)
        for n in 0..<x.n {
            for c in 0..<x.c {
                for i in 0..<oh {
                    for j in 0..<ow {
                        var best = -Float.infinity, sum: Double = 0, count = 0
                        for r in 0..<kernel.0 {
                            for t in 0..<kernel.1 {
                                let yy = i * stride.0 - pads[0] + r, xx = j * stride.1 - pads[1] + t
                                guard yy >= 0, yy < x.h, xx >= 0, xx < x.w else { continue }
                                let v = x.data[((n * x.c + c) * x.h + yy) * x.w + xx]
                                best = max(best, v); sum += Double(v); count += 1
                            }
                        }
                        let divisor = countIncludePad ? kernel.0 * kernel.1 : count
                        y[((n * x.c + c) * oh + i) * ow + j] = isMax ? best : Float(sum / Double(divisor))
                    }
                }
            }
        }
        return Map(n: x.n, c: x.c, h: oh, w: ow, data: y)
    }

    /// x [n, k] · W + b with W given as [k, s] (or [s, k] when transB).
    static func gemm(_ x: [Float], n: Int, k: Int, weight: [Float], s: Int, transB: Bool, bias: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: n * s)
        for r in 0..<n {
            for o in 0..<s {
                var acc = Double(bias?[o] ?? 0)
                for i in 0..<k {
                    acc += Double(x[r * k + i]) * Double(transB ? weight[o * k + i] : weight[i * s + o])
                }
                y[r * s + o] = Float(acc)
            }
        }
        return y
    }

    static func relu(_ x: [Float]) -> [Float] { x.map { max($0, 0) } }
}

/// NCHW data → RankEdge NHWC tensor, and back.
func nhwcTensor(_ m: NCHW.Map) -> Tensor {
    var y = [Float](repeating: 0, count: m.data.count)
    for n in 0..<m.n { for c in 0..<m.c { for h in 0..<m.h { for w in 0..<m.w {
        y[((n * m.h + h) * m.w + w) * m.c + c] = m.data[((n * m.c + c) * m.h + h) * m.w + w]
    } } } }
    return Tensor(shape: [m.n, m.h, m.w, m.c], data: y)
}

func nchwData(_ t: Tensor) -> [Float] {
    let (n, h, w, c) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
    var y = [Float](repeating: 0, count: t.count)
    for b in 0..<n { for k in 0..<c { for i in 0..<h { for j in 0..<w {
        y[((b * c + k) * h + i) * w + j] = t.data[((b * h + i) * w + j) * c + k]
    } } } }
    return y
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

func randomMap(n: Int = 1, c: Int, h: Int, w: Int, seed: UInt64) -> NCHW.Map {
    var rng = SeededRandom(seed: seed)
    return NCHW.Map(n: n, c: c, h: h, w: w, data: rng.uniformArray(count: n * c * h * w, bound: 1))
}
