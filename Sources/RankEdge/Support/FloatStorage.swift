#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An owned, cache-line-aligned block of floats with a stable address: weights prepared for the
/// kernels and the arena live in these, so the hot loops see raw pointers and nothing moves.
public final class FloatStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// Allocated by posix_memalign (`init?(refusable:)`), so released with free.
    private let fromLibc: Bool

    public init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        fromLibc = false
    }

    /// nil when the system refuses the memory (or the size overflows). Swift's own allocation
    /// aborts the process on failure; sizes that come from a batch or a file use this instead,
    /// so a refusal becomes an error.
    public init?(refusable count: Int) {
        guard count >= 0 else { return nil }
        let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: 4)
        var raw: UnsafeMutableRawPointer?
        guard !overflow, posix_memalign(&raw, 64, bytes) == 0, let raw else { return nil }
        self.count = count
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        fromLibc = true
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { pointer.update(from: b, count: values.count) } }
    }

    deinit {
        if fromLibc { free(pointer) } else { UnsafeMutableRawPointer(pointer).deallocate() }
    }

    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(buffer) }
}
