/// One problem found in a graph; `node` names the node it concerns, when there is one.
public struct GraphProblem: Hashable, Sendable, CustomStringConvertible {
    public var node: String?
    public var message: String
    public init(node: String?, _ message: String) { self.node = node; self.message = message }
    public var description: String { node.map { "node '\($0)': \(message)" } ?? message }
}

/// Every problem validation found, so a user fixes a graph in one pass rather than one error at a time.
public struct GraphValidationError: Error, Sendable, CustomStringConvertible {
    public var problems: [GraphProblem]
    public init(problems: [GraphProblem]) { self.problems = problems }
    public var description: String {
        problems.count == 1
            ? "invalid graph: \(problems[0])"
            : "invalid graph (\(problems.count) problems): " + problems.map { $0.description }.joined(separator: "; ")
    }
}
