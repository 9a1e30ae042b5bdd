#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ScheduleKind: String, Sendable, Codable, CaseIterable { case constant, step, cosine }

/// Learning rate as a function of the step: an optional linear warm-up from lr/warmup to lr, then
/// constant, step decay (×gamma every `stepSize` steps) or cosine decay to `minFactor`·lr at `totalSteps`.
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    public var kind: ScheduleKind
    public var baseLR: Float
    public var totalSteps: Int
    public var warmup: Int = 0
    public var stepSize: Int = 0
    public var gamma: Float = 0.1
    public var minFactor: Float = 0

    public init(kind: ScheduleKind, baseLR: Float, totalSteps: Int, warmup: Int = 0, stepSize: Int = 0, gamma: Float = 0.1) {
        self.kind = kind; self.baseLR = baseLR; self.totalSteps = totalSteps; self.warmup = warmup
        self.stepSize = stepSize > 0 ? stepSize : max(1, totalSteps / 3)
        self.gamma = gamma
    }

    /// The rate for 0-based step `step`.
    public func rate(at step: Int) -> Float {
        if step < warmup { return baseLR * Float(step + 1) / Float(warmup) }
        switch kind {
        case .constant:
            return baseLR
        case .step:
            return baseLR * pow(gamma, Float((step - warmup) / stepSize))
        case .cosine:
            let span = max(1, totalSteps - warmup)
            let t = min(1, Float(step - warmup) / Float(span))
            return baseLR * (minFactor + (1 - minFactor) * 0.5 * (1 + cos(Float.pi * t)))
        }
    }
}
