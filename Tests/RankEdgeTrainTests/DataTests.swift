import Foundation
import Testing
import RankEdge
@testable import RankEdgeTrain
@testable import RankEdgeZoo

@Suite struct DataTests {
    @Test func readsFixtureRecords() throws {
        let s = try fixtureSplit()
        #expect(s.count == 120)
        #expect(s.labels.allSatisfy { (0..<10).contains($0) })
        #expect(Set(s.labels).count == 10)
    }

    @Test func malformedAndMissingFilesAreClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rankedge-bad-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let truncated = dir.appendingPathComponent("test_batch.bin")
        try Data(repeating: 1, count: 3073 + 5).write(to: truncated)
        #expect { try LabeledImages.readCIFAR10(path: truncated.path) } throws: { e in
            "\(e)".contains("not a positive multiple") && "\(e)".contains(truncated.path)
        }
        var record = [UInt8](repeating: 0, count: 3073); record[0] = 12
        try Data(record).write(to: truncated)
        #expect { try LabeledImages.readCIFAR10(path: truncated.path) } throws: { e in "\(e)".contains("label 12") }
        #expect { try Dataset.load(path: dir.path, training: true) } throws: { e in
            "\(e)".contains("missing dataset file") && "\(e)".contains("data_batch_1.bin")
        }
        #expect { try Dataset.load(path: dir.path + "/nope", training: false) } throws: { e in "\(e)".contains("nope") }
    }

    @Test func classNamesComeFromMetaFileOrDefault() throws {
        let dir = try makeDatasetDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try Dataset.load(path: dir, training: false).classNames == cifar10ClassNames)
        let names = (0..<10).map { "c\($0)" }
        try names.joined(separator: "\n").write(toFile: dir + "/batches.meta.txt", atomically: true, encoding: .utf8)
        #expect(try Dataset.load(path: dir, training: false).classNames == names)
    }

    @Test func normalisationMeasuresAndRoundTripsThroughMetadata() throws {
        let s = try fixtureSplit()
        let n = Normalization.measure(s)
        let images = n.images(s, indices: Array(0..<s.count))
        for c in 0..<3 {
            let vals = stride(from: c, to: images.count, by: 3).map { Double(images[$0]) }
            let mean = vals.reduce(0, +) / Double(vals.count)
            let variance = vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(vals.count)
            #expect(abs(mean) < 1e-3 && abs(variance - 1) < 1e-3)
        }
        #expect(Normalization(metadata: n.metadata) == n)
        #expect(Normalization(metadata: [:]) == nil)
    }

    @Test func batchesDependOnlyOnSeedAndStep() throws {
        let s = try fixtureSplit()
        let n = Normalization.measure(s)
        let a = BatchSampler(split: s, normalization: n, batchSize: 7, seed: 3)
        let b = BatchSampler(split: s, normalization: n, batchSize: 7, seed: 3)
        _ = a.batch(step: 0)
        let late = a.batch(step: 40)  // crosses into later epochs
        #expect(late.images.data == b.batch(step: 40).images.data && late.labels == b.batch(step: 40).labels)
        #expect(a.batch(step: 1).images.data != a.batch(step: 2).images.data)
        #expect(a.permutation(epoch: 2).sorted() == Array(0..<s.count))
        #expect(a.permutation(epoch: 2) != a.permutation(epoch: 3))
        // Every training image appears once per epoch.
        let c = BatchSampler(split: s, normalization: n, batchSize: 10, seed: 1, augment: false)
        let labels = (0..<12).flatMap { c.batch(step: $0).labels }
        #expect(labels.sorted() == s.labels.sorted())
    }

    @Test func cropAndFlipMoveThePixels() throws {
        let s = try fixtureSplit()
        let n = Normalization(mean: [0, 0, 0], std: [1, 1, 1])
        let plain = TensorStorage(uninitialized: 3072), moved = TensorStorage(uninitialized: 3072)
        n.writeImage(s, index: 5, into: plain.pointer, cropY: 4, cropX: 4, flip: false)
        n.writeImage(s, index: 5, into: moved.pointer, cropY: 6, cropX: 1, flip: true)
        // moved(y, x) = original(y + 2, 31 − x − 3), zero where that falls outside.
        for y in 0..<32 { for x in 0..<32 { for ch in 0..<3 {
            let sy = y + 2, sx = 31 - x - 3
            let expected: Float = (sy < 32 && sx >= 0) ? plain[(sy * 32 + sx) * 3 + ch] : 0
            #expect(moved[(y * 32 + x) * 3 + ch] == expected)
        } } }
        #expect(abs(plain[0] - Float(s.pixels[5 * 3072]) / 255) < 1e-6)
    }
}
