import Foundation
import Testing
@testable import RankEdge

/// Issue #26 item 5: the registry the signal handler unlinks from. (The handler itself ends the
/// process, so tools/check_interrupted_writes.sh tests it by killing the CLI mid-write.)
@Suite struct PendingTemporaryFilesTests {
    func withDirectory(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rankedge-pending-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    @Test func recordedFilesAreUnlinkedAndRemovedOnesAreNot() throws {
        try withDirectory { dir in
            let (a, b) = (dir + "/.a.tmp-1", dir + "/.b.tmp-2")
            for p in [a, b] { #expect(FileManager.default.createFile(atPath: p, contents: Data([1, 2, 3]))) }
            let slotA = PendingTemporaryFiles.add(a), slotB = PendingTemporaryFiles.add(b)
            #expect(slotA != nil && slotB != nil && slotA != slotB)
            #expect(Set(PendingTemporaryFiles.current).isSuperset(of: [a, b]))
            PendingTemporaryFiles.remove(slotB)
            #expect(!PendingTemporaryFiles.current.contains(b))
            PendingTemporaryFiles.unlinkAll()
            #expect(!FileManager.default.fileExists(atPath: a))
            #expect(FileManager.default.fileExists(atPath: b))
            PendingTemporaryFiles.remove(slotA)
            #expect(!PendingTemporaryFiles.current.contains(a))
        }
    }

    @Test func slotsRunOutWithoutFailingAndComeBack() {
        var slots: [Int] = []
        while let s = PendingTemporaryFiles.add("/nonexistent/.x.tmp-\(slots.count)") {
            slots.append(s)
            if slots.count > PendingTemporaryFiles.slotCount { break }
        }
        #expect(slots.count <= PendingTemporaryFiles.slotCount)
        for s in slots { PendingTemporaryFiles.remove(s) }
        let again = PendingTemporaryFiles.add("/nonexistent/.y.tmp-0")
        #expect(again != nil)
        PendingTemporaryFiles.remove(again)
        // Paths no slot can hold are refused, not truncated (a truncated name could be another file).
        #expect(PendingTemporaryFiles.add(String(repeating: "a", count: PendingTemporaryFiles.pathCapacity)) == nil)
    }

    /// A write in progress is recorded, and no record outlives it, on success or failure.
    @Test func atomicWritesRecordTheirTemporaryFileOnlyWhileWriting() throws {
        try withDirectory { dir in
            try FileIO.writeAtomically([1, 2, 3], to: dir + "/out.bin")
            #expect(throws: RKGFormatError.self) { try FileIO.writeAtomically([1], to: dir + "/missing/out.bin") }
            #expect(!PendingTemporaryFiles.current.contains { $0.hasPrefix(dir) })
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.bin"])
        }
    }
}
