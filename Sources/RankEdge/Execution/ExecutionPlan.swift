/// A compiled model bound to memory for one batch size and thread count: one arena holding every
/// activation at offsets fixed by the memory planner, one scratch region the steps take turns
/// with (im2col tiles, rank-conv tiles), and a list of steps whose pointers are resolved. Running it
/// allocates nothing (the GEMM engine keeps its packing buffers between calls).
final class ExecutionPlan {
    let batch: Int
    let threads: Int
    let steps: [ExecutionStep]
    let arena: FloatStorage
    let scratch: FloatStorage
    let inputs: [(name: String, pointer: UnsafeMutablePointer<Float>, shape: TensorShape)]
    let outputs: [(name: String, pointer: UnsafePointer<Float>, shape: TensorShape)]
    let requests: [BufferRequest]
    let layout: ArenaLayout
    let shapes: [String: TensorShape]

    /// `layout`, when given (from a compiled file), is used if it is valid for these buffers.
    init(model: CompiledModel, batch: Int, threads: Int, layout given: ArenaLayout? = nil) throws(ExecutionError) {
        self.batch = batch
        self.threads = threads
        let graph = model.graph
        do { shapes = try graph.inferShapes(batch: batch) } catch {
            throw .invalidOperands(op: "graph", node: nil, message: "\(error)")
        }
        let ops = model.ops
        var scratchFloats: [Int] = []
        for op in ops { scratchFloats.append(try Self.scratchFloats(op, shapes: shapes, threads: threads)) }
        let assignment = BufferAssignment(ops: ops, inputs: graph.inputs.map(\.name), outputs: graph.outputs, shapes: shapes)
        let scratchRegion = FloatStorage(count: scratchFloats.max() ?? 0)
        self.scratch = scratchRegion
        requests = assignment.requests
        if let given, MemoryPlanner.isValid(given, for: requests) {
            layout = given
        } else {
            layout = MemoryPlanner.plan(requests)
        }
        let layout = self.layout
        let arena = FloatStorage(count: layout.arenaFloats)
        self.arena = arena
        func pointer(_ tensor: String) -> UnsafeMutablePointer<Float> {
            arena.pointer + layout.offsets[assignment.tensorBuffer[tensor]!]
        }

        var steps: [ExecutionStep] = []
        let boundShapes = shapes
        for (i, op) in ops.enumerated() {
            let scratchBase = scratchFloats[i] > 0 ? scratchRegion.pointer : nil
            if let step = try Self.bind(op, shapes: boundShapes, pointer: pointer, scratchBase: scratchBase, threads: threads, isa: model.isa) {
                steps.append(step)
            } else {
                steps.append(NoStep())
            }
        }
        self.steps = steps
        let shapes = self.shapes
        inputs = graph.inputs.map { ($0.name, pointer($0.name), shapes[$0.name]!) }
        outputs = graph.outputs.map { ($0, UnsafePointer(pointer($0)), shapes[$0]!) }
    }

    var arenaBytes: Int { layout.arenaFloats * 4 }
    var lowerBoundBytes: Int { layout.lowerBoundFloats * 4 }
    var scratchBytes: Int { scratch.count * 4 }

    func execute(profile: UnsafeMutablePointer<Double>?, pool: ThreadPool) throws(ExecutionError) {
        let context = StepContext(threads: threads, pool: pool)
        if let profile {
            for (i, step) in steps.enumerated() {
                let start = monotonicNanoseconds()
                try step.execute(context)
                profile[i] += Double(monotonicNanoseconds() - start) * 1e-9
            }
        } else {
            for step in steps { try step.execute(context) }
        }
    }

    // MARK: Binding

    static func convGeometry(_ w: GEMMConvWeights, input: TensorShape, output: TensorShape) -> ConvGeometry {
        ConvGeometry(input: input, output: output, kh: w.kh, kw: w.kw, cg: w.cg, groups: w.groups, attributes: w.attributes)
    }

    /// Scratch floats an op needs at these shapes (all slots together).
    static func scratchFloats(_ op: LoweredOp, shapes: [String: TensorShape], threads: Int) throws(ExecutionError) -> Int {
        let input = shapes[op.inputs[0]]!, output = shapes[op.output]!
        switch op.kind {
        case .gemmConv(let w):
            let t = ConvStep.Tiling.choose(w, geometry: convGeometry(w, input: input, output: output), threads: threads)
            return t.scratchPerSlot * t.slots
        case .separableRankConv(let w):
            return SeparableRankConvStep.Tiling.choose(w, output: output, threads: threads).scratchFloats
        case .narrowConv(let w):
            return NarrowConvStep.Tiling.choose(w, input: input, output: output, threads: threads).planarFloats
        case .tuckerChain(let w):
            let t = TuckerChainStep.Tiling.choose(w, input: input, output: output, threads: threads)
            return t.scratchPerSlot * t.slots
        case .narrowChain(let w):
            return NarrowChainStep.Tiling.choose(w, input: input, output: output, threads: threads).scratchFloats
        default:
            return 0
        }
    }

    static func bind(_ op: LoweredOp, shapes: [String: TensorShape], pointer: (String) -> UnsafeMutablePointer<Float>,
                     scratchBase: UnsafeMutablePointer<Float>?, threads: Int, isa: GEMMISA) throws(ExecutionError) -> ExecutionStep? {
        let input = shapes[op.inputs[0]]!, output = shapes[op.output]!
        let x = UnsafePointer(pointer(op.inputs[0])), y = pointer(op.output)
        let residual = op.residual.map { UnsafePointer(pointer($0)) }
        if let r = op.residual, shapes[r] != output {
            throw .unsupported(node: op.name, message: "residual \(r) has shape \(shapes[r]!), output \(output)")
        }
        switch op.kind {
        case .gemmConv(let w):
            let g = convGeometry(w, input: input, output: output)
            let t = ConvStep.Tiling.choose(w, geometry: g, threads: threads)
            return ConvStep(name: op.name, weights: w, geometry: g, x: x, y: y, residual: residual, activation: op.activation,
                            tiling: t, scratch: SlotScratch(base: scratchBase, floatsPerSlot: t.scratchPerSlot))
        case .depthwise(let w):
            let g = ConvGeometry(input: input, output: output, kh: w.kh, kw: w.kw, cg: 1, groups: w.channels, attributes: w.attributes)
            return DepthwiseStep(weights: w, geometry: g, x: x, y: y, residual: residual, activation: op.activation, isa: isa)
        case .narrowConv(let w):
            let t = NarrowConvStep.Tiling.choose(w, input: input, output: output, threads: threads)
            return NarrowConvStep(weights: w, input: input, output: output, x: x, y: y, residual: residual,
                                  activation: op.activation, tiling: t, scratch: scratchBase!, isa: isa)
        case .separableRankConv(let w):
            let t = SeparableRankConvStep.Tiling.choose(w, output: output, threads: threads)
            return SeparableRankConvStep(weights: w, input: input, output: output, x: x, y: y, residual: residual,
                                         activation: op.activation, tiling: t, scratch: scratchBase!, isa: isa)
        case .narrowChain(let w):
            let t = NarrowChainStep.Tiling.choose(w, input: input, output: output, threads: threads)
            return NarrowChainStep(name: op.name, weights: w, input: input, output: output, x: x, y: y, residual: residual,
                                   activation: op.activation, tiling: t, scratch: scratchBase!, isa: isa)
        case .tuckerChain(let w):
            let t = TuckerChainStep.Tiling.choose(w, input: input, output: output, threads: threads)
            return TuckerChainStep(name: op.name, weights: w, input: input, output: output, x: x, y: y, residual: residual,
                                   activation: op.activation, tiling: t, scratch: SlotScratch(base: scratchBase, floatsPerSlot: t.scratchPerSlot))
        case .channelAffine(let scale, let shift):
            let c = input.dims.last!
            return ChannelAffineStep(x: x, y: y, rows: input.elementCount / max(c, 1), channels: c, scale: scale, shift: shift,
                                     activation: op.activation)
        case .maxPool(let a):
            return WindowPoolStep(PoolGeometry(n: input[0], h: input[1], w: input[2], c: input[3], oh: output[1], ow: output[2], attributes: a), .max, x: x, y: y)
        case .avgPool(let a):
            return WindowPoolStep(PoolGeometry(n: input[0], h: input[1], w: input[2], c: input[3], oh: output[1], ow: output[2], attributes: a), .average, x: x, y: y)
        case .globalAvgPool:
            return GlobalAvgPoolStep(n: input[0], positions: input[1] * input[2], c: input[3], x: x, y: y)
        case .add:
            return AddStep(a: x, b: UnsafePointer(pointer(op.inputs[1])), y: y, count: output.elementCount, activation: op.activation)
        case .activation:
            return ActivationStep(x: x, y: y, count: output.elementCount, activation: op.activation)
        case .softmax:
            let length = output.dims.last!
            return SoftmaxStep(rows: output.elementCount / max(length, 1), length: length, x: x, y: y)
        case .concat:
            let rows = output.elementCount / max(output.dims.last!, 1)
            return ConcatStep(rows: rows, inputs: op.inputs.map { (UnsafePointer(pointer($0)), shapes[$0]!.dims.last!) }, y: y)
        case .alias:
            return nil
        }
    }
}

/// The step of an alias: nothing to do.
final class NoStep: ExecutionStep {
    func execute(_ context: StepContext) {}
}
