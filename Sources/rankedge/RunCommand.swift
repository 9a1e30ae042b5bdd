import ArgumentParser
import Foundation
import RankEdge
import RankEdgeTrain
import RankEdgeReference
import RankEdgeInput
import RankEdgeImageCodecs

/// Runs a model on one input with the fast runtime. The ONNX cross-checks (tools/check_onnx.sh)
/// use `--raw-input IN.f32 --output OUT.f32` to compare RankEdge with ONNX Runtime value by value.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on one input: top classes, or every output value.",
        discussion: """
        Inputs (exactly one): --input FILE, a PNG, JPEG or binary PPM (P6) image (told apart by their \
        first bytes), or raw float32 NHWC when it is none of these; --raw-input FILE, little-endian float32 \
        in the graph input's layout (NHWC for images; --layout nchw for PyTorch's), one or more samples \
        back to back (the batch is the value count divided by one sample's size), given once per graph \
        input in the graph's order for a graph with several inputs (all at the same batch); --cifar FILE \
        --index N, record N of a CIFAR-10 binary file.

        Images: --resize N scales the shorter side to N (antialiased bilinear, as torchvision's Resize \
        on a PIL image), then --center-crop N cuts the centre N×N; the result must be the model's input \
        size. Pixels are scaled to 0…1 and normalised with the graph's mean/std (`import --mean/--std`, \
        `info` shows them) when present; raw input is used as given. ImageNet models exported from \
        torchvision: --resize 256 --center-crop 224.

        Output: the top --top classes per sample with probabilities (class names from the graph when it \
        has them; softmax is applied unless the graph ends in one). -o/--output FILE writes every graph \
        output in graph order, concatenated, as little-endian float32 (NHWC for 4-D outputs), and lists \
        NAME [shape] per output. With --raw-input and neither --top nor --output, every output value is \
        printed as NAME [shape]: v1 v2 …
        """
    )

    @Argument(help: "A .rkg model (graph or compiled).") var model: String
    @Option(help: "PNG, JPEG or PPM (P6) image, or raw float32 NHWC.") var input: String?
    @Option(help: "Images: scale the shorter side to this many pixels first.") var resize: Int?
    @Option(name: .customLong("center-crop"), help: "Images: then keep the centre N×N pixels.") var centerCrop: Int?
    @Option(name: .customLong("raw-input"), help: "Raw little-endian float32 input file (one per graph input, in the graph's order).")
    var rawInputs: [String] = []
    var rawInput: String? { rawInputs.first }
    @Option(help: "Layout of raw float32 input for a 4-D image input: nhwc (the graph's own) or nchw (PyTorch's, as ONNX Runtime takes it).")
    var layout: RawLayout = .nhwc
    @Option(help: "CIFAR-10 binary file.") var cifar: String?
    @Option(help: "Record of the CIFAR-10 file.") var index: Int?
    @Option(help: "How many classes to print (default 5).") var top: Int?
    @Option(name: [.customShort("o"), .customLong("output")], help: "Write the outputs here as raw float32.") var output: String?
    @Option(help: "Instruction set (graph files only; default RANKEDGE_ISA, else the best this CPU runs).") var isa: ISAArgument?
    @OptionGroup(title: "Runtime") var runtime: RuntimeOptions
    @Flag(help: "Run on the reference executor instead of the fast runtime (graph files only).") var reference = false

    func run() throws {
        if let top, top < 0 { throw CLIError("--top must be non-negative") }
        let sources = [input, rawInput, cifar].compactMap { $0 }
        guard sources.count == 1 else { throw CLIError("give exactly one of --input, --raw-input or --cifar") }
        if cifar != nil, index == nil { throw CLIError("--cifar needs --index N") }
        if cifar == nil, index != nil { throw CLIError("--index goes with --cifar") }
        if let resize, resize < 1 { throw CLIError("--resize must be ≥ 1 (pixels), got \(resize)") }
        if let centerCrop, centerCrop < 1 { throw CLIError("--center-crop must be ≥ 1 (pixels), got \(centerCrop)") }
        if (resize != nil || centerCrop != nil) && input == nil { throw CLIError("--resize and --center-crop apply to --input images") }

        let (graph, execute) = try engine()
        let feeds: [String: Tensor]
        if rawInputs.count > 1 || graph.inputs.count > 1 {
            feeds = try rawInputTensors(graph)
        } else {
            feeds = [graph.inputs[0].name: try inputTensor(graph)]
        }
        let outputs: [String: Tensor]
        do { outputs = try execute(feeds) } catch let e as CLIError { throw e } catch { throw CLIError("\(model): \(error)") }

        if let output {
            var bytes: [UInt8] = []
            for name in graph.outputs {
                for v in outputs[name]?.data ?? [] { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            }
            try cliFileIO { try writeFileAtomically(bytes, to: output) }
            for name in graph.outputs { print("\(name) \(outputs[name]?.shape.description ?? "[]")") }
        }
        let printValues = rawInput != nil && top == nil && output == nil
        if printValues {
            for name in graph.outputs {
                let t = outputs[name]
                print("\(name) \(t?.shape.description ?? "[]"): " + (t?.data.map { "\($0)" }.joined(separator: " ") ?? ""))
            }
            return
        }
        if output != nil && top == nil && rawInput != nil { return }
        try printTopClasses(graph, outputs)
    }

    /// The graph as the file stores it and a function running it: the fast runtime, or the reference.
    func engine() throws -> (Graph, ([String: Tensor]) throws -> [String: Tensor]) {
        if reference {
            let graph = try loadGraph(model)
            let executor: ReferenceExecutor
            do { executor = try ReferenceExecutor(graph: graph) } catch { throw CLIError("\(model): \(error)") }
            return (graph, { try executor.run($0) })
        }
        let loaded = try loadModel(model, choices: runtime.choices(isa: try isa?.resolved()))
        return (loaded.graph, { try loaded.session.run($0) })
    }

    /// One --raw-input per graph input, in the graph's order, all at one batch.
    func rawInputTensors(_ graph: Graph) throws -> [String: Tensor] {
        let names = graph.inputs.map { "'\($0.name)'" }.joined(separator: ", ")
        guard rawInputs.count == graph.inputs.count else {
            throw CLIError("\(model) has \(graph.inputs.count) input\(graph.inputs.count == 1 ? "" : "s") (\(names)): give one --raw-input per input, in that order"
                           + (rawInputs.count > 1 ? ", not \(rawInputs.count)" : ""))
        }
        var feeds: [String: Tensor] = [:]
        var batch: Int?
        for (info, path) in zip(graph.inputs, rawInputs) {
            let x = try Self.readRawInput(path, sampleShape: Array(info.shape.dims.dropFirst()), layout: layout)
            if let batch, x.shape[0] != batch {
                throw CLIError("\(path) holds \(x.shape[0]) samples of input '\(info.name)' but the first --raw-input holds \(batch): every input needs the same batch")
            }
            batch = x.shape[0]
            feeds[info.name] = x
        }
        return feeds
    }

    func printTopClasses(_ graph: Graph, _ outputs: [String: Tensor]) throws {
        guard graph.outputs.count == 1, let y = outputs[graph.outputs[0]], y.shape.rank == 2 else {
            throw CLIError("\(model): --top needs a classifier with one [N, classes] output; use --output to save the outputs")
        }
        let names = graph.classNames
        let width = y.shape[1]
        let samples = width == 0 ? 0 : y.count / width
        // A graph that already ends in softmax prints its own probabilities.
        let endsInSoftmax = graph.nodes.last.map { $0.op == .softmax && graph.outputs == $0.outputs } ?? false
        for n in 0..<samples {
            let row = y.data[(n * width)..<((n + 1) * width)]
            let p = endsInSoftmax ? Array(row) : probabilities(row)
            if samples > 1 { print("sample \(n):") }
            for c in p.indices.sorted(by: { p[$0] > p[$1] }).prefix(top ?? 5) {
                let label = c < names.count ? names[c] : "class \(c)"
                print(String(format: "  %6.2f %%  ", p[c] * 100) + "\(label) (\(c))")
            }
        }
    }

    func inputTensor(_ graph: Graph) throws -> Tensor {
        let shape = graph.inputs[0].shape
        let normalization: InputNormalization
        do { normalization = try InputNormalization(graph: graph, channels: shape.dims.last ?? 0) } catch { throw CLIError("\(model): \(error)") }
        func image(_ hwc: [UInt8], height: Int, width: Int, source: String) throws -> Tensor {
            guard shape.rank == 4, shape[1] == height, shape[2] == width, shape[3] == 3 else {
                throw CLIError("\(source) is \(height)x\(width)x3 but model '\(graph.name)' takes input \(shape)")
            }
            return normalization.tensor(hwc: hwc, height: height, width: width)
        }
        if let cifar, let index {
            let records: LabeledImages
            do { records = try LabeledImages.readCIFAR10(path: cifar) } catch { throw CLIError("\(error)") }
            guard index >= 0, index < records.count else {
                throw CLIError("\(cifar): --index \(index) is out of range (the file has \(records.count) records)")
            }
            return try image(records.imageHWC(index), height: records.height, width: records.width, source: "\(cifar) record \(index)")
        }
        if let input {
            let bytes = try cliFileIO { try readFileBytes(input) }
            let isPPM = bytes.count >= 2 && bytes[0] == UInt8(ascii: "P") && bytes[1] == UInt8(ascii: "6")
            // Never read an image or a model as float32 samples.
            switch FileKind.of(bytes, path: input) {
            case .png, .jpeg: break
            case .onnx, .rkg, .npz: throw CLIError("\(input): this is a model or an archive, not an input")
            case .unknown:
                guard isPPM else {
                    if resize != nil || centerCrop != nil { throw CLIError("\(input): not a PNG, JPEG or PPM image, so --resize/--center-crop do not apply") }
                    return try Self.readRawInput(input, sampleShape: Array(shape.dims.dropFirst()), layout: layout)
                }
            }
            var picture: RGBImage
            do { picture = try ImageFile.decode(bytes, source: input) } catch { throw CLIError("\(error)") }
            if let resize { picture = picture.resized(shorterSide: resize) }
            if let centerCrop {
                guard let cropped = picture.centerCropped(height: centerCrop, width: centerCrop) else {
                    throw CLIError("\(input): --center-crop \(centerCrop) is larger than the \(picture.width)x\(picture.height) image\(resize == nil ? "" : " after --resize")")
                }
                picture = cropped
            }
            if shape.rank == 4, (picture.height, picture.width) != (shape[1], shape[2]), resize == nil, centerCrop == nil {
                let side = shape[1] == shape[2] ? "\(shape[1])" : "\(min(shape[1], shape[2]))"
                throw CLIError("\(input) is \(picture.width)x\(picture.height) but model '\(graph.name)' takes \(shape[2])x\(shape[1]): "
                               + "add --resize \(side) (and --center-crop \(side) for a square crop; torchvision's ImageNet models use --resize 256 --center-crop 224)")
            }
            return try image(picture.pixels, height: picture.height, width: picture.width, source: input)
        }
        return try Self.readRawInput((input ?? rawInput)!, sampleShape: Array(shape.dims.dropFirst()), layout: layout)
    }

    static func readRawInput(_ path: String, sampleShape: [Int], layout: RawLayout = .nhwc) throws -> Tensor {
        let bytes = try cliFileIO { try readFileBytes(path) }
        let perSample = sampleShape.reduce(1, *)
        let count = bytes.count / 4
        guard bytes.count % 4 == 0, count > 0, perSample > 0, count % perSample == 0 else {
            throw CLIError("\(path): \(bytes.count) bytes is not a whole number of float32 samples of shape \(TensorShape(sampleShape)) (\(perSample * 4) bytes each)")
        }
        let values = bytes.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        let samples = count / perSample
        guard layout == .nchw else { return Tensor(shape: [samples] + sampleShape, data: values) }
        guard sampleShape.count == 3 else { throw CLIError("--layout nchw needs a 4-D image input; this model takes \(TensorShape(sampleShape))") }
        // Each sample's C planes of H×W become H×W pixels of C channels.
        let (h, w, c) = (sampleShape[0], sampleShape[1], sampleShape[2])
        var nhwc = [Float](repeating: 0, count: count)
        for n in 0..<samples {
            let base = n * perSample
            for ch in 0..<c {
                for p in 0..<(h * w) { nhwc[base + p * c + ch] = values[base + ch * h * w + p] }
            }
        }
        return Tensor(shape: [samples] + sampleShape, data: nhwc)
    }
}

/// How raw float32 samples are laid out.
enum RawLayout: String, ExpressibleByArgument, CaseIterable {
    case nhwc, nchw
}
