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

    public init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { pointer.update(from: b, count: values.count) } }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(buffer) }
}
