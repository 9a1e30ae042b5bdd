/// Transposed convolution (groups 1) as one GEMM per sample and a col2im gather
/// (`ConvTransposeStep`). The weight [C, kh, kw, S] is already the GEMM's B, [C × kh·kw·S]; it is
/// packed when the step is bound, for the ISA of that plan.
final class ConvTransposeKernel: StepKernel {
    let attributes: ConvTranspose2DAttributes
    let kernel: Size2
    let channels: Int, outputs: Int
    let weight: FloatStorage
    let bias: FloatStorage?

    init(_ attributes: ConvTranspose2DAttributes, kernel: Size2, channels: Int, outputs: Int, weight: FloatStorage, bias: FloatStorage?) {
        self.attributes = attributes; self.kernel = kernel; self.channels = channels; self.outputs = outputs
        self.weight = weight; self.bias = bias
    }

    static var fileKinds: [String] { ["conv-transpose"] }
    var name: String { "conv-transpose" }

    static func lower(_ r: LoweringRequest) throws(ExecutionError) -> ConvTransposeKernel? {
        guard !r.group.chain, case .convTranspose2d(let a) = r.node.op, let w = r.weight(1) else { return nil }
        return ConvTransposeKernel(a, kernel: Size2(w.shape[1], w.shape[2]), channels: w.shape[0], outputs: w.shape[3],
                                   weight: FloatStorage(w.data), bias: r.weight(2).map { FloatStorage($0.data) })
    }

    func encode(_ e: KernelEncoder) -> [(String, JSONValue)] {
        let a = attributes
        return [("stride", .ints([a.stride.h, a.stride.w])), ("padding", KernelEncoder.padding(a.padding)),
                ("output_padding", .ints([a.outputPadding.h, a.outputPadding.w])), ("kernel_size", .ints([kernel.h, kernel.w])),
                ("channels", .int(channels)), ("outputs", .int(outputs)), ("weight", e.store("weight", weight)),
                ("bias", e.storeOptional("bias", bias))]
    }

    static func decode(_ o: JSONObject, kind: String, _ d: KernelDecoder) throws(CompiledModelError) -> ConvTransposeKernel {
        let stride = try d.ints(o, "stride", count: 2, min: 1), extra = try d.ints(o, "output_padding", count: 2, min: 0)
        let k = try d.ints(o, "kernel_size", count: 2, min: 1)
        guard let c = o["channels"]?.intValue, let s = o["outputs"]?.intValue, c >= 1, s >= 1 else {
            throw d.fail("'channels' or 'outputs' is missing or invalid")
        }
        let count = saturatingProduct([c, k[0], k[1], s])
        guard count < Int.max else { throw d.fail("the weight's size overflows") }
        let a = ConvTranspose2DAttributes(stride: Size2(stride[0], stride[1]), padding: try d.padding(o), outputPadding: Size2(extra[0], extra[1]))
        let bias: FloatStorage? = o["bias"] == nil || o["bias"] == .null ? nil : try d.tensor(o["bias"], count: s)
        return ConvTransposeKernel(a, kernel: Size2(k[0], k[1]), channels: c, outputs: s, weight: try d.tensor(o["weight"], count: count), bias: bias)
    }

    func check(_ shapes: StepShapes, _ d: KernelDecoder) throws(CompiledModelError) {
        let weightShape = TensorShape([channels, kernel.h, kernel.w, outputs])
        guard case .success(let out) = Graph.outputShape(op: .convTranspose2d(attributes), inputs: [shapes.input],
                                                         weights: [weightShape] + (bias == nil ? [] : [TensorShape([outputs])])),
              out == shapes.output else { throw d.fail("conv transpose does not fit \(shapes.input) → \(shapes.output)") }
    }

    func reshape(_ shapes: StepShapes, threads: Int) -> (tiling: Void, scratchFloats: Int) {
        // One sample's columns: every input cell's kh·kw·S contributions.
        ((), shapes.input[1] * shapes.input[2] * kernel.h * kernel.w * outputs)
    }

    func bind(_ t: Void, _ b: StepBinding) throws(ExecutionError) -> ExecutionStep? {
        let (i, o) = (b.shapes.input, b.shapes.output)
        let columns = kernel.h * kernel.w * outputs
        let packed: PackedMatrixB
        do {
            packed = try PackedMatrixB(k: channels, n: columns, b: weight.pointer, ldb: columns, isa: b.isa)
        } catch {
            throw .kernelFailed(node: b.name, message: "packing the weight failed: \(error)")
        }
        guard let scratch = b.scratch else { throw .kernelFailed(node: b.name, message: "no scratch for the columns") }
        return ConvTransposeStep(name: b.name, n: i[0], h: i[1], w: i[2], c: i[3], oh: o[1], ow: o[2], s: outputs, kernel: kernel,
                                 attributes: attributes, packed: packed, bias: bias, x: b.x, columns: scratch, y: b.y)
    }
}
