import CPNG
import CTurboJPEG
import RankEdge
import RankEdgeInput

/// Decodes the image files users have (PNG, JPEG, binary PPM) into 8-bit RGB, recognised by their
/// first bytes. PNG goes through libpng's simplified API and JPEG through TurboJPEG: both report
/// errors by return value, so a corrupt file is an `InputError`, never an abort. Only the
/// command-line tool links this target; the runtime stays free of system libraries.
public enum ImageFile {
    /// Larger images are refused before their pixels are allocated (64 M pixels, 192 MiB of RGB).
    public static let maxPixels = 1 << 26

    public static func decode(_ bytes: [UInt8], source: String) throws(InputError) -> RGBImage {
        switch FileKind.of(bytes, path: source) {
        case .png: return try decodePNG(bytes, source: source)
        case .jpeg: return try decodeJPEG(bytes, source: source)
        default:
            guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "6") else {
                throw InputError("\(source): not a PNG, JPEG or binary PPM (P6) image")
            }
            do { return try PPMImage(bytes: bytes, source: source).image } catch let e as InputError { throw e } catch {
                throw InputError("\(source): \(error)")
            }
        }
    }

    /// Grey, palette, 16-bit and alpha PNGs all come out as 8-bit RGB; alpha is dropped (as PIL's
    /// `convert("RGB")` does).
    static func decodePNG(_ bytes: [UInt8], source: String) throws(InputError) -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        func message() -> String {
            withUnsafeBytes(of: image.message) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        let began = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard began != 0 else { throw InputError("\(source): corrupt PNG (\(message()))") }
        let (width, height) = (Int(image.width), Int(image.height))
        guard width >= 1, height >= 1, width * height <= maxPixels else {  // libpng refuses a 0 size itself
            png_image_free(&image)
            throw InputError("\(source): PNG of \(width)x\(height) pixels is larger than \(maxPixels) pixels")
        }
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        let finished = rgba.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard finished != 0 else {
            let m = message()
            png_image_free(&image)
            throw InputError("\(source): corrupt PNG (\(m))")
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for p in 0..<(width * height) {
            rgb[p * 3] = rgba[p * 4]; rgb[p * 3 + 1] = rgba[p * 4 + 1]; rgb[p * 3 + 2] = rgba[p * 4 + 2]
        }
        return RGBImage(width: width, height: height, pixels: rgb)
    }

    /// Any JPEG TurboJPEG reads (grey, YCbCr, CMYK) as RGB; a warning (a truncated file) counts as
    /// an error, since the pixels may be partly missing.
    static func decodeJPEG(_ bytes: [UInt8], source: String) throws(InputError) -> RGBImage {
        guard let handle = tjInitDecompress() else { throw InputError("\(source): TurboJPEG could not start") }
        defer { tjDestroy(handle) }
        func message() -> String { String(cString: tjGetErrorStr2(handle)) }
        var (w, h, subsampling, colorspace): (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
        let header = bytes.withUnsafeBufferPointer { tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &w, &h, &subsampling, &colorspace) }
        guard header == 0 else { throw InputError("\(source): corrupt JPEG (\(message()))") }
        let (width, height) = (Int(w), Int(h))
        guard width >= 1, height >= 1 else { throw InputError("\(source): corrupt JPEG (no image size in the header)") }
        guard width * height <= maxPixels else {
            throw InputError("\(source): JPEG of \(width)x\(height) pixels is larger than \(maxPixels) pixels")
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        let status = bytes.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, UInt(src.count), dst.baseAddress, w, 0, h, Int32(TJPF_RGB.rawValue), 0)
            }
        }
        guard status == 0 else { throw InputError("\(source): corrupt JPEG (\(message()))") }
        return RGBImage(width: width, height: height, pixels: rgb)
    }
}
