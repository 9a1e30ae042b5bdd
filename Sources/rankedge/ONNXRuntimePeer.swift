import Foundation

/// ONNX Runtime's batch-1, one-thread latency of an ONNX file, through python3 when it has the
/// `onnxruntime` package: the figure a user would compare with, measured on the same machine in the
/// same run. Nothing here is required: without python3 or the package the line says how to get it.
enum ONNXRuntimePeer {
    static let script = """
    import sys, time
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
    i = s.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in i.shape]
    x = np.random.default_rng(0).uniform(-1, 1, size=shape).astype(np.float32)
    for _ in range(10): s.run(None, {i.name: x})
    t = []
    for _ in range(int(sys.argv[2])):
        a = time.perf_counter(); s.run(None, {i.name: x}); t.append((time.perf_counter() - a) * 1e3)
    t.sort()
    print(ort.__version__, t[len(t) // 2], t[len(t) // 10], t[(9 * len(t)) // 10])
    """

    static func line(model: String, runs: Int, rankEdgeP50: Double) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, model, String(max(runs, 20))]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return "ONNX Runtime: not compared (no python3)" }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let fields = String(decoding: data, as: UTF8.self).split(separator: " ").map(String.init)
        guard process.terminationStatus == 0, fields.count == 4, let p50 = Double(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)),
              let p10 = Double(fields[2]), let p90 = Double(fields[3].trimmingCharacters(in: .whitespacesAndNewlines))
        else { return "ONNX Runtime: not compared (pip install onnxruntime to see it beside RankEdge)" }
        return String(format: "ONNX Runtime %@ on the original .onnx, 1 thread: p50 %.3f ms (p10–p90 %.3f–%.3f); RankEdge's original is %.2fx its time",
                      fields[0], p50, p10, p90, rankEdgeP50 / p50)
    }
}
