import RankEdge

/// A model the trainer can build by name; `options` is the record written into checkpoints and
/// exported metadata, so a model can be rebuilt exactly.
public struct ModelOptions: Sendable, Equatable, Codable {
    public var name: String
    /// Spatial kernel of mini-VGG's convs.
    public var kernel: Int = 5
    public var batchNorm: Bool = true
    public var dropout: Bool = true
    public var classes: Int = 10
    public init(name: String, kernel: Int = 5, batchNorm: Bool = true, dropout: Bool = true, classes: Int = 10) {
        self.name = name; self.kernel = kernel; self.batchNorm = batchNorm; self.dropout = dropout; self.classes = classes
    }

    /// A short description for logs and metadata.
    public var summary: String {
        switch name {
        case "minivgg": "minivgg k=\(kernel)\(batchNorm ? " +bn" : "")\(dropout ? " +dropout" : "")"
        default: name
        }
    }
}

public enum ModelError: Error, CustomStringConvertible {
    case unknownModel(String)
    case badOption(String)
    public var description: String {
        switch self {
        case .unknownModel(let n): "unknown model '\(n)' (known: \(ModelZoo.names.joined(separator: ", ")))"
        case .badOption(let m): m
        }
    }
}

public enum ModelZoo {
    public static let names = ["minivgg", "resnet20", "resnet56", "vgg11"]

    /// Builds a model for 32×32×3 inputs with weights drawn from `seed`.
    public static func build(_ o: ModelOptions, seed: UInt64) throws -> any Module {
        var rng = SeededRandom(seed: mixSeeds(seed, 0x1417))
        guard o.classes >= 2 else { throw ModelError.badOption("--classes must be at least 2") }
        switch o.name {
        case "minivgg":
            guard o.kernel >= 1, o.kernel % 2 == 1, o.kernel <= 15 else {
                throw ModelError.badOption("mini-VGG kernel must be odd and between 1 and 15, got \(o.kernel)")
            }
            return miniVGG(kernel: o.kernel, batchNorm: o.batchNorm, dropout: o.dropout, classes: o.classes, rng: &rng)
        case "resnet20": return cifarResNet(blocksPerStage: 3, classes: o.classes, rng: &rng)
        case "resnet56": return cifarResNet(blocksPerStage: 9, classes: o.classes, rng: &rng)
        case "vgg11": return vgg11(classes: o.classes, rng: &rng)
        default: throw ModelError.unknownModel(o.name)
        }
    }
}
