import RankEdge

/// How a RankConv2D runs during training. Both give the same function (up to rounding).
public enum RankExecution: String, Sendable, Codable, CaseIterable {
    /// Measure both forms on the first training batch and keep the faster.
    case auto
    /// Rebuild the dense k×k kernel from the factors each step and run one ordinary conv.
    case reconstruct
    /// A 1×k grouped conv per input channel, then a k×1 grouped conv per output channel (2Lk MACs
    /// per (o, c) pair instead of k², but an S·C·L-channel intermediate).
    case separable
}

/// A k×k conv whose every (out, in) kernel is rank L: W[o, c] = Σ_l a[o,c,l] ⊗ b[o,c,l]
/// (METHODS.md §1). Factors a (vertical) and b (horizontal) are [S, C, L, k], the runtime's
/// rankConv2d layout, so export is a copy.
public final class RankConv2D: Module {
    public let name: String
    public let a: Variable
    public let b: Variable
    public let bias: Variable?
    public let rank: Int, kernel: Int, stride: Int
    public let inChannels: Int, outChannels: Int
    /// The form used for training; `.auto` until the first training batch has been measured.
    public internal(set) var execution: RankExecution
    /// Seconds per forward+backward of each form from the auto measurement (empty otherwise).
    public private(set) var measured: [RankExecution: Double] = [:]

    /// Factors from the SVD of a PyTorch-default-initialised k×k kernel per (o, c), √σ on both
    /// sides: the paper's initialisation, which keeps the reconstructed kernel's scale.
    public init(name: String, inChannels c: Int, outChannels s: Int, kernel k: Int, rank l: Int, stride: Int = 1,
                bias: Bool = true, execution: RankExecution = .auto, rng: inout SeededRandom) throws {
        precondition(l >= 1 && l <= k, "RankConv2D \(name): rank \(l) outside 1...\(k)")
        self.name = name; rank = l; kernel = k; self.stride = stride; inChannels = c; outChannels = s
        self.execution = execution
        let fanIn = c * k * k
        let full = defaultInit(s * c * k * k, fanIn: fanIn, rng: &rng)
        var av = [Float](repeating: 0, count: s * c * l * k), bv = av
        for pair in 0..<(s * c) {
            let svd = try SVD(Array(full[(pair * k * k)..<((pair + 1) * k * k)]), rows: k, cols: k)
            for r in 0..<l {
                let root = svd.s[r].squareRoot()
                for i in 0..<k {
                    av[(pair * l + r) * k + i] = root * svd.u[i * k + r]
                    bv[(pair * l + r) * k + i] = root * svd.vt[r * k + i]
                }
            }
        }
        a = Variable(shape: [s, c, l, k], data: av, requiresGrad: true)
        b = Variable(shape: [s, c, l, k], data: bv, requiresGrad: true)
        self.bias = bias ? Variable(shape: [s], data: defaultInit(s, fanIn: fanIn, rng: &rng), requiresGrad: true) : nil
    }

    public var attributes: RankConv2DAttributes {
        RankConv2DAttributes(stride: .square(stride), padding: .same((kernel - 1) / 2))
    }

    public func forward(_ x: Variable, _ context: ForwardContext) -> Variable {
        if execution == .auto && context.mode == .training { chooseExecution(x) }
        return forward(x, form: execution == .separable ? .separable : .reconstruct, a: a, b: b, bias: bias)
    }

    func forward(_ x: Variable, form: RankExecution, a: Variable, b: Variable, bias: Variable?) -> Variable {
        let pad = (kernel - 1) / 2
        switch form {
        case .separable:
            let (c, s, l) = (inChannels, outChannels, rank)
            let horizontal = conv2d(x, weight: horizontalKernel(b), bias: nil,
                                    attributes: Conv2DAttributes(stride: Size2(1, stride), padding: Padding(top: 0, left: pad, bottom: 0, right: pad),
                                                                 groups: c))
            // Grouped by input channel → grouped by output channel for the vertical pass.
            let byOutput = permuteChannels(horizontal, (0..<(s * c * l)).map { j in
                let (o, rest) = j.quotientAndRemainder(dividingBy: c * l)
                let (ci, r) = rest.quotientAndRemainder(dividingBy: l)
                return ci * s * l + o * l + r
            })
            return conv2d(byOutput, weight: verticalKernel(a), bias: bias,
                          attributes: Conv2DAttributes(stride: Size2(stride, 1), padding: Padding(top: pad, left: 0, bottom: pad, right: 0),
                                                       groups: s))
        case .auto, .reconstruct:
            return conv2d(x, weight: rankKernel(a: a, b: b), bias: bias,
                          attributes: Conv2DAttributes(stride: .square(stride), padding: .same(pad)))
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
    public func separableIntermediateBytes(input shape: [Int]) -> Int {
        let outWidth = (shape[2] + 2 * ((kernel - 1) / 2) - kernel) / stride + 1
        return shape[0] * shape[1] * max(outWidth, 0) * outChannels * inChannels * rank * MemoryLayout<Float>.size
    }

    /// The separable form is not even measured above this intermediate size: it would cost
    /// gigabytes per layer and lose to the GEMM conv anyway (docs/BENCHMARKS.md).
    public static let separableMeasurementBudget = 1 << 30

    /// Times forward + backward of both forms on this batch, with copies of every parameter so the
    /// real gradients are untouched, and keeps the faster form.
    private func chooseExecution(_ x: Variable) {
        let input = Variable(shape: x.shape, value: x.value, requiresGrad: x.requiresGrad)
        let forms: [RankExecution] = separableIntermediateBytes(input: x.shape) <= Self.separableMeasurementBudget
            ? [.reconstruct, .separable] : [.reconstruct]
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
        execution = (measured[.separable] ?? .infinity) < measured[.reconstruct]! ? .separable : .reconstruct
    }

    public var parameters: [NamedTensor] {
        [NamedTensor(name: "\(name).a", variable: a), NamedTensor(name: "\(name).b", variable: b)]
            + (bias.map { [NamedTensor(name: "\(name).bias", variable: $0)] } ?? [])
    }

    public func export(into builder: inout GraphBuilder, input: String) -> String {
        builder.addWeight("\(name).a", a.runtimeTensor)
        builder.addWeight("\(name).b", b.runtimeTensor)
        var inputs = [input, "\(name).a", "\(name).b"]
        if let bias { builder.addWeight("\(name).bias", bias.runtimeTensor); inputs.append("\(name).bias") }
        return builder.add(.rankConv2d(attributes), name: name, inputs: inputs,
                           provenance: "rank-\(rank) \(kernel)x\(kernel) conv trained in factored form")
    }
}
