/// What every step of a plan may use while it runs: the threads it may take and scratch it may
/// write, owned by the session so that running allocates nothing.
struct StepContext {
    let threads: Int
    let pool: ThreadPool
    /// GEMM A-packing space: `gemmWorkspacePerSlot` floats for each of `threads` slots, and the
    /// whole of it for one GEMM call that uses every thread.
    let gemmWorkspace: UnsafeMutablePointer<Float>
    let gemmWorkspacePerSlot: Int
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
