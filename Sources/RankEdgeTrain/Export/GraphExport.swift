import RankEdge

/// Metadata keys the trainer writes into exported graphs (besides `Normalization`'s input keys).
public enum TrainerMetadataKey {
    public static let model = "rankedge.train.model"
    public static let recipe = "rankedge.train.recipe"
    public static let steps = "rankedge.train.steps"
    public static let testAccuracy = "rankedge.train.test_accuracy"
    public static let testCount = "rankedge.train.test_count"
    /// How each rank-L conv ran in training (`name=reconstruct,…`), since the choice can be measured.
    public static let rankForms = "rankedge.train.rank_forms"
}

/// The model as a runtime graph: every module emits its own nodes under its own name (BN stays a
/// batchNorm node for the compiler to fold; dropout stays as the identity at inference), weights are
/// copied in their runtime layouts, and the input is NHWC [1, 32, 32, 3].
public func exportGraph(_ model: any Module, name: String, inputShape: [Int] = [1, 32, 32, 3],
                        classNames: [String], normalization: Normalization?, metadata: [String: String] = [:]) -> Graph {
    var builder = GraphBuilder(name: name, shape: inputShape)
    let output = model.export(into: &builder, input: "input")
    var meta = metadata
    if let normalization { meta.merge(normalization.metadata) { _, new in new } }
    return builder.build(outputs: [output], classNames: classNames, metadata: meta)
}
