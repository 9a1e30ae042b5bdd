import ArgumentParser
import Foundation
import RankEdge
import RankEdgeCompress
import RankEdgeTrain

struct CompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Low-rank compression of a trained graph: decompose its layers at ranks a policy chooses, timed on this CPU.",
        discussion: """
        Policies (--rank):
          ratio:A[:B]        seed 003's closed form for A× fewer parameters per layer (Tucker-2: R2 = B·R1)
          energy:E           the fewest singular values holding E of the energy (per mode for Tucker-2)
          utilized[:EPS]     seed 001: calibration Gram matrices, per-layer subspaces costing ≤ EPS validation points (0.1)
          perturbation:S[:score=output|variance|relerr|magnitude][:blocks=none|alds|square]
                             seed 004: singular vectors scored and pruned globally to parameter sparsity S
          budget:macs=F      F of the original MACs, where validation accuracy suffers least
          budget:latency=F   F of the original measured latency, likewise
        utilized, budget and perturbation with score output/variance need --data (training images: \
        --val are held out for accuracy, --calibration more for statistics).

        Methods (--method): svd (1×1 and linear always; k×k as [S, C·k·k]), tucker2 (HOSVD + HOOI, \
        the default for k×k), spatial (k×1 then 1×k), rank-l (seed 000's rankConv2d), auto (the fastest \
        measured form at the policy's parameter count). --snap latency runs seed 003's Algorithm 1: \
        each decomposed layer is timed from the policy's rank down to --min-rank-fraction of it, the \
        rank below the latency cliff is kept, and a layer whose decomposition is not faster stays \
        original. Every layer's time before and after is measured in alternating rounds.

        The first layer and the classifier are left out unless --include names them; grouped and \
        depthwise convs stay as they are. Fine-tune the result with `rankedge finetune`.
        """)

    @Argument(help: "The trained graph (.rkg).") var model: String
    @Option(name: .shortAndLong, help: "Output graph (.rkg).") var output: String
    @Option(help: ArgumentHelp("Rank policy (see above).", valueName: "policy")) var rank: String
    @Option(help: "Labelled images: a CIFAR-10/100 binary folder or a NumPy .npz (docs/CLI.md); training images are used.") var data: String?
    @Option(help: ArgumentHelp("Decomposition of k×k convs: auto, svd, tucker2, spatial, rank-l.", valueName: "method")) var method: String = "tucker2"
    @Option(help: "Tucker-2 cores split into N block-diagonal branches (seed 003).") var branches: Int = 1
    @Option(help: ArgumentHelp("Merge factors into neighbouring layers: none, exact, approximate (also across a ReLU).", valueName: "mode")) var merge: String = "none"
    @Option(help: ArgumentHelp("Round ranks: none, latency (seed 003's Algorithm 1 on this CPU), multiple:N.", valueName: "snap")) var snap: String = "none"
    @Option(help: "--snap latency searches ranks down to this fraction of the policy's.") var minRankFraction: Double = 0.5
    @Option(help: "HOOI sweeps after HOSVD, exactly (default: until a sweep improves the relative error by less than 1e-7, at most 100 sweeps, as TensorLy).") var hooiIterations: Int?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Decompose only layers whose names match (* and ? wildcards); may name the first layer and the classifier.", valueName: "glob"))
    var include: [String] = []
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Leave matching layers as they are.", valueName: "glob")) var exclude: [String] = []
    @Option(help: "Calibration images for statistics (default: 2000 for utilized, 128 for perturbation).") var calibration: Int?
    @Option(help: "Validation images held out of the training set for accuracy.") var val: Int = 1000
    @Option(help: "Seed of the validation split.") var seed: UInt64 = 0
    @Option(help: "Threads of the latency measurements (the thread count the model will run with).") var threads: Int = 1
    @Option(help: "Alternating timing rounds per layer for --snap latency and latency policies (more: steadier ranks, slower).") var latencyRounds: Int = 7
    @Option(help: ArgumentHelp("Write the report as JSON here (fields in docs/CLI.md).", valueName: "json")) var report: String?
    @Option(help: ArgumentHelp("Write SVG plots into this folder.", valueName: "dir")) var plots: String?
    @Option(help: ArgumentHelp("Budget policies: per-layer sensitivity cache (default MODEL.sensitivity.json); perturbation: output scores (default MODEL.perturbation.json). 'none' disables.", valueName: "json"))
    var sensitivityCache: String?
    @Option(help: "Input mean per channel for pixels in 0…1, comma-separated (default: the graph's metadata, else measured).") var mean: String?
    @Option(help: "Input standard deviation per channel (default: the graph's metadata, else measured).") var std: String?
    @Flag(help: "Print the report as JSON instead of the table.") var json = false
    @Flag(name: .shortAndLong, help: "No progress lines.") var quiet = false

    func run() throws {
        var options = CompressionOptions(policy: try wrap { try RankPolicy.parse(rank) })
        if method != "auto" {
            guard let m = DecompositionMethod(rawValue: method) else { throw CLIError("unknown --method '\(method)' (auto, svd, tucker2, spatial, rank-l)") }
            options.method = m
        }
        guard let mergeMode = MergeMode(rawValue: merge) else { throw CLIError("unknown --merge '\(merge)' (none, exact, approximate)") }
        options.merge = mergeMode
        options.snap = try wrap { try RankSnap.parse(snap) }
        guard branches >= 1 else { throw CLIError("--branches must be at least 1") }
        options.branches = branches
        guard minRankFraction > 0, minRankFraction <= 1 else { throw CLIError("--min-rank-fraction must be in (0, 1]") }
        options.minRankFraction = minRankFraction
        if let hooiIterations, hooiIterations < 0 { throw CLIError("--hooi-iterations must not be negative") }
        options.hooiIterations = hooiIterations
        options.include = include
        options.exclude = exclude
        guard (1...256).contains(threads) else { throw CLIError("--threads must be between 1 and 256, got \(threads)") }
        options.threads = threads
        guard latencyRounds >= 1 else { throw CLIError("--latency-rounds must be ≥ 1") }
        options.latencyRounds = latencyRounds
        if let calibration, calibration < 1 { throw CLIError("--calibration must be at least 1") }
        guard val >= 1 else { throw CLIError("--val must be at least 1") }
        if options.policy.needsData && data == nil { throw CLIError("--rank \(rank) needs labelled images: give --data") }
        if (mean == nil) != (std == nil) { throw CLIError("give --mean and --std together") }
        try checkWritable(output, "output")
        if let report { try checkWritable(report, "--report") }
        switch sensitivityCache {
        case "none": options.sensitivityCache = nil
        case let path?: options.sensitivityCache = path
        case nil:
            if case .perturbation = options.policy { options.sensitivityCache = model + ".perturbation.json" }
            else { options.sensitivityCache = model + ".sensitivity.json" }
        }

        let graph = try loadGraph(model)
        let samples = try data.map { try loadSamples($0, graph: graph, policy: options.policy) }
        let quiet = self.quiet
        let compressor = Compressor(options: options, data: samples, progress: { line in if !quiet { printError(line) } })
        let start = Date()
        let (compressed, result) = try wrap { try compressor.run(graph) }
        let seconds = Date().timeIntervalSince(start)

        try cliFileIO { try RKGFile.write(compressed, to: output) }
        if let report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let bytes: Data = try encoder.encode(result)
            do { try writeFileAtomically([UInt8](bytes), to: report) } catch { throw CLIError("cannot write \(report): \(error)") }
        }
        var written: [String] = []
        if let plots {
            do { written = try CompressionPlots.write(result, to: plots) } catch { throw CLIError("cannot write plots to \(plots): \(error)") }
        }
        if json {
            try printJSON(result)
        } else {
            CompressionTable.print(result)
            print(String(format: "wrote %@ in %.1f s", output, seconds) + (report.map { ", report \($0)" } ?? "")
                  + (written.isEmpty ? "" : ", \(written.count) plots in \(plots!)"))
        }
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw CLIError("\(error)") }
    }

    private func checkWritable(_ path: String, _ what: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir, isDirectory: &isDir), isDir.boolValue else {
            throw CLIError("\(what) \(path): the folder \(dir) does not exist")
        }
    }

    /// Validation images held out of the training split (seeded), calibration images from the rest,
    /// normalised as the graph expects.
    private func loadSamples(_ path: String, graph: Graph, policy: RankPolicy) throws -> CompressionData {
        let dataset: Dataset
        do { dataset = try Dataset.load(path: path, training: true) } catch { throw CLIError("\(error)") }
        guard let all = dataset.train else { throw CLIError("\(path) has no training images") }
        guard graph.inputs.count == 1, Array(graph.inputs[0].shape.dims.dropFirst()) == all.imageShape else {
            throw CLIError("\(model): expects input \(graph.inputs.first?.shape.description ?? "none"), the images of \(path) are [N, \(all.height), \(all.width), \(all.channels)]")
        }
        let (rest, validation): (LabeledImages, LabeledImages)
        do { (rest, validation) = try holdOutValidation(all, count: min(val, all.count - 1), seed: seed) } catch { throw CLIError("\(error)") }
        var defaultCalibration = 0
        if case .utilized = policy { defaultCalibration = 2000 }
        if case .perturbation = policy { defaultCalibration = 128 }
        let n = min(calibration ?? defaultCalibration, rest.count)
        let normalization = try chooseNormalization(graph, model: model, mean: mean, std: std, images: rest)
        func samples(_ images: LabeledImages, _ count: Int) -> LabeledSamples {
            let data = count > 0 ? normalization.images(images, indices: Array(0..<count)).array : []
            return LabeledSamples(images: data, labels: Array(images.labels.prefix(count)), sampleShape: images.imageShape)
        }
        return CompressionData(calibration: samples(rest, n), validation: samples(validation, validation.count))
    }
}
