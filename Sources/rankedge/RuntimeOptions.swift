import ArgumentParser
import RankEdge

/// An instruction set named on the command line; `native` is the best this CPU runs.
enum ISAArgument: String, ExpressibleByArgument, CaseIterable {
    case native, avx512, avx2, neon, scalar

    /// The ISA, checked against this CPU.
    func resolved() throws -> GEMMISA {
        if self == .native { return GEMMISA.native }
        do { return try GEMMISA(validating: rawValue) } catch { throw CLIError("\(error)") }
    }
}

extension RankConvFormPolicy: ExpressibleByArgument {}
extension WinogradPolicy: ExpressibleByArgument {}

/// How run, bench and compile compile and run a graph file: one option group, so the three
/// commands take the same flags with the same help and checks.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Threads to run with.") var threads = 1
    @Option(help: "How rankConv2d layers run: measure (time both forms on this CPU), dense, separable (graph files only).")
    var rankForm: RankConvFormPolicy = .measure
    @Option(help: "Which 3×3 and 5×5 stride-1 convs run as Winograd, with which tile: measure (GEMM, F(2×2) and F(4×4) timed per layer on this CPU), never, always (F(2×2, r×r)), large (F(4×4, 3×3) and F(2×2, 5×5)) (graph files only).")
    var winograd: WinogradPolicy = .measure
    @Flag(help: "Run low-rank 1×1 → k×k → 1×1 chains band by band as one step (graph files only; chains with a narrow core are one step anyway).")
    var fuseChains = false
    @Option(help: ArgumentHelp("Run the threads on these cores, the calling thread on the first (Linux; e.g. the big cores of a big.LITTLE board: docs/CLI.md).", valueName: "list"))
    var cores: CoreList?
    @Flag(help: "Time the measured choices of a graph file again instead of reusing this CPU's earlier timings (docs/CLI.md).")
    var remeasure = false
    @OptionGroup var memory: MemoryOption
    @Option(help: ArgumentHelp("Most weights the compiled model may hold; Winograd forms give way, least time lost per byte first: megabytes (10^6 bytes), a multiple of the graph's weights (1.3x), auto (1.3x or the graph's weights + 16 MB, whichever is larger, when Winograd is measured) or none (graph files only).", valueName: "MB|RATIOx|auto|none"))
    var memoryBudget: WeightBudgetArgument = .init(budget: .automatic)

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        if let cores, cores.cores.count < threads {
            throw ValidationError("--cores lists \(cores.cores.count) core(s) for --threads \(threads): give each thread its own core")
        }
    }

    func choices(isa: GEMMISA?) -> RuntimeChoices {
        RuntimeChoices(threads: threads, isa: isa, rankForm: rankForm, fuseChains: fuseChains, winograd: winograd,
                       cores: cores?.cores ?? [], remeasure: remeasure, maxMemoryBytes: memory.bytes, weightBudget: memoryBudget.budget)
    }
}

/// `--memory-budget`: megabytes, a ratio (`1.3x`), `auto` or `none`.
struct WeightBudgetArgument: ExpressibleByArgument {
    let budget: WeightBudget

    init(budget: WeightBudget) { self.budget = budget }

    init?(argument: String) {
        switch argument {
        case "auto": budget = .automatic
        case "none": budget = .unlimited
        default:
            if argument.hasSuffix("x") {
                guard let r = Double(argument.dropLast()), r.isFinite, r > 0, r < 1e6 else { return nil }
                budget = .ratio(r)
                return
            }
            guard let mb = Double(argument), mb.isFinite, mb > 0, mb < 1e12 else { return nil }
            budget = .bytes(Int(mb * 1e6))
        }
    }

    var defaultValueDescription: String { "auto" }
}

/// The runtime settings a command ends up with (from `RuntimeOptions`, or the defaults).
struct RuntimeChoices {
    var threads = 1
    /// nil: `RANKEDGE_ISA`, else the best this CPU runs.
    var isa: GEMMISA?
    var rankForm = RankConvFormPolicy.measure
    var fuseChains = false
    var winograd = WinogradPolicy.measure
    /// Cores to pin the pool's threads to (empty: the OS places them).
    var cores: [Int] = []
    /// Ignore the stored layer timings (and replace them).
    var remeasure = false
    var maxMemoryBytes = MemoryBound.defaultBytes
    var weightBudget = WeightBudget.automatic
}

/// `--cores 0,2-3`: core numbers and ranges, each listed once.
struct CoreList: ExpressibleByArgument {
    let cores: [Int]

    init?(argument: String) {
        var out: [Int] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard bounds.count == 1 || bounds.count == 2, let low = bounds.first!, let high = bounds.last!,
                  low >= 0, low <= high, high < 4096 else { return nil }
            out += Array(low...high)
        }
        guard !out.isEmpty, Set(out).count == out.count else { return nil }
        cores = out
    }
}
