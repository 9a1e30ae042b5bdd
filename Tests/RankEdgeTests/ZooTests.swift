import Testing
@testable import RankEdge
@testable import RankEdgeZoo

@Suite struct ZooTests {
    @Test func rankFormulasMatchMethodsExamples() {
        // METHODS.md §3: [512, 512, 3, 3] at α=2, β=1 gives 309; a 64→256 1×1 at α=2 gives 25.
        let t = LowRankRanks.tucker2(inputs: 512, outputs: 512, kernel: 3, ratio: 2)
        #expect(t.r1 == 309 && t.r2 == 309)
        #expect(LowRankRanks.svd(inputs: 64, outputs: 256, ratio: 2) == 25)
    }

    @Test func imagenetResNetsMatchTorchvisionCounts() throws {
        // torchvision: resnet18 11 689 512 params, 1.814 GMACs; resnet50 25 557 032 params, 4.089 GMACs.
        let r18 = try Zoo.build("resnet18").cost().total
        #expect(r18.params == 11_689_512)
        #expect(abs(Double(r18.macs) / 1.8144e9 - 1) < 0.01)
        let r50 = try Zoo.build("resnet50").cost().total
        #expect(r50.params == 25_557_032)
        #expect(abs(Double(r50.macs) / 4.0895e9 - 1) < 0.01)
    }

    @Test func cifarResNetDepths() throws {
        // Conv layers: 1 stem + 2 per block + 2 projection shortcuts; plus the classifier = depth + 2.
        for (name, depth) in [("resnet20", 20), ("resnet56", 56)] {
            let g = try Zoo.build(name)
            let convs = g.nodes.filter { $0.op.kind == "conv2d" }.count
            #expect(convs == depth - 1 + 2)
            #expect(try g.inferShapes()[g.outputs[0]] == TensorShape([1, 10]))
        }
    }

    @Test func lowRankVariantsCutParamsNearTheRatio() throws {
        for name in ["resnet20", "resnet50", "minivgg-k5"] {
            let dense = try Zoo.build(name).cost().total
            let lrd = try Zoo.build(name, variant: .lrd, ratio: 2).cost().total
            let ratio = Double(dense.params) / Double(lrd.params)
            // Small first layers and BN stay dense, so the whole-model ratio falls a little short of 2.
            #expect(ratio > 1.5 && ratio < 2.4, "\(name): params ratio \(ratio)")
            #expect(lrd.macs < dense.macs)
        }
    }

    @Test func everyVariantBuildsAndValidates() throws {
        let variants: [String: [ZooVariant]] = [
            "minivgg-k3": [.dense, .lrd, .branched(2), .rank(1), .rank(3)],
            "minivgg-k7": [.rank(1), .rank(7)],
            "resnet20": [.dense, .lrd, .merged, .branched(4), .rank(1), .rank(2)],
            "resnet18": [.merged, .branched(2)],
        ]
        for (name, vs) in variants {
            for v in vs {
                let g = try Zoo.build(name, variant: v, seed: 3)
                try g.validate()
                #expect(g.metadata["rankedge.zoo"]?.contains("variant=\(v)") == true)
            }
        }
    }

    @Test func rankVariantUsesRankConvForSpatialKernelsOnly() throws {
        let g = try Zoo.build("resnet20", variant: .rank(1))
        let rank = g.nodes.filter { $0.op.kind == "rankConv2d" }
        let conv = g.nodes.filter { $0.op.kind == "conv2d" }
        #expect(rank.count == 19)           // every 3×3
        #expect(conv.count == 2)            // the two 1×1 projection shortcuts
    }

    @Test func badZooRequestsAreClearErrors() {
        #expect(throws: ZooError.self) { try Zoo.build("alexnet") }
        #expect(throws: ZooError.self) { try Zoo.build("minivgg-k5", variant: .merged) }
        #expect(throws: ZooError.self) { try Zoo.build("minivgg-k3", variant: .rank(4)) }
        #expect(throws: ZooError.self) { try Zoo.build("resnet20", ratio: 0.5) }
        #expect(ZooVariant(parsing: "branched:0") == nil)
        #expect(ZooVariant(parsing: "rank:2") == .rank(2))
    }

    @Test func sameSeedSameWeights() throws {
        #expect(try Zoo.build("resnet20", seed: 7) == Zoo.build("resnet20", seed: 7))
        #expect(try Zoo.build("resnet20", seed: 7).weights != Zoo.build("resnet20", seed: 8).weights)
    }
}
