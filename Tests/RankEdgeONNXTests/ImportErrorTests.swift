import Foundation
import Testing
import RankEdge
@testable import RankEdgeONNX
@testable import RankEdgeReference

/// Every way an import can fail gives its own typed error naming what is wrong; nothing traps.
@Suite struct ImportErrorTests {
    /// A tiny valid model: Conv → Relu.
    func convRelu() -> ONNXSketch {
        var m = ONNXSketch()
        m.input("x", [1, 2, 4, 4])
        m.randomInitializer("W", [3, 2, 3, 3])
        m.node("Conv", ["x", "W"], ["c"], name: "conv", [.ints("pads", [1, 1, 1, 1])])
        m.node("Relu", ["c"], ["y"], name: "relu")
        m.output("y")
        return m
    }

    @Test func validModelImports() throws {
        let g = try convRelu().importGraph()
        #expect(g.nodes.count == 2)
        #expect(g.metadata["onnx.opset"] == "13")
    }

    /// Truncating a model anywhere inside gives malformedProtobuf or, when the cut falls between
    /// fields, another typed error; never a crash and never a silent success with missing weights.
    @Test func truncatedBytes() {
        let bytes = convRelu().bytes
        var malformed = 0
        for cut in stride(from: 1, to: bytes.count, by: max(1, bytes.count / 97)) {
            do {
                _ = try ONNXImporter().importModel(Array(bytes.prefix(cut)))
                Issue.record("truncation at \(cut) of \(bytes.count) imported")
            } catch {
                if case .malformedProtobuf = error { malformed += 1 }
            }
        }
        #expect(malformed > 0)
        #expect(throws: ONNXImportError.self) { try ONNXImporter().importModel([0xFF, 0xFF, 0xFF]) }
        #expect(throws: ONNXImportError.self) { try ONNXImporter().importModel([]) }
    }

    @Test func unsupportedOpsAreAllListedWithNodeNames() {
        var m = ONNXSketch()
        m.input("x", [1, 4])
        m.node("LSTM", ["x"], ["a"], name: "lstm1")
        m.node("Einsum", ["a", "x"], ["b"], name: "g1")
        m.node("Relu", ["b"], ["c"], name: "ok")
        m.node("Einsum", ["c", "x"], ["d"])
        var custom = Onnx_NodeProto()
        custom.opType = "Relu"; custom.domain = "com.example"; custom.name = "mine"
        custom.input = ["d"]; custom.output = ["y"]
        m.nodes.append(custom)
        m.output("y")
        let expected = ONNXImportError.unsupportedOps([
            UnsupportedONNXOp(opType: "LSTM", nodes: ["lstm1"]),
            UnsupportedONNXOp(opType: "Einsum", nodes: ["g1", "Einsum_3"]),
            UnsupportedONNXOp(opType: "com.example.Relu", nodes: ["mine"]),
        ])
        #expect(throws: expected) { try m.importGraph() }
        #expect(expected.description == "unsupported ONNX ops: LSTM (node 'lstm1'), Einsum ×2 (first node 'g1'), com.example.Relu (node 'mine')")
    }

    @Test func missingInitializer() {
        var m = convRelu()
        m.initializers.removeAll()
        #expect(throws: ONNXImportError.missingInitializer(node: "conv", tensor: "W")) { try m.importGraph() }
    }

    @Test func weightComputedAtRunTimeIsRejected() {
        var m = convRelu()
        m.nodes[0].input[1] = "x"
        #expect(throws: ONNXImportError.unsupportedUse(node: "conv", opType: "Conv",
                                                       reason: "input 'x' must be a constant (an initializer), not computed at run time")) {
            try m.importGraph()
        }
    }

    @Test func undefinedActivation() {
        var m = convRelu()
        m.nodes[1].input[0] = "nowhere"
        #expect(throws: ONNXImportError.undefinedInput(node: "relu", tensor: "nowhere")) { try m.importGraph() }
    }

    @Test func dynamicShapes() throws {
        var batch = ONNXSketch()
        batch.input("x", [nil, 4], symbol: "batch")
        batch.node("Relu", ["x"], ["y"], name: "r")
        batch.output("y")
        #expect(try batch.importGraph().inputs[0].shape == TensorShape([1, 4]))

        var spatial = ONNXSketch()
        spatial.input("x", [1, 3, nil, 8], symbol: "height")
        spatial.node("Relu", ["x"], ["y"], name: "r")
        spatial.output("y")
        #expect(throws: ONNXImportError.dynamicShape(input: "x", axis: 2, dimension: "symbolic ('height')")) {
            try spatial.importGraph()
        }
    }

    @Test func unsupportedAttributeValues() {
        var autoPad = convRelu()
        autoPad.nodes[0].attribute = [stringAttribute("auto_pad", "SOMETIMES")]
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "conv", opType: "Conv", attribute: "auto_pad", value: "'SOMETIMES'")) {
            try autoPad.importGraph()
        }

        var conv3d = ONNXSketch()
        conv3d.input("x", [1, 2, 4, 4])
        conv3d.randomInitializer("W", [3, 2, 3, 3, 3])
        conv3d.node("Conv", ["x", "W"], ["y"], name: "c3")
        conv3d.output("y")
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "c3", opType: "Conv", attribute: "weight rank",
                                                             value: "5 (only 2-D convolutions, OIHW weights)")) {
            try conv3d.importGraph()
        }

        var wrongType = convRelu()
        wrongType.nodes[0].attribute = [.int("strides", 2)]
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "conv", opType: "Conv", attribute: "strides", value: "of attribute type int")) {
            try wrongType.importGraph()
        }

        var huge = convRelu()
        huge.nodes[0].attribute = [.ints("strides", [1 << 40, 1])]
        #expect(throws: ONNXImportError.self) { try huge.importGraph() }

        var reshape = ONNXSketch()
        reshape.input("x", [1, 2, 3, 4])
        reshape.int64Initializer("shape", [3], [1, 6, 4])
        reshape.node("Reshape", ["x", "shape"], ["y"], name: "rs")
        reshape.output("y")
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "rs", opType: "Reshape", attribute: "shape",
                                                             value: "[1, 6, 4] for input 4-D (only the flatten form [N, -1])")) {
            try reshape.importGraph()
        }

        var softmax = ONNXSketch(opset: 11)
        softmax.input("x", [1, 2, 3, 4])
        softmax.node("Softmax", ["x"], ["y"], name: "sm", [.int("axis", 1)])
        softmax.output("y")
        #expect(throws: ONNXImportError.self) { try softmax.importGraph() }
    }

    @Test func opsetOutOfRange() {
        var m = convRelu()
        m.opset = 8
        #expect(throws: ONNXImportError.unsupportedOpset(version: 8, supported: 9...21)) { try m.importGraph() }
    }

    @Test func badTensorData() {
        var m = convRelu()
        m.initializers[0].rawData = m.initializers[0].rawData.prefix(10)
        #expect(throws: ONNXImportError.invalidTensor(tensor: "W", reason: "raw_data holds 10 bytes, shape [3, 2, 3, 3] of FLOAT needs 216")) {
            try m.importGraph()
        }
        var external = convRelu()
        external.initializers[0].dataLocation = .external
        #expect(throws: ONNXImportError.self) { try external.importGraph() }
        var fp16 = convRelu()
        fp16.initializers[0].dataType = 10
        #expect(throws: ONNXImportError.self) { try fp16.importGraph() }
    }

    @Test func constantAddThatIsNotABias() throws {
        var m = ONNXSketch()
        m.input("x", [1, 3])
        m.initializer("b", [3], [1, 2, 3])
        m.node("Add", ["x", "b"], ["y"], name: "shift")
        m.output("y")
        // A per-feature constant: a channel affine with unit scale.
        let g = try m.importGraph()
        #expect(g.nodes.map(\.op) == [.channelAffine])
        #expect(try ReferenceExecutor(graph: g).run(Tensor(shape: [1, 3], data: [10, 20, 30])).data == [11, 22, 33])
    }

    @Test func flattenedFeatureMapAsGraphOutputIsRefused() {
        var m = ONNXSketch()
        m.input("x", [1, 2, 3, 3])
        m.node("Flatten", ["x"], ["y"], name: "flat")
        m.output("y")
        #expect(throws: ONNXImportError.self) { try m.importGraph() }
        // 1×1 spatial: the two flatten orders agree, so it is fine.
        var ok = ONNXSketch()
        ok.input("x", [1, 5, 1, 1])
        ok.node("Flatten", ["x"], ["y"], name: "flat")
        ok.output("y")
        #expect(throws: Never.self) { try ok.importGraph() }
    }

    @Test func shapeMismatchBecomesInvalidGraph() {
        var m = ONNXSketch()
        m.input("x", [1, 6])
        m.randomInitializer("W", [5, 3])
        m.node("MatMul", ["x", "W"], ["y"], name: "mm")
        m.output("y")
        do {
            _ = try m.importGraph()
            Issue.record("expected a failure")
        } catch {
            guard case .invalidGraph(let message) = error else { Issue.record("got \(error)"); return }
            #expect(message.contains("node 'mm'"))
        }
    }

    @Test func modelWithoutGraphOrInputs() {
        #expect(throws: ONNXImportError.invalidModel(reason: "the model has no graph")) {
            try ONNXImporter().importModel(try Onnx_ModelProto().serializedBytes())
        }
        var m = convRelu()
        m.inputs[0].type.tensorType.elemType = 7
        #expect(throws: ONNXImportError.self) { try m.importGraph() }
    }
}
