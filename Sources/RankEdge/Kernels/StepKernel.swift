/// Everything the runtime asks of one kernel family, in the spirit of XNNPACK's create → reshape →
/// setup:
/// - create: `lower` prepares the weights from the graph (for convs and chains when
///   `ConvFormSelector` names the family), or `decode` reads them from a compiled file;
/// - reshape: the tiling and scratch at a batch size and thread count (`ExecutionPlan`);
/// - bind: the step, its pointers into the arena resolved.
///
/// A kernel family lives in one folder under Kernels/ with its prepared weights, its step, its
/// file encoding and its selection rules; `KernelRegistry` lists the families by file kind.
/// Kernels are classes: a compiled model shares them between sessions, and class existentials are
/// what Embedded Swift supports.
protocol StepKernel: AnyObject, Sendable {
    /// What `reshape` decides and `bind` uses: tile sizes, slots, scratch per slot.
    associatedtype Tiling

    /// The kinds the family is stored under in compiled files (the registry's keys).
    static var fileKinds: [String] { get }
    /// The kind this kernel is stored under.
    var fileKind: String { get }
    /// The name in tables, profiles and JSON (`LoweredOp.kernel`).
    var name: String { get }
    /// Where the step's output lives (default: a buffer of its own).
    var memory: StepMemory { get }
    /// Whether the step applies a `GEMMActivation.function` itself, block by block as it writes
    /// (default no: the plan then binds it with no activation and runs the function after it).
    var appliesActivationFunctions: Bool { get }

    /// The kernel for a fusion group, its weights prepared, when the group is this family's to run
    /// (nil otherwise). `Lowering` offers every group to every family of `KernelRegistry`; exactly
    /// one takes it.
    static func lower(_ request: LoweringRequest) throws(ExecutionError) -> Self?
    /// The fields of the step's entry in a compiled file, weights stored through `encoder`.
    func encode(_ encoder: KernelEncoder) -> [(String, JSONValue)]
    /// The kernel from the fields `encode` wrote; every size and tensor is checked.
    static func decode(_ fields: JSONObject, kind: String, _ decoder: KernelDecoder) throws(CompiledModelError) -> Self
    /// Throws unless the prepared weights compute `shapes.output` from `shapes.inputs` (a compiled
    /// file's steps against its graph).
    func check(_ shapes: StepShapes, _ decoder: KernelDecoder) throws(CompiledModelError)

    func reshape(_ shapes: StepShapes, threads: Int) -> (tiling: Tiling, scratchFloats: Int)
    /// The step, or nil when there is nothing to run (an alias).
    func bind(_ tiling: Tiling, _ binding: StepBinding) throws(ExecutionError) -> ExecutionStep?
    /// `reshape` with its tiling kept for `bind` (the default below; a requirement so a plan reaches
    /// it through the witness table: Embedded Swift cannot open an existential into a generic call).
    func reshaped(_ shapes: StepShapes, threads: Int) -> ReshapedKernel
}

extension StepKernel {
    func reshaped(_ shapes: StepShapes, threads: Int) -> ReshapedKernel {
        let (tiling, scratch) = reshape(shapes, threads: threads)
        return ReshapedKernel(scratchFloats: scratch) { binding throws(ExecutionError) in try self.bind(tiling, binding) }
    }
    var fileKind: String { Self.fileKinds[0] }
    var memory: StepMemory { .newBuffer }
    var appliesActivationFunctions: Bool { false }
}

extension StepKernel where Tiling == Void {
    func reshape(_ shapes: StepShapes, threads: Int) -> (tiling: Void, scratchFloats: Int) { ((), 0) }
}

/// A kernel with no weights or attributes of its own: nothing to store in a file, nothing to read.
protocol AttributeFreeKernel: StepKernel {
    init()
}

extension AttributeFreeKernel {
    func encode(_ encoder: KernelEncoder) -> [(String, JSONValue)] { [] }
    static func decode(_ fields: JSONObject, kind: String, _ decoder: KernelDecoder) throws(CompiledModelError) -> Self { Self() }
}

/// Where a step's output lives (`BufferAssignment`).
enum StepMemory {
    /// A buffer of its own.
    case newBuffer
    /// Over an input of the same size that no later step reads, when there is one (elementwise steps).
    case inPlace
    /// The input's own memory: the step computes nothing (flatten, dropout).
    case alias
}

/// The shapes of a step at the batch size being bound.
struct StepShapes {
    /// Shapes of the step's activation inputs, in order.
    let inputs: [TensorShape]
    let output: TensorShape
    var input: TensorShape { inputs[0] }
}

/// What a kernel needs to build its step: pointers into the arena, the fused epilogue, the scratch
/// region and the threads.
struct StepBinding {
    let name: String
    let shapes: StepShapes
    let inputs: [UnsafePointer<Float>]
    let y: UnsafeMutablePointer<Float>
    let residual: UnsafePointer<Float>?
    let activation: GEMMActivation
    /// The shared scratch region, nil when the kernel asked for none.
    let scratch: UnsafeMutablePointer<Float>?
    let threads: Int
    let isa: GEMMISA
    var x: UnsafePointer<Float> { inputs[0] }
}

/// A kernel's tiling and scratch, decided once when a plan is built and applied when it binds.
/// (Built by `StepKernel.reshaped`, so `reshape`'s tiling reaches `bind` with its own type.)
struct ReshapedKernel {
    let scratchFloats: Int
    private let bindStep: (StepBinding) throws(ExecutionError) -> ExecutionStep?

    init(_ kernel: any StepKernel, _ shapes: StepShapes, threads: Int) {
        self = kernel.reshaped(shapes, threads: threads)
    }

    init(scratchFloats: Int, bind: @escaping (StepBinding) throws(ExecutionError) -> ExecutionStep?) {
        self.scratchFloats = scratchFloats
        self.bindStep = bind
    }

    func bind(_ binding: StepBinding) throws(ExecutionError) -> ExecutionStep? { try bindStep(binding) }
}
