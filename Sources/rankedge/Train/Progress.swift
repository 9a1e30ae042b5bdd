import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The live progress line on stderr: rewritten in place on a terminal, one line every
/// `plainEvery` steps otherwise (logs, nohup).
struct ProgressLine {
    let total: Int
    let batch: Int
    let plainEvery: Int
    private let isTerminal = isatty(2) == 1
    private var window: [(loss: Float, correct: Int)] = []
    private var windowStart = Date()
    private var windowSteps = 0
    private var rate: Double = 0
    private let runStart = Date()
    private var runSteps = 0

    init(total: Int, batch: Int, plainEvery: Int = 50) {
        self.total = total; self.batch = batch; self.plainEvery = plainEvery
    }

    /// Records a finished step (1-based `step`) and redraws.
    mutating func update(step: Int, loss: Float, correct: Int, lr: Float) {
        window.append((loss, correct))
        if window.count > 50 { window.removeFirst() }
        windowSteps += 1; runSteps += 1
        let elapsed = Date().timeIntervalSince(windowStart)
        if elapsed >= 2 || runSteps <= 3 {
            rate = Double(windowSteps * batch) / max(elapsed, 1e-9)
            windowStart = Date(); windowSteps = 0
        }
        let meanLoss = window.map { Double($0.loss) }.reduce(0, +) / Double(window.count)
        let accuracy = Double(window.map(\.correct).reduce(0, +)) / Double(window.count * batch)
        let remaining = rate > 0 ? Double((total - step) * batch) / rate : 0
        let line = String(format: "step %d/%d  loss %.4f  acc %.1f%%  lr %.2e  %.0f img/s  ETA %@",
                          step, total, meanLoss, accuracy * 100, lr, rate, formatDuration(remaining))
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else if step % plainEvery == 0 || step == total {
            printError(line)
        }
    }

    /// Prints a full line (evaluation, checkpoint) without clobbering the progress line.
    func note(_ text: String) {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        printError(text)
    }

    /// Average throughput since the run (or resume) began.
    var overallRate: Double { Double(runSteps * batch) / max(Date().timeIntervalSince(runStart), 1e-9) }
}

func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%dm%02ds", s / 60, s % 60)
}
