/// An 8-bit RGB image, rows top to bottom, pixels red, green, blue (HWC): what every decoder gives
/// and what preprocessing (resize, center crop, normalisation) takes.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes for \(width)x\(height)")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// The shorter side scaled to `shorter`, the other in proportion (truncated, at least 1), as
    /// torchvision's `Resize(int)` does.
    public func resized(shorterSide shorter: Int) -> RGBImage {
        precondition(shorter >= 1, "resized: side \(shorter)")
        let (h, w) = height <= width ? (shorter, max(1, Int(Double(shorter) * Double(width) / Double(height))))
                                     : (max(1, Int(Double(shorter) * Double(height) / Double(width))), shorter)
        return resized(height: h, width: w)
    }

    /// Bilinear resampling with the filter widened by the scale when shrinking (antialiased), the
    /// way PIL resizes for torchvision's transforms; one separable pass per axis, in float, rounded
    /// to 8 bits at the end.
    public func resized(height newHeight: Int, width newWidth: Int) -> RGBImage {
        precondition(newHeight >= 1 && newWidth >= 1, "resized: \(newHeight)x\(newWidth)")
        if newHeight == height && newWidth == width { return self }
        let columns = Self.filterTaps(from: width, to: newWidth), rows = Self.filterTaps(from: height, to: newHeight)
        // Horizontal pass: height × newWidth × 3.
        var wide = [Float](repeating: 0, count: height * newWidth * 3)
        for y in 0..<height {
            for (x, taps) in columns.enumerated() {
                var sum: (Float, Float, Float) = (0, 0, 0)
                for (source, weight) in taps {
                    let p = (y * width + source) * 3
                    sum.0 += weight * Float(pixels[p]); sum.1 += weight * Float(pixels[p + 1]); sum.2 += weight * Float(pixels[p + 2])
                }
                let o = (y * newWidth + x) * 3
                wide[o] = sum.0; wide[o + 1] = sum.1; wide[o + 2] = sum.2
            }
        }
        var out = [UInt8](repeating: 0, count: newHeight * newWidth * 3)
        for (y, taps) in rows.enumerated() {
            for i in 0..<(newWidth * 3) {
                var sum: Float = 0
                for (source, weight) in taps { sum += weight * wide[source * newWidth * 3 + i] }
                out[y * newWidth * 3 + i] = UInt8(min(max(sum.rounded(), 0), 255))
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: out)
    }

    /// The centred `height` × `width` window (torchvision's CenterCrop: the offset rounded); nil when
    /// the image is smaller.
    public func centerCropped(height h: Int, width w: Int) -> RGBImage? {
        guard h >= 1, w >= 1, h <= height, w <= width else { return nil }
        let top = Int((Double(height - h) / 2).rounded()), left = Int((Double(width - w) / 2).rounded())
        var out: [UInt8] = []
        out.reserveCapacity(h * w * 3)
        for y in top..<(top + h) { out.append(contentsOf: pixels[((y * width + left) * 3)..<((y * width + left + w) * 3)]) }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// For each output position along an axis, the input positions it reads and their weights
    /// (summing to 1): a triangle of half-width max(scale, 1) around the output pixel's centre.
    static func filterTaps(from input: Int, to output: Int) -> [[(Int, Float)]] {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = filterScale
        return (0..<output).map { i in
            let center = (Double(i) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0), hi = min(Int(center + support + 0.5), input)
            var taps: [(Int, Float)] = []
            var total = 0.0
            for s in lo..<max(hi, lo + 1) where s < input {
                let weight = max(0, 1 - abs((Double(s) - center + 0.5) / filterScale))
                if weight > 0 { taps.append((s, Float(weight))); total += weight }
            }
            if total == 0 { return [(min(max(Int(center), 0), input - 1), 1)] }
            return taps.map { ($0.0, Float(Double($0.1) / total)) }
        }
    }
}
