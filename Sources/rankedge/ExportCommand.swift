import ArgumentParser
import RankEdge
import RankEdgeONNX

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a RankEdge graph (.rkg) as an ONNX model (opset 17).",
        discussion: """
        The ONNX model takes and gives NCHW tensors with a dynamic batch "N"; weights are OIHW; a \
        rankConv2d becomes a dense Conv with its reconstructed kernel; relu6 becomes Clip(0, 6). \
        It passes onnx.checker and runs in ONNX Runtime (tools/check_onnx.sh checks both).
        """
    )

    @Argument(help: "The .rkg graph to read.")
    var model: String

    @Option(name: [.customShort("o"), .customLong("output")], help: "The .onnx file to write.")
    var output: String

    func run() throws {
        let graph = try loadGraph(model)
        let bytes: [UInt8]
        do {
            bytes = try ONNXExporter().exportModel(graph)
        } catch {
            throw CLIError("\(model): \(error)")
        }
        try cliFileIO { try writeFileAtomically(bytes, to: output) }
        print("exported \(model): \(graph.nodes.count) nodes, opset \(ONNXExporter.opset) -> \(output)")
    }
}
