#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RankEdge
import SwiftProtobuf

/// Converts an ONNX model (default domain, opsets 9–21) into a RankEdge graph.
///
/// Layouts: a 4-D graph input [N, C, H, W] becomes [N, H, W, C]; conv weights become OHWI; a 4-D
/// graph output is NHWC. A flatten of a feature map keeps RankEdge's H·W·C order and the weights of
/// the Gemm/MatMul (or batch norm) that reads it are reordered to match, so results equal ONNX's.
/// A dynamic batch dimension becomes 1 (RankEdge graphs run at any batch size).
public struct ONNXImporter: Sendable {
    public static let supportedOpsets: ClosedRange<Int64> = 9...21
    /// Op types of the default domain the importer converts.
    public static let supportedOps: Set<String> = Set(ImportContext.importers.keys)

    /// Shapes given for graph inputs (ONNX order, NCHW for images): they replace symbolic
    /// dimensions (detection and OCR models export dynamic H and W); known dimensions must agree.
    public var inputShapes: [String: [Int]]
    /// A model whose largest activation at batch 1 plus its weights needs more bytes than this is
    /// refused (`ONNXImportError.memoryBoundExceeded`): it could not run here, and a graph input
    /// declared 1×3×100000×100000 should fail at import, not at the first run.
    public var maxMemoryBytes: Int

    public init(inputShapes: [String: [Int]] = [:], maxMemoryBytes: Int = MemoryBound.defaultBytes) {
        self.inputShapes = inputShapes; self.maxMemoryBytes = maxMemoryBytes
    }

    /// Imports a serialized ONNX ModelProto.
    public func importModel(_ bytes: [UInt8]) throws(ONNXImportError) -> Graph {
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: bytes)
        } catch {
            throw .malformedProtobuf(reason: "\(error)")
        }
        return try importModel(model)
    }

    func importModel(_ model: Onnx_ModelProto) throws(ONNXImportError) -> Graph {
        guard model.hasGraph else { throw .invalidModel(reason: "the model has no graph") }
        let defaultDomain = model.opsetImport.filter { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        guard let opset = defaultDomain.map(\.version).max() else {
            throw .invalidModel(reason: "the model imports no default-domain (ai.onnx) opset")
        }
        guard Self.supportedOpsets.contains(opset) else {
            throw .unsupportedOpset(version: opset, supported: Self.supportedOpsets)
        }
        let g = model.graph
        guard !g.node.isEmpty else { throw .invalidModel(reason: "the graph has no nodes") }
        guard g.sparseInitializer.isEmpty else { throw .invalidModel(reason: "sparse initializers are not supported") }

        let initializerNames = Set(g.initializer.map(\.name))
        let realInputs = g.input.filter { !initializerNames.contains($0.name) }
        var ctx = ImportContext(nodes: g.node, opset: opset, graphInputs: realInputs.map(\.name),
                                graphOutputs: g.output.map(\.name), initializers: Array(initializerNames))
        try Self.rejectUnsupportedOps(ctx, constants: ImportContext.constantTensors(g.node, initializers: initializerNames))

        for t in g.initializer {
            guard !t.name.isEmpty else { throw .invalidModel(reason: "an initializer has no name") }
            ctx.values[t.name] = .constant(try ONNXConstant(t, name: t.name))
        }
        for name in inputShapes.keys.sorted() where !realInputs.contains(where: { $0.name == name }) {
            throw .invalidModel(reason: "--input-shape names '\(name)', which is not a graph input (inputs: \(realInputs.map(\.name).joined(separator: ", ")))")
        }
        for input in realInputs {
            let (info, layout) = try Self.graphInput(input, given: inputShapes[input.name])
            // Before any node: a huge input is refused without importing (or folding) anything.
            let bytes = info.shape.checkedElementCount.flatMap { MemoryBound.bytes(floats: $0) }
            if bytes.map({ $0 > maxMemoryBytes }) ?? true {
                throw .memoryBoundExceeded(what: "graph input '\(input.name)' \(info.shape)", estimateBytes: bytes, boundBytes: maxMemoryBytes)
            }
            ctx.inputs.append(info)
            ctx.values[input.name] = .activation(input.name, layout)
        }
        guard !ctx.inputs.isEmpty else { throw .invalidModel(reason: "the graph has no inputs besides initializers") }
        // Constant nodes have no inputs, so they can be read up front; MatMul's bias look-ahead needs that.
        for i in g.node.indices where g.node[i].opType == "Constant" {
            try ctx.importConstantNode(i)
        }
        for i in g.node.indices where g.node[i].opType != "Constant" && !ctx.absorbed.contains(i) {
            try ctx.importNode(i)
        }

        var outputs: [String] = []
        for out in g.output {
            switch ctx.values[out.name] {
            case .activation(let name, .featureMap)?, .activation(let name, .plain)?:
                outputs.append(name)
            case .activation(_, .reorderedColumns)?:
                let producer = g.node.firstIndex { $0.output.contains(out.name) }
                throw ONNXImportError.unsupportedUse(
                    node: producer.map { ctx.nodeNames[$0] } ?? out.name, opType: producer.map { g.node[$0].opType } ?? "output",
                    reason: "graph output '\(out.name)' is a flattened feature map; RankEdge keeps it in H·W·C order, not ONNX's C·H·W (feed it to a Gemm/MatMul first)")
            case .constant?:
                throw ONNXImportError.invalidModel(reason: "graph output '\(out.name)' is a constant")
            case nil:
                throw ONNXImportError.invalidModel(reason: "graph output '\(out.name)' is not produced by any node")
            }
        }

        var graph = Graph(name: g.name.isEmpty ? "onnx-model" : g.name, inputs: ctx.inputs, outputs: outputs,
                          nodes: ctx.nodes, weights: ctx.weights)
        Self.readMetadata(model, opset: opset, into: &graph)
        do {
            try graph.validate()
        } catch {
            throw .invalidGraph(error.problems.map(\.description).joined(separator: "; "))
        }
        try checkMemory(graph)
        return graph
    }

    /// The largest activation at batch 1 plus the weights: no arena can run the graph in less.
    func checkMemory(_ graph: Graph) throws(ONNXImportError) {
        guard let largest = MemoryBound.largestActivation(graph, batch: 1) else { return }
        let weights = MemoryBound.sum(graph.weights.values.map { MemoryBound.bytes(floats: $0.data.count) })
        let estimate = MemoryBound.sum([largest.bytes, weights])
        if estimate.map({ $0 > maxMemoryBytes }) ?? true {
            throw .memoryBoundExceeded(what: "the model (tensor '\(largest.name)' \(largest.shape), weights \(MemoryBound.describe(weights)))",
                                       estimateBytes: estimate, boundBytes: maxMemoryBytes)
        }
    }

    /// One error listing every op type the importer cannot convert, with the nodes using it. An op
    /// that is only folded (Gather, Squeeze, …) counts as unsupported where it reads an activation.
    static func rejectUnsupportedOps(_ ctx: ImportContext, constants: Set<String>) throws(ONNXImportError) {
        var byType: [String: [String]] = [:]
        var order: [String] = []
        for (i, n) in ctx.onnxNodes.enumerated() {
            let defaultDomain = n.domain.isEmpty || n.domain == "ai.onnx"
            let foldsHere = !ImportContext.foldOnlyOps.contains(n.opType) || n.output.allSatisfy { $0.isEmpty || constants.contains($0) }
            guard !defaultDomain || !supportedOps.contains(n.opType) || !foldsHere else { continue }
            let type = defaultDomain ? n.opType : "\(n.domain).\(n.opType)"
            if byType[type] == nil { order.append(type) }
            byType[type, default: []].append(ctx.nodeNames[i])
        }
        if !order.isEmpty {
            throw .unsupportedOps(order.map { UnsupportedONNXOp(opType: $0, nodes: byType[$0]!) })
        }
    }

    /// A graph input: float32, rank 4 (NCHW → NHWC) or rank 2; only the batch may be dynamic (→ 1).
    static func graphInput(_ v: Onnx_ValueInfoProto, given: [Int]? = nil) throws(ONNXImportError) -> (ValueInfo, ValueLayout) {
        guard case .tensorType(let t)? = v.type.value else {
            throw .invalidModel(reason: "graph input '\(v.name)' is not a tensor")
        }
        guard t.elemType == ONNXElementType.float.rawValue else {
            throw .invalidModel(reason: "graph input '\(v.name)' has element type \(t.elemType); RankEdge reads FLOAT (1) inputs")
        }
        guard t.hasShape else { throw .invalidModel(reason: "graph input '\(v.name)' has no shape") }
        if let given, given.count != t.shape.dim.count || given.contains(where: { $0 < 1 }) {
            throw .invalidModel(reason: "--input-shape for '\(v.name)' gives \(given.count) positive dimensions; the input has \(t.shape.dim.count)")
        }
        var dims: [Int] = []
        for (axis, d) in t.shape.dim.enumerated() {
            let known: Int64? = if case .dimValue(let x)? = d.value, x > 0 { x } else { nil }
            if let given {
                if let known, Int64(given[axis]) != known {
                    throw .invalidModel(reason: "--input-shape for '\(v.name)' gives dimension \(axis) as \(given[axis]); the model fixes it at \(known)")
                }
                guard given[axis] <= ONNXLimits.maxExtent else {
                    throw .invalidModel(reason: "graph input '\(v.name)' dimension \(axis) is \(given[axis]), too large")
                }
                dims.append(given[axis])
            } else if let x = known {
                guard x <= Int64(ONNXLimits.maxExtent) else {
                    throw .invalidModel(reason: "graph input '\(v.name)' dimension \(axis) is \(x), too large")
                }
                dims.append(Int(x))
            } else if axis == 0 {
                dims.append(1)
            } else {
                let what: String = if case .dimParam(let p)? = d.value, !p.isEmpty { "symbolic ('\(p)')" } else { "unknown" }
                throw .dynamicShape(input: v.name, axis: axis, dimension: what)
            }
        }
        guard let count = TensorShape(dims).checkedElementCount, count <= ONNXLimits.maxElements else {
            throw .invalidModel(reason: "graph input '\(v.name)' shape \(dims) is too large")
        }
        switch dims.count {
        case 4: return (ValueInfo(name: v.name, shape: TensorShape(LayoutConversion.nhwc(fromNCHW: dims))), .featureMap)
        case 2: return (ValueInfo(name: v.name, shape: TensorShape(dims)), .plain)
        default:
            throw .invalidModel(reason: "graph input '\(v.name)' has rank \(dims.count); RankEdge reads 4-D NCHW images or 2-D [N, features]")
        }
    }

    /// Class names and metadata written by `ONNXExporter` come back; other model properties are kept
    /// under an "onnx." prefix.
    static func readMetadata(_ model: Onnx_ModelProto, opset: Int64, into graph: inout Graph) {
        graph.metadata["source"] = "onnx"
        graph.metadata["onnx.opset"] = "\(opset)"
        if !model.producerName.isEmpty {
            graph.metadata["onnx.producer"] = model.producerVersion.isEmpty ? model.producerName : "\(model.producerName) \(model.producerVersion)"
        }
        for prop in model.metadataProps {
            if prop.key == ONNXMetadataKeys.classNames {
                if let names = try? JSONDecoder().decode([String].self, from: Data(prop.value.utf8)) { graph.classNames = names }
            } else if prop.key.hasPrefix(ONNXMetadataKeys.graphMetadataPrefix) {
                graph.metadata[String(prop.key.dropFirst(ONNXMetadataKeys.graphMetadataPrefix.count))] = prop.value
            } else {
                graph.metadata["onnx.\(prop.key)"] = prop.value
            }
        }
    }
}

/// Model metadata_props keys shared by the exporter and the importer.
enum ONNXMetadataKeys {
    static let classNames = "rankedge.class_names"
    static let graphMetadataPrefix = "rankedge.metadata."
}
