import RankEdge
import RankEdgeImageCodecs
import RankEdgeInput
import RankEdgeONNX
import RankEdgeTrain

/// One reader of untrusted files, fed one input. A thrown error is the reader doing its job; a
/// trap, an abort, a sanitizer report or a hang is a finding.
enum FuzzTarget: String, CaseIterable, Sendable {
    case rkg, compiled, onnx, cifar, npz, png, jpeg, ppm

    /// What `rankedge` does with such a file before anything else.
    var job: String {
        switch self {
        case .rkg: "RKGFile.decode: safetensors container, graph JSON, graph validation"
        case .compiled: "CompiledModelFile.model(from:), then an InferenceSession bound and run at batch 1"
        case .onnx: "ONNXImporter.importModel: protobuf, op table, constant folding, shape inference"
        case .cifar: "LabeledImages.decodeCIFAR10 and decodeCIFAR100"
        case .npz: "Dataset.decodeNPZ (zip, deflate, .npy headers), for training and for evaluation"
        case .png, .jpeg: "ImageFile.decode (libpng / TurboJPEG behind the Swift checks)"
        case .ppm: "PPMImage(bytes:)"
        }
    }

    func run(_ bytes: [UInt8]) {
        switch self {
        case .rkg:
            _ = try? RKGFile.decode(bytes)
        case .compiled:
            Self.runCompiled(bytes)
        case .onnx:
            _ = try? ONNXImporter().importModel(bytes)
        case .cifar:
            _ = try? LabeledImages.decodeCIFAR10(bytes, source: "fuzz")
            _ = try? LabeledImages.decodeCIFAR100(bytes, source: "fuzz")
        case .npz:
            _ = try? Dataset.decodeNPZ(bytes, source: "fuzz", training: true)
            _ = try? Dataset.decodeNPZ(bytes, source: "fuzz", training: false)
        case .png, .jpeg:
            _ = try? ImageFile.decode(bytes, source: "fuzz")
        case .ppm:
            _ = try? PPMImage(bytes: bytes, source: "fuzz")
        }
    }

    /// A compiled file is trusted as far as its reader's checks go: what they let through is bound
    /// to an arena and run, where a wrong size would read or write out of bounds. Graphs that are
    /// merely big (a legal 4K input, billions of MACs) are skipped so every execution stays fast.
    static func runCompiled(_ bytes: [UInt8]) {
        guard let contents = try? RKGFile.decodeContents(bytes),
              let model = try? CompiledModelFile.model(from: contents),
              model.graph.inputs.count == 1, model.graph.outputs.count == 1,
              let count = model.graph.inputs[0].shape.checkedElementCount, count >= 1, count <= 1 << 16,
              let macs = try? model.macs(batch: 1), macs.values.reduce(0, &+) <= 20_000_000,
              let session = try? InferenceSession(model: model) else { return }
        _ = try? session.run(Tensor(zeros: model.graph.inputs[0].shape))
    }
}
