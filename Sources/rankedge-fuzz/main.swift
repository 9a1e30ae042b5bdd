// rankedge-fuzz: coverage-guided fuzzing of every reader of untrusted files (docs/RELIABILITY.md,
// "Fuzzing"). One executable serves two builds:
//
//   built with -sanitize=fuzzer -DRANKEDGE_LIBFUZZER (tools/fuzz.sh):
//     rankedge-fuzz TARGET [libFuzzer flags and corpus folders]     runs libFuzzer on TARGET
//   built normally (swift build):
//     rankedge-fuzz TARGET|all [files or folders]                   replays inputs, default fuzz/corpus/TARGET
//     rankedge-fuzz seed DIR                                        writes the seed corpus into DIR/TARGET/
//
// Without the sanitizer the replay is the regression run: every committed input, crashes found
// earlier included, must come back as a value or a thrown error.
import Foundation
#if RANKEDGE_LIBFUZZER
import CLibFuzzer
#endif

func usage() -> Never {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
    FileHandle.standardError.write(Data("""
    usage: rankedge-fuzz \(names)|all [inputs...]   (libFuzzer build: rankedge-fuzz TARGET [libFuzzer flags] [corpus...])
           rankedge-fuzz seed DIR
    targets:
    \(FuzzTarget.allCases.map { "  \($0.rawValue): \($0.job)" }.joined(separator: "\n"))

    """.utf8))
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { usage() }

#if RANKEDGE_LIBFUZZER
guard let target = FuzzTarget(rawValue: arguments[1]) else { usage() }
exit(LibFuzzer.run(target, arguments: [arguments[0]] + arguments.dropFirst(2)))
#else
switch arguments[1] {
case "seed":
    guard arguments.count == 3 else { usage() }
    do { try SeedCorpus.write(into: arguments[2]) } catch {
        FileHandle.standardError.write(Data("rankedge-fuzz: \(error)\n".utf8)); exit(1)
    }
case "all":
    for target in FuzzTarget.allCases { Replay.run(target, paths: ["fuzz/corpus/\(target.rawValue)"]) }
default:
    guard let target = FuzzTarget(rawValue: arguments[1]) else { usage() }
    Replay.run(target, paths: arguments.count > 2 ? Array(arguments.dropFirst(2)) : ["fuzz/corpus/\(target.rawValue)"])
}
#endif
