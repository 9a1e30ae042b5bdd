import ArgumentParser
import Foundation
import RankEdge
import RankEdgeInput
import RankEdgeONNX

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert an ONNX model to a RankEdge graph (.rkg).",
        discussion: """
        Reads ONNX opsets 9–21 as both PyTorch exporters write them (the ops are listed in \
        docs/CLI.md). NCHW becomes NHWC (a 4-D input [N,C,H,W] is stored as [N,H,W,C]); a dynamic \
        batch becomes 1, and other dynamic dimensions are given with --input-shape. Node names are \
        kept. Unsupported ops are listed, all at once, each with a count and its first node.

        --mean and --std (per channel, for pixels scaled to 0…1) and --labels (one class name per \
        line) are stored in the graph, so `run` and `eval` feed and label the model as it was trained.
        """
    )

    @Argument(help: "The ONNX model to read.")
    var model: String

    @Option(name: [.customShort("o"), .customLong("output")], help: "The .rkg file to write.")
    var output: String

    @Option(name: .customLong("input-shape"), parsing: .singleValue,
            help: "NAME=D0,D1,… : the shape of a graph input in ONNX order (NCHW), replacing symbolic dimensions (repeatable).")
    var inputShapes: [String] = []

    @Option(help: "Per-channel means of the input, for pixels scaled to 0…1 (e.g. 0.485,0.456,0.406).")
    var mean: String?

    @Option(help: "Per-channel standard deviations of the input (e.g. 0.229,0.224,0.225).")
    var std: String?

    @Option(help: "A text file of class names, one per line, in output order.")
    var labels: String?

    @OptionGroup var memory: MemoryOption

    /// `--input-shape` values by input name.
    func parsedInputShapes() throws -> [String: [Int]] {
        var shapes: [String: [Int]] = [:]
        for spec in inputShapes {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            let dims = parts.count == 2 ? parts[1].split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) } : []
            guard parts.count == 2, !parts[0].isEmpty, !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) >= 1 }) else {
                throw CLIError("--input-shape must be NAME=D0,D1,… with positive dimensions, got '\(spec)'")
            }
            guard shapes[parts[0]] == nil else { throw CLIError("--input-shape gives '\(parts[0])' twice") }
            shapes[parts[0]] = dims.map { $0! }
        }
        return shapes
    }

    func run() throws {
        let shapes = try parsedInputShapes()
        guard (mean == nil) == (std == nil) else { throw CLIError("--mean and --std go together") }
        let classNames = try labels.map { path in
            let text = String(decoding: try cliFileIO { try readFileBytes(path) }, as: UTF8.self)
            return text.split(whereSeparator: \.isNewline).map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let bytes = try cliFileIO { try readFileBytes(model) }
        var graph: Graph
        do {
            graph = try ONNXImporter(inputShapes: shapes, maxMemoryBytes: memory.bytes).importModel(bytes)
        } catch {
            throw CLIError("\(model): \(error)")
        }
        if let mean, let std {
            guard let channels = graph.inputs.first?.shape.dims.last, graph.inputs.count == 1 else {
                throw CLIError("--mean/--std need a model with one input")
            }
            var probe = graph
            probe.metadata[InputNormalization.meanKey] = mean
            probe.metadata[InputNormalization.stdKey] = std
            // Parsed and checked exactly as every reader of the graph will.
            do { try InputNormalization(graph: probe, channels: channels).record(in: &graph) } catch {
                throw CLIError("--mean/--std: \(error)")
            }
        }
        if let classNames {
            let outputs = graph.outputs.first.flatMap { o in (try? graph.inferShapes())?[o]?.dims.last }
            guard let outputs, classNames.count == outputs else {
                throw CLIError("\(labels!): \(classNames.count) class names for \(outputs.map(String.init) ?? "unknown") outputs")
            }
            graph.classNames = classNames
        }
        do {
            try RKGFile.write(graph, to: output)
        } catch {
            throw CLIError("\(error)")
        }
        let params = graph.weights.values.reduce(0) { $0 + $1.count }
        print("imported \(model): \(graph.nodes.count) nodes, \(params) weight values -> \(output)")
    }
}
