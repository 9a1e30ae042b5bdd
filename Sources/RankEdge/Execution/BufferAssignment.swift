/// Which arena buffer holds each tensor of a compiled model, and when each buffer is live.
///
/// Aliases (flatten) share their input's buffer. A standalone elementwise step (add, ReLU,
/// scale/shift) writes over an input that no later step reads, so it needs no new buffer. Graph
/// inputs are live from the first step; graph outputs until after the last. (Scratch is not a
/// tensor: one step runs at a time, so all steps share one scratch region outside the arena.)
struct BufferAssignment {
    var requests: [BufferRequest] = []
    var tensorBuffer: [String: Int] = [:]

    init(ops: [LoweredOp], inputs: [String], outputs: [String], shapes: [String: TensorShape]) {
        var lastRead: [String: Int] = [:]
        for (i, op) in ops.enumerated() {
            for t in op.inputs { lastRead[t] = i }
            if let r = op.residual { lastRead[r] = i }
        }
        let end = ops.count
        let outputSet = Set(outputs)
        var inputBuffers = Set<Int>()
        var members: [[String]] = []

        func newBuffer(_ tensor: String, floats: Int, first: Int) -> Int {
            requests.append(BufferRequest(name: tensor, floats: floats, firstStep: first, lastStep: first))
            members.append([])
            return requests.count - 1
        }
        func map(_ tensor: String, to buffer: Int) {
            tensorBuffer[tensor] = buffer
            members[buffer].append(tensor)
        }
        for name in inputs {
            let b = newBuffer(name, floats: shapes[name]!.elementCount, first: 0)
            map(name, to: b)
            inputBuffers.insert(b)
        }
        for (i, op) in ops.enumerated() {
            let outFloats = shapes[op.output]!.elementCount
            var target: Int?
            switch op.prepared.memory {
            case .alias:
                target = tensorBuffer[op.inputs[0]]
            case .inPlace:
                // In place over an input whose value nobody reads after this step.
                for t in op.inputs {
                    guard let b = tensorBuffer[t], !inputBuffers.contains(b), requests[b].floats == outFloats,
                          members[b].allSatisfy({ (lastRead[$0] ?? -1) <= i && !outputSet.contains($0) })
                    else { continue }
                    target = b
                    break
                }
            case .newBuffer:
                break
            }
            map(op.output, to: target ?? newBuffer(op.output, floats: outFloats, first: i))
        }
        for (tensor, b) in tensorBuffer {
            var last = requests[b].lastStep
            if let r = lastRead[tensor] { last = max(last, r) }
            if outputSet.contains(tensor) { last = end }
            requests[b].lastStep = last
        }
    }
}
