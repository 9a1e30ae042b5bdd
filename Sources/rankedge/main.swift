import ArgumentParser
import RankEdge

@main
struct RankEdgeCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rankedge",
        abstract: "Low-rank CNN runtime and trainer.",
        subcommands: []
    )
}
