/// A float tensor in the trainer's autodiff graph. Operations on variables record their parents
/// and a backward closure; `backward()` walks the recorded graph in reverse topological order and
/// accumulates gradients. Shapes follow the runtime: activations NHWC, weights as in `Op`.
public final class Variable: @unchecked Sendable {
    public let shape: [Int]
    public let value: TensorStorage
    /// Accumulated gradient; nil until something flows into it.
    public private(set) var grad: TensorStorage?
    public let requiresGrad: Bool
    let parents: [Variable]
    /// Reads `self.grad` and accumulates into the parents' gradients.
    let backwardFn: ((Variable) -> Void)?

    /// A leaf: data or a parameter.
    public init(shape: [Int], value: TensorStorage, requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == value.count, "Variable: shape \(shape) does not match \(value.count) values")
        self.shape = shape; self.value = value; self.requiresGrad = requiresGrad
        parents = []; backwardFn = nil
    }

    public convenience init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        self.init(shape: shape, value: TensorStorage(data), requiresGrad: requiresGrad)
    }

    /// The result of an operation; it needs a gradient when any parent does.
    init(shape: [Int], value: TensorStorage, parents: [Variable], backward: @escaping (Variable) -> Void) {
        precondition(shape.reduce(1, *) == value.count, "Variable: shape \(shape) does not match \(value.count) values")
        self.shape = shape; self.value = value
        let needs = parents.contains { $0.requiresGrad }
        requiresGrad = needs
        self.parents = needs ? parents : []
        backwardFn = needs ? backward : nil
    }

    public var count: Int { value.count }
    public var data: [Float] { value.array }

    /// The gradient buffer, created zero-filled on first use.
    public func gradPointer() -> UnsafeMutablePointer<Float> {
        if let g = grad { return g.pointer }
        let g = TensorStorage(zeros: count)
        grad = g
        return g.pointer
    }

    /// The gradient buffer for an op that covers every element: when no gradient exists yet the
    /// buffer comes back uninitialised with `fresh` set, and the op must assign (=) instead of adding,
    /// which saves a zero-fill and a read of the whole tensor.
    func gradForOverwrite() -> (pointer: UnsafeMutablePointer<Float>, fresh: Bool) {
        if let g = grad { return (g.pointer, false) }
        let g = TensorStorage(uninitialized: count)
        grad = g
        return (g.pointer, true)
    }

    public func zeroGrad() { grad = nil }

    /// Sets the seed gradient (ones for a scalar loss) and back-propagates through the graph.
    public func backward(seed: [Float]? = nil) {
        let g = gradPointer()
        if let seed {
            precondition(seed.count == count, "backward: seed has \(seed.count) values, tensor \(count)")
            for i in 0..<count { g[i] += seed[i] }
        } else {
            for i in 0..<count { g[i] += 1 }
        }
        for v in topologicalOrder().reversed() {
            guard let fn = v.backwardFn, v.grad != nil else { continue }
            fn(v)
        }
    }

    /// Nodes reachable from self, each after all of its parents.
    private func topologicalOrder() -> [Variable] {
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (v, expanded) = stack.popLast() {
            if expanded { order.append(v); continue }
            let id = ObjectIdentifier(v)
            if visited.contains(id) { continue }
            visited.insert(id)
            stack.append((v, true))
            for p in v.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) {
                stack.append((p, false))
            }
        }
        return order
    }
}
