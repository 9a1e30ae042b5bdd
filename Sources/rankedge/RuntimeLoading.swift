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
    /// The graph as stored in the file (the optimised one for a compiled file).
    let graph: Graph
    let session: InferenceSession
    let precompiled: Bool
    /// Reading and decoding the file, and for a compiled file building the kernels' weights.
    let loadMilliseconds: Double
    /// Graph passes, rank-form measurements and prepacking (0 for a compiled file), plus binding
    /// to memory for the first batch.
    let compileMilliseconds: Double
}

/// Options every runtime command shares.
struct RuntimeChoices {
    var threads = 1
    var isa: String?
    var rankForm = "measure"
    var fuseChains = false
    var winograd = "measure"

    func winogradPolicy() throws -> WinogradPolicy {
        guard let policy = WinogradPolicy(rawValue: winograd) else {
            throw CLIError("--winograd must be one of \(WinogradPolicy.allCases.map(\.rawValue).joined(separator: ", ")), got '\(winograd)'")
        }
        return policy
    }

    func parsed() throws -> (GEMMISA?, RankConvFormPolicy) {
        guard threads >= 1, threads <= 256 else { throw CLIError("--threads must be between 1 and 256, got \(threads)") }
        var isa: GEMMISA?
        if let name = self.isa, name != "native" {
            do { isa = try GEMMISA(validating: name) } catch { throw CLIError("\(error)") }
        } else if self.isa == "native" {
            isa = GEMMISA.native
        }
        guard let form = RankConvFormPolicy(rawValue: rankForm) else {
            throw CLIError("--rank-form must be one of \(RankConvFormPolicy.allCases.map(\.rawValue).joined(separator: ", ")), got '\(rankForm)'")
        }
        return (isa, form)
    }
}

func nowMilliseconds() -> Double { Double(monotonicNanoseconds()) / 1e6 }

/// Loads `path` for the runtime; every failure is one line naming the file or the node.
func loadModel(_ path: String, choices: RuntimeChoices, batch: Int? = nil) throws -> LoadedModel {
    let (isa, form) = try choices.parsed()
    let winograd = try choices.winogradPolicy()
    let start = nowMilliseconds()
    let contents: RKGFile.Contents
    do { contents = try RKGFile.readContents(path: path) } catch { throw CLIError("\(error)") }
    do {
        if CompiledModelFile.isCompiled(contents) {
            let model = try CompiledModelFile.model(from: contents)
            if let isa, isa != model.isa {
                throw CLIError("\(path) is compiled for \(model.isa.rawValue); --isa \(isa.rawValue) needs a recompile")
            }
            let session = try InferenceSession(model: model, options: .init(threads: choices.threads))
            let loaded = nowMilliseconds()
            try session.prepare(batch: batch ?? model.graph.inputs.first?.shape[0] ?? 1)
            return LoadedModel(path: path, graph: model.graph, session: session, precompiled: true,
                               loadMilliseconds: loaded - start, compileMilliseconds: nowMilliseconds() - loaded)
        }
        let loaded = nowMilliseconds()
        let session = try InferenceSession(graph: contents.graph, options: .init(threads: choices.threads, isa: isa, rankConvForm: form,
                                                                                 fuseChains: choices.fuseChains, winograd: winograd))
        try session.prepare(batch: batch ?? contents.graph.inputs.first?.shape[0] ?? 1)
        return LoadedModel(path: path, graph: contents.graph, session: session, precompiled: false,
                           loadMilliseconds: loaded - start, compileMilliseconds: nowMilliseconds() - loaded)
    } catch let error as CLIError {
        throw error
    } catch {
        throw CLIError("\(path): \(error)")
    }
}
