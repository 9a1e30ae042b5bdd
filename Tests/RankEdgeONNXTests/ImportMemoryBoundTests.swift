import Testing
@testable import RankEdge
@testable import RankEdgeONNX

/// Issue #26 item 2 at import: huge dimensions in an ONNX file are refused with a typed error before
/// anything is sized from them, and a model too large to run under the bound is refused at import.
@Suite struct ImportMemoryBoundTests {
    static func reluModel(_ dims: [Int?]) -> ONNXSketch {
        var m = ONNXSketch(opset: 17)
        m.input("x", dims)
        m.node("Relu", ["x"], ["y"], name: "relu")
        m.output("y")
        return m
    }

    @Test func inputAboveTheBoundIsRefusedBeforeImporting() throws {
        // 1×3×20000×20000 floats: 4.8 GB, under the importer's element limit, above a 1 GB bound.
        let bytes = Self.reluModel([1, 3, 20_000, 20_000]).bytes
        #expect { try ONNXImporter(maxMemoryBytes: 1_000_000_000).importModel(bytes) } throws: { error in
            guard case .memoryBoundExceeded(let what, let estimate, let bound)? = error as? ONNXImportError else { return false }
            return what.contains("'x'") && estimate == 4_800_000_000 && bound == 1_000_000_000 && "\(error)".contains("--max-memory")
        }
        _ = try ONNXImporter(maxMemoryBytes: 5_000_000_000).importModel(bytes)
    }

    @Test func hugeAndOverflowingInputDimsAreRefused() {
        for dims in [[1, 3, 100_000, 100_000], [1, 3, 1 << 40, 1 << 40], [Int(Int64.max), 3, 8, 8]] {
            #expect(throws: ONNXImportError.self, "\(dims)") { try Self.reluModel(dims).importGraph() }
        }
    }

    @Test func initializersDeclaringHugeDimsAreRefused() {
        for dims in [[1 << 21, 1 << 21, 1 << 21], [1 << 15, 1 << 15], [Int(Int64.max), 2]] {
            var m = ONNXSketch(opset: 17)
            m.input("x", [1, 4])
            m.initializer("w", dims, [1, 2, 3, 4])
            m.node("MatMul", ["x", "w"], ["y"], name: "mm")
            m.output("y")
            #expect(throws: ONNXImportError.self, "\(dims)") { try m.importGraph() }
        }
    }

    /// The activation check after import names the largest tensor, whatever made it large.
    @Test func largestActivationIsChecked() {
        let bytes = Self.reluModel([1, 3, 8, 8]).bytes
        #expect { try ONNXImporter(maxMemoryBytes: 100).importModel(bytes) } throws: { error in
            guard case .memoryBoundExceeded(_, let estimate, _)? = error as? ONNXImportError else { return false }
            return estimate == 1 * 3 * 8 * 8 * 4
        }
    }
}
