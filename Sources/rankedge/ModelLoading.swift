import RankEdge

/// Reads a .rkg file, turning any format error into the one-line message the CLI prints.
/// `needsWeights`: refuse a compiled file, whose graph keeps its weights' shapes only.
func loadGraph(_ path: String, needsWeights: Bool = true) throws -> Graph {
    let graph: Graph
    do { graph = try RKGFile.read(path: path) } catch { throw CLIError("\(error)") }
    if needsWeights && graph.hasShapeOnlyWeights {
        throw CLIError("\(path) is a compiled model: its weights are stored only in the kernels' layouts; this command needs the graph file it was compiled from")
    }
    return graph
}

/// Runs a file read or write from RankEdge's IO helpers, turning its error (which names the file)
/// into the CLI's one-line message.
func cliFileIO<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw CLIError("\(error)")
    }
}
