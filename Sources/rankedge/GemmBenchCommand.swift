import ArgumentParser
import COpenBLAS
import RankEdge

/// `rankedge gemm-bench`: RankEdge's GEMM against OpenBLAS's cblas_sgemm on the same operands, in
/// the same process, measured alternately so both see the same machine state.
struct GemmBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm-bench",
        abstract: "Measure RankEdge's GEMM against OpenBLAS (cblas_sgemm) on squares and the zoo's conv GEMMs.",
        discussion: """
            For each shape C[M×N] = A[M×K]·B[K×N] (row-major, float32), both libraries run on the same \
            random operands; each sample repeats a call until it lasts at least --min-sample-ms, and the \
            two libraries alternate sample by sample. Reported GFLOP/s are 2·M·N·K over the median sample. \
            RankEdge packs B inside every call, as cblas_sgemm does (prepacked weights are faster still; \
            see rankedge_prepacked_gflops). The results of the two libraries are compared, and a \
            difference beyond float32 rounding is an error.
            """
    )

    /// Squares, then the conv GEMMs of the zoo networks, dense and 2× low-rank (M = spatial, K = kh·kw·C, N = out channels).
    static let defaultShapes: [GEMMShape] = [
        .init(m: 256, n: 256, k: 256), .init(m: 512, n: 512, k: 512),
        .init(m: 1024, n: 1024, k: 1024), .init(m: 2048, n: 2048, k: 2048),
        .init(m: 1024, n: 16, k: 27), .init(m: 1024, n: 16, k: 144), .init(m: 256, n: 32, k: 288),
        .init(m: 64, n: 64, k: 576), .init(m: 3136, n: 64, k: 64), .init(m: 3136, n: 64, k: 576),
        .init(m: 784, n: 128, k: 1152), .init(m: 196, n: 256, k: 2304), .init(m: 49, n: 512, k: 4608),
        .init(m: 3136, n: 25, k: 64), .init(m: 784, n: 309, k: 309), .init(m: 49, n: 204, k: 2048),
    ]

    @Option(help: "Threads for both libraries (openblas_set_num_threads for OpenBLAS).")
    var threads = 1

    @Flag(help: "Print one JSON array of result rows (fields in docs/CLI.md).")
    var json = false

    @Option(name: .customLong("shape"), help: ArgumentHelp("A shape MxNxK (repeatable); default: squares and the zoo's conv GEMMs.", valueName: "MxNxK"))
    var shapes: [String] = []

    @Option(help: "Samples per library and shape; the median is reported.")
    var repeats = 5

    @Option(help: "RankEdge kernels: scalar, avx2, avx512 or neon (default: RANKEDGE_ISA, else the best this CPU runs).")
    var isa: String?

    @Option(help: "Minimum duration of one sample, in milliseconds.")
    var minSampleMs = 20.0

    @Flag(help: "Time samples by this thread's CPU time instead of the wall clock (one thread only): on a machine shared with other work, time spent descheduled then does not count.")
    var cpuTime = false

    func run() throws {
        guard (1...256).contains(threads) else { throw CLIError("--threads must be between 1 and 256, got \(threads)") }
        guard repeats >= 1 else { throw CLIError("--repeats must be at least 1") }
        guard minSampleMs > 0 else { throw CLIError("--min-sample-ms must be positive") }
        guard !cpuTime || threads == 1 else { throw CLIError("--cpu-time measures one thread; use it with --threads 1") }
        let chosen: GEMMISA
        do throws(GEMMError) {
            if let isa { chosen = try GEMMISA(validating: isa) } else { chosen = try GEMMISA.fromEnvironment() }
        } catch {
            throw CLIError(error.description)
        }
        let list = try shapes.isEmpty ? Self.defaultShapes : shapes.map(GEMMShape.parse)

        openblas_set_num_threads(Int32(threads))
        ThreadPool.shared.prepare(threads: threads)
        let bench = GEMMBenchmark(threads: threads, isa: chosen, repeats: repeats, minSampleSeconds: minSampleMs / 1000,
                                  threadCPUTime: cpuTime)
        var rows: [GEMMBenchRow] = []
        if !json { print(GEMMBenchRow.tableHeader) }
        for shape in list {
            let row = try bench.measure(shape)
            rows.append(row)
            if !json { print(row.tableLine) }
        }
        if json {
            print("[\n" + rows.map { "  " + $0.jsonObject }.joined(separator: ",\n") + "\n]")
        } else {
            for line in GEMMBenchRow.summary(rows) { print(line) }
        }
    }
}

struct GEMMShape: Equatable {
    var m: Int, n: Int, k: Int

    static func parse(_ text: String) throws -> GEMMShape {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, let m = parts[0], let n = parts[1], let k = parts[2], m > 0, n > 0, k > 0 else {
            throw CLIError("bad --shape '\(text)': expected MxNxK with positive integers, e.g. 1024x16x27")
        }
        // A, B and two C buffers; refuse shapes that would not fit in memory rather than crash.
        let bytes = (Double(m) * Double(k) + Double(k) * Double(n) + 2 * Double(m) * Double(n)) * 4
        guard bytes <= 8 * 1_073_741_824 else {
            throw CLIError("bad --shape '\(text)': needs \(Int(bytes / 1_073_741_824)) GiB of operands (limit 8)")
        }
        return GEMMShape(m: m, n: n, k: k)
    }

    var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    var isSquare: Bool { m == n && n == k }
}
