/// Sigmoid, Tanh, HardSigmoid, HardSwish, SiLU, Erf and GELU as a step kernel (`UnaryStep`), in place where
/// the input is read by nothing later.
final class UnaryKernel: StepKernel {
    let function: UnaryFunction
    init(_ function: UnaryFunction) { self.function = function }

    static var fileKinds: [String] { ["unary"] }
    var name: String { function.name }
    var memory: StepMemory { .inPlace }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> UnaryKernel? {
        guard !r.group.chain, case .unary(let f) = r.node.op else { return nil }
        return UnaryKernel(f)
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [("function", .string(function.name))]
        if case .hardSigmoid(let alpha, let beta) = function { fields += [("alpha", .float(alpha)), ("beta", .float(beta))] }
        return fields
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> UnaryKernel {
        guard let name = o["function"]?.stringValue else { throw d.fail("'function' is missing") }
        if name == "hardSigmoid" {
            guard let alpha = o["alpha"]?.floatValue, let beta = o["beta"]?.floatValue, alpha.isFinite, beta.isFinite else {
                throw d.fail("hardSigmoid needs finite alpha and beta")
            }
            return UnaryKernel(.hardSigmoid(alpha: alpha, beta: beta))
        }
        guard let f = UnaryFunction.named(name) else { throw d.fail("unknown function '\(name)'") }
        return UnaryKernel(f)
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard shapes.input == shapes.output else { throw d.fail("shapes differ") }
    }


    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        UnaryStep(function, x: b.x, y: b.y, count: b.shapes.output.elementCount, isa: b.isa)
    }
}
