import RankEdge
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A model ready to run on the fast runtime, from either a graph file (compiled now) or a compiled
/// file (loaded as it is), with what each stage cost.
struct LoadedModel {
    let path: String
    /// The graph as stored in the file (the optimised one for a compiled file), without its weight
    /// values: the session's steps hold those.
    let graph: Graph
    let session: InferenceSession
    let precompiled: Bool
    /// Reading and decoding the file, and for a compiled file building the kernels' weights.
    let loadMilliseconds: Double
    /// Graph passes, rank-form measurements and prepacking (0 for a compiled file), plus binding
    /// to memory for the first batch.
    let compileMilliseconds: Double
}

func nowMilliseconds() -> Double { Double(monotonicNanoseconds()) / 1e6 }

/// Loads `path` for the runtime; every failure is one line naming the file or the node.
func loadModel(_ path: String, choices: RuntimeChoices, batch: Int? = nil) throws -> LoadedModel {
    let (isa, form, winograd) = (choices.isa, choices.rankForm, choices.winograd)
    if !choices.cores.isEmpty {
        do { try ThreadPool.shared.pin(cores: choices.cores) } catch { throw CLIError("--cores: \(error)") }
    }
    let start = nowMilliseconds()
    let contents: RKGFile.Contents
    do { contents = try RKGFile.readContents(path: path) } catch { throw CLIError("\(error)") }
    do {
        if CompiledModelFile.isCompiled(contents) {
            let model = try CompiledModelFile.model(from: consume contents)
            if let isa, isa != model.isa {
                throw CLIError("\(path) is compiled for \(model.isa.rawValue); --isa \(isa.rawValue) needs a recompile")
            }
            let session = try InferenceSession(model: model, options: .init(threads: choices.threads, maxMemoryBytes: choices.maxMemoryBytes))
            let loaded = nowMilliseconds()
            try session.prepare(batch: batch ?? model.graph.inputs.first?.shape[0] ?? 1)
            return LoadedModel(path: path, graph: model.graph, session: session, precompiled: true,
                               loadMilliseconds: loaded - start, compileMilliseconds: nowMilliseconds() - loaded)
        }
        let loaded = nowMilliseconds()
        let cache = MeasurementCacheFile.open(refresh: choices.remeasure)
        let session = try InferenceSession(graph: contents.graph, options: .init(threads: choices.threads, isa: isa, rankConvForm: form,
                                                                                 fuseChains: choices.fuseChains, winograd: winograd,
                                                                                 measurementCache: cache, maxMemoryBytes: choices.maxMemoryBytes,
                                                                                 weightBudget: choices.weightBudget))
        MeasurementCacheFile.save(cache)
        try session.prepare(batch: batch ?? contents.graph.inputs.first?.shape[0] ?? 1)
        // The session's steps hold the weights; what the caller keeps of the graph is its shapes and names.
        return LoadedModel(path: path, graph: contents.graph.withoutWeightValues(), session: session, precompiled: false,
                           loadMilliseconds: loaded - start, compileMilliseconds: nowMilliseconds() - loaded)
    } catch let error as CLIError {
        throw error
    } catch {
        throw CLIError("\(path): \(error)")
    }
}
