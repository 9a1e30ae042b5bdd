import Foundation
import RankEdge
import RankEdgeTrain

/// The input normalisation a command feeds a graph: --mean/--std when given, else the graph's
/// metadata, else measured on the images (with a note, since the model's own is unknown).
func chooseNormalization(_ graph: Graph, model: String, mean: String?, std: String?, images: LabeledImages) throws -> Normalization {
    let channels = images.channels
    if let mean, let std {
        let m = mean.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        let s = std.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard m.count == channels, s.count == channels, s.allSatisfy({ $0 > 0 }) else {
            throw CLIError("--mean and --std need \(channels) comma-separated numbers each, std > 0")
        }
        return Normalization(mean: m, std: s)
    }
    if let n = Normalization(metadata: graph.metadata), n.mean.count == channels { return n }
    let measured = Normalization.measure(images)
    printError("note: \(model) records no input mean/std; using the training images' own (pass --mean/--std to override)")
    return measured
}
