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
    /// The form of every k×k conv.
    public var conv: ConvForm = .dense
    /// λ of the DSO regulariser on Tucker factors; nil: the form's default (on for ELRT only).
    public var dso: Float?
    public init(name: String, kernel: Int = 5, batchNorm: Bool = true, dropout: Bool = true, classes: Int = 10,
                conv: ConvForm = .dense, dso: Float? = nil) {
        self.name = name; self.kernel = kernel; self.batchNorm = batchNorm; self.dropout = dropout; self.classes = classes
        self.conv = conv; self.dso = dso
    }

    public var orthogonality: Float { dso ?? conv.defaultOrthogonality }

    /// A short description for logs and metadata.
    public var summary: String {
        let base = switch name {
        case "minivgg": "minivgg k=\(kernel)\(batchNorm ? " +bn" : "")\(dropout ? " +dropout" : "")"
        default: name
        }
        return base + (conv == .dense ? "" : " \(conv)") + (orthogonality > 0 ? " dso=\(orthogonality)" : "")
    }

    enum CodingKeys: String, CodingKey { case name, kernel, batchNorm, dropout, classes, conv, dso }

    /// Checkpoints written before the low-rank forms existed have no `conv`/`dso`: they are dense.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        kernel = try c.decode(Int.self, forKey: .kernel)
        batchNorm = try c.decode(Bool.self, forKey: .batchNorm)
        dropout = try c.decode(Bool.self, forKey: .dropout)
        classes = try c.decode(Int.self, forKey: .classes)
        conv = try c.decodeIfPresent(ConvForm.self, forKey: .conv) ?? .dense
        dso = try c.decodeIfPresent(Float.self, forKey: .dso)
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

    /// Builds a model for 32×32×3 inputs with weights drawn from `seed`; rank-L convs train in
    /// `rankExecution` form.
    public static func build(_ o: ModelOptions, seed: UInt64, rankExecution: RankExecution = .auto) throws -> any Module {
        var rng = SeededRandom(seed: mixSeeds(seed, 0x1417))
        guard o.classes >= 2 else { throw ModelError.badOption("--classes must be at least 2") }
        if let dso = o.dso, !(dso >= 0 && dso.isFinite) { throw ModelError.badOption("--dso must be a number ≥ 0") }
        if let dso = o.dso, dso > 0, !o.conv.isTucker {
            throw ModelError.badOption("--dso regularises Tucker factors: it needs --conv tucker2:RATIO or elrt:RATIO, not \(o.conv)")
        }
        if o.conv != .dense, o.name == "minivgg", o.kernel == 1 {
            throw ModelError.badOption("--conv \(o.conv) factors k×k convs; a mini-VGG with --kernel 1 has none")
        }
        let convs = ConvFactory(form: o.conv, orthogonality: o.orthogonality, rankExecution: rankExecution)
        switch o.name {
        case "minivgg":
            guard o.kernel >= 1, o.kernel % 2 == 1, o.kernel <= 15 else {
                throw ModelError.badOption("mini-VGG kernel must be odd and between 1 and 15, got \(o.kernel)")
            }
            return try miniVGG(kernel: o.kernel, batchNorm: o.batchNorm, dropout: o.dropout, classes: o.classes, convs: convs, rng: &rng)
        case "resnet20": return try cifarResNet(blocksPerStage: 3, classes: o.classes, convs: convs, rng: &rng)
        case "resnet56": return try cifarResNet(blocksPerStage: 9, classes: o.classes, convs: convs, rng: &rng)
        case "vgg11": return try vgg11(classes: o.classes, convs: convs, rng: &rng)
        default: throw ModelError.unknownModel(o.name)
        }
    }
}
