import Foundation

/// Writes one line to standard error (diagnostics and progress, keeping stdout for results).
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
