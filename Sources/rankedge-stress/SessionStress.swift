import Foundation
import RankEdge
import Synchronization

/// T threads × N runs of mixed models, batch sizes and session kinds; every output is compared bit
/// for bit with a single run of the same model, batch and thread count made before the threads
/// start, and the resident set is read before, after a warm-up (each thread's first runs, which
/// plan and allocate the arenas) and at the end.
struct SessionStress {
    let models: [StressModel]
    let threads: Int
    let runs: Int
    let warmupRuns: Int

    struct Report {
        var runs = 0
        var mismatches: [String] = []
        var rssStart = 0, rssWarm = 0, rssEnd = 0
        var seconds = 0.0
    }

    /// Outputs of one fresh session per (model, batch, pool threads), run alone.
    func references() throws -> [RunChoice: [UInt32]] {
        var out: [RunChoice: [UInt32]] = [:]
        for (m, model) in models.enumerated() {
            for threads in [1, 2] {
                let session = try InferenceSession(model: model.model, options: .init(threads: threads))
                for batch in RunChoice.batches {
                    out[RunChoice(model: m, batch: batch, owner: .own(threads: threads))] = try session.run(model.input(batch: batch)).data.map(\.bitPattern)
                }
            }
        }
        return out
    }

    func run() throws -> Report {
        var report = Report()
        report.rssStart = residentBytes() ?? 0
        let expected = try references()
        let inputs = models.map { m in RunChoice.batches.map { m.input(batch: $0) } }
        let shared = try models.map { LockedSession(try InferenceSession(model: $0.model)) }
        let mismatches = Mutex<[String]>([])
        let completed = Atomic<Int>(0)
        let models = self.models, threadCount = threads

        // The workers keep their sessions between phases, so the warm-up's arenas are the ones measured.
        let workers = try (0..<threadCount).map { t in
            try Worker(thread: t, sessions: models.map { m in try [1, 2].map { try InferenceSession(model: m.model, options: .init(threads: $0)) } })
        }
        func phase(_ range: Range<Int>) {
            let group = DispatchGroup()
            for worker in workers {
                group.enter()
                let thread = Thread {
                    for i in range {
                        let c = RunChoice.of(run: i, thread: worker.thread, models: models.count)
                        let input = inputs[c.model][RunChoice.batches.firstIndex(of: c.batch)!]
                        let bits: [UInt32]
                        do {
                            switch c.owner {
                            case .own(let t): bits = try worker.sessions[c.model][t - 1].run(input).data.map(\.bitPattern)
                            case .shared: bits = try shared[c.model].session.withLock { try $0.run(input) }.data.map(\.bitPattern)
                            }
                        } catch {
                            mismatches.withLock { $0.append("thread \(worker.thread) run \(i): \(error)") }
                            continue
                        }
                        let key = RunChoice(model: c.model, batch: c.batch, owner: .own(threads: c.sessionThreads))
                        if bits != expected[key] {
                            mismatches.withLock { $0.append("thread \(worker.thread) run \(i): \(models[c.model].name) batch \(c.batch) \(c.owner) differs from its single run") }
                        }
                        completed.add(1, ordering: .relaxed)
                    }
                    group.leave()
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
            group.wait()
        }
        let start = Date()
        phase(0..<min(warmupRuns, runs))
        report.rssWarm = residentBytes() ?? 0
        phase(min(warmupRuns, runs)..<runs)
        report.rssEnd = residentBytes() ?? 0
        report.seconds = Date().timeIntervalSince(start)
        report.runs = completed.load(ordering: .relaxed)
        report.mismatches = mismatches.withLock { $0 }
        return report
    }
}

/// A stress thread's own sessions, one per model and pool thread count (index threads − 1). Only
/// its thread runs them: a session must not run on two threads at once.
final class Worker: @unchecked Sendable {
    let thread: Int
    let sessions: [[InferenceSession]]
    init(thread: Int, sessions: [[InferenceSession]]) { self.thread = thread; self.sessions = sessions }
}

/// The other safe way to share: one session, runs serialised by a lock.
final class LockedSession: Sendable {
    let session: Mutex<InferenceSession>
    init(_ session: sending InferenceSession) { self.session = Mutex(session) }
}
