import CPNG
import CTurboJPEG
import Testing
@testable import RankEdgeImageCodecs
import RankEdgeInput

/// PNG and JPEG decoding: files written by libpng and TurboJPEG themselves come back with their
/// pixels (PNG exactly, JPEG at quality 100 within a few levels); grey and alpha PNGs come out as
/// RGB; truncated, corrupt and oversized files are one `InputError` each.
@Suite struct ImageFileTests {
    static let width = 7, height = 5
    static let pixels: [UInt8] = (0..<(width * height * 3)).map { UInt8(($0 * 37 + 11) % 256) }

    static func png(format: UInt32, channels: Int, pixels: [UInt8]) -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width); image.height = UInt32(height)
        image.format = format
        var size = 0
        _ = pixels.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, 0, nil) }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { dst in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, dst.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
        }
        precondition(ok != 0, "png write failed")
        return Array(out.prefix(size))
    }

    static func jpeg(_ pixels: [UInt8]) -> [UInt8] {
        let handle = tjInitCompress()!
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), &buffer, &size,
                        Int32(TJSAMP_444.rawValue), 100, 0)
        }
        precondition(status == 0, "jpeg write failed")
        defer { tjFree(buffer) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }

    @Test func pngComesBackExactly() throws {
        let decoded = try ImageFile.decode(Self.png(format: UInt32(PNG_FORMAT_FLAG_COLOR), channels: 3, pixels: Self.pixels), source: "x.png")
        #expect(decoded == RGBImage(width: Self.width, height: Self.height, pixels: Self.pixels))
    }

    @Test func greyAndAlphaPNGsBecomeRGB() throws {
        let grey = (0..<(Self.width * Self.height)).map { UInt8($0 * 7) }
        let g = try ImageFile.decode(Self.png(format: UInt32(0), channels: 1, pixels: grey), source: "g.png")
        #expect(g.pixels == grey.flatMap { [$0, $0, $0] })
        // RGBA with varying alpha: the colour channels as stored, alpha dropped.
        var rgba: [UInt8] = []
        for p in 0..<(Self.width * Self.height) { rgba += Self.pixels[(p * 3)..<(p * 3 + 3)] + [UInt8(p * 9 % 256)] }
        let a = try ImageFile.decode(Self.png(format: UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA), channels: 4, pixels: rgba), source: "a.png")
        #expect(a.pixels == Self.pixels)
    }

    @Test func jpegComesBackClose() throws {
        let decoded = try ImageFile.decode(Self.jpeg(Self.pixels), source: "x.jpg")
        #expect(decoded.width == Self.width && decoded.height == Self.height)
        let worst = zip(decoded.pixels, Self.pixels).map { abs(Int($0) - Int($1)) }.max()!
        #expect(worst <= 12, "max difference \(worst) levels")
    }

    @Test func brokenFilesAreOneError() {
        let png = Self.png(format: UInt32(PNG_FORMAT_FLAG_COLOR), channels: 3, pixels: Self.pixels)
        let jpeg = Self.jpeg(Self.pixels)
        var flipped = png
        flipped[png.count / 2] ^= 0xFF
        for (label, bytes, words) in [("truncated.png", Array(png.prefix(png.count / 2)), "corrupt PNG"),
                                      ("flipped.png", flipped, "corrupt PNG"),
                                      ("header-only.png", Array(png.prefix(8)), "corrupt PNG"),
                                      ("truncated.jpg", Array(jpeg.prefix(jpeg.count / 3)), "corrupt JPEG"),
                                      ("header-only.jpg", Array(jpeg.prefix(4)), "corrupt JPEG"),
                                      ("text.txt", Array("hello".utf8), "not a PNG, JPEG or binary PPM")] {
            #expect(throws: InputError.self, "\(label)") { try ImageFile.decode(bytes, source: label) }
            do { _ = try ImageFile.decode(bytes, source: label) } catch {
                #expect(error.description.contains(words) && error.description.hasPrefix(label), "\(label): \(error)")
            }
        }
    }

    /// An IHDR claiming 100 000 × 100 000 pixels is refused before anything is allocated.
    @Test func hugeImagesAreRefusedFromTheHeader() {
        var png = Self.png(format: UInt32(PNG_FORMAT_FLAG_COLOR), channels: 3, pixels: Self.pixels)
        // IHDR data starts at byte 16: width and height, big-endian; then its CRC at 29.
        for (offset, value) in [(16, UInt32(100_000)), (20, UInt32(100_000))] {
            for k in 0..<4 { png[offset + k] = UInt8((value >> (24 - 8 * UInt32(k))) & 0xFF) }
        }
        let crc = crc32(Array(png[12..<29]))
        for k in 0..<4 { png[29 + k] = UInt8((crc >> (24 - 8 * UInt32(k))) & 0xFF) }
        do {
            _ = try ImageFile.decode(png, source: "huge.png")
            Issue.record("a 10¹⁰-pixel PNG was decoded")
        } catch {
            #expect(error.description.contains("larger than"), "\(error)")
        }
    }

    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
