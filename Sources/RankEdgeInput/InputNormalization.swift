import RankEdge

/// How raw 8-bit pixels become the model's input: x = (pixel/255 − mean[c]) / std[c]. The trainer
/// records its per-channel constants in the graph metadata, so every tool feeds a model the way it
/// was trained.
public struct InputNormalization: Sendable, Equatable {
    public static let meanKey = "rankedge.input_mean"
    public static let stdKey = "rankedge.input_std"

    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }

    /// Pixels scaled to 0…1 with no shift, for graphs that record no constants.
    public static func unit(channels: Int) -> InputNormalization {
        InputNormalization(mean: [Float](repeating: 0, count: channels), std: [Float](repeating: 1, count: channels))
    }

    /// The constants in `graph.metadata`, or `unit` when absent; malformed values are an error.
    public init(graph: Graph, channels: Int) throws {
        guard let m = graph.metadata[Self.meanKey], let s = graph.metadata[Self.stdKey] else {
            self = .unit(channels: channels)
            return
        }
        func parse(_ text: String, _ key: String) throws -> [Float] {
            let values = text.split(separator: ",").map { Float($0.trimmingSpaces()) }
            guard values.count == channels, values.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                throw InputError("metadata '\(key)' = '\(text)' is not \(channels) comma-separated numbers")
            }
            return values.map { $0! }
        }
        mean = try parse(m, Self.meanKey)
        std = try parse(s, Self.stdKey)
        guard std.allSatisfy({ $0 > 0 }) else { throw InputError("metadata '\(Self.stdKey)' has a non-positive value") }
    }

    /// Writes the constants into graph metadata in the form `init(graph:channels:)` reads.
    public func record(in graph: inout Graph) {
        graph.metadata[Self.meanKey] = mean.map { "\($0)" }.joined(separator: ",")
        graph.metadata[Self.stdKey] = std.map { "\($0)" }.joined(separator: ",")
    }

    /// HWC bytes of one image into an NHWC float tensor of batch 1.
    public func tensor(hwc bytes: [UInt8], height: Int, width: Int) -> Tensor {
        let c = mean.count
        var data = [Float](repeating: 0, count: bytes.count)
        for i in 0..<bytes.count {
            let ch = i % c
            data[i] = (Float(bytes[i]) / 255 - mean[ch]) / std[ch]
        }
        return Tensor(shape: [1, height, width, c], data: data)
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
