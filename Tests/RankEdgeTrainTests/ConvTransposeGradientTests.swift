import Testing
import RankEdge
import RankEdgeReference
@testable import RankEdgeTrain

/// The trainer's transposed convolution: forward equal to the reference executor's, gradients of
/// the input, weight and bias equal to finite differences, at stride 2 with padding and output
/// padding (overlapping windows) and at stride 3 with a cropped edge.
@Suite struct ConvTransposeGradientTests {
    @Test func forwardAndGradient() throws {
        for (k, a) in [(3, ConvTranspose2DAttributes(stride: .square(2), padding: .same(1), outputPadding: .square(1))),
                       (2, ConvTranspose2DAttributes(stride: Size2(3, 2), padding: Padding(top: 0, left: 1, bottom: 1, right: 0)))] {
            let x = randomVariable([2, 5, 3, 3], seed: 1), w = randomVariable([3, k, k, 4], seed: 2), b = randomVariable([4], seed: 3)
            let reference = try ReferenceOps.convTranspose2d(Tensor(shape: TensorShape(x.shape), data: x.data),
                                                             weight: Tensor(shape: TensorShape(w.shape), data: w.data),
                                                             bias: Tensor(shape: [4], data: b.data), a)
            let y = convTranspose2d(x, weight: w, bias: b, attributes: a)
            #expect(Tensor(shape: TensorShape(y.shape), data: y.data).maxAbsDifference(reference) < 1e-5)
            let errs = gradientCheck([x, w, b]) { v in convTranspose2d(v[0], weight: v[1], bias: v[2], attributes: a) }
            #expect(errs.count == 3 && errs.allSatisfy { $0 < 1e-3 }, "kernel \(k): \(errs)")
        }
    }
}
