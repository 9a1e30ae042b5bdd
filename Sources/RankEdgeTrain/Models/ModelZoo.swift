import RankEdge
import RankEdgeZoo

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
    public static let names = ["minivgg", "resnet20", "resnet56", "vgg11", "vgg16"]

    /// The model as a graph from the runtime's zoo (one set of architectures for `zoo`, `train` and
    /// the runtime), its weights drawn for training from scratch by `initializeForTraining`.
    /// Inputs are 32×32×3 images.
    public static func build(_ o: ModelOptions, seed: UInt64) throws -> Graph {
        guard o.classes >= 2 else { throw ModelError.badOption("--classes must be at least 2") }
        if let dso = o.dso, !(dso >= 0 && dso.isFinite) { throw ModelError.badOption("--dso must be a number ≥ 0") }
        if let dso = o.dso, dso > 0, !o.conv.isTucker {
            throw ModelError.badOption("--dso regularises Tucker factors: it needs --conv tucker2:RATIO or elrt:RATIO, not \(o.conv)")
        }
        if o.conv != .dense, o.name == "minivgg", o.kernel == 1 {
            throw ModelError.badOption("--conv \(o.conv) factors k×k convs; a mini-VGG with --kernel 1 has none")
        }
        let variant: ZooVariant, ratio: Double
        switch o.conv {
        case .dense: (variant, ratio) = (.dense, 2)
        case .rank(let l):
            let k = o.name == "minivgg" ? o.kernel : 3
            guard l <= k else { throw ModelError.badOption("--conv rank:\(l) exceeds the kernel size \(k)") }
            (variant, ratio) = (.rank(l), 2)
        case .tucker2(let r), .elrt(let r): (variant, ratio) = (.tucker2, r)
        }
        var graph: Graph
        do {
            switch o.name {
            case "minivgg":
                guard o.kernel >= 1, o.kernel % 2 == 1, o.kernel <= 15 else {
                    throw ModelError.badOption("mini-VGG kernel must be odd and between 1 and 15, got \(o.kernel)")
                }
                graph = buildMiniVGG(MiniVGGOptions(kernel: o.kernel, batchNorm: o.batchNorm, dropout: o.dropout, variant: variant,
                                                    ratio: ratio, classes: o.classes))
                graph.name = "minivgg-k\(o.kernel)"
            case "resnet20", "resnet56", "vgg11", "vgg16":
                graph = try Zoo.build(o.name, variant: variant, ratio: ratio, classes: o.classes)
                graph.metadata = [:]
            default: throw ModelError.unknownModel(o.name)
            }
        } catch let error as ZooError { throw ModelError.badOption(error.description) }
        for i in graph.nodes.indices {
            guard var note = graph.nodes[i].provenance else { continue }
            if case .elrt = o.conv, note.hasPrefix("tucker2 of") { note = "elrt" + note.dropFirst("tucker2".count) }
            if o.orthogonality > 0 { note += ", dso λ=\(o.orthogonality)" }
            graph.nodes[i].provenance = note + ", trained from scratch"
        }
        for i in graph.nodes.indices where graph.nodes[i].op.kind == "rankConv2d" {
            let w = graph.weights[graph.nodes[i].inputs[1]]!.shape
            graph.nodes[i].provenance = "rank-\(w[2]) \(w[3])x\(w[3]) conv trained in factored form"
        }
        return try initializeForTraining(graph, seed: seed)
    }
}
