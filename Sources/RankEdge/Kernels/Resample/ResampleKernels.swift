/// Pad and Resize: ops that move whole channel vectors of an NHWC map, so every output cell is one
/// or a few contiguous copies or blends of input cells. The index maps are built at bind time from
/// the same definitions the reference uses (`PadMode.source`, `ResizeAttributes.taps`).
final class PadKernel: StepKernel {
    let attributes: PadAttributes
    init(_ attributes: PadAttributes) { self.attributes = attributes }

    static var fileKinds: [String] { ["pad"] }
    var name: String { "pad" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> PadKernel? {
        guard !r.group.chain, case .pad(let a) = r.node.op else { return nil }
        return PadKernel(a)
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [("padding", KernelEncoder.padding(attributes.padding)), ("mode", .string(attributes.mode.name))]
        if case .constant(let v) = attributes.mode { fields.append(("value", .float(v))) }
        return fields
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> PadKernel {
        let padding = try d.padding(o)
        switch o["mode"]?.stringValue {
        case "constant"?:
            guard let v = o["value"]?.floatValue, v.isFinite else { throw d.fail("'value' is missing or invalid") }
            return PadKernel(PadAttributes(padding: padding, mode: .constant(v)))
        case "reflect"?: return PadKernel(PadAttributes(padding: padding, mode: .reflect))
        case "edge"?: return PadKernel(PadAttributes(padding: padding, mode: .edge))
        default: throw d.fail("'mode' is missing or unknown")
        }
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard case .success(let out) = Graph.outputShape(op: .pad(attributes), inputs: [shapes.input], weights: []), out == shapes.output else {
            throw d.fail("pad does not fit \(shapes.input) → \(shapes.output)")
        }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let (i, o) = (b.shapes.input, b.shapes.output)
        let p = attributes.padding
        var fill: Float = 0
        if case .constant(let v) = attributes.mode { fill = v }
        // −1 marks a constant cell.
        let rows = (0..<o[1]).map { attributes.mode.source($0 - p.top, size: i[1]) ?? -1 }
        let cols = (0..<o[2]).map { attributes.mode.source($0 - p.left, size: i[2]) ?? -1 }
        return PadStep(n: i[0], h: i[1], w: i[2], c: i[3], rows: rows, cols: cols, fill: fill, x: b.x, y: b.y)
    }
}

final class ResizeKernel: StepKernel {
    let attributes: ResizeAttributes
    init(_ attributes: ResizeAttributes) { self.attributes = attributes }

    static var fileKinds: [String] { ["resize"] }
    var name: String { "resize" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> ResizeKernel? {
        guard !r.group.chain, case .resize(let a) = r.node.op else { return nil }
        return ResizeKernel(a)
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        let a = attributes
        var fields: [(String, JSONValue)] = []
        switch a.mode {
        case .nearest(let r): fields += [("mode", .string("nearest")), ("nearest_mode", .string(r.rawValue))]
        case .linear: fields.append(("mode", .string("linear")))
        }
        return fields + [("coordinates", .string(a.coordinates.rawValue)), ("size", .ints([a.size.h, a.size.w])),
                         ("scale", .array([.float(a.scaleH), .float(a.scaleW)]))]
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> ResizeKernel {
        let mode: ResizeMode
        switch o["mode"]?.stringValue {
        case "nearest"?:
            guard let r = o["nearest_mode"]?.stringValue.flatMap(NearestRounding.init(rawValue:)) else { throw d.fail("'nearest_mode' is missing or unknown") }
            mode = .nearest(r)
        case "linear"?: mode = .linear
        default: throw d.fail("'mode' is missing or unknown")
        }
        guard let coordinates = o["coordinates"]?.stringValue.flatMap(ResizeCoordinates.init(rawValue:)) else {
            throw d.fail("'coordinates' is missing or unknown")
        }
        let size = try d.ints(o, "size", count: 2, min: 1)
        guard let scale = o["scale"]?.arrayValue?.compactMap({ $0.floatValue }), scale.count == 2 else { throw d.fail("'scale' must be two numbers") }
        return ResizeKernel(ResizeAttributes(mode: mode, coordinates: coordinates, size: Size2(size[0], size[1]),
                                             scaleH: scale[0], scaleW: scale[1]))
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        guard case .success(let out) = Graph.outputShape(op: .resize(attributes), inputs: [shapes.input], weights: []), out == shapes.output else {
            throw d.fail("resize does not fit \(shapes.input) → \(shapes.output)")
        }
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let (i, o) = (b.shapes.input, b.shapes.output)
        let a = attributes
        func axis(_ inSize: Int, _ outSize: Int, _ scale: Float) -> [ResizeStep.Tap] {
            (0..<outSize).map { k in
                let taps = a.taps(k, inSize: inSize, outSize: outSize, scale: scale)
                return taps.count == 1 ? ResizeStep.Tap(low: taps[0].index, high: taps[0].index, t: 0)
                                       : ResizeStep.Tap(low: taps[0].index, high: taps[1].index, t: taps[1].weight)
            }
        }
        let nearest = if case .nearest = a.mode { true } else { false }
        return ResizeStep(n: i[0], h: i[1], w: i[2], c: i[3], rows: axis(i[1], o[1], a.scaleH), cols: axis(i[2], o[2], a.scaleW),
                          nearest: nearest, x: b.x, y: b.y)
    }
}
