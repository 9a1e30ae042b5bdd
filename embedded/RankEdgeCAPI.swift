// The C API of include/rankedge.h, compiled into the Embedded static library
// (tools/build_embedded.sh). It lives beside the Embedded shims rather than in the RankEdge target:
// its error message is kept by the C shim module (CRankEdgeSystem), which only that build has, and
// the normal build's Swift users call InferenceSession directly.
//
// Every entry point checks its arguments and turns every error into a status and a message
// (`re_capi_set_error`): a C caller never sees a trap or a Swift error.
import CRankEdgeSystem

private let statusOK: Int32 = 0
private let statusArgument: Int32 = 1
private let statusFile: Int32 = 2
private let statusModel: Int32 = 3
private let statusRun: Int32 = 4

/// A model loaded through the C API: its session, and the C strings handed out for it (freed
/// with it, so the pointers stay valid while the model lives).
private final class CModel {
    let session: InferenceSession
    let inputNames: [UnsafeMutablePointer<CChar>]
    let outputNames: [UnsafeMutablePointer<CChar>]
    let inputShapes: [[Int]]
    let outputShapes: [[Int]]
    let stepNames: [UnsafeMutablePointer<CChar>]
    let stepKernels: [UnsafeMutablePointer<CChar>]

    init(_ session: InferenceSession) throws(RankEdgeError) {
        self.session = session
        let graph = session.model.graph
        let shapes: [String: TensorShape]
        do { shapes = try graph.inferShapes() } catch { throw .graph(error) }
        inputNames = graph.inputs.map { cString($0.name) }
        outputNames = graph.outputs.map { cString($0) }
        inputShapes = graph.inputs.map { $0.shape.dims }
        outputShapes = graph.outputs.map { shapes[$0]?.dims ?? [] }
        stepNames = session.model.ops.map { cString($0.name) }
        stepKernels = session.model.ops.map { cString($0.kernel) }
    }

    deinit {
        for p in inputNames + outputNames + stepNames + stepKernels { p.deallocate() }
    }
}

private func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
    var bytes = Array(s.utf8).map { CChar(bitPattern: $0) }
    bytes.append(0)
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    p.initialize(from: bytes, count: bytes.count)
    return p
}

private func fail(_ message: String) {
    var bytes = Array(message.utf8).map { CChar(bitPattern: $0) }
    bytes.append(0)
    bytes.withUnsafeBufferPointer { re_capi_set_error($0.baseAddress) }
}

private func status(_ error: RankEdgeError) -> Int32 {
    switch error {
    case .format: return statusFile
    case .graph, .gemm, .compiledModel: return statusModel
    case .execution: return statusRun
    }
}

private func model(_ p: OpaquePointer?) -> CModel? {
    guard let p else { fail("model is NULL"); return nil }
    return Unmanaged<CModel>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

/// Options from the C struct { int32_t threads, profiling, fixed_forms; } (NULL: the defaults).
private func sessionOptions(_ raw: UnsafeRawPointer?) throws(RankEdgeError) -> InferenceSession.Options {
    let threads = raw.map { Int($0.load(fromByteOffset: 0, as: Int32.self)) } ?? 1
    let profiling = raw.map { $0.load(fromByteOffset: 4, as: Int32.self) != 0 } ?? false
    let fixed = raw.map { $0.load(fromByteOffset: 8, as: Int32.self) != 0 } ?? false
    guard threads >= 0, threads <= 1024 else {
        throw .execution(.invalidOperands(op: "options", node: nil, message: "threads must be 0 to 1024, got \(threads)"))
    }
    return InferenceSession.Options(threads: max(threads, 1), rankConvForm: fixed ? .separable : .measure, profiling: profiling,
                                    winograd: fixed ? .never : .measure)
}

/// A compiled file's prepared tensors are freed as its steps copy them (`consume`), so loading
/// holds the weights about once, not twice.
private func open(_ contents: consuming RKGFile.Contents, _ rawOptions: UnsafeRawPointer?) throws(RankEdgeError) -> CModel {
    let options = try sessionOptions(rawOptions)
    let session: InferenceSession
    if CompiledModelFile.isCompiled(contents) {
        let compiled: CompiledModel
        do { compiled = try CompiledModelFile.model(from: consume contents) } catch { throw .compiledModel(error) }
        session = try InferenceSession(model: compiled, options: options)
    } else {
        session = try InferenceSession(graph: contents.graph, options: options)
    }
    return try CModel(session)
}

private func load(_ read: () throws(RKGFormatError) -> RKGFile.Contents, _ rawOptions: UnsafeRawPointer?) -> OpaquePointer? {
    let loaded: CModel
    do throws(RankEdgeError) {
        let contents: RKGFile.Contents
        do { contents = try read() } catch { throw .format(error) }
        loaded = try open(contents, rawOptions)
    } catch { fail(error.description); return nil }
    re_capi_set_error("")
    return OpaquePointer(Unmanaged.passRetained(loaded).toOpaque())
}

@_cdecl("rankedge_version")
public func rankedge_version() -> UnsafePointer<CChar> { UnsafePointer(versionCString) }

private let versionCString = cString(RankEdgeVersion.release)

@_cdecl("rankedge_model_create_from_file")
public func rankedge_model_create_from_file(_ path: UnsafePointer<CChar>?, _ options: UnsafeRawPointer?) -> OpaquePointer? {
    guard let path else { fail("path is NULL"); return nil }
    // Read tensor by tensor: the file's bytes are never all in memory.
    let name = String(cString: path)
    return load({ () throws(RKGFormatError) in try RKGFile.readContents(path: name) }, options)
}

@_cdecl("rankedge_model_create_from_buffer")
public func rankedge_model_create_from_buffer(_ data: UnsafeRawPointer?, _ size: Int, _ options: UnsafeRawPointer?) -> OpaquePointer? {
    guard let data, size > 0 else { fail("data is NULL or empty"); return nil }
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    return load({ () throws(RKGFormatError) in try RKGFile.decodeContents(bytes) }, options)
}

@_cdecl("rankedge_model_delete")
public func rankedge_model_delete(_ p: OpaquePointer?) {
    guard let p else { return }
    Unmanaged<CModel>.fromOpaque(UnsafeRawPointer(p)).release()
}

@_cdecl("rankedge_model_input_count")
public func rankedge_model_input_count(_ p: OpaquePointer?) -> Int32 { model(p).map { Int32($0.inputNames.count) } ?? -1 }

@_cdecl("rankedge_model_output_count")
public func rankedge_model_output_count(_ p: OpaquePointer?) -> Int32 { model(p).map { Int32($0.outputNames.count) } ?? -1 }

private func checkedIndex(_ index: Int32, _ count: Int, _ what: String) -> Int? {
    guard index >= 0, Int(index) < count else { fail("\(what) index \(index) is out of range (\(count) \(what)s)"); return nil }
    return Int(index)
}

@_cdecl("rankedge_model_input_name")
public func rankedge_model_input_name(_ p: OpaquePointer?, _ index: Int32) -> UnsafePointer<CChar>? {
    guard let m = model(p), let i = checkedIndex(index, m.inputNames.count, "input") else { return nil }
    return UnsafePointer(m.inputNames[i])
}

@_cdecl("rankedge_model_output_name")
public func rankedge_model_output_name(_ p: OpaquePointer?, _ index: Int32) -> UnsafePointer<CChar>? {
    guard let m = model(p), let i = checkedIndex(index, m.outputNames.count, "output") else { return nil }
    return UnsafePointer(m.outputNames[i])
}

@_cdecl("rankedge_model_input_rank")
public func rankedge_model_input_rank(_ p: OpaquePointer?, _ index: Int32) -> Int32 {
    guard let m = model(p), let i = checkedIndex(index, m.inputShapes.count, "input") else { return -1 }
    return Int32(m.inputShapes[i].count)
}

@_cdecl("rankedge_model_output_rank")
public func rankedge_model_output_rank(_ p: OpaquePointer?, _ index: Int32) -> Int32 {
    guard let m = model(p), let i = checkedIndex(index, m.outputShapes.count, "output") else { return -1 }
    return Int32(m.outputShapes[i].count)
}

private func dim(_ shapes: [[Int]], _ index: Int32, _ dim: Int32, _ what: String) -> Int64 {
    guard let i = checkedIndex(index, shapes.count, what) else { return -1 }
    guard dim >= 0, Int(dim) < shapes[i].count else { fail("\(what) \(index) has no dimension \(dim) (rank \(shapes[i].count))"); return -1 }
    return Int64(shapes[i][Int(dim)])
}

@_cdecl("rankedge_model_input_dim")
public func rankedge_model_input_dim(_ p: OpaquePointer?, _ index: Int32, _ d: Int32) -> Int64 {
    guard let m = model(p) else { return -1 }
    return dim(m.inputShapes, index, d, "input")
}

@_cdecl("rankedge_model_output_dim")
public func rankedge_model_output_dim(_ p: OpaquePointer?, _ index: Int32, _ d: Int32) -> Int64 {
    guard let m = model(p) else { return -1 }
    return dim(m.outputShapes, index, d, "output")
}

@_cdecl("rankedge_model_run")
public func rankedge_model_run(_ p: OpaquePointer?, _ input: UnsafePointer<Float>?, _ inputCount: Int,
                               _ output: UnsafeMutablePointer<Float>?, _ outputCount: Int) -> Int32 {
    guard let m = model(p) else { return statusArgument }
    guard let input, let output, inputCount > 0, outputCount > 0 else { fail("input or output is NULL or empty"); return statusArgument }
    guard m.inputShapes.count == 1, m.outputShapes.count == 1 else {
        fail("the model has \(m.inputShapes.count) inputs and \(m.outputShapes.count) outputs; rankedge_model_run takes one of each (use rankedge_model_run_multi)")
        return statusArgument
    }
    // A whole number of input samples fixes the output's size: a buffer of another size is the
    // caller's (RANKEDGE_ERROR_ARGUMENT); inputs that do not fit are the run's (the session says why).
    let inSample = m.inputShapes[0].dropFirst().reduce(1, *), outSample = m.outputShapes[0].dropFirst().reduce(1, *)
    if inSample > 0, inputCount % inSample == 0, outputCount != inputCount / inSample * outSample {
        fail("output buffer holds \(outputCount) floats, the output of \(inputCount / inSample) sample(s) has \(inputCount / inSample * outSample)")
        return statusArgument
    }
    do {
        try m.session.run(input: UnsafeBufferPointer(start: input, count: inputCount),
                          output: UnsafeMutableBufferPointer(start: output, count: outputCount))
    } catch {
        fail(error.description)
        return statusRun
    }
    return statusOK
}

@_cdecl("rankedge_model_run_multi")
public func rankedge_model_run_multi(_ p: OpaquePointer?, _ inputs: UnsafePointer<UnsafePointer<Float>?>?, _ inputCounts: UnsafePointer<Int>?,
                                     _ outputs: UnsafePointer<UnsafeMutablePointer<Float>?>?, _ outputCounts: UnsafePointer<Int>?) -> Int32 {
    guard let m = model(p) else { return statusArgument }
    guard let inputs, let inputCounts, let outputs, let outputCounts else { fail("an argument array is NULL"); return statusArgument }
    let graph = m.session.model.graph
    var tensors: [String: Tensor] = [:]
    for (i, info) in graph.inputs.enumerated() {
        guard let x = inputs[i], inputCounts[i] > 0 else { fail("input \(i) ('\(info.name)') is NULL or empty"); return statusArgument }
        let sample = info.shape.dims.dropFirst().reduce(1, *)
        guard sample > 0, inputCounts[i] % sample == 0 else {
            fail("input '\(info.name)' has \(inputCounts[i]) floats, not a whole number of samples of \(sample)")
            return statusRun
        }
        var shape = info.shape
        shape[0] = inputCounts[i] / sample
        tensors[info.name] = Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: x, count: inputCounts[i])))
    }
    let results: [String: Tensor]
    do { results = try m.session.run(tensors) } catch { fail(error.description); return statusRun }
    for (i, name) in graph.outputs.enumerated() {
        guard let y = outputs[i], let t = results[name] else { fail("output \(i) ('\(name)') is NULL"); return statusArgument }
        guard outputCounts[i] == t.data.count else {
            fail("output buffer \(i) holds \(outputCounts[i]) floats, output '\(name)' has \(t.data.count)")
            return statusArgument
        }
        t.data.withUnsafeBufferPointer { y.update(from: $0.baseAddress!, count: $0.count) }
    }
    return statusOK
}

@_cdecl("rankedge_model_profile_count")
public func rankedge_model_profile_count(_ p: OpaquePointer?) -> Int32 { model(p).map { Int32($0.stepNames.count) } ?? -1 }

@_cdecl("rankedge_model_profile_step")
public func rankedge_model_profile_step(_ p: OpaquePointer?, _ index: Int32, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                        _ kernel: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                        _ milliseconds: UnsafeMutablePointer<Double>?, _ macs: UnsafeMutablePointer<Int64>?) -> Int32 {
    guard let m = model(p) else { return statusArgument }
    guard let i = checkedIndex(index, m.stepNames.count, "step") else { return statusArgument }
    guard m.session.profiling else { fail("profiling is off (RankEdgeOptions.profiling)"); return statusArgument }
    let step = m.session.profile[i]
    name?.pointee = UnsafePointer(m.stepNames[i])
    kernel?.pointee = UnsafePointer(m.stepKernels[i])
    milliseconds?.pointee = step.milliseconds
    macs?.pointee = Int64(step.macs)
    return statusOK
}

@_cdecl("rankedge_model_profile_reset")
public func rankedge_model_profile_reset(_ p: OpaquePointer?) { model(p)?.session.resetProfile() }
