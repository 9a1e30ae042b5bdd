#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RankEdge
import SwiftProtobuf

/// Writes a RankEdge graph as an ONNX model (opset 17) that ONNX users can run as they expect:
/// 4-D inputs and outputs are NCHW, conv weights OIHW, flattens channel-first (the weights of the
/// linear layers after a flatten are reordered to match), a dynamic batch dimension "N".
/// rankConv2d becomes a dense Conv with the reconstructed kernel; relu6 a Clip(0, 6).
public struct ONNXExporter: Sendable {
    public static let opset: Int64 = 17
    /// IR version 8 is the one that came with opset 17.
    static let irVersion: Int64 = 8

    public init() {}

    /// The serialized ModelProto.
    public func exportModel(_ graph: Graph) throws(ONNXExportError) -> [UInt8] {
        let model = try modelProto(graph)
        do {
            return try model.serializedBytes()
        } catch {
            throw .unsupported(node: graph.name, reason: "protobuf encoding failed: \(error)")
        }
    }

    func modelProto(_ graph: Graph) throws(ONNXExportError) -> Onnx_ModelProto {
        let shapes: [String: TensorShape]
        do {
            shapes = try graph.inferShapes()
        } catch {
            throw .invalidGraph(error.problems.map(\.description).joined(separator: "; "))
        }
        var ctx = ExportContext(graph: graph, shapes: shapes)
        var g = Onnx_GraphProto()
        g.name = graph.name
        for input in graph.inputs {
            ctx.layouts[input.name] = input.shape.rank == 4 ? .featureMap : .plain
            g.input.append(Self.valueInfo(input.name, rankEdgeShape: input.shape))
        }
        for node in graph.nodes { try ctx.exportNode(node) }
        for output in graph.outputs { ctx.restoreOutputOrder(output) }
        for output in graph.outputs {
            guard let s = shapes[output] else { throw .invalidGraph("graph output '\(output)' has no shape") }
            g.output.append(Self.valueInfo(output, rankEdgeShape: s))
        }
        g.node = ctx.nodes
        g.initializer = ctx.initializers

        var model = Onnx_ModelProto()
        model.irVersion = Self.irVersion
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Self.opset
        model.opsetImport = [opset]
        model.producerName = "rankedge"
        model.graph = g
        model.metadataProps = Self.metadata(graph)
        return model
    }

    /// A float tensor's type with a symbolic batch "N" and the rest in ONNX layout (NCHW for 4-D).
    static func valueInfo(_ name: String, rankEdgeShape s: TensorShape) -> Onnx_ValueInfoProto {
        let dims = s.rank == 4 ? LayoutConversion.nchw(fromNHWC: s.dims) : s.dims
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.enumerated().map { axis, d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if axis == 0 { dim.dimParam = "N" } else { dim.dimValue = Int64(d) }
            return dim
        }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = ONNXElementType.float.rawValue
        tensor.shape = shape
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.type.tensorType = tensor
        return v
    }

    /// Class names (as a JSON array) and the graph's metadata, so an import restores them.
    static func metadata(_ graph: Graph) -> [Onnx_StringStringEntryProto] {
        var props: [Onnx_StringStringEntryProto] = []
        func add(_ key: String, _ value: String) {
            var p = Onnx_StringStringEntryProto()
            p.key = key
            p.value = value
            props.append(p)
        }
        if !graph.classNames.isEmpty, let data = try? JSONEncoder().encode(graph.classNames) {
            add(ONNXMetadataKeys.classNames, String(decoding: data, as: UTF8.self))
        }
        for key in graph.metadata.keys.sorted() { add(ONNXMetadataKeys.graphMetadataPrefix + key, graph.metadata[key]!) }
        return props
    }
}
