import ArgumentParser
import RankEdge
import RankEdgeZoo

struct ZooCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "Reference architectures with seeded random weights, to measure a board without a trained model.",
        subcommands: [List.self, Build.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the zoo's models.")
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable { var name: String; var summary: String }
        func run() throws {
            if json { try printJSON(Zoo.entries.map { Row(name: $0.name, summary: $0.summary) }); return }
            TextTable(columns: ["model", "description"]).print(Zoo.entries.map { [$0.name, $0.summary] })
            print("\nvariants: dense, lrd (SVD + Tucker-2 at --ratio), tucker2 (Tucker-2 of k×k convs only), merged (residual nets), branched:N, rank:L")
        }
    }

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a zoo model and write it as a .rkg file.",
            discussion: """
            Variants: dense; lrd = SVD for 1×1 convs and linears and Tucker-2 for k×k convs, with ranks \
            from the METHODS.md §3 formulas at --ratio (parameter compression); merged = bottleneck widths \
            set to the Tucker ranks, same depth (residual nets); branched:N = Tucker-2 with an N-group core; \
            rank:L = every k×k conv as a rank-L spatial conv (rankConv2d).
            """
        )
        @Argument(help: "Model name (see `rankedge zoo list`).") var name: String
        @Option(help: "dense | lrd | tucker2 | merged | branched:N | rank:L") var variant = "dense"
        @Option(help: "Target parameter compression for lrd / merged / branched.") var ratio = 2.0
        @Option(help: "Seed of the random weights.") var seed: UInt64 = 0
        @Option(name: .shortAndLong, help: "Output .rkg file.") var output: String

        func run() throws {
            guard let v = ZooVariant(parsing: variant) else {
                throw CLIError("unknown variant '\(variant)' (dense, lrd, tucker2, merged, branched:N, rank:L)")
            }
            let graph: Graph
            do { graph = try Zoo.build(name, variant: v, ratio: ratio, seed: seed) } catch { throw CLIError("\(error)") }
            do { try RKGFile.write(graph, to: output) } catch { throw CLIError("\(output): \(error)") }
            let total = try graph.cost().total
            print("wrote \(output): \(name) \(v), \(formatCount(total.params)) params, \(formatCount(total.macs)) MACs")
        }
    }
}
