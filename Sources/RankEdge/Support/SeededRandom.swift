#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64: a small, fast generator whose sequence is the same on every platform, so seeded
/// models and tests are reproducible everywhere.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)
        return low + (high - low) * unit
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// `count` draws of `uniform(-bound, bound)`, the same sequence as calling it in a loop; the
    /// generator step is written out over a buffer because zoo models draw tens of millions of
    /// weights and debug builds (where the tests run) do not inline.
    public mutating func uniformArray(count: Int, bound: Float) -> [Float] {
        var state = self.state
        let (low, span) = (-bound, 2 * bound)
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z = z ^ (z >> 31)
                buffer[i] = low + span * (Float(z >> 40) / Float(1 << 24))
            }
            initialized = count
        }
        self.state = state
        return values
    }
}
