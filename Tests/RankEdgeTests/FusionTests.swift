import Testing
@testable import RankEdge
@testable import RankEdgeZoo

@Suite struct FusionTests {
    @Test func residualBlockBecomesTwoSteps() throws {
        let g = try TestGraphs.shrink(Zoo.build("resnet20"), side: 8)
        let model = try GraphCompiler.compile(g)
        let block = model.ops.filter { $0.name.hasPrefix("layer1.0.") }
        #expect(block.map(\.nodes) == [["layer1.0.conv1", "layer1.0.relu1"], ["layer1.0.conv2", "layer1.0.add", "layer1.0.relu2"]])
        #expect(block[1].residual == "relu1")
        // With a projection shortcut the add's other input is the downsample conv's output.
        let down = model.ops.first { $0.nodes.contains("layer2.0.add") }!
        let shortcut = model.ops.first { $0.name == "layer2.0.downsample.conv" }!
        #expect(down.name == "layer2.0.conv2" && down.residual == shortcut.output)
        #expect(!model.ops.contains { $0.kernel == "add" || $0.kernel == "relu" })
    }

    @Test func sharedOrOutputTensorsAreNotFused() throws {
        var b = GraphBuilder(name: "shared", shape: [1, 4, 4, 3], seed: 2)
        let c = b.conv("input", out: 3, kernel: 3, name: "c")
        let r = b.relu(c, name: "r")                    // c is also read by the add below
        let s = b.addTensors(c, r, name: "s")
        let c2 = b.conv(s, out: 3, kernel: 1, name: "c2")
        let r2 = b.relu(c2, name: "r2")                 // c2 is a graph output
        let d = b.addTensors(r2, r2, name: "twice")     // add(t, t): no other input to use as residual
        let g = b.build(outputs: [d, c2])
        let groups = EpilogueFusion.groups(g)
        let names = groups.map { $0.members.map { g.nodes[$0].name } }
        #expect(names.contains(["c"]))
        #expect(names.contains(["c2"]))
        #expect(names.contains(["r", ]) || names.contains(["r"]))
        try FastOpsTests.check(g, batch: 2)
    }

    @Test func removeIdentitiesDropsDropoutButKeepsOutputs() throws {
        var b = GraphBuilder(name: "drop", shape: [1, 4, 4, 2], seed: 3)
        let d1 = b.dropout("input", rate: 0.5, name: "d1")
        let d2 = b.dropout(d1, rate: 0.5, name: "d2")
        let c = b.conv(d2, out: 2, kernel: 1, name: "c")
        let d3 = b.dropout(c, rate: 0.5, name: "d3")
        let g = b.build(outputs: [d3])
        let cleaned = RemoveIdentities.apply(g)
        #expect(cleaned.nodes.map(\.name) == ["c", "d3"])
        #expect(cleaned.nodes[0].inputs[0] == "input")
        #expect(try CompilerPassTests.relativeDifference(g, cleaned) == 0)
    }
}
