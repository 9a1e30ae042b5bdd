/// The release, and the file formats this build reads and writes.
public enum RankEdgeVersion {
    public static let release = "0.15.0"
    public static var description: String {
        "rankedge \(release) (graph .rkg format \(RKGFile.formatVersion), compiled models v\(CompiledModelFile.version))"
    }
}
