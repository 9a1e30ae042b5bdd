import Testing
@testable import RankEdge

@Suite struct JSONParserTests {
    @Test func parsesValuesKeepingNumberTextAndKeyOrder() throws {
        let v = try JSONParser.parse(" {\"b\": [1, -2.5e3, 0, true, false, null], \"a\": {\"x\": \"y\"}} \n")
        let o = try #require(v.objectValue)
        #expect(o.keys == ["b", "a"])
        #expect(o["b"] == .array([.number("1"), .number("-2.5e3"), .number("0"), .bool(true), .bool(false), .null]))
        #expect(o["a"]?.objectValue?["x"] == .string("y"))
        #expect(JSONValue.number("12").intValue == 12)
        #expect(JSONValue.number("1.0").intValue == nil)
        #expect(JSONValue.number("1e2").intValue == nil)
        #expect(JSONValue.number("99999999999999999999").intValue == nil)
    }

    @Test func decodesEscapes() throws {
        let v = try JSONParser.parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC\ud83d\ude00\u0000""#)
        #expect(v == .string("a\"b\\c/d\u{8}\u{C}\n\r\t\u{E9}\u{20AC}\u{1F600}\u{0}"))
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "{a:1}", "01", "1.", ".5", "+1", "-", "1e", "NaN", "Infinity",
        "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
        "\"tab\there\"", "[1] 2", "{\"a\":1,\"a\":2}", "'x'",
    ])
    func rejectsMalformedText(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }  // UTF-8 surrogate
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        #expect((try? JSONParser.parse(ok)) != nil)
        let hostile = String(repeating: "[", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(hostile) }
    }

    @Test func writerOutputParsesBackToTheSameValue() throws {
        let every = String((0..<0x80).map { Character(Unicode.Scalar(UInt8($0))) }) + "é€😀\u{7F}\u{2028}"
        let value = JSONValue.object(JSONObject([
            (every, .strings([every, ""])),
            ("n", .array([.int(Int.min), .int(Int.max), .float(-0.0), .float(.leastNonzeroMagnitude)])),
            ("o", .object(JSONObject())),
        ]))
        #expect(try JSONParser.parse(value.serialized) == value)
    }
}
