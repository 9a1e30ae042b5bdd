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
        // Ctrl-C or a kill while a file is being written removes the temporary file before dying.
        PendingTemporaryFiles.cleanUpOnSignals()
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
            printError("rankedge: error: \(negativeCountMessage(prefix, arguments: CommandLine.arguments) ?? prefix)")
            exit(1)
        }
    }
}

/// ArgumentParser reads `--batch -5` as a flag missing its value; say what is really wrong.
func negativeCountMessage(_ message: String, arguments: [String]) -> String? {
    guard message.hasPrefix("Missing value for '--") else { return nil }
    let flag = String(message.dropFirst("Missing value for '".count).prefix { $0 != " " && $0 != "'" })
    guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count else { return nil }
    let value = arguments[i + 1]
    guard value.count > 1, value.first == "-", Double(value) != nil else { return nil }
    if flag == "--memory-budget" { return "\(flag) must be positive (megabytes, or a multiple of the graph's weights such as 1.3x), got \(value)" }
    return "\(flag) must be ≥ 1 (a count), got \(value)"
}
