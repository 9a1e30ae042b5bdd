import ArgumentParser
import RankEdge
import RankEdgeONNX

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert an ONNX model to a RankEdge graph (.rkg).",
        discussion: """
        Reads ONNX opsets 11–21: Conv, Gemm, MatMul (+Add), BatchNormalization, Relu, Clip (0..6 as \
        ReLU6), MaxPool, AveragePool, GlobalAveragePool, Add, Flatten, Reshape (flatten form), Softmax, \
        Concat, Identity, Dropout, Constant. NCHW becomes NHWC (a 4-D input [N,C,H,W] is stored as \
        [N,H,W,C]); a dynamic batch becomes 1. Node names are kept. Unsupported ops are listed, all \
        at once, with their node names.
        """
    )

    @Argument(help: "The ONNX model to read.")
    var model: String

    @Option(name: [.customShort("o"), .customLong("output")], help: "The .rkg file to write.")
    var output: String

    func run() throws {
        let bytes = try cliFileIO { try readFileBytes(model) }
        let graph: Graph
        do {
            graph = try ONNXImporter().importModel(bytes)
        } catch {
            throw CLIError("\(model): \(error)")
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
