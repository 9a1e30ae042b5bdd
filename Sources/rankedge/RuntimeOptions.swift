import ArgumentParser
import RankEdge

/// An instruction set named on the command line; `native` is the best this CPU runs.
enum ISAArgument: String, ExpressibleByArgument, CaseIterable {
    case native, avx2, neon, scalar

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
    @OptionGroup var memory: MemoryOption

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
    }

    func choices(isa: GEMMISA?) -> RuntimeChoices {
        RuntimeChoices(threads: threads, isa: isa, rankForm: rankForm, fuseChains: fuseChains, winograd: winograd, maxMemoryBytes: memory.bytes)
    }
}

/// The runtime settings a command ends up with (from `RuntimeOptions`, or the defaults).
struct RuntimeChoices {
    var threads = 1
    /// nil: `RANKEDGE_ISA`, else the best this CPU runs.
    var isa: GEMMISA?
    var rankForm = RankConvFormPolicy.measure
    var fuseChains = false
    var winograd = WinogradPolicy.measure
    var maxMemoryBytes = MemoryBound.defaultBytes
}
