import Foundation
import RankEdge
import RankEdgeInput

/// Per-channel input normalisation: x = (pixel/255 − mean[c]) / std[c], one constant per image
/// channel. The constants travel with the model in graph metadata under `rankedge.input_mean` and
/// `rankedge.input_std` (comma-separated, channel order, for pixels scaled to 0…1), so `eval` and
/// `run` normalise raw images identically.
public struct Normalization: Sendable, Codable, Equatable {
    public static let meanKey = InputNormalization.meanKey
    public static let stdKey = InputNormalization.stdKey
    /// Zero padding on each side of an image before the random crop (`writeImage`).
    public static let cropPadding = 4
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }

    public var channels: Int { mean.count }

    /// Mean and standard deviation per channel over every pixel of the images.
    public static func measure(_ images: LabeledImages) -> Normalization {
        let channels = images.channels, plane = images.height * images.width, size = images.imageSize
        guard images.count > 0 else {
            return Normalization(mean: [Float](repeating: 0, count: channels), std: [Float](repeating: 1, count: channels))
        }
        var sum = [Double](repeating: 0, count: channels), sq = [Double](repeating: 0, count: channels)
        images.pixels.withUnsafeBufferPointer { p in
            for r in 0..<images.count {
                for c in 0..<channels {
                    var s: UInt64 = 0, q: UInt64 = 0
                    let base = r * size + c * plane
                    for i in 0..<plane { let v = UInt64(p[base + i]); s += v; q += v * v }
                    sum[c] += Double(s); sq[c] += Double(q)
                }
            }
        }
        let n = Double(images.count * plane)
        let mean = (0..<channels).map { sum[$0] / n / 255 }
        let std = (0..<channels).map { ((sq[$0] / n / (255 * 255)) - mean[$0] * mean[$0]).squareRoot() }
        return Normalization(mean: mean.map(Float.init), std: std.map { Float(max($0, 1e-6)) })
    }

    public var metadata: [String: String] {
        [Self.meanKey: mean.map { "\($0)" }.joined(separator: ","), Self.stdKey: std.map { "\($0)" }.joined(separator: ",")]
    }

    /// Reads the constants back from graph metadata (any number of channels, the same for both
    /// keys); nil when the graph has none or they do not parse.
    public init?(metadata: [String: String]) {
        guard let m = metadata[Self.meanKey], let s = metadata[Self.stdKey] else { return nil }
        func parse(_ text: String) -> [Float]? {
            let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0?.isFinite == true }) else { return nil }
            return values.map { $0! }
        }
        guard let mean = parse(m), let std = parse(s), mean.count == std.count, std.allSatisfy({ $0 > 0 }) else { return nil }
        self.init(mean: mean, std: std)
    }

    /// Normalised NHWC floats of images `indices` (no augmentation).
    public func images(_ images: LabeledImages, indices: [Int]) -> TensorStorage {
        let size = images.imageSize
        let out = TensorStorage(uninitialized: indices.count * size)
        for (b, idx) in indices.enumerated() {
            writeImage(images, index: idx, into: out.pointer + b * size, cropY: Self.cropPadding, cropX: Self.cropPadding, flip: false)
        }
        return out
    }

    /// Writes one normalised H×W×C image, cropped at (cropY, cropX) from the image zero-padded by
    /// `cropPadding` (4) on each side (offsets 0…8; 4 is the original position) and optionally
    /// mirrored. Padding is 0 in normalised space, i.e. the mean colour.
    func writeImage(_ images: LabeledImages, index: Int, into dst: UnsafeMutablePointer<Float>, cropY: Int, cropX: Int, flip: Bool) {
        let channels = images.channels, height = images.height, width = images.width, plane = height * width
        precondition(channels == mean.count && channels == std.count,
                     "Normalization has \(mean.count) channels, the images \(channels)")
        let pad = Self.cropPadding
        let scale = (0..<channels).map { 1 / (255 * std[$0]) }, shift = (0..<channels).map { -mean[$0] / std[$0] }
        images.pixels.withUnsafeBufferPointer { p in
            let base = index * images.imageSize
            for y in 0..<height {
                let sy = y + cropY - pad
                for x in 0..<width {
                    let sx = (flip ? width - 1 - x : x) + cropX - pad
                    let d = dst + (y * width + x) * channels
                    if sy < 0 || sy >= height || sx < 0 || sx >= width {
                        for c in 0..<channels { d[c] = 0 }
                        continue
                    }
                    for c in 0..<channels { d[c] = Float(p[base + c * plane + sy * width + sx]) * scale[c] + shift[c] }
                }
            }
        }
    }
}
