/// Text work on UTF-8 bytes rather than on `Character`s, for the runtime's own parsing (ISA names,
/// file suffixes, sysfs files, compiled activation names): what it reads there is ASCII, and
/// byte-wise code keeps Unicode's case-mapping and grapheme-breaking tables out of the Embedded
/// Swift build (docs/BENCHMARKS.md, "Embedded Swift on aarch64"). Non-ASCII bytes pass through
/// unchanged, so the results are valid UTF-8 whenever the input is.
extension String {
    /// ASCII letters A–Z lowercased; every other byte as it is.
    var asciiLowercased: String {
        String(decoding: utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// Whether the UTF-8 bytes end with `suffix`'s.
    func hasUTF8Suffix(_ suffix: String) -> Bool {
        let (bytes, tail) = (utf8, suffix.utf8)
        return bytes.count >= tail.count && bytes.suffix(tail.count).elementsEqual(tail)
    }

    /// The pieces between every `separator` byte (an ASCII character), empty pieces kept:
    /// "a::b" split at ":" is ["a", "", "b"].
    func splitUTF8(_ separator: Unicode.Scalar) -> [String] {
        precondition(separator.isASCII, "splitUTF8 takes an ASCII separator")
        return utf8.split(separator: UInt8(separator.value), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }
}
