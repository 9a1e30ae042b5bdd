import ArgumentParser
import Foundation
import RankEdge
import RankEdgeCompress
import RankEdgeInput
import RankEdgeONNX
import RankEdgeTrain

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "A PyTorch model in, compressed for this CPU, measured: the whole path on shipped files.",
        discussion: """
        1. imports models/demo/cifar-vgg.onnx (a small CIFAR-10 VGG trained in PyTorch and written by \
        its default exporter; tools/train_demo_model.py) and checks its accuracy on the shipped images \
        against what PyTorch measured (models/demo/cifar-vgg.json);
        2. compresses it with a rank policy whose ranks are snapped to this CPU's measured latency \
        (seed 003's Algorithm 1), printing each layer's decision;
        3. compiles and runs both: accuracy, parameters, MACs, and latency from interleaved rounds \
        (median and spread), with ONNX Runtime's time for the original when python3 has it;
        4. prints the commands that do the same with your own model.
        Run it from the repository root (make demo does).
        """)

    @Option(help: "ONNX model to start from.") var model = "models/demo/cifar-vgg.onnx"
    @Option(help: "CIFAR-10 binary file of labelled sample images.") var samples = "models/samples/cifar10-test-100.bin"
    @Option(help: ArgumentHelp("Rank policy of the compression (see `rankedge compress --help`).", valueName: "policy")) var rank = "energy:0.95"
    @Option(help: "Latency rounds; each times both models, alternating which goes first.") var rounds = 15
    @Option(help: "Runs per model per round.") var runs = 20
    @Flag(help: "Skip ONNX Runtime even when python3 has it.") var noPeer = false

    func run() throws {
        guard rounds >= 1, runs >= 1 else { throw CLIError("--rounds and --runs must be at least 1") }
        let images: LabeledImages
        do { images = try LabeledImages.readCIFAR10(path: samples) } catch { throw CLIError("\(error)") }

        print("== 1. import \(model)")
        let bytes = try cliFileIO { try readFileBytes(model) }
        let original: Graph
        do { original = try ONNXImporter().importModel(bytes) } catch { throw CLIError("\(model): \(error)") }
        let reference = PyTorchReference.read(besideModel: model)
        let before = try DemoModel(original, images)
        print("\(original.nodes.count) nodes, \(formatCount(before.params)) parameters, \(formatCount(before.macs)) MACs")
        print(String(format: "accuracy on %d shipped images: %.1f %% (RankEdge)", images.count, before.accuracy * 100)
              + (reference?.line(samples: images.count) ?? ", no PyTorch reference beside the model"))

        print("\n== 2. compress with --rank \(rank) --snap latency (ranks snapped to this CPU's measured latency)")
        fflush(nil)  // before the progress lines on stderr, even when stdout is a pipe
        var options = CompressionOptions(policy: try wrapped { try RankPolicy.parse(rank) })
        guard !options.policy.needsData else { throw CLIError("--rank \(rank) needs training data; the demo takes ratio or energy policies") }
        options.snap = .latency
        // As `rankedge compress` by default (Tucker-2 for k×k), and with three times the timing
        // rounds: the snapped ranks rest on differences of a few microseconds on these small
        // layers, and the demo's result should not change from one run to the next.
        options.method = .tucker2
        options.latencyRounds = 21
        options.sensitivityCache = nil
        let compressor = Compressor(options: options, data: nil, progress: { printError("  " + $0) })
        let (compressed, report) = try wrapped { try compressor.run(original) }
        CompressionTable.print(report)
        let after = try DemoModel(compressed, images)

        print("\n== 3. both models on the fast runtime, 1 thread, \(rounds) interleaved rounds of \(runs) runs each")
        fflush(nil)
        let timing = try InterleavedTiming.measure([before.session, after.session], input: before.firstInput, rounds: rounds, runs: runs)
        let table = TextTable(columns: ["model", "params", "MACs", "samples acc", "latency p50", "p10–p90"], rightAligned: [1, 2, 3, 4, 5])
        table.print([("original", before, timing.models[0]), ("compressed", after, timing.models[1])].map { name, m, t in
            [name, formatCount(m.params), formatCount(m.macs), String(format: "%.1f %%", m.accuracy * 100),
             String(format: "%.3f ms", t.p50), String(format: "%.3f–%.3f ms", t.p10, t.p90)]
        })
        let s = timing.speedup(of: 1, over: 0)
        print(String(format: "compressed runs %.2fx %@ than the original (median of %d rounds' ratios; range %.2f–%.2f) on %@",
                     s.median >= 1 ? s.median : 1 / s.median, s.median >= 1 ? "faster" : "slower", rounds, s.low, s.high, MachineDescription.current))
        if !noPeer { print(ONNXRuntimePeer.line(model: model, runs: rounds * runs, rankEdgeP50: timing.models[0].p50)) }

        print("""

        == 4. the same with your model
          rankedge import model.onnx -o model.rkg --mean R,G,B --std R,G,B --labels classes.txt
          rankedge compress model.rkg -o small.rkg --rank \(rank) --snap latency
          rankedge finetune small.rkg --data DIR --epochs 2 -o small-ft.rkg
          rankedge bench small-ft.rkg     # and: rankedge eval small-ft.rkg --data DIR
        """)
    }

    private func wrapped<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw CLIError("\(error)") }
    }
}

/// One model of the demo: its session, size and accuracy on the sample images.
struct DemoModel {
    let session: InferenceSession
    let params: Int, macs: Int
    let accuracy: Double
    let firstInput: Tensor

    init(_ graph: Graph, _ images: LabeledImages) throws {
        let runner = try ModelRunner(graph: graph)
        let total: NodeCost
        do { total = try graph.cost().total } catch { throw CLIError("\(graph.name): \(error)") }
        params = total.params
        macs = total.macs
        var correct = 0
        var first: Tensor?
        for i in 0..<images.count {
            let x = try runner.tensor(hwc: images.imageHWC(i), height: images.height, width: images.width, source: "sample \(i)")
            if first == nil { first = x }
            let logits = try runner.run(x)
            let predicted = logits.data.indices.max { logits.data[$0] < logits.data[$1] }!
            if predicted == images.labels[i] { correct += 1 }
        }
        session = runner.session
        accuracy = Double(correct) / Double(max(images.count, 1))
        firstInput = first!
    }
}

/// What PyTorch measured for the shipped model (the JSON tools/train_demo_model.py writes beside it).
struct PyTorchReference {
    let testAccuracy: Double
    let samplesAccuracy: Double

    static func read(besideModel path: String) -> PyTorchReference? {
        let json = (path as NSString).deletingPathExtension + ".json"
        guard let data = FileManager.default.contents(atPath: json),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let test = object["pytorch_test_accuracy"] as? Double, let samples = object["pytorch_samples_accuracy"] as? Double
        else { return nil }
        return PyTorchReference(testAccuracy: test, samplesAccuracy: samples)
    }

    func line(samples: Int) -> String {
        String(format: ", %.1f %% (PyTorch on the same images; %.2f %% on the 10 000 test images)", samplesAccuracy * 100, testAccuracy * 100)
    }
}
