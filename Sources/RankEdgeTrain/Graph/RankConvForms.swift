import RankEdge
import RankEdgeCompress

/// How a rankConv2d node runs during training. Both give the same function (up to rounding).
public enum RankExecution: String, Sendable, Codable, CaseIterable {
    /// Measure both forms on the first training batch and keep the faster.
    case auto
    /// Rebuild the dense k×k kernel from the factors each step and run one ordinary conv.
    case reconstruct
    /// A 1×k grouped conv per input channel, then a k×1 grouped conv per output channel (2Lk MACs
    /// per (o, c) pair instead of k², but an S·C·L-channel intermediate).
    case separable
}

/// A rank-L conv (METHODS.md §1) on the trainer's autodiff: W[o, c] = Σ_l a[o,c,l] ⊗ b[o,c,l] with
/// factors a (vertical) and b (horizontal) [S, C, L, k], in one of the two training forms.
struct RankConvForms {
    let attributes: RankConv2DAttributes
    let outChannels: Int, inChannels: Int, rank: Int, kernel: Int

    init(a: [Int], attributes: RankConv2DAttributes) {
        (outChannels, inChannels, rank, kernel) = (a[0], a[1], a[2], a[3])
        self.attributes = attributes
    }

    func forward(_ x: Variable, form: RankExecution, a: Variable, b: Variable, bias: Variable?) -> Variable {
        let p = attributes.padding
        switch form {
        case .separable:
            let (c, s, l) = (inChannels, outChannels, rank)
            let horizontal = conv2d(x, weight: horizontalKernel(b), bias: nil,
                                    attributes: Conv2DAttributes(stride: Size2(1, attributes.stride.w),
                                                                 padding: Padding(top: 0, left: p.left, bottom: 0, right: p.right),
                                                                 groups: c))
            // Grouped by input channel → grouped by output channel for the vertical pass.
            let byOutput = permuteChannels(horizontal, (0..<(s * c * l)).map { j in
                let (o, rest) = j.quotientAndRemainder(dividingBy: c * l)
                let (ci, r) = rest.quotientAndRemainder(dividingBy: l)
                return ci * s * l + o * l + r
            })
            return conv2d(byOutput, weight: verticalKernel(a), bias: bias,
                          attributes: Conv2DAttributes(stride: Size2(attributes.stride.h, 1),
                                                       padding: Padding(top: p.top, left: 0, bottom: p.bottom, right: 0),
                                                       groups: s))
        case .auto, .reconstruct:
            return conv2d(x, weight: rankKernel(a: a, b: b), bias: bias,
                          attributes: Conv2DAttributes(stride: attributes.stride, padding: p))
        }
    }

    /// [C·S·L, 1, k, 1]: output channel c·S·L + o·L + l of the per-input-channel 1×k pass is b[o, c, l].
    private func horizontalKernel(_ b: Variable) -> Variable {
        let (c, s, l, k) = (inChannels, outChannels, rank, kernel)
        var idx = [Int](); idx.reserveCapacity(c * s * l * k)
        for ci in 0..<c { for o in 0..<s { for r in 0..<l { for j in 0..<k { idx.append(((o * c + ci) * l + r) * k + j) } } } }
        return gather(b, indices: idx, shape: [c * s * l, 1, k, 1])
    }

    /// [S, k, 1, C·L]: output o of the per-output-channel k×1 pass weighs input c·L + l, tap i by a[o, c, l, i].
    private func verticalKernel(_ a: Variable) -> Variable {
        let (c, s, l, k) = (inChannels, outChannels, rank, kernel)
        var idx = [Int](); idx.reserveCapacity(c * s * l * k)
        for o in 0..<s { for i in 0..<k { for ci in 0..<c { for r in 0..<l { idx.append(((o * c + ci) * l + r) * k + i) } } } }
        return gather(a, indices: idx, shape: [s, k, 1, c * l])
    }

    /// Bytes of one S·C·L-channel intermediate of the separable form for input `shape`; the form
    /// keeps two of them (and their gradients) per layer.
    func separableIntermediateBytes(input shape: [Int]) -> Int {
        let outWidth = (shape[2] + attributes.padding.left + attributes.padding.right - kernel) / attributes.stride.w + 1
        return shape[0] * shape[1] * max(outWidth, 0) * outChannels * inChannels * rank * MemoryLayout<Float>.size
    }

    /// The separable form is not even measured above this intermediate size: it would cost
    /// gigabytes per layer and lose to the GEMM conv anyway (docs/BENCHMARKS.md).
    static let separableMeasurementBudget = 1 << 30

    /// Times forward + backward of both forms on this batch, with copies of every parameter so the
    /// real gradients are untouched; returns the faster form and the seconds each took.
    func measure(_ x: Variable, a: Variable, b: Variable, bias: Variable?) -> (RankExecution, [RankExecution: Double]) {
        let input = Variable(shape: x.shape, value: x.value, requiresGrad: x.requiresGrad)
        let forms: [RankExecution] = separableIntermediateBytes(input: x.shape) <= Self.separableMeasurementBudget
            ? [.reconstruct, .separable] : [.reconstruct]
        var measured: [RankExecution: Double] = [:]
        for form in forms {
            let copies = [a, b, bias].map { $0.map { Variable(shape: $0.shape, value: $0.value.copy(), requiresGrad: true) } }
            var best = Double.infinity
            for _ in 0..<2 {
                for v in copies + [input] { v?.zeroGrad() }
                let start = monotonicNanoseconds()
                forward(input, form: form, a: copies[0]!, b: copies[1]!, bias: copies[2]).backward()
                best = min(best, Double(monotonicNanoseconds() - start) / 1e9)
            }
            measured[form] = best
        }
        let choice: RankExecution = (measured[.separable] ?? .infinity) < measured[.reconstruct]! ? .separable : .reconstruct
        return (choice, measured)
    }
}
