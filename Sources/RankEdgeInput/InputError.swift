import RankEdge

/// A malformed input image or normalisation record (`PPMImage`, `InputNormalization`).
public struct InputError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
