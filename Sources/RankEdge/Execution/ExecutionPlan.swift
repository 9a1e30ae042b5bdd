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
    /// Nothing is allocated before the memory the plan needs (arena, scratch, plus `residentBytes`
    /// already held, the weights) is known to be within `maxMemoryBytes`.
    init(model: CompiledModel, batch: Int, threads: Int, layout given: ArenaLayout? = nil,
         maxMemoryBytes: Int = .max, residentBytes: Int = 0) throws(ExecutionError) {
        self.batch = batch
        self.threads = threads
        let graph = model.graph
        do { shapes = try graph.inferShapes(batch: batch) } catch {
            throw .invalidOperands(op: "graph", node: nil, message: "\(error)")
        }
        // Every arena holds its largest tensor: refusing here, before the kernels size their tiles
        // and scratch from these shapes, also keeps those products far from Int overflow.
        // Ties go to the first name, so the message is the same from run to run.
        if let largest = shapes.max(by: { ($0.value.checkedElementCount ?? .max, $1.key) < ($1.value.checkedElementCount ?? .max, $0.key) }) {
            try MemoryBound.check(largest.value.checkedElementCount.flatMap { MemoryBound.bytes(floats: $0) }, bound: maxMemoryBytes,
                                  what: "'\(graph.name)' at batch \(batch) (tensor '\(largest.key)' \(largest.value) alone)")
        }
        let ops = model.ops
        let planShapes = shapes
        func stepShapes(_ op: LoweredOp) -> StepShapes { StepShapes(inputs: op.inputs.map { planShapes[$0]! }, output: planShapes[op.output]!) }
        let reshaped = ops.map { ReshapedKernel($0.prepared, stepShapes($0), threads: threads) }
        let scratchFloats = reshaped.map { $0.scratchFloats }
        let assignment = BufferAssignment(ops: ops, inputs: graph.inputs.map { $0.name }, outputs: graph.outputs, shapes: shapes)
        requests = assignment.requests
        if let given, MemoryPlanner.isValid(given, for: requests) {
            layout = given
        } else {
            layout = MemoryPlanner.plan(requests)
        }
        let layout = self.layout
        let scratchCount = scratchFloats.max() ?? 0
        let (arenaBytes, scratchBytes) = (MemoryBound.bytes(floats: layout.arenaFloats), MemoryBound.bytes(floats: scratchCount))
        try MemoryBound.check(MemoryBound.sum([arenaBytes, scratchBytes, residentBytes]), bound: maxMemoryBytes,
                              what: "'\(graph.name)' at batch \(batch) (activation arena \(MemoryBound.describe(arenaBytes)), "
                                  + "scratch \(MemoryBound.describe(scratchBytes)), weights \(MemoryBound.describe(residentBytes)))")
        // Within the bound, the system may still refuse (a bound raised past physical memory):
        // an error then, not the abort of Swift's allocator.
        guard let scratchRegion = FloatStorage(refusable: scratchCount), let arena = FloatStorage(refusable: layout.arenaFloats) else {
            throw .allocationRefused(what: "'\(graph.name)' at batch \(batch) (activation arena \(MemoryBound.describe(arenaBytes)), "
                                         + "scratch \(MemoryBound.describe(scratchBytes)))")
        }
        self.scratch = scratchRegion
        self.arena = arena
        func pointer(_ tensor: String) -> UnsafeMutablePointer<Float> {
            arena.pointer + layout.offsets[assignment.tensorBuffer[tensor]!]
        }

        var steps: [ExecutionStep] = []
        for (i, op) in ops.enumerated() {
            let output = planShapes[op.output]!
            if let r = op.residual, planShapes[r] != output {
                throw .unsupported(node: op.name, message: "residual \(r) has shape \(planShapes[r]!), output \(output)")
            }
            // A function the kernel does not apply itself runs over the output right after the step.
            let trailing = op.prepared.appliesActivationFunctions ? nil : op.activation.function
            let binding = StepBinding(name: op.name, shapes: stepShapes(op), inputs: op.inputs.map { UnsafePointer(pointer($0)) },
                                      y: pointer(op.output), residual: op.residual.map { UnsafePointer(pointer($0)) },
                                      activation: trailing == nil ? op.activation : .none,
                                      scratch: scratchFloats[i] > 0 ? scratchRegion.pointer : nil, threads: threads, isa: model.isa)
            var step = try reshaped[i].bind(binding) ?? NoStep()
            if let trailing {
                let y = pointer(op.output)
                step = StepSequence([step, UnaryStep(trailing, x: y, y: y, count: output.elementCount, isa: model.isa)])
            }
            steps.append(step)
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
}

/// Steps run one after the other as one (a kernel's step and the activation function after it),
/// so the profile keeps one entry per compiled op.
final class StepSequence: ExecutionStep {
    let steps: [ExecutionStep]
    init(_ steps: [ExecutionStep]) { self.steps = steps }
    func execute(_ context: StepContext) throws(ExecutionError) {
        for step in steps { try step.execute(context) }
    }
}

/// The step of an alias: nothing to do.
final class NoStep: ExecutionStep {
    func execute(_ context: StepContext) {}
}
