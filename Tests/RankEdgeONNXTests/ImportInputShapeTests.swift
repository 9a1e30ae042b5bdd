import Testing
@testable import RankEdge
@testable import RankEdgeONNX

/// `--input-shape`: symbolic dimensions given at import; fixed ones must agree; unknown names refused.
@Suite struct ImportInputShapeTests {
    static func dynamicModel() -> ONNXSketch {
        var m = ONNXSketch(opset: 17)
        m.input("x", [nil, 3, nil, nil], symbol: "H")
        m.node("Relu", ["x"], ["y"], name: "relu")
        m.output("y")
        return m
    }

    @Test func symbolicDimensionsAreGivenAtImport() throws {
        let m = Self.dynamicModel()
        #expect { try m.importGraph() } throws: { "\($0)".contains("--input-shape x=") }
        let g = try ONNXImporter(inputShapes: ["x": [1, 3, 24, 20]]).importModel(m.bytes)
        #expect(g.inputs.map(\.shape) == [TensorShape([1, 24, 20, 3])])
    }

    @Test func givenShapesAreChecked() {
        let bytes = Self.dynamicModel().bytes
        for (shapes, words) in [(["x": [1, 4, 24, 20]], "fixes it at 3"), (["x": [1, 3, 24]], "positive dimensions"),
                                (["z": [1, 3, 8, 8]], "not a graph input")] {
            #expect { try ONNXImporter(inputShapes: shapes).importModel(bytes) } throws: { "\($0)".contains(words) }
        }
    }
}
