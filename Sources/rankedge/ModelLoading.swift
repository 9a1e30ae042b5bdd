import RankEdge

/// Reads a .rkg file, turning any format error into the one-line message the CLI prints.
func loadGraph(_ path: String) throws -> Graph {
    do {
        return try RKGFile.read(path: path)
    } catch {
        throw CLIError("\(error)")
    }
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
