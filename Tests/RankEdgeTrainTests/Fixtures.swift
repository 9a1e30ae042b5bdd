import Foundation
@testable import RankEdgeTrain

/// 120 CIFAR-10 test records (records 1000–1119 of test_batch.bin) shipped with the tests.
func fixtureSplit() throws -> LabeledImages {
    try LabeledImages.readCIFAR10(path: fixturePath("cifar10-test-120.bin"))
}

/// A file shipped in Fixtures/.
func fixturePath(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
}

/// A throw-away CIFAR-10 directory: five training batches of `perBatch` records and a test batch,
/// all cut from the fixture.
func makeDatasetDirectory(perBatch: Int = 16, testCount: Int = 20) throws -> String {
    let split = try fixtureSplit()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rankedge-cifar-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for i in 0..<5 {
        try split.slice((i * perBatch)..<((i + 1) * perBatch)).write(cifarTo: dir.appendingPathComponent("data_batch_\(i + 1).bin").path)
    }
    try split.slice((120 - testCount)..<120).write(cifarTo: dir.appendingPathComponent("test_batch.bin").path)
    return dir.path
}

/// The training half of a throw-away dataset directory (see above), which is removed again.
func loadFixtureTrainingSet() throws -> Dataset {
    let dir = try makeDatasetDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try Dataset.load(path: dir, training: true)
}
