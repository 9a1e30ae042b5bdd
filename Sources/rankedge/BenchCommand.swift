import ArgumentParser
import Foundation
import RankEdge

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a model's latency on this CPU: percentiles, MACs and GFLOP/s, load and compile time, memory, per-layer times.",
        discussion: """
        Runs the model on a seeded random input: --warmup untimed runs, then --iterations timed ones through \
        the allocation-free path. A graph file is compiled first (its cost is compile_ms); a compiled file only \
        loads. With --per-layer, a second pass of --iterations runs with the per-step profiler on. JSON fields \
        are documented in docs/CLI.md.
        """
    )

    @Argument(help: "A .rkg model (graph or compiled).") var model: String
    @Option(help: "Untimed runs first.") var warmup = 5
    @Option(help: "Timed runs.") var iterations = 50
    @Option(help: "Batch size.") var batch = 1
    @Option(help: "Instruction set (graph files only; default RANKEDGE_ISA, else the best this CPU runs).") var isa: ISAArgument?
    @OptionGroup(title: "Runtime") var runtime: RuntimeOptions
    @Flag(help: "Also time every step.") var perLayer = false
    @Flag(help: "Print JSON.") var json = false

    struct Layer: Encodable {
        var name: String, op: String
        var nodes: [String]
        var output_shape: [Int]
        var macs: Int
        var ms: Double
        var share: Double
    }
    struct Choice: Encodable { var node: String, form: String, dense_ms: Double?, separable_ms: Double? }
    struct WinogradReport: Encodable {
        var node: String, winograd: Bool, tile: Int?, gemm_ms: Double?, winograd_ms: Double?, winograd4_ms: Double?
    }
    struct BudgetChange: Encodable { var node: String, from: String, to: String, bytes: Int, ms: Double? }
    struct BudgetReport: Encodable {
        var budget_bytes: Int, met: Bool, unconstrained_bytes: Int, prepared_bytes: Int, changes: [BudgetChange]
    }
    struct Report: Encodable {
        var model: String, name: String, isa: String, precompiled: Bool
        var threads: Int, batch: Int, warmup: Int, iterations: Int
        var p10_ms: Double, p50_ms: Double, p90_ms: Double, p99_ms: Double, mean_ms: Double, min_ms: Double, max_ms: Double
        var macs: Int, gflops: Double
        var load_ms: Double, compile_ms: Double
        var peak_arena_bytes: Int, arena_lower_bound_bytes: Int, scratch_bytes: Int
        /// The graph's weights (by their shapes), what the model holds (the steps' prepared copies,
        /// plus any graph values kept), the prepared copies alone; the process's peak RSS.
        var graph_weight_bytes: Int, resident_weight_bytes: Int, prepared_weight_bytes: Int, peak_rss_bytes: Int?
        /// What the weight budget changed, for a graph file compiled now (nil: no budget applied).
        var weight_budget: BudgetReport?
        var allocations_per_inference: Double?
        var steps: Int, nodes: Int
        var rank_conv_choices: [Choice]
        var winograd_choices: [WinogradReport]
        var layers: [Layer]?
        var core_speeds: [CoreSpeedReport]?
        /// Parallel steps of the timed runs that ran on the calling thread alone because steps before
        /// them waited for a descheduled worker (ThreadPool's stall guard).
        var jobs_run_alone_after_stalls: Int
        /// Parallel steps of the timed runs whose caller waited for a worker descheduled mid-task.
        var stalled_jobs: Int
    }
    struct CoreSpeedReport: Encodable { var core: Int, gemm96_us: Double, relative: Double }

    func run() throws {
        guard warmup >= 0, iterations >= 1, batch >= 1 else { throw CLIError("--warmup must be ≥ 0, --iterations and --batch ≥ 1") }
        let loaded = try loadModel(model, choices: runtime.choices(isa: try isa?.resolved()), batch: batch)
        let session = loaded.session
        let compiled = session.model
        // Measured before the timed runs, on the pinned cores, so a slow or busy core shows.
        var coreSpeeds: [CoreSpeed.Reading]?
        if let cores = runtime.cores {
            do { coreSpeeds = try CoreSpeed.measure(cores: cores.cores, isa: compiled.isa) } catch { throw CLIError("--cores: \(error)") }
        }
        guard compiled.graph.inputs.count == 1, compiled.graph.outputs.count == 1 else {
            throw CLIError("\(model): bench needs a model with one input and one output")
        }
        var shape = compiled.graph.inputs[0].shape
        shape[0] = batch
        var rng = SeededRandom(seed: 42)
        let input = rng.uniformArray(count: shape.elementCount, bound: 1)
        let outShape: TensorShape
        do { outShape = try compiled.graph.inferShapes(batch: batch)[compiled.graph.outputs[0]]! } catch { throw CLIError("\(model): \(error)") }
        var output = [Float](repeating: 0, count: outShape.elementCount)
        var times = [Double](repeating: 0, count: iterations)
        var allocations: Double?
        var soloBefore = 0, soloAfter = 0, stallsBefore = 0, stallsAfter = 0
        do {
            try input.withUnsafeBufferPointer { x in
                try output.withUnsafeMutableBufferPointer { y in
                    for _ in 0..<warmup { try session.run(input: x, output: y) }
                    let before = heapAllocationCount()
                    soloBefore = session.pool.jobsRunAloneAfterStalls
                    stallsBefore = session.pool.stalledJobs
                    for i in 0..<iterations {
                        let start = nowMilliseconds()
                        try session.run(input: x, output: y)
                        times[i] = nowMilliseconds() - start
                    }
                    soloAfter = session.pool.jobsRunAloneAfterStalls
                    stallsAfter = session.pool.stalledJobs
                    if let before, let after = heapAllocationCount() {
                        allocations = Double(after - before) / Double(iterations)
                    }
                }
            }
        } catch { throw CLIError("\(model): \(error)") }

        var layers: [Layer]?
        if perLayer {
            session.profiling = true
            session.resetProfile()
            do {
                try input.withUnsafeBufferPointer { x in
                    try output.withUnsafeMutableBufferPointer { y in
                        for _ in 0..<iterations { try session.run(input: x, output: y) }
                    }
                }
            } catch { throw CLIError("\(model): \(error)") }
            session.profiling = false
            let profile = session.profile
            let total = max(profile.reduce(0) { $0 + $1.milliseconds }, 1e-12)
            layers = profile.filter { $0.op != "alias" }.map {
                Layer(name: $0.name, op: $0.op, nodes: $0.nodes, output_shape: $0.outputShape, macs: $0.macs, ms: $0.milliseconds,
                      share: $0.milliseconds / total)
            }
        }

        let sorted = times.sorted()
        func percentile(_ p: Double) -> Double { nearestRankPercentile(sorted, p) }
        let macs: Int
        do { macs = try compiled.macs(batch: batch).values.reduce(0, +) } catch { throw CLIError("\(model): \(error)") }
        let p50 = percentile(50)
        let memory = session.memory!
        let peakRSS = peakResidentBytes()  // before weightBytes, which allocates a little
        let weights = compiled.weightBytes
        let report = Report(
            model: model, name: compiled.graph.name, isa: compiled.isa.rawValue, precompiled: loaded.precompiled,
            threads: runtime.threads, batch: batch, warmup: warmup, iterations: iterations,
            p10_ms: percentile(10), p50_ms: p50, p90_ms: percentile(90), p99_ms: percentile(99), mean_ms: times.reduce(0, +) / Double(times.count),
            min_ms: sorted.first!, max_ms: sorted.last!,
            macs: macs, gflops: 2 * Double(macs) / (p50 * 1e6),
            load_ms: loaded.loadMilliseconds, compile_ms: loaded.compileMilliseconds,
            peak_arena_bytes: memory.arenaBytes, arena_lower_bound_bytes: memory.lowerBoundBytes, scratch_bytes: memory.scratchBytes,
            graph_weight_bytes: weights.graph, resident_weight_bytes: weights.held + weights.prepared, prepared_weight_bytes: weights.prepared, peak_rss_bytes: peakRSS,
            weight_budget: compiled.weightBudget.map { b in
                BudgetReport(budget_bytes: b.budgetBytes, met: b.met, unconstrained_bytes: b.unconstrainedBytes, prepared_bytes: b.preparedBytes,
                             changes: b.changes.map { BudgetChange(node: $0.node, from: $0.from?.name ?? "gemm", to: $0.to?.name ?? "gemm", bytes: $0.bytes, ms: $0.milliseconds) })
            },
            allocations_per_inference: allocations, steps: compiled.ops.count, nodes: loaded.graph.nodes.count,
            rank_conv_choices: compiled.rankConvChoices.map { Choice(node: $0.node, form: $0.form.rawValue, dense_ms: $0.denseMs, separable_ms: $0.separableMs) },
            winograd_choices: compiled.winogradChoices.map {
                WinogradReport(node: $0.node, winograd: $0.winograd, tile: $0.transform?.m, gemm_ms: $0.gemmMs, winograd_ms: $0.winogradMs,
                               winograd4_ms: $0.winograd4Ms)
            },
            layers: layers,
            core_speeds: coreSpeeds?.map { CoreSpeedReport(core: $0.core, gemm96_us: $0.microseconds, relative: $0.relative) },
            jobs_run_alone_after_stalls: soloAfter - soloBefore, stalled_jobs: stallsAfter - stallsBefore)
        if json { try printJSON(report); return }

        print("model    \(model): \(report.name) (\(report.precompiled ? "compiled" : "graph, compiled now") for \(report.isa)), \(report.steps) steps")
        print("threads  \(runtime.threads), batch \(batch), \(iterations) iterations after \(warmup) warm-up")
        if let coreSpeeds {
            print("cores    " + coreSpeeds.map { String(format: "%d (%.2f)", $0.core, $0.relative) }.joined(separator: ", ")
                  + " relative speed on a 96³ GEMM")
        }
        print(String(format: "latency  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  mean %.3f ms  min %.3f ms", report.p50_ms, report.p90_ms, report.p99_ms, report.mean_ms, report.min_ms))
        print(String(format: "spread   p10–p90 %.3f–%.3f ms (p90/p50 %.2f)", report.p10_ms, report.p90_ms, report.p90_ms / report.p50_ms))
        if report.stalled_jobs > 0 {
            print("stalls   \(report.stalled_jobs) parallel steps waited for a descheduled worker (a busy core?); "
                  + "\(report.jobs_run_alone_after_stalls) steps after them ran on one thread")
        }
        print("work     \(formatCount(macs)) MACs, " + String(format: "%.2f GFLOP/s at p50", report.gflops))
        print(String(format: "setup    load %.1f ms, compile %.1f ms", report.load_ms, report.compile_ms))
        print("memory   arena \(formatCount(memory.arenaBytes)) bytes, lower bound \(formatCount(memory.lowerBoundBytes)) bytes ("
              + String(format: "%.3f×", Double(memory.arenaBytes) / Double(max(memory.lowerBoundBytes, 1)))
              + "), scratch \(formatCount(memory.scratchBytes)) bytes")
        print("weights  resident \(formatCount(report.resident_weight_bytes)) bytes ("
              + String(format: "%.2f×", Double(report.resident_weight_bytes) / Double(max(weights.graph, 1)))
              + " the graph's \(formatCount(weights.graph))), prepared by the steps \(formatCount(weights.prepared)) bytes"
              + (peakRSS.map { ", peak RSS \(formatCount($0)) bytes" } ?? ""))
        if let allocations { print(String(format: "heap     %.2f allocations per inference", allocations)) }
        for c in report.rank_conv_choices {
            print("rank     \(c.node): \(c.form)" + (c.dense_ms.map { String(format: " (dense %.3f ms, separable %.3f ms)", $0, c.separable_ms ?? 0) } ?? ""))
        }
        if let b = compiled.weightBudget, !b.changes.isEmpty || !b.met { print(describeWeightBudget(b, first: "budget   ", indent: "         ")) }
        let winograd = report.winograd_choices.filter(\.winograd).count
        if !report.winograd_choices.isEmpty {
            let large = report.winograd_choices.filter { ($0.tile ?? 0) > 2 }.count
            print("winograd \(winograd) of \(report.winograd_choices.count) 3×3/5×5 stride-1 convs, \(large) of them with 4×4 output tiles")
        }
        if let layers {
            print("")
            TextTable(columns: ["step", "kernel", "output", "MACs", "ms", "share"], rightAligned: [3, 4, 5]).print(layers.map {
                [$0.name, $0.op, "[" + $0.output_shape.map(String.init).joined(separator: ",") + "]", formatCount($0.macs),
                 String(format: "%.3f", $0.ms), String(format: "%.1f%%", $0.share * 100)]
            })
        }
    }
}
