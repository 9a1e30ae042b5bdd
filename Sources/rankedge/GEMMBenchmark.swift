import COpenBLAS
import RankEdge
#if canImport(Glibc)
import Glibc
#endif

/// One shape's result; `jsonObject` is the documented row format of `gemm-bench --json`.
struct GEMMBenchRow {
    var shape: GEMMShape
    var threads: Int
    var isa: GEMMISA
    var rankEdgeGflops: Double
    var rankEdgePrepackedGflops: Double
    var openBLASGflops: Double
    var maxAbsDiff: Double

    var ratio: Double { rankEdgeGflops / openBLASGflops }

    var jsonObject: String {
        "{\"m\": \(shape.m), \"n\": \(shape.n), \"k\": \(shape.k), \"threads\": \(threads), "
            + "\"rankedge_gflops\": \(fixed(rankEdgeGflops, 2)), \"openblas_gflops\": \(fixed(openBLASGflops, 2)), "
            + "\"ratio\": \(fixed(ratio, 3)), \"rankedge_prepacked_gflops\": \(fixed(rankEdgePrepackedGflops, 2)), "
            + "\"isa\": \"\(isa.rawValue)\", \"max_abs_diff\": \(maxAbsDiff)}"
    }

    static let tableHeader = "shape (MxNxK)          threads  isa     RankEdge  prepacked  OpenBLAS  ratio  (GFLOP/s)"

    var tableLine: String {
        pad("\(shape.m)x\(shape.n)x\(shape.k)", 22) + " " + pad("\(threads)", 8) + " " + pad(isa.rawValue, 7)
            + pad(fixed(rankEdgeGflops, 1), 9, left: true) + pad(fixed(rankEdgePrepackedGflops, 1), 11, left: true)
            + pad(fixed(openBLASGflops, 1), 10, left: true) + pad(fixed(ratio, 2), 7, left: true)
    }

    /// The targets, as far as the measured shapes allow.
    static func summary(_ rows: [GEMMBenchRow]) -> [String] {
        var lines: [String] = []
        let bigSquares = rows.filter { $0.shape.isSquare && $0.shape.m >= 512 }
        if let worst = bigSquares.map(\.ratio).min() {
            lines.append("squares >= 512: lowest ratio \(fixed(worst, 2)) (target 0.95 with 1 thread)")
        }
        let others = rows.filter { !$0.shape.isSquare }.map(\.ratio).sorted()
        if !others.isEmpty {
            let median = others.count % 2 == 1 ? others[others.count / 2] : (others[others.count / 2 - 1] + others[others.count / 2]) / 2
            lines.append("non-square shapes: median ratio \(fixed(median, 2)) over \(others.count) (target 1.2 with 1 thread)")
        }
        return lines
    }
}

/// Runs both libraries on one shape at a time.
struct GEMMBenchmark {
    let threads: Int
    let isa: GEMMISA
    let repeats: Int
    let minSampleSeconds: Double
    /// Time by CLOCK_THREAD_CPUTIME_ID (one thread: OpenBLAS then runs on the calling thread too).
    let threadCPUTime: Bool

    func measure(_ shape: GEMMShape) throws -> GEMMBenchRow {
        let (m, n, k) = (shape.m, shape.n, shape.k)
        var random = SeededRandom(seed: 42)
        let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
        let cOurs = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        let cTheirs = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { a.deallocate(); b.deallocate(); cOurs.deallocate(); cTheirs.deallocate() }
        for i in 0..<(m * k) { a[i] = random.uniform(-1, 1) }
        for i in 0..<(k * n) { b[i] = random.uniform(-1, 1) }
        cOurs.initialize(repeating: 0, count: m * n)
        cTheirs.initialize(repeating: 0, count: m * n)

        let (threads, isa) = (self.threads, self.isa)
        let packed: PackedMatrixB
        do { packed = try PackedMatrixB(k: k, n: n, b: b, ldb: n, isa: isa, threads: threads) } catch { throw CLIError(error.description) }
        var failure: GEMMError?
        let ours: () -> Void = {
            do throws(GEMMError) { try gemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: cOurs, ldc: n, isa: isa, threads: threads) } catch { failure = error }
        }
        let oursPrepacked: () -> Void = {
            do throws(GEMMError) { try gemm(m: m, n: n, k: k, a: a, lda: k, packedB: packed, c: cOurs, ldc: n, threads: threads) } catch { failure = error }
        }
        let theirs: () -> Void = {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, cTheirs, Int32(n))
        }
        // OpenBLAS's idle workers spin (sched_yield) for about 2^28 cycles after each call; with more
        // than one thread they would compete with whatever runs next, so let them park first.
        let settle: () -> Void = { if threads > 1 { usleep(150_000) } }
        // Warm-up (page faults, thread start-up) and calibration: enough calls per sample to outlast the timer's noise.
        let callsOurs = calls(toFill: minSampleSeconds, ours)
        let callsPrepacked = calls(toFill: minSampleSeconds, oursPrepacked)
        let callsTheirs = calls(toFill: minSampleSeconds, theirs)
        settle()
        if let failure { throw CLIError(failure.description) }

        var samplesOurs: [Double] = [], samplesPrepacked: [Double] = [], samplesTheirs: [Double] = []
        for r in 0..<repeats {
            // Alternate which library goes first, so neither always inherits the other's cache state.
            if r % 2 == 0 {
                samplesOurs.append(time(callsOurs, ours))
                samplesTheirs.append(time(callsTheirs, theirs))
                settle()
            } else {
                samplesTheirs.append(time(callsTheirs, theirs))
                settle()
                samplesOurs.append(time(callsOurs, ours))
            }
            samplesPrepacked.append(time(callsPrepacked, oursPrepacked))
        }

        // Both computed the same product; float32 rounding of K terms of size ≤ 1 bounds the difference.
        var maxDiff = 0.0
        for i in 0..<(m * n) { maxDiff = max(maxDiff, Double(abs(cOurs[i] - cTheirs[i]))) }
        let bound = 2 * Double(k) * Double(k) * Double(Float.ulpOfOne)
        guard maxDiff <= bound else {
            throw CLIError("RankEdge and OpenBLAS disagree on \(m)x\(n)x\(k): max |difference| \(maxDiff) > \(bound)")
        }
        return GEMMBenchRow(shape: shape, threads: threads, isa: isa,
                            rankEdgeGflops: shape.flops / median(samplesOurs) / 1e9,
                            rankEdgePrepackedGflops: shape.flops / median(samplesPrepacked) / 1e9,
                            openBLASGflops: shape.flops / median(samplesTheirs) / 1e9,
                            maxAbsDiff: maxDiff)
    }

    /// Calls per sample so that one sample lasts at least `seconds`.
    private func calls(toFill seconds: Double, _ body: () -> Void) -> Int {
        _ = time(1, body)
        let once = time(1, body)
        return max(1, Int((seconds / max(once, 1e-9)).rounded(.up)))
    }

    /// Seconds per call, averaged over `count` back-to-back calls.
    private func time(_ count: Int, _ body: () -> Void) -> Double {
        if threadCPUTime {
            var start = timespec(), end = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
            for _ in 0..<count { body() }
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
            return (Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9) / Double(count)
        }
        let clock = ContinuousClock()
        let elapsed = clock.measure { for _ in 0..<count { body() } }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return seconds / Double(count)
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

private func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if text.contains("e") { return text }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    let decimals = parts.count > 1 ? parts[1].count : 0
    if decimals < digits { text += (parts.count > 1 ? "" : ".") + String(repeating: "0", count: digits - decimals) }
    return text
}

private func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return left ? fill + text : text + fill
}
