import RankEdge

/// Reads a .rkg file, turning any format error into the one-line message the CLI prints.
func loadGraph(_ path: String) throws -> Graph {
    do {
        return try RKGFile.read(path: path)
    } catch {
        throw CLIError("\(error)")
    }
}
