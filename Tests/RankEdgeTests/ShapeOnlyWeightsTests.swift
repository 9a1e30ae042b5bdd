import Foundation
import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// Weights stored as shapes only (a compiled model's graph): they round-trip through files, damaged
/// listings are typed errors, and what computes with values refuses them instead of reading past them.
@Suite struct ShapeOnlyWeightsTests {
    static func graph() -> Graph {
        var g = FormatFixtures.tinyGraph()
        g.weights["c1.weight"] = g.weights["c1.weight"]!.withoutValues
        g.weights["fc.bias"] = g.weights["fc.bias"]!.withoutValues
        return g
    }

    @Test func shapeOnlyWeightsRoundTripAndTakeNoBytes() throws {
        let g = Self.graph()
        #expect(g.hasShapeOnlyWeights)
        #expect(g.weightBytes == FormatFixtures.tinyGraph().weightBytes)
        let bytes = try RKGFile.encode(g)
        let full = try RKGFile.encode(FormatFixtures.tinyGraph())
        #expect(full.count - bytes.count >= 4 * (g.weights["c1.weight"]!.shape.elementCount + 2) - 200)
        let read = try RKGFile.decodeContents(bytes)
        #expect(read.graph == g)
        #expect(read.extraMetadata[RKGFile.shapeOnlyWeightsKey] == nil)
        let (header, _) = FormatFixtures.split(bytes)
        #expect(header["c1.weight"] == nil && header["c1.bias"] != nil)
        #expect(header["__metadata__"]?.objectValue?[RKGFile.shapeOnlyWeightsKey]?.stringValue == #"{"c1.weight":[3,3,3,2],"fc.bias":[2]}"#)
    }

    @Test func theListingKeyIsReserved() {
        let contents = RKGFile.Contents(graph: FormatFixtures.tinyGraph(), extraMetadata: [RKGFile.shapeOnlyWeightsKey: "{}"])
        #expect(throws: RKGFormatError.reservedName(RKGFile.shapeOnlyWeightsKey)) { try RKGFile.encode(contents) }
    }

    @Test func damagedListingsAreTypedErrors() throws {
        let bytes = try RKGFile.encode(Self.graph())
        let edits: [(String, String)] = [
            ("not json", "{nope"), ("not an object", "[1]"), ("negative dim", #"{"c1.weight":[3,-3,3,2],"fc.bias":[2]}"#),
            ("stored too", #"{"c1.weight":[3,3,3,2],"fc.bias":[2],"c1.bias":[3]}"#),
            ("overflow", #"{"c1.weight":[3037000500,3037000500,3037000500],"fc.bias":[2]}"#),
            ("wrong shape", #"{"c1.weight":[3,3,3,3],"fc.bias":[2]}"#),
            ("missing", #"{"fc.bias":[2]}"#),
        ]
        for (what, listing) in edits {
            let damaged = FormatFixtures.editingHeader(bytes) { header in
                let metadata = header["__metadata__"]!.objectValue!
                let edited = JSONObject(metadata.entries.map { ($0.key, $0.key == RKGFile.shapeOnlyWeightsKey ? .string(listing) : $0.value) })
                header = FormatFixtures.replacing(header, "__metadata__", with: .object(edited))
            }
            #expect(throws: RKGFormatError.self, "\(what)") { try RKGFile.decodeContents(damaged) }
        }
    }

    @Test func computingWithShapeOnlyWeightsIsRefused() throws {
        #expect(throws: GraphValidationError.self) { try ReferenceExecutor(graph: Self.graph()) }
        #expect(throws: Never.self) { try Self.graph().inferShapes() }
        do {
            try Self.graph().requireWeightValues()
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("'c1.weight' is stored as a shape only"))
        }
    }

    /// The file is read tensor by tensor; on a damaged file that gives the same error as decoding
    /// its bytes, and on a whole one the same contents.
    @Test func readingAFileAgreesWithDecodingItsBytes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rankedge-shape-only-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = try RKGFile.encode(FormatFixtures.everyOpGraph())
        var cases: [[UInt8]] = [bytes, Array(bytes.prefix(5)), Array(bytes.prefix(bytes.count - 3)), bytes + [0, 0, 0, 0]]
        for cut in stride(from: 8, to: bytes.count, by: max(bytes.count / 7, 1)) { cases.append(Array(bytes.prefix(cut))) }
        var flipped = bytes
        flipped[3] ^= 0x40
        cases.append(flipped)
        for (i, data) in cases.enumerated() {
            let path = dir + "/case\(i).rkg"
            try Data(data).write(to: URL(fileURLWithPath: path))
            let fromBytes = Result { try RKGFile.decodeContents(data) }
            let fromFile = Result { try RKGFile.readContents(path: path) }
            switch (fromBytes, fromFile) {
            case (.success(let a), .success(let b)): #expect(a == b)
            case (.failure(let a as RKGFormatError), .failure(let b as RKGFormatError)):
                #expect(RKGFormatError.inFile(path: path, error: a) == b, "case \(i)")
            default: Issue.record("case \(i): bytes \(fromBytes), file \(fromFile)")
            }
        }
    }
}
