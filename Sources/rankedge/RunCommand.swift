import ArgumentParser
import Foundation
import RankEdge

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on one input and print the top classes.",
        discussion: """
        Inputs: --input FILE, a binary PPM (P6) image of the model's size or raw float32 NHWC (told apart by \
        the P6 magic); --raw-input FILE, raw little-endian float32 NHWC, one or more whole samples; or \
        --cifar FILE --index N, record N of a CIFAR-10 binary file. PPM and CIFAR pixels are scaled to 0…1 and \
        normalised with the graph's rankedge.input_mean / rankedge.input_std metadata when present; raw input \
        is used as given. --output FILE writes the raw output tensor as little-endian float32.
        """
    )

    @Argument(help: "A .rkg model (graph or compiled).") var model: String
    @Option(help: "PPM (P6) image or raw float32 NHWC file.") var input: String?
    @Option(help: "Raw little-endian float32 NHWC file (whole samples).") var rawInput: String?
    @Option(help: "CIFAR-10 binary file.") var cifar: String?
    @Option(help: "Record of the CIFAR-10 file.") var index: Int?
    @Option(help: "How many classes to print.") var top = 5
    @Option(help: "Also write the output tensor here (little-endian float32).") var output: String?
    @Option(help: "Threads to run with.") var threads = 1
    @Option(help: "measure | dense | separable: rankConv2d forms (graph files only).") var rankForm = "measure"

    func run() throws {
        guard top >= 0 else { throw CLIError("--top must be non-negative") }
        let sources = [input, rawInput, cifar].compactMap { $0 }
        guard sources.count == 1 else { throw CLIError("give exactly one of --input, --raw-input or --cifar") }
        if cifar != nil, index == nil { throw CLIError("--cifar needs --index N") }
        if cifar == nil, index != nil { throw CLIError("--index goes with --cifar") }

        let runner = try ModelRunner(path: model, choices: RuntimeChoices(threads: threads, rankForm: rankForm))
        let x = try inputTensor(runner)
        let y = try runner.run(x)
        if let output {
            var bytes = [UInt8]()
            bytes.reserveCapacity(y.count * 4)
            for v in y.data { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            do { try writeFileAtomically(bytes, to: output) } catch { throw CLIError("\(error)") }
        }
        let names = runner.graph.classNames
        let width = y.shape.dims.last ?? 0
        let samples = width == 0 ? 0 : y.count / width
        for n in 0..<samples {
            let row = y.data[(n * width)..<((n + 1) * width)]
            // A graph that already ends in softmax prints its own probabilities.
            let endsInSoftmax = runner.graph.nodes.last.map { $0.op == .softmax && runner.graph.outputs == $0.outputs } ?? false
            let p = endsInSoftmax ? Array(row) : probabilities(row)
            if samples > 1 { print("sample \(n):") }
            for c in p.indices.sorted(by: { p[$0] > p[$1] }).prefix(top) {
                let label = c < names.count ? names[c] : "class \(c)"
                print(String(format: "  %6.2f %%  ", p[c] * 100) + "\(label) (\(c))")
            }
        }
    }

    func inputTensor(_ runner: ModelRunner) throws -> Tensor {
        if let cifar, let index {
            let records: CIFARRecords
            do { records = try CIFARRecords(path: cifar) } catch { throw CLIError("\(error)") }
            guard index >= 0, index < records.count else {
                throw CLIError("\(cifar): --index \(index) is out of range (the file has \(records.count) records)")
            }
            return try runner.tensor(hwc: records.imageHWC(index), height: CIFARRecords.side, width: CIFARRecords.side,
                                     source: "\(cifar) record \(index)")
        }
        let path = (input ?? rawInput)!
        let bytes: [UInt8]
        do { bytes = try readFileBytes(path) } catch { throw CLIError("\(error)") }
        if input != nil, bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "6") {
            let image: PPMImage
            do { image = try PPMImage(bytes: bytes, source: path) } catch { throw CLIError("\(error)") }
            return try runner.tensor(hwc: image.pixels, height: image.height, width: image.width, source: path)
        }
        return try runner.rawTensor(bytes, source: path)
    }
}
