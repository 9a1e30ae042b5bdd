import Testing
@testable import RankEdge

/// Small helpers shared by the reference executor's tests.
enum RefFixtures {
    static func tensor(_ shape: [Int], _ data: [Float]) -> Tensor { Tensor(shape: shape, data: data) }

    /// 0, 1, 2, … in row-major order.
    static func iota(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map(Float.init))
    }

    static func random(_ shape: [Int], _ rng: inout SeededRandom, bound: Float = 1) -> Tensor {
        Tensor(shape: shape, data: rng.uniformArray(count: shape.reduce(1, *), bound: bound))
    }

    /// Channel `c` of an NHWC tensor with N = 1, as rows of W values.
    static func channel(_ t: Tensor, _ c: Int) -> [[Float]] {
        let (h, w, cs) = (t.shape[1], t.shape[2], t.shape[3])
        return (0..<h).map { y in (0..<w).map { x in t.data[(y * w + x) * cs + c] } }
    }

    static func expectClose(_ actual: Tensor, _ expected: [Float], shape: [Int], tolerance: Float = 1e-5,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.shape == TensorShape(shape), sourceLocation: sourceLocation)
        guard actual.data.count == expected.count else {
            Issue.record("got \(actual.data.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
            return
        }
        for (i, (a, e)) in zip(actual.data, expected).enumerated() where abs(a - e) > tolerance * max(1, abs(e)) {
            Issue.record("element \(i): got \(a), expected \(e); all: \(actual.data)", sourceLocation: sourceLocation)
            return
        }
    }
}
