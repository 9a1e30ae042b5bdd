/// What every step of a plan may use while it runs: the threads it may take. (Scratch is bound
/// into each step when the plan is built; GEMM packing buffers are reused by the GEMM engine.)
struct StepContext {
    let threads: Int
    let pool: ThreadPool
}

/// One step of an execution plan, bound to its arena pointers. Steps are built once per batch
/// size; `execute` must not allocate.
protocol ExecutionStep: AnyObject {
    func execute(_ context: StepContext) throws(ExecutionError)
}

/// Scratch space that lives for one step: one region per parallel slot.
struct SlotScratch {
    let base: UnsafeMutablePointer<Float>?
    let floatsPerSlot: Int
    func slot(_ i: Int) -> UnsafeMutablePointer<Float> { base! + i * floatsPerSlot }
}
