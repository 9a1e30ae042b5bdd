import CPNG
import CTurboJPEG
import Foundation
import RankEdge
import RankEdgeONNX

/// The committed seed corpus (fuzz/corpus/TARGET/), written by code so it can be remade: one or a
/// few tiny valid files per target, each reaching the reader's deepest path, for libFuzzer to
/// mutate. Files found by fuzzing (crashes fixed since) are added next to them by hand.
enum SeedCorpus {
    static func write(into directory: String) throws {
        func put(_ target: FuzzTarget, _ name: String, _ bytes: [UInt8]) throws {
            let folder = directory + "/" + target.rawValue
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + name))
        }
        for (name, graph) in [("cnn", cnn()), ("lowrank", lowRank())] {
            try put(.rkg, "\(name).rkg", try RKGFile.encode(graph))
            try put(.compiled, "\(name).c.rkg", try compiledFile(graph))
            try put(.onnx, "\(name).onnx", try ONNXExporter().exportModel(graph))
        }
        let pixels = (0..<3072).map { UInt8($0 * 7 % 256) }
        try put(.cifar, "cifar10-1.bin", [3] + pixels)
        try put(.cifar, "cifar100-1.bin", [4, 57] + pixels)
        for name in ["npz-compressed-nhwc.npz", "npz-nchw-int32.npz", "npz-stored-nhwc.npz"] {
            try put(.npz, name, [UInt8](try Data(contentsOf: URL(fileURLWithPath: "Tests/RankEdgeTrainTests/Fixtures/" + name))))
        }
        let rgb = (0..<(5 * 4 * 3)).map { UInt8($0 * 37 % 256) }
        try put(.png, "rgb.png", png(rgb, format: UInt32(PNG_FORMAT_FLAG_COLOR)))
        try put(.png, "grey.png", png(Array(rgb.prefix(20)), format: 0))
        try put(.png, "rgba.png", png(rgb + Array(rgb.prefix(20)), format: UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)))
        try put(.jpeg, "444.jpg", jpeg(rgb, subsampling: TJSAMP_444))
        try put(.jpeg, "420.jpg", jpeg(rgb, subsampling: TJSAMP_420))
        try put(.ppm, "rgb.ppm", Array("P6\n5 4\n255\n".utf8) + rgb)
        try put(.ppm, "comment-maxval.ppm", Array("P6 # a comment\n5 4\n100\n".utf8) + rgb.map { $0 % 101 })
    }

    /// Conv, ReLU, max pool, depthwise conv, batch norm, global pool, linear, softmax.
    static func cnn() -> Graph {
        var b = GraphBuilder(name: "fuzz-cnn", shape: [1, 8, 8, 3], seed: 1)
        // One builder call per statement: a nested call would mutate `b` inside another mutation of it.
        var x = b.conv("input", out: 4, kernel: 3, name: "c1")
        x = b.relu(x)
        x = b.maxPool(x, kernel: 2, stride: 2)
        x = b.conv(x, out: 4, kernel: 3, groups: 4, name: "dw")
        x = b.batchNorm(x)
        x = b.globalAvgPool(x)
        x = b.flatten(x)
        x = b.linear(x, out: 3, name: "fc")
        x = b.softmax(x)
        return b.build(outputs: [x], classNames: ["a", "b", "c"])
    }

    /// A rank-1 conv, a 1×1 conv with a residual add, an average pool and a classifier.
    static func lowRank() -> Graph {
        var b = GraphBuilder(name: "fuzz-lowrank", shape: [1, 6, 6, 2], seed: 2)
        let r = b.rankConv("input", out: 3, kernel: 3, rank: 1, name: "rank")
        var x = b.conv(r, out: 3, kernel: 1, padding: 0, name: "pw")
        x = b.addTensors(x, r)
        x = b.avgPool(x, kernel: 2, stride: 2)
        x = b.flatten(x)
        x = b.linear(x, out: 2, name: "fc")
        return b.build(outputs: [x])
    }

    /// Compiled at one thread with no timed choices, so the seed does not depend on the machine's load.
    static func compiledFile(_ graph: Graph) throws -> [UInt8] {
        var options = CompileOptions(rankConvForm: .separable, winograd: .never)
        options.threads = 1
        let model = try GraphCompiler.compile(graph, options: options)
        let session = try InferenceSession(model: model)
        try session.prepare(batch: 1)
        return try RKGFile.encode(CompiledModelFile.contents(model, plan: (1, 1, session.planLayout!), compileThreads: 1))
    }

    static func png(_ pixels: [UInt8], format: UInt32) throws -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = 5; image.height = 4; image.format = format
        var size = 0
        _ = png_image_write_to_memory(&image, nil, &size, 0, pixels, 0, nil)
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { png_image_write_to_memory(&image, $0.baseAddress, &size, 0, pixels, 0, nil) }
        guard ok != 0 else { throw SeedError("libpng could not write the seed") }
        return Array(out.prefix(size))
    }

    static func jpeg(_ pixels: [UInt8], subsampling: TJSAMP) throws -> [UInt8] {
        guard let handle = tjInitCompress() else { throw SeedError("TurboJPEG could not start") }
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = tjCompress2(handle, pixels, 5, 0, 4, Int32(TJPF_RGB.rawValue), &buffer, &size, Int32(subsampling.rawValue), 90, 0)
        defer { tjFree(buffer) }
        guard status == 0, let buffer else { throw SeedError("TurboJPEG could not write the seed") }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }
}

struct SeedError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
