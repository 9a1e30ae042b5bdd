import RankEdge

/// Binary PPM (P6, maxval ≤ 255): the simplest image format a board can produce with no libraries.
public struct PPMImage: Sendable {
    public let width: Int
    public let height: Int
    /// HWC, red, green, blue.
    public let pixels: [UInt8]

    public init(bytes: [UInt8], source: String = "PPM image") throws {
        var i = 0
        func fail(_ m: String) -> InputError { InputError("\(source): \(m)") }
        func skipSpaceAndComments() {
            while i < bytes.count {
                if bytes[i] == UInt8(ascii: "#") {
                    while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
                } else if [9, 10, 13, 32].contains(bytes[i]) {
                    i += 1
                } else { return }
            }
        }
        func number() throws -> Int {
            skipSpaceAndComments()
            var v = 0, digits = 0
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57, digits < 9 {
                v = v * 10 + Int(bytes[i] - 48); i += 1; digits += 1
            }
            guard digits > 0 else { throw fail("malformed header") }
            return v
        }
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "6") else {
            throw fail("not a binary PPM (P6) file")
        }
        i = 2
        let w = try number(), h = try number(), maxval = try number()
        guard w > 0, h > 0, w <= 16384, h <= 16384 else { throw fail("unsupported size \(w)x\(h)") }
        guard maxval > 0, maxval <= 255 else { throw fail("maxval \(maxval) is not supported (8-bit only)") }
        guard i < bytes.count else { throw fail("missing pixel data") }
        i += 1  // exactly one whitespace byte separates the header from the pixels
        let need = w * h * 3
        guard bytes.count - i >= need else { throw fail("pixel data is truncated: \(bytes.count - i) of \(need) bytes") }
        // A sample above maxval would scale past 255 (a trap in UInt8(_:)); found by fuzzing.
        if maxval < 255, let above = bytes[i..<(i + need)].first(where: { Int($0) > maxval }) {
            throw fail("pixel value \(above) is above maxval \(maxval)")
        }
        width = w; height = h
        pixels = maxval == 255 ? Array(bytes[i..<(i + need)]) : bytes[i..<(i + need)].map { UInt8(Int($0) * 255 / maxval) }
    }

    public var image: RGBImage { RGBImage(width: width, height: height, pixels: pixels) }

    public init(path: String) throws {
        let bytes: [UInt8]
        do { bytes = try readFileBytes(path) } catch { throw InputError("\(error)") }
        try self.init(bytes: bytes, source: path)
    }
}
