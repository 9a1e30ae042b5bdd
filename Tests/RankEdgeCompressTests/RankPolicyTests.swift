import Testing
import RankEdge
@testable import RankEdgeCompress

/// Ranks from the weights alone (seed 003's closed form, the energy rule, rounding), and the
/// `--rank` / `--snap` grammars.
@Suite struct RankPolicyTests {
    // MARK: closed form

    /// METHODS.md §3's worked checks.
    @Test func ratioMatchesTheWorkedExamples() {
        let big = CT.analysis(LayerWeight(outputs: 512, kernelH: 3, kernelW: 3, inputs: 512,
                                          data: [Float](repeating: 0, count: 512 * 9 * 512)))
        #expect(ClosedFormRanks.ratio(big, method: .tucker2, alpha: 2, beta: 1) == [309, 309])
        let tuckerParams = big.params(.tucker2, ranks: [309, 309])
        #expect(Double(tuckerParams) <= Double(big.originalWeightParams) / 2)
        #expect(Double(tuckerParams) >= 0.49 * Double(big.originalWeightParams))

        let pointwise = CT.analysis(LayerWeight(outputs: 256, kernelH: 1, kernelW: 1, inputs: 64,
                                                data: [Float](repeating: 0, count: 256 * 64)))
        #expect(ClosedFormRanks.ratio(pointwise, method: .svd, alpha: 2, beta: 1) == [25])
        let svdParams = pointwise.params(.svd, ranks: [25])
        #expect(svdParams == 25 * (64 + 256))
        #expect(Double(svdParams) >= 0.45 * Double(pointwise.originalWeightParams))
    }

    /// On odd layers, every method lands at (or just under) 1/α of the parameters.
    @Test(arguments: [1.5, 2.0, 3.0, 4.0])
    func ratioLandsNearOneOverAlpha(alpha: Double) {
        let a = CT.analysis(CT.weight(outputs: 48, kernelH: 3, kernelW: 3, inputs: 40, seed: 70))
        let original = Double(a.originalWeightParams)
        for method in [DecompositionMethod.svd, .tucker2, .spatial] {
            let ranks = ClosedFormRanks.ratio(a, method: method, alpha: alpha, beta: 1)
            let p = Double(a.params(method, ranks: ranks))
            #expect(p <= original / alpha * 1.0001, "\(method) at α = \(alpha): \(ranks)")
            // One more unit of rank would pass the target: the floor is the only loss.
            let next = Double(a.params(method, ranks: ranks.map { $0 + 1 }))
            #expect(next > original / alpha, "\(method) at α = \(alpha): \(ranks) is not the largest")
            #expect(zip(ranks, a.fullRanks(method)).allSatisfy { $0 >= 1 && $0 <= $1 })
        }
        // Rank-L: L = ⌊k / 2α⌋, at least 1.
        #expect(ClosedFormRanks.ratio(a, method: .rankL, alpha: alpha, beta: 1) == [max(1, Int(3 / (2 * alpha)))])
        let five = CT.analysis(CT.weight(outputs: 6, kernelH: 5, kernelW: 5, inputs: 4, seed: 71))
        #expect(ClosedFormRanks.ratio(five, method: .rankL, alpha: 1.25, beta: 1) == [2])
    }

    @Test func ratioBetaScalesTheSecondTuckerRank() {
        let a = CT.analysis(CT.weight(outputs: 48, kernelH: 3, kernelW: 3, inputs: 40, seed: 72))
        let half = ClosedFormRanks.ratio(a, method: .tucker2, alpha: 2, beta: 0.5)
        let even = ClosedFormRanks.ratio(a, method: .tucker2, alpha: 2, beta: 1)
        #expect(abs(Double(half[1]) - 0.5 * Double(half[0])) <= 1)
        #expect(half[0] > even[0])
        #expect(Double(a.params(.tucker2, ranks: half)) <= Double(a.originalWeightParams) / 2)
        // A tiny ratio never asks for more than the full ranks.
        let small = CT.analysis(CT.weight(outputs: 5, kernelH: 3, kernelW: 3, inputs: 4, seed: 73))
        #expect(zip(ClosedFormRanks.ratio(small, method: .tucker2, alpha: 1.01, beta: 8), small.fullRanks(.tucker2)).allSatisfy { $0 <= $1 })
    }

    @Test func energyRanksGrowWithTheFractionAndReachFullRank() throws {
        let a = CT.analysis(CT.weight(outputs: 11, kernelH: 3, kernelW: 3, inputs: 13, seed: 74))
        for method in [DecompositionMethod.svd, .tucker2, .spatial, .rankL] {
            var previous = [Int](repeating: 0, count: a.fullRanks(method).count)
            for e in [0.05, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0] {
                let ranks = try ClosedFormRanks.energy(a, method: method, fraction: e)
                #expect(zip(ranks, previous).allSatisfy { $0 >= $1 }, "\(method) at \(e): \(ranks) after \(previous)")
                #expect(ranks.allSatisfy { $0 >= 1 })
                previous = ranks
            }
            #expect(previous == a.fullRanks(method), "\(method) at E = 1")
        }
        // The SVD rank is the smallest holding E of Σσ².
        let sigma = try a.svd().singularValues.map { Double($0) * Double($0) }
        let total = sigma.reduce(0, +)
        for e in [0.3, 0.8, 0.95] {
            let r = try ClosedFormRanks.energy(a, method: .svd, fraction: e)[0]
            #expect(sigma.prefix(r).reduce(0, +) >= e * total * (1 - 1e-9))
            #expect(sigma.prefix(r - 1).reduce(0, +) < e * total)
        }
    }

    @Test func roundingToMultiplesAndBranches() {
        #expect(ClosedFormRanks.multiple([13, 7], of: 4, full: [13, 11]) == [12, 4])
        #expect(ClosedFormRanks.multiple([3], of: 4, full: [11]) == [4])
        #expect(ClosedFormRanks.multiple([16], of: 8, full: [16]) == [16])
        #expect(ClosedFormRanks.multiple([9], of: 1, full: [13]) == [9])
        // Never above the full rank, even when that is below n.
        #expect(ClosedFormRanks.multiple([3], of: 8, full: [5]) == [5])
        for n in 2...4 {
            for r in 1...13 {
                let b = ClosedFormRanks.branchable([r, r + 2], branches: n)
                #expect(b.allSatisfy { $0 % n == 0 && $0 >= n })
                #expect(b[0] <= max(r, n) && b[0] > max(r, n) - n)
            }
        }
    }

    // MARK: --rank

    @Test func parsesEveryValidPolicy() throws {
        let cases: [(String, RankPolicy)] = [
            ("ratio:2", .ratio(2, beta: 1)),
            ("ratio:2.5:0.5", .ratio(2.5, beta: 0.5)),
            ("ratio:1.01", .ratio(1.01, beta: 1)),
            ("energy:0.9", .energy(0.9)),
            ("energy:1", .energy(1)),
            ("utilized", .utilized(epsilon: 0.1)),
            ("utilized:0.5", .utilized(epsilon: 0.5)),
            ("utilized:0", .utilized(epsilon: 0)),
            ("perturbation:0.5", .perturbation(sparsity: 0.5, score: .output, blocks: .none)),
            ("perturbation:0", .perturbation(sparsity: 0, score: .output, blocks: .none)),
            ("perturbation:0.9:score=relerr", .perturbation(sparsity: 0.9, score: .relerr, blocks: .none)),
            ("perturbation:0.9:blocks=alds", .perturbation(sparsity: 0.9, score: .output, blocks: .alds)),
            ("perturbation:0.3:score=magnitude:blocks=square", .perturbation(sparsity: 0.3, score: .magnitude, blocks: .square)),
            ("perturbation:0.3:blocks=square:score=variance", .perturbation(sparsity: 0.3, score: .variance, blocks: .square)),
            ("budget:macs=0.6", .budgetMACs(0.6)),
            ("budget:latency=0.5", .budgetLatency(0.5)),
        ]
        for (text, expected) in cases {
            let policy = try RankPolicy.parse(text)
            #expect(policy == expected, "\(text)")
            // The description parses back to the same policy.
            #expect(try RankPolicy.parse(policy.description) == policy, "\(text) → \(policy.description)")
        }
        #expect(RankPolicy.ratio(2, beta: 1).description == "ratio:2")
        #expect(RankPolicy.budgetMACs(0.6).description == "budget:macs=0.6")
        #expect(!RankPolicy.ratio(2, beta: 1).needsData && !RankPolicy.energy(0.5).needsData)
        #expect(RankPolicy.utilized(epsilon: 0.1).needsData && RankPolicy.budgetMACs(0.5).needsData && RankPolicy.budgetLatency(0.5).needsData)
        #expect(RankPolicy.perturbation(sparsity: 0.5, score: .output, blocks: .none).needsData)
        #expect(RankPolicy.perturbation(sparsity: 0.5, score: .variance, blocks: .none).needsData)
        #expect(!RankPolicy.perturbation(sparsity: 0.5, score: .relerr, blocks: .alds).needsData)
        #expect(!RankPolicy.perturbation(sparsity: 0.5, score: .magnitude, blocks: .none).needsData)
    }

    static let badPolicies = [
        // unknown policy
        "", "rank", "Ratio:2", "svd:2", "energy0.9",
        // ratio ≤ 1, not a number, malformed
        "ratio", "ratio:", "ratio:1", "ratio:0.5", "ratio:-2", "ratio:x", "ratio:nan", "ratio:inf", "ratio:2:0",
        "ratio:2:-1", "ratio:2:b", "ratio:2:1:1",
        // energy outside (0, 1]
        "energy", "energy:0", "energy:-0.1", "energy:1.01", "energy:2", "energy:abc", "energy:0.5:1",
        // utilized
        "utilized:-1", "utilized:100", "utilized:x", "utilized:0.1:2",
        // sparsity outside [0, 1), bad score or blocks
        "perturbation", "perturbation:1", "perturbation:1.5", "perturbation:-0.1", "perturbation:x",
        "perturbation:0.5:score=l2", "perturbation:0.5:blocks=diagonal", "perturbation:0.5:score",
        "perturbation:0.5:score=", "perturbation:0.5:depth=2", "perturbation:0.5:", "perturbation:0.5:Score=output",
        // bad budget
        "budget", "budget:", "budget:macs", "budget:macs=", "budget:macs=0", "budget:macs=1", "budget:macs=1.5",
        "budget:macs=-0.5", "budget:flops=0.5", "budget:latency=x", "budget:macs=0.5:x", "budget:0.5",
    ]

    @Test(arguments: badPolicies)
    func rejectsBadPolicyInOneLine(text: String) {
        do {
            let p = try RankPolicy.parse(text)
            Issue.record("'\(text)' parsed as \(p)")
        } catch {
            guard case .badPolicy(let message) = error else { Issue.record("'\(text)': \(error) is not badPolicy"); return }
            #expect(!message.isEmpty)
            #expect(!error.description.contains("\n"), "'\(text)': \(error.description)")
            #expect(error.description.hasPrefix("bad --rank policy: "))
        }
    }

    @Test func badPolicyMessagesSayWhatIsWrong() {
        func message(_ text: String) -> String {
            do { _ = try RankPolicy.parse(text); return "" } catch { return error.description }
        }
        #expect(message("nope:1").contains("unknown policy 'nope'"))
        #expect(message("ratio:1").contains("greater than 1"))
        #expect(message("energy:1.5").contains("(0, 1]"))
        #expect(message("perturbation:1").contains("[0, 1)"))
        #expect(message("perturbation:0.5:score=l2").contains("unknown score 'l2'"))
        #expect(message("perturbation:0.5:blocks=x").contains("unknown blocks 'x'"))
        #expect(message("budget:flops=0.5").contains("unknown budget 'flops'"))
        #expect(message("budget:macs=1").contains("(0, 1)"))
        #expect(message("ratio:abc").contains("'abc' is not a number"))
    }

    // MARK: --snap

    @Test func parsesSnap() throws {
        #expect(try RankSnap.parse("none") == RankSnap.none)
        #expect(try RankSnap.parse("latency") == .latency)
        #expect(try RankSnap.parse("multiple:4") == .multiple(4))
        #expect(try RankSnap.parse("multiple:1") == .multiple(1))
        #expect(try RankSnap.parse("multiple:16") == .multiple(16))
        for s in [RankSnap.none, .latency, .multiple(8)] { #expect(try RankSnap.parse(s.description) == s) }
    }

    @Test(arguments: ["", "Latency", "multiple", "multiple:", "multiple:0", "multiple:-4", "multiple:x", "multiple:2.5",
                      "multiple:4:4", "multiples:4", "fast", "none:1"])
    func rejectsBadSnapInOneLine(text: String) {
        do {
            let s = try RankSnap.parse(text)
            Issue.record("'\(text)' parsed as \(s)")
        } catch {
            guard case .badOption = error else { Issue.record("'\(text)': \(error) is not badOption"); return }
            #expect(error.description.contains("--snap"))
            #expect(!error.description.contains("\n"))
        }
    }
}
