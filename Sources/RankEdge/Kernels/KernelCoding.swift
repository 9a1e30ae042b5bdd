/// Names one step's prepared weights for a compiled file: F32 tensors `rankedge.compiled/<step>/<part>`
/// (docs/FORMAT.md §7), read in place from the steps' buffers when the file is written.
final class KernelEncoder {
    let graph: Graph
    var step = 0
    /// Only count what would be stored (`storedFloats`), recording nothing: what the steps hold.
    let counting: Bool
    private(set) var storedFloats = 0
    /// The prepared tensors by name, borrowed from the steps (valid while the model is alive).
    private(set) var stored: [String: TensorValues] = [:]

    init(graph: Graph, counting: Bool = false) {
        self.graph = graph
        self.counting = counting
    }

    /// Records `values` and returns the JSON value that names them.
    func store(_ part: String, _ values: UnsafeBufferPointer<Float>) -> JSONValue {
        storedFloats += values.count
        if counting { return .string(part) }
        let base = "\(CompiledModelFile.metadataKey)/\(step)/\(part)"
        var name = base, i = 1
        while graph.weights[name] != nil || stored[name] != nil { i += 1; name = "\(base)\(i)" }
        stored[name] = TensorValues(shape: [values.count], borrowing: values)
        return .string(name)
    }

    func store(_ part: String, _ storage: FloatStorage) -> JSONValue { store(part, storage.buffer) }

    func storeOptional(_ part: String, _ storage: FloatStorage?) -> JSONValue {
        storage.map { store(part, $0.buffer) } ?? .null
    }

    static func padding(_ p: Padding) -> JSONValue { .ints([p.top, p.left, p.bottom, p.right]) }

    static func convAttributes(_ a: Conv2DAttributes) -> [(String, JSONValue)] {
        [("stride", .ints([a.stride.h, a.stride.w])), ("padding", padding(a.padding)),
         ("dilation", .ints([a.dilation.h, a.dilation.w])), ("groups", .int(a.groups))]
    }
}

/// Reads one step's fields from a compiled file, checking every size and every tensor it names;
/// anything this version did not write is `CompiledModelError.malformed`, never a trap.
struct KernelDecoder {
    let graph: Graph
    /// The file's prepared tensors; each is taken (and its array freed) as a step copies it.
    let prepared: PreparedTensors
    let isa: GEMMISA
    /// The step being read, for messages.
    let step: String
    /// The step's fused activation (an activation step's kernel is named after it).
    let activation: GEMMActivation

    func fail(_ message: String) -> CompiledModelError { .malformed("step '\(step)': \(message)") }

    func array(_ v: JSONValue?, _ what: String) throws(CompiledModelError) -> [JSONValue] {
        guard let a = v?.arrayValue else { throw fail("'\(what)' is not an array") }
        return a
    }
    func int(_ o: JSONObject, _ key: String, min: Int = 0) throws(CompiledModelError) -> Int {
        guard let v = o[key]?.intValue, v >= min, v <= 1 << 30 else { throw fail("'\(key)' is missing or out of range") }
        return v
    }
    func ints(_ o: JSONObject, _ key: String, count: Int, min: Int) throws(CompiledModelError) -> [Int] {
        guard let v = o[key]?.intArrayValue, v.count == count, v.allSatisfy({ $0 >= min && $0 <= 1 << 20 }) else {
            throw fail("'\(key)' is not \(count) integers ≥ \(min)")
        }
        return v
    }
    /// A tensor's expected value count from sizes a file gives: refused, not trapped, when it overflows.
    func count(_ factors: Int...) throws(CompiledModelError) -> Int {
        var total = 1
        for f in factors {
            let (product, overflow) = total.multipliedReportingOverflow(by: f)
            guard !overflow else { throw fail("sizes \(factors) are too large") }
            total = product
        }
        return total
    }
    func tensor(_ v: JSONValue?, count: Int) throws(CompiledModelError) -> FloatStorage {
        guard let name = v?.stringValue, let t = prepared.take(name) else { throw fail("a tensor it names is missing (or is named twice)") }
        guard t.count == count else { throw fail("tensor '\(name)' has \(t.count) values, expected \(count)") }
        return FloatStorage(t.data)
    }
    /// The value count of the prepared tensor `v` names, without taking it.
    func storedCount(_ v: JSONValue?) -> Int? { v?.stringValue.flatMap { prepared.count($0) } }
    func optionalTensor(_ v: JSONValue?, count: Int) throws(CompiledModelError) -> FloatStorage? {
        if v == nil || v == .null { return nil }
        return try tensor(v, count: count)
    }
    func padding(_ o: JSONObject, _ key: String = "padding") throws(CompiledModelError) -> Padding {
        let p = try ints(o, key, count: 4, min: 0)
        return Padding(top: p[0], left: p[1], bottom: p[2], right: p[3])
    }
    func convAttributes(_ o: JSONObject) throws(CompiledModelError) -> Conv2DAttributes {
        let s = try ints(o, "stride", count: 2, min: 1), d = try ints(o, "dilation", count: 2, min: 1)
        return Conv2DAttributes(stride: Size2(s[0], s[1]), padding: try padding(o), dilation: Size2(d[0], d[1]),
                                groups: try int(o, "groups", min: 1))
    }
    /// The graph's conv shape rule, nil where it refuses the shapes.
    func convOutput(_ attributes: Conv2DAttributes, input: TensorShape, weight: [Int]) -> TensorShape? {
        try? Graph.outputShape(op: .conv2d(attributes), inputs: [input], weights: [TensorShape(weight)]).get()
    }
}

/// A compiled file's prepared tensors while its steps are read: each step takes its own, so the
/// file's copy is freed as the step's aligned copy is made, not after the whole model is built.
final class PreparedTensors {
    private var tensors: [String: Tensor]

    init(_ tensors: [String: Tensor]) { self.tensors = tensors }

    func take(_ name: String) -> Tensor? { tensors.removeValue(forKey: name) }
    func count(_ name: String) -> Int? { tensors[name]?.count }
}
