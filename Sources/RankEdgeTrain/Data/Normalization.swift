import Foundation
import RankEdge

/// Per-channel input normalisation: x = (pixel/255 − mean[c]) / std[c]. The constants travel with
/// the model in graph metadata under `rankedge.input_mean` and `rankedge.input_std` (comma-separated,
/// RGB order, for pixels scaled to 0…1), so `eval` and `run` normalise raw images identically.
public struct Normalization: Sendable, Codable, Equatable {
    public static let meanKey = InputNormalization.meanKey
    public static let stdKey = InputNormalization.stdKey
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }

    /// Mean and standard deviation per channel over every pixel of the split.
    public static func measure(_ split: CIFAR10Split) -> Normalization {
        var sum = [Double](repeating: 0, count: 3), sq = [Double](repeating: 0, count: 3)
        split.pixels.withUnsafeBufferPointer { p in
            for r in 0..<split.count {
                for c in 0..<3 {
                    var s: UInt64 = 0, q: UInt64 = 0
                    let base = r * 3072 + c * 1024
                    for i in 0..<1024 { let v = UInt64(p[base + i]); s += v; q += v * v }
                    sum[c] += Double(s); sq[c] += Double(q)
                }
            }
        }
        let n = Double(split.count * 1024)
        let mean = (0..<3).map { sum[$0] / n / 255 }
        let std = (0..<3).map { ((sq[$0] / n / (255 * 255)) - mean[$0] * mean[$0]).squareRoot() }
        return Normalization(mean: mean.map(Float.init), std: std.map { Float(max($0, 1e-6)) })
    }

    public var metadata: [String: String] {
        [Self.meanKey: mean.map { "\($0)" }.joined(separator: ","), Self.stdKey: std.map { "\($0)" }.joined(separator: ",")]
    }

    /// Reads the constants back from graph metadata; nil when the graph has none.
    public init?(metadata: [String: String]) {
        guard let m = metadata[Self.meanKey], let s = metadata[Self.stdKey] else { return nil }
        let mean = m.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        let std = s.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 > 0 }) else { return nil }
        self.init(mean: mean, std: std)
    }

    /// Normalised NHWC floats of records `indices` (no augmentation).
    public func images(_ split: CIFAR10Split, indices: [Int]) -> TensorStorage {
        let out = TensorStorage(uninitialized: indices.count * 3072)
        for (b, idx) in indices.enumerated() {
            writeImage(split, index: idx, into: out.pointer + b * 3072, cropY: 4, cropX: 4, flip: false)
        }
        return out
    }

    /// Writes one normalised NHWC image, cropped at (cropY, cropX) from the image zero-padded by 4
    /// on each side (offsets 0…8; 4 is the original position) and optionally mirrored.
    /// Padding is 0 in normalised space, i.e. the mean colour.
    func writeImage(_ split: CIFAR10Split, index: Int, into dst: UnsafeMutablePointer<Float>, cropY: Int, cropX: Int, flip: Bool) {
        let scale = (0..<3).map { 1 / (255 * std[$0]) }, shift = (0..<3).map { -mean[$0] / std[$0] }
        split.pixels.withUnsafeBufferPointer { p in
            let base = index * 3072
            for y in 0..<32 {
                let sy = y + cropY - 4
                for x in 0..<32 {
                    let sx = (flip ? 31 - x : x) + cropX - 4
                    let d = dst + (y * 32 + x) * 3
                    if sy < 0 || sy >= 32 || sx < 0 || sx >= 32 { d[0] = 0; d[1] = 0; d[2] = 0; continue }
                    for c in 0..<3 { d[c] = Float(p[base + c * 1024 + sy * 32 + sx]) * scale[c] + shift[c] }
                }
            }
        }
    }
}
