import Testing
@testable import RankEdge

@Suite struct InputTests {
    @Test func cifarRecordBecomesHWC() throws {
        // One record: label 3, red plane all 10, green plane all 20, blue plane = pixel index % 256.
        var bytes: [UInt8] = [3]
        bytes += [UInt8](repeating: 10, count: 1024) + [UInt8](repeating: 20, count: 1024) + (0..<1024).map { UInt8($0 % 256) }
        let r = try CIFARRecords(bytes: bytes + bytes)
        #expect(r.count == 2 && r.labels == [3, 3])
        let hwc = r.imageHWC(1)
        #expect(Array(hwc[0..<6]) == [10, 20, 0, 10, 20, 1])
        #expect(hwc[3 * 300 + 2] == UInt8(300 % 256))
    }

    @Test func malformedCIFARIsAnError() {
        #expect(throws: InputError.self) { try CIFARRecords(bytes: [UInt8](repeating: 0, count: 3000)) }
        var bad = [UInt8](repeating: 0, count: 3073); bad[0] = 12
        #expect(throws: InputError.self) { try CIFARRecords(bytes: bad) }
        #expect(throws: InputError.self) { try CIFARRecords(path: "/nonexistent/cifar.bin") }
    }

    @Test func shippedSamplesAreReadable() throws {
        let path = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let r = try CIFARRecords(path: "/" + path + "/models/samples/cifar10-test-100.bin")
        #expect(r.count == 100)
        #expect(Set(r.labels).count == 10)  // every class is represented
    }

    @Test func ppmParsesHeaderWithComments() throws {
        let header = Array("P6\n# made by hand\n2 1\n255\n".utf8)
        let img = try PPMImage(bytes: header + [1, 2, 3, 4, 5, 6])
        #expect(img.width == 2 && img.height == 1 && img.pixels == [1, 2, 3, 4, 5, 6])
        #expect(throws: InputError.self) { try PPMImage(bytes: Array("P3\n2 1\n255\n".utf8)) }
        #expect(throws: InputError.self) { try PPMImage(bytes: header + [1, 2]) }
        #expect(throws: InputError.self) { try PPMImage(bytes: Array("P6\n2 1\n65535\n".utf8) + [UInt8](repeating: 0, count: 12)) }
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
