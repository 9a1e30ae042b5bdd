import Testing
import RankEdge
import RankEdgeONNX
import RankEdgeCompress
@testable import RankEdgeTrain
@testable import RankEdgeReference
@testable import RankEdgeZoo

/// Graphs as `rankedge import` makes them (ONNX weight names, "imported from ONNX …" provenance,
/// flatten/linear from Reshape/Gemm) train like the zoo's: tested on zoo graphs sent out through
/// the ONNX exporter and back, which needs no PyTorch (tools/pytorch_end_to_end.py runs the real
/// exporters).
@Suite struct ImportedGraphTests {
    static func roundTripped(_ name: String, _ variant: ZooVariant) throws -> Graph {
        try ONNXImporter().importModel(try ONNXExporter().exportModel(try Zoo.build(name, variant: variant, seed: 4)))
    }

    @Test(arguments: [("resnet20", ZooVariant.lrd), ("minivgg-k3", .dense), ("resnet20", .branched(2))])
    func evaluationForwardEqualsTheReferenceExecutor(name: String, variant: ZooVariant) throws {
        let graph = try Self.roundTripped(name, variant)
        let model = try TrainableGraph(graph)
        let x = TrainableGraphTests.input(graph.inputs[0].shape.dims, batch: 2, seed: 6)
        let expected = try ReferenceExecutor(graph: graph).run(x)
        let y = model.forward(Variable(shape: x.shape.dims, data: x.data), .evaluation)
        let err = zip(y.data, expected.data).map { abs($0 - $1) }.max()!
        #expect(err <= 1e-5 * max(expected.maxAbs, 1), "\(name) \(variant): \(err)")
        #expect(try model.exportGraph() == graph)
    }

    /// Seed 003's freezing finds the factors of a decomposed graph after export → import, from the
    /// provenance the exporter wrote and the importer prefixed.
    @Test func factorsAreFoundAfterExportAndImport() throws {
        let original = try Zoo.build("resnet20", variant: .lrd, seed: 4)
        let imported = try Self.roundTripped("resnet20", .lrd)
        #expect(imported.nodes.contains { $0.provenance?.hasPrefix("imported from ONNX") == true && $0.provenance!.contains("; ") })
        let before = Decomposition.all(in: original), after = Decomposition.all(in: imported)
        #expect(!before.isEmpty && after.map(\.source) == before.map(\.source) && after.map(\.kind) == before.map(\.kind))
        #expect(FactorFreezing.firstLast.nodes(in: imported).count == FactorFreezing.firstLast.nodes(in: original).count)
    }
}
