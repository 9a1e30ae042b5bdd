import ArgumentParser
import RankEdge
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct RankEdgeCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rankedge",
        abstract: "RankEdge: a runtime for low-rank CNNs on CPUs, and the trainer that makes them.",
        version: RankEdgeVersion.description,
        subcommands: [DemoCommand.self, InfoCommand.self, ZooCommand.self, CompileCommand.self, RunCommand.self,
                      BenchCommand.self, GemmBenchCommand.self, ImportCommand.self, ExportCommand.self,
                      CompressCommand.self, TrainCommand.self, FinetuneCommand.self, EvalCommand.self, TrainBenchCommand.self]
    )
}

/// Every failure, a bad flag included, ends as one line on stderr and exit status 1; help exits 0.
@main
enum Entry {
    static func main() {
        do {
            var command = try RankEdgeCLI.parseAsRoot()
            try command.run()
        } catch {
            let code = RankEdgeCLI.exitCode(for: error)
            if code == .success {
                print(RankEdgeCLI.fullMessage(for: error))
                exit(0)
            }
            let message = RankEdgeCLI.message(for: error)
            let firstLine = message.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? "\(error)"
            let prefix = firstLine.hasPrefix("Error: ") ? String(firstLine.dropFirst(7)) : firstLine
            printError("rankedge: error: \(prefix)")
            exit(1)
        }
    }
}
