import ArgumentParser
import RankEdge
import RankEdgeInput

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a model's layers, output shapes, parameters and MACs.",
        discussion: "MACs are multiply-accumulates at the model's own input batch (usually 1). A rankConv2d counts the cheaper of its separable and reconstructed forms."
    )

    @Argument(help: "A .rkg model file.") var model: String
    @Flag(help: "Print JSON (fields documented in docs/CLI.md).") var json = false

    struct NodeRow: Encodable {
        var name: String, op: String, detail: String
        var output_shape: [Int]
        var params: Int, macs: Int
        var provenance: String?
    }
    struct Input: Encodable { var name: String; var shape: [Int] }
    struct Report: Encodable {
        var model: String, name: String
        var inputs: [Input]
        var outputs: [String]
        var params: Int, macs: Int
        var class_names: [String]
        var metadata: [String: String]
        var nodes: [NodeRow]
    }

    func run() throws {
        let graph = try loadGraph(model, needsWeights: false)
        let shapes = try graph.inferShapes()
        let (costs, total) = try graph.cost()
        let rows = zip(graph.nodes, costs).map { node, c in
            NodeRow(name: node.name, op: node.op.kind, detail: describe(node, in: graph),
                    output_shape: shapes[node.outputs[0]]!.dims, params: c.params, macs: c.macs,
                    provenance: node.provenance)
        }
        let report = Report(model: model, name: graph.name,
                            inputs: graph.inputs.map { Input(name: $0.name, shape: $0.shape.dims) }, outputs: graph.outputs,
                            params: total.params, macs: total.macs, class_names: graph.classNames,
                            metadata: graph.metadata, nodes: rows)
        if json { try printJSON(report); return }

        print("\(graph.name)  (\(model))")
        for input in graph.inputs { print("input  \(input.name) \(input.shape)") }
        for output in graph.outputs { print("output \(output) \(shapes[output].map { "\($0)" } ?? "?")") }
        if !graph.classNames.isEmpty {
            let shown = graph.classNames.prefix(5).joined(separator: ", ")
            print("classes \(graph.classNames.count): \(shown)\(graph.classNames.count > 5 ? ", …" : "")")
        }
        for key in [InputNormalization.meanKey, InputNormalization.stdKey] { if let v = graph.metadata[key] { print("\(key) \(v)") } }
        let table = TextTable(columns: ["node", "op", "form", "output", "params", "MACs"], rightAligned: [4, 5])
        var lines = rows.map { r in
            [r.name, r.op, r.detail, TensorShape(r.output_shape).description, formatCount(r.params), formatCount(r.macs)]
        }
        lines.append(["total", "", "", "", formatCount(total.params), formatCount(total.macs)])
        table.print(lines)
        let notes = graph.nodes.compactMap { n in n.provenance.map { "  \(n.name): \($0)" } }
        if !notes.isEmpty { print("provenance:"); notes.forEach { print($0) } }
    }
}
