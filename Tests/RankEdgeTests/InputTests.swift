import Testing
@testable import RankEdge
@testable import RankEdgeZoo
@testable import RankEdgeInput

@Suite struct InputTests {
    @Test func ppmParsesHeaderWithComments() throws {
        let header = Array("P6\n# made by hand\n2 1\n255\n".utf8)
        let img = try PPMImage(bytes: header + [1, 2, 3, 4, 5, 6])
        #expect(img.width == 2 && img.height == 1 && img.pixels == [1, 2, 3, 4, 5, 6])
        #expect(throws: InputError.self) { try PPMImage(bytes: Array("P3\n2 1\n255\n".utf8)) }
        #expect(throws: InputError.self) { try PPMImage(bytes: header + [1, 2]) }
        #expect(throws: InputError.self) { try PPMImage(bytes: Array("P6\n2 1\n65535\n".utf8) + [UInt8](repeating: 0, count: 12)) }
    }

    /// Found by fuzzing (fuzz/corpus/ppm/crash-maxval-25.ppm): samples above a maxval below 255
    /// trapped in the scaling to 0…255; they are now one InputError.
    @Test func ppmSampleAboveMaxvalIsAnError() throws {
        let crash: [UInt8] = Array("P6\n5 4\n25\u{7f}".utf8) + (0..<60).map { UInt8(($0 * 37) % 256) }
        #expect(throws: InputError.self) { try PPMImage(bytes: crash) }
        let fine = try PPMImage(bytes: Array("P6\n1 1\n25\n".utf8) + [0, 12, 25])
        #expect(fine.pixels == [0, 122, 255])
    }

    @Test func normalizationRoundTripsThroughMetadata() throws {
        var g = buildMiniVGG(MiniVGGOptions(kernel: 3))
        #expect(try InputNormalization(graph: g, channels: 3) == .unit(channels: 3))
        let n = InputNormalization(mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2])
        n.record(in: &g)
        #expect(try InputNormalization(graph: g, channels: 3) == n)
        let t = n.tensor(hwc: [255, 0, 51], height: 1, width: 1)
        #expect(t.shape == TensorShape([1, 1, 1, 3]))
        #expect(abs(t.data[0] - 1) < 1e-6 && abs(t.data[1] + 1) < 1e-6 && abs(t.data[2] - 0.1) < 1e-6)
        g.metadata[InputNormalization.stdKey] = "1,2"
        #expect(throws: InputError.self) { try InputNormalization(graph: g, channels: 3) }
    }
}
