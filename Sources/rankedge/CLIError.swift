/// A failure the user can act on; its description is the whole one-line message.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
