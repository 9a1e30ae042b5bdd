import ArgumentParser
import Foundation
import RankEdge

struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Compile a model for this CPU: fold BN, merge linear chains, choose rank-conv forms by timing, fuse epilogues, prepack weights, plan memory.",
        discussion: """
        The output is a .rkg file any RankEdge tool can read, plus the weights prepacked for the target's \
        kernels and the plan (docs/FORMAT.md §7, docs/CLI.md). Loading it transforms no weights. Compile on \
        the board (or a CPU of the same family): rank-conv forms are chosen by measuring both on this CPU, \
        so the target must be one this CPU runs.
        """
    )

    @Argument(help: "A .rkg graph.") var model: String
    @Option(name: .shortAndLong, help: "Output .rkg file.") var output: String
    @Option(help: "The instruction set to compile for (one this CPU runs).") var target: ISAArgument = .native
    @Option(help: "Batch the stored memory plan is for.") var batch = 1
    @OptionGroup(title: "Runtime (threads: the count the model will run with; rank-form timings and the stored memory plan use it)")
    var runtime: RuntimeOptions

    func run() throws {
        guard batch >= 1 else { throw CLIError("--batch must be at least 1, got \(batch)") }
        let (isa, threads) = (try target.resolved(), runtime.threads)
        let graph = try loadGraph(model)
        let nodeCount = graph.nodes.count
        let start = nowMilliseconds()
        let compiled: CompiledModel
        // compile is where a model is measured for this CPU on purpose: it times every choice now
        // and leaves the timings for graph files run later.
        let cache = MeasurementCacheFile.open(refresh: true)
        do {
            compiled = try GraphCompiler.compile(consume graph, options: CompileOptions(isa: isa, threads: threads, batch: batch, rankConvForm: runtime.rankForm,
                                                                                    fuseChains: runtime.fuseChains, winograd: runtime.winograd,
                                                                                    measurementCache: cache, maxMemoryBytes: runtime.memory.bytes,
                                                                                    weightBudget: runtime.memoryBudget.budget))
        } catch { throw CLIError("\(model): \(error)") }
        MeasurementCacheFile.save(cache)
        let session: InferenceSession
        do {
            session = try InferenceSession(model: compiled, options: .init(threads: threads, maxMemoryBytes: runtime.memory.bytes))
            try session.prepare(batch: batch)
        } catch { throw CLIError("\(model): \(error)") }
        do { try CompiledModelFile.write(compiled, plan: session.planLayout.map { (batch, threads, $0) }, compileThreads: threads, to: output) }
        catch { throw CLIError("\(error)") }
        let ms = nowMilliseconds() - start
        print("wrote \(output): \(compiled.graph.name) for \(compiled.isa.rawValue), \(compiled.ops.count) steps from \(nodeCount) nodes, compiled in \(String(format: "%.0f", ms)) ms")
        for c in compiled.rankConvChoices {
            let times = c.denseMs.map { d in String(format: " (dense %.3f ms, separable %.3f ms)", d, c.separableMs ?? 0) } ?? ""
            print("  \(c.node): \(c.form.rawValue)\(times)")
        }
        for c in compiled.winogradChoices {
            let large = c.winograd4Ms.map { String(format: ", F(4×4) %.3f ms", $0) } ?? ""
            let times = c.gemmMs.map { g in String(format: " (GEMM form %.3f ms, F(2×2) %.3f ms", g, c.winogradMs ?? 0) + large + ")" } ?? ""
            print("  \(c.node): \(c.transform.map { "winograd \($0.name)" } ?? "gemm")\(times)")
        }
        let weights = compiled.weightBytes
        print("  weights \(megabytes(weights.prepared)) held by the steps ("
              + String(format: "%.2f×", Double(weights.prepared) / Double(max(weights.graph, 1))) + " the graph's \(megabytes(weights.graph)))")
        if let b = compiled.weightBudget { print(describeWeightBudget(b, first: "  memory budget ", indent: "    ")) }
        if let m = session.memory {
            print("  arena \(formatCount(m.arenaBytes)) bytes (lower bound \(formatCount(m.lowerBoundBytes))), scratch \(formatCount(m.scratchBytes)) bytes")
        }
    }
}
