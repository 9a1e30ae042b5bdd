import Testing
@testable import RankEdge

/// The byte-wise text helpers the runtime parses with (so the Embedded build links no Unicode
/// case or grapheme tables) behave as the Character-based code they replaced did on its inputs.
@Suite struct ASCIITextTests {
    @Test func lowercasesASCIILettersOnly() throws {
        #expect("AVX2".asciiLowercased == "avx2")
        #expect("Modèle-ÄÖ.ONNX".asciiLowercased == "modèle-ÄÖ.onnx")
        #expect(try GEMMISA(validating: "SCALAR") == .scalar)
        #expect(FileKind.of([1, 2, 3], path: "dir/Modèle.Onnx") == .onnx)
        #expect(FileKind.of([1, 2, 3], path: "model.onnx.bak") == .unknown)
    }

    @Test func suffixAndSplitWorkOnBytes() {
        #expect("model.onnx".hasUTF8Suffix(".onnx"))
        #expect(!"nx".hasUTF8Suffix(".onnx"))
        #expect("hardSigmoid:0.2:0.5".splitUTF8(":") == ["hardSigmoid", "0.2", "0.5"])
        #expect("a::b:".splitUTF8(":") == ["a", "", "b", ""])
        #expect("".splitUTF8(":") == [""])
        #expect("é,ü".splitUTF8(",") == ["é", "ü"])
        let (directory, base) = FileIO.split("dir/sub/é.rkg")
        #expect(directory == "dir/sub/" && base == "é.rkg")
        let (none, whole) = FileIO.split("model.rkg")
        #expect(none == "" && whole == "model.rkg")
    }

    @Test func compiledActivationNamesAndNumbers() {
        #expect(CompiledModelFile.activation(named: "hardSigmoid:0.25:0.5") == .function(.hardSigmoid(alpha: 0.25, beta: 0.5)))
        #expect(CompiledModelFile.activation(named: "hardSigmoid:0.25") == nil)
        #expect(CompiledModelFile.activation(named: "hardSigmoid:x:0.5") == nil)
        #expect(JSONValue.number("42").intValue == 42)
        #expect(JSONValue.number("4e2").intValue == nil)
        #expect(JSONValue.number("4.0").intValue == nil)
        #expect(CPUCaches.parseCacheSize("48k") == 48 << 10)
        #expect(CPUCaches.parseCacheSize("K") == nil)
        #expect(CPUCaches.parseCacheSize("99999999999999999G") == nil)  // overflow: no size, no trap
        #expect(CPUCaches.countCPUs("0-3,,8-") == 5)
    }
}
