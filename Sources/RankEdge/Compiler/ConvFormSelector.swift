/// Which 3×3 and 5×5 stride-1 convs run in the Winograd form (`WinogradConv`), and with which tile:
/// each in the form that measures fastest on this CPU, none, or all of them with 2×2 output tiles
/// (`always`) or with 4×4 tiles for the 3×3 convs (`large`).
public enum WinogradPolicy: String, Sendable, CaseIterable {
    case measure
    case never
    case always
    case large

    /// The transform a policy that does not measure gives a conv with a k×k kernel.
    func fixedTransform(kernel: Int) -> WinogradTransform? {
        switch self {
        case .measure, .never: nil
        case .always: WinogradTransform.forKernel(kernel)
        case .large: WinogradTransform.largest(forKernel: kernel)
        }
    }
}

/// The form chosen for one conv that the Winograd form applies to and, when measured, the times.
public struct WinogradChoice: Sendable, Equatable {
    public var node: String
    /// The Winograd algorithm taken, nil for the GEMM form.
    public var transform: WinogradTransform?
    public var winograd: Bool { transform != nil }
    /// Median milliseconds of the layer alone in the GEMM form, with F(2×2, r×r), and with F(4×4, 3×3)
    /// (nil when not measured, or for a 5×5 kernel, which has no F(4×4) form here).
    public var gemmMs: Double?
    public var winogradMs: Double?
    public var winograd4Ms: Double?
}

/// What runs a low-rank chain 1×1 → k×k → 1×1 fused into one step.
enum ChainKernelChoice: Equatable {
    /// `NarrowChainStep`: a core narrow enough for the direct kernel.
    case narrow
    /// `TuckerChainStep`: the three convs on the GEMM, band by band.
    case tucker
}

/// What runs one conv2d node (not in a chain).
enum ConvKernelChoice: Equatable {
    case depthwise
    case narrowDirect
    /// `GroupedConvStep`: groups of 8 or 16 outputs, or a stem conv as one group; inputs read in place.
    case groupedDirect
    /// On the GEMM in this form; `blockDiagonal`: a grouped conv as one GEMM over its block-diagonal
    /// weight (`GEMMConvWeights.prefersBlockDiagonal`).
    case gemm(GEMMConvForm.Kind, blockDiagonal: Bool)
}

/// The one place that decides how a conv runs, for the compiler and for the trainer
/// (`BatchConvolution`). Each kernel family states where it applies (`DepthwiseWeights.applies`,
/// `NarrowConvWeights.applies`, `NarrowChainWeights.applies`, `WinogradConv.applies`,
/// `GEMMConvWeights.prefersShifted`, `prefersBlockDiagonal`); the selector weighs them in order and,
/// for the Winograd form, measures with `LayerTimer`.
///
/// Winograd saves multiply-adds (F(2×2, 3×3) 2.25× fewer, F(4×4, 3×3) 4×), but its transformed
/// weights are 16/9 (36/9) the size and its GEMMs have a quarter (a sixteenth) of the rows, and the
/// transforms cost more per output as the tile grows; so it loses where the weights dominate (few
/// pixels, many channels: the last ResNet-50 stage at batch 1), and the larger tile wins only where
/// there are pixels enough. The compiler measures per layer (layers of the same shape once).
public enum ConvFormSelector {
    /// The kernel for a conv2d node outside a chain, given the Winograd transform `chooseWinograd`
    /// picked for it (nil: none). Narrower kernels first: depthwise, then the narrow direct kernel,
    /// then a few narrow groups as one block-diagonal GEMM, then the direct grouped kernel, then the GEMM forms.
    static func inference(weight: TensorShape, attributes: Conv2DAttributes, input: TensorShape, output: TensorShape,
                          isa: GEMMISA, winograd: WinogradTransform?) -> ConvKernelChoice {
        if DepthwiseWeights.applies(weight: weight, attributes: attributes, inputChannels: input[3]) { return .depthwise }
        if NarrowConvWeights.applies(weight: weight, attributes: attributes, output: output) { return .narrowDirect }
        if GEMMConvWeights.prefersBlockDiagonal(weight: weight, groups: attributes.groups, isa: isa) {
            var dense = attributes
            dense.groups = 1
            return .gemm(GEMMConvForm.Kind.plain(kh: weight[1], kw: weight[2], attributes: dense), blockDiagonal: true)
        }
        if GroupedConvWeights.applies(weight: weight, attributes: attributes) { return .groupedDirect }
        if let winograd { return .gemm(.winograd(winograd), blockDiagonal: false) }
        if GEMMConvWeights.prefersShifted(weight: weight, attributes: attributes, input: input, output: output) {
            return .gemm(.shiftedRows, blockDiagonal: false)
        }
        return .gemm(GEMMConvForm.Kind.plain(kh: weight[1], kw: weight[2], attributes: attributes), blockDiagonal: false)
    }

    /// The kernel of a chain group (its three convs, in order): the narrow chain kernel where its
    /// core suits the narrow direct kernel (`NarrowChainWeights.applies`), else the GEMM chain.
    static func chain(_ nodes: [Node], graph: Graph, shapes: [String: TensorShape]) -> ChainKernelChoice {
        guard nodes.count == 3, case .conv2d(let coreAttributes) = nodes[1].op,
              let first = graph.weights[nodes[0].inputs[1]], let core = graph.weights[nodes[1].inputs[1]],
              let last = graph.weights[nodes[2].inputs[1]], let coreOutput = shapes[nodes[1].outputs[0]],
              NarrowChainWeights.applies(first: first.shape, core: core.shape, coreAttributes: coreAttributes,
                                         coreOutput: coreOutput, last: last.shape)
        else { return .tucker }
        return .narrow
    }

    /// A conv of a chain run on the GEMM (`TuckerChainStep`): the plain form, grouped cores block-diagonal
    /// where that fills the lanes as well.
    static func chainMember(weight: TensorShape, attributes: Conv2DAttributes, isa: GEMMISA) -> ConvKernelChoice {
        let blockDiagonal = GEMMConvWeights.prefersBlockDiagonal(weight: weight, groups: attributes.groups, isa: isa)
        var a = attributes
        if blockDiagonal { a.groups = 1 }
        return .gemm(GEMMConvForm.Kind.plain(kh: weight[1], kw: weight[2], attributes: a), blockDiagonal: blockDiagonal)
    }

    /// The form of a conv in training (`BatchConvolution`, batches of 32–128): Winograd where it
    /// applies and both sides have at least 16 channels (3×3) or 32 (5×5), with
    /// `trainingWinogradTransform`; else shifted rows where `prefersShifted`; else the plain form.
    ///
    /// In F(2×2, 3×3), measured at the trainer's batch of 64 on ResNet-20's 3×3 layers, Winograd was
    /// 1.2–1.4× faster than the GEMM form at 32 channels, 1.4–1.7× at 64, and 1.2× slower at 16, where
    /// its GEMMs are only 16 deep. F(4×4, 3×3) multiplies 1.8× less again: with it (and the Winograd
    /// weight gradient) a ResNet-20 training step ran 1.19× faster with the 16-channel layers
    /// included than with F(2×2, 3×3) from 32 (2 threads, Zen 1; docs/BENCHMARKS.md, trainer session
    /// 10). On mini-VGG's 5×5 layers F(2×2, 5×5) was about even at 32 channels (32×32 pixels) and
    /// 1.2–2× faster at 64 and 128; it was not measured at 16.
    static func training(weight: TensorShape, attributes: Conv2DAttributes, input: TensorShape, output: TensorShape) -> GEMMConvForm.Kind {
        let least = trainingWinogradChannels(kernel: weight[1])
        if WinogradConv.applies(weight: weight, attributes: attributes) && weight[0] >= least && weight[3] >= least,
           let t = trainingWinogradTransform(kernel: weight[1], outputHeight: output[1], outputWidth: output[2]) {
            return .winograd(t)
        }
        if GEMMConvWeights.prefersShifted(weight: weight, attributes: attributes, input: input, output: output) { return .shiftedRows }
        return GEMMConvForm.Kind.plain(kh: weight[1], kw: weight[2], attributes: attributes)
    }

    /// The fewest input and output channels at which training runs a conv (forward, input and
    /// weight gradients) in the Winograd form: 16 for 3×3 kernels, 32 for 5×5.
    public static func trainingWinogradChannels(kernel: Int) -> Int { kernel == 3 ? 16 : 32 }

    /// The training transform: F(4×4, 3×3) for 3×3 kernels whose output is at least 8 pixels each
    /// way, F(2×2, 3×3) for smaller ones (a 4×4 tile on a 2×2 or 4×6 output computes mostly throwaway
    /// outputs), F(2×2, 5×5) for 5×5. The 4×4 tiles round more than F(2×2, 3×3) (tested within 1e-4
    /// of the largest output, as the reference conv); for training that is far below the gradient noise.
    public static func trainingWinogradTransform(kernel: Int, outputHeight: Int, outputWidth: Int) -> WinogradTransform? {
        guard kernel == 3 else { return WinogradTransform.forKernel(kernel) }
        return min(outputHeight, outputWidth) >= 8 ? .f43 : .f23
    }

    /// The convs the Winograd form could take: 3×3 or 5×5, stride 1, one group, in no chain, and not taken by the
    /// narrow direct kernel (few output channels, where it beats any GEMM) or the direct kernel for
    /// stem convs (3 input channels: Winograd's GEMMs would be 3 deep).
    static func winogradCandidates(_ graph: Graph, groups: [FusionGroup], shapes: [String: TensorShape]) -> [Node] {
        groups.compactMap { group -> Node? in
            let node = graph.nodes[group.leader]
            guard !group.chain, case .conv2d(let attrs) = node.op, let w = graph.weights[node.inputs[1]],
                  let output = shapes[node.outputs[0]], output.rank == 4,
                  WinogradConv.applies(weight: w.shape, attributes: attrs),
                  !NarrowConvWeights.applies(weight: w.shape, attributes: attrs, output: output),
                  !GroupedConvWeights.isStem(weight: w.shape) else { return nil }
            return node
        }
    }

    /// The Winograd transform per chosen node, and what was decided for every candidate.
    static func chooseWinograd(_ graph: Graph, groups: [FusionGroup], policy: WinogradPolicy, batch: Int?, threads: Int,
                       isa: GEMMISA, cache: MeasurementCache? = nil) throws(RuntimeError) -> ([String: WinogradTransform], [WinogradChoice]) {
        if policy == .never { return ([:], []) }
        let shapes = try lift { () throws(GraphValidationError) in try graph.inferShapes(batch: batch ?? graph.inputs.first?.shape[0] ?? 1) }
        let nodes = winogradCandidates(graph, groups: groups, shapes: shapes)
        guard policy == .measure else {
            let choices = nodes.map { WinogradChoice(node: $0.name, transform: policy.fixedTransform(kernel: graph.weights[$0.inputs[1]]!.shape[1])) }
            return (Dictionary(uniqueKeysWithValues: choices.compactMap { c in c.transform.map { (c.node, $0) } }), choices)
        }
        var measured: [String: WinogradChoice] = [:]
        var chosen: [String: WinogradTransform] = [:]
        var choices: [WinogradChoice] = []
        for node in nodes {
            let input = shapes[node.inputs[0]]!, weight = graph.weights[node.inputs[1]]!
            let key = "\(input.dims) \(weight.shape.dims) \(node.op)"
            if measured[key] == nil {
                var single = node
                single.inputs = Array(node.inputs.prefix(2))  // the bias costs the same in every form
                let weights = [node.inputs[1]: weight]
                let small = WinogradTransform.forKernel(weight.shape[1])!
                let large = WinogradTransform.largest(forKernel: weight.shape[1])
                let policies: [WinogradPolicy] = large == small ? [.never, .always] : [.never, .always, .large]
                let times = try LayerTimer.timeInterleaved(policies.map { _ in (single, weights) }, input: input, isa: isa,
                                                                   threads: threads, winograd: policies, cache: cache)
                var choice = WinogradChoice(node: "", transform: nil, gemmMs: times[0], winogradMs: times[1],
                                            winograd4Ms: times.count > 2 ? times[2] : nil)
                let fastest = times.indices.min { times[$0] < times[$1] }!
                choice.transform = policies[fastest].fixedTransform(kernel: weight.shape[1])
                measured[key] = choice
            }
            var choice = measured[key]!
            choice.node = node.name
            if let t = choice.transform { chosen[node.name] = t }
            choices.append(choice)
        }
        return (chosen, choices)
    }
}
