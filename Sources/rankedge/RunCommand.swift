import ArgumentParser
import RankEdge

/// The minimal `run`: raw float32 in, raw float32 out, on the reference executor. The cross-checks
/// (tools/check_onnx.sh) use it to compare RankEdge with ONNX Runtime value by value.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a graph on a raw float32 input and print or save its outputs.",
        discussion: """
        --raw-input: little-endian float32 values in the graph input's layout (NHWC for images), \
        one or more samples back to back; the batch is the value count divided by H·W·C. \
        --output: writes every graph output, in graph order, as little-endian float32 (NHWC for \
        4-D outputs). Without --output the values are printed, one output per line.
        """
    )

    @Argument(help: "The .rkg graph to run.")
    var model: String

    @Option(name: .customLong("raw-input"), help: "Raw little-endian float32 input file.")
    var rawInput: String

    @Option(name: [.customShort("o"), .customLong("output")], help: "Write the outputs here as raw float32.")
    var output: String?

    func run() throws {
        let graph = try loadGraph(model)
        guard graph.inputs.count == 1 else {
            throw CLIError("\(model): --raw-input needs a graph with one input, this one has \(graph.inputs.count)")
        }
        let input = graph.inputs[0]
        let tensor = try Self.readRawInput(rawInput, sampleShape: Array(input.shape.dims.dropFirst()))
        let outputs: [String: Tensor]
        do {
            outputs = try ReferenceExecutor(graph: graph).run([input.name: tensor])
        } catch {
            throw CLIError("\(model): \(error)")
        }
        if let output {
            var bytes: [UInt8] = []
            for name in graph.outputs {
                for v in outputs[name]?.data ?? [] { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            }
            try cliFileIO { try writeFileAtomically(bytes, to: output) }
            for name in graph.outputs { print("\(name) \(outputs[name]?.shape.description ?? "[]")") }
        } else {
            for name in graph.outputs {
                let t = outputs[name]
                print("\(name) \(t?.shape.description ?? "[]"): " + (t?.data.map { "\($0)" }.joined(separator: " ") ?? ""))
            }
        }
    }

    static func readRawInput(_ path: String, sampleShape: [Int]) throws -> Tensor {
        let bytes = try cliFileIO { try readFileBytes(path) }
        let perSample = sampleShape.reduce(1, *)
        let count = bytes.count / 4
        guard bytes.count % 4 == 0, count > 0, perSample > 0, count % perSample == 0 else {
            throw CLIError("\(path): \(bytes.count) bytes is not a whole number of float32 samples of shape \(TensorShape(sampleShape)) (\(perSample * 4) bytes each)")
        }
        let values = bytes.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return Tensor(shape: [count / perSample] + sampleShape, data: values)
    }
}
