import Foundation
import Testing
@testable import RankEdge

/// Reading and writing files: atomic replacement, clean failures, no temporary files left behind.
@Suite struct FormatFileTests {
    /// A fresh empty directory, removed after `body`.
    func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rankedge-format-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    func listing(_ dir: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir).sorted() }

    @Test func writeThenReadRoundTrips() throws {
        try withTemporaryDirectory { dir in
            let g = FormatFixtures.everyOpGraph()
            let path = dir + "/model.rkg"
            try RKGFile.write(g, to: path)
            #expect(try RKGFile.read(path: path) == g)
            #expect(try listing(dir) == ["model.rkg"])
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == RKGFile.encode(g))
        }
    }

    @Test func contentsRoundTripThroughAFile() throws {
        try withTemporaryDirectory { dir in
            let contents = RKGFile.Contents(graph: FormatFixtures.tinyGraph(), extraMetadata: ["rankedge.compiled": "{}"])
            try RKGFile.write(contents, to: dir + "/c.rkg")
            #expect(try RKGFile.readContents(path: dir + "/c.rkg") == contents)
        }
    }

    @Test func writingIntoAMissingDirectoryFailsAndLeavesNothing() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/missing/model.rkg"
            do {
                try RKGFile.write(FormatFixtures.tinyGraph(), to: path)
                Issue.record("expected failure")
            } catch let error as RKGFormatError {
                guard case .cannotWrite(path, _) = error else { Issue.record("got \(error)"); return }
                #expect(error.description.contains(path))
            }
            #expect(try listing(dir).isEmpty)
        }
    }

    @Test func invalidGraphLeavesTheOldFileIntact() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/model.rkg"
            try RKGFile.write(FormatFixtures.tinyGraph(), to: path)
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            var bad = FormatFixtures.everyOpGraph()
            bad.nodes[2].inputs = ["nowhere"]
            do {
                try RKGFile.write(bad, to: path)
                Issue.record("expected failure")
            } catch let error as RKGFormatError {
                guard case .invalidGraph(let problems) = error.underlying else { Issue.record("got \(error)"); return }
                #expect(problems.contains { $0.node == bad.nodes[2].name })
                #expect(error.description.contains(path))
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
            #expect(try listing(dir) == ["model.rkg"])
        }
    }

    @Test func validGraphReplacesTheOldFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/model.rkg"
            try RKGFile.write(FormatFixtures.tinyGraph(), to: path)
            try RKGFile.write(FormatFixtures.everyOpGraph(), to: path)
            #expect(try RKGFile.read(path: path) == FormatFixtures.everyOpGraph())
            #expect(try listing(dir) == ["model.rkg"])
        }
    }

    @Test func writingOverADirectoryFailsAndLeavesNoTemporaryFile() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/taken", withIntermediateDirectories: false)
            #expect(throws: RKGFormatError.self) { try RKGFile.write(FormatFixtures.tinyGraph(), to: dir + "/taken") }
            #expect(try listing(dir) == ["taken"])
        }
    }

    @Test func readFailuresNameTheFile() throws {
        try withTemporaryDirectory { dir in
            #expect(throws: RKGFormatError.fileNotFound(path: dir + "/none.rkg")) { try RKGFile.read(path: dir + "/none.rkg") }
            do {
                _ = try RKGFile.read(path: dir)
                Issue.record("expected failure")
            } catch let error as RKGFormatError {
                guard case .cannotRead(dir, _) = error else { Issue.record("got \(error)"); return }
            }
            let path = dir + "/truncated.rkg"
            let bytes = FormatFixtures.encoded(FormatFixtures.tinyGraph())
            try Data(bytes.dropLast(3)).write(to: URL(fileURLWithPath: path))
            do {
                _ = try RKGFile.read(path: path)
                Issue.record("expected failure")
            } catch let error as RKGFormatError {
                guard case .inFile(path, .offsetsOutOfRange) = error else { Issue.record("got \(error)"); return }
                #expect(error.description.hasPrefix("'\(path)': tensor '"))
            }
        }
    }
}

/// Files of other kinds are told apart by their first bytes, so a wrong file gets a message naming it.
@Suite struct FileKindTests {
    @Test func kindsFromFirstBytes() throws {
        let g = try RKGFile.encode(FormatFixtures.tinyGraph())
        #expect(FileKind.of(g) == .rkg)
        #expect(FileKind.of([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]) == .png)
        #expect(FileKind.of([0xFF, 0xD8, 0xFF, 0xE0]) == .jpeg)
        #expect(FileKind.of([0x50, 0x4B, 0x03, 0x04, 0]) == .npz)
        #expect(FileKind.of([0x08, 0x08, 0x12, 0x07] + Array("pytorch".utf8)) == .onnx)
        #expect(FileKind.of([1, 2, 3], path: "model.ONNX") == .onnx)
        // Float32 samples whose ninth byte happens to be '{' are not a .rkg: the length does not fit.
        var samples = [Float](repeating: 0.37, count: 64).withUnsafeBytes { Array($0) }
        samples[8] = UInt8(ascii: "{")
        #expect(FileKind.of(samples) == .unknown)
    }

    @Test func aModelOfAnotherKindIsNamedInTheError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rankedge-kind-\(UUID().uuidString).onnx").path
        try FileIO.writeAtomically([0x08, 0x08, 0x12, 0x07] + Array("pytorch".utf8), to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect { try RKGFile.readContents(path: path) } throws: { "\($0)".contains("rankedge import") }
    }
}
