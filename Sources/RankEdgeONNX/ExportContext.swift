#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RankEdge

/// The exporter's state: the ONNX nodes and initializers written so far and, for each RankEdge
/// tensor, how its elements sit in the ONNX tensor of the same name.
struct ExportContext {
    let graph: Graph
    /// RankEdge (NHWC) shapes of every activation.
    let shapes: [String: TensorShape]
    var layouts: [String: ValueLayout] = [:]
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    /// Every name taken in the ONNX graph (tensors and nodes), so generated ones never collide.
    private var usedNames: Set<String>
    /// Shared scalar initializers (Clip bounds, Dropout ratios), by value.
    private var scalarNames: [Float: String] = [:]

    init(graph: Graph, shapes: [String: TensorShape]) {
        self.graph = graph
        self.shapes = shapes
        usedNames = Set(shapes.keys).union(graph.weights.keys).union(graph.nodes.map(\.name))
    }

    mutating func uniqueName(_ base: String) -> String {
        var name = base
        var k = 1
        while usedNames.contains(name) { name = "\(base)_\(k)"; k += 1 }
        usedNames.insert(name)
        return name
    }

    /// A FLOAT initializer. It takes the RankEdge weight's own name the first time that weight is
    /// written; a weight written twice (with a different reordering) gets a fresh name.
    mutating func addInitializer(weight: String, dims: [Int], values: [Float]) -> String {
        let name = initializers.contains(where: { $0.name == weight }) ? uniqueName(weight) : weight
        usedNames.insert(name)
        initializers.append(.float(name: name, dims: dims, values: values))
        return name
    }

    mutating func scalar(_ value: Float) -> String {
        if let name = scalarNames[value] { return name }
        let name = uniqueName("rankedge.const_\(value)")
        initializers.append(.float(name: name, dims: [], values: [value]))
        scalarNames[value] = name
        return name
    }

    /// A 1-D INT64 initializer (a shape, axes, indices).
    mutating func int64s(_ base: String, _ values: [Int]) -> String {
        let name = uniqueName(base)
        initializers.append(.int64(name: name, dims: [values.count], values: values.map { Int64($0) }))
        return name
    }

    /// Appends an ONNX node; `output` gets the given layout.
    mutating func addNode(_ opType: String, name: String, inputs: [String], output: String,
                          layout: ValueLayout, attributes: [Onnx_AttributeProto] = [], doc: String? = nil) {
        var n = Onnx_NodeProto()
        n.opType = opType
        n.name = name
        n.input = inputs
        n.output = [output]
        n.attribute = attributes
        if let doc { n.docString = doc }
        nodes.append(n)
        layouts[output] = layout
    }

    /// The tensor in plain ONNX column order: itself, or a Gather that undoes a flatten reordering.
    mutating func plainColumns(_ tensor: String) -> String {
        guard case .reorderedColumns(let order)? = layouts[tensor] else { return tensor }
        let indices = uniqueName("\(tensor).onnx_order")
        initializers.append(.int64(name: indices, dims: [order.count], values: order.map { Int64($0) }))
        let output = uniqueName("\(tensor).plain")
        addNode("Gather", name: uniqueName("\(tensor).reorder"), inputs: [tensor, indices], output: output,
                layout: .plain, attributes: [.int("axis", 1)])
        return output
    }

    /// Gives a reordered graph output its ONNX column order under its own name: the producer's result
    /// is renamed and a Gather writes the output.
    mutating func restoreOutputOrder(_ output: String) {
        guard case .reorderedColumns = layouts[output] else { return }
        let renamed = uniqueName("\(output).hwc_order")
        for i in nodes.indices {
            nodes[i].input = nodes[i].input.map { $0 == output ? renamed : $0 }
            nodes[i].output = nodes[i].output.map { $0 == output ? renamed : $0 }
        }
        layouts[renamed] = layouts[output]
        let plain = plainColumns(renamed)
        for i in nodes.indices { nodes[i].output = nodes[i].output.map { $0 == plain ? output : $0 } }
        layouts[output] = .plain
    }
}

extension Onnx_AttributeProto {
    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map { Int64($0) }
        return a
    }

    static func string(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(value.utf8)
        return a
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }
}
