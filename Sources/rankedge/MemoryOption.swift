import ArgumentParser
import RankEdge

/// `--max-memory MB`: the most memory a command may plan for (session arena, scratch and weights;
/// a compile's measurements; an import's largest activation). Above it the command stops with one
/// line naming the estimate and the bound, before allocating, instead of aborting in the allocator.
struct MemoryOption: ParsableArguments {
    @Option(name: .customLong("max-memory"), help: ArgumentHelp(
        "Refuse work needing more than this many megabytes (10^6 bytes) (default: 3/4 of physical memory, \(MemoryOption.defaultMegabytes) MB here).",
        valueName: "MB"))
    var maxMemory: Int?

    static var defaultMegabytes: String {
        MemoryBound.defaultBytes == .max ? "no bound" : String(MemoryBound.defaultBytes / 1_000_000)
    }

    func validate() throws {
        if let maxMemory, maxMemory < 1 { throw ValidationError("--max-memory must be at least 1 (MB), got \(maxMemory)") }
    }

    /// The bound in bytes; a value past Int.max bytes means no bound.
    var bytes: Int {
        guard let maxMemory else { return MemoryBound.defaultBytes }
        let (b, overflow) = maxMemory.multipliedReportingOverflow(by: 1_000_000)
        return overflow ? .max : b
    }
}
