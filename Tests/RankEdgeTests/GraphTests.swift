import Testing
@testable import RankEdge
@testable import RankEdgeZoo

@Suite struct GraphTests {
    @Test func miniVGGk5ParamsAndMACsMatchHandCount() throws {
        let g = buildMiniVGG(MiniVGGOptions(kernel: 5))
        let (_, total) = try g.cost()
        // Convs: (3·25+1)·32 + (32·25+1)·32 + (32·25+1)·64 + (64·25+1)·64 + (64·25+1)·128 + (128·25+1)·128;
        // linears: 2049·128 + 129·10.
        let convs = [(3, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128)].reduce(0) { $0 + ($1.0 * 25 + 1) * $1.1 }
        #expect(total.params == convs + 2049 * 128 + 129 * 10)
        #expect(total.params == 1_060_010)
        // Conv MACs: 32² positions for block 1, 16² for block 2, 8² for block 3.
        let convMACs = 1024 * 25 * (3 * 32 + 32 * 32) + 256 * 25 * (32 * 64 + 64 * 64) + 64 * 25 * (64 * 128 + 128 * 128)
        #expect(total.macs == convMACs + 2048 * 128 + 128 * 10)
    }

    @Test func validationReportsEveryProblemWithNodeNames() {
        var g = buildMiniVGG(MiniVGGOptions(kernel: 3))
        g.nodes[1].inputs[0] = "nowhere"
        g.weights["fc2.bias"] = nil
        do {
            try g.validate()
            Issue.record("expected validation to fail")
        } catch let e as GraphValidationError {
            let text = e.description
            #expect(text.contains("'\(g.nodes[1].name)'"))
            #expect(text.contains("nowhere"))
            #expect(text.contains("fc2.bias"))
        } catch { Issue.record("unexpected error \(error)") }
    }

    @Test func cycleIsReported() {
        var b = GraphBuilder(name: "cyc", shape: [1, 4, 4, 2])
        let r1 = b.relu("input", name: "r1")
        let r2 = b.relu(r1, name: "r2")
        var g = b.build(outputs: [r2])
        g.nodes[0].inputs = ["r2"]
        #expect(throws: GraphValidationError.self) { try g.validate() }
        do { try g.validate() } catch { #expect("\(error)".contains("cycle")) }
    }

    @Test func shapeMismatchNamesNode() {
        var b = GraphBuilder(name: "bad", shape: [1, 8, 8, 3])
        let c = b.conv("input", out: 4, kernel: 3, name: "c1")
        var g = b.build(outputs: [c])
        g.weights["c1.weight"] = Tensor(zeros: TensorShape([4, 3, 3, 5]))
        do { try g.validate(); Issue.record("expected failure") } catch {
            #expect("\(error)".contains("node 'c1'"))
        }
    }
}
